use super::staff::Staffing;
use super::*;
use crate::config::Config;
use crate::detect::testkit::{event, lists};
use crate::enrich::enrich;
use crate::watchlist::TableName::*;
use serde_json::json;

/// The kind of explanation the stateless step gives this event.
fn kind_of(e: &AccessEvent, l: &WatchLists, c: &Config) -> Option<Kind> {
    enrich(e, l, &c.explanation).explanation.kind()
}

fn force() -> WatchLists {
    lists(&[
        (
            Custody,
            json!({"custody_ref": "CUS-1", "subject_name": "MATE, Dave", "subject_dob": "1990-06-01",
                   "suite": "Central", "arrested_at": "2026-11-22T08:00:00Z", "officers": "U5"}),
        ),
        (Staff, json!({"user_id": "U6", "unit": "Custody Central Days", "shift": "07:00-19:00"})),
        (Staff, json!({"user_id": "U7", "unit": "Custody Central Nights", "shift": "19:00-07:00"})),
        (Staff, json!({"user_id": "U8", "unit": "Bridewell Detention"})),
        (Staff, json!({"user_id": "U11", "unit": "Central CID"})),
        (Staff, json!({"user_id": "U12", "unit": "Central Response"})),
        (
            HighProfile,
            json!({"entry_id": "HP-1", "subject_name": "STARR, Ringo", "subject_dob": "1975-07-07",
                   "added_at": "2026-11-01T00:00:00Z", "case_team": "U9"}),
        ),
        (
            Operations,
            json!({"operation": "NIGHTJAR", "subject_vrm": "AB12CDE", "team": "U10",
                   "starts_at": "2026-11-01T00:00:00Z"}),
        ),
        (Incidents, json!({"reference": "INC-1", "opened_at": "2026-11-22T09:30:00Z", "officers": ["U1"]})),
    ])
}

#[test]
fn each_kind_from_its_row() {
    let c = Config::defaults();
    let l = force();
    let dave = json!({"subject_name": "Dave Mate", "subject_dob": "1990-06-01"});
    let with = |base: &serde_json::Value, extra: serde_json::Value| {
        let mut v = base.clone();
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        event(v)
    };
    assert_eq!(kind_of(&with(&dave, json!({"reference": "INC-1"})), &l, &c), Some(Kind::Reference));
    assert_eq!(kind_of(&with(&dave, json!({"user_id": "U5"})), &l, &c), Some(Kind::Custody), "named on the record");
    assert_eq!(kind_of(&with(&dave, json!({"user_id": "U6"})), &l, &c), Some(Kind::Custody), "suite staff on shift");
    assert_eq!(kind_of(&with(&dave, json!({"user_id": "U7"})), &l, &c), None, "suite staff off shift (10:00)");
    assert_eq!(kind_of(&with(&dave, json!({"user_id": "U8"})), &l, &c), None, "another suite's staff");
    // Towns name suites and units alike: sharing the place is not working at the suite.
    assert_eq!(kind_of(&with(&dave, json!({"user_id": "U11"})), &l, &c), None, "CID of the same town");
    assert_eq!(kind_of(&with(&dave, json!({"user_id": "U12"})), &l, &c), None, "response of the same town");
    let ringo = json!({"user_id": "U9", "subject_name": "Ringo Starr", "subject_dob": "1975-07-07"});
    assert_eq!(kind_of(&event(ringo), &l, &c), Some(Kind::CaseTeam));
    let car = json!({"user_id": "U10", "subject_type": "vehicle", "subject_vrm": "ab12 cde"});
    assert_eq!(kind_of(&event(car), &l, &c), Some(Kind::Operation));
    assert_eq!(kind_of(&with(&dave, json!({})), &l, &c), None);
}

#[test]
fn suites_listed_in_the_configuration() {
    let text = "[explanation]\nsuite_units = { \"Central\" = [\"Bridewell Detention\"] }\n";
    let c = Config::from_toml("e.toml", text).unwrap();
    let e = event(json!({"user_id": "U8", "subject_name": "Dave Mate", "subject_dob": "1990-06-01"}));
    assert_eq!(kind_of(&e, &force(), &c), Some(Kind::Custody));
}

