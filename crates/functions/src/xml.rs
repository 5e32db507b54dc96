//! `parse_xml(xml)`: XML text as a dynamic value
//! (<https://learn.microsoft.com/kusto/query/parse-xml-function>).
//!
//! The mapping is the page's table:
//!
//! | XML | JSON |
//! |---|---|
//! | `<e/>` | `{"e": null}` |
//! | `<e>text</e>` | `{"e": "text"}` |
//! | `<e name="value" />` | `{"e": {"@name": "value"}}` |
//! | `<e name="value">text</e>` | `{"e": {"@name": "value", "#text": "text"}}` |
//! | `<e> <a>text</a> <b>text</b> </e>` | `{"e": {"a": "text", "b": "text"}}` |
//! | `<e> <a>text</a> <a>text</a> </e>` | `{"e": {"a": ["text", "text"]}}` |
//! | `<e> text <a>text</a> </e>` | `{"e": {"#text": "text", "a": "text"}}` |
//!
//! Only elements, attributes and text are translated; declarations, comments, processing
//! instructions and doctypes are skipped. CDATA counts as text. Values stay strings (the page's
//! prose example shows numbers, its table does not; Kusto's converter writes strings). Text is
//! trimmed of surrounding whitespace and whitespace-only text is dropped. An element written
//! `<e></e>` (not self-closing) with nothing inside gives `""`, as the .NET converter does.
//! Several text pieces in one element (`<e>a<b/>c</e>`) give a `#text` array. Names keep their
//! namespace prefix as written (`@xmlns`, `x:e`).
//!
//! Invalid XML, or input longer than 1 MB (1,048,576 bytes), gives null.

use std::sync::Arc;

use datafusion::arrow::array::StringArray;
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};
use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use serde_json::{Map, Value};

use crate::args::{Rows, StrArg, all_text};
use crate::udf::{Spec, ret_utf8};

/// Kusto's input limit.
const MAX_INPUT: usize = 1_048_576;

/// An element being read.
struct Frame {
    name: String,
    /// Attributes, then children and `#text` in order of first appearance.
    body: Map<String, Value>,
}

impl Frame {
    fn new(e: &BytesStart) -> Option<Frame> {
        let name = std::str::from_utf8(e.name().as_ref()).ok()?.to_string();
        let mut body = Map::new();
        for a in e.attributes() {
            let a = a.ok()?;
            let key = std::str::from_utf8(a.key.as_ref()).ok()?;
            let value = a.unescape_value().ok()?;
            body.insert(format!("@{key}"), Value::String(value.into_owned()));
        }
        Some(Frame { name, body })
    }

    /// Adds a child value under `key`; a repeated key becomes an array. (An element's own
    /// value is never an array, so an array under a key always means "repeated".)
    fn add(&mut self, key: String, value: Value) {
        match self.body.get_mut(&key) {
            Some(Value::Array(items)) => items.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
            None => {
                self.body.insert(key, value);
            }
        }
    }

    /// The element's value once closed.
    fn finish(self, self_closing: bool) -> Value {
        if self.body.is_empty() {
            return if self_closing {
                Value::Null
            } else {
                Value::String(String::new())
            };
        }
        // Text only: the element is that text.
        if self.body.len() == 1
            && let Some(Value::String(_)) = self.body.get("#text")
        {
            return self
                .body
                .into_iter()
                .next()
                .map(|(_, v)| v)
                .unwrap_or(Value::Null);
        }
        Value::Object(self.body)
    }
}

/// Text gathered between tags (entity references arrive as separate events).
#[derive(Default)]
struct PendingText {
    text: String,
}

impl PendingText {
    /// Moves the trimmed text, if any, into the element.
    fn flush(&mut self, frame: Option<&mut Frame>) {
        let t = self.text.trim();
        if !t.is_empty()
            && let Some(f) = frame
        {
            f.add("#text".to_string(), Value::String(t.to_string()));
        }
        self.text.clear();
    }
}

