//! Catalog tables backed by evidence files: a [`TableProvider`] that decodes only the columns a
//! query needs, streaming, one partition per group of files.

use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::Session;
use datafusion::common::ScalarValue;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::Result;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
use spoor_catalog::TableDef;
use spoor_sources::{BadRecord, ColumnEquals, Decoded, EvidenceFile};

/// A bad record, attributed to the table that was being read.
#[derive(Debug, Clone)]
pub struct TableBadRecord {
    pub table: String,
    pub record: BadRecord,
}

/// Where every reader reports what it skipped.
pub type BadRecordLog = Arc<Mutex<Vec<TableBadRecord>>>;

/// A catalog table over a set of evidence files (possibly none: the table is then empty but
/// still has its documented columns, so that queries plan and run).
pub struct EvidenceTable {
    def: TableDef,
    files: Arc<Vec<EvidenceFile>>,
    partitions: usize,
    batch_size: usize,
    bad_records: BadRecordLog,
    /// Splittable files of at least this size are read in byte ranges.
    split_min_bytes: u64,
}

impl fmt::Debug for EvidenceTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvidenceTable")
            .field("table", &self.def.name)
            .field("files", &self.files.len())
            .finish()
    }
}

impl EvidenceTable {
    pub fn new(
        def: TableDef,
        files: Vec<EvidenceFile>,
        partitions: usize,
        batch_size: usize,
        bad_records: BadRecordLog,
    ) -> Self {
        EvidenceTable {
            def,
            files: Arc::new(files),
            partitions: partitions.max(1),
            batch_size,
            bad_records,
            split_min_bytes: SPLIT_MIN_BYTES,
        }
    }

    /// Reads splittable files of at least `min` bytes in ranges (default [`SPLIT_MIN_BYTES`]).
    pub fn with_split_min_bytes(mut self, min: u64) -> Self {
        self.split_min_bytes = min.max(1);
        self
    }

    /// `Column == "text"` (either way round) on a text column of this table.
    fn column_equals(&self, e: &Expr) -> Option<ColumnEquals> {
        let Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Eq,
            right,
        }) = e
        else {
            return None;
        };
        let (column, value) = match (left.as_ref(), right.as_ref()) {
            (Expr::Column(c), Expr::Literal(v, _)) | (Expr::Literal(v, _), Expr::Column(c)) => {
                (c, v)
            }
            _ => return None,
        };
        let value = match value {
            ScalarValue::Utf8(Some(v))
            | ScalarValue::Utf8View(Some(v))
            | ScalarValue::LargeUtf8(Some(v)) => v,
            _ => return None,
        };
        let index = self.def.index_of(&column.name)?;
        (self.def.columns[index].ty == spoor_catalog::KqlType::String).then(|| ColumnEquals {
            column: index,
            value: value.clone(),
        })
    }

    /// The pieces of work: each file whole, or in byte ranges when it is large and its format
    /// lets its lines be read apart (so that one large file uses every partition).
    fn read_units(&self) -> Vec<ReadUnit> {
        let mut units = Vec::new();
        for (file, f) in self.files.iter().enumerate() {
            let parts = self.partitions as u64;
            if parts > 1 && f.splittable && f.size >= self.split_min_bytes {
                for k in 0..parts {
                    let range = f.size * k / parts..f.size * (k + 1) / parts;
                    units.push(ReadUnit {
                        file,
                        size: range.end - range.start,
                        range: Some(range),
                    });
                }
            } else {
                units.push(ReadUnit {
                    file,
                    size: f.size,
                    range: None,
                });
            }
        }
        units
    }

    /// Splits the work into at most `self.partitions` groups of similar total size.
    fn unit_groups(&self) -> Vec<Vec<ReadUnit>> {
        let mut units = self.read_units();
        let n = self.partitions.min(units.len()).max(1);
        units.sort_by_key(|u| std::cmp::Reverse(u.size));
        let mut groups: Vec<(u64, Vec<ReadUnit>)> = (0..n).map(|_| (0, Vec::new())).collect();
        for u in units {
            let g = groups
                .iter_mut()
                .min_by_key(|(size, _)| *size)
                .expect("n >= 1");
            g.0 += u.size;
            g.1.push(u);
        }
        groups
            .into_iter()
            .map(|(_, mut units)| {
                units.sort_by_key(|u| (u.file, u.range.as_ref().map(|r| r.start)));
                units
            })
            .collect()
    }
}

