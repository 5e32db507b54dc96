//! Command-line flags.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// spoor: threat hunting and detection over security logs.
///
/// Point spoor at evidence (folders of CloudTrail, VPC flow logs, IIS logs...) and query it in
/// KQL as you would in Microsoft Sentinel. Files are recognised by their content, `.gz` is
/// read transparently, folders are read recursively, and evidence is never written to.
#[derive(Debug, Parser)]
#[command(
    name = "spoor",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a query over evidence.
    ///
    /// Examples:
    ///   spoor query 'AWSCloudTrail | where EventName == "StopLogging"' ./evidence
    ///   spoor query -f hunt.kql --now 2023-08-10T00:00:00Z --format json ./evidence
    #[command(verbatim_doc_comment)]
    Query(QueryArgs),
    /// Parse and plan queries against the table catalog, without data.
    ///
    /// Examples:
    ///   spoor check -f hunt.kql
    ///   spoor check 'SigninLogs | where ResultType != 0'
    ///   spoor check --jsonl detections.jsonl --format json   # one {"query": ...} per line
    #[command(verbatim_doc_comment)]
    Check(CheckArgs),
    /// List the tables the evidence fills: rows, files, bad records, time range.
    ///
    /// Example:
    ///   spoor tables ./evidence
    #[command(verbatim_doc_comment)]
    Tables(TablesArgs),
    /// List the log formats spoor reads, what each recognises and the tables it fills.
    ///
    /// Files are recognised by their content; `--source-format NAME` (on query and tables)
    /// reads every file as one format instead.
    ///
    /// Example:
    ///   spoor sources
    ///   spoor sources --format json
    #[command(verbatim_doc_comment)]
    Sources(SourcesArgs),
    /// Hunt: run the detection pack over evidence and report the findings by ATT&CK tactic.
    ///
    /// Loads every evidence file, runs the built-in pack (plus --rules and --sigma rules),
    /// and prints the findings, most severe first, grouped by tactic, each with the rows that
    /// triggered it. The timeline, the HTML report and the ATT&CK Navigator layer are
    /// written on request.
    ///
    /// Examples:
    ///   spoor hunt ./evidence
    ///   spoor hunt --now 2023-08-10T00:00:00Z --format json ./evidence
    ///   spoor hunt --sigma sigma/rules --timeline timeline.csv --attack-layer layer.json ./evidence
    ///   spoor hunt --tuning tuning.yml --param IP=203.0.113.7 ./evidence
    #[command(verbatim_doc_comment)]
    Hunt(HuntArgs),
    /// The detection pack: list, show, lint and test rules.
    ///
    /// Examples:
    ///   spoor rules list
    ///   spoor rules show aws-cloudtrail-stop-logging
    ///   spoor rules lint ./my-rules
    ///   spoor rules test
    #[command(verbatim_doc_comment)]
    Rules(RulesArgs),
    /// Write a query in another language: it is planned by its own front-end, then written
    /// out. What the target cannot express is an error that says which part.
    ///
    /// Targets: sql (spoor's SQL), kql (Sentinel's tables), athena (Athena's CloudTrail and
    /// VPC flow log tables), cwl (Logs Insights on the CloudTrail or flow log group), spl (the
    /// Windows and AWS add-ons' sourcetypes, search terms where it can), sumo (Windows source
    /// categories), esql (Elastic's data streams with their ECS fields: process.executable,
    /// winlog.event_data.*, event.action).
    ///
    /// Examples:
    ///   spoor convert --from kql --to sql 'AWSCloudTrail | where EventName == "StopLogging" | count'
    ///   spoor convert --from cwl --to kql -f hunt.cwl
    ///   spoor convert --from sigma --to spl -f proc_creation_win_whoami_all_execution.yml
    #[command(verbatim_doc_comment)]
    Convert(ConvertArgs),
    /// The MITRE ATT&CK table spoor names techniques and tactics with.
    ///
    /// Examples:
    ///   spoor attack show T1562.008
    ///   spoor attack update enterprise-attack.json
    #[command(verbatim_doc_comment)]
    Attack(AttackArgs),
    /// AWS CLI commands answered from local evidence, printed as the AWS CLI prints them.
    ///
    /// Playbooks' `aws cloudtrail lookup-events ...` commands run offline as written, over
    /// CloudTrail logs (`--evidence PATH` or $SPOOR_EVIDENCE), `--query` and `--output`
    /// included; `| jq 'X'` becomes `--jq 'X'`.
    ///
    /// Examples:
    ///   spoor aws cloudtrail lookup-events --evidence ./evidence \
    ///       --lookup-attributes AttributeKey=EventName,AttributeValue=ListBuckets \
    ///       --query 'Events[].{EventId:EventId,EventTime:EventTime,Username:Username}' --output table
    ///   export SPOOR_EVIDENCE=./evidence
    ///   spoor aws cloudtrail lookup-events --lookup-attributes AttributeKey=Username,AttributeValue=mallory \
    ///       --jq '[.Events[].EventName] | unique[]' -r
    #[command(verbatim_doc_comment)]
    Aws(AwsArgs),
}

