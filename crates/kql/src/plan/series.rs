//! `make-series` (<https://learn.microsoft.com/kusto/query/make-series-operator>) and the
//! series functions over its arrays.
//!
//! `T | make-series A = agg(x) default = d, ... on Axis from F to E step S by K1, K2` is planned
//! as two groupings:
//!
//! 1. every row gets its bin `floor((Axis - F) / S)` (rows outside `[F, E)` are dropped) and the
//!    aggregations are computed by keys and bin, exactly as `summarize` computes them;
//! 2. by keys only, `kql_series_fill` lays each aggregation's per-bin values out as an array of
//!    `ceil((E - F) / S)` values, `d` (default 0, converted to the aggregation's type) where a
//!    bin had no rows.
//!
//! The output is the keys, one dynamic array per aggregation (named as `summarize` names it:
//! `count_`, `avg_x`...), and the axis column (named after `Axis`) holding the bin starts.
//!
//! `on Axis in range(start, stop, step)` bins with `bin()` rather than from `start`, and `stop`
//! is inclusive (the page's "alternate syntax"): the series starts at `bin(start, step)` and ends
//! with the bin that holds `stop`. The page does not say which rows count; here, as `from`/`to`
//! bound the axis values, the rows with `start <= Axis <= stop`.
//!
//! Without `from` and `to` Kusto takes the range from the data; the page does not say whether
//! per series or over the whole input, nor how the first bin is aligned, so that form is
//! refused. `kind=nonempty` is supported without `by` (an empty input gives one row of
//! defaults, as the page shows); with `by` it is refused.

use datafusion::common::{Column, ScalarValue};
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::{Expr, LogicalPlanBuilder, lit};
use spoor_catalog::KqlType;
use spoor_core::{Diagnostic, Span};

use super::aggregate::{AggOut, is_aggregate};
use super::ops::derived_name;
use super::scalar::{call, convert_to, to_bool, to_dynamic};
use super::{Planner, TExpr, Tab, df_error, project_plan, unsupported};
use crate::syntax::ast::{self, ExprKind, OperatorKind, SeriesRange};

const BIN: &str = "__series_bin";

/// The rows make-series keeps, by axis value.
enum Bounds {
    /// `from F to E`: values below E (F is the first bin's start).
    Below(Expr),
    /// `in range(start, stop, step)`: values from start to stop, both included.
    Inclusive(Expr, Expr),
}
const ROWS: &str = "__series_rows";

fn col(name: &str) -> Expr {
    Expr::Column(Column::new_unqualified(name))
}

fn is_number(t: KqlType) -> bool {
    matches!(
        t,
        KqlType::Int | KqlType::Long | KqlType::Real | KqlType::Decimal
    )
}

/// A name not yet in `used` (`name`, `name1`, `name2`...), recorded as used.
fn unique(wanted: &str, used: &mut Vec<String>) -> String {
    let mut name = wanted.to_string();
    let mut k = 1;
    while used.contains(&name) {
        name = format!("{wanted}{k}");
        k += 1;
    }
    used.push(name.clone());
    name
}

