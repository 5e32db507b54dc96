//! JSON event formats described by a mapping: which events a format recognises, which table an
//! event fills, and where each column's value is found in the event.
//!
//! The formats here (Kubernetes audit, Suricata eve, Azure Monitor diagnostic records, GuardDuty
//! findings, CloudWatch Logs exports) share everything but that mapping:
//!
//! - the layout of a file ([`Layout`]): JSON lines, a JSON array, an array wrapped in an object
//!   (`{"records": [...]}`, `{"Findings": [...]}`), or pretty-printed objects one after another;
//! - columns read by path ([`Src`]): `user.username` enters nested objects, `sourceIPs.0` an
//!   array, `[a.b]` is one key that holds dots, and a path that reaches a string holding JSON goes
//!   on inside it; keys are matched exactly, else ignoring ASCII case (Azure writes `Level` in one
//!   service and `level` in the next);
//! - an envelope: an event may sit inside a record ([`EventMapping::inner`]: AKS writes each
//!   Kubernetes audit event as JSON text in `properties.log`); paths that start with `^` read the
//!   record around it (`^time`, `^resourceId`).
//!
//! Values convert to the column's KQL type; a value of another shape is null (the event is kept:
//! one odd field never costs the row). Numbers in datetime columns are Unix epoch seconds, or
//! milliseconds when they are that large. A record that is not a JSON object is a bad record.

pub mod azure;
pub mod cloudwatch;
pub mod guardduty;
pub mod kube;
pub mod products;
pub mod suricata;

use std::borrow::Cow;
use std::io::BufRead;
use std::path::Path;

use serde_json::value::RawValue;
use spoor_catalog::{KqlType, TableDef};

use crate::batch::{Batcher, Decoding, RowDecoder, Scalar, Unit, Units, convert};
use crate::cloudtrail::{JsonArray, compact, json_value_len, skip_ws, strip_bom, text};
use crate::lines::{Lines, Window};
use crate::windows::Entries;
use crate::windows::json::Concatenated;
use crate::{Batches, Format, Position, SNIFF_BYTES, SourceError, check_table};

/// How the events of a file are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// One object per line.
    Lines,
    /// A JSON array of objects.
    Array,
    /// `{"<key>": [objects...]}` (other keys of the object are skipped).
    Wrapped(&'static str),
    /// Objects one after another, pretty-printed.
    Concatenated,
}

/// Keys of the objects that wrap an array of events: Azure Monitor (`records`), GuardDuty's
/// `get-findings` (`Findings`), CloudWatch Logs' `filter-log-events` (`events`).
const WRAPPERS: &[&str] = &["records", "Findings", "events"];

/// The layout of a file and the bytes of its first event, from its head. None when the head
/// holds no complete first object.
pub(crate) fn first_event(head: &[u8]) -> Option<(Layout, &[u8])> {
    let s = skip_ws(strip_bom(head));
    match s.first()? {
        b'[' => {
            let rest = skip_ws(&s[1..]);
            let len = json_value_len(rest, false)?;
            rest.starts_with(b"{")
                .then(|| (Layout::Array, &rest[..len]))
        }
        b'{' => {
            if let Some(found) = wrapped_first(s) {
                return Some(found);
            }
            let len = json_value_len(s, false)?;
            let object = &s[..len];
            let layout = if memchr::memchr(b'\n', object).is_some() {
                Layout::Concatenated
            } else {
                Layout::Lines
            };
            Some((layout, object))
        }
        _ => None,
    }
}

/// `{"records": [ {...` : the wrapper key and the first element.
fn wrapped_first(s: &[u8]) -> Option<(Layout, &[u8])> {
    let inner = skip_ws(&s[1..]);
    let key_len = json_value_len(inner, false)?;
    let key = inner.get(1..key_len.checked_sub(1)?)?;
    let wrapper = WRAPPERS.iter().find(|w| w.as_bytes() == key)?;
    let rest = skip_ws(skip_ws(&inner[key_len..]).strip_prefix(b":")?);
    let rest = skip_ws(rest.strip_prefix(b"[")?);
    let len = json_value_len(rest, false)?;
    rest.starts_with(b"{")
        .then(|| (Layout::Wrapped(wrapper), &rest[..len]))
}

