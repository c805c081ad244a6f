//! `custody.uninvolved`: a person in custody (from arrest until release plus a margin)
//! accessed by a user with no part in the custody and no documented explanation (see
//! [`crate::explain`]). Severity follows the context: in custody at the time and no
//! reference at all, red; in custody with a reference that does not justify it, or
//! with a declared encounter (a person in a cell is not stopped in the street), amber;
//! released, `severity_released` (green by default: what was private about the
//! custody is now past), silent for a declared encounter or routine (a street check
//! of someone released days ago), green for a search that found nothing. Green too
//! for an update or a record created under the custody record's own number as its
//! reference by a routine the force declared for it (the PNC bureau entering the
//! arrest): a purpose stated for this very detention, though no incident says who
//! works on it; amber by anyone else. A view, search or print under it stays amber:
//! the number is on the record the user has just opened. A weak name match lowers it
//! further.

use super::finding::{score, Explain, Finding, Findings};
use crate::alert::RuleId;
use crate::alert::{Severity, WatchlistRef};
use crate::config::RulesConfig;
use crate::enrich::{Enriched, Justification};
use crate::event::Action;
use crate::watchlist::{CustodyRecord, MatchStrength, TableName, WatchLists};
use compact_str::format_compact;

#[derive(Debug)]
pub struct Facts<'a> {
    pub record: &'a CustodyRecord,
    pub strength: MatchStrength,
    /// Another current record of the person whose number an update gave.
    pub entry_of: Option<&'a CustodyRecord>,
}

pub fn check<'a>(ctx: &Enriched<'a>, lists: &'a WatchLists, rules: &RulesConfig, out: &mut Findings<'a>) {
    if ctx.person.is_empty() || ctx.explanation.is_documented() {
        return;
    }
    let declared = ctx.explanation.is_explained();
    let e = ctx.event;
    let ts = e.ts;
    let settings = rules.settings(RuleId::CustodyUninvolved);
    // An update under the number of one current record of the person is that
    // detention's entry, whichever of her records is judged: a person held on two
    // overlapping records, updated under one's number, was amber against the other
    // (an evaluator's PNC Bureau).
    // Both detentions current: a number of a custody she was released from days ago
    // does not cover a look-up of her present one (a review).
    let entering = entering_detention(ctx, lists, rules).filter(|q| q.released_at.is_none_or(|r| e.ts <= r));
    for &(id, strength) in &ctx.matches.custody {
        let Some(record) = lists.custody.get(id) else { continue };
        let counted =
            ts >= record.arrested_at && record.released_at.is_none_or(|r| ts <= r + rules.custody_after_release);
        if !counted || record.officers.contains(&e.user_id) {
            continue;
        }
        let in_custody = record.released_at.is_none_or(|r| ts <= r);
        let entry = matches!(e.action, Action::Update | Action::Create)
            && (quotes_record(e, record)
                || (entering.is_some() && !strength.is_weak() && record.released_at.is_none_or(|r| e.ts <= r)));
        // The entry by a routine the force declared for it (the PNC bureau's) is
        // green; by anyone else amber, as the high-profile rule has it: a create or an
        // update under the number the user has just read off the record is a stated
        // purpose no one has checked (a probe: any officer's `create` under it turned
        // a red look-up green, and a print after it was no export after a sensitive
        // access).
        let routine = ctx.explanation.effective_kind() == Some(crate::explain::Kind::Routine);
        let severity = if entry && routine {
            Severity::Green
        } else if entry {
            Severity::Amber
        } else if in_custody {
            match ctx.justification {
                Justification::NoReference if !declared => rules.custody_no_reference_severity,
                _ => settings.severity,
            }
        } else if declared {
            continue;
        } else if e.action == Action::Search && e.result_count == Some(0) {
            Severity::Green
        } else {
            rules.custody_released_severity
        };
        let severity = settings.severity_for(severity, Some(strength), declared);
        out.push(Finding {
            rule: RuleId::CustodyUninvolved,
            severity,
            score: score(severity, Some(strength)),
            subject_key: format_compact!("custody:{}", record.custody_ref),
            watchlist: Some(WatchlistRef::new(
                TableName::Custody,
                record.custody_ref.clone(),
                strength,
                ts,
                record.arrested_at,
                record.recorded_at,
            )),
            release_at: None,
            evidence: Vec::new(),
            explanation: Box::new(Facts {
                record,
                strength,
                entry_of: entering.filter(|q| !std::ptr::eq(*q, record) && entry),
            }),
        });
    }
}

