use super::*;
use crate::time::{HOUR, MINUTE};

const B: Bounds = Bounds { allowed_lateness: Span(10 * MINUTE), max_skew: Span(5 * MINUTE), jump_events: 3 };
const T: i64 = 1_795_338_000_000; // 2026-11-22

fn event(n: usize, ts: i64) -> AccessEvent {
    event_of("PNC", n, ts)
}

fn event_of(system: &str, n: usize, ts: i64) -> AccessEvent {
    crate::event::json::decode(
        format!(
            r#"{{"event_id":"e{n}","ts":"{}","system":"{system}","user_id":"U1","action":"view","subject_type":"person"}}"#,
            Timestamp(ts)
        )
        .as_bytes(),
    )
    .unwrap()
}

/// Offers events in order; returns (event number, verdict) in the order judged.
fn judge(times: &[i64]) -> Vec<(usize, Verdict)> {
    judge_with(times, B)
}

fn judge_with(times: &[i64], b: Bounds) -> Vec<(usize, Verdict)> {
    let mut c = StreamClock::default();
    let mut out = Vec::new();
    let number = |e: &AccessEvent| e.event_id[1..].parse::<usize>().unwrap();
    for (n, &ts) in times.iter().enumerate() {
        let e = event(n, ts);
        match c.offer(&e, Receiver::Input, b) {
            Offered::Judged(v) => out.push((n, v)),
            Offered::Held => {}
            Offered::Released(list) => out.extend(list.iter().map(|(e, v)| (number(e), *v))),
        }
    }
    out.extend(c.finish(b).iter().map(|(e, v)| (number(e), *v)));
    out
}

#[test]
fn a_spike_mid_stream_is_skewed_and_moves_nothing() {
    let far = T + 70 * 365 * 24 * HOUR; // 2096: a source with a wrong clock
    let got = judge(&[T, T + MINUTE, far, T + 2 * MINUTE, T + 3 * MINUTE]);
    let expected = vec![
        (0, Verdict::OnTime),
        (1, Verdict::OnTime),
        (2, Verdict::Skewed { at: Timestamp(T + MINUTE) }),
        (3, Verdict::OnTime),
        (4, Verdict::OnTime),
    ];
    assert_eq!(got, expected);
}

#[test]
fn a_spike_as_the_first_event_is_skewed() {
    let got = judge(&[T + 100 * HOUR, T, T + MINUTE]);
    assert_eq!(got[0], (0, Verdict::Skewed { at: Timestamp(T) }));
    assert_eq!(&got[1..], &[(1, Verdict::OnTime), (2, Verdict::OnTime)]);
}

/// Records dated far ahead at the head of the input (a terminal that booted with
/// the wrong date): they are skewed, and the stream's own events stay on time.
/// With the front taken from the first event, every later event was late.
#[test]
fn spikes_at_the_head_of_the_input_are_skewed_and_the_stream_stays_on_time() {
    let far = T + 70 * 365 * 24 * HOUR;
    // The first six events are held (as the first 64 are by default).
    let b = Bounds { jump_events: 6, ..B };
    let got = judge_with(&[far, far, T, T + MINUTE, T + 2 * MINUTE, T + 3 * MINUTE, T + 4 * MINUTE], b);
    let skewed = Verdict::Skewed { at: Timestamp(T) };
    assert_eq!(&got[..2], &[(0, skewed), (1, skewed)], "{got:?}");
    assert!(got[2..].iter().all(|(_, v)| *v == Verdict::OnTime), "{got:?}");
    assert_eq!(got.len(), 7);
    // Most of the records held at the head dated after the wall clock (a probe's
    // forty among the first 64): still the spikes, not the present.
    let mut times = vec![far; 40];
    times.extend((0..30).map(|m| T + m * MINUTE));
    let got = judge_with(&times, Bounds { jump_events: 64, ..B });
    assert!(got[..40].iter().all(|(_, v)| *v == skewed), "{got:?}");
    assert!(got[40..].iter().all(|(_, v)| *v == Verdict::OnTime), "{got:?}");
    // An input of only such records ends with them judged, none lost.
    assert_eq!(judge_with(&[far, far], b).len(), 2);
    // With the smallest jump setting a spike at the head is still a spike.
    let one = Bounds { jump_events: 1, ..B };
    let got = judge_with(&[far, T, T + MINUTE], one);
    assert_eq!(got, [(0, Verdict::Skewed { at: Timestamp(T) }), (1, Verdict::OnTime), (2, Verdict::OnTime)]);
    // Out of order at the head is not a spike: the first event holds the front and
    // the one an hour behind it is late, as anywhere in the stream.
    let got = judge(&[T, T + MINUTE, T - HOUR, T + 2 * MINUTE]);
    let expected = [(0, Verdict::OnTime), (1, Verdict::OnTime), (2, Verdict::Late), (3, Verdict::OnTime)];
    assert_eq!(got, expected);
}

