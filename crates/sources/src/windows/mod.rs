//! Windows events: EVTX files ([`evtx`]) and the JSON that tools and log agents write of them
//! ([`json`]), decoded into one model ([`WinEvent`]) and from there into three tables:
//!
//! - `WindowsEvent` (every channel; Log Analytics names, `EventData` as a dynamic bag of
//!   name → text),
//! - `SecurityEvent` (Security channel only; EventData fields promoted to the columns of the same
//!   name, plus the columns Log Analytics derives: `Account`, `SubjectAccount`, `LogonTypeName`...),
//! - `Sysmon` (Microsoft-Windows-Sysmon/Operational only; Sysmon's own field names, as Sigma
//!   rules use them).
//!
//! Whatever the source, the same event gives the same row: EventData values are text (as in the
//! XML and in Log Analytics), `TimeGenerated` is the UTC `SystemTime`.

use std::borrow::Cow;
use std::collections::HashMap;

use memchr::memchr;
use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use serde_json::value::RawValue;
use spoor_catalog::{KqlType, TableDef};

use crate::batch::{Batcher, Scalar, convert, parse_time};
use crate::cloudtrail::compact;

pub mod evtx;
pub mod json;
mod rendering;

/// Table names.
pub const WINDOWS_EVENT: &str = "WindowsEvent";
pub const SECURITY_EVENT: &str = "SecurityEvent";
pub const SYSMON: &str = "Sysmon";

/// The tables every Windows event format fills.
pub(crate) const TABLES: &[&str] = &[WINDOWS_EVENT, SECURITY_EVENT, SYSMON];

/// The channels of the filtered tables (compared without regard to case: agents write
/// `security` too).
pub(crate) const SECURITY_CHANNEL: &str = "Security";
pub(crate) const SYSMON_CHANNEL: &str = "Microsoft-Windows-Sysmon/Operational";

/// One value of an event: text as written (strings unescaped, numbers and booleans as their JSON
/// text), JSON for nested values (lists of unnamed Data elements), or nothing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val<'a> {
    Null,
    Text(Cow<'a, str>),
    Json(Cow<'a, str>),
}

impl<'a> Val<'a> {
    fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }

    fn text(&self) -> Option<&str> {
        match self {
            Val::Text(t) => Some(t),
            _ => None,
        }
    }
}

/// A Windows event: the System fields and the EventData (or UserData) fields in their order.
#[derive(Debug, Default)]
pub(crate) struct WinEvent<'a> {
    pub(crate) system_time: Option<Val<'a>>,
    pub(crate) event_id: Option<Val<'a>>,
    pub(crate) version: Option<Val<'a>>,
    pub(crate) level: Option<Val<'a>>,
    pub(crate) task: Option<Val<'a>>,
    pub(crate) opcode: Option<Val<'a>>,
    pub(crate) keywords: Option<Val<'a>>,
    pub(crate) record_id: Option<Val<'a>>,
    pub(crate) provider: Option<Val<'a>>,
    pub(crate) provider_guid: Option<Val<'a>>,
    pub(crate) event_source_name: Option<Val<'a>>,
    pub(crate) channel: Option<Val<'a>>,
    pub(crate) computer: Option<Val<'a>>,
    pub(crate) process_id: Option<Val<'a>>,
    pub(crate) thread_id: Option<Val<'a>>,
    pub(crate) user_id: Option<Val<'a>>,
    pub(crate) activity_id: Option<Val<'a>>,
    pub(crate) related_activity_id: Option<Val<'a>>,
    pub(crate) data: Vec<(Cow<'a, str>, Val<'a>)>,
}

// ---------------------------------------------------------------------------------------------
// Reading JSON values.

/// A JSON object's entries in their order, values left as raw JSON.
pub(crate) struct Entries<'a>(pub(crate) Vec<(Cow<'a, str>, &'a RawValue)>);

struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<'de>, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
                    let v: &'de RawValue = map.next_value()?;
                    out.push((k, v));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// The entries of a raw value that is an object (None for anything else).
pub(crate) fn entries(raw: &RawValue) -> Option<Vec<(Cow<'_, str>, &RawValue)>> {
    if !raw.get().starts_with('{') {
        return None;
    }
    serde_json::from_str::<Entries<'_>>(raw.get())
        .ok()
        .map(|e| e.0)
}

