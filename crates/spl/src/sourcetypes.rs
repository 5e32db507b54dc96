//! Splunk sourcetypes mapped onto spoor's tables, with the field names Splunk's add-ons give
//! their events. One table of data: adding a sourcetype is adding a row.
//!
//! - `mscs:storage:blob:json`: Azure diagnostic logs that the Microsoft Cloud Services add-on
//!   reads from storage blobs; spoor keeps AKS `kube-audit` records in `KubeAudit`, and the raw
//!   event is the diagnostic record (`time`, `category`, `properties.log` holding the audit
//!   event as JSON text), as Splunk security_content's Kubernetes searches read it.
//! - `aws:cloudtrail`: CloudTrail events with CloudTrail's field names (the AWS add-on).
//! - `XmlWinEventLog` / `WinEventLog` with source `...:Microsoft-Windows-Sysmon/Operational`
//!   (Sysmon's field names; `EventCode` is the event id, `host` the computer) or
//!   `...:Security` (Windows Security events).

use datafusion::logical_expr::{Expr, lit};
use spoor_catalog::{KqlType, catalog};
use spoor_events::{field, record_json, spoor};

/// How a sourcetype's events are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The raw event is JSON and every field is a path into it.
    AksDiagnostics,
    /// Columns by name, dotted paths into JSON columns.
    Columns,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sourcetype {
    pub sourcetype: &'static str,
    /// The `source` of its events.
    pub source: &'static str,
    pub table: &'static str,
    pub shape: Shape,
    /// The column `host` is.
    pub host: Option<&'static str>,
}

pub const SOURCETYPES: &[Sourcetype] = &[
    Sourcetype {
        sourcetype: "mscs:storage:blob:json",
        source: "insights-logs-kube-audit",
        table: "KubeAudit",
        shape: Shape::AksDiagnostics,
        host: None,
    },
    Sourcetype {
        sourcetype: "aws:cloudtrail",
        source: "aws_cloudtrail",
        table: "cloudtrail",
        shape: Shape::Columns,
        host: None,
    },
    Sourcetype {
        sourcetype: "XmlWinEventLog",
        source: "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational",
        table: "Sysmon",
        shape: Shape::Columns,
        host: Some("Computer"),
    },
    Sourcetype {
        sourcetype: "XmlWinEventLog",
        source: "XmlWinEventLog:Security",
        table: "SecurityEvent",
        shape: Shape::Columns,
        host: Some("Computer"),
    },
];

/// Splunk's names for Windows event fields that spoor's tables name otherwise.
const WINDOWS_ALIASES: &[(&str, &str)] = &[
    ("EventCode", "EventID"),
    ("ComputerName", "Computer"),
    ("dest", "Computer"),
];

impl Sourcetype {
    /// Whether `value` (with `*` wildcards, ignoring case) names this sourcetype; Windows event
    /// logs also answer to the classic `WinEventLog` names.
    pub fn matches_sourcetype(&self, value: &str) -> bool {
        wildcard_match(value, self.sourcetype)
            || (self.sourcetype == "XmlWinEventLog"
                && (wildcard_match(value, "WinEventLog")
                    || wildcard_match(
                        value,
                        &self.source.replace("XmlWinEventLog", "WinEventLog"),
                    )
                    || wildcard_match(value, self.source)))
    }

    pub fn matches_source(&self, value: &str) -> bool {
        wildcard_match(value, self.source)
            || wildcard_match(value, &self.source.replace("XmlWinEventLog", "WinEventLog"))
    }

    /// The raw event.
    pub fn raw(&self) -> Expr {
        match self.shape {
            Shape::AksDiagnostics => {
                let audit = record_json(self.table, &["TimeGenerated"]).expect("the table");
                spoor(
                    "kql_bag_pack",
                    vec![
                        lit("time"),
                        spoor(
                            "kql_to_json",
                            vec![spoor_events::df(
                                "to_char",
                                vec![field("TimeGenerated"), lit("%Y-%m-%dT%H:%M:%S%.fZ")],
                            )],
                        ),
                        lit("category"),
                        spoor("kql_to_json", vec![lit("kube-audit")]),
                        lit("properties"),
                        spoor(
                            "kql_bag_pack",
                            vec![lit("log"), spoor("kql_to_json", vec![audit])],
                        ),
                    ],
                )
            }
            Shape::Columns => record_json(self.table, &[]).expect("the table"),
        }
    }

    /// A field of this sourcetype's events, or `None` when they never have it.
    pub fn field(&self, name: &str) -> Option<Expr> {
        match name {
            "_time" => {
                return Some(field("TimeGenerated"))
                    .filter(|_| self.has("TimeGenerated"))
                    .or_else(|| {
                        catalog()
                            .table(self.table)?
                            .time_column()
                            .map(|c| field(&c.name))
                    });
            }
            "_raw" => return Some(self.raw()),
            "sourcetype" => return Some(lit(self.sourcetype)),
            "source" => return Some(lit(self.source)),
            "host" => return self.host.map(field),
            _ => {}
        }
        match self.shape {
            Shape::AksDiagnostics => Some(json_path(self.raw(), name)),
            Shape::Columns => {
                let name = WINDOWS_ALIASES
                    .iter()
                    .find(|(alias, _)| *alias == name && self.host.is_some())
                    .map_or(name, |(_, column)| column);
                let def = catalog().table(self.table)?;
                if def.column(name).is_some() {
                    return Some(field(name));
                }
                let (head, rest) = name.split_once('.')?;
                let column = def.column(head.trim_end_matches("{}"))?;
                (column.ty == KqlType::Dynamic).then(|| json_path(field(&column.name), rest))
            }
        }
    }

    fn has(&self, column: &str) -> bool {
        catalog()
            .table(self.table)
            .is_some_and(|t| t.column(column).is_some())
    }
}

/// The value at a Splunk field path (`a.b.c`, `a{}` for the whole array) in JSON text: text for
/// a scalar, JSON for an object or array.
pub fn json_path(json: Expr, path: &str) -> Expr {
    let whole_array = path.ends_with("{}");
    let mut args = vec![json];
    args.extend(
        path.trim_end_matches("{}")
            .split('.')
            .map(|k| lit(k.to_string())),
    );
    if whole_array {
        spoor("kql_json_get", args)
    } else {
        spoor("kql_json_text", args)
    }
}

/// Splunk's wildcard match of `pattern` (with `*`) against `value`, ignoring case.
pub fn wildcard_match(pattern: &str, value: &str) -> bool {
    let re = format!(
        "(?i)^{}$",
        pattern
            .split('*')
            .map(regex::escape)
            .collect::<Vec<_>>()
            .join(".*")
    );
    regex::Regex::new(&re).is_ok_and(|r| r.is_match(value))
}
