//! The canonical access event (spec/events.md) and the decoders that produce it.
//!
//! Every source format is first read into [`RawFields`] (field name -> text, unknown
//! fields kept aside), then [`RawFields::validate`] turns it into an [`AccessEvent`] or
//! a [`DecodeError`] that names the field and the fault. The JSON decoder fills
//! `RawFields` straight from the bytes; CSV and mapped sources (other field names, CEF)
//! fill it from their own records.

pub mod cef;
pub mod csv;
pub mod json;
pub mod mapping;
pub mod normalise;

use crate::time::{Date, Timestamp};
use compact_str::CompactString;
use serde::Serialize;
use std::fmt;

pub use normalise::PersonName;

/// What the user did to the record.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Search,
    View,
    Update,
    Create,
    Print,
    Export,
}

/// What kind of record was accessed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectType {
    Person,
    Vehicle,
    Address,
    Crime,
    Incident,
    Custody,
    Intel,
    Property,
    Other,
}

impl Action {
    pub const ALL: [Action; 6] =
        [Action::Search, Action::View, Action::Update, Action::Create, Action::Print, Action::Export];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Search => "search",
            Action::View => "view",
            Action::Update => "update",
            Action::Create => "create",
            Action::Print => "print",
            Action::Export => "export",
        }
    }

    /// Case-insensitive parse of the spec's enum values.
    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// The verb an alert sentence uses: "searched for", "viewed", ...
    pub fn verb(self) -> &'static str {
        match self {
            Action::Search => "searched for",
            Action::View => "viewed",
            Action::Update => "updated",
            Action::Create => "created a record of",
            Action::Print => "printed",
            Action::Export => "exported",
        }
    }
}

