//! AWS Application Load Balancer access logs: space-separated fields in the order of the AWS
//! documentation, some quoted: `https 2024-08-02T08:23:24.123456Z app/web/50dc6c495c0c9188
//! 192.0.2.10:51234 10.0.1.5:443 0.001 0.045 0.000 200 200 512 2048 "GET https://h:443/p HTTP/1.1"
//! "agent" cipher protocol target-group-arn "Root=..." ...`. AWS appends fields over time: a line
//! must have the first 17 (up to target_group_arn); later ones are read when present and trailing
//! ones that this reader does not know are ignored, as AWS asks. `-` is null.
//!
//! Fills `AWSALBAccess` (no Log Analytics counterpart; columns after AWS's field names).
//! `client:port` and `target:port` are split, and the request line into verb, URL and protocol.

use std::borrow::Cow;
use std::io::BufRead;
use std::path::Path;

use spoor_catalog::{KqlType, TableDef};

use crate::batch::{Batcher, Decoding, RowDecoder, Scalar, convert, parse_time};
use crate::lines::Lines;
use crate::spaced::{Field, sniff_lines, split_fields, split_request};
use crate::{Batches, Format, Position, SourceError, check_table};

/// The ALB access log format.
pub struct AlbAccess;

pub const AWS_ALB_ACCESS: &str = "AWSALBAccess";

/// What a field must hold to be read.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Check {
    Any,
    /// A whole number (or `-`).
    Whole,
    /// A number of seconds, -1 allowed (or `-`).
    Seconds,
}

/// The fields in the order AWS writes them: (AWS's name, check).
const FIELDS: &[(&str, Check)] = &[
    ("type", Check::Any),
    ("time", Check::Any),
    ("elb", Check::Any),
    ("client:port", Check::Any),
    ("target:port", Check::Any),
    ("request_processing_time", Check::Seconds),
    ("target_processing_time", Check::Seconds),
    ("response_processing_time", Check::Seconds),
    ("elb_status_code", Check::Whole),
    ("target_status_code", Check::Whole),
    ("received_bytes", Check::Whole),
    ("sent_bytes", Check::Whole),
    ("request", Check::Any),
    ("user_agent", Check::Any),
    ("ssl_cipher", Check::Any),
    ("ssl_protocol", Check::Any),
    ("target_group_arn", Check::Any),
    ("trace_id", Check::Any),
    ("domain_name", Check::Any),
    ("chosen_cert_arn", Check::Any),
    ("matched_rule_priority", Check::Whole),
    ("request_creation_time", Check::Any),
    ("actions_executed", Check::Any),
    ("redirect_url", Check::Any),
    ("error_reason", Check::Any),
    ("target:port_list", Check::Any),
    ("target_status_code_list", Check::Any),
    ("classification", Check::Any),
    ("classification_reason", Check::Any),
    ("conn_trace_id", Check::Any),
];

/// Column → field position, for the columns that are a field as it is.
const COLUMNS: &[(&str, usize)] = &[
    ("Type", 0),
    ("Time", 1),
    ("Elb", 2),
    ("RequestProcessingTime", 5),
    ("TargetProcessingTime", 6),
    ("ResponseProcessingTime", 7),
    ("ElbStatusCode", 8),
    ("TargetStatusCode", 9),
    ("ReceivedBytes", 10),
    ("SentBytes", 11),
    ("Request", 12),
    ("UserAgent", 13),
    ("SslCipher", 14),
    ("SslProtocol", 15),
    ("TargetGroupArn", 16),
    ("TraceId", 17),
    ("DomainName", 18),
    ("ChosenCertArn", 19),
    ("MatchedRulePriority", 20),
    ("RequestCreationTime", 21),
    ("ActionsExecuted", 22),
    ("RedirectUrl", 23),
    ("ErrorReason", 24),
    ("TargetPortList", 25),
    ("TargetStatusCodeList", 26),
    ("Classification", 27),
    ("ClassificationReason", 28),
    ("ConnTraceId", 29),
];

const REQUIRED: usize = 17;
const TYPES: &[&str] = &["http", "https", "h2", "grpcs", "ws", "wss"];
const CLIENT: usize = 3;
const TARGET: usize = 4;
const REQUEST: usize = 12;

