//! Event time: timestamps, calendar dates and durations.
//!
//! Timestamps are milliseconds since the Unix epoch in UTC. Parsing RFC 3339 is on the
//! hot path of every event, so it is a hand-written parser over bytes rather than a
//! general date library; chrono is used only where a source mapping needs a custom
//! format or time zone.

mod zone;

pub use zone::Zone;

use std::fmt;

/// A point in event time: milliseconds since 1970-01-01T00:00:00Z.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

/// A calendar date (a date of birth), as days since 1970-01-01.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub i32);

/// A length of time in milliseconds, written in configuration as `90s`, `15m`, `24h`,
/// `30d`, `2w` or a sum such as `1h30m`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span(pub i64);

/// Why a timestamp, date or duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TimeError(pub &'static str);

pub const SECOND: i64 = 1_000;
pub const MINUTE: i64 = 60 * SECOND;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

impl Span {
    pub const fn hours(h: i64) -> Span {
        Span(h * HOUR)
    }
    pub const fn days(d: i64) -> Span {
        Span(d * DAY)
    }
    pub const fn minutes(m: i64) -> Span {
        Span(m * MINUTE)
    }

    /// Parses `500ms`, `90s`, `15m`, `24h`, `30d`, `2w`, or sums such as `1h30m`.
    pub fn parse(s: &str) -> Result<Span, TimeError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(TimeError("empty duration"));
        }
        let bytes = s.as_bytes();
        let mut i = 0;
        let mut total: i64 = 0;
        while i < bytes.len() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if start == i {
                return Err(TimeError("expected a number followed by ms, s, m, h, d or w"));
            }
            let n: i64 = s[start..i].parse().map_err(|_| TimeError("number too large"))?;
            let unit_start = i;
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            let unit = match &s[unit_start..i] {
                "ms" => 1,
                "s" => SECOND,
                "m" => MINUTE,
                "h" => HOUR,
                "d" => DAY,
                "w" => 7 * DAY,
                "" => return Err(TimeError("missing unit (ms, s, m, h, d or w)")),
                _ => return Err(TimeError("unknown unit (use ms, s, m, h, d or w)")),
            };
            total = n.checked_mul(unit).and_then(|v| total.checked_add(v)).ok_or(TimeError("duration too large"))?;
        }
        Ok(Span(total))
    }
}

impl Span {
    /// "3 days 4 hours", "5 hours", "12 minutes": for sentences.
    pub fn human(self) -> String {
        let (d, h, m) = (self.0 / DAY, self.0 % DAY / HOUR, self.0 % HOUR / MINUTE);
        let unit = |n: i64, one: &str| if n == 1 { format!("1 {one}") } else { format!("{n} {one}s") };
        match (d, h) {
            (0, 0) => unit(m, "minute"),
            (0, h) => unit(h, "hour"),
            (d, 0) => unit(d, "day"),
            (d, h) => format!("{} {}", unit(d, "day"), unit(h, "hour")),
        }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        for (unit, name) in [(7 * DAY, "w"), (DAY, "d"), (HOUR, "h"), (MINUTE, "m"), (SECOND, "s")] {
            if ms != 0 && ms % unit == 0 {
                return write!(f, "{}{}", ms / unit, name);
            }
        }
        write!(f, "{ms}ms")
    }
}

impl std::ops::Add<Span> for Timestamp {
    type Output = Timestamp;
    fn add(self, rhs: Span) -> Timestamp {
        Timestamp(self.0.saturating_add(rhs.0))
    }
}

impl std::ops::Sub<Span> for Timestamp {
    type Output = Timestamp;
    fn sub(self, rhs: Span) -> Timestamp {
        Timestamp(self.0.saturating_sub(rhs.0))
    }
}

impl std::ops::Sub<Timestamp> for Timestamp {
    type Output = Span;
    /// The span from `other` to `self` (negative when `other` is later).
    fn sub(self, other: Timestamp) -> Span {
        Span(self.0.saturating_sub(other.0))
    }
}

/// Days since the epoch of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = (y - era * 400) as i64;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era as i64 * 146097 + doe - 719468) as i32
}

/// The (year, month, day) of a day count since the epoch.
pub fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z as i64 + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((if m <= 2 { y + 1 } else { y }) as i32, m, d)
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        _ => 28,
    }
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let mut v = 0u32;
    for &c in b.get(at..at + n)? {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u32;
    }
    Some(v)
}