#[derive(Debug, Args)]
pub struct AwsArgs {
    #[command(subcommand)]
    pub service: AwsService,
}

#[derive(Debug, Subcommand)]
pub enum AwsService {
    /// AWS CloudTrail.
    Cloudtrail {
        #[command(subcommand)]
        command: CloudTrailCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum CloudTrailCommand {
    /// Look up CloudTrail management events by one attribute and a time range, newest first,
    /// answered from the evidence's CloudTrail logs in the shape `aws cloudtrail
    /// lookup-events` prints: {"Events": [{EventId, EventName, ReadOnly, AccessKeyId,
    /// EventTime, EventSource, Username, Resources, CloudTrailEvent}]}.
    ///
    /// Examples:
    ///   spoor aws cloudtrail lookup-events --evidence ./evidence \
    ///       --lookup-attributes AttributeKey=EventName,AttributeValue=StopLogging
    ///   spoor aws cloudtrail lookup-events --evidence ./evidence \
    ///       --lookup-attributes AttributeKey=EventName,AttributeValue=CreateBucket --max-results 10 \
    ///       --query 'Events[?starts_with(Username, `i-`)].{EventId:EventId,Username:Username}' --output table
    ///   spoor aws cloudtrail lookup-events --evidence ./evidence \
    ///       --lookup-attributes AttributeKey=EventName,AttributeValue=ListBuckets \
    ///       --jq '.Events[] | select(.CloudTrailEvent | fromjson | .errorCode == "AccessDenied") | .EventId'
    #[command(verbatim_doc_comment)]
    LookupEvents(LookupEventsArgs),
}

#[derive(Debug, Args)]
pub struct LookupEventsArgs {
    /// The attribute to look up by, as the AWS CLI takes it: AttributeKey=KEY,AttributeValue=VALUE
    /// (or JSON). KEY is EventId, EventName, ReadOnly, Username, ResourceType, ResourceName,
    /// EventSource or AccessKeyId; values compare exactly. LookupEvents takes one.
    #[arg(long = "lookup-attributes", value_name = "ATTRIBUTE", num_args = 1..)]
    pub lookup_attributes: Vec<String>,
    /// Events at or after this time (ISO 8601, e.g. 2023-08-09T07:00:00Z, or epoch seconds).
    #[arg(long, value_name = "TIME")]
    pub start_time: Option<String>,
    /// Events at or before this time.
    #[arg(long, value_name = "TIME")]
    pub end_time: Option<String>,
    /// At most N events, the newest.
    #[arg(long, value_name = "N")]
    pub max_results: Option<usize>,
    /// Only events of this Region (LookupEvents answers for one Region); default: every Region
    /// in the evidence.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// A JMESPath expression over the response, as the AWS CLI's --query.
    #[arg(long, value_name = "JMESPATH", value_parser = crate::filter::jmespath_expression)]
    pub query: Option<String>,
    /// json (indented, the default), table (the AWS CLI's boxed table) or text (tab-separated).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub output: Option<AwsOutput>,
    /// A jq program over the response (after --query), as `aws ... | jq 'X'` would run it;
    /// each value it outputs is printed as compact JSON on its own line.
    #[arg(
        long,
        value_name = "EXPR",
        value_parser = crate::filter::jq_expression,
        conflicts_with = "output"
    )]
    pub jq: Option<String>,
    /// With --jq: print strings without quotes (jq's -r).
    #[arg(short = 'r', long, requires = "jq")]
    pub raw_output: bool,
    /// CloudTrail evidence: files or folders. Repeatable. Default: $SPOOR_EVIDENCE (paths
    /// separated as in PATH).
    #[arg(long, value_name = "PATH")]
    pub evidence: Vec<PathBuf>,
    /// Hide the progress indicator.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// The AWS CLI's `--output` formats spoor prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AwsOutput {
    Json,
    Table,
    Text,
}

