//! `--lang sigma` for `spoor query` and `spoor check`: Sigma rules loaded, compiled to plans,
//! checked or run.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;
use spoor_output::{OutputFormat, ResultSet};
use spoor_sigma::{Context, Loaded};

use crate::args::{CheckArgs, CheckFormat, Format, QueryArgs, SigmaOptions};
use crate::input::{externaldata_map, open_engine, read_query_file, report_skipped, with_progress};
use crate::{EXIT_QUERY_ERROR, Failure};

/// The mappings and placeholders the options name, over spoor's own.
pub(crate) fn context(options: &SigmaOptions) -> Result<Context, Failure> {
    let mut ctx = Context::default();
    for path in &options.mappings {
        let text = read_query_file(path)?;
        ctx.mappings
            .add(&path.display().to_string(), &text)
            .map_err(Failure::Usage)?;
    }
    if let Some(path) = &options.placeholders {
        let text = read_query_file(path)?;
        ctx.placeholders = spoor_sigma::parse_placeholders(&text).map_err(|e| {
            Failure::Usage(format!(
                "{}: not a placeholder file (YAML `name: [value, ...]`): {e}",
                path.display()
            ))
        })?;
    }
    Ok(ctx)
}

/// `spoor check --lang sigma PATH...`: loads rule files and folders, reports every rule that
/// does not load with its reason, and the tally.
pub fn check(args: CheckArgs) -> Result<ExitCode, Failure> {
    let ctx = context(&args.sigma)?;
    let mut paths: Vec<PathBuf> = args.query.iter().map(PathBuf::from).collect();
    paths.extend(args.file.iter().cloned());
    if paths.is_empty() {
        return Err(Failure::Usage(
            "nothing to check: give Sigma rule files or folders".into(),
        ));
    }
    for p in &paths {
        if !p.exists() {
            return Err(Failure::Usage(format!(
                "{}: no such file or folder",
                p.display()
            )));
        }
    }
    let loaded = spoor_sigma::load_paths(&paths, &ctx);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let total = loaded.loaded() + loaded.failures.len();
    match args.format {
        CheckFormat::Json => {
            for r in &loaded.rules {
                let tables: Vec<&str> = r.targets.iter().map(|t| t.table.as_str()).collect();
                let skipped: Vec<String> = r
                    .skipped
                    .iter()
                    .map(|(t, why)| format!("{t}: {why}"))
                    .collect();
                let row = json!({"origin": r.origin, "title": r.title, "id": r.id,
                    "loaded": true, "tables": tables, "skipped_tables": skipped});
                writeln!(out, "{row}").map_err(anyhow::Error::from)?;
            }
            for c in &loaded.correlations {
                let rules: Vec<&str> = c.inputs.iter().map(|i| i.reference.as_str()).collect();
                let row = json!({"origin": c.origin, "title": c.title, "id": c.id,
                    "loaded": true, "correlation": c.kind.as_str(), "rules": rules});
                writeln!(out, "{row}").map_err(anyhow::Error::from)?;
            }
            for f in &loaded.failures {
                let row = json!({"origin": f.origin, "title": f.title, "loaded": false,
                    "reason": f.reason});
                writeln!(out, "{row}").map_err(anyhow::Error::from)?;
            }
        }
        CheckFormat::Text => {
            for f in &loaded.failures {
                writeln!(out, "{f}").map_err(anyhow::Error::from)?;
            }
            let pct = if total == 0 {
                0.0
            } else {
                100.0 * loaded.loaded() as f64 / total as f64
            };
            writeln!(
                out,
                "{total} rules: {} load ({pct:.1}%), {} do not; {} filters",
                loaded.loaded(),
                loaded.failures.len(),
                loaded.filters
            )
            .map_err(anyhow::Error::from)?;
            for (reason, n) in spoor_sigma::failure_reasons(&loaded.failures) {
                writeln!(out, "  {n:>5}  {reason}").map_err(anyhow::Error::from)?;
            }
        }
    }
    Ok(if loaded.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_QUERY_ERROR)
    })
}

