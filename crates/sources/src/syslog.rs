//! Syslog text files: RFC 3164 lines (`<PRI>Mmm dd hh:mm:ss host tag[pid]: msg`, also without
//! `<PRI>` as `/var/log/auth.log`, `/var/log/secure` and `/var/log/messages` write them), the
//! same with an RFC 3339 time (rsyslog's high-precision format), and RFC 5424 lines
//! (`<PRI>1 2023-08-09T10:00:00Z host app procid msgid [sd] msg`).
//!
//! Fills `Syslog` (every line) and `LinuxAuth` (the sshd, sudo and su authentication events).
//!
//! Times: an RFC 3164 time has no year and no zone. The year is the year of the file's
//! modification time (for a zip member, the archive's), or the year before for a line whose month
//! comes after the modification time's month (the file was written before it was last modified,
//! so a December line in a file modified in January is from the previous year). Times without a
//! zone are UTC; a time with a zone (RFC 3339, RFC 5424) is converted to UTC.

use std::borrow::Cow;
use std::io::BufRead;
use std::net::IpAddr;
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use spoor_catalog::TableDef;

use crate::batch::{Batcher, Decoding, RowDecoder, Scalar, parse_time};
use crate::lines::Lines;
use crate::{Batches, Format, Position, SourceError, check_table};

/// Syslog text files (RFC 3164 and RFC 5424).
pub struct Syslog;

pub const SYSLOG: &str = "Syslog";
pub const LINUX_AUTH: &str = "LinuxAuth";

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Facility names as the Log Analytics Syslog table writes them, by facility code.
const FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "security", "console", "clock", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// The time of a syslog header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderTime {
    /// Nanoseconds since the epoch, UTC.
    Full(i64),
    /// RFC 3164: month (1-12), day, seconds of the day; the year comes from the file.
    NoYear { month: u32, day: u32, secs: u32 },
}

/// The parts of a syslog line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header<'a> {
    pub(crate) pri: Option<u8>,
    pub(crate) time: HeaderTime,
    pub(crate) host: Option<&'a str>,
    pub(crate) app: Option<&'a str>,
    pub(crate) pid: Option<&'a str>,
    pub(crate) msg: &'a str,
}

impl Header<'_> {
    pub(crate) fn facility(&self) -> Option<&'static str> {
        self.pri.map(|p| FACILITIES[usize::from(p >> 3)])
    }

    pub(crate) fn severity(&self) -> Option<&'static str> {
        self.pri.map(|p| SEVERITIES[usize::from(p & 7)])
    }

    /// The header time in nanoseconds, with the year rule for RFC 3164 times.
    pub(crate) fn nanos(&self, reference: Option<(i32, u32)>) -> Option<i64> {
        match self.time {
            HeaderTime::Full(ns) => Some(ns),
            HeaderTime::NoYear { month, day, secs } => {
                let (year, ref_month) = reference?;
                let year = if month > ref_month { year - 1 } else { year };
                let date = NaiveDate::from_ymd_opt(year, month, day)?;
                let t = date.and_hms_opt(0, 0, 0)?.and_utc().timestamp() + i64::from(secs);
                t.checked_mul(1_000_000_000)
            }
        }
    }
}

/// `<PRI>`: 1 to 3 digits, at most 191.
fn split_pri(line: &str) -> Result<(Option<u8>, &str), String> {
    let Some(rest) = line.strip_prefix('<') else {
        return Ok((None, line));
    };
    let end = rest
        .find('>')
        .filter(|&e| (1..=3).contains(&e))
        .ok_or("expected <PRI> (a priority of 1 to 3 digits in angle brackets)")?;
    let pri: u8 = rest[..end]
        .parse()
        .ok()
        .filter(|&p| p <= 191)
        .ok_or_else(|| format!("priority {:?} is not a number from 0 to 191", &rest[..end]))?;
    Ok((Some(pri), &rest[end + 1..]))
}

/// The next space-separated word and what follows it (leading spaces skipped).
fn word(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start_matches(' ');
    if s.is_empty() {
        return None;
    }
    let end = s.find(' ').unwrap_or(s.len());
    Some((&s[..end], s[end..].strip_prefix(' ').unwrap_or(&s[end..])))
}

