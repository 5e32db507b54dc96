//! Running a detection: its query planned by its language's front-end, with parameters and
//! exclusions applied, executed by the engine.

use std::collections::BTreeMap;

use datafusion::logical_expr::{LogicalPlan, not};
use spoor_engine::Engine;
use spoor_output::ResultSet;

use crate::model::{Detection, Language, ParameterType};

/// What running a rule needs besides the rule.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// `now` (ns since the epoch): `ago()` is measured from it.
    pub now_ns: i64,
    /// Parameter values given by the hunter (`--param NAME=VALUE`), over the rule's defaults.
    pub params: BTreeMap<String, String>,
}

/// A rule's result rows: one set per query (a Sigma block gives one per table it runs on).
#[derive(Debug, Clone)]
pub struct RuleResult {
    pub sets: Vec<(String, ResultSet)>,
}

impl RuleResult {
    pub fn rows(&self) -> usize {
        self.sets.iter().map(|(_, s)| s.rows()).sum()
    }
}

/// A parameter value written as a literal of the rule's language.
pub fn literal(kind: ParameterType, value: &str, language: Language) -> Result<String, String> {
    let quoted = |s: &str| match language {
        Language::Sql => format!("'{}'", s.replace('\'', "''")),
        _ => serde_json::to_string(s).expect("a string serialises"),
    };
    Ok(match kind {
        ParameterType::String => quoted(value),
        ParameterType::Long => value
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("{value:?} is not a whole number"))?
            .to_string(),
        ParameterType::Real => value
            .trim()
            .parse::<f64>()
            .map_err(|_| format!("{value:?} is not a number"))?
            .to_string(),
        ParameterType::Bool => match value.trim().to_ascii_lowercase().as_str() {
            "true" => "true".into(),
            "false" => "false".into(),
            _ => return Err(format!("{value:?} is not true or false")),
        },
        ParameterType::Datetime => {
            spoor_functions::datetime::parse_kql_datetime(value.trim())
                .ok_or_else(|| format!("{value:?} is not a datetime (use ISO 8601)"))?;
            match language {
                Language::Sql => format!("TIMESTAMP {}", quoted(value.trim())),
                _ => format!("datetime({})", value.trim()),
            }
        }
        ParameterType::Timespan => match language {
            Language::Sql => return Err("timespan parameters are KQL only".into()),
            _ => {
                let v = value.trim();
                let ok = v.len() > 1
                    && v[..v.len() - 1]
                        .trim_end_matches(['m', 'h', 'd', 's'])
                        .chars()
                        .all(|c| c.is_ascii_digit() || c == '.');
                if !ok {
                    return Err(format!("{value:?} is not a timespan such as 30m, 2h or 7d"));
                }
                v.to_string()
            }
        },
        ParameterType::List => {
            let items: Vec<String> = value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(quoted)
                .collect();
            match language {
                Language::Sql => format!("({})", items.join(", ")),
                _ => format!("dynamic([{}])", items.join(", ")),
            }
        }
    })
}

