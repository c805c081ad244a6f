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
pub mod raw;

use crate::time::{Date, Timestamp};
use compact_str::CompactString;

pub use kinds::{Action, Sex, SubjectType};
pub use normalise::PersonName;
pub(crate) use raw::plain_event;
pub use raw::{identifier, invisible, RawFields, Text, MAX_IDENTIFIER_CHARS, MAX_SYSTEM_CHARS};

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

    /// The field a key names as a reader of the record takes it, when it is not the
    /// field's exact name: in any case, with spaces, hyphens, dots or underscores
    /// anywhere or none (`SUBJECT_ID`, `Subject Id`, `subjectId`), characters that show
    /// nothing dropped, and characters that show an ASCII one read as it
    /// ([`normalise::shown_ascii`]: `ｓubject_id`, `subject_іd` with a Cyrillic і). A probe
    /// hid a high-profile look-up's `subject_id` under such keys, each kept as an
    /// unknown field. The readers give a field's exact name precedence (a record
    /// carrying its source's own `UserID` beside `user_id` keeps it as an extra field).
    pub fn from_key(key: &str) -> Option<Field> {
        const MOST: usize = 24;
        let mut squashed = [0u8; MOST];
        let mut n = 0;
        for c in key.chars() {
            let c = match c {
                c if c.is_ascii() => c,
                c if raw::invisible(c) => continue,
                c => normalise::shown_ascii(c)?,
            };
            match c {
                ' ' | '-' | '_' | '.' | '\t' => continue,
                c if c.is_ascii_alphanumeric() && n < MOST => {
                    squashed[n] = c.to_ascii_lowercase() as u8;
                    n += 1;
                }
                _ => return None,
            }
        }
        let squashed = &squashed[..n];
        Field::ALL.into_iter().find(|f| f.name().bytes().filter(|b| *b != b'_').eq(squashed.iter().copied()))
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
    /// A CSV record with another number of fields than its header's.
    #[error("bad CSV: record has {got} fields but the header has {header}")]
    FieldCount { got: usize, header: usize },
    #[error("bad CEF: {0}")]
    BadCef(String),
    #[error("missing required field `{0}` (absent, null, empty or only spaces)")]
    MissingField(&'static str),
    #[error("field `{field}`: {problem} (got {value:?})")]
    BadValue { field: &'static str, problem: String, value: String },
    #[error("field `{field}`: unknown value {value:?} (expected one of {expected})")]
    UnknownEnum { field: &'static str, value: String, expected: &'static str },
    /// A file that could not be read on (a damaged gzip stream, a disk error): what was
    /// read before it counts, and the rest of the file is not read.
    #[error("the file could not be read past this point, and the rest of it was not read: {0}")]
    Unreadable(String),
}

impl DecodeError {
    /// A value that breaks its field's rules; the value is quoted only in part when
    /// long, so a reason stays a line.
    pub fn bad_value(field: Field, problem: &str, value: &str) -> DecodeError {
        DecodeError::BadValue { field: field.name(), problem: problem.to_string(), value: raw::shown(value) }
    }

    /// A short stable label for counting dead letters by cause.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::BadUtf8(_) => "bad_utf8",
            DecodeError::TooLong { .. } => "too_long",
            DecodeError::BadJson(_) => "bad_json",
            DecodeError::BadCsv(_) | DecodeError::FieldCount { .. } => "bad_csv",
            DecodeError::BadCef(_) => "bad_cef",
            DecodeError::MissingField(_) => "missing_field",
            DecodeError::BadValue { .. } => "bad_value",
            DecodeError::UnknownEnum { .. } => "unknown_enum",
            DecodeError::Unreadable(_) => "unreadable",
        }
    }
}

impl AccessEvent {
    /// The subject's postcode as the rules compare it (`normalise::postcode`): its
    /// `subject_postcode`, or for an address record given by its postcode alone as its
    /// key, `subject_id` when it has a full UK postcode's shape (`NS18 6UR`: a probe's
    /// look-up of an operation's address so logged raised nothing).
    pub fn postcode_key(&self) -> Option<CompactString> {
        self.subject_postcode.as_deref().and_then(normalise::postcode).or_else(|| {
            let keyed = self.subject_type == SubjectType::Address && self.subject_vrm.is_none();
            let key = self.subject_id.as_deref().filter(|_| keyed).and_then(normalise::postcode);
            key.filter(|k| normalise::is_full_postcode(k))
        })
    }

