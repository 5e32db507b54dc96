//! The KQL planner: AST → DataFusion logical plan, against the table catalog.
//!
//! The planner never touches data: table scans are made over the catalog's schemas
//! (`LogicalTableSource`), and the engine binds them to evidence before running the plan.
//! Alongside the plan it tracks each column's KQL type, because Arrow cannot tell a `dynamic`
//! column (JSON text) from a `string` one.

mod aggregate;
mod ops;
mod plugins;
mod scalar;
mod series;
mod tabular;
mod window;

pub use tabular::EXTERNALDATA_PREFIX;

use std::collections::{HashMap, HashSet};

use datafusion::common::{Column, DFSchemaRef};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{Expr, LogicalPlan};
use spoor_catalog::KqlType;
use spoor_core::{Diagnostic, Span};

use crate::syntax::ast::{self, FunctionDef, StatementKind};

/// What a plan needs to know besides the query.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// The query's `now` (ns since the epoch, UTC): `now()` and `ago()` are measured from it.
    pub now_ns: i64,
    /// The tables the evidence fills. As in a Log Analytics workspace, a table that received
    /// no data does not exist for `union isfuzzy=true`, which skips it. Empty when planning
    /// without evidence (`spoor check`).
    pub tables_with_data: HashSet<String>,
    /// Workspace functions and watchlists that queries may call by name.
    pub workspace: crate::workspace::Workspace,
    /// Runs plans over the evidence, for the plugins whose output columns come from the data
    /// (`bag_unpack`, `pivot`). Without it (`spoor check`), such a plan is made for checking
    /// only: see [`PlannedQuery::needs_data`].
    pub probe: Option<DataProbe>,
}

/// Runs a logical plan over the evidence and returns its rows (the engine's probe).
#[derive(Clone)]
pub struct DataProbe(
    pub  std::sync::Arc<
        dyn Fn(LogicalPlan) -> Result<Vec<datafusion::arrow::record_batch::RecordBatch>, String>
            + Send
            + Sync,
    >,
);

impl std::fmt::Debug for DataProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataProbe")
    }
}

impl PlanOptions {
    /// Options for planning without evidence.
    pub fn without_data(now_ns: i64) -> PlanOptions {
        PlanOptions {
            now_ns,
            tables_with_data: HashSet::new(),
            workspace: Default::default(),
            probe: None,
        }
    }
}

/// A planned query: the DataFusion plan, the KQL type of each output column, and the chart
/// that `render` asked for.
#[derive(Debug, Clone)]
pub struct PlannedQuery {
    pub plan: LogicalPlan,
    pub types: Vec<KqlType>,
    pub render: Option<String>,
    /// Set when the query's columns depend on data that planning had no access to (a plugin
    /// such as `bag_unpack` planned without [`PlanOptions::probe`]): the plan shows that the
    /// query is understood, but it must not run. Says which operator.
    pub needs_data: Option<String>,
}

/// Plans a parsed query.
pub fn plan_query(query: &ast::Query, options: &PlanOptions) -> Result<PlannedQuery, Diagnostic> {
    let mut planner = Planner::new(options.clone());
    let mut result = None;
    for stmt in &query.statements {
        match &stmt.kind {
            StatementKind::Let(l) => planner.bind_let(l)?,
            // `set query_now = datetime(...)` pins now as --now does; other request options
            // (notruncation, truncationmaxrecords...) change nothing in local results.
            StatementKind::Set(set) if set.name.name == "query_now" => {
                let value = set
                    .value
                    .as_ref()
                    .ok_or_else(|| Diagnostic::new("query_now needs a datetime", stmt.span))?;
                match planner.scalar(value, None)?.expr {
                    datafusion::logical_expr::Expr::Literal(
                        datafusion::common::ScalarValue::TimestampNanosecond(Some(ns), _),
                        _,
                    ) => {
                        planner.options.now_ns = ns;
                    }
                    _ => {
                        return Err(Diagnostic::new(
                            "query_now must be a datetime literal, e.g. datetime(2023-08-10)",
                            value.span,
                        ));
                    }
                }
            }
            StatementKind::Set(_) | StatementKind::DeclareQueryParameters(_) => {}
            StatementKind::Query(e) => result = Some(planner.tabular(e)?),
        }
    }
    let tab = result.ok_or_else(|| {
        Diagnostic::new("the query has no tabular expression to run", query.span)
            .with_hint("end the query with an expression such as `AWSCloudTrail | take 10`")
    })?;
    Ok(PlannedQuery {
        plan: tab.plan,
        types: tab.types,
        render: tab.render,
        needs_data: planner.needs_data,
    })
}

