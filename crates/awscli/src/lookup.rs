//! `aws cloudtrail lookup-events` over local CloudTrail evidence.
//!
//! CloudTrail's LookupEvents API searches a Region's last 90 days of management events by one
//! lookup attribute and a time range, and answers with `{"Events": [...]}`, newest first, each
//! event summarised (EventId, EventName, ReadOnly, AccessKeyId, EventTime, EventSource,
//! Username, Resources) with the whole record as a JSON string (CloudTrailEvent). Here the
//! events are the evidence's `cloudtrail` table (CloudTrail's own field names).
//! <https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html>

use std::cmp::Reverse;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::{Expr, LogicalPlanBuilder, ident, lit};
use serde_json::{Map, Value, json};
use spoor_engine::{Engine, RecordBatch};

/// The attribute keys LookupEvents accepts (API_LookupAttribute: AttributeKey).
pub const ATTRIBUTE_KEYS: [&str; 8] = [
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
];

/// The one attribute a lookup filters on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupAttribute {
    /// One of [`ATTRIBUTE_KEYS`].
    pub key: String,
    pub value: String,
}

/// What to look up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LookupRequest {
    pub attribute: Option<LookupAttribute>,
    /// Events at or after this time (ns since the epoch).
    pub start_ns: Option<i64>,
    /// Events at or before this time.
    pub end_ns: Option<i64>,
    /// Only events of this Region (LookupEvents answers for one Region: `--region`).
    pub region: Option<String>,
    /// At most this many events, the newest (the AWS CLI's `--max-results`).
    pub max_results: Option<usize>,
}

/// The answer: the events, newest first, and how many more matched beyond `--max-results`.
#[derive(Debug, Clone, PartialEq)]
pub struct LookupResponse {
    pub events: Vec<Value>,
    pub left_off: usize,
}

impl LookupResponse {
    /// The response as the AWS CLI prints it: `{"Events": [...]}`.
    pub fn to_json(&self) -> Value {
        json!({ "Events": self.events })
    }
}

