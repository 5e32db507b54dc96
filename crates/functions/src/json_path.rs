//! `extract_json(jsonPath, dataSource)` / `extractjson`
//! (<https://learn.microsoft.com/kusto/query/extract-json-function>): a JSONPath subset over
//! JSON text. A string result is returned unquoted, other values as compact JSON text; a
//! missing element, JSON null, or a source that is not JSON gives null.
//!
//! Paths: `$`, `.name`, `['name']`, `["name"]`, `[N]` (negative from the end), `.[N]`, and
//! dotted names with spaces (`$.File Path`; Kusto accepts them).

use std::sync::Arc;

use datafusion::arrow::array::StringArray;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};
use serde_json::Value;

use crate::args::{Rows, StrArg, all_text};
use crate::dynamic::json_to_kql_string;
use crate::udf::{Spec, ret_utf8};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PathStep {
    Key(String),
    Index(i64),
}

/// Parses a JSONPath; `None` if it is not one this subset understands.
pub(crate) fn parse_path(path: &str) -> Option<Vec<PathStep>> {
    let p = path.trim();
    let mut rest = p.strip_prefix('$')?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            if r.starts_with('[') {
                rest = r;
                continue;
            }
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let name = &r[..end];
            if name.is_empty() {
                return None;
            }
            steps.push(PathStep::Key(name.to_string()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let r = r.trim_start();
            if let Some(q) = r.chars().next().filter(|c| *c == '\'' || *c == '"') {
                let body = &r[1..];
                let close = body.find(q)?;
                steps.push(PathStep::Key(body[..close].to_string()));
                let after = body[close + 1..].trim_start();
                rest = after.strip_prefix(']')?;
            } else {
                let close = r.find(']')?;
                let n: i64 = r[..close].trim().parse().ok()?;
                steps.push(PathStep::Index(n));
                rest = &r[close + 1..];
            }
        } else {
            return None;
        }
    }
    Some(steps)
}

pub(crate) fn walk<'v>(mut v: &'v Value, steps: &[PathStep]) -> Option<&'v Value> {
    for s in steps {
        v = match (s, v) {
            (PathStep::Key(k), Value::Object(m)) => m.get(k)?,
            (PathStep::Index(i), Value::Array(a)) => {
                let i = if *i < 0 { a.len() as i64 + i } else { *i };
                a.get(usize::try_from(i).ok()?)?
            }
            _ => return None,
        };
    }
    Some(v)
}

fn extract_json(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let path = StrArg::new(&args.args[0])?;
    let json = StrArg::new(&args.args[1])?;
    let fixed = match path.scalar() {
        Some(Some(p)) => match parse_path(p) {
            Some(steps) => Some(steps),
            None => return exec_err!("extract_json: unsupported JSONPath '{p}'"),
        },
        _ => None,
    };
    let out: StringArray = (0..rows.n)
        .map(|i| {
            let owned;
            let steps = match &fixed {
                Some(s) => s,
                None => {
                    owned = parse_path(path.get(i)?)?;
                    &owned
                }
            };
            let root: Value = serde_json::from_str(json.get(i)?).ok()?;
            let v = walk(&root, steps)?;
            if v.is_null() {
                None
            } else {
                Some(json_to_kql_string(v))
            }
        })
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_extract_json() -> Spec {
    Spec {
        name: "kql_extract_json",
        coerce: |n, t: &[DataType]| all_text(n, t, 2, 2),
        ret: ret_utf8,
        ret_field: None,
        invoke: extract_json,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn paths() {
        assert_eq!(
            parse_path("$.a.b"),
            Some(vec![PathStep::Key("a".into()), PathStep::Key("b".into())])
        );
        assert_eq!(
            parse_path("$.[0].x"),
            Some(vec![PathStep::Index(0), PathStep::Key("x".into())])
        );
        assert_eq!(
            parse_path("$['File Path']"),
            Some(vec![PathStep::Key("File Path".into())])
        );
        assert_eq!(
            parse_path("$.File Path"),
            Some(vec![PathStep::Key("File Path".into())])
        );
        assert_eq!(
            parse_path("$.a[0]"),
            Some(vec![PathStep::Key("a".into()), PathStep::Index(0)])
        );
        assert_eq!(parse_path("$"), Some(vec![]));
        assert_eq!(parse_path("a.b"), None);
    }

    #[test]
    fn doc_example_and_more() {
        let json = r#"{"name": "John", "age": 30, "city": "New York", "a": [{"x": 1}, {"x": {"y": 2}}], "File Path": "C:\\t.exe", "n": null}"#;
        let get = |p: &str| str1(kql_extract_json(), &[lit(p), lit(json)]);
        assert_eq!(get("$.name"), Some("John".into()));
        assert_eq!(get("$.age"), Some("30".into()));
        assert_eq!(get("$.a[1].x"), Some(r#"{"y":2}"#.into()));
        assert_eq!(get("$.a[-1].x.y"), Some("2".into()));
        assert_eq!(get("$['File Path']"), Some("C:\\t.exe".into()));
        assert_eq!(get("$.File Path"), Some("C:\\t.exe".into()));
        assert_eq!(get("$.missing"), None);
        assert_eq!(get("$.n"), None);
        assert_eq!(
            str1(kql_extract_json(), &[lit("$.[0].x"), lit(r#"[{"x":"v"}]"#)]),
            Some("v".into())
        );
        assert_eq!(
            str1(kql_extract_json(), &[lit("$.a"), lit("not json")]),
            None
        );
        let col = s(&[Some(r#"{"a":"1"}"#), None, Some(r#"{"b":1}"#)]);
        assert_eq!(
            call_str(kql_extract_json(), &[lit("$.a"), col]),
            vec![Some("1".into()), None, None]
        );
    }
}
