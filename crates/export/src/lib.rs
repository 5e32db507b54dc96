//! Export: a plan, whatever language it was written in, as a query for another platform.
//!
//! A query is first planned by its front-end (KQL, SQL, Logs Insights, SPL, Sumo, Sigma); the
//! plan is then written in the target language. What the target cannot express is an error
//! that names the part (a function, an operator, a table the platform has no name for), never
//! a query that means something else.
//!
//! Targets:
//! - `sql`: spoor's SQL (DataFusion's dialect with spoor's functions, as `--lang sql` reads
//!   it), written by DataFusion's unparser and read back before it is handed out;
//! - `kql`, `spl`, `cwl`, `athena`, `sumo`, `esql`: the plan read as a pipeline of stages
//!   ([`pipeline`]) and written stage by stage, with each platform's names for the tables
//!   ([`platform`]: CloudTrail's and the flow logs' fields for the AWS platforms; the Windows
//!   add-on's sourcetypes, Sumo's source categories and Elastic's data streams with their ECS
//!   fields for Windows events).
//!
//! The round-trip test (`crates/cli/tests/roundtrip.rs`) reads every written pack rule back
//! through spoor's front-end for the language and compares rows.

use std::fmt;

use datafusion::logical_expr::LogicalPlan;

mod athena;
mod cwl;
mod esql;
mod kql;
mod literal;
mod lucene;
mod pipeline;
mod platform;
mod spl;
mod sql;
mod sumo;

/// A language to export to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Sql,
    Athena,
    Kql,
    Cwl,
    Spl,
    Sumo,
    Esql,
}

impl Target {
    pub const ALL: [Target; 7] = [
        Target::Sql,
        Target::Athena,
        Target::Kql,
        Target::Cwl,
        Target::Spl,
        Target::Sumo,
        Target::Esql,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::Sql => "sql",
            Target::Athena => "athena",
            Target::Kql => "kql",
            Target::Cwl => "cwl",
            Target::Spl => "spl",
            Target::Sumo => "sumo",
            Target::Esql => "esql",
        }
    }

    /// A one-line comment in the language.
    pub fn comment(self, text: &str) -> String {
        let text = text.replace('\n', " ");
        match self {
            Target::Sql | Target::Athena => format!("-- {text}"),
            Target::Spl => format!("```{}```", text.replace('`', "'")),
            Target::Cwl => format!("# {text}"),
            Target::Kql | Target::Sumo | Target::Esql => format!("// {text}"),
        }
    }

    /// What ends a query when several are written one after the other.
    pub fn terminator(self) -> &'static str {
        match self {
            Target::Sql | Target::Athena => ";",
            _ => "",
        }
    }

    pub fn parse(name: &str) -> Option<Target> {
        Target::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a plan could not be written in the target language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportError {
    pub target: Target,
    /// What cannot be expressed, and why.
    pub message: String,
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot write this as {}: {}", self.target, self.message)
    }
}

impl std::error::Error for ExportError {}

/// Writes `plan` in the target language.
pub fn export(plan: &LogicalPlan, target: Target) -> Result<String, ExportError> {
    match target {
        Target::Sql => sql::to_sql(plan),
        // Athena's and CloudTrail's tables under Sentinel's names.
        Target::Kql => piped(plan, target, Some(platform::sentinel), kql::write),
        // AWS's events under AWS's names; Windows events under the add-on's.
        Target::Spl => piped(plan, target, Some(platform::aws), spl::write),
        Target::Cwl => piped(plan, target, Some(platform::aws), cwl::write),
        Target::Athena => piped(plan, target, Some(platform::aws), athena::write),
        Target::Sumo => piped(plan, target, None, sumo::write),
        // CloudTrail's events under the AWS integration's names; Windows events under ECS's.
        Target::Esql => piped(plan, target, Some(platform::aws), esql::write),
    }
}

/// `plan` without the columns nothing reads. A front-end that plans a union of sources with
/// every field of each (Logs Insights over its log groups) computes fields such as `@message`
/// that the query never reads; pruned, the plan keeps only what the target must write.
pub fn without_unused_columns(plan: LogicalPlan) -> Result<LogicalPlan, String> {
    use datafusion::optimizer::optimize_projections::OptimizeProjections;
    use datafusion::optimizer::{Optimizer, OptimizerContext};
    let optimizer = Optimizer::with_rules(vec![std::sync::Arc::new(OptimizeProjections::new())]);
    optimizer
        .optimize(plan, &OptimizerContext::new(), |_, _| {})
        .map_err(|e| e.strip_backtrace())
}

