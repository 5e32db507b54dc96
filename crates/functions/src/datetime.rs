//! KQL datetime and timespan: parsing, printing, and the functions over them
//! (`todatetime`, `totimespan`, `format_datetime`, `datetime_diff`).
//!
//! datetime is nanoseconds since the Unix epoch, UTC (Arrow `Timestamp(ns)`); timespan is
//! nanoseconds (Arrow `Duration(ns)`). Kusto counts in 100 ns ticks; the extra precision is kept.

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike};
use datafusion::arrow::array::{
    DurationNanosecondArray, Int64Array, StringArray, TimestampNanosecondArray,
};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};

use crate::args::{NanosArg, Rows, StrArg, arity};
use crate::udf::{Spec, ret_duration, ret_i64, ret_timestamp, ret_utf8};

pub(crate) const NS_PER_SEC: i64 = 1_000_000_000;
pub(crate) const NS_PER_DAY: i64 = 86_400 * NS_PER_SEC;

// ---------------------------------------------------------------------------------------------
// Parsing datetimes
// ---------------------------------------------------------------------------------------------

/// A small cursor over ASCII-ish text.
struct Cur<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cur<'a> {
    fn new(s: &'a str) -> Self {
        Cur {
            s: s.as_bytes(),
            i: 0,
        }
    }
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }
    /// Between `min` and `max` digits.
    fn num(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.i;
        let mut v: u32 = 0;
        while self.i - start < max && self.peek().is_some_and(|c| c.is_ascii_digit()) {
            v = v * 10 + u32::from(self.s[self.i] - b'0');
            self.i += 1;
        }
        if self.i - start < min {
            self.i = start;
            return None;
        }
        Some(v)
    }
    /// A fraction of a second after the dot: nanoseconds (digits beyond 9 are dropped).
    fn frac(&mut self) -> Option<u32> {
        let start = self.i;
        let mut v: u32 = 0;
        let mut n = 0;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            if n < 9 {
                v = v * 10 + u32::from(self.s[self.i] - b'0');
                n += 1;
            }
            self.i += 1;
        }
        if self.i == start {
            return None;
        }
        Some(v * 10u32.pow(9 - n))
    }
    fn word(&mut self) -> &'a str {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i]).unwrap_or("")
    }
}

fn month_from_name(w: &str) -> Option<u32> {
    const NAMES: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    if w.len() < 3 {
        return None;
    }
    let w = w.to_ascii_lowercase();
    let m = NAMES.iter().position(|n| w.starts_with(n))?;
    Some(m as u32 + 1)
}

fn is_weekday(w: &str) -> bool {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    w.len() >= 3 && DAYS.iter().any(|d| w.to_ascii_lowercase().starts_with(d))
}

fn nanos(date: NaiveDate, h: u32, m: u32, s: u32, ns: u32, offset_secs: i64) -> Option<i64> {
    let t = date.and_hms_opt(h, m, s)?;
    let secs = t.and_utc().timestamp().checked_sub(offset_secs)?;
    secs.checked_mul(NS_PER_SEC)?.checked_add(i64::from(ns))
}

/// Parses `[T| ]HH:MM[:SS[.fffffff]]` (the time of day), if present.
fn time_of_day(c: &mut Cur) -> Option<(u32, u32, u32, u32)> {
    let h = c.num(1, 2)?;
    if !c.eat(b':') {
        return None;
    }
    let m = c.num(2, 2)?;
    let (mut s, mut ns) = (0, 0);
    if c.eat(b':') {
        s = c.num(2, 2)?;
        if c.eat(b'.') || c.eat(b',') {
            ns = c.frac()?;
        }
    }
    Some((h, m, s, ns))
}

/// Parses a zone designator at the cursor: `Z`, `UTC`, `GMT`, `±HH:MM`, `±HHMM`, US zones.
/// Returns the offset east of UTC in seconds; `Some(0)` when nothing is there.
/// A time of day followed by an optional 12-hour clock suffix (`2:45 PM`).
fn clock(c: &mut Cur) -> Option<(u32, u32, u32, u32)> {
    let (mut h, mi, se, ns) = time_of_day(c)?;
    c.ws();
    let save = c.i;
    match c.word().to_ascii_uppercase().as_str() {
        "AM" if h <= 12 => h %= 12,
        "PM" if h <= 12 => h = h % 12 + 12,
        _ => c.i = save,
    }
    Some((h, mi, se, ns))
}

