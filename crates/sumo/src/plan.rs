//! A Sumo Logic query as a DataFusion plan over the tables its scope selects.
//!
//! The messages of every selected table are one union with `_time`, `_sourceCategory` and
//! every field the query reads (null where a table's messages lack one), as crates/cwl does
//! for log groups. Values compare as Sumo compares them: "Most data in Sumo Logic is stored as
//! a string data type ... Sumo Logic will implicitly cast string data to a number type assuming
//! it is clear that you need a number"
//! (https://www.sumologic.com/help/docs/search/search-query-language/search-operators/manually-cast-data-string-number/).
//! spoor's columns are typed (EventID is an int), so a typed number compared with text reads the
//! text as a number: `EventID in ("1", "4688")` matches event 1, as it does in Sumo where
//! EventID is the text "1". A condition on a missing value is false, so `!(x matches "a*")`
//! keeps the messages without x.

use std::collections::HashSet;
use std::ops::Not;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Column, DFSchema, ScalarValue};
use datafusion::logical_expr::expr::Like;
use datafusion::logical_expr::{
    Case, Expr, ExprFunctionExt, ExprSchemable, LogicalPlan, LogicalPlanBuilder, cast, ident, lit,
    try_cast,
};
use spoor_catalog::KqlType;
use spoor_core::{Diagnostic, Span};
use spoor_events::{Branch, Loose, df, df_aggregate};

use crate::sources::{self, SumoTable, TABLES};
use crate::syntax::{
    Aggregate, BinOp, Expr as Ast, ExprKind, Name, Operator, OperatorKind, ParsePattern, Query,
    Scope, ScopeKind, check_regex,
};

/// What planning needs besides the query.
#[derive(Debug, Clone, Default)]
pub struct SumoOptions {
    /// The catalog tables the evidence fills (empty when checking without evidence). A scope
    /// that names no source category reads these.
    pub tables_with_data: HashSet<String>,
}

/// A planned query: the plan, the KQL type of each column, and notes (fields no selected
/// table has, which are null everywhere; scope terms that match no table).
#[derive(Debug, Clone)]
pub struct PlannedSumo {
    pub plan: LogicalPlan,
    pub types: Vec<KqlType>,
    pub notes: Vec<Diagnostic>,
}

/// The fields every message has, first in the default display.
const SYSTEM_FIELDS: [&str; 2] = ["_time", "_sourceCategory"];

type PResult<T> = Result<T, Diagnostic>;

/// A spoor function (crates/functions) by name.
pub(crate) fn spoor_call(name: &str, args: Vec<Expr>) -> Expr {
    spoor_events::spoor(name, args)
}

use spoor_events::plan_error;

/// A condition that is false rather than null on missing values.
fn definite(condition: Expr) -> Expr {
    df("coalesce", vec![condition, lit(false)])
}

/// A Sumo wildcard pattern (`*` is any text, everything else literal) as an anchored regular
/// expression.
fn wildcard_regex(pattern: &str, ignore_case: bool) -> String {
    let body: Vec<String> = pattern.split('*').map(regex::escape).collect();
    let flags = if ignore_case { "(?is)" } else { "(?s)" };
    format!("{flags}^{}$", body.join(".*"))
}

/// Plans a parsed query.
pub fn plan(query: &Query, options: &SumoOptions) -> PResult<PlannedSumo> {
    let mut notes = Vec::new();
    let tables = select_tables(&query.scope, options, &mut notes)?;
    let (plan, display) = messages(query, &tables, &mut notes)?;
    let mut p = Planner { plan, display };
    for op in &query.operators {
        p.operator(op)?;
    }
    let exprs: Vec<Expr> = p
        .display
        .iter()
        .map(|n| Expr::Column(Column::from_name(n.as_str())))
        .collect();
    let plan = LogicalPlanBuilder::from(p.plan)
        .project(exprs)
        .and_then(LogicalPlanBuilder::build)
        .map_err(|e| plan_error(e, Span::empty(0)))?;
    let types = plan
        .schema()
        .fields()
        .iter()
        .map(|f| KqlType::from_arrow(f.data_type()).unwrap_or(KqlType::String))
        .collect();
    Ok(PlannedSumo { plan, types, notes })
}

/// What the scope says of one table's messages.
enum Selection {
    /// All of them or none.
    Const(bool),
    /// Those for which the expression holds.
    Rows(Expr),
}

impl Selection {
    fn and(self, other: Selection) -> Selection {
        match (self, other) {
            (Selection::Const(false), _) | (_, Selection::Const(false)) => Selection::Const(false),
            (Selection::Const(true), x) | (x, Selection::Const(true)) => x,
            (Selection::Rows(a), Selection::Rows(b)) => Selection::Rows(a.and(b)),
        }
    }

    fn or(self, other: Selection) -> Selection {
        match (self, other) {
            (Selection::Const(true), _) | (_, Selection::Const(true)) => Selection::Const(true),
            (Selection::Const(false), x) | (x, Selection::Const(false)) => x,
            (Selection::Rows(a), Selection::Rows(b)) => Selection::Rows(a.or(b)),
        }
    }

