//! jq and JMESPath filters over JSON values.
//!
//! `spoor query --jq/--jmespath` runs them over the JSON array of result rows, and
//! `spoor aws ... --query/--jq` over the response that the AWS CLI would print, so that the
//! `aws ... | jq 'X'` and `aws ... --query 'X'` commands of hunting playbooks run offline as
//! written. jq is interpreted by jaq (a jq clone written in Rust); JMESPath by the `jmespath`
//! crate (the JMESPath project's Rust implementation, which the AWS CLI's Python one follows).
//!
//! A filter is compiled once, before any evidence is read, so that a mistake in it is reported
//! first ([`FilterError::Syntax`], with the column); running it gives every output value, or the
//! error jq or JMESPath raised ([`FilterError::Runtime`]).

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write};

use serde_json::Value;

/// The filter languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Jq,
    JmesPath,
}

impl Language {
    /// The flag that takes an expression of this language, for messages.
    pub fn flag(self) -> &'static str {
        match self {
            Language::Jq => "--jq",
            Language::JmesPath => "--jmespath",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Language::Jq => "jq",
            Language::JmesPath => "JMESPath",
        }
    }
}

/// What went wrong with a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterError {
    /// The expression does not parse (or names something undefined).
    Syntax {
        language: Language,
        expression: String,
        /// 1-based column (in characters) of the first mistake, when known.
        column: Option<usize>,
        message: String,
    },
    /// The expression parsed, but failed on this input (jq's `error`, a type error...).
    Runtime { language: Language, message: String },
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterError::Syntax {
                language,
                expression,
                column,
                message,
            } => {
                write!(f, "the {} expression is not valid", language.name())?;
                match column {
                    Some(c) => {
                        write!(f, " at column {c}: {message}\n  {expression}\n  ")?;
                        write!(f, "{}^", " ".repeat(c.saturating_sub(1)))
                    }
                    None => write!(f, ": {message}\n  {expression}"),
                }
            }
            FilterError::Runtime { language, message } => {
                write!(f, "the {} filter failed: {message}", language.name())
            }
        }
    }
}

impl std::error::Error for FilterError {}

/// A compiled jq or JMESPath expression.
pub struct Filter {
    text: String,
    inner: Inner,
}

enum Inner {
    Jq(jaq_core::Filter<jaq_core::data::JustLut<jaq_json::Val>>),
    JmesPath(Box<jmespath::Expression<'static>>),
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filter")
            .field("language", &self.language())
            .field("text", &self.text)
            .finish()
    }
}

impl Filter {
    /// Compiles an expression of `language`.
    pub fn new(language: Language, text: &str) -> Result<Filter, FilterError> {
        match language {
            Language::Jq => Filter::jq(text),
            Language::JmesPath => Filter::jmespath(text),
        }
    }

    /// Compiles a jq program (jq 1.7's language as jaq implements it, with its standard
    /// library: `select`, `startswith`, `fromjson`, `unique`, `group_by`...).
    pub fn jq(text: &str) -> Result<Filter, FilterError> {
        use jaq_core::load::{Arena, File, Loader};
        let syntax = |column: Option<usize>, message: String| FilterError::Syntax {
            language: Language::Jq,
            expression: text.to_string(),
            column,
            message,
        };
        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs());
        let funs = jaq_core::funs()
            .chain(jaq_std::funs())
            .chain(jaq_json::funs());
        let arena = Arena::default();
        let modules = Loader::new(defs)
            .load(
                &arena,
                File {
                    code: text,
                    path: (),
                },
            )
            .map_err(|errors| {
                let (column, message) = first_load_error(text, &errors);
                syntax(column, message)
            })?;
        let filter = jaq_core::Compiler::default()
            .with_funs(funs)
            .compile(modules)
            .map_err(|errors| {
                let first = errors.iter().flat_map(|(_, es)| es.iter()).next();
                match first {
                    Some((name, undefined)) => syntax(
                        column_of(text, name),
                        format!("{} `{name}` is not defined", undefined.as_str()),
                    ),
                    None => syntax(None, "the program does not compile".into()),
                }
            })?;
        Ok(Filter {
            text: text.to_string(),
            inner: Inner::Jq(filter),
        })
    }

    /// Compiles a JMESPath expression (the language of the AWS CLI's `--query`).
    pub fn jmespath(text: &str) -> Result<Filter, FilterError> {
        let (rewritten, edits) = legacy_literals(text);
        let expression = jmespath::compile(&rewritten).map_err(|e| FilterError::Syntax {
            language: Language::JmesPath,
            expression: text.to_string(),
            // The crate counts columns from 0, in the rewritten text.
            column: Some(original_column(e.column, &edits) + 1),
            message: reason(&e),
        })?;
        Ok(Filter {
            text: text.to_string(),
            inner: Inner::JmesPath(Box::new(expression)),
        })
    }

    /// The expression's language.
    pub fn language(&self) -> Language {
        match self.inner {
            Inner::Jq(_) => Language::Jq,
            Inner::JmesPath(_) => Language::JmesPath,
        }
    }

    /// The expression as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Runs the filter on `input`: every value it outputs (JMESPath outputs exactly one; jq
    /// zero or more). The first runtime error stops it.
    pub fn run(&self, input: &Value) -> Result<Vec<Value>, FilterError> {
        match &self.inner {
            Inner::Jq(filter) => run_jq(filter, input),
            Inner::JmesPath(expression) => run_jmespath(expression, input).map(|v| vec![v]),
        }
    }
}

