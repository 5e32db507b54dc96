//! Sigma front-end for spoor: Sigma rules (and the filters that tune them) compiled to DataFusion
//! logical plans over the catalog's tables.
//!
//! - Parsing is `rsigma-parser`'s (the whole specification: modifiers, conditions, correlations,
//!   filters, multi-document files).
//! - [`mapping`] says where a rule's log source lives (`windows/process_creation` is Sysmon event
//!   1 and Security event 4688) and what its fields are called there; the mapping is data.
//! - [`compile`] turns a detection into a predicate; [`compile_rule`] makes one plan per table
//!   the rule can run on: `Filter(log source conditions AND detection AND filters)` over the
//!   table's scan. A table that lacks a field the rule needs is left out (never a silently
//!   weaker rule); a rule left with no table does not load, with the reason.
//! - [`correlate`] runs correlation rules over the rows their rules matched ([`run_correlations`]).
//!
//! ```
//! let yaml = "title: whoami\nlogsource: {product: windows, category: process_creation}\n\
//!             detection:\n  sel: {Image|endswith: '\\whoami.exe'}\n  condition: sel\n";
//! let ctx = spoor_sigma::Context::default();
//! let loaded = spoor_sigma::load_text(yaml, "whoami.yml", &ctx);
//! assert_eq!(loaded.rules.len(), 1);
//! assert_eq!(loaded.rules[0].targets[0].table, "Sysmon");
//! ```

pub mod compile;
pub mod correlate;
pub mod mapping;
pub mod reference;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::common::TableReference;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, LogicalTableSource};
use rsigma_parser::{
    CorrelationCondition, CorrelationRule, CorrelationType, FilterRule, FilterRuleTarget,
    SigmaCollection, SigmaRule, WindowMode,
};
use spoor_catalog::catalog;

pub use compile::{CompileError, Placeholders};
pub use correlate::{CompiledCorrelation, CorrelationHit};
pub use mapping::Mappings;

/// What compiling needs besides the rules.
#[derive(Debug)]
pub struct Context {
    pub mappings: Mappings,
    pub placeholders: Placeholders,
}

impl Default for Context {
    fn default() -> Self {
        Context {
            mappings: Mappings::built_in(),
            placeholders: Placeholders::new(),
        }
    }
}

/// A rule compiled to plans.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// The file the rule came from.
    pub origin: String,
    pub id: Option<String>,
    pub title: String,
    pub level: Option<String>,
    pub tags: Vec<String>,
    /// One plan per table the rule runs on.
    pub targets: Vec<CompiledTarget>,
    /// Tables of the rule's log source that cannot run it, and why.
    pub skipped: Vec<(String, String)>,
    /// The parsed rule (for the reference evaluator and reports).
    pub rule: Arc<SigmaRule>,
    /// The filters applied to it.
    pub filters: usize,
}

/// A rule's plan over one table.
#[derive(Debug, Clone)]
pub struct CompiledTarget {
    pub table: String,
    /// The conditions that pick the log source's events out of the table (`EventID = 1`),
    /// shared by every rule of the log source.
    pub source: Option<Expr>,
    /// The rule's own predicate (detection and filters), to be read with `source`.
    pub detection: Expr,
    /// The mapping entry that placed the rule on this table.
    pub mapping: mapping::Target,
}

impl CompiledTarget {
    /// The rule as a plan of its own: `Filter(source AND detection)` over the table's scan.
    /// (A rule set does not need it: [`group_by_source`] shares one scan between rules.)
    pub fn plan(&self) -> Result<LogicalPlan, String> {
        let def = catalog()
            .table(&self.table)
            .ok_or_else(|| format!("the catalog has no table {}", self.table))?;
        let predicate = match &self.source {
            Some(s) => s.clone().and(self.detection.clone()),
            None => self.detection.clone(),
        };
        let table = Arc::new(LogicalTableSource::new(def.schema()));
        LogicalPlanBuilder::scan(TableReference::bare(def.name.as_str()), table, None)
            .and_then(|b| b.filter(predicate))
            .and_then(|b| b.build())
            .map_err(|e| format!("planning failed: {}", e.strip_backtrace()))
    }
}