    fn negate(self) -> Selection {
        match self {
            Selection::Const(b) => Selection::Const(!b),
            Selection::Rows(e) => Selection::Rows(e.not()),
        }
    }
}

/// Whether the scope names tables (`_sourceCategory`, `_source`, `_index`), rather than only
/// filtering messages (`_sourceHost`) or taking all of them.
fn names_tables(scope: &Scope) -> bool {
    match &scope.kind {
        ScopeKind::Metadata { field, .. } => matches!(
            sources::metadata_name(field),
            Some("_sourceCategory" | "_source" | "_index" | "_view")
        ),
        ScopeKind::Not(s) => names_tables(s),
        ScopeKind::And(a, b) | ScopeKind::Or(a, b) => names_tables(a) || names_tables(b),
        _ => false,
    }
}

/// The scope as a selection of `table`'s messages.
fn selection(scope: &Scope, table: &SumoTable) -> PResult<Selection> {
    Ok(match &scope.kind {
        ScopeKind::All => Selection::Const(true),
        ScopeKind::Not(s) => selection(s, table)?.negate(),
        ScopeKind::And(a, b) => selection(a, table)?.and(selection(b, table)?),
        ScopeKind::Or(a, b) => selection(a, table)?.or(selection(b, table)?),
        ScopeKind::Keyword(word) => {
            return Err(Diagnostic::new(
                format!(
                    "`{word}`: keyword search matches the raw message text, which spoor's \
                     Windows tables do not keep"
                ),
                scope.span,
            )
            .with_hint(
                "search a field instead, after the scope: | where CommandLine matches \"*word*\"",
            ));
        }
        ScopeKind::FieldTerm { field, .. } => {
            return Err(Diagnostic::new(
                format!(
                    "`{field}=` in the scope searches an indexed field; spoor searches only \
                     built-in metadata there"
                ),
                scope.span,
            )
            .with_hint(format!(
                "filter it after the scope: | where {field} = \"value\""
            )));
        }
        ScopeKind::Metadata {
            field,
            field_span,
            value,
            quoted,
            negated,
        } => {
            let Some(name) = sources::metadata_name(field) else {
                let known = [
                    "_sourceCategory",
                    "_source",
                    "_sourceHost",
                    "_sourceName",
                    "_index",
                    "_view",
                ];
                let mut d = Diagnostic::new(
                    format!("`{field}` is not built-in metadata spoor knows"),
                    *field_span,
                );
                d = match spoor_core::did_you_mean(field, known.iter().copied()) {
                    Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                    None => d.with_hint(format!("the scope searches {}", known.join(", "))),
                };
                return Err(d);
            };
            // "Quotes and wildcards cannot be used together": a quoted value is literal.
            let pattern = if *quoted {
                format!("(?is)^{}$", regex::escape(value))
            } else {
                wildcard_regex(value, true)
            };
            let matcher = regex::Regex::new(&pattern)
                .map_err(|e| Diagnostic::new(format!("cannot read this value: {e}"), scope.span))?;
            let selected = match name {
                "_sourceCategory" | "_source" => {
                    Selection::Const(table.has_category(&|c| matcher.is_match(c)))
                }
                "_index" | "_view" => Selection::Const(matcher.is_match(sources::DEFAULT_VIEW)),
                "_sourceHost" | "_sourceName" => {
                    let column = if name == "_sourceHost" {
                        "Computer"
                    } else {
                        "Channel"
                    };
                    Selection::Rows(definite(df(
                        "regexp_like",
                        vec![ident(column), lit(pattern)],
                    )))
                }
                other => {
                    let why = sources::UNAVAILABLE
                        .iter()
                        .find(|(n, _)| *n == other)
                        .map_or("it is not metadata of a source", |(_, why)| *why);
                    return Err(Diagnostic::new(
                        format!("spoor cannot search `{other}` in the scope: {why}"),
                        *field_span,
                    ));
                }
            };
            if *negated {
                selected.negate()
            } else {
                selected
            }
        }
    })
}

/// The scope terms that name source categories no table has (each a note).
fn unmatched_terms(scope: &Scope, notes: &mut Vec<Diagnostic>) {
    match &scope.kind {
        ScopeKind::Not(s) => unmatched_terms(s, notes),
        ScopeKind::And(a, b) | ScopeKind::Or(a, b) => {
            unmatched_terms(a, notes);
            unmatched_terms(b, notes);
        }
        ScopeKind::Metadata {
            field,
            value,
            quoted,
            ..
        } if matches!(
            sources::metadata_name(field),
            Some("_sourceCategory" | "_source")
        ) =>
        {
            let pattern = if *quoted {
                format!("(?is)^{}$", regex::escape(value))
            } else {
                wildcard_regex(value, true)
            };
            let Ok(matcher) = regex::Regex::new(&pattern) else {
                return;
            };
            if !TABLES
                .iter()
                .any(|t| t.has_category(&|c| matcher.is_match(c)))
            {
                notes.push(
                    Diagnostic::new(
                        format!("no table spoor reads has a source category matching `{value}`"),
                        scope.span,
                    )
                    .with_hint(format!(
                        "the categories spoor knows are {}",
                        sources::known_categories().join(", ")
                    )),
                );
            }
        }
        _ => {}
    }
}

