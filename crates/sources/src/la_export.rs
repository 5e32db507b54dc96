//! Log Analytics exports: the CSV and JSON files that the Log Analytics and Sentinel portals write
//! from query results, and that Sentinel content ships as sample data.
//!
//! What is recognised, by content only:
//! - CSV with a header row, JSON arrays of row objects (pretty-printed or not) and JSON lines of
//!   row objects;
//! - whose column names, once the time zone suffix that exports add is stripped
//!   (`TimeGenerated [UTC]`), are columns of a catalog table: either a `Type` (or `$table`)
//!   column names the table of each row and at least [`MIN_COLUMNS`] other columns belong to it,
//!   or, with no such column, `TimeGenerated`, `TenantId` or `Timestamp` (Microsoft Defender
//!   advanced hunting exports) and at least [`MIN_COLUMNS`] columns in all belong to one table.
//!   A row without TimeGenerated takes it from Timestamp.
//!
//! The tables of a file ([`Format::tables_in`]): with a `Type` column, every catalog table that
//! some row names (the whole file is scanned when it is longer than the head); without one, the
//! table with the most matching columns. When several tables match equally, the file name or a
//! folder naming one of them breaks the tie (`SecurityEvent/…`, `AuditLogs_Hunting.csv`); the
//! name never claims a file by itself, and a tie it does not break leaves the file unclaimed.
//! Backup copies (`*.bak`, `*~`) are not read: they hold the rows of the file beside them again.
//!
//! Decoding: columns by name (case-sensitive, suffix stripped); values converted to the column's
//! KQL type. Times are read in the forms exports use (`3/31/2022, 10:52:35.857 AM`,
//! `2022-03-31T10:52:35.857Z`); a suffix naming another zone than UTC
//! (`[Eastern Time (US and Canada)]`, `[Jerusalem]`) converts local times to UTC. Empty values
//! and missing columns are null; a value that does not convert is a bad record. Columns the
//! table does not have are left out ([`Format::notes`] counts them). Reading one table skips the
//! rows whose Type names another (a row with an empty Type is read). `Type` is the table name.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::io::{BufRead, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use spoor_catalog::{Column, KqlType, TableDef, catalog, define_table};

use crate::batch::{Batcher, Decoding, RowDecoder, Scalar, Unit, Units, convert, parse_time};
use crate::cloudtrail::{JsonArray, strip_bom};
use crate::lines::{Lines, Window};
use crate::{
    BadRecord, Batches, Decoded, Format, Position, SNIFF_BYTES, SourceError, check_table, open_path,
};

/// The Log Analytics export format.
pub struct LaExport;

/// Columns whose value names the table of the row.
const TYPE_COLUMNS: &[&str] = &["Type", "$table"];

const TIME_GENERATED: &str = "TimeGenerated";

/// The time column of Microsoft Defender advanced hunting tables, read as TimeGenerated when a
/// row has none.
const DEFENDER_TIME: &str = "Timestamp";

/// How many columns of a table a header must have (besides `Type`) to be rows of that table.
pub const MIN_COLUMNS: usize = 4;

/// Every catalog table (an export may hold rows of any of them).
fn all_tables() -> &'static [&'static str] {
    static ALL: OnceLock<Vec<&'static str>> = OnceLock::new();
    ALL.get_or_init(|| catalog().tables().iter().map(|t| t.name.as_str()).collect())
}

/// The catalog's name for a table name (a `&'static str`), if it is a catalog table (documented,
/// or defined by evidence).
fn table_name(name: &str) -> Option<&'static str> {
    catalog().table(name).map(|t| t.name.as_str())
}

/// The catalog's name for a documented table: exports are matched against these only (a table
/// that another file defined is not a documented schema to recognise files by).
fn documented_name(name: &str) -> Option<&'static str> {
    catalog().documented(name).map(|t| t.name.as_str())
}

/// A column name without the suffix exports add: `TimeGenerated [UTC]` is `TimeGenerated` with
/// the zone label `UTC`.
fn split_name(raw: &str) -> (&str, Option<&str>) {
    let s = raw.trim_start_matches('\u{feff}').trim();
    if let Some(body) = s.strip_suffix(']')
        && let Some(open) = body.rfind('[')
    {
        let name = body[..open].trim_end();
        if !name.is_empty() {
            return (name, Some(body[open + 1..].trim()));
        }
    }
    (s, None)
}

// ---------------------------------------------------------------------------------------------
// Time zones of the column suffixes.

/// The zone that the times of a column are written in.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Zone {
    Utc,
    Tz(chrono_tz::Tz),
    /// A label that names no zone spoor knows; times are read as UTC.
    Unknown,
}

/// Portal labels for the zones whose name is not an IANA city (the portal lists Windows zone
/// display names).
const ZONE_LABELS: &[(&str, &str)] = &[
    ("Pacific Time", "America/Los_Angeles"),
    ("Mountain Time", "America/Denver"),
    ("Central Time", "America/Chicago"),
    ("Eastern Time", "America/New_York"),
    ("Atlantic Time", "America/Halifax"),
    ("Alaska", "America/Anchorage"),
    ("Hawaii", "Pacific/Honolulu"),
    ("Central European", "Europe/Paris"),
    ("Central Europe", "Europe/Budapest"),
    ("W. Europe", "Europe/Berlin"),
    ("GMT Standard", "Europe/London"),
    ("India Standard", "Asia/Kolkata"),
    ("China Standard", "Asia/Shanghai"),
    ("Tokyo Standard", "Asia/Tokyo"),
    ("AUS Eastern", "Australia/Sydney"),
];