/// The column and description of the first error the jq loader reports.
fn first_load_error(
    code: &str,
    errors: &jaq_core::load::Errors<&str, ()>,
) -> (Option<usize>, String) {
    use jaq_core::load::Error;
    for (_, error) in errors {
        match error {
            Error::Lex(es) => {
                if let Some((expect, found)) = es.first() {
                    let what = match expect {
                        jaq_core::load::lex::Expect::Delim(open) => {
                            format!("`{open}` is not closed")
                        }
                        other => format!("expected {}", other.as_str()),
                    };
                    return (column_of(code, found), what);
                }
            }
            Error::Parse(es) => {
                if let Some((expect, found)) = es.first() {
                    let found_text = if found.is_empty() {
                        "the end of the program".to_string()
                    } else {
                        format!("`{}`", found.chars().take(20).collect::<String>())
                    };
                    return (
                        column_of(code, found),
                        format!("expected {}, found {found_text}", expect.as_str()),
                    );
                }
            }
            Error::Io(es) => {
                if let Some((path, message)) = es.first() {
                    return (
                        column_of(code, path),
                        format!("cannot load module {path}: {message}"),
                    );
                }
            }
        }
    }
    (None, "the program does not parse".into())
}

/// The 1-based character column where `part` (a slice of `code`, as jaq's errors are) starts.
fn column_of(code: &str, part: &str) -> Option<usize> {
    let offset = (part.as_ptr() as usize).checked_sub(code.as_ptr() as usize)?;
    if offset > code.len() || !code.is_char_boundary(offset) {
        return None;
    }
    let before = &code[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Some(before[line_start..].chars().count() + 1)
}

/// Rewrites JMESPath literals that are not JSON (`` `i-` ``) as the JSON strings that the
/// AWS CLI's Python JMESPath reads them as (a deprecated form that playbooks still use:
/// `starts_with(Username, `i-`)`); the Rust crate refuses them. Returns the new text and, for
/// each rewrite, the character column after it in the new text and the characters it added.
fn legacy_literals(text: &str) -> (String, Vec<(usize, usize)>) {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut edits = Vec::new();
    let mut out_len = 0usize;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' || c == '"' || c == '`' {
            // A raw string, a quoted identifier or a literal: find its closing delimiter.
            let mut j = i + 1;
            while j < chars.len() && chars[j] != c {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            let end = j.min(chars.len());
            let body: String = chars[i + 1..end].iter().collect();
            let closed = j < chars.len();
            if c == '`' && closed {
                let content = body.replace("\\`", "`");
                let is_json = serde_json::from_str::<serde_json::Value>(&content).is_ok();
                if let (false, Ok(serde_json::Value::String(s))) = (
                    is_json,
                    serde_json::from_str::<serde_json::Value>(&format!("\"{content}\"")),
                ) {
                    let literal = format!(
                        "`{}`",
                        serde_json::to_string(&s)
                            .expect("a string serialises")
                            .replace('`', "\\`")
                    );
                    let written = literal.chars().count();
                    let original = end + 1 - i;
                    out.push_str(&literal);
                    out_len += written;
                    edits.push((out_len, written.saturating_sub(original)));
                    i = end + 1;
                    continue;
                }
            }
            let upto = if closed { end + 1 } else { end };
            let piece: String = chars[i..upto].iter().collect();
            out_len += upto - i;
            out.push_str(&piece);
            i = upto;
            continue;
        }
        out.push(c);
        out_len += 1;
        i += 1;
    }
    (out, edits)
}

