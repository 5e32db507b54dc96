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
fn context(options: &SigmaOptions) -> Result<Context, Failure> {
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
    let total = loaded.rules.len() + loaded.failures.len();
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
                100.0 * loaded.rules.len() as f64 / total as f64
            };
            writeln!(
                out,
                "{total} rules: {} load ({pct:.1}%), {} do not; {} filters",
                loaded.rules.len(),
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
    if loaded.rules.is_empty() {
        return Err(Failure::Query(format!(
            "error: {origin}: no Sigma rule could be loaded"
        )));
    }
    let engine = open_engine(
        &paths,
        externaldata_map(&args.externaldata_map, &args.externaldata_dir)?,
        args.source_format.as_deref(),
    )?;
    let hits = with_progress(&engine, args.quiet, run_rules(&engine, &loaded))?
        .map_err(|e| Failure::Query(format!("error: the rules failed while running: {e}")))?;
    report_skipped(&engine);
    let format = OutputFormat::from(args.format);
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if loaded.rules.len() == 1 {
        write_rows(&mut out, &loaded, hits, format)?;
    } else {
        write_summary(&mut out, &loaded, &hits, args.format)?;
    }
    out.flush().map_err(anyhow::Error::from)?;
    Ok(if loaded.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_QUERY_ERROR)
    })
}

/// The rows each rule's target matched: `hits[rule][target]`.
type Hits = Vec<Vec<Vec<spoor_engine::RecordBatch>>>;

/// Runs every rule: one scan per table the evidence fills, all the rules over it evaluated on
/// each batch.
async fn run_rules(engine: &spoor_engine::Engine, loaded: &Loaded) -> Result<Hits, String> {
    let with_data = engine.tables_with_data();
    let mut hits: Hits = loaded
        .rules
        .iter()
        .map(|r| vec![Vec::new(); r.targets.len()])
        .collect();
    let mut by_table: std::collections::BTreeMap<&str, Vec<(usize, usize)>> = Default::default();
    for (ri, rule) in loaded.rules.iter().enumerate() {
        for (ti, t) in rule.targets.iter().enumerate() {
            if with_data.contains(&t.table) {
                by_table.entry(t.table.as_str()).or_default().push((ri, ti));
            }
        }
    }
    for (table, which) in by_table {
        let groups = spoor_sigma::group_by_source(&loaded.rules, &which);
        let exprs = spoor_sigma::scan_predicates(&loaded.rules, &groups);
        let results = engine
            .filter_many(table, &exprs)
            .await
            .map_err(|e| format!("{table}: {}", e.strip_backtrace()))?;
        for ((_, members), found) in groups.into_iter().zip(results) {
            for ((ri, ti), batches) in members.into_iter().zip(found) {
                hits[ri][ti] = batches;
            }
        }
    }
    Ok(hits)
}

/// One rule: its rows, per table.
fn write_rows(
    out: &mut impl Write,
    loaded: &Loaded,
    hits: Hits,
    format: OutputFormat,
) -> Result<(), Failure> {
    let rule = &loaded.rules[0];
    for (table, why) in &rule.skipped {
        eprintln!("note: {}: not run on {table}: {why}", rule.title);
    }
    let matched: usize = hits.iter().flatten().flatten().map(|b| b.num_rows()).sum();
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
        .zip(hits.into_iter().next().unwrap_or_default())
    {
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        if rows == 0 {
            continue;
        }
        let def = spoor_catalog::catalog()
            .table(&target.table)
            .expect("a compiled rule names a catalog table");
        let columns: Vec<String> = def.columns.iter().map(|c| c.name.clone()).collect();
        let types = def.columns.iter().map(|c| c.ty).collect();
        if matches!(format, OutputFormat::Table) {
            writeln!(out, "{} ({}): {rows} rows", rule.title, target.table)
                .map_err(anyhow::Error::from)?;
        }
        let result = ResultSet::new(columns, batches, types);
        spoor_output::write(out, &result, format).map_err(anyhow::Error::from)?;
    }
    Ok(())
}

/// Several rules: those that fired, most hits first.
fn write_summary(
    out: &mut impl Write,
    loaded: &Loaded,
    hits: &Hits,
    format: Format,
) -> Result<(), Failure> {
    let mut fired: Vec<(usize, &str, usize)> = Vec::new();
    for (ri, rule) in loaded.rules.iter().enumerate() {
        for (ti, t) in rule.targets.iter().enumerate() {
            let n: usize = hits[ri][ti].iter().map(|b| b.num_rows()).sum();
            if n > 0 {
                fired.push((ri, t.table.as_str(), n));
            }
        }
    }
    fired.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    let w =
        |out: &mut dyn Write, line: String| writeln!(out, "{line}").map_err(anyhow::Error::from);
    match format {
        Format::Json => {
            for (ri, table, n) in &fired {
                let r = &loaded.rules[*ri];
                let row = json!({"title": r.title, "id": r.id, "level": r.level,
                    "tags": r.tags, "table": table, "hits": n, "origin": r.origin});
                w(out, row.to_string())?;
            }
        }
        Format::Csv => {
            w(out, "hits,table,level,title,id".into())?;
            for (ri, table, n) in &fired {
                let r = &loaded.rules[*ri];
                let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
                w(
                    out,
                    format!(
                        "{n},{table},{},{},{}",
                        r.level.as_deref().unwrap_or(""),
                        quote(&r.title),
                        r.id.as_deref().unwrap_or("")
                    ),
                )?;
            }
        }
        Format::Table => {
            for (ri, table, n) in &fired {
                let r = &loaded.rules[*ri];
                w(
                    out,
                    format!(
                        "{n:>7}  {table:<16} {:<13} {}",
                        r.level.as_deref().unwrap_or("-"),
                        r.title
                    ),
                )?;
            }
            w(
                out,
                format!(
                    "{} of {} rules fired",
                    fired
                        .iter()
                        .map(|f| f.0)
                        .collect::<std::collections::HashSet<_>>()
                        .len(),
                    loaded.rules.len()
                ),
            )?;
        }
    }
    Ok(())
}
