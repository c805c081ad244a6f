//! The event consumer: a member of the consumer group on `access-events`.
//!
//! It polls, decodes each message into an event (or a dead letter) on its own thread,
//! and hands batches to the engine over a bounded channel: when the engine falls
//! behind, the channel fills and the consumer waits instead of buffering. Every commit
//! interval it stores the offsets the ack tracker allows. On a rebalance, revoked
//! partitions get their final offsets stored (and committed) before they go, and the
//! engine is told to drop or restore partition state, in order with the events. What
//! the batch being filled holds of a revoked partition is dropped (its next owner reads
//! it again from the commit), and every batch names the assignment it was read under,
//! so that what the engine still has of an earlier one moves no offset of the new one
//! (see [`super::acks`]).

use super::acks::{Acks, Generation};
use super::error::LiveError;
use super::shutdown::Shutdown;
use super::status::Status;
use crate::config::Config;
use crate::event::{AccessEvent, DecodeError};
use crate::metrics::Metrics;
use crate::sink::{DeadLetter, Origin};
use crate::source::{Decoded, Decoder, InputFormat};
use crossbeam_channel::{SendTimeoutError, Sender};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::statistics::Statistics;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::ClientContext;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The most of a message's key a dead letter keeps (a key is a user id; a longer one
/// is itself hostile).
const MAX_KEY_BYTES: usize = 1_024;

/// One message, decoded: from `access-events`, an event or a dead letter; from the
/// repartition topic, a record for the cross-user stage. `partition` is the engine's
/// stream number (see [`super::repartition`]). An event is boxed: it is a few hundred
/// bytes, and a batch of them moves through a channel.
pub enum Incoming {
    Event { partition: i32, offset: i64, timestamp_ms: i64, event: Box<AccessEvent> },
    Dead { partition: i32, offset: i64, key: Option<Vec<u8>>, letter: DeadLetter },
    Cross { partition: i32, offset: i64, timestamp_ms: i64, record: Vec<u8> },
}

impl Incoming {
    /// The message's (stream, offset).
    pub fn position(&self) -> (i32, i64) {
        match self {
            Incoming::Event { partition, offset, .. }
            | Incoming::Dead { partition, offset, .. }
            | Incoming::Cross { partition, offset, .. } => (*partition, *offset),
        }
    }
}

/// What the consumer tells the engine, in order.
pub enum ToEngine {
    /// Messages read under the assignment generation given.
    Batch(Generation, Vec<Incoming>),
    Assigned(Vec<i32>),
    Revoked(Vec<i32>),
    /// Shut down: finish what came before, flush, then answer on the channel.
    Stop(Sender<()>),
}

/// The group member's callbacks.
pub struct GroupContext {
    kafka: crate::config::KafkaConfig,
    tx: Sender<ToEngine>,
    acks: Arc<Acks>,
    metrics: Arc<Metrics>,
    status: Arc<Status>,
    /// Assignments received: each starts the watchdog's clocks again.
    assignments: Arc<std::sync::atomic::AtomicU64>,
    /// Streams revoked since the batch being filled last looked (the callbacks run
    /// inside the consumer's poll, on the consumer thread), and whether there are any.
    revoked: std::sync::Mutex<Vec<i32>>,
    any_revoked: std::sync::atomic::AtomicBool,
}

