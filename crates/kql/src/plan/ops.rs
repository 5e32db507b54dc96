//! The pipe operators that transform an input table.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Column, JoinType};
use datafusion::functions_aggregate::expr_fn::first_value;
use datafusion::logical_expr::{Expr, LogicalPlanBuilder, SortExpr, cast, lit};
use spoor_catalog::KqlType;
use spoor_core::{Diagnostic, Span};

use super::scalar::{as_string, call, to_bool};
use super::tabular::{glob, join_type};
use super::{Planner, TExpr, Tab, df_error, project_plan, unsupported};
use crate::syntax::ast::{self, ExprKind, OperatorKind, ParseSegment};

impl Planner {
    pub(crate) fn pipe_operator(
        &mut self,
        tab: Tab,
        op: &ast::Operator,
    ) -> Result<Tab, Diagnostic> {
        let span = op.span;
        let build = |b: datafusion::error::Result<LogicalPlanBuilder>| -> Result<datafusion::logical_expr::LogicalPlan, Diagnostic> {
            b.and_then(|b| b.build()).map_err(|e| df_error(e, span))
        };
        match &op.kind {
            OperatorKind::Where { predicate } => {
                let p = self.scalar(predicate, Some(&tab))?;
                let p = to_bool(p, predicate.span)?;
                let plan = build(LogicalPlanBuilder::from(tab.plan.clone()).filter(p))?;
                Ok(Tab { plan, ..tab })
            }
            OperatorKind::Extend { columns } => self.extend(tab, columns, span),
            OperatorKind::Project { columns } => self.project(&tab, columns, span, false),
            OperatorKind::ProjectAway { columns } => {
                let drop = self.select_columns(&tab, columns, true)?;
                let keep: Vec<usize> = (0..tab.types.len()).filter(|i| !drop.contains(i)).collect();
                reselect(tab, &keep, span)
            }
            OperatorKind::ProjectKeep { columns } => {
                let keep = self.select_columns(&tab, columns, true)?;
                let mut keep_sorted = keep;
                keep_sorted.sort_unstable();
                reselect(tab, &keep_sorted, span)
            }
            OperatorKind::ProjectRename { renames } => {
                let mut names = tab.names();
                for r in renames {
                    let i = tab
                        .index_of(&r.old.name)
                        .ok_or_else(|| self.no_column(&tab, &r.old))?;
                    names[i] = r.new.name.clone();
                }
                let exprs: Vec<Expr> = (0..names.len())
                    .map(|i| tab.column_at(i).alias(names[i].clone()))
                    .collect();
                let plan = build(LogicalPlanBuilder::from(tab.plan.clone()).project(exprs))?;
                // The order's keys follow their columns' new names.
                let old = tab.names();
                let order = tab
                    .order
                    .iter()
                    .map(|(c, d, n)| {
                        (
                            old.iter()
                                .position(|o| o == c)
                                .map_or(c.clone(), |i| names[i].clone()),
                            *d,
                            *n,
                        )
                    })
                    .collect();
                Ok(Tab { plan, order, ..tab })
            }
            OperatorKind::ProjectReorder { columns } => {
                let mut order: Vec<usize> = Vec::new();
                for c in columns {
                    let mut matched =
                        self.select_columns(&tab, std::slice::from_ref(&c.column), true)?;
                    if let Some(desc) = c.descending {
                        let names = tab.names();
                        matched.sort_by(|a, b| names[*a].cmp(&names[*b]));
                        if desc {
                            matched.reverse();
                        }
                    }
                    for m in matched {
                        if !order.contains(&m) {
                            order.push(m);
                        }
                    }
                }
                for i in 0..tab.types.len() {
                    if !order.contains(&i) {
                        order.push(i);
                    }
                }
                reselect(tab, &order, span)
            }
            OperatorKind::Summarize { aggregates, by, .. } => {
                self.summarize(tab, aggregates, by, span)
            }
            OperatorKind::Count => self.count(tab, span),
            OperatorKind::Distinct { columns, .. } => self.distinct(tab, columns, span),
            OperatorKind::Sort { keys, .. } => {
                let sort = self.sort_keys(&tab, keys)?;
                let plan = build(LogicalPlanBuilder::from(tab.plan.clone()).sort(sort))?;
                Ok(Tab {
                    plan,
                    order: order_of(keys),
                    ..tab
                })
            }
            OperatorKind::Take { count } => {
                let n = self.const_count(count)?;
                let plan = build(LogicalPlanBuilder::from(tab.plan.clone()).limit(0, Some(n)))?;
                Ok(Tab { plan, ..tab })
            }
            OperatorKind::Top { count, by } => {
                let n = self.const_count(count)?;
                let sort = self.sort_keys(&tab, std::slice::from_ref(by))?;
                let plan = build(
                    LogicalPlanBuilder::from(tab.plan.clone())
                        .sort(sort)
                        .and_then(|b| b.limit(0, Some(n))),
                )?;
                Ok(Tab {
                    plan,
                    order: order_of(std::slice::from_ref(by)),
                    ..tab
                })
            }
            OperatorKind::Join {
                kind, right, on, ..
            } => {
                let kind = kind
                    .as_ref()
                    .map(|k| k.name.as_str())
                    .unwrap_or("innerunique");
                self.join(tab, kind, right, on, span, false)
            }
            OperatorKind::Lookup {
                kind, right, on, ..
            } => {
                let kind = kind
                    .as_ref()
                    .map(|k| k.name.as_str())
                    .unwrap_or("leftouter");
                if kind != "leftouter" && kind != "inner" {
                    return Err(Diagnostic::new(
                        format!("lookup kind must be leftouter or inner, not `{kind}`"),
                        span,
                    ));
                }
                self.join(tab, kind, right, on, span, true)
            }
            OperatorKind::MvExpand {
                params,
                items,
                limit,
            } => self.mv_expand(tab, params, items, limit.as_ref(), span),
            OperatorKind::Parse(p) => self.parse_op(tab, p, false, span),
            OperatorKind::ParseWhere(p) => self.parse_op(tab, p, true, span),
            OperatorKind::Render { chart, .. } => Ok(Tab {
                render: Some(chart.name.clone()),
                ..tab
            }),
            OperatorKind::Serialize { columns } => {
                if columns.is_empty() {
                    Ok(tab)
                } else {
                    self.extend(tab, columns, span)
                }
            }
            OperatorKind::As { .. } => Err(unsupported("the `as` operator", span)),
            OperatorKind::Invoke { call } => self.invoke(tab, call, span),
            OperatorKind::GetSchema => Err(unsupported("getschema", span)),
            OperatorKind::Sample { .. } => Err(unsupported("sample", span)),
            OperatorKind::SampleDistinct { .. } => Err(unsupported("sample-distinct", span)),
            OperatorKind::TopNested { levels } => self.top_nested(tab, levels, span),
            OperatorKind::TopHitters { .. } => Err(unsupported("top-hitters", span)),
            OperatorKind::MvApply {
                params,
                items,
                limit,
                subquery,
            } => self.mv_apply(tab, params, items, limit.as_ref(), subquery, span),
            OperatorKind::ParseKv { .. } => Err(unsupported("parse-kv", span)),
            OperatorKind::MakeSeries { .. } => self.make_series(tab, &op.kind, span),
            OperatorKind::Evaluate { plugin, .. } => self.evaluate(tab, plugin, span),
            OperatorKind::Fork { .. } => Err(unsupported("fork", span)),
            OperatorKind::Facet { .. } => Err(unsupported("facet", span)),
            OperatorKind::Consume { .. } => Ok(tab),
            OperatorKind::Reduce { .. } => Err(unsupported("reduce", span)),
            OperatorKind::Union { .. }
            | OperatorKind::Print { .. }
            | OperatorKind::Datatable { .. }
            | OperatorKind::Range { .. }
            | OperatorKind::ExternalData { .. }
            | OperatorKind::Search { .. }
            | OperatorKind::Find { .. } => {
                unreachable!("source operators are planned by Planner::operator")
            }
        }
    }