/// `Mmm dd hh:mm:ss ` (the day padded with a space or a zero).
fn rfc3164_time(s: &str) -> Option<(HeaderTime, &str)> {
    let b = s.as_bytes();
    if b.len() < 16 || b[3] != b' ' || b[9] != b':' || b[12] != b':' || b[15] != b' ' {
        return None;
    }
    let month = MONTHS.iter().position(|m| *m == &s[..3])? as u32 + 1;
    let day: u32 = s.get(4..6)?.trim_start().parse().ok()?;
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (h, m, sec) = (num(7..9)?, num(10..12)?, num(13..15)?);
    if !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    Some((
        HeaderTime::NoYear {
            month,
            day,
            secs: h * 3600 + m * 60 + sec.min(59),
        },
        &s[16..],
    ))
}

/// `Mmm dd yyyy hh:mm:ss ` (as Cisco and some appliances write it), UTC.
fn time_with_year(s: &str) -> Option<(HeaderTime, &str)> {
    let b = s.as_bytes();
    if b.len() < 21 || b[3] != b' ' || b[6] != b' ' || b[11] != b' ' || b[20] != b' ' {
        return None;
    }
    let month = MONTHS.iter().position(|m| *m == &s[..3])? + 1;
    let day: u32 = s[4..6].trim_start().parse().ok()?;
    let year = &s[7..11];
    if !year.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let iso = format!("{year}-{month:02}-{day:02}T{}Z", &s[12..20]);
    Some((HeaderTime::Full(parse_time(&iso)?), &s[21..]))
}

/// The RFC 3164 tag: `name[pid]:`, `name:` or `name[pid]`; None if the word is not a tag.
fn split_tag(s: &str) -> Option<(&str, Option<&str>, &str)> {
    let (w, rest) = word(s)?;
    let (w, colon) = match w.strip_suffix(':') {
        Some(w) => (w, true),
        None => (w, false),
    };
    if let Some(open) = w.find('[') {
        let pid = w[open + 1..].strip_suffix(']')?;
        if open == 0 || pid.is_empty() {
            return None;
        }
        return Some((&w[..open], Some(pid), rest));
    }
    (colon && !w.is_empty() && !w.contains('=')).then_some((w, None, rest))
}

/// Parses a syslog line (RFC 3164 with or without `<PRI>`, RFC 3339 times, RFC 5424).
pub(crate) fn parse_header(line: &str) -> Result<Header<'_>, String> {
    let (pri, rest) = split_pri(line)?;
    if pri.is_some()
        && let Some(r) = rest.strip_prefix("1 ")
    {
        return parse_5424(pri, r);
    }
    // Some senders put a space after <PRI>.
    let rest = if pri.is_some() {
        rest.trim_start_matches(' ')
    } else {
        rest
    };
    let (time, rest) = if let Some((t, rest)) = rfc3164_time(rest) {
        (t, rest)
    } else if let Some((t, rest)) = time_with_year(rest) {
        (t, rest)
    } else if rest.len() > 19 && rest.as_bytes()[4] == b'-' && rest.as_bytes()[10] == b'T' {
        let (t, rest) = word(rest).ok_or("expected a time")?;
        let ns = parse_time(t).ok_or_else(|| format!("expected an RFC 3339 time, found {t:?}"))?;
        (HeaderTime::Full(ns), rest)
    } else if let Some(header) = cisco_ios(pri, rest) {
        return Ok(header);
    } else {
        return Err(
            "expected a syslog header: `Mmm dd hh:mm:ss host tag: message`, an RFC 3339 time, \
             `<PRI>1 ` (RFC 5424) or a Cisco IOS `seq: Mmm dd hh:mm:ss.mmm: %FAC-SEV-MNEMONIC:`"
                .into(),
        );
    };
    let (host, rest) = match split_tag(rest) {
        // A tag right after the time: no host (some devices leave it out).
        Some(_) if !rest.starts_with(' ') && word(rest).is_some_and(|(w, _)| w.ends_with(':')) => {
            (None, rest)
        }
        _ => match word(rest) {
            Some((h, r)) => (Some(h), r),
            None => (None, rest),
        },
    };
    let (app, pid, msg) = match split_tag(rest) {
        Some((app, pid, msg)) => (Some(app), pid, msg),
        None => (None, None, rest.trim_start_matches(' ')),
    };
    Ok(Header {
        pri,
        time,
        host,
        app,
        pid,
        msg,
    })
}

