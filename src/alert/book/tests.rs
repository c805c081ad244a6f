use super::*;
use crate::alert::{AlertSubject, Category, Severity};
use crate::event::SubjectType;
use crate::time::HOUR;

pub(crate) fn alert(first: &str, ts: i64) -> Alert {
    Alert {
        alert_id: first.into(),
        rule: RuleId::SelfLookup,
        category: Category::SelfLookup,
        severity: Severity::Amber,
        score: 50,
        event_ts: Timestamp(ts),
        detected_at: Timestamp(0),
        user_id: "U1".into(),
        subject: AlertSubject {
            subject_type: SubjectType::Person,
            subject_id: None,
            subject_name: None,
            subject_dob: None,
            subject_postcode: None,
            subject_vrm: None,
            subject_sex: None,
        },
        event_ids: vec![first.into()],
        watchlist: None,
        confidence: crate::watchlist::Confidence::High,
        reason: String::new(),
        retrospective: false,
        system: "PNC".into(),
        action: crate::event::Action::View,
        proposed_watchlist: None,
        allowed: None,
        resolved: None,
        on_operation: false,
        more_events: 0,
        about_user: false,
        other_users: Vec::new(),
        user_risk: None,
        unit: None,
    }
}

fn offer(book: &mut AlertBook, sink: &mut CollectClosed, id: &str, ts: i64, release: Option<i64>) -> Offer {
    book.advance(Timestamp(ts), sink);
    book.offer(
        RuleId::SelfLookup,
        "U1",
        "self",
        Timestamp(ts),
        id,
        (Severity::Amber, 50, false),
        Span::hours(24),
        release.map(Timestamp),
        |_| alert(id, ts),
        sink,
    )
}

/// Offers access `id` to U1's self-look-up alert about `subject`, built by `make`.
#[allow(clippy::too_many_arguments)]
fn offer_with(
    book: &mut AlertBook,
    sink: &mut CollectClosed,
    subject: &str,
    id: &str,
    ts: i64,
    strength: (Severity, u8, bool),
    window: Span,
    make: impl FnOnce(Option<u8>) -> Alert,
) -> Offer {
    book.offer(RuleId::SelfLookup, "U1", subject, Timestamp(ts), id, strength, window, None, make, sink)
}

#[test]
fn repeats_fold_within_the_window_only() {
    let mut book = AlertBook::new(DetectClock::EventTime);
    let mut sink = CollectClosed::default();
    assert_eq!(offer(&mut book, &mut sink, "e1", 0, None), Offer::Raised);
    assert_eq!(offer(&mut book, &mut sink, "e2", 23 * HOUR, None), Offer::Folded);
    assert_eq!(offer(&mut book, &mut sink, "e3", 24 * HOUR, None), Offer::Raised);
    book.finish(&mut sink);
    let ids: Vec<Vec<&str>> = sink.0.iter().map(|a| a.event_ids.iter().map(|s| s.as_str()).collect()).collect();
    assert_eq!(ids, vec![vec!["e1", "e2"], vec!["e3"]]);
}

/// A stronger access folded into an open alert becomes its trigger: first in the
/// evidence, its time, system and action the alert's, with the alert's id kept.
#[test]
fn a_stronger_access_is_the_trigger_of_the_alert_it_joins() {
    let mut book = AlertBook::new(DetectClock::EventTime);
    let mut sink = CollectClosed::default();
    let mut offer_at = |id: &str, ts: i64, severity: Severity, system: &str| {
        book.advance(Timestamp(ts), &mut sink);
        let make = |_| Alert { severity, system: system.into(), ..alert(id, ts) };
        offer_with(&mut book, &mut sink, "self", id, ts, (severity, 50, false), Span::hours(24), make)
    };
    assert_eq!(offer_at("e1", 0, Severity::Green, "RMS"), Offer::Raised);
    assert_eq!(offer_at("e2", HOUR, Severity::Green, "RMS"), Offer::Folded);
    assert_eq!(offer_at("e3", 2 * HOUR, Severity::Red, "PND"), Offer::Escalated);
    assert_eq!(offer_at("e4", 3 * HOUR, Severity::Green, "RMS"), Offer::Folded);
    book.finish(&mut sink);
    let a = &sink.0[0];
    let ids: Vec<&str> = a.event_ids.iter().map(|s| s.as_str()).collect();
    assert_eq!(ids, ["e3", "e1", "e2", "e4"]);
    assert_eq!(
        (a.alert_id.as_str(), a.severity, a.event_ts, a.system.as_str()),
        ("e1", Severity::Red, Timestamp(2 * HOUR), "PND")
    );

    // A stronger access an allow list covers does not make the alert allowed, nor
    // take away the risk the accesses before it added.
    let mut book = AlertBook::new(DetectClock::EventTime);
    let mut sink = CollectClosed::default();
    let mut offer_at = |id: &str, ts: i64, severity: Severity, allowed: bool| {
        book.advance(Timestamp(ts), &mut sink);
        let make = |_| Alert {
            severity,
            allowed: allowed.then(|| crate::alert::Allowed { reason: "nightly".into(), expires: Timestamp(i64::MAX) }),
            user_risk: (!allowed).then_some(25),
            ..alert(id, ts)
        };
        offer_with(&mut book, &mut sink, "self", id, ts, (severity, 50, allowed), Span::hours(24), make)
    };
    offer_at("w1", 0, Severity::Amber, false);
    assert_eq!(offer_at("w2", HOUR, Severity::Red, true), Offer::Escalated);
    // The other way round: an allowed access first (the duty inspector's system),
    // then a weaker one no entry covers. It is allowed no more, and at risk (a review:
    // the uncovered look-up folded in, unseen and riskless).
    offer_at("x1", 30 * HOUR, Severity::Red, true);
    assert_eq!(offer_at("x2", 31 * HOUR, Severity::Amber, false), Offer::Folded);
    book.finish(&mut sink);
    let a = &sink.0[0];
    assert_eq!((a.severity, a.allowed.is_none(), a.user_risk), (Severity::Red, true, Some(25)));
    let b = &sink.0[1];
    assert_eq!(b.event_ids, ["x1", "x2"]);
    assert_eq!((b.severity, b.allowed.is_none(), b.user_risk), (Severity::Red, true, Some(25)));
}