#[test]
fn an_encounter_is_a_search_that_found_someone_under_a_listed_code() {
    let c = Config::defaults();
    let l = force();
    let stop = |extra: serde_json::Value| {
        let mut v =
            json!({"action": "search", "subject_name": "Jo Bloggs", "reason_code": "stop_search", "result_count": 1});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        kind_of(&event(v), &l, &c)
    };
    assert_eq!(stop(json!({})), Some(Kind::Encounter), "codes compare without case or punctuation");
    assert_eq!(stop(json!({"result_count": 0})), None, "found nobody");
    assert_eq!(stop(json!({"action": "view"})), None, "only a search");
    assert_eq!(stop(json!({"reason_code": "CURIOSITY"})), None);
}

#[test]
fn a_routine_explains_what_it_names_and_nothing_else() {
    let text = r#"
[[explanation.routines]]
name = "DVLA desk"
units = ["DVLA Enquiries"]
subject_types = ["vehicle"]
"#;
    let c = Config::from_toml("r.toml", text).unwrap();
    let l = lists(&[(Staff, json!({"user_id": "U1", "unit": "DVLA Enquiries"}))]);
    let car = event(json!({"subject_type": "vehicle", "subject_vrm": "AB12CDE"}));
    assert_eq!(kind_of(&car, &l, &c), Some(Kind::Routine));
    let person = event(json!({"subject_name": "Jo Bloggs"}));
    assert_eq!(kind_of(&person, &l, &c), None);
    let bad = Config::from_toml("r.toml", "[[explanation.routines]]\nname = \"x\"\n").unwrap_err().to_string();
    assert!(bad.contains("must name users, units or roles"), "{bad}");
}

#[test]
fn a_row_recorded_after_the_grace_explains_nothing() {
    let c = Config::defaults();
    let row = |recorded: &str| {
        lists(&[(
            Incidents,
            json!({"reference": "INC-1", "opened_at": "2026-11-22T09:30:00Z", "officers": ["U1"], "recorded_at": recorded}),
        )])
    };
    let e = event(json!({"subject_name": "Jo Bloggs", "reference": "INC-1"}));
    assert_eq!(kind_of(&e, &row("2026-11-22T18:00:00Z"), &c), Some(Kind::Reference), "8 hours later: within 12h");
    let late = row("2026-11-24T10:00:00Z");
    assert_eq!(kind_of(&e, &late, &c), None, "two days later");
    let ctx = enrich(&e, &late, &c.explanation);
    assert!(ctx.justification.why_not().contains("recorded only on"), "{}", ctx.justification.why_not());
}

