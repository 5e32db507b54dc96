//! More string functions: `countof`, `indexof`, `indexof_regex`, `reverse`, `isascii`,
//! `isutf8`, `string_size`, `url_encode`, `url_decode`, `base64_encode_tostring`,
//! `base64_decode_tostring`, `base64_decode_toarray`, `tohex`, `hash_sha256`, `hash_md5`,
//! `translate`, `unicode_codepoints_to_string` (`make_string`).
//!
//! Positions and lengths count characters (Unicode scalar values), as Kusto's do for text
//! without surrogate pairs.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use datafusion::arrow::array::{BooleanArray, Int64Array, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};
use md5::Md5;
use regex::Regex;
use sha2::{Digest, Sha256};

use crate::args::{I64Arg, Rows, StrArg, all_text, arity};
use crate::convert::{AnyArg, any_scalar_type};
use crate::regex_fns::RegexCache;
use crate::udf::{Spec, ret_bool, ret_i64, ret_utf8};

/// Text in, text out, one row at a time; a null input is the empty string, as in Kusto.
fn map_text(
    args: &ScalarFunctionArgs,
    f: impl Fn(&str) -> Option<String>,
) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let a = AnyArg::new(&args.args[0])?;
    let out: StringArray = (0..rows.n)
        .map(|i| f(&a.to_kql_string(i).unwrap_or_default()))
        .collect();
    rows.finish(Arc::new(out))
}

fn one_any(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    arity(name, t, 1, 1)?;
    Ok(vec![any_scalar_type(&t[0])])
}

fn text_spec(name: &'static str, invoke: crate::udf::InvokeFn) -> Spec {
    Spec {
        name,
        coerce: one_any,
        ret: ret_utf8,
        ret_field: None,
        invoke,
    }
}

// ---------------------------------------------------------------------------------------------
// countof
// ---------------------------------------------------------------------------------------------

/// `countof(source, search)`, kind `normal` (<https://learn.microsoft.com/kusto/query/countof-function>):
/// plain matches may overlap (`countof("aaaa", "aa")` is 3). An empty search counts 0.
pub fn countof_plain(text: &str, search: &str) -> i64 {
    if search.is_empty() {
        return 0;
    }
    let mut n = 0;
    let mut from = 0;
    while let Some(p) = text[from..].find(search) {
        n += 1;
        let at = from + p;
        from = at + text[at..].chars().next().map_or(1, char::len_utf8);
    }
    n
}

fn countof(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let text = StrArg::new(&args.args[0])?;
    let search = StrArg::new(&args.args[1])?;
    let kind = args.args.get(2).map(StrArg::new).transpose()?;
    let mut cache = RegexCache::default();
    let mut out = Vec::with_capacity(rows.n);
    for i in 0..rows.n {
        let t = text.get(i).unwrap_or("");
        let Some(s) = search.get(i) else {
            out.push(None);
            continue;
        };
        let k = kind.as_ref().and_then(|k| k.get(i)).unwrap_or("normal");
        out.push(Some(match k.to_ascii_lowercase().as_str() {
            "normal" => countof_plain(t, s),
            "regex" => cache.get(s)?.find_iter(t).count() as i64,
            other => return exec_err!("countof: kind must be 'normal' or 'regex', got '{other}'"),
        }));
    }
    rows.finish(Arc::new(Int64Array::from(out)))
}

pub(crate) fn kql_countof() -> Spec {
    Spec {
        name: "kql_countof",
        coerce: |n, t| all_text(n, t, 2, 3),
        ret: ret_i64,
        ret_field: None,
        invoke: countof,
    }
}

// ---------------------------------------------------------------------------------------------
// indexof, indexof_regex
// ---------------------------------------------------------------------------------------------

/// Byte offset of character `c` (the end of the text when past it).
fn byte_at(s: &str, c: usize) -> usize {
    s.char_indices().nth(c).map_or(s.len(), |(b, _)| b)
}

