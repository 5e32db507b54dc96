//! `summarize`, `count` and `distinct`: Kusto's aggregations and their default column names.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Column, ScalarValue};
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::{AggregateUDF, Expr, LogicalPlanBuilder, cast, lit, when};
use spoor_catalog::KqlType;
use spoor_core::{Diagnostic, Span};

use super::ops::derived_name;
use super::scalar::{as_string, null_of, to_bool, to_dynamic};
use super::{Planner, TExpr, Tab, df_error, project_plan, unsupported};
use crate::syntax::ast::{self, ExprKind};

const AGGREGATES: &[&str] = &[
    "count",
    "countif",
    "dcount",
    "dcountif",
    "sum",
    "sumif",
    "min",
    "max",
    "avg",
    "avgif",
    "make_set",
    "make_list",
    "makeset",
    "makelist",
    "make_set_if",
    "make_list_if",
    "arg_max",
    "arg_min",
    "take_any",
    "any",
    "take_anyif",
    "anyif",
    "minif",
    "maxif",
    "stdev",
    "variance",
    "stdevp",
    "variancep",
    "stdevif",
    "varianceif",
    "percentile",
    "percentiles",
    "percentiles_array",
    "make_bag",
    "make_bag_if",
    "count_distinct",
    "hll",
    "tdigest",
    "binary_all_or",
    "binary_all_and",
];

pub(crate) fn is_aggregate(name: &str) -> bool {
    AGGREGATES.contains(&name)
}

fn udaf(name: &str) -> Arc<AggregateUDF> {
    spoor_functions::aggregate(name)
        .unwrap_or_else(|| panic!("spoor-functions has no aggregate function {name}"))
}

fn udaf_call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::AggregateFunction(AggregateFunction::new_udf(
        udaf(name),
        args,
        false,
        None,
        vec![],
        None,
    ))
}

/// One output item of `summarize`, in the order written.
enum SummaryItem {
    /// Columns produced by one aggregation (arg_max gives several), indices into the outputs.
    Aggregates(std::ops::Range<usize>),
    /// An expression over aggregations, planned over the grouped table.
    Computed { name: String, expr: ast::Expr },
}

/// One planned aggregate output column.
pub(super) struct AggOut {
    pub(super) name: String,
    pub(super) expr: Expr,
    pub(super) ty: KqlType,
    /// Applied to the aggregate's result column after grouping (Kusto's defaults: sum of
    /// nothing is 0).
    pub(super) post: Option<fn(Expr) -> Expr>,
}