/// A table under construction: its plan and the KQL type of every column, in schema order.
#[derive(Debug, Clone)]
pub(crate) struct Tab {
    pub plan: LogicalPlan,
    pub types: Vec<KqlType>,
    pub render: Option<String>,
    /// The row order that `sort`/`top` established and that `serialize`, `prev()`, `next()`
    /// and `row_number()` rely on: (column, descending, nulls first). Empty when the rows have
    /// no defined order (after summarize, join, union...).
    pub order: Vec<(String, bool, bool)>,
}

impl Tab {
    pub fn new(plan: LogicalPlan, types: Vec<KqlType>) -> Tab {
        debug_assert_eq!(plan.schema().fields().len(), types.len());
        Tab {
            plan,
            types,
            render: None,
            order: Vec::new(),
        }
    }

    pub fn schema(&self) -> &DFSchemaRef {
        self.plan.schema()
    }

    pub fn names(&self) -> Vec<String> {
        self.schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.schema().fields().iter().position(|f| f.name() == name)
    }

    pub fn type_of(&self, name: &str) -> Option<KqlType> {
        self.index_of(name).map(|i| self.types[i])
    }

    /// A reference to a column (qualified as in the plan's schema).
    pub fn column(&self, name: &str) -> Option<Expr> {
        let i = self.index_of(name)?;
        let (q, f) = self.schema().qualified_field(i);
        Some(Expr::Column(Column::new(q.cloned(), f.name())))
    }

    /// A reference to the i-th column.
    pub fn column_at(&self, i: usize) -> Expr {
        let (q, f) = self.schema().qualified_field(i);
        Expr::Column(Column::new(q.cloned(), f.name()))
    }
}

/// A typed scalar expression.
#[derive(Debug, Clone)]
pub(crate) struct TExpr {
    pub expr: Expr,
    pub ty: KqlType,
}

impl TExpr {
    pub fn new(expr: Expr, ty: KqlType) -> TExpr {
        TExpr { expr, ty }
    }
}

/// What a `let` name stands for.
#[derive(Debug, Clone)]
pub(crate) enum Binding {
    /// A scalar (constant or row-independent expression); dynamic literals keep their value for
    /// `in (list)` expansion.
    Scalar {
        value: TExpr,
        literal: Option<serde_json::Value>,
    },
    Tabular(Tab),
    Function(FunctionDef),
}

pub(crate) struct Planner {
    pub options: PlanOptions,
    scopes: Vec<HashMap<String, Binding>>,
    /// Nesting of user function calls, to stop runaway recursion.
    depth: usize,
    /// Set once a plugin whose columns come from the data was planned without a probe; from
    /// then on, names that no column has are taken to be such columns (dynamic, null).
    needs_data: Option<String>,
}

impl Planner {
    fn new(options: PlanOptions) -> Planner {
        // Workspace functions form the outermost scope: a query's own `let` shadows them.
        let workspace: HashMap<String, Binding> = options
            .workspace
            .functions
            .iter()
            .map(|(name, f)| (name.clone(), Binding::Function(f.clone())))
            .collect();
        Planner {
            options,
            scopes: vec![workspace, HashMap::new()],
            depth: 0,
            needs_data: None,
        }
    }

    pub fn lookup(&self, name: &str) -> Option<&Binding> {
        self.scopes.iter().rev().find_map(|s| s.get(name))
    }

    fn bind(&mut self, name: &str, b: Binding) {
        self.scopes
            .last_mut()
            .expect("a scope")
            .insert(name.to_string(), b);
    }

