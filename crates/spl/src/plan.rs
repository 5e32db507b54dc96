//! SPL commands as a DataFusion plan over the events of the selected sourcetypes.
//!
//! Search terms match as Splunk's do: field values ignoring case with `*` wildcards, a bare
//! word anywhere in the raw event, `field!=value` only where the field is present. `where` and
//! `eval` compare exactly, reading text as a number against a number.

use std::collections::{BTreeSet, HashSet};
use std::ops::Not;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::DFSchema;
use datafusion::logical_expr::{
    Case, Expr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder, SortExpr, cast, lit,
};
use spoor_catalog::KqlType;
use spoor_core::{Diagnostic, Span};
use spoor_events::{Branch, Loose, df, df_aggregate, df_window, field, spoor};

use crate::sourcetypes::{SOURCETYPES, Sourcetype, json_path};
use crate::syntax::{
    Aggregate, BinOp, Command, CommandKind, CompareOp, Expr as Ast, ExprKind, Name, Query, Search,
};

/// What planning needs besides the query.
#[derive(Debug, Clone, Default)]
pub struct SplOptions {
    /// The catalog tables the evidence fills (empty when checking without evidence).
    pub tables_with_data: HashSet<String>,
    /// `now` (for `now()`), nanoseconds.
    pub now_ns: i64,
}

#[derive(Debug, Clone)]
pub struct PlannedSpl {
    pub plan: LogicalPlan,
    pub types: Vec<KqlType>,
    /// Fields that no selected sourcetype has (null everywhere).
    pub notes: Vec<Diagnostic>,
}

type PResult<T> = Result<T, Diagnostic>;

use spoor_events::plan_error;

const DEFAULT_FIELDS: [&str; 5] = ["_time", "host", "source", "sourcetype", "_raw"];

pub fn plan(query: &Query, options: &SplOptions) -> PResult<PlannedSpl> {
    let mut query = query.clone();
    let sourcetypes = select_sourcetypes(&mut query, options)?;
    let (read, defined) = names(&query);
    let mut fields: Vec<String> = DEFAULT_FIELDS.iter().map(|s| s.to_string()).collect();
    let mut notes = Vec::new();
    let spath_later = spath_positions(&query);
    for (name, span) in &read {
        if fields.contains(name) {
            continue;
        }
        let known = sourcetypes.iter().any(|s| s.field(name).is_some());
        if !known && !defined.contains(name) && !name.contains('*') && spath_later.is_empty() {
            let candidates: Vec<String> = sourcetypes
                .iter()
                .filter_map(|s| spoor_catalog::catalog().table(s.table))
                .flat_map(|t| t.columns.iter().map(|c| c.name.clone()))
                .collect();
            let mut d = Diagnostic::new(
                format!("no selected sourcetype has a field `{name}`; it is null in every event"),
                *span,
            );
            if let Some(s) = spoor_core::did_you_mean(name, candidates.iter().map(String::as_str)) {
                d = d.with_hint(format!("did you mean `{s}`?"));
            }
            notes.push(d);
        }
        // A field the query makes itself (eval, stats...) is not read from the events.
        if !name.contains('*') && (known || !defined.contains(name)) {
            fields.push(name.clone());
        }
    }
    let branches = sourcetypes
        .iter()
        .map(|s| Branch {
            table: s.table.to_string(),
            filter: None,
            fields: fields.iter().map(|f| s.field(f)).collect(),
            from_json: fields
                .iter()
                .map(|f| {
                    s.shape == crate::sourcetypes::Shape::AksDiagnostics
                        && !f.starts_with('_')
                        && f != "sourcetype"
                        && f != "source"
                        && f != "host"
                })
                .collect(),
        })
        .collect();
    let plan = spoor_events::union(branches, &fields).map_err(|e| plan_error(e, Span::empty(0)))?;
    let mut p = Planner {
        plan,
        now_ns: options.now_ns,
        shown: None,
        sort: None,
        commands: query.commands.clone(),
    };
    for (i, c) in query.commands.iter().enumerate() {
        p.command(i, c)?;
    }
    let shown = match &p.shown {
        Some(names) => names.clone(),
        None => DEFAULT_FIELDS.iter().map(|s| s.to_string()).collect(),
    };
    let plan = LogicalPlanBuilder::from(p.plan)
        .project(shown.iter().map(|n| field(n)).collect::<Vec<_>>())
        .and_then(LogicalPlanBuilder::build)
        .map_err(|e| plan_error(e, Span::empty(0)))?;
    let types = plan
        .schema()
        .fields()
        .iter()
        .map(|f| {
            if f.name().ends_with("{}") {
                KqlType::Dynamic
            } else {
                KqlType::from_arrow(f.data_type()).unwrap_or(KqlType::String)
            }
        })
        .collect();
    Ok(PlannedSpl { plan, types, notes })
}

