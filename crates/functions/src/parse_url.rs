//! `parse_url(url)` (<https://learn.microsoft.com/kusto/query/parse-url-function>): a property
//! bag with `Scheme`, `Host`, `Port`, `Path`, `Username`, `Password`, `Query Parameters` (a
//! bag) and `Fragment`; text that is not an absolute URL gives null. The port is text and empty
//! when the URL has none; query parameters are kept as written (not percent-decoded).

use std::sync::Arc;

use datafusion::arrow::array::StringArray;
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};
use serde_json::{Map, Value};
use url::Url;

use crate::args::{Rows, StrArg, all_text};
use crate::udf::{Spec, ret_utf8};

pub fn parse_url_bag(s: &str) -> Option<String> {
    let u = Url::parse(s.trim()).ok()?;
    let mut q = Map::new();
    if let Some(query) = u.query() {
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            q.insert(k.to_string(), Value::String(v.to_string()));
        }
    }
    let mut bag = Map::new();
    let text = |s: &str| Value::String(s.to_string());
    bag.insert("Scheme".into(), text(u.scheme()));
    bag.insert("Host".into(), text(u.host_str().unwrap_or("")));
    bag.insert(
        "Port".into(),
        text(&u.port().map(|p| p.to_string()).unwrap_or_default()),
    );
    bag.insert("Path".into(), text(u.path()));
    bag.insert("Username".into(), text(u.username()));
    bag.insert("Password".into(), text(u.password().unwrap_or("")));
    bag.insert("Query Parameters".into(), Value::Object(q));
    bag.insert("Fragment".into(), text(u.fragment().unwrap_or("")));
    Some(Value::Object(bag).to_string())
}

fn parse_url(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let a = StrArg::new(&args.args[0])?;
    let out: StringArray = (0..rows.n).map(|i| parse_url_bag(a.get(i)?)).collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_parse_url() -> Spec {
    Spec {
        name: "kql_parse_url",
        coerce: |n, t| all_text(n, t, 1, 1),
        ret: ret_utf8,
        ret_field: None,
        invoke: parse_url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_example() {
        let got = parse_url_bag(
            "scheme://username:password@host:1234/this/is/a/path?k1=v1&k2=v2#fragment",
        )
        .unwrap();
        assert_eq!(
            got,
            r#"{"Scheme":"scheme","Host":"host","Port":"1234","Path":"/this/is/a/path","Username":"username","Password":"password","Query Parameters":{"k1":"v1","k2":"v2"},"Fragment":"fragment"}"#
        );
        let got = parse_url_bag("https://bing.com/search?q=a%20b").unwrap();
        assert!(
            got.contains(r#""Port":"""#) && got.contains(r#""q":"a%20b""#),
            "{got}"
        );
        assert_eq!(parse_url_bag("not a url"), None);
    }
}
