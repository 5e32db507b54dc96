//! Conversions: `tostring`, `to_json` (a scalar as dynamic JSON text), and text to
//! `long`/`int`/`real`/`bool` (`tolong`, `toint`, `todouble`, `tobool`).

use std::sync::Arc;

use datafusion::arrow::array::{BooleanArray, Float64Array, Int32Array, Int64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};

use crate::args::{BoolArg, F64Arg, I64Arg, NanosArg, Rows, StrArg, all_text, arity};
use crate::datetime::{format_kql_datetime, format_kql_timespan};
use crate::udf::{Spec, ret_bool, ret_f64, ret_i32, ret_i64, ret_utf8};

/// Prints a real as Kusto does (.NET round-trip): `1`, `1.5`, `1E+20`, `1.5E-05`, `NaN`,
/// `Infinity`.
pub fn format_real(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let a = v.abs();
    if a != 0.0 && !(1e-4..1e15).contains(&a) {
        let e = format!("{v:e}");
        let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        return format!("{mant}E{sign}{digits:0>2}");
    }
    format!("{v}")
}

/// Parses a long from text: an integer, or a real truncated toward zero; otherwise `None`.
pub fn parse_long(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Ok(v) = t.parse::<i64>() {
        return Some(v);
    }
    let f = parse_real(t)?;
    if f.is_finite() && f.abs() < 9.2e18 {
        Some(f.trunc() as i64)
    } else {
        None
    }
}

/// Parses a real from text (`1.5`, `1e3`, `NaN`, `Infinity`, `-inf`).
pub fn parse_real(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    t.parse::<f64>()
        .ok()
        .or_else(|| match t.to_ascii_lowercase().as_str() {
            "infinity" | "+infinity" => Some(f64::INFINITY),
            "-infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        })
}

/// Parses a bool from text: `true`/`false` (any case) or `1`/`0`.
pub fn parse_bool(s: &str) -> Option<bool> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("true") || t == "1" {
        Some(true)
    } else if t.eq_ignore_ascii_case("false") || t == "0" {
        Some(false)
    } else {
        None
    }
}

/// The coercion of an argument that takes any scalar type.
pub(crate) fn any_scalar_type(t: &DataType) -> DataType {
    match t {
        t if t.is_integer() => DataType::Int64,
        t if t.is_floating() => DataType::Float64,
        DataType::Decimal128(..) | DataType::Decimal256(..) => DataType::Float64,
        DataType::Boolean => DataType::Boolean,
        DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => {
            DataType::Timestamp(TimeUnit::Nanosecond, None)
        }
        DataType::Duration(_) => DataType::Duration(TimeUnit::Nanosecond),
        _ => DataType::Utf8,
    }
}

/// A value of any KQL scalar type, read by row.
pub(crate) enum AnyArg {
    Str(StrArg),
    Long(I64Arg),
    Real(F64Arg),
    Bool(BoolArg),
    DateTime(NanosArg),
    TimeSpan(NanosArg),
}

impl AnyArg {
    pub fn new(a: &ColumnarValue) -> Result<AnyArg> {
        Ok(match any_scalar_type(&a.data_type()) {
            DataType::Int64 => AnyArg::Long(I64Arg::new(a)?),
            DataType::Float64 => AnyArg::Real(F64Arg::new(a)?),
            DataType::Boolean => AnyArg::Bool(BoolArg::new(a)?),
            DataType::Timestamp(..) => AnyArg::DateTime(NanosArg::timestamp(a)?),
            DataType::Duration(_) => AnyArg::TimeSpan(NanosArg::duration(a)?),
            _ => AnyArg::Str(StrArg::new(a)?),
        })
    }

    /// `tostring()` of the value; `None` for null.
    pub fn to_kql_string(&self, i: usize) -> Option<String> {
        match self {
            AnyArg::Str(a) => a.get(i).map(str::to_string),
            AnyArg::Long(a) => a.get(i).map(|v| v.to_string()),
            AnyArg::Real(a) => a.get(i).map(format_real),
            AnyArg::Bool(a) => a.get(i).map(|v| v.to_string()),
            AnyArg::DateTime(a) => a.get(i).map(format_kql_datetime),
            AnyArg::TimeSpan(a) => a.get(i).map(format_kql_timespan),
        }
    }

    /// The value as JSON text; `None` for null.
    pub fn to_json(&self, i: usize) -> Option<String> {
        match self {
            AnyArg::Str(a) => a
                .get(i)
                .map(|s| serde_json::Value::String(s.to_string()).to_string()),
            AnyArg::Long(a) => a.get(i).map(|v| v.to_string()),
            AnyArg::Real(a) => a.get(i).map(|v| {
                if v.is_finite() {
                    serde_json::Number::from_f64(v)
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| format_real(v))
                } else {
                    serde_json::Value::String(format_real(v)).to_string()
                }
            }),
            AnyArg::Bool(a) => a.get(i).map(|v| v.to_string()),
            AnyArg::DateTime(a) => a.get(i).map(|v| format!("\"{}\"", format_kql_datetime(v))),
            AnyArg::TimeSpan(a) => a.get(i).map(|v| format!("\"{}\"", format_kql_timespan(v))),
        }
    }
}

fn coerce_any(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    arity(name, t, 1, 1)?;
    Ok(t.iter().map(any_scalar_type).collect())
}