    /// `tab` with a null dynamic column `name` added (plans made for checking only).
    fn with_placeholder(&self, tab: Tab, name: &str, span: Span) -> Result<Tab, Diagnostic> {
        let mut exprs: Vec<Expr> = (0..tab.types.len()).map(|i| tab.column_at(i)).collect();
        exprs.push(super::scalar::null_of(KqlType::Dynamic).alias(name));
        let mut types = tab.types.clone();
        types.push(KqlType::Dynamic);
        Ok(Tab {
            plan: project_plan(tab.plan, exprs, span)?,
            types,
            render: tab.render,
            order: tab.order,
        })
    }

    fn no_column(&self, tab: &Tab, id: &ast::Ident) -> Diagnostic {
        let names = tab.names();
        let mut d = Diagnostic::new(format!("unknown column `{}`", id.name), id.span);
        if let Some(s) = super::did_you_mean(&id.name, names.iter().map(String::as_str)) {
            d = d.with_hint(format!("did you mean `{s}`?"));
        }
        d
    }

    /// Indices of the columns named or matched by patterns (`project-away`, `project-keep`).
    fn select_columns(
        &self,
        tab: &Tab,
        columns: &[ast::Expr],
        strict: bool,
    ) -> Result<Vec<usize>, Diagnostic> {
        let names = tab.names();
        let mut out = Vec::new();
        for c in columns {
            match &c.kind {
                ExprKind::Name(id) => match tab.index_of(&id.name) {
                    Some(i) => out.push(i),
                    None if strict => return Err(self.no_column(tab, id)),
                    None => {}
                },
                ExprKind::NamePattern(p) => {
                    let re = glob(p);
                    out.extend(
                        names
                            .iter()
                            .enumerate()
                            .filter(|(_, n)| re.is_match(n))
                            .map(|(i, _)| i),
                    );
                }
                ExprKind::Star => out.extend(0..names.len()),
                _ => {
                    return Err(Diagnostic::new(
                        "expected a column name or a pattern such as Col*",
                        c.span,
                    ));
                }
            }
        }
        Ok(out)
    }

