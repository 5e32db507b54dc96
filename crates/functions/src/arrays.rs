//! Dynamic arrays and property bags: `array_concat`, `array_slice`, `array_index_of`,
//! `array_sort_asc`, `array_sort_desc`, `set_difference`, `set_union`, `set_intersect`,
//! `set_has_element`, `bag_keys`, `bag_merge`, `zip`, `dynamic_to_json`, `repeat`,
//! `strcat_array`.
//!
//! Arrays and bags arrive as dynamic JSON text. A *value* argument (`array_index_of(arr,
//! value)`, `set_has_element`, `repeat`) is dynamic JSON text too when it is text (the planner
//! wraps string scalars with `kql_to_json`; text that is not JSON counts as a string, as in
//! `make_set`); a typed argument (long, real, bool, datetime, timespan) is converted as
//! `kql_to_json` would. Elements are equal when their compact JSON text is equal, so `1` and
//! `1.0` differ, as `long` and `real` differ in Kusto.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::sync::Arc;

use datafusion::arrow::array::{BooleanArray, Int64Array, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};
use serde_json::{Map, Value};

use crate::args::{BoolArg, I64Arg, Rows, StrArg, all_text, arity};
use crate::convert::{AnyArg, any_scalar_type};
use crate::dynamic::{json_to_kql_string, parse};
use crate::udf::{Spec, ret_bool, ret_i64, ret_utf8};

/// The largest array `repeat` builds (Kusto's dynamic size cap for `make_list` and friends).
const MAX_REPEAT: i64 = 1_048_576;

/// A value argument: dynamic JSON text, or a typed scalar.
enum ValArg {
    Dyn(StrArg),
    Typed(AnyArg),
}

impl ValArg {
    fn new(a: &ColumnarValue) -> Result<ValArg> {
        Ok(match any_scalar_type(&a.data_type()) {
            DataType::Utf8 => ValArg::Dyn(StrArg::new(a)?),
            _ => ValArg::Typed(AnyArg::new(a)?),
        })
    }

    /// The value; `None` for null.
    fn get(&self, i: usize) -> Option<Value> {
        match self {
            ValArg::Dyn(s) => {
                let t = s.get(i)?;
                Some(parse(t).unwrap_or_else(|| Value::String(t.to_string())))
            }
            ValArg::Typed(a) => parse(&a.to_json(i)?),
        }
    }
}

fn array_of(s: Option<&str>) -> Option<Vec<Value>> {
    match parse(s?)? {
        Value::Array(a) => Some(a),
        _ => None,
    }
}

fn bag_of(s: Option<&str>) -> Option<Map<String, Value>> {
    match parse(s?)? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

fn key(v: &Value) -> String {
    v.to_string()
}

/// Arrays (dynamic text) in, dynamic text out, one row at a time.
fn arrays_fn(
    args: &ScalarFunctionArgs,
    f: impl Fn(Vec<Option<&str>>) -> Option<Value>,
) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let items: Vec<StrArg> = args.args.iter().map(StrArg::new).collect::<Result<_>>()?;
    let out: StringArray = (0..rows.n)
        .map(|i| f(items.iter().map(|a| a.get(i)).collect()).map(|v| v.to_string()))
        .collect();
    rows.finish(Arc::new(out))
}

/// A function of dynamic arguments returning dynamic text; by default any number of arguments.
fn dyn_spec(
    name: &'static str,
    invoke: crate::udf::InvokeFn,
    coerce: Option<crate::udf::CoerceFn>,
) -> Spec {
    Spec {
        name,
        coerce: coerce.unwrap_or(|n, t| all_text(n, t, 1, usize::MAX)),
        ret: ret_utf8,
        ret_field: None,
        invoke,
    }
}

// ---------------------------------------------------------------------------------------------
// array_concat, array_slice, zip
// ---------------------------------------------------------------------------------------------

/// `array_concat(arr1, ...)`: one array; null when an argument is not an array.
fn array_concat(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    arrays_fn(args, |items| {
        let mut out = Vec::new();
        for s in items {
            out.extend(array_of(s)?);
        }
        Some(Value::Array(out))
    })
}

pub(crate) fn kql_array_concat() -> Spec {
    dyn_spec("kql_array_concat", array_concat, None)
}

