//! Building record batches of a projected table schema, value conversion to KQL types, and the
//! iterator that every format's decoder runs in.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, DurationNanosecondBuilder, Float64Builder, Int32Builder,
    Int64Builder, StringBuilder, TimestampNanosecondBuilder,
};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use chrono::NaiveDate;
use spoor_catalog::{KqlType, TableDef};

use crate::{BadRecord, Decoded, Position, SourceError};

/// One value of a row, already in its column's type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar<'a> {
    Null,
    Str(Cow<'a, str>),
    Bool(bool),
    Int(i64),
    Real(f64),
    /// Nanoseconds since the Unix epoch (datetime) or a nanosecond duration (timespan).
    Nanos(i64),
}

impl Scalar<'_> {
    /// The same value, owning its text.
    pub(crate) fn into_owned(self) -> Scalar<'static> {
        match self {
            Scalar::Str(s) => Scalar::Str(Cow::Owned(s.into_owned())),
            Scalar::Null => Scalar::Null,
            Scalar::Bool(b) => Scalar::Bool(b),
            Scalar::Int(i) => Scalar::Int(i),
            Scalar::Real(r) => Scalar::Real(r),
            Scalar::Nanos(n) => Scalar::Nanos(n),
        }
    }
}

/// Converts text to a value of `ty`. The error says what was expected and what was found.
pub(crate) fn convert<'a>(text: Cow<'a, str>, ty: KqlType) -> Result<Scalar<'a>, String> {
    let found = |what: &str| format!("expected {what}, found {:?}", shorten(&text));
    Ok(match ty {
        KqlType::String | KqlType::Guid | KqlType::Dynamic => Scalar::Str(text),
        KqlType::Bool => match text.as_ref() {
            "true" | "True" | "TRUE" | "1" => Scalar::Bool(true),
            "false" | "False" | "FALSE" | "0" => Scalar::Bool(false),
            _ => return Err(found("true or false")),
        },
        KqlType::Int => {
            let v: i32 = text
                .trim()
                .parse()
                .map_err(|_| found("a 32-bit whole number"))?;
            Scalar::Int(v.into())
        }
        KqlType::Long => Scalar::Int(text.trim().parse().map_err(|_| found("a whole number"))?),
        KqlType::Real | KqlType::Decimal => {
            Scalar::Real(text.trim().parse().map_err(|_| found("a number"))?)
        }
        KqlType::DateTime => {
            Scalar::Nanos(parse_time(&text).ok_or_else(|| found("a date and time"))?)
        }
        KqlType::TimeSpan => {
            let ms: f64 = text
                .trim()
                .parse()
                .map_err(|_| found("a duration in milliseconds"))?;
            Scalar::Nanos((ms * 1e6) as i64)
        }
    })
}

