//! Apache and nginx access logs in the "common" and "combined" formats:
//! `host ident user [10/Oct/2023:13:55:36 -0700] "GET /path?q=1 HTTP/1.1" 200 2326 "referer" "agent"`,
//! optionally led by a virtual host (`vhost_combined`: `www.example.com:443 1.2.3.4 - ...`) and
//! followed by extra fields (nginx's request time...), which are ignored. `-` is null.
//!
//! Fills `AppServiceHTTPLogs` (the closest Log Analytics table of web requests). The time's offset
//! is applied: TimeGenerated is UTC. A request line that is not a request (scanners send TLS
//! handshakes and binary, logged as `"\x16\x03\x01..."` with status 400) keeps its row: method and
//! query are null and CsUriStem holds the request text as logged, so the probe stays searchable.

use std::borrow::Cow;
use std::io::BufRead;
use std::path::Path;

use spoor_catalog::{KqlType, TableDef};

use crate::batch::{Batcher, Decoding, RowDecoder, Scalar, convert};
use crate::lines::Lines;
use crate::spaced::{
    Field, parse_log_time, sniff_lines, split_fields, split_request, split_target,
};
use crate::{Batches, Format, Position, SourceError, check_table};

/// The Apache/nginx access log format.
pub struct AccessLog;

pub const APP_SERVICE_HTTP_LOGS: &str = "AppServiceHTTPLogs";

/// One access log line, split.
#[derive(Debug, PartialEq)]
struct Access<'a> {
    vhost: Option<&'a str>,
    client: Option<&'a str>,
    user: Option<&'a str>,
    time: i64,
    method: Option<&'a str>,
    stem: Option<&'a str>,
    query: Option<&'a str>,
    status: Option<&'a str>,
    bytes: Option<&'a str>,
    referer: Option<&'a str>,
    agent: Option<&'a str>,
}

fn parse_access<'a>(line: &'a str, fields: &mut Vec<Field<'a>>) -> Result<Access<'a>, String> {
    split_fields(line, true, fields)?;
    let at = if fields.len() > 3 && fields[3].bracketed {
        0
    } else if fields.len() > 4 && fields[4].bracketed {
        1
    } else {
        return Err(
            "expected the time in [brackets] as the 4th field (5th after a virtual host), \
                    as in `1.2.3.4 - user [10/Oct/2023:13:55:36 -0700] \"GET / HTTP/1.1\" 200 512`"
                .into(),
        );
    };
    let f = &fields[at..];
    if f.len() < 7 {
        return Err(format!(
            "expected at least 7 fields (client, ident, user, [time], \"request\", status, bytes), found {}",
            f.len()
        ));
    }
    let time = parse_log_time(f[3].text).ok_or_else(|| {
        format!(
            "expected a time such as 10/Oct/2023:13:55:36 -0700, found {:?}",
            f[3].text
        )
    })?;
    if !f[4].quoted {
        return Err(format!(
            "expected the request in quotes after the time, found {:?}",
            f[4].text
        ));
    }
    let status = f[5].value();
    if status.is_some_and(|s| s.len() != 3 || !s.bytes().all(|c| c.is_ascii_digit())) {
        return Err(format!(
            "expected a 3-digit status after the request, found {:?}",
            f[5].text
        ));
    }
    let bytes = f[6].value();
    if bytes.is_some_and(|s| !s.bytes().all(|c| c.is_ascii_digit())) {
        return Err(format!(
            "expected a byte count after the status, found {:?}",
            f[6].text
        ));
    }
    let (method, stem, query) = match f[4].value() {
        None => (None, None, None),
        Some(request) => match split_request(request) {
            Some((method, target, _)) => {
                let (path, query) = split_target(target);
                (Some(method), Some(path), query)
            }
            None => (None, Some(request), None),
        },
    };
    let quoted = |i: usize| {
        f.get(i)
            .filter(|x| x.quoted)
            .and_then(|x| x.value())
            .filter(|v| !v.is_empty())
    };
    Ok(Access {
        vhost: (at == 1).then(|| fields[0].text),
        client: f[0].value(),
        user: f[2].value(),
        time,
        method,
        stem,
        query,
        status,
        bytes,
        referer: quoted(7),
        agent: quoted(8),
    })
}

