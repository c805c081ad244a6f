//! Kafka helpers for the live-engine tests: topics on a broker, producing, reading
//! a topic to its end, and the golden cases as Kafka input.

use accesswatch::alert::book::DetectClock;
use accesswatch::alert::{Alert, AlertSink};
use accesswatch::config::Config;
use accesswatch::engine::Engine;
use accesswatch::event::json;
use accesswatch::watchlist::WatchLists;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::ClientConfig;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const PARTITIONS: i32 = 4;

/// The golden cases that can share one force: their user ids do not collide, and all
/// their inputs are canonical JSON Lines.
pub const CASES: [&str; 4] = ["custody", "high_profile", "personal", "opsec_account_scope"];

/// The configuration the combined cases need, for a broker at `bootstrap`.
pub fn config(bootstrap: &str, group: &str) -> Config {
    Config::from_toml("test", &config_text(bootstrap, group)).expect("test config")
}

/// The text of [`config`], for tests that write it to a file.
pub fn config_text(bootstrap: &str, group: &str) -> String {
    format!(
        r#"
[rules.purpose.missing]
enabled = false
[rules.scope.unentitled.orgs.DVLA]
systems = ["PNC"]
actions = ["search", "view"]
[rules.scope.unentitled.roles.PCSO]
systems = ["PNC", "RMS"]
[kafka]
bootstrap_servers = "{bootstrap}"
group_id = "{group}"
commit_interval = "200ms"
stall_after = "20s"
repartition_delay = "2s"
[kafka.properties]
# Tansu 0.6 with memory storage keeps only the first record of a multi-record
# batch (it gives the batch one offset); one record per batch works on every broker.
"batch.num.messages" = "1"
[http]
listen = "127.0.0.1:0"
# The golden cases are dated 21-30 November 2026, some of it after the day these
# tests may run: live, an event ahead of the wall clock is a source's clock fault, so
# the cases are let in as they are.
[state]
allowed_lateness = "3650d"
max_clock_skew = "3650d"
# Offsets are committed once a snapshot covers them: snapshot often, so commits follow
# within the tests' waits.
snapshot_interval = "500ms"
"#
    )
}

pub fn case_dir(case: &str) -> PathBuf {
    crate::support::root().join("tests/golden").join(case)
}

/// Every event line of the combined cases, in event-time order as a source would send
/// them (an event far behind the stream is late and skips the behavioural detectors).
pub fn event_lines() -> Vec<String> {
    let mut lines: Vec<String> = CASES
        .iter()
        .flat_map(|c| {
            std::fs::read_to_string(case_dir(c).join("input/events.jsonl"))
                .unwrap()
                .lines()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    lines.sort_by_key(|l| json::decode(l.as_bytes()).map(|e| e.ts).ok());
    lines
}

/// Publishes every case's watch lists to the watch-list topics.
pub fn publish_watchlists(config: &Config) {
    for c in CASES {
        accesswatch::live::lists::publish_dir(&config.kafka, &case_dir(c).join("watchlists")).unwrap();
    }
}

/// The watch-list topics and event, alert and dead-letter topics a test needs.
pub fn topics() -> Vec<(String, i32)> {
    let mut t = vec![
        ("access-events".to_string(), PARTITIONS),
        ("access-alerts".to_string(), PARTITIONS),
        ("access-subjects".to_string(), PARTITIONS),
        ("access-state".to_string(), 2 * PARTITIONS),
        ("access-events.dlq".to_string(), 1),
    ];
    for table in accesswatch::watchlist::TableName::ALL {
        t.push((format!("watchlist.{}", table.as_str()), 1));
    }
    t
}

/// Produces messages and waits for them to be delivered.
pub fn produce(bootstrap: &str, messages: &[(&str, Option<i32>, &[u8], &[u8])]) {
    // One record per batch: see the note in `config`.
    let producer: BaseProducer =
        ClientConfig::new().set("bootstrap.servers", bootstrap).set("batch.num.messages", "1").create().unwrap();
    for (topic, partition, key, value) in messages {
        let mut record = BaseRecord::to(topic).key(*key).payload(*value);
        if let Some(p) = partition {
            record = record.partition(*p);
        }
        producer.send(record).map_err(|(e, _)| e).unwrap();
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(30)).unwrap();
}

/// Produces the event lines keyed by user id.
pub fn produce_events(bootstrap: &str, lines: &[String]) {
    let keyed: Vec<(String, &String)> =
        lines.iter().map(|l| (json::decode(l.as_bytes()).unwrap().user_id.to_string(), l)).collect();
    let messages: Vec<(&str, Option<i32>, &[u8], &[u8])> =
        keyed.iter().map(|(k, l)| ("access-events", None, k.as_bytes(), l.as_bytes())).collect();
    produce(bootstrap, &messages);
}

/// One message read back: (partition, offset, key, payload).
pub type Read = (i32, i64, Vec<u8>, Vec<u8>);

/// Reads every partition of `topic` from the start to its current end.
pub fn read_topic(bootstrap: &str, topic: &str) -> Vec<Read> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "test-reader")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let md = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).unwrap();
    let partitions: Vec<i32> = md.topics()[0].partitions().iter().map(|p| p.id()).collect();
    let mut ends = BTreeMap::new();
    let mut tpl = TopicPartitionList::new();
    for p in &partitions {
        let (low, high) = consumer.fetch_watermarks(topic, *p, Duration::from_secs(10)).unwrap();
        if high > low {
            ends.insert(*p, high);
        }
        tpl.add_partition_offset(topic, *p, Offset::Beginning).unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ends.is_empty() && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            out.push((
                m.partition(),
                m.offset(),
                m.key().unwrap_or_default().to_vec(),
                m.payload().unwrap_or_default().to_vec(),
            ));
            if ends.get(&m.partition()).is_some_and(|h| m.offset() + 1 >= *h) {
                ends.remove(&m.partition());
            }
        }
    }
    assert!(ends.is_empty(), "timed out reading {topic}");
    out
}