    /// The vehicle's registration mark as the rules compare it (`normalise::vrm`): its
    /// `subject_vrm`, or for a vehicle record given by its key alone, `subject_id` (a
    /// PNC vehicle record's key is its VRM).
    pub fn vrm_key(&self) -> Option<CompactString> {
        let vrm = self.subject_vrm.as_deref().and_then(normalise::vrm);
        vrm.or_else(|| match self.subject_type {
            SubjectType::Vehicle => self.subject_id.as_deref().and_then(normalise::vrm),
            _ => None,
        })
    }

    /// The identity of an event's copies: the spec's idempotency key (system and event
    /// id) with the user, the time and every field that tells one access from another
    /// (what was done, to whom, found how, under which reference); not the force,
    /// terminal, session or extra fields, which two exports of one access may write
    /// differently. A record that reuses an id for another access (a search and the
    /// view after it under one transaction id, in the same second) is judged, not taken
    /// for a copy, and both are kept in the archive.
    ///
    /// Keyed afresh by each process: a log source that chose its event ids could
    /// otherwise make a misuse's record collide with an earlier record's and pass as its
    /// copy, unjudged. The live engine's memory of a stream's copies has a key of its
    /// own, kept with it in the snapshot ([`AccessEvent::copy_hash_with`]).
    pub fn copy_hash(&self) -> u64 {
        static KEY: std::sync::OnceLock<ahash::RandomState> = std::sync::OnceLock::new();
        self.copy_hash_with(KEY.get_or_init(ahash::RandomState::new))
    }

