//! Source mappings: onboarding a log source by configuration, not code.
//!
//! A mapping says, for each canonical field, which field of the source record it comes
//! from (or a constant), how its values translate (`QRY` -> `search`), and how its
//! time or date is written (`%d/%m/%Y %H:%M:%S` in `Europe/London`, epoch
//! milliseconds, ...). Fields of the source that no mapping uses are kept as extra
//! fields for the archive. The result goes through the same validation as canonical
//! events, so a bad mapped record is dead-lettered with the same reasons.

use super::cef::CefRecord;
use super::{AccessEvent, DecodeError, Field, RawFields};
use crate::time::{Date, Timestamp, Zone};
use chrono::{NaiveDate, NaiveDateTime};
use compact_str::CompactString;
use std::borrow::Cow;
use std::collections::HashMap;

/// The record format a mapped source is written in.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceFormat {
    Json,
    Csv { delimiter: u8 },
    Cef,
}

/// Where a canonical field's value comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldFrom {
    /// A source field: JSON path with dots (`subject.name`), CSV column, or CEF key,
    /// header (`cef.name`) or custom-field label.
    Source(String),
    /// The same value for every record (`system = "RMS"`).
    Constant(String),
}

/// How a time or date is written in the source.
#[derive(Clone, Debug, PartialEq)]
pub enum TimeFormat {
    Rfc3339,
    EpochSeconds,
    EpochMillis,
    /// A chrono `strftime` pattern, read in the given zone.
    Pattern {
        pattern: String,
        zone: Zone,
    },
}

/// How one canonical field is filled.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldMapping {
    pub field: Field,
    pub from: FieldFrom,
    /// Value translation, keys upper-cased (`QRY` -> `search`). Values not listed pass
    /// through unchanged.
    pub values: HashMap<String, String>,
    /// For `ts`: how the time is written. For `subject_dob`: a date pattern.
    pub time: Option<TimeFormat>,
    /// Used when the source field is absent or empty.
    pub default: Option<String>,
    /// For `user_id`: the account without its domain, `WMP\jsmith` and
    /// `jsmith@wmp.police.uk` both `jsmith` (a staff list keys officers by login).
    pub strip_domain: bool,
}

/// A configured log source: its format and field mappings.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceMapping {
    pub name: String,
    pub format: SourceFormat,
    pub fields: Vec<FieldMapping>,
    /// Whether source fields no mapping uses are kept as extra fields.
    pub keep_unmapped: bool,
    /// File-name patterns (`*` and `?` wildcards) this source's files match, so a
    /// replay of mixed inputs picks the mapping for each file.
    pub files: Vec<String>,
}

impl SourceMapping {
    /// Whether a file of this name belongs to this source.
    /// Whether a file's name matches one of the source's patterns, without case (an
    /// export's `RMS-AUDIT-2026-10.CSV` is `rms-audit-*.csv`'s).
    pub fn matches_file(&self, file_name: &str) -> bool {
        let name = file_name.to_ascii_lowercase();
        self.files.iter().any(|p| glob_match(p.to_ascii_lowercase().as_bytes(), name.as_bytes()))
    }

    fn consumes(&self, source_field: &str) -> bool {
        self.fields.iter().any(|m| match &m.from {
            FieldFrom::Source(name) => name == source_field || name.split('.').next() == Some(source_field),
            FieldFrom::Constant(_) => false,
        })
    }

