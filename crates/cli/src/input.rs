//! Shared helpers: reading query text, parsing `--now`, opening the engine with a progress
//! indicator, reporting skipped records.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use spoor_engine::{Engine, EngineOptions, ExternalDataMap};

use crate::Failure;

/// Reads a query from a file, or standard input for `-`.
pub fn read_query_file(path: &Path) -> Result<String, Failure> {
    if path == Path::new("-") {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        return Ok(s);
    }
    std::fs::read_to_string(path).map_err(|e| {
        Failure::Usage(format!(
            "cannot read the query file {}: {e}",
            path.display()
        ))
    })
}

/// Parses `--now` (any datetime form KQL accepts; ISO 8601 recommended).
pub fn parse_now(now: Option<&str>) -> Result<Option<i64>, Failure> {
    match now {
        None => Ok(None),
        Some(text) => spoor_functions::datetime::parse_kql_datetime(text.trim()).map(Some).ok_or_else(|| {
            Failure::Usage(format!("--now {text:?} is not a datetime; use ISO 8601, e.g. --now 2023-08-10T00:00:00Z"))
        }),
    }
}

/// Splits a `--param NAME=VALUE` flag: the name trimmed, the value as given.
pub fn split_param(flag: &str) -> Result<(&str, &str), Failure> {
    let (name, value) = flag
        .split_once('=')
        .ok_or_else(|| Failure::Usage(format!("--param {flag:?}: expected NAME=VALUE")))?;
    Ok((name.trim(), value))
}

/// Checks that every evidence path exists before doing any work.
pub fn check_paths(paths: &[PathBuf]) -> Result<(), Failure> {
    if paths.is_empty() {
        return Err(Failure::Usage(
            "no evidence given: name the files or folders to read, e.g. ./evidence".into(),
        ));
    }
    for p in paths {
        if !p.exists() {
            return Err(Failure::Usage(format!(
                "evidence path {} does not exist",
                p.display()
            )));
        }
    }
    Ok(())
}

/// A spinner on standard error, shown only when the work takes more than a second and only on
/// a terminal.
struct Progress {
    bar: ProgressBar,
}

/// The spinner shown now, if any, so that long work can say what it is doing.
static CURRENT_PROGRESS: std::sync::Mutex<Option<ProgressBar>> = std::sync::Mutex::new(None);

/// Replaces the message of the progress indicator shown now (nothing when there is none).
pub fn progress_message(message: &str) {
    if let Some(bar) = CURRENT_PROGRESS.lock().ok().and_then(|b| b.clone()) {
        bar.set_message(message.to_string());
    }
}

impl Progress {
    fn start(message: &str, quiet: bool) -> Progress {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("valid template"),
        );
        bar.set_message(message.to_string());
        if !quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            let shown = bar.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_secs(1));
                if !shown.is_finished() {
                    shown.set_draw_target(ProgressDrawTarget::stderr());
                    shown.enable_steady_tick(Duration::from_millis(120));
                }
            });
        }
        if let Ok(mut current) = CURRENT_PROGRESS.lock() {
            *current = Some(bar.clone());
        }
        Progress { bar }
    }

    fn finish(&self) {
        if let Ok(mut current) = CURRENT_PROGRESS.lock() {
            *current = None;
        }
        self.bar.finish_and_clear();
    }
}

/// Loads workspace functions (`--functions DIR`) and watchlists (`--watchlists DIR`). A file
/// that does not load is reported on standard error and left out; the others load.
pub fn load_workspace(
    functions: &[PathBuf],
    watchlists: &[PathBuf],
) -> spoor_kql::workspace::Workspace {
    let mut workspace = spoor_kql::workspace::Workspace::builtin();
    for dir in functions {
        for e in workspace.load_functions(dir) {
            eprintln!("warning: function not loaded: {e}");
        }
    }
    for dir in watchlists {
        for e in workspace.load_watchlists(dir) {
            eprintln!("warning: watchlist not loaded: {e}");
        }
    }
    workspace
}

