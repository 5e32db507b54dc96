//! CEF (ArcSight Common Event Format) lines, with or without a syslog header before them:
//! `[syslog header] CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|key=value key=value`.
//!
//! Fills `CommonSecurityLog`. The header fields go to DeviceVendor, DeviceProduct, DeviceVersion,
//! DeviceEventClassID, Activity and LogSeverity; extension keys go to the columns Microsoft's CEF
//! mapping names; other keys, and values that do not fit their column's type, go to
//! AdditionalExtensions as `key=value;` pairs. Escapes follow the CEF spec: `\|` and `\\` in the
//! header, `\=`, `\\`, `\n` and `\r` in extension values; a value runs to the next ` key=`.
//!
//! TimeGenerated is the event's `rt` (epoch milliseconds, RFC 3339, or `MMM dd yyyy HH:mm:ss[.SSS]
//! [zone]`, UTC without a zone), else the syslog header's time (see the `syslog` format for the
//! year of RFC 3164 times), else empty.

use std::borrow::Cow;
use std::io::BufRead;
use std::path::Path;

use spoor_catalog::{KqlType, TableDef};

use crate::batch::{Batcher, Decoding, RowDecoder, Scalar, convert, parse_time};
use crate::lines::Lines;
use crate::syslog::{parse_header, reference_month};
use crate::{Batches, Format, Position, SourceError, check_table};

/// CEF over syslog.
pub struct Cef;

pub const COMMON_SECURITY_LOG: &str = "CommonSecurityLog";