impl Planner {
    pub(crate) fn make_series(
        &mut self,
        tab: Tab,
        op: &OperatorKind,
        span: Span,
    ) -> Result<Tab, Diagnostic> {
        let OperatorKind::MakeSeries {
            params,
            aggregates,
            on,
            range,
            by,
        } = op
        else {
            unreachable!("make_series is called for make-series");
        };
        let mut nonempty = false;
        for p in params {
            match (p.name.name.as_str(), &p.value.kind) {
                ("kind", ExprKind::Name(v)) if v.name == "nonempty" => nonempty = true,
                ("kind", _) => {
                    return Err(Diagnostic::new(
                        "make-series kind can only be `nonempty`",
                        p.span,
                    ));
                }
                _ => {}
            }
        }
        if nonempty && !by.is_empty() {
            return Err(unsupported("make-series kind=nonempty with `by`", span));
        }

        // The axis and its range.
        let axis = self.scalar(on, Some(&tab))?;
        let axis_name = derived_name(on).ok_or_else(|| {
            Diagnostic::new("the make-series axis must be a column", on.span)
                .with_hint("e.g. `on TimeGenerated`; compute an expression with extend first")
        })?;
        // (first bin start, number of bins, step, bounds of the axis values).
        let (from, nbins, step, end) = match range {
            SeriesRange::FromTo {
                from: Some(f),
                to: Some(t),
                step,
            } => {
                let step = self.series_bound(step, axis.ty, true)?;
                let from = self.series_bound(f, axis.ty, false)?;
                let to = self.series_bound(t, axis.ty, false)?;
                let nbins = call(
                    "kql_series_bins",
                    vec![from.clone(), to.clone(), step.clone()],
                );
                (from, nbins, step, Bounds::Below(to))
            }
            SeriesRange::FromTo { .. } => {
                return Err(
                    unsupported("make-series without both `from` and `to`", span)
                        .with_hint("give the range, e.g. `from ago(7d) to now() step 1h`"),
                );
            }
            SeriesRange::InRange { start, stop, step } => {
                let step = self.series_bound(step, axis.ty, true)?;
                let start = self.series_bound(start, axis.ty, false)?;
                let stop = self.series_bound(stop, axis.ty, false)?;
                // bin() alignment; the bin holding `stop` is the last one.
                let from = call("kql_bin", vec![start.clone(), step.clone()]);
                let nbins = call(
                    "kql_series_bin_index",
                    vec![stop.clone(), from.clone(), step.clone()],
                ) + lit(1i64);
                (from, nbins, step, Bounds::Inclusive(start, stop))
            }
        };
        match axis.ty {
            KqlType::DateTime | KqlType::TimeSpan => {}
            t if is_number(t) => {}
            t => {
                return Err(Diagnostic::new(
                    format!(
                        "the make-series axis must be a datetime, timespan or number, not a {t}"
                    ),
                    on.span,
                ));
            }
        }

        // Every row with its bin, then only the rows inside the range.
        let bin = call(
            "kql_series_bin_index",
            vec![axis.expr.clone(), from.clone(), step.clone()],
        );
        let mut exprs: Vec<Expr> = (0..tab.types.len())
            .map(|i| tab.column_at(i).alias(tab.names()[i].clone()))
            .collect();
        exprs.push(bin.alias(BIN));
        let plan = project_plan(tab.plan.clone(), exprs, span)?;
        let mut keep = col(BIN).gt_eq(lit(0i64)).and(col(BIN).lt(nbins.clone()));
        // The bounds apply to the axis values, not to the bins: with `from 0 to 10 step 4` the
        // last bin starts at 8 but holds only values below 10. A comparison `a < b` is written
        // floor((a - b) / step) < 0, which needs no type coercion.
        let below =
            |a: Expr, b: Expr| call("kql_series_bin_index", vec![a, b, step.clone()]).lt(lit(0i64));
        match end {
            Bounds::Below(to) => keep = keep.and(below(axis.expr.clone(), to)),
            Bounds::Inclusive(start, stop) => {
                keep = keep
                    .and(Expr::Not(Box::new(below(axis.expr.clone(), start))))
                    .and(Expr::Not(Box::new(below(stop, axis.expr.clone()))));
            }
        }
        let plan = LogicalPlanBuilder::from(plan)
            .filter(keep)
            .and_then(|b| b.build())
            .map_err(|e| df_error(e, span))?;
        let mut types = tab.types.clone();
        types.push(KqlType::Long);
        let binned = Tab::new(plan, types);

        // 1. Aggregations by keys and bin.
        let mut group = Vec::new();
        let mut key_names: Vec<String> = Vec::new();
        let mut key_types = Vec::new();
        for (i, b) in by.iter().enumerate() {
            let wanted = self.assignment_names(b, i, &binned)?.remove(0);
            let name = unique(&wanted, &mut key_names);
            let v = self.scalar(&b.expr, Some(&binned))?;
            group.push(v.expr.alias(name));
            key_types.push(v.ty);
        }
        let mut outs: Vec<AggOut> = Vec::new();
        let mut defaults: Vec<Expr> = Vec::new();
        for a in aggregates {
            let expr = &a.assignment.expr;
            let ExprKind::Call(c) = &expr.kind else {
                return Err(Diagnostic::new(
                    "make-series expects an aggregation such as count() or avg(X)",
                    expr.span,
                ));
            };
            if !is_aggregate(&c.func.name) {
                return Err(Diagnostic::new(
                    format!("`{}` is not an aggregation function", c.func.name),
                    c.func.span,
                )
                .with_hint("make-series takes aggregations such as count(), sum(X), avg(X)"));
            }
            let first = outs.len();
            self.aggregate(
                &binned,
                c,
                expr.span,
                a.assignment.names.first().map(|n| n.name.clone()),
                &key_names,
                &mut outs,
            )?;
            if outs.len() != first + 1 || !is_number(outs[first].ty) {
                return Err(Diagnostic::new(
                    format!(
                        "make-series takes aggregations with one numeric result; {}() is not one",
                        c.func.name
                    ),
                    expr.span,
                ));
            }
            let ty = outs[first].ty;
            let default = match &a.default {
                Some(d) => self.scalar(d, None)?,
                None => TExpr::new(lit(0i64), KqlType::Long),
            };
            let default = to_dynamic(convert_to(default, ty));
            defaults.push(datafusion::functions::expr_fn::coalesce(vec![
                default,
                lit("null"),
            ]));
        }
        let mut group_a = group;
        group_a.push(col(BIN));
        let agg_exprs: Vec<Expr> = outs
            .iter()
            .enumerate()
            .map(|(i, o)| o.expr.clone().alias(format!("__agg{i}")))
            .collect();
        let plan = LogicalPlanBuilder::from(binned.plan.clone())
            .aggregate(group_a, agg_exprs)
            .and_then(|b| b.build())
            .map_err(|e| df_error(e, span))?;
        let mut inner: Vec<Expr> = key_names.iter().map(|n| col(n).alias(n.clone())).collect();
        inner.push(col(BIN).alias(BIN));
        for (i, o) in outs.iter().enumerate() {
            let c = col(&format!("__agg{i}"));
            inner.push(
                match o.post {
                    Some(p) => p(c),
                    None => c,
                }
                .alias(format!("__agg{i}")),
            );
        }
        let plan = project_plan(plan, inner, span)?;

        // 2. One array per aggregation, by keys.
        let fill = spoor_functions::aggregate("kql_series_fill")
            .expect("spoor-functions has kql_series_fill");
        let mut series = Vec::new();
        for (i, o) in outs.iter().enumerate() {
            let value = to_dynamic(TExpr::new(col(&format!("__agg{i}")), o.ty));
            series.push(
                Expr::AggregateFunction(AggregateFunction::new_udf(
                    std::sync::Arc::clone(&fill),
                    vec![col(BIN), value, nbins.clone(), defaults[i].clone()],
                    false,
                    None,
                    vec![],
                    None,
                ))
                .alias(format!("__series{i}")),
            );
        }
        series.push(agg::count(lit(1i64)).alias(ROWS));
        let keys: Vec<Expr> = key_names.iter().map(|n| col(n)).collect();
        let mut builder = LogicalPlanBuilder::from(plan)
            .aggregate(keys, series)
            .map_err(|e| df_error(e, span))?;
        if !nonempty {
            builder = builder
                .filter(col(ROWS).gt(lit(0i64)))
                .map_err(|e| df_error(e, span))?;
        }
        let plan = builder.build().map_err(|e| df_error(e, span))?;

        // Keys, series, axis.
        let mut used = key_names.clone();
        let mut exprs: Vec<Expr> = key_names.iter().map(|n| col(n).alias(n.clone())).collect();
        let mut types = key_types;
        for (i, o) in outs.iter().enumerate() {
            let name = unique(&o.name, &mut used);
            let s = col(&format!("__series{i}"));
            let s = if nonempty {
                datafusion::functions::expr_fn::coalesce(vec![
                    s,
                    call("kql_repeat", vec![defaults[i].clone(), nbins.clone()]),
                ])
            } else {
                s
            };
            exprs.push(s.alias(name));
            types.push(KqlType::Dynamic);
        }
        let name = unique(&axis_name, &mut used);
        exprs.push(call("kql_series_axis", vec![from, step, nbins]).alias(name));
        types.push(KqlType::Dynamic);
        let plan = project_plan(plan, exprs, span)?;
        Ok(Tab {
            plan,
            types,
            render: tab.render,
            order: Vec::new(),
        })
    }

