//! The canonical access event (spec/events.md) and the decoders that produce it.
//!
//! Every source format is first read into [`RawFields`] (field name -> text, unknown
//! fields kept aside), then [`RawFields::validate`] turns it into an [`AccessEvent`] or
//! a [`DecodeError`] that names the field and the fault. The JSON decoder fills
//! `RawFields` straight from the bytes; CSV and mapped sources (other field names, CEF)
//! fill it from their own records.

pub mod cef;
pub mod csv;
pub mod explained;
pub mod json;
pub mod kinds;
pub mod mapping;
pub mod normalise;

use crate::time::{Date, Timestamp};
use compact_str::CompactString;

pub use kinds::{Action, Sex, SubjectType};
pub use normalise::PersonName;

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
    /// The person's recorded sex, when the source logs it.
    pub subject_sex: Option<Sex>,
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
    SubjectSex,
    Query,
    ResultCount,
    ReasonCode,
    Reference,
    Force,
    Terminal,
    SessionId,
}

impl Field {
    pub const ALL: [Field; 19] = [
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
        Field::SubjectSex,
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
            Field::SubjectSex => "subject_sex",
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
            "subject_sex" => Field::SubjectSex,
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
    /// A value that breaks its field's rules; the value is quoted only in part when
    /// long, so a reason stays a line.
    pub fn bad_value(field: Field, problem: &str, value: &str) -> DecodeError {
        DecodeError::BadValue { field: field.name(), problem: problem.to_string(), value: shown(value) }
    }

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

/// A field's text: borrowed from the record where the decoder could take it as it
/// stands (a plain JSON string, a CSV field), built where it could not.
#[derive(Debug, Clone)]
pub enum Text<'a> {
    Borrowed(&'a str),
    Owned(CompactString),
}

impl Text<'_> {
    pub fn as_str(&self) -> &str {
        match self {
            Text::Borrowed(s) => s,
            Text::Owned(s) => s,
        }
    }

    fn into_compact(self) -> CompactString {
        match self {
            Text::Borrowed(s) => s.into(),
            Text::Owned(s) => s,
        }
    }
}

impl PartialEq for Text<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl<'a> From<&'a str> for Text<'a> {
    fn from(s: &'a str) -> Self {
        Text::Borrowed(s)
    }
}

impl From<CompactString> for Text<'_> {
    fn from(s: CompactString) -> Self {
        Text::Owned(s)
    }
}

/// The fields of one record as text, before types are checked.
#[derive(Default, Debug, Clone, PartialEq)]
pub struct RawFields<'a> {
    values: [Option<Text<'a>>; Field::ALL.len()],
    /// Unknown fields as `"key":value` pairs of a JSON object body (no braces).
    extra: String,
    /// A field the record gives twice: readers disagree on which one counts (the first,
    /// the last), so such a record is refused rather than guessed at.
    duplicate: Option<Field>,
}

impl<'a> RawFields<'a> {
    pub fn set(&mut self, field: Field, value: impl Into<Text<'a>>) {
        let slot = &mut self.values[field as usize];
        if slot.is_some() {
            self.duplicate.get_or_insert(field);
        }
        *slot = Some(value.into());
    }

    pub fn get(&self, field: Field) -> Option<&str> {
        self.values[field as usize].as_ref().map(Text::as_str)
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
        self.take_text(field).map(Text::into_compact)
    }

