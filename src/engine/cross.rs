//! The cross-user stage: subject spikes and the peer comparison, in line with each
//! event (a replay, one instance) or in the live engine's repartition stage.
//!
//! In line, [`observe`] runs after the per-user detectors on the same context. With a
//! repartition topic, the user stage [`hand_on`]s a record per access instead (keyed
//! by the person, for spikes; by the unit, for the peer comparison), and the instance
//! that owns the key's partition runs [`Engine::process_cross`] on it, with the same
//! code and the same alert ids, in a stream (and an alert book) of its own.

use super::{offer, Engine};
use crate::alert::{Alert, AlertBook, AlertSink};
use crate::behaviour::{CrossUser, Handoff};
use crate::config::RulesConfig;
use crate::detect::Findings;
use crate::enrich::{enrich, Enriched};
use crate::event::json;
use compact_str::CompactString;
use serde::{Deserialize, Serialize};

/// Which detector a record is for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum To {
    /// The subject spike, keyed by person.
    Subject,
    /// The peer comparison, keyed by unit.
    Unit,
}

/// One access as the repartition topic carries it.
#[derive(Debug, Serialize, Deserialize)]
pub struct CrossRecord<'a> {
    pub to: To,
    pub key: CompactString,
    pub handoff: Handoff,
    /// The access as canonical JSON.
    #[serde(borrow)]
    pub event: &'a serde_json::value::RawValue,
}

/// Runs the cross-user detectors in line.
pub fn observe<'a>(
    cross: &mut CrossUser,
    ctx: &Enriched<'a>,
    h: &Handoff,
    rules: &RulesConfig,
    out: &mut Findings<'a>,
) {
    if let Some(unit) = h.unit_key(ctx) {
        cross.observe_unit(unit, h, ctx, rules, out);
    }
    if let Some(key) = h.spike_key(ctx) {
        cross.observe_subject(key, ctx, rules, out);
    }
}

/// Hands the access on to the repartition stage: one record per detector that needs it.
pub fn hand_on(ctx: &Enriched, h: &Handoff, sink: &mut dyn AlertSink) {
    let keys = [(To::Unit, h.unit_key(ctx)), (To::Subject, h.spike_key(ctx))];
    if keys.iter().all(|(_, k)| k.is_none()) {
        return;
    }
    let mut line = String::with_capacity(512);
    ctx.event.write_json(&mut line);
    let Ok(event) = serde_json::value::RawValue::from_string(line) else { return };
    for (to, key) in keys {
        let Some(key) = key else { continue };
        let record = CrossRecord { to, key: key.clone(), handoff: *h, event: &event };
        if let Ok(bytes) = serde_json::to_vec(&record) {
            sink.repartition(&partition_key(to, &key), &bytes);
        }
    }
}

/// The message key: kinds apart, so a unit and a person of the same name do not share.
fn partition_key(to: To, key: &str) -> String {
    match to {
        To::Subject => format!("subject:{key}"),
        To::Unit => format!("unit:{key}"),
    }
}

/// Why a record of the repartition topic could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CrossError {
    #[error("not a repartition record: {0}")]
    Record(String),
    #[error("its access does not decode: {0}")]
    Event(String),
}

impl Engine {
    /// Runs the cross-user detector a repartition record is for, in `stream` (the
    /// record's partition of the repartition topic, in a stream number of its own).
    /// `stateful` false for a record the restored state already covers.
    pub fn process_cross(
        &mut self,
        stream: i32,
        bytes: &[u8],
        stateful: bool,
        sink: &mut dyn AlertSink,
    ) -> Result<(), CrossError> {
        let record: CrossRecord = serde_json::from_slice(bytes).map_err(|e| CrossError::Record(e.to_string()))?;
        let event = json::decode_boxed(record.event.get()).map_err(|e| CrossError::Event(e.to_string()))?;
        if !stateful {
            return Ok(());
        }
        sink.stream(stream);
        let clock = self.clock;
        let book = self.streams.entry(stream).or_insert_with(|| AlertBook::new(clock));
        book.advance(event.ts, sink);
        let ctx = enrich(&event, &self.lists, &self.config.explanation);
        let mut findings = Findings::new();
        let rules = &self.config.rules;
        let learned = self.learned.entry(stream).or_default();
        let horizon = self.config.kafka.repartition_horizon;
        if !learned.delivered.first(record.to as u8, &event.system, &event.event_id, event.ts, horizon) {
            self.stats.repartition_duplicates += 1;
            return Ok(());
        }
        match record.to {
            To::Subject => learned.cross.observe_subject(record.key, &ctx, rules, &mut findings),
            To::Unit => learned.cross.observe_unit(record.key, &record.handoff, &ctx, rules, &mut findings),
        }
        for finding in findings {
            offer(&self.config, book, &mut self.stats, &mut self.risk, &finding, &ctx, event.ts, sink);
        }
        Ok(())
    }

    /// Puts back the alerts of a repartition stream raised before a restart or a
    /// handover: into its book, and into the detectors' quiet periods, so that the
    /// instance now owning the stream raises no second alert inside their windows.
    pub fn restore_cross(&mut self, stream: i32, alerts: impl IntoIterator<Item = Alert>) -> usize {
        let config = self.config.clone();
        let mut n = 0;
        for a in alerts {
            self.learned.entry(stream).or_default().cross.seed(&a, &config.rules);
            let book = self.book(stream);
            if book.restore(a.clone(), config.rules.settings(a.rule).suppression) {
                n += 1;
            }
        }
        n
    }
}
