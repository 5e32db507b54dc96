//! The table catalog: every table spoor knows, with its documented columns and KQL types.
//!
//! Tables are data, one file per table in `crates/catalog/tables/<Name>.tsv`:
//!
//! ```text
//! # AWSCloudTrail: what the table holds. Source: <reference URL>
//! TimeGenerated<TAB>datetime<TAB>When the event happened (UTC)
//! EventName<TAB>string
//! ```
//!
//! Lines starting with `#` are comments (the first one describes the table); every other
//! non-empty line is `column<TAB>type[<TAB>description]`. The catalog knows a table's columns
//! even when the evidence holds none of it, so that any query plans.
//!
//! To add a table, add its file; nothing else changes.
//!
//! Evidence can also define tables while it is read ([`define_table`]): a file whose rows fit no
//! documented table (a custom `_CL` table, a vendor's export) becomes a table of its own, with
//! the file's columns. [`Catalog::table`] and [`Catalog::all_tables`] see those too;
//! [`Catalog::tables`] and [`Catalog::documented`] only the documented ones.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock, RwLock};

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

include!(concat!(env!("OUT_DIR"), "/table_files.rs"));

/// The scalar types of KQL (Kusto's data types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KqlType {
    Bool,
    Int,
    Long,
    Real,
    Decimal,
    String,
    DateTime,
    TimeSpan,
    Guid,
    /// Any JSON value; held as JSON text (DESIGN.md: dynamic values are JSON text columns).
    Dynamic,
}

impl KqlType {
    /// The name Kusto uses (`typeof()`, `getschema`).
    pub fn name(self) -> &'static str {
        match self {
            KqlType::Bool => "bool",
            KqlType::Int => "int",
            KqlType::Long => "long",
            KqlType::Real => "real",
            KqlType::Decimal => "decimal",
            KqlType::String => "string",
            KqlType::DateTime => "datetime",
            KqlType::TimeSpan => "timespan",
            KqlType::Guid => "guid",
            KqlType::Dynamic => "dynamic",
        }
    }

    /// Parses a type name, with Kusto's synonyms (`boolean`, `date`, `time`, `double`, `uniqueid`).
    pub fn parse(name: &str) -> Option<KqlType> {
        Some(match name.to_ascii_lowercase().as_str() {
            "bool" | "boolean" => KqlType::Bool,
            "int" | "int32" => KqlType::Int,
            "long" | "int64" => KqlType::Long,
            "real" | "double" | "float" => KqlType::Real,
            "decimal" => KqlType::Decimal,
            "string" => KqlType::String,
            "datetime" | "date" => KqlType::DateTime,
            "timespan" | "time" => KqlType::TimeSpan,
            "guid" | "uniqueid" => KqlType::Guid,
            "dynamic" => KqlType::Dynamic,
            _ => return None,
        })
    }

    /// The Arrow type that holds values of this type.
    ///
    /// datetime is nanoseconds without a time zone (always UTC, as in Kusto); timespan is a
    /// nanosecond duration; dynamic and guid are text.
    pub fn arrow(self) -> DataType {
        match self {
            KqlType::Bool => DataType::Boolean,
            KqlType::Int => DataType::Int32,
            KqlType::Long => DataType::Int64,
            KqlType::Real | KqlType::Decimal => DataType::Float64,
            KqlType::String | KqlType::Guid | KqlType::Dynamic => DataType::Utf8,
            KqlType::DateTime => DataType::Timestamp(TimeUnit::Nanosecond, None),
            KqlType::TimeSpan => DataType::Duration(TimeUnit::Nanosecond),
        }
    }

    /// The KQL type of an Arrow type (text is `string`: whether text is dynamic is not visible
    /// in Arrow, the catalog and the planners track it).
    pub fn from_arrow(dt: &DataType) -> Option<KqlType> {
        Some(match dt {
            DataType::Boolean => KqlType::Bool,
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::UInt8
            | DataType::UInt16 => KqlType::Int,
            DataType::Int64 | DataType::UInt32 | DataType::UInt64 => KqlType::Long,
            DataType::Float16 | DataType::Float32 | DataType::Float64 => KqlType::Real,
            DataType::Decimal128(..) | DataType::Decimal256(..) => KqlType::Decimal,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => KqlType::String,
            DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => KqlType::DateTime,
            DataType::Duration(_) | DataType::Interval(_) => KqlType::TimeSpan,
            DataType::Null => KqlType::String,
            DataType::List(_)
            | DataType::LargeList(_)
            | DataType::Struct(_)
            | DataType::Map(..) => KqlType::Dynamic,
            _ => return None,
        })
    }
}