    /// A `from`/`to`/`step` value of make-series, checked against the axis type.
    fn series_bound(
        &mut self,
        e: &ast::Expr,
        axis: KqlType,
        is_step: bool,
    ) -> Result<Expr, Diagnostic> {
        let v = self.scalar(e, None)?;
        let ok = match (axis, is_step) {
            (KqlType::DateTime, false) => v.ty == KqlType::DateTime,
            (KqlType::DateTime | KqlType::TimeSpan, _) => v.ty == KqlType::TimeSpan,
            (t, _) if is_number(t) => is_number(v.ty),
            _ => true,
        };
        if !ok {
            let what = if is_step { "step" } else { "bound" };
            return Err(Diagnostic::new(
                format!(
                    "a make-series {what} over a {axis} axis cannot be a {}",
                    v.ty
                ),
                e.span,
            )
            .with_hint("e.g. `on TimeGenerated from ago(7d) to now() step 1h`"));
        }
        if is_step {
            let positive = match &v.expr {
                Expr::Literal(ScalarValue::DurationNanosecond(Some(n)), _)
                | Expr::Literal(ScalarValue::Int64(Some(n)), _) => *n > 0,
                Expr::Literal(ScalarValue::Int32(Some(n)), _) => *n > 0,
                Expr::Literal(ScalarValue::Float64(Some(n)), _) => *n > 0.0,
                _ => true,
            };
            if !positive {
                return Err(Diagnostic::new(
                    "the make-series step must be positive",
                    e.span,
                ));
            }
        }
        Ok(v.expr)
    }

