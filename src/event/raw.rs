//! Raw fields: a record's fields as text before types are checked, and the checks that
//! make them an [`AccessEvent`] or a [`DecodeError`] naming the field and the fault
//! ([`RawFields::validate`], the general path every decoder can take), beside the
//! direct build of a record whose values all pass ([`plain_event`], the path of nearly
//! every record of a canonical feed).

use super::{AccessEvent, Action, DecodeError, Field, Sex, SubjectType};
use crate::time::{Date, Timestamp};
use compact_str::CompactString;

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
    /// The fields given, null ones included (bit `1 << field`).
    given: u32,
    /// Fields given under another spelling of their name ([`Field::from_key`]),
    /// weighed when the record is validated.
    spelt: Vec<Spelt>,
}

/// A field given under another spelling of its name: its key as written, its value as
/// JSON text (kept as an extra field if it is not the field) and as text.
#[derive(Debug, Clone, PartialEq)]
struct Spelt {
    field: Field,
    key: CompactString,
    json: String,
    text: CompactString,
}

impl<'a> RawFields<'a> {
    pub fn set(&mut self, field: Field, value: impl Into<Text<'a>>) {
        self.set_null(field);
        self.values[field as usize] = Some(value.into());
    }

    /// A field given as null: absent, but given (twice, with a value or not, is refused).
    pub fn set_null(&mut self, field: Field) {
        let bit = 1u32 << field as u32;
        if self.given & bit != 0 {
            self.duplicate.get_or_insert(field);
        }
        self.given |= bit;
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

    /// A field given under another spelling of its name (`SUBJECT_ID`, `Subject Id`):
    /// when the record is validated it is the field if the field's own name gives no
    /// value and the record is valid with it, and an extra field otherwise (a source's
    /// own `Query` object, `SubjectDOB` in its own format, must not refuse the record).
    pub fn spell(&mut self, field: Field, key: &str, json: &str, text: &str) {
        self.spelt.push(Spelt { field, key: key.into(), json: json.into(), text: text.into() });
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
            (Some(&f), Some(&l)) if plain_end(f) && plain_end(l) => true,
            _ => !text.as_str().trim().is_empty(),
        };
        present.then_some(text)
    }

    /// An identifier's text without the white space around it: `"U1 "` is user U1 (a
    /// padded key would match no watch-list row and pass for another user). Characters
    /// that show nothing are dropped wherever they stand: `U1\u{200B}` is U1 too.
    fn take_trimmed(&mut self, field: Field) -> Option<CompactString> {
        let text = self.take_text(field)?;
        let part = match identifier(text.as_str()) {
            // Nothing but characters that show nothing: absent, as white space alone is.
            std::borrow::Cow::Owned(shown) => return (!shown.is_empty()).then(|| shown.into()),
            std::borrow::Cow::Borrowed(t) if t.len() == text.as_str().len() => None,
            std::borrow::Cow::Borrowed(t) => Some(CompactString::from(t)),
        };
        Some(part.unwrap_or_else(|| text.into_compact()))
    }

    fn required(&mut self, field: Field) -> Result<CompactString, DecodeError> {
        self.take_trimmed(field).ok_or(DecodeError::MissingField(field.name()))
    }