/// The tables the scope selects, each with the rows it keeps (`None`: all).
fn select_tables(
    scope: &Scope,
    options: &SumoOptions,
    notes: &mut Vec<Diagnostic>,
) -> PResult<Vec<(SumoTable, Option<Expr>)>> {
    let candidates: Vec<&SumoTable> = if names_tables(scope) {
        TABLES.iter().collect()
    } else {
        let with_data: Vec<&SumoTable> = TABLES
            .iter()
            .filter(|t| options.tables_with_data.contains(t.table))
            .collect();
        if with_data.is_empty() {
            TABLES.iter().collect()
        } else {
            with_data
        }
    };
    let mut out = Vec::new();
    for table in candidates {
        match selection(scope, table)? {
            Selection::Const(false) => {}
            Selection::Const(true) => out.push((*table, None)),
            Selection::Rows(e) => out.push((*table, Some(e))),
        }
    }
    unmatched_terms(scope, notes);
    if out.is_empty() {
        return Err(
            Diagnostic::new("the scope selects no table spoor reads", scope.span).with_hint(
                format!(
                    "the source categories spoor knows are {} (wildcards such as \
                     _sourceCategory=*sysmon* match them ignoring case)",
                    sources::known_categories().join(", ")
                ),
            ),
        );
    }
    Ok(out)
}

/// The names the query reads, in order of first use, each with where it is first read; and
/// the names it defines itself.
fn field_names(query: &Query) -> (Vec<Name>, HashSet<String>) {
    fn walk(e: &Ast, out: &mut Vec<Name>) {
        match &e.kind {
            ExprKind::Field(f) => out.push((f.clone(), e.span)),
            ExprKind::List(items) => items.iter().for_each(|i| walk(i, out)),
            ExprKind::Not(x) | ExprKind::Neg(x) => walk(x, out),
            ExprKind::Binary(_, l, r) => {
                walk(l, out);
                walk(r, out);
            }
            ExprKind::Matches { expr, pattern } => {
                walk(expr, out);
                walk(pattern, out);
            }
            ExprKind::In { expr, list, .. } => {
                walk(expr, out);
                list.iter().for_each(|i| walk(i, out));
            }
            ExprKind::Ternary(c, a, b) => {
                walk(c, out);
                walk(a, out);
                walk(b, out);
            }
            ExprKind::Call { args, .. } => args.iter().for_each(|a| walk(a, out)),
            _ => {}
        }
    }
    let mut read = Vec::new();
    let mut defined = HashSet::new();
    for op in &query.operators {
        match &op.kind {
            OperatorKind::Parse {
                field,
                pattern,
                names,
                ..
            } => {
                if let Some(f) = field {
                    read.push(f.clone());
                }
                defined.extend(names.iter().map(|(n, _)| n.clone()));
                if let ParsePattern::Regex(r, _) = pattern
                    && let Ok(re) = regex::Regex::new(r)
                {
                    defined.extend(re.capture_names().flatten().map(str::to_string));
                }
            }
            OperatorKind::Where(e) => walk(e, &mut read),
            OperatorKind::Assign(items) => {
                for ((name, _), e) in items {
                    walk(e, &mut read);
                    defined.insert(name.clone());
                }
            }
            OperatorKind::Fields { names, .. } => read.extend(names.iter().cloned()),
            OperatorKind::Aggregate { aggregates, by } => {
                for a in aggregates {
                    if let Some(e) = &a.argument {
                        walk(e, &mut read);
                    }
                    defined.insert(a.name());
                }
                read.extend(by.iter().cloned());
            }
            OperatorKind::Sort(items) => read.extend(items.iter().map(|(n, _)| n.clone())),
            OperatorKind::Top { fields, by, .. } => {
                read.extend(fields.iter().cloned());
                read.extend(by.iter().cloned());
                defined.insert("_count".into());
            }
            OperatorKind::Limit(_) => {}
        }
    }
    (read, defined)
}