/// `array_slice(arr, start, end)` (<https://learn.microsoft.com/kusto/query/array-slice-function>):
/// both ends inclusive; a negative index counts from the end; out-of-range indexes are clamped.
pub fn array_slice(a: &[Value], start: i64, end: i64) -> Vec<Value> {
    let n = a.len() as i64;
    let s = if start < 0 { n + start } else { start }.max(0);
    let e = if end < 0 { n + end } else { end }.min(n - 1);
    if s > e {
        return Vec::new();
    }
    a[s as usize..=e as usize].to_vec()
}

fn array_slice_fn(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let arr = StrArg::new(&args.args[0])?;
    let start = I64Arg::new(&args.args[1])?;
    let end = I64Arg::new(&args.args[2])?;
    let out: StringArray = (0..rows.n)
        .map(|i| {
            let a = array_of(arr.get(i))?;
            Some(Value::Array(array_slice(&a, start.get(i)?, end.get(i)?)).to_string())
        })
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_array_slice() -> Spec {
    Spec {
        name: "kql_array_slice",
        coerce: |n, t| {
            arity(n, t, 3, 3)?;
            Ok(vec![DataType::Utf8, DataType::Int64, DataType::Int64])
        },
        ret: ret_utf8,
        ret_field: None,
        invoke: array_slice_fn,
    }
}

/// `zip(arr1, arr2, ...)` (<https://learn.microsoft.com/kusto/query/zip-function>): an array of
/// arrays, the i-th holding the i-th element of each input; shorter inputs are padded with
/// null. Null when an argument is not an array.
fn zip(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    arrays_fn(args, |items| {
        let arrays: Vec<Vec<Value>> = items.into_iter().map(array_of).collect::<Option<_>>()?;
        let n = arrays.iter().map(Vec::len).max().unwrap_or(0);
        Some(Value::Array(
            (0..n)
                .map(|k| {
                    Value::Array(
                        arrays
                            .iter()
                            .map(|a| a.get(k).cloned().unwrap_or(Value::Null))
                            .collect(),
                    )
                })
                .collect(),
        ))
    })
}

pub(crate) fn kql_zip() -> Spec {
    dyn_spec("kql_zip", zip, None)
}

// ---------------------------------------------------------------------------------------------
// array_index_of, set_has_element
// ---------------------------------------------------------------------------------------------

fn coerce_array_and_value(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    arity(name, t, 2, 2)?;
    Ok(vec![DataType::Utf8, any_scalar_type(&t[1])])
}

/// `array_index_of(arr, value)`: the index of the first element equal to `value`, -1 when there
/// is none; null when `arr` is not an array or `value` is null.
fn array_index_of(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let arr = StrArg::new(&args.args[0])?;
    let value = ValArg::new(&args.args[1])?;
    let out: Int64Array = (0..rows.n)
        .map(|i| {
            let a = array_of(arr.get(i))?;
            let k = key(&value.get(i)?);
            Some(a.iter().position(|e| key(e) == k).map_or(-1, |p| p as i64))
        })
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_array_index_of() -> Spec {
    Spec {
        name: "kql_array_index_of",
        coerce: coerce_array_and_value,
        ret: ret_i64,
        ret_field: None,
        invoke: array_index_of,
    }
}

/// `set_has_element(arr, value)`: whether `arr` holds `value`.
fn set_has_element(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let arr = StrArg::new(&args.args[0])?;
    let value = ValArg::new(&args.args[1])?;
    let out: BooleanArray = (0..rows.n)
        .map(|i| {
            let a = array_of(arr.get(i))?;
            let k = key(&value.get(i)?);
            Some(a.iter().any(|e| key(e) == k))
        })
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_set_has_element() -> Spec {
    Spec {
        name: "kql_set_has_element",
        coerce: coerce_array_and_value,
        ret: ret_bool,
        ret_field: None,
        invoke: set_has_element,
    }
}

// ---------------------------------------------------------------------------------------------
// array_sort_asc, array_sort_desc
// ---------------------------------------------------------------------------------------------

/// Kusto's order of element kinds (<https://learn.microsoft.com/kusto/query/array-sort-asc-function>):
/// numbers, then strings, then everything else.
fn kind_rank(v: &Value) -> u8 {
    match v {
        Value::Number(_) => 0,
        Value::String(_) => 1,
        _ => 2,
    }
}

fn compare(a: &Value, b: &Value) -> Ordering {
    kind_rank(a).cmp(&kind_rank(b)).then_with(|| match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => a.to_string().cmp(&b.to_string()),
    })
}

/// Sorts an array (stable); nulls go last unless `nulls_last` is false.
pub fn sort_array(a: Vec<Value>, descending: bool, nulls_last: bool) -> Vec<Value> {
    let (nulls, mut rest): (Vec<Value>, Vec<Value>) = a.into_iter().partition(Value::is_null);
    rest.sort_by(|x, y| {
        let o = compare(x, y);
        if descending { o.reverse() } else { o }
    });
    if nulls_last {
        rest.extend(nulls);
        rest
    } else {
        let mut out = nulls;
        out.extend(rest);
        out
    }
}

fn array_sort(args: &ScalarFunctionArgs, descending: bool) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let arr = StrArg::new(&args.args[0])?;
    let nulls_last = args.args.get(1).map(BoolArg::new).transpose()?;
    let out: StringArray = (0..rows.n)
        .map(|i| {
            let a = array_of(arr.get(i))?;
            let nl = nulls_last.as_ref().and_then(|b| b.get(i)).unwrap_or(true);
            Some(Value::Array(sort_array(a, descending, nl)).to_string())
        })
        .collect();
    rows.finish(Arc::new(out))
}

fn coerce_sort(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    arity(name, t, 1, 2)?;
    let mut v = vec![DataType::Utf8];
    if t.len() == 2 {
        v.push(DataType::Boolean);
    }
    Ok(v)
}

/// `array_sort_asc(arr[, nulls_last])`: the single-array form.
pub(crate) fn kql_array_sort_asc() -> Spec {
    Spec {
        name: "kql_array_sort_asc",
        coerce: coerce_sort,
        ret: ret_utf8,
        ret_field: None,
        invoke: |a| array_sort(a, false),
    }
}

/// `array_sort_desc(arr[, nulls_last])`: the single-array form; nulls last by default too.
pub(crate) fn kql_array_sort_desc() -> Spec {
    Spec {
        name: "kql_array_sort_desc",
        coerce: coerce_sort,
        ret: ret_utf8,
        ret_field: None,
        invoke: |a| array_sort(a, true),
    }
}

// ---------------------------------------------------------------------------------------------
// set_difference, set_union, set_intersect
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum SetOp {
    Difference,
    Union,
    Intersect,
}

/// The distinct values of `arrays[0]` not in any other (difference), in any array (union), or
/// in every array (intersect), in order of first appearance. Null when an argument is not an
/// array (<https://learn.microsoft.com/kusto/query/set-difference-function> and siblings).
fn set_op(arrays: Vec<Vec<Value>>, op: SetOp) -> Vec<Value> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let sets: Vec<HashSet<String>> = arrays.iter().map(|a| a.iter().map(key).collect()).collect();
    let candidates: Box<dyn Iterator<Item = &Value>> = match op {
        SetOp::Union => Box::new(arrays.iter().flatten()),
        SetOp::Difference | SetOp::Intersect => Box::new(arrays[0].iter()),
    };
    for v in candidates {
        let k = key(v);
        let keep = match op {
            SetOp::Union => true,
            SetOp::Difference => !sets[1..].iter().any(|s| s.contains(&k)),
            SetOp::Intersect => sets[1..].iter().all(|s| s.contains(&k)),
        };
        if keep && seen.insert(k) {
            out.push(v.clone());
        }
    }
    out
}