/// The sourcetypes the leading search names (`sourcetype=`, `source=`; `index=` is every
/// index), which are taken out of the search; by default every one the evidence fills.
fn select_sourcetypes(query: &mut Query, options: &SplOptions) -> PResult<Vec<Sourcetype>> {
    let mut chosen: Option<Vec<Sourcetype>> = None;
    if let Some(Command {
        kind: CommandKind::Search(search),
        ..
    }) = query.commands.first_mut()
    {
        let terms = match std::mem::replace(search, Search::All) {
            Search::And(items) => items,
            other => vec![other],
        };
        let mut kept = Vec::new();
        for t in terms {
            match &t {
                Search::Compare {
                    field,
                    op: CompareOp::Eq,
                    value,
                    span,
                } if matches!(field.name.as_str(), "sourcetype" | "source" | "index") => {
                    if field.name == "index" {
                        continue;
                    }
                    let matching: Vec<Sourcetype> = SOURCETYPES
                        .iter()
                        .filter(|s| {
                            if field.name == "sourcetype" {
                                s.matches_sourcetype(value)
                            } else {
                                s.matches_source(value)
                            }
                        })
                        .copied()
                        .collect();
                    if matching.is_empty() {
                        let known: Vec<String> = SOURCETYPES
                            .iter()
                            .map(|s| format!("sourcetype={} source={}", s.sourcetype, s.source))
                            .collect();
                        return Err(Diagnostic::new(
                            format!("spoor has no events for {}={value}", field.name),
                            *span,
                        )
                        .with_hint(format!("spoor knows {}", known.join("; "))));
                    }
                    chosen = Some(match chosen {
                        None => matching,
                        Some(prev) => prev.into_iter().filter(|s| matching.contains(s)).collect(),
                    });
                }
                _ => kept.push(t),
            }
        }
        *search = match kept.len() {
            0 => Search::All,
            1 => kept.pop().expect("one"),
            _ => Search::And(kept),
        };
    }
    Ok(match chosen {
        Some(c) => c,
        None => {
            let with_data: Vec<Sourcetype> = SOURCETYPES
                .iter()
                .filter(|s| options.tables_with_data.contains(s.table))
                .copied()
                .collect();
            if with_data.is_empty() {
                SOURCETYPES.to_vec()
            } else {
                with_data
            }
        }
    })
}

/// Indexes of the `spath` commands that extract every field (no path).
fn spath_positions(query: &Query) -> Vec<usize> {
    query
        .commands
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c.kind, CommandKind::Spath { path: None, .. }))
        .map(|(i, _)| i)
        .collect()
}

fn expr_fields(e: &Ast, out: &mut Vec<(String, Span)>) {
    match &e.kind {
        ExprKind::Field(f) => out.push((f.clone(), e.span)),
        ExprKind::Not(x) | ExprKind::Neg(x) => expr_fields(x, out),
        ExprKind::Binary(_, l, r) => {
            expr_fields(l, out);
            expr_fields(r, out);
        }
        ExprKind::Call { args, .. } => args.iter().for_each(|a| expr_fields(a, out)),
        _ => {}
    }
}

fn search_fields(s: &Search, out: &mut Vec<(String, Span)>) {
    match s {
        Search::And(items) | Search::Or(items) => items.iter().for_each(|i| search_fields(i, out)),
        Search::Not(x) => search_fields(x, out),
        Search::Compare { field, .. } | Search::In { field, .. } => {
            out.push((field.name.clone(), field.span))
        }
        Search::Term { .. } | Search::All => {}
    }
}

/// The fields each command reads.
fn command_reads(c: &Command) -> Vec<(String, Span)> {
    let mut out = Vec::new();
    let names = |ns: &[Name], out: &mut Vec<(String, Span)>| {
        out.extend(ns.iter().map(|n| (n.name.clone(), n.span)))
    };
    match &c.kind {
        CommandKind::Search(s) => search_fields(s, &mut out),
        CommandKind::Where(e) => expr_fields(e, &mut out),
        CommandKind::Eval(items) => items.iter().for_each(|(_, e)| expr_fields(e, &mut out)),
        CommandKind::Stats { aggregates, by, .. } => {
            for a in aggregates {
                if let Some(e) = &a.arg {
                    expr_fields(e, &mut out);
                }
            }
            names(by, &mut out);
        }
        CommandKind::Table(ns) | CommandKind::Dedup(ns) => names(ns, &mut out),
        CommandKind::Fields { names: ns, .. } => names(ns, &mut out),
        CommandKind::Sort { keys, .. } => {
            out.extend(keys.iter().map(|(n, _)| (n.name.clone(), n.span)))
        }
        CommandKind::Rex { field, .. } => names(std::slice::from_ref(field), &mut out),
        CommandKind::Spath { input, .. } => names(std::slice::from_ref(input), &mut out),
        CommandKind::Rename(pairs) => {
            out.extend(pairs.iter().map(|(a, _)| (a.name.clone(), a.span)))
        }
        CommandKind::Top { fields, by, .. } => {
            names(fields, &mut out);
            names(by, &mut out);
        }
        CommandKind::Bin { field, .. } => names(std::slice::from_ref(field), &mut out),
        CommandKind::Head(_) | CommandKind::Tail(_) => {}
    }
    out
}

