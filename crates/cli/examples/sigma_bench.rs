//! The Sigma rule set over evidence, three ways, timed side by side:
//! `cargo run --release -p spoor-cli --example sigma_bench -- RULES_DIR... -- EVIDENCE...`
//!
//! 1. decode only: every row of the tables the rules read, all columns, collected;
//! 2. compiled: spoor's way, one scan per table, each log source's condition evaluated once per
//!    batch and its rules' predicates on the rows it keeps (`Engine::filter_many`, decoding included);
//! 3. reference: the row-at-a-time evaluator (`spoor_sigma::reference`) over the rows decoded
//!    in 1, rule by rule and row by row (its time excludes the decoding).
//!
//! Prints the times, events per second, and the hits of each way (they must agree).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use spoor_engine::{Engine, EngineOptions};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let split = args.iter().position(|a| a == "--").unwrap_or_else(|| {
        eprintln!("usage: sigma_bench RULES_DIR... -- EVIDENCE...");
        std::process::exit(2);
    });
    let rules: Vec<PathBuf> = args[..split].iter().map(PathBuf::from).collect();
    let evidence: Vec<PathBuf> = args[split + 1..].iter().map(PathBuf::from).collect();
    let ctx = spoor_sigma::Context::default();
    let t = Instant::now();
    let loaded = spoor_sigma::load_paths(&rules, &ctx);
    let load_s = t.elapsed().as_secs_f64();
    let engine = Engine::open(&evidence, EngineOptions::default()).expect("engine");
    let with_data = engine.tables_with_data();
    // (rule, target) pairs per table.
    let mut by_table: BTreeMap<&str, Vec<(usize, usize)>> = BTreeMap::new();
    for (ri, r) in loaded.rules.iter().enumerate() {
        for (ti, t) in r.targets.iter().enumerate() {
            if with_data.contains(&t.table) {
                by_table.entry(t.table.as_str()).or_default().push((ri, ti));
            }
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    // 1. Decode only.
    let t = Instant::now();
    let mut rows_by_table = BTreeMap::new();
    let mut events = 0usize;
    for table in by_table.keys() {
        let scan = spoor_engine::scan_plan(table).expect("a catalog table");
        let batches = rt.block_on(engine.execute(scan)).expect("scan");
        events += batches.iter().map(|b| b.num_rows()).sum::<usize>();
        rows_by_table.insert(*table, batches);
    }
    let decode_s = t.elapsed().as_secs_f64();

    // 2. Compiled, one scan per table.
    let t = Instant::now();
    let mut compiled_hits = 0usize;
    for (table, which) in &by_table {
        let groups = spoor_sigma::scan_predicates(
            &loaded.rules,
            &spoor_sigma::group_by_source(&loaded.rules, which),
        );
        let out = rt
            .block_on(engine.filter_many(table, &groups))
            .expect("rules");
        compiled_hits += out
            .iter()
            .flatten()
            .flatten()
            .map(|b| b.num_rows())
            .sum::<usize>();
    }
    let compiled_s = t.elapsed().as_secs_f64();

    // 3. Reference, row at a time over the decoded rows.
    let t = Instant::now();
    let mut reference_hits = 0usize;
    for (table, which) in &by_table {
        let def = spoor_catalog::catalog().table(table).unwrap();
        for batch in &rows_by_table[table] {
            for row in 0..batch.num_rows() {
                let mut event = spoor_sigma::reference::Event::from_batch(batch, row);
                for &(ri, ti) in which {
                    let rule = &loaded.rules[ri];
                    let target = &rule.targets[ti];
                    let reference = spoor_sigma::reference::Reference {
                        def,
                        target: &target.mapping,
                        table: ctx.mappings.table(table),
                        placeholders: &ctx.placeholders,
                    };
                    if reference.matches(&rule.rule, &mut event).unwrap_or(false) {
                        reference_hits += 1;
                    }
                }
            }
        }
    }
    let reference_s = t.elapsed().as_secs_f64();

    let rate = |s: f64| events as f64 / s;
    println!(
        "rules loaded: {} ({} did not) in {load_s:.2} s",
        loaded.rules.len(),
        loaded.failures.len()
    );
    println!(
        "events: {events} in tables {:?}",
        by_table.keys().collect::<Vec<_>>()
    );
    println!("| way | seconds | events/s | hits |");
    println!("|---|---|---|---|");
    println!(
        "| decode only (all columns) | {decode_s:.2} | {:.0} | - |",
        rate(decode_s)
    );
    println!(
        "| spoor compiled (decode + match) | {compiled_s:.2} | {:.0} | {compiled_hits} |",
        rate(compiled_s)
    );
    println!(
        "| reference row-at-a-time (match only, after decode) | {reference_s:.2} | {:.0} | {reference_hits} |",
        rate(reference_s)
    );
    println!(
        "matching adds {:.2} s to decoding ({:.0}% of the decode time)",
        compiled_s - decode_s,
        100.0 * (compiled_s - decode_s) / decode_s
    );
    if compiled_hits != reference_hits {
        eprintln!("the compiled and reference hits differ");
        std::process::exit(1);
    }
}