    fn required_text(&mut self, field: Field) -> Result<Text<'a>, DecodeError> {
        self.take_text(field).ok_or(DecodeError::MissingField(field.name()))
    }

    /// An identifier field, checked against its bounds (spec/events.md).
    fn identifier(&mut self, field: Field) -> Result<Option<CompactString>, DecodeError> {
        let Some(v) = self.take_trimmed(field) else { return Ok(None) };
        check_identifier(field, &v)?;
        Ok(Some(v))
    }

    /// Checks types, bounds and required fields and builds the event.
    pub fn validate(mut self) -> Result<AccessEvent, DecodeError> {
        let spelt = std::mem::take(&mut self.spelt);
        if spelt.is_empty() {
            return self.validate_as_named();
        }
        // Two other spellings of a field its own name leaves empty: which one counts is
        // not known, as with a field given twice.
        // Its own name gives no value: absent, null, or nothing but white space and
        // characters that show nothing (as the readers below take it).
        let wanted =
            |s: &Spelt| !self.get(s.field).is_some_and(|t| t.chars().any(|c| !c.is_whitespace() && !invisible(c)));
        for (i, s) in spelt.iter().enumerate().filter(|(_, s)| wanted(s)) {
            if spelt[..i].iter().any(|o| o.field == s.field) {
                return Err(DecodeError::bad_value(s.field, "given twice in one record, in two spellings", &s.text));
            }
        }
        let mut used: Vec<bool> = spelt.iter().map(wanted).collect();
        // Why each spelling left out was: the reason for a required field that is then
        // missing (`"TS":"yesterday"` is a bad time, not no time at all).
        let mut refused: Vec<(&Spelt, DecodeError)> = Vec::new();
        loop {
            let mut attempt = self.clone();
            for (s, used) in spelt.iter().zip(&used) {
                match used {
                    true => attempt.values[s.field as usize] = Some(Text::Owned(s.text.clone())),
                    false => attempt.push_extra_json(&s.key, &s.json),
                }
            }
            let err = match attempt.validate_as_named() {
                Ok(event) => return Ok(event),
                Err(err) => err,
            };
            // A value the field cannot take: the other spelling was not meant as it.
            let named = match &err {
                DecodeError::BadValue { field, .. } | DecodeError::UnknownEnum { field, .. } => Some(*field),
                _ => None,
            };
            match spelt.iter().zip(&mut used).find(|(s, used)| **used && Some(s.field.name()) == named) {
                Some((s, used)) => {
                    *used = false;
                    refused.push((s, err));
                }
                None => {
                    let DecodeError::MissingField(name) = err else { return Err(err) };
                    let Some((s, why)) = refused.into_iter().find(|(s, _)| s.field.name() == name) else {
                        return Err(err);
                    };
                    return Err(match why {
                        DecodeError::BadValue { field, problem, value } => {
                            DecodeError::BadValue { field, problem: format!("{problem}, given as {:?}", s.key), value }
                        }
                        other => other,
                    });
                }
            }
        }
    }

    fn validate_as_named(mut self) -> Result<AccessEvent, DecodeError> {
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
        let mut user_id = self.required(Field::UserId)?;
        check_identifier(Field::UserId, &user_id)?;
        super::normalise::user_id(&mut user_id);
        let action = one_of(
            self.required_text(Field::Action)?.as_str(),
            Action::parse,
            "action",
            "search, view, update, create, print, export",
        )?;
        let subject_type = one_of(
            self.required_text(Field::SubjectType)?.as_str(),
            SubjectType::parse,
            "subject_type",
            "person, vehicle, address, crime, incident, custody, intel, property, other",
        )?;
        let subject_dob = match self.take_text(Field::SubjectDob) {
            None => None,
            Some(text) => Some(
                Date::parse(text.as_str())
                    .map_err(|e| e.to_string())
                    .and_then(|d| match BIRTH_YEARS.contains(&d.ymd().0) {
                        true => Ok(d),
                        false => Err("outside the years 1850 to 2100 (a two-digit year read as four?)".to_string()),
                    })
                    .map_err(|problem| DecodeError::bad_value(Field::SubjectDob, &problem, text.as_str()))?,
            ),
        };
        let subject_sex = match self.take_text(Field::SubjectSex) {
            None => None,
            Some(text) => Sex::parse(text.as_str()).map_err(|_| DecodeError::UnknownEnum {
                field: "subject_sex",
                value: shown(text.as_str()),
                expected: "F (Female), M (Male), X, or empty (U, Unknown) when unknown",
            })?,
        };
        let result_count = match self.take_text(Field::ResultCount) {
            None => None,
            Some(text) => {
                Some(text.as_str().trim().parse::<u64>().ok().filter(|n| *n <= MAX_RESULT_COUNT).ok_or_else(|| {
                    DecodeError::bad_value(Field::ResultCount, "expected a whole number of records", text.as_str())
                })?)
            }
        };
        Ok(AccessEvent {
            event_id,
            ts,
            system,
            user_id,
            action,
            subject_type,
            subject_id: self.take_trimmed(Field::SubjectId),
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
/// Boxed where it is built: an event is a few hundred bytes, and each layer it would
/// be returned through by value copies it.
pub(crate) fn plain_event(texts: &[Option<&str>; Field::ALL.len()], scanned: Scanned) -> Option<Box<AccessEvent>> {
    // A field's text as the event keeps it: absent when empty; anything with a space at
    // either end is left to the general path, which trims to decide.
    let text = |f: Field| -> Option<Option<&str>> {
        match texts[f as usize] {
            None | Some("") => Some(None),
            Some(t) => (plain_end(t.as_bytes()[0]) && plain_end(t.as_bytes()[t.len() - 1])).then_some(Some(t)),
        }
    };
    let required = |f: Field| text(f).flatten();
    // With no control character anywhere in the record, an identifier within the
    // bound in bytes is within it in characters too: nothing else to check.
    // An identifier other than ASCII may hold a character that shows nothing, which
    // the general path drops.
    let identifier_ok = |f: Field, t: &str| {
        t.is_ascii()
            && ((scanned == Scanned::NoControls && t.len() <= MAX_IDENTIFIER_CHARS) || check_identifier(f, t).is_ok())
    };
    let identifier = |f: Field| -> Option<Option<CompactString>> {
        match text(f)? {
            None => Some(None),
            Some(t) => identifier_ok(f, t).then(|| Some(t.into())),
        }
    };
    let event_id = required(Field::EventId)?;
    identifier_ok(Field::EventId, event_id).then_some(())?;
    let ts = Timestamp::parse_rfc3339(required(Field::Ts)?).ok().filter(|t| YEARS.contains(&t.0))?;
    let system = required(Field::System)?;
    check_system(system).ok()?;
    let mut system = CompactString::from(system);
    system.make_ascii_uppercase();
    let user_id = required(Field::UserId)?;
    identifier_ok(Field::UserId, user_id).then_some(())?;
    let action = Action::parse(required(Field::Action)?)?;
    let subject_type = SubjectType::parse(required(Field::SubjectType)?)?;
    let subject_dob = match text(Field::SubjectDob)? {
        None => None,
        Some(t) => Some(Date::parse(t).ok().filter(|d| BIRTH_YEARS.contains(&d.ymd().0))?),
    };
    let subject_sex = match text(Field::SubjectSex)? {
        None => None,
        Some(t) => Sex::parse(t).ok()?,
    };
    let result_count = match text(Field::ResultCount)? {
        None => None,
        Some(t) => Some(t.parse::<u64>().ok().filter(|n| *n <= MAX_RESULT_COUNT)?),
    };
    let kept = |f: Field| text(f).map(|t| t.map(CompactString::from));
    Some(Box::new(AccessEvent {
        event_id: event_id.into(),
        ts,
        system,
        user_id: {
            let mut id = CompactString::from(user_id);
            super::normalise::user_id(&mut id);
            id
        },
        action,
        subject_type,
        // A record id other than ASCII may hold a character that shows nothing, which
        // the general path drops (as from every identifier).
        subject_id: match text(Field::SubjectId)? {
            Some(t) if !t.is_ascii() => return None,
            t => t.map(CompactString::from),
        },
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
    }))
}

/// What the caller of [`plain_event`] has already checked of the record's whole text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scanned {
    /// Nothing: each identifier's characters are checked.
    Nothing,
    /// No control character anywhere (C0, DEL or C1; [`char::is_control`]).
    NoControls,
}

/// An identifier as events hold it: without the white space around it, and without
/// the characters that show nothing wherever they stand (`U1\u{200B}` is `U1`). What
/// an analyst pastes into a look-up is read the same way.
pub fn identifier(text: &str) -> std::borrow::Cow<'_, str> {
    let trimmed = text.trim();
    if !trimmed.is_ascii() && trimmed.chars().any(invisible) {
        let shown: String = trimmed.chars().filter(|c| !invisible(*c)).collect();
        return std::borrow::Cow::Owned(shown.trim().to_string());
    }
    std::borrow::Cow::Borrowed(trimmed)
}

/// Characters that show nothing: format characters (zero-width spaces and joiners,
/// direction marks, the byte-order mark, the soft hyphen) and the Hangul fillers. In an
/// identifier they are not part of it: `U10040\u{200B}` is a suspended user's id
/// typed to pass for someone else.
pub fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFFB}'
            | '\u{2800}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E007F}'
            | '\u{E0100}'..='\u{E01EF}'
    )
}

