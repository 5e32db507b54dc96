//! AWS CloudTrail: the `{"Records":[...]}` files S3 delivery writes, plain JSON arrays of events
//! (pretty-printed or not), and JSON lines (one event per line).
//!
//! Fills `AWSCloudTrail` (Log Analytics names, nested fields promoted to columns) and
//! `cloudtrail` (CloudTrail's own field names, nested objects as JSON text).
//!
//! Speed: an event is parsed once into a struct of borrowed raw JSON slices (serde derive +
//! `RawValue`), and only the projected columns are converted. Nested objects (`userIdentity`,
//! `sessionContext`, `tlsDetails`...) are parsed only when a projected column needs them. Arrays
//! are streamed element by element: a scanner finds each element's extent in a refillable
//! window and the element is parsed in place, so a file is never held in memory whole.

use std::borrow::Cow;
use std::io::BufRead;
use std::path::Path;

use memchr::{memchr, memchr2, memmem};
use serde::Deserialize;
use serde_json::value::RawValue;
use spoor_catalog::{KqlType, TableDef};

use crate::batch::{Batcher, Decoding, RowDecoder, Scalar, Unit, Units, convert, parse_time};
use crate::lines::{Lines, Window};
use crate::{Batches, ColumnEquals, Format, Position, SourceError, check_table};

/// The CloudTrail format.
pub struct CloudTrail;

/// Table names.
pub const AWS_CLOUDTRAIL: &str = "AWSCloudTrail";
pub const CLOUDTRAIL: &str = "cloudtrail";

impl Format for CloudTrail {
    fn name(&self) -> &'static str {
        "cloudtrail"
    }

    fn description(&self) -> &'static str {
        "AWS CloudTrail events: S3 delivery files ({\"Records\":[...]}, usually .json.gz), JSON arrays of \
         events and JSON lines"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[AWS_CLOUDTRAIL, CLOUDTRAIL]
    }

    fn sniff(&self, head: &[u8]) -> bool {
        let s = skip_ws(strip_bom(head));
        match s.first() {
            Some(b'{') => {
                let inner = skip_ws(&s[1..]);
                if let Some(rest) = inner.strip_prefix(b"\"Records\"") {
                    let rest = skip_ws(rest);
                    if let Some(rest) = rest.strip_prefix(b":") {
                        let rest = skip_ws(rest);
                        if let Some(rest) = rest.strip_prefix(b"[") {
                            // An empty trail file, or one whose first record is an event.
                            return skip_ws(rest).first() == Some(&b']') || looks_like_events(rest);
                        }
                    }
                    return false;
                }
                // JSON lines: the first line must be an event.
                let first = &s[..memchr(b'\n', s).unwrap_or(s.len())];
                looks_like_events(first)
            }
            Some(b'[') => looks_like_events(s),
            _ => false,
        }
    }

    fn splittable(&self, head: &[u8]) -> bool {
        // JSON lines; not a `{"Records": [...]}` file, whose one object may span lines.
        let s = skip_ws(strip_bom(head));
        s.starts_with(b"{")
            && !skip_ws(&s[1..]).starts_with(b"\"Records\"")
            && matches!(
                crate::events::first_event(head),
                Some((crate::events::Layout::Lines, _))
            )
    }

    fn decode(
        &self,
        input: Box<dyn BufRead + Send>,
        file: &Path,
        table: &TableDef,
        projection: &[usize],
        batch_size: usize,
    ) -> Result<Batches, SourceError> {
        self.decode_prefiltered(input, file, table, projection, batch_size, &[])
    }

    fn decode_prefiltered(
        &self,
        input: Box<dyn BufRead + Send>,
        file: &Path,
        table: &TableDef,
        projection: &[usize],
        batch_size: usize,
        equals: &[ColumnEquals],
    ) -> Result<Batches, SourceError> {
        check_table(self, table)?;
        let batcher = Batcher::new(table, projection, batch_size)?;
        let mut decoder = EventDecoder::new(table, projection);
        decoder.prefilter = Prefilter::new(table, equals);
        let mut window = Window::new(input);
        let units = match detect_shape(&mut window) {
            Ok(Shape::Lines) => CtUnits::Lines(Lines::from_window(window)),
            Ok(Shape::Array) => CtUnits::Array(JsonArray::new(window, None)),
            Ok(Shape::Records) => CtUnits::Array(JsonArray::new(window, Some("Records"))),
            Err(source) => {
                return Err(SourceError::Read {
                    path: file.to_path_buf(),
                    position: Position::Byte(0),
                    source,
                });
            }
        };
        Ok(Box::new(Decoding::new(units, decoder, batcher, file)))
    }
}

/// Without a UTF-8 byte order mark (shared by the JSON formats).
pub(crate) fn strip_bom(b: &[u8]) -> &[u8] {
    b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b)
}

/// Without leading ASCII whitespace (shared by the JSON formats).
pub(crate) fn skip_ws(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &b[n..]
}

/// Whether the text holds the keys every CloudTrail event has (S3 event notifications, which also
/// use `Records` and `eventSource`, have no `eventType`, `eventID` or `recipientAccountId`).
fn looks_like_events(text: &[u8]) -> bool {
    let has = |k: &str| memmem::find(text, k.as_bytes()).is_some();
    has("\"eventSource\"")
        && has("\"eventName\"")
        && (has("\"eventType\"") || has("\"eventID\"") || has("\"recipientAccountId\""))
}

// ---------------------------------------------------------------------------------------------
// Events as borrowed raw slices.

