//! IPv6 ranges: `ipv6_is_in_range` (<https://learn.microsoft.com/kusto/query/ipv6-is-in-range-function>).
//! The range is an address with an optional `/prefix`; an IPv4 address is read as its
//! IPv4-mapped IPv6 form (`::ffff:a.b.c.d`), as Kusto reads it. Text that is not an address
//! gives null.

use std::net::IpAddr;
use std::sync::Arc;

use datafusion::arrow::array::BooleanArray;
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};

use crate::args::{Rows, StrArg, all_text};
use crate::udf::{Spec, ret_bool};

/// `addr[/p]` as (address, prefix length); IPv4 mapped into IPv6 (its prefix moved by 96).
pub fn parse_ipv6(s: &str) -> Option<(u128, u8)> {
    let s = s.trim();
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a.trim(), Some(p.trim().parse::<u8>().ok()?)),
        None => (s, None),
    };
    let (bits, max, offset) = match addr.parse::<IpAddr>().ok()? {
        IpAddr::V6(a) => (u128::from(a), 128, 0),
        IpAddr::V4(a) => (u128::from(a.to_ipv6_mapped()), 32, 96),
    };
    let prefix = prefix.unwrap_or(max);
    (prefix <= max).then_some((bits, prefix + offset))
}

fn mask(prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix))
    }
}

/// Whether `ip` lies in `range`.
pub fn ipv6_is_in_range(ip: &str, range: &str) -> Option<bool> {
    let (x, _) = parse_ipv6(ip)?;
    let (net, p) = parse_ipv6(range)?;
    Some(x & mask(p) == net & mask(p))
}

fn in_range(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let ip = StrArg::new(&args.args[0])?;
    let range = StrArg::new(&args.args[1])?;
    let out: BooleanArray = (0..rows.n)
        .map(|i| ipv6_is_in_range(ip.get(i)?, range.get(i)?))
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_ipv6_is_in_range() -> Spec {
    Spec {
        name: "kql_ipv6_is_in_range",
        coerce: |n, t| all_text(n, t, 2, 2),
        ret: ret_bool,
        ret_field: None,
        invoke: in_range,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn doc_examples_and_mapped_ipv4() {
        // From the Kusto documentation's examples.
        assert_eq!(
            ipv6_is_in_range(
                "a5e:f127:8a9d:146d:e102:b5d3:c755:f6cd",
                "a5e:f127:8a9d:146d:e102:b5d3:c755:0000/112"
            ),
            Some(true)
        );
        assert_eq!(
            ipv6_is_in_range(
                "a5e:f127:8a9d:146d:e102:b5d3:c755:f6cd",
                "a5e:f127:8a9d:146d:e102:b5d3:c755:f6cd"
            ),
            Some(true)
        );
        assert_eq!(
            ipv6_is_in_range(
                "a5e:f127:8a9d:146d:e102:b5d3:c755:f6cd",
                "a5e:f127:8a9d:146d:e102:b5d3:c755:f6ce"
            ),
            Some(false)
        );
        assert_eq!(ipv6_is_in_range("fe80::1", "fe80::/10"), Some(true));
        assert_eq!(ipv6_is_in_range("fec0::1", "fe80::/10"), Some(false));
        assert_eq!(ipv6_is_in_range("10.1.2.3", "10.0.0.0/8"), Some(true));
        assert_eq!(
            ipv6_is_in_range("::ffff:10.1.2.3", "10.0.0.0/8"),
            Some(true)
        );
        assert_eq!(ipv6_is_in_range("11.1.2.3", "10.0.0.0/8"), Some(false));
        assert_eq!(ipv6_is_in_range("x", "fe80::/10"), None);
        assert_eq!(ipv6_is_in_range("fe80::1", "fe80::/129"), None);
        assert_eq!(
            call_bool(
                kql_ipv6_is_in_range(),
                &[
                    s(&[Some("fe80::1"), None, Some("2001:db8::1")]),
                    lit("fe80::/10")
                ]
            ),
            vec![Some(true), None, Some(false)]
        );
    }
}
