//! KQL parser.

use spoor_core::Diagnostic;

use super::ast::Query;

/// Parse a KQL query text.
///
/// # Errors
/// The syntax errors found, first one first.
pub fn parse(_source: &str) -> Result<Query, Vec<Diagnostic>> {
    todo!()
}
