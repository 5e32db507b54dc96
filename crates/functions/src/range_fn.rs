//! `range(start, stop[, step])` (<https://learn.microsoft.com/kusto/query/range-function>): a
//! dynamic array of start, start + step, ... up to and including stop, for numbers, datetimes
//! and timespans. The step defaults to 1 for numbers and 1h for datetimes and timespans; the
//! array stops at 2^20 values, as Kusto's does. Start already past stop (in the step's
//! direction) gives an empty array; a step of 0 otherwise gives null, as the page defines no
//! array for it.

use std::sync::Arc;

use datafusion::arrow::array::StringArray;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};
use serde_json::Value;

use crate::args::{F64Arg, I64Arg, NanosArg, Rows, arity};
use crate::datetime::{format_kql_datetime, format_kql_timespan};
use crate::udf::{Spec, ret_utf8};

/// The most values Kusto puts in one array.
const MAX_VALUES: usize = 1 << 20;

const HOUR_NS: i64 = 3_600_000_000_000;

/// The whole numbers from `start` to `stop` by `step` (None: step 0 with start not past stop).
fn ints(start: i64, stop: i64, step: i64) -> Option<Vec<i64>> {
    let past = if step >= 0 {
        start > stop
    } else {
        start < stop
    };
    if past {
        return Some(Vec::new());
    }
    if step == 0 {
        return None;
    }
    let mut out = Vec::new();
    let mut v = Some(start);
    while let Some(x) = v {
        if (step > 0 && x > stop) || (step < 0 && x < stop) || out.len() == MAX_VALUES {
            break;
        }
        out.push(x);
        v = x.checked_add(step);
    }
    Some(out)
}

/// The reals from `start` to `stop` by `step`. Each is start + k * step (no accumulated
/// rounding), and stop counts as reached within a billionth of a step (0 to 0.3 by 0.1 ends
/// at 0.3).
fn reals(start: f64, stop: f64, step: f64) -> Option<Vec<f64>> {
    if !(start.is_finite() && stop.is_finite() && step.is_finite()) {
        return None;
    }
    let past = if step >= 0.0 {
        start > stop
    } else {
        start < stop
    };
    if past {
        return Some(Vec::new());
    }
    if step == 0.0 {
        return None;
    }
    let steps = ((stop - start) / step + 1e-9).floor();
    let count = (steps as usize).saturating_add(1).min(MAX_VALUES);
    Some((0..count).map(|k| start + step * k as f64).collect())
}

fn coerce(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    arity(name, t, 2, 3)?;
    let ts = DataType::Timestamp(TimeUnit::Nanosecond, None);
    let dur = DataType::Duration(TimeUnit::Nanosecond);
    let n = t.len();
    Ok(match &t[0] {
        DataType::Timestamp(..) => {
            let mut v = vec![ts.clone(), ts];
            v.truncate(n.min(2));
            if n == 3 {
                v.push(dur);
            }
            v
        }
        DataType::Duration(_) => vec![dur; n],
        _ if t.iter().any(|d| {
            matches!(
                d,
                DataType::Float16
                    | DataType::Float32
                    | DataType::Float64
                    | DataType::Decimal128(..)
            )
        }) =>
        {
            vec![DataType::Float64; n]
        }
        d if d.is_integer() => vec![DataType::Int64; n],
        other => return exec_err!("range() takes numbers, datetimes or timespans, not {other}"),
    })
}

