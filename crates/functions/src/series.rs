//! The pieces of `make-series` (<https://learn.microsoft.com/kusto/query/make-series-operator>):
//!
//! - `kql_series_bin_index(axis, from, step)`: the bin a row falls in, `floor((axis - from) /
//!   step)` (Kusto groups rows by `bin_at(axis, step, from)`);
//! - `kql_series_bins(from, to, step)`: how many bins the series has, `ceil((to - from) / step)`
//!   (`to` is exclusive: the last bin start is the last `from + k * step` below `to`);
//! - `kql_series_axis(from, step, nbins)`: the axis column, a dynamic array of the bin starts;
//! - `kql_series_fill(bin, value, nbins, default)`: an aggregate that lays the per-bin values
//!   of one group out as a dynamic array of `nbins` values, `default` where a bin had no rows.
//!
//! The axis is a datetime (`Timestamp(ns)`) with a timespan step, a timespan with a timespan
//! step, or a number (long, or real when any of the three is real). Datetimes inside the axis
//! array are printed as Kusto prints them inside dynamic values, with seven fractional digits
//! (`"2017-01-01T00:00:00.0000000Z"`, the page's example output).
//!
//! Kusto limits a series to 1,048,576 values; a longer one is an error here.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type, TimeUnit};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, ColumnarValue, ScalarFunctionArgs, Signature, Volatility,
};

use crate::args::{F64Arg, I64Arg, NanosArg, Rows, arity};
use crate::datetime::{format_kql_timespan, to_naive};
use crate::udf::{Spec, ret_i64, ret_utf8};

/// Kusto's largest series (2^20 values).
pub const MAX_BINS: i64 = 1_048_576;

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, None)
}
fn dur() -> DataType {
    DataType::Duration(TimeUnit::Nanosecond)
}

/// The kind of axis, from the type of its first value.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Axis {
    DateTime,
    TimeSpan,
    Long,
    Real,
}

fn axis_kind(name: &str, types: &[DataType]) -> Result<Axis> {
    let first = &types[0];
    Ok(match first {
        DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => Axis::DateTime,
        DataType::Duration(_) => Axis::TimeSpan,
        t if t.is_numeric() || t.is_null() => {
            let numeric = |t: &DataType| t.is_integer() || t.is_null();
            if types.iter().all(numeric) {
                Axis::Long
            } else {
                Axis::Real
            }
        }
        other => return plan_err!("{name}: the make-series axis cannot be a {other}"),
    })
}

/// Coerces (value, value, step) for an axis of the first argument's kind.
fn coerce_value_value_step(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    arity(name, t, 3, 3)?;
    Ok(match axis_kind(name, t)? {
        Axis::DateTime => vec![ts(), ts(), dur()],
        Axis::TimeSpan => vec![dur(), dur(), dur()],
        Axis::Long => vec![DataType::Int64; 3],
        Axis::Real => vec![DataType::Float64; 3],
    })
}

/// The three arguments of a (value, value, step) function as 64-bit integers or reals.
enum Triple {
    Ints(Box<dyn Fn(usize) -> [Option<i64>; 3]>),
    Reals(Box<dyn Fn(usize) -> [Option<f64>; 3]>),
}

fn triple(args: &[ColumnarValue]) -> Result<Triple> {
    let nanos = |a: &ColumnarValue| -> Result<NanosArg> {
        match a.data_type() {
            DataType::Timestamp(..) => NanosArg::timestamp(a),
            _ => NanosArg::duration(a),
        }
    };
    Ok(match args[0].data_type() {
        DataType::Timestamp(..) | DataType::Duration(_) => {
            let (a, b, c) = (nanos(&args[0])?, nanos(&args[1])?, nanos(&args[2])?);
            Triple::Ints(Box::new(move |i| [a.get(i), b.get(i), c.get(i)]))
        }
        DataType::Int64 => {
            let (a, b, c) = (
                I64Arg::new(&args[0])?,
                I64Arg::new(&args[1])?,
                I64Arg::new(&args[2])?,
            );
            Triple::Ints(Box::new(move |i| [a.get(i), b.get(i), c.get(i)]))
        }
        _ => {
            let (a, b, c) = (
                F64Arg::new(&args[0])?,
                F64Arg::new(&args[1])?,
                F64Arg::new(&args[2])?,
            );
            Triple::Reals(Box::new(move |i| [a.get(i), b.get(i), c.get(i)]))
        }
    })
}