#[test]
fn continuations_remember_explained_accesses_for_a_while() {
    let c = Config::defaults();
    let l = force();
    let window = c.explanation.continuation;
    let mut memory = Continuations::default();
    let search = event(json!({"event_id": "s1", "action": "search", "subject_name": "SMITH, John",
                               "subject_dob": "1980-01-02", "reference": "INC-1"}));
    let ctx = enrich(&search, &l, &c.explanation);
    let keys = subject_keys(&search, &ctx.person, None, None);
    memory.remember("U1", keys, &search, &ctx.explanation, window, Span(0));

    let view = |ts: &str, user: &str| {
        event(json!({"event_id": "v1", "ts": ts, "user_id": user, "subject_id": "01/1X",
                     "subject_name": "John Smith", "subject_dob": "1980-01-02"}))
    };
    let find = |e: &AccessEvent| {
        let ctx = enrich(e, &l, &c.explanation);
        let keys = subject_keys(e, &ctx.person, None, None);
        memory.find(&e.user_id, &keys, e.ts, window).map(|x| x.recorded().unwrap())
    };
    let later = find(&view("2026-11-22T11:00:00Z", "U1")).expect("the view an hour after the search");
    assert_eq!((later.kind, later.of, later.detail.as_str()), (Kind::Earlier, Some(Kind::Reference), "s1"));
    assert!(later.is_documented());
    assert!(find(&view("2026-11-23T10:00:01Z", "U1")).is_none(), "a day later");
    assert!(find(&view("2026-11-22T11:00:00Z", "U2")).is_none(), "another user");
    let other =
        event(json!({"ts": "2026-11-22T11:00:00Z", "subject_name": "SMITH, John", "subject_dob": "1999-09-09"}));
    assert!(find(&other).is_none(), "another John Smith");
    let initial = event(json!({"ts": "2026-11-22T11:00:00Z", "subject_name": "smith/j"}));
    assert!(find(&initial).is_none(), "a surname and initial name no one");

    // The usual PNC search, by surname, initial and date of birth under the user's own
    // incident, then the record it found, by id and full name: one person (an
    // evaluator's force: the view was a red custody alert).
    let mut memory = Continuations::default();
    let search = event(json!({"event_id": "s2", "action": "search", "subject_name": "ADAMS/J",
                               "subject_dob": "1960-03-10", "reference": "INC-1"}));
    let ctx = enrich(&search, &l, &c.explanation);
    memory.remember("U1", subject_keys(&search, &ctx.person, None, None), &search, &ctx.explanation, window, Span(0));
    let view = event(json!({"event_id": "v2", "ts": "2026-11-22T10:05:00Z", "subject_id": "60/1A",
                             "subject_name": "ADAMS, John", "subject_dob": "1960-03-10"}));
    let ctx = enrich(&view, &l, &c.explanation);
    let found = memory.find("U1", &subject_keys(&view, &ctx.person, None, None), view.ts, window);
    assert_eq!(found.and_then(|x| x.recorded()).map(|r| r.detail), Some("s2".into()));
    let found_for = |memory: &Continuations, id: &str, name: &str| {
        let e = event(json!({"event_id": "v3", "ts": "2026-11-22T10:30:00Z", "subject_id": id,
                             "subject_name": name, "subject_dob": "1960-03-10"}));
        let ctx = enrich(&e, &l, &c.explanation);
        memory.find("U1", &subject_keys(&e, &ctx.person, None, None), e.ts, window).is_some()
    };
    assert!(!found_for(&memory, "60/2B", "ADAMS, Mary"), "another initial, born the same day");
    // A search by name and date of birth may have been for either twin; the view of
    // John's record under the user's incident is John's: his twin James, another
    // record, is not explained by it (a review: an officer's view of one twin under
    // his incident explained his look-up of the other, in custody).
    let mut memory = Continuations::default();
    let john = event(json!({"event_id": "v4", "subject_id": "60/1A", "subject_name": "ADAMS, John",
                             "subject_dob": "1960-03-10", "reference": "INC-1"}));
    let ctx = enrich(&john, &l, &c.explanation);
    memory.remember("U1", subject_keys(&john, &ctx.person, None, None), &john, &ctx.explanation, window, Span(0));
    assert!(found_for(&memory, "60/1A", "ADAMS, J"), "John's record again");
    assert!(!found_for(&memory, "60/3C", "ADAMS, James"), "his twin");
}

