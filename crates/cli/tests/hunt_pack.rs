//! The detection pack and `spoor hunt`: every rule lints clean and passes its tests, every seed
//! hunt is covered, the CloudTrail rules fire on the Stratus Red Team detonations they are
//! written for and on no other, SigmaHQ rules find their technique in chosen evtx-mitre folders,
//! and the HTML report renders in headless Chromium.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

mod support;

use spoor_detections::{AttackTable, HuntPlan, RunOptions, Tuning};
use spoor_engine::Engine;
use support::{repo_root, runtime, shared};

fn spoor(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_spoor"))
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("spoor runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn built_in_pack_lints_clean() {
    let out = spoor(&["rules", "lint"]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains(", 0 problem(s)"));
}

#[test]
fn every_rule_test_of_the_built_in_pack_passes() {
    let out = spoor(&["rules", "test"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let (rules, errors) = spoor_detections::built_in_pack();
    assert!(errors.is_empty(), "{errors:?}");
    let tests: usize = rules.iter().map(|r| r.detection.tests.len()).sum();
    assert!(
        stdout.contains(&format!("{tests} test(s), {tests} passed, 0 failed")),
        "{stdout}"
    );
}

/// The seed hunts that the pack answers, from the rules' `covers`.
fn covered() -> BTreeMap<String, Vec<String>> {
    let (rules, _) = spoor_detections::built_in_pack();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in rules {
        for c in &r.detection.covers {
            out.entry(c.trim().to_string())
                .or_default()
                .push(r.detection.id.clone());
        }
    }
    out
}

#[test]
fn every_seed_hunt_is_covered_or_listed_with_its_reason() {
    let Some(seeds) = shared("SPOOR_SEEDS", "../shared/seeds") else {
        return;
    };
    let covered = covered();
    let notes: yaml_serde::Value = yaml_serde::from_str(
        spoor_detections::built_in_file("_seed-coverage.yml").expect("rules/_seed-coverage.yml"),
    )
    .expect("the coverage notes parse");
    let not_covered: BTreeMap<String, String> = notes["not_covered"]
        .as_sequence()
        .expect("not_covered: a list")
        .iter()
        .map(|e| {
            (
                e["hunt"].as_str().expect("hunt").trim().to_string(),
                e["reason"].as_str().expect("reason").to_string(),
            )
        })
        .collect();
    let hunts: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(seeds.join("cloud_threat_hunting.json")).unwrap(),
    )
    .unwrap();
    let mut problems = Vec::new();
    let mut with_query = 0;
    for h in hunts.as_array().unwrap() {
        let key = format!(
            "cloud_threat_hunting: {}",
            h["title"].as_str().unwrap().trim()
        );
        let has_query = h["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| !s["queries"].as_array().unwrap().is_empty());
        with_query += usize::from(has_query);
        match (covered.contains_key(&key), not_covered.get(&key)) {
            (true, Some(_)) => problems.push(format!("{key}: covered and listed as not covered")),
            (true, None) => {}
            (false, Some(reason)) if has_query => problems.push(format!(
                "{key}: has a query, so a rule must cover it (listed as not covered: {reason})"
            )),
            (false, Some(_)) => {}
            (false, None) => problems.push(format!("{key}: neither covered nor listed")),
        }
    }
    for entry in std::fs::read_dir(seeds.join("queries")).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_name().unwrap().to_string_lossy();
        let stem = stem.rsplit_once('.').map_or(stem.as_ref(), |(s, _)| s);
        let key = format!("seed: {stem}");
        if !covered.contains_key(&key) {
            problems.push(format!("{key}: no rule covers the seed query"));
        }
    }
    assert!(
        with_query > 30,
        "the playbook has {with_query} hunts with a query"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Runs the built-in pack (and Sigma rules, when given) over `paths`; the ids of the findings.
fn hunt_ids(
    paths: &[PathBuf],
    sigma: Option<&spoor_sigma::Loaded>,
    with_pack: bool,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let (pack, _) = spoor_detections::built_in_pack();
    let pack = if with_pack { pack } else { Vec::new() };
    let attack = AttackTable::built_in();
    let mut engine = Engine::open(paths, Default::default()).expect("engine");
    let rt = runtime();
    let tuning = Tuning::default();
    let mut plan = HuntPlan {
        pack: &pack,
        sigma,
        tuning: &tuning,
        options: RunOptions {
            now_ns: 0,
            params: Default::default(),
        },
        attack: &attack,
    };
    rt.block_on(spoor_detections::cache_shared_tables(&mut engine, &plan))
        .unwrap();
    plan.options.now_ns = rt
        .block_on(engine.latest_event_time())
        .unwrap()
        .unwrap_or(0);
    let outcome = rt.block_on(spoor_detections::hunt(&engine, &plan, &|_, _, _| {}));
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    let ids = outcome.findings.iter().map(|f| f.rule_id.clone()).collect();
    let techniques = outcome
        .findings
        .iter()
        .flat_map(|f| f.techniques.iter().cloned())
        .collect();
    (ids, techniques)
}

#[test]
fn stratus_detonations_fire_exactly_their_rules() {
    let Some(corpus) = shared("SPOOR_CORPUS", "../shared/corpus") else {
        return;
    };
    let dir = corpus.join("cloudtrail-stratus/docs/detonation-logs");
    let table =
        std::fs::read_to_string(repo_root().join("crates/cli/tests/hunt/stratus_expected.tsv"))
            .expect("the expectation table");
    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in table.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let rules = cols
            .get(1)
            .map(|r| {
                r.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        expected.insert(cols[0].to_string(), rules);
    }
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    assert_eq!(
        files,
        expected.keys().cloned().collect::<Vec<_>>(),
        "the table lists every detonation file"
    );
    // Two files at a time (each hunt plans ~45 rules, which is slow in a debug build).
    let fired_by_file: Vec<(String, BTreeSet<String>)> = std::thread::scope(|scope| {
        let halves: Vec<_> = files
            .chunks(files.len().div_ceil(2))
            .map(|chunk| {
                let dir = &dir;
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|file| (file.clone(), hunt_ids(&[dir.join(file)], None, true).0))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        halves
            .into_iter()
            .flat_map(|h| h.join().expect("a hunt thread"))
            .collect()
    });
    let mut mismatches = Vec::new();
    let mut table_out = String::new();
    for (file, fired) in &fired_by_file {
        let want = &expected[file];
        table_out.push_str(&format!(
            "{file}\t{}\n",
            fired.iter().cloned().collect::<Vec<_>>().join(",")
        ));
        if fired != want {
            mismatches.push(format!(
                "{file}: expected {want:?}, fired {fired:?} (missing {:?}, extra {:?})",
                want.difference(fired).collect::<Vec<_>>(),
                fired.difference(want).collect::<Vec<_>>()
            ));
        }
    }
    eprintln!("{table_out}");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    let with_rules = expected.values().filter(|r| !r.is_empty()).count();
    assert!(
        with_rules >= 20,
        "only {with_rules} detonations have a rule"
    );
}

/// evtx-mitre technique folders in which the SigmaHQ rules find the folder's own technique
/// (chosen from `bench/hunt_techniques.sh`, which prints every folder: 29 of 64 find theirs).
const EVTX_MITRE_FOLDERS: &[(&str, &str)] = &[
    ("TA0002-Execution/T1053.005-Scheduled Task", "T1053.005"),
    ("TA0003-Persistence/T1197-BITS jobs", "T1197"),
    ("TA0003-Persistence/T1136-Create account", "T1136.001"),
    ("TA0005-Defense Evasion/T1070.006-Timestomp", "T1070.006"),
    (
        "TA0006-Credential Access/T1558-Steal or Forge Kerberos Tickets",
        "T1558.003",
    ),
    (
        "TA0008-Lateral Movement/T1021.003-Distributed Component Object Model (DCOM)",
        "T1021.003",
    ),
    ("TA0040-Impact/T1490-Inhibit System Recovery", "T1490"),
];

#[test]
fn sigma_rules_find_the_technique_of_chosen_evtx_mitre_folders() {
    let Some(corpus) = shared("SPOOR_CORPUS", "../shared/corpus") else {
        return;
    };
    let rules = corpus.join("sigma/rules");
    let loaded = spoor_sigma::load_paths(&[rules], &spoor_sigma::Context::default());
    let mut missing = Vec::new();
    for (folder, technique) in EVTX_MITRE_FOLDERS {
        let dir = corpus.join("evtx-mitre").join(folder);
        assert!(dir.is_dir(), "{}", dir.display());
        let (_, techniques) = hunt_ids(&[dir], Some(&loaded), false);
        eprintln!("{folder}: {techniques:?}");
        if !techniques.contains(*technique) {
            missing.push(format!("{folder}: {technique} not among {techniques:?}"));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(out) = Command::new("which").arg(name).output()
            && out.status.success()
        {
            return Some(PathBuf::from(text(&out.stdout).trim()));
        }
    }
    if std::env::var_os("CI").is_some() {
        panic!("chromium is missing and CI is set: .ci/run installs Debian's chromium package");
    }
    eprintln!("skipped: no chromium on this machine (Debian: apt-get install chromium)");
    None
}

#[test]
fn html_report_renders_in_headless_chromium() {
    let Some(browser) = chromium() else { return };
    let scratch = tempfile::tempdir().unwrap();
    let report = scratch.path().join("report.html");
    let out = spoor(&[
        "hunt",
        "-q",
        "--report",
        report.to_str().unwrap(),
        "examples/evidence",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        !html.contains("http://") || !html.contains("src=\"http"),
        "no remote resources"
    );
    let url = format!("file://{}", report.display());
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--window-size=1400,1000",
    ];
    let dom = Command::new(&browser)
        .args(common)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(dom.status.success(), "{}", text(&dom.stderr));
    let dom_text = text(&dom.stdout);
    assert!(dom_text.contains("ATT&amp;CK matrix"), "{dom_text}");
    assert!(dom_text.contains("data-tactic=\"defense-evasion\""));
    assert!(dom_text.contains("data-technique=\"T1562.008\""));
    assert!(dom_text.contains("<svg"), "charts are inline SVG");
    let stderr = text(&dom.stderr);
    assert!(
        !stderr.contains("Uncaught") && !stderr.contains("Failed to load resource"),
        "{stderr}"
    );
    let shot = scratch.path().join("shot.png");
    let out = Command::new(&browser)
        .args(common)
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let png = std::fs::read(&shot).expect("a screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(
        png.len() > 20_000,
        "a screenshot of a drawn page ({} bytes)",
        png.len()
    );
}

#[test]
fn lint_reports_each_problem_with_its_file_and_field() {
    let out = spoor(&["rules", "lint", "crates/cli/tests/fixtures/pack-bad"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    for expected in [
        "misspelt-field.yml:5:1: unknown field `severty`",
        "wrong-facts.yml: id: \"Wrong_Facts\": use lower-case letters, digits and dashes",
        "wrong-facts.yml: techniques[0]: T9999 is not an ATT&CK technique",
        "wrong-facts.yml: techniques[1]: write t1562.008 as T1562.008",
        "wrong-facts.yml: tactics[0]: execution is not a tactic of the rule's techniques (defense-evasion)",
        "wrong-facts.yml: risk.score: 120 is above 100",
        "wrong-facts.yml: parameters[1]: Unused is not used by the query",
        "wrong-facts.yml: tables: SigninLogs is listed but the query does not read it",
        "wrong-facts.yml: false_positives[0].tuning: does not plan with the query",
        "wrong-facts.yml: tests: add a test whose events must match",
        "wrong-facts.yml: tests: add a test whose events must not match",
        "wrong-facts.yml: validation: say how to exercise the rule",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in\n{stdout}"
        );
    }
}

#[test]
fn attack_update_reads_a_stix_bundle_and_replaces_the_built_in_table() {
    let scratch = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_spoor"))
            .args(args)
            .current_dir(repo_root())
            .env("SPOOR_DATA_DIR", scratch.path())
            .output()
            .unwrap()
    };
    let out = run(&[
        "attack",
        "update",
        "crates/cli/tests/fixtures/stix/bundle.json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("2 tactics, 2 techniques"));
    let table = std::fs::read_to_string(scratch.path().join("attack.tsv")).unwrap();
    // The matrix object orders the tactics; the revoked technique is left out.
    assert!(table.find("TA0001").unwrap() < table.find("TA0005").unwrap());
    assert!(!table.contains("T1000"));
    let out = run(&["attack", "show", "T1562.008"]);
    assert_eq!(
        text(&out.stdout),
        "T1562.008  Impair Defenses: Disable or Modify Cloud Logs\ntactics: Defense Evasion (TA0005)\n"
    );
    // A technique the written table lacks is unknown, though the built-in table has it.
    let out = run(&["attack", "show", "T1078"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["attack", "update", "crates/cli/tests/fixtures/pack-bad"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a folder without STIX is refused"
    );
}

#[test]
fn hunt_json_findings_carry_attack_and_samples() {
    let out = spoor(&[
        "hunt",
        "-q",
        "--format",
        "json",
        "--sample",
        "1",
        "examples/evidence",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let findings: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let stop = findings
        .iter()
        .find(|f| f["rule_id"] == "aws-cloudtrail-stop-logging")
        .expect("the StopLogging rule fires on the example evidence");
    assert_eq!(stop["techniques"], serde_json::json!(["T1562.008"]));
    assert_eq!(stop["tactics"], serde_json::json!(["defense-evasion"]));
    assert_eq!(stop["severity"], "high");
    assert!(stop["hits"].as_u64().unwrap() >= 1);
    assert_eq!(stop["sample"].as_array().unwrap().len(), 1);
    assert_eq!(stop["sample"][0]["EventName"], "StopLogging");
    assert!(stop["first"].as_str().unwrap().ends_with('Z'));
    // Most severe first.
    let rank = |s: &str| {
        ["informational", "low", "medium", "high", "critical"]
            .iter()
            .position(|x| *x == s)
    };
    let ranks: Vec<_> = findings
        .iter()
        .map(|f| rank(f["severity"].as_str().unwrap()))
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] >= w[1]), "{ranks:?}");
}

#[test]
fn tuning_removes_the_rows_it_names_and_unknown_params_are_refused() {
    let scratch = tempfile::tempdir().unwrap();
    let tuning = scratch.path().join("tuning.yml");
    std::fs::write(
        &tuning,
        "exclusions:\n  - rule: aws-cloudtrail-stop-logging\n    reason: mallory is our red team\n    where: UserIdentityArn endswith \"user/mallory\"\n",
    )
    .unwrap();
    let out = spoor(&[
        "hunt",
        "-q",
        "--format",
        "json",
        "--tuning",
        tuning.to_str().unwrap(),
        "examples/evidence",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("aws-cloudtrail-stop-logging"));
    let out = spoor(&[
        "hunt",
        "-q",
        "--param",
        "NoSuchParam=1",
        "examples/evidence",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--param NoSuchParam: no rule of the hunt has a parameter"));
    std::fs::write(&tuning, "exclusions:\n  - rule: x\n    why: no\n").unwrap();
    let out = spoor(&[
        "hunt",
        "-q",
        "--tuning",
        tuning.to_str().unwrap(),
        "examples/evidence",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("tuning.yml: line 3"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn hunt_writes_the_timeline_and_the_navigator_layer() {
    let scratch = tempfile::tempdir().unwrap();
    let timeline = scratch.path().join("timeline.csv");
    let layer = scratch.path().join("layer.json");
    let out = spoor(&[
        "hunt",
        "-q",
        "--timeline",
        timeline.to_str().unwrap(),
        "--attack-layer",
        layer.to_str().unwrap(),
        "examples/evidence",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = std::fs::read_to_string(&timeline).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("time,severity,score,rule_id,title,techniques,source,event")
    );
    let times: Vec<&str> = lines.map(|l| l.split(',').next().unwrap()).collect();
    assert!(!times.is_empty());
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "the timeline is in time order");
    let layer: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&layer).unwrap()).unwrap();
    assert_eq!(layer["domain"], "enterprise-attack");
    assert!(layer["techniques"].as_array().unwrap().iter().any(|t| {
        t["techniqueID"] == "T1562.008"
            && t["tactic"] == "defense-evasion"
            && t["score"].as_u64() >= Some(75)
            && t["comment"]
                .as_str()
                .unwrap()
                .contains("CloudTrail logging stopped (1 hits)")
    }));
}

#[test]
fn readme_shows_what_the_main_command_prints() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    assert!(readme.contains("cargo run -q -- hunt examples/evidence"));
    let after = readme
        .split_once("What the first command prints")
        .expect("the README shows the main command's output")
        .1;
    let block = after
        .split_once("```\n")
        .and_then(|(_, rest)| rest.split_once("\n```"))
        .expect("a fenced block")
        .0;
    let (rules, _) = spoor_detections::built_in_pack();
    assert!(
        readme.contains(&format!("({} rules in", rules.len())),
        "the README gives the pack's size"
    );
    let out = spoor(&["hunt", "examples/evidence"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim_end(),
        block.trim_end(),
        "update the README's output of `spoor hunt examples/evidence`"
    );
}
