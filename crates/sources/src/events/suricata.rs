//! Suricata eve.json: one event per line as Suricata writes it, and the JSON arrays or
//! pretty-printed files that alert exports and samples use.
//!
//! Fills `SuricataEve` with eve's own field names; `timestamp` (with its offset) becomes
//! `TimeGenerated` in UTC, and the alert's fields are promoted to `alert_*` columns.

use super::{Doc, EventFormat, EventMapping, Src};

pub const SURICATA_EVE: &str = "SuricataEve";

/// An eve event has a timestamp, an event type and a flow or an address (stats events have
/// neither, but are not worth claiming a file on their own).
fn is_eve_event(doc: &Doc<'_>) -> bool {
    doc.get("timestamp").is_some()
        && doc.get("event_type").is_some()
        && (doc.get("flow_id").is_some() || doc.get("src_ip").is_some())
}

struct Mapping;

impl EventMapping for Mapping {
    fn fills(&self, doc: &Doc<'_>, _table: &str) -> Result<bool, String> {
        if doc.get("event_type").is_some() {
            Ok(true)
        } else {
            Err("not a Suricata eve event (no event_type)".into())
        }
    }

    fn source(&self, _table: &str, column: &str) -> Src {
        match column {
            "TimeGenerated" => Src::path("timestamp"),
            "alert_action" => Src::path("alert.action"),
            "alert_signature_id" => Src::path("alert.signature_id"),
            "alert_signature" => Src::path("alert.signature"),
            "alert_category" => Src::path("alert.category"),
            "alert_severity" => Src::path("alert.severity"),
            _ => Src::Paths(vec![column.to_string().into()]),
        }
    }
}

/// Suricata eve JSON.
pub static SURICATA: EventFormat = EventFormat {
    name: "suricata-eve",
    description: "Suricata eve.json events (alert, http, dns, tls, flow...): JSON lines, arrays or pretty-printed",
    tables: &[SURICATA_EVE],
    mapping: &Mapping,
    recognise: is_eve_event,
    tables_in: None,
};

#[cfg(test)]
mod tests {
    use arrow::array::{Array, Int32Array, Int64Array, StringArray, TimestampNanosecondArray};

    use super::*;
    use crate::Format;
    use crate::testing::decode_text;

    const PRETTY: &str = r#"[
  {
    "timestamp": "2017-03-25T16:49:58.856335-0600",
    "flow_id": 1127398650588751,
    "event_type": "alert",
    "src_ip": "84.92.227.177",
    "src_port": 6668,
    "dest_ip": "10.192.19.6",
    "dest_port": 57966,
    "proto": "TCP",
    "alert": {
      "action": "allowed",
      "signature_id": 2000334,
      "signature": "ET P2P BitTorrent peer sync",
      "category": "Potential Corporate Privacy Violation",
      "severity": 1
    }
  },
  {
    "timestamp": "2017-03-25T22:50:00.000000Z",
    "flow_id": 2,
    "event_type": "dns",
    "src_ip": "10.0.0.1",
    "dns": {"rrname": "example.org"}
  }
]"#;

    #[test]
    fn pretty_arrays_of_events_are_read() {
        let f = &SURICATA;
        assert!(f.sniff(PRETTY.as_bytes()));
        let (batches, bad) = decode_text(
            f,
            PRETTY,
            "alerts.json",
            SURICATA_EVE,
            &[
                "TimeGenerated",
                "alert_signature_id",
                "alert_signature",
                "src_port",
                "dns",
                "flow_id",
            ],
            10,
        );
        assert!(bad.is_empty(), "{bad:?}");
        let b = &batches[0];
        assert_eq!(b.num_rows(), 2);
        let t = b
            .column(0)
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .unwrap();
        // 16:49:58 at -06:00 is 22:49:58 UTC.
        assert_eq!(t.value(0), 1_490_482_198_856_335_000);
        let sid = b.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(sid.value(0), 2000334);
        assert!(sid.is_null(1));
        let sig = b.column(2).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(sig.value(0), "ET P2P BitTorrent peer sync");
        let port = b.column(3).as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(port.value(0), 6668);
        let dns = b.column(4).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(dns.value(1), r#"{"rrname": "example.org"}"#);
        let flow = b.column(5).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(flow.value(0), 1127398650588751);
    }

    #[test]
    fn lines_with_a_damaged_event_keep_the_others() {
        let text = concat!(
            r#"{"timestamp":"2019-01-02T03:50:11.315110","flow_id":1,"event_type":"alert","src_ip":"8.42.77.171","alert":{"signature":"ET SCAN Potential SSH Scan"}}"#,
            "\n",
            r#"{"timestamp":"2019-01-02T03:50:12","flow_id":2,"event_type":"#,
            "\n",
            r#"{"timestamp":"2019-01-02T03:50:13","flow_id":3,"event_type":"flow","src_ip":"1.2.3.4"}"#,
            "\n"
        );
        let (batches, bad) = decode_text(
            &SURICATA,
            text,
            "eve.json",
            SURICATA_EVE,
            &["event_type"],
            10,
        );
        assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
        assert_eq!(bad.len(), 1);
        assert!(bad[0].contains("eve.json:line 2"), "{bad:?}");
    }

    #[test]
    fn other_json_is_not_eve() {
        assert!(!SURICATA.sniff(br#"{"timestamp":"2019-01-02T03:50:11","message":"x"}"#));
        assert!(!SURICATA.sniff(br#"{"ts":1.5,"uid":"C1","id.orig_h":"1.2.3.4"}"#));
    }
}