/// A rule (or a document of a rule file) that did not load, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadFailure {
    pub origin: String,
    /// The rule's title when it has one.
    pub title: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for LoadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.title {
            Some(t) => write!(f, "{}: {t}: {}", self.origin, self.reason),
            None => write!(f, "{}: {}", self.origin, self.reason),
        }
    }
}

/// Rules loaded from files.
#[derive(Debug, Default)]
pub struct Loaded {
    pub rules: Vec<CompiledRule>,
    /// Correlation rules, each after the correlations it refers to.
    pub correlations: Vec<CompiledCorrelation>,
    pub failures: Vec<LoadFailure>,
    /// Filters read (applied to the rules they name).
    pub filters: usize,
}

impl Loaded {
    /// Rules and correlations that loaded.
    pub fn loaded(&self) -> usize {
        self.rules.len() + self.correlations.len()
    }

    /// Whether each rule reports its own matches: not when correlations refer to it and none
    /// of them says `generate: true` (the specification's default is the correlation alone).
    pub fn standalone_rules(&self) -> Vec<bool> {
        let mut referred = vec![false; self.rules.len()];
        let mut generated = vec![false; self.rules.len()];
        for c in &self.correlations {
            for input in &c.inputs {
                if let correlate::InputSource::Rule { rule, .. } = input.source {
                    referred[rule] = true;
                    generated[rule] |= c.generate;
                }
            }
        }
        referred
            .iter()
            .zip(&generated)
            .map(|(r, g)| !r || *g)
            .collect()
    }
}

/// Loads one rule file's text (its filters apply to its own rules).
pub fn load_text(text: &str, origin: &str, ctx: &Context) -> Loaded {
    let mut parsed = Vec::new();
    let mut failures = Vec::new();
    read_collection(text, origin, &mut parsed, &mut failures);
    compile_all(parsed, failures, ctx)
}

/// Loads every `.yml`/`.yaml` file under `paths` (files, or folders walked in name order).
/// Filters in any of the files apply to the rules they name in all of them.
pub fn load_paths(paths: &[PathBuf], ctx: &Context) -> Loaded {
    let mut files = Vec::new();
    for p in paths {
        walk(p, &mut files);
    }
    let mut parsed = Vec::new();
    let mut failures = Vec::new();
    for f in files {
        let origin = f.display().to_string();
        match std::fs::read_to_string(&f) {
            Ok(text) => read_collection(&text, &origin, &mut parsed, &mut failures),
            Err(e) => failures.push(LoadFailure {
                origin,
                title: None,
                reason: format!("cannot read the file: {e}"),
            }),
        }
    }
    compile_all(parsed, failures, ctx)
}

fn walk(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        entries.sort();
        for e in entries {
            walk(&e, out);
        }
    } else if !path.exists()
        || path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
    {
        // A path that does not exist is kept, so that reading it reports it.
        out.push(path.to_path_buf());
    }
}

/// One file's parsed documents.
struct Parsed {
    origin: String,
    collection: SigmaCollection,
    /// The title of each correlation document and whether it gives a condition.
    correlation_conditions: Vec<(String, bool)>,
}

impl Parsed {
    /// Whether the YAML of a correlation gave a condition. (The parser reads an absent
    /// condition of the temporal types as `gte: 1`; the specification means every rule.)
    fn has_condition(&self, c: &CorrelationRule) -> bool {
        self.correlation_conditions
            .iter()
            .find(|(title, _)| *title == c.title)
            .is_none_or(|(_, has)| *has)
    }
}

fn correlation_conditions(text: &str) -> Vec<(String, bool)> {
    use serde::Deserialize;
    let mut out = Vec::new();
    for doc in yaml_serde::Deserializer::from_str(text) {
        // The parser has reported a document that is not YAML; the stream ends there.
        let Ok(value) = yaml_serde::Value::deserialize(doc) else {
            break;
        };
        if let Some(correlation) = value.get("correlation") {
            let title = value.get("title").and_then(|t| t.as_str()).unwrap_or("");
            out.push((title.to_string(), correlation.get("condition").is_some()));
        }
    }
    out
}

