//! Row-order functions: `prev()`, `next()`, `row_number()` and `row_window_session()` over the
//! order that `sort`, `order by` or `top` gave the rows (Kusto's "serialized" row set), as
//! DataFusion window functions ordered by the same keys.

use datafusion::common::{Column, ScalarValue};
use datafusion::logical_expr::{Expr, ExprFunctionExt, LogicalPlanBuilder, SortExpr};
use spoor_catalog::KqlType;
use spoor_core::{Diagnostic, Span};

use super::{Planner, Tab, df_error};
use crate::syntax::ast::{self, ExprKind};

const WINDOW_FUNCTIONS: &[&str] = &["prev", "next", "row_number", "row_window_session"];

/// A window function and what turns its raw result into the KQL value.
struct Window {
    function: Expr,
    ty: KqlType,
    finish: Option<Box<dyn Fn(Expr) -> Expr>>,
}

fn is_window_function(name: &str) -> bool {
    WINDOW_FUNCTIONS.contains(&name)
}

impl Planner {
    /// When `e` calls prev/next/row_number/row_window_session: computes those calls as window
    /// columns of `tab` (named `__win<i>`) and returns the table with them and `e` rewritten to
    /// read them. Otherwise returns `tab` and `e` unchanged. A window call in the arguments of
    /// another (`row_window_session(T, 1h, 5m, Id != prev(Id))`) is computed in an earlier
    /// round, as DataFusion cannot nest window functions.
    pub(crate) fn with_windows(
        &mut self,
        tab: Tab,
        e: &ast::Expr,
        span: Span,
    ) -> Result<(Tab, ast::Expr), Diagnostic> {
        if !super::calls_any(e, &is_window_function) {
            return Ok((tab, e.clone()));
        }
        if tab.order.is_empty() {
            return Err(Diagnostic::new("prev(), next(), row_number() and row_window_session() need rows in a defined order", span)
                .with_hint("sort the rows first, e.g. `| sort by TimeGenerated asc | extend Previous = prev(X)`"));
        }
        let order: Vec<SortExpr> = tab
            .order
            .iter()
            .map(|(c, desc, nulls_first)| {
                Expr::Column(Column::new_unqualified(c)).sort(!desc, *nulls_first)
            })
            .collect();
        let mut windows: Vec<Window> = Vec::new();
        let first = tab.types.len();
        // Past any `__win<n>` column already there (a query written from a plan names its
        // columns so), so that the new names are new.
        let base = tab
            .schema()
            .fields()
            .iter()
            .filter_map(|f| f.name().strip_prefix("__win")?.parse::<usize>().ok())
            .map(|n| n + 1)
            .max()
            .unwrap_or(0)
            .max(first);
        let rewritten = self.extract_windows(e, &tab, &order, base, &mut windows)?;
        let name = |i: usize| format!("__win{}", base + i);
        // The window functions themselves (DataFusion wants them bare in the Window node), then
        // a projection that finishes each value (row_number's start and type).
        let exprs: Vec<Expr> = windows
            .iter()
            .enumerate()
            .map(|(i, w)| w.function.clone().alias(name(i)))
            .collect();
        let windowed = LogicalPlanBuilder::from(tab.plan.clone())
            .window(exprs)
            .and_then(|b| b.build())
            .map_err(|e| df_error(e, span))?;
        let mut finish: Vec<Expr> = (0..first)
            .map(|i| {
                Expr::Column(Column::from(windowed.schema().qualified_field(i)))
                    .alias(tab.schema().field(i).name())
            })
            .collect();
        for (i, w) in windows.iter().enumerate() {
            let col = Expr::Column(Column::new_unqualified(name(i)));
            finish.push(
                w.finish
                    .as_ref()
                    .map_or(col.clone(), |f| f(col))
                    .alias(name(i)),
            );
        }
        let plan = super::project_plan(windowed, finish, span)?;
        // Window execution may emit rows in another order: the row set stays serialized.
        let plan = LogicalPlanBuilder::from(plan)
            .sort(order)
            .and_then(|b| b.build())
            .map_err(|e| df_error(e, span))?;
        let mut types = tab.types.clone();
        types.extend(windows.iter().map(|w| w.ty));
        let tab = Tab {
            plan,
            types,
            render: tab.render,
            order: tab.order,
        };
        // The calls that waited for their arguments' windows.
        self.with_windows(tab, &rewritten, span)
    }

    fn extract_windows(
        &mut self,
        e: &ast::Expr,
        tab: &Tab,
        order: &[SortExpr],
        base: usize,
        windows: &mut Vec<Window>,
    ) -> Result<ast::Expr, Diagnostic> {
        super::rewrite_calls(e, &is_window_function, &mut |call, span| {
            if call
                .args
                .iter()
                .any(|a| super::calls_any(a, &is_window_function))
            {
                // Its arguments' windows first; this call waits for the next round.
                let mut inner = call.clone();
                for a in &mut inner.args {
                    *a = self.extract_windows(a, tab, order, base, windows)?;
                }
                return Ok(ExprKind::Call(inner));
            }
            let w = self.window_call(call, tab, order, span)?;
            let name = format!("__win{}", base + windows.len());
            windows.push(w);
            Ok(ExprKind::Name(ast::Ident { name, span }))
        })
    }

