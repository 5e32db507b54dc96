//! The engine: one DataFusion session over the catalog's tables, filled from evidence files.
//!
//! Front-ends build logical plans against the catalog (table names and documented schemas, see
//! `spoor-catalog`) without knowing where the data is; [`Engine::execute`] binds each table scan
//! to the evidence that fills it and runs the plan. (`now` is the front-ends' business: they
//! pin it in the plan.)

mod evidence;
mod external;
mod shared_tests;

/// The batches plans produce (so that callers need not name arrow themselves).
pub use datafusion::arrow::record_batch::RecordBatch;
/// The plans front-ends build and [`Engine::execute`] runs.
pub use datafusion::logical_expr::LogicalPlan;
pub use external::ExternalDataMap;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{Array, Int64Array, TimestampNanosecondArray};
use datafusion::common::tree_node::Transformed;
use datafusion::datasource::{TableProvider, provider_as_source};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::SessionContext;
use datafusion::functions_aggregate::expr_fn::{count, max, min};
use datafusion::logical_expr::{TableScanBuilder, ident, lit};
use datafusion::prelude::SessionConfig;
use spoor_catalog::{TableDef, catalog};
use spoor_sources::{EvidenceFile, Inventory, SourceError};

pub use evidence::{BadRecordLog, EvidenceTable, TableBadRecord};

/// A scan of a catalog table (every column), as front-ends plan it; [`Engine::execute`] binds
/// it to the evidence.
pub fn scan_plan(table: &str) -> Result<LogicalPlan> {
    let def = catalog()
        .table(table)
        .ok_or_else(|| DataFusionError::Plan(format!("unknown table {table}")))?;
    let source = provider_as_source(Arc::new(datafusion::datasource::empty::EmptyTable::new(
        def.schema(),
    )));
    datafusion::logical_expr::LogicalPlanBuilder::scan(
        datafusion::common::TableReference::bare(table),
        source,
        None,
    )?
    .build()
}

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Parallel partitions (defaults to the number of CPUs).
    pub partitions: Option<usize>,
    /// Rows per decoded batch.
    pub batch_size: usize,
    /// Local copies of the URIs that `externaldata` reads.
    pub externaldata: ExternalDataMap,
    /// Files at least this large are read in byte ranges by several partitions at once when their
    /// format allows it (default 8 MiB; tests set 1 to split every file).
    pub split_min_bytes: Option<u64>,
    /// Read every file as the format of this name (`spoor_sources::format`) instead of
    /// recognising it by content.
    pub source_format: Option<String>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            partitions: None,
            batch_size: 8192,
            externaldata: ExternalDataMap::default(),
            source_format: None,
            split_min_bytes: None,
        }
    }
}

/// Per-table figures for `spoor tables`.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSummary {
    pub table: String,
    pub rows: u64,
    pub files: usize,
    pub bad_records: usize,
    /// Earliest and latest `TimeGenerated` (ns), when the table has one and rows.
    pub first_ns: Option<i64>,
    pub last_ns: Option<i64>,
}

/// The latest time of the summaries' tables.
pub fn latest_time(summaries: &[TableSummary]) -> Option<i64> {
    summaries.iter().filter_map(|s| s.last_ns).max()
}

/// A DataFusion session over the evidence.
pub struct Engine {
    ctx: SessionContext,
    inventory: Inventory,
    files_by_table: BTreeMap<String, Vec<EvidenceFile>>,
    bad_records: BadRecordLog,
    binder: Arc<Binder>,
}

/// What binds a front-end's table scans to the evidence.
struct Binder {
    providers: HashMap<String, Arc<dyn TableProvider>>,
    externaldata: ExternalDataMap,
}

impl Binder {
    fn bind(&self, plan: LogicalPlan) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|node| match node {
            LogicalPlan::TableScan(scan) => {
                let name = scan.table_name.table().to_string();
                let provider = if name.starts_with("externaldata:") {
                    external::provider(&name, scan.source.schema(), &self.externaldata)?
                } else {
                    self.providers.get(&name).cloned().ok_or_else(|| {
                        DataFusionError::Plan(format!("table {name} is not in the catalog"))
                    })?
                };
                let bound =
                    TableScanBuilder::new(scan.table_name.clone(), provider_as_source(provider))
                        .with_projection(scan.projection.clone())
                        .with_filters(scan.filters.clone())
                        .with_fetch(scan.fetch)
                        .build()?;
                Ok(Transformed::yes(LogicalPlan::TableScan(bound)))
            }
            other => Ok(Transformed::no(other)),
        })
        .map(|t| t.data)
    }
}

