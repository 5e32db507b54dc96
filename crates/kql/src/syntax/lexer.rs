//! KQL lexer: source text → [`Token`]s.
//!
//! Keywords are contextual in KQL, so the lexer produces plain identifiers and the
//! parser decides what they mean. The lexer resolves what needs the raw text: numbers
//! and timespans (`1.5h`), strings in every form (escapes, `@"verbatim"`, `h"obfuscated"`,
//! ```` ```multi-line``` ````), and the raw text of typed literals such as
//! `datetime(2023-08-09T10:00:00Z)` or `time(1.00:00:00)`, which do not tokenize.

use spoor_core::{Diagnostic, Span};

/// A token with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    /// What kind of token.
    pub kind: TokenKind,
    /// Where it is written.
    pub span: Span,
}

/// The kinds of tokens.
#[derive(Clone, Debug, PartialEq)]
pub enum TokenKind {
    /// A name (`where`, `EventName`, `$left`); its text is the token's span.
    Ident,
    /// An integer literal (decimal or `0x` hex).
    Long(i64),
    /// A real literal (`1.5`, `1e3`).
    Real(f64),
    /// A timespan literal (`1d`, `1.5h`, `100ms`), in nanoseconds.
    TimeSpan(i64),
    /// A string literal, escapes resolved.
    String(String),
    /// `name(raw)` for the literal types whose content does not tokenize (`datetime`,
    /// `time`, `timespan`, `guid`, `int`, `long`, `real`, `bool`, `decimal`...):
    /// the lower-cased type name and the raw text between the parentheses, trimmed.
    TypedLiteral {
        /// `datetime`, `int`...
        type_name: String,
        /// The text between the parentheses, trimmed.
        raw: String,
    },
    /// `|`
    Pipe,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `,`
    Comma,
    /// `;`
    Semi,
    /// `:`
    Colon,
    /// `.`
    Dot,
    /// `..`
    DotDot,
    /// `=`
    Assign,
    /// `==`
    EqEq,
    /// `!=`
    NotEq,
    /// `<>`
    LtGt,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
    /// `=~`
    EqTilde,
    /// `!~`
    BangTilde,
    /// `=>`
    Arrow,
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `*`
    Star,
    /// `/`
    Slash,
    /// `%`
    Percent,
    /// `!` (before `has`, `in`, `contains`, `between`...)
    Bang,
    /// `~` (after `in`)
    Tilde,
    /// `?`
    Question,
    /// End of input.
    Eof,
}

impl TokenKind {
    /// How the token is named in error messages.
    #[must_use]
    pub fn describe(&self) -> &'static str {
        match self {
            TokenKind::Ident => "a name",
            TokenKind::Long(_) | TokenKind::Real(_) => "a number",
            TokenKind::TimeSpan(_) => "a timespan",
            TokenKind::String(_) => "a string",
            TokenKind::TypedLiteral { .. } => "a literal",
            TokenKind::Pipe => "`|`",
            TokenKind::LParen => "`(`",
            TokenKind::RParen => "`)`",
            TokenKind::LBracket => "`[`",
            TokenKind::RBracket => "`]`",
            TokenKind::LBrace => "`{`",
            TokenKind::RBrace => "`}`",
            TokenKind::Comma => "`,`",
            TokenKind::Semi => "`;`",
            TokenKind::Colon => "`:`",
            TokenKind::Dot => "`.`",
            TokenKind::DotDot => "`..`",
            TokenKind::Assign => "`=`",
            TokenKind::EqEq => "`==`",
            TokenKind::NotEq => "`!=`",
            TokenKind::LtGt => "`<>`",
            TokenKind::Lt => "`<`",
            TokenKind::LtEq => "`<=`",
            TokenKind::Gt => "`>`",
            TokenKind::GtEq => "`>=`",
            TokenKind::EqTilde => "`=~`",
            TokenKind::BangTilde => "`!~`",
            TokenKind::Arrow => "`=>`",
            TokenKind::Plus => "`+`",
            TokenKind::Minus => "`-`",
            TokenKind::Star => "`*`",
            TokenKind::Slash => "`/`",
            TokenKind::Percent => "`%`",
            TokenKind::Bang => "`!`",
            TokenKind::Tilde => "`~`",
            TokenKind::Question => "`?`",
            TokenKind::Eof => "the end of the query",
        }
    }
}

