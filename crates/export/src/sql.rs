//! spoor's SQL (DataFusion's dialect with spoor's functions), written by DataFusion's unparser.

use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::unparser::Unparser;
use datafusion::sql::unparser::dialect::DefaultDialect;

use crate::{ExportError, Target};

/// The plan as spoor's SQL, read back to make sure it plans to the same columns: DataFusion's
/// unparser writes some plans (an unnest under a join, for one) as SQL that does not plan
/// again, and such a query is refused rather than handed out.
pub(crate) fn to_sql(plan: &LogicalPlan) -> Result<String, ExportError> {
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