/// Parses a JSON object into its entries (values borrowed as raw JSON text).
pub(crate) fn parse_object(text: &str) -> Option<Entries<'_>> {
    if !text.trim_start().starts_with('{') {
        return None;
    }
    serde_json::from_str(text).ok()
}

/// The value of `key`: the exact key, else the first key equal to it ignoring ASCII case.
pub(crate) fn get<'a>(object: &Entries<'a>, key: &str) -> Option<&'a RawValue> {
    object
        .0
        .iter()
        .find(|(k, _)| k == key)
        .or_else(|| object.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)))
        .map(|(_, v)| *v)
}

/// The segments of a path: `.`-separated, a `[...]` segment taken literally (keys with dots).
fn segments(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(literal) = rest.strip_prefix('[')
            && let Some(close) = literal.find(']')
        {
            out.push(&literal[..close]);
            rest = literal[close + 1..].strip_prefix('.').unwrap_or("");
            continue;
        }
        match rest.find('.') {
            Some(i) => {
                out.push(&rest[..i]);
                rest = &rest[i + 1..];
            }
            None => {
                out.push(rest);
                rest = "";
            }
        }
    }
    out
}

/// The value at `path` below `object`: objects are entered by key, arrays by a numeric segment.
/// (Strings holding JSON are entered through an envelope: [`EventMapping::inner`].)
fn walk<'a>(object: &Entries<'a>, path: &[&str]) -> Option<&'a RawValue> {
    let (first, rest) = path.split_first()?;
    let value = get(object, first)?;
    if rest.is_empty() {
        return Some(value);
    }
    let text = value.get();
    if text.starts_with('[') {
        let items: Vec<&'a RawValue> = serde_json::from_str(text).ok()?;
        let index: usize = rest[0].parse().ok()?;
        let item = *items.get(index)?;
        if rest.len() == 1 {
            return Some(item);
        }
        return walk(&parse_object(item.get())?, &rest[1..]);
    }
    walk(&parse_object(text)?, rest)
}

/// One record, and the event inside it when the format has an envelope.
pub(crate) struct Doc<'a> {
    record: Entries<'a>,
    event: Option<Entries<'a>>,
}

impl<'a> Doc<'a> {
    /// The value at `path`: from the event, or from the record around it for `^path`.
    pub(crate) fn get(&self, path: &str) -> Option<&'a RawValue> {
        match path.strip_prefix('^') {
            Some(outer) => walk(&self.record, &segments(outer)),
            None => walk(self.event.as_ref().unwrap_or(&self.record), &segments(path)),
        }
    }

    /// The text of the value at `path` (strings unquoted), if it is present and not null.
    pub(crate) fn text(&self, path: &str) -> Option<Cow<'a, str>> {
        self.get(path).filter(|v| v.get() != "null").map(text)
    }

    /// The record's own entries.
    pub(crate) fn record(&self) -> &Entries<'a> {
        &self.record
    }
}

