//! Findings: a rule that fired, with its metadata, ATT&CK mapping, score and the rows that
//! triggered it.

use datafusion::arrow::array::{Array, TimestampNanosecondArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use serde_json::{Map, Value, json};
use spoor_catalog::KqlType;
use spoor_output::ResultSet;

use crate::attack::AttackTable;
use crate::model::{Detection, Level, Severity};

/// Where a finding's rule comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleOrigin {
    /// A detection of the pack (built-in or `--rules`), by file.
    Pack(String),
    /// A Sigma rule (`--sigma`), by file.
    Sigma(String),
}

/// A rule that fired.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule_id: String,
    pub title: String,
    pub description: String,
    pub origin: RuleOrigin,
    pub severity: Severity,
    pub confidence: Option<Level>,
    /// 0 to 100: the rule's risk score.
    pub score: u32,
    /// Tactic short names, in matrix order.
    pub tactics: Vec<String>,
    pub techniques: Vec<String>,
    /// The result rows, per query (a rule over several tables has one set per table).
    pub results: Vec<(String, ResultSet)>,
    pub investigation: Vec<String>,
}

impl Finding {
    /// A finding from a pack rule's results.
    pub fn from_detection(
        d: &Detection,
        origin: RuleOrigin,
        attack: &AttackTable,
        results: Vec<(String, ResultSet)>,
    ) -> Finding {
        let tactics = if d.tactics.is_empty() {
            tactics_of(&d.techniques, attack)
        } else {
            d.tactics.clone()
        };
        Finding {
            rule_id: d.id.clone(),
            title: d.title.clone(),
            description: d.description.clone(),
            origin,
            severity: d.severity,
            confidence: Some(d.confidence),
            score: d.risk.score,
            tactics,
            techniques: d.techniques.clone(),
            results,
            investigation: d.investigation.clone(),
        }
    }

    /// A finding from a Sigma rule (or correlation): ATT&CK from its `attack.*` tags, the
    /// score from its level.
    pub fn from_sigma(
        id: Option<&str>,
        title: &str,
        level: Option<&str>,
        tags: &[String],
        origin: &str,
        attack: &AttackTable,
        results: Vec<(String, ResultSet)>,
    ) -> Finding {
        let mut techniques = Vec::new();
        let mut tagged_tactics = Vec::new();
        for tag in tags {
            let Some(rest) = tag
                .to_ascii_lowercase()
                .strip_prefix("attack.")
                .map(str::to_string)
            else {
                continue;
            };
            if rest.starts_with('t') && rest[1..].starts_with(|c: char| c.is_ascii_digit()) {
                techniques.push(rest.to_ascii_uppercase());
            } else if let Some(t) = attack.tactic(&rest.replace('_', "-")) {
                tagged_tactics.push(t.short_name.clone());
            }
        }
        let tactics = if tagged_tactics.is_empty() {
            tactics_of(&techniques, attack)
        } else {
            in_matrix_order(tagged_tactics, attack)
        };
        let severity = Severity::from_sigma(level);
        Finding {
            rule_id: id.unwrap_or(title).to_string(),
            title: title.to_string(),
            description: String::new(),
            origin: RuleOrigin::Sigma(origin.to_string()),
            severity,
            confidence: None,
            score: severity.default_score(),
            tactics,
            techniques,
            results,
            investigation: Vec::new(),
        }
    }

    /// Each (technique, tactic) cell of the ATT&CK matrix the finding lands in: a technique
    /// under the tactics of it that the finding claims, or under all its tactics when the
    /// finding claims none of them.
    pub fn matrix_cells(&self, attack: &AttackTable) -> Vec<(String, String)> {
        let mut cells = Vec::new();
        for technique in &self.techniques {
            let tactics: Vec<String> = match attack.technique(technique) {
                Some(t) => {
                    let claimed: Vec<String> = t
                        .tactics
                        .iter()
                        .filter(|x| self.tactics.contains(x))
                        .cloned()
                        .collect();
                    if claimed.is_empty() {
                        t.tactics.clone()
                    } else {
                        claimed
                    }
                }
                None => self.tactics.clone(),
            };
            cells.extend(tactics.into_iter().map(|t| (technique.clone(), t)));
        }
        cells
    }

    /// The number of result rows.
    pub fn hits(&self) -> usize {
        self.results.iter().map(|(_, s)| s.rows()).sum()
    }

    /// Every row with its time (the row's `TimeGenerated`, else its first datetime column)
    /// and the set it came from (the timeline).
    pub fn timed_rows(&self) -> Vec<(Option<i64>, &str, Map<String, Value>)> {
        let mut out = Vec::new();
        for (name, set) in &self.results {
            let times = row_times(set);
            for (row, time) in compact_rows(set).into_iter().zip(times) {
                out.push((time, name.as_str(), row));
            }
        }
        out
    }

    /// Each row's time, without converting the rows (charts over every hit).
    pub fn row_times(&self) -> Vec<Option<i64>> {
        self.results
            .iter()
            .flat_map(|(_, s)| row_times(s))
            .collect()
    }

    /// The first `n` rows as compact JSON objects; only those rows are converted (a Sigma rule
    /// may have matched a hundred thousand events of two hundred columns).
    pub fn sample(&self, n: usize) -> Vec<Map<String, Value>> {
        let mut out = Vec::new();
        for (_, set) in &self.results {
            let mut batches = Vec::new();
            let mut left = n - out.len();
            for b in &set.batches {
                if left == 0 {
                    break;
                }
                let take = left.min(b.num_rows());
                batches.push(b.slice(0, take));
                left -= take;
            }
            let head = ResultSet::new(set.columns.clone(), batches, set.types.clone());
            out.extend(compact_rows(&head));
            if out.len() >= n {
                break;
            }
        }
        out
    }