#[test]
fn a_gap_in_the_logs_is_a_jump_once_enough_events_agree_and_nothing_is_lost() {
    let got = judge(&[T, T + 2 * HOUR, T + 2 * HOUR + MINUTE, T + 2 * HOUR + 2 * MINUTE, T + 2 * HOUR + 3 * MINUTE]);
    assert_eq!(got.iter().map(|(n, _)| *n).collect::<Vec<_>>(), vec![0, 1, 2, 3, 4], "in arrival order");
    assert!(got.iter().all(|(_, v)| *v == Verdict::OnTime), "{got:?}");
    // A sparse stream that ends inside a run: the input's end accepts it.
    let sparse = judge(&[T, T + HOUR, T + 2 * HOUR]);
    assert!(sparse.iter().all(|(_, v)| *v == Verdict::OnTime), "{sparse:?}");
    assert_eq!(sparse.len(), 3);
}

/// Offers (system, time) pairs in order; returns the verdicts in the order judged.
fn judge_systems(events: &[(&str, i64)]) -> (Vec<(usize, Verdict)>, StreamClock) {
    let events: Vec<AccessEvent> =
        events.iter().enumerate().map(|(n, &(system, ts))| event_of(system, n, ts)).collect();
    judge_events(&events)
}

fn judge_events(events: &[AccessEvent]) -> (Vec<(usize, Verdict)>, StreamClock) {
    let mut c = StreamClock::default();
    let mut out = Vec::new();
    let number = |e: &AccessEvent| e.event_id[1..].parse::<usize>().unwrap();
    for (n, e) in events.iter().enumerate() {
        match c.offer(e, Receiver::Input, B) {
            Offered::Judged(v) => out.push((n, v)),
            Offered::Held => {}
            Offered::Released(list) => out.extend(list.iter().map(|(e, v)| (number(e), *v))),
        }
    }
    (out, c)
}

/// A sparse log (one officer's night extract, a view every six minutes) goes on
/// from its front, each event "ahead" of the last by more than the skew: not one
/// system's clock fault because another system reported once before it (an
/// evaluator's replay: 64 of 70 events skewed, the detectors blind to them).
#[test]
fn a_sparse_log_goes_on_and_is_no_clock_fault() {
    let b = Bounds { jump_events: 64, ..B };
    let events: Vec<AccessEvent> = std::iter::once(event_of("PND", 0, T))
        .chain((1..=150).map(|i| event_of("PNC", i, T + i as i64 * 6 * MINUTE)))
        .collect();
    let mut c = StreamClock::default();
    let mut got = Vec::new();
    for e in &events {
        match c.offer(e, Receiver::Input, b) {
            Offered::Judged(v) => got.push(v),
            Offered::Held => {}
            Offered::Released(list) => got.extend(list.iter().map(|(_, v)| *v)),
        }
    }
    got.extend(c.finish(b).iter().map(|(_, v)| *v));
    assert_eq!(got.len(), events.len(), "nothing lost");
    assert!(got.iter().all(|v| *v == Verdict::OnTime), "{got:?}");
    assert_eq!(c.newest(), Some(Timestamp(T + 150 * 6 * MINUTE)));
}