    /// A field's text, for a value that is parsed rather than kept (no copy).
    fn take_text(&mut self, field: Field) -> Option<Text<'a>> {
        let text = self.values[field as usize].take()?;
        // Most values neither start nor end with a space: skip the trim for them.
        let b = text.as_str().as_bytes();
        let present = match (b.first(), b.last()) {
            (None, _) => false,
            (Some(f), Some(l)) if !f.is_ascii_whitespace() && !l.is_ascii_whitespace() => true,
            _ => !text.as_str().trim().is_empty(),
        };
        present.then_some(text)
    }

    fn required(&mut self, field: Field) -> Result<CompactString, DecodeError> {
        self.take(field).ok_or(DecodeError::MissingField(field.name()))
    }

    fn required_text(&mut self, field: Field) -> Result<Text<'a>, DecodeError> {
        self.take_text(field).ok_or(DecodeError::MissingField(field.name()))
    }

    /// An identifier field, checked against its bounds (spec/events.md).
    fn identifier(&mut self, field: Field) -> Result<Option<CompactString>, DecodeError> {
        let Some(v) = self.take(field) else { return Ok(None) };
        check_identifier(field, &v)?;
        Ok(Some(v))
    }

    /// Checks types, bounds and required fields and builds the event.
    pub fn validate(mut self) -> Result<AccessEvent, DecodeError> {
        if let Some(f) = self.duplicate {
            let value = self.get(f).unwrap_or_default();
            return Err(DecodeError::bad_value(f, "given twice in one record", value));
        }
        let event_id = self.required(Field::EventId)?;
        check_identifier(Field::EventId, &event_id)?;
        let ts_text = self.required_text(Field::Ts)?;
        let ts_text = ts_text.as_str();
        let ts = Timestamp::parse_rfc3339(ts_text)
            .map_err(|e| e.to_string())
            .and_then(|ts| match YEARS.contains(&ts.0) {
                true => Ok(ts),
                false => Err("outside the years 2000 to 2100".to_string()),
            })
            .map_err(|problem| DecodeError::bad_value(Field::Ts, &problem, ts_text))?;
        let mut system = self.required(Field::System)?;
        check_system(&system)?;
        system.make_ascii_uppercase();
        let user_id = self.required(Field::UserId)?;
        check_identifier(Field::UserId, &user_id)?;
        let action_text = self.required_text(Field::Action)?;
        let action_text = action_text.as_str();
        let action = Action::parse(action_text).ok_or_else(|| DecodeError::UnknownEnum {
            field: "action",
            value: shown(action_text),
            expected: "search, view, update, create, print, export",
        })?;
        let type_text = self.required_text(Field::SubjectType)?;
        let type_text = type_text.as_str();
        let subject_type = SubjectType::parse(type_text).ok_or_else(|| DecodeError::UnknownEnum {
            field: "subject_type",
            value: shown(type_text),
            expected: "person, vehicle, address, crime, incident, custody, intel, property, other",
        })?;
        let subject_dob = match self.take_text(Field::SubjectDob) {
            None => None,
            Some(text) => Some(Date::parse(text.as_str()).map_err(|e| {
                DecodeError::bad_value(Field::SubjectDob, &e.to_string(), text.as_str())
            })?),
        };
        let subject_sex = match self.take_text(Field::SubjectSex) {
            None => None,
            Some(text) => Sex::parse(text.as_str()).map_err(|_| DecodeError::UnknownEnum {
                field: "subject_sex",
                value: shown(text.as_str()),
                expected: "F, M, X, or empty when unknown",
            })?,
        };
        let result_count = match self.take_text(Field::ResultCount) {
            None => None,
            Some(text) => Some(text.as_str().trim().parse::<u64>().map_err(|_| {
                DecodeError::bad_value(Field::ResultCount, "expected a whole number of records", text.as_str())
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
            subject_sex,
            query: self.take(Field::Query),
            result_count,
            reason_code: self.identifier(Field::ReasonCode)?,
            reference: self.identifier(Field::Reference)?,
            force: self.identifier(Field::Force)?,
            terminal: self.identifier(Field::Terminal)?,
            session_id: self.identifier(Field::SessionId)?,
            extra: (!self.extra.is_empty()).then(|| format!("{{{}}}", self.extra).into_boxed_str()),
        })
    }
}

/// The event a decoder's fields make when every one is present as the spec asks and
/// passes its check, built straight from the text (`texts`, by [`Field`]): the path of
/// nearly every record of a canonical feed. `None` for anything else (a required field
/// missing, a value with spaces at an end, a value that fails a check), which
/// [`RawFields::validate`] then decodes or refuses with the reason: for every record
/// this accepts, it gives the same event (property-tested in `json`).
pub(crate) fn plain_event(texts: &[Option<&str>; Field::ALL.len()]) -> Option<AccessEvent> {
    // A field's text as the event keeps it: absent when empty; anything with a space at
    // either end is left to the general path, which trims to decide.
    let text = |f: Field| -> Option<Option<&str>> {
        match texts[f as usize] {
            None | Some("") => Some(None),
            Some(t) => {
                let plain = |b: u8| !b.is_ascii_whitespace();
                (plain(t.as_bytes()[0]) && plain(t.as_bytes()[t.len() - 1])).then_some(Some(t))
            }
        }
    };
    let required = |f: Field| text(f).flatten();
    let identifier = |f: Field| -> Option<Option<CompactString>> {
        match text(f)? {
            None => Some(None),
            Some(t) => check_identifier(f, t).ok().map(|_| Some(t.into())),
        }
    };
    let event_id = required(Field::EventId)?;
    check_identifier(Field::EventId, event_id).ok()?;
    let ts = Timestamp::parse_rfc3339(required(Field::Ts)?).ok().filter(|t| YEARS.contains(&t.0))?;
    let system = required(Field::System)?;
    check_system(system).ok()?;
    let mut system = CompactString::from(system);
    system.make_ascii_uppercase();
    let user_id = required(Field::UserId)?;
    check_identifier(Field::UserId, user_id).ok()?;
    let action = Action::parse(required(Field::Action)?)?;
    let subject_type = SubjectType::parse(required(Field::SubjectType)?)?;
    let subject_dob = match text(Field::SubjectDob)? {
        None => None,
        Some(t) => Some(Date::parse(t).ok()?),
    };
    let subject_sex = match text(Field::SubjectSex)? {
        None => None,
        Some(t) => Sex::parse(t).ok()?,
    };
    let result_count = match text(Field::ResultCount)? {
        None => None,
        Some(t) => Some(t.parse::<u64>().ok()?),
    };
    let kept = |f: Field| text(f).map(|t| t.map(CompactString::from));
    Some(AccessEvent {
        event_id: event_id.into(),
        ts,
        system,
        user_id: user_id.into(),
        action,
        subject_type,
        subject_id: kept(Field::SubjectId)?,
        subject_name: kept(Field::SubjectName)?,
        subject_dob,
        subject_postcode: kept(Field::SubjectPostcode)?,
        subject_vrm: kept(Field::SubjectVrm)?,
        subject_sex,
        query: kept(Field::Query)?,
        result_count,
        reason_code: identifier(Field::ReasonCode)?,
        reference: identifier(Field::Reference)?,
        force: identifier(Field::Force)?,
        terminal: identifier(Field::Terminal)?,
        session_id: identifier(Field::SessionId)?,
        extra: None,
    })
}

/// The times an event may carry: 2000-01-01T00:00:00Z to the end of 2100, in
/// milliseconds since the epoch.
const YEARS: std::ops::Range<i64> = 946_684_800_000..4_133_980_800_000;

/// The longest identifier (`event_id`, `user_id`, `reference`, ...), in characters.
pub const MAX_IDENTIFIER_CHARS: usize = 128;

/// The longest `system`, in characters.
pub const MAX_SYSTEM_CHARS: usize = 32;

/// An identifier's bounds (spec/events.md): 1 to 128 characters, no control characters.
/// These values are keys, labels and evidence references; a newline or a NUL in one
/// could forge a log line or break a reader downstream.
fn check_identifier(field: Field, v: &str) -> Result<(), DecodeError> {
    // Printable ASCII within the bound (nearly every identifier): one pass over bytes.
    if v.len() <= MAX_IDENTIFIER_CHARS && v.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Ok(());
    }
    if v.chars().count() > MAX_IDENTIFIER_CHARS {
        return Err(DecodeError::bad_value(field, "longer than 128 characters", v));
    }
    if v.chars().any(char::is_control) {
        return Err(DecodeError::bad_value(field, "contains a control character", v));
    }
    Ok(())
}

