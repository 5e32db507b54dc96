//! Windows events: the project's own JSON fixtures (`tests/fixtures/windows-json`), and EVTX from
//! the shared corpus (never copied into the project): damaged files, SigmaHQ's regression pairs
//! of EVTX and JSON, and row counts checked against the evtx crate's own record iterator.
//!
//! The corpus is found at `$SPOOR_CORPUS`, else `../../../shared/corpus` from this crate. When it
//! is missing the corpus tests fail under CI (`CI` set) and are skipped otherwise.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::array::{Array, Int32Array, Int64Array, StringArray, TimestampNanosecondArray};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use spoor_catalog::catalog;
use spoor_sources::{Compression, Decoded, EvidenceFile, Position, discover, read};

use support::corpus;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/windows-json")
}

/// All rows of a file's table (every column), and its bad records.
struct Table {
    batches: Vec<RecordBatch>,
    bad: Vec<(Position, String)>,
}

impl Table {
    fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// Every row as text, one string per column (nulls as `∅`), in file order.
    fn text_rows(&self) -> Vec<Vec<String>> {
        self.text_rows_with(false)
    }

    /// [`Table::text_rows`], with times cut to the microsecond when `micros` is set.
    fn text_rows_with(&self, micros: bool) -> Vec<Vec<String>> {
        let options = FormatOptions::default().with_null("∅");
        let mut out = Vec::new();
        for b in &self.batches {
            let columns: Vec<std::sync::Arc<dyn Array>> = b
                .columns()
                .iter()
                .map(
                    |c| match c.as_any().downcast_ref::<TimestampNanosecondArray>() {
                        Some(t) if micros => std::sync::Arc::new(
                            t.unary::<_, arrow::datatypes::TimestampNanosecondType>(|v| {
                                v - v.rem_euclid(1000)
                            }),
                        ) as _,
                        _ => std::sync::Arc::clone(c),
                    },
                )
                .collect();
            let formatters: Vec<ArrayFormatter<'_>> = columns
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
                .collect();
            for row in 0..b.num_rows() {
                out.push(
                    formatters
                        .iter()
                        .map(|f| f.value(row).to_string())
                        .collect(),
                );
            }
        }
        out
    }

    /// The values of one column as text.
    fn column(&self, name: &str) -> Vec<String> {
        let t = self.batches[0].schema();
        let i = t.index_of(name).unwrap();
        self.text_rows().into_iter().map(|r| r[i].clone()).collect()
    }
}

fn read_table(file: &EvidenceFile, table: &str) -> Table {
    let t = catalog().table(table).unwrap();
    let mut out = Table {
        batches: Vec::new(),
        bad: Vec::new(),
    };
    for item in read(file, t, None, 100).unwrap() {
        match item.unwrap() {
            Decoded::Batch(b) => out.batches.push(b),
            Decoded::Bad(b) => {
                assert_eq!(b.file, file.path);
                out.bad.push((b.position, b.reason));
            }
        }
    }
    out
}

fn find<'a>(files: &'a [EvidenceFile], suffix: &str) -> &'a EvidenceFile {
    files
        .iter()
        .find(|f| f.path.to_string_lossy().ends_with(suffix))
        .unwrap_or_else(|| panic!("{suffix} was not discovered"))
}

// ---------------------------------------------------------------------------------------------
// The project's fixtures.

#[test]
fn json_fixtures_are_claimed_by_content_and_zip_members_are_files() {
    let inv = discover(&[fixtures()]);
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    let claimed: Vec<(String, &str, Compression)> = inv
        .files
        .iter()
        .map(|f| {
            let rel = f.path.strip_prefix(fixtures()).unwrap();
            (rel.display().to_string(), f.format.name(), f.compression)
        })
        .collect();
    assert_eq!(
        claimed,
        vec![
            ("evtx-dump.json".into(), "windows-json", Compression::None),
            ("nxlog.jsonl".into(), "windows-json", Compression::None),
            (
                "otrf-style.zip!host/agent_2023-08-09.json".into(),
                "windows-json",
                Compression::Zip
            ),
        ]
    );
    // The packet capture beside the events is a member of its own that no format claims.
    let unclaimed: Vec<String> = inv
        .unclaimed
        .iter()
        .map(|p| p.strip_prefix(fixtures()).unwrap().display().to_string())
        .collect();
    assert_eq!(unclaimed, vec!["otrf-style.zip!host/capture.cap"]);
    let member = inv.files[2].member.as_ref().unwrap();
    assert_eq!(member.name(), "host/agent_2023-08-09.json");
}