/// Every system quiet for an hour, then the logs resume on one of them first (a
/// hostile probe: one RMS record before the quiet made PNC's next 64 events a
/// clock fault, and the export alert after a celebrity's look-up was lost): a gap.
/// The same run a day ahead is still that system's clock.
#[test]
fn logs_resuming_on_one_system_after_a_quiet_spell_are_a_gap() {
    let resume = |after: i64| {
        let mut events: Vec<(&str, i64)> =
            (0..10).map(|i| (if i % 2 == 0 { "PNC" } else { "RMS" }, T + i * MINUTE)).collect();
        events.extend((0..2 * B.jump_events as i64).map(|i| ("PNC", T + 9 * MINUTE + after + i * MINUTE)));
        let (mut got, mut clock) = judge_systems(&events);
        got.extend(clock.finish(B).iter().map(|(e, v)| (e.event_id[1..].parse::<usize>().unwrap(), *v)));
        assert_eq!(got.len(), events.len(), "nothing lost");
        got.iter().filter(|(_, v)| matches!(v, Verdict::Skewed { .. })).count()
    };
    assert_eq!(resume(HOUR), 0);
    assert_eq!(resume(11 * HOUR), 0);
    assert_eq!(resume(24 * HOUR), 2 * B.jump_events);

    // The other system's next event agrees with the run: a gap, both on time.
    let mut both: Vec<(&str, i64)> =
        (0..10).map(|i| (if i % 2 == 0 { "PNC" } else { "RMS" }, T + i * MINUTE)).collect();
    both.extend((0..2 * B.jump_events as i64).map(|i| ("PNC", T + HOUR + i * MINUTE)));
    both.push(("RMS", T + HOUR + 10 * MINUTE));
    let (got, clock) = judge_systems(&both);
    assert_eq!(got.len(), both.len(), "{got:?}");
    assert!(got.iter().all(|(_, v)| *v == Verdict::OnTime), "{got:?}");
    assert!(clock.newest().unwrap().0 >= T + HOUR);
}

/// A system that logs summer time as UTC (an hour ahead) sends a burst of more
/// events in a row than a jump needs, then the other system reports on in the
/// present: the burst was that system's clock, and the other system's events stay on
/// time (a review: taken for a gap, the front followed the wrong clock and every
/// other system's event was late, the behavioural detectors blind to them).
#[test]
fn a_system_an_hour_out_does_not_make_the_others_late() {
    let mut events: Vec<(&str, i64)> =
        (0..10).map(|i| (if i % 2 == 0 { "PNC" } else { "CAD" }, T + i * MINUTE)).collect();
    events.extend((0..2 * B.jump_events as i64).map(|i| ("CAD", T + 10 * MINUTE + HOUR + i * 10_000)));
    events.extend((0..4).map(|i| ("PNC", T + 11 * MINUTE + i * MINUTE)));
    let (got, clock) = judge_systems(&events);
    assert_eq!(got.len(), events.len(), "nothing lost: {got:?}");
    let burst = 10..10 + 2 * B.jump_events;
    assert!(got.iter().filter(|(n, _)| burst.contains(n)).all(|(_, v)| matches!(v, Verdict::Skewed { .. })), "{got:?}");
    assert!(got.iter().filter(|(n, _)| !burst.contains(n)).all(|(_, v)| *v == Verdict::OnTime), "{got:?}");
    assert!(clock.newest().unwrap().0 < T + HOUR, "the front stayed in the present");
}