fn invoke(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let kind = args.args[0].data_type();
    let array = |v: Vec<Value>| Some(Value::Array(v).to_string());
    let out: StringArray = match kind {
        DataType::Timestamp(..) | DataType::Duration(_) => {
            let datetime = matches!(kind, DataType::Timestamp(..));
            let (start, stop) = if datetime {
                (
                    NanosArg::timestamp(&args.args[0])?,
                    NanosArg::timestamp(&args.args[1])?,
                )
            } else {
                (
                    NanosArg::duration(&args.args[0])?,
                    NanosArg::duration(&args.args[1])?,
                )
            };
            let step = args.args.get(2).map(NanosArg::duration).transpose()?;
            (0..rows.n)
                .map(|i| {
                    let step = match &step {
                        Some(s) => s.get(i)?,
                        None => HOUR_NS,
                    };
                    let values = ints(start.get(i)?, stop.get(i)?, step)?;
                    array(
                        values
                            .into_iter()
                            .map(|v| {
                                Value::String(if datetime {
                                    format_kql_datetime(v)
                                } else {
                                    format_kql_timespan(v)
                                })
                            })
                            .collect(),
                    )
                })
                .collect()
        }
        DataType::Float64 => {
            let (start, stop) = (F64Arg::new(&args.args[0])?, F64Arg::new(&args.args[1])?);
            let step = args.args.get(2).map(F64Arg::new).transpose()?;
            (0..rows.n)
                .map(|i| {
                    let step = match &step {
                        Some(s) => s.get(i)?,
                        None => 1.0,
                    };
                    let values = reals(start.get(i)?, stop.get(i)?, step)?;
                    array(
                        values
                            .into_iter()
                            .map(|v| {
                                serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
                            })
                            .collect(),
                    )
                })
                .collect()
        }
        _ => {
            let (start, stop) = (I64Arg::new(&args.args[0])?, I64Arg::new(&args.args[1])?);
            let step = args.args.get(2).map(I64Arg::new).transpose()?;
            (0..rows.n)
                .map(|i| {
                    let step = match &step {
                        Some(s) => s.get(i)?,
                        None => 1,
                    };
                    let values = ints(start.get(i)?, stop.get(i)?, step)?;
                    array(values.into_iter().map(Value::from).collect())
                })
                .collect()
        }
    };
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_range() -> Spec {
    Spec {
        name: "kql_range",
        coerce,
        ret: ret_utf8,
        ret_field: None,
        invoke,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{int, str1};
    use datafusion::common::ScalarValue;

    #[test]
    fn page_examples() {
        // https://learn.microsoft.com/kusto/query/range-function
        assert_eq!(
            str1(kql_range(), &[int(1), int(8), int(3)]).as_deref(),
            Some("[1,4,7]")
        );
        assert_eq!(
            str1(kql_range(), &[int(1), int(3)]).as_deref(),
            Some("[1,2,3]")
        );
        let span =
            |h: i64| ColumnarValue::Scalar(ScalarValue::DurationNanosecond(Some(h * HOUR_NS)));
        assert_eq!(
            str1(kql_range(), &[span(1), span(5)]).as_deref(),
            Some(r#"["01:00:00","02:00:00","03:00:00","04:00:00","05:00:00"]"#)
        );
        let day = |d: i64| {
            ColumnarValue::Scalar(ScalarValue::TimestampNanosecond(
                Some(1_420_070_400_000_000_000 + d * 24 * HOUR_NS),
                None,
            ))
        };
        let out = str1(kql_range(), &[day(0), day(364), span(24)]).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 365);
        assert_eq!(v[0], "2015-01-01T00:00:00Z");
        assert_eq!(v[364], "2015-12-31T00:00:00Z");
        // At most 2^20 values.
        assert_eq!(ints(1, 1_000_000_000, 1).unwrap().len(), 1_048_576);
    }

    #[test]
    fn steps() {
        assert_eq!(ints(5, 1, -2), Some(vec![5, 3, 1]));
        assert_eq!(ints(5, 1, 2), Some(vec![]));
        assert_eq!(ints(1, 5, 0), None);
        assert_eq!(reals(0.0, 1.0, 0.25), Some(vec![0.0, 0.25, 0.5, 0.75, 1.0]));
        assert_eq!(reals(1.0, 0.0, 0.5), Some(vec![]));
        assert_eq!(reals(0.0, 0.3, 0.1).map(|v| v.len()), Some(4));
    }
}