    fn bind_let(&mut self, l: &ast::LetStmt) -> Result<(), Diagnostic> {
        let binding = match &l.value {
            ast::LetValue::Function(f) => Binding::Function(f.clone()),
            ast::LetValue::Expr(e) => {
                if self.is_tabular(e) {
                    Binding::Tabular(self.tabular(e)?)
                } else {
                    let literal = match &e.kind {
                        ast::ExprKind::Literal(ast::Literal::Dynamic(v)) => Some(v.clone()),
                        _ => None,
                    };
                    Binding::Scalar {
                        value: self.scalar(e, None)?,
                        literal,
                    }
                }
            }
        };
        self.bind(&l.name.name, binding);
        Ok(())
    }

    /// Calls a user-defined function: binds its parameters to the arguments in a new scope and
    /// plans its body. Returns the tabular result, or the scalar one.
    pub fn call_function(
        &mut self,
        def: &FunctionDef,
        call: &ast::Call,
        span: Span,
        input: Option<&Tab>,
    ) -> Result<Either, Diagnostic> {
        if self.depth > 32 {
            return Err(Diagnostic::new(
                format!("function `{}` calls itself too deeply", call.func.name),
                span,
            ));
        }
        let mut scope = HashMap::new();
        let mut positional = call.args.iter();
        for p in &def.params {
            let arg = call
                .named_args
                .iter()
                .find(|a| a.name.name == p.name.name)
                .map(|a| &a.value)
                .or_else(|| positional.next());
            let arg = match (arg, &p.default) {
                (Some(a), _) => a,
                (None, Some(d)) => d,
                (None, None) => {
                    return Err(Diagnostic::new(
                        format!(
                            "function `{}` needs a value for its parameter `{}`",
                            call.func.name, p.name.name
                        ),
                        span,
                    ));
                }
            };
            let b = match &p.ty {
                ast::ParamType::Tabular { .. } => Binding::Tabular(self.tabular(arg)?),
                // A one-column table passed for a scalar parameter is taken as its first value,
                // as toscalar() would (Sentinel content passes `let ips = T | summarize
                // make_set(x)` to parsers' dynamic parameters).
                ast::ParamType::Scalar(_) if self.is_tabular(arg) => {
                    let call = ast::Expr {
                        kind: ast::ExprKind::Call(ast::Call {
                            func: ast::Ident {
                                name: "toscalar".into(),
                                span: arg.span,
                            },
                            args: vec![arg.clone()],
                            named_args: Vec::new(),
                        }),
                        span: arg.span,
                    };
                    Binding::Scalar {
                        value: self.scalar(&call, input)?,
                        literal: None,
                    }
                }
                ast::ParamType::Scalar(declared) => {
                    let value = self.scalar(arg, input)?;
                    let wanted = scalar::scalar_type(declared.ty);
                    // Kusto converts neither way between datetime and timespan: say so at the
                    // argument rather than deep inside the function's body.
                    if matches!(
                        (wanted, value.ty),
                        (KqlType::DateTime, KqlType::TimeSpan)
                            | (KqlType::TimeSpan, KqlType::DateTime)
                    ) {
                        return Err(Diagnostic::new(
                            format!(
                                "function `{}` takes a {wanted} for `{}`; this argument is a {}",
                                call.func.name, p.name.name, value.ty
                            ),
                            arg.span,
                        )
                        .with_hint(if wanted == KqlType::DateTime {
                            "for a time before now, write ago(2d)"
                        } else {
                            "for a time span, write e.g. 2d"
                        }));
                    }
                    Binding::Scalar {
                        value,
                        literal: None,
                    }
                }
            };
            scope.insert(p.name.name.clone(), b);
        }
        if let Some(extra) = call
            .named_args
            .iter()
            .find(|a| !def.params.iter().any(|p| p.name.name == a.name.name))
        {
            let names: Vec<&str> = def.params.iter().map(|p| p.name.name.as_str()).collect();
            return Err(Diagnostic::new(
                format!(
                    "function `{}` has no parameter `{}`",
                    call.func.name, extra.name.name
                ),
                extra.span,
            )
            .with_note(format!("its parameters: {}", names.join(", "))));
        }
        if positional.next().is_some() {
            return Err(Diagnostic::new(
                format!(
                    "function `{}` takes {} parameter(s)",
                    call.func.name,
                    def.params.len()
                ),
                span,
            ));
        }
        self.scopes.push(scope);
        self.depth += 1;
        let result = self.plan_body(&def.body, span, input);
        self.depth -= 1;
        self.scopes.pop();
        result
    }

