//! `spoor hunt`: the detection pack over evidence, findings by ATT&CK tactic.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use spoor_detections::{AttackTable, Finding, HuntOutcome, HuntPlan, RunOptions, Severity, Tuning};

use crate::args::{HuntArgs, PackOptions, TablesFormat};
use crate::input::{open_engine, parse_now, report_skipped, with_progress, with_progress_text};
use crate::{EXIT_QUERY_ERROR, Failure};

pub fn run(args: HuntArgs) -> Result<ExitCode, Failure> {
    let (attack, attack_note) = spoor_detections::attack::current_table();
    if let Some(note) = attack_note {
        eprintln!("warning: {note}");
    }
    let pack = load_rules(&PackOptions {
        rules: args.rules.clone(),
        no_builtin: args.no_builtin,
    })?;
    let mut tuning = Tuning::default();
    for path in &args.tuning {
        tuning.extend(Tuning::load(path).map_err(Failure::Usage)?);
    }
    let params = parse_params(&args.params)?;
    for name in params.keys() {
        if !pack
            .iter()
            .any(|r| r.detection.parameters.iter().any(|p| &p.name == name))
        {
            return Err(Failure::Usage(format!(
                "--param {name}: no rule of the hunt has a parameter of that name \
                 (`spoor rules show ID` lists a rule's parameters)"
            )));
        }
    }
    let sigma = if args.sigma.is_empty() {
        None
    } else {
        let ctx = super::sigma::context(&args.sigma_options)?;
        for p in &args.sigma {
            if !p.exists() {
                return Err(Failure::Usage(format!(
                    "--sigma {}: no such file or folder",
                    p.display()
                )));
            }
        }
        let mut loaded = spoor_sigma::load_paths(&args.sigma, &ctx);
        if !loaded.failures.is_empty() {
            // A count and the reasons; `spoor check --lang sigma` lists every rule.
            eprintln!(
                "warning: {} of {} Sigma rules not loaded (`spoor check --lang sigma PATH` lists them with their reasons):",
                loaded.failures.len(),
                loaded.failures.len() + loaded.loaded()
            );
            for (reason, n) in spoor_sigma::failure_reasons(&loaded.failures)
                .into_iter()
                .take(5)
            {
                eprintln!("  {n:>5}  {reason}");
            }
        }
        spoor_detections::sigma_scan::apply_tuning(&mut loaded, &tuning).map_err(Failure::Usage)?;
        Some(loaded)
    };
    let known: std::collections::BTreeSet<&str> = pack
        .iter()
        .map(|r| r.detection.id.as_str())
        .chain(
            sigma
                .iter()
                .flat_map(|l| l.rules.iter().filter_map(|r| r.id.as_deref())),
        )
        .collect();
    for rule in tuning.by_rule.keys() {
        if !known.contains(rule.as_str()) {
            eprintln!("warning: the tuning names rule {rule}, which this hunt does not run");
        }
    }
    let mut engine = open_engine(
        &args.paths,
        Default::default(),
        args.source_format.as_deref(),
    )?;
    let mut plan = HuntPlan {
        pack: &pack,
        sigma: sigma.as_ref(),
        tuning: &tuning,
        options: RunOptions { now_ns: 0, params },
        attack: &attack,
    };
    let message = format!(
        "reading {} evidence file(s)",
        engine.inventory().files.len()
    );
    if !args.no_cache {
        with_progress_text(
            &message,
            args.quiet,
            spoor_detections::cache_shared_tables(&mut engine, &plan),
        )?
        .map_err(|e| Failure::Query(format!("error: reading the evidence: {e}")))?;
    }
    plan.options.now_ns = match parse_now(args.now.as_deref())? {
        Some(ns) => ns,
        None => latest_event(&engine, args.quiet)?,
    };
    let now_ns = plan.options.now_ns;
    let progress = |done: usize, total: usize, rule: &str| {
        crate::input::progress_message(&format!("rule {}/{total}: {rule}", done + 1));
    };
    let mut outcome = with_progress(
        &engine,
        args.quiet,
        spoor_detections::hunt(&engine, &plan, &progress),
    )?;
    report_skipped(&engine);
    for (rule, e) in &outcome.errors {
        eprintln!("error: rule {rule} failed: {e}");
    }
    if let Some(min) = &args.min_severity {
        let min = severity_named(min);
        outcome.findings.retain(|f| f.severity >= min);
    }
    if let Some(path) = &args.timeline {
        let rows = write_file(path, |out| {
            spoor_report::write_timeline(out, &outcome.findings)
        })?;
        eprintln!("wrote the timeline ({rows} hits) to {}", path.display());
    }
    if let Some(path) = &args.attack_layer {
        let layer = spoor_report::navigator_layer(&outcome.findings, &attack, "spoor hunt");
        write_file(path, |out| {
            serde_json::to_writer_pretty(&mut *out, &layer).map_err(std::io::Error::other)?;
            writeln!(out)
        })?;
        eprintln!("wrote the ATT&CK Navigator layer to {}", path.display());
    }
    if let Some(path) = &args.report {
        let evidence: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
        let context = spoor_report::ReportContext {
            title: "spoor hunt report",
            evidence: &evidence,
            now_ns,
            rules_run: outcome.pack_rules_run + outcome.sigma_rules_run,
            rules_without_data: outcome.pack_rules_without_data,
            errors: &outcome.errors,
            sample: args.sample.max(10),
        };
        let html = spoor_report::html_report(&context, &outcome.findings, &attack);
        write_file(path, |out| out.write_all(html.as_bytes()))?;
        eprintln!("wrote the HTML report to {}", path.display());
    }
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match args.format {
        TablesFormat::Json => {
            for f in &outcome.findings {
                writeln!(out, "{}", f.to_json(args.sample)).map_err(anyhow::Error::from)?;
            }
        }
        TablesFormat::Table => write_summary(&mut out, &outcome, &attack, args.sample, now_ns)
            .map_err(anyhow::Error::from)?,
    }
    out.flush().map_err(anyhow::Error::from)?;
    Ok(if outcome.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_QUERY_ERROR)
    })
}

