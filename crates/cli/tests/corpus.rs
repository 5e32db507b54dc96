//! Tests over real data: the seed queries and the public corpus in `../shared`.
//!
//! The data is read where it lies (`$SPOOR_CORPUS`, else `../shared/corpus` beside the
//! repository; seeds from `$SPOOR_SEEDS`, else `../shared/seeds`), never copied into the project.
//! When it is missing the tests fail under CI (`CI` set) and say they were skipped elsewhere.

use std::path::{Path, PathBuf};

mod support;

use spoor_engine::{Engine, EngineOptions};
use spoor_kql::PlanOptions;
use support::{repo_root, run_kql};

fn shared(var: &str, default: &str) -> Option<PathBuf> {
    let dir = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(default));
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "{} is missing and CI is set: the corpus tests cannot run",
            dir.display()
        );
    }
    eprintln!(
        "skipped: {} is missing (set {var} to point at it)",
        dir.display()
    );
    None
}

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
    let (result, _) =
        run_kql(&repo_root().join("examples/evidence"), &text, "seed", NOW).expect("the seed runs");
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
/// of the real Sentinel queries also plan against the catalog (224 of 426 when written).
fn sentinel_detections_plan_rate() {
    let Some(corpus) = corpus() else { return };
    let text = std::fs::read_to_string(corpus.join("sentinel/detections.jsonl")).unwrap();
    let (mut total, mut parsed, mut planned) = (0usize, 0usize, 0usize);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let q = v["query"].as_str().unwrap();
        total += 1;
        if let Ok(ast) = spoor_kql::syntax::parse(q) {
            parsed += 1;
            if spoor_kql::plan_query(&ast, &PlanOptions::without_data(NOW)).is_ok() {
                planned += 1;
            }
        }
    }
    eprintln!("sentinel detections: {total} queries, {parsed} parse, {planned} plan");
    assert_eq!(total, 426);
    assert!(parsed * 100 >= total * 90, "only {parsed} of {total} parse");
    assert!(
        planned * 100 >= total * 50,
        "only {planned} of {total} plan"
    );
}
