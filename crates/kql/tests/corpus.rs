//! Parse real queries: the seed queries (all must parse, except the ones listed as
//! malformed) and the Sentinel detection corpus (a parse rate).
//!
//! Data: `$SPOOR_CORPUS` (default `../../../shared/corpus`) and `../../../shared/seeds`.
//! When missing, the tests fail if `CI` is set and are skipped otherwise.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use spoor_core::LineIndex;
use spoor_kql::syntax::parse;

fn data_dir(env: Option<&str>, default: &str) -> Option<PathBuf> {
    let dir = env.and_then(std::env::var_os).map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join(default),
        PathBuf::from,
    );
    if dir.exists() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "test data missing at {} (set SPOOR_CORPUS)",
        dir.display()
    );
    eprintln!("skipped: no test data at {}", dir.display());
    None
}

/// Every `kql` query of the hunting playbook (also inside `embedded` objects).
fn collect_kql(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            if map.get("language").and_then(|l| l.as_str()) == Some("kql")
                && let Some(text) = map.get("text").and_then(|t| t.as_str())
            {
                out.push(text.to_string());
            }
            for v in map.values() {
                collect_kql(v, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_kql(v, out)),
        _ => {}
    }
}

/// Seeds that are malformed as published: a fragment identifying the query, and the
/// line:col where the error must point.
const MALFORMED_SEEDS: &[(&str, &str, &str)] = &[
    // `split(` lost its `(`: the stray `)` is reported.
    ("splitCallerIpAddress,\":\")[0]", "1:154", "unexpected `)`"),
    // `[UserID]` is a placeholder, not a value.
    (
        "Caller == [UserID]",
        "1:122",
        "expected an expression after `==`",
    ),
];

#[test]
fn seed_queries_parse() {
    let Some(seeds) = data_dir(None, "../../../shared/seeds") else {
        return;
    };
    let mut queries: Vec<(String, String)> = Vec::new();
    for entry in std::fs::read_dir(seeds.join("queries")).expect("seeds/queries") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "kql") {
            let text = std::fs::read_to_string(&path).expect("read");
            queries.push((path.display().to_string(), text));
        }
    }
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(seeds.join("cloud_threat_hunting.json")).expect("read"),
    )
    .expect("json");
    let mut kql = Vec::new();
    collect_kql(&json, &mut kql);
    assert!(
        kql.len() > 10,
        "expected kql queries in the playbook, found {}",
        kql.len()
    );
    for (i, q) in kql.into_iter().enumerate() {
        queries.push((format!("cloud_threat_hunting.json#kql{i}"), q));
    }

    let mut seen_malformed = vec![false; MALFORMED_SEEDS.len()];
    let mut failures = Vec::new();
    for (origin, text) in &queries {
        let malformed = MALFORMED_SEEDS
            .iter()
            .position(|(frag, _, _)| text.contains(frag));
        match (parse(text), malformed) {
            (Ok(q), None) => {
                let bad = common::span_violations(&q);
                assert!(bad.is_empty(), "{origin}: {bad:?}");
            }
            (Ok(_), Some(i)) => failures.push(format!("{origin}: malformed seed #{i} parsed")),
            (Err(errors), Some(i)) => {
                seen_malformed[i] = true;
                let (_, at, message) = MALFORMED_SEEDS[i];
                let first = &errors[0];
                let lc = LineIndex::new(text).line_col(first.span.start, text);
                let got = format!("{}:{}", lc.line, lc.col);
                if got != at || !first.message.starts_with(message) {
                    failures.push(format!(
                        "{origin}: expected `{message}` at {at}, got:\n{}",
                        first.render(text, origin)
                    ));
                }
            }
            (Err(errors), None) => failures.push(errors[0].render(text, origin)),
        }
    }
    assert!(
        seen_malformed.iter().all(|s| *s),
        "malformed seeds not found: {seen_malformed:?}"
    );
    assert!(
        failures.is_empty(),
        "{} of {} seed queries:\n{}",
        failures.len(),
        queries.len(),
        failures.join("\n")
    );
    println!("{} seed queries checked", queries.len());
}

#[test]
fn sentinel_detections_parse_rate() {
    let Some(corpus) = data_dir(Some("SPOOR_CORPUS"), "../../../shared/corpus") else {
        return;
    };
    let text = std::fs::read_to_string(corpus.join("sentinel/detections.jsonl"))
        .expect("detections.jsonl");
    let mut total = 0usize;
    let mut ok = 0usize;
    let mut messages: BTreeMap<String, usize> = BTreeMap::new();
    let mut examples: Vec<String> = Vec::new();
    let show = std::env::var_os("SPOOR_SHOW_FAILURES").is_some();
    for (line_no, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line).expect("json line");
        let Some(query) = v.get("query").and_then(|q| q.as_str()) else {
            continue;
        };
        total += 1;
        match parse(query) {
            Ok(q) => {
                ok += 1;
                let bad = common::span_violations(&q);
                assert!(bad.is_empty(), "detections.jsonl:{}: {bad:?}", line_no + 1);
            }
            Err(errors) => {
                *messages.entry(errors[0].message.clone()).or_default() += 1;
                if show {
                    let origin = format!("detections.jsonl:{}", line_no + 1);
                    examples.push(errors[0].render(query, &origin));
                }
            }
        }
    }
    let mut top: Vec<_> = messages.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    println!(
        "sentinel detections: {ok}/{total} parse ({:.1}%)",
        100.0 * ok as f64 / total as f64
    );
    for (msg, n) in top.iter().take(15) {
        println!("{n:>4}  {msg}");
    }
    for e in &examples {
        println!("{e}");
    }
    assert!(total >= 400, "expected the 426 detections, found {total}");
    assert!(ok * 100 >= total * 90, "parse rate below 90%: {ok}/{total}");
}

/// Truncated real queries (20 prefixes each) produce errors, never a panic or a hang,
/// and every error renders.
#[test]
fn truncated_detections_never_panic() {
    let Some(corpus) = data_dir(Some("SPOOR_CORPUS"), "../../../shared/corpus") else {
        return;
    };
    let text = std::fs::read_to_string(corpus.join("sentinel/detections.jsonl"))
        .expect("detections.jsonl");
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("json line");
        let Some(query) = v.get("query").and_then(|q| q.as_str()) else {
            continue;
        };
        let step = (query.len() / 20).max(1);
        for cut in (0..query.len()).step_by(step) {
            if !query.is_char_boundary(cut) {
                continue;
            }
            let prefix = &query[..cut];
            if let Err(errors) = parse(prefix) {
                for e in errors {
                    let _ = e.render(prefix, "prefix");
                }
            }
        }
    }
}
