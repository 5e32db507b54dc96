//! `make_set(expr[, maxSize])` and `make_list(expr[, maxSize])`: dynamic arrays of the values
//! of a group (<https://learn.microsoft.com/kusto/query/make-set-aggregation-function>,
//! <https://learn.microsoft.com/kusto/query/make-list-aggregation-function>).
//!
//! Inputs are dynamic JSON text (the planner wraps scalars with `kql_to_json`). Nulls (SQL null
//! and JSON null) are skipped. `maxSize` defaults to 1,048,576, which is also the maximum.
//! `make_set` of an array column collects the arrays' elements (the page's "set from array
//! column" example); `make_list` keeps each value, arrays included, as one element. Elements
//! keep the order in which they were first seen; across partitions the order is that of the
//! merge.
//!
//! The state is the array so far, as JSON text.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Signature, Volatility};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::aggregate::literal_i64;

/// Kusto's default and largest `maxSize`.
pub const MAX_SIZE: usize = 1_048_576;

/// Argument types of the collecting aggregates (`make_set`, `make_list`, `make_bag`): a dynamic
/// value (JSON text) and an optional size cap.
pub(crate) fn coerce_value_and_cap(name: &str, arg_types: &[DataType]) -> Result<Vec<DataType>> {
    crate::args::arity(name, arg_types, 1, 2)?;
    let mut v = vec![DataType::Utf8];
    if arg_types.len() == 2 {
        v.push(DataType::Int64);
    }
    Ok(v)
}

/// The size cap (second argument, a literal), at most [`MAX_SIZE`]; [`MAX_SIZE`] when absent.
pub(crate) fn size_cap(acc_args: &AccumulatorArgs) -> Result<usize> {
    Ok(literal_i64(acc_args, 1)?
        .map(|m| usize::try_from(m).unwrap_or(0).min(MAX_SIZE))
        .unwrap_or(MAX_SIZE))
}

#[derive(Debug)]
struct Collect {
    distinct: bool,
    max: usize,
    /// Elements as compact JSON text.
    items: Vec<String>,
    seen: HashSet<String>,
}

impl Collect {
    fn push(&mut self, json: String) {
        if self.items.len() >= self.max {
            return;
        }
        if self.distinct {
            if self.seen.contains(&json) {
                return;
            }
            self.seen.insert(json.clone());
        }
        self.items.push(json);
    }

    /// Adds one input value (dynamic JSON text; text that is not JSON counts as a string).
    fn add_input(&mut self, text: &str) {
        let v: Value =
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()));
        match v {
            Value::Null => {}
            Value::Array(items) if self.distinct => {
                for item in items.into_iter().filter(|i| !i.is_null()) {
                    self.push(item.to_string());
                }
            }
            other => self.push(other.to_string()),
        }
    }

    fn to_json(&self) -> String {
        let mut s =
            String::with_capacity(2 + self.items.iter().map(|i| i.len() + 1).sum::<usize>());
        s.push('[');
        for (k, item) in self.items.iter().enumerate() {
            if k > 0 {
                s.push(',');
            }
            s.push_str(item);
        }
        s.push(']');
        s
    }
}

impl Accumulator for Collect {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        for text in values[0].as_string::<i32>().iter().flatten() {
            if self.items.len() >= self.max && !self.distinct {
                break;
            }
            self.add_input(text);
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Utf8(Some(self.to_json())))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self
                .items
                .iter()
                .map(|i| i.capacity() * 2 + 48)
                .sum::<usize>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::Utf8(Some(self.to_json()))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        for text in states[0].as_string::<i32>().iter().flatten() {
            let items: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| {
                datafusion::common::DataFusionError::Execution(format!("make_set state: {e}"))
            })?;
            for item in items {
                self.push(item.get().to_string());
            }
        }
        Ok(())
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct MakeCollection {
    name: &'static str,
    distinct: bool,
    signature: Signature,
}

impl MakeCollection {
    pub fn set() -> Self {
        MakeCollection {
            name: "kql_make_set",
            distinct: true,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    pub fn list() -> Self {
        MakeCollection {
            name: "kql_make_list",
            distinct: false,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for MakeCollection {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_value_and_cap(self.name, arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let max = size_cap(&acc_args)?;
        Ok(Box::new(Collect {
            distinct: self.distinct,
            max,
            items: Vec::new(),
            seen: HashSet::new(),
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format_state_name(args.name, "items"),
            DataType::Utf8,
            true,
        ))])
    }

    fn default_value(&self, _data_type: &DataType) -> Result<ScalarValue> {
        Ok(ScalarValue::Utf8(Some("[]".into())))
    }
}