/// Where a column's value comes from.
#[derive(Debug, Clone)]
pub(crate) enum Src {
    /// The first of these paths that holds a value (not null).
    Paths(Vec<Cow<'static, str>>),
    /// A fixed text (the table name in `Type`).
    Const(&'static str),
    /// Always null: the format has no such field.
    Null,
    /// The whole record, as JSON text.
    Event,
    /// A text the format works out from the event (the product an event came from).
    Derived(fn(&Doc<'_>) -> Option<&'static str>),
}

impl Src {
    pub(crate) fn path(path: &'static str) -> Src {
        Src::Paths(vec![Cow::Borrowed(path)])
    }

    pub(crate) fn paths(paths: &[&'static str]) -> Src {
        Src::Paths(paths.iter().map(|p| Cow::Borrowed(*p)).collect())
    }
}

/// What a JSON event format says about its events.
pub(crate) trait EventMapping: Send + Sync + 'static {
    /// Where the event sits inside `record`, when the record is an envelope (a path in the
    /// record; its value is an object or a string holding one). None: the record is the event.
    fn inner(&self, record: &Entries<'_>) -> Option<&'static str> {
        let _ = record;
        None
    }

    /// Whether the event belongs in `table`: `Ok(false)` skips it (it fills another table of the
    /// file), `Err` makes it a bad record with that reason.
    fn fills(&self, doc: &Doc<'_>, table: &str) -> Result<bool, String> {
        let _ = (doc, table);
        Ok(true)
    }

    /// Where `column` of `table` comes from.
    fn source(&self, table: &str, column: &str) -> Src;
}

/// Builds the document of one record: the record, and its inner event parsed (from its text
/// when the envelope holds it as a JSON string, in which case `owned` keeps that text).
fn doc<'a>(
    mapping: &dyn EventMapping,
    record: Entries<'a>,
    owned: &'a mut Option<String>,
) -> Doc<'a> {
    let Some(path) = mapping.inner(&record) else {
        return Doc {
            record,
            event: None,
        };
    };
    let Some(raw) = walk(&record, &segments(path)) else {
        return Doc {
            record,
            event: None,
        };
    };
    let event = if raw.get().starts_with('"') {
        *owned = serde_json::from_str::<String>(raw.get()).ok();
        owned.as_deref().and_then(parse_object)
    } else {
        parse_object(raw.get())
    };
    Doc { record, event }
}

/// Whether the first event in `head` is recognised by `recognise` (given the record and the
/// event inside it).
pub(crate) fn sniff_first(
    head: &[u8],
    mapping: &dyn EventMapping,
    recognise: impl Fn(&Doc<'_>) -> bool,
) -> bool {
    let Some((_, bytes)) = first_event(head) else {
        return false;
    };
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let Some(record) = parse_object(text) else {
        return false;
    };
    let mut owned = None;
    recognise(&doc(mapping, record, &mut owned))
}

/// A value converted to `ty`; null when its shape does not fit.
pub(crate) fn scalar<'a>(raw: &'a RawValue, ty: KqlType) -> Scalar<'a> {
    let s = raw.get();
    if s == "null" {
        return Scalar::Null;
    }
    let number = s.starts_with(|c: char| c == '-' || c.is_ascii_digit());
    match ty {
        KqlType::Dynamic => Scalar::Str(compact(s)),
        KqlType::DateTime if number => match s.parse::<f64>() {
            // Epoch milliseconds (CloudWatch, 13 digits) or seconds (Zeek, Suricata stats).
            Ok(v) if v.abs() >= 1e11 => Scalar::Nanos((v * 1e6) as i64),
            Ok(v) => Scalar::Nanos((v * 1e9) as i64),
            Err(_) => Scalar::Null,
        },
        KqlType::Int | KqlType::Long if number && s.contains(['.', 'e', 'E']) => {
            match s.parse::<f64>() {
                // GuardDuty writes severities as 8.0: whole numbers in int columns.
                Ok(v) if v.fract() == 0.0 && v.abs() < 9.0e18 => Scalar::Int(v as i64),
                _ => Scalar::Null,
            }
        }
        _ => convert(text(raw), ty).unwrap_or(Scalar::Null),
    }
}

/// Turns records into rows of one table through a mapping.
struct EventDecoder {
    mapping: &'static dyn EventMapping,
    table: String,
    sources: Vec<(Src, KqlType)>,
}

impl RowDecoder for EventDecoder {
    fn decode(
        &mut self,
        record: &[u8],
        _position: Position,
        batcher: &mut Batcher,
    ) -> Result<(), String> {
        let text = std::str::from_utf8(record)
            .map_err(|e| format!("the record is not UTF-8 text ({e})"))?;
        let object: Entries<'_> = serde_json::from_str(text)
            .map_err(|e| format!("the record is not a JSON object: {e}"))?;
        let mut owned = None;
        let doc = doc(self.mapping, object, &mut owned);
        if !self.mapping.fills(&doc, &self.table)? {
            return Ok(());
        }
        let mut values: Vec<Scalar<'_>> = Vec::with_capacity(self.sources.len());
        for (src, ty) in &self.sources {
            values.push(match src {
                Src::Paths(paths) => paths
                    .iter()
                    .filter_map(|p| doc.get(p))
                    .find(|v| v.get() != "null")
                    .map_or(Scalar::Null, |v| scalar(v, *ty)),
                Src::Const(c) => Scalar::Str(Cow::Borrowed(c)),
                Src::Null => Scalar::Null,
                Src::Event => Scalar::Str(compact(text)),
                Src::Derived(f) => f(&doc).map_or(Scalar::Null, |v| Scalar::Str(Cow::Borrowed(v))),
            });
        }
        batcher.push(&values);
        Ok(())
    }
}

enum EventUnits {
    Lines(Lines),
    Array(JsonArray),
    Concatenated(Concatenated),
}

impl Units for EventUnits {
    fn next_unit(&mut self) -> Unit<'_> {
        match self {
            EventUnits::Lines(u) => u.next_unit(),
            EventUnits::Array(u) => u.next_unit(),
            EventUnits::Concatenated(u) => u.next_unit(),
        }
    }
}

