//! Zeek logs, in both of the writers' forms:
//!
//! * TSV: `#separator \x09`, `#set_separator`, `#empty_field`, `#unset_field`, `#path`, `#fields`
//!   and `#types` directives, then one record per line (`#close` at the end). Several logs may be
//!   concatenated: each `#fields` directive starts a new layout.
//! * JSON lines: one object per line with `ts` and `uid` or `_path` (`ts` in epoch seconds or
//!   ISO 8601); field names are dotted (`id.orig_h`) or nested (`"id": {"orig_h": ...}`).
//!
//! Fills `Zeek_conn`, `Zeek_dns` and `Zeek_http` (columns named after Zeek's fields, `.` → `_`)
//! with the records of those logs, and `Zeek` with every record of every log (ssl, files, x509,
//! notice, weird...: none is dropped), its fields as a JSON object. The log of a record is `#path`
//! in TSV, `_path` in JSON, else found from its fields (conn has `conn_state`, dns `query` and
//! `qtype`, http `method` and `host`). In TSV, `-` (unset) is null and `(empty)` an empty
//! set or string; sets and vectors (`a,b`) become JSON arrays. Values keep Zeek's `\xHH` escapes.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use serde_json::{Map, Value};
use spoor_catalog::{KqlType, TableDef};

use crate::batch::{Batcher, Decoding, RowDecoder, Scalar, convert, parse_time};
use crate::lines::Lines;
use crate::{Batches, Format, Position, SNIFF_BYTES, SourceError, check_table};

/// The Zeek log format (TSV and JSON lines).
pub struct Zeek;

pub const ZEEK: &str = "Zeek";
pub const ZEEK_CONN: &str = "Zeek_conn";
pub const ZEEK_DNS: &str = "Zeek_dns";
pub const ZEEK_HTTP: &str = "Zeek_http";

/// Logs with a table of their own: (path, table).
const PATH_TABLES: &[(&str, &str)] = &[("conn", ZEEK_CONN), ("dns", ZEEK_DNS), ("http", ZEEK_HTTP)];

fn table_of_path(path: &str) -> Option<&'static str> {
    PATH_TABLES.iter().find(|p| p.0 == path).map(|p| p.1)
}

/// The log a JSON record without `_path` is from, by the fields only that log has.
fn path_from_fields(has: impl Fn(&str) -> bool) -> Option<&'static str> {
    if has("conn_state") {
        Some("conn")
    } else if has("query") && (has("qtype") || has("qtype_name")) {
        Some("dns")
    } else if has("method") && has("host") {
        Some("http")
    } else {
        None
    }
}

/// The log of a JSON record.
fn json_path(record: &Map<String, Value>) -> Option<Cow<'_, str>> {
    match record.get("_path") {
        Some(Value::String(p)) => Some(Cow::Borrowed(p)),
        _ => path_from_fields(|k| record.contains_key(k)).map(Cow::Borrowed),
    }
}

/// A JSON line that is a Zeek record: an object with `ts` and `uid` or `_path`.
fn zeek_json(line: &str) -> Option<Map<String, Value>> {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(m))
            if m.contains_key("ts") && (m.contains_key("uid") || m.contains_key("_path")) =>
        {
            Some(m)
        }
        _ => None,
    }
}

/// Epoch seconds as Zeek writes them (`1722587004.123456`) to nanoseconds, without the rounding
/// of a float.
fn epoch_nanos(s: &str) -> Option<i64> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    if secs.is_empty() || !secs.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut nanos: i64 = 0;
    for i in 0..9 {
        nanos = nanos * 10 + frac.as_bytes().get(i).map_or(0, |c| i64::from(c - b'0'));
    }
    secs.parse::<i64>()
        .ok()?
        .checked_mul(1_000_000_000)?
        .checked_add(nanos)
}

/// A `ts` value: epoch seconds, or an ISO 8601 time.
fn ts_nanos(s: &str) -> Option<i64> {
    epoch_nanos(s).or_else(|| parse_time(s))
}

