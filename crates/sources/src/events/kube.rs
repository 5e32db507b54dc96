//! Kubernetes API server audit logs: `audit.k8s.io` Event objects, one per line as the API
//! server's log backend writes them (also arrays and pretty-printed files).
//!
//! Fills `KubeAudit` (Kubernetes' own field names) and `AKSAudit` (the Log Analytics columns).
//! AKS diagnostic records of the kube-audit category carry the same events (see
//! [`super::azure`]), read through the same mapping ([`source`]).

use super::{Doc, EventFormat, EventMapping, Src};

pub const KUBE_AUDIT: &str = "KubeAudit";
pub const AKS_AUDIT: &str = "AKSAudit";
pub const AKS_AUDIT_ADMIN: &str = "AKSAuditAdmin";

/// Whether an event is a Kubernetes audit event: it has an audit id, a verb and a request URI
/// or stage (older API servers leave out `apiVersion`, so it is not required).
pub(crate) fn is_audit_event(doc: &Doc<'_>) -> bool {
    doc.get("auditID").is_some()
        && doc.get("verb").is_some()
        && (doc.get("requestURI").is_some() || doc.get("stage").is_some())
}

/// Where a column of the Kubernetes audit tables comes from in an audit event; `^` paths read
/// the AKS diagnostic record around it (absent in plain audit logs).
pub(crate) fn source(table: &str, column: &str) -> Src {
    if table == KUBE_AUDIT {
        return match column {
            "TimeGenerated" => Src::paths(&["stageTimestamp", "requestReceivedTimestamp", "^time"]),
            _ => Src::Paths(vec![column.to_string().into()]),
        };
    }
    let path = match column {
        "TimeGenerated" => {
            return Src::paths(&["^time", "stageTimestamp", "requestReceivedTimestamp"]);
        }
        "Type" => {
            return Src::Const(if table == AKS_AUDIT_ADMIN {
                AKS_AUDIT_ADMIN
            } else {
                AKS_AUDIT
            });
        }
        "Annotations" => "annotations",
        "AuditId" => "auditID",
        "ImpersonatedUser" => "impersonatedUser",
        "Level" => "level",
        "ObjectRef" => "objectRef",
        "PodName" => "^properties.pod",
        "RequestObject" => "requestObject",
        "RequestReceivedTime" => "requestReceivedTimestamp",
        "RequestUri" => "requestURI",
        "_ResourceId" => "^resourceId",
        "ResponseObject" => "responseObject",
        "ResponseStatus" => "responseStatus",
        "SourceIps" => "sourceIPs",
        "Stage" => "stage",
        "StageReceivedTime" => "stageTimestamp",
        "User" => "user",
        "UserAgent" => "userAgent",
        "Verb" => "verb",
        _ => return Src::Null,
    };
    Src::path(path)
}

struct Mapping;

impl EventMapping for Mapping {
    fn fills(&self, doc: &Doc<'_>, _table: &str) -> Result<bool, String> {
        if is_audit_event(doc) {
            Ok(true)
        } else {
            Err("not a Kubernetes audit event (no auditID, verb and requestURI)".into())
        }
    }

    fn source(&self, table: &str, column: &str) -> Src {
        source(table, column)
    }
}

/// Kubernetes audit log files.
pub static KUBE_AUDIT_LOG: EventFormat = EventFormat {
    name: "k8s-audit",
    description: "Kubernetes API server audit logs: audit.k8s.io Event objects as JSON lines (auditID, verb, requestURI, user, objectRef...)",
    tables: &[KUBE_AUDIT, AKS_AUDIT],
    mapping: &Mapping,
    recognise: is_audit_event,
    tables_in: None,
};

#[cfg(test)]
mod tests {
    use arrow::array::{Array, StringArray, TimestampNanosecondArray};

    use super::*;
    use crate::Format;
    use crate::testing::decode_text;

    const EVENTS: &str = concat!(
        r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"a1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods","verb":"create","user":{"username":"system:anonymous","groups":["system:unauthenticated"]},"sourceIPs":["10.0.0.9"],"userAgent":"curl/8.0","objectRef":{"resource":"pods","namespace":"default"},"responseStatus":{"metadata":{},"code":401},"requestReceivedTimestamp":"2024-08-02T08:23:24.100000Z","stageTimestamp":"2024-08-02T08:23:24.200000Z"}"#,
        "\n",
        "this line is damaged\n",
        r#"{"kind":"Event","auditID":"a2","stage":"ResponseStarted","requestURI":"/api/v1/namespaces/default/pods/p/exec?command=bash","verb":"create","user":{"username":"minikube-user"},"objectRef":{"resource":"pods","subresource":"exec"},"responseStatus":{"code":101},"stageTimestamp":"2024-08-02T08:23:25Z"}"#,
        "\n",
    );

    #[test]
    fn audit_events_fill_both_tables() {
        let f = &KUBE_AUDIT_LOG;
        assert!(f.sniff(EVENTS.as_bytes()));
        let (batches, bad) = decode_text(
            f,
            EVENTS,
            "audit.log",
            KUBE_AUDIT,
            &["verb", "user", "TimeGenerated", "objectRef"],
            10,
        );
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(bad[0].contains("line 2"), "{bad:?}");
        let b = &batches[0];
        assert_eq!(b.num_rows(), 2);
        let user = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(
            user.value(0),
            r#"{"username":"system:anonymous","groups":["system:unauthenticated"]}"#
        );
        let t = b
            .column(2)
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .unwrap();
        assert_eq!(t.value(0), 1_722_587_004_200_000_000);

        let (batches, _) = decode_text(
            f,
            EVENTS,
            "audit.log",
            AKS_AUDIT,
            &["Verb", "RequestUri", "Type", "PodName", "SourceIps"],
            10,
        );
        let b = &batches[0];
        let ty = b.column(2).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(ty.value(1), "AKSAudit");
        assert!(b.column(3).is_null(0), "no envelope, no pod");
        let ips = b.column(4).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(ips.value(0), r#"["10.0.0.9"]"#);
    }

    #[test]
    fn other_json_is_not_an_audit_log() {
        let f = &KUBE_AUDIT_LOG;
        assert!(!f.sniff(br#"{"eventVersion":"1.08","eventName":"GetObject"}"#));
        assert!(!f.sniff(br#"{"auditID":"x","verb":"get"}"#));
        assert!(!f.sniff(b"Jan  1 00:00:00 host sshd[1]: hello"));
    }
}
