//! `spoor query`: run a query over evidence.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use spoor_kql::PlanOptions;
use spoor_output::{OutputFormat, ResultSet};

use crate::Failure;
use crate::args::{Format, Lang, QueryArgs};
use crate::input::{
    externaldata_map, load_macros, load_workspace, open_engine, parse_now, read_query_file,
    report_skipped, with_progress,
};

/// A query planned by its front-end, ready to bind and run.
struct Planned {
    plan: spoor_engine::LogicalPlan,
    types: Vec<spoor_catalog::KqlType>,
    /// The chart a KQL `render` asks for.
    render: Option<String>,
}

/// Opens the engine over the query's evidence, with its `externaldata` copies and format.
fn open_query_engine(args: &QueryArgs, paths: &[PathBuf]) -> Result<spoor_engine::Engine, Failure> {
    open_engine(
        paths,
        externaldata_map(&args.externaldata_map, &args.externaldata_dir)?,
        args.source_format.as_deref(),
    )
}

/// Parses (before touching evidence), then plans a KQL query with the evidence at hand for
/// what Kusto learns from data (`bag_unpack`, `pivot`).
fn plan_kql(
    args: &QueryArgs,
    text: &str,
    now_ns: i64,
    paths: &[PathBuf],
    render: &dyn Fn(Vec<spoor_core::Diagnostic>) -> Failure,
) -> Result<(spoor_engine::Engine, Planned), Failure> {
    let query = spoor_kql::syntax::parse(text).map_err(render)?;
    let engine = open_query_engine(args, paths)?;
    let options = PlanOptions {
        now_ns,
        tables_with_data: engine.tables_with_data(),
        workspace: load_workspace(&args.functions, &args.watchlists),
        probe: Some(spoor_detections::run::probe_of(&engine)),
    };
    let params = query_params(&args.params)?;
    let planned = if params.is_empty() {
        spoor_kql::plan_query(&query, &options).map_err(|d| render(vec![d]))?
    } else {
        spoor_kql::compile_with_params(text, &params, &options).map_err(render)?
    };
    if let Some(what) = &planned.needs_data {
        // Cannot happen with the probe given above; refuse rather than run a checking plan.
        return Err(Failure::Query(format!(
            "error: {what}, and the evidence could not be read to learn it"
        )));
    }
    Ok((
        engine,
        Planned {
            plan: planned.plan,
            types: planned.types,
            render: planned.render,
        },
    ))
}