fn set_fn(args: &ScalarFunctionArgs, op: SetOp) -> Result<ColumnarValue> {
    arrays_fn(args, |items| {
        let arrays: Vec<Vec<Value>> = items.into_iter().map(array_of).collect::<Option<_>>()?;
        Some(Value::Array(set_op(arrays, op)))
    })
}

fn two_or_more_arrays(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    all_text(name, t, 2, usize::MAX)
}

pub(crate) fn kql_set_difference() -> Spec {
    dyn_spec(
        "kql_set_difference",
        |a| set_fn(a, SetOp::Difference),
        Some(two_or_more_arrays),
    )
}

pub(crate) fn kql_set_union() -> Spec {
    dyn_spec(
        "kql_set_union",
        |a| set_fn(a, SetOp::Union),
        Some(two_or_more_arrays),
    )
}

pub(crate) fn kql_set_intersect() -> Spec {
    dyn_spec(
        "kql_set_intersect",
        |a| set_fn(a, SetOp::Intersect),
        Some(two_or_more_arrays),
    )
}

// ---------------------------------------------------------------------------------------------
// bag_keys, bag_merge, dynamic_to_json
// ---------------------------------------------------------------------------------------------

/// `bag_keys(bag)`: the keys of a property bag, in order; null when it is not a bag.
fn bag_keys(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    arrays_fn(args, |items| {
        let bag = bag_of(items[0])?;
        Some(Value::Array(
            bag.keys().cloned().map(Value::String).collect(),
        ))
    })
}

