//! `spoor check`: parse and plan queries against the catalog, without data.

use std::io::{BufRead, BufReader, Write};
use std::process::ExitCode;

use serde_json::json;
use spoor_kql::PlanOptions;

use crate::args::{CheckArgs, CheckFormat, Lang};
use crate::input::{load_workspace, read_query_file};
use crate::{EXIT_QUERY_ERROR, Failure};

/// What checking one query found.
struct Outcome {
    parsed: bool,
    planned: bool,
    /// Rendered diagnostics (with line:col and caret) when something failed.
    error: Option<String>,
    /// What is worth knowing though the query plans, rendered with its `note:` level: what the
    /// plan could not settle without data (the columns of `bag_unpack`...), fields no source has.
    note: Option<String>,
}

fn check_one(
    args: &CheckArgs,
    macros: &spoor_spl::Macros,
    text: &str,
    origin: &str,
    options: &PlanOptions,
) -> Outcome {
    let lang = args.lang;
    let render = |ds: Vec<spoor_core::Diagnostic>| {
        ds.iter()
            .map(|d| d.render(text, origin))
            .collect::<Vec<_>>()
            .join("\n")
    };
    // Each search language: parse, then plan; notes name fields no source has.
    let searched = |parsed: Result<(), Vec<spoor_core::Diagnostic>>,
                    planned: &dyn Fn() -> Result<
        Vec<spoor_core::Diagnostic>,
        Vec<spoor_core::Diagnostic>,
    >| {
        let planned = parsed.clone().and_then(|()| planned());
        Outcome {
            parsed: parsed.is_ok(),
            planned: planned.is_ok(),
            note: planned
                .as_ref()
                .ok()
                .filter(|notes| !notes.is_empty())
                .map(|notes| {
                    notes
                        .iter()
                        .map(|n| n.render_as("note", text, origin))
                        .collect::<String>()
                }),
            error: planned.err().map(render),
        }
    };
    match lang {
        Lang::Cwl => {
            let options = spoor_cwl::CwlOptions {
                log_groups: args.log_groups.clone(),
                ..Default::default()
            };
            return searched(spoor_cwl::syntax::parse(text).map(|_| ()), &|| {
                spoor_cwl::compile(text, &options).map(|p| p.notes)
            });
        }
        Lang::Spl => {
            return searched(spoor_spl::parse(text, macros).map(|_| ()), &|| {
                spoor_spl::compile(text, macros, &spoor_spl::SplOptions::default()).map(|p| p.notes)
            });
        }
        Lang::Sumo => {
            return searched(spoor_sumo::syntax::parse(text).map(|_| ()), &|| {
                spoor_sumo::compile(text, &Default::default()).map(|p| p.notes)
            });
        }
        Lang::Esql => {
            return searched(spoor_esql::syntax::parse(text).map(|_| ()), &|| {
                spoor_esql::compile(text, &Default::default()).map(|p| p.notes)
            });
        }
        _ => {}
    }
    if lang == Lang::Sql {
        let parsed = spoor_sql::parse(text);
        let planned = parsed
            .clone()
            .and_then(|()| spoor_sql::compile(text, options.now_ns).map(|_| ()));
        return Outcome {
            parsed: parsed.is_ok(),
            planned: planned.is_ok(),
            error: planned.err().map(render),
            note: None,
        };
    }
    let query = match spoor_kql::syntax::parse(text) {
        Ok(q) => q,
        Err(ds) => {
            return Outcome {
                parsed: false,
                planned: false,
                error: Some(render(ds)),
                note: None,
            };
        }
    };
    match spoor_kql::plan_query(&query, options) {
        Ok(planned) => Outcome {
            parsed: true,
            planned: true,
            note: planned.needs_data.map(|what| {
                format!("note: {what}; names no column has were assumed to come from it, and are checked when the query runs")
            }),
            error: None,
        },
        Err(d) => Outcome {
            parsed: true,
            planned: false,
            error: Some(d.render(text, origin)),
            note: None,
        },
    }
}

