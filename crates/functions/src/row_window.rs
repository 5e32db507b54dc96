//! Window functions that walk a serialized row set in order: `row_window_session`
//! (<https://learn.microsoft.com/kusto/query/row-window-session-function>) and `row_number`
//! with a restart condition (<https://learn.microsoft.com/kusto/query/row-number-function>).
//!
//! The planner calls them over the whole table (no partition), ordered by the keys of the
//! `sort` that serialized the rows, so one partition is the whole ordered row set.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, TimestampNanosecondArray};
use datafusion::arrow::datatypes::{DataType, DurationNanosecondType, Field, FieldRef, TimeUnit};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{
    PartitionEvaluator, Signature, Volatility, WindowUDF, WindowUDFImpl,
};

/// `kql_row_window_session(expr, max_from_first, max_between_neighbors, restart)`: the value of
/// `expr` at the start of each row's session, as Kusto's page defines it. A row starts a new
/// session when there is no session yet or the session's value is null, when its value is at
/// least the session's first value plus `max_from_first`, when it is at least the previous
/// row's value plus `max_between_neighbors`, or when `restart` is true. A row whose value is
/// null gets null, and the next row starts a session ("When Expr results in a null value, the
/// next value starts a new session").
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct RowWindowSession {
    signature: Signature,
}

impl RowWindowSession {
    pub fn new() -> RowWindowSession {
        RowWindowSession {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl WindowUDFImpl for RowWindowSession {
    fn name(&self) -> &str {
        "kql_row_window_session"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() != 4 {
            return plan_err!(
                "kql_row_window_session takes 4 arguments, got {}",
                arg_types.len()
            );
        }
        Ok(vec![
            DataType::Timestamp(TimeUnit::Nanosecond, None),
            DataType::Duration(TimeUnit::Nanosecond),
            DataType::Duration(TimeUnit::Nanosecond),
            DataType::Boolean,
        ])
    }

    fn partition_evaluator(
        &self,
        _args: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        Ok(Box::new(SessionEvaluator))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::Timestamp(TimeUnit::Nanosecond, None),
            true,
        )))
    }
}

#[derive(Debug)]
struct SessionEvaluator;

/// The session start of every row (see [`RowWindowSession`]).
pub fn sessions(
    values: &[Option<i64>],
    max_from_first: i64,
    max_between_neighbors: i64,
    restart: &[bool],
) -> Vec<Option<i64>> {
    let mut out = Vec::with_capacity(values.len());
    // The running session's first value and the previous row's value (None: no session, or a
    // null value ended it).
    let mut session: Option<i64> = None;
    let mut previous: Option<i64> = None;
    for (i, v) in values.iter().enumerate() {
        let Some(v) = *v else {
            out.push(None);
            session = None;
            previous = None;
            continue;
        };
        let new = match (session, previous) {
            (Some(first), Some(prev)) => {
                restart[i]
                    || v >= first.saturating_add(max_from_first)
                    || v >= prev.saturating_add(max_between_neighbors)
            }
            _ => true,
        };
        if new {
            session = Some(v);
        }
        previous = Some(v);
        out.push(session);
    }
    out
}

impl PartitionEvaluator for SessionEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let [expr, from_first, neighbors, restart] = values else {
            return exec_err!("kql_row_window_session takes 4 arguments");
        };
        let expr = expr.as_primitive::<datafusion::arrow::datatypes::TimestampNanosecondType>();
        let from_first = from_first.as_primitive::<DurationNanosecondType>();
        let neighbors = neighbors.as_primitive::<DurationNanosecondType>();
        let restart = restart.as_boolean();
        // The distances are the same on every row (the planner passes constants).
        let (Some(max_from_first), Some(max_between)) = (
            (num_rows > 0 && from_first.is_valid(0)).then(|| from_first.value(0)),
            (num_rows > 0 && neighbors.is_valid(0)).then(|| neighbors.value(0)),
        ) else {
            return Ok(Arc::new(TimestampNanosecondArray::new_null(num_rows)));
        };
        let vals: Vec<Option<i64>> = (0..num_rows)
            .map(|i| expr.is_valid(i).then(|| expr.value(i)))
            .collect();
        let restarts: Vec<bool> = (0..num_rows)
            .map(|i| restart.is_valid(i) && restart.value(i))
            .collect();
        let out = sessions(&vals, max_from_first, max_between, &restarts);
        Ok(Arc::new(TimestampNanosecondArray::from(out)))
    }
}

