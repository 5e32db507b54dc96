//! `bin(value, roundTo)` (also `floor`): rounds down to a multiple of the bin size
//! (<https://learn.microsoft.com/kusto/query/bin-function>). Null values, a null bin size, or a
//! bin size that is not positive give null. The result has the value's type.
//!
//! datetime bins are aligned to 0001-01-01T00:00:00 (Kusto counts datetime in ticks from
//! there). For sizes that divide a day (hours, minutes, `1d`) that is the same as aligning to the
//! Unix epoch; for `7d` the bins start on Mondays (0001-01-01 was a Monday), not on Thursdays as
//! Unix-epoch alignment would give.

use std::sync::Arc;

use datafusion::arrow::array::{
    DurationNanosecondArray, Float64Array, Int32Array, Int64Array, TimestampNanosecondArray,
};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};

use crate::args::{F64Arg, I64Arg, NanosArg, Rows, arity};
use crate::datetime::NS_PER_DAY;
use crate::udf::Spec;

/// Nanoseconds from 0001-01-01 to 1970-01-01 (719,162 days).
const EPOCH_FROM_YEAR_ONE: i128 = 719_162 * NS_PER_DAY as i128;

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, None)
}
fn dur() -> DataType {
    DataType::Duration(TimeUnit::Nanosecond)
}

fn value_type(t: &DataType) -> Result<DataType> {
    Ok(match t {
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::UInt8 | DataType::UInt16 => {
            DataType::Int32
        }
        t if t.is_integer() => DataType::Int64,
        t if t.is_floating() => DataType::Float64,
        DataType::Decimal128(..) | DataType::Decimal256(..) | DataType::Null => DataType::Float64,
        DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => ts(),
        DataType::Duration(_) => dur(),
        other => return plan_err!("bin: cannot bin a value of type {other}"),
    })
}

fn coerce(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    arity(name, t, 2, 2)?;
    let v = value_type(&t[0])?;
    let size = match (&v, &t[1]) {
        (DataType::Timestamp(..) | DataType::Duration(_), _) => dur(),
        (_, s) if s.is_integer() => DataType::Int64,
        (_, s) if s.is_floating() || s.is_null() => DataType::Float64,
        (_, DataType::Decimal128(..) | DataType::Decimal256(..)) => DataType::Float64,
        (_, s) => return plan_err!("bin: a {v} value needs a numeric bin size, got {s}"),
    };
    Ok(vec![v, size])
}

fn floor_i64(v: i64, size: i64) -> Option<i64> {
    (size > 0)
        .then(|| v.div_euclid(size).checked_mul(size))
        .flatten()
}

fn floor_f64(v: f64, size: f64) -> Option<f64> {
    (size > 0.0).then(|| (v / size).floor() * size)
}

/// A datetime floored to `size` bins counted from 0001-01-01.
pub fn bin_datetime(v: i64, size: i64) -> Option<i64> {
    if size <= 0 {
        return None;
    }
    let from_year_one = i128::from(v) + EPOCH_FROM_YEAR_ONE;
    let binned =
        from_year_one.div_euclid(i128::from(size)) * i128::from(size) - EPOCH_FROM_YEAR_ONE;
    i64::try_from(binned).ok()
}

fn bin(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let (value, size) = (&args.args[0], &args.args[1]);
    let integer_size = size.data_type().is_integer();
    let array: Arc<dyn datafusion::arrow::array::Array> = match value.data_type() {
        DataType::Timestamp(..) => {
            let (v, s) = (NanosArg::timestamp(value)?, NanosArg::duration(size)?);
            Arc::new(
                (0..rows.n)
                    .map(|i| bin_datetime(v.get(i)?, s.get(i)?))
                    .collect::<TimestampNanosecondArray>(),
            )
        }
        DataType::Duration(_) => {
            let (v, s) = (NanosArg::duration(value)?, NanosArg::duration(size)?);
            Arc::new(
                (0..rows.n)
                    .map(|i| floor_i64(v.get(i)?, s.get(i)?))
                    .collect::<DurationNanosecondArray>(),
            )
        }
        DataType::Int64 | DataType::Int32 if integer_size => {
            let (v, s) = (I64Arg::new(value)?, I64Arg::new(size)?);
            let out = (0..rows.n).map(|i| floor_i64(v.get(i)?, s.get(i)?));
            if value.data_type() == DataType::Int32 {
                Arc::new(
                    out.map(|x| x.and_then(|x| i32::try_from(x).ok()))
                        .collect::<Int32Array>(),
                )
            } else {
                Arc::new(out.collect::<Int64Array>())
            }
        }
        DataType::Int64 | DataType::Int32 | DataType::Float64 => {
            let (v, s) = (F64Arg::new(value)?, F64Arg::new(size)?);
            let out = (0..rows.n).map(|i| floor_f64(v.get(i)?, s.get(i)?));
            match value.data_type() {
                DataType::Float64 => Arc::new(out.collect::<Float64Array>()),
                DataType::Int32 => {
                    Arc::new(out.map(|x| x.map(|x| x as i32)).collect::<Int32Array>())
                }
                _ => Arc::new(out.map(|x| x.map(|x| x as i64)).collect::<Int64Array>()),
            }
        }
        other => return exec_err!("bin: unexpected value type {other}"),
    };
    rows.finish(array)
}

