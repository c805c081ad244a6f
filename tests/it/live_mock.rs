//! The live engine against librdkafka's in-process mock cluster, through the real
//! client path: exact alerts on `access-alerts`, dead letters on the DLQ, and a
//! watch-list row produced while running changing the next alert.

use crate::kafka::*;
use accesswatch::service::Service;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use std::sync::Arc;
use std::time::Duration;

fn mock() -> (MockCluster<'static, DefaultProducerContext>, String) {
    let cluster = MockCluster::new(1).unwrap();
    for (topic, partitions) in topics() {
        cluster.create_topic(&topic, partitions, 1).unwrap();
    }
    let bootstrap = cluster.bootstrap_servers();
    (cluster, bootstrap)
}

/// The value of one sample in a Prometheus text exposition (0 if absent).
fn metric(text: &str, sample: &str) -> f64 {
    text.lines().find_map(|l| l.strip_prefix(sample)).and_then(|v| v.trim().parse().ok()).unwrap_or(0.0)
}

fn start(config: &accesswatch::config::Config) -> Service {
    let service = Service::start(Arc::new(config.clone()), accesswatch::http::router).unwrap();
    assert!(wait_for(Duration::from_secs(30), || service.status.ready()), "the engine did not become ready");
    service
}

#[test]
fn alerts_on_the_topic_are_exactly_a_replays_and_bad_messages_reach_the_dlq() {
    let (_cluster, bootstrap) = mock();
    let config = config(&bootstrap, "mock-e2e");
    publish_watchlists(&config);
    let service = start(&config);

    let lines = event_lines();
    produce_events(&bootstrap, &lines);
    let bad: [(&str, &[u8]); 3] = [
        ("bad-json", b"{\"event_id\": \"b1\", \"ts\": "),
        ("missing-ts", br#"{"event_id":"b2","system":"PNC","user_id":"U1","action":"view","subject_type":"person"}"#),
        ("bad-utf8", b"{\"event_id\":\"b3\xff\"}"),
    ];
    produce(&bootstrap, &bad.map(|(k, v)| ("access-events", Some(2), k.as_bytes(), v)));

    let expected = replay_expectation(&config, &lines);
    assert!(expected.len() > 20, "the cases raise {} alerts", expected.len());
    let settled = wait_for(Duration::from_secs(60), || latest_alerts(&bootstrap) == expected);
    service.stop();
    let summary = service.join().unwrap();
    let got = latest_alerts(&bootstrap);
    if !settled {
        let missing: Vec<_> = expected.keys().filter(|k| !got.contains_key(*k)).collect();
        let extra: Vec<_> = got.keys().filter(|k| !expected.contains_key(*k)).collect();
        let differ: Vec<_> =
            expected.iter().filter(|(k, v)| got.get(*k).is_some_and(|g| g != *v)).map(|(k, _)| k).collect();
        let rule = |k: &&String| {
            format!("{k} ({})", expected.get(*k).or(got.get(*k)).map_or("?", |a| a["rule"].as_str().unwrap_or("?")))
        };
        let names = |ks: Vec<&String>| ks.iter().map(rule).collect::<Vec<_>>();
        panic!(
            "alerts differ from the replay: missing {:?}, extra {:?}, different {:?}",
            names(missing),
            names(extra),
            names(differ)
        );
    }
    assert_eq!(summary.events as usize, lines.len());
    assert_eq!(summary.dead_letters, 3);

    // Each dead letter names its source partition and offset, and keeps the bytes.
    let sources: Vec<(Vec<u8>, i64)> = read_topic(&bootstrap, "access-events")
        .into_iter()
        .filter(|(p, _, k, _)| *p == 2 && k.starts_with(b"bad-") || *p == 2 && k.starts_with(b"missing"))
        .map(|(_, o, k, _)| (k, o))
        .collect();
    let dlq = read_topic(&bootstrap, "access-events.dlq");
    assert_eq!(dlq.len(), 3);
    for (_, _, key, payload) in dlq {
        let d: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        let offset = sources.iter().find(|(k, _)| *k == key).map(|(_, o)| *o).unwrap();
        assert_eq!(d["origin"], "kafka");
        assert_eq!(d["topic"], "access-events");
        assert_eq!(d["partition"], 2);
        assert_eq!(d["offset"], offset);
        let kind = d["kind"].as_str().unwrap();
        match key.as_slice() {
            b"bad-json" => assert_eq!(kind, "bad_json"),
            b"missing-ts" => assert_eq!(kind, "missing_field"),
            b"bad-utf8" => {
                assert_eq!(kind, "bad_utf8");
                assert!(d["raw_base64"].is_string());
            }
            other => panic!("unexpected key {other:?}"),
        }
    }
}

#[test]
fn a_watch_list_row_produced_while_running_changes_the_next_alert() {
    let (_cluster, bootstrap) = mock();
    let mut config = config(&bootstrap, "mock-live-row");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("alerts.jsonl");
    config.live.alerts_file = Some(file.clone());
    publish_watchlists(&config);
    let service = start(&config);
    let event = |id: &str| {
        format!(
            r#"{{"event_id":"{id}","ts":"2026-11-23T10:00:00Z","system":"PNC","user_id":"U9","action":"search","subject_type":"vehicle","subject_vrm":"AB12CDE"}}"#
        )
    };
    let account_alerts = || latest_alerts(&bootstrap).values().filter(|a| a["rule"] == "account.status").count();
    let staff_upserts =
        || metric(&service.metrics.render(), "accesswatch_watchlist_changes_total{kind=\"upsert\",table=\"staff\"}");

    // U9 is an active officer: no account alert.
    produce_events(&bootstrap, &[event("live-1")]);
    assert!(wait_for(Duration::from_secs(20), || service
        .metrics
        .render()
        .contains("accesswatch_events_total{system=\"PNC\"} 1")));
    assert_eq!(account_alerts(), 0);

    // U9 is suspended on the staff topic; the next access alerts.
    let before = staff_upserts();
    let row = br#"{"user_id":"U9","surname":"Hart","forenames":"Lee","unit":"Response","status":"suspended","status_since":"2026-11-22T00:00:00Z"}"#;
    produce(&bootstrap, &[("watchlist.staff", None, b"U9", row)]);
    assert!(wait_for(Duration::from_secs(20), || staff_upserts() == before + 1.0), "the row was not applied");
    produce_events(&bootstrap, &[event("live-2")]);
    assert!(wait_for(Duration::from_secs(20), || account_alerts() == 1), "no account.status alert after the row");
    // The alerts file has it while the engine runs, not only once it stops (a probe:
    // red alerts were minutes late in it, and a SIGKILL lost them from it).
    let in_file = || std::fs::read_to_string(&file).unwrap_or_default().contains("account.status");
    assert!(wait_for(Duration::from_secs(10), in_file), "the alert is not in the alerts file yet");
    service.stop();
    service.join().unwrap();
}

#[test]
fn an_incident_that_arrives_after_the_check_resolves_its_alert_on_the_topic() {
    let (_cluster, bootstrap) = mock();
    let config = config(&bootstrap, "mock-late-incident");
    publish_watchlists(&config);
    let service = start(&config);
    let now = accesswatch::time::Timestamp::now();
    let at = |back: i64| (now - accesswatch::time::Span::minutes(back)).to_string();
    // Kim Lane was arrested an hour ago. U12 checks her citing INC-LATE, which the
    // incident system has not sent yet.
    let custody = format!(
        r#"{{"custody_ref":"CUS-LATE","subject_name":"LANE, Kim","subject_dob":"1992-02-02","suite":"Central","arrested_at":"{}","officers":"U10"}}"#,
        at(60)
    );
    produce(&bootstrap, &[("watchlist.custody", None, b"CUS-LATE", custody.as_bytes())]);
    let custody_rows =
        || metric(&service.metrics.render(), "accesswatch_watchlist_changes_total{kind=\"upsert\",table=\"custody\"}");
    let before = custody_rows();
    assert!(wait_for(Duration::from_secs(20), || custody_rows() >= 1.0 && custody_rows() >= before));
    let event = format!(
        r#"{{"event_id":"late-1","ts":"{}","system":"PNC","user_id":"U12","action":"view","subject_type":"person","subject_name":"Kim Lane","subject_dob":"1992-02-02","reference":"INC-LATE"}}"#,
        at(1)
    );
    produce_events(&bootstrap, &[event]);
    let custody_alert = || {
        latest_alerts(&bootstrap)
            .into_values()
            .find(|a| a["rule"] == "custody.uninvolved" && a["event_ids"][0] == "late-1")
    };
    assert!(wait_for(Duration::from_secs(20), || custody_alert().is_some()), "no alert for the unexplained check");
    assert!(custody_alert().unwrap()["resolved"].is_null());

    // The incident arrives, naming U12: the same alert, resolved, on the topic.
    let incident = format!(r#"{{"reference":"INC-LATE","opened_at":"{}","officers":"U12"}}"#, at(90));
    produce(&bootstrap, &[("watchlist.incidents", None, b"INC-LATE", incident.as_bytes())]);
    assert!(
        wait_for(Duration::from_secs(20), || custody_alert().is_some_and(|a| !a["resolved"].is_null())),
        "the alert was not resolved"
    );
    let a = custody_alert().unwrap();
    assert_eq!(a["resolved"]["by"], "reference");
    assert!(a["resolved"]["reason"].as_str().unwrap().contains("INC-LATE"), "{a}");
    assert!(wait_for(Duration::from_secs(10), || metric(
        &service.metrics.render(),
        "accesswatch_alerts_resolved_total"
    ) == 1.0));
    service.stop();
    service.join().unwrap();
}

#[test]
fn a_rule_change_in_the_config_file_applies_live_and_a_bad_one_is_rejected() {
    let (_cluster, bootstrap) = mock();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("engine.toml");
    let base = config_text(&bootstrap, "mock-reload");
    std::fs::write(&path, &base).unwrap();
    let config = accesswatch::config::Config::load(&path).unwrap();
    publish_watchlists(&config);
    let service = start(&config);
    // U9 is not on operation NIGHTJAR's team: each look-up of one of its subjects is an
    // opsec.outsider alert.
    let event = |id: &str, subject: &str| {
        format!(
            r#"{{"event_id":"{id}","ts":"2026-11-23T10:00:00Z","system":"PNC","user_id":"U9","action":"search",{subject}}}"#
        )
    };
    let vehicle = r#""subject_type":"vehicle","subject_vrm":"LK63 XYZ""#;
    let boss = r#""subject_type":"person","subject_name":"BOSS, Big","subject_dob":"1970-01-01""#;
    let opsec = |id: &str| {
        latest_alerts(&bootstrap)
            .values()
            .find(|a| a["rule"] == "opsec.outsider" && a["event_ids"][0] == id)
            .map(|a| a["severity"].clone())
    };
    let reloads = |result: &str| {
        metric(&service.metrics.render(), &format!("accesswatch_config_reloads_total{{result=\"{result}\"}}"))
    };

    produce_events(&bootstrap, &[event("r-1", vehicle)]);
    assert!(wait_for(Duration::from_secs(20), || opsec("r-1").is_some()));
    assert_eq!(opsec("r-1").unwrap(), "red");

    // A fault: rejected, named, and the running rules stay.
    std::thread::sleep(Duration::from_millis(1100)); // a new modification time
    std::fs::write(&path, format!("{base}\n[rules.opsec.outsider.bogus]\n")).unwrap();
    service.status.request_reload();
    assert!(wait_for(Duration::from_secs(10), || reloads("rejected") >= 1.0), "the bad file was not rejected");

    // A good change: opsec.outsider becomes amber from the next event on, and the open
    // alert of r-1 is still open (a repeat folds into it).
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(&path, format!("{base}\n[rules.opsec.outsider]\nseverity = \"amber\"\n")).unwrap();
    assert!(wait_for(Duration::from_secs(10), || reloads("applied") >= 1.0), "the file change was not picked up");
    produce_events(&bootstrap, &[event("r-3", boss), event("r-4", vehicle)]);
    assert!(wait_for(Duration::from_secs(20), || opsec("r-3").is_some()));
    assert_eq!(opsec("r-3").unwrap(), "amber");
    assert!(
        wait_for(Duration::from_secs(10), || latest_alerts(&bootstrap)
            .values()
            .any(|a| a["rule"] == "opsec.outsider" && a["event_ids"] == serde_json::json!(["r-1", "r-4"]))),
        "state survived the reload: the repeat folded into the open alert"
    );
    service.stop();
    service.join().unwrap();
}

/// Every sample of a counter family, summed.
fn metric_sum(text: &str, family: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(family) && l[family.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The offsets the group has committed on `access-events`, summed over partitions.
fn committed(bootstrap: &str, group: &str) -> i64 {
    committed_on(bootstrap, group, "access-events")
}

/// The offsets the group has committed on `topic`, summed over partitions.
fn committed_on(bootstrap: &str, group: &str, topic: &str) -> i64 {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::{ClientConfig, Offset, TopicPartitionList};
    let consumer: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", bootstrap).set("group.id", group).create().unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition(topic, p);
    }
    let got = consumer.committed_offsets(tpl, Duration::from_secs(10)).unwrap();
    got.elements().iter().map(|e| if let Offset::Offset(o) = e.offset() { o } else { 0 }).sum()
}

#[test]
fn a_dead_letter_the_producer_refuses_does_not_hold_its_partition_back() {
    let (_cluster, bootstrap) = mock();
    let mut config = config(&bootstrap, "mock-refused");
    // A dead letter larger than the engine's producer takes is refused as it is queued,
    // before any broker sees it.
    config.input.dead_letter_max_bytes = 65_536;
    config.kafka.properties.insert("message.max.bytes".into(), "20000".into());
    publish_watchlists(&config);
    let service = Service::start(Arc::new(config.clone()), accesswatch::http::router).unwrap();
    assert!(wait_for(Duration::from_secs(30), || service.status.ready()), "the engine did not become ready");
    let lines = event_lines();
    let (first, rest) = lines.split_at(lines.len() / 2);
    produce_events(&bootstrap, first);
    let big = vec![b'x'; 50_000];
    produce(&bootstrap, &[("access-events", Some(0), b"big", &big)]);
    produce_events(&bootstrap, rest);
    let total = lines.len() as i64 + 1;
    let all_committed = wait_for(Duration::from_secs(30), || committed(&bootstrap, "mock-refused") == total);
    let dropped = metric(&service.metrics.render(), "accesswatch_dead_letters_dropped_total ");
    assert!(service.status.ready(), "the engine stopped: {:?}", service.status.fatal());
    service.stop();
    service.join().unwrap();
    assert_eq!(dropped, 1.0, "the refused dead letter is counted");
    assert!(all_committed, "{} of {total} offsets committed", committed(&bootstrap, "mock-refused"));
}

#[test]
fn with_an_archive_offsets_wait_for_it_and_an_entry_added_live_finds_the_accesses_made_before() {
    let (_cluster, bootstrap) = mock();
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let mut config = config(&bootstrap, "mock-archive");
    config.archive.dir = Some(archive.clone());
    // Only an explicit flush writes: the offsets must wait for it.
    config.archive.flush_interval = accesswatch::time::Span::hours(1);
    config.archive.flush_rows = 1_000_000;
    publish_watchlists(&config);
    // The celebrity is not on the list while the accesses happen.
    produce(&bootstrap, &[("watchlist.high_profile", None, b"HP-1", b"")]);
    let service = start(&config);

    let lines = event_lines();
    produce_events(&bootstrap, &lines);
    assert!(
        wait_for(Duration::from_secs(30), || metric_sum(&service.metrics.render(), "accesswatch_events_total")
            == lines.len() as f64),
        "the events were not all processed"
    );
    std::thread::sleep(Duration::from_millis(800)); // several commit intervals
    assert_eq!(committed(&bootstrap, "mock-archive"), 0, "offsets were committed before the archive was written");
    let hp = |alerts: &std::collections::BTreeMap<String, serde_json::Value>| {
        alerts
            .iter()
            .filter(|(_, a)| a["watchlist"]["key"] == "HP-1")
            .map(|(k, a)| {
                let mut a = a.clone();
                a.as_object_mut().unwrap().remove("user_risk");
                (k.clone(), a)
            })
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    assert!(hp(&latest_alerts(&bootstrap)).is_empty());

    // The entry arrives: the archive is written, searched, and the alerts a replay with
    // the entry present raises appear, retrospective ones included. Its producer keys it
    // its own way, not by `entry_id` as the spec asks: said, and found all the same.
    let row = br#"{"entry_id":"HP-1","subject_id":"12/345678A","subject_name":"STARR, Ringo","subject_dob":"1975-07-07","category":"celebrity","added_at":"2026-11-20T18:00:00Z","case_team":"U100;U101","note":"Arrested for assault; story broke 20 Nov"}"#;
    produce(&bootstrap, &[("watchlist.high_profile", None, b"celebrity-7", row)]);
    let expected = hp(&replay_expectation(&config, &lines));
    assert!(expected.len() >= 3 && expected.values().any(|a| a["retrospective"] == true), "{expected:?}");
    let found = wait_for(Duration::from_secs(30), || hp(&latest_alerts(&bootstrap)) == expected);
    assert_same_alerts(&expected, &hp(&latest_alerts(&bootstrap)));
    assert!(found);
    assert_eq!(metric_sum(&service.metrics.render(), "accesswatch_retrospective_alerts_total"), expected.len() as f64);
    let mismatched = "accesswatch_watchlist_changes_total{kind=\"key_mismatch\",table=\"high_profile\"}";
    assert_eq!(metric(&service.metrics.render(), mismatched), 1.0);

    // Durable now, so the offsets are committed to the end.
    assert!(
        wait_for(Duration::from_secs(20), || committed(&bootstrap, "mock-archive") == lines.len() as i64),
        "offsets not committed after the archive flush: {}",
        committed(&bootstrap, "mock-archive")
    );
    service.stop();
    service.join().unwrap();

    // Every event is in the archive once, with its Kafka position.
    let hunt = accesswatch::hunt::Hunt::open(&archive, None).unwrap();
    let rows = hunt
        .sql("SELECT count(*) AS n, count(DISTINCT event_id) AS ids, count(kafka_offset) AS positioned FROM events")
        .unwrap();
    let n = lines.len();
    let counts: Vec<i64> = (0..3)
        .map(|c| rows[0].column(c).as_any().downcast_ref::<arrow::array::Int64Array>().unwrap().value(0))
        .collect();
    assert_eq!(counts, vec![n as i64; 3]);
}

#[test]
fn an_unwritable_archive_pauses_the_engine_which_resumes_when_it_is_back_losing_nothing() {
    let (_cluster, bootstrap) = mock();
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let mut config = config(&bootstrap, "mock-disk-fault");
    config.archive.dir = Some(archive.clone());
    config.archive.flush_interval = accesswatch::time::Span(200);
    publish_watchlists(&config);
    let service = start(&config);
    let lines = event_lines();
    let (first, second) = lines.split_at(lines.len() / 2);
    let archived = |service: &Service| metric_sum(&service.metrics.render(), "accesswatch_archived_events_total");
    produce_events(&bootstrap, first);
    assert!(wait_for(Duration::from_secs(30), || archived(&service) == first.len() as f64), "first half not archived");
    assert!(wait_for(Duration::from_secs(20), || committed(&bootstrap, "mock-disk-fault") == first.len() as i64));

    // The disk goes bad: the events directory is replaced by a file, which no writer
    // (root included) can create a directory under.
    let events_dir = archive.join("events");
    let moved = dir.path().join("events-aside");
    std::fs::rename(&events_dir, &moved).unwrap();
    std::fs::write(&events_dir, b"not a directory").unwrap();
    produce_events(&bootstrap, second);
    let paused = |service: &Service| metric(&service.metrics.render(), "accesswatch_paused{cause=\"archive\"}") == 1.0;
    assert!(wait_for(Duration::from_secs(20), || paused(&service)), "the archive fault was not reported");
    std::thread::sleep(Duration::from_millis(1500)); // several flush and commit intervals
    assert_eq!(committed(&bootstrap, "mock-disk-fault"), first.len() as i64, "offsets were committed past the archive");
    assert!(service.status.fatal().is_none(), "the engine stopped: {:?}", service.status.fatal());
    assert!(metric_sum(&service.metrics.render(), "accesswatch_archive_write_failures_total") >= 1.0);

    // The disk is back: everything is written and committed, nothing lost.
    std::fs::remove_file(&events_dir).unwrap();
    std::fs::rename(&moved, &events_dir).unwrap();
    assert!(wait_for(Duration::from_secs(30), || archived(&service) == lines.len() as f64), "not all archived");
    assert!(wait_for(Duration::from_secs(10), || !paused(&service)), "still reported paused");
    assert!(wait_for(Duration::from_secs(20), || committed(&bootstrap, "mock-disk-fault") == lines.len() as i64));
    let expected = replay_expectation(&config, &lines);
    assert!(wait_for(Duration::from_secs(30), || latest_alerts(&bootstrap) == expected));
    service.stop();
    service.join().unwrap();
    let hunt = accesswatch::hunt::Hunt::open(&archive, None).unwrap();
    let rows = hunt.sql("SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM events").unwrap();
    let counts: Vec<i64> = (0..2)
        .map(|c| rows[0].column(c).as_any().downcast_ref::<arrow::array::Int64Array>().unwrap().value(0))
        .collect();
    assert_eq!(counts, vec![lines.len() as i64; 2], "every event archived once");
}

/// The open alerts of a partition come back from the alert topic by time, on a broker
/// that cannot look offsets up by time (the mock cluster answers -1 to every such
/// request, as a broker without a time index would).
#[test]
fn open_alerts_are_read_back_by_time_from_a_broker_without_a_time_index() {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let (_cluster, bootstrap) = mock();
    let config = config(&bootstrap, "restore-by-time");
    let golden = std::fs::read_to_string(case_dir("high_profile").join("expected_alerts.jsonl")).unwrap();
    let alerts: Vec<accesswatch::alert::Alert> =
        golden.lines().map(|l| serde_json::from_str(l).unwrap()).take(6).collect();
    assert_eq!(alerts.len(), 6, "the high-profile case has too few alerts for this test");
    let producer: BaseProducer = rdkafka::ClientConfig::new().set("bootstrap.servers", &bootstrap).create().unwrap();
    let now = accesswatch::time::Timestamp::now().0;
    // Three alerts published three days ago, three an hour ago, all on partition 0.
    for (i, a) in alerts.iter().enumerate() {
        let at = if i < 3 { now - 3 * 86_400_000 } else { now - 3_600_000 };
        let body = serde_json::to_vec(a).unwrap();
        let record =
            BaseRecord::to("access-alerts").key(a.alert_id.as_bytes()).payload(&body).partition(0).timestamp(at);
        producer.send(record).map_err(|(e, _)| e).unwrap();
    }
    producer.flush(Duration::from_secs(10)).unwrap();

    let since = accesswatch::time::Timestamp(now - 86_400_000);
    let read = accesswatch::live::restore::read_alerts(&config.kafka, &[0, 1], since, Duration::from_secs(30)).unwrap();
    let mut got: Vec<String> = read.get(&0).into_iter().flatten().map(|a| a.alert_id.to_string()).collect();
    got.sort();
    let mut want: Vec<String> = alerts[3..].iter().map(|a| a.alert_id.to_string()).collect();
    want.sort();
    assert_eq!(got, want, "only the alerts of the last day come back");
    assert!(!read.contains_key(&1), "partition 1 is empty");
    // Nothing in the window: nothing comes back.
    let later = accesswatch::time::Timestamp(now + 60_000);
    let none = accesswatch::live::restore::read_alerts(&config.kafka, &[0], later, Duration::from_secs(30)).unwrap();
    assert!(none.values().all(|v| v.is_empty()), "{none:?}");
}

#[test]
fn repartition_records_taken_out_of_offset_order_are_all_committed_once_a_snapshot_covers_them() {
    let (_cluster, bootstrap) = mock();
    let config = config(&bootstrap, "mock-reorder");
    assert!(config.kafka.subjects_topic.is_some() && config.kafka.state_topic.is_some());
    publish_watchlists(&config);
    let service = start(&config);

    // Records on one partition of the repartition topic, each dated earlier than the
    // one before: the cross-user stage takes them in event-time order, the reverse of
    // their offsets.
    let template: serde_json::Value = serde_json::from_str(&event_lines()[0]).unwrap();
    let records: Vec<Vec<u8>> = (0..20)
        .map(|i| {
            let mut event = template.clone();
            event["event_id"] = format!("reorder-{i}").into();
            event["ts"] = format!("2026-11-21T10:{:02}:00Z", 40 - i).into();
            let record = serde_json::json!({
                "to": "subject",
                "key": "PERSON-REORDER",
                "handoff": {"explained": false, "counted": true, "user_total": 1.0, "user_unexplained": 1.0},
                "event": event,
            });
            serde_json::to_vec(&record).unwrap()
        })
        .collect();
    let messages: Vec<(&str, Option<i32>, &[u8], &[u8])> =
        records.iter().map(|r| ("access-subjects", Some(1), &b"PERSON-REORDER"[..], r.as_slice())).collect();
    produce(&bootstrap, &messages);

    // Every record is processed, and once a snapshot covers them all, all are committed
    // (not only up to the one taken last).
    let all = records.len() as i64;
    let done = wait_for(Duration::from_secs(30), || committed_on(&bootstrap, "mock-reorder", "access-subjects") == all);
    let got = committed_on(&bootstrap, "mock-reorder", "access-subjects");
    service.stop();
    service.join().unwrap();
    assert!(done, "{got} of {all} repartition records committed");
}

/// Only the engine writes the state topic, but a chunk anyone wrote there claiming to
/// cover offsets its partition does not hold (covers 10^15: every later event would
/// count as already in the state, and the detectors would skip it for good) is refused;
/// the real snapshots come back best first, so an unreadable one gives way to the next.
#[test]
fn a_snapshot_claiming_offsets_its_partition_does_not_hold_is_refused() {
    let (_cluster, bootstrap) = mock();
    let config = config(&bootstrap, "mock-forged-state");
    let state_topic = config.kafka.state_topic.clone().unwrap();
    let lines = event_lines();
    let events: Vec<(&str, Option<i32>, &[u8], &[u8])> =
        lines[..3].iter().map(|l| ("access-events", Some(0), &b"U1"[..], l.as_bytes())).collect();
    produce(&bootstrap, &events);
    let chunk = |covers: i64, snapshot: &str, body: &str| {
        format!(r#"{{"stream":0,"covers":{covers},"snapshot":"{snapshot}","chunk":0,"chunks":1}}"#) + "\n" + body
    };
    let (older, newer, forged) = (chunk(2, "a", "{}"), chunk(3, "b", "{}"), chunk(1_000_000_000_000_000, "f", "{}"));
    let partition = accesswatch::live::snapshot::state_partition(0);
    let state: Vec<(&str, Option<i32>, &[u8], &[u8])> = [&older, &newer, &forged]
        .iter()
        .map(|m| (state_topic.as_str(), Some(partition), &b"0:0"[..], m.as_bytes()))
        .collect();
    produce(&bootstrap, &state);
    let read =
        accesswatch::live::snapshot::read_streams(&config.kafka, &state_topic, &[0], Duration::from_secs(30)).unwrap();
    let covers: Vec<i64> = read[&0].iter().map(|r| r.covers).collect();
    assert_eq!(covers, [3, 2], "the forged snapshot is refused; the real ones come best first");
}

/// The event topic is keyed by user_id, so that one user's events reach one partition:
/// events of a user that arrive on several partitions (a topic keyed by event id, or not
/// at all) are judged as usual, and counted and reported, since the per-user detectors
/// do not see such a user's events together.
#[test]
fn events_of_one_user_on_several_partitions_are_counted_and_reported() {
    let (_cluster, bootstrap) = mock();
    let config = config(&bootstrap, "mock-misrouted");
    publish_watchlists(&config);
    let service = start(&config);
    let lines = event_lines();
    let user = |l: &String| accesswatch::event::json::decode(l.as_bytes()).unwrap().user_id.to_string();
    let count = |u: &String| lines.iter().filter(|l| user(l) == *u).count();
    let busiest = lines.iter().map(user).max_by_key(count).unwrap();
    let theirs: Vec<&String> = lines.iter().filter(|l| user(l) == busiest).take(6).collect();
    assert!(theirs.len() >= 4, "the cases have a user with four events or more");
    // Keyed by event id: here, two on partition 0, the rest on 1.
    let messages: Vec<(&str, Option<i32>, &[u8], &[u8])> = theirs
        .iter()
        .enumerate()
        .map(|(i, l)| ("access-events", Some((i >= 2) as i32), &b"some-event-id"[..], l.as_bytes()))
        .collect();
    let n = theirs.len() as f64;
    produce(&bootstrap, &messages);
    let judged =
        wait_for(Duration::from_secs(30), || metric_sum(&service.metrics.render(), "accesswatch_events_total") == n);
    let misrouted = metric(&service.metrics.render(), "accesswatch_events_misrouted_total ");
    let warnings = service.status.warnings();
    service.stop();
    service.join().unwrap();
    assert!(judged, "every event is judged");
    // The two of one partition or the rest of the other, whichever came second.
    assert!(misrouted == 2.0 || misrouted == n - 2.0, "{misrouted} of {n}");
    let said = format!("({misrouted} so far)");
    assert!(warnings.iter().any(|w| w.contains("arrive on several partitions") && w.contains(&said)), "{warnings:?}");
}

/// A partition's newest snapshot on the state topic cannot be read: the engine restores
/// the next best one instead of starting the partition's detectors cold. Here the
/// readable one covers the first event of partition 0 (a red look-up of a high-profile
/// person), so the export that follows is judged on state that never saw that
/// look-up: no `behaviour.export_after_sensitive`. Partition 1, with the same two
/// accesses by another officer and no snapshot, starts cold and raises it: the control.
#[test]
fn an_unreadable_snapshot_gives_way_to_the_next_best() {
    let (_cluster, bootstrap) = mock();
    let config = config(&bootstrap, "mock-snapshot-fallback");
    publish_watchlists(&config);
    let state_topic = config.kafka.state_topic.clone().unwrap();
    let access = |id: &str, minute: u32, user: &str, action: &str| {
        format!(
            r#"{{"event_id":"{id}","ts":"2026-11-21T10:{minute:02}:00Z","system":"PNC","user_id":"{user}","action":"{action}","subject_type":"person","subject_id":"12/345678A"}}"#
        )
    };
    let lines = [
        access("fb-1", 0, "U200", "view"),
        access("fb-2", 5, "U200", "export"),
        access("fb-3", 0, "U201", "view"),
        access("fb-4", 5, "U201", "export"),
    ];
    let events: Vec<(&str, Option<i32>, &[u8], &[u8])> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            ("access-events", Some((i >= 2) as i32), if i < 2 { &b"U200"[..] } else { &b"U201"[..] }, l.as_bytes())
        })
        .collect();
    produce(&bootstrap, &events);
    let chunk = |covers: i64, snapshot: &str, body: &str| {
        format!(r#"{{"stream":0,"covers":{covers},"snapshot":"{snapshot}","chunk":0,"chunks":1}}"#) + "\n" + body
    };
    // Best first: the unreadable one covers both events, the readable one the first.
    let (readable, unreadable) = (chunk(1, "a", "{}"), chunk(2, "b", "not a snapshot"));
    let partition = accesswatch::live::snapshot::state_partition(0);
    let state: Vec<(&str, Option<i32>, &[u8], &[u8])> = [&readable, &unreadable]
        .iter()
        .map(|m| (state_topic.as_str(), Some(partition), &b"0:0"[..], m.as_bytes()))
        .collect();
    produce(&bootstrap, &state);

    let service = start(&config);
    let exports = |user: &str| {
        latest_alerts(&bootstrap)
            .values()
            .filter(|a| a["rule"] == "behaviour.export_after_sensitive" && a["user_id"] == user)
            .count()
    };
    let judged = wait_for(Duration::from_secs(30), || {
        metric_sum(&service.metrics.render(), "accesswatch_events_total") == 4.0 && exports("U201") == 1
    });
    let red = |id: &str| {
        latest_alerts(&bootstrap).values().any(|a| {
            a["rule"] == "high_profile.uninvolved"
                && a["event_ids"].as_array().is_some_and(|ids| ids.iter().any(|i| i == id))
        })
    };
    // The first access is in the restored state, yet its watch-list alert still comes.
    let fb1 = wait_for(Duration::from_secs(10), || red("fb-1"));
    std::thread::sleep(Duration::from_secs(1));
    let u200 = exports("U200");
    service.stop();
    service.join().unwrap();
    assert!(judged, "every event is judged, and the control raises its export alert");
    assert!(fb1, "the high-profile look-up before the snapshot's offset is still alerted");
    assert_eq!(u200, 0, "the detectors of partition 0 started from the readable snapshot, not cold");
}

/// An open alert that later accesses join is published again at most once per
/// `live.alert_updates` (1 s by default), its latest version, not once per access: a
/// busy account's open alert would otherwise put its whole evidence on the topic with
/// every look-up (in the latency bench, 846 MB of alert messages for 150,000 events).
#[test]
fn updates_of_an_open_alert_are_published_as_its_latest_version_not_once_per_access() {
    let (_cluster, bootstrap) = mock();
    let config = config(&bootstrap, "mock-alert-updates");
    publish_watchlists(&config);
    let service = start(&config);
    let lines: Vec<String> = (0..20)
        .map(|i| {
            format!(
                r#"{{"event_id":"up-{i}","ts":"2026-11-21T10:{i:02}:00Z","system":"PNC","user_id":"U200","action":"view","subject_type":"person","subject_id":"12/345678A"}}"#
            )
        })
        .collect();
    produce_events(&bootstrap, &lines);
    let versions = || -> Vec<usize> {
        read_topic(&bootstrap, "access-alerts")
            .iter()
            .filter_map(|(_, _, _, payload)| serde_json::from_slice::<serde_json::Value>(payload).ok())
            .filter(|a| a["rule"] == "high_profile.uninvolved" && a["event_ids"][0] == "up-0")
            .map(|a| a["event_ids"].as_array().map_or(0, |ids| ids.len()))
            .collect()
    };
    let complete = wait_for(Duration::from_secs(30), || versions().last() == Some(&20));
    let published = versions();
    service.stop();
    service.join().unwrap();
    assert!(complete, "the latest version holds all 20 accesses: {published:?}");
    // The raised alert, then the updates of each second (the events arrive within one).
    assert!(published.len() <= 4, "{} versions published for 20 accesses: {published:?}", published.len());
}
