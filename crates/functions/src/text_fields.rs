//! Fields inside text, for front-ends whose field names stand for part of a column:
//!
//! - `kql_kv_text(text, key)`: the value of `key=value` in a line of such pairs (FortiGate,
//!   sudo's `USER=root ; COMMAND=...`, auditd): pairs are separated by spaces, `;` or `,`; a
//!   value may be double-quoted; the first pair of that key wins; null when the key is absent.
//! - `kql_url_part(url, part)`: `path` (before `?` and `#`), `query` (after `?`, before `#`) or
//!   `extension` (of the path's last segment, after its last dot; empty when it has none), as
//!   Sigma's proxy fields `cs-uri-stem`, `c-uri-query` and `c-uri-extension` read a URL.
//!
//! The plain functions are public so that a row-at-a-time reference evaluator reads text the
//! same way.

use std::sync::Arc;

use datafusion::arrow::array::StringArray;
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};

use crate::args::{Rows, StrArg, all_text};
use crate::udf::{Spec, ret_utf8};

/// The value of `key` in a text of `key=value` pairs.
pub fn kv_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(found) = text[from..].find(key) {
        let start = from + found;
        let end = start + key.len();
        from = start + 1;
        let at_boundary = start == 0 || matches!(bytes[start - 1], b' ' | b'\t' | b';' | b',');
        if !at_boundary || bytes.get(end) != Some(&b'=') {
            continue;
        }
        let rest = &text[end + 1..];
        if let Some(quoted) = rest.strip_prefix('"') {
            return Some(quoted.find('"').map_or(quoted, |close| &quoted[..close]));
        }
        let stop = rest.find([' ', '\t', ';', ',']).unwrap_or(rest.len());
        return Some(&rest[..stop]);
    }
    None
}

/// A part of a URL: `path`, `query` or `extension`; None for another part name.
pub fn url_part<'a>(url: &'a str, part: &str) -> Option<&'a str> {
    let url = url.split('#').next().unwrap_or(url);
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p, q),
        None => (url, ""),
    };
    match part {
        "path" => Some(path),
        "query" => Some(query),
        "extension" => {
            // The last segment of the path (after the scheme and host, if any).
            let segment = path.rsplit('/').next().unwrap_or(path);
            Some(segment.rsplit_once('.').map_or("", |(_, ext)| ext))
        }
        _ => None,
    }
}

fn kv(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let text = StrArg::new(&args.args[0])?;
    let key = StrArg::new(&args.args[1])?;
    let out: StringArray = (0..rows.n)
        .map(|i| kv_value(text.get(i)?, key.get(i)?))
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_kv_text() -> Spec {
    Spec {
        name: "kql_kv_text",
        coerce: |n, t| all_text(n, t, 2, 2),
        ret: ret_utf8,
        ret_field: None,
        invoke: kv,
    }
}

fn url(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let text = StrArg::new(&args.args[0])?;
    let part = StrArg::new(&args.args[1])?;
    let out: StringArray = (0..rows.n)
        .map(|i| url_part(text.get(i)?, part.get(i)?))
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_url_part() -> Spec {
    Spec {
        name: "kql_url_part",
        coerce: |n, t| all_text(n, t, 2, 2),
        ret: ret_utf8,
        ret_field: None,
        invoke: url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_found_at_word_boundaries_quoted_or_bare() {
        let fortigate = r#"date=2024-05-01 time=10:00:00 devname="FGT-1" type="event" action="Add" cfgpath="firewall.policy" msg="Add firewall.policy 7""#;
        assert_eq!(kv_value(fortigate, "action"), Some("Add"));
        assert_eq!(kv_value(fortigate, "cfgpath"), Some("firewall.policy"));
        assert_eq!(kv_value(fortigate, "time"), Some("10:00:00"));
        assert_eq!(kv_value(fortigate, "path"), None, "not inside cfgpath");
        let sudo = "alice : TTY=pts/0 ; PWD=/home/alice ; USER=#-1 ; COMMAND=/bin/bash";
        assert_eq!(kv_value(sudo, "USER"), Some("#-1"));
        assert_eq!(kv_value(sudo, "COMMAND"), Some("/bin/bash"));
        assert_eq!(kv_value("a=", "a"), Some(""));
        assert_eq!(kv_value(r#"a="unterminated"#, "a"), Some("unterminated"));
    }

    #[test]
    fn url_parts() {
        let u = "http://x.example/dl/setup.EXE?id=1&b=2#top";
        assert_eq!(url_part(u, "path"), Some("http://x.example/dl/setup.EXE"));
        assert_eq!(url_part(u, "query"), Some("id=1&b=2"));
        assert_eq!(url_part(u, "extension"), Some("EXE"));
        assert_eq!(url_part("/a.b/file", "extension"), Some(""));
        assert_eq!(url_part("/archive.tar.gz", "extension"), Some("gz"));
        assert_eq!(url_part("/x", "host"), None);
    }
}