/// A YAML default or test value as the text `--param` would give.
pub fn yaml_text(value: &yaml_serde::Value) -> String {
    match value {
        yaml_serde::Value::String(s) => s.clone(),
        yaml_serde::Value::Sequence(items) => {
            items.iter().map(yaml_text).collect::<Vec<_>>().join(",")
        }
        yaml_serde::Value::Null => String::new(),
        other => yaml_serde::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// The rule's parameter values as literals: given ones over defaults. A given name the rule
/// does not declare is an error.
pub fn parameter_literals(
    d: &Detection,
    given: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, String> {
    for name in given.keys() {
        if !d.parameters.iter().any(|p| &p.name == name) {
            let names: Vec<&str> = d.parameters.iter().map(|p| p.name.as_str()).collect();
            return Err(format!(
                "parameter {name} is not one of the rule's ({})",
                if names.is_empty() {
                    "it has none".to_string()
                } else {
                    names.join(", ")
                }
            ));
        }
    }
    d.parameters
        .iter()
        .map(|p| {
            let text = given
                .get(&p.name)
                .cloned()
                .unwrap_or_else(|| yaml_text(&p.default));
            literal(p.kind, &text, d.query.language)
                .map(|l| (p.name.clone(), l))
                .map_err(|e| format!("parameter {}: {e}", p.name))
        })
        .collect()
}

/// The KQL text that runs: the rule's text, then one `where not (...)` per exclusion (the
/// parameters are bound before it by [`spoor_kql::compile_with_params`]).
pub fn kql_text(d: &Detection, exclusions: &[String]) -> String {
    let mut text = String::new();
    text.push_str(d.query.text.as_deref().unwrap_or_default().trim_end());
    for e in exclusions {
        text.push_str(&format!("\n| where not ({e})"));
    }
    text
}

/// The SQL text that runs: `$NAME` replaced by the parameter's literal, exclusions as an outer
/// `WHERE NOT (...)`.
pub fn sql_text(d: &Detection, params: &[(String, String)], exclusions: &[String]) -> String {
    let mut text = d
        .query
        .text
        .as_deref()
        .unwrap_or_default()
        .trim()
        .trim_end_matches(';')
        .to_string();
    // Longest names first: `$IP` must not eat the start of `$IPS`.
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    for (name, lit) in sorted {
        text = text.replace(&format!("${name}"), lit);
    }
    if !exclusions.is_empty() {
        let conds: Vec<String> = exclusions.iter().map(|e| format!("NOT ({e})")).collect();
        text = format!(
            "SELECT * FROM ({text}) AS hits WHERE {}",
            conds.join(" AND ")
        );
    }
    text
}

/// A Sigma rule document from the detection's Sigma block.
pub fn sigma_document(d: &Detection) -> Result<String, String> {
    let mut doc = yaml_serde::Mapping::new();
    let s = |v: &str| yaml_serde::Value::String(v.to_string());
    doc.insert(s("title"), s(&d.title));
    doc.insert(s("id"), s(&d.id));
    doc.insert(s("status"), s("test"));
    doc.insert(s("level"), s(d.severity.as_str()));
    doc.insert(
        s("logsource"),
        d.query
            .logsource
            .clone()
            .ok_or("a Sigma query needs `logsource`")?,
    );
    doc.insert(
        s("detection"),
        d.query
            .detection
            .clone()
            .ok_or("a Sigma query needs `detection`")?,
    );
    yaml_serde::to_string(&yaml_serde::Value::Mapping(doc)).map_err(|e| e.to_string())
}

/// Compiles a SQL rule: its text with the parameters written in and the exclusions applied.
pub fn compile_sql(
    d: &Detection,
    params: &[(String, String)],
    exclusions: &[String],
    now_ns: i64,
) -> Result<spoor_sql::PlannedSql, String> {
    let text = sql_text(d, params, exclusions);
    spoor_sql::compile(&text, now_ns).map_err(|ds| render_all(&ds, &text, &d.id))
}

/// Planning options for checking without evidence: spoor's built-in workspace functions
/// (ASIM and vendor parsers), which rules may call.
pub fn checking_options() -> spoor_kql::PlanOptions {
    spoor_kql::PlanOptions {
        workspace: spoor_kql::workspace::Workspace::builtin(),
        ..spoor_kql::PlanOptions::without_data(0)
    }
}

/// Diagnostics rendered against their text, one after the other.
fn render_all(ds: &[spoor_core::Diagnostic], text: &str, origin: &str) -> String {
    ds.iter()
        .map(|d| d.render(text, origin))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Compiles a KQL rule: its text with the exclusions appended, the parameters bound first.
pub fn compile_kql(
    d: &Detection,
    params: &[(String, String)],
    exclusions: &[String],
    options: &spoor_kql::PlanOptions,
) -> Result<spoor_kql::PlannedQuery, String> {
    let text = kql_text(d, exclusions);
    spoor_kql::compile_with_params(&text, params, options)
        .map_err(|ds| render_all(&ds, &text, &d.id))
}

/// Plans a KQL predicate over `table`'s columns (a tuning exclusion for a Sigma rule): the
/// predicate of `table | where <predicate>`.
pub fn kql_predicate(
    table: &str,
    predicate: &str,
) -> Result<datafusion::logical_expr::Expr, String> {
    let text = format!("{table} | where {predicate}");
    let planned = spoor_kql::compile(&text, &checking_options())
        .map_err(|ds| render_all(&ds, &text, "<tuning>"))?;
    let mut found = None;
    planned
        .plan
        .apply(|node| {
            if let LogicalPlan::Filter(f) = node {
                found = Some(f.predicate.clone());
                return Ok(datafusion::common::tree_node::TreeNodeRecursion::Stop);
            }
            Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
        })
        .map_err(|e| e.to_string())?;
    found.ok_or_else(|| format!("`{predicate}` is not a predicate over {table}'s columns"))
}

use datafusion::common::tree_node::TreeNode;

/// Runs a pack rule over the engine's evidence, with the given exclusions (predicates in the
/// rule's language; KQL for Sigma blocks).
pub async fn run_detection(
    engine: &Engine,
    d: &Detection,
    options: &RunOptions,
    exclusions: &[String],
) -> Result<RuleResult, String> {
    let params = parameter_literals(d, &options.params)?;
    match d.query.language {
        Language::Kql => {
            let planned =
                compile_kql(d, &params, exclusions, &kql_options(engine, options.now_ns))?;
            let columns = column_names(&planned.plan);
            let batches = engine
                .execute(planned.plan)
                .await
                .map_err(|e| e.strip_backtrace())?;
            Ok(RuleResult {
                sets: vec![(
                    d.tables.join(", "),
                    ResultSet::new(columns, batches, planned.types),
                )],
            })
        }
        Language::Sql => {
            let planned = compile_sql(d, &params, exclusions, options.now_ns)?;
            let columns = column_names(&planned.plan);
            let batches = engine
                .execute(planned.plan)
                .await
                .map_err(|e| format!("SQL: {}", e.strip_backtrace()))?;
            Ok(RuleResult {
                sets: vec![(
                    d.tables.join(", "),
                    ResultSet::new(columns, batches, planned.types),
                )],
            })
        }
        Language::Sigma => {
            let loaded = load_sigma_block(d)?;
            let rule = &loaded.rules[0];
            let mut sets = Vec::new();
            let with_data = engine.tables_with_data();
            for target in &rule.targets {
                if !with_data.contains(&target.table) {
                    continue;
                }
                let mut target = target.clone();
                for e in exclusions {
                    let pred = kql_predicate(&target.table, e)?;
                    target.detection = target.detection.and(not(pred));
                }
                let plan = target.plan()?;
                let def = spoor_catalog::catalog()
                    .table(&target.table)
                    .expect("a compiled rule names a catalog table");
                let batches = engine
                    .execute(plan)
                    .await
                    .map_err(|e| e.strip_backtrace())?;
                sets.push((target.table.clone(), ResultSet::of_table(def, batches)));
            }
            Ok(RuleResult { sets })
        }
    }
}

/// Loads a detection's Sigma block as a Sigma rule; an error says why it does not load.
pub fn load_sigma_block(d: &Detection) -> Result<spoor_sigma::Loaded, String> {
    let doc = sigma_document(d)?;
    let loaded = spoor_sigma::load_text(&doc, &d.id, &spoor_sigma::Context::default());
    if let Some(f) = loaded.failures.first() {
        return Err(format!("the Sigma block does not load: {}", f.reason));
    }
    if loaded.rules.len() != 1 {
        return Err("the Sigma block must make exactly one rule".into());
    }
    Ok(loaded)
}

fn column_names(plan: &LogicalPlan) -> Vec<String> {
    plan.schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

/// How KQL plans over the engine's evidence: its tables with data, the built-in workspace
/// functions, and the engine's probe.
pub fn kql_options(engine: &Engine, now_ns: i64) -> spoor_kql::PlanOptions {
    spoor_kql::PlanOptions {
        now_ns,
        tables_with_data: engine.tables_with_data(),
        workspace: spoor_kql::workspace::Workspace::builtin(),
        probe: Some(probe_of(engine)),
    }
}

/// The engine's probe, for the KQL plugins that take their columns from the data.
pub fn probe_of(engine: &Engine) -> spoor_kql::DataProbe {
    let probe = engine.probe();
    spoor_kql::DataProbe(std::sync::Arc::new(move |plan| {
        probe.run(plan).map_err(|e| e.strip_backtrace())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_values_become_literals_of_the_rule_language() {
        assert_eq!(
            literal(ParameterType::String, "a\"b", Language::Kql).unwrap(),
            "\"a\\\"b\""
        );
        assert_eq!(
            literal(ParameterType::String, "o'neil", Language::Sql).unwrap(),
            "'o''neil'"
        );
        assert_eq!(
            literal(ParameterType::Long, " 22 ", Language::Kql).unwrap(),
            "22"
        );
        assert!(literal(ParameterType::Long, "22x", Language::Kql).is_err());
        assert_eq!(
            literal(ParameterType::Timespan, "10m", Language::Kql).unwrap(),
            "10m"
        );
        assert!(literal(ParameterType::Timespan, "ten", Language::Kql).is_err());
        assert_eq!(
            literal(ParameterType::List, "a, b", Language::Kql).unwrap(),
            "dynamic([\"a\", \"b\"])"
        );
        assert_eq!(
            literal(ParameterType::List, "a,b", Language::Sql).unwrap(),
            "('a', 'b')"
        );
        assert_eq!(
            literal(
                ParameterType::Datetime,
                "2023-08-09T10:00:00Z",
                Language::Kql
            )
            .unwrap(),
            "datetime(2023-08-09T10:00:00Z)"
        );
    }

    fn sql_rule(text: &str) -> Detection {
        yaml_serde::from_str(&format!(
            "id: x\ntitle: x\ndescription: x\nseverity: low\nconfidence: low\ntables: [vpc_flow_logs]\n\
             query: {{language: sql, text: {text:?}}}\nrisk: {{score: 1, impact: low}}\n"
        ))
        .unwrap()
    }

    #[test]
    fn sql_parameters_and_exclusions_are_written_into_the_query() {
        let d = sql_rule(
            "SELECT * FROM vpc_flow_logs WHERE sourceaddress IN $IPS OR sourceaddress = $IP;",
        );
        let params = vec![
            ("IP".to_string(), "'192.0.2.1'".to_string()),
            ("IPS".to_string(), "('192.0.2.2')".to_string()),
        ];
        assert_eq!(
            sql_text(&d, &params, &["action = 'ACCEPT'".to_string()]),
            "SELECT * FROM (SELECT * FROM vpc_flow_logs WHERE sourceaddress IN ('192.0.2.2') OR \
             sourceaddress = '192.0.2.1') AS hits WHERE NOT (action = 'ACCEPT')"
        );
    }

    #[test]
    fn a_kql_tuning_predicate_is_planned_over_the_table() {
        let e = kql_predicate("AWSCloudTrail", "UserIdentityArn has \"trail-rotation\"").unwrap();
        assert!(e.to_string().contains("UserIdentityArn"), "{e}");
        let err = kql_predicate("AWSCloudTrail", "NoSuchColumn == 1").unwrap_err();
        assert!(
            err.contains("unknown column or name `NoSuchColumn`"),
            "{err}"
        );
    }
}