/// Cisco IOS messages as a syslog server stores them when it adds no header of its own:
/// `[host ]seq: [*|.]Mmm dd hh:mm:ss[.mmm][ zone]: %FACILITY-SEVERITY-MNEMONIC: message`. The
/// `%...` code is the tag; a leading `*` or `.` (clock not synchronised) is ignored, and the time
/// is read as UTC like other times without a year.
fn cisco_ios(pri: Option<u8>, s: &str) -> Option<Header<'_>> {
    let is_seq = |w: &str| {
        w.strip_suffix(':')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
    };
    let (first, after_first) = word(s)?;
    let (host, rest) = if is_seq(first) {
        (None, after_first)
    } else {
        let (seq, rest) = word(after_first)?;
        if !is_seq(seq) {
            return None;
        }
        (Some(first), rest)
    };
    let rest = rest.trim_start_matches(['*', '.']);
    let end = rest.find(": %")?;
    let clock = rest.get(..15)?;
    let (time, _) = rfc3164_time(&format!("{clock} "))?;
    let after = &rest[end + 3..];
    let (code, msg) = after.split_once(": ").unwrap_or((after, ""));
    code.contains('-').then_some(Header {
        pri,
        time,
        host,
        app: Some(code),
        pid: None,
        msg,
    })
}

fn nil(s: &str) -> Option<&str> {
    (s != "-").then_some(s)
}

/// RFC 5424 after `<PRI>1 `: TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG].
fn parse_5424(pri: Option<u8>, s: &str) -> Result<Header<'_>, String> {
    let missing = |what: &str| format!("RFC 5424 line ends before its {what}");
    let (t, s) = word(s).ok_or_else(|| missing("timestamp"))?;
    let time = match t {
        "-" => return Err("RFC 5424 line without a timestamp (`-`)".into()),
        t => HeaderTime::Full(
            parse_time(t).ok_or_else(|| format!("expected an RFC 3339 timestamp, found {t:?}"))?,
        ),
    };
    let (host, s) = word(s).ok_or_else(|| missing("host name"))?;
    let (app, s) = word(s).ok_or_else(|| missing("app name"))?;
    let (pid, s) = word(s).ok_or_else(|| missing("process ID"))?;
    let (_msgid, s) = word(s).ok_or_else(|| missing("message ID"))?;
    let msg = skip_structured_data(s).ok_or("unterminated structured data (`[id k=\"v\"]`)")?;
    let msg = msg.strip_prefix('\u{feff}').unwrap_or(msg);
    Ok(Header {
        pri,
        time,
        host: nil(host),
        app: nil(app),
        pid: nil(pid),
        msg,
    })
}