/// A plan read as a pipeline and written by `write`; what the pipeline or the language
/// cannot hold is an error naming it.
fn piped(
    plan: &LogicalPlan,
    target: Target,
    remap: Option<fn(&str) -> Option<platform::Remap>>,
    write: fn(&pipeline::Pipeline) -> Result<String, String>,
) -> Result<String, ExportError> {
    let error = |what: String| ExportError {
        target,
        message: format!("{target} cannot express {what}"),
    };
    let mut p = pipeline::pipeline(plan).map_err(error)?;
    if let Some(choose) = remap {
        platform::remap(&mut p, choose).map_err(error)?;
    }
    write(&p).map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kql_plan(q: &str) -> LogicalPlan {
        let options = spoor_kql::PlanOptions::without_data(1_691_625_600_000_000_000);
        spoor_kql::compile(q, &options).expect("plans").plan
    }

    #[test]
    fn kql_written_as_sql_plans_again() {
        for q in [
            "AWSCloudTrail | where EventName in (\"StopLogging\", \"DeleteTrail\") | project TimeGenerated, EventName, UserIdentityArn",
            "AWSVPCFlow | where DstPort == 22 | summarize total = count() by SrcAddr | sort by total desc | take 10",
            "SigninLogs | where ResultType != \"0\" and UserPrincipalName has \"admin\" | summarize n = dcount(IPAddress) by UserPrincipalName",
        ] {
            let sql = export(&kql_plan(q), Target::Sql).unwrap_or_else(|e| panic!("{q}: {e}"));
            spoor_sql::compile(&sql, 0)
                .unwrap_or_else(|ds| panic!("{q}\n{sql}\n{}", ds[0].render(&sql, "<sql>")));
        }
    }

    #[test]
    fn stacked_conditions_keep_their_grouping() {
        let sql = export(
            &kql_plan("AWSCloudTrail | where EventName == \"A\" | where EventSource == \"x\" or EventSource == \"y\" | project EventName"),
            Target::Sql,
        )
        .unwrap();
        assert!(
            sql.contains(
                "(\"EventSource\" = 'x' OR \"EventSource\" = 'y') AND \"EventName\" = 'A'"
            ),
            "{sql}"
        );
    }

    #[test]
    fn row_order_functions_are_written_where_the_language_has_them() {
        let kql = export(
            &kql_plan("SecurityEvent | sort by TimeGenerated asc | extend Previous = prev(Account, 1, \"none\"), N = row_number() | project TimeGenerated, Account, Previous, N"),
            Target::Kql,
        )
        .unwrap();
        assert!(kql.contains("prev(Account, 1, \"none\")"), "{kql}");
        assert!(kql.contains("row_number()"), "{kql}");
        assert!(kql.contains("| project-away __win"), "{kql}");
        kql_plan(&kql);
        let plan = kql_plan(
            "cloudtrail | sort by eventTime asc | extend Previous = prev(eventName, 1, \"none\"), N = row_number() | project eventTime, eventName, Previous, N",
        );
        let athena = export(&plan, Target::Athena).unwrap();
        assert!(
            athena.contains("lag(eventname, 1, 'none') OVER (ORDER BY "),
            "{athena}"
        );
        assert!(athena.contains("row_number() OVER (ORDER BY "), "{athena}");
        spoor_sql::compile(&athena, 0).unwrap_or_else(|ds| panic!("{athena}\n{}", ds[0].message));
        let e = export(&plan, Target::Spl).unwrap_err();
        assert!(e.message.contains("window function"), "{e}");
    }

    #[test]
    fn what_a_target_cannot_express_is_named() {
        let e = export(&kql_plan("SigninLogs | take 1"), Target::Esql).unwrap_err();
        assert!(e.to_string().contains("cannot write this as esql"), "{e}");
        assert!(e.to_string().contains("SigninLogs"), "{e}");
    }

    #[test]
    fn kql_is_written_stage_by_stage_and_plans_again() {
        let q = "SecurityEvent | where EventID == 4625 and Account has \"adm\" | extend Host = tolower(Computer) | summarize n = count(), first = min(TimeGenerated) by Host, bin(TimeGenerated, 1h) | where n > 5 | sort by n desc | take 10";
        let kql = export(&kql_plan(q), Target::Kql).unwrap();
        for part in [
            "SecurityEvent\n| where",
            "Account has \"adm\"",
            "| extend Host = tolower(Computer)",
            "by Host, TimeGenerated = bin(TimeGenerated, 1h)",
            "| sort by n desc nulls last",
            "| take 10",
        ] {
            assert!(kql.contains(part), "{part} in\n{kql}");
        }
        kql_plan(&kql);
    }

    #[test]
    fn a_join_names_the_right_sides_columns_as_kusto_does() {
        let q = "SecurityEvent | project Account, Computer | join kind=leftouter (SigninLogs | project Account = UserPrincipalName, IPAddress) on Account | project Account, Account1, IPAddress";
        let kql = export(&kql_plan(q), Target::Kql).unwrap();
        assert!(kql.contains("| join kind=leftouter ("), "{kql}");
        assert!(
            kql.contains(") on Account\n| project Account, Account1, IPAddress"),
            "{kql}"
        );
        kql_plan(&kql);
    }

    const CLOUDTRAIL_HUNT: &str = "AWSCloudTrail | where EventName == \"StopLogging\" and UserIdentityArn contains \"mallory\" | extend Trail = tostring(parse_json(RequestParameters).name) | summarize n = count() by UserIdentityArn, Trail";

    #[test]
    fn aws_platforms_use_cloudtrails_names() {
        let plan = kql_plan(CLOUDTRAIL_HUNT);
        let athena = export(&plan, Target::Athena).unwrap();
        for part in [
            "FROM cloudtrail",
            "eventname = 'StopLogging'",
            "strpos(lower(coalesce(useridentity.arn, '')), lower('mallory')) > 0",
            "json_extract_scalar(requestparameters, '$.name') AS \"Trail\"",
            "GROUP BY 1, 2",
        ] {
            assert!(athena.contains(part), "{part} in\n{athena}");
        }
        spoor_sql::compile(&athena, 0).unwrap_or_else(|ds| panic!("{athena}\n{}", ds[0].message));
        let cwl = export(&plan, Target::Cwl).unwrap();
        for part in [
            "filter (eventName = \"StopLogging\") and (userIdentity.arn like /(?i)mallory/)",
            "fields requestParameters.name as Trail",
            "stats count(*) as n by userIdentity.arn as UserIdentityArn, Trail as Trail",
            "display UserIdentityArn, Trail, n",
        ] {
            assert!(cwl.contains(part), "{part} in\n{cwl}");
        }
        let spl = export(&plan, Target::Spl).unwrap();
        assert!(spl.starts_with("sourcetype=\"aws:cloudtrail\""), "{spl}");
        assert!(spl.contains("'requestParameters.name'"), "{spl}");
        // A column the platform has no field for is named.
        let e = export(&kql_plan("AWSCloudTrail | project CidrIp"), Target::Athena).unwrap_err();
        assert!(e.to_string().contains("AWSCloudTrail.CidrIp"), "{e}");
    }

    #[test]
    fn sumo_scopes_windows_events_by_source_category() {
        let sumo = export(
            &kql_plan("Sysmon | where EventID == 1 and Image endswith @\"\\nmap.exe\" | summarize n = count() by Computer"),
            Target::Sumo,
        )
        .unwrap();
        assert_eq!(
            sumo,
            "_sourceCategory=OS/Windows/Sysmon\n| where (EventID = 1) and (Image matches /(?is).*\\\\nmap\\.exe/)\n| count as n by Computer"
        );
    }

    #[test]
    fn spl_filters_become_search_terms_where_they_can() {
        let spl = export(
            &kql_plan("Sysmon | where EventID == 1 and Image endswith @\"\\whoami.exe\" and not(CommandLine contains \"/all\")"),
            Target::Spl,
        )
        .unwrap();
        assert_eq!(
            spl,
            "sourcetype=\"XmlWinEventLog\" source=\"XmlWinEventLog:Microsoft-Windows-Sysmon/Operational\" \
             (EventCode=1 Image=\"*\\\\whoami.exe\") NOT CommandLine=\"*/all*\""
        );
        let spl = export(
            &kql_plan("Sysmon | where CommandLine matches regex \"a.b\" | summarize n = count() by Computer"),
            Target::Spl,
        )
        .unwrap();
        assert!(
            spl.contains("| where match(coalesce(CommandLine, \"\"), \"a.b\")\n| stats count AS n BY Computer"),
            "{spl}"
        );
        let e = export(&kql_plan("SigninLogs | take 1"), Target::Spl).unwrap_err();
        assert!(e.to_string().contains("no Splunk sourcetype"), "{e}");
    }
}
