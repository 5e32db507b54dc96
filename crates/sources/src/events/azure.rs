//! Azure Monitor resource and activity logs as diagnostic settings write them: to a storage
//! account (`PT1H.json`, one record per line), to Event Hubs (`{"records": [...]}`), or
//! exported as a JSON array. Each record has `time`, `category`, `resourceId` and/or
//! `operationName`, and its service's fields under `properties`.
//!
//! The category decides the table, as Log Analytics' resource-specific tables do: SignInLogs and
//! its siblings, AuditLogs, the Activity log categories (Administrative, Security, Policy...),
//! Storage{Read,Write,Delete} (blob or file by the resource id), App Service's
//! AppServiceHTTPLogs and AppServiceAntivirusScanAuditLogs, kube-audit and
//! kube-audit-admin (AKSAudit, AKSAuditAdmin and KubeAudit, from the event in `properties.log`);
//! every other category fills `AzureDiagnostics`, so nothing is dropped.
//!
//! Columns: a documented column is found under its own name in the record, else in
//! `properties` (ignoring case: `UserPrincipalName` is `properties.userPrincipalName`), with
//! the exceptions listed in [`overrides`]. In `AzureDiagnostics`, type suffixes are stripped
//! (`clientIP_s` is `properties.clientIP`).

use std::collections::BTreeSet;
use std::path::Path;

use spoor_catalog::catalog;

use super::kube::{self, AKS_AUDIT, AKS_AUDIT_ADMIN, KUBE_AUDIT};
use super::{Doc, EventFormat, EventMapping, Src, get, parse_object, records};
use crate::batch::{Unit, Units};
use crate::cloudtrail::{json_value_len, skip_ws, text};
use crate::windows::Entries;
use crate::{SNIFF_BYTES, open_path};

const AZURE_DIAGNOSTICS: &str = "AzureDiagnostics";

const TABLES: &[&str] = &[
    "SigninLogs",
    "AADNonInteractiveUserSignInLogs",
    "AADServicePrincipalSignInLogs",
    "AADManagedIdentitySignInLogs",
    "AuditLogs",
    "AzureActivity",
    "StorageBlobLogs",
    "StorageFileLogs",
    "AppServiceHTTPLogs",
    "AppServiceAntivirusScanAuditLogs",
    AKS_AUDIT,
    AKS_AUDIT_ADMIN,
    KUBE_AUDIT,
    AZURE_DIAGNOSTICS,
];

/// Activity log categories (Azure Activity log event schema).
const ACTIVITY_CATEGORIES: &[&str] = &[
    "Administrative",
    "Security",
    "ServiceHealth",
    "Alert",
    "Recommendation",
    "Policy",
    "Autoscale",
    "ResourceHealth",
];

/// The resource-specific table of a record of `category` about `resource_id`.
fn table_for(category: &str, resource_id: &str) -> &'static str {
    let is = |c: &str| category.eq_ignore_ascii_case(c);
    if is("SignInLogs") {
        "SigninLogs"
    } else if is("NonInteractiveUserSignInLogs") {
        "AADNonInteractiveUserSignInLogs"
    } else if is("ServicePrincipalSignInLogs") {
        "AADServicePrincipalSignInLogs"
    } else if is("ManagedIdentitySignInLogs") {
        "AADManagedIdentitySignInLogs"
    } else if is("AuditLogs") {
        "AuditLogs"
    } else if ACTIVITY_CATEGORIES.iter().any(|c| is(c)) {
        "AzureActivity"
    } else if is("StorageRead") || is("StorageWrite") || is("StorageDelete") {
        if resource_id.to_ascii_lowercase().contains("/fileservices/") {
            "StorageFileLogs"
        } else {
            "StorageBlobLogs"
        }
    } else if is("AppServiceHTTPLogs") {
        // App Service's resource logs use the table names as categories; their properties have
        // the table's column names (CIp, CsUriStem, ScStatus...).
        "AppServiceHTTPLogs"
    } else if is("AppServiceAntivirusScanAuditLogs") {
        "AppServiceAntivirusScanAuditLogs"
    } else if is("kube-audit") {
        AKS_AUDIT
    } else if is("kube-audit-admin") {
        AKS_AUDIT_ADMIN
    } else {
        AZURE_DIAGNOSTICS
    }
}

/// The tables one record fills (a kube-audit record also fills KubeAudit).
fn tables_of(record: &Entries<'_>) -> Option<[Option<&'static str>; 2]> {
    let category = text(get(record, "category")?);
    let resource = get(record, "resourceId").map(text).unwrap_or_default();
    Some(tables_for(&category, &resource))
}