    pub(crate) fn extend(
        &mut self,
        mut tab: Tab,
        columns: &[ast::Assignment],
        span: Span,
    ) -> Result<Tab, Diagnostic> {
        // Each new column can use the ones before it (`extend a = 1, b = a + 1`).
        for (n, a) in columns.iter().enumerate() {
            // prev()/next()/row_number() become window columns the expression reads.
            let before = tab.types.len();
            let (windowed, expr) = self.with_windows(tab, &a.expr, a.span)?;
            tab = windowed;
            let new: Vec<(String, TExpr)> = match self.spread(&a.names, &expr, &tab, a.span) {
                // A function that returns several columns: its bag once, then the columns.
                Some(spread) => {
                    let spread = spread?;
                    tab = with_hidden(tab, SPREAD, spread.bag.clone(), span)?;
                    spread.read(col(SPREAD))
                }
                None => {
                    let names = self.assignment_names(a, n, &tab)?;
                    let v = self.scalar(&expr, Some(&tab))?;
                    if names.len() != 1 {
                        return Err(unsupported(
                            "assigning one expression to several columns",
                            a.span,
                        ));
                    }
                    vec![(names.into_iter().next().expect("one name"), v)]
                }
            };
            let mut exprs = Vec::new();
            let mut types = Vec::new();
            let mut placed = vec![false; new.len()];
            for (i, existing) in tab.names().into_iter().enumerate() {
                if (i >= before && existing.starts_with("__win")) || existing == SPREAD {
                    continue; // columns computed for this expression only
                }
                match new.iter().position(|(name, _)| *name == existing) {
                    Some(k) => {
                        exprs.push(new[k].1.expr.clone().alias(existing));
                        types.push(new[k].1.ty);
                        placed[k] = true;
                    }
                    None => {
                        exprs.push(tab.column_at(i).alias(existing));
                        types.push(tab.types[i]);
                    }
                }
            }
            for (k, (name, v)) in new.into_iter().enumerate() {
                if !placed[k] {
                    exprs.push(v.expr.alias(name));
                    types.push(v.ty);
                }
            }
            let plan = project_plan(tab.plan.clone(), exprs, span)?;
            tab = Tab {
                plan,
                types,
                render: tab.render,
                order: tab.order,
            };
        }
        Ok(tab)
    }

    /// `project` (and `print`): the listed columns and expressions, in order.
    pub(crate) fn project(
        &mut self,
        tab: &Tab,
        columns: &[ast::Assignment],
        span: Span,
        print: bool,
    ) -> Result<Tab, Diagnostic> {
        // Functions that return several columns are computed first, each into a hidden column
        // of its own that the projection reads.
        let mut spreads = Vec::new();
        for (n, a) in columns.iter().enumerate() {
            if let Some(spread) = self.spread(&a.names, &a.expr, tab, a.span) {
                spreads.push((n, spread?));
            }
        }
        let mut base = tab.clone();
        for (n, spread) in &spreads {
            base = with_hidden(base, &format!("{SPREAD}{n}"), spread.bag.clone(), span)?;
        }
        let mut exprs = Vec::new();
        let mut types = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for (n, a) in columns.iter().enumerate() {
            let new = match spreads.iter().find(|(k, _)| *k == n) {
                Some((_, spread)) => spread.read(col(&format!("{SPREAD}{n}"))),
                None => {
                    let names = if print && a.names.is_empty() {
                        vec![format!("print_{n}")]
                    } else {
                        self.assignment_names(a, n, tab)?
                    };
                    if names.len() != 1 {
                        return Err(unsupported(
                            "assigning one expression to several columns",
                            a.span,
                        ));
                    }
                    let v = self.scalar(&a.expr, Some(&base))?;
                    vec![(names.into_iter().next().expect("one name"), v)]
                }
            };
            for (name, v) in new {
                if seen.contains(&name) {
                    return Err(Diagnostic::new(
                        format!("column `{name}` is projected twice"),
                        a.span,
                    )
                    .with_hint("give one of them another name, e.g. `Other = ...`"));
                }
                exprs.push(v.expr.alias(name.clone()));
                types.push(v.ty);
                seen.push(name);
            }
        }
        let plan = project_plan(base.plan.clone(), exprs, span)?;
        Ok(Tab {
            plan,
            types,
            render: tab.render.clone(),
            order: Vec::new(),
        })
    }