/// The shape nearly every event gives, `YYYY-MM-DDTHH:MM:SS.mmmZ`, read in one go;
/// `None` for anything else (which the general reader then reads, or refuses with
/// the reason). The day number of the last date read is remembered: events come in
/// time order, so most share it.
fn parse_utc_millis(b: &[u8]) -> Option<Timestamp> {
    if b.len() != 24 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if b[19] != b'.' || b[23] != b'Z' {
        return None;
    }
    let d = |i: usize| b[i].wrapping_sub(b'0') as u32;
    for i in [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22] {
        if d(i) > 9 {
            return None;
        }
    }
    let (y, mo, day) = (d(0) * 1000 + d(1) * 100 + d(2) * 10 + d(3), d(5) * 10 + d(6), d(8) * 10 + d(9));
    let (h, mi, sec) = (d(11) * 10 + d(12), d(14) * 10 + d(15), d(17) * 10 + d(18));
    let millis = d(20) * 100 + d(21) * 10 + d(22);
    if h > 23 || mi > 59 || sec > 59 || !(1..=12).contains(&mo) || day == 0 || day > days_in_month(y as i32, mo) {
        return None;
    }
    thread_local! {
        static LAST_DAY: std::cell::Cell<(u32, i32)> = const { std::cell::Cell::new((0, 0)) };
    }
    let key = y * 10_000 + mo * 100 + day;
    let days = match LAST_DAY.get() {
        (k, days) if k == key => days,
        _ => {
            let days = days_from_civil(y as i32, mo, day);
            LAST_DAY.set((key, days));
            days
        }
    };
    let secs = days as i64 * 86_400 + h as i64 * 3600 + mi as i64 * 60 + sec as i64;
    Some(Timestamp(secs * 1000 + millis as i64))
}

/// `s.trim()`, without looking at every character when the ends are printable ASCII
/// (as they nearly always are).
pub fn trim(s: &str) -> &str {
    let plain = |b: Option<&u8>| b.is_some_and(|b| (0x21..0x7f).contains(b));
    if plain(s.as_bytes().first()) && plain(s.as_bytes().last()) {
        s
    } else {
        s.trim()
    }
}

fn parse_ymd(b: &[u8]) -> Result<(i32, u32, u32), TimeError> {
    const SHAPE: TimeError = TimeError("expected a date as YYYY-MM-DD");
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(SHAPE);
    }
    let y = digits(b, 0, 4).ok_or(SHAPE)? as i32;
    let m = digits(b, 5, 2).ok_or(SHAPE)?;
    let d = digits(b, 8, 2).ok_or(SHAPE)?;
    if !(1..=12).contains(&m) {
        return Err(TimeError("month out of range"));
    }
    if d == 0 || d > days_in_month(y, m) {
        return Err(TimeError("day out of range"));
    }
    Ok((y, m, d))
}

impl Date {
    /// Parses exactly `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Result<Date, TimeError> {
        let b = trim(s).as_bytes();
        if b.len() != 10 {
            return Err(TimeError("expected a date as YYYY-MM-DD"));
        }
        let (y, m, d) = parse_ymd(b)?;
        Ok(Date(days_from_civil(y, m, d)))
    }

    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.0)
    }
}

impl Date {
    /// `YYYY-MM-DD` as bytes, for the years 0 to 9999 (every date this reads).
    pub fn iso(self) -> Option<[u8; 10]> {
        let (y, m, d) = self.ymd();
        let y = u32::try_from(y).ok().filter(|y| *y <= 9999)?;
        let digit = |n: u32| b'0' + (n % 10) as u8;
        Some([
            digit(y / 1000),
            digit(y / 100),
            digit(y / 10),
            digit(y),
            b'-',
            digit(m / 10),
            digit(m),
            b'-',
            digit(d / 10),
            digit(d),
        ])
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.iso() {
            // Only ASCII digits and dashes.
            Some(iso) => f.write_str(std::str::from_utf8(&iso).unwrap_or_default()),
            None => {
                let (y, m, d) = self.ymd();
                write!(f, "{y:04}-{m:02}-{d:02}")
            }
        }
    }
}

