//! A finding: one rule firing on one event, before suppression. The stateless rules
//! ([`super`]) and the stateful detectors ([`crate::behaviour`]) both produce them; the
//! engine turns them into alerts.

use crate::alert::{RuleId, Severity, WatchlistRef};
use crate::enrich::Enriched;
use crate::time::Timestamp;
use crate::watchlist::MatchStrength;
use compact_str::CompactString;
use smallvec::SmallVec;

/// One rule firing on one event, before suppression.
#[derive(Debug)]
pub struct Finding<'a> {
    pub rule: RuleId,
    pub severity: Severity,
    pub score: u8,
    /// Names the subject for suppression: one alert per (rule, user, subject) per window.
    pub subject_key: CompactString,
    pub watchlist: Option<WatchlistRef>,
    /// For a retrospective finding: when the entry was added; the alert is raised then.
    pub release_at: Option<Timestamp>,
    /// Earlier events that belong in the alert's evidence after the triggering one
    /// (a behavioural pattern is made of many accesses).
    pub evidence: Vec<CompactString>,
    pub explanation: Box<dyn Explain + 'a>,
}

/// The facts behind a finding, turned into the alert's `reason` (one plain sentence an
/// ACU officer can read) only when the finding becomes a new alert, not for repeats
/// folded into an open one. Each rule keeps its facts and its sentence in its own file.
pub trait Explain: std::fmt::Debug {
    fn sentence(&self, ctx: &Enriched) -> String;

    /// The other users the finding is also about (a subject spike's other users), so
    /// none of them reviews it.
    fn other_users(&self) -> &[CompactString] {
        &[]
    }

    /// Whether the finding follows an operation's own alert (a print after an
    /// `opsec.outsider` look-up): it is the operation's as that alert is.
    fn follows_an_operation(&self) -> bool {
        false
    }
}

/// The findings of one event; rarely more than a few.
pub type Findings<'a> = SmallVec<[Finding<'a>; 4]>;

/// A score from 0 to 100 that orders alerts within a severity: the severity's base,
/// raised for a strong identity match and lowered for a weak one.
pub fn score(severity: Severity, strength: Option<MatchStrength>) -> u8 {
    let adjust = match strength {
        Some(MatchStrength::Id) => 10,
        Some(MatchStrength::NameDob | MatchStrength::Vrm | MatchStrength::Postcode) => 5,
        Some(MatchStrength::Name) => -15,
        Some(MatchStrength::Initial) => -25,
        None => 0,
    };
    (severity.base_score() + adjust).clamp(1, 100) as u8
}