#[test]
fn evtx_rendering_fills_the_three_tables() {
    let inv = discover(&[fixtures()]);
    let file = find(&inv.files, "evtx-dump.json");

    let all = read_table(file, "WindowsEvent");
    assert!(all.bad.is_empty(), "{:?}", all.bad);
    assert_eq!(all.rows(), 3);
    assert_eq!(all.column("EventID"), vec!["4688", "1", "3"]);
    assert_eq!(
        all.column("TimeGenerated"),
        vec![
            "2023-08-09T10:15:02.123456700",
            "2023-08-09T10:15:04.500",
            "2023-08-09T10:15:06"
        ]
    );
    assert_eq!(
        all.column("Provider")[1],
        "Microsoft-Windows-Sysmon".to_string()
    );
    // EventData is a bag of name to text, numbers and booleans included.
    let data: serde_json::Value = serde_json::from_str(&all.column("EventData")[2]).unwrap();
    assert_eq!(data["DestinationPort"], "443");
    assert_eq!(data["Initiated"], "true");
    assert_eq!(all.column("SystemUserId")[1], "S-1-5-18");
    assert_eq!(all.column("EventLevelName")[0], "Information");

    let sec = read_table(file, "SecurityEvent");
    assert_eq!(sec.rows(), 1, "only the Security channel");
    assert_eq!(
        sec.column("NewProcessName"),
        vec!["C:\\Windows\\System32\\whoami.exe"]
    );
    assert_eq!(sec.column("CommandLine"), vec!["whoami /all"]);
    assert_eq!(
        sec.column("ParentProcessName"),
        vec!["C:\\Windows\\System32\\cmd.exe"]
    );
    assert_eq!(sec.column("Account"), vec!["CONTOSO\\alice"]);
    assert_eq!(sec.column("SubjectAccount"), vec!["CONTOSO\\alice"]);
    assert_eq!(sec.column("TargetAccount"), vec!["-\\-"]);
    assert_eq!(sec.column("AccountType"), vec!["User"]);
    assert_eq!(sec.column("Process"), vec!["whoami.exe"]);
    assert_eq!(
        sec.column("EventSourceName"),
        vec!["Microsoft-Windows-Security-Auditing"]
    );
    assert_eq!(sec.column("Type"), vec!["SecurityEvent"]);
    assert!(sec.column("EventData")[0].contains("<Data Name=\"CommandLine\">whoami /all</Data>"));

    let sysmon = read_table(file, "Sysmon");
    assert_eq!(sysmon.rows(), 2, "only the Sysmon channel");
    assert_eq!(
        sysmon.column("Image"),
        vec!["C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"; 2]
    );
    assert_eq!(
        sysmon.column("ParentImage"),
        vec!["C:\\Windows\\System32\\cmd.exe", "∅"]
    );
    assert_eq!(sysmon.column("DestinationPort"), vec!["∅", "443"]);
    assert_eq!(sysmon.column("ProcessId"), vec!["6012", "6012"]);
    assert_eq!(sysmon.column("UtcTime")[0], "2023-08-09T10:15:04.498");
    assert_eq!(sysmon.column("EventRecordID"), vec!["5001", "5002"]);
}

#[test]
fn agent_json_lines_fill_the_same_columns_and_report_a_broken_line() {
    let inv = discover(&[fixtures()]);
    let file = find(&inv.files, "nxlog.jsonl");

    let all = read_table(file, "WindowsEvent");
    assert_eq!(all.rows(), 4);
    assert_eq!(all.bad.len(), 1);
    assert_eq!(all.bad[0].0, Position::Line(3));
    assert!(
        all.bad[0].1.contains("not a readable Windows event"),
        "{}",
        all.bad[0].1
    );
    assert_eq!(
        all.column("Channel"),
        vec![
            "Security",
            "Security",
            "System",
            "Microsoft-Windows-Sysmon/Operational"
        ]
    );
    // NXLog's signed decimal keywords read as the hex mask the event log writes.
    assert_eq!(all.column("Keywords")[0], "0x8020000000000000");
    // The shipper's UTC @timestamp, not NXLog's zoneless local EventTime.
    assert_eq!(all.column("TimeGenerated")[0], "2023-08-09T10:14:30");
    let data: serde_json::Value = serde_json::from_str(&all.column("EventData")[2]).unwrap();
    assert_eq!(data["ServiceName"], "updsvc");
    assert!(data.get("Message").is_none() && data.get("SourceModuleType").is_none());

    let sec = read_table(file, "SecurityEvent");
    assert_eq!(sec.rows(), 2);
    assert_eq!(sec.column("EventID"), vec!["4624", "4625"]);
    assert_eq!(sec.column("LogonType"), vec!["10", "3"]);
    assert_eq!(
        sec.column("LogonTypeName"),
        vec!["10 - RemoteInteractive", "3 - Network"]
    );
    assert_eq!(
        sec.column("Account"),
        vec!["CONTOSO\\alice", "CONTOSO\\administrator"]
    );
    assert_eq!(sec.column("SubjectAccount"), vec!["CONTOSO\\WS01$", "-\\-"]);
    assert_eq!(sec.column("IpAddress"), vec!["198.51.100.7"; 2]);
    assert_eq!(sec.column("Process"), vec!["svchost.exe", "∅"]);
    assert_eq!(sec.column("SubStatus"), vec!["∅", "0xc000006a"]);

    let sysmon = read_table(file, "Sysmon");
    assert_eq!(sysmon.rows(), 1);
    assert_eq!(sysmon.column("DestinationIp"), vec!["203.0.113.51"]);
    assert_eq!(sysmon.column("DestinationPort"), vec!["8443"]);
    assert_eq!(sysmon.column("Opcode"), vec!["0"]);
}