#[derive(Debug, Args)]
pub struct HuntArgs {
    /// Evidence files or folders.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// More detection rules: YAML files or folders of the pack's format. Repeatable.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Leave the built-in pack out (run only --rules and --sigma).
    #[arg(long)]
    pub no_builtin: bool,
    /// Sigma rules to run as well: files or folders (SigmaHQ's rules load as they are).
    /// Repeatable.
    #[arg(long = "sigma", value_name = "DIR")]
    pub sigma: Vec<PathBuf>,
    #[command(flatten)]
    pub sigma_options: SigmaOptions,
    /// A tuning file of exclusions per rule (YAML: `exclusions: [{rule, reason, where}]`).
    /// Repeatable.
    #[arg(long = "tuning", value_name = "FILE")]
    pub tuning: Vec<PathBuf>,
    /// A value for a rule parameter, e.g. --param IP=203.0.113.7 (every rule that declares
    /// the name takes it). Repeatable.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Pin `now` (ISO 8601): rules that look back (`ago(1d)`) measure from it. Evidence is
    /// usually old; the default is the latest event's time.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// `table` prints the summary for people; `json` one finding per line: {"rule_id",
    /// "title", "severity", "score", "tactics", "techniques", "hits", "first", "last", "sample"}.
    #[arg(long, value_enum, default_value_t = TablesFormat::Table)]
    pub format: TablesFormat,
    /// Rows shown per finding (the count is always given).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub sample: usize,
    /// Leave out findings below this severity.
    #[arg(long, value_name = "LEVEL", value_parser = ["informational", "low", "medium", "high", "critical"])]
    pub min_severity: Option<String>,
    /// Write every hit, in time order, to this CSV file (a forensic timeline).
    #[arg(long, value_name = "FILE")]
    pub timeline: Option<PathBuf>,
    /// Write a self-contained HTML report to this file.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Write an ATT&CK Navigator layer of the techniques found to this file.
    #[arg(long = "attack-layer", value_name = "FILE")]
    pub attack_layer: Option<PathBuf>,
    /// Read every file as this log format instead of recognising it by its content.
    #[arg(long = "source-format", value_name = "NAME")]
    pub source_format: Option<String>,
    /// Do not keep decoded tables in memory: each rule reads the evidence again (slower, for
    /// evidence larger than memory).
    #[arg(long)]
    pub no_cache: bool,
    /// Hide the progress indicator.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub command: RulesCommand,
}

