//! Result writers: a terminal table, JSON lines (one object per row) and CSV.
//!
//! Values are rendered the way Kusto shows them: datetimes as ISO 8601 UTC with a `Z`,
//! timespans as `[-][d.]hh:mm:ss[.fffffff]`, dynamic values as JSON (nested JSON in JSON
//! output, not a string holding JSON).

use std::io::{self, Write};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, DurationNanosecondArray, Float64Array, Int32Array,
    Int64Array, TimestampNanosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use serde_json::Value;
use spoor_catalog::KqlType;

/// The output formats of `spoor query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// A table for the terminal.
    Table,
    /// JSON lines: one object per row.
    Json,
    /// CSV with a header row.
    Csv,
}

/// A query result: its batches and the KQL type of each column.
#[derive(Debug, Clone)]
pub struct ResultSet {
    pub columns: Vec<String>,
    pub batches: Vec<RecordBatch>,
    pub types: Vec<KqlType>,
}

impl ResultSet {
    /// A result whose column types are known (from the front-end's planner).
    pub fn new(columns: Vec<String>, batches: Vec<RecordBatch>, types: Vec<KqlType>) -> ResultSet {
        ResultSet {
            columns,
            batches,
            types,
        }
    }

    /// Rows of a catalog table (every column, in the table's order), such as a Sigma rule's
    /// matches.
    pub fn of_table(def: &spoor_catalog::TableDef, batches: Vec<RecordBatch>) -> ResultSet {
        ResultSet::new(
            def.columns.iter().map(|c| c.name.clone()).collect(),
            batches,
            def.columns.iter().map(|c| c.ty).collect(),
        )
    }

    /// Column names (known even when there are no rows).
    pub fn columns(&self) -> Vec<String> {
        self.columns.clone()
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    fn type_of(&self, batch: &RecordBatch, i: usize) -> KqlType {
        self.types
            .get(i)
            .copied()
            .or_else(|| KqlType::from_arrow(batch.schema().field(i).data_type()))
            .unwrap_or(KqlType::String)
    }

    /// Every row as text cells (null = empty).
    pub fn text_rows(&self) -> Vec<Vec<String>> {
        let mut rows = Vec::with_capacity(self.rows());
        for batch in &self.batches {
            let cols: Vec<(ArrayRef, KqlType)> = (0..batch.num_columns())
                .map(|i| (normalize(batch.column(i)), self.type_of(batch, i)))
                .collect();
            for r in 0..batch.num_rows() {
                rows.push(cols.iter().map(|(a, _)| text_cell(a, r)).collect());
            }
        }
        rows
    }

    /// Every row as a JSON object (column order kept).
    pub fn json_rows(&self) -> Vec<serde_json::Map<String, Value>> {
        let mut rows = Vec::with_capacity(self.rows());
        for batch in &self.batches {
            let schema = batch.schema();
            let cols: Vec<(ArrayRef, KqlType)> = (0..batch.num_columns())
                .map(|i| (normalize(batch.column(i)), self.type_of(batch, i)))
                .collect();
            for r in 0..batch.num_rows() {
                let mut obj = serde_json::Map::new();
                for (i, (a, t)) in cols.iter().enumerate() {
                    obj.insert(schema.field(i).name().clone(), json_cell(a, r, *t));
                }
                rows.push(obj);
            }
        }
        rows
    }
}

/// Writes a result in the given format.
pub fn write(out: &mut dyn Write, result: &ResultSet, format: OutputFormat) -> io::Result<()> {
    match format {
        OutputFormat::Table => write_table(out, result),
        OutputFormat::Json => {
            for row in result.json_rows() {
                serde_json::to_writer(&mut *out, &Value::Object(row))?;
                out.write_all(b"\n")?;
            }
            Ok(())
        }
        OutputFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(result.columns())?;
            for row in result.text_rows() {
                w.write_record(row)?;
            }
            w.flush()
        }
    }
}

fn write_table(out: &mut dyn Write, result: &ResultSet) -> io::Result<()> {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(result.columns());
    for row in result.text_rows() {
        table.add_row(row);
    }
    writeln!(out, "{table}")?;
    let n = result.rows();
    writeln!(out, "{n} row{}", if n == 1 { "" } else { "s" })
}

/// Brings the Arrow types that front-ends may produce to the few this module renders.
fn normalize(a: &ArrayRef) -> ArrayRef {
    let target = match a.data_type() {
        DataType::Int8 | DataType::Int16 | DataType::UInt8 | DataType::UInt16 => DataType::Int32,
        DataType::UInt32 | DataType::UInt64 => DataType::Int64,
        DataType::Float16
        | DataType::Float32
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => DataType::Float64,
        DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => {
            DataType::Timestamp(TimeUnit::Nanosecond, None)
        }
        DataType::Duration(_) => DataType::Duration(TimeUnit::Nanosecond),
        DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
        _ => return a.clone(),
    };
    if a.data_type() == &target {
        return a.clone();
    }
    cast(a, &target).unwrap_or_else(|_| a.clone())
}