/// A system that logs one transaction id for a search and the view after it: the
/// view, stronger, takes the alert over though its id is listed already, and the id
/// stays listed once (a review: the alert stayed amber, "matched by name only").
#[test]
fn a_stronger_access_under_an_id_listed_already_takes_the_alert_over() {
    let mut book = AlertBook::new(DetectClock::EventTime);
    let mut sink = CollectClosed::default();
    let mut offer_at = |id: &str, ts: i64, severity: Severity, action: crate::event::Action| {
        book.advance(Timestamp(ts), &mut sink);
        let make = |_| Alert { severity, action, ..alert(id, ts) };
        offer_with(&mut book, &mut sink, "self", id, ts, (severity, 50, false), Span::hours(24), make)
    };
    assert_eq!(offer_at("t1", 0, Severity::Amber, crate::event::Action::Search), Offer::Raised);
    assert_eq!(offer_at("t2", 60, Severity::Amber, crate::event::Action::View), Offer::Folded);
    assert_eq!(offer_at("t1", 120, Severity::Red, crate::event::Action::View), Offer::Escalated);
    book.finish(&mut sink);
    let a = &sink.0[0];
    assert_eq!(a.event_ids, ["t1", "t2"]);
    assert_eq!((a.severity, a.action, a.event_ts), (Severity::Red, crate::event::Action::View, Timestamp(120)));
}

#[test]
fn evidence_beyond_the_cap_is_counted_not_listed() {
    let mut book = AlertBook::new(DetectClock::EventTime);
    let mut sink = CollectClosed::default();
    for i in 0..(MAX_EVIDENCE as i64 + 250) {
        offer(&mut book, &mut sink, &format!("e{i}"), i, None);
    }
    book.finish(&mut sink);
    assert_eq!(sink.0.len(), 1);
    assert_eq!(sink.0[0].event_ids.len(), MAX_EVIDENCE);
    assert_eq!(sink.0[0].more_events, 250);
    assert!(sink.0[0].to_json().contains("\"more_events\":250"));
}

#[test]
fn held_alert_is_raised_at_its_release_time() {
    let mut book = AlertBook::new(DetectClock::EventTime);
    let mut sink = CollectClosed::default();
    assert_eq!(offer(&mut book, &mut sink, "e1", 0, Some(100 * HOUR)), Offer::Held);
    book.advance(Timestamp(99 * HOUR), &mut sink);
    assert!(sink.0.is_empty());
    book.advance(Timestamp(101 * HOUR), &mut sink);
    assert_eq!(sink.0.len(), 1, "released at 100h and its window long passed");
    assert_eq!(sink.0[0].detected_at, Timestamp(100 * HOUR));
}

#[test]
fn closes_in_raise_order() {
    let mut book = AlertBook::new(DetectClock::EventTime);
    let mut sink = CollectClosed::default();
    offer_with(&mut book, &mut sink, "a", "e1", 0, (Severity::Amber, 50, false), Span::hours(24), |_| alert("e1", 0));
    offer_with(&mut book, &mut sink, "b", "e2", 1, (Severity::Amber, 50, false), Span::hours(1), |_| alert("e2", 1));
    book.advance(Timestamp(2 * HOUR), &mut sink);
    assert!(sink.0.is_empty(), "the second waits for the first");
    book.advance(Timestamp(25 * HOUR), &mut sink);
    let firsts: Vec<&str> = sink.0.iter().map(|a| a.event_ids[0].as_str()).collect();
    assert_eq!(firsts, ["e1", "e2"]);
}

/// A stronger access adds to the user's risk only what the risk does not hold yet:
/// an allowed one between raises the alert's score but adds nothing, so the next is
/// measured from the score last counted (a review: 65, then 90 allowed, then 95
/// added 5 where 30 was due).
#[test]
fn a_takeover_counts_from_the_score_the_risk_holds() {
    let mut book = AlertBook::new(DetectClock::EventTime);
    let mut sink = CollectClosed::default();
    let counted = std::cell::RefCell::new(Vec::new());
    let mut step = |id: &str, ts: i64, score: u8, allowed: bool| {
        offer_with(
            &mut book,
            &mut sink,
            "self",
            id,
            ts,
            (crate::alert::Severity::Red, score, allowed),
            Span::hours(24),
            |before| {
                counted.borrow_mut().push(before);
                let mut a = alert(id, ts);
                a.score = score;
                a.allowed = allowed
                    .then(|| crate::alert::Allowed { reason: "PACE review".into(), expires: Timestamp(i64::MAX) });
                a
            },
        )
    };
    assert_eq!(step("e1", 0, 65, false), Offer::Raised);
    assert_eq!(step("e2", 1_000, 90, true), Offer::Escalated);
    assert_eq!(step("e3", 2_000, 95, false), Offer::Escalated);
    assert_eq!(*counted.borrow(), [None, Some(65), Some(65)]);
}
