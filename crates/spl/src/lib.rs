//! The Splunk SPL front-end (`--lang spl`): a search such as
//! `` `kubernetes_azure` category=kube-audit | spath input=properties.log | search verb=list ``
//! planned over the events of the sourcetypes spoor maps onto its tables ([`sourcetypes`]),
//! after its macros are expanded ([`macros`]). Nothing executes here: the engine binds and runs
//! the plan.

pub mod macros;
pub mod plan;
pub mod sourcetypes;
pub mod syntax;

pub use macros::Macros;
pub use plan::{PlannedSpl, SplOptions};
use spoor_core::Diagnostic;

/// SPL's ```comments``` as spaces (positions stay those of the text).
fn blank_comments(text: &str) -> String {
    let mut out = text.to_string();
    let mut from = 0;
    while let Some(start) = out[from..].find("```").map(|i| i + from) {
        let Some(len) = out[start + 3..].find("```") else {
            break;
        };
        let end = start + 3 + len + 3;
        let blank: String = out[start..end]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect();
        out.replace_range(start..end, &blank);
        from = start + blank.len();
    }
    out
}

/// Expands the macros and parses; errors point into the text as written.
pub fn parse(text: &str, macros: &Macros) -> Result<syntax::Query, Vec<Diagnostic>> {
    let text = &blank_comments(text);
    let (expanded, expansions) = macros::expand(text, macros).map_err(|d| vec![d])?;
    syntax::parse(&expanded).map_err(|mut d| {
        d.span = macros::unexpand(d.span, &expansions);
        vec![d]
    })
}

/// Expands the macros, parses and plans.
pub fn compile(
    text: &str,
    macros: &Macros,
    options: &SplOptions,
) -> Result<PlannedSpl, Vec<Diagnostic>> {
    let text = &blank_comments(text);
    let (expanded, expansions) = macros::expand(text, macros).map_err(|d| vec![d])?;
    let back = |mut d: Diagnostic| {
        d.span = macros::unexpand(d.span, &expansions);
        d
    };
    let query = syntax::parse(&expanded).map_err(|d| vec![back(d)])?;
    let mut planned = plan::plan(&query, options).map_err(|d| vec![back(d)])?;
    planned.notes = planned.notes.into_iter().map(back).collect();
    Ok(planned)
}

#[cfg(test)]
mod tests;