/// CEF extension key → CommonSecurityLog column (Microsoft's CEF and CommonSecurityLog field
/// mapping).
const KEYS: &[(&str, &str)] = &[
    ("act", "DeviceAction"),
    ("app", "ApplicationProtocol"),
    ("cat", "DeviceEventCategory"),
    ("cnt", "EventCount"),
    ("destinationDnsDomain", "DestinationDnsDomain"),
    ("destinationServiceName", "DestinationServiceName"),
    (
        "destinationTranslatedAddress",
        "DestinationTranslatedAddress",
    ),
    ("destinationTranslatedPort", "DestinationTranslatedPort"),
    ("deviceDirection", "CommunicationDirection"),
    ("deviceDnsDomain", "DeviceDnsDomain"),
    ("deviceExternalId", "DeviceExternalID"),
    ("deviceFacility", "DeviceFacility"),
    ("deviceInboundInterface", "DeviceInboundInterface"),
    ("deviceNtDomain", "DeviceNtDomain"),
    ("deviceOutboundInterface", "DeviceOutboundInterface"),
    ("devicePayloadId", "DevicePayloadId"),
    ("deviceProcessName", "ProcessName"),
    ("deviceTranslatedAddress", "DeviceTranslatedAddress"),
    ("dhost", "DestinationHostName"),
    ("dmac", "DestinationMACAddress"),
    ("dntdom", "DestinationNTDomain"),
    ("dpid", "DestinationProcessId"),
    ("dpriv", "DestinationUserPrivileges"),
    ("dproc", "DestinationProcessName"),
    ("dpt", "DestinationPort"),
    ("dst", "DestinationIP"),
    ("dtz", "DeviceTimeZone"),
    ("duid", "DestinationUserID"),
    ("duser", "DestinationUserName"),
    ("dvc", "DeviceAddress"),
    ("dvchost", "DeviceName"),
    ("dvcmac", "DeviceMacAddress"),
    ("dvcpid", "ProcessID"),
    ("end", "EndTime"),
    ("externalId", "ExternalID"),
    ("fileCreateTime", "FileCreateTime"),
    ("fileHash", "FileHash"),
    ("fileId", "FileID"),
    ("fileModificationTime", "FileModificationTime"),
    ("filePath", "FilePath"),
    ("filePermission", "FilePermission"),
    ("fileType", "FileType"),
    ("fname", "FileName"),
    ("fsize", "FileSize"),
    ("in", "ReceivedBytes"),
    ("msg", "Message"),
    ("oldFileCreateTime", "OldFileCreateTime"),
    ("oldFileHash", "OldFileHash"),
    ("oldFileId", "OldFileID"),
    ("oldFileModificationTime", "OldFileModificationTime"),
    ("oldFileName", "OldFileName"),
    ("oldFilePath", "OldFilePath"),
    ("oldFilePermission", "OldFilePermission"),
    ("oldFileSize", "OldFileSize"),
    ("oldFileType", "OldFileType"),
    ("out", "SentBytes"),
    ("outcome", "EventOutcome"),
    ("proto", "Protocol"),
    ("reason", "Reason"),
    ("request", "RequestURL"),
    ("requestClientApplication", "RequestClientApplication"),
    ("requestContext", "RequestContext"),
    ("requestCookies", "RequestCookies"),
    ("requestMethod", "RequestMethod"),
    ("rt", "ReceiptTime"),
    ("shost", "SourceHostName"),
    ("smac", "SourceMACAddress"),
    ("sntdom", "SourceNTDomain"),
    ("sourceDnsDomain", "SourceDnsDomain"),
    ("sourceServiceName", "SourceServiceName"),
    ("sourceTranslatedAddress", "SourceTranslatedAddress"),
    ("sourceTranslatedPort", "SourceTranslatedPort"),
    ("spid", "SourceProcessId"),
    ("spriv", "SourceUserPrivileges"),
    ("sproc", "SourceProcessName"),
    ("spt", "SourcePort"),
    ("src", "SourceIP"),
    ("start", "StartTime"),
    ("suid", "SourceUserID"),
    ("suser", "SourceUserName"),
    ("type", "EventType"),
    ("cs1", "DeviceCustomString1"),
    ("cs1Label", "DeviceCustomString1Label"),
    ("cs2", "DeviceCustomString2"),
    ("cs2Label", "DeviceCustomString2Label"),
    ("cs3", "DeviceCustomString3"),
    ("cs3Label", "DeviceCustomString3Label"),
    ("cs4", "DeviceCustomString4"),
    ("cs4Label", "DeviceCustomString4Label"),
    ("cs5", "DeviceCustomString5"),
    ("cs5Label", "DeviceCustomString5Label"),
    ("cs6", "DeviceCustomString6"),
    ("cs6Label", "DeviceCustomString6Label"),
    ("cn1", "DeviceCustomNumber1"),
    ("cn1Label", "DeviceCustomNumber1Label"),
    ("cn2", "DeviceCustomNumber2"),
    ("cn2Label", "DeviceCustomNumber2Label"),
    ("cn3", "DeviceCustomNumber3"),
    ("cn3Label", "DeviceCustomNumber3Label"),
    ("cfp1", "DeviceCustomFloatingPoint1"),
    ("cfp1Label", "DeviceCustomFloatingPoint1Label"),
    ("cfp2", "DeviceCustomFloatingPoint2"),
    ("cfp2Label", "DeviceCustomFloatingPoint2Label"),
    ("cfp3", "DeviceCustomFloatingPoint3"),
    ("cfp3Label", "DeviceCustomFloatingPoint3Label"),
    ("cfp4", "DeviceCustomFloatingPoint4"),
    ("cfp4Label", "DeviceCustomFloatingPoint4Label"),
    ("c6a1", "DeviceCustomIPv6Address1"),
    ("c6a1Label", "DeviceCustomIPv6Address1Label"),
    ("c6a2", "DeviceCustomIPv6Address2"),
    ("c6a2Label", "DeviceCustomIPv6Address2Label"),
    ("c6a3", "DeviceCustomIPv6Address3"),
    ("c6a3Label", "DeviceCustomIPv6Address3Label"),
    ("c6a4", "DeviceCustomIPv6Address4"),
    ("c6a4Label", "DeviceCustomIPv6Address4Label"),
    ("deviceCustomDate1", "DeviceCustomDate1"),
    ("deviceCustomDate1Label", "DeviceCustomDate1Label"),
    ("deviceCustomDate2", "DeviceCustomDate2"),
    ("deviceCustomDate2Label", "DeviceCustomDate2Label"),
    ("flexDate1", "FlexDate1"),
    ("flexDate1Label", "FlexDate1Label"),
    ("flexNumber1", "FlexNumber1"),
    ("flexNumber1Label", "FlexNumber1Label"),
    ("flexNumber2", "FlexNumber2"),
    ("flexNumber2Label", "FlexNumber2Label"),
    ("flexString1", "FlexString1"),
    ("flexString1Label", "FlexString1Label"),
    ("flexString2", "FlexString2"),
    ("flexString2Label", "FlexString2Label"),
];

