//! Regular expressions as Lucene's regular expression syntax, which ES|QL's `RLIKE` reads
//! (https://www.elastic.co/docs/reference/query-languages/query-dsl/regexp-syntax).
//!
//! A Lucene pattern matches the whole value and has no anchors, no `\d`-style classes, no
//! flags and no lookaround; `.` matches any character. So a pattern is parsed with
//! `regex-syntax` (which resolves case-insensitivity and `\d`, `\w` into explicit classes) and
//! written from its parts: the search becomes whole-value by `.*` on each unanchored side, and
//! every character that is not a letter or digit is escaped with a backslash (Lucene reads `\c`
//! as `c`; its optional operators `# @ & ~ < >` are thus never read as operators). Word
//! boundaries, anchors anywhere but at an end, and lookaround are errors.

use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// `pattern` (Rust's regex syntax, searched anywhere in the text) as a Lucene pattern that
/// matches the same values whole.
pub(crate) fn search_as_lucene(pattern: &str) -> Result<String, String> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .map_err(|e| format!("the regular expression {pattern:?} ({e})"))?;
    let branches: Vec<&Hir> = match hir.kind() {
        HirKind::Alternation(alts) => alts.iter().collect(),
        _ => vec![&hir],
    };
    let mut out = Vec::new();
    for b in branches {
        let parts: Vec<&Hir> = match b.kind() {
            HirKind::Concat(parts) => parts.iter().collect(),
            _ => vec![b],
        };
        let is = |h: Option<&&Hir>, looks: &[Look]| {
            h.is_some_and(|h| matches!(h.kind(), HirKind::Look(l) if looks.contains(l)))
        };
        let starts = is(
            parts.first(),
            &[Look::Start, Look::StartLF, Look::StartCRLF],
        );
        let ends = is(parts.last(), &[Look::End, Look::EndLF, Look::EndCRLF]);
        let inner = &parts[usize::from(starts)
            ..parts.len() - usize::from(ends && parts.len() > usize::from(starts))];
        let mut text = String::new();
        if !starts {
            text.push_str(".*");
        }
        for p in inner {
            write(p, &mut text, pattern)?;
        }
        if !ends {
            text.push_str(".*");
        }
        out.push(text);
    }
    Ok(if out.len() == 1 {
        out.pop().unwrap_or_default()
    } else {
        out.iter()
            .map(|b| format!("({b})"))
            .collect::<Vec<_>>()
            .join("|")
    })
}

fn write(h: &Hir, out: &mut String, pattern: &str) -> Result<(), String> {
    match h.kind() {
        HirKind::Empty => out.push_str("()"),
        HirKind::Literal(lit) => {
            let text = String::from_utf8(lit.0.to_vec()).map_err(|_| {
                format!("the regular expression {pattern:?} (bytes that are not text)")
            })?;
            text.chars().for_each(|c| literal(c, out));
        }
        HirKind::Class(Class::Unicode(class)) => {
            out.push('[');
            for r in class.iter() {
                literal(r.start(), out);
                if r.end() != r.start() {
                    out.push('-');
                    literal(r.end(), out);
                }
            }
            out.push(']');
        }
        HirKind::Class(Class::Bytes(_)) => {
            return Err(format!("the regular expression {pattern:?} (a byte class)"));
        }
        HirKind::Look(_) => {
            return Err(format!(
                "the regular expression {pattern:?} (Lucene's regular expressions have no anchors \
                 inside a pattern and no word boundaries)"
            ));
        }
        HirKind::Repetition(rep) => {
            group(&rep.sub, out, pattern)?;
            match (rep.min, rep.max) {
                (0, None) => out.push('*'),
                (1, None) => out.push('+'),
                (0, Some(1)) => out.push('?'),
                (min, None) => out.push_str(&format!("{{{min},}}")),
                (min, Some(max)) if min == max => out.push_str(&format!("{{{min}}}")),
                (min, Some(max)) => out.push_str(&format!("{{{min},{max}}}")),
            }
        }
        HirKind::Capture(cap) => {
            out.push('(');
            write(&cap.sub, out, pattern)?;
            out.push(')');
        }
        HirKind::Concat(parts) => {
            for p in parts {
                write(p, out, pattern)?;
            }
        }
        HirKind::Alternation(alts) => {
            out.push('(');
            for (i, a) in alts.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                write(a, out, pattern)?;
            }
            out.push(')');
        }
    }
    Ok(())
}

/// A repeated part: one character or class as it is, anything longer in parentheses.
fn group(h: &Hir, out: &mut String, pattern: &str) -> Result<(), String> {
    let single = match h.kind() {
        HirKind::Class(_) | HirKind::Capture(_) => true,
        HirKind::Literal(l) => std::str::from_utf8(&l.0).is_ok_and(|s| s.chars().count() == 1),
        _ => false,
    };
    if !single {
        out.push('(');
    }
    write(h, out, pattern)?;
    if !single {
        out.push(')');
    }
    Ok(())
}

/// One character, literally: letters and digits as they are, anything else after a backslash.
fn literal(c: char, out: &mut String) {
    if !c.is_alphanumeric() {
        out.push('\\');
    }
    out.push(c);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_become_whole_value_patterns() {
        assert_eq!(search_as_lucene("abc").unwrap(), ".*abc.*");
        assert_eq!(search_as_lucene("^abc$").unwrap(), "abc");
        assert_eq!(search_as_lucene(r"\\cmd\.exe$").unwrap(), r".*\\cmd\.exe");
        assert_eq!(search_as_lucene("^a|b$").unwrap(), "(a.*)|(.*b)");
        assert_eq!(search_as_lucene("a{2,3}b+").unwrap(), ".*a{2,3}b+.*");
        assert_eq!(search_as_lucene("(?i)ab").unwrap(), ".*[Aa][Bb].*");
        assert_eq!(search_as_lucene("x(ab)*").unwrap(), ".*x(ab)*.*");
        assert_eq!(search_as_lucene("[0-9]@").unwrap(), r".*[0-9]\@.*");
    }

    #[test]
    fn what_lucene_lacks_is_an_error() {
        assert!(
            search_as_lucene(r"\bword\b")
                .unwrap_err()
                .contains("word boundaries")
        );
        assert!(search_as_lucene("a^b").is_err());
    }
}
