//! Elastic data streams mapped onto spoor's tables, with the field names Elastic's integrations
//! give their events. One table of data, read in both directions: the ES|QL front-end reads an
//! ECS field as the column(s) it comes from, and the ES|QL writer (crates/export) writes a
//! column as its ECS field.
//!
//! - `logs-windows.sysmon_operational-*`: Sysmon events as the Windows integration's ingest
//!   pipeline leaves them (elastic/beats x-pack/winlogbeat/module/sysmon/ingest/sysmon.yml,
//!   which the integration shares): the fields it renames to ECS (`Image` is
//!   `process.executable`, `TargetObject` is `registry.path`; the names pySigma's `ecs_windows`
//!   pipeline also uses) under those names, and the EventData fields it keeps (copies such as
//!   `Company`, and the fields it does not touch) as `winlog.event_data.<Name>`. Several Sysmon
//!   fields share one ECS field (`TargetFilename` and `ImageLoaded` are both `file.path`); the
//!   event id tells them apart, and reading `file.path` reads whichever the event has. Values
//!   the pipeline rewrites are written back where it can be said: `User` is split into
//!   `user.domain` and `user.name`, `Initiated` is `network.direction` ("egress"/"ingress"),
//!   `OriginalFileName` is `process.pe.` or, for image loads, `file.pe.original_file_name`.
//!   Note that the pipeline drops EventData values that are empty or `-`.
//! - `logs-system.security-*`: Windows Security events (the System integration). Elastic's
//!   ECS fields there depend on the event id (`user.name` is the subject in one event and the
//!   target in another), so EventData fields are written as `winlog.event_data.<Name>`, which
//!   the integration keeps as logged.
//! - `logs-aws.cloudtrail-*`: CloudTrail events (the AWS integration; Filebeat's "AWS fields"
//!   reference): `eventName` is `event.action`, `userIdentity.arn` is
//!   `aws.cloudtrail.user_identity.arn`.
//!
//! Fields whose values Elastic rewrites beyond recovery (Sysmon's `Hashes` split into
//! `process.hash.*`, `Details` as `registry.data.strings`) and columns that Log Analytics
//! computes (`Activity`, `Account`) have no ES|QL field: writing them is an error that names
//! them, and the reader does not offer them.

use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::{Expr, cast, lit};
use spoor_catalog::catalog;
use spoor_events::{df, field};