    fn window_call(
        &mut self,
        c: &ast::Call,
        tab: &Tab,
        order: &[SortExpr],
        span: Span,
    ) -> Result<Window, Diagnostic> {
        let name = c.func.name.as_str();
        let constant = |me: &mut Planner, i: usize| -> Result<Option<ScalarValue>, Diagnostic> {
            match c.args.get(i) {
                None => Ok(None),
                Some(a) => match me.scalar(a, None)?.expr {
                    Expr::Literal(v, _) => Ok(Some(v)),
                    _ => Err(Diagnostic::new(
                        format!("{name}() takes a constant here"),
                        a.span,
                    )),
                },
            }
        };
        match name {
            "prev" | "next" => {
                if c.args.is_empty() || c.args.len() > 3 {
                    return Err(Diagnostic::new(
                        format!("{name}(column[, offset[, default]])"),
                        span,
                    ));
                }
                let v = self.scalar(&c.args[0], Some(tab))?;
                let offset = match constant(self, 1)? {
                    None => 1,
                    Some(ScalarValue::Int64(Some(n))) => n,
                    Some(ScalarValue::Int32(Some(n))) => i64::from(n),
                    Some(_) => {
                        return Err(Diagnostic::new(
                            format!("{name}()'s offset is a whole number"),
                            span,
                        ));
                    }
                };
                // The default takes the column's type (Kusto: the same type as the column).
                let default = match constant(self, 2)? {
                    None => None,
                    Some(d) => Some(d.cast_to(&v.ty.arrow()).map_err(|e| df_error(e, span))?),
                };
                let f = if name == "prev" {
                    datafusion::functions_window::expr_fn::lag(v.expr, Some(offset), default)
                } else {
                    datafusion::functions_window::expr_fn::lead(v.expr, Some(offset), default)
                };
                let w = f
                    .order_by(order.to_vec())
                    .build()
                    .map_err(|e| df_error(e, span))?;
                Ok(Window {
                    function: w,
                    ty: v.ty,
                    finish: None,
                })
            }
            "row_window_session" => self.row_window_session(c, tab, order, span),
            _ => {
                // row_number([start[, restart]])
                if c.args.len() > 2 {
                    return Err(Diagnostic::new("row_number([start[, restart]])", span));
                }
                let start = match constant(self, 0)? {
                    None => 1,
                    Some(ScalarValue::Int64(Some(n))) => n,
                    Some(ScalarValue::Int32(Some(n))) => i64::from(n),
                    Some(_) => {
                        return Err(Diagnostic::new(
                            "row_number()'s start is a whole number",
                            span,
                        ));
                    }
                };
                if let Some(a) = c.args.get(1) {
                    let r = self.scalar(a, Some(tab))?;
                    let restart = super::scalar::to_bool(r, a.span)?;
                    let udwf = spoor_functions::window("kql_row_number_restart")
                        .expect("spoor-functions has kql_row_number_restart");
                    let w = udwf
                        .call(vec![datafusion::logical_expr::lit(start), restart])
                        .order_by(order.to_vec())
                        .build()
                        .map_err(|e| df_error(e, span))?;
                    return Ok(Window {
                        function: w,
                        ty: KqlType::Long,
                        finish: None,
                    });
                }
                let w = datafusion::functions_window::expr_fn::row_number()
                    .order_by(order.to_vec())
                    .build()
                    .map_err(|e| df_error(e, span))?;
                let finish = move |e: Expr| {
                    datafusion::logical_expr::cast(e, datafusion::arrow::datatypes::DataType::Int64)
                        + datafusion::logical_expr::lit(start - 1)
                };
                Ok(Window {
                    function: w,
                    ty: KqlType::Long,
                    finish: Some(Box::new(finish)),
                })
            }
        }
    }

    /// `row_window_session(Expr, MaxDistanceFromFirst, MaxDistanceBetweenNeighbors[, Restart])`
    /// (<https://learn.microsoft.com/kusto/query/row-window-session-function>): the value of
    /// `Expr` (a datetime) where each row's session started; the distances are timespans.
    fn row_window_session(
        &mut self,
        c: &ast::Call,
        tab: &Tab,
        order: &[SortExpr],
        span: Span,
    ) -> Result<Window, Diagnostic> {
        if c.args.len() < 3 || c.args.len() > 4 {
            return Err(Diagnostic::new(
                "row_window_session(Expr, MaxDistanceFromFirst, MaxDistanceBetweenNeighbors[, Restart])",
                span,
            ));
        }
        let v = self.scalar(&c.args[0], Some(tab))?;
        if v.ty != KqlType::DateTime {
            return Err(Diagnostic::new(
                format!("row_window_session() groups datetime values, not {}", v.ty),
                c.args[0].span,
            ));
        }
        let mut distance = |i: usize| -> Result<Expr, Diagnostic> {
            let d = self.scalar(&c.args[i], None)?;
            match (&d.expr, d.ty) {
                (Expr::Literal(..), KqlType::TimeSpan) => Ok(d.expr),
                _ => Err(Diagnostic::new(
                    "row_window_session() takes a constant timespan here, e.g. 1h",
                    c.args[i].span,
                )),
            }
        };
        let from_first = distance(1)?;
        let between = distance(2)?;
        let restart = match c.args.get(3) {
            Some(a) => {
                let r = self.scalar(a, Some(tab))?;
                super::scalar::to_bool(r, a.span)?
            }
            None => datafusion::logical_expr::lit(false),
        };
        let udwf = spoor_functions::window("kql_row_window_session")
            .expect("spoor-functions has kql_row_window_session");
        let w = udwf
            .call(vec![v.expr, from_first, between, restart])
            .order_by(order.to_vec())
            .build()
            .map_err(|e| df_error(e, span))?;
        Ok(Window {
            function: w,
            ty: KqlType::DateTime,
            finish: None,
        })
    }
}
