//! The engine's own sections: `[input]` (limits on records), `[justification]` (the
//! "justified" test of spec/rules.md), `[state]` (event time and snapshots) and
//! `[risk]` (the per-user risk score).

use super::reader::Section;
use crate::time::Span;
use std::path::PathBuf;

/// Limits on input records (`[input]`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InputConfig {
    /// Records longer than this go to the dead-letter output unread.
    pub max_record_bytes: usize,
    /// How much of an over-long record the dead-letter output keeps.
    pub dead_letter_max_bytes: usize,
}

impl InputConfig {
    pub(super) fn read(&mut self, s: &Section) {
        s.usize("max_record_bytes", 64..=(64 << 20), &mut self.max_record_bytes);
        s.usize("dead_letter_max_bytes", 64..=(256 << 20), &mut self.dead_letter_max_bytes);
    }
}

/// The "justified" test of spec/rules.md (`[justification]`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JustificationConfig {
    /// An incident justifies accesses from this long before it was opened.
    pub before_open: Span,
    /// ... until this long after it was closed.
    pub after_close: Span,
}

impl JustificationConfig {
    pub(super) fn read(&mut self, s: &Section) {
        s.span("before_open", &mut self.before_open);
        s.span("after_close", &mut self.after_close);
    }
}

/// Event-time bookkeeping and snapshots (`[state]`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StateConfig {
    /// Events older than the newest seen by more than this are late: the stateless
    /// rules still judge them; the behavioural detectors skip them.
    pub allowed_lateness: Span,
    /// Where the live engine keeps its state snapshot; `None`: no snapshots.
    pub dir: Option<PathBuf>,
    pub snapshot_interval: Span,
}

impl StateConfig {
    /// `idle_after` is read here too but belongs to the behavioural settings.
    pub(super) fn read(&mut self, s: &Section, idle_after: &mut Span) {
        s.span("allowed_lateness", &mut self.allowed_lateness);
        s.opt_path("dir", &mut self.dir);
        s.span("snapshot_interval", &mut self.snapshot_interval);
        s.span("idle_after", idle_after);
    }
}

/// The per-user risk score (`[risk]`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RiskConfig {
    pub half_life: Span,
}

impl RiskConfig {
    pub(super) fn read(&mut self, s: &Section) {
        s.span("half_life", &mut self.half_life);
    }
}
