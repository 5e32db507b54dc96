//! Where Sumo Logic's messages come from in spoor: which catalog table a `_sourceCategory`
//! names, and what a Sumo field name reads in that table.
//!
//! `_sourceCategory` is free text that whoever configures a Sumo Source chooses ("Can be freely
//! configured", built-in-metadata page:
//! https://www.sumologic.com/help/docs/search/get-started-with-search/search-basics/built-in-metadata/).
//! The names below are the conventions Windows Event Log Sources are given in practice: Sumo's
//! Windows apps suggest `OS/Windows/...`, forwarded Splunk-style deployments keep
//! `WinEventLog/<channel>`, and short ones (`windows/security`, `sysmon`) are common. A scope
//! pattern selects every table one of whose names it matches, ignoring case ("Metadata tags are
//! case-insensitive when searching", same page).
//!
//! Field names: Sumo's Windows Event Log Source sends each event as JSON whose fields are the
//! event's own (EventID, Computer, and the EventData names: Image, CommandLine, User,
//! NewProcessName, SubjectUserName...), which are the column names of spoor's `Sysmon` and
//! `SecurityEvent` tables. `WindowsEvent` keeps EventData as a bag, read by name.

use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::{Expr, cast, ident, lit};
use spoor_catalog::catalog;

/// A catalog table as Sumo Logic messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SumoTable {
    /// The catalog table.
    pub table: &'static str,
    /// The `_sourceCategory` (and `_source`) names it is known by; the first is the one its
    /// messages carry.
    pub categories: &'static [&'static str],
    /// Event log channels this table leaves to another table (so that a scope matching both
    /// does not see an event twice).
    pub excluded_channels: &'static [&'static str],
    /// Whether fields that are not columns are read from the `EventData` bag.
    pub event_data_bag: bool,
}

/// The tables spoor reads for Sumo Logic queries, and their source categories.
pub const TABLES: &[SumoTable] = &[
    SumoTable {
        table: "Sysmon",
        categories: &[
            "OS/Windows/Sysmon",
            "Windows/Sysmon",
            "WinEventLog/Microsoft-Windows-Sysmon/Operational",
            "Sysmon",
        ],
        excluded_channels: &[],
        event_data_bag: false,
    },
    SumoTable {
        table: "SecurityEvent",
        categories: &[
            "OS/Windows/Security",
            "Windows/Security",
            "WinEventLog/Security",
        ],
        excluded_channels: &[],
        event_data_bag: false,
    },
    // Every other channel (System, Application, PowerShell...). The WindowsEvent table also
    // holds the Security and Sysmon events, which the two tables above serve.
    SumoTable {
        table: "WindowsEvent",
        categories: &[
            "OS/Windows/Events",
            "Windows/Events",
            "OS/Windows/System",
            "OS/Windows/Application",
            "Windows/System",
            "Windows/Application",
            "WinEventLog/System",
            "WinEventLog/Application",
        ],
        excluded_channels: &["Security", "Microsoft-Windows-Sysmon/Operational"],
        event_data_bag: true,
    },
];

/// The partition every local message is in: `_index` and `_view` name partitions, and Sumo's
/// default one is `sumologic_default` (built-in-metadata page).
pub const DEFAULT_VIEW: &str = "sumologic_default";

/// Sumo field names that read another column, and built-in metadata that spoor derives. Names
/// starting with `_` are built-in metadata and match ignoring case.
const RENAMED: &[(&str, &str)] = &[
    // Not a Sumo built-in; the name Sumo queries (and the seed detections) give the event's
    // time when they sort and show it.
    ("_time", "TimeGenerated"),
    // The Source's host: for a Windows Event Log Source, the computer that logged the event.
    ("_sourceHost", "Computer"),
    // `host` is what Windows queries call the event's computer.
    ("host", "Computer"),
    // "The name of the log file": the event log channel, for a Windows Event Log Source.
    ("_sourceName", "Channel"),
];

/// Built-in metadata spoor has no value for: messages are read from local files.
pub const UNAVAILABLE: &[(&str, &str)] = &[
    (
        "_raw",
        "spoor's Windows tables keep each event's fields, not its raw message text",
    ),
    (
        "_receiptTime",
        "local evidence has no time of receipt; use _messageTime or _time",
    ),
    (
        "_collector",
        "local evidence was not received by a collector",
    ),
    (
        "_messageCount",
        "local evidence has no collector sequence numbers",
    ),
    ("_size", "spoor does not keep the size of each raw message"),
    (
        "_format",
        "spoor does not keep the timestamp format of each message",
    ),
];

impl SumoTable {
    /// Whether one of the table's category names matches `matcher`.
    pub fn has_category(&self, matcher: &dyn Fn(&str) -> bool) -> bool {
        self.categories.iter().any(|c| matcher(c))
    }

    /// What field `name` reads in this table, or `None` when its messages never have it.
    pub fn field(&self, name: &str) -> Option<Expr> {
        let def = catalog().table(self.table)?;
        if name.starts_with('_') {
            let lower = name.to_ascii_lowercase();
            if lower == "_sourcecategory" || lower == "_source" {
                return Some(lit(self.categories[0]));
            }
            if lower == "_index" || lower == "_view" {
                return Some(lit(DEFAULT_VIEW));
            }
            // "The parsed timestamp ... in milliseconds" (built-in-metadata page).
            if lower == "_messagetime" {
                return Some(cast(
                    cast(ident("TimeGenerated"), DataType::Int64) / lit(1_000_000i64),
                    DataType::Int64,
                ));
            }
            if let Some((_, column)) = RENAMED.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
                return Some(ident(*column));
            }
        } else if let Some((_, column)) = RENAMED.iter().find(|(n, _)| *n == name) {
            return Some(ident(*column));
        }
        if def.column(name).is_some() {
            return Some(ident(name));
        }
        if self.event_data_bag && !name.starts_with('_') {
            return Some(crate::plan::spoor_call(
                "kql_json_text",
                vec![ident("EventData"), lit(name.to_string())],
            ));
        }
        None
    }

    /// Whether `name` is read from the EventData bag (text, whatever another table types it).
    pub fn is_bag_field(&self, name: &str) -> bool {
        self.event_data_bag
            && !name.starts_with('_')
            && !RENAMED.iter().any(|(n, _)| *n == name)
            && catalog()
                .table(self.table)
                .is_some_and(|d| d.column(name).is_none())
    }

    /// The column names of the table (for suggestions).
    pub fn column_names(&self) -> Vec<String> {
        catalog()
            .table(self.table)
            .map(|d| d.columns.iter().map(|c| c.name.clone()).collect())
            .unwrap_or_default()
    }
}

/// The built-in metadata name `name` spells, ignoring case (`_sourcecategory`).
pub fn metadata_name(name: &str) -> Option<&'static str> {
    const NAMES: &[&str] = &[
        "_sourceCategory",
        "_source",
        "_sourceHost",
        "_sourceName",
        "_index",
        "_view",
        "_messageTime",
        "_time",
        "_raw",
        "_receiptTime",
        "_collector",
        "_messageCount",
        "_size",
        "_format",
    ];
    NAMES.iter().copied().find(|n| n.eq_ignore_ascii_case(name))
}

/// Every category name, for the error that lists them.
pub fn known_categories() -> Vec<&'static str> {
    TABLES
        .iter()
        .flat_map(|t| t.categories.iter().copied())
        .collect()
}