/// The fields each command defines.
fn command_defines(c: &Command) -> Vec<String> {
    match &c.kind {
        CommandKind::Eval(items) => items.iter().map(|(n, _)| n.name.clone()).collect(),
        CommandKind::Stats { aggregates, .. } => {
            aggregates.iter().map(|a| a.name.clone()).collect()
        }
        CommandKind::Rex { regex, .. } => regex::Regex::new(regex)
            .map(|r| r.capture_names().flatten().map(str::to_string).collect())
            .unwrap_or_default(),
        CommandKind::Spath { output, path, .. } => output
            .as_ref()
            .map(|o| o.name.clone())
            .or_else(|| path.clone())
            .into_iter()
            .collect(),
        CommandKind::Rename(pairs) => pairs.iter().map(|(_, b)| b.name.clone()).collect(),
        CommandKind::Top { .. } => vec!["count".into(), "percent".into()],
        CommandKind::Bin { alias, .. } => alias.iter().map(|a| a.name.clone()).collect(),
        _ => Vec::new(),
    }
}

/// Every field the query reads (first use) and every field it defines.
fn names(query: &Query) -> (Vec<(String, Span)>, BTreeSet<String>) {
    let mut read: Vec<(String, Span)> = Vec::new();
    let mut defined = BTreeSet::new();
    for c in &query.commands {
        for (n, s) in command_reads(c) {
            if !read.iter().any(|(r, _)| *r == n) {
                read.push((n, s));
            }
        }
        defined.extend(command_defines(c));
    }
    (read, defined)
}

struct Planner {
    plan: LogicalPlan,
    now_ns: i64,
    /// The fields shown, when a command chose them.
    shown: Option<Vec<String>>,
    sort: Option<Vec<SortExpr>>,
    commands: Vec<Command>,
}

impl Planner {
    fn schema(&self) -> &DFSchema {
        self.plan.schema()
    }