impl SubjectType {
    pub const ALL: [SubjectType; 9] = [
        SubjectType::Person,
        SubjectType::Vehicle,
        SubjectType::Address,
        SubjectType::Crime,
        SubjectType::Incident,
        SubjectType::Custody,
        SubjectType::Intel,
        SubjectType::Property,
        SubjectType::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SubjectType::Person => "person",
            SubjectType::Vehicle => "vehicle",
            SubjectType::Address => "address",
            SubjectType::Crime => "crime",
            SubjectType::Incident => "incident",
            SubjectType::Custody => "custody",
            SubjectType::Intel => "intel",
            SubjectType::Property => "property",
            SubjectType::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<SubjectType> {
        SubjectType::ALL.into_iter().find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for SubjectType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One consultation or change of a record by one user, as a source system logged it.
#[derive(Clone, Debug, PartialEq)]
pub struct AccessEvent {
    pub event_id: CompactString,
    pub ts: Timestamp,
    /// Upper-cased so that systems compare case-insensitively.
    pub system: CompactString,
    pub user_id: CompactString,
    pub action: Action,
    pub subject_type: SubjectType,
    pub subject_id: Option<CompactString>,
    pub subject_name: Option<CompactString>,
    pub subject_dob: Option<Date>,
    pub subject_postcode: Option<CompactString>,
    pub subject_vrm: Option<CompactString>,
    pub query: Option<CompactString>,
    pub result_count: Option<u64>,
    pub reason_code: Option<CompactString>,
    pub reference: Option<CompactString>,
    pub force: Option<CompactString>,
    pub terminal: Option<CompactString>,
    pub session_id: Option<CompactString>,
    /// Unknown extra fields as the text of a JSON object; kept for the archive, ignored
    /// by the rules.
    pub extra: Option<Box<str>>,
}

/// The canonical field names, in the order of spec/events.md.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    EventId,
    Ts,
    System,
    UserId,
    Action,
    SubjectType,
    SubjectId,
    SubjectName,
    SubjectDob,
    SubjectPostcode,
    SubjectVrm,
    Query,
    ResultCount,
    ReasonCode,
    Reference,
    Force,
    Terminal,
    SessionId,
}

impl Field {
    pub const ALL: [Field; 18] = [
        Field::EventId,
        Field::Ts,
        Field::System,
        Field::UserId,
        Field::Action,
        Field::SubjectType,
        Field::SubjectId,
        Field::SubjectName,
        Field::SubjectDob,
        Field::SubjectPostcode,
        Field::SubjectVrm,
        Field::Query,
        Field::ResultCount,
        Field::ReasonCode,
        Field::Reference,
        Field::Force,
        Field::Terminal,
        Field::SessionId,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::EventId => "event_id",
            Field::Ts => "ts",
            Field::System => "system",
            Field::UserId => "user_id",
            Field::Action => "action",
            Field::SubjectType => "subject_type",
            Field::SubjectId => "subject_id",
            Field::SubjectName => "subject_name",
            Field::SubjectDob => "subject_dob",
            Field::SubjectPostcode => "subject_postcode",
            Field::SubjectVrm => "subject_vrm",
            Field::Query => "query",
            Field::ResultCount => "result_count",
            Field::ReasonCode => "reason_code",
            Field::Reference => "reference",
            Field::Force => "force",
            Field::Terminal => "terminal",
            Field::SessionId => "session_id",
        }
    }

    pub fn from_name(name: &str) -> Option<Field> {
        // A match on the string compiles to a fast comparison tree; this runs for
        // every key of every JSON event.
        Some(match name {
            "event_id" => Field::EventId,
            "ts" => Field::Ts,
            "system" => Field::System,
            "user_id" => Field::UserId,
            "action" => Field::Action,
            "subject_type" => Field::SubjectType,
            "subject_id" => Field::SubjectId,
            "subject_name" => Field::SubjectName,
            "subject_dob" => Field::SubjectDob,
            "subject_postcode" => Field::SubjectPostcode,
            "subject_vrm" => Field::SubjectVrm,
            "query" => Field::Query,
            "result_count" => Field::ResultCount,
            "reason_code" => Field::ReasonCode,
            "reference" => Field::Reference,
            "force" => Field::Force,
            "terminal" => Field::Terminal,
            "session_id" => Field::SessionId,
            _ => return None,
        })
    }

    pub fn is_required(self) -> bool {
        matches!(self, Field::EventId | Field::Ts | Field::System | Field::UserId | Field::Action | Field::SubjectType)
    }
}

/// Why a record could not become an event. Each is the record's fault, not ours:
/// the record goes to the dead-letter output with this reason and the run goes on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("not valid UTF-8 (byte {0})")]
    BadUtf8(usize),
    #[error("record is {len} bytes, over the limit of {limit}")]
    TooLong { len: usize, limit: usize },
    #[error("bad JSON: {0}")]
    BadJson(String),
    #[error("bad CSV: {0}")]
    BadCsv(String),
    #[error("bad CEF: {0}")]
    BadCef(String),
    #[error("missing required field `{0}`")]
    MissingField(&'static str),
    #[error("field `{field}`: {problem} (got {value:?})")]
    BadValue { field: &'static str, problem: String, value: String },
    #[error("field `{field}`: unknown value {value:?} (expected one of {expected})")]
    UnknownEnum { field: &'static str, value: String, expected: &'static str },
}

impl DecodeError {
    /// A short stable label for counting dead letters by cause.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::BadUtf8(_) => "bad_utf8",
            DecodeError::TooLong { .. } => "too_long",
            DecodeError::BadJson(_) => "bad_json",
            DecodeError::BadCsv(_) => "bad_csv",
            DecodeError::BadCef(_) => "bad_cef",
            DecodeError::MissingField(_) => "missing_field",
            DecodeError::BadValue { .. } => "bad_value",
            DecodeError::UnknownEnum { .. } => "unknown_enum",
        }
    }
}

/// The fields of one record as text, before types are checked.
#[derive(Default, Debug, Clone, PartialEq)]
pub struct RawFields {
    values: [Option<CompactString>; 18],
    /// Unknown fields as `"key":value` pairs of a JSON object body (no braces).
    extra: String,
}

impl RawFields {
    pub fn set(&mut self, field: Field, value: CompactString) {
        self.values[field as usize] = Some(value);
    }

    pub fn get(&self, field: Field) -> Option<&str> {
        self.values[field as usize].as_deref()
    }

    /// Keeps an unknown field; `json_value` must already be valid JSON text.
    pub fn push_extra_json(&mut self, key: &str, json_value: &str) {
        if !self.extra.is_empty() {
            self.extra.push(',');
        }
        // Serialising a &str to a String cannot fail.
        self.extra.push_str(&serde_json::to_string(key).unwrap_or_default());
        self.extra.push(':');
        self.extra.push_str(json_value);
    }

    /// Keeps an unknown field whose value is plain text.
    pub fn push_extra_text(&mut self, key: &str, value: &str) {
        let v = serde_json::to_string(value).unwrap_or_default();
        self.push_extra_json(key, &v);
    }

