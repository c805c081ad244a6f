//! Time zones: how a source writes local times, and where shifts and usual hours are
//! read. One type for both, so a force configures "Europe/London" once and means the
//! same thing in a source mapping and in the out-of-hours detector.

use super::{Timestamp, DAY, MINUTE};
use chrono::{NaiveDateTime, Offset, TimeZone};

/// UTC, a fixed offset, or an IANA zone such as `Europe/London` (GMT, BST in summer).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Zone {
    #[default]
    Utc,
    Fixed(chrono::FixedOffset),
    Named(chrono_tz::Tz),
}

impl Zone {
    /// `UTC`, an offset like `+01:00`, or an IANA name like `Europe/London`.
    pub fn parse(s: &str) -> Result<Zone, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("utc") || s == "Z" {
            return Ok(Zone::Utc);
        }
        if s.starts_with('+') || s.starts_with('-') {
            // Midnight at that offset is `offset` before midnight UTC.
            let utc = Timestamp::parse_rfc3339("2000-01-01T00:00:00Z").map_err(|_| format!("bad offset {s:?}"))?;
            let local = Timestamp::parse_rfc3339(&format!("2000-01-01T00:00:00{s}"))
                .map_err(|_| format!("bad offset {s:?}"))?;
            let secs = ((utc.0 - local.0) / 1000) as i32;
            return chrono::FixedOffset::east_opt(secs).map(Zone::Fixed).ok_or(format!("bad offset {s:?}"));
        }
        s.parse::<chrono_tz::Tz>().map(Zone::Named).map_err(|_| format!("unknown time zone {s:?}"))
    }

    /// The UTC milliseconds of a local time in this zone. In the autumn hour that
    /// happens twice, the first; the spring hour that does not exist is `None`.
    pub fn to_utc(&self, local: NaiveDateTime) -> Option<i64> {
        let dt = match self {
            Zone::Utc => return Some(local.and_utc().timestamp_millis()),
            Zone::Fixed(off) => off.from_local_datetime(&local).earliest()?.timestamp_millis(),
            Zone::Named(tz) => tz.from_local_datetime(&local).earliest()?.timestamp_millis(),
        };
        Some(dt)
    }

    /// Milliseconds to add to UTC for local time at `ts`.
    pub fn offset_ms(&self, ts: Timestamp) -> i64 {
        match self {
            Zone::Utc => 0,
            Zone::Fixed(off) => off.local_minus_utc() as i64 * 1000,
            Zone::Named(tz) => named_offset_ms(*tz, ts),
        }
    }

    /// The local minute of the day at `ts` (0 to 1439).
    pub fn minute_of_day(&self, ts: Timestamp) -> u16 {
        ((ts.0 + self.offset_ms(ts)).rem_euclid(DAY) / MINUTE) as u16
    }
}

fn tz_offset_ms(tz: chrono_tz::Tz, ms: i64) -> i64 {
    let Some(utc) = chrono::DateTime::from_timestamp_millis(ms) else { return 0 };
    tz.offset_from_utc_datetime(&utc.naive_utc()).fix().local_minus_utc() as i64 * 1000
}

thread_local! {
    /// Per zone, the last hour looked up when its offset holds for the whole hour:
    /// (zone, hour since the epoch, offset). Every access asks, a zone's offset changes
    /// a few times a year, and a configuration names a zone or two.
    static HOUR_OFFSETS: std::cell::Cell<[Option<(chrono_tz::Tz, i64, i64)>; 4]> =
        const { std::cell::Cell::new([None; 4]) };
}

fn named_offset_ms(tz: chrono_tz::Tz, ts: Timestamp) -> i64 {
    let hour = ts.0.div_euclid(super::HOUR);
    let mut cache = HOUR_OFFSETS.get();
    let slot = cache.iter().position(|c| c.is_some_and(|(z, _, _)| z == tz));
    if let Some((_, h, offset)) = slot.and_then(|i| cache[i]) {
        if h == hour {
            return offset;
        }
    }
    let offset = tz_offset_ms(tz, ts.0);
    // Kept only when the hour's first and last milliseconds agree (no change inside).
    let first = hour.checked_mul(super::HOUR);
    let last = first.and_then(|f| f.checked_add(super::HOUR - 1));
    if let (Some(first), Some(last)) = (first, last) {
        if tz_offset_ms(tz, first) == offset && tz_offset_ms(tz, last) == offset {
            let i = slot.or_else(|| cache.iter().position(Option::is_none)).unwrap_or(0);
            cache[i] = Some((tz, hour, offset));
            HOUR_OFFSETS.set(cache);
        }
    }
    offset
}

impl std::fmt::Display for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Zone::Utc => f.write_str("UTC"),
            Zone::Fixed(off) => write!(f, "{off}"),
            Zone::Named(tz) => f.write_str(tz.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn london_is_gmt_in_winter_and_bst_in_summer() {
        let london = Zone::parse("Europe/London").unwrap();
        let at = |s: &str| Timestamp::parse_rfc3339(s).unwrap();
        assert_eq!(london.minute_of_day(at("2026-01-10T09:30:00Z")), 9 * 60 + 30);
        assert_eq!(london.minute_of_day(at("2026-07-10T09:30:00Z")), 10 * 60 + 30);
        // The clocks go forward at 01:00 UTC on the last Sunday of March (29 March 2026).
        assert_eq!(london.offset_ms(at("2026-03-29T00:59:59Z")), 0);
        assert_eq!(london.offset_ms(at("2026-03-29T01:00:00Z")), 3_600_000);
        assert_eq!(london.offset_ms(at("2026-10-25T00:59:59Z")), 3_600_000);
        assert_eq!(london.offset_ms(at("2026-10-25T01:00:00Z")), 0);
        assert_eq!(Zone::parse("UTC").unwrap().minute_of_day(at("2026-07-10T23:59:00Z")), 23 * 60 + 59);
        assert_eq!(Zone::parse("+05:30").unwrap().minute_of_day(at("2026-07-10T00:00:00Z")), 5 * 60 + 30);
        assert!(Zone::parse("Mars/Olympus").is_err());
    }

    #[test]
    fn the_cached_offset_is_the_zones_own_across_changes_and_zones() {
        let zones = ["Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"];
        let zones: Vec<chrono_tz::Tz> = zones.iter().map(|z| z.parse().unwrap()).collect();
        // Every 7 minutes through two years, the zones taken in turn.
        let start = Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").unwrap().0;
        for step in 0..150_000i64 {
            let ts = Timestamp(start + step * 7 * MINUTE);
            let tz = zones[step as usize % zones.len()];
            assert_eq!(named_offset_ms(tz, ts), tz_offset_ms(tz, ts.0), "{tz} at {ts:?}");
        }
    }
}