/// Where `CEF:<version>|` starts in a line (`CEF: 0|` with a space is seen too).
pub(crate) fn find_cef(line: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = line[from..].find("CEF:") {
        let at = from + i;
        let rest = line[at + 4..].trim_start_matches(' ');
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && rest.as_bytes().get(digits) == Some(&b'|') {
            return Some(at);
        }
        from = at + 4;
    }
    None
}

/// A decoded CEF record.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CefRecord<'a> {
    /// Vendor, product, version, signature ID, name, severity.
    pub(crate) header: [Cow<'a, str>; 6],
    pub(crate) ext: Vec<(&'a str, Cow<'a, str>)>,
}

fn unescape(s: &str, ext: bool) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') if ext => out.push('\n'),
            Some('r') if ext => out.push('\r'),
            Some(n @ ('\\' | '|' | '=')) => out.push(n),
            Some(n) => {
                out.push('\\');
                out.push(n);
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

fn is_key_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-' | b'[' | b']')
}

/// Parses `CEF:0|...` (from `find_cef`).
pub(crate) fn parse_cef(s: &str) -> Result<CefRecord<'_>, String> {
    let body = s["CEF:".len()..].trim_start_matches(' ');
    let b = body.as_bytes();
    let mut fields = Vec::with_capacity(7);
    let (mut start, mut i) = (0, 0);
    while i < b.len() && fields.len() < 7 {
        match b[i] {
            b'\\' => i += 1,
            b'|' => {
                fields.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if fields.len() < 7 {
        return Err(format!(
            "CEF header has {} of its 7 `|`-separated fields (CEF:Version|Vendor|Product|Version|SignatureID|Name|Severity|)",
            fields.len()
        ));
    }
    let ext = body[start.min(body.len())..].trim();
    let header = [1, 2, 3, 4, 5, 6].map(|k| unescape(fields[k], false));
    Ok(CefRecord {
        header,
        ext: parse_extension(ext),
    })
}

/// `key=value key=value`, a value running to the space before the next `key=`.
fn parse_extension(ext: &str) -> Vec<(&str, Cow<'_, str>)> {
    let b = ext.as_bytes();
    // Starts of keys: (key start, '=' position).
    let mut keys = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'=' => {
                let mut k = i;
                while k > 0 && is_key_char(b[k - 1]) {
                    k -= 1;
                }
                if k < i && (k == 0 || b[k - 1] == b' ') {
                    keys.push((k, i));
                }
            }
            _ => {}
        }
        i += 1;
    }
    let mut out = Vec::with_capacity(keys.len());
    for (n, &(k, eq)) in keys.iter().enumerate() {
        let end = keys.get(n + 1).map_or(b.len(), |&(next, _)| next);
        let value = ext[eq + 1..end].trim_end_matches(' ');
        out.push((&ext[k..eq], unescape(value, true)));
    }
    out
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A CEF time: epoch milliseconds, RFC 3339, or `MMM dd yyyy HH:mm:ss[.SSS] [zone]`.
pub(crate) fn cef_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if !s.is_empty() && s.len() <= 15 && s.bytes().all(|c| c.is_ascii_digit()) {
        return s.parse::<i64>().ok()?.checked_mul(1_000_000);
    }
    if let Some(t) = parse_time(s) {
        return Some(t);
    }
    let mut w = s.split(' ').filter(|w| !w.is_empty());
    let m = w.next()?;
    let month = MONTHS.iter().position(|x| *x == m)? + 1;
    let day: u32 = w.next()?.parse().ok()?;
    let year: i32 = w.next()?.parse().ok()?;
    let time = w.next()?;
    let iso = format!("{year:04}-{month:02}-{day:02}T{time}");
    match w.next() {
        None => parse_time(&iso),
        Some(z) if z.len() == 5 && (z.starts_with('+') || z.starts_with('-')) => {
            parse_time(&format!("{iso}{}:{}", &z[..3], &z[3..]))
        }
        Some("UTC" | "GMT" | "Z") => parse_time(&iso),
        Some(_) => None,
    }
}

