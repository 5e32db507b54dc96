//! `percentile(x, p)` and `percentiles_array(x, p1, p2, ...)`
//! (<https://learn.microsoft.com/kusto/query/percentiles-aggregation-function>).
//!
//! Kusto estimates percentiles with T-Digest. spoor computes them **exactly**, by the
//! nearest-rank definition that the same page gives for what the estimate approximates: the
//! value at rank ⌈P/100 × N⌉ of the sorted values (the smallest value for P = 0). The result is
//! always one of the input values, of the input's type (long, real, datetime, timespan). Exact
//! was chosen because spoor runs over a hunt's logs, not a cluster's, so keeping every value of
//! a group is affordable, and an exact answer never differs between runs or partitionings. The
//! cost is memory: the state holds every non-null value of the group (8 bytes each).
//!
//! `percentiles_array` gives a dynamic array in the order of the percentiles asked for; the
//! percentiles may also come as one dynamic array (`percentiles_array(x, dynamic([50, 95]))`).
//! With no values, `percentile` is null and `percentiles_array` holds nulls. Percentiles must be
//! constants between 0 and 100.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, BinaryArray};
use datafusion::arrow::datatypes::{
    DataType, DurationNanosecondType, Field, FieldRef, Float64Type, Int64Type, TimeUnit,
    TimestampNanosecondType,
};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Signature, Volatility};
use serde_json::Value;

use crate::aggregate::literal;
use crate::datetime::{format_kql_datetime, format_kql_timespan};

/// The value kinds kept: reals by their bits, the others as i64.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Long,
    Real,
    DateTime,
    TimeSpan,
}

impl Kind {
    fn of(t: &DataType) -> Kind {
        match t {
            DataType::Int64 => Kind::Long,
            DataType::Timestamp(..) => Kind::DateTime,
            DataType::Duration(_) => Kind::TimeSpan,
            _ => Kind::Real,
        }
    }

    fn scalar(self, w: Option<u64>) -> ScalarValue {
        let i = w.map(|w| w as i64);
        match self {
            Kind::Long => ScalarValue::Int64(i),
            Kind::Real => ScalarValue::Float64(w.map(f64::from_bits)),
            Kind::DateTime => ScalarValue::TimestampNanosecond(i, None),
            Kind::TimeSpan => ScalarValue::DurationNanosecond(i),
        }
    }

    fn json(self, w: Option<u64>) -> Value {
        let Some(w) = w else {
            return Value::Null;
        };
        match self {
            Kind::Long => Value::from(w as i64),
            Kind::Real => {
                serde_json::Number::from_f64(f64::from_bits(w)).map_or(Value::Null, Value::Number)
            }
            Kind::DateTime => Value::String(format_kql_datetime(w as i64)),
            Kind::TimeSpan => Value::String(format_kql_timespan(w as i64)),
        }
    }
}

/// The nearest-rank index (0-based) of percentile `p` among `n` sorted values.
pub fn nearest_rank(p: f64, n: usize) -> usize {
    let rank = (p / 100.0 * n as f64).ceil() as usize;
    rank.clamp(1, n.max(1)) - 1
}

#[derive(Debug)]
struct PercentileAccumulator {
    kind: Kind,
    percentiles: Vec<f64>,
    array: bool,
    /// Values as 64-bit words (f64 bits for reals).
    values: Vec<u64>,
    sorted: bool,
}

impl PercentileAccumulator {
    fn sort(&mut self) {
        if self.sorted {
            return;
        }
        if self.kind == Kind::Real {
            self.values
                .sort_unstable_by(|a, b| f64::from_bits(*a).total_cmp(&f64::from_bits(*b)));
        } else {
            self.values.sort_unstable_by_key(|w| *w as i64);
        }
        self.sorted = true;
    }

    fn pick(&self, p: f64) -> Option<u64> {
        if self.values.is_empty() {
            return None;
        }
        Some(self.values[nearest_rank(p, self.values.len())])
    }
}

impl Accumulator for PercentileAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let a = &values[0];
        self.sorted = false;
        match self.kind {
            Kind::Long => self.values.extend(
                a.as_primitive::<Int64Type>()
                    .iter()
                    .flatten()
                    .map(|v| v as u64),
            ),
            Kind::Real => self.values.extend(
                a.as_primitive::<Float64Type>()
                    .iter()
                    .flatten()
                    .filter(|v| !v.is_nan())
                    .map(f64::to_bits),
            ),
            Kind::DateTime => self.values.extend(
                a.as_primitive::<TimestampNanosecondType>()
                    .iter()
                    .flatten()
                    .map(|v| v as u64),
            ),
            Kind::TimeSpan => self.values.extend(
                a.as_primitive::<DurationNanosecondType>()
                    .iter()
                    .flatten()
                    .map(|v| v as u64),
            ),
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        self.sort();
        if self.array {
            let items: Vec<Value> = self
                .percentiles
                .iter()
                .map(|p| self.kind.json(self.pick(*p)))
                .collect();
            Ok(ScalarValue::Utf8(Some(Value::Array(items).to_string())))
        } else {
            Ok(self.kind.scalar(self.pick(self.percentiles[0])))
        }
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.values.capacity() * 8 + self.percentiles.capacity() * 8
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let mut bytes = Vec::with_capacity(self.values.len() * 8);
        for w in &self.values {
            bytes.extend(w.to_le_bytes());
        }
        Ok(vec![ScalarValue::Binary(Some(bytes))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let a: &BinaryArray = states[0].as_binary::<i32>();
        self.sorted = false;
        for b in a.iter().flatten() {
            if b.len() % 8 != 0 {
                return exec_err!("percentile: bad state");
            }
            self.values.extend(
                b.chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))),
            );
        }
        Ok(())
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct Percentile {
    name: &'static str,
    array: bool,
    signature: Signature,
}

