//! Space-separated fields where a field may be `"quoted"` (holding spaces, `\"` escapes a quote)
//! or `[bracketed]` (the `[10/Oct/2023:13:55:36 -0700]` time of web server logs). Shared by the
//! access-log, s3-access and alb-access formats.

use chrono::DateTime;

/// One field of a line: its text without the quotes or brackets, and how it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    pub(crate) text: &'a str,
    pub(crate) quoted: bool,
    pub(crate) bracketed: bool,
}

impl<'a> Field<'a> {
    /// The text, or `None` for the `-` that these logs write for "no value".
    pub(crate) fn value(&self) -> Option<&'a str> {
        (self.text != "-").then_some(self.text)
    }
}

/// Splits `line` into fields; `[` opens a bracketed field only when `brackets` (a log that writes
/// `[2001:db8::1]:443` endpoints has none). Fails when a quote or bracket is not closed (a cut
/// line), naming the field that is open.
pub(crate) fn split_fields<'a>(
    line: &'a str,
    brackets: bool,
    out: &mut Vec<Field<'a>>,
) -> Result<(), String> {
    out.clear();
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b' ' || b[i] == b'\t' {
            i += 1;
            continue;
        }
        let start = i;
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    // A backslash escapes the next byte (`\"` inside a user agent).
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                if i >= b.len() {
                    return Err(format!(
                        "field {} opens a quote that the line does not close",
                        out.len() + 1
                    ));
                }
                out.push(Field {
                    text: &line[start + 1..i],
                    quoted: true,
                    bracketed: false,
                });
                i += 1;
            }
            b'[' if brackets => {
                let Some(end) = b[i..].iter().position(|&c| c == b']') else {
                    return Err(format!(
                        "field {} opens a [ that the line does not close",
                        out.len() + 1
                    ));
                };
                out.push(Field {
                    text: &line[start + 1..i + end],
                    quoted: false,
                    bracketed: true,
                });
                i += end + 1;
            }
            _ => {
                while i < b.len() && b[i] != b' ' && b[i] != b'\t' {
                    i += 1;
                }
                out.push(Field {
                    text: &line[start..i],
                    quoted: false,
                    bracketed: false,
                });
            }
        }
    }
    Ok(())
}

/// The time of web server logs, `10/Oct/2023:13:55:36 -0700` (fractions allowed), as
/// nanoseconds since the epoch (UTC).
pub(crate) fn parse_log_time(s: &str) -> Option<i64> {
    // Every line has one: the common shape is read by hand (chrono's format-string parser costs
    // more than the rest of the line), anything else goes to chrono.
    parse_log_time_fast(s.as_bytes()).or_else(|| {
        DateTime::parse_from_str(s, "%d/%b/%Y:%H:%M:%S%.f %z")
            .ok()?
            .timestamp_nanos_opt()
    })
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// `dd/Mon/yyyy:HH:MM:SS +hhmm` exactly (no fraction), or None.
fn parse_log_time_fast(b: &[u8]) -> Option<i64> {
    if b.len() != 26 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' || b[14] != b':' {
        return None;
    }
    if b[17] != b':' || b[20] != b' ' || !(b[21] == b'+' || b[21] == b'-') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let month = MONTHS.iter().position(|m| m[..] == b[3..6])? as u32 + 1;
    let (day, year) = (num(0..2)?, num(7..11)?);
    let (hour, min, sec) = (num(12..14)?, num(15..17)?, num(18..20)?);
    let (off_h, off_m) = (num(22..24)?, num(24..26)?);
    if hour > 23 || min > 59 || sec > 60 || off_h > 23 || off_m > 59 {
        return None;
    }
    let date = chrono::NaiveDate::from_ymd_opt(year as i32, month, day)?;
    let local = date
        .and_hms_opt(hour, min, sec.min(59))?
        .and_utc()
        .timestamp();
    let offset = i64::from(off_h * 3600 + off_m * 60);
    let utc = if b[21] == b'+' {
        local - offset
    } else {
        local + offset
    };
    utc.checked_mul(1_000_000_000)
}

