//! Athena (Presto/Trino) syntax that DataFusion lacks, translated in place, and positions:
//! sqlparser's line:column locations as byte offsets, its errors and DataFusion's as
//! diagnostics.

use datafusion::error::DataFusionError;
use datafusion::sql::sqlparser;
use spoor_core::{Diagnostic, Span};
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

/// Rewrites what DataFusion does not parse into what it does, byte for byte the same length so
/// that positions stay those of `text`:
/// - Trino's `GROUP BY DISTINCT` and `GROUP BY ALL` quantifiers over plain grouping elements
///   (both group exactly as `GROUP BY` does; DataFusion reads `GROUP BY ALL` as "every
///   non-aggregate column", so Trino's quantifier is removed).
///
/// Trino's DISTINCT only removes duplicate grouping sets, so with ROLLUP, CUBE or GROUPING
/// SETS it changes results; spoor refuses that form rather than answer differently.
/// (Trino documents it under SELECT, "GROUP BY clause": https://trino.io/docs/current/sql/select.html)
pub fn translate(text: &str) -> Result<String, Diagnostic> {
    let dialect = sqlparser::dialect::GenericDialect {};
    // A text that does not tokenise is left for the parser, which reports where.
    let Ok(tokens) = Tokenizer::new(&dialect, text).tokenize_with_location() else {
        return Ok(text.to_string());
    };
    let words: Vec<(usize, &TokenWithSpan)> = tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    let keyword = |i: usize| match words.get(i).map(|(_, t)| &t.token) {
        Some(Token::Word(w)) if w.quote_style.is_none() => Some(w.keyword),
        _ => None,
    };
    let mut out = text.to_string();
    for i in 0..words.len() {
        if keyword(i) != Some(Keyword::GROUP) || keyword(i + 1) != Some(Keyword::BY) {
            continue;
        }
        let quantifier = match keyword(i + 2) {
            Some(Keyword::DISTINCT) => "DISTINCT",
            // `GROUP BY ALL` alone is DataFusion's (and DuckDB's) "all non-aggregates"; only a
            // quantifier followed by grouping elements is Trino's.
            Some(Keyword::ALL) if starts_grouping_element(keyword(i + 3), words.get(i + 3)) => {
                "ALL"
            }
            _ => continue,
        };
        let span = span_of(words[i + 2].1.span, text);
        if quantifier == "DISTINCT"
            && let Some(j) = grouping_sets_in_clause(&words, i + 3)
        {
            return Err(Diagnostic::new(
                "`GROUP BY DISTINCT` with ROLLUP, CUBE or GROUPING SETS is not supported",
                span_of(words[j].1.span, text),
            )
            .with_hint(
                "Trino removes duplicate grouping sets there and spoor would not; \
                 list the grouping sets without duplicates and drop DISTINCT",
            ));
        }
        let (start, end) = (span.start as usize, span.end as usize);
        out.replace_range(start..end, &" ".repeat(end - start));
    }
    Ok(out)
}

/// Whether the token after `GROUP BY ALL` starts a grouping element rather than ending the
/// clause.
fn starts_grouping_element(
    keyword: Option<Keyword>,
    next: Option<&(usize, &TokenWithSpan)>,
) -> bool {
    let Some((_, t)) = next else { return false };
    match &t.token {
        Token::SemiColon | Token::RParen | Token::EOF => false,
        Token::Word(_) => !matches!(
            keyword,
            Some(
                Keyword::HAVING
                    | Keyword::ORDER
                    | Keyword::LIMIT
                    | Keyword::OFFSET
                    | Keyword::UNION
                    | Keyword::EXCEPT
                    | Keyword::INTERSECT
                    | Keyword::WINDOW
                    | Keyword::QUALIFY
                    | Keyword::FETCH
            )
        ),
        _ => true,
    }
}

/// The index of a ROLLUP, CUBE or GROUPING word in the GROUP BY clause starting at `from`.
fn grouping_sets_in_clause(words: &[(usize, &TokenWithSpan)], from: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (j, (_, t)) in words.iter().enumerate().skip(from) {
        match &t.token {
            Token::LParen => depth += 1,
            Token::RParen if depth == 0 => return None,
            Token::RParen => depth -= 1,
            Token::SemiColon => return None,
            Token::Word(w) if w.quote_style.is_none() => match w.keyword {
                Keyword::ROLLUP | Keyword::CUBE | Keyword::GROUPING => return Some(j),
                Keyword::HAVING
                | Keyword::ORDER
                | Keyword::LIMIT
                | Keyword::UNION
                | Keyword::EXCEPT
                | Keyword::INTERSECT
                | Keyword::WINDOW
                    if depth == 0 =>
                {
                    return None;
                }
                _ => {}
            },
            _ => {}
        }
    }
    None
}

/// The byte offset of sqlparser's 1-based line and column (columns count characters).
pub fn offset_of(text: &str, line: u64, column: u64) -> usize {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i as u64 + 1 == line {
            let chars = usize::try_from(column.saturating_sub(1)).unwrap_or(usize::MAX);
            return offset
                + l.char_indices()
                    .nth(chars)
                    .map_or(l.trim_end_matches('\n').len(), |(b, _)| b);
        }
        offset += l.len();
    }
    text.len()
}