pub(crate) fn row_window_session() -> WindowUDF {
    WindowUDF::new_from_impl(RowWindowSession::new())
}

/// `kql_row_number_restart(start, restart)`: `row_number(StartingIndex, Restart)`, the row's
/// index counted from `start`, back to `start` on every row where `restart` is true (null
/// counts as false: on the first row, `prev(X) != X` is null).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct RowNumberRestart {
    signature: Signature,
}

impl WindowUDFImpl for RowNumberRestart {
    fn name(&self) -> &str {
        "kql_row_number_restart"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() != 2 {
            return plan_err!(
                "kql_row_number_restart takes 2 arguments, got {}",
                arg_types.len()
            );
        }
        Ok(vec![DataType::Int64, DataType::Boolean])
    }

    fn partition_evaluator(
        &self,
        _args: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        Ok(Box::new(RowNumberEvaluator))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::Int64,
            true,
        )))
    }
}

#[derive(Debug)]
struct RowNumberEvaluator;

/// The row numbers from `start`, restarting where `restart` is true.
pub fn row_numbers(start: i64, restart: &[bool]) -> Vec<i64> {
    let mut n = start;
    restart
        .iter()
        .enumerate()
        .map(|(i, r)| {
            n = if i == 0 || *r {
                start
            } else {
                n.saturating_add(1)
            };
            n
        })
        .collect()
}

impl PartitionEvaluator for RowNumberEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let [start, restart] = values else {
            return exec_err!("kql_row_number_restart takes 2 arguments");
        };
        let start = start.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        let restart = restart.as_boolean();
        // The start is the same on every row (the planner passes a constant).
        let first = if num_rows > 0 && start.is_valid(0) {
            start.value(0)
        } else {
            1
        };
        let restarts: Vec<bool> = (0..num_rows)
            .map(|i| restart.is_valid(i) && restart.value(i))
            .collect();
        Ok(Arc::new(datafusion::arrow::array::Int64Array::from(
            row_numbers(first, &restarts),
        )))
    }
}

pub(crate) fn row_number_restart() -> WindowUDF {
    WindowUDF::new_from_impl(RowNumberRestart {
        signature: Signature::user_defined(Volatility::Immutable),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000_000_000;

    #[test]
    fn row_numbers_restart() {
        // https://learn.microsoft.com/kusto/query/row-number-function: ranks per airport.
        let restart = [false, false, false, true, false];
        assert_eq!(row_numbers(1, &restart), vec![1, 2, 3, 1, 2]);
        assert_eq!(row_numbers(7, &[true, false]), vec![7, 8]);
    }

    #[test]
    fn page_example() {
        // https://learn.microsoft.com/kusto/query/row-window-session-function: sorted by ID
        // and time, sessions of at most 1h with gaps under 5m, restarting when the ID changes.
        // Minutes after 10:00: ID 1 at 0 and 60, ID 2 at 16, 18 and 210, ID 3 at 90.
        let t = [0, 60, 16, 18, 210, 90].map(|m| Some(m * MIN));
        let restart = [false, false, true, false, false, true];
        let got = sessions(&t, 60 * MIN, 5 * MIN, &restart);
        let want = [0, 60, 16, 16, 210, 90].map(|m| Some(m * MIN));
        assert_eq!(got, want);
    }

    #[test]
    fn limits_are_reached_at_equality_and_nulls_end_sessions() {
        let t = [
            Some(0),
            Some(5),
            Some(9),
            Some(10),
            None,
            Some(11),
            Some(12),
        ];
        // From the first: 10 >= 0 + 10 starts a session; gaps under 6 stay.
        let got = sessions(&t, 10, 6, &[false; 7]);
        assert_eq!(
            got,
            vec![
                Some(0),
                Some(0),
                Some(0),
                Some(10),
                None,
                Some(11),
                Some(11)
            ]
        );
        // Between neighbours: a gap of exactly 5 starts a session.
        let got = sessions(&[Some(0), Some(5), Some(6)], 100, 5, &[false; 3]);
        assert_eq!(got, vec![Some(0), Some(5), Some(5)]);
    }
}
