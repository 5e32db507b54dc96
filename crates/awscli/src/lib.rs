//! AWS CLI commands answered from local evidence, printed as the AWS CLI prints them, so that a
//! playbook's `aws cloudtrail lookup-events ... --query ... --output table` (or `| jq ...`)
//! runs offline, as written, over a folder of CloudTrail logs.
//!
//! [`lookup`] answers `cloudtrail lookup-events` through the engine's `cloudtrail` table;
//! [`format`] prints a response in the CLI's `json`, `table` and `text` formats; [`respond`]
//! applies the CLI's client-side `--query` (JMESPath) and spoor's `--jq` on the way.

pub mod format;
pub mod lookup;

use std::io::Write;

use serde_json::Value;
use spoor_jsonfilter::{Filter, FilterError};

pub use format::Output;
pub use lookup::{LookupAttribute, LookupRequest, LookupResponse, lookup_events};

/// How to print a response.
#[derive(Debug, Default)]
pub struct Printing<'a> {
    /// The AWS CLI's `--query`: JMESPath over the response.
    pub query: Option<&'a Filter>,
    /// A jq program over what `--query` left (what `aws ... | jq` would read); its values are
    /// printed one per line as compact JSON.
    pub jq: Option<&'a Filter>,
    /// jq's `--raw-output`: strings without quotes.
    pub raw_output: bool,
    /// `--output` (json when absent).
    pub output: Option<Output>,
    /// The width tables fit in ([`format::DEFAULT_WIDTH`], as the CLI when not on a terminal).
    pub width: usize,
}

/// Why a response could not be printed.
#[derive(Debug)]
pub enum PrintError {
    /// `--query` or `--jq` failed on the response.
    Filter(FilterError),
    Io(std::io::Error),
}

impl std::fmt::Display for PrintError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PrintError::Filter(e) => e.fmt(f),
            PrintError::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for PrintError {}

impl From<std::io::Error> for PrintError {
    fn from(e: std::io::Error) -> Self {
        PrintError::Io(e)
    }
}

/// Prints `response` for the operation `operation` (a table's title, e.g. `LookupEvents`):
/// `--query` first, then `--jq` (its values, compact) or the `--output` format.
pub fn respond(
    out: &mut dyn Write,
    response: Value,
    operation: &str,
    printing: &Printing<'_>,
) -> Result<(), PrintError> {
    let value = match printing.query {
        Some(q) => q
            .run(&response)
            .map_err(PrintError::Filter)?
            .pop()
            .unwrap_or(Value::Null),
        None => response,
    };
    if let Some(jq) = printing.jq {
        let values = jq.run(&value).map_err(PrintError::Filter)?;
        spoor_jsonfilter::write_values(out, &values, printing.raw_output)?;
        return Ok(());
    }
    let width = if printing.width == 0 {
        format::DEFAULT_WIDTH
    } else {
        printing.width
    };
    format::write(
        out,
        &value,
        printing.output.unwrap_or(Output::Json),
        operation,
        width,
    )?;
    Ok(())
}