/// Converts XML text; `None` when it is not well-formed XML with one root element.
pub fn xml_to_json(xml: &str) -> Option<Value> {
    if xml.len() > MAX_INPUT {
        return None;
    }
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Frame> = Vec::new();
    let mut pending = PendingText::default();
    let mut root: Option<Value> = None;
    loop {
        let event = reader.read_event().ok()?;
        match event {
            Event::Start(e) => {
                pending.flush(stack.last_mut());
                if root.is_some() && stack.is_empty() {
                    return None;
                }
                stack.push(Frame::new(&e)?);
            }
            Event::Empty(e) => {
                pending.flush(stack.last_mut());
                let frame = Frame::new(&e)?;
                let name = frame.name.clone();
                let value = frame.finish(true);
                match stack.last_mut() {
                    Some(parent) => parent.add(name, value),
                    None if root.is_none() => root = Some(single(name, value)),
                    None => return None,
                }
            }
            Event::End(_) => {
                pending.flush(stack.last_mut());
                let frame = stack.pop()?;
                let name = frame.name.clone();
                let value = frame.finish(false);
                match stack.last_mut() {
                    Some(parent) => parent.add(name, value),
                    None => root = Some(single(name, value)),
                }
            }
            Event::Text(t) => {
                let s = t.xml_content().ok()?;
                if stack.is_empty() {
                    if !s.trim().is_empty() {
                        return None;
                    }
                } else {
                    pending.text.push_str(&s);
                }
            }
            Event::GeneralRef(r) => {
                if stack.is_empty() {
                    return None;
                }
                if let Some(c) = r.resolve_char_ref().ok()? {
                    pending.text.push(c);
                } else {
                    let name = r.decode().ok()?;
                    pending.text.push_str(resolve_predefined_entity(&name)?);
                }
            }
            Event::CData(c) => {
                if stack.is_empty() {
                    return None;
                }
                pending.text.push_str(&c.decode().ok()?);
            }
            Event::Comment(_) => pending.flush(stack.last_mut()),
            Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return None;
    }
    root
}

fn single(name: String, value: Value) -> Value {
    let mut m = Map::new();
    m.insert(name, value);
    Value::Object(m)
}

fn parse_xml(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let a = StrArg::new(&args.args[0])?;
    let out: StringArray = (0..rows.n)
        .map(|i| xml_to_json(a.get(i)?).map(|v| v.to_string()))
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_parse_xml() -> Spec {
    Spec {
        name: "kql_parse_xml",
        coerce: |n, t| all_text(n, t, 1, 1),
        ret: ret_utf8,
        ret_field: None,
        invoke: parse_xml,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn x(s: &str) -> Option<String> {
        xml_to_json(s).map(|v| v.to_string())
    }

    #[test]
    fn doc_table() {
        assert_eq!(x("<e/>").as_deref(), Some(r#"{"e":null}"#));
        assert_eq!(x("<e>text</e>").as_deref(), Some(r#"{"e":"text"}"#));
        assert_eq!(
            x(r#"<e name="value" />"#).as_deref(),
            Some(r#"{"e":{"@name":"value"}}"#)
        );
        assert_eq!(
            x(r#"<e name="value">text</e>"#).as_deref(),
            Some(r##"{"e":{"@name":"value","#text":"text"}}"##)
        );
        assert_eq!(
            x("<e> <a>text</a> <b>text</b> </e>").as_deref(),
            Some(r#"{"e":{"a":"text","b":"text"}}"#)
        );
        assert_eq!(
            x("<e> <a>text</a> <a>text</a> </e>").as_deref(),
            Some(r#"{"e":{"a":["text","text"]}}"#)
        );
        assert_eq!(
            x("<e> text <a>text</a> </e>").as_deref(),
            Some(r##"{"e":{"#text":"text","a":"text"}}"##)
        );
    }

    #[test]
    fn doc_example_and_edges() {
        let doc = r#"<?xml version="1.0" encoding="UTF-8"?>
<duration>
    <value>118.0</value>
    <count>5.0</count>
    <min>100.0</min>
</duration>"#;
        assert_eq!(
            x(doc).as_deref(),
            Some(r#"{"duration":{"value":"118.0","count":"5.0","min":"100.0"}}"#)
        );
        // Three repeats, entities, CDATA, comments.
        assert_eq!(
            x("<r><a>1</a><a>2</a><a/></r>").as_deref(),
            Some(r#"{"r":{"a":["1","2",null]}}"#)
        );
        assert_eq!(
            x("<r>a &amp; b &#65;<!-- c --></r>").as_deref(),
            Some(r#"{"r":"a & b A"}"#)
        );
        assert_eq!(
            x("<r><![CDATA[<x>]]></r>").as_deref(),
            Some(r#"{"r":"<x>"}"#)
        );
        assert_eq!(x("<r></r>").as_deref(), Some(r#"{"r":""}"#));
        assert_eq!(
            x("<r>a<b/>c</r>").as_deref(),
            Some(r##"{"r":{"#text":["a","c"],"b":null}}"##)
        );
        // Not XML.
        assert_eq!(x("not xml"), None);
        assert_eq!(x("<a><b></a>"), None);
        assert_eq!(x("<a/><b/>"), None);
        assert_eq!(x(""), None);
        assert_eq!(x("<a>&nope;</a>"), None);
    }

    #[test]
    fn windows_event_data() {
        let xml = r#"<EventData><Data Name="SubjectUserName">bob</Data><Data Name="ObjectName">\REGISTRY\x</Data></EventData>"#;
        let got = str1(kql_parse_xml(), &[lit(xml)]).unwrap();
        assert_eq!(
            got,
            r##"{"EventData":{"Data":[{"@Name":"SubjectUserName","#text":"bob"},{"@Name":"ObjectName","#text":"\\REGISTRY\\x"}]}}"##
        );
        let v: Value = serde_json::from_str(&got).unwrap();
        assert_eq!(v["EventData"]["Data"][1]["#text"], "\\REGISTRY\\x");
        assert_eq!(
            call_str(kql_parse_xml(), &[s(&[Some("<a>1</a>"), None, Some("<")])]),
            vec![Some(r#"{"a":"1"}"#.into()), None, None]
        );
    }
}
