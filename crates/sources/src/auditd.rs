//! Linux audit daemon logs (`/var/log/audit/audit.log`): one record per line,
//! `[node=HOST ]type=TYPE msg=audit(SECONDS.MILLIS:SERIAL): key=value ...`, with the enriched
//! format's interpreted fields after a `\x1d` separator (`SYSCALL=openat UID="root" ...`).
//!
//! Values are bare (up to the next space), in double quotes, or in single quotes (`msg='...'`
//! of user-space records, which holds more pairs: they are read as the record's own fields).
//! Fields that may hold any bytes are written hex-encoded when they contain a space, a quote or
//! a control character (`exe`, `comm`, `name`, `proctitle`, the arguments of EXECVE ...); they
//! are decoded here, with NULs (between proctitle's arguments) read as spaces.
//! Reference: <https://github.com/linux-audit/audit-documentation/wiki/SPEC-Audit-Event-Enrichment>
//!
//! Fills `LinuxAuditLog`: one row per record (the records of one event share AuditID), every
//! field also in `AuditFields`.

use std::borrow::Cow;
use std::io::BufRead;
use std::path::Path;

use spoor_catalog::{KqlType, TableDef};

use crate::batch::{Batcher, Decoding, RowDecoder, Scalar, convert};
use crate::lines::Lines;
use crate::spaced::sniff_lines;
use crate::{Batches, Format, Position, SourceError, check_table};

/// The auditd log format.
pub struct Auditd;

pub const LINUX_AUDIT_LOG: &str = "LinuxAuditLog";

/// Fields auditd hex-encodes when their value is not plain text.
const ENCODED: &[&str] = &[
    "acct",
    "cmd",
    "comm",
    "cwd",
    "data",
    "dir",
    "exe",
    "file",
    "grp",
    "key",
    "name",
    "new",
    "ocomm",
    "old",
    "path",
    "proctitle",
    "vm",
    "watch",
];

/// A record's header and fields.
#[derive(Debug, Default)]
struct Record<'a> {
    node: Option<&'a str>,
    kind: &'a str,
    /// Nanoseconds since the epoch.
    time: i64,
    id: &'a str,
    serial: &'a str,
    /// The fields, raw ones first, then the enriched ones, decoded.
    fields: Vec<(&'a str, Cow<'a, str>)>,
}

impl Record<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_ref())
    }
}

/// `type=... msg=audit(...):`, after an optional `node=...`: the header, and the rest of the line.
fn header(line: &str) -> Option<(Option<&str>, &str, &str, &str)> {
    let mut rest = line.trim_start_matches('\u{feff}');
    let mut node = None;
    if let Some(r) = rest.strip_prefix("node=") {
        let end = r.find(' ')?;
        node = Some(&r[..end]);
        rest = &r[end + 1..];
    }
    let r = rest.strip_prefix("type=")?;
    let end = r.find(' ')?;
    let kind = &r[..end];
    let r = r[end + 1..].strip_prefix("msg=audit(")?;
    let close = r.find("):")?;
    Some((node, kind, &r[..close], &r[close + 2..]))
}

fn parse(line: &str) -> Result<Record<'_>, String> {
    let (node, kind, id, body) =
        header(line).ok_or("expected `type=TYPE msg=audit(SECONDS.MILLIS:SERIAL): ...`")?;
    let (stamp, serial) = id
        .split_once(':')
        .ok_or_else(|| format!("msg=audit({id}): expected SECONDS.MILLIS:SERIAL"))?;
    let time = epoch_nanos(stamp)
        .ok_or_else(|| format!("msg=audit({id}): {stamp:?} is not a time in seconds"))?;
    let mut record = Record {
        node,
        kind,
        time,
        id,
        serial,
        fields: Vec::new(),
    };
    let (raw, enriched) = match body.split_once('\u{1d}') {
        Some((raw, enriched)) => (raw, Some(enriched)),
        None => (body, None),
    };
    pairs(raw, kind, &mut record.fields);
    if let Some(e) = enriched {
        pairs(e, kind, &mut record.fields);
    }
    Ok(record)
}

/// `SECONDS[.FRACTION]` as nanoseconds, exactly (no float rounding).
fn epoch_nanos(stamp: &str) -> Option<i64> {
    let (seconds, fraction) = stamp.split_once('.').unwrap_or((stamp, ""));
    if seconds.is_empty()
        || fraction.len() > 9
        || !seconds
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let nanos: i64 = format!("{fraction:0<9}").parse().ok()?;
    seconds
        .parse::<i64>()
        .ok()?
        .checked_mul(1_000_000_000)?
        .checked_add(nanos)
}

