//! `has`, `has_cs`, `has_any`, `has_all`: whole-term matching.
//!
//! Kusto splits a string into terms, the maximal runs of alphanumeric characters, and `has`
//! is true when the needle is a whole term of the text
//! (<https://learn.microsoft.com/kusto/query/datatypes-string-operators>, "What is a term?";
//! <https://learn.microsoft.com/kusto/query/has-operator>). A needle that holds punctuation
//! (`"-EncodedCommand"`, `"10.0.0.1"`, `"curl/7"`) is a sequence of terms: it matches where it
//! occurs in the text with term boundaries at its ends. So an occurrence counts when
//! - the needle starts with a term character and the text character before it is not one (or
//!   it is at the start), and
//! - the needle ends with a term character and the text character after it is not one (or it
//!   is at the end).
//!
//! An end of the needle that is punctuation needs no boundary: `"a-EncodedCommand x" has
//! "-EncodedCommand"` is true. An empty needle matches every text.
//!
//! Term characters: ASCII letters and digits, and non-ASCII letters and digits
//! (`char::is_alphanumeric`).
//!
//! KQL strings are never null (a missing string is `""`), so a null text or needle is read as
//! `""` and the result is never null: `where x !has "a"` keeps rows whose `x` is missing, as
//! Kusto does.
//!
//! `has_any(text, t1, t2, ...)` and `has_all(...)` take the terms as further arguments. A scalar
//! argument holding a JSON array (a `dynamic([...])` list, as in `let list = dynamic([...]);
//! ... has_any (list)`) is expanded into its elements. All terms go into one Aho-Corasick
//! automaton per batch.

use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use datafusion::arrow::array::BooleanArray;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_datafusion_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};

use crate::args::{Rows, StrArg, all_text};
use crate::udf::{Spec, ret_bool};

/// Whether `c` belongs to a term.
pub(crate) fn is_term_char(c: char) -> bool {
    c.is_alphanumeric()
}

fn starts_with_term_char(s: &str) -> bool {
    s.chars().next().is_some_and(is_term_char)
}

fn ends_with_term_char(s: &str) -> bool {
    s.chars().next_back().is_some_and(is_term_char)
}

/// How text is compared.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fold {
    /// Case-sensitive.
    None,
    /// All needles are ASCII: the automaton folds ASCII case itself, the text is read as is.
    Ascii,
    /// Some needle is not ASCII: needles and text are lowercased (Unicode).
    Unicode,
}

/// A set of needles compiled once, matched as whole terms.
pub(crate) struct TermMatcher {
    ac: Option<AhoCorasick>,
    /// Per pattern: (needs a boundary on the left, needs a boundary on the right).
    bounds: Vec<(bool, bool)>,
    fold: Fold,
    /// Whether an empty needle was given (it matches every text).
    has_empty: bool,
}

impl TermMatcher {
    pub fn new<S: AsRef<str>>(needles: &[S], case_sensitive: bool) -> Result<TermMatcher> {
        let fold = if case_sensitive {
            Fold::None
        } else if needles.iter().all(|n| n.as_ref().is_ascii()) {
            Fold::Ascii
        } else {
            Fold::Unicode
        };
        let mut patterns: Vec<String> = Vec::with_capacity(needles.len());
        let mut has_empty = false;
        for n in needles {
            let n = n.as_ref();
            if n.is_empty() {
                has_empty = true;
                continue;
            }
            let p = match fold {
                Fold::None => n.to_string(),
                Fold::Ascii => n.to_ascii_lowercase(),
                Fold::Unicode => n.to_lowercase(),
            };
            if !patterns.contains(&p) {
                patterns.push(p);
            }
        }
        let bounds = patterns
            .iter()
            .map(|p| (starts_with_term_char(p), ends_with_term_char(p)))
            .collect();
        let ac = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::Standard)
                    .ascii_case_insensitive(fold == Fold::Ascii)
                    .build(&patterns)
                    .map_err(|e| exec_datafusion_err!("has: cannot compile terms: {e}"))?,
            )
        };
        Ok(TermMatcher {
            ac,
            bounds,
            fold,
            has_empty,
        })
    }

    /// Calls `found(pattern)` for every occurrence at term boundaries until it returns true.
    fn scan(&self, text: &str, mut found: impl FnMut(usize) -> bool) {
        let Some(ac) = &self.ac else { return };
        let lowered;
        let text = if self.fold == Fold::Unicode && !text.is_ascii() {
            lowered = text.to_lowercase();
            lowered.as_str()
        } else if self.fold == Fold::Unicode {
            // ASCII text against lowercased needles: fold the text too.
            lowered = text.to_ascii_lowercase();
            lowered.as_str()
        } else {
            text
        };
        for m in ac.find_overlapping_iter(text) {
            let p = m.pattern().as_usize();
            let (left, right) = self.bounds[p];
            if left
                && text[..m.start()]
                    .chars()
                    .next_back()
                    .is_some_and(is_term_char)
            {
                continue;
            }
            if right && text[m.end()..].chars().next().is_some_and(is_term_char) {
                continue;
            }
            if found(p) {
                return;
            }
        }
    }

    /// Whether any needle is a whole term of `text`.
    pub fn any(&self, text: &str) -> bool {
        if self.has_empty {
            return true;
        }
        let mut hit = false;
        self.scan(text, |_| {
            hit = true;
            true
        });
        hit
    }

    /// Whether every needle is a whole term of `text`.
    pub fn all(&self, text: &str) -> bool {
        let want = self.bounds.len();
        if want == 0 {
            return true;
        }
        let mut seen = vec![false; want];
        let mut count = 0;
        self.scan(text, |p| {
            if !seen[p] {
                seen[p] = true;
                count += 1;
            }
            count == want
        });
        count == want
    }
}

