//! The command line as scripts see it: exit codes and the machine-readable shapes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn spoor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spoor"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("spoor runs")
}

/// `spoor query --lang sigma -q --format json ARGS...`.
fn sigma_query_json(args: &[&str]) -> Output {
    let mut all = vec!["query", "--lang", "sigma", "-q", "--format", "json"];
    all.extend_from_slice(args);
    spoor(&all)
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

#[test]
fn check_jsonl_prints_one_verdict_per_input_line_and_nothing_else() {
    let out = spoor(&[
        "check",
        "--jsonl",
        "crates/cli/tests/fixtures/queries.jsonl",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "some queries fail: exit 1");
    let rows = json_lines(&out);
    let lines: Vec<u64> = rows.iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, vec![1, 2, 3, 4, 6], "blank lines are not queries");
    for r in &rows {
        let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["line", "parsed", "planned", "error"]);
    }
    assert_eq!(
        (rows[0]["parsed"].as_bool(), rows[0]["planned"].as_bool()),
        (Some(true), Some(true))
    );
    assert!(rows[0]["error"].is_null());
    assert_eq!(
        (rows[1]["parsed"].as_bool(), rows[1]["planned"].as_bool()),
        (Some(false), Some(false))
    );
    assert!(
        rows[1]["error"].as_str().unwrap().contains(":2:"),
        "the error names the line: {}",
        rows[1]["error"]
    );
    assert_eq!(
        (rows[2]["parsed"].as_bool(), rows[2]["planned"].as_bool()),
        (Some(true), Some(false))
    );
    assert!(rows[2]["error"].as_str().unwrap().contains("NoSuchColumn"));
    assert!(rows[3]["error"].as_str().unwrap().contains("not JSON"));
    assert!(rows[4]["error"].as_str().unwrap().contains("\"query\""));
}

#[test]
fn check_text_summarises_the_rate() {
    let out = spoor(&[
        "check",
        "--jsonl",
        "crates/cli/tests/fixtures/queries.jsonl",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("5 queries: 2 parse (40.0%), 1 plan (20.0%)"),
        "{text}"
    );
}

#[test]
fn tables_json_has_the_documented_shape() {
    let out = spoor(&["tables", "--format", "json", "examples/evidence"]);
    assert_eq!(out.status.code(), Some(0));
    let rows = json_lines(&out);
    let ct = rows
        .iter()
        .find(|r| r["table"] == "AWSCloudTrail")
        .expect("AWSCloudTrail");
    let keys: Vec<&str> = ct.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["table", "rows", "files", "bad_records", "first", "last"]
    );
    assert_eq!(ct["rows"], 10);
    assert_eq!(ct["files"], 3);
    assert_eq!(ct["bad_records"], 1);
    assert_eq!(ct["first"], "2023-08-09T07:58:02Z");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("README.txt was not recognised"),
        "unclaimed files are listed: {stderr}"
    );
}