/// The custody record of this person, current at the access (in custody, or released
/// up to `custody_after_release` before), whose own number an update or a record
/// created gives as its reference: the arrest being entered (the PNC bureau), a
/// purpose stated for this very detention.
pub(crate) fn entering_detention<'a>(
    ctx: &Enriched<'a>,
    lists: &'a WatchLists,
    rules: &RulesConfig,
) -> Option<&'a CustodyRecord> {
    let e = ctx.event;
    if !matches!(e.action, Action::Update | Action::Create) || e.reference.is_none() {
        return None;
    }
    ctx.matches.custody.iter().filter(|(_, strength)| !strength.is_weak()).find_map(|&(id, _)| {
        let r = lists.custody.get(id)?;
        let current = e.ts >= r.arrested_at && r.released_at.is_none_or(|at| e.ts <= at + rules.custody_after_release);
        (current && quotes_record(e, r)).then_some(r)
    })
}

/// The access gives the custody record's own number as its reference.
fn quotes_record(e: &crate::event::AccessEvent, record: &CustodyRecord) -> bool {
    use crate::watchlist::reference_key;
    e.reference.as_deref().is_some_and(|r| reference_key(r) == reference_key(&record.custody_ref))
}

impl Explain for Facts<'_> {
    fn sentence(&self, ctx: &Enriched) -> String {
        sentence(self, ctx)
    }
}

fn sentence(f: &Facts, ctx: &Enriched) -> String {
    let r = f.record;
    let suite = r.suite.as_deref().map(|s| format!(" at {s}")).unwrap_or_default();
    let status = match r.released_at {
        Some(rel) if ctx.event.ts > rel => {
            format!("had been released from custody on {} (record {}{suite})", rel.human(), r.custody_ref)
        }
        _ => format!("was in custody (record {}{suite}, since {})", r.custody_ref, r.arrested_at.human()),
    };
    let why_not = if quotes_record(ctx.event, r) {
        "gave that custody record's number as reference, which names no incident they are on".to_string()
    } else if let Some(q) = f.entry_of {
        format!(
            "gave the number of the same person's other current custody record, {}, which names no incident they are on",
            q.custody_ref
        )
    } else {
        ctx.why_not()
    };
    format!(
        "{} {} while that person ({}) {status}; {} has no part in that custody and {why_not} ({}).",
        ctx.who(),
        ctx.what(),
        r.person.describe(),
        ctx.event.user_id,
        f.strength.phrase(),
    )
}

#[cfg(test)]
mod tests {
    use crate::alert::Severity;
    use crate::config::Config;
    use crate::detect::testkit::*;
    use crate::detect::Findings;
    use crate::watchlist::TableName::*;
    use serde_json::json;

    fn friend_in_custody() -> crate::watchlist::WatchLists {
        lists(&[
            (
                Custody,
                json!({"custody_ref": "CUS/1", "subject_name": "MATE, Dave", "subject_dob": "1990-06-01",
                       "suite": "Central", "arrested_at": "2026-11-21T22:00:00Z", "officers": "U5;U6"}),
            ),
            (
                Incidents,
                json!({"reference": "INC-9", "opened_at": "2026-11-21T21:00:00Z", "unit": "CID", "officers": ["U8"]}),
            ),
            (Staff, json!({"user_id": "U8", "unit": "Response"})),
        ])
    }

    fn severity_of(e: &crate::event::AccessEvent, l: &crate::watchlist::WatchLists) -> Option<Severity> {
        severity_under(e, l, &Config::defaults())
    }

    fn severity_under(e: &crate::event::AccessEvent, l: &crate::watchlist::WatchLists, c: &Config) -> Option<Severity> {
        let ctx = ctx(e, l, c);
        let mut out = Findings::new();
        super::check(&ctx, l, &c.rules, &mut out);
        out.first().map(|f| f.severity)
    }

    /// The PNC bureau's routine entry of arrests, declared, and a member of the bureau
    /// (`U1`, the test events' user).
    fn bureau(mut l: crate::watchlist::WatchLists) -> (crate::watchlist::WatchLists, Config) {
        let routine = "[[explanation.routines]]\nname = \"bureau\"\nunits = [\"PNC Bureau\"]\nactions = [\"update\", \"create\"]\n";
        let staff = json!({"user_id": "U1", "unit": "PNC Bureau"});
        l.upsert(
            crate::watchlist::read::read_row(Staff, &crate::watchlist::read::JsonCells(staff.as_object().unwrap()))
                .unwrap(),
        );
        (l, Config::from_toml("r.toml", routine).unwrap())
    }

