//! `victim.contact`: abuse of position for a sexual purpose begins with a look-up. A
//! victim of a vulnerable incident (domestic abuse, a sexual offence, a safeguarding
//! flag: the incidents list's `vulnerable` and `victims` columns) accessed by a user
//! with no documented purpose:
//!
//! - by a user who was attached to the incident (its officers, or its unit) after that
//!   attachment has ended (the incident closed more than `justification.after_close`
//!   ago): met on duty, looked up afterwards. `severity_returning`, red by default;
//! - by a user never attached to it who accessed the same victim without a purpose
//!   before, on another occasion (more than an hour and at most `repeat_within`
//!   earlier; the engine remembers: [`crate::explain::Continuations`]):
//!   `severity_repeat`, red by default;
//! - by a user never attached to it, outside their shift (or, without a rostered shift,
//!   in the force's `night`): `severity_out_of_hours`, red by default;
//! - by a user never attached to it, otherwise: the rule's `severity` (green by
//!   default: see `config/default.toml`).
//!
//! Silent for the victim's own investigators in the incident's window (they are
//! explained by the incident: [`crate::explain`]'s `victim` kind) and for any other
//! documented explanation. A declared one (an encounter, a routine) takes the severity
//! one step down; a weak name match is capped as for the other person rules.

use super::finding::{score, Explain, Finding, Findings};
use crate::alert::{RuleId, Severity, WatchlistRef};
use crate::config::RulesConfig;
use crate::enrich::Enriched;
use crate::event::SubjectType;
use crate::explain::attached;
use crate::time::{Span, Timestamp, DAY, MINUTE};
use crate::watchlist::{Incident, MatchStrength, TableName, WatchLists};
use compact_str::{format_compact, CompactString};

/// Why the access stands out.
#[derive(Debug, Clone, PartialEq)]
pub enum Contact {
    /// The user was attached to the incident; it closed this long before the access.
    Returning { since_close: Span },
    /// Never attached, and accessed this victim before without a purpose.
    Repeat { earlier: Timestamp, event_id: CompactString },
    /// Never attached, outside their hours.
    OutOfHours,
    /// Never attached.
    Unattached,
}

#[derive(Debug)]
pub struct Facts<'a> {
    pub incident: &'a Incident,
    pub strength: MatchStrength,
    pub contact: Contact,
}

