//! IPv4 functions: `ipv4_is_private`, `ipv4_is_match`, `ipv4_is_in_range`, `ipv4_compare`
//! (<https://learn.microsoft.com/kusto/query/ipv4-is-match-function> and siblings). Addresses
//! may carry a `/prefix` (CIDR); text that is not an IPv4 address gives null.

use std::net::Ipv4Addr;
use std::sync::Arc;

use datafusion::arrow::array::{BooleanArray, Int64Array, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};

use crate::args::{I64Arg, Rows, StrArg, all_text, arity};
use crate::udf::{Spec, ret_bool, ret_i64, ret_utf8};

/// `a.b.c.d[/p]` as (address, prefix length).
pub fn parse_ipv4(s: &str) -> Option<(u32, u8)> {
    let s = s.trim();
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, p.trim().parse::<u8>().ok().filter(|p| *p <= 32)?),
        None => (s, 32),
    };
    Some((u32::from(addr.trim().parse::<Ipv4Addr>().ok()?), prefix))
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

/// Compares two addresses on their common prefix (and `prefix` when given).
pub fn ipv4_compare(a: &str, b: &str, prefix: Option<i64>) -> Option<i64> {
    let (x, px) = parse_ipv4(a)?;
    let (y, py) = parse_ipv4(b)?;
    let p = match prefix {
        Some(p) if (0..=32).contains(&p) => p as u8,
        Some(_) => return None,
        None => 32,
    };
    let m = mask(p.min(px).min(py));
    Some(match (x & m).cmp(&(y & m)) {
        std::cmp::Ordering::Less => -1,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    })
}

/// Whether the address (or the whole CIDR block) lies in 10/8, 172.16/12 or 192.168/16.
pub fn ipv4_is_private(s: &str) -> Option<bool> {
    let (x, p) = parse_ipv4(s)?;
    const PRIVATE: [(u32, u8); 3] = [(0x0A00_0000, 8), (0xAC10_0000, 12), (0xC0A8_0000, 16)];
    Some(
        PRIVATE
            .iter()
            .any(|&(net, np)| p >= np && x & mask(np) == net),
    )
}

fn compare_fn(args: &ScalarFunctionArgs) -> Result<Vec<Option<i64>>> {
    let rows = Rows::of(&args.args, args.number_rows);
    let a = StrArg::new(&args.args[0])?;
    let b = StrArg::new(&args.args[1])?;
    let p = args.args.get(2).map(I64Arg::new).transpose()?;
    Ok((0..rows.n)
        .map(|i| {
            let prefix = match &p {
                Some(p) => Some(p.get(i)?),
                None => None,
            };
            ipv4_compare(a.get(i)?, b.get(i)?, prefix)
        })
        .collect())
}

fn coerce_compare(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    arity(name, t, 2, 3)?;
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
}

pub(crate) fn kql_ipv4_compare() -> Spec {
    Spec {
        name: "kql_ipv4_compare",
        coerce: coerce_compare,
        ret: ret_i64,
        ret_field: None,
        invoke: |a| {
            let rows = Rows::of(&a.args, a.number_rows);
            rows.finish(Arc::new(compare_fn(a)?.into_iter().collect::<Int64Array>()))
        },
    }
}

pub(crate) fn kql_ipv4_is_match() -> Spec {
    Spec {
        name: "kql_ipv4_is_match",
        coerce: coerce_compare,
        ret: ret_bool,
        ret_field: None,
        invoke: |a| {
            let rows = Rows::of(&a.args, a.number_rows);
            rows.finish(Arc::new(
                compare_fn(a)?
                    .into_iter()
                    .map(|c| c.map(|c| c == 0))
                    .collect::<BooleanArray>(),
            ))
        },
    }
}