impl Percentile {
    pub fn single() -> Self {
        Percentile {
            name: "kql_percentile",
            array: false,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    pub fn array() -> Self {
        Percentile {
            name: "kql_percentiles_array",
            array: true,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

fn value_type(t: &DataType) -> DataType {
    match t {
        t if t.is_integer() => DataType::Int64,
        DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => {
            DataType::Timestamp(TimeUnit::Nanosecond, None)
        }
        DataType::Duration(_) => DataType::Duration(TimeUnit::Nanosecond),
        _ => DataType::Float64,
    }
}

/// The percentiles asked for: the literal arguments after the first, or one dynamic array.
fn percentiles_of(args: &AccumulatorArgs, name: &str) -> Result<Vec<f64>> {
    let mut out = Vec::new();
    for i in 1..args.exprs.len() {
        match literal(args, i)? {
            Some(ScalarValue::Utf8(Some(s))) | Some(ScalarValue::LargeUtf8(Some(s))) => {
                let v: Value = serde_json::from_str(&s).map_err(|_| {
                    datafusion::common::DataFusionError::Execution(format!(
                        "{name}: percentiles must be numbers, got '{s}'"
                    ))
                })?;
                match v {
                    Value::Array(items) => {
                        for it in items {
                            match it.as_f64() {
                                Some(p) => out.push(p),
                                None => return exec_err!("{name}: percentiles must be numbers"),
                            }
                        }
                    }
                    Value::Number(n) => out.push(n.as_f64().unwrap_or(f64::NAN)),
                    _ => return exec_err!("{name}: percentiles must be numbers"),
                }
            }
            Some(v) => match v.cast_to(&DataType::Float64)? {
                ScalarValue::Float64(Some(p)) => out.push(p),
                _ => return exec_err!("{name}: percentile {} is null", i),
            },
            None => {}
        }
    }
    if out.is_empty() {
        return exec_err!("{name}: no percentile given");
    }
    if let Some(p) = out.iter().find(|p| !(0.0..=100.0).contains(*p)) {
        return exec_err!("{name}: percentile {p} is not between 0 and 100");
    }
    Ok(out)
}

impl AggregateUDFImpl for Percentile {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let max = if self.array { usize::MAX } else { 2 };
        crate::args::arity(self.name, arg_types, 2, max)?;
        let mut v = vec![value_type(&arg_types[0])];
        for t in &arg_types[1..] {
            v.push(
                if self.array && matches!(t, DataType::Utf8 | DataType::LargeUtf8) {
                    DataType::Utf8
                } else {
                    DataType::Float64
                },
            );
        }
        Ok(v)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if self.array {
            Ok(DataType::Utf8)
        } else {
            Ok(value_type(&arg_types[0]))
        }
    }

    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let kind = Kind::of(acc_args.expr_fields[0].data_type());
        Ok(Box::new(PercentileAccumulator {
            kind,
            percentiles: percentiles_of(&acc_args, self.name)?,
            array: self.array,
            values: Vec::new(),
            sorted: true,
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format_state_name(args.name, "values"),
            DataType::Binary,
            true,
        ))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_definition() {
        // 10 values: P50 is the 5th, P90 the 9th, P0 the 1st, P100 the 10th.
        assert_eq!(nearest_rank(50.0, 10), 4);
        assert_eq!(nearest_rank(90.0, 10), 8);
        assert_eq!(nearest_rank(0.0, 10), 0);
        assert_eq!(nearest_rank(100.0, 10), 9);
        assert_eq!(nearest_rank(95.0, 10), 9);
        assert_eq!(nearest_rank(50.0, 1), 0);
    }

    #[test]
    fn accumulator_and_state() {
        let mut a = PercentileAccumulator {
            kind: Kind::Long,
            percentiles: vec![50.0, 100.0],
            array: true,
            values: Vec::new(),
            sorted: true,
        };
        let col: ArrayRef = Arc::new(datafusion::arrow::array::Int64Array::from(vec![
            Some(5),
            None,
            Some(-1),
            Some(3),
        ]));
        a.update_batch(&[col]).unwrap();
        let state = a.state().unwrap();
        let mut b = PercentileAccumulator {
            kind: Kind::Long,
            percentiles: vec![50.0, 100.0],
            array: true,
            values: vec![10u64],
            sorted: false,
        };
        b.merge_batch(&[state[0].to_array().unwrap()]).unwrap();
        assert_eq!(
            b.evaluate().unwrap(),
            ScalarValue::Utf8(Some("[3,10]".into()))
        );
    }
}