/// The length in bytes, and in lines, of a TSV log's header: its leading `#` lines, when the head
/// starts with `#separator` and holds the first record after them.
fn tsv_header_len(head: &[u8]) -> Option<(u64, u64)> {
    if !head.starts_with(b"#separator") {
        return None;
    }
    let mut at = 0usize;
    let mut lines = 0u64;
    while head.get(at) == Some(&b'#') {
        let end = memchr::memchr(b'\n', &head[at..])?;
        at += end + 1;
        lines += 1;
    }
    (at < head.len()).then_some((at as u64, lines))
}

/// Every `#` line of a file with its line number, and the number of its last line: from the head
/// when it holds the whole file, else a scan of the file that looks at line starts only.
fn directives(head: &[u8], path: &Path) -> (Vec<(u64, String)>, u64) {
    let mut out = Vec::new();
    let mut last = 0;
    let input: Box<dyn BufRead + Send> = if head.len() < SNIFF_BYTES {
        Box::new(std::io::Cursor::new(head.to_vec()))
    } else {
        match crate::open_path(path) {
            Ok((input, _)) => input,
            Err(_) => return (out, last),
        }
    };
    let mut units = Lines::new(input);
    loop {
        match crate::batch::Units::next_unit(&mut units) {
            crate::batch::Unit::Record(Position::Line(n), bytes) => {
                last = n;
                if bytes.first() == Some(&b'#') {
                    out.push((n, String::from_utf8_lossy(bytes).into_owned()));
                }
            }
            crate::batch::Unit::Record(..) | crate::batch::Unit::Lost { fatal: false, .. } => {}
            _ => return (out, last),
        }
    }
}

fn text_lines(head: &[u8]) -> Vec<String> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let text = String::from_utf8_lossy(head);
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    // The last line may be cut by the end of the head.
    if lines.len() > 1 && !text.ends_with('\n') {
        lines.pop();
    }
    lines
}

impl Format for Zeek {
    fn name(&self) -> &'static str {
        "zeek"
    }

    fn description(&self) -> &'static str {
        "Zeek logs in TSV (#separator/#fields/#types headers) and JSON lines (ts, uid or _path)"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[ZEEK_CONN, ZEEK_DNS, ZEEK_HTTP, ZEEK]
    }

    fn sniff(&self, head: &[u8]) -> bool {
        let lines = text_lines(head);
        let Some(first) = lines.first() else {
            return false;
        };
        if first.starts_with("#separator") {
            return lines.iter().any(|l| l.starts_with("#fields"));
        }
        // JSON lines: the first is a Zeek record, and two thirds of the first ten (a damaged line
        // is allowed).
        let sample = &lines[..lines.len().min(10)];
        let good = sample.iter().filter(|l| zeek_json(l).is_some()).count();
        zeek_json(first).is_some() && good * 3 >= sample.len() * 2
    }

    /// The tables of the logs the file holds (a TSV file longer than its head is scanned for its
    /// `#path` lines), and `Zeek` (every record).
    fn tables_in(&self, head: &[u8], path: &Path) -> Vec<&'static str> {
        let mut tables = Vec::new();
        let mut lines = text_lines(head);
        if head.len() >= SNIFF_BYTES && tsv_header_len(head).is_some() {
            lines.extend(directives(head, path).0.into_iter().map(|(_, l)| l));
        }
        for line in lines {
            let table = if let Some(path) = line.strip_prefix("#path") {
                table_of_path(path.trim())
            } else if line.starts_with('{') {
                zeek_json(&line)
                    .as_ref()
                    .and_then(json_path)
                    .and_then(|p| table_of_path(&p))
            } else {
                None
            };
            if let Some(t) = table
                && !tables.contains(&t)
            {
                tables.push(t);
            }
        }
        tables.sort_by_key(|t| self.tables().iter().position(|x| x == t));
        tables.push(ZEEK);
        tables
    }

    /// A TSV log can be read in byte ranges after its header when no other directive follows it
    /// (a second log in the file would change the layout), but a `#close` on the last line.
    fn split_header(&self, head: &[u8], path: &Path) -> Option<u64> {
        let (header, header_lines) = tsv_header_len(head)?;
        let (directives, last_line) = directives(head, path);
        directives
            .iter()
            .all(|(n, line)| *n <= header_lines || (*n == last_line && line.starts_with("#close")))
            .then_some(header)
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
        let all = table.name == ZEEK;
        let columns: Vec<Column> = projection
            .iter()
            .map(|&i| {
                let c = &table.columns[i];
                let want = match (all, c.name.as_str()) {
                    (_, "TimeGenerated") => Want::Time,
                    (true, "Path") => Want::Path,
                    (true, "Uid") => Want::Field("uid".into()),
                    (true, "Fields") => Want::Record,
                    (true, _) => Want::Null,
                    (false, name) => Want::Field(name.into()),
                };
                Column { want, ty: c.ty }
            })
            .collect();
        let by_name = columns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match &c.want {
                Want::Field(f) => Some((f.clone(), i)),
                _ => None,
            })
            .collect();
        let path = PATH_TABLES.iter().find(|p| p.1 == table.name).map(|p| p.0);
        let decoder = ZeekDecoder {
            columns,
            by_name,
            path,
            tsv: TsvState::default(),
        };
        Ok(Box::new(Decoding::new(
            Lines::new(input),
            decoder,
            batcher,
            file,
        )))
    }
}

