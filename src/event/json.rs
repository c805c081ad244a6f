//! JSON Lines decoder for canonical events.
//!
//! A serde visitor reads the object's keys straight into [`RawFields`]: known fields as
//! text (numbers are accepted and kept as their digits), unknown fields as raw JSON
//! kept for the archive. No intermediate `serde_json::Value` is built.

use super::raw::NamesSeen;
use super::{AccessEvent, DecodeError, Field, RawFields};
use compact_str::CompactString;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// Decodes one line of JSON into an event.
pub fn decode(line: &[u8]) -> Result<AccessEvent, DecodeError> {
    let text = std::str::from_utf8(line).map_err(|e| DecodeError::BadUtf8(e.valid_up_to()))?;
    decode_boxed(text).map(|e| *e)
}

/// Decodes one line of JSON already known to be UTF-8, boxed where the event is built
/// (the sources keep events boxed; a few hundred bytes returned by value through each
/// layer would be copied by each).
pub fn decode_boxed(line: &str) -> Result<Box<AccessEvent>, DecodeError> {
    if let Some(event) = fast::event(line) {
        return Ok(event);
    }
    read_fields(line)?.validate().map(Box::new)
}

/// Reads one JSON object into raw fields without checking types.
///
/// Most lines are a flat object of plain strings and integers; [`fast::read`] scans
/// those directly. Anything else (escapes, nested values, floats, and every malformed
/// line) goes through serde_json, which also words the errors.
pub fn read_fields(line: &str) -> Result<RawFields<'_>, DecodeError> {
    let mut fields = RawFields::default();
    if fast::read_into(line, &mut fields).is_some() {
        return Ok(fields);
    }
    read_fields_serde(line)
}

/// The general path: serde_json over the text (reading from `&str` spares it a second
/// UTF-8 check of every string).
pub fn read_fields_serde(line: &str) -> Result<RawFields<'_>, DecodeError> {
    let mut de = serde_json::Deserializer::from_str(line);
    let fields = de.deserialize_map(EventVisitor).map_err(|e| DecodeError::BadJson(e.to_string()))?;
    de.end().map_err(|e| DecodeError::BadJson(e.to_string()))?;
    Ok(fields)
}

struct EventVisitor;

/// The deepest an unknown field may nest: it is kept in the archive, and a reader
/// downstream (a SIEM, a notebook) may recurse through it.
pub const MAX_EXTRA_NESTING: usize = 32;

