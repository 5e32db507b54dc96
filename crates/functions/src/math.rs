//! Number functions: `round`, `abs`, `max_of`, `min_of`, `binary_and`, `binary_or`, `todecimal`.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, DurationNanosecondArray, Float64Array, Int64Array, PrimitiveArray, StringArray,
};
use datafusion::arrow::datatypes::{
    ArrowPrimitiveType, DataType, DurationNanosecondType, Float64Type, Int64Type, TimeUnit,
    TimestampNanosecondType,
};
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};

use crate::args::{F64Arg, I64Arg, PrimArg, Rows, StrArg, arity};
use crate::convert::parse_real;
use crate::udf::{Spec, ret_f64, ret_i64};

/// The numeric coercion of one argument: integers to `Int64`, everything else to `Float64`.
fn numeric(t: &DataType) -> DataType {
    if t.is_integer() {
        DataType::Int64
    } else {
        DataType::Float64
    }
}

// ---------------------------------------------------------------------------------------------
// round
// ---------------------------------------------------------------------------------------------

/// `round(number[, precision])` (<https://learn.microsoft.com/kusto/query/round-function>):
/// halves round away from zero (`round(2.15, 1)` is 2.2, `round(-50.55, -2)` is -100); a
/// negative precision rounds left of the decimal point.
pub fn round_real(x: f64, precision: i64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let p = precision.clamp(-308, 308) as i32;
    if p >= 0 {
        let f = 10f64.powi(p);
        let scaled = x * f;
        if !scaled.is_finite() {
            return x;
        }
        scaled.round() / f
    } else {
        let f = 10f64.powi(-p);
        (x / f).round() * f
    }
}

/// `round` of a long: unchanged for a precision of 0 or more; otherwise to a multiple of
/// 10^-precision, halves away from zero. `None` on overflow.
pub fn round_long(x: i64, precision: i64) -> Option<i64> {
    if precision >= 0 {
        return Some(x);
    }
    let Some(f) = 10i64.checked_pow(u32::try_from(-precision).ok()?) else {
        return Some(0);
    };
    let q = x / f;
    let r = x % f;
    let q = if r.unsigned_abs() * 2 >= f.unsigned_abs() {
        q + r.signum()
    } else {
        q
    };
    q.checked_mul(f)
}

fn round(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let precision = args.args.get(1).map(I64Arg::new).transpose()?;
    let p = |i: usize| match &precision {
        Some(p) => p.get(i),
        None => Some(0),
    };
    let out: ArrayRef = if args.args[0].data_type() == DataType::Int64 {
        let x = I64Arg::new(&args.args[0])?;
        Arc::new(
            (0..rows.n)
                .map(|i| round_long(x.get(i)?, p(i)?))
                .collect::<Int64Array>(),
        )
    } else {
        let x = F64Arg::new(&args.args[0])?;
        Arc::new(
            (0..rows.n)
                .map(|i| Some(round_real(x.get(i)?, p(i)?)))
                .collect::<Float64Array>(),
        )
    };
    rows.finish(out)
}

fn ret_first(t: &[DataType]) -> Result<DataType> {
    Ok(t.first().cloned().unwrap_or(DataType::Float64))
}

pub(crate) fn kql_round() -> Spec {
    Spec {
        name: "kql_round",
        coerce: |n, t| {
            arity(n, t, 1, 2)?;
            let mut v = vec![numeric(&t[0])];
            if t.len() == 2 {
                v.push(DataType::Int64);
            }
            Ok(v)
        },
        ret: ret_first,
        ret_field: None,
        invoke: round,
    }
}

// ---------------------------------------------------------------------------------------------
// abs
// ---------------------------------------------------------------------------------------------

/// `abs(x)` of a long, real or timespan; the type is kept. `abs(long.min)` overflows: null.
fn abs(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let a = &args.args[0];
    let out: ArrayRef = match a.data_type() {
        DataType::Int64 => {
            let x = I64Arg::new(a)?;
            Arc::new(
                (0..rows.n)
                    .map(|i| x.get(i)?.checked_abs())
                    .collect::<Int64Array>(),
            )
        }
        DataType::Duration(_) => {
            let x = PrimArg::<DurationNanosecondType>::new(a, &duration())?;
            Arc::new(
                (0..rows.n)
                    .map(|i| x.get(i)?.checked_abs())
                    .collect::<DurationNanosecondArray>(),
            )
        }
        _ => {
            let x = F64Arg::new(a)?;
            Arc::new(
                (0..rows.n)
                    .map(|i| Some(x.get(i)?.abs()))
                    .collect::<Float64Array>(),
            )
        }
    };
    rows.finish(out)
}

fn duration() -> DataType {
    DataType::Duration(TimeUnit::Nanosecond)
}

fn timestamp() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, None)
}

pub(crate) fn kql_abs() -> Spec {
    Spec {
        name: "kql_abs",
        coerce: |n, t| {
            arity(n, t, 1, 1)?;
            Ok(vec![match &t[0] {
                DataType::Duration(_) => duration(),
                other => numeric(other),
            }])
        },
        ret: ret_first,
        ret_field: None,
        invoke: abs,
    }
}