/// The message after the structured data (`-` or `[...]` elements, `\]` and quoted `]` inside).
fn skip_structured_data(s: &str) -> Option<&str> {
    if let Some(rest) = s.strip_prefix('-') {
        return Some(rest.strip_prefix(' ').unwrap_or(rest));
    }
    if !s.starts_with('[') {
        return Some(s);
    }
    let b = s.as_bytes();
    let (mut i, mut quoted) = (0, false);
    while i < b.len() {
        match b[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b']' if !quoted && b.get(i + 1) != Some(&b'[') => {
                let rest = &s[i + 1..];
                return Some(rest.strip_prefix(' ').unwrap_or(rest));
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The year and month of the file's modification time (of the archive for a zip member).
pub(crate) fn reference_month(file: &Path) -> Option<(i32, u32)> {
    let meta = std::fs::metadata(file).ok().or_else(|| {
        let s = file.to_str()?;
        let archive = &s[..s.find(".zip!").map(|i| i + 4)?];
        std::fs::metadata(archive).ok()
    })?;
    let t: chrono::DateTime<chrono::Utc> = meta.modified().ok()?.into();
    Some((t.year(), t.month()))
}

/// What `notes` says about RFC 3164 times in `path`.
pub(crate) fn year_note(path: &Path) -> String {
    match reference_month(path) {
        Some((year, month)) => format!(
            "RFC 3164 times have no year or zone: read as UTC in {year} (the year the file was last \
             modified), or {} for months after {}",
            year - 1,
            MONTHS[month as usize - 1]
        ),
        None => "RFC 3164 times have no year and the file's modification time is unknown: \
                 TimeGenerated is left empty for them"
            .to_string(),
    }
}

/// Whether a syslog header in `head` has an RFC 3164 time (no year).
pub(crate) fn has_yearless_time(head: &[u8]) -> bool {
    String::from_utf8_lossy(head).lines().any(|l| {
        let l = match crate::cef::find_cef(l) {
            Some(at) => l[..at].trim_end(),
            None => l,
        };
        parse_header(l).is_ok_and(|h| matches!(h.time, HeaderTime::NoYear { .. }))
    })
}

fn is_cef(msg: &str) -> bool {
    crate::cef::find_cef(msg).is_some()
}

/// Whether `line` is a syslog line (and not CEF, which the `cef` format reads).
fn looks_like_syslog(line: &str) -> bool {
    match parse_header(line) {
        Ok(h) => {
            !is_cef(line)
                && (h.pri.is_some()
                    || h.app.is_some() && h.host.is_some()
                    || matches!(h.time, HeaderTime::NoYear { .. }) && h.host.is_some())
        }
        Err(_) => false,
    }
}

impl Format for Syslog {
    fn name(&self) -> &'static str {
        "syslog"
    }

    fn description(&self) -> &'static str {
        "Syslog text files, RFC 3164 (as /var/log/auth.log, secure, messages; with or without <PRI>) \
         and RFC 5424; sshd/sudo/su events also go to LinuxAuth"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[SYSLOG, LINUX_AUTH]
    }

    fn notes(&self, head: &[u8], path: &Path, _tables: &[&'static str]) -> Vec<String> {
        if has_yearless_time(head) {
            vec![year_note(path)]
        } else {
            Vec::new()
        }
    }

    fn sniff(&self, head: &[u8]) -> bool {
        let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        let text = String::from_utf8_lossy(head);
        let mut lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        // The last line may be cut by the end of the head.
        if lines.len() > 1 && !text.ends_with('\n') {
            lines.pop();
        }
        // The first line must be syslog, and most of the next ones (a damaged line is allowed).
        let lines = &lines[..lines.len().min(10)];
        let good = lines.iter().filter(|l| looks_like_syslog(l)).count();
        lines.first().is_some_and(|l| looks_like_syslog(l)) && good * 3 >= lines.len() * 2
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
        let columns: Vec<Col> = projection
            .iter()
            .map(|&i| Col::of(&table.columns[i].name))
            .collect();
        let decoder = SyslogDecoder {
            columns,
            auth: table.name == LINUX_AUTH,
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

/// The columns of Syslog and LinuxAuth that a line fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Time,
    Host,
    HostIp,
    Facility,
    Severity,
    Message,
    Process,
    ProcessId,
    Type,
    Action,
    User,
    TargetUser,
    SourceIp,
    SourcePort,
    AuthMethod,
    Command,
    Null,
}

impl Col {
    /// The column of this name in Syslog or LinuxAuth.
    fn of(name: &str) -> Col {
        match name {
            "TimeGenerated" | "EventTime" => Col::Time,
            "Computer" | "HostName" => Col::Host,
            "HostIP" => Col::HostIp,
            "Facility" => Col::Facility,
            "SeverityLevel" => Col::Severity,
            "SyslogMessage" => Col::Message,
            "ProcessName" | "Process" => Col::Process,
            "ProcessID" => Col::ProcessId,
            "Type" => Col::Type,
            "Action" => Col::Action,
            "User" => Col::User,
            "TargetUser" => Col::TargetUser,
            "SourceIp" => Col::SourceIp,
            "SourcePort" => Col::SourcePort,
            "AuthMethod" => Col::AuthMethod,
            "Command" => Col::Command,
            _ => Col::Null,
        }
    }
}

struct SyslogDecoder {
    columns: Vec<Col>,
    auth: bool,
    reference: Option<(i32, u32)>,
}

fn text(s: Option<&str>) -> Scalar<'_> {
    s.map_or(Scalar::Null, |s| Scalar::Str(Cow::Borrowed(s)))
}

fn int(s: Option<&str>) -> Scalar<'static> {
    s.and_then(|s| s.parse::<i32>().ok())
        .map_or(Scalar::Null, |v| Scalar::Int(v.into()))
}

impl RowDecoder for SyslogDecoder {
    fn decode(
        &mut self,
        record: &[u8],
        _position: Position,
        batcher: &mut Batcher,
    ) -> Result<(), String> {
        let line = String::from_utf8_lossy(record);
        let h = parse_header(&line)?;
        let time = h.nanos(self.reference).map_or(Scalar::Null, Scalar::Nanos);
        let (ev, table) = if self.auth {
            match auth_event(h.app, h.msg) {
                Some(ev) => (ev, LINUX_AUTH),
                None => return Ok(()),
            }
        } else {
            (AuthEvent::default(), SYSLOG)
        };
        let values: Vec<Scalar<'_>> = self
            .columns
            .iter()
            .map(|c| match c {
                Col::Time => time.clone(),
                Col::Host => text(h.host),
                Col::HostIp => text(h.host.filter(|s| s.parse::<IpAddr>().is_ok())),
                Col::Facility => text(h.facility()),
                Col::Severity => text(h.severity()),
                Col::Message => text(Some(h.msg)),
                Col::Process => text(h.app),
                Col::ProcessId => int(h.pid),
                Col::Type => text(Some(table)),
                Col::Action => text(Some(ev.action).filter(|a| !a.is_empty())),
                Col::User => text(ev.user),
                Col::TargetUser => text(ev.target),
                Col::SourceIp => text(ev.ip),
                Col::SourcePort => int(ev.port),
                Col::AuthMethod => text(ev.method),
                Col::Command => text(ev.command),
                Col::Null => Scalar::Null,
            })
            .collect();
        batcher.push(&values);
        Ok(())
    }
}

/// An authentication event of sshd, sudo or su.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct AuthEvent<'a> {
    pub(crate) action: &'static str,
    pub(crate) user: Option<&'a str>,
    pub(crate) target: Option<&'a str>,
    pub(crate) ip: Option<&'a str>,
    pub(crate) port: Option<&'a str>,
    pub(crate) method: Option<&'a str>,
    pub(crate) command: Option<&'a str>,
}

/// `... from IP port N ...`: the address and port.
fn from_ip_port(s: &str) -> (Option<&str>, Option<&str>) {
    let Some((_, rest)) = s.rsplit_once(" from ") else {
        return (None, None);
    };
    let mut w = rest.split(' ');
    // An address, or a host name when sshd resolves them (UseDNS).
    let ip = w.next().filter(|ip| !ip.is_empty());
    let port = match (w.next(), w.next()) {
        (Some("port"), Some(p)) => Some(p),
        _ => None,
    };
    (ip, port)
}

/// `key=value` in a PAM message (`rhost=1.2.3.4  user=root`).
fn pam_field<'a>(msg: &'a str, key: &str) -> Option<&'a str> {
    msg.split(' ')
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .filter(|v| !v.is_empty())
}