/// Type names whose literal form `name(...)` is scanned raw.
const RAW_LITERAL_TYPES: &[&str] = &[
    "datetime", "date", "time", "timespan", "guid", "uniqueid", "int", "long", "real", "double",
    "bool", "boolean", "decimal",
];

/// Nanoseconds per timespan unit.
pub(crate) fn timespan_unit(unit: &str) -> Option<i64> {
    const NS: i64 = 1;
    const US: i64 = 1_000;
    const MS: i64 = 1_000_000;
    const S: i64 = 1_000_000_000;
    Some(match unit {
        "d" | "day" | "days" => 86_400 * S,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3_600 * S,
        "m" | "min" | "mins" | "minute" | "minutes" => 60 * S,
        "s" | "sec" | "secs" | "second" | "seconds" => S,
        "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => MS,
        "microsecond" | "microseconds" | "micro" | "micros" => US,
        "tick" | "ticks" => 100 * NS,
        "nanosecond" | "nanoseconds" | "nano" | "nanos" => NS,
        _ => return None,
    })
}

/// Tokenize `source`. Errors are collected; the offending text is skipped.
#[must_use]
pub fn tokenize(source: &str) -> (Vec<Token>, Vec<Diagnostic>) {
    let mut lx = Lexer {
        src: source,
        bytes: source.as_bytes(),
        pos: 0,
        tokens: Vec::new(),
        errors: Vec::new(),
    };
    lx.run();
    let end = u32_of(source.len());
    lx.tokens.push(Token {
        kind: TokenKind::Eof,
        span: Span::empty(end),
    });
    (lx.tokens, lx.errors)
}

fn u32_of(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c == '$' || c.is_alphabetic()
}

fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    tokens: Vec<Token>,
    errors: Vec<Diagnostic>,
}

