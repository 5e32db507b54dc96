//! Log groups: how the catalog's tables look as Logs Insights events. Each source gives the
//! system fields (`@timestamp`, `@message`, `@logStream`, `@log`) and the fields Logs Insights
//! discovers in its events, by the names Logs Insights uses
//! (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html):
//! - CloudTrail events (the `cloudtrail` table): every field of the event JSON, nested ones by
//!   their dotted path (`userIdentity.sessionContext.sessionIssuer.userName`);
//! - VPC flow logs (`vpc_flow_logs`): `version`, `accountId`, `interfaceId`, `srcAddr`,
//!   `dstAddr`, `srcPort`, `dstPort`, `protocol`, `packets`, `bytes`, `startTime`, `endTime`,
//!   `action`, `logStatus`;
//! - events exported from CloudWatch Logs (`CloudWatchLogs`): the fields of JSON messages by
//!   their dotted paths.

use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::{Expr, cast, ident, lit};
use datafusion::prelude::{coalesce, concat_ws};
use spoor_catalog::{KqlType, catalog};
use spoor_events::spoor as call;

/// A kind of log group spoor can read as Logs Insights events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    CloudTrail,
    VpcFlow,
    CloudWatchExport,
}

/// The VPC flow log fields Logs Insights discovers, with the `vpc_flow_logs` column of each, in
/// the order of the default record format.
pub const VPC_FIELDS: &[(&str, &str)] = &[
    ("version", "version"),
    ("accountId", "account"),
    ("interfaceId", "interfaceid"),
    ("srcAddr", "sourceaddress"),
    ("dstAddr", "destinationaddress"),
    ("srcPort", "sourceport"),
    ("dstPort", "destinationport"),
    ("protocol", "protocol"),
    ("packets", "numpackets"),
    ("bytes", "numbytes"),
    ("startTime", "starttime"),
    ("endTime", "endtime"),
    ("action", "action"),
    ("logStatus", "logstatus"),
];

impl Source {
    pub const ALL: [Source; 3] = [
        Source::CloudTrail,
        Source::VpcFlow,
        Source::CloudWatchExport,
    ];

    /// The catalog table the source reads.
    pub fn table(self) -> &'static str {
        match self {
            Source::CloudTrail => "cloudtrail",
            Source::VpcFlow => "vpc_flow_logs",
            Source::CloudWatchExport => "CloudWatchLogs",
        }
    }

    /// The names `--log-group` knows the source by.
    pub fn names(self) -> &'static [&'static str] {
        match self {
            Source::CloudTrail => &[
                "cloudtrail",
                "aws-cloudtrail-logs",
                "CloudTrail/DefaultLogGroup",
            ],
            Source::VpcFlow => &["vpcflow", "vpc-flow-logs", "flowlogs", "VPCFlowLogs"],
            Source::CloudWatchExport => &["cloudwatch", "CloudWatchLogs"],
        }
    }

    /// The source `name` names (ignoring case).
    pub fn named(name: &str) -> Option<Source> {
        Source::ALL
            .into_iter()
            .find(|s| s.names().iter().any(|n| n.eq_ignore_ascii_case(name)))
    }

    /// A system field (`@timestamp`, `@message`, `@logStream`, `@log`, `@ingestionTime`) of
    /// this source's events.
    pub fn system_field(self, name: &str) -> Option<Expr> {
        let column = |c: &str| ident(c);
        let text = |e: Expr| cast(e, DataType::Utf8);
        Some(match (self, name) {
            (
                Source::CloudWatchExport,
                "@timestamp" | "@message" | "@logStream" | "@log" | "@ingestionTime",
            ) => column(name),
            (Source::CloudTrail, "@timestamp" | "@ingestionTime") => column("eventTime"),
            (Source::CloudTrail, "@message") => {
                spoor_events::record_json("cloudtrail", &[]).expect("the cloudtrail table")
            }
            // CloudTrail names its log streams ACCOUNT_CloudTrail_REGION.
            (Source::CloudTrail, "@logStream") => concat_ws(
                lit("_"),
                vec![
                    coalesce(vec![column("recipientAccountId"), lit("")]),
                    lit("CloudTrail"),
                    coalesce(vec![column("awsRegion"), lit("")]),
                ],
            ),
            (Source::CloudTrail, "@log") => concat_ws(
                lit(":"),
                vec![
                    coalesce(vec![column("recipientAccountId"), lit("")]),
                    lit("cloudtrail"),
                ],
            ),
            (Source::VpcFlow, "@timestamp" | "@ingestionTime") => {
                call("kql_unixtime_seconds_todatetime", vec![column("starttime")])
            }
            (Source::VpcFlow, "@message") => vpc_message(),
            // Flow logs write one stream per network interface, named ENI-all.
            (Source::VpcFlow, "@logStream") => concat_ws(
                lit(""),
                vec![coalesce(vec![column("interfaceid"), lit("")]), lit("-all")],
            ),
            (Source::VpcFlow, "@log") => concat_ws(
                lit(":"),
                vec![
                    coalesce(vec![text(column("account")), lit("")]),
                    lit("vpc-flow-logs"),
                ],
            ),
            _ => return None,
        })
    }

    /// Whether `name` is read from the text of JSON messages (typed by whatever other source
    /// has the field).
    pub fn is_json_field(self, name: &str) -> bool {
        self == Source::CloudWatchExport && self.system_field(name).is_none()
    }

    /// A discovered field of this source's events, or `None` when its events never have it.
    pub fn field(self, name: &str) -> Option<Expr> {
        match self {
            Source::VpcFlow => VPC_FIELDS
                .iter()
                .find(|(f, _)| *f == name)
                .map(|(_, c)| ident(*c)),
            Source::CloudTrail => {
                let def = catalog().table("cloudtrail")?;
                let mut parts = name.split('.');
                let head = parts.next()?;
                let column = def.column(head)?;
                let path: Vec<Expr> = parts.map(lit).collect();
                if path.is_empty() {
                    return Some(ident(head));
                }
                if column.ty != KqlType::Dynamic {
                    return None;
                }
                let mut args = vec![ident(head)];
                args.extend(path);
                Some(call("kql_json_text", args))
            }
            Source::CloudWatchExport => {
                // Any field may be in a JSON message.
                let mut args = vec![ident("@message")];
                args.extend(name.split('.').map(lit));
                Some(call("kql_json_text", args))
            }
        }
    }
}

/// A flow record as the text line of the default format (`-` for what is absent).
fn vpc_message() -> Expr {
    let parts = VPC_FIELDS
        .iter()
        .map(|(_, c)| coalesce(vec![cast(ident(*c), DataType::Utf8), lit("-")]))
        .collect();
    concat_ws(lit(" "), parts)
}