    fn loose(&self) -> Loose<'_> {
        Loose(self.plan.schema())
    }

    fn rebuild(
        &mut self,
        b: datafusion::error::Result<LogicalPlanBuilder>,
        span: Span,
    ) -> PResult<()> {
        self.plan = b
            .and_then(LogicalPlanBuilder::build)
            .map_err(|e| plan_error(e, span))?;
        Ok(())
    }

    fn set(&mut self, name: &str, e: Expr, span: Span) -> PResult<()> {
        self.plan = spoor_events::with_column(self.plan.clone(), name, e)
            .map_err(|err| plan_error(err, span))?;
        if let Some(shown) = &mut self.shown
            && !shown.iter().any(|s| s == name)
        {
            // A field made after `table`, `fields` or `stats` chose the fields is shown too,
            // as Splunk adds new fields to the results.
            shown.push(name.to_string());
        }
        Ok(())
    }

    fn field(&self, name: &str, span: Span) -> PResult<Expr> {
        spoor_events::field_here(self.schema(), name, span)
    }

    /// Field names matching a pattern with `*` (a plain name matches itself).
    fn matching(&self, n: &Name) -> PResult<Vec<String>> {
        if !n.name.contains('*') {
            self.field(&n.name, n.span)?;
            return Ok(vec![n.name.clone()]);
        }
        Ok(self
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .filter(|f| crate::sourcetypes::wildcard_match(&n.name, f) && !f.starts_with("__"))
            .collect())
    }

    fn command(&mut self, index: usize, c: &Command) -> PResult<()> {
        match &c.kind {
            CommandKind::Search(s) => {
                if *s != Search::All {
                    let predicate = self.search(s)?;
                    let b = LogicalPlanBuilder::from(self.plan.clone()).filter(predicate);
                    self.rebuild(b, c.span)?;
                }
            }
            CommandKind::Where(e) => {
                let x = self.expr(e)?;
                let predicate = self
                    .loose()
                    .truthy(x)
                    .map_err(|err| plan_error(err, e.span))?;
                let b = LogicalPlanBuilder::from(self.plan.clone()).filter(predicate);
                self.rebuild(b, c.span)?;
            }
            CommandKind::Eval(items) => {
                for (n, e) in items {
                    let x = self.expr(e)?;
                    self.set(&n.name, x, e.span)?;
                }
            }
            CommandKind::Stats {
                aggregates,
                by,
                keep_events,
            } => self.stats(aggregates, by, *keep_events, c.span)?,
            CommandKind::Table(names) => {
                let mut shown = Vec::new();
                for n in names {
                    for m in self.matching(n)? {
                        if !shown.contains(&m) {
                            shown.push(m);
                        }
                    }
                }
                self.shown = Some(shown);
            }
            CommandKind::Fields { remove, names } => {
                let mut listed = Vec::new();
                for n in names {
                    listed.extend(self.matching(n)?);
                }
                let current = self.shown.clone().unwrap_or_else(|| {
                    self.schema()
                        .fields()
                        .iter()
                        .map(|f| f.name().clone())
                        .collect()
                });
                self.shown = Some(if *remove {
                    current
                        .into_iter()
                        .filter(|f| !listed.contains(f))
                        .collect()
                } else {
                    listed
                });
            }
            CommandKind::Sort { limit, keys } => {
                let mut sorts = Vec::new();
                for (n, desc) in keys {
                    sorts.push(self.field(&n.name, n.span)?.sort(!desc, !desc));
                }
                let mut b = LogicalPlanBuilder::from(self.plan.clone()).sort(sorts.clone());
                if let Some(n) = limit.filter(|n| *n > 0) {
                    b = b.and_then(|b| b.limit(0, Some(n as usize)));
                }
                self.rebuild(b, c.span)?;
                self.sort = Some(sorts);
            }
            CommandKind::Head(n) => {
                let b = LogicalPlanBuilder::from(self.plan.clone()).limit(0, Some(*n as usize));
                self.rebuild(b, c.span)?;
            }
            CommandKind::Tail(n) => {
                // The last N events, last first: reverse the order (by time when unsorted).
                let order: Vec<SortExpr> = match &self.sort {
                    Some(s) => s.iter().map(|x| x.reverse()).collect(),
                    None if self.schema().has_column_with_unqualified_name("_time") => {
                        vec![field("_time").sort(true, false)]
                    }
                    None => {
                        return Err(Diagnostic::new(
                            "`tail` needs an order: sort first (there is no _time here)",
                            c.span,
                        ));
                    }
                };
                let b = LogicalPlanBuilder::from(self.plan.clone())
                    .sort(order)
                    .and_then(|b| b.limit(0, Some(*n as usize)));
                self.rebuild(b, c.span)?;
            }
            CommandKind::Dedup(names) => {
                let keys = names
                    .iter()
                    .map(|n| self.field(&n.name, n.span))
                    .collect::<PResult<Vec<_>>>()?;
                let order = self.sort.clone().unwrap_or_default();
                let rank = df_window("row_number", vec![])
                    .partition_by(keys.clone())
                    .order_by(order.clone())
                    .build()
                    .map_err(|e| plan_error(e, c.span))?
                    .alias("__spoor_dedup_rank");
                let columns = spoor_events::all_fields(&self.plan);
                // Splunk's dedup drops events where a dedup field is missing.
                let present = keys
                    .into_iter()
                    .map(Expr::is_not_null)
                    .reduce(Expr::and)
                    .unwrap_or(lit(true));
                let mut b = LogicalPlanBuilder::from(self.plan.clone())
                    .filter(present)
                    .and_then(|b| b.window(vec![rank]))
                    .and_then(|b| b.filter(field("__spoor_dedup_rank").eq(lit(1u64))))
                    .and_then(|b| b.project(columns));
                if !order.is_empty() {
                    b = b.and_then(|b| b.sort(order));
                }
                self.rebuild(b, c.span)?;
            }
            CommandKind::Rex {
                field: f,
                regex,
                regex_span,
            } => {
                let subject = self.field(&f.name, f.span)?;
                let subject = self
                    .loose()
                    .text(subject)
                    .map_err(|e| plan_error(e, f.span))?;
                let compiled = regex::Regex::new(regex)
                    .map_err(|e| Diagnostic::new(e.to_string(), *regex_span))?;
                let groups: Vec<(usize, String)> = compiled
                    .capture_names()
                    .enumerate()
                    .filter_map(|(i, n)| n.map(|n| (i, n.to_string())))
                    .collect();
                if groups.is_empty() {
                    return Err(Diagnostic::new(
                        "the regular expression has no named group (?<name>...) to make a field of",
                        *regex_span,
                    ));
                }
                for (i, name) in groups {
                    // No match leaves the field absent (Kusto's extract gives "").
                    let e = df(
                        "nullif",
                        vec![
                            spoor(
                                "kql_extract",
                                vec![lit(regex.clone()), lit(i as i64), subject.clone()],
                            ),
                            lit(""),
                        ],
                    );
                    self.set(&name, e, *regex_span)?;
                }
            }
            CommandKind::Spath {
                input,
                output,
                path,
            } => {
                let json = self.field(&input.name, input.span)?;
                match path {
                    Some(p) => {
                        let name = output.as_ref().map_or(p.clone(), |o| o.name.clone());
                        self.set(&name, json_path(json, p), input.span)?;
                    }
                    None => {
                        // Every field read after this command that the JSON may hold.
                        let later: BTreeSet<String> = self.commands[index + 1..]
                            .iter()
                            .flat_map(command_reads)
                            .map(|(n, _)| n)
                            .filter(|n| !n.starts_with('_') && !n.contains('*'))
                            .collect();
                        for name in later {
                            let extracted = json_path(json.clone(), &name);
                            // A field the JSON lacks keeps what it had.
                            let e = if self.schema().has_column_with_unqualified_name(&name) {
                                let previous = self
                                    .loose()
                                    .text(field(&name))
                                    .map_err(|e| plan_error(e, input.span))?;
                                df("coalesce", vec![extracted, previous])
                            } else {
                                extracted
                            };
                            self.set(&name, e, input.span)?;
                        }
                    }
                }
            }
            CommandKind::Rename(pairs) => {
                for (from, to) in pairs {
                    let e = self.field(&from.name, from.span)?;
                    let mut exprs: Vec<Expr> = self
                        .schema()
                        .fields()
                        .iter()
                        .filter(|f| *f.name() != from.name && *f.name() != to.name)
                        .map(|f| field(f.name()))
                        .collect();
                    exprs.push(e.alias(to.name.as_str()));
                    let b = LogicalPlanBuilder::from(self.plan.clone()).project(exprs);
                    self.rebuild(b, from.span)?;
                    if let Some(shown) = &mut self.shown {
                        for s in shown.iter_mut().filter(|s| **s == from.name) {
                            s.clone_from(&to.name);
                        }
                    }
                }
            }
            CommandKind::Top {
                limit,
                fields,
                by,
                rare,
            } => self.top(*limit, fields, by, *rare, c.span)?,
            CommandKind::Bin {
                field: f,
                span_ns,
                alias,
            } => {
                let x = self.field(&f.name, f.span)?;
                let binned = spoor_events::bin_time(x, *span_ns);
                let name = alias.as_ref().map_or(f.name.clone(), |a| a.name.clone());
                self.set(&name, binned, f.span)?;
            }
        }
        Ok(())
    }

    fn search(&self, s: &Search) -> PResult<Expr> {
        Ok(match s {
            Search::All => lit(true),
            Search::And(items) => items
                .iter()
                .map(|i| self.search(i))
                .collect::<PResult<Vec<_>>>()?
                .into_iter()
                .reduce(Expr::and)
                .unwrap_or(lit(true)),
            Search::Or(items) => items
                .iter()
                .map(|i| self.search(i))
                .collect::<PResult<Vec<_>>>()?
                .into_iter()
                .reduce(Expr::or)
                .unwrap_or(lit(false)),
            Search::Not(x) => df("coalesce", vec![self.search(x)?, lit(false)]).not(),
            Search::Term { text, .. } => {
                let raw = self.field("_raw", Span::empty(0))?;
                like_wildcard(raw, &format!("*{text}*"))
            }
            Search::Compare {
                field: f,
                op,
                value,
                span,
            } => {
                let x = self.field(&f.name, f.span)?;
                self.compare(x, *op, value, *span)?
            }
            Search::In {
                field: f,
                values,
                span,
            } => {
                let x = self.field(&f.name, f.span)?;
                values
                    .iter()
                    .map(|v| self.compare(x.clone(), CompareOp::Eq, v, *span))
                    .collect::<PResult<Vec<_>>>()?
                    .into_iter()
                    .reduce(Expr::or)
                    .unwrap_or(lit(false))
            }
        })
    }

    /// `field op value` as the search command matches it.
    fn compare(&self, x: Expr, op: CompareOp, value: &str, span: Span) -> PResult<Expr> {
        let err = |e| plan_error(e, span);
        let numeric = value.parse::<f64>().ok();
        let is_number = self.loose().type_of(&x).map_err(err)?.is_numeric();
        let equal = |x: Expr| -> PResult<Expr> {
            if value == "*" {
                return Ok(x.is_not_null());
            }
            if value.contains('*') {
                let text = self.loose().text(x).map_err(err)?;
                return Ok(like_wildcard(text, value));
            }
            Ok(match numeric {
                Some(n) if is_number => cast(x, DataType::Float64).eq(lit(n)),
                _ => {
                    let text = self.loose().text(x).map_err(err)?;
                    df("lower", vec![text]).eq(lit(value.to_lowercase()))
                }
            })
        };
        Ok(match op {
            CompareOp::Eq => equal(x)?,
            CompareOp::Ne => x
                .clone()
                .is_not_null()
                .and(df("coalesce", vec![equal(x)?, lit(false)]).not()),
            _ => {
                let (l, r) = match numeric {
                    Some(n) => (self.loose().number(x).map_err(err)?, lit(n)),
                    None => (self.loose().text(x).map_err(err)?, lit(value.to_string())),
                };
                match op {
                    CompareOp::Lt => l.lt(r),
                    CompareOp::Le => l.lt_eq(r),
                    CompareOp::Gt => l.gt(r),
                    _ => l.gt_eq(r),
                }
            }
        })
    }

    fn expr(&self, e: &Ast) -> PResult<Expr> {
        let err = |x| plan_error(x, e.span);
        Ok(match &e.kind {
            ExprKind::Field(name) => self.field(name, e.span)?,
            ExprKind::Str(s) => lit(s.clone()),
            ExprKind::Int(i) => lit(*i),
            ExprKind::Float(f) => lit(*f),
            ExprKind::Not(x) => {
                let v = self.expr(x)?;
                self.loose().truthy(v).map_err(err)?.not()
            }
            ExprKind::Neg(x) => {
                let v = self.expr(x)?;
                Expr::Negative(Box::new(self.loose().number(v).map_err(err)?))
            }
            ExprKind::Binary(op, l, r) => {
                let (a, b) = (self.expr(l)?, self.expr(r)?);
                let loose = self.loose();
                match op {
                    BinOp::And | BinOp::Or | BinOp::Xor => {
                        let (a, b) = (loose.truthy(a).map_err(err)?, loose.truthy(b).map_err(err)?);
                        match op {
                            BinOp::And => a.and(b),
                            BinOp::Or => a.or(b),
                            _ => a.clone().not_eq(b),
                        }
                    }
                    BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                        let (a, b) = loose.comparable(a, b).map_err(err)?;
                        match op {
                            BinOp::Eq => a.eq(b),
                            BinOp::Ne => a.not_eq(b),
                            BinOp::Lt => a.lt(b),
                            BinOp::Le => a.lt_eq(b),
                            BinOp::Gt => a.gt(b),
                            _ => a.gt_eq(b),
                        }
                    }
                    BinOp::Like => loose.text(a).map_err(err)?.like(b),
                    BinOp::Concat => df(
                        "concat",
                        vec![loose.text(a).map_err(err)?, loose.text(b).map_err(err)?],
                    ),
                    _ => {
                        let (a, b) = (loose.number(a).map_err(err)?, loose.number(b).map_err(err)?);
                        match op {
                            BinOp::Add => a + b,
                            BinOp::Sub => a - b,
                            BinOp::Mul => a * b,
                            BinOp::Div => cast(a, DataType::Float64) / cast(b, DataType::Float64),
                            _ => a % b,
                        }
                    }
                }
            }
            ExprKind::Call {
                name,
                name_span,
                args,
            } => self.call(name, *name_span, args, e.span)?,
        })
    }

    fn call(&self, name: &str, name_span: Span, args: &[Ast], span: Span) -> PResult<Expr> {
        let err = |x| plan_error(x, span);
        let lower = name.to_ascii_lowercase();
        let arity = |lo: usize, hi: usize| spoor_events::arity(name, args.len(), lo..=hi, span);
        let arg = |i: usize| self.expr(&args[i]);
        let text = |i: usize| {
            self.expr(&args[i])
                .and_then(|x| self.loose().text(x).map_err(err))
        };
        let num = |i: usize| {
            self.expr(&args[i])
                .and_then(|x| self.loose().number(x).map_err(err))
        };
        let cond = |i: usize| {
            self.expr(&args[i])
                .and_then(|x| self.loose().truthy(x).map_err(err))
        };
        Ok(match lower.as_str() {
            "if" => {
                arity(3, 3)?;
                Expr::Case(Case::new(
                    None,
                    vec![(Box::new(cond(0)?), Box::new(arg(1)?))],
                    Some(Box::new(arg(2)?)),
                ))
            }
            "case" => {
                if args.len() < 2 || !args.len().is_multiple_of(2) {
                    return Err(Diagnostic::new(
                        "`case` takes pairs of condition and value",
                        span,
                    ));
                }
                let mut whens = Vec::new();
                for i in (0..args.len()).step_by(2) {
                    whens.push((Box::new(cond(i)?), Box::new(arg(i + 1)?)));
                }
                Expr::Case(Case::new(None, whens, None))
            }
            "coalesce" => df(
                "coalesce",
                (0..args.len()).map(arg).collect::<PResult<Vec<_>>>()?,
            ),
            "isnull" => {
                arity(1, 1)?;
                arg(0)?.is_null()
            }
            "isnotnull" => {
                arity(1, 1)?;
                arg(0)?.is_not_null()
            }
            "null" => cast(lit(datafusion::common::ScalarValue::Null), DataType::Utf8),
            "true" => lit(true),
            "false" => lit(false),
            "len" => {
                arity(1, 1)?;
                df("character_length", vec![text(0)?])
            }
            "lower" | "upper" => {
                arity(1, 1)?;
                df(lower.as_str(), vec![text(0)?])
            }
            "substr" => {
                arity(2, 3)?;
                let mut a = vec![text(0)?, cast(num(1)?, DataType::Int64)];
                if args.len() == 3 {
                    a.push(cast(num(2)?, DataType::Int64));
                }
                df("substr", a)
            }
            "replace" => {
                arity(3, 3)?;
                df(
                    "regexp_replace",
                    vec![text(0)?, text(1)?, text(2)?, lit("g")],
                )
            }
            "match" => {
                arity(2, 2)?;
                df(
                    "coalesce",
                    vec![df("regexp_like", vec![text(0)?, text(1)?]), lit(false)],
                )
            }
            "like" => {
                arity(2, 2)?;
                text(0)?.like(text(1)?)
            }
            "tostring" => {
                arity(1, 2)?;
                text(0)?
            }
            "tonumber" => {
                arity(1, 2)?;
                num(0)?
            }
            "round" => {
                arity(1, 2)?;
                let mut a = vec![cast(num(0)?, DataType::Float64)];
                if args.len() == 2 {
                    a.push(cast(num(1)?, DataType::Int64));
                }
                df("round", a)
            }
            "abs" | "ceil" | "ceiling" | "floor" | "sqrt" | "ln" | "exp" => {
                arity(1, 1)?;
                let f = if lower == "ceiling" {
                    "ceil"
                } else {
                    lower.as_str()
                };
                df(f, vec![cast(num(0)?, DataType::Float64)])
            }
            "pow" => {
                arity(2, 2)?;
                df(
                    "power",
                    vec![
                        cast(num(0)?, DataType::Float64),
                        cast(num(1)?, DataType::Float64),
                    ],
                )
            }
            "trim" | "ltrim" | "rtrim" => {
                arity(1, 2)?;
                let f = if lower == "trim" {
                    "btrim"
                } else {
                    lower.as_str()
                };
                df(f, (0..args.len()).map(text).collect::<PResult<Vec<_>>>()?)
            }
            "split" => {
                arity(2, 2)?;
                spoor("kql_split", vec![text(0)?, text(1)?])
            }
            "mvcount" => {
                arity(1, 1)?;
                spoor("kql_array_length", vec![arg(0)?])
            }
            "mvindex" => {
                arity(2, 2)?;
                spoor(
                    "kql_json_text",
                    vec![arg(0)?, cast(num(1)?, DataType::Int64)],
                )
            }
            "mvjoin" => {
                arity(2, 2)?;
                spoor("kql_strcat_array", vec![arg(0)?, text(1)?])
            }
            "cidrmatch" => {
                arity(2, 2)?;
                df(
                    "coalesce",
                    vec![
                        spoor("kql_ipv4_is_in_range", vec![text(1)?, text(0)?]),
                        lit(false),
                    ],
                )
            }
            "in" => {
                if args.len() < 2 {
                    return Err(Diagnostic::new("`in` takes a field and values", span));
                }
                let x = arg(0)?;
                let mut any = Vec::new();
                for i in 1..args.len() {
                    let (a, b) = self.loose().comparable(x.clone(), arg(i)?).map_err(err)?;
                    any.push(a.eq(b));
                }
                df(
                    "coalesce",
                    vec![
                        any.into_iter().reduce(Expr::or).expect("values"),
                        lit(false),
                    ],
                )
            }
            "now" | "time" => {
                arity(0, 0)?;
                // Epoch seconds, as Splunk's now() is: the pinned now.
                lit(self.now_ns / 1_000_000_000)
            }
            "strftime" => {
                arity(2, 2)?;
                let t = arg(0)?;
                let t = if self.loose().type_of(&t).map_err(err)?.is_numeric() {
                    spoor(
                        "kql_unixtime_seconds_todatetime",
                        vec![cast(t, DataType::Float64)],
                    )
                } else {
                    t
                };
                df("to_char", vec![t, text(1)?])
            }
            _ => {
                let mut d = Diagnostic::new(
                    format!("unknown or unsupported eval function `{name}`"),
                    name_span,
                );
                if let Some(s) = spoor_core::did_you_mean(name, EVAL_FUNCTIONS.iter().copied()) {
                    d = d.with_hint(format!("did you mean `{s}`?"));
                }
                return Err(d);
            }
        })
    }

    fn aggregate(&self, a: &Aggregate) -> PResult<Expr> {
        let func = a.func.to_ascii_lowercase();
        let arg = match &a.arg {
            Some(e) => Some(self.expr(e)?),
            None => None,
        };
        let need = |what: &str| -> PResult<Expr> {
            arg.clone()
                .ok_or_else(|| Diagnostic::new(format!("`{}` takes {what}", a.func), a.func_span))
        };
        let num = |x: Expr| {
            self.loose()
                .number(x)
                .map(|n| cast(n, DataType::Float64))
                .map_err(|e| plan_error(e, a.func_span))
        };
        Ok(match func.as_str() {
            "count" | "c" => match arg {
                None => df_aggregate("count", vec![lit(1i64)]),
                Some(x) => df_aggregate("count", vec![x]),
            },
            "dc" | "distinct_count" => df_aggregate("count", vec![need("a field")?])
                .distinct()
                .build()
                .map_err(|e| plan_error(e, a.func_span))?,
            "sum" => df_aggregate("sum", vec![num(need("a field")?)?]),
            "avg" | "mean" => df_aggregate("avg", vec![num(need("a field")?)?]),
            "min" => df_aggregate("min", vec![need("a field")?]),
            "max" => df_aggregate("max", vec![need("a field")?]),
            "values" => spoor_events::spoor_aggregate("kql_make_set", vec![need("a field")?]),
            "list" => spoor_events::spoor_aggregate("kql_make_list", vec![need("a field")?]),
            "earliest" | "latest" | "first" | "last" => {
                let x = need("a field")?;
                if !self.schema().has_column_with_unqualified_name("_time") {
                    return Err(Diagnostic::new(
                        format!("`{}` reads _time, which is gone here", a.func),
                        a.func_span,
                    ));
                }
                let ascending = matches!(func.as_str(), "earliest" | "last");
                df_aggregate("first_value", vec![x])
                    .order_by(vec![field("_time").sort(ascending, false)])
                    .build()
                    .map_err(|e| plan_error(e, a.func_span))?
            }
            "stdev" => df_aggregate("stddev", vec![num(need("a field")?)?]),
            _ => {
                let mut d = Diagnostic::new(
                    format!("unknown or unsupported stats function `{}`", a.func),
                    a.func_span,
                );
                if let Some(s) = spoor_core::did_you_mean(&a.func, STATS_FUNCTIONS.iter().copied())
                {
                    d = d.with_hint(format!("did you mean `{s}`?"));
                }
                return Err(d);
            }
        })
    }

    fn stats(
        &mut self,
        aggregates: &[Aggregate],
        by: &[Name],
        keep_events: bool,
        span: Span,
    ) -> PResult<()> {
        let keys = by
            .iter()
            .map(|n| self.field(&n.name, n.span))
            .collect::<PResult<Vec<_>>>()?;
        if keep_events {
            // eventstats: each event gets its group's aggregates.
            let mut windows = Vec::new();
            for a in aggregates {
                let Some(w) = spoor_events::as_window(self.aggregate(a)?) else {
                    return Err(Diagnostic::new(
                        "this aggregate cannot run over events",
                        a.func_span,
                    ));
                };
                let w = w
                    .partition_by(keys.clone())
                    .build()
                    .map_err(|e| plan_error(e, a.func_span))?
                    .alias(a.name.as_str());
                windows.push(w);
            }
            let b = LogicalPlanBuilder::from(self.plan.clone()).window(windows);
            self.rebuild(b, span)?;
            if let Some(shown) = &mut self.shown {
                shown.extend(aggregates.iter().map(|a| a.name.clone()));
            }
            return Ok(());
        }
        let groups: Vec<Expr> = by
            .iter()
            .zip(keys)
            .map(|(n, k)| k.alias(n.name.as_str()))
            .collect();
        let aggs = aggregates
            .iter()
            .map(|a| self.aggregate(a).map(|x| x.alias(a.name.as_str())))
            .collect::<PResult<Vec<_>>>()?;
        let b = LogicalPlanBuilder::from(self.plan.clone()).aggregate(groups, aggs);
        self.rebuild(b, span)?;
        let mut shown: Vec<String> = by.iter().map(|n| n.name.clone()).collect();
        shown.extend(aggregates.iter().map(|a| a.name.clone()));
        self.shown = Some(shown);
        self.sort = None;
        Ok(())
    }

    fn top(
        &mut self,
        limit: u64,
        fields: &[Name],
        by: &[Name],
        rare: bool,
        span: Span,
    ) -> PResult<()> {
        let mut keys = Vec::new();
        for n in by.iter().chain(fields) {
            keys.push(self.field(&n.name, n.span)?.alias(n.name.as_str()));
        }
        let b = LogicalPlanBuilder::from(self.plan.clone()).aggregate(
            keys,
            vec![df_aggregate("count", vec![lit(1i64)]).alias("count")],
        );
        self.rebuild(b, span)?;
        let by_exprs: Vec<Expr> = by.iter().map(|n| field(&n.name)).collect();
        let total = spoor_events::as_window(df_aggregate("sum", vec![field("count")]))
            .expect("sum is an aggregate")
            .partition_by(by_exprs.clone())
            .build()
            .map_err(|e| plan_error(e, span))?;
        let rank = df_window("row_number", vec![])
            .partition_by(by_exprs)
            .order_by(
                std::iter::once(field("count").sort(rare, false))
                    .chain(fields.iter().map(|n| field(&n.name).sort(true, false)))
                    .collect(),
            )
            .build()
            .map_err(|e| plan_error(e, span))?;
        let b = LogicalPlanBuilder::from(self.plan.clone())
            // One window node per order: DataFusion plans a node's windows with one sort.
            .window(vec![total.alias("__spoor_total")])
            .and_then(|b| b.window(vec![rank.alias("__spoor_rank")]))
            .and_then(|b| b.filter(field("__spoor_rank").lt_eq(lit(limit))));
        self.rebuild(b, span)?;
        let percent = cast(field("count"), DataType::Float64) * lit(100.0)
            / cast(field("__spoor_total"), DataType::Float64);
        let mut out: Vec<Expr> = by.iter().chain(fields).map(|n| field(&n.name)).collect();
        out.push(field("count"));
        out.push(percent.alias("percent"));
        // Ties in count are ordered by value, so that the result does not depend on the run.
        let order: Vec<SortExpr> = by
            .iter()
            .map(|n| field(&n.name).sort(true, false))
            .chain([field("count").sort(rare, false)])
            .chain(fields.iter().map(|n| field(&n.name).sort(true, false)))
            .collect();
        let b = LogicalPlanBuilder::from(self.plan.clone())
            .project(out)
            .and_then(|b| b.sort(order.clone()));
        self.rebuild(b, span)?;
        let mut shown: Vec<String> = by.iter().chain(fields).map(|n| n.name.clone()).collect();
        shown.extend(["count".to_string(), "percent".to_string()]);
        self.shown = Some(shown);
        self.sort = Some(order);
        Ok(())
    }
}