    /// The output name of `[name =] expr`, derived as Kusto does when not written.
    pub(crate) fn assignment_names(
        &self,
        a: &ast::Assignment,
        position: usize,
        _tab: &Tab,
    ) -> Result<Vec<String>, Diagnostic> {
        if !a.names.is_empty() {
            return Ok(a.names.iter().map(|n| n.name.clone()).collect());
        }
        Ok(vec![
            derived_name(&a.expr).unwrap_or_else(|| format!("Column{}", position + 1)),
        ])
    }

    fn sort_keys(&mut self, tab: &Tab, keys: &[ast::SortKey]) -> Result<Vec<SortExpr>, Diagnostic> {
        let mut out = Vec::new();
        for k in keys {
            let v = self.scalar(&k.expr, Some(tab))?;
            let e = if v.ty == KqlType::Dynamic {
                as_string(v)
            } else {
                v.expr
            };
            // Kusto: nulls first when ascending, last when descending, unless written.
            let nulls_first = k.nulls_first.unwrap_or(!k.descending);
            out.push(e.sort(!k.descending, nulls_first));
        }
        Ok(out)
    }

    pub(crate) fn const_count(&mut self, e: &ast::Expr) -> Result<usize, Diagnostic> {
        let v = self.scalar(e, None)?;
        match v.expr {
            Expr::Literal(datafusion::common::ScalarValue::Int64(Some(n)), _) if n >= 0 => {
                Ok(n as usize)
            }
            Expr::Literal(datafusion::common::ScalarValue::Int32(Some(n)), _) if n >= 0 => {
                Ok(n as usize)
            }
            _ => Err(Diagnostic::new(
                "expected a non-negative whole number of rows",
                e.span,
            )),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn join(
        &mut self,
        left: Tab,
        kind: &str,
        right: &ast::Expr,
        on: &[ast::Expr],
        span: Span,
        lookup: bool,
    ) -> Result<Tab, Diagnostic> {
        let jt = join_type(kind).ok_or_else(|| {
            Diagnostic::new(format!("unknown join kind `{kind}`"), span).with_hint(
                "kinds: innerunique (default), inner, leftouter, rightouter, fullouter, leftsemi, leftanti, rightsemi, rightanti",
            )
        })?;
        let mut right_tab = self.tabular(right)?;
        // Keys as (left column, right column).
        let mut keys: Vec<(String, String)> = Vec::new();
        for k in on {
            flatten_keys(k, &mut keys)?;
        }
        if keys.is_empty() {
            return Err(Diagnostic::new("join needs `on` keys", span));
        }
        let mut left = left;
        if self.needs_data.is_some() {
            // Checking without data after bag_unpack/pivot: a key may be one of the columns
            // the data would give; stand it in as a null dynamic column (checking only).
            for (l, r) in &keys {
                if left.index_of(l).is_none() {
                    left = self.with_placeholder(left, l, span)?;
                }
                if right_tab.index_of(r).is_none() {
                    right_tab = self.with_placeholder(right_tab, r, span)?;
                }
            }
        }
        for (l, r) in &keys {
            if left.index_of(l).is_none() {
                return Err(Diagnostic::new(
                    format!("the left side has no column `{l}`"),
                    span,
                ));
            }
            if right_tab.index_of(r).is_none() {
                return Err(Diagnostic::new(
                    format!("the right side has no column `{r}`"),
                    span,
                ));
            }
            let (lt, rt) = (
                left.type_of(l).expect("checked"),
                right_tab.type_of(r).expect("checked"),
            );
            if lt != rt {
                return Err(Diagnostic::new(
                    format!(
                        "join key `{l}` is a {lt} on the left but `{r}` is a {rt} on the right"
                    ),
                    span,
                )
                .with_hint("convert one side first, e.g. extend Key = tostring(Key)"));
            }
        }
        // innerunique: one arbitrary left row per distinct key, then an inner join.
        let left = if kind == "innerunique" {
            dedup_by_keys(left, &keys, span)?
        } else {
            left
        };
        let lq = "__left";
        let rq = "__right";
        let lplan = LogicalPlanBuilder::from(left.plan.clone())
            .alias(lq)
            .and_then(|b| b.build())
            .map_err(|e| df_error(e, span))?;
        let rplan = LogicalPlanBuilder::from(right_tab.plan.clone())
            .alias(rq)
            .and_then(|b| b.build())
            .map_err(|e| df_error(e, span))?;
        let lcols: Vec<Column> = keys.iter().map(|(l, _)| Column::new(Some(lq), l)).collect();
        let rcols: Vec<Column> = keys.iter().map(|(_, r)| Column::new(Some(rq), r)).collect();
        let joined = LogicalPlanBuilder::from(lplan)
            .join(rplan, jt, (lcols, rcols), None)
            .and_then(|b| b.build())
            .map_err(|e| df_error(e, span))?;
        // lookup drops the right side's key columns.
        let left_out = !matches!(jt, JoinType::RightSemi | JoinType::RightAnti);
        let right_out = !matches!(jt, JoinType::LeftSemi | JoinType::LeftAnti);
        let (exprs, types) = joined_columns(
            left_out.then_some((&left, lq)),
            right_out.then_some((&right_tab, rq)),
            &|n| lookup && keys.iter().any(|(_, r)| r == n),
        );
        let plan = project_plan(joined, exprs, span)?;
        Ok(Tab {
            plan,
            types,
            render: left.render,
            order: Vec::new(),
        })
    }

    pub(crate) fn mv_expand(
        &mut self,
        tab: Tab,
        params: &[ast::NamedArg],
        items: &[ast::ExpandItem],
        limit: Option<&ast::Expr>,
        span: Span,
    ) -> Result<Tab, Diagnostic> {
        // kind=bag (the default) expands a bag into {key: value} bags; kind=array into
        // [key, value] arrays. with_itemindex adds the element's position.
        let mut bag_mode = "bag";
        let mut index_column: Option<String> = None;
        for p in params {
            let value = match &p.value.kind {
                ExprKind::Name(n) => n.name.clone(),
                _ => String::new(),
            };
            match (p.name.name.as_str(), value.as_str()) {
                ("kind" | "bagexpansion", "bag") => bag_mode = "bag",
                ("kind" | "bagexpansion", "array") => bag_mode = "array",
                ("with_itemindex", name) if !name.is_empty() => {
                    index_column = Some(name.to_string())
                }
                (other, _) => {
                    return Err(unsupported(
                        format!("mv-expand parameter `{other}`"),
                        p.span,
                    ));
                }
            }
        }
        if let Some(l) = limit {
            return Err(unsupported("mv-expand limit", l.span));
        }
        // (output name, list column, KQL type of the expanded values)
        let mut expanded: Vec<(String, String, KqlType)> = Vec::new();
        let mut lists: Vec<Expr> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let name = match (&item.name, &item.expr.kind) {
                (Some(n), _) => n.name.clone(),
                (None, ExprKind::Name(n)) => n.name.clone(),
                (None, _) => derived_name(&item.expr).unwrap_or_else(|| format!("Column{}", i + 1)),
            };
            let v = self.scalar(&item.expr, Some(&tab))?;
            let v = if v.ty == KqlType::Dynamic {
                v.expr
            } else {
                call("kql_parse_json", vec![as_string(v)])
            };
            // The elements as a list of JSON texts.
            lists.push(call("kql_mv_expand_elements", vec![v, lit(bag_mode)]));
            let ty = item
                .to_type
                .as_ref()
                .map(|t| super::scalar::scalar_type(t.ty))
                .unwrap_or(KqlType::Dynamic);
            expanded.push((name, format!("__mv_expand{i}"), ty));
        }
        let mut exprs: Vec<Expr> = Vec::new();
        for (i, n) in tab.names().into_iter().enumerate() {
            if !expanded.iter().any(|(e, _, _)| e == &n) {
                exprs.push(tab.column_at(i).alias(n));
            }
        }
        let mut unnest: Vec<Column> = Vec::new();
        for ((_, tmp, _), list) in expanded.iter().zip(&lists) {
            exprs.push(list.clone().alias(tmp.clone()));
            unnest.push(Column::new_unqualified(tmp.clone()));
        }
        if index_column.is_some() {
            // Positions 0..n of the longest expanded list, expanded alongside the values.
            let lengths: Vec<Expr> = lists
                .iter()
                .map(|l| {
                    cast(
                        datafusion::functions_nested::expr_fn::cardinality(l.clone()),
                        DataType::Int64,
                    )
                })
                .collect();
            let longest = if lengths.len() == 1 {
                lengths.into_iter().next().expect("one list")
            } else {
                datafusion::functions::expr_fn::greatest(lengths)
            };
            let positions =
                datafusion::functions_nested::expr_fn::range(lit(0i64), longest, lit(1i64));
            exprs.push(positions.alias("__mv_index"));
            unnest.push(Column::new_unqualified("__mv_index"));
        }
        let unnested = LogicalPlanBuilder::from(project_plan(tab.plan.clone(), exprs, span)?)
            .unnest_columns_with_options(unnest, Default::default())
            .and_then(|b| b.build())
            .map_err(|e| df_error(e, span))?;
        // Columns in their original order, expanded ones in their place (or last if new).
        let mut out = Vec::new();
        let mut types = Vec::new();
        let value = |tmp: &str, ty: KqlType| {
            let v = TExpr::new(Expr::Column(Column::new_unqualified(tmp)), KqlType::Dynamic);
            super::scalar::convert_to(v, ty).expr
        };
        for (i, n) in tab.names().into_iter().enumerate() {
            match expanded.iter().find(|(e, _, _)| e == &n) {
                Some((_, tmp, ty)) => {
                    out.push(value(tmp, *ty).alias(n));
                    types.push(*ty);
                }
                None => {
                    out.push(Expr::Column(Column::new_unqualified(&n)).alias(n));
                    types.push(tab.types[i]);
                }
            }
        }
        for (name, tmp, ty) in &expanded {
            if tab.index_of(name).is_none() {
                out.push(value(tmp, *ty).alias(name.clone()));
                types.push(*ty);
            }
        }
        if let Some(index) = index_column {
            out.push(Expr::Column(Column::new_unqualified("__mv_index")).alias(index));
            types.push(KqlType::Long);
        }
        let plan = project_plan(unnested, out, span)?;
        Ok(Tab {
            plan,
            types,
            render: tab.render,
            order: Vec::new(),
        })
    }

    fn parse_op(
        &mut self,
        tab: Tab,
        p: &ast::ParseOp,
        where_: bool,
        span: Span,
    ) -> Result<Tab, Diagnostic> {
        let mut regex_kind = false;
        let mut relaxed = false;
        let mut regex_flags = String::new();
        for param in &p.params {
            match (param.name.name.as_str(), &param.value.kind) {
                ("kind", ExprKind::Name(n)) if n.name == "simple" => {}
                ("kind", ExprKind::Name(n)) if n.name == "regex" => regex_kind = true,
                // relaxed: as simple, but a typed column whose text does not convert is null
                // instead of failing the whole match.
                ("kind", ExprKind::Name(n)) if n.name == "relaxed" => relaxed = true,
                ("kind", ExprKind::Name(n)) => {
                    return Err(unsupported(format!("parse kind={}", n.name), param.span));
                }
                ("flags", _) => {
                    // Regex flags (kind=regex): U (ungreedy), i, m, s, as Kusto takes them.
                    let flags = match &param.value.kind {
                        ExprKind::Name(n) => n.name.clone(),
                        ExprKind::Literal(ast::Literal::String(v)) => v.clone(),
                        _ => {
                            return Err(Diagnostic::new(
                                "flags= takes letters such as Ui",
                                param.span,
                            ));
                        }
                    };
                    if let Some(bad) = flags.chars().find(|c| !"Uims".contains(*c)) {
                        return Err(Diagnostic::new(
                            format!("unknown regex flag `{bad}`; use U, i, m or s"),
                            param.span,
                        ));
                    }
                    regex_flags = flags;
                }
                (other, _) => {
                    return Err(unsupported(
                        format!("parse parameter `{other}`"),
                        param.span,
                    ));
                }
            }
        }
        // Build one regex; each column is a capture group. Kusto's simple mode: a string
        // column takes the shortest text up to the next literal, the last one takes the rest.
        let mut pattern = if regex_flags.is_empty() {
            String::from("^")
        } else {
            format!("(?{regex_flags})^")
        };
        let mut columns: Vec<(String, KqlType)> = Vec::new();
        let n = p.pattern.len();
        for (i, seg) in p.pattern.iter().enumerate() {
            let last = i + 1 == n;
            match seg {
                ParseSegment::Wildcard(_) => pattern.push_str(if last { ".*" } else { ".*?" }),
                ParseSegment::Literal { value, .. } => {
                    if regex_kind {
                        pattern.push_str(value);
                    } else {
                        pattern.push_str(&regex::escape(value));
                    }
                }
                ParseSegment::Column { name, ty, .. } => {
                    let ty = ty
                        .as_ref()
                        .map(|t| super::scalar::scalar_type(t.ty))
                        .unwrap_or(KqlType::String);
                    let group = match ty {
                        _ if relaxed => {
                            if last {
                                "(.*)".to_string()
                            } else {
                                "(.*?)".to_string()
                            }
                        }
                        KqlType::Int | KqlType::Long => r"([-+]?\d+)".to_string(),
                        KqlType::Real | KqlType::Decimal => {
                            r"([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)".to_string()
                        }
                        KqlType::Bool => r"(?i)(true|false)".to_string(),
                        _ if regex_kind => "(.*?)".to_string(),
                        _ if last => "(.*)".to_string(),
                        _ => "(.*?)".to_string(),
                    };
                    pattern.push_str(&group);
                    columns.push((name.name.clone(), ty));
                }
            }
        }
        // Both kinds match from the start of the text; text after the pattern is left over (the
        // last string column of kind=simple takes the rest, as `(.*)`).
        regex::Regex::new(&pattern).map_err(|e| {
            Diagnostic::new(format!("the parse pattern is not a valid regex: {e}"), span)
        })?;
        let source = self.scalar(&p.source, Some(&tab))?;
        let text = as_string(source);
        let mut tab = tab;
        if where_ {
            let matches = datafusion::functions::expr_fn::regexp_like(
                text.clone(),
                lit(pattern.clone()),
                None,
            );
            let plan = LogicalPlanBuilder::from(tab.plan.clone())
                .filter(matches)
                .and_then(|b| b.build())
                .map_err(|e| df_error(e, span))?;
            tab = Tab { plan, ..tab };
        }
        let mut exprs = Vec::new();
        let mut types = Vec::new();
        let names = tab.names();
        for (i, n) in names.iter().enumerate() {
            if !columns.iter().any(|(c, _)| c == n) {
                exprs.push(tab.column_at(i).alias(n.clone()));
                types.push(tab.types[i]);
            }
        }
        for (g, (name, ty)) in columns.iter().enumerate() {
            let captured = call(
                "kql_extract",
                vec![lit(pattern.clone()), lit((g + 1) as i64), text.clone()],
            );
            // An unmatched string column is empty; typed columns are null.
            let v = super::scalar::convert_to(TExpr::new(captured, KqlType::String), *ty);
            exprs.push(v.expr.alias(name.clone()));
            types.push(*ty);
        }
        let plan = project_plan(tab.plan.clone(), exprs, span)?;
        Ok(Tab {
            plan,
            types,
            render: tab.render,
            order: tab.order,
        })
    }
}

/// Kusto's derived name for an unnamed column: the column itself, `a.b` → `a_b`, and a
/// function applied to a column (tostring(x), bin(x, 1h)) → that column.
pub(crate) fn derived_name(e: &ast::Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Name(n) => Some(n.name.clone()),
        ExprKind::Member { target, member } => {
            Some(format!("{}_{}", derived_name(target)?, member.name))
        }
        ExprKind::Index { target, index } => match &index.kind {
            ExprKind::Literal(ast::Literal::String(s)) => {
                Some(format!("{}_{}", derived_name(target)?, s))
            }
            _ => None,
        },
        ExprKind::Call(c)
            if matches!(
                c.func.name.as_str(),
                "bin"
                    | "floor"
                    | "tostring"
                    | "tolong"
                    | "toint"
                    | "todouble"
                    | "toreal"
                    | "tobool"
                    | "todatetime"
                    | "tolower"
                    | "toupper"
                    | "todynamic"
                    | "parse_json"
                    | "startofday"
                    | "startofweek"
                    | "startofmonth"
                    | "startofyear"
                    | "totimespan"
            ) =>
        {
            c.args.first().and_then(derived_name)
        }
        _ => None,
    }
}

