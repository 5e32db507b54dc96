//! Typed literals (`datetime(...)`, `time(...)`, `int(...)`...) and `dynamic(...)`.

use serde_json::{Map, Number, Value};

use super::ast::{Literal, ScalarType};
use super::lexer::{TokenKind, timespan_unit};
use super::parser::{PResult, Parser, scalar_type};

/// Convert `type_name(raw)` into a literal; the error is a message.
pub(crate) fn typed_literal(type_name: &str, raw: &str) -> Result<Literal, String> {
    let ty = scalar_type(type_name).ok_or_else(|| format!("unknown literal type `{type_name}`"))?;
    let unquoted = unquote(raw);
    if raw == "null" {
        return Ok(Literal::Null(Some(ty)));
    }
    let bad = || format!("invalid {type_name} literal `{type_name}({raw})`");
    Ok(match ty {
        ScalarType::DateTime => {
            if unquoted.is_empty() {
                return Err(bad());
            }
            Literal::DateTime(unquoted.to_string())
        }
        ScalarType::TimeSpan => Literal::TimeSpan(parse_timespan(unquoted).ok_or_else(bad)?),
        ScalarType::Guid => Literal::Guid(unquoted.to_string()),
        ScalarType::Decimal => Literal::Decimal(unquoted.to_string()),
        ScalarType::Int => Literal::Int(
            parse_int(unquoted)
                .and_then(|v| i32::try_from(v).ok())
                .ok_or_else(bad)?,
        ),
        ScalarType::Long => Literal::Long(parse_int(unquoted).ok_or_else(bad)?),
        ScalarType::Real => Literal::Real(match unquoted.to_ascii_lowercase().as_str() {
            "nan" => f64::NAN,
            "inf" | "+inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            s => s.parse::<f64>().map_err(|_| bad())?,
        }),
        ScalarType::Bool => Literal::Bool(match unquoted.to_ascii_lowercase().as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(bad()),
        }),
        ScalarType::Dynamic | ScalarType::String => return Err(bad()),
    })
}

fn unquote(raw: &str) -> &str {
    let b = raw.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        &raw[1..raw.len() - 1]
    } else {
        raw
    }
}

fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i64::from_str_radix(hex, 16).ok()?
    } else {
        digits.parse::<i64>().ok()?
    };
    Some(if neg { -v } else { v })
}

/// Parse the text of a timespan: `1d`, `1.5h`, `100ms`, `[-][d.]hh:mm[:ss[.fffffff]]`,
/// or a bare number of days. Result in nanoseconds.
pub(crate) fn parse_timespan(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let nanos = if body.contains(':') {
        let (days, clock) = match body.split_once('.') {
            Some((d, rest)) if !d.contains(':') => (d.parse::<i64>().ok()?, rest),
            _ => (0, body),
        };
        let parts: Vec<&str> = clock.split(':').collect();
        if parts.len() < 2 || parts.len() > 3 {
            return None;
        }
        let h: i64 = parts[0].parse().ok()?;
        let m: i64 = parts[1].parse().ok()?;
        let (sec, frac) = match parts.get(2) {
            Some(p) => match p.split_once('.') {
                Some((s, f)) => (s.parse::<i64>().ok()?, f),
                None => (p.parse::<i64>().ok()?, ""),
            },
            None => (0, ""),
        };
        let mut frac_ns = 0i64;
        for (i, c) in frac.chars().take(9).enumerate() {
            let d = i64::from(c.to_digit(10)?);
            frac_ns += d * 10i64.pow(8 - u32::try_from(i).ok()?);
        }
        ((days * 24 + h) * 60 + m) * 60 * 1_000_000_000 + sec * 1_000_000_000 + frac_ns
    } else {
        let split = body
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(body.len());
        let (num, unit) = body.split_at(split);
        let unit_ns = if unit.is_empty() {
            86_400_000_000_000
        } else {
            timespan_unit(&unit.trim().to_ascii_lowercase())?
        };
        if let Ok(v) = num.parse::<i64>() {
            v.checked_mul(unit_ns)?
        } else {
            let v: f64 = num.parse().ok()?;
            #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
            let r = (v * unit_ns as f64).round() as i64;
            r
        }
    };
    Some(if neg { -nanos } else { nanos })
}