impl Format for Cef {
    fn name(&self) -> &'static str {
        "cef"
    }

    fn description(&self) -> &'static str {
        "CEF (Common Event Format) lines, with or without a syslog header before `CEF:0|...`"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[COMMON_SECURITY_LOG]
    }

    fn notes(&self, head: &[u8], path: &Path, _tables: &[&'static str]) -> Vec<String> {
        if crate::syslog::has_yearless_time(head) {
            vec![format!(
                "lines without rt take their time from the syslog header; {}",
                crate::syslog::year_note(path)
            )]
        } else {
            Vec::new()
        }
    }

    fn sniff(&self, head: &[u8]) -> bool {
        let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        let text = String::from_utf8_lossy(head);
        let Some(first) = text.lines().find(|l| !l.trim().is_empty()) else {
            return false;
        };
        match find_cef(first) {
            Some(0) => true,
            Some(at) => {
                parse_header(first[..at].trim_end()).is_ok() || first[..at].trim().is_empty()
            }
            None => false,
        }
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
                    "DeviceVendor" => Want::Header(0),
                    "DeviceProduct" => Want::Header(1),
                    "DeviceVersion" => Want::Header(2),
                    "DeviceEventClassID" => Want::Header(3),
                    "Activity" => Want::Header(4),
                    "LogSeverity" => Want::Header(5),
                    "TimeGenerated" => Want::Time,
                    "Computer" => Want::Computer,
                    "AdditionalExtensions" => Want::Additional,
                    "Type" => Want::Type,
                    name => KEYS
                        .iter()
                        .position(|(_, col)| *col == name)
                        .map_or(Want::Null, Want::Key),
                };
                (want, c.ty)
            })
            .collect();
        let decoder = CefDecoder {
            columns,
            reference: reference_month(file),
        };
        Ok(Box::new(Decoding::new(
            Lines::new(input),
            decoder,
            batcher,
            file,
        )))
    }
}

/// What a projected column of CommonSecurityLog holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// A header field (0 = vendor ... 5 = severity).
    Header(usize),
    Time,
    Computer,
    Additional,
    Type,
    /// The extension key `KEYS[i]`.
    Key(usize),
    Null,
}

struct CefDecoder {
    columns: Vec<(Want, KqlType)>,
    reference: Option<(i32, u32)>,
}

/// The index in `KEYS` of the `rt` key.
fn rt_key() -> usize {
    KEYS.iter()
        .position(|(k, _)| *k == "rt")
        .expect("rt is mapped")
}

impl RowDecoder for CefDecoder {
    fn decode(
        &mut self,
        record: &[u8],
        _position: Position,
        batcher: &mut Batcher,
    ) -> Result<(), String> {
        let line = String::from_utf8_lossy(record);
        let at = find_cef(&line).ok_or("expected a CEF record (`CEF:0|Vendor|Product|...`)")?;
        let prefix = line[..at].trim();
        let header = if prefix.is_empty() {
            None
        } else {
            Some(parse_header(prefix).map_err(|e| format!("before CEF: {e}"))?)
        };
        let cef = parse_cef(&line[at..])?;
        let mut additional = String::new();
        // (index in KEYS, value) of the mapped keys; the last one of a key wins.
        let mut mapped: Vec<(usize, &str)> = Vec::with_capacity(cef.ext.len());
        for (k, v) in &cef.ext {
            match KEYS.iter().position(|(key, _)| key == k) {
                Some(i) => mapped.push((i, v)),
                None => {
                    additional.push_str(k);
                    additional.push('=');
                    additional.push_str(v);
                    additional.push(';');
                }
            }
        }
        let value_of = |key: usize| {
            mapped
                .iter()
                .rev()
                .find(|(i, _)| *i == key)
                .map(|(_, v)| *v)
        };
        let time = value_of(rt_key())
            .and_then(cef_time)
            .or_else(|| header.as_ref().and_then(|h| h.nanos(self.reference)));
        let mut values = Vec::with_capacity(self.columns.len());
        for &(want, ty) in &self.columns {
            values.push(match want {
                Want::Header(i) => Scalar::Str(Cow::Borrowed(cef.header[i].as_ref())),
                Want::Time => time.map_or(Scalar::Null, Scalar::Nanos),
                Want::Computer => header
                    .as_ref()
                    .and_then(|h| h.host)
                    .map_or(Scalar::Null, |h| Scalar::Str(Cow::Borrowed(h))),
                // Filled below, when every value that did not fit is known.
                Want::Additional => Scalar::Null,
                Want::Type => Scalar::Str(Cow::Borrowed(COMMON_SECURITY_LOG)),
                Want::Null => Scalar::Null,
                Want::Key(key) => match value_of(key) {
                    None | Some("") => Scalar::Null,
                    Some(v) => {
                        let converted = if ty == KqlType::DateTime {
                            cef_time(v).map(Scalar::Nanos).ok_or(())
                        } else {
                            convert(Cow::Borrowed(v), ty).map_err(|_| ())
                        };
                        match converted {
                            Ok(s) => s,
                            // Kept rather than lost: the text goes to AdditionalExtensions.
                            Err(()) => {
                                if v != "-" {
                                    additional.push_str(&format!("{}={v};", KEYS[key].0));
                                }
                                Scalar::Null
                            }
                        }
                    }
                },
            });
        }
        if let Some(i) = self
            .columns
            .iter()
            .position(|(w, _)| *w == Want::Additional)
            && !additional.is_empty()
        {
            values[i] = Scalar::Str(Cow::Owned(additional));
        }
        batcher.push(&values);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, Int32Array, StringArray, TimestampNanosecondArray};