fn flatten_keys(k: &ast::Expr, out: &mut Vec<(String, String)>) -> Result<(), Diagnostic> {
    match &k.kind {
        ExprKind::Name(n) => out.push((n.name.clone(), n.name.clone())),
        ExprKind::Binary {
            op: ast::BinaryOp::And,
            left,
            right,
        } => {
            flatten_keys(left, out)?;
            flatten_keys(right, out)?;
        }
        ExprKind::Binary {
            op: ast::BinaryOp::Eq,
            left,
            right,
        } => {
            let side = |e: &ast::Expr| match &e.kind {
                ExprKind::JoinSide { side, column } => Some((*side, column.name.clone())),
                _ => None,
            };
            match (side(left), side(right)) {
                (Some((ast::JoinSideKind::Left, l)), Some((ast::JoinSideKind::Right, r)))
                | (Some((ast::JoinSideKind::Right, r)), Some((ast::JoinSideKind::Left, l))) => {
                    out.push((l, r))
                }
                _ => {
                    return Err(Diagnostic::new(
                        "a join condition compares $left.Column with $right.Column",
                        k.span,
                    )
                    .with_hint("e.g. on $left.UserId == $right.AccountId"));
                }
            }
        }
        _ => {
            return Err(Diagnostic::new(
                "expected a join key: a column name or $left.A == $right.B",
                k.span,
            ));
        }
    }
    Ok(())
}