#[derive(Debug, Clone)]
enum Want {
    Time,
    /// The Zeek field whose name, with `.` → `_`, is this.
    Field(String),
    Path,
    /// The whole record as JSON.
    Record,
    Null,
}

struct Column {
    want: Want,
    ty: KqlType,
}

/// What the TSV directives so far declared.
struct TsvState {
    separator: String,
    set_separator: String,
    empty: String,
    unset: String,
    path: Option<String>,
    layout: Option<Layout>,
}

impl Default for TsvState {
    fn default() -> Self {
        TsvState {
            separator: "\t".into(),
            set_separator: ",".into(),
            empty: "(empty)".into(),
            unset: "-".into(),
            path: None,
            layout: None,
        }
    }
}

/// The fields one `#fields` directive names, and their `#types`.
struct Layout {
    names: Vec<String>,
    types: Vec<String>,
    /// For each field, the projected column it fills.
    columns: Vec<Option<usize>>,
    line: u64,
}

struct ZeekDecoder {
    columns: Vec<Column>,
    /// Field name (`.` → `_`) → projected column.
    by_name: HashMap<String, usize>,
    /// The log this table holds; `None` for `Zeek` (every log).
    path: Option<&'static str>,
    tsv: TsvState,
}

/// `\x09` and the like in a directive's value.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("\\x") {
        out.push_str(&rest[..i]);
        match rest
            .get(i + 2..i + 4)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            Some(b) => {
                out.push(char::from(b));
                rest = &rest[i + 4..];
            }
            None => {
                out.push_str("\\x");
                rest = &rest[i + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether a Zeek type is a number in JSON.
fn is_numeric_type(ty: &str) -> bool {
    matches!(
        ty,
        "count" | "int" | "double" | "time" | "interval" | "port"
    )
}

/// A TSV value as JSON under its Zeek type.
fn tsv_json(text: &str, ty: &str, state: &TsvState) -> Value {
    if let Some(inner) = ty
        .strip_prefix("set[")
        .or_else(|| ty.strip_prefix("vector["))
        .and_then(|t| t.strip_suffix(']'))
    {
        if text == state.empty {
            return Value::Array(Vec::new());
        }
        return Value::Array(
            text.split(state.set_separator.as_str())
                .map(|e| {
                    if e == state.unset {
                        Value::Null
                    } else {
                        tsv_json(e, inner, state)
                    }
                })
                .collect(),
        );
    }
    if text == state.empty && !is_numeric_type(ty) {
        return Value::String(String::new());
    }
    match ty {
        "bool" => match text {
            "T" => Value::Bool(true),
            "F" => Value::Bool(false),
            _ => Value::String(text.into()),
        },
        _ if is_numeric_type(ty) => text
            .parse::<serde_json::Number>()
            .map_or_else(|_| Value::String(text.into()), Value::Number),
        _ => Value::String(text.into()),
    }
}

/// A JSON value into a column of type `ty`.
fn json_scalar(v: &Value, ty: KqlType) -> Result<Scalar<'_>, String> {
    match (v, ty) {
        (Value::Null, _) => Ok(Scalar::Null),
        (Value::Bool(b), KqlType::Bool) => Ok(Scalar::Bool(*b)),
        (Value::String(s), KqlType::Bool) if s == "T" || s == "F" => Ok(Scalar::Bool(s == "T")),
        (Value::String(s), _) => convert(Cow::Borrowed(s), ty),
        (Value::Array(_) | Value::Object(_), KqlType::String | KqlType::Dynamic) => {
            Ok(Scalar::Str(Cow::Owned(v.to_string())))
        }
        (Value::Array(_) | Value::Object(_), _) => {
            Err(format!("expected a single value, found {v}"))
        }
        (Value::Bool(_) | Value::Number(_), _) => convert(Cow::Owned(v.to_string()), ty),
    }
}

/// Adds `value` under `key` with nested objects flattened to dotted names (`id.orig_h`).
fn flatten(prefix: &str, value: Value, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(m) => {
            for (k, v) in m {
                flatten(&format!("{prefix}{k}."), v, out);
            }
        }
        v => out.push((prefix.trim_end_matches('.').to_string(), v)),
    }
}

