//! `evaluate` plugins and `mv-apply`.
//!
//! `bag_unpack` and `pivot` take their output columns from the data. Kusto does the same when
//! no output schema is written: it "first runs the actual query to explore the schema"
//! (<https://learn.microsoft.com/kusto/query/bag-unpack-plugin>). spoor runs the plugin's input
//! through the engine's probe ([`super::PlanOptions::probe`]) while planning, then plans the
//! plugin as an ordinary projection or summarize over the columns found. Without a probe
//! (`spoor check`) the plan is made for checking only ([`super::PlannedQuery::needs_data`]).

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::{Expr, LogicalPlanBuilder};
use spoor_catalog::KqlType;
use spoor_core::{Diagnostic, Span};

use super::scalar::{as_string, call};
use super::{Planner, Tab, df_error, project_plan, unsupported};
use crate::syntax::ast::{self, BinaryOp, ExprKind, Literal};

/// The aggregations `pivot` accepts, with the conditional form that computes one pivoted
/// column (<https://learn.microsoft.com/kusto/query/pivot-plugin>).
const PIVOT_AGGREGATES: &[(&str, &str)] = &[
    ("count", "countif"),
    ("dcount", "dcountif"),
    ("sum", "sumif"),
    ("min", "minif"),
    ("max", "maxif"),
    ("avg", "avgif"),
    ("take_any", "take_anyif"),
    ("any", "take_anyif"),
    ("make_list", "make_list_if"),
    ("make_set", "make_set_if"),
    ("make_bag", "make_bag_if"),
    ("stdev", "stdevif"),
    ("variance", "varianceif"),
];

impl Planner {
    /// `evaluate plugin(...)`.
    pub(crate) fn evaluate(
        &mut self,
        tab: Tab,
        plugin: &ast::Call,
        span: Span,
    ) -> Result<Tab, Diagnostic> {
        match plugin.func.name.as_str() {
            "bag_unpack" => self.bag_unpack(tab, plugin, span),
            "pivot" => self.pivot(tab, plugin, span),
            "ipv4_lookup" => self.ipv4_lookup(tab, plugin, span),
            other => Err(unsupported(format!("evaluate {other}"), span)),
        }
    }

    /// The distinct values of `expr` over `tab`, as text (null stays None), read through the
    /// probe. None when planning without data; the planner then notes that the plan needs it.
    fn probe_distinct_text(
        &mut self,
        tab: &Tab,
        expr: Expr,
        plugin: &str,
        span: Span,
    ) -> Result<Option<Vec<Option<String>>>, Diagnostic> {
        let Some(probe) = self.options.probe.clone() else {
            self.needs_data.get_or_insert_with(|| {
                format!("evaluate {plugin} takes its output columns from the data")
            });
            return Ok(None);
        };
        let plan = project_plan(tab.plan.clone(), vec![expr.alias("__probe")], span)?;
        let plan = LogicalPlanBuilder::from(plan)
            .distinct()
            .and_then(|b| b.build())
            .map_err(|e| df_error(e, span))?;
        let batches = (probe.0)(plan).map_err(|e| {
            Diagnostic::new(
                format!("evaluate {plugin}: reading the data to learn its columns failed: {e}"),
                span,
            )
        })?;
        let mut out = Vec::new();
        for batch in batches {
            let column = datafusion::arrow::compute::cast(batch.column(0), &DataType::Utf8)
                .map_err(|e| df_error(e.into(), span))?;
            let text = column.as_string::<i32>();
            for i in 0..text.len() {
                out.push((!text.is_null(i)).then(|| text.value(i).to_string()));
            }
        }
        Ok(Some(out))
    }