    /// The series functions (`series_stats_dynamic`, `series_fill_linear`...); `None` when
    /// `c` is not one of them.
    pub(crate) fn series_function(
        &mut self,
        c: &ast::Call,
        span: Span,
        input: Option<&Tab>,
    ) -> Option<Result<TExpr, Diagnostic>> {
        const NAMES: &[&str] = &[
            "series_stats_dynamic",
            "series_fit_line_dynamic",
            "series_outliers",
            "series_fill_const",
            "series_fill_forward",
            "series_fill_backward",
            "series_fill_linear",
        ];
        let name = c.func.name.as_str();
        if spread_fields(name).is_some() {
            return Some(self.spread_in_expression(name, c, span, input));
        }
        if !NAMES.contains(&name) {
            return None;
        }
        Some(self.series_call(name, c, span, input))
    }

    /// A function that returns several columns, used inside an expression: Kusto allows only
    /// series_decompose_anomalies there (its first column, `ad_flag`, as in
    /// `extend Flags = series_decompose_anomalies(y)`).
    fn spread_in_expression(
        &mut self,
        name: &str,
        c: &ast::Call,
        span: Span,
        input: Option<&Tab>,
    ) -> Result<TExpr, Diagnostic> {
        if name != "series_decompose_anomalies" {
            let dynamic = match name {
                "series_stats" | "series_fit_line" => {
                    format!(", or {name}_dynamic(), which returns one bag")
                }
                _ => String::new(),
            };
            return Err(Diagnostic::new(
                format!("{name}() returns several columns and cannot be part of an expression"),
                span,
            )
            .with_hint(format!(
                "give it a column of its own: `extend {name}(...)` or `extend (a, b, ...) = {name}(...)`{dynamic}"
            )));
        }
        let bag = self.spread_bag(name, c, span, input)?;
        Ok(TExpr::new(
            call("kql_json_get", vec![bag, lit("ad_flag")]),
            KqlType::Dynamic,
        ))
    }