impl GroupContext {
    /// Drops from `items` the messages of streams revoked since the last call: they
    /// were read under an assignment that has ended, after the engine was told to drop
    /// those streams' state.
    fn note_revoked(&self, streams: &[i32]) {
        self.revoked.lock().unwrap_or_else(|e| e.into_inner()).extend(streams);
        self.any_revoked.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    fn drop_revoked(&self, items: &mut Vec<Incoming>) {
        use std::sync::atomic::Ordering;
        // A load first: a poll without a rebalance (nearly all) costs no atomic write.
        if !self.any_revoked.load(Ordering::Relaxed) || !self.any_revoked.swap(false, Ordering::Relaxed) {
            return;
        }
        let revoked = std::mem::take(&mut *self.revoked.lock().unwrap_or_else(|e| e.into_inner()));
        items.retain(|item| !revoked.contains(&item.position().0));
    }
}

impl ClientContext for GroupContext {
    fn stats(&self, stats: Statistics) {
        let Some(topic) = stats.topics.get(&self.kafka.events_topic) else { return };
        // Only the partitions this instance fetches: a revoked one's last figure would
        // stay, and a sum across instances count it twice (a probe).
        for (id, p) in &topic.partitions {
            if *id < 0 {
                continue;
            }
            if p.fetch_state == "active" && p.consumer_lag >= 0 {
                self.metrics.consumer_lag.with_label_values(&[&id.to_string()]).set(p.consumer_lag);
            } else {
                let _ = self.metrics.consumer_lag.remove_label_values(&[&id.to_string()]);
            }
        }
    }
}

/// The engine streams of a partition list (the event topic's and the repartition
/// topic's partitions).
fn streams(tpl: &TopicPartitionList, k: &crate::config::KafkaConfig) -> Vec<i32> {
    let ours = super::repartition::topics(k);
    tpl.elements()
        .iter()
        .filter(|e| ours.iter().any(|t| t == e.topic()))
        .map(|e| super::repartition::stream(k, e.topic(), e.partition()))
        .collect()
}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let revoked = streams(tpl, &self.kafka);
            // Hand over: commit what is safe now; the new owner resumes from there.
            store_committable(consumer, &self.kafka, &self.acks, Some(&revoked));
            if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
                tracing::debug!(error = %e, "commit on revoke");
            }
            for p in &revoked {
                self.acks.revoke(*p);
                let _ = self.metrics.consumer_lag.remove_label_values(&[&p.to_string()]);
            }
            self.note_revoked(&revoked);
            self.status.add_assigned(-(revoked.len() as i64));
            self.metrics.assigned_partitions.set(self.status.assigned());
            tracing::info!(partitions = ?revoked, "partitions revoked");
            let _ = self.tx.send(ToEngine::Revoked(revoked));
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                // librdkafka keeps a partition paused across a rebalance that gives it
                // back, and `hand_over`'s resume may have come while nothing was
                // assigned: a partition assigned is fetched. If the engine is still
                // behind, `hand_over` pauses the new assignment again.
                if let Err(e) = consumer.resume(tpl) {
                    tracing::warn!(error = %e, "resuming the partitions assigned");
                }
                self.assignments.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let assigned = streams(tpl, &self.kafka);
                self.acks.assign(&assigned);
                self.status.add_assigned(assigned.len() as i64);
                self.metrics.assigned_partitions.set(self.status.assigned());
                tracing::info!(partitions = ?assigned, "partitions assigned");
                let _ = self.tx.send(ToEngine::Assigned(assigned));
            }
            Rebalance::Error(e) => tracing::warn!(error = %e, "rebalance error"),
            Rebalance::Revoke(_) => {}
        }
    }
}

/// Turns messages into events or dead letters.
struct MessageDecoder {
    kafka: crate::config::KafkaConfig,
    decoder: Decoder,
    /// Canonical JSON: decoded without the decoder's box.
    canonical: bool,
    /// Longer messages are dead letters unread.
    max: usize,
    /// The most of a message a dead letter keeps.
    keep: usize,
    /// The partition each user's events have come on (by a hash of the user id), to
    /// notice a user's events arriving on two.
    homes: ahash::AHashMap<u64, i32>,
    hasher: ahash::RandomState,
    /// Events that came on another partition than their user's earlier ones, since the
    /// last report.
    misrouted: u64,
}

/// The most users `homes` remembers; then it starts again.
const MAX_HOMES: usize = 1 << 20;