    /// `T | invoke f(args)`: calls the function with `T` as its first (tabular) argument
    /// (<https://learn.microsoft.com/kusto/query/invoke-operator>).
    pub(crate) fn invoke(
        &mut self,
        tab: Tab,
        c: &ast::Call,
        span: Span,
    ) -> Result<Tab, Diagnostic> {
        const INPUT: &str = "__invoke_input";
        let Some(super::Binding::Function(def)) = self.lookup(&c.func.name).cloned() else {
            return Err(Diagnostic::new(
                format!("invoke needs a function; `{}` is not one", c.func.name),
                c.func.span,
            )
            .with_hint(
                "define it with `let f = (T:(*), ...) { T | ... };` or in a --functions folder",
            ));
        };
        if !matches!(
            def.params.first().map(|p| &p.ty),
            Some(ast::ParamType::Tabular { .. })
        ) {
            return Err(Diagnostic::new(
                format!(
                    "invoke passes the input table as the first argument of `{}`, whose first parameter is not tabular",
                    c.func.name
                ),
                c.func.span,
            ));
        }
        let mut call = c.clone();
        call.args.insert(
            0,
            ast::Expr {
                kind: ExprKind::Name(ast::Ident {
                    name: INPUT.to_string(),
                    span,
                }),
                span,
            },
        );
        self.scopes.push(std::collections::HashMap::from([(
            INPUT.to_string(),
            super::Binding::Tabular(tab),
        )]));
        let result = self.call_function(&def, &call, span, None);
        self.scopes.pop();
        match result? {
            super::Either::Tabular(t) => Ok(t),
            super::Either::Scalar(_) => Err(Diagnostic::new(
                format!("`{}` returns a value, not a table", c.func.name),
                span,
            )),
        }
    }

    /// `evaluate ipv4_lookup(LookupTable, SourceIPv4Key, IPv4LookupKey [, ExtraKey...]
    /// [, return_unmatched])`: the input rows joined with the lookup rows whose IPv4 key (an
    /// address or a CIDR range) holds the row's address, and whose extra keys are equal; the
    /// lookup's extra key columns are not repeated, as with `lookup`
    /// (<https://learn.microsoft.com/kusto/query/ipv4-lookup-plugin>).
    fn ipv4_lookup(&mut self, tab: Tab, c: &ast::Call, span: Span) -> Result<Tab, Diagnostic> {
        let usage = "e.g. `evaluate ipv4_lookup(Ranges, SrcIp, Network)` or `evaluate ipv4_lookup(Ranges, SrcIp, Network, return_unmatched = true)`";
        if c.args.len() < 3 {
            return Err(Diagnostic::new(
                "ipv4_lookup takes the lookup table, the input's IPv4 column and the lookup's IPv4 column",
                span,
            )
            .with_hint(usage));
        }
        let lookup_tab = self.tabular(&c.args[0])?;
        let name_of = |e: &ast::Expr| match &e.kind {
            ExprKind::Name(id) => Ok(id.clone()),
            _ => Err(Diagnostic::new("expected a column name", e.span).with_hint(usage)),
        };
        let source = name_of(&c.args[1])?;
        let key = name_of(&c.args[2])?;
        let mut unmatched = c
            .named_args
            .iter()
            .find(|a| a.name.name == "return_unmatched")
            .map(|a| &a.value);
        let mut extra: Vec<ast::Ident> = Vec::new();
        for (i, e) in c.args[3..].iter().enumerate() {
            match &e.kind {
                ExprKind::Literal(Literal::Bool(_)) if i + 4 == c.args.len() => unmatched = Some(e),
                _ => extra.push(name_of(e)?),
            }
        }
        let return_unmatched = match unmatched.map(|e| &e.kind) {
            None => false,
            Some(ExprKind::Literal(Literal::Bool(b))) => *b,
            Some(_) => {
                return Err(Diagnostic::new(
                    "return_unmatched must be true or false",
                    unmatched.map_or(span, |e| e.span),
                ));
            }
        };
        let missing = |t: &Tab, id: &ast::Ident, side: &str| {
            t.index_of(&id.name).map(|_| ()).ok_or_else(|| {
                Diagnostic::new(format!("the {side} has no column `{}`", id.name), id.span)
            })
        };
        missing(&tab, &source, "input")?;
        missing(&lookup_tab, &key, "lookup table")?;
        for k in &extra {
            missing(&tab, k, "input")?;
            missing(&lookup_tab, k, "lookup table")?;
        }
        let (lq, rq) = ("__input", "__lookup");
        let column = |q: &str, n: &str| Expr::Column(datafusion::common::Column::new(Some(q), n));
        let text = |q: &str, t: &Tab, n: &str| {
            as_string(super::TExpr::new(
                column(q, n),
                t.type_of(n).expect("checked above"),
            ))
        };
        let mut on = vec![call(
            "kql_ipv4_is_in_range",
            vec![
                text(lq, &tab, &source.name),
                text(rq, &lookup_tab, &key.name),
            ],
        )];
        for k in &extra {
            on.push(column(lq, &k.name).eq(column(rq, &k.name)));
        }
        let alias = |plan: &datafusion::logical_expr::LogicalPlan, q: &str| {
            LogicalPlanBuilder::from(plan.clone())
                .alias(q)
                .and_then(|b| b.build())
                .map_err(|e| df_error(e, span))
        };
        let join_type = if return_unmatched {
            datafusion::common::JoinType::Left
        } else {
            datafusion::common::JoinType::Inner
        };
        let joined = LogicalPlanBuilder::from(alias(&tab.plan, lq)?)
            .join_on(alias(&lookup_tab.plan, rq)?, join_type, on)
            .and_then(|b| b.build())
            .map_err(|e| df_error(e, span))?;
        let (exprs, types) =
            super::ops::joined_columns(Some((&tab, lq)), Some((&lookup_tab, rq)), &|n| {
                extra.iter().any(|k| k.name == n)
            });
        let plan = project_plan(joined, exprs, span)?;
        Ok(Tab {
            plan,
            types,
            render: tab.render,
            order: Vec::new(),
        })
    }

