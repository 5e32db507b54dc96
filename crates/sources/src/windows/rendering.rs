//! The evtx crate's JSON rendering of an event (`{"Event":{"System":{...},"EventData":{...}}}`),
//! read in one pass.
//!
//! Every EVTX record goes through here (the crate renders it, this reads it back), so it is on the
//! hot path: a derived serde reader with `RawValue` fields scanned each nested element two or
//! three times (once to find its extent, once per level that parsed it again). This cursor walks
//! the document once, borrows every string that holds no escape, and checks the syntax of what it
//! skips, so that a damaged record is an error rather than a half-read row.

use std::borrow::Cow;

use memchr::memchr2;
use serde_json::value::RawValue;

use super::{Val, WinEvent, push_user_data, value};

type Parse<T> = Result<T, String>;

/// Reads one event of the evtx rendering.
pub(crate) fn parse_evtx_json(record: &[u8]) -> Result<WinEvent<'_>, String> {
    let text = std::str::from_utf8(record).map_err(|e| {
        format!(
            "not a readable Windows event (JSON): invalid UTF-8 at byte {}",
            e.valid_up_to()
        )
    })?;
    let mut c = Cursor { s: text, i: 0 };
    let mut ev = WinEvent::default();
    let (mut has_event, mut has_system) = (false, false);
    c.object(|c, key| {
        if key != "Event" {
            return c.skip();
        }
        has_event = true;
        if c.null()? {
            has_event = false;
            return Ok(());
        }
        c.object(|c, key| match key.as_ref() {
            "System" => {
                if !c.null()? {
                    has_system = true;
                    system(c, &mut ev)?;
                }
                Ok(())
            }
            "EventData" => event_data(c, &mut ev.data),
            "UserData" => {
                if !c.null()? {
                    let raw = c.raw_value()?;
                    push_user_data(raw_value(raw), &mut ev.data);
                }
                Ok(())
            }
            _ => c.skip(),
        })
    })
    .and_then(|()| c.end())
    .map_err(|e| format!("not a readable Windows event (JSON): {e}"))?;
    if !has_event {
        return Err("not a Windows event: the object has no Event element".into());
    }
    if !has_system {
        return Err("not a Windows event: the Event element has no System element".into());
    }
    Ok(ev)
}

/// The System element's fields.
fn system<'a>(c: &mut Cursor<'a>, ev: &mut WinEvent<'a>) -> Parse<()> {
    c.object(|c, key| {
        let slot = match key.as_ref() {
            "EventID" => &mut ev.event_id,
            "Version" => &mut ev.version,
            "Level" => &mut ev.level,
            "Task" => &mut ev.task,
            "Opcode" => &mut ev.opcode,
            "Keywords" => &mut ev.keywords,
            "EventRecordID" => &mut ev.record_id,
            "Channel" => &mut ev.channel,
            "Computer" => &mut ev.computer,
            "Provider" => {
                return c.attributes(&mut [
                    ("Name", &mut ev.provider),
                    ("Guid", &mut ev.provider_guid),
                    ("EventSourceName", &mut ev.event_source_name),
                ]);
            }
            "TimeCreated" => return c.attributes(&mut [("SystemTime", &mut ev.system_time)]),
            "Correlation" => {
                return c.attributes(&mut [
                    ("ActivityID", &mut ev.activity_id),
                    ("RelatedActivityID", &mut ev.related_activity_id),
                ]);
            }
            "Execution" => {
                return c.attributes(&mut [
                    ("ProcessID", &mut ev.process_id),
                    ("ThreadID", &mut ev.thread_id),
                ]);
            }
            "Security" => return c.attributes(&mut [("UserID", &mut ev.user_id)]),
            _ => return c.skip(),
        };
        *slot = Some(c.value()?);
        Ok(())
    })
}