/// The column in the text as written of a column in [`legacy_literals`]' rewritten text.
fn original_column(column: usize, edits: &[(usize, usize)]) -> usize {
    let added: usize = edits
        .iter()
        .filter(|(after, _)| *after <= column)
        .map(|(_, n)| n)
        .sum();
    column.saturating_sub(added)
}

/// A JMESPath error's reason without the crate's own rendering of the expression.
fn reason(e: &jmespath::JmespathError) -> String {
    match &e.reason {
        jmespath::ErrorReason::Parse(m) => m.clone(),
        jmespath::ErrorReason::Runtime(r) => r.to_string(),
    }
}

fn run_jq(
    filter: &jaq_core::Filter<jaq_core::data::JustLut<jaq_json::Val>>,
    input: &Value,
) -> Result<Vec<Value>, FilterError> {
    use jaq_core::{Ctx, Vars};
    let runtime = |message: String| FilterError::Runtime {
        language: Language::Jq,
        message,
    };
    // serde_json writes valid JSON, which jaq's reader takes as is (numbers keep their text).
    let text = serde_json::to_vec(input).map_err(|e| runtime(e.to_string()))?;
    let input = jaq_json::read::parse_single(&text).map_err(|e| runtime(e.to_string()))?;
    let ctx = Ctx::<jaq_core::data::JustLut<jaq_json::Val>>::new(&filter.lut, Vars::new([]));
    let mut out = Vec::new();
    for result in filter.id.run((ctx, input)) {
        match result {
            Ok(v) => out.push(val_to_json(&v)),
            Err(exn) => {
                // Not `unwrap_valr`: it exits the process on `halt`.
                return Err(match exn.get_err() {
                    Ok(error) => runtime(error.to_string()),
                    Err(other) => match other.get_halt() {
                        Ok(code) => runtime(format!("the program halted with exit code {code}")),
                        Err(_) => runtime("the program stopped unexpectedly".into()),
                    },
                });
            }
        }
    }
    Ok(out)
}

/// A jaq value as JSON. jaq prints JSON (compact); what is not JSON (a byte string, a key
/// that is not a string, NaN) is kept as the text jaq prints.
fn val_to_json(v: &jaq_json::Val) -> Value {
    if let jaq_json::Val::TStr(bytes) = v {
        return Value::String(String::from_utf8_lossy(bytes).into_owned());
    }
    let text = v.to_string();
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

fn run_jmespath(
    expression: &jmespath::Expression<'static>,
    input: &Value,
) -> Result<Value, FilterError> {
    let runtime = |e: jmespath::JmespathError| FilterError::Runtime {
        language: Language::JmesPath,
        message: reason(&e),
    };
    let result = expression.search(input).map_err(runtime)?;
    let value = serde_json::to_value(&*result).map_err(|e| FilterError::Runtime {
        language: Language::JmesPath,
        message: e.to_string(),
    })?;
    Ok(restore_key_order(expression.as_ast(), input, value))
}

/// The JMESPath crate keeps objects in sorted key order; Python's, which the AWS CLI prints
/// with, keeps a multi-select hash's keys in the order written and the input's keys in the
/// input's order. Puts the keys back in that order: an object with exactly the keys of a
/// multi-select hash of the expression takes the hash's order, any other the order its keys
/// first appear in the input.
fn restore_key_order(ast: &jmespath::ast::Ast, input: &Value, value: Value) -> Value {
    let mut hashes: Vec<Vec<String>> = Vec::new();
    collect_hashes(ast, &mut hashes);
    let mut rank: HashMap<String, usize> = HashMap::new();
    rank_keys(input, &mut rank);
    reorder(value, &hashes, &rank)
}

fn collect_hashes(ast: &jmespath::ast::Ast, out: &mut Vec<Vec<String>>) {
    use jmespath::ast::Ast;
    match ast {
        Ast::MultiHash { elements, .. } => {
            out.push(elements.iter().map(|kv| kv.key.clone()).collect());
            for kv in elements {
                collect_hashes(&kv.value, out);
            }
        }
        Ast::Comparison { lhs, rhs, .. }
        | Ast::Projection { lhs, rhs, .. }
        | Ast::And { lhs, rhs, .. }
        | Ast::Or { lhs, rhs, .. }
        | Ast::Subexpr { lhs, rhs, .. } => {
            collect_hashes(lhs, out);
            collect_hashes(rhs, out);
        }
        Ast::Condition {
            predicate, then, ..
        } => {
            collect_hashes(predicate, out);
            collect_hashes(then, out);
        }
        Ast::Expref { ast, .. } => collect_hashes(ast, out),
        Ast::Flatten { node, .. } | Ast::Not { node, .. } | Ast::ObjectValues { node, .. } => {
            collect_hashes(node, out)
        }
        Ast::Function { args, .. } => args.iter().for_each(|a| collect_hashes(a, out)),
        Ast::MultiList { elements, .. } => elements.iter().for_each(|a| collect_hashes(a, out)),
        Ast::Identity { .. }
        | Ast::Field { .. }
        | Ast::Index { .. }
        | Ast::Literal { .. }
        | Ast::Slice { .. } => {}
    }
}

fn rank_keys(v: &Value, rank: &mut HashMap<String, usize>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let next = rank.len();
                rank.entry(k.clone()).or_insert(next);
                rank_keys(child, rank);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| rank_keys(i, rank)),
        _ => {}
    }
}