/// `system` names a directory of the archive and a metric label: 1 to 32 characters of
/// `A-Z a-z 0-9 _ -`, nothing that could climb out of a directory.
fn check_system(v: &str) -> Result<(), DecodeError> {
    let ok = v.len() <= MAX_SYSTEM_CHARS && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(DecodeError::bad_value(Field::System, "expected 1 to 32 letters, digits, `_` or `-`", v))
    }
}

/// A value as a reason quotes it: whole when short, else its first 80 characters and
/// its length.
fn shown(v: &str) -> String {
    const MAX: usize = 80;
    match v.char_indices().nth(MAX) {
        None => v.to_string(),
        Some((cut, _)) => format!("{}… ({} bytes)", &v[..cut], v.len()),
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
        if let Some(sex) = self.subject_sex {
            out.push_str(",\"subject_sex\":\"");
            out.push_str(sex.as_str());
            out.push('"');
        }
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
            // The extra fields are a JSON object: its body is written as it is, nested
            // values and all.
            let object = extra.trim();
            let body = object.strip_prefix('{').and_then(|b| b.strip_suffix('}')).unwrap_or_default();
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

    fn base() -> RawFields<'static> {
        with(&[])
    }

    /// The base event with these fields set instead (or as well).
    fn with<'a>(changes: &[(Field, &'a str)]) -> RawFields<'a> {
        let mut r = RawFields::default();
        for (f, v) in [
            (Field::EventId, "e1"),
            (Field::Ts, "2026-11-22T09:14:03Z"),
            (Field::System, "pnc"),
            (Field::UserId, "U1"),
            (Field::Action, "View"),
            (Field::SubjectType, "person"),
        ] {
            if !changes.iter().any(|(c, _)| *c == f) {
                r.set(f, v);
            }
        }
        for (f, v) in changes {
            r.set(*f, *v);
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
            assert_eq!(with(&[(f, "  ")]).validate().unwrap_err(), DecodeError::MissingField(f.name()));
        }
    }

    #[test]
    fn bad_values_are_named() {
        let bad = |changes: &[(Field, &str)]| with(changes).validate().unwrap_err();
        assert!(matches!(bad(&[(Field::Action, "peek")]), DecodeError::UnknownEnum { field: "action", .. }));
        assert!(matches!(
            bad(&[(Field::SubjectDob, "1980-02-31")]),
            DecodeError::BadValue { field: "subject_dob", .. }
        ));
        assert!(matches!(bad(&[(Field::ResultCount, "many")]), DecodeError::BadValue { field: "result_count", .. }));
    }

    #[test]
    fn identifiers_keep_to_their_bounds() {
        let kind = |changes: &[(Field, &str)]| with(changes).validate().map(|_| ()).map_err(|e| e.to_string());
        assert!(kind(&[(Field::System, "../../escaped")]).unwrap_err().contains("`system`"));
        assert!(kind(&[(Field::System, &"S".repeat(33))]).is_err());
        assert!(kind(&[(Field::System, "PNC_2-b")]).is_ok());
        assert!(kind(&[(Field::UserId, "U1\nU2")]).unwrap_err().contains("control character"));
        assert!(kind(&[(Field::EventId, &"e".repeat(129))]).unwrap_err().contains("longer than 128"));
        assert!(kind(&[(Field::EventId, &"é".repeat(128))]).is_ok(), "characters, not bytes");
        assert!(kind(&[(Field::Reference, "INC\u{7}")]).is_err());
        assert!(kind(&[(Field::Ts, "2101-01-01T00:00:00Z")]).unwrap_err().contains("2000 to 2100"));
        assert!(kind(&[(Field::Ts, "2100-12-31T23:59:59Z")]).is_ok());
        let mut twice = base();
        twice.set(Field::UserId, "U2");
        assert!(twice.validate().unwrap_err().to_string().contains("given twice"));
        let long = with(&[(Field::UserId, &"u".repeat(10_000))]).validate().unwrap_err().to_string();
        assert!(long.len() < 300, "a reason quotes a long value only in part: {long}");
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

    #[test]
    fn subject_sex_is_read_by_every_decoder_and_refused_when_unknown() {
        let line = |sex: &str| {
            format!(
                r#"{{"event_id":"e1","ts":"2026-11-22T09:14:03Z","system":"PNC","user_id":"U1","action":"view","subject_type":"person","subject_sex":"{sex}"}}"#
            )
        };
        for (given, want) in [("F", Some(Sex::F)), ("m", Some(Sex::M)), ("X", Some(Sex::X)), ("", None), ("U", None)] {
            // The fast path and the serde path agree.
            assert_eq!(json::decode(line(given).as_bytes()).unwrap().subject_sex, want, "{given}");
            assert_eq!(json::read_fields_serde(&line(given)).unwrap().validate().unwrap().subject_sex, want);
        }
        let bad = json::decode(line("female").as_bytes()).unwrap_err();
        assert!(matches!(bad, DecodeError::UnknownEnum { field: "subject_sex", .. }), "{bad:?}");
        // CSV, by its header.
        let layout = csv::CsvLayout::from_header(&[
            "event_id",
            "ts",
            "system",
            "user_id",
            "action",
            "subject_type",
            "subject_sex",
        ])
        .unwrap();
        let e = layout.decode(&["e1", "2026-11-22T09:14:03Z", "PNC", "U1", "view", "person", "f"]).unwrap();
        assert_eq!(e.subject_sex, Some(Sex::F));
        // Written back and read again, unchanged.
        let mut out = String::new();
        e.write_json(&mut out);
        assert!(out.contains(r#""subject_sex":"F""#), "{out}");
        assert_eq!(json::decode(out.as_bytes()).unwrap(), e);
    }
}
