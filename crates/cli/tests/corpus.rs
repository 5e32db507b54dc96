//! Tests over real data: the seed queries and the public corpus in `../shared`.
//!
//! The data is read where it lies (`$SPOOR_CORPUS`, else `../shared/corpus` beside the
//! repository; seeds from `$SPOOR_SEEDS`, else `../shared/seeds`), never copied into the project.
//! When it is missing the tests fail under CI (`CI` set) and say they were skipped elsewhere.

use std::path::{Path, PathBuf};

mod support;

use spoor_engine::{Engine, EngineOptions};
use spoor_kql::PlanOptions;
use support::{repo_root, run_kql, shared};

fn corpus() -> Option<PathBuf> {
    shared("SPOOR_CORPUS", "../shared/corpus")
}

fn seeds() -> Option<PathBuf> {
    shared("SPOOR_SEEDS", "../shared/seeds")
}

const NOW: i64 = 1_691_625_600_000_000_000; // 2023-08-10T00:00:00Z

/// Every KQL query of the seeds: (where it comes from, text).
fn seed_kql(seeds: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(seeds.join("queries"))
        .expect("seeds/queries")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "kql"))
        .collect();
    files.sort();
    for f in files {
        out.push((
            f.file_name().unwrap().to_string_lossy().into_owned(),
            std::fs::read_to_string(&f).unwrap(),
        ));
    }
    let hunts: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(seeds.join("cloud_threat_hunting.json")).unwrap(),
    )
    .unwrap();
    for (h, hunt) in hunts.as_array().unwrap().iter().enumerate() {
        for (s, step) in hunt["steps"].as_array().unwrap().iter().enumerate() {
            for (q, query) in step["queries"].as_array().unwrap().iter().enumerate() {
                for (kind, item) in [("", query), (" embedded", &query["embedded"])] {
                    if item["language"] == "kql" {
                        let text = item["text"].as_str().unwrap().to_string();
                        out.push((
                            format!("cloud_threat_hunting.json hunt {h} step {s} query {q}{kind}"),
                            text,
                        ));
                    }
                }
            }
        }
    }
    out
}

/// Seeds that are malformed as published, with the line:col spoor must point at.
const MALFORMED_SEEDS: &[(&str, &str)] = &[
    // `split` is missing its opening parenthesis: `splitCallerIpAddress,":")`.
    ("splitCallerIpAddress", "1:154"),
    // A placeholder left in the query: `Caller == [UserID]`.
    ("[UserID]", "1:122"),
];

#[test]
fn every_seed_kql_query_checks() {
    let Some(seeds) = seeds() else { return };
    let queries = seed_kql(&seeds);
    assert!(
        queries.len() >= 40,
        "expected the seed KQL queries, found {}",
        queries.len()
    );
    let mut failures = Vec::new();
    let mut malformed_seen = 0;
    for (origin, text) in &queries {
        let result = spoor_kql::compile(text, &PlanOptions::without_data(NOW));
        match MALFORMED_SEEDS
            .iter()
            .find(|(marker, _)| text.contains(marker))
        {
            Some((marker, at)) => {
                malformed_seen += 1;
                let ds = result
                    .err()
                    .unwrap_or_else(|| panic!("{origin}: malformed seed ({marker}) was accepted"));
                let rendered = ds[0].render(text, "seed");
                assert!(
                    rendered.contains(&format!("seed:{at}")),
                    "{origin}: error should point at {at}:\n{rendered}"
                );
            }
            None => {
                if let Err(ds) = result {
                    failures.push(format!("{origin}:\n{}", ds[0].render(text, "seed")));
                }
            }
        }
    }
    assert!(malformed_seen >= 2, "the malformed seeds were not found");
    assert!(
        failures.is_empty(),
        "{} seed queries do not check:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn seed_web_fingerprinting_hunt_runs_on_fixture_evidence() {
    let Some(seeds) = seeds() else { return };
    let text = std::fs::read_to_string(
        seeds.join("queries/t1592_002_software_fingerprinting.sentinel.kql"),
    )
    .unwrap();
    // The IIS log only: with AppServiceHTTPLogs rows as well, the seed's union gives
    // StatusCode_string (IIS scStatus) and StatusCode_int (AppService ScStatus) instead of one
    // StatusCode, as Kusto's union does for a column of two types, and `make_set(StatusCode)`
    // then fails, in Sentinel as here (the pack's web-software-fingerprinting rule converts).
    let (result, _) = run_kql(
        &repo_root().join("examples/evidence/iis"),
        &text,
        "seed",
        NOW,
    )
    .expect("the seed runs");
    let rows = result.json_rows();
    let rendered: Vec<String> = rows
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
    insta::assert_snapshot!(rendered.join("\n"));
}

#[test]
fn cloudtrail_stratus_row_counts_match_an_independent_count() {
    let Some(corpus) = corpus() else { return };
    let dir = corpus.join("cloudtrail-stratus/docs/detonation-logs");
    let mut expected = 0u64;
    let mut files = 0usize;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            let v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            expected += match &v {
                serde_json::Value::Array(a) => a.len() as u64,
                serde_json::Value::Object(o) => {
                    o["Records"].as_array().map_or(1, |a| a.len() as u64)
                }
                _ => 0,
            };
            files += 1;
        }
    }
    assert_eq!(files, 35, "the 35 detonation logs");
    let engine = Engine::open(
        &[dir],
        EngineOptions {
            partitions: Some(2),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        engine.inventory().unclaimed.is_empty(),
        "unclaimed: {:?}",
        engine.inventory().unclaimed
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let tables = rt.block_on(engine.summarize_tables()).unwrap();
    for name in ["AWSCloudTrail", "cloudtrail"] {
        let t = tables
            .iter()
            .find(|t| t.table == name)
            .unwrap_or_else(|| panic!("{name} filled"));
        assert_eq!(t.rows, expected, "{name} rows");
        assert_eq!(t.files, 35, "{name} files");
        assert_eq!(
            t.bad_records,
            0,
            "{name} bad records: {:?}",
            engine.bad_records()
        );
    }
}

#[test]
/// The parse rate is the parser's test (crates/kql/tests/corpus.rs); this one guards how many
/// of the real Sentinel queries also plan against the catalog and the built-in workspace
/// functions, as `spoor check` plans them.
fn sentinel_detections_plan_rate() {
    let Some(corpus) = corpus() else { return };
    let text = std::fs::read_to_string(corpus.join("sentinel/detections.jsonl")).unwrap();
    let (mut total, mut parsed, mut planned) = (0usize, 0usize, 0usize);
    let mut options = PlanOptions::without_data(NOW);
    options.workspace = spoor_kql::workspace::Workspace::builtin();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let q = v["query"].as_str().unwrap();
        total += 1;
        if let Ok(ast) = spoor_kql::syntax::parse(q) {
            parsed += 1;
            if spoor_kql::plan_query(&ast, &options).is_ok() {
                planned += 1;
            }
        }
    }
    eprintln!("sentinel detections: {total} queries, {parsed} parse, {planned} plan");
    assert_eq!(total, 426);
    assert!(parsed * 100 >= total * 90, "only {parsed} of {total} parse");
    // Issue 3 asks for 95%; 410 of 426 (96.2%) plan with the built-in workspace functions.
    assert!(
        planned * 100 >= total * 95,
        "only {planned} of {total} plan"
    );
}