    /// Decodes a JSON object with this source's field names.
    pub fn decode_json(&self, line: &[u8]) -> Result<AccessEvent, DecodeError> {
        let UniqueKeys(obj) = serde_json::from_slice(line).map_err(|e| DecodeError::BadJson(e.to_string()))?;
        let obj = &obj;
        // A value that is not text is refused: the first refusal met, by source path.
        let refused = std::cell::RefCell::new(None::<DecodeError>);
        let get = |path: &str| -> Option<Cow<'_, str>> {
            let mut cur = obj.get(path).or_else(|| {
                // Dotted path into nested objects; a number steps into a list
                // (`detainee.names.0.family`), and a list of one is stepped through.
                let mut parts = path.split('.');
                let mut v = obj.get(parts.next()?)?;
                for p in parts {
                    v = match v {
                        serde_json::Value::Array(a) => match p.parse::<usize>() {
                            Ok(i) => a.get(i)?,
                            Err(_) if a.len() == 1 => a[0].get(p)?,
                            Err(_) => return None,
                        },
                        _ => v.get(p)?,
                    };
                }
                Some(v)
            })?;
            // A list of one value is that value; of more, which one is meant is a guess.
            if let serde_json::Value::Array(a) = cur {
                match a.as_slice() {
                    [] => return None,
                    [one] => cur = one,
                    _ => {
                        refused.borrow_mut().get_or_insert_with(|| not_text(path, "a list of several values", cur));
                        return None;
                    }
                }
            }
            match cur {
                serde_json::Value::String(s) => Some(Cow::Borrowed(s.as_str())),
                serde_json::Value::Null => None,
                serde_json::Value::Number(n) if n.is_u64() || n.is_i64() => Some(Cow::Owned(n.to_string())),
                serde_json::Value::Number(_) => {
                    // As in the canonical reader: the rounded binary value is not the text.
                    refused.borrow_mut().get_or_insert_with(|| {
                        not_text(
                            path,
                            "a number with a fraction or an exponent, a negative zero, or beyond 64 bits (give it as a string)",
                            cur,
                        )
                    });
                    None
                }
                other => {
                    refused.borrow_mut().get_or_insert_with(|| not_text(path, "not a string or a number", other));
                    None
                }
            }
        };
        let mut raw = self.fill(get)?;
        if let Some(e) = refused.into_inner() {
            return Err(e);
        }
        if self.keep_unmapped {
            for (k, v) in obj {
                if !self.consumes(k) {
                    let json = v.to_string();
                    if super::json::nesting(&json) > super::json::MAX_EXTRA_NESTING {
                        return Err(DecodeError::BadJson(format!(
                            "unknown field `{k}` is nested deeper than {} levels",
                            super::json::MAX_EXTRA_NESTING
                        )));
                    }
                    raw.push_extra_json(k, &json);
                }
            }
        }
        raw.validate()
    }

    /// A CSV file's header against this mapping: refused when a column is given twice
    /// or a required field's column is missing (every row would be a dead letter);
    /// otherwise the optional fields whose column is missing (empty in every row: an
    /// export that renamed a column), for a warning.
    pub fn check_csv_header(&self, header: &[CompactString]) -> Result<Vec<String>, DecodeError> {
        // A column the mapping reads, given twice: which holds is not known.
        let read = |h: &CompactString| self.fields.iter().any(|m| matches!(&m.from, FieldFrom::Source(n) if n == h));
        let twice = header.iter().enumerate().find(|(i, h)| !h.is_empty() && read(h) && header[..*i].contains(h));
        if let Some((_, twice)) = twice {
            return Err(DecodeError::BadCsv(format!("the header gives column `{twice}` twice")));
        }
        let mut missing = Vec::new();
        for m in &self.fields {
            let FieldFrom::Source(name) = &m.from else { continue };
            if column_of(header, name).is_some() || m.default.is_some() {
                continue;
            }
            if m.field.is_required() {
                return Err(DecodeError::BadCsv(format!(
                    "the header has no column `{name}` (mapped to `{}`)",
                    m.field.name()
                )));
            }
            missing.push(format!("`{name}` (mapped to `{}`)", m.field.name()));
        }
        Ok(missing)
    }

    /// Decodes one CSV record given the header row (its columns found as
    /// [`column_of`] finds them).
    pub fn decode_csv(&self, header: &[CompactString], fields: &[&str]) -> Result<AccessEvent, DecodeError> {
        if fields.len() != header.len() {
            return Err(DecodeError::FieldCount { got: fields.len(), header: header.len() });
        }
        let get = |name: &str| -> Option<Cow<'_, str>> {
            let i = column_of(header, name)?;
            Some(Cow::Borrowed(fields[i]))
        };
        let mut raw = self.fill(get)?;
        if self.keep_unmapped {
            for (i, (h, v)) in header.iter().zip(fields).enumerate() {
                // A column given twice is kept once (its first), as one key of `extra`.
                // Read by a mapping that names it in another case, too.
                let read = self
                    .fields
                    .iter()
                    .any(|m| matches!(&m.from, FieldFrom::Source(n) if column_of(header, n) == Some(i)));
                if !v.is_empty() && !read && !self.consumes(h) && !header[..i].contains(h) {
                    raw.push_extra_text(h, v);
                }
            }
        }
        raw.validate()
    }

    /// Decodes one CEF line.
    pub fn decode_cef(&self, line: &str) -> Result<AccessEvent, DecodeError> {
        let record = CefRecord::parse(line)?;
        let mut raw = self.fill(|name| record.get(name))?;
        if self.keep_unmapped {
            for (k, v) in &record.extension {
                if !self.consumes(k) && !k.ends_with("Label") {
                    raw.push_extra_text(k, v);
                }
            }
        }
        raw.validate()
    }

    fn fill<'a>(&self, get: impl Fn(&str) -> Option<Cow<'a, str>>) -> Result<RawFields<'_>, DecodeError> {
        let mut raw = RawFields::default();
        for m in &self.fields {
            let value: Option<Cow<str>> = match &m.from {
                FieldFrom::Constant(v) => Some(Cow::Borrowed(v.as_str())),
                FieldFrom::Source(name) => get(name).filter(|v| !v.trim().is_empty()),
            };
            let value = match value.or_else(|| m.default.as_deref().map(Cow::Borrowed)) {
                Some(v) if m.strip_domain => Cow::Owned(without_domain(&v).to_string()),
                Some(v) => v,
                None => continue,
            };
            let value = match m.values.get(&value.trim().to_uppercase()) {
                Some(mapped) => Cow::Borrowed(mapped.as_str()),
                None => value,
            };
            let text: CompactString = match (&m.time, m.field) {
                (Some(format), Field::SubjectDob) => convert_date(format, &value)?.to_string().into(),
                (Some(format), _) => convert_time(format, &value, m.field)?.to_string().into(),
                (None, _) => value.as_ref().into(),
            };
            raw.set(m.field, text);
        }
        Ok(raw)
    }
}

