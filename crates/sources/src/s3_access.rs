//! Amazon S3 server access logs: space-separated fields in a fixed order, the time in brackets
//! and the request, referer and user agent in quotes:
//! `owner bucket [06/Feb/2019:00:00:38 +0000] 192.0.2.3 requester id REST.GET.OBJECT key "GET /k HTTP/1.1" 200 - 113 ...`.
//! AWS appends fields over the years (host_id... acl_required, source_region): a line must have
//! the first 17 (up to the user agent), later ones are read when present and unknown trailing
//! ones ignored. `-` is null.
//!
//! Fills `AWSS3ServerAccess` (Log Analytics names; TimeGenerated = the request time in UTC,
//! RequestDateTime the time as logged).

use std::borrow::Cow;
use std::io::BufRead;
use std::path::Path;

use spoor_catalog::{KqlType, TableDef};

use crate::batch::{Batcher, Decoding, RowDecoder, Scalar, convert};
use crate::lines::Lines;
use crate::spaced::{Field, parse_log_time, sniff_lines, split_fields};
use crate::{Batches, Format, Position, SourceError, check_table};

/// The S3 server access log format.
pub struct S3Access;

pub const AWS_S3_SERVER_ACCESS: &str = "AWSS3ServerAccess";

/// The fields in the order AWS writes them: (AWS's name, column, whether it must be a number).
const FIELDS: &[(&str, &str, bool)] = &[
    ("bucket_owner", "BucketOwner", false),
    ("bucket", "BucketName", false),
    ("time", "RequestDateTime", false),
    ("remote_ip", "RemoteIP", false),
    ("requester", "Requester", false),
    ("request_id", "RequestID", false),
    ("operation", "Operation", false),
    ("key", "Key", false),
    ("request_uri", "RequestURI", false),
    ("http_status", "HTTPStatus", true),
    ("error_code", "ErrorCode", false),
    ("bytes_sent", "BytesSent", true),
    ("object_size", "ObjectSize", true),
    ("total_time", "TotalTime", true),
    ("turn_around_time", "TurnAroundTime", true),
    ("referer", "Referrer", false),
    ("user_agent", "UserAgent", false),
    ("version_id", "VersionId", false),
    ("host_id", "HostId", false),
    ("signature_version", "SignatureVersion", false),
    ("cipher_suite", "CipherSuite", false),
    ("authentication_type", "AuthenticationType", false),
    ("host_header", "HostHeader", false),
    ("tls_version", "TLSVersion", false),
    ("access_point_arn", "AccessPointArn", false),
    ("acl_required", "AclRequired", false),
];

/// Fields every line has (up to the user agent; older logs end there).
const REQUIRED: usize = 17;
const TIME: usize = 2;
const OPERATION: usize = 6;

/// Splits and checks a line; the time in nanoseconds (UTC).
fn parse_s3<'a>(line: &'a str, fields: &mut Vec<Field<'a>>) -> Result<i64, String> {
    split_fields(line, true, fields)?;
    if fields.len() < REQUIRED {
        return Err(format!(
            "expected at least {REQUIRED} fields (bucket_owner ... user_agent), found {}",
            fields.len()
        ));
    }
    let time = fields[TIME];
    let nanos = time
        .bracketed
        .then(|| parse_log_time(time.text))
        .flatten()
        .ok_or_else(|| {
            format!(
                "field time: expected [06/Feb/2019:00:00:38 +0000], found {:?}",
                time.text
            )
        })?;
    for (i, (name, _, numeric)) in FIELDS.iter().enumerate().take(fields.len()) {
        let f = fields[i];
        if *numeric && f.text != "-" && !f.text.bytes().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "field {name}: expected a whole number, found {:?}",
                f.text
            ));
        }
    }
    Ok(nanos)
}

/// An S3 operation: `REST.GET.OBJECT`, `WEBSITE.GET.OBJECT`, `BATCH.DELETE.OBJECT`, `S3.EXPIRE.OBJECT`...
fn is_operation(s: &str) -> bool {
    s.contains('.')
        && s.bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'.' || c == b'_')
}

impl Format for S3Access {
    fn name(&self) -> &'static str {
        "s3-access"
    }

    fn description(&self) -> &'static str {
        "Amazon S3 server access logs (space-separated, [time] in brackets, quoted request and user agent)"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[AWS_S3_SERVER_ACCESS]
    }

    fn sniff(&self, head: &[u8]) -> bool {
        sniff_lines(head, |l| {
            let mut fields = Vec::new();
            parse_s3(l, &mut fields).is_ok()
                && is_operation(fields[OPERATION].text)
                && fields[8].quoted
                && fields[15].quoted
                && fields[16].quoted
        })
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
                    "Type" => Want::Const(AWS_S3_SERVER_ACCESS),
                    name => FIELDS
                        .iter()
                        .position(|f| f.1 == name)
                        .map_or(Want::Null, Want::Field),
                };
                (want, c.ty)
            })
            .collect();
        Ok(Box::new(Decoding::new(
            Lines::new(input),
            S3Decoder { columns },
            batcher,
            file,
        )))
    }
}

