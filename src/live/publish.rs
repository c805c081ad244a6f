//! Publishing alerts and dead letters to Kafka.
//!
//! An idempotent producer; each message carries the partition and offset of the event
//! that caused it, and its delivery report acknowledges that offset (see
//! [`super::acks`]). A message that cannot be delivered stops the engine: its event's
//! offset is never committed, so after a restart it is processed again.

use super::acks::{Acks, At};
use super::error::LiveError;
use super::status::Status;
use crate::alert::{Alert, AlertSink};
use crate::config::KafkaConfig;
use crate::metrics::Metrics;
use crate::sink::DeadLetter;
use crate::time::Timestamp;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

/// How long the producer's queue stays full before the wait is reported.
const PAUSE_REPORTED_AFTER: Duration = Duration::from_secs(5);

/// What a delivery report acknowledges.
#[derive(Debug)]
pub struct Delivery {
    /// The source event's place, held until the message is delivered; none for a
    /// message without a source event.
    pub source: Option<At>,
    /// The source event's Kafka timestamp (ms), for event-to-alert latency; 0 if none.
    pub event_ms: i64,
    pub what: Sent,
    /// More source events held until this message is delivered: the updates of an
    /// open alert folded into one message ([`LiveSink::publish_updates`]).
    pub also: Vec<At>,
}

/// What a message is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Sent {
    Alert,
    DeadLetter,
    /// A record for the cross-user stage.
    Repartition,
    /// A chunk of a state snapshot.
    State,
}

/// Receives delivery reports on the producer's thread.
pub struct DeliveryContext {
    acks: Arc<Acks>,
    metrics: Arc<Metrics>,
    status: Arc<Status>,
}

impl ClientContext for DeliveryContext {}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = Box<Delivery>;

    fn delivery(&self, result: &DeliveryResult<'_>, d: Box<Delivery>) {
        match result {
            Ok(_) => {
                if let Some(at) = d.source {
                    self.acks.ack(at);
                }
                self.acks.ack_all(d.also.iter().copied());
                if d.what == Sent::Alert && d.event_ms > 0 {
                    let us = (Timestamp::now().0 - d.event_ms).max(0) as u64 * 1000;
                    self.metrics.event_to_alert.record_us(us);
                }
            }
            // A dead letter the broker refuses for its size or form is dropped and counted
            // (its event's offset is released): a record must never stop the engine.
            Err((e, _)) if d.what == Sent::DeadLetter && super::error::refused_message(e) => {
                tracing::error!(source = ?d.source, error = %e, "the dead-letter topic refused a dead letter; it is dropped and counted");
                self.metrics.dead_letters_dropped.inc();
                if let Some(at) = d.source {
                    self.acks.ack(at);
                }
            }
            Err((e, _)) => {
                self.status.fail(LiveError::kafka("delivering a message", e.clone()));
            }
        }
    }
}

/// The producer for alerts and dead letters.
pub struct Publisher {
    producer: ThreadedProducer<DeliveryContext>,
    alerts_topic: String,
    subjects_topic: Option<String>,
    dead_letter_topic: String,
    /// Whether alerts go to the same partition number as their event (the alert topic
    /// has as many partitions as the event topic).
    pub same_partitions: bool,
    acks: Arc<Acks>,
    metrics: Arc<Metrics>,
}

impl Publisher {
    pub fn new(
        k: &KafkaConfig,
        acks: Arc<Acks>,
        metrics: Arc<Metrics>,
        status: Arc<Status>,
    ) -> Result<Publisher, LiveError> {
        let mut cfg = super::kafka::client_config(k)?;
        // Defaults for latency and safety; the pass-through properties may tune them.
        for (key, value) in [
            ("enable.idempotence", "true"),
            ("linger.ms", "2"),
            ("partitioner", "murmur2_random"),
            // Never give up on a message: while the broker is away, messages wait in
            // the producer's queue, the engine waits when it is full, and everything
            // goes out when the broker is back. No restart needed, nothing lost.
            ("message.timeout.ms", "0"),
        ] {
            if !k.properties.contains_key(key) {
                cfg.set(key, value);
            }
        }
        let producer: ThreadedProducer<DeliveryContext> = cfg
            .create_with_context(DeliveryContext { acks: acks.clone(), metrics: metrics.clone(), status })
            .map_err(|e| LiveError::kafka("creating the producer", e))?;
        Ok(Publisher {
            producer,
            alerts_topic: k.alerts_topic.clone(),
            subjects_topic: k.subjects_topic.clone(),
            dead_letter_topic: k.dead_letter_topic.clone(),
            same_partitions: false,
            acks,
            metrics,
        })
    }

