//! What the integration tests share: the repository root, the shared data folders, and running
//! a KQL query over evidence the way `spoor query` does. Each test file uses a part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use spoor_engine::{Engine, EngineOptions};
use spoor_kql::PlanOptions;
use spoor_output::ResultSet;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// A folder of the shared data (`$var`, else `default` beside the repository), or `None` when it
/// is missing outside CI (the test says it was skipped); under CI (`CI` set) a missing folder
/// fails the test.
pub fn shared(var: &str, default: &str) -> Option<PathBuf> {
    let dir = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(default));
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "{} is missing and CI is set: the corpus tests cannot run",
            dir.display()
        );
    }
    eprintln!(
        "skipped: {} is missing (set {var} to point at it)",
        dir.display()
    );
    None
}

/// The runtime the tests run plans on.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `text` over `evidence` with `now` pinned: the result, or the rendered error.
pub fn run_kql(
    evidence: &Path,
    text: &str,
    origin: &str,
    now_ns: i64,
) -> Result<(ResultSet, Option<String>), String> {
    run_kql_with(evidence, text, origin, now_ns, None)
}

/// [`run_kql`], with splittable files of at least `split_min_bytes` read in byte ranges.
pub fn run_kql_with(
    evidence: &Path,
    text: &str,
    origin: &str,
    now_ns: i64,
    split_min_bytes: Option<u64>,
) -> Result<(ResultSet, Option<String>), String> {
    let engine = Engine::open(
        &[evidence.to_path_buf()],
        EngineOptions {
            partitions: Some(2),
            split_min_bytes,
            ..Default::default()
        },
    )
    .map_err(|e| format!("engine: {e}"))?;
    let options = PlanOptions {
        now_ns,
        tables_with_data: engine.tables_with_data(),
        workspace: spoor_kql::workspace::Workspace::builtin(),
        probe: Some({
            let probe = engine.probe();
            spoor_kql::DataProbe(std::sync::Arc::new(move |plan| {
                probe.run(plan).map_err(|e| e.strip_backtrace())
            }))
        }),
    };
    let planned = spoor_kql::compile(text, &options).map_err(|ds| {
        ds.iter()
            .map(|d| d.render(text, origin))
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let columns: Vec<String> = planned
        .plan
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let batches = runtime()
        .block_on(engine.execute(planned.plan))
        .map_err(|e| format!("runtime error: {}", e.strip_backtrace()))?;
    Ok((
        ResultSet::new(columns, batches, planned.types),
        planned.render,
    ))
}
