//! Every Athena SQL and CloudWatch Logs Insights query of the seed playbook
//! (`../shared/seeds/cloud_threat_hunting.json`), plain or embedded in an AWS CLI command, is
//! checked without evidence and run over the playbook fixture (`tests/fixtures/playbook`:
//! flow logs, CloudTrail, exported CloudWatch Logs). The results are one snapshot, reviewed
//! row by row; a seed that is malformed snapshots its error at its position.
//!
//! An embedded query is also run as the shell hands it to the AWS CLI (`--query-string`
//! unquoted), which is what Athena or Logs Insights receive.
//!
//! The Sumo Logic seed (`queries/t1046_network_service_discovery.sumo`) is checked with
//! `spoor check --lang sumo` and run over hand-made Sysmon and Security 4688 events
//! (`tests/fixtures/sumo`), with each expected row spelled out.

mod support;

use support::{render_result, repo_root, run_cwl, run_spl, run_sql, run_sumo, shared};

/// A seed query: where it is, its language, its text, and why it is malformed when it is.
struct Seed {
    label: String,
    language: &'static str,
    text: String,
    malformed: Option<&'static str>,
}

/// Why a seed text is not a valid query, for the seeds known to be malformed.
fn malformed_because(text: &str, shell_mangled: bool) -> Option<&'static str> {
    if text.contains("\\\"") {
        Some("the shell's escaping is left in the embedded query")
    } else if text.contains("' --") {
        Some("shell words were caught in the embedded query")
    } else if shell_mangled {
        Some("the query's own double quotes end the shell's double-quoted argument")
    } else {
        None
    }
}

fn seeds() -> Option<Vec<Seed>> {
    let dir = shared("SPOOR_SEEDS", "../shared/seeds")?;
    let text = std::fs::read_to_string(dir.join("cloud_threat_hunting.json")).expect("seed file");
    let hunts: serde_json::Value = serde_json::from_str(&text).expect("seed JSON");
    let mut out = Vec::new();
    for (h, hunt) in hunts
        .as_array()
        .expect("a list of hunts")
        .iter()
        .enumerate()
    {
        for (s, step) in hunt["steps"].as_array().into_iter().flatten().enumerate() {
            for (q, query) in step["queries"].as_array().into_iter().flatten().enumerate() {
                let label = format!(
                    "hunt {h} step {s} query {q} ({})",
                    hunt["title"].as_str().unwrap_or("").trim()
                );
                let mut push = |language: &str, text: &str, how: &str, shell_mangled: bool| {
                    let language = match language {
                        "athena-sql" => "sql",
                        "cloudwatch-insights" => "cwl",
                        _ => return,
                    };
                    out.push(Seed {
                        label: format!("{label} {how}"),
                        language,
                        text: text.to_string(),
                        malformed: malformed_because(text, shell_mangled),
                    });
                };
                let outer = query["language"].as_str().unwrap_or("");
                let command = query["text"].as_str().unwrap_or("");
                push(outer, command, "plain", false);
                if let Some(embedded) = query.get("embedded") {
                    let lang = embedded["language"].as_str().unwrap_or("");
                    let text = embedded["text"].as_str().unwrap_or("");
                    push(lang, text, "embedded", false);
                    if let Some(unquoted) = query_string_argument(command) {
                        // Inside `--query-string "..."`, an unescaped `"` of the query ends
                        // the shell's string.
                        let mangled = command.contains("--query-string \"")
                            && text.replace("\\\"", "").contains('"');
                        push(lang, &unquoted, "as the shell passes it", mangled);
                    }
                }
            }
        }
    }
    Some(out)
}

/// The `--query-string` argument of an AWS CLI command line, as a POSIX shell passes it.
fn query_string_argument(command: &str) -> Option<String> {
    // `QUERY_ID=$(aws ... )`: the command inside the substitution.
    let inner = match command.find("$(aws ") {
        Some(i) => command[i + 2..].trim_end().trim_end_matches(')'),
        None => command,
    };
    let words = shlex::split(inner)?;
    let at = words.iter().position(|w| w == "--query-string")?;
    words.get(at + 1).cloned()
}

