//! An ES|QL query as a DataFusion plan over the tables its `FROM` names.
//!
//! The events of every selected data stream are one union with `@timestamp` and every ES|QL
//! field the query reads from them (null where a stream's events lack one), as crates/sumo and
//! crates/spl build theirs; columns carry the ES|QL names (`process.executable`). Then each
//! command transforms the table as ES|QL describes it.
//!
//! Values: ES|QL's comparisons and functions follow SQL's nulls (a comparison with null is
//! null, and WHERE drops it). ES|QL refuses to compare text with a number; spoor's columns do
//! not always have the type Elastic's mapping gives a field (a Sysmon port or pid is text in
//! some evidence), so spoor reads the text as a number instead, as its other search
//! front-ends do: `event.code == 1` and `event.code == "1"` both match event 1.
//!
//! ES|QL adds `LIMIT 1000` to a query without one ("ES|QL ... returns at most 1,000 rows" by
//! default, LIMIT command page). spoor does not: it returns every row, the whole of the local
//! evidence being the point of a hunt.

use std::collections::HashSet;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::logical_expr::{
    Case, Expr, ExprSchemable, LogicalPlan, LogicalPlanBuilder, Operator, binary_expr, cast, lit,
    try_cast,
};
use spoor_catalog::KqlType;
use spoor_core::{Diagnostic, Span};
use spoor_events::{Branch, Loose, df, df_aggregate, field, plan_error};

use crate::datastreams::{DATA_STREAMS, DataStream};
use crate::lucene;
use crate::syntax::{
    Assign, BinOp, Command, CommandKind, Expr as Ast, ExprKind, Name, Query, TIME_UNITS,
};

/// What planning needs besides the query.
#[derive(Debug, Clone, Default)]
pub struct EsqlOptions {
    /// The catalog tables the evidence fills (empty when checking without evidence). Of the
    /// data streams `FROM` names, those with data are read.
    pub tables_with_data: HashSet<String>,
    /// What `NOW()` is (ns since the epoch): the CLI's `--now`, or the clock.
    pub now_ns: i64,
}

/// A planned query: the plan, the KQL type of each column, and notes (fields no selected data
/// stream has, which are null everywhere).
#[derive(Debug, Clone)]
pub struct PlannedEsql {
    pub plan: LogicalPlan,
    pub types: Vec<KqlType>,
    pub notes: Vec<Diagnostic>,
}

type PResult<T> = Result<T, Diagnostic>;

/// The field every event has, first in the default columns.
const TIMESTAMP: &str = "@timestamp";

/// The aggregates spoor runs in STATS (lower case).
const AGGREGATES: &[&str] = &[
    "count",
    "count_distinct",
    "min",
    "max",
    "sum",
    "avg",
    "values",
];

/// The scalar functions spoor runs (for suggestions).
const FUNCTIONS: &[&str] = &[
    "to_lower",
    "to_upper",
    "length",
    "coalesce",
    "concat",
    "substring",
    "starts_with",
    "ends_with",
    "trim",
    "ltrim",
    "rtrim",
    "left",
    "right",
    "replace",
    "to_string",
    "to_integer",
    "to_int",
    "to_long",
    "to_double",
    "to_boolean",
    "to_datetime",
    "to_ip",
    "abs",
    "round",
    "floor",
    "ceil",
    "greatest",
    "least",
    "case",
    "date_trunc",
    "bucket",
    "now",
    "cidr_match",
];

/// Plans a parsed query.
pub fn plan(query: &Query, text: &str, options: &EsqlOptions) -> PResult<PlannedEsql> {
    let streams = select_streams(query, options)?;
    let mut notes = Vec::new();
    let fields = read_fields(query, text, &streams, &mut notes);
    let branches = streams
        .iter()
        .map(|s| Branch {
            table: s.table.to_string(),
            filter: None,
            fields: fields.iter().map(|f| s.read(f)).collect(),
            from_json: vec![false; fields.len()],
        })
        .collect();
    let plan =
        spoor_events::union(branches, &fields).map_err(|e| plan_error(e, query.from_span))?;
    let mut p = Planner {
        plan,
        text,
        now_ns: options.now_ns,
    };
    for c in &query.commands {
        p.command(c)?;
    }
    let plan = p.plan;
    let types = plan
        .schema()
        .fields()
        .iter()
        .map(|f| KqlType::from_arrow(f.data_type()).unwrap_or(KqlType::String))
        .collect();
    Ok(PlannedEsql { plan, types, notes })
}