/// An alert as JSON without what depends on when the engine learned things rather
/// than on the events: `detected_at` (the live engine's wall clock), and the watch-list
/// row's record time and whether it was known at the access (a row from a topic is
/// recorded when its message was written; the same row in a file has no record time).
pub fn comparable(mut v: serde_json::Value) -> serde_json::Value {
    let o = v.as_object_mut().unwrap();
    o.remove("detected_at");
    if let Some(w) = o.get_mut("watchlist").and_then(|w| w.as_object_mut()) {
        w.remove("recorded_at");
        w.remove("flagged_at_access");
    }
    v
}

/// The latest version of each alert on the alert topic, as [`comparable`] JSON.
pub fn latest_alerts(bootstrap: &str) -> BTreeMap<String, serde_json::Value> {
    let mut latest = BTreeMap::new();
    for (_, _, _, payload) in read_topic(bootstrap, "access-alerts") {
        let v = comparable(serde_json::from_slice(&payload).unwrap());
        latest.insert(v["alert_id"].as_str().unwrap().to_string(), v);
    }
    latest
}

#[derive(Default)]
struct Closed(Vec<Alert>);

impl AlertSink for Closed {
    fn closed(&mut self, a: Alert) {
        self.0.push(a);
    }
}

/// What a replay of the same events over the same watch lists raises: the alerts the
/// live engine must publish.
pub fn replay_expectation(config: &Config, lines: &[String]) -> BTreeMap<String, serde_json::Value> {
    let mut lists = WatchLists::default();
    for c in CASES {
        let (l, _) = accesswatch::watchlist::load_dir(&case_dir(c).join("watchlists")).unwrap();
        merge(&mut lists, l);
    }
    let mut engine = Engine::new(Arc::new(config.clone()), lists, DetectClock::EventTime);
    let mut events: Vec<_> = lines.iter().map(|l| json::decode(l.as_bytes()).unwrap()).collect();
    events.sort_by_key(|e| e.ts);
    let mut sink = Closed::default();
    for e in &events {
        engine.process(e, &mut sink);
    }
    engine.finish(&mut sink);
    sink.0.into_iter().map(|a| (a.alert_id.to_string(), comparable(serde_json::to_value(&a).unwrap()))).collect()
}

/// Moves every row of `from` into `into`.
pub fn merge(into: &mut WatchLists, from: WatchLists) {
    use accesswatch::watchlist::Row;
    for (_, _, r) in from.custody.iter() {
        into.upsert(Row::Custody(r.clone()));
    }
    for (_, _, r) in from.high_profile.iter() {
        into.upsert(Row::HighProfile(r.clone()));
    }
    for (_, _, r) in from.staff.iter() {
        into.upsert(Row::Staff(r.clone()));
    }
    for (_, _, r) in from.associates.iter() {
        into.upsert(Row::Associate(r.clone()));
    }
    for (_, _, r) in from.operations.iter() {
        into.upsert(Row::Operation(r.clone()));
    }
    for (_, _, r) in from.incidents.iter() {
        into.upsert(Row::Incident(r.clone()));
    }
}

/// Waits until `check` holds or `timeout` passes; returns whether it held.
pub fn wait_for(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    check()
}

/// Panics with what differs between the alerts on the topic and the expectation.
pub fn assert_same_alerts(expected: &BTreeMap<String, serde_json::Value>, got: &BTreeMap<String, serde_json::Value>) {
    if expected == got {
        return;
    }
    let name = |k: &String| {
        let a = expected.get(k).or(got.get(k));
        format!(
            "{} {} {}",
            a.map_or("?", |a| a["rule"].as_str().unwrap_or("?")),
            a.map_or("?", |a| a["user_id"].as_str().unwrap_or("?")),
            a.map_or(String::new(), |a| a["event_ids"].to_string())
        )
    };
    let missing: Vec<String> = expected.keys().filter(|k| !got.contains_key(*k)).map(name).collect();
    let extra: Vec<String> = got.keys().filter(|k| !expected.contains_key(*k)).map(name).collect();
    let differ: Vec<String> = expected
        .iter()
        .filter(|(k, v)| got.get(k.as_str()).is_some_and(|g| g != *v))
        .take(5)
        .map(|(k, v)| format!("{}:\n  expected {v}\n  got      {}", name(k), got[k]))
        .collect();
    panic!(
        "alerts differ: {} expected, {} got\nmissing {missing:#?}\nextra {extra:#?}\ndifferent {differ:#?}",
        expected.len(),
        got.len()
    );
}
