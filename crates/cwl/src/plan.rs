//! Logs Insights commands as a DataFusion plan over the log groups' events.
//!
//! Events of every selected log group are one union with the system fields and every field the
//! query names (null where a group's events do not have it). Logs Insights compares loosely:
//! a field that holds text compared with a number is read as a number, and a number in a
//! Boolean place is true when it is not 0 (`strcontains` returns 1 or 0).

use std::collections::{BTreeSet, HashSet};
use std::ops::Not;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Column, DFSchema};
use datafusion::logical_expr::{
    Expr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder, SortExpr, cast, ident, lit,
};
use spoor_catalog::KqlType;
use spoor_core::{Diagnostic, Span};
use spoor_events::{Branch, Loose, df, df_aggregate, df_window, spoor as call};

use crate::groups::Source;
use crate::syntax::{
    BinOp, Command, CommandKind, Expr as Ast, ExprKind, NamedExpr, ParsePattern, Query,
};

/// What planning needs besides the query.
#[derive(Debug, Clone, Default)]
pub struct CwlOptions {
    /// The log groups to read (`--log-group`): source names (`cloudtrail`, `vpcflow`) or log
    /// group names of exported CloudWatch Logs events. Empty: every source the evidence fills.
    pub log_groups: Vec<String>,
    /// The catalog tables the evidence fills (empty when checking without evidence).
    pub tables_with_data: HashSet<String>,
}

/// A planned query: the plan, the KQL type of each column, and notes (fields that no selected
/// log group has, which are null everywhere).
#[derive(Debug, Clone)]
pub struct PlannedCwl {
    pub plan: LogicalPlan,
    pub types: Vec<KqlType>,
    pub notes: Vec<Diagnostic>,
}

const SYSTEM_FIELDS: [&str; 4] = ["@timestamp", "@message", "@logStream", "@log"];

type PResult<T> = Result<T, Diagnostic>;

use spoor_events::plan_error;

/// Plans a parsed query.
pub fn plan(query: &Query, options: &CwlOptions) -> PResult<PlannedCwl> {
    let mut notes = Vec::new();
    let plan = events(query, options, &mut notes)?;
    let mut p = Planner {
        plan,
        display: Vec::new(),
        shown: false,
        sort: None,
    };
    for command in &query.commands {
        p.command(command)?;
    }
    let shown: Vec<String> = if p.shown {
        p.display.clone()
    } else {
        vec!["@timestamp".into(), "@message".into()]
    };
    let exprs: Vec<Expr> = shown.iter().map(|n| ident(n.as_str())).collect();
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
    Ok(PlannedCwl { plan, types, notes })
}

/// Every field name the query reads, and the names it defines itself (`as`, `parse`).
fn field_names(query: &Query) -> (BTreeSet<String>, BTreeSet<String>) {
    fn walk(e: &Ast, out: &mut BTreeSet<String>) {
        match &e.kind {
            ExprKind::Field(f) => {
                out.insert(f.clone());
            }
            ExprKind::List(items) => items.iter().for_each(|i| walk(i, out)),
            ExprKind::Not(x) | ExprKind::Neg(x) => walk(x, out),
            ExprKind::Binary(_, l, r) => {
                walk(l, out);
                walk(r, out);
            }
            ExprKind::Like { expr, pattern, .. } => {
                walk(expr, out);
                walk(pattern, out);
            }
            ExprKind::In { expr, list, .. } => {
                walk(expr, out);
                list.iter().for_each(|i| walk(i, out));
            }
            ExprKind::Call { args, .. } => args.iter().for_each(|a| walk(a, out)),
            _ => {}
        }
    }
    let (mut read, mut defined) = (BTreeSet::new(), BTreeSet::new());
    let named =
        |items: &[NamedExpr], read: &mut BTreeSet<String>, defined: &mut BTreeSet<String>| {
            for n in items {
                walk(&n.expr, read);
                if let Some((a, _)) = &n.alias {
                    defined.insert(a.clone());
                }
            }
        };
    for c in &query.commands {
        match &c.kind {
            CommandKind::Fields(items) | CommandKind::Display(items) => {
                named(items, &mut read, &mut defined)
            }
            CommandKind::Stats { aggregates, by } => {
                named(aggregates, &mut read, &mut defined);
                named(by, &mut read, &mut defined);
                for n in aggregates.iter().chain(by) {
                    defined.insert(n.name());
                }
            }
            CommandKind::Filter(e) => walk(e, &mut read),
            CommandKind::Sort(items) => items.iter().for_each(|(e, _)| walk(e, &mut read)),
            CommandKind::Dedup(items) => items.iter().for_each(|e| walk(e, &mut read)),
            CommandKind::Parse {
                field,
                pattern,
                names,
            } => {
                walk(field, &mut read);
                for (n, _) in names {
                    defined.insert(n.clone());
                }
                if let ParsePattern::Regex(r, _) = pattern {
                    defined.extend(regex_group_names(r));
                }
            }
            CommandKind::Limit(_) => {}
        }
    }
    (read, defined)
}