/// An account name without its Windows domain (`WMP\jsmith`) or mail domain
/// (`jsmith@wmp.police.uk`); as it is when it has neither, or nothing is left.
pub fn without_domain(account: &str) -> &str {
    let account = account.trim();
    let login = account.rsplit_once('\\').map_or(account, |(_, login)| login);
    let login = login.split_once('@').map_or(login, |(login, _)| login).trim();
    if login.is_empty() {
        account
    } else {
        login
    }
}

/// `*` matches any run of characters, `?` any one.
fn glob_match(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob_match(&p[1..], s) || (!s.is_empty() && glob_match(p, &s[1..])),
        (Some(b'?'), Some(_)) => glob_match(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => glob_match(&p[1..], &s[1..]),
        _ => false,
    }
}

/// A JSON object whose top-level keys are each given once: `serde_json::Value` would
/// keep the last of two, where readers disagree on which one counts (a mapped source's
/// record, a watch-list row).
pub(crate) struct UniqueKeys(pub serde_json::Map<String, serde_json::Value>);

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> serde::de::Visitor<'de> for Keys {
            type Value = UniqueKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
                let mut out = serde_json::Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    let value = map.next_value()?;
                    if out.contains_key(&key) {
                        return Err(serde::de::Error::custom(format_args!("field `{key}` is given twice")));
                    }
                    out.insert(key, value);
                }
                Ok(UniqueKeys(out))
            }
        }
        d.deserialize_map(Keys)
    }
}

