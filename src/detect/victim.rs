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
//!   `severity_repeat`, red by default (an earlier access with a purpose on record
//!   for other work makes a repeat only of another such, green);
//! - by a user never attached to it, outside their shift (or, without a rostered shift,
//!   in the force's `night`): `severity_out_of_hours`, red by default;
//! - by a user never attached to it, otherwise: the rule's `severity` (green by
//!   default: see `config/default.toml`).
//!
//! Silent for the victim's own investigators in the window of any of her incidents
//! (they are explained by the incident: [`crate::explain`]'s `victim` kind, or they
//! are attached to it, or give its reference) and for a custody record, case team or
//! operation team naming the person. Any other purpose on record (a reference to
//! other work, an encounter, a routine) lets a single in-hours access be and takes
//! the rest one step down (a repeat to green): quoting one's own unrelated incident
//! does not make a return to a victim legitimate. Her own incident's reference given
//! by a user not attached to it takes it one step down but is never let be (and a
//! second occasion is a repeat). For a user without a rostered shift, an access that
//! a reference to an incident opened in the last 12 hours justifies is not out of
//! hours (they are at work), nor one made with three others over at least 20 minutes
//! of the two hours before it. A search (`action` search) that found nothing
//! (`result_count` 0), or a look-up under her own missing-person incident's reference
//! in its window, is green at most; the incident's own officers and unit are not
//! judged when they find her by name alone (unless another victim link is surely her).
//! A weak name match is capped as for the other person rules.

use super::finding::{score, Explain, Finding, Findings};
use crate::alert::{RuleId, Severity, WatchlistRef};
use crate::config::RulesConfig;
use crate::enrich::{Enriched, Justification};
use crate::explain::Kind;
use crate::time::{Span, Timestamp, DAY, HOUR, MINUTE};
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

