//! Walks the whole shared corpus: every file that holds log data must be claimed by a format and
//! read; every file that is not claimed must be one that holds no log data (rules, documents,
//! indicator feeds, packet captures) or a known gap listed below with its reason. Both lists are
//! exact: a gap that starts being read, or a new unread file, fails the test.
//!
//! The corpus is found at `$SPOOR_CORPUS`, else `../../../shared/corpus` from this crate; when it
//! is missing the test fails under CI (`CI` set) and is skipped otherwise.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use spoor_catalog::catalog;
use spoor_sources::{Decoded, EvidenceFile, discover, read};

use support::corpus;

/// Why a file that no format claims holds no log data, or None if it should have been read.
fn not_log_data(rel: &str) -> Option<&'static str> {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    Some(match ext {
        "md" | "pdf" => "a document",
        "yml" | "yaml" => "rules, test expectations or dataset metadata",
        "txt" if rel.contains("suricata/") => "a Suricata signature or id list",
        "txt" if name == "CMakeLists.txt" => "a build file",
        "txt" if name.contains("Readme") => "a document",
        "bak" => "a backup copy of the file beside it (deliberately not read twice)",
        "cap" | "pcap" => "a packet capture (spoor reads logs, not packets)",
        "gitignore" => "a repository file",
        "dat" if rel.starts_with("evtx-odd/") => "a bare BinXML fragment, not an event log",
        _ if rel.starts_with("attack/") => "the ATT&CK catalog (STIX objects)",
        _ if rel.contains("/Feeds/") || name.starts_with("PenTestsIPaddresses") => {
            "an indicator or lookup list (one or two columns, or a feed document)"
        }
        _ if rel.ends_with("k8s_audit/fal_01_003.json") => {
            "Falco's malformed-input case: {\"kind\": 0} is not an audit event"
        }
        _ => return None,
    })
}

/// Files with log data that no format reads yet, and why. Each must still be unclaimed.
const KNOWN_GAPS: &[(&str, &str)] = &[];

/// Files whose bad records are expected, and why.
const EXPECTED_BAD: &[(&str, &str)] = &[(
    "Microsoft365DefenderEvents.json",
    "a union of several Defender tables exported without a Type column, read as DeviceEvents: \
     its CloudAppEvents rows have a text ReportId where DeviceEvents has a number",
)];

#[test]
fn every_log_file_in_the_corpus_is_recognised_and_read() {
    let Some(corpus) = corpus() else { return };
    let inv = discover(std::slice::from_ref(&corpus));
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    let rel = |p: &Path| {
        p.strip_prefix(&corpus)
            .unwrap_or(p)
            .to_string_lossy()
            .replace('\\', "/")
    };

    let mut unexpected = Vec::new();
    let mut gaps_seen = Vec::new();
    for path in &inv.unclaimed {
        let r = rel(path);
        if not_log_data(&r).is_some() {
            continue;
        }
        if let Some((g, _)) = KNOWN_GAPS.iter().find(|(g, _)| r.ends_with(g)) {
            gaps_seen.push(*g);
            continue;
        }
        unexpected.push(r);
    }
    assert!(
        unexpected.is_empty(),
        "log files that no format recognises:\n{}",
        unexpected.join("\n")
    );
    for (g, why) in KNOWN_GAPS {
        assert!(
            gaps_seen.contains(g),
            "{g} is read now ({why}): remove it from KNOWN_GAPS"
        );
    }

    // No claimed file may be a document or a rule.
    for f in &inv.files {
        let r = rel(&f.path);
        assert!(
            !r.ends_with(".yml") && !r.ends_with(".md") && !r.starts_with("attack/"),
            "{r} is not log data but {} claimed it",
            f.format.name()
        );
    }

    // Every claimed file is read; the bulk folders are read by their own tests (s3 ransomware,
    // stratus, the Sigma regression data) and benchmarks (evtx-mitre), so here one file of each
    // of their formats is enough.
    let mut per_format: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut sampled: BTreeMap<(&str, &str), bool> = BTreeMap::new();
    for f in &inv.files {
        let r = rel(&f.path);
        let bulk = [
            "cloudtrail-s3-ransomware/",
            "evtx-mitre/",
            "sigma/",
            "cloudtrail-stratus/",
        ]
        .into_iter()
        .find(|b| r.starts_with(b));
        if let Some(b) = bulk
            && sampled.insert((b, f.format.name()), true).is_some()
        {
            continue;
        }
        let rows = read_rows(f, &r);
        let e = per_format.entry(f.format.name()).or_default();
        e.0 += 1;
        e.1 += rows;
    }
    for (format, (files, rows)) in &per_format {
        eprintln!("{format}: {files} files read, {rows} rows");
    }
    for format in [
        "cloudtrail",
        "evtx",
        "windows-json",
        "la-export",
        "cef",
        "syslog",
        "k8s-audit",
        "suricata-eve",
        "table-rows",
    ] {
        assert!(
            per_format.get(format).is_some_and(|&(_, rows)| rows > 0),
            "no rows of {format} in the corpus walk: {per_format:?}"
        );
    }
}