// ---------------------------------------------------------------------------------------------
// max_of, min_of
// ---------------------------------------------------------------------------------------------

/// The one type every argument of `max_of`/`min_of` is compared as: long when all are
/// integers, real when all are numbers, datetime or timespan when all are, else string.
fn common_type(t: &[DataType]) -> DataType {
    let known: Vec<&DataType> = t.iter().filter(|t| **t != DataType::Null).collect();
    if known.is_empty() {
        return DataType::Float64;
    }
    if known.iter().all(|t| t.is_integer()) {
        DataType::Int64
    } else if known
        .iter()
        .all(|t| t.is_integer() || t.is_floating() || matches!(t, DataType::Decimal128(..)))
    {
        DataType::Float64
    } else if known.iter().all(|t| {
        matches!(
            t,
            DataType::Timestamp(..) | DataType::Date32 | DataType::Date64
        )
    }) {
        timestamp()
    } else if known.iter().all(|t| matches!(t, DataType::Duration(_))) {
        duration()
    } else {
        DataType::Utf8
    }
}

fn fold_primitive<T: ArrowPrimitiveType>(
    args: &[ColumnarValue],
    n: usize,
    target: &DataType,
    keep_new: fn(&T::Native, &T::Native) -> bool,
) -> Result<ArrayRef>
where
    T::Native: PartialOrd,
{
    let vals: Vec<PrimArg<T>> = args
        .iter()
        .map(|a| PrimArg::<T>::new(a, target))
        .collect::<Result<_>>()?;
    let out: PrimitiveArray<T> = (0..n)
        .map(|i| {
            let mut best: Option<T::Native> = None;
            for v in vals.iter().filter_map(|v| v.get(i)) {
                if best.as_ref().is_none_or(|b| keep_new(&v, b)) {
                    best = Some(v);
                }
            }
            best
        })
        .collect();
    Ok(Arc::new(out))
}

fn extreme(args: &ScalarFunctionArgs, max: bool) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let target = args.args[0].data_type();
    let a = &args.args;
    fn gt<N: PartialOrd>(a: &N, b: &N) -> bool {
        a > b
    }
    fn lt<N: PartialOrd>(a: &N, b: &N) -> bool {
        a < b
    }
    let out = match (&target, max) {
        (DataType::Int64, true) => fold_primitive::<Int64Type>(a, rows.n, &target, gt)?,
        (DataType::Int64, false) => fold_primitive::<Int64Type>(a, rows.n, &target, lt)?,
        (DataType::Float64, true) => fold_primitive::<Float64Type>(a, rows.n, &target, gt)?,
        (DataType::Float64, false) => fold_primitive::<Float64Type>(a, rows.n, &target, lt)?,
        (DataType::Timestamp(..), true) => {
            fold_primitive::<TimestampNanosecondType>(a, rows.n, &target, gt)?
        }
        (DataType::Timestamp(..), false) => {
            fold_primitive::<TimestampNanosecondType>(a, rows.n, &target, lt)?
        }
        (DataType::Duration(_), true) => {
            fold_primitive::<DurationNanosecondType>(a, rows.n, &target, gt)?
        }
        (DataType::Duration(_), false) => {
            fold_primitive::<DurationNanosecondType>(a, rows.n, &target, lt)?
        }
        _ => {
            let vals: Vec<StrArg> = a.iter().map(StrArg::new).collect::<Result<_>>()?;
            let out: StringArray = (0..rows.n)
                .map(|i| {
                    let mut best: Option<&str> = None;
                    for v in vals.iter().filter_map(|v| v.get(i)) {
                        if best.is_none_or(|b| if max { v > b } else { v < b }) {
                            best = Some(v);
                        }
                    }
                    best
                })
                .collect();
            Arc::new(out)
        }
    };
    rows.finish(out)
}

fn coerce_extreme(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    arity(name, t, 1, usize::MAX)?;
    let c = common_type(t);
    Ok(vec![c; t.len()])
}

/// `max_of(a, b, ...)` (<https://learn.microsoft.com/kusto/query/max-of-function>): the largest
/// argument; nulls are ignored, and all nulls give null.
pub(crate) fn kql_max_of() -> Spec {
    Spec {
        name: "kql_max_of",
        coerce: coerce_extreme,
        ret: ret_first,
        ret_field: None,
        invoke: |a| extreme(a, true),
    }
}

/// `min_of(a, b, ...)`: the smallest argument; nulls are ignored.
pub(crate) fn kql_min_of() -> Spec {
    Spec {
        name: "kql_min_of",
        coerce: coerce_extreme,
        ret: ret_first,
        ret_field: None,
        invoke: |a| extreme(a, false),
    }
}

// ---------------------------------------------------------------------------------------------
// binary_and, binary_or, todecimal
// ---------------------------------------------------------------------------------------------

fn binary(args: &ScalarFunctionArgs, f: fn(i64, i64) -> i64) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let a = I64Arg::new(&args.args[0])?;
    let b = I64Arg::new(&args.args[1])?;
    let out: Int64Array = (0..rows.n).map(|i| Some(f(a.get(i)?, b.get(i)?))).collect();
    rows.finish(Arc::new(out))
}