impl Format for AccessLog {
    fn name(&self) -> &'static str {
        "access-log"
    }

    fn description(&self) -> &'static str {
        "Apache/nginx access logs, common and combined formats (with or without a leading virtual host \
         and extra trailing fields)"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[APP_SERVICE_HTTP_LOGS]
    }

    fn sniff(&self, head: &[u8]) -> bool {
        sniff_lines(head, |l| parse_access(l, &mut Vec::new()).is_ok())
    }

    fn splittable(&self, _head: &[u8]) -> bool {
        // One record per line, nothing carried from line to line.
        true
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
                    "CIp" => Want::Client,
                    "CsUsername" => Want::User,
                    "CsMethod" => Want::Method,
                    "CsUriStem" => Want::Stem,
                    "CsUriQuery" => Want::Query,
                    "ScStatus" => Want::Status,
                    "ScBytes" => Want::Bytes,
                    "Referer" => Want::Referer,
                    "UserAgent" => Want::Agent,
                    "CsHost" => Want::Host,
                    "Type" => Want::Type,
                    _ => Want::Null,
                };
                (want, c.ty)
            })
            .collect();
        Ok(Box::new(Decoding::new(
            Lines::new(input),
            AccessDecoder { columns },
            batcher,
            file,
        )))
    }
}

#[derive(Debug, Clone, Copy)]
enum Want {
    Time,
    Client,
    User,
    Method,
    Stem,
    Query,
    Status,
    Bytes,
    Referer,
    Agent,
    Host,
    Type,
    Null,
}

struct AccessDecoder {
    columns: Vec<(Want, KqlType)>,
}