impl ZeekDecoder {
    fn directive(&mut self, line: &str, line_no: u64) {
        let (name, value) = match line.split_once(self.tsv.separator.as_str()) {
            Some((n, v)) => (n, v),
            // `#separator \x09` is written with a space, before the separator is known.
            None => line.split_once(' ').unwrap_or((line, "")),
        };
        match name {
            "#separator" => self.tsv.separator = unescape(value.trim()),
            "#set_separator" => self.tsv.set_separator = unescape(value),
            "#empty_field" => self.tsv.empty = value.to_string(),
            "#unset_field" => self.tsv.unset = value.to_string(),
            "#path" => {
                self.tsv.path = Some(value.to_string());
                self.tsv.layout = None;
            }
            "#fields" => {
                let names: Vec<String> = value
                    .split(self.tsv.separator.as_str())
                    .map(str::to_string)
                    .collect();
                let columns = names
                    .iter()
                    .map(|n| self.by_name.get(&n.replace('.', "_")).copied())
                    .collect();
                self.tsv.layout = Some(Layout {
                    types: Vec::new(),
                    names,
                    columns,
                    line: line_no,
                });
            }
            "#types" => {
                if let Some(l) = &mut self.tsv.layout {
                    l.types = value
                        .split(self.tsv.separator.as_str())
                        .map(str::to_string)
                        .collect();
                }
            }
            _ => {} // #open, #close and comments
        }
    }

    fn tsv_record(&mut self, line: &str, batcher: &mut Batcher) -> Result<(), String> {
        let state = &self.tsv;
        let Some(layout) = &state.layout else {
            return Err(
                "a record before any #fields directive; a Zeek TSV log names its fields in a \
                 `#fields` line"
                    .into(),
            );
        };
        let path = state.path.as_deref();
        if self.path.is_some() && self.path != path {
            return Ok(()); // a record of another log, for another table
        }
        // A one-character separator (always a tab in practice) splits by char, which searches
        // with memchr; a longer one needs the substring searcher, several times slower.
        let mut values: Vec<&str> = Vec::with_capacity(layout.names.len());
        let mut one = state.separator.chars();
        match (one.next(), one.next()) {
            (Some(c), None) => values.extend(line.split(c)),
            _ => values.extend(line.split(state.separator.as_str())),
        }
        if values.len() != layout.names.len() {
            return Err(format!(
                "expected {} fields (#fields at line {}), found {}",
                layout.names.len(),
                layout.line,
                values.len()
            ));
        }
        let ty = |i: usize| layout.types.get(i).map_or("string", String::as_str);
        let ts = layout.names.iter().position(|n| n == "ts");
        let time = match ts.map(|i| values[i]) {
            Some(t) if t != state.unset => {
                Some(ts_nanos(t).ok_or_else(|| format!("field ts: expected a time, found {t:?}"))?)
            }
            _ => None,
        };
        let mut row: Vec<Scalar<'_>> = vec![Scalar::Null; self.columns.len()];
        for (i, c) in self.columns.iter().enumerate() {
            row[i] = match &c.want {
                Want::Time => time.map_or(Scalar::Null, Scalar::Nanos),
                Want::Path => path.map_or(Scalar::Null, |p| Scalar::Str(Cow::Owned(p.into()))),
                Want::Record => {
                    let mut record = Map::new();
                    for (n, (name, v)) in layout.names.iter().zip(&values).enumerate() {
                        // Unset fields are left out, as Zeek's JSON writer does.
                        if *v != state.unset {
                            record.insert(name.clone(), tsv_json(v, ty(n), state));
                        }
                    }
                    Scalar::Str(Cow::Owned(Value::Object(record).to_string()))
                }
                Want::Field(_) | Want::Null => Scalar::Null,
            };
        }
        for (n, v) in values.iter().enumerate() {
            let Some(col) = layout.columns[n] else {
                continue;
            };
            if *v == state.unset {
                continue;
            }
            let ty_n = ty(n);
            let container = ty_n.starts_with("set[") || ty_n.starts_with("vector[");
            if self.columns[col].ty == KqlType::String && ty_n != "bool" && !container {
                // Text as logged, borrowed (what tsv_json would give, without building a JSON
                // value per field): the empty-field marker of a text field is "".
                let empty = *v == state.empty && !is_numeric_type(ty_n);
                row[col] = Scalar::Str(Cow::Borrowed(if empty { "" } else { v }));
                continue;
            }
            let value = tsv_json(v, ty_n, state);
            row[col] = match (value, self.columns[col].ty) {
                // Text columns keep numbers as logged (`1.250000`, not `1.25`).
                (Value::Number(_), KqlType::String) => Scalar::Str(Cow::Owned((*v).to_string())),
                (Value::String(s), KqlType::String) => Scalar::Str(Cow::Owned(s)),
                (value, ty) => json_scalar(&value, ty)
                    .map_err(|e| format!("field {}: {e}", layout.names[n]))?
                    .into_owned(),
            };
        }
        batcher.push(&row);
        Ok(())
    }