/// The tables a record of `category` about `resource_id` fills ([`table_for`], and KubeAudit
/// beside the AKS tables).
fn tables_for(category: &str, resource_id: &str) -> [Option<&'static str>; 2] {
    let table = table_for(category, resource_id);
    let kube = matches!(table, AKS_AUDIT | AKS_AUDIT_ADMIN).then_some(KUBE_AUDIT);
    [Some(table), kube]
}

/// A diagnostic record: a time, a category, and a resource id or an operation name; Log
/// Analytics rows (TimeGenerated) are the la-export format's.
fn is_record(record: &Entries<'_>) -> bool {
    (get(record, "time").is_some() || get(record, "timeStamp").is_some())
        && get(record, "category").is_some()
        && (get(record, "resourceId").is_some() || get(record, "operationName").is_some())
        && get(record, "TimeGenerated").is_none()
}

/// Columns found elsewhere than under their own name (or `properties.<name>`).
fn overrides(table: &str, column: &str) -> Option<&'static [&'static str]> {
    let sign_in = matches!(
        table,
        "SigninLogs"
            | "AADNonInteractiveUserSignInLogs"
            | "AADServicePrincipalSignInLogs"
            | "AADManagedIdentitySignInLogs"
    );
    let storage = matches!(table, "StorageBlobLogs" | "StorageFileLogs");
    Some(match (column, table) {
        ("TimeGenerated", _) => &["time", "timeStamp"],
        ("_ResourceId" | "ResourceId", _) => &["resourceId"],
        ("Location", _) if sign_in => &["properties.location.countryOrRegion"],
        ("LocationDetails", _) if sign_in => &["properties.location"],
        ("Status", _) if sign_in => &["properties.status"],
        ("ResultType", _) if sign_in => &["properties.status.errorCode", "resultType"],
        ("ResultDescription", _) if sign_in => {
            &["properties.status.failureReason", "resultDescription"]
        }
        ("IPAddress", _) if sign_in => &["properties.ipAddress", "callerIpAddress"],
        ("Id", _) if sign_in => &["properties.id"],
        ("Category", "AuditLogs") => &["properties.category", "category"],
        ("AADOperationType", "AuditLogs") => &["properties.operationType"],
        ("Id", "AuditLogs") => &["properties.id"],
        ("OperationName" | "OperationNameValue", "AzureActivity") => &["operationName"],
        ("Category" | "CategoryValue", "AzureActivity") => &["category"],
        ("ActivityStatus" | "ActivityStatusValue", "AzureActivity") => &["resultType"],
        ("ActivitySubstatus" | "ActivitySubstatusValue", "AzureActivity") => &["resultSignature"],
        ("Caller", "AzureActivity") => &[
            "identity.claims.[http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn]",
            "identity.claims.[http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name]",
            "identity.claims.appid",
            "caller",
        ],
        ("Claims", "AzureActivity") => &["identity.claims"],
        ("Authorization", "AzureActivity") => &["identity.authorization"],
        ("Properties", "AzureActivity") => &["properties"],
        ("AuthenticationType", _) if storage => &["identity.type"],
        ("AuthenticationHash", _) if storage => &["identity.tokenHash"],
        ("AuthorizationDetails", _) if storage => &["identity.authorization"],
        ("RequesterUpn", _) if storage => &["identity.requester.upn"],
        ("RequesterAppId", _) if storage => &["identity.requester.appId"],
        ("RequesterObjectId", _) if storage => &["identity.requester.objectId"],
        ("RequesterTenantId", _) if storage => &["identity.requester.tenantId"],
        ("RequesterTokenIssuer", _) if storage => &["identity.requester.tokenIssuer"],
        ("RequesterAudience", _) if storage => &["identity.requester.audience"],
        ("ResponseMd5", _) if storage => &["properties.serverMd5"],
        _ => return None,
    })
}

/// `clientIP_s` → `clientIP`: the AzureDiagnostics type suffixes.
fn strip_type_suffix(column: &str) -> &str {
    for suffix in ["_s", "_d", "_b", "_g", "_t"] {
        if let Some(base) = column.strip_suffix(suffix)
            && !base.is_empty()
        {
            return base;
        }
    }
    column
}

struct Mapping;

