//! The SQL front-end: DataFusion's SQL over the catalog's tables, as Athena users write it.
//!
//! A query is parsed, checked to be one read-only query, its names resolved the way Athena
//! resolves them (ignoring case; a dotted path into a JSON column reads the value there), and
//! planned by DataFusion's SQL planner against the catalog's tables, which are empty here: the
//! engine binds each scan to the evidence when it runs the plan. Nothing executes in this crate.
//!
//! What Athena (Presto/Trino) accepts and DataFusion does not is translated first, keeping
//! every byte position so that errors point into the text as written:
//! - `GROUP BY DISTINCT a, b` groups as `GROUP BY a, b` (Trino's DISTINCT only removes
//!   duplicate grouping sets, which plain grouping elements cannot have);
//! - a schema or database before a table name (`"default".vpc_flow_logs`) is ignored: the
//!   evidence is one database.
//!
//! Read-only means: one query (`SELECT`, `WITH`, `VALUES`, set operations), no DDL, DML,
//! `COPY`, `SET` or `EXPLAIN ANALYZE`, and no table functions that read files. Tables are only
//! the catalog's.
//!
//! `now()` (and `current_timestamp`) is the time the caller pins, as in the other front-ends.

mod context;
mod dialect;
mod names;
mod now;

use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::sqlparser;
use spoor_catalog::KqlType;
use spoor_core::{Diagnostic, Span};

use sqlparser::ast::Statement;

pub use dialect::offset_of;

/// A planned SQL query: the plan (scans of catalog tables, bound to evidence by the engine) and
/// the KQL type of each output column (for display and JSON).
#[derive(Debug, Clone)]
pub struct PlannedSql {
    pub plan: LogicalPlan,
    pub types: Vec<KqlType>,
}

/// Parses `text` and checks that it is one read-only query, without planning it.
pub fn parse(text: &str) -> Result<(), Vec<Diagnostic>> {
    let translated = dialect::translate(text).map_err(|d| vec![d])?;
    parse_one_query(&translated).map(|_| ())
}

/// Parses, checks and plans one read-only SQL query, with `now()` pinned at `now_ns`.
pub fn compile(text: &str, now_ns: i64) -> Result<PlannedSql, Vec<Diagnostic>> {
    let translated = dialect::translate(text).map_err(|d| vec![d])?;
    let mut statement = parse_one_query(&translated)?;
    names::resolve(&mut statement, &translated).map_err(|d| vec![d])?;
    let context = context::PlanningContext::new(now_ns);
    let plan = context
        .plan(statement)
        .map_err(|e| vec![dialect::diagnostic_of_planning_error(&e, &translated)])?;
    let types = plan
        .schema()
        .fields()
        .iter()
        .map(|f| {
            f.metadata()
                .get(spoor_catalog::KQL_TYPE_KEY)
                .and_then(|t| KqlType::parse(t))
                .or_else(|| KqlType::from_arrow(f.data_type()))
                .unwrap_or(KqlType::String)
        })
        .collect();
    Ok(PlannedSql { plan, types })
}

/// The one statement of `text`, which must be a query.
fn parse_one_query(text: &str) -> Result<Statement, Vec<Diagnostic>> {
    use sqlparser::ast::Spanned;
    let statements = sqlparser::parser::Parser::new(&sqlparser::dialect::GenericDialect {})
        .try_with_sql(text)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| {
            vec![
                refuse_writes(text).unwrap_or_else(|| dialect::diagnostic_of_parse_error(&e, text)),
            ]
        })?;
    let span_of = |s: &Statement| dialect::span_of(s.span(), text);
    let mut it = statements.into_iter();
    let Some(first) = it.next() else {
        return Err(vec![
            Diagnostic::new("no query to run", Span::empty(0))
                .with_hint("write one SELECT (or WITH ... SELECT) query"),
        ]);
    };
    if let Some(second) = it.next() {
        return Err(vec![
            Diagnostic::new("one query at a time", span_of(&second))
                .with_hint("run each query on its own, or combine them with UNION ALL"),
        ]);
    }
    match first {
        Statement::Query(_) => Ok(first),
        other => {
            let what = statement_kind(&other);
            Err(vec![
                Diagnostic::new(
                    format!("only queries run here, and this is {what}"),
                    span_of(&other),
                )
                .with_hint(READ_ONLY_HINT),
            ])
        }
    }
}

/// The read-only refusal for a text that starts as a statement that changes something, when it
/// does not parse as SQL (DataFusion's own `CREATE EXTERNAL TABLE`, `COPY ... STORED AS`).
fn refuse_writes(text: &str) -> Option<Diagnostic> {
    let start = text.len() - text.trim_start().len();
    let word: String = text[start..]
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect();
    const WRITES: &[&str] = &[
        "CREATE", "DROP", "ALTER", "TRUNCATE", "INSERT", "UPDATE", "DELETE", "MERGE", "COPY",
        "SET", "RESET", "LOAD", "UNLOAD", "GRANT", "REVOKE",
    ];
    let upper = word.to_uppercase();
    WRITES.contains(&upper.as_str()).then(|| {
        Diagnostic::new(
            format!("only queries run here, and this is `{upper}`"),
            Span::new(start as u32, (start + word.len()) as u32),
        )
        .with_hint(READ_ONLY_HINT)
    })
}

const READ_ONLY_HINT: &str = "spoor reads evidence and never changes it: no DDL, DML, COPY, SET \
     or EXPLAIN; the catalog's tables are already there (`spoor tables` lists them)";

/// A few words naming a statement that is not a query, for the error.
fn statement_kind(s: &Statement) -> String {
    let text = s.to_string();
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    let head = words
        .first()
        .copied()
        .unwrap_or("a statement")
        .to_uppercase();
    match head.as_str() {
        "CREATE" | "DROP" | "ALTER" | "TRUNCATE" => {
            format!("`{} {}` (DDL)", head, words.get(1).copied().unwrap_or(""))
        }
        "INSERT" | "UPDATE" | "DELETE" | "MERGE" => format!("`{head}` (it changes data)"),
        other => format!("`{other}`"),
    }
}

#[cfg(test)]
mod tests;
