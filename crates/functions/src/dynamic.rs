//! KQL `dynamic` values, held as JSON text (DESIGN.md): path access, conversions out of
//! dynamic, `parse_json`, `array_length`, `pack_array`, `bag_pack`.
//!
//! A dynamic null is SQL null; a JSON `null` reached by a path is SQL null too.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, DurationNanosecondArray, Float64Array, Int32Array, Int64Array,
    StringArray, TimestampNanosecondArray,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::args::{I64Arg, Rows, StrArg, all_text, arity};
use crate::convert::{format_real, parse_bool, parse_long, parse_real};
use crate::datetime::{parse_kql_datetime, parse_kql_timespan};
use crate::udf::{
    Spec, ret_bool, ret_duration, ret_f64, ret_i32, ret_i64, ret_timestamp, ret_utf8,
};

/// `tostring()` of a dynamic value: a JSON string becomes its raw text, null becomes `""`,
/// anything else its compact JSON text. Whole reals print without a fraction (`1`, as Kusto).
pub fn json_to_kql_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Number(n) if n.is_f64() => format_real(n.as_f64().unwrap_or(f64::NAN)),
        other => other.to_string(),
    }
}

/// Parses dynamic JSON text; `None` if it is not JSON.
pub(crate) fn parse(s: &str) -> Option<Value> {
    serde_json::from_str(s).ok()
}

/// A value as dynamic text: `None` for JSON null.
fn dynamic_text(v: &Value) -> Option<String> {
    if v.is_null() {
        None
    } else {
        Some(v.to_string())
    }
}

// ---------------------------------------------------------------------------------------------
// kql_json_get(json, key_or_index, ...)
// ---------------------------------------------------------------------------------------------

enum Step {
    Key(StrArg),
    Index(I64Arg),
}

fn step<'v>(v: &'v Value, key: Option<&str>, index: Option<i64>) -> Option<&'v Value> {
    match (v, key, index) {
        (Value::Object(m), Some(k), _) => m.get(k),
        (Value::Array(a), _, Some(i)) => {
            let i = if i < 0 { a.len() as i64 + i } else { i };
            if i < 0 { None } else { a.get(i as usize) }
        }
        // `x["0"]` on an array, `x[0]` on a bag: Kusto converts the accessor.
        (Value::Array(a), Some(k), _) => k.parse::<usize>().ok().and_then(|i| a.get(i)),
        (Value::Object(m), None, Some(i)) => m.get(&i.to_string()),
        _ => None,
    }
}

/// A JSON text column's rows, parsed (`None` when null or not JSON).
type ParsedRows = Rc<Vec<Option<Value>>>;

thread_local! {
    /// The JSON column parsed last on this thread, and its rows (see [`parsed_rows`]).
    static PARSED: RefCell<Option<(ArrayRef, ParsedRows)>> = const { RefCell::new(None) };
}

/// The rows of a JSON text column, parsed. Many expressions over one batch read fields of the
/// same column (every Sigma rule over Windows EventData, a KQL query reading several
/// `EventData.X`): its rows are parsed once per batch and thread, not once per field read. The
/// cache holds the array itself, so no other array can take its address while it is cached.
fn parsed_rows(array: &ArrayRef, json: &StrArg) -> ParsedRows {
    PARSED.with(|cell| {
        if let Some((cached, rows)) = cell.borrow().as_ref()
            && Arc::ptr_eq(cached, array)
        {
            return Rc::clone(rows);
        }
        let rows: Rc<Vec<Option<Value>>> = Rc::new(
            (0..array.len())
                .map(|i| json.get(i).and_then(parse))
                .collect(),
        );
        *cell.borrow_mut() = Some((Arc::clone(array), Rc::clone(&rows)));
        rows
    })
}