/// The catalog tables a plan reads.
fn tables_read(plan: &datafusion::logical_expr::LogicalPlan) -> Vec<String> {
    use datafusion::common::tree_node::TreeNodeRecursion;
    let mut out = Vec::new();
    plan.apply_with_subqueries(|node| {
        if let datafusion::logical_expr::LogicalPlan::TableScan(scan) = node {
            out.push(scan.table_name.table().to_string());
        }
        Ok(TreeNodeRecursion::Continue)
    })
    .expect("walking a plan cannot fail");
    out
}

#[test]
/// The Sentinel detections whose tables have sample rows in `sentinel/sample-data` run end to
/// end over those rows (Log Analytics exports; threat feeds for `externaldata` from its Feeds
/// folder). Every one that plans must run without error; the figures are printed.
fn sentinel_detections_run_over_the_sample_data() {
    let Some(corpus) = corpus() else { return };
    let sample = corpus.join("sentinel/sample-data");
    let engine = Engine::open(
        std::slice::from_ref(&sample),
        EngineOptions {
            partitions: Some(2),
            externaldata: spoor_engine::ExternalDataMap {
                dirs: vec![sample.join("Feeds")],
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .unwrap();
    let with_data = engine.tables_with_data();
    let probe = engine.probe();
    let options = PlanOptions {
        now_ns: NOW,
        tables_with_data: with_data.clone(),
        workspace: spoor_kql::workspace::Workspace::builtin(),
        probe: Some(spoor_kql::DataProbe(std::sync::Arc::new(move |plan| {
            probe.run(plan).map_err(|e| e.strip_backtrace())
        }))),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let text = std::fs::read_to_string(corpus.join("sentinel/detections.jsonl")).unwrap();
    let (mut candidates, mut ran, mut with_rows, mut without_feed) =
        (0usize, 0usize, 0usize, 0usize);
    let mut failures = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let q = v["query"].as_str().unwrap();
        let Ok(planned) = spoor_kql::compile(q, &options) else {
            continue; // not planned: sentinel_detections_plan_rate counts those
        };
        if !tables_read(&planned.plan)
            .iter()
            .any(|t| with_data.contains(t))
        {
            continue;
        }
        candidates += 1;
        match rt.block_on(engine.execute(planned.plan)) {
            Ok(batches) => {
                ran += 1;
                if batches.iter().any(|b| b.num_rows() > 0) {
                    with_rows += 1;
                }
            }
            // A feed that the content downloads and the sample data has no copy of: spoor
            // says so and refuses, which is right; counted apart.
            Err(e) if e.to_string().contains("which spoor does not download") => without_feed += 1,
            Err(e) => failures.push(format!("line {}: {}", i + 1, e.strip_backtrace())),
        }
    }
    eprintln!(
        "sentinel sample data: tables {:?}; {candidates} planned detections read them, {ran} ran, {with_rows} returned rows, {without_feed} need a threat feed the sample data lacks",
        {
            let mut t: Vec<_> = with_data.iter().collect();
            t.sort();
            t
        }
    );
    assert!(
        candidates >= 150,
        "only {candidates} detections read the sample tables"
    );
    assert!(
        failures.is_empty(),
        "{} of {candidates} failed while running:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