    /// `top-nested [N] of Expr [with others = V] by Aggregation [asc|desc], ...`: the top N
    /// values of the first expression by its aggregation, then within each of them the top
    /// values of the second, and so on; one row per kept combination, with each level's value
    /// and aggregate (`aggregated_<name>` unless named)
    /// (<https://learn.microsoft.com/kusto/query/top-nested-operator>). Ties at the cut are
    /// broken by the value, ascending.
    pub(crate) fn top_nested(
        &mut self,
        tab: Tab,
        levels: &[ast::TopNestedLevel],
        span: Span,
    ) -> Result<Tab, Diagnostic> {
        use datafusion::common::{Column, NullEquality};
        if let Some(w) = levels.iter().find_map(|l| l.with_others.as_ref()) {
            return Err(unsupported("top-nested `with others`", w.span));
        }
        // The levels' values as columns of the input.
        let mut of_names: Vec<String> = Vec::new();
        let mut assignments: Vec<ast::Assignment> = Vec::new();
        for (i, level) in levels.iter().enumerate() {
            let name = self.assignment_names(&level.of, i, &tab)?.remove(0);
            let mut a = level.of.clone();
            a.names = vec![ast::Ident {
                name: name.clone(),
                span: level.of.span,
            }];
            assignments.push(a);
            of_names.push(name);
        }
        let input = self.extend(tab, &assignments, span)?;
        let key = |name: &str, span: Span| ast::Assignment {
            names: Vec::new(),
            expr: ast::Expr {
                kind: ExprKind::Name(ast::Ident {
                    name: name.to_string(),
                    span,
                }),
                span,
            },
            span,
        };
        let build = |b: datafusion::error::Result<LogicalPlanBuilder>| {
            b.and_then(|b| b.build()).map_err(|e| df_error(e, span))
        };
        let mut result: Option<Tab> = None;
        for (i, level) in levels.iter().enumerate() {
            let agg_name = match level.by.name() {
                Some(n) => n.name.clone(),
                None => format!("aggregated_{}", of_names[i]),
            };
            let mut by = level.by.clone();
            by.names = vec![ast::Ident {
                name: agg_name.clone(),
                span: level.by.span,
            }];
            let keys: Vec<ast::Assignment> =
                of_names[..=i].iter().map(|n| key(n, level.span)).collect();
            let summed =
                self.summarize(input.clone(), std::slice::from_ref(&by), &keys, level.span)?;
            // Rank the values within their parent combination and keep the first N.
            let partition: Vec<Expr> = of_names[..i]
                .iter()
                .map(|n| Expr::Column(Column::new_unqualified(n)))
                .collect();
            let order = vec![
                Expr::Column(Column::new_unqualified(&agg_name))
                    .sort(!level.descending, !level.descending),
                Expr::Column(Column::new_unqualified(&of_names[i])).sort(true, true),
            ];
            let rank = datafusion::logical_expr::ExprFunctionExt::order_by(
                datafusion::logical_expr::ExprFunctionExt::partition_by(
                    datafusion::functions_window::expr_fn::row_number(),
                    partition,
                ),
                order,
            )
            .build()
            .map_err(|e| df_error(e, span))?
            .alias("__rank");
            let ranked = build(LogicalPlanBuilder::from(summed.plan.clone()).window(vec![rank]))?;
            let kept = match &level.count {
                Some(n) => {
                    let n = self.const_count(n)? as u64;
                    build(
                        LogicalPlanBuilder::from(ranked).filter(
                            Expr::Column(Column::new_unqualified("__rank"))
                                .lt_eq(datafusion::logical_expr::lit(n)),
                        ),
                    )?
                }
                None => ranked,
            };
            let mut names = of_names[..=i].to_vec();
            names.push(agg_name.clone());
            let exprs: Vec<Expr> = names
                .iter()
                .map(|n| Expr::Column(Column::new_unqualified(n)))
                .collect();
            let kept = project_plan(kept, exprs, span)?;
            let kept_types: Vec<KqlType> = names
                .iter()
                .map(|n| summed.type_of(n).expect("summarized column"))
                .collect();
            result = Some(match result {
                None => Tab::new(kept, kept_types),
                Some(parent) => {
                    // Keep only the combinations under a kept parent; null keys match.
                    let (pq, cq) = ("__parent", "__level");
                    let parent_plan =
                        build(LogicalPlanBuilder::from(parent.plan.clone()).alias(pq))?;
                    let child_plan = build(LogicalPlanBuilder::from(kept).alias(cq))?;
                    let lk: Vec<Column> = of_names[..i]
                        .iter()
                        .map(|n| Column::new(Some(pq), n))
                        .collect();
                    let rk: Vec<Column> = of_names[..i]
                        .iter()
                        .map(|n| Column::new(Some(cq), n))
                        .collect();
                    let joined = build(LogicalPlanBuilder::from(parent_plan).join_detailed(
                        child_plan,
                        datafusion::common::JoinType::Inner,
                        (lk, rk),
                        None,
                        NullEquality::NullEqualsNull,
                    ))?;
                    let mut exprs: Vec<Expr> = parent
                        .names()
                        .iter()
                        .map(|n| Expr::Column(Column::new(Some(pq), n)).alias(n.clone()))
                        .collect();
                    let mut types = parent.types.clone();
                    exprs.push(
                        Expr::Column(Column::new(Some(cq), &of_names[i]))
                            .alias(of_names[i].clone()),
                    );
                    exprs.push(
                        Expr::Column(Column::new(Some(cq), &agg_name)).alias(agg_name.clone()),
                    );
                    types.push(kept_types[i]);
                    types.push(kept_types[i + 1]);
                    Tab::new(project_plan(joined, exprs, span)?, types)
                }
            });
        }
        result.ok_or_else(|| Diagnostic::new("top-nested needs at least one level", span))
    }

