//! Search macros: `` `name` `` and `` `name(arg, ...)` `` replaced by their definitions before
//! the query is parsed, as Splunk expands them. Definitions come from files: Splunk's
//! `macros.conf` (`[name]` or `[name(2)]` stanzas with `definition =` and `args =`) or Splunk
//! security_content's YAML (`name`, `definition`, `arguments`).
//! (https://docs.splunk.com/Documentation/Splunk/latest/Admin/Macrosconf)

use std::collections::BTreeMap;

use spoor_core::{Diagnostic, Span};

/// A macro's definition and argument names.
#[derive(Debug, Clone, PartialEq)]
pub struct Macro {
    pub definition: String,
    pub args: Vec<String>,
}

/// Macros by name and argument count (`name` or `name(2)`, as macros.conf keys them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Macros {
    by_key: BTreeMap<String, Macro>,
}

fn key(name: &str, arity: usize) -> String {
    if arity == 0 {
        name.to_string()
    } else {
        format!("{name}({arity})")
    }
}

impl Macros {
    /// Adds a macro (a later definition of the same key replaces an earlier one).
    pub fn define(&mut self, name: &str, args: Vec<String>, definition: &str) {
        self.by_key.insert(
            key(name, args.len()),
            Macro {
                definition: definition.trim().to_string(),
                args,
            },
        );
    }

    /// Reads a macros file: `.yml`/`.yaml` as security_content YAML, anything else as
    /// macros.conf. The error names the line.
    pub fn read(&mut self, path: &std::path::Path) -> Result<(), String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the macros file {}: {e}", path.display()))?;
        let is_yaml = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"));
        let result = if is_yaml {
            self.read_yaml(&text)
        } else {
            self.read_conf(&text)
        };
        result.map_err(|e| format!("{}: {e}", path.display()))
    }

    /// macros.conf: `[name]` or `[name(N)]`, then `definition = ...` (a trailing `\` continues
    /// the value on the next line) and `args = a, b`.
    pub fn read_conf(&mut self, text: &str) -> Result<(), String> {
        let mut current: Option<(String, Option<String>, Vec<String>)> = None;
        let finish = |m: &mut Macros, c: Option<(String, Option<String>, Vec<String>)>| {
            if let Some((name, Some(def), args)) = c {
                let base = name.split('(').next().unwrap_or(&name).trim().to_string();
                m.define(&base, args, &def);
            }
        };
        let mut lines = text.lines().enumerate().peekable();
        while let Some((i, line)) = lines.next() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                finish(self, current.take());
                current = Some((name.trim().to_string(), None, Vec::new()));
                continue;
            }
            let Some((k, v)) = trimmed.split_once('=') else {
                return Err(format!("line {}: expected `key = value`", i + 1));
            };
            let Some(stanza) = current.as_mut() else {
                return Err(format!(
                    "line {}: a setting before any [macro] stanza",
                    i + 1
                ));
            };
            let mut value = v.trim().to_string();
            while value.ends_with('\\') {
                value.pop();
                match lines.next() {
                    Some((_, next)) => {
                        value.push('\n');
                        value.push_str(next.trim());
                    }
                    None => break,
                }
            }
            match k.trim() {
                "definition" => stanza.1 = Some(value),
                "args" => {
                    stanza.2 = value
                        .split(',')
                        .map(|a| a.trim().to_string())
                        .filter(|a| !a.is_empty())
                        .collect()
                }
                _ => {}
            }
        }
        finish(self, current.take());
        Ok(())
    }

    /// security_content's YAML: one macro per file (`name`, `definition`, `arguments`), or a
    /// list of them.
    pub fn read_yaml(&mut self, text: &str) -> Result<(), String> {
        let doc: serde_json::Value = yaml_serde::from_str(text).map_err(|e| e.to_string())?;
        let items = match doc {
            serde_json::Value::Array(items) => items,
            one => vec![one],
        };
        for item in items {
            let name = item["name"]
                .as_str()
                .ok_or("a macro without `name`")?
                .to_string();
            let definition = item["definition"].as_str().unwrap_or_default().to_string();
            let args = item["arguments"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            self.define(&name, args, &definition);
        }
        Ok(())
    }

    fn get(&self, name: &str, arity: usize) -> Option<&Macro> {
        self.by_key.get(&key(name, arity))
    }

    /// Whether any macro has this name (with another number of arguments).
    fn any_named(&self, name: &str) -> bool {
        self.by_key
            .keys()
            .any(|k| k == name || k.starts_with(&format!("{name}(")))
    }
}

/// Where a macro's expansion sits in the expanded text, to point errors at the macro.
#[derive(Debug, Clone, Copy)]
pub struct Expansion {
    /// The macro call in the text as written.
    pub call: Span,
    /// Its expansion in the expanded text.
    pub expanded: Span,
}

/// The text with every macro call expanded (recursively), and where each expansion sits.
pub fn expand(text: &str, macros: &Macros) -> Result<(String, Vec<Expansion>), Diagnostic> {
    let mut out = String::new();
    let mut expansions = Vec::new();
    let mut rest = text;
    let mut offset = 0usize;
    while let Some(open) = find_outside_quotes(rest, '`') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('`').ok_or_else(|| {
            Diagnostic::new(
                "unclosed macro call",
                Span::new((offset + open) as u32, (offset + open + 1) as u32),
            )
            .with_hint("a macro is called as `name` or `name(arg, ...)`, in backticks")
        })?;
        let call_text = &after[..close];
        let call = Span::new((offset + open) as u32, (offset + open + close + 2) as u32);
        let body = expand_call(call_text, macros, call, 0)?;
        let start = out.len();
        out.push_str(&body);
        expansions.push(Expansion {
            call,
            expanded: Span::new(start as u32, out.len() as u32),
        });
        let consumed = open + close + 2;
        rest = &rest[consumed..];
        offset += consumed;
    }
    out.push_str(rest);
    Ok((out, expansions))
}

