//! `spoor tables`: what the evidence holds.

use std::io::Write;
use std::process::ExitCode;

use serde_json::json;
use spoor_output::format_datetime;

use crate::Failure;
use crate::args::{TablesArgs, TablesFormat};
use crate::input::{open_engine, with_progress};

pub fn run(args: TablesArgs) -> Result<ExitCode, Failure> {
    let engine = open_engine(
        &args.paths,
        Default::default(),
        args.source_format.as_deref(),
    )?;
    let summaries = with_progress(&engine, args.quiet, engine.summarize_tables())?;
    let summaries = summaries.map_err(|e| {
        Failure::Query(format!(
            "error: reading the evidence failed: {}",
            e.strip_backtrace()
        ))
    })?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let ts = |v: Option<i64>| v.map(format_datetime);
    match args.format {
        TablesFormat::Json => {
            for s in &summaries {
                let row = json!({
                    "table": s.table, "rows": s.rows, "files": s.files, "bad_records": s.bad_records,
                    "first": ts(s.first_ns), "last": ts(s.last_ns),
                });
                writeln!(out, "{row}").map_err(anyhow::Error::from)?;
            }
        }
        TablesFormat::Table => {
            let mut t = comfy_table::Table::new();
            t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
            t.set_header(["table", "rows", "files", "bad records", "first", "last"]);
            for s in &summaries {
                t.add_row([
                    s.table.clone(),
                    s.rows.to_string(),
                    s.files.to_string(),
                    s.bad_records.to_string(),
                    ts(s.first_ns).unwrap_or_default(),
                    ts(s.last_ns).unwrap_or_default(),
                ]);
            }
            writeln!(out, "{t}").map_err(anyhow::Error::from)?;
            if summaries.is_empty() {
                writeln!(out, "no table: no file of the evidence was recognised")
                    .map_err(anyhow::Error::from)?;
            }
        }
    }
    let inv = engine.inventory();
    // Never silently ignored, but not a wall of text either: the first few, then a count.
    let shown = if args.unclaimed {
        inv.unclaimed.len()
    } else {
        10
    };
    for f in inv.unclaimed.iter().take(shown) {
        eprintln!(
            "warning: {} was not recognised by any format (it was not read)",
            f.display()
        );
    }
    if inv.unclaimed.len() > shown {
        eprintln!(
            "warning: ... and {} more files not recognised (--unclaimed lists them all)",
            inv.unclaimed.len() - shown
        );
    }
    for e in &inv.errors {
        eprintln!("warning: {e}");
    }
    for f in &inv.files {
        for n in &f.notes {
            eprintln!("note: {}: {n}", f.path.display());
        }
    }
    let bad = engine.distinct_bad_records();
    if args.bad_records {
        for b in &bad {
            eprintln!("bad record: {b}");
        }
    } else if !bad.is_empty() {
        eprintln!(
            "note: {} bad record(s) were skipped; --bad-records lists them",
            bad.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