impl RowDecoder for AccessDecoder {
    fn decode(
        &mut self,
        record: &[u8],
        _position: Position,
        batcher: &mut Batcher,
    ) -> Result<(), String> {
        // Raw bytes in a request are often the attack: kept as U+FFFD rather than losing the line.
        let line = String::from_utf8_lossy(record);
        let mut fields = Vec::new();
        let a = parse_access(&line, &mut fields)?;
        let mut values = Vec::with_capacity(self.columns.len());
        for &(want, ty) in &self.columns {
            let text = match want {
                Want::Time => {
                    values.push(Scalar::Nanos(a.time));
                    continue;
                }
                Want::Type => Some(APP_SERVICE_HTTP_LOGS),
                Want::Client => a.client,
                Want::User => a.user,
                Want::Method => a.method,
                Want::Stem => a.stem,
                Want::Query => a.query,
                Want::Status => a.status,
                Want::Bytes => a.bytes,
                Want::Referer => a.referer,
                Want::Agent => a.agent,
                Want::Host => a.vhost,
                Want::Null => None,
            };
            values.push(match text {
                // A byte count too large for the column's int is null rather than a lost line.
                Some(t) => convert(Cow::Borrowed(t), ty).unwrap_or(Scalar::Null),
                None => Scalar::Null,
            });
        }
        batcher.push(&values);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::parse_time;
    use arrow::array::{Array, Int32Array, StringArray, TimestampNanosecondArray};

    const LOG: &str = r#"203.0.113.7 - alice [10/Oct/2023:13:55:36 -0700] "GET /index.php?id=1%27 HTTP/1.1" 200 2326 "https://example.com/" "Mozilla/5.0 (X11; Linux x86_64)" 0.004
198.51.100.23 - - [10/Oct/2023:20:56:01 +0000] "\x16\x03\x01\x00\xee\x01\x00\x00\xea\x03\x03" 400 157 "-" "-"
198.51.100.23 - - [10/Oct/2023:20:56:02 +0000] "-" 400 0 "-" "-"
192.0.2.1 - - [10/Oct/2023:20:57:00 +0000] "POST /login HTTP/1.1" 302 -
192.0.2.1 - - [10/Oct/2023 20:57:00] "GET / HTTP/1.1" 200 1
"#;

    #[test]
    fn sniffs_access_logs_only() {
        assert!(AccessLog.sniff(LOG.as_bytes()));
        assert!(AccessLog.sniff(
            b"www.example.com:443 203.0.113.7 - - [10/Oct/2023:13:55:36 +0200] \"GET / HTTP/2.0\" 200 5 \"-\" \"curl/8.0\"\n"
        ));
        for other in [
            &b"Oct 10 13:55:36 web1 sshd[812]: Failed password for root from 203.0.113.7 port 22 ssh2\n"[..],
            b"#Software: Microsoft Internet Information Services 10.0\n#Fields: date time cs-method cs-uri-stem sc-status\n",
            b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n",
            b"CEF:0|Vendor|Product|1.0|100|Blocked|5|src=1.2.3.4\n",
            b"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be bucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 - 3E57427F3EXAMPLE REST.GET.VERSIONING - \"GET /bucket1?versioning HTTP/1.1\" 200 - 113 - 7 - \"-\" \"S3Console/0.4\" -\n",
            b"TimeGenerated,Computer,Facility\n",
        ] {
            assert!(!AccessLog.sniff(other), "{}", String::from_utf8_lossy(other));
        }
    }

    #[test]
    fn decodes_combined_lines_and_keeps_scanner_probes() {
        let (batches, bad) = crate::testing::decode_text(
            &AccessLog,
            LOG,
            "access.log",
            APP_SERVICE_HTTP_LOGS,
            &[
                "TimeGenerated",
                "CIp",
                "CsMethod",
                "CsUriStem",
                "CsUriQuery",
                "ScStatus",
                "ScBytes",
                "UserAgent",
                "CsUsername",
                "Referer",
            ],
            100,
        );
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(
            bad[0].starts_with("access.log:line 5: expected a time such as"),
            "{}",
            bad[0]
        );
        let b = &batches[0];
        assert_eq!(b.num_rows(), 4);
        let t = b
            .column(0)
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .unwrap();
        assert_eq!(t.value(0), parse_time("2023-10-10T20:55:36Z").unwrap());
        let s = |c: usize| b.column(c).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(s(1).value(0), "203.0.113.7");
        assert_eq!(s(2).value(0), "GET");
        assert_eq!(s(3).value(0), "/index.php");
        assert_eq!(s(4).value(0), "id=1%27");
        assert!(s(2).is_null(1), "a probe has no method");
        assert_eq!(
            s(3).value(1),
            r"\x16\x03\x01\x00\xee\x01\x00\x00\xea\x03\x03"
        );
        assert!(s(3).is_null(2) && s(7).is_null(1));
        assert_eq!(s(7).value(0), "Mozilla/5.0 (X11; Linux x86_64)");
        assert_eq!(s(8).value(0), "alice");
        assert_eq!(s(9).value(0), "https://example.com/");
        let status = b.column(5).as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!((status.value(0), status.value(1)), (200, 400));
        let bytes = b.column(6).as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(bytes.value(0), 2326);
        assert!(bytes.is_null(3), "common format, `-` bytes");
    }

    #[test]
    fn a_cut_line_is_bad() {
        let (batches, bad) = crate::testing::decode_text(
            &AccessLog,
            "1.2.3.4 - - [10/Oct/2023:13:55:36 -0700] \"GET /a HTTP/1.1\n",
            "a.log",
            APP_SERVICE_HTTP_LOGS,
            &["CIp"],
            10,
        );
        assert!(batches.is_empty());
        assert!(bad[0].contains("line 1: field 5 opens a quote"), "{bad:?}");
    }
}