    /// When `expr` is a call to a function that returns several columns (`series_stats`,
    /// `series_fit_line`, `series_decompose`, `series_decompose_anomalies`,
    /// `series_periods_detect`): its value as one bag, and the columns to take from it.
    /// Kusto names them `<function>_<argument>_<column>` unless the query does; with fewer
    /// names than columns only the first ones are kept (the series_stats page: "If you provide
    /// a limited number of names, the table will show only those columns").
    pub(crate) fn spread(
        &mut self,
        names: &[ast::Ident],
        expr: &ast::Expr,
        input: &Tab,
        span: Span,
    ) -> Option<Result<Spread, Diagnostic>> {
        let ExprKind::Call(c) = &expr.kind else {
            return None;
        };
        let name = c.func.name.as_str();
        let fields = spread_fields(name)?;
        Some((|| {
            let bag = self.spread_bag(name, c, expr.span, Some(input))?;
            let columns = if names.is_empty() {
                let arg = c.args.first().and_then(derived_name).ok_or_else(|| {
                    Diagnostic::new(
                        format!("{name}() of an expression needs names for its columns"),
                        span,
                    )
                    .with_hint(format!("name them: `extend (a, b, ...) = {name}(...)`"))
                })?;
                fields
                    .iter()
                    .map(|(suffix, key, ty)| (format!("{name}_{arg}_{suffix}"), *key, *ty))
                    .collect()
            } else {
                if names.len() > fields.len() {
                    return Err(Diagnostic::new(
                        format!(
                            "{name}() returns {} columns, not {}",
                            fields.len(),
                            names.len()
                        ),
                        span,
                    )
                    .with_hint(format!(
                        "its columns are {}",
                        fields.iter().map(|f| f.0).collect::<Vec<_>>().join(", ")
                    )));
                }
                names
                    .iter()
                    .zip(fields)
                    .map(|(n, (_, key, ty))| (n.name.clone(), *key, *ty))
                    .collect()
            };
            Ok(Spread { bag, columns })
        })())
    }

    /// The bag that holds the columns of a function that returns several.
    fn spread_bag(
        &mut self,
        name: &str,
        c: &ast::Call,
        span: Span,
        input: Option<&Tab>,
    ) -> Result<Expr, Diagnostic> {
        let argc = c.args.len();
        let arity = |min: usize, max: usize| -> Result<(), Diagnostic> {
            if argc < min || argc > max {
                Err(Diagnostic::new(
                    format!("{name}() takes {min} to {max} argument(s), got {argc}"),
                    span,
                ))
            } else {
                Ok(())
            }
        };
        // An optional argument, or its default.
        let opt = |me: &mut Planner, i: usize, default: Expr| -> Result<Expr, Diagnostic> {
            match c.args.get(i) {
                Some(a) => Ok(me.scalar(a, input)?.expr),
                None => Ok(default),
            }
        };
        let text = |me: &mut Planner, i: usize, default: &str| -> Result<Expr, Diagnostic> {
            match c.args.get(i) {
                Some(a) => Ok(super::scalar::as_string(me.scalar(a, input)?)),
                None => Ok(lit(default.to_string())),
            }
        };
        // Test_points (forecasting) is not implemented: only 0 is accepted.
        let no_test_points = |me: &mut Planner, i: usize| -> Result<(), Diagnostic> {
            if let Some(a) = c.args.get(i) {
                let zero = matches!(
                    me.scalar(a, input)?.expr,
                    Expr::Literal(ScalarValue::Int64(Some(0)) | ScalarValue::Int32(Some(0)), _)
                );
                if !zero {
                    return Err(unsupported(format!("{name}() with test points"), a.span));
                }
            }
            Ok(())
        };
        if argc == 0 {
            return Err(Diagnostic::new(format!("{name}() needs a series"), span));
        }
        let series = to_dynamic(self.scalar(&c.args[0], input)?);
        Ok(match name {
            "series_stats" => {
                arity(1, 2)?;
                let mut args = vec![series];
                if argc == 2 {
                    let b = self.scalar(&c.args[1], input)?;
                    args.push(to_bool(b, c.args[1].span)?);
                }
                call("kql_series_stats_dynamic", args)
            }
            "series_fit_line" => {
                arity(1, 1)?;
                call("kql_series_fit_line_dynamic", vec![series])
            }
            "series_decompose_anomalies" => {
                // (Series, Threshold, Seasonality, Trend, Test_points, AD_method,
                // Seasonality_threshold)
                arity(1, 7)?;
                let threshold = opt(self, 1, lit(1.5f64))?;
                let seasonality = opt(self, 2, lit(-1i64))?;
                let trend = text(self, 3, "avg")?;
                no_test_points(self, 4)?;
                let method = text(self, 5, "ctukey")?;
                let season_threshold = opt(self, 6, lit(0.6f64))?;
                call(
                    "kql_series_decompose_anomalies",
                    vec![
                        series,
                        threshold,
                        seasonality,
                        trend,
                        method,
                        season_threshold,
                    ],
                )
            }
            "series_decompose" => {
                // (Series, Seasonality, Trend, Test_points, Seasonality_threshold)
                arity(1, 5)?;
                let seasonality = opt(self, 1, lit(-1i64))?;
                let trend = text(self, 2, "avg")?;
                no_test_points(self, 3)?;
                let season_threshold = opt(self, 4, lit(0.6f64))?;
                call(
                    "kql_series_decompose",
                    vec![series, seasonality, trend, season_threshold],
                )
            }
            "series_periods_detect" => {
                arity(4, 4)?;
                let min = self.scalar(&c.args[1], input)?.expr;
                let max = self.scalar(&c.args[2], input)?.expr;
                let count = self.scalar(&c.args[3], input)?.expr;
                call("kql_series_periods_detect", vec![series, min, max, count])
            }
            _ => unreachable!("listed in spread_fields"),
        })
    }

