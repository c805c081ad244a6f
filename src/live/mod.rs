//! The live engine on Kafka (`accesswatch run`).
//!
//! ```text
//!  access-events ──► consumer thread ──(bounded batches)──► engine thread ──► access-alerts
//!  (group member)    decode, DLQ items                      the same Engine      access-events.dlq
//!                    store offsets ◄── ack tracker ◄──────── delivery reports ◄──┘
//!  watchlist.* ─────► watch-list thread ──(changes)─────────┘
//! ```
//!
//! - [`consume`]: the consumer group member; rebalances; offsets stored only when
//!   [`acks`] allows (every message an event caused has been acknowledged).
//! - [`publish`]: the idempotent producer and the engine's live sink.
//! - [`lists`]: watch lists from compacted topics; start-up waits for them.
//! - [`restore`]: a partition's open alerts read back from the alert topic, so a
//!   restart or a handover folds repeats into the same alerts.
//!
//! Shutdown (SIGINT/SIGTERM) is one path: the consumer stops polling and tells the
//! engine to stop; the engine finishes what it was given and flushes the producer; the
//! consumer commits the final offsets; then everything exits.

pub mod acks;
pub mod archiver;
pub mod consume;
pub mod feed;
pub mod kafka;
pub mod lists;
pub mod publish;
pub mod restore;
pub mod snapshot;

use crate::alert::book::DetectClock;
use crate::config::Config;
use crate::engine::Engine;
use crate::metrics::Metrics;
use crate::time::Timestamp;
use crate::watchlist::{load_dir, WatchLists};
use acks::Acks;
use consume::{Incoming, ToEngine};
use lists::ListMsg;
use publish::{LiveSink, Origin, Publisher};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One shutdown signal shared by every thread and task.
#[derive(Clone, Default, Debug)]
pub struct Shutdown(Arc<AtomicBool>);

impl Shutdown {
    pub fn new() -> Shutdown {
        Shutdown::default()
    }
    pub fn trigger(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_triggered(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What `/readyz` and the threads need to know about each other.
#[derive(Debug, Default)]
pub struct Status {
    lists_loaded: AtomicBool,
    /// Set by SIGHUP: reload the rule configuration.
    reload: AtomicBool,
    assigned: AtomicI64,
    fatal: Mutex<Option<String>>,
    shutdown: Shutdown,
    /// Sees every alert raised or updated (the dashboard).
    alert_tap: std::sync::OnceLock<Tap>,
}

struct Tap(AlertTap);

impl std::fmt::Debug for Tap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AlertTap")
    }
}

/// A watcher of the alerts the live engine raises and updates.
pub type AlertTap = Arc<dyn Fn(&crate::alert::Alert) + Send + Sync>;

impl Status {
    pub fn new(shutdown: Shutdown) -> Arc<Status> {
        Arc::new(Status { shutdown, ..Default::default() })
    }

    /// Ready: watch lists loaded, partitions assigned, nothing has failed.
    pub fn ready(&self) -> bool {
        self.lists_loaded.load(Ordering::SeqCst) && self.assigned() > 0 && !self.failed()
    }

    pub fn lists_loaded(&self) -> bool {
        self.lists_loaded.load(Ordering::SeqCst)
    }

    pub fn assigned(&self) -> i64 {
        self.assigned.load(Ordering::SeqCst)
    }

    fn set_assigned(&self, delta: i64) {
        self.assigned.fetch_add(delta, Ordering::SeqCst);
    }

    /// Records a fault that stops the engine, and starts the shutdown.
    pub fn fail(&self, why: String) {
        tracing::error!(%why, "stopping");
        if let Ok(mut f) = self.fatal.lock() {
            f.get_or_insert(why);
        }
        self.shutdown.trigger();
    }

    pub fn failed(&self) -> bool {
        self.fatal.lock().map(|f| f.is_some()).unwrap_or(true)
    }

    pub fn fatal(&self) -> Option<String> {
        self.fatal.lock().ok().and_then(|f| f.clone())
    }