fn regex_group_names(pattern: &str) -> Vec<String> {
    regex::Regex::new(pattern)
        .map(|r| r.capture_names().flatten().map(str::to_string).collect())
        .unwrap_or_default()
}

/// The union of the selected log groups' events, with the system fields and every field the
/// query reads.
fn events(
    query: &Query,
    options: &CwlOptions,
    notes: &mut Vec<Diagnostic>,
) -> PResult<LogicalPlan> {
    let mut sources: Vec<Source> = Vec::new();
    let mut export_groups: Vec<String> = Vec::new();
    for name in &options.log_groups {
        match Source::named(name) {
            Some(s) => {
                if !sources.contains(&s) {
                    sources.push(s);
                }
            }
            None => {
                export_groups.push(name.clone());
                if !sources.contains(&Source::CloudWatchExport) {
                    sources.push(Source::CloudWatchExport);
                }
            }
        }
    }
    if sources.is_empty() {
        sources = Source::ALL
            .into_iter()
            .filter(|s| options.tables_with_data.contains(s.table()))
            .collect();
        if sources.is_empty() {
            sources = Source::ALL.to_vec();
        }
    }
    let (read, defined) = field_names(query);
    let mut fields: Vec<String> = SYSTEM_FIELDS.iter().map(|s| s.to_string()).collect();
    for f in &read {
        if fields.contains(f) {
            continue;
        }
        let known = sources
            .iter()
            .any(|s| s.system_field(f).is_some() || s.field(f).is_some());
        if known {
            fields.push(f.clone());
        } else if !defined.contains(f) {
            let span = first_use(query, f);
            let mut d = Diagnostic::new(
                format!("no selected log group has a field `{f}`; it is null in every event"),
                span,
            );
            let candidates: Vec<&str> = known_fields(&sources);
            if let Some(s) = spoor_core::did_you_mean(f, candidates.iter().copied()) {
                d = d.with_hint(format!("did you mean `{s}`?"));
            }
            notes.push(d);
            fields.push(f.clone());
        }
    }
    let mut branches = Vec::new();
    for s in &sources {
        let filter = (*s == Source::CloudWatchExport && !export_groups.is_empty()).then(|| {
            // @log is account-id:log-group-name; a group is named with or without the account.
            export_groups
                .iter()
                .map(|g| {
                    ident("@log")
                        .eq(lit(g.clone()))
                        .or(df("ends_with", vec![ident("@log"), lit(format!(":{g}"))]))
                })
                .reduce(Expr::or)
                .expect("at least one group")
        });
        branches.push(Branch {
            table: s.table().to_string(),
            filter,
            fields: fields
                .iter()
                .map(|f| s.system_field(f).or_else(|| s.field(f)))
                .collect(),
            from_json: fields.iter().map(|f| s.is_json_field(f)).collect(),
        });
    }
    spoor_events::union(branches, &fields).map_err(|e| plan_error(e, Span::empty(0)))
}

/// The discovered field names of the sources (for suggestions).
fn known_fields(sources: &[Source]) -> Vec<&'static str> {
    let mut out = Vec::new();
    for s in sources {
        match s {
            Source::VpcFlow => out.extend([
                "version",
                "accountId",
                "interfaceId",
                "srcAddr",
                "dstAddr",
                "srcPort",
                "dstPort",
                "protocol",
                "packets",
                "bytes",
                "startTime",
                "endTime",
                "action",
                "logStatus",
            ]),
            Source::CloudTrail => {
                if let Some(def) = spoor_catalog::catalog().table("cloudtrail") {
                    out.extend(def.columns.iter().map(|c| c.name.as_str()));
                }
            }
            Source::CloudWatchExport => {}
        }
    }
    out
}