fn read_collection(
    text: &str,
    origin: &str,
    parsed: &mut Vec<Parsed>,
    failures: &mut Vec<LoadFailure>,
) {
    match rsigma_parser::parse_sigma_yaml(text) {
        Ok(collection) => {
            for e in &collection.errors {
                failures.push(LoadFailure {
                    origin: origin.to_string(),
                    title: None,
                    reason: e.clone(),
                });
            }
            parsed.push(Parsed {
                origin: origin.to_string(),
                correlation_conditions: correlation_conditions(text),
                collection,
            });
        }
        Err(e) => failures.push(LoadFailure {
            origin: origin.to_string(),
            title: None,
            reason: e.to_string(),
        }),
    }
}

fn compile_all(parsed: Vec<Parsed>, mut failures: Vec<LoadFailure>, ctx: &Context) -> Loaded {
    let filters: Vec<&FilterRule> = parsed
        .iter()
        .flat_map(|p| p.collection.filters.iter())
        .collect();
    let mut rules = Vec::new();
    for p in &parsed {
        for rule in &p.collection.rules {
            let applying: Vec<&FilterRule> = filters
                .iter()
                .copied()
                .filter(|f| filter_applies(f, rule))
                .collect();
            match compile_rule(rule, &applying, &p.origin, ctx) {
                Ok(r) => rules.push(r),
                Err(reason) => failures.push(LoadFailure {
                    origin: p.origin.clone(),
                    title: Some(rule.title.clone()),
                    reason,
                }),
            }
        }
    }
    let correlations = link_correlations(&parsed, &rules, ctx, &mut failures);
    Loaded {
        rules,
        correlations,
        failures,
        filters: filters.len(),
    }
}

/// How far linking a correlation has come (to find cycles).
#[derive(Clone)]
enum Link {
    Pending,
    Visiting,
    Done(Result<usize, String>),
}

/// Links every correlation to the rules and correlations it names, inner correlations first;
/// one that cannot be linked is a load failure with the reason.
fn link_correlations(
    parsed: &[Parsed],
    rules: &[CompiledRule],
    ctx: &Context,
    failures: &mut Vec<LoadFailure>,
) -> Vec<CompiledCorrelation> {
    let docs: Vec<(&Parsed, &CorrelationRule)> = parsed
        .iter()
        .flat_map(|p| p.collection.correlations.iter().map(move |c| (p, c)))
        .collect();
    let mut linker = Linker {
        docs: &docs,
        rules,
        ctx,
        state: vec![Link::Pending; docs.len()],
        out: Vec::new(),
    };
    for (d, (parsed, c)) in docs.iter().enumerate() {
        if let Err(reason) = linker.link(d) {
            failures.push(LoadFailure {
                origin: parsed.origin.clone(),
                title: Some(c.title.clone()),
                reason,
            });
        }
    }
    linker.out
}

struct Linker<'a> {
    docs: &'a [(&'a Parsed, &'a CorrelationRule)],
    rules: &'a [CompiledRule],
    ctx: &'a Context,
    state: Vec<Link>,
    out: Vec<CompiledCorrelation>,
}