/// The union of the selected tables' messages, with the system fields and every field the
/// query reads; and the fields shown by default.
fn messages(
    query: &Query,
    tables: &[(SumoTable, Option<Expr>)],
    notes: &mut Vec<Diagnostic>,
) -> PResult<(LogicalPlan, Vec<String>)> {
    let (read, defined) = field_names(query);
    let mut fields: Vec<String> = SYSTEM_FIELDS.iter().map(|s| s.to_string()).collect();
    for (name, at) in &read {
        if fields.contains(name) {
            continue;
        }
        if let Some(canonical) = sources::metadata_name(name)
            && let Some((_, why)) = sources::UNAVAILABLE.iter().find(|(n, _)| *n == canonical)
        {
            return Err(Diagnostic::new(
                format!("spoor has no `{canonical}`: {why}"),
                *at,
            ));
        }
        if tables.iter().any(|(t, _)| t.field(name).is_some()) {
            fields.push(name.clone());
        } else if !defined.contains(name) {
            let mut d = Diagnostic::new(
                format!("no selected table has a field `{name}`; it is null in every message"),
                *at,
            );
            let candidates: Vec<String> =
                tables.iter().flat_map(|(t, _)| t.column_names()).collect();
            if let Some(s) = spoor_core::did_you_mean(name, candidates.iter().map(String::as_str)) {
                d = d.with_hint(format!("did you mean `{s}`?"));
            }
            notes.push(d);
            fields.push(name.clone());
        }
    }
    let mut branches = Vec::new();
    for (table, rows) in tables {
        let mut keep = rows.clone();
        if !table.excluded_channels.is_empty() {
            let others = df(
                "coalesce",
                vec![
                    ident("Channel").in_list(
                        table.excluded_channels.iter().map(|c| lit(*c)).collect(),
                        true,
                    ),
                    lit(true),
                ],
            );
            keep = Some(match keep {
                None => others,
                Some(k) => k.and(others),
            });
        }
        // A field read from the EventData bag (text) takes the type another table gives it.
        branches.push(Branch {
            table: table.table.to_string(),
            filter: keep,
            fields: fields.iter().map(|f| table.field(f)).collect(),
            from_json: fields.iter().map(|f| table.is_bag_field(f)).collect(),
        });
    }
    let plan =
        spoor_events::union(branches, &fields).map_err(|e| plan_error(e, query.scope.span))?;
    Ok((plan, fields))
}

struct Planner {
    plan: LogicalPlan,
    /// The fields shown, in order.
    display: Vec<String>,
}

impl Planner {
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

    fn columns_except(&self, names: &[&str]) -> Vec<Expr> {
        self.schema()
            .fields()
            .iter()
            .filter(|f| !names.contains(&f.name().as_str()))
            .map(|f| Expr::Column(Column::from_name(f.name())))
            .collect()
    }

    /// Adds or replaces columns, all computed from the columns as they were.
    fn with_columns(&mut self, new: Vec<(String, Expr)>, span: Span) -> PResult<()> {
        let names: Vec<&str> = new.iter().map(|(n, _)| n.as_str()).collect();
        let mut exprs = self.columns_except(&names);
        for (name, e) in &new {
            exprs.push(e.clone().alias(name.as_str()));
            if !self.display.contains(name) {
                self.display.push(name.clone());
            }
        }
        let b = LogicalPlanBuilder::from(self.plan.clone()).project(exprs);
        self.rebuild(b, span)
    }

    fn operator(&mut self, op: &Operator) -> PResult<()> {
        match &op.kind {
            OperatorKind::Where(e) => {
                let predicate = self.condition(e)?;
                let b = LogicalPlanBuilder::from(self.plan.clone()).filter(predicate);
                self.rebuild(b, e.span)
            }
            OperatorKind::Assign(items) => {
                // Each assignment sees the ones before it (`eval a = 1, b = a + 1`).
                for ((name, _), e) in items {
                    let x = self.expr(e)?;
                    self.with_columns(vec![(name.clone(), x)], e.span)?;
                }
                Ok(())
            }
            OperatorKind::Parse {
                field,
                pattern,
                names,
                nodrop,
            } => self.parse(field.as_ref(), pattern, names, *nodrop, op.span),
            OperatorKind::Fields { remove, names } => self.fields(*remove, names, op.span),
            OperatorKind::Aggregate { aggregates, by } => self.aggregate(aggregates, by, op.span),
            OperatorKind::Sort(items) => {
                let mut sorts = Vec::new();
                for ((name, at), desc) in items {
                    // Missing values last either way.
                    sorts.push(self.field(name, *at)?.sort(!desc, false));
                }
                let b = LogicalPlanBuilder::from(self.plan.clone()).sort(sorts);
                self.rebuild(b, op.span)
            }
            OperatorKind::Limit(n) => {
                let n = usize::try_from(*n).unwrap_or(usize::MAX);
                let b = LogicalPlanBuilder::from(self.plan.clone()).limit(0, Some(n));
                self.rebuild(b, op.span)
            }
            OperatorKind::Top { n, fields, by } => self.top(*n, fields, by.as_ref(), op.span),
        }
    }

    fn field(&self, name: &str, span: Span) -> PResult<Expr> {
        spoor_events::field_here(self.schema(), name, span)
    }

    /// `fields a, b` keeps a and b (and the `_` fields later operators may read: "Allowlist
    /// queries allow all system internal fields ... to pass") and shows a and b in that order;
    /// `fields - a, b` drops them (fields page).
    fn fields(&mut self, remove: bool, names: &[Name], span: Span) -> PResult<()> {
        let mut seen = HashSet::new();
        for (name, at) in names {
            self.field(name, *at)?;
            if !seen.insert(name.as_str()) {
                return Err(Diagnostic::new(format!("`{name}` is listed twice"), *at));
            }
        }
        let listed: Vec<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
        let exprs: Vec<Expr> = if remove {
            self.display.retain(|d| !listed.contains(&d.as_str()));
            self.columns_except(&listed)
        } else {
            self.display = listed.iter().map(|s| s.to_string()).collect();
            self.schema()
                .fields()
                .iter()
                .filter(|f| listed.contains(&f.name().as_str()) || f.name().starts_with('_'))
                .map(|f| Expr::Column(Column::from_name(f.name())))
                .collect()
        };
        let b = LogicalPlanBuilder::from(self.plan.clone()).project(exprs);
        self.rebuild(b, span)
    }

