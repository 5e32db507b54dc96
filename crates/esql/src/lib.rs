//! The Elastic ES|QL front-end (`--lang esql`): a query such as
//! `FROM logs-windows.sysmon_operational-* | WHERE process.executable LIKE "*\\whoami.exe"`
//! planned over the tables the data streams in `FROM` map onto ([`datastreams`]), with
//! Elastic's ECS field names. See [`syntax`] for what is read, [`plan`] for how values compare,
//! [`lucene`] for RLIKE's patterns. Nothing executes here: the engine binds and runs the plan.

pub mod datastreams;
pub mod lucene;
pub mod plan;
pub mod syntax;

pub use plan::{EsqlOptions, PlannedEsql};
use spoor_core::Diagnostic;

/// Parses and plans a query.
pub fn compile(text: &str, options: &EsqlOptions) -> Result<PlannedEsql, Vec<Diagnostic>> {
    let query = syntax::parse(text)?;
    plan::plan(&query, text, options).map_err(|d| vec![d])
}

#[cfg(test)]
mod tests;
