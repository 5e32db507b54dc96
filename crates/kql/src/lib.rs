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

/// [`compile`] with parameters bound before the query's own statements, as if the query began
/// with `let NAME = LITERAL;` for each (`--param`, a rule's parameters). The query's positions
/// stay those of its own text. A literal that does not parse is an error naming the parameter.
pub fn compile_with_params(
    source: &str,
    params: &[(String, String)],
    options: &PlanOptions,
) -> Result<PlannedQuery, Vec<Diagnostic>> {
    let mut query = syntax::parse(source)?;
    let mut prelude = Vec::new();
    for (name, literal) in params {
        let text = format!("let {name} = {literal};\nprint 1");
        let parsed = syntax::parse(&text).map_err(|_| {
            vec![Diagnostic::new(
                format!("parameter {name}: {literal} is not a KQL literal"),
                spoor_core::Span::new(0, 0),
            )]
        })?;
        prelude.extend(
            parsed
                .statements
                .into_iter()
                .filter(|s| matches!(s.kind, syntax::ast::StatementKind::Let(_))),
        );
    }
    prelude.append(&mut query.statements);
    query.statements = prelude;
    plan_query(&query, options).map_err(|d| vec![d])
}