/// `ipv4_is_in_range(ip, range)`: the address is inside the range's CIDR block.
fn in_range(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let ip = StrArg::new(&args.args[0])?;
    let range = StrArg::new(&args.args[1])?;
    let out: BooleanArray = (0..rows.n)
        .map(|i| {
            let (x, _) = parse_ipv4(ip.get(i)?)?;
            let (net, p) = parse_ipv4(range.get(i)?)?;
            Some(x & mask(p) == net & mask(p))
        })
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_ipv4_is_in_range() -> Spec {
    Spec {
        name: "kql_ipv4_is_in_range",
        coerce: |n, t| all_text(n, t, 2, 2),
        ret: ret_bool,
        ret_field: None,
        invoke: in_range,
    }
}

pub(crate) fn kql_ipv4_is_private() -> Spec {
    Spec {
        name: "kql_ipv4_is_private",
        coerce: |n, t| all_text(n, t, 1, 1),
        ret: ret_bool,
        ret_field: None,
        invoke: |a| {
            let rows = Rows::of(&a.args, a.number_rows);
            let ip = StrArg::new(&a.args[0])?;
            let out: BooleanArray = (0..rows.n).map(|i| ipv4_is_private(ip.get(i)?)).collect();
            rows.finish(Arc::new(out))
        },
    }
}

/// `parse_ipv4(ip)` (<https://learn.microsoft.com/kusto/query/parse-ipv4-function>): the address
/// as a long (big-endian); with a `/prefix`, the network part only (`192.168.1.1/24` is
/// 3232235776). Null when it is not an IPv4 address.
fn parse_ipv4_fn(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let ip = StrArg::new(&args.args[0])?;
    let out: Int64Array = (0..rows.n)
        .map(|i| {
            let (x, p) = parse_ipv4(ip.get(i)?)?;
            Some(i64::from(x & mask(p)))
        })
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_parse_ipv4() -> Spec {
    Spec {
        name: "kql_parse_ipv4",
        coerce: |n, t| all_text(n, t, 1, 1),
        ret: ret_i64,
        ret_field: None,
        invoke: parse_ipv4_fn,
    }
}

/// Whether `text` holds `ip` as a whole address: the characters around it are neither letters
/// nor digits, nor a dot that continues a dotted number (`1.2.3.4.5` holds no `2.3.4.5`).
fn holds_address(text: &str, ip: &str) -> bool {
    let b = text.as_bytes();
    let mut from = 0;
    while let Some(p) = text[from..].find(ip) {
        let at = from + p;
        let end = at + ip.len();
        let before_ok = at == 0
            || !(b[at - 1].is_ascii_alphanumeric()
                || (b[at - 1] == b'.' && at >= 2 && b[at - 2].is_ascii_digit()));
        let after_ok = end == b.len()
            || !(b[end].is_ascii_alphanumeric()
                || (b[end] == b'.' && b.get(end + 1).is_some_and(u8::is_ascii_digit)));
        if before_ok && after_ok {
            return true;
        }
        from = at + 1;
    }
    false
}

/// `10.`, `10.1.`, `10.1.2.`: one to three parts of an address (each 0 to 255), each followed by a dot.
fn is_ipv4_prefix(p: &str) -> bool {
    let Some(parts) = p.strip_suffix('.') else {
        return false;
    };
    let parts: Vec<&str> = parts.split('.').collect();
    parts.len() <= 3
        && parts
            .iter()
            .all(|x| !x.is_empty() && x.len() <= 3 && x.parse::<u8>().is_ok())
}

/// Whether `text` holds a whole IPv4 address that starts with `prefix` (which ends with a dot).
fn holds_prefix(text: &str, prefix: &str) -> bool {
    let b = text.as_bytes();
    let mut from = 0;
    while let Some(p) = text[from..].find(prefix) {
        let at = from + p;
        let before_ok = at == 0
            || !(b[at - 1].is_ascii_alphanumeric()
                || (b[at - 1] == b'.' && at >= 2 && b[at - 2].is_ascii_digit()));
        // The address runs over the digits and dots that follow; a final dot ends a sentence.
        let mut end = at + prefix.len();
        while end < b.len() && (b[end].is_ascii_digit() || b[end] == b'.') {
            end += 1;
        }
        let candidate = text[at..end].trim_end_matches('.');
        let after_ok = end == b.len() || !b[end].is_ascii_alphanumeric();
        if before_ok && after_ok && candidate.parse::<Ipv4Addr>().is_ok() {
            return true;
        }
        from = at + 1;
    }
    false
}

/// `has_any_ipv4(text, ip1, ip2, ...)` (<https://learn.microsoft.com/kusto/query/has-any-ipv4-function>):
/// whether any of the addresses appears in `text`, delimited by characters that are not letters
/// or digits. Each address argument is an address or a dynamic array of addresses; arguments
/// that are not valid IPv4 addresses (`127.0.0.256`) never match. Null text gives false.
fn has_any_ipv4(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    has_any_ipv4_or_prefix(args, false)
}

/// `has_any_ipv4_prefix(text, prefix1, ...)` (<https://learn.microsoft.com/kusto/query/has-any-ipv4-prefix-function>):
/// whether `text` holds an IPv4 address that starts with any of the prefixes. A prefix is a whole
/// address or the first one to three parts ending with a dot (`10.`, `192.168.`); others never
/// match.
fn has_any_ipv4_prefix(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    has_any_ipv4_or_prefix(args, true)
}

fn has_any_ipv4_or_prefix(args: &ScalarFunctionArgs, prefixes: bool) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let text = StrArg::new(&args.args[0])?;
    let ips: Vec<StrArg> = args.args[1..]
        .iter()
        .map(StrArg::new)
        .collect::<Result<_>>()?;
    let all_scalar = ips.iter().all(|a| a.scalar().is_some());
    let collect = |i: usize| -> Vec<String> {
        let mut out = Vec::new();
        for a in &ips {
            let Some(v) = a.get(i) else { continue };
            let items: Vec<String> = match serde_json::from_str::<serde_json::Value>(v) {
                Ok(serde_json::Value::Array(items)) => items
                    .into_iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect(),
                Ok(serde_json::Value::String(s)) => vec![s],
                _ => vec![v.to_string()],
            };
            for it in items {
                let it = it.trim();
                if let Ok(addr) = it.parse::<Ipv4Addr>() {
                    out.push(addr.to_string());
                } else if prefixes && is_ipv4_prefix(it) {
                    out.push(it.to_string());
                }
            }
        }
        out
    };
    let fixed = all_scalar.then(|| collect(0));
    let out: BooleanArray = (0..rows.n)
        .map(|i| {
            let Some(t) = text.get(i) else {
                return Some(false);
            };
            let owned;
            let list = match &fixed {
                Some(l) => l,
                None => {
                    owned = collect(i);
                    &owned
                }
            };
            Some(list.iter().any(|ip| {
                if ip.ends_with('.') {
                    holds_prefix(t, ip)
                } else {
                    holds_address(t, ip)
                }
            }))
        })
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_has_any_ipv4() -> Spec {
    Spec {
        name: "kql_has_any_ipv4",
        coerce: |n, t| all_text(n, t, 2, usize::MAX),
        ret: ret_bool,
        ret_field: None,
        invoke: has_any_ipv4,
    }
}

pub(crate) fn kql_has_any_ipv4_prefix() -> Spec {
    Spec {
        name: "kql_has_any_ipv4_prefix",
        coerce: |n, t| all_text(n, t, 2, usize::MAX),
        ret: ret_bool,
        ret_field: None,
        invoke: has_any_ipv4_prefix,
    }
}

/// `geo_info_from_ip_address(ip)`: always an empty property bag `{}`. Kusto looks the address up
/// in a geolocation database; spoor carries no geo database, so there is nothing to report.
pub(crate) fn kql_geo_info_from_ip_address() -> Spec {
    Spec {
        name: "kql_geo_info_from_ip_address",
        coerce: |n, t| all_text(n, t, 1, 1),
        ret: ret_utf8,
        ret_field: None,
        invoke: |a| {
            let rows = Rows::of(&a.args, a.number_rows);
            let out: StringArray = (0..rows.n).map(|_| Some("{}")).collect();
            rows.finish(Arc::new(out))
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn doc_examples() {
        assert_eq!(ipv4_compare("192.168.1.1", "192.168.1.255", None), Some(-1));
        assert_eq!(
            ipv4_compare("192.168.1.1/24", "192.168.1.255/24", None),
            Some(0)
        );
        assert_eq!(
            ipv4_compare("192.168.1.1", "192.168.1.255", Some(24)),
            Some(0)
        );
        assert_eq!(
            ipv4_compare("192.168.1.1/24", "192.168.1.255", Some(31)),
            Some(0)
        );
        assert_eq!(ipv4_compare("192.168.2.1", "192.168.1.255", None), Some(1));
        assert_eq!(ipv4_compare("x", "192.168.1.255", None), None);
        assert_eq!(ipv4_is_private("192.168.1.1/24"), Some(true));
        assert_eq!(ipv4_is_private("10.1.2.3/24"), Some(true));
        assert_eq!(ipv4_is_private("202.1.2.3"), Some(false));
        assert_eq!(ipv4_is_private("127.0.0.1"), Some(false));
        assert_eq!(ipv4_is_private("172.31.255.255"), Some(true));
        assert_eq!(ipv4_is_private("172.32.0.1"), Some(false));
        assert_eq!(ipv4_is_private("10.0.0.0/7"), Some(false));
        assert_eq!(
            call_bool(
                kql_ipv4_is_in_range(),
                &[lit("192.168.1.6"), lit("192.168.1.1/24")]
            ),
            vec![Some(true)]
        );
        assert_eq!(
            call_bool(
                kql_ipv4_is_in_range(),
                &[lit("192.168.2.6"), lit("192.168.1.1/24")]
            ),
            vec![Some(false)]
        );
        assert_eq!(
            call_bool(
                kql_ipv4_is_match(),
                &[lit("192.168.1.1"), lit("192.168.1.255"), int(24)]
            ),
            vec![Some(true)]
        );
        assert_eq!(
            call_bool(
                kql_ipv4_is_match(),
                &[lit("192.168.1.1"), lit("192.168.1.255")]
            ),
            vec![Some(false)]
        );
        assert_eq!(
            call_i64(
                kql_ipv4_compare(),
                &[s(&[Some("10.0.0.1"), None]), lit("10.0.0.2")]
            ),
            vec![Some(-1), None]
        );
        assert_eq!(
            call_bool(
                kql_ipv4_is_private(),
                &[s(&[Some("10.0.0.1"), Some("8.8.8.8"), Some("")])]
            ),
            vec![Some(true), Some(false), None]
        );
    }

    #[test]
    fn parse_ipv4_doc_examples() {
        assert_eq!(
            call_i64(
                kql_parse_ipv4(),
                &[s(&[
                    Some("127.0.0.1"),
                    Some("192.168.1.1"),
                    Some("192.168.1.1/24"),
                    Some("255.255.255.255/31"),
                    Some("127.0.0.256"),
                    None
                ])]
            ),
            vec![
                Some(2130706433),
                Some(3232235777),
                Some(3232235776),
                Some(4294967294),
                None,
                None
            ]
        );
    }

    #[test]
    fn has_any_ipv4_prefix_doc_examples() {
        let h = |args: &[ColumnarValue]| call_bool(kql_has_any_ipv4_prefix(), args)[0];
        let log = "05:04:54 127.0.0.1 GET /favicon.ico 404";
        assert_eq!(h(&[lit(log), lit("127.0."), lit("192.168.")]), Some(true));
        assert_eq!(h(&[lit(log), lit(r#"["127.0.", "192.168."]"#)]), Some(true));
        assert_eq!(h(&[lit(log), lit("127.0.0.1")]), Some(true));
        assert_eq!(
            h(&[
                lit("05:04:54 127.0.0.256 GET /favicon.ico 404"),
                lit("127.0.")
            ]),
            Some(false)
        );
        assert_eq!(
            h(&[lit("05:04:54127.0.0.1 GET"), lit("127.0.")]),
            Some(false)
        );
        // A prefix must end with a dot or be a whole address.
        assert_eq!(h(&[lit(log), lit("127.0")]), Some(false));
        assert_eq!(h(&[lit("x 192.168.10.5 y"), lit("10.")]), Some(false));
        assert_eq!(h(&[lit("at 10.1.1.115."), lit("10.1.")]), Some(true));
        assert_eq!(h(&[lit("10.1.1.1155"), lit("10.1.")]), Some(false));
        assert_eq!(h(&[lit("10.1.1.15"), lit("10.1.1.1")]), Some(false));
    }

    #[test]
    fn has_any_ipv4_doc_examples() {
        let log = "05:04:54 127.0.0.1 GET /favicon.ico 404";
        let h = |args: &[ColumnarValue]| call_bool(kql_has_any_ipv4(), args)[0];
        assert_eq!(
            h(&[lit(log), lit("127.0.0.1"), lit("127.0.0.2")]),
            Some(true)
        );
        assert_eq!(
            h(&[lit(log), lit(r#"["127.0.0.1","127.0.0.2"]"#)]),
            Some(true)
        );
        assert_eq!(
            h(&[
                lit("05:04:54 127.0.0.256 GET /favicon.ico 404"),
                lit(r#"["127.0.0.256","192.168.1.1"]"#)
            ]),
            Some(false)
        );
        assert_eq!(
            h(&[
                lit("05:04:54127.0.0.1 GET /favicon.ico 404"),
                lit("127.0.0.1"),
                lit("192.168.1.1")
            ]),
            Some(false)
        );
        assert_eq!(
            h(&[
                lit("requests from: 192.168.1.1, 10.1.1.115 and 10.1.1.201"),
                lit("10.1.1.115")
            ]),
            Some(true)
        );
        assert_eq!(h(&[lit("x 10.1.1.1155 y"), lit("10.1.1.115")]), Some(false));
        assert_eq!(h(&[lit("x 1.10.1.1.115"), lit("10.1.1.115")]), Some(false));
        assert_eq!(h(&[lit("at 10.1.1.115."), lit("10.1.1.115")]), Some(true));
        assert_eq!(
            call_bool(
                kql_has_any_ipv4(),
                &[
                    s(&[Some("a 1.2.3.4"), None]),
                    s(&[Some("1.2.3.4"), Some("1.2.3.4")])
                ]
            ),
            vec![Some(true), Some(false)]
        );
        assert_eq!(
            str1(kql_geo_info_from_ip_address(), &[lit("20.53.203.50")]).as_deref(),
            Some("{}")
        );
    }
}
