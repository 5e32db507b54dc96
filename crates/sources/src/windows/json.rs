//! Windows events as JSON, in the two shapes found in evidence:
//!
//! - the evtx crate's rendering (`evtx_dump -o json`/`jsonl`, SigmaHQ's regression data):
//!   `{"Event":{"System":{...},"EventData":{...}}}` objects, pretty-printed and concatenated, one
//!   per line, or in a JSON array;
//! - JSON lines as log agents ship them (NXLog `im_msvistalog`, through Logstash or not, and the
//!   flat form of the OTRF Security-Datasets): one object per line whose EventData fields sit
//!   beside the System fields (`EventID`, `Channel`, `Hostname`, `SourceName`, `TimeCreated`...).
//!
//! Both fill the tables of [`super`] with the same columns as EVTX. Log Analytics exports of
//! `SecurityEvent`/`WindowsEvent` (rows with `TenantId`, `TimeGenerated`, `Type`) are left to the
//! `la-export` format.

use std::borrow::Cow;
use std::io::BufRead;
use std::path::Path;

use memchr::{memchr, memmem};
use spoor_catalog::TableDef;

use super::rendering::parse_evtx_json;
use super::{Entries, Mapper, TABLES, Val, WinEvent, push_event_data, push_user_data, value};
use crate::batch::{Batcher, Decoding, RowDecoder, Unit, Units};
use crate::cloudtrail::{JsonArray, json_value_len as value_extent, skip_ws};
use crate::lines::{Lines, Window};
use crate::{Batches, Format, Position, SourceError, check_table};

/// The Windows event JSON format.
pub struct WindowsJson;

impl Format for WindowsJson {
    fn name(&self) -> &'static str {
        "windows-json"
    }

    fn description(&self) -> &'static str {
        "Windows events as JSON: the evtx crate's rendering ({\"Event\":{\"System\":...}}, concatenated, \
         one per line or in an array) and JSON lines as log agents ship them (NXLog, OTRF datasets)"
    }

    fn tables(&self) -> &'static [&'static str] {
        TABLES
    }

    fn sniff(&self, head: &[u8]) -> bool {
        shape(head).is_some()
    }

    fn splittable(&self, head: &[u8]) -> bool {
        matches!(shape(head), Some(Shape::Flat | Shape::EvtxLines))
    }

    fn decode(
        &self,
        input: Box<dyn BufRead + Send>,
        file: &Path,
        table: &TableDef,
        projection: &[usize],
        batch_size: usize,
    ) -> Result<Batches, SourceError> {
        check_table(self, table)?;
        let batcher = Batcher::new(table, projection, batch_size)?;
        let mapper = Mapper::new(table, projection);
        let mut w = Window::new(input);
        // Enough of the head to see the shape (the first object may be long).
        while !w.eof && w.end - w.start < 64 * 1024 {
            w.fill().map_err(|source| SourceError::Read {
                path: file.to_path_buf(),
                position: Position::Byte(0),
                source,
            })?;
        }
        let shape = shape(&w.buf[w.start..w.end]).unwrap_or(Shape::Flat);
        let (units, decoder) = match shape {
            Shape::EvtxArray => (
                JsonUnits::Array(JsonArray::new(w, None)),
                EventDecoder::evtx(mapper),
            ),
            Shape::EvtxLines => (
                JsonUnits::Lines(Lines::from_window(w)),
                EventDecoder::evtx(mapper),
            ),
            Shape::EvtxConcatenated => (
                JsonUnits::Concatenated(Concatenated { w, n: 0 }),
                EventDecoder::evtx(mapper),
            ),
            Shape::Flat => (
                JsonUnits::Lines(Lines::from_window(w)),
                EventDecoder::flat(mapper),
            ),
        };
        Ok(Box::new(Decoding::new(units, decoder, batcher, file)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// evtx rendering, one object per line.
    EvtxLines,
    /// evtx rendering, pretty-printed objects one after another.
    EvtxConcatenated,
    /// evtx rendering in a JSON array.
    EvtxArray,
    /// Agent JSON lines.
    Flat,
}

/// Recognises the shapes from the head of a file.
fn shape(head: &[u8]) -> Option<Shape> {
    let s = skip_ws(head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head));
    let (array, obj) = match s.first()? {
        b'[' => (true, skip_ws(&s[1..])),
        b'{' => (false, s),
        _ => return None,
    };
    let inner = skip_ws(obj.strip_prefix(b"{")?);
    if let Some(rest) = inner.strip_prefix(b"\"Event\"") {
        // The evtx rendering: the object is {"Event": {... "System" ...}}.
        let rest = skip_ws(skip_ws(rest).strip_prefix(b":")?);
        if !rest.starts_with(b"{") || memmem::find(rest, b"\"System\"").is_none() {
            return None;
        }
        if array {
            return Some(Shape::EvtxArray);
        }
        let first_line = &obj[..memchr(b'\n', obj).unwrap_or(obj.len())];
        let line = first_line.trim_ascii();
        return Some(if line.ends_with(b"}") && line.len() > 2 {
            Shape::EvtxLines
        } else {
            Shape::EvtxConcatenated
        });
    }
    if array {
        return None;
    }
    // Agent JSON lines: the first line is an object with an EventID and a Channel, and it is not
    // a Log Analytics export row.
    let line = &obj[..memchr(b'\n', obj).unwrap_or(obj.len())];
    let entries: Entries<'_> = serde_json::from_slice(line).ok()?;
    let has = |k: &str| entries.0.iter().any(|(key, _)| key == k);
    (has("EventID") && has("Channel") && !has("TenantId") && !has("TimeGenerated"))
        .then_some(Shape::Flat)
}

enum JsonUnits {
    Lines(Lines),
    Array(JsonArray),
    Concatenated(Concatenated),
}

impl Units for JsonUnits {
    fn next_unit(&mut self) -> Unit<'_> {
        match self {
            JsonUnits::Lines(u) => u.next_unit(),
            JsonUnits::Array(u) => u.next_unit(),
            JsonUnits::Concatenated(u) => u.next_unit(),
        }
    }
}