#[test]
fn query_errors_exit_1_and_point_at_the_fault() {
    let out = spoor(&[
        "query",
        "AWSCloudTrail | where EventNam == 'x'",
        "examples/evidence",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("<query>:1:23"), "{stderr}");
    assert!(stderr.contains("did you mean `EventName`?"), "{stderr}");
}

#[test]
fn usage_errors_exit_2() {
    let out = spoor(&["query", "AWSCloudTrail | take 1"]);
    assert_eq!(out.status.code(), Some(2), "no evidence named");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no evidence given"));
    let out = spoor(&["query", "AWSCloudTrail | take 1", "no/such/folder"]);
    assert_eq!(out.status.code(), Some(2));
    let out = spoor(&[
        "query",
        "--now",
        "yesterday-ish",
        "AWSCloudTrail",
        "examples/evidence",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = spoor(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn query_json_and_csv_outputs() {
    let q = "AWSCloudTrail | where EventName == 'StopLogging' | project TimeGenerated, EventName, RequestParameters";
    let out = spoor(&["query", "--format", "json", q, "examples/evidence"]);
    assert_eq!(out.status.code(), Some(0));
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["TimeGenerated"], "2023-08-09T09:12:44Z");
    let out = spoor(&["query", "--format", "csv", q, "examples/evidence"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(
            "TimeGenerated,EventName,RequestParameters\n2023-08-09T09:12:44Z,StopLogging,"
        ),
        "{text}"
    );
    // The damaged line of the example evidence is reported, with its file and line.
    assert!(String::from_utf8_lossy(&out.stderr).contains("agent-forwarded.jsonl:line 3"));
}

#[test]
fn evidence_is_never_written() {
    let before = listing(&repo().join("examples/evidence"));
    let _ = spoor(&["tables", "examples/evidence"]);
    let _ = spoor(&[
        "query",
        "W3CIISLog | summarize count() by cIP",
        "examples/evidence",
    ]);
    assert_eq!(before, listing(&repo().join("examples/evidence")));
}

fn listing(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path(), m.len(), m.modified().unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn externaldata_reads_a_mapped_local_copy_and_never_downloads() {
    let q = "let Feed = externaldata(Ip:string, Label:string, Score:long, Seen:datetime) \
             [\"https://example.org/feeds/ips.csv\"] with (format=\"csv\", ignoreFirstRecord=true); \
             W3CIISLog | summarize Requests = count() by cIP | join kind=inner Feed on $left.cIP == $right.Ip \
             | project cIP, Requests, Label, Score, Seen | sort by Score desc";
    let out = spoor(&[
        "query",
        "--format",
        "csv",
        "--externaldata-map",
        "https://example.org/feeds/ips.csv=crates/cli/tests/fixtures/ip_feed.csv",
        q,
        "examples/evidence",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "cIP,Requests,Label,Score,Seen\n198.51.100.23,6,scanner,90,2023-08-01T00:00:00Z\n203.0.113.7,5,probe,60,2023-08-02T12:00:00Z\n"
    );
    // Without the map: a clear error naming the flag, exit 1.
    let out = spoor(&["query", q, "examples/evidence"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--externaldata-map"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn workspace_functions_and_watchlists() {
    let q = "DeniedCalls | join kind=leftouter (_GetWatchlist('HighValueIps') | project Ip, Note, SearchKey) \
             on $left.SourceIpAddress == $right.Ip \
             | union (ScannerHits | summarize TimeGenerated = min(TimeGenerated) by SourceIpAddress = cIP) \
             | project SourceIpAddress, EventName, Note, SearchKey | sort by SourceIpAddress asc, EventName asc";
    let out = spoor(&[
        "query",
        "--format",
        "csv",
        "--functions",
        "crates/cli/tests/fixtures/functions",
        "--watchlists",
        "crates/cli/tests/fixtures/watchlists",
        q,
        "examples/evidence",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // The broken function is reported with its file and line; the others still load.
    assert!(stderr.contains("Broken.kql"), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "SourceIpAddress,EventName,Note,SearchKey\n\
         198.51.100.23,,,\n\
         198.51.100.23,DeleteDetector,known scanner,198.51.100.23\n\
         203.0.113.50,ListBuckets,,\n\
         203.0.113.7,,,\n"
    );
    // check knows the functions too.
    let out = spoor(&[
        "check",
        "--functions",
        "crates/cli/tests/fixtures/functions",
        "DeniedCalls(datetime(2023-08-09)) | count",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// bag_unpack's columns come from the data: `spoor query` reads the input first (the probe),
/// `spoor check` has no data and says which names it could not settle.
#[test]
fn bag_unpack_columns_come_from_the_data_when_querying_and_are_noted_when_checking() {
    let query = "datatable(Id:long, P:dynamic) [1, dynamic({\"User\": \"alice\", \"Port\": 22})] \
                 | evaluate bag_unpack(P) | where Port > 20 | project Id, User, Port";
    let out = spoor(&[
        "query",
        "-q",
        "--format",
        "json",
        query,
        "examples/evidence",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = json_lines(&out);
    assert_eq!(
        rows,
        vec![serde_json::json!({"Id": 1, "User": "alice", "Port": 22})]
    );

    let out = spoor(&["check", query]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("note: evaluate bag_unpack takes its output columns from the data"),
        "{text}"
    );
}

#[test]
fn sources_lists_every_format_with_its_tables() {
    let out = spoor(&["sources", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let rows = json_lines(&out);
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    for name in [
        "cloudtrail",
        "evtx",
        "k8s-audit",
        "suricata-eve",
        "azure-diagnostics",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    let kube = rows.iter().find(|r| r["name"] == "k8s-audit").unwrap();
    assert_eq!(kube["tables"], serde_json::json!(["KubeAudit", "AKSAudit"]));
    assert!(!kube["description"].as_str().unwrap().is_empty());
}

#[test]
fn source_format_forces_one_format_and_names_the_choices_when_unknown() {
    let out = spoor(&[
        "tables",
        "-q",
        "--format",
        "json",
        "--source-format",
        "syslog",
        "crates/sources/tests/fixtures/cef",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let tables: Vec<String> = json_lines(&out)
        .iter()
        .map(|r| r["table"].as_str().unwrap().to_string())
        .collect();
    assert!(
        tables.contains(&"Syslog".to_string()) && !tables.contains(&"CommonSecurityLog".into()),
        "CEF lines read as syslog: {tables:?}"
    );
    let out = spoor(&["tables", "--source-format", "nope", "examples/evidence"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no such format") && err.contains("k8s-audit"),
        "{err}"
    );
}

#[test]
fn sigma_check_lists_each_rule_that_does_not_load_and_exits_1() {
    let out = spoor(&["check", "--lang", "sigma", "crates/cli/tests/sigma"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("no table for log source product: acme_vpn, service: audit"),
        "{text}"
    );
    assert!(
        text.contains("placeholder %admins% has no values"),
        "{text}"
    );
    let tally = text
        .lines()
        .find(|l| l.contains(" rules: "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(tally.contains("do not"), "{tally}");
    // JSON: one object per rule, loaded or not.
    let out = spoor(&[
        "check",
        "--lang",
        "sigma",
        "--format",
        "json",
        "--sigma-placeholders",
        "crates/cli/tests/fixtures/sigma-placeholders.yml",
        "crates/cli/tests/sigma/placeholders.yml",
    ]);
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["loaded"], true);
    assert_eq!(rows[0]["tables"][0], "Sysmon");
}

#[test]
fn sigma_query_prints_a_correlations_results_and_hides_the_rules_it_reads() {
    let rules = "title: failed\nname: failed\nlogsource: {product: windows, service: security}\n\
                 detection: {sel: {EventID: 4625}, condition: sel}\n---\n\
                 title: many failures\ncorrelation: {type: event_count, rules: [failed], \
                 group-by: [TargetUserName], timespan: 5m, condition: {gte: 3}}\n";
    let out = sigma_query_json(&[rules, "crates/cli/tests/fixtures/sigma-correlation"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let rows = json_lines(&out);
    let users: Vec<&str> = rows
        .iter()
        .map(|r| r["TargetUserName"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["bob", "dave"]);
    assert_eq!(rows[0]["event_count"], 3.0);
    assert_eq!(rows[0]["first"], "2024-03-02T10:00:00Z");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1 rule(s) only feed correlations"), "{err}");
    // With `generate: true` the rule reports too: two items, so a summary.
    let generated = rules.replace("many failures\n", "many failures\ngenerate: true\n");
    let out = sigma_query_json(&[&generated, "crates/cli/tests/fixtures/sigma-correlation"]);
    let rows = json_lines(&out);
    let fired: Vec<(&str, u64)> = rows
        .iter()
        .map(|r| (r["table"].as_str().unwrap(), r["hits"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        fired,
        [("SecurityEvent", 11), ("correlation: event_count", 2)]
    );
}

#[test]
fn sigma_query_prints_a_rules_rows_or_a_folders_summary() {
    let out = sigma_query_json(&[
        "-f",
        "crates/cli/tests/sigma/placeholders.yml",
        "--sigma-placeholders",
        "crates/cli/tests/fixtures/sigma/no-such-file.yml",
        "crates/cli/tests/fixtures/sigma",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a missing placeholder file is a usage error"
    );
    let rule = "title: whoami\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel: {Image|endswith: '\\whoami.exe'}\n  condition: sel\n";
    let out = sigma_query_json(&[rule, "crates/cli/tests/fixtures/sigma"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = json_lines(&out);
    let records: Vec<String> = rows
        .iter()
        .map(|r| {
            r.get("EventRecordID")
                .or_else(|| r.get("EventRecordId"))
                .map(|v| v.to_string())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(rows.len(), 2, "{records:?}");
    let out = sigma_query_json(&[
        "-f",
        "crates/cli/tests/sigma",
        "crates/cli/tests/fixtures/sigma",
    ]);
    // Some rules of the folder do not load (exit 1), the others run and are summarised.
    assert_eq!(out.status.code(), Some(1));
    let fired = json_lines(&out);
    assert!(
        fired
            .iter()
            .any(|r| r["title"] == "windash matches an en dash flag" && r["hits"] == 1),
        "{fired:?}"
    );
}
