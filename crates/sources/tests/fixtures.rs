//! The small fixtures in `tests/fixtures/`: discovery, sniffing, gzip, bad records, truncation.

use std::path::{Path, PathBuf};

use arrow::array::{Array, StringArray};
use spoor_catalog::catalog;
use spoor_sources::{Compression, Decoded, EvidenceFile, Position, discover, read};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn rel(p: &Path) -> String {
    p.strip_prefix(fixtures()).unwrap().display().to_string()
}

struct Read {
    rows: usize,
    bad: Vec<(Position, String)>,
    first_column: Vec<Option<String>>,
}

fn read_all(file: &EvidenceFile, table: &str, columns: &[&str]) -> Read {
    let t = catalog().table(table).unwrap();
    let projection: Vec<usize> = columns.iter().map(|c| t.index_of(c).unwrap()).collect();
    let mut out = Read {
        rows: 0,
        bad: Vec::new(),
        first_column: Vec::new(),
    };
    for item in read(file, t, Some(&projection), 2).unwrap() {
        match item.unwrap() {
            Decoded::Batch(b) => {
                assert_eq!(
                    b.schema(),
                    std::sync::Arc::new(t.schema().project(&projection).unwrap())
                );
                out.rows += b.num_rows();
                if let Some(a) = b
                    .columns()
                    .first()
                    .and_then(|c| c.as_any().downcast_ref::<StringArray>())
                {
                    out.first_column.extend(
                        (0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i).to_string())),
                    );
                }
            }
            Decoded::Bad(bad) => {
                assert_eq!(bad.file, file.path);
                out.bad.push((bad.position, bad.reason));
            }
        }
    }
    out
}

fn find<'a>(files: &'a [EvidenceFile], name: &str) -> &'a EvidenceFile {
    files
        .iter()
        .find(|f| rel(&f.path) == name)
        .unwrap_or_else(|| panic!("{name} was not discovered"))
}

#[test]
fn discover_claims_by_content_and_keeps_the_rest() {
    let inv = discover(&[fixtures()]);
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    let claimed: Vec<(String, &str, Compression)> = inv
        .files
        .iter()
        .map(|f| (rel(&f.path), f.format.name(), f.compression))
        .collect();
    assert_eq!(
        claimed,
        vec![
            (
                "access-log/access.log".to_string(),
                "access-log",
                Compression::None
            ),
            (
                "alb-access/111122223333_elasticloadbalancing_eu-west-1_app.shop-prod.50dc6c495c0c9188_20240802T0820Z_203.0.113.5_abc123.log.gz"
                    .to_string(),
                "alb-access",
                Compression::Gzip
            ),
            ("auditd/audit.log".to_string(), "auditd", Compression::None),
            (
                "azure-diagnostics/PT1H.json".to_string(),
                "azure-diagnostics",
                Compression::None
            ),
            ("cef/firewall.log".to_string(), "cef", Compression::None),
            (
                "cloudtrail/111122223333_CloudTrail_us-east-1_20240802T0825Z_abc.json.gz"
                    .to_string(),
                "cloudtrail",
                Compression::Gzip
            ),
            (
                "cloudtrail/events.jsonl".to_string(),
                "cloudtrail",
                Compression::None
            ),
            (
                "cloudtrail/nested/2024/08/detonation".to_string(),
                "cloudtrail",
                Compression::None
            ),
            (
                "cloudtrail/truncated.json".to_string(),
                "cloudtrail",
                Compression::None
            ),
            (
                "cloudwatch-logs/logs-insights-results.json".to_string(),
                "cloudwatch-logs",
                Compression::None
            ),
            (
                "guardduty/findings.json".to_string(),
                "guardduty",
                Compression::None
            ),
            (
                "k8s-audit/kube-apiserver-audit.log".to_string(),
                "k8s-audit",
                Compression::None
            ),
            (
                "la-export/SigninLogs/signins.csv".to_string(),
                "la-export",
                Compression::None
            ),
            // A Type column naming no table: a table of its own (`iocs`).
            (
                "la-export/iocs.csv".to_string(),
                "table-rows",
                Compression::None
            ),
            (
                "la-export/mixed.json".to_string(),
                "la-export",
                Compression::None
            ),
            (
                "la-export/syslog.jsonl".to_string(),
                "la-export",
                Compression::None
            ),
            (
                "la-export/tie/signins.csv".to_string(),
                "table-rows",
                Compression::None
            ),
            (
                "product-json/entra-risk-detections.jsonl".to_string(),
                "product-json",
                Compression::None
            ),
            (
                "product-json/gcp-audit.json".to_string(),
                "product-json",
                Compression::None
            ),
            (
                "product-json/github-audit.json".to_string(),
                "product-json",
                Compression::None
            ),
            (
                "product-json/m365-management.json".to_string(),
                "product-json",
                Compression::None
            ),
            (
                "product-json/okta-system-log.jsonl".to_string(),
                "product-json",
                Compression::None
            ),
            (
                "product-json/opencanary.log".to_string(),
                "product-json",
                Compression::None
            ),
            (
                "s3-access/2024-08-02-10-15-00-3E57427F3EXAMPLE".to_string(),
                "s3-access",
                Compression::None
            ),
            (
                "suricata-eve/eve.json".to_string(),
                "suricata-eve",
                Compression::None
            ),
            (
                "syslog/auth/auth.log".to_string(),
                "syslog",
                Compression::None
            ),
            (
                "syslog/rfc5424/messages.log".to_string(),
                "syslog",
                Compression::None
            ),
            (
                "syslog/utf16/auth-export.log".to_string(),
                "syslog",
                Compression::Utf16
            ),
            (
                "vpcflow/custom-v5.log.gz".to_string(),
                "vpcflow",
                Compression::Gzip
            ),
            (
                "vpcflow/eni-flows.log".to_string(),
                "vpcflow",
                Compression::None
            ),
            (
                "w3c-iis/u_ex240802.log".to_string(),
                "w3c-iis",
                Compression::None
            ),
            (
                "w3c-iis/u_ex240803.log.zst".to_string(),
                "w3c-iis",
                Compression::Zstd
            ),
            (
                "windows-json/evtx-dump.json".to_string(),
                "windows-json",
                Compression::None
            ),
            (
                "windows-json/nxlog.jsonl".to_string(),
                "windows-json",
                Compression::None
            ),
            (
                "windows-json/otrf-style.zip!host/agent_2023-08-09.json".to_string(),
                "windows-json",
                Compression::Zip
            ),
            ("zeek/conn.log".to_string(), "zeek", Compression::None),
            ("zeek/dns.json".to_string(), "zeek", Compression::None),
            ("zeek/ssl.log".to_string(), "zeek", Compression::None),
        ]
    );
    let unclaimed: Vec<String> = inv.unclaimed.iter().map(|p| rel(p)).collect();
    assert_eq!(
        unclaimed,
        vec![
            // A backup copy.
            "la-export/SigninLogs/signins.csv.bak",
            "unclaimed/empty.log",
            "unclaimed/notes.txt",
            // A zip member that holds no log.
            "windows-json/otrf-style.zip!host/capture.cap"
        ]
    );
    // Deterministic: the same answer twice, and the same for a file named directly.
    let again = discover(&[fixtures()]);
    assert_eq!(again.files.len(), inv.files.len());
    let one = discover(&[fixtures().join("w3c-iis/u_ex240802.log")]);
    assert_eq!(one.files.len(), 1);
}