/// The built-in pack and `--rules` folders; a rule that does not parse is an error naming it
/// (the others are not run: a pack is fixed before it hunts).
pub fn load_rules(options: &PackOptions) -> Result<Vec<spoor_detections::PackRule>, Failure> {
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    if !options.no_builtin {
        let (r, e) = spoor_detections::built_in_pack();
        rules.extend(r);
        errors.extend(e);
    }
    if !options.rules.is_empty() {
        let (r, e) = spoor_detections::load_pack(&options.rules);
        rules.extend(r);
        errors.extend(e);
    }
    if !errors.is_empty() {
        let text: Vec<String> = errors.iter().map(|e| format!("error: {e}")).collect();
        return Err(Failure::Query(format!(
            "{}\n{} rule file(s) do not load; `spoor rules lint PATH` checks them",
            text.join("\n"),
            errors.len()
        )));
    }
    if rules.is_empty() {
        return Err(Failure::Usage(
            "no rules: --no-builtin needs --rules DIR or --sigma DIR".into(),
        ));
    }
    Ok(rules)
}

fn parse_params(flags: &[String]) -> Result<BTreeMap<String, String>, Failure> {
    let mut out = BTreeMap::new();
    for flag in flags {
        let (name, value) = crate::input::split_param(flag)?;
        out.insert(name.to_string(), value.to_string());
    }
    Ok(out)
}

fn severity_named(name: &str) -> Severity {
    match name {
        "critical" => Severity::Critical,
        "high" => Severity::High,
        "medium" => Severity::Medium,
        "low" => Severity::Low,
        _ => Severity::Informational,
    }
}

/// The latest event time in the evidence: the default `now` of a hunt.
fn latest_event(engine: &spoor_engine::Engine, quiet: bool) -> Result<i64, Failure> {
    let latest = with_progress(engine, quiet, engine.latest_event_time())?.map_err(|e| {
        Failure::Query(format!(
            "error: reading the evidence: {}",
            e.strip_backtrace()
        ))
    })?;
    Ok(latest.unwrap_or_else(super::query::wall_clock_ns))
}

