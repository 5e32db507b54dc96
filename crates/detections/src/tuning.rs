//! Tuning without editing rules: a YAML file of exclusions per rule.
//!
//! ```yaml
//! exclusions:
//!   - rule: aws-cloudtrail-stop-logging       # a pack rule's id or a Sigma rule's id
//!     reason: the nightly trail-rotation job stops and restarts logging
//!     where: UserIdentityArn has ":assumed-role/trail-rotation/"
//! ```
//!
//! `where` is a predicate in the rule's language (KQL for KQL and Sigma rules, SQL for SQL
//! rules) over the rule's result rows; rows it holds for are dropped.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TuningFile {
    #[serde(default)]
    exclusions: Vec<Exclusion>,
}

/// One exclusion.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Exclusion {
    pub rule: String,
    pub reason: String,
    #[serde(rename = "where")]
    pub predicate: String,
}

/// Exclusions by rule id.
#[derive(Debug, Clone, Default)]
pub struct Tuning {
    pub by_rule: BTreeMap<String, Vec<Exclusion>>,
}

impl Tuning {
    /// Reads a tuning file; an error names the file and, for YAML errors, the line.
    pub fn load(path: &Path) -> Result<Tuning, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        Tuning::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Tuning, String> {
        let file: TuningFile = yaml_serde::from_str(text).map_err(|e| match e.location() {
            Some(l) => format!("line {}: {e}", l.line()),
            None => e.to_string(),
        })?;
        let mut tuning = Tuning::default();
        for e in file.exclusions {
            tuning.by_rule.entry(e.rule.clone()).or_default().push(e);
        }
        Ok(tuning)
    }

    /// Adds another file's exclusions.
    pub fn extend(&mut self, other: Tuning) {
        for (rule, list) in other.by_rule {
            self.by_rule.entry(rule).or_default().extend(list);
        }
    }

    /// The predicates to exclude for a rule.
    pub fn predicates(&self, rule_id: &str) -> Vec<String> {
        self.by_rule
            .get(rule_id)
            .map(|l| l.iter().map(|e| e.predicate.clone()).collect())
            .unwrap_or_default()
    }
}