    fn take(&mut self, field: Field) -> Option<CompactString> {
        self.values[field as usize].take().filter(|v| {
            // Most values neither start nor end with a space: skip the trim for them.
            let b = v.as_bytes();
            match (b.first(), b.last()) {
                (None, _) => false,
                (Some(f), Some(l)) if !f.is_ascii_whitespace() && !l.is_ascii_whitespace() => true,
                _ => !v.trim().is_empty(),
            }
        })
    }

    fn required(&mut self, field: Field) -> Result<CompactString, DecodeError> {
        self.take(field).ok_or(DecodeError::MissingField(field.name()))
    }

    /// Checks types and required fields and builds the event.
    pub fn validate(mut self) -> Result<AccessEvent, DecodeError> {
        let event_id = self.required(Field::EventId)?;
        let ts_text = self.required(Field::Ts)?;
        let ts = Timestamp::parse_rfc3339(&ts_text).map_err(|e| DecodeError::BadValue {
            field: "ts",
            problem: e.to_string(),
            value: ts_text.to_string(),
        })?;
        let mut system = self.required(Field::System)?;
        system.make_ascii_uppercase();
        let user_id = self.required(Field::UserId)?;
        let action_text = self.required(Field::Action)?;
        let action = Action::parse(&action_text).ok_or_else(|| DecodeError::UnknownEnum {
            field: "action",
            value: action_text.to_string(),
            expected: "search, view, update, create, print, export",
        })?;
        let type_text = self.required(Field::SubjectType)?;
        let subject_type = SubjectType::parse(&type_text).ok_or_else(|| DecodeError::UnknownEnum {
            field: "subject_type",
            value: type_text.to_string(),
            expected: "person, vehicle, address, crime, incident, custody, intel, property, other",
        })?;
        let subject_dob = match self.take(Field::SubjectDob) {
            None => None,
            Some(text) => Some(Date::parse(&text).map_err(|e| DecodeError::BadValue {
                field: "subject_dob",
                problem: e.to_string(),
                value: text.to_string(),
            })?),
        };
        let result_count = match self.take(Field::ResultCount) {
            None => None,
            Some(text) => Some(text.trim().parse::<u64>().map_err(|_| DecodeError::BadValue {
                field: "result_count",
                problem: "expected a whole number of records".into(),
                value: text.to_string(),
            })?),
        };
        Ok(AccessEvent {
            event_id,
            ts,
            system,
            user_id,
            action,
            subject_type,
            subject_id: self.take(Field::SubjectId),
            subject_name: self.take(Field::SubjectName),
            subject_dob,
            subject_postcode: self.take(Field::SubjectPostcode),
            subject_vrm: self.take(Field::SubjectVrm),
            query: self.take(Field::Query),
            result_count,
            reason_code: self.take(Field::ReasonCode),
            reference: self.take(Field::Reference),
            force: self.take(Field::Force),
            terminal: self.take(Field::Terminal),
            session_id: self.take(Field::SessionId),
            extra: (!self.extra.is_empty()).then(|| format!("{{{}}}", self.extra).into_boxed_str()),
        })
    }
}

impl AccessEvent {
    /// Writes the event as one line of canonical JSON (spec/events.md), fields in the
    /// spec's order, extra fields last. Used by the generator, the archive and tests;
    /// written by hand because it runs once per generated event.
    pub fn write_json(&self, out: &mut String) {
        out.push_str("{\"event_id\":");
        push_json_str(out, &self.event_id);
        out.push_str(",\"ts\":\"");
        self.ts.write_rfc3339(out);
        out.push_str("\",\"system\":");
        push_json_str(out, &self.system);
        out.push_str(",\"user_id\":");
        push_json_str(out, &self.user_id);
        out.push_str(",\"action\":\"");
        out.push_str(self.action.as_str());
        out.push_str("\",\"subject_type\":\"");
        out.push_str(self.subject_type.as_str());
        out.push('"');
        let text = |out: &mut String, name: &str, value: &Option<CompactString>| {
            if let Some(v) = value {
                out.push_str(",\"");
                out.push_str(name);
                out.push_str("\":");
                push_json_str(out, v);
            }
        };
        text(out, "subject_id", &self.subject_id);
        text(out, "subject_name", &self.subject_name);
        if let Some(dob) = self.subject_dob {
            use std::fmt::Write;
            let _ = write!(out, ",\"subject_dob\":\"{dob}\"");
        }
        text(out, "subject_postcode", &self.subject_postcode);
        text(out, "subject_vrm", &self.subject_vrm);
        text(out, "query", &self.query);
        if let Some(n) = self.result_count {
            use std::fmt::Write;
            let _ = write!(out, ",\"result_count\":{n}");
        }
        text(out, "reason_code", &self.reason_code);
        text(out, "reference", &self.reference);
        text(out, "force", &self.force);
        text(out, "terminal", &self.terminal);
        text(out, "session_id", &self.session_id);
        if let Some(extra) = &self.extra {
            let body = extra.trim().trim_start_matches('{').trim_end_matches('}');
            if !body.trim().is_empty() {
                out.push(',');
                out.push_str(body);
            }
        }
        out.push('}');
    }