/// A string's text, unescaped only when it holds an escape.
fn unquote(s: &str) -> Cow<'_, str> {
    if memchr(b'\\', s.as_bytes()).is_none() {
        Cow::Borrowed(&s[1..s.len() - 1])
    } else {
        serde_json::from_str::<String>(s)
            .map(Cow::Owned)
            .unwrap_or(Cow::Borrowed(s))
    }
}

/// The value of a raw JSON value: strings unescaped, numbers and booleans as written, `null` as
/// nothing, an element rendered with attributes (`{"#attributes":{...},"#text":4111}`) as its
/// text, other objects and arrays as JSON.
pub(crate) fn value(raw: &RawValue) -> Val<'_> {
    let s = raw.get();
    match s.as_bytes().first() {
        Some(b'"') => Val::Text(unquote(s)),
        Some(b'n') if s == "null" => Val::Null,
        Some(b'{') => {
            if s.contains("\"#text\"")
                && let Some(e) = entries(raw)
                && let Some((_, text)) = e.iter().find(|(k, _)| k == "#text")
            {
                return value(text);
            }
            Val::Json(compact(s))
        }
        Some(b'[') => Val::Json(compact(s)),
        Some(_) => Val::Text(Cow::Borrowed(s)),
        None => Val::Null,
    }
}

/// Adds the fields of an EventData element: named Data elements by name, unnamed ones (rendered
/// as `"Data":{"#text":[...]}`) under `Data`, the element's own attributes left out.
pub(crate) fn push_event_data<'a>(raw: &'a RawValue, data: &mut Vec<(Cow<'a, str>, Val<'a>)>) {
    match entries(raw) {
        Some(fields) => {
            for (k, v) in fields {
                if k == "#attributes" {
                    continue;
                }
                let name = if k == "#text" {
                    Cow::Borrowed("Data")
                } else {
                    k
                };
                data.push((name, value(v)));
            }
        }
        None => {
            let v = value(raw);
            if !v.is_null() {
                data.push((Cow::Borrowed("Data"), v));
            }
        }
    }
}

