//! IIS logs in W3C extended format: `#Software`, `#Version`, `#Date` and `#Fields:` directives,
//! then space-separated fields (`-` is null, spaces inside values are written as `+` and stay so).
//! The field set may change mid-file at each `#Fields:` directive. Times are UTC.
//!
//! Fills `W3CIISLog`.

use std::borrow::Cow;
use std::io::BufRead;
use std::path::Path;

use spoor_catalog::{KqlType, TableDef};

use crate::batch::{Batcher, Decoding, RowDecoder, Scalar, convert, parse_time};
use crate::lines::Lines;
use crate::vpcflow::split_tokens;
use crate::{Batches, Format, Position, SourceError, check_table};

/// The IIS W3C extended log format.
pub struct W3cIis;

pub const W3C_IIS_LOG: &str = "W3CIISLog";

/// W3C field (lower case) → W3CIISLog column, and whether the field must be a whole number.
const FIELDS: &[(&str, &str, bool)] = &[
    ("date", "Date", false),
    ("time", "Time", false),
    ("s-sitename", "sSiteName", false),
    ("s-computername", "sComputerName", false),
    ("s-ip", "sIP", false),
    ("cs-method", "csMethod", false),
    ("cs-uri-stem", "csUriStem", false),
    ("cs-uri-query", "csUriQuery", false),
    ("s-port", "sPort", true),
    ("cs-username", "csUserName", false),
    ("c-ip", "cIP", false),
    ("cs-version", "csVersion", false),
    ("cs(user-agent)", "csUserAgent", false),
    ("cs(cookie)", "csCookie", false),
    ("cs(referer)", "csReferer", false),
    ("cs-host", "csHost", false),
    ("sc-status", "scStatus", false),
    ("sc-substatus", "scSubStatus", false),
    ("sc-win32-status", "scWin32Status", false),
    ("sc-bytes", "scBytes", true),
    ("cs-bytes", "csBytes", true),
    ("time-taken", "TimeTaken", true),
];

/// Directives that open a W3C extended log.
const DIRECTIVES: &[&str] = &[
    "#Software:",
    "#Version:",
    "#Date:",
    "#Fields:",
    "#Remark:",
    "#Start-Date:",
    "#End-Date:",
];

/// Fields only a web server log has (Windows Firewall and others also write W3C logs).
const WEB_FIELDS: &[&str] = &[
    "cs-method",
    "cs-uri-stem",
    "sc-status",
    "c-ip",
    "cs(user-agent)",
];

impl Format for W3cIis {
    fn name(&self) -> &'static str {
        "w3c-iis"
    }

    fn description(&self) -> &'static str {
        "IIS web server logs in W3C extended format (#Software/#Version/#Date/#Fields directives)"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[W3C_IIS_LOG]
    }

    fn sniff(&self, head: &[u8]) -> bool {
        let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        // A W3C log starts with a directive: look no further (and convert nothing) otherwise.
        if !head.trim_ascii_start().starts_with(b"#") {
            return false;
        }
        let text = String::from_utf8_lossy(head);
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let Some(first) = lines.next() else {
            return false;
        };
        if !DIRECTIVES.iter().any(|d| first.starts_with(d)) {
            return false;
        }
        std::iter::once(first)
            .chain(lines)
            .take_while(|l| l.starts_with('#'))
            .any(|l| {
                l.strip_prefix("#Fields:").is_some_and(|f| {
                    f.split_ascii_whitespace()
                        .any(|n| WEB_FIELDS.iter().any(|w| w.eq_ignore_ascii_case(n)))
                })
            })
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
        let columns = projection
            .iter()
            .map(|&i| {
                let c = &table.columns[i];
                let want = match c.name.as_str() {
                    "TimeGenerated" => Want::Time,
                    "Type" => Want::Const(W3C_IIS_LOG),
                    "Computer" => Want::Field("s-computername"),
                    name => FIELDS
                        .iter()
                        .find(|f| f.1 == name)
                        .map_or(Want::Null, |f| Want::Field(f.0)),
                };
                (want, c.ty)
            })
            .collect();
        let decoder = IisDecoder {
            columns,
            fields: None,
            date: None,
            tokens: Vec::new(),
        };
        Ok(Box::new(Decoding::new(
            Lines::new(input),
            decoder,
            batcher,
            file,
        )))
    }
}