/// Whether a value's first or last byte needs no trim: a visible ASCII character. Any
/// other end may be white space to `str::trim` (a vertical tab, a no-break space),
/// which the general path trims.
fn plain_end(b: u8) -> bool {
    b.is_ascii_graphic()
}

// The fields given are a 32-bit set.
const _: () = assert!(Field::ALL.len() <= 32);

/// The times an event may carry: 2000-01-01T00:00:00Z to the end of 2100, in
/// milliseconds since the epoch.
const YEARS: std::ops::Range<i64> = 946_684_800_000..4_133_980_800_000;

/// The years a date of birth may fall in: one outside them is a fault of the source
/// (year 0098 from a two-digit year, 2198 from a slip), and would silently match no
/// watch-list row by name and date of birth.
pub const BIRTH_YEARS: std::ops::RangeInclusive<i32> = 1850..=2100;

/// The largest `result_count`: the archive's column is a signed 64-bit integer.
const MAX_RESULT_COUNT: u64 = i64::MAX as u64;

/// The longest identifier (`event_id`, `user_id`, `reference`, ...), in characters.
pub const MAX_IDENTIFIER_CHARS: usize = 128;

/// The longest `system`, in characters.
pub const MAX_SYSTEM_CHARS: usize = 32;

/// An identifier's bounds (spec/events.md): 1 to 128 characters, no control characters.
/// These values are keys, labels and evidence references; a newline or a NUL in one
/// could forge a log line or break a reader downstream.
pub(super) fn check_identifier(field: Field, v: &str) -> Result<(), DecodeError> {
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
pub(crate) fn check_system(v: &str) -> Result<(), DecodeError> {
    let ok = !v.is_empty()
        && v.len() <= MAX_SYSTEM_CHARS
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(DecodeError::bad_value(Field::System, "expected 1 to 32 letters, digits, `_` or `-`", v))
    }
}

