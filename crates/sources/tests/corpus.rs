//! Real CloudTrail from the shared corpus (never copied into the project): the rows decoded per
//! file must equal an independent count of the events (serde_json::Value).
//!
//! The corpus is found at `$SPOOR_CORPUS`, else `../../../shared/corpus` from this crate. When it
//! is missing the tests fail under CI (`CI` set) and are skipped otherwise.

mod support;

use std::path::Path;

use arrow::array::{Array, StringArray, TimestampNanosecondArray};
use spoor_catalog::catalog;
use spoor_sources::{Decoded, EvidenceFile, discover, open, read};

use support::corpus;

/// The events of a file read independently with serde_json::Value.
fn events(file: &EvidenceFile) -> Vec<serde_json::Value> {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut open(file).unwrap(), &mut text).unwrap();
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Array(a)) => a,
        Ok(serde_json::Value::Object(mut o)) => match o.remove("Records") {
            Some(serde_json::Value::Array(a)) => a,
            _ => panic!("{}: no Records", file.path.display()),
        },
        _ => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    }
}

/// Events in a file counted independently: a JSON array, `{"Records":[...]}`, or JSON lines.
fn count_events(file: &EvidenceFile) -> usize {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut open(file).unwrap(), &mut text).unwrap();
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Array(a)) => a.len(),
        Ok(serde_json::Value::Object(o)) if o.contains_key("Records") => {
            o["Records"].as_array().unwrap().len()
        }
        _ => text.lines().filter(|l| !l.trim().is_empty()).count(),
    }
}

fn decode_count(file: &EvidenceFile, table: &str, columns: Option<&[&str]>) -> usize {
    let t = catalog().table(table).unwrap();
    let projection: Option<Vec<usize>> =
        columns.map(|cs| cs.iter().map(|c| t.index_of(c).unwrap()).collect());
    let mut rows = 0;
    for item in read(file, t, projection.as_deref(), 4096).unwrap() {
        match item.unwrap() {
            Decoded::Batch(b) => rows += b.num_rows(),
            Decoded::Bad(bad) => panic!("real data has no bad records: {bad}"),
        }
    }
    rows
}

#[test]
fn stratus_detonation_logs_decode_every_event() {
    let Some(corpus) = corpus() else { return };
    let dir = corpus.join("cloudtrail-stratus/docs/detonation-logs");
    let inv = discover(std::slice::from_ref(&dir));
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    assert!(inv.unclaimed.is_empty(), "unclaimed: {:?}", inv.unclaimed);
    assert!(
        inv.files.len() >= 30,
        "expected the 35 detonation logs in {}",
        dir.display()
    );
    let mut total = 0;
    for file in &inv.files {
        assert_eq!(file.format.name(), "cloudtrail", "{}", file.path.display());
        let expected = count_events(file);
        assert!(expected > 0, "{}", file.path.display());
        let name = file.path.display();
        assert_eq!(
            decode_count(file, "AWSCloudTrail", None),
            expected,
            "AWSCloudTrail, all columns: {name}"
        );
        assert_eq!(
            decode_count(
                file,
                "AWSCloudTrail",
                Some(&["EventName", "SessionIssuerUserName"])
            ),
            expected,
            "{name}"
        );
        assert_eq!(
            decode_count(file, "cloudtrail", None),
            expected,
            "cloudtrail, all columns: {name}"
        );
        assert_eq!(
            decode_count(file, "cloudtrail", Some(&[])),
            expected,
            "no columns: {name}"
        );
        total += expected;
    }
    eprintln!("{} files, {total} events", inv.files.len());
}

#[test]
fn stratus_values_match_an_independent_reading() {
    let Some(corpus) = corpus() else { return };
    let inv = discover(&[corpus.join("cloudtrail-stratus/docs/detonation-logs")]);
    let t = catalog().table("AWSCloudTrail").unwrap();
    let columns = [
        "EventName",
        "SessionIssuerUserName",
        "UserIdentityArn",
        "ErrorCode",
        "TimeGenerated",
    ];
    let projection: Vec<usize> = columns.iter().map(|c| t.index_of(c).unwrap()).collect();
    for file in &inv.files {
        let expected = events(file);
        let text = |e: &serde_json::Value, ptr: &str| {
            e.pointer(ptr).and_then(|v| v.as_str()).map(str::to_string)
        };
        let mut got: Vec<[Option<String>; 4]> = Vec::new();
        let mut times: Vec<i64> = Vec::new();
        for item in read(file, t, Some(&projection), 64).unwrap() {
            let Decoded::Batch(b) = item.unwrap() else {
                panic!("bad record in {}", file.path.display())
            };
            let s = |i: usize| {
                b.column(i)
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .unwrap()
                    .clone()
            };
            let (a, bb, c, d) = (s(0), s(1), s(2), s(3));
            let v = |a: &StringArray, r: usize| a.is_valid(r).then(|| a.value(r).to_string());
            for r in 0..b.num_rows() {
                got.push([v(&a, r), v(&bb, r), v(&c, r), v(&d, r)]);
            }
            let ts = b
                .column(4)
                .as_any()
                .downcast_ref::<TimestampNanosecondArray>()
                .unwrap();
            times.extend(ts.values().iter().copied());
        }
        let want: Vec<[Option<String>; 4]> = expected
            .iter()
            .map(|e| {
                [
                    text(e, "/eventName"),
                    text(e, "/userIdentity/sessionContext/sessionIssuer/userName"),
                    text(e, "/userIdentity/arn"),
                    text(e, "/errorCode"),
                ]
            })
            .collect();
        assert_eq!(got, want, "{}", file.path.display());
        let want_times: Vec<i64> = expected
            .iter()
            .map(|e| {
                let s = e["eventTime"].as_str().unwrap();
                chrono::DateTime::parse_from_rfc3339(s)
                    .unwrap()
                    .timestamp_nanos_opt()
                    .unwrap()
            })
            .collect();
        assert_eq!(times, want_times, "{}", file.path.display());
    }
}

