//! Values and patterns as text, shared by the writers.

use datafusion::arrow::datatypes::DataType;

/// SQL's `LIKE` pattern as an anchored regular expression: `%` is `.*`, `_` is `.`, the escape
/// character (a backslash when none is given, as in arrow's `like` kernel) takes the next
/// character literally; a trailing one is itself.
pub(crate) fn like_to_regex(pattern: &str, escape: Option<char>, case_insensitive: bool) -> String {
    let escape = escape.unwrap_or('\\');
    let mut out = String::from(if case_insensitive { "(?is)^" } else { "(?s)^" });
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c == escape => {
                let next = chars.next().unwrap_or(c);
                out.push_str(&regex_escape(&next.to_string()));
            }
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            c => out.push_str(&regex_escape(&c.to_string())),
        }
    }
    out.push('$');
    out
}

/// Text matched literally in a regular expression: the regex crate's escaping, whose
/// backslashed punctuation RE2 (KQL, Sumo), PCRE (Splunk) and Java (Athena) read alike.
pub(crate) fn regex_escape(text: &str) -> String {
    regex::escape(text)
}

/// A regex replacement in DataFusion's form (`${1}`, `$$`) in RE2's (`\\1`, `$`).
pub(crate) fn rewrite_as_backslashes(rewrite: &str) -> String {
    let mut out = String::new();
    let mut rest = rewrite;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if let Some(inner) = rest.strip_prefix('{')
            && let Some(end) = inner.find('}')
            && inner[..end].chars().all(|c| c.is_ascii_digit())
        {
            out.push('\\');
            out.push_str(&inner[..end]);
            rest = &inner[end + 1..];
        } else {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            out.push(if digits.is_empty() { '$' } else { '\\' });
            out.push_str(&digits);
            rest = &rest[digits.len()..];
        }
    }
    out.push_str(rest);
    out
}

/// KQL's `has` as a regular expression: the needle as whole terms (runs of letters and digits);
/// an end of the needle that is a letter or digit needs a term boundary there.
pub(crate) fn has_regex(needle: &str, case_insensitive: bool) -> String {
    let term_char = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    let before = if term_char(needle.chars().next()) {
        r"(^|[^\p{L}\p{N}])"
    } else {
        ""
    };
    let after = if term_char(needle.chars().next_back()) {
        r"($|[^\p{L}\p{N}])"
    } else {
        ""
    };
    format!(
        "{}{before}{}{after}",
        if case_insensitive { "(?i)" } else { "" },
        regex_escape(needle)
    )
}

/// Whether every value of integer type `from` is a value of integer type `to`.
pub(crate) fn widens(from: &DataType, to: &DataType) -> bool {
    let bits = |t: &DataType| match t {
        DataType::Int8 | DataType::UInt8 => 8,
        DataType::Int16 | DataType::UInt16 => 16,
        DataType::Int32 | DataType::UInt32 => 32,
        _ => 64,
    };
    let signed = |t: &DataType| t.is_signed_integer();
    match (signed(from), signed(to)) {
        (true, true) | (false, false) => bits(from) <= bits(to),
        (false, true) => bits(from) < bits(to),
        (true, false) => false,
    }
}

/// A real number, always written so that it reads back as one (`real(1)`, `real(0.5)`).
pub(crate) fn real(f: f64) -> String {
    if f.is_nan() {
        "real(nan)".into()
    } else if f.is_infinite() {
        if f > 0.0 { "real(+inf)" } else { "real(-inf)" }.into()
    } else {
        format!("real({f})")
    }
}

/// A UTC time as ISO 8601 with as many fraction digits as it needs.
pub(crate) fn datetime(ns: i64) -> String {
    let t = datafusion::arrow::temporal_conversions::timestamp_ns_to_datetime(ns)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string());
    t.unwrap_or_else(|| ns.to_string())
}

/// A span in the largest of `units` (size in ns, suffix) that divides it (`1d`, `90m`).
pub(crate) fn in_largest_unit(ns: i64, units: &[(i64, &str)]) -> Option<String> {
    units
        .iter()
        .find(|(size, _)| ns % size == 0)
        .map(|(size, unit)| format!("{}{unit}", ns / size))
}

/// A KQL timespan literal in the largest unit that divides it (`1d`, `90m`, `250ms`).
pub(crate) fn timespan(ns: i64) -> Result<String, String> {
    const UNITS: &[(i64, &str)] = &[
        (86_400_000_000_000, "d"),
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "microsecond"),
        (100, "tick"),
    ];
    if ns == 0 {
        return Ok("0s".into());
    }
    let text = in_largest_unit(ns.abs(), UNITS)
        .ok_or_else(|| format!("a timespan of {ns} ns (KQL's smallest unit is 100 ns)"))?;
    Ok(if ns < 0 { format!("(-{text})") } else { text })
}

/// Text in double quotes with C's escapes (`\"`, `\\`, `\n`, `\r`, `\t`), as KQL and ES|QL
/// read their plain string literals.
pub(crate) fn c_escaped(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The infix operators that KQL, SPL's eval and ES|QL spell alike (comparison and arithmetic).
pub(crate) fn c_like_infix(op: datafusion::logical_expr::Operator) -> Option<&'static str> {
    use datafusion::logical_expr::Operator as O;
    Some(match op {
        O::Eq => "==",
        O::NotEq => "!=",
        O::Lt => "<",
        O::LtEq => "<=",
        O::Gt => ">",
        O::GtEq => ">=",
        O::Plus => "+",
        O::Minus => "-",
        O::Multiply => "*",
        O::Divide => "/",
        O::Modulo => "%",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_become_anchored_regexes() {
        assert_eq!(like_to_regex("10.0.%", None, false), "(?s)^10\\.0\\..*$");
        assert_eq!(like_to_regex("a_b!%", Some('!'), true), "(?is)^a.b%$");
        assert_eq!(like_to_regex(r"%\\%\_x\", None, false), r"(?s)^.*\\.*_x\\$");
    }

    #[test]
    fn rewrites_use_backslash_groups() {
        assert_eq!(rewrite_as_backslashes("${1}-$2 $$"), "\\1-\\2 $");
    }

    #[test]
    fn timespans_use_the_largest_unit() {
        assert_eq!(timespan(86_400_000_000_000).unwrap(), "1d");
        assert_eq!(timespan(5_400_000_000_000).unwrap(), "90m");
        assert_eq!(timespan(250_000_000).unwrap(), "250ms");
        assert!(timespan(5).is_err());
    }
}