fn reorder(value: Value, hashes: &[Vec<String>], rank: &HashMap<String, usize>) -> Value {
    match value {
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|i| reorder(i, hashes, rank))
                .collect(),
        ),
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map
                .into_iter()
                .map(|(k, v)| (k, reorder(v, hashes, rank)))
                .collect();
            let hash = hashes.iter().find(|keys| {
                keys.len() == entries.len() && entries.iter().all(|(k, _)| keys.contains(k))
            });
            match hash {
                Some(keys) => {
                    entries.sort_by_key(|(k, _)| keys.iter().position(|h| h == k));
                }
                // Stable: keys the input does not have stay sorted, after the others.
                None => entries.sort_by_key(|(k, _)| rank.get(k).copied().unwrap_or(usize::MAX)),
            }
            Value::Object(entries.into_iter().collect())
        }
        other => other,
    }
}

/// Writes each value on its own line as compact JSON, or, with `raw`, strings as their text
/// (jq's `--raw-output`).
pub fn write_values(out: &mut dyn Write, values: &[Value], raw: bool) -> io::Result<()> {
    for v in values {
        match v {
            Value::String(s) if raw => out.write_all(s.as_bytes())?,
            other => serde_json::to_writer(&mut *out, other)?,
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn events() -> Value {
        json!({"Events": [
            {"EventId": "1", "EventName": "ListBuckets", "Username": "i-0abc",
             "CloudTrailEvent": "{\"errorCode\":\"AccessDenied\"}"},
            {"EventId": "2", "EventName": "ListBuckets", "Username": "alice",
             "CloudTrailEvent": "{}"},
            {"EventId": "3", "EventName": "CreateBucket", "Username": "i-0abc",
             "CloudTrailEvent": "{}"}
        ]})
    }

    #[test]
    fn jq_selects_and_parses_nested_json() {
        let f = Filter::jq(
            r#".Events[]|select((.Username | startswith("i-")) and (.CloudTrailEvent|fromjson|select(.errorCode=="AccessDenied")))|.EventId"#,
        )
        .unwrap();
        assert_eq!(f.run(&events()).unwrap(), vec![json!("1")]);
    }

    #[test]
    fn jq_outputs_every_value_in_order() {
        let f = Filter::jq("[.Events[].EventName] | unique[]").unwrap();
        assert_eq!(
            f.run(&events()).unwrap(),
            vec![json!("CreateBucket"), json!("ListBuckets")]
        );
        let f = Filter::jq("{EventId, n: 1}").unwrap();
        assert_eq!(
            f.run(&json!({"EventId": "x", "other": 2})).unwrap(),
            vec![json!({"EventId": "x", "n": 1})]
        );
    }

    #[test]
    fn jq_syntax_errors_say_where() {
        let e = Filter::jq(".Events[] | select(.a ==)").unwrap_err();
        let FilterError::Syntax {
            column, message, ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(*column, Some(25), "{message}");
        assert!(e.to_string().contains("at column 25"), "{e}");

        let e = Filter::jq(".a | (.b").unwrap_err();
        assert!(e.to_string().contains("`(` is not closed"), "{e}");

        let e = Filter::jq(".a | nosuchfilter").unwrap_err();
        let FilterError::Syntax {
            column, message, ..
        } = e
        else {
            panic!()
        };
        assert_eq!(column, Some(6));
        assert!(message.contains("nosuchfilter"), "{message}");
    }

    #[test]
    fn jq_runtime_errors_are_errors_not_panics() {
        let f = Filter::jq(".Events[] | .Username | startswith(1)").unwrap();
        let e = f.run(&events()).unwrap_err();
        assert!(matches!(e, FilterError::Runtime { .. }), "{e:?}");
        let f = Filter::jq(r#"error("stop")"#).unwrap();
        assert!(f.run(&json!(1)).unwrap_err().to_string().contains("stop"));
        // `halt` would end the process in jaq's own runner.
        let f = Filter::jq("halt").unwrap();
        assert!(f.run(&json!(1)).is_err());
    }

    #[test]
    fn jmespath_filters_like_the_aws_cli() {
        let f = Filter::jmespath(
            "Events[?starts_with(Username, `i-`)==`true`].{EventId:EventId,EventName:EventName,Username:Username}",
        )
        .unwrap();
        let out = f.run(&events()).unwrap();
        assert_eq!(
            out,
            vec![json!([
                {"EventId": "1", "EventName": "ListBuckets", "Username": "i-0abc"},
                {"EventId": "3", "EventName": "CreateBucket", "Username": "i-0abc"}
            ])]
        );
    }

    #[test]
    fn jmespath_reads_legacy_literals_as_python_does() {
        let (text, edits) = legacy_literals("starts_with(U, `i-`) == `true` && a == '`x`'");
        assert_eq!(text, "starts_with(U, `\"i-\"`) == `true` && a == '`x`'");
        assert_eq!(edits, vec![(21, 2)]);
        assert_eq!(original_column(30, &edits), 28);
        let f = Filter::jmespath("[?a == `foo bar`].b").unwrap();
        assert_eq!(
            f.run(&json!([{"a": "foo bar", "b": 1}, {"a": "x", "b": 2}]))
                .unwrap(),
            vec![json!([1])]
        );
        // Past a rewritten literal, columns are those of the text as written.
        let e = Filter::jmespath("[?a == `i-`] | ]").unwrap_err();
        let FilterError::Syntax { column, .. } = e else {
            panic!()
        };
        assert_eq!(column, Some(16));
    }

    #[test]
    fn jmespath_keeps_the_written_and_the_input_key_order() {
        let f = Filter::jmespath("Events[].{Username:Username,EventId:EventId}").unwrap();
        let out = f.run(&events()).unwrap();
        let keys: Vec<&String> = out[0][0].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["Username", "EventId"]);
        let f = Filter::jmespath("Events[0]").unwrap();
        let out = f.run(&events()).unwrap();
        let keys: Vec<&String> = out[0].as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["EventId", "EventName", "Username", "CloudTrailEvent"]
        );
    }

    #[test]
    fn jmespath_errors_say_where() {
        let e = Filter::jmespath("Events[?Username ==").unwrap_err();
        let FilterError::Syntax { column, .. } = &e else {
            panic!("{e:?}")
        };
        assert!(column.is_some(), "{e}");
        let f = Filter::jmespath("nosuch(Events)").unwrap();
        assert!(matches!(
            f.run(&events()).unwrap_err(),
            FilterError::Runtime { .. }
        ));
    }

    #[test]
    fn raw_output_prints_strings_as_text() {
        let mut out = Vec::new();
        write_values(&mut out, &[json!("a\"b"), json!({"k": 1}), json!(2)], true).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "a\"b\n{\"k\":1}\n2\n");
        let mut out = Vec::new();
        write_values(&mut out, &[json!("a")], false).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "\"a\"\n");
    }
}