fn two_longs(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    arity(name, t, 2, 2)?;
    Ok(vec![DataType::Int64, DataType::Int64])
}

pub(crate) fn kql_binary_and() -> Spec {
    Spec {
        name: "kql_binary_and",
        coerce: two_longs,
        ret: ret_i64,
        ret_field: None,
        invoke: |a| binary(a, |x, y| x & y),
    }
}

pub(crate) fn kql_binary_or() -> Spec {
    Spec {
        name: "kql_binary_or",
        coerce: two_longs,
        ret: ret_i64,
        ret_field: None,
        invoke: |a| binary(a, |x, y| x | y),
    }
}

/// `todecimal(x)`: spoor has no decimal type, so the value is a real. Text that is not a number
/// gives null.
fn todecimal(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let a = &args.args[0];
    let out: Float64Array = if a.data_type() == DataType::Utf8 {
        let s = StrArg::new(a)?;
        (0..rows.n).map(|i| s.get(i).and_then(parse_real)).collect()
    } else {
        let x = F64Arg::new(a)?;
        (0..rows.n).map(|i| x.get(i)).collect()
    };
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_todecimal() -> Spec {
    Spec {
        name: "kql_todecimal",
        coerce: |n, t| {
            arity(n, t, 1, 1)?;
            Ok(vec![match &t[0] {
                t if t.is_numeric() || *t == DataType::Boolean => DataType::Float64,
                _ => DataType::Utf8,
            }])
        },
        ret: ret_f64,
        ret_field: None,
        invoke: todecimal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn real(v: f64) -> ColumnarValue {
        ColumnarValue::Scalar(datafusion::common::ScalarValue::Float64(Some(v)))
    }

    #[test]
    fn round_doc_examples() {
        assert_eq!(round_real(2.98765, 3), 2.988);
        assert_eq!(round_real(2.15, 1), 2.2);
        assert_eq!(round_real(2.15, 0), 2.0);
        assert_eq!(round_real(-50.55, -2), -100.0);
        assert_eq!(round_real(21.5, -1), 20.0);
        assert_eq!(round_real(2.5, 0), 3.0);
        assert_eq!(round_real(-2.5, 0), -3.0);
        assert_eq!(round_long(1250, -2), Some(1300));
        assert_eq!(round_long(-1250, -2), Some(-1300));
        assert_eq!(round_long(1249, -2), Some(1200));
        assert_eq!(round_long(7, 2), Some(7));
        assert_eq!(
            call_f64(kql_round(), &[real(2.15), int(1)]),
            vec![Some(2.2)]
        );
        assert_eq!(call_f64(kql_round(), &[real(2.5)]), vec![Some(3.0)]);
        assert_eq!(
            call_i64(kql_round(), &[longs(&[Some(15), None]), int(-1)]),
            vec![Some(20), None]
        );
    }

    #[test]
    fn abs_and_bits() {
        assert_eq!(
            call_i64(
                kql_abs(),
                &[longs(&[Some(-5), Some(3), None, Some(i64::MIN)])]
            ),
            vec![Some(5), Some(3), None, None]
        );
        assert_eq!(call_f64(kql_abs(), &[real(-1.5)]), vec![Some(1.5)]);
        assert_eq!(call_i64(kql_binary_and(), &[int(6), int(3)]), vec![Some(2)]);
        assert_eq!(call_i64(kql_binary_or(), &[int(6), int(3)]), vec![Some(7)]);
        assert_eq!(
            call_f64(kql_todecimal(), &[s(&[Some("123.345"), Some("x"), None])]),
            vec![Some(123.345), None, None]
        );
        assert_eq!(call_f64(kql_todecimal(), &[int(3)]), vec![Some(3.0)]);
    }

    #[test]
    fn max_min_of() {
        // https://learn.microsoft.com/kusto/query/max-of-function
        assert_eq!(call_i64(kql_max_of(), &[int(10), int(1)]), vec![Some(10)]);
        assert_eq!(
            call_i64(
                kql_max_of(),
                &[
                    longs(&[Some(1), None, None]),
                    longs(&[Some(5), Some(2), None])
                ]
            ),
            vec![Some(5), Some(2), None]
        );
        assert_eq!(
            call_f64(kql_max_of(), &[int(1), real(2.5)]),
            vec![Some(2.5)]
        );
        assert_eq!(
            call_i64(kql_min_of(), &[int(10), int(1), int(7)]),
            vec![Some(1)]
        );
        assert_eq!(
            call_str(kql_max_of(), &[lit("abc"), lit("def"), null()]),
            vec![Some("def".into())]
        );
        assert_eq!(
            call_str(kql_min_of(), &[lit("abc"), lit("def")]),
            vec![Some("abc".into())]
        );
        let ts = |v: i64| {
            ColumnarValue::Scalar(datafusion::common::ScalarValue::TimestampNanosecond(
                Some(v),
                None,
            ))
        };
        let a = call(kql_max_of(), &[ts(5), ts(9)]);
        assert_eq!(a.data_type(), &timestamp());
    }
}
