//! A cursor over query text, shared by the hand-written parsers of the piped languages that
//! comment with `//` and `/* */` (Sumo Logic, ES|QL): where it is, the word there, keywords
//! read ignoring case, and "expected X, found Y" errors that point at the text.

use crate::{Diagnostic, Span};

/// The deepest an expression may nest (parentheses, `NOT`, `-`): hostile input is an error
/// rather than a stack overflow.
pub const MAX_DEPTH: usize = 40;

/// The span of the bytes `start..end`.
pub fn span(start: usize, end: usize) -> Span {
    Span::new(
        u32::try_from(start).unwrap_or(u32::MAX),
        u32::try_from(end).unwrap_or(u32::MAX),
    )
}

/// A position in a query's text.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    /// The whole text.
    pub text: &'a str,
    /// The byte offset of the cursor.
    pub pos: usize,
    /// How deeply the expression being read nests.
    depth: usize,
    /// Which characters make up a word (a name or a keyword) in the language.
    name_char: fn(char) -> bool,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `text`, whose words are made of `name_char`s.
    pub fn new(text: &'a str, name_char: fn(char) -> bool) -> Self {
        Cursor {
            text,
            pos: 0,
            depth: 0,
            name_char,
        }
    }

    /// One level deeper into an expression, or an error when the text nests too deeply;
    /// [`Cursor::leave`] comes back out.
    pub fn enter(&mut self) -> Result<(), Diagnostic> {
        if self.depth >= MAX_DEPTH {
            return Err(Diagnostic::new(
                format!("the query nests more than {MAX_DEPTH} levels deep"),
                self.word_span(),
            ));
        }
        self.depth += 1;
        Ok(())
    }

    /// One level back out (after [`Cursor::enter`]).
    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// From `start` to the cursor.
    pub fn span_from(&self, start: usize) -> Span {
        span(start, self.pos)
    }

    /// The text from the cursor on.
    pub fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    /// Whether the whole text has been read.
    pub fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    /// The character at the cursor.
    pub fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    /// Skips whitespace, `// line` and `/* block */` comments.
    pub fn skip_trivia(&mut self) -> Result<(), Diagnostic> {
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start();
            self.pos += rest.len() - trimmed.len();
            if trimmed.starts_with("//") {
                self.pos += trimmed.find('\n').unwrap_or(trimmed.len());
            } else if let Some(body) = trimmed.strip_prefix("/*") {
                let Some(end) = body.find("*/") else {
                    return Err(
                        Diagnostic::new("unclosed comment", span(self.pos, self.pos + 2))
                            .with_hint("close it with */"),
                    );
                };
                self.pos += end + 4;
            } else {
                return Ok(());
            }
        }
    }

    /// Consumes `s` when the text at the cursor starts with it.
    pub fn eat(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    /// The word at the cursor, not consumed.
    pub fn peek_word(&self) -> &'a str {
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(self.name_char)(c))
            .unwrap_or(rest.len());
        &rest[..len]
    }

    /// Whether the word at the cursor is `word`, ignoring case.
    pub fn peek_keyword(&self, word: &str) -> bool {
        self.peek_word().eq_ignore_ascii_case(word)
    }

    /// Consumes `word` (ignoring case) and the trivia after it, when it is the word at the
    /// cursor.
    pub fn eat_keyword(&mut self, word: &str) -> Result<bool, Diagnostic> {
        let w = self.peek_word();
        if w.eq_ignore_ascii_case(word) {
            self.pos += w.len();
            self.skip_trivia()?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// The span of the word, or else the character, at the cursor.
    pub fn word_span(&self) -> Span {
        let w = self.peek_word();
        let len = if w.is_empty() {
            self.peek().map_or(0, char::len_utf8)
        } else {
            w.len()
        };
        span(self.pos, self.pos + len)
    }

    /// The text of `s` in backquotes, or "the end of the query".
    pub fn describe(&self, s: Span) -> String {
        if s.start == s.end {
            "the end of the query".into()
        } else {
            format!("`{}`", &self.text[s.start as usize..s.end as usize])
        }
    }

    /// "expected `what`, found ..." at the word at the cursor.
    pub fn expected(&self, what: &str) -> Diagnostic {
        let s = self.word_span();
        Diagnostic::new(format!("expected {what}, found {}", self.describe(s)), s)
    }

    /// Consumes `s` between trivia, or fails with "expected `what`".
    pub fn expect(&mut self, s: &str, what: &str) -> Result<(), Diagnostic> {
        self.skip_trivia()?;
        if self.eat(s) {
            self.skip_trivia()
        } else {
            Err(self.expected(what))
        }
    }

    /// Consumes a comma between trivia, if there is one.
    pub fn eat_comma(&mut self) -> Result<bool, Diagnostic> {
        self.skip_trivia()?;
        let yes = self.eat(",");
        self.skip_trivia()?;
        Ok(yes)
    }

    /// Whether a piped command ends here (`|` or the end of the query).
    pub fn at_pipe(&self) -> bool {
        self.at_end() || self.rest().starts_with('|')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keywords_and_comments() {
        let mut c = Cursor::new("where /* x */ a // b\n, c", |ch| ch.is_alphanumeric());
        assert!(c.eat_keyword("WHERE").unwrap());
        assert_eq!(c.peek_word(), "a");
        c.pos += 1;
        assert!(c.eat_comma().unwrap());
        assert_eq!(c.peek_word(), "c");
        let e = c.expected("a pipe");
        assert_eq!(e.message, "expected a pipe, found `c`");
        let mut open = Cursor::new("/* never closed", |ch| ch.is_alphanumeric());
        assert!(open.skip_trivia().is_err());
    }

    #[test]
    fn nesting_is_bounded() {
        let mut c = Cursor::new("x", |ch| ch.is_alphanumeric());
        for _ in 0..MAX_DEPTH {
            c.enter().unwrap();
        }
        assert!(c.enter().is_err());
        c.leave();
        assert!(c.enter().is_ok());
    }
}