impl MessageDecoder {
    fn incoming(&mut self, m: &BorrowedMessage<'_>) -> Option<Incoming> {
        let (partition, offset) = (super::repartition::stream(&self.kafka, m.topic(), m.partition()), m.offset());
        let timestamp_ms = m.timestamp().to_millis().unwrap_or(0);
        let payload = m.payload().unwrap_or_default();
        if super::repartition::is_cross(partition) {
            return Some(Incoming::Cross { partition, offset, timestamp_ms, record: payload.to_vec() });
        }
        let keep = self.keep;
        let rejected = |reason: DecodeError| Incoming::Dead {
            partition,
            offset,
            key: m.key().map(|k| k[..k.len().min(MAX_KEY_BYTES)].to_vec()),
            letter: DeadLetter::of_record(
                Origin::Kafka { topic: m.topic().to_string(), partition, offset },
                reason,
                payload,
                keep,
            ),
        };
        let incoming = if payload.is_empty() {
            rejected(DecodeError::BadJson("empty message".into()))
        } else if payload.len() > self.max {
            rejected(DecodeError::TooLong { len: payload.len(), limit: self.max })
        } else if self.canonical {
            match std::str::from_utf8(payload) {
                Err(e) => rejected(DecodeError::BadUtf8(e.valid_up_to())),
                // A byte-order mark before the message is not part of it, as the
                // decoder of other formats reads it.
                Ok(text) => match crate::event::json::decode_boxed(text.strip_prefix('\u{feff}').unwrap_or(text)) {
                    Ok(event) => Incoming::Event { partition, offset, timestamp_ms, event },
                    Err(reason) => rejected(reason),
                },
            }
        } else {
            match self.decoder.decode(payload) {
                Decoded::Event(event) => Incoming::Event { partition, offset, timestamp_ms, event },
                Decoded::Rejected(reason) => rejected(reason),
                Decoded::Header => return None,
            }
        };
        // The topic is keyed by user_id (README), so that one user's events reach one
        // partition, where the per-user detectors see them together. The key's form is
        // the producer's (a string, a JSON string, an Avro record): what is checked is
        // that a user's events keep to one partition.
        if let Incoming::Event { partition, event, .. } = &incoming {
            if self.homes.len() >= MAX_HOMES {
                self.homes.clear();
            }
            let home = *self.homes.entry(self.hasher.hash_one(event.user_id.as_str())).or_insert(*partition);
            if home != *partition {
                self.misrouted += 1;
            }
        }
        Some(incoming)
    }

    /// Counts and reports the events that came on another partition than their user's
    /// earlier ones since the last call.
    fn report_misrouted(&mut self, metrics: &Metrics, status: &Status) {
        if self.misrouted == 0 {
            return;
        }
        metrics.events_misrouted.inc_by(std::mem::take(&mut self.misrouted));
        status.warn(
            "misrouted",
            format!(
                "events of one user arrive on several partitions of {} ({} so far): the topic is not keyed by the upper-cased user_id (or its partitions were added to), and the per-user detectors (volume, fishing, out of hours, export) do not see such a user's events together; key the topic by user_id with its letters upper-cased, as the engine compares ids",
                self.kafka.events_topic,
                metrics.events_misrouted.get()
            ),
        );
    }
}

/// How long a batch may wait for the engine before the consumer pauses fetching.
const PAUSE_AFTER: Duration = Duration::from_secs(1);

/// Hands a batch to the engine; false if the engine has gone. When the engine is
/// behind for long (it waits for Kafka or the disk), the consumer pauses its
/// partitions and keeps polling, so it stays a member of the group instead of being
/// dropped for not polling, and resumes once the batch is taken.
fn hand_over(
    consumer: &BaseConsumer<GroupContext>,
    tx: &Sender<ToEngine>,
    acks: &Acks,
    batch: Vec<Incoming>,
    messages: &mut MessageDecoder,
    metrics: &Metrics,
) -> bool {
    let mut msg = match tx.send_timeout(ToEngine::Batch(acks.generation(), batch), PAUSE_AFTER) {
        Ok(()) => return true,
        Err(SendTimeoutError::Disconnected(_)) => return false,
        Err(SendTimeoutError::Timeout(msg)) => msg,
    };
    // Pauses the whole assignment; again after a rebalance, which may bring partitions
    // that would otherwise fill the waiting batch without bound.
    let pause = || {
        if let Ok(p) = consumer.assignment() {
            let _ = consumer.pause(&p);
        }
        acks.generation()
    };
    let mut paused_in = pause();
    tracing::warn!("the engine is behind (waiting for Kafka or the archive): fetching paused");
    metrics.paused.with_label_values(&["engine"]).set(1);
    let handed = loop {
        // Serve the group (heartbeats, rebalances); a message fetched before the
        // pause joins the waiting batch, in order.
        let polled = consumer.poll(Duration::ZERO);
        if let ToEngine::Batch(generation, items) = &mut msg {
            consumer.context().drop_revoked(items);
            if let Some(Ok(m)) = polled {
                items.extend(messages.incoming(&m));
            }
            // What it holds now was all read under the latest assignment.
            *generation = acks.generation();
        }
        if acks.generation() != paused_in {
            paused_in = pause();
        }
        match tx.send_timeout(msg, Duration::from_millis(100)) {
            Ok(()) => break true,
            Err(SendTimeoutError::Disconnected(_)) => break false,
            Err(SendTimeoutError::Timeout(m)) => msg = m,
        }
    };
    if let Ok(p) = consumer.assignment() {
        let _ = consumer.resume(&p);
    }
    metrics.paused.with_label_values(&["engine"]).set(0);
    tracing::info!("the engine has caught up: fetching resumed");
    handed
}

