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
pub mod mapping;
pub mod reference;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::common::TableReference;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, LogicalTableSource};
use rsigma_parser::{FilterRule, FilterRuleTarget, SigmaCollection, SigmaRule};
use spoor_catalog::catalog;

pub use compile::{CompileError, Placeholders};
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
    pub failures: Vec<LoadFailure>,
    /// Filters read (applied to the rules they name).
    pub filters: usize,
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
            for c in &collection.correlations {
                failures.push(LoadFailure {
                    origin: origin.to_string(),
                    title: Some(c.title.clone()),
                    reason: format!(
                        "correlation rules ({}) are not supported yet",
                        c.correlation_type.as_str()
                    ),
                });
            }
            parsed.push(Parsed {
                origin: origin.to_string(),
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
    Loaded {
        rules,
        failures,
        filters: filters.len(),
    }
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
    let compiler = compile::Compiler {
        def,
        target,
        table: ctx.mappings.table(&target.table),
        placeholders: &ctx.placeholders,
    };
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