/// The data streams `FROM` names, those with data when the evidence fills some of them.
fn select_streams(query: &Query, options: &EsqlOptions) -> PResult<Vec<&'static DataStream>> {
    let mut selected: Vec<&'static DataStream> = Vec::new();
    for (pattern, at) in &query.from {
        let matched = DataStream::matching(pattern);
        if matched.is_empty() {
            let known: Vec<&str> = DATA_STREAMS.iter().map(|d| d.pattern).collect();
            return Err(Diagnostic::new(
                format!("`{pattern}` names no data stream spoor reads"),
                *at,
            )
            .with_hint(format!(
                "the data streams spoor knows are {} (`logs-*` names them all)",
                known.join(", ")
            )));
        }
        for d in matched {
            if !selected.iter().any(|s| s.table == d.table) {
                selected.push(d);
            }
        }
    }
    let with_data: Vec<&'static DataStream> = selected
        .iter()
        .copied()
        .filter(|d| options.tables_with_data.contains(d.table))
        .collect();
    // None with data: still planned over all of them (an empty result).
    Ok(if with_data.is_empty() {
        selected
    } else {
        with_data
    })
}

/// The ES|QL fields the query reads from the events, `@timestamp` first, in order of first
/// use: names read before a command of the query makes them, up to the first STATS (after it,
/// only its results are there). A `KEEP` wildcard reads every field of the streams it matches.
/// Each field no selected stream has is a note.
fn read_fields(
    query: &Query,
    text: &str,
    streams: &[&DataStream],
    notes: &mut Vec<Diagnostic>,
) -> Vec<String> {
    fn walk(e: &Ast, out: &mut Vec<Name>) {
        match &e.kind {
            ExprKind::Field(f) => out.push((f.clone(), e.span)),
            ExprKind::Not(x) | ExprKind::Neg(x) | ExprKind::Cast(x, _) => walk(x, out),
            ExprKind::IsNull { expr, .. } | ExprKind::Like { expr, .. } => walk(expr, out),
            ExprKind::Binary(_, l, r) => {
                walk(l, out);
                walk(r, out);
            }
            ExprKind::In { expr, list, .. } => {
                walk(expr, out);
                list.iter().for_each(|i| walk(i, out));
            }
            ExprKind::Call { args, .. } => args.iter().for_each(|a| walk(a, out)),
            _ => {}
        }
    }
    let known: Vec<String> = streams.iter().flat_map(|s| s.field_names()).collect();
    let mut fields = vec![TIMESTAMP.to_string()];
    let mut defined: HashSet<String> = HashSet::new();
    let mut read = |names: Vec<Name>, defined: &HashSet<String>, fields: &mut Vec<String>| {
        for (name, at) in names {
            if defined.contains(&name) || fields.contains(&name) {
                continue;
            }
            if !streams.iter().any(|s| s.read(&name).is_some()) {
                let mut d = Diagnostic::new(
                    format!(
                        "no selected data stream has a field `{name}`; it is null in every event"
                    ),
                    at,
                );
                if let Some(s) = spoor_core::did_you_mean(&name, known.iter().map(String::as_str)) {
                    d = d.with_hint(format!("did you mean `{s}`?"));
                }
                notes.push(d);
            }
            fields.push(name);
        }
    };
    for c in &query.commands {
        match &c.kind {
            CommandKind::Where(e) => {
                let mut names = Vec::new();
                walk(e, &mut names);
                read(names, &defined, &mut fields);
            }
            CommandKind::Sort(items) => {
                let mut names = Vec::new();
                items.iter().for_each(|i| walk(&i.expr, &mut names));
                read(names, &defined, &mut fields);
            }
            CommandKind::Eval(assigns) => {
                for a in assigns {
                    let mut names = Vec::new();
                    walk(&a.expr, &mut names);
                    read(names, &defined, &mut fields);
                    defined.insert(assigned_name(a, text));
                }
            }
            CommandKind::Stats { aggregates, by } => {
                let mut names = Vec::new();
                aggregates
                    .iter()
                    .chain(by)
                    .for_each(|a| walk(&a.expr, &mut names));
                read(names, &defined, &mut fields);
                break;
            }
            CommandKind::Keep(patterns) | CommandKind::Drop(patterns) => {
                let keep = matches!(c.kind, CommandKind::Keep(_));
                let mut names = Vec::new();
                for (p, at) in patterns {
                    if !p.contains('*') {
                        names.push((p.clone(), *at));
                    } else if keep {
                        let re = wildcard(p);
                        let mut matched: Vec<&String> =
                            known.iter().filter(|k| re.is_match(k)).collect();
                        matched.sort();
                        matched.dedup();
                        names.extend(matched.into_iter().map(|m| (m.clone(), *at)));
                    }
                }
                read(names, &defined, &mut fields);
            }
            CommandKind::Rename(pairs) => {
                let names = pairs.iter().map(|(old, _)| old.clone()).collect();
                read(names, &defined, &mut fields);
                defined.extend(pairs.iter().map(|(_, (new, _))| new.clone()));
            }
            CommandKind::Limit(_) => {}
        }
    }
    fields
}

