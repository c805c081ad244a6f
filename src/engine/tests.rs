use super::*;
use crate::event::json;
use crate::watchlist::{load_dir, read::read_row, read::JsonCells};

/// Keeps the latest version of every alert raised or updated, like a consumer of
/// the alert topic.
#[derive(Default)]
struct Topic {
    latest: std::collections::BTreeMap<CompactString, Alert>,
    messages: usize,
}

impl AlertSink for Topic {
    fn raised(&mut self, a: &Alert) {
        self.messages += 1;
        self.latest.insert(a.alert_id.clone(), a.clone());
    }
    fn updated(&mut self, a: &Alert) {
        self.raised(a);
    }
}

fn golden(case: &str) -> (Arc<Config>, WatchLists, Vec<AccessEvent>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(case);
    let config = Config::load(&dir.join("config.toml")).unwrap_or_else(|_| Config::defaults());
    let (lists, _) = load_dir(&dir.join("watchlists")).unwrap();
    let text = std::fs::read_to_string(dir.join("input/events.jsonl")).unwrap();
    let events = text.lines().map(|l| json::decode(l.as_bytes()).unwrap()).collect();
    (Arc::new(config), lists, events)
}

#[test]
fn restored_alerts_make_reprocessing_idempotent() {
    for case in ["personal", "custody", "high_profile"] {
        let (config, lists, events) = golden(case);
        let mut first = Engine::new(config.clone(), lists, DetectClock::WallClock);
        let mut topic = Topic::default();
        for e in &events {
            first.process_on(3, e, &mut topic);
        }
        assert!(!topic.latest.is_empty(), "{case}");

        // A restart: a new engine restores the topic's alerts, then the same events
        // arrive again (nothing was committed).
        let (_, lists, _) = golden(case);
        let mut second = Engine::new(config, lists, DetectClock::WallClock);
        let restored = second.restore(3, topic.latest.values().cloned());
        assert!(restored > 0, "{case}");
        let mut again = Topic::default();
        for e in &events {
            second.process_on(3, e, &mut again);
        }
        assert_eq!(again.messages, 0, "{case}: reprocessing raised {:?}", again.latest.keys());
    }
}

#[test]
fn live_high_profile_entry_raises_what_a_replay_with_it_would() {
    let (config, lists, events) = golden("high_profile");
    // The replay with the entry present from the start.
    let mut replay = Engine::new(config.clone(), lists, DetectClock::EventTime);
    let mut expected = Topic::default();
    for e in &events {
        replay.process(e, &mut expected);
    }
    replay.finish(&mut expected);

    // Live: the entry is absent until after the last event, then arrives.
    let (_, mut lists, _) = golden("high_profile");
    let entry = lists.delete(TableName::HighProfile, "HP-1").unwrap();
    let mut live = Engine::new(config, lists, DetectClock::EventTime).with_history(1_000);
    let mut got = Topic::default();
    for e in &events {
        live.process(e, &mut got);
    }
    assert!(got.latest.values().all(|a| a.rule != RuleId::HighProfileUninvolved));
    live.apply(ListChange::Upsert { key: "HP-1".into(), row: entry }, &mut got);
    live.finish(&mut got);

    let pick = |t: &Topic| -> Vec<(CompactString, Vec<CompactString>)> {
        t.latest
            .values()
            .filter(|a| a.rule == RuleId::HighProfileUninvolved)
            .map(|a| (a.alert_id.clone(), a.event_ids.clone()))
            .collect()
    };
    assert_eq!(pick(&got), pick(&expected));
    assert_eq!(pick(&got).len(), 4);
}

#[test]
fn a_full_history_keeps_the_newest_accesses() {
    let (_, _, events) = golden("high_profile");
    let mut h = History { events: Default::default(), max_events: 2 };
    for (i, e) in events.iter().take(5).enumerate() {
        h.remember(i as i32, e);
    }
    let kept: Vec<(i32, &AccessEvent)> = h.events.iter().map(|(s, e)| (*s, &**e)).collect();
    assert_eq!(kept, vec![(3, &events[3]), (4, &events[4])]);
}

#[test]
fn dropped_stream_forgets_its_open_alerts() {
    let (config, lists, events) = golden("personal");
    let mut engine = Engine::new(config, lists, DetectClock::WallClock);
    let mut topic = Topic::default();
    engine.process_on(1, &events[0], &mut topic);
    assert_eq!(engine.open_alerts(), 1);
    engine.drop_stream(1);
    assert_eq!(engine.open_alerts(), 0);
    // A row from a topic changes the very next event (its key and id in lower case are
    // still the user's).
    let row = read_row(
        TableName::Staff,
        &JsonCells(serde_json::json!({"user_id": "u3", "status": "suspended"}).as_object().unwrap()),
    )
    .unwrap();
    engine.apply(ListChange::Upsert { key: "u3".into(), row }, &mut topic);
    let by_u3 = events.iter().find(|e| e.user_id == "U3").unwrap();
    engine.process_on(1, by_u3, &mut topic);
    assert!(topic.latest.values().any(|a| a.rule == RuleId::AccountStatus && a.user_id == "U3"));
}