impl Planner {
    pub(crate) fn summarize(
        &mut self,
        tab: Tab,
        aggregates: &[ast::Assignment],
        by: &[ast::Assignment],
        span: Span,
    ) -> Result<Tab, Diagnostic> {
        let mut group = Vec::new();
        let mut out_names: Vec<String> = Vec::new();
        let mut out_types: Vec<KqlType> = Vec::new();
        for (i, b) in by.iter().enumerate() {
            let wanted = self.assignment_names(b, i, &tab)?.remove(0);
            // A second key with the same derived name gets a number, as Kusto does.
            let mut name = wanted.clone();
            let mut k = 1;
            while out_names.contains(&name) {
                name = format!("{wanted}{k}");
                k += 1;
            }
            let v = self.scalar(&b.expr, Some(&tab))?;
            group.push(v.expr.alias(name.clone()));
            out_names.push(name);
            out_types.push(v.ty);
        }
        let mut outs: Vec<AggOut> = Vec::new();
        let mut items: Vec<SummaryItem> = Vec::new();
        for (i, a) in aggregates.iter().enumerate() {
            match &a.expr.kind {
                ExprKind::Call(c) if is_aggregate(&c.func.name) => {
                    let first = outs.len();
                    self.aggregate(
                        &tab,
                        c,
                        a.expr.span,
                        a.names.first().map(|n| n.name.clone()),
                        &out_names,
                        &mut outs,
                    )?;
                    items.push(SummaryItem::Aggregates(first..outs.len()));
                }
                _ => {
                    // An expression over aggregates (`Span = max(T) - min(T)`): the aggregates
                    // are computed by the grouping, the expression afterwards.
                    let rewritten =
                        self.extract_aggregates(&a.expr, &tab, &out_names, &mut outs)?;
                    if rewritten == a.expr {
                        return Err(Diagnostic::new(
                            "summarize expects an aggregation such as count() or dcount(X)",
                            a.expr.span,
                        )
                        .with_hint("to compute a value per row, use extend before the summarize"));
                    }
                    let name = a
                        .names
                        .first()
                        .map(|n| n.name.clone())
                        .unwrap_or_else(|| format!("Column{}", i + 1));
                    items.push(SummaryItem::Computed {
                        name,
                        expr: rewritten,
                    });
                }
            }
        }
        // Unique internal names for the aggregate expressions, renamed afterwards (Kusto
        // allows an aggregate column to take the name of a group column's source).
        let mut agg_exprs = Vec::new();
        for (i, o) in outs.iter().enumerate() {
            agg_exprs.push(o.expr.clone().alias(format!("__agg{i}")));
        }
        let plan = LogicalPlanBuilder::from(tab.plan.clone())
            .aggregate(group, agg_exprs)
            .and_then(|b| b.build())
            .map_err(|e| df_error(e, span))?;
        // The grouped table, aggregates under their internal names (with Kusto's defaults).
        let mut inner_exprs: Vec<Expr> = out_names
            .iter()
            .map(|n| Expr::Column(Column::new_unqualified(n)).alias(n.clone()))
            .collect();
        let mut inner_types = out_types.clone();
        for (i, o) in outs.iter().enumerate() {
            let col = Expr::Column(Column::new_unqualified(format!("__agg{i}")));
            inner_exprs.push(
                match o.post {
                    Some(p) => p(col),
                    None => col,
                }
                .alias(format!("__agg{i}")),
            );
            inner_types.push(o.ty);
        }
        let inner_plan = project_plan(plan, inner_exprs, span)?;
        let inner = Tab::new(inner_plan, inner_types);
        let mut exprs: Vec<Expr> = out_names
            .iter()
            .map(|n| inner.column(n).expect("group column").alias(n.clone()))
            .collect();
        let mut used = out_names.clone();
        let unique = |wanted: &str, used: &mut Vec<String>| {
            let mut name = wanted.to_string();
            let mut k = 1;
            while used.contains(&name) {
                name = format!("{wanted}{k}");
                k += 1;
            }
            used.push(name.clone());
            name
        };
        for item in items {
            match item {
                SummaryItem::Aggregates(range) => {
                    for i in range {
                        let name = unique(&outs[i].name, &mut used);
                        exprs.push(
                            inner
                                .column(&format!("__agg{i}"))
                                .expect("aggregate column")
                                .alias(name),
                        );
                        out_types.push(outs[i].ty);
                    }
                }
                SummaryItem::Computed { name, expr } => {
                    let v = self.scalar(&expr, Some(&inner))?;
                    let name = unique(&name, &mut used);
                    exprs.push(v.expr.alias(name));
                    out_types.push(v.ty);
                }
            }
        }
        let plan = inner.plan;
        let plan = project_plan(plan, exprs, span)?;
        Ok(Tab {
            plan,
            types: out_types,
            render: tab.render,
            order: Vec::new(),
        })
    }

    /// Replaces each aggregation call inside `e` with a reference to its grouped column.
    fn extract_aggregates(
        &mut self,
        e: &ast::Expr,
        tab: &Tab,
        group_names: &[String],
        outs: &mut Vec<AggOut>,
    ) -> Result<ast::Expr, Diagnostic> {
        super::rewrite_calls(e, &is_aggregate, &mut |call, span| {
            let first = outs.len();
            self.aggregate(tab, call, span, None, group_names, outs)?;
            if outs.len() != first + 1 {
                return Err(unsupported(
                    format!("{}() inside an expression", call.func.name),
                    span,
                ));
            }
            Ok(ExprKind::Name(ast::Ident {
                name: format!("__agg{first}"),
                span,
            }))
        })
    }

