//! The HTML report: one self-contained file (styles inline, charts as inline SVG, no script,
//! nothing fetched) with the summary, the ATT&CK matrix of what fired, charts and every
//! finding with its rows.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use spoor_detections::{AttackTable, Finding, Severity};

/// What the report shows besides the findings.
pub struct ReportContext<'a> {
    pub title: &'a str,
    /// The evidence paths the hunt read.
    pub evidence: &'a [String],
    pub now_ns: i64,
    pub rules_run: usize,
    pub rules_without_data: usize,
    /// Rules that failed: id, error.
    pub errors: &'a [(String, String)],
    /// Rows shown per finding.
    pub sample: usize,
}

/// Escapes text for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn severity_color(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "#8e0000",
        Severity::High => "#d9381e",
        Severity::Medium => "#f08c00",
        Severity::Low => "#2f9e44",
        Severity::Informational => "#5c7cfa",
    }
}

const STYLE: &str = "
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#c5cad3;font-size:13px}
main{padding:20px 28px;max-width:1500px}
h2{font-size:18px;margin:28px 0 10px;border-bottom:1px solid #d5d9e0;padding-bottom:4px}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{background:#fff;border:1px solid #d5d9e0;border-radius:6px;padding:10px 16px;min-width:120px}
.card b{display:block;font-size:24px}
.card span{font-size:12px;color:#5b6475}
.matrix{display:grid;grid-template-columns:repeat(var(--cols),minmax(86px,1fr));gap:4px;overflow-x:auto}
.tactic{background:#1d2330;color:#fff;font-size:11px;padding:6px;border-radius:4px 4px 0 0;min-height:34px}
.tactic small{display:block;color:#aab2c0}
.tech{font-size:11px;padding:5px;border-radius:3px;color:#fff;margin-bottom:3px}
.tech.none{background:#e9ecf1;color:#7a8394}
.col{display:flex;flex-direction:column}
.badge{display:inline-block;color:#fff;border-radius:3px;padding:1px 6px;font-size:12px;font-weight:600}
.finding{background:#fff;border:1px solid #d5d9e0;border-radius:6px;margin:10px 0;padding:10px 14px}
.finding h3{margin:0 0 4px;font-size:15px}
.meta{font-size:12px;color:#5b6475}
table{border-collapse:collapse;font-size:12px;margin-top:8px;display:block;overflow-x:auto}
td,th{border:1px solid #d5d9e0;padding:3px 6px;text-align:left;vertical-align:top;max-width:420px;overflow-wrap:anywhere}
th{background:#eef0f4}
.charts{display:flex;gap:18px;flex-wrap:wrap}
.chart{background:#fff;border:1px solid #d5d9e0;border-radius:6px;padding:8px}
.chart h4{margin:0 0 4px;font-size:13px}
.error{color:#a61e1e}
";

/// Renders the report.
pub fn html_report(ctx: &ReportContext, findings: &[Finding], attack: &AttackTable) -> String {
    let mut h = String::new();
    let hits: usize = findings.iter().map(Finding::hits).sum();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n",
        esc(ctx.title)
    );
    let _ = writeln!(
        h,
        "<header><h1>{}</h1><p>evidence: {} &middot; now = {}</p></header><main>",
        esc(ctx.title),
        esc(&ctx.evidence.join(", ")),
        esc(&spoor_output::format_datetime(ctx.now_ns))
    );
    // Summary cards.
    h.push_str("<h2 id=\"summary\">Summary</h2><div class=\"cards\">");
    let techniques: BTreeSet<&str> = findings
        .iter()
        .flat_map(|f| f.techniques.iter().map(String::as_str))
        .collect();
    for (n, label) in [
        (findings.len(), "findings"),
        (hits, "hits"),
        (techniques.len(), "techniques"),
        (ctx.rules_run, "rules run"),
        (ctx.rules_without_data, "rules without data"),
    ] {
        let _ = write!(
            h,
            "<div class=\"card\"><b>{n}</b><span>{label}</span></div>"
        );
    }
    for s in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Informational,
    ] {
        let n = findings.iter().filter(|f| f.severity == s).count();
        let _ = write!(
            h,
            "<div class=\"card\" style=\"border-left:5px solid {}\"><b>{n}</b><span>{}</span></div>",
            severity_color(s),
            s.as_str()
        );
    }
    h.push_str("</div>\n");
    if !ctx.errors.is_empty() {
        h.push_str("<h2>Rules that failed</h2><ul>");
        for (rule, e) in ctx.errors {
            let _ = write!(
                h,
                "<li class=\"error\"><b>{}</b>: {}</li>",
                esc(rule),
                esc(e)
            );
        }
        h.push_str("</ul>");
    }
    matrix(&mut h, findings, attack);
    charts(&mut h, findings, attack);
    details(&mut h, findings, attack, ctx.sample);
    h.push_str("</main></body></html>\n");
    h
}

/// A technique in a tactic's column: its most severe finding, its hits, the findings' titles.
type MatrixCell<'a> = (Severity, usize, Vec<&'a str>);

/// The ATT&CK matrix: a column per tactic, the techniques that fired in it, coloured by their
/// most severe finding.
fn matrix(h: &mut String, findings: &[Finding], attack: &AttackTable) {
    // tactic -> technique -> (worst severity, hits, finding titles)
    let mut cells: BTreeMap<String, BTreeMap<String, MatrixCell>> = BTreeMap::new();
    for f in findings {
        for (technique, tactic) in f.matrix_cells(attack) {
            let Some(tac) = attack.tactic(&tactic) else {
                continue;
            };
            let cell = cells
                .entry(tac.short_name.clone())
                .or_default()
                .entry(technique)
                .or_insert((Severity::Informational, 0, Vec::new()));
            cell.0 = cell.0.max(f.severity);
            cell.1 += f.hits();
            cell.2.push(&f.title);
        }
    }
    let _ = write!(
        h,
        "<h2 id=\"matrix\">ATT&amp;CK matrix</h2><div class=\"matrix\" style=\"--cols:{}\">",
        attack.tactics.len()
    );
    for tac in &attack.tactics {
        let fired = cells.get(&tac.short_name);
        let _ = write!(
            h,
            "<div class=\"col\" data-tactic=\"{}\"><div class=\"tactic\">{}<small>{} &middot; {} fired</small></div>",
            esc(&tac.short_name),
            esc(&tac.name),
            esc(&tac.id),
            fired.map_or(0, BTreeMap::len)
        );
        match fired {
            Some(techs) => {
                for (id, (sev, hits, titles)) in techs {
                    let name = attack.full_name(id).unwrap_or_default();
                    let _ = write!(
                        h,
                        "<div class=\"tech\" data-technique=\"{id}\" style=\"background:{}\" title=\"{}\"><b>{}</b> {}<br>{hits} hits</div>",
                        severity_color(*sev),
                        esc(&titles.join("; ")),
                        esc(id),
                        esc(&name)
                    );
                }
            }
            None => h.push_str("<div class=\"tech none\">&nbsp;</div>"),
        }
        h.push_str("</div>");
    }
    h.push_str("</div>\n");
}

/// Charts: hits over time, findings by severity, hits by tactic.
fn charts(h: &mut String, findings: &[Finding], attack: &AttackTable) {
    h.push_str("<h2 id=\"charts\">Charts</h2><div class=\"charts\">");
    // Hits over time: 40 buckets between the first and last hit.
    let times: Vec<i64> = findings
        .iter()
        .flat_map(|f| f.row_times().into_iter().flatten())
        .collect();
    if let (Some(&lo), Some(&hi)) = (times.iter().min(), times.iter().max()) {
        let buckets = 40usize;
        let span = (hi - lo).max(1);
        let mut counts = vec![0usize; buckets];
        for t in &times {
            let i = (((t - lo) as i128 * buckets as i128) / (span as i128 + 1)) as usize;
            counts[i.min(buckets - 1)] += 1;
        }
        let bars: Vec<(String, usize, &str)> = counts
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let start = lo + (span as i128 * i as i128 / buckets as i128) as i64;
                (spoor_output::format_datetime(start), *n, "#3b5bdb")
            })
            .collect();
        bar_chart(
            h,
            &format!(
                "Hits over time ({} .. {})",
                spoor_output::format_datetime(lo),
                spoor_output::format_datetime(hi)
            ),
            &bars,
            false,
        );
    }
    let by_severity: Vec<(String, usize, &str)> = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Informational,
    ]
    .iter()
    .map(|s| {
        (
            s.as_str().to_string(),
            findings.iter().filter(|f| f.severity == *s).count(),
            severity_color(*s),
        )
    })
    .collect();
    bar_chart(h, "Findings by severity", &by_severity, true);
    let by_tactic: Vec<(String, usize, &str)> = attack
        .tactics
        .iter()
        .map(|t| {
            (
                t.name.clone(),
                findings
                    .iter()
                    .filter(|f| f.tactics.contains(&t.short_name))
                    .map(Finding::hits)
                    .sum(),
                "#1d2330",
            )
        })
        .filter(|(_, n, _)| *n > 0)
        .collect();
    if !by_tactic.is_empty() {
        bar_chart(h, "Hits by tactic", &by_tactic, true);
    }
    h.push_str("</div>\n");
}

/// A bar chart as inline SVG: vertical bars, or horizontal ones with their labels.
fn bar_chart(h: &mut String, title: &str, bars: &[(String, usize, &str)], horizontal: bool) {
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let _ = write!(h, "<div class=\"chart\"><h4>{}</h4>", esc(title));
    if horizontal {
        let (w, row) = (360, 20);
        let height = bars.len() * row + 4;
        let _ = write!(
            h,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{height}\" role=\"img\" aria-label=\"{}\">",
            esc(title)
        );
        for (i, (label, n, color)) in bars.iter().enumerate() {
            let y = i * row + 2;
            let len = (*n as f64 / max as f64 * 180.0).round();
            let _ = write!(
                h,
                "<text x=\"0\" y=\"{}\" font-size=\"11\">{}</text><rect x=\"130\" y=\"{y}\" width=\"{len}\" height=\"{}\" fill=\"{color}\"><title>{}: {n}</title></rect><text x=\"{}\" y=\"{}\" font-size=\"11\">{n}</text>",
                y + 13,
                esc(label),
                row - 6,
                esc(label),
                135.0 + len,
                y + 13
            );
        }
    } else {
        let (w, height, top) = (560, 160, 10);
        let bw = (w - 40) as f64 / bars.len().max(1) as f64;
        let _ = write!(
            h,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{}\" role=\"img\" aria-label=\"{}\">",
            height + 20,
            esc(title)
        );
        let _ = write!(
            h,
            "<text x=\"0\" y=\"{}\" font-size=\"10\">{max}</text><line x1=\"30\" y1=\"{height}\" x2=\"{w}\" y2=\"{height}\" stroke=\"#999\"/>",
            top + 8
        );
        for (i, (label, n, color)) in bars.iter().enumerate() {
            let bh = *n as f64 / max as f64 * (height - top) as f64;
            let _ = write!(
                h,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{color}\"><title>{}: {n}</title></rect>",
                35.0 + i as f64 * bw,
                height as f64 - bh,
                (bw - 1.0).max(1.0),
                esc(label)
            );
        }
    }
    h.push_str("</svg></div>");
}

/// Every finding: its metadata, ATT&CK, investigation steps and sample rows.
fn details(h: &mut String, findings: &[Finding], attack: &AttackTable, sample: usize) {
    h.push_str("<h2 id=\"findings\">Findings</h2>");
    if findings.is_empty() {
        h.push_str("<p>No rule fired.</p>");
    }
    for f in findings {
        let (first, last) = f.time_range();
        let _ = write!(
            h,
            "<section class=\"finding\" data-rule=\"{}\"><h3><span class=\"badge\" style=\"background:{}\">{} {}</span> {}</h3>",
            esc(&f.rule_id),
            severity_color(f.severity),
            f.severity.as_str(),
            f.score,
            esc(&f.title)
        );
        let techniques: Vec<String> = f
            .techniques
            .iter()
            .map(|t| match attack.full_name(t) {
                Some(n) => format!("{t} {n}"),
                None => t.clone(),
            })
            .collect();
        let _ = write!(
            h,
            "<div class=\"meta\">rule {} &middot; {} hits &middot; {} .. {} &middot; {}</div>",
            esc(&f.rule_id),
            f.hits(),
            first.map(spoor_output::format_datetime).unwrap_or_default(),
            last.map(spoor_output::format_datetime).unwrap_or_default(),
            esc(&techniques.join("; "))
        );
        if !f.description.is_empty() {
            let _ = write!(h, "<p>{}</p>", esc(f.description.trim()));
        }
        if !f.investigation.is_empty() {
            h.push_str("<details><summary>Investigation</summary><ul>");
            for step in &f.investigation {
                let _ = write!(h, "<li>{}</li>", esc(step));
            }
            h.push_str("</ul></details>");
        }
        let shown = f.sample(sample);
        let mut columns: Vec<&str> = Vec::new();
        for row in &shown {
            for k in row.keys() {
                if !columns.contains(&k.as_str()) {
                    columns.push(k);
                }
            }
        }
        if !shown.is_empty() {
            h.push_str("<table><tr>");
            for c in &columns {
                let _ = write!(h, "<th>{}</th>", esc(c));
            }
            h.push_str("</tr>");
            for row in &shown {
                h.push_str("<tr>");
                for c in &columns {
                    let v = match row.get(*c) {
                        Some(serde_json::Value::String(s)) => s.clone(),
                        Some(v) => v.to_string(),
                        None => String::new(),
                    };
                    let v: String = if v.chars().count() > 300 {
                        v.chars().take(300).chain("...".chars()).collect()
                    } else {
                        v
                    };
                    let _ = write!(h, "<td>{}</td>", esc(&v));
                }
                h.push_str("</tr>");
            }
            h.push_str("</table>");
            if f.hits() > shown.len() {
                let _ = write!(
                    h,
                    "<p class=\"meta\">... and {} more rows (the timeline lists them all)</p>",
                    f.hits() - shown.len()
                );
            }
        }
        h.push_str("</section>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<script>\"a\" & 'b'</script>"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }
}