/// Where rules come from: the built-in pack and more folders.
#[derive(Debug, Args, Default)]
pub struct PackOptions {
    /// More rules: YAML files or folders of the pack's format. Repeatable.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Leave the built-in pack out.
    #[arg(long)]
    pub no_builtin: bool,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the rules: id, severity, techniques, tables, title.
    List {
        #[command(flatten)]
        pack: PackOptions,
        /// `table` for people; `json` one rule per line.
        #[arg(long, value_enum, default_value_t = TablesFormat::Table)]
        format: TablesFormat,
    },
    /// Show one rule: its file, with the ATT&CK names of its techniques.
    Show {
        /// The rule's id.
        id: String,
        #[command(flatten)]
        pack: PackOptions,
    },
    /// Check rules beyond their YAML shape: ATT&CK ids, tables, that queries plan, tests.
    ///
    /// With no path, the built-in pack is checked.
    Lint {
        /// Rule files or folders (default: the built-in pack).
        paths: Vec<PathBuf>,
    },
    /// Write rules in another language, one after the other, each after a comment line with
    /// its id. A rule the target cannot express is reported with the part it cannot write.
    ///
    /// Targets: sql, kql, athena, cwl, spl, sumo, esql. A Sigma block is written once per
    /// table.
    ///   spoor rules export --to sql
    ///   spoor rules export --to kql aws-cloudtrail-stop-logging
    ///   spoor rules export --to spl windows-security-log-cleared
    #[command(verbatim_doc_comment)]
    Export {
        /// The language to write (sql, kql, athena, cwl, spl, sumo, esql).
        #[arg(long, value_name = "LANG")]
        to: String,
        /// Only these rules (ids); default: all.
        ids: Vec<String>,
        #[command(flatten)]
        pack: PackOptions,
    },
    /// Run every rule's tests and print a pass/fail table.
    Test {
        /// Only these rules (ids); default: all.
        ids: Vec<String>,
        #[command(flatten)]
        pack: PackOptions,
    },
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The query (or use -f).
    pub query: Option<String>,
    /// Read the query from a file (`-` for standard input).
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        conflicts_with = "query"
    )]
    pub file: Option<PathBuf>,
    /// The language the query is written in.
    #[arg(long, value_enum, default_value_t = Lang::Kql)]
    pub from: Lang,
    /// The language to write: sql, kql, athena, cwl, spl, sumo or esql. Each platform's names
    /// are used: Athena's and Logs Insights' CloudTrail and flow log fields for AWSCloudTrail
    /// and AWSVPCFlow, the add-ons' sourcetypes in SPL, ECS fields in ES|QL.
    #[arg(long, value_name = "LANG")]
    pub to: String,
    /// Sigma: the table to write the rule for, when its log source maps to several (the
    /// first by default; the others are named on standard error).
    #[arg(long, value_name = "TABLE")]
    pub table: Option<String>,
    /// SPL: a file of search macros (see `spoor query --help`). Repeatable.
    #[arg(long = "macros", value_name = "FILE")]
    pub macros: Vec<PathBuf>,
    /// CloudWatch Logs Insights: the log group the query reads (`cloudtrail`, `vpcflow`),
    /// repeatable. Without it a query reads every log group, a union only SQL writes.
    #[arg(long = "log-group", value_name = "NAME")]
    pub log_groups: Vec<String>,
}

#[derive(Debug, Args)]
pub struct AttackArgs {
    #[command(subcommand)]
    pub command: AttackCommand,
}