    fn aggregate(&mut self, aggregates: &[Aggregate], by: &[Name], span: Span) -> PResult<()> {
        let mut groups = Vec::new();
        for (name, at) in by {
            groups.push(self.field(name, *at)?);
        }
        let mut aggs = Vec::new();
        let mut names: Vec<String> = by.iter().map(|(n, _)| n.clone()).collect();
        for a in aggregates {
            let name = a.name();
            if names.contains(&name) {
                return Err(Diagnostic::new(
                    format!("two results are named `{name}`; name them apart with `as`"),
                    a.span,
                ));
            }
            aggs.push(self.aggregate_expr(a)?.alias(name.as_str()));
            names.push(name);
        }
        let b = LogicalPlanBuilder::from(self.plan.clone()).aggregate(groups, aggs);
        self.rebuild(b, span)?;
        self.display = names;
        Ok(())
    }

    fn aggregate_expr(&self, a: &Aggregate) -> PResult<Expr> {
        let Some(arg) = &a.argument else {
            return Ok(df_aggregate("count", vec![lit(1i64)]));
        };
        let x = self.expr(arg)?;
        Ok(match a.function.as_str() {
            "count" => df_aggregate("count", vec![x]),
            "count_distinct" => df_aggregate("count", vec![x])
                .distinct()
                .build()
                .map_err(|e| plan_error(e, a.span))?,
            // sum, avg, min and max read numbers (text is cast, as Sumo casts it).
            "sum" | "avg" | "min" | "max" => {
                let n = self.number(x, arg.span)?;
                df_aggregate(a.function.as_str(), vec![n])
            }
            other => {
                return Err(Diagnostic::new(
                    format!("`{other}` is not an aggregate spoor runs"),
                    a.span,
                ));
            }
        })
    }

    /// `top n f, ... [by g]`: the n most frequent combinations of the fields with their
    /// `_count`, or, `by` a field that is already there (`count user | top 2 user by _count`),
    /// the n rows with its highest values (top page).
    fn top(&mut self, n: u64, fields: &[Name], by: Option<&Name>, span: Span) -> PResult<()> {
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        let order = match by {
            Some((b, _)) if b.eq_ignore_ascii_case("count") => None,
            Some((b, at)) => Some((b.clone(), self.field(b, *at)?)),
            None => None,
        };
        let sort_by = match order {
            Some((name, e)) => {
                let mut exprs = Vec::new();
                for (f, at) in fields {
                    exprs.push(self.field(f, *at)?);
                }
                exprs.push(e.clone());
                let b = LogicalPlanBuilder::from(self.plan.clone()).project(exprs);
                self.rebuild(b, span)?;
                self.display = fields.iter().map(|(f, _)| f.clone()).collect();
                self.display.push(name);
                e
            }
            None => {
                let count = Aggregate {
                    function: "count".into(),
                    argument: None,
                    alias: None,
                    span,
                };
                self.aggregate(&[count], fields, span)?;
                ident("_count")
            }
        };
        let b = LogicalPlanBuilder::from(self.plan.clone())
            .sort(vec![sort_by.sort(false, false)])
            .and_then(|b| b.limit(0, Some(n)));
        self.rebuild(b, span)
    }