/// A look-up that continues a documented one passes its keys on (a view by record id
/// continues a search by name) but not a new window: one reference does not keep an
/// officer's look-ups of a person (an ex-partner) explained for days, each under 12
/// hours after the last.
#[test]
fn a_continuation_does_not_renew_the_window_it_is_explained_by() {
    let c = Config::defaults();
    let l = force();
    let window = c.explanation.continuation;
    let mut memory = Continuations::default();
    let mut judge = |e: &AccessEvent| {
        let mut ctx = enrich(e, &l, &c.explanation);
        let keys = subject_keys(e, &ctx.person, None, None);
        if !ctx.explanation.is_documented() {
            if let Some(earlier) = memory.find(&e.user_id, &keys, e.ts, window) {
                ctx.explanation = earlier;
            }
        }
        memory.remember(&e.user_id, keys, e, &ctx.explanation, window, Span(0));
        ctx.explanation.recorded().map(|r| (r.kind, r.detail.to_string()))
    };
    let search = event(json!({"event_id": "s1", "ts": "2026-11-22T10:00:00Z", "action": "search",
                               "subject_name": "SMITH, John", "subject_dob": "1980-01-02", "reference": "INC-1"}));
    assert_eq!(judge(&search).map(|r| r.0), Some(Kind::Reference));
    let view = |id: &str, ts: &str| {
        event(json!({"event_id": id, "ts": ts, "subject_id": "01/1X", "subject_name": "John Smith",
                     "subject_dob": "1980-01-02"}))
    };
    let by_id = |id: &str, ts: &str| {
        event(json!({"event_id": id, "ts": ts, "subject_id": "01/1X", "subject_name": null, "subject_dob": null}))
    };
    assert_eq!(judge(&view("v1", "2026-11-22T20:00:00Z")), Some((Kind::Earlier, "s1".into())));
    assert_eq!(judge(&view("v1", "2026-11-22T20:00:00Z")), Some((Kind::Earlier, "s1".into())), "given again");
    assert_eq!(judge(&by_id("v2", "2026-11-22T21:00:00Z")), Some((Kind::Earlier, "s1".into())), "by the id v1 named");
    assert_eq!(judge(&view("v3", "2026-11-23T07:00:00Z")), None, "21 hours after the search, 10 after v2");
    assert_eq!(judge(&by_id("v4", "2026-11-23T08:00:00Z")), None);
    assert!(memory.users.get("U1").unwrap().0.len() <= 3, "a repeat adds nothing");
}

#[test]
fn memory_is_bounded_per_user() {
    let c = Config::defaults();
    let l = WatchLists::default();
    let mut memory = Continuations::default();
    for i in 0..200 {
        let e = event(
            json!({"event_id": format!("e{i}"), "subject_type": "vehicle", "subject_vrm": format!("AB{i:02}CDE"),
                             "reason_code": "ANPR", "action": "search", "result_count": 1}),
        );
        let ctx = enrich(&e, &l, &c.explanation);
        assert_eq!(ctx.explanation.kind(), Some(Kind::Encounter));
        let keys = subject_keys(&e, &ctx.person, ctx.vrm.as_deref(), None);
        memory.remember("U1", keys, &e, &ctx.explanation, c.explanation.continuation, Span(0));
    }
    assert_eq!(memory.users(), 1);
    assert!(memory.users.get("U1").unwrap().0.len() <= REMEMBERED_PER_USER);
}

fn suite_staff(unit: &str, suite: &str) -> bool {
    custody_unit_of(unit, suite).is_some()
}

#[test]
fn a_custody_unit_names_its_suite_by_whole_words() {
    assert!(suite_staff("CUSTODY CENTRAL DAYS", "CENTRAL"));
    assert!(suite_staff("CUSTODY - NORTH GATE", "NORTH GATE"));
    assert!(suite_staff("NORTHGATE DETENTION OFFICERS", "NORTHGATE CUSTODY SUITE"));
    assert!(!suite_staff("CUSTODY CENTRALISED", "CENTRAL"));
    assert!(!suite_staff("CENTRAL CID", "CENTRAL"), "not a custody unit");
    assert!(suite_staff("BRIDEWELL CUSTODY DAYS", "BRIDEWELL"), "a suite named by a custody word alone");
    assert!(suite_staff("CENTRAL CELLS", "CENTRAL"));
    assert!(!suite_staff("CENTRAL INTELLIGENCE CELL", "CENTRAL"), "an intelligence cell");
    assert!(!suite_staff("CUSTODY NORTHGATE", "CUSTODY SUITE"), "a suite that names no place");
    assert!(suite_staff("PRISONER HANDLING NORTHGATE", "NORTHGATE"));
    assert!(!suite_staff("BRIDEWELL STREET CID", "CENTRAL"));
    assert!(!suite_staff("ANY", ""));
    // A custody unit naming no place serves every suite of the force.
    assert_eq!(custody_unit_of("CUSTODY DETENTION OFFICERS", "LEOMINSTER BRIDEWELL"), Some(Staffing::ForceWide));
    assert_eq!(custody_unit_of("CRIMINAL JUSTICE & CUSTODY TEAM 2", "CENTRAL"), Some(Staffing::ForceWide));
    assert_eq!(custody_unit_of("CUSTODY - B SHIFT", "NORTHGATE"), Some(Staffing::ForceWide));
    assert_eq!(custody_unit_of("CUSTODY CENTRAL DAYS", "CENTRAL"), Some(Staffing::Suite));
    assert!(!suite_staff("NW CUSTODY", "CENTRAL"), "a place of two letters (found by a review)");
    assert!(!suite_staff("NORTHERN CUSTODY", "CENTRAL"), "another place's");
    assert!(!suite_staff("CRIMINAL JUSTICE UNIT", "CENTRAL"), "no custody word");
    assert!(!suite_staff("BRIDEWELL DETENTION", "CENTRAL"), "the Bridewell's");
}

