//! Sigma correlation rules: counts, distinct values, sums, averages, percentiles and temporal
//! proximity of the events other rules match, per group and within a sliding time window.
//!
//! The rules a correlation refers to are compiled plans like any other (they share the scans of
//! the rule set); a correlation reads the rows they matched, projected to the event's time, its
//! group-by values and its value field by expressions compiled against each table, and passes a
//! sliding window over each group's events in time order.
//!
//! Semantics (Sigma correlation specification, v2.1:
//! <https://github.com/SigmaHQ/sigma-specification/blob/main/specification/sigma-correlation-rules-specification.md>):
//!
//! - **Window**: the window ending at an event covers the events of its group in the
//!   `timespan` before it, `(t - timespan, t]`: two events exactly `timespan` apart are not in
//!   one window. Windows slide with the events (no fixed buckets). The condition is asked of the
//!   window ending at every event; consecutive windows that satisfy it and overlap make one
//!   result, from the first event of the first window to the last event of the last.
//! - **Groups**: events with equal values in every `group-by` field (exact text). An event that
//!   lacks a group-by field belongs to no group, as a `stats ... by` drops it; an event without a
//!   time cannot be placed in a window and is not counted either.
//! - **Measures**: `event_count` counts events; `value_count` counts distinct values of the
//!   condition's `field` (events without it add none); `value_sum`/`value_avg` sum and average
//!   its numeric values (text that is not a number is passed over); `value_percentile` (the
//!   condition's `percentile`, 50 when absent) and `value_median` interpolate linearly between
//!   the two nearest ranks; `temporal` counts the referenced rules with an event in the window,
//!   `temporal_ordered` the length of the longest prefix of `rules` that occurs in that order
//!   (events at the same instant count as in order). Without a condition, the temporal types
//!   require every rule; `temporal` also takes an expression over the rule names.
//! - **Aliases** give a group-by name a different field per referenced rule.
//! - **Chaining**: a correlation may refer to another; each result of the inner correlation is
//!   an event at the time of its last event, with the inner correlation's group-by values.
//! - **generate**: the referenced rules report on their own only when some correlation that
//!   refers to them says `generate: true`.

use std::collections::{BTreeMap, HashMap};

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::DFSchema;
use datafusion::logical_expr::Expr;
use rsigma_parser::{ConditionExpr, ConditionOperator, CorrelationType};

/// A correlation rule, linked to the rules it reads.
#[derive(Debug, Clone)]
pub struct CompiledCorrelation {
    /// The file it came from.
    pub origin: String,
    pub id: Option<String>,
    pub name: Option<String>,
    pub title: String,
    pub level: Option<String>,
    pub tags: Vec<String>,
    pub kind: CorrelationType,
    /// The referenced rules, in the order of `rules:`.
    pub inputs: Vec<Input>,
    pub group_by: Vec<String>,
    /// The window, as written (`5m`) and in nanoseconds.
    pub timespan: String,
    pub timespan_ns: i64,
    pub condition: Condition,
    /// The percentile `value_percentile` and `value_median` measure.
    pub percentile: f64,
    /// The condition's `field` (value_* correlations).
    pub value_field_names: Vec<String>,
    pub generate: bool,
}

/// A rule a correlation reads.
#[derive(Debug, Clone)]
pub struct Input {
    /// How the correlation names it (`id` or `name`).
    pub reference: String,
    pub source: InputSource,
}

#[derive(Debug, Clone)]
pub enum InputSource {
    /// A detection rule (an index into the loaded rules): per target of the rule, in the same
    /// order, how its matched rows become events (`None` for a target that lacks a field).
    Rule {
        rule: usize,
        targets: Vec<Option<Projection>>,
    },
    /// Another correlation (an index into the loaded correlations): for each group-by field
    /// (and value field) of this one, its position in the other's group-by.
    Correlation {
        correlation: usize,
        group_positions: Vec<usize>,
        value_positions: Vec<usize>,
    },
}