pub fn check<'a>(ctx: &Enriched<'a>, _lists: &'a WatchLists, rules: &RulesConfig, out: &mut Findings<'a>) {
    let e = ctx.event;
    // Silent for the victim's own investigators (kind `victim`) and for a custody
    // record, case team or operation team that names this very person. A reference
    // to some other incident of the user's is not a purpose for this victim.
    // Her own investigators: attached to any of her incidents in its window (by name
    // or unit: not explained by name alone, still theirs), or giving the reference of
    // one that justifies the access. An older case of hers they return to is not
    // judged while they work a current one; a link by name alone is not surely her.
    if !judged(ctx) {
        return;
    }
    // A purpose on record for other work (a reference), or declared (an encounter, a
    // routine): a single in-hours access is let be; the rest one step down. Her own
    // incident's reference given by a user not attached to it (a search for a missing
    // person) takes it one step down too, but is never let be: the number is on the
    // record the user is looking at, and the access is remembered, so that a second
    // occasion is a repeat.
    let some_purpose = ctx.explanation.is_explained();
    let quotes_hers = matches!(&ctx.justification,
        Justification::NotLinked(i) if ctx.victims.iter().any(|l| l.incident.reference == i.reference));
    // For a user without a rostered shift, a reference to an incident opened in the
    // last hours that justifies the access shows them at work, whatever the hour
    // (response teams on a rota leave `shift` empty, and attend what has just come in).
    let rostered = ctx.user.is_some_and(|u| u.shift.is_some());
    let on_duty = !rostered
        && matches!(&ctx.justification, Justification::Justified(i)
            if e.ts.0 >= i.opened_at.0 - HOUR && e.ts.0 - i.opened_at.0 <= ATTENDING.0);
    let found_nothing = e.action == crate::event::Action::Search && e.result_count == Some(0);
    // The missing-person incident quoted, whose victim this access may be: only her
    // link is taken down (a review: the quoted number of a missing child who shares a
    // name with another victim took a sure look-up of the other one down too), and a
    // match by name alone only while no link is sure.
    let sure = ctx.victims.iter().any(|l| !l.strength.is_weak());
    let missing = match &ctx.justification {
        Justification::NotLinked(i) if i.is_missing_person() => Some(&i.reference),
        _ => None,
    };
    // The missing child surely found: her namesakes matched by name alone are not
    // judged beside her (a review: every searching officer amber out of hours).
    let child_sure = missing.is_some_and(|r| {
        ctx.victims.iter().any(|l| l.in_window && l.incident.reference == *r && !l.strength.is_weak())
    });
    let settings = rules.settings(RuleId::VictimContact);
    let mut best: Option<(Severity, Facts<'a>)> = None;
    for link in &ctx.victims {
        // Her own case's link is not what is judged (a namesake of another unit's
        // victim, matched by name alone, is).
        if (link.attached && link.in_window) || (child_sure && link.strength.is_weak()) {
            continue;
        }
        let incident = link.incident;
        let missing_search =
            link.in_window && missing.is_some_and(|r| *r == incident.reference) && (!sure || !link.strength.is_weak());
        let contact = match incident.closed_at {
            // Named on the case, and past its window: met on duty, looked up after.
            Some(closed) if link.named && e.ts > closed => Contact::Returning { since_close: e.ts - closed },
            // A repeat of an access without a purpose; one with a purpose for other
            // work is a repeat only of another such (a detective's own case touching
            // her, the reference forgotten once, is judged as that one access).
            _ => match &ctx.victim_before {
                Some(v) if !v.purpose || some_purpose => {
                    Contact::Repeat { earlier: v.ts, event_id: v.event_id.clone() }
                }
                _ if !on_duty && out_of_hours(ctx, rules) => Contact::OutOfHours,
                _ => Contact::Unattached,
            },
        };
        if some_purpose && contact == Contact::Unattached {
            continue; // once, in hours, with a purpose on record for other work
        }
        let mut severity = match contact {
            Contact::Returning { .. } => rules.victim_returning_severity,
            Contact::Repeat { .. } => rules.victim_repeat_severity,
            Contact::OutOfHours => rules.victim_out_of_hours_severity,
            Contact::Unattached => settings.severity,
        };
        if some_purpose || quotes_hers {
            severity = match severity {
                // A repeat with a purpose on record for other work each time is green:
                // recorded, and adding to the user's risk, for a pattern (one's own
                // incident quoted every day), not each one triaged (on the bench force,
                // amber doubled the red and amber false alerts: officers whose cases
                // touch a victim of another team's).
                Severity::Red if some_purpose && matches!(contact, Contact::Repeat { .. }) => Severity::Green,
                Severity::Red => Severity::Amber,
                _ => Severity::Green,
            };
        }
        // A search that found nothing showed no record: green at most, as for custody
        // (an evaluator: a control-room check that found nothing was a red repeat). So
        // is a look-up under her own missing-person incident, in its window: the whole
        // force searches for a missing child (an evaluator: 79 red and amber alerts of
        // shifts searching, on every occasion and off their learned hours).
        if found_nothing || missing_search {
            severity = severity.min(Severity::Green);
        }
        let strength = link.strength;
        let severity = settings.severity_for(severity, Some(strength), some_purpose || quotes_hers);
        // The most severe, then the strongest match; the links come latest incident
        // first, whatever order the watch lists were loaded in.
        let candidate = Facts { incident, strength, contact };
        if best.as_ref().is_none_or(|(s, f)| (severity, strength) > (*s, f.strength)) {
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

/// Whether the rule judges an access to a victim: not by her own investigators (see
/// [`check`]), nor under a custody record, case team or operation team naming her.
/// Every such access is remembered, explained or not, so that a later one is a repeat
/// (quoting one's own unrelated incident each day does not make each day the first).
pub fn judged(ctx: &Enriched) -> bool {
    // Matched by name alone, the case is still theirs unless another victim link is
    // surely the person (an evaluator: the owning team's own name-only search of
    // their victim was amber, "not attached to it"), or unless the name is also
    // another unit's victim's (a review: a public-protection officer's search of
    // `SMITH, Jane` found her own victim and CID's namesake, and went unjudged): then
    // the other victim is judged, unless the user quoted her own case's number.
    let sure = ctx.victims.iter().any(|l| !l.strength.is_weak());
    let quoted = |l: &crate::explain::VictimLink| matches!(&ctx.justification, Justification::Justified(j) if j.reference == l.incident.reference);
    let own_case = ctx.explanation.effective_kind() == Some(Kind::Victim)
        || if sure {
            ctx.victims.iter().any(|l| !l.strength.is_weak() && ((l.attached && l.in_window) || quoted(l)))
        } else {
            // Her own current case, and any other link hers too (an older case of hers,
            // closed: a review); a namesake of another unit's is not.
            ctx.victims.iter().any(quoted)
                || (ctx.victims.iter().any(|l| l.attached && l.in_window) && ctx.victims.iter().all(|l| l.attached))
        };
    !ctx.victims.is_empty() && !own_case && !ctx.explanation.is_about_subject()
}

/// How long after an incident is opened a user justified by it is taken to be at work
/// on it: about a shift.
const ATTENDING: Span = Span(12 * HOUR);

/// Outside the user's rostered shift (with the out-of-hours grace); for a user without
/// one, outside the hours the behavioural state has learned they work, or, before it
/// has, in the force's night (an evaluator: a response officer on three weeks of
/// nights with no roster was red at 02:27, 21 such false alerts on a 25-day force).
fn out_of_hours(ctx: &Enriched, rules: &RulesConfig) -> bool {
    let b = &rules.behaviour;
    let minute = b.timezone.minute_of_day(ctx.event.ts);
    match (ctx.user.and_then(|u| u.shift), ctx.usual_hour) {
        (Some(shift), _) => !shift.contains_minute(minute, (b.out_of_hours_grace.0 / MINUTE) as u16),
        (None, Some(usual)) => !usual,
        (None, None) => rules.victim_night.contains_minute(minute, 0),
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
                "{user} is not attached to it, and had already looked this victim up, not on the victim's case, on {} (event {event_id})",
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
        lists(&da_rows())
    }

    fn da_rows() -> Vec<(crate::watchlist::TableName, serde_json::Value)> {
        vec![
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
        ]
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
    fn a_reference_to_other_work_lowers_it_and_a_weak_match_is_capped() {
        let l = da_case();
        // U1 gives BURG-1, their own incident: a purpose for that work, not for DA-1's
        // victim. One step down, not silent: red off shift becomes amber.
        let other =
            json!({"user_id": "U1", "ts": "2026-11-22T23:30:00Z", "subject_id": "01/123456X", "reference": "BURG-1"});
        assert_eq!(severity(&l, other), Some(Severity::Amber));
        // The victim's own case's reference, by its officer in its window: silent.
        let own =
            json!({"user_id": "U5", "ts": "2026-09-10T10:00:00Z", "subject_id": "01/123456X", "reference": "DA-1"});
        assert_eq!(severity(&l, own), None);
        // Name only, no date of birth: capped at amber by default.
        let weak = json!({"user_id": "U5", "subject_name": "DOE, Jane"});
        assert_eq!(severity(&l, weak), Some(Severity::Amber));
    }

    #[test]
    fn only_named_officers_return_and_a_victim_link_explains_nothing_else() {
        let l = da_case();
        // U6 of the owning unit, not named on DA-1, after its window: judged as anyone.
        let u6 = json!({"user_id": "U6", "subject_id": "01/123456X"});
        assert_eq!(severity(&l, u6), Some(Severity::Green));
        // The owning unit is explained for a victim, and for nothing else: a high-profile
        // person who is also a victim still needs the case team.
        let l = lists(&[
            (
                HighProfile,
                json!({"entry_id": "HP-1", "subject_name": "STAR, Ann", "subject_dob": "1980-01-01",
                       "category": "celebrity", "added_at": "2026-11-01T00:00:00Z"}),
            ),
            (
                Incidents,
                json!({"reference": "SO-9", "opened_at": "2026-11-20T00:00:00Z", "unit": "CID",
                       "victims": "STAR, Ann 1980-01-01", "vulnerable": "true"}),
            ),
            (Staff, json!({"user_id": "U7", "unit": "CID"})),
        ]);
        let e = event(json!({"user_id": "U7", "subject_name": "Ann Star", "subject_dob": "1980-01-01"}));
        let c = Config::defaults();
        assert_eq!(ctx(&e, &l, &c).explanation.kind(), Some(crate::explain::Kind::Victim));
        assert_eq!(fired(&e, &l, &c), vec!["high_profile.uninvolved"]);
    }

    /// Found by a probe with a force of ordinary work: an officer on a victim's current
    /// case was judged on her older one; a night officer with no rostered shift, at
    /// their own justified job, was "outside their working hours"; a search for a
    /// missing person under her own incident's reference was red at the second look.
    #[test]
    fn her_current_case_her_own_reference_and_a_rota_on_nights() {
        let mut rows = da_rows();
        rows.extend([
            (
                Incidents,
                json!({"reference": "DA-2", "kind": "domestic abuse", "opened_at": "2026-11-22T08:00:00Z",
                       "unit": "Response B", "officers": "U5", "victims": "01/123456X", "vulnerable": "true"}),
            ),
            (
                Incidents,
                json!({"reference": "THEFT-1", "kind": "theft", "opened_at": "2026-11-22T22:30:00Z",
                       "unit": "Response C"}),
            ),
            (Staff, json!({"user_id": "U2", "unit": "Response C"})),
            (Staff, json!({"user_id": "U3", "unit": "Response D"})),
        ]);
        let l = lists(&rows);
        // U5 returns to DA-1's victim (closed 52 days ago) while on her current case DA-2.
        let current = json!({"user_id": "U5", "subject_id": "01/123456X", "reference": "DA-2"});
        assert_eq!(severity(&l, current), None);
        let current = json!({"user_id": "U5", "subject_id": "01/123456X"});
        assert_eq!(severity(&l, current), None, "named on DA-2, in its window");
        // U2 (no shift) at 23:00 on their own theft: not out of hours; without it, red.
        let night = json!({"user_id": "U2", "ts": "2026-11-22T23:00:00Z", "subject_id": "01/123456X"});
        assert_eq!(severity(&l, night.clone()), Some(Severity::Red));
        let mut at_work = night;
        at_work["reference"] = json!("THEFT-1");
        assert_eq!(severity(&l, at_work), None);
        // U3, not attached, gives her own incident's reference: a purpose stated for her
        // (one step down), where none at all is red at night.
        let search = json!({"user_id": "U3", "ts": "2026-11-22T23:00:00Z", "subject_id": "01/123456X",
                            "reference": "DA-2"});
        assert_eq!(severity(&l, search), Some(Severity::Amber));
        let search = json!({"user_id": "U3", "ts": "2026-11-22T13:00:00Z", "subject_id": "01/123456X",
                            "reference": "DA-2"});
        assert_eq!(severity(&l, search), Some(Severity::Green), "once, in hours: recorded, never let be");
        // An incident of U2's unit opened days before is no sign of being at work at night.
        let stale = json!({"user_id": "U2", "ts": "2026-11-25T02:00:00Z", "subject_id": "01/123456X",
                           "reference": "THEFT-1"});
        assert_eq!(severity(&l, stale), Some(Severity::Amber));
    }

    /// A user with no roster is judged by the hours the behavioural state has learned
    /// they work (the engine sets `usual_hour`), the force's night only before that
    /// (an evaluator: response officers on weeks of nights were red at 02:27).
    #[test]
    fn a_user_without_a_roster_is_judged_by_the_hours_they_work() {
        let mut rows = da_rows();
        rows.push((Staff, json!({"user_id": "U2", "unit": "Response C"})));
        let l = lists(&rows);
        let c = Config::defaults();
        let e = event(json!({"user_id": "U2", "ts": "2026-11-22T02:27:00Z", "subject_id": "01/123456X"}));
        let judged = |usual: Option<bool>| {
            let mut cx = ctx(&e, &l, &c);
            cx.usual_hour = usual;
            let mut out = Findings::new();
            super::check(&cx, &l, &c.rules, &mut out);
            out.first().map(|f| f.severity)
        };
        assert_eq!(judged(Some(true)), Some(Severity::Green), "learned to work nights");
        assert_eq!(judged(Some(false)), Some(Severity::Red), "an hour they never work");
        assert_eq!(judged(None), Some(Severity::Red), "not learned yet: the force's night");
    }

    /// An evaluator's force at scale: the owning unit's own search of their victim by
    /// name alone was amber ("not attached to it"), and a shift searching for a missing
    /// child under her incident's number was red and amber on every occasion.
    #[test]
    fn her_own_team_by_name_and_a_search_for_a_missing_child_are_not_triaged() {
        let mut rows = da_rows();
        rows.push((
            Incidents,
            json!({"reference": "MP-7", "kind": "missing person", "opened_at": "2026-11-22T01:00:00Z",
                   "unit": "Response C", "victims": "BENNETT, Lily 2012-05-05", "vulnerable": "true"}),
        ));
        let l = lists(&rows);
        let by_name = json!({"user_id": "U6", "ts": "2026-09-10T10:00:00Z", "action": "search", "subject_name": "DOE, Jane", "result_count": 1});
        assert_eq!(severity(&l, by_name), None, "U6 is of PPU, which owns DA-1, in its window");
        let search = json!({"user_id": "U1", "ts": "2026-11-22T23:30:00Z", "action": "search", "result_count": 1,
                            "subject_name": "bennett/lily", "reference": "MP-7"});
        assert_eq!(severity(&l, search.clone()), Some(Severity::Green), "off shift, not attached: recorded");
        let mut dated = search;
        dated["subject_name"] = json!("BENNETT, Lily");
        dated["subject_dob"] = json!("2012-05-05");
        assert_eq!(severity(&l, dated), Some(Severity::Green));
    }

    /// A review: a name the user's own victim shares with another unit's victim is
    /// judged for the other one (a public-protection officer's search of `DOE, Jane`
    /// found CID's namesake too, and went unjudged); a missing child's number quoted
    /// on a sure look-up of another victim of her name takes only the child's link
    /// down (it had made the look-up of the other victim green).
    #[test]
    fn a_namesake_of_her_own_victim_is_judged_and_a_missing_childs_number_covers_only_her() {
        let mut rows = da_rows();
        rows.extend([
            (
                Incidents,
                json!({"reference": "DA-7", "kind": "domestic abuse", "opened_at": "2026-09-05T10:00:00Z",
                       "unit": "CID", "victims": "DOE, Jane 1988-07-07", "vulnerable": "true"}),
            ),
            (
                Incidents,
                json!({"reference": "MP-9", "kind": "missing person", "opened_at": "2026-09-09T10:00:00Z",
                       "unit": "Response C", "victims": "DOE, Jane 2012-01-01", "vulnerable": "true"}),
            ),
        ]);
        let l = lists(&rows);
        let c = Config::defaults();
        let judged = |fields: serde_json::Value| {
            let e = event(fields);
            let cx = ctx(&e, &l, &c);
            let mut out = Findings::new();
            super::check(&cx, &l, &c.rules, &mut out);
            out.first().map(|f| (f.severity, f.subject_key.to_string()))
        };
        let by_name = json!({"user_id": "U6", "ts": "2026-09-10T23:00:00Z", "action": "search",
                             "subject_name": "DOE, Jane", "result_count": 3});
        let (_, about) = judged(by_name.clone()).expect("the namesakes are judged");
        assert_ne!(about, "incidents:DA-1", "not her own case's victim");
        assert_eq!(judged(merged(by_name, json!({"reference": "DA-1"}))), None, "her own case's number: hers");
        let sure = json!({"user_id": "U1", "ts": "2026-09-10T23:30:00Z", "subject_id": "01/123456X",
                          "subject_name": "DOE, Jane", "reference": "MP-9"});
        assert_eq!(judged(sure), Some((Severity::Amber, "incidents:DA-1".to_string())));

        // Her officer's current case and her older, closed one both hers, found by her
        // name alone: not judged (a review: the closed one was judged as a return once
        // every link had to be in its window).
        let mut rows = da_rows();
        rows.push((
            Incidents,
            json!({"reference": "DA-3", "kind": "domestic abuse", "opened_at": "2026-11-20T10:00:00Z",
                   "unit": "PPU", "officers": "U5", "victims": "DOE, Jane 1995-03-04", "vulnerable": "true"}),
        ));
        let l = lists(&rows);
        let by_name = json!({"user_id": "U5", "ts": "2026-11-22T10:00:00Z", "subject_name": "DOE, Jane"});
        assert_eq!(severity(&l, by_name), None);
    }

    /// A control-room check that found nothing was a red repeat (an evaluator).
    #[test]
    fn a_search_that_found_nothing_is_green_at_most() {
        let l = da_case();
        let nothing = json!({"user_id": "U1", "ts": "2026-11-22T21:16:00Z", "action": "search", "result_count": 0,
                             "subject_name": "DOE, Jane", "subject_dob": "1995-03-04"});
        assert_eq!(severity(&l, nothing.clone()), Some(Severity::Green));
        assert_eq!(severity(&l, merged(nothing, json!({"result_count": 1}))), Some(Severity::Red));
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
