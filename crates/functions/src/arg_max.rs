//! `arg_max(by, value)` and `arg_min(by, value)`: the `value` of the row where `by` is largest
//! (smallest) (<https://learn.microsoft.com/kusto/query/arg-max-aggregation-function>). The
//! planner calls it once per returned column with the same `by`. Rows whose `by` is null are
//! ignored; on ties the first row seen is kept. `by` may be any orderable type.
//!
//! The state is the best `by` and its `value`.

use std::cmp::Ordering;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, make_comparator};
use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Signature, Volatility};

#[derive(Debug)]
struct ArgBest {
    max: bool,
    best: Option<(ScalarValue, ScalarValue)>,
    by_type: DataType,
    value_type: DataType,
}

impl ArgBest {
    /// Takes the best row of `by`/`value` arrays into the running best.
    fn absorb(&mut self, by: &ArrayRef, value: &ArrayRef) -> Result<()> {
        let cmp = make_comparator(by.as_ref(), by.as_ref(), SortOptions::default())?;
        let better = if self.max {
            Ordering::Greater
        } else {
            Ordering::Less
        };
        let mut best: Option<usize> = None;
        for i in 0..by.len() {
            if by.is_null(i) {
                continue;
            }
            if best.is_none_or(|b| cmp(i, b) == better) {
                best = Some(i);
            }
        }
        let Some(i) = best else { return Ok(()) };
        let candidate = ScalarValue::try_from_array(by, i)?;
        let replace = match &self.best {
            None => true,
            Some((b, _)) => candidate.partial_cmp(b) == Some(better),
        };
        if replace {
            self.best = Some((candidate, ScalarValue::try_from_array(value, i)?));
        }
        Ok(())
    }
}

impl Accumulator for ArgBest {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.absorb(&values[0], &values[1])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        match &self.best {
            Some((_, v)) => Ok(v.clone()),
            None => ScalarValue::try_from(&self.value_type),
        }
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self
                .best
                .as_ref()
                .map(|(a, b)| a.size() + b.size())
                .unwrap_or(0)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        match &self.best {
            Some((b, v)) => Ok(vec![b.clone(), v.clone()]),
            None => Ok(vec![
                ScalarValue::try_from(&self.by_type)?,
                ScalarValue::try_from(&self.value_type)?,
            ]),
        }
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.absorb(&states[0], &states[1])
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct ArgMaxMin {
    max: bool,
    signature: Signature,
}

impl ArgMaxMin {
    pub fn max() -> Self {
        ArgMaxMin {
            max: true,
            signature: Signature::any(2, Volatility::Immutable),
        }
    }

    pub fn min() -> Self {
        ArgMaxMin {
            max: false,
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for ArgMaxMin {
    fn name(&self) -> &str {
        if self.max {
            "kql_arg_max"
        } else {
            "kql_arg_min"
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types[1].clone())
    }

    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(ArgBest {
            max: self.max,
            best: None,
            by_type: acc_args.expr_fields[0].data_type().clone(),
            value_type: acc_args.return_type().clone(),
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format_state_name(args.name, "by"),
                args.input_fields[0].data_type().clone(),
                true,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "value"),
                args.return_type().clone(),
                true,
            )),
        ])
    }
}