pub(crate) fn kql_bin() -> Spec {
    Spec {
        name: "kql_bin",
        coerce,
        ret: |t| value_type(&t[0]),
        ret_field: None,
        invoke: bin,
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::{
        DurationNanosecondType, Int32Type, TimestampNanosecondType,
    };
    use datafusion::common::ScalarValue;

    use super::*;
    use crate::datetime::{NS_PER_SEC, parse_kql_datetime};
    use crate::testing::*;

    fn dt(s: &str) -> i64 {
        parse_kql_datetime(s).unwrap()
    }

    fn span(ns: i64) -> ColumnarValue {
        ColumnarValue::Scalar(ScalarValue::DurationNanosecond(Some(ns)))
    }

    #[test]
    fn doc_examples() {
        // bin(4.5, 1) == 4
        assert_eq!(
            call_f64(kql_bin(), &[reals(&[Some(4.5), Some(-4.5), None]), int(1)]),
            vec![Some(4.0), Some(-5.0), None]
        );
        // bin(time(16d), 7d) == 14d
        let d = call(kql_bin(), &[span(16 * NS_PER_DAY), span(7 * NS_PER_DAY)]);
        assert_eq!(
            d.as_primitive::<DurationNanosecondType>().value(0),
            14 * NS_PER_DAY
        );
        // bin(datetime(1970-05-11 13:45:07), 1d) == datetime(1970-05-11)
        let t = ColumnarValue::Scalar(ScalarValue::TimestampNanosecond(
            Some(dt("1970-05-11 13:45:07")),
            None,
        ));
        let d = call(kql_bin(), &[t, span(NS_PER_DAY)]);
        assert_eq!(
            d.as_primitive::<TimestampNanosecondType>().value(0),
            dt("1970-05-11")
        );
    }

    #[test]
    fn alignment_and_types() {
        let h = 3600 * NS_PER_SEC;
        assert_eq!(
            bin_datetime(dt("2023-08-09 10:59:59.9"), h),
            Some(dt("2023-08-09 10:00"))
        );
        assert_eq!(
            bin_datetime(dt("1969-12-31 23:30"), h),
            Some(dt("1969-12-31 23:00"))
        );
        assert_eq!(
            bin_datetime(dt("2023-08-09 10:07"), 5 * 60 * NS_PER_SEC),
            Some(dt("2023-08-09 10:05"))
        );
        // 7d bins start on Mondays: 2023-08-09 is a Wednesday, 2023-08-07 a Monday.
        assert_eq!(
            bin_datetime(dt("2023-08-09 10:00"), 7 * NS_PER_DAY),
            Some(dt("2023-08-07"))
        );
        assert_eq!(bin_datetime(0, 0), None);
        assert_eq!(bin_datetime(0, -h), None);
        assert_eq!(
            call_i64(kql_bin(), &[longs(&[Some(17), Some(-1), Some(20)]), int(5)]),
            vec![Some(15), Some(-5), Some(20)]
        );
        assert_eq!(
            call_i64(kql_bin(), &[longs(&[Some(17)]), int(0)]),
            vec![None]
        );
        let ints = ColumnarValue::Scalar(ScalarValue::Int32(Some(17)));
        let a = call(
            kql_bin(),
            &[ints, ColumnarValue::Scalar(ScalarValue::Float64(Some(2.5)))],
        );
        assert_eq!(a.as_primitive::<Int32Type>().value(0), 15);
    }
}