    /// The earliest and latest time of any datetime value in the rows (a summary's FirstSeen
    /// and LastSeen included).
    pub fn time_range(&self) -> (Option<i64>, Option<i64>) {
        let mut first: Option<i64> = None;
        let mut last: Option<i64> = None;
        for (_, set) in &self.results {
            for batch in &set.batches {
                for (i, field) in batch.schema().fields().iter().enumerate() {
                    if !matches!(field.data_type(), DataType::Timestamp(..)) {
                        continue;
                    }
                    let Some(ns) = as_nanos(batch.column(i)) else {
                        continue;
                    };
                    for v in ns.iter().flatten() {
                        first = Some(first.map_or(v, |f| f.min(v)));
                        last = Some(last.map_or(v, |l| l.max(v)));
                    }
                }
            }
        }
        (first, last)
    }

    /// The finding as one JSON object: `rule_id, title, severity, score, tactics, techniques,
    /// hits, first, last, sample` (at most `sample` rows).
    pub fn to_json(&self, sample: usize) -> Value {
        let (first, last) = self.time_range();
        let rows: Vec<Value> = self.sample(sample).into_iter().map(Value::Object).collect();
        json!({
            "rule_id": self.rule_id,
            "title": self.title,
            "severity": self.severity.as_str(),
            "score": self.score,
            "tactics": self.tactics,
            "techniques": self.techniques,
            "hits": self.hits(),
            "first": first.map(spoor_output::format_datetime),
            "last": last.map(spoor_output::format_datetime),
            "sample": rows,
            "source": match &self.origin {
                RuleOrigin::Pack(p) => json!({"pack": p}),
                RuleOrigin::Sigma(p) => json!({"sigma": p}),
            },
        })
    }
}

/// Findings in the order they are reported: most severe first, then highest score, then most
/// hits, then by title.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.score.cmp(&a.score))
            .then(b.hits().cmp(&a.hits()))
            .then(a.title.cmp(&b.title))
    });
}

/// The tactics of techniques, per the ATT&CK table, in matrix order.
pub fn tactics_of(techniques: &[String], attack: &AttackTable) -> Vec<String> {
    let mut all = Vec::new();
    for t in techniques {
        if let Some(tech) = attack.technique(t) {
            all.extend(tech.tactics.iter().cloned());
        }
    }
    in_matrix_order(all, attack)
}

fn in_matrix_order(mut tactics: Vec<String>, attack: &AttackTable) -> Vec<String> {
    tactics.sort_by_key(|t| {
        attack
            .tactics
            .iter()
            .position(|x| &x.short_name == t)
            .unwrap_or(usize::MAX)
    });
    tactics.dedup();
    tactics
}

/// Rows as JSON objects without their null and empty values (a WindowsEvent row has 200
/// columns, most empty).
pub fn compact_rows(set: &ResultSet) -> Vec<Map<String, Value>> {
    set.json_rows()
        .into_iter()
        .map(|row| {
            row.into_iter()
                .filter(|(_, v)| !matches!(v, Value::Null) && v != &Value::String(String::new()))
                .collect()
        })
        .collect()
}

/// Each row's time: `TimeGenerated` when the set has it, else its first datetime column.
fn row_times(set: &ResultSet) -> Vec<Option<i64>> {
    let index = set
        .columns
        .iter()
        .position(|c| c == "TimeGenerated")
        .filter(|&i| set.types.get(i) == Some(&KqlType::DateTime))
        .or_else(|| set.types.iter().position(|t| *t == KqlType::DateTime));
    let mut out = Vec::with_capacity(set.rows());
    for batch in &set.batches {
        let ns = index
            .filter(|&i| i < batch.num_columns())
            .and_then(|i| as_nanos(batch.column(i)));
        match ns {
            Some(a) => out.extend(a.iter()),
            None => out.extend(std::iter::repeat_n(None, batch.num_rows())),
        }
    }
    out
}

fn as_nanos(a: &datafusion::arrow::array::ArrayRef) -> Option<TimestampNanosecondArray> {
    let a = cast(a, &DataType::Timestamp(TimeUnit::Nanosecond, None)).ok()?;
    a.as_any()
        .downcast_ref::<TimestampNanosecondArray>()
        .cloned()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{Field, Schema};

    use super::*;

    fn set(values: &[i64]) -> ResultSet {
        let schema = Arc::new(Schema::new(vec![
            Field::new("N", DataType::Int64, false),
            Field::new("Empty", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(values.to_vec())),
                Arc::new(StringArray::from(vec![Some(""); values.len()])),
            ],
        )
        .unwrap();
        ResultSet::new(
            vec!["N".into(), "Empty".into()],
            vec![batch],
            vec![KqlType::Long, KqlType::String],
        )
    }

    #[test]
    fn a_sample_takes_the_first_rows_across_sets_without_empty_values() {
        let f = Finding {
            rule_id: "r".into(),
            title: "t".into(),
            description: String::new(),
            origin: RuleOrigin::Pack("p".into()),
            severity: Severity::High,
            confidence: None,
            score: 70,
            tactics: vec![],
            techniques: vec![],
            results: vec![("A".into(), set(&[1, 2])), ("B".into(), set(&[3, 4, 5]))],
            investigation: vec![],
        };
        assert_eq!(f.hits(), 5);
        let sample: Vec<String> = f
            .sample(3)
            .into_iter()
            .map(|r| Value::Object(r).to_string())
            .collect();
        assert_eq!(sample, [r#"{"N":1}"#, r#"{"N":2}"#, r#"{"N":3}"#]);
        assert!(f.sample(0).is_empty());
        assert_eq!(f.sample(10).len(), 5);
    }
}