#[test]
fn s3_delivery_files_decode_every_event() {
    let Some(corpus) = corpus() else { return };
    let dir = corpus.join("cloudtrail-s3-ransomware");
    let inv = discover(&[dir]);
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    // Every file of the S3 layout is a gzipped trail file; a sample keeps debug runs short.
    assert!(
        inv.unclaimed.is_empty(),
        "unclaimed: {:?}",
        &inv.unclaimed[..inv.unclaimed.len().min(5)]
    );
    for file in inv.files.iter().step_by(40) {
        let expected = count_events(file);
        assert_eq!(
            decode_count(file, "AWSCloudTrail", None),
            expected,
            "{}",
            file.path.display()
        );
    }
}

/// Rows of `table` in a Log Analytics export, counted independently: the whole file parsed with
/// serde_json (an array or JSON lines) or the csv crate; a row is the table's when its `Type`
/// (or `$table`) names it or it has none.
/// Rows of an export counted independently: those whose Type is `table` (or empty), or every row
/// for `None`.
fn count_export_rows(file: &EvidenceFile, table: Option<&str>) -> usize {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut open(file).unwrap(), &mut text).unwrap();
    let text = text.trim_start_matches('\u{feff}').trim_start();
    let is_type = |k: &str| {
        let k = k.split(" [").next().unwrap().trim();
        k == "Type" || k == "$table"
    };
    let mine =
        |t: Option<&str>| table.is_none() || t.is_none_or(|t| t.is_empty() || Some(t) == table);
    if text.starts_with('[') || text.starts_with('{') {
        let rows: Vec<serde_json::Value> = match serde_json::from_str(text) {
            Ok(serde_json::Value::Array(a)) => a,
            _ => text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str(l).unwrap())
                .collect(),
        };
        rows.iter()
            .filter(|r| {
                let o = r.as_object().unwrap();
                mine(
                    o.iter()
                        .find(|(k, _)| is_type(k))
                        .and_then(|(_, v)| v.as_str()),
                )
            })
            .count()
    } else {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let at = reader.headers().unwrap().iter().position(is_type);
        reader
            .records()
            .filter(|r| mine(at.and_then(|i| r.as_ref().unwrap().get(i))))
            .count()
    }
}