/// The end of a datetime text: an optional zone, then nothing else.
fn zone_and_end(
    c: &mut Cur,
    date: NaiveDate,
    (h, mi, se, ns): (u32, u32, u32, u32),
) -> Option<i64> {
    let off = zone(c)?;
    c.ws();
    if !c.done() {
        return None;
    }
    nanos(date, h, mi, se, ns, off)
}

fn zone(c: &mut Cur) -> Option<i64> {
    c.ws();
    if c.done() {
        return Some(0);
    }
    match c.peek()? {
        b'+' | b'-' => {
            let sign = if c.eat(b'-') {
                -1
            } else {
                c.eat(b'+');
                1
            };
            let h = c.num(2, 2)?;
            c.eat(b':');
            let m = c.num(2, 2).unwrap_or(0);
            Some(sign * i64::from(h * 3600 + m * 60))
        }
        _ => {
            let w = c.word().to_ascii_uppercase();
            let off = match w.as_str() {
                "Z" | "UTC" | "GMT" | "UT" => 0,
                "EST" => -5,
                "EDT" => -4,
                "CST" => -6,
                "CDT" => -5,
                "MST" => -7,
                "MDT" => -6,
                "PST" => -8,
                "PDT" => -7,
                _ => return None,
            };
            Some(off * 3600)
        }
    }
}

/// `YYYY-MM-DD[(T| )HH:MM[:SS[.f]]][zone]`, also with `/` as the date separator.
fn parse_iso(s: &str) -> Option<i64> {
    let mut c = Cur::new(s);
    let y = c.num(4, 4)?;
    let sep = c.peek()?;
    if sep != b'-' && sep != b'/' {
        return None;
    }
    c.i += 1;
    let mo = c.num(1, 2)?;
    if !c.eat(sep) {
        return None;
    }
    let d = c.num(1, 2)?;
    let date = NaiveDate::from_ymd_opt(y as i32, mo, d)?;
    let mut time = (0, 0, 0, 0);
    if c.eat(b'T') || c.eat(b't') || c.peek() == Some(b' ') {
        c.ws();
        if !c.done() && c.peek()?.is_ascii_digit() {
            time = clock(&mut c)?;
        }
    }
    zone_and_end(&mut c, date, time)
}

/// `M/D/YYYY[ H:MM[:SS[.f]][ AM|PM]][ zone]` (US order, as Kusto's `datetime()` accepts).
fn parse_us(s: &str) -> Option<i64> {
    let mut c = Cur::new(s);
    let mo = c.num(1, 2)?;
    if !c.eat(b'/') {
        return None;
    }
    let d = c.num(1, 2)?;
    if !c.eat(b'/') {
        return None;
    }
    let y = c.num(4, 4)?;
    let date = NaiveDate::from_ymd_opt(y as i32, mo, d)?;
    c.ws();
    let mut time = (0, 0, 0, 0);
    if !c.done() && c.peek()?.is_ascii_digit() {
        time = clock(&mut c)?;
    }
    zone_and_end(&mut c, date, time)
}

