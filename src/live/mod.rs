//! The live engine on Kafka (`accesswatch run`).
//!
//! ```text
//!  access-events ──► consumer thread ──(bounded batches)──► engine thread ──► access-alerts
//!  access-subjects   (group member)                         the same Engine      access-events.dlq
//!                    decode, DLQ items                                           access-subjects
//!                    store offsets ◄── ack tracker ◄──────── delivery reports ◄──┘
//!  watchlist.* ─────► watch-list thread ──(changes)─────────┘
//! ```
//!
//! - [`consume`]: the consumer group member; rebalances; offsets stored only when
//!   [`acks`] allows (every message an event caused has been acknowledged).
//! - [`worker`]: the engine thread: batches, watch-list changes, snapshots, reload.
//! - [`publish`]: the idempotent producer and the engine's live sink.
//! - [`lists`]: watch lists from compacted topics; start-up waits for them.
//! - [`restore`]: a partition's open alerts read back from the alert topic, so a
//!   restart or a handover folds repeats into the same alerts.
//! - [`archiver`]: the archive writer thread; offsets wait for durable files.
//! - [`snapshot`], [`reload`]: behavioural state across restarts; hot reload.
//! - [`watchdog`]: partitions with messages waiting that no live member consumes.
//! - [`repartition`]: the cross-user stage over every instance's users, through the
//!   repartition topic consumed in the same group.
//! - [`error`]: what can stop the engine, and whose fault it is; [`status`] and
//!   [`shutdown`]: what the threads and the health endpoints share.
//!
//! Shutdown (SIGINT/SIGTERM) is one path: the consumer stops polling and tells the
//! engine to stop; the engine finishes what it was given and flushes the producer; the
//! consumer commits the final offsets; then everything exits.

pub mod acks;
pub mod archiver;
pub mod consume;
pub mod error;
pub mod feed;
pub mod kafka;
pub mod lists;
pub mod publish;
pub mod reload;
pub mod repartition;
pub mod restore;
pub mod shutdown;
pub mod snapshot;
pub mod status;
pub mod watchdog;
pub mod worker;

pub use error::{Fault, LiveError};
pub use shutdown::Shutdown;
pub use status::Status;

use crate::alert::book::DetectClock;
use crate::config::Config;
use crate::engine::Engine;
use crate::metrics::Metrics;
use crate::watchlist::{load_dir, WatchLists};
use acks::Acks;
use consume::{Incoming, ToEngine};
use lists::ListMsg;
use publish::Publisher;
use std::sync::Arc;
use std::time::Duration;
pub use worker::LiveSummary;
use worker::Worker;

/// Runs the live engine until the status's shutdown is triggered (or something
/// fails), then drains and returns.
pub fn run(config: Arc<Config>, metrics: Arc<Metrics>, status: Arc<Status>) -> Result<LiveSummary, LiveError> {
    let shutdown = status.shutdown().clone();
    let acks = Arc::new(Acks::default());
    let mut publisher = Publisher::new(&config.kafka, acks.clone(), metrics.clone(), status.clone())?;
    publisher.same_partitions = check_topics(&config, &publisher)?;
    let publisher = Arc::new(publisher);

    let lists = match &config.live.watchlists_dir {
        Some(dir) => load_dir(dir)?.0,
        None => WatchLists::default(),
    };
    // With an archive, entries added live are checked against it; without one, against
    // the recent accesses kept in memory.
    let history = if config.archive.dir.is_some() { 0 } else { config.live.history_events };
    let engine = Engine::new(config.clone(), lists, DetectClock::WallClock)
        .with_history(history)
        .with_repartition(config.kafka.subjects_topic.is_some());

    let (events_tx, events_rx) = crossbeam_channel::bounded::<ToEngine>(config.live.queue_batches);
    let (spare_tx, spare_rx) = crossbeam_channel::bounded::<Vec<Incoming>>(config.live.queue_batches + 2);
    let (lists_tx, lists_rx) = crossbeam_channel::bounded::<ListMsg>(10_000);
    let worker =
        Worker::start(engine, config.clone(), publisher, acks.clone(), metrics.clone(), status.clone(), spare_tx)?;

    let lists_thread = spawn("watchlists", {
        let (k, metrics, status, shutdown) = (config.kafka.clone(), metrics.clone(), status.clone(), shutdown.clone());
        move || {
            if let Err(e) = lists::run(k, lists_tx, metrics, status.clone(), shutdown) {
                status.fail(e);
            }
        }
    })?;
    let (loaded_tx, loaded_rx) = crossbeam_channel::bounded::<()>(1);
    let engine_thread = spawn("engine", move || worker.run(events_rx, lists_rx, loaded_tx))?;

    // Events wait until the watch lists are loaded (or the engine thread gives up).
    if loaded_rx.recv().is_ok() {
        tracing::info!("watch lists loaded; joining the consumer group");
        let (config, acks, metrics, status, shutdown) =
            (config.clone(), acks.clone(), metrics.clone(), status.clone(), shutdown.clone());
        spawn("consumer", move || {
            if let Err(e) = consume::run(config, events_tx, spare_rx, acks, metrics, status.clone(), shutdown) {
                status.fail(e);
            }
        })?;
    } else {
        drop(events_tx);
    }
    while !shutdown.wait_timeout(Duration::from_secs(1)) {
        metrics.ready.set(status.ready() as i64);
    }
    metrics.ready.set(0);
    let summary = engine_thread.join().map_err(|_| LiveError::Bug("the engine thread panicked".into()))?;
    let _ = lists_thread.join();
    match status.take_fatal() {
        Some(e) => Err(e),
        None => Ok(summary),
    }
}