/// The row order that sort keys establish, when every key is a plain column (an order by a
/// computed expression is not remembered: prev()/next() then ask for a plain sort).
fn order_of(keys: &[ast::SortKey]) -> Vec<(String, bool, bool)> {
    let mut out = Vec::new();
    for k in keys {
        match &k.expr.kind {
            ExprKind::Name(n) => out.push((
                n.name.clone(),
                k.descending,
                k.nulls_first.unwrap_or(!k.descending),
            )),
            _ => return Vec::new(),
        }
    }
    out
}

/// Re-projects the columns at `indices`, in that order.
/// The output columns of a join of `left` and `right` (aliased `lq`, `rq`): the left columns,
/// then the right ones but those `skip_right` names; a right name that collides gets a number
/// suffix (TimeGenerated1), as Kusto does.
pub(crate) fn joined_columns(
    left: Option<(&Tab, &str)>,
    right: Option<(&Tab, &str)>,
    skip_right: &dyn Fn(&str) -> bool,
) -> (Vec<Expr>, Vec<KqlType>) {
    let mut exprs = Vec::new();
    let mut types = Vec::new();
    let mut used: Vec<String> = Vec::new();
    if let Some((tab, q)) = left {
        for (i, n) in tab.names().into_iter().enumerate() {
            exprs.push(Expr::Column(Column::new(Some(q), &n)).alias(n.clone()));
            types.push(tab.types[i]);
            used.push(n);
        }
    }
    if let Some((tab, q)) = right {
        for (i, n) in tab.names().into_iter().enumerate() {
            if skip_right(&n) {
                continue;
            }
            let mut out = n.clone();
            let mut k = 1;
            while used.contains(&out) {
                out = format!("{n}{k}");
                k += 1;
            }
            exprs.push(Expr::Column(Column::new(Some(q), &n)).alias(out.clone()));
            types.push(tab.types[i]);
            used.push(out);
        }
    }
    (exprs, types)
}