    fn json_record(&mut self, line: &str, batcher: &mut Batcher) -> Result<(), String> {
        let record = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err("expected a JSON object (a Zeek record)".into()),
            Err(e) => return Err(format!("not JSON: {e}")),
        };
        let path = json_path(&record).map(Cow::into_owned);
        if self.path.is_some() && self.path != path.as_deref() {
            return Ok(()); // a record of another log, for another table
        }
        let time = match record.get("ts") {
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        }
        .ok_or("no ts field: a Zeek record has its time in `ts`")?;
        let nanos =
            ts_nanos(&time).ok_or_else(|| format!("field ts: expected a time, found {time:?}"))?;
        let mut row: Vec<Scalar<'_>> = vec![Scalar::Null; self.columns.len()];
        for (i, c) in self.columns.iter().enumerate() {
            row[i] = match &c.want {
                Want::Time => Scalar::Nanos(nanos),
                Want::Path => path
                    .as_ref()
                    .map_or(Scalar::Null, |p| Scalar::Str(Cow::Owned(p.clone()))),
                Want::Record => Scalar::Str(Cow::Owned(line.trim().to_string())),
                Want::Field(_) | Want::Null => Scalar::Null,
            };
        }
        let mut fields = Vec::with_capacity(record.len());
        for (k, v) in record {
            flatten(&format!("{k}."), v, &mut fields);
        }
        for (name, value) in &fields {
            let Some(&col) = self.by_name.get(&name.replace('.', "_")) else {
                continue;
            };
            let ty = self.columns[col].ty;
            row[col] = match (value, ty) {
                (Value::String(s), KqlType::String) => Scalar::Str(Cow::Owned(s.clone())),
                _ => json_scalar(value, ty)
                    .map_err(|e| format!("field {name}: {e}"))?
                    .into_owned(),
            };
        }
        batcher.push(&row);
        Ok(())
    }
}

