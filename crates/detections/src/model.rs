//! A detection as written in the pack: one YAML file per rule (`rules/` in the project).
//!
//! Unknown keys are errors (a misspelt `severty:` must not silently drop the severity), and
//! every error carries the file and, for YAML errors, the line and column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One detection.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Detection {
    /// Stable id, lower-case words joined by dashes: `aws-cloudtrail-stop-logging`.
    pub id: String,
    pub title: String,
    pub description: String,
    /// ATT&CK techniques and sub-techniques (`T1562.008`); tactics come from the ATT&CK
    /// table unless `tactics` narrows them.
    #[serde(default)]
    pub techniques: Vec<String>,
    /// Tactics (short names as in ATT&CK: `defense-evasion`), when the rule claims fewer
    /// than its techniques have.
    #[serde(default)]
    pub tactics: Vec<String>,
    pub severity: Severity,
    pub confidence: Level,
    /// Where the events come from, in words: `AWS CloudTrail management events`.
    #[serde(default)]
    pub data_sources: Vec<String>,
    /// The catalog tables the query reads.
    pub tables: Vec<String>,
    pub query: Query,
    #[serde(default)]
    pub parameters: Vec<Parameter>,
    #[serde(default)]
    pub false_positives: Vec<FalsePositive>,
    #[serde(default)]
    pub tests: Vec<TestCase>,
    /// Adversary behaviours that exercise the rule (Atomic Red Team tests, Stratus Red Team
    /// techniques, manual steps), each with the telemetry it should produce.
    #[serde(default)]
    pub validation: Vec<Validation>,
    pub risk: Risk,
    #[serde(default)]
    pub references: Vec<String>,
    /// Ids of related detections in the pack.
    #[serde(default)]
    pub related: Vec<String>,
    #[serde(default)]
    pub investigation: Vec<String>,
    #[serde(default)]
    pub response: Vec<String>,
    /// The seed hunts the rule answers (`cloud_threat_hunting: View StopLogging Activity`).
    #[serde(default)]
    pub covers: Vec<String>,
}

/// How bad a finding is, lowest first (the order findings sort by).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Sigma's `level` (the same five words).
    pub fn from_sigma(level: Option<&str>) -> Severity {
        match level.map(str::to_ascii_lowercase).as_deref() {
            Some("critical") => Severity::Critical,
            Some("high") => Severity::High,
            Some("medium") => Severity::Medium,
            Some("low") => Severity::Low,
            _ => Severity::Informational,
        }
    }

    /// The score a rule without a risk score gets (Sigma rules): the middle of its band.
    pub fn default_score(self) -> u32 {
        match self {
            Severity::Informational => 10,
            Severity::Low => 30,
            Severity::Medium => 50,
            Severity::High => 70,
            Severity::Critical => 90,
        }
    }
}

/// Low, medium or high (confidence, impact).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Low,
    Medium,
    High,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
        }
    }
}

/// The query: its language and text (KQL or SQL), or a Sigma detection block.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    pub language: Language,
    /// KQL or SQL text.
    #[serde(default)]
    pub text: Option<String>,
    /// Sigma: the `logsource` and `detection` of a Sigma rule.
    #[serde(default)]
    pub logsource: Option<yaml_serde::Value>,
    #[serde(default)]
    pub detection: Option<yaml_serde::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Kql,
    Sql,
    Sigma,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Kql => "kql",
            Language::Sql => "sql",
            Language::Sigma => "sigma",
        }
    }
}

/// A value the hunter supplies (`--param IP=10.0.0.5`), with its default.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    pub name: String,
    #[serde(rename = "type", default)]
    pub kind: ParameterType,
    pub default: yaml_serde::Value,
    #[serde(default)]
    pub description: String,
}

/// A parameter's type: how its value is written into the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParameterType {
    #[default]
    String,
    Long,
    Real,
    Bool,
    Datetime,
    Timespan,
    /// A list of strings (`dynamic([...])` in KQL).
    List,
}

/// A benign cause of hits, and the exclusion that tunes it out.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FalsePositive {
    pub description: String,
    /// A predicate over the rule's result rows, in the rule's language (KQL for KQL and
    /// Sigma rules, SQL for SQL rules); rows it holds for are dropped when the tuning is on.
    #[serde(default)]
    pub tuning: Option<String>,
}