#[derive(Debug, Subcommand)]
pub enum AttackCommand {
    /// Rebuild the ATT&CK table from a STIX catalog: a bundle file (enterprise-attack.json) or
    /// a folder of bundles. Written where spoor reads it before its built-in table.
    Update {
        /// The STIX bundle file or folder.
        source: PathBuf,
        /// Write the table here instead (the project's script writes the built-in table).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Show a technique or tactic (or, with no id, the tactics and the table's source).
    Show { id: Option<String> },
}

#[derive(Debug, Args)]
pub struct SourcesArgs {
    /// `table` for people; `json` prints one {"name", "tables", "description"} per line.
    #[arg(long, value_enum, default_value_t = TablesFormat::Table)]
    pub format: TablesFormat,
}

/// The query languages spoor reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// Kusto Query Language, as in Microsoft Sentinel and Azure Data Explorer.
    Kql,
    /// SQL as Amazon Athena writes it (DataFusion's SQL, Athena's table names such as
    /// vpc_flow_logs and cloudtrail, names matched ignoring case, GROUP BY DISTINCT); read-only.
    #[value(alias = "athena")]
    Sql,
    /// CloudWatch Logs Insights, over CloudTrail, VPC flow logs and exported CloudWatch Logs
    /// events (choose with --log-group).
    #[value(alias = "cloudwatch")]
    Cwl,
    /// Splunk SPL, over the sourcetypes spoor maps onto its tables (aws:cloudtrail,
    /// XmlWinEventLog, mscs:storage:blob:json); macros come from --macros.
    #[value(alias = "splunk")]
    Spl,
    /// Sumo Logic searches, over Sysmon, Windows Security and other Windows events (the scope's
    /// _sourceCategory chooses the tables).
    #[value(alias = "sumologic")]
    Sumo,
    /// Elastic ES|QL, over the data streams spoor maps onto its tables
    /// (logs-windows.sysmon_operational-*, logs-system.security-*, logs-aws.cloudtrail-*) with
    /// their ECS field names.
    #[value(alias = "elastic")]
    Esql,
    /// Sigma rules (YAML): every rule of the file runs on the tables its log source maps to.
    Sigma,
}

/// Options of the Sigma front-end.
#[derive(Debug, Args, Default)]
pub struct SigmaOptions {
    /// Sigma: a mapping of log sources to tables and of field names to columns, asked before
    /// spoor's own (same YAML shape as crates/sigma/mappings/logsources.yml). Repeatable.
    #[arg(long = "sigma-mapping", value_name = "FILE")]
    pub mappings: Vec<PathBuf>,
    /// Sigma: values for the `%name%` placeholders of the `expand` modifier, as YAML
    /// `name: [value, ...]`. A rule whose placeholders have no values does not load.
    #[arg(long = "sigma-placeholders", value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The query text (omit it when using -f), then the evidence files or folders.
    #[arg(value_name = "QUERY|PATH", required = true)]
    pub args: Vec<String>,
    /// Read the query from a file (`-` for standard input).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// A folder of workspace functions: each `NAME.kql` holds a query, or `(params) { body }`,
    /// that queries call as `NAME` (saved functions, ASIM and vendor parsers). Repeatable.
    #[arg(long, value_name = "DIR")]
    pub functions: Vec<PathBuf>,
    /// A folder of watchlists: each `ALIAS.csv` (with a header line) is read by
    /// `_GetWatchlist('ALIAS')`. Repeatable.
    #[arg(long, value_name = "DIR")]
    pub watchlists: Vec<PathBuf>,
    /// The query language.
    #[arg(long, value_enum, default_value_t = Lang::Kql)]
    pub lang: Lang,
    #[command(flatten)]
    pub sigma: SigmaOptions,
    /// CloudWatch Logs Insights: the log group to query, repeatable: `cloudtrail`, `vpcflow`,
    /// or the name of a log group in exported CloudWatch Logs events (its @log). By default
    /// every log group the evidence has.
    #[arg(long = "log-group", value_name = "NAME")]
    pub log_groups: Vec<String>,
    /// SPL: a file of search macros, Splunk's macros.conf or security_content YAML
    /// (examples/splunk/macros.conf defines the seed's). Repeatable; later files win.
    #[arg(long = "macros", value_name = "FILE")]
    pub macros: Vec<PathBuf>,
    /// Pin the query's `now` (ISO 8601, e.g. 2023-08-10T00:00:00Z): `ago(1d)` is measured from
    /// it. Evidence is usually old; the default is the current time.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// Bind a name before the query runs, as `let NAME = VALUE;` would: numbers and true/false
    /// stay as they are, KQL literals (`datetime(...)`, `dynamic([...])`, `"quoted"`) are
    /// used as written, anything else is a string. Repeatable.
    ///   spoor query --param IP=203.0.113.7 'DeviceNetworkEvents | where RemoteIP == IP' ./evidence
    #[arg(long = "param", value_name = "NAME=VALUE", verbatim_doc_comment)]
    pub params: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(flatten)]
    pub filter: crate::filter::FilterArgs,
    /// Read the URL that a query's `externaldata` names from a local file instead (spoor never
    /// downloads). Repeat for several URLs.
    #[arg(long = "externaldata-map", value_name = "URL=PATH")]
    pub externaldata_map: Vec<String>,
    /// A folder of local copies for `externaldata`: a URL is read from the file of the same
    /// name (its last path segment) when no --externaldata-map names it. Repeatable.
    #[arg(long = "externaldata-dir", value_name = "DIR")]
    pub externaldata_dir: Vec<PathBuf>,
    /// Read every file as this log format instead of recognising it by its content
    /// (`spoor sources` lists the names); what does not decode is reported as bad records.
    #[arg(long = "source-format", value_name = "NAME")]
    pub source_format: Option<String>,
    /// Hide the progress indicator.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for the terminal.
    Table,
    /// JSON lines: one object per row.
    Json,
    /// CSV with a header row.
    Csv,
}