#[derive(Debug, Clone, Copy)]
enum Want {
    Field(&'static str),
    /// TimeGenerated: the date and time fields (or the #Date directive's date).
    Time,
    Const(&'static str),
    Null,
}

/// The layout one `#Fields:` directive declares.
struct Fields {
    names: Vec<String>,
    /// For each projected column, its position in a line.
    positions: Vec<Option<usize>>,
    date: Option<usize>,
    time: Option<usize>,
    numeric: Vec<usize>,
    line: u64,
}

struct IisDecoder {
    columns: Vec<(Want, KqlType)>,
    fields: Option<Fields>,
    /// The date of the last `#Date:` directive, for logs without a date field.
    date: Option<String>,
    tokens: Vec<(usize, usize)>,
}

impl IisDecoder {
    fn set_fields(&mut self, spec: &str, line: u64) {
        let names: Vec<String> = spec
            .split_ascii_whitespace()
            .map(str::to_ascii_lowercase)
            .collect();
        let pos = |n: &str| names.iter().position(|x| x == n);
        let positions = self
            .columns
            .iter()
            .map(|(w, _)| match w {
                Want::Field(f) => pos(f),
                _ => None,
            })
            .collect();
        let numeric = FIELDS
            .iter()
            .filter(|f| f.2)
            .filter_map(|f| pos(f.0))
            .collect();
        self.fields = Some(Fields {
            date: pos("date"),
            time: pos("time"),
            positions,
            numeric,
            names,
            line,
        });
    }
}

impl RowDecoder for IisDecoder {
    fn decode(
        &mut self,
        record: &[u8],
        position: Position,
        batcher: &mut Batcher,
    ) -> Result<(), String> {
        // Bytes that are not UTF-8 (raw bytes in a request line are often the attack) are kept as
        // U+FFFD rather than losing the line.
        let line = String::from_utf8_lossy(record);
        let line = line.as_ref();
        if let Some(directive) = line.strip_prefix('#') {
            let line_no = match position {
                Position::Line(n) => n,
                _ => 0,
            };
            if let Some(spec) = directive.strip_prefix("Fields:") {
                self.set_fields(spec, line_no);
            } else if let Some(date) = directive.strip_prefix("Date:") {
                self.date = date.split_ascii_whitespace().next().map(str::to_string);
            }
            return Ok(());
        }
        let Some(f) = &self.fields else {
            return Err("data before any #Fields: directive; the fields of a W3C log are named by a line such as \
                        `#Fields: date time s-ip cs-method cs-uri-stem ...`"
                .into());
        };
        split_tokens(line.as_bytes(), &mut self.tokens);
        if self.tokens.len() != f.names.len() {
            return Err(format!(
                "expected {} fields (#Fields at line {}), found {}",
                f.names.len(),
                f.line,
                self.tokens.len()
            ));
        }
        let tok = |p: usize| &line[self.tokens[p].0..self.tokens[p].1];
        for &p in &f.numeric {
            let t = tok(p);
            if t != "-" && t.parse::<i64>().is_err() {
                return Err(format!(
                    "field {}: expected a whole number, found {t:?}",
                    f.names[p]
                ));
            }
        }
        let date = f.date.map(tok).or(self.date.as_deref());
        let time = match (date, f.time.map(tok)) {
            (Some(d), Some(t)) => {
                let ts = format!("{d} {t}");
                Some(parse_time(&ts).ok_or_else(|| {
                    format!("fields date and time: expected a date and time, found {ts:?}")
                })?)
            }
            _ => None,
        };
        let mut values = Vec::with_capacity(self.columns.len());
        for (i, &(want, ty)) in self.columns.iter().enumerate() {
            values.push(match want {
                Want::Time => time.map_or(Scalar::Null, Scalar::Nanos),
                Want::Const(s) => Scalar::Str(Cow::Borrowed(s)),
                Want::Field(_) => match f.positions[i] {
                    Some(p) if tok(p) != "-" => convert(Cow::Borrowed(tok(p)), ty)
                        .map_err(|e| format!("field {}: {e}", f.names[p]))?,
                    _ => Scalar::Null,
                },
                Want::Null => Scalar::Null,
            });
        }
        batcher.push(&values);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Decoded;
    use arrow::array::{Array, Int32Array, Int64Array, StringArray, TimestampNanosecondArray};
    use arrow::record_batch::RecordBatch;
    use spoor_catalog::catalog;

    const LOG: &str = "#Software: Microsoft Internet Information Services 10.0
#Version: 1.0
#Date: 2024-03-01 00:00:01
#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken
2024-03-01 00:00:01 10.0.0.4 GET /index.html - 443 - 203.0.113.9 Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 15
2024-03-01 00:00:02 10.0.0.4 GET /.env - 443 - 203.0.113.9 curl/7.68.0 - 404 0 2
#Fields: time c-ip cs-method cs-uri-stem sc-status
00:05:00 198.51.100.7 POST /upload.aspx 500
00:05:01 198.51.100.7 POST /upload.aspx abc
";

    fn run(input: &str, columns: &[&str]) -> (Vec<RecordBatch>, Vec<String>) {
        crate::testing::decode_text(&W3cIis, input, "u_ex.log", W3C_IIS_LOG, columns, 100)
    }

    #[test]
    fn sniffs_iis_but_not_other_w3c_writers() {
        assert!(W3cIis.sniff(LOG.as_bytes()));
        let firewall = "#Version: 1.5\n#Software: Microsoft Windows Firewall\n#Time Format: Local\n#Fields: date time action protocol src-ip dst-ip src-port dst-port size path\n";
        assert!(!W3cIis.sniff(firewall.as_bytes()));
        assert!(!W3cIis.sniff(b"version account-id interface-id srcaddr dstaddr\n"));
    }

    #[test]
    fn decodes_fields_and_follows_field_changes() {
        let (batches, bad) = run(
            LOG,
            &[
                "TimeGenerated",
                "csUriStem",
                "csUserAgent",
                "scStatus",
                "sPort",
                "TimeTaken",
                "cIP",
                "Type",
            ],
        );
        assert_eq!(
            bad,
            vec!["u_ex.log:line 6: expected 15 fields (#Fields at line 4), found 14".to_string()]
        );
        let b = &batches[0];
        assert_eq!(
            b.num_rows(),
            3,
            "the line with status abc is kept: sc-status is text"
        );
        let t = b
            .column(0)
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .unwrap();
        assert_eq!(t.value(0), parse_time("2024-03-01T00:00:01Z").unwrap());
        assert_eq!(
            t.value(1),
            parse_time("2024-03-01T00:05:00Z").unwrap(),
            "date from the #Date directive"
        );
        let ua = b.column(2).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(ua.value(0), "Mozilla/5.0+(Windows+NT+10.0)");
        assert!(ua.is_null(1));
        assert_eq!(
            b.column(3)
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .value(1),
            "500"
        );
        let port = b.column(4).as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(port.value(0), 443);
        assert!(port.is_null(1));
        assert_eq!(
            b.column(5)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .value(0),
            15
        );
        assert_eq!(
            b.column(6)
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .value(2),
            "198.51.100.7"
        );
        assert_eq!(
            b.column(7)
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .value(0),
            "W3CIISLog"
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_do_not_lose_the_request() {
        let t = catalog().table(W3C_IIS_LOG).unwrap();
        let text = b"#Fields: date time cs-uri-stem\n2024-01-01 00:00:00 /a\xff\xfeb\n".to_vec();
        let input: Box<dyn BufRead + Send> = Box::new(std::io::Cursor::new(text));
        let projection = [t.index_of("csUriStem").unwrap()];
        let items: Vec<_> = W3cIis
            .decode(input, Path::new("x.log"), t, &projection, 10)
            .unwrap()
            .collect();
        let Ok(Decoded::Batch(b)) = &items[0] else {
            panic!("{items:?}")
        };
        let uri = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(uri.value(0), "/a\u{fffd}\u{fffd}b");
    }

    #[test]
    fn data_before_fields_and_bad_numbers_are_bad_records() {
        let (batches, bad) = run(
            "1 2 3\n#Fields: date time time-taken\n2024-01-01 00:00:00 fast\n",
            &["TimeTaken"],
        );
        assert!(batches.is_empty());
        assert_eq!(bad.len(), 2);
        assert!(
            bad[0].contains("line 1: data before any #Fields"),
            "{}",
            bad[0]
        );
        assert!(
            bad[1].contains("line 3: field time-taken: expected a whole number, found \"fast\""),
            "{}",
            bad[1]
        );
    }
}
