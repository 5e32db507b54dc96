//! `stdev(x)`, `variance(x)` (sample: divides by n-1) and `stdevp(x)`, `variancep(x)`
//! (population: divides by n) (<https://learn.microsoft.com/kusto/query/stdev-aggregation-function>,
//! <https://learn.microsoft.com/kusto/query/variance-aggregation-function>). Nulls are skipped.
//!
//! The state is (count, mean, sum of squared deviations), Welford's running form, which merges
//! exactly across partitions (Chan et al.). A sample statistic of one value is 0; of no values,
//! null.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type, Int64Type};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Signature, Volatility};

/// Running moments.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Moments {
    pub n: i64,
    pub mean: f64,
    pub m2: f64,
}

impl Moments {
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    pub fn merge(&mut self, o: &Moments) {
        if o.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *o;
            return;
        }
        let n = self.n + o.n;
        let d = o.mean - self.mean;
        self.mean += d * o.n as f64 / n as f64;
        self.m2 += o.m2 + d * d * self.n as f64 * o.n as f64 / n as f64;
        self.n = n;
    }

    pub fn variance(&self, sample: bool) -> Option<f64> {
        match self.n {
            0 => None,
            1 if sample => Some(0.0),
            n => Some(self.m2 / if sample { n - 1 } else { n } as f64),
        }
    }
}

#[derive(Debug)]
struct StatsAccumulator {
    sample: bool,
    sqrt: bool,
    m: Moments,
}

impl Accumulator for StatsAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        for x in values[0].as_primitive::<Float64Type>().iter().flatten() {
            self.m.push(x);
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let v = self
            .m
            .variance(self.sample)
            .map(|v| if self.sqrt { v.sqrt() } else { v });
        Ok(ScalarValue::Float64(v))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            ScalarValue::Int64(Some(self.m.n)),
            ScalarValue::Float64(Some(self.m.mean)),
            ScalarValue::Float64(Some(self.m.m2)),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let n = states[0].as_primitive::<Int64Type>();
        let mean = states[1].as_primitive::<Float64Type>();
        let m2 = states[2].as_primitive::<Float64Type>();
        for i in 0..n.len() {
            if n.is_null(i) {
                continue;
            }
            self.m.merge(&Moments {
                n: n.value(i),
                mean: mean.value(i),
                m2: m2.value(i),
            });
        }
        Ok(())
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct Stats {
    name: &'static str,
    sample: bool,
    sqrt: bool,
    signature: Signature,
}

impl Stats {
    fn new(name: &'static str, sample: bool, sqrt: bool) -> Self {
        Stats {
            name,
            sample,
            sqrt,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    pub fn stdev() -> Self {
        Self::new("kql_stdev", true, true)
    }

    pub fn variance() -> Self {
        Self::new("kql_variance", true, false)
    }

    pub fn stdevp() -> Self {
        Self::new("kql_stdevp", false, true)
    }

    pub fn variancep() -> Self {
        Self::new("kql_variancep", false, false)
    }
}

impl AggregateUDFImpl for Stats {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        crate::args::arity(self.name, arg_types, 1, 1)?;
        Ok(vec![DataType::Float64])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn accumulator(&self, _acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(StatsAccumulator {
            sample: self.sample,
            sqrt: self.sqrt,
            m: Moments::default(),
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format_state_name(args.name, "count"),
                DataType::Int64,
                true,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "mean"),
                DataType::Float64,
                true,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "m2"),
                DataType::Float64,
                true,
            )),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(xs: &[f64]) -> Moments {
        let mut m = Moments::default();
        for x in xs {
            m.push(*x);
        }
        m
    }

    #[test]
    fn doc_example_and_merge() {
        // https://learn.microsoft.com/kusto/query/stdev-aggregation-function: range 1..5.
        let m = of(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert!((m.variance(true).unwrap().sqrt() - 1.58113883008419).abs() < 1e-12);
        assert!((m.variance(false).unwrap() - 2.0).abs() < 1e-12);
        assert!((m.variance(true).unwrap() - 2.5).abs() < 1e-12);
        let mut a = of(&[1.0, 2.0]);
        a.merge(&of(&[3.0, 4.0, 5.0]));
        a.merge(&Moments::default());
        assert_eq!(a.n, 5);
        assert!((a.variance(true).unwrap() - 2.5).abs() < 1e-12);
        assert_eq!(of(&[7.0]).variance(true), Some(0.0));
        assert_eq!(of(&[]).variance(false), None);
    }
}