/// `spoor query --lang sigma`: runs the rules of a file, or of every file in a folder, on the
/// evidence; one scan per table serves all the rules over it. One rule prints its rows; several
/// print the rules that fired, with their hit counts.
pub fn query(args: QueryArgs) -> Result<ExitCode, Failure> {
    if args.filter.jq.is_some() || args.filter.jmespath.is_some() {
        return Err(Failure::Usage(
            "--jq and --jmespath filter the rows of a KQL or SQL query; a Sigma run prints rows \
             per rule: use --format json and pipe it to jq"
                .into(),
        ));
    }
    let ctx = context(&args.sigma)?;
    let (loaded, origin, paths) = match &args.file {
        Some(f) if f.is_dir() => (
            spoor_sigma::load_paths(std::slice::from_ref(f), &ctx),
            f.display().to_string(),
            args.args.iter().map(PathBuf::from).collect::<Vec<_>>(),
        ),
        Some(f) => (
            spoor_sigma::load_text(&read_query_file(f)?, &f.display().to_string(), &ctx),
            f.display().to_string(),
            args.args.iter().map(PathBuf::from).collect(),
        ),
        None => {
            let mut it = args.args.iter();
            let text = it.next().cloned().unwrap_or_default();
            (
                spoor_sigma::load_text(&text, "<rule>", &ctx),
                "<rule>".to_string(),
                it.map(PathBuf::from).collect(),
            )
        }
    };
    // Loaded first: a rule that cannot run is reported before any evidence is touched.
    for f in &loaded.failures {
        eprintln!("error: {f}");
    }
    if loaded.loaded() == 0 {
        return Err(Failure::Query(format!(
            "error: {origin}: no Sigma rule could be loaded"
        )));
    }
    let engine = open_engine(
        &paths,
        externaldata_map(&args.externaldata_map, &args.externaldata_dir)?,
        args.source_format.as_deref(),
    )?;
    let hits = with_progress(
        &engine,
        args.quiet,
        spoor_detections::sigma_scan::run_sigma_rules(&engine, &loaded),
    )?
    .map_err(|e| Failure::Query(format!("error: the rules failed while running: {e}")))?;
    report_skipped(&engine);
    let correlated = spoor_sigma::run_correlations(&loaded, &hits).map_err(|e| {
        Failure::Query(format!("error: the correlations failed while running: {e}"))
    })?;
    let standalone = loaded.standalone_rules();
    let hidden = standalone.iter().filter(|s| !**s).count();
    if hidden > 0 {
        eprintln!(
            "note: {hidden} rule(s) only feed correlations (generate: false) and are not \
             reported on their own"
        );
    }
    let format = OutputFormat::from(args.format);
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let reported_rules: Vec<usize> = (0..loaded.rules.len()).filter(|&r| standalone[r]).collect();
    match (reported_rules.as_slice(), loaded.correlations.len()) {
        ([rule], 0) => write_rows(&mut out, &loaded, *rule, hits, format)?,
        ([], 1) => write_correlation_rows(&mut out, &loaded, &correlated, format)?,
        _ => write_summary(&mut out, &loaded, &hits, &correlated, args.format)?,
    }
    out.flush().map_err(anyhow::Error::from)?;
    Ok(if loaded.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_QUERY_ERROR)
    })
}

type Hits = spoor_detections::sigma_scan::SigmaHits;

/// One correlation (the last loaded: the others feed it): its results.
fn write_correlation_rows(
    out: &mut impl Write,
    loaded: &Loaded,
    correlated: &[Vec<spoor_sigma::CorrelationHit>],
    format: OutputFormat,
) -> Result<(), Failure> {
    let (c, hits) = loaded
        .correlations
        .iter()
        .zip(correlated)
        .next_back()
        .expect("one correlation");
    if hits.is_empty() {
        eprintln!("note: {}: the correlation did not fire", c.title);
    }
    let (columns, types, batch) = c.results_batch(hits);
    if matches!(format, OutputFormat::Table) {
        writeln!(
            out,
            "{} ({} over {}): {} results",
            c.title,
            c.kind.as_str(),
            c.timespan,
            hits.len()
        )
        .map_err(anyhow::Error::from)?;
    }
    let result = ResultSet::new(columns, vec![batch], types);
    spoor_output::write(out, &result, format).map_err(anyhow::Error::from)?;
    Ok(())
}