/// Runs plans over the engine's evidence synchronously, for a front-end that must look at the
/// data while it plans (Kusto's `bag_unpack` and `pivot` take their output columns from the
/// data, and Kusto also runs the input first to learn them). Cheap to clone; usable from any
/// thread, inside an async runtime or not.
#[derive(Clone)]
pub struct Probe {
    ctx: SessionContext,
    binder: Arc<Binder>,
}

impl Probe {
    /// Binds and runs `plan`, collecting every batch.
    pub fn run(&self, plan: LogicalPlan) -> Result<Vec<RecordBatch>> {
        let plan = self.binder.bind(plan)?;
        let ctx = self.ctx.clone();
        // A thread of its own with its own runtime: the caller may itself be running on a
        // runtime, where blocking on another one panics.
        std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| DataFusionError::External(Box::new(e)))?;
                    runtime
                        .block_on(async { ctx.execute_logical_plan(plan).await?.collect().await })
                })
                .join()
                .unwrap_or_else(|_| {
                    Err(DataFusionError::Execution(
                        "the probe of the evidence panicked".into(),
                    ))
                })
        })
    }
}

impl Engine {
    /// Discovers the evidence under `paths` (files or folders) and registers every catalog
    /// table, filled from the files whose format produces it, or empty.
    pub fn open(paths: &[PathBuf], options: EngineOptions) -> Result<Engine> {
        let partitions = options.partitions.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        });
        let config = SessionConfig::new()
            .with_target_partitions(partitions)
            .with_batch_size(options.batch_size)
            .with_information_schema(false)
            // KQL and CloudTrail names are case-sensitive (`eventName`, `EventName`).
            .set_bool("datafusion.sql_parser.enable_ident_normalization", false)
            // KQL results keep the order `sort by` gave them through later operators
            // (`sort by T | project ...`). A round-robin repartition inserted after a sort to
            // parallelise a projection would shuffle the rows; evidence scans are already split
            // into partitions by file, so nothing is lost.
            .set_bool("datafusion.optimizer.enable_round_robin_repartition", false);
        let mut state = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .build();
        spoor_functions::register_all(&mut state)?;
        let ctx = SessionContext::new_with_state(state);

        let forced = match &options.source_format {
            Some(name) => Some(spoor_sources::format(name).ok_or_else(|| {
                DataFusionError::Plan(format!(
                    "unknown source format {name:?}; `spoor sources` lists the formats"
                ))
            })?),
            None => None,
        };
        let inventory = spoor_sources::discover_as(paths, forced);
        let mut files_by_table: BTreeMap<String, Vec<EvidenceFile>> = BTreeMap::new();
        for file in &inventory.files {
            for table in &file.tables {
                files_by_table
                    .entry((*table).to_string())
                    .or_default()
                    .push(file.clone());
            }
        }
        let bad_records: BadRecordLog = Arc::new(Mutex::new(Vec::new()));
        let mut providers: HashMap<String, Arc<dyn TableProvider>> = HashMap::new();
        for def in catalog().all_tables() {
            let files = files_by_table.get(&def.name).cloned().unwrap_or_default();
            let mut table = EvidenceTable::new(
                def.clone(),
                files,
                partitions,
                options.batch_size,
                Arc::clone(&bad_records),
            );
            if let Some(min) = options.split_min_bytes {
                table = table.with_split_min_bytes(min);
            }
            let table: Arc<dyn TableProvider> = Arc::new(table);
            // A bare reference: a &str would be parsed as SQL and lower-cased.
            ctx.register_table(
                datafusion::common::TableReference::bare(def.name.as_str()),
                Arc::clone(&table),
            )?;
            providers.insert(def.name.clone(), table);
        }
        Ok(Engine {
            ctx,
            inventory,
            files_by_table,
            bad_records,
            binder: Arc::new(Binder {
                providers,
                externaldata: options.externaldata,
            }),
        })
    }

    /// The catalog tables that the evidence fills (at least one file of a format that produces
    /// them).
    pub fn tables_with_data(&self) -> std::collections::HashSet<String> {
        self.files_by_table.keys().cloned().collect()
    }

    /// The DataFusion session (for front-ends that plan with it, such as SQL).
    pub fn session(&self) -> &SessionContext {
        &self.ctx
    }

    /// What discovery found: the files each format claimed, the unclaimed ones, errors.
    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }

    /// Errors met while discovering the evidence (unreadable folders or files).
    pub fn discovery_errors(&self) -> &[SourceError] {
        &self.inventory.errors
    }

    /// Everything skipped so far while reading evidence, per table (a record that two tables
    /// read, such as AWSCloudTrail and its `cloudtrail` view, appears once for each).
    pub fn bad_records(&self) -> Vec<TableBadRecord> {
        self.bad_records.lock().expect("bad record log").clone()
    }

    /// Every distinct bad record (file and position), whatever table was reading it.
    pub fn distinct_bad_records(&self) -> Vec<spoor_sources::BadRecord> {
        let mut seen = std::collections::HashSet::new();
        self.bad_records()
            .into_iter()
            .filter(|b| seen.insert((b.record.file.clone(), b.record.position.to_string())))
            .map(|b| b.record)
            .collect()
    }

    /// Replaces each table scan of a front-end's plan (made against the catalog) with the
    /// evidence-backed table of the same name.
    pub fn bind(&self, plan: LogicalPlan) -> Result<LogicalPlan> {
        self.binder.bind(plan)
    }

    /// A handle that runs plans over this evidence synchronously (see [`Probe`]).
    pub fn probe(&self) -> Probe {
        Probe {
            ctx: self.ctx.clone(),
            binder: Arc::clone(&self.binder),
        }
    }

    /// Binds and runs a plan, collecting every result batch.
    pub async fn execute(&self, plan: LogicalPlan) -> Result<Vec<RecordBatch>> {
        let plan = self.bind(plan)?;
        self.ctx.execute_logical_plan(plan).await?.collect().await
    }

    /// Reads `table` once and keeps, for each predicate, the rows that satisfy it: many rules
    /// over one table share one scan (a rule set of thousands reads the evidence once per table,
    /// not once per rule). Predicates come in groups that share a condition (the rules of one
    /// log source: `EventID = 1`): the condition filters each batch once, and the group's
    /// predicates run on the rows it kept. Their literal string tests are answered by one
    /// multi-pattern search per field ([`shared_tests`]), and each predicate reads only its own
    /// columns. Everything is compiled to physical expressions once and evaluated in each
    /// partition's task; small batches (one per short file) are gathered first so that each
    /// predicate, and each pattern it compiles, runs on few large batches.
    ///
    /// The result is `[group][predicate]` → the matching rows.
    pub async fn filter_many(
        &self,
        table: &str,
        groups: &[(
            Option<datafusion::logical_expr::Expr>,
            Vec<datafusion::logical_expr::Expr>,
        )],
    ) -> Result<Vec<Vec<Vec<RecordBatch>>>> {
        use datafusion::arrow::compute::{concat_batches, filter_record_batch};
        use datafusion::common::cast::as_boolean_array;
        use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
        use datafusion::physical_expr::{PhysicalExpr, create_physical_expr};
        use futures::StreamExt;

        let scan = self.bind(scan_plan(table)?)?;
        let state = self.ctx.state();
        let schema = scan.schema().clone();
        /// A group's condition, its shared string tests, and its predicates (over the test
        /// columns when there are shared tests).
        type Group = (
            Option<Arc<dyn PhysicalExpr>>,
            Option<shared_tests::SharedTests>,
            Vec<shared_tests::Narrow>,
        );
        let props = state.execution_props();
        let context = PhysicalPlanningContext::default();
        let empty = RecordBatch::new_empty(Arc::new(schema.as_arrow().clone()));
        let compiled: Vec<Group> = groups
            .iter()
            .map(|(condition, predicates)| {
                let condition = condition
                    .as_ref()
                    .map(|c| state.create_physical_expr(c.clone(), &schema))
                    .transpose()?;
                let predicates = predicates
                    .iter()
                    .map(|p| {
                        // A predicate whose types already agree (a front-end's compiled rules
                        // do) is planned as it is: DataFusion's type coercion asks the type of
                        // every subtree again at every level, which costs more than the scan
                        // for a rule set of thousands. One that does not build, or does not
                        // run on an empty batch (a comparison of two types), is coerced.
                        create_physical_expr(p, &schema, props, &context)
                            .and_then(|e| e.evaluate(&empty).map(|_| e))
                            .or_else(|_| state.create_physical_expr(p.clone(), &schema))
                    })
                    .collect::<Result<Vec<_>>>()?;
                let (shared, predicates) =
                    shared_tests::SharedTests::share(predicates, schema.as_arrow())?;
                let over = shared
                    .as_ref()
                    .map_or(schema.as_arrow(), shared_tests::SharedTests::schema);
                let predicates = predicates
                    .into_iter()
                    .map(|p| shared_tests::Narrow::new(p, over))
                    .collect::<Result<Vec<_>>>()?;
                Ok((condition, shared, predicates))
            })
            .collect::<Result<_>>()?;
        let compiled = Arc::new(compiled);
        let physical = state.create_physical_plan(&scan).await?;
        let streams =
            datafusion::physical_plan::execute_stream_partitioned(physical, self.ctx.task_ctx())?;
        let target_rows = state.config().batch_size();
        type Found = Vec<Vec<Vec<RecordBatch>>>;
        let empty = |groups: &[Group]| -> Found {
            groups
                .iter()
                .map(|(_, _, p)| vec![Vec::new(); p.len()])
                .collect()
        };
        let mut tasks = Vec::new();
        for mut stream in streams {
            let compiled = Arc::clone(&compiled);
            let mut out = empty(&compiled);
            tasks.push(tokio::spawn(async move {
                // The rows of `batch` where `e`, evaluated on `over` (the batch itself, or the
                // batch with its shared test columns), holds.
                // (Most predicates keep no row of a batch: a wide table is then not filtered
                // column by column into empty arrays.)
                let keep_where = |batch: &RecordBatch, mask: datafusion::arrow::array::ArrayRef| {
                    let mask = as_boolean_array(&mask)?;
                    if mask.true_count() == 0 {
                        return Ok(None);
                    }
                    filter_record_batch(batch, mask).map(Some)
                };
                let keep = |batch: &RecordBatch, e: &Arc<dyn PhysicalExpr>| {
                    keep_where(batch, e.evaluate(batch)?.into_array(batch.num_rows())?)
                };
                let evaluate = |batch: &RecordBatch, out: &mut Found| {
                    for (g, (condition, shared, predicates)) in compiled.iter().enumerate() {
                        let rows = match condition {
                            Some(c) => match keep(batch, c)? {
                                Some(rows) => rows,
                                None => continue,
                            },
                            None => batch.clone(),
                        };
                        // The rows with the shared string tests' columns after their own.
                        let over = match shared {
                            Some(s) => s.columns(&rows)?,
                            None => rows.clone(),
                        };
                        for (i, p) in predicates.iter().enumerate() {
                            if let Some(kept) = keep_where(&rows, p.evaluate(&over)?)? {
                                out[g][i].push(kept);
                            }
                        }
                    }
                    Ok::<(), DataFusionError>(())
                };
                let mut pending: Vec<RecordBatch> = Vec::new();
                let mut pending_rows = 0usize;
                while let Some(batch) = stream.next().await {
                    let batch = batch?;
                    pending_rows += batch.num_rows();
                    pending.push(batch);
                    if pending_rows >= target_rows {
                        let whole = concat_batches(&pending[0].schema(), &pending)?;
                        evaluate(&whole, &mut out)?;
                        pending.clear();
                        pending_rows = 0;
                    }
                }
                if pending_rows > 0 {
                    let whole = concat_batches(&pending[0].schema(), &pending)?;
                    evaluate(&whole, &mut out)?;
                }
                Ok::<_, DataFusionError>(out)
            }));
        }
        let mut merged = empty(&compiled);
        for t in tasks {
            let part = t
                .await
                .map_err(|e| DataFusionError::Execution(format!("a scan task failed: {e}")))??;
            for (g, group) in part.into_iter().enumerate() {
                for (i, batches) in group.into_iter().enumerate() {
                    merged[g][i].extend(batches);
                }
            }
        }
        Ok(merged)
    }

    /// Reads each of `tables` that the evidence fills once, and serves later plans from
    /// memory: a hunt runs dozens of plans over the same tables, and decoding the evidence
    /// again for each would cost more than the queries. Bad records are logged by this one
    /// read. The rows keep the partitions the scan gave them.
    pub async fn cache_tables(&mut self, tables: &[String]) -> Result<()> {
        use datafusion::catalog::MemTable;
        use datafusion::physical_plan::execute_stream_partitioned;
        use futures::TryStreamExt;
        let (ctx, files_by_table, binder) = (&self.ctx, &self.files_by_table, &self.binder);
        let mut providers = binder.providers.clone();
        for table in tables {
            if !files_by_table.contains_key(table) {
                continue;
            }
            let plan = binder.bind(scan_plan(table)?)?;
            let physical = ctx.state().create_physical_plan(&plan).await?;
            let mut partitions = Vec::new();
            for stream in execute_stream_partitioned(physical.clone(), ctx.task_ctx())? {
                let batches = stream.try_collect::<Vec<_>>().await?;
                // Thousands of small files give thousands of small batches, and every plan
                // over the cache would pay for each: one batch per partition instead.
                let merged = match batches.first() {
                    Some(first) if batches.len() > 1 => {
                        vec![datafusion::arrow::compute::concat_batches(
                            &first.schema(),
                            &batches,
                        )?]
                    }
                    _ => batches,
                };
                partitions.push(merged);
            }
            let memory: Arc<dyn TableProvider> =
                Arc::new(MemTable::try_new(physical.schema(), partitions)?);
            let reference = datafusion::common::TableReference::bare(table.as_str());
            ctx.deregister_table(reference.clone())?;
            ctx.register_table(reference, Arc::clone(&memory))?;
            providers.insert(table.clone(), memory);
        }
        self.binder = Arc::new(Binder {
            providers,
            externaldata: binder.externaldata.clone(),
        });
        Ok(())
    }

    /// The latest time of any row of any table (a hunt's or a rule test's default `now`), or
    /// `None` when no table has a time.
    pub async fn latest_event_time(&self) -> Result<Option<i64>> {
        Ok(latest_time(&self.summarize_tables().await?))
    }

    /// Row counts, file counts, bad records and time range of every table the evidence fills.
    pub async fn summarize_tables(&self) -> Result<Vec<TableSummary>> {
        let mut out = Vec::new();
        for (name, files) in &self.files_by_table {
            let def = catalog().table(name).ok_or_else(|| {
                DataFusionError::Plan(format!("format produces unknown table {name}"))
            })?;
            let df = self
                .ctx
                .table(datafusion::common::TableReference::bare(name.as_str()))
                .await?;
            let time = def.time_column();
            let aggs = if let Some(time) = time {
                vec![
                    count(lit(1)).alias("rows"),
                    min(ident(&time.name)).alias("first"),
                    max(ident(&time.name)).alias("last"),
                ]
            } else {
                vec![count(lit(1)).alias("rows")]
            };
            let batches = df.aggregate(vec![], aggs)?.collect().await?;
            let batch = batches
                .first()
                .ok_or_else(|| DataFusionError::Internal("no aggregate row".into()))?;
            let rows = batch
                .column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .map(|a| a.value(0))
                .unwrap_or(0);
            let ts = |i: usize| {
                batch
                    .columns()
                    .get(i)
                    .and_then(|c| c.as_any().downcast_ref::<TimestampNanosecondArray>())
                    .and_then(|a| (!a.is_null(0)).then(|| a.value(0)))
            };
            let bad = self
                .bad_records
                .lock()
                .expect("bad record log")
                .iter()
                .filter(|b| &b.table == name)
                .count();
            out.push(TableSummary {
                table: name.clone(),
                rows: rows as u64,
                files: files.len(),
                bad_records: bad,
                first_ns: ts(1),
                last_ns: ts(2),
            });
        }
        Ok(out)
    }

    /// The catalog definition of a table.
    pub fn table_def(name: &str) -> Option<&'static TableDef> {
        catalog().table(name)
    }
}