    /// [`AccessEvent::copy_hash`] under the given key.
    pub fn copy_hash_with(&self, key: &ahash::RandomState) -> u64 {
        let e = self;
        let who = (e.system.as_str(), e.event_id.as_str(), e.user_id.as_str(), e.ts.0);
        let what = (e.action.as_str(), e.subject_type.as_str(), e.subject_id.as_deref(), e.subject_name.as_deref());
        let whom = (e.subject_dob.map(|d| d.0), e.subject_postcode.as_deref(), e.subject_vrm.as_deref());
        let why = (e.query.as_deref(), e.result_count, e.reason_code.as_deref(), e.reference.as_deref());
        key.hash_one((who, what, whom, why))
    }

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
    /// date of birth; a vehicle by its VRM and an address by its postcode, with the
    /// keeper's or occupant's name when the record gives one (a vehicle look-up read as
    /// a person's: an evaluator could not tell from the sentence that the car was
    /// checked); or the record id.
    pub fn subject_description(&self) -> String {
        use raw::as_typed;
        let name = self.subject_name.as_deref().map(as_typed).filter(|n| !n.is_empty());
        let person = name.as_deref().map(|name| match self.subject_dob {
            Some(dob) => format!("{name}, born {dob}"),
            None => name.to_string(),
        });
        let vrm = self.subject_vrm.as_deref().map(as_typed).filter(|v| !v.is_empty());
        let postcode = self.subject_postcode.as_deref().map(as_typed).filter(|p| !p.is_empty());
        match (self.subject_type, vrm, postcode) {
            (SubjectType::Vehicle, Some(vrm), _) => match person {
                Some(p) => format!("vehicle {vrm} (keeper {p})"),
                None => format!("vehicle {vrm}"),
            },
            (SubjectType::Address, _, Some(typed)) => {
                // As a postcode is written (`LS6 2AB`), however the source spaced it.
                let raw = self.subject_postcode.as_deref().unwrap_or_default();
                let shown = normalise::postcode(raw).map(|p| normalise::postcode_display(&p));
                let place = format!("an address in {}", shown.as_deref().unwrap_or(&typed));
                match person {
                    Some(p) => format!("{place} ({p})"),
                    None => place,
                }
            }
            _ => match (&name, self.subject_dob) {
                (Some(name), Some(dob)) => format!("{name} (born {dob})"),
                (Some(name), None) => name.to_string(),
                (None, _) => match self.subject_id.as_deref().map(as_typed) {
                    Some(id) => format!("{} record {id}", self.subject_type),
                    None => format!("{} record", self.subject_type),
                },
            },
        }
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

    /// A name as a sentence shows it (a probe's names added a clause, broke the line,
    /// reversed the text, cleared the terminal, hid 10,000 zero-width characters):
    /// ordinary names as typed; anything else quoted, escaped and cut.
    #[test]
    fn a_subject_is_described_as_typed_only_when_it_looks_like_a_name() {
        let described = |name: &str| {
            let line = format!(
                r#"{{"event_id":"e1","ts":"2026-11-22T09:14:03Z","system":"PNC","user_id":"U1","action":"view","subject_type":"person","subject_name":{}}}"#,
                serde_json::to_string(name).unwrap()
            );
            json::decode(line.as_bytes()).unwrap().subject_description()
        };
        let decomposed = "Sia\u{302}n O\u{2018}Neill";
        for plain in ["O'Brien, Siân", "ST JOHN-SMITH/J", "Núñez Zoe", "D\u{2019}Arcy, Jo", decomposed, "Jo Smith 2"]
        {
            assert_eq!(described(plain), plain);
        }
        // No full stop, one separator: a typed name cannot end the sentence.
        for odd in ["SMITH, John. No further action, U1 is on the case team", "SMITH, John, U1, U2"] {
            assert!(described(odd).starts_with('\u{201c}'), "{odd}");
        }
        // A reference the user typed, likewise (a review: one carried a clause into the
        // custody sentence).
        assert_eq!(raw::as_typed_id("CR/123/26"), "CR/123/26");
        assert_eq!(raw::as_typed_id(" INC-20261110-00001 "), "INC-20261110-00001");
        let clause = raw::as_typed_id("INC-9, which is not a known incident. U1 is on the case team");
        assert!(clause.starts_with('\u{201c}') && clause.ends_with('\u{201d}'), "{clause}");
        let injected = described("STARR, Ringo) of their own unit; U1 is on the case team (");
        assert_eq!(injected, "\u{201c}STARR, Ringo) of their own unit; U1 is on the case team (\u{201d}");
        let lines = described("STARR, Ringo\n\nNo further action.");
        assert_eq!(lines, "\u{201c}STARR, Ringo\\u{a}\\u{a}No further action.\u{201d}");
        for hidden in ["\u{202e}oggniR ,RRATS", "STARR\u{1b}[2K", "STARR\u{200b}, Ringo", "STARR, \u{201d}Ringo"] {
            let shown = described(hidden);
            assert!(shown.starts_with('\u{201c}') && shown.ends_with('\u{201d}'), "{shown}");
            let inside = &shown['\u{201c}'.len_utf8()..shown.len() - '\u{201d}'.len_utf8()];
            assert!(!inside.chars().any(|c| raw::acts_on_a_terminal(c) || c == '\u{201d}'), "{shown:?}");
        }
        let long = described(&format!("STARR, Ringo{}", "\u{200b}".repeat(10_000)));
        assert!(long.chars().count() < 1_000 && long.ends_with("…\u{201d}"), "{}", long.len());
    }

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
        let words = [("Female", Some(Sex::F)), ("MALE", Some(Sex::M)), ("Unknown", None), ("not known", None)];
        let letters = [("F", Some(Sex::F)), ("m", Some(Sex::M)), ("X", Some(Sex::X)), ("", None), ("U", None)];
        for (given, want) in letters.into_iter().chain(words) {
            // The fast path and the serde path agree.
            assert_eq!(json::decode(line(given).as_bytes()).unwrap().subject_sex, want, "{given}");
            assert_eq!(json::read_fields_serde(&line(given)).unwrap().validate().unwrap().subject_sex, want);
        }
        let bad = json::decode(line("woman?").as_bytes()).unwrap_err();
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
        assert_eq!(json::decode(out.as_bytes()).unwrap(), *e);
    }
}