impl Timestamp {
    /// Parses an RFC 3339 timestamp: `2026-11-22T09:14:03.120Z`,
    /// `2026-11-22T09:14:03+00:00`, a space instead of `T`, any number of fraction
    /// digits (kept to the millisecond). A zone (`Z` or an offset) is required.
    pub fn parse_rfc3339(s: &str) -> Result<Timestamp, TimeError> {
        const SHAPE: TimeError = TimeError("expected an RFC 3339 timestamp like 2026-11-22T09:14:03Z");
        if let Some(ts) = parse_utc_millis(s.as_bytes()) {
            return Ok(ts);
        }
        let b = trim(s).as_bytes();
        let (y, mo, d) =
            parse_ymd(b).map_err(|e| if e == TimeError("expected a date as YYYY-MM-DD") { SHAPE } else { e })?;
        if b.len() < 19 || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
            return Err(SHAPE);
        }
        let h = digits(b, 11, 2).ok_or(SHAPE)?;
        let mi = digits(b, 14, 2).ok_or(SHAPE)?;
        let sec = digits(b, 17, 2).ok_or(SHAPE)?;
        if h > 23 || mi > 59 || sec > 60 {
            return Err(TimeError("time of day out of range"));
        }
        let mut i = 19;
        let mut millis = 0i64;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            let mut scale = 100;
            while i < b.len() && b[i].is_ascii_digit() {
                millis += (b[i] - b'0') as i64 * scale;
                scale /= 10;
                i += 1;
            }
            if i == start {
                return Err(SHAPE);
            }
        }
        let offset_minutes: i64 = match b.get(i) {
            Some(b'Z') | Some(b'z') if i + 1 == b.len() => 0,
            Some(&sign @ (b'+' | b'-')) => {
                let rest = &b[i + 1..];
                let (oh, om) = match rest.len() {
                    5 if rest[2] == b':' => (digits(rest, 0, 2), digits(rest, 3, 2)),
                    4 => (digits(rest, 0, 2), digits(rest, 2, 2)),
                    2 => (digits(rest, 0, 2), Some(0)),
                    _ => (None, None),
                };
                let (oh, om) = oh.zip(om).ok_or(TimeError("bad time zone offset"))?;
                if oh > 23 || om > 59 {
                    return Err(TimeError("bad time zone offset"));
                }
                let off = (oh * 60 + om) as i64;
                if sign == b'-' {
                    -off
                } else {
                    off
                }
            }
            None => return Err(TimeError("missing time zone (Z or an offset such as +01:00)")),
            _ => return Err(SHAPE),
        };
        let days = days_from_civil(y, mo, d) as i64;
        let secs = days * 86_400 + h as i64 * 3600 + mi as i64 * 60 + sec.min(59) as i64 - offset_minutes * 60;
        Ok(Timestamp(secs * 1000 + millis))
    }

    /// The start of the day (UTC) this instant falls in.
    pub fn date(self) -> Date {
        Date(self.0.div_euclid(DAY) as i32)
    }

    /// Milliseconds since midnight UTC.
    pub fn time_of_day(self) -> i64 {
        self.0.rem_euclid(DAY)
    }

    /// The current wall-clock time.
    pub fn now() -> Timestamp {
        let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Timestamp(d.as_millis() as i64)
    }

    /// Writes `YYYY-MM-DDTHH:MM:SS.mmmZ` into `out`.
    pub fn write_rfc3339(self, out: &mut String) {
        let (y, m, d) = self.date().ymd();
        let tod = self.time_of_day();
        let (h, mi, s, ms) = (tod / HOUR, tod / MINUTE % 60, tod / SECOND % 60, tod % 1000);
        if !(0..=9999).contains(&y) {
            use std::fmt::Write;
            let _ = write!(out, "{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z");
            return;
        }
        let mut buf = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut v: u32| {
            for i in (0..width).rev() {
                buf[at + i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, y as u32);
        put(5, 2, m);
        put(8, 2, d);
        put(11, 2, h as u32);
        put(14, 2, mi as u32);
        put(17, 2, s as u32);
        put(20, 3, ms as u32);
        // Only ASCII digits and punctuation were written.
        out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
    }

    /// `YYYY-MM-DD HH:MM` in UTC, for sentences a person reads.
    pub fn human(self) -> String {
        let (y, m, d) = self.date().ymd();
        let tod = self.time_of_day();
        format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", tod / HOUR, tod / MINUTE % 60)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(24);
        self.write_rfc3339(&mut s);
        f.write_str(&s)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse_rfc3339(&s).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Date::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A daily time range such as a rostered shift `07:00-17:00`; may wrap midnight
/// (`22:00-07:00`). Times are UTC minutes of the day.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct DailyRange {
    pub start_minute: u16,
    pub end_minute: u16,
}

impl DailyRange {
    pub fn parse(s: &str) -> Result<DailyRange, TimeError> {
        const SHAPE: TimeError = TimeError("expected hours like 07:00-17:00");
        let (a, b) = s.trim().split_once('-').ok_or(SHAPE)?;
        let hm = |t: &str| -> Result<u16, TimeError> {
            let (h, m) = t.trim().split_once(':').ok_or(SHAPE)?;
            let h: u16 = h.parse().map_err(|_| SHAPE)?;
            let m: u16 = m.parse().map_err(|_| SHAPE)?;
            if h > 24 || m > 59 || (h == 24 && m != 0) {
                return Err(SHAPE);
            }
            Ok(h * 60 + m)
        };
        Ok(DailyRange { start_minute: hm(a)?, end_minute: hm(b)? })
    }

    /// Whether the instant's time of day falls inside the range.
    pub fn contains(&self, ts: Timestamp) -> bool {
        let minute = (ts.time_of_day() / MINUTE) as u16;
        if self.start_minute <= self.end_minute {
            minute >= self.start_minute && minute < self.end_minute
        } else {
            minute >= self.start_minute || minute < self.end_minute
        }
    }
}

impl DailyRange {
    /// Whether `minute` (of the local day) falls inside the range widened by `grace`
    /// minutes at both ends.
    pub fn contains_minute(&self, minute: u16, grace: u16) -> bool {
        let day = 24 * 60i32;
        let start = self.start_minute as i32 - grace as i32;
        let len = (self.end_minute as i32 - self.start_minute as i32).rem_euclid(day) + 2 * grace as i32;
        len >= day || (minute as i32 - start).rem_euclid(day) < len
    }
}

impl fmt::Display for DailyRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b) = (self.start_minute, self.end_minute);
        write!(f, "{:02}:{:02}-{:02}:{:02}", a / 60, a % 60, b / 60, b % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_forms_agree() {
        let a = Timestamp::parse_rfc3339("2026-11-22T09:14:03.120Z").unwrap();
        let b = Timestamp::parse_rfc3339("2026-11-22T10:14:03.12+01:00").unwrap();
        let c = Timestamp::parse_rfc3339("2026-11-22 09:14:03.120999+0000").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a.to_string(), "2026-11-22T09:14:03.120Z");
    }

    #[test]
    fn rfc3339_rejects_bad_input() {
        for bad in [
            "",
            "2026-11-22",
            "2026-11-22T09:14:03",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-11-22T25:00:00Z",
            "2026-11-22T09:14:03.Z",
            "2026-11-22T09:14:03Zjunk",
            "yesterday",
        ] {
            assert!(Timestamp::parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn civil_round_trip() {
        for z in [-800_000, -1, 0, 1, 19_000, 20_414, 2_000_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(Date::parse("2024-02-29").unwrap().to_string(), "2024-02-29");
        assert!(Date::parse("2023-02-29").is_err());
    }

    #[test]
    fn spans() {
        assert_eq!(Span::parse("24h").unwrap(), Span::hours(24));
        assert_eq!(Span::parse("1h30m").unwrap(), Span::minutes(90));
        assert_eq!(Span::parse("30d").unwrap().to_string(), "30d");
        assert!(Span::parse("10 parsecs").is_err());
        assert!(Span::parse("h").is_err());
    }

    #[test]
    fn shifts_wrap_midnight() {
        let night = DailyRange::parse("22:00-07:00").unwrap();
        let at = |s| Timestamp::parse_rfc3339(s).unwrap();
        assert!(night.contains(at("2026-01-01T23:30:00Z")));
        assert!(night.contains(at("2026-01-01T03:00:00Z")));
        assert!(!night.contains(at("2026-01-01T12:00:00Z")));
        let day = DailyRange::parse("07:00-17:00").unwrap();
        assert!(day.contains(at("2026-01-01T07:00:00Z")));
        assert!(!day.contains(at("2026-01-01T17:00:00Z")));
    }
}
