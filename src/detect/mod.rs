//! Detect: the rule catalogue run over one enriched event.
//!
//! Each rule is a plain function over an [`Enriched`] event and the watch lists that
//! pushes [`Finding`]s: which rule, how severe, which subject (for suppression), which
//! watch-list row, and the facts for the alert's sentence. Sentences are written only
//! when a finding becomes a new alert, not for repeats folded into an open one.
//!
//! | module | rules |
//! |---|---|
//! | [`high_profile`] | `high_profile.uninvolved` (with retrospective alerts) |
//! | [`custody`] | `custody.uninvolved` |
//! | [`personal`] | `self.lookup`, `associate.lookup`, `colleague.lookup`, `neighbour.lookup` |
//! | [`purpose`] | `purpose.missing` |
//! | [`opsec`] | `opsec.outsider` |
//! | [`account`] | `account.status`, `scope.unentitled` |
//!
//! The stateful rules (`behaviour.*`, and the peer comparison that raises
//! `purpose.missing`) live in [`crate::behaviour`] and run after these.

pub mod account;
pub mod catalogue;
pub mod custody;
pub mod high_profile;
pub mod opsec;
pub mod personal;
pub mod purpose;

pub use catalogue::RuleId;

use crate::alert::{Severity, WatchlistRef};
use crate::config::RulesConfig;
use crate::enrich::Enriched;
use crate::time::Timestamp;
use crate::watchlist::{MatchStrength, WatchLists};
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
    pub explanation: Explanation<'a>,
}

/// The facts behind a finding, turned into a sentence when an alert is raised.
#[derive(Debug)]
pub enum Explanation<'a> {
    HighProfile(high_profile::Facts<'a>),
    Custody(custody::Facts<'a>),
    Personal(personal::Facts<'a>),
    PurposeMissing,
    Opsec(opsec::Facts<'a>),
    Account(account::Facts<'a>),
    Behaviour(crate::behaviour::Facts),
}

impl Explanation<'_> {
    /// The alert's `reason`: one plain sentence an ACU officer can read.
    pub fn sentence(&self, ctx: &Enriched) -> String {
        match self {
            Explanation::HighProfile(f) => high_profile::sentence(f, ctx),
            Explanation::Custody(f) => custody::sentence(f, ctx),
            Explanation::Personal(f) => personal::sentence(f, ctx),
            Explanation::PurposeMissing => purpose::sentence(ctx),
            Explanation::Opsec(f) => opsec::sentence(f, ctx),
            Explanation::Account(f) => account::sentence(f, ctx),
            Explanation::Behaviour(f) => crate::behaviour::sentence(f, ctx),
        }
    }
}

/// The findings of one event; rarely more than a few.
pub type Findings<'a> = SmallVec<[Finding<'a>; 4]>;

/// Runs every enabled watch-list rule over one event.
pub fn detect<'a>(ctx: &Enriched<'a>, lists: &'a WatchLists, rules: &'a RulesConfig, out: &mut Findings<'a>) {
    if rules.enabled(RuleId::AccountStatus) {
        account::account_status(ctx, rules, out);
    }
    if rules.enabled(RuleId::ScopeUnentitled) {
        account::scope_unentitled(ctx, rules, out);
    }
    if rules.enabled(RuleId::HighProfileUninvolved) {
        high_profile::check(ctx, lists, rules, out);
    }
    if rules.enabled(RuleId::OpsecOutsider) {
        opsec::check(ctx, lists, rules, out);
    }
    if rules.enabled(RuleId::CustodyUninvolved) {
        custody::check(ctx, lists, rules, out);
    }
    personal::check(ctx, lists, rules, out);
    if rules.enabled(RuleId::PurposeMissing) {
        purpose::check(ctx, rules, out);
    }
}

/// A score from 0 to 100 that orders alerts within a severity: the severity's base,
/// raised for a strong identity match and lowered for a weak one.
pub fn score(severity: Severity, strength: Option<MatchStrength>) -> u8 {
    let adjust = match strength {
        Some(MatchStrength::Id) => 10,
        Some(MatchStrength::NameDob | MatchStrength::Vrm | MatchStrength::Postcode) => 5,
        Some(MatchStrength::Name) => -15,
        None => 0,
    };
    (severity.base_score() + adjust).clamp(1, 100) as u8
}

#[cfg(test)]
pub(crate) mod testkit {
    //! Small builders for rule tests: watch lists from JSON rows, events from JSON.
    use crate::config::Config;
    use crate::enrich::{enrich, Enriched};
    use crate::event::{json, AccessEvent};
    use crate::watchlist::rows::{read_row, JsonCells, TableName};
    use crate::watchlist::WatchLists;

    pub fn lists(rows: &[(TableName, serde_json::Value)]) -> WatchLists {
        let mut l = WatchLists::default();
        for (t, v) in rows {
            let row = read_row(*t, &JsonCells(v.as_object().unwrap())).unwrap();
            l.upsert(row);
        }
        l
    }

    /// An event at 2026-11-22T10:00:00Z by U1 on PNC; `extra` overrides fields.
    pub fn event(extra: serde_json::Value) -> AccessEvent {
        let mut base = serde_json::json!({
            "event_id": "e1", "ts": "2026-11-22T10:00:00Z", "system": "PNC",
            "user_id": "U1", "action": "view", "subject_type": "person",
        });
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        json::decode(base.to_string().as_bytes()).unwrap()
    }

    pub fn ctx<'a>(e: &'a AccessEvent, l: &'a WatchLists, c: &Config) -> Enriched<'a> {
        enrich(e, l, &c.justification)
    }

    /// The rule ids that fire for this event.
    pub fn fired(e: &AccessEvent, l: &WatchLists, c: &Config) -> Vec<&'static str> {
        let ctx = ctx(e, l, c);
        let mut out = super::Findings::new();
        super::detect(&ctx, l, &c.rules, &mut out);
        out.iter().map(|f| f.rule.as_str()).collect()
    }
}
