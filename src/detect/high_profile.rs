//! `high_profile.uninvolved`: a person on the high-profile list accessed by a user
//! outside the entry's case team (and with no other explanation about this very
//! person: their custody record, an operation's team), at or after `added_at` minus
//! the look-back. A reference alone does not answer it: any incident can be cited. Accesses
//! made before the entry was added are retrospective: the alert is raised when the
//! clock reaches `added_at` ("who looked this person up before the story broke?").

use super::finding::{score, Explain, Finding, Findings};
use crate::alert::RuleId;
use crate::alert::WatchlistRef;
use crate::config::RulesConfig;
use crate::enrich::Enriched;
use crate::watchlist::{HighProfileEntry, MatchStrength, TableName, WatchLists};
use compact_str::format_compact;

#[derive(Debug)]
pub struct Facts<'a> {
    pub entry: &'a HighProfileEntry,
    pub strength: MatchStrength,
    /// The custody record whose own number the access gave, entering this detention.
    pub detention: Option<&'a str>,
}

pub fn check<'a>(ctx: &Enriched<'a>, lists: &'a WatchLists, rules: &RulesConfig, out: &mut Findings<'a>) {
    // The case team, and anyone whose custody record or operation names this person
    // (the custody sergeant booking a celebrity in), has their purpose on record.
    if ctx.person.is_empty() || ctx.explanation.is_about_subject() {
        return;
    }
    let ts = ctx.event.ts;
    let settings = rules.settings(RuleId::HighProfileUninvolved);
    for &(id, strength) in &ctx.matches.high_profile {
        let Some(entry) = lists.high_profile.get(id) else { continue };
        if entry.case_team.contains(&ctx.event.user_id)
            || ts < entry.added_at - rules.high_profile_lookback
            || entry.expires_at.is_some_and(|end| ts >= end)
        {
            continue;
        }
        // The arrest entered under the person's own custody number by a routine the
        // force declared for it (the PNC bureau's) is recorded green, as the custody
        // rule records it: every high-profile arrest had one red alert for the bureau.
        // By anyone else, amber: an update under the number needs a look, not a red.
        let detention = super::custody::entering_detention(ctx, lists, rules);
        let severity = match detention {
            Some(_) if ctx.explanation.effective_kind() == Some(crate::explain::Kind::Routine) => {
                crate::alert::Severity::Green
            }
            Some(_) => crate::alert::Severity::Amber,
            None => settings.severity_for(settings.severity, Some(strength), ctx.explanation.is_explained()),
        };
        out.push(Finding {
            rule: RuleId::HighProfileUninvolved,
            severity,
            score: score(severity, Some(strength)),
            subject_key: format_compact!("high_profile:{}", entry.entry_id),
            watchlist: Some(WatchlistRef::new(
                TableName::HighProfile,
                entry.entry_id.clone(),
                strength,
                ts,
                entry.added_at,
                entry.recorded_at,
            )),
            release_at: (ts < entry.added_at).then_some(entry.added_at),
            evidence: Vec::new(),
            explanation: Box::new(Facts { entry, strength, detention: detention.map(|r| r.custody_ref.as_str()) }),
        });
    }
}

impl Explain for Facts<'_> {
    fn sentence(&self, ctx: &Enriched) -> String {
        sentence(self, ctx)
    }
}

fn sentence(f: &Facts, ctx: &Enriched) -> String {
    let mut s = sentence_of_entry(f, ctx);
    if let Some(r) = f.detention {
        s.pop();
        s.push_str(&format!("; the reference given is custody record {r}, that person's own detention."));
    } else if ctx.explanation.is_explained() {
        // What the investigator must know before calling the officer in: the access had
        // a purpose on record, only not one about this person.
        s.pop();
        s.push_str(&format!(
            "; the access is {}, which does not answer for a person on the high-profile list.",
            ctx.explanation.phrase()
        ));
    }
    s
}