/// Opens the records of a file in the layout its head shows.
pub(crate) fn records(
    input: Box<dyn BufRead + Send>,
    file: &Path,
) -> Result<Box<dyn Units>, SourceError> {
    let mut w = Window::new(input);
    while !w.eof && w.end - w.start < SNIFF_BYTES {
        w.fill().map_err(|source| SourceError::Read {
            path: file.to_path_buf(),
            position: Position::Byte(0),
            source,
        })?;
    }
    let layout = first_event(&w.buf[w.start..w.end]).map_or(Layout::Lines, |(l, _)| l);
    Ok(Box::new(match layout {
        Layout::Lines => EventUnits::Lines(Lines::from_window(w)),
        Layout::Array => EventUnits::Array(JsonArray::new(w, None)),
        Layout::Wrapped(key) => EventUnits::Array(JsonArray::new(w, Some(key))),
        Layout::Concatenated => EventUnits::Concatenated(Concatenated::new(w)),
    }))
}

impl Units for Box<dyn Units> {
    fn next_unit(&mut self) -> Unit<'_> {
        (**self).next_unit()
    }
}

/// A JSON event format: what it is called and describes, the tables it fills, how it maps
/// events, and the test its first event must pass.
pub struct EventFormat {
    pub(crate) name: &'static str,
    pub(crate) description: &'static str,
    pub(crate) tables: &'static [&'static str],
    pub(crate) mapping: &'static dyn EventMapping,
    pub(crate) recognise: fn(&Doc<'_>) -> bool,
    /// The tables of one file, when they depend on its records (see [`Format::tables_in`]).
    pub(crate) tables_in: Option<TablesIn>,
}

/// Finds the tables of one file from its head and path.
pub(crate) type TablesIn = fn(&[u8], &Path) -> Vec<&'static str>;

impl Format for EventFormat {
    fn name(&self) -> &'static str {
        self.name
    }

    fn description(&self) -> &'static str {
        self.description
    }

    fn tables(&self) -> &'static [&'static str] {
        self.tables
    }

    fn tables_in(&self, head: &[u8], path: &Path) -> Vec<&'static str> {
        match self.tables_in {
            Some(find) => find(head, path),
            None => self.tables.to_vec(),
        }
    }

    fn sniff(&self, head: &[u8]) -> bool {
        sniff_first(head, self.mapping, self.recognise)
    }

    fn splittable(&self, head: &[u8]) -> bool {
        matches!(first_event(head), Some((Layout::Lines, _)))
    }

    fn decode(
        &self,
        input: Box<dyn BufRead + Send>,
        file: &Path,
        table: &TableDef,
        projection: &[usize],
        batch_size: usize,
    ) -> Result<Batches, SourceError> {
        decode(
            self,
            self.mapping,
            input,
            file,
            table,
            projection,
            batch_size,
        )
    }
}