/// The authentication event of a line of `app`, if it is one.
pub(crate) fn auth_event<'a>(app: Option<&str>, msg: &'a str) -> Option<AuthEvent<'a>> {
    let app = app?;
    if msg.starts_with("pam_unix(") && msg.contains("): authentication failure;") {
        return Some(AuthEvent {
            action: "Authentication failure",
            user: pam_field(msg, "user"),
            ip: pam_field(msg, "rhost"),
            ..AuthEvent::default()
        });
    }
    match app {
        // OpenSSH 9.8 and later log from sshd-session (and sshd-auth) processes.
        "sshd" | "sshd-session" | "sshd-auth" => sshd_event(msg),
        "sudo" => sudo_event(msg),
        "su" => su_event(msg),
        _ => None,
    }
}

fn sshd_event(msg: &str) -> Option<AuthEvent<'_>> {
    for (prefix, accepted) in [("Accepted ", true), ("Failed ", false)] {
        let Some(rest) = msg.strip_prefix(prefix) else {
            continue;
        };
        let (method, rest) = rest.split_once(" for ")?;
        let (rest, invalid) = match rest.strip_prefix("invalid user ") {
            Some(r) => (r, true),
            None => (rest, false),
        };
        let user = rest.rsplit_once(" from ").map_or(rest, |(u, _)| u);
        let (ip, port) = from_ip_port(rest);
        let action = match (accepted, method, invalid) {
            (true, "password", _) => "Accepted password",
            (true, "publickey", _) => "Accepted publickey",
            (true, _, _) => "Accepted",
            (false, "password", _) => "Failed password",
            (false, "publickey", _) => "Failed publickey",
            (false, _, _) => "Failed",
        };
        return Some(AuthEvent {
            action,
            user: Some(user),
            ip,
            port,
            method: Some(method),
            ..AuthEvent::default()
        });
    }
    let rest = msg.strip_prefix("Invalid user ")?;
    let user = rest.rsplit_once(" from ").map_or(rest, |(u, _)| u);
    let (ip, port) = from_ip_port(rest);
    Some(AuthEvent {
        action: "Invalid user",
        user: (!user.is_empty()).then_some(user),
        ip,
        port,
        ..AuthEvent::default()
    })
}

