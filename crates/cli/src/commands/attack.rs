//! `spoor attack`: the ATT&CK table (show, update from a STIX catalog).

use std::io::Write;
use std::process::ExitCode;

use spoor_detections::AttackTable;

use crate::Failure;
use crate::args::{AttackArgs, AttackCommand};

pub fn run(args: AttackArgs) -> Result<ExitCode, Failure> {
    match args.command {
        AttackCommand::Update { source, out } => {
            let table = AttackTable::from_stix(&source).map_err(Failure::Usage)?;
            let path = match out {
                Some(p) => p,
                None => spoor_detections::attack::user_table_path().ok_or_else(|| {
                    Failure::Usage(
                        "no place to keep the table: set SPOOR_DATA_DIR or HOME, or give --out"
                            .into(),
                    )
                })?,
            };
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Failure::Usage(format!("cannot create {}: {e}", dir.display())))?;
            }
            // Written beside the target and renamed: a reader never sees half a table.
            let tmp = path.with_extension("tsv.partial");
            std::fs::write(&tmp, table.to_text())
                .and_then(|_| std::fs::rename(&tmp, &path))
                .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", path.display())))?;
            println!(
                "{} tactics, {} techniques and sub-techniques from {} written to {}",
                table.tactics.len(),
                table.techniques.len(),
                source.display(),
                path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        AttackCommand::Show { id } => {
            let (table, note) = spoor_detections::attack::current_table();
            if let Some(note) = note {
                eprintln!("warning: {note}");
            }
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            let w =
                |out: &mut dyn Write, s: String| writeln!(out, "{s}").map_err(anyhow::Error::from);
            match id {
                None => {
                    w(
                        &mut out,
                        format!(
                            "ATT&CK table from {}: {} techniques",
                            table.source,
                            table.techniques.len()
                        ),
                    )?;
                    for t in &table.tactics {
                        let n = table
                            .techniques
                            .values()
                            .filter(|x| x.tactics.contains(&t.short_name))
                            .count();
                        w(
                            &mut out,
                            format!("{}  {:<22} {} ({n} techniques)", t.id, t.short_name, t.name),
                        )?;
                    }
                }
                Some(id) => {
                    if let Some(t) = table.technique(&id) {
                        let tactics: Vec<String> = t
                            .tactics
                            .iter()
                            .map(|s| {
                                table
                                    .tactic(s)
                                    .map_or(s.clone(), |x| format!("{} ({})", x.name, x.id))
                            })
                            .collect();
                        w(
                            &mut out,
                            format!("{}  {}", t.id, table.full_name(&t.id).unwrap_or_default()),
                        )?;
                        w(&mut out, format!("tactics: {}", tactics.join(", ")))?;
                    } else if let Some(t) = table.tactic(&id) {
                        w(&mut out, format!("{}  {} ({})", t.id, t.name, t.short_name))?;
                    } else {
                        return Err(Failure::Usage(format!(
                            "{id} is neither a technique nor a tactic of the ATT&CK table"
                        )));
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