impl EventMapping for Mapping {
    fn inner(&self, record: &Entries<'_>) -> Option<&'static str> {
        let category = get(record, "category").map(text)?;
        category
            .to_ascii_lowercase()
            .starts_with("kube-audit")
            .then_some("properties.log")
    }

    fn fills(&self, doc: &Doc<'_>, table: &str) -> Result<bool, String> {
        let record = doc.record();
        if !is_record(record) {
            return Err(
                "not an Azure Monitor diagnostic record (no time, category and resourceId)".into(),
            );
        }
        let tables = tables_of(record).unwrap_or_default();
        if !tables.contains(&Some(table)) {
            return Ok(false);
        }
        if matches!(table, AKS_AUDIT | AKS_AUDIT_ADMIN | KUBE_AUDIT) && !kube::is_audit_event(doc) {
            return Err(
                "a kube-audit record whose properties.log is not a Kubernetes audit event".into(),
            );
        }
        Ok(true)
    }

    fn source(&self, table: &str, column: &str) -> Src {
        if matches!(table, AKS_AUDIT | AKS_AUDIT_ADMIN | KUBE_AUDIT) {
            return kube::source(table, column);
        }
        if column == "Type" {
            return catalog()
                .table(table)
                .map_or(Src::Null, |t| Src::Const(t.name.as_str()));
        }
        if let Some(paths) = overrides(table, column) {
            return Src::paths(paths);
        }
        let base = if table == AZURE_DIAGNOSTICS {
            strip_type_suffix(column)
        } else {
            column
        };
        let mut paths = vec![base.to_string().into(), format!("properties.{base}").into()];
        if table == AZURE_DIAGNOSTICS && base.contains('_') {
            // Nested properties are flattened with `_`: identity_claim_upn_s.
            paths.push(format!("properties.{}", base.replace('_', ".")).into());
            paths.push(base.replace('_', ".").into());
        }
        Src::Paths(paths)
    }
}

/// The tables that the records of a file fill, in catalog order.
fn scan_tables(mut units: Box<dyn Units>) -> Vec<&'static str> {
    let mut found = BTreeSet::new();
    loop {
        let bytes = match units.next_unit() {
            Unit::Record(_, bytes) => bytes,
            Unit::Lost { fatal: false, .. } => continue,
            Unit::Lost { .. } | Unit::Failed(..) | Unit::End => break,
        };
        // Most records: their top-level keys found by skipping values, not parsing them.
        if let Some(tables) = quick_tables(bytes) {
            found.extend(tables.into_iter().flatten());
            continue;
        }
        let Some(record) = std::str::from_utf8(bytes).ok().and_then(parse_object) else {
            continue;
        };
        if is_record(&record)
            && let Some(tables) = tables_of(&record)
        {
            found.extend(tables.into_iter().flatten());
        }
    }
    TABLES
        .iter()
        .copied()
        .filter(|t| found.contains(t))
        .collect()
}

/// The keys [`quick_tables`] looks at, in the order of its answer.
const QUICK_KEYS: [&str; 5] = [
    "time",
    "timeStamp",
    "category",
    "resourceId",
    "operationName",
];

/// The raw top-level values of [`QUICK_KEYS`] in a record (the first of each, keys compared
/// ignoring case), found by skipping values rather than parsing them, and stopping as soon as
/// the time, category and resource id are found (they come before `properties` in what Azure
/// writes): scanning a large file for its categories is most of the work of `tables_in`. None
/// when the record is not a plain JSON object or a key holds an escape.
fn top_level_values(b: &[u8]) -> Option<[Option<&[u8]>; 5]> {
    // The index of the first byte at or after `i` that is not whitespace.
    let ws = |b: &[u8], i: usize| b.len() - skip_ws(&b[i.min(b.len())..]).len();
    let mut found: [Option<&[u8]>; 5] = [None; 5];
    let mut i = ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        i = ws(b, i);
        match b.get(i)? {
            b'}' => return Some(found),
            b',' => {
                i += 1;
                continue;
            }
            b'"' => {}
            _ => return None,
        }
        let key_len = json_value_len(&b[i..], true)?;
        let key = &b[i + 1..i + key_len - 1];
        if key.contains(&b'\\') {
            return None;
        }
        i = ws(b, i + key_len);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = ws(b, i + 1);
        let value_len = json_value_len(b.get(i..)?, true)?;
        if let Some(k) = QUICK_KEYS
            .iter()
            .position(|k| k.as_bytes().eq_ignore_ascii_case(key))
            && found[k].is_none()
        {
            found[k] = Some(&b[i..i + value_len]);
            if (found[0].is_some() || found[1].is_some())
                && found[2].is_some()
                && found[3].is_some()
            {
                return Some(found);
            }
        }
        i += value_len;
    }
}