/// The needles of a scalar term argument: a JSON array is expanded into its elements.
pub(crate) fn expand_terms(value: &str, out: &mut Vec<String>) {
    if value.starts_with('[')
        && let Ok(serde_json::Value::Array(items)) =
            serde_json::from_str::<serde_json::Value>(value)
    {
        for item in &items {
            if !item.is_null() {
                out.push(crate::dynamic::json_to_kql_string(item));
            }
        }
        return;
    }
    out.push(value.to_string());
}

#[derive(Clone, Copy)]
enum Mode {
    Any,
    All,
}

fn eval(
    args: &ScalarFunctionArgs,
    case_sensitive: bool,
    mode: Mode,
    expand: bool,
) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let text = StrArg::new(&args.args[0])?;
    let terms: Vec<StrArg> = args.args[1..]
        .iter()
        .map(StrArg::new)
        .collect::<Result<_>>()?;
    let all_terms_scalar = args.args[1..]
        .iter()
        .all(|a| matches!(a, ColumnarValue::Scalar(_)));
    let collect = |row: usize| {
        let mut needles = Vec::with_capacity(terms.len());
        for t in &terms {
            let v = t.get(row).unwrap_or("");
            if expand {
                expand_terms(v, &mut needles);
            } else {
                needles.push(v.to_string());
            }
        }
        needles
    };
    let test = |m: &TermMatcher, s: &str| match mode {
        Mode::Any => m.any(s),
        Mode::All => m.all(s),
    };
    let out: BooleanArray = if all_terms_scalar {
        let matcher = TermMatcher::new(&collect(0), case_sensitive)?;
        (0..rows.n)
            .map(|i| Some(test(&matcher, text.get(i).unwrap_or(""))))
            .collect()
    } else {
        // Terms vary by row: compile per row, reusing the matcher while the terms repeat.
        let mut cache: Option<(Vec<String>, TermMatcher)> = None;
        let mut out = Vec::with_capacity(rows.n);
        for i in 0..rows.n {
            let needles = collect(i);
            if cache.as_ref().is_none_or(|(n, _)| *n != needles) {
                let m = TermMatcher::new(&needles, case_sensitive)?;
                cache = Some((needles, m));
            }
            let (_, m) = cache.as_ref().expect("set above");
            out.push(Some(test(m, text.get(i).unwrap_or(""))));
        }
        out.into_iter().collect()
    };
    rows.finish(Arc::new(out))
}

fn coerce_two(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    all_text(name, t, 2, 2)
}

fn coerce_variadic(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    all_text(name, t, 2, usize::MAX)
}

pub(crate) fn kql_has() -> Spec {
    Spec {
        name: "kql_has",
        coerce: coerce_two,
        ret: ret_bool,
        ret_field: None,
        invoke: |a| eval(a, false, Mode::Any, false),
    }
}

pub(crate) fn kql_has_cs() -> Spec {
    Spec {
        name: "kql_has_cs",
        coerce: coerce_two,
        ret: ret_bool,
        ret_field: None,
        invoke: |a| eval(a, true, Mode::Any, false),
    }
}

pub(crate) fn kql_has_any() -> Spec {
    Spec {
        name: "kql_has_any",
        coerce: coerce_variadic,
        ret: ret_bool,
        ret_field: None,
        invoke: |a| eval(a, false, Mode::Any, true),
    }
}