/// Expressions over one table that read what a correlation needs of a matched row.
#[derive(Debug, Clone)]
pub struct Projection {
    pub time: Expr,
    pub group: Vec<Expr>,
    /// The condition's field(s), for value_* correlations.
    pub value: Vec<Expr>,
}

/// When a window fires.
#[derive(Debug, Clone)]
pub enum Condition {
    /// Every predicate holds of the window's measure.
    Threshold(Vec<(ConditionOperator, f64)>),
    /// `temporal`: an expression over the referenced rules' names, each true when the rule has
    /// an event in the window.
    Expression(ConditionExpr),
}

/// One event of a correlation's input.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Nanoseconds since the Unix epoch.
    pub time: i64,
    /// Which input (position in `rules:`).
    pub input: usize,
    pub group: Vec<String>,
    /// The value field's text (fields joined when the condition names several).
    pub value: Option<String>,
}

/// A run of windows that satisfied a correlation's condition, in one group.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationHit {
    pub group: Vec<String>,
    /// The first event of the first window and the last event of the last (nanoseconds).
    pub first: i64,
    pub last: i64,
    /// The measure of the first window that fired (the count, sum, percentile ...).
    pub value: f64,
    /// Events from `first` to `last`.
    pub events: usize,
}

/// Evaluates a correlation over its inputs' events.
pub fn correlate(c: &CompiledCorrelation, events: Vec<Event>) -> Vec<CorrelationHit> {
    let mut groups: BTreeMap<Vec<String>, Vec<Event>> = BTreeMap::new();
    for e in events {
        groups.entry(e.group.clone()).or_default().push(e);
    }
    let mut hits = Vec::new();
    for (group, mut events) in groups {
        // Time order; at one instant, the order of `rules:` (so simultaneous events are in order
        // for temporal_ordered).
        events.sort_by_key(|e| (e.time, e.input));
        let mut window = Window::new(c.inputs.len());
        let mut start = 0;
        // The current result, the index of its first event and of its last window's end.
        let mut run: Option<(CorrelationHit, usize, usize)> = None;
        for end in 0..events.len() {
            window.add(&events[end]);
            while events[start].time <= events[end].time.saturating_sub(c.timespan_ns) {
                window.remove(&events[start]);
                start += 1;
            }
            // A window ends after the last event of an instant: events at one time are all in
            // or all out (two simultaneous events never make a window of one).
            if events
                .get(end + 1)
                .is_some_and(|next| next.time == events[end].time)
            {
                continue;
            }
            let fired = match &c.condition {
                Condition::Threshold(predicates) => window
                    .measure(c, &events[start..=end])
                    .filter(|m| holds(predicates, *m)),
                Condition::Expression(expr) => truth(expr, &|name| {
                    c.inputs
                        .iter()
                        .position(|i| i.reference == name)
                        .is_some_and(|i| window.per_input[i] > 0)
                })
                .then(|| window.present() as f64),
            };
            // A firing window that shares an event with the run extends it; one that does not
            // (the run's events have all left) starts a new result.
            if fired.is_none() || run.as_ref().is_some_and(|r| start > r.2) {
                hits.extend(run.take().map(|(h, _, _)| h));
            }
            match (fired, run.as_mut()) {
                (Some(_), Some((hit, first_index, last_index))) => {
                    hit.last = events[end].time;
                    hit.events = end + 1 - *first_index;
                    *last_index = end;
                }
                (Some(value), None) => {
                    run = Some((
                        CorrelationHit {
                            group: group.clone(),
                            first: events[start].time,
                            last: events[end].time,
                            value,
                            events: end + 1 - start,
                        },
                        start,
                        end,
                    ))
                }
                (None, _) => {}
            }
        }
        hits.extend(run.take().map(|(h, _, _)| h));
    }
    hits
}

/// What the window currently holds, kept as events enter and leave it.
struct Window {
    per_input: Vec<usize>,
    values: HashMap<String, usize>,
    sum: f64,
    numbers: usize,
}