/// The column an EVAL or STATS item makes: its name, else its text as written (ES|QL names
/// `EVAL LENGTH(x)` and `STATS COUNT(*)` so).
fn assigned_name(a: &Assign, text: &str) -> String {
    match (&a.name, &a.expr.kind) {
        (Some((n, _)), _) => n.clone(),
        (None, ExprKind::Field(f)) => f.clone(),
        (None, _) => a.expr.span.slice(text).to_string(),
    }
}

/// A name pattern (`*` any text: `KEEP`/`DROP` names, `FROM` index patterns) as an anchored
/// regular expression.
pub(crate) fn wildcard(pattern: &str) -> regex::Regex {
    let body: Vec<String> = pattern.split('*').map(regex::escape).collect();
    regex::Regex::new(&format!("^{}$", body.join(".*"))).expect("escaped pattern")
}

/// A LIKE pattern as an anchored regular expression: `*` any text, `?` one character, `\`
/// escapes the next character; everything else literal, case-sensitive (LIKE operator page).
pub(crate) fn like_regex(pattern: &str) -> String {
    let mut out = String::from("(?s)^");
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '\\' => match chars.next() {
                Some(n) => out.push_str(&regex::escape(&n.to_string())),
                None => out.push_str(&regex::escape("\\")),
            },
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push('$');
    out
}

struct Planner<'a> {
    plan: LogicalPlan,
    text: &'a str,
    now_ns: i64,
}