/// A snapshot keeps each remembered access as an object of its fields (the layout of
/// before the accesses were packed): one written by either version reads back alike.
#[test]
fn remembered_accesses_keep_their_snapshot_layout() {
    let written = r#"{"users":{"U1":[{"keys":[7,9,0,0],"ts":"2026-11-22T10:00:00.000Z","event_id":"e1","kind":"encounter","detail":"ANPR"},{"keys":[7,0,0,0],"ts":"2026-11-22T10:05:00.000Z","event_id":"e2","kind":"reference","detail":"INC-1"}]},"last_sweep":"2026-11-22T10:00:00.000Z","victims":{},"victim_window_ms":0}"#;
    let memory: Continuations = serde_json::from_str(written).unwrap();
    assert_eq!(serde_json::to_string(&memory).unwrap(), written);
    let ts = |s: &str| crate::time::Timestamp::parse_rfc3339(s).unwrap();
    let found = memory.find("U1", &[9], ts("2026-11-22T11:00:00.000Z"), Span(12 * HOUR)).unwrap();
    assert!(
        matches!(found, Explanation::Earlier { ref event_id, of: Kind::Encounter, ref detail, .. } if event_id == "e1" && detail == "ANPR")
    );
    let documented = memory.find("U1", &[7], ts("2026-11-22T11:00:00.000Z"), Span(12 * HOUR)).unwrap();
    assert!(matches!(documented, Explanation::Earlier { ref event_id, of: Kind::Reference, .. } if event_id == "e2"));
}

/// The sweep at the newest access keeps what an access on time, up to the allowed
/// lateness behind it, is still explained by.
#[test]
fn a_sweep_keeps_the_explanations_of_an_access_within_the_allowed_lateness() {
    let c = Config::defaults();
    let l = WatchLists::default();
    let (window, lateness) = (c.explanation.continuation, c.state.allowed_lateness);
    assert_eq!((window, lateness), (Span(12 * HOUR), Span(10 * 60_000)));
    let mut memory = Continuations::default();
    let stop = |id: &str, ts: &str, vrm: &str| {
        event(json!({"event_id": id, "ts": ts, "subject_type": "vehicle", "subject_vrm": vrm, "subject_name": null,
                     "subject_dob": null, "reason_code": "ANPR", "action": "search", "result_count": 1}))
    };
    let mut remember = |e: &AccessEvent| {
        let ctx = enrich(e, &l, &c.explanation);
        let keys = subject_keys(e, &ctx.person, ctx.vrm.as_deref(), None);
        memory.remember("U1", keys.clone(), e, &ctx.explanation, window, lateness);
        keys
    };
    remember(&stop("s0", "2026-11-22T00:00:00Z", "AA11AAA")); // the first sweep, of nothing
    let keys = remember(&stop("s1", "2026-11-22T00:01:00Z", "BB22BBB"));
    remember(&stop("s2", "2026-11-22T12:05:00Z", "CC33CCC")); // the front; sweeps
    let ts = crate::time::Timestamp::parse_rfc3339("2026-11-22T12:00:00Z").unwrap(); // 5 minutes behind
    let found = memory.find("U1", &keys, ts, window);
    assert!(matches!(found, Some(Explanation::Earlier { ref event_id, .. }) if event_id == "s1"), "{found:?}");
}