/// Parses the values of `--lookup-attributes`, in the AWS CLI's shorthand
/// (`AttributeKey=EventName,AttributeValue=ListBuckets`) or JSON
/// (`[{"AttributeKey": "EventName", "AttributeValue": "ListBuckets"}]`). LookupEvents takes one
/// attribute; more is an error, as the API's is.
pub fn parse_lookup_attributes(values: &[String]) -> Result<Option<LookupAttribute>, String> {
    let mut attributes = Vec::new();
    for v in values {
        let t = v.trim();
        if t.starts_with('[') || t.starts_with('{') {
            let parsed: Value = serde_json::from_str(t).map_err(|e| {
                format!("--lookup-attributes {v}: not JSON ({e}); write AttributeKey=KEY,AttributeValue=VALUE or [{{\"AttributeKey\": KEY, \"AttributeValue\": VALUE}}]")
            })?;
            let items = match parsed {
                Value::Array(items) => items,
                one => vec![one],
            };
            for item in items {
                let key = item.get("AttributeKey").and_then(Value::as_str);
                let value = item.get("AttributeValue").and_then(Value::as_str);
                match (key, value) {
                    (Some(k), Some(val)) => attributes.push(attribute(k, val)?),
                    _ => {
                        return Err(format!(
                            "--lookup-attributes {v}: each attribute needs \"AttributeKey\" and \"AttributeValue\" strings"
                        ));
                    }
                }
            }
        } else {
            attributes.push(parse_shorthand(v)?);
        }
    }
    match attributes.len() {
        0 | 1 => Ok(attributes.pop()),
        n => Err(format!(
            "--lookup-attributes: {n} attributes given ({}), but LookupEvents takes one lookup \
             attribute (AWS allows only one); look up by one and filter further with --query \
             or --jq",
            attributes
                .iter()
                .map(|a| format!("{}={}", a.key, a.value))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// `AttributeKey=K,AttributeValue=V` (either order).
fn parse_shorthand(text: &str) -> Result<LookupAttribute, String> {
    let (mut key, mut value) = (None, None);
    let usage = "write AttributeKey=KEY,AttributeValue=VALUE, e.g. \
                 AttributeKey=EventName,AttributeValue=ListBuckets";
    // A value may itself hold commas (a resource name): everything after `AttributeValue=` up
    // to a following `,AttributeKey=` is the value.
    let mut rest = text;
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once('=')
            .ok_or_else(|| format!("--lookup-attributes {text}: {usage}"))?;
        let (val, next) = match name.trim() {
            "AttributeValue" => match after.find(",AttributeKey=") {
                Some(i) => (&after[..i], &after[i + 1..]),
                None => (after, ""),
            },
            _ => match after.split_once(',') {
                Some((val, next)) => (val, next),
                None => (after, ""),
            },
        };
        match name.trim() {
            "AttributeKey" => key = Some(val.trim()),
            "AttributeValue" => value = Some(val),
            other => {
                return Err(format!(
                    "--lookup-attributes {text}: unknown field {other:?}; {usage}"
                ));
            }
        }
        rest = next;
    }
    match (key, value) {
        (Some(k), Some(v)) => attribute(k, v),
        (None, _) => Err(format!(
            "--lookup-attributes {text}: AttributeKey is missing; {usage}"
        )),
        (_, None) => Err(format!(
            "--lookup-attributes {text}: AttributeValue is missing; {usage}"
        )),
    }
}

/// Checks a key against the API's list and a value against its constraints.
fn attribute(key: &str, value: &str) -> Result<LookupAttribute, String> {
    if !ATTRIBUTE_KEYS.contains(&key) {
        let hint = spoor_core::did_you_mean(key, ATTRIBUTE_KEYS)
            .map(|k| format!(" (did you mean {k}?)"))
            .unwrap_or_default();
        return Err(format!(
            "--lookup-attributes: AttributeKey {key:?} is not one LookupEvents knows{hint}; the keys are {}",
            ATTRIBUTE_KEYS.join(", ")
        ));
    }
    if value.is_empty() {
        return Err(format!(
            "--lookup-attributes: the AttributeValue of {key} is empty (the API requires 1 to 2000 characters)"
        ));
    }
    if key == "ReadOnly" && value != "true" && value != "false" {
        return Err(format!(
            "--lookup-attributes: ReadOnly is true or false, not {value:?}"
        ));
    }
    Ok(LookupAttribute {
        key: key.to_string(),
        value: value.to_string(),
    })
}

/// Parses `--start-time`/`--end-time` as the AWS CLI takes timestamps: ISO 8601
/// (`2023-08-09T07:00:00Z`, a date alone, an offset) or seconds since the epoch. A time with no
/// offset is taken as UTC.
pub fn parse_timestamp(flag: &str, text: &str) -> Result<i64, String> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>()
        && secs.is_finite()
    {
        return Ok((secs * 1e9).round() as i64);
    }
    spoor_functions::datetime::parse_kql_datetime(t).ok_or_else(|| {
        format!(
            "{flag} {text:?} is not a timestamp; write ISO 8601 (2023-08-09T07:00:00Z) or seconds since the epoch"
        )
    })
}

/// Looks events up: the attributes that are columns of the `cloudtrail` table (EventId,
/// EventName, EventSource, ReadOnly), the time range and the Region filter in the plan (the
/// source skips what cannot match); Username, AccessKeyId and the resources, which CloudTrail
/// derives from nested fields, on the events built from the rows.
pub async fn lookup_events(engine: &Engine, request: &LookupRequest) -> DfResult<LookupResponse> {
    // `ident`, not `col`: CloudTrail names are case-sensitive (`eventName`).
    let mut filters: Vec<Expr> = Vec::new();
    if let Some(a) = &request.attribute {
        let column = match a.key.as_str() {
            "EventId" => Some("eventID"),
            "EventName" => Some("eventName"),
            "EventSource" => Some("eventSource"),
            _ => None,
        };
        if let Some(c) = column {
            filters.push(ident(c).eq(lit(a.value.clone())));
        }
        if a.key == "ReadOnly" {
            filters.push(ident("readOnly").eq(lit(a.value == "true")));
        }
    }
    let time = |ns: i64| lit(ScalarValue::TimestampNanosecond(Some(ns), None));
    if let Some(start) = request.start_ns {
        filters.push(ident("eventTime").gt_eq(time(start)));
    }
    if let Some(end) = request.end_ns {
        filters.push(ident("eventTime").lt_eq(time(end)));
    }
    if let Some(region) = &request.region {
        filters.push(ident("awsRegion").eq(lit(region.clone())));
    }
    let mut plan = LogicalPlanBuilder::from(spoor_engine::scan_plan("cloudtrail")?);
    if let Some(all) = filters.into_iter().reduce(Expr::and) {
        plan = plan.filter(all)?;
    }
    let batches = engine.execute(plan.build()?).await?;
    let mut events: Vec<(i64, String, Value)> = Vec::new();
    for record in records(&batches) {
        let time = record.time_ns.unwrap_or(i64::MIN);
        let event = summarise(&record.fields, record.time_ns);
        if request
            .attribute
            .as_ref()
            .is_none_or(|a| matches_attribute(&event, a))
        {
            let id = record
                .fields
                .get("eventID")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            events.push((time, id, event));
        }
    }
    // Newest first, as the API answers; the event id orders events of the same second so that
    // the answer does not depend on the order files were read in.
    events.sort_by_key(|(t, id, _)| Reverse((*t, id.clone())));
    let total = events.len();
    let keep = request.max_results.unwrap_or(total).min(total);
    events.truncate(keep);
    Ok(LookupResponse {
        events: events.into_iter().map(|(_, _, e)| e).collect(),
        left_off: total - keep,
    })
}

/// One row of the `cloudtrail` table: the record's fields as JSON (absent ones left out) and
/// its time.
struct Record {
    fields: Map<String, Value>,
    time_ns: Option<i64>,
}

fn records(batches: &[RecordBatch]) -> Vec<Record> {
    let mut out = Vec::new();
    for batch in batches {
        let schema = batch.schema();
        let columns: Vec<(String, spoor_catalog::KqlType, ArrayRef)> = schema
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(f, a)| {
                let ty = spoor_catalog::KqlType::from_arrow(f.data_type())
                    .unwrap_or(spoor_catalog::KqlType::String);
                (f.name().clone(), ty, a.clone())
            })
            .collect();
        let dynamic: std::collections::HashSet<&str> = spoor_catalog::catalog()
            .table("cloudtrail")
            .map(|def| {
                def.columns
                    .iter()
                    .filter(|c| c.ty == spoor_catalog::KqlType::Dynamic)
                    .map(|c| c.name.as_str())
                    .collect()
            })
            .unwrap_or_default();
        // Strings of every text layout read the same way.
        let columns: Vec<(String, bool, ArrayRef)> = columns
            .into_iter()
            .map(|(name, _, a)| {
                let a = match a.data_type() {
                    DataType::LargeUtf8 | DataType::Utf8View => {
                        cast(&a, &DataType::Utf8).unwrap_or(a)
                    }
                    DataType::Timestamp(unit, _) if *unit != TimeUnit::Nanosecond => {
                        cast(&a, &DataType::Timestamp(TimeUnit::Nanosecond, None)).unwrap_or(a)
                    }
                    _ => a,
                };
                let is_dynamic = dynamic.contains(name.as_str());
                (name, is_dynamic, a)
            })
            .collect();
        for row in 0..batch.num_rows() {
            let mut fields = Map::new();
            let mut time_ns = None;
            for (name, is_dynamic, a) in &columns {
                if a.is_null(row) {
                    continue;
                }
                let value = match a.data_type() {
                    DataType::Utf8 => {
                        let s = a.as_string::<i32>().value(row);
                        if *is_dynamic {
                            serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.into()))
                        } else {
                            Value::String(s.to_string())
                        }
                    }
                    DataType::Boolean => Value::Bool(a.as_boolean().value(row)),
                    DataType::Timestamp(TimeUnit::Nanosecond, _) => {
                        let ns = a
                            .as_primitive::<datafusion::arrow::datatypes::TimestampNanosecondType>()
                            .value(row);
                        if name == "eventTime" {
                            time_ns = Some(ns);
                        }
                        Value::String(cloudtrail_time(ns))
                    }
                    _ => Value::String(
                        datafusion::arrow::util::display::array_value_to_string(a, row)
                            .unwrap_or_default(),
                    ),
                };
                fields.insert(name.clone(), value);
            }
            out.push(Record { fields, time_ns });
        }
    }
    out
}

