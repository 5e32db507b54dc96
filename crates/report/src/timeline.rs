//! The timeline: every hit of every finding, in time order, one CSV row each.

use std::io::Write;

use spoor_detections::Finding;

/// Writes `time, severity, score, rule_id, title, techniques, source, event` rows, earliest
/// first; rows without a time come last. `event` is the row as compact JSON (no empty values).
pub fn write_timeline(out: &mut dyn Write, findings: &[Finding]) -> std::io::Result<usize> {
    let mut rows = Vec::new();
    for f in findings {
        for (time, source, row) in f.timed_rows() {
            rows.push((time, f, source.to_string(), row));
        }
    }
    // Stable: hits at one instant keep the findings' report order.
    rows.sort_by_key(|(time, ..)| (time.is_none(), *time));
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "time",
        "severity",
        "score",
        "rule_id",
        "title",
        "techniques",
        "source",
        "event",
    ])?;
    for (time, f, source, row) in &rows {
        w.write_record([
            time.map(spoor_output::format_datetime).unwrap_or_default(),
            f.severity.as_str().to_string(),
            f.score.to_string(),
            f.rule_id.clone(),
            f.title.clone(),
            f.techniques.join(" "),
            source.clone(),
            serde_json::Value::Object(row.clone()).to_string(),
        ])?;
    }
    w.flush()?;
    Ok(rows.len())
}