/// Character index of byte offset `b`.
fn char_at(s: &str, b: usize) -> usize {
    s[..b].chars().count()
}

/// `indexof(string, match[, start[, length[, occurrence]]])`
/// (<https://learn.microsoft.com/kusto/query/indexof-function>). A negative `start` counts from
/// the end (the page's `indexof("abcdefg", "cde", -5)` is 2); the match must lie within `length`
/// characters from where the search starts (-1: no limit), and each further occurrence is
/// searched from one past the previous one with the same `length` (so
/// `indexof("abcdefgabcdefg", "cde", 1, 10, 2)` is 9). `None` (null) when `occurrence` < 1 or
/// `length` < -1; -1 when not found.
pub fn indexof(s: &str, lookup: &str, start: i64, length: i64, occurrence: i64) -> Option<i64> {
    if occurrence < 1 || length < -1 {
        return None;
    }
    let n = s.chars().count() as i64;
    let mut from = if start < 0 { (n + start).max(0) } else { start };
    for k in 1..=occurrence {
        if from > n {
            return Some(-1);
        }
        let end = if length == -1 {
            n
        } else {
            from.saturating_add(length).min(n)
        };
        let (b0, b1) = (byte_at(s, from as usize), byte_at(s, end as usize));
        let Some(p) = s[b0..b1].find(lookup) else {
            return Some(-1);
        };
        let at = char_at(s, b0 + p) as i64;
        if k == occurrence {
            return Some(at);
        }
        from = at + 1;
    }
    Some(-1)
}

/// `indexof_regex(string, match[, start[, length[, occurrence]]])`
/// (<https://learn.microsoft.com/kusto/query/indexof-regex-function>): matches do not overlap;
/// a negative `start` gives null.
pub fn indexof_regex(s: &str, re: &Regex, start: i64, length: i64, occurrence: i64) -> Option<i64> {
    if start < 0 || occurrence < 1 || length < -1 {
        return None;
    }
    let n = s.chars().count() as i64;
    if start > n {
        return Some(-1);
    }
    let end = if length == -1 {
        n
    } else {
        start.saturating_add(length).min(n)
    };
    let (b0, b1) = (byte_at(s, start as usize), byte_at(s, end as usize));
    match re.find_iter(&s[b0..b1]).nth((occurrence - 1) as usize) {
        Some(m) => Some(char_at(s, b0 + m.start()) as i64),
        None => Some(-1),
    }
}

fn indexof_fn(args: &ScalarFunctionArgs, regex: bool) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let text = StrArg::new(&args.args[0])?;
    let lookup = StrArg::new(&args.args[1])?;
    let nums: Vec<I64Arg> = args.args[2..]
        .iter()
        .map(I64Arg::new)
        .collect::<Result<_>>()?;
    let mut cache = RegexCache::default();
    let mut out = Vec::with_capacity(rows.n);
    for i in 0..rows.n {
        let t = text.get(i).unwrap_or("");
        let Some(l) = lookup.get(i) else {
            out.push(None);
            continue;
        };
        let num = |k: usize, default: i64| nums.get(k).map_or(Some(default), |a| a.get(i));
        let (Some(start), Some(len), Some(occ)) = (num(0, 0), num(1, -1), num(2, 1)) else {
            out.push(None);
            continue;
        };
        out.push(if regex {
            indexof_regex(t, cache.get(l)?, start, len, occ)
        } else {
            indexof(t, l, start, len, occ)
        });
    }
    rows.finish(Arc::new(Int64Array::from(out)))
}

fn coerce_indexof(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    arity(name, t, 2, 5)?;
    Ok((0..t.len())
        .map(|i| {
            if i < 2 {
                DataType::Utf8
            } else {
                DataType::Int64
            }
        })
        .collect())
}

pub(crate) fn kql_indexof() -> Spec {
    Spec {
        name: "kql_indexof",
        coerce: coerce_indexof,
        ret: ret_i64,
        ret_field: None,
        invoke: |a| indexof_fn(a, false),
    }
}