impl Linker<'_> {
    fn link(&mut self, d: usize) -> Result<usize, String> {
        match &self.state[d] {
            Link::Done(r) => return r.clone(),
            Link::Visiting => {
                return Err("its correlations refer to each other in a cycle".into());
            }
            Link::Pending => {}
        }
        self.state[d] = Link::Visiting;
        let result = self.compile(d);
        self.state[d] = Link::Done(result.clone());
        result
    }

    fn compile(&mut self, d: usize) -> Result<usize, String> {
        use correlate::{Condition, Input, InputSource};
        let (parsed, c) = self.docs[d];
        if c.window != WindowMode::Sliding {
            return Err(format!(
                "window: {} is an rsigma extension; spoor evaluates Sigma's sliding windows",
                c.window.as_str()
            ));
        }
        let (condition, field, percentile) = match &c.condition {
            CorrelationCondition::Threshold {
                predicates,
                field,
                percentile,
            } => {
                let temporal = matches!(
                    c.correlation_type,
                    CorrelationType::Temporal | CorrelationType::TemporalOrdered
                );
                let predicates = if temporal && !parsed.has_condition(c) {
                    vec![(rsigma_parser::ConditionOperator::Gte, c.rules.len() as f64)]
                } else {
                    predicates.iter().map(|(op, v)| (*op, *v as f64)).collect()
                };
                (
                    Condition::Threshold(predicates),
                    field.clone().unwrap_or_default(),
                    *percentile,
                )
            }
            CorrelationCondition::Extended(expr) => {
                if c.correlation_type != CorrelationType::Temporal {
                    return Err(format!(
                        "an expression condition is for temporal correlations, not {}",
                        c.correlation_type.as_str()
                    ));
                }
                correlate::check_expression(expr, &c.rules)?;
                (Condition::Expression(expr.clone()), Vec::new(), None)
            }
        };
        let measures_values = matches!(
            c.correlation_type,
            CorrelationType::ValueCount
                | CorrelationType::ValueSum
                | CorrelationType::ValueAvg
                | CorrelationType::ValuePercentile
                | CorrelationType::ValueMedian
        );
        if measures_values && field.is_empty() {
            return Err(format!(
                "a {} correlation needs the field it measures (condition: field: NAME)",
                c.correlation_type.as_str()
            ));
        }
        if measures_values && c.correlation_type != CorrelationType::ValueCount && field.len() > 1 {
            return Err(format!(
                "a {} correlation measures one field, not {}",
                c.correlation_type.as_str(),
                field.join(", ")
            ));
        }
        let field = if measures_values { field } else { Vec::new() };
        if c.rules.is_empty() {
            return Err("the correlation names no rules".into());
        }
        let mut inputs = Vec::new();
        for reference in &c.rules {
            let source = if let Some(rule) = self.rules.iter().position(|r| {
                r.id.as_deref() == Some(reference) || r.rule.name.as_deref() == Some(reference)
            }) {
                self.rule_input(c, reference, rule, &field)?
            } else if let Some(inner) = self.docs.iter().position(|(_, o)| {
                o.id.as_deref() == Some(reference) || o.name.as_deref() == Some(reference)
            }) {
                let index = self
                    .link(inner)
                    .map_err(|why| format!("it refers to correlation {reference}: {why}"))?;
                let inner = &self.out[index];
                let positions =
                    |names: &[String]| -> Result<Vec<usize>, String> {
                        names
                            .iter()
                            .map(|name| {
                                let name = alias(c, name, reference, &[])?;
                                inner.group_by.iter().position(|g| *g == name).ok_or_else(|| {
                                format!(
                                    "correlation {reference} does not group by {name}, so its \
                                     results have no such field"
                                )
                            })
                            })
                            .collect()
                    };
                InputSource::Correlation {
                    correlation: index,
                    group_positions: positions(&c.group_by)?,
                    value_positions: positions(&field)?,
                }
            } else {
                return Err(format!(
                    "it refers to {reference}, which is not the id or name of a loaded rule \
                     (load the rule's file with it, or see why that rule did not load)"
                ));
            };
            inputs.push(Input {
                reference: reference.clone(),
                source,
            });
        }
        self.out.push(CompiledCorrelation {
            origin: parsed.origin.clone(),
            id: c.id.clone(),
            name: c.name.clone(),
            title: c.title.clone(),
            level: c.level.as_ref().map(|l| format!("{l:?}").to_lowercase()),
            tags: c.tags.clone(),
            kind: c.correlation_type,
            inputs,
            group_by: c.group_by.clone(),
            timespan: c.timespan.original.clone(),
            timespan_ns: (c.timespan.seconds as i64).saturating_mul(1_000_000_000),
            condition,
            percentile: match c.correlation_type {
                CorrelationType::ValueMedian => 50.0,
                _ => percentile.unwrap_or(50) as f64,
            },
            value_field_names: field,
            generate: c.generate,
        });
        Ok(self.out.len() - 1)
    }

    /// How a detection rule's matched rows become a correlation's events, per target.
    fn rule_input(
        &self,
        c: &CorrelationRule,
        reference: &str,
        rule: usize,
        field: &[String],
    ) -> Result<correlate::InputSource, String> {
        let compiled = &self.rules[rule];
        let names_of_rule: Vec<&str> = [compiled.id.as_deref(), compiled.rule.name.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        let group_names = c
            .group_by
            .iter()
            .map(|g| alias(c, g, reference, &names_of_rule))
            .collect::<Result<Vec<_>, _>>()?;
        let value_names = field
            .iter()
            .map(|g| alias(c, g, reference, &names_of_rule))
            .collect::<Result<Vec<_>, _>>()?;
        let mut targets = Vec::new();
        let mut missing = Vec::new();
        for t in &compiled.targets {
            let def = catalog()
                .table(&t.table)
                .expect("a compiled target names a catalog table");
            let compiler = compiler(def, &t.mapping, self.ctx);
            let time = def.time_column().map(|c| {
                datafusion::logical_expr::col(datafusion::common::Column::from_name(&c.name))
            });
            let mut lacking: Vec<String> = Vec::new();
            let mut read = |names: &[String]| -> Vec<Expr> {
                names
                    .iter()
                    .filter_map(|n| {
                        let e = compiler.field_text(n);
                        if e.is_none() {
                            lacking.push(n.clone());
                        }
                        e
                    })
                    .collect()
            };
            let group = read(&group_names);
            let value = read(&value_names);
            if time.is_none() {
                lacking.push("a time column".into());
            }
            match time {
                Some(time) if lacking.is_empty() => {
                    targets.push(Some(correlate::Projection { time, group, value }))
                }
                _ => {
                    missing.push(format!("{}: no {}", t.table, lacking.join(", ")));
                    targets.push(None);
                }
            }
        }
        if targets.iter().all(Option::is_none) {
            return Err(format!(
                "rule {reference} runs on no table that has the fields the correlation reads ({})",
                missing.join("; ")
            ));
        }
        Ok(correlate::InputSource::Rule { rule, targets })
    }
}