/// Stores the committable offsets (of `only` these streams, if given).
fn store_committable(
    consumer: &BaseConsumer<GroupContext>,
    k: &crate::config::KafkaConfig,
    acks: &Acks,
    only: Option<&[i32]>,
) {
    let mut tpl = TopicPartitionList::new();
    for (stream, offset) in acks.committable() {
        if only.is_none_or(|o| o.contains(&stream)) {
            let (topic, p) = super::repartition::topic_partition(k, stream);
            let _ = tpl.add_partition_offset(topic, p, Offset::Offset(offset));
        }
    }
    if tpl.count() > 0 {
        if let Err(e) = consumer.store_offsets(&tpl) {
            tracing::debug!(error = %e, "storing offsets");
        }
    }
}

/// Runs the consumer until shutdown; then stops the engine, waits for it to drain,
/// and commits the final offsets.
pub fn run(
    config: Arc<Config>,
    tx: Sender<ToEngine>,
    spare: crossbeam_channel::Receiver<Vec<Incoming>>,
    acks: Arc<Acks>,
    metrics: Arc<Metrics>,
    status: Arc<Status>,
    shutdown: Shutdown,
) -> Result<(), LiveError> {
    let k = &config.kafka;
    let mut cfg = super::kafka::client_config(k)?;
    for (key, value) in [
        ("group.id", k.group_id.as_str()),
        ("enable.auto.commit", "true"),
        ("enable.auto.offset.store", "false"),
        ("auto.offset.reset", "earliest"),
        ("statistics.interval.ms", "5000"),
        ("auto.commit.interval.ms", "1000"),
        // A quiet topic should not hold an event at the broker for long: a broker that
        // does not answer a waiting fetch when data arrives (librdkafka's mock does
        // not) keeps it for up to this long, and it is most of produce-to-alert.
        ("fetch.wait.max.ms", "5"),
        // librdkafka pauses fetching for this long whenever its prefetch queue is full;
        // the default (1 s) stalls a catch-up run every second.
        ("fetch.queue.backoff.ms", "10"),
    ] {
        if !k.properties.contains_key(key) {
            cfg.set(key, value);
        }
    }
    let assignments = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let context = GroupContext {
        kafka: k.clone(),
        tx: tx.clone(),
        acks: acks.clone(),
        metrics: metrics.clone(),
        status: status.clone(),
        assignments: assignments.clone(),
        revoked: Default::default(),
        any_revoked: Default::default(),
    };
    let consumer: BaseConsumer<GroupContext> =
        cfg.create_with_context(context).map_err(|e| LiveError::kafka("creating the consumer", e))?;
    let topics = super::repartition::topics(k);
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&names).map_err(|e| LiveError::kafka(format!("subscribing to {names:?}"), e))?;

    let format = match &k.source {
        None => InputFormat::JsonLines,
        Some(name) => InputFormat::Mapped(
            config.sources.get(name).cloned().ok_or_else(|| LiveError::Config(format!("unknown source {name}")))?,
        ),
    };
    if format.is_csv() {
        return Err(LiveError::Config(
            "kafka.source names a CSV mapping; messages need JSON or CEF (a CSV line has no header)".into(),
        ));
    }
    let canonical = matches!(format, InputFormat::JsonLines);
    let max = config.input.max_record_bytes;
    let keep = config.input.dead_letter_max_bytes;
    let commit_every = Duration::from_millis(k.commit_interval.0.max(50) as u64);
    let mut last_commit = Instant::now();

    let mut messages = MessageDecoder {
        kafka: k.clone(),
        decoder: Decoder::new(format),
        canonical,
        max,
        keep,
        homes: Default::default(),
        hasher: ahash::RandomState::new(),
        misrouted: 0,
    };
    let mut seen_generation = 0;
    let mut watchdog =
        super::watchdog::Watchdog::new(topics.iter().map(|t| (t.clone(), stall_after(&config, t))).collect());
    while !shutdown.is_triggered() {
        // Batches come back from the engine with the events it has judged, which are
        // dropped here, on the thread that allocated them (the engine thread is the
        // live path's busiest), and the vector is filled again.
        let mut batch = match spare.try_recv() {
            Ok(mut used) => {
                used.clear();
                used
            }
            Err(_) => Vec::with_capacity(config.live.batch_size),
        };
        let mut wait = Duration::from_millis(100);
        while batch.len() < config.live.batch_size {
            // A rebalance happens inside a poll.
            let polled = consumer.poll(wait);
            consumer.context().drop_revoked(&mut batch);
            match polled {
                None => break,
                Some(Err(e)) => {
                    // Transport errors (a broker away) are retried by the client itself;
                    // only a fatal one ends consuming.
                    tracing::warn!(error = %e, "consumer error");
                    if matches!(e, rdkafka::error::KafkaError::MessageConsumptionFatal(_)) {
                        status.fail(LiveError::kafka("consuming", e.clone()));
                    }
                    break;
                }
                Some(Ok(m)) => {
                    wait = Duration::ZERO;
                    batch.extend(messages.incoming(&m));
                }
            }
        }
        if !batch.is_empty() && !hand_over(&consumer, &tx, &acks, batch, &mut messages, &metrics) {
            break; // the engine has stopped
        }
        messages.report_misrouted(&metrics, &status);
        if last_commit.elapsed() >= commit_every {
            store_committable(&consumer, k, &acks, None);
            last_commit = Instant::now();
        }
        // A rebalance moves partitions, and a moved partition starts again from its last
        // commit (its repartition records wait their delay again): every partition gets
        // a full period after it before it can be called stalled.
        let generation = assignments.load(std::sync::atomic::Ordering::Relaxed);
        if generation != seen_generation {
            watchdog.restart();
            seen_generation = generation;
        }
        if let Some(v) = watchdog.check(&consumer) {
            metrics.partitions_stalled.set(v.stalled.len() as i64);
            match v.warning() {
                Some(warning) => status.warn("partitions stalled", warning),
                None => status.clear_warning("partitions stalled"),
            }
            if v.rejoin {
                tracing::warn!(stalled = ?v.stalled, "partitions with messages waiting have had no progress for kafka.stall_after: rejoining the group to have them reassigned");
                metrics.group_rejoins.inc();
                consumer.unsubscribe();
                let names: Vec<&str> = topics.iter().map(String::as_str).collect();
                consumer.subscribe(&names).map_err(|e| LiveError::kafka("rejoining the group", e))?;
            }
        }
    }

    // Drain: the engine finishes what it was given and flushes the producer; then the
    // final offsets are committed.
    let (done_tx, done_rx) = crossbeam_channel::bounded(1);
    if tx.send(ToEngine::Stop(done_tx)).is_ok() {
        let _ = done_rx.recv_timeout(Duration::from_secs(60));
    }
    store_committable(&consumer, k, &acks, None);
    if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
        tracing::debug!(error = %e, "final commit");
    }
    consumer.unsubscribe();
    Ok(())
}

