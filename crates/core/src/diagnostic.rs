//! Errors with a location, a hint and notes, rendered as plain text.

use std::fmt::Write as _;

use crate::{LineIndex, Span};

/// An error located in a source text: what was wrong (`message`), where (`span`) and what
/// to do (`hint`), plus optional extra `notes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// What was wrong, one line, lower case, no final period.
    pub message: String,
    /// Where: the byte range the message is about (may be empty, e.g. at end of input).
    pub span: Span,
    /// What to do about it.
    pub hint: Option<String>,
    /// Further context.
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// A diagnostic with a message and a span.
    #[must_use]
    pub fn new(message: impl Into<String>, span: Span) -> Self {
        Self {
            message: message.into(),
            span,
            hint: None,
            notes: Vec::new(),
        }
    }

    /// Set the hint.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Add a note.
    #[must_use]
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Render as plain text (deterministic, no colours), `origin` naming the source
    /// (a file name, or e.g. `<query>`):
    ///
    /// ```text
    /// error: expected an expression after `==`
    ///  --> hunt.kql:3:28
    ///   |
    /// 3 | | where EventName ==
    ///   |                    ^
    ///   = hint: a comparison needs a value on both sides
    /// ```
    #[must_use]
    pub fn render(&self, source: &str, origin: &str) -> String {
        self.render_as("error", source, origin)
    }

    /// [`Diagnostic::render`] with another level than `error` (`warning`, `note`): something
    /// worth knowing that did not stop the work.
    #[must_use]
    pub fn render_as(&self, level: &str, source: &str, origin: &str) -> String {
        let index = LineIndex::new(source);
        let start = (self.span.start as usize).min(source.len());
        let pos = index.line_col(u32::try_from(start).unwrap_or(u32::MAX), source);
        let line0 = pos.line as usize - 1;
        let (ls, le) = index.line_range(line0, source);
        let line_text = &source[ls..le];
        let width = pos.line.to_string().len();
        let pad = " ".repeat(width);

        let mut out = String::new();
        let _ = writeln!(out, "{level}: {}", self.message);
        let _ = writeln!(out, "{pad}--> {origin}:{}:{}", pos.line, pos.col);
        let _ = writeln!(out, "{pad} |");
        let shown: String = expand_tabs(line_text);
        let _ = writeln!(out, "{} | {}", pos.line, shown.trim_end());

        // Caret under the span, clipped to the end of the first line.
        let before = expand_tabs(&source[ls..start.max(ls).min(le)]);
        let end = (self.span.end as usize).clamp(start, le.max(start));
        let covered = expand_tabs(source.get(start..end).unwrap_or(""));
        let carets = covered.chars().count().max(1);
        let _ = writeln!(
            out,
            "{pad} | {}{}",
            " ".repeat(before.chars().count()),
            "^".repeat(carets)
        );
        for note in &self.notes {
            let _ = writeln!(out, "{pad} = note: {note}");
        }
        if let Some(hint) = &self.hint {
            let _ = writeln!(out, "{pad} = hint: {hint}");
        }
        out
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

fn expand_tabs(s: &str) -> String {
    s.replace('\t', "    ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_caret_under_span() {
        let src = "AWSCloudTrail\n| take 1\n| where EventName == ";
        let at = u32::try_from(src.len()).unwrap();
        let d = Diagnostic::new("expected an expression after `==`", Span::empty(at)).with_hint(
            "a comparison needs a value on both sides, e.g. EventName == \"StopLogging\"",
        );
        let expected = "\
error: expected an expression after `==`
 --> hunt.kql:3:22
  |
3 | | where EventName ==
  |                      ^
  = hint: a comparison needs a value on both sides, e.g. EventName == \"StopLogging\"
";
        assert_eq!(d.render(src, "hunt.kql"), expected);
    }

    #[test]
    fn renders_multichar_span_and_notes() {
        let src = "T | frob x";
        let d = Diagnostic::new("operator `frob` is not supported", Span::new(4, 8))
            .with_note("see the list of operators");
        let text = d.render(src, "<query>");
        assert!(text.contains("1 | T | frob x\n  |     ^^^^\n  = note: see the list"));
    }
}