/// Starts a named thread.
fn spawn<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<std::thread::JoinHandle<T>, LiveError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(|e| LiveError::Bug(format!("cannot start the {name} thread: {e}")))
}

/// Checks the topics exist; returns whether alerts can follow their event's partition
/// (the alert topic has as many partitions as the event topic).
fn check_topics(config: &Config, publisher: &Publisher) -> Result<bool, LiveError> {
    let k = &config.kafka;
    let count = |topic: &str| -> Result<Option<usize>, LiveError> {
        let md = publisher
            .client()
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .map_err(|e| LiveError::kafka(format!("reaching Kafka at {}", k.bootstrap_servers), e))?;
        Ok(md.topics().iter().find(|t| t.name() == topic && t.error().is_none()).map(|t| t.partitions().len()))
    };
    let events = count(&k.events_topic)?;
    let alerts = count(&k.alerts_topic)?;
    if let Some(subjects) = &k.subjects_topic {
        match (count(subjects)?, alerts) {
            (None, _) => {
                return Err(LiveError::Config(format!(
                    "topic {subjects} (kafka.subjects_topic, the repartition stage) does not exist on {}: create it with as many partitions as {}, or set subjects_topic = \"\"",
                    k.bootstrap_servers, k.events_topic
                )))
            }
            (Some(s), Some(a)) if s > a => {
                tracing::warn!(subjects = s, alerts = a, "{subjects} has more partitions than {}: the cross-user stage's alerts cannot be restored after a handover", k.alerts_topic);
                return Ok(false);
            }
            _ => {}
        }
    }
    if let (Some(state), Some(e)) = (&k.state_topic, events) {
        let subjects = match &k.subjects_topic {
            Some(t) => count(t)?.unwrap_or(0),
            None => 0,
        };
        let needed = snapshot::state_partitions_needed(e, subjects);
        match count(state)? {
            Some(n) if n >= needed => {}
            found => {
                let has = found.map_or("does not exist".to_string(), |n| format!("has {n} partitions"));
                return Err(LiveError::Config(format!(
                    "topic {state} (kafka.state_topic, where the behavioural state is handed over) {has} on {}: it needs {needed} (twice the partitions of {} and of the repartition topic), cleanup.policy=compact; or set state_topic = \"\"",
                    k.bootstrap_servers, k.events_topic
                )));
            }
        }
    }
    match (events, alerts) {
        (Some(e), Some(a)) if e == a => Ok(true),
        (Some(e), Some(a)) => {
            tracing::warn!(
                events = e,
                alerts = a,
                "{} and {} have different partition counts: open alerts cannot be restored after a restart or rebalance",
                k.events_topic,
                k.alerts_topic
            );
            Ok(false)
        }
        (None, _) => {
            Err(LiveError::Config(format!("topic {} does not exist on {}", k.events_topic, k.bootstrap_servers)))
        }
        (_, None) => {
            Err(LiveError::Config(format!("topic {} does not exist on {}", k.alerts_topic, k.bootstrap_servers)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The engine thread on `config`, with empty watch lists (loaded) and no broker:
    /// its acks, the channels to it (events, watch lists), the batches it hands back,
    /// and the thread.
    #[allow(clippy::type_complexity)]
    fn engine_thread(
        config: Config,
    ) -> (
        Arc<Acks>,
        crossbeam_channel::Sender<ToEngine>,
        crossbeam_channel::Sender<ListMsg>,
        crossbeam_channel::Receiver<Vec<Incoming>>,
        std::thread::JoinHandle<LiveSummary>,
    ) {
        let config = Arc::new(config);
        let metrics = Metrics::new();
        let status = Status::new(Shutdown::new());
        status.set_lists_loaded();
        let acks = Arc::new(Acks::default());
        // No broker is needed while nothing is sent.
        let publisher = Arc::new(Publisher::new(&config.kafka, acks.clone(), metrics.clone(), status.clone()).unwrap());
        let engine = Engine::new(config.clone(), WatchLists::default(), DetectClock::WallClock);
        let (events_tx, events_rx) = crossbeam_channel::bounded(4);
        let (lists_tx, lists_rx) = crossbeam_channel::bounded::<ListMsg>(4);
        let (spare_tx, spare_rx) = crossbeam_channel::bounded(4);
        let worker = Worker::start(engine, config, publisher, acks.clone(), metrics, status, spare_tx).unwrap();
        let (loaded_tx, _loaded_rx) = crossbeam_channel::bounded(1);
        let handle = std::thread::spawn(move || worker.run(events_rx, lists_rx, loaded_tx));
        (acks, events_tx, lists_tx, spare_rx, handle)
    }

    #[test]
    fn engine_still_drains_and_stops_after_the_watch_list_thread_has_gone() {
        let (_acks, events_tx, lists_tx, _spare, handle) = engine_thread(Config::defaults());
        drop(lists_tx); // the watch-list thread has ended
        let (done_tx, done_rx) = crossbeam_channel::bounded(1);
        events_tx.send(ToEngine::Stop(done_tx)).unwrap();
        assert!(done_rx.recv_timeout(Duration::from_secs(10)).is_ok(), "the engine did not drain");
        handle.join().unwrap();
    }

    /// A rebalance takes a partition away and gives it back while the engine still has
    /// a batch read under the first assignment; the partition is read again from its
    /// last commit. The old batch, processed after the new assignment began, must not
    /// move the partition's commit past offsets read again and not yet processed: a
    /// crash then would skip them.
    #[test]
    fn a_batch_read_under_an_earlier_assignment_moves_no_offset_of_the_new_one() {
        let text = "[kafka]\nstate_topic = \"\"\nsubjects_topic = \"\"\n";
        let (acks, events_tx, _lists_tx, spare_rx, _thread) = engine_thread(Config::from_toml("t", text).unwrap());
        // Records of two repartition streams that raise nothing (unreadable: skipped),
        // so no message is sent and no broker is needed.
        let (a, b) = (repartition::FIRST, repartition::FIRST + 1);
        let records = |stream: i32, offsets: std::ops::Range<i64>| {
            offsets.map(move |offset| Incoming::Cross {
                partition: stream,
                offset,
                timestamp_ms: 0,
                record: b"{}".to_vec(),
            })
        };
        let processed = |generation, items: Vec<Incoming>| {
            events_tx.send(ToEngine::Batch(generation, items)).unwrap();
            spare_rx.recv_timeout(Duration::from_secs(10)).expect("the engine hands every batch back");
        };

        let old = acks.assign(&[a, b]);
        processed(old, records(a, 0..100).chain(records(b, 0..10)).collect());
        assert_eq!(acks.committable(), vec![(a, 100), (b, 10)]);
        // Read under the first assignment, still on its way to the engine when the
        // group rebalances: stream a goes and comes back, b stays.
        let stale: Vec<Incoming> = records(a, 100..150).chain(records(b, 10..20)).collect();
        acks.revoke(a);
        let new = acks.assign(&[a, b]);
        processed(old, stale);
        assert_eq!(acks.committable(), vec![(b, 20)], "a has processed nothing of its new assignment");
        processed(new, records(a, 100..120).collect());
        assert_eq!(acks.committable(), vec![(a, 120), (b, 20)]);
    }
}