#[test]
fn discover_reports_missing_paths() {
    let inv = discover(&[fixtures().join("no-such-folder")]);
    assert!(inv.files.is_empty());
    assert_eq!(inv.errors.len(), 1);
    let msg = inv.errors[0].to_string();
    assert!(
        msg.contains("no-such-folder") && msg.contains("check that it exists"),
        "{msg}"
    );
}

#[test]
fn cloudtrail_fixtures_decode_with_their_damage_reported() {
    let inv = discover(&[fixtures().join("cloudtrail")]);
    let f = &inv.files;

    let gz = read_all(
        find(
            f,
            "cloudtrail/111122223333_CloudTrail_us-east-1_20240802T0825Z_abc.json.gz",
        ),
        "AWSCloudTrail",
        &["EventName", "TimeGenerated"],
    );
    assert_eq!(gz.rows, 3);
    assert!(gz.bad.is_empty());
    assert_eq!(gz.first_column[0].as_deref(), Some("StopLogging"));

    let lines = read_all(
        find(f, "cloudtrail/events.jsonl"),
        "AWSCloudTrail",
        &["SessionIssuerUserName"],
    );
    assert_eq!(lines.rows, 2);
    assert_eq!(
        lines.first_column,
        vec![Some("ops".to_string()), Some("ops".to_string())]
    );
    assert_eq!(lines.bad.len(), 1);
    assert_eq!(lines.bad[0].0, Position::Line(2));
    assert!(
        lines.bad[0].1.contains("EOF while parsing"),
        "{}",
        lines.bad[0].1
    );

    let pretty = read_all(
        find(f, "cloudtrail/nested/2024/08/detonation"),
        "cloudtrail",
        &["eventName", "userIdentity"],
    );
    assert_eq!(pretty.rows, 2);
    assert_eq!(
        pretty.first_column,
        vec![
            Some("CreateUser".to_string()),
            Some("AttachUserPolicy".to_string())
        ]
    );

    let cut = read_all(
        find(f, "cloudtrail/truncated.json"),
        "AWSCloudTrail",
        &["EventName"],
    );
    assert_eq!(cut.rows, 1, "the record before the break is kept");
    assert_eq!(cut.bad.len(), 1);
    assert_eq!(cut.bad[0].0, Position::Record(2));
    assert!(cut.bad[0].1.contains("truncated"), "{}", cut.bad[0].1);
}