#[test]
fn one_systems_clock_jumping_a_year_is_its_fault_while_the_others_report_on() {
    let year = 365 * 24 * HOUR;
    let mut events: Vec<(&str, i64)> =
        (0..10).map(|i| (if i % 2 == 0 { "PNC" } else { "CAD" }, T + i * MINUTE)).collect();
    // CAD's clock jumps a year: more events in a row than a jump needs.
    events.extend((0..2 * B.jump_events as i64).map(|i| ("CAD", T + year + i * MINUTE)));
    events.extend((0..4).map(|i| ("PNC", T + 11 * MINUTE + i * MINUTE)));
    let (got, clock) = judge_systems(&events);
    assert_eq!(got.len(), events.len(), "nothing lost: {got:?}");
    let skewed = got.iter().filter(|(_, v)| matches!(v, Verdict::Skewed { .. })).count();
    assert_eq!(skewed, 2 * B.jump_events, "{got:?}");
    assert!(got.iter().filter(|(n, _)| *n >= 16).all(|(_, v)| *v == Verdict::OnTime), "{got:?}");
    assert!(clock.newest().unwrap().0 < T + HOUR, "the front stayed in the present");

    // Logs that resume after a gap on both systems: a jump.
    let mut gap: Vec<(&str, i64)> = (0..10).map(|i| (if i % 2 == 0 { "PNC" } else { "CAD" }, T + i * MINUTE)).collect();
    gap.extend((0..6).map(|i| (if i % 2 == 0 { "CAD" } else { "PNC" }, T + year + i * MINUTE)));
    let (got, clock) = judge_systems(&gap);
    assert!(got.iter().all(|(_, v)| *v == Verdict::OnTime), "{got:?}");
    assert!(clock.newest().unwrap().0 > T + year);

    // Once the other system has been silent for a while, one system's run is a jump.
    let mut alone: Vec<(&str, i64)> = vec![("CAD", T), ("PNC", T + MINUTE)];
    let quiet = ACTIVE_WINDOW as i64 * B.jump_events as i64;
    alone.extend((0..quiet).map(|i| ("PNC", T + 2 * MINUTE + i * 1_000)));
    alone.extend((0..B.jump_events as i64).map(|i| ("PNC", T + year + i * MINUTE)));
    let (got, clock) = judge_systems(&alone);
    assert!(got.iter().all(|(_, v)| *v == Verdict::OnTime), "{got:?}");
    assert!(clock.newest().unwrap().0 > T + year);

    // The boundary: the other system among the last 4 x clock_jump_events
    // arrivals (counting the run) holds the front; one arrival further back, not.
    let jump = B.jump_events as i64;
    let run_after = |on_time: i64| {
        let mut events: Vec<(&str, i64)> = vec![("PNC", T), ("CAD", T + 1_000)];
        events.extend((0..on_time).map(|i| ("PNC", T + 2_000 + i * 1_000)));
        events.extend((0..jump).map(|i| ("PNC", T + year + i * MINUTE)));
        judge_systems(&events).1.newest().unwrap().0 > T + year
    };
    assert!(!run_after(quiet - jump - 1), "CAD was the 4 x clock_jump_events-th arrival back");
    assert!(run_after(quiet - jump), "CAD was one arrival further back");
}