/// How deep the arrays and objects of valid JSON text nest.
pub(crate) fn nesting(json: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for b in json.bytes() {
        match (in_string, b) {
            (true, _) if escaped => escaped = false,
            (true, b'\\') => escaped = true,
            (true, b'"') => in_string = false,
            (true, _) => {}
            (false, b'"') => in_string = true,
            (false, b'[' | b'{') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (false, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

enum Key {
    Known(Field),
    Other(CompactString),
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(match Field::from_name(v) {
            Some(f) => Key::Known(f),
            None => Key::Other(v.into()),
        })
    }
}

/// A field value as text: strings as they are, numbers as their digits, null as absent.
struct TextValue;

impl<'de> DeserializeSeed<'de> for TextValue {
    type Value = Option<CompactString>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TextValue {
    type Value = Option<CompactString>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, a number or null")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(compact_str::format_compact!("{v}")))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(compact_str::format_compact!("{v}")))
    }
    /// A fraction, an exponent, or an integer beyond 64 bits: serde_json has only the
    /// rounded binary value, whose text is not the record's (two event ids 20 digits
    /// long would become one), so the record is refused rather than misread.
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Err(E::custom(
            "a number with a fraction or an exponent, a negative zero, or beyond 64 bits is not read as text; give it as a string",
        ))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

impl<'de> Visitor<'de> for EventVisitor {
    type Value = RawFields<'static>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object with the fields of spec/events.md")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawFields<'static>, A::Error> {
        let mut fields = RawFields::default();
        let mut unknown: NamesSeen<CompactString> = NamesSeen::default();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key {
                Key::Known(field) => match map.next_value_seed(TextValue) {
                    Ok(Some(v)) => fields.set(field, v),
                    Ok(None) => fields.set_null(field),
                    Err(e) => {
                        return Err(de::Error::custom(format_args!("field `{}`: {e}", field.name())));
                    }
                },
                Key::Other(name) => {
                    let raw: &RawValue = map.next_value()?;
                    // A field in another spelling ([`Field::from_key`]), if its value is
                    // text (a string or an integer), is weighed when the record is
                    // validated ([`RawFields::spell`]); anything else is an extra field.
                    let text = || TextValue.deserialize(&mut serde_json::Deserializer::from_str(raw.get())).ok();
                    match Field::from_key(&name).zip(text().flatten()) {
                        Some((field, text)) if unknown.insert(name.clone()) => {
                            fields.spell(field, &name, raw.get(), &text)
                        }
                        Some(_) => {
                            return Err(de::Error::custom(format_args!("unknown field `{name}` is given twice")));
                        }
                        None => keep_unknown(&mut fields, &mut unknown, name, raw)?,
                    }
                }
            }
        }
        Ok(fields)
    }
}

/// Keeps a field the spec does not name, as it was written.
fn keep_unknown<E: de::Error>(
    fields: &mut RawFields<'static>,
    unknown: &mut NamesSeen<CompactString>,
    name: CompactString,
    raw: &RawValue,
) -> Result<(), E> {
    if nesting(raw.get()) > MAX_EXTRA_NESTING {
        return Err(E::custom(format_args!("unknown field `{name}` is nested deeper than {MAX_EXTRA_NESTING} levels")));
    }
    // Kept as it was written, so it must be text a strict reader takes: a lone
    // surrogate escape (`"\ud800"`) is not.
    if raw.get().contains("\\u") {
        serde_json::from_str::<serde_json::Value>(raw.get())
            .map_err(|e| E::custom(format_args!("unknown field `{name}`: {e}")))?;
    }
    fields.push_extra_json(&name, raw.get());
    if !unknown.insert(name.clone()) {
        return Err(E::custom(format_args!("unknown field `{name}` is given twice")));
    }
    Ok(())
}

/// A strict scanner for the common shape of an event line. It accepts only what it is
/// sure serde_json accepts and reads the same way; on anything else it gives up and
/// the caller uses serde_json.
pub mod fast {
    use super::{AccessEvent, Field, NamesSeen, RawFields};

    struct Scan<'a> {
        s: &'a str,
        b: &'a [u8],
        i: usize,
    }

    /// Whether the line holds a backslash or a control byte anywhere: then a string may
    /// hold an escape or a raw control character, and serde_json reads the line. One
    /// pass without early exit, which the compiler turns into vector instructions.
    fn has_escapes_or_controls(b: &[u8]) -> bool {
        b.chunks(64).any(|chunk| chunk.iter().fold(false, |found, &c| found | (c < 0x20) | (c == b'\\')))
    }

    /// Whether the line holds anything [`has_escapes_or_controls`] finds, a DEL, or a
    /// byte 0xC2 (the first of U+0080 to U+00BF, which hold the C1 controls): without
    /// them there is no control character anywhere, and identifiers need no character
    /// check of their own. One pass without early exit, as above.
    fn has_escapes_or_any_controls(b: &[u8]) -> bool {
        b.chunks(64).any(|chunk| {
            chunk.iter().fold(false, |found, &c| found | (c < 0x20) | (c == b'\\') | (c == 0x7f) | (c == 0xc2))
        })
    }

    /// Where the first quote is: eight bytes at a time (strings are short, and a
    /// library search costs more to call than this costs to run). The lowest byte the
    /// zero-byte test flags is always exact.
    fn quote_at(b: &[u8]) -> Option<usize> {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let mut i = 0;
        while let Some(chunk) = b.get(i..i + 8) {
            let v = u64::from_le_bytes(chunk.try_into().ok()?) ^ (ONES * b'"' as u64);
            let found = v.wrapping_sub(ONES) & !v & HIGH;
            if found != 0 {
                return Some(i + (found.trailing_zeros() / 8) as usize);
            }
            i += 8;
        }
        b[i..].iter().position(|&c| c == b'"').map(|at| i + at)
    }

    impl<'a> Scan<'a> {
        /// Skips spaces; compact lines have none, so that case costs one comparison.
        #[inline(always)]
        fn ws(&mut self) {
            if self.b.get(self.i) == Some(&b' ') {
                self.spaces();
            }
        }

        #[cold]
        fn spaces(&mut self) {
            while let Some(b' ') = self.b.get(self.i) {
                self.i += 1;
            }
        }

        fn eat(&mut self, c: u8) -> Option<()> {
            (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
        }

        /// A string; the line is known to hold no escape and no control byte, so it
        /// ends at the next quote.
        fn string(&mut self) -> Option<&'a str> {
            self.eat(b'"')?;
            let start = self.i;
            let end = start + quote_at(self.b.get(start..)?)?;
            self.i = end + 1;
            // Quotes are ASCII, so both ends fall on character boundaries.
            self.s.get(start..end)
        }

        /// A key: a known field name or any other plain string.
        fn key(&mut self) -> Option<(Option<Field>, &'a str)> {
            let k = self.string()?;
            match Field::from_name(k) {
                Some(f) => Some((Some(f), k)),
                // A field in another spelling: the general reader's to weigh.
                None if Field::from_key(k).is_some() => None,
                None => Some((None, k)),
            }
        }

        /// A JSON integer that serde_json reads as u64 or i64 and prints back the same.
        fn integer(&mut self) -> Option<&'a str> {
            let start = self.i;
            if self.b.get(self.i) == Some(&b'-') {
                self.i += 1;
            }
            let digits = self.i;
            while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
                self.i += 1;
            }
            let n = self.i - digits;
            let lead_zero = n > 1 && self.b[digits] == b'0';
            let negative_zero = digits > start && n == 1 && self.b[digits] == b'0';
            if n == 0 || n > 18 || lead_zero || negative_zero {
                return None;
            }
            // A fraction or exponent makes it a float, which serde prints its own way.
            if matches!(self.b.get(self.i), Some(b'.' | b'e' | b'E')) {
                return None;
            }
            Some(&self.s[start..self.i])
        }
    }

    /// A value of a flat object: a string's contents, an integer's text, or null.
    enum Value<'a> {
        Text(&'a str),
        Integer(&'a str),
        Null,
    }

    /// Walks a flat JSON object of plain strings, integers and nulls (a line already
    /// known to hold no escape and no control byte), handing each pair to `pair` with
    /// the value's own JSON text; `None` if the line is anything else or `pair` gives up.
    #[inline(always)]
    fn walk<'a>(
        line: &'a str,
        mut pair: impl FnMut(Option<Field>, &'a str, Value<'a>, &'a str) -> Option<()>,
    ) -> Option<()> {
        let mut p = Scan { s: line, b: line.as_bytes(), i: 0 };
        p.ws();
        p.eat(b'{')?;
        p.ws();
        if p.eat(b'}').is_none() {
            loop {
                p.ws();
                let (field, key) = p.key()?;
                p.ws();
                p.eat(b':')?;
                p.ws();
                let start = p.i;
                let value = match p.b.get(p.i)? {
                    b'"' => Value::Text(p.string()?),
                    b'-' | b'0'..=b'9' => Value::Integer(p.integer()?),
                    b'n' if line[p.i..].starts_with("null") => {
                        p.i += 4;
                        Value::Null
                    }
                    // Booleans, arrays, objects: serde_json's business.
                    _ => return None,
                };
                pair(field, key, value, &line[start..p.i])?;
                p.ws();
                if p.eat(b',').is_some() {
                    continue;
                }
                p.eat(b'}')?;
                break;
            }
        }
        p.ws();
        (p.i == p.b.len()).then_some(())
    }

    /// The whole decode of a line in the canonical shape whose values all pass their
    /// checks: the fields read in place, checked on their happy path, and the event
    /// built from them directly. `None` for anything else (a repeated field, a value
    /// with spaces at an end, an escape, a value that fails a check), which the general
    /// reader then decodes or refuses with the reason; it gives the same event for
    /// every line this accepts (the property test
    /// `fast_event_agrees_with_the_general_reader`).
    pub fn event(line: &str) -> Option<Box<AccessEvent>> {
        if has_escapes_or_any_controls(line.as_bytes()) {
            return None;
        }
        let mut v: [Option<&str>; Field::ALL.len()] = [None; Field::ALL.len()];
        // The fields given, null ones included: one given twice is the general path's
        // to refuse.
        let mut given = 0u32;
        // Unknown fields, kept for the archive as `RawFields::push_extra_json` keeps
        // them: `"key":value` pairs (a plain key is its own JSON text).
        let mut extra = String::new();
        let mut unknown: NamesSeen<&str> = NamesSeen::default();
        walk(line, |field, key, value, json| {
            match (field, value) {
                (Some(f), value) => {
                    let bit = 1u32 << f as u32;
                    if given & bit != 0 {
                        return None;
                    }
                    given |= bit;
                    if let Value::Text(text) | Value::Integer(text) = value {
                        v[f as usize] = Some(text);
                    }
                }
                (None, _) => {
                    // An unknown field given twice is the general path's to refuse.
                    if !unknown.insert(key) {
                        return None;
                    }
                    if !extra.is_empty() {
                        extra.push(',');
                    }
                    extra.push('"');
                    extra.push_str(key);
                    extra.push_str("\":");
                    extra.push_str(json);
                }
            }
            Some(())
        })?;
        let mut event = super::super::plain_event(&v, super::super::raw::Scanned::NoControls)?;
        if !extra.is_empty() {
            event.extra = Some(format!("{{{extra}}}").into_boxed_str());
        }
        Some(event)
    }

    /// Reads a flat JSON object, or `None` to hand the line to serde_json.
    pub fn read(line: &str) -> Option<RawFields<'_>> {
        let mut fields = RawFields::default();
        read_into(line, &mut fields)?;
        Some(fields)
    }

    /// As [`read`], into `fields` (which the caller drops when this gives up).
    pub fn read_into<'a>(line: &'a str, fields: &mut RawFields<'a>) -> Option<()> {
        if has_escapes_or_controls(line.as_bytes()) {
            return None;
        }
        let mut unknown: NamesSeen<&str> = NamesSeen::default();
        walk(line, |field, key, value, json| {
            match (field, value) {
                (Some(f), Value::Text(v) | Value::Integer(v)) => fields.set(f, v),
                (Some(f), Value::Null) => fields.set_null(f),
                // An unknown field given twice is serde's path to refuse, with the reason.
                (None, _) if !unknown.insert(key) => return None,
                (None, _) => fields.push_extra_json(key, json),
            }
            Some(())
        })
    }
}

#[cfg(test)]
mod tests;