impl fmt::Display for KqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Key of the Arrow field metadata entry that records a column's KQL type.
pub const KQL_TYPE_KEY: &str = "kql_type";

/// One column of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub ty: KqlType,
    pub description: String,
}

impl Column {
    /// The Arrow field of this column (nullable; the KQL type in its metadata).
    pub fn field(&self) -> Field {
        Field::new(&self.name, self.ty.arrow(), true).with_metadata(HashMap::from([(
            KQL_TYPE_KEY.to_string(),
            self.ty.name().to_string(),
        )]))
    }
}

/// A table of the catalog.
#[derive(Debug, Clone)]
pub struct TableDef {
    pub name: String,
    pub description: String,
    pub columns: Vec<Column>,
    schema: SchemaRef,
}

impl TableDef {
    /// Builds a table from its columns.
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        columns: Vec<Column>,
    ) -> TableDef {
        let schema = Arc::new(Schema::new(
            columns.iter().map(Column::field).collect::<Vec<_>>(),
        ));
        TableDef {
            name: name.into(),
            description: description.into(),
            columns,
            schema,
        }
    }

    /// The Arrow schema of the table, columns in catalog order.
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    /// The position of a column (exact name).
    pub fn index_of(&self, column: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == column)
    }

    /// A column by its exact name.
    pub fn column(&self, column: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == column)
    }

    /// The table's time: TimeGenerated, else its first datetime column (eventTime).
    pub fn time_column(&self) -> Option<&Column> {
        self.column("TimeGenerated")
            .or_else(|| self.columns.iter().find(|c| c.ty == KqlType::DateTime))
    }
}

/// What was wrong with a table definition file.
#[derive(Debug, Clone, PartialEq)]
pub struct DefinitionError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for DefinitionError {}

/// Parses one table definition file (format in the crate docs).
pub fn parse_definition(file: &str, text: &str) -> Result<TableDef, DefinitionError> {
    let name = file.trim_end_matches(".tsv").to_string();
    let mut description = String::new();
    let mut columns: Vec<Column> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let err = |message: String| DefinitionError {
            file: file.to_string(),
            line: i + 1,
            message,
        };
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            if description.is_empty() {
                let c = comment.trim();
                description = c
                    .strip_prefix(&format!("{name}:"))
                    .unwrap_or(c)
                    .trim()
                    .to_string();
            }
            continue;
        }
        let mut parts = line.split('\t');
        let col = parts.next().unwrap_or_default().trim();
        let ty = parts.next().map(str::trim).unwrap_or_default();
        let desc = parts.next().map(str::trim).unwrap_or_default();
        if col.is_empty() || ty.is_empty() {
            return Err(err(format!("expected `column<TAB>type`, found {line:?}")));
        }
        let ty = KqlType::parse(ty)
            .ok_or_else(|| err(format!("unknown type {ty:?} for column {col}")))?;
        if columns.iter().any(|c| c.name == col) {
            return Err(err(format!("column {col} is defined twice")));
        }
        columns.push(Column {
            name: col.to_string(),
            ty,
            description: desc.to_string(),
        });
    }
    if columns.is_empty() {
        return Err(DefinitionError {
            file: file.to_string(),
            line: 0,
            message: "no columns".into(),
        });
    }
    Ok(TableDef::new(name, description, columns))
}

/// The built-in catalog.
#[derive(Debug)]
pub struct Catalog {
    tables: Vec<TableDef>,
    by_name: HashMap<String, usize>,
}

impl Catalog {
    /// Every table, sorted by name.
    pub fn tables(&self) -> &[TableDef] {
        &self.tables
    }

    /// A table by its exact name (KQL table names are case-sensitive): a documented table, or one
    /// that evidence defined ([`define_table`]).
    pub fn table(&self, name: &str) -> Option<&TableDef> {
        match self.by_name.get(name) {
            Some(&i) => Some(&self.tables[i]),
            None => defined(name),
        }
    }

    /// A table whose name matches ignoring case (for SQL front-ends and "did you mean" hints).
    pub fn table_ignore_case(&self, name: &str) -> Option<&TableDef> {
        self.all_tables()
            .into_iter()
            .find(|t| t.name.eq_ignore_ascii_case(name))
    }

    /// A documented table by its exact name (not one that evidence defined).
    pub fn documented(&self, name: &str) -> Option<&TableDef> {
        self.by_name.get(name).map(|&i| &self.tables[i])
    }

