//! Detections: the pack model (one YAML file per rule), ATT&CK, running rules over the
//! evidence into findings, rule tests, tuning, and lint.
//!
//! A hunt runs the pack's rules one plan each (KQL, SQL, or a Sigma block) and SigmaHQ-style
//! rule sets with one scan per table ([`sigma_scan`]), then turns what fired into [`Finding`]s.

pub mod attack;
pub mod finding;
pub mod lint;
pub mod model;
pub mod run;
pub mod sigma_scan;
pub mod testing;
pub mod tuning;

use std::path::PathBuf;

pub use attack::AttackTable;
pub use finding::{Finding, RuleOrigin, sort_findings};
pub use model::{Detection, PackError, PackRule, Severity, load_pack};
pub use run::RunOptions;
pub use tuning::Tuning;

use spoor_engine::Engine;
use spoor_output::ResultSet;

include!(concat!(env!("OUT_DIR"), "/built_in_pack.rs"));

/// The built-in pack (`rules/` of the project, embedded in the binary). Files whose name
/// starts with `_` are the pack's notes, not rules.
pub fn built_in_pack() -> (Vec<PackRule>, Vec<PackError>) {
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    for (name, text) in BUILT_IN_PACK {
        if is_note(name) {
            continue;
        }
        let path = PathBuf::from("rules").join(name);
        match model::parse_detection(&path, text) {
            Ok(detection) => rules.push(PackRule { path, detection }),
            Err(e) => errors.push(e),
        }
    }
    (rules, errors)
}

/// A file of the built-in pack by its path under `rules/` (the pack's notes included).
pub fn built_in_file(name: &str) -> Option<&'static str> {
    BUILT_IN_PACK
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// Whether a pack file is a note (its name starts with `_`) rather than a rule.
pub fn is_note(path: &str) -> bool {
    path.rsplit('/').next().is_some_and(|n| n.starts_with('_'))
}

/// What a hunt runs.
pub struct HuntPlan<'a> {
    pub pack: &'a [PackRule],
    /// Sigma rules (`--sigma DIR`), already loaded.
    pub sigma: Option<&'a spoor_sigma::Loaded>,
    pub tuning: &'a Tuning,
    pub options: RunOptions,
    pub attack: &'a AttackTable,
}

impl HuntPlan<'_> {
    /// The tables the hunt reads, with the number of rules (or Sigma scans) reading each.
    pub fn tables_read(&self) -> std::collections::BTreeMap<String, usize> {
        let mut out: std::collections::BTreeMap<String, usize> = Default::default();
        for r in self.pack {
            for t in &r.detection.tables {
                *out.entry(t.clone()).or_default() += 1;
            }
        }
        if let Some(loaded) = self.sigma {
            let tables: std::collections::BTreeSet<&str> = loaded
                .rules
                .iter()
                .flat_map(|r| r.targets.iter().map(|t| t.table.as_str()))
                .collect();
            for t in tables {
                *out.entry(t.to_string()).or_default() += 1;
            }
        }
        out
    }
}

/// Decodes once, into memory, every table that several of the hunt's rules read (a hunt runs
/// dozens of plans over the same tables).
pub async fn cache_shared_tables(engine: &mut Engine, plan: &HuntPlan<'_>) -> Result<(), String> {
    let shared: Vec<String> = plan
        .tables_read()
        .into_iter()
        .filter(|(_, readers)| *readers > 1)
        .map(|(table, _)| table)
        .collect();
    engine
        .cache_tables(&shared)
        .await
        .map_err(|e| e.strip_backtrace())
}

/// What a hunt found.
#[derive(Default)]
pub struct HuntOutcome {
    /// In report order ([`sort_findings`]).
    pub findings: Vec<Finding>,
    /// Rules that failed while running (the others still ran): rule id, error.
    pub errors: Vec<(String, String)>,
    /// Pack rules run, and those not run because the evidence fills none of their tables.
    pub pack_rules_run: usize,
    pub pack_rules_without_data: usize,
    /// Sigma rules (and correlations) that had a table to run on.
    pub sigma_rules_run: usize,
}

