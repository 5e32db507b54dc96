//! Round trip: every rule of the built-in pack, written in each language spoor writes
//! (`spoor-export`) and read back through that language's front-end, returns the rows the rule
//! returns, on each of the rule's own tests' events.
//!
//! Targets so far: spoor's SQL. Sigma-block rules plan per table and are not exported yet; the
//! test lists them rather than skipping them silently.

mod support;

use spoor_detections::model::Language;
use spoor_detections::run::{
    compile_kql, compile_sql, parameter_literals, probe_of, run_detection,
};
use spoor_detections::testing::prepare;
use spoor_export::Target;
use support::{execute, runtime};

/// A value as the comparison sees it: numbers as numbers, the elements of arrays in order of
/// their text at any depth (`make_set` promises no order, and parallel execution changes it),
/// JSON text read as the JSON it holds.
fn value(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Number(n) => n.as_f64().map_or(n.to_string(), |f| f.to_string()),
        Value::Array(items) => {
            let mut items: Vec<String> = items.iter().map(value).collect();
            items.sort();
            format!("[{}]", items.join(","))
        }
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}:{}", value(v)))
                .collect();
            format!("{{{}}}", items.join(","))
        }
        Value::String(text) if text.trim_start().starts_with(['[', '{']) => {
            match serde_json::from_str::<Value>(text) {
                Ok(parsed) => value(&parsed),
                Err(_) => v.to_string(),
            }
        }
        other => other.to_string(),
    }
}

/// Rows as sorted lists of values, whatever the column names. Where strings are never null
/// (Kusto's), a null is the empty string.
fn rows(result: &spoor_output::ResultSet, strings_never_null: bool) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = result
        .json_rows()
        .into_iter()
        .map(|r| {
            r.values()
                .map(|v| match v {
                    serde_json::Value::Null if strings_never_null => value(&"".into()),
                    v => value(v),
                })
                .collect()
        })
        .collect();
    out.sort();
    out
}

/// The pack's rules run through `target` and read back must give their own rows.
fn on_big_stack(target: Target) {
    // Deep expressions (long `in` lists, chains of `or`) recurse deeply in debug builds'
    // planning; the test thread's default stack is 2 MiB.
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || round_trip(target))
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn pack_rules_round_trip_through_sql() {
    on_big_stack(Target::Sql);
}

#[test]
fn pack_rules_round_trip_through_kql() {
    on_big_stack(Target::Kql);
}

/// The written text planned again by the target's own front-end.
fn read_back(
    target: Target,
    text: &str,
    now_ns: i64,
    engine: &spoor_engine::Engine,
) -> Result<datafusion::logical_expr::LogicalPlan, String> {
    let render = |ds: Vec<spoor_core::Diagnostic>| ds[0].render(text, "<export>");
    match target {
        Target::Sql => spoor_sql::compile(text, now_ns)
            .map(|p| p.plan)
            .map_err(render),
        Target::Kql => {
            let options = spoor_kql::PlanOptions {
                now_ns,
                tables_with_data: engine.tables_with_data(),
                workspace: spoor_kql::workspace::Workspace::builtin(),
                probe: Some(probe_of(engine)),
            };
            spoor_kql::compile(text, &options)
                .map(|p| p.plan)
                .map_err(render)
        }
        other => Err(format!("no read-back for {other}")),
    }
}

fn round_trip(target: Target) {
    let (rules, errors) = spoor_detections::built_in_pack();
    assert!(errors.is_empty(), "{errors:?}");
    let rt = runtime();
    let (mut same, mut not_exported, mut sigma) = (0, Vec::new(), Vec::new());
    let mut differ = Vec::new();
    for rule in &rules {
        let d = &rule.detection;
        if d.query.language == Language::Sigma {
            sigma.push(d.id.clone());
            continue;
        }
        for test in &d.tests {
            let label = format!("{} / {}", d.id, test.name);
            let prepared = rt
                .block_on(prepare(test))
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            let engine = &prepared.engine;
            let now_ns = prepared.options.now_ns;
            let original = rt
                .block_on(run_detection(engine, d, &prepared.options, &[]))
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            let params = parameter_literals(d, &prepared.options.params).unwrap();
            let plan = match d.query.language {
                Language::Kql => {
                    let options = spoor_kql::PlanOptions {
                        now_ns,
                        tables_with_data: engine.tables_with_data(),
                        workspace: spoor_kql::workspace::Workspace::builtin(),
                        probe: Some(probe_of(engine)),
                    };
                    compile_kql(d, &params, &[], &options).unwrap().plan
                }
                _ => compile_sql(d, &params, &[], now_ns).unwrap().plan,
            };
            let text = match spoor_export::export(&plan, target) {
                Ok(text) => text,
                Err(e) => {
                    not_exported.push(format!("{label}: {e}"));
                    continue;
                }
            };
            let back = read_back(target, &text, now_ns, engine).unwrap_or_else(|e| {
                panic!("{label}: the exported {target} does not plan:\n{text}\n{e}")
            });
            // Shown with the rule's column types: the text computes the same values, but only
            // KQL knows which text is dynamic (JSON) and shows it as JSON.
            let types = original.sets[0].1.types.clone();
            let result = execute(engine, back, types)
                .unwrap_or_else(|e| panic!("{label}: the exported {target} fails:\n{text}\n{e}"));
            let strings_never_null = target == Target::Kql;
            let want = rows(&original.sets[0].1, strings_never_null);
            if rows(&result, strings_never_null) == want {
                same += 1;
            } else {
                differ.push(format!(
                    "{label}:\n{text}\nwant {want:?}\ngot  {:?}",
                    rows(&result, strings_never_null)
                ));
            }
        }
    }
    eprintln!(
        "round trip through {target}: {same} test(s) give the same rows; {} do not export; Sigma-block rules not exported yet: {}",
        not_exported.len(),
        sigma.join(", ")
    );
    for n in &not_exported {
        eprintln!("  does not export: {n}");
    }
    assert!(
        differ.is_empty(),
        "{} test(s) give other rows:\n{}",
        differ.len(),
        differ.join("\n\n")
    );
    assert!(same > 0);
}

fn spoor(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_spoor"))
        .args(args)
        .current_dir(support::repo_root())
        .output()
        .expect("spoor runs")
}

/// `spoor convert` writes a query as SQL that `spoor query --lang sql` runs to the same rows;
/// a target that is not written yet is an error that says so.
#[test]
fn convert_writes_sql_that_runs_to_the_same_rows() {
    let kql = "AWSCloudTrail | where EventName startswith \"Delete\" or EventName == \"StopLogging\" | summarize n = count() by EventName";
    let out = spoor(&["convert", "--from", "kql", "--to", "sql", kql]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sql = String::from_utf8(out.stdout).unwrap();
    let run = |lang: &str, q: &str| {
        let out = spoor(&[
            "query",
            "-q",
            "--lang",
            lang,
            "--format",
            "csv",
            q,
            "examples/evidence",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut lines: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .skip(1)
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    };
    let want = run("kql", kql);
    assert!(!want.is_empty());
    assert_eq!(run("sql", &sql), want, "{sql}");

    let out = spoor(&["convert", "--to", "spl", "AWSCloudTrail | take 1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot write this as spl"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = spoor(&[
        "rules",
        "export",
        "--to",
        "sql",
        "aws-cloudtrail-stop-logging",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("-- aws-cloudtrail-stop-logging: "),
        "{text}"
    );
}