fn shorten(s: &str) -> &str {
    match s.char_indices().nth(80) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Parses a time: RFC 3339 / ISO 8601 (`2024-08-02T08:23:24Z`, fractions, offsets), the same with
/// a space instead of `T` and no zone (UTC), or whole Unix seconds. Returns nanoseconds since the
/// epoch.
pub(crate) fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    if !b.is_empty() && b.len() <= 12 && b.iter().all(u8::is_ascii_digit) {
        return s.parse::<i64>().ok()?.checked_mul(1_000_000_000);
    }
    if let Some(ns) = parse_time_fast(b) {
        return Some(ns);
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .or_else(|_| {
            // An offset without a colon (`-0600`), as Suricata and Apache write it.
            chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        })
        .ok()?
        .timestamp_nanos_opt()
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z]`, UTC.
fn parse_time_fast(b: &[u8]) -> Option<i64> {
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &b[19..];
    let mut nanos: u32 = 0;
    if let Some((b'.', frac)) = rest.split_first() {
        let digits = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        for (i, &c) in frac[..digits].iter().enumerate().take(9) {
            nanos += u32::from(c - b'0') * 10u32.pow(8 - i as u32);
        }
        rest = &frac[digits..];
    }
    if !(rest.is_empty() || rest == b"Z" || rest == b"z") {
        return None;
    }
    let dt = NaiveDate::from_ymd_opt(year as i32, month, day)?.and_hms_nano_opt(
        hour,
        min,
        sec.min(59),
        nanos,
    )?;
    dt.and_utc().timestamp_nanos_opt()
}

enum Builder {
    Str(StringBuilder),
    Bool(BooleanBuilder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Real(Float64Builder),
    Time(TimestampNanosecondBuilder),
    Span(DurationNanosecondBuilder),
}

impl Builder {
    fn new(ty: KqlType, rows: usize) -> Builder {
        match ty {
            KqlType::String | KqlType::Guid | KqlType::Dynamic => {
                Builder::Str(StringBuilder::with_capacity(rows, rows * 16))
            }
            KqlType::Bool => Builder::Bool(BooleanBuilder::with_capacity(rows)),
            KqlType::Int => Builder::Int32(Int32Builder::with_capacity(rows)),
            KqlType::Long => Builder::Int64(Int64Builder::with_capacity(rows)),
            KqlType::Real | KqlType::Decimal => Builder::Real(Float64Builder::with_capacity(rows)),
            KqlType::DateTime => Builder::Time(TimestampNanosecondBuilder::with_capacity(rows)),
            KqlType::TimeSpan => Builder::Span(DurationNanosecondBuilder::with_capacity(rows)),
        }
    }

    /// Appends a value that `convert` made for this column's type (anything else is null).
    fn append(&mut self, v: &Scalar<'_>) {
        match (self, v) {
            (Builder::Str(b), Scalar::Str(s)) => b.append_value(s),
            (Builder::Str(b), _) => b.append_null(),
            (Builder::Bool(b), Scalar::Bool(x)) => b.append_value(*x),
            (Builder::Bool(b), _) => b.append_null(),
            (Builder::Int32(b), Scalar::Int(x)) => b.append_option(i32::try_from(*x).ok()),
            (Builder::Int32(b), _) => b.append_null(),
            (Builder::Int64(b), Scalar::Int(x)) => b.append_value(*x),
            (Builder::Int64(b), _) => b.append_null(),
            (Builder::Real(b), Scalar::Real(x)) => b.append_value(*x),
            (Builder::Real(b), Scalar::Int(x)) => b.append_value(*x as f64),
            (Builder::Real(b), _) => b.append_null(),
            (Builder::Time(b), Scalar::Nanos(x)) => b.append_value(*x),
            (Builder::Time(b), _) => b.append_null(),
            (Builder::Span(b), Scalar::Nanos(x)) => b.append_value(*x),
            (Builder::Span(b), _) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Str(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Int32(b) => Arc::new(b.finish()),
            Builder::Int64(b) => Arc::new(b.finish()),
            Builder::Real(b) => Arc::new(b.finish()),
            Builder::Time(b) => Arc::new(b.finish()),
            Builder::Span(b) => Arc::new(b.finish()),
        }
    }
}

/// Accumulates rows of the projected columns of a table and cuts them into batches.
pub(crate) struct Batcher {
    schema: SchemaRef,
    builders: Vec<Builder>,
    rows: usize,
    pub(crate) batch_size: usize,
}

impl Batcher {
    pub(crate) fn new(
        table: &TableDef,
        projection: &[usize],
        batch_size: usize,
    ) -> Result<Batcher, SourceError> {
        let columns = table.columns.len();
        if let Some(&index) = projection.iter().find(|&&i| i >= columns) {
            return Err(SourceError::Projection {
                table: table.name.clone(),
                index,
                columns,
            });
        }
        let schema = table
            .schema()
            .project(projection)
            .map_err(|e| SourceError::Malformed {
                path: PathBuf::new(),
                position: Position::Byte(0),
                reason: format!("cannot project table {}: {e}", table.name),
            })?;
        let batch_size = batch_size.max(1);
        let builders = projection
            .iter()
            .map(|&i| Builder::new(table.columns[i].ty, batch_size.min(1024)))
            .collect();
        Ok(Batcher {
            schema: Arc::new(schema),
            builders,
            rows: 0,
            batch_size,
        })
    }

    /// Appends one row; `values` has one entry per projected column.
    pub(crate) fn push(&mut self, values: &[Scalar<'_>]) {
        debug_assert_eq!(values.len(), self.builders.len());
        for (b, v) in self.builders.iter_mut().zip(values) {
            b.append(v);
        }
        self.rows += 1;
    }

    pub(crate) fn is_full(&self) -> bool {
        self.rows >= self.batch_size
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The rows so far as a batch; starts a new one.
    pub(crate) fn finish(&mut self) -> RecordBatch {
        let columns: Vec<ArrayRef> = self.builders.iter_mut().map(Builder::finish).collect();
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        self.rows = 0;
        RecordBatch::try_new_with_options(Arc::clone(&self.schema), columns, &options)
            .expect("builders follow the projected schema")
    }
}

/// What a unit source (lines of a text file, elements of a JSON array) produced next.
pub(crate) enum Unit<'b> {
    /// A record's bytes and where it starts.
    Record(Position, &'b [u8]),
    /// A record that was lost; `fatal` ends the file (the source cannot go on).
    Lost {
        position: Position,
        reason: String,
        fatal: bool,
    },
    /// Reading failed (I/O or decompression); ends the file.
    Failed(Position, std::io::Error),
    End,
}

/// Splits a file into records.
pub(crate) trait Units: Send {
    fn next_unit(&mut self) -> Unit<'_>;
}

/// Turns one record into a row.
pub(crate) trait RowDecoder: Send {
    /// Appends the row of `record` to `batcher`, or skips it (`Ok` with nothing appended, e.g. a
    /// header line), or returns why the record is bad.
    fn decode(
        &mut self,
        record: &[u8],
        position: Position,
        batcher: &mut Batcher,
    ) -> Result<(), String>;
}

/// The iterator every format returns: reads units, decodes rows, yields batches and bad records.
pub(crate) struct Decoding<U, D> {
    units: U,
    decoder: D,
    batcher: Batcher,
    path: PathBuf,
    done: bool,
    /// An error to report after the partial batch before it.
    pending: Option<Result<Decoded, SourceError>>,
}

impl<U: Units, D: RowDecoder> Decoding<U, D> {
    pub(crate) fn new(units: U, decoder: D, batcher: Batcher, path: &Path) -> Self {
        Decoding {
            units,
            decoder,
            batcher,
            path: path.to_path_buf(),
            done: false,
            pending: None,
        }
    }

    fn bad(&self, position: Position, reason: String) -> Decoded {
        Decoded::Bad(BadRecord {
            file: self.path.clone(),
            position,
            reason,
        })
    }
}

impl<U: Units, D: RowDecoder> Iterator for Decoding<U, D> {
    type Item = Result<Decoded, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(p) = self.pending.take() {
            return Some(p);
        }
        if self.done {
            return None;
        }
        loop {
            let (position, reason) = match self.units.next_unit() {
                Unit::Record(position, bytes) => {
                    match self.decoder.decode(bytes, position, &mut self.batcher) {
                        Ok(()) => {
                            if self.batcher.is_full() {
                                return Some(Ok(Decoded::Batch(self.batcher.finish())));
                            }
                            continue;
                        }
                        Err(reason) => (position, reason),
                    }
                }
                Unit::Lost {
                    position,
                    reason,
                    fatal,
                } => {
                    if fatal {
                        self.done = true;
                        let bad = self.bad(position, reason);
                        return Some(self.flush_then(Ok(bad)));
                    }
                    (position, reason)
                }
                Unit::Failed(position, source) => {
                    self.done = true;
                    let err = SourceError::Read {
                        path: self.path.clone(),
                        position,
                        source,
                    };
                    return Some(self.flush_then(Err(err)));
                }
                Unit::End => {
                    self.done = true;
                    if self.batcher.is_empty() {
                        return None;
                    }
                    return Some(Ok(Decoded::Batch(self.batcher.finish())));
                }
            };
            return Some(Ok(self.bad(position, reason)));
        }
    }
}

impl<U: Units, D: RowDecoder> Decoding<U, D> {
    /// Yields the partial batch first (if any) and keeps `then` for the next call.
    fn flush_then(&mut self, then: Result<Decoded, SourceError>) -> Result<Decoded, SourceError> {
        if self.batcher.is_empty() {
            then
        } else {
            self.pending = Some(then);
            Ok(Decoded::Batch(self.batcher.finish()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_the_forms_logs_use() {
        let t = parse_time("2024-08-02T08:23:24Z").unwrap();
        assert_eq!(t, 1_722_587_004_000_000_000);
        assert_eq!(parse_time("2024-08-02 08:23:24"), Some(t));
        assert_eq!(parse_time("1722587004"), Some(t));
        assert_eq!(parse_time("2024-08-02T08:23:24.5Z"), Some(t + 500_000_000));
        assert_eq!(parse_time("2024-08-02T10:23:24+02:00"), Some(t));
        assert_eq!(
            parse_time("2024-08-02T02:23:24.5-0600"),
            Some(t + 500_000_000)
        );
        assert_eq!(parse_time("2024-13-02T08:23:24Z"), None);
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn conversion_errors_say_what_was_found() {
        let e = convert(Cow::Borrowed("abc"), KqlType::Int).unwrap_err();
        assert!(e.contains("whole number") && e.contains("\"abc\""), "{e}");
        assert_eq!(
            convert(Cow::Borrowed("70000"), KqlType::Long),
            Ok(Scalar::Int(70000))
        );
        assert!(convert(Cow::Borrowed("3000000000"), KqlType::Int).is_err());
        assert_eq!(
            convert(Cow::Borrowed("false"), KqlType::Bool),
            Ok(Scalar::Bool(false))
        );
    }
}
