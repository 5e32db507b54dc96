//! `spoor query --jq / --jmespath`: the rows as one JSON array, filtered, one value a line.

use std::process::{Command, Output};

fn spoor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spoor"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .expect("spoor runs")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

const QUERY: &str =
    "AWSCloudTrail | where EventName in ('StopLogging', 'DeleteTrail') | sort by TimeGenerated asc";

#[test]
fn jq_reads_the_rows_as_one_array() {
    let out = ok(&spoor(&[
        "query",
        "-q",
        QUERY,
        "examples/evidence",
        "--jq",
        ".[] | {EventName, UserIdentityUserName}",
    ]));
    assert_eq!(
        out,
        "{\"EventName\":\"StopLogging\",\"UserIdentityUserName\":\"mallory\"}\n\
         {\"EventName\":\"DeleteTrail\",\"UserIdentityUserName\":\"mallory\"}\n"
    );
    let out = ok(&spoor(&[
        "query",
        "-q",
        QUERY,
        "examples/evidence",
        "--jq",
        "length",
    ]));
    assert_eq!(out, "2\n");
}

#[test]
fn jmespath_and_raw_output() {
    let out = ok(&spoor(&[
        "query",
        "-q",
        QUERY,
        "examples/evidence",
        "--jmespath",
        "[].EventName",
    ]));
    assert_eq!(out, "[\"StopLogging\",\"DeleteTrail\"]\n");
    let out = ok(&spoor(&[
        "query",
        "-q",
        QUERY,
        "examples/evidence",
        "--jmespath",
        "[0].EventName",
        "-r",
    ]));
    assert_eq!(out, "StopLogging\n");
}

#[test]
fn a_bad_expression_is_a_usage_error_with_its_column() {
    let out = spoor(&[
        "query",
        QUERY,
        "no/such/evidence",
        "--jq",
        ".[] | select(.a ==)",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    // Reported before the evidence (which does not exist) is looked at.
    assert!(err.contains("at column 19"), "{err}");
    let out = spoor(&[
        "query",
        QUERY,
        "examples/evidence",
        "--jq",
        ".",
        "--jmespath",
        "@",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = spoor(&["query", QUERY, "examples/evidence", "-r"]);
    assert_eq!(out.status.code(), Some(2), "-r needs a filter");
}

#[test]
fn a_runtime_error_is_reported_not_a_panic() {
    let out = spoor(&[
        "query",
        "-q",
        QUERY,
        "examples/evidence",
        "--jq",
        ".[] | .EventName | startswith(1)",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the jq filter failed"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