pub(crate) fn kql_bag_keys() -> Spec {
    dyn_spec("kql_bag_keys", bag_keys, Some(|n, t| all_text(n, t, 1, 1)))
}

/// `bag_merge(bag1, bag2, ...)` (<https://learn.microsoft.com/kusto/query/bag-merge-function>):
/// one bag with every key; when a key repeats, the first bag's value wins. Arguments that are
/// not bags are skipped.
fn bag_merge(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    arrays_fn(args, |items| {
        let mut out = Map::new();
        for s in items {
            if let Some(bag) = bag_of(s) {
                for (k, v) in bag {
                    out.entry(k).or_insert(v);
                }
            }
        }
        Some(Value::Object(out))
    })
}

pub(crate) fn kql_bag_merge() -> Spec {
    dyn_spec("kql_bag_merge", bag_merge, None)
}

/// The canonical text of `dynamic_to_json`: bags with keys sorted, at every depth.
fn canonical(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, canonical(v)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.into_iter().map(canonical).collect()),
        other => other,
    }
}

/// `dynamic_to_json(x)` (<https://learn.microsoft.com/kusto/query/dynamic-to-json-function>):
/// arrays and bags as JSON with bag keys sorted by name, recursively; a scalar as `tostring`
/// gives it (a string without quotes); null gives `""`.
fn dynamic_to_json(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let a = StrArg::new(&args.args[0])?;
    let out: StringArray = (0..rows.n)
        .map(|i| {
            let Some(s) = a.get(i) else {
                return Some(String::new());
            };
            Some(match parse(s) {
                Some(v @ (Value::Object(_) | Value::Array(_))) => canonical(v).to_string(),
                Some(v) => json_to_kql_string(&v),
                None => s.to_string(),
            })
        })
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_dynamic_to_json() -> Spec {
    dyn_spec(
        "kql_dynamic_to_json",
        dynamic_to_json,
        Some(|n, t| all_text(n, t, 1, 1)),
    )
}

// ---------------------------------------------------------------------------------------------
// repeat, strcat_array
// ---------------------------------------------------------------------------------------------

/// `repeat(value, count)` (<https://learn.microsoft.com/kusto/query/repeat-function>): an array
/// of `count` copies; a count of zero or less gives `[]`. Counts are capped at 1,048,576.
fn repeat(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let value = ValArg::new(&args.args[0])?;
    let count = I64Arg::new(&args.args[1])?;
    let out: StringArray = (0..rows.n)
        .map(|i| {
            let n = count.get(i)?.clamp(0, MAX_REPEAT) as usize;
            let v = value.get(i).unwrap_or(Value::Null).to_string();
            let mut s = String::with_capacity(2 + n * (v.len() + 1));
            s.push('[');
            for k in 0..n {
                if k > 0 {
                    s.push(',');
                }
                s.push_str(&v);
            }
            s.push(']');
            Some(s)
        })
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_repeat() -> Spec {
    Spec {
        name: "kql_repeat",
        coerce: |n, t| {
            arity(n, t, 2, 2)?;
            Ok(vec![any_scalar_type(&t[0]), DataType::Int64])
        },
        ret: ret_utf8,
        ret_field: None,
        invoke: repeat,
    }
}

/// `strcat_array(arr, delimiter)` (<https://learn.microsoft.com/kusto/query/strcat-array-function>):
/// the elements as `tostring` gives them (null is `""`), joined. Null when `arr` is not an array.
fn strcat_array(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let arr = StrArg::new(&args.args[0])?;
    let delim = StrArg::new(&args.args[1])?;
    let out: StringArray = (0..rows.n)
        .map(|i| {
            let a = array_of(arr.get(i))?;
            let d = delim.get(i).unwrap_or("");
            Some(a.iter().map(json_to_kql_string).collect::<Vec<_>>().join(d))
        })
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_strcat_array() -> Spec {
    Spec {
        name: "kql_strcat_array",
        coerce: |n, t| all_text(n, t, 2, 2),
        ret: ret_utf8,
        ret_field: None,
        invoke: strcat_array,
    }
}

#[cfg(test)]
mod tests {
    use datafusion::common::ScalarValue;

    use super::*;
    use crate::testing::*;

    fn d(spec: Spec, args: &[ColumnarValue]) -> Option<String> {
        str1(spec, args)
    }

    #[test]
    fn slice_doc_examples() {
        let sl = |a: &str, s: i64, e: i64| d(kql_array_slice(), &[lit(a), int(s), int(e)]);
        assert_eq!(sl("[1,2,3]", 1, 2).as_deref(), Some("[2,3]"));
        assert_eq!(sl("[1,2,3,4,5]", 2, -1).as_deref(), Some("[3,4,5]"));
        assert_eq!(sl("[1,2,3,4,5]", -3, -2).as_deref(), Some("[3,4]"));
        assert_eq!(sl("[1,2,3]", 5, 9).as_deref(), Some("[]"));
        assert_eq!(sl("[1,2,3]", -9, 0).as_deref(), Some("[1]"));
        assert_eq!(sl("{}", 0, 1), None);
    }

    #[test]
    fn concat_and_zip() {
        assert_eq!(
            d(kql_array_concat(), &[lit("[1,2]"), lit(r#"["a"]"#)]).as_deref(),
            Some(r#"[1,2,"a"]"#)
        );
        assert_eq!(d(kql_array_concat(), &[lit("[1]"), lit("3")]), None);
        // https://learn.microsoft.com/kusto/query/zip-function
        assert_eq!(
            d(kql_zip(), &[lit("[1,3,5]"), lit("[2,4,6]")]).as_deref(),
            Some("[[1,2],[3,4],[5,6]]")
        );
        assert_eq!(
            d(kql_zip(), &[lit("[1,3,5]"), lit("[2,4]")]).as_deref(),
            Some("[[1,2],[3,4],[5,null]]")
        );
    }

    #[test]
    fn index_of_and_has_element() {
        let arr = lit(r#"[1,2,3,"a",null]"#);
        assert_eq!(
            call_i64(kql_array_index_of(), &[arr.clone(), int(2)]),
            vec![Some(1)]
        );
        assert_eq!(
            call_i64(kql_array_index_of(), &[arr.clone(), lit(r#""a""#)]),
            vec![Some(3)]
        );
        assert_eq!(
            call_i64(kql_array_index_of(), &[arr.clone(), lit("a")]),
            vec![Some(3)]
        );
        assert_eq!(
            call_i64(kql_array_index_of(), &[arr.clone(), int(9)]),
            vec![Some(-1)]
        );
        assert_eq!(
            call_i64(kql_array_index_of(), &[lit("x"), int(9)]),
            vec![None]
        );
        // https://learn.microsoft.com/kusto/query/set-has-element-function
        assert_eq!(
            call_bool(kql_set_has_element(), &[arr.clone(), int(3)]),
            vec![Some(true)]
        );
        assert_eq!(
            call_bool(kql_set_has_element(), &[arr, int(4)]),
            vec![Some(false)]
        );
        let real = ColumnarValue::Scalar(ScalarValue::Float64(Some(1.5)));
        assert_eq!(
            call_bool(kql_set_has_element(), &[lit("[1.5]"), real]),
            vec![Some(true)]
        );
    }

    #[test]
    fn sorting() {
        assert_eq!(
            d(kql_array_sort_asc(), &[lit("[1,3,4,5,2]")]).as_deref(),
            Some("[1,2,3,4,5]")
        );
        assert_eq!(
            d(kql_array_sort_desc(), &[lit("[1,3,4,5,2]")]).as_deref(),
            Some("[5,4,3,2,1]")
        );
        assert_eq!(
            d(
                kql_array_sort_asc(),
                &[lit(r#"["John","Paul","George","Ringo"]"#)]
            )
            .as_deref(),
            Some(r#"["George","John","Paul","Ringo"]"#)
        );
        assert_eq!(
            d(kql_array_sort_asc(), &[lit(r#"[null,"b",2,true,1.5,"a"]"#)]).as_deref(),
            Some(r#"[1.5,2,"a","b",true,null]"#)
        );
        let f = ColumnarValue::Scalar(ScalarValue::Boolean(Some(false)));
        assert_eq!(
            d(kql_array_sort_desc(), &[lit("[null,1,2]"), f]).as_deref(),
            Some("[null,2,1]")
        );
    }

    #[test]
    fn sets_doc_examples() {
        // x = 1: a1 = [1,2,1,4], a2 = [1,2], a3 = [1,2,8].
        assert_eq!(
            d(
                kql_set_difference(),
                &[lit("[1,2,1,4]"), lit("[1,2]"), lit("[1,2,8]")]
            )
            .as_deref(),
            Some("[4]")
        );
        assert_eq!(
            d(kql_set_difference(), &[lit("[1,2,3]"), lit("[1,2,3]")]).as_deref(),
            Some("[]")
        );
        assert_eq!(
            d(
                kql_set_union(),
                &[lit("[1,2,1,4]"), lit("[1,2]"), lit("[1,2,8]")]
            )
            .as_deref(),
            Some("[1,2,4,8]")
        );
        assert_eq!(
            d(
                kql_set_intersect(),
                &[lit("[1,2,1,4]"), lit("[1,2]"), lit("[1,2,8]")]
            )
            .as_deref(),
            Some("[1,2]")
        );
        assert_eq!(d(kql_set_union(), &[lit("[1]"), lit("{}")]), None);
    }

    #[test]
    fn bags() {
        assert_eq!(
            d(kql_bag_keys(), &[lit(r#"{"a":1,"b":{"c":2}}"#)]).as_deref(),
            Some(r#"["a","b"]"#)
        );
        assert_eq!(d(kql_bag_keys(), &[lit("[1]")]), None);
        // https://learn.microsoft.com/kusto/query/bag-merge-function
        assert_eq!(
            d(
                kql_bag_merge(),
                &[
                    lit(r#"{"A1":12,"B1":2,"C1":3}"#),
                    lit(r#"{"A2":81,"B2":82,"A1":1}"#)
                ]
            )
            .as_deref(),
            Some(r#"{"A1":12,"B1":2,"C1":3,"A2":81,"B2":82}"#)
        );
        // https://learn.microsoft.com/kusto/query/dynamic-to-json-function
        let bag = r#"{"Y10":{},"X8":{"c3":1,"d8":5,"a4":6},"D1":114,"A1":12,"B1":2,"C1":3,"A14":[15,13,18]}"#;
        assert_eq!(
            d(kql_dynamic_to_json(), &[lit(bag)]).as_deref(),
            Some(
                r#"{"A1":12,"A14":[15,13,18],"B1":2,"C1":3,"D1":114,"X8":{"a4":6,"c3":1,"d8":5},"Y10":{}}"#
            )
        );
        assert_eq!(
            d(kql_dynamic_to_json(), &[lit(r#""text""#)]).as_deref(),
            Some("text")
        );
        assert_eq!(d(kql_dynamic_to_json(), &[null()]).as_deref(), Some(""));
    }

    #[test]
    fn repeat_and_strcat_array() {
        // https://learn.microsoft.com/kusto/query/repeat-function
        assert_eq!(
            d(kql_repeat(), &[int(1), int(3)]).as_deref(),
            Some("[1,1,1]")
        );
        assert_eq!(
            d(kql_repeat(), &[lit(r#""asd""#), int(3)]).as_deref(),
            Some(r#"["asd","asd","asd"]"#)
        );
        assert_eq!(
            d(kql_repeat(), &[lit("asd"), int(2)]).as_deref(),
            Some(r#"["asd","asd"]"#)
        );
        assert_eq!(d(kql_repeat(), &[int(1), int(-2)]).as_deref(), Some("[]"));
        let ts = ColumnarValue::Scalar(ScalarValue::DurationNanosecond(Some(3_600_000_000_000)));
        assert_eq!(
            d(kql_repeat(), &[ts, int(2)]).as_deref(),
            Some(r#"["01:00:00","01:00:00"]"#)
        );
        // https://learn.microsoft.com/kusto/query/strcat-array-function
        assert_eq!(
            d(kql_strcat_array(), &[lit("[1,2,3]"), lit("->")]).as_deref(),
            Some("1->2->3")
        );
        assert_eq!(
            d(kql_strcat_array(), &[lit(r#"["A",null,1.5]"#), lit(",")]).as_deref(),
            Some("A,,1.5")
        );
    }
}