impl Lexer<'_> {
    fn peek_char(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn byte_at(&self, i: usize) -> u8 {
        self.bytes.get(i).copied().unwrap_or(0)
    }

    fn push(&mut self, kind: TokenKind, start: usize) {
        self.tokens.push(Token {
            kind,
            span: Span::new(u32_of(start), u32_of(self.pos)),
        });
    }

    fn error(&mut self, message: impl Into<String>, start: usize, end: usize, hint: Option<&str>) {
        let mut d = Diagnostic::new(message, Span::new(u32_of(start), u32_of(end)));
        if let Some(h) = hint {
            d = d.with_hint(h);
        }
        self.errors.push(d);
    }

    fn run(&mut self) {
        while self.pos < self.bytes.len() {
            let start = self.pos;
            let b = self.bytes[self.pos];
            match b {
                b' ' | b'\t' | b'\r' | b'\n' | 0x0c => self.pos += 1,
                b'/' if self.byte_at(self.pos + 1) == b'/' => {
                    while self.pos < self.bytes.len() && self.bytes[self.pos] != b'\n' {
                        self.pos += 1;
                    }
                }
                b'0'..=b'9' => self.number(),
                b'.' if self.byte_at(self.pos + 1).is_ascii_digit()
                    && !matches!(
                        self.tokens.last().map(|t| &t.kind),
                        Some(TokenKind::Ident | TokenKind::RParen | TokenKind::RBracket)
                    ) =>
                {
                    self.number();
                }
                b'"' | b'\'' => self.string(start, false),
                b'@' if matches!(self.byte_at(self.pos + 1), b'"' | b'\'') => {
                    self.pos += 1;
                    self.string(start, true);
                }
                b'`' if self.src[self.pos..].starts_with("```") => self.multiline(start, "```"),
                b'~' if self.src[self.pos..].starts_with("~~~") => self.multiline(start, "~~~"),
                _ => {
                    let c = self.peek_char().unwrap_or('\0');
                    if is_ident_start(c) {
                        self.ident(start);
                    } else {
                        self.punct(start, c);
                    }
                }
            }
        }
    }

    fn punct(&mut self, start: usize, c: char) {
        let next = self.byte_at(self.pos + 1);
        let (kind, len) = match (c, next) {
            ('|', _) => (TokenKind::Pipe, 1),
            ('(', _) => (TokenKind::LParen, 1),
            (')', _) => (TokenKind::RParen, 1),
            ('[', _) => (TokenKind::LBracket, 1),
            (']', _) => (TokenKind::RBracket, 1),
            ('{', _) => (TokenKind::LBrace, 1),
            ('}', _) => (TokenKind::RBrace, 1),
            (',', _) => (TokenKind::Comma, 1),
            (';', _) => (TokenKind::Semi, 1),
            (':', _) => (TokenKind::Colon, 1),
            ('.', b'.') => (TokenKind::DotDot, 2),
            ('.', _) => (TokenKind::Dot, 1),
            ('=', b'=') => (TokenKind::EqEq, 2),
            ('=', b'~') => (TokenKind::EqTilde, 2),
            ('=', b'>') => (TokenKind::Arrow, 2),
            ('=', _) => (TokenKind::Assign, 1),
            ('!', b'=') => (TokenKind::NotEq, 2),
            ('!', b'~') => (TokenKind::BangTilde, 2),
            ('!', _) => (TokenKind::Bang, 1),
            ('<', b'=') => (TokenKind::LtEq, 2),
            ('<', b'>') => (TokenKind::LtGt, 2),
            ('<', _) => (TokenKind::Lt, 1),
            ('>', b'=') => (TokenKind::GtEq, 2),
            ('>', _) => (TokenKind::Gt, 1),
            ('+', _) => (TokenKind::Plus, 1),
            ('-', _) => (TokenKind::Minus, 1),
            ('*', _) => (TokenKind::Star, 1),
            ('/', _) => (TokenKind::Slash, 1),
            ('%', _) => (TokenKind::Percent, 1),
            ('~', _) => (TokenKind::Tilde, 1),
            ('?', _) => (TokenKind::Question, 1),
            _ => {
                let len = c.len_utf8();
                let hint = match c {
                    '\u{201c}' | '\u{201d}' | '\u{2018}' | '\u{2019}' => {
                        Some("this is a typographic quote; KQL strings use straight quotes \" or '")
                    }
                    '&' => Some("KQL uses `and` for logical and"),
                    '@' => Some(
                        "a verbatim string is written @\"...\" (regular expressions are strings too)",
                    ),
                    _ => None,
                };
                self.error(
                    format!("unexpected character `{c}`"),
                    start,
                    start + len,
                    hint,
                );
                self.pos += len;
                return;
            }
        };
        self.pos += len;
        self.push(kind, start);
    }

    fn ident(&mut self, start: usize) {
        // `$left` / `$right`
        if self.bytes[self.pos] == b'$' {
            self.pos += 1;
        }
        while let Some(c) = self.peek_char() {
            if is_ident_continue(c) {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
        let text = &self.src[start..self.pos];
        // Obfuscated strings: h"..." H'...' h@"..."
        if (text == "h" || text == "H") && matches!(self.byte_at(self.pos), b'"' | b'\'' | b'@') {
            let verbatim = self.byte_at(self.pos) == b'@';
            if !verbatim || matches!(self.byte_at(self.pos + 1), b'"' | b'\'') {
                if verbatim {
                    self.pos += 1;
                }
                self.string(start, verbatim);
                return;
            }
        }
        let lower = text.to_ascii_lowercase();
        if RAW_LITERAL_TYPES.contains(&lower.as_str()) {
            // name, optional spaces, `(`
            let mut p = self.pos;
            while matches!(self.byte_at(p), b' ' | b'\t') {
                p += 1;
            }
            if self.byte_at(p) == b'(' && self.raw_literal(start, p, lower) {
                return;
            }
        }
        self.push(TokenKind::Ident, start);
    }

    /// Scan `name(raw)` from the `(` at `open`. Returns false (consuming nothing) when
    /// the parenthesis is not closed on the same logical literal.
    fn raw_literal(&mut self, start: usize, open: usize, type_name: String) -> bool {
        let mut depth = 0usize;
        let mut p = open;
        let mut quote: Option<u8> = None;
        while p < self.bytes.len() {
            let b = self.bytes[p];
            if let Some(q) = quote {
                if b == b'\\' {
                    p += 1;
                } else if b == q {
                    quote = None;
                }
            } else {
                match b {
                    b'"' | b'\'' => quote = Some(b),
                    b'(' => depth += 1,
                    b')' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    b'\n' | b'|' | b';' => return false,
                    _ => {}
                }
            }
            p += 1;
        }
        if p >= self.bytes.len() {
            return false;
        }
        let raw = self.src[open + 1..p].trim().to_string();
        self.pos = p + 1;
        self.push(TokenKind::TypedLiteral { type_name, raw }, start);
        true
    }

    fn number(&mut self) {
        let start = self.pos;
        let b = self.bytes;
        if b[self.pos] == b'0' && matches!(self.byte_at(self.pos + 1), b'x' | b'X') {
            self.pos += 2;
            let digits_start = self.pos;
            while self.byte_at(self.pos).is_ascii_hexdigit() {
                self.pos += 1;
            }
            match i64::from_str_radix(&self.src[digits_start..self.pos], 16) {
                Ok(v) => self.push(TokenKind::Long(v), start),
                Err(_) => self.error("invalid hexadecimal number", start, self.pos, None),
            }
            return;
        }
        let mut is_real = false;
        while self.byte_at(self.pos).is_ascii_digit() {
            self.pos += 1;
        }
        if self.byte_at(self.pos) == b'.' && self.byte_at(self.pos + 1).is_ascii_digit() {
            is_real = true;
            self.pos += 1;
            while self.byte_at(self.pos).is_ascii_digit() {
                self.pos += 1;
            }
        }
        let e = self.byte_at(self.pos);
        if matches!(e, b'e' | b'E') {
            let n1 = self.byte_at(self.pos + 1);
            let n2 = self.byte_at(self.pos + 2);
            if n1.is_ascii_digit() || (matches!(n1, b'+' | b'-') && n2.is_ascii_digit()) {
                is_real = true;
                self.pos += 2;
                while self.byte_at(self.pos).is_ascii_digit() {
                    self.pos += 1;
                }
            }
        }
        let num_end = self.pos;
        let text = &self.src[start..num_end];
        // Unit suffix?
        let suffix_start = self.pos;
        while let Some(c) = self.peek_char() {
            if is_ident_continue(c) {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
        let suffix = &self.src[suffix_start..self.pos];
        if !suffix.is_empty() {
            let Some(unit) = timespan_unit(&suffix.to_ascii_lowercase()) else {
                self.error(
                    format!("invalid number `{}`", &self.src[start..self.pos]),
                    start,
                    self.pos,
                    Some("a number may only be followed by a timespan unit: d, h, m, s, ms, microsecond, tick"),
                );
                return;
            };
            let value: f64 = text.parse().unwrap_or(0.0);
            #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
            let nanos = if is_real {
                (value * unit as f64).round() as i64
            } else {
                text.parse::<i64>()
                    .map_or((value * unit as f64) as i64, |v| v.saturating_mul(unit))
            };
            self.push(TokenKind::TimeSpan(nanos), start);
            return;
        }
        if is_real {
            match text.parse::<f64>() {
                Ok(v) => self.push(TokenKind::Real(v), start),
                Err(_) => self.error(format!("invalid number `{text}`"), start, num_end, None),
            }
        } else {
            match text.parse::<i64>() {
                Ok(v) => self.push(TokenKind::Long(v), start),
                Err(_) => match text.parse::<f64>() {
                    Ok(v) => self.push(TokenKind::Real(v), start),
                    Err(_) => self.error(format!("invalid number `{text}`"), start, num_end, None),
                },
            }
        }
    }

    /// A quoted string whose opening quote is at `self.pos`.
    fn string(&mut self, start: usize, verbatim: bool) {
        let quote = self.bytes[self.pos];
        self.pos += 1;
        let mut value = String::new();
        loop {
            let Some(c) = self.peek_char() else {
                self.error(
                    "unterminated string",
                    start,
                    self.pos,
                    Some("close the string with the same quote that opened it"),
                );
                return;
            };
            if c == '\n' {
                self.error(
                    "unterminated string",
                    start,
                    self.pos,
                    Some(
                        "a string ends on the line where it starts; use ``` for multi-line strings",
                    ),
                );
                return;
            }
            self.pos += c.len_utf8();
            if c as u32 == u32::from(quote) {
                if verbatim && self.byte_at(self.pos) == quote {
                    value.push(c);
                    self.pos += 1;
                    continue;
                }
                break;
            }
            if c == '\\' && !verbatim {
                let Some(e) = self.peek_char() else { continue };
                self.pos += e.len_utf8();
                match e {
                    'n' => value.push('\n'),
                    't' => value.push('\t'),
                    'r' => value.push('\r'),
                    '0' => value.push('\0'),
                    '\\' | '"' | '\'' => value.push(e),
                    'u' => {
                        let hex = self.src.get(self.pos..self.pos + 4).unwrap_or("");
                        if let Some(ch) = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
                        {
                            value.push(ch);
                            self.pos += 4;
                        } else {
                            value.push_str("\\u");
                        }
                    }
                    // Unknown escapes (common in regexes: `\d`, `\.`) are kept as written.
                    other => {
                        value.push('\\');
                        value.push(other);
                    }
                }
                continue;
            }
            value.push(c);
        }
        self.push(TokenKind::String(value), start);
    }

    fn multiline(&mut self, start: usize, fence: &str) {
        self.pos += 3;
        let body_start = self.pos;
        if let Some(i) = self.src[self.pos..].find(fence) {
            let value = self.src[body_start..body_start + i].to_string();
            self.pos = body_start + i + 3;
            self.push(TokenKind::String(value), start);
        } else {
            self.pos = self.src.len();
            self.error(
                "unterminated multi-line string",
                start,
                start + 3,
                Some("close it with a matching fence"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<TokenKind> {
        let (t, e) = tokenize(s);
        assert!(e.is_empty(), "{e:?}");
        t.into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn numbers_and_timespans() {
        assert_eq!(
            kinds("1 1.5 1e3 0x1F 1d 1.5h 100ms 10tick 2days 1min"),
            vec![
                TokenKind::Long(1),
                TokenKind::Real(1.5),
                TokenKind::Real(1000.0),
                TokenKind::Long(31),
                TokenKind::TimeSpan(86_400_000_000_000),
                TokenKind::TimeSpan(5_400_000_000_000),
                TokenKind::TimeSpan(100_000_000),
                TokenKind::TimeSpan(1_000),
                TokenKind::TimeSpan(172_800_000_000_000),
                TokenKind::TimeSpan(60_000_000_000),
                TokenKind::Eof
            ]
        );
        assert_eq!(
            kinds("1..2")[..3],
            [TokenKind::Long(1), TokenKind::DotDot, TokenKind::Long(2)]
        );
    }

    #[test]
    fn strings() {
        assert_eq!(
            kinds(
                r#""a\"b" 'c\n' @"C:\x""y" h"s" ```m
l```"#
            ),
            vec![
                TokenKind::String("a\"b".into()),
                TokenKind::String("c\n".into()),
                TokenKind::String("C:\\x\"y".into()),
                TokenKind::String("s".into()),
                TokenKind::String("m\nl".into()),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn typed_literals_are_raw() {
        assert_eq!(
            kinds("datetime(2023-08-09T10:00:00Z)")[0],
            TokenKind::TypedLiteral {
                type_name: "datetime".into(),
                raw: "2023-08-09T10:00:00Z".into()
            }
        );
        assert_eq!(kinds("typeof(datetime)")[2], TokenKind::Ident);
    }
}
