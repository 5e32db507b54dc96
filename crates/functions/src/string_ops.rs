//! Substring and equality operators: `contains`, `contains_cs`, `startswith`, `startswith_cs`,
//! `endswith`, `endswith_cs`, `=~` (`kql_equals_ci`), `in~` (`kql_in_ci`).
//! <https://learn.microsoft.com/kusto/query/datatypes-string-operators>
//!
//! Case-insensitive forms compare ASCII bytes without allocating when the needle is ASCII and
//! lowercase both sides (Unicode) otherwise. As for `has`, a null text or needle is read as
//! `""` (KQL strings are never null), so the result is never null.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::arrow::array::BooleanArray;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};
use memchr::memmem;

use crate::args::{Rows, StrArg, all_text};
use crate::has::expand_terms;
use crate::udf::{Spec, ret_bool};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Contains,
    StartsWith,
    EndsWith,
    Equals,
}

/// A needle prepared once.
struct Needle {
    /// The needle as compared: as is when case-sensitive or ASCII, lowercased otherwise.
    text: String,
    case_sensitive: bool,
    ascii: bool,
    finder: memmem::Finder<'static>,
}

impl Needle {
    fn new(needle: &str, case_sensitive: bool) -> Needle {
        let ascii = needle.is_ascii();
        let text = if case_sensitive {
            needle.to_string()
        } else if ascii {
            needle.to_ascii_lowercase()
        } else {
            needle.to_lowercase()
        };
        let finder = memmem::Finder::new(text.as_bytes()).into_owned();
        Needle {
            text,
            case_sensitive,
            ascii,
            finder,
        }
    }

    fn test(&self, op: Op, hay: &str, buf: &mut Vec<u8>) -> bool {
        let n = self.text.as_bytes();
        if self.case_sensitive {
            let h = hay.as_bytes();
            return match op {
                Op::Contains => self.finder.find(h).is_some(),
                Op::StartsWith => h.starts_with(n),
                Op::EndsWith => h.ends_with(n),
                Op::Equals => h == n,
            };
        }
        if self.ascii {
            // ASCII bytes never occur inside a multi-byte UTF-8 sequence, so folding ASCII
            // bytes of any text is exact for an ASCII needle.
            let h = hay.as_bytes();
            return match op {
                Op::StartsWith => h.len() >= n.len() && h[..n.len()].eq_ignore_ascii_case(n),
                Op::EndsWith => {
                    h.len() >= n.len() && h[h.len() - n.len()..].eq_ignore_ascii_case(n)
                }
                Op::Equals => h.eq_ignore_ascii_case(n),
                Op::Contains => {
                    if n.is_empty() {
                        return true;
                    }
                    buf.clear();
                    buf.extend(h.iter().map(u8::to_ascii_lowercase));
                    self.finder.find(buf).is_some()
                }
            };
        }
        let lowered = hay.to_lowercase();
        let h = lowered.as_bytes();
        match op {
            Op::Contains => self.finder.find(h).is_some(),
            Op::StartsWith => h.starts_with(n),
            Op::EndsWith => h.ends_with(n),
            Op::Equals => h == n,
        }
    }
}

fn eval(args: &ScalarFunctionArgs, op: Op, case_sensitive: bool) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let text = StrArg::new(&args.args[0])?;
    let needle = StrArg::new(&args.args[1])?;
    let mut buf = Vec::new();
    let out: BooleanArray = if let Some(n) = needle.scalar() {
        let n = Needle::new(n.unwrap_or(""), case_sensitive);
        (0..rows.n)
            .map(|i| Some(n.test(op, text.get(i).unwrap_or(""), &mut buf)))
            .collect()
    } else {
        let mut cache: Option<(String, Needle)> = None;
        let mut out = Vec::with_capacity(rows.n);
        for i in 0..rows.n {
            let raw = needle.get(i).unwrap_or("");
            if cache.as_ref().is_none_or(|(r, _)| r != raw) {
                cache = Some((raw.to_string(), Needle::new(raw, case_sensitive)));
            }
            let (_, n) = cache.as_ref().expect("set above");
            out.push(Some(n.test(op, text.get(i).unwrap_or(""), &mut buf)));
        }
        out.into_iter().collect()
    };
    rows.finish(Arc::new(out))
}

fn coerce_two(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    all_text(name, t, 2, 2)
}

macro_rules! string_op {
    ($fn_name:ident, $name:literal, $op:expr, $cs:expr) => {
        pub(crate) fn $fn_name() -> Spec {
            Spec {
                name: $name,
                coerce: coerce_two,
                ret: ret_bool,
                ret_field: None,
                invoke: |a| eval(a, $op, $cs),
            }
        }
    };
}

string_op!(kql_contains, "kql_contains", Op::Contains, false);
string_op!(kql_contains_cs, "kql_contains_cs", Op::Contains, true);
string_op!(kql_startswith, "kql_startswith", Op::StartsWith, false);
string_op!(kql_startswith_cs, "kql_startswith_cs", Op::StartsWith, true);
string_op!(kql_endswith, "kql_endswith", Op::EndsWith, false);
string_op!(kql_endswith_cs, "kql_endswith_cs", Op::EndsWith, true);
string_op!(kql_equals_ci, "kql_equals_ci", Op::Equals, false);

fn fold(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.to_lowercase()
    }
}

/// `text in~ (v1, v2, ...)`: case-insensitive membership. A scalar value holding a JSON array
/// (a `dynamic([...])` list) is expanded into its elements.
fn in_ci(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    membership(args, true)
}

