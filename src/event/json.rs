//! JSON Lines decoder for canonical events.
//!
//! A serde visitor reads the object's keys straight into [`RawFields`]: known fields as
//! text (numbers are accepted and kept as their digits), unknown fields as raw JSON
//! kept for the archive. No intermediate `serde_json::Value` is built.

use super::{AccessEvent, DecodeError, Field, RawFields};
use compact_str::CompactString;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// Decodes one line of JSON into an event.
pub fn decode(line: &[u8]) -> Result<AccessEvent, DecodeError> {
    let text = std::str::from_utf8(line).map_err(|e| DecodeError::BadUtf8(e.valid_up_to()))?;
    decode_str(text)
}

/// Decodes one line of JSON already known to be UTF-8.
pub fn decode_str(line: &str) -> Result<AccessEvent, DecodeError> {
    read_fields(line)?.validate()
}

/// Reads one JSON object into raw fields without checking types. Reading from `&str`
/// spares serde_json a second UTF-8 check of every string.
pub fn read_fields(line: &str) -> Result<RawFields, DecodeError> {
    let mut de = serde_json::Deserializer::from_str(line);
    let fields = de.deserialize_map(EventVisitor).map_err(|e| DecodeError::BadJson(e.to_string()))?;
    de.end().map_err(|e| DecodeError::BadJson(e.to_string()))?;
    Ok(fields)
}

struct EventVisitor;

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
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(compact_str::format_compact!("{v}")))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

impl<'de> Visitor<'de> for EventVisitor {
    type Value = RawFields;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object with the fields of spec/events.md")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawFields, A::Error> {
        let mut fields = RawFields::default();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key {
                Key::Known(field) => match map.next_value_seed(TextValue) {
                    Ok(Some(v)) => fields.set(field, v),
                    Ok(None) => {}
                    Err(e) => {
                        return Err(de::Error::custom(format_args!("field `{}`: {e}", field.name())));
                    }
                },
                Key::Other(name) => {
                    let raw: &RawValue = map.next_value()?;
                    fields.push_extra_json(&name, raw.get());
                }
            }
        }
        Ok(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"{"event_id":"e1","ts":"2026-11-22T09:14:03Z","system":"PNC","user_id":"U1","action":"search","subject_type":"person","result_count":0}"#;

    #[test]
    fn decodes_canonical_event() {
        let e = decode(OK.as_bytes()).unwrap();
        assert_eq!(e.result_count, Some(0));
        assert!(e.extra.is_none());
    }

    #[test]
    fn numbers_and_nulls() {
        let line = r#"{"event_id":12345,"ts":"2026-11-22T09:14:03Z","system":"PNC","user_id":"U1","action":"search","subject_type":"person","reference":null,"result_count":"4"}"#;
        let e = decode(line.as_bytes()).unwrap();
        assert_eq!(e.event_id, "12345");
        assert_eq!(e.reference, None);
        assert_eq!(e.result_count, Some(4));
    }

    #[test]
    fn escaped_strings_decode() {
        let line = OK.replace(r#""user_id":"U1""#, r#""user_id":"U\u0031","subject_name":"O\"Brien, J""#);
        let e = decode(line.as_bytes()).unwrap();
        assert_eq!(e.user_id, "U1");
        assert_eq!(e.subject_name.as_deref(), Some("O\"Brien, J"));
    }

    #[test]
    fn malformed_json_is_reported() {
        for bad in ["", "{", "[1,2]", "not json", r#"{"event_id":"e1"} trailing"#] {
            assert!(matches!(decode(bad.as_bytes()), Err(DecodeError::BadJson(_))), "{bad}");
        }
        let nested = OK.replace(r#""system":"PNC""#, r#""system":{"name":"PNC"}"#);
        match decode(nested.as_bytes()) {
            Err(DecodeError::BadJson(msg)) => assert!(msg.contains("system"), "{msg}"),
            other => panic!("{other:?}"),
        }
    }
}