/// One user's terminal dated a year ahead, in a one-system log, while others
/// report on: held, then skewed when the others' events come back within the front
/// (a hostile probe: the run was taken as a gap in the logs, and every later event
/// was late). The same run joined by another user's events is a jump.
#[test]
fn one_users_clock_jumping_a_year_is_its_fault_while_the_others_report_on() {
    let year = 365 * 24 * HOUR;
    let by = |user: &str, n: usize, ts: i64| {
        let mut e = event(n, ts);
        e.user_id = user.into();
        e
    };
    let mut events: Vec<AccessEvent> =
        (0..10).map(|i| by(if i % 2 == 0 { "U1" } else { "U2" }, i, T + i as i64 * MINUTE)).collect();
    let run = 3 * B.jump_events;
    events.extend((0..run).map(|i| by("U9", 10 + i, T + year + i as i64 * MINUTE)));
    events.extend((0..4).map(|i| by("U1", 10 + run + i, T + 11 * MINUTE + i as i64 * MINUTE)));
    let (got, clock) = judge_events(&events);
    assert_eq!(got.len(), events.len(), "nothing lost: {got:?}");
    let skewed = got.iter().filter(|(_, v)| matches!(v, Verdict::Skewed { .. })).count();
    assert_eq!(skewed, run, "{got:?}");
    assert!(got.iter().filter(|(n, _)| *n >= 10 + run).all(|(_, v)| *v == Verdict::OnTime), "{got:?}");
    assert!(clock.newest().unwrap().0 < T + HOUR, "the front stayed in the present");

    let mut gap = events[..10 + run].to_vec();
    gap.extend((0..2).map(|i| by("U2", 10 + run + i, T + year + HOUR + i as i64 * MINUTE)));
    let (got, clock) = judge_events(&gap);
    assert!(got.iter().all(|(_, v)| *v == Verdict::OnTime), "{got:?}");
    assert!(clock.newest().unwrap().0 > T + year);

    // A shared terminal's clock (a review: two users taking turns at it), a longer
    // run: held all the same.
    let mut shared: Vec<AccessEvent> = events[..10].to_vec();
    let run = 10 * B.jump_events;
    shared.extend((0..run).map(|i| {
        let mut e = by(if i % 2 == 0 { "U8" } else { "U9" }, 10 + i, T + year + i as i64 * MINUTE);
        e.terminal = Some("CUSTODY-1".into());
        e
    }));
    shared.extend((0..4).map(|i| by("U1", 10 + run + i, T + 11 * MINUTE + i as i64 * MINUTE)));
    let (got, clock) = judge_events(&shared);
    assert_eq!(got.len(), shared.len(), "nothing lost: {got:?}");
    assert_eq!(got.iter().filter(|(_, v)| matches!(v, Verdict::Skewed { .. })).count(), run, "{got:?}");
    assert!(clock.newest().unwrap().0 < T + HOUR, "the front stayed in the present");
}

#[test]
fn late_events_stay_late_and_live_the_wall_clock_bounds_the_front() {
    let got = judge(&[T, T + MINUTE, T - HOUR]);
    assert_eq!(got[2], (2, Verdict::Late));
    let mut live = StreamClock::default();
    let now = Timestamp(T);
    let judged = |c: &mut StreamClock, ts: i64| match c.offer(&event(0, ts), Receiver::Wall(now), B) {
        Offered::Judged(v) => v,
        _ => panic!("live events are judged at once"),
    };
    assert_eq!(judged(&mut live, T - MINUTE), Verdict::OnTime);
    assert_eq!(judged(&mut live, T + HOUR), Verdict::Skewed { at: Timestamp(T - MINUTE) });
    assert_eq!(judged(&mut live, T), Verdict::OnTime, "the skewed event did not move the front");
    assert_eq!(live.newest(), Some(Timestamp(T)));
    live.clamp(Timestamp(T - HOUR));
    assert_eq!(live.newest(), Some(Timestamp(T - HOUR)));
}

#[test]
fn a_spike_just_before_a_gap_is_skewed_and_the_rest_stays_on_time() {
    let mut c = StreamClock::default();
    let mut verdicts = Vec::new();
    let take = |o: Offered, out: &mut Vec<(i64, bool)>| match o {
        Offered::Judged(v) => out.push((0, matches!(v, Verdict::Skewed { .. }))),
        Offered::Held => {}
        Offered::Released(es) => out.extend(es.into_iter().map(|(e, v)| (e.ts.0, matches!(v, Verdict::Skewed { .. })))),
    };
    for i in 0..10 {
        take(c.offer(&event(i, T + i as i64 * 1_000), Receiver::Input, B), &mut verdicts);
    }
    // A record from 2099, then a six-minute gap in the logs, then the logs go on.
    let spike = 4_000_000_000_000; // 2096
    take(c.offer(&event(99, spike), Receiver::Input, B), &mut verdicts);
    for i in 0..(B.jump_events + 5) {
        take(c.offer(&event(100 + i, T + 400_000 + i as i64 * 1_000), Receiver::Input, B), &mut verdicts);
    }
    take(Offered::Released(c.finish(B)), &mut verdicts);
    let skewed: Vec<i64> = verdicts.iter().filter(|(_, s)| *s).map(|(t, _)| *t).collect();
    assert_eq!(skewed, [spike], "{verdicts:?}");
    assert!(c.newest().unwrap().0 < spike, "the front did not jump to 2099");
}

