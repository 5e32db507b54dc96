//! `externaldata`: the KQL planner scans a table named `externaldata:<format>:<skip first
//! 0|1>:<uri>`; the engine binds it to a local copy of the URI and reads it with the declared
//! schema. spoor never downloads: a URL must be mapped to a local file (`--externaldata-map
//! URL=PATH`), or be a `file://` URI or a local path.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, DurationNanosecondArray, StringArray, TimestampNanosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::MemTable;
use datafusion::datasource::TableProvider;
use datafusion::error::{DataFusionError, Result};
use spoor_catalog::{KQL_TYPE_KEY, KqlType};

/// Where `externaldata` URIs are read from.
#[derive(Debug, Clone, Default)]
pub struct ExternalDataMap {
    /// URI (as written in the query, or without its `?query` part) → local file.
    pub urls: HashMap<String, PathBuf>,
}

impl ExternalDataMap {
    /// The local file for a URI, or why there is none.
    fn resolve(&self, uri: &str) -> Result<PathBuf> {
        let without_query = uri.split('?').next().unwrap_or(uri);
        if let Some(p) = self.urls.get(uri).or_else(|| self.urls.get(without_query)) {
            return Ok(p.clone());
        }
        if let Some(path) = uri.strip_prefix("file://") {
            return Ok(PathBuf::from(path));
        }
        if !uri.contains("://") {
            return Ok(PathBuf::from(uri));
        }
        Err(DataFusionError::Plan(format!(
            "externaldata reads {uri}, which spoor does not download; save a copy and map it with \
             --externaldata-map '{without_query}=PATH'"
        )))
    }
}

/// A table holding the rows of one `externaldata` URI.
pub(crate) fn provider(
    name: &str,
    schema: SchemaRef,
    map: &ExternalDataMap,
) -> Result<Arc<dyn TableProvider>> {
    let rest = &name["externaldata:".len()..];
    let mut parts = rest.splitn(3, ':');
    let (format, skip_first, uri) = match (parts.next(), parts.next(), parts.next()) {
        (Some(f), Some(s), Some(u)) => (f, s == "1", u),
        _ => {
            return Err(DataFusionError::Internal(format!(
                "malformed externaldata table name {name}"
            )));
        }
    };
    let path = map.resolve(uri)?;
    let text = std::fs::read_to_string(&path).map_err(|e| {
        DataFusionError::Plan(format!(
            "externaldata: cannot read {} (for {uri}): {e}",
            path.display()
        ))
    })?;
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let rows = match format {
        "txt" => text
            .lines()
            .skip(usize::from(skip_first))
            .map(|l| vec![Some(l.to_string())])
            .collect(),
        "json" | "multijson" => json_rows(&text, &names, &path)?,
        _ => {
            let delimiter = match format {
                "tsv" => b'\t',
                "scsv" => b';',
                "psv" => b'|',
                _ => b',',
            };
            csv_rows(&text, delimiter, skip_first, &path)?
        }
    };
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (i, field) in schema.fields().iter().enumerate() {
        let values: Vec<Option<String>> =
            rows.iter().map(|r| r.get(i).cloned().flatten()).collect();
        let ty = field
            .metadata()
            .get(KQL_TYPE_KEY)
            .and_then(|t| KqlType::parse(t))
            .unwrap_or(KqlType::String);
        columns.push(typed(values, ty, field.data_type())?);
    }
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns)?;
    Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
}

fn csv_rows(
    text: &str,
    delimiter: u8,
    skip_first: bool,
    path: &std::path::Path,
) -> Result<Vec<Vec<Option<String>>>> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(skip_first)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            DataFusionError::Plan(format!(
                "externaldata: {} record {}: {e}",
                path.display(),
                i + 1
            ))
        })?;
        rows.push(
            record
                .iter()
                .map(|v| (!v.is_empty()).then(|| v.to_string()))
                .collect(),
        );
    }
    Ok(rows)
}

fn json_rows(
    text: &str,
    names: &[String],
    path: &std::path::Path,
) -> Result<Vec<Vec<Option<String>>>> {
    let mut rows = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| {
            DataFusionError::Plan(format!(
                "externaldata: {} line {}: {e}",
                path.display(),
                i + 1
            ))
        })?;
        rows.push(
            names
                .iter()
                .map(|n| match v.get(n) {
                    None | Some(serde_json::Value::Null) => None,
                    Some(serde_json::Value::String(s)) => Some(s.clone()),
                    Some(other) => Some(other.to_string()),
                })
                .collect(),
        );
    }
    Ok(rows)
}

/// Text values as an array of the column's type; a value that does not convert is null.
fn typed(
    values: Vec<Option<String>>,
    ty: KqlType,
    arrow: &datafusion::arrow::datatypes::DataType,
) -> Result<ArrayRef> {
    Ok(match ty {
        KqlType::DateTime => Arc::new(
            values
                .iter()
                .map(|v| {
                    v.as_deref()
                        .and_then(|s| spoor_functions::datetime::parse_kql_datetime(s.trim()))
                })
                .collect::<TimestampNanosecondArray>(),
        ),
        KqlType::TimeSpan => Arc::new(
            values
                .iter()
                .map(|v| {
                    v.as_deref()
                        .and_then(|s| spoor_functions::datetime::parse_kql_timespan(s.trim()))
                })
                .collect::<DurationNanosecondArray>(),
        ),
        _ => {
            let text: ArrayRef = Arc::new(values.into_iter().collect::<StringArray>());
            if arrow == text.data_type() {
                text
            } else {
                cast(&text, arrow)?
            }
        }
    })
}