/// A request line `GET /path?q=1 HTTP/1.1`: (method, target, protocol) when it has that shape.
/// Scanners send anything (TLS handshakes, binary): such a line gives `None`.
pub(crate) fn split_request(request: &str) -> Option<(&str, &str, Option<&str>)> {
    let mut parts = request.split(' ');
    let method = parts.next()?;
    let target = parts.next()?;
    let protocol = parts.next();
    let is_method = !method.is_empty()
        && method.len() <= 20
        && method
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c == b'-' || c == b'_');
    if !is_method || target.is_empty() || parts.next().is_some() {
        return None;
    }
    if protocol.is_some_and(|p| !p.starts_with("HTTP/")) {
        return None;
    }
    Some((method, target, protocol))
}

/// The path and the query (without `?`) of a request target.
pub(crate) fn split_target(target: &str) -> (&str, Option<&str>) {
    match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    }
}

/// Whether the head of a file is lines of one kind: the first line is (a file of another format
/// must not be claimed for a line deep inside it), and so are two thirds of the first ten (a
/// damaged line is allowed). The last line is left out when the head cuts it.
pub(crate) fn sniff_lines(head: &[u8], is_record: impl Fn(&str) -> bool) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let text = String::from_utf8_lossy(head);
    let mut lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() > 1 && !text.ends_with('\n') {
        lines.pop();
    }
    let lines = &lines[..lines.len().min(10)];
    let good = lines.iter().filter(|l| is_record(l)).count();
    lines.first().is_some_and(|l| is_record(l)) && good * 3 >= lines.len() * 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_quoted_and_bracketed_text_whole() {
        let mut f = Vec::new();
        split_fields(
            r#"1.2.3.4 - - [10/Oct/2023:13:55:36 -0700] "GET / HTTP/1.1" 200 - "a \"b\" c""#,
            true,
            &mut f,
        )
        .unwrap();
        let texts: Vec<&str> = f.iter().map(|x| x.text).collect();
        assert_eq!(
            texts,
            [
                "1.2.3.4",
                "-",
                "-",
                "10/Oct/2023:13:55:36 -0700",
                "GET / HTTP/1.1",
                "200",
                "-",
                r#"a \"b\" c"#
            ]
        );
        assert!(f[3].bracketed && f[4].quoted && !f[5].quoted);
        assert_eq!(f[6].value(), None);
        let err = split_fields(r#"a "b c"#, true, &mut f).unwrap_err();
        assert!(err.contains("field 2 opens a quote"), "{err}");
        split_fields("[::1]:443 x", false, &mut f).unwrap();
        assert_eq!(f[0].text, "[::1]:443");
    }

    #[test]
    fn log_times_become_utc() {
        assert_eq!(
            parse_log_time("10/Oct/2023:13:55:36 -0700"),
            crate::batch::parse_time("2023-10-10T20:55:36Z")
        );
        assert_eq!(parse_log_time("10/Oct/2023:13:55"), None);
        // The hand-read shape and chrono agree, offsets both ways and fractions.
        assert_eq!(
            parse_log_time("10/Oct/2023:23:55:36 +0200"),
            crate::batch::parse_time("2023-10-10T21:55:36Z")
        );
        assert_eq!(
            parse_log_time("10/Oct/2023:13:55:36.250 -0700"),
            crate::batch::parse_time("2023-10-10T20:55:36.25Z")
        );
        assert_eq!(parse_log_time("31/Feb/2023:13:55:36 +0000"), None);
        assert_eq!(parse_log_time("10/Foo/2023:13:55:36 +0000"), None);
    }

    #[test]
    fn request_lines_split_when_they_are_requests() {
        assert_eq!(
            split_request("GET /a?b=1 HTTP/1.1"),
            Some(("GET", "/a?b=1", Some("HTTP/1.1")))
        );
        assert_eq!(split_request("GET /"), Some(("GET", "/", None)));
        assert_eq!(split_request(r"\x16\x03\x01\x00\xee\x01"), None);
        assert_eq!(split_request("-"), None);
        assert_eq!(split_target("/a?b=1"), ("/a", Some("b=1")));
    }
}
