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
    let planned = spoor_kql::compile(text, &options).map_err(|ds| rendered(&ds, text, origin))?;
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

/// A setting in a case file's leading comment lines (`// key: value`, `-- key: value`,
/// `# key: value`).
pub fn header(text: &str, key: &str) -> Option<String> {
    text.lines()
        .take_while(|l| ["//", "--", "#"].iter().any(|c| l.starts_with(c)))
        .find_map(|l| {
            l.trim_start_matches(['/', '-', '#'])
                .trim()
                .strip_prefix(&format!("{key}:"))
                .map(|v| v.trim().to_string())
        })
}

/// A result as the case snapshots show it: columns, types, row count, then one JSON object per
/// row (sorted unless the query orders them, since parallel execution promises no order).
pub fn render_result(result: &ResultSet, render: Option<&str>, ordered: bool) -> String {
    let mut rows: Vec<String> = result
        .json_rows()
        .into_iter()
        .map(|r| serde_json::to_string(&serde_json::Value::Object(r)).unwrap())
        .collect();
    if !ordered {
        rows.sort();
    }
    let types: Vec<&str> = result.types.iter().map(|t| t.name()).collect();
    let mut out = format!(
        "columns: {}\ntypes: {}\nrows: {}\n",
        result.columns().join(", "),
        types.join(", "),
        rows.len()
    );
    if let Some(r) = render {
        out.push_str(&format!("render: {r}\n"));
    }
    for r in rows {
        out.push_str(&r);
        out.push('\n');
    }
    out
}

/// Opens an engine over `evidence` the way the tests do (two partitions).
pub fn open_engine(evidence: &Path) -> Result<Engine, String> {
    Engine::open(
        &[evidence.to_path_buf()],
        EngineOptions {
            partitions: Some(2),
            ..Default::default()
        },
    )
    .map_err(|e| format!("engine: {e}"))
}

/// Runs a SQL query over `evidence` with `now` pinned: the result, or the rendered error.
pub fn run_sql(
    evidence: &Path,
    text: &str,
    origin: &str,
    now_ns: i64,
) -> Result<ResultSet, String> {
    let planned = spoor_sql::compile(text, now_ns).map_err(|ds| rendered(&ds, text, origin))?;
    execute(&open_engine(evidence)?, planned.plan, planned.types)
}

/// Binds and runs a plan over the engine's evidence.
pub fn execute(
    engine: &Engine,
    plan: spoor_engine::LogicalPlan,
    types: Vec<spoor_catalog::KqlType>,
) -> Result<ResultSet, String> {
    let columns: Vec<String> = plan
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let batches = runtime()
        .block_on(engine.execute(plan))
        .map_err(|e| format!("runtime error: {}", e.strip_backtrace()))?;
    Ok(ResultSet::new(columns, batches, types))
}

/// Runs a Logs Insights query over `evidence` (on `log_groups`, or every one the evidence has):
/// the result, or the rendered error.
pub fn run_cwl(
    evidence: &Path,
    text: &str,
    origin: &str,
    log_groups: Vec<String>,
) -> Result<ResultSet, String> {
    let engine = open_engine(evidence)?;
    let options = spoor_cwl::CwlOptions {
        log_groups,
        tables_with_data: engine.tables_with_data(),
    };
    let planned = spoor_cwl::compile(text, &options).map_err(|ds| rendered(&ds, text, origin))?;
    execute(&engine, planned.plan, planned.types)
}

/// Runs an SPL query over `evidence` with the macros of `macros_files`: the result, or the
/// rendered error.
pub fn run_spl(
    evidence: &Path,
    text: &str,
    origin: &str,
    macros_files: &[PathBuf],
    now_ns: i64,
) -> Result<ResultSet, String> {
    let mut macros = spoor_spl::Macros::default();
    for f in macros_files {
        macros.read(f)?;
    }
    let engine = open_engine(evidence)?;
    let options = spoor_spl::SplOptions {
        tables_with_data: engine.tables_with_data(),
        now_ns,
    };
    let planned =
        spoor_spl::compile(text, &macros, &options).map_err(|ds| rendered(&ds, text, origin))?;
    execute(&engine, planned.plan, planned.types)
}

/// Runs a Sumo Logic query over `evidence`: the result, or the rendered error.
pub fn run_sumo(evidence: &Path, text: &str, origin: &str) -> Result<ResultSet, String> {
    let engine = open_engine(evidence)?;
    let options = spoor_sumo::SumoOptions {
        tables_with_data: engine.tables_with_data(),
    };
    let planned = spoor_sumo::compile(text, &options).map_err(|ds| rendered(&ds, text, origin))?;
    execute(&engine, planned.plan, planned.types)
}

pub fn run_esql(
    evidence: &Path,
    text: &str,
    origin: &str,
    now_ns: i64,
) -> Result<ResultSet, String> {
    let engine = open_engine(evidence)?;
    let options = spoor_esql::EsqlOptions {
        tables_with_data: engine.tables_with_data(),
        now_ns,
    };
    let planned = spoor_esql::compile(text, &options).map_err(|ds| rendered(&ds, text, origin))?;
    execute(&engine, planned.plan, planned.types)
}

/// Diagnostics rendered against their text, one after the other.
pub fn rendered(ds: &[spoor_core::Diagnostic], text: &str, origin: &str) -> String {
    ds.iter()
        .map(|d| d.render(text, origin))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A value as the comparison sees it: numbers as numbers, the elements of arrays in order of
/// their text at any depth (`make_set` promises no order, and parallel execution changes it),
/// JSON text read as the JSON it holds.
pub fn value(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Number(n) => n.as_f64().map_or(n.to_string(), |f| f.to_string()),
        Value::Array(items) => {
            let mut items: Vec<String> = items.iter().map(value).collect();
            items.sort();
            format!("[{}]", items.join(","))
        }
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}:{}", value(v)))
                .collect();
            format!("{{{}}}", items.join(","))
        }
        Value::String(text) if text.trim_start().starts_with(['[', '{']) => {
            match serde_json::from_str::<Value>(text) {
                Ok(parsed) => value(&parsed),
                Err(_) => v.to_string(),
            }
        }
        other => other.to_string(),
    }
}

/// Rows as sorted lists of values, whatever the column names. Where strings are never null
/// (Kusto's), a null is the empty string.
pub fn rows(result: &spoor_output::ResultSet, strings_never_null: bool) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = result
        .json_rows()
        .into_iter()
        .map(|r| {
            r.values()
                .map(|v| match v {
                    serde_json::Value::Null if strings_never_null => value(&"".into()),
                    v => value(v),
                })
                .collect()
        })
        .collect();
    out.sort();
    out
}

/// `result` with only `columns` (each a column of it), in that order.
pub fn only_columns(result: &ResultSet, columns: &[String]) -> ResultSet {
    let indices: Vec<usize> = columns
        .iter()
        .map(|c| {
            result
                .columns
                .iter()
                .position(|r| r == c)
                .expect("a column of the result")
        })
        .collect();
    ResultSet::new(
        columns.to_vec(),
        result
            .batches
            .iter()
            .map(|b| b.project(&indices).expect("columns of the batch"))
            .collect(),
        indices.iter().map(|i| result.types[*i]).collect(),
    )
}