/// How a column's values are held in its ECS field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    /// The same values.
    Same,
    /// A number held as text (ECS `event.code` is a keyword: "1" for Sysmon's event 1).
    NumberAsText,
    /// An address held in an `ip` field (spoor's column is its text).
    Ip,
    /// `true`/`false` text held as a boolean (Sysmon's `Archived`).
    BoolAsText,
    /// Held in this field or, for some events, in another (`OriginalFileName` is
    /// `file.pe.original_file_name` in image loads).
    Or(&'static str),
    /// `DOMAIN\user` held as `user.name` and `user.domain` (only when it has one backslash).
    UserName,
    /// The domain part of `DOMAIN\user` (read only; the column is written as its name's).
    UserDomain,
    /// `true`/`false` held as `network.direction` "egress"/"ingress".
    Direction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EcsField {
    pub ecs: &'static str,
    pub column: &'static str,
    pub conversion: Conversion,
}

const fn same(ecs: &'static str, column: &'static str) -> EcsField {
    converted(ecs, column, Conversion::Same)
}

const fn converted(ecs: &'static str, column: &'static str, conversion: Conversion) -> EcsField {
    EcsField {
        ecs,
        column,
        conversion,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataStream {
    /// The data stream's index pattern, as `FROM` names it.
    pub pattern: &'static str,
    pub table: &'static str,
    /// Columns with an ECS name, in writing preference (the first entry of a column is how it
    /// is written).
    pub fields: &'static [EcsField],
    /// Where the other columns are, by their own names (`winlog.event_data.`), if anywhere.
    pub prefix: Option<&'static str>,
    /// A column holding a bag of fields (spoor's `EventData`) and where its fields are
    /// (`winlog.event_data.`).
    pub bag: Option<(&'static str, &'static str)>,
    /// Columns with no ES|QL field, each with why.
    pub without: &'static [(&'static str, &'static str)],
}

const WINLOG_SYSTEM: [EcsField; 5] = [
    same("@timestamp", "TimeGenerated"),
    converted("event.code", "EventID", Conversion::NumberAsText),
    same("winlog.computer_name", "Computer"),
    same("winlog.channel", "Channel"),
    same("winlog.provider_name", "Provider"),
];

const SYSMON_FIELDS: &[EcsField] = &[
    WINLOG_SYSTEM[0],
    WINLOG_SYSTEM[1],
    WINLOG_SYSTEM[2],
    WINLOG_SYSTEM[3],
    WINLOG_SYSTEM[4],
    converted(
        "winlog.record_id",
        "EventRecordID",
        Conversion::NumberAsText,
    ),
    same("process.executable", "Image"),
    same("process.command_line", "CommandLine"),
    same("process.entity_id", "ProcessGuid"),
    same("process.pid", "ProcessId"),
    same("process.working_directory", "CurrentDirectory"),
    same("process.parent.entity_id", "ParentProcessGuid"),
    same("process.parent.pid", "ParentProcessId"),
    same("process.parent.executable", "ParentImage"),
    same("process.parent.command_line", "ParentCommandLine"),
    converted(
        "process.pe.original_file_name",
        "OriginalFileName",
        Conversion::Or("file.pe.original_file_name"),
    ),
    same("file.pe.original_file_name", "OriginalFileName"),
    converted("user.name", "User", Conversion::UserName),
    converted("user.domain", "User", Conversion::UserDomain),
    converted("network.direction", "Initiated", Conversion::Direction),
    same("rule.name", "RuleName"),
    same("process.executable", "Destination"),
    same("file.path", "TargetFilename"),
    same("file.path", "ImageLoaded"),
    same("file.path", "Device"),
    same("file.code_signature.subject_name", "Signature"),
    same("file.code_signature.status", "SignatureStatus"),
    converted("source.ip", "SourceIp", Conversion::Ip),
    same("source.domain", "SourceHostname"),
    same("source.port", "SourcePort"),
    converted("destination.ip", "DestinationIp", Conversion::Ip),
    same("destination.domain", "DestinationHostname"),
    same("destination.port", "DestinationPort"),
    same("network.transport", "Protocol"),
    same("network.protocol", "DestinationPortName"),
    same("process.entity_id", "SourceProcessGuid"),
    same("process.pid", "SourceProcessId"),
    same("process.executable", "SourceImage"),
    same("process.thread.id", "SourceThreadId"),
    same("registry.path", "TargetObject"),
    same("file.name", "PipeName"),
    same("dns.question.name", "QueryName"),
    converted(
        "sysmon.file.is_executable",
        "IsExecutable",
        Conversion::BoolAsText,
    ),
    converted("sysmon.file.archived", "Archived", Conversion::BoolAsText),
];

/// Event metadata that the Windows integrations hold as names, not as logged.
const WINLOG_WITHOUT: [(&str, &str); 5] = [
    ("Level", "Elastic holds the level's name in log.level"),
    ("Task", "Elastic holds the task's name in winlog.task"),
    (
        "Keywords",
        "Elastic holds the keywords' names in winlog.keywords",
    ),
    ("Opcode", "Elastic holds the opcode's name in winlog.opcode"),
    (
        "EventData",
        "spoor's bag of every EventData field; name the field instead",
    ),
];

pub const DATA_STREAMS: &[DataStream] = &[
    DataStream {
        pattern: "logs-windows.sysmon_operational-*",
        table: "Sysmon",
        fields: SYSMON_FIELDS,
        prefix: Some("winlog.event_data."),
        bag: None,
        without: &[
            WINLOG_WITHOUT[0],
            WINLOG_WITHOUT[1],
            WINLOG_WITHOUT[2],
            WINLOG_WITHOUT[3],
            WINLOG_WITHOUT[4],
            ("UtcTime", "Elastic takes it as @timestamp"),
            (
                "Hashes",
                "Elastic splits it into process.hash.* and file.hash.*",
            ),
            (
                "Details",
                "Elastic rewrites it as registry.data.strings, DWORD values in decimal",
            ),
            ("QueryResults", "Elastic parses it into dns.answers"),
            (
                "QueryStatus",
                "Elastic holds the status's name in sysmon.dns.status",
            ),
            (
                "SourceIsIpv6",
                "Elastic holds one of the two as network.type",
            ),
            (
                "DestinationIsIpv6",
                "Elastic holds one of the two as network.type",
            ),
            (
                "SourcePortName",
                "Elastic keeps one port name, in network.protocol",
            ),
        ],
    },
    DataStream {
        pattern: "logs-system.security-*",
        table: "SecurityEvent",
        // No Provider column: Log Analytics' table names the provider in EventSourceName.
        fields: &[
            WINLOG_SYSTEM[0],
            WINLOG_SYSTEM[1],
            WINLOG_SYSTEM[2],
            WINLOG_SYSTEM[3],
            same("winlog.record_id", "EventRecordId"),
        ],
        prefix: Some("winlog.event_data."),
        bag: None,
        without: &[
            WINLOG_WITHOUT[0],
            WINLOG_WITHOUT[1],
            WINLOG_WITHOUT[2],
            WINLOG_WITHOUT[3],
            WINLOG_WITHOUT[4],
            ("Account", "Log Analytics computes it (DOMAIN\\user)"),
            ("AccountType", "Log Analytics computes it"),
            ("Activity", "Log Analytics computes it (id and description)"),
            ("EventSourceName", "Log Analytics computes it"),
            ("EventLevelName", "Log Analytics computes it"),
            ("LogonTypeName", "Log Analytics computes it"),
            (
                "Process",
                "Log Analytics computes it (the executable's name)",
            ),
            ("SubjectAccount", "Log Analytics computes it (DOMAIN\\user)"),
            ("TargetAccount", "Log Analytics computes it (DOMAIN\\user)"),
            ("TargetUser", "Log Analytics computes it"),
            ("FilePathNoUser", "Log Analytics computes it"),
            ("Fqbn", "Log Analytics computes it"),
            (
                "FullyQualifiedSubjectMachineName",
                "Log Analytics computes it",
            ),
            ("FullyQualifiedSubjectUserName", "Log Analytics computes it"),
            ("EventOriginId", "Log Analytics computes it"),
            ("SourceComputerId", "Log Analytics computes it"),
            ("ManagementGroupName", "Log Analytics computes it"),
            ("AzureDeploymentID", "Log Analytics computes it"),
            ("SourceSystem", "Log Analytics computes it"),
            ("TenantId", "Log Analytics computes it"),
            ("Type", "Log Analytics computes it"),
            ("_ResourceId", "Log Analytics computes it"),
            ("_SubscriptionId", "Log Analytics computes it"),
            ("_BilledSize", "Log Analytics computes it"),
            ("_IsBillable", "Log Analytics computes it"),
        ],
    },
    DataStream {
        pattern: "logs-aws.cloudtrail-*",
        table: "cloudtrail",
        fields: &[
            same("@timestamp", "eventTime"),
            same("event.action", "eventName"),
            same("event.provider", "eventSource"),
            same("event.id", "eventID"),
            same("cloud.region", "awsRegion"),
            same("source.address", "sourceIPAddress"),
            same("user_agent.original", "userAgent"),
            same("aws.cloudtrail.event_version", "eventVersion"),
            same("aws.cloudtrail.error_code", "errorCode"),
            same("aws.cloudtrail.error_message", "errorMessage"),
            same("aws.cloudtrail.request_parameters", "requestParameters"),
            same("aws.cloudtrail.response_elements", "responseElements"),
            same("aws.cloudtrail.additional_eventdata", "additionalEventData"),
            same("aws.cloudtrail.request_id", "requestID"),
            same("aws.cloudtrail.event_type", "eventType"),
            same("aws.cloudtrail.api_version", "apiVersion"),
            same("aws.cloudtrail.recipient_account_id", "recipientAccountId"),
            same("aws.cloudtrail.shared_event_id", "sharedEventID"),
            same("aws.cloudtrail.vpc_endpoint_id", "vpcEndpointId"),
            same("aws.cloudtrail.event_category", "eventCategory"),
        ],
        prefix: None,
        bag: None,
        without: &[],
    },
    DataStream {
        // The Custom Windows Event Logs integration (`winlog`): any channel, as Winlogbeat
        // gives it, EventData fields under winlog.event_data.
        pattern: "logs-winlog.winlog-*",
        table: "WindowsEvent",
        fields: &[
            WINLOG_SYSTEM[0],
            WINLOG_SYSTEM[1],
            WINLOG_SYSTEM[2],
            WINLOG_SYSTEM[3],
            WINLOG_SYSTEM[4],
            same("winlog.record_id", "EventRecordId"),
            same("winlog.process.pid", "SystemProcessId"),
            same("winlog.process.thread.id", "SystemThreadId"),
            same("winlog.user.identifier", "SystemUserId"),
            same("winlog.version", "Version"),
        ],
        prefix: None,
        bag: Some(("EventData", "winlog.event_data.")),
        without: &[
            WINLOG_WITHOUT[1],
            WINLOG_WITHOUT[2],
            WINLOG_WITHOUT[3],
            ("EventLevel", "Elastic holds the level's name in log.level"),
            ("EventLevelName", "Log Analytics computes it"),
            (
                "RawEventData",
                "Log Analytics keeps the event's XML; Elastic parses it",
            ),
            ("Correlation", "Log Analytics computes it"),
            ("EventOriginId", "Log Analytics computes it"),
            ("ManagementGroupName", "Log Analytics computes it"),
            ("TenantId", "Log Analytics computes it"),
            ("Type", "Log Analytics computes it"),
            ("_ResourceId", "Log Analytics computes it"),
            ("_SubscriptionId", "Log Analytics computes it"),
            ("_BilledSize", "Log Analytics computes it"),
            ("_IsBillable", "Log Analytics computes it"),
        ],
    },
];

/// CloudTrail's `userIdentity` members with an ECS field (the AWS integration's names).
pub const CLOUDTRAIL_IDENTITY: &[(&str, &str)] = &[
    ("type", "aws.cloudtrail.user_identity.type"),
    ("arn", "aws.cloudtrail.user_identity.arn"),
    ("accessKeyId", "aws.cloudtrail.user_identity.access_key_id"),
    ("invokedBy", "aws.cloudtrail.user_identity.invoked_by"),
];

/// How one column is written in ES|QL: its field and how its values are held there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub ecs: String,
    pub conversion: Conversion,
}

impl DataStream {
    /// The data stream of `table`, if one is mapped.
    pub fn of_table(table: &str) -> Option<&'static DataStream> {
        DATA_STREAMS.iter().find(|d| d.table == table)
    }

    /// The data streams an index pattern of `FROM` names (`*` wildcards; `logs-*` names all).
    pub fn matching(pattern: &str) -> Vec<&'static DataStream> {
        let re = crate::plan::wildcard(pattern);
        DATA_STREAMS
            .iter()
            .filter(|d| {
                // A pattern names a data stream when it matches the stream's names in some
                // namespace (`logs-*`, `logs-aws.cloudtrail-default`, `logs-aws.cloudtrail-prod`).
                re.is_match(d.pattern)
                    || re.is_match(&d.pattern.replace('*', "default"))
                    || crate::plan::wildcard(d.pattern).is_match(pattern)
            })
            .collect()
    }

    /// How `column` is written, or why it cannot be.
    pub fn written(&self, column: &str) -> Result<Written, String> {
        if let Some((_, why)) = self.without.iter().find(|(c, _)| *c == column) {
            return Err(format!("{}.{column} in ES|QL ({why})", self.table));
        }
        if let Some(f) = self.fields.iter().find(|f| f.column == column) {
            return Ok(Written {
                ecs: f.ecs.to_string(),
                conversion: f.conversion,
            });
        }
        match self.prefix {
            Some(prefix) if self.has(column) => Ok(Written {
                ecs: format!("{prefix}{column}"),
                conversion: Conversion::Same,
            }),
            _ => Err(format!(
                "{}.{column} in ES|QL (the {} data stream has no field for it)",
                self.table, self.pattern
            )),
        }
    }

    /// The field that holds `key` of the bag column `column` (`EventData`), if this data
    /// stream keeps that bag's fields.
    pub fn bag_field(&self, column: &str, key: &str) -> Option<String> {
        let (bag, prefix) = self.bag?;
        (bag == column).then(|| format!("{prefix}{key}"))
    }

    /// An ES|QL field of this data stream's events as an expression over the table, or `None`
    /// when its events never have it.
    pub fn read(&self, name: &str) -> Option<Expr> {
        let mut columns: Vec<Expr> = Vec::new();
        for f in self.fields.iter().filter(|f| f.ecs == name) {
            if !self.has(f.column) {
                continue;
            }
            let c = field(f.column);
            columns.push(match f.conversion {
                Conversion::Same | Conversion::Ip | Conversion::Or(_) => c,
                Conversion::NumberAsText => cast(c, DataType::Utf8),
                Conversion::BoolAsText => df("lower", vec![c]).eq(lit("true")),
                Conversion::UserName | Conversion::UserDomain => {
                    // Elastic splits on the backslash and keeps the parts only when there
                    // are two.
                    let backslashes = df("length", vec![c.clone()])
                        - df(
                            "length",
                            vec![df("replace", vec![c.clone(), lit("\\"), lit("")])],
                        );
                    let part = if f.conversion == Conversion::UserName {
                        2
                    } else {
                        1
                    };
                    datafusion::logical_expr::when(
                        backslashes.eq(lit(1)),
                        df("split_part", vec![c, lit("\\"), lit(part)]),
                    )
                    .end()
                    .ok()?
                }
                Conversion::Direction => datafusion::logical_expr::when(
                    df("lower", vec![c.clone()]).eq(lit("true")),
                    lit("egress"),
                )
                .when(df("lower", vec![c]).eq(lit("false")), lit("ingress"))
                .end()
                .ok()?,
            });
        }
        if columns.is_empty()
            && let Some(column) = self.prefix.and_then(|p| name.strip_prefix(p))
            && self.has(column)
            && !self.without.iter().any(|(c, _)| *c == column)
            && !self.fields.iter().any(|f| f.column == column)
        {
            columns.push(field(column));
        }
        if columns.is_empty()
            && let Some((bag, prefix)) = self.bag
            && let Some(key) = name.strip_prefix(prefix)
        {
            columns.push(spoor_events::spoor(
                "kql_json_text",
                vec![field(bag), lit(key.to_string())],
            ));
        }
        if columns.is_empty()
            && self.table == "cloudtrail"
            && let Some((member, _)) = CLOUDTRAIL_IDENTITY.iter().find(|(_, e)| *e == name)
        {
            columns.push(spoor_events::spoor(
                "kql_json_text",
                vec![field("userIdentity"), lit(*member)],
            ));
        }
        match columns.len() {
            0 => None,
            1 => columns.pop(),
            _ => Some(df("coalesce", columns)),
        }
    }

    /// Every ES|QL field this data stream's events can have, in the mapping's order: the
    /// mapped fields, the table's other columns under the prefix, CloudTrail's identity
    /// members. (For `KEEP` wildcards and suggestions; reading each gives `Some`.)
    pub fn field_names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut push = |n: String| {
            if !out.contains(&n) {
                out.push(n);
            }
        };
        for f in self.fields.iter().filter(|f| self.has(f.column)) {
            push(f.ecs.to_string());
        }
        if let (Some(prefix), Some(table)) = (self.prefix, catalog().table(self.table)) {
            for c in &table.columns {
                let name = format!("{prefix}{}", c.name);
                if self.read(&name).is_some() {
                    push(name);
                }
            }
        }
        if self.table == "cloudtrail" {
            for (_, ecs) in CLOUDTRAIL_IDENTITY {
                push(ecs.to_string());
            }
        }
        out
    }

    fn has(&self, column: &str) -> bool {
        catalog()
            .table(self.table)
            .is_some_and(|t| t.column(column).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mapped_column_is_a_column_of_its_table() {
        for d in DATA_STREAMS {
            let table = catalog().table(d.table).expect("a catalog table");
            for f in d.fields {
                assert!(table.column(f.column).is_some(), "{}.{}", d.table, f.column);
            }
            for (c, _) in d.without {
                assert!(table.column(c).is_some(), "{}.{c}", d.table);
            }
        }
    }

    #[test]
    fn columns_are_written_with_their_ecs_names() {
        let sysmon = DataStream::of_table("Sysmon").unwrap();
        assert_eq!(sysmon.written("Image").unwrap().ecs, "process.executable");
        assert_eq!(
            sysmon.written("GrantedAccess").unwrap().ecs,
            "winlog.event_data.GrantedAccess"
        );
        assert_eq!(sysmon.written("User").unwrap().ecs, "user.name");
        assert!(
            sysmon
                .written("Hashes")
                .unwrap_err()
                .contains("process.hash")
        );
        assert_eq!(
            sysmon.written("Company").unwrap().ecs,
            "winlog.event_data.Company"
        );
        let security = DataStream::of_table("SecurityEvent").unwrap();
        assert_eq!(
            security.written("TargetUserName").unwrap().ecs,
            "winlog.event_data.TargetUserName"
        );
        assert!(security.written("Activity").is_err());
    }

    #[test]
    fn fields_are_read_back_as_the_columns_they_come_from() {
        let sysmon = DataStream::of_table("Sysmon").unwrap();
        assert_eq!(
            sysmon.read("process.command_line"),
            Some(field("CommandLine"))
        );
        // Several Sysmon fields are one ECS field: whichever the event has.
        assert!(matches!(
            sysmon.read("file.path"),
            Some(Expr::ScalarFunction(_))
        ));
        assert_eq!(
            sysmon.read("winlog.event_data.GrantedAccess"),
            Some(field("GrantedAccess"))
        );
        // Elastic removes Hashes from EventData (it splits it into process.hash.*).
        assert_eq!(sysmon.read("winlog.event_data.Hashes"), None);
        // A column with an ECS name is not also read by its own name.
        assert_eq!(sysmon.read("winlog.event_data.Image"), None);
        assert_eq!(sysmon.read("winlog.event_data.User"), None);
        assert!(sysmon.read("user.domain").is_some());
        assert_eq!(
            sysmon.read("file.pe.original_file_name"),
            Some(field("OriginalFileName"))
        );
        assert_eq!(sysmon.read("no.such.field"), None);
    }

    #[test]
    fn a_bag_of_event_data_is_read_and_written_by_key() {
        let windows = DataStream::of_table("WindowsEvent").unwrap();
        assert_eq!(
            windows.bag_field("EventData", "ScriptBlockText").as_deref(),
            Some("winlog.event_data.ScriptBlockText")
        );
        assert!(matches!(
            windows.read("winlog.event_data.ScriptBlockText"),
            Some(Expr::ScalarFunction(_))
        ));
        assert!(windows.written("RawEventData").is_err());
    }

    #[test]
    fn index_patterns_name_data_streams() {
        let tables =
            |p: &str| -> Vec<&str> { DataStream::matching(p).iter().map(|d| d.table).collect() };
        assert_eq!(tables("logs-windows.sysmon_operational-*"), ["Sysmon"]);
        assert_eq!(tables("logs-aws.cloudtrail-default"), ["cloudtrail"]);
        assert_eq!(tables("logs-aws.cloudtrail-prod"), ["cloudtrail"]);
        assert_eq!(tables("logs-*").len(), 4);
        assert!(tables("metrics-*").is_empty());
    }
}
