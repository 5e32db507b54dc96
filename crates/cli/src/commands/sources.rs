//! `spoor sources`: the log formats spoor reads.

use std::io::Write;
use std::process::ExitCode;

use serde_json::json;

use crate::Failure;
use crate::args::{SourcesArgs, TablesFormat};

pub fn run(args: SourcesArgs) -> Result<ExitCode, Failure> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        TablesFormat::Json => {
            for f in spoor_sources::FORMATS {
                let row = json!({
                    "name": f.name(), "tables": f.tables(), "description": f.description(),
                });
                writeln!(out, "{row}").map_err(anyhow::Error::from)?;
            }
        }
        TablesFormat::Table => {
            let mut t = comfy_table::Table::new();
            t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
            t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
            if t.width().is_none() {
                // Not a terminal: wrap to a width that reads well in a pager or a file.
                t.set_width(120);
            }
            t.set_header(["format", "recognises", "tables"]);
            for f in spoor_sources::FORMATS {
                // A format that can fill any table (exports name theirs) says so.
                let tables = if f.tables().len() > 20 {
                    "any catalog table".to_string()
                } else if f.tables().is_empty() {
                    // table-rows: each file defines its table.
                    "a table of its own, named after its Type or the file".to_string()
                } else {
                    f.tables().join(", ")
                };
                t.add_row([f.name(), f.description(), &tables]);
            }
            writeln!(out, "{t}").map_err(anyhow::Error::from)?;
            writeln!(
                out,
                "Files are recognised by their content (compressed and zipped files too); \
                 --source-format NAME reads every file as one format."
            )
            .map_err(anyhow::Error::from)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