pub fn run(args: CheckArgs) -> Result<ExitCode, Failure> {
    if args.lang == crate::args::Lang::Sigma {
        return super::sigma::check(args);
    }
    let mut options = PlanOptions::without_data(super::query::wall_clock_ns());
    options.workspace = load_workspace(&args.functions, &args.watchlists);
    let macros = crate::input::load_macros(&args.macros)?;
    if let Some(path) = &args.jsonl {
        return check_jsonl(path, &args, &macros, &options);
    }
    if args.query.len() > 1 {
        return Err(Failure::Usage(
            "give one query (quote it); several paths are for --lang sigma".into(),
        ));
    }
    let (text, origin) = match (&args.file, args.query.first()) {
        (Some(f), None) => (read_query_file(f)?, f.display().to_string()),
        (None, Some(q)) => (q.clone(), "<query>".to_string()),
        (Some(_), Some(_)) => {
            return Err(Failure::Usage(
                "give the query either as text or with -f, not both".into(),
            ));
        }
        (None, None) => {
            return Err(Failure::Usage(
                "nothing to check: give a query, -f FILE or --jsonl FILE".into(),
            ));
        }
    };
    let o = check_one(&args, &macros, &text, &origin, &options);
    match args.format {
        CheckFormat::Json => {
            println!(
                "{}",
                json!({"line": 1, "parsed": o.parsed, "planned": o.planned, "error": o.error})
            );
        }
        CheckFormat::Text => match &o.error {
            None => {
                println!("ok: {origin} parses and plans against the catalog");
                if let Some(note) = &o.note {
                    println!("{}", note.trim_end());
                }
            }
            Some(e) => eprint!("{e}"),
        },
    }
    Ok(if o.planned {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_QUERY_ERROR)
    })
}

fn check_jsonl(
    path: &std::path::Path,
    args: &CheckArgs,
    macros: &spoor_spl::Macros,
    options: &PlanOptions,
) -> Result<ExitCode, Failure> {
    let file = std::fs::File::open(path)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let (mut total, mut parsed, mut planned) = (0usize, 0usize, 0usize);
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line_no = i + 1;
        let line = line.map_err(|e| {
            Failure::Other(anyhow::anyhow!(
                "reading {} at line {line_no}: {e}",
                path.display()
            ))
        })?;
        if line.trim().is_empty() {
            continue;
        }
        total += 1;
        let origin = format!("{}:{line_no}", path.display());
        let outcome = match serde_json::from_str::<serde_json::Value>(&line) {
            Ok(v) => match v.get("query").and_then(|q| q.as_str()) {
                Some(q) => check_one(args, macros, q, &origin, options),
                None => Outcome {
                    parsed: false,
                    planned: false,
                    error: Some("the line has no \"query\" string".into()),
                    note: None,
                },
            },
            Err(e) => Outcome {
                parsed: false,
                planned: false,
                error: Some(format!("the line is not JSON: {e}")),
                note: None,
            },
        };
        parsed += usize::from(outcome.parsed);
        planned += usize::from(outcome.planned);
        match args.format {
            CheckFormat::Json => {
                let row = json!({"line": line_no, "parsed": outcome.parsed, "planned": outcome.planned, "error": outcome.error});
                writeln!(out, "{row}").map_err(anyhow::Error::from)?;
            }
            CheckFormat::Text => {
                if let Some(e) = &outcome.error {
                    writeln!(out, "{e}").map_err(anyhow::Error::from)?;
                }
            }
        }
    }
    if args.format == CheckFormat::Text {
        let pct = |n: usize| {
            if total == 0 {
                0.0
            } else {
                100.0 * n as f64 / total as f64
            }
        };
        writeln!(
            out,
            "{total} queries: {parsed} parse ({:.1}%), {planned} plan ({:.1}%)",
            pct(parsed),
            pct(planned)
        )
        .map_err(anyhow::Error::from)?;
    }
    Ok(if planned == total {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_QUERY_ERROR)
    })
}