    fn plan_body(
        &mut self,
        body: &[ast::Statement],
        span: Span,
        input: Option<&Tab>,
    ) -> Result<Either, Diagnostic> {
        let mut last = None;
        for stmt in body {
            match &stmt.kind {
                StatementKind::Let(l) => self.bind_let(l)?,
                StatementKind::Query(e) => {
                    last = Some(if self.is_tabular(e) {
                        Either::Tabular(self.tabular(e)?)
                    } else {
                        Either::Scalar(self.scalar(e, input)?)
                    })
                }
                _ => {}
            }
        }
        last.ok_or_else(|| Diagnostic::new("the function body has no result expression", span))
    }

    /// Whether an expression denotes a table (as opposed to a scalar).
    pub fn is_tabular(&self, e: &ast::Expr) -> bool {
        match &e.kind {
            ast::ExprKind::Pipe { .. } => true,
            ast::ExprKind::Name(n) => match self.lookup(&n.name) {
                Some(Binding::Tabular(_)) => true,
                Some(Binding::Function(f)) => f.params.is_empty() && self.body_is_tabular(&f.body),
                Some(Binding::Scalar { .. }) => false,
                None => spoor_catalog::catalog().table(&n.name).is_some(),
            },
            ast::ExprKind::Call(c) => match c.func.name.as_str() {
                "materialize" | "table" | "view" | "_GetWatchlist" => true,
                name => match self.lookup(name) {
                    Some(Binding::Function(f)) => self.body_is_tabular(&f.body),
                    _ => false,
                },
            },
            _ => false,
        }
    }

    /// Whether a function body ends in a table, following the `let`s inside the body.
    fn body_is_tabular(&self, body: &[ast::Statement]) -> bool {
        let mut local: HashMap<&str, bool> = HashMap::new();
        let tabular = |e: &ast::Expr, local: &HashMap<&str, bool>| match &e.kind {
            ast::ExprKind::Name(n) if local.contains_key(n.name.as_str()) => local[n.name.as_str()],
            _ => self.is_tabular(e),
        };
        let mut last = false;
        for stmt in body {
            match &stmt.kind {
                StatementKind::Let(l) => {
                    let is_table = match &l.value {
                        ast::LetValue::Expr(e) => tabular(e, &local),
                        ast::LetValue::Function(_) => false,
                    };
                    local.insert(l.name.name.as_str(), is_table);
                }
                StatementKind::Query(e) => last = tabular(e, &local),
                _ => {}
            }
        }
        last
    }
}

/// A call with no arguments, for a function used by its bare name (`MyFunction`).
pub(crate) fn bare_call(name: &str, span: Span) -> ast::Call {
    ast::Call {
        func: ast::Ident {
            name: name.to_string(),
            span,
        },
        args: vec![],
        named_args: vec![],
    }
}

/// The result of a user function: a table or a scalar.
pub(crate) enum Either {
    Tabular(Tab),
    Scalar(TExpr),
}

/// Turns a DataFusion planning error into a diagnostic at the construct being planned.
pub(crate) fn df_error(e: DataFusionError, span: Span) -> Diagnostic {
    let msg = e.strip_backtrace();
    let msg = msg
        .strip_prefix("Error during planning: ")
        .unwrap_or(&msg)
        .to_string();
    Diagnostic::new(msg, span)
}

/// The sub-expressions of an expression that rewrites look into (call arguments, operands,
/// the tested value of `in`/`between`, the target of a member or index access).
fn children_mut(kind: &mut ast::ExprKind) -> Vec<&mut ast::Expr> {
    use ast::ExprKind::*;
    match kind {
        Call(c) => c.args.iter_mut().collect(),
        Binary { left, right, .. } => vec![&mut **left, &mut **right],
        Unary { operand, .. } => vec![&mut **operand],
        Between {
            expr, low, high, ..
        } => vec![&mut **expr, &mut **low, &mut **high],
        InList { expr, .. } => vec![&mut **expr],
        Member { target, .. } | Index { target, .. } => vec![&mut **target],
        _ => Vec::new(),
    }
}