    #[test]
    fn header_and_extension_escapes() {
        let line = r"CEF:0|Sec\|Co|IDS|1.0|100|Port scan|7|src=10.0.0.1 msg=a \= b\\c\nnext cs1=x y z cs1Label=Rule Name foo=bar";
        let r = parse_cef(line).unwrap();
        assert_eq!(r.header[0], "Sec|Co");
        assert_eq!(r.header[5], "7");
        assert_eq!(
            r.ext,
            vec![
                ("src", Cow::Borrowed("10.0.0.1")),
                ("msg", Cow::Owned("a = b\\c\nnext".into())),
                ("cs1", Cow::Borrowed("x y z")),
                ("cs1Label", Cow::Borrowed("Rule Name")),
                ("foo", Cow::Borrowed("bar")),
            ]
        );
        assert!(parse_cef("CEF:0|a|b|c").is_err());
        assert_eq!(
            find_cef("Aug  3 10:49:35 Barracuda CEF: 0|B|W|1|WAF|WAF|4| a=b"),
            Some(26)
        );
        assert_eq!(find_cef("CEF:x|"), None);
    }

    #[test]
    fn cef_times() {
        let t = parse_time("2022-08-03T10:49:35.038Z").unwrap();
        assert_eq!(cef_time("1659523775038"), Some(t));
        assert_eq!(
            cef_time("May 11 2022 07:11:59.900 +0000"),
            parse_time("2022-05-11T07:11:59.900Z")
        );
        assert_eq!(
            cef_time("2022-07-25T04:56:13-05:00"),
            parse_time("2022-07-25T09:56:13Z")
        );
        assert_eq!(cef_time("soon"), None);
    }

    #[test]
    fn decodes_rows_and_keeps_what_does_not_fit() {
        let log = "<134>Aug  3 10:49:35 fw1 CEF:0|Acme|FW|2|deny|Blocked|5|rt=1659523775038 src=10.0.0.1 spt=notaport dpt=443 act=blocked zz=1
garbage line
CEF:0|Acme|FW|2|allow|Allowed
";
        assert!(Cef.sniff(log.as_bytes()));
        let (batches, bad) = crate::testing::decode_text(
            &Cef,
            log,
            "cef.log",
            COMMON_SECURITY_LOG,
            &[
                "DeviceVendor",
                "SourcePort",
                "DestinationPort",
                "DeviceAction",
                "AdditionalExtensions",
                "TimeGenerated",
                "Computer",
            ],
            10,
        );
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert!(
            bad[0].contains("line 2") && bad[1].contains("line 3"),
            "{bad:?}"
        );
        let b = &batches[0];
        assert_eq!(b.num_rows(), 1);
        let ports = b.column(1).as_any().downcast_ref::<Int32Array>().unwrap();
        assert!(ports.is_null(0));
        let ports = b.column(2).as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(ports.value(0), 443);
        let extra = b.column(4).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(extra.value(0), "zz=1;spt=notaport;");
        let t = b
            .column(5)
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .unwrap();
        assert_eq!(t.value(0), parse_time("2022-08-03T10:49:35.038Z").unwrap());
        let c = b.column(6).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(c.value(0), "fw1");
    }
}