/// Splits and checks a line; the time in nanoseconds (UTC).
fn parse_alb<'a>(line: &'a str, fields: &mut Vec<Field<'a>>) -> Result<i64, String> {
    split_fields(line, false, fields)?;
    if fields.len() < REQUIRED {
        return Err(format!(
            "expected at least {REQUIRED} fields (type ... target_group_arn), found {}",
            fields.len()
        ));
    }
    if !TYPES.contains(&fields[0].text) {
        return Err(format!(
            "field type: expected one of {}, found {:?}",
            TYPES.join(", "),
            fields[0].text
        ));
    }
    let time = parse_time(fields[1].text).ok_or_else(|| {
        format!(
            "field time: expected an ISO 8601 time, found {:?}",
            fields[1].text
        )
    })?;
    for (f, (name, check)) in fields.iter().zip(FIELDS) {
        let ok = match (f.value(), check) {
            (None, _) | (_, Check::Any) => true,
            (Some(t), Check::Whole) => t.bytes().all(|c| c.is_ascii_digit()),
            (Some(t), Check::Seconds) => t.parse::<f64>().is_ok(),
        };
        if !ok {
            return Err(format!(
                "field {name}: expected a number, found {:?}",
                f.text
            ));
        }
    }
    if !fields[REQUEST].quoted {
        return Err(format!(
            "field request: expected a quoted request line, found {:?}",
            fields[REQUEST].text
        ));
    }
    Ok(time)
}

/// `ip:port` (IPv6 addresses hold colons: the port is after the last one).
fn split_endpoint(s: &str) -> (Option<&str>, Option<&str>) {
    match s.rsplit_once(':') {
        _ if s == "-" => (None, None),
        Some((ip, port)) if port.bytes().all(|c| c.is_ascii_digit()) => (Some(ip), Some(port)),
        _ => (Some(s), None),
    }
}

impl Format for AlbAccess {
    fn name(&self) -> &'static str {
        "alb-access"
    }

    fn description(&self) -> &'static str {
        "AWS Application Load Balancer access logs (http, https, h2, grpcs, ws, wss entries)"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[AWS_ALB_ACCESS]
    }

    fn sniff(&self, head: &[u8]) -> bool {
        sniff_lines(head, |l| parse_alb(l, &mut Vec::new()).is_ok())
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
                    "ClientIp" => Want::Ip(CLIENT),
                    "ClientPort" => Want::Port(CLIENT),
                    "TargetIp" => Want::Ip(TARGET),
                    "TargetPort" => Want::Port(TARGET),
                    "RequestVerb" => Want::Verb,
                    "RequestUrl" => Want::Url,
                    "RequestProtocol" => Want::Protocol,
                    name => COLUMNS
                        .iter()
                        .find(|c| c.0 == name)
                        .map_or(Want::Null, |c| Want::Field(c.1)),
                };
                (want, c.ty, c.name.clone())
            })
            .collect();
        Ok(Box::new(Decoding::new(
            Lines::new(input),
            AlbDecoder { columns },
            batcher,
            file,
        )))
    }
}

#[derive(Debug, Clone, Copy)]
enum Want {
    Field(usize),
    Time,
    Ip(usize),
    Port(usize),
    Verb,
    Url,
    Protocol,
    Null,
}

struct AlbDecoder {
    /// What each projected column takes, its type and its name (for error messages).
    columns: Vec<(Want, KqlType, String)>,
}