    /// `parse`: the anchor pattern or regular expression searched in the field; messages it
    /// does not match are dropped unless `nodrop`, and then keep what the new fields held
    /// before ("If any of the text segments cannot be matched, then none of the variables will
    /// be assigned": parse regex page; nodrop: parse-nodrop-option page).
    fn parse(
        &mut self,
        field: Option<&Name>,
        pattern: &ParsePattern,
        names: &[Name],
        nodrop: bool,
        span: Span,
    ) -> PResult<()> {
        let Some((field, field_span)) = field else {
            let at = match pattern {
                ParsePattern::Anchor(_, s) | ParsePattern::Regex(_, s) => *s,
            };
            return Err(Diagnostic::new(
                "parse without field= reads the raw message text, which spoor's Windows tables \
                 do not keep",
                at,
            )
            .with_hint(
                "name the field to parse: parse field=CommandLine \"* -p *\" as tool, ports",
            ));
        };
        let subject = self.field(field, *field_span)?;
        let subject = self.text(subject, *field_span)?;
        let (regex, targets): (String, Vec<(String, usize)>) = match pattern {
            ParsePattern::Anchor(anchor, at) => {
                let stars = anchor.matches('*').count();
                if stars == 0 {
                    return Err(Diagnostic::new("the pattern has no `*` to capture", *at));
                }
                if anchor.contains("**") {
                    return Err(Diagnostic::new(
                        "`**` is not valid in a parse pattern: wildcards must be separated",
                        *at,
                    )
                    .with_hint("use parse regex instead"));
                }
                if names.len() != stars {
                    return Err(Diagnostic::new(
                        format!(
                            "the pattern captures {stars} value(s) but `as` names {}",
                            names.len()
                        ),
                        *at,
                    ));
                }
                let pieces: Vec<&str> = anchor.split('*').collect();
                let mut re = String::from("(?s)");
                for (i, piece) in pieces.iter().enumerate() {
                    re.push_str(&regex::escape(piece));
                    if i + 1 < pieces.len() {
                        // Up to the next anchor; a `*` that ends the pattern takes the rest.
                        let last = i + 2 == pieces.len() && pieces[i + 1].is_empty();
                        re.push_str(if last { "(.*)" } else { "(.*?)" });
                    }
                }
                let targets = names
                    .iter()
                    .enumerate()
                    .map(|(i, (n, _))| (n.clone(), i + 1))
                    .collect();
                (re, targets)
            }
            ParsePattern::Regex(re, at) => {
                let compiled = check_regex(re, *at)?;
                let targets: Vec<(String, usize)> = compiled
                    .capture_names()
                    .enumerate()
                    .filter_map(|(i, n)| n.map(|n| (n.to_string(), i)))
                    .collect();
                if targets.is_empty() {
                    return Err(Diagnostic::new(
                        "the regular expression has no named group (?<name>...) to make a field of",
                        *at,
                    ));
                }
                (re.clone(), targets)
            }
        };
        let matched = definite(df("regexp_like", vec![subject.clone(), lit(regex.clone())]));
        let mut new = Vec::new();
        for (name, group) in targets {
            let before = if self.schema().has_column_with_unqualified_name(&name) {
                self.text(ident(name.as_str()), span)?
            } else {
                cast(lit(ScalarValue::Null), DataType::Utf8)
            };
            let value = spoor_call(
                "kql_extract",
                vec![lit(regex.clone()), lit(group as i64), subject.clone()],
            );
            new.push((
                name,
                Expr::Case(Case::new(
                    None,
                    vec![(Box::new(matched.clone()), Box::new(value))],
                    Some(Box::new(before)),
                )),
            ));
        }
        if !nodrop {
            let b = LogicalPlanBuilder::from(self.plan.clone()).filter(matched);
            self.rebuild(b, span)?;
        }
        self.with_columns(new, span)
    }

    /// An expression in a place that needs true or false: a condition, or a number (not 0 is
    /// true).
    fn condition(&self, e: &Ast) -> PResult<Expr> {
        let x = self.expr(e)?;
        let t = self.type_of(&x, e.span)?;
        Ok(match t {
            DataType::Boolean => definite(x),
            DataType::Null => lit(false),
            t if t.is_numeric() => definite(x.not_eq(lit(0))),
            t => {
                return Err(Diagnostic::new(
                    format!("expected a condition, found a value of type {t}"),
                    e.span,
                )
                .with_hint("compare it: x = \"value\", x matches \"*part*\", isNull(x)"));
            }
        })
    }

    fn number(&self, x: Expr, span: Span) -> PResult<Expr> {
        Loose(self.schema())
            .number(x)
            .map_err(|e| plan_error(e, span))
    }

    fn text(&self, x: Expr, span: Span) -> PResult<Expr> {
        Loose(self.schema())
            .text(x)
            .map_err(|e| plan_error(e, span))
    }

    /// Both sides of a comparison, read alike: text against a number is read as a number.
    fn comparable(&self, l: Expr, r: Expr, span: Span) -> PResult<(Expr, Expr)> {
        Loose(self.schema())
            .comparable(l, r)
            .map_err(|e| plan_error(e, span))
    }

    /// `subject matches pattern`: a quoted pattern is a wildcard pattern (`*` is any text) and
    /// `/.../` a regular expression; either must match the whole value, case-sensitively
    /// ("The string expression is case-sensitive", matches page:
    /// https://www.sumologic.com/help/docs/search/search-query-language/search-operators/matches/).
    /// A pattern held in a field (`host matches instance_match`, same page) is a wildcard
    /// pattern too.
    fn matches(&self, subject: &Ast, pattern: &Ast, pattern_is_regex: bool) -> PResult<Expr> {
        let s = self.expr(subject)?;
        let s = self.text(s, subject.span)?;
        let matched = match &pattern.kind {
            ExprKind::Regex(re) => self.regex_match(s, re, pattern.span)?,
            ExprKind::Str(p) if pattern_is_regex => self.regex_match(s, p, pattern.span)?,
            ExprKind::Str(p) => df("regexp_like", vec![s, lit(wildcard_regex(p, false))]),
            _ if pattern_is_regex => {
                return Err(Diagnostic::new(
                    "matches() takes the regular expression as a \"string\"",
                    pattern.span,
                ));
            }
            _ => {
                // A wildcard pattern from a field, as a LIKE pattern: `*` is `%`, and `%`, `_`
                // and `\` are escaped.
                let p = self.expr(pattern)?;
                let p = self.text(p, pattern.span)?;
                let escaped = df(
                    "replace",
                    vec![
                        df(
                            "replace",
                            vec![
                                df("replace", vec![p, lit("\\"), lit("\\\\")]),
                                lit("%"),
                                lit("\\%"),
                            ],
                        ),
                        lit("_"),
                        lit("\\_"),
                    ],
                );
                let like_pattern = df("replace", vec![escaped, lit("*"), lit("%")]);
                Expr::Like(Like::new(
                    false,
                    Box::new(s),
                    Box::new(like_pattern),
                    Some('\\'),
                    false,
                ))
            }
        };
        Ok(definite(matched))
    }

