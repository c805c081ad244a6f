//! Retrospective checks: when a high-profile entry or an operation subject is added,
//! find in the archive the accesses its look-back covers and raise the alerts a replay
//! with the entry present from the start would have raised, less those already raised.
//!
//! The look-back: a high-profile entry covers accesses from `added_at` minus
//! `rules.high_profile.uninvolved.lookback` (spec/watchlists.md); an operation subject
//! from the operation's `starts_at` (until `ends_at`).

use crate::alert::Alert;
use crate::engine::Engine;
use crate::hunt::{Hunt, HuntError, Subject, TimeRange};
use crate::time::Timestamp;
use crate::watchlist::{PersonIdentity, TableName, WatchLists};
use compact_str::CompactString;
use std::collections::HashSet;

/// The subject and time range whose accesses the entry `key` of `table` covers (to its
/// expiry or end, if any: the archive may hold accesses stamped ahead of this
/// machine's clock); `None` when the lists hold no such entry (or the table has no
/// look-back).
pub fn coverage(engine: &Engine, table: TableName, key: &str) -> Option<(Subject, TimeRange)> {
    let lists = engine.lists();
    let person = |p: &PersonIdentity| {
        let mut subject = Subject::of_person(p);
        subject.add_custody_records(lists);
        subject
    };
    match table {
        TableName::HighProfile => {
            let (_, e) = lists.high_profile.by_key(key)?;
            let from = e.added_at - engine.config().rules.high_profile_lookback;
            let to = e.expires_at.map(|x| Timestamp(x.0 + 1));
            Some((person(&e.person), TimeRange { from: Some(from), to }))
        }
        TableName::Operations => {
            let (_, o) = lists.operations.by_key(key)?;
            let subject = Subject {
                vrm: o.vrm.as_ref().map(|v| v.to_string()),
                postcode: o.postcode.as_ref().map(|p| p.to_string()),
                ..person(&o.person)
            };
            Some((subject, TimeRange { from: Some(o.starts_at), to: o.ends_at }))
        }
        _ => None,
    }
}

/// Scans the archive for the entry's past accesses and returns the retrospective
/// alerts not already raised (neither in the archive's alerts, nor in `open`).
pub fn scan(
    hunt: &Hunt,
    engine: &Engine,
    table: TableName,
    key: &str,
    open: &HashSet<CompactString>,
) -> Result<Vec<Alert>, HuntError> {
    let Some((subject, range)) = coverage(engine, table, key) else { return Ok(Vec::new()) };
    if subject.id.is_none() && subject.name.is_none() && subject.vrm.is_none() && subject.postcode.is_none() {
        return Ok(Vec::new());
    }
    let past: Vec<_> = hunt.candidates(&subject, &range)?.into_iter().map(|s| s.event).collect();
    let alerts = engine.retrospective(table, key, &past);
    if alerts.is_empty() {
        return Ok(alerts);
    }
    let ids: Vec<String> = alerts.iter().map(|a| crate::hunt::quote(&a.alert_id)).collect();
    let mut raised: HashSet<String> = HashSet::new();
    for b in hunt.sql(&format!("SELECT alert_id FROM alerts WHERE alert_id IN ({})", ids.join(", ")))? {
        let col = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8)?;
        let col = col.as_any().downcast_ref::<arrow::array::StringArray>().expect("utf8");
        raised.extend(col.iter().flatten().map(String::from));
    }
    Ok(alerts.into_iter().filter(|a| !raised.contains(a.alert_id.as_str()) && !open.contains(&a.alert_id)).collect())
}

/// The high-profile entries and operation subjects of `lists` to check: all of them,
/// or only those whose key is in `only`. `Err` names the keys of `only` the lists do
/// not hold.
pub fn entries(lists: &WatchLists, only: &[String]) -> Result<Vec<(TableName, String)>, Vec<String>> {
    let mut all: Vec<(TableName, String)> = Vec::new();
    all.extend(lists.high_profile.iter().map(|(_, key, _)| (TableName::HighProfile, key.to_string())));
    all.extend(lists.operations.iter().map(|(_, key, _)| (TableName::Operations, key.to_string())));
    if only.is_empty() {
        return Ok(all);
    }
    let unknown: Vec<String> = only.iter().filter(|e| !all.iter().any(|(_, k)| k == *e)).cloned().collect();
    if !unknown.is_empty() {
        return Err(unknown);
    }
    all.retain(|(_, k)| only.contains(k));
    Ok(all)
}
