//! The Sumo Logic front-end (`--lang sumo`): a search such as
//! `_sourceCategory=*Windows/Sysmon* | where EventID in ("1") | count by Image | sort by _count`
//! planned over the Windows events spoor reads from local evidence (Sysmon, Security, other
//! channels). See [`sources`] for which table a source category names and what a field reads,
//! and [`plan`] for how values compare. Nothing executes here: the engine binds and runs the
//! plan.

pub mod plan;
pub mod sources;
pub mod syntax;

pub use plan::{PlannedSumo, SumoOptions};
use spoor_core::Diagnostic;

/// Parses and plans a query.
pub fn compile(text: &str, options: &SumoOptions) -> Result<PlannedSumo, Vec<Diagnostic>> {
    let query = syntax::parse(text)?;
    plan::plan(&query, options).map_err(|d| vec![d])
}

#[cfg(test)]
mod tests;