    pub(super) fn aggregate(
        &mut self,
        tab: &Tab,
        c: &ast::Call,
        span: Span,
        written: Option<String>,
        group_names: &[String],
        outs: &mut Vec<AggOut>,
    ) -> Result<(), Diagnostic> {
        let fname = c.func.name.as_str();
        let col_name = c.args.first().and_then(derived_name);
        let named = |prefix: &str| -> String {
            written.clone().unwrap_or_else(|| match &col_name {
                Some(n) => format!("{prefix}_{n}"),
                None => format!("{prefix}_"),
            })
        };
        let argc = c.args.len();
        let arity = |min: usize, max: usize| -> Result<(), Diagnostic> {
            if argc < min || argc > max {
                Err(Diagnostic::new(
                    format!("{fname}() takes {min} to {max} argument(s), got {argc}"),
                    span,
                ))
            } else {
                Ok(())
            }
        };
        let arg = |i: usize, me: &mut Planner| -> Result<TExpr, Diagnostic> {
            me.scalar(&c.args[i], Some(tab))
        };
        let zero_if_null: fn(Expr) -> Expr =
            |e| datafusion::functions::expr_fn::coalesce(vec![e, lit(0i64)]);
        match fname {
            "count" => {
                arity(0, 1)?;
                let e = if argc == 1 {
                    agg::count(self.scalar(&c.args[0], Some(tab))?.expr)
                } else {
                    agg::count(lit(1i64))
                };
                outs.push(AggOut {
                    name: written.unwrap_or_else(|| "count_".into()),
                    expr: e,
                    ty: KqlType::Long,
                    post: None,
                });
            }
            "countif" => {
                arity(1, 1)?;
                let p = to_bool(arg(0, self)?, c.args[0].span)?;
                let e = agg::sum(
                    when(p, lit(1i64))
                        .otherwise(lit(0i64))
                        .map_err(|e| df_error(e, span))?,
                );
                outs.push(AggOut {
                    name: written.unwrap_or_else(|| "countif_".into()),
                    expr: e,
                    ty: KqlType::Long,
                    post: Some(zero_if_null),
                });
            }
            "dcount" | "count_distinct" => {
                arity(1, 2)?;
                let v = arg(0, self)?;
                let e = if fname == "count_distinct" {
                    agg::count_distinct(v.expr)
                } else {
                    udaf_call("kql_dcount", vec![v.expr])
                };
                let prefix = if fname == "dcount" {
                    "dcount"
                } else {
                    "count_distinct"
                };
                outs.push(AggOut {
                    name: named(prefix),
                    expr: e,
                    ty: KqlType::Long,
                    post: Some(zero_if_null),
                });
            }
            "dcountif" => {
                arity(2, 3)?;
                let v = arg(0, self)?;
                let p = to_bool(arg(1, self)?, c.args[1].span)?;
                let masked = when(p, v.expr)
                    .otherwise(null_of(v.ty))
                    .map_err(|e| df_error(e, span))?;
                outs.push(AggOut {
                    name: named("dcountif"),
                    expr: udaf_call("kql_dcount", vec![masked]),
                    ty: KqlType::Long,
                    post: Some(zero_if_null),
                });
            }
            "sum" | "sumif" => {
                let (v, p) = if fname == "sum" {
                    arity(1, 1)?;
                    (arg(0, self)?, None)
                } else {
                    arity(2, 2)?;
                    (arg(0, self)?, Some(to_bool(arg(1, self)?, c.args[1].span)?))
                };
                let v = numeric(v, c.args[0].span, fname)?;
                let ty = if v.ty == KqlType::Real {
                    KqlType::Real
                } else {
                    KqlType::Long
                };
                let input = match p {
                    Some(p) => when(p, v.expr)
                        .otherwise(null_of(v.ty))
                        .map_err(|e| df_error(e, span))?,
                    None => v.expr,
                };
                let input = if ty == KqlType::Long {
                    cast(input, DataType::Int64)
                } else {
                    input
                };
                let post: fn(Expr) -> Expr = if ty == KqlType::Long {
                    zero_if_null
                } else {
                    |e| datafusion::functions::expr_fn::coalesce(vec![e, lit(0f64)])
                };
                outs.push(AggOut {
                    name: named(fname),
                    expr: agg::sum(input),
                    ty,
                    post: Some(post),
                });
            }
            "min" | "max" | "minif" | "maxif" => {
                let conditional = fname.ends_with("if");
                arity(
                    if conditional { 2 } else { 1 },
                    if conditional { 2 } else { 1 },
                )?;
                let v = arg(0, self)?;
                let ty = v.ty;
                let input = if conditional {
                    let p = to_bool(arg(1, self)?, c.args[1].span)?;
                    when(p, v.expr)
                        .otherwise(null_of(ty))
                        .map_err(|e| df_error(e, span))?
                } else {
                    v.expr
                };
                let input = if ty == KqlType::Dynamic {
                    as_string(TExpr::new(input, ty))
                } else {
                    input
                };
                let e = if fname.starts_with("min") {
                    agg::min(input)
                } else {
                    agg::max(input)
                };
                outs.push(AggOut {
                    name: named(fname),
                    expr: e,
                    ty: if ty == KqlType::Dynamic {
                        KqlType::String
                    } else {
                        ty
                    },
                    post: None,
                });
            }
            "avg" | "avgif" => {
                let v = arg(0, self)?;
                let v = numeric(v, c.args[0].span, fname)?;
                let input = if fname == "avgif" {
                    arity(2, 2)?;
                    let p = to_bool(arg(1, self)?, c.args[1].span)?;
                    when(p, v.expr)
                        .otherwise(null_of(v.ty))
                        .map_err(|e| df_error(e, span))?
                } else {
                    arity(1, 1)?;
                    v.expr
                };
                outs.push(AggOut {
                    name: named(fname),
                    expr: agg::avg(cast(input, DataType::Float64)),
                    ty: KqlType::Real,
                    post: None,
                });
            }
            "make_set" | "make_list" | "makeset" | "makelist" | "make_set_if" | "make_list_if" => {
                let conditional = fname.ends_with("_if");
                let (min, max) = if conditional { (2, 3) } else { (1, 2) };
                arity(min, max)?;
                let v = arg(0, self)?;
                let mut input = to_dynamic(v);
                if conditional {
                    let p = to_bool(arg(1, self)?, c.args[1].span)?;
                    input = when(p, input)
                        .otherwise(null_of(KqlType::Dynamic))
                        .map_err(|e| df_error(e, span))?;
                }
                let cap_index = if conditional { 2 } else { 1 };
                // Legacy makeset/makelist cap at 128; make_set/make_list at 1,048,576.
                let default_cap: i64 = if fname.starts_with("make_") {
                    1_048_576
                } else {
                    128
                };
                let cap = if argc > cap_index {
                    cast(arg(cap_index, self)?.expr, DataType::Int64)
                } else {
                    lit(default_cap)
                };
                let is_set = fname.contains("set");
                let udf = if is_set {
                    "kql_make_set"
                } else {
                    "kql_make_list"
                };
                let prefix = if is_set { "set" } else { "list" };
                outs.push(AggOut {
                    name: named(prefix),
                    expr: udaf_call(udf, vec![input, cap]),
                    ty: KqlType::Dynamic,
                    post: Some(empty_array_if_null),
                });
            }
            "arg_max" | "arg_min" => {
                if argc < 1 {
                    return Err(Diagnostic::new(
                        format!("{fname}() needs the expression to maximise"),
                        span,
                    ));
                }
                let by = arg(0, self)?;
                let udf = if fname == "arg_max" {
                    "kql_arg_max"
                } else {
                    "kql_arg_min"
                };
                let by_name = written
                    .clone()
                    .or_else(|| col_name.clone())
                    .unwrap_or_else(|| format!("{fname}_"));
                let by_expr = if by.ty == KqlType::Dynamic {
                    as_string(by.clone())
                } else {
                    by.expr.clone()
                };
                outs.push(AggOut {
                    name: by_name.clone(),
                    expr: udaf_call(udf, vec![by_expr.clone(), by.expr.clone()]),
                    ty: by.ty,
                    post: None,
                });
                let mut cols: Vec<(String, TExpr)> = Vec::new();
                for x in &c.args[1..] {
                    match &x.kind {
                        ExprKind::Star => {
                            // `*`: every other column, except the group keys (already there).
                            for (i, n) in tab.names().into_iter().enumerate() {
                                if n != by_name && !group_names.contains(&n) {
                                    cols.push((n, TExpr::new(tab.column_at(i), tab.types[i])));
                                }
                            }
                        }
                        _ => {
                            let name = derived_name(x).ok_or_else(|| {
                                Diagnostic::new(
                                    format!(
                                        "name this {fname}() column, e.g. {fname}(T, Name = expr)"
                                    ),
                                    x.span,
                                )
                            })?;
                            cols.push((name, self.scalar(x, Some(tab))?));
                        }
                    }
                }
                for (n, v) in cols {
                    outs.push(AggOut {
                        name: n,
                        expr: udaf_call(udf, vec![by_expr.clone(), v.expr]),
                        ty: v.ty,
                        post: None,
                    });
                }
            }
            "take_any" | "any" | "take_anyif" | "anyif" => {
                let conditional = fname.ends_with("if");
                if argc != 1 + usize::from(conditional) {
                    return Err(unsupported(
                        format!(
                            "{fname}() with other than {} argument(s)",
                            1 + usize::from(conditional)
                        ),
                        span,
                    ));
                }
                let v = arg(0, self)?;
                let ty = v.ty;
                // kql_take_any keeps a non-null value: rows failing the predicate become null.
                let input = if conditional {
                    let p = to_bool(arg(1, self)?, c.args[1].span)?;
                    when(p, v.expr)
                        .otherwise(null_of(ty))
                        .map_err(|e| df_error(e, span))?
                } else {
                    v.expr
                };
                let name = written.unwrap_or_else(|| {
                    let stem = if conditional { fname } else { "any" };
                    col_name
                        .clone()
                        .map(|n| format!("{stem}_{n}"))
                        .unwrap_or_else(|| format!("{stem}_"))
                });
                outs.push(AggOut {
                    name,
                    expr: udaf_call("kql_take_any", vec![input]),
                    ty,
                    post: None,
                });
            }
            "stdev" | "stdevp" | "variance" | "variancep" | "stdevif" | "varianceif" => {
                let conditional = fname.ends_with("if");
                let n = if conditional { 2 } else { 1 };
                arity(n, n)?;
                let v = numeric(arg(0, self)?, c.args[0].span, fname)?;
                let mut input = cast(v.expr, DataType::Float64);
                if conditional {
                    let p = to_bool(arg(1, self)?, c.args[1].span)?;
                    input = when(p, input)
                        .otherwise(lit(ScalarValue::Float64(None)))
                        .map_err(|e| df_error(e, span))?;
                }
                let udf = format!("kql_{}", fname.trim_end_matches("if"));
                outs.push(AggOut {
                    name: named(fname),
                    expr: udaf_call(&udf, vec![input]),
                    ty: KqlType::Real,
                    post: None,
                });
            }
            "percentile" | "percentiles" => {
                if argc < 2 {
                    return Err(Diagnostic::new(
                        format!("{fname}() takes the value and the percentile(s)"),
                        span,
                    ));
                }
                let v = arg(0, self)?;
                // percentile(x, 95) and percentiles(x, 50, 95): one column per percentile,
                // named percentile_x_95 as Kusto names them.
                let base = col_name.clone().unwrap_or_default();
                for i in 1..argc {
                    let p = arg(i, self)?;
                    let label = match &c.args[i].kind {
                        ExprKind::Literal(ast::Literal::Long(n)) => n.to_string(),
                        ExprKind::Literal(ast::Literal::Real(r)) => r.to_string().replace('.', "_"),
                        _ => i.to_string(),
                    };
                    let name = match (&written, argc) {
                        (Some(w), 2) => w.clone(),
                        _ => format!("percentile_{base}_{label}"),
                    };
                    outs.push(AggOut {
                        name,
                        expr: udaf_call("kql_percentile", vec![v.expr.clone(), p.expr]),
                        ty: v.ty,
                        post: None,
                    });
                }
            }
            "percentiles_array" => {
                let mut args = Vec::new();
                for i in 0..argc {
                    args.push(arg(i, self)?.expr);
                }
                outs.push(AggOut {
                    name: named("percentiles"),
                    expr: udaf_call("kql_percentiles_array", args),
                    ty: KqlType::Dynamic,
                    post: None,
                });
            }
            "make_bag" | "make_bag_if" => {
                let conditional = fname == "make_bag_if";
                let mut input = to_dynamic(arg(0, self)?);
                if conditional {
                    let p = to_bool(arg(1, self)?, c.args[1].span)?;
                    input = when(p, input)
                        .otherwise(null_of(KqlType::Dynamic))
                        .map_err(|e| df_error(e, span))?;
                }
                let cap_index = if conditional { 2 } else { 1 };
                let cap = if argc > cap_index {
                    cast(arg(cap_index, self)?.expr, DataType::Int64)
                } else {
                    lit(1_048_576i64)
                };
                outs.push(AggOut {
                    name: named("bag"),
                    expr: udaf_call("kql_make_bag", vec![input, cap]),
                    ty: KqlType::Dynamic,
                    post: Some(empty_bag_if_null),
                });
            }
            other if is_aggregate(other) => {
                return Err(unsupported(format!("the aggregation {other}()"), span));
            }
            other => {
                return Err(Diagnostic::new(
                    format!("`{other}` is not an aggregation function"),
                    c.func.span,
                )
                .with_hint(
                    "summarize takes aggregations such as count(), dcount(X), sum(X), make_set(X)",
                ));
            }
        }
        Ok(())
    }