/// Adds the fields of a UserData element: the fields of the element inside it (`LogFileCleared`,
/// `EventXML`...), so that they read like EventData.
pub(crate) fn push_user_data<'a>(raw: &'a RawValue, data: &mut Vec<(Cow<'a, str>, Val<'a>)>) {
    let Some(children) = entries(raw) else {
        return;
    };
    for (k, v) in children {
        if k == "#attributes" {
            continue;
        }
        if v.get().starts_with('{') {
            push_event_data(v, data);
        } else {
            data.push((k, value(v)));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Columns.

/// A System field, or a value derived from the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sys {
    TimeGenerated,
    EventId,
    Version,
    Level,
    LevelName,
    Task,
    Opcode,
    Keywords,
    RecordId,
    Provider,
    EventSourceName,
    Channel,
    Computer,
    ProcessId,
    ThreadId,
    UserId,
    Correlation,
    EventDataJson,
    EventDataXml,
    Account,
    AccountType,
    SubjectAccount,
    TargetAccount,
    LogonTypeName,
    Process,
}

/// Where a column's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Src {
    Sys(Sys),
    /// The EventData field in this slot.
    Data(usize),
    Const(&'static str),
    Null,
}

/// The System (and derived) columns of each table; every other column is the EventData field of
/// the same name.
fn system_column(table: &str, column: &str) -> Option<Src> {
    use Sys::*;
    let common = match column {
        "TimeGenerated" => Some(TimeGenerated),
        "EventID" => Some(EventId),
        "Channel" => Some(Channel),
        "Computer" => Some(Computer),
        "Keywords" => Some(Keywords),
        "Task" => Some(Task),
        "Opcode" => Some(Opcode),
        _ => None,
    };
    if let Some(s) = common {
        return Some(Src::Sys(s));
    }
    let s = match (table, column) {
        (WINDOWS_EVENT, "Provider") => Provider,
        (WINDOWS_EVENT, "EventLevel") => Level,
        (WINDOWS_EVENT | SECURITY_EVENT, "EventLevelName") => LevelName,
        (WINDOWS_EVENT | SECURITY_EVENT, "Version") => Version,
        (WINDOWS_EVENT | SECURITY_EVENT, "EventRecordId") => RecordId,
        (WINDOWS_EVENT | SECURITY_EVENT, "SystemProcessId") => ProcessId,
        (WINDOWS_EVENT | SECURITY_EVENT, "SystemThreadId") => ThreadId,
        (WINDOWS_EVENT | SECURITY_EVENT, "SystemUserId") => UserId,
        (WINDOWS_EVENT | SECURITY_EVENT, "Correlation") => Correlation,
        (WINDOWS_EVENT, "EventData") => EventDataJson,
        (WINDOWS_EVENT, "Type") => return Some(Src::Const(WINDOWS_EVENT)),
        (SECURITY_EVENT, "Type") => return Some(Src::Const(SECURITY_EVENT)),
        (SECURITY_EVENT, "EventSourceName") => EventSourceName,
        (SECURITY_EVENT, "Level") => Level,
        (SECURITY_EVENT, "EventData") => EventDataXml,
        (SECURITY_EVENT, "Account") => Account,
        (SECURITY_EVENT, "AccountType") => AccountType,
        (SECURITY_EVENT, "SubjectAccount") => SubjectAccount,
        (SECURITY_EVENT, "TargetAccount") => TargetAccount,
        (SECURITY_EVENT, "LogonTypeName") => LogonTypeName,
        (SECURITY_EVENT, "Process") => Process,
        (SYSMON, "Provider") => Provider,
        (SYSMON, "EventRecordID") => RecordId,
        (SYSMON, "Level") => Level,
        (SYSMON, "EventData") => EventDataJson,
        // The other columns of WindowsEvent are collection metadata (TenantId, _ResourceId...)
        // that an event log does not hold.
        (WINDOWS_EVENT, _) => return Some(Src::Null),
        _ => return None,
    };
    Some(Src::Sys(s))
}

/// Other spellings of a column's EventData field (Sysmon's ProcessAccess event writes
/// `SourceProcessGUID` where CreateRemoteThread writes `SourceProcessGuid`).
fn aliases(table: &str, column: &str) -> &'static [&'static str] {
    match (table, column) {
        (SYSMON, "SourceProcessGuid") => &["SourceProcessGUID"],
        (SYSMON, "TargetProcessGuid") => &["TargetProcessGUID"],
        _ => &[],
    }
}

/// EventData fields that derived SecurityEvent columns read.
const SUBJECT_USER: &str = "SubjectUserName";
const SUBJECT_DOMAIN: &str = "SubjectDomainName";
const TARGET_USER: &str = "TargetUserName";
const TARGET_DOMAIN: &str = "TargetDomainName";
const LOGON_TYPE: &str = "LogonType";
const NEW_PROCESS: &str = "NewProcessName";
const PROCESS_NAME: &str = "ProcessName";

/// Which rows a table takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChannelFilter {
    All,
    Only(&'static str),
}

impl ChannelFilter {
    pub(crate) fn of(table: &str) -> ChannelFilter {
        match table {
            SECURITY_EVENT => ChannelFilter::Only(SECURITY_CHANNEL),
            SYSMON => ChannelFilter::Only(SYSMON_CHANNEL),
            _ => ChannelFilter::All,
        }
    }

    fn admits(self, ev: &WinEvent<'_>) -> bool {
        match self {
            ChannelFilter::All => true,
            ChannelFilter::Only(name) => ev
                .channel
                .as_ref()
                .and_then(Val::text)
                .is_some_and(|c| c.eq_ignore_ascii_case(name)),
        }
    }
}

/// Turns events into rows of one table's projected columns.
pub(crate) struct Mapper {
    filter: ChannelFilter,
    columns: Vec<(Src, KqlType)>,
    /// EventData field name → slot.
    slots: HashMap<String, usize, foldhash::fast::RandomState>,
    nslots: usize,
    /// Slots of the fields that derived columns read.
    derived: Derived,
}

#[derive(Default)]
struct Derived {
    subject_user: Option<usize>,
    subject_domain: Option<usize>,
    target_user: Option<usize>,
    target_domain: Option<usize>,
    logon_type: Option<usize>,
    new_process: Option<usize>,
    process_name: Option<usize>,
}

impl Mapper {
    pub(crate) fn new(table: &TableDef, projection: &[usize]) -> Mapper {
        let name = table.name.as_str();
        let mut slots: HashMap<String, usize, _> = HashMap::default();
        let slot_of = |field: &str, slots: &mut HashMap<String, usize, _>| -> usize {
            let n = slots.len();
            *slots.entry(field.to_string()).or_insert(n)
        };
        let mut columns = Vec::with_capacity(projection.len());
        let mut needs_derived = false;
        for &i in projection {
            let c = &table.columns[i];
            let src = match system_column(name, &c.name) {
                Some(src) => src,
                None => {
                    let slot = slot_of(&c.name, &mut slots);
                    for alias in aliases(name, &c.name) {
                        slots.insert((*alias).to_string(), slot);
                    }
                    Src::Data(slot)
                }
            };
            if matches!(
                src,
                Src::Sys(
                    Sys::Account
                        | Sys::AccountType
                        | Sys::SubjectAccount
                        | Sys::TargetAccount
                        | Sys::LogonTypeName
                        | Sys::Process
                )
            ) {
                needs_derived = true;
            }
            columns.push((src, c.ty));
        }
        let mut derived = Derived::default();
        if needs_derived {
            derived = Derived {
                subject_user: Some(slot_of(SUBJECT_USER, &mut slots)),
                subject_domain: Some(slot_of(SUBJECT_DOMAIN, &mut slots)),
                target_user: Some(slot_of(TARGET_USER, &mut slots)),
                target_domain: Some(slot_of(TARGET_DOMAIN, &mut slots)),
                logon_type: Some(slot_of(LOGON_TYPE, &mut slots)),
                new_process: Some(slot_of(NEW_PROCESS, &mut slots)),
                process_name: Some(slot_of(PROCESS_NAME, &mut slots)),
            };
        }
        let nslots = slots.values().copied().max().map_or(0, |m| m + 1);
        Mapper {
            filter: ChannelFilter::of(name),
            columns,
            slots,
            nslots,
            derived,
        }
    }

    /// Appends the row of `ev` (nothing when the table does not take its channel). A
    /// `SystemTime` that is not a time makes the event bad.
    pub(crate) fn push(&self, ev: &WinEvent<'_>, batcher: &mut Batcher) -> Result<(), String> {
        // The time is checked on every row, whatever the projection, so that whether a row
        // exists does not depend on the columns asked for.
        let time =
            match ev.system_time.as_ref() {
                None | Some(Val::Null) => None,
                Some(v) => {
                    let t = v.text().unwrap_or_default();
                    Some(parse_time(t).ok_or_else(|| {
                        format!("TimeCreated: expected a date and time, found {t:?}")
                    })?)
                }
            };
        if !self.filter.admits(ev) {
            return Ok(());
        }
        let mut slots: Vec<Option<&Val<'_>>> = vec![None; self.nslots];
        if self.nslots > 0 {
            for (k, v) in &ev.data {
                if let Some(&i) = self.slots.get(k.as_ref())
                    && slots[i].is_none()
                {
                    slots[i] = Some(v);
                }
            }
        }
        let slot_text =
            |s: Option<usize>| -> Option<&str> { s.and_then(|i| slots[i]).and_then(Val::text) };
        let mut values: Vec<Scalar<'_>> = Vec::with_capacity(self.columns.len());
        for &(src, ty) in &self.columns {
            let v: Scalar<'_> = match src {
                Src::Const(s) => Scalar::Str(Cow::Borrowed(s)),
                Src::Null => Scalar::Null,
                Src::Data(i) => slots[i].map_or(Scalar::Null, |v| to_scalar(v, ty)),
                Src::Sys(Sys::TimeGenerated) => match ty {
                    KqlType::DateTime => time.map_or(Scalar::Null, Scalar::Nanos),
                    _ => opt_scalar(ev.system_time.as_ref(), ty),
                },
                Src::Sys(s) => self.system(s, ev, ty, &slot_text),
            };
            values.push(v);
        }
        batcher.push(&values);
        Ok(())
    }

    fn system<'e>(
        &self,
        s: Sys,
        ev: &'e WinEvent<'_>,
        ty: KqlType,
        slot_text: &dyn Fn(Option<usize>) -> Option<&'e str>,
    ) -> Scalar<'e> {
        let d = &self.derived;
        match s {
            Sys::TimeGenerated => unreachable!("handled by the caller"),
            Sys::EventId => opt_scalar(ev.event_id.as_ref(), ty),
            Sys::Version => opt_scalar(ev.version.as_ref(), ty),
            Sys::Level => opt_scalar(ev.level.as_ref(), ty),
            Sys::LevelName => {
                let level = ev.level.as_ref().and_then(Val::text);
                match level.and_then(|l| l.trim().parse::<i64>().ok()) {
                    Some(l) => level_name(l).map_or(Scalar::Null, |n| text_scalar(n, ty)),
                    None => Scalar::Null,
                }
            }
            Sys::Task => opt_scalar(ev.task.as_ref(), ty),
            Sys::Opcode => opt_scalar(ev.opcode.as_ref(), ty),
            Sys::Keywords => opt_scalar(ev.keywords.as_ref(), ty),
            Sys::RecordId => opt_scalar(ev.record_id.as_ref(), ty),
            Sys::Provider => opt_scalar(ev.provider.as_ref(), ty),
            Sys::EventSourceName => {
                opt_scalar(ev.provider.as_ref().or(ev.event_source_name.as_ref()), ty)
            }
            Sys::Channel => opt_scalar(ev.channel.as_ref(), ty),
            Sys::Computer => opt_scalar(ev.computer.as_ref(), ty),
            Sys::ProcessId => opt_scalar(ev.process_id.as_ref(), ty),
            Sys::ThreadId => opt_scalar(ev.thread_id.as_ref(), ty),
            Sys::UserId => opt_scalar(ev.user_id.as_ref(), ty),
            Sys::Correlation => correlation(ev).map_or(Scalar::Null, |c| text_scalar(c, ty)),
            Sys::EventDataJson => {
                if ev.data.is_empty() {
                    Scalar::Null
                } else {
                    Scalar::Str(Cow::Owned(event_data_json(&ev.data)))
                }
            }
            Sys::EventDataXml => {
                if ev.data.is_empty() {
                    Scalar::Null
                } else {
                    Scalar::Str(Cow::Owned(event_data_xml(&ev.data)))
                }
            }
            Sys::SubjectAccount => account(slot_text(d.subject_domain), slot_text(d.subject_user))
                .map_or(Scalar::Null, |a| text_scalar(a, ty)),
            Sys::TargetAccount => account(slot_text(d.target_domain), slot_text(d.target_user))
                .map_or(Scalar::Null, |a| text_scalar(a, ty)),
            Sys::Account | Sys::AccountType => {
                // The account an event is about: its target when it names one (a logon), else
                // its subject (who did it: a process creation).
                let target = slot_text(d.target_user).filter(|u| named(u));
                let (domain, user) = match target {
                    Some(u) => (slot_text(d.target_domain), Some(u)),
                    None => (slot_text(d.subject_domain), slot_text(d.subject_user)),
                };
                if s == Sys::Account {
                    account(domain, user).map_or(Scalar::Null, |a| text_scalar(a, ty))
                } else {
                    match user {
                        Some(u) if u.ends_with('$') => text_scalar("Machine".into(), ty),
                        Some(_) => text_scalar("User".into(), ty),
                        None => Scalar::Null,
                    }
                }
            }
            Sys::LogonTypeName => {
                let t = slot_text(d.logon_type).and_then(|t| t.trim().parse::<i64>().ok());
                match t.and_then(logon_type_name) {
                    Some(name) => text_scalar(format!("{} - {name}", t.unwrap_or_default()), ty),
                    None => Scalar::Null,
                }
            }
            Sys::Process => {
                let path = slot_text(d.new_process).or_else(|| slot_text(d.process_name));
                path.map_or(Scalar::Null, |p| {
                    let base = p.rsplit(['\\', '/']).next().unwrap_or(p);
                    Scalar::Str(Cow::Owned(base.to_string()))
                })
            }
        }
    }
}