pub(crate) fn kql_indexof_regex() -> Spec {
    Spec {
        name: "kql_indexof_regex",
        coerce: coerce_indexof,
        ret: ret_i64,
        ret_field: None,
        invoke: |a| indexof_fn(a, true),
    }
}

// ---------------------------------------------------------------------------------------------
// reverse, isascii, isutf8, string_size
// ---------------------------------------------------------------------------------------------

/// `reverse(value)`: the characters in reverse order; a non-string is converted with `tostring`.
pub(crate) fn kql_reverse() -> Spec {
    text_spec("kql_reverse", |a| {
        map_text(a, |s| Some(s.chars().rev().collect()))
    })
}

fn text_pred(args: &ScalarFunctionArgs, f: fn(&str) -> bool) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let a = StrArg::new(&args.args[0])?;
    let out: BooleanArray = (0..rows.n)
        .map(|i| Some(f(a.get(i).unwrap_or(""))))
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_isascii() -> Spec {
    Spec {
        name: "kql_isascii",
        coerce: |n, t| all_text(n, t, 1, 1),
        ret: ret_bool,
        ret_field: None,
        invoke: |a| text_pred(a, |s| s.is_ascii()),
    }
}

/// `isutf8(value)`: Arrow text is always valid UTF-8 (invalid bytes were replaced with U+FFFD
/// when the log was read), so this is true except for text holding U+FFFD.
pub(crate) fn kql_isutf8() -> Spec {
    Spec {
        name: "kql_isutf8",
        coerce: |n, t| all_text(n, t, 1, 1),
        ret: ret_bool,
        ret_field: None,
        invoke: |a| text_pred(a, |s| !s.contains('\u{FFFD}')),
    }
}

/// `string_size(value)`: the size in bytes (UTF-8).
fn string_size(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let a = AnyArg::new(&args.args[0])?;
    let out: Int64Array = (0..rows.n)
        .map(|i| Some(a.to_kql_string(i).map_or(0, |s| s.len() as i64)))
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_string_size() -> Spec {
    Spec {
        name: "kql_string_size",
        coerce: one_any,
        ret: ret_i64,
        ret_field: None,
        invoke: string_size,
    }
}

// ---------------------------------------------------------------------------------------------
// url_encode, url_decode
// ---------------------------------------------------------------------------------------------

/// `url_encode(url)` (<https://learn.microsoft.com/kusto/query/url-encode-function>): form
/// encoding as .NET's `HttpUtility.UrlEncode`: letters, digits and `-_.!*()` stay, a space
/// becomes `+`, every other UTF-8 byte `%xx` in lowercase hex
/// (`https%3a%2f%2fwww.bing.com%2fhello+world`).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z'
            | b'A'..=b'Z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'!'
            | b'*'
            | b'('
            | b')' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02x}")),
        }
    }
    out
}

/// `url_decode(url)`: `%xx` sequences decoded and `+` as a space; bytes that are not UTF-8
/// become U+FFFD.
pub fn url_decode(s: &str) -> String {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8_lossy()
        .into_owned()
}

pub(crate) fn kql_url_encode() -> Spec {
    text_spec("kql_url_encode", |a| map_text(a, |s| Some(url_encode(s))))
}

pub(crate) fn kql_url_decode() -> Spec {
    text_spec("kql_url_decode", |a| map_text(a, |s| Some(url_decode(s))))
}

// ---------------------------------------------------------------------------------------------
// base64
// ---------------------------------------------------------------------------------------------

/// Decodes base64; surrounding whitespace is ignored. `None` when it is not base64.
fn b64_decode(s: &str) -> Option<Vec<u8>> {
    STANDARD.decode(s.trim()).ok()
}

pub(crate) fn kql_base64_encode_tostring() -> Spec {
    text_spec("kql_base64_encode_tostring", |a| {
        map_text(a, |s| Some(STANDARD.encode(s.as_bytes())))
    })
}

