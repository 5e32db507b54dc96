//! Regular-expression functions: `extract`, `extract_all`, `trim`, `trim_start`, `trim_end`.
//!
//! Kusto uses RE2 syntax; the `regex` crate implements the same family (no backreferences, no
//! look-around). A scalar pattern is compiled once per batch; a pattern that varies by row is
//! compiled when it changes.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, DurationNanosecondArray, Float64Array, Int32Array, Int64Array,
    StringArray, TimestampNanosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, TimeUnit};
use datafusion::common::{Result, ScalarValue, exec_datafusion_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs};
use regex::Regex;
use serde_json::Value;

use crate::args::{I64Arg, Rows, StrArg, all_text, arity};
use crate::convert::{parse_bool, parse_long, parse_real};
use crate::datetime::{parse_kql_datetime, parse_kql_timespan};
use crate::udf::{Spec, ret_utf8};

/// Compiles patterns, reusing the last one while the pattern text repeats.
#[derive(Default)]
pub(crate) struct RegexCache {
    last: Option<(String, Regex)>,
}

impl RegexCache {
    pub fn get(&mut self, pattern: &str) -> Result<&Regex> {
        self.get_with(pattern, |p| p.to_string())
    }

    /// Compiles `wrap(pattern)`, cached by `pattern`.
    pub fn get_with(&mut self, pattern: &str, wrap: impl Fn(&str) -> String) -> Result<&Regex> {
        if self.last.as_ref().is_none_or(|(p, _)| p != pattern) {
            let re = Regex::new(&wrap(pattern))
                .map_err(|e| exec_datafusion_err!("invalid regular expression '{pattern}': {e}"))?;
            self.last = Some((pattern.to_string(), re));
        }
        Ok(&self.last.as_ref().expect("set above").1)
    }
}

/// The KQL type named by `typeof(...)` (as text) as an Arrow type.
fn type_named(name: &str) -> Option<DataType> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "string" | "guid" | "dynamic" => DataType::Utf8,
        "long" | "int64" => DataType::Int64,
        "int" | "int32" => DataType::Int32,
        "real" | "double" | "decimal" => DataType::Float64,
        "bool" | "boolean" => DataType::Boolean,
        "datetime" | "date" => DataType::Timestamp(TimeUnit::Nanosecond, None),
        "timespan" | "time" => DataType::Duration(TimeUnit::Nanosecond),
        _ => return None,
    })
}

fn extract_return_field(args: &ReturnFieldArgs) -> Result<FieldRef> {
    let t = match args.scalar_arguments.get(3) {
        None => DataType::Utf8,
        Some(Some(
            ScalarValue::Utf8(Some(name))
            | ScalarValue::Utf8View(Some(name))
            | ScalarValue::LargeUtf8(Some(name)),
        )) => match type_named(name) {
            Some(t) => t,
            None => return plan_err!("extract: unknown type '{name}'"),
        },
        Some(_) => return plan_err!("extract: the type argument must be a literal type name"),
    };
    Ok(Arc::new(Field::new("kql_extract", t, true)))
}

/// `extract(regex, captureGroup, source[, typeof(T)])`
/// (<https://learn.microsoft.com/kusto/query/extract-function>): the capture group of the first
/// match, optionally converted. The page says no match gives null; KQL strings are never null,
/// so the string form gives `""` (as Kusto shows it) and the typed forms give null.
fn extract(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let re = StrArg::new(&args.args[0])?;
    let group = I64Arg::new(&args.args[1])?;
    let text = StrArg::new(&args.args[2])?;
    let mut cache = RegexCache::default();
    let mut found: Vec<Option<String>> = Vec::with_capacity(rows.n);
    for i in 0..rows.n {
        let (Some(p), Some(g), Some(t)) = (re.get(i), group.get(i), text.get(i)) else {
            found.push(None);
            continue;
        };
        let r = cache.get(p)?;
        let v = usize::try_from(g).ok().and_then(|g| {
            r.captures(t)
                .and_then(|c| c.get(g))
                .map(|m| m.as_str().to_string())
        });
        found.push(v);
    }
    let ret = args.return_type().clone();
    let array: ArrayRef = match ret {
        DataType::Utf8 => Arc::new(
            found
                .into_iter()
                .map(|v| Some(v.unwrap_or_default()))
                .collect::<StringArray>(),
        ),
        DataType::Int64 => Arc::new(
            found
                .iter()
                .map(|v| v.as_deref().and_then(parse_long))
                .collect::<Int64Array>(),
        ),
        DataType::Int32 => Arc::new(
            found
                .iter()
                .map(|v| {
                    v.as_deref()
                        .and_then(parse_long)
                        .and_then(|x| i32::try_from(x).ok())
                })
                .collect::<Int32Array>(),
        ),
        DataType::Float64 => Arc::new(
            found
                .iter()
                .map(|v| v.as_deref().and_then(parse_real))
                .collect::<Float64Array>(),
        ),
        DataType::Boolean => Arc::new(
            found
                .iter()
                .map(|v| v.as_deref().and_then(parse_bool))
                .collect::<BooleanArray>(),
        ),
        DataType::Timestamp(..) => Arc::new(
            found
                .iter()
                .map(|v| v.as_deref().and_then(parse_kql_datetime))
                .collect::<TimestampNanosecondArray>(),
        ),
        DataType::Duration(_) => Arc::new(
            found
                .iter()
                .map(|v| v.as_deref().and_then(parse_kql_timespan))
                .collect::<DurationNanosecondArray>(),
        ),
        other => return plan_err!("extract: unsupported type {other}"),
    };
    rows.finish(array)
}

