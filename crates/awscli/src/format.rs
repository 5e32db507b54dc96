//! The AWS CLI's output formats, reimplemented: `json` (indented by 4), `text` (tab-separated
//! lines) and `table` (the boxed table titled with the operation's name). Each follows the CLI's
//! documented layout and its formatter's rules (awscli/formatter.py, table.py, text.py), so that
//! a playbook's `--output table` prints here what it prints there.
//! <https://docs.aws.amazon.com/cli/latest/userguide/cli-usage-output-format.html>

use std::io::{self, Write};

use serde_json::Value;

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Json,
    Table,
    Text,
}

/// The width the CLI assumes when standard output is not a terminal: tables wider than this
/// turn their one-row sections on their side.
pub const DEFAULT_WIDTH: usize = 80;

/// Writes `value` (the response, after `--query`) in `output`; `operation` titles a table.
pub fn write(
    out: &mut dyn Write,
    value: &Value,
    output: Output,
    operation: &str,
    width: usize,
) -> io::Result<()> {
    match output {
        Output::Json => write_json(out, value),
        Output::Text => write_text(out, value),
        Output::Table => write_table(out, value, operation, width),
    }
}

/// JSON as Python's `json.dump(indent=4, ensure_ascii=False)` writes it. An empty object is not
/// printed (the CLI's rule for operations without a body); other values, `null` and `[]`
/// included, are.
pub fn write_json(out: &mut dyn Write, value: &Value) -> io::Result<()> {
    if value.as_object().is_some_and(|m| m.is_empty()) {
        return Ok(());
    }
    let mut ser = serde_json::Serializer::with_formatter(
        &mut *out,
        serde_json::ser::PrettyFormatter::with_indent(b"    "),
    );
    serde::Serialize::serialize(value, &mut ser).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

/// A scalar as Python's `str()` writes it: `True`, `None`, strings as they are.
fn py_str(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

// ---------------------------------------------------------------------------------------------
// text

/// The text format: a dict's scalar values on one tab-separated line (sorted by key) headed by
/// the upper-cased name it was found under, then its lists and dicts the same way; a list of
/// scalars on one line.
pub fn write_text(out: &mut dyn Write, value: &Value) -> io::Result<()> {
    text_item(out, value, None, None)
}

fn text_item(
    out: &mut dyn Write,
    item: &Value,
    identifier: Option<&str>,
    scalar_keys: Option<&[String]>,
) -> io::Result<()> {
    match item {
        Value::Object(map) => {
            let mut scalars: Vec<String> = Vec::new();
            let mut nested: Vec<(&String, &Value)> = Vec::new();
            match scalar_keys {
                None => {
                    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                    entries.sort_by(|a, b| a.0.cmp(b.0));
                    for (k, v) in entries {
                        if is_scalar(v) {
                            scalars.push(py_str(v));
                        } else {
                            nested.push((k, v));
                        }
                    }
                }
                Some(keys) => {
                    for k in keys {
                        scalars.push(map.get(k).map(py_str).unwrap_or_default());
                    }
                    let mut rest: Vec<(&String, &Value)> =
                        map.iter().filter(|(k, _)| !keys.contains(k)).collect();
                    rest.sort_by(|a, b| a.0.cmp(b.0));
                    nested = rest;
                }
            }
            if !scalars.is_empty() {
                if let Some(id) = identifier {
                    scalars.insert(0, id.to_uppercase());
                }
                writeln!(out, "{}", scalars.join("\t"))?;
            }
            for (k, v) in nested {
                text_item(out, v, Some(k), None)?;
            }
            Ok(())
        }
        Value::Array(items) => {
            if items.is_empty() {
                return Ok(());
            }
            if items.iter().any(Value::is_object) {
                let mut keys: Vec<String> = items
                    .iter()
                    .filter_map(Value::as_object)
                    .flat_map(|m| m.iter().filter(|(_, v)| is_scalar(v)).map(|(k, _)| k))
                    .cloned()
                    .collect();
                keys.sort();
                keys.dedup();
                for item in items {
                    text_item(out, item, identifier, Some(&keys))?;
                }
                Ok(())
            } else if items.iter().any(Value::is_array) {
                let scalars: Vec<Value> = items.iter().filter(|v| is_scalar(v)).cloned().collect();
                if !scalars.is_empty() {
                    text_scalars(out, &scalars, identifier)?;
                }
                for item in items.iter().filter(|v| !is_scalar(v)) {
                    text_item(out, item, identifier, None)?;
                }
                Ok(())
            } else {
                text_scalars(out, items, identifier)
            }
        }
        scalar => writeln!(out, "{}", py_str(scalar)),
    }
}

fn text_scalars(out: &mut dyn Write, items: &[Value], identifier: Option<&str>) -> io::Result<()> {
    match identifier {
        Some(id) => {
            for item in items {
                writeln!(out, "{}\t{}", id.to_uppercase(), py_str(item))?;
            }
            Ok(())
        }
        None => {
            let cells: Vec<String> = items.iter().map(py_str).collect();
            writeln!(out, "{}", cells.join("\t"))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// table

/// One titled block of the table: column titles and rows, indented by its nesting.
#[derive(Debug, Default)]
struct Section {
    title: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    indent: usize,
    columns: Option<usize>,
    max_widths: Vec<usize>,
}

/// Display width; the CLI counts East Asian wide characters as two.
fn text_width(s: &str) -> usize {
    s.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x1F300..=0x1F64F | 0x20000..=0x3FFFD)
}

impl Section {
    fn add_header(&mut self, headers: Vec<String>) {
        self.update_widths(&headers);
        self.columns.get_or_insert(headers.len());
        self.headers = headers;
    }

    fn add_row(&mut self, row: Vec<String>) {
        let n = *self.columns.get_or_insert(row.len());
        // The CLI refuses rows of another length; pad or cut them rather than fail.
        let mut row = row;
        row.resize(n, String::new());
        self.update_widths(&row);
        self.rows.push(row);
    }

    fn update_widths(&mut self, cells: &[String]) {
        if self.max_widths.is_empty() {
            self.max_widths = cells.iter().map(|c| text_width(c)).collect();
        } else {
            for (w, c) in self.max_widths.iter_mut().zip(cells) {
                *w = (*w).max(text_width(c));
            }
        }
    }

    /// Column widths (with `padding` each), scaled to add up to `max_width` when given.
    fn column_widths(&self, padding: usize, max_width: Option<usize>) -> Vec<usize> {
        let unscaled: Vec<usize> = self.max_widths.iter().map(|w| w + padding).collect();
        let Some(max_width) = max_width else {
            return unscaled;
        };
        let total: usize = unscaled.iter().sum();
        if unscaled.is_empty() || total == 0 {
            return unscaled;
        }
        let scale = max_width as f64 / total as f64;
        // Python's round() rounds halves to even.
        let mut scaled: Vec<i64> = unscaled
            .iter()
            .map(|&w| (scale * w as f64).round_ties_even() as i64)
            .collect();
        let mut off_by: i64 = scaled.iter().sum::<i64>() - max_width as i64;
        while off_by != 0 {
            let order: Vec<usize> = if off_by < 0 {
                (0..scaled.len()).rev().collect()
            } else {
                (0..scaled.len()).collect()
            };
            for i in order {
                if off_by > 0 {
                    scaled[i] -= 1;
                    off_by -= 1;
                } else {
                    scaled[i] += 1;
                    off_by += 1;
                }
                if off_by == 0 {
                    break;
                }
            }
        }
        scaled.into_iter().map(|w| w.max(0) as usize).collect()
    }

    fn total_width(&self) -> usize {
        let columns: usize = self.column_widths(0, None).iter().map(|w| w + 4).sum();
        let total = columns + 2 + 2 * self.indent;
        (text_width(&self.title) + 2 + 2 * self.indent).max(total)
    }
}

/// Builds the sections of a table from a value, as the CLI's table formatter does: a dict's
/// scalar values are one row under their keys (sorted), a list of dicts one row each, and
/// nested lists and dicts sections of their own, titled with their key and indented.
#[derive(Default)]
struct TableBuilder {
    sections: Vec<Section>,
}

impl TableBuilder {
    fn current(&mut self) -> &mut Section {
        if self.sections.is_empty() {
            self.sections.push(Section::default());
        }
        self.sections.last_mut().expect("a section")
    }

    fn new_section(&mut self, title: &str, indent: usize) {
        self.sections.push(Section {
            title: title.to_string(),
            indent,
            ..Section::default()
        });
    }

    fn build(&mut self, title: Option<&str>, current: &Value, indent: usize) -> bool {
        if is_falsy(current) {
            return false;
        }
        if let Some(t) = title {
            self.new_section(t, indent);
        }
        match current {
            Value::Array(items) => {
                if items.first().is_some_and(Value::is_object) {
                    self.add_list(items, indent, title);
                } else {
                    for item in items {
                        match item {
                            Value::Array(inner) if inner.iter().all(is_scalar) => {
                                let row = inner.iter().map(py_str).collect();
                                self.current().add_row(row);
                            }
                            // Iterating a dict gives its keys, all scalars.
                            Value::Object(map) => {
                                let row = map.keys().cloned().collect();
                                self.current().add_row(row);
                            }
                            Value::Array(_) => {
                                self.build(None, item, 0);
                            }
                            scalar => self.current().add_row(vec![py_str(scalar)]),
                        }
                    }
                }
            }
            Value::Object(map) => self.add_dict(map, indent),
            _ => {}
        }
        true
    }

    fn add_dict(&mut self, map: &serde_json::Map<String, Value>, indent: usize) {
        let (headers, more) = scalar_keys(map);
        if headers.len() == 1 {
            let row = vec![headers[0].clone(), py_str(&map[&headers[0]])];
            self.current().add_row(row);
        } else if !headers.is_empty() {
            let row = headers.iter().map(|h| py_str(&map[h])).collect();
            self.current().add_header(headers);
            self.current().add_row(row);
        }
        for key in more {
            self.build(Some(&key), &map[&key], indent + 1);
        }
    }

    fn add_list(&mut self, items: &[Value], indent: usize, title: Option<&str>) {
        let mut headers: Vec<String> = Vec::new();
        let mut more: Vec<String> = Vec::new();
        for item in items.iter().filter_map(Value::as_object) {
            let (h, m) = scalar_keys(item);
            headers.extend(h);
            more.extend(m);
        }
        headers.sort();
        headers.dedup();
        more.sort();
        more.dedup();
        self.current().add_header(headers.clone());
        for (i, item) in items.iter().enumerate() {
            let Some(map) = item.as_object() else {
                continue;
            };
            if i > 0 && !more.is_empty() {
                self.new_section(title.unwrap_or_default(), indent);
                self.current().add_header(headers.clone());
            }
            let row = headers
                .iter()
                .map(|h| map.get(h).map(py_str).unwrap_or_default())
                .collect();
            self.current().add_row(row);
            for key in &more {
                if let Some(v) = map.get(key) {
                    self.build(Some(key), v, indent + 1);
                }
            }
        }
    }
}

/// Python's truth: null, false, 0, "", [] and {} are false.
fn is_falsy(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
    }
}

/// A dict's keys with scalar values and the others, each sorted.
fn scalar_keys(map: &serde_json::Map<String, Value>) -> (Vec<String>, Vec<String>) {
    let (mut headers, mut more): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    for (k, v) in map {
        if is_scalar(v) {
            headers.push(k.clone());
        } else {
            more.push(k.clone());
        }
    }
    headers.sort();
    more.sort();
    (headers, more)
}

/// The table format. Nothing is printed for an empty value, as the CLI prints nothing.
pub fn write_table(
    out: &mut dyn Write,
    value: &Value,
    operation: &str,
    terminal_width: usize,
) -> io::Result<()> {
    let mut builder = TableBuilder::default();
    if !builder.build(Some(operation), value, 0) {
        return Ok(());
    }
    let mut sections = builder.sections;
    let widest = |sections: &[Section]| sections.iter().map(Section::total_width).max();
    let mut max_width = widest(&sections).unwrap_or(0);
    if max_width > terminal_width {
        // Too wide: sections of one row become two columns, titles and values.
        for s in sections.iter_mut() {
            if s.rows.len() == 1 && !s.headers.is_empty() {
                let mut vertical = Section {
                    title: s.title.clone(),
                    indent: s.indent,
                    ..Section::default()
                };
                for (h, v) in s.headers.iter().zip(&s.rows[0]) {
                    vertical.add_row(vec![h.clone(), v.clone()]);
                }
                *s = vertical;
            }
        }
        max_width = widest(&sections).unwrap_or(0);
    }
    writeln!(out, "{}", "-".repeat(max_width))?;
    for s in &sections {
        render_section(out, s, max_width)?;
    }
    Ok(())
}

fn render_section(out: &mut dyn Write, s: &Section, max_width: usize) -> io::Result<()> {
    let edge = "|".repeat(s.indent);
    let mut line = |text: &str| writeln!(out, "{edge}{text}{edge}");
    let width = max_width.saturating_sub(2 * s.indent);
    if !s.title.is_empty() {
        line(&center(&s.title, width, "|", "|"))?;
        if s.headers.is_empty() && s.rows.is_empty() {
            line(&format!("+{}+", "-".repeat(width.saturating_sub(2))))?;
        }
    }
    if !s.headers.is_empty() {
        let widths = s.column_widths(4, Some(width));
        let mut titles = String::new();
        for (i, (w, h)) in widths.iter().zip(&s.headers).enumerate() {
            titles.push_str(&center(h, *w, if i == 0 { "|" } else { "" }, "|"));
        }
        line(&line_break(&widths))?;
        line(&titles)?;
    }
    if !s.rows.is_empty() {
        let widths = s.column_widths(4, Some(width));
        if widths.is_empty() {
            return Ok(());
        }
        line(&line_break(&widths))?;
        for row in &s.rows {
            let mut cells = String::new();
            for (i, (w, cell)) in widths.iter().zip(row).enumerate() {
                cells.push_str(&align_left(cell, *w, if i == 0 { "|" } else { "" }, "|"));
            }
            line(&cells)?;
        }
        line(&line_break(&widths))?;
    }
    Ok(())
}

/// `+-----+------+`: the first cell has both corners.
fn line_break(widths: &[usize]) -> String {
    let mut s = String::new();
    for (i, w) in widths.iter().enumerate() {
        if i == 0 {
            s.push_str(&format!("+{}+", "-".repeat(w.saturating_sub(2))));
        } else {
            s.push_str(&format!("{}+", "-".repeat(w.saturating_sub(1))));
        }
    }
    s
}

/// `text` centred in `length` columns between the edges (left of centre when uneven).
fn center(text: &str, length: usize, left: &str, right: &str) -> String {
    let text_len = text_width(text) as i64;
    let start = (length as i64 / 2) - (text_len / 2) - 1;
    let so_far = left.len() as i64 + start + text_len;
    let right_spaces = length as i64 - right.len() as i64 - so_far;
    format!(
        "{left}{}{text}{}{right}",
        " ".repeat(start.max(0) as usize),
        " ".repeat(right_spaces.max(0) as usize)
    )
}

/// `text` after two spaces (none when it does not fit), padded to `length`.
fn align_left(text: &str, length: usize, left: &str, right: &str) -> String {
    let text_len = text_width(text);
    let padding = if length >= text_len + 2 + left.len() + right.len() {
        2
    } else {
        0
    };
    let so_far = left.len() + padding + text_len;
    let fill = length.saturating_sub(so_far + right.len());
    format!(
        "{left}{}{text}{}{right}",
        " ".repeat(padding),
        " ".repeat(fill)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(value: &Value, output: Output) -> String {
        let mut out = Vec::new();
        write(&mut out, value, output, "LookupEvents", DEFAULT_WIDTH).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn table_of_a_list_of_dicts() {
        let value = json!([
            {"EventId": "e2", "EventName": "ListBuckets", "Username": "i-0abc"},
            {"EventId": "e1", "EventName": "ListBuckets", "Username": "alice"}
        ]);
        let expected = "\
----------------------------------------
|             LookupEvents             |
+---------+---------------+------------+
| EventId |   EventName   | Username   |
+---------+---------------+------------+
|  e2     |  ListBuckets  |  i-0abc    |
|  e1     |  ListBuckets  |  alice     |
+---------+---------------+------------+
";
        assert_eq!(render(&value, Output::Table), expected);
    }

    #[test]
    fn table_nests_lists_as_indented_sections() {
        let value = json!({"Events": [{"EventId": "e1", "Resources": [
            {"ResourceType": "AWS::S3::Bucket", "ResourceName": "b"}]}]});
        let expected = "\
-----------------------------------------
|             LookupEvents              |
+---------------------------------------+
||               Events                ||
|+-------------------------------------+|
||               EventId               ||
|+-------------------------------------+|
||  e1                                 ||
|+-------------------------------------+|
|||             Resources             |||
||+---------------+-------------------+||
||| ResourceName  |   ResourceType    |||
||+---------------+-------------------+||
|||  b            |  AWS::S3::Bucket  |||
||+---------------+-------------------+||
";
        assert_eq!(render(&value, Output::Table), expected);
    }

    #[test]
    fn wide_single_rows_turn_on_their_side() {
        let long = "x".repeat(70);
        let value = json!({"A": long, "B": "b"});
        let out = render(&value, Output::Table);
        assert!(out.contains(&format!("|  A|  {long}   |")), "{out}");
        assert!(out.contains("|  B|  b "), "{out}");
    }

    #[test]
    fn empty_values_print_nothing_in_tables_but_do_in_json() {
        assert_eq!(render(&json!([]), Output::Table), "");
        assert_eq!(render(&json!([]), Output::Json), "[]\n");
        assert_eq!(render(&json!({}), Output::Json), "");
        assert_eq!(render(&Value::Null, Output::Json), "null\n");
    }

    #[test]
    fn json_is_indented_by_four() {
        assert_eq!(
            render(
                &json!({"Events": [{"EventId": "é", "Resources": []}]}),
                Output::Json
            ),
            "{\n    \"Events\": [\n        {\n            \"EventId\": \"é\",\n            \"Resources\": []\n        }\n    ]\n}\n"
        );
    }

    #[test]
    fn text_is_tab_separated_under_upper_cased_names() {
        let value = json!({"Events": [
            {"EventName": "ListBuckets", "EventId": "e1", "ReadOnly": "true",
             "Resources": [{"ResourceType": "AWS::S3::Bucket", "ResourceName": "b"}]},
            {"EventName": "StopLogging", "EventId": "e2", "Resources": []}
        ]});
        assert_eq!(
            render(&value, Output::Text),
            "EVENTS\te1\tListBuckets\ttrue\nRESOURCES\tb\tAWS::S3::Bucket\nEVENTS\te2\tStopLogging\t\n"
        );
        assert_eq!(render(&json!(["a", "b"]), Output::Text), "a\tb\n");
        assert_eq!(render(&json!([true, null]), Output::Text), "True\tNone\n");
    }
}