    fn regex_match(&self, subject: Expr, re: &str, at: Span) -> PResult<Expr> {
        let anchored = format!("^(?:{re})$");
        check_regex(&anchored, at)?;
        Ok(df("regexp_like", vec![subject, lit(anchored)]))
    }

    fn expr(&self, e: &Ast) -> PResult<Expr> {
        Ok(match &e.kind {
            ExprKind::Field(name) => self.field(name, e.span)?,
            ExprKind::Str(s) => lit(s.clone()),
            ExprKind::Int(i) => lit(*i),
            ExprKind::Float(f) => lit(*f),
            ExprKind::Bool(b) => lit(*b),
            ExprKind::Regex(_) => {
                return Err(Diagnostic::new(
                    "a /regular expression/ stands only after `matches` and in replace()",
                    e.span,
                ));
            }
            ExprKind::List(_) => {
                return Err(Diagnostic::new("a list stands only after `in`", e.span));
            }
            ExprKind::Not(x) => self.condition(x)?.not(),
            ExprKind::Neg(x) => {
                let v = self.expr(x)?;
                Expr::Negative(Box::new(self.number(v, x.span)?))
            }
            ExprKind::Binary(op, l, r) => self.binary(*op, l, r, e.span)?,
            ExprKind::Matches { expr, pattern } => self.matches(expr, pattern, false)?,
            ExprKind::In {
                expr,
                list,
                negated,
            } => {
                let subject = self.expr(expr)?;
                let mut any: Option<Expr> = None;
                for item in list {
                    let v = self.expr(item)?;
                    let (l, r) = self.comparable(subject.clone(), v, item.span)?;
                    let eq = l.eq(r);
                    any = Some(match any {
                        None => eq,
                        Some(a) => a.or(eq),
                    });
                }
                let any = definite(any.unwrap_or(lit(false)));
                if *negated { any.not() } else { any }
            }
            ExprKind::Ternary(c, a, b) => self.if_then_else(c, a, b)?,
            ExprKind::Call {
                name,
                name_span,
                args,
            } => self.call(name, *name_span, args, e.span)?,
        })
    }

