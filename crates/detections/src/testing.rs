//! Rule tests: each test's events are written to a scratch folder, read by an engine like any
//! evidence, and the rule runs on them; the number of result rows, and any expected values,
//! must match.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::finding::compact_rows;
use crate::model::{Detection, TestCase};
use crate::run::{RunOptions, run_detection, yaml_text};

/// One test's outcome.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    pub rule_id: String,
    pub test: String,
    /// Why it failed; `None` when it passed.
    pub failure: Option<String>,
    /// Result rows the rule gave.
    pub hits: usize,
}

/// Writes a test's events into `dir`: rows as Log Analytics JSON lines (each with its `Type`),
/// evidence text as a file of its own.
pub fn write_events(test: &TestCase, dir: &Path) -> Result<(), String> {
    if !test.rows.is_empty() {
        let table = test
            .table
            .as_deref()
            .ok_or("rows need `table`: the table they are rows of")?;
        let def = spoor_catalog::catalog()
            .table(table)
            .ok_or_else(|| format!("table {table} is not in the catalog"))?;
        let mut text = String::new();
        for row in &test.rows {
            let mut obj = serde_json::Map::new();
            // Every column of the table, null when the test leaves it out: the file is then
            // recognised as rows of the table however few columns the test gives.
            for c in &def.columns {
                obj.insert(c.name.clone(), Value::Null);
            }
            obj.insert("Type".into(), Value::String(table.to_string()));
            for (k, v) in row {
                let v = serde_json::to_value(v).map_err(|e| format!("column {k}: {e}"))?;
                obj.insert(k.clone(), v);
            }
            text.push_str(&Value::Object(obj).to_string());
            text.push('\n');
        }
        std::fs::write(dir.join("rows.jsonl"), text).map_err(|e| e.to_string())?;
    }
    if let Some(evidence) = &test.evidence {
        let name = test.file_name.as_deref().unwrap_or("evidence.log");
        if name.contains('/') || name.contains('\\') || name == "rows.jsonl" {
            return Err(format!("file_name {name:?}: a plain file name, please"));
        }
        std::fs::write(dir.join(name), evidence).map_err(|e| e.to_string())?;
    }
    if test.rows.is_empty() && test.evidence.is_none() {
        return Err("the test has no events: give `rows` (with `table`) or `evidence`".into());
    }
    Ok(())
}

/// Runs one test of a rule.
pub async fn run_test(d: &Detection, test: &TestCase) -> TestOutcome {
    let outcome = |failure: Option<String>, hits: usize| TestOutcome {
        rule_id: d.id.clone(),
        test: test.name.clone(),
        failure,
        hits,
    };
    match run_test_inner(d, test).await {
        Ok((hits, None)) => outcome(None, hits),
        Ok((hits, Some(why))) => outcome(Some(why), hits),
        Err(e) => outcome(Some(e), 0),
    }
}

/// A test's events, read by an engine as evidence, and the options the rule runs with.
pub struct PreparedTest {
    /// The scratch folder the events are in (removed when this is dropped).
    pub dir: tempfile::TempDir,
    pub engine: spoor_engine::Engine,
    pub options: RunOptions,
}

/// Writes a test's events to a scratch folder and opens an engine over them, checking that
/// every event was read; `now` is the test's, else an hour after the latest event.
pub async fn prepare(test: &TestCase) -> Result<PreparedTest, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a scratch folder: {e}"))?;
    write_events(test, dir.path())?;
    let engine = spoor_engine::Engine::open(&[dir.path().to_path_buf()], Default::default())
        .map_err(|e| e.strip_backtrace())?;
    if !engine.inventory().unclaimed.is_empty() {
        return Err("spoor did not recognise the test's evidence as any log format".into());
    }
    let summaries = engine
        .summarize_tables()
        .await
        .map_err(|e| e.strip_backtrace())?;
    if let Some(table) = test.table.as_deref().filter(|_| !test.rows.is_empty()) {
        let read: u64 = summaries
            .iter()
            .filter(|s| s.table == table)
            .map(|s| s.rows)
            .sum();
        // Evidence text may add rows of the same table; the rows must all be there.
        if read < test.rows.len() as u64 {
            return Err(format!(
                "spoor read {read} of the test's {} rows into {table}",
                test.rows.len()
            ));
        }
    }
    let now_ns = match &test.now {
        Some(t) => spoor_functions::datetime::parse_kql_datetime(t.trim())
            .ok_or_else(|| format!("now {t:?} is not a datetime"))?,
        None => spoor_engine::latest_time(&summaries).unwrap_or(0) + 3_600_000_000_000,
    };
    let params: BTreeMap<String, String> = test
        .params
        .iter()
        .map(|(k, v)| (k.clone(), yaml_text(v)))
        .collect();
    Ok(PreparedTest {
        dir,
        engine,
        options: RunOptions { now_ns, params },
    })
}

async fn run_test_inner(d: &Detection, test: &TestCase) -> Result<(usize, Option<String>), String> {
    let prepared = prepare(test).await?;
    let engine = &prepared.engine;
    let result = run_detection(engine, d, &prepared.options, &[]).await?;
    let bad = engine.distinct_bad_records();
    if let Some(b) = bad.first() {
        return Err(format!("the test's events have a bad record: {b}"));
    }
    let hits = result.rows();
    if hits != test.hits {
        return Ok((
            hits,
            Some(format!("expected {} result row(s), got {hits}", test.hits)),
        ));
    }
    let rows: Vec<serde_json::Map<String, Value>> = result
        .sets
        .iter()
        .flat_map(|(_, s)| compact_rows(s))
        .collect();
    for (i, want) in test.expect.iter().enumerate() {
        let found = rows.iter().any(|row| {
            want.iter()
                .all(|(k, v)| row.get(k).is_some_and(|got| same_value(got, v)))
        });
        if !found {
            let want: Vec<String> = want
                .iter()
                .map(|(k, v)| format!("{k}={}", yaml_text(v)))
                .collect();
            return Ok((
                hits,
                Some(format!(
                    "expect[{i}]: no result row has {}",
                    want.join(", ")
                )),
            ));
        }
    }
    Ok((hits, None))
}

/// A result value against an expected one: as numbers when both are numbers (`1536` is
/// `1536.0`), else as text.
fn same_value(got: &Value, want: &yaml_serde::Value) -> bool {
    let want_text = yaml_text(want);
    let got_text = match got {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match (got_text.parse::<f64>(), want_text.parse::<f64>()) {
        (Ok(a), Ok(b)) if got.is_number() => a == b,
        _ => got_text == want_text,
    }
}