pub(crate) fn kql_extract() -> Spec {
    Spec {
        name: "kql_extract",
        coerce: |n, t| {
            arity(n, t, 3, 4)?;
            let mut v = vec![DataType::Utf8, DataType::Int64, DataType::Utf8];
            if t.len() == 4 {
                v.push(DataType::Utf8);
            }
            Ok(v)
        },
        ret: ret_utf8,
        ret_field: Some(extract_return_field),
        invoke: extract,
    }
}

/// `extract_all(regex, [captureGroups,] source)`
/// (<https://learn.microsoft.com/kusto/query/extract-all-function>): every match, as a dynamic
/// array. Without capture groups: the whole matches; with one: that group per match; with
/// several (or a list of groups): an array of groups per match. No match gives null.
fn extract_all(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let re = StrArg::new(&args.args[0])?;
    let (groups, text) = if args.args.len() == 3 {
        (
            Some(StrArg::new(&args.args[1])?),
            StrArg::new(&args.args[2])?,
        )
    } else {
        (None, StrArg::new(&args.args[1])?)
    };
    let mut cache = RegexCache::default();
    let mut out: Vec<Option<String>> = Vec::with_capacity(rows.n);
    for i in 0..rows.n {
        let (Some(p), Some(t)) = (re.get(i), text.get(i)) else {
            out.push(None);
            continue;
        };
        let r = cache.get(p)?;
        // Which groups to take: a list of numbers or names; `None` for the default.
        let wanted: Option<Vec<Value>> = match groups.as_ref().and_then(|g| g.get(i)) {
            Some(g) => match serde_json::from_str::<Value>(g) {
                Ok(Value::Array(a)) => Some(a),
                Ok(v) => Some(vec![v]),
                Err(_) => None,
            },
            None => None,
        };
        let mut items = Vec::new();
        for caps in r.captures_iter(t) {
            let grab = |g: &Value| -> Value {
                let m = match g {
                    Value::Number(n) => n.as_u64().and_then(|n| caps.get(n as usize)),
                    Value::String(name) => caps.name(name),
                    _ => None,
                };
                Value::String(m.map(|m| m.as_str().to_string()).unwrap_or_default())
            };
            let item = match &wanted {
                Some(list) => Value::Array(list.iter().map(grab).collect()),
                None => match r.captures_len() {
                    1 => grab(&Value::from(0)),
                    2 => grab(&Value::from(1)),
                    n => Value::Array((1..n).map(|g| grab(&Value::from(g))).collect()),
                },
            };
            items.push(item);
        }
        out.push(if items.is_empty() {
            None
        } else {
            Some(Value::Array(items).to_string())
        });
    }
    rows.finish(Arc::new(out.into_iter().collect::<StringArray>()))
}

pub(crate) fn kql_extract_all() -> Spec {
    Spec {
        name: "kql_extract_all",
        coerce: |n, t| all_text(n, t, 2, 3),
        ret: ret_utf8,
        ret_field: None,
        invoke: extract_all,
    }
}

#[derive(Clone, Copy)]
enum Side {
    Both,
    Start,
    End,
}

/// `trim(regex, source)`, `trim_start`, `trim_end`: remove every leading and/or trailing match
/// (<https://learn.microsoft.com/kusto/query/trim-function>).
fn trim(args: &ScalarFunctionArgs, side: Side) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let re = StrArg::new(&args.args[0])?;
    let text = StrArg::new(&args.args[1])?;
    let mut start = RegexCache::default();
    let mut end = RegexCache::default();
    let mut out: Vec<Option<String>> = Vec::with_capacity(rows.n);
    for i in 0..rows.n {
        let (Some(p), Some(t)) = (re.get(i), text.get(i)) else {
            out.push(text.get(i).map(str::to_string));
            continue;
        };
        let mut s = t;
        if matches!(side, Side::Both | Side::Start) {
            let r = start.get_with(p, |p| format!("^(?:{p})+"))?;
            if let Some(m) = r.find(s) {
                s = &s[m.end()..];
            }
        }
        if matches!(side, Side::Both | Side::End) {
            let r = end.get_with(p, |p| format!("(?:{p})+$"))?;
            if let Some(m) = r.find(s) {
                s = &s[..m.start()];
            }
        }
        out.push(Some(s.to_string()));
    }
    rows.finish(Arc::new(out.into_iter().collect::<StringArray>()))
}