    fn if_then_else(&self, c: &Ast, a: &Ast, b: &Ast) -> PResult<Expr> {
        let cond = self.condition(c)?;
        let (mut yes, mut no) = (self.expr(a)?, self.expr(b)?);
        // "The two sub-expressions ... must have the same type" (if page); a number and text
        // meet as text rather than failing.
        let (yt, nt) = (self.type_of(&yes, a.span)?, self.type_of(&no, b.span)?);
        if spoor_events::is_text(&yt) != spoor_events::is_text(&nt)
            && yt != DataType::Null
            && nt != DataType::Null
        {
            yes = self.text(yes, a.span)?;
            no = self.text(no, b.span)?;
        }
        Ok(Expr::Case(Case::new(
            None,
            vec![(Box::new(cond), Box::new(yes))],
            Some(Box::new(no)),
        )))
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
            let (a, b) = self.comparable(a, b, span)?;
            return Ok(definite(match op {
                BinOp::Eq => a.eq(b),
                BinOp::Ne => a.not_eq(b),
                BinOp::Lt => a.lt(b),
                BinOp::Le => a.lt_eq(b),
                BinOp::Gt => a.gt(b),
                _ => a.gt_eq(b),
            }));
        }
        let (a, b) = (self.number(a, l.span)?, self.number(b, r.span)?);
        Ok(match op {
            BinOp::Add => a + b,
            BinOp::Sub => a - b,
            BinOp::Mul => a * b,
            BinOp::Div => cast(a, DataType::Float64) / cast(b, DataType::Float64),
            _ => a % b,
        })
    }

    fn args(
        &self,
        name: &str,
        args: &[Ast],
        n: std::ops::RangeInclusive<usize>,
        span: Span,
    ) -> PResult<()> {
        spoor_events::arity(name, args.len(), n, span)
    }

    fn call(&self, name: &str, name_span: Span, args: &[Ast], span: Span) -> PResult<Expr> {
        let lower = name.to_ascii_lowercase();
        let arg = |i: usize| self.expr(&args[i]);
        let text_arg = |i: usize| self.expr(&args[i]).and_then(|x| self.text(x, args[i].span));
        let num_arg = |i: usize| {
            self.expr(&args[i])
                .and_then(|x| self.number(x, args[i].span))
        };
        Ok(match lower.as_str() {
            "if" => {
                self.args(name, args, 3..=3, span)?;
                self.if_then_else(&args[0], &args[1], &args[2])?
            }
            // isnull-isempty-isblank page: isNull(null) only; isEmpty also ""; isBlank also
            // whitespace.
            "isnull" => {
                self.args(name, args, 1..=1, span)?;
                arg(0)?.is_null()
            }
            "isempty" => {
                self.args(name, args, 1..=1, span)?;
                let x = text_arg(0)?;
                x.clone().is_null().or(definite(x.eq(lit(""))))
            }
            "isblank" => {
                self.args(name, args, 1..=1, span)?;
                let x = text_arg(0)?;
                x.clone()
                    .is_null()
                    .or(definite(df("btrim", vec![x]).eq(lit(""))))
            }
            // Sumo documents `matches` as an operator (`x matches "pattern"`). The function
            // form, as detection content writes it (`matches(field, ".*(a|b).*")`), takes a
            // regular expression in a string: read as a wildcard pattern, such a pattern
            // could never match.
            "matches" => {
                self.args(name, args, 2..=2, span)?;
                self.matches(&args[0], &args[1], true)?
            }
            "contains" => {
                self.args(name, args, 2..=2, span)?;
                definite(df("strpos", vec![text_arg(0)?, text_arg(1)?]).gt(lit(0)))
            }
            "tolowercase" | "touppercase" => {
                self.args(name, args, 1..=1, span)?;
                let f = if lower == "tolowercase" {
                    "lower"
                } else {
                    "upper"
                };
                df(f, vec![text_arg(0)?])
            }
            "concat" => {
                let parts = (0..args.len()).map(text_arg).collect::<PResult<Vec<_>>>()?;
                if parts.is_empty() {
                    return Err(Diagnostic::new("`concat` takes the strings to join", span));
                }
                df("concat", parts)
            }
            "length" => {
                self.args(name, args, 1..=1, span)?;
                df("character_length", vec![text_arg(0)?])
            }
            "trim" => {
                self.args(name, args, 1..=1, span)?;
                df("btrim", vec![text_arg(0)?])
            }
            // substring page: offsets from 0, the end excluded and optional.
            "substring" => {
                self.args(name, args, 2..=3, span)?;
                let start = cast(num_arg(1)?, DataType::Int64);
                let mut parts = vec![text_arg(0)?, start.clone() + lit(1i64)];
                if args.len() == 3 {
                    parts.push(cast(num_arg(2)?, DataType::Int64) - start);
                }
                df("substr", parts)
            }
            // replace page: a string is replaced literally, a /regex/ as a regular expression
            // ($1 and ${name} in the replacement).
            "replace" => {
                self.args(name, args, 3..=3, span)?;
                let subject = text_arg(0)?;
                let replacement = text_arg(2)?;
                match &args[1].kind {
                    ExprKind::Regex(re) => {
                        check_regex(re, args[1].span)?;
                        df(
                            "regexp_replace",
                            vec![subject, lit(re.clone()), replacement, lit("g")],
                        )
                    }
                    _ => df("replace", vec![subject, text_arg(1)?, replacement]),
                }
            }
            // manually-cast-data-string-number page: num() or number(), toLong(), toString().
            "num" | "number" | "tonumber" => {
                self.args(name, args, 1..=1, span)?;
                let x = arg(0)?;
                cast(self.number(x, args[0].span)?, DataType::Float64)
            }
            "tolong" => {
                self.args(name, args, 1..=1, span)?;
                let x = arg(0)?;
                try_cast(self.number(x, args[0].span)?, DataType::Int64)
            }
            "tostring" => {
                self.args(name, args, 1..=1, span)?;
                text_arg(0)?
            }
            "isnumeric" => {
                self.args(name, args, 1..=1, span)?;
                try_cast(text_arg(0)?, DataType::Float64).is_not_null()
            }
            "abs" | "ceil" | "floor" | "sqrt" | "round" => {
                self.args(name, args, 1..=1, span)?;
                df(lower.as_str(), vec![cast(num_arg(0)?, DataType::Float64)])
            }
            "pow" => {
                self.args(name, args, 2..=2, span)?;
                df(
                    "power",
                    vec![
                        cast(num_arg(0)?, DataType::Float64),
                        cast(num_arg(1)?, DataType::Float64),
                    ],
                )
            }
            _ if crate::syntax::AGGREGATES.contains(&lower.as_str()) => {
                return Err(Diagnostic::new(
                    format!(
                        "`{name}` is an aggregate: it stands as an operator (| {lower}(x) by y)"
                    ),
                    name_span,
                ));
            }
            _ => {
                let mut d = Diagnostic::new(
                    format!("the function `{name}` is not supported yet"),
                    name_span,
                );
                if let Some(s) = spoor_core::did_you_mean(name, FUNCTIONS.iter().copied()) {
                    d = d.with_hint(format!("did you mean `{s}`?"));
                }
                return Err(d);
            }
        })
    }
}

/// The functions spoor knows (for suggestions).
const FUNCTIONS: &[&str] = &[
    "if",
    "isNull",
    "isEmpty",
    "isBlank",
    "matches",
    "contains",
    "toLowerCase",
    "toUpperCase",
    "concat",
    "length",
    "trim",
    "substring",
    "replace",
    "num",
    "number",
    "tonumber",
    "toLong",
    "toString",
    "isNumeric",
    "abs",
    "ceil",
    "floor",
    "sqrt",
    "round",
    "pow",
];