/// `text` as one of a field's named values, or the error that lists them.
fn one_of<T>(
    text: &str,
    parse: fn(&str) -> Option<T>,
    field: &'static str,
    expected: &'static str,
) -> Result<T, DecodeError> {
    parse(text).ok_or_else(|| DecodeError::UnknownEnum { field, value: shown(text), expected })
}

/// Control characters, and the invisible ones that reorder or hide text (direction
/// overrides and isolates, zero-width characters, the byte-order mark).
pub fn acts_on_a_terminal(c: char) -> bool {
    c.is_control() || invisible(c) || matches!(c, '\u{2028}' | '\u{2029}' | '\u{fff9}'..='\u{fffb}')
}

/// Free text from a record (a name, a VRM, a postcode, a record id) as an alert's
/// sentence shows it: as typed when it looks like one (letters with their accents,
/// digits, spaces, `-'’‘`, and one `,` or `/` between surname and forenames; at most
/// 100 characters), else quoted ([`quoted`]). A probe's names closed their clause and
/// added one ("...; U10001 is on the case team"), broke the sentence over lines,
/// reversed it with a direction override, or hid 10,000 zero-width characters in it;
/// with no full stop a typed name cannot end the sentence and start another.
pub fn as_typed(text: &str) -> std::borrow::Cow<'_, str> {
    use unicode_normalization::char::is_combining_mark;
    let t = text.trim();
    let word = |c: char| {
        c.is_alphanumeric() || is_combining_mark(c) || matches!(c, ' ' | '-' | '\'' | '\u{2019}' | '\u{2018}')
    };
    let separators = t.chars().filter(|c| matches!(c, ',' | '/')).count();
    match separators <= 1 && t.chars().all(|c| word(c) || matches!(c, ',' | '/')) {
        true => quoted_if_long(t),
        false => quoted(t),
    }
}

/// An identifier the user typed (a reference) as a sentence shows it: as typed when it
/// is letters, digits and `-/_.:#` (no space: `INC-9, which is not a known incident. U1
/// is on the case team` is not one reference), else quoted ([`quoted`]).
pub fn as_typed_id(text: &str) -> std::borrow::Cow<'_, str> {
    let t = text.trim();
    match t.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '/' | '_' | '.' | ':' | '#')) {
        true => quoted_if_long(t),
        false => quoted(t),
    }
}

const SHOWN_CHARS: usize = 100;

fn quoted_if_long(t: &str) -> std::borrow::Cow<'_, str> {
    match t.chars().nth(SHOWN_CHARS) {
        None => std::borrow::Cow::Borrowed(t),
        Some(_) => quoted(t),
    }
}