impl Planner<'_> {
    fn schema(&self) -> &DFSchema {
        self.plan.schema()
    }

    fn type_of(&self, e: &Expr, span: Span) -> PResult<DataType> {
        e.get_type(self.schema())
            .map_err(|err| plan_error(err, span))
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

    fn names(&self) -> Vec<String> {
        self.schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    /// The column an unnamed EVAL or STATS item makes: its text as written.
    fn name_of(&self, a: &Assign) -> String {
        assigned_name(a, self.text)
    }

    fn command(&mut self, c: &Command) -> PResult<()> {
        match &c.kind {
            CommandKind::Where(e) => {
                let predicate = self.condition(e)?;
                let b = LogicalPlanBuilder::from(self.plan.clone()).filter(predicate);
                self.rebuild(b, e.span)
            }
            CommandKind::Eval(assigns) => {
                // "Can use columns defined left of this one"; an existing column of the name
                // is dropped and the new one appended (EVAL command page).
                for a in assigns {
                    let x = self.expr(&a.expr)?;
                    let name = self.name_of(a);
                    self.plan = spoor_events::with_column(self.plan.clone(), &name, x)
                        .map_err(|e| plan_error(e, a.expr.span))?;
                }
                Ok(())
            }
            CommandKind::Stats { aggregates, by } => self.stats(aggregates, by, c.span),
            CommandKind::Sort(items) => {
                let mut sorts = Vec::new();
                for i in items {
                    let x = self.expr(&i.expr)?;
                    // "null values are sorted last in ascending order and first in descending
                    // order" unless NULLS FIRST/LAST says otherwise (SORT command page).
                    let nulls_first = i.nulls_first.unwrap_or(i.descending);
                    sorts.push(x.sort(!i.descending, nulls_first));
                }
                let b = LogicalPlanBuilder::from(self.plan.clone()).sort(sorts);
                self.rebuild(b, c.span)
            }
            CommandKind::Limit(n) => {
                let n = usize::try_from(*n).unwrap_or(usize::MAX);
                let b = LogicalPlanBuilder::from(self.plan.clone()).limit(0, Some(n));
                self.rebuild(b, c.span)
            }
            CommandKind::Keep(patterns) => {
                let names = self.names();
                let mut kept: Vec<String> = Vec::new();
                for (p, at) in patterns {
                    if p.contains('*') {
                        let re = wildcard(p);
                        for n in names.iter().filter(|n| re.is_match(n)) {
                            if !kept.contains(n) {
                                kept.push(n.clone());
                            }
                        }
                    } else {
                        self.field(p, *at)?;
                        if !kept.contains(p) {
                            kept.push(p.clone());
                        }
                    }
                }
                let exprs: Vec<Expr> = kept.iter().map(|n| field(n)).collect();
                let b = LogicalPlanBuilder::from(self.plan.clone()).project(exprs);
                self.rebuild(b, c.span)
            }
            CommandKind::Drop(patterns) => {
                let mut dropped: HashSet<String> = HashSet::new();
                for (p, at) in patterns {
                    if p.contains('*') {
                        let re = wildcard(p);
                        dropped.extend(self.names().into_iter().filter(|n| re.is_match(n)));
                    } else {
                        self.field(p, *at)?;
                        dropped.insert(p.clone());
                    }
                }
                let exprs: Vec<Expr> = self
                    .names()
                    .iter()
                    .filter(|n| !dropped.contains(*n))
                    .map(|n| field(n))
                    .collect();
                if exprs.is_empty() {
                    return Err(Diagnostic::new("DROP leaves no column", c.span));
                }
                let b = LogicalPlanBuilder::from(self.plan.clone()).project(exprs);
                self.rebuild(b, c.span)
            }
            CommandKind::Rename(pairs) => {
                for ((old, at), (new, _)) in pairs {
                    self.field(old, *at)?;
                    // "If a column with the new name already exists, it will be replaced by
                    // the new column" (RENAME command page).
                    let exprs: Vec<Expr> = self
                        .names()
                        .iter()
                        .filter(|n| *n == old || *n != new)
                        .map(|n| {
                            if n == old {
                                field(n).alias(new.as_str())
                            } else {
                                field(n)
                            }
                        })
                        .collect();
                    let b = LogicalPlanBuilder::from(self.plan.clone()).project(exprs);
                    self.rebuild(b, *at)?;
                }
                Ok(())
            }
        }
    }

    fn field(&self, name: &str, span: Span) -> PResult<Expr> {
        spoor_events::field_here(self.schema(), name, span)
    }

    /// `STATS agg, ... BY group, ...`: the aggregates' columns first, then the groups' (STATS
    /// command page: "the output table contains the aggregates and then the groups").
    fn stats(&mut self, aggregates: &[Assign], by: &[Assign], span: Span) -> PResult<()> {
        let mut names: Vec<String> = Vec::new();
        let mut claim = |name: String, at: Span| -> PResult<String> {
            if names.contains(&name) {
                return Err(Diagnostic::new(
                    format!("two columns are named `{name}`; name them apart with `name =`"),
                    at,
                ));
            }
            names.push(name.clone());
            Ok(name)
        };
        let mut groups = Vec::new();
        let mut group_names = Vec::new();
        for g in by {
            if let ExprKind::Call {
                name, name_span, ..
            } = &g.expr.kind
                && AGGREGATES.contains(&name.to_ascii_lowercase().as_str())
            {
                return Err(Diagnostic::new(
                    format!("`{name}` is an aggregate; it stands before BY"),
                    *name_span,
                ));
            }
            let x = self.expr(&g.expr)?;
            let name = claim(self.name_of(g), g.expr.span)?;
            groups.push(x.alias(name.as_str()));
            group_names.push(name);
        }
        let mut aggs = Vec::new();
        let mut agg_names = Vec::new();
        for a in aggregates {
            let x = self.aggregate(&a.expr)?;
            let name = claim(self.name_of(a), a.expr.span)?;
            aggs.push(x.alias(name.as_str()));
            agg_names.push(name);
        }
        let b = LogicalPlanBuilder::from(self.plan.clone()).aggregate(groups, aggs);
        self.rebuild(b, span)?;
        let order: Vec<Expr> = agg_names
            .iter()
            .chain(&group_names)
            .map(|n| field(n))
            .collect();
        let b = LogicalPlanBuilder::from(self.plan.clone()).project(order);
        self.rebuild(b, span)
    }

    fn aggregate(&self, e: &Ast) -> PResult<Expr> {
        let ExprKind::Call {
            name,
            name_span,
            args,
        } = &e.kind
        else {
            return Err(Diagnostic::new(
                "spoor runs STATS items that are one aggregate call (COUNT(*), AVG(x), ...)",
                e.span,
            ));
        };
        let lower = name.to_ascii_lowercase();
        if !AGGREGATES.contains(&lower.as_str()) {
            let mut d = Diagnostic::new(
                format!("`{name}` is not an aggregate spoor runs"),
                *name_span,
            );
            d = match spoor_core::did_you_mean(&lower, AGGREGATES.iter().copied()) {
                Some(s) => d.with_hint(format!("did you mean `{}`?", s.to_ascii_uppercase())),
                None => d.with_hint(
                    "the aggregates are COUNT, COUNT_DISTINCT, MIN, MAX, SUM, AVG, VALUES",
                ),
            };
            return Err(d);
        }
        spoor_events::arity(name, args.len(), 1..=1, e.span)?;
        if matches!(args[0].kind, ExprKind::Star) {
            if lower != "count" {
                return Err(Diagnostic::new("`*` stands only in COUNT(*)", args[0].span));
            }
            return Ok(df_aggregate("count", vec![lit(1i64)]));
        }
        let x = self.expr(&args[0])?;
        Ok(match lower.as_str() {
            "count" => df_aggregate("count", vec![x]),
            "count_distinct" => {
                use datafusion::logical_expr::ExprFunctionExt;
                df_aggregate("count", vec![x])
                    .distinct()
                    .build()
                    .map_err(|err| plan_error(err, e.span))?
            }
            "sum" | "avg" => {
                let n = self.number(x, args[0].span)?;
                df_aggregate(lower.as_str(), vec![n])
            }
            "min" | "max" => df_aggregate(lower.as_str(), vec![x]),
            // VALUES: "all values in a group as a multivalued field"; spoor's set (its order
            // is not promised, as ES|QL's is not).
            _ => spoor_events::spoor_aggregate("kql_make_set", vec![x]),
        })
    }

    /// An expression where true or false is needed.
    fn condition(&self, e: &Ast) -> PResult<Expr> {
        let x = self.expr(e)?;
        match self.type_of(&x, e.span)? {
            DataType::Boolean => Ok(x),
            DataType::Null => Ok(cast(x, DataType::Boolean)),
            t => Err(Diagnostic::new(
                format!("expected a condition, found a value of type {t}"),
                e.span,
            )
            .with_hint("compare it: x == \"value\", x LIKE \"*part*\", x IS NOT NULL")),
        }
    }

    fn number(&self, x: Expr, span: Span) -> PResult<Expr> {
        Loose(self.schema())
            .number(x)
            .map_err(|e| plan_error(e, span))
    }

    fn text(&self, x: Expr, span: Span) -> PResult<Expr> {
        if matches!(
            self.type_of(&x, span)?,
            DataType::Timestamp(..) | DataType::Date32 | DataType::Date64
        ) {
            // ES|QL writes dates as ISO 8601 with milliseconds and Z.
            return Ok(df("to_char", vec![x, lit("%Y-%m-%dT%H:%M:%S%.3fZ")]));
        }
        Loose(self.schema())
            .text(x)
            .map_err(|e| plan_error(e, span))
    }

    fn expr(&self, e: &Ast) -> PResult<Expr> {
        Ok(match &e.kind {
            ExprKind::Field(name) => self.field(name, e.span)?,
            ExprKind::Str(s) => lit(s.clone()),
            ExprKind::Int(i) => match i32::try_from(*i) {
                // ES|QL's integer literals are integers when they fit, else longs.
                Ok(n) => lit(n),
                Err(_) => lit(*i),
            },
            ExprKind::Float(f) => lit(*f),
            ExprKind::Bool(b) => lit(*b),
            ExprKind::Null => lit(ScalarValue::Null),
            ExprKind::TimeSpan(n, unit) => {
                let (months, ns) = span_parts(*n, unit);
                lit(ScalarValue::IntervalMonthDayNano(Some(
                    datafusion::arrow::datatypes::IntervalMonthDayNano::new(
                        i32::try_from(months).unwrap_or(i32::MAX),
                        0,
                        ns,
                    ),
                )))
            }
            ExprKind::Star => {
                return Err(Diagnostic::new("`*` stands only in COUNT(*)", e.span));
            }
            ExprKind::Not(x) => Expr::Not(Box::new(self.condition(x)?)),
            ExprKind::Neg(x) => {
                let v = self.expr(x)?;
                Expr::Negative(Box::new(self.number(v, x.span)?))
            }
            ExprKind::Binary(op, l, r) => self.binary(*op, l, r, e.span)?,
            ExprKind::IsNull { expr, negated } => {
                let x = self.expr(expr)?;
                if *negated {
                    x.is_not_null()
                } else {
                    x.is_null()
                }
            }
            ExprKind::In {
                expr,
                list,
                negated,
            } => {
                let mut subject = self.expr(expr)?;
                let mut items = Vec::new();
                for i in list {
                    items.push((self.expr(i)?, i.span));
                }
                let st = self.type_of(&subject, expr.span)?;
                let mut item_types = Vec::new();
                for (x, at) in &items {
                    item_types.push(self.type_of(x, *at)?);
                }
                // Text against numbers is read as a number (see the module's comment).
                if spoor_events::is_text(&st) && item_types.iter().any(DataType::is_numeric) {
                    subject = self.number(subject, expr.span)?;
                }
                let numeric = self.type_of(&subject, expr.span)?.is_numeric();
                let mut values = Vec::new();
                for (x, at) in items {
                    values.push(if numeric { self.number(x, at)? } else { x });
                }
                subject.in_list(values, *negated)
            }
            ExprKind::Like {
                expr,
                pattern,
                pattern_span,
                negated,
                regex,
            } => {
                let s = self.expr(expr)?;
                let s = self.text(s, expr.span)?;
                let re = if *regex {
                    lucene::translate(pattern).map_err(|why| Diagnostic::new(why, *pattern_span))?
                } else {
                    like_regex(pattern)
                };
                let m = df("regexp_like", vec![s, lit(re)]);
                if *negated { Expr::Not(Box::new(m)) } else { m }
            }
            ExprKind::Cast(x, (ty, at)) => {
                let f = match ty.to_ascii_lowercase().as_str() {
                    "integer" | "int" => "to_integer",
                    "long" => "to_long",
                    "double" => "to_double",
                    "keyword" | "text" | "string" => "to_string",
                    "boolean" | "bool" => "to_boolean",
                    "datetime" | "date" => "to_datetime",
                    "ip" => "to_ip",
                    _ => {
                        return Err(Diagnostic::new(
                            format!("`{ty}` is not a type spoor converts to"),
                            *at,
                        )
                        .with_hint(
                            "the types are integer, long, double, keyword, boolean, datetime, ip",
                        ));
                    }
                };
                self.call(f, *at, std::slice::from_ref(x.as_ref()), e.span)?
            }
            ExprKind::Call {
                name,
                name_span,
                args,
            } => self.call(name, *name_span, args, e.span)?,
        })
    }

    fn binary(&self, op: BinOp, l: &Ast, r: &Ast, span: Span) -> PResult<Expr> {
        if matches!(op, BinOp::And | BinOp::Or) {
            let (a, b) = (self.condition(l)?, self.condition(r)?);
            return Ok(if op == BinOp::And { a.and(b) } else { a.or(b) });
        }
        let (a, b) = (self.expr(l)?, self.expr(r)?);
        if matches!(
            op,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        ) {
            let (a, b) = Loose(self.schema())
                .comparable(a, b)
                .map_err(|e| plan_error(e, span))?;
            return Ok(match op {
                BinOp::Eq => a.eq(b),
                BinOp::Ne => a.not_eq(b),
                BinOp::Lt => a.lt(b),
                BinOp::Le => a.lt_eq(b),
                BinOp::Gt => a.gt(b),
                _ => a.gt_eq(b),
            });
        }
        let (lt, rt) = (self.type_of(&a, l.span)?, self.type_of(&b, r.span)?);
        let is_time = |t: &DataType| {
            matches!(
                t,
                DataType::Timestamp(..) | DataType::Interval(_) | DataType::Duration(_)
            )
        };
        let (a, b) = if is_time(&lt) || is_time(&rt) {
            (a, b)
        } else {
            (self.number(a, l.span)?, self.number(b, r.span)?)
        };
        Ok(match op {
            BinOp::Add => a + b,
            BinOp::Sub => a - b,
            BinOp::Mul => a * b,
            // "Division by zero ... returns null" with a warning (operators page), where
            // DataFusion would fail the query.
            BinOp::Div => a / df("nullif", vec![b, lit(0)]),
            _ => a % df("nullif", vec![b, lit(0)]),
        })
    }

    fn call(&self, name: &str, name_span: Span, args: &[Ast], span: Span) -> PResult<Expr> {
        let lower = name.to_ascii_lowercase();
        let n = |range: std::ops::RangeInclusive<usize>| {
            spoor_events::arity(name, args.len(), range, span)
        };
        let arg = |i: usize| self.expr(&args[i]);
        let text_arg = |i: usize| self.expr(&args[i]).and_then(|x| self.text(x, args[i].span));
        let num_arg = |i: usize| {
            self.expr(&args[i])
                .and_then(|x| self.number(x, args[i].span))
        };
        Ok(match lower.as_str() {
            "to_lower" | "to_upper" => {
                n(1..=1)?;
                let f = if lower == "to_lower" {
                    "lower"
                } else {
                    "upper"
                };
                df(f, vec![text_arg(0)?])
            }
            "length" => {
                n(1..=1)?;
                cast(df("character_length", vec![text_arg(0)?]), DataType::Int32)
            }
            "coalesce" => {
                n(1..=usize::MAX)?;
                df(
                    "coalesce",
                    (0..args.len()).map(arg).collect::<PResult<_>>()?,
                )
            }
            // CONCAT is null when a part is (SQL's `||`), unlike DataFusion's concat().
            "concat" => {
                n(2..=usize::MAX)?;
                let mut parts = (0..args.len()).map(text_arg).collect::<PResult<Vec<_>>>()?;
                let first = parts.remove(0);
                parts
                    .into_iter()
                    .fold(first, |acc, p| binary_expr(acc, Operator::StringConcat, p))
            }
            // SUBSTRING(s, start[, length]): start from 1, a negative start counts from the
            // end (SUBSTRING function page).
            "substring" => {
                n(2..=3)?;
                let s = text_arg(0)?;
                let start = cast(num_arg(1)?, DataType::Int64);
                let from_end = cast(df("character_length", vec![s.clone()]), DataType::Int64)
                    + start.clone()
                    + lit(1i64);
                let start = Expr::Case(Case::new(
                    None,
                    vec![(Box::new(start.clone().lt(lit(0i64))), Box::new(from_end))],
                    Some(Box::new(start)),
                ));
                let mut parts = vec![s, start];
                if args.len() == 3 {
                    parts.push(cast(num_arg(2)?, DataType::Int64));
                }
                df("substr", parts)
            }
            "starts_with" | "ends_with" => {
                n(2..=2)?;
                df(lower.as_str(), vec![text_arg(0)?, text_arg(1)?])
            }
            "trim" | "ltrim" | "rtrim" => {
                n(1..=1)?;
                let f = match lower.as_str() {
                    "trim" => "btrim",
                    other => other,
                };
                df(f, vec![text_arg(0)?])
            }
            "left" | "right" => {
                n(2..=2)?;
                df(
                    lower.as_str(),
                    vec![text_arg(0)?, cast(num_arg(1)?, DataType::Int64)],
                )
            }
            // REPLACE(s, regex, new): every match of the regular expression (REPLACE page).
            "replace" => {
                n(3..=3)?;
                if let ExprKind::Str(re) = &args[1].kind
                    && let Err(e) = regex::Regex::new(re)
                {
                    return Err(Diagnostic::new(
                        format!("invalid regular expression: {e}"),
                        args[1].span,
                    ));
                }
                df(
                    "regexp_replace",
                    vec![text_arg(0)?, text_arg(1)?, text_arg(2)?, lit("g")],
                )
            }
            "to_string" | "to_ip" => {
                n(1..=1)?;
                text_arg(0)?
            }
            "to_integer" | "to_int" | "to_long" | "to_double" => {
                n(1..=1)?;
                let target = match lower.as_str() {
                    "to_double" => DataType::Float64,
                    "to_long" => DataType::Int64,
                    _ => DataType::Int32,
                };
                let x = arg(0)?;
                match self.type_of(&x, args[0].span)? {
                    DataType::Boolean => cast(x, target),
                    t if t.is_numeric() => try_cast(x, target),
                    // Text that is not a number is null (with a warning in ES|QL).
                    _ => try_cast(
                        try_cast(self.text(x, args[0].span)?, DataType::Float64),
                        target,
                    ),
                }
            }
            "to_boolean" => {
                n(1..=1)?;
                let x = arg(0)?;
                match self.type_of(&x, args[0].span)? {
                    DataType::Boolean => x,
                    t if t.is_numeric() => x.not_eq(lit(0)),
                    // "true" in any case is true, other text false (TO_BOOLEAN page).
                    _ => df("lower", vec![self.text(x, args[0].span)?]).eq(lit("true")),
                }
            }
            "to_datetime" => {
                n(1..=1)?;
                let x = arg(0)?;
                match self.type_of(&x, args[0].span)? {
                    DataType::Timestamp(..) => x,
                    // A number is milliseconds since the epoch (TO_DATETIME page).
                    t if t.is_numeric() => {
                        df("to_timestamp_millis", vec![cast(x, DataType::Int64)])
                    }
                    _ => cast(
                        spoor_events::spoor("kql_todatetime", vec![self.text(x, args[0].span)?]),
                        DataType::Timestamp(
                            datafusion::arrow::datatypes::TimeUnit::Nanosecond,
                            None,
                        ),
                    ),
                }
            }
            "abs" | "floor" | "ceil" => {
                n(1..=1)?;
                let x = num_arg(0)?;
                let t = self.type_of(&x, args[0].span)?;
                let r = df(lower.as_str(), vec![x]);
                if lower == "abs" { r } else { cast(r, t) }
            }
            // ROUND(x[, decimals]): the same type back for whole numbers (ROUND page).
            "round" => {
                n(1..=2)?;
                let x = num_arg(0)?;
                let t = self.type_of(&x, args[0].span)?;
                let mut parts = vec![cast(x, DataType::Float64)];
                if args.len() == 2 {
                    parts.push(cast(num_arg(1)?, DataType::Int64));
                }
                cast(df("round", parts), t)
            }
            "greatest" | "least" => {
                n(1..=usize::MAX)?;
                df(
                    lower.as_str(),
                    (0..args.len()).map(arg).collect::<PResult<_>>()?,
                )
            }
            // CASE(cond, value, ..., [else]): the first true condition's value (CASE page).
            "case" => {
                n(2..=usize::MAX)?;
                let mut whens = Vec::new();
                let mut i = 0;
                while i + 1 < args.len() {
                    whens.push((Box::new(self.condition(&args[i])?), Box::new(arg(i + 1)?)));
                    i += 2;
                }
                let otherwise = if i < args.len() {
                    Some(Box::new(arg(i)?))
                } else {
                    None
                };
                Expr::Case(Case::new(None, whens, otherwise))
            }
            "date_trunc" => {
                n(2..=2)?;
                self.bucket(&args[0], &args[1], span)?
            }
            "bucket" => {
                if args.len() == 4 {
                    return Err(Diagnostic::new(
                        "BUCKET(field, buckets, from, to) is not supported by spoor yet; give \
                         the span: BUCKET(@timestamp, 1 hour)",
                        span,
                    ));
                }
                n(2..=2)?;
                self.bucket(&args[1], &args[0], span)?
            }
            "now" => {
                n(0..=0)?;
                lit(ScalarValue::TimestampNanosecond(Some(self.now_ns), None))
            }
            // CIDR_MATCH(ip, block, ...): in any of the blocks (IPv4 or IPv6).
            "cidr_match" => {
                n(2..=usize::MAX)?;
                let ip = text_arg(0)?;
                let mut any: Option<Expr> = None;
                for i in 1..args.len() {
                    let m =
                        spoor_events::spoor("kql_ipv6_is_in_range", vec![ip.clone(), text_arg(i)?]);
                    any = Some(match any {
                        None => m,
                        Some(a) => a.or(m),
                    });
                }
                any.expect("two arguments or more")
            }
            _ if AGGREGATES.contains(&lower.as_str()) => {
                return Err(Diagnostic::new(
                    format!("`{name}` is an aggregate: it stands in STATS"),
                    name_span,
                ));
            }
            _ => {
                let mut d = Diagnostic::new(
                    format!("the function `{name}` is not supported by spoor yet"),
                    name_span,
                );
                if let Some(s) = spoor_core::did_you_mean(&lower, FUNCTIONS.iter().copied()) {
                    d = d.with_hint(format!("did you mean `{}`?", s.to_ascii_uppercase()));
                }
                return Err(d);
            }
        })
    }

    /// `ts` truncated to a span: epoch-aligned periods for fixed units, calendar months,
    /// quarters and years for those (one of them at a time).
    fn bucket(&self, span_arg: &Ast, ts: &Ast, at: Span) -> PResult<Expr> {
        let ExprKind::TimeSpan(n, unit) = &span_arg.kind else {
            return Err(Diagnostic::new(
                "expected a time span such as 1 hour or 5 minutes",
                span_arg.span,
            ));
        };
        let t = self.expr(ts)?;
        if !matches!(self.type_of(&t, ts.span)?, DataType::Timestamp(..)) {
            return Err(Diagnostic::new("expected a date", ts.span));
        }
        if *n <= 0 {
            return Err(Diagnostic::new("the span must be positive", span_arg.span));
        }
        let (months, ns) = span_parts(*n, unit);
        if months == 0 {
            return Ok(spoor_events::bin_time(t, ns));
        }
        let calendar = match (months, unit_of(unit)) {
            (1, _) => "month",
            (3, "quarter") => "quarter",
            (12, "year") => "year",
            _ => {
                return Err(Diagnostic::new(
                    "spoor truncates to one month, quarter or year at a time",
                    at,
                ));
            }
        };
        Ok(cast(
            df("date_trunc", vec![lit(calendar), t]),
            DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Nanosecond, None),
        ))
    }
}

/// The canonical unit of a span literal's unit as written.
fn unit_of(unit: &str) -> &'static str {
    for (names, _) in TIME_UNITS {
        if names.contains(&unit) {
            return names[0];
        }
    }
    "second"
}

/// A span literal as months and nanoseconds.
fn span_parts(n: i64, unit: &str) -> (i64, i64) {
    let canonical = unit_of(unit);
    let ns = TIME_UNITS
        .iter()
        .find(|(names, _)| names[0] == canonical)
        .map_or(0, |(_, ns)| *ns);
    match canonical {
        "month" => (n, 0),
        "quarter" => (n.saturating_mul(3), 0),
        "year" => (n.saturating_mul(12), 0),
        _ => (0, n.saturating_mul(ns)),
    }
}