/// Whether an account field names an account (`-` and empty mean none).
fn named(s: &str) -> bool {
    let t = s.trim();
    !t.is_empty() && t != "-"
}

/// `DOMAIN\user`, or `user` without a domain.
fn account(domain: Option<&str>, user: Option<&str>) -> Option<String> {
    let user = user?;
    Some(match domain {
        Some(d) if !d.is_empty() => format!("{d}\\{user}"),
        _ => user.to_string(),
    })
}

/// Level names of the Windows event schema (winmeta.xml); level 0 (LogAlways, what the Security
/// log writes) is shown as Information, as Event Viewer shows it.
fn level_name(level: i64) -> Option<String> {
    Some(
        match level {
            0 | 4 => "Information",
            1 => "Critical",
            2 => "Error",
            3 => "Warning",
            5 => "Verbose",
            _ => return None,
        }
        .to_string(),
    )
}

/// Logon type names as Log Analytics writes them after the number (`3 - Network`); from
/// https://learn.microsoft.com/windows/security/threat-protection/auditing/event-4624
fn logon_type_name(t: i64) -> Option<&'static str> {
    Some(match t {
        0 => "System",
        2 => "Interactive",
        3 => "Network",
        4 => "Batch",
        5 => "Service",
        7 => "Unlock",
        8 => "NetworkCleartext",
        9 => "NewCredentials",
        10 => "RemoteInteractive",
        11 => "CachedInteractive",
        12 => "CachedRemoteInteractive",
        13 => "CachedUnlock",
        _ => return None,
    })
}