    fn series_call(
        &mut self,
        name: &str,
        c: &ast::Call,
        span: Span,
        input: Option<&Tab>,
    ) -> Result<TExpr, Diagnostic> {
        let argc = c.args.len();
        let arity = |min: usize, max: usize| -> Result<(), Diagnostic> {
            if argc < min || argc > max {
                Err(Diagnostic::new(
                    format!("{name}() takes {min} to {max} argument(s), got {argc}"),
                    span,
                ))
            } else {
                Ok(())
            }
        };
        let dyn_arg = |me: &mut Planner, i: usize| -> Result<Expr, Diagnostic> {
            Ok(to_dynamic(me.scalar(&c.args[i], input)?))
        };
        let d = |e: Expr| TExpr::new(e, KqlType::Dynamic);
        let null_text = || lit(ScalarValue::Utf8(None));
        Ok(match name {
            "series_stats_dynamic" => {
                arity(1, 2)?;
                let mut args = vec![dyn_arg(self, 0)?];
                if argc == 2 {
                    let b = self.scalar(&c.args[1], input)?;
                    args.push(to_bool(b, c.args[1].span)?);
                }
                d(call("kql_series_stats_dynamic", args))
            }
            "series_fit_line_dynamic" => {
                arity(1, 1)?;
                d(call("kql_series_fit_line_dynamic", vec![dyn_arg(self, 0)?]))
            }
            "series_outliers" => {
                // (series, kind, ignore_val, min_percentile, max_percentile)
                arity(1, 5)?;
                let series = dyn_arg(self, 0)?;
                let kind = match c.args.get(1) {
                    Some(a) => super::scalar::as_string(self.scalar(a, input)?),
                    None => lit("ctukey"),
                };
                let mut number = |i: usize, default: Option<f64>| -> Result<Expr, Diagnostic> {
                    match c.args.get(i) {
                        Some(a) => Ok(self.scalar(a, input)?.expr),
                        None => Ok(lit(ScalarValue::Float64(default))),
                    }
                };
                let ignore = number(2, None)?;
                let low = number(3, Some(10.0))?;
                let high = number(4, Some(90.0))?;
                d(call(
                    "kql_series_outliers",
                    vec![series, kind, ignore, low, high],
                ))
            }
            "series_fill_const" => {
                arity(2, 3)?;
                let mut args = vec![dyn_arg(self, 0)?, dyn_arg(self, 1)?];
                args.push(if argc == 3 {
                    dyn_arg(self, 2)?
                } else {
                    null_text()
                });
                d(call("kql_series_fill_const", args))
            }
            "series_fill_forward" | "series_fill_backward" => {
                arity(1, 2)?;
                let mut args = vec![dyn_arg(self, 0)?];
                if argc == 2 {
                    args.push(dyn_arg(self, 1)?);
                }
                d(call(&format!("kql_{name}"), args))
            }
            "series_fill_linear" => {
                arity(1, 4)?;
                let series = dyn_arg(self, 0)?;
                let ph = if argc > 1 {
                    dyn_arg(self, 1)?
                } else {
                    null_text()
                };
                let edges = if argc > 2 {
                    let b = self.scalar(&c.args[2], input)?;
                    to_bool(b, c.args[2].span)?
                } else {
                    lit(true)
                };
                let constant = if argc > 3 {
                    datafusion::functions::expr_fn::coalesce(vec![dyn_arg(self, 3)?, lit("null")])
                } else {
                    lit("0.0")
                };
                d(call(
                    "kql_series_fill_linear",
                    vec![series, ph, edges, constant],
                ))
            }
            _ => unreachable!("listed in series_function"),
        })
    }
}

