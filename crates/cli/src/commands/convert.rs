//! `spoor convert`: a query planned by its front-end, written in another language.

use std::process::ExitCode;

use crate::Failure;
use crate::args::{ConvertArgs, Lang};
use crate::input::{load_macros, read_query_file};

pub fn run(args: ConvertArgs) -> Result<ExitCode, Failure> {
    let target = spoor_export::Target::parse(&args.to).ok_or_else(|| {
        let names: Vec<&str> = spoor_export::Target::ALL.iter().map(|t| t.name()).collect();
        Failure::Usage(format!(
            "--to {}: not a language spoor knows ({})",
            args.to,
            names.join(", ")
        ))
    })?;
    let (text, origin) = match (&args.file, &args.query) {
        (Some(f), _) => (read_query_file(f)?, f.display().to_string()),
        (None, Some(q)) => (q.clone(), "<query>".to_string()),
        (None, None) => {
            return Err(Failure::Usage(
                "nothing to convert: give a query or -f FILE".into(),
            ));
        }
    };
    let render = |ds: Vec<spoor_core::Diagnostic>| {
        Failure::Query(ds.iter().map(|d| d.render(&text, &origin)).collect())
    };
    // Planned without evidence, with `now` left for the target to take at run time.
    let plan = match args.from {
        Lang::Kql => {
            spoor_kql::compile(&text, &spoor_detections::run::checking_options())
                .map_err(render)?
                .plan
        }
        Lang::Sql => spoor_sql::compile(&text, 0).map_err(render)?.plan,
        Lang::Cwl => {
            let options = spoor_cwl::CwlOptions {
                log_groups: args.log_groups.clone(),
                ..Default::default()
            };
            let plan = spoor_cwl::compile(&text, &options).map_err(render)?.plan;
            spoor_export::without_unused_columns(plan)
                .map_err(|e| Failure::Query(format!("error: {e}")))?
        }
        Lang::Spl => {
            let macros = load_macros(&args.macros)?;
            spoor_spl::compile(&text, &macros, &Default::default())
                .map_err(render)?
                .plan
        }
        Lang::Sumo => {
            spoor_sumo::compile(&text, &Default::default())
                .map_err(render)?
                .plan
        }
        Lang::Esql => {
            spoor_esql::compile(&text, &Default::default())
                .map_err(render)?
                .plan
        }
        Lang::Sigma => sigma_plan(&text, &origin, args.table.as_deref())?,
    };
    let written =
        spoor_export::export(&plan, target).map_err(|e| Failure::Query(format!("error: {e}")))?;
    println!("{written}");
    Ok(ExitCode::SUCCESS)
}

/// A Sigma rule's plan over one of the tables its log source maps to: `table`, or the first.
fn sigma_plan(
    text: &str,
    origin: &str,
    table: Option<&str>,
) -> Result<spoor_engine::LogicalPlan, Failure> {
    let loaded = spoor_sigma::load_text(text, origin, &spoor_sigma::Context::default());
    if let Some(f) = loaded.failures.first() {
        return Err(Failure::Query(format!("error: {}: {}", f.origin, f.reason)));
    }
    let rule = match loaded.rules.as_slice() {
        [rule] => rule,
        [] => {
            return Err(Failure::Query(format!(
                "error: {origin}: no Sigma rule in it"
            )));
        }
        _ => {
            return Err(Failure::Usage(format!(
                "{origin} holds {} rules; convert one at a time",
                loaded.rules.len()
            )));
        }
    };
    let tables: Vec<&str> = rule.targets.iter().map(|t| t.table.as_str()).collect();
    let target = match table {
        Some(name) => rule
            .targets
            .iter()
            .find(|t| t.table == name)
            .ok_or_else(|| {
                Failure::Usage(format!(
                    "--table {name}: the rule's log source maps to {}",
                    tables.join(", ")
                ))
            })?,
        None => rule.targets.first().ok_or_else(|| {
            let why: Vec<String> = rule
                .skipped
                .iter()
                .map(|(t, reason)| format!("{t}: {reason}"))
                .collect();
            Failure::Query(format!(
                "error: {origin}: the rule's log source maps to no table spoor can run it on ({})",
                why.join("; ")
            ))
        })?,
    };
    if table.is_none() && tables.len() > 1 {
        eprintln!(
            "note: written for {}; the rule also maps to {} (choose with --table)",
            target.table,
            tables[1..].join(", ")
        );
    }
    target
        .plan()
        .map_err(|e| Failure::Query(format!("error: {origin}: {e}")))
}