/// How long a partition of `topic` may show no committed progress before it counts as
/// stalled: `kafka.stall_after`, but never less than a healthy partition can go without
/// a commit (commits wait for a snapshot that covers them and for the updates of open
/// alerts, published every `live.alert_updates`, and a repartition record waits
/// `repartition_delay` in the reorder buffer), or a healthy group would be told
/// to rejoin again and again and never get anything done.
pub fn stall_after(config: &Config, topic: &str) -> Duration {
    let k = &config.kafka;
    let mut floor = k.commit_interval.0.max(0) + config.live.alert_updates.0.max(0) + 5_000;
    if k.subjects_topic.as_deref() == Some(topic) {
        floor += k.repartition_delay.0.max(0);
    }
    if config.state.dir.is_some() || k.state_topic.is_some() {
        floor += config.state.snapshot_interval.0.max(0);
    }
    if k.stall_after.0 < floor {
        tracing::warn!(
            topic,
            // Seconds, not `human()`'s minutes: both are often under one (a probe read
            // "stall_after=0 minutes used=0 minutes").
            stall_after = %k.stall_after,
            used = %crate::time::Span(floor),
            "kafka.stall_after is shorter than a healthy partition can go without a commit: the longer is used"
        );
    }
    Duration::from_millis(k.stall_after.0.max(floor) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The callbacks of a group member of the default configuration.
    fn context(tx: Sender<ToEngine>, acks: Arc<Acks>) -> GroupContext {
        GroupContext {
            kafka: Config::defaults().kafka,
            tx,
            acks,
            metrics: Metrics::new(),
            status: Status::new(Shutdown::new()),
            assignments: Default::default(),
            revoked: Default::default(),
            any_revoked: Default::default(),
        }
    }

    /// The lag of a partition this instance no longer fetches goes from `/metrics`
    /// (a probe: a revoked partition's last figure stayed, and a sum across instances
    /// counted it twice).
    #[test]
    fn the_lag_of_a_partition_not_fetched_is_not_reported() {
        let (tx, _rx) = crossbeam_channel::bounded(1);
        let context = context(tx, Arc::new(Acks::default()));
        let stats = |states: &[(i32, &str, i64)]| {
            let mut topic = rdkafka::statistics::Topic::default();
            for &(id, state, lag) in states {
                let p = rdkafka::statistics::Partition {
                    fetch_state: state.into(),
                    consumer_lag: lag,
                    ..Default::default()
                };
                topic.partitions.insert(id, p);
            }
            let mut s = Statistics::default();
            s.topics.insert(context.kafka.events_topic.clone(), topic);
            s
        };
        context.stats(stats(&[(0, "active", 238), (1, "active", 387)]));
        let text = context.metrics.render();
        assert!(text.contains("accesswatch_consumer_lag{partition=\"1\"} 387"), "{text}");
        context.stats(stats(&[(0, "active", 12), (1, "none", 387), (-1, "none", 0)]));
        let text = context.metrics.render();
        assert!(text.contains("accesswatch_consumer_lag{partition=\"0\"} 12"), "{text}");
        assert!(!text.contains("accesswatch_consumer_lag{partition=\"1\"}"), "{text}");
    }

    #[test]
    fn a_batch_being_filled_loses_what_it_holds_of_revoked_partitions() {
        let (tx, _rx) = crossbeam_channel::bounded(1);
        let context = context(tx, Arc::new(Acks::default()));
        let item = |partition, offset| Incoming::Cross { partition, offset, timestamp_ms: 0, record: Vec::new() };
        let mut batch: Vec<Incoming> = (0..3).flat_map(|p| (0..4).map(move |o| item(p, o))).collect();
        context.drop_revoked(&mut batch);
        assert_eq!(batch.len(), 12, "nothing revoked yet");
        context.note_revoked(&[1]);
        context.drop_revoked(&mut batch);
        let left: Vec<(i32, i64)> = batch.iter().map(Incoming::position).collect();
        assert_eq!(left, [0, 2].iter().flat_map(|&p| (0..4).map(move |o| (p, o))).collect::<Vec<_>>());
        // Read again after the new assignment: kept.
        batch.push(item(1, 0));
        context.drop_revoked(&mut batch);
        assert_eq!(batch.len(), 9);
    }

    /// librdkafka keeps a partition's pause across a rebalance that gives it back, and
    /// the consumer's own resume may land between the revocation and the assignment
    /// (the engine caught up then), when there is nothing to resume: the partitions
    /// came back paused and were never read again (a scale test found an instance
    /// stalled for good after a rebalance while its engine was behind).
    #[test]
    fn a_partition_assigned_again_after_a_pause_is_read() {
        use rdkafka::mocking::MockCluster;
        use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
        let cluster = MockCluster::new(1).unwrap();
        cluster.create_topic("access-events", 2, 1).unwrap();
        let producer: ThreadedProducer<DefaultProducerContext> =
            rdkafka::ClientConfig::new().set("bootstrap.servers", cluster.bootstrap_servers()).create().unwrap();
        let produce = |n: usize| {
            for i in 0..n {
                let record = BaseRecord::<(), str>::to("access-events").partition((i % 2) as i32).payload("{}");
                producer.send(record).map_err(|(e, _)| e).unwrap();
            }
            producer.flush(Duration::from_secs(10)).unwrap();
        };
        produce(4);
        let (tx, _rx) = crossbeam_channel::unbounded();
        let acks = Arc::new(Acks::default());
        let context = context(tx, acks.clone());
        let consumer: BaseConsumer<GroupContext> = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("group.id", "pause")
            .set("auto.offset.reset", "earliest")
            .set("fetch.wait.max.ms", "5")
            .set("session.timeout.ms", "6000")
            .set("heartbeat.interval.ms", "500")
            .create_with_context(context)
            .unwrap();
        consumer.subscribe(&["access-events"]).unwrap();
        // Reads messages for up to `limit`; returns how many came.
        let read = |limit: Duration, want: usize| {
            let (started, mut got) = (Instant::now(), 0);
            while got < want && started.elapsed() < limit {
                if let Some(Ok(_)) = consumer.poll(Duration::from_millis(50)) {
                    got += 1;
                }
            }
            got
        };
        assert_eq!(read(Duration::from_secs(20), 4), 4, "the first messages were not read");
        let first = acks.generation();
        // The engine is behind: fetching is paused, as `hand_over` does. Then a
        // rebalance gives the same partitions back (here the watchdog's rejoin), and
        // the engine catches up only after the revocation, when the assignment is empty.
        consumer.pause(&consumer.assignment().unwrap()).unwrap();
        consumer.unsubscribe();
        consumer.subscribe(&["access-events"]).unwrap();
        let started = Instant::now();
        while acks.generation() == first && started.elapsed() < Duration::from_secs(30) {
            let _ = consumer.poll(Duration::from_millis(50));
        }
        assert!(acks.generation() > first, "the partitions were not assigned again");
        produce(4);
        assert_eq!(read(Duration::from_secs(10), 4), 4, "the partitions given back stayed paused");
    }

    #[test]
    fn a_partition_is_not_stalled_while_its_records_wait_their_turn() {
        let text = "[kafka]\nstall_after = \"20s\"\nrepartition_delay = \"30s\"\ncommit_interval = \"1s\"\n[state]\nsnapshot_interval = \"2s\"\n";
        let config = Config::from_toml("t", text).unwrap();
        assert_eq!(stall_after(&config, "access-subjects"), Duration::from_secs(30 + 2 + 1 + 1 + 5));
        assert_eq!(stall_after(&config, "access-events"), Duration::from_secs(20), "events wait for no reorder");
        let text = "[kafka]\nstall_after = \"5m\"\n";
        assert_eq!(stall_after(&Config::from_toml("t", text).unwrap(), "access-subjects"), Duration::from_secs(300));
        let text = "[kafka]\nstall_after = \"1s\"\nstate_topic = \"\"\ncommit_interval = \"1s\"\n[live]\nalert_updates = \"3s\"\n";
        assert_eq!(stall_after(&Config::from_toml("t", text).unwrap(), "access-events"), Duration::from_secs(9));
        let text = "[live]\nalert_updates = \"2m\"\n";
        let e = Config::from_toml("t", text).unwrap_err().to_string();
        assert!(e.contains("alert_updates") && e.contains("from 0s to 60s"), "{e}");
    }
}