fn write_file<T>(
    path: &Path,
    body: impl FnOnce(&mut dyn Write) -> std::io::Result<T>,
) -> Result<T, Failure> {
    let file = std::fs::File::create(path)
        .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", path.display())))?;
    let mut out = BufWriter::new(file);
    let value = body(&mut out).map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    out.flush()
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    Ok(value)
}

/// The terminal summary: a headline, then the findings grouped by their first tactic (groups
/// in the order of their most severe finding), each with its sample rows.
fn write_summary(
    out: &mut dyn Write,
    outcome: &HuntOutcome,
    attack: &AttackTable,
    sample: usize,
    now_ns: i64,
) -> std::io::Result<()> {
    let findings = &outcome.findings;
    let hits: usize = findings.iter().map(Finding::hits).sum();
    let mut by_severity: BTreeMap<std::cmp::Reverse<Severity>, usize> = BTreeMap::new();
    for f in findings {
        *by_severity
            .entry(std::cmp::Reverse(f.severity))
            .or_default() += 1;
    }
    let counts: Vec<String> = by_severity
        .iter()
        .map(|(s, n)| format!("{n} {}", s.0.as_str()))
        .collect();
    writeln!(
        out,
        "{} finding(s){} from {} rule(s) run ({} pack rule(s) had no data){}; now = {}",
        findings.len(),
        if counts.is_empty() {
            String::new()
        } else {
            format!(" ({})", counts.join(", "))
        },
        outcome.pack_rules_run + outcome.sigma_rules_run,
        outcome.pack_rules_without_data,
        if hits > 0 {
            format!(", {hits} hit(s)")
        } else {
            String::new()
        },
        spoor_output::format_datetime(now_ns)
    )?;
    // Group by first tactic, in the order the (sorted) findings first name it.
    let mut groups: Vec<(String, Vec<&Finding>)> = Vec::new();
    for f in findings {
        let key = f.tactics.first().cloned().unwrap_or_default();
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push(f),
            None => groups.push((key, vec![f])),
        }
    }
    for (tactic, list) in groups {
        let heading = match attack.tactic(&tactic) {
            Some(t) => format!("{} ({})", t.name, t.id),
            None if tactic.is_empty() => "No ATT&CK tactic".to_string(),
            None => tactic.clone(),
        };
        writeln!(out, "\n== {heading}")?;
        for f in list {
            let techniques: Vec<String> = f
                .techniques
                .iter()
                .map(|t| match attack.full_name(t) {
                    Some(name) => format!("{t} {name}"),
                    None => t.clone(),
                })
                .collect();
            let (first, last) = f.time_range();
            writeln!(
                out,
                "[{} {}] {}  ({} hit{})",
                f.severity.as_str().to_uppercase(),
                f.score,
                f.title,
                f.hits(),
                if f.hits() == 1 { "" } else { "s" }
            )?;
            writeln!(out, "    rule: {}", f.rule_id)?;
            if !techniques.is_empty() {
                writeln!(out, "    attack: {}", techniques.join("; "))?;
            }
            if let (Some(a), Some(b)) = (first, last) {
                writeln!(
                    out,
                    "    time: {} .. {}",
                    spoor_output::format_datetime(a),
                    spoor_output::format_datetime(b)
                )?;
            }
            for row in f.sample(sample) {
                writeln!(out, "    | {}", one_line(&row, 160))?;
            }
            if f.hits() > sample {
                writeln!(out, "    | ... and {} more", f.hits() - sample)?;
            }
        }
    }
    Ok(())
}

/// A row as `Column=value` pairs on one line, cut at `width` characters.
fn one_line(row: &serde_json::Map<String, serde_json::Value>, width: usize) -> String {
    let mut line = String::new();
    for (k, v) in row {
        let v = match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if !line.is_empty() {
            line.push_str("  ");
        }
        line.push_str(&format!("{k}={v}"));
        if line.chars().count() > width {
            let cut: String = line.chars().take(width.saturating_sub(3)).collect();
            return format!("{cut}...");
        }
    }
    line
}