/// JSON objects one after another (`evtx_dump -o json`), with any whitespace between them.
pub(crate) struct Concatenated {
    w: Window,
    /// Objects read so far.
    n: u64,
}

impl Concatenated {
    pub(crate) fn new(w: Window) -> Concatenated {
        Concatenated { w, n: 0 }
    }
}

impl Units for Concatenated {
    fn next_unit(&mut self) -> Unit<'_> {
        loop {
            let avail = &self.w.buf[self.w.start..self.w.end];
            let ws = avail.iter().take_while(|c| c.is_ascii_whitespace()).count();
            self.w.start += ws;
            if self.w.start == self.w.end {
                if self.w.eof {
                    return Unit::End;
                }
                if let Err(e) = self.w.fill() {
                    return Unit::Failed(Position::Record(self.n + 1), e);
                }
                continue;
            }
            break;
        }
        if self.w.buf[self.w.start] != b'{' {
            let at = Position::Byte(self.w.offset(self.w.start));
            self.w.start = self.w.end;
            // Nothing after this point can be trusted to start an event.
            self.w.eof = true;
            return Unit::Lost {
                position: at,
                reason: format!(
                    "expected the next event object after record {}; the rest of the file is skipped",
                    self.n
                ),
                fatal: true,
            };
        }
        loop {
            match value_extent(&self.w.buf[self.w.start..self.w.end], self.w.eof) {
                Some(len) => {
                    let s = self.w.start;
                    self.w.start += len;
                    self.n += 1;
                    return Unit::Record(Position::Record(self.n), &self.w.buf[s..s + len]);
                }
                None if self.w.eof => {
                    let n = self.n;
                    self.w.start = self.w.end;
                    return Unit::Lost {
                        position: Position::Record(n + 1),
                        reason: format!(
                            "the file ends inside record {} (truncated?); the {n} records before it were read",
                            n + 1
                        ),
                        fatal: true,
                    };
                }
                None => {
                    if let Err(e) = self.w.fill() {
                        return Unit::Failed(Position::Record(self.n + 1), e);
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Agent JSON lines.

/// NXLog's own event types: an `EventType` with one of these values is NXLog's, any other is the
/// event's (Sysmon registry and pipe events have an EventType field: `SetValue`, `CreatePipe`).
const NXLOG_EVENT_TYPES: &[&str] = &[
    "CRITICAL",
    "ERROR",
    "WARNING",
    "INFO",
    "AUDIT_SUCCESS",
    "AUDIT_FAILURE",
    "VERBOSE",
];

/// Fields that agents add about the collection, not part of the event: left out of EventData.
/// NXLog im_msvistalog: https://docs.nxlog.co/refman/current/im/msvistalog.html; Logstash
/// adds `@version`, `host`, `port`, `tags`.
const AGENT_FIELDS: &[&str] = &[
    "@version",
    "host",
    "port",
    "tags",
    "type",
    "Message",
    "EventReceivedTime",
    "SourceModuleName",
    "SourceModuleType",
    "Severity",
    "SeverityValue",
    "Category",
    "Domain",
    "AccountName",
    "AccountType",
    "EventTypeOrignal",
    "EventTypeOriginal",
    "OpcodeValue",
];

/// Reads one agent JSON line.
pub(crate) fn parse_flat_json(record: &[u8]) -> Result<WinEvent<'_>, String> {
    let entries: Entries<'_> = serde_json::from_slice(record)
        .map_err(|e| format!("not a readable Windows event (JSON): {e}"))?;
    let mut ev = WinEvent::default();
    let (mut time_created, mut timestamp, mut event_time) = (None, None, None);
    let mut opcode_value = None;
    for (k, raw) in entries.0 {
        let v = || value(raw);
        match k.as_ref() {
            "EventID" => ev.event_id = Some(v()),
            "Channel" => ev.channel = Some(v()),
            "Hostname" | "Computer" => ev.computer = Some(v()),
            "SourceName" | "ProviderName" | "Provider" => ev.provider = Some(v()),
            // Raccine and other event sources that name themselves Source.
            "Source" if ev.provider.is_none() => ev.provider = Some(v()),
            "ProviderGuid" => ev.provider_guid = Some(v()),
            "TimeCreated" => time_created = Some(v()),
            "@timestamp" => timestamp = Some(v()),
            "EventTime" => event_time = Some(v()),
            "RecordNumber" | "EventRecordID" => ev.record_id = Some(v()),
            "Task" => ev.task = Some(v()),
            "Level" => ev.level = Some(v()),
            "Version" => ev.version = Some(v()),
            "Opcode" => ev.opcode = Some(v()),
            "OpcodeValue" => opcode_value = Some(v()),
            "Keywords" => ev.keywords = Some(keywords(v())),
            "ExecutionProcessID" => ev.process_id = Some(v()),
            "ThreadID" | "ExecutionThreadID" => ev.thread_id = Some(v()),
            "UserID" => ev.user_id = Some(v()),
            "ActivityID" => ev.activity_id = Some(v()),
            "RelatedActivityID" => ev.related_activity_id = Some(v()),
            "EventType" if matches!(v(), Val::Text(ref t) if NXLOG_EVENT_TYPES.contains(&t.as_ref())) =>
                {}
            "EventData" | "event_data" if raw.get().starts_with('{') => {
                push_event_data(raw, &mut ev.data)
            }
            "UserData" | "user_data" if raw.get().starts_with('{') => {
                push_user_data(raw, &mut ev.data)
            }
            k if AGENT_FIELDS.contains(&k) => {}
            _ => ev.data.push((k, value(raw))),
        }
    }
    // The opcode's number, where the agent also wrote its name.
    if let Some(o) = opcode_value {
        ev.opcode = Some(o);
    }
    // The event's own time (TimeCreated is SystemTime, UTC), else the shipper's UTC @timestamp;
    // NXLog's EventTime is the collector's local time without a zone, so it is used only when
    // it names its zone.
    ev.system_time = time_created.or(timestamp).or(event_time.filter(|t| {
        t.text().is_some_and(|t| {
            let t = t.trim_end();
            t.ends_with('Z')
                || t.ends_with('z')
                || t.get(19..).is_some_and(|z| z.contains(['+', '-']))
        })
    }));
    Ok(ev)
}

/// Keywords as the evtx rendering writes them (`0x8020000000000000`); NXLog writes the 64-bit
/// mask as a signed decimal number.
fn keywords(v: Val<'_>) -> Val<'_> {
    match &v {
        Val::Text(t) if !t.starts_with("0x") => match t.trim().parse::<i64>() {
            Ok(n) => Val::Text(Cow::Owned(format!("0x{:x}", n as u64))),
            Err(_) => v,
        },
        _ => v,
    }
}

/// Decodes records of either shape into rows.
pub(crate) struct EventDecoder {
    mapper: Mapper,
    flat: bool,
}

impl EventDecoder {
    pub(crate) fn evtx(mapper: Mapper) -> EventDecoder {
        EventDecoder {
            mapper,
            flat: false,
        }
    }

    fn flat(mapper: Mapper) -> EventDecoder {
        EventDecoder { mapper, flat: true }
    }
}

impl RowDecoder for EventDecoder {
    fn decode(
        &mut self,
        record: &[u8],
        _position: Position,
        batcher: &mut Batcher,
    ) -> Result<(), String> {
        let ev = if self.flat {
            parse_flat_json(record)?
        } else {
            parse_evtx_json(record)?
        };
        self.mapper.push(&ev, batcher)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYSMON_1: &str = r##"{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon","Guid":"{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"}},"EventID":1,"Version":5,"Level":4,"Task":1,"Opcode":0,"Keywords":"0x8000000000000000","TimeCreated":{"#attributes":{"SystemTime":"2024-01-02T03:04:05.123456Z"}},"EventRecordID":42,"Correlation":null,"Execution":{"#attributes":{"ProcessID":3208,"ThreadID":1724}},"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"ws1","Security":{"#attributes":{"UserID":"S-1-5-18"}}},"EventData":{"RuleName":"-","ProcessId":4242,"Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c \"whoami\""}}}"##;

    #[test]
    fn sniffs_both_shapes_and_not_exports() {
        assert_eq!(shape(SYSMON_1.as_bytes()), Some(Shape::EvtxLines));
        let pretty = serde_json::to_string_pretty(
            &serde_json::from_str::<serde_json::Value>(SYSMON_1).unwrap(),
        )
        .unwrap();
        assert_eq!(shape(pretty.as_bytes()), Some(Shape::EvtxConcatenated));
        assert_eq!(
            shape(format!("[{SYSMON_1}]").as_bytes()),
            Some(Shape::EvtxArray)
        );
        assert_eq!(
            shape(br#"{"EventID":4688,"Channel":"security","Hostname":"h"}"#),
            Some(Shape::Flat)
        );
        assert_eq!(
            shape(br#"{"TenantId":"t","TimeGenerated":"2022-05-13T08:54:05Z","EventID":4688,"Channel":"Security","Type":"SecurityEvent"}"#),
            None
        );
        assert_eq!(shape(br#"{"eventSource":"s3.amazonaws.com"}"#), None);
    }

    #[test]
    fn evtx_rendering_reads_system_and_event_data() {
        let ev = parse_evtx_json(SYSMON_1.as_bytes()).unwrap();
        assert_eq!(ev.event_id, Some(Val::Text("1".into())));
        assert_eq!(
            ev.provider,
            Some(Val::Text("Microsoft-Windows-Sysmon".into()))
        );
        assert_eq!(
            ev.system_time,
            Some(Val::Text("2024-01-02T03:04:05.123456Z".into()))
        );
        assert_eq!(ev.user_id, Some(Val::Text("S-1-5-18".into())));
        assert_eq!(ev.process_id, Some(Val::Text("3208".into())));
        assert_eq!(ev.data.len(), 4);
        assert_eq!(
            ev.data[1],
            (Cow::Borrowed("ProcessId"), Val::Text("4242".into()))
        );
        assert_eq!(
            ev.data[3].1,
            Val::Text(Cow::Owned("cmd.exe /c \"whoami\"".into()))
        );
        assert!(parse_evtx_json(br#"{"Event":{}}"#).is_err());
        assert!(parse_evtx_json(b"{\"Event\":").is_err());
    }

    #[test]
    fn agent_lines_separate_collection_fields_from_event_data() {
        let line = br#"{"RuleName":"-","@timestamp":"2020-10-13T04:24:56.495Z","Channel":"Microsoft-Windows-Sysmon/Operational","RecordNumber":338872,"EventType":"INFO","Keywords":-9223372036854775808,"EventTime":"2020-10-13 00:24:53","SourceName":"Microsoft-Windows-Sysmon","Hostname":"dc.local","EventID":3,"Opcode":"Info","OpcodeValue":0,"DestinationPort":"60397","tags":["x"]}"#;
        let ev = parse_flat_json(line).unwrap();
        assert_eq!(
            ev.system_time,
            Some(Val::Text("2020-10-13T04:24:56.495Z".into()))
        );
        assert_eq!(ev.keywords, Some(Val::Text("0x8000000000000000".into())));
        assert_eq!(ev.opcode, Some(Val::Text("0".into())));
        let names: Vec<&str> = ev.data.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(names, vec!["RuleName", "DestinationPort"]);
        // A Sysmon registry event keeps its own EventType.
        let reg = br#"{"EventID":13,"Channel":"Microsoft-Windows-Sysmon/Operational","EventType":"SetValue"}"#;
        let ev = parse_flat_json(reg).unwrap();
        assert_eq!(
            ev.data,
            vec![(Cow::Borrowed("EventType"), Val::Text("SetValue".into()))]
        );
        // A zoneless local EventTime alone gives no time.
        let local = br#"{"EventID":1,"Channel":"System","EventTime":"2020-10-13 00:24:53"}"#;
        assert_eq!(parse_flat_json(local).unwrap().system_time, None);
    }
}