impl Window {
    fn new(inputs: usize) -> Window {
        Window {
            per_input: vec![0; inputs],
            values: HashMap::new(),
            sum: 0.0,
            numbers: 0,
        }
    }

    fn add(&mut self, e: &Event) {
        self.per_input[e.input] += 1;
        if let Some(v) = &e.value {
            *self.values.entry(v.clone()).or_default() += 1;
            if let Some(n) = number(v) {
                self.sum += n;
                self.numbers += 1;
            }
        }
    }

    fn remove(&mut self, e: &Event) {
        self.per_input[e.input] -= 1;
        if let Some(v) = &e.value {
            if let Some(n) = self.values.get_mut(v) {
                *n -= 1;
                if *n == 0 {
                    self.values.remove(v);
                }
            }
            if let Some(n) = number(v) {
                self.sum -= n;
                self.numbers -= 1;
            }
        }
    }

    /// Referenced rules with an event in the window.
    fn present(&self) -> usize {
        self.per_input.iter().filter(|n| **n > 0).count()
    }

    /// The window's measure; `None` when it has none (an average of no numbers).
    fn measure(&self, c: &CompiledCorrelation, events: &[Event]) -> Option<f64> {
        match c.kind {
            CorrelationType::EventCount => Some(events.len() as f64),
            CorrelationType::ValueCount => Some(self.values.len() as f64),
            CorrelationType::ValueSum => Some(self.sum),
            CorrelationType::ValueAvg => (self.numbers > 0).then(|| self.sum / self.numbers as f64),
            CorrelationType::ValuePercentile | CorrelationType::ValueMedian => {
                let mut v: Vec<f64> = events
                    .iter()
                    .filter_map(|e| e.value.as_deref().and_then(number))
                    .collect();
                percentile(&mut v, c.percentile)
            }
            CorrelationType::Temporal => Some(self.present() as f64),
            CorrelationType::TemporalOrdered => {
                // The longest prefix of `rules:` found in order: a greedy walk finds the
                // earliest occurrence of each next rule, which is as good as any.
                let mut next = 0;
                for e in events {
                    if next < c.inputs.len() && e.input == next {
                        next += 1;
                    }
                }
                Some(next as f64)
            }
        }
    }
}

fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// The `p`th percentile (0 to 100) of `values`, interpolated linearly between the closest ranks;
/// `None` for no values.
pub fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = (p / 100.0).clamp(0.0, 1.0) * (values.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    Some(values[lo] + (values[hi] - values[lo]) * (rank - lo as f64))
}

fn holds(predicates: &[(ConditionOperator, f64)], m: f64) -> bool {
    predicates.iter().all(|(op, v)| match op {
        ConditionOperator::Lt => m < *v,
        ConditionOperator::Lte => m <= *v,
        ConditionOperator::Gt => m > *v,
        ConditionOperator::Gte => m >= *v,
        ConditionOperator::Eq => m == *v,
        ConditionOperator::Neq => m != *v,
    })
}

/// A temporal condition's truth, given which names have an event in the window.
fn truth(expr: &ConditionExpr, present: &dyn Fn(&str) -> bool) -> bool {
    match expr {
        ConditionExpr::And(parts) => parts.iter().all(|p| truth(p, present)),
        ConditionExpr::Or(parts) => parts.iter().any(|p| truth(p, present)),
        ConditionExpr::Not(inner) => !truth(inner, present),
        ConditionExpr::Identifier(name) => present(name),
        // Rejected when the correlation loads (see `check_expression`).
        ConditionExpr::Selector { .. } => false,
    }
}