/// `alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/cat /etc/shadow`, or with a
/// reason (`3 incorrect password attempts ;`, `user NOT in sudoers ;`) before `TTY=`.
fn sudo_event(msg: &str) -> Option<AuthEvent<'_>> {
    let (user, rest) = msg.trim_start().split_once(" : ")?;
    let command = rest.split_once("COMMAND=")?.1;
    let target = rest
        .split(" ; ")
        .find_map(|p| p.trim().strip_prefix("USER="));
    let action = if rest.starts_with("TTY=") || rest.starts_with("PWD=") {
        "sudo command"
    } else {
        "sudo denied"
    };
    Some(AuthEvent {
        action,
        user: Some(user.trim()),
        target,
        command: Some(command),
        ..AuthEvent::default()
    })
}

/// `(to root) alice on pts/0`, `FAILED SU (to root) alice on pts/0`, `Successful su for root by
/// alice`, `FAILED su for root by alice`.
fn su_event(msg: &str) -> Option<AuthEvent<'_>> {
    let (failed, rest) = match msg
        .strip_prefix("FAILED SU ")
        .or_else(|| msg.strip_prefix("FAILED su "))
    {
        Some(r) => (true, r),
        None => (false, msg),
    };
    let action = if failed { "su failed" } else { "su" };
    if let Some(r) = rest.strip_prefix("(to ") {
        let (target, r) = r.split_once(") ")?;
        let user = r.split_once(" on ").map_or(r, |(u, _)| u);
        return Some(AuthEvent {
            action,
            user: Some(user),
            target: Some(target),
            ..AuthEvent::default()
        });
    }
    let r = rest
        .strip_prefix("Successful su for ")
        .or_else(|| rest.strip_prefix("for "))?;
    let (target, user) = r.split_once(" by ")?;
    Some(AuthEvent {
        action,
        user: Some(user),
        target: Some(target),
        ..AuthEvent::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, Int32Array, StringArray, TimestampNanosecondArray};

    #[test]
    fn headers_of_each_form() {
        let h = parse_header("<38>Aug  9 10:00:00 web1 sshd[812]: Failed password for root from 1.2.3.4 port 22 ssh2").unwrap();
        assert_eq!(h.pri, Some(38));
        assert_eq!(h.facility(), Some("auth"));
        assert_eq!(h.severity(), Some("info"));
        assert_eq!(
            h.time,
            HeaderTime::NoYear {
                month: 8,
                day: 9,
                secs: 36000
            }
        );
        assert_eq!(
            (h.host, h.app, h.pid),
            (Some("web1"), Some("sshd"), Some("812"))
        );
        assert!(h.msg.starts_with("Failed password"));

        let h = parse_header("<165>1 2023-08-09T10:00:00.5+02:00 fw01 evntslog - ID47 [exampleSDID@32473 iut=\"3\" x=\"a\\]b\"][b@1 c=\"d\"] An application event").unwrap();
        assert_eq!(h.facility(), Some("local4"));
        assert_eq!(h.severity(), Some("notice"));
        assert_eq!(
            h.time,
            HeaderTime::Full(parse_time("2023-08-09T08:00:00.5Z").unwrap())
        );
        assert_eq!(
            (h.host, h.app, h.pid),
            (Some("fw01"), Some("evntslog"), None)
        );
        assert_eq!(h.msg, "An application event");

        let h = parse_header("2024-01-02T03:04:05.123456+00:00 db2 sudo:   alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/id").unwrap();
        assert_eq!((h.host, h.app, h.pid), (Some("db2"), Some("sudo"), None));
        assert_eq!(h.pri, None);

        let h = parse_header("Jul 29 06:52:56 Barracuda cat=TR dvc=10.0.0.1").unwrap();
        assert_eq!((h.host, h.app), (Some("Barracuda"), None));
        assert_eq!(h.msg, "cat=TR dvc=10.0.0.1");

        let h = parse_header("<137> Jul 02 2019 15:26:38 nozomi-sg.local n2osevents[0]: CEF:0|a")
            .unwrap();
        assert_eq!(
            h.time,
            HeaderTime::Full(parse_time("2019-07-02T15:26:38Z").unwrap())
        );
        assert_eq!(
            (h.host, h.app, h.pid),
            (Some("nozomi-sg.local"), Some("n2osevents"), Some("0"))
        );
        assert_eq!(h.msg, "CEF:0|a");

        let h = parse_header("172.16.5.10 6705: Feb 17 13:40:03.673: %PARSER-5-CFGLOG_LOGGEDCMD: User:admin  logged command:no access-session port-control").unwrap();
        assert_eq!(
            (h.host, h.app, h.msg),
            (
                Some("172.16.5.10"),
                Some("PARSER-5-CFGLOG_LOGGEDCMD"),
                "User:admin  logged command:no access-session port-control"
            )
        );
        assert_eq!(
            h.time,
            HeaderTime::NoYear {
                month: 2,
                day: 17,
                secs: 13 * 3600 + 40 * 60 + 3
            }
        );
        let h = parse_header(
            "<189>52: *Mar  1 00:01:02.123 UTC: %SYS-5-CONFIG_I: Configured from console",
        )
        .unwrap();
        assert_eq!(
            (h.pri, h.host, h.app),
            (Some(189), None, Some("SYS-5-CONFIG_I"))
        );
        assert!(parse_header("10.0.0.1 12: not a time: %X-1-Y: z").is_err());

        assert!(parse_header("Aug 99 10:00:00 web1 x: y").is_err());
        assert!(parse_header("<999>Aug  9 10:00:00 web1 x: y").is_err());
        assert!(parse_header("<13>1 2023-08-09T10:00:00Z host app").is_err());
        assert!(parse_header("hello world").is_err());
    }

    #[test]
    fn odd_bytes_anywhere_never_panic() {
        let lines = [
            "<38>Aug  9 10:00:00 web1 sshd[812]: Failed password for root from 1.2.3.4 port 22 ssh2",
            "<165>1 2023-08-09T10:00:00Z fw01 app - ID [a x=\"]\"] msg",
            "Jul 02 2019 15:26:38 h t[0]: CEF:0|a|b|c|d|e|f|k=v w=x",
        ];
        for line in lines {
            for i in 0..=line.len() {
                for odd in ["é", "€", "\u{10348}", "\\", "|", "=", " ", "[", "]", ":"] {
                    let s = format!("{}{odd}{}", &line[..i], &line[i..]);
                    let h = parse_header(&s);
                    if let Ok(h) = h {
                        let _ = auth_event(h.app, h.msg);
                    }
                    if let Some(at) = crate::cef::find_cef(&s) {
                        let _ = crate::cef::parse_cef(&s[at..]);
                    }
                    let _ = Syslog.sniff(s.as_bytes());
                    let _ = crate::cef::Cef.sniff(s.as_bytes());
                    let cut = &s.as_bytes()[..i];
                    let _ = Syslog.sniff(cut);
                }
            }
        }
    }

    #[test]
    fn the_year_comes_from_the_modification_month() {
        let h = |m| Header {
            pri: None,
            time: HeaderTime::NoYear {
                month: m,
                day: 31,
                secs: 0,
            },
            host: None,
            app: None,
            pid: None,
            msg: "",
        };
        let dec = h(12).nanos(Some((2024, 1))).unwrap();
        assert_eq!(dec, parse_time("2023-12-31T00:00:00Z").unwrap());
        let jan = h(1).nanos(Some((2024, 1))).unwrap();
        assert_eq!(jan, parse_time("2024-01-31T00:00:00Z").unwrap());
        assert_eq!(h(1).nanos(None), None);
    }

    #[test]
    fn user_names_with_from_in_them() {
        let e = auth_event(
            Some("sshd"),
            "Failed password for invalid user a from b from 203.0.113.5 port 22 ssh2",
        )
        .unwrap();
        assert_eq!(
            (e.user, e.ip, e.port),
            (Some("a from b"), Some("203.0.113.5"), Some("22"))
        );
    }

    #[test]
    fn auth_events() {
        let e = auth_event(
            Some("sshd"),
            "Failed password for invalid user admin from 203.0.113.5 port 50022 ssh2",
        )
        .unwrap();
        assert_eq!(e.action, "Failed password");
        assert_eq!(
            (e.user, e.ip, e.port, e.method),
            (
                Some("admin"),
                Some("203.0.113.5"),
                Some("50022"),
                Some("password")
            )
        );
        let e = auth_event(
            Some("sshd"),
            "Accepted publickey for bob from 10.0.0.7 port 4242 ssh2: RSA SHA256:abc",
        )
        .unwrap();
        assert_eq!((e.action, e.user), ("Accepted publickey", Some("bob")));
        let e = auth_event(
            Some("sudo"),
            "  alice : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/su -",
        )
        .unwrap();
        assert_eq!(
            (e.action, e.user, e.target, e.command),
            (
                "sudo denied",
                Some("alice"),
                Some("root"),
                Some("/usr/bin/su -")
            )
        );
        let e = auth_event(Some("su"), "FAILED SU (to root) alice on pts/0").unwrap();
        assert_eq!(
            (e.action, e.user, e.target),
            ("su failed", Some("alice"), Some("root"))
        );
        let e = auth_event(
            Some("sshd"),
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.2  user=root",
        )
        .unwrap();
        assert_eq!((e.ip, e.user), (Some("198.51.100.2"), Some("root")));
        let e = auth_event(
            Some("sshd-session"),
            "Failed password for root from 2001:db8::7 port 40000 ssh2",
        )
        .unwrap();
        assert_eq!((e.action, e.ip), ("Failed password", Some("2001:db8::7")));
        assert!(auth_event(Some("sshd"), "Server listening on 0.0.0.0 port 22.").is_none());
        assert!(
            auth_event(
                Some("cron"),
                "Failed password for x from 1.2.3.4 port 1 ssh2"
            )
            .is_none()
        );
    }

    const LOG: &str = "<86>1 2024-03-01T10:00:00Z web1 sshd 812 - - Failed password for root from 203.0.113.5 port 50022 ssh2
2024-03-01T10:00:05+01:00 web1 sshd[813]: Accepted password for bob from 10.0.0.7 port 4242 ssh2
this line is damaged
<86>1 2024-03-01T10:00:09Z web1 CRON 900 - - pam_unix(cron:session): session closed for user root
";

    #[test]
    fn decodes_syslog_and_auth_rows() {
        assert!(Syslog.sniff(LOG.as_bytes()));
        let (batches, bad) = crate::testing::decode_text(
            &Syslog,
            LOG,
            "auth.log",
            SYSLOG,
            &[
                "Computer",
                "ProcessName",
                "ProcessID",
                "TimeGenerated",
                "Facility",
            ],
            10,
        );
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(bad[0].contains("line 3"), "{bad:?}");
        let b = &batches[0];
        assert_eq!(b.num_rows(), 3);
        let pid = b.column(2).as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(pid.value(1), 813);
        let t = b
            .column(3)
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .unwrap();
        assert_eq!(t.value(1), parse_time("2024-03-01T09:00:05Z").unwrap());
        let fac = b.column(4).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(fac.value(0), "authpriv");
        assert!(fac.is_null(1));

        let (batches, _) = crate::testing::decode_text(
            &Syslog,
            LOG,
            "auth.log",
            LINUX_AUTH,
            &["Action", "SourceIp", "SourcePort"],
            10,
        );
        let b = &batches[0];
        assert_eq!(b.num_rows(), 2);
        let a = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(
            (a.value(0), a.value(1)),
            ("Failed password", "Accepted password")
        );
    }
}
