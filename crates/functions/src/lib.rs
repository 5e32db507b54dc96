//! placeholder until the functions branch lands (replaced on merge)
use std::sync::Arc;
use datafusion::error::Result;
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
pub fn register_all(_r: &mut dyn FunctionRegistry) -> Result<()> { Ok(()) }
pub fn scalar(_name: &str) -> Option<Arc<ScalarUDF>> { None }
pub fn aggregate(_name: &str) -> Option<Arc<AggregateUDF>> { None }
pub mod datetime { pub fn parse_kql_datetime(_s: &str) -> Option<i64> { None } }
