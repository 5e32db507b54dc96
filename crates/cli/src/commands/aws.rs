//! `spoor aws`: AWS CLI commands answered from local evidence (the logic is `spoor-awscli`).

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use spoor_awscli::lookup::{parse_lookup_attributes, parse_timestamp};
use spoor_awscli::{LookupRequest, Output, Printing};
use spoor_engine::ExternalDataMap;
use spoor_jsonfilter::Language;

use crate::Failure;
use crate::args::{AwsArgs, AwsOutput, AwsService, CloudTrailCommand, LookupEventsArgs};
use crate::filter::compile;
use crate::input::{open_engine, report_skipped, with_progress};

/// The variable that names the evidence when `--evidence` does not.
const EVIDENCE_VAR: &str = "SPOOR_EVIDENCE";

pub fn run(args: AwsArgs) -> Result<ExitCode, Failure> {
    match args.service {
        AwsService::Cloudtrail {
            command: CloudTrailCommand::LookupEvents(a),
        } => lookup_events(a),
    }
}

fn lookup_events(args: LookupEventsArgs) -> Result<ExitCode, Failure> {
    // Everything the command line says is checked before the evidence is read.
    let attribute = parse_lookup_attributes(&args.lookup_attributes).map_err(Failure::Usage)?;
    let time = |flag: &str, t: &Option<String>| {
        t.as_deref()
            .map(|t| parse_timestamp(flag, t))
            .transpose()
            .map_err(Failure::Usage)
    };
    let request = LookupRequest {
        attribute,
        start_ns: time("--start-time", &args.start_time)?,
        end_ns: time("--end-time", &args.end_time)?,
        region: args.region.clone(),
        max_results: args.max_results,
    };
    if let (Some(s), Some(e)) = (request.start_ns, request.end_ns)
        && s > e
    {
        return Err(Failure::Usage(
            "--start-time is after --end-time: no event can be between them".into(),
        ));
    }
    let query = args
        .query
        .as_deref()
        .map(|q| compile(Language::JmesPath, q))
        .transpose()?;
    let jq = args
        .jq
        .as_deref()
        .map(|q| compile(Language::Jq, q))
        .transpose()?;
    let paths = evidence_paths(&args.evidence)?;
    let engine = open_engine(&paths, ExternalDataMap::default(), None)?;
    let response = with_progress(
        &engine,
        args.quiet,
        spoor_awscli::lookup_events(&engine, &request),
    )?
    .map_err(|e| {
        Failure::Query(format!(
            "error: looking the events up failed: {}",
            e.strip_backtrace()
        ))
    })?;
    report_skipped(&engine);
    if !engine.tables_with_data().contains("cloudtrail") {
        eprintln!(
            "note: the evidence holds no CloudTrail logs ({} file(s) read; `spoor tables` lists what it holds)",
            engine.inventory().files.len()
        );
    }
    if response.left_off > 0 {
        eprintln!(
            "note: {} more event(s) matched beyond --max-results {}",
            response.left_off,
            args.max_results.unwrap_or_default()
        );
    }
    let printing = Printing {
        query: query.as_ref(),
        jq: jq.as_ref(),
        raw_output: args.raw_output,
        output: args.output.map(|o| match o {
            AwsOutput::Json => Output::Json,
            AwsOutput::Table => Output::Table,
            AwsOutput::Text => Output::Text,
        }),
        width: spoor_awscli::format::DEFAULT_WIDTH,
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    spoor_awscli::respond(&mut out, response.to_json(), "LookupEvents", &printing).map_err(
        |e| match e {
            spoor_awscli::PrintError::Filter(f) => Failure::Query(format!("error: {f}")),
            spoor_awscli::PrintError::Io(io) => Failure::Other(io.into()),
        },
    )?;
    out.flush().map_err(anyhow::Error::from)?;
    Ok(ExitCode::SUCCESS)
}

/// `--evidence`, else `$SPOOR_EVIDENCE`, else a usage error that says both.
fn evidence_paths(flags: &[PathBuf]) -> Result<Vec<PathBuf>, Failure> {
    if !flags.is_empty() {
        return Ok(flags.to_vec());
    }
    if let Some(var) = std::env::var_os(EVIDENCE_VAR) {
        let paths: Vec<PathBuf> = std::env::split_paths(&var)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        if !paths.is_empty() {
            return Ok(paths);
        }
    }
    Err(Failure::Usage(format!(
        "no evidence to look events up in: name CloudTrail logs (files or folders) with \
         --evidence PATH (repeatable), or set {EVIDENCE_VAR} to their paths (separated as in PATH), \
         e.g. export {EVIDENCE_VAR}=./evidence"
    )))
}
