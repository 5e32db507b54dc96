//! Differential tests: the seed playbook's hunts that it writes in several languages return the
//! same rows in every language on the same evidence (`tests/fixtures/playbook`). The hunts,
//! spoor's KQL for each and the columns to compare are data: `tests/differential/playbook.yml`.
//! The Athena SQL and Logs Insights texts are the playbook's own, read from the seed file. Each
//! Athena hunt is also converted to KQL (`spoor-export`, Sentinel's table names) and must find
//! the same rows.

mod support;

use std::collections::BTreeMap;

use serde_json::Value;
use support::{repo_root, run_cwl, run_kql, run_sql, shared};

struct Case {
    hunt: String,
    kql: String,
    columns: BTreeMap<String, Vec<String>>,
    /// Positions of compared columns where one language's null is another's 0 (sums of nulls).
    null_as_zero: Vec<usize>,
}

fn cases() -> Vec<Case> {
    let spec = repo_root().join("crates/cli/tests/differential/playbook.yml");
    let doc: Value = yaml_serde::from_str(&std::fs::read_to_string(spec).unwrap()).unwrap();
    let text = |v: &Value| v.as_str().expect("text").to_string();
    doc.as_array()
        .expect("a list of hunts")
        .iter()
        .map(|c| Case {
            hunt: text(&c["hunt"]),
            kql: text(&c["kql"]),
            columns: c["columns"]
                .as_object()
                .expect("columns per language")
                .iter()
                .map(|(lang, cols)| {
                    (
                        lang.clone(),
                        cols.as_array()
                            .expect("a list of columns")
                            .iter()
                            .map(text)
                            .collect(),
                    )
                })
                .collect(),
            null_as_zero: c["null_as_zero"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_u64)
                        .map(|i| i as usize)
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

/// The first plain query of `language` in the hunt titled `title`.
fn seed_query(hunts: &Value, title: &str, language: &str) -> Option<String> {
    let hunt = hunts
        .as_array()?
        .iter()
        .find(|h| h["title"].as_str().is_some_and(|t| t.trim() == title))?;
    hunt["steps"].as_array()?.iter().find_map(|s| {
        s["queries"].as_array()?.iter().find_map(|q| {
            (q["language"] == language).then(|| q["text"].as_str().map(str::to_string))?
        })
    })
}

/// A value as the comparison sees it: numbers as numbers, datetimes at second precision
/// without a zone suffix, null and "" alike.
fn normalize(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), |f| f.to_string()),
        Value::String(s) => s.trim_end_matches('Z').to_string(),
        other => other.to_string(),
    }
}

fn rows_of(
    result: &spoor_output::ResultSet,
    columns: &[String],
    null_as_zero: &[usize],
) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = result
        .json_rows()
        .into_iter()
        .map(|r| {
            columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let v = normalize(r.get(c).unwrap_or_else(|| panic!("no column {c} in {r:?}")));
                    if v.is_empty() && null_as_zero.contains(&i) {
                        "0".into()
                    } else {
                        v
                    }
                })
                .collect()
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn playbook_hunts_agree_across_languages() {
    let Some(seeds) = shared("SPOOR_SEEDS", "../shared/seeds") else {
        return;
    };
    let hunts: Value = serde_json::from_str(
        &std::fs::read_to_string(seeds.join("cloud_threat_hunting.json")).unwrap(),
    )
    .unwrap();
    let cases = cases();
    let evidence = repo_root().join("crates/cli/tests/fixtures/playbook");
    let now = spoor_functions::datetime::parse_kql_datetime("2023-08-10T00:00:00Z").unwrap();
    let mut compared = 0;
    let mut converted_hunts = 0;
    for case in &cases {
        let kql = run_kql(&evidence, &case.kql, &case.hunt, now)
            .unwrap_or_else(|e| panic!("{}: KQL: {e}", case.hunt))
            .0;
        let expected = rows_of(&kql, &case.columns["kql"], &case.null_as_zero);
        assert!(!expected.is_empty(), "{}: the KQL finds nothing", case.hunt);
        for (language, columns) in &case.columns {
            let result = match language.as_str() {
                "kql" => continue,
                "athena-sql" | "cloudwatch-insights" => {
                    let text = seed_query(&hunts, &case.hunt, language).unwrap_or_else(|| {
                        panic!("{}: the playbook has no {language} query", case.hunt)
                    });
                    if language == "athena-sql" {
                        run_sql(&evidence, &text, &case.hunt, now)
                    } else {
                        run_cwl(&evidence, &text, &case.hunt, Vec::new())
                    }
                    .unwrap_or_else(|e| panic!("{}: {language}: {e}", case.hunt))
                }
                other => panic!("{}: unknown language {other}", case.hunt),
            };
            assert_eq!(
                rows_of(&result, columns, &case.null_as_zero),
                expected,
                "{}: {language} and KQL disagree",
                case.hunt
            );
            compared += 1;
            // The Athena hunt written as Sentinel KQL (`spoor convert --from sql --to kql`)
            // finds the same rows on Sentinel's tables.
            if language == "athena-sql" {
                let text = seed_query(&hunts, &case.hunt, language).unwrap();
                let plan = spoor_sql::compile(&text, now).unwrap().plan;
                let kql = spoor_export::export(&plan, spoor_export::Target::Kql)
                    .unwrap_or_else(|e| panic!("{}: {e}", case.hunt));
                assert!(!kql.contains("vpc_flow_logs"), "{kql}");
                let converted = run_kql(&evidence, &kql, &case.hunt, now)
                    .unwrap_or_else(|e| panic!("{}: converted KQL: {e}\n{kql}", case.hunt))
                    .0;
                assert_eq!(
                    rows_of(&converted, columns, &case.null_as_zero),
                    expected,
                    "{}: the Athena hunt converted to KQL disagrees:\n{kql}",
                    case.hunt
                );
                converted_hunts += 1;
            }
        }
    }
    assert!(compared >= 14, "only {compared} comparisons ran");
    assert!(
        converted_hunts >= 5,
        "only {converted_hunts} Athena hunts converted to KQL"
    );
}
