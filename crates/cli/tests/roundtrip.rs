//! Round trip: every rule of the built-in pack, written in each language spoor writes
//! (`spoor-export`) and read back through that language's front-end, returns the rows the rule
//! returns, on each of the rule's own tests' events.
//!
//! Targets: spoor's SQL, KQL, SPL, Athena, Logs Insights, Sumo Logic and ES|QL. A Sigma block
//! is exported once per table it ran on. What a target cannot express is listed with the
//! reason, never skipped silently.

mod support;

use spoor_detections::model::Language;
use spoor_detections::run::{
    compile_kql, compile_sql, kql_options, load_sigma_block, parameter_literals, run_detection,
};
use spoor_detections::testing::prepare;
use spoor_export::Target;
use support::{execute, only_columns, rows, runtime};

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

#[test]
fn pack_rules_round_trip_through_spl() {
    on_big_stack(Target::Spl);
}

#[test]
fn pack_rules_round_trip_through_athena() {
    on_big_stack(Target::Athena);
}

#[test]
fn pack_rules_round_trip_through_cwl() {
    on_big_stack(Target::Cwl);
}

#[test]
fn pack_rules_round_trip_through_sumo() {
    on_big_stack(Target::Sumo);
}

#[test]
fn pack_rules_round_trip_through_esql() {
    on_big_stack(Target::Esql);
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
        Target::Sql | Target::Athena => spoor_sql::compile(text, now_ns)
            .map(|p| p.plan)
            .map_err(render),
        Target::Kql => spoor_kql::compile(text, &kql_options(engine, now_ns))
            .map(|p| p.plan)
            .map_err(render),
        Target::Spl => {
            let options = spoor_spl::SplOptions {
                tables_with_data: engine.tables_with_data(),
                now_ns,
            };
            spoor_spl::compile(text, &spoor_spl::Macros::default(), &options)
                .map(|p| p.plan)
                .map_err(render)
        }
        Target::Cwl => {
            let options = spoor_cwl::CwlOptions {
                log_groups: Vec::new(),
                tables_with_data: engine.tables_with_data(),
            };
            spoor_cwl::compile(text, &options)
                .map(|p| p.plan)
                .map_err(render)
        }
        Target::Sumo => {
            let options = spoor_sumo::SumoOptions {
                tables_with_data: engine.tables_with_data(),
            };
            spoor_sumo::compile(text, &options)
                .map(|p| p.plan)
                .map_err(render)
        }
        Target::Esql => {
            let options = spoor_esql::EsqlOptions {
                tables_with_data: engine.tables_with_data(),
                now_ns,
            };
            spoor_esql::compile(text, &options)
                .map(|p| p.plan)
                .map_err(render)
        }
    }
}

fn round_trip(target: Target) {
    let (rules, errors) = spoor_detections::built_in_pack();
    assert!(errors.is_empty(), "{errors:?}");
    let rt = runtime();
    let (mut same, mut not_exported) = (0, Vec::new());
    let mut differ = Vec::new();
    for rule in &rules {
        let d = &rule.detection;
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
            // The rule's plans, each with the result set it gave: a Sigma block has one per
            // table it ran on.
            let plans = match d.query.language {
                Language::Kql => {
                    let options = kql_options(engine, now_ns);
                    let plan = compile_kql(d, &params, &[], &options).unwrap().plan;
                    vec![(label.clone(), plan, &original.sets[0].1)]
                }
                Language::Sigma => {
                    let loaded = load_sigma_block(d).unwrap();
                    original
                        .sets
                        .iter()
                        .map(|(table, set)| {
                            let t = loaded.rules[0]
                                .targets
                                .iter()
                                .find(|t| &t.table == table)
                                .expect("a set per target");
                            (format!("{label} ({table})"), t.plan().unwrap(), set)
                        })
                        .collect()
                }
                _ => {
                    let plan = compile_sql(d, &params, &[], now_ns).unwrap().plan;
                    vec![(label.clone(), plan, &original.sets[0].1)]
                }
            };
            for (label, plan, want) in plans {
                let text = match spoor_export::export(&plan, target) {
                    Ok(text) => text,
                    Err(e) => {
                        not_exported.push(format!("{label}: {e}"));
                        continue;
                    }
                };
                // A search ends with Splunk's event fields (_time, _raw...) unless it makes a
                // table, and Sumo's with the fields it read; the rule's own columns are asked
                // for, as a user of either would.
                // ES|QL's whole events are the data stream's fields: the rule's columns that
                // Elastic holds as one field each are asked for and compared.
                let mut compared: Option<Vec<String>> = None;
                let text = match target {
                    Target::Spl => format!("{text}\n| table {}", want.columns.join(", ")),
                    Target::Sumo => format!("{text}\n| fields {}", want.columns.join(", ")),
                    Target::Esql if !text.contains("\n| KEEP ") && !text.contains("\n| STATS ") => {
                        let (columns, fields) = esql_fields(&text, &want.columns);
                        if columns.is_empty() {
                            not_exported.push(format!(
                                "{label}: its whole events have none of the rule's columns as an ES|QL field"
                            ));
                            continue;
                        }
                        compared = Some(columns);
                        format!("{text}\n| KEEP {}", fields.join(", "))
                    }
                    _ => text,
                };
                let back = read_back(target, &text, now_ns, engine).unwrap_or_else(|e| {
                    panic!("{label}: the exported {target} does not plan:\n{text}\n{e}")
                });
                // Shown with the rule's column types: the text computes the same values, but
                // only KQL knows which text is dynamic (JSON) and shows it as JSON.
                let types = match &compared {
                    Some(columns) => columns
                        .iter()
                        .map(|c| want.types[want.columns.iter().position(|w| w == c).unwrap()])
                        .collect(),
                    None => want.types.clone(),
                };
                let result = execute(engine, back, types).unwrap_or_else(|e| {
                    panic!("{label}: the exported {target} fails:\n{text}\n{e}")
                });
                let strings_never_null = target == Target::Kql;
                let (want, got) = match &compared {
                    Some(columns) => (
                        rows(&only_columns(want, columns), false),
                        rows(&result, false),
                    ),
                    None => (
                        rows(want, strings_never_null),
                        rows(&result, strings_never_null),
                    ),
                };
                if got == want {
                    same += 1;
                } else {
                    differ.push(format!("{label}:\n{text}\nwant {want:?}\ngot  {got:?}"));
                }
            }
        }
    }
    eprintln!(
        "round trip through {target}: {same} test(s) give the same rows; {} do not export",
        not_exported.len(),
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

/// The columns of `columns` that the data stream in `text`'s FROM holds as a field of their
/// own (not converted, not shared with another column), with those fields.
fn esql_fields(text: &str, columns: &[String]) -> (Vec<String>, Vec<String>) {
    use spoor_esql::datastreams::{Conversion, DataStream};
    let pattern = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("FROM "))
        .unwrap_or_default();
    let Some(stream) = DataStream::matching(pattern).first().copied() else {
        return (vec![], vec![]);
    };
    columns
        .iter()
        .filter_map(|c| {
            let w = stream.written(c).ok()?;
            let shared = stream.fields.iter().filter(|f| f.ecs == w.ecs).count() > 1;
            (w.conversion == Conversion::Same && !shared).then(|| (c.clone(), w.ecs))
        })
        .unzip()
}