/// Reads `key=value` pairs into `out` (a single-quoted value's own pairs in its place).
fn pairs<'a>(mut s: &'a str, kind: &str, out: &mut Vec<(&'a str, Cow<'a, str>)>) {
    loop {
        s = s.trim_start();
        let Some(eq) = s.find('=') else { return };
        let key = &s[..eq];
        if key.contains(' ') {
            // A word without `=` (free text in some records): passed over.
            let space = key.find(' ').unwrap_or(key.len());
            s = &s[space..];
            continue;
        }
        let rest = &s[eq + 1..];
        let (value, quoted, next) = match rest.as_bytes().first() {
            Some(&q @ (b'"' | b'\'')) => {
                let close = rest[1..].find(q as char).map_or(rest.len(), |i| i + 1);
                let value = &rest[1..close.max(1)];
                (value, Some(q), &rest[(close + 1).min(rest.len())..])
            }
            _ => {
                let end = rest.find(' ').unwrap_or(rest.len());
                (&rest[..end], None, &rest[end..])
            }
        };
        if quoted == Some(b'\'') {
            pairs(value, kind, out);
        } else {
            let encoded = quoted.is_none()
                && (ENCODED.contains(&key)
                    || (kind == "EXECVE"
                        && key.starts_with('a')
                        && key[1..].parse::<u32>().is_ok()));
            let value = match encoded.then(|| unhex(value)).flatten() {
                Some(decoded) => Cow::Owned(decoded),
                None => Cow::Borrowed(value),
            };
            out.push((key, value));
        }
        s = next;
    }
}

/// Hex text decoded (NULs as spaces); None when it is not hex.
fn unhex(s: &str) -> Option<String> {
    if s.len() < 2 || !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map(|b| if b == 0 { b' ' } else { b }))
        .collect::<Result<_, _>>()
        .ok()?;
    Some(String::from_utf8_lossy(&bytes).trim_end().to_string())
}

impl Format for Auditd {
    fn name(&self) -> &'static str {
        "auditd"
    }

    fn description(&self) -> &'static str {
        "Linux audit daemon logs (type=... msg=audit(...): key=value ..., raw or enriched)"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[LINUX_AUDIT_LOG]
    }

    fn sniff(&self, head: &[u8]) -> bool {
        sniff_lines(head, |l| header(l).is_some())
    }

    fn splittable(&self, _head: &[u8]) -> bool {
        // One record per line.
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
                    "Type" => Want::Const(LINUX_AUDIT_LOG),
                    "RecordType" => Want::Kind,
                    "AuditID" => Want::Id,
                    "SerialNumber" => Want::Serial,
                    "Computer" | "node" => Want::Node,
                    "RawRecord" => Want::Raw,
                    "AuditFields" => Want::All,
                    // The enriched (interpreted) ids.
                    "audit_user" => Want::Field("AUID"),
                    "effective_user" => Want::Field("EUID"),
                    "effective_group" => Want::Field("EGID"),
                    "group" => Want::Field("GID"),
                    name => Want::Column(name.to_string()),
                };
                (want, c.ty)
            })
            .collect();
        Ok(Box::new(Decoding::new(
            Lines::new(input),
            AuditDecoder { columns },
            batcher,
            file,
        )))
    }
}