    /// The producer's client, for metadata.
    pub fn client(&self) -> &rdkafka::client::Client<DeliveryContext> {
        self.producer.client()
    }

    fn send(
        &self,
        topic: &str,
        key: &[u8],
        payload: &[u8],
        partition: Option<i32>,
        d: Delivery,
    ) -> Result<(), LiveError> {
        if let Some(at) = d.source {
            self.acks.expect(at);
        }
        let mut record = BaseRecord::with_opaque_to(topic, Box::new(d)).key(key).payload(payload);
        if let Some(p) = partition {
            record = record.partition(p);
        }
        let mut waiting: Option<std::time::Instant> = None;
        loop {
            match self.producer.send(record) {
                Ok(()) => {
                    if waiting.is_some_and(|w| w.elapsed() >= PAUSE_REPORTED_AFTER) {
                        tracing::warn!("Kafka is taking messages again; the engine goes on");
                        self.metrics.paused.with_label_values(&["kafka"]).set(0);
                    }
                    return Ok(());
                }
                // The local queue is full: the broker is slower than we are, or away.
                // Wait for room instead of buffering without bound.
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    let since = *waiting.get_or_insert_with(std::time::Instant::now);
                    if since.elapsed() >= PAUSE_REPORTED_AFTER
                        && self.metrics.paused.with_label_values(&["kafka"]).get() == 0
                    {
                        tracing::warn!("Kafka is not taking messages (the broker is away or slow): the engine waits, keeping every message, and goes on when it is back");
                        self.metrics.paused.with_label_values(&["kafka"]).set(1);
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err((e, _)) => return Err(LiveError::kafka(format!("queueing a message for {topic}"), e)),
            }
        }
    }

    /// Publishes a dead letter, acknowledged against its source offset.
    pub fn send_dead_letter(
        &self,
        letter: &DeadLetter,
        key: Option<&[u8]>,
        source: At,
        limit: usize,
    ) -> Result<(), LiveError> {
        let d = Delivery { source: Some(source), event_ms: 0, what: Sent::DeadLetter, also: Vec::new() };
        self.send(&self.dead_letter_topic, key.unwrap_or_default(), letter.to_json(limit).as_bytes(), None, d)
    }

    /// Publishes one chunk of a state snapshot to `partition` of `topic`; the snapshot
    /// counts once [`Publisher::flush`] has returned.
    pub fn send_state(&self, topic: &str, partition: i32, key: &[u8], payload: &[u8]) -> Result<(), LiveError> {
        let d = Delivery { source: None, event_ms: 0, what: Sent::State, also: Vec::new() };
        self.send(topic, key, payload, Some(partition), d)
    }

    /// Waits until every queued message is delivered or `timeout` passes.
    pub fn flush(&self, timeout: Duration) -> Result<(), LiveError> {
        self.producer.flush(timeout).map_err(|e| LiveError::kafka("flushing the producer", e))
    }

    pub fn in_flight(&self) -> i32 {
        self.producer.in_flight_count()
    }
}

/// Where the event being processed came from.
#[derive(Copy, Clone, Debug)]
pub struct Origin {
    pub at: At,
    pub event_ms: i64,
}

/// The engine's sink when live: every raised alert is published at once, and the
/// updates of an open alert (a later access added to its evidence) at most once per
/// `live.alert_updates`, its latest version, so that a busy account's open alert does
/// not put its whole evidence on the topic again with every access (downstream keeps
/// the latest version of each `alert_id`). Each is optionally appended to a JSON Lines
/// file.
pub struct LiveSink {
    publisher: Arc<Publisher>,
    metrics: Arc<Metrics>,
    file: Option<std::io::BufWriter<std::fs::File>>,
    pub origin: Option<Origin>,
    stream: i32,
    line: String,
    /// The first failure since it was last taken.
    pub error: Option<LiveError>,
    /// Final alerts go to the archive, when there is one.
    pub archive: Option<crossbeam_channel::Sender<super::archiver::ToArchive>>,
    /// The explanation of the event judged last (`Some(None)`: unexplained), for the
    /// archive.
    pub explained: Option<Option<crate::event::explained::Recorded>>,
    /// Updates not yet published, by alert id: the latest version, its stream, and the
    /// source events it holds back from a commit until it is delivered.
    pending: ahash::AHashMap<compact_str::CompactString, Pending>,
    /// How often pending updates go out (zero: at once).
    update_every: Duration,
    last_updates: std::time::Instant,
}

struct Pending {
    alert: Alert,
    stream: i32,
    held: Vec<At>,
}

impl LiveSink {
    pub fn new(
        publisher: Arc<Publisher>,
        metrics: Arc<Metrics>,
        file: Option<std::io::BufWriter<std::fs::File>>,
    ) -> LiveSink {
        LiveSink {
            publisher,
            metrics,
            file,
            origin: None,
            stream: -1,
            line: String::new(),
            error: None,
            archive: None,
            explained: None,
            pending: Default::default(),
            update_every: Duration::ZERO,
            last_updates: std::time::Instant::now(),
        }
    }

