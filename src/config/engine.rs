//! The engine's own sections: `[input]` (limits on records), `[state]` (event time
//! and snapshots) and `[risk]` (the per-user risk score).

use super::reader::Section;
use crate::time::Span;
use std::path::PathBuf;

/// Limits on input records (`[input]`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InputConfig {
    /// Records longer than this go to the dead-letter output unread.
    pub max_record_bytes: usize,
    /// The most bytes one dead letter takes, its escaped record included: records are
    /// cut to fit, so a dead letter always fits its topic.
    pub dead_letter_max_bytes: usize,
}

impl InputConfig {
    pub(super) fn read(&mut self, s: &Section) {
        s.usize("max_record_bytes", 64..=(64 << 20), &mut self.max_record_bytes);
        s.usize("dead_letter_max_bytes", 4_096..=(16 << 20), &mut self.dead_letter_max_bytes);
    }
}

/// Event-time bookkeeping and snapshots (`[state]`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StateConfig {
    /// Events older than the newest seen by more than this are late: the stateless
    /// rules still judge them; the behavioural detectors skip them.
    pub allowed_lateness: Span,
    /// An event dated more than this ahead of the clock that receives it (live: the
    /// wall clock; replay: the input's own front) is a clock fault of its source.
    pub max_clock_skew: Span,
    /// In a replay, a run of this many events ahead of the front in a row is a real
    /// jump (a gap in the logs), not a clock fault.
    pub clock_jump_events: usize,
    /// Where the live engine keeps its state snapshot; `None`: no snapshots.
    pub dir: Option<PathBuf>,
    pub snapshot_interval: Span,
}

impl StateConfig {
    /// `idle_after` is read here too but belongs to the behavioural settings.
    pub(super) fn read(&mut self, s: &Section, idle_after: &mut Span) {
        s.span("allowed_lateness", &mut self.allowed_lateness);
        s.span("max_clock_skew", &mut self.max_clock_skew);
        s.usize("clock_jump_events", 1..=100_000, &mut self.clock_jump_events);
        if self.max_clock_skew > self.allowed_lateness {
            s.error(
                "max_clock_skew",
                format!(
                    "{} is more than allowed_lateness ({}): one event from a clock that far ahead would make the on-time events of its partition late",
                    self.max_clock_skew.human(),
                    self.allowed_lateness.human()
                ),
            );
        }
        s.opt_path("dir", &mut self.dir);
        s.span("snapshot_interval", &mut self.snapshot_interval);
        s.span("idle_after", idle_after);
        // Shorter than a day forgets users between shifts and windows mid-way: the
        // detectors would start cold on every user, unseen.
        if *idle_after < Span::days(1) {
            s.error(
                "idle_after",
                format!("{}: at least 1d (state idle less than a day is a user between shifts)", idle_after.human()),
            );
        }
    }
}

/// The per-user risk score (`[risk]`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RiskConfig {
    pub half_life: Span,
}

impl RiskConfig {
    pub(super) fn read(&mut self, s: &Section) {
        s.positive_span("half_life", &mut self.half_life);
    }
}