    /// A short description of the subject for alert sentences: a person's name and
    /// date of birth, a VRM, a postcode, or the record id.
    pub fn subject_description(&self) -> String {
        let mut s = String::new();
        match (&self.subject_name, self.subject_type) {
            (Some(name), _) => {
                s.push_str(name.trim());
                if let Some(dob) = self.subject_dob {
                    s.push_str(&format!(" (born {dob})"));
                }
            }
            (None, SubjectType::Vehicle) if self.subject_vrm.is_some() => {
                s.push_str("vehicle ");
                s.push_str(self.subject_vrm.as_deref().unwrap_or_default());
            }
            (None, SubjectType::Address) if self.subject_postcode.is_some() => {
                s.push_str("an address in ");
                s.push_str(self.subject_postcode.as_deref().unwrap_or_default());
            }
            _ => {
                s.push_str(&format!("{} record", self.subject_type));
                if let Some(id) = &self.subject_id {
                    s.push(' ');
                    s.push_str(id);
                }
            }
        }
        s
    }
}

/// Appends `s` as a JSON string literal.
pub fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            use std::fmt::Write;
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_like_serde() {
        for s in ["plain", "quote\" and \\ slash", "tab\tnew\nline\u{1}", "ünïcødé"] {
            let mut out = String::new();
            push_json_str(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap());
        }
    }

    fn base() -> RawFields {
        let mut r = RawFields::default();
        for (f, v) in [
            (Field::EventId, "e1"),
            (Field::Ts, "2026-11-22T09:14:03Z"),
            (Field::System, "pnc"),
            (Field::UserId, "U1"),
            (Field::Action, "View"),
            (Field::SubjectType, "person"),
        ] {
            r.set(f, v.into());
        }
        r
    }

    #[test]
    fn validate_normalises_system_and_enums() {
        let e = base().validate().unwrap();
        assert_eq!(e.system, "PNC");
        assert_eq!(e.action, Action::View);
    }

    #[test]
    fn each_required_field_is_named_when_missing() {
        for f in Field::ALL.into_iter().filter(|f| f.is_required()) {
            let mut r = base();
            r.set(f, "  ".into());
            assert_eq!(r.validate().unwrap_err(), DecodeError::MissingField(f.name()));
        }
    }

    #[test]
    fn bad_values_are_named() {
        let mut r = base();
        r.set(Field::Action, "peek".into());
        assert!(matches!(r.validate(), Err(DecodeError::UnknownEnum { field: "action", .. })));
        let mut r = base();
        r.set(Field::SubjectDob, "1980-02-31".into());
        assert!(matches!(r.validate(), Err(DecodeError::BadValue { field: "subject_dob", .. })));
        let mut r = base();
        r.set(Field::ResultCount, "many".into());
        assert!(matches!(r.validate(), Err(DecodeError::BadValue { field: "result_count", .. })));
    }

    #[test]
    fn json_round_trip_keeps_extras() {
        let line = br#"{"event_id":"e1","ts":"2026-11-22T09:14:03.000Z","system":"PNC","user_id":"U1","action":"view","subject_type":"person","subject_name":"SMITH, John","subject_dob":"1980-01-02","result_count":3,"screen":"P01","tags":["a",1]}"#;
        let e = json::decode(line).unwrap();
        let mut out = String::new();
        e.write_json(&mut out);
        let again = json::decode(out.as_bytes()).unwrap();
        assert_eq!(e, again);
        assert_eq!(e.extra.as_deref(), Some(r#"{"screen":"P01","tags":["a",1]}"#));
    }
}
