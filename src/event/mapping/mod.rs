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
    /// `None`: kept whole; empty: any domain; else only these (upper case), so that
    /// another force's or a council's account stays another user.
    pub strip_domain: Option<Vec<String>>,
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
                            Err(_) if a.is_empty() => return None,
                            // Which one is meant is a guess: refused, as at the end.
                            Err(_) => {
                                refused.borrow_mut().get_or_insert_with(|| {
                                    not_text(path, "a list of several values (give its number)", v)
                                });
                                return None;
                            }
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
            // Named in other cases by two columns, and exactly by none: which is meant
            // is not known.
            let alike: Vec<&CompactString> = header.iter().filter(|h| h.eq_ignore_ascii_case(name)).collect();
            if alike.len() > 1 && !alike.iter().any(|h| *h == name) {
                return Err(DecodeError::BadCsv(format!(
                    "the header names `{name}` twice in other cases (`{}` and `{}`)",
                    alike[0], alike[1]
                )));
            }
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

    /// Whether `row` is a header for this mapping that names every mapped column
    /// `header` names (the same export's header, its columns in another order or
    /// case): a row of data never holds the column names.
    pub fn is_csv_header_like(&self, row: &[CompactString], header: &[CompactString]) -> bool {
        let mut named = 0;
        for m in &self.fields {
            let FieldFrom::Source(name) = &m.from else { continue };
            match (column_of(header, name).is_some(), column_of(row, name).is_some()) {
                (true, false) => return false,
                (true, true) => named += 1,
                _ => {}
            }
        }
        named > 0 && self.check_csv_header(row).is_ok()
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
                Some(v) => match m.strip_domain.as_deref().and_then(|only| login_of(&v, only)) {
                    Some(login) => Cow::Owned(login),
                    None => v,
                },
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

/// The login of an account whose domain is one of `only` (any, when empty).
fn login_of(account: &str, only: &[String]) -> Option<String> {
    match without_domain(account) {
        (login, Some(domain)) if only.is_empty() || only.iter().any(|d| d.eq_ignore_ascii_case(domain)) => {
            Some(login.to_string())
        }
        _ => None,
    }
}

/// An account name and its Windows domain (`WMP\jsmith`) or mail domain
/// (`jsmith@wmp.police.uk`); the account whole and no domain when it has neither, or
/// nothing would be left.
pub fn without_domain(account: &str) -> (&str, Option<&str>) {
    let account = account.trim();
    let (domain, login) = match account.rsplit_once('\\') {
        Some((domain, login)) => (Some(domain.trim()), login),
        None => (None, account),
    };
    let (login, domain) = match login.split_once('@') {
        Some((login, mail)) => (login.trim(), domain.or(Some(mail.trim()))),
        None => (login.trim(), domain),
    };
    if login.is_empty() || domain.is_none() {
        (account, None)
    } else {
        (login, domain)
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
mod tests;