fn expand_call(
    call_text: &str,
    macros: &Macros,
    at: Span,
    depth: usize,
) -> Result<String, Diagnostic> {
    if depth > 20 {
        return Err(Diagnostic::new(
            "macros expand into themselves too deeply",
            at,
        ));
    }
    let (name, args) = match call_text.split_once('(') {
        Some((name, rest)) => {
            let inner = rest
                .trim_end()
                .strip_suffix(')')
                .ok_or_else(|| Diagnostic::new("a macro's arguments end with `)`", at))?;
            (name.trim(), split_args(inner))
        }
        None => (call_text.trim(), Vec::new()),
    };
    let Some(m) = macros.get(name, args.len()) else {
        let mut d = Diagnostic::new(format!("macro `{name}` is not defined"), at);
        d = if macros.any_named(name) {
            d.with_hint(format!(
                "`{name}` is defined with another number of arguments than {}",
                args.len()
            ))
        } else if name.ends_with("_filter") {
            d.with_hint(
                "give its definition with --macros FILE (macros.conf or security_content YAML); \
                 security_content's `_filter` macros are empty by default: `definition = search *`",
            )
        } else {
            d.with_hint(
                "give its definition with --macros FILE (macros.conf or security_content YAML)",
            )
        };
        return Err(d);
    };
    let mut body = m.definition.clone();
    for (param, value) in m.args.iter().zip(&args) {
        body = body.replace(&format!("${param}$"), value);
    }
    // Macros inside the definition.
    let mut out = String::new();
    let mut rest = body.as_str();
    while let Some(open) = find_outside_quotes(rest, '`') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('`').ok_or_else(|| {
            Diagnostic::new(format!("macro `{name}` has an unclosed macro call"), at)
        })?;
        out.push_str(&expand_call(&after[..close], macros, at, depth + 1)?);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Arguments split at top-level commas, quotes kept as written.
fn split_args(inner: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for c in inner.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                current.push(c);
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                current.push(c);
            }
            (None, ',') => out.push(std::mem::take(&mut current).trim().to_string()),
            _ => current.push(c),
        }
    }
    if !current.trim().is_empty() || !out.is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

/// The first `c` that is not inside a double-quoted string.
fn find_outside_quotes(text: &str, c: char) -> Option<usize> {
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, ch) in text.char_indices() {
        match ch {
            '\\' if in_quotes && !escaped => {
                escaped = true;
                continue;
            }
            '"' if !escaped => in_quotes = !in_quotes,
            ch if ch == c && !in_quotes => return Some(i),
            _ => {}
        }
        escaped = false;
    }
    None
}

/// A span of the expanded text as a span of the text as written: inside an expansion, the
/// macro call.
pub fn unexpand(span: Span, expansions: &[Expansion]) -> Span {
    let mut shift: i64 = 0;
    for e in expansions {
        if span.start >= e.expanded.start
            && span.start <= e.expanded.end
            && e.expanded.end > e.expanded.start
        {
            return e.call;
        }
        if span.start > e.expanded.end {
            shift +=
                i64::from(e.call.end - e.call.start) - i64::from(e.expanded.end - e.expanded.start);
        }
    }
    let map = |o: u32| u32::try_from((i64::from(o) + shift).max(0)).unwrap_or(u32::MAX);
    Span::new(map(span.start), map(span.end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conf_and_yaml_macros_expand_with_arguments() {
        let mut m = Macros::default();
        m.read_conf(
            "# site macros\n[kubernetes_azure]\ndefinition = sourcetype=mscs:storage:blob:json\n\n\
             [x_filter]\ndefinition = search *\n[by_code(1)]\nargs = code\ndefinition = \\\n  search responseStatus.code=$code$\n",
        )
        .unwrap();
        m.read_yaml("name: wrapped\ndefinition: '`kubernetes_azure` category=kube-audit'\n")
            .unwrap();
        let (text, ex) = expand("`wrapped` | `by_code(401)` |`x_filter`", &m).unwrap();
        assert_eq!(
            text,
            "sourcetype=mscs:storage:blob:json category=kube-audit | search responseStatus.code=401 |search *"
        );
        assert_eq!(ex.len(), 3);
        // A position after the first expansion maps back into the text as written.
        let after = Span::new(ex[0].expanded.end + 1, ex[0].expanded.end + 2);
        assert_eq!(unexpand(after, &ex).start, ex[0].call.end + 1);
    }

    #[test]
    fn undefined_macros_say_what_to_do() {
        let e = expand("`nope_filter`", &Macros::default()).unwrap_err();
        assert!(e.hint.unwrap().contains("search *"));
        assert_eq!(e.span, Span::new(0, 13));
        let mut m = Macros::default();
        m.define("two", vec!["a".into(), "b".into()], "x");
        let e = expand("`two(1)`", &m).unwrap_err();
        assert!(e.hint.unwrap().contains("another number of arguments"));
    }
}