/// A struct of optional raw JSON values (`null` is `None`), an enum naming its fields, and a
/// getter from the enum, so that columns are resolved to fields once per file, not per row.
macro_rules! raw_object {
    ($name:ident, $key:ident, $expecting:literal { $($variant:ident $field:ident = $json:literal,)* }) => {
        #[derive(Deserialize, Default)]
        #[serde(expecting = $expecting)]
        struct $name<'a> {
            $( #[serde(rename = $json, borrow, default)] $field: Option<&'a RawValue>, )*
        }

        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum $key { $($variant,)* }

        impl<'a> $name<'a> {
            fn get(&self, k: $key) -> Option<&'a RawValue> {
                match k { $($key::$variant => self.$field,)* }
            }
        }

        impl $key {
            #[allow(dead_code)]
            fn by_json(name: &str) -> Option<$key> {
                match name { $($json => Some($key::$variant),)* _ => None }
            }
        }
    };
}

raw_object!(RawEvent, Top, "a CloudTrail event (a JSON object)" {
    EventVersion event_version = "eventVersion",
    UserIdentity user_identity = "userIdentity",
    EventTime event_time = "eventTime",
    EventSource event_source = "eventSource",
    EventName event_name = "eventName",
    AwsRegion aws_region = "awsRegion",
    SourceIpAddress source_ip_address = "sourceIPAddress",
    UserAgent user_agent = "userAgent",
    ErrorCode error_code = "errorCode",
    ErrorMessage error_message = "errorMessage",
    RequestParameters request_parameters = "requestParameters",
    ResponseElements response_elements = "responseElements",
    AdditionalEventData additional_event_data = "additionalEventData",
    RequestId request_id = "requestID",
    EventId event_id = "eventID",
    ReadOnly read_only = "readOnly",
    Resources resources = "resources",
    EventType event_type = "eventType",
    ApiVersion api_version = "apiVersion",
    ManagementEvent management_event = "managementEvent",
    RecipientAccountId recipient_account_id = "recipientAccountId",
    ServiceEventDetails service_event_details = "serviceEventDetails",
    SharedEventId shared_event_id = "sharedEventID",
    VpcEndpointId vpc_endpoint_id = "vpcEndpointId",
    VpcEndpointAccountId vpc_endpoint_account_id = "vpcEndpointAccountId",
    EventCategory event_category = "eventCategory",
    Addendum addendum = "addendum",
    SessionCredentialFromConsole session_credential_from_console = "sessionCredentialFromConsole",
    EdgeDeviceDetails edge_device_details = "edgeDeviceDetails",
    TlsDetails tls_details = "tlsDetails",
    InsightDetails insight_details = "insightDetails",
});

raw_object!(UserIdentity, Ui, "a userIdentity object" {
    Type kind = "type",
    PrincipalId principal_id = "principalId",
    Arn arn = "arn",
    AccountId account_id = "accountId",
    AccessKeyId access_key_id = "accessKeyId",
    UserName user_name = "userName",
    InvokedBy invoked_by = "invokedBy",
    SessionContext session_context = "sessionContext",
    OnBehalfOf on_behalf_of = "onBehalfOf",
});

raw_object!(SessionContext, Ctx, "a sessionContext object" {
    SessionIssuer session_issuer = "sessionIssuer",
    Attributes attributes = "attributes",
    Ec2RoleDelivery ec2_role_delivery = "ec2RoleDelivery",
});

raw_object!(SessionIssuer, Issuer, "a sessionIssuer object" {
    Type kind = "type",
    PrincipalId principal_id = "principalId",
    Arn arn = "arn",
    AccountId account_id = "accountId",
    UserName user_name = "userName",
});

raw_object!(Attributes, Attr, "a session attributes object" {
    CreationDate creation_date = "creationDate",
    MfaAuthenticated mfa_authenticated = "mfaAuthenticated",
});

raw_object!(OnBehalfOf, OnBehalf, "an onBehalfOf object" {
    UserId user_id = "userId",
    IdentityStoreArn identity_store_arn = "identityStoreArn",
});

raw_object!(TlsDetails, Tls, "a tlsDetails object" {
    Version tls_version = "tlsVersion",
    CipherSuite cipher_suite = "cipherSuite",
    ClientProvidedHostHeader client_provided_host_header = "clientProvidedHostHeader",
});

// Security group rules in requestParameters: either flat (the older EC2 API form) or as
// ipPermissions.items[0] with ipRanges.items[0].cidrIp.
raw_object!(Permission, Perm, "a requestParameters object" {
    IpProtocol ip_protocol = "ipProtocol",
    FromPort from_port = "fromPort",
    ToPort to_port = "toPort",
    CidrIp cidr_ip = "cidrIp",
    IpPermissions ip_permissions = "ipPermissions",
    IpRanges ip_ranges = "ipRanges",
});

#[derive(Deserialize)]
struct Items<'a> {
    #[serde(borrow, default)]
    items: Option<Vec<&'a RawValue>>,
}

/// Parses a nested object; anything that is not an object of the expected shape is absent.
fn nested<'a, T: Deserialize<'a>>(raw: Option<&'a RawValue>) -> Option<T> {
    let raw = raw?;
    if !raw.get().starts_with('{') {
        return None;
    }
    serde_json::from_str(raw.get()).ok()
}

fn first_item(raw: Option<&RawValue>) -> Option<&RawValue> {
    let items: Items<'_> = nested(raw)?;
    items.items?.into_iter().next()
}