/// Runs the hunt: every pack rule whose tables the evidence fills, then the Sigma rules in
/// one scan per table. `progress(done, total, rule)` is called before each pack rule.
pub async fn hunt(
    engine: &Engine,
    plan: &HuntPlan<'_>,
    progress: &(dyn Fn(usize, usize, &str) + Sync),
) -> HuntOutcome {
    let mut outcome = HuntOutcome::default();
    let with_data = engine.tables_with_data();
    let total = plan.pack.len();
    for (i, rule) in plan.pack.iter().enumerate() {
        let d = &rule.detection;
        progress(i, total, &d.id);
        if !d.tables.iter().any(|t| with_data.contains(t)) {
            outcome.pack_rules_without_data += 1;
            continue;
        }
        outcome.pack_rules_run += 1;
        let exclusions = plan.tuning.predicates(&d.id);
        // `--param` values go to the rules that declare the name; the others run as they are.
        let options = RunOptions {
            now_ns: plan.options.now_ns,
            params: plan
                .options
                .params
                .iter()
                .filter(|(name, _)| d.parameters.iter().any(|p| &p.name == *name))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        match run::run_detection(engine, d, &options, &exclusions).await {
            Ok(result) if result.rows() > 0 => outcome.findings.push(Finding::from_detection(
                d,
                RuleOrigin::Pack(rule.path.display().to_string()),
                plan.attack,
                result.sets,
            )),
            Ok(_) => {}
            Err(e) => outcome.errors.push((d.id.clone(), e)),
        }
    }
    if let Some(loaded) = plan.sigma {
        progress(total, total, "Sigma rules");
        sigma_findings(engine, loaded, plan.attack, &mut outcome).await;
    }
    sort_findings(&mut outcome.findings);
    outcome
}

async fn sigma_findings(
    engine: &Engine,
    loaded: &spoor_sigma::Loaded,
    attack: &AttackTable,
    outcome: &mut HuntOutcome,
) {
    let with_data = engine.tables_with_data();
    outcome.sigma_rules_run = loaded
        .rules
        .iter()
        .filter(|r| r.targets.iter().any(|t| with_data.contains(&t.table)))
        .count();
    let hits = match sigma_scan::run_sigma_rules(engine, loaded).await {
        Ok(h) => h,
        Err(e) => {
            outcome.errors.push(("Sigma rules".into(), e));
            return;
        }
    };
    let standalone = loaded.standalone_rules();
    for (ri, rule) in loaded.rules.iter().enumerate() {
        if !standalone[ri] {
            continue;
        }
        let mut sets = Vec::new();
        for (ti, target) in rule.targets.iter().enumerate() {
            let batches = hits[ri][ti].clone();
            if batches.iter().all(|b| b.num_rows() == 0) {
                continue;
            }
            let def = spoor_catalog::catalog()
                .table(&target.table)
                .expect("a compiled rule names a catalog table");
            sets.push((target.table.clone(), ResultSet::of_table(def, batches)));
        }
        if !sets.is_empty() {
            outcome.findings.push(Finding::from_sigma(
                rule.id.as_deref(),
                &rule.title,
                rule.level.as_deref(),
                &rule.tags,
                &rule.origin,
                attack,
                sets,
            ));
        }
    }
    match spoor_sigma::run_correlations(loaded, &hits) {
        Ok(correlated) => {
            for (c, results) in loaded.correlations.iter().zip(correlated) {
                if results.is_empty() {
                    continue;
                }
                let (columns, types, batch) = c.results_batch(&results);
                outcome.findings.push(Finding::from_sigma(
                    c.id.as_deref(),
                    &c.title,
                    c.level.as_deref(),
                    &c.tags,
                    &c.origin,
                    attack,
                    vec![(
                        format!("correlation: {}", c.kind.as_str()),
                        ResultSet::new(columns, vec![batch], types),
                    )],
                ));
            }
        }
        Err(e) => outcome.errors.push(("Sigma correlations".into(), e)),
    }
}