pub(crate) fn kql_has_all() -> Spec {
    Spec {
        name: "kql_has_all",
        coerce: coerce_variadic,
        ret: ret_bool,
        ret_field: None,
        invoke: |a| eval(a, false, Mode::All, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{call_bool, s};

    fn has(text: &str, term: &str) -> bool {
        TermMatcher::new(&[term], false).unwrap().any(text)
    }

    fn has_cs(text: &str, term: &str) -> bool {
        TermMatcher::new(&[term], true).unwrap().any(text)
    }

    #[test]
    fn doc_examples() {
        // has-operator page and string-operators page.
        assert!(has("North America", "america"));
        assert!(!has("North America", "amer"));
        assert!(has_cs("North America", "America"));
        assert!(!has_cs("North America", "america"));
        assert!(!has("KustoExplorerQueryRun", "Explorer"));
        let s = "Kusto: ad67d136-c1db-4f9f-88ef-d94f3b6b0b5a;KustoExplorerQueryRun";
        for t in [
            "Kusto",
            "ad67d136",
            "c1db",
            "4f9f",
            "88ef",
            "d94f3b6b0b5a",
            "KustoExplorerQueryRun",
        ] {
            assert!(has(s, t), "{t}");
        }
        assert!(!has(s, "d94f3b"));
        assert!(has("NEW YORK", "New"));
    }

    #[test]
    fn punctuation_in_needle() {
        assert!(has(
            "powershell.exe -EncodedCommand SQBFAFgA",
            "-EncodedCommand"
        ));
        assert!(has(
            "powershell.exe -encodedcommand SQBFAFgA",
            "-EncodedCommand"
        ));
        assert!(has("powershell.exe x-EncodedCommand y", "-EncodedCommand"));
        assert!(!has("powershell.exe -EncodedCommandX", "-EncodedCommand"));
        assert!(has("src=10.0.0.1 dst=10.0.0.2", "10.0.0.1"));
        assert!(has("10.0.0.1", "10.0.0.1"));
        assert!(!has("src=10.0.0.12", "10.0.0.1"));
        assert!(!has("src=110.0.0.1", "10.0.0.1"));
        assert!(has("User-Agent: curl/7.68.0", "curl/7"));
        assert!(!has("User-Agent: curl/75", "curl/7"));
        assert!(!has("User-Agent: xcurl/7", "curl/7"));
        assert!(has("C:\\Windows\\System32\\cmd.exe /c whoami", "cmd.exe"));
        assert!(has("C:\\Windows\\System32\\cmd.exe", "\\cmd.exe"));
        assert!(!has("C:\\Windows\\System32\\xcmd.exe", "cmd.exe"));
        // A needle ending in punctuation needs no boundary after it.
        assert!(has("a=/tmp/x", "a="));
        // Overlapping candidates: the first occurrence fails, a later one passes.
        assert!(has("adminx admin", "admin"));
    }

    #[test]
    fn case_and_unicode() {
        assert!(has("ÉCOLE Normale", "école"));
        assert!(has("Ärger über", "über"));
        // Non-ASCII letters are term characters.
        assert!(!has("überall", "all"));
        assert!(has("x ÜBER y", "über"));
        assert!(!has_cs("x ÜBER y", "über"));
    }

    #[test]
    fn empty_needle_and_text() {
        assert!(has("anything", ""));
        assert!(has("", ""));
        assert!(!has("", "a"));
    }

    #[test]
    fn any_all() {
        let m = TermMatcher::new(&["cmd", "powershell", "pwsh"], false).unwrap();
        assert!(m.any("C:\\x\\PowerShell.exe -nop"));
        assert!(!m.any("C:\\x\\PowerShellx.exe"));
        assert!(!m.all("powershell cmd"));
        assert!(m.all("pwsh powershell cmd"));
        assert!(m.all("cmd pwsh PowerShell cmd"));
        let m = TermMatcher::new(&["a", "a"], false).unwrap();
        assert!(m.all("x a"));
    }

    #[test]
    fn as_udf_with_arrays_scalars_and_nulls() {
        let texts = vec![
            Some("North America"),
            None,
            Some("net user /add"),
            Some("x"),
        ];
        let got = call_bool(kql_has(), &[s(&texts), crate::testing::lit("america")]);
        assert_eq!(got, vec![Some(true), Some(false), Some(false), Some(false)]);
        // Needle per row.
        let needles = vec![Some("north"), Some(""), Some("/add"), None];
        let got = call_bool(kql_has(), &[s(&texts), s(&needles)]);
        assert_eq!(got, vec![Some(true), Some(true), Some(true), Some(true)]);
        let got = call_bool(
            kql_has_any(),
            &[
                s(&texts),
                crate::testing::lit("nope"),
                crate::testing::lit(r#"["user","other"]"#),
            ],
        );
        assert_eq!(got, vec![Some(false), Some(false), Some(true), Some(false)]);
        let got = call_bool(
            kql_has_all(),
            &[
                s(&texts),
                crate::testing::lit("net"),
                crate::testing::lit("add"),
            ],
        );
        assert_eq!(got, vec![Some(false), Some(false), Some(true), Some(false)]);
        let got = call_bool(kql_has_cs(), &[s(&texts), crate::testing::lit("America")]);
        assert_eq!(got[0], Some(true));
    }
}