/// The Correlation element's attributes as JSON (`{"ActivityID":"{...}"}`), when it has any.
fn correlation(ev: &WinEvent<'_>) -> Option<String> {
    let mut pairs = Vec::new();
    if let Some(Val::Text(a)) = &ev.activity_id {
        pairs.push(("ActivityID", a.as_ref()));
    }
    if let Some(Val::Text(r)) = &ev.related_activity_id {
        pairs.push(("RelatedActivityID", r.as_ref()));
    }
    if pairs.is_empty() {
        return None;
    }
    let mut out = String::from("{");
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_string(&mut out, k);
        out.push(':');
        push_json_string(&mut out, v);
    }
    out.push('}');
    Some(out)
}

fn text_scalar<'x>(s: String, ty: KqlType) -> Scalar<'x> {
    convert_text(Cow::Owned(s), ty)
}

fn opt_scalar<'e>(v: Option<&'e Val<'_>>, ty: KqlType) -> Scalar<'e> {
    v.map_or(Scalar::Null, |v| to_scalar(v, ty))
}

/// A value in a column's type; a value that does not fit the type is null (the event keeps it
/// in EventData).
fn to_scalar<'e>(v: &'e Val<'_>, ty: KqlType) -> Scalar<'e> {
    match v {
        Val::Null => Scalar::Null,
        Val::Text(t) => convert_text(Cow::Borrowed(t.as_ref()), ty),
        Val::Json(j) => match ty {
            KqlType::String | KqlType::Dynamic | KqlType::Guid => {
                Scalar::Str(Cow::Borrowed(j.as_ref()))
            }
            _ => Scalar::Null,
        },
    }
}