/// `text in (v1, v2, ...)` when a value is only known when the query runs (a dynamic array from a
/// function parameter or `toscalar`): exact membership, arrays expanded into their elements.
/// Values compare as text, as `in` compares a dynamic array's elements to the value.
fn in_cs(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    membership(args, false)
}

fn membership(args: &ScalarFunctionArgs, case_insensitive: bool) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let text = StrArg::new(&args.args[0])?;
    let values: Vec<StrArg> = args.args[1..]
        .iter()
        .map(StrArg::new)
        .collect::<Result<_>>()?;
    let all_scalar = args.args[1..]
        .iter()
        .all(|a| matches!(a, ColumnarValue::Scalar(_)));
    let set_at = |row: usize| {
        let mut items = Vec::new();
        for v in &values {
            if let Some(s) = v.get(row) {
                expand_terms(s, &mut items);
            }
        }
        if case_insensitive {
            items.iter().map(|s| fold(s)).collect::<HashSet<String>>()
        } else {
            items.into_iter().collect::<HashSet<String>>()
        }
    };
    let mut buf = String::new();
    let mut member = |set: &HashSet<String>, s: &str| {
        if !case_insensitive {
            set.contains(s)
        } else if s.is_ascii() {
            buf.clear();
            buf.push_str(s);
            buf.make_ascii_lowercase();
            set.contains(buf.as_str())
        } else {
            set.contains(&s.to_lowercase())
        }
    };
    let out: BooleanArray = if all_scalar {
        let set = set_at(0);
        (0..rows.n)
            .map(|i| Some(member(&set, text.get(i).unwrap_or(""))))
            .collect()
    } else {
        (0..rows.n)
            .map(|i| Some(member(&set_at(i), text.get(i).unwrap_or(""))))
            .collect()
    };
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_in() -> Spec {
    Spec {
        name: "kql_in",
        coerce: |n, t| all_text(n, t, 1, usize::MAX),
        ret: ret_bool,
        ret_field: None,
        invoke: in_cs,
    }
}

pub(crate) fn kql_in_ci() -> Spec {
    Spec {
        name: "kql_in_ci",
        coerce: |n, t| all_text(n, t, 1, usize::MAX),
        ret: ret_bool,
        ret_field: None,
        invoke: in_ci,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn t(spec: Spec, text: &str, needle: &str) -> bool {
        call_bool(spec, &[lit(text), lit(needle)])[0].unwrap()
    }

    #[test]
    fn doc_examples() {
        // String operators table: each example yields true.
        assert!(t(kql_equals_ci(), "abc", "ABC"));
        assert!(!t(kql_equals_ci(), "aBc", "xyz"));
        assert!(t(kql_contains(), "FabriKam", "BRik"));
        assert!(!t(kql_contains(), "Fabrikam", "xyz"));
        assert!(t(kql_contains_cs(), "FabriKam", "Kam"));
        assert!(!t(kql_contains_cs(), "Fabrikam", "Kam"));
        assert!(t(kql_endswith(), "Fabrikam", "Kam"));
        assert!(!t(kql_endswith(), "Fabrikam", "brik"));
        assert!(t(kql_endswith_cs(), "Fabrikam", "kam"));
        assert!(!t(kql_endswith_cs(), "Fabrikam", "Kam"));
        assert!(t(kql_startswith(), "Fabrikam", "fab"));
        assert!(!t(kql_startswith(), "Fabrikam", "kam"));
        assert!(t(kql_startswith_cs(), "Fabrikam", "Fab"));
        assert!(!t(kql_startswith_cs(), "Fabrikam", "fab"));
    }

    #[test]
    fn unicode_and_empty() {
        assert!(t(kql_contains(), "Grüße aus MÜNCHEN", "münchen"));
        assert!(t(kql_contains(), "Grüße aus MÜNCHEN", "AUS"));
        assert!(t(kql_startswith(), "ÉCOLE", "éc"));
        assert!(t(kql_endswith(), "naïve CAFÉ", "café"));
        assert!(t(kql_equals_ci(), "ÉCOLE", "école"));
        assert!(t(kql_contains(), "abc", ""));
        assert!(t(kql_startswith(), "", ""));
        assert!(!t(kql_contains(), "", "a"));
    }

    #[test]
    fn columns_and_nulls() {
        let texts = s(&[Some("C:\\Windows\\cmd.exe"), None, Some("x")]);
        assert_eq!(
            call_bool(kql_endswith(), &[texts.clone(), lit("\\CMD.EXE")]),
            vec![Some(true), Some(false), Some(false)]
        );
        assert_eq!(
            call_bool(kql_equals_ci(), &[texts.clone(), lit("")]),
            vec![Some(false), Some(true), Some(false)]
        );
        let needles = s(&[Some("windows"), Some(""), None]);
        assert_eq!(
            call_bool(kql_contains(), &[texts.clone(), needles]),
            vec![Some(true), Some(true), Some(true)]
        );
        assert_eq!(
            call_bool(
                kql_in_ci(),
                &[texts.clone(), lit("X"), lit("c:\\windows\\CMD.exe")]
            ),
            vec![Some(true), Some(false), Some(true)]
        );
        assert_eq!(
            call_bool(kql_in_ci(), &[texts.clone(), lit(r#"["Y","X"]"#)]),
            vec![Some(false), Some(false), Some(true)]
        );
        assert_eq!(
            call_bool(kql_in(), &[texts, lit(r#"["Y","X","x"]"#)]),
            vec![Some(false), Some(false), Some(true)]
        );
        assert_eq!(
            call_bool(kql_in(), &[lit("403"), lit(r#"[403, "500"]"#)]),
            vec![Some(true)]
        );
    }
}
