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

/// `spoor query --lang sigma`: runs every rule of a file on the evidence.
pub fn query(args: QueryArgs) -> Result<ExitCode, Failure> {
    let ctx = context(&args.sigma)?;
    let (text, origin, paths) = match &args.file {
        Some(f) => (
            read_query_file(f)?,
            f.display().to_string(),
            args.args.iter().map(PathBuf::from).collect::<Vec<_>>(),
        ),
        None => {
            let mut it = args.args.iter();
            let q = it.next().cloned().unwrap_or_default();
            (q, "<rule>".to_string(), it.map(PathBuf::from).collect())
        }
    };
    // Load first: a rule that cannot run is reported before any evidence is touched.
    let loaded: Loaded = spoor_sigma::load_text(&text, &origin, &ctx);
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
    let with_data = engine.tables_with_data();
    let format = match args.format {
        Format::Table => OutputFormat::Table,
        Format::Json => OutputFormat::Json,
        Format::Csv => OutputFormat::Csv,
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for rule in &loaded.rules {
        for (table, why) in &rule.skipped {
            eprintln!("note: {}: not run on {table}: {why}", rule.title);
        }
        for target in &rule.targets {
            if !with_data.contains(&target.table) {
                continue;
            }
            let def = spoor_catalog::catalog()
                .table(&target.table)
                .expect("a compiled rule names a catalog table");
            let columns: Vec<String> = def.columns.iter().map(|c| c.name.clone()).collect();
            let types = def.columns.iter().map(|c| c.ty).collect();
            let batches = with_progress(&engine, args.quiet, engine.execute(target.plan.clone()))?
                .map_err(|e| {
                    Failure::Query(format!(
                        "error: rule {:?} failed while running on {}: {}",
                        rule.title,
                        target.table,
                        e.strip_backtrace()
                    ))
                })?;
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            if matches!(format, OutputFormat::Table) {
                writeln!(out, "{} ({}): {rows} rows", rule.title, target.table)
                    .map_err(anyhow::Error::from)?;
                if rows == 0 {
                    continue;
                }
            }
            let result = ResultSet::new(columns, batches, types);
            spoor_output::write(&mut out, &result, format).map_err(anyhow::Error::from)?;
        }
    }
    out.flush().map_err(anyhow::Error::from)?;
    report_skipped(&engine);
    Ok(if loaded.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_QUERY_ERROR)
    })
}
