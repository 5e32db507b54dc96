//! JSON logs of products spoor knows by their shape but keeps no table of its own for: each
//! event whole in `JsonEvents`, with its time and the product it came from, so that hunts and
//! Sigma rules read the product's own field names (`Event.eventType`, `actor.alternateId`).
//!
//! A product is recognised by the fields its events always carry (see [`product`]): the Okta
//! System Log API (`eventType`, `published`, `actor`), Google Cloud audit logs as Cloud Logging
//! exports them (`protoPayload` with `logName`), GitHub's audit log (`action`, `actor`,
//! `_document_id` or `created_at` with `org`/`repo`/`business`), Bitbucket's audit log
//! (`auditType.action`), OpenCanary (`logtype` with `node_id`), OneLogin events
//! (`event_type_id`), the Microsoft 365 Management Activity API (`Operation`, `Workload`,
//! `RecordType`) and Entra ID risk detections (`riskEventType`).

use super::{Doc, EventFormat, EventMapping, Src};

pub const JSON_EVENTS: &str = "JsonEvents";

/// The product an event comes from, by the fields it carries.
pub(crate) fn product_of(doc: &Doc<'_>) -> Option<&'static str> {
    let has = |path: &str| doc.get(path).is_some_and(|v| v.get() != "null");
    if has("eventType") && has("published") && has("actor") {
        Some("okta")
    } else if has("protoPayload") && (has("logName") || has("insertId")) {
        Some("gcp_audit")
    } else if has("action")
        && has("actor")
        && (has("_document_id")
            || (has("created_at") && (has("org") || has("repo") || has("business"))))
    {
        Some("github_audit")
    } else if has("auditType.action") {
        Some("bitbucket_audit")
    } else if has("logtype") && has("node_id") {
        Some("opencanary")
    } else if has("event_type_id") {
        Some("onelogin")
    } else if has("Operation") && has("Workload") && has("RecordType") {
        Some("m365_management")
    } else if has("riskEventType") {
        Some("entra_risk_detection")
    } else {
        None
    }
}

fn recognised(doc: &Doc<'_>) -> bool {
    product_of(doc).is_some()
}

struct Mapping;

impl EventMapping for Mapping {
    fn fills(&self, doc: &Doc<'_>, _table: &str) -> Result<bool, String> {
        if recognised(doc) {
            Ok(true)
        } else {
            Err(
                "not an event of a product this file's first event came from (no Okta, Google \
                 Cloud audit, GitHub, Bitbucket, OpenCanary, OneLogin, Microsoft 365 or Entra risk \
                 detection fields)"
                    .into(),
            )
        }
    }

    fn source(&self, _table: &str, column: &str) -> Src {
        match column {
            // The product's own time: Okta `published`; Cloud Logging `timestamp`; GitHub
            // `created_at` (epoch milliseconds); Bitbucket `timestamp.epochSecond`; OpenCanary
            // `utc_time` (its `local_time` has no zone); OneLogin `created_at`; Microsoft 365
            // `CreationTime`; Entra `activityDateTime`/`detectedDateTime`.
            "TimeGenerated" => Src::paths(&[
                "published",
                "timestamp.epochSecond",
                "timestamp",
                "@timestamp",
                "created_at",
                "CreationTime",
                "utc_time",
                "activityDateTime",
                "detectedDateTime",
            ]),
            "Product" => Src::Derived(product_of),
            "Event" => Src::Event,
            "Type" => Src::Const(JSON_EVENTS),
            _ => Src::Null,
        }
    }
}

/// JSON logs of the products above.
pub static PRODUCTS: EventFormat = EventFormat {
    name: "product-json",
    description: "JSON logs of Okta, Google Cloud audit, GitHub and Bitbucket audit, OpenCanary, OneLogin, Microsoft 365 management activity and Entra risk detections",
    tables: &[JSON_EVENTS],
    mapping: &Mapping,
    recognise: recognised,
    tables_in: None,
};

#[cfg(test)]
mod tests {
    use arrow::array::{Array, StringArray, TimestampNanosecondArray};

    use super::*;
    use crate::testing::decode_text;

    #[test]
    fn each_product_is_known_by_its_fields_and_keeps_its_event_whole() {
        let text = [
            r#"{"uuid":"u1","published":"2024-05-01T10:00:00.000Z","eventType":"user.mfa.factor.deactivate","actor":{"alternateId":"a@x.com"}}"#,
            r#"{"protoPayload":{"methodName":"storage.buckets.list"},"logName":"projects/p/logs/cloudaudit.googleapis.com%2Factivity","timestamp":"2024-05-01T10:00:01Z"}"#,
            r#"{"@timestamp":1714557602000,"_document_id":"d","action":"repo.destroy","actor":"octo","created_at":1714557602000,"org":"acme"}"#,
            r#"{"auditType":{"action":"Project deleted","category":"Projects"},"timestamp":{"epochSecond":1714557603,"nano":0}}"#,
            r#"{"dst_port":22,"logtype":4002,"node_id":"canary-1","utc_time":"2024-05-01 10:00:04.000000"}"#,
            r#"{"event_type_id":72,"created_at":"2024-05-01T10:00:05Z"}"#,
            r#"{"CreationTime":"2024-05-01T10:00:06","Operation":"New-InboxRule","Workload":"Exchange","RecordType":1}"#,
            r#"{"riskEventType":"unfamiliarFeatures","riskLevel":"high","activityDateTime":"2024-05-01T10:00:07Z"}"#,
            r#"{"hello":"a record of no known product"}"#,
        ]
        .join("\n");
        let (batches, bad) = decode_text(
            &PRODUCTS,
            &text,
            "events.jsonl",
            JSON_EVENTS,
            &["TimeGenerated", "Product", "Event"],
            100,
        );
        assert_eq!(bad.len(), 1, "{bad:?}");
        let b = &batches[0];
        let col = |name: &str| b.column(b.schema().index_of(name).unwrap()).clone();
        let products = col("Product");
        let products = products.as_any().downcast_ref::<StringArray>().unwrap();
        let got: Vec<&str> = products.iter().map(|p| p.unwrap()).collect();
        assert_eq!(
            got,
            [
                "okta",
                "gcp_audit",
                "github_audit",
                "bitbucket_audit",
                "opencanary",
                "onelogin",
                "m365_management",
                "entra_risk_detection"
            ]
        );
        let times = col("TimeGenerated");
        let times = times
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .unwrap();
        let base = 1_714_557_600_000_000_000_i64;
        for i in 0..8 {
            assert_eq!(times.value(i), base + i as i64 * 1_000_000_000, "row {i}");
        }
        let events = col("Event");
        let events = events.as_any().downcast_ref::<StringArray>().unwrap();
        assert!(events.value(0).contains("\"alternateId\":\"a@x.com\""));
    }
}
