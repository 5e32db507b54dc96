//! Export: a plan, whatever language it was written in, as a query for another platform.
//!
//! A query is first planned by its front-end (KQL, SQL, Logs Insights, SPL, Sumo, Sigma); the
//! plan is then written in the target language. What the target cannot express is an error
//! that names the part (a function, an operator), never a query that means something else.
//!
//! Targets so far:
//! - `sql`: spoor's SQL (DataFusion's dialect with spoor's functions, as `--lang sql` reads
//!   it), written by DataFusion's unparser. A plan written as SQL and read back gives the same
//!   rows (the pack's round-trip test checks it rule by rule).
//!
//! The other targets the CLI names (athena, kql, cwl, spl, sumo, esql) are refused with a
//! clear error until they are written.

use std::fmt;

use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::unparser::Unparser;
use datafusion::sql::unparser::dialect::DefaultDialect;

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
        Target::Sql => to_sql(plan),
        other => Err(ExportError {
            target: other,
            message: "spoor does not write this language yet (sql is written; the others \
                      are planned)"
                .into(),
        }),
    }
}

/// The plan as spoor's SQL, read back to make sure it plans to the same columns: DataFusion's
/// unparser writes some plans (an unnest under a join, for one) as SQL that does not plan
/// again, and such a query is refused rather than handed out.
fn to_sql(plan: &LogicalPlan) -> Result<String, ExportError> {
    let error = |message: String| ExportError {
        target: Target::Sql,
        message,
    };
    let dialect = DefaultDialect {};
    let written = durations_as_casts(plan).map_err(|e| error(e.strip_backtrace()))?;
    let statement = Unparser::new(&dialect)
        .with_pretty(true)
        .plan_to_sql(&written)
        .map_err(|e| error(e.strip_backtrace()))?;
    let mut statement = statement;
    parenthesize_conditions(&mut statement);
    let text = statement.to_string();
    let back = spoor_sql::compile(&text, 0).map_err(|ds| {
        error(format!(
            "the SQL written for this plan does not read back ({})",
            ds.first().map_or(String::new(), |d| d.message.clone())
        ))
    })?;
    let names = |p: &LogicalPlan| -> Vec<String> {
        p.schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    };
    if names(&back.plan) != names(plan) {
        return Err(error(format!(
            "the SQL written for this plan reads back with the columns {:?}, not {:?}",
            names(&back.plan),
            names(plan)
        )));
    }
    Ok(text)
}

/// DataFusion's unparser joins the conditions of stacked filters with AND without
/// parentheses (`a OR b AND c` for `(a OR b) AND c`, which SQL reads otherwise); every OR
/// under an AND, and every AND or OR under another operator, is put in parentheses.
fn parenthesize_conditions(statement: &mut datafusion::sql::sqlparser::ast::Statement) {
    use datafusion::sql::sqlparser::ast::{BinaryOperator, Expr, VisitMut, VisitorMut};
    use std::ops::ControlFlow;
    struct Parenthesize;
    fn is_or(e: &Expr) -> bool {
        matches!(
            e,
            Expr::BinaryOp {
                op: BinaryOperator::Or,
                ..
            }
        )
    }
    fn is_logical(e: &Expr) -> bool {
        matches!(
            e,
            Expr::BinaryOp {
                op: BinaryOperator::Or | BinaryOperator::And,
                ..
            }
        )
    }
    impl VisitorMut for Parenthesize {
        type Break = ();
        fn post_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
            if let Expr::BinaryOp { left, op, right } = e {
                let needs = |child: &Expr| match op {
                    BinaryOperator::Or => false,
                    BinaryOperator::And => is_or(child),
                    _ => is_logical(child),
                };
                for side in [left, right] {
                    if needs(side) {
                        let inner = std::mem::replace(
                            side.as_mut(),
                            Expr::value(datafusion::sql::sqlparser::ast::Value::Null),
                        );
                        **side = Expr::Nested(Box::new(inner));
                    }
                }
            }
            ControlFlow::Continue(())
        }
    }
    let _ = statement.visit(&mut Parenthesize);
}

/// KQL's timespans are Duration literals, which DataFusion's unparser cannot write; they are
/// written as `arrow_cast(nanoseconds, 'Duration(Nanosecond)')`, which its SQL reads back as
/// the same value.
fn durations_as_casts(plan: &LogicalPlan) -> datafusion::error::Result<LogicalPlan> {
    use datafusion::common::ScalarValue;
    use datafusion::common::tree_node::{Transformed, TreeNode};
    use datafusion::logical_expr::{Expr, lit};
    let cast_fn = datafusion::functions::core::arrow_cast();
    plan.clone()
        .transform_up_with_subqueries(|node| {
            node.map_expressions(|e| {
                e.transform_up(|e| match e {
                    Expr::Literal(ScalarValue::DurationNanosecond(Some(ns)), _) => Ok(
                        Transformed::yes(cast_fn.call(vec![lit(ns), lit("Duration(Nanosecond)")])),
                    ),
                    other => Ok(Transformed::no(other)),
                })
            })
        })
        .map(|t| t.data)
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
    fn targets_not_written_yet_say_so() {
        let e = export(&kql_plan("AWSCloudTrail | take 1"), Target::Spl).unwrap_err();
        assert!(e.to_string().contains("cannot write this as spl"), "{e}");
    }
}
