//! A plan as a pipeline of stages, the shape that the piped languages (KQL, SPL, ES|QL, Logs
//! Insights, Sumo) share: a source, then `where`, `extend`, `project`, `summarize`, `sort`,
//! `take`, `distinct`, each over the output of the one before.
//!
//! Front-ends plan one node per stage and name every output column, so a plan reads back into
//! stages node by node. Columns are referred to by name alone, as the piped languages do; the
//! plan's qualifiers (`SecurityEvent.Computer`) only matter across a join, which is refused.
//! Projections that only restate their input (the scan's `SecurityEvent.X AS X` for every
//! column) are dropped; one that keeps every column and adds or replaces some is an `extend`;
//! a projection that only renames the projection under it is folded into it.

use datafusion::common::{Column, DFSchemaRef};
use datafusion::logical_expr::{Distinct, Expr, LogicalPlan, SortExpr};

/// Where a pipeline's rows come from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// A catalog table.
    Table(String),
    /// The rows of several pipelines, each already projected to the union's column names.
    Union(Vec<Pipeline>),
    /// Rows of `left` matched with rows of `right` on equal columns. Kusto's join keeps the
    /// left's columns, then the right's, a right column whose name the left has taking the
    /// suffix `1`; the semi and anti joins keep one side's.
    Join {
        left: Box<Pipeline>,
        right: Box<Pipeline>,
        kind: JoinKind,
        /// Left and right column names.
        on: Vec<(String, String)>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinKind {
    Inner,
    LeftOuter,
    RightOuter,
    FullOuter,
    LeftSemi,
    LeftAnti,
    RightSemi,
    RightAnti,
}

impl JoinKind {
    pub(crate) fn kusto(self) -> &'static str {
        match self {
            JoinKind::Inner => "inner",
            JoinKind::LeftOuter => "leftouter",
            JoinKind::RightOuter => "rightouter",
            JoinKind::FullOuter => "fullouter",
            JoinKind::LeftSemi => "leftsemi",
            JoinKind::LeftAnti => "leftanti",
            JoinKind::RightSemi => "rightsemi",
            JoinKind::RightAnti => "rightanti",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Stage {
    Where(Expr),
    /// Columns added (or replaced in place), each computed from the input row.
    Extend(Vec<(String, Expr)>),
    /// Exactly these columns, in this order.
    Project(Vec<(String, Expr)>),
    Summarize {
        aggregates: Vec<(String, Expr)>,
        by: Vec<(String, Expr)>,
    },
    Sort(Vec<SortExpr>),
    Take(usize),
    /// Distinct rows over every column.
    Distinct,
    /// Row-order functions (`prev`, `next`, `row_number`, `row_window_session`) over the rows
    /// in `order`, each a new column: `items` are window function calls with no partition.
    Window {
        items: Vec<(String, Expr)>,
        order: Vec<SortExpr>,
    },
    /// One row per element of each named column (dynamic arrays, or bags as `{key: value}`
    /// bags (`kind=bag`) or `[key, value]` arrays (`kind=array`)), the lists expanded side by
    /// side; the column holds the element.
    MvExpand {
        columns: Vec<String>,
        kind: String,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    pub source: Source,
    /// Each stage with the schema of its input (for the types of the columns it reads).
    pub stages: Vec<(Stage, DFSchemaRef)>,
    /// The output column names, in order.
    pub columns: Vec<String>,
    /// Right after a join: the output name of each qualified column (`__right.Account` is
    /// `Account1`), for the stage that reads the join's rows.
    pub qualified: Vec<(String, String, String)>,
}

/// Reads `plan` as a pipeline; the error names the part of the plan no piped language has.
pub(crate) fn pipeline(plan: &LogicalPlan) -> Result<Pipeline, String> {
    let names = |p: &LogicalPlan| -> Vec<String> {
        p.schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    };
    match plan {
        LogicalPlan::TableScan(scan) => {
            if !scan.filters.is_empty() || scan.fetch.is_some() {
                return Err("a table scan with pushed-down filters (an optimized plan)".into());
            }
            let mut p = Pipeline {
                source: Source::Table(scan.table_name.table().to_string()),
                stages: Vec::new(),
                qualified: Vec::new(),
                columns: scan
                    .source
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect(),
            };
            if scan.projection.is_some() {
                let kept = names(plan);
                let outputs = kept
                    .iter()
                    .map(|n| (n.clone(), Expr::Column(Column::from_name(n))))
                    .collect();
                p.push_projection(outputs, plan.schema().clone())?;
            }
            Ok(p)
        }
        LogicalPlan::SubqueryAlias(a) => pipeline(&a.input),
        LogicalPlan::Filter(f) => {
            let mut p = pipeline(&f.input)?;
            let predicate = p.resolve(&f.predicate)?;
            p.stages
                .push((Stage::Where(predicate), f.input.schema().clone()));
            Ok(p)
        }
        LogicalPlan::Projection(proj) => {
            let mut p = pipeline(&proj.input)?;
            let outputs = names(plan)
                .into_iter()
                .zip(proj.expr.iter().map(|e| p.resolve(unalias(e))))
                .map(|(n, e)| e.map(|e| (n, e)))
                .collect::<Result<Vec<_>, String>>()?;
            p.qualified.clear();
            p.push_projection(outputs, proj.input.schema().clone())?;
            Ok(p)
        }
        LogicalPlan::Aggregate(agg) => {
            let mut p = pipeline(&agg.input)?;
            let out = names(plan);
            let groups = agg.group_expr.len();
            if agg
                .group_expr
                .iter()
                .any(|g| matches!(g, Expr::GroupingSet(_)))
            {
                return Err("grouping sets (ROLLUP, CUBE)".into());
            }
            let resolved = |names: &[String], exprs: &[Expr]| {
                names
                    .iter()
                    .cloned()
                    .zip(exprs.iter().map(|e| p.resolve(unalias(e))))
                    .map(|(n, e)| e.map(|e| (n, e)))
                    .collect::<Result<Vec<_>, String>>()
            };
            let by = resolved(&out[..groups], &agg.group_expr)?;
            let aggregates = resolved(&out[groups..], &agg.aggr_expr)?;
            p.qualified.clear();
            p.stages.push((
                Stage::Summarize { aggregates, by },
                agg.input.schema().clone(),
            ));
            p.columns = out;
            Ok(p)
        }
        LogicalPlan::Sort(s) => {
            let mut p = pipeline(&s.input)?;
            let keys = s
                .expr
                .iter()
                .map(|k| {
                    p.resolve(&k.expr).map(|e| SortExpr {
                        expr: e,
                        ..k.clone()
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            p.stages.push((Stage::Sort(keys), s.input.schema().clone()));
            if let Some(n) = s.fetch {
                p.stages.push((Stage::Take(n), s.input.schema().clone()));
            }
            Ok(p)
        }
        LogicalPlan::Limit(l) => {
            let mut p = pipeline(&l.input)?;
            let skip = match l.get_skip_type() {
                Ok(datafusion::logical_expr::SkipType::Literal(n)) => n,
                _ => return Err("a row offset that is not a number".into()),
            };
            if skip > 0 {
                return Err(format!("skipping the first {skip} rows (OFFSET)"));
            }
            match l.get_fetch_type() {
                Ok(datafusion::logical_expr::FetchType::Literal(Some(n))) => {
                    p.stages.push((Stage::Take(n), l.input.schema().clone()))
                }
                Ok(datafusion::logical_expr::FetchType::Literal(None)) => {}
                _ => return Err("a row limit that is not a number".into()),
            }
            Ok(p)
        }
        LogicalPlan::Distinct(Distinct::All(input)) => {
            let mut p = pipeline(input)?;
            p.stages.push((Stage::Distinct, input.schema().clone()));
            Ok(p)
        }
        LogicalPlan::Distinct(Distinct::On(_)) => Err("DISTINCT ON".into()),
        LogicalPlan::Union(u) => {
            let out = names(plan);
            let mut branches = Vec::new();
            for input in &u.inputs {
                let mut b = pipeline(input)?;
                if b.columns != out {
                    let outputs = out
                        .iter()
                        .cloned()
                        .zip(b.columns.iter().map(|c| Expr::Column(Column::from_name(c))))
                        .collect();
                    b.push_projection(outputs, input.schema().clone())?;
                }
                branches.push(b);
            }
            Ok(Pipeline {
                source: Source::Union(branches),
                stages: Vec::new(),
                columns: out,
                qualified: Vec::new(),
            })
        }
        LogicalPlan::Window(w) => {
            use datafusion::logical_expr::expr::WindowFunction;
            let mut p = pipeline(&w.input)?;
            let out = names(plan);
            let added = &out[w.input.schema().fields().len()..];
            let mut order: Option<Vec<SortExpr>> = None;
            let mut items = Vec::new();
            for (name, e) in added.iter().zip(&w.window_expr) {
                let e = p.resolve(unalias(e))?;
                let Expr::WindowFunction(f) = &e else {
                    return Err(format!("the window expression {e}"));
                };
                let WindowFunction { params, .. } = f.as_ref();
                if !params.partition_by.is_empty() || params.filter.is_some() || params.distinct {
                    return Err("a partitioned or filtered window function".into());
                }
                // spoor's row-order functions read the whole ordered row set: its default frame.
                if *order.get_or_insert_with(|| params.order_by.clone()) != params.order_by {
                    return Err("window functions over two orders at once".into());
                }
                // spoor's mv-apply numbers rows in no order to join its parts back: those
                // numbers mean something only inside one run of the plan.
                if params.order_by.is_empty() {
                    return Err("row numbers over rows in no order (mv-apply)".into());
                }
                items.push((name.clone(), e));
            }
            p.stages.push((
                Stage::Window {
                    items,
                    order: order.unwrap_or_default(),
                },
                w.input.schema().clone(),
            ));
            p.columns = out;
            Ok(p)
        }
        LogicalPlan::Join(j) => join(j),
        LogicalPlan::Unnest(u) => {
            let mut p = pipeline(&u.input)?;
            if !u.struct_type_columns.is_empty() {
                return Err("an unnest of a struct".into());
            }
            let columns: Vec<String> = u.exec_columns.iter().map(|c| c.name.clone()).collect();
            // spoor plans an expanded column as `kql_mv_expand_elements(value, kind)`: the
            // value is what is expanded, the kind how bags are.
            let mut kind = None;
            for c in &columns {
                let defined = p.stages.iter().rev().find_map(|(stage, _)| match stage {
                    Stage::Extend(items) | Stage::Project(items) => {
                        items.iter().find(|(n, _)| n == c).map(|(_, e)| e.clone())
                    }
                    _ => None,
                });
                let k = match defined.as_ref().map(unalias) {
                    Some(Expr::ScalarFunction(f))
                        if f.func.name() == "kql_mv_expand_elements" && f.args.len() == 2 =>
                    {
                        match unalias(&f.args[1]) {
                            Expr::Literal(v, _) => v.try_as_str().flatten().map(str::to_string),
                            _ => None,
                        }
                    }
                    _ => None,
                }
                .ok_or_else(|| {
                    format!("an unnest of {c} (only mv-expand's expansions of dynamic values are written)")
                })?;
                if kind.get_or_insert(k.clone()) != &k {
                    return Err("mv-expand of bags in two ways at once".into());
                }
            }
            p.stages.push((
                Stage::MvExpand {
                    columns,
                    kind: kind.unwrap_or_else(|| "bag".into()),
                },
                u.input.schema().clone(),
            ));
            Ok(p)
        }
        LogicalPlan::Values(_) | LogicalPlan::EmptyRelation(_) => {
            Err("rows written in the query (datatable, print, VALUES)".into())
        }
        other => Err(format!("a plan node of kind {}", other.display())),
    }
}

fn join(j: &datafusion::logical_expr::Join) -> Result<Pipeline, String> {
    use datafusion::common::JoinType as J;
    if j.filter.is_some() {
        return Err("a join on a condition other than equal columns".into());
    }
    let kind = match j.join_type {
        J::Inner => JoinKind::Inner,
        J::Left => JoinKind::LeftOuter,
        J::Right => JoinKind::RightOuter,
        J::Full => JoinKind::FullOuter,
        J::LeftSemi => JoinKind::LeftSemi,
        J::LeftAnti => JoinKind::LeftAnti,
        J::RightSemi => JoinKind::RightSemi,
        J::RightAnti => JoinKind::RightAnti,
        other => return Err(format!("a {other} join")),
    };
    let left = pipeline(&j.left)?;
    let right = pipeline(&j.right)?;
    let on =
        j.on.iter()
            .map(|(l, r)| match (column_name(l), column_name(r)) {
                (Some(l), Some(r)) => Ok((l.to_string(), r.to_string())),
                _ => Err("a join on expressions rather than columns".to_string()),
            })
            .collect::<Result<Vec<_>, String>>()?;
    let mut columns: Vec<String> = Vec::new();
    let mut qualified = Vec::new();
    for (q, f) in j.schema.iter() {
        let mut name = f.name().clone();
        if columns.contains(&name) {
            name = format!("{name}1");
            if columns.contains(&name) {
                return Err(format!("a join whose columns {} clash", f.name()));
            }
        }
        if let Some(q) = q {
            qualified.push((q.to_string(), f.name().clone(), name.clone()));
        }
        columns.push(name);
    }
    Ok(Pipeline {
        source: Source::Join {
            left: Box::new(left),
            right: Box::new(right),
            kind,
            on,
        },
        stages: Vec::new(),
        columns,
        qualified,
    })
}

/// What a writer without row-order functions says of a window stage.
pub(crate) const WINDOW: &str =
    "a window function (row_number, prev/next, row_window_session) in this language";

/// The expression under any aliases.
pub(crate) fn unalias(e: &Expr) -> &Expr {
    match e {
        Expr::Alias(a) => unalias(&a.expr),
        other => other,
    }
}

/// The column name `e` refers to, when it is a plain column reference.
pub(crate) fn column_name(e: &Expr) -> Option<&str> {
    match unalias(e) {
        Expr::Column(c) => Some(c.name.as_str()),
        _ => None,
    }
}

/// The text of a string literal.
pub(crate) fn literal_str(e: &Expr) -> Option<String> {
    match unalias(e) {
        Expr::Literal(v, _) => v.try_as_str().flatten().map(str::to_string),
        _ => None,
    }
}

/// The text a regex test reads, without spoor's KQL `coalesce(text, "")` (which reads a
/// missing text as "", as the piped languages' regex tests also do).
pub(crate) fn text_under_empty_coalesce(e: &Expr) -> &Expr {
    match unalias(e) {
        Expr::ScalarFunction(c)
            if c.func.name() == "coalesce"
                && c.args.len() == 2
                && literal_str(&c.args[1]).as_deref() == Some("") =>
        {
            &c.args[0]
        }
        other => other,
    }
}

/// An aggregate's function name, arguments and DISTINCT flag; FILTER and ORDER BY clauses are
/// refused (the callers that write them handle them first).
pub(crate) fn plain_aggregate(e: &Expr) -> Result<(&str, &[Expr], bool), String> {
    use datafusion::logical_expr::expr::AggregateFunction;
    let Expr::AggregateFunction(AggregateFunction { func, params }) = unalias(e) else {
        return Err(format!("the aggregate {e}"));
    };
    if params.filter.is_some() || !params.order_by.is_empty() {
        return Err(format!("a filtered or ordered aggregate ({e})"));
    }
    Ok((func.name(), &params.args, params.distinct))
}

/// Whether an assignment only restates its input column (`X = X`).
pub(crate) fn restates((name, e): &(String, Expr)) -> bool {
    column_name(e) == Some(name.as_str())
}

/// The assignments of a projection that compute something (not `X = X`).
pub(crate) fn computed(items: &[(String, Expr)]) -> Vec<(String, Expr)> {
    items.iter().filter(|i| !restates(i)).cloned().collect()
}

/// The column names an expression reads.
fn reads(e: &Expr) -> Vec<String> {
    e.column_refs()
        .into_iter()
        .map(|c| c.name.clone())
        .collect()
}

impl Pipeline {
    /// `e` with qualified columns (right after a join) named as the join's output names them.
    fn resolve(&self, e: &Expr) -> Result<Expr, String> {
        use datafusion::common::tree_node::{Transformed, TreeNode};
        if self.qualified.is_empty() {
            return Ok(e.clone());
        }
        e.clone()
            .transform_up(|e| match &e {
                Expr::Column(c) => match &c.relation {
                    Some(q) => {
                        let q = q.to_string();
                        let found = self
                            .qualified
                            .iter()
                            .find(|(fq, n, _)| *fq == q && *n == c.name)
                            .map(|(_, _, out)| Expr::Column(Column::from_name(out)));
                        Ok(found.map_or(Transformed::no(e.clone()), Transformed::yes))
                    }
                    None => Ok(Transformed::no(e)),
                },
                _ => Ok(Transformed::no(e)),
            })
            .map(|t| t.data)
            .map_err(|e| e.to_string())
    }

    /// Adds a projection to `outputs`, as nothing (it restates the input), an `extend`, a fold
    /// into the projection before it (it only renames), or a `project`.
    fn push_projection(
        &mut self,
        outputs: Vec<(String, Expr)>,
        input: DFSchemaRef,
    ) -> Result<(), String> {
        let names: Vec<String> = outputs.iter().map(|(n, _)| n.clone()).collect();
        if names == self.columns && outputs.iter().all(restates) {
            return Ok(());
        }
        // Only renames of a summarize's columns, in their order: the summarize names them.
        if outputs.iter().all(|(_, e)| column_name(e).is_some())
            && let Some((Stage::Summarize { aggregates, by }, _)) = self.stages.last_mut()
        {
            let sources: Vec<&str> = outputs.iter().filter_map(|(_, e)| column_name(e)).collect();
            let current: Vec<String> = by
                .iter()
                .chain(aggregates.iter())
                .map(|(n, _)| n.clone())
                .collect();
            if sources == current {
                let mut new_names = names.iter();
                for (n, _) in by.iter_mut().chain(aggregates.iter_mut()) {
                    if let Some(new) = new_names.next() {
                        *n = new.clone();
                    }
                }
                self.columns = names;
                return Ok(());
            }
        }
        // Only renames and reorders of the previous projection's outputs: substitute.
        if outputs.iter().all(|(_, e)| column_name(e).is_some())
            && let Some((Stage::Project(previous), previous_input)) = self.stages.last()
        {
            let mut folded = Vec::new();
            for (n, e) in &outputs {
                let from = column_name(e).unwrap_or_default();
                match previous.iter().find(|(pn, _)| pn == from) {
                    Some((_, pe)) => folded.push((n.clone(), pe.clone())),
                    None => break,
                }
            }
            if folded.len() == outputs.len() && !defined_in_terms_of_each_other(&folded) {
                let previous_input = previous_input.clone();
                self.stages.pop();
                self.stages.push((Stage::Project(folded), previous_input));
                self.columns = names;
                return Ok(());
            }
        }
        let computed = computed(&outputs);
        // What `extend computed` would give: the input's columns with replaced ones in place,
        // then the new ones.
        let mut extended = self.columns.clone();
        for (n, _) in &computed {
            if !extended.contains(n) {
                extended.push(n.clone());
            }
        }
        if extended == names && !defined_in_terms_of_each_other(&computed) {
            self.stages.push((Stage::Extend(computed), input));
        } else {
            if defined_in_terms_of_each_other(&outputs) {
                // Computed under new names first, then renamed: each reads the input only.
                let temporary = |i: usize| format!("__export{i}");
                let computed = outputs
                    .iter()
                    .enumerate()
                    .map(|(i, (_, e))| (temporary(i), e.clone()))
                    .collect();
                let renamed = outputs
                    .iter()
                    .enumerate()
                    .map(|(i, (n, _))| (n.clone(), Expr::Column(Column::from_name(temporary(i)))))
                    .collect();
                self.stages.push((Stage::Extend(computed), input.clone()));
                self.stages.push((Stage::Project(renamed), input));
            } else {
                self.stages.push((Stage::Project(outputs), input));
            }
        }
        self.columns = names;
        Ok(())
    }
}

/// Piped languages evaluate the assignments of one `extend` or `project` in order, so a later
/// one sees an earlier one's new value; a plan's projection reads only its input. The two
/// agree unless an expression reads a name assigned (to something else) before it.
fn defined_in_terms_of_each_other(outputs: &[(String, Expr)]) -> bool {
    let mut assigned: Vec<&str> = Vec::new();
    for (n, e) in outputs {
        if reads(e).iter().any(|r| assigned.contains(&r.as_str())) {
            return true;
        }
        if column_name(e) != Some(n.as_str()) {
            assigned.push(n);
        }
    }
    false
}