    pub fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// Hands every alert the engine raises or updates to `tap` (set before the engine
    /// starts; later calls are ignored).
    pub fn set_alert_tap(&self, tap: AlertTap) {
        let _ = self.alert_tap.set(Tap(tap));
    }

    /// Asks the engine to reload its configuration file (SIGHUP).
    pub fn request_reload(&self) {
        self.reload.store(true, Ordering::SeqCst);
    }

    fn take_reload(&self) -> bool {
        self.reload.swap(false, Ordering::SeqCst)
    }
}

/// Watches the configuration file: on SIGHUP or a change of the file, loads it and
/// swaps the rules in; a file with faults is rejected with every fault logged, and the
/// running configuration stays.
struct ConfigWatch {
    path: Option<std::path::PathBuf>,
    modified: Option<std::time::SystemTime>,
    last_check: Instant,
}

impl ConfigWatch {
    fn new(config: &Config) -> ConfigWatch {
        let path = config.source_path.clone();
        let modified = path.as_deref().and_then(|p| std::fs::metadata(p).ok()?.modified().ok());
        ConfigWatch { path, modified, last_check: Instant::now() }
    }

    /// A new configuration to run, if one is due and valid.
    fn poll(&mut self, current: &Config, status: &Status, metrics: &Metrics) -> Option<Arc<Config>> {
        let asked = status.take_reload();
        if !asked && self.last_check.elapsed() < Duration::from_secs(1) {
            return None;
        }
        self.last_check = Instant::now();
        let path = self.path.as_deref()?;
        let modified = std::fs::metadata(path).ok().and_then(|m| m.modified().ok());
        if !asked && modified == self.modified {
            return None;
        }
        self.modified = modified;
        match Config::load(path) {
            Ok(new) => {
                let fixed = current.restart_needed(&new);
                if !fixed.is_empty() {
                    tracing::warn!(sections = ?fixed, "configuration reloaded; these sections take effect only after a restart");
                }
                tracing::info!(path = %path.display(), "configuration reloaded: rules, thresholds and allow lists now in force");
                metrics.config_reloads.with_label_values(&["applied"]).inc();
                Some(Arc::new(new))
            }
            Err(errors) => {
                tracing::error!(path = %path.display(), %errors, "configuration rejected; the running configuration stays");
                metrics.config_reloads.with_label_values(&["rejected"]).inc();
                None
            }
        }
    }
}

/// What a run did.
#[derive(Debug, Default, Clone)]
pub struct LiveSummary {
    pub events: u64,
    pub dead_letters: u64,
    pub restored_alerts: u64,
}

/// Runs the live engine until the status's shutdown is triggered (or something
/// fails), then drains and returns.
pub fn run(config: Arc<Config>, metrics: Arc<Metrics>, status: Arc<Status>) -> Result<LiveSummary, String> {
    let shutdown = status.shutdown().clone();
    let acks = Arc::new(Acks::default());
    let publisher = Arc::new(Publisher::new(&config.kafka, acks.clone(), metrics.clone(), status.clone())?);
    let same_partitions = check_topics(&config, &publisher)?;
    // Safe: nothing else holds the publisher yet.
    let publisher = {
        let mut p = Arc::try_unwrap(publisher).map_err(|_| "publisher shared too early")?;
        p.same_partitions = same_partitions;
        Arc::new(p)
    };

    let lists = match &config.live.watchlists_dir {
        Some(dir) => load_dir(dir).map(|(l, _)| l).map_err(|errs| {
            let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
            format!("watch lists have errors:\n{}", text.join("\n"))
        })?,
        None => WatchLists::default(),
    };
    // With an archive, entries added live are checked against it; without one, against
    // the recent accesses kept in memory.
    let history = if config.archive.dir.is_some() { 0 } else { config.live.history_events };
    let engine = Engine::new(config.clone(), lists, DetectClock::WallClock).with_history(history);

    let (events_tx, events_rx) = crossbeam_channel::bounded::<ToEngine>(config.live.queue_batches);
    // Emptied batches go back to the consumer to be filled again.
    let (spare_tx, spare_rx) = crossbeam_channel::bounded::<Vec<Incoming>>(config.live.queue_batches + 2);
    let (lists_tx, lists_rx) = crossbeam_channel::bounded::<ListMsg>(10_000);

    let lists_thread = {
        let (k, metrics, status, shutdown) = (config.kafka.clone(), metrics.clone(), status.clone(), shutdown.clone());
        std::thread::Builder::new()
            .name("watchlists".into())
            .spawn(move || {
                if let Err(e) = lists::run(k, lists_tx, metrics, status.clone(), shutdown) {
                    status.fail(e);
                }
            })
            .map_err(|e| e.to_string())?
    };
    let engine_thread = {
        let (config, publisher, metrics, status, acks) =
            (config.clone(), publisher.clone(), metrics.clone(), status.clone(), acks.clone());
        std::thread::Builder::new()
            .name("engine".into())
            .spawn(move || engine_loop(engine, config, events_rx, lists_rx, spare_tx, publisher, acks, metrics, status))
            .map_err(|e| e.to_string())?
    };

    // Events wait until the watch lists are loaded.
    while !status.lists_loaded() && !shutdown.is_triggered() {
        std::thread::sleep(Duration::from_millis(20));
    }
    if status.lists_loaded() {
        tracing::info!("watch lists loaded; joining the consumer group");
    }
    let consumer_thread = {
        let (config, acks, metrics, status, shutdown) =
            (config.clone(), acks.clone(), metrics.clone(), status.clone(), shutdown.clone());
        let tx = events_tx.clone();
        std::thread::Builder::new()
            .name("consumer".into())
            .spawn(move || {
                if shutdown.is_triggered() {
                    return;
                }
                if let Err(e) = consume::run(config, tx, spare_rx, acks, metrics, status.clone(), shutdown) {
                    status.fail(e);
                }
            })
            .map_err(|e| e.to_string())?
    };
    drop(events_tx);
    while !shutdown.is_triggered() {
        metrics.ready.set(status.ready() as i64);
        std::thread::sleep(Duration::from_millis(100));
    }
    metrics.ready.set(0);
    let _ = consumer_thread.join();
    let summary = engine_thread.join().map_err(|_| "the engine thread panicked".to_string())?;
    let _ = lists_thread.join();
    match status.fatal() {
        Some(why) => Err(why),
        None => Ok(summary),
    }
}

/// Checks the topics exist; returns whether alerts can follow their event's partition
/// (the alert topic has as many partitions as the event topic).
fn check_topics(config: &Config, publisher: &Publisher) -> Result<bool, String> {
    let k = &config.kafka;
    let count = |topic: &str| -> Result<Option<usize>, String> {
        let md = publisher
            .client()
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .map_err(|e| format!("cannot reach Kafka at {}: {e}", k.bootstrap_servers))?;
        Ok(md.topics().iter().find(|t| t.name() == topic && t.error().is_none()).map(|t| t.partitions().len()))
    };
    let events = count(&k.events_topic)?;
    let alerts = count(&k.alerts_topic)?;
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
        (None, _) => Err(format!("topic {} does not exist on {}", k.events_topic, k.bootstrap_servers)),
        (_, None) => Err(format!("topic {} does not exist on {}", k.alerts_topic, k.bootstrap_servers)),
    }
}