/// The order CloudTrail writes a record's fields in (record contents reference), which the
/// CloudTrailEvent string keeps.
const RECORD_ORDER: [&str; 31] = [
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "requestID",
    "eventID",
    "readOnly",
    "resources",
    "eventType",
    "apiVersion",
    "managementEvent",
    "recipientAccountId",
    "serviceEventDetails",
    "sharedEventID",
    "vpcEndpointId",
    "vpcEndpointAccountId",
    "eventCategory",
    "addendum",
    "sessionCredentialFromConsole",
    "edgeDeviceDetails",
    "tlsDetails",
    "insightDetails",
];

/// The record as CloudTrail wrote it, as far as the `cloudtrail` table keeps it (its documented
/// fields, in CloudTrail's order). CloudTrail writes requestParameters and responseElements
/// even when they are null; the table cannot tell null from absent, so they are always written.
fn cloudtrail_event(fields: &Map<String, Value>) -> Value {
    let mut record = Map::new();
    for name in RECORD_ORDER {
        match fields.get(name) {
            Some(v) => {
                record.insert(name.to_string(), v.clone());
            }
            None if name == "requestParameters" || name == "responseElements" => {
                record.insert(name.to_string(), Value::Null);
            }
            None => {}
        }
    }
    for (name, v) in fields {
        if !record.contains_key(name) {
            record.insert(name.clone(), v.clone());
        }
    }
    Value::Object(record)
}