impl RowDecoder for AlbDecoder {
    fn decode(
        &mut self,
        record: &[u8],
        _position: Position,
        batcher: &mut Batcher,
    ) -> Result<(), String> {
        // Raw bytes in a request or user agent: U+FFFD rather than a lost line.
        let line = String::from_utf8_lossy(record);
        let mut fields = Vec::new();
        let time = parse_alb(&line, &mut fields)?;
        let request = fields[REQUEST].value().and_then(split_request);
        let mut values = Vec::with_capacity(self.columns.len());
        for (want, ty, name) in &self.columns {
            let (want, ty) = (*want, *ty);
            let text = match want {
                Want::Time => {
                    values.push(Scalar::Nanos(time));
                    continue;
                }
                Want::Field(i) => fields.get(i).and_then(Field::value),
                Want::Ip(i) => split_endpoint(fields[i].text).0,
                Want::Port(i) => split_endpoint(fields[i].text).1,
                Want::Verb => request.map(|r| r.0),
                Want::Url => request.map(|r| r.1),
                Want::Protocol => request.and_then(|r| r.2),
                Want::Null => None,
            };
            values.push(match text {
                Some(t) => {
                    convert(Cow::Borrowed(t), ty).map_err(|e| format!("column {name}: {e}"))?
                }
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
    use arrow::array::TimestampNanosecondArray;
    use arrow::array::{Array, Float64Array, Int32Array, Int64Array, StringArray};

    const LOG: &str = r#"https 2024-08-02T08:23:24.186641Z app/web-prod/50dc6c495c0c9188 203.0.113.9:51234 10.0.1.5:8443 0.001 0.045 0.000 200 200 612 2048 "GET https://shop.example.com:443/api/orders?id=7 HTTP/1.1" "Mozilla/5.0 (Macintosh)" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/web/73e2d6bc24d8a067 "Root=1-58337262-36d228ad5d99923122bbe354" "shop.example.com" "arn:aws:acm:eu-west-1:111122223333:certificate/12345678-1234-1234-1234-123456789012" 1 2024-08-02T08:23:24.140000Z "forward" "-" "-" "10.0.1.5:8443" "200" "-" "-" TID_1234abcd extra
http 2024-08-02T08:23:30.000000Z app/web-prod/50dc6c495c0c9188 [2001:db8::7]:40000 - -1 -1 -1 400 - 0 272 "- http://shop.example.com:80- -" "-" - - - "-" "-" "-" - 2024-08-02T08:23:30.000000Z "-" "-" "-" "-" "-" "Severe" "UndefinedContentLengthSemantics"
wss 2024-08-02T08:23:31Z app/web-prod/50dc6c495c0c9188 203.0.113.9:51235 10.0.1.5:8443 0.001 lots 0.000 101 101 1 1 "GET wss://shop.example.com:443/ws HTTP/1.1" "-" - - arn
"#;

    #[test]
    fn sniffs_alb_logs_only() {
        assert!(AlbAccess.sniff(LOG.as_bytes()));
        for other in [
            &b"2024-08-02T08:23:24.186641Z my-classic-elb 203.0.113.9:51234 10.0.1.5:80 0.000073 0.001048 0.000057 200 200 0 29 \"GET http://www.example.com:80/ HTTP/1.1\" \"curl/7.38.0\" - -\n"[..],
            b"203.0.113.7 - - [10/Oct/2023:13:55:36 -0700] \"GET / HTTP/1.1\" 200 2326 \"-\" \"curl/8.0\"\n",
            b"Oct 10 13:55:36 web1 sshd[812]: Failed password for root from 203.0.113.7 port 22 ssh2\n",
            b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n",
        ] {
            assert!(!AlbAccess.sniff(other), "{}", String::from_utf8_lossy(other));
        }
    }

    #[test]
    fn decodes_entries_and_splits_endpoints_and_requests() {
        let (batches, bad) = crate::testing::decode_text(
            &AlbAccess,
            LOG,
            "alb.log",
            AWS_ALB_ACCESS,
            &[
                "TimeGenerated",
                "ClientIp",
                "ClientPort",
                "TargetIp",
                "RequestVerb",
                "RequestUrl",
                "RequestProtocol",
                "TargetProcessingTime",
                "ElbStatusCode",
                "SentBytes",
                "Classification",
                "ConnTraceId",
                "Type",
            ],
            100,
        );
        assert_eq!(
            bad,
            vec![
                "alb.log:line 3: field target_processing_time: expected a number, found \"lots\""
                    .to_string()
            ]
        );
        let b = &batches[0];
        assert_eq!(b.num_rows(), 2);
        let t = b
            .column(0)
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .unwrap();
        assert_eq!(
            t.value(0),
            parse_time("2024-08-02T08:23:24.186641Z").unwrap()
        );
        let s = |c: usize| b.column(c).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(s(1).value(0), "203.0.113.9");
        assert_eq!(s(1).value(1), "[2001:db8::7]");
        let port = b.column(2).as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!((port.value(0), port.value(1)), (51234, 40000));
        assert!(s(3).is_null(1));
        assert_eq!(s(4).value(0), "GET");
        assert_eq!(
            s(5).value(0),
            "https://shop.example.com:443/api/orders?id=7"
        );
        assert_eq!(s(6).value(0), "HTTP/1.1");
        assert!(s(4).is_null(1) && s(5).is_null(1), "a malformed request");
        let tpt = b.column(7).as_any().downcast_ref::<Float64Array>().unwrap();
        assert_eq!((tpt.value(0), tpt.value(1)), (0.045, -1.0));
        let status = b.column(8).as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(status.value(1), 400);
        let sent = b.column(9).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(sent.value(0), 2048);
        assert_eq!(s(10).value(1), "Severe");
        assert_eq!(s(11).value(0), "TID_1234abcd");
        assert!(s(11).is_null(1), "older entries end before conn_trace_id");
        assert_eq!(s(12).value(0), "https");
    }
}