/// A quiet spell longer than the skew, the logs resuming, and a record dated 2099
/// arriving just as the resumed run is long enough to be taken for a jump (a probe: the
/// 2099 record was judged on time with the run, and 87% of the week after it was late,
/// every behavioural alert lost). It is skewed; the rest is on time.
#[test]
fn a_spike_that_completes_a_run_after_a_quiet_spell_is_skewed() {
    let spike = T + 73 * 365 * 24 * HOUR;
    for jump_events in [3, 64] {
        let b = Bounds { jump_events, ..B };
        let mut times = vec![T, T + MINUTE];
        let resumed = T + 15 * MINUTE;
        times.extend((0..jump_events as i64 - 1).map(|i| resumed + i * 1_000));
        times.push(spike);
        times.extend((0..100).map(|i| resumed + MINUTE + i * 1_000));
        let got = judge_with(&times, b);
        assert_eq!(got.len(), times.len(), "nothing lost");
        let skewed: Vec<usize> =
            got.iter().filter(|(_, v)| matches!(v, Verdict::Skewed { .. })).map(|(n, _)| *n).collect();
        assert_eq!(skewed, [jump_events + 1], "{jump_events}");
        assert!(got.iter().all(|(_, v)| *v != Verdict::Late), "{jump_events}: {got:?}");
        // Two such records in a row, or two far-future times apart (a review).
        for second in [spike + 5_000, spike - 365 * 24 * HOUR] {
            let mut times = times.clone();
            times.insert(jump_events + 2, second);
            let got = judge_with(&times, b);
            assert_eq!(got.len(), times.len(), "nothing lost");
            let skewed = got.iter().filter(|(_, v)| matches!(v, Verdict::Skewed { .. })).count();
            assert_eq!(skewed, 2, "{jump_events}: {got:?}");
            assert!(got.iter().all(|(_, v)| *v != Verdict::Late), "{jump_events}: {got:?}");
        }
    }
}

/// Two genuine gaps in a night's logs, then one straggler from before them: the run
/// after the gaps is a jump as before, the straggler late (a second review: the run was
/// held for its second gap, and the straggler made all 64 events a clock fault).
#[test]
fn a_second_gap_in_the_logs_then_a_straggler_blinds_nothing() {
    let b = Bounds { jump_events: 64, ..B };
    let mut times: Vec<i64> = (0..100).map(|i| T + i * 1_000).collect();
    times.extend((0..40).map(|i| T + 101 * MINUTE + i * 1_000));
    times.extend((0..24).map(|i| T + 251 * MINUTE + i * 1_000));
    times.push(T + 101_000);
    times.extend((0..10).map(|i| T + 252 * MINUTE + i * 1_000));
    let got = judge_with(&times, b);
    assert_eq!(got.len(), times.len(), "nothing lost");
    assert!(!got.iter().any(|(_, v)| matches!(v, Verdict::Skewed { .. })), "{got:?}");
    assert_eq!(got.iter().filter(|(_, v)| *v == Verdict::Late).count(), 1, "{got:?}");
}

proptest::proptest! {
    /// The counted spikes are the ones the definition gives, event by event.
    #[test]
    fn spikes_counted_in_the_tree_are_the_definitions(
        times in proptest::collection::vec(0i64..50, 0..60),
        skew in 0i64..20,
    ) {
        let held: Vec<AccessEvent> = times
            .iter()
            .enumerate()
            .map(|(n, &t)| event(n, T + t * 1_000))
            .collect();
        let max_skew = Span(skew * 1_000);
        let naive: Vec<bool> = (0..held.len())
            .map(|i| {
                let later = &held[i + 1..];
                2 * later.iter().filter(|e| held[i].ts > e.ts + max_skew).count() > later.len()
            })
            .collect();
        proptest::prop_assert_eq!(spikes(&held, max_skew), naive);
    }
}
