//! Lucene's regular expressions (ES|QL's `RLIKE`) as Rust regular expressions.
//!
//! ES|QL's RLIKE "matches strings using Lucene regular expressions"; the pattern must match
//! the whole value (https://www.elastic.co/docs/reference/query-languages/esql/functions-operators/operators#esql-rlike).
//! Lucene's syntax (https://www.elastic.co/docs/reference/query-languages/query-dsl/regexp-syntax):
//! `.` any character, `? + * |`, `( )`, `{n}`, `{n,m}`, `{n,}`, `[...]` classes with ranges and
//! `^` negation, `"..."` a literal string, `\c` the character c, and every other character
//! itself (`^` and `$` included: Lucene has no anchors, a pattern always matches the whole
//! value). The optional operators `#`, `@`, `&`, `~` and `<n-m>` are refused rather than read
//! one way or the other.

/// The Rust regular expression that matches what `pattern` matches, anchored at both ends; or
/// why it cannot be read.
pub fn translate(pattern: &str) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '\\' => {
                let Some(&next) = chars.get(i) else {
                    return Err("the pattern ends with a lone `\\`".into());
                };
                i += 1;
                out.push_str(&regex::escape(&next.to_string()));
            }
            '"' => {
                let mut literal = String::new();
                loop {
                    let Some(&d) = chars.get(i) else {
                        return Err("a \"quoted\" literal in the pattern is not closed".into());
                    };
                    i += 1;
                    match d {
                        '"' => break,
                        '\\' => {
                            let Some(&e) = chars.get(i) else {
                                return Err("the pattern ends with a lone `\\`".into());
                            };
                            i += 1;
                            literal.push(e);
                        }
                        d => literal.push(d),
                    }
                }
                out.push_str("(?:");
                out.push_str(&regex::escape(&literal));
                out.push(')');
            }
            '.' | '?' | '+' | '*' | '|' | '(' | ')' => out.push(c),
            '{' => {
                let mut body = String::new();
                loop {
                    let Some(&d) = chars.get(i) else {
                        return Err("a `{` repetition in the pattern is not closed".into());
                    };
                    i += 1;
                    if d == '}' {
                        break;
                    }
                    body.push(d);
                }
                let (min, max) = match body.split_once(',') {
                    Some((a, b)) => (a, Some(b)),
                    None => (body.as_str(), None),
                };
                let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
                if !digits(min) || max.is_some_and(|m| !m.is_empty() && !digits(m)) {
                    return Err(format!(
                        "`{{{body}}}` is not a repetition ({{n}}, {{n,m}} or {{n,}})"
                    ));
                }
                out.push('{');
                out.push_str(&body);
                out.push('}');
            }
            '[' => {
                out.push('[');
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                let mut items = 0;
                loop {
                    let Some(&d) = chars.get(i) else {
                        return Err("a `[` class in the pattern is not closed".into());
                    };
                    i += 1;
                    let d = match d {
                        ']' if items > 0 => break,
                        '\\' => {
                            let Some(&e) = chars.get(i) else {
                                return Err("the pattern ends with a lone `\\`".into());
                            };
                            i += 1;
                            e
                        }
                        d => d,
                    };
                    items += 1;
                    out.push_str(&class_char(d));
                    // A range: `a-z` (a `-` before `]` is itself).
                    if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|e| *e != ']') {
                        i += 1;
                        let mut end = chars[i];
                        i += 1;
                        if end == '\\' {
                            let Some(&e) = chars.get(i) else {
                                return Err("the pattern ends with a lone `\\`".into());
                            };
                            i += 1;
                            end = e;
                        }
                        if end < d {
                            return Err(format!("the class range `{d}-{end}` is reversed"));
                        }
                        out.push('-');
                        out.push_str(&class_char(end));
                    }
                }
                out.push(']');
            }
            '#' | '@' | '&' | '~' | '<' => {
                return Err(format!(
                    "`{c}` is one of Lucene's optional regular expression operators (# @ & ~ \
                     <n-m>), which spoor does not support; write \\{c} to match the character"
                ));
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    let anchored = format!("(?s)^(?:{out})$");
    regex::Regex::new(&anchored)
        .map_err(|e| format!("invalid regular expression: {e}"))
        .map(|_| anchored)
}

/// A character inside a Rust class: ASCII punctuation escaped (`-`, `^`, `[`, `]`, `&`, `~`
/// have meanings there), other characters as they are (`\<` and `\>` are word boundaries).
fn class_char(c: char) -> String {
    if c.is_ascii_punctuation() && c != '<' && c != '>' {
        format!("\\{c}")
    } else {
        c.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, value: &str) -> bool {
        let re = translate(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
        regex::Regex::new(&re).unwrap().is_match(value)
    }

    #[test]
    fn whole_value_and_operators() {
        assert!(matches("who.*", "whoami.exe"));
        assert!(!matches("who", "whoami"));
        assert!(matches("a(b|c)+d?", "abcbc"));
        assert!(matches("x{2,3}", "xxx"));
        assert!(!matches("x{2,3}", "xxxx"));
        assert!(matches("x{2,}", "xxxxx"));
        assert!(matches("x{2}", "xx"));
        // `.` is any character, newlines included.
        assert!(matches("a.b", "a\nb"));
        // Case-sensitive.
        assert!(!matches("abc", "ABC"));
    }

    #[test]
    fn escapes_quotes_and_literal_characters() {
        assert!(matches(r".*\\whoami\.exe", r"C:\Windows\whoami.exe"));
        assert!(!matches(r".*\\whoami\.exe", r"C:\Windows\whoamiXexe"));
        assert!(matches(r#"".*"x"#, ".*x"));
        assert!(!matches(r#"".*"x"#, "abx"));
        // Lucene has no anchors: ^ and $ are characters.
        assert!(matches("^a$", "^a$"));
        assert!(matches("a b", "a b"));
    }

    #[test]
    fn classes() {
        assert!(matches("[a-c]+", "abcab"));
        assert!(!matches("[a-c]+", "abd"));
        assert!(matches("[^a-c]", "z"));
        assert!(matches(r"[\]\-x]+", "]-x"));
        assert!(matches("[a-]", "-"));
        assert!(matches("[&~]", "&"));
    }

    #[test]
    fn what_the_esql_writer_writes_reads_back() {
        // crates/export escapes every non-alphanumeric ASCII character, writes classes as
        // [a-zA-Z] and uses .*, ( ), |, {m,n}, *, +, ?.
        let written = r"C\:\\Windows\\.*\\(cmd|powershell)\.exe [a-zA-Z]{1,3}\-\#\@\&\~\<";
        assert!(matches(written, r"C:\Windows\System32\cmd.exe ab-#@&~<"));
        assert!(matches(r"\%\_\ x", "%_ x"));
    }

    #[test]
    fn optional_operators_are_refused() {
        for p in ["a#", "@", "a&b", "~a", "<1-10>"] {
            let e = translate(p).unwrap_err();
            assert!(
                e.contains("optional regular expression operators"),
                "{p}: {e}"
            );
        }
        assert!(translate("[abc").unwrap_err().contains("not closed"));
        assert!(translate("a{x}").unwrap_err().contains("repetition"));
        assert!(
            translate("(a")
                .unwrap_err()
                .contains("invalid regular expression")
        );
        assert!(translate("a\\").unwrap_err().contains("lone"));
    }
}