/// Whether the query compares with a placeholder the reader fills in (`"[ContainerName]"`).
fn has_placeholder(text: &str) -> bool {
    text.split("\"[").skip(1).any(|rest| {
        rest.split_once("]\"")
            .is_some_and(|(name, _)| name.chars().all(|c| c.is_ascii_alphanumeric()))
    })
}

#[test]
fn every_athena_and_logs_insights_seed_checks_and_runs() {
    let Some(seeds) = seeds() else { return };
    let evidence = repo_root().join("crates/cli/tests/fixtures/playbook");
    let now_ns = spoor_functions::datetime::parse_kql_datetime("2023-08-10T00:00:00Z").unwrap();
    let mut report = String::new();
    let mut seen = std::collections::HashSet::new();
    let (mut ran, mut malformed) = (0, Vec::new());
    for seed in &seeds {
        if !seen.insert((seed.language, seed.text.clone())) {
            continue;
        }
        // The seed's text stays in the seed file: the snapshot names the seed and shows what
        // spoor made of it.
        report.push_str(&format!("=== {} [{}]\n", seed.label, seed.language));
        let origin = "<seed>";
        let checked = match seed.language {
            "sql" => spoor_sql::compile(&seed.text, now_ns).map(|_| ()),
            _ => spoor_cwl::compile(&seed.text, &Default::default()).map(|_| ()),
        };
        if let Err(ds) = checked {
            let rendered: String = ds.iter().map(|d| d.render(&seed.text, origin)).collect();
            let index = spoor_core::LineIndex::new(&seed.text);
            for d in &ds {
                let at = index.line_col(d.span.start, &seed.text);
                report.push_str(&format!("error at {}:{}: {}\n", at.line, at.col, d.message));
            }
            assert!(
                seed.malformed.is_some(),
                "{} fails to check, and it is not one of the known malformed seeds:\n{}\n{rendered}",
                seed.label,
                seed.text
            );
            report.push_str(&format!(
                "(malformed: {})\n",
                seed.malformed.unwrap_or_default()
            ));
            malformed.push(seed.label.clone());
            continue;
        }
        assert!(
            seed.malformed.is_none(),
            "{} is malformed ({}) but checks",
            seed.label,
            seed.malformed.unwrap_or_default()
        );
        let lower = seed.text.to_lowercase();
        let (result, ordered) = match seed.language {
            "sql" => (
                run_sql(&evidence, &seed.text, origin, now_ns),
                lower.contains("order by"),
            ),
            _ => (
                run_cwl(&evidence, &seed.text, origin, Vec::new()),
                lower.contains("sort "),
            ),
        };
        let result =
            result.unwrap_or_else(|e| panic!("{}: checks but fails to run: {e}", seed.label));
        assert!(
            result.rows() > 0 || has_placeholder(&seed.text),
            "{}: no rows on the playbook fixture; the fixture should hold what the hunt looks for",
            seed.label
        );
        report.push_str(&render_result(&result, None, ordered));
        ran += 1;
    }
    report.push_str(&format!(
        "\n{ran} seed queries ran; {} are malformed\n",
        malformed.len()
    ));
    assert!(ran >= 20, "only {ran} seed queries ran");
    insta::assert_snapshot!(report);
}