/// The tables of a record from [`top_level_values`]; None when it cannot tell (a category or
/// resource id that is not a plain string): the record is then parsed. Unlike [`is_record`] it
/// does not look for a TimeGenerated key (that would mean reading the whole record): the file's
/// first record already showed that this is not a Log Analytics export.
fn quick_tables(b: &[u8]) -> Option<[Option<&'static str>; 2]> {
    let [time, time_stamp, category, resource, operation] = top_level_values(b)?;
    let plain = |v: &[u8]| -> Option<String> {
        let inner = v.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
        (!inner.contains(&b'\\'))
            .then(|| std::str::from_utf8(inner).ok().map(str::to_string))
            .flatten()
    };
    let is_record = (time.is_some() || time_stamp.is_some())
        && category.is_some()
        && (resource.is_some() || operation.is_some());
    if !is_record {
        return Some([None, None]);
    }
    let category = plain(category?)?;
    let resource = match resource {
        Some(r) => plain(r)?,
        None => String::new(),
    };
    Some(tables_for(&category, &resource))
}

/// The tables of one file: those of the categories its records have (the whole file is read
/// when it is longer than the head).
fn tables_in(head: &[u8], path: &Path) -> Vec<&'static str> {
    if head.len() < SNIFF_BYTES {
        // The head is the whole file.
        let Ok(units) = records(Box::new(std::io::Cursor::new(head.to_vec())), path) else {
            return Vec::new();
        };
        return scan_tables(units);
    }
    // Streamed one record at a time: memory stays bounded however long the file is.
    let Ok((input, _)) = open_path(path) else {
        return Vec::new();
    };
    match records(input, path) {
        Ok(units) => scan_tables(units),
        Err(_) => Vec::new(),
    }
}

/// Azure Monitor diagnostic records.
pub static AZURE_DIAGNOSTIC_RECORDS: EventFormat = EventFormat {
    name: "azure-diagnostics",
    description: "Azure Monitor diagnostic records ({\"records\": [...]} or PT1H.json lines with time, category, resourceId, properties): sign-ins, audit, activity, storage, App Service HTTP, AKS kube-audit, other resource logs",
    tables: TABLES,
    mapping: &Mapping,
    recognise: is_diagnostic_record,
    tables_in: Some(tables_in),
};