/// A Splunk wildcard pattern (`*`) matched against text, ignoring case.
fn like_wildcard(text: Expr, pattern: &str) -> Expr {
    let re = format!(
        "(?is)^{}$",
        pattern
            .split('*')
            .map(regex::escape)
            .collect::<Vec<_>>()
            .join(".*")
    );
    df(
        "coalesce",
        vec![df("regexp_like", vec![text, lit(re)]), lit(false)],
    )
}

const EVAL_FUNCTIONS: &[&str] = &[
    "if",
    "case",
    "coalesce",
    "isnull",
    "isnotnull",
    "null",
    "true",
    "false",
    "len",
    "lower",
    "upper",
    "substr",
    "replace",
    "match",
    "like",
    "tostring",
    "tonumber",
    "round",
    "abs",
    "ceil",
    "ceiling",
    "floor",
    "sqrt",
    "ln",
    "exp",
    "pow",
    "trim",
    "ltrim",
    "rtrim",
    "split",
    "mvcount",
    "mvindex",
    "mvjoin",
    "cidrmatch",
    "in",
    "now",
    "time",
    "strftime",
];

const STATS_FUNCTIONS: &[&str] = &[
    "count",
    "dc",
    "distinct_count",
    "sum",
    "avg",
    "mean",
    "min",
    "max",
    "values",
    "list",
    "earliest",
    "latest",
    "first",
    "last",
    "stdev",
];
