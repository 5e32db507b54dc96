//! Sigma behaviour cases as data: every `tests/sigma/*.yml` (one or more rules, filters) is
//! loaded, each rule runs over fixture evidence, and the outcome is compared with the snapshot
//! beside it (`tests/snapshots/`). Adding a case is adding a file.
//!
//! A case starts with comment lines that set it up:
//!
//! ```text
//! # evidence: crates/cli/tests/fixtures/sigma   (relative to the repository root; the default)
//! # show: EventRecordID, Image                  (the columns shown per matching row)
//! # placeholders: admins: [root, admin]         (YAML for the expand modifier)
//! ```
//!
//! The snapshot lists, per rule, each table it ran on with the matching rows (sorted), the
//! tables it could not run on and why; then each correlation's results (in group order); then
//! the rules that did not load and why.

use std::path::Path;

mod support;

use spoor_engine::{Engine, EngineOptions};
use support::repo_root;

fn header(text: &str, key: &str) -> Option<String> {
    text.lines()
        .take_while(|l| l.starts_with('#'))
        .find_map(|l| {
            l.trim_start_matches('#')
                .trim()
                .strip_prefix(&format!("{key}:"))
                .map(|v| v.trim().to_string())
        })
}

fn run_case(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("case file");
    let evidence = repo_root().join(
        header(&text, "evidence").unwrap_or_else(|| "crates/cli/tests/fixtures/sigma".into()),
    );
    let show: Vec<String> = header(&text, "show")
        .unwrap_or_else(|| "EventRecordID".into())
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    let mut ctx = spoor_sigma::Context::default();
    if let Some(p) = header(&text, "placeholders") {
        ctx.placeholders = spoor_sigma::parse_placeholders(&p).expect("placeholders");
    }
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let loaded = spoor_sigma::load_text(&text, &name, &ctx);
    let engine = Engine::open(
        &[evidence],
        EngineOptions {
            partitions: Some(2),
            ..Default::default()
        },
    )
    .expect("engine");
    let rt = support::runtime();
    let mut out = String::new();
    let mut hits = Vec::new();
    for rule in &loaded.rules {
        out.push_str(&format!("rule: {}\n", rule.title));
        let mut per_target = Vec::new();
        for target in &rule.targets {
            let def = spoor_catalog::catalog().table(&target.table).unwrap();
            let batches = rt
                .block_on(engine.execute(target.plan().unwrap()))
                .unwrap_or_else(|e| panic!("{}: {}", rule.title, e.strip_backtrace()));
            per_target.push(batches.clone());
            let result = spoor_output::ResultSet::of_table(def, batches);
            let mut rows: Vec<String> = result
                .json_rows()
                .into_iter()
                .map(|r| {
                    let picked: serde_json::Map<String, serde_json::Value> = show
                        .iter()
                        .filter_map(|c| r.get(c).map(|v| (c.clone(), v.clone())))
                        // Columns the event does not have (null, or text shown as "").
                        .filter(|(_, v)| !v.is_null() && v.as_str() != Some(""))
                        .collect();
                    serde_json::Value::Object(picked).to_string()
                })
                .collect();
            rows.sort();
            // The row-at-a-time reference evaluator must find as many (filters are the
            // compiler's alone).
            if rule.filters == 0 {
                let reference = spoor_sigma::reference::Reference {
                    def,
                    target: &target.mapping,
                    table: ctx.mappings.table(&target.table),
                    placeholders: &ctx.placeholders,
                };
                let scan = spoor_engine::scan_plan(&target.table).unwrap();
                let mut by_reference = Ok(0);
                for batch in rt.block_on(engine.execute(scan)).unwrap() {
                    for row in 0..batch.num_rows() {
                        let mut event = spoor_sigma::reference::Event::from_batch(&batch, row);
                        by_reference =
                            match (by_reference, reference.matches(&rule.rule, &mut event)) {
                                (Ok(n), Ok(hit)) => Ok(n + usize::from(hit)),
                                (Err(e), _) | (_, Err(e)) => Err(e),
                            };
                    }
                }
                match by_reference {
                    Ok(n) => assert_eq!(
                        n,
                        rows.len(),
                        "{}: the reference evaluator finds {n} rows on {}, the plan {}",
                        rule.title,
                        target.table,
                        rows.len()
                    ),
                    Err(e) => out.push_str(&format!("  (reference evaluator: {e})\n")),
                }
            }
            out.push_str(&format!("  {}: {} rows\n", target.table, rows.len()));
            for r in rows {
                out.push_str(&format!("    {r}\n"));
            }
        }
        for (table, why) in &rule.skipped {
            out.push_str(&format!("  not on {table}: {why}\n"));
        }
        hits.push(per_target);
    }
    // A rule set runs through one shared scan per table (shared string tests, narrowed
    // predicates): it must keep the same rows as each rule's own plan.
    let mut by_table: std::collections::BTreeMap<&str, Vec<(usize, usize)>> = Default::default();
    for (ri, rule) in loaded.rules.iter().enumerate() {
        for (ti, t) in rule.targets.iter().enumerate() {
            by_table.entry(t.table.as_str()).or_default().push((ri, ti));
        }
    }
    for (table, pairs) in by_table {
        let groups = spoor_sigma::group_by_source(&loaded.rules, &pairs);
        let exprs = spoor_sigma::scan_predicates(&loaded.rules, &groups);
        let found = rt
            .block_on(engine.filter_many(table, &exprs))
            .unwrap_or_else(|e| panic!("{table}: {}", e.strip_backtrace()));
        for ((_, members), batches) in groups.iter().zip(found) {
            for (&(ri, ti), kept) in members.iter().zip(batches) {
                let shared: usize = kept.iter().map(|b| b.num_rows()).sum();
                let alone: usize = hits[ri][ti].iter().map(|b| b.num_rows()).sum();
                assert_eq!(
                    shared, alone,
                    "{} on {table}: the shared scan keeps {shared} rows, the rule's plan {alone}",
                    loaded.rules[ri].title
                );
            }
        }
    }
    let correlated = spoor_sigma::run_correlations(&loaded, &hits).expect("correlations run");
    for (c, results) in loaded.correlations.iter().zip(correlated) {
        out.push_str(&format!(
            "correlation: {} ({} over {}): {} results\n",
            c.title,
            c.kind.as_str(),
            c.timespan,
            results.len()
        ));
        let (columns, types, batch) = c.results_batch(&results);
        let result = spoor_output::ResultSet::new(columns, vec![batch], types);
        for r in result.json_rows() {
            out.push_str(&format!("    {}\n", serde_json::Value::Object(r)));
        }
    }
    for f in &loaded.failures {
        out.push_str(&format!("not loaded: {f}\n"));
    }
    out
}

#[test]
fn sigma_cases() {
    insta::glob!("sigma/*.yml", |path| {
        insta::assert_snapshot!(run_case(path));
    });
}