#[derive(Debug, Clone)]
enum Want {
    Time,
    Const(&'static str),
    Kind,
    Id,
    Serial,
    Node,
    Raw,
    All,
    /// A field under another name than its column's.
    Field(&'static str),
    /// The field named like the column.
    Column(String),
}

struct AuditDecoder {
    columns: Vec<(Want, KqlType)>,
}

impl RowDecoder for AuditDecoder {
    fn decode(
        &mut self,
        record: &[u8],
        _position: Position,
        batcher: &mut Batcher,
    ) -> Result<(), String> {
        // Decoded values may hold any bytes: U+FFFD rather than a lost line.
        let line = String::from_utf8_lossy(record);
        let line = line.trim_end_matches(['\r', '\n']);
        let r = parse(line)?;
        let mut values = Vec::with_capacity(self.columns.len());
        for (want, ty) in &self.columns {
            let ty = *ty;
            let text = |s: &str| Scalar::Str(Cow::Owned(s.to_string()));
            values.push(match want {
                Want::Time => Scalar::Nanos(r.time),
                Want::Const(s) => Scalar::Str(Cow::Borrowed(*s)),
                Want::Kind => text(r.kind),
                Want::Id => text(r.id),
                Want::Serial => text(r.serial),
                Want::Node => r.node.map_or(Scalar::Null, text),
                Want::Raw => text(line),
                Want::All => {
                    let mut map = serde_json::Map::new();
                    for (k, v) in &r.fields {
                        map.entry(k.to_string())
                            .or_insert_with(|| serde_json::Value::String(v.to_string()));
                    }
                    Scalar::Str(Cow::Owned(serde_json::Value::Object(map).to_string()))
                }
                // A field of another shape than its column's (`auid=unset`) is null: one odd
                // field never costs the record.
                Want::Field(key) => field(&r, key, ty),
                Want::Column(key) => field(&r, key, ty),
            });
        }
        batcher.push(&values);
        Ok(())
    }
}

/// A field converted to its column's type; null when absent, or of another shape
/// (`auid=unset`): one odd field never costs the record.
fn field(r: &Record<'_>, key: &str, ty: KqlType) -> Scalar<'static> {
    r.get(key)
        .and_then(|v| convert(Cow::Owned(v.to_string()), ty).ok())
        .map_or(Scalar::Null, |s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::decode_text;
    use arrow::array::{Array, Int64Array, StringArray, TimestampNanosecondArray};

    const LOG: &str = "type=SYSCALL msg=audit(1714557600.123:4242): arch=c000003e syscall=59 success=yes exit=0 a0=55d1 a1=55d2 a2=55d3 a3=0 items=2 ppid=1000 pid=1001 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm=\"chmod\" exe=\"/usr/bin/chmod\" key=\"perm_mod\"\u{1d}ARCH=x86_64 SYSCALL=execve AUID=\"alice\" UID=\"root\" GID=\"root\" EUID=\"root\" EGID=\"root\"\n\
type=EXECVE msg=audit(1714557600.123:4242): argc=3 a0=\"chmod\" a1=\"+x\" a2=2F746D702F6D7920736372697074\n\
node=web1 type=PROCTITLE msg=audit(1714557600.123:4242): proctitle=63686D6F64002B78002F746D702F6D7920736372697074\n\
type=USER_LOGIN msg=audit(1714557700.000:4300): pid=1712 uid=0 auid=4294967295 ses=4294967295 msg='op=login id=1000 exe=\"/usr/sbin/sshd\" hostname=other-host addr=10.10.10.10 terminal=ssh res=failed'\n\
this line is not an audit record\n";

    fn column<'a>(b: &'a arrow::record_batch::RecordBatch, name: &str) -> &'a dyn Array {
        b.column(b.schema().index_of(name).unwrap()).as_ref()
    }

    #[test]
    fn records_decode_with_enriched_and_encoded_fields() {
        let (batches, bad) = decode_text(
            &Auditd,
            LOG,
            "audit.log",
            LINUX_AUDIT_LOG,
            &[
                "TimeGenerated",
                "RecordType",
                "AuditID",
                "comm",
                "a2",
                "auid",
                "audit_user",
                "Computer",
                "res",
                "exe",
                "AuditFields",
            ],
            100,
        );
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(bad[0].contains("type=TYPE msg=audit"), "{bad:?}");
        let b = &batches[0];
        let s = |name: &str, row: usize| {
            let a = column(b, name)
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap();
            a.is_valid(row).then(|| a.value(row).to_string())
        };
        assert_eq!(b.num_rows(), 4);
        let kinds: Vec<String> = (0..4).map(|r| s("RecordType", r).unwrap()).collect();
        assert_eq!(kinds, ["SYSCALL", "EXECVE", "PROCTITLE", "USER_LOGIN"]);
        let times = column(b, "TimeGenerated")
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .unwrap();
        assert_eq!(times.value(0), 1_714_557_600_123_000_000);
        assert_eq!(s("AuditID", 0).as_deref(), Some("1714557600.123:4242"));
        assert_eq!(s("comm", 0).as_deref(), Some("chmod"));
        // EXECVE arguments are decoded; SYSCALL's are numbers and stay as written.
        assert_eq!(s("a2", 1).as_deref(), Some("/tmp/my script"));
        assert_eq!(s("a2", 0).as_deref(), Some("55d3"));
        assert_eq!(s("audit_user", 0).as_deref(), Some("alice"));
        assert_eq!(s("Computer", 2).as_deref(), Some("web1"));
        // A user-space record's msg='...' pairs are its own fields.
        assert_eq!(s("res", 3).as_deref(), Some("failed"));
        assert_eq!(s("exe", 3).as_deref(), Some("/usr/sbin/sshd"));
        let auid = column(b, "auid")
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(auid.value(3), 4_294_967_295);
        let all: serde_json::Value = serde_json::from_str(&s("AuditFields", 2).unwrap()).unwrap();
        assert_eq!(all["proctitle"], "chmod +x /tmp/my script");
        let all: serde_json::Value = serde_json::from_str(&s("AuditFields", 0).unwrap()).unwrap();
        assert_eq!(all["SYSCALL"], "execve");
    }

    #[test]
    fn sniffs_audit_logs_only() {
        assert!(Auditd.sniff(LOG.as_bytes()));
        assert!(Auditd.sniff(b"node=h1 type=DAEMON_START msg=audit(1.0:1): op=start\n"));
        assert!(!Auditd.sniff(b"Jan  1 00:00:00 host sshd[1]: type=x\n"));
        assert!(!Auditd.sniff(b"{\"type\":\"SYSCALL\"}\n"));
    }
}