/// A sqlparser span as byte offsets into `text` (empty spans stay empty).
pub fn span_of(span: sqlparser::tokenizer::Span, text: &str) -> Span {
    span_between(
        text,
        (span.start.line, span.start.column),
        (span.end.line, span.end.column),
    )
}

/// The span between two 1-based (line, column) locations.
fn span_between(text: &str, start: (u64, u64), end: (u64, u64)) -> Span {
    let start = offset_of(text, start.0, start.1);
    let end = offset_of(text, end.0, end.1).max(start);
    Span::new(as_u32(start), as_u32(end))
}

fn as_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The span of the word or symbol that starts at `offset` (an empty span at the end).
fn token_at(text: &str, offset: usize) -> Span {
    let rest = &text[offset.min(text.len())..];
    let len = match rest.chars().next() {
        None => 0,
        Some(c) if c.is_alphanumeric() || c == '_' => rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len()),
        Some(c) => c.len_utf8(),
    };
    Span::new(as_u32(offset), as_u32(offset + len))
}

/// A parse error at the position sqlparser gives (" at Line: L, Column: C").
pub fn diagnostic_of_parse_error(e: &sqlparser::parser::ParserError, text: &str) -> Diagnostic {
    let raw = match e {
        sqlparser::parser::ParserError::ParserError(m)
        | sqlparser::parser::ParserError::TokenizerError(m) => m.clone(),
        other => other.to_string(),
    };
    let (message, span) = match split_location(&raw) {
        Some((message, line, column)) => (message, token_at(text, offset_of(text, line, column))),
        None => (raw.as_str(), Span::empty(as_u32(text.trim_end().len()))),
    };
    Diagnostic::new(
        format!("SQL does not parse: {}", lower_first(message.trim())),
        span,
    )
}

/// `message at Line: L, Column: C` split into its parts.
fn split_location(raw: &str) -> Option<(&str, u64, u64)> {
    let at = raw.rfind(" at Line: ")?;
    let (line, column) = raw[at + " at Line: ".len()..].split_once(", Column: ")?;
    Some((
        &raw[..at],
        line.trim().parse().ok()?,
        column
            .trim()
            .trim_end_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .ok()?,
    ))
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A planning error as a diagnostic: at DataFusion's span when it gives one, else at the name
/// the message is about when the text has it.
pub fn diagnostic_of_planning_error(e: &DataFusionError, text: &str) -> Diagnostic {
    let message = planning_message(e);
    if let Some(d) = e.diagnostic()
        && let Some(span) = d.span
    {
        let mut out = Diagnostic::new(
            message,
            span_between(
                text,
                (span.start.line, span.start.column),
                (span.end.line, span.end.column),
            ),
        );
        for help in &d.helps {
            out = out.with_hint(help.message.clone());
        }
        for note in &d.notes {
            out = out.with_note(note.message.clone());
        }
        return out;
    }
    let span = quoted_name(&message)
        .and_then(|name| find_word(text, name))
        .unwrap_or_else(|| Span::empty(0));
    Diagnostic::new(message, span)
}

/// DataFusion's message without its error-kind prefixes and backtrace.
fn planning_message(e: &DataFusionError) -> String {
    let mut m = e.strip_backtrace();
    // The notes name the possible columns; the full list of the table's columns is noise.
    if let Some(at) = m.find("\nValid fields are ") {
        m.truncate(at);
    }
    for prefix in [
        "Diagnostic(",
        "Error during planning: ",
        "Schema error: ",
        "SQL error: ",
        "This feature is not implemented: ",
    ] {
        while let Some(rest) = m.strip_prefix(prefix) {
            m = rest.to_string();
        }
    }
    lower_first(&m)
}

/// The first name a DataFusion message quotes (`No field named x`, `table 'x' not found`).
fn quoted_name(message: &str) -> Option<&str> {
    if let Some(rest) = message.split("No field named ").nth(1) {
        let name = rest.split(['.', ' ']).next()?.trim_matches(['"', '\'']);
        return (!name.is_empty()).then_some(name);
    }
    let start = message.find('\'')? + 1;
    let len = message[start..].find('\'')?;
    Some(&message[start..start + len])
}

/// The first occurrence of `name` in `text` as a whole word (ignoring case).
fn find_word(text: &str, name: &str) -> Option<Span> {
    let lower = text.to_lowercase();
    let needle = name.to_lowercase();
    if lower.len() != text.len() || needle.is_empty() {
        return None;
    }
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let mut from = 0;
    while let Some(i) = lower[from..].find(&needle) {
        let start = from + i;
        let end = start + needle.len();
        if !is_word(lower[..start].chars().next_back()) && !is_word(lower[end..].chars().next()) {
            return Some(Span::new(as_u32(start), as_u32(end)));
        }
        from = end;
    }
    None
}