/// The span of the first use of field `name` in the query.
fn first_use(query: &Query, name: &str) -> Span {
    fn find(e: &Ast, name: &str) -> Option<Span> {
        match &e.kind {
            ExprKind::Field(f) if f == name => Some(e.span),
            ExprKind::List(items) => items.iter().find_map(|i| find(i, name)),
            ExprKind::Not(x) | ExprKind::Neg(x) => find(x, name),
            ExprKind::Binary(_, l, r) => find(l, name).or_else(|| find(r, name)),
            ExprKind::Like { expr, pattern, .. } => {
                find(expr, name).or_else(|| find(pattern, name))
            }
            ExprKind::In { expr, list, .. } => {
                find(expr, name).or_else(|| list.iter().find_map(|i| find(i, name)))
            }
            ExprKind::Call { args, .. } => args.iter().find_map(|a| find(a, name)),
            _ => None,
        }
    }
    for c in &query.commands {
        let found = match &c.kind {
            CommandKind::Fields(items) | CommandKind::Display(items) => {
                items.iter().find_map(|n| find(&n.expr, name))
            }
            CommandKind::Stats { aggregates, by } => aggregates
                .iter()
                .chain(by)
                .find_map(|n| find(&n.expr, name)),
            CommandKind::Filter(e) => find(e, name),
            CommandKind::Sort(items) => items.iter().find_map(|(e, _)| find(e, name)),
            CommandKind::Dedup(items) => items.iter().find_map(|e| find(e, name)),
            CommandKind::Parse { field, .. } => find(field, name),
            CommandKind::Limit(_) => None,
        };
        if let Some(s) = found {
            return s;
        }
    }
    Span::empty(0)
}

struct Planner {
    plan: LogicalPlan,
    /// The fields shown, in order.
    display: Vec<String>,
    /// Whether a command chose what is shown (else @timestamp and @message).
    shown: bool,
    /// The last `sort`, which `dedup` keeps the first event of.
    sort: Option<Vec<SortExpr>>,
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

    fn show(&mut self, name: &str) {
        self.shown = true;
        if !self.display.iter().any(|d| d == name) {
            self.display.push(name.to_string());
        }
    }

    /// Adds (or replaces) a column.
    fn with_column(&mut self, name: &str, e: Expr, span: Span) -> PResult<()> {
        self.plan = spoor_events::with_column(self.plan.clone(), name, e)
            .map_err(|err| plan_error(err, span))?;
        Ok(())
    }

    fn command(&mut self, c: &Command) -> PResult<()> {
        match &c.kind {
            CommandKind::Fields(items) => {
                for n in items {
                    let name = n.name();
                    let is_plain_field =
                        n.alias.is_none() && matches!(n.expr.kind, ExprKind::Field(_));
                    if !is_plain_field {
                        let e = self.expr(&n.expr)?;
                        self.with_column(&name, e, n.expr.span)?;
                    } else {
                        self.field(&name, n.expr.span)?;
                    }
                    self.show(&name);
                }
            }
            CommandKind::Display(items) => {
                let mut names = Vec::new();
                for n in items {
                    let name = n.name();
                    if !matches!(n.expr.kind, ExprKind::Field(_)) {
                        let e = self.expr(&n.expr)?;
                        self.with_column(&name, e, n.expr.span)?;
                    } else {
                        self.field(&name, n.expr.span)?;
                    }
                    names.push(name);
                }
                self.display = names;
                self.shown = true;
            }
            CommandKind::Filter(e) => {
                let predicate = self.condition(e)?;
                let b = LogicalPlanBuilder::from(self.plan.clone()).filter(predicate);
                self.rebuild(b, e.span)?;
            }
            CommandKind::Stats { aggregates, by } => self.stats(aggregates, by, c.span)?,
            CommandKind::Sort(items) => {
                let mut sorts = Vec::new();
                for (e, desc) in items {
                    // Logs Insights sorts missing values last either way.
                    sorts.push(self.expr(e)?.sort(!desc, false));
                }
                let b = LogicalPlanBuilder::from(self.plan.clone()).sort(sorts.clone());
                self.rebuild(b, c.span)?;
                self.sort = Some(sorts);
            }
            CommandKind::Limit(n) => {
                let n = usize::try_from(*n).unwrap_or(usize::MAX);
                let b = LogicalPlanBuilder::from(self.plan.clone()).limit(0, Some(n));
                self.rebuild(b, c.span)?;
            }
            CommandKind::Parse {
                field,
                pattern,
                names,
            } => self.parse(field, pattern, names)?,
            CommandKind::Dedup(items) => self.dedup(items, c.span)?,
        }
        Ok(())
    }

