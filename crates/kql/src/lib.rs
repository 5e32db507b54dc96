//! KQL (Kusto Query Language) front-end for spoor.
//!
//! [`syntax`] holds the lexer, the AST and the parser (it depends on `spoor-core` only);
//! [`plan`] turns the AST into a DataFusion logical plan against the table catalog.
//!
//! ```
//! let query = spoor_kql::syntax::parse("AWSCloudTrail | where EventName == 'StopLogging'").unwrap();
//! assert_eq!(query.statements.len(), 1);
//! ```

pub mod plan;
pub mod syntax;
pub mod workspace;

pub use plan::{DataProbe, EXTERNALDATA_PREFIX, PlanOptions, PlannedQuery, plan_query};
use spoor_core::Diagnostic;

/// Parses and plans a query: the whole front-end in one call.
pub fn compile(source: &str, options: &PlanOptions) -> Result<PlannedQuery, Vec<Diagnostic>> {
    let query = syntax::parse(source)?;
    plan_query(&query, options).map_err(|d| vec![d])
}