#[test]
fn vpcflow_fixtures_decode_into_both_tables() {
    let inv = discover(&[fixtures().join("vpcflow")]);
    let plain = read_all(
        find(&inv.files, "vpcflow/eni-flows.log"),
        "vpc_flow_logs",
        &["sourceaddress", "destinationport"],
    );
    assert_eq!(plain.rows, 3);
    assert_eq!(plain.first_column[0].as_deref(), Some("203.0.113.12"));
    assert_eq!(
        plain.first_column[2], None,
        "NODATA records have no addresses"
    );
    let reasons: Vec<String> = plain.bad.iter().map(|(p, r)| format!("{p}: {r}")).collect();
    assert_eq!(
        reasons,
        vec![
            "line 5: expected 14 fields (header at line 1), found 9".to_string(),
            "line 6: field packets: expected a whole number, found \"many\"".to_string(),
        ]
    );

    let custom = read_all(
        find(&inv.files, "vpcflow/custom-v5.log.gz"),
        "AWSVPCFlow",
        &[
            "PktDstAwsService",
            "FlowDirection",
            "TrafficPath",
            "TimeGenerated",
            "TcpFlags",
        ],
    );
    assert_eq!(custom.rows, 2);
    assert!(custom.bad.is_empty(), "{:?}", custom.bad);
    assert_eq!(custom.first_column, vec![Some("S3".to_string()), None]);
}

#[test]
fn iis_fixture_follows_each_fields_directive() {
    let inv = discover(&[fixtures().join("w3c-iis")]);
    let r = read_all(
        find(&inv.files, "w3c-iis/u_ex240802.log"),
        "W3CIISLog",
        &["csUserAgent", "TimeGenerated", "Computer"],
    );
    assert_eq!(r.rows, 3);
    assert_eq!(
        r.first_column,
        vec![
            Some("Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)".to_string()),
            Some("Nuclei+-+Open-source+project".to_string()),
            None
        ]
    );
    let positions: Vec<Position> = r.bad.iter().map(|(p, _)| *p).collect();
    assert_eq!(positions, vec![Position::Line(7), Position::Line(13)]);

    let zst = read_all(
        find(&inv.files, "w3c-iis/u_ex240803.log.zst"),
        "W3CIISLog",
        &["csUriStem"],
    );
    assert_eq!(zst.rows, 2);
    assert!(zst.bad.is_empty(), "{:?}", zst.bad);
    assert_eq!(
        zst.first_column[1].as_deref(),
        Some("/autodiscover/autodiscover.json")
    );
}

/// The first value of a time column, as nanoseconds since the epoch.
fn first_time(file: &EvidenceFile, table: &str, column: &str) -> i64 {
    use arrow::array::TimestampNanosecondArray;
    let t = catalog().table(table).unwrap();
    let projection = [t.index_of(column).unwrap()];
    for item in read(file, t, Some(&projection), 100).unwrap() {
        if let Decoded::Batch(b) = item.unwrap() {
            let a = b
                .column(0)
                .as_any()
                .downcast_ref::<TimestampNanosecondArray>()
                .unwrap();
            return a.value(0);
        }
    }
    panic!("no rows in {}", file.path.display())
}

fn utc(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .timestamp_nanos_opt()
        .unwrap()
}