/// A source field whose JSON value is not text a field can take.
fn not_text(path: &str, problem: &str, value: &serde_json::Value) -> DecodeError {
    let shown = value.to_string();
    DecodeError::BadJson(format!("source field `{path}`: {problem} (got {})", super::raw::shown(&shown)))
}

/// Why a mapping's constant, translated value or default can never be read as `field`
/// (`action = "serch"`, `system = "P N C"`): every record it fills would be a dead
/// letter. `None` when it can, or when only the record can tell.
pub fn value_problem(field: Field, v: &str) -> Option<String> {
    let v = v.trim();
    if v.is_empty() {
        return None; // absent, as an empty field is
    }
    let refused = match field {
        Field::Action => super::Action::parse(v).is_none(),
        Field::SubjectType => super::SubjectType::parse(v).is_none(),
        Field::SubjectSex => super::Sex::parse(v).is_err(),
        Field::System => return super::raw::check_system(v).err().map(|e| e.to_string()),
        Field::ResultCount => v.trim().parse::<u64>().is_err(),
        _ => false,
    };
    refused.then(|| format!("{v:?} is not a value of `{}`", field.name()))
}

/// Where a mapping's column is in a CSV header: the column of that name, else the one
/// naming it in another case (`AUDIT REF` for `Audit Ref`: an export's header changes
/// case between versions; a probe's whole file went to dead letters).
fn column_of(header: &[CompactString], name: &str) -> Option<usize> {
    header.iter().position(|h| h == name).or_else(|| header.iter().position(|h| h.eq_ignore_ascii_case(name)))
}

/// Why a time pattern cannot read the field it is given for: not a `strftime`
/// pattern, or one that cannot give a whole date (and, for `ts`, a time) back from
/// the text it writes (`%Y` alone, `%H:%M` for a date of birth).
pub fn pattern_problem(field: Field, pattern: &str) -> Option<String> {
    use chrono::format::{Item, StrftimeItems};
    use std::fmt::Write;
    if StrftimeItems::new(pattern).any(|i| matches!(i, Item::Error)) {
        return Some(format!("{pattern:?} is not a time format (strftime, e.g. %d/%m/%Y %H:%M:%S)"));
    }
    if has_zone_name(pattern) {
        return Some(format!(
            "{pattern:?} holds a zone name (%Z), which is skipped, not read: give the zone as `timezone`, or read an offset with %z"
        ));
    }
    let two_digit_year =
        StrftimeItems::new(pattern).any(|i| matches!(i, Item::Numeric(chrono::format::Numeric::YearMod100, _)));
    if field == Field::SubjectDob && two_digit_year {
        return Some(format!(
            "{pattern:?} reads a two-digit year (%y), which puts 14/03/55 in 2055: a date of birth needs its century (%Y)"
        ));
    }
    let sample = NaiveDate::from_ymd_opt(1987, 11, 22).and_then(|d| d.and_hms_opt(21, 14, 3))?;
    // Written with an offset, so that a pattern holding one (`%z`) writes it too.
    let zoned = sample.and_utc().fixed_offset();
    let mut text = String::new();
    if write!(text, "{}", zoned.format(pattern)).is_err() {
        return Some(format!("{pattern:?} cannot be written for a time (a field chrono has no value for)"));
    }
    let reads = match field {
        Field::Ts if has_offset(pattern) => chrono::DateTime::parse_from_str(&text, pattern).is_ok(),
        Field::Ts => NaiveDateTime::parse_from_str(&text, pattern).is_ok(),
        _ => NaiveDate::parse_from_str(&text, pattern).is_ok_and(|d| d == sample.date()),
    };
    (!reads).then(|| {
        let whole = if field == Field::Ts { "a date and a time" } else { "a date" };
        format!("{pattern:?} does not hold {whole} (it writes {text:?} and cannot read it back)")
    })
}

