//! The CloudWatch Logs Insights front-end (`--lang cwl`): a query such as
//! `filter dstPort=3389 | stats count(*) as hits by srcAddr | sort hits desc` planned over the
//! events of log groups, which spoor reads from local evidence: CloudTrail logs, VPC flow logs,
//! and events exported from CloudWatch Logs. See [`groups`] for the fields each log group has
//! and [`plan`] for how values compare. Nothing executes here: the engine binds and runs the
//! plan.

pub mod groups;
pub mod plan;
pub mod syntax;

pub use plan::{CwlOptions, PlannedCwl};
use spoor_core::Diagnostic;

/// Parses and plans a query.
pub fn compile(text: &str, options: &CwlOptions) -> Result<PlannedCwl, Vec<Diagnostic>> {
    let query = syntax::parse(text)?;
    plan::plan(&query, options).map_err(|d| vec![d])
}

#[cfg(test)]
mod tests;