/// The content of `dynamic(...)`, the parser standing after `(`.
pub(crate) fn parse_dynamic(p: &mut Parser<'_>) -> PResult<Value> {
    if p.at(&TokenKind::RParen) {
        return Ok(Value::Null);
    }
    dynamic_value(p, 0)
}

fn dynamic_value(p: &mut Parser<'_>, depth: u32) -> PResult<Value> {
    if depth > 64 {
        return Err(p.err_here("the dynamic literal is nested too deeply"));
    }
    let t = p.tok().clone();
    match t.kind {
        TokenKind::LBracket => {
            let open = p.bump().span;
            let mut items = Vec::new();
            while !p.at(&TokenKind::RBracket) {
                items.push(dynamic_value(p, depth + 1)?);
                if p.eat(&TokenKind::Comma).is_none() {
                    break;
                }
            }
            p.expect_close(open, &TokenKind::RBracket)?;
            Ok(Value::Array(items))
        }
        TokenKind::LBrace => {
            let open = p.bump().span;
            let mut map = Map::new();
            while !p.at(&TokenKind::RBrace) {
                let key = match p.kind() {
                    TokenKind::String(s) => {
                        p.bump();
                        s
                    }
                    TokenKind::Ident => p.ident("a property name")?.name,
                    _ => return Err(p.expected("a property name (a string)")),
                };
                p.expect(&TokenKind::Colon, "after the property name")?;
                let v = dynamic_value(p, depth + 1)?;
                map.insert(key, v);
                if p.eat(&TokenKind::Comma).is_none() {
                    break;
                }
            }
            p.expect_close(open, &TokenKind::RBrace)?;
            Ok(Value::Object(map))
        }
        TokenKind::String(s) => {
            p.bump();
            let mut s = s;
            while let TokenKind::String(more) = p.kind() {
                s.push_str(&more);
                p.bump();
            }
            Ok(Value::String(s))
        }
        TokenKind::Long(v) => {
            p.bump();
            Ok(Value::Number(v.into()))
        }
        TokenKind::Real(v) => {
            p.bump();
            Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
        }
        TokenKind::TimeSpan(_) => {
            p.bump();
            Ok(Value::String(p.text(t.span).to_string()))
        }
        TokenKind::Minus => {
            p.bump();
            match dynamic_value(p, depth + 1)? {
                Value::Number(n) => Ok(if let Some(i) = n.as_i64() {
                    Value::Number((-i).into())
                } else {
                    Number::from_f64(-n.as_f64().unwrap_or(0.0)).map_or(Value::Null, Value::Number)
                }),
                _ => Err(spoor_core::Diagnostic::new(
                    "expected a number after `-`",
                    t.span,
                )),
            }
        }
        TokenKind::TypedLiteral { type_name, raw } => {
            p.bump();
            let lit = typed_literal(&type_name, &raw)
                .map_err(|m| spoor_core::Diagnostic::new(m, t.span))?;
            Ok(match lit {
                Literal::Null(_) => Value::Null,
                Literal::Bool(b) => Value::Bool(b),
                Literal::Int(i) => Value::Number(i.into()),
                Literal::Long(i) => Value::Number(i.into()),
                Literal::Real(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
                _ => Value::String(raw.trim_matches(|c| c == '"' || c == '\'').to_string()),
            })
        }
        TokenKind::Ident => {
            let word = p.text(t.span);
            let v = if word.eq_ignore_ascii_case("true") {
                Value::Bool(true)
            } else if word.eq_ignore_ascii_case("false") {
                Value::Bool(false)
            } else if word == "null" {
                Value::Null
            } else {
                return Err(p
                    .err_here(format!("`{word}` is not allowed in a dynamic literal"))
                    .with_hint("a dynamic literal holds constants only: strings, numbers, true/false, null, arrays and property bags"));
            };
            p.bump();
            Ok(v)
        }
        _ => Err(p
            .expected("a constant in the dynamic literal")
            .with_hint("write e.g. dynamic([\"a\", \"b\"]) or dynamic({\"key\": 1})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("1d"), Some(86_400_000_000_000));
        assert_eq!(parse_timespan("1.00:00:00"), Some(86_400_000_000_000));
        assert_eq!(parse_timespan("00:10:00"), Some(600_000_000_000));
        assert_eq!(parse_timespan("00:00:01.5"), Some(1_500_000_000));
        assert_eq!(parse_timespan("-1h"), Some(-3_600_000_000_000));
        assert_eq!(parse_timespan("2"), Some(172_800_000_000_000));
    }
}