pub fn check<'a>(ctx: &Enriched<'a>, lists: &'a WatchLists, rules: &RulesConfig, out: &mut Findings<'a>) {
    let e = ctx.event;
    if e.subject_type != SubjectType::Person || ctx.matches.victims.is_empty() || ctx.explanation.is_documented() {
        return;
    }
    let declared = ctx.explanation.is_explained();
    let settings = rules.settings(RuleId::VictimContact);
    let mut best: Option<(Severity, Facts<'a>)> = None;
    for &(id, strength) in &ctx.matches.victims {
        let Some(incident) = lists.victims.get(id).and_then(|v| lists.incidents.get(v.incident)) else { continue };
        // A victim only once the incident exists and is on record.
        if !incident.vulnerable || e.ts < incident.opened_at || incident.recorded_at.is_some_and(|r| r > e.ts) {
            continue;
        }
        let contact = if attached(incident, ctx.user, &e.user_id) {
            // Attached and in the window is explained (above); before it opened is
            // excluded; so this is after the attachment ended.
            let Some(closed) = incident.closed_at else { continue };
            Contact::Returning { since_close: e.ts - closed }
        } else if let Some((earlier, event_id)) = &ctx.victim_before {
            Contact::Repeat { earlier: *earlier, event_id: event_id.clone() }
        } else if out_of_hours(ctx, rules) {
            Contact::OutOfHours
        } else {
            Contact::Unattached
        };
        let mut severity = match contact {
            Contact::Returning { .. } => rules.victim_returning_severity,
            Contact::Repeat { .. } => rules.victim_repeat_severity,
            Contact::OutOfHours => rules.victim_out_of_hours_severity,
            Contact::Unattached => settings.severity,
        };
        if declared {
            severity = match severity {
                Severity::Red => Severity::Amber,
                _ => Severity::Green,
            };
        }
        let severity = settings.severity_for(severity, Some(strength), declared);
        // The most severe, then the strongest match, then the latest incident: the
        // same choice whatever order the watch lists were loaded in.
        let rank = |s: Severity, f: &Facts| (s, f.strength, f.incident.opened_at, f.incident.reference.clone());
        let candidate = Facts { incident, strength, contact: contact.clone() };
        if best.as_ref().is_none_or(|(s, f)| rank(severity, &candidate) > rank(*s, f)) {
            best = Some((severity, candidate));
        }
    }
    let Some((severity, facts)) = best else { return };
    let i = facts.incident;
    let evidence = match &facts.contact {
        Contact::Repeat { event_id, .. } => vec![event_id.clone()],
        _ => Vec::new(),
    };
    out.push(Finding {
        rule: RuleId::VictimContact,
        severity,
        score: score(severity, Some(facts.strength)),
        subject_key: format_compact!("{}:{}", TableName::Incidents, i.reference),
        watchlist: Some(WatchlistRef::new(
            TableName::Incidents,
            i.reference.clone(),
            facts.strength,
            e.ts,
            i.opened_at,
            i.recorded_at,
        )),
        release_at: None,
        evidence,
        explanation: Box::new(facts),
    });
}

/// Outside the user's rostered shift (with the out-of-hours grace), or, for a user
/// without one, in the force's night.
fn out_of_hours(ctx: &Enriched, rules: &RulesConfig) -> bool {
    let b = &rules.behaviour;
    let minute = b.timezone.minute_of_day(ctx.event.ts);
    match ctx.user.and_then(|u| u.shift) {
        Some(shift) => !shift.contains_minute(minute, (b.out_of_hours_grace.0 / MINUTE) as u16),
        None => rules.victim_night.contains_minute(minute, 0),
    }
}

impl Explain for Facts<'_> {
    fn sentence(&self, ctx: &Enriched) -> String {
        let i = self.incident;
        let kind = i.kind.as_deref().map(|k| format!(", {k}")).unwrap_or_default();
        let unit = i.unit.as_deref().map(|u| format!(" owned by {u}")).unwrap_or_default();
        let user = &ctx.event.user_id;
        let standing = match &self.contact {
            Contact::Returning { since_close } => format!(
                "{user} was attached to that incident, which closed on {}, {} days before this look-up",
                i.closed_at.map(|c| c.human()).unwrap_or_default(),
                since_close.0 / DAY
            ),
            Contact::Repeat { earlier, event_id } => format!(
                "{user} is not attached to it, and had already accessed this victim without a purpose on {} (event {event_id})",
                earlier.human()
            ),
            Contact::OutOfHours => format!("{user} is not attached to it, and this was outside their working hours"),
            Contact::Unattached => format!("{user} is not attached to it"),
        };
        format!(
            "{} {}, a victim in vulnerable incident {}{kind}{unit}; {standing}; {} ({}).",
            ctx.who(),
            ctx.what(),
            i.reference,
            ctx.why_not(),
            self.strength.phrase(),
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::alert::Severity;
    use crate::config::Config;
    use crate::detect::testkit::*;
    use crate::detect::Findings;
    use crate::watchlist::TableName::*;
    use crate::watchlist::WatchLists;
    use serde_json::json;

    /// A domestic-abuse incident worked by U5 (PPU), closed on 1 October; its victim
    /// Jane Doe. U1 is in Response, on the early shift.
    fn da_case() -> WatchLists {
        lists(&[
            (
                Incidents,
                json!({"reference": "DA-1", "kind": "domestic abuse", "opened_at": "2026-09-01T10:00:00Z",
                       "closed_at": "2026-10-01T10:00:00Z", "unit": "PPU", "officers": "U5",
                       "victims": "DOE, Jane 1995-03-04; 01/123456X", "vulnerable": "true"}),
            ),
            (
                Incidents,
                json!({"reference": "BURG-1", "kind": "burglary", "opened_at": "2026-09-01T10:00:00Z",
                       "unit": "CID", "officers": "U1", "victims": "SMITH, Ann 1960-01-01"}),
            ),
            (Staff, json!({"user_id": "U1", "unit": "Response", "shift": "07:00-15:00"})),
            (Staff, json!({"user_id": "U5", "unit": "PPU"})),
            (Staff, json!({"user_id": "U6", "unit": "PPU"})),
        ])
    }

    fn severity(l: &WatchLists, fields: serde_json::Value) -> Option<Severity> {
        let c = Config::defaults();
        let e = event(fields);
        let ctx = ctx(&e, l, &c);
        let mut out = Findings::new();
        super::check(&ctx, l, &c.rules, &mut out);
        out.first().map(|f| f.severity)
    }

    #[test]
    fn returning_after_the_case_closed_is_red() {
        let l = da_case();
        // 2026-11-22 is 52 days after the close: outside the 30-day window.
        let back = json!({"user_id": "U5", "subject_name": "Jane Doe", "subject_dob": "1995-03-04"});
        assert_eq!(severity(&l, back), Some(Severity::Red));
        // The same officer while the case was open (and its window after) is explained.
        let during = json!({"user_id": "U5", "ts": "2026-09-10T10:00:00Z", "subject_id": "01/123456X"});
        assert_eq!(severity(&l, during), None);
        // So is a colleague of the owning unit.
        let unit = json!({"user_id": "U6", "ts": "2026-10-20T10:00:00Z", "subject_id": "01/123456X"});
        assert_eq!(severity(&l, unit), None);
    }

    #[test]
    fn unattached_is_green_on_shift_red_off_shift() {
        let l = da_case();
        let on = json!({"user_id": "U1", "subject_id": "01/123456X"});
        assert_eq!(severity(&l, on), Some(Severity::Green));
        let night = json!({"user_id": "U1", "ts": "2026-11-22T23:30:00Z", "subject_id": "01/123456X"});
        assert_eq!(severity(&l, night), Some(Severity::Red));
        // Unknown to the staff list: the force's night counts.
        let stranger = json!({"user_id": "U99", "ts": "2026-11-22T02:00:00Z", "subject_id": "01/123456X"});
        assert_eq!(severity(&l, stranger), Some(Severity::Red));
    }

    #[test]
    fn silent_for_incidents_not_flagged_vulnerable_and_before_the_incident() {
        let l = da_case();
        let burglary_victim = json!({"user_id": "U6", "subject_name": "Ann Smith", "subject_dob": "1960-01-01"});
        assert_eq!(severity(&l, burglary_victim), None);
        let before = json!({"user_id": "U1", "ts": "2026-08-01T10:00:00Z", "subject_id": "01/123456X"});
        assert_eq!(severity(&l, before), None);
        // A vehicle with the same record id is not the person.
        let vehicle = json!({"user_id": "U1", "subject_type": "vehicle", "subject_id": "01/123456X"});
        assert_eq!(severity(&l, vehicle), None);
    }

    #[test]
    fn a_documented_purpose_silences_and_a_weak_match_is_capped() {
        let l = da_case();
        // U1 attached to BURG-1 gives it as reference: documented.
        let justified = json!({"user_id": "U1", "subject_id": "01/123456X", "reference": "BURG-1"});
        assert_eq!(severity(&l, justified), None);
        // Name only, no date of birth: capped at amber by default.
        let weak = json!({"user_id": "U5", "subject_name": "DOE, Jane"});
        assert_eq!(severity(&l, weak), Some(Severity::Amber));
    }

    #[test]
    fn the_sentence_says_what_the_officer_was_to_the_case() {
        let c = Config::defaults();
        let l = da_case();
        let e = event(json!({"user_id": "U5", "subject_name": "Jane Doe", "subject_dob": "1995-03-04"}));
        let ctx = ctx(&e, &l, &c);
        let mut out = Findings::new();
        super::check(&ctx, &l, &c.rules, &mut out);
        let s = out[0].explanation.sentence(&ctx);
        assert!(s.contains("a victim in vulnerable incident DA-1, domestic abuse owned by PPU"), "{s}");
        assert!(s.contains("U5 was attached to that incident, which closed on"), "{s}");
        assert!(s.contains("52 days before this look-up"), "{s}");
        assert!(s.contains("gave no reference"), "{s}");
    }
}