fn is_diagnostic_record(doc: &Doc<'_>) -> bool {
    is_record(doc.record())
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, StringArray, TimestampNanosecondArray};

    use super::*;
    use crate::Format;
    use crate::testing::decode_text;

    const RECORDS: &str = r#"{"records": [
{"time": "2024-08-02T08:23:24.0000000Z", "resourceId": "/tenants/t/providers/Microsoft.aadiam", "operationName": "Sign-in activity", "category": "SignInLogs", "resultType": "50126", "callerIpAddress": "203.0.113.7", "properties": {"id": "s1", "userPrincipalName": "alice@contoso.com", "appDisplayName": "Azure Portal", "ipAddress": "203.0.113.7", "status": {"errorCode": 50126, "failureReason": "Invalid username or password."}, "location": {"city": "Lagos", "countryOrRegion": "NG"}}},
{"time": "2024-08-02T08:24:00Z", "resourceId": "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS1", "category": "kube-audit", "properties": {"log": "{\"kind\":\"Event\",\"auditID\":\"k1\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/api\",\"verb\":\"get\",\"user\":{\"username\":\"system:anonymous\"},\"sourceIPs\":[\"198.51.100.2\"],\"responseStatus\":{\"code\":401},\"stageTimestamp\":\"2024-08-02T08:23:59Z\"}", "pod": "kube-apiserver-1"}},
{"time": "2024-08-02T08:25:00Z", "resourceId": "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/KV1", "operationName": "SecretGet", "category": "AuditEvent", "resultType": "Success", "callerIpAddress": "10.1.1.1", "properties": {"clientInfo": "az-cli", "id": "https://kv1.vault.azure.net/secrets/db"}},
{"time": "2024-08-02T08:26:00Z", "resourceId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa1/blobServices/default", "category": "StorageRead", "operationName": "GetBlob", "statusCode": 200, "callerIpAddress": "192.0.2.9:51234", "uri": "https://sa1.blob.core.windows.net/c/secret.txt", "identity": {"type": "SAS", "tokenHash": "h"}, "properties": {"accountName": "sa1", "userAgentHeader": "curl/8"}}
]}"#;

    fn strings(b: &arrow::record_batch::RecordBatch, i: usize) -> Vec<Option<String>> {
        let a = b.column(i).as_any().downcast_ref::<StringArray>().unwrap();
        (0..a.len())
            .map(|r| a.is_valid(r).then(|| a.value(r).to_string()))
            .collect()
    }

    #[test]
    fn categories_decide_the_tables() {
        let f = &AZURE_DIAGNOSTIC_RECORDS;
        assert!(f.sniff(RECORDS.as_bytes()));
        assert_eq!(
            f.tables_in(RECORDS.as_bytes(), Path::new("x.json")),
            vec![
                "SigninLogs",
                "StorageBlobLogs",
                AKS_AUDIT,
                KUBE_AUDIT,
                AZURE_DIAGNOSTICS
            ]
        );
        let (batches, bad) = decode_text(
            f,
            RECORDS,
            "x.json",
            "SigninLogs",
            &[
                "UserPrincipalName",
                "ResultType",
                "Location",
                "IPAddress",
                "ResultDescription",
                "Type",
            ],
            10,
        );
        assert!(bad.is_empty(), "{bad:?}");
        let b = &batches[0];
        assert_eq!(b.num_rows(), 1);
        assert_eq!(strings(b, 0), vec![Some("alice@contoso.com".into())]);
        assert_eq!(strings(b, 1), vec![Some("50126".into())]);
        assert_eq!(strings(b, 2), vec![Some("NG".into())]);
        assert_eq!(strings(b, 3), vec![Some("203.0.113.7".into())]);
        assert_eq!(
            strings(b, 4),
            vec![Some("Invalid username or password.".into())]
        );
        assert_eq!(strings(b, 5), vec![Some("SigninLogs".into())]);
    }

    #[test]
    fn aks_records_carry_kubernetes_events() {
        let (batches, bad) = decode_text(
            &AZURE_DIAGNOSTIC_RECORDS,
            RECORDS,
            "x.json",
            AKS_AUDIT,
            &["Verb", "PodName", "_ResourceId", "TimeGenerated"],
            10,
        );
        assert!(bad.is_empty(), "{bad:?}");
        let b = &batches[0];
        assert_eq!(strings(b, 0), vec![Some("get".into())]);
        assert_eq!(strings(b, 1), vec![Some("kube-apiserver-1".into())]);
        let t = b
            .column(3)
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .unwrap();
        assert_eq!(t.value(0), 1_722_587_040_000_000_000);
        let (batches, _) = decode_text(
            &AZURE_DIAGNOSTIC_RECORDS,
            RECORDS,
            "x.json",
            KUBE_AUDIT,
            &["responseStatus", "sourceIPs", "TimeGenerated"],
            10,
        );
        let b = &batches[0];
        assert_eq!(strings(b, 0), vec![Some(r#"{"code":401}"#.into())]);
        assert_eq!(strings(b, 1), vec![Some(r#"["198.51.100.2"]"#.into())]);
    }

    #[test]
    fn storage_and_other_categories() {
        let (batches, _) = decode_text(
            &AZURE_DIAGNOSTIC_RECORDS,
            RECORDS,
            "x.json",
            "StorageBlobLogs",
            &[
                "AccountName",
                "AuthenticationType",
                "Uri",
                "StatusCode",
                "UserAgentHeader",
            ],
            10,
        );
        let b = &batches[0];
        assert_eq!(strings(b, 0), vec![Some("sa1".into())]);
        assert_eq!(strings(b, 1), vec![Some("SAS".into())]);
        assert_eq!(strings(b, 3), vec![Some("200".into())]);
        assert_eq!(strings(b, 4), vec![Some("curl/8".into())]);
        let (batches, _) = decode_text(
            &AZURE_DIAGNOSTIC_RECORDS,
            RECORDS,
            "x.json",
            AZURE_DIAGNOSTICS,
            &[
                "Category",
                "OperationName",
                "clientInfo_s",
                "CallerIPAddress",
                "id_s",
            ],
            10,
        );
        let b = &batches[0];
        assert_eq!(strings(b, 0), vec![Some("AuditEvent".into())]);
        assert_eq!(strings(b, 2), vec![Some("az-cli".into())]);
        assert_eq!(strings(b, 3), vec![Some("10.1.1.1".into())]);
        assert_eq!(
            strings(b, 4),
            vec![Some("https://kv1.vault.azure.net/secrets/db".into())]
        );
    }

    #[test]
    fn log_analytics_rows_are_not_diagnostic_records() {
        assert!(!AZURE_DIAGNOSTIC_RECORDS.sniff(
            br#"{"TimeGenerated":"2024-01-01T00:00:00Z","time":"x","category":"c","operationName":"o"}"#
        ));
    }

    #[test]
    fn a_file_longer_than_the_head_is_scanned_whole() {
        // Sign-ins fill the head; one audit record comes after it.
        let mut text = String::from("{\"records\": [\n");
        let sign_in = r#"{"time": "2024-08-02T08:23:24Z", "resourceId": "/tenants/t", "category": "SignInLogs", "properties": {"userPrincipalName": "a@b"}},"#;
        while text.len() < SNIFF_BYTES + 100 {
            text.push_str(sign_in);
            text.push('\n');
        }
        text.push_str(r#"{"time": "2024-08-02T08:23:25Z", "resourceId": "/tenants/t", "category": "AuditLogs", "properties": {}}"#);
        text.push_str("\n]}");
        let path = std::env::temp_dir().join(format!("spoor-azure-{}.json", std::process::id()));
        std::fs::write(&path, &text).unwrap();
        let tables = tables_in(&text.as_bytes()[..SNIFF_BYTES], &path);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(tables, vec!["SigninLogs", "AuditLogs"]);
    }

    #[test]
    fn quick_scan_agrees_with_parsing() {
        let records = [
            r#"{"time":"t","category":"SignInLogs","resourceId":"/x","properties":{"category":"AuditLogs"}}"#,
            r#"{ "properties": {"category": "kube-audit"}, "Category" : "AuditLogs", "operationName": "o", "time": 5 }"#,
            r#"{"time":"t","category":"StorageRead","resourceId":"/s/blobServices/default","x":[1,{"a":"]"}]}"#,
            r#"{"time":"t","category":"StorageRead","resourceId":"/s/fileServices/default"}"#,
            r#"{"time":"t","category":"kube-audit-admin","resourceId":"/aks"}"#,
            r#"{"time":"t","category":"Administrative","operationName":"MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE"}"#,
            r#"{"time":"t","category":"c"}"#,
        ];
        for r in records {
            let quick = quick_tables(r.as_bytes()).expect(r);
            let full = parse_object(r)
                .filter(|o| is_record(o))
                .and_then(|o| tables_of(&o))
                .unwrap_or_default();
            assert_eq!(quick, full, "{r}");
        }
        // Escapes, and what is not an object, go to the parser.
        assert!(
            quick_tables(br#"{"time":"t","category":"Sign\u0049nLogs","resourceId":"/x"}"#)
                .is_none()
        );
        assert!(quick_tables(b"[1, 2]").is_none());
    }

    #[test]
    fn app_service_http_logs_fill_their_table() {
        let text = r#"{"time": "2023-08-09T10:00:01.0000000Z", "resourceId": "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.WEB/SITES/SHOP", "category": "AppServiceHTTPLogs", "operationName": "Microsoft.Web/sites/log", "properties": {"CsHost": "shop.azurewebsites.net", "CIp": "203.0.113.7", "SPort": "443", "CsUriStem": "/wp-login.php", "CsUriQuery": "", "CsMethod": "GET", "TimeTaken": 12, "ScStatus": "404", "Result": "Success", "CsBytes": "310", "ScBytes": "1742", "UserAgent": "sqlmap/1.7.2", "Referer": "-"}}
"#;
        let f = &AZURE_DIAGNOSTIC_RECORDS;
        assert!(f.sniff(text.as_bytes()));
        assert_eq!(
            f.tables_in(text.as_bytes(), Path::new("PT1H.json")),
            vec!["AppServiceHTTPLogs"]
        );
        let (batches, bad) = decode_text(
            f,
            text,
            "PT1H.json",
            "AppServiceHTTPLogs",
            &["CIp", "CsUriStem", "ScStatus", "UserAgent", "_ResourceId"],
            10,
        );
        assert!(bad.is_empty(), "{bad:?}");
        let b = &batches[0];
        assert_eq!(strings(b, 0), vec![Some("203.0.113.7".into())]);
        assert_eq!(strings(b, 1), vec![Some("/wp-login.php".into())]);
        let status = b
            .column(2)
            .as_any()
            .downcast_ref::<arrow::array::Int32Array>()
            .unwrap();
        assert_eq!(status.value(0), 404);
        assert_eq!(strings(b, 3), vec![Some("sqlmap/1.7.2".into())]);
    }
}