/// Formats nanoseconds since the epoch as Kusto prints a datetime.
pub fn format_datetime(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    match chrono::DateTime::from_timestamp(secs, frac as u32) {
        Some(dt) => {
            let base = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
            if frac == 0 {
                format!("{base}Z")
            } else {
                // Kusto's resolution is 100 ns: seven fractional digits.
                format!("{base}.{:07}Z", frac / 100)
            }
        }
        None => ns.to_string(),
    }
}

/// Formats a nanosecond duration as Kusto prints a timespan: `[-][d.]hh:mm:ss[.fffffff]`.
pub fn format_timespan(ns: i64) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let v = ns.unsigned_abs();
    let ticks_frac = (v % 1_000_000_000) / 100;
    let total_secs = v / 1_000_000_000;
    let (days, h, m, s) = (
        total_secs / 86_400,
        (total_secs / 3600) % 24,
        (total_secs / 60) % 60,
        total_secs % 60,
    );
    let mut out = String::from(sign);
    if days > 0 {
        out.push_str(&format!("{days}."));
    }
    out.push_str(&format!("{h:02}:{m:02}:{s:02}"));
    if ticks_frac > 0 {
        out.push_str(&format!(".{ticks_frac:07}"));
    }
    out
}

fn format_real(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else {
        v.to_string()
    }
}

fn text_cell(a: &ArrayRef, r: usize) -> String {
    if a.is_null(r) {
        return String::new();
    }
    match a.data_type() {
        DataType::Boolean => a
            .as_any()
            .downcast_ref::<BooleanArray>()
            .map(|x| x.value(r).to_string()),
        DataType::Int32 => a
            .as_any()
            .downcast_ref::<Int32Array>()
            .map(|x| x.value(r).to_string()),
        DataType::Int64 => a
            .as_any()
            .downcast_ref::<Int64Array>()
            .map(|x| x.value(r).to_string()),
        DataType::Float64 => a
            .as_any()
            .downcast_ref::<Float64Array>()
            .map(|x| format_real(x.value(r))),
        DataType::Timestamp(..) => a
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .map(|x| format_datetime(x.value(r))),
        DataType::Duration(_) => a
            .as_any()
            .downcast_ref::<DurationNanosecondArray>()
            .map(|x| format_timespan(x.value(r))),
        DataType::Utf8 => Some(a.as_string::<i32>().value(r).to_string()),
        _ => None,
    }
    .unwrap_or_else(|| {
        datafusion::arrow::util::display::array_value_to_string(a, r).unwrap_or_default()
    })
}

fn json_cell(a: &ArrayRef, r: usize, ty: KqlType) -> Value {
    if a.is_null(r) {
        // Kusto has no null strings: an absent string is "".
        return match ty {
            KqlType::String | KqlType::Guid => Value::String(String::new()),
            _ => Value::Null,
        };
    }
    match a.data_type() {
        DataType::Boolean => a
            .as_any()
            .downcast_ref::<BooleanArray>()
            .map(|x| Value::Bool(x.value(r))),
        DataType::Int32 => a
            .as_any()
            .downcast_ref::<Int32Array>()
            .map(|x| Value::from(x.value(r))),
        DataType::Int64 => a
            .as_any()
            .downcast_ref::<Int64Array>()
            .map(|x| Value::from(x.value(r))),
        DataType::Float64 => a.as_any().downcast_ref::<Float64Array>().map(|x| {
            let v = x.value(r);
            serde_json::Number::from_f64(v)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(format_real(v)))
        }),
        DataType::Utf8 if ty == KqlType::Dynamic => {
            let text = a.as_string::<i32>().value(r);
            Some(serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string())))
        }
        _ => None,
    }
    .unwrap_or_else(|| Value::String(text_cell(a, r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_print_as_kusto_does() {
        assert_eq!(
            format_datetime(1_691_539_200_000_000_000),
            "2023-08-09T00:00:00Z"
        );
        assert_eq!(
            format_datetime(1_691_539_200_123_456_700),
            "2023-08-09T00:00:00.1234567Z"
        );
    }

    #[test]
    fn timespans_print_as_kusto_does() {
        assert_eq!(format_timespan(30 * 60 * 1_000_000_000), "00:30:00");
        assert_eq!(
            format_timespan((86_400 + 3_723) * 1_000_000_000),
            "1.01:02:03"
        );
        assert_eq!(format_timespan(-1_500_000_000), "-00:00:01.5000000");
    }
}