impl From<Format> for spoor_output::OutputFormat {
    fn from(f: Format) -> Self {
        match f {
            Format::Table => spoor_output::OutputFormat::Table,
            Format::Json => spoor_output::OutputFormat::Json,
            Format::Csv => spoor_output::OutputFormat::Csv,
        }
    }
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The query text (or use -f / --jsonl); with `--lang sigma`, rule files and folders.
    #[arg(value_name = "QUERY|PATH")]
    pub query: Vec<String>,
    /// Read the query from a file (`-` for standard input).
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        conflicts_with = "jsonl"
    )]
    pub file: Option<PathBuf>,
    /// Check one query per line of a JSON lines file, each `{"query": "..."}` (other keys are
    /// ignored), e.g. a whole content repository.
    #[arg(long, value_name = "FILE")]
    pub jsonl: Option<PathBuf>,
    /// A folder of workspace functions: each `NAME.kql` holds a query, or `(params) { body }`,
    /// that queries call as `NAME` (saved functions, ASIM and vendor parsers). Repeatable.
    #[arg(long, value_name = "DIR")]
    pub functions: Vec<PathBuf>,
    /// A folder of watchlists: each `ALIAS.csv` (with a header line) is read by
    /// `_GetWatchlist('ALIAS')`. Repeatable.
    #[arg(long, value_name = "DIR")]
    pub watchlists: Vec<PathBuf>,
    /// The query language.
    #[arg(long, value_enum, default_value_t = Lang::Kql)]
    pub lang: Lang,
    #[command(flatten)]
    pub sigma: SigmaOptions,
    /// CloudWatch Logs Insights: the log group to check against (see `spoor query --help`).
    #[arg(long = "log-group", value_name = "NAME")]
    pub log_groups: Vec<String>,
    /// SPL: a file of search macros (see `spoor query --help`). Repeatable.
    #[arg(long = "macros", value_name = "FILE")]
    pub macros: Vec<PathBuf>,
    /// `text` explains each error; `json` prints one object per query:
    /// {"line", "parsed", "planned", "error"}.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct TablesArgs {
    /// Evidence files or folders.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// `table` for people; `json` prints one object per table:
    /// {"table", "rows", "files", "bad_records", "first", "last"}.
    #[arg(long, value_enum, default_value_t = TablesFormat::Table)]
    pub format: TablesFormat,
    /// Read every file as this log format instead of recognising it by its content
    /// (`spoor sources` lists the names); what does not decode is reported as bad records.
    #[arg(long = "source-format", value_name = "NAME")]
    pub source_format: Option<String>,
    /// List every bad record (file, position, reason), not only the counts.
    #[arg(long)]
    pub bad_records: bool,
    /// List every file that no format recognised (by default the first 10 and a count).
    #[arg(long)]
    pub unclaimed: bool,
    /// Hide the progress indicator.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TablesFormat {
    Table,
    Json,
}