/// Decodes a file of a JSON event format into `table`.
pub(crate) fn decode(
    format: &dyn Format,
    mapping: &'static dyn EventMapping,
    input: Box<dyn BufRead + Send>,
    file: &Path,
    table: &TableDef,
    projection: &[usize],
    batch_size: usize,
) -> Result<Batches, SourceError> {
    check_table(format, table)?;
    let batcher = Batcher::new(table, projection, batch_size)?;
    let sources = projection
        .iter()
        .map(|&i| {
            let column = &table.columns[i];
            (mapping.source(&table.name, &column.name), column.ty)
        })
        .collect();
    let decoder = EventDecoder {
        mapping,
        table: table.name.clone(),
        sources,
    };
    let units = records(input, file)?;
    Ok(Box::new(Decoding::new(units, decoder, batcher, file)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_are_seen_from_the_head() {
        let (l, e) = first_event(b"{\"a\":1}\n{\"a\":2}\n").unwrap();
        assert_eq!((l, e), (Layout::Lines, &b"{\"a\":1}"[..]));
        let (l, e) = first_event(b"[\n  {\n \"a\": 1\n  },\n  {\"a\": 2}]").unwrap();
        assert_eq!((l, e), (Layout::Array, &b"{\n \"a\": 1\n  }"[..]));
        let (l, _) = first_event(b"{\n  \"a\": 1\n}\n{\n  \"a\": 2\n}\n").unwrap();
        assert_eq!(l, Layout::Concatenated);
        let (l, e) = first_event(b"{ \"records\": [ {\"time\": \"x\"} ] }").unwrap();
        assert_eq!(
            (l, e),
            (Layout::Wrapped("records"), &b"{\"time\": \"x\"}"[..])
        );
        // Not events: a scalar array, text, an object cut off by the end of the head.
        assert!(first_event(b"[1, 2]").is_none());
        assert!(first_event(b"hello").is_none());
        assert!(first_event(b"{\"a\": \"unterminated").is_none());
    }

    #[test]
    fn paths_enter_objects_arrays_and_json_text() {
        let record = r#"{"Time":"t","user":{"name":"alice","groups":["a","b"]},"props":{"log":"{\"verb\":\"get\",\"ref\":{\"ns\":\"kube-system\"}}"},"claims":{"http://x.org/upn":"u@x"}}"#;
        let object = parse_object(record).unwrap();
        let doc = Doc {
            record: object,
            event: None,
        };
        assert_eq!(doc.text("user.name").as_deref(), Some("alice"));
        assert_eq!(doc.text("USER.Name").as_deref(), Some("alice"));
        assert_eq!(doc.text("user.groups.1").as_deref(), Some("b"));
        assert_eq!(
            doc.text("claims.[http://x.org/upn]").as_deref(),
            Some("u@x")
        );
        assert_eq!(doc.text("time").as_deref(), Some("t"));
        assert_eq!(doc.text("user.missing"), None);
        // A path through a string holding JSON goes on inside it.
        struct Inner;
        impl EventMapping for Inner {
            fn inner(&self, _: &Entries<'_>) -> Option<&'static str> {
                Some("props.log")
            }
            fn source(&self, _: &str, _: &str) -> Src {
                Src::Null
            }
        }
        let mut owned = None;
        let doc = super::doc(&Inner, parse_object(record).unwrap(), &mut owned);
        assert_eq!(doc.text("verb").as_deref(), Some("get"));
        assert_eq!(doc.text("ref.ns").as_deref(), Some("kube-system"));
        assert_eq!(doc.text("^user.name").as_deref(), Some("alice"));
    }

    #[test]
    fn values_convert_to_the_column_type() {
        let raw = |s: &str| serde_json::from_str::<Box<RawValue>>(s).unwrap();
        let v = raw("8.0");
        assert_eq!(scalar(&v, KqlType::Int), Scalar::Int(8));
        let v = raw("8.5");
        assert_eq!(scalar(&v, KqlType::Int), Scalar::Null);
        let v = raw("1722587004.5");
        assert_eq!(
            scalar(&v, KqlType::DateTime),
            Scalar::Nanos(1_722_587_004_500_000_000)
        );
        let v = raw("1722587004500");
        assert_eq!(
            scalar(&v, KqlType::DateTime),
            Scalar::Nanos(1_722_587_004_500_000_000)
        );
        let v = raw("{ \"a\": [1, 2] }");
        assert_eq!(
            scalar(&v, KqlType::Dynamic),
            Scalar::Str(Cow::Borrowed("{ \"a\": [1, 2] }"))
        );
        let v = raw("\"x\"");
        assert_eq!(scalar(&v, KqlType::Long), Scalar::Null);
        assert_eq!(scalar(&v, KqlType::String), Scalar::Str(Cow::Borrowed("x")));
    }
}