/// Text converted to a column type; whole numbers may also be written in hex (`0x1e7c`), as
/// Windows writes process and logon ids.
fn convert_text(t: Cow<'_, str>, ty: KqlType) -> Scalar<'_> {
    if matches!(ty, KqlType::Int | KqlType::Long)
        && let Some(hex) = t
            .trim()
            .strip_prefix("0x")
            .or_else(|| t.trim().strip_prefix("0X"))
    {
        return match (u64::from_str_radix(hex, 16), ty) {
            (Ok(v), KqlType::Int) => {
                i32::try_from(v).map_or(Scalar::Null, |v| Scalar::Int(v.into()))
            }
            (Ok(v), _) => i64::try_from(v).map_or(Scalar::Null, Scalar::Int),
            (Err(_), _) => Scalar::Null,
        };
    }
    convert(t, ty).unwrap_or(Scalar::Null)
}

/// Appends `s` as a JSON string, escaped as serde_json escapes: quotes, backslashes and control
/// characters (the short forms where JSON has them). Most values need no escape and are copied
/// whole.
fn push_json_string(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    out.push('"');
    let mut plain = 0;
    if !has_control(bytes) {
        // Only quotes and backslashes (Windows paths are full of them): memchr finds those.
        for at in memchr::memchr2_iter(b'"', b'\\', bytes) {
            out.push_str(&s[plain..at]);
            out.push('\\');
            plain = at;
        }
    } else {
        let special = |b: &u8| *b < 0x20 || *b == b'"' || *b == b'\\';
        while let Some(k) = bytes[plain..].iter().position(special) {
            let at = plain + k;
            out.push_str(&s[plain..at]);
            match bytes[at] {
                b'"' => out.push_str("\\\""),
                b'\\' => out.push_str("\\\\"),
                b'\n' => out.push_str("\\n"),
                b'\r' => out.push_str("\\r"),
                b'\t' => out.push_str("\\t"),
                0x08 => out.push_str("\\b"),
                0x0c => out.push_str("\\f"),
                b => out.push_str(&format!("\\u{b:04x}")),
            }
            plain = at + 1;
        }
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

/// Whether `b` holds a control character; folded in blocks without an early exit inside a block,
/// which the compiler vectorises.
fn has_control(b: &[u8]) -> bool {
    b.chunks(64)
        .any(|block| block.iter().fold(0u8, |acc, &c| acc | u8::from(c < 0x20)) != 0)
}

/// The EventData fields as a JSON object of name → text (nested values as JSON).
fn event_data_json(data: &[(Cow<'_, str>, Val<'_>)]) -> String {
    let mut out = String::with_capacity(data.len() * 32);
    out.push('{');
    for (i, (k, v)) in data.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_string(&mut out, k);
        out.push(':');
        match v {
            Val::Null => out.push_str("null"),
            Val::Text(t) => push_json_string(&mut out, t),
            Val::Json(j) => out.push_str(j),
        }
    }
    out.push('}');
    out
}

/// The EventData fields as the XML element Log Analytics keeps in SecurityEvent.EventData.
fn event_data_xml(data: &[(Cow<'_, str>, Val<'_>)]) -> String {
    let mut out = String::with_capacity(64 + data.len() * 48);
    out.push_str("<EventData xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">");
    for (k, v) in data {
        out.push_str("<Data Name=\"");
        push_xml_escaped(&mut out, k);
        out.push_str("\">");
        match v {
            Val::Null => {}
            Val::Text(t) | Val::Json(t) => push_xml_escaped(&mut out, t),
        }
        out.push_str("</Data>");
    }
    out.push_str("</EventData>");
    out
}

fn push_xml_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped_as_serde_json_escapes_them() {
        for s in [
            "plain",
            "",
            "a\"b\\c",
            "line\nbreak\r\t",
            "\u{1}\u{8}\u{c}\u{1f}x",
            "é ✓ \u{7f}",
        ] {
            let mut out = String::new();
            push_json_string(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap());
        }
    }

    #[test]
    fn values_read_the_shapes_the_evtx_renderer_writes() {
        let raw = |s: &str| -> Box<RawValue> { RawValue::from_string(s.to_string()).unwrap() };
        assert_eq!(value(&raw("\"a\\\\b\"")), Val::Text("a\\b".into()));
        assert_eq!(value(&raw("4688")), Val::Text("4688".into()));
        assert_eq!(value(&raw("null")), Val::Null);
        assert_eq!(
            value(&raw(
                r##"{"#attributes":{"Qualifiers":16384},"#text":7036}"##
            )),
            Val::Text("7036".into())
        );
        assert_eq!(
            value(&raw(r#"["a", "b"]"#)),
            Val::Json(r#"["a", "b"]"#.into())
        );
        let mut data = Vec::new();
        let element =
            raw(r##"{"#attributes":{"Name":"x"},"Data":{"#text":["a","b"]},"Binary":"D906"}"##);
        push_event_data(&element, &mut data);
        assert_eq!(
            data,
            vec![
                (Cow::Borrowed("Data"), Val::Json(r#"["a","b"]"#.into())),
                (Cow::Borrowed("Binary"), Val::Text("D906".into()))
            ]
        );
    }

    #[test]
    fn derived_columns_follow_log_analytics() {
        assert_eq!(
            account(Some("CONTOSO"), Some("bob")).as_deref(),
            Some("CONTOSO\\bob")
        );
        assert_eq!(account(Some(""), Some("bob")).as_deref(), Some("bob"));
        assert_eq!(logon_type_name(10), Some("RemoteInteractive"));
        assert_eq!(
            convert_text("0x1e7c".into(), KqlType::Long),
            Scalar::Int(0x1e7c)
        );
        assert_eq!(convert_text("-".into(), KqlType::Long), Scalar::Null);
        let data = vec![
            (Cow::Borrowed("A"), Val::Text("x<y & \"z\"".into())),
            (Cow::Borrowed("B"), Val::Null),
        ];
        assert_eq!(event_data_json(&data), r#"{"A":"x<y & \"z\"","B":null}"#);
        assert_eq!(
            event_data_xml(&data),
            "<EventData xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><Data Name=\"A\">x&lt;y &amp; &quot;z&quot;</Data><Data Name=\"B\"></Data></EventData>"
        );
    }
}
