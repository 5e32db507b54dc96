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
    /// Folders holding local copies named as the URL's last path segment (`%20` decoded).
    pub dirs: Vec<PathBuf>,
}

impl ExternalDataMap {
    /// The local file for a URI, or why there is none.
    fn resolve(&self, uri: &str) -> Result<PathBuf> {
        let without_query = uri.split('?').next().unwrap_or(uri);
        if let Some(p) = self.urls.get(uri).or_else(|| self.urls.get(without_query)) {
            return Ok(p.clone());
        }
        let file_name = without_query
            .rsplit('/')
            .next()
            .map(percent_decoded)
            .unwrap_or_default();
        if !file_name.is_empty()
            && let Some(p) = self
                .dirs
                .iter()
                .map(|d| d.join(&file_name))
                .find(|p| p.is_file())
        {
            return Ok(p);
        }
        if let Some(path) = uri.strip_prefix("file://") {
            return Ok(PathBuf::from(path));
        }
        if !uri.contains("://") {
            return Ok(PathBuf::from(uri));
        }
        Err(DataFusionError::Plan(format!(
            "externaldata reads {uri}, which spoor does not download; save a copy and map it with \
             --externaldata-map '{without_query}=PATH' (or put it in a folder given with --externaldata-dir)"
        )))
    }
}

/// `%XX` escapes of a URL path segment decoded (invalid escapes are kept as written).
fn percent_decoded(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(v) = segment
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_resolves_to_a_mapped_file_or_a_file_of_the_same_name_in_a_folder() {
        let dir = std::env::temp_dir().join(format!("spoor-extdata-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("My Feed.csv"), "a\n").unwrap();
        let map = ExternalDataMap {
            urls: HashMap::new(),
            dirs: vec![dir.clone()],
        };
        assert_eq!(
            map.resolve("https://example.org/x/My%20Feed.csv?sig=1")
                .unwrap(),
            dir.join("My Feed.csv")
        );
        let e = map
            .resolve("https://example.org/x/Other.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("--externaldata-map"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