#[test]
fn a_zipped_member_reads_like_a_file() {
    let inv = discover(&[fixtures()]);
    let file = find(&inv.files, "agent_2023-08-09.json");
    // The agent wrote the channel in lower case: still the Security channel.
    let sec = read_table(file, "SecurityEvent");
    assert!(sec.bad.is_empty(), "{:?}", sec.bad);
    assert_eq!(
        sec.column("CommandLine"),
        vec!["net group \"Domain Admins\" /domain"]
    );
    assert_eq!(sec.column("Level"), vec!["0"]);
    let sysmon = read_table(file, "Sysmon");
    assert_eq!(sysmon.column("ParentProcessId"), vec!["6012"]);
    let b = &sysmon.batches[0];
    let pid = b.column(b.schema().index_of("ProcessId").unwrap());
    assert_eq!(
        pid.as_any().downcast_ref::<Int64Array>().unwrap().value(0),
        7052
    );
    let eid = b.column(b.schema().index_of("EventID").unwrap());
    assert_eq!(
        eid.as_any().downcast_ref::<Int32Array>().unwrap().value(0),
        1
    );
}

// ---------------------------------------------------------------------------------------------
// The corpus.

/// The records of an EVTX file as the evtx crate's own parser iterates them: (rendered, failed).
fn evtx_crate_count(path: &Path) -> (usize, usize) {
    let mut parser = evtx::EvtxParser::from_path(path)
        .unwrap()
        .with_configuration(evtx::ParserSettings::new().num_threads(1));
    let (mut ok, mut failed) = (0, 0);
    for r in parser.records_json() {
        match r {
            Ok(_) => ok += 1,
            Err(_) => failed += 1,
        }
    }
    (ok, failed)
}

#[test]
fn every_odd_evtx_file_is_read_and_its_damage_reported() {
    let Some(corpus) = corpus() else { return };
    let dir = corpus.join("evtx-odd");
    let inv = discover(std::slice::from_ref(&dir));
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    // A bare BinXML fragment is not an event log: listed, not read.
    let unclaimed: Vec<String> = inv
        .unclaimed
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(unclaimed, vec!["binxml.dat"]);
    let mut report = BTreeMap::new();
    for file in &inv.files {
        assert_eq!(file.format.name(), "evtx", "{}", file.path.display());
        let t = read_table(file, "WindowsEvent");
        let (ok, failed) = evtx_crate_count(&file.path);
        let name = file
            .path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        eprintln!(
            "{name}: {} rows kept, {} skipped (evtx crate: {ok} records, {failed} errors)",
            t.rows(),
            t.bad.len()
        );
        for (p, r) in &t.bad {
            eprintln!("  {p}: {r}");
        }
        assert_eq!(
            t.rows(),
            ok,
            "{name}: rows against the evtx crate's own iterator"
        );
        assert_eq!(
            t.bad.len(),
            failed,
            "{name}: skipped against the crate's errors"
        );
        report.insert(name, (t.rows(), t.bad.len()));
    }
    // The damage the folder is about is reported, and the good records around it are kept.
    let kept_and_skipped = |name: &str| report[name];
    assert_eq!(
        kept_and_skipped("sample_with_a_bad_chunk_magic.evtx"),
        (301, 3)
    );
    assert_eq!(
        kept_and_skipped("sample-with-zero-data-size-event.evtx"),
        (449, 1)
    );
    assert_eq!(kept_and_skipped("security_bad_string_cache.evtx").0, 2261);
    assert_eq!(kept_and_skipped("sysmon.evtx").0, 358);
    // The Sysmon log's rows are in the Sysmon view, and none of them in SecurityEvent.
    let sysmon = find(&inv.files, "sysmon.evtx");
    assert_eq!(read_table(sysmon, "Sysmon").rows(), 358);
    assert_eq!(read_table(sysmon, "SecurityEvent").rows(), 0);
    let security = find(&inv.files, "/security.evtx");
    let sec = read_table(security, "SecurityEvent");
    assert_eq!(sec.rows(), 2261);
    assert!(sec.bad.is_empty());
}

