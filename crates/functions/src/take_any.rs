//! `take_any(expr)`: any non-null value of the group
//! (<https://learn.microsoft.com/kusto/query/take-any-aggregation-function>); here the first
//! non-null value seen. The state is that value.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Signature, Volatility};

#[derive(Debug)]
struct TakeAnyAcc {
    value: Option<ScalarValue>,
    value_type: DataType,
}

impl TakeAnyAcc {
    fn absorb(&mut self, a: &ArrayRef) -> Result<()> {
        if self.value.is_some() {
            return Ok(());
        }
        if let Some(i) = (0..a.len()).find(|&i| a.is_valid(i)) {
            self.value = Some(ScalarValue::try_from_array(a, i)?);
        }
        Ok(())
    }
}

impl Accumulator for TakeAnyAcc {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.absorb(&values[0])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        match &self.value {
            Some(v) => Ok(v.clone()),
            None => ScalarValue::try_from(&self.value_type),
        }
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.value.as_ref().map(ScalarValue::size).unwrap_or(0)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.evaluate()?])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.absorb(&states[0])
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct TakeAny {
    signature: Signature,
}

impl TakeAny {
    pub fn new() -> Self {
        TakeAny {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for TakeAny {
    fn name(&self) -> &str {
        "kql_take_any"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types[0].clone())
    }

    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(TakeAnyAcc {
            value: None,
            value_type: acc_args.return_type().clone(),
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format_state_name(args.name, "value"),
            args.return_type().clone(),
            true,
        ))])
    }
}