/// A force where U1 (Response) checks Dave Mate while he is in custody, citing INC-7,
/// an incident that does not exist yet.
fn late_incident_case() -> (Arc<Config>, WatchLists, AccessEvent) {
    let row = |t: TableName, v: serde_json::Value| read_row(t, &JsonCells(v.as_object().unwrap())).unwrap();
    let mut lists = WatchLists::default();
    lists.upsert(row(
        TableName::Custody,
        serde_json::json!({"custody_ref": "CUS-1", "subject_name": "MATE, Dave", "subject_dob": "1990-06-01",
                           "arrested_at": "2026-11-22T08:00:00Z", "officers": "U9"}),
    ));
    lists.upsert(row(TableName::Staff, serde_json::json!({"user_id": "U1", "unit": "Response"})));
    let event = json::decode(
        br#"{"event_id":"e1","ts":"2026-11-22T10:00:00Z","system":"PNC","user_id":"U1","action":"view","subject_type":"person","subject_name":"Dave Mate","subject_dob":"1990-06-01","reference":"INC-7"}"#,
    )
    .unwrap();
    (Arc::new(Config::defaults()), lists, event)
}

fn incident(recorded_at: &str) -> ListChange {
    let row = read_row(
        TableName::Incidents,
        &JsonCells(
            serde_json::json!({"reference": "INC-7", "opened_at": "2026-11-22T09:50:00Z", "officers": "U1",
                               "recorded_at": recorded_at})
            .as_object()
            .unwrap(),
        ),
    )
    .unwrap();
    ListChange::Upsert { key: "INC-7".into(), row }
}

#[test]
fn an_incident_recorded_within_the_grace_resolves_the_alert_it_explains() {
    let (config, lists, event) = late_incident_case();
    let mut engine = Engine::new(config, lists, DetectClock::WallClock);
    let mut topic = Topic::default();
    engine.process(&event, &mut topic);
    let raised = topic.latest.values().find(|a| a.rule == RuleId::CustodyUninvolved).unwrap().clone();
    assert!(raised.resolved.is_none());
    assert!(raised.reason.contains("INC-7, which is not a known incident"), "{}", raised.reason);

    // The officer logs the incident at the end of the shift, eight hours later.
    engine.apply(incident("2026-11-22T18:00:00Z"), &mut topic);
    let updated = &topic.latest[&raised.alert_id];
    let resolved = updated.resolved.as_ref().expect("resolved by the late incident");
    assert_eq!(resolved.by, "reference");
    assert!(resolved.reason.contains("incidents row INC-7 arrived after the alert was raised"), "{}", resolved.reason);
    assert!(resolved.reason.contains("explained by reference INC-7"), "{}", resolved.reason);
    assert_eq!(updated.event_ids, raised.event_ids, "the same alert, updated");
    assert_eq!(engine.stats().resolved, 1);

    // Resolved alerts are final: they reach the file with `resolved` set.
    let mut closed = crate::alert::book::CollectClosed::default();
    engine.finish(&mut closed);
    assert!(closed.0.iter().any(|a| a.alert_id == raised.alert_id && a.resolved.is_some()));
}

/// A reference written among other words (`Ref: INC-7`) of an incident recorded late
/// and owned by the user's unit (no officer named, so the alert is found by its
/// reference alone): resolved live, as a replay with the row explains it (a review:
/// the trigger was filed under `REFINC7` only).
#[test]
fn a_labelled_reference_of_a_late_incident_resolves_its_alert() {
    let (config, lists, mut event) = late_incident_case();
    event.reference = Some("Ref: INC-7".into());
    let mut engine = Engine::new(config, lists, DetectClock::WallClock);
    let mut topic = Topic::default();
    engine.process(&event, &mut topic);
    let raised = topic.latest.values().find(|a| a.rule == RuleId::CustodyUninvolved).unwrap().clone();
    let row = read_row(
        TableName::Incidents,
        &JsonCells(
            serde_json::json!({"reference": "INC-7", "opened_at": "2026-11-22T09:50:00Z", "unit": "Response",
                               "recorded_at": "2026-11-22T18:00:00Z"})
            .as_object()
            .unwrap(),
        ),
    )
    .unwrap();
    engine.apply(ListChange::Upsert { key: "INC-7".into(), row }, &mut topic);
    let updated = &topic.latest[&raised.alert_id];
    let resolved = updated.resolved.as_ref().expect("resolved by the late incident");
    assert_eq!(resolved.by, "reference", "{}", resolved.reason);
}