fn update_list_gauges(engine: &Engine, metrics: &Metrics) {
    for (table, n) in engine.lists().sizes() {
        metrics.watchlist_rows.with_label_values(&[table.as_str()]).set(n as i64);
    }
    metrics.open_alerts.set(engine.open_alerts() as i64);
}

#[allow(clippy::too_many_arguments)]
fn engine_loop(
    mut engine: Engine,
    config: Arc<Config>,
    events: crossbeam_channel::Receiver<ToEngine>,
    lists: crossbeam_channel::Receiver<ListMsg>,
    spare: crossbeam_channel::Sender<Vec<Incoming>>,
    publisher: Arc<Publisher>,
    acks: Arc<Acks>,
    metrics: Arc<Metrics>,
    status: Arc<Status>,
) -> LiveSummary {
    let mut summary = LiveSummary::default();
    let mut file = match &config.live.alerts_file {
        None => None,
        Some(path) => match std::fs::OpenOptions::new().create(true).append(true).open(path) {
            Ok(f) => Some(std::io::BufWriter::new(f)),
            Err(e) => {
                status.fail(format!("cannot open {}: {e}", path.display()));
                None
            }
        },
    };
    let archiver = match &config.archive.dir {
        Some(dir) => {
            match archiver::Archiver::start(dir, &config.archive, acks.clone(), metrics.clone(), status.clone()) {
                Ok(a) => Some(a),
                Err(e) => {
                    status.fail(e);
                    None
                }
            }
        }
        None => None,
    };
    let mut sink = LiveSink::new(&publisher, &metrics, file.as_mut());
    sink.archive = archiver.as_ref().map(|a| a.sender());
    sink.tap = status.alert_tap.get().map(|t| t.0.clone());
    let mut to_archive: Vec<(crate::event::AccessEvent, crate::archive::columns::Provenance)> = Vec::new();

    // The watch lists as they stand, before any event.
    while !status.lists_loaded() && !status.shutdown().is_triggered() {
        match lists.recv_timeout(Duration::from_millis(100)) {
            Ok(ListMsg::Change(c)) => {
                // The lists as they stand at start-up: nothing new to look back for.
                engine.apply(c, &mut sink);
            }
            Ok(ListMsg::Loaded) => status.lists_loaded.store(true, Ordering::SeqCst),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(_) => break,
        }
    }
    update_list_gauges(&engine, &metrics);
    let longest_window =
        crate::detect::RuleId::ALL.iter().map(|r| config.rules.settings(*r).suppression).max().unwrap_or_default();
    let mut last_gauges = Instant::now();
    let mut changes = 0u64;
    let mut latency = crate::metrics::LocalLatency::new(metrics.processing.clone());
    let mut counters = crate::metrics::SystemCounters::new(metrics.clone());

    // The behavioural state as the last snapshot left it, and the offsets it covers.
    let covered = match &config.state.dir {
        Some(dir) => snapshot::load(dir, &mut engine),
        None => BTreeMap::new(),
    };
    let mut processed: BTreeMap<i32, i64> = covered.clone();
    let mut last_snapshot = Instant::now();
    let take_snapshot = |engine: &Engine, processed: &BTreeMap<i32, i64>| {
        let Some(dir) = &config.state.dir else { return };
        // Every alert of the events the snapshot covers must be on Kafka first.
        if let Err(e) = publisher.flush(Duration::from_secs(30)) {
            tracing::warn!(error = %e, "snapshot skipped: the producer did not flush");
            return;
        }
        match snapshot::write(dir, engine, processed) {
            Ok(bytes) => tracing::debug!(bytes, "state snapshot written"),
            Err(e) => tracing::warn!(error = %e, "state snapshot not written"),
        }
    };
    let mut watch = ConfigWatch::new(&config);
    let mut late_seen = 0u64;
    let mut stop: Option<crossbeam_channel::Sender<()>> = None;
    // Once the watch-list thread has gone its channel is always "ready" (disconnected):
    // select on a channel that never fires instead, or the loop would spin.
    let mut lists = lists;
    while stop.is_none() {
        if let Some(new) = watch.poll(engine.config(), &status, &metrics) {
            engine.set_config(new);
        }
        if config.state.dir.is_some()
            && last_snapshot.elapsed() >= Duration::from_millis(config.state.snapshot_interval.0 as u64)
        {
            take_snapshot(&engine, &processed);
            last_snapshot = Instant::now();
        }
        let late = engine.stats().late_events;
        if late > late_seen {
            metrics.late_events.inc_by(late - late_seen);
            late_seen = late;
        }
        // Watch-list changes first: a change applies to the next event.
        while let Ok(m) = lists.try_recv() {
            if let ListMsg::Change(c) = m {
                sink.origin = None;
                if let Some(entry) = engine.apply(c, &mut sink) {
                    look_back(&engine, archiver.as_ref(), &config, entry, &mut sink, &metrics);
                }
                changes += 1;
            }
        }
        let msg = crossbeam_channel::select_biased! {
            recv(lists) -> m => {
                match m {
                    Ok(ListMsg::Change(c)) => {
                        sink.origin = None;
                        if let Some(entry) = engine.apply(c, &mut sink) {
                            look_back(&engine, archiver.as_ref(), &config, entry, &mut sink, &metrics);
                        }
                        changes += 1;
                    }
                    Ok(ListMsg::Loaded) => {}
                    Err(_) => lists = crossbeam_channel::never(),
                }
                continue;
            }
            recv(events) -> m => m,
            default(Duration::from_millis(250)) => {
                if last_gauges.elapsed() > Duration::from_secs(1) || changes > 0 {
                    update_list_gauges(&engine, &metrics);
                    latency.flush();
                    last_gauges = Instant::now();
                    changes = 0;
                }
                continue;
            }
        };
        let Ok(msg) = msg else { break };
        match msg {
            ToEngine::Batch(mut items) => {
                let origin = |i: &Incoming| match i {
                    Incoming::Event { partition, offset, .. } | Incoming::Dead { partition, offset, .. } => {
                        (*partition, *offset)
                    }
                };
                // Hold the whole batch's offsets until it is processed.
                acks.begin_all(items.iter().map(origin));
                let offsets: Vec<(i32, i64)> = items.iter().map(origin).collect();
                for item in items.drain(..) {
                    match item {
                        Incoming::Event { partition, offset, timestamp_ms, event } => {
                            sink.origin = Some(Origin { partition, offset, event_ms: timestamp_ms });
                            let started = Instant::now();
                            let stateful = covered.get(&partition).is_none_or(|until| offset >= *until);
                            engine.process_with(partition, &event, stateful, &mut sink);
                            processed.insert(partition, offset + 1);
                            latency.record(started.elapsed().as_micros() as u64);
                            counters.count(&event.system);
                            summary.events += 1;
                            if archiver.is_some() {
                                let from = crate::archive::columns::Provenance {
                                    partition: Some(partition),
                                    offset: Some(offset),
                                };
                                to_archive.push((event, from));
                            }
                        }
                        Incoming::Dead { partition, offset, key, letter } => {
                            processed.insert(partition, offset + 1);
                            metrics.dead_letters.with_label_values(&[letter.reason.kind()]).inc();
                            if let Err(e) = publisher.send_dead_letter(&letter, key.as_deref(), partition, offset) {
                                status.fail(e);
                            }
                            summary.dead_letters += 1;
                        }
                    }
                }
                if let Some(a) = &archiver {
                    // Each archived event's offset is held until its file is durable.
                    acks.begin_all(to_archive.iter().filter_map(|(_, f)| Some((f.partition?, f.offset?))));
                    let batch = std::mem::take(&mut to_archive);
                    if a.sender().send(archiver::ToArchive::Events(batch)).is_err() {
                        status.fail("the archive writer has stopped".into());
                    }
                }
                acks.processed_all(offsets.into_iter());
                if let Some(e) = sink.error.take() {
                    status.fail(e);
                }
                let _ = spare.try_send(items);
            }
            ToEngine::Assigned(partitions) => {
                if publisher.same_partitions {
                    let since = Timestamp::now() - longest_window - crate::time::Span::hours(1);
                    match restore::read_alerts(&config.kafka, &partitions, since, Duration::from_secs(60)) {
                        Ok(by_partition) => {
                            for (p, alerts) in by_partition {
                                let n = engine.restore(p, alerts);
                                summary.restored_alerts += n as u64;
                                if n > 0 {
                                    tracing::info!(partition = p, alerts = n, "open alerts restored");
                                }
                            }
                        }
                        Err(e) => tracing::warn!(partitions = ?partitions, error = %e, "open alerts not restored"),
                    }
                }
            }
            ToEngine::Revoked(partitions) => {
                for p in partitions {
                    engine.drop_stream(p);
                }
            }
            ToEngine::Stop(done) => stop = Some(done),
        }
        if last_gauges.elapsed() > Duration::from_secs(1) {
            update_list_gauges(&engine, &metrics);
            latency.flush();
            last_gauges = Instant::now();
        }
    }
    latency.flush();
    drop(sink);
    if let Some(a) = archiver {
        if let Err(e) = a.stop() {
            status.fail(e);
        }
    }
    if let Err(e) = publisher.flush(Duration::from_secs(30)) {
        status.fail(e);
    } else {
        take_snapshot(&engine, &processed);
    }
    if let Some(f) = file.as_mut() {
        use std::io::Write;
        let _ = f.flush();
    }
    tracing::info!(events = summary.events, dead_letters = summary.dead_letters, "engine drained");
    if let Some(done) = stop {
        let _ = done.send(());
    }
    summary
}