/// Why a temporal expression cannot be evaluated: a name that is not one of the rules, or a
/// quantified selector.
pub(crate) fn check_expression(expr: &ConditionExpr, names: &[String]) -> Result<(), String> {
    match expr {
        ConditionExpr::And(parts) | ConditionExpr::Or(parts) => {
            parts.iter().try_for_each(|p| check_expression(p, names))
        }
        ConditionExpr::Not(inner) => check_expression(inner, names),
        ConditionExpr::Identifier(name) if names.contains(name) => Ok(()),
        ConditionExpr::Identifier(name) => Err(format!(
            "the condition names {name}, which is not one of the correlated rules ({})",
            names.join(", ")
        )),
        ConditionExpr::Selector { .. } => Err(
            "a quantified selector (`1 of ...`) in a correlation condition is not supported; \
             name the rules with and/or/not"
                .into(),
        ),
    }
}

/// The events of one input rule's matched rows on one table.
pub fn rule_events(
    input: usize,
    projection: &Projection,
    schema: &DFSchema,
    batches: &[RecordBatch],
    out: &mut Vec<Event>,
) -> Result<(), String> {
    use datafusion::execution::context::SessionContext;
    let state = SessionContext::new().state();
    let physical = |e: &Expr| {
        state
            .create_physical_expr(e.clone(), schema)
            .map_err(|err| err.strip_backtrace())
    };
    let time = physical(&projection.time)?;
    let group = projection
        .group
        .iter()
        .map(physical)
        .collect::<Result<Vec<_>, _>>()?;
    let value = projection
        .value
        .iter()
        .map(physical)
        .collect::<Result<Vec<_>, _>>()?;
    let eval = |e: &std::sync::Arc<dyn datafusion::physical_expr::PhysicalExpr>,
                b: &RecordBatch,
                to: &DataType| {
        e.evaluate(b)
            .and_then(|v| v.into_array(b.num_rows()))
            .and_then(|a| Ok(cast(&a, to)?))
            .map_err(|err| err.strip_backtrace())
    };
    let ns = DataType::Timestamp(TimeUnit::Nanosecond, None);
    for b in batches {
        let times = eval(&time, b, &ns)?;
        let times = times.as_primitive::<datafusion::arrow::datatypes::TimestampNanosecondType>();
        let groups = group
            .iter()
            .map(|g| eval(g, b, &DataType::Utf8))
            .collect::<Result<Vec<_>, _>>()?;
        let values = value
            .iter()
            .map(|v| eval(v, b, &DataType::Utf8))
            .collect::<Result<Vec<_>, _>>()?;
        'rows: for row in 0..b.num_rows() {
            if times.is_null(row) {
                continue;
            }
            let mut key = Vec::with_capacity(groups.len());
            for g in &groups {
                if g.is_null(row) {
                    continue 'rows;
                }
                key.push(g.as_string::<i32>().value(row).to_string());
            }
            let parts: Vec<&str> = values
                .iter()
                .filter(|v| !v.is_null(row))
                .map(|v| v.as_string::<i32>().value(row))
                .collect();
            let value =
                (!parts.is_empty() && parts.len() == values.len()).then(|| parts.join("\u{1f}"));
            out.push(Event {
                time: times.value(row),
                input,
                group: key,
                value,
            });
        }
    }
    Ok(())
}

impl CompiledCorrelation {
    /// The name of the measure a result's value is (`event_count`, `value_sum(Bytes)` ...).
    pub fn measure_name(&self) -> String {
        match &self.condition {
            Condition::Expression(_) => "rules_present".into(),
            Condition::Threshold(_) => match self.kind {
                CorrelationType::Temporal | CorrelationType::TemporalOrdered => {
                    "rules_present".into()
                }
                CorrelationType::EventCount => "event_count".into(),
                kind => format!("{}({})", kind.as_str(), self.value_field_names.join(", ")),
            },
        }
    }