/// Calls `f` with each row's parsed JSON (`None` when null or not JSON).
fn with_roots<T>(
    arg: &ColumnarValue,
    n: usize,
    mut f: impl FnMut(usize, Option<&Value>) -> Option<T>,
) -> Result<Vec<Option<T>>> {
    let json = StrArg::new(arg)?;
    Ok(match arg {
        ColumnarValue::Array(array) if array.len() == n => {
            let rows = parsed_rows(array, &json);
            (0..n).map(|i| f(i, rows[i].as_ref())).collect()
        }
        _ => {
            let root = json.get(0).and_then(parse);
            (0..n).map(|i| f(i, root.as_ref())).collect()
        }
    })
}

/// The argument types of a path function: the JSON text, then at least `min - 1` steps, each a
/// key (text) or an index (integer).
fn path_args(name: &str, t: &[DataType], min: usize) -> Result<Vec<DataType>> {
    arity(name, t, min, usize::MAX)?;
    Ok(t.iter()
        .enumerate()
        .map(|(i, t)| {
            if i > 0 && t.is_integer() {
                DataType::Int64
            } else {
                DataType::Utf8
            }
        })
        .collect())
}

fn steps_of(args: &[ColumnarValue]) -> Result<Vec<Step>> {
    args.iter()
        .map(|a| {
            Ok(if a.data_type().is_integer() {
                Step::Index(I64Arg::new(a)?)
            } else {
                Step::Key(StrArg::new(a)?)
            })
        })
        .collect()
}

fn walk<'v>(root: &'v Value, steps: &[Step], i: usize) -> Option<&'v Value> {
    let mut cur = root;
    for s in steps {
        cur = match s {
            Step::Key(k) => step(cur, Some(k.get(i)?), None)?,
            Step::Index(x) => step(cur, None, Some(x.get(i)?))?,
        };
    }
    Some(cur)
}

/// [`walk`], with keys that match no key exactly matching the first one that is equal
/// ignoring case (Athena's struct fields and JSON paths ignore case).
fn walk_ignore_case<'v>(root: &'v Value, steps: &[Step], i: usize) -> Option<&'v Value> {
    let mut cur = root;
    for s in steps {
        cur = match (s, cur) {
            (Step::Key(k), Value::Object(m)) => {
                let k = k.get(i)?;
                m.get(k).or_else(|| {
                    m.iter()
                        .find(|(name, _)| name.eq_ignore_ascii_case(k))
                        .map(|(_, v)| v)
                })?
            }
            (Step::Key(k), _) => step(cur, Some(k.get(i)?), None)?,
            (Step::Index(x), _) => step(cur, None, Some(x.get(i)?))?,
        };
    }
    Some(cur)
}

/// `kql_json_text(json, key_or_index, ...)`: the value at the path as text (a JSON string's
/// text, anything else its compact JSON), null when the path is not there or holds null. What
/// Sigma's field access into a dynamic column needs: unlike `tostring()`, absent stays null.
fn json_text(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    json_text_by(args, walk)
}