impl RowDecoder for ZeekDecoder {
    fn decode(
        &mut self,
        record: &[u8],
        position: Position,
        batcher: &mut Batcher,
    ) -> Result<(), String> {
        let line = String::from_utf8_lossy(record);
        let line_no = match position {
            Position::Line(n) => n,
            _ => 0,
        };
        if line.starts_with('#') {
            self.directive(&line, line_no);
            return Ok(());
        }
        if line.trim_start().starts_with('{') {
            self.json_record(&line, batcher)
        } else {
            self.tsv_record(&line, batcher)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        Array, BooleanArray, Float64Array, Int32Array, Int64Array, StringArray,
        TimestampNanosecondArray,
    };

    const CONN_TSV: &str = "#separator \\x09
#set_separator\t,
#empty_field\t(empty)
#unset_field\t-
#path\tconn
#open\t2024-08-02-08-00-00
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]
1722585600.123456\tCHhAvVGS1DHFjwGM9\t10.0.0.5\t49152\t93.184.216.34\t443\ttcp\tssl\t1.250000\t517\t4312\tSF\tT\tF\t0\tShADadFf\t9\t893\t8\t4744\t(empty)
1722585601.000000\tC4J4Th3PJpwUYZZ6gc\t10.0.0.5\t53124\t10.0.0.1\t53\tudp\tdns\t-\t-\t-\tS0\tT\tT\t0\tD\t1\t61\t0\t0\tCx1,Cx2
1722585602.000000\tCbad
#close\t2024-08-02-09-00-00
";

    fn run(
        input: &str,
        table: &str,
        columns: &[&str],
    ) -> (Vec<arrow::record_batch::RecordBatch>, Vec<String>) {
        crate::testing::decode_text(&Zeek, input, "conn.log", table, columns, 100)
    }

    #[test]
    fn sniffs_zeek_tsv_and_json_only() {
        assert!(Zeek.sniff(CONN_TSV.as_bytes()));
        assert!(Zeek.sniff(
            br#"{"ts":1722585600.1,"uid":"C1","id.orig_h":"10.0.0.5","conn_state":"SF"}
{"ts":"2024-08-02T08:00:00.000000Z","_path":"weird","name":"bad_TCP_checksum"}
"#
        ));
        for other in [
            &br#"{"Records":[{"eventTime":"2024-08-02T08:23:24Z","eventName":"StopLogging"}]}"#[..],
            br#"{"TimeGenerated":"2022-03-31T10:52:35Z","Computer":"c","Type":"Syslog"}"#,
            b"#Software: Microsoft Internet Information Services 10.0\n#Fields: date time cs-method\n",
            b"Oct 10 13:55:36 web1 sshd[812]: Failed password for root from 203.0.113.7 port 22 ssh2\n",
            b"#separator \\x09\n",
        ] {
            assert!(!Zeek.sniff(other), "{}", String::from_utf8_lossy(other));
        }
    }

    #[test]
    fn tables_follow_the_paths_in_the_head() {
        let p = Path::new("x.log");
        assert_eq!(
            Zeek.tables_in(CONN_TSV.as_bytes(), p),
            vec![ZEEK_CONN, ZEEK]
        );
        let json = br#"{"ts":1.0,"uid":"C1","query":"example.com","qtype":1}
{"ts":1.0,"uid":"C2","method":"GET","host":"example.com"}
{"ts":1.0,"_path":"ssl","uid":"C3"}
"#;
        assert_eq!(Zeek.tables_in(json, p), vec![ZEEK_DNS, ZEEK_HTTP, ZEEK]);
    }