/// RFC 822 / 1123 / 850: `[Weekday,] D Mon YYYY HH:MM[:SS] zone`, `Weekday, DD-Mon-YY HH:MM:SS zone`.
fn parse_rfc(s: &str) -> Option<i64> {
    let mut c = Cur::new(s);
    let save = c.i;
    let w = c.word();
    if is_weekday(w) {
        c.eat(b',');
        c.ws();
    } else {
        c.i = save;
    }
    let d = c.num(1, 2)?;
    let dash = c.eat(b'-');
    if !dash {
        c.ws();
    }
    let mo = month_from_name(c.word())?;
    if dash {
        if !c.eat(b'-') {
            return None;
        }
    } else {
        c.ws();
    }
    let start = c.i;
    let y = c.num(2, 4)?;
    let y = match c.i - start {
        2 => {
            if y < 50 {
                2000 + y
            } else {
                1900 + y
            }
        }
        4 => y,
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(y as i32, mo, d)?;
    c.ws();
    let mut time = (0, 0, 0, 0);
    if !c.done() && c.peek()?.is_ascii_digit() {
        time = time_of_day(&mut c)?;
    }
    zone_and_end(&mut c, date, time)
}

/// Parses a datetime as Kusto's `datetime()` / `todatetime()` do: ISO 8601 (with or without
/// `T`, `Z`, fractions, offsets), RFC 822/1123/850, and US `M/D/YYYY [h:mm[:ss] [AM|PM]]`.
/// Returns nanoseconds since the Unix epoch, UTC; `None` when the text is not a datetime.
/// <https://learn.microsoft.com/kusto/query/scalar-data-types/datetime>
pub fn parse_kql_datetime(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let first = s.as_bytes()[0];
    if first.is_ascii_digit() {
        parse_iso(s)
            .or_else(|| parse_us(s))
            .or_else(|| parse_rfc(s))
    } else {
        parse_rfc(s)
    }
}

/// The UTC date and time of a datetime.
pub(crate) fn to_naive(ns: i64) -> NaiveDateTime {
    DateTime::from_timestamp_nanos(ns).naive_utc()
}

fn frac_digits(ns_of_second: u32) -> String {
    if ns_of_second == 0 {
        String::new()
    } else if ns_of_second.is_multiple_of(100) {
        format!(".{:07}", ns_of_second / 100)
    } else {
        format!(".{ns_of_second:09}")
    }
}

/// Prints a datetime as Kusto does: `2023-08-09T00:00:00Z`, with 7 fractional digits when the
/// fraction is not zero (`2023-08-09T00:00:00.1234567Z`; 9 when below 100 ns precision).
pub fn format_kql_datetime(ns: i64) -> String {
    let t = to_naive(ns);
    format!(
        "{}{}Z",
        t.format("%Y-%m-%dT%H:%M:%S"),
        frac_digits(t.nanosecond())
    )
}

// ---------------------------------------------------------------------------------------------
// Timespans
// ---------------------------------------------------------------------------------------------

/// Prints a timespan as Kusto does: `[-][d.]hh:mm:ss[.fffffff]` (`1.02:03:04`, `00:30:00`).
pub fn format_kql_timespan(ns: i64) -> String {
    let neg = ns < 0;
    let a = ns.unsigned_abs();
    let ns_u = NS_PER_SEC as u64;
    let days = a / (NS_PER_DAY as u64);
    let rem = a % (NS_PER_DAY as u64);
    let h = rem / (3600 * ns_u);
    let m = rem / (60 * ns_u) % 60;
    let s = rem / ns_u % 60;
    let f = (rem % ns_u) as u32;
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if days > 0 {
        out.push_str(&format!("{days}."));
    }
    out.push_str(&format!("{h:02}:{m:02}:{s:02}{}", frac_digits(f)));
    out
}

/// Parses a timespan: `[-][d.]hh:mm[:ss[.f]]`, or a number with a unit (`2d`, `1.5h`, `30m`,
/// `10s`, `100ms`, `5microseconds`, `10tick`, `1nanosecond`), as in timespan literals.
/// <https://learn.microsoft.com/kusto/query/scalar-data-types/timespan>
pub fn parse_kql_timespan(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(r) => (true, r.trim_start()),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if body.is_empty() {
        return None;
    }
    let v = if body.contains(':') {
        parse_clock_span(body)?
    } else {
        parse_unit_span(body)?
    };
    Some(if neg { -v } else { v })
}

fn parse_clock_span(s: &str) -> Option<i64> {
    let mut c = Cur::new(s);
    let first = c.num(1, 8)?;
    let (days, h) = if c.eat(b'.') {
        (first, c.num(1, 2)?)
    } else {
        (0, first)
    };
    if !c.eat(b':') {
        return None;
    }
    let m = c.num(1, 2)?;
    let (mut sec, mut ns) = (0, 0);
    if c.eat(b':') {
        sec = c.num(1, 2)?;
        if c.eat(b'.') {
            ns = c.frac()?;
        }
    }
    if !c.done() || h > 23 || m > 59 || sec > 59 {
        return None;
    }
    let total = i64::from(days) * NS_PER_DAY
        + i64::from(h) * 3600 * NS_PER_SEC
        + i64::from(m) * 60 * NS_PER_SEC
        + i64::from(sec) * NS_PER_SEC
        + i64::from(ns);
    Some(total)
}

fn parse_unit_span(s: &str) -> Option<i64> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num.parse().ok()?;
    let unit = unit.trim().to_ascii_lowercase();
    let per: f64 = match unit.as_str() {
        // A bare number is days, as .NET TimeSpan parsing reads it.
        "" | "d" | "day" | "days" => NS_PER_DAY as f64,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600e9,
        "m" | "min" | "minute" | "minutes" => 60e9,
        "s" | "sec" | "second" | "seconds" => 1e9,
        "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1e6,
        "microsecond" | "microseconds" => 1e3,
        "tick" | "ticks" => 100.0,
        "nanosecond" | "nanoseconds" => 1.0,
        _ => return None,
    };
    let v = (value * per).round();
    if v.is_finite() && v.abs() < 9.2e18 {
        Some(v as i64)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// format_datetime
// ---------------------------------------------------------------------------------------------

/// Formats a datetime with Kusto's format specifiers
/// (<https://learn.microsoft.com/kusto/query/format-datetime-function>): `d dd`, `f`..`fffffff`,
/// `F`..`FFFFFFF` (trailing zeros trimmed), `h hh` (12-hour), `H HH`, `m mm`, `M MM`
/// (also `MMM MMMM` names), `s ss`, `y yy yyyy`, `tt`; other characters are copied.
pub fn format_datetime_with(ns: i64, fmt: &str) -> String {
    let t = to_naive(ns);
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        match c {
            'd' => match n {
                1 => out.push_str(&t.day().to_string()),
                2 => out.push_str(&format!("{:02}", t.day())),
                3 => out.push_str(&t.format("%a").to_string()),
                _ => out.push_str(&t.format("%A").to_string()),
            },
            'f' | 'F' => {
                let n = n.min(9);
                let digits = format!("{:09}", t.nanosecond() % 1_000_000_000);
                let mut part = digits[..n].to_string();
                if c == 'F' {
                    while part.ends_with('0') {
                        part.pop();
                    }
                    if part.is_empty() && out.ends_with('.') {
                        out.pop();
                    }
                }
                out.push_str(&part);
            }
            'h' => {
                let h = match t.hour() % 12 {
                    0 => 12,
                    h => h,
                };
                if n == 1 {
                    out.push_str(&h.to_string())
                } else {
                    out.push_str(&format!("{h:02}"))
                }
            }
            'H' => {
                if n == 1 {
                    out.push_str(&t.hour().to_string())
                } else {
                    out.push_str(&format!("{:02}", t.hour()))
                }
            }
            'm' => {
                if n == 1 {
                    out.push_str(&t.minute().to_string())
                } else {
                    out.push_str(&format!("{:02}", t.minute()))
                }
            }
            'M' => match n {
                1 => out.push_str(&t.month().to_string()),
                2 => out.push_str(&format!("{:02}", t.month())),
                3 => out.push_str(&t.format("%b").to_string()),
                _ => out.push_str(&t.format("%B").to_string()),
            },
            's' => {
                if n == 1 {
                    out.push_str(&t.second().to_string())
                } else {
                    out.push_str(&format!("{:02}", t.second()))
                }
            }
            'y' => match n {
                1 => out.push_str(&(t.year() % 100).to_string()),
                2 => out.push_str(&format!("{:02}", t.year() % 100)),
                _ => out.push_str(&format!("{:0width$}", t.year(), width = n)),
            },
            't' => {
                let ampm = if t.hour() < 12 { "AM" } else { "PM" };
                if n == 1 {
                    out.push_str(&ampm[..1])
                } else {
                    out.push_str(ampm)
                }
            }
            _ => {
                for _ in 0..n {
                    out.push(c);
                }
            }
        }
        i += n;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// datetime_diff
// ---------------------------------------------------------------------------------------------

/// `datetime_diff(part, dt1, dt2)`: the number of `part` boundaries crossed from `dt2` to `dt1`
/// (both truncated to the part, then subtracted); weeks start on Sunday.
/// <https://learn.microsoft.com/kusto/query/datetime-diff-function>
pub fn datetime_diff(part: &str, a: i64, b: i64) -> Option<i64> {
    let (ta, tb) = (to_naive(a), to_naive(b));
    let months = |t: &NaiveDateTime| i64::from(t.year()) * 12 + i64::from(t.month0());
    let floor = |v: i64, unit: i64| v.div_euclid(unit);
    Some(match part.to_ascii_lowercase().as_str() {
        "year" | "years" => i64::from(ta.year() - tb.year()),
        "quarter" | "quarters" => months(&ta).div_euclid(3) - months(&tb).div_euclid(3),
        "month" | "months" => months(&ta) - months(&tb),
        "week" | "weeks" => {
            // Days since 1970-01-04 (a Sunday), floored to weeks.
            let wk = |ns: i64| (floor(ns, NS_PER_DAY) - 3).div_euclid(7);
            wk(a) - wk(b)
        }
        "day" | "days" => floor(a, NS_PER_DAY) - floor(b, NS_PER_DAY),
        "hour" | "hours" => floor(a, 3600 * NS_PER_SEC) - floor(b, 3600 * NS_PER_SEC),
        "minute" | "minutes" => floor(a, 60 * NS_PER_SEC) - floor(b, 60 * NS_PER_SEC),
        "second" | "seconds" => floor(a, NS_PER_SEC) - floor(b, NS_PER_SEC),
        "millisecond" | "milliseconds" => floor(a, 1_000_000) - floor(b, 1_000_000),
        "microsecond" | "microseconds" => floor(a, 1_000) - floor(b, 1_000),
        "nanosecond" | "nanoseconds" => a - b,
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// The functions
// ---------------------------------------------------------------------------------------------

fn todatetime(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let a = &args.args[0];
    let out: TimestampNanosecondArray = match a.data_type() {
        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 => {
            let v = NanosArg::timestamp(a)?;
            (0..rows.n).map(|i| v.get(i)).collect()
        }
        _ => {
            let v = StrArg::new(a)?;
            (0..rows.n)
                .map(|i| v.get(i).and_then(parse_kql_datetime))
                .collect()
        }
    };
    rows.finish(Arc::new(out))
}

fn totimespan(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let a = &args.args[0];
    let out: DurationNanosecondArray = match a.data_type() {
        DataType::Duration(_) => {
            let v = NanosArg::duration(a)?;
            (0..rows.n).map(|i| v.get(i)).collect()
        }
        _ => {
            let v = StrArg::new(a)?;
            (0..rows.n)
                .map(|i| v.get(i).and_then(parse_kql_timespan))
                .collect()
        }
    };
    rows.finish(Arc::new(out))
}

fn keep_time_or_text(name: &str, t: &[DataType], want: &DataType) -> Result<Vec<DataType>> {
    arity(name, t, 1, 1)?;
    Ok(t.iter()
        .map(|t| match (t, want) {
            (
                DataType::Timestamp(..) | DataType::Date32 | DataType::Date64,
                DataType::Timestamp(..),
            ) => want.clone(),
            (DataType::Duration(_), DataType::Duration(_)) => want.clone(),
            _ => DataType::Utf8,
        })
        .collect())
}

pub(crate) fn kql_todatetime() -> Spec {
    Spec {
        name: "kql_todatetime",
        coerce: |n, t| keep_time_or_text(n, t, &DataType::Timestamp(TimeUnit::Nanosecond, None)),
        ret: ret_timestamp,
        ret_field: None,
        invoke: todatetime,
    }
}

pub(crate) fn kql_totimespan() -> Spec {
    Spec {
        name: "kql_totimespan",
        coerce: |n, t| keep_time_or_text(n, t, &DataType::Duration(TimeUnit::Nanosecond)),
        ret: ret_duration,
        ret_field: None,
        invoke: totimespan,
    }
}

fn format_datetime(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let dt = NanosArg::timestamp(&args.args[0])?;
    let fmt = StrArg::new(&args.args[1])?;
    let out: StringArray = (0..rows.n)
        .map(|i| match (dt.get(i), fmt.get(i)) {
            (Some(t), Some(f)) => Some(format_datetime_with(t, f)),
            _ => None,
        })
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_format_datetime() -> Spec {
    Spec {
        name: "kql_format_datetime",
        coerce: |n, t| {
            arity(n, t, 2, 2)?;
            Ok(vec![
                DataType::Timestamp(TimeUnit::Nanosecond, None),
                DataType::Utf8,
            ])
        },
        ret: ret_utf8,
        ret_field: None,
        invoke: format_datetime,
    }
}

fn datetime_diff_fn(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let part = StrArg::new(&args.args[0])?;
    let a = NanosArg::timestamp(&args.args[1])?;
    let b = NanosArg::timestamp(&args.args[2])?;
    if let Some(Some(p)) = part.scalar()
        && datetime_diff(p, 0, 0).is_none()
    {
        return exec_err!("datetime_diff: unknown period '{p}'");
    }
    let out: Int64Array = (0..rows.n)
        .map(|i| match (part.get(i), a.get(i), b.get(i)) {
            (Some(p), Some(x), Some(y)) => datetime_diff(p, x, y),
            _ => None,
        })
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_datetime_diff() -> Spec {
    Spec {
        name: "kql_datetime_diff",
        coerce: |n, t| {
            arity(n, t, 3, 3)?;
            let ts = DataType::Timestamp(TimeUnit::Nanosecond, None);
            Ok(vec![DataType::Utf8, ts.clone(), ts])
        },
        ret: ret_i64,
        ret_field: None,
        invoke: datetime_diff_fn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> i64 {
        parse_kql_datetime(s).unwrap_or_else(|| panic!("cannot parse {s}"))
    }

    #[test]
    fn parse_and_format() {
        let base = 1_691_539_200 * NS_PER_SEC; // 2023-08-09T00:00:00Z
        for s in [
            "2023-08-09",
            "2023-08-09T00:00:00Z",
            "2023-08-09T00:00:00",
            "2023-08-09 00:00",
            "2023-08-09T00:00:00.0000000Z",
            "2023-08-09T02:00:00+02:00",
            "2023-08-08T20:00:00-0400",
            "8/9/2023",
            "8/9/2023 00:00:00",
            "08/09/2023 12:00 AM",
            "Wed, 09 Aug 2023 00:00:00 GMT",
            "9 Aug 2023 00:00 GMT",
            "Wednesday, 09-Aug-23 00:00:00 GMT",
            "2023/08/09",
            " 2023-08-09T00:00:00z ",
        ] {
            assert_eq!(parse_kql_datetime(s), Some(base), "{s}");
        }
        assert_eq!(dt("10/29/2021 2:45 PM"), dt("2021-10-29T14:45:00Z"));
        assert_eq!(
            dt("2023-08-09T10:00:00.1234567Z") - dt("2023-08-09T10:00:00Z"),
            123_456_700
        );
        assert_eq!(dt("Sat, 8 Nov 14 15:05:02 GMT"), dt("2014-11-08 15:05:02"));
        assert_eq!(dt("2014-11-08 15:05:02 EST"), dt("2014-11-08 20:05:02"));
        for bad in [
            "",
            "hello",
            "2023-13-01",
            "2023-02-30",
            "12345",
            "2023-08-09T25:00",
            "2023-08-09 x",
        ] {
            assert_eq!(parse_kql_datetime(bad), None, "{bad}");
        }
        assert_eq!(format_kql_datetime(base), "2023-08-09T00:00:00Z");
        assert_eq!(
            format_kql_datetime(dt("2023-08-09T00:00:00.1234567Z")),
            "2023-08-09T00:00:00.1234567Z"
        );
        assert_eq!(
            format_kql_datetime(dt("2023-08-09T00:00:00.5Z")),
            "2023-08-09T00:00:00.5000000Z"
        );
        assert_eq!(format_kql_datetime(-1), "1969-12-31T23:59:59.999999999Z");
    }

    #[test]
    fn timespans() {
        let h = 3600 * NS_PER_SEC;
        assert_eq!(
            format_kql_timespan(26 * h + 3 * 60 * NS_PER_SEC + 4 * NS_PER_SEC),
            "1.02:03:04"
        );
        assert_eq!(format_kql_timespan(h / 2), "00:30:00");
        assert_eq!(format_kql_timespan(-h / 2), "-00:30:00");
        assert_eq!(format_kql_timespan(NS_PER_SEC / 2), "00:00:00.5000000");
        assert_eq!(
            parse_kql_timespan("1.02:03:04"),
            Some(26 * h + 184 * NS_PER_SEC)
        );
        assert_eq!(parse_kql_timespan("00:30:00"), Some(h / 2));
        assert_eq!(parse_kql_timespan("00:30"), Some(h / 2));
        assert_eq!(parse_kql_timespan("2d"), Some(2 * NS_PER_DAY));
        assert_eq!(parse_kql_timespan("1.5h"), Some(3 * h / 2));
        assert_eq!(parse_kql_timespan("30m"), Some(h / 2));
        assert_eq!(parse_kql_timespan("100ms"), Some(100_000_000));
        assert_eq!(parse_kql_timespan("10tick"), Some(1000));
        assert_eq!(parse_kql_timespan("-1d"), Some(-NS_PER_DAY));
        assert_eq!(parse_kql_timespan("00:00:00.1234567"), Some(123_456_700));
        assert_eq!(parse_kql_timespan("abc"), None);
        assert_eq!(parse_kql_timespan("25:00:00"), None);
    }

    #[test]
    fn format_datetime_doc_examples() {
        // format-datetime-function page.
        let t = dt("2017-01-29 09:00:05");
        assert_eq!(
            format_datetime_with(t, "yy-MM-dd [HH:mm:ss]"),
            "17-01-29 [09:00:05]"
        );
        assert_eq!(
            format_datetime_with(t, "yyyy-M-dd [H:mm:ss]"),
            "2017-1-29 [9:00:05]"
        );
        assert_eq!(
            format_datetime_with(t, "yy-MM-dd [hh:mm:ss tt]"),
            "17-01-29 [09:00:05 AM]"
        );
        let t = dt("2015-12-14 02:03:04.12345");
        assert_eq!(
            format_datetime_with(t, "y-M-d h:m:s.fffffff"),
            "15-12-14 2:3:4.1234500"
        );
        assert_eq!(
            format_datetime_with(t, "yyyy-MM-dd HH:mm:ss.FFF"),
            "2015-12-14 02:03:04.123"
        );
        assert_eq!(
            format_datetime_with(dt("2015-12-14 14:03:04"), "hh tt ss.FFF"),
            "02 PM 04"
        );
    }

    #[test]
    fn datetime_diff_doc_examples() {
        // datetime-diff-function page.
        assert_eq!(
            datetime_diff("year", dt("2017-01-01"), dt("2000-12-31")),
            Some(17)
        );
        assert_eq!(
            datetime_diff("quarter", dt("2017-07-01"), dt("2017-03-30")),
            Some(2)
        );
        assert_eq!(
            datetime_diff("month", dt("2017-01-01"), dt("2015-12-30")),
            Some(13)
        );
        assert_eq!(
            datetime_diff("week", dt("2017-10-29 00:00"), dt("2017-09-30 23:59")),
            Some(5)
        );
        assert_eq!(
            datetime_diff("day", dt("2017-10-29 00:00"), dt("2017-09-30 23:59")),
            Some(29)
        );
        assert_eq!(
            datetime_diff("hour", dt("2017-10-31 01:00"), dt("2017-10-30 23:59")),
            Some(2)
        );
        assert_eq!(
            datetime_diff(
                "minute",
                dt("2017-10-30 23:05:01"),
                dt("2017-10-30 23:00:59")
            ),
            Some(5)
        );
        assert_eq!(
            datetime_diff(
                "second",
                dt("2017-10-30 23:00:10.100"),
                dt("2017-10-30 23:00:00.900")
            ),
            Some(10)
        );
        assert_eq!(
            datetime_diff(
                "millisecond",
                dt("2017-10-30 23:00:00.200100"),
                dt("2017-10-30 23:00:00.100900")
            ),
            Some(100)
        );
        assert_eq!(
            datetime_diff(
                "microsecond",
                dt("2017-10-30 23:00:00.1009001"),
                dt("2017-10-30 23:00:00.1008009")
            ),
            Some(100)
        );
        assert_eq!(
            datetime_diff(
                "nanosecond",
                dt("2017-10-30 23:00:00.0000000"),
                dt("2017-10-30 23:00:00.0000010")
            ),
            Some(-1000)
        );
        assert_eq!(datetime_diff("fortnight", 0, 0), None);
    }
}