/// Reads every table a file fills; the rows of its first table. Damaged records are allowed only
/// where the corpus says the files are damaged.
fn read_rows(f: &EvidenceFile, rel: &str) -> usize {
    let mut first_rows = None;
    for table in &f.tables {
        let t = catalog().table(table).unwrap();
        let mut rows = 0;
        for item in read(f, t, None, 4096).unwrap_or_else(|e| panic!("{rel}: {e}")) {
            match item {
                Ok(Decoded::Batch(b)) => rows += b.num_rows(),
                Ok(Decoded::Bad(bad)) => assert!(
                    rel.starts_with("evtx-odd/")
                        || rel.contains("regression_data")
                        || EXPECTED_BAD.iter().any(|(f, _)| rel.ends_with(f)),
                    "{rel}: a bad record in data that is not damaged: {bad}"
                ),
                Err(e) => assert!(rel.starts_with("evtx-odd/"), "{rel}: {e}"),
            }
        }
        first_rows.get_or_insert(rows);
    }
    first_rows.unwrap_or(0)
}

/// Rows of a table decoded from a file.
fn rows_of(f: &EvidenceFile, table: &str) -> usize {
    let t = catalog().table(table).unwrap();
    read(f, t, Some(&[]), 4096)
        .unwrap()
        .map(|item| match item.unwrap() {
            Decoded::Batch(b) => b.num_rows(),
            Decoded::Bad(bad) => panic!("real data has no bad records: {bad}"),
        })
        .sum()
}

/// The JSON values of a file read independently: an array's elements, or one per line.
fn json_values(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Array(a)) => a,
        _ => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    }
}

#[test]
fn kubernetes_and_suricata_rows_match_an_independent_count() {
    let Some(corpus) = corpus() else { return };
    let dirs = [
        corpus.join("k8s-audit-falco/test/trace_files/k8s_audit"),
        corpus.join("suricata/samples"),
    ];
    let inv = discover(&dirs);
    let mut checked = BTreeMap::new();
    for f in &inv.files {
        let values = json_values(&f.path);
        let (table, expected) = match f.format.name() {
            "k8s-audit" => (
                "KubeAudit",
                values.iter().filter(|v| v.get("auditID").is_some()).count(),
            ),
            "suricata-eve" => (
                "SuricataEve",
                values
                    .iter()
                    .filter(|v| v.get("event_type").is_some())
                    .count(),
            ),
            other => panic!("{}: claimed by {other}", f.path.display()),
        };
        assert!(expected > 0, "{}", f.path.display());
        assert_eq!(rows_of(f, table), expected, "{}", f.path.display());
        if table == "KubeAudit" {
            assert_eq!(rows_of(f, "AKSAudit"), expected, "{}", f.path.display());
        }
        *checked.entry(table).or_insert(0) += expected;
    }
    assert!(
        checked.get("KubeAudit").is_some_and(|&n| n >= 45),
        "{checked:?}"
    );
    assert!(
        checked.get("SuricataEve").is_some_and(|&n| n >= 500),
        "{checked:?}"
    );
}