    /// `count`: one row, one column `Count`.
    pub(crate) fn count(&mut self, tab: Tab, span: Span) -> Result<Tab, Diagnostic> {
        let plan = LogicalPlanBuilder::from(tab.plan)
            .aggregate(
                Vec::<Expr>::new(),
                vec![agg::count(lit(1i64)).alias("Count")],
            )
            .and_then(|b| b.build())
            .map_err(|e| df_error(e, span))?;
        Ok(Tab {
            plan,
            types: vec![KqlType::Long],
            render: tab.render,
            order: Vec::new(),
        })
    }

    /// `distinct a, b` / `distinct *`.
    pub(crate) fn distinct(
        &mut self,
        tab: Tab,
        columns: &[ast::Expr],
        span: Span,
    ) -> Result<Tab, Diagnostic> {
        let mut exprs = Vec::new();
        let mut types = Vec::new();
        if matches!(
            columns,
            [ast::Expr {
                kind: ExprKind::Star,
                ..
            }]
        ) {
            for (i, n) in tab.names().into_iter().enumerate() {
                exprs.push(tab.column_at(i).alias(n));
                types.push(tab.types[i]);
            }
        } else {
            for (i, c) in columns.iter().enumerate() {
                let v = self.scalar(c, Some(&tab))?;
                let name = derived_name(c).unwrap_or_else(|| format!("Column{}", i + 1));
                exprs.push(v.expr.alias(name));
                types.push(v.ty);
            }
        }
        let plan = LogicalPlanBuilder::from(tab.plan)
            .project(exprs)
            .and_then(|b| b.distinct())
            .and_then(|b| b.build())
            .map_err(|e| df_error(e, span))?;
        Ok(Tab {
            plan,
            types,
            render: tab.render,
            order: Vec::new(),
        })
    }
}

fn numeric(v: TExpr, span: Span, func: &str) -> Result<TExpr, Diagnostic> {
    match v.ty {
        KqlType::Int | KqlType::Long | KqlType::Real | KqlType::Decimal => Ok(v),
        KqlType::Dynamic => Ok(TExpr::new(
            super::scalar::call("kql_dyn_to_double", vec![v.expr]),
            KqlType::Real,
        )),
        KqlType::TimeSpan if func.starts_with("sum") => {
            Err(unsupported("sum() of timespans", span))
        }
        t => Err(Diagnostic::new(
            format!("{func}() needs a number, got a {t}"),
            span,
        )),
    }
}

fn empty_bag_if_null(e: Expr) -> Expr {
    datafusion::functions::expr_fn::coalesce(vec![e, lit("{}")])
}

fn empty_array_if_null(e: Expr) -> Expr {
    datafusion::functions::expr_fn::coalesce(vec![e, lit("[]")])
}