#[test]
fn a_truncated_evtx_keeps_the_records_before_the_cut() {
    let Some(corpus) = corpus() else { return };
    let source = corpus.join("evtx-odd/samples/security.evtx");
    let bytes = std::fs::read(&source).unwrap();
    // Cut the file in the middle of its third chunk.
    let cut = 4096 + 2 * 65536 + 30_000;
    let dir = std::env::temp_dir().join(format!("spoor-evtx-cut-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cut.evtx");
    std::fs::write(&path, &bytes[..cut]).unwrap();
    let inv = discover(std::slice::from_ref(&path));
    let t = read_table(&inv.files[0], "WindowsEvent");
    let whole = read_table(
        find(&discover(&[source]).files, "security.evtx"),
        "WindowsEvent",
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let ids = |t: &Table| t.column("EventRecordId");
    let kept = ids(&t);
    // Every record kept is the same as in the whole file, and the first two chunks are whole.
    assert_eq!(kept[..], ids(&whole)[..kept.len()]);
    assert!(kept.len() > 2 * 60, "{} rows", kept.len());
    assert!(
        t.bad
            .iter()
            .any(|(p, r)| *p == Position::Byte(cut as u64) && r.contains("truncated")),
        "{:?}",
        t.bad
    );
}

/// GUIDs written as `{c96b491c-1545-...}` or `C96B491C-1545-...` both become `c96b491c-1545-...`.
fn normalize_guids(s: &str) -> String {
    let b = s.as_bytes();
    let is_guid = |w: &[u8]| {
        w.len() == 36
            && w.iter().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => *c == b'-',
                _ => c.is_ascii_hexdigit(),
            })
    };
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'{' && b.get(i + 37) == Some(&b'}') && is_guid(&b[i + 1..i + 37]) {
            out.push_str(&s[i + 1..i + 37].to_ascii_lowercase());
            i += 38;
        } else if i + 36 <= b.len() && is_guid(&b[i..i + 36]) {
            out.push_str(&s[i..i + 36].to_ascii_lowercase());
            i += 36;
        } else {
            let c = s[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// A cell with its text trimmed; in a JSON object (EventData), each value's text.
fn trim_values(cell: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(cell) {
        Ok(serde_json::Value::Object(o)) => {
            let trimmed: serde_json::Map<String, serde_json::Value> = o
                .into_iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => (k, serde_json::Value::String(s.trim().into())),
                    v => (k, v),
                })
                .collect();
            serde_json::Value::Object(trimmed).to_string()
        }
        _ => cell.trim().to_string(),
    }
}

/// Concatenated JSON objects in a file, counted with serde_json.
fn json_objects(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::Deserializer::from_str(text.trim_start_matches('\u{feff}'))
        .into_iter::<serde_json::Value>()
        .inspect(|v| assert!(v.is_ok(), "{}: {v:?}", path.display()))
        .count()
}

#[test]
fn sigma_regression_json_and_evtx_give_the_same_rows() {
    let Some(corpus) = corpus() else { return };
    let root = corpus.join("sigma/regression_data");
    let mut folders = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "info.yml") {
                folders.push(dir.clone());
            }
        }
    }
    folders.sort();
    assert!(folders.len() >= 200, "{} regression folders", folders.len());
    let (mut pairs, mut rows, mut known) = (0, 0, 0);
    for folder in &folders {
        let inv = discover(std::slice::from_ref(folder));
        assert!(inv.errors.is_empty(), "{:?}", inv.errors);
        let by_format = |name: &str| -> Vec<&EvidenceFile> {
            inv.files
                .iter()
                .filter(|f| f.format.name() == name)
                .collect()
        };
        let evtx = by_format("evtx");
        // The JSON dump (one folder also holds a copy of it named .jsoncls, read as well).
        let json: Vec<&EvidenceFile> = by_format("windows-json")
            .into_iter()
            .filter(|f| f.path.extension().is_some_and(|x| x == "json"))
            .collect();
        let has_evtx = |f: &std::fs::DirEntry| f.path().extension().is_some_and(|x| x == "evtx");
        if !std::fs::read_dir(folder)
            .unwrap()
            .any(|f| has_evtx(&f.unwrap()))
        {
            // Not a Windows case (Cisco and other raw logs also have regression data).
            continue;
        }
        assert_eq!(evtx.len(), 1, "{}: {:?}", folder.display(), inv.files);
        assert_eq!(json.len(), 1, "{}: {:?}", folder.display(), inv.files);
        let objects = json_objects(&json[0].path);
        for table in ["WindowsEvent", "SecurityEvent", "Sysmon"] {
            let a = read_table(evtx[0], table);
            let b = read_table(json[0], table);
            assert!(
                a.bad.is_empty() && b.bad.is_empty(),
                "{}: {:?} {:?}",
                folder.display(),
                a.bad,
                b.bad
            );
            // The JSON dumps were written by an evtx release that rendered SystemTime to the
            // microsecond; the EVTX holds 100-nanosecond FILETIMEs.
            // They also wrote GUIDs upper-case without braces, where the current release writes
            // them as Windows renders them ({lower-case}).
            // And they trimmed the spaces around text values (a command line's trailing space).
            let norm = |rows: Vec<Vec<String>>| -> Vec<Vec<String>> {
                rows.into_iter()
                    .map(|r| r.iter().map(|c| trim_values(&normalize_guids(c))).collect())
                    .collect()
            };
            let (mut ra, mut rb) = (norm(a.text_rows_with(true)), norm(b.text_rows_with(true)));
            ra.sort();
            rb.sort();
            if folder.ends_with("proc_creation_win_susp_right_to_left_override") {
                // The one real difference: this folder's JSON names the parent `Explorer.exe`
                // where its EVTX holds `Explorer.EXE`.
                ra = ra
                    .into_iter()
                    .map(|r| {
                        r.into_iter()
                            .map(|c| c.replace("Explorer.EXE", "Explorer.exe"))
                            .collect()
                    })
                    .collect();
                known += 1;
            }
            assert_eq!(ra, rb, "{}: {table}", folder.display());
            if table == "WindowsEvent" {
                // An independent count: the JSON dump's objects.
                assert_eq!(rb.len(), objects, "{}", folder.display());
                rows += rb.len();
            }
        }
        pairs += 1;
    }
    assert!(pairs >= 200, "{pairs} pairs");
    assert_eq!(known, 3, "the known difference is met in its three tables");
    eprintln!("{pairs} regression pairs, {rows} events, the same rows from EVTX and JSON");
}