/// Whether a time pattern reads a UTC offset (`%z`, `%:z`, `%+`): then the offset
/// written in each value places it, not the mapping's `timezone`.
pub fn has_offset(pattern: &str) -> bool {
    use chrono::format::{Fixed, Item, StrftimeItems};
    StrftimeItems::new(pattern).any(|i| {
        matches!(
            i,
            Item::Fixed(Fixed::TimezoneOffset | Fixed::TimezoneOffsetColon | Fixed::TimezoneOffsetZ | Fixed::RFC3339)
        )
    })
}

/// Whether a time pattern holds a zone name (`%Z`): chrono reads past it without
/// reading it, so a value stamped "UTC" would be taken for the mapping's zone.
fn has_zone_name(pattern: &str) -> bool {
    use chrono::format::{Fixed, Item, StrftimeItems};
    StrftimeItems::new(pattern).any(|i| matches!(i, Item::Fixed(Fixed::TimezoneName)))
}

fn bad(field: Field, problem: impl Into<String>, value: &str) -> DecodeError {
    DecodeError::bad_value(field, &problem.into(), value)
}

fn convert_time(format: &TimeFormat, value: &str, field: Field) -> Result<Timestamp, DecodeError> {
    let v = value.trim();
    match format {
        TimeFormat::Rfc3339 => Timestamp::parse_rfc3339(v).map_err(|e| bad(field, e.to_string(), v)),
        TimeFormat::EpochSeconds | TimeFormat::EpochMillis => {
            let n: f64 = v.parse().map_err(|_| bad(field, "expected a number of seconds or milliseconds", v))?;
            let ms = if *format == TimeFormat::EpochSeconds { n * 1000.0 } else { n };
            if !ms.is_finite() || ms.abs() > 1e15 {
                return Err(bad(field, "epoch time out of range", v));
            }
            Ok(Timestamp(ms as i64))
        }
        TimeFormat::Pattern { pattern, .. } if has_offset(pattern) => chrono::DateTime::parse_from_str(v, pattern)
            .map(|t| Timestamp(t.timestamp_millis()))
            .map_err(|e| bad(field, format!("does not match {pattern:?}: {e}"), v)),
        TimeFormat::Pattern { pattern, zone } => {
            let local = NaiveDateTime::parse_from_str(v, pattern)
                .map_err(|e| bad(field, format!("does not match {pattern:?}: {e}"), v))?;
            zone.to_utc(local)
                .map(Timestamp)
                .ok_or_else(|| bad(field, "local time does not exist in that time zone", v))
        }
    }
}