#[test]
fn access_log_fixture_keeps_probes_and_reports_the_cut_line() {
    let inv = discover(&[fixtures().join("access-log")]);
    let f = find(&inv.files, "access-log/access.log");
    assert_eq!(f.tables, vec!["AppServiceHTTPLogs"]);
    let r = read_all(f, "AppServiceHTTPLogs", &["CsUriStem", "CsMethod"]);
    assert_eq!(r.rows, 8, "the TLS probe and the empty request are rows");
    assert_eq!(r.bad.len(), 1, "{:?}", r.bad);
    assert_eq!(r.bad[0].0, Position::Line(8));
    assert!(r.bad[0].1.contains("opens a ["), "{}", r.bad[0].1);
    assert_eq!(r.first_column[1].as_deref(), Some("/static/app.js"));
    assert_eq!(
        r.first_column[2].as_deref(),
        Some(r"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
    );
    assert_eq!(r.first_column[7], None);
    assert_eq!(
        first_time(f, "AppServiceHTTPLogs", "TimeGenerated"),
        utc("2024-08-02T08:15:02Z")
    );
}

#[test]
fn s3_access_fixture_decodes_the_documented_fields() {
    let inv = discover(&[fixtures().join("s3-access")]);
    let f = find(&inv.files, "s3-access/2024-08-02-10-15-00-3E57427F3EXAMPLE");
    let r = read_all(f, "AWSS3ServerAccess", &["Key", "ErrorCode", "AclRequired"]);
    assert_eq!(r.rows, 4);
    assert_eq!(r.bad.len(), 1, "{:?}", r.bad);
    assert_eq!(r.bad[0].0, Position::Line(4));
    assert!(r.bad[0].1.contains("at least 17 fields"), "{}", r.bad[0].1);
    assert_eq!(
        r.first_column,
        vec![
            None,
            Some("customers/2024-07.csv.gz".to_string()),
            Some("customers/2024-07.csv.gz".to_string()),
            None
        ]
    );
    assert_eq!(
        first_time(f, "AWSS3ServerAccess", "TimeGenerated"),
        utc("2024-08-02T10:14:58Z")
    );
}

#[test]
fn alb_access_fixture_splits_requests_and_reports_the_cut_entry() {
    let inv = discover(&[fixtures().join("alb-access")]);
    let f = find(
        &inv.files,
        "alb-access/111122223333_elasticloadbalancing_eu-west-1_app.shop-prod.50dc6c495c0c9188_20240802T0820Z_203.0.113.5_abc123.log.gz",
    );
    let r = read_all(
        f,
        "AWSALBAccess",
        &["RequestUrl", "ClientIp", "ElbStatusCode"],
    );
    assert_eq!(r.rows, 4);
    assert_eq!(r.bad.len(), 1, "{:?}", r.bad);
    assert_eq!(r.bad[0].0, Position::Line(4));
    assert!(r.bad[0].1.contains("at least 17 fields"), "{}", r.bad[0].1);
    assert_eq!(
        r.first_column,
        vec![
            Some("https://shop.example.com:443/".to_string()),
            Some("https://shop.example.com:443/.env".to_string()),
            None,
            Some("https://shop.example.com:443/wp-login.php".to_string()),
        ]
    );
    assert_eq!(
        first_time(f, "AWSALBAccess", "TimeGenerated"),
        utc("2024-08-02T08:15:02.518211Z")
    );
    assert_eq!(
        first_time(f, "AWSALBAccess", "RequestCreationTime"),
        utc("2024-08-02T08:15:02.486Z")
    );
}

#[test]
fn zeek_fixtures_fill_their_tables_and_the_catch_all() {
    let inv = discover(&[fixtures().join("zeek")]);
    let tables: Vec<(String, Vec<&str>)> = inv
        .files
        .iter()
        .map(|f| (rel(&f.path), f.tables.clone()))
        .collect();
    assert_eq!(
        tables,
        vec![
            ("zeek/conn.log".to_string(), vec!["Zeek_conn", "Zeek"]),
            ("zeek/dns.json".to_string(), vec!["Zeek_dns", "Zeek"]),
            ("zeek/ssl.log".to_string(), vec!["Zeek"]),
        ]
    );

    let conn = find(&inv.files, "zeek/conn.log");
    let r = read_all(conn, "Zeek_conn", &["service", "conn_state"]);
    assert_eq!(r.rows, 4);
    assert_eq!(r.bad.len(), 1, "{:?}", r.bad);
    assert_eq!(r.bad[0].0, Position::Line(12));
    assert!(r.bad[0].1.contains("expected 21 fields"), "{}", r.bad[0].1);
    assert_eq!(
        r.first_column,
        vec![
            Some("ssl".to_string()),
            Some("dns".to_string()),
            None,
            Some("smb,gssapi".to_string())
        ]
    );
    assert_eq!(
        first_time(conn, "Zeek_conn", "TimeGenerated"),
        utc("2024-08-02T08:00:02.518211Z")
    );
    let r = read_all(conn, "Zeek_conn", &["tunnel_parents"]);
    assert_eq!(r.first_column[3].as_deref(), Some(r#"["CTunnel1"]"#));

    let dns = find(&inv.files, "zeek/dns.json");
    let r = read_all(dns, "Zeek_dns", &["query", "answers"]);
    assert_eq!(r.rows, 3);
    assert_eq!(r.bad.len(), 1, "{:?}", r.bad);
    assert_eq!(r.bad[0].0, Position::Line(3));
    assert_eq!(r.first_column[0].as_deref(), Some("ntaxd0w8b1.duckdns.org"));
    assert_eq!(
        first_time(dns, "Zeek_dns", "TimeGenerated"),
        utc("2024-08-02T08:01:00.004019Z")
    );

    // A log without a table of its own is still read, into Zeek.
    let ssl = find(&inv.files, "zeek/ssl.log");
    let r = read_all(ssl, "Zeek", &["Path", "Uid", "Fields"]);
    assert_eq!(r.rows, 1);
    assert!(r.bad.is_empty(), "{:?}", r.bad);
    assert_eq!(r.first_column, vec![Some("ssl".to_string())]);
    let r = read_all(ssl, "Zeek", &["Fields"]);
    let fields: serde_json::Value =
        serde_json::from_str(r.first_column[0].as_deref().unwrap()).unwrap();
    assert_eq!(fields["cipher"], "TLS_AES_256_GCM_SHA384");
    assert_eq!(fields["established"], true);
    assert!(fields.get("server_name").is_none(), "unset: left out");
    // Every conn record is in Zeek too.
    assert_eq!(read_all(conn, "Zeek", &["Uid"]).rows, 4);
}

#[test]
fn a_table_the_format_does_not_fill_is_refused() {
    let inv = discover(&[fixtures().join("w3c-iis")]);
    let t = catalog().table("AWSCloudTrail").unwrap();
    let err = read(&inv.files[0], t, None, 10)
        .err()
        .expect("w3c-iis does not fill AWSCloudTrail");
    assert!(
        err.to_string()
            .contains("does not fill table AWSCloudTrail; it fills W3CIISLog"),
        "{err}"
    );
    let t = catalog().table("W3CIISLog").unwrap();
    let err = read(&inv.files[0], t, Some(&[999]), 10)
        .err()
        .expect("index out of range");
    assert!(
        err.to_string()
            .contains("column 999 is not in table W3CIISLog"),
        "{err}"
    );
}

#[test]
fn la_export_fixtures_fill_the_tables_their_rows_name() {
    use arrow::array::{BooleanArray, Int32Array, Int64Array, TimestampNanosecondArray};
    let inv = discover(&[fixtures().join("la-export")]);
    let tables: Vec<(String, Vec<&str>)> = inv
        .files
        .iter()
        .map(|f| (rel(&f.path), f.tables.clone()))
        .collect();
    assert_eq!(
        tables,
        vec![
            (
                "la-export/SigninLogs/signins.csv".to_string(),
                vec!["SigninLogs"]
            ),
            ("la-export/iocs.csv".to_string(), vec!["iocs"]),
            (
                "la-export/mixed.json".to_string(),
                vec!["SecurityEvent", "Syslog"]
            ),
            ("la-export/syslog.jsonl".to_string(), vec!["Syslog"]),
            // Columns of two documented tables, no name to choose: a table of its own.
            ("la-export/tie/signins.csv".to_string(), vec!["signins"]),
        ]
    );
    let ns = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_nanos_opt()
            .unwrap()
    };
    let batches = |file: &EvidenceFile, table: &str, columns: &[&str]| {
        let t = catalog().table(table).unwrap();
        let projection: Vec<usize> = columns.iter().map(|c| t.index_of(c).unwrap()).collect();
        let (mut out, mut bad) = (Vec::new(), Vec::new());
        for item in read(file, t, Some(&projection), 100).unwrap() {
            match item.unwrap() {
                Decoded::Batch(b) => out.push(b),
                Decoded::Bad(b) => bad.push(b.to_string()),
            }
        }
        assert_eq!(out.len(), 1, "{table}");
        (out.remove(0), bad)
    };

    // A JSON array mixing types: each table gets its rows; the unknown type is skipped.
    let mixed = find(&inv.files, "la-export/mixed.json");
    assert!(
        mixed
            .notes
            .iter()
            .any(|n| n.contains("PartitionKey, Message")),
        "{:?}",
        mixed.notes
    );
    assert!(
        mixed.notes.iter().any(|n| n.contains("Custom_CL")),
        "{:?}",
        mixed.notes
    );
    let (b, bad) = batches(
        mixed,
        "Syslog",
        &["Computer", "ProcessID", "TimeGenerated", "Type"],
    );
    assert_eq!(b.num_rows(), 2);
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(
        bad[0].contains("record 4") && bad[0].contains("\"eight\""),
        "{bad:?}"
    );
    let pid = b.column(1).as_any().downcast_ref::<Int32Array>().unwrap();
    assert_eq!((pid.value(0), pid.is_null(1)), (812, true));
    let t = b
        .column(2)
        .as_any()
        .downcast_ref::<TimestampNanosecondArray>()
        .unwrap();
    assert_eq!(t.value(0), ns("2022-03-31T10:52:35.857Z"));
    let (b, bad) = batches(
        mixed,
        "SecurityEvent",
        &[
            "Account",
            "Level",
            "LogonType",
            "EventData",
            "TimeGenerated",
            "Type",
        ],
    );
    assert!(bad.is_empty(), "{bad:?}");
    assert_eq!(b.num_rows(), 1);
    let s = |c: usize| {
        b.column(c)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .value(0)
            .to_string()
    };
    assert_eq!(s(0), "contoso\\benjamin");
    assert_eq!(s(1), "0", "a JSON number in a string column is its text");
    let logon = b.column(2).as_any().downcast_ref::<Int32Array>().unwrap();
    assert_eq!(logon.value(0), 3, "a number written as text");
    assert_eq!(
        s(3),
        r#"{"LogonGuid":"00000000-0000-0000-0000-000000000000","Ports":[0,445]}"#
    );
    let t = b
        .column(4)
        .as_any()
        .downcast_ref::<TimestampNanosecondArray>()
        .unwrap();
    assert_eq!(t.value(0), ns("2022-03-31T14:51:35.857Z"));
    assert_eq!(s(5), "SecurityEvent");

    // CSV named by its folder (a tie between the two sign-in tables), JSON text in dynamic
    // columns compacted, a bad number reported with its line.
    let signins = find(&inv.files, "la-export/SigninLogs/signins.csv");
    assert!(
        signins.notes.iter().any(|n| n.starts_with("1 column(s)")
            && n.contains("ConditionalAccessPolicies_string")),
        "{:?}",
        signins.notes
    );
    let (b, bad) = batches(
        signins,
        "SigninLogs",
        &[
            "LocationDetails",
            "Status",
            "IsInteractive",
            "DurationMs",
            "TimeGenerated",
            "Type",
        ],
    );
    assert_eq!(b.num_rows(), 2);
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(
        bad[0].contains("line 6") && bad[0].contains("DurationMs"),
        "{bad:?}"
    );
    let strings = |c: usize| {
        let a = b.column(c).as_any().downcast_ref::<StringArray>().unwrap();
        (0..a.len())
            .map(|i| a.value(i).to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        strings(0),
        vec![
            r#"{"city":"Paris","countryOrRegion":"FR"}"#,
            r#"{"city":"Paris"}"#
        ]
    );
    assert_eq!(
        strings(1),
        vec![r#"{"errorCode":0}"#, r#"{"errorCode":50126}"#]
    );
    let inter = b.column(2).as_any().downcast_ref::<BooleanArray>().unwrap();
    assert_eq!((inter.value(0), inter.value(1)), (true, false));
    let ms = b.column(3).as_any().downcast_ref::<Int64Array>().unwrap();
    assert_eq!((ms.value(0), ms.is_null(1)), (120, true));
    let t = b
        .column(4)
        .as_any()
        .downcast_ref::<TimestampNanosecondArray>()
        .unwrap();
    assert_eq!(t.value(1), ns("2021-04-19T12:14:00Z"));
    assert_eq!(strings(5), vec!["SigninLogs", "SigninLogs"]);

    // JSON lines in a named zone, converted to UTC (summer and winter time).
    let syslog = find(&inv.files, "la-export/syslog.jsonl");
    assert!(
        syslog.notes.iter().any(|n| n.contains("America/New_York")),
        "{:?}",
        syslog.notes
    );
    let (b, bad) = batches(
        syslog,
        "Syslog",
        &["TimeGenerated", "SeverityLevel", "EventTime"],
    );
    assert!(bad.is_empty(), "{bad:?}");
    let t = b
        .column(0)
        .as_any()
        .downcast_ref::<TimestampNanosecondArray>()
        .unwrap();
    assert_eq!(t.value(0), ns("2021-06-01T12:30:00Z"));
    assert_eq!(t.value(1), ns("2021-01-15T13:30:00Z"));
    let sev = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!((sev.value(0), sev.value(1)), ("5", "notice"));
    let ev = b
        .column(2)
        .as_any()
        .downcast_ref::<TimestampNanosecondArray>()
        .unwrap();
    assert_eq!(
        (ev.value(0), ev.is_null(1)),
        (ns("2011-04-19T17:11:12Z"), true)
    );

    // A table the file does not hold is refused.
    assert!(read(syslog, catalog().table("SecurityEvent").unwrap(), None, 10).is_err());
}

#[test]
fn syslog_and_auth_log_lines() {
    let inv = discover(&[fixtures().join("syslog")]);
    let auth = find(&inv.files, "syslog/auth/auth.log");
    assert_eq!(auth.tables, vec!["Syslog", "LinuxAuth"]);
    assert!(
        auth.notes.iter().any(|n| n.contains("no year")),
        "{:?}",
        auth.notes
    );
    // 18 lines, line 14 cut short.
    let r = read_all(auth, "Syslog", &["ProcessName", "Computer"]);
    assert_eq!(r.rows, 17);
    assert_eq!(r.bad.len(), 1);
    assert_eq!(r.bad[0].0, Position::Line(14));
    assert!(r.bad[0].1.contains("syslog header"), "{}", r.bad[0].1);
    // The sshd, sudo and su events: every line but the listener, the session and CRON lines.
    let r = read_all(auth, "LinuxAuth", &["Action", "SourceIp"]);
    assert_eq!(r.rows, 14);
    let failed = r
        .first_column
        .iter()
        .filter(|a| a.as_deref() == Some("Failed password"))
        .count();
    assert_eq!(failed, 6);

    // UTF-16 (with a byte order mark) is read as UTF-8, line numbers as in the file.
    let utf16 = find(&inv.files, "syslog/utf16/auth-export.log");
    assert!(
        !utf16.splittable,
        "byte ranges of UTF-16 text are not lines"
    );
    let r = read_all(utf16, "LinuxAuth", &["User", "Action"]);
    assert_eq!(r.rows, 3);
    assert_eq!(r.first_column[0].as_deref(), Some("zoë"));
    assert_eq!(r.bad.len(), 1);
    assert_eq!(r.bad[0].0, Position::Line(3));

    let rfc5424 = find(&inv.files, "syslog/rfc5424/messages.log");
    let r = read_all(rfc5424, "Syslog", &["Facility", "ProcessName"]);
    assert_eq!(r.rows, 6);
    assert_eq!(r.bad.len(), 1);
    assert_eq!(r.bad[0].0, Position::Line(5));
    assert_eq!(
        r.first_column,
        ["auth", "local4", "local4", "authpriv", "local7", "daemon"]
            .map(|s| Some(s.to_string()))
            .to_vec()
    );
}

#[test]
fn cef_lines_with_and_without_a_syslog_header() {
    let inv = discover(&[fixtures().join("cef")]);
    let f = find(&inv.files, "cef/firewall.log");
    assert_eq!(f.tables, vec!["CommonSecurityLog"]);
    let r = read_all(
        f,
        "CommonSecurityLog",
        &["DeviceProduct", "AdditionalExtensions"],
    );
    assert_eq!(r.rows, 4);
    assert_eq!(r.bad.len(), 1);
    assert_eq!(r.bad[0].0, Position::Line(4));
    assert_eq!(
        r.first_column,
        ["Perimeter FW", "Perimeter FW", "Web|Proxy", "Perimeter FW"]
            .map(|s| Some(s.to_string()))
            .to_vec()
    );
}

#[test]
fn the_text_formats_claim_only_their_own_fixtures() {
    use std::io::Read;
    let new = ["access-log", "s3-access", "alb-access", "zeek"];
    let inv = discover(&[fixtures()]);
    for file in &inv.files {
        let mut head = Vec::new();
        spoor_sources::open(file)
            .unwrap()
            .take(spoor_sources::SNIFF_BYTES as u64)
            .read_to_end(&mut head)
            .unwrap();
        for name in new {
            let sniffed = spoor_sources::format(name).unwrap().sniff(&head);
            assert_eq!(
                sniffed,
                file.format.name() == name,
                "{name} on {}",
                rel(&file.path)
            );
        }
    }
    for path in inv
        .unclaimed
        .iter()
        .filter(|p| !p.to_string_lossy().contains('!'))
    {
        let head = std::fs::read(path).unwrap();
        for name in new {
            assert!(
                !spoor_sources::format(name).unwrap().sniff(&head),
                "{name} on {}",
                rel(path)
            );
        }
    }
}

#[test]
fn json_event_fixtures_decode_with_their_damage_reported() {
    let inv = discover(&[fixtures()]);
    let f = &inv.files;

    let kube = find(f, "k8s-audit/kube-apiserver-audit.log");
    let r = read_all(kube, "KubeAudit", &["verb", "TimeGenerated"]);
    assert_eq!(r.rows, 4);
    assert_eq!(r.bad.len(), 1, "{:?}", r.bad);
    assert_eq!(r.bad[0].0, Position::Line(4));
    assert!(r.bad[0].1.contains("not a JSON object"), "{:?}", r.bad);
    assert_eq!(r.first_column[0].as_deref(), Some("list"));
    let r = read_all(kube, "AKSAudit", &["Verb"]);
    assert_eq!((r.rows, r.bad.len()), (4, 1));

    let eve = find(f, "suricata-eve/eve.json");
    let r = read_all(eve, "SuricataEve", &["alert_signature"]);
    assert_eq!(r.rows, 4);
    assert_eq!(r.bad.len(), 1);
    assert_eq!(r.bad[0].0, Position::Line(4));
    assert_eq!(
        r.first_column[0].as_deref(),
        Some("ET SCAN Potential SSH Scan")
    );
    assert_eq!(r.first_column[1], None, "a dns event has no alert");

    // One file, five tables by category; the truncated last record is reported once per read.
    let azure = find(f, "azure-diagnostics/PT1H.json");
    assert_eq!(
        azure.tables,
        vec![
            "SigninLogs",
            "AuditLogs",
            "AKSAudit",
            "KubeAudit",
            "AzureDiagnostics"
        ]
    );
    let r = read_all(azure, "SigninLogs", &["UserPrincipalName", "ResultType"]);
    assert_eq!(r.rows, 2);
    assert_eq!(r.bad.len(), 1);
    assert_eq!(r.bad[0].0, Position::Line(6));
    let r = read_all(azure, "AuditLogs", &["Category", "OperationName"]);
    assert_eq!(r.first_column, vec![Some("RoleManagement".to_string())]);
    let r = read_all(azure, "KubeAudit", &["userAgent"]);
    assert_eq!(r.first_column, vec![Some("kube-hunter".to_string())]);
    let r = read_all(
        azure,
        "AzureDiagnostics",
        &["OperationName", "clientInfo_s"],
    );
    assert_eq!(r.first_column, vec![Some("SecretGet".to_string())]);

    let gd = find(f, "guardduty/findings.json");
    let r = read_all(gd, "AWSGuardDuty", &["ActivityType", "Severity"]);
    assert_eq!(r.rows, 2);
    assert!(r.bad.is_empty());
    assert_eq!(
        r.first_column[1].as_deref(),
        Some("Stealth:IAMUser/CloudTrailLoggingDisabled")
    );

    let audit = find(f, "auditd/audit.log");
    let r = read_all(audit, "LinuxAuditLog", &["RecordType", "a2", "name"]);
    assert_eq!(r.rows, 7);
    assert_eq!(r.bad.len(), 1, "{:?}", r.bad);
    assert_eq!(r.bad[0].0, Position::Line(7));
    assert!(r.bad[0].1.contains("is not a time"), "{:?}", r.bad);
    assert_eq!(r.first_column[2].as_deref(), Some("EXECVE"));

    // Products read whole: the product from the event's fields; a damaged line is reported.
    let okta = find(f, "product-json/okta-system-log.jsonl");
    let r = read_all(okta, "JsonEvents", &["Product", "Event"]);
    assert_eq!(r.rows, 3);
    assert_eq!(r.bad.len(), 1, "{:?}", r.bad);
    assert_eq!(r.bad[0].0, Position::Line(3));
    assert_eq!(r.first_column[0].as_deref(), Some("okta"));
    for (file, product, rows) in [
        ("product-json/gcp-audit.json", "gcp_audit", 2),
        ("product-json/github-audit.json", "github_audit", 2),
        ("product-json/m365-management.json", "m365_management", 2),
        ("product-json/opencanary.log", "opencanary", 2),
        (
            "product-json/entra-risk-detections.jsonl",
            "entra_risk_detection",
            2,
        ),
    ] {
        let r = read_all(find(f, file), "JsonEvents", &["Product"]);
        assert_eq!((r.rows, r.bad.len()), (rows, 0), "{file}: {:?}", r.bad);
        assert!(
            r.first_column.iter().all(|p| p.as_deref() == Some(product)),
            "{file}: {:?}",
            r.first_column
        );
    }

    let cw = find(f, "cloudwatch-logs/logs-insights-results.json");
    let r = read_all(cw, "CloudWatchLogs", &["@logStream"]);
    assert_eq!(r.rows, 2);
    assert_eq!(
        r.first_column[0].as_deref(),
        Some("111122223333_CloudTrail_us-east-1")
    );
}

#[test]
fn splittable_files_read_in_ranges_give_the_same_rows_and_positions() {
    use spoor_sources::read_range;
    let inv = discover(&[fixtures()]);
    let cases = [
        ("k8s-audit/kube-apiserver-audit.log", "KubeAudit", "verb"),
        ("suricata-eve/eve.json", "SuricataEve", "event_type"),
        ("syslog/auth/auth.log", "Syslog", "ProcessName"),
        ("cef/firewall.log", "CommonSecurityLog", "DeviceVendor"),
        ("access-log/access.log", "AppServiceHTTPLogs", "CIp"),
        ("cloudtrail/events.jsonl", "AWSCloudTrail", "EventName"),
        ("windows-json/nxlog.jsonl", "WindowsEvent", "Channel"),
        // After its header (read before every range).
        ("zeek/conn.log", "Zeek_conn", "uid"),
    ];
    for (name, table, column) in cases {
        let file = find(&inv.files, name);
        assert!(file.splittable, "{name}");
        assert_eq!(file.header_bytes > 0, name.starts_with("zeek/"), "{name}");
        let whole = read_all(file, table, &[column]);
        let t = catalog().table(table).unwrap();
        let projection = [t.index_of(column).unwrap()];
        for parts in [2u64, 3, 7] {
            let (mut values, mut bad) = (Vec::new(), Vec::new());
            for k in 0..parts {
                let range = file.size * k / parts..file.size * (k + 1) / parts;
                for item in read_range(file, t, Some(&projection), 2, &[], range).unwrap() {
                    match item.unwrap() {
                        Decoded::Batch(b) => {
                            let a = arrow::compute::cast(
                                b.column(0),
                                &arrow::datatypes::DataType::Utf8,
                            )
                            .unwrap();
                            let a = a.as_any().downcast_ref::<StringArray>().unwrap();
                            values.extend(
                                (0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i).to_string())),
                            );
                        }
                        Decoded::Bad(b) => bad.push((b.position, b.reason)),
                    }
                }
            }
            assert_eq!(values, whole.first_column, "{name} in {parts} ranges");
            assert_eq!(bad, whole.bad, "{name} in {parts} ranges");
        }
    }
    // Compressed files and formats with headers are not split.
    assert!(!find(&inv.files, "vpcflow/custom-v5.log.gz").splittable);
    assert!(!find(&inv.files, "w3c-iis/u_ex240802.log").splittable);
    // A Zeek log with a directive after its header (a second log) is read whole.
    let two_logs = std::env::temp_dir().join(format!("spoor-zeek-{}.log", std::process::id()));
    let conn = std::fs::read_to_string(fixtures().join("zeek/conn.log")).unwrap();
    let ssl = std::fs::read_to_string(fixtures().join("zeek/ssl.log")).unwrap();
    std::fs::write(&two_logs, format!("{conn}{ssl}")).unwrap();
    let inv = discover(std::slice::from_ref(&two_logs));
    std::fs::remove_file(&two_logs).unwrap();
    assert_eq!(inv.files.len(), 1);
    assert!(!inv.files[0].splittable);
    assert_eq!(inv.files[0].tables, vec!["Zeek_conn", "Zeek"]);
}