    /// Publishes the updates of open alerts at most once per `every` (zero: at once).
    pub fn with_update_interval(mut self, every: Duration) -> LiveSink {
        self.update_every = every;
        self
    }

    /// Publishes the latest version of each alert updated since the last call, when
    /// `live.alert_updates` has passed since then or `now` asks (before a snapshot and
    /// at shutdown; a handover drops them instead, see [`LiveSink::forget_updates`]).
    pub fn publish_updates(&mut self, now: bool) {
        if self.pending.is_empty() || !now && self.last_updates.elapsed() < self.update_every {
            return;
        }
        self.last_updates = std::time::Instant::now();
        let stream = self.stream;
        for (_, p) in std::mem::take(&mut self.pending) {
            self.stream = p.stream;
            self.send_alert(&p.alert, None, 0, p.held);
        }
        self.stream = stream;
    }

    /// Forgets the waiting updates of revoked streams. Their events' offsets were held,
    /// so the next owner reads those events again and folds them into the open alerts
    /// it restores; a version published now, by an instance that no longer owns the
    /// partition, could land after one of the new owner's.
    pub fn forget_updates(&mut self, streams: &[i32]) {
        self.pending.retain(|_, p| !streams.contains(&p.stream));
    }

    /// Flushes the alerts file.
    pub fn flush_file(&mut self) -> Result<(), LiveError> {
        match &mut self.file {
            Some(f) => f.flush().map_err(|e| LiveError::disk("writing the alerts file", e)),
            None => Ok(()),
        }
    }

    /// Publishes an alert now, with the holds of an update of it still waiting (the
    /// waiting version is older: it is dropped).
    fn publish(&mut self, alert: &Alert) {
        let held = self.pending.remove(&alert.alert_id).map(|p| p.held).unwrap_or_default();
        let (source, event_ms) = (self.origin.map(|o| o.at), self.origin.map_or(0, |o| o.event_ms));
        self.send_alert(alert, source, event_ms, held);
    }

    fn send_alert(&mut self, alert: &Alert, source: Option<At>, event_ms: i64, also: Vec<At>) {
        self.line.clear();
        alert.write_json(&mut self.line);
        let partition = (self.publisher.same_partitions && self.stream >= 0)
            .then_some(super::repartition::alerts_partition(self.stream));
        // The latency summary is public: an operation's alerts stay out of it.
        let event_ms = if alert.counts_as_operations() { 0 } else { event_ms };
        let d = Delivery { source, event_ms, what: Sent::Alert, also };
        if let Err(e) = self.publisher.send(
            &self.publisher.alerts_topic,
            alert.user_id.as_bytes(),
            self.line.as_bytes(),
            partition,
            d,
        ) {
            self.error.get_or_insert(e);
        }
        if alert.counts_as_operations() {
            self.metrics.operation_alert_messages.inc();
        } else {
            self.metrics.alert_messages.inc();
        }
        if let Some(f) = self.file.as_mut() {
            self.line.push('\n');
            if let Err(e) = f.write_all(self.line.as_bytes()) {
                self.error.get_or_insert(LiveError::disk("writing the alerts file", e));
            }
        }
    }
}

impl AlertSink for LiveSink {
    fn stream(&mut self, stream: i32) {
        self.stream = stream;
    }

    fn judged(&mut self, _event: &crate::event::AccessEvent, explained: Option<&crate::event::explained::Recorded>) {
        self.explained = Some(explained.cloned());
    }