/// An operation's name in the reference hides the access from uncleared reviewers,
/// whoever typed it (it names the operation); an outsider who does raises
/// `opsec.outsider` (`detect::opsec`).
#[test]
fn citing_an_operation_touches_it() {
    let c = Config::defaults();
    let l = force();
    let citing = |user: &str, reference: &str| {
        let e = event(json!({"user_id": user, "subject_name": "NOBODY, Ann", "subject_dob": "1970-01-01",
                             "reference": reference}));
        let ctx = enrich(&e, &l, &c.explanation);
        ctx.on_operation
    };
    assert!(citing("U10", "OP-NIGHTJAR"), "the team");
    assert!(citing("U1", "checking nightjar"), "an outsider");
    assert!(!citing("U1", "INC-7"));
    let car = event(json!({"user_id": "U1", "subject_type": "vehicle", "subject_vrm": "AB12 CDE",
                           "subject_name": null, "subject_dob": null}));
    assert!(enrich(&car, &l, &c.explanation).on_operation, "its subject, whoever looks");
}

/// A custody unit of no one suite explains its custody work at every suite, but not
/// the person: a celebrity held anywhere is still the high-profile rule's (found by a
/// review: a force-wide unit silenced it at every suite). `suite_units` names such a
/// unit under "*".
#[test]
fn a_force_wide_custody_unit_explains_the_custody_not_the_person() {
    let c = Config::defaults();
    let mut rows = vec![
        (
            Custody,
            json!({"custody_ref": "CUS-1", "subject_name": "MATE, Dave", "subject_dob": "1990-06-01",
                   "suite": "Central", "arrested_at": "2026-11-22T08:00:00Z", "officers": "U5"}),
        ),
        (Staff, json!({"user_id": "U6", "unit": "Custody Central Days"})),
        (Staff, json!({"user_id": "U13", "unit": "Custody Detention Officers"})),
    ];
    let l = lists(&rows);
    let dave = |user: &str| event(json!({"user_id": user, "subject_name": "MATE, Dave", "subject_dob": "1990-06-01"}));
    let explained = |e: &AccessEvent, l: &WatchLists, c: &Config| {
        let x = enrich(e, l, &c.explanation).explanation;
        (x.kind(), x.is_about_subject())
    };
    assert_eq!(explained(&dave("U6"), &l, &c), (Some(Kind::Custody), true), "the suite's own");
    assert_eq!(explained(&dave("U13"), &l, &c), (Some(Kind::Custody), false), "the force's");
    rows.push((Staff, json!({"user_id": "U15", "unit": "Escorts"})));
    let l = lists(&rows);
    assert_eq!(explained(&dave("U15"), &l, &c).0, None);
    let c = Config::from_toml("t.toml", "[explanation]\nsuite_units = { \"*\" = [\"Escorts\"] }\n").unwrap();
    assert_eq!(explained(&dave("U15"), &l, &c), (Some(Kind::Custody), false), "listed for every suite");
}

/// A reference that justifies the access is said once in a sentence, not again as what
/// explains it (an evaluator read "gave reference X, which justifies it, though
/// explained by reference X" as a contradiction).
#[test]
fn a_justifying_reference_is_said_once() {
    let c = Config::defaults();
    let l = force();
    let e = event(json!({"reference": "INC-1", "subject_name": "SMITH, John"}));
    let ctx = enrich(&e, &l, &c.explanation);
    assert_eq!(ctx.explanation.kind(), Some(Kind::Reference));
    assert_eq!(ctx.why_not(), "gave reference INC-1, which justifies it");
}

/// An access before an incident opened is said to come before it, whether or not the
/// incident has closed since (an evaluator read "closed on ..., outside its window"
/// for a look-up made hours before it opened).
#[test]
fn an_access_before_an_incident_opened_is_said_to_be_before_it() {
    let c = Config::defaults();
    let l = lists(&[(
        Incidents,
        json!({"reference": "INC-9", "opened_at": "2026-11-22T16:30:00Z", "closed_at": "2026-11-23T09:00:00Z", "officers": ["U1"]}),
    )]);
    let e = event(json!({"reference": "INC-9", "subject_name": "SMITH, John"}));
    let ctx = enrich(&e, &l, &c.explanation);
    assert!(ctx.justification.why_not().contains("before it began"), "{}", ctx.justification.why_not());
}