/// The EventData element: named Data elements by name, unnamed ones (rendered as
/// `"#text":[...]`) under `Data`, the element's own attributes left out; an EventData that is not
/// an object is one `Data` value. (`super::push_event_data` reads the same from a raw value.)
fn event_data<'a>(c: &mut Cursor<'a>, data: &mut Vec<(Cow<'a, str>, Val<'a>)>) -> Parse<()> {
    match c.peek() {
        Some(b'{') => c.object(|c, key| {
            if key == "#attributes" {
                return c.skip();
            }
            let name = if key == "#text" {
                Cow::Borrowed("Data")
            } else {
                key
            };
            let v = c.value()?;
            data.push((name, v));
            Ok(())
        }),
        _ => {
            let v = c.value()?;
            if !v.is_null() {
                data.push((Cow::Borrowed("Data"), v));
            }
            Ok(())
        }
    }
}

/// Raw JSON text that the cursor has checked, as a `RawValue`.
fn raw_value(raw: &str) -> &RawValue {
    serde_json::from_str(raw).expect("the cursor checked this value's syntax")
}

/// The text of a JSON string (without its quotes) that holds escapes. A lone UTF-16 surrogate
/// (`\ud800` alone: Windows strings are not always well-formed UTF-16, and the evtx crate writes
/// such units as escapes) becomes U+FFFD, so that one odd character does not cost the event.
fn unescape(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut plain = 0;
    let mut i = 0;
    let hex4 = |at: usize| -> Result<u32, String> {
        s.get(at..at + 4)
            .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| format!("bad \\u escape at {at}"))
    };
    while let Some(k) = memchr::memchr(b'\\', &b[i..]) {
        let at = i + k;
        out.push_str(&s[plain..at]);
        let Some(&e) = b.get(at + 1) else {
            return Err("the string ends in a backslash".into());
        };
        i = at + 2;
        match e {
            b'"' => out.push('"'),
            b'\\' => out.push('\\'),
            b'/' => out.push('/'),
            b'b' => out.push('\u{8}'),
            b'f' => out.push('\u{c}'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'u' => {
                let unit = hex4(i)?;
                i += 4;
                let c = match unit {
                    0xD800..=0xDBFF if s[i..].starts_with("\\u") => match hex4(i + 2)? {
                        low @ 0xDC00..=0xDFFF => {
                            i += 6;
                            char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                        }
                        _ => None,
                    },
                    _ => char::from_u32(unit),
                };
                out.push(c.unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            other => return Err(format!("bad escape `\\{}`", other as char)),
        }
        plain = i;
    }
    out.push_str(&s[plain..]);
    Ok(out)
}

/// A position in one JSON document.
struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Cursor<'a> {
    fn err<T>(&self, what: &str) -> Parse<T> {
        Err(format!("{what} at byte {}", self.i))
    }

    /// The next byte after white space.
    fn peek(&mut self) -> Option<u8> {
        let b = self.s.as_bytes();
        while self.i < b.len() && matches!(b[self.i], b' ' | b'\n' | b'\r' | b'\t') {
            self.i += 1;
        }
        b.get(self.i).copied()
    }

    fn expect(&mut self, c: u8) -> Parse<()> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            self.err(&format!("expected `{}`", c as char))
        }
    }

    /// Only white space is left.
    fn end(&mut self) -> Parse<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => self.err("trailing characters after the event"),
        }
    }

    /// Reads a `null` (true) or leaves the cursor on the value (false).
    fn null(&mut self) -> Parse<bool> {
        if self.peek() == Some(b'n') {
            self.scalar()?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// A string's text with its quotes, the cursor on its opening quote.
    fn raw_string(&mut self) -> Parse<&'a str> {
        let b = self.s.as_bytes();
        let start = self.i;
        let mut j = start + 1;
        loop {
            match memchr2(b'"', b'\\', &b[j..]) {
                None => return self.err("unterminated string"),
                Some(k) if b[j + k] == b'\\' => j += k + 2,
                Some(k) => {
                    j += k + 1;
                    break;
                }
            }
        }
        if j > b.len() {
            return self.err("unterminated string");
        }
        self.i = j;
        Ok(&self.s[start..j])
    }

    /// A string, unescaped only when it holds an escape.
    fn string(&mut self) -> Parse<Cow<'a, str>> {
        if self.peek() != Some(b'"') {
            return self.err("expected a string");
        }
        let at = self.i;
        let raw = self.raw_string()?;
        if !raw.contains('\\') {
            return Ok(Cow::Borrowed(&raw[1..raw.len() - 1]));
        }
        unescape(&raw[1..raw.len() - 1])
            .map(Cow::Owned)
            .map_err(|e| format!("bad string at byte {at}: {e}"))
    }

    /// A number, `true`, `false` or `null`, as written.
    fn scalar(&mut self) -> Parse<&'a str> {
        let b = self.s.as_bytes();
        let start = self.i;
        let end = b[start..]
            .iter()
            .position(|c| matches!(c, b',' | b']' | b'}' | b' ' | b'\n' | b'\r' | b'\t'))
            .map_or(b.len(), |n| start + n);
        let token = &self.s[start..end];
        let number = |t: &str| {
            let digits = t.strip_prefix('-').unwrap_or(t);
            digits.starts_with(|c: char| c.is_ascii_digit())
                && digits
                    .bytes()
                    .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
        };
        if matches!(token, "true" | "false" | "null") || number(token) {
            self.i = end;
            Ok(token)
        } else {
            self.err("expected a value")
        }
    }

    /// An object's entries: `f` gets each key with the cursor on its value, and reads the value.
    fn object(&mut self, mut f: impl FnMut(&mut Self, Cow<'a, str>) -> Parse<()>) -> Parse<()> {
        self.expect(b'{')?;
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            let key = self.string()?;
            self.expect(b':')?;
            f(self, key)?;
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return self.err("expected `,` or `}`"),
            }
        }
    }

    /// Skips a value, checking its syntax.
    fn skip(&mut self) -> Parse<()> {
        self.raw_value().map(drop)
    }

    /// Skips a value, checking its syntax; its text.
    fn raw_value(&mut self) -> Parse<&'a str> {
        let start = self.i;
        match self.peek() {
            Some(b'"') => return self.raw_string(),
            Some(b'{') => self.object(|c, _| c.skip())?,
            Some(b'[') => {
                self.i += 1;
                if self.peek() == Some(b']') {
                    self.i += 1;
                } else {
                    loop {
                        self.skip()?;
                        match self.peek() {
                            Some(b',') => self.i += 1,
                            Some(b']') => {
                                self.i += 1;
                                break;
                            }
                            _ => return self.err("expected `,` or `]`"),
                        }
                    }
                }
            }
            Some(_) => return self.scalar(),
            None => return self.err("expected a value"),
        }
        Ok(&self.s[start..self.i])
    }

    /// A value as [`value`] reads it: strings unescaped, numbers and booleans as written, `null`
    /// as nothing; objects and arrays (rare: attributes on a Data element, lists of unnamed
    /// Data) go through [`value`] itself.
    fn value(&mut self) -> Parse<Val<'a>> {
        match self.peek() {
            Some(b'"') => self.string().map(Val::Text),
            Some(b'{' | b'[') => {
                let raw = self.raw_value()?;
                Ok(value(raw_value(raw)))
            }
            Some(_) => Ok(match self.scalar()? {
                "null" => Val::Null,
                s => Val::Text(Cow::Borrowed(s)),
            }),
            None => self.err("expected a value"),
        }
    }

    /// An element rendered with attributes (`{"#attributes":{...}}`): the attributes named in
    /// `wanted` are read into their slots, the others skipped. Anything else (null, an element
    /// without attributes) is skipped.
    fn attributes(&mut self, wanted: &mut [(&str, &mut Option<Val<'a>>)]) -> Parse<()> {
        if self.peek() != Some(b'{') {
            return self.skip();
        }
        self.object(|c, key| {
            if key != "#attributes" || c.peek() != Some(b'{') {
                return c.skip();
            }
            c.object(
                |c, name| match wanted.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, slot)) => {
                        **slot = Some(c.value()?);
                        Ok(())
                    }
                    None => c.skip(),
                },
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_system_attributes_event_data_and_escapes() {
        let ev = parse_evtx_json(
            br##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"P","Guid":"{G}"}},"EventID":{"#attributes":{"Qualifiers":0},"#text":7045},"TimeCreated":{"#attributes":{"SystemTime":"2024-01-02T03:04:05Z"}},"Correlation":null,"Execution":{"#attributes":{"ProcessID":4,"ThreadID":8}},"Channel":"System","Security":{"#attributes":{"UserID":"S-1-5-18"}},"Unknown":[1,{"a":[]}]},"EventData":{"#attributes":{"Name":"x"},"ImagePath":"C:\\a \"b\"","Start":2,"Empty":null,"#text":["u1","u2"]}}}"##,
        )
        .unwrap();
        assert_eq!(ev.provider, Some(Val::Text("P".into())));
        assert_eq!(ev.provider_guid, Some(Val::Text("{G}".into())));
        assert_eq!(ev.event_id, Some(Val::Text("7045".into())));
        assert_eq!(
            ev.system_time,
            Some(Val::Text("2024-01-02T03:04:05Z".into()))
        );
        assert_eq!(ev.activity_id, None);
        assert_eq!(ev.thread_id, Some(Val::Text("8".into())));
        assert_eq!(ev.user_id, Some(Val::Text("S-1-5-18".into())));
        assert_eq!(
            ev.data,
            vec![
                ("ImagePath".into(), Val::Text("C:\\a \"b\"".into())),
                ("Start".into(), Val::Text("2".into())),
                ("Empty".into(), Val::Null),
                ("Data".into(), Val::Json(r#"["u1","u2"]"#.into())),
            ]
        );
    }

    #[test]
    fn escapes_read_as_serde_json_reads_them_and_lone_surrogates_are_replaced() {
        for s in [
            r#"C:\\Windows \"x\" \/ \b\f\n\r\t"#,
            r"\u00e9\u2713 \ud83d\ude00 end",
            r"\u0000",
        ] {
            let expected: String = serde_json::from_str(&format!("\"{s}\"")).unwrap();
            assert_eq!(unescape(s).unwrap(), expected, "{s}");
        }
        assert_eq!(unescape(r"a\ud800b").unwrap(), "a\u{fffd}b");
        assert_eq!(
            unescape(r"\udc00\ud800\u0041").unwrap(),
            "\u{fffd}\u{fffd}A"
        );
        assert!(unescape(r"\q").is_err());
        assert!(unescape(r"\u12").is_err());
        assert!(unescape(r"\u+123").is_err());
        assert!(unescape("x\\").is_err());
    }

    #[test]
    fn damaged_or_foreign_documents_are_errors() {
        for bad in [
            &br#"{"Event":{"System":{"EventID":4624,,}}}"#[..],
            br#"{"Event":{"System":{"EventID":4624}}} x"#,
            br#"{"Event":{"System":{"EventID":4624},"EventData":{"A":tru}}}"#,
            br#"{"Event":{"System":{"Channel":"unterminated}}}"#,
            br#"{"Event":{"System":{"EventID":4624},"EventData":{"A":"\q"}}}"#,
            br#"{"Event":{"System":{"EventID":1}"#,
            b"{\"Event\":{\"System\":{\"Computer\":\"\xff\"}}}",
            br#"{"Event":{}}"#,
            br#"{"Event":null}"#,
            br#"{"NotEvent":{}}"#,
            br#"[]"#,
        ] {
            assert!(
                parse_evtx_json(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