fn spoor(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_spoor"))
        .args(args)
        .current_dir(support::repo_root())
        .output()
        .expect("spoor runs")
}

/// A query's rows on the example evidence, as sorted CSV lines without the header.
fn csv_rows(lang: &str, q: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["query", "-q", "--lang", lang, "--format", "csv"];
    args.extend_from_slice(extra);
    args.extend([q, "examples/evidence"]);
    let out = spoor(&args);
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
}

/// A Logs Insights query on one log group, converted to other languages, runs to the
/// rows Logs Insights gives; the fields it never reads (`@message`) are not written.
#[test]
fn convert_from_logs_insights_runs_to_the_same_rows() {
    for (group, cwl, targets) in [
        (
            "vpcflow",
            "filter action=\"REJECT\" | stats count(*) as attempts by srcAddr, dstPort",
            vec![("kql", "kql"), ("athena", "sql"), ("sql", "sql")],
        ),
        (
            "cloudtrail",
            "filter eventName like /Delete/ or eventName=\"StopLogging\" | fields eventTime, eventName, userIdentity.arn",
            // Not KQL or ES|QL: the log group's rows carry the whole userIdentity object, which
            // Sentinel and Elastic hold only as its members (refused by name).
            vec![("athena", "sql"), ("spl", "spl"), ("sql", "sql")],
        ),
    ] {
        let want = csv_rows("cwl", cwl, &["--log-group", group]);
        assert!(!want.is_empty(), "{cwl}");
        for (target, lang) in targets {
            let out = spoor(&[
                "convert",
                "--from",
                "cwl",
                "--log-group",
                group,
                "--to",
                target,
                cwl,
            ]);
            assert!(
                out.status.success(),
                "{target}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8(out.stdout).unwrap();
            assert!(!text.contains("@message"), "{target}:\n{text}");
            assert_eq!(csv_rows(lang, &text, &[]), want, "{target}:\n{text}");
        }
    }
}

/// Every kind of KQL join, written as Athena SQL (each side a subquery; semi and anti joins as
/// EXISTS), runs to the rows KQL gives.
#[test]
fn convert_writes_athena_joins_that_run_to_the_same_rows() {
    for kind in [
        "inner",
        "leftouter",
        "leftsemi",
        "leftanti",
        "rightsemi",
        "rightanti",
    ] {
        let stopped =
            "AWSCloudTrail | where EventName == \"StopLogging\" | project UserIdentityArn";
        let calls = "AWSCloudTrail | project UserIdentityArn, EventName";
        let (left, right) = if kind.starts_with("right") {
            (stopped, calls)
        } else {
            (calls, stopped)
        };
        let kql = format!(
            "{left} | join kind={kind} ({right}) on UserIdentityArn | summarize n = count() by EventName"
        );
        let want = csv_rows("kql", &kql, &[]);
        assert!(!want.is_empty(), "{kql}");
        let out = spoor(&["convert", "--from", "kql", "--to", "athena", &kql]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let sql = String::from_utf8(out.stdout).unwrap();
        assert_eq!(csv_rows("sql", &sql, &[]), want, "{kind}:\n{sql}");
    }
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
    let run = |lang: &str, q: &str| csv_rows(lang, q, &[]);
    let want = run("kql", kql);
    assert!(!want.is_empty());
    assert_eq!(run("sql", &sql), want, "{sql}");

    // KQL reads a missing text as "": a negated string test keeps the events without the
    // field (most CloudTrail events have no errorCode), in every language it is written in.
    let negated =
        "AWSCloudTrail | where not(ErrorCode contains \"Denied\") | summarize n = count()";
    let want = run("kql", negated);
    assert_ne!(want, vec!["0".to_string()]);
    for (target, lang) in [
        ("athena", "sql"),
        ("spl", "spl"),
        ("sql", "sql"),
        ("esql", "esql"),
    ] {
        let out = spoor(&["convert", "--from", "kql", "--to", target, negated]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(run(lang, &text), want, "{target}:\n{text}");
    }

    // A table no Elastic data stream holds is refused by name.
    let out = spoor(&["convert", "--to", "esql", "SigninLogs | take 1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("esql cannot express events of SigninLogs"),
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