pub(crate) fn reselect(tab: Tab, indices: &[usize], span: Span) -> Result<Tab, Diagnostic> {
    let names = tab.names();
    let exprs: Vec<Expr> = indices
        .iter()
        .map(|&i| tab.column_at(i).alias(names[i].clone()))
        .collect();
    let types = indices.iter().map(|&i| tab.types[i]).collect();
    let plan = project_plan(tab.plan.clone(), exprs, span)?;
    let kept: Vec<&String> = indices.iter().map(|&i| &names[i]).collect();
    let order = if tab.order.iter().all(|(c, _, _)| kept.contains(&c)) {
        tab.order
    } else {
        Vec::new()
    };
    Ok(Tab {
        plan,
        types,
        render: tab.render,
        order,
    })
}

/// One row per distinct key (innerunique's left side): the other columns take the values of
/// an arbitrary row of the group.
fn dedup_by_keys(tab: Tab, keys: &[(String, String)], span: Span) -> Result<Tab, Diagnostic> {
    let names = tab.names();
    let key_names: Vec<&String> = keys.iter().map(|(l, _)| l).collect();
    let group: Vec<Expr> = key_names
        .iter()
        .map(|k| tab.column(k).expect("checked key"))
        .collect();
    let aggs: Vec<Expr> = names
        .iter()
        .enumerate()
        .filter(|(_, n)| !key_names.contains(n))
        .map(|(i, n)| first_value(tab.column_at(i), vec![]).alias(n.clone()))
        .collect();
    let agg = LogicalPlanBuilder::from(tab.plan.clone())
        .aggregate(group, aggs)
        .and_then(|b| b.build())
        .map_err(|e| df_error(e, span))?;
    // Back to the original column order.
    let exprs: Vec<Expr> = names
        .iter()
        .map(|n| Expr::Column(Column::new_unqualified(n)).alias(n.clone()))
        .collect();
    let plan = project_plan(agg, exprs, span)?;
    let _ = cast;
    Ok(Tab {
        plan,
        types: tab.types,
        render: tab.render,
        order: Vec::new(),
    })
}

/// The hidden column that holds the bag of a function returning several columns.
const SPREAD: &str = "__spread";

fn col(name: &str) -> Expr {
    Expr::Column(Column::new_unqualified(name))
}

/// `tab` with one more column, `name` = `value` (dynamic), for the next projection to read.
fn with_hidden(tab: Tab, name: &str, value: Expr, span: Span) -> Result<Tab, Diagnostic> {
    let mut exprs: Vec<Expr> = tab
        .names()
        .into_iter()
        .enumerate()
        .map(|(i, n)| tab.column_at(i).alias(n))
        .collect();
    exprs.push(value.alias(name));
    let plan = project_plan(tab.plan.clone(), exprs, span)?;
    let mut types = tab.types;
    types.push(KqlType::Dynamic);
    Ok(Tab {
        plan,
        types,
        render: tab.render,
        order: tab.order,
    })
}