fn json_text_by(
    args: &ScalarFunctionArgs,
    walk: for<'v> fn(&'v Value, &[Step], usize) -> Option<&'v Value>,
) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let steps = steps_of(&args.args[1..])?;
    let out: StringArray = with_roots(&args.args[0], rows.n, |i, root| {
        match walk(root?, &steps, i)? {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    })?
    .into_iter()
    .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_json_text() -> Spec {
    Spec {
        name: "kql_json_text",
        coerce: |n, t| path_args(n, t, 2),
        ret: ret_utf8,
        ret_field: None,
        invoke: json_text,
    }
}

/// `kql_json_text_ignore_case(json, key_or_index, ...)`: [`kql_json_text`] with keys matched
/// ignoring case when none matches exactly (SQL's dotted paths, as Athena reads them).
pub(crate) fn kql_json_text_ignore_case() -> Spec {
    Spec {
        name: "kql_json_text_ignore_case",
        coerce: |n, t| path_args(n, t, 2),
        ret: ret_utf8,
        ret_field: None,
        invoke: |args| json_text_by(args, walk_ignore_case),
    }
}

fn json_get(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let steps = steps_of(&args.args[1..])?;
    let out: StringArray = with_roots(&args.args[0], rows.n, |i, root| {
        walk(root?, &steps, i).and_then(dynamic_text)
    })?
    .into_iter()
    .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_json_get() -> Spec {
    Spec {
        name: "kql_json_get",
        coerce: |n, t| path_args(n, t, 1),
        ret: ret_utf8,
        ret_field: None,
        invoke: json_get,
    }
}

// ---------------------------------------------------------------------------------------------
// Conversions out of dynamic
// ---------------------------------------------------------------------------------------------

fn from_dynamic<T, A>(
    args: &ScalarFunctionArgs,
    f: impl Fn(&Value) -> Option<T>,
) -> Result<ColumnarValue>
where
    A: FromIterator<Option<T>> + datafusion::arrow::array::Array + 'static,
{
    let rows = Rows::of(&args.args, args.number_rows);
    let a = StrArg::new(&args.args[0])?;
    let out: A = (0..rows.n)
        .map(|i| parse(a.get(i)?).as_ref().and_then(&f))
        .collect();
    rows.finish(Arc::new(out))
}

fn dyn_long(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            let f = n.as_f64()?;
            (f.is_finite() && f.abs() < 9.2e18).then(|| f.trunc() as i64)
        }),
        Value::String(s) => parse_long(s),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

fn dyn_double(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => parse_real(s),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

fn dyn_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        Value::String(s) => parse_bool(s),
        _ => None,
    }
}

fn dyn_datetime(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => parse_kql_datetime(s),
        _ => None,
    }
}

fn dyn_timespan(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => parse_kql_timespan(s),
        // A number is a count of 100 ns ticks, as .NET TimeSpan holds it.
        Value::Number(n) => n.as_i64().and_then(|t| t.checked_mul(100)),
        _ => None,
    }
}

fn one_text(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    all_text(name, t, 1, 1)
}