/// `base64_decode_tostring(s)`: null when `s` is not base64 or its bytes are not UTF-8
/// (<https://learn.microsoft.com/kusto/query/base64-decode-tostring-function>).
pub(crate) fn kql_base64_decode_tostring() -> Spec {
    text_spec("kql_base64_decode_tostring", |a| {
        map_text(a, |s| String::from_utf8(b64_decode(s)?).ok())
    })
}

/// `base64_decode_toarray(s)`: the bytes as a dynamic array of numbers (`"S3VzdG8="` is
/// `[75,117,115,116,111]`); null when `s` is not base64.
pub(crate) fn kql_base64_decode_toarray() -> Spec {
    text_spec("kql_base64_decode_toarray", |a| {
        map_text(a, |s| {
            let bytes = b64_decode(s)?;
            Some(serde_json::Value::from(bytes).to_string())
        })
    })
}

// ---------------------------------------------------------------------------------------------
// tohex
// ---------------------------------------------------------------------------------------------

/// `tohex(value[, minLength])` (<https://learn.microsoft.com/kusto/query/tohex-function>):
/// lowercase hex; a negative int is its 32-bit two's complement, a negative long its 64-bit
/// one. `minLength` (capped at 16) pads with leading zeros.
pub fn tohex(v: i64, is_int: bool, min_len: i64) -> String {
    let s = if is_int {
        format!("{:x}", v as i32 as u32)
    } else {
        format!("{:x}", v as u64)
    };
    let width = min_len.clamp(0, 16) as usize;
    format!("{s:0>width$}")
}

