//! CloudWatch Logs events exported to files: Logs Insights' JSON export (objects with
//! `@timestamp`, `@message`, `@logStream`, `@log`, in an array or one per line) and the output of
//! `aws logs filter-log-events` / `get-log-events` (`{"events": [{"timestamp", "message",
//! "logStreamName", "ingestionTime", "eventId"}]}`).
//!
//! Fills `CloudWatchLogs`, named with the Logs Insights system fields.

use super::{Doc, EventFormat, EventMapping, Src};

pub const CLOUDWATCH_LOGS: &str = "CloudWatchLogs";

/// An exported event has a message and a time, under the Insights names or the API's.
fn is_log_event(doc: &Doc<'_>) -> bool {
    let insights = doc.get("@message").is_some()
        && (doc.get("@timestamp").is_some() || doc.get("@logStream").is_some());
    let api = doc.get("message").is_some()
        && doc.get("timestamp").is_some()
        && (doc.get("logStreamName").is_some() || doc.get("ingestionTime").is_some());
    insights || api
}

struct Mapping;

impl EventMapping for Mapping {
    fn fills(&self, doc: &Doc<'_>, _table: &str) -> Result<bool, String> {
        if is_log_event(doc) {
            Ok(true)
        } else {
            Err("not a CloudWatch Logs event (no @message or message with a timestamp)".into())
        }
    }

    fn source(&self, _table: &str, column: &str) -> Src {
        match column {
            "TimeGenerated" | "@timestamp" => Src::paths(&["@timestamp", "timestamp"]),
            "@message" => Src::paths(&["@message", "message"]),
            "@logStream" => Src::paths(&["@logStream", "logStreamName"]),
            "@log" => Src::paths(&["@log", "logGroupName"]),
            "@ingestionTime" => Src::paths(&["@ingestionTime", "ingestionTime"]),
            "@eventId" => Src::paths(&["@eventId", "eventId"]),
            _ => Src::Null,
        }
    }
}

/// CloudWatch Logs exports.
pub static CLOUDWATCH: EventFormat = EventFormat {
    name: "cloudwatch-logs",
    description: "CloudWatch Logs exports: Logs Insights JSON (@timestamp, @message, @logStream) and filter-log-events output",
    tables: &[CLOUDWATCH_LOGS],
    mapping: &Mapping,
    recognise: is_log_event,
    tables_in: None,
};

#[cfg(test)]
mod tests {
    use arrow::array::{Array, StringArray, TimestampNanosecondArray};

    use super::*;
    use crate::Format;
    use crate::testing::decode_text;

    #[test]
    fn insights_exports_and_api_output_give_the_same_rows() {
        let insights = r#"[
  {"@timestamp": "2024-08-02 08:23:24.000", "@message": "{\"eventName\":\"StopLogging\"}", "@logStream": "111122223333_CloudTrail_us-east-1", "@log": "111122223333:aws-cloudtrail-logs"}
]"#;
        let api = r#"{"events": [{"logStreamName": "111122223333_CloudTrail_us-east-1", "timestamp": 1722587004000, "message": "{\"eventName\":\"StopLogging\"}", "ingestionTime": 1722587005000, "eventId": "e1"}], "searchedLogStreams": []}"#;
        for text in [insights, api] {
            assert!(CLOUDWATCH.sniff(text.as_bytes()), "{text}");
            let (batches, bad) = decode_text(
                &CLOUDWATCH,
                text,
                "export.json",
                CLOUDWATCH_LOGS,
                &["TimeGenerated", "@message", "@logStream"],
                10,
            );
            assert!(bad.is_empty(), "{bad:?}");
            let b = &batches[0];
            let t = b
                .column(0)
                .as_any()
                .downcast_ref::<TimestampNanosecondArray>()
                .unwrap();
            assert_eq!(t.value(0), 1_722_587_004_000_000_000);
            let m = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
            assert_eq!(m.value(0), r#"{"eventName":"StopLogging"}"#);
            let s = b.column(2).as_any().downcast_ref::<StringArray>().unwrap();
            assert_eq!(s.value(0), "111122223333_CloudTrail_us-east-1");
        }
    }

    #[test]
    fn other_json_is_not_a_log_export() {
        assert!(!CLOUDWATCH.sniff(br#"{"message":"hello"}"#));
    }
}