    /// Whether a documented table has this name, ignoring case.
    pub fn documents(&self, name: &str) -> bool {
        self.tables
            .iter()
            .any(|t| t.name.eq_ignore_ascii_case(name))
    }

    /// The documented tables and those that evidence defined, sorted by name.
    pub fn all_tables(&self) -> Vec<&TableDef> {
        let mut all: Vec<&TableDef> = self.tables.iter().collect();
        all.extend(
            DEFINED
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .copied(),
        );
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }
}

/// Tables that evidence defines while it is read: exports of tables the catalog does not document
/// (custom `_CL` tables, vendor sample data, other CSV files). A run defines a handful; each
/// definition is leaked so that it lives as long as the catalog does.
static DEFINED: RwLock<Vec<&'static TableDef>> = RwLock::new(Vec::new());

fn defined(name: &str) -> Option<&'static TableDef> {
    DEFINED
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .copied()
        .find(|t| t.name == name)
}

/// Defines a table from evidence. A name that the catalog documents (ignoring case) is refused;
/// a name defined before keeps its columns and gains the new ones.
pub fn define_table(
    name: &str,
    description: &str,
    columns: Vec<Column>,
) -> Result<&'static TableDef, String> {
    if catalog().documents(name) {
        return Err(format!(
            "{name} is a documented table; its columns are not taken from the data"
        ));
    }
    if columns.is_empty() {
        return Err(format!("table {name} would have no columns"));
    }
    let mut all = DEFINED.write().unwrap_or_else(|e| e.into_inner());
    let (index, mut merged) = match all.iter().position(|t| t.name == name) {
        Some(i) => (Some(i), all[i].columns.clone()),
        None => (None, Vec::new()),
    };
    let before = merged.len();
    for c in columns {
        if !merged.iter().any(|m| m.name == c.name) {
            merged.push(c);
        }
    }
    if let Some(i) = index
        && merged.len() == before
    {
        return Ok(all[i]);
    }
    let def: &'static TableDef = Box::leak(Box::new(TableDef::new(name, description, merged)));
    match index {
        Some(i) => all[i] = def,
        None => all.push(def),
    }
    Ok(def)
}

/// The catalog built from the embedded table files. Panics on a malformed file: those are part
/// of the program and a test checks them all.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let mut tables: Vec<TableDef> = TABLE_FILES
            .iter()
            .map(|(file, text)| parse_definition(file, text).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        tables.sort_by(|a, b| a.name.cmp(&b.name));
        let by_name = tables
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        Catalog { tables, by_name }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_defines_tables_and_widens_them() {
        let col = |n: &str| Column {
            name: n.into(),
            ty: KqlType::String,
            description: String::new(),
        };
        assert!(define_table("SigninLogs", "", vec![col("a")]).is_err());
        assert!(define_table("signinlogs", "", vec![col("a")]).is_err());
        let t = define_table("Vendor_CL", "rows of vendor.csv", vec![col("a"), col("b")]).unwrap();
        assert_eq!(t.columns.len(), 2);
        let t = define_table("Vendor_CL", "", vec![col("b"), col("c")]).unwrap();
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(catalog().table("Vendor_CL").unwrap().columns.len(), 3);
        assert!(catalog().all_tables().iter().any(|t| t.name == "Vendor_CL"));
        assert!(!catalog().tables().iter().any(|t| t.name == "Vendor_CL"));
    }

    #[test]
    fn every_table_file_parses() {
        for (file, text) in TABLE_FILES {
            parse_definition(file, text).unwrap();
        }
        assert!(!catalog().tables().is_empty());
    }

    #[test]
    fn definition_errors_name_the_line() {
        let e = parse_definition("T.tsv", "# T: test\nA\tstring\nB\tnosuchtype\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("nosuchtype"), "{e}");
        let e = parse_definition("T.tsv", "A\tstring\nA\tlong\n").unwrap_err();
        assert!(e.message.contains("twice"), "{e}");
    }

    #[test]
    fn schema_carries_kql_types() {
        let t =
            parse_definition("T.tsv", "# T: test\nWhen\tdatetime\nBag\tdynamic\tJSON\n").unwrap();
        assert_eq!(t.name, "T");
        assert_eq!(t.description, "test");
        let s = t.schema();
        assert_eq!(
            s.field(0).data_type(),
            &DataType::Timestamp(TimeUnit::Nanosecond, None)
        );
        assert_eq!(
            s.field(1).metadata().get(KQL_TYPE_KEY).map(String::as_str),
            Some("dynamic")
        );
    }
}