fn tohex_fn(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let is_int = args.args[0].data_type() == DataType::Int32;
    let v = I64Arg::new(&args.args[0])?;
    let min = args.args.get(1).map(I64Arg::new).transpose()?;
    let out: StringArray = (0..rows.n)
        .map(|i| {
            let m = match &min {
                Some(m) => m.get(i)?,
                None => 0,
            };
            Some(tohex(v.get(i)?, is_int, m))
        })
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_tohex() -> Spec {
    Spec {
        name: "kql_tohex",
        coerce: |n, t| {
            arity(n, t, 1, 2)?;
            let first = match &t[0] {
                DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::UInt8
                | DataType::UInt16 => DataType::Int32,
                _ => DataType::Int64,
            };
            let mut v = vec![first];
            if t.len() == 2 {
                v.push(DataType::Int64);
            }
            Ok(v)
        },
        ret: ret_utf8,
        ret_field: None,
        invoke: tohex_fn,
    }
}

// ---------------------------------------------------------------------------------------------
// hash_sha256, hash_md5
// ---------------------------------------------------------------------------------------------

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `hash_sha256(source)`: lowercase hex of the SHA-256 of the UTF-8 text (a non-string is
/// converted with `tostring`; null hashes as `""`).
pub(crate) fn kql_hash_sha256() -> Spec {
    text_spec("kql_hash_sha256", |a| {
        map_text(a, |s| Some(hex(&Sha256::digest(s.as_bytes()))))
    })
}

/// `hash_md5(source)`: lowercase hex of the MD5 of the UTF-8 text.
pub(crate) fn kql_hash_md5() -> Spec {
    text_spec("kql_hash_md5", |a| {
        map_text(a, |s| Some(hex(&Md5::digest(s.as_bytes()))))
    })
}

// ---------------------------------------------------------------------------------------------
// translate
// ---------------------------------------------------------------------------------------------

/// `translate(searchList, replacementList, source)`
/// (<https://learn.microsoft.com/kusto/query/translate-function>): every character of `source`
/// found in `searchList` (its first occurrence there) becomes the character at the same
/// position of `replacementList`, or the last one when that list is shorter
/// (`translate("abc", "x", "abc")` is "xxx"); an empty `replacementList` removes them
/// (`translate("abc", "", "ab")` is "").
pub fn translate(search: &str, replacement: &str, source: &str) -> String {
    let search: Vec<char> = search.chars().collect();
    let replacement: Vec<char> = replacement.chars().collect();
    source
        .chars()
        .filter_map(|c| match search.iter().position(|s| *s == c) {
            None => Some(c),
            Some(_) if replacement.is_empty() => None,
            Some(i) => Some(replacement[i.min(replacement.len() - 1)]),
        })
        .collect()
}

pub(crate) fn kql_translate() -> Spec {
    Spec {
        name: "kql_translate",
        coerce: |n, t| all_text(n, t, 3, 3),
        ret: ret_utf8,
        ret_field: None,
        invoke: |args| {
            let rows = Rows::of(&args.args, args.number_rows);
            let search = StrArg::new(&args.args[0])?;
            let replacement = StrArg::new(&args.args[1])?;
            let source = StrArg::new(&args.args[2])?;
            let out: StringArray = (0..rows.n)
                .map(|i| {
                    Some(translate(
                        search.get(i).unwrap_or(""),
                        replacement.get(i).unwrap_or(""),
                        source.get(i).unwrap_or(""),
                    ))
                })
                .collect();
            rows.finish(Arc::new(out))
        },
    }
}

// ---------------------------------------------------------------------------------------------
// unicode_codepoints_to_string (make_string)
// ---------------------------------------------------------------------------------------------

/// Appends the characters of one argument of `unicode_codepoints_to_string`: a code point or
/// an array of them (arrays may nest). None when a value is not a valid code point.
fn push_codepoints(v: &serde_json::Value, out: &mut String) -> Option<()> {
    match v {
        serde_json::Value::Array(items) => {
            for item in items {
                push_codepoints(item, out)?;
            }
            Some(())
        }
        serde_json::Value::Number(n) => {
            let code = u32::try_from(n.as_i64()?).ok()?;
            out.push(char::from_u32(code)?);
            Some(())
        }
        _ => None,
    }
}

/// `unicode_codepoints_to_string(values, ...)`, formerly `make_string()`
/// (<https://learn.microsoft.com/kusto/query/unicode-codepoints-to-string-function>): the text
/// of the code points given as numbers or dynamic arrays of numbers; null when any value is
/// not a valid code point (or is null).
pub fn codepoints_to_string(values: &[Option<&str>]) -> Option<String> {
    let mut out = String::new();
    for v in values {
        push_codepoints(&crate::dynamic::parse((*v)?)?, &mut out)?;
    }
    Some(out)
}

pub(crate) fn kql_unicode_codepoints_to_string() -> Spec {
    Spec {
        name: "kql_unicode_codepoints_to_string",
        coerce: |n, t| all_text(n, t, 1, 64),
        ret: ret_utf8,
        ret_field: None,
        invoke: |args| {
            let rows = Rows::of(&args.args, args.number_rows);
            let values = args
                .args
                .iter()
                .map(StrArg::new)
                .collect::<Result<Vec<_>>>()?;
            let out: StringArray = (0..rows.n)
                .map(|i| {
                    let row: Vec<Option<&str>> = values.iter().map(|v| v.get(i)).collect();
                    codepoints_to_string(&row)
                })
                .collect();
            rows.finish(Arc::new(out))
        },
    }
}

#[cfg(test)]
mod tests {
    use datafusion::common::ScalarValue;

    use super::*;
    use crate::testing::*;

    #[test]
    fn countof_doc_examples() {
        let c = |a: &[ColumnarValue]| call_i64(kql_countof(), a)[0];
        assert_eq!(c(&[lit("aaa"), lit("a")]), Some(3));
        assert_eq!(c(&[lit("aaaa"), lit("aa")]), Some(3));
        assert_eq!(c(&[lit("ababa"), lit("ab"), lit("normal")]), Some(2));
        assert_eq!(c(&[lit("ababa"), lit("aba")]), Some(2));
        assert_eq!(c(&[lit("ababa"), lit("aba"), lit("regex")]), Some(1));
        assert_eq!(c(&[lit("abcabc"), lit("a.c"), lit("regex")]), Some(2));
        assert_eq!(c(&[lit("ÄÄÄ"), lit("ÄÄ")]), Some(2));
    }

    #[test]
    fn indexof_doc_examples() {
        assert_eq!(indexof("abcdefg", "cde", 0, -1, 1), Some(2));
        assert_eq!(indexof("abcdefg", "cde", 1, 4, 1), Some(2));
        assert_eq!(indexof("abcdefg", "cde", 1, 2, 1), Some(-1));
        assert_eq!(indexof("abcdefg", "cde", 3, 4, 1), Some(-1));
        assert_eq!(indexof("abcdefg", "cde", -5, -1, 1), Some(2));
        assert_eq!(indexof("1234567", "5", 1, 4, 1), Some(4));
        assert_eq!(indexof("abcdefg", "cde", 2, -1, 1), Some(2));
        assert_eq!(indexof("abcdefgabcdefg", "cde", 1, 10, 2), Some(9));
        assert_eq!(indexof("abcdefgabcdefg", "cde", 1, -1, 3), Some(-1));
        assert_eq!(indexof("abc", "b", 0, -2, 1), None);
        assert_eq!(
            call_i64(
                kql_indexof(),
                &[lit("Hello, world, hello!"), lit("lo"), int(5)]
            ),
            vec![Some(17)]
        );
        assert_eq!(
            call_i64(kql_indexof(), &[lit("ÄbcÄbc"), lit("bc"), int(2)]),
            vec![Some(4)]
        );
    }

    #[test]
    fn indexof_regex_doc_examples() {
        let r = |t: &str, p: &str, extra: &[i64]| {
            let mut a = vec![lit(t), lit(p)];
            a.extend(extra.iter().map(|v| int(*v)));
            call_i64(kql_indexof_regex(), &a)[0]
        };
        assert_eq!(r("abcabc", "a.c", &[]), Some(0));
        assert_eq!(r("abcabcdefg", "a.c", &[0, 9, 2]), Some(3));
        assert_eq!(r("abcabc", "a.c", &[1, -1, 2]), Some(-1));
        assert_eq!(r("ababaa", "a.a", &[0, -1, 2]), Some(-1));
        assert_eq!(r("abcabc", "a|ab", &[-1]), None);
    }

    #[test]
    fn small_string_functions() {
        assert_eq!(
            str1(kql_reverse(), &[lit("ABCDEFGHIJKLMNOPQRSTUVWXYZ")]).as_deref(),
            Some("ZYXWVUTSRQPONMLKJIHGFEDCBA")
        );
        assert_eq!(str1(kql_reverse(), &[int(123)]).as_deref(), Some("321"));
        assert_eq!(
            call_bool(kql_isascii(), &[s(&[Some("abc"), Some("Ä"), None])]),
            vec![Some(true), Some(false), Some(true)]
        );
        assert_eq!(
            call_bool(kql_isutf8(), &[s(&[Some("Ä"), Some("a\u{FFFD}")])]),
            vec![Some(true), Some(false)]
        );
        // https://learn.microsoft.com/kusto/query/string-size-function
        assert_eq!(
            call_i64(
                kql_string_size(),
                &[s(&[Some("hello"), Some("⒦⒰⒮⒯⒪"), None])]
            ),
            vec![Some(5), Some(15), Some(0)]
        );
    }

    #[test]
    fn url_and_base64_doc_examples() {
        assert_eq!(
            str1(kql_url_encode(), &[lit("https://www.bing.com/hello world")]).as_deref(),
            Some("https%3a%2f%2fwww.bing.com%2fhello+world")
        );
        assert_eq!(
            str1(kql_url_decode(), &[lit("https%3a%2f%2fwww.bing.com%2f")]).as_deref(),
            Some("https://www.bing.com/")
        );
        assert_eq!(url_decode("a+b%20c%C3%84"), "a b cÄ");
        assert_eq!(
            str1(kql_base64_encode_tostring(), &[lit("Kusto1")]).as_deref(),
            Some("S3VzdG8x")
        );
        assert_eq!(
            str1(kql_base64_decode_tostring(), &[lit("S3VzdG8=")]).as_deref(),
            Some("Kusto")
        );
        assert_eq!(
            str1(
                kql_base64_decode_tostring(),
                &[lit("U3RyaW5n0KHRgtGA0L7Rh9C60LA=")]
            )
            .as_deref(),
            Some("StringСтрочка")
        );
        assert_eq!(str1(kql_base64_decode_tostring(), &[lit("/w==")]), None);
        assert_eq!(str1(kql_base64_decode_tostring(), &[lit("!!")]), None);
        assert_eq!(
            str1(kql_base64_decode_toarray(), &[lit("S3VzdG8=")]).as_deref(),
            Some("[75,117,115,116,111]")
        );
    }

    #[test]
    fn tohex_doc_examples() {
        assert_eq!(tohex(256, false, 0), "100");
        assert_eq!(tohex(-256, false, 0), "ffffffffffffff00");
        assert_eq!(tohex(-256, true, 8), "ffffff00");
        assert_eq!(tohex(256, false, 8), "00000100");
        assert_eq!(tohex(256, false, 2), "100");
        let int32 = ColumnarValue::Scalar(ScalarValue::Int32(Some(-256)));
        assert_eq!(str1(kql_tohex(), &[int32]).as_deref(), Some("ffffff00"));
        assert_eq!(
            str1(kql_tohex(), &[int(256), int(8)]).as_deref(),
            Some("00000100")
        );
    }

    #[test]
    fn hashes() {
        assert_eq!(
            str1(kql_hash_sha256(), &[lit("World")]).as_deref(),
            Some("78ae647dc5544d227130a0682a51e30bc7777fbb6d8a8f17007463a3ecd1d524")
        );
        assert_eq!(
            str1(kql_hash_md5(), &[lit("World")]).as_deref(),
            Some("f5a7924e621e84c9280a9a27e1bcb7f6")
        );
        assert_eq!(
            str1(kql_hash_md5(), &[lit("")]).as_deref(),
            Some("d41d8cd98f00b204e9800998ecf8427e")
        );
    }

    #[test]
    fn translate_doc_examples() {
        // https://learn.microsoft.com/kusto/query/translate-function
        assert_eq!(translate("abc", "x", "abc"), "xxx");
        assert_eq!(translate("abc", "", "ab"), "");
        assert_eq!(translate("krasp", "otsku", "spark"), "kusto");
        // Removing NUL characters, as detections do with UTF-16 text decoded as UTF-8.
        assert_eq!(translate("\0", "", "a\0b\0"), "ab");
        assert_eq!(
            str1(kql_translate(), &[lit("ab"), lit("xy"), lit("abcab")]).as_deref(),
            Some("xycxy")
        );
    }

    #[test]
    fn codepoints_doc_examples() {
        // https://learn.microsoft.com/kusto/query/unicode-codepoints-to-string-function
        let one =
            |v: &[&str]| codepoints_to_string(&v.iter().map(|s| Some(*s)).collect::<Vec<_>>());
        assert_eq!(
            one(&["75", "117", "115", "116", "111"]).as_deref(),
            Some("Kusto")
        );
        assert_eq!(one(&["[75, 117, 115, 116, 111]"]).as_deref(), Some("Kusto"));
        assert_eq!(
            one(&["[75, 117, 115]", "116", "111"]).as_deref(),
            Some("Kusto")
        );
        assert_eq!(one(&["75", "10", "117"]).as_deref(), Some("K\nu"));
        // Not a code point: null.
        assert_eq!(one(&["55296"]), None);
        assert_eq!(one(&["-1"]), None);
        assert_eq!(one(&["\"a\""]), None);
        assert_eq!(codepoints_to_string(&[None]), None);
        assert_eq!(
            str1(
                kql_unicode_codepoints_to_string(),
                &[lit("[49,48,46,48]"), lit("46")]
            )
            .as_deref(),
            Some("10.0.")
        );
    }
}