#[async_trait]
impl TableProvider for EvidenceTable {
    fn schema(&self) -> SchemaRef {
        self.def.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        // `Column == "text"` reaches the decoder as a hint that lets it skip records before
        // parsing them; DataFusion still applies every filter itself (Inexact).
        Ok(filters
            .iter()
            .map(|f| {
                if self.column_equals(f).is_some() {
                    TableProviderFilterPushDown::Inexact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let equals: Vec<ColumnEquals> = filters
            .iter()
            .filter_map(|f| self.column_equals(f))
            .collect();
        let columns: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.def.columns.len()).collect(),
        };
        let schema = Arc::new(self.def.schema().project(&columns)?);
        let partitions: Vec<Arc<dyn PartitionStream>> = self
            .unit_groups()
            .into_iter()
            .map(|units| {
                Arc::new(FileGroupStream {
                    def: self.def.clone(),
                    files: units
                        .into_iter()
                        .map(|u| (self.files[u.file].clone(), u.range))
                        .collect(),
                    columns: columns.clone(),
                    equals: equals.clone(),
                    schema: Arc::clone(&schema),
                    batch_size: self.batch_size,
                    bad_records: Arc::clone(&self.bad_records),
                }) as Arc<dyn PartitionStream>
            })
            .collect();
        Ok(Arc::new(StreamingTableExec::try_new(
            schema,
            partitions,
            None,
            [],
            false,
            limit,
        )?))
    }
}

/// Files of at least this size are read in byte ranges, one per partition, when their format
/// allows it ([`EvidenceFile::splittable`]); smaller ones are not worth the extra opening.
pub const SPLIT_MIN_BYTES: u64 = 8 << 20;

/// A file, or the lines of a file that start in a byte range.
struct ReadUnit {
    file: usize,
    range: Option<std::ops::Range<u64>>,
    size: u64,
}

/// One partition: decodes its files (or ranges of files) one after the other on a blocking
/// thread.
#[derive(Debug)]
struct FileGroupStream {
    def: TableDef,
    files: Vec<(EvidenceFile, Option<std::ops::Range<u64>>)>,
    columns: Vec<usize>,
    equals: Vec<ColumnEquals>,
    schema: SchemaRef,
    batch_size: usize,
    bad_records: BadRecordLog,
}

impl PartitionStream for FileGroupStream {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        // A small bounded channel keeps memory flat: the decoder waits while the query is busy.
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch>>(2);
        let files = self.files.clone();
        let def = self.def.clone();
        let columns = self.columns.clone();
        let equals = self.equals.clone();
        let batch_size = self.batch_size;
        let log = Arc::clone(&self.bad_records);
        tokio::task::spawn_blocking(move || {
            for (file, range) in &files {
                let report = |record: BadRecord| {
                    log.lock().expect("bad record log").push(TableBadRecord {
                        table: def.name.clone(),
                        record,
                    })
                };
                let read = match range {
                    None => spoor_sources::read_prefiltered(
                        file,
                        &def,
                        Some(&columns),
                        batch_size,
                        &equals,
                    ),
                    Some(range) => spoor_sources::read_range(
                        file,
                        &def,
                        Some(&columns),
                        batch_size,
                        &equals,
                        range.clone(),
                    ),
                };
                let reader = match read {
                    Ok(r) => r,
                    Err(e) => {
                        // A file that cannot be opened is reported; the other files are still read.
                        report(unreadable(file, &e));
                        continue;
                    }
                };
                for item in reader {
                    match item {
                        Ok(Decoded::Batch(batch)) => {
                            if tx.blocking_send(Ok(batch)).is_err() {
                                return; // the query stopped reading (limit reached, or cancelled)
                            }
                        }
                        Ok(Decoded::Bad(bad)) => report(bad),
                        Err(e) => {
                            report(unreadable(file, &e));
                            break;
                        }
                    }
                }
            }
        });
        let stream =
            futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) });
        Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            stream,
        ))
    }
}

/// A file-level failure, reported like a bad record so that nothing is lost silently.
fn unreadable(file: &EvidenceFile, e: &dyn std::fmt::Display) -> BadRecord {
    BadRecord {
        file: file.path.clone(),
        position: spoor_sources::Position::Byte(0),
        reason: format!("the file could not be read: {e}"),
    }
}