/// A column assignment whose function returns several columns: the bag that holds them and,
/// for each column kept, (output name, key in the bag, KQL type).
pub(crate) struct Spread {
    pub bag: Expr,
    pub columns: Vec<(String, &'static str, KqlType)>,
}

impl Spread {
    /// The kept columns, read from `bag` (the column the bag was computed into).
    pub(crate) fn read(&self, bag: Expr) -> Vec<(String, TExpr)> {
        self.columns
            .iter()
            .map(|(name, key, ty)| {
                let field = TExpr::new(
                    call("kql_json_get", vec![bag.clone(), lit(*key)]),
                    KqlType::Dynamic,
                );
                (name.clone(), convert_to(field, *ty))
            })
            .collect()
    }
}

/// The columns of a function that returns several, in Kusto's order: (name suffix, key in the
/// bag the function computes, type). None for other functions.
fn spread_fields(name: &str) -> Option<&'static [(&'static str, &'static str, KqlType)]> {
    use KqlType::{Dynamic, Long, Real};
    Some(match name {
        // https://learn.microsoft.com/kusto/query/series-stats-function (the example's order)
        "series_stats" => &[
            ("min", "min", Real),
            ("min_idx", "min_idx", Long),
            ("max", "max", Real),
            ("max_idx", "max_idx", Long),
            ("avg", "avg", Real),
            ("stdev", "stdev", Real),
            ("variance", "variance", Real),
        ],
        // https://learn.microsoft.com/kusto/query/series-fit-line-function
        "series_fit_line" => &[
            ("rsquare", "rsquare", Real),
            ("slope", "slope", Real),
            ("variance", "variance", Real),
            ("rvariance", "rvariance", Real),
            ("interception", "interception", Real),
            ("line_fit", "line_fit", Dynamic),
        ],
        // https://learn.microsoft.com/kusto/query/series-decompose-anomalies-function
        "series_decompose_anomalies" => &[
            ("ad_flag", "ad_flag", Dynamic),
            ("ad_score", "ad_score", Dynamic),
            ("baseline", "baseline", Dynamic),
        ],
        // https://learn.microsoft.com/kusto/query/series-decompose-function
        "series_decompose" => &[
            ("baseline", "baseline", Dynamic),
            ("seasonal", "seasonal", Dynamic),
            ("trend", "trend", Dynamic),
            ("residual", "residual", Dynamic),
        ],
        // https://learn.microsoft.com/kusto/query/series-periods-detect-function: the example
        // names its columns series_periods_detect_y_periods and ..._periods_scores.
        "series_periods_detect" => &[
            ("periods", "periods", Dynamic),
            ("periods_scores", "scores", Dynamic),
        ],
        _ => return None,
    })
}