/// `floor((axis - from) / step)`; null when a value is null or the step is not positive.
fn bin_index(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let out: Int64Array = match triple(&args.args)? {
        Triple::Ints(get) => (0..rows.n)
            .map(|i| match get(i) {
                [Some(v), Some(from), Some(step)] if step > 0 => {
                    let k = (i128::from(v) - i128::from(from)).div_euclid(i128::from(step));
                    i64::try_from(k).ok()
                }
                _ => None,
            })
            .collect(),
        Triple::Reals(get) => (0..rows.n)
            .map(|i| match get(i) {
                [Some(v), Some(from), Some(step)] if step > 0.0 => {
                    let k = ((v - from) / step).floor();
                    (k.is_finite() && k.abs() < 9.0e18).then_some(k as i64)
                }
                _ => None,
            })
            .collect(),
    };
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_series_bin_index() -> Spec {
    Spec {
        name: "kql_series_bin_index",
        coerce: coerce_value_value_step,
        ret: ret_i64,
        ret_field: None,
        invoke: bin_index,
    }
}

fn too_many(n: i128) -> Result<Option<i64>> {
    if n > i128::from(MAX_BINS) {
        return exec_err!(
            "make-series: the series would have {n} values; Kusto's limit is {MAX_BINS}"
        );
    }
    Ok(Some(n.max(0) as i64))
}

/// `ceil((to - from) / step)`, at least 0; an error for a step that is not positive.
fn bins(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let mut out = Vec::with_capacity(rows.n);
    match triple(&args.args)? {
        Triple::Ints(get) => {
            for i in 0..rows.n {
                out.push(match get(i) {
                    [Some(from), Some(to), Some(step)] => {
                        if step <= 0 {
                            return exec_err!("make-series: the step must be positive");
                        }
                        let span = i128::from(to) - i128::from(from);
                        let step = i128::from(step);
                        too_many((span + step - 1).div_euclid(step))?
                    }
                    _ => None,
                });
            }
        }
        Triple::Reals(get) => {
            for i in 0..rows.n {
                out.push(match get(i) {
                    [Some(from), Some(to), Some(step)] => {
                        if step.is_nan() || step <= 0.0 {
                            return exec_err!("make-series: the step must be positive");
                        }
                        let n = ((to - from) / step).ceil();
                        if !n.is_finite() {
                            return exec_err!("make-series: the range is not finite");
                        }
                        too_many(n.clamp(-1.0, 1.0e12) as i128)?
                    }
                    _ => None,
                });
            }
        }
    }
    rows.finish(Arc::new(Int64Array::from(out)))
}

pub(crate) fn kql_series_bins() -> Spec {
    Spec {
        name: "kql_series_bins",
        coerce: coerce_value_value_step,
        ret: ret_i64,
        ret_field: None,
        invoke: bins,
    }
}

/// A datetime as Kusto prints it inside a dynamic value: seven fractional digits.
pub fn dynamic_datetime(ns: i64) -> String {
    let t = to_naive(ns);
    let ticks = ns.rem_euclid(1_000_000_000) / 100;
    format!("{}.{ticks:07}Z", t.format("%Y-%m-%dT%H:%M:%S"))
}

fn real_json(v: f64) -> String {
    serde_json::Number::from_f64(v)
        .map(|n| n.to_string())
        .unwrap_or_else(|| "null".into())
}

/// The bin starts `from + k * step`, k in 0..nbins, as a dynamic array.
fn axis(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let nbins = I64Arg::new(&args.args[2])?;
    let kind = match args.args[0].data_type() {
        DataType::Timestamp(..) => Axis::DateTime,
        DataType::Duration(_) => Axis::TimeSpan,
        DataType::Int64 => Axis::Long,
        _ => Axis::Real,
    };
    let mut out: Vec<Option<String>> = Vec::with_capacity(rows.n);
    let ints = match kind {
        Axis::DateTime => Some((
            NanosArg::timestamp(&args.args[0])?,
            NanosArg::duration(&args.args[1])?,
        )),
        Axis::TimeSpan => Some((
            NanosArg::duration(&args.args[0])?,
            NanosArg::duration(&args.args[1])?,
        )),
        _ => None,
    };
    let longs = (kind == Axis::Long)
        .then(|| {
            Ok::<_, datafusion::error::DataFusionError>((
                I64Arg::new(&args.args[0])?,
                I64Arg::new(&args.args[1])?,
            ))
        })
        .transpose()?;
    let reals = (kind == Axis::Real)
        .then(|| {
            Ok::<_, datafusion::error::DataFusionError>((
                F64Arg::new(&args.args[0])?,
                F64Arg::new(&args.args[1])?,
            ))
        })
        .transpose()?;
    for i in 0..rows.n {
        let Some(n) = nbins.get(i) else {
            out.push(None);
            continue;
        };
        if n > MAX_BINS {
            return exec_err!(
                "make-series: the series would have {n} values; Kusto's limit is {MAX_BINS}"
            );
        }
        let n = n.max(0);
        let item: Option<Box<dyn Fn(i64) -> Option<String>>> = match kind {
            Axis::DateTime | Axis::TimeSpan => {
                let (f, s) = ints.as_ref().expect("nanos arguments");
                match (f.get(i), s.get(i)) {
                    (Some(from), Some(step)) => Some(Box::new(move |k: i64| {
                        let v = from.checked_add(step.checked_mul(k)?)?;
                        Some(if kind == Axis::DateTime {
                            format!("\"{}\"", dynamic_datetime(v))
                        } else {
                            format!("\"{}\"", format_kql_timespan(v))
                        })
                    })),
                    _ => None,
                }
            }
            Axis::Long => {
                let (f, s) = longs.as_ref().expect("long arguments");
                match (f.get(i), s.get(i)) {
                    (Some(from), Some(step)) => Some(Box::new(move |k: i64| {
                        Some(from.checked_add(step.checked_mul(k)?)?.to_string())
                    })),
                    _ => None,
                }
            }
            Axis::Real => {
                let (f, s) = reals.as_ref().expect("real arguments");
                match (f.get(i), s.get(i)) {
                    (Some(from), Some(step)) => Some(Box::new(move |k: i64| {
                        Some(real_json(from + step * k as f64))
                    })),
                    _ => None,
                }
            }
        };
        let Some(item) = item else {
            out.push(None);
            continue;
        };
        let mut s = String::from("[");
        for k in 0..n {
            if k > 0 {
                s.push(',');
            }
            s.push_str(&item(k).unwrap_or_else(|| "null".into()));
        }
        s.push(']');
        out.push(Some(s));
    }
    rows.finish(Arc::new(StringArray::from(out)))
}

pub(crate) fn kql_series_axis() -> Spec {
    Spec {
        name: "kql_series_axis",
        coerce: |name, t| {
            arity(name, t, 3, 3)?;
            let mut v = coerce_value_value_step(name, &[t[0].clone(), t[0].clone(), t[1].clone()])?;
            v.remove(1);
            v.push(DataType::Int64);
            Ok(v)
        },
        ret: ret_utf8,
        ret_field: None,
        invoke: axis,
    }
}

// ---------------------------------------------------------------------------------------------
// kql_series_fill: the aggregate that builds one series
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Fill {
    /// (bin, value as JSON text).
    entries: Vec<(i64, String)>,
    nbins: Option<i64>,
    default: Option<String>,
}

impl Fill {
    fn entries_json(&self) -> String {
        let mut s = String::from("[");
        for (k, (bin, v)) in self.entries.iter().enumerate() {
            if k > 0 {
                s.push(',');
            }
            s.push_str(&format!("[{bin},{v}]"));
        }
        s.push(']');
        s
    }

    fn note_shape(&mut self, nbins: Option<i64>, default: Option<&str>) {
        if self.nbins.is_none() {
            self.nbins = nbins;
        }
        if self.default.is_none() {
            self.default = default.map(str::to_string);
        }
    }
}

impl Accumulator for Fill {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let bins = values[0].as_primitive::<Int64Type>();
        let vals = values[1].as_string::<i32>();
        let nbins = values[2].as_primitive::<Int64Type>();
        let defaults = values[3].as_string::<i32>();
        for i in 0..bins.len() {
            if bins.is_null(i) {
                continue;
            }
            self.note_shape(
                (!nbins.is_null(i)).then(|| nbins.value(i)),
                (!defaults.is_null(i)).then(|| defaults.value(i)),
            );
            let v = if vals.is_null(i) {
                "null".to_string()
            } else {
                vals.value(i).to_string()
            };
            self.entries.push((bins.value(i), v));
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let Some(n) = self.nbins else {
            return Ok(ScalarValue::Utf8(None));
        };
        if n > MAX_BINS {
            return exec_err!(
                "make-series: the series would have {n} values; Kusto's limit is {MAX_BINS}"
            );
        }
        let n = n.max(0) as usize;
        let default = self.default.as_deref().unwrap_or("null");
        let mut slots: Vec<Option<&str>> = vec![None; n];
        for (bin, v) in &self.entries {
            if let Ok(b) = usize::try_from(*bin)
                && b < n
            {
                slots[b] = Some(v);
            }
        }
        let mut s = String::with_capacity(2 + n * (default.len() + 1));
        s.push('[');
        for (k, slot) in slots.iter().enumerate() {
            if k > 0 {
                s.push(',');
            }
            s.push_str(slot.unwrap_or(default));
        }
        s.push(']');
        Ok(ScalarValue::Utf8(Some(s)))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self
                .entries
                .iter()
                .map(|(_, v)| v.capacity() + 32)
                .sum::<usize>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            ScalarValue::Utf8(Some(self.entries_json())),
            ScalarValue::Int64(self.nbins),
            ScalarValue::Utf8(self.default.clone()),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let entries = states[0].as_string::<i32>();
        let nbins = states[1].as_primitive::<Int64Type>();
        let defaults = states[2].as_string::<i32>();
        for i in 0..entries.len() {
            self.note_shape(
                (!nbins.is_null(i)).then(|| nbins.value(i)),
                (!defaults.is_null(i)).then(|| defaults.value(i)),
            );
            if entries.is_null(i) {
                continue;
            }
            let pairs: Vec<(i64, &serde_json::value::RawValue)> =
                serde_json::from_str(entries.value(i)).map_err(|e| {
                    datafusion::common::DataFusionError::Execution(format!(
                        "kql_series_fill state: {e}"
                    ))
                })?;
            for (bin, v) in pairs {
                self.entries.push((bin, v.get().to_string()));
            }
        }
        Ok(())
    }
}

/// `kql_series_fill(bin, value, nbins, default)`: `value` and `default` are dynamic JSON text.
/// Null when the group had no rows.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct SeriesFill {
    signature: Signature,
}