pub fn run(args: QueryArgs) -> Result<ExitCode, Failure> {
    if args.lang == Lang::Sigma {
        return super::sigma::query(args);
    }
    let (text, origin, paths) = match &args.file {
        Some(f) => (
            read_query_file(f)?,
            f.display().to_string(),
            args.args.iter().map(PathBuf::from).collect::<Vec<_>>(),
        ),
        None => {
            let mut it = args.args.iter();
            let q = it.next().cloned().unwrap_or_default();
            (q, "<query>".to_string(), it.map(PathBuf::from).collect())
        }
    };
    let now_ns = parse_now(args.now.as_deref())?.unwrap_or_else(wall_clock_ns);
    let render = |ds: Vec<spoor_core::Diagnostic>| {
        Failure::Query(
            ds.iter()
                .map(|d| d.render(&text, &origin))
                .collect::<Vec<_>>()
                .join("\n"),
        )
    };
    let (engine, planned) = match args.lang {
        Lang::Kql => plan_kql(&args, &text, now_ns, &paths, &render)?,
        Lang::Sigma => unreachable!("handled above"),
        lang => {
            // The other languages have no parameters: values are written into the query.
            if !args.params.is_empty() {
                return Err(Failure::Usage(
                    "--param binds KQL names; write the values into the query (SPL: --macros)"
                        .into(),
                ));
            }
            let macros = load_macros(&args.macros)?;
            // Parse first: a mistake in the query is reported before any evidence is touched.
            match lang {
                Lang::Sql => spoor_sql::parse(&text),
                Lang::Cwl => spoor_cwl::syntax::parse(&text).map(|_| ()),
                Lang::Spl => spoor_spl::parse(&text, &macros).map(|_| ()),
                Lang::Esql => spoor_esql::syntax::parse(&text).map(|_| ()),
                _ => spoor_sumo::syntax::parse(&text).map(|_| ()),
            }
            .map_err(render)?;
            let engine = open_query_engine(&args, &paths)?;
            let with_data = engine.tables_with_data();
            let (plan, types, notes) = match lang {
                Lang::Sql => spoor_sql::compile(&text, now_ns).map(|p| (p.plan, p.types, vec![])),
                Lang::Cwl => spoor_cwl::compile(
                    &text,
                    &spoor_cwl::CwlOptions {
                        log_groups: args.log_groups.clone(),
                        tables_with_data: with_data,
                    },
                )
                .map(|p| (p.plan, p.types, p.notes)),
                Lang::Spl => spoor_spl::compile(
                    &text,
                    &macros,
                    &spoor_spl::SplOptions {
                        tables_with_data: with_data,
                        now_ns,
                    },
                )
                .map(|p| (p.plan, p.types, p.notes)),
                Lang::Esql => spoor_esql::compile(
                    &text,
                    &spoor_esql::EsqlOptions {
                        tables_with_data: with_data,
                        now_ns,
                    },
                )
                .map(|p| (p.plan, p.types, p.notes)),
                _ => spoor_sumo::compile(
                    &text,
                    &spoor_sumo::SumoOptions {
                        tables_with_data: with_data,
                    },
                )
                .map(|p| (p.plan, p.types, p.notes)),
            }
            .map_err(render)?;
            for note in &notes {
                eprint!("{}", note.render_as("note", &text, &origin));
            }
            let planned = Planned {
                plan,
                types,
                render: None,
            };
            (engine, planned)
        }
    };
    let columns: Vec<String> = planned
        .plan
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let batches = with_progress(&engine, args.quiet, engine.execute(planned.plan))?;
    let batches = batches.map_err(|e| {
        Failure::Query(format!(
            "error: the query failed while running: {}",
            e.strip_backtrace()
        ))
    })?;
    report_skipped(&engine);
    let result = ResultSet::new(columns, batches, planned.types);
    let format = OutputFormat::from(args.format);
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    crate::filter::write_result(&mut out, &result, format, &args.filter)?;
    out.flush().map_err(anyhow::Error::from)?;
    if let (Some(chart), Format::Table) = (&planned.render, args.format) {
        eprintln!(
            "note: the query asks to render a {chart}; charts are drawn in reports, the rows are shown here"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `--param NAME=VALUE` flags as KQL literals: numbers and booleans as they are, KQL literals
/// as written, anything else as a string.
fn query_params(flags: &[String]) -> Result<Vec<(String, String)>, Failure> {
    flags
        .iter()
        .map(|flag| {
            let (name, value) = flag
                .split_once('=')
                .ok_or_else(|| Failure::Usage(format!("--param {flag:?}: expected NAME=VALUE")))?;
            let name = name.trim();
            if name.is_empty()
                || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                || name.starts_with(|c: char| c.is_ascii_digit())
            {
                return Err(Failure::Usage(format!(
                    "--param {flag:?}: {name:?} is not a name (letters, digits and _)"
                )));
            }
            let v = value.trim();
            let literal = if v.parse::<i64>().is_ok()
                || v.parse::<f64>().is_ok_and(f64::is_finite)
                || v == "true"
                || v == "false"
                || ["datetime(", "dynamic(", "timespan(", "time("]
                    .iter()
                    .any(|p| v.starts_with(p) && v.ends_with(')'))
                || (v.len() >= 2 && v.starts_with('"') && v.ends_with('"'))
            {
                v.to_string()
            } else {
                serde_json::to_string(value).expect("a string serialises")
            };
            Ok((name.to_string(), literal))
        })
        .collect()
}

pub(crate) fn wall_clock_ns() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}
