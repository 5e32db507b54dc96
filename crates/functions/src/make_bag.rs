//! `make_bag(expr[, maxSize])`: one property bag holding the keys of every bag in the group
//! (<https://learn.microsoft.com/kusto/query/make-bag-aggregation-function>).
//!
//! Inputs are dynamic JSON text; values that are not property bags (and nulls) are skipped.
//! When a key repeats, the first value seen wins; across partitions "first" is the order of
//! the merge, as for `make_set`. `maxSize` caps the number of keys (default and maximum
//! 1,048,576). The state is the bag so far, as JSON text.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Signature, Volatility};
use serde_json::{Map, Value};

use crate::make_set::{coerce_value_and_cap, size_cap};

#[derive(Debug)]
struct BagAccumulator {
    max: usize,
    bag: Map<String, Value>,
}

impl BagAccumulator {
    fn add(&mut self, bag: Map<String, Value>) {
        for (k, v) in bag {
            if self.bag.len() >= self.max {
                return;
            }
            self.bag.entry(k).or_insert(v);
        }
    }

    fn json(&self) -> String {
        // Cloning a map to print it would double the memory; serialise the map directly.
        serde_json::to_string(&self.bag).unwrap_or_else(|_| "{}".into())
    }
}

impl Accumulator for BagAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        for text in values[0].as_string::<i32>().iter().flatten() {
            if self.bag.len() >= self.max {
                break;
            }
            if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(text) {
                self.add(m);
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Utf8(Some(self.json())))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.bag.len() * 96
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::Utf8(Some(self.json()))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        for text in states[0].as_string::<i32>().iter().flatten() {
            match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(m)) => self.add(m),
                _ => {
                    return Err(DataFusionError::Execution(
                        "make_bag: bad state".to_string(),
                    ));
                }
            }
        }
        Ok(())
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct MakeBag {
    signature: Signature,
}

impl MakeBag {
    pub fn new() -> Self {
        MakeBag {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for MakeBag {
    fn name(&self) -> &str {
        "kql_make_bag"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_value_and_cap("kql_make_bag", arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let max = size_cap(&acc_args)?;
        Ok(Box::new(BagAccumulator {
            max,
            bag: Map::new(),
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format_state_name(args.name, "bag"),
            DataType::Utf8,
            true,
        ))])
    }

    fn default_value(&self, _data_type: &DataType) -> Result<ScalarValue> {
        Ok(ScalarValue::Utf8(Some("{}".into())))
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::StringArray;

    use super::*;
    use crate::make_set::MAX_SIZE;

    #[test]
    fn doc_example_first_wins() {
        // https://learn.microsoft.com/kusto/query/make-bag-aggregation-function
        let mut a = BagAccumulator {
            max: MAX_SIZE,
            bag: Map::new(),
        };
        let col: ArrayRef = Arc::new(StringArray::from(vec![
            Some(r#"{"prop01":"val_a"}"#),
            Some(r#"{"prop02":"val_b"}"#),
            None,
            Some("[1]"),
            Some(r#"{"prop01":"val_z","prop03":"val_c"}"#),
        ]));
        a.update_batch(&[col]).unwrap();
        assert_eq!(
            a.evaluate().unwrap(),
            ScalarValue::Utf8(Some(
                r#"{"prop01":"val_a","prop02":"val_b","prop03":"val_c"}"#.into()
            ))
        );
        let mut b = BagAccumulator {
            max: 2,
            bag: Map::new(),
        };
        let state = a.state().unwrap()[0].to_array().unwrap();
        b.merge_batch(&[state]).unwrap();
        assert_eq!(b.bag.len(), 2);
    }
}
