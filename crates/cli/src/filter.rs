//! `--jq` / `--jmespath` / `--raw-output`: the flags and their wiring to `spoor-jsonfilter`.

use std::io::Write;

use clap::Args;
use spoor_jsonfilter::{Filter, Language};
use spoor_output::{OutputFormat, ResultSet};

use crate::Failure;

/// Checks a jq program while the command line is read, so that a mistake is a usage error
/// (exit 2) reported before any evidence is read. The program is compiled again where it runs
/// (compiled filters cannot travel through clap).
pub fn jq_expression(text: &str) -> Result<String, String> {
    Filter::jq(text)
        .map(|_| text.to_string())
        .map_err(|e| e.to_string())
}

/// [`jq_expression`] for JMESPath.
pub fn jmespath_expression(text: &str) -> Result<String, String> {
    Filter::jmespath(text)
        .map(|_| text.to_string())
        .map_err(|e| e.to_string())
}

/// Compiles an expression that the flag's parser already checked.
pub fn compile(language: Language, text: &str) -> Result<Filter, Failure> {
    Filter::new(language, text)
        .map_err(|e| Failure::Usage(format!("{} {text:?}: {e}", language.flag())))
}

/// Filters for `spoor query`'s rows.
#[derive(Debug, Args, Default)]
pub struct FilterArgs {
    /// Filter the rows with a jq program: its input is the JSON array of result rows (those
    /// `--format json` prints), each value it outputs is printed as compact JSON on its own
    /// line. Implies JSON.
    ///   spoor query 'AWSCloudTrail | take 5' --jq '.[] | .EventName' ./evidence
    #[arg(
        long,
        value_name = "EXPR",
        value_parser = jq_expression,
        group = "json_filter",
        conflicts_with = "format",
        verbatim_doc_comment
    )]
    pub jq: Option<String>,
    /// Filter the rows with a JMESPath expression (as the AWS CLI's --query), over the JSON
    /// array of result rows. Implies JSON.
    ///   spoor query 'AWSCloudTrail' --jmespath '[?ErrorCode!=``].EventName' ./evidence
    #[arg(
        long,
        value_name = "EXPR",
        value_parser = jmespath_expression,
        group = "json_filter",
        conflicts_with = "format",
        verbatim_doc_comment
    )]
    pub jmespath: Option<String>,
    /// With --jq or --jmespath: print strings without quotes (jq's -r).
    #[arg(short = 'r', long, requires = "json_filter")]
    pub raw_output: bool,
}

impl FilterArgs {
    /// The filter asked for, compiled.
    pub fn filter(&self) -> Result<Option<Filter>, Failure> {
        match (&self.jq, &self.jmespath) {
            (Some(jq), _) => compile(Language::Jq, jq).map(Some),
            (None, Some(jp)) => compile(Language::JmesPath, jp).map(Some),
            (None, None) => Ok(None),
        }
    }
}

/// Writes a query's result: through the filter when one is asked for, else in `format`.
pub fn write_result(
    out: &mut dyn Write,
    result: &ResultSet,
    format: OutputFormat,
    args: &FilterArgs,
) -> Result<(), Failure> {
    let Some(filter) = args.filter()? else {
        return spoor_output::write(out, result, format).map_err(|e| Failure::Other(e.into()));
    };
    let rows: Vec<serde_json::Value> = result
        .json_rows()
        .into_iter()
        .map(serde_json::Value::Object)
        .collect();
    let values = filter
        .run(&serde_json::Value::Array(rows))
        .map_err(|e| Failure::Query(format!("error: {e}")))?;
    spoor_jsonfilter::write_values(out, &values, args.raw_output)
        .map_err(|e| Failure::Other(e.into()))
}