/// The field a group-by (or value) name reads in the events of one referenced rule: an alias's
/// field for that rule, else the name itself.
fn alias(
    c: &CorrelationRule,
    name: &str,
    reference: &str,
    other_names: &[&str],
) -> Result<String, String> {
    let Some(a) = c.aliases.iter().find(|a| a.alias == name) else {
        return Ok(name.to_string());
    };
    std::iter::once(reference)
        .chain(other_names.iter().copied())
        .find_map(|r| a.mapping.get(r).cloned())
        .ok_or_else(|| format!("alias {name} gives no field for rule {reference}"))
}

/// Every correlation's results over the rows its rules matched (`hits[rule][target]`, as the
/// rules' targets order them).
pub fn run_correlations(
    loaded: &Loaded,
    hits: &[Vec<Vec<datafusion::arrow::record_batch::RecordBatch>>],
) -> Result<Vec<Vec<CorrelationHit>>, String> {
    use correlate::{Event, InputSource};
    let mut results: Vec<Vec<CorrelationHit>> = Vec::with_capacity(loaded.correlations.len());
    for c in &loaded.correlations {
        let mut events = Vec::new();
        for (i, input) in c.inputs.iter().enumerate() {
            match &input.source {
                InputSource::Rule { rule, targets } => {
                    for (ti, projection) in targets.iter().enumerate() {
                        let Some(projection) = projection else {
                            continue;
                        };
                        let table = &loaded.rules[*rule].targets[ti].table;
                        let def = catalog().table(table).expect("a catalog table");
                        correlate::rule_events(
                            i,
                            projection,
                            &df_schema(def),
                            &hits[*rule][ti],
                            &mut events,
                        )
                        .map_err(|e| format!("{}: reading {table}: {e}", c.title))?;
                    }
                }
                InputSource::Correlation {
                    correlation,
                    group_positions,
                    value_positions,
                } => {
                    for h in &results[*correlation] {
                        let pick = |p: &[usize]| -> Vec<String> {
                            p.iter().map(|&p| h.group[p].clone()).collect()
                        };
                        events.push(Event {
                            time: h.last,
                            input: i,
                            group: pick(group_positions),
                            value: (!value_positions.is_empty())
                                .then(|| pick(value_positions).join("\u{1f}")),
                        });
                    }
                }
            }
        }
        results.push(correlate::correlate(c, events));
    }
    Ok(results)
}