    /// Results as a table: the group-by fields, `first`, `last`, the measure and `events`.
    pub fn results_batch(
        &self,
        hits: &[CorrelationHit],
    ) -> (Vec<String>, Vec<spoor_catalog::KqlType>, RecordBatch) {
        use datafusion::arrow::array::{
            ArrayRef, Float64Array, Int64Array, StringArray, TimestampNanosecondArray,
        };
        use datafusion::arrow::datatypes::{Field, Schema};
        use spoor_catalog::KqlType;
        use std::sync::Arc;
        let mut names: Vec<String> = self.group_by.clone();
        let mut types = vec![KqlType::String; names.len()];
        let mut columns: Vec<ArrayRef> = (0..names.len())
            .map(|i| {
                Arc::new(StringArray::from_iter_values(
                    hits.iter().map(|h| h.group[i].as_str()),
                )) as ArrayRef
            })
            .collect();
        names.extend([
            "first".into(),
            "last".into(),
            self.measure_name(),
            "events".into(),
        ]);
        types.extend([
            KqlType::DateTime,
            KqlType::DateTime,
            KqlType::Real,
            KqlType::Long,
        ]);
        columns.push(Arc::new(TimestampNanosecondArray::from_iter_values(
            hits.iter().map(|h| h.first),
        )));
        columns.push(Arc::new(TimestampNanosecondArray::from_iter_values(
            hits.iter().map(|h| h.last),
        )));
        columns.push(Arc::new(Float64Array::from_iter_values(
            hits.iter().map(|h| h.value),
        )));
        columns.push(Arc::new(Int64Array::from_iter_values(
            hits.iter().map(|h| h.events as i64),
        )));
        let schema = Schema::new(
            names
                .iter()
                .zip(&columns)
                .map(|(n, c)| Field::new(n, c.data_type().clone(), false))
                .collect::<Vec<_>>(),
        );
        let batch = RecordBatch::try_new(Arc::new(schema), columns)
            .expect("columns of one length and their own types");
        (names, types, batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corr(
        kind: CorrelationType,
        inputs: usize,
        span_s: i64,
        cond: Condition,
    ) -> CompiledCorrelation {
        CompiledCorrelation {
            origin: "t".into(),
            id: None,
            name: None,
            title: "t".into(),
            level: None,
            tags: vec![],
            kind,
            inputs: (0..inputs)
                .map(|i| Input {
                    reference: format!("r{i}"),
                    source: InputSource::Correlation {
                        correlation: 0,
                        group_positions: vec![],
                        value_positions: vec![],
                    },
                })
                .collect(),
            group_by: vec!["g".into()],
            timespan: format!("{span_s}s"),
            timespan_ns: span_s * 1_000_000_000,
            condition: cond,
            percentile: 50.0,
            value_field_names: vec![],
            generate: false,
        }
    }

    fn ev(s: i64, input: usize, group: &str, value: Option<&str>) -> Event {
        Event {
            time: s * 1_000_000_000,
            input,
            group: vec![group.into()],
            value: value.map(String::from),
        }
    }

    fn gte(n: f64) -> Condition {
        Condition::Threshold(vec![(ConditionOperator::Gte, n)])
    }

    #[test]
    fn a_window_is_open_at_its_start_and_closed_at_its_end() {
        let c = corr(CorrelationType::EventCount, 1, 10, gte(2.0));
        // 10 s apart: not one window.
        assert!(correlate(&c, vec![ev(0, 0, "a", None), ev(10, 0, "a", None)]).is_empty());
        // 9 s apart: one window of two.
        let hits = correlate(&c, vec![ev(0, 0, "a", None), ev(9, 0, "a", None)]);
        assert_eq!(hits.len(), 1);
        assert_eq!((hits[0].first, hits[0].value, hits[0].events), (0, 2.0, 2));
    }

    #[test]
    fn consecutive_firing_windows_are_one_result_and_a_gap_starts_another() {
        let c = corr(CorrelationType::EventCount, 1, 10, gte(2.0));
        let times = [0, 5, 12, 40, 45];
        let hits = correlate(&c, times.iter().map(|t| ev(*t, 0, "a", None)).collect());
        let spans: Vec<(i64, i64, usize)> = hits
            .iter()
            .map(|h| (h.first / 1_000_000_000, h.last / 1_000_000_000, h.events))
            .collect();
        assert_eq!(spans, vec![(0, 12, 3), (40, 45, 2)]);
    }

    #[test]
    fn firing_windows_that_share_no_event_are_separate_results() {
        let c = corr(CorrelationType::EventCount, 1, 10, gte(1.0));
        let hits = correlate(&c, vec![ev(0, 0, "a", None), ev(30, 0, "a", None)]);
        assert_eq!(hits.len(), 2);
    }

    #[test]
    fn simultaneous_events_are_in_a_window_together() {
        let c = corr(
            CorrelationType::EventCount,
            1,
            10,
            Condition::Threshold(vec![(ConditionOperator::Eq, 1.0)]),
        );
        assert!(correlate(&c, vec![ev(5, 0, "a", None), ev(5, 0, "a", None)]).is_empty());
    }

    #[test]
    fn groups_are_counted_apart() {
        let c = corr(CorrelationType::EventCount, 1, 60, gte(2.0));
        let hits = correlate(&c, vec![ev(0, 0, "a", None), ev(1, 0, "b", None)]);
        assert!(hits.is_empty());
    }

    #[test]
    fn value_measures() {
        let events = || {
            vec![
                ev(0, 0, "a", Some("1")),
                ev(1, 0, "a", Some("5")),
                ev(2, 0, "a", Some("5")),
                ev(3, 0, "a", Some("x")),
                ev(4, 0, "a", None),
            ]
        };
        let first = |kind, cond| correlate(&corr(kind, 1, 60, cond), events())[0].value;
        assert_eq!(first(CorrelationType::ValueCount, gte(3.0)), 3.0);
        assert_eq!(first(CorrelationType::ValueSum, gte(11.0)), 11.0);
        assert!(correlate(&corr(CorrelationType::ValueSum, 1, 60, gte(12.0)), events()).is_empty());
        assert_eq!(first(CorrelationType::ValueAvg, gte(3.0)), 3.0);
        assert_eq!(first(CorrelationType::ValueMedian, gte(5.0)), 5.0);
    }

    #[test]
    fn percentiles_interpolate_between_ranks() {
        assert_eq!(percentile(&mut [1.0, 2.0, 3.0, 4.0], 50.0), Some(2.5));
        assert_eq!(percentile(&mut [10.0, 0.0], 90.0), Some(9.0));
        assert_eq!(percentile(&mut [7.0], 95.0), Some(7.0));
        assert_eq!(percentile(&mut [], 50.0), None);
    }

    #[test]
    fn temporal_orders() {
        let all = |n| gte(n);
        let unordered = vec![ev(0, 1, "a", None), ev(5, 0, "a", None)];
        let t = corr(CorrelationType::Temporal, 2, 10, all(2.0));
        assert_eq!(correlate(&t, unordered.clone()).len(), 1);
        let o = corr(CorrelationType::TemporalOrdered, 2, 10, all(2.0));
        assert!(correlate(&o, unordered).is_empty());
        let ordered = vec![ev(0, 0, "a", None), ev(5, 1, "a", None)];
        assert_eq!(correlate(&o, ordered).len(), 1);
        // Simultaneous events count as in order.
        assert_eq!(
            correlate(&o, vec![ev(3, 1, "a", None), ev(3, 0, "a", None)]).len(),
            1
        );
    }

    #[test]
    fn temporal_expressions_name_rules() {
        let expr = rsigma_parser::parse_condition("r0 and not r1").unwrap();
        let c = corr(
            CorrelationType::Temporal,
            2,
            10,
            Condition::Expression(expr),
        );
        assert_eq!(correlate(&c, vec![ev(0, 0, "a", None)]).len(), 1);
        // Once r1 is in the window the expression is false: the run ends at the first event.
        let hits = correlate(&c, vec![ev(0, 0, "a", None), ev(5, 1, "a", None)]);
        assert_eq!((hits.len(), hits[0].last), (1, 0));
    }
}