/// `tostring(x)`: null becomes the empty string
/// (<https://learn.microsoft.com/kusto/query/tostring-function>: "If value is null, the result
/// is an empty string"). For a dynamic value the planner calls `kql_dyn_to_string` instead.
fn tostring(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let a = AnyArg::new(&args.args[0])?;
    let out: StringArray = (0..rows.n)
        .map(|i| Some(a.to_kql_string(i).unwrap_or_default()))
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_tostring() -> Spec {
    Spec {
        name: "kql_tostring",
        coerce: coerce_any,
        ret: ret_utf8,
        ret_field: None,
        invoke: tostring,
    }
}

/// `kql_to_json(x)`: a non-dynamic scalar as dynamic JSON text (null stays null).
fn to_json(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let a = AnyArg::new(&args.args[0])?;
    let out: StringArray = (0..rows.n).map(|i| a.to_json(i)).collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_to_json() -> Spec {
    Spec {
        name: "kql_to_json",
        coerce: coerce_any,
        ret: ret_utf8,
        ret_field: None,
        invoke: to_json,
    }
}

fn text_to<T, A>(args: &ScalarFunctionArgs, f: impl Fn(&str) -> Option<T>) -> Result<ColumnarValue>
where
    A: FromIterator<Option<T>> + datafusion::arrow::array::Array + 'static,
{
    let rows = Rows::of(&args.args, args.number_rows);
    let a = StrArg::new(&args.args[0])?;
    let out: A = (0..rows.n).map(|i| a.get(i).and_then(&f)).collect();
    rows.finish(Arc::new(out))
}

fn one_text(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    all_text(name, t, 1, 1)
}

pub(crate) fn kql_tolong() -> Spec {
    Spec {
        name: "kql_tolong",
        coerce: one_text,
        ret: ret_i64,
        ret_field: None,
        invoke: |a| text_to::<i64, Int64Array>(a, parse_long),
    }
}

pub(crate) fn kql_toint() -> Spec {
    Spec {
        name: "kql_toint",
        coerce: one_text,
        ret: ret_i32,
        ret_field: None,
        invoke: |a| {
            text_to::<i32, Int32Array>(a, |s| parse_long(s).and_then(|v| i32::try_from(v).ok()))
        },
    }
}

pub(crate) fn kql_todouble() -> Spec {
    Spec {
        name: "kql_todouble",
        coerce: one_text,
        ret: ret_f64,
        ret_field: None,
        invoke: |a| text_to::<f64, Float64Array>(a, parse_real),
    }
}

pub(crate) fn kql_tobool() -> Spec {
    Spec {
        name: "kql_tobool",
        coerce: one_text,
        ret: ret_bool,
        ret_field: None,
        invoke: |a| text_to::<bool, BooleanArray>(a, parse_bool),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use datafusion::common::ScalarValue;

    #[test]
    fn real_printing() {
        assert_eq!(format_real(1.0), "1");
        assert_eq!(format_real(1.5), "1.5");
        assert_eq!(format_real(-0.25), "-0.25");
        assert_eq!(format_real(1e20), "1E+20");
        assert_eq!(format_real(1.5e-5), "1.5E-05");
        assert_eq!(format_real(f64::NAN), "NaN");
    }

    #[test]
    fn tostring_of_every_type() {
        assert_eq!(str1(kql_tostring(), &[int(123)]), Some("123".into()));
        assert_eq!(str1(kql_tostring(), &[null()]), Some("".into()));
        assert_eq!(
            str1(
                kql_tostring(),
                &[ColumnarValue::Scalar(ScalarValue::Boolean(Some(true)))]
            ),
            Some("true".into())
        );
        let ts = ColumnarValue::Scalar(ScalarValue::TimestampNanosecond(
            Some(1_691_539_200_000_000_000),
            None,
        ));
        assert_eq!(
            str1(kql_tostring(), std::slice::from_ref(&ts)),
            Some("2023-08-09T00:00:00Z".into())
        );
        let d = ColumnarValue::Scalar(ScalarValue::DurationNanosecond(Some(1_800_000_000_000)));
        assert_eq!(
            str1(kql_tostring(), std::slice::from_ref(&d)),
            Some("00:30:00".into())
        );
        assert_eq!(
            call_str(kql_tostring(), &[reals(&[Some(2.5), None])]),
            vec![Some("2.5".into()), Some("".into())]
        );
        assert_eq!(
            str1(kql_to_json(), &[lit("a\"b")]),
            Some(r#""a\"b""#.into())
        );
        assert_eq!(
            str1(kql_to_json(), &[ts]),
            Some(r#""2023-08-09T00:00:00Z""#.into())
        );
        assert_eq!(str1(kql_to_json(), &[d]), Some(r#""00:30:00""#.into()));
        assert_eq!(str1(kql_to_json(), &[int(5)]), Some("5".into()));
        assert_eq!(str1(kql_to_json(), &[null()]), None);
        assert_eq!(
            call_str(kql_to_json(), &[reals(&[Some(1.5), Some(f64::NAN)])]),
            vec![Some("1.5".into()), Some(r#""NaN""#.into())]
        );
    }

    #[test]
    fn from_text() {
        assert_eq!(
            call_i64(
                kql_tolong(),
                &[s(&[
                    Some("123"),
                    Some(" -4 "),
                    Some("1.9"),
                    Some("x"),
                    None
                ])]
            ),
            vec![Some(123), Some(-4), Some(1), None, None]
        );
        assert_eq!(
            call_f64(
                kql_todouble(),
                &[s(&[Some("1.5"), Some("1e3"), Some("abc")])]
            ),
            vec![Some(1.5), Some(1000.0), None]
        );
        assert_eq!(
            call_bool(
                kql_tobool(),
                &[s(&[
                    Some("TRUE"),
                    Some("false"),
                    Some("1"),
                    Some("0"),
                    Some("yes")
                ])]
            ),
            vec![Some(true), Some(false), Some(true), Some(false), None]
        );
        let a = call(kql_toint(), &[s(&[Some("12"), Some("99999999999")])]);
        let a = a.as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![Some(12), None]);
    }
}