    #[test]
    fn red_without_reference_amber_with_unlinked_one() {
        let l = friend_in_custody();
        let e = event(json!({"subject_name": "Dave Mate", "subject_dob": "1990-06-01"}));
        assert_eq!(severity_of(&e, &l), Some(Severity::Red));
        let e = event(json!({"subject_name": "Dave Mate", "subject_dob": "1990-06-01", "reference": "INC-9"}));
        assert_eq!(severity_of(&e, &l), Some(Severity::Amber));
    }

    /// A custody record opened by its own number, with nothing else logged beside it,
    /// is a look at the person it holds (an evaluator's custody system logged the number
    /// alone: a celebrity's custody record opened so raised nothing).
    #[test]
    fn a_custody_record_opened_by_its_number_is_the_person_held() {
        let mut l = friend_in_custody();
        l.upsert(
            crate::watchlist::read::read_row(
                HighProfile,
                &crate::watchlist::read::JsonCells(
                    json!({"entry_id": "HP1", "subject_name": "MATE, Dave", "subject_dob": "1990-06-01",
                           "category": "celebrity", "added_at": "2026-11-21T23:00:00Z"})
                    .as_object()
                    .unwrap(),
                ),
            )
            .unwrap(),
        );
        let c = Config::defaults();
        // Full-width forms too, as the other joins compare record ids, and other
        // separators, as references are compared (a probe: `CUS N 2026...` was no one).
        for number in ["CUS/1", "cus/1 ", "ＣＵＳ/１", "CUS 1", "cus-1", "CUS1"] {
            let e = event(json!({"system": "CUSTODY", "subject_type": "custody", "subject_id": number}));
            assert_eq!(severity_of(&e, &l), Some(Severity::Red), "{number}");
            assert!(fired(&e, &l, &c).contains(&"high_profile.uninvolved"), "{number}");
            let printed =
                event(json!({"system": "CUSTODY", "action": "print", "subject_type": "custody", "subject_id": number}));
            assert_eq!(severity_of(&printed, &l), Some(Severity::Red), "{number}");
        }
        // The sentence names the person the record holds.
        let e = event(json!({"system": "CUSTODY", "subject_type": "custody", "subject_id": "CUS/1"}));
        let cx = ctx(&e, &l, &c);
        let mut out = Findings::new();
        super::check(&cx, &l, &c.rules, &mut out);
        let sentence = out[0].explanation.sentence(&cx);
        assert!(
            sentence.contains("viewed custody record CUS/1 (MATE, Dave, born 1990-06-01) on CUSTODY"),
            "{sentence}"
        );
        assert!(sentence.contains("matched by record id"), "{sentence}");
        // Another record's number, or a number on a record of another type, is no one.
        let other = event(json!({"system": "CUSTODY", "subject_type": "custody", "subject_id": "CUS/2"}));
        assert_eq!(severity_of(&other, &l), None);
        let intel = event(json!({"system": "INTEL", "subject_type": "intel", "subject_id": "CUS/1"}));
        assert_eq!(severity_of(&intel, &l), None);
        // A log naming someone else beside the number is taken at its word (a review):
        // another date of birth is another person, not the one held.
        let other = event(json!({"system": "CUSTODY", "subject_type": "custody", "subject_id": "CUS/1",
                                 "subject_name": "STAR, Ann", "subject_dob": "1985-03-04"}));
        assert_eq!(severity_of(&other, &l), None);
        let same = event(json!({"system": "CUSTODY", "subject_type": "custody", "subject_id": "CUS/1",
                                "subject_name": "MATE, D", "subject_dob": "1990-06-01"}));
        assert_eq!(severity_of(&same, &l), Some(Severity::Red));
        // Its officers, and the suite's staff, are answered as by the person's record.
        let own =
            event(json!({"user_id": "U5", "system": "CUSTODY", "subject_type": "custody", "subject_id": "CUS/1"}));
        assert_eq!(severity_of(&own, &l), None);
    }

