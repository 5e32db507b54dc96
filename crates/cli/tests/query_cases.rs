//! Behaviour cases of the front-ends other than KQL, as data: every `tests/sql/*.sql`,
//! `tests/cwl/*.cwl`, `tests/spl/*.spl`, `tests/sumo/*.sumo` and `tests/esql/*.esql` runs over fixture evidence and its result is compared with the snapshot beside it
//! (`tests/snapshots/`). Adding a case is adding a file; `cargo insta review` shows a new or
//! changed result for approval.
//!
//! A case starts with comment lines that set it up (in the language's comment syntax):
//!
//! ```text
//! -- evidence: examples/evidence        (relative to the repository root; the default)
//! -- now: 2023-08-10T00:00:00Z          (the pinned now; the default)
//! # log-group: vpcflow                  (Logs Insights: the log groups, comma-separated)
//! # macros: examples/splunk/macros.conf  (SPL: macro files, comma-separated)
//! // evidence: crates/cli/tests/fixtures/sumo   (Sumo Logic and ES|QL cases comment with //)
//! ```
//!
//! SPL has no line comments, so an SPL case's header lines are blanked before it runs (line
//! numbers stay those of the file).
//!
//! A case whose query fails snapshots the rendered error, so error positions are cases too.

use std::path::Path;

mod support;

use support::{header, render_result, repo_root, run_cwl, run_esql, run_spl, run_sql, run_sumo};

fn run_case(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("case file");
    let evidence =
        repo_root().join(header(&text, "evidence").unwrap_or_else(|| "examples/evidence".into()));
    let now = header(&text, "now").unwrap_or_else(|| "2023-08-10T00:00:00Z".into());
    let now_ns = spoor_functions::datetime::parse_kql_datetime(&now).expect("valid now");
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let lower = text.to_lowercase();
    let (run, ordered) = if name.ends_with(".spl") {
        let macros: Vec<_> = header(&text, "macros")
            .map(|m| m.split(',').map(|f| repo_root().join(f.trim())).collect())
            .unwrap_or_default();
        let query: String = text
            .lines()
            .map(|l| if l.starts_with('#') { "" } else { l })
            .collect::<Vec<_>>()
            .join("\n");
        (
            run_spl(&evidence, &query, &name, &macros, now_ns),
            lower.contains("| sort") || lower.contains("| top") || lower.contains("| rare"),
        )
    } else if name.ends_with(".sumo") {
        // Sumo's operators are case-insensitive and `order` is `sort`'s other name.
        let ordered = ["| sort", "| order", "| top"]
            .iter()
            .any(|s| lower.contains(s));
        (run_sumo(&evidence, &text, &name), ordered)
    } else if name.ends_with(".esql") {
        // ES|QL's commands are case-insensitive.
        (
            run_esql(&evidence, &text, &name, now_ns),
            lower.contains("| sort"),
        )
    } else if name.ends_with(".cwl") {
        let groups = header(&text, "log-group")
            .map(|g| g.split(',').map(|s| s.trim().to_string()).collect())
            .unwrap_or_default();
        (
            run_cwl(&evidence, &text, &name, groups),
            lower.contains("| sort") || lower.starts_with("sort"),
        )
    } else {
        (
            run_sql(&evidence, &text, &name, now_ns),
            lower.contains("order by"),
        )
    };
    match run {
        Ok(result) => render_result(&result, None, ordered),
        Err(e) => e,
    }
}

#[test]
fn sql_cases() {
    insta::glob!("sql/*.sql", |path| {
        insta::assert_snapshot!(run_case(path));
    });
}

#[test]
fn cwl_cases() {
    insta::glob!("cwl/*.cwl", |path| {
        insta::assert_snapshot!(run_case(path));
    });
}

#[test]
fn spl_cases() {
    insta::glob!("spl/*.spl", |path| {
        insta::assert_snapshot!(run_case(path));
    });
}

#[test]
fn sumo_cases() {
    insta::glob!("sumo/*.sumo", |path| {
        insta::assert_snapshot!(run_case(path));
    });
}

#[test]
fn esql_cases() {
    insta::glob!("esql/*.esql", |path| {
        insta::assert_snapshot!(run_case(path));
    });
}
