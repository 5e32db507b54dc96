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

use support::{header, repo_root, run_kql, run_kql_with};

/// The case's result as the snapshot shows it; with `split_min_bytes`, splittable files of at
/// least that size are read in byte ranges by both partitions.
fn run_case(path: &Path, split_min_bytes: Option<u64>) -> String {
    let text = std::fs::read_to_string(path).expect("case file");
    let evidence =
        repo_root().join(header(&text, "evidence").unwrap_or_else(|| "examples/evidence".into()));
    let now = header(&text, "now").unwrap_or_else(|| "2023-08-10T00:00:00Z".into());
    let now_ns = spoor_functions::datetime::parse_kql_datetime(&now).expect("valid now");
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let run = match split_min_bytes {
        None => run_kql(&evidence, &text, &name, now_ns),
        Some(_) => run_kql_with(&evidence, &text, &name, now_ns, split_min_bytes),
    };
    let (result, render) = match run {
        Ok(r) => r,
        Err(e) => return e,
    };
    let lower = text.to_lowercase();
    let ordered =
        lower.contains("sort by") || lower.contains("order by") || lower.contains("| top ");
    support::render_result(&result, render.as_deref(), ordered)
}

#[test]
fn kql_cases() {
    insta::glob!("kql/*.kql", |path| {
        let output = run_case(path, None);
        insta::assert_snapshot!(output);
    });
}

/// Reading files in byte ranges (as large files are) changes nothing: every case gives the same
/// result when every splittable file of its evidence is read in two ranges at once.
#[test]
fn kql_cases_give_the_same_result_when_files_are_read_in_ranges() {
    let mut cases: Vec<_> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kql"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "kql"))
            .collect();
    cases.sort();
    assert!(cases.len() > 50);
    for path in cases {
        assert_eq!(
            run_case(&path, Some(1)),
            run_case(&path, None),
            "{}",
            path.display()
        );
    }
}