/// One rule: its rows, per table.
fn write_rows(
    out: &mut impl Write,
    loaded: &Loaded,
    rule_index: usize,
    hits: Hits,
    format: OutputFormat,
) -> Result<(), Failure> {
    let rule = &loaded.rules[rule_index];
    for (table, why) in &rule.skipped {
        eprintln!("note: {}: not run on {table}: {why}", rule.title);
    }
    let matched: usize = hits[rule_index]
        .iter()
        .flatten()
        .map(|b| b.num_rows())
        .sum();
    if matched == 0 {
        let tables: Vec<&str> = rule.targets.iter().map(|t| t.table.as_str()).collect();
        eprintln!(
            "note: {}: no event matched (it ran on {} where the evidence fills them)",
            rule.title,
            tables.join(", ")
        );
    }
    for (target, batches) in rule
        .targets
        .iter()
        .zip(hits.into_iter().nth(rule_index).unwrap_or_default())
    {
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        if rows == 0 {
            continue;
        }
        let def = spoor_catalog::catalog()
            .table(&target.table)
            .expect("a compiled rule names a catalog table");
        if matches!(format, OutputFormat::Table) {
            writeln!(out, "{} ({}): {rows} rows", rule.title, target.table)
                .map_err(anyhow::Error::from)?;
        }
        let result = ResultSet::of_table(def, batches);
        spoor_output::write(out, &result, format).map_err(anyhow::Error::from)?;
    }
    Ok(())
}

/// Several rules: those that fired (and correlations that did), most hits first.
fn write_summary(
    out: &mut impl Write,
    loaded: &Loaded,
    hits: &Hits,
    correlated: &[Vec<spoor_sigma::CorrelationHit>],
    format: Format,
) -> Result<(), Failure> {
    /// A rule's hits on one table, or a correlation's results.
    struct Fired<'a> {
        hits: usize,
        /// The table, or `correlation: <type>`.
        table: String,
        title: &'a str,
        id: Option<&'a str>,
        level: Option<&'a str>,
        tags: &'a [String],
        origin: &'a str,
    }
    let standalone = loaded.standalone_rules();
    let mut fired: Vec<Fired> = Vec::new();
    for (ri, rule) in loaded.rules.iter().enumerate() {
        if !standalone[ri] {
            continue;
        }
        for (ti, t) in rule.targets.iter().enumerate() {
            let n: usize = hits[ri][ti].iter().map(|b| b.num_rows()).sum();
            if n > 0 {
                fired.push(Fired {
                    hits: n,
                    table: t.table.clone(),
                    title: &rule.title,
                    id: rule.id.as_deref(),
                    level: rule.level.as_deref(),
                    tags: &rule.tags,
                    origin: &rule.origin,
                });
            }
        }
    }
    for (c, results) in loaded.correlations.iter().zip(correlated) {
        if !results.is_empty() {
            fired.push(Fired {
                hits: results.len(),
                table: format!("correlation: {}", c.kind.as_str()),
                title: &c.title,
                id: c.id.as_deref(),
                level: c.level.as_deref(),
                tags: &c.tags,
                origin: &c.origin,
            });
        }
    }
    // Most hits first; ties in load order (the sort is stable).
    fired.sort_by_key(|f| std::cmp::Reverse(f.hits));
    let w =
        |out: &mut dyn Write, line: String| writeln!(out, "{line}").map_err(anyhow::Error::from);
    match format {
        Format::Json => {
            for f in &fired {
                let row = json!({"title": f.title, "id": f.id, "level": f.level,
                    "tags": f.tags, "table": f.table, "hits": f.hits, "origin": f.origin});
                w(out, row.to_string())?;
            }
        }
        Format::Csv => {
            w(out, "hits,table,level,title,id".into())?;
            let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
            for f in &fired {
                w(
                    out,
                    format!(
                        "{},{},{},{},{}",
                        f.hits,
                        quote(&f.table),
                        f.level.unwrap_or(""),
                        quote(f.title),
                        f.id.unwrap_or("")
                    ),
                )?;
            }
        }
        Format::Table => {
            let width = fired.iter().map(|f| f.table.len()).max().unwrap_or(0);
            for f in &fired {
                w(
                    out,
                    format!(
                        "{:>7}  {:<width$} {:<13} {}",
                        f.hits,
                        f.table,
                        f.level.unwrap_or("-"),
                        f.title
                    ),
                )?;
            }
            let distinct: std::collections::HashSet<(&str, &str)> =
                fired.iter().map(|f| (f.origin, f.title)).collect();
            let reported = standalone.iter().filter(|s| **s).count() + loaded.correlations.len();
            w(out, format!("{} of {reported} rules fired", distinct.len()))?;
        }
    }
    Ok(())
}