/// Whether a filter names this rule (by id or name) and shares its log source.
fn filter_applies(filter: &FilterRule, rule: &SigmaRule) -> bool {
    let named = match &filter.rules {
        FilterRuleTarget::Any => true,
        FilterRuleTarget::Specific(refs) => refs.iter().any(|r| {
            rule.id.as_deref() == Some(r.as_str()) || rule.name.as_deref() == Some(r.as_str())
        }),
    };
    let same_source = filter.logsource.as_ref().is_none_or(|ls| {
        let same = |a: &Option<String>, b: &Option<String>| {
            a.as_ref()
                .is_none_or(|a| b.as_ref().is_some_and(|b| a.eq_ignore_ascii_case(b)))
        };
        same(&ls.product, &rule.logsource.product)
            && same(&ls.category, &rule.logsource.category)
            && same(&ls.service, &rule.logsource.service)
    });
    named && same_source
}

/// Compiles a rule, with the filters that apply to it, to one plan per table of its log source.
pub fn compile_rule(
    rule: &SigmaRule,
    filters: &[&FilterRule],
    origin: &str,
    ctx: &Context,
) -> Result<CompiledRule, String> {
    if let Some(tf) = &rule.detection.timeframe {
        return Err(format!(
            "timeframe {tf} with an aggregation condition is Sigma's deprecated form of a \
             correlation; not supported"
        ));
    }
    let Some(targets) = ctx.mappings.targets(&rule.logsource) else {
        return Err(format!(
            "no table for log source {}: spoor reads no such logs (add a mapping with \
             --sigma-mapping FILE)",
            mapping::describe(&rule.logsource)
        ));
    };
    let mut compiled = Vec::new();
    let mut skipped = Vec::new();
    for target in targets {
        if target.fallback && !compiled.is_empty() {
            continue;
        }
        match compile_target(rule, filters, target, ctx) {
            Ok((source, detection)) => compiled.push(CompiledTarget {
                table: target.table.clone(),
                source,
                detection,
                mapping: target.clone(),
            }),
            Err(CompileError::MissingFields(fields)) => {
                let mut fields = fields;
                fields.sort();
                fields.dedup();
                skipped.push((
                    target.table.clone(),
                    CompileError::MissingFields(fields).to_string(),
                ))
            }
            // Not a matter of the table: the rule itself cannot be compiled.
            Err(e @ CompileError::Unsupported(_)) => return Err(e.to_string()),
        }
    }
    if compiled.is_empty() {
        let why: Vec<String> = skipped.iter().map(|(t, r)| format!("{t}: {r}")).collect();
        return Err(format!(
            "no table of log source {} can run it ({})",
            mapping::describe(&rule.logsource),
            why.join("; ")
        ));
    }
    Ok(CompiledRule {
        origin: origin.to_string(),
        id: rule.id.clone(),
        title: rule.title.clone(),
        level: rule.level.as_ref().map(|l| format!("{l:?}").to_lowercase()),
        tags: rule.tags.clone(),
        targets: compiled,
        skipped,
        rule: Arc::new(rule.clone()),
        filters: filters.len(),
    })
}

fn compile_target(
    rule: &SigmaRule,
    filters: &[&FilterRule],
    target: &mapping::Target,
    ctx: &Context,
) -> Result<(Option<Expr>, Expr), CompileError> {
    let Some(def) = catalog().table(&target.table) else {
        return Err(CompileError::Unsupported(format!(
            "the mapping names table {}, which the catalog does not have",
            target.table
        )));
    };
    let compiler = compiler(def, target, ctx);
    let mut detection = compiler.detections(&rule.detection.named, &rule.detection.conditions)?;
    for f in filters {
        detection =
            detection.and(compiler.detections(&f.detection.named, &f.detection.conditions)?);
    }
    let source = compiler.target_conditions()?;
    // Type-check now: a rule whose expression does not type-check is that rule's error, not a
    // failure of the scan that runs it with every other rule of its table.
    let schema = df_schema(def);
    for e in source.iter().chain(std::iter::once(&detection)) {
        use datafusion::logical_expr::ExprSchemable;
        match e.get_type(&schema) {
            Ok(datafusion::arrow::datatypes::DataType::Boolean) => {}
            Ok(other) => {
                return Err(CompileError::Unsupported(format!(
                    "the compiled condition is {other}, not a boolean"
                )));
            }
            Err(err) => {
                return Err(CompileError::Unsupported(format!(
                    "the compiled condition does not type-check: {}",
                    err.strip_backtrace()
                )));
            }
        }
    }
    Ok((source, detection))
}

