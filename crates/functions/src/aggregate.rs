//! Shared pieces of the aggregate functions.

use std::any::Any;

use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::physical_expr::expressions::Literal;

/// The value of argument `i` when it is a literal (`percentile(x, 95)`). `None` when the
/// argument is absent; an error when it is not a literal.
pub(crate) fn literal(args: &AccumulatorArgs, i: usize) -> Result<Option<ScalarValue>> {
    let Some(expr) = args.exprs.get(i) else {
        return Ok(None);
    };
    let any: &dyn Any = expr.as_ref();
    let Some(lit) = any.downcast_ref::<Literal>() else {
        return exec_err!("{}: argument {} must be a constant", args.name, i + 1);
    };
    Ok(Some(lit.value().clone()))
}

/// The value of argument `i` when it is a literal integer (`dcount(x, 2)`, `make_set(x, 128)`).
/// `None` when the argument is absent or null; an error when it is not a literal.
pub(crate) fn literal_i64(args: &AccumulatorArgs, i: usize) -> Result<Option<i64>> {
    let Some(expr) = args.exprs.get(i) else {
        return Ok(None);
    };
    let any: &dyn Any = expr.as_ref();
    let Some(lit) = any.downcast_ref::<Literal>() else {
        return exec_err!("{}: argument {} must be a constant", args.name, i + 1);
    };
    match lit
        .value()
        .cast_to(&datafusion::arrow::datatypes::DataType::Int64)?
    {
        ScalarValue::Int64(v) => Ok(v),
        _ => Ok(None),
    }
}