    /// The PNC bureau entering the arrest gives the custody record's own number (found
    /// by a probe: 42 amber alerts in 10,000 events of ordinary work): green under the
    /// bureau's declared routine, and said; by anyone else amber (a later probe: any
    /// officer's `create` under the number turned a red look-up green).
    #[test]
    fn the_custody_records_own_number_as_reference_is_green() {
        let (l, c) = bureau(friend_in_custody());
        let e = event(json!({"subject_name": "Dave Mate", "subject_dob": "1990-06-01", "reference": "cus 1",
                             "action": "update"}));
        assert_eq!(severity_under(&e, &l, &c), Some(Severity::Green));
        assert_eq!(severity_of(&e, &friend_in_custody()), Some(Severity::Amber), "no routine declared");
        let created = event(json!({"subject_name": "Dave Mate", "subject_dob": "1990-06-01", "reference": "CUS 1",
                                   "action": "create", "user_id": "U2"}));
        assert_eq!(severity_under(&created, &l, &c), Some(Severity::Amber), "not of the bureau");
        // A view under it is amber, as any reference that does not justify (a review: the
        // number is on the record the user has just opened).
        let view = event(json!({"subject_name": "Dave Mate", "subject_dob": "1990-06-01", "reference": "CUS/1"}));
        assert_eq!(severity_of(&view, &l), Some(Severity::Amber));
        let ctx = ctx(&e, &l, &c);
        let mut out = Findings::new();
        super::check(&ctx, &l, &c.rules, &mut out);
        let s = out[0].explanation.sentence(&ctx);
        assert!(
            s.contains("gave that custody record's number as reference, which names no incident they are on"),
            "{s}"
        );
    }

    /// An evaluator's PNC Bureau: a person held on two overlapping records, updated
    /// under one's number, was amber against the other. Green on both, and the other's
    /// sentence names the number given; a view under it stays amber.
    #[test]
    fn an_update_under_the_number_of_her_other_current_record_is_green() {
        let mut rows = vec![(
            Custody,
            json!({"custody_ref": "CUS/2", "subject_name": "MATE, Dave", "subject_dob": "1990-06-01",
                   "arrested_at": "2026-11-21T21:30:00Z", "officers": "U7"}),
        )];
        rows.extend([(
            Custody,
            json!({"custody_ref": "CUS/1", "subject_name": "MATE, Dave", "subject_dob": "1990-06-01",
                   "suite": "Central", "arrested_at": "2026-11-21T22:00:00Z", "officers": "U5;U6"}),
        )]);
        let (l, c) = bureau(lists(&rows));
        let e = event(json!({"subject_name": "Dave Mate", "subject_dob": "1990-06-01", "reference": "CUS/2",
                             "action": "update"}));
        let cx = ctx(&e, &l, &c);
        let mut out = Findings::new();
        super::check(&cx, &l, &c.rules, &mut out);
        assert_eq!(out.iter().map(|f| f.severity).collect::<Vec<_>>(), [Severity::Green, Severity::Green]);
        let other = out.iter().find(|f| f.subject_key == "custody:CUS/1").expect("judged against CUS/1");
        let s = other.explanation.sentence(&cx);
        assert!(s.contains("the same person's other current custody record, CUS/2"), "{s}");
        let view = event(json!({"subject_name": "Dave Mate", "subject_dob": "1990-06-01", "reference": "CUS/2"}));
        assert_eq!(severity_of(&view, &l), Some(Severity::Amber));
        // The number of a custody she has been released from does not cover her
        // present one (a review: an insider quoting last week's number).
        let mut rows = rows.clone();
        rows[0].1["released_at"] = json!("2026-11-21T21:50:00Z");
        let (l, _) = bureau(lists(&rows));
        let cx = ctx(&e, &l, &c);
        let mut out = Findings::new();
        super::check(&cx, &l, &c.rules, &mut out);
        let present = out.iter().find(|f| f.subject_key == "custody:CUS/1").expect("judged against CUS/1");
        assert_eq!(present.severity, Severity::Amber);
    }

    #[test]
    fn custody_staff_and_justified_users_are_silent() {
        let l = friend_in_custody();
        let staff = event(json!({"user_id": "U5", "subject_name": "Dave Mate", "subject_dob": "1990-06-01"}));
        assert_eq!(severity_of(&staff, &l), None);
        let justified = event(
            json!({"user_id": "U8", "subject_name": "Dave Mate", "subject_dob": "1990-06-01", "reference": "inc-9"}),
        );
        assert_eq!(severity_of(&justified, &l), None);
    }