fn sentence_of_entry(f: &Facts, ctx: &Enriched) -> String {
    let e = f.entry;
    let entry = format!("entry {}: {}, {}", e.entry_id, e.person.describe(), e.category.as_str());
    let user = &ctx.event.user_id;
    if ctx.event.ts < e.added_at {
        let gap = crate::time::Span(e.added_at.0 - ctx.event.ts.0);
        format!(
            "{} {} {} before that person was put on the high-profile list ({entry}, added {}); {user} is not on the case team ({}).",
            ctx.who(),
            ctx.what(),
            gap.human(),
            e.added_at.human(),
            f.strength.phrase()
        )
    } else {
        format!(
            "{} {}, who is on the high-profile list ({entry}, added {}); {user} is not on the case team ({}).",
            ctx.who(),
            ctx.what(),
            e.added_at.human(),
            f.strength.phrase()
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::detect::testkit::*;
    use crate::detect::Findings;
    use crate::watchlist::TableName::*;
    use serde_json::json;

    fn star() -> crate::watchlist::WatchLists {
        lists(&[(
            HighProfile,
            json!({"entry_id": "HP1", "subject_id": "99/123A", "subject_name": "STAR, Ann", "subject_dob": "1985-03-04",
                   "category": "celebrity", "added_at": "2026-11-22T08:00:00Z", "case_team": ["U7"]}),
        )])
    }

    /// The arrest entered under the person's own custody number by the bureau's
    /// routine is recorded green (an evaluator's probe: red for the PNC bureau at every
    /// high-profile arrest), by anyone else amber; a view under it, or an update under
    /// another number, stays red.
    #[test]
    fn an_update_under_the_persons_own_custody_number_is_green() {
        let routine = "[[explanation.routines]]\nname = \"bureau\"\nunits = [\"PNC Bureau\"]\nactions = [\"update\", \"create\"]\n";
        let c = Config::from_toml("r.toml", routine).unwrap();
        let mut l = star();
        l.upsert(
            crate::watchlist::read::read_row(
                Staff,
                &crate::watchlist::read::JsonCells(json!({"user_id": "U1", "unit": "PNC Bureau"}).as_object().unwrap()),
            )
            .unwrap(),
        );
        l.upsert(
            crate::watchlist::read::read_row(
                Custody,
                &crate::watchlist::read::JsonCells(
                    json!({"custody_ref": "RS/1", "subject_id": "99/123A",
                "suite": "Riverside", "arrested_at": "2026-11-22T06:00:00Z", "officers": ["U9"]})
                    .as_object()
                    .unwrap(),
                ),
            )
            .unwrap(),
        );
        let severity_of = |user: &str, action: &str, reference: &str| {
            let e = event(json!({"user_id": user, "subject_id": "99/123A", "action": action, "reference": reference}));
            let mut out = Findings::new();
            let cx = ctx(&e, &l, &c);
            super::check(&cx, &l, &c.rules, &mut out);
            out.iter()
                .find(|f| f.rule == crate::alert::RuleId::HighProfileUninvolved)
                .map(|f| (f.severity, f.explanation.sentence(&cx)))
        };
        let severity = |action: &str, reference: &str| severity_of("U1", action, reference);
        let (green, sentence) = severity("update", "rs 1").unwrap();
        assert_eq!(green, crate::alert::Severity::Green);
        assert!(
            sentence.ends_with("the reference given is custody record RS/1, that person's own detention."),
            "{sentence}"
        );
        assert_eq!(severity("view", "RS/1").unwrap().0, crate::alert::Severity::Red);
        assert_eq!(severity("update", "RS/2").unwrap().0, crate::alert::Severity::Red);
        assert_eq!(severity_of("U2", "update", "RS/1").unwrap().0, crate::alert::Severity::Amber, "not the bureau");
    }

    /// The suite's staff on shift are answered for a high-profile detainee at custody
    /// work only (the custody system or PNC, while held, not a print or export): an
    /// evaluator's detention officer searched INTEL about a celebrity in her cells and
    /// exported his PND record with no alert at all. The sentence says what explained it.
    #[test]
    fn suite_staff_are_answered_for_a_high_profile_detainee_at_custody_work_only() {
        let c = Config::defaults();
        let mut l = star();
        for (table, row) in [
            (Staff, json!({"user_id": "S1", "unit": "Custody Riverside Days", "shift": "05:00-19:00"})),
            (
                Custody,
                json!({"custody_ref": "RS/1", "subject_id": "99/123A", "suite": "Riverside",
                       "arrested_at": "2026-11-22T06:00:00Z", "released_at": "2026-11-22T16:00:00Z", "officers": ["U9"]}),
            ),
        ] {
            let cells = crate::watchlist::read::JsonCells(row.as_object().unwrap());
            l.upsert(crate::watchlist::read::read_row(table, &cells).unwrap());
        }
        let raised = |extra: serde_json::Value| {
            let e = event(merged(json!({"user_id": "S1", "subject_id": "99/123A"}), extra));
            let cx = ctx(&e, &l, &c);
            let mut out = Findings::new();
            super::check(&cx, &l, &c.rules, &mut out);
            out.first().map(|f| (f.severity, f.explanation.sentence(&cx)))
        };
        assert_eq!(raised(json!({"system": "CUSTODY"})), None, "custody work");
        assert_eq!(raised(json!({"system": "pnc", "action": "search"})), None, "custody work");
        let (severity, sentence) = raised(json!({"system": "INTEL", "action": "search"})).unwrap();
        assert_eq!(severity, crate::alert::Severity::Red);
        assert!(sentence.ends_with("; the access is explained by custody record RS/1: they work at its suite (Riverside) and were on shift, which does not answer for a person on the high-profile list."), "{sentence}");
        assert!(raised(json!({"system": "PNC", "action": "export"})).is_some(), "an export");
        assert!(raised(json!({"system": "CUSTODY", "action": "print"})).is_some(), "a print of the person's record");
        // The custody record itself is custody work on whatever system logs it, printed
        // for court or closed after release (a review: reds for each).
        let custody_record = |extra: serde_json::Value| {
            raised(merged(json!({"subject_type": "custody", "subject_id": "RS/1", "system": "NICHE"}), extra))
        };
        assert_eq!(custody_record(json!({"action": "print"})), None);
        assert_eq!(custody_record(json!({"action": "update", "ts": "2026-11-22T16:05:00Z"})), None);
        assert!(custody_record(json!({"ts": "2026-11-22T05:30:00Z"})).is_some(), "before the arrest");
        assert!(raised(json!({"system": "PNC", "ts": "2026-11-22T17:00:00Z"})).is_some(), "after release");
        assert!(raised(json!({"system": "PNC", "ts": "2026-11-22T05:30:00Z"})).is_some(), "before the arrest");
        // The custody rule itself is still answered by the suite.
        let e = event(json!({"user_id": "S1", "subject_id": "99/123A", "system": "INTEL"}));
        assert!(!fired(&e, &l, &c).contains(&"custody.uninvolved"));
    }

    /// An arresting officer named on the detainee's custody record who gives her own
    /// incident number is answered as she is without it (an evaluator: with the
    /// reference the view was red, without it silent: the reference was taken first
    /// and hid the custody record).
    #[test]
    fn the_custody_officers_own_reference_does_not_hide_the_custody_record() {
        let c = Config::defaults();
        let mut l = star();
        for (table, row) in [
            (Staff, json!({"user_id": "U1", "unit": "Response Team 3"})),
            (
                crate::watchlist::TableName::Incidents,
                json!({"reference": "INC-451", "opened_at": "2026-11-22T05:00:00Z", "unit": "Response Team 3", "officers": ["U1"]}),
            ),
            (
                Custody,
                json!({"custody_ref": "RS/1", "subject_id": "99/123A", "suite": "Riverside",
                       "arrested_at": "2026-11-22T06:00:00Z", "officers": ["U1"]}),
            ),
        ] {
            let cells = crate::watchlist::read::JsonCells(row.as_object().unwrap());
            l.upsert(crate::watchlist::read::read_row(table, &cells).unwrap());
        }
        for extra in [json!({}), json!({"reference": "INC-451"})] {
            let e =
                event(merged(json!({"user_id": "U1", "subject_id": "99/123A", "ts": "2026-11-22T07:00:00Z"}), extra));
            assert!(!fired(&e, &l, &c).contains(&"high_profile.uninvolved"), "{e:?}");
        }
        // Her colleague on the same incident, not on the custody record, is not answered.
        let colleague = event(json!({"user_id": "U2", "subject_id": "99/123A", "reference": "INC-451"}));
        assert!(fired(&colleague, &l, &c).contains(&"high_profile.uninvolved"));
    }

    /// A hostile probe: an officer on a custody record or case team of someone matched
    /// by name alone (`MATE, D`, `STAR, A`: no date of birth) looked up another person
    /// of that name, in custody or high-profile, by record id, and nothing was raised.
    /// The row that is surely the subject is judged; the namesake's explains nothing.
    #[test]
    fn a_namesake_row_naming_the_user_does_not_answer_for_the_person_matched_surely() {
        let c = Config::defaults();
        let mut l = star();
        for (table, row) in [
            (
                Custody,
                json!({"custody_ref": "CUS-1", "subject_id": "22/222B", "subject_name": "MATE, Dave",
                       "subject_dob": "1990-06-01", "suite": "Riverside", "arrested_at": "2026-11-22T06:00:00Z", "officers": ["U2"]}),
            ),
            (
                Custody,
                json!({"custody_ref": "CUS-9", "subject_name": "MATE, D", "suite": "Northgate",
                       "arrested_at": "2026-11-22T06:00:00Z", "officers": ["U1"]}),
            ),
            (
                HighProfile,
                json!({"entry_id": "HP9", "subject_name": "STAR, A", "category": "victim",
                       "added_at": "2026-11-22T08:00:00Z", "case_team": ["U1"]}),
            ),
        ] {
            let cells = crate::watchlist::read::JsonCells(row.as_object().unwrap());
            l.upsert(crate::watchlist::read::read_row(table, &cells).unwrap());
        }
        let custody =
            event(json!({"subject_id": "22/222B", "subject_name": "MATE, Dave", "subject_dob": "1990-06-01"}));
        assert!(fired(&custody, &l, &c).contains(&"custody.uninvolved"), "{:?}", fired(&custody, &l, &c));
        let star = event(json!({"subject_id": "99/123A", "subject_name": "STAR, Ann", "subject_dob": "1985-03-04"}));
        assert!(fired(&star, &l, &c).contains(&"high_profile.uninvolved"));
        // Where only the namesake's row matches, it is the officer's own: answered.
        let own = event(json!({"subject_name": "MATE, Dave"}));
        assert!(!fired(&own, &l, &c).contains(&"custody.uninvolved"), "{:?}", fired(&own, &l, &c));
        // A row matched surely that no longer applies (a custody two years over) does
        // not make the current custody naming the officer another person's (a review).
        let old = lists(&[
            (
                Custody,
                json!({"custody_ref": "CUS-OLD", "subject_id": "22/222B", "subject_name": "MATE, Dave",
                       "subject_dob": "1990-06-01", "suite": "Riverside", "arrested_at": "2024-11-22T06:00:00Z",
                       "released_at": "2024-11-23T06:00:00Z", "officers": ["U2"]}),
            ),
            (
                Custody,
                json!({"custody_ref": "CUS-9", "subject_name": "MATE, Dave", "suite": "Northgate",
                       "arrested_at": "2026-11-22T06:00:00Z", "officers": ["U1"]}),
            ),
        ]);
        let by_id = event(json!({"subject_id": "22/222B", "subject_name": "MATE, Dave", "subject_dob": "1990-06-01"}));
        let cx = ctx(&by_id, &old, &c);
        assert_eq!(cx.explanation.kind(), Some(crate::explain::Kind::Custody), "{:?}", cx.explanation);
    }

    #[test]
    fn fires_on_uninvolved_user_silent_for_case_team() {
        let c = Config::defaults();
        let l = star();
        let e = event(json!({"subject_name": "Ann Star", "subject_dob": "1985-03-04"}));
        assert!(fired(&e, &l, &c).contains(&"high_profile.uninvolved"));
        let team = event(json!({"user_id": "U7", "subject_name": "Ann Star", "subject_dob": "1985-03-04"}));
        assert!(!fired(&team, &l, &c).contains(&"high_profile.uninvolved"));
        // The record id alone, its check letter in lower case (two probes: nothing), or
        // in full-width forms (a probe: nothing).
        let typed = event(json!({"subject_id": "99/123a"}));
        assert!(fired(&typed, &l, &c).contains(&"high_profile.uninvolved"));
        let wide = event(json!({"subject_id": "\u{ff19}\u{ff19}/\u{ff11}\u{ff12}\u{ff13}\u{ff41}"}));
        assert!(fired(&wide, &l, &c).contains(&"high_profile.uninvolved"), "{wide:?}");
        // The name or the id typed with Cyrillic or Greek letters that look Latin (a
        // probe: `STАR` with a Cyrillic А matched no one).
        for look_alike in [
            json!({"subject_name": "\u{0410}nn St\u{0430}r", "subject_dob": "1985-03-04"}),
            json!({"subject_name": "\u{0405}\u{03a4}AR, ANN", "subject_dob": "1985-03-04"}),
            json!({"subject_id": "99/123\u{0410}"}),
            json!({"subject_id": "99/123\u{0430}"}),
            // A title, a blank that shows as a space, a backslash (three probes).
            json!({"subject_name": "Mrs Ann Star", "subject_dob": "1985-03-04"}),
            json!({"subject_name": "Ann\u{2800}Star", "subject_dob": "1985-03-04"}),
            json!({"subject_name": "STAR\\ANN", "subject_dob": "1985-03-04"}),
        ] {
            let e = event(look_alike);
            assert!(fired(&e, &l, &c).contains(&"high_profile.uninvolved"), "{e:?}");
        }
        let other_script = event(json!({"subject_id": "99/123\u{0416}"}));
        assert!(!fired(&other_script, &l, &c).contains(&"high_profile.uninvolved"), "Ж looks like no Latin letter");
    }

    #[test]
    fn same_name_different_person_is_silent() {
        let c = Config::defaults();
        let l = star();
        let other = event(json!({"subject_name": "STAR, Ann", "subject_dob": "1990-01-01"}));
        assert!(!fired(&other, &l, &c).contains(&"high_profile.uninvolved"));
        let other_forename = event(json!({"subject_name": "STAR, Bob"}));
        assert!(!fired(&other_forename, &l, &c).contains(&"high_profile.uninvolved"));
    }

    #[test]
    fn lookback_and_retrospective_release() {
        let c = Config::defaults();
        let l = star();
        let before = event(json!({"ts": "2026-11-10T09:00:00Z", "subject_id": "99/123A"}));
        let ctx = ctx(&before, &l, &c);
        let mut out = Findings::new();
        super::check(&ctx, &l, &c.rules, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].release_at.unwrap().to_string(), "2026-11-22T08:00:00.000Z");
        let s = out[0].explanation.sentence(&ctx);
        assert!(s.contains("11 days 23 hours before that person was put on the high-profile list"), "{s}");
        assert!(s.contains("matched by record id"), "{s}");
        let too_early = event(json!({"ts": "2026-10-01T09:00:00Z", "subject_id": "99/123A"}));
        assert!(!fired(&too_early, &l, &c).contains(&"high_profile.uninvolved"));
    }

    #[test]
    fn name_only_match_says_so_and_scores_lower() {
        let c = Config::defaults();
        let l = star();
        let e = event(json!({"subject_name": "star/ann"}));
        let ctx = ctx(&e, &l, &c);
        let mut out = Findings::new();
        super::check(&ctx, &l, &c.rules, &mut out);
        assert_eq!(out[0].watchlist.as_ref().unwrap().strength, crate::watchlist::MatchStrength::Name);
        assert!(out[0].score < 80);
        assert!(out[0].explanation.sentence(&ctx).contains("name only"));
    }
}