/// A rule test: events, and how many result rows the rule must give on them.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    pub name: String,
    /// Rows of `table`, as objects of column values (JSON-like YAML).
    #[serde(default)]
    pub table: Option<String>,
    #[serde(default)]
    pub rows: Vec<BTreeMap<String, yaml_serde::Value>>,
    /// Raw log text in any format spoor reads (CloudTrail JSON, VPC flow lines, syslog...),
    /// recognised by its content.
    #[serde(default)]
    pub evidence: Option<String>,
    /// The file name the evidence is written under (some formats are recognised by name).
    #[serde(default)]
    pub file_name: Option<String>,
    /// Parameter values for this test.
    #[serde(default)]
    pub params: BTreeMap<String, yaml_serde::Value>,
    /// `now` for the test (ISO 8601); default: the latest event's time plus one hour.
    #[serde(default)]
    pub now: Option<String>,
    /// The number of result rows: 0 for events that must not match.
    pub hits: usize,
    /// Values that result rows must hold: each object is matched by at least one row
    /// (columns compared as text).
    #[serde(default)]
    pub expect: Vec<BTreeMap<String, yaml_serde::Value>>,
}

/// An adversary behaviour that should make the rule fire.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Validation {
    /// What to run: `Stratus Red Team aws.defense-evasion.cloudtrail-stop`, an Atomic Red
    /// Team test, or manual steps.
    pub procedure: String,
    /// The telemetry it produces, which the rule reads.
    pub telemetry: String,
}

/// Risk-based alerting: the score a finding adds to its entity's risk, with impact and
/// confidence.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Risk {
    /// 0 to 100.
    pub score: u32,
    pub impact: Level,
    /// Defaults to the rule's confidence.
    #[serde(default)]
    pub confidence: Option<Level>,
}

/// A detection read from its file.
#[derive(Debug, Clone)]
pub struct PackRule {
    pub path: PathBuf,
    pub detection: Detection,
}

/// A file of the pack that is not a valid detection.
#[derive(Debug, Clone, PartialEq)]
pub struct PackError {
    pub path: PathBuf,
    /// 1-based line and column when the YAML reader knows them.
    pub position: Option<(usize, usize)>,
    /// The field at fault (`tests[1].hits`), when the check knows it.
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for PackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some((line, col)) = self.position {
            write!(f, ":{line}:{col}")?;
        }
        write!(f, ": ")?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        write!(f, "{}", self.message)
    }
}

/// Parses one detection file's text.
pub fn parse_detection(path: &Path, text: &str) -> Result<Detection, PackError> {
    yaml_serde::from_str::<Detection>(text).map_err(|e| PackError {
        path: path.to_path_buf(),
        position: e.location().map(|l| (l.line(), l.column())),
        field: None,
        message: e.to_string(),
    })
}

/// Reads every `.yml`/`.yaml` file under `paths` (files or folders, recursively, in name
/// order), except notes (names starting with `_`). A file that does not parse is an error;
/// the others still load.
pub fn load_pack(paths: &[PathBuf]) -> (Vec<PackRule>, Vec<PackError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        collect_yaml(p, &mut files, &mut errors);
    }
    let mut rules = Vec::new();
    for path in files {
        match std::fs::read_to_string(&path) {
            Ok(text) => match parse_detection(&path, &text) {
                Ok(detection) => rules.push(PackRule { path, detection }),
                Err(e) => errors.push(e),
            },
            Err(e) => errors.push(PackError {
                path,
                position: None,
                field: None,
                message: format!("cannot read: {e}"),
            }),
        }
    }
    (rules, errors)
}

fn collect_yaml(path: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<PackError>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = match std::fs::read_dir(path) {
            Ok(rd) => rd.filter_map(Result::ok).map(|e| e.path()).collect(),
            Err(e) => {
                errors.push(PackError {
                    path: path.to_path_buf(),
                    position: None,
                    field: None,
                    message: format!("cannot read the folder: {e}"),
                });
                return;
            }
        };
        entries.sort();
        for e in entries {
            collect_yaml(&e, files, errors);
        }
    } else if path.is_file() {
        let note = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('_'));
        if !note && path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            files.push(path.to_path_buf());
        }
    } else {
        errors.push(PackError {
            path: path.to_path_buf(),
            position: None,
            field: None,
            message: "no such file or folder".into(),
        });
    }
}