    #[test]
    fn tsv_records_into_the_conn_table() {
        let (batches, bad) = run(
            CONN_TSV,
            ZEEK_CONN,
            &[
                "TimeGenerated",
                "uid",
                "id_orig_p",
                "duration",
                "orig_bytes",
                "local_resp",
                "tunnel_parents",
                "ts",
            ],
        );
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(
            bad[0].contains("line 11: expected 21 fields (#fields at line 7), found 2"),
            "{bad:?}"
        );
        let b = &batches[0];
        assert_eq!(b.num_rows(), 2);
        let t = b
            .column(0)
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .unwrap();
        assert_eq!(t.value(0), 1_722_585_600_123_456_000);
        let s = |c: usize| b.column(c).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(s(1).value(1), "C4J4Th3PJpwUYZZ6gc");
        let port = b.column(2).as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(port.value(0), 49152);
        let dur = b.column(3).as_any().downcast_ref::<Float64Array>().unwrap();
        assert_eq!(dur.value(0), 1.25);
        assert!(dur.is_null(1));
        let bytes = b.column(4).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(bytes.value(0), 517);
        let local = b.column(5).as_any().downcast_ref::<BooleanArray>().unwrap();
        assert!(!local.value(0) && local.value(1));
        assert_eq!(s(6).value(0), "[]");
        assert_eq!(s(6).value(1), r#"["Cx1","Cx2"]"#);
        assert_eq!(s(7).value(0), "1722585600.123456");
    }

    #[test]
    fn every_record_goes_to_the_catch_all_table() {
        let input = format!(
            "{CONN_TSV}{}",
            r#"{"ts":"2024-08-02T08:00:03.500000Z","_path":"weird","uid":"C9","name":"bad_TCP_checksum","id":{"orig_h":"10.0.0.9"}}
{"ts":1722585604.25,"uid":"C10","id.orig_h":"10.0.0.5","id.orig_p":5353,"query":"printer.local","qtype":12,"AA":false,"answers":["a","b"],"TTLs":[120.0,120.0]}
{"ts":1722585605,"uid":"C11"
"#
        );
        let (batches, bad) = run(&input, ZEEK, &["TimeGenerated", "Path", "Uid", "Fields"]);
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert!(bad[1].contains("line 15: not JSON"), "{bad:?}");
        let b = &batches[0];
        assert_eq!(b.num_rows(), 4);
        let s = |c: usize| b.column(c).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(
            (s(1).value(0), s(1).value(2), s(1).value(3)),
            ("conn", "weird", "dns")
        );
        assert_eq!(s(2).value(2), "C9");
        let fields: Value = serde_json::from_str(s(3).value(0)).unwrap();
        assert_eq!(fields["id.orig_p"], Value::from(49152));
        assert_eq!(fields["local_orig"], Value::Bool(true));
        assert_eq!(fields["tunnel_parents"], Value::Array(Vec::new()));
        let fields: Value = serde_json::from_str(s(3).value(1)).unwrap();
        assert!(
            fields.get("duration").is_none(),
            "unset fields are left out"
        );
        let t = b
            .column(0)
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .unwrap();
        assert_eq!(t.value(2), parse_time("2024-08-02T08:00:03.5Z").unwrap());
        assert_eq!(t.value(3), 1_722_585_604_250_000_000);

        // The dns table takes only the dns record, nested or dotted names alike.
        let (batches, bad) = run(
            &input,
            ZEEK_DNS,
            &[
                "query",
                "qtype",
                "AA",
                "answers",
                "TTLs",
                "id_orig_h",
                "id_orig_p",
            ],
        );
        assert_eq!(bad.len(), 1, "the cut JSON line: {bad:?}");
        let b = &batches[0];
        assert_eq!(b.num_rows(), 1);
        let s = |c: usize| b.column(c).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(s(0).value(0), "printer.local");
        let qtype = b.column(1).as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(qtype.value(0), 12);
        let aa = b.column(2).as_any().downcast_ref::<BooleanArray>().unwrap();
        assert!(!aa.value(0));
        assert_eq!(s(3).value(0), r#"["a","b"]"#);
        assert_eq!(s(4).value(0), "[120.0,120.0]");
        assert_eq!(s(5).value(0), "10.0.0.5");
    }

    #[test]
    fn empty_and_unset_values() {
        let input = "#separator \\x09\n#path\thttp\n#fields\tts\tuid\tmethod\tuser_agent\ttags\tstatus_code\n\
                     #types\ttime\tstring\tstring\tstring\tset[enum]\tcount\n\
                     1722585600.5\tC1\tGET\t(empty)\t(empty)\t-\n";
        let (batches, bad) = run(
            input,
            ZEEK_HTTP,
            &["method", "user_agent", "tags", "status_code"],
        );
        assert!(bad.is_empty(), "{bad:?}");
        let b = &batches[0];
        let s = |c: usize| b.column(c).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(
            (s(0).value(0), s(1).value(0), s(2).value(0)),
            ("GET", "", "[]")
        );
        assert!(b.column(3).is_null(0));
    }

    #[test]
    fn epoch_times_keep_their_microseconds() {
        assert_eq!(
            epoch_nanos("1722585600.000001"),
            Some(1_722_585_600_000_001_000)
        );
        assert_eq!(epoch_nanos("1722585600"), Some(1_722_585_600_000_000_000));
        assert_eq!(epoch_nanos("-"), None);
        assert_eq!(epoch_nanos("12a"), None);
    }
}