#[test]
fn sysmon_view_fields_come_from_the_regression_events() {
    let Some(corpus) = corpus() else { return };
    // A named-pipe event: PipeName and Image, as the rule for it reads them.
    let dir = corpus.join(
        "sigma/regression_data/rules-emerging-threats/2026/Exploits/RedSun/pipe_created_win_exploit_redsun_named_pipe",
    );
    let inv = discover(&[dir]);
    let evtx = inv
        .files
        .iter()
        .find(|f| f.format.name() == "evtx")
        .unwrap();
    let t = read_table(evtx, "Sysmon");
    assert_eq!(t.rows(), 1);
    assert_eq!(t.column("EventID"), vec!["17"]);
    assert_eq!(t.column("PipeName"), vec!["\\REDSUN"]);
    assert_eq!(
        t.column("Image"),
        vec!["C:\\Users\\xodih\\Downloads\\RedSun.exe"]
    );
    assert_eq!(t.column("EventType"), vec!["CreatePipe"]);
    let b = &t.batches[0];
    let time = b.column(b.schema().index_of("TimeGenerated").unwrap());
    let time = time
        .as_any()
        .downcast_ref::<TimestampNanosecondArray>()
        .unwrap();
    let expected = chrono::DateTime::parse_from_rfc3339("2026-04-17T05:24:53.088849Z").unwrap();
    // The JSON dump beside it renders the time to the microsecond; the EVTX has 100 ns.
    let expected = expected.timestamp_nanos_opt().unwrap();
    assert!(
        (expected..expected + 1000).contains(&time.value(0)),
        "{}",
        time.value(0)
    );
    let user = b.column(b.schema().index_of("User").unwrap());
    assert_eq!(
        user.as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .value(0),
        "swachchhanda\\xodih"
    );
}