    /// `evaluate bag_unpack(Column [, OutputColumnPrefix] [, columnsConflict]
    /// [, ignoredProperties])`: the input without `Column`, then one column per top-level slot
    /// of its bags (sorted by name, as Kusto's examples show), typed as the slot's values when
    /// they all have one type and `dynamic` otherwise.
    fn bag_unpack(&mut self, tab: Tab, c: &ast::Call, span: Span) -> Result<Tab, Diagnostic> {
        let usage = "e.g. `evaluate bag_unpack(Properties)` or `evaluate bag_unpack(Properties, 'p_', columnsConflict='keep_source')`";
        let column = match c.args.first().map(|a| &a.kind) {
            Some(ExprKind::Name(id)) => id.clone(),
            _ => {
                return Err(Diagnostic::new(
                    "bag_unpack takes the dynamic column to unpack",
                    c.args.first().map_or(span, |a| a.span),
                )
                .with_hint(usage));
            }
        };
        let index = tab.index_of(&column.name).ok_or_else(|| {
            Diagnostic::new(format!("unknown column `{}`", column.name), column.span)
        })?;
        let argument = |position: usize, name: &str| {
            c.named_args
                .iter()
                .find(|a| a.name.name.eq_ignore_ascii_case(name))
                .map(|a| &a.value)
                .or_else(|| c.args.get(position))
        };
        let prefix = match argument(1, "OutputColumnPrefix") {
            Some(e) => string_literal(e, "the output column prefix")?,
            None => String::new(),
        };
        let conflict = match argument(2, "columnsConflict") {
            Some(e) => string_literal(e, "columnsConflict")?,
            None => "error".to_string(),
        };
        if !["error", "replace_source", "keep_source"].contains(&conflict.as_str()) {
            return Err(Diagnostic::new(
                format!(
                    "columnsConflict must be 'error', 'replace_source' or 'keep_source', not '{conflict}'"
                ),
                argument(2, "columnsConflict").map_or(span, |e| e.span),
            ));
        }
        let ignored: Vec<String> = match argument(3, "ignoredProperties") {
            Some(e) => match &e.kind {
                ExprKind::Literal(Literal::Dynamic(serde_json::Value::Array(items))) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                _ => {
                    return Err(Diagnostic::new(
                        "ignoredProperties must be a dynamic array of names, e.g. dynamic(['a', 'b'])",
                        e.span,
                    ));
                }
            },
            None => Vec::new(),
        };
        let bag = super::TExpr::new(tab.column_at(index), tab.types[index]);
        let bag_text = match bag.ty {
            KqlType::Dynamic => bag.expr,
            KqlType::String => call("kql_parse_json", vec![as_string(bag)]),
            other => {
                return Err(Diagnostic::new(
                    format!(
                        "bag_unpack unpacks a dynamic column; `{}` is {other}",
                        column.name
                    ),
                    column.span,
                ));
            }
        };
        let bags = self.probe_distinct_text(&tab, bag_text, "bag_unpack", span)?;
        // Slot name → the one type of its non-null values (Dynamic when they differ); None
        // while only nulls were seen.
        let mut slots: BTreeMap<String, Option<KqlType>> = BTreeMap::new();
        for text in bags.unwrap_or_default().into_iter().flatten() {
            let Ok(serde_json::Value::Object(map)) = serde_json::from_str(&text) else {
                continue; // not a bag: it unpacks to nothing
            };
            for (key, value) in map {
                if ignored.contains(&key) {
                    continue;
                }
                let seen = slots.entry(key).or_insert(None);
                *seen = match (*seen, json_type(&value)) {
                    (s, None) => s,
                    (None, t) => t,
                    (Some(a), Some(b)) if a == b => Some(a),
                    _ => Some(KqlType::Dynamic),
                };
            }
        }
        let names = tab.names();
        let mut kept: Vec<usize> = (0..names.len()).filter(|&i| i != index).collect();
        let mut new_columns: Vec<(String, String, KqlType)> = Vec::new();
        for (key, ty) in slots {
            let name = format!("{prefix}{key}");
            if let Some(existing) = kept.iter().position(|&i| names[i] == name) {
                match conflict.as_str() {
                    "replace_source" => {
                        kept.remove(existing);
                    }
                    "keep_source" => continue,
                    _ => {
                        return Err(Diagnostic::new(
                            format!(
                                "bag_unpack: the bags have a slot `{key}`, and the input already has a column `{name}`"
                            ),
                            span,
                        )
                        .with_hint("pass columnsConflict='replace_source' or 'keep_source', or an output column prefix"));
                    }
                }
            }
            new_columns.push((name, key, ty.unwrap_or(KqlType::Dynamic)));
        }
        let mut exprs: Vec<Expr> = kept
            .iter()
            .map(|&i| tab.column_at(i).alias(names[i].clone()))
            .collect();
        let mut types: Vec<KqlType> = kept.iter().map(|&i| tab.types[i]).collect();
        for (name, key, ty) in new_columns {
            // `Column['key']`, converted as tostring/tolong/... would: the planner's own rules.
            let slot = ast::Expr {
                kind: ExprKind::Index {
                    target: Box::new(ast::Expr {
                        kind: ExprKind::Name(column.clone()),
                        span: column.span,
                    }),
                    index: Box::new(literal(Literal::String(key), span)),
                },
                span,
            };
            let value = match ty {
                KqlType::String => call_ast("tostring", vec![slot], span),
                KqlType::Long => call_ast("tolong", vec![slot], span),
                KqlType::Real => call_ast("toreal", vec![slot], span),
                KqlType::Bool => call_ast("tobool", vec![slot], span),
                _ => slot,
            };
            let v = self.scalar(&value, Some(&tab))?;
            exprs.push(v.expr.alias(name));
            types.push(v.ty);
        }
        let plan = project_plan(tab.plan.clone(), exprs, span)?;
        let order = tab
            .order
            .iter()
            .filter(|(c, _, _)| plan.schema().fields().iter().any(|f| f.name() == c))
            .cloned()
            .collect();
        Ok(Tab {
            plan,
            types,
            render: tab.render,
            order,
        })
    }