/// An entry added live: the archive's accesses in its look-back raise the alerts a
/// replay with the entry present would have raised. The archive is flushed first so
/// that every event processed so far is in it.
fn look_back(
    engine: &Engine,
    archiver: Option<&archiver::Archiver>,
    config: &Config,
    (table, key): (crate::watchlist::TableName, compact_str::CompactString),
    sink: &mut LiveSink<'_>,
    metrics: &Metrics,
) {
    use crate::alert::AlertSink;
    let (Some(archiver), Some(dir)) = (archiver, &config.archive.dir) else { return };
    let started = Instant::now();
    let result = archiver.flush().and_then(|()| {
        let hunt = crate::hunt::Hunt::open(dir, None).map_err(|e| e.to_string())?;
        let open: std::collections::HashSet<_> = engine.open_alert_ids().into_iter().collect();
        crate::retro::scan(&hunt, engine, table, &key, &open).map_err(|e| e.to_string())
    });
    match result {
        Ok(alerts) => {
            tracing::info!(%table, %key, alerts = alerts.len(), ms = started.elapsed().as_millis() as u64, "archive searched for accesses before the entry was added");
            metrics.retrospective_alerts.inc_by(alerts.len() as u64);
            sink.origin = None;
            for a in alerts {
                sink.stream(-1);
                sink.raised(&a);
                sink.closed(a);
            }
        }
        Err(e) => tracing::error!(%table, %key, error = %e, "retrospective check against the archive failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_still_drains_and_stops_after_the_watch_list_thread_has_gone() {
        let config = Arc::new(Config::defaults());
        let metrics = Metrics::new();
        let status = Status::new(Shutdown::new());
        status.lists_loaded.store(true, Ordering::SeqCst);
        let acks = Arc::new(Acks::default());
        // No broker is needed: nothing is sent.
        let publisher = Arc::new(Publisher::new(&config.kafka, acks.clone(), metrics.clone(), status.clone()).unwrap());
        let engine = Engine::new(config.clone(), WatchLists::default(), DetectClock::WallClock);
        let (events_tx, events_rx) = crossbeam_channel::bounded(4);
        let (lists_tx, lists_rx) = crossbeam_channel::bounded::<ListMsg>(4);
        let (spare_tx, _spare_rx) = crossbeam_channel::bounded(4);
        drop(lists_tx); // the watch-list thread has ended
        let handle = std::thread::spawn(move || {
            engine_loop(engine, config, events_rx, lists_rx, spare_tx, publisher, acks, metrics, status)
        });
        let (done_tx, done_rx) = crossbeam_channel::bounded(1);
        events_tx.send(ToEngine::Stop(done_tx)).unwrap();
        assert!(done_rx.recv_timeout(Duration::from_secs(10)).is_ok(), "the engine did not drain");
        handle.join().unwrap();
    }
}