/// The seed's Splunk searches (`queries/*.spl`) run with the macros spoor ships
/// (`examples/splunk/macros.conf`) over the AKS fixture, and find the unauthenticated scan.
#[test]
fn the_seed_spl_searches_check_and_run() {
    let Some(seeds) = shared("SPOOR_SEEDS", "../shared/seeds") else {
        return;
    };
    let macros = vec![repo_root().join("examples/splunk/macros.conf")];
    let evidence = repo_root().join("crates/cli/tests/fixtures/spl/aks");
    let mut ran = 0;
    for entry in std::fs::read_dir(seeds.join("queries")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "spl") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let result = run_spl(&evidence, &text, &name, &macros, 0).unwrap_or_else(|e| panic!("{e}"));
        let rows = result.json_rows();
        // The three requests that the API server refused as unauthenticated, and only those.
        let mut uris: Vec<&str> = rows
            .iter()
            .filter_map(|r| r.get("requestURI")?.as_str())
            .collect();
        uris.sort_unstable();
        assert_eq!(
            uris,
            [
                "/api/v1/namespaces/kube-system/secrets",
                "/apis",
                "/version"
            ],
            "{name}"
        );
        assert!(
            rows.iter()
                .all(|r| r["responseStatus.reason"] == "Unauthorized"),
            "{name}"
        );
        assert_eq!(
            result.columns(),
            [
                "sourceIPs{}",
                "userAgent",
                "verb",
                "requestURI",
                "responseStatus.reason"
            ],
            "{name}"
        );
        ran += 1;
    }
    assert_eq!(ran, 1, "the seeds hold one SPL search");
}

#[test]
fn sumo_t1046_seed_checks_and_finds_the_scans_newest_first() {
    let Some(dir) = shared("SPOOR_SEEDS", "../shared/seeds") else {
        return;
    };
    let path = dir.join("queries/t1046_network_service_discovery.sumo");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_spoor"))
        .args(["check", "--lang", "sumo", "-f"])
        .arg(&path)
        .output()
        .expect("spoor runs");
    assert!(
        out.status.success(),
        "spoor check --lang sumo failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let text = std::fs::read_to_string(&path).expect("seed query");
    let evidence = repo_root().join("crates/cli/tests/fixtures/sumo");
    let result = run_sumo(&evidence, &text, "<seed>").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        result.columns(),
        [
            "_time",
            "host",
            "user",
            "image_path",
            "cmdline",
            "parent_image",
            "known_scanner",
            "native_scan",
            "port_range",
            "service_version",
            "suspicion_score",
            "detection_type"
        ]
    );
    let rows: Vec<(String, String, String, i64)> = result
        .json_rows()
        .into_iter()
        .map(|r| {
            let text = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (
                text("_time"),
                text("user"),
                text("detection_type"),
                r["suspicion_score"].as_i64().expect("an integer score"),
            )
        })
        .collect();
    // Newest first (`sort by _time desc`). Not there: the machine accounts' scans (WS07$ in
    // Sysmon, WS12$ in 4688), nmap's network connections (Sysmon event 3), a logon (4624),
    // and the benign processes (whoami, notepad, git, a PowerShell directory listing).
    let expected = [
        ("2023-08-09T10:30:02Z", "bob", "NativeToolScanning", 1),
        (
            "2023-08-09T10:27:00Z",
            "CONTOSO\\carol",
            "PortScanPattern",
            1,
        ),
        ("2023-08-09T10:25:30Z", "bob", "KnownScanningTool", 2),
        (
            "2023-08-09T10:21:40.1000000Z",
            "CONTOSO\\alice",
            "NativeToolScanning",
            1,
        ),
        (
            "2023-08-09T10:15:04.5000000Z",
            "CONTOSO\\alice",
            "KnownScanningTool",
            3,
        ),
    ];
    let expected: Vec<(String, String, String, i64)> = expected
        .iter()
        .map(|(t, u, d, s)| (t.to_string(), u.to_string(), d.to_string(), *s))
        .collect();
    assert_eq!(rows, expected);
    // The 4688 events have no Image, User or ParentImage: the query takes NewProcessName,
    // SubjectUserName and ParentProcessName instead.
    let net_view = &result.json_rows()[0];
    assert_eq!(net_view["image_path"], "C:\\Windows\\System32\\cmd.exe");
    assert_eq!(net_view["parent_image"], "C:\\Windows\\explorer.exe");
    assert_eq!(net_view["host"], "WS12.contoso.local");
}