/// `tostring()` of a dynamic value. Text that is not JSON is returned as is; null gives `""`.
fn dyn_to_string(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let a = StrArg::new(&args.args[0])?;
    let out: StringArray = (0..rows.n)
        .map(|i| {
            let Some(s) = a.get(i) else {
                return Some(String::new());
            };
            Some(match parse(s) {
                Some(v) => json_to_kql_string(&v),
                None => s.to_string(),
            })
        })
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_dyn_to_string() -> Spec {
    Spec {
        name: "kql_dyn_to_string",
        coerce: one_text,
        ret: ret_utf8,
        ret_field: None,
        invoke: dyn_to_string,
    }
}

pub(crate) fn kql_dyn_to_long() -> Spec {
    Spec {
        name: "kql_dyn_to_long",
        coerce: one_text,
        ret: ret_i64,
        ret_field: None,
        invoke: |a| from_dynamic::<i64, Int64Array>(a, dyn_long),
    }
}

pub(crate) fn kql_dyn_to_int() -> Spec {
    Spec {
        name: "kql_dyn_to_int",
        coerce: one_text,
        ret: ret_i32,
        ret_field: None,
        invoke: |a| {
            from_dynamic::<i32, Int32Array>(a, |v| dyn_long(v).and_then(|x| i32::try_from(x).ok()))
        },
    }
}

pub(crate) fn kql_dyn_to_double() -> Spec {
    Spec {
        name: "kql_dyn_to_double",
        coerce: one_text,
        ret: ret_f64,
        ret_field: None,
        invoke: |a| from_dynamic::<f64, Float64Array>(a, dyn_double),
    }
}

pub(crate) fn kql_dyn_to_bool() -> Spec {
    Spec {
        name: "kql_dyn_to_bool",
        coerce: one_text,
        ret: ret_bool,
        ret_field: None,
        invoke: |a| from_dynamic::<bool, BooleanArray>(a, dyn_bool),
    }
}

pub(crate) fn kql_dyn_to_datetime() -> Spec {
    Spec {
        name: "kql_dyn_to_datetime",
        coerce: one_text,
        ret: ret_timestamp,
        ret_field: None,
        invoke: |a| from_dynamic::<i64, TimestampNanosecondArray>(a, dyn_datetime),
    }
}

pub(crate) fn kql_dyn_to_timespan() -> Spec {
    Spec {
        name: "kql_dyn_to_timespan",
        coerce: one_text,
        ret: ret_duration,
        ret_field: None,
        invoke: |a| from_dynamic::<i64, DurationNanosecondArray>(a, dyn_timespan),
    }
}

// ---------------------------------------------------------------------------------------------
// parse_json, array_length, pack_array, bag_pack
// ---------------------------------------------------------------------------------------------

/// `parse_json(text)` / `todynamic`: valid JSON gives its compact text; text that is not JSON
/// gives a dynamic string holding it (<https://learn.microsoft.com/kusto/query/parse-json-function>).
/// Empty text gives null.
fn parse_json(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let a = StrArg::new(&args.args[0])?;
    let out: StringArray = (0..rows.n)
        .map(|i| {
            let s = a.get(i)?;
            if s.trim().is_empty() {
                return None;
            }
            match parse(s) {
                Some(v) => dynamic_text(&v),
                None => Some(Value::String(s.to_string()).to_string()),
            }
        })
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_parse_json() -> Spec {
    Spec {
        name: "kql_parse_json",
        coerce: one_text,
        ret: ret_utf8,
        ret_field: None,
        invoke: parse_json,
    }
}

fn array_length(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let a = StrArg::new(&args.args[0])?;
    let out: Int64Array = (0..rows.n)
        .map(|i| {
            let s = a.get(i)?;
            if !s.trim_start().starts_with('[') {
                return None;
            }
            match serde_json::from_str::<Vec<&RawValue>>(s) {
                Ok(v) => Some(v.len() as i64),
                Err(_) => None,
            }
        })
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_array_length() -> Spec {
    Spec {
        name: "kql_array_length",
        coerce: one_text,
        ret: ret_i64,
        ret_field: None,
        invoke: array_length,
    }
}

/// Appends a dynamic argument (JSON text) to `out`: valid JSON as is (trimmed), other text as a
/// JSON string, null as `null`.
fn push_dynamic(out: &mut String, v: Option<&str>) {
    match v {
        None => out.push_str("null"),
        Some(s) => match serde_json::from_str::<&RawValue>(s) {
            Ok(raw) => out.push_str(raw.get().trim()),
            Err(_) => out.push_str(&Value::String(s.to_string()).to_string()),
        },
    }
}

fn pack_array(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let items: Vec<StrArg> = args.args.iter().map(StrArg::new).collect::<Result<_>>()?;
    let out: StringArray = (0..rows.n)
        .map(|i| {
            let mut s = String::from("[");
            for (k, a) in items.iter().enumerate() {
                if k > 0 {
                    s.push(',');
                }
                push_dynamic(&mut s, a.get(i));
            }
            s.push(']');
            Some(s)
        })
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_pack_array() -> Spec {
    Spec {
        name: "kql_pack_array",
        coerce: |n, t| all_text(n, t, 0, usize::MAX),
        ret: ret_utf8,
        ret_field: None,
        invoke: pack_array,
    }
}

/// `bag_pack(key1, value1, key2, value2, ...)`: a property bag; a later key replaces an earlier
/// one. Values are dynamic JSON text (the planner wraps scalars with `kql_to_json`).
fn bag_pack(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    if !args.args.len().is_multiple_of(2) {
        return exec_err!("bag_pack takes pairs of key and value");
    }
    let rows = Rows::of(&args.args, args.number_rows);
    let items: Vec<StrArg> = args.args.iter().map(StrArg::new).collect::<Result<_>>()?;
    let out: StringArray = (0..rows.n)
        .map(|i| {
            let mut bag = serde_json::Map::new();
            for pair in items.chunks(2) {
                let key = pair[0].get(i).unwrap_or("").to_string();
                let value = match pair[1].get(i) {
                    None => Value::Null,
                    Some(s) => parse(s).unwrap_or_else(|| Value::String(s.to_string())),
                };
                bag.insert(key, value);
            }
            Some(Value::Object(bag).to_string())
        })
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_bag_pack() -> Spec {
    Spec {
        name: "kql_bag_pack",
        coerce: |n, t| all_text(n, t, 0, usize::MAX),
        ret: ret_utf8,
        ret_field: None,
        invoke: bag_pack,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    const DOC: &str =
        r#"{"a":{"b":[10,{"c":"x"},null]},"File Path":"C:\\x","n":1.5,"s":"42","t":true}"#;

    #[test]
    fn json_text_keeps_absent_null_and_reuses_the_parsed_rows() {
        let col = s(&[
            Some(DOC),
            None,
            Some("not json"),
            Some(r#"{"File Path":null}"#),
        ]);
        let text = |key: &str| call_str(kql_json_text(), &[col.clone(), lit(key)]);
        assert_eq!(
            text("File Path"),
            vec![Some("C:\\x".to_string()), None, None, None]
        );
        assert_eq!(text("n"), vec![Some("1.5".to_string()), None, None, None]);
        assert_eq!(text("t"), vec![Some("true".to_string()), None, None, None]);
        assert_eq!(text("missing"), vec![None, None, None, None]);
        assert_eq!(
            call_str(
                kql_json_text(),
                &[col.clone(), lit("a"), lit("b"), int(1), lit("c")]
            ),
            vec![Some("x".to_string()), None, None, None]
        );
        // The same array again, after another one: the cache follows the array, not the call.
        let other = s(&[Some(r#"{"File Path":"D:\\y"}"#)]);
        assert_eq!(
            call_str(kql_json_text(), &[other, lit("File Path")]),
            vec![Some("D:\\y".to_string())]
        );
        assert_eq!(text("File Path")[0], Some("C:\\x".to_string()));
        assert_eq!(
            call_str(kql_json_get(), &[col.clone(), lit("s")]),
            vec![Some("\"42\"".to_string()), None, None, None]
        );
    }

    #[test]
    fn path_access() {
        let get = |path: &[ColumnarValue]| {
            let mut args = vec![lit(DOC)];
            args.extend_from_slice(path);
            str1(kql_json_get(), &args)
        };
        assert_eq!(get(&[lit("a"), lit("b"), int(0)]), Some("10".into()));
        assert_eq!(
            get(&[lit("a"), lit("b"), int(-2)]),
            Some(r#"{"c":"x"}"#.into())
        );
        assert_eq!(
            get(&[lit("a"), lit("b"), int(1), lit("c")]),
            Some(r#""x""#.into())
        );
        assert_eq!(get(&[lit("a"), lit("b"), int(2)]), None);
        assert_eq!(get(&[lit("a"), lit("b"), int(3)]), None);
        assert_eq!(get(&[lit("zz")]), None);
        assert_eq!(get(&[lit("File Path")]), Some(r#""C:\\x""#.into()));
        assert_eq!(get(&[]), Some(DOC.to_string()));
        assert_eq!(str1(kql_json_get(), &[lit("not json"), lit("a")]), None);
        let doc = lit(r#"{"userName": "alice", "username": "bob", "Type": {"A": 1}}"#);
        assert_eq!(
            str1(kql_json_text_ignore_case(), &[doc.clone(), lit("username")]),
            Some("bob".to_string())
        );
        assert_eq!(
            str1(
                kql_json_text_ignore_case(),
                &[doc.clone(), lit("type"), lit("a")]
            ),
            Some("1".to_string())
        );
        assert_eq!(str1(kql_json_text(), &[doc, lit("type")]), None);
        assert_eq!(str1(kql_json_get(), &[null(), lit("a")]), None);
        let col = s(&[Some(r#"{"a":1}"#), Some(r#"{"a":[1]}"#), None]);
        assert_eq!(
            call_str(kql_json_get(), &[col, lit("a")]),
            vec![Some("1".into()), Some("[1]".into()), None]
        );
    }

    #[test]
    fn conversions() {
        let col = s(&[
            Some("1"),
            Some("1.9"),
            Some(r#""42""#),
            Some("true"),
            Some(r#""x""#),
            Some("null"),
            None,
            Some("{}"),
        ]);
        assert_eq!(
            call_i64(kql_dyn_to_long(), std::slice::from_ref(&col)),
            vec![Some(1), Some(1), Some(42), Some(1), None, None, None, None]
        );
        assert_eq!(
            call_f64(kql_dyn_to_double(), std::slice::from_ref(&col)),
            vec![
                Some(1.0),
                Some(1.9),
                Some(42.0),
                Some(1.0),
                None,
                None,
                None,
                None
            ]
        );
        assert_eq!(
            call_bool(
                kql_dyn_to_bool(),
                &[s(&[
                    Some("true"),
                    Some("0"),
                    Some(r#""False""#),
                    Some("[]")
                ])]
            ),
            vec![Some(true), Some(false), Some(false), None]
        );
        assert_eq!(
            call_str(kql_dyn_to_string(), &[col]),
            vec![
                Some("1".into()),
                Some("1.9".into()),
                Some("42".into()),
                Some("true".into()),
                Some("x".into()),
                Some("".into()),
                Some("".into()),
                Some("{}".into())
            ]
        );
        assert_eq!(
            str1(kql_dyn_to_string(), &[lit(r#"{"a": [1, 2.0]}"#)]),
            Some(r#"{"a":[1,2.0]}"#.into())
        );
        let ts = call(kql_dyn_to_datetime(), &[lit(r#""2023-08-09T00:00:00Z""#)]);
        let ts = ts
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .unwrap();
        assert_eq!(ts.value(0), 1_691_539_200_000_000_000);
        let d = call(kql_dyn_to_timespan(), &[lit(r#""00:30:00""#)]);
        let d = d
            .as_any()
            .downcast_ref::<DurationNanosecondArray>()
            .unwrap();
        assert_eq!(d.value(0), 1_800_000_000_000);
    }

    #[test]
    fn parse_json_and_packing() {
        assert_eq!(
            str1(kql_parse_json(), &[lit(r#"{ "a" : 1 }"#)]),
            Some(r#"{"a":1}"#.into())
        );
        assert_eq!(
            str1(kql_parse_json(), &[lit("hello")]),
            Some(r#""hello""#.into())
        );
        assert_eq!(str1(kql_parse_json(), &[lit("")]), None);
        assert_eq!(str1(kql_parse_json(), &[lit("null")]), None);
        assert_eq!(
            call_i64(
                kql_array_length(),
                &[s(&[Some("[1,[2,3],{}]"), Some("{}"), Some("[]"), None])]
            ),
            vec![Some(3), None, Some(0), None]
        );
        assert_eq!(
            str1(
                kql_pack_array(),
                &[lit("1"), lit(r#""a""#), null(), lit("[2]")]
            ),
            Some(r#"[1,"a",null,[2]]"#.into())
        );
        assert_eq!(
            str1(
                kql_bag_pack(),
                &[
                    lit("k"),
                    lit(r#""v""#),
                    lit("n"),
                    lit("2"),
                    lit("z"),
                    null()
                ]
            ),
            Some(r#"{"k":"v","n":2,"z":null}"#.into())
        );
    }
}
