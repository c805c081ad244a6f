//! `leak-trace`: who accessed a subject in the window before a story was published,
//! ranked for the investigator.
//!
//! Ranking: users with an unjustified access first (no reference, an unknown one, or
//! one they have no link to: the rules' own test); then by how close their last access
//! came to the publication; then by how many other alerts they have.

use super::{Hunt, HuntError, Subject, TimeRange};
use crate::config::ExplanationConfig;
use crate::enrich::{enrich, Justification};
use crate::event::explained::Kind;
use crate::time::{Span, Timestamp};
use crate::watchlist::WatchLists;
use arrow::array::{ArrayRef, Int64Builder, RecordBatch, StringBuilder, TimestampMillisecondBuilder};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One user who accessed the subject before publication.
#[derive(Clone, Debug, PartialEq)]
pub struct Suspect {
    pub user_id: String,
    /// From the staff list, when known: name, role and unit.
    pub who: Option<String>,
    pub accesses: usize,
    pub unjustified: usize,
    pub first_access: Timestamp,
    pub last_access: Timestamp,
    /// Publication time minus the last access.
    pub lead: Span,
    pub other_alerts: i64,
    pub systems: Vec<String>,
    pub event_ids: Vec<String>,
}

/// The ranked users who accessed `subject` in `window` before `published`. Each
/// access is judged against `lists` when given; without them, as the engine judged it
/// when it archived the access (its `explained_by` is `reference`): an empty set of
/// lists would find every access unjustified, the case team's included. (An incident
/// recorded after the access it justified is in the lists, not in what was archived.)
pub fn leak_trace(
    hunt: &Hunt,
    subject: &Subject,
    published: Timestamp,
    window: Span,
    lists: Option<&WatchLists>,
    justification: &ExplanationConfig,
) -> Result<Vec<Suspect>, HuntError> {
    let none = WatchLists::default();
    // A window of no time (`--window 0s`) would answer "nobody": refused.
    let range = TimeRange::between(Some(published - window), Some(published))
        .map_err(|e| HuntError::Usage(format!("the window before publication holds no time: {e}")))?;
    let accesses = hunt.who_accessed(subject, &range)?;
    let mut by_user: BTreeMap<String, Suspect> = BTreeMap::new();
    for a in &accesses {
        let e = &a.stored.event;
        let ctx = enrich(e, lists.unwrap_or(&none), justification);
        let s = by_user.entry(e.user_id.to_string()).or_insert_with(|| Suspect {
            user_id: e.user_id.to_string(),
            who: ctx.user.map(|_| ctx.who()),
            accesses: 0,
            unjustified: 0,
            first_access: e.ts,
            last_access: e.ts,
            lead: Span(0),
            other_alerts: 0,
            systems: Vec::new(),
            event_ids: Vec::new(),
        });
        s.accesses += 1;
        let justified = match lists {
            Some(_) => matches!(ctx.justification, Justification::Justified(_)),
            None => a.stored.from.explained.as_ref().is_some_and(|r| r.kind == Kind::Reference),
        };
        s.unjustified += usize::from(!justified);
        s.first_access = s.first_access.min(e.ts);
        s.last_access = s.last_access.max(e.ts);
        if !s.systems.iter().any(|x| x == e.system.as_str()) {
            s.systems.push(e.system.to_string());
        }
        s.event_ids.push(e.event_id.to_string());
    }
    let users: Vec<&str> = by_user.keys().map(String::as_str).collect();
    let alerts = hunt.alert_counts(&users)?;
    let mut out: Vec<Suspect> = by_user
        .into_values()
        .map(|mut s| {
            s.lead = Span(published.0 - s.last_access.0);
            s.other_alerts = alerts.get(&s.user_id).copied().unwrap_or(0);
            s
        })
        .collect();
    out.sort_by(|a, b| {
        (a.unjustified == 0, a.lead, -a.other_alerts, &a.user_id).cmp(&(
            b.unjustified == 0,
            b.lead,
            -b.other_alerts,
            &b.user_id,
        ))
    });
    Ok(out)
}

/// The ranking as rows, rank 1 first.
pub fn suspects_batch(suspects: &[Suspect]) -> RecordBatch {
    let ts = |n: &str| Field::new(n, DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())), false);
    let schema = Arc::new(Schema::new(vec![
        Field::new("rank", DataType::Int64, false),
        Field::new("user_id", DataType::Utf8, false),
        Field::new("who", DataType::Utf8, true),
        Field::new("accesses", DataType::Int64, false),
        Field::new("unjustified", DataType::Int64, false),
        ts("last_access"),
        Field::new("before_publication", DataType::Utf8, false),
        Field::new("other_alerts", DataType::Int64, false),
        ts("first_access"),
        Field::new("systems", DataType::Utf8, false),
        Field::new("event_ids", DataType::Utf8, false),
    ]));
    let mut rank = Int64Builder::new();
    let (mut user, mut who, mut lead, mut systems, mut ids) =
        (StringBuilder::new(), StringBuilder::new(), StringBuilder::new(), StringBuilder::new(), StringBuilder::new());
    let (mut accesses, mut unjustified, mut alerts) = (Int64Builder::new(), Int64Builder::new(), Int64Builder::new());
    let mut last = TimestampMillisecondBuilder::new().with_timezone("UTC");
    let mut first = TimestampMillisecondBuilder::new().with_timezone("UTC");
    for (i, s) in suspects.iter().enumerate() {
        rank.append_value(i as i64 + 1);
        user.append_value(&s.user_id);
        who.append_option(s.who.as_deref());
        accesses.append_value(s.accesses as i64);
        unjustified.append_value(s.unjustified as i64);
        last.append_value(s.last_access.0);
        lead.append_value(s.lead.human());
        alerts.append_value(s.other_alerts);
        first.append_value(s.first_access.0);
        systems.append_value(s.systems.join(" "));
        ids.append_value(s.event_ids.join(" "));
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(rank.finish()),
        Arc::new(user.finish()),
        Arc::new(who.finish()),
        Arc::new(accesses.finish()),
        Arc::new(unjustified.finish()),
        Arc::new(last.finish()),
        Arc::new(lead.finish()),
        Arc::new(alerts.finish()),
        Arc::new(first.finish()),
        Arc::new(systems.finish()),
        Arc::new(ids.finish()),
    ];
    RecordBatch::try_new(schema, columns).expect("columns match the suspects schema")
}
