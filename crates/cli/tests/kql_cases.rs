//! KQL behaviour cases as data: every `tests/kql/*.kql` is run over fixture evidence and its
//! result is compared with the snapshot beside it (`tests/kql/snapshots/`). Adding a case is
//! adding a file; `cargo insta review` shows a new or changed result for approval.
//!
//! A case starts with comment lines that set it up:
//!
//! ```text
//! // evidence: examples/evidence        (relative to the repository root; the default)
//! // now: 2023-08-10T00:00:00Z          (the pinned now; the default)
//! ```
//!
//! Rows are sorted before comparison unless the query orders them (sort/order by/top), since
//! parallel execution does not promise an order.

use std::path::Path;

mod support;

use support::{repo_root, run_kql};

fn header(text: &str, key: &str) -> Option<String> {
    text.lines()
        .take_while(|l| l.starts_with("//"))
        .find_map(|l| {
            l.trim_start_matches('/')
                .trim()
                .strip_prefix(&format!("{key}:"))
                .map(|v| v.trim().to_string())
        })
}

fn run_case(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("case file");
    let evidence =
        repo_root().join(header(&text, "evidence").unwrap_or_else(|| "examples/evidence".into()));
    let now = header(&text, "now").unwrap_or_else(|| "2023-08-10T00:00:00Z".into());
    let now_ns = spoor_functions::datetime::parse_kql_datetime(&now).expect("valid now");
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let (result, render) = match run_kql(&evidence, &text, &name, now_ns) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let mut rows: Vec<String> = result
        .json_rows()
        .into_iter()
        .map(|r| serde_json::to_string(&serde_json::Value::Object(r)).unwrap())
        .collect();
    let lower = text.to_lowercase();
    let ordered =
        lower.contains("sort by") || lower.contains("order by") || lower.contains("| top ");
    if !ordered {
        rows.sort();
    }
    let types: Vec<&str> = result.types.iter().map(|t| t.name()).collect();
    let mut out = format!(
        "columns: {}\ntypes: {}\nrows: {}\n",
        result.columns().join(", "),
        types.join(", "),
        rows.len()
    );
    if let Some(r) = &render {
        out.push_str(&format!("render: {r}\n"));
    }
    for r in rows {
        out.push_str(&r);
        out.push('\n');
    }
    out
}

#[test]
fn kql_cases() {
    insta::glob!("kql/*.kql", |path| {
        let output = run_case(path);
        insta::assert_snapshot!(output);
    });
}