    fn repartition(&mut self, key: &str, record: &[u8]) {
        let Some(topic) = &self.publisher.subjects_topic else { return };
        // Held against the source event like an alert: its offset is committed only
        // once the record is on the topic.
        let d = Delivery { source: self.origin.map(|o| o.at), event_ms: 0, what: Sent::Repartition, also: Vec::new() };
        if let Err(e) = self.publisher.send(topic, key.as_bytes(), record, None, d) {
            self.error.get_or_insert(e);
        }
    }

    fn raised(&mut self, alert: &Alert) {
        let counted = if alert.counts_as_operations() { &self.metrics.operation_alerts } else { &self.metrics.alerts };
        counted.with_label_values(&[alert.rule.as_str(), alert.severity.as_str()]).inc();
        self.publish(alert);
    }

    fn updated(&mut self, alert: &Alert) {
        // An update with no source event (a watch-list change resolving or joining an
        // alert) has no offset to hold it: it goes out at once.
        if self.update_every.is_zero() || self.origin.is_none() {
            self.publish(alert);
        } else {
            // Held from a commit until the version that includes it is delivered.
            let at = self.origin.map(|o| o.at);
            if let Some(at) = at {
                self.publisher.acks.expect(at);
            }
            let stream = self.stream;
            match self.pending.get_mut(&alert.alert_id) {
                Some(p) => {
                    p.alert.clone_from(alert);
                    p.stream = stream;
                    p.held.extend(at);
                }
                None => {
                    let p = Pending { alert: alert.clone(), stream, held: at.into_iter().collect() };
                    self.pending.insert(alert.alert_id.clone(), p);
                }
            }
        }
    }