#[test]
fn sentinel_sample_data_exports_fill_the_tables_they_name() {
    let Some(corpus) = corpus() else { return };
    let dir = corpus.join("sentinel/sample-data");
    let inv = discover(std::slice::from_ref(&dir));
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    let rel = |p: &Path| p.strip_prefix(&dir).unwrap().display().to_string();

    // Every claimed file: each of its tables decodes exactly the rows counted independently,
    // with no bad record.
    let mut summary: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    let mut raw = std::collections::BTreeMap::new();
    for file in &inv.files {
        if matches!(file.format.name(), "cef" | "syslog") {
            // Raw CEF and syslog text: one row per line (the CEF lines for CEF), counted here with
            // plain text matching, and no bad record.
            let mut text = String::new();
            std::io::Read::read_to_string(&mut open(file).unwrap(), &mut text).unwrap();
            let lines = text.lines().filter(|l| !l.trim().is_empty());
            let (table, expected) = if file.format.name() == "cef" {
                (
                    "CommonSecurityLog",
                    lines.filter(|l| l.contains("CEF:")).count(),
                )
            } else {
                ("Syslog", lines.count())
            };
            assert_eq!(
                decode_count(file, table, None),
                expected,
                "{}",
                rel(&file.path)
            );
            raw.insert(rel(&file.path), (file.format.name(), expected));
            continue;
        }
        assert!(
            matches!(file.format.name(), "la-export" | "table-rows"),
            "{}: {}",
            rel(&file.path),
            file.format.name()
        );
        assert!(!file.tables.is_empty());
        // A table that a file defines for itself keeps every row, whatever its Type says.
        let defined = file.format.name() == "table-rows";
        for &table in &file.tables {
            let expected = if defined {
                count_export_rows(file, None)
            } else {
                count_export_rows(file, Some(table))
            };
            assert_eq!(
                decode_count(file, table, None),
                expected,
                "{table} in {}",
                rel(&file.path)
            );
            let e = summary.entry(table).or_default();
            e.0 += 1;
            e.1 += expected;
        }
    }
    eprintln!(
        "{} files claimed, {} not:",
        inv.files.len(),
        inv.unclaimed.len()
    );
    for (table, (files, rows)) in &summary {
        eprintln!("  {table:<20} {rows:>6} rows in {files} files");
    }

    // The raw text files, and their line counts from `grep -c CEF:` / `grep -c '[^[:space:]]'`.
    for (name, format, rows) in [
        ("CEF/CitrixADC.txt", "cef", 6),
        ("CEF/barracudaWAFCEF.txt", "cef", 346),
        ("CEF/fortiwebwafsamplelog.txt", "cef", 104),
        ("CEF/IllumioCore", "cef", 2),
        ("CEF/NozomiNetworksCEF.zip!NozomiNetworksCEF.log", "cef", 2),
        ("Syslog/OpenVPN.txt", "syslog", 32),
        ("Syslog/OracleDatabaseAudit.txt", "syslog", 9),
        ("Syslog/barracudasamplelogs.txt", "syslog", 137),
    ] {
        assert_eq!(raw.get(name), Some(&(format, rows)), "{name}: {raw:?}");
    }

    // Which table a few files fill, and how many rows.
    let tables_of = |name: &str| -> (Vec<&str>, usize) {
        let f = inv
            .files
            .iter()
            .find(|f| rel(&f.path) == name)
            .unwrap_or_else(|| panic!("{name} was not claimed"));
        let rows = f.tables.iter().map(|t| count_export_rows(f, Some(t))).sum();
        (f.tables.clone(), rows)
    };
    for (name, table, rows) in [
        // CSV with a Type column and `"TimeGenerated [UTC]"`.
        ("CEF/wirex_sample_data_all.csv", "CommonSecurityLog", 1473),
        ("Syslog/WatchGuardFireBoxV.csv", "Syslog", 1554),
        // Pretty-printed JSON arrays with numbers where the catalog says string.
        ("SecurityEvent/RiskIQ_scenrio.json", "SecurityEvent", 4),
        ("CEF/ThycoticSourceData.json", "CommonSecurityLog", 240),
        (
            "Event/SemperisDirectoryServicesProtector.json",
            "Event",
            205,
        ),
        // Type column but no TimeGenerated.
        ("training-lab/AuditLogs_Hunting.csv", "AuditLogs", 5),
        // No Type column: the table with the most columns.
        ("Syslog/InfobloxNIOS.json", "Syslog", 75),
        ("training-lab/azure_activity.csv", "AzureActivity", 325),
        // `$table` instead of Type.
        ("training-lab/azureActivity_adele.csv", "AzureActivity", 23),
        // Times in a named zone.
        ("CEF/SymantecDLP.json", "CommonSecurityLog", 405),
    ] {
        assert_eq!(tables_of(name), (vec![table], rows), "{name}");
    }

    // Not claimed: text that is not an export, backups, one-column indicator lists.
    let unclaimed: Vec<String> = inv.unclaimed.iter().map(|p| rel(p)).collect();
    for name in [
        "CEF/ReadMe.md",
        "CEF/ZScaler.json.bak",
        "SecurityEvent/RiskIQ_scenrio.json.bak",
        "Feeds/VPS_Networks.csv",
    ] {
        assert!(unclaimed.contains(&name.to_string()), "{name} was claimed");
    }

    // Tables the catalog does not document are defined by their files: by the one Type value
    // that names a table, else by the file name (a documented table's name gets `_file`).
    for (name, table, rows) in [
        ("Syslog/AlsidForADLog_CL.json", "AlsidForADLog_CL", 92),
        ("training-lab/ABAPAuditLog_CL.csv", "ABAPAuditLog_CL", 5000),
        ("Syslog/McAfee_ePO.json", "McAfee_ePO", 404),
        (
            "Feeds/HiveRansomwareJuly2022.csv",
            "HiveRansomwareJuly2022",
            9,
        ),
        ("training-lab/signinLogs.csv", "signinLogs_file", 1),
        ("CEF/Forcepoint CASB.csv", "Forcepoint_CASB", 4),
    ] {
        let f = inv
            .files
            .iter()
            .find(|f| rel(&f.path) == name)
            .unwrap_or_else(|| panic!("{name} was not claimed"));
        assert_eq!(f.format.name(), "table-rows", "{name}");
        assert_eq!(f.tables, vec![table], "{name}");
        assert_eq!(
            count_export_rows(f, None),
            rows,
            "{name}: rows counted independently"
        );
        assert_eq!(decode_count(f, table, None), rows, "{name}");
    }
}
