//! String functions: `split`, `substring`, `replace_string`, `strcat`, `isempty`, `isnotempty`.

use std::sync::Arc;

use datafusion::arrow::array::{BooleanArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};
use serde_json::Value;

use crate::args::{I64Arg, Rows, StrArg, all_text, arity};
use crate::convert::{AnyArg, any_scalar_type};
use crate::udf::{Spec, ret_bool, ret_utf8};

/// `split(source, delimiter[, requestedIndex])` (<https://learn.microsoft.com/kusto/query/split-function>):
/// a dynamic array of the parts; with an index, a one-element array, or an empty array when
/// the index is out of range. `split("", "_")` is `[""]`. An empty delimiter gives `[source]`.
fn split(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let text = StrArg::new(&args.args[0])?;
    let delim = StrArg::new(&args.args[1])?;
    let index = args.args.get(2).map(I64Arg::new).transpose()?;
    let out: StringArray = (0..rows.n)
        .map(|i| {
            let t = text.get(i).unwrap_or("");
            let d = delim.get(i).unwrap_or("");
            let parts: Vec<&str> = if d.is_empty() {
                vec![t]
            } else {
                t.split(d).collect()
            };
            let parts: Vec<&str> = match &index {
                None => parts,
                Some(ix) => {
                    let k = ix.get(i)?;
                    usize::try_from(k)
                        .ok()
                        .and_then(|k| parts.get(k).copied())
                        .into_iter()
                        .collect()
                }
            };
            Some(
                Value::Array(
                    parts
                        .into_iter()
                        .map(|p| Value::String(p.to_string()))
                        .collect(),
                )
                .to_string(),
            )
        })
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_split() -> Spec {
    Spec {
        name: "kql_split",
        coerce: |n, t| {
            arity(n, t, 2, 3)?;
            Ok(t.iter()
                .enumerate()
                .map(|(i, _)| {
                    if i == 2 {
                        DataType::Int64
                    } else {
                        DataType::Utf8
                    }
                })
                .collect())
        },
        ret: ret_utf8,
        ret_field: None,
        invoke: split,
    }
}

/// `substring(source, startingIndex[, length])`
/// (<https://learn.microsoft.com/kusto/query/substring-function>): counted in characters; a
/// negative start counts from the end; the range is clamped to the string, so a start past the
/// end or a negative length gives `""`.
pub fn substring(s: &str, start: i64, length: Option<i64>) -> String {
    let n = s.chars().count() as i64;
    let from = if start < 0 {
        (n + start).max(0)
    } else {
        start.min(n)
    };
    let to = match length {
        Some(l) if l < 0 => from,
        Some(l) => from.saturating_add(l).min(n),
        None => n,
    };
    s.chars()
        .skip(from as usize)
        .take((to - from).max(0) as usize)
        .collect()
}

fn substring_fn(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let text = StrArg::new(&args.args[0])?;
    let start = I64Arg::new(&args.args[1])?;
    let len = args.args.get(2).map(I64Arg::new).transpose()?;
    let out: StringArray = (0..rows.n)
        .map(|i| {
            let t = text.get(i).unwrap_or("");
            let l = match &len {
                Some(l) => Some(l.get(i)?),
                None => None,
            };
            Some(substring(t, start.get(i)?, l))
        })
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_substring() -> Spec {
    Spec {
        name: "kql_substring",
        coerce: |n, t| {
            arity(n, t, 2, 3)?;
            Ok(t.iter()
                .enumerate()
                .map(|(i, _)| {
                    if i == 0 {
                        DataType::Utf8
                    } else {
                        DataType::Int64
                    }
                })
                .collect())
        },
        ret: ret_utf8,
        ret_field: None,
        invoke: substring_fn,
    }
}

/// `replace_string(text, lookup, rewrite)`: every non-overlapping occurrence, left to right.
fn replace_string(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let text = StrArg::new(&args.args[0])?;
    let lookup = StrArg::new(&args.args[1])?;
    let rewrite = StrArg::new(&args.args[2])?;
    let out: StringArray = (0..rows.n)
        .map(|i| {
            let t = text.get(i).unwrap_or("");
            let l = lookup.get(i).unwrap_or("");
            if l.is_empty() {
                return Some(t.to_string());
            }
            Some(t.replace(l, rewrite.get(i).unwrap_or("")))
        })
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_replace_string() -> Spec {
    Spec {
        name: "kql_replace_string",
        coerce: |n, t| all_text(n, t, 3, 3),
        ret: ret_utf8,
        ret_field: None,
        invoke: replace_string,
    }
}

/// `strcat(a, b, ...)`: arguments converted as `tostring` does (null is `""`).
fn strcat(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let parts: Vec<AnyArg> = args.args.iter().map(AnyArg::new).collect::<Result<_>>()?;
    let out: StringArray = (0..rows.n)
        .map(|i| {
            let mut s = String::new();
            for p in &parts {
                if let Some(v) = p.to_kql_string(i) {
                    s.push_str(&v);
                }
            }
            Some(s)
        })
        .collect();
    rows.finish(Arc::new(out))
}

fn coerce_any_many(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    arity(name, t, 1, usize::MAX)?;
    Ok(t.iter().map(any_scalar_type).collect())
}

pub(crate) fn kql_strcat() -> Spec {
    Spec {
        name: "kql_strcat",
        coerce: coerce_any_many,
        ret: ret_utf8,
        ret_field: None,
        invoke: strcat,
    }
}

/// `isempty(x)`: null, or an empty string (<https://learn.microsoft.com/kusto/query/isempty-function>).
fn isempty(args: &ScalarFunctionArgs, negate: bool) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let a = AnyArg::new(&args.args[0])?;
    let out: BooleanArray = (0..rows.n)
        .map(|i| {
            let empty = match &a {
                AnyArg::Str(s) => s.get(i).is_none_or(str::is_empty),
                other => other.to_kql_string(i).is_none(),
            };
            Some(empty != negate)
        })
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_isempty() -> Spec {
    Spec {
        name: "kql_isempty",
        coerce: |n, t| {
            arity(n, t, 1, 1)?;
            Ok(t.iter().map(any_scalar_type).collect())
        },
        ret: ret_bool,
        ret_field: None,
        invoke: |a| isempty(a, false),
    }
}

pub(crate) fn kql_isnotempty() -> Spec {
    Spec {
        name: "kql_isnotempty",
        coerce: |n, t| {
            arity(n, t, 1, 1)?;
            Ok(t.iter().map(any_scalar_type).collect())
        },
        ret: ret_bool,
        ret_field: None,
        invoke: |a| isempty(a, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn split_doc_examples() {
        assert_eq!(
            str1(kql_split(), &[lit("aa_bb"), lit("_")]),
            Some(r#"["aa","bb"]"#.into())
        );
        assert_eq!(
            str1(kql_split(), &[lit("aaa_bbb_ccc"), lit("_"), int(1)]),
            Some(r#"["bbb"]"#.into())
        );
        assert_eq!(
            str1(kql_split(), &[lit(""), lit("_")]),
            Some(r#"[""]"#.into())
        );
        assert_eq!(
            str1(kql_split(), &[lit("a__b"), lit("_")]),
            Some(r#"["a","","b"]"#.into())
        );
        assert_eq!(
            str1(kql_split(), &[lit("aabbcc"), lit("bb")]),
            Some(r#"["aa","cc"]"#.into())
        );
        assert_eq!(
            str1(kql_split(), &[lit("a_b"), lit("_"), int(5)]),
            Some("[]".into())
        );
    }

    #[test]
    fn substring_doc_examples() {
        assert_eq!(substring("123456", 1, None), "23456");
        assert_eq!(substring("123456", 2, Some(2)), "34");
        assert_eq!(substring("ABCD", 0, Some(2)), "AB");
        assert_eq!(substring("123456", -2, Some(2)), "56");
        assert_eq!(substring("ABCD", 10, Some(2)), "");
        assert_eq!(substring("ABCD", 2, Some(100)), "CD");
        assert_eq!(substring("ÄÖÜ", 1, Some(1)), "Ö");
        assert_eq!(
            str1(kql_substring(), &[lit("123456"), int(1), int(3)]),
            Some("234".into())
        );
    }

    #[test]
    fn others() {
        assert_eq!(
            str1(
                kql_replace_string(),
                &[
                    lit("A magic trick can turn a cat into a dog"),
                    lit("cat"),
                    lit("hamster")
                ]
            ),
            Some("A magic trick can turn a hamster into a dog".into())
        );
        assert_eq!(
            str1(kql_strcat(), &[lit("hello"), lit(" "), null(), int(5)]),
            Some("hello 5".into())
        );
        assert_eq!(
            call_bool(kql_isempty(), &[s(&[Some(""), None, Some("x")])]),
            vec![Some(true), Some(true), Some(false)]
        );
        assert_eq!(
            call_bool(kql_isnotempty(), &[s(&[Some(""), None, Some("x")])]),
            vec![Some(false), Some(false), Some(true)]
        );
        assert_eq!(
            call_bool(kql_isempty(), &[reals(&[Some(0.0), None])]),
            vec![Some(false), Some(true)]
        );
    }
}
