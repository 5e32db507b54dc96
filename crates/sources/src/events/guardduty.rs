//! Amazon GuardDuty findings: as GuardDuty exports them to S3 (JSON lines), as
//! `aws guardduty get-findings` prints them (`{"Findings": [...]}`, PascalCase keys), and as
//! EventBridge delivers them (`{"detail-type": "GuardDuty Finding", "detail": {...}}`).
//!
//! Fills `AWSGuardDuty` (the Log Analytics columns of the Sentinel AWS S3 connector).

use super::{Doc, EventFormat, EventMapping, Src};
use crate::windows::Entries;

pub const AWS_GUARD_DUTY: &str = "AWSGuardDuty";

/// A finding names its schema version and type, and is GuardDuty's (its ARN or service says so).
fn is_finding(doc: &Doc<'_>) -> bool {
    doc.get("schemaVersion").is_some()
        && doc.get("type").is_some()
        && (doc.text("arn").is_some_and(|a| a.contains(":guardduty:"))
            || doc
                .text("service.serviceName")
                .is_some_and(|s| s.eq_ignore_ascii_case("guardduty")))
}

struct Mapping;

impl EventMapping for Mapping {
    fn inner(&self, record: &Entries<'_>) -> Option<&'static str> {
        // An EventBridge event carries the finding in `detail`.
        super::get(record, "detail-type").map(|_| "detail")
    }

    fn fills(&self, doc: &Doc<'_>, _table: &str) -> Result<bool, String> {
        if is_finding(doc) {
            Ok(true)
        } else {
            Err("not a GuardDuty finding (no schemaVersion, type and GuardDuty arn)".into())
        }
    }

    fn source(&self, _table: &str, column: &str) -> Src {
        let path = match column {
            "AccountId" => "accountId",
            "ActivityType" => "type",
            "Arn" => "arn",
            "Description" => "description",
            "Id" => "id",
            "Partition" => "partition",
            "Region" => "region",
            "ResourceDetails" => "resource",
            "SchemaVersion" => "schemaVersion",
            "ServiceDetails" => "service",
            "Severity" => "severity",
            "TimeCreated" => "createdAt",
            "TimeGenerated" => "updatedAt",
            "Title" => "title",
            "Type" => return Src::Const(AWS_GUARD_DUTY),
            _ => return Src::Null,
        };
        Src::path(path)
    }
}

/// GuardDuty finding files.
pub static GUARD_DUTY: EventFormat = EventFormat {
    name: "guardduty",
    description: "Amazon GuardDuty findings: S3 exports (JSON lines), get-findings output, EventBridge events",
    tables: &[AWS_GUARD_DUTY],
    mapping: &Mapping,
    recognise: is_finding,
    tables_in: None,
};

#[cfg(test)]
mod tests {
    use arrow::array::{Array, Int32Array, StringArray, TimestampNanosecondArray};

    use super::*;
    use crate::Format;
    use crate::testing::decode_text;

    const FINDING: &str = r#"{"schemaVersion":"2.0","accountId":"111122223333","region":"us-east-1","partition":"aws","id":"f1","arn":"arn:aws:guardduty:us-east-1:111122223333:detector/d/finding/f1","type":"Recon:EC2/PortProbeUnprotectedPort","resource":{"resourceType":"Instance"},"service":{"serviceName":"guardduty","count":3},"severity":2.0,"createdAt":"2024-08-02T08:00:00.000Z","updatedAt":"2024-08-02T08:23:24.000Z","title":"Unprotected port on EC2 instance is being probed","description":"d"}"#;

    #[test]
    fn findings_in_every_shape() {
        let cli = format!(
            "{{\"Findings\": [{}]}}",
            FINDING
                .replace("\"schemaVersion\"", "\"SchemaVersion\"")
                .replace("\"type\"", "\"Type\"")
                .replace("\"severity\"", "\"Severity\"")
        );
        let bridge = format!(
            "{{\"version\":\"0\",\"id\":\"e\",\"detail-type\":\"GuardDuty Finding\",\"source\":\"aws.guardduty\",\"detail\":{FINDING}}}\n"
        );
        for text in [format!("{FINDING}\n"), cli, bridge] {
            assert!(GUARD_DUTY.sniff(text.as_bytes()), "{text}");
            let (batches, bad) = decode_text(
                &GUARD_DUTY,
                &text,
                "findings.json",
                AWS_GUARD_DUTY,
                &["ActivityType", "Severity", "TimeGenerated", "Type"],
                10,
            );
            assert!(bad.is_empty(), "{bad:?}");
            let b = &batches[0];
            let ty = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
            assert_eq!(ty.value(0), "Recon:EC2/PortProbeUnprotectedPort");
            let sev = b.column(1).as_any().downcast_ref::<Int32Array>().unwrap();
            assert_eq!(sev.value(0), 2);
            let t = b
                .column(2)
                .as_any()
                .downcast_ref::<TimestampNanosecondArray>()
                .unwrap();
            assert_eq!(t.value(0), 1_722_587_004_000_000_000);
        }
    }

    #[test]
    fn other_json_is_not_a_finding() {
        assert!(!GUARD_DUTY.sniff(br#"{"schemaVersion":"1","type":"x","arn":"arn:aws:s3:::b"}"#));
    }
}