/// A time as CloudTrail writes `eventTime`: `2023-08-09T07:58:02Z`.
fn cloudtrail_time(ns: i64) -> String {
    let (secs, frac) = (ns.div_euclid(1_000_000_000), ns.rem_euclid(1_000_000_000));
    match chrono::DateTime::from_timestamp(secs, frac as u32) {
        Some(t) if frac == 0 => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => ns.to_string(),
    }
}

/// A time as the AWS CLI (version 2, `cli_timestamp_format = iso8601`) prints one: Python's
/// `isoformat()`, `2023-08-09T07:58:02+00:00`. The CLI prints it in the machine's time zone;
/// spoor prints UTC, so that the answer does not depend on where it runs.
pub fn aws_cli_time(ns: i64) -> String {
    let (secs, frac) = (ns.div_euclid(1_000_000_000), ns.rem_euclid(1_000_000_000));
    match chrono::DateTime::from_timestamp(secs, frac as u32) {
        Some(t) if frac < 1000 => t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string(),
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string(),
        None => ns.to_string(),
    }
}

/// The event as LookupEvents returns it, fields in the API's order; absent ones are left out,
/// as the API leaves them out.
fn summarise(fields: &Map<String, Value>, time_ns: Option<i64>) -> Value {
    let text = |name: &str| fields.get(name).and_then(Value::as_str).map(str::to_string);
    let identity = fields.get("userIdentity");
    let mut event = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            event.insert(k.to_string(), v);
        }
    };
    put("EventId", text("eventID").map(Value::String));
    put("EventName", text("eventName").map(Value::String));
    put(
        "ReadOnly",
        fields
            .get("readOnly")
            .and_then(Value::as_bool)
            .map(|b| Value::String(b.to_string())),
    );
    put(
        "AccessKeyId",
        identity
            .and_then(|u| u.get("accessKeyId"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(|s| Value::String(s.into())),
    );
    put(
        "EventTime",
        time_ns.map(|ns| Value::String(aws_cli_time(ns))),
    );
    put("EventSource", text("eventSource").map(Value::String));
    put("Username", identity.and_then(username).map(Value::String));
    put("Resources", Some(Value::Array(resources(fields))));
    let record = cloudtrail_event(fields);
    put("CloudTrailEvent", Some(Value::String(record.to_string())));
    Value::Object(event)
}

/// The user name LookupEvents reports for a `userIdentity`: the IAM user's name; for an
/// assumed role or a federated user, the session name (the last part of the ARN: for an EC2
/// instance profile, the instance id `i-...`); `root` for the account's root user. Other
/// identities (an AWS service acting on its own) have none.
pub fn username(identity: &Value) -> Option<String> {
    let field = |name: &str| {
        identity
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    if let Some(name) = field("userName") {
        return Some(name.to_string());
    }
    match field("type")? {
        "Root" => Some("root".to_string()),
        "AssumedRole" | "FederatedUser" => {
            let from_arn = field("arn").and_then(|arn| arn.rsplit_once('/').map(|(_, s)| s));
            let from_principal =
                || field("principalId").and_then(|p| p.split_once(':').map(|(_, s)| s));
            from_arn
                .or_else(from_principal)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        }
        _ => None,
    }
}

/// Where CloudTrail's lookup finds the resources of an event: the record's `resources`
/// (type and ARN), and the request parameters that name one for the services hunts look at
/// (an approximation: the service keeps its own list, which is not published).
const REQUEST_RESOURCES: [(&str, &str, &str); 7] = [
    ("s3.amazonaws.com", "/bucketName", "AWS::S3::Bucket"),
    (
        "cloudtrail.amazonaws.com",
        "/name",
        "AWS::CloudTrail::Trail",
    ),
    ("iam.amazonaws.com", "/userName", "AWS::IAM::User"),
    ("iam.amazonaws.com", "/roleName", "AWS::IAM::Role"),
    ("iam.amazonaws.com", "/policyArn", "AWS::IAM::Policy"),
    ("iam.amazonaws.com", "/accessKeyId", "AWS::IAM::AccessKey"),
    ("ec2.amazonaws.com", "/instanceId", "AWS::EC2::Instance"),
];

fn resources(fields: &Map<String, Value>) -> Vec<Value> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut add = |ty: &str, name: &str| {
        let pair = (ty.to_string(), name.to_string());
        if !name.is_empty() && !out.contains(&pair) {
            out.push(pair);
        }
    };
    let source = fields
        .get("eventSource")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if let Some(params) = fields.get("requestParameters") {
        for (service, pointer, ty) in REQUEST_RESOURCES {
            if service == source
                && let Some(name) = params.pointer(pointer).and_then(Value::as_str)
            {
                add(ty, name);
            }
        }
        if source == "ec2.amazonaws.com"
            && let Some(items) = params
                .pointer("/instancesSet/items")
                .and_then(Value::as_array)
        {
            for item in items {
                if let Some(id) = item.get("instanceId").and_then(Value::as_str) {
                    add("AWS::EC2::Instance", id);
                }
            }
        }
    }
    if let Some(Value::Array(items)) = fields.get("resources") {
        for item in items {
            let ty = item.get("type").and_then(Value::as_str);
            let arn = item.get("ARN").and_then(Value::as_str);
            if let (Some(ty), Some(arn)) = (ty, arn) {
                add(ty, arn);
            }
        }
    }
    out.into_iter()
        .map(|(ty, name)| json!({"ResourceType": ty, "ResourceName": name}))
        .collect()
}

/// Whether a summarised event matches the lookup attribute (values compared exactly, as the
/// API compares them).
pub fn matches_attribute(event: &Value, attribute: &LookupAttribute) -> bool {
    let value = attribute.value.as_str();
    let field = |name: &str| event.get(name).and_then(Value::as_str) == Some(value);
    match attribute.key.as_str() {
        "EventId" | "EventName" | "ReadOnly" | "Username" | "EventSource" | "AccessKeyId" => {
            field(&attribute.key)
        }
        "ResourceType" | "ResourceName" => event
            .get("Resources")
            .and_then(Value::as_array)
            .is_some_and(|rs| {
                rs.iter()
                    .any(|r| r.get(&attribute.key).and_then(Value::as_str) == Some(value))
            }),
        // Keys are checked when parsed; an unknown one matches nothing.
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("an object"),
        }
    }

    fn instance_role() -> Value {
        json!({"type": "AssumedRole", "principalId": "AROAWEB:i-0abc1234def567890",
               "arn": "arn:aws:sts::111122223333:assumed-role/web-server-role/i-0abc1234def567890",
               "accessKeyId": "ASIAWEBROLE00001",
               "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "web-server-role"}}})
    }

    #[test]
    fn usernames_are_those_cloudtrail_reports() {
        assert_eq!(
            username(&instance_role()).as_deref(),
            Some("i-0abc1234def567890")
        );
        assert_eq!(
            username(&json!({"type": "IAMUser", "userName": "mallory",
                              "arn": "arn:aws:iam::111122223333:user/mallory"}))
            .as_deref(),
            Some("mallory")
        );
        assert_eq!(
            username(&json!({"type": "Root", "arn": "arn:aws:iam::111122223333:root"})).as_deref(),
            Some("root")
        );
        // No ARN: the session name from the principal id.
        assert_eq!(
            username(&json!({"type": "AssumedRole", "principalId": "AROAX:alice@example.com"}))
                .as_deref(),
            Some("alice@example.com")
        );
        assert_eq!(
            username(&json!({"type": "AWSService", "invokedBy": "ec2.amazonaws.com"})),
            None
        );
    }

    #[test]
    fn lookup_attributes_parse_as_the_aws_cli_reads_them() {
        let one = |s: &str| parse_lookup_attributes(&[s.to_string()]);
        assert_eq!(
            one("AttributeKey=EventName,AttributeValue=ListBuckets").unwrap(),
            Some(LookupAttribute {
                key: "EventName".into(),
                value: "ListBuckets".into()
            })
        );
        assert_eq!(
            one("AttributeValue=a,b,AttributeKey=ResourceName")
                .unwrap()
                .unwrap()
                .value,
            "a,b"
        );
        assert_eq!(
            one(r#"[{"AttributeKey":"Username","AttributeValue":"i-1"}]"#)
                .unwrap()
                .unwrap()
                .key,
            "Username"
        );
        let e = one("AttributeKey=eventname,AttributeValue=X").unwrap_err();
        assert!(e.contains("did you mean EventName?"), "{e}");
        let e = one("AttributeKey=EventName").unwrap_err();
        assert!(e.contains("AttributeValue is missing"), "{e}");
        let e = one("EventName=ListBuckets").unwrap_err();
        assert!(e.contains("unknown field \"EventName\""), "{e}");
        let e = one("AttributeKey=ReadOnly,AttributeValue=yes").unwrap_err();
        assert!(e.contains("true or false"), "{e}");
        let e = parse_lookup_attributes(&[
            "AttributeKey=EventName,AttributeValue=A".into(),
            "AttributeKey=Username,AttributeValue=B".into(),
        ])
        .unwrap_err();
        assert!(e.contains("takes one lookup attribute"), "{e}");
        assert_eq!(parse_lookup_attributes(&[]).unwrap(), None);
    }

    #[test]
    fn attributes_match_the_summarised_event() {
        let f = fields(json!({
            "userIdentity": instance_role(),
            "eventSource": "s3.amazonaws.com", "eventName": "CreateBucket", "eventID": "e1",
            "readOnly": false,
            "requestParameters": {"bucketName": "exfil-staging-7731", "Host": "x"},
        }));
        let event = summarise(&f, Some(1_691_568_073_000_000_000));
        let is = |k: &str, v: &str| {
            matches_attribute(
                &event,
                &LookupAttribute {
                    key: k.into(),
                    value: v.into(),
                },
            )
        };
        assert!(is("Username", "i-0abc1234def567890"));
        assert!(!is("Username", "web-server-role"));
        assert!(is("AccessKeyId", "ASIAWEBROLE00001"));
        assert!(is("ReadOnly", "false"));
        assert!(is("ResourceType", "AWS::S3::Bucket"));
        assert!(is("ResourceName", "exfil-staging-7731"));
        assert!(!is("EventName", "createbucket"), "values compare exactly");
        assert_eq!(event["EventTime"], "2023-08-09T08:01:13+00:00");
        let keys: Vec<&String> = event.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "EventId",
                "EventName",
                "ReadOnly",
                "AccessKeyId",
                "EventTime",
                "EventSource",
                "Username",
                "Resources",
                "CloudTrailEvent"
            ]
        );
        let record: Value =
            serde_json::from_str(event["CloudTrailEvent"].as_str().unwrap()).unwrap();
        assert_eq!(record["eventName"], "CreateBucket");
        assert_eq!(record["responseElements"], Value::Null);
    }

    #[test]
    fn timestamps_parse_as_the_aws_cli_takes_them() {
        let t = 1_691_568_000_000_000_000;
        assert_eq!(parse_timestamp("--start-time", "1691568000").unwrap(), t);
        assert_eq!(
            parse_timestamp("--start-time", "2023-08-09T08:00:00Z").unwrap(),
            t
        );
        assert!(
            parse_timestamp("--end-time", "yesterday")
                .unwrap_err()
                .contains("--end-time")
        );
        assert_eq!(
            aws_cli_time(t + 500_000_000),
            "2023-08-09T08:00:00.500000+00:00"
        );
    }
}
