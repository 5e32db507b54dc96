//! Sigma rule sets over the evidence: one scan per table serves every rule over it.

use std::collections::BTreeMap;

use datafusion::logical_expr::not;
use spoor_engine::{Engine, RecordBatch};
use spoor_sigma::Loaded;

use crate::tuning::Tuning;

/// The rows each rule's target matched: `hits[rule][target]`.
pub type SigmaHits = Vec<Vec<Vec<RecordBatch>>>;

/// Applies the tuning's exclusions (KQL predicates over the target's table) to the rules they
/// name, by id. An exclusion that does not plan on a table is an error naming the rule.
pub fn apply_tuning(loaded: &mut Loaded, tuning: &Tuning) -> Result<(), String> {
    for rule in &mut loaded.rules {
        let Some(id) = rule.id.clone() else { continue };
        let predicates = tuning.predicates(&id);
        if predicates.is_empty() {
            continue;
        }
        for target in &mut rule.targets {
            for p in &predicates {
                let pred = crate::run::kql_predicate(&target.table, p)
                    .map_err(|e| format!("tuning for {id} on {}: {e}", target.table))?;
                target.detection = target.detection.clone().and(not(pred));
            }
        }
    }
    Ok(())
}

/// Runs every rule: one scan per table the evidence fills, all the rules over it evaluated on
/// each batch.
pub async fn run_sigma_rules(engine: &Engine, loaded: &Loaded) -> Result<SigmaHits, String> {
    let with_data = engine.tables_with_data();
    let mut hits: SigmaHits = loaded
        .rules
        .iter()
        .map(|r| vec![Vec::new(); r.targets.len()])
        .collect();
    let mut by_table: BTreeMap<&str, Vec<(usize, usize)>> = BTreeMap::new();
    for (ri, rule) in loaded.rules.iter().enumerate() {
        for (ti, t) in rule.targets.iter().enumerate() {
            if with_data.contains(&t.table) {
                by_table.entry(t.table.as_str()).or_default().push((ri, ti));
            }
        }
    }
    for (table, which) in by_table {
        let groups = spoor_sigma::group_by_source(&loaded.rules, &which);
        let exprs = spoor_sigma::scan_predicates(&loaded.rules, &groups);
        let results = engine
            .filter_many(table, &exprs)
            .await
            .map_err(|e| format!("{table}: {}", e.strip_backtrace()))?;
        for ((_, members), found) in groups.into_iter().zip(results) {
            for ((ri, ti), batches) in members.into_iter().zip(found) {
                hits[ri][ti] = batches;
            }
        }
    }
    Ok(hits)
}