#[derive(Debug, Clone, Copy)]
enum Want {
    /// The field at this position.
    Field(usize),
    Time,
    Const(&'static str),
    Null,
}

struct S3Decoder {
    columns: Vec<(Want, KqlType)>,
}

impl RowDecoder for S3Decoder {
    fn decode(
        &mut self,
        record: &[u8],
        _position: Position,
        batcher: &mut Batcher,
    ) -> Result<(), String> {
        // Keys and user agents may hold bytes that are not UTF-8: U+FFFD rather than a lost line.
        let line = String::from_utf8_lossy(record);
        let mut fields = Vec::new();
        let time = parse_s3(&line, &mut fields)?;
        let mut values = Vec::with_capacity(self.columns.len());
        for &(want, ty) in &self.columns {
            values.push(match want {
                Want::Time => Scalar::Nanos(time),
                Want::Const(s) => Scalar::Str(Cow::Borrowed(s)),
                Want::Field(i) => match fields.get(i).and_then(Field::value) {
                    Some(t) => convert(Cow::Borrowed(t), ty)
                        .map_err(|e| format!("field {}: {e}", FIELDS[i].0))?,
                    None => Scalar::Null,
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
    use crate::batch::parse_time;
    use arrow::array::{Array, Int32Array, Int64Array, StringArray, TimestampNanosecondArray};

    const OWNER: &str = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";

    fn log() -> String {
        format!(
            "{OWNER} amzn-s3-demo-bucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 {OWNER} 3E57427F3EXAMPLE REST.GET.VERSIONING - \"GET /amzn-s3-demo-bucket1?versioning HTTP/1.1\" 200 - 113 - 7 - \"-\" \"S3Console/0.4\" - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader amzn-s3-demo-bucket1.s3.us-west-1.amazonaws.com TLSV1.2 - Yes us-east-1\n\
             {OWNER} amzn-s3-demo-bucket1 [06/Feb/2019:02:10:00 +0100] 198.51.100.9 arn:aws:iam::123456789012:user/ci 891CE47D2EXAMPLE REST.GET.OBJECT backups/db.sql.gz \"GET /backups/db.sql.gz HTTP/1.1\" 200 - 5242880 5242880 950 12 \"-\" \"aws-cli/2.15.0\" -\n\
             {OWNER} amzn-s3-demo-bucket1 [06/Feb/2019:00:00:40 +0000] 192.0.2.3 - A1206F460EXAMPLE REST.GET.OBJECT x \"GET /x HTTP/1.1\" 403 AccessDenied lots - 7 - \"-\" \"curl/8.0\" -\n"
        )
    }

    #[test]
    fn sniffs_s3_access_logs_only() {
        assert!(S3Access.sniff(log().as_bytes()));
        for other in [
            &b"203.0.113.7 - - [10/Oct/2023:13:55:36 -0700] \"GET / HTTP/1.1\" 200 2326 \"-\" \"curl/8.0\"\n"[..],
            b"Oct 10 13:55:36 web1 sshd[812]: Failed password for root from 203.0.113.7 port 22 ssh2\n",
            b"#Software: Microsoft Internet Information Services 10.0\n#Fields: date time cs-method cs-uri-stem sc-status\n",
            b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n",
            b"https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 \"GET https://www.example.com:443/ HTTP/1.1\" \"curl/7.46.0\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067\n",
        ] {
            assert!(!S3Access.sniff(other), "{}", String::from_utf8_lossy(other));
        }
    }

    #[test]
    fn decodes_old_and_new_field_sets() {
        let (batches, bad) = crate::testing::decode_text(
            &S3Access,
            &log(),
            "s3.log",
            AWS_S3_SERVER_ACCESS,
            &[
                "TimeGenerated",
                "Operation",
                "HTTPStatus",
                "BytesSent",
                "TurnAroundTime",
                "AclRequired",
                "Requester",
                "RequestDateTime",
                "Type",
            ],
            100,
        );
        assert_eq!(
            bad,
            vec![
                "s3.log:line 3: field bytes_sent: expected a whole number, found \"lots\""
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
        assert_eq!(t.value(1), parse_time("2019-02-06T01:10:00Z").unwrap());
        let s = |c: usize| b.column(c).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(s(1).value(1), "REST.GET.OBJECT");
        let status = b.column(2).as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(status.value(0), 200);
        let sent = b.column(3).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!((sent.value(0), sent.value(1)), (113, 5_242_880));
        let turn = b.column(4).as_any().downcast_ref::<Int32Array>().unwrap();
        assert!(turn.is_null(0));
        assert_eq!(turn.value(1), 12);
        assert_eq!(s(5).value(0), "Yes");
        assert!(s(5).is_null(1), "the older field set ends at version_id");
        assert_eq!(s(6).value(1), "arn:aws:iam::123456789012:user/ci");
        assert_eq!(s(7).value(1), "06/Feb/2019:02:10:00 +0100");
        assert_eq!(s(8).value(0), "AWSS3ServerAccess");
    }
}