fn convert_date(format: &TimeFormat, value: &str) -> Result<Date, DecodeError> {
    let v = value.trim();
    match format {
        TimeFormat::Pattern { pattern, .. } => {
            let d = NaiveDate::parse_from_str(v, pattern)
                .map_err(|e| bad(Field::SubjectDob, format!("does not match {pattern:?}: {e}"), v))?;
            Date::parse(&d.format("%Y-%m-%d").to_string()).map_err(|e| bad(Field::SubjectDob, e.to_string(), v))
        }
        _ => Date::parse(v).map_err(|e| bad(Field::SubjectDob, e.to_string(), v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Action, SubjectType};

    fn m(field: Field, from: &str) -> FieldMapping {
        FieldMapping {
            field,
            from: FieldFrom::Source(from.into()),
            values: HashMap::new(),
            time: None,
            default: None,
            strip_domain: false,
        }
    }

    fn cef_mapping() -> SourceMapping {
        let mut action = m(Field::Action, "act");
        action.values.insert("QUERY".into(), "search".into());
        let mut ts = m(Field::Ts, "rt");
        ts.time = Some(TimeFormat::EpochMillis);
        SourceMapping {
            name: "pnc-cef".into(),
            format: SourceFormat::Cef,
            fields: vec![
                m(Field::EventId, "externalId"),
                ts,
                FieldMapping { from: FieldFrom::Constant("PNC".into()), ..m(Field::System, "") },
                m(Field::UserId, "suser"),
                action,
                FieldMapping { from: FieldFrom::Constant("person".into()), ..m(Field::SubjectType, "") },
                m(Field::SubjectName, "duser"),
                m(Field::Reference, "Reference"),
            ],
            keep_unmapped: true,
            files: vec!["*.cef".into()],
        }
    }

    #[test]
    fn cef_line_maps_to_event() {
        let line = "CEF:0|HO|PNC|5|Q01|Person enquiry|3|externalId=A-1 rt=1795338843120 suser=U1234 act=QUERY duser=SMITH, John cs1Label=Reference cs1=INC-42 dvchost=gw1";
        let e = cef_mapping().decode_cef(line).unwrap();
        assert_eq!(e.event_id, "A-1");
        assert_eq!(e.action, Action::Search);
        assert_eq!(e.subject_type, SubjectType::Person);
        assert_eq!(e.reference.as_deref(), Some("INC-42"));
        assert_eq!(e.ts, Timestamp(1795338843120));
        assert_eq!(e.extra.as_deref(), Some(r#"{"cs1":"INC-42","dvchost":"gw1"}"#));
    }

    /// A pattern holding a UTC offset reads each value at its own offset, whatever
    /// the mapping's zone (before, the offset was dropped and the value read in it).
    #[test]
    fn a_pattern_with_an_offset_places_each_value_by_it() {
        let format =
            TimeFormat::Pattern { pattern: "%d/%m/%Y %H:%M:%S %z".into(), zone: Zone::parse("Europe/London").unwrap() };
        let t = convert_time(&format, "22/07/2026 10:00:00 +0200", Field::Ts).unwrap();
        assert_eq!(t.to_string(), "2026-07-22T08:00:00.000Z");
        assert!(has_offset("%Y-%m-%dT%H:%M:%S%:z") && has_offset("%+") && !has_offset("%d/%m/%Y %%z"));
        assert!(pattern_problem(Field::Ts, "%Y-%m-%dT%H:%M:%S%:z").is_none());
        assert!(pattern_problem(Field::Ts, "%Y-%m-%dT%H:%M:%S %Z").is_some_and(|p| p.contains("zone name")));
        // A date of birth needs its century (a probe: 14/03/55 read as 2055).
        assert!(pattern_problem(Field::SubjectDob, "%d/%m/%y").is_some_and(|p| p.contains("two-digit year")));
        assert!(pattern_problem(Field::SubjectDob, "%d/%m/%Y").is_none());
        assert!(pattern_problem(Field::Ts, "%d/%m/%y %H:%M").is_none());
    }

    #[test]
    fn file_patterns() {
        let m = cef_mapping();
        assert!(m.matches_file("pnc-2026-11-22.cef"));
        assert!(m.matches_file("PNC-2026-11-22.CEF"), "without case");
        assert!(!m.matches_file("events.jsonl"));
        assert!(super::glob_match(b"pnc-??.log", b"pnc-01.log"));
        assert!(!super::glob_match(b"pnc-??.log", b"pnc-1.log"));
        // Two sources whose patterns both match a file: refused, not the first taken.
        use crate::source::decode::InputFormat;
        let other = std::sync::Arc::new(SourceMapping { name: "other".into(), files: vec!["pnc-*".into()], ..m });
        let both = [std::sync::Arc::new(cef_mapping()), other];
        let err = InputFormat::for_path(std::path::Path::new("pnc-1.cef"), None, &both).err().unwrap();
        assert!(err.contains("sources `pnc-cef` and `other` both match it"), "{err}");
        assert!(InputFormat::for_path(std::path::Path::new("x.cef"), None, &both).is_ok());
    }

    #[test]
    fn unmapped_value_fails_validation_with_original() {
        let line = "CEF:0|HO|PNC|5|Q01|x|3|externalId=A-1 rt=1795338843120 suser=U1 act=BROWSE";
        let err = cef_mapping().decode_cef(line).unwrap_err();
        assert!(err.to_string().contains("BROWSE"), "{err}");
    }

    #[test]
    fn local_time_pattern_in_london() {
        let f =
            TimeFormat::Pattern { pattern: "%d/%m/%Y %H:%M:%S".into(), zone: Zone::parse("Europe/London").unwrap() };
        // British Summer Time: 10:00 local is 09:00 UTC.
        let t = convert_time(&f, "01/07/2026 10:00:00", Field::Ts).unwrap();
        assert_eq!(t.to_string(), "2026-07-01T09:00:00.000Z");
        let t = convert_time(&f, "01/12/2026 10:00:00", Field::Ts).unwrap();
        assert_eq!(t.to_string(), "2026-12-01T10:00:00.000Z");
        assert!(convert_time(&f, "2026-12-01", Field::Ts).is_err());
    }

    #[test]
    fn json_paths_and_csv_columns() {
        let mapping = SourceMapping {
            name: "rms".into(),
            format: SourceFormat::Json,
            fields: vec![
                m(Field::EventId, "id"),
                m(Field::Ts, "when"),
                m(Field::System, "app"),
                m(Field::UserId, "who.id"),
                m(Field::Action, "op"),
                m(Field::SubjectType, "kind"),
            ],
            keep_unmapped: true,
            files: Vec::new(),
        };
        let e = mapping
            .decode_json(br#"{"id":7,"when":"2026-11-22T09:00:00Z","app":"rms","who":{"id":"U9"},"op":"view","kind":"crime","x":1}"#)
            .unwrap();
        assert_eq!((e.event_id.as_str(), e.user_id.as_str(), e.system.as_str()), ("7", "U9", "RMS"));
        assert_eq!(e.extra.as_deref(), Some(r#"{"x":1}"#));
        let header: Vec<CompactString> = ["id", "when", "app", "who.id", "op", "kind"].map(Into::into).into();
        let e = mapping.decode_csv(&header, &["8", "2026-11-22T09:00:00Z", "RMS", "U9", "VIEW", "crime"]).unwrap();
        assert_eq!(e.event_id, "8");
        // A CSV header is checked against the mapping once: a required field's column
        // missing, or a column given twice, refuses the file naming the column (each
        // row said only "missing `event_id`"); an optional one missing is listed.
        assert_eq!(mapping.check_csv_header(&header).unwrap(), Vec::<String>::new());
        let header = |names: &[&str]| names.iter().map(|n| CompactString::from(*n)).collect::<Vec<_>>();
        let no_id = mapping.check_csv_header(&header(&["ref", "when", "app", "who.id", "op", "kind"])).unwrap_err();
        assert!(no_id.to_string().contains("no column `id` (mapped to `event_id`)"), "{no_id}");
        // A column named in another case is that column.
        let upper = header(&["ID", "WHEN", "App", "WHO.ID", "op", "kind"]);
        assert!(mapping.check_csv_header(&upper).is_ok());
        let e = mapping.decode_csv(&upper, &["9", "2026-11-22T09:00:00Z", "RMS", "U9", "VIEW", "crime"]).unwrap();
        assert_eq!((e.event_id.as_str(), e.user_id.as_str()), ("9", "U9"));
        let twice =
            mapping.check_csv_header(&header(&["id", "when", "app", "who.id", "op", "kind", "op"])).unwrap_err();
        assert!(twice.to_string().contains("`op` twice"), "{twice}");
        // A column the mapping does not read may repeat (kept once in `extra`).
        let notes = header(&["id", "when", "app", "who.id", "op", "kind", "notes", "notes", "", ""]);
        assert!(mapping.check_csv_header(&notes).is_ok());
        let e = mapping
            .decode_csv(&notes, &["8", "2026-11-22T09:00:00Z", "RMS", "U9", "VIEW", "crime", "a", "b", "", ""])
            .unwrap();
        assert_eq!(e.extra.as_deref(), Some(r#"{"notes":"a"}"#));
        let mut with_ref = mapping.clone();
        with_ref.fields.push(m(Field::Reference, "Linked Ref"));
        let all = header(&["id", "when", "app", "who.id", "op", "kind", "LinkedRef"]);
        assert_eq!(with_ref.check_csv_header(&all).unwrap(), ["`Linked Ref` (mapped to `reference`)"]);
        // A list of one value is the value; anything that is not text is refused,
        // naming the source field, rather than read as its JSON text or first element.
        let line = |who: &str, id: &str| {
            format!(
                r#"{{"id":{id},"when":"2026-11-22T09:00:00Z","app":"rms","who":{{"id":{who}}},"op":"view","kind":"crime"}}"#
            )
        };
        assert_eq!(mapping.decode_json(line(r#"["U9"]"#, "7").as_bytes()).unwrap().user_id, "U9");
        // A number steps into a list, and a list of one is stepped through (a custody
        // system's `"names":[{...}]`; a probe: the path never resolved, silently).
        let mut nested = mapping.clone();
        nested.fields[3] = m(Field::UserId, "who.ids.1.code");
        let listed = r#"{"id":7,"when":"2026-11-22T09:00:00Z","app":"rms","who":{"ids":[{"code":"X"},{"code":"U7"}]},"op":"view","kind":"crime"}"#;
        assert_eq!(nested.decode_json(listed.as_bytes()).unwrap().user_id, "U7");
        nested.fields[3] = m(Field::UserId, "who.ids.code");
        let one = r#"{"id":7,"when":"2026-11-22T09:00:00Z","app":"rms","who":{"ids":[{"code":"U6"}]},"op":"view","kind":"crime"}"#;
        assert_eq!(nested.decode_json(one.as_bytes()).unwrap().user_id, "U6");
        // Accounts with a domain, as Windows and mail write them, are the staff list's
        // logins with `strip_domain` (a probe: every misuse in two sources was lost to
        // users the staff list did not know).
        let mut logins = mapping.clone();
        logins.fields[3].strip_domain = true;
        for who in [r#""WMP\\jsmith""#, r#""jsmith@wmp.police.uk""#, r#"" jsmith ""#] {
            assert_eq!(logins.decode_json(line(who, "7").as_bytes()).unwrap().user_id, "JSMITH", "{who}");
        }
        assert_eq!(without_domain("WMP\\"), "WMP\\", "nothing left: as it was");
        for (who, id, says) in [
            (r#"["U9","U8"]"#, "7", "`who.id`: a list of several values"),
            (r#"{"x":1}"#, "7", "`who.id`: not a string or a number"),
            ("true", "7", "`who.id`: not a string or a number"),
            (r#""U9""#, "99999999999999999999", "`id`: a number with a fraction"),
            (r#""U9""#, "1.5", "`id`: a number with a fraction"),
        ] {
            let reason = mapping.decode_json(line(who, id).as_bytes()).unwrap_err().to_string();
            assert!(reason.contains(says), "{who} {id}: {reason}");
        }
        let twice =
            r#"{"id":7,"when":"2026-11-22T09:00:00Z","app":"rms","who":{"id":"U9"},"op":"view","kind":"crime","id":8}"#;
        assert!(mapping.decode_json(twice.as_bytes()).unwrap_err().to_string().contains("field `id` is given twice"));
        assert!(mapping.decode_json(b"[1]").unwrap_err().to_string().contains("expected a JSON object"));
        let deep = format!(
            r#"{{"id":7,"when":"2026-11-22T09:00:00Z","app":"rms","who":{{"id":"U9"}},"op":"view","kind":"crime","x":{}1{}}}"#,
            "[".repeat(40),
            "]".repeat(40)
        );
        assert!(mapping.decode_json(deep.as_bytes()).unwrap_err().to_string().contains("nested deeper than 32"));
    }
}