/// An alert made stronger by a later access keeps that access as a trigger a late
/// explanation must answer (a review: the new trigger was kept by no one, and the
/// alert could never be resolved), and the earlier one too: an incident that explains
/// only the stronger access leaves the earlier search without a reference standing (a
/// review: it resolved the whole alert).
#[test]
fn an_escalated_alert_is_resolved_by_a_late_explanation_of_its_new_trigger() {
    for earlier_reference in ["INC-7", ""] {
        let (config, lists, event) = late_incident_case();
        let mut engine = Engine::new(config, lists, DetectClock::WallClock);
        let mut topic = Topic::default();
        let weak = json::decode(
            serde_json::json!({"event_id": "e0", "ts": "2026-11-22T09:59:00Z", "system": "PNC", "user_id": "U1",
                               "action": "search", "subject_type": "person", "subject_name": "MATE, D",
                               "reference": earlier_reference})
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        engine.process(&weak, &mut topic);
        let first = topic.latest.values().find(|a| a.rule == RuleId::CustodyUninvolved).unwrap().clone();
        engine.process(&event, &mut topic);
        let raised = topic.latest[&first.alert_id].clone();
        assert!(raised.severity > first.severity, "{:?} -> {:?}", first.severity, raised.severity);
        assert_eq!(raised.event_ids, ["e1", "e0"]);
        engine.apply(incident("2026-11-22T18:00:00Z"), &mut topic);
        let resolved = topic.latest[&raised.alert_id].resolved.is_some();
        assert_eq!(resolved, !earlier_reference.is_empty(), "earlier reference {earlier_reference:?}");
    }
}

/// Resolutions are counted where their alerts were: another rule's alert on an access
/// that touched an operation was counted in public (as on any subject), and so is its
/// resolution; only an operation's own alerts are counted apart.
#[test]
fn an_alert_on_an_operations_access_resolved_late_is_counted_where_it_was_raised() {
    let (config, mut lists, event) = late_incident_case();
    lists.upsert(
        read_row(
            TableName::Operations,
            &JsonCells(
                serde_json::json!({"operation": "NIGHTJAR", "subject_name": "MATE, Dave", "subject_dob": "1990-06-01",
                                   "team": "U5", "starts_at": "2026-11-01T00:00:00Z"})
                .as_object()
                .unwrap(),
            ),
        )
        .unwrap(),
    );
    let mut engine = Engine::new(config, lists, DetectClock::WallClock);
    let mut topic = Topic::default();
    engine.process(&event, &mut topic);
    let raised = topic.latest.values().find(|a| a.rule == RuleId::CustodyUninvolved).expect("raised").clone();
    assert!(raised.on_operation, "the access touched the operation");

    engine.apply(incident("2026-11-22T18:00:00Z"), &mut topic);
    assert!(topic.latest[&raised.alert_id].resolved.is_some(), "resolved by the late incident");
    assert_eq!(engine.stats().resolved, 1, "counted in public, as raised");
    assert_eq!(engine.stats().resolved_on_operations, 0);
    assert_eq!(engine.stats().resolved_all(), 1);
}

#[test]
fn an_incident_recorded_after_the_grace_resolves_nothing() {
    let (config, lists, event) = late_incident_case();
    let mut engine = Engine::new(config, lists, DetectClock::WallClock);
    let mut topic = Topic::default();
    engine.process(&event, &mut topic);
    engine.apply(incident("2026-11-24T10:00:00Z"), &mut topic);
    assert!(topic.latest.values().all(|a| a.resolved.is_none()));
    assert_eq!(engine.stats().resolved, 0);
}

/// Watch lists with one live operation, NIGHTJAR, on BUTLER, Charlotte (record 70/1B),
/// team U9.
fn nightjar() -> WatchLists {
    let mut lists = WatchLists::default();
    let row = serde_json::json!({"operation": "NIGHTJAR", "subject_id": "70/1B", "subject_name": "BUTLER, Charlotte",
                                 "subject_dob": "1970-01-01", "team": "U9", "starts_at": "2026-11-01T00:00:00Z"});
    lists.upsert(read_row(TableName::Operations, &JsonCells(row.as_object().unwrap())).unwrap());
    lists
}

#[test]
fn a_search_by_initial_then_the_full_record_raises_one_alert_at_the_stronger_severity() {
    let mut engine = Engine::new(Arc::new(Config::defaults()), nightjar(), DetectClock::WallClock);
    let mut topic = Topic::default();
    let e = |id: &str, ts: &str, extra: &str| {
        let text = format!(
            r#"{{"event_id":"{id}","ts":"{ts}","system":"PNC","user_id":"U1","subject_type":"person",{extra}}}"#
        );
        json::decode(text.as_bytes()).unwrap()
    };
    engine.process(&e("s1", "2026-11-22T10:00:00Z", r#""action":"search","subject_name":"BUTLER, C""#), &mut topic);
    let first = topic.latest.values().next().unwrap().clone();
    assert_eq!((first.severity, first.confidence), (crate::alert::Severity::Amber, crate::watchlist::Confidence::Low));
    engine.process(&e("v1", "2026-11-22T10:01:00Z", r#""action":"view","subject_id":"70/1B""#), &mut topic);
    assert_eq!(topic.latest.len(), 1, "one alert");
    let now = &topic.latest[&first.alert_id];
    assert_eq!((now.severity, now.confidence), (crate::alert::Severity::Red, crate::watchlist::Confidence::High));
    assert_eq!(now.event_ids, ["v1", "s1"], "the access that made it red is its trigger");
    assert_eq!(now.event_ts, Timestamp::parse_rfc3339("2026-11-22T10:01:00Z").unwrap());
    assert!(now.reason.contains("matched by record id"), "{}", now.reason);
}

/// A print after an outsider's look-up of an operation's subject is the operation's,
/// as the look-up's alert is: hidden from the uncleared and counted apart (a review:
/// counted in public, it told the officer the person she had looked up was sensitive
/// when nothing she could see had moved for the look-up).
#[test]
fn a_print_after_an_operations_look_up_is_the_operations() {
    let mut engine = Engine::new(Arc::new(Config::defaults()), nightjar(), DetectClock::WallClock);
    let mut topic = Topic::default();
    let e = |id: &str, ts: &str, action: &str, subject: &str| {
        let text = format!(
            r#"{{"event_id":"{id}","ts":"{ts}","system":"PNC","user_id":"U1","action":"{action}","subject_type":"person","subject_id":"{subject}"}}"#
        );
        json::decode(text.as_bytes()).unwrap()
    };
    engine.process(&e("v1", "2026-11-22T10:00:00Z", "view", "70/1B"), &mut topic);
    // A print of another record: only the look-up before it ties it to the operation.
    engine.process(&e("p1", "2026-11-22T10:05:00Z", "print", "70/2C"), &mut topic);
    let export = topic
        .latest
        .values()
        .find(|a| a.rule == RuleId::BehaviourExportAfterSensitive)
        .expect("the print after the red look-up is an alert");
    assert!(export.on_operation && export.counts_as_operations(), "{export:?}");
    assert!(topic.latest.values().any(|a| a.rule == RuleId::OpsecOutsider && a.counts_as_operations()));
}

#[test]
fn an_initial_only_match_on_an_explained_access_is_green() {
    let row = |t: TableName, v: serde_json::Value| read_row(t, &JsonCells(v.as_object().unwrap())).unwrap();
    let mut lists = WatchLists::default();
    lists.upsert(row(
        TableName::Operations,
        serde_json::json!({"operation": "NIGHTJAR", "subject_name": "BUTLER, Charlotte", "subject_dob": "1970-01-01",
                           "team": "U9", "starts_at": "2026-11-01T00:00:00Z"}),
    ));
    lists.upsert(row(
        TableName::Incidents,
        serde_json::json!({"reference": "CR-1", "opened_at": "2026-11-22T09:00:00Z", "officers": "U1"}),
    ));
    let mut engine = Engine::new(Arc::new(Config::defaults()), lists, DetectClock::WallClock);
    let mut topic = Topic::default();
    let e = json::decode(
        br#"{"event_id":"s1","ts":"2026-11-22T10:00:00Z","system":"PNC","user_id":"U1","action":"search","subject_type":"person","subject_name":"BUTLER, C","reference":"CR-1"}"#,
    )
    .unwrap();
    engine.process(&e, &mut topic);
    let a = topic.latest.values().next().expect("still recorded");
    assert_eq!((a.rule, a.severity), (RuleId::OpsecOutsider, crate::alert::Severity::Green));
    assert_eq!(a.watchlist.as_ref().unwrap().strength, crate::watchlist::MatchStrength::Initial);
}

/// Collects the user stage's alerts and its repartition records.
#[derive(Default)]
struct UserStage {
    topic: Topic,
    records: Vec<(String, Vec<u8>)>,
}

impl AlertSink for UserStage {
    fn raised(&mut self, a: &Alert) {
        self.topic.raised(a);
    }
    fn updated(&mut self, a: &Alert) {
        self.topic.raised(a);
    }
    fn repartition(&mut self, key: &str, record: &[u8]) {
        self.records.push((key.to_string(), record.to_vec()));
    }
}

fn partition_of(key: &str, n: u64) -> i32 {
    (ahash::RandomState::with_seeds(1, 2, 3, 4).hash_one(key) % n) as i32
}

/// The two stages of the live engine, run here in one process over four partitions
/// of each topic, raise what one replay raises: the same alert ids with the same
/// evidence, spikes and the peer comparison included.
#[test]
fn the_user_and_cross_user_stages_apart_raise_what_one_replay_does() {
    let dir = tempfile::tempdir().unwrap();
    let opts = crate::generate::Options { staff: 150, citizens: 3000, days: 7, ..Default::default() };
    crate::generate::generate(&opts, dir.path()).unwrap();
    let text = std::fs::read_to_string(dir.path().join("config.toml")).unwrap();
    let config = Arc::new(Config::from_toml("force", &text).unwrap());
    let lists = || load_dir(&dir.path().join("watchlists")).unwrap().0;
    let events: Vec<AccessEvent> = std::fs::read_to_string(dir.path().join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| json::decode(l.as_bytes()).unwrap())
        .collect();

    let mut replay = Engine::new(config.clone(), lists(), DetectClock::EventTime);
    let mut expected = Topic::default();
    for e in &events {
        replay.process(e, &mut expected);
    }
    replay.finish(&mut expected);

    let mut users = Engine::new(config.clone(), lists(), DetectClock::WallClock).with_repartition(true);
    let mut stage = UserStage::default();
    for e in &events {
        users.process_on(partition_of(&e.user_id, 4), e, &mut stage);
    }
    users.finish(&mut stage);
    // The cross-user stage takes the records in event-time order, then by user, then in
    // the order they were produced, as the reorder buffer releases them.
    let mut records: Vec<(crate::live::repartition::Access, usize, String, Vec<u8>)> = stage
        .records
        .into_iter()
        .enumerate()
        .map(|(i, (k, r))| (crate::live::repartition::record_access(&r).unwrap(), i, k, r))
        .collect();
    records.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let mut cross = Engine::new(config.clone(), lists(), DetectClock::WallClock).with_repartition(true);
    let mut got = stage.topic;
    for (_, _, key, record) in &records {
        let stream = crate::live::repartition::FIRST + partition_of(key, 4);
        cross.process_cross(stream, record, true, &mut got).unwrap();
    }
    cross.finish(&mut got);

    let view = |t: &Topic| -> std::collections::BTreeMap<String, (String, Vec<String>)> {
        t.latest
            .values()
            .map(|a| {
                (a.alert_id.to_string(), (a.rule.to_string(), a.event_ids.iter().map(|e| e.to_string()).collect()))
            })
            .collect()
    };
    let (want, have) = (view(&expected), view(&got));
    let missing: Vec<_> = want.iter().filter(|(k, _)| !have.contains_key(*k)).collect();
    let extra: Vec<_> = have.iter().filter(|(k, _)| !want.contains_key(*k)).collect();
    assert!(want.values().any(|(rule, _)| rule == "behaviour.subject_spike"), "the force has its spike");
    assert!(missing.is_empty() && extra.is_empty() && want == have, "missing {missing:?}\nextra {extra:?}");
}

/// Overlapping exports replayed together, and a source that sent records twice: each
/// copy after the first is counted, not judged, so the alerts and their evidence are
/// those of each event once. A record that reuses an id for another user's access is
/// judged; an event the snapshot covers is judged again (its alerts may not be out).
#[test]
fn a_second_copy_of_an_event_is_counted_not_judged() {
    for case in ["personal", "custody", "high_profile", "behaviour", "purpose"] {
        let (config, lists, events) = golden(case);
        let once = replay_events(config.clone(), lists, events.iter());
        let (_, lists, _) = golden(case);
        // Every event given twice, the second copy right after the first or half the
        // input later (two exports that overlap).
        let half = events.len() / 2;
        let twice = events.iter().flat_map(|e| [e, e]).chain(events[half..].iter());
        let mut engine = Engine::new(config.clone(), lists, DetectClock::EventTime);
        let mut sink = crate::alert::book::CollectClosed::default();
        for e in twice {
            engine.process(e, &mut sink);
        }
        engine.finish(&mut sink);
        assert_eq!(engine.stats().events, events.len() as u64, "{case}");
        assert_eq!(engine.stats().copies(), (events.len() + events.len() - half) as u64, "{case}");
        assert_eq!(ids_and_evidence(&sink.0), ids_and_evidence(&once), "{case}");
        assert!(!once.is_empty(), "{case}");
    }

    let (config, lists, events) = golden("personal");
    let mut engine = Engine::new(config, lists, DetectClock::EventTime);
    let mut sink = crate::alert::book::CollectClosed::default();
    let mut other_user = events[0].clone();
    other_user.user_id = "SOMEONE-ELSE".into();
    // Another access under the same id, user and second (a search, then the view of
    // what it found, logged under one transaction id) is judged, not a copy.
    let mut then_viewed = events[0].clone();
    then_viewed.action = crate::event::Action::View;
    then_viewed.subject_id = Some("a record of its own".into());
    engine.process(&events[0], &mut sink);
    engine.process(&other_user, &mut sink);
    engine.process(&then_viewed, &mut sink);
    engine.process_with(0, &events[0], false, &mut sink);
    engine.process_with(0, &events[0], false, &mut sink);
    engine.finish(&mut sink);
    assert_eq!((engine.stats().events, engine.stats().copies()), (5, 0));
    // A copy after the snapshot's offset of an event the snapshot covers is one.
    let (config, lists, events) = golden("personal");
    let mut engine = Engine::new(config, lists, DetectClock::EventTime);
    engine.process_with(0, &events[1], false, &mut sink);
    engine.process_with(0, &events[1], true, &mut sink);
    assert_eq!((engine.stats().events, engine.stats().copies()), (1, 1));
}

/// A source that sends events again after the instance restarted, or after the
/// partition moved: the stream's copies are in its snapshot with the key that hashed
/// them, so the instance that reads it back counts a copy of an event before the
/// snapshot's offset as one, and judges each event after it once.
#[test]
fn a_copy_sent_again_after_a_restart_is_still_a_copy() {
    for case in ["personal", "custody", "behaviour"] {
        let (config, lists, events) = golden(case);
        let half = events.len() / 2;
        let mut before = Engine::new(config.clone(), lists, DetectClock::EventTime);
        let mut sink = crate::alert::book::CollectClosed::default();
        for e in &events[..half] {
            before.process(e, &mut sink);
        }
        let snapshot = before.stream_state_json(0).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&snapshot).unwrap();
        let key = &json["learned"]["copies"]["key"];
        assert!(key.as_array().is_some_and(|k| k.len() == 4 && k.iter().all(|s| s.is_u64())), "{key}");

        // Another instance reads the snapshot back; the source sends everything again.
        let (_, lists, _) = golden(case);
        let mut after = Engine::new(config.clone(), lists, DetectClock::EventTime);
        after.restore_stream(0, &snapshot).unwrap();
        for e in &events {
            after.process(e, &mut sink);
        }
        after.finish(&mut sink);
        assert_eq!(
            (after.stats().events, after.stats().copies()),
            ((events.len() - half) as u64, half as u64),
            "{case}"
        );

        // A snapshot written before the copies were kept reads back with a fresh memory.
        let mut old = json.clone();
        old["learned"].as_object_mut().unwrap().remove("copies");
        let (_, lists, _) = golden(case);
        let mut upgraded = Engine::new(config, lists, DetectClock::EventTime);
        upgraded.restore_stream(0, &serde_json::to_vec(&old).unwrap()).unwrap();
        for e in &events {
            upgraded.process(e, &mut sink);
        }
        upgraded.finish(&mut sink);
        assert_eq!((upgraded.stats().events, upgraded.stats().copies()), (events.len() as u64, 0), "{case}");
    }
}

fn replay_events<'a>(
    config: Arc<Config>,
    lists: WatchLists,
    events: impl Iterator<Item = &'a AccessEvent>,
) -> Vec<Alert> {
    let mut engine = Engine::new(config, lists, DetectClock::EventTime);
    let mut sink = crate::alert::book::CollectClosed::default();
    for e in events {
        engine.process(e, &mut sink);
    }
    engine.finish(&mut sink);
    sink.0
}

fn ids_and_evidence(alerts: &[Alert]) -> Vec<(String, Vec<String>)> {
    alerts.iter().map(|a| (a.alert_id.to_string(), a.event_ids.iter().map(|i| i.to_string()).collect())).collect()
}

/// `U7` written `u7`: its ASCII letters lower-cased when it stands alone (not inside a
/// longer word), as a force whose staff list or one of whose systems writes ids in
/// lower case would.
fn user_ids_in_lower_case(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        let starts = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        let id = c == 'U' && starts && b.get(i + 1).is_some_and(u8::is_ascii_digit);
        out.push(if id { 'u' } else { c });
    }
    out
}

/// A staff list in lower case, and logs that write one user's id both ways, raise the
/// alerts the force's own spelling does: user ids are folded wherever they enter.
#[test]
fn user_ids_are_one_user_whatever_their_case() {
    for case in ["personal", "custody", "abuse_of_position", "opsec_account_scope", "purpose", "behaviour"] {
        let (config, lists, events) = golden(case);
        let expected = replay_events(config.clone(), lists, events.iter());
        assert!(!expected.is_empty(), "{case}");

        let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(case);
        let dir = tempfile::tempdir().unwrap();
        for f in std::fs::read_dir(from.join("watchlists")).unwrap() {
            let f = f.unwrap().path();
            let text = std::fs::read_to_string(&f).unwrap();
            std::fs::write(dir.path().join(f.file_name().unwrap()), user_ids_in_lower_case(&text)).unwrap();
        }
        let (lower_lists, _) = load_dir(dir.path()).unwrap();
        let text = std::fs::read_to_string(from.join("input/events.jsonl")).unwrap();
        let mixed: Vec<AccessEvent> = (text.lines().enumerate())
            .map(|(n, l)| if n % 2 == 0 { user_ids_in_lower_case(l) } else { l.to_string() })
            .map(|l| json::decode(l.as_bytes()).unwrap())
            .collect();
        assert!(mixed.iter().zip(&events).all(|(m, e)| m.user_id == e.user_id), "{case}: the ids are folded");
        let got = replay_events(config, lower_lists, mixed.iter());
        assert_eq!(ids_and_evidence(&got), ids_and_evidence(&expected), "{case}");
        let rules = |a: &[Alert]| a.iter().map(|a| (a.rule, a.severity, a.user_id.clone())).collect::<Vec<_>>();
        assert_eq!(rules(&got), rules(&expected), "{case}");
    }
}

/// Her own incident's number quoted by an officer not attached to it lowers the alert
/// but is remembered: the next occasion is a repeat, not let be again (found by a
/// review: four days of look-ups quoting it raised nothing).
#[test]
fn a_victims_own_reference_quoted_again_is_a_repeat() {
    let row = |t: TableName, v: serde_json::Value| read_row(t, &JsonCells(v.as_object().unwrap())).unwrap();
    let force = || {
        let mut lists = WatchLists::default();
        lists.upsert(row(
            TableName::Incidents,
            serde_json::json!({"reference": "DA-1", "kind": "domestic abuse", "opened_at": "2026-11-01T10:00:00Z",
                               "unit": "PPU", "officers": "U5", "victims": "01/123456X", "vulnerable": "true"}),
        ));
        lists.upsert(row(
            TableName::Staff,
            serde_json::json!({"user_id": "U2", "unit": "Response", "shift": "07:00-19:00"}),
        ));
        lists
    };
    let mut engine = Engine::new(Arc::new(Config::defaults()), force(), DetectClock::WallClock);
    let mut topic = Topic::default();
    for (id, day) in [("v1", 22), ("v2", 23), ("v3", 24)] {
        let text = format!(
            r#"{{"event_id":"{id}","ts":"2026-11-{day}T10:00:00Z","system":"PNC","user_id":"U2","action":"view","subject_type":"person","subject_id":"01/123456X","reference":"da 1"}}"#
        );
        engine.process(&json::decode(text.as_bytes()).unwrap(), &mut topic);
    }
    // The first green, the second a repeat one step down (amber), the same alert.
    let alerts: Vec<_> = topic.latest.values().map(|a| (a.severity, a.event_ids.len())).collect();
    assert_eq!(alerts, [(crate::alert::Severity::Amber, 3)]);

    // One's own unrelated incident quoted each day: the first let be, the second a
    // repeat, green (a second review: never remembered, every day was the first).
    let mut lists = force();
    lists.upsert(row(
        TableName::Incidents,
        serde_json::json!({"reference": "THEFT-9", "opened_at": "2026-11-20T08:00:00Z", "unit": "Response"}),
    ));
    let mut engine = Engine::new(Arc::new(Config::defaults()), lists, DetectClock::WallClock);
    let mut topic = Topic::default();
    for (id, day) in [("t1", 22), ("t2", 23)] {
        let text = format!(
            r#"{{"event_id":"{id}","ts":"2026-11-{day}T10:00:00Z","system":"PNC","user_id":"U2","action":"view","subject_type":"person","subject_id":"01/123456X","reference":"THEFT-9"}}"#
        );
        engine.process(&json::decode(text.as_bytes()).unwrap(), &mut topic);
    }
    let alerts: Vec<_> = topic.latest.values().map(|a| (a.severity, a.event_ids.to_vec())).collect();
    assert_eq!(alerts, [(crate::alert::Severity::Green, vec!["t2".into(), "t1".into()])]);

    // Her looked up on one's own case (she is a witness in it) each day, then once
    // without the reference: that one is judged alone, not as a red repeat (an
    // evaluator's probe: a detective's forgotten reference).
    let mut lists = force();
    lists.upsert(row(
        TableName::Incidents,
        serde_json::json!({"reference": "BURG-1", "opened_at": "2026-11-20T08:00:00Z", "unit": "CID", "officers": "U2"}),
    ));
    let mut engine = Engine::new(Arc::new(Config::defaults()), lists, DetectClock::WallClock);
    let mut topic = Topic::default();
    for (id, day, reference) in
        [("b1", 22, ",\"reference\":\"BURG-1\""), ("b2", 23, ",\"reference\":\"BURG-1\""), ("b3", 24, "")]
    {
        let text = format!(
            r#"{{"event_id":"{id}","ts":"2026-11-{day}T10:00:00Z","system":"PNC","user_id":"U2","action":"view","subject_type":"person","subject_id":"01/123456X"{reference}}}"#
        );
        engine.process(&json::decode(text.as_bytes()).unwrap(), &mut topic);
    }
    let severities: Vec<_> = topic.latest.values().map(|a| a.severity).collect();
    assert!(!severities.is_empty() && severities.iter().all(|s| *s == crate::alert::Severity::Green), "{severities:?}");
}

/// An earlier access's purpose does not carry a later one past what it rested on
/// (an evaluator's probe): custody staff on shift at the suite, then the same
/// person looked up and printed off shift at 03:30; a person looked up under one's
/// own incident, then again after someone else arrested him.
#[test]
fn an_earlier_purpose_does_not_carry_past_a_shift_or_an_arrest() {
    let row = |t: TableName, v: serde_json::Value| read_row(t, &JsonCells(v.as_object().unwrap())).unwrap();
    let access = |id: &str, ts: &str, user: &str, action: &str, reference: Option<&str>| {
        let mut v = serde_json::json!({"event_id": id, "ts": ts, "system": "PNC", "user_id": user, "action": action,
            "subject_type": "person", "subject_id": "84/100000A", "subject_name": "HART, Zoe", "subject_dob": "1984-06-12"});
        if let Some(r) = reference {
            v["reference"] = r.into();
        }
        json::decode(v.to_string().as_bytes()).unwrap()
    };
    let custody = |arrested: &str, officers: &str| {
        row(
            TableName::Custody,
            serde_json::json!({"custody_ref": "RS/1", "subject_id": "84/100000A", "subject_name": "HART, Zoe",
                "subject_dob": "1984-06-12", "suite": "Riverside", "arrested_at": arrested, "officers": officers}),
        )
    };
    let rules = |alerts: &[Alert]| {
        let mut r: Vec<(RuleId, Vec<String>)> =
            alerts.iter().map(|a| (a.rule, a.event_ids.iter().map(|i| i.to_string()).collect())).collect();
        r.sort();
        r
    };

    let mut lists = WatchLists::default();
    lists.upsert(custody("2026-03-27T12:00:00Z", "X9"));
    lists.upsert(row(
        TableName::HighProfile,
        serde_json::json!({"entry_id": "HP-1", "subject_id": "84/100000A", "subject_name": "HART, Zoe",
            "subject_dob": "1984-06-12", "category": "celebrity", "added_at": "2026-03-27T13:00:00Z", "case_team": "X8"}),
    ));
    lists.upsert(row(
        TableName::Staff,
        serde_json::json!({"user_id": "D1", "unit": "Riverside Custody", "shift": "06:00-18:00"}),
    ));
    let events = [
        access("E1", "2026-03-27T16:50:00Z", "D1", "view", None),
        access("E2", "2026-03-28T03:30:00Z", "D1", "view", None),
    ];
    let alerts = replay_events(Arc::new(Config::defaults()), lists, events.iter());
    let raised = rules(&alerts);
    assert!(raised.contains(&(RuleId::HighProfileUninvolved, vec!["E2".into()])), "{raised:?}");
    assert!(raised.iter().all(|(_, ids)| !ids.contains(&"E1".to_string())), "on shift at the suite: {raised:?}");

    let mut lists = WatchLists::default();
    lists.upsert(custody("2026-03-25T12:00:00Z", "U2"));
    lists.upsert(row(
        TableName::Incidents,
        serde_json::json!({"reference": "INC-1", "opened_at": "2026-03-25T08:00:00Z", "unit": "Response", "officers": "U1"}),
    ));
    let events = [
        access("E1", "2026-03-25T09:00:00Z", "U1", "view", Some("INC-1")),
        access("E2", "2026-03-25T15:00:00Z", "U1", "view", None),
    ];
    let alerts = replay_events(Arc::new(Config::defaults()), lists, events.iter());
    assert_eq!(rules(&alerts), [(RuleId::CustodyUninvolved, vec!["E2".into()])], "arrested after E1");
}

/// A spike alert read back after a cold restart keeps the person's spike quiet: eight
/// more users looking her up inside its suppression raise no second one. In line, the
/// detectors' quiet periods were not restored at all; and the quiet period was put
/// under the alert's subject key while the spike counts by the person's (surname,
/// initial, date of birth), where it was never read.
#[test]
fn a_restored_spike_alert_keeps_the_persons_spike_quiet() {
    let crowd = |from: usize, minute: usize| -> Vec<AccessEvent> {
        (from..from + 8)
            .map(|i| {
                json::decode(
                    serde_json::json!({
                        "event_id": format!("e{i}"), "ts": format!("2026-11-22T10:{:02}:00Z", minute + i - from),
                        "system": "PNC", "user_id": format!("U{i}"), "action": "view", "subject_type": "person",
                        "subject_id": "90/1K", "subject_name": "KICKER, Kai", "subject_dob": "1990-06-06",
                    })
                    .to_string()
                    .as_bytes(),
                )
                .unwrap()
            })
            .collect()
    };
    let config = Arc::new(Config::defaults());
    let mut first = Engine::new(config.clone(), WatchLists::default(), DetectClock::EventTime);
    let mut topic = Topic::default();
    for e in crowd(0, 0) {
        first.process_on(0, &e, &mut topic);
    }
    first.finish(&mut topic);
    let spikes: Vec<Alert> =
        topic.latest.values().filter(|a| a.rule == RuleId::BehaviourSubjectSpike).cloned().collect();
    assert_eq!(spikes.len(), 1, "{:#?}", topic.latest.values().map(|a| &a.reason).collect::<Vec<_>>());
    // Its sentence names five of the other users and counts the rest; the alert lists
    // every one, so that none of them reviews it (a probe: the counted ones could).
    assert!(spikes[0].reason.contains(" and 2 more)"), "{}", spikes[0].reason);
    let mut others: Vec<&str> = spikes[0].other_users.iter().map(|u| u.as_str()).collect();
    others.sort_unstable();
    assert_eq!(others, ["U0", "U1", "U2", "U3", "U4", "U5", "U6"]);

    let mut second = Engine::new(config, WatchLists::default(), DetectClock::EventTime);
    second.restore(0, spikes);
    let mut again = Topic::default();
    for e in crowd(100, 20) {
        second.process_on(0, &e, &mut again);
    }
    second.finish(&mut again);
    assert!(again.latest.values().all(|a| a.rule != RuleId::BehaviourSubjectSpike), "{:#?}", again.latest);
}

/// A search by name, then the view of the record by its id: the one alert takes the
/// surer match, its score and its sentence, as it takes a higher severity (a probe:
/// both red, the alert said "matched by name only" and scored 65, and an officer could
/// lower their own alert's confidence by searching by name first).
#[test]
fn a_surer_match_at_the_same_severity_takes_over_the_alert() {
    let mut lists = WatchLists::default();
    let row = serde_json::json!({"entry_id": "HP1", "subject_id": "11/111A", "subject_name": "STARLING, Famous",
        "subject_dob": "1980-01-01", "category": "celebrity", "added_at": "2026-11-22T08:00:00Z"});
    lists.upsert(read_row(TableName::HighProfile, &JsonCells(row.as_object().unwrap())).unwrap());
    let event = |id: &str, minute: u32, subject: serde_json::Value| {
        let mut v = serde_json::json!({"event_id": id, "ts": format!("2026-11-22T11:{minute:02}:00Z"), "system": "PNC",
            "user_id": "U4", "action": "view", "subject_type": "person"});
        v.as_object_mut().unwrap().extend(subject.as_object().unwrap().clone());
        json::decode(v.to_string().as_bytes()).unwrap()
    };
    let events = [
        event("e1", 58, serde_json::json!({"action": "search", "subject_name": "STARLING, Famous"})),
        event("e2", 59, serde_json::json!({"subject_id": "11/111A", "subject_dob": "1980-01-01"})),
    ];
    let alerts = replay_events(Arc::new(Config::defaults()), lists, events.iter());
    let hp: Vec<&Alert> = alerts.iter().filter(|a| a.rule == RuleId::HighProfileUninvolved).collect();
    assert_eq!(hp.len(), 1, "{alerts:#?}");
    let a = hp[0];
    assert_eq!(a.watchlist.as_ref().map(|w| w.strength), Some(crate::watchlist::MatchStrength::Id), "{a:#?}");
    assert_eq!((a.score, a.confidence, a.event_ids[0].as_str()), (90, crate::watchlist::Confidence::High, "e2"));
    assert!(!a.reason.contains("name only") && a.event_ids.len() == 2, "{}", a.reason);
    // The user's risk counts the alert once, at its surer score (a review: 65 + 90).
    assert_eq!(a.user_risk, Some(90));
}

/// Accesses by accounts on no staff row are counted by account, so that a source
/// logging accounts in another form than the staff list shows in the summary (a probe:
/// `NS\U10305` raised nothing, and nothing said why).
#[test]
fn accesses_by_accounts_on_no_staff_row_are_counted() {
    let (config, lists, events) = golden("personal");
    let mut engine = Engine::new(config, lists, DetectClock::EventTime);
    let mut sink = crate::alert::book::CollectClosed::default();
    for e in &events {
        engine.process(e, &mut sink);
    }
    engine.finish(&mut sink);
    assert!(engine.stats().events > 0);
    assert_eq!(engine.stats().off_staff(), 0, "every user of the golden case is on the staff list");
    let mut elsewhere = events[0].clone();
    elsewhere.user_id = "NS\\U10305".into();
    elsewhere.event_id = "another".into();
    engine.process(&elsewhere, &mut sink);
    engine.finish(&mut sink);
    assert_eq!(engine.stats().off_staff_by_account.get("NS\\U10305"), Some(&1));
    // Without a staff list every account is off it: nothing is counted.
    let (config, _, _) = golden("personal");
    let mut engine = Engine::new(config, WatchLists::default(), DetectClock::EventTime);
    engine.process(&elsewhere, &mut sink);
    engine.finish(&mut sink);
    assert_eq!((engine.stats().events, engine.stats().off_staff()), (1, 0));
}