    fn closed(&mut self, alert: Alert) {
        if let Some(tx) = &self.archive {
            if tx.send(super::archiver::ToArchive::Alert(Box::new(alert))).is_err() {
                self.error.get_or_insert_with(|| LiveError::Bug("the archive writer has stopped".into()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::acks::OffsetRange;
    use crate::live::shutdown::Shutdown;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::Message;
    use rdkafka::mocking::MockCluster;

    /// On a handover the waiting updates of the partitions that move are dropped, not
    /// published (the next owner reads their events again), and their holds go with the
    /// partition; the other partitions' updates go out as their latest version, one
    /// message an alert, and release their events' offsets once delivered.
    /// A publisher to a mock cluster's alert topic, with partitions 0 and 1 assigned.
    fn publisher(
        cluster: &MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
    ) -> (crate::config::KafkaConfig, Arc<Acks>, crate::live::acks::Generation, Arc<Metrics>, Arc<Publisher>) {
        let mut k = crate::config::Config::defaults().kafka;
        k.bootstrap_servers = cluster.bootstrap_servers();
        cluster.create_topic(&k.alerts_topic, 1, 1).unwrap();
        let acks = Arc::new(Acks::default());
        let generation = acks.assign(&[0, 1]);
        let metrics = Metrics::new();
        let status = Status::new(Shutdown::new());
        let publisher = Arc::new(Publisher::new(&k, acks.clone(), metrics.clone(), status).unwrap());
        (k, acks, generation, metrics, publisher)
    }

    /// An operation's own alert is counted apart: the totals a reader not cleared for
    /// operations gets (alerts by rule, alert messages, the latency summary) do not
    /// move. Another rule's alert on an access that touched the operation moves them as
    /// on any subject: a count that stood still where the user knew it would move told
    /// them the subject was an operation's (a probe).
    #[test]
    fn an_operations_alert_moves_no_series_the_uncleared_read_and_hides_no_other() {
        let cluster = MockCluster::new(1).unwrap();
        let (_, acks, generation, metrics, publisher) = publisher(&cluster);
        let mut sink = LiveSink::new(publisher.clone(), metrics.clone(), None);
        acks.begin_batch(generation, &[OffsetRange { stream: 0, lowest: 0, highest: 2 }]);
        sink.stream(0);
        let event_ms = Timestamp::now().0;
        let plain = crate::alert::book::tests::alert("PLAIN", 0);
        sink.origin = Some(Origin { at: At { generation, stream: 0, offset: 0 }, event_ms });
        sink.raised(&plain);
        publisher.flush(Duration::from_secs(10)).unwrap();
        let before = crate::metrics::without_operations(&metrics.render());
        let mut covert = crate::alert::book::tests::alert("COVERT", 0);
        covert.rule = crate::alert::RuleId::OpsecOutsider;
        covert.on_operation = true;
        sink.origin = Some(Origin { at: At { generation, stream: 0, offset: 1 }, event_ms });
        sink.raised(&covert);
        sink.updated(&covert);
        publisher.flush(Duration::from_secs(10)).unwrap();
        let public = |text: &str| -> Vec<String> {
            text.lines().filter(|l| !l.starts_with('#') && l.contains("alert")).map(str::to_string).collect()
        };
        let after = crate::metrics::without_operations(&metrics.render());
        assert_eq!(public(&after), public(&before), "{after}");
        assert!(after.contains("accesswatch_alert_messages_total 1"), "{after}");
        assert!(after.contains("accesswatch_event_to_alert_seconds_count 1"), "{after}");
        let all = metrics.render();
        assert!(all.contains("accesswatch_operation_alert_messages_total 2"), "{all}");
        assert!(all.contains("accesswatch_operation_alerts_total{rule="), "{all}");
        // The same access's self-look-up alert counts as any other would.
        let mut beside = crate::alert::book::tests::alert("BESIDE", 0);
        beside.on_operation = true;
        sink.origin = Some(Origin { at: At { generation, stream: 0, offset: 2 }, event_ms });
        sink.raised(&beside);
        publisher.flush(Duration::from_secs(10)).unwrap();
        let after = crate::metrics::without_operations(&metrics.render());
        assert!(after.contains("accesswatch_alert_messages_total 2"), "{after}");
        assert!(after.contains("accesswatch_alerts_total{rule=\"self.lookup\",severity=\"amber\"} 2"), "{after}");
    }

    #[test]
    fn waiting_updates_of_a_revoked_partition_are_dropped_and_the_rest_go_out_once() {
        let cluster = MockCluster::new(1).unwrap();
        let (k, acks, generation, metrics, publisher) = publisher(&cluster);
        let mut sink = LiveSink::new(publisher.clone(), metrics, None).with_update_interval(Duration::from_secs(60));
        // Events 0..3 of each partition each add to its open alert.
        let mut open = [crate::alert::book::tests::alert("A0", 0), crate::alert::book::tests::alert("A1", 0)];
        for stream in [0, 1] {
            let span = [OffsetRange { stream, lowest: 0, highest: 2 }];
            acks.begin_batch(generation, &span);
            sink.stream(stream);
            for offset in 0..3 {
                let alert = &mut open[stream as usize];
                alert.event_ids.push(format!("E{stream}-{offset}").into());
                sink.origin = Some(Origin { at: At { generation, stream, offset }, event_ms: 1 });
                sink.updated(alert);
            }
            acks.processed_batch(generation, &span);
        }
        sink.publish_updates(false);
        assert_eq!(acks.committable(), vec![(0, 0), (1, 0)], "every update waits, holding its events");
        // Partition 0 moves to another instance.
        acks.revoke(0);
        sink.forget_updates(&[0]);
        sink.publish_updates(true);
        publisher.flush(Duration::from_secs(10)).unwrap();
        assert_eq!(acks.committable(), vec![(1, 3)], "the delivered version releases its events");
        // Read by assignment (a new group would wait out the mock's rebalance delay),
        // until a second after the first message.
        let reader: BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("group.id", "read")
            .create()
            .unwrap();
        let mut from = rdkafka::TopicPartitionList::new();
        from.add_partition_offset(&k.alerts_topic, 0, rdkafka::Offset::Beginning).unwrap();
        reader.assign(&from).unwrap();
        let (started, mut got) = (std::time::Instant::now(), Vec::new());
        let mut first: Option<std::time::Instant> = None;
        while started.elapsed() < Duration::from_secs(20) && first.is_none_or(|t| t.elapsed() < Duration::from_secs(1))
        {
            if let Some(Ok(m)) = reader.poll(Duration::from_millis(100)) {
                let alert: serde_json::Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
                got.push((
                    alert["alert_id"].as_str().unwrap().to_string(),
                    alert["event_ids"].as_array().unwrap().len(),
                ));
                first.get_or_insert_with(std::time::Instant::now);
            }
        }
        assert_eq!(got, [("A1".to_string(), 4)], "one message: partition 1's alert, its latest version");
    }
}
