//! KQL (Kusto Query Language) front-end for spoor.
//!
//! [`syntax`] holds the lexer, the AST and the parser; it depends on `spoor-core` only.
//!
//! ```
//! let query = spoor_kql::syntax::parse("AWSCloudTrail | where EventName == 'StopLogging'").unwrap();
//! assert_eq!(query.statements.len(), 1);
//! ```

pub mod syntax;