fn zone(label: Option<&str>) -> Zone {
    let Some(label) = label else {
        return Zone::Utc;
    };
    let l = label.trim();
    if l.is_empty()
        || l.eq_ignore_ascii_case("UTC")
        || l.eq_ignore_ascii_case("Z")
        || l.eq_ignore_ascii_case("Coordinated Universal Time")
    {
        return Zone::Utc;
    }
    if let Ok(tz) = l.parse::<chrono_tz::Tz>() {
        return Zone::Tz(tz);
    }
    if let Some((_, name)) = ZONE_LABELS.iter().find(|(p, _)| l.starts_with(p)) {
        return name.parse().map_or(Zone::Unknown, Zone::Tz);
    }
    // A city: `Jerusalem` is `Asia/Jerusalem`.
    let city = l.replace(' ', "_");
    chrono_tz::TZ_VARIANTS
        .iter()
        .find(|tz| {
            tz.name()
                .rsplit('/')
                .next()
                .is_some_and(|c| c.eq_ignore_ascii_case(&city))
        })
        .map_or(Zone::Unknown, |tz| Zone::Tz(*tz))
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Zone::Utc => f.write_str("UTC"),
            Zone::Tz(tz) => f.write_str(tz.name()),
            Zone::Unknown => f.write_str("an unknown zone"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Values.

/// `M/D/YYYY[,] H:MM[:SS[.fff]][ AM|PM]` (the portal's en-US form).
fn parse_us_time(s: &str) -> Option<NaiveDateTime> {
    let (date, rest) = s.split_once([',', ' '])?;
    let mut d = date.split('/');
    let month: u32 = d.next()?.parse().ok()?;
    let day: u32 = d.next()?.parse().ok()?;
    let year: i32 = d.next()?.parse().ok()?;
    if d.next().is_some() || year < 1000 {
        return None;
    }
    let rest = rest.trim_start_matches(',').trim();
    let (clock, half) = match rest.rsplit_once(' ') {
        Some((c, h)) if h.eq_ignore_ascii_case("AM") => (c.trim(), Some(false)),
        Some((c, h)) if h.eq_ignore_ascii_case("PM") => (c.trim(), Some(true)),
        _ => (rest, None),
    };
    let mut c = clock.split(':');
    let mut hour: u32 = c.next()?.parse().ok()?;
    let minute: u32 = c.next()?.parse().ok()?;
    let (second, nanos) = match c.next() {
        None => (0, 0),
        Some(sec) => {
            let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
            let whole: u32 = whole.parse().ok()?;
            if !frac.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let mut nanos = 0u32;
            for (i, b) in frac.bytes().take(9).enumerate() {
                nanos += u32::from(b - b'0') * 10u32.pow(8 - i as u32);
            }
            (whole, nanos)
        }
    };
    if c.next().is_some() {
        return None;
    }
    match half {
        Some(pm) if (1..=12).contains(&hour) => hour = hour % 12 + if pm { 12 } else { 0 },
        // `14:51:35 PM`, `0:10:00 AM`: a 24-hour clock with a needless marker.
        Some(true) if (13..=23).contains(&hour) => {}
        Some(false) if hour == 0 => {}
        Some(_) => return None,
        None => {}
    }
    NaiveDate::from_ymd_opt(year, month, day)?.and_hms_nano_opt(hour, minute, second, nanos)
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.f]` with no zone.
fn parse_naive_iso(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f"))
        .ok()
}

fn local_to_utc(t: NaiveDateTime, zone: Zone) -> Option<i64> {
    match zone {
        Zone::Utc | Zone::Unknown => t.and_utc().timestamp_nanos_opt(),
        Zone::Tz(tz) => tz.from_local_datetime(&t).earliest()?.timestamp_nanos_opt(),
    }
}

/// A time as exports write it; times with no zone of their own are in `zone`.
fn parse_datetime(s: &str, zone: Zone) -> Option<i64> {
    let s = s.trim();
    if let Some(t) = parse_us_time(s) {
        return local_to_utc(t, zone);
    }
    if zone != Zone::Utc
        && let Some(t) = parse_naive_iso(s)
    {
        return local_to_utc(t, zone);
    }
    if let Some(ns) = parse_time(s) {
        return Some(ns);
    }
    // Syslog-style forms that syslog exports carry in EventTime (`2011 Apr 19 17:11:12`).
    [
        "%Y %b %d %H:%M:%S",
        "%b %d %Y %H:%M:%S",
        "%b %d, %Y %H:%M:%S",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    .and_then(|t| local_to_utc(t, zone))
}

/// `[-][d.]hh:mm:ss[.fffffff]` (how Kusto writes a timespan), else milliseconds.
fn parse_timespan(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let mut parts = body.split(':');
    let (Some(h), Some(m), Some(sec), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let (days, hours) = match h.split_once('.') {
        Some((d, h)) => (d.parse::<i64>().ok()?, h.parse::<i64>().ok()?),
        None => (0, h.parse::<i64>().ok()?),
    };
    let minutes: i64 = m.parse().ok()?;
    let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
    let seconds: i64 = whole.parse().ok()?;
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut nanos = 0i64;
    for (i, b) in frac.bytes().take(9).enumerate() {
        nanos += i64::from(b - b'0') * 10i64.pow(8 - i as u32);
    }
    let total = (((days * 24 + hours) * 60 + minutes) * 60 + seconds) * 1_000_000_000 + nanos;
    Some(if neg { -total } else { total })
}

/// JSON text without whitespace outside strings.
fn compact_json(s: &str) -> Cow<'_, str> {
    let mut out: Option<String> = None;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        let keep = if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            true
        } else if c == '"' {
            in_string = true;
            true
        } else {
            !c.is_whitespace()
        };
        match (&mut out, keep) {
            (Some(o), true) => o.push(c),
            (None, false) => out = Some(s[..i].to_string()),
            _ => {}
        }
    }
    out.map_or(Cow::Borrowed(s), Cow::Owned)
}

/// Text from a file into a value of `ty`; empty text is null.
fn text_value<'a>(text: Cow<'a, str>, ty: KqlType, zone: Zone) -> Result<Scalar<'a>, String> {
    let t = text.trim();
    // Exports write a missing number or time as `null` in some tools.
    if t.is_empty() || (ty != KqlType::String && t.eq_ignore_ascii_case("null")) {
        return Ok(Scalar::Null);
    }
    let found = |what: &str| {
        let t: String = text.chars().take(80).collect();
        format!("expected {what}, found {t:?}")
    };
    match ty {
        KqlType::DateTime => parse_datetime(&text, zone)
            .map(Scalar::Nanos)
            .ok_or_else(|| found("a date and time")),
        KqlType::TimeSpan => match parse_timespan(&text) {
            Some(ns) => Ok(Scalar::Nanos(ns)),
            None => convert(text, ty),
        },
        KqlType::Dynamic => {
            let t = text.trim();
            if (t.starts_with('{') || t.starts_with('['))
                && serde_json::from_str::<IgnoredAny>(t).is_ok()
            {
                return Ok(Scalar::Str(match text {
                    Cow::Borrowed(b) => compact_json(b.trim()),
                    Cow::Owned(o) => Cow::Owned(compact_json(o.trim()).into_owned()),
                }));
            }
            Ok(Scalar::Str(text))
        }
        KqlType::Int | KqlType::Long => match convert(Cow::Borrowed(&text), ty) {
            Ok(Scalar::Int(v)) => Ok(Scalar::Int(v)),
            _ => {
                // `1.0`, `1E+3`: a whole number written as a real.
                let r: f64 = text.trim().parse().map_err(|_| found("a whole number"))?;
                let limit = if ty == KqlType::Int {
                    f64::from(i32::MAX)
                } else {
                    i64::MAX as f64
                };
                if r.fract() == 0.0 && r.abs() <= limit {
                    Ok(Scalar::Int(r as i64))
                } else {
                    Err(found("a whole number"))
                }
            }
        },
        _ => convert(text, ty),
    }
}

/// A JSON value into a value of `ty`: strings and scalars as their text, objects and arrays as
/// compact JSON text (dynamic and string columns only).
fn json_value<'a>(raw: &'a RawValue, ty: KqlType, zone: Zone) -> Result<Scalar<'a>, String> {
    let s = raw.get();
    match s.as_bytes().first() {
        Some(b'n') => Ok(Scalar::Null),
        Some(b'"') => {
            let text = if s.contains('\\') {
                Cow::Owned(serde_json::from_str::<String>(s).map_err(|e| e.to_string())?)
            } else {
                Cow::Borrowed(&s[1..s.len() - 1])
            };
            text_value(text, ty, zone)
        }
        Some(b'{' | b'[') => match ty {
            KqlType::Dynamic | KqlType::String => Ok(Scalar::Str(compact_json(s))),
            _ => Err(format!(
                "expected {}, found a JSON {}",
                ty.name(),
                if s.starts_with('{') {
                    "object"
                } else {
                    "array"
                }
            )),
        },
        _ => text_value(Cow::Borrowed(s), ty, zone),
    }
}

// ---------------------------------------------------------------------------------------------
// The head of a file: shape, columns, and the Type values seen.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Csv,
    JsonArray,
    JsonLines,
}

#[derive(Debug)]
struct Head {
    shape: Shape,
    /// Column names as written, in order of first appearance.
    columns: Vec<String>,
    /// Distinct non-empty values of the Type column in the rows read.
    types: BTreeSet<String>,
    /// Whether the head holds the whole file.
    complete: bool,
    /// Rows read from the head.
    rows: usize,
    /// Whether every CSV record of the head has as many fields as the header (JSON: always).
    regular: bool,
}

impl Head {
    /// Stripped column names, without duplicates.
    fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::with_capacity(self.columns.len());
        for c in &self.columns {
            let (n, _) = split_name(c);
            if !names.contains(&n) {
                names.push(n);
            }
        }
        names
    }

    fn has_type_column(&self) -> bool {
        self.names().iter().any(|n| TYPE_COLUMNS.contains(n))
    }
}

fn first_byte(b: &[u8]) -> Option<u8> {
    strip_bom(b)
        .iter()
        .copied()
        .find(|c| !c.is_ascii_whitespace())
}

/// The row objects' keys and Type values of a JSON object, or None when it is not an object.
fn object_keys(
    bytes: &[u8],
    columns: &mut Vec<String>,
    types: &mut BTreeSet<String>,
) -> Option<()> {
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(bytes).ok()?;
    for (k, v) in &map {
        if !columns.contains(k) {
            columns.push(k.clone());
        }
        if TYPE_COLUMNS.contains(&split_name(k).0)
            && let Some(t) = v.as_str()
            && !t.is_empty()
        {
            types.insert(t.to_string());
        }
    }
    Some(())
}

fn analyze(head: &[u8]) -> Option<Head> {
    let complete = head.len() < SNIFF_BYTES;
    let mut columns = Vec::new();
    let mut types = BTreeSet::new();
    let mut rows = 0;
    let mut regular = true;
    let shape = match first_byte(head)? {
        b'[' => {
            let input: Box<dyn BufRead + Send> = Box::new(Cursor::new(head.to_vec()));
            let mut array = JsonArray::new(Window::new(input), None);
            while let Unit::Record(_, bytes) = array.next_unit() {
                if object_keys(bytes, &mut columns, &mut types).is_none() {
                    break;
                }
                rows += 1;
            }
            if rows == 0 {
                return None;
            }
            Shape::JsonArray
        }
        b'{' => {
            let text = strip_bom(head);
            for line in text.split(|&b| b == b'\n') {
                if line.trim_ascii().is_empty() {
                    continue;
                }
                // A line that is not an object ends the rows (at the end of a head it may be
                // cut short).
                if object_keys(line, &mut columns, &mut types).is_none() {
                    break;
                }
                rows += 1;
            }
            if rows == 0 {
                return None;
            }
            Shape::JsonLines
        }
        _ => {
            let text = strip_bom(head);
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(text);
            let mut records: Vec<csv::StringRecord> = Vec::new();
            let mut record = csv::StringRecord::new();
            while let Ok(true) = reader.read_record(&mut record) {
                records.push(record.clone());
            }
            if !complete {
                // The last record may be cut in the middle.
                records.pop();
            }
            let header = records.first()?;
            if header.len() < 2 {
                return None;
            }
            columns = header.iter().map(str::to_string).collect();
            rows = records.len() - 1;
            regular = records.iter().all(|r| r.len() == header.len());
            let type_at: Vec<usize> = columns
                .iter()
                .enumerate()
                .filter(|(_, c)| TYPE_COLUMNS.contains(&split_name(c).0))
                .map(|(i, _)| i)
                .collect();
            for r in &records[1..] {
                for &i in &type_at {
                    if let Some(t) = r.get(i).filter(|t| !t.is_empty()) {
                        types.insert(t.to_string());
                    }
                }
            }
            Shape::Csv
        }
    };
    Some(Head {
        shape,
        columns,
        types,
        complete,
        rows,
        regular,
    })
}

/// How many of `names` are columns of `table` (type columns not counted).
fn score(names: &[&str], table: &TableDef) -> usize {
    names
        .iter()
        .filter(|n| !TYPE_COLUMNS.contains(n) && table.index_of(n).is_some())
        .count()
}

/// The tables the content points to, before the file name is consulted.
#[derive(Debug, PartialEq)]
enum Candidates {
    /// Named by the Type column (tables with enough columns in the header).
    ByType(Vec<&'static str>),
    /// No Type values: the tables with the best column score (several when tied).
    ByColumns(Vec<&'static str>),
}

fn by_type(names: &[&str], types: &BTreeSet<String>) -> Vec<&'static str> {
    types
        .iter()
        .filter_map(|t| documented_name(t))
        .filter(|t| score(names, catalog().table(t).expect("a catalog table")) >= MIN_COLUMNS)
        .collect()
}

fn candidates(head: &Head) -> Candidates {
    let names = head.names();
    if head.has_type_column() && !head.types.is_empty() {
        return Candidates::ByType(by_type(&names, &head.types));
    }
    // `Timestamp` anchors Microsoft Defender advanced hunting exports, which have no TimeGenerated.
    let anchors: Vec<&str> = ["TimeGenerated", "TenantId", "Timestamp"]
        .into_iter()
        .filter(|a| names.contains(a))
        .collect();
    let mut best = 0;
    let mut tied = Vec::new();
    for t in catalog().tables() {
        if !anchors.iter().any(|a| t.index_of(a).is_some()) {
            continue;
        }
        let s = score(&names, t);
        // Without a Type column, most columns must be the table's (parser output that merely
        // shares a few common names is not rows of the table).
        if s < MIN_COLUMNS || 2 * s < names.len() || s < best {
            continue;
        }
        if s > best {
            best = s;
            tied.clear();
        }
        tied.push(t.name.as_str());
    }
    Candidates::ByColumns(tied)
}

/// Whether the file name or one of its folders names `table` (`SecurityEvent/x.json`,
/// `AuditLogs_Hunting.csv`), ignoring case.
fn path_names(path: &Path, table: &str) -> bool {
    let table = table.to_ascii_lowercase();
    path.components().any(|c| {
        c.as_os_str()
            .to_str()
            .is_some_and(|s| s.to_ascii_lowercase().contains(&table))
    })
}

fn is_backup(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".bak") || n.ends_with('~'))
}

/// Every Type value of a whole file.
fn scan_types(path: &Path, shape: Shape) -> BTreeSet<String> {
    let mut types = BTreeSet::new();
    let Ok((input, _)) = open_path(path) else {
        return types;
    };
    let Ok(input) = skip_leading(input) else {
        return types;
    };
    match shape {
        Shape::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(input);
            let mut record = csv::ByteRecord::new();
            let mut type_at: Option<Vec<usize>> = None;
            while let Ok(true) = reader.read_byte_record(&mut record) {
                match &type_at {
                    None => {
                        type_at = Some(
                            record
                                .iter()
                                .enumerate()
                                .filter(|(_, c)| {
                                    std::str::from_utf8(c)
                                        .is_ok_and(|c| TYPE_COLUMNS.contains(&split_name(c).0))
                                })
                                .map(|(i, _)| i)
                                .collect(),
                        )
                    }
                    Some(at) => {
                        for &i in at {
                            if let Some(t) = record.get(i).and_then(|t| std::str::from_utf8(t).ok())
                                && !t.is_empty()
                                && !types.contains(t)
                            {
                                types.insert(t.to_string());
                            }
                        }
                    }
                }
            }
        }
        Shape::JsonArray | Shape::JsonLines => {
            let lookup: HashMap<String, usize> =
                TYPE_COLUMNS.iter().map(|c| (c.to_string(), 0)).collect();
            let mut each = |bytes: &[u8]| {
                let mut slots = [None];
                let mut zones = ZoneCache::default();
                let mut de = serde_json::Deserializer::from_slice(bytes);
                let seed = ObjectSeed {
                    lookup: &lookup,
                    zones: &mut zones,
                    slots: &mut slots,
                };
                if seed.deserialize(&mut de).is_ok()
                    && let Some((raw, _)) = slots[0]
                    && let Ok(t) = serde_json::from_str::<String>(raw.get())
                    && !t.is_empty()
                {
                    types.insert(t);
                }
            };
            let mut units: Box<dyn Units> = if shape == Shape::JsonArray {
                Box::new(JsonArray::new(Window::new(input), None))
            } else {
                Box::new(Lines::new(input))
            };
            while let Unit::Record(_, bytes) = units.next_unit() {
                each(bytes);
            }
        }
    }
    types
}

impl Format for LaExport {
    fn name(&self) -> &'static str {
        "la-export"
    }

    fn description(&self) -> &'static str {
        "Log Analytics exports: CSV with a header row, JSON arrays or JSON lines of row objects, whose \
         columns are those of a catalog table (each row in the table its Type column names)"
    }

    fn tables(&self) -> &'static [&'static str] {
        all_tables()
    }

    fn splittable(&self, head: &[u8]) -> bool {
        analyze(head).is_some_and(|h| h.shape == Shape::JsonLines)
    }

    fn sniff(&self, head: &[u8]) -> bool {
        match analyze(head).map(|h| candidates(&h)) {
            Some(Candidates::ByType(t) | Candidates::ByColumns(t)) => !t.is_empty(),
            None => false,
        }
    }

    fn tables_in(&self, head: &[u8], path: &Path) -> Vec<&'static str> {
        if is_backup(path) {
            return Vec::new();
        }
        let Some(h) = analyze(head) else {
            return Vec::new();
        };
        match candidates(&h) {
            Candidates::ByType(tables) if h.complete => tables,
            Candidates::ByType(_) => by_type(&h.names(), &scan_types(path, h.shape)),
            Candidates::ByColumns(tied) if tied.len() <= 1 => tied,
            Candidates::ByColumns(tied) => {
                let named: Vec<&'static str> =
                    tied.into_iter().filter(|t| path_names(path, t)).collect();
                if named.len() == 1 { named } else { Vec::new() }
            }
        }
    }

    fn notes(&self, head: &[u8], _path: &Path, tables: &[&'static str]) -> Vec<String> {
        let Some(h) = analyze(head) else {
            return Vec::new();
        };
        let mut notes = Vec::new();
        let names = h.names();
        let defs: Vec<&TableDef> = tables.iter().filter_map(|t| catalog().table(t)).collect();
        let unknown: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| !TYPE_COLUMNS.contains(n) && defs.iter().all(|d| d.index_of(n).is_none()))
            .collect();
        if !unknown.is_empty() {
            let shown: Vec<&str> = unknown.iter().copied().take(5).collect();
            let more = if unknown.len() > shown.len() {
                format!(" and {} more", unknown.len() - shown.len())
            } else {
                String::new()
            };
            notes.push(format!(
                "{} column(s) that {} {} not have were left out: {}{more}",
                unknown.len(),
                tables.join(" and "),
                if tables.len() == 1 { "does" } else { "do" },
                shown.join(", ")
            ));
        }
        let mut zoned: Vec<String> = Vec::new();
        for c in &h.columns {
            let (name, label) = split_name(c);
            let z = zone(label);
            if z == Zone::Utc {
                continue;
            }
            let is_time = tables.iter().any(|t| {
                catalog()
                    .table(t)
                    .and_then(|d| d.column(name))
                    .is_some_and(|c| c.ty == KqlType::DateTime)
            });
            if is_time {
                let label = label.unwrap_or_default();
                zoned.push(match z {
                    Zone::Unknown => format!(
                        "times in column {name} are local times of \"{label}\", a zone spoor does not know: they were read as UTC"
                    ),
                    _ => format!(
                        "times in column {name} are local times of \"{label}\" ({z}), converted to UTC"
                    ),
                });
            }
        }
        notes.extend(zoned);
        if h.has_type_column() {
            let other: Vec<&str> = h
                .types
                .iter()
                .map(String::as_str)
                .filter(|t| !tables.contains(t))
                .collect();
            if !other.is_empty() {
                notes.push(format!(
                    "rows of type {} are not read (not a catalog table, or too few of its columns)",
                    other.join(", ")
                ));
            }
        }
        notes
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
        decode_rows(input, file, table, projection, batch_size, true)
    }
}

/// Rows of a table the catalog does not document: any other CSV file with a header row, or JSON
/// array or lines of row objects (custom `_CL` tables, vendor sample data, indicator lists). The
/// file defines a table of its own ([`spoor_catalog::define_table`]): named by its Type column
/// when every row names the same undocumented table, else by the file name; its columns are the
/// file's, as text (TimeGenerated a datetime). Files of the same name add up into one table.
///
/// Asked last, after every format that knows its files: only what nobody else claims is read
/// this way. A file must look like a table to be claimed: at least [`MIN_DEFINED_COLUMNS`]
/// columns, CSV records as long as the header, and a row (CSV) or two (JSON) in its head.
pub struct DefinedRows;

/// How many columns a file needs to define a table.
pub const MIN_DEFINED_COLUMNS: usize = 3;

/// What a file defining a table looks like, from its head; None if it does not look like a table.
fn definable(head: &[u8]) -> Option<Head> {
    // Text only: binary files are not tables (a head may end inside a character).
    if let Err(e) = std::str::from_utf8(head)
        && e.error_len().is_some()
    {
        return None;
    }
    let h = analyze(head)?;
    let columns = h.names().iter().filter(|n| !n.is_empty()).count();
    // A CSV header with one regular record is a table (a one-row hunting export); a lone JSON
    // object is a document more often than a table (an ATT&CK STIX bundle), so JSON needs two.
    let rows = if h.shape == Shape::Csv { 1 } else { 2 };
    (columns >= MIN_DEFINED_COLUMNS && h.rows >= rows && h.regular).then_some(h)
}

/// The name of the table a file defines: its one Type value when that looks like a table name,
/// else its file name as an identifier
/// (`Forcepoint CASB.csv` is `Forcepoint_CASB`); a name the catalog documents gets `_file`.
fn defined_name(h: &Head, path: &Path) -> String {
    if h.types.len() == 1
        && let Some(t) = h.types.iter().next()
        && is_identifier(t)
        // Table names are PascalCase (`Tenable_ad_CL`); a Type such as `sha256` is not one.
        && t.starts_with(|c: char| c.is_ascii_uppercase())
        && !catalog().documents(t)
    {
        return t.clone();
    }
    let file = path.to_string_lossy();
    let file = file.rsplit(['/', '\\', '!']).next().unwrap_or(&file);
    let stem = file.split('.').next().unwrap_or(file);
    let mut name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "T_");
    }
    if catalog().documents(&name) {
        name.push_str("_file");
    }
    name
}

fn is_identifier(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Format for DefinedRows {
    fn name(&self) -> &'static str {
        "table-rows"
    }

    fn description(&self) -> &'static str {
        "Any other CSV with a header row, or JSON rows: a table of its own, named by its Type column \
         or the file name, with the file's columns as text (undocumented and custom tables)"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[]
    }

    fn sniff(&self, head: &[u8]) -> bool {
        definable(head).is_some()
    }

    fn splittable(&self, head: &[u8]) -> bool {
        analyze(head).is_some_and(|h| h.shape == Shape::JsonLines)
    }

    fn tables_in(&self, head: &[u8], path: &Path) -> Vec<&'static str> {
        if is_backup(path) {
            return Vec::new();
        }
        let Some(h) = definable(head) else {
            return Vec::new();
        };
        let name = defined_name(&h, path);
        let columns = h
            .names()
            .into_iter()
            .filter(|n| !n.is_empty())
            .map(|n| Column {
                name: n.to_string(),
                ty: if n == "TimeGenerated" {
                    KqlType::DateTime
                } else {
                    KqlType::String
                },
                description: String::new(),
            })
            .collect();
        let description = format!("Rows of {} (columns taken from the file)", path.display());
        match define_table(&name, &description, columns) {
            Ok(def) => vec![def.name.as_str()],
            Err(_) => Vec::new(),
        }
    }

    fn notes(&self, head: &[u8], _path: &Path, tables: &[&'static str]) -> Vec<String> {
        let partial = analyze(head).is_some_and(|h| !h.complete);
        tables
            .iter()
            .map(|t| {
                format!(
                    "table {t} is not in the catalog: its columns are the file's, read as text{}",
                    if partial {
                        " (those of the first 64 KiB)"
                    } else {
                        ""
                    }
                )
            })
            .collect()
    }

    fn decode(
        &self,
        input: Box<dyn BufRead + Send>,
        file: &Path,
        table: &TableDef,
        projection: &[usize],
        batch_size: usize,
    ) -> Result<Batches, SourceError> {
        decode_rows(input, file, table, projection, batch_size, false)
    }
}

/// Reads rows (CSV, JSON array, JSON lines) into `table`, columns by name.
fn decode_rows(
    input: Box<dyn BufRead + Send>,
    file: &Path,
    table: &TableDef,
    projection: &[usize],
    batch_size: usize,
    by_type: bool,
) -> Result<Batches, SourceError> {
    let batcher = Batcher::new(table, projection, batch_size)?;
    let columns: Vec<(KqlType, bool)> = projection
        .iter()
        .map(|&i| {
            let c = &table.columns[i];
            (c.ty, c.name == "Type")
        })
        .collect();
    let table_name = table_name(&table.name).expect("a catalog table");
    let read_error = |source| SourceError::Read {
        path: file.to_path_buf(),
        position: Position::Byte(0),
        source,
    };
    // The first byte of the content tells JSON (`[`, `{`) from CSV.
    let mut input = skip_leading(input).map_err(read_error)?;
    let first = input.fill_buf().map_err(read_error)?.first().copied();
    match first {
        Some(b'[' | b'{') => {
            let mut lookup: HashMap<String, usize> = projection
                .iter()
                .enumerate()
                .map(|(slot, &i)| (table.columns[i].name.clone(), slot))
                .collect();
            let type_slot = projection.len();
            for c in TYPE_COLUMNS {
                lookup.insert((*c).to_string(), type_slot);
            }
            // Defender exports have Timestamp and no TimeGenerated: a hidden slot keeps
            // Timestamp for TimeGenerated when it is not projected itself.
            let time_generated = lookup.get(TIME_GENERATED).copied();
            let timestamp = time_generated.map(|_| {
                *lookup
                    .entry(DEFENDER_TIME.to_string())
                    .or_insert(type_slot + 1)
            });
            let decoder = JsonRows {
                table: table_name,
                by_type,
                columns,
                time_fallback: time_generated.zip(timestamp),
                lookup,
                zones: ZoneCache::default(),
            };
            if first == Some(b'[') {
                let units = JsonArray::new(Window::new(input), None);
                Ok(Box::new(Decoding::new(units, decoder, batcher, file)))
            } else {
                let units = Lines::new(input);
                Ok(Box::new(Decoding::new(units, decoder, batcher, file)))
            }
        }
        _ => {
            let wanted: Vec<&str> = projection
                .iter()
                .map(|&i| table.columns[i].name.as_str())
                .collect();
            let reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(input);
            Ok(Box::new(CsvRows {
                reader,
                record: csv::ByteRecord::new(),
                header: None,
                wanted: wanted.into_iter().map(str::to_string).collect(),
                table: table_name,
                by_type,
                columns,
                batcher,
                path: file.to_path_buf(),
                done: false,
                pending: None,
            }))
        }
    }
}

/// Drops a byte order mark and the whitespace before the content.
fn skip_leading(mut input: Box<dyn BufRead + Send>) -> std::io::Result<Box<dyn BufRead + Send>> {
    let mut start = true;
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(input);
        }
        let mut n = 0;
        if start && buf.starts_with(b"\xEF\xBB\xBF") {
            n = 3;
        }
        start = false;
        let ws = buf[n..]
            .iter()
            .take_while(|c| c.is_ascii_whitespace())
            .count();
        let done = n + ws < buf.len();
        input.consume(n + ws);
        if done {
            return Ok(input);
        }
    }
}

/// The value of `Type` for a row of `table`: the row's own value, else the table name.
fn type_value<'a>(own: Option<Cow<'a, str>>, table: &'static str) -> Scalar<'a> {
    match own {
        Some(t) if !t.is_empty() => Scalar::Str(t),
        _ => Scalar::Str(Cow::Borrowed(table)),
    }
}

// ---------------------------------------------------------------------------------------------
// JSON rows.

/// Zones of key suffixes, parsed once per distinct label.
#[derive(Default)]
struct ZoneCache(HashMap<String, Zone>);

impl ZoneCache {
    fn get(&mut self, label: Option<&str>) -> Zone {
        match label {
            None => Zone::Utc,
            Some(l) if l.eq_ignore_ascii_case("UTC") => Zone::Utc,
            Some(l) => {
                if let Some(z) = self.0.get(l) {
                    return *z;
                }
                let z = zone(Some(l));
                self.0.insert(l.to_string(), z);
                z
            }
        }
    }
}

/// A key of an object, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// Puts the values of the keys in `lookup` (stripped names) into their slots.
struct ObjectSeed<'s, 'de> {
    lookup: &'s HashMap<String, usize>,
    zones: &'s mut ZoneCache,
    slots: &'s mut [Option<(&'de RawValue, Zone)>],
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_, 'de> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object (one row)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let (name, label) = split_name(&key);
            match self.lookup.get(name) {
                Some(&slot) => {
                    let v: &'de RawValue = map.next_value()?;
                    let z = self.zones.get(label);
                    self.slots[slot] = Some((v, z));
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct JsonRows {
    table: &'static str,
    /// Whether a row whose Type names another table is skipped (exports of documented tables);
    /// a table that a file defines by its name keeps every row.
    by_type: bool,
    /// Type of each projected column, and whether it is `Type`.
    columns: Vec<(KqlType, bool)>,
    /// Column name → slot (projected columns, then the type slot, then a Timestamp slot).
    lookup: HashMap<String, usize>,
    /// (TimeGenerated slot, Timestamp slot): TimeGenerated is Timestamp when the row lacks it.
    time_fallback: Option<(usize, usize)>,
    zones: ZoneCache,
}

impl RowDecoder for JsonRows {
    fn decode(
        &mut self,
        record: &[u8],
        _position: Position,
        batcher: &mut Batcher,
    ) -> Result<(), String> {
        let mut slots: Vec<Option<(&RawValue, Zone)>> = vec![None; self.columns.len() + 2];
        let mut de = serde_json::Deserializer::from_slice(record);
        ObjectSeed {
            lookup: &self.lookup,
            zones: &mut self.zones,
            slots: &mut slots,
        }
        .deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| format!("not a JSON object: {e}"))?;
        if let Some((time_generated, timestamp)) = self.time_fallback
            && slots[time_generated].is_none()
        {
            slots[time_generated] = slots[timestamp];
        }
        let own_type: Option<Cow<'_, str>> = match slots[self.columns.len()] {
            Some((raw, _)) => match json_value(raw, KqlType::String, Zone::Utc)? {
                Scalar::Str(s) => Some(s),
                _ => None,
            },
            None => None,
        };
        if let Some(t) = &own_type
            && !t.is_empty()
            && self.by_type
            && t != self.table
        {
            return Ok(()); // a row of another table
        }
        let mut row: Vec<Scalar<'_>> = Vec::with_capacity(self.columns.len());
        for (i, &(ty, is_type)) in self.columns.iter().enumerate() {
            let v = if is_type {
                type_value(own_type.clone(), self.table)
            } else {
                match slots[i] {
                    Some((raw, zone)) => json_value(raw, ty, zone)?,
                    None => Scalar::Null,
                }
            };
            row.push(v);
        }
        batcher.push(&row);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// CSV rows.

struct CsvHeader {
    /// For each projected column, its field and zone.
    fields: Vec<Option<(usize, Zone)>>,
    /// The Type field.
    type_at: Option<usize>,
    len: usize,
}

struct CsvRows<R: Read> {
    reader: csv::Reader<R>,
    record: csv::ByteRecord,
    header: Option<CsvHeader>,
    wanted: Vec<String>,
    table: &'static str,
    /// Whether a row whose Type names another table is skipped (exports of documented tables);
    /// a table that a file defines by its name keeps every row.
    by_type: bool,
    columns: Vec<(KqlType, bool)>,
    batcher: Batcher,
    path: PathBuf,
    done: bool,
    pending: Option<Result<Decoded, SourceError>>,
}

impl<R: Read> CsvRows<R> {
    fn bad(&self, position: Position, reason: String) -> Decoded {
        Decoded::Bad(BadRecord {
            file: self.path.clone(),
            position,
            reason,
        })
    }

    fn read_header(&mut self) -> Result<(), String> {
        let mut fields = vec![None; self.wanted.len()];
        let mut type_at = None;
        let mut timestamp = None;
        for (i, raw) in self.record.iter().enumerate() {
            let raw = std::str::from_utf8(raw).map_err(|_| "the header is not UTF-8 text")?;
            let (name, label) = split_name(raw);
            if TYPE_COLUMNS.contains(&name) && type_at.is_none() {
                type_at = Some(i);
            }
            if let Some(slot) = self.wanted.iter().position(|w| w == name)
                && fields[slot].is_none()
            {
                fields[slot] = Some((i, zone(label)));
            }
            if name == DEFENDER_TIME {
                timestamp = Some((i, zone(label)));
            }
        }
        // Defender exports have Timestamp and no TimeGenerated.
        if let Some(slot) = self.wanted.iter().position(|w| w == TIME_GENERATED)
            && fields[slot].is_none()
        {
            fields[slot] = timestamp;
        }
        self.header = Some(CsvHeader {
            fields,
            type_at,
            len: self.record.len(),
        });
        Ok(())
    }

    /// Decodes the current record into the batcher (or skips it).
    fn row(&mut self) -> Result<(), String> {
        let header = self.header.as_ref().expect("the header was read");
        if self.record.len() != header.len {
            return Err(format!(
                "{} fields, the header has {}",
                self.record.len(),
                header.len
            ));
        }
        let field = |i: usize| -> Result<&str, String> {
            std::str::from_utf8(&self.record[i])
                .map_err(|_| format!("field {} is not UTF-8 text", i + 1))
        };
        let own_type = match header.type_at {
            Some(i) => Some(field(i)?),
            None => None,
        };
        if let Some(t) = own_type
            && !t.is_empty()
            && self.by_type
            && t != self.table
        {
            return Ok(());
        }
        let mut row: Vec<Scalar<'_>> = Vec::with_capacity(self.columns.len());
        for (slot, &(ty, is_type)) in self.columns.iter().enumerate() {
            let v = if is_type {
                type_value(own_type.map(Cow::Borrowed), self.table)
            } else {
                match header.fields[slot] {
                    Some((i, zone)) => text_value(Cow::Borrowed(field(i)?), ty, zone)
                        .map_err(|e| format!("column {}: {e}", self.wanted[slot]))?,
                    None => Scalar::Null,
                }
            };
            row.push(v);
        }
        self.batcher.push(&row);
        Ok(())
    }

    fn flush_then(&mut self, then: Result<Decoded, SourceError>) -> Result<Decoded, SourceError> {
        if self.batcher.is_empty() {
            then
        } else {
            self.pending = Some(then);
            Ok(Decoded::Batch(self.batcher.finish()))
        }
    }
}

impl<R: Read + Send> Iterator for CsvRows<R> {
    type Item = Result<Decoded, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(p) = self.pending.take() {
            return Some(p);
        }
        if self.done {
            return None;
        }
        loop {
            let position = Position::Line(self.reader.position().line());
            match self.reader.read_byte_record(&mut self.record) {
                Ok(false) => {
                    self.done = true;
                    if self.batcher.is_empty() {
                        return None;
                    }
                    return Some(Ok(Decoded::Batch(self.batcher.finish())));
                }
                Ok(true) => {
                    let position = self
                        .record
                        .position()
                        .map_or(position, |p| Position::Line(p.line()));
                    let result = if self.header.is_none() {
                        self.read_header()
                    } else {
                        self.row()
                    };
                    match result {
                        Ok(()) if self.batcher.is_full() => {
                            return Some(Ok(Decoded::Batch(self.batcher.finish())));
                        }
                        Ok(()) => {}
                        Err(reason) if self.header.is_none() => {
                            self.done = true;
                            let err = SourceError::Malformed {
                                path: self.path.clone(),
                                position,
                                reason,
                            };
                            return Some(self.flush_then(Err(err)));
                        }
                        Err(reason) => return Some(Ok(self.bad(position, reason))),
                    }
                }
                Err(e) => {
                    let position = e.position().map_or(position, |p| Position::Line(p.line()));
                    match e.into_kind() {
                        csv::ErrorKind::Io(source) => {
                            self.done = true;
                            let err = SourceError::Read {
                                path: self.path.clone(),
                                position,
                                source,
                            };
                            return Some(self.flush_then(Err(err)));
                        }
                        other => {
                            return Some(Ok(self.bad(position, format!("{other:?}"))));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::decode_text;
    use arrow::array::{Array, BooleanArray, Int32Array, StringArray, TimestampNanosecondArray};

    fn ns(rfc3339: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .timestamp_nanos_opt()
            .unwrap()
    }

    #[test]
    fn names_lose_their_zone_suffix() {
        assert_eq!(
            split_name("\u{feff}TimeGenerated [UTC]"),
            ("TimeGenerated", Some("UTC"))
        );
        assert_eq!(
            split_name("TimeGenerated [Eastern Time (US and Canada)]"),
            ("TimeGenerated", Some("Eastern Time (US and Canada)"))
        );
        assert_eq!(split_name("Computer"), ("Computer", None));
        assert_eq!(zone(Some("UTC")), Zone::Utc);
        assert_eq!(
            zone(Some("Jerusalem")),
            Zone::Tz(chrono_tz::Tz::Asia__Jerusalem)
        );
        assert_eq!(
            zone(Some("Pacific Time (US and Canada) Tijuana")),
            Zone::Tz(chrono_tz::Tz::America__Los_Angeles)
        );
        assert_eq!(
            zone(Some("Europe/Paris")),
            Zone::Tz(chrono_tz::Tz::Europe__Paris)
        );
        assert_eq!(zone(Some("Nowhere Standard")), Zone::Unknown);
    }

    #[test]
    fn times_parse_in_the_forms_exports_use() {
        let t = ns("2022-03-31T10:52:35.857Z");
        assert_eq!(
            parse_datetime("3/31/2022, 10:52:35.857 AM", Zone::Utc),
            Some(t)
        );
        assert_eq!(
            parse_datetime("2022-03-31T10:52:35.857Z", Zone::Utc),
            Some(t)
        );
        assert_eq!(
            parse_datetime("2022-03-31T10:52:35.857", Zone::Utc),
            Some(t)
        );
        let pm = ns("2022-03-31T14:51:35.857Z");
        assert_eq!(
            parse_datetime("3/31/2022, 2:51:35.857 PM", Zone::Utc),
            Some(pm)
        );
        assert_eq!(
            parse_datetime("3/31/2022, 14:51:35.857 PM", Zone::Utc),
            Some(pm)
        );
        assert_eq!(
            parse_datetime("12/1/2020, 12:05:00 AM", Zone::Utc),
            Some(ns("2020-12-01T00:05:00Z"))
        );
        assert_eq!(
            parse_datetime("11/14/2020 6:21", Zone::Utc),
            Some(ns("2020-11-14T06:21:00Z"))
        );
        assert_eq!(
            parse_datetime("2011 Apr 19 17:11:12", Zone::Utc),
            Some(ns("2011-04-19T17:11:12Z"))
        );
        // Local times of a named zone, summer and winter; an explicit offset wins.
        let ny = Zone::Tz(chrono_tz::Tz::America__New_York);
        assert_eq!(
            parse_datetime("6/1/2021, 8:30:00.000 AM", ny),
            Some(ns("2021-06-01T12:30:00Z"))
        );
        assert_eq!(
            parse_datetime("2021-01-15 08:30:00", ny),
            Some(ns("2021-01-15T13:30:00Z"))
        );
        assert_eq!(parse_datetime("2022-03-31T10:52:35.857Z", ny), Some(t));
        assert_eq!(parse_datetime("13/31/2022, 1:00:00 AM", Zone::Utc), None);
        assert_eq!(parse_datetime("3/31/2022, 13:00:00 AM", Zone::Utc), None);
        assert_eq!(parse_datetime("soon", Zone::Utc), None);
    }

    #[test]
    fn values_convert_to_the_column_type() {
        fn v(s: &str, ty: KqlType) -> Result<Scalar<'_>, String> {
            text_value(Cow::Borrowed(s), ty, Zone::Utc)
        }
        assert_eq!(v("", KqlType::Long), Ok(Scalar::Null));
        assert_eq!(v("null", KqlType::Int), Ok(Scalar::Null));
        assert_eq!(v("null", KqlType::String), Ok(Scalar::Str("null".into())));
        assert_eq!(v("1.00E+3", KqlType::Long), Ok(Scalar::Int(1000)));
        assert!(v("1.5", KqlType::Int).is_err());
        assert_eq!(v("True", KqlType::Bool), Ok(Scalar::Bool(true)));
        assert_eq!(v("1", KqlType::Bool), Ok(Scalar::Bool(true)));
        assert_eq!(
            v("{\"a\": [1, 2], \"b\": \"x y\"}", KqlType::Dynamic),
            Ok(Scalar::Str("{\"a\":[1,2],\"b\":\"x y\"}".into()))
        );
        assert_eq!(
            v("not json {", KqlType::Dynamic),
            Ok(Scalar::Str("not json {".into()))
        );
        assert_eq!(
            v("1.02:03:04.5", KqlType::TimeSpan),
            Ok(Scalar::Nanos(
                ((26 * 60 + 3) * 60 + 4) * 1_000_000_000 + 500_000_000
            ))
        );
        let j = |s: &str, ty| {
            let raw: &RawValue = serde_json::from_str(s).unwrap();
            json_value(raw, ty, Zone::Utc).map(|v| format!("{v:?}"))
        };
        assert_eq!(j("28704", KqlType::String).unwrap(), "Str(\"28704\")");
        assert_eq!(j("\"28704\"", KqlType::Int).unwrap(), "Int(28704)");
        assert_eq!(j("null", KqlType::Int).unwrap(), "Null");
        assert_eq!(j("\"a\\\\b\"", KqlType::String).unwrap(), "Str(\"a\\\\b\")");
        assert_eq!(
            j("{ \"k\" : [ 1 ] }", KqlType::Dynamic).unwrap(),
            "Str(\"{\\\"k\\\":[1]}\")"
        );
        assert!(j("{}", KqlType::Long).unwrap_err().contains("object"));
    }

    #[test]
    fn sniffs_exports_and_not_lookalikes() {
        let f = LaExport;
        assert!(f.sniff(b"\xEF\xBB\xBFTenantId,SourceSystem,\"TimeGenerated [UTC]\",Computer,Facility,SyslogMessage,Type\nt,Linux,\"7/7/2022, 8:55:10.130 PM\",fw,local1,hello,Syslog\n"));
        assert!(f.sniff(b"[\n  {\"TimeGenerated\": \"3/31/2022, 10:52:35.857 AM\", \"Computer\": \"c\", \"Facility\": \"auth\", \"SyslogMessage\": \"m\", \"HostName\": \"h\"}\n]"));
        // Too few columns of any table; a Type column naming no table; not tabular at all.
        assert!(!f.sniff(b"TimeGenerated,Computer,Foo\n2022-01-01T00:00:00Z,c,x\n"));
        assert!(!f.sniff(
            b"Type,Indicator,TimeGenerated,Computer,TenantId,SourceSystem\nsha256,abc,,,,\n"
        ));
        assert!(!f.sniff(b"# About\nThis folder holds sample data.\n"));
        assert!(!f.sniff(b"{\"Records\":[{\"eventTime\":\"2024-08-02T08:23:24Z\"}]}"));
        // A head cut in the middle of a row still sniffs from the complete rows.
        let mut big = b"TimeGenerated,Computer,Facility,SyslogMessage,HostName\n".to_vec();
        while big.len() < SNIFF_BYTES + 10 {
            big.extend_from_slice(b"2022-01-01T00:00:00Z,c,auth,\"a message\",h\n");
        }
        assert!(f.sniff(&big[..SNIFF_BYTES]));
    }

    #[test]
    fn ties_are_broken_by_the_path_only() {
        let head =
            b"TimeGenerated,UserPrincipalName,IPAddress,AppDisplayName,ResultType,IsInteractive\n";
        let f = LaExport;
        assert!(f.sniff(head));
        assert_eq!(
            f.tables_in(head, Path::new("case/SigninLogs/export.csv")),
            vec!["SigninLogs"]
        );
        assert!(f.tables_in(head, Path::new("case/export.csv")).is_empty());
        assert!(
            f.tables_in(head, Path::new("case/SigninLogs/export.csv.bak"))
                .is_empty()
        );
    }

    #[test]
    fn a_long_file_is_scanned_for_its_types() {
        let dir = std::env::temp_dir().join(format!("spoor-la-export-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("mixed.csv");
        let mut text = String::from(
            "TimeGenerated,Computer,Facility,SyslogMessage,Account,EventID,Activity,Type\n",
        );
        while text.len() < SNIFF_BYTES * 2 {
            text.push_str("2022-01-01T00:00:00Z,c,auth,m,,,,Syslog\n");
        }
        text.push_str("2022-01-01T00:00:01Z,dc,,,contoso\\\\a,4624,logon,SecurityEvent\n");
        std::fs::write(&path, &text).unwrap();
        let head = &text.as_bytes()[..SNIFF_BYTES];
        assert_eq!(
            LaExport.tables_in(head, &path),
            vec!["SecurityEvent", "Syslog"]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn csv_rows_decode_by_name_and_skip_other_types() {
        let csv = "\u{feff}\"TimeGenerated [UTC]\",Computer,EventID,Account,Type,Extra\n\
                   \"3/31/2022, 10:52:35.857 AM\",dc-01,4624,\"contoso\\a\",SecurityEvent,x\n\
                   \"3/31/2022, 10:53:00.000 AM\",web-01,,,Syslog,y\n\
                   \"3/31/2022, 10:54:00.000 AM\",dc-02,four,b,SecurityEvent,z\n\
                   \"3/31/2022, 10:55:00.000 AM\",dc-03,,,SecurityEvent,w\n";
        let (batches, bad) = decode_text(
            &LaExport,
            csv,
            "export.csv",
            "SecurityEvent",
            &["Computer", "EventID", "TimeGenerated", "Type", "Account"],
            10,
        );
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(
            bad[0].contains("line 4") && bad[0].contains("EventID"),
            "{bad:?}"
        );
        let b = &batches[0];
        assert_eq!(b.num_rows(), 2);
        let computer = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!((computer.value(0), computer.value(1)), ("dc-01", "dc-03"));
        let id = b.column(1).as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!((id.value(0), id.is_null(1)), (4624, true));
        let t = b
            .column(2)
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .unwrap();
        assert_eq!(t.value(0), ns("2022-03-31T10:52:35.857Z"));
        let ty = b.column(3).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(ty.value(0), "SecurityEvent");
        let account = b.column(4).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(account.value(0), "contoso\\a");
    }

    #[test]
    fn json_lines_without_type_fill_the_table_and_name_it() {
        let jsonl = "{\"TimeGenerated\":\"2022-03-31T10:52:35.857Z\",\"UserPrincipalName\":\"a@b\",\"IsInteractive\":true,\"LocationDetails\":{\"city\":\"Paris\"}}\n\
                     \n\
                     {\"TimeGenerated\":\"3/31/2022, 10:53:00.000 AM\",\"UserPrincipalName\":\"c@d\",\"IsInteractive\":\"False\",\"LocationDetails\":null}\n\
                     not json\n";
        let (batches, bad) = decode_text(
            &LaExport,
            jsonl,
            "x.jsonl",
            "SigninLogs",
            &[
                "UserPrincipalName",
                "IsInteractive",
                "LocationDetails",
                "Type",
            ],
            1,
        );
        assert_eq!(batches.len(), 2);
        assert_eq!(bad.len(), 1);
        assert!(bad[0].contains("line 4"), "{bad:?}");
        let col = |i: usize, c: usize| batches[i].column(c).clone();
        let b = col(1, 1);
        let b = b.as_any().downcast_ref::<BooleanArray>().unwrap();
        assert!(!b.value(0));
        let l = col(0, 2);
        let l = l.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(l.value(0), "{\"city\":\"Paris\"}");
        let l = col(1, 2);
        assert!(l.is_null(0));
        let t = col(1, 3);
        let t = t.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(t.value(0), "SigninLogs");
    }

    #[test]
    fn defender_exports_take_time_generated_from_timestamp() {
        let json = "{\"Timestamp\":\"2021-08-02T13:11:39.7724491Z\",\"DeviceId\":\"d\",\"DeviceName\":\"adfs01\",\"ActionType\":\"ProcessCreated\",\"FileName\":\"cmd.exe\",\"ProcessCommandLine\":\"cmd /c whoami\"}\n";
        let csv = "Timestamp,DeviceId,DeviceName,ActionType,FileName,ProcessCommandLine\n2021-08-02T13:11:39.7724491Z,d,adfs01,ProcessCreated,cmd.exe,cmd /c whoami\n";
        for text in [json, csv] {
            let f = LaExport;
            assert!(f.sniff(text.as_bytes()), "{text}");
            let tables = f.tables_in(text.as_bytes(), Path::new("export/DeviceProcessEvents.csv"));
            assert_eq!(tables, vec!["DeviceProcessEvents"], "{text}");
            for columns in [&["TimeGenerated"][..], &["TimeGenerated", "Timestamp"][..]] {
                let (batches, bad) = crate::testing::decode_text(
                    &f,
                    text,
                    "hunting.csv",
                    "DeviceProcessEvents",
                    columns,
                    10,
                );
                assert!(bad.is_empty(), "{bad:?}");
                let t = batches[0]
                    .column(0)
                    .as_any()
                    .downcast_ref::<arrow::array::TimestampNanosecondArray>()
                    .unwrap();
                assert_eq!(t.value(0), 1_627_909_899_772_449_100, "{text}");
            }
        }
    }

    #[test]
    fn other_tables_are_defined_by_their_files() {
        let csv = "Time Generated,Vendor,Action,Severity\n2024-08-02,acme,block,high\n2024-08-03,acme,allow,low\n";
        let f = DefinedRows;
        assert!(f.sniff(csv.as_bytes()));
        let tables = f.tables_in(csv.as_bytes(), Path::new("case/acme-fw events.csv"));
        assert_eq!(tables, vec!["acme_fw_events"]);
        let (batches, bad) =
            crate::testing::decode_text(&f, csv, "acme.csv", "acme_fw_events", &["Action"], 10);
        assert!(bad.is_empty(), "{bad:?}");
        let a = batches[0]
            .column(0)
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .unwrap();
        assert_eq!((a.value(0), a.value(1)), ("block", "allow"));

        // One Type value names the table; TimeGenerated is a datetime.
        let json = "{\"TimeGenerated\":\"2024-08-02T08:23:24Z\",\"a\":1,\"b\":\"x\",\"Type\":\"Acme_CL\"}\n{\"TimeGenerated\":\"2024-08-02T08:23:25Z\",\"a\":2,\"b\":\"y\",\"Type\":\"Acme_CL\"}\n";
        assert_eq!(
            f.tables_in(json.as_bytes(), Path::new("x.json")),
            vec!["Acme_CL"]
        );
        let def = catalog().table("Acme_CL").unwrap();
        assert_eq!(def.column("TimeGenerated").unwrap().ty, KqlType::DateTime);
        assert_eq!(def.column("a").unwrap().ty, KqlType::String);
        let (batches, bad) =
            crate::testing::decode_text(&f, json, "x.json", "Acme_CL", &["TimeGenerated", "a"], 10);
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(batches[0].num_rows(), 2);

        // A file named like a documented table does not redefine it.
        assert_eq!(
            f.tables_in(csv.as_bytes(), Path::new("export/signinlogs.csv")),
            vec!["signinlogs_file"]
        );
    }

    #[test]
    fn only_table_shaped_text_defines_a_table() {
        let f = DefinedRows;
        assert!(!f.sniff(b"a,b\n1,2\n3,4\n"), "two columns");
        assert!(f.sniff(b"a,b,c\n1,2,3\n"), "a CSV of one row");
        assert!(!f.sniff(b"{\"a\":1,\"b\":2,\"c\":3}\n"), "one JSON object");
        assert!(
            !f.sniff(b"# Golden SAML, AD FS, and mail access\nThis dataset holds events.\nSee below, then.\n"),
            "prose"
        );
        assert!(!f.sniff(b"a,b,c\n\xff\xfe\x00,2,3\n4,5,6\n"), "binary");
        assert!(!f.sniff(b"title: rule, with commas, here\nid: 1\n"), "YAML");
    }
}