    fn field(&self, name: &str, span: Span) -> PResult<Expr> {
        spoor_events::field_here(self.schema(), name, span)
    }

    /// An expression in a place that needs true or false.
    fn condition(&self, e: &Ast) -> PResult<Expr> {
        let x = self.expr(e)?;
        self.truthy(x, e.span)
    }

    fn truthy(&self, x: Expr, span: Span) -> PResult<Expr> {
        self.loose().truthy(x).map_err(|e| plan_error(e, span))
    }

    fn number(&self, x: Expr, span: Span) -> PResult<Expr> {
        self.loose().number(x).map_err(|e| plan_error(e, span))
    }

    fn text(&self, x: Expr, span: Span) -> PResult<Expr> {
        self.loose().text(x).map_err(|e| plan_error(e, span))
    }

    fn comparable(&self, l: Expr, r: Expr, span: Span) -> PResult<(Expr, Expr)> {
        self.loose()
            .comparable(l, r)
            .map_err(|e| plan_error(e, span))
    }

    fn expr(&self, e: &Ast) -> PResult<Expr> {
        Ok(match &e.kind {
            ExprKind::Field(name) => self.field(name, e.span)?,
            ExprKind::Str(s) => lit(s.clone()),
            ExprKind::Int(i) => lit(*i),
            ExprKind::Float(f) => lit(*f),
            ExprKind::Bool(b) => lit(*b),
            ExprKind::Regex(r) => lit(r.clone()),
            ExprKind::Duration(_) => {
                return Err(Diagnostic::new(
                    "a period stands only in bin(), datefloor() and dateceil()",
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
            ExprKind::Like {
                expr,
                pattern,
                negated,
            } => {
                let subject = self.expr(expr)?;
                let subject = self.text(subject, expr.span)?;
                let matched = match &pattern.kind {
                    ExprKind::Str(s) => df("strpos", vec![subject, lit(s.clone())]).gt(lit(0)),
                    ExprKind::Regex(r) => df("regexp_like", vec![subject, lit(r.clone())]),
                    _ => {
                        return Err(Diagnostic::new(
                            "`like` and `=~` take a \"string\" or a /regular expression/",
                            pattern.span,
                        ));
                    }
                };
                let matched = df("coalesce", vec![matched, lit(false)]);
                if *negated { matched.not() } else { matched }
            }
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
                let any = df("coalesce", vec![any.unwrap_or(lit(false)), lit(false)]);
                if *negated { any.not() } else { any }
            }
            ExprKind::Call {
                name,
                name_span,
                args,
                star,
            } => self.call(name, *name_span, args, *star, e.span)?,
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
            let (a, b) = self.comparable(a, b, span)?;
            return Ok(match op {
                BinOp::Eq => a.eq(b),
                BinOp::Ne => a.not_eq(b),
                BinOp::Lt => a.lt(b),
                BinOp::Le => a.lt_eq(b),
                BinOp::Gt => a.gt(b),
                _ => a.gt_eq(b),
            });
        }
        let (a, b) = (self.number(a, l.span)?, self.number(b, r.span)?);
        Ok(match op {
            BinOp::Add => a + b,
            BinOp::Sub => a - b,
            BinOp::Mul => a * b,
            BinOp::Div => cast(a, DataType::Float64) / cast(b, DataType::Float64),
            BinOp::Mod => a % b,
            _ => df(
                "power",
                vec![cast(a, DataType::Float64), cast(b, DataType::Float64)],
            ),
        })
    }

    fn args_exactly(
        &self,
        name: &str,
        args: &[Ast],
        n: std::ops::RangeInclusive<usize>,
        span: Span,
    ) -> PResult<()> {
        spoor_events::arity(name, args.len(), n, span)
    }

    /// A period argument (`5m`) in nanoseconds.
    fn period(&self, e: &Ast) -> PResult<i64> {
        match e.kind {
            ExprKind::Duration(ns) if ns > 0 => Ok(ns),
            _ => Err(Diagnostic::new(
                "expected a period such as 5m, 1h or 1d",
                e.span,
            )),
        }
    }

    fn bin(&self, ts: Expr, ns: i64) -> Expr {
        spoor_events::bin_time(ts, ns)
    }

    fn call(
        &self,
        name: &str,
        name_span: Span,
        args: &[Ast],
        star: bool,
        span: Span,
    ) -> PResult<Expr> {
        let lower = name.to_ascii_lowercase();
        if AGGREGATES.contains(&lower.as_str()) {
            return Err(Diagnostic::new(
                format!("`{name}` is an aggregate: it stands in `stats`"),
                name_span,
            ));
        }
        if star {
            return Err(Diagnostic::new(
                format!("`{name}(*)`: only count takes *"),
                span,
            ));
        }
        let arg = |i: usize| self.expr(&args[i]);
        let text_arg = |i: usize| self.expr(&args[i]).and_then(|x| self.text(x, args[i].span));
        let num_arg = |i: usize| {
            self.expr(&args[i])
                .and_then(|x| self.number(x, args[i].span))
        };
        Ok(match lower.as_str() {
            "strcontains" => {
                self.args_exactly(name, args, 2..=2, span)?;
                let found = df("strpos", vec![text_arg(0)?, text_arg(1)?]).gt(lit(0));
                Expr::Case(datafusion::logical_expr::Case::new(
                    None,
                    vec![(Box::new(found), Box::new(lit(1i64)))],
                    Some(Box::new(lit(0i64))),
                ))
            }
            "ispresent" => {
                self.args_exactly(name, args, 1..=1, span)?;
                arg(0)?.is_not_null()
            }
            "isempty" => {
                self.args_exactly(name, args, 1..=1, span)?;
                let x = text_arg(0)?;
                x.clone().is_null().or(x.eq(lit("")))
            }
            "isblank" => {
                self.args_exactly(name, args, 1..=1, span)?;
                let x = text_arg(0)?;
                x.clone().is_null().or(df("btrim", vec![x]).eq(lit("")))
            }
            "concat" => {
                let parts = (0..args.len()).map(text_arg).collect::<PResult<Vec<_>>>()?;
                df("concat", parts)
            }
            "ltrim" | "rtrim" | "trim" => {
                self.args_exactly(name, args, 1..=2, span)?;
                let f = match lower.as_str() {
                    "ltrim" => "ltrim",
                    "rtrim" => "rtrim",
                    _ => "btrim",
                };
                let parts = (0..args.len()).map(text_arg).collect::<PResult<Vec<_>>>()?;
                df(f, parts)
            }
            "strlen" => {
                self.args_exactly(name, args, 1..=1, span)?;
                df("character_length", vec![text_arg(0)?])
            }
            "toupper" | "tolower" => {
                self.args_exactly(name, args, 1..=1, span)?;
                df(
                    if lower == "toupper" { "upper" } else { "lower" },
                    vec![text_arg(0)?],
                )
            }
            "substr" => {
                // Logs Insights counts from 0; SQL's substr from 1.
                self.args_exactly(name, args, 2..=3, span)?;
                let mut parts = vec![text_arg(0)?, cast(num_arg(1)?, DataType::Int64) + lit(1i64)];
                if args.len() == 3 {
                    parts.push(cast(num_arg(2)?, DataType::Int64));
                }
                df("substr", parts)
            }
            "replace" => {
                self.args_exactly(name, args, 3..=3, span)?;
                df("replace", vec![text_arg(0)?, text_arg(1)?, text_arg(2)?])
            }
            "abs" | "ceil" | "floor" | "sqrt" | "log" => {
                self.args_exactly(name, args, 1..=1, span)?;
                let f = if lower == "log" { "ln" } else { lower.as_str() };
                df(f, vec![cast(num_arg(0)?, DataType::Float64)])
            }
            "greatest" | "least" => {
                let parts = (0..args.len()).map(num_arg).collect::<PResult<Vec<_>>>()?;
                df(lower.as_str(), parts)
            }
            "coalesce" => {
                let parts = (0..args.len()).map(arg).collect::<PResult<Vec<_>>>()?;
                df("coalesce", parts)
            }
            "bin" => {
                self.args_exactly(name, args, 1..=1, span)?;
                self.bin(ident("@timestamp"), self.period(&args[0])?)
            }
            "datefloor" | "dateceil" => {
                self.args_exactly(name, args, 2..=2, span)?;
                let ts = arg(0)?;
                let ns = self.period(&args[1])?;
                let floor = self.bin(ts.clone(), ns);
                if lower == "datefloor" {
                    floor
                } else {
                    Expr::Case(datafusion::logical_expr::Case::new(
                        None,
                        vec![(Box::new(floor.clone().eq(ts)), Box::new(floor.clone()))],
                        Some(Box::new(floor + spoor_events::interval_ns(ns))),
                    ))
                }
            }
            "frommillis" => {
                self.args_exactly(name, args, 1..=1, span)?;
                call(
                    "kql_unixtime_milliseconds_todatetime",
                    vec![cast(num_arg(0)?, DataType::Float64)],
                )
            }
            "tomillis" => {
                self.args_exactly(name, args, 1..=1, span)?;
                cast(
                    cast(arg(0)?, DataType::Int64) / lit(1_000_000i64),
                    DataType::Int64,
                )
            }
            "isvalidip" | "isvalidipv4" => {
                self.args_exactly(name, args, 1..=1, span)?;
                call("kql_parse_ipv4", vec![text_arg(0)?]).is_not_null()
            }
            "isipinsubnet" | "isipv4insubnet" => {
                self.args_exactly(name, args, 2..=2, span)?;
                df(
                    "coalesce",
                    vec![
                        call("kql_ipv4_is_in_range", vec![text_arg(0)?, text_arg(1)?]),
                        lit(false),
                    ],
                )
            }
            _ => {
                let mut d = Diagnostic::new(format!("unknown function `{name}`"), name_span);
                let known = SCALARS.iter().chain(AGGREGATES.iter()).copied();
                if let Some(s) = spoor_core::did_you_mean(name, known) {
                    d = d.with_hint(format!("did you mean `{s}`?"));
                }
                return Err(d);
            }
        })
    }

    fn stats(&mut self, aggregates: &[NamedExpr], by: &[NamedExpr], span: Span) -> PResult<()> {
        let mut group_exprs = Vec::new();
        let mut names = Vec::new();
        for g in by {
            let name = g.name();
            group_exprs.push(self.expr(&g.expr)?.alias(name.as_str()));
            names.push(name);
        }
        let mut aggs = Vec::new();
        let mut finals = Vec::new();
        for a in aggregates {
            let e = self.aggregate_expr(&a.expr, &mut aggs)?;
            finals.push((a.name(), e));
        }
        if aggs.is_empty() {
            return Err(Diagnostic::new(
                "`stats` needs an aggregate: count(*), sum(x), avg(x), ...",
                span,
            ));
        }
        let b = LogicalPlanBuilder::from(self.plan.clone()).aggregate(group_exprs, aggs);
        self.rebuild(b, span)?;
        let mut exprs: Vec<Expr> = names.iter().map(|n| ident(n.as_str())).collect();
        for (name, e) in &finals {
            exprs.push(e.clone().alias(name.as_str()));
        }
        let b = LogicalPlanBuilder::from(self.plan.clone()).project(exprs);
        self.rebuild(b, span)?;
        self.display = names;
        self.display.extend(finals.into_iter().map(|(n, _)| n));
        self.shown = true;
        self.sort = None;
        Ok(())
    }

    /// An expression over aggregates (`sum(bytes) / count(*)`): the aggregates go to `aggs`
    /// under generated names, and the expression reads those.
    fn aggregate_expr(&self, e: &Ast, aggs: &mut Vec<Expr>) -> PResult<Expr> {
        match &e.kind {
            ExprKind::Call {
                name,
                name_span,
                args,
                star,
            } if AGGREGATES.contains(&name.to_ascii_lowercase().as_str()) => {
                let agg = self.aggregate(name, *name_span, args, *star, e.span)?;
                let id = format!("__spoor_agg_{}", aggs.len());
                aggs.push(agg.alias(id.as_str()));
                Ok(ident(id))
            }
            ExprKind::Binary(op, l, r) if !matches!(op, BinOp::And | BinOp::Or) => {
                let (a, b) = (self.aggregate_expr(l, aggs)?, self.aggregate_expr(r, aggs)?);
                Ok(match op {
                    BinOp::Add => a + b,
                    BinOp::Sub => a - b,
                    BinOp::Mul => a * b,
                    BinOp::Div => cast(a, DataType::Float64) / cast(b, DataType::Float64),
                    BinOp::Mod => a % b,
                    _ => {
                        return Err(Diagnostic::new(
                            "only arithmetic combines aggregates in `stats`",
                            e.span,
                        ));
                    }
                })
            }
            ExprKind::Int(i) => Ok(lit(*i)),
            ExprKind::Float(f) => Ok(lit(*f)),
            _ => Err(Diagnostic::new(
                "`stats` computes aggregates: count(*), sum(x), avg(x), min, max, \
                 count_distinct, pct, stddev, earliest, latest",
                e.span,
            )),
        }
    }

    fn aggregate(
        &self,
        name: &str,
        name_span: Span,
        args: &[Ast],
        star: bool,
        span: Span,
    ) -> PResult<Expr> {
        let lower = name.to_ascii_lowercase();
        if lower == "count" && (star || args.is_empty()) {
            return Ok(df_aggregate("count", vec![lit(1i64)]));
        }
        if star {
            return Err(Diagnostic::new(
                format!("`{name}(*)`: only count takes *"),
                span,
            ));
        }
        let want = if lower == "pct" { 2..=2 } else { 1..=1 };
        self.args_exactly(name, args, want, span)?;
        let x = self.expr(&args[0])?;
        let num = |x: Expr| {
            self.number(x, args[0].span)
                .map(|n| cast(n, DataType::Float64))
        };
        let by_time = |asc: bool| vec![ident("@timestamp").sort(asc, false)];
        Ok(match lower.as_str() {
            "count" => df_aggregate("count", vec![x]),
            "count_distinct" => df_aggregate("count", vec![x])
                .distinct()
                .build()
                .map_err(|e| plan_error(e, span))?,
            // Whole numbers sum to a whole number.
            "sum" => df_aggregate("sum", vec![self.number(x, args[0].span)?]),
            "avg" => df_aggregate("avg", vec![num(x)?]),
            "min" | "sortsfirst" => df_aggregate("min", vec![x]),
            "max" | "sortslast" => df_aggregate("max", vec![x]),
            "stddev" => df_aggregate("stddev", vec![num(x)?]),
            "earliest" | "latest" => {
                if !self.schema().has_column_with_unqualified_name("@timestamp") {
                    return Err(Diagnostic::new(
                        format!("`{name}` reads @timestamp, which is gone after an earlier stats"),
                        name_span,
                    ));
                }
                df_aggregate("first_value", vec![x])
                    .order_by(by_time(lower == "earliest"))
                    .build()
                    .map_err(|e| plan_error(e, span))?
            }
            "pct" => {
                let p = match args[1].kind {
                    ExprKind::Int(i) => i as f64,
                    ExprKind::Float(f) => f,
                    _ => {
                        return Err(Diagnostic::new(
                            "the percentile is a number from 0 to 100",
                            args[1].span,
                        ));
                    }
                };
                spoor_events::spoor_aggregate("kql_percentile", vec![num(x)?, lit(p)])
            }
            _ => unreachable!("AGGREGATES lists what is handled"),
        })
    }

    fn parse(
        &mut self,
        field: &Ast,
        pattern: &ParsePattern,
        names: &[(String, Span)],
    ) -> PResult<()> {
        let subject = self.expr(field)?;
        let subject = self.text(subject, field.span)?;
        let (regex, targets): (String, Vec<(String, usize)>) = match pattern {
            ParsePattern::Glob(glob, span) => {
                let stars = glob.matches('*').count();
                if stars == 0 {
                    return Err(Diagnostic::new("the pattern has no `*` to capture", *span));
                }
                if names.len() != stars {
                    return Err(Diagnostic::new(
                        format!(
                            "the pattern captures {stars} value(s) but `as` names {}",
                            names.len()
                        ),
                        *span,
                    ));
                }
                let pieces: Vec<&str> = glob.split('*').collect();
                let mut re = String::new();
                for (i, piece) in pieces.iter().enumerate() {
                    re.push_str(&regex::escape(piece));
                    if i + 1 < pieces.len() {
                        // The last `*` at the end of the pattern takes the rest of the text.
                        let last = i + 2 == pieces.len() && pieces[i + 1].is_empty();
                        re.push_str(if last { "(.*)" } else { "(.*?)" });
                    }
                }
                (
                    format!("(?s){re}"),
                    names
                        .iter()
                        .enumerate()
                        .map(|(i, (n, _))| (n.clone(), i + 1))
                        .collect(),
                )
            }
            ParsePattern::Regex(re, span) => {
                if !names.is_empty() {
                    return Err(Diagnostic::new(
                        "a regular expression names its fields itself, with (?<name>...) groups; drop `as`",
                        names[0].1,
                    ));
                }
                let compiled = regex::Regex::new(re).map_err(|e| {
                    Diagnostic::new(format!("invalid regular expression: {e}"), *span)
                })?;
                let targets: Vec<(String, usize)> = compiled
                    .capture_names()
                    .enumerate()
                    .filter_map(|(i, n)| n.map(|n| (n.to_string(), i)))
                    .collect();
                if targets.is_empty() {
                    return Err(Diagnostic::new(
                        "the regular expression has no named group (?<name>...) to make a field of",
                        *span,
                    ));
                }
                (re.clone(), targets)
            }
        };
        for (name, group) in targets {
            // No match leaves the field absent (Kusto's extract gives "").
            let e = df(
                "nullif",
                vec![
                    call(
                        "kql_extract",
                        vec![lit(regex.clone()), lit(group as i64), subject.clone()],
                    ),
                    lit(""),
                ],
            );
            self.with_column(&name, e, field.span)?;
        }
        Ok(())
    }

    fn dedup(&mut self, items: &[Ast], span: Span) -> PResult<()> {
        let keys = items
            .iter()
            .map(|e| self.expr(e))
            .collect::<PResult<Vec<_>>>()?;
        let order = self.sort.clone().unwrap_or_default();
        let rank = df_window("row_number", vec![])
            .partition_by(keys)
            .order_by(order.clone())
            .build()
            .map_err(|e| plan_error(e, span))?
            .alias("__spoor_dedup_rank");
        let columns: Vec<Expr> = self
            .schema()
            .fields()
            .iter()
            .map(|f| Expr::Column(Column::from_name(f.name())))
            .collect();
        let mut b = LogicalPlanBuilder::from(self.plan.clone())
            .window(vec![rank])
            .and_then(|b| b.filter(ident("__spoor_dedup_rank").eq(lit(1u64))))
            .and_then(|b| b.project(columns));
        if !order.is_empty() {
            b = b.and_then(|b| b.sort(order));
        }
        self.rebuild(b, span)
    }
}

/// The scalar functions spoor knows (for suggestions).
const SCALARS: &[&str] = &[
    "strcontains",
    "ispresent",
    "isempty",
    "isblank",
    "concat",
    "ltrim",
    "rtrim",
    "trim",
    "strlen",
    "toupper",
    "tolower",
    "substr",
    "replace",
    "abs",
    "ceil",
    "floor",
    "sqrt",
    "log",
    "greatest",
    "least",
    "coalesce",
    "bin",
    "datefloor",
    "dateceil",
    "fromMillis",
    "toMillis",
    "isValidIp",
    "isValidIpV4",
    "isIpInSubnet",
    "isIpv4InSubnet",
];

/// The aggregates of `stats` (lower case).
const AGGREGATES: &[&str] = &[
    "count",
    "count_distinct",
    "sum",
    "avg",
    "min",
    "max",
    "stddev",
    "earliest",
    "latest",
    "pct",
    "sortsfirst",
    "sortslast",
];