    /// `evaluate pivot(PivotColumn [, Aggregation(Column)] [, Column1, ...])`: one row per
    /// group of the listed columns (by default every column but the pivot and aggregated ones),
    /// one column per distinct value of `PivotColumn` holding the aggregation over the group's
    /// rows with that value (`count()` by default). Columns are in sorted order; rows whose
    /// pivot value is null or empty make no column (Kusto cannot name one).
    fn pivot(&mut self, tab: Tab, c: &ast::Call, span: Span) -> Result<Tab, Diagnostic> {
        let Some(pivot) = c.args.first() else {
            return Err(Diagnostic::new("pivot takes the column to pivot on", span)
                .with_hint("e.g. `evaluate pivot(Key, take_any(Value), Computer)`"));
        };
        let mut rest = c.args[1..].iter().peekable();
        let aggregation = match rest.peek().map(|e| &e.kind) {
            Some(ExprKind::Call(call))
                if PIVOT_AGGREGATES
                    .iter()
                    .any(|(name, _)| *name == call.func.name) =>
            {
                rest.next();
                Some(call.clone())
            }
            Some(ExprKind::Call(call)) => {
                return Err(Diagnostic::new(
                    format!("pivot cannot aggregate with {}()", call.func.name),
                    call.func.span,
                )
                .with_hint(format!(
                    "pivot takes {}",
                    PIVOT_AGGREGATES
                        .iter()
                        .map(|(n, _)| format!("{n}()"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            _ => None,
        };
        let mut groups: Vec<ast::Ident> = Vec::new();
        for e in rest {
            match &e.kind {
                ExprKind::Name(id) => groups.push(id.clone()),
                _ => {
                    return Err(Diagnostic::new(
                        "pivot's columns after the aggregation must be column names",
                        e.span,
                    ));
                }
            }
        }
        if groups.is_empty() {
            // Every column but the pivoted and the aggregated ones.
            let mut used: Vec<String> = Vec::new();
            collect_names(pivot, &mut used);
            if let Some(a) = &aggregation {
                a.args.iter().for_each(|e| collect_names(e, &mut used));
            }
            groups = tab
                .names()
                .into_iter()
                .filter(|n| !used.contains(n))
                .map(|name| ast::Ident { name, span })
                .collect();
        }
        let key = self.scalar(pivot, Some(&tab))?;
        let values = self.probe_distinct_text(&tab, as_string(key), "pivot", span)?;
        let mut values: Vec<String> = values
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .filter(|v| !v.is_empty())
            .collect();
        values.sort();
        let (function, args) = match &aggregation {
            Some(a) => (a.func.name.as_str(), a.args.clone()),
            None => ("count", Vec::new()),
        };
        let conditional = PIVOT_AGGREGATES
            .iter()
            .find(|(name, _)| *name == function)
            .map(|(_, cond)| *cond)
            .expect("checked above");
        let aggregates: Vec<ast::Assignment> = values
            .into_iter()
            .map(|value| {
                // tostring(PivotColumn) == "value"
                let matches = ast::Expr {
                    kind: ExprKind::Binary {
                        op: BinaryOp::Eq,
                        left: Box::new(call_ast("tostring", vec![pivot.clone()], span)),
                        right: Box::new(literal(Literal::String(value.clone()), span)),
                    },
                    span,
                };
                let mut call_args = args.clone();
                call_args.push(matches);
                ast::Assignment {
                    names: vec![ast::Ident { name: value, span }],
                    expr: call_ast(conditional, call_args, span),
                    span,
                }
            })
            .collect();
        let by: Vec<ast::Assignment> = groups
            .into_iter()
            .map(|id| ast::Assignment {
                names: Vec::new(),
                span: id.span,
                expr: ast::Expr {
                    span: id.span,
                    kind: ExprKind::Name(id),
                },
            })
            .collect();
        self.summarize(tab, &aggregates, &by, span)
    }
}

impl Planner {
    /// `mv-apply items on (subquery)`: each row's arrays are expanded into a small table, the
    /// subquery runs over it, and its rows come out with the row's other columns
    /// (<https://learn.microsoft.com/kusto/query/mv-apply-operator>). Planned over all rows
    /// at once: rows are numbered, expanded, and the subquery's summarize groups by that number;
    /// its result is joined back to the row's other columns.
    pub(crate) fn mv_apply(
        &mut self,
        tab: Tab,
        params: &[ast::NamedArg],
        items: &[ast::ExpandItem],
        limit: Option<&ast::Expr>,
        subquery: &ast::Expr,
        span: Span,
    ) -> Result<Tab, Diagnostic> {
        const ROW: &str = "__mv_apply_row";
        let ExprKind::Pipe { operators, .. } = &subquery.kind else {
            return Err(Diagnostic::new(
                "mv-apply's subquery must be a pipeline of operators, e.g. `on (summarize make_bag(x))`",
                subquery.span,
            ));
        };
        let window = LogicalPlanBuilder::from(tab.plan.clone())
            .window(vec![
                datafusion::functions_window::expr_fn::row_number().alias(ROW),
            ])
            .and_then(|b| b.build())
            .map_err(|e| df_error(e, span))?;
        let mut types = tab.types.clone();
        types.push(KqlType::Long);
        let numbered = Tab {
            plan: window,
            types,
            render: tab.render.clone(),
            order: Vec::new(),
        };
        let expanded_names: Vec<String> = items
            .iter()
            .enumerate()
            .map(|(i, item)| match (&item.name, &item.expr.kind) {
                (Some(n), _) => n.name.clone(),
                (None, ExprKind::Name(n)) => n.name.clone(),
                (None, _) => super::ops::derived_name(&item.expr)
                    .unwrap_or_else(|| format!("Column{}", i + 1)),
            })
            .collect();
        let expanded_input = self.mv_expand(numbered.clone(), params, items, limit, span)?;
        let cur = expanded_input.clone();
        let row_ident = ast::Ident {
            name: ROW.to_string(),
            span,
        };
        let row_assignment = ast::Assignment {
            names: Vec::new(),
            expr: ast::Expr {
                kind: ExprKind::Name(row_ident),
                span,
            },
            span,
        };
        let (cur, reattach, one_row_each) =
            self.mv_apply_subquery(cur, operators, Some(&row_assignment))?;
        if !reattach {
            let keep: Vec<usize> = (0..cur.types.len())
                .filter(|&i| cur.schema().field(i).name() != ROW)
                .collect();
            return super::ops::reselect(cur, &keep, span);
        }
        // Join the subquery's rows back to the other columns of the row they came from. A
        // summarize without `by` gives one row even for an empty subtable in Kusto: keep those
        // rows (a left join; the aggregates are then null).
        let (lq, rq) = ("__row", "__applied");
        let left = LogicalPlanBuilder::from(numbered.plan.clone())
            .alias(lq)
            .and_then(|b| b.build())
            .map_err(|e| df_error(e, span))?;
        let right = LogicalPlanBuilder::from(cur.plan.clone())
            .alias(rq)
            .and_then(|b| b.build())
            .map_err(|e| df_error(e, span))?;
        let join_type = if one_row_each {
            datafusion::common::JoinType::Left
        } else {
            datafusion::common::JoinType::Inner
        };
        let joined = LogicalPlanBuilder::from(left)
            .join(
                right,
                join_type,
                (
                    vec![datafusion::common::Column::new(Some(lq), ROW)],
                    vec![datafusion::common::Column::new(Some(rq), ROW)],
                ),
                None,
            )
            .and_then(|b| b.build())
            .map_err(|e| df_error(e, span))?;
        // For the rows whose subtable is empty, the values a summarize gives over no rows
        // (count() 0, make_bag() {}...): the same subquery planned over an empty input.
        let eq = "__empty";
        let joined = if one_row_each {
            let none = LogicalPlanBuilder::from(expanded_input.plan.clone())
                .filter(datafusion::logical_expr::lit(false))
                .and_then(|b| b.build())
                .map_err(|e| df_error(e, span))?;
            let none = Tab {
                plan: none,
                ..expanded_input.clone()
            };
            let (empty, _, _) = self.mv_apply_subquery(none, operators, None)?;
            let empty = LogicalPlanBuilder::from(empty.plan)
                .alias(eq)
                .and_then(|b| b.build())
                .map_err(|e| df_error(e, span))?;
            LogicalPlanBuilder::from(joined)
                .cross_join(empty)
                .and_then(|b| b.build())
                .map_err(|e| df_error(e, span))?
        } else {
            joined
        };
        let mut exprs = Vec::new();
        let mut types = Vec::new();
        let mut used: Vec<String> = Vec::new();
        for (i, n) in numbered.names().into_iter().enumerate() {
            if n == ROW || expanded_names.contains(&n) {
                continue;
            }
            exprs
                .push(Expr::Column(datafusion::common::Column::new(Some(lq), &n)).alias(n.clone()));
            types.push(numbered.types[i]);
            used.push(n);
        }
        for (i, n) in cur.names().into_iter().enumerate() {
            if n == ROW || used.contains(&n) {
                continue;
            }
            let applied = Expr::Column(datafusion::common::Column::new(Some(rq), &n));
            let value = if one_row_each {
                datafusion::functions::expr_fn::coalesce(vec![
                    applied,
                    Expr::Column(datafusion::common::Column::new(Some(eq), &n)),
                ])
            } else {
                applied
            };
            exprs.push(value.alias(n.clone()));
            types.push(cur.types[i]);
            used.push(n);
        }
        let plan = project_plan(joined, exprs, span)?;
        Ok(Tab {
            plan,
            types,
            render: tab.render,
            order: Vec::new(),
        })
    }

    /// Plans mv-apply's subquery over the expanded rows. With `row`, every summarize also groups
    /// by the row number. Returns the result, whether it lost the row's other columns
    /// (summarize, project), and whether it ends in a summarize without `by` (one row per
    /// subtable, even an empty one).
    fn mv_apply_subquery(
        &mut self,
        mut cur: Tab,
        operators: &[ast::Operator],
        row: Option<&ast::Assignment>,
    ) -> Result<(Tab, bool, bool), Diagnostic> {
        let mut reattach = false;
        let mut one_row_each = false;
        for op in operators {
            match &op.kind {
                ast::OperatorKind::Where { .. } | ast::OperatorKind::Extend { .. } => {
                    cur = self.pipe_operator(cur, op)?;
                    one_row_each = false;
                }
                ast::OperatorKind::Project { columns } => {
                    let mut columns = columns.clone();
                    columns.extend(row.cloned());
                    cur = self.project(&cur, &columns, op.span, false)?;
                    reattach = true;
                }
                ast::OperatorKind::Summarize { aggregates, by, .. } => {
                    let mut keys: Vec<ast::Assignment> = row.into_iter().cloned().collect();
                    keys.extend(by.iter().cloned());
                    cur = self.summarize(cur, aggregates, &keys, op.span)?;
                    reattach = true;
                    one_row_each = by.is_empty();
                }
                _ => {
                    let text = format!("{:?}", op.kind);
                    let name = text
                        .split([' ', '{', '('])
                        .next()
                        .unwrap_or("this operator");
                    return Err(unsupported(
                        format!("mv-apply with {name} in its subquery"),
                        op.span,
                    ));
                }
            }
        }
        Ok((cur, reattach, one_row_each))
    }
}

/// The KQL type of a JSON value as a bag slot; None for null.
fn json_type(v: &serde_json::Value) -> Option<KqlType> {
    Some(match v {
        serde_json::Value::Null => return None,
        serde_json::Value::Bool(_) => KqlType::Bool,
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => KqlType::Long,
        serde_json::Value::Number(_) => KqlType::Real,
        serde_json::Value::String(_) => KqlType::String,
        serde_json::Value::Array(_) | serde_json::Value::Object(_) => KqlType::Dynamic,
    })
}

fn string_literal(e: &ast::Expr, what: &str) -> Result<String, Diagnostic> {
    match &e.kind {
        ExprKind::Literal(Literal::String(s)) => Ok(s.clone()),
        _ => Err(Diagnostic::new(
            format!("{what} must be a string literal"),
            e.span,
        )),
    }
}

fn literal(l: Literal, span: Span) -> ast::Expr {
    ast::Expr {
        kind: ExprKind::Literal(l),
        span,
    }
}

fn call_ast(name: &str, args: Vec<ast::Expr>, span: Span) -> ast::Expr {
    ast::Expr {
        kind: ExprKind::Call(ast::Call {
            func: ast::Ident {
                name: name.to_string(),
                span,
            },
            args,
            named_args: Vec::new(),
        }),
        span,
    }
}

/// The column names an expression reads (bare names only).
fn collect_names(e: &ast::Expr, out: &mut Vec<String>) {
    match &e.kind {
        ExprKind::Name(id) => out.push(id.name.clone()),
        ExprKind::Call(c) => c.args.iter().for_each(|a| collect_names(a, out)),
        ExprKind::Member { target, .. } => collect_names(target, out),
        ExprKind::Index { target, index } => {
            collect_names(target, out);
            collect_names(index, out);
        }
        ExprKind::Unary { operand, .. } => collect_names(operand, out),
        ExprKind::Binary { left, right, .. } => {
            collect_names(left, out);
            collect_names(right, out);
        }
        _ => {}
    }
}