/// The text of a value: strings unquoted and unescaped, other scalars as written, objects and
/// arrays as JSON text (compacted when pretty-printed).
pub(crate) fn text(raw: &RawValue) -> Cow<'_, str> {
    let s = raw.get();
    if s.starts_with('"') {
        if memchr(b'\\', s.as_bytes()).is_none() {
            Cow::Borrowed(&s[1..s.len() - 1])
        } else {
            serde_json::from_str::<String>(s)
                .map(Cow::Owned)
                .unwrap_or(Cow::Borrowed(s))
        }
    } else {
        compact(s)
    }
}

/// JSON text without the line breaks and indentation of pretty-printing. Text on one line is kept
/// exactly as written.
pub(crate) fn compact(s: &str) -> Cow<'_, str> {
    if memchr2(b'\n', b'\r', s.as_bytes()).is_none() {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in s.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_ascii_whitespace() {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

// ---------------------------------------------------------------------------------------------
// Columns.

/// Where a column's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Src {
    Top(Top),
    Ui(Ui),
    Ctx(Ctx),
    Issuer(Issuer),
    Attr(Attr),
    OnBehalf(OnBehalf),
    Tls(Tls),
    Perm(Perm),
    Const(&'static str),
    Null,
}

/// The source of a column of `AWSCloudTrail` (columns it does not know are null).
fn aws_cloudtrail_source(column: &str) -> Src {
    use Src::*;
    match column {
        "TimeGenerated" => Top(self::Top::EventTime),
        "AwsEventId" => Top(self::Top::EventId),
        "EventVersion" => Top(self::Top::EventVersion),
        "EventSource" => Top(self::Top::EventSource),
        "EventTypeName" => Top(self::Top::EventType),
        "EventName" => Top(self::Top::EventName),
        "UserIdentityType" => Ui(self::Ui::Type),
        "UserIdentityPrincipalid" => Ui(self::Ui::PrincipalId),
        "UserIdentityArn" => Ui(self::Ui::Arn),
        "UserIdentityAccountId" => Ui(self::Ui::AccountId),
        "UserIdentityInvokedBy" => Ui(self::Ui::InvokedBy),
        "UserIdentityAccessKeyId" => Ui(self::Ui::AccessKeyId),
        "UserIdentityUserName" => Ui(self::Ui::UserName),
        "SessionMfaAuthenticated" => Attr(self::Attr::MfaAuthenticated),
        "SessionCreationDate" => Attr(self::Attr::CreationDate),
        "SessionIssuerType" => Issuer(self::Issuer::Type),
        "SessionIssuerPrincipalId" => Issuer(self::Issuer::PrincipalId),
        "SessionIssuerArn" => Issuer(self::Issuer::Arn),
        "SessionIssuerAccountId" => Issuer(self::Issuer::AccountId),
        "SessionIssuerUserName" => Issuer(self::Issuer::UserName),
        "AWSRegion" => Top(self::Top::AwsRegion),
        "SourceIpAddress" => Top(self::Top::SourceIpAddress),
        "UserAgent" => Top(self::Top::UserAgent),
        "ErrorCode" => Top(self::Top::ErrorCode),
        "ErrorMessage" => Top(self::Top::ErrorMessage),
        "RequestParameters" => Top(self::Top::RequestParameters),
        "ResponseElements" => Top(self::Top::ResponseElements),
        "AdditionalEventData" => Top(self::Top::AdditionalEventData),
        "AwsRequestId" | "AwsRequestId_" => Top(self::Top::RequestId),
        "Resources" => Top(self::Top::Resources),
        "APIVersion" => Top(self::Top::ApiVersion),
        "ReadOnly" => Top(self::Top::ReadOnly),
        "RecipientAccountId" => Top(self::Top::RecipientAccountId),
        "ServiceEventDetails" => Top(self::Top::ServiceEventDetails),
        "SharedEventId" => Top(self::Top::SharedEventId),
        "VpcEndpointId" => Top(self::Top::VpcEndpointId),
        "ManagementEvent" => Top(self::Top::ManagementEvent),
        "Category" => Top(self::Top::EventCategory),
        "EC2RoleDelivery" => Ctx(self::Ctx::Ec2RoleDelivery),
        "TlsVersion" => Tls(self::Tls::Version),
        "CipherSuite" => Tls(self::Tls::CipherSuite),
        "ClientProvidedHostHeader" => Tls(self::Tls::ClientProvidedHostHeader),
        "IpProtocol" => Perm(self::Perm::IpProtocol),
        "SourcePort" => Perm(self::Perm::FromPort),
        "DestinationPort" => Perm(self::Perm::ToPort),
        "CidrIp" => Perm(self::Perm::CidrIp),
        "UserIdentityUserId" => OnBehalf(self::OnBehalf::UserId),
        "UserIdentityStoreArn" => OnBehalf(self::OnBehalf::IdentityStoreArn),
        "Type" => Const(AWS_CLOUDTRAIL),
        _ => Null,
    }
}

/// Which nested objects a row needs.
#[derive(Default)]
struct Needs {
    ui: bool,
    ctx: bool,
    issuer: bool,
    attr: bool,
    on_behalf: bool,
    tls: bool,
    perm: bool,
}

struct EventDecoder {
    columns: Vec<(Src, KqlType)>,
    needs: Needs,
    prefilter: Prefilter,
}

/// Literal values that a matching event must contain verbatim: an event whose text lacks one
/// cannot satisfy the query's `Column == "value"`, and is skipped without being parsed
/// (ENGINE-NOTES: a memchr prefilter runs at several GB/s, parsing at a few hundred MB/s).
///
/// Only text columns copied from a JSON string qualify (not constants such as `Type`), and only
/// values that JSON writes as they are (no quote, backslash or control character). JSON may
/// still escape any character as `\uXXXX` and `/` as `\/`: an event holding such an escape is
/// always parsed.
#[derive(Default)]
struct Prefilter {
    needles: Vec<(memmem::Finder<'static>, bool)>,
}

impl Prefilter {
    fn new(table: &TableDef, equals: &[ColumnEquals]) -> Prefilter {
        let raw_names = table.name == CLOUDTRAIL;
        let mut needles = Vec::new();
        for eq in equals {
            let Some(column) = table.columns.get(eq.column) else {
                continue;
            };
            let src = if raw_names {
                Top::by_json(&column.name).map_or(Src::Null, Src::Top)
            } else {
                aws_cloudtrail_source(&column.name)
            };
            let copied = matches!(
                src,
                Src::Top(_)
                    | Src::Ui(_)
                    | Src::Ctx(_)
                    | Src::Issuer(_)
                    | Src::OnBehalf(_)
                    | Src::Tls(_)
            );
            let plain = !eq.value.is_empty()
                && !eq
                    .value
                    .bytes()
                    .any(|b| b == b'"' || b == b'\\' || b < 0x20);
            if column.ty == KqlType::String && copied && plain {
                let has_slash = eq.value.contains('/');
                needles.push((
                    memmem::Finder::new(eq.value.as_bytes()).into_owned(),
                    has_slash,
                ));
            }
        }
        Prefilter { needles }
    }

    /// Whether the event can be skipped: it lacks a needle and holds no escape that could hide it.
    /// A record that does not even look like a whole object (`{...}`) is never skipped, so that
    /// the decoder still reports a truncated or damaged record.
    fn rejects(&self, record: &[u8]) -> bool {
        if self.needles.is_empty() {
            return false;
        }
        let trimmed = record.trim_ascii();
        if trimmed.first() != Some(&b'{') || trimmed.last() != Some(&b'}') {
            return false;
        }
        for (needle, has_slash) in &self.needles {
            if needle.find(record).is_none()
                && memmem::find(record, b"\\u").is_none()
                && !(*has_slash && memmem::find(record, b"\\/").is_some())
            {
                return true;
            }
        }
        false
    }
}

impl EventDecoder {
    fn new(table: &TableDef, projection: &[usize]) -> EventDecoder {
        let raw_names = table.name == CLOUDTRAIL;
        let columns: Vec<(Src, KqlType)> = projection
            .iter()
            .map(|&i| {
                let c = &table.columns[i];
                let src = if raw_names {
                    Top::by_json(&c.name).map_or(Src::Null, Src::Top)
                } else {
                    aws_cloudtrail_source(&c.name)
                };
                (src, c.ty)
            })
            .collect();
        let mut n = Needs::default();
        for (src, _) in &columns {
            match src {
                Src::Ui(_) => n.ui = true,
                Src::Ctx(_) => (n.ui, n.ctx) = (true, true),
                Src::Issuer(_) => (n.ui, n.ctx, n.issuer) = (true, true, true),
                Src::Attr(_) => (n.ui, n.ctx, n.attr) = (true, true, true),
                Src::OnBehalf(_) => (n.ui, n.on_behalf) = (true, true),
                Src::Tls(_) => n.tls = true,
                Src::Perm(_) => n.perm = true,
                _ => {}
            }
        }
        EventDecoder {
            columns,
            needs: n,
            prefilter: Prefilter::default(),
        }
    }
}

impl RowDecoder for EventDecoder {
    fn decode(
        &mut self,
        record: &[u8],
        _position: Position,
        batcher: &mut Batcher,
    ) -> Result<(), String> {
        if self.prefilter.rejects(record) {
            return Ok(());
        }
        let ev: RawEvent<'_> = serde_json::from_slice(record)
            .map_err(|e| format!("not a readable CloudTrail event: {e}"))?;
        // The time axis is checked on every row, whatever the projection, so that a row exists or
        // not independently of the columns asked for.
        let time =
            match ev.event_time {
                Some(raw) => {
                    let t = text(raw);
                    Some(parse_time(&t).ok_or_else(|| {
                        format!("eventTime: expected a date and time, found {t:?}")
                    })?)
                }
                None => None,
            };
        let n = &self.needs;
        let ui: Option<UserIdentity<'_>> = if n.ui { nested(ev.user_identity) } else { None };
        let ctx: Option<SessionContext<'_>> = if n.ctx {
            ui.as_ref().and_then(|u| nested(u.session_context))
        } else {
            None
        };
        let issuer: Option<SessionIssuer<'_>> = if n.issuer {
            ctx.as_ref().and_then(|c| nested(c.session_issuer))
        } else {
            None
        };
        let attr: Option<Attributes<'_>> = if n.attr {
            ctx.as_ref().and_then(|c| nested(c.attributes))
        } else {
            None
        };
        let on_behalf: Option<OnBehalfOf<'_>> = if n.on_behalf {
            ui.as_ref().and_then(|u| nested(u.on_behalf_of))
        } else {
            None
        };
        let tls: Option<TlsDetails<'_>> = if n.tls { nested(ev.tls_details) } else { None };
        let (perm, perm_item, perm_range) = if n.perm {
            let p: Option<Permission<'_>> = nested(ev.request_parameters);
            let item: Option<Permission<'_>> = p
                .as_ref()
                .and_then(|p| nested(first_item(p.ip_permissions)));
            let range: Option<Permission<'_>> =
                item.as_ref().and_then(|i| nested(first_item(i.ip_ranges)));
            (p, item, range)
        } else {
            (None, None, None)
        };

        let mut values: Vec<Scalar<'_>> = Vec::with_capacity(self.columns.len());
        for &(src, ty) in &self.columns {
            let raw = match src {
                Src::Top(Top::EventTime) if ty == KqlType::DateTime => {
                    values.push(time.map_or(Scalar::Null, Scalar::Nanos));
                    continue;
                }
                Src::Top(k) => ev.get(k),
                Src::Ui(k) => ui.as_ref().and_then(|o| o.get(k)),
                Src::Ctx(k) => ctx.as_ref().and_then(|o| o.get(k)),
                Src::Issuer(k) => issuer.as_ref().and_then(|o| o.get(k)),
                Src::Attr(k) => attr.as_ref().and_then(|o| o.get(k)),
                Src::OnBehalf(k) => on_behalf.as_ref().and_then(|o| o.get(k)),
                Src::Tls(k) => tls.as_ref().and_then(|o| o.get(k)),
                Src::Perm(k) => {
                    let flat = perm.as_ref().and_then(|o| o.get(k));
                    let from_item = || match k {
                        Perm::CidrIp => perm_range.as_ref().and_then(|o| o.get(k)),
                        _ => perm_item.as_ref().and_then(|o| o.get(k)),
                    };
                    flat.or_else(from_item)
                }
                Src::Const(s) => {
                    values.push(Scalar::Str(Cow::Borrowed(s)));
                    continue;
                }
                Src::Null => None,
            };
            values.push(match raw {
                None => Scalar::Null,
                Some(raw) => {
                    let t = if ty == KqlType::Dynamic {
                        compact(raw.get())
                    } else {
                        text(raw)
                    };
                    // Promoted fields of an unexpected shape are null; the event keeps them as
                    // written in the cloudtrail table.
                    convert(t, ty).unwrap_or(Scalar::Null)
                }
            });
        }
        batcher.push(&values);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Splitting a file into events.

enum Shape {
    Lines,
    Array,
    Records,
}

/// Looks at the first bytes: `[` is an array of events, `{"Records"` a trail file, any other
/// object the first of JSON lines.
fn detect_shape(w: &mut Window) -> std::io::Result<Shape> {
    loop {
        let avail = &w.buf[w.start..w.end];
        let s = skip_ws(strip_bom(avail));
        let enough = s.len() >= 16 || w.eof;
        if enough {
            return Ok(match s.first() {
                Some(b'[') => Shape::Array,
                Some(b'{') if skip_ws(&s[1..]).starts_with(b"\"Records\"") => Shape::Records,
                _ => Shape::Lines,
            });
        }
        w.fill()?;
    }
}

enum CtUnits {
    Lines(Lines),
    Array(JsonArray),
}

impl Units for CtUnits {
    fn next_unit(&mut self) -> Unit<'_> {
        match self {
            CtUnits::Lines(l) => l.next_unit(),
            CtUnits::Array(a) => a.next_unit(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArrayState {
    /// Before the opening `[` (or the `{"Records":` around it).
    Start,
    /// Inside the array; `n` elements were read.
    Inside,
    Done,
}

/// The elements of a JSON array, one at a time, from a stream (also used by `la_export`).
pub(crate) struct JsonArray {
    w: Window,
    /// The key of the object that wraps the array (`{"Records": [...]}`), if any.
    wrapper: Option<&'static str>,
    state: ArrayState,
    /// Elements read so far.
    n: u64,
}

/// The extent of one JSON value at the start of a slice.
enum Extent {
    /// The value ends before this index.
    Complete(usize),
    /// The slice ends inside the value.
    Incomplete,
}

/// The length of the JSON value at the start of `b`, or None when `b` ends inside it (shared
/// with the formats that split concatenated JSON values).
pub(crate) fn json_value_len(b: &[u8], at_eof: bool) -> Option<usize> {
    match value_extent(b, at_eof) {
        Extent::Complete(len) => Some(len),
        Extent::Incomplete => None,
    }
}

/// Finds where the JSON value at the start of `b` ends (the value is checked by the parser
/// later; this only tracks nesting and strings).
fn value_extent(b: &[u8], at_eof: bool) -> Extent {
    let mut i = 0;
    let mut depth = 0usize;
    match b.first() {
        None => return Extent::Incomplete,
        Some(b'{' | b'[' | b'"') => {}
        Some(_) => {
            // A scalar: up to the next delimiter.
            let end = b
                .iter()
                .position(|c| matches!(c, b',' | b']' | b'}') || c.is_ascii_whitespace());
            return match end {
                Some(e) => Extent::Complete(e),
                None if at_eof => Extent::Complete(b.len()),
                None => Extent::Incomplete,
            };
        }
    }
    while i < b.len() {
        match b[i] {
            b'"' => {
                // Skip the string: find the closing quote that is not escaped.
                let mut j = i + 1;
                loop {
                    match memchr2(b'"', b'\\', &b[j..]) {
                        None => return Extent::Incomplete,
                        Some(k) if b[j + k] == b'\\' => j += k + 2,
                        Some(k) => {
                            j += k + 1;
                            break;
                        }
                    }
                    if j > b.len() {
                        return Extent::Incomplete;
                    }
                }
                i = j;
                if depth == 0 {
                    return Extent::Complete(i);
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Extent::Complete(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    Extent::Incomplete
}

impl JsonArray {
    pub(crate) fn new(w: Window, wrapper: Option<&'static str>) -> JsonArray {
        JsonArray {
            w,
            wrapper,
            state: ArrayState::Start,
            n: 0,
        }
    }

    /// Skips whitespace (refilling); the next byte, or None at the end of the input.
    fn peek(&mut self) -> std::io::Result<Option<u8>> {
        loop {
            let avail = &self.w.buf[self.w.start..self.w.end];
            let n = avail.iter().take_while(|c| c.is_ascii_whitespace()).count();
            self.w.start += n;
            if self.w.start < self.w.end {
                return Ok(Some(self.w.buf[self.w.start]));
            }
            if self.w.eof {
                return Ok(None);
            }
            self.w.fill()?;
        }
    }

    /// The extent of the value at the window start, refilling until it is complete.
    fn value(&mut self) -> std::io::Result<Option<usize>> {
        loop {
            match value_extent(&self.w.buf[self.w.start..self.w.end], self.w.eof) {
                Extent::Complete(len) => return Ok(Some(len)),
                Extent::Incomplete if self.w.eof => return Ok(None),
                Extent::Incomplete => {
                    self.w.fill()?;
                }
            }
        }
    }

    fn here(&self) -> Position {
        Position::Byte(self.w.offset(self.w.start))
    }

    fn lost(&mut self, position: Position, reason: String) -> Unit<'static> {
        self.state = ArrayState::Done;
        Unit::Lost {
            position,
            reason,
            fatal: true,
        }
    }

    fn truncated(&mut self) -> Unit<'static> {
        let n = self.n;
        self.lost(
            Position::Record(n + 1),
            format!(
                "the file ends inside record {} (truncated?); the {n} records before it were read",
                n + 1
            ),
        )
    }

    /// Moves past `{"<key>":` up to the `[`, skipping other keys before it.
    fn open_wrapper(&mut self, key: &str) -> Result<bool, Unit<'static>> {
        let io = |e| Unit::Failed(Position::Byte(0), e);
        self.w.start += strip_bom_len(&self.w.buf[self.w.start..self.w.end]);
        if self.peek().map_err(io)? != Some(b'{') {
            let at = self.here();
            return Err(self.lost(at, format!("expected a JSON object with a {key} array")));
        }
        self.w.start += 1;
        loop {
            match self.peek().map_err(io)? {
                Some(b'"') => {}
                Some(b'}') | None => {
                    let at = self.here();
                    return Err(self.lost(at, format!("the object has no {key} array")));
                }
                Some(c) => {
                    let at = self.here();
                    return Err(self.lost(at, format!("expected a key, found {:?}", c as char)));
                }
            }
            let Some(len) = self.value().map_err(io)? else {
                let at = self.here();
                return Err(self.lost(at, "the file ends inside a key (truncated?)".into()));
            };
            let quoted = &self.w.buf[self.w.start..self.w.start + len];
            let is_records =
                quoted.len() == key.len() + 2 && &quoted[1..quoted.len() - 1] == key.as_bytes();
            self.w.start += len;
            if self.peek().map_err(io)? != Some(b':') {
                let at = self.here();
                return Err(self.lost(at, "expected : after a key".into()));
            }
            self.w.start += 1;
            let next = self.peek().map_err(io)?;
            if is_records {
                if next == Some(b'[') {
                    self.w.start += 1;
                    return Ok(true);
                }
                let at = self.here();
                return Err(self.lost(at, format!("{key} is not an array")));
            }
            // Another key: skip its value and the comma.
            match self.value().map_err(io)? {
                Some(len) => self.w.start += len,
                None => return Err(self.truncated()),
            }
            match self.peek().map_err(io)? {
                Some(b',') => self.w.start += 1,
                _ => {
                    let at = self.here();
                    return Err(self.lost(at, format!("the object has no {key} array")));
                }
            }
        }
    }
}

fn strip_bom_len(b: &[u8]) -> usize {
    if b.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 }
}

impl Units for JsonArray {
    fn next_unit(&mut self) -> Unit<'_> {
        let io = |n: u64| move |e| Unit::Failed(Position::Record(n + 1), e);
        if self.state == ArrayState::Done {
            return Unit::End;
        }
        if self.state == ArrayState::Start {
            if let Some(key) = self.wrapper {
                if let Err(unit) = self.open_wrapper(key) {
                    return unit;
                }
            } else {
                self.w.start += strip_bom_len(&self.w.buf[self.w.start..self.w.end]);
                match self.peek() {
                    Ok(Some(b'[')) => self.w.start += 1,
                    Ok(_) => {
                        let at = self.here();
                        return self.lost(at, "expected a JSON array of events".into());
                    }
                    Err(e) => return Unit::Failed(Position::Byte(0), e),
                }
            }
            self.state = ArrayState::Inside;
        }
        let n = self.n;
        match self.peek() {
            Err(e) => return io(n)(e),
            Ok(Some(b']')) => {
                self.state = ArrayState::Done;
                return Unit::End;
            }
            Ok(Some(b',')) if n > 0 => {
                self.w.start += 1;
                match self.peek() {
                    Err(e) => return io(n)(e),
                    Ok(None) => return self.truncated(),
                    Ok(Some(_)) => {}
                }
            }
            Ok(Some(c)) if n > 0 => {
                let at = self.here();
                return self.lost(
                    at,
                    format!("expected , or ] after record {n}, found {:?}", c as char),
                );
            }
            Ok(Some(_)) => {}
            Ok(None) => {
                let at = self.here();
                return self.lost(
                    at,
                    format!(
                        "the file ends after record {n} without closing the array (truncated?)"
                    ),
                );
            }
        }
        match self.value() {
            Err(e) => io(n)(e),
            Ok(None) => self.truncated(),
            Ok(Some(len)) => {
                let s = self.w.start;
                self.w.start += len;
                self.n += 1;
                Unit::Record(Position::Record(self.n), &self.w.buf[s..s + len])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Decoded;
    use arrow::array::{Array, BooleanArray, StringArray, TimestampNanosecondArray};
    use spoor_catalog::catalog;

    const EVENT: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROA:s","arn":"arn:aws:sts::1:assumed-role/r/s","accountId":"1","accessKeyId":"ASIA","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA","arn":"arn:aws:iam::1:role/r","accountId":"1","userName":"r"},"attributes":{"creationDate":"2021-07-29T12:54:17Z","mfaAuthenticated":"false"}}},"eventTime":"2021-07-29T23:53:26Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-2","sourceIPAddress":"1.2.3.4","userAgent":"aws-cli/2 \"quoted\"","requestParameters":{"bucketName":"b","key":"k"},"responseElements":null,"requestID":"R","eventID":"E","readOnly":true,"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"1","tlsDetails":{"tlsVersion":"TLSv1.2","cipherSuite":"X","clientProvidedHostHeader":"h"}}"#;

    fn decode_all(
        input: &str,
        table: &str,
        columns: &[&str],
    ) -> (Vec<arrow::record_batch::RecordBatch>, Vec<String>) {
        crate::testing::decode_text(&CloudTrail, input, "t.json", table, columns, 2)
    }

    fn strings(batches: &[arrow::record_batch::RecordBatch], col: usize) -> Vec<Option<String>> {
        batches
            .iter()
            .flat_map(|b| {
                let a = b
                    .column(col)
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .unwrap();
                (0..a.len())
                    .map(|i| a.is_valid(i).then(|| a.value(i).to_string()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn sniffs_the_three_shapes_and_not_lookalikes() {
        assert!(CloudTrail.sniff(format!("{{\"Records\":[{EVENT}]}}").as_bytes()));
        assert!(CloudTrail.sniff(b"{\"Records\": [ ]}"));
        assert!(CloudTrail.sniff(format!("[\n  {EVENT}\n]").as_bytes()));
        assert!(CloudTrail.sniff(format!("{EVENT}\n{EVENT}\n").as_bytes()));
        // S3 event notifications also say Records and eventSource.
        assert!(!CloudTrail.sniff(br#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put"}]}"#));
        assert!(!CloudTrail.sniff(br#"{"kind":"Event","apiVersion":"audit.k8s.io/v1"}"#));
        assert!(!CloudTrail.sniff(b"version account-id interface-id"));
    }

    #[test]
    fn maps_nested_fields_to_log_analytics_columns() {
        let cols = [
            "TimeGenerated",
            "SessionIssuerUserName",
            "UserIdentityArn",
            "SessionMfaAuthenticated",
            "RequestParameters",
            "ResponseElements",
            "UserAgent",
            "TlsVersion",
            "Type",
            "ReadOnly",
        ];
        let (batches, bad) = decode_all(EVENT, AWS_CLOUDTRAIL, &cols);
        assert!(bad.is_empty(), "{bad:?}");
        let b = &batches[0];
        assert_eq!(b.num_rows(), 1);
        assert_eq!(b.schema().fields().len(), cols.len());
        let t = b
            .column(0)
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .unwrap();
        assert_eq!(t.value(0), parse_time("2021-07-29T23:53:26Z").unwrap());
        assert_eq!(strings(&batches, 1), vec![Some("r".into())]);
        assert_eq!(
            strings(&batches, 2),
            vec![Some("arn:aws:sts::1:assumed-role/r/s".into())]
        );
        let mfa = b.column(3).as_any().downcast_ref::<BooleanArray>().unwrap();
        assert!(!mfa.value(0) && mfa.is_valid(0));
        assert_eq!(
            strings(&batches, 4),
            vec![Some(r#"{"bucketName":"b","key":"k"}"#.into())]
        );
        assert_eq!(strings(&batches, 5), vec![None]);
        assert_eq!(
            strings(&batches, 6),
            vec![Some("aws-cli/2 \"quoted\"".into())]
        );
        assert_eq!(strings(&batches, 7), vec![Some("TLSv1.2".into())]);
        assert_eq!(strings(&batches, 8), vec![Some("AWSCloudTrail".into())]);
        assert!(
            b.column(9)
                .as_any()
                .downcast_ref::<BooleanArray>()
                .unwrap()
                .value(0)
        );
    }

    #[test]
    fn raw_table_keeps_nested_objects_as_json_text() {
        let pretty = format!(
            "[\n{}\n]",
            serde_json::to_string_pretty(
                &serde_json::from_str::<serde_json::Value>(EVENT).unwrap()
            )
            .unwrap()
        );
        let (batches, bad) = decode_all(
            &pretty,
            CLOUDTRAIL,
            &["userIdentity", "eventName", "requestParameters"],
        );
        assert!(bad.is_empty(), "{bad:?}");
        let ui = strings(&batches, 0)[0].clone().unwrap();
        let v: serde_json::Value = serde_json::from_str(&ui).unwrap();
        assert_eq!(v["sessionContext"]["sessionIssuer"]["userName"], "r");
        assert!(
            !ui.contains('\n'),
            "pretty-printed input is compacted: {ui}"
        );
        assert_eq!(strings(&batches, 1), vec![Some("GetObject".into())]);
        assert_eq!(
            strings(&batches, 2),
            vec![Some(r#"{"bucketName":"b","key":"k"}"#.into())]
        );
    }

    #[test]
    fn prefilter_skips_only_events_that_cannot_match() {
        let t = catalog().table(AWS_CLOUDTRAIL).unwrap();
        let name = t.index_of("EventName").unwrap();
        let other = EVENT.replace("\"eventName\":\"GetObject\"", "\"eventName\":\"PutObject\"");
        // The same name written with an escape must not be skipped: JSON may write any
        // character as \uXXXX.
        let escaped = EVENT.replace(
            "\"eventName\":\"GetObject\"",
            "\"eventName\":\"\\u0047etObject\"",
        );
        assert!(!other.contains("GetObject") && !escaped.contains("GetObject"));
        let input = format!("{EVENT}\n{other}\n{escaped}\n");
        let equals = [ColumnEquals {
            column: name,
            value: event_name(EVENT),
        }];
        let bytes: Box<dyn BufRead + Send> = Box::new(std::io::Cursor::new(input.into_bytes()));
        let it = CloudTrail
            .decode_prefiltered(bytes, Path::new("t.json"), t, &[name], 10, &equals)
            .unwrap();
        let rows: usize = it
            .map(|d| match d.unwrap() {
                Decoded::Batch(b) => b.num_rows(),
                Decoded::Bad(b) => panic!("{b}"),
            })
            .sum();
        // The first event matches; the second cannot; the third holds an escape and is parsed.
        assert_eq!(rows, 2);
        // A constant column (Type) never prefilters: every event has it without it being in
        // the text.
        let type_col = t.index_of("Type").unwrap();
        let p = Prefilter::new(
            t,
            &[ColumnEquals {
                column: type_col,
                value: "AWSCloudTrail".into(),
            }],
        );
        assert!(p.needles.is_empty());
    }

    fn event_name(event: &str) -> String {
        let v: serde_json::Value = serde_json::from_str(event).unwrap();
        v["eventName"].as_str().unwrap().to_string()
    }

    #[test]
    fn bad_lines_are_reported_and_the_rest_is_read() {
        let input = format!(
            "{EVENT}\n{{\"eventName\": oops}}\n\n{EVENT}\n{}\n",
            EVENT.replace("2021-07-29T23:53:26Z", "soon")
        );
        let (batches, bad) = decode_all(&input, AWS_CLOUDTRAIL, &["EventName"]);
        assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert!(
            bad[0].starts_with("t.json:line 2: not a readable CloudTrail event"),
            "{}",
            bad[0]
        );
        assert!(bad[1].starts_with("t.json:line 5: eventTime"), "{}", bad[1]);
    }

    #[test]
    fn records_files_stream_and_report_truncation() {
        let whole = format!("{{\"Records\":[{EVENT},{EVENT},{EVENT}]}}");
        let (batches, bad) = decode_all(&whole, AWS_CLOUDTRAIL, &["EventName"]);
        assert!(bad.is_empty());
        assert_eq!(
            batches.iter().map(|b| b.num_rows()).collect::<Vec<_>>(),
            vec![2, 1]
        );

        let cut = &whole[..whole.len() - 200];
        let (batches, bad) = decode_all(cut, AWS_CLOUDTRAIL, &["EventName"]);
        assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
        assert_eq!(bad.len(), 1);
        assert!(
            bad[0].contains("record 3") && bad[0].contains("truncated"),
            "{}",
            bad[0]
        );

        let broken = format!(
            "{{\"Records\":[{EVENT},{{\"eventTime\": \"2021-07-29T23:53:26Z\", \"eventName\": tru}},{EVENT}]}}"
        );
        let (batches, bad) = decode_all(&broken, AWS_CLOUDTRAIL, &["EventName"]);
        assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(bad[0].starts_with("t.json:record 2:"), "{}", bad[0]);
    }

    #[test]
    fn empty_projection_counts_rows() {
        let (batches, bad) = decode_all(&format!("{EVENT}\n{EVENT}\n{EVENT}\n"), CLOUDTRAIL, &[]);
        assert!(bad.is_empty());
        assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 3);
        assert_eq!(batches[0].num_columns(), 0);
    }

    #[test]
    fn security_group_fields_come_from_either_request_form() {
        let flat = EVENT.replace(
            r#""requestParameters":{"bucketName":"b","key":"k"}"#,
            r#""requestParameters":{"cidrIp":"0.0.0.0/0","fromPort":22,"toPort":22,"ipProtocol":"tcp","ipPermissions":{}}"#,
        );
        let nested = EVENT.replace(
            r#""requestParameters":{"bucketName":"b","key":"k"}"#,
            r#""requestParameters":{"ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":3389,"toPort":3390,"ipRanges":{"items":[{"cidrIp":"10.0.0.0/8"}]}}]}}"#,
        );
        let (batches, _) = decode_all(
            &format!("{flat}\n{nested}\n"),
            AWS_CLOUDTRAIL,
            &["CidrIp", "SourcePort", "DestinationPort", "IpProtocol"],
        );
        assert_eq!(
            strings(&batches, 0),
            vec![Some("0.0.0.0/0".into()), Some("10.0.0.0/8".into())]
        );
        assert_eq!(
            strings(&batches, 1),
            vec![Some("22".into()), Some("3389".into())]
        );
        assert_eq!(
            strings(&batches, 2),
            vec![Some("22".into()), Some("3390".into())]
        );
        assert_eq!(
            strings(&batches, 3),
            vec![Some("tcp".into()), Some("tcp".into())]
        );
    }

    #[test]
    fn compact_strips_only_layout() {
        assert_eq!(
            compact("{\n  \"a b\": [1, 2],\n  \"c\": \"x\\\" y\"\n}"),
            "{\"a b\":[1,2],\"c\":\"x\\\" y\"}"
        );
        assert!(matches!(compact("{\"a\": 1}"), Cow::Borrowed(_)));
    }
}