impl SeriesFill {
    pub fn new() -> Self {
        SeriesFill {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for SeriesFill {
    fn name(&self) -> &str {
        "kql_series_fill"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        arity(self.name(), arg_types, 4, 4)?;
        Ok(vec![
            DataType::Int64,
            DataType::Utf8,
            DataType::Int64,
            DataType::Utf8,
        ])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn accumulator(&self, _acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::<Fill>::default())
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format_state_name(args.name, "entries"),
                DataType::Utf8,
                true,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "nbins"),
                DataType::Int64,
                true,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "default"),
                DataType::Utf8,
                true,
            )),
        ])
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::Int64Array;

    use super::*;
    use crate::testing::{call_i64, call_str, int, reals};

    fn t(s: &str) -> ColumnarValue {
        ColumnarValue::Scalar(ScalarValue::TimestampNanosecond(
            crate::datetime::parse_kql_datetime(s),
            None,
        ))
    }
    fn d(ns: i64) -> ColumnarValue {
        ColumnarValue::Scalar(ScalarValue::DurationNanosecond(Some(ns)))
    }
    const DAY: i64 = 86_400_000_000_000;

    #[test]
    fn bins_of_the_page_example() {
        // from 2017-01-01 to 2017-01-10 step 1d: nine bins, 01-01 to 01-09.
        let n = call_i64(
            kql_series_bins(),
            &[t("2017-01-01"), t("2017-01-10"), d(DAY)],
        );
        assert_eq!(n, vec![Some(9)]);
        let axis = call_str(kql_series_axis(), &[t("2017-01-01"), d(DAY), int(3)]);
        assert_eq!(
            axis[0].as_deref(),
            Some(
                r#"["2017-01-01T00:00:00.0000000Z","2017-01-02T00:00:00.0000000Z","2017-01-03T00:00:00.0000000Z"]"#
            )
        );
        // 2017-01-05T13:40 falls in bin 4 (01-05); 12-31T06:00 in bin -1 (filtered out).
        let k = call_i64(
            kql_series_bin_index(),
            &[t("2017-01-05T13:40"), t("2017-01-01"), d(DAY)],
        );
        assert_eq!(k, vec![Some(4)]);
        let k = call_i64(
            kql_series_bin_index(),
            &[t("2016-12-31T06:00"), t("2017-01-01"), d(DAY)],
        );
        assert_eq!(k, vec![Some(-1)]);
    }

    #[test]
    fn numeric_axes() {
        // Partial last bin: 0..10 step 3 has bins 0, 3, 6, 9.
        assert_eq!(
            call_i64(kql_series_bins(), &[int(0), int(10), int(3)]),
            vec![Some(4)]
        );
        assert_eq!(
            call_i64(kql_series_bins(), &[int(5), int(1), int(3)]),
            vec![Some(0)]
        );
        assert_eq!(
            call_str(kql_series_axis(), &[int(0), int(3), int(4)])[0].as_deref(),
            Some("[0,3,6,9]")
        );
        let v = ColumnarValue::Array(Arc::new(Int64Array::from(vec![
            Some(-1),
            Some(0),
            Some(8),
            None,
        ])));
        assert_eq!(
            call_i64(kql_series_bin_index(), &[v, int(0), int(3)]),
            vec![Some(-1), Some(0), Some(2), None]
        );
        let r = reals(&[Some(0.25), Some(1.0)]);
        assert_eq!(
            call_i64(
                kql_series_bin_index(),
                &[
                    r,
                    ColumnarValue::Scalar(ScalarValue::Float64(Some(0.0))),
                    int(1)
                ]
            ),
            vec![Some(0), Some(1)]
        );
        assert_eq!(
            call_str(
                kql_series_axis(),
                &[
                    ColumnarValue::Scalar(ScalarValue::Float64(Some(0.5))),
                    ColumnarValue::Scalar(ScalarValue::Float64(Some(0.25))),
                    int(3)
                ]
            )[0]
            .as_deref(),
            Some("[0.5,0.75,1.0]")
        );
    }

    #[test]
    fn fill_lays_out_bins() {
        let mut f = Fill::default();
        let bins: ArrayRef = Arc::new(Int64Array::from(vec![Some(2), Some(0), None]));
        let vals: ArrayRef = Arc::new(StringArray::from(vec![Some("5"), Some("1.5"), Some("9")]));
        let n: ArrayRef = Arc::new(Int64Array::from(vec![Some(4), Some(4), Some(4)]));
        let def: ArrayRef = Arc::new(StringArray::from(vec![Some("0"), Some("0"), Some("0")]));
        f.update_batch(&[bins, vals, n, def]).unwrap();
        // Through state and merge, as a partitioned aggregation does.
        let state: Vec<ArrayRef> = f
            .state()
            .unwrap()
            .into_iter()
            .map(|s| s.to_array().unwrap())
            .collect();
        let mut g = Fill::default();
        g.merge_batch(&state).unwrap();
        assert_eq!(
            g.evaluate().unwrap(),
            ScalarValue::Utf8(Some("[1.5,0,5,0]".into()))
        );
        assert_eq!(Fill::default().evaluate().unwrap(), ScalarValue::Utf8(None));
    }

    #[test]
    fn too_long_is_an_error() {
        let spec = kql_series_bins();
        let args = vec![int(0), int(MAX_BINS + 1), int(1)];
        let types: Vec<DataType> = args.iter().map(|a| a.data_type()).collect();
        let coerced = (spec.coerce)(spec.name, &types).unwrap();
        let r = (spec.invoke)(&ScalarFunctionArgs {
            args,
            arg_fields: coerced
                .iter()
                .map(|t| Arc::new(Field::new("a", t.clone(), true)))
                .collect(),
            number_rows: 1,
            return_field: Arc::new(Field::new("r", DataType::Int64, true)),
            config_options: Arc::default(),
        });
        assert!(r.is_err());
    }
}