/// `t` between quotes (`“…”`), cut to 100 characters, with each character that acts on
/// a terminal and each quote mark written as an escape (`\u{202e}`).
pub fn quoted(t: &str) -> std::borrow::Cow<'_, str> {
    const MAX: usize = SHOWN_CHARS;
    let mut out = String::with_capacity(t.len().min(4 * MAX) + 8);
    out.push('\u{201c}');
    for (i, c) in t.chars().enumerate() {
        if i == MAX {
            out.push('…');
            break;
        }
        match acts_on_a_terminal(c) || matches!(c, '"' | '\u{201c}' | '\u{201d}') {
            true => out.extend(c.escape_unicode()),
            false => out.push(c),
        }
    }
    out.push('\u{201d}');
    std::borrow::Cow::Owned(out)
}

/// A value as a reason quotes it: whole when short, else its first 80 characters and
/// its length.
pub(super) fn shown(v: &str) -> String {
    const MAX: usize = 80;
    match v.char_indices().nth(MAX) {
        None => v.to_string(),
        Some((cut, _)) => format!("{}… ({} bytes)", &v[..cut], v.len()),
    }
}

/// Values each field accepts, in the shapes sources send: the property tests of the
/// decoders' direct builds draw from these so that most cases reach a comparison.
#[cfg(test)]
pub(crate) mod valid {
    use super::Field;
    use proptest::prelude::*;

    /// A value `field` accepts, as text.
    pub fn text(field: Field) -> BoxedStrategy<String> {
        let pick = |v: &'static [&'static str]| proptest::sample::select(v).prop_map(str::to_string).boxed();
        match field {
            Field::EventId | Field::UserId | Field::SubjectId | Field::SessionId | Field::Terminal => {
                "[A-Za-z0-9][A-Za-z0-9/_.-]{0,15}".boxed()
            }
            Field::Ts => pick(&[
                "2026-11-22T09:14:03.120Z",
                "2026-11-22T09:14:03Z",
                "2026-11-22T09:14:03.1Z",
                "2026-03-29T01:30:00.000Z",
                "2026-11-22T09:14:03.120+01:00",
                "2000-01-01T00:00:00.000Z",
                "2100-12-31T23:59:59.999Z",
            ]),
            Field::System => pick(&["PNC", "pnc", "niche_rms", "PND-2"]),
            Field::Action => pick(&["view", "search", "update", "create", "print", "export", "VIEW", " Search "]),
            Field::SubjectType => {
                pick(&["person", "vehicle", "address", "crime", "incident", "custody", "intel", "other"])
            }
            Field::SubjectName => {
                pick(&["SMITH, John", "John Smith", "O'Brien, Siân", "van der Berg, Anna-Marie", "SMITH"])
            }
            Field::SubjectDob => pick(&["1980-01-02", "2000-02-29"]),
            Field::SubjectPostcode => pick(&["NS5 5DE", "ns55de", "SW1A 1AA"]),
            Field::SubjectVrm => pick(&["JN74 EDW", "jn74edw"]),
            Field::SubjectSex => pick(&["m", "F", "x", "U"]),
            Field::ResultCount => "[0-9]{1,4}".boxed(),
            Field::Query | Field::ReasonCode | Field::Reference | Field::Force => {
                "[A-Za-z0-9][A-Za-z0-9 ,/-]{0,12}".boxed()
            }
        }
    }
}

/// The unknown field names of one record so far, to refuse one given twice: compared
/// one by one while few (nearly every record has none or a handful), hashed past 16
/// (a probe's record of 6,500 unknown fields took 80 ms compared pairwise; a CEF
/// record, 125 ms).
pub struct NamesSeen<K> {
    few: smallvec::SmallVec<[K; 4]>,
    many: Option<ahash::AHashSet<K>>,
}

impl<K> Default for NamesSeen<K> {
    fn default() -> Self {
        NamesSeen { few: smallvec::SmallVec::new(), many: None }
    }
}

impl<K: Eq + std::hash::Hash> NamesSeen<K> {
    /// Adds `name`; `false` if the record already gave it.
    pub fn insert(&mut self, name: K) -> bool {
        if let Some(set) = &mut self.many {
            return set.insert(name);
        }
        if self.few.contains(&name) {
            return false;
        }
        self.few.push(name);
        if self.few.len() > 16 {
            self.many = Some(self.few.drain(..).collect());
        }
        true
    }
}