/// Parses `--externaldata-map URL=PATH` and `--externaldata-dir DIR` flags.
pub fn externaldata_map(flags: &[String], dirs: &[PathBuf]) -> Result<ExternalDataMap, Failure> {
    let mut map = ExternalDataMap::default();
    for d in dirs {
        if !d.is_dir() {
            return Err(Failure::Usage(format!(
                "--externaldata-dir: {} is not a folder",
                d.display()
            )));
        }
        map.dirs.push(d.clone());
    }
    for flag in flags {
        let (url, path) = flag.rsplit_once('=').ok_or_else(|| {
            Failure::Usage(format!("--externaldata-map {flag:?}: expected URL=PATH"))
        })?;
        let path = PathBuf::from(path);
        if !path.is_file() {
            return Err(Failure::Usage(format!(
                "--externaldata-map: {} is not a file",
                path.display()
            )));
        }
        map.urls.insert(url.to_string(), path);
    }
    Ok(map)
}

/// Runs `work` (reading the evidence) on a runtime, with the progress indicator meanwhile.
pub fn with_progress<T>(
    engine: &Engine,
    quiet: bool,
    work: impl std::future::Future<Output = T>,
) -> Result<T, Failure> {
    with_progress_text(
        &format!(
            "reading {} evidence file(s)",
            engine.inventory().files.len()
        ),
        quiet,
        work,
    )
}

/// Runs `work` on a runtime, with a progress indicator showing `message` meanwhile.
pub fn with_progress_text<T>(
    message: &str,
    quiet: bool,
    work: impl std::future::Future<Output = T>,
) -> Result<T, Failure> {
    let progress = Progress::start(message, quiet);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let out = runtime.block_on(work);
    progress.finish();
    Ok(out)
}

/// Opens the engine over the evidence.
pub fn open_engine(
    paths: &[PathBuf],
    externaldata: ExternalDataMap,
    source_format: Option<&str>,
) -> Result<Engine, Failure> {
    check_paths(paths)?;
    if let Some(name) = source_format
        && spoor_sources::format(name).is_none()
    {
        let names: Vec<&str> = spoor_sources::FORMATS.iter().map(|f| f.name()).collect();
        return Err(Failure::Usage(format!(
            "--source-format {name}: no such format; the formats are {} (`spoor sources` describes them)",
            names.join(", ")
        )));
    }
    Engine::open(
        paths,
        EngineOptions {
            externaldata,
            source_format: source_format.map(str::to_string),
            ..EngineOptions::default()
        },
    )
    .context("cannot start the query engine")
    .map_err(Failure::Other)
}

/// Tells the user, on standard error, what was skipped while reading the evidence.
pub fn report_skipped(engine: &Engine) {
    for e in engine.discovery_errors() {
        eprintln!("warning: {e}");
    }
    let unclaimed = &engine.inventory().unclaimed;
    if !unclaimed.is_empty() {
        eprintln!(
            "note: {} file(s) were not recognised by any format and were not read (`spoor tables` lists them)",
            unclaimed.len()
        );
    }
    let bad = engine.distinct_bad_records();
    if bad.is_empty() {
        return;
    }
    eprintln!(
        "warning: {} bad record(s) skipped while reading the evidence:",
        bad.len()
    );
    for b in bad.iter().take(5) {
        eprintln!("  {b}");
    }
    if bad.len() > 5 {
        eprintln!(
            "  ... and {} more (`spoor tables --bad-records PATH` lists them all)",
            bad.len() - 5
        );
    }
}

/// The SPL macros of `--macros` files, in order (a later definition wins).
pub fn load_macros(files: &[PathBuf]) -> Result<spoor_spl::Macros, Failure> {
    let mut macros = spoor_spl::Macros::default();
    for f in files {
        macros.read(f).map_err(Failure::Usage)?;
    }
    Ok(macros)
}