/// The compiler of a mapping target's table, with the context's names and placeholders.
fn compiler<'a>(
    def: &'a spoor_catalog::TableDef,
    target: &'a mapping::Target,
    ctx: &'a Context,
) -> compile::Compiler<'a> {
    compile::Compiler {
        def,
        target,
        table: ctx.mappings.table(&target.table),
        placeholders: &ctx.placeholders,
    }
}

/// A table's schema as DataFusion plans with it, built once per table.
fn df_schema(def: &spoor_catalog::TableDef) -> Arc<datafusion::common::DFSchema> {
    use std::sync::{Mutex, OnceLock};
    static SCHEMAS: OnceLock<Mutex<HashMap<String, Arc<datafusion::common::DFSchema>>>> =
        OnceLock::new();
    let mut schemas = SCHEMAS
        .get_or_init(Default::default)
        .lock()
        .expect("the schema cache");
    Arc::clone(schemas.entry(def.name.clone()).or_insert_with(|| {
        Arc::new(
            datafusion::common::DFSchema::try_from_qualified_schema(
                TableReference::bare(def.name.as_str()),
                &def.schema(),
            )
            .expect("a catalog schema"),
        )
    }))
}

/// A log source condition and the `(rule, target)` pairs that share it.
pub type SourceGroup = (Option<Expr>, Vec<(usize, usize)>);

/// The `(rule, target)` pairs of one table grouped by their log source conditions, in first
/// appearance order: each group's condition is evaluated once for all its rules.
pub fn group_by_source(rules: &[CompiledRule], pairs: &[(usize, usize)]) -> Vec<SourceGroup> {
    let mut groups: Vec<SourceGroup> = Vec::new();
    let mut index: HashMap<Option<Expr>, usize> = HashMap::new();
    for &(ri, ti) in pairs {
        let source = rules[ri].targets[ti].source.clone();
        let g = *index.entry(source.clone()).or_insert_with(|| {
            groups.push((source, Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push((ri, ti));
    }
    groups
}

/// What [`group_by_source`]'s groups ask of a scan: each group's condition and its members'
/// detections, in the same order (the shape `Engine::filter_many` takes).
pub fn scan_predicates(
    rules: &[CompiledRule],
    groups: &[SourceGroup],
) -> Vec<(Option<Expr>, Vec<Expr>)> {
    groups
        .iter()
        .map(|(source, members)| {
            let detections = members
                .iter()
                .map(|&(ri, ti)| rules[ri].targets[ti].detection.clone())
                .collect();
            (source.clone(), detections)
        })
        .collect()
}

/// A placeholder file: YAML `name: [value, ...]` (a single value may stand alone).
pub fn parse_placeholders(text: &str) -> Result<Placeholders, String> {
    let map: HashMap<String, yaml_serde::Value> =
        yaml_serde::from_str(text).map_err(|e| e.to_string())?;
    let scalar = |v: &yaml_serde::Value| -> Result<String, String> {
        match v {
            yaml_serde::Value::String(s) => Ok(s.clone()),
            yaml_serde::Value::Number(n) => Ok(n.to_string()),
            yaml_serde::Value::Bool(b) => Ok(b.to_string()),
            other => Err(format!("expected text, found {other:?}")),
        }
    };
    map.into_iter()
        .map(|(k, v)| {
            let values = match &v {
                yaml_serde::Value::Sequence(items) => {
                    items.iter().map(scalar).collect::<Result<Vec<_>, _>>()
                }
                other => scalar(other).map(|s| vec![s]),
            }
            .map_err(|e| format!("{k}: {e}"))?;
            Ok((k, values))
        })
        .collect()
}

/// The tally of a load: rules loaded, rules that did not load grouped by reason.
pub fn failure_reasons(failures: &[LoadFailure]) -> Vec<(String, usize)> {
    let mut by: HashMap<String, usize> = HashMap::new();
    for f in failures {
        *by.entry(reason_class(&f.reason)).or_default() += 1;
    }
    let mut v: Vec<(String, usize)> = by.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// A reason without the rule-specific part (field names, values), for grouping.
fn reason_class(reason: &str) -> String {
    if let Some(i) = reason.find(" (") {
        reason[..i].to_string()
    } else {
        reason.split(':').next().unwrap_or(reason).to_string()
    }
}
