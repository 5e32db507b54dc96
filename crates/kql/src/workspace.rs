//! Workspace functions and watchlists: what a Sentinel workspace defines beside its tables.
//!
//! A folder of `.kql` files holds saved functions and parsers (`imAuthentication`, vendor
//! parsers...), one per file, named by the file: either a query (`SigninLogs | where ...`) or a
//! parameter list and a body (`(starttime:datetime = ago(1d)) { SigninLogs | where ... }`).
//! Queries call them by name, with or without arguments. Watchlists are CSV files read by
//! `_GetWatchlist('alias')`, the alias being the file name.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::syntax::ast::{FunctionDef, LetValue, StatementKind};

/// A watchlist: its CSV file and the columns of its header.
#[derive(Debug, Clone, PartialEq)]
pub struct Watchlist {
    pub path: PathBuf,
    pub columns: Vec<String>,
}

/// Functions and watchlists loaded from folders.
#[derive(Debug, Clone, Default)]
pub struct Workspace {
    pub functions: HashMap<String, FunctionDef>,
    pub watchlists: HashMap<String, Watchlist>,
}

/// A file that could not be loaded, with what was wrong (rendered with line and column).
#[derive(Debug, Clone)]
pub struct LoadError {
    pub path: PathBuf,
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

fn files_with_extension(dir: &Path, ext: &str) -> Result<Vec<PathBuf>, LoadError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| LoadError {
            path: d.clone(),
            message: e.to_string(),
        })?;
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case(ext)) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Parses one function file. The text is wrapped as `let <name> = ...;` so that the KQL parser
/// reads it; errors are rendered against the file's own text.
pub fn parse_function(name: &str, text: &str, origin: &str) -> Result<FunctionDef, String> {
    // The first thing that is not blank or a `//` comment tells the two forms apart.
    let code_start = text
        .lines()
        .map(str::trim_start)
        .find(|l| !l.is_empty() && !l.starts_with("//"))
        .unwrap_or_default();
    let with_params = (format!("let {name} = "), "\n;");
    let body_only = (format!("let {name} = () {{\n"), "\n};");
    let attempts = if code_start.starts_with('(') && text.contains('{') {
        vec![with_params, body_only]
    } else {
        vec![body_only]
    };
    let mut first_error = None;
    for (prefix, suffix) in attempts {
        let wrapped = format!("{prefix}{text}{suffix}");
        match crate::syntax::parse(&wrapped) {
            Ok(q) => {
                for s in q.statements {
                    if let StatementKind::Let(l) = s.kind
                        && let LetValue::Function(f) = l.value
                    {
                        return Ok(f);
                    }
                }
            }
            Err(ds) if first_error.is_none() => {
                // Point into the file's own text, not the wrapper around it.
                let shift = prefix.len() as u32;
                let end = text.len() as u32;
                let rendered: Vec<String> = ds
                    .into_iter()
                    .map(|mut d| {
                        d.span.start = d.span.start.saturating_sub(shift).min(end);
                        d.span.end = d.span.end.saturating_sub(shift).min(end).max(d.span.start);
                        d.render(text, origin)
                    })
                    .collect();
                first_error = Some(rendered.join("\n"));
            }
            Err(_) => {}
        }
    }
    Err(first_error.unwrap_or_else(|| "the file holds no function".to_string()))
}

include!(concat!(env!("OUT_DIR"), "/builtin_functions.rs"));

impl Workspace {
    /// The functions spoor carries (crates/kql/functions), before any user folder.
    pub fn builtin() -> Workspace {
        let mut w = Workspace::default();
        for (file, text) in BUILTIN_FUNCTIONS {
            let name = file.trim_end_matches(".kql");
            // A built-in that does not parse is a bug of spoor; a test loads them all.
            if let Ok(f) = parse_function(name, text, file) {
                w.functions.insert(name.to_string(), f);
            }
        }
        w
    }

    /// Loads every `.kql` file under `dir` as a function named by its file. A file that does not
    /// parse is reported and left out; the others load.
    pub fn load_functions(&mut self, dir: &Path) -> Vec<LoadError> {
        let files = match files_with_extension(dir, "kql") {
            Ok(f) => f,
            Err(e) => return vec![e],
        };
        let mut errors = Vec::new();
        for path in files {
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) => {
                    errors.push(LoadError {
                        path,
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            match parse_function(&name, &text, &path.display().to_string()) {
                Ok(f) => {
                    self.functions.insert(name, f);
                }
                Err(message) => errors.push(LoadError { path, message }),
            }
        }
        errors
    }

    /// Registers every `.csv` file under `dir` as a watchlist named by its file, with the columns
    /// of its header.
    pub fn load_watchlists(&mut self, dir: &Path) -> Vec<LoadError> {
        let files = match files_with_extension(dir, "csv") {
            Ok(f) => f,
            Err(e) => return vec![e],
        };
        let mut errors = Vec::new();
        for path in files {
            let alias = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let header = std::fs::read_to_string(&path)
                .map(|t| t.lines().next().unwrap_or_default().to_string());
            match header {
                Ok(h) if !h.trim().is_empty() => {
                    let columns = h
                        .split(',')
                        .map(|c| c.trim().trim_matches('"').to_string())
                        .collect();
                    self.watchlists.insert(alias, Watchlist { path, columns });
                }
                Ok(_) => errors.push(LoadError {
                    path,
                    message: "the watchlist has no header line".into(),
                }),
                Err(e) => errors.push(LoadError {
                    path,
                    message: e.to_string(),
                }),
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::{BUILTIN_FUNCTIONS, parse_function};

    #[test]
    fn every_builtin_function_parses_and_plans() {
        let workspace = super::Workspace::builtin();
        for (file, text) in BUILTIN_FUNCTIONS {
            let name = file.trim_end_matches(".kql");
            if let Err(e) = parse_function(name, text, file) {
                panic!("{e}");
            }
            // Called with its defaults, the function plans against the catalog.
            let mut options = crate::PlanOptions::without_data(0);
            options.workspace = workspace.clone();
            if let Err(ds) = crate::compile(&format!("{name} | take 1"), &options) {
                panic!("{file}: {}", ds[0].message);
            }
        }
    }

    #[test]
    fn a_body_or_parameters_and_a_body() {
        let f =
            parse_function("Failed", "SigninLogs | where ResultType != \"0\"", "f.kql").unwrap();
        assert!(f.params.is_empty());
        let f = parse_function(
            "Since",
            "(window:timespan = 1d) { SigninLogs | where TimeGenerated > ago(window) }",
            "f.kql",
        )
        .unwrap();
        assert_eq!(f.params.len(), 1);
        // A body that starts with a parenthesis is still a body.
        let f = parse_function("U", "(SigninLogs | take 1)", "f.kql").unwrap();
        assert!(f.params.is_empty());
        // Comments before the parameters are allowed.
        let f = parse_function("C", "// doc\n(n:long = 1) { print n }", "f.kql").unwrap();
        assert_eq!(f.params.len(), 1);
        // Errors point into the file, not into the wrapper spoor puts around it.
        let e = parse_function("Bad", "SigninLogs | where", "bad.kql").unwrap_err();
        assert!(e.contains("bad.kql:1:"), "{e}");
    }
}