fn coerce_two(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    all_text(name, t, 2, 2)
}

pub(crate) fn kql_trim() -> Spec {
    Spec {
        name: "kql_trim",
        coerce: coerce_two,
        ret: ret_utf8,
        ret_field: None,
        invoke: |a| trim(a, Side::Both),
    }
}

pub(crate) fn kql_trim_start() -> Spec {
    Spec {
        name: "kql_trim_start",
        coerce: coerce_two,
        ret: ret_utf8,
        ret_field: None,
        invoke: |a| trim(a, Side::Start),
    }
}

pub(crate) fn kql_trim_end() -> Spec {
    Spec {
        name: "kql_trim_end",
        coerce: coerce_two,
        ret: ret_utf8,
        ret_field: None,
        invoke: |a| trim(a, Side::End),
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::Int64Type;

    use super::*;
    use crate::testing::*;

    #[test]
    fn extract_doc_examples() {
        let text = s(&[
            Some("User: James, Email: James@example.com, Age: 29"),
            Some("User: David, Age: 35"),
        ]);
        assert_eq!(
            call_str(kql_extract(), &[lit("User: ([^,]+)"), int(1), text.clone()]),
            vec![Some("James".into()), Some("David".into())]
        );
        assert_eq!(
            call_str(
                kql_extract(),
                &[lit(r"Email: (\S+),"), int(1), text.clone()]
            ),
            vec![Some("James@example.com".into()), Some("".into())]
        );
        assert_eq!(
            call_str(kql_extract(), &[lit(r"\d+"), int(0), text]),
            vec![Some("29".into()), Some("35".into())]
        );
        let dates = s(&[Some("15-12-2024"), Some("21-07-2023"), Some("nope")]);
        let a = call(
            kql_extract(),
            &[lit(r"-(\d{2})-"), int(1), dates, lit("long")],
        );
        assert_eq!(
            a.as_primitive::<Int64Type>().iter().collect::<Vec<_>>(),
            vec![Some(12), Some(7), None]
        );
        assert_eq!(
            str1(
                kql_extract(),
                &[lit("^.{2,2}(.{4,4})"), int(1), lit("abcdefgh")]
            ),
            Some("cdef".into())
        );
    }

    #[test]
    fn extract_all_doc_examples() {
        let src = "a set of numbers: 123, 567 and 789";
        assert_eq!(
            str1(kql_extract_all(), &[lit(r"(\d+)"), lit(src)]),
            Some(r#"["123","567","789"]"#.into())
        );
        assert_eq!(
            str1(kql_extract_all(), &[lit(r"\d+"), lit(src)]),
            Some(r#"["123","567","789"]"#.into())
        );
        assert_eq!(
            str1(
                kql_extract_all(),
                &[lit(r"(\w)(\w+)(\w)"), lit("The quick brown fox")]
            ),
            Some(r#"[["T","h","e"],["q","uic","k"],["b","row","n"],["f","o","x"]]"#.into())
        );
        assert_eq!(
            str1(
                kql_extract_all(),
                &[
                    lit(r"(\w)(\w+)(\w)"),
                    lit("[1,3]"),
                    lit("The quick brown fox")
                ]
            ),
            Some(r#"[["T","e"],["q","k"],["b","n"],["f","x"]]"#.into())
        );
        assert_eq!(
            str1(
                kql_extract_all(),
                &[
                    lit(r"(?P<first>\w)(\w+)(?P<last>\w)"),
                    lit(r#"["first","last"]"#),
                    lit("The fox")
                ]
            ),
            Some(r#"[["T","e"],["f","x"]]"#.into())
        );
        assert_eq!(str1(kql_extract_all(), &[lit(r"\d+"), lit("none")]), None);
    }

    #[test]
    fn trims() {
        // trim-function page: trim(@"[-+]", "--https://bing.com--") == "https://bing.com"
        assert_eq!(
            str1(kql_trim(), &[lit("[-+]"), lit("--https://bing.com--")]),
            Some("https://bing.com".into())
        );
        assert_eq!(
            str1(kql_trim_start(), &[lit("[-+]"), lit("--x--")]),
            Some("x--".into())
        );
        assert_eq!(
            str1(kql_trim_end(), &[lit("[-+]"), lit("--x--")]),
            Some("--x".into())
        );
        assert_eq!(
            str1(kql_trim(), &[lit(r"\s"), lit("  a b  ")]),
            Some("a b".into())
        );
        assert_eq!(
            str1(kql_trim(), &[lit("ab"), lit("ababxab")]),
            Some("x".into())
        );
    }
}