    #[test]
    fn only_while_in_custody() {
        let l = friend_in_custody();
        let before =
            event(json!({"ts": "2026-11-21T21:00:00Z", "subject_name": "Dave Mate", "subject_dob": "1990-06-01"}));
        assert_eq!(severity_of(&before, &l), None);
    }

    #[test]
    fn sentence_names_the_record_and_the_missing_reason() {
        let c = Config::defaults();
        let l = friend_in_custody();
        let e = event(json!({"subject_name": "Dave Mate", "subject_dob": "1990-06-01", "reference": "INC-9"}));
        let ctx = ctx(&e, &l, &c);
        let mut out = Findings::new();
        super::check(&ctx, &l, &c.rules, &mut out);
        let s = out[0].explanation.sentence(&ctx);
        assert!(s.contains("record CUS/1 at Central"), "{s}");
        assert!(s.contains("INC-9"), "{s}");
        assert!(s.contains("not attached"), "{s}");
    }

    /// A name alone searched for, with several people of that name in custody: one
    /// alert, not one for each (the officer searched for one name). With one of them
    /// matched by date of birth as well, that one alone.
    #[test]
    fn a_name_matching_many_custody_records_is_one_finding() {
        let c = Config::defaults();
        let mut rows = Vec::new();
        for (i, dob) in ["1970-01-01", "1971-02-02", "1972-03-03", "1973-04-04", "1974-05-05"].iter().enumerate() {
            rows.push((
                Custody,
                json!({"custody_ref": format!("CUS/{i}"), "subject_name": "SMITH, John", "subject_dob": dob,
                       "arrested_at": "2026-11-21T22:00:00Z", "officers": "U5"}),
            ));
        }
        let l = lists(&rows);
        let detect = |e: &crate::event::AccessEvent| {
            let ctx = ctx(e, &l, &c);
            let mut out = Findings::new();
            crate::detect::detect(&ctx, &l, &c.rules, &mut out);
            out.iter().map(|f| f.subject_key.to_string()).collect::<Vec<_>>()
        };
        let name_only = event(json!({"action": "search", "subject_name": "SMITH, John"}));
        assert_eq!(detect(&name_only).len(), 1, "{:?}", detect(&name_only));
        let with_dob = event(json!({"subject_name": "SMITH, John", "subject_dob": "1973-04-04"}));
        assert_eq!(detect(&with_dob), ["custody:CUS/3"]);
        // A strong match does not hide a more severe guess (a record id typed to match
        // a released namesake must not hide the red guess at the one in custody); a
        // guess no more severe than a strong match goes.
        let finding = |key: &str, severity: Severity, strength: crate::watchlist::MatchStrength| {
            #[derive(Debug)]
            struct Said;
            impl crate::detect::finding::Explain for Said {
                fn sentence(&self, _: &crate::enrich::Enriched) -> String {
                    String::new()
                }
            }
            let t = crate::time::Timestamp(0);
            crate::detect::finding::Finding {
                rule: crate::alert::RuleId::CustodyUninvolved,
                severity,
                score: crate::detect::finding::score(severity, Some(strength)),
                subject_key: key.into(),
                watchlist: Some(crate::alert::WatchlistRef::new(Custody, key.into(), strength, t, t, None)),
                release_at: None,
                evidence: Vec::new(),
                explanation: Box::new(Said),
            }
        };
        use crate::watchlist::MatchStrength::{Id, Name};
        let kept = |findings: Vec<crate::detect::finding::Finding<'static>>| {
            let mut out: Findings = findings.into_iter().collect();
            crate::detect::one_guess_per_access(&mut out, 0);
            out.iter().map(|f| f.subject_key.to_string()).collect::<Vec<_>>()
        };
        let strong_green = || finding("OLD", Severity::Green, Id);
        assert_eq!(kept(vec![strong_green(), finding("NOW", Severity::Red, Name)]), ["OLD", "NOW"]);
        assert_eq!(kept(vec![strong_green(), finding("NOW", Severity::Green, Name)]), ["OLD"]);
        assert_eq!(
            kept(vec![
                finding("A", Severity::Green, Name),
                finding("B", Severity::Amber, Name),
                finding("C", Severity::Amber, Name)
            ]),
            ["B"]
        );
        // Judging an alert again still finds the guess it was raised for.
        let ctx = ctx(&name_only, &l, &c);
        let again = crate::detect::rejudge(crate::alert::RuleId::CustodyUninvolved, &ctx, &l, &c.rules);
        assert!(again.iter().any(|f| f.subject_key == detect(&name_only)[0]));
    }
}
