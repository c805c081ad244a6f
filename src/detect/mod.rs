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
//! | [`opsec`] | `opsec.outsider` |
//! | [`account`] | `account.status`, `scope.unentitled` |
//! | [`victim`] | `victim.contact` |
//!
//! Whether an access had a purpose is decided before the rules, by
//! [`crate::explain`]; a rule reads `ctx.explanation`. An access without one is not an
//! alert by itself: the stateful rules (`behaviour.*`, and the peer comparison that
//! raises `purpose.missing` about a user whose unexplained share stands out) live in
//! [`crate::behaviour`] and run after these.

pub mod account;
pub mod allow;
pub mod custody;
pub mod finding;
pub mod high_profile;
pub mod opsec;
pub mod personal;
pub mod victim;

pub use finding::{score, Explain, Finding, Findings};

use crate::alert::RuleId;
use crate::config::RulesConfig;
use crate::enrich::Enriched;
use crate::watchlist::WatchLists;

/// Runs every enabled watch-list rule over one event.
pub fn detect<'a>(ctx: &Enriched<'a>, lists: &'a WatchLists, rules: &'a RulesConfig, out: &mut Findings<'a>) {
    if rules.enabled(RuleId::AccountStatus) {
        account::account_status(ctx, rules, out);
    }
    if rules.enabled(RuleId::ScopeUnentitled) {
        account::scope_unentitled(ctx, rules, out);
    }
    if rules.enabled(RuleId::HighProfileUninvolved) {
        let from = out.len();
        high_profile::check(ctx, lists, rules, out);
        one_guess_per_access(out, from);
    }
    if rules.enabled(RuleId::OpsecOutsider) {
        opsec::check(ctx, lists, rules, out);
    }
    if rules.enabled(RuleId::CustodyUninvolved) {
        let from = out.len();
        custody::check(ctx, lists, rules, out);
        one_guess_per_access(out, from);
    }
    personal::check(ctx, lists, rules, out);
    if rules.enabled(RuleId::VictimContact) {
        victim::check(ctx, lists, rules, out);
    }
}

/// Among one rule's findings from `from` on (one access's matches in one list): a
/// name alone is a guess at who was looked up. Only the most severe guess is kept, and
/// not even that one beside a record matched by id or by name and date of birth at the
/// same severity or above (a date of birth typed to match a released namesake must not
/// hide the red guess at a person in custody). A search for `SMITH, John` with five
/// John Smiths in custody is one alert, not five (one per (rule, user, subject), and
/// the subject is the one searched for). Judging an alert again ([`rejudge`]) looks at
/// every match, so the guess kept here is still found there.
pub(crate) fn one_guess_per_access(out: &mut Findings, from: usize) {
    let weak = |f: &finding::Finding| f.watchlist.as_ref().is_some_and(|w| w.strength.is_weak());
    if out.len() - from < 2 || !out[from..].iter().any(weak) {
        return;
    }
    let strongest = out[from..].iter().filter(|f| !weak(f)).map(|f| f.severity).max();
    // The most severe guess, the first of equals.
    let guess = (from..out.len())
        .filter(|&i| weak(&out[i]))
        .reduce(
            |best, i| if (out[i].severity, out[i].score) > (out[best].severity, out[best].score) { i } else { best },
        )
        .filter(|&i| strongest.is_none_or(|s| out[i].severity > s));
    let mut index = 0;
    out.retain(|f| {
        let kept = index < from || !weak(f) || Some(index) == guess;
        index += 1;
        kept
    });
}

/// Whether a late explanation can answer the rule's alerts: the watch-list rules whose
/// silence depends on who the user is to the subject.
pub fn resolvable(rule: RuleId) -> bool {
    matches!(
        rule,
        RuleId::HighProfileUninvolved
            | RuleId::CustodyUninvolved
            | RuleId::AssociateLookup
            | RuleId::ColleagueLookup
            | RuleId::NeighbourLookup
            | RuleId::OpsecOutsider
            | RuleId::VictimContact
    )
}

/// The findings of one rule over an event, judged again with what the watch lists say
/// now (a late explanation may have arrived).
pub fn rejudge<'a>(rule: RuleId, ctx: &Enriched<'a>, lists: &'a WatchLists, rules: &'a RulesConfig) -> Findings<'a> {
    let mut out = Findings::new();
    match rule {
        RuleId::HighProfileUninvolved => high_profile::check(ctx, lists, rules, &mut out),
        RuleId::OpsecOutsider => opsec::check(ctx, lists, rules, &mut out),
        RuleId::CustodyUninvolved => custody::check(ctx, lists, rules, &mut out),
        RuleId::AssociateLookup | RuleId::ColleagueLookup | RuleId::NeighbourLookup => {
            personal::check(ctx, lists, rules, &mut out)
        }
        RuleId::VictimContact => victim::check(ctx, lists, rules, &mut out),
        _ => {}
    }
    out.retain(|f| f.rule == rule);
    out
}

#[cfg(test)]
pub(crate) mod testkit {
    //! Small builders for rule tests: watch lists from JSON rows, events from JSON.
    use crate::config::Config;
    use crate::enrich::{enrich, Enriched};
    use crate::event::{json, AccessEvent};
    use crate::watchlist::read::{read_row, JsonCells};
    use crate::watchlist::TableName;
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

    /// `base` with the fields of `extra` over it.
    pub fn merged(mut base: serde_json::Value, extra: serde_json::Value) -> serde_json::Value {
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        base
    }

    pub fn ctx<'a>(e: &'a AccessEvent, l: &'a WatchLists, c: &Config) -> Enriched<'a> {
        enrich(e, l, &c.explanation)
    }

    /// The rule ids that fire for this event.
    pub fn fired(e: &AccessEvent, l: &WatchLists, c: &Config) -> Vec<&'static str> {
        let ctx = ctx(e, l, c);
        let mut out = super::Findings::new();
        super::detect(&ctx, l, &c.rules, &mut out);
        out.iter().map(|f| f.rule.as_str()).collect()
    }
}