/// Replaces every call to a function that `is_target` accepts, wherever it stands in `e`, with
/// what `replace` returns (aggregations inside summarize expressions, prev()/next()...).
pub(crate) fn rewrite_calls(
    e: &ast::Expr,
    is_target: &dyn Fn(&str) -> bool,
    replace: &mut dyn FnMut(&ast::Call, Span) -> Result<ast::ExprKind, Diagnostic>,
) -> Result<ast::Expr, Diagnostic> {
    let mut out = e.clone();
    rewrite_in_place(&mut out, is_target, replace)?;
    Ok(out)
}

fn rewrite_in_place(
    e: &mut ast::Expr,
    is_target: &dyn Fn(&str) -> bool,
    replace: &mut dyn FnMut(&ast::Call, Span) -> Result<ast::ExprKind, Diagnostic>,
) -> Result<(), Diagnostic> {
    if let ast::ExprKind::Call(c) = &e.kind
        && is_target(&c.func.name)
    {
        e.kind = replace(c, e.span)?;
        return Ok(());
    }
    for child in children_mut(&mut e.kind) {
        rewrite_in_place(child, is_target, replace)?;
    }
    Ok(())
}

/// Whether `e` calls a function that `is_target` accepts.
pub(crate) fn calls_any(e: &ast::Expr, is_target: &dyn Fn(&str) -> bool) -> bool {
    let mut found = false;
    let _ = rewrite_calls(e, is_target, &mut |c, _| {
        found = true;
        Ok(ast::ExprKind::Call(c.clone()))
    });
    found
}

/// A projection over `plan`, errors reported at `span`.
pub(crate) fn project_plan(
    plan: LogicalPlan,
    exprs: Vec<Expr>,
    span: Span,
) -> Result<LogicalPlan, Diagnostic> {
    datafusion::logical_expr::LogicalPlanBuilder::from(plan)
        .project(exprs)
        .and_then(|b| b.build())
        .map_err(|e| df_error(e, span))
}

/// A "not supported yet" diagnostic: spoor says so rather than guessing.
pub(crate) fn unsupported(what: impl std::fmt::Display, span: Span) -> Diagnostic {
    Diagnostic::new(format!("{what} is not supported yet"), span).with_hint(
        "spoor refuses rather than return a result that could be wrong; see the issue tracker",
    )
}

pub(crate) use spoor_core::did_you_mean;

#[cfg(test)]
mod tests {
    /// Every KQL function the planner calls by name exists in spoor-functions (a missing one
    /// would be a panic at plan time).
    #[test]
    fn every_function_the_planner_names_exists() {
        let sources = [
            include_str!("scalar.rs"),
            include_str!("ops.rs"),
            include_str!("aggregate.rs"),
            include_str!("tabular.rs"),
        ];
        let re = regex::Regex::new(r#""(kql_[a-z0-9_]+)""#).unwrap();
        let mut seen = 0;
        for text in sources {
            for cap in re.captures_iter(text) {
                let name = &cap[1];
                seen += 1;
                assert!(
                    spoor_functions::scalar(name).is_some()
                        || spoor_functions::aggregate(name).is_some(),
                    "the planner calls {name}, which spoor-functions does not have"
                );
            }
        }
        // Names built with format!("kql_{name}") for the trim family.
        for name in ["kql_trim", "kql_trim_start", "kql_trim_end"] {
            assert!(spoor_functions::scalar(name).is_some(), "{name}");
        }
        assert!(seen > 40, "the scan found only {seen} names");
    }

    #[test]
    fn did_you_mean_prefers_case_then_distance() {
        let names = ["EventName", "EventSource", "ErrorCode"];
        assert_eq!(
            super::did_you_mean("eventname", names).as_deref(),
            Some("EventName")
        );
        assert_eq!(
            super::did_you_mean("EvntName", names).as_deref(),
            Some("EventName")
        );
        assert_eq!(super::did_you_mean("Zebra", names), None);
    }
}
