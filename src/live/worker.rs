//! The engine thread: the one [`Engine`] fed with the consumer's batches and the
//! watch-list changes, in order, with everything around it (snapshots, hot reload,
//! the archive hand-over, gauges) as small steps of one loop.

use super::acks::{Acks, At, Generation, OffsetRange};
use super::archiver::{Archiver, ToArchive};
use super::consume::{Incoming, ToEngine};
use super::error::LiveError;
use super::lists::ListMsg;
use super::publish::{LiveSink, Origin, Publisher};
use super::reload::ConfigWatch;
use super::snapshot;
use super::status::Status;
use crate::alert::{AlertSink, RuleId};
use crate::archive::columns::Provenance;
use crate::config::Config;
use crate::engine::{Engine, ListChange};
use crate::event::AccessEvent;
use crate::metrics::{LocalLatency, Metrics, SystemCounters};
use crate::time::{Span, Timestamp};
use compact_str::CompactString;
use crossbeam_channel::{Receiver, Sender};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a run did.
#[derive(Debug, Default, Clone)]
pub struct LiveSummary {
    pub events: u64,
    pub dead_letters: u64,
    pub restored_alerts: u64,
    /// The engine's counters at the end (explanations, resolutions, late events).
    pub stats: crate::engine::EngineStats,
}

/// How often the loop wakes with nothing to do, for its periodic steps.
const TICK: Duration = Duration::from_millis(250);

/// The engine thread's state.
pub(super) struct Worker {
    engine: Engine,
    config: Arc<Config>,
    sink: LiveSink,
    publisher: Arc<Publisher>,
    acks: Arc<Acks>,
    metrics: Arc<Metrics>,
    status: Arc<Status>,
    archiver: Option<Archiver>,
    /// The current batch's events, on their way to the archive.
    to_archive: Vec<(AccessEvent, Provenance)>,
    /// Processed batches go back to the consumer to be emptied and filled again.
    spare: Sender<Vec<Incoming>>,
    /// Per partition, the offset the restored snapshot covers: events before it are
    /// already in the behavioural state.
    covered: BTreeMap<i32, i64>,
    /// Per partition, the offset the last snapshot written or restored covers: nothing
    /// beyond it is committed.
    ceiling: BTreeMap<i32, i64>,
    /// Per partition, the offset after the last event processed.
    processed: BTreeMap<i32, i64>,
    /// The assignment generation the batch being processed was read under: its holds
    /// are made under it (see [`super::acks`]).
    generation: Generation,

    /// Repartition records waiting to be processed in event-time order.
    reorder: super::repartition::Reorder,
    last_snapshot: Instant,
    watch: ConfigWatch,
    latency: LocalLatency,
    counters: SystemCounters,
    late_seen: u64,
    off_staff_seen: u64,
    /// The engine's explanation counts already added to the metrics.
    explained_seen: ([u64; crate::explain::Kind::ALL.len()], u64, u64, u64),
    /// The units shared by several forces' staff already said in the log.
    shared_units_said: std::collections::BTreeSet<String>,
    /// Per system, the clock-skewed and late events already reported.
    skew_seen: BTreeMap<CompactString, u64>,
    copies_seen: BTreeMap<CompactString, u64>,
    late_by_system_seen: BTreeMap<CompactString, u64>,
    last_gauges: Instant,
    summary: LiveSummary,
}

impl Worker {
    /// Opens what the engine writes to (alerts file, archive) and restores the
    /// behavioural state from the last snapshot.
    pub fn start(
        mut engine: Engine,
        config: Arc<Config>,
        publisher: Arc<Publisher>,
        acks: Arc<Acks>,
        metrics: Arc<Metrics>,
        status: Arc<Status>,
        spare: Sender<Vec<Incoming>>,
    ) -> Result<Worker, LiveError> {
        let file = match &config.live.alerts_file {
            None => None,
            Some(path) => {
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| LiveError::disk(format!("opening {}", path.display()), e))?;
                Some(std::io::BufWriter::new(f))
            }
        };
        let archiver = match &config.archive.dir {
            Some(dir) => Some(Archiver::start(dir, &config.archive, acks.clone(), metrics.clone(), status.clone())?),
            None => None,
        };
        let updates = Duration::from_millis(config.live.alert_updates.0.max(0) as u64);
        let mut sink = LiveSink::new(publisher.clone(), metrics.clone(), file).with_update_interval(updates);
        sink.archive = archiver.as_ref().map(|a| a.sender());
        let covered = match &config.state.dir {
            Some(dir) => snapshot::load_file(dir, &mut engine),
            None => BTreeMap::new(),
        };
        if snapshots(&config) {
            // Nothing committed that no snapshot covers (see `acks`).
            acks.cap_at(&covered);
        }
        Ok(Worker {
            processed: covered.clone(),
            ceiling: covered.clone(),
            generation: 0,

            reorder: super::repartition::Reorder::new(
                Duration::from_millis(config.kafka.repartition_delay.0.max(0) as u64),
                config.kafka.repartition_buffer,
            ),
            covered,
            engine,
            watch: ConfigWatch::new(&config),
            latency: LocalLatency::new(metrics.processing.clone()),
            counters: SystemCounters::new(metrics.clone()),
            config,
            sink,
            publisher,
            acks,
            metrics,
            status,
            archiver,
            to_archive: Vec::new(),
            spare,
            last_snapshot: Instant::now(),
            late_seen: 0,
            off_staff_seen: 0,
            explained_seen: Default::default(),
            shared_units_said: Default::default(),
            skew_seen: BTreeMap::new(),
            copies_seen: BTreeMap::new(),
            late_by_system_seen: BTreeMap::new(),
            last_gauges: Instant::now(),
            summary: LiveSummary::default(),
        })
    }

    /// Applies the watch lists as they stand (then says so on `loaded`), and runs
    /// until the consumer says stop (or goes); then drains.
    pub fn run(mut self, events: Receiver<ToEngine>, lists: Receiver<ListMsg>, loaded: Sender<()>) -> LiveSummary {
        let mut lists = self.load_lists(lists);
        if self.status.lists_loaded() {
            let _ = loaded.send(());
        }
        drop(loaded);
        let mut stop = None;
        while stop.is_none() {
            self.tick();
            // Watch-list changes first: a change applies to the next event.
            while let Ok(m) = lists.try_recv() {
                if let ListMsg::Change(c) = m {
                    self.on_list_change(c);
                }
            }
            crossbeam_channel::select_biased! {
                recv(lists) -> m => match m {
                    Ok(ListMsg::Change(c)) => self.on_list_change(c),
                    Ok(ListMsg::Loaded) => {}
                    // The watch-list thread has gone: its channel would always be ready.
                    Err(_) => lists = crossbeam_channel::never(),
                },
                recv(events) -> m => match m {
                    Ok(ToEngine::Batch(generation, items)) => self.on_batch(generation, items),
                    Ok(ToEngine::Assigned(partitions)) => self.on_assigned(&partitions),
                    Ok(ToEngine::Revoked(partitions)) => self.on_revoked(&partitions),
                    Ok(ToEngine::Stop(done)) => stop = Some(done),
                    Err(_) => break,
                },
                default(TICK) => {}
            }
        }
        self.drain(stop)
    }

    /// Applies the watch lists as they stand on the topics before any event is taken;
    /// returns the channel for the changes that follow.
    fn load_lists(&mut self, lists: Receiver<ListMsg>) -> Receiver<ListMsg> {
        let shutdown = self.status.shutdown().clone();
        while !self.status.lists_loaded() {
            crossbeam_channel::select! {
                recv(lists) -> m => match m {
                    // The lists as they stand at start-up: nothing new to look back for.
                    Ok(ListMsg::Change(c)) => {
                        self.sink.origin = None;
                        self.engine.apply(c, &mut self.sink);
                    }
                    Ok(ListMsg::Loaded) => self.status.set_lists_loaded(),
                    Err(_) => return crossbeam_channel::never(),
                },
                recv(shutdown.channel()) -> _ => break,
            }
        }
        self.engine.lists().warn_of_shared_units(&mut self.shared_units_said);
        self.update_gauges();
        lists
    }

    /// The periodic steps: hot reload, snapshot, late-event count, gauges.
    fn tick(&mut self) {
        if let Some(new) = self.watch.poll(self.engine.config(), &self.status, &self.metrics) {
            self.engine.set_config(new);
        }
        self.release_cross(false);
        self.sink.publish_updates(false);
        // Alerts a tick releases (held ones, updates) reach the file now too.
        if let Err(e) = self.sink.flush_file() {
            self.status.fail(e);
        }
        self.maybe_snapshot();
        self.report_time_faults();
        if self.last_gauges.elapsed() > Duration::from_secs(1) {
            self.update_gauges();
        }
    }

    /// Counts and names the systems whose events come from the future (a clock fault)
    /// or from far behind (a backlog): both are judged by the watch-list rules only.
    fn report_time_faults(&mut self) {
        let stats = self.engine.stats();
        if stats.late_events > self.late_seen {
            self.metrics.late_events.inc_by(stats.late_events - self.late_seen);
            self.late_seen = stats.late_events;
        }
        let off_staff = stats.off_staff();
        if off_staff > self.off_staff_seen {
            self.metrics.off_staff_accesses.inc_by(off_staff - self.off_staff_seen);
            self.off_staff_seen = off_staff;
            let most = stats.off_staff_by_account.iter().max_by_key(|(_, n)| **n).map(|(a, n)| format!("{a} ({n})"));
            self.status.warn(
                "off-staff",
                format!(
                    "{off_staff} accesses so far by accounts on no staff row, the most by {}: the rules know no unit, case team or suspension for them; if a source logs accounts in another form than the staff list (a domain before them), give it a source mapping",
                    most.unwrap_or_default()
                ),
            );
        }
        let (explained, unexplained, resolved, resolved_on_operations) = &mut self.explained_seen;
        for kind in crate::explain::Kind::ALL {
            let (now, seen) = (stats.explained[kind as usize], &mut explained[kind as usize]);
            if now > *seen {
                self.metrics.accesses.with_label_values(&[kind.as_str()]).inc_by(now - *seen);
                *seen = now;
            }
        }
        if stats.unexplained > *unexplained {
            self.metrics.accesses.with_label_values(&["none"]).inc_by(stats.unexplained - *unexplained);
            *unexplained = stats.unexplained;
        }
        if stats.resolved > *resolved {
            self.metrics.alerts_resolved.inc_by(stats.resolved - *resolved);
            *resolved = stats.resolved;
        }
        if stats.resolved_on_operations > *resolved_on_operations {
            self.metrics.operation_alerts_resolved.inc_by(stats.resolved_on_operations - *resolved_on_operations);
            *resolved_on_operations = stats.resolved_on_operations;
        }
        let state = &self.config.state;
        for (system, &n) in &stats.skewed_by_system {
            let seen = self.skew_seen.entry(system.clone()).or_default();
            if n > *seen {
                self.metrics.clock_skew(system, n - *seen);
                *seen = n;
                self.status.warn(
                    &format!("clock:{system}"),
                    format!(
                        "system {system} sends events dated more than {} ahead of this machine's clock ({n} so far): its clock is wrong; they are judged by the watch-list rules only and do not move the detectors' clock",
                        state.max_clock_skew.human()
                    ),
                );
            }
        }
        for (system, &n) in &stats.copies_by_system {
            let seen = self.copies_seen.entry(system.clone()).or_default();
            if n > *seen {
                self.metrics.event_copies(system, n - *seen);
                *seen = n;
            }
        }
        for (system, &n) in &stats.late_by_system {
            let seen = self.late_by_system_seen.entry(system.clone()).or_default();
            // A few stragglers are normal; a stream of them is a backlog.
            if n >= *seen + 100 {
                *seen = n;
                self.status.warn(
                    &format!("late:{system}"),
                    format!(
                        "system {system} sends events more than {} behind the newest of their partition ({n} so far): a backlog being sent late? They are judged by the watch-list rules only; replay the backlog with `accesswatch replay` to run the behavioural detectors over it",
                        state.allowed_lateness.human()
                    ),
                );
            }
        }
    }

    fn update_gauges(&mut self) {
        for (table, n) in self.engine.lists().sizes() {
            self.metrics.watchlist_rows.with_label_values(&[table.as_str()]).set(n as i64);
        }
        let (open, on_operations) = self.engine.open_alerts_split();
        self.metrics.open_alerts.set((open - on_operations) as i64);
        self.metrics.operation_open_alerts.set(on_operations as i64);
        self.latency.flush();
        self.last_gauges = Instant::now();
    }

    /// One batch from the consumer: every event through the engine, every dead letter
    /// to its topic, the events to the archive, then the batch's offsets released.
    fn on_batch(&mut self, generation: Generation, mut items: Vec<Incoming>) {
        // Hold the whole batch's offsets until it is processed.
        self.generation = generation;
        let spans = OffsetRange::of(items.iter().map(Incoming::position));
        self.acks.begin_batch(generation, &spans);
        // Each event's processing time runs from the end of the item before it: one
        // clock reading an item.
        let mut mark = Instant::now();
        for item in &mut items {
            match *item {
                Incoming::Event { partition, offset, timestamp_ms, ref event } => {
                    self.on_event(partition, offset, timestamp_ms, event);
                    let done = Instant::now();
                    self.latency.record(done.duration_since(mark).as_micros() as u64);
                    mark = done;
                    continue;
                }
                Incoming::Cross { partition, offset, timestamp_ms, ref mut record } => {
                    match super::repartition::record_access(record) {
                        Some(at) => {
                            // Its offset stays held until it is processed.
                            let held = At { generation, stream: partition, offset };
                            self.acks.expect(held);
                            self.reorder.hold(at, held, timestamp_ms, std::mem::take(record));
                        }
                        None => self.on_cross(At { generation, stream: partition, offset }, timestamp_ms, record),
                    }
                }
                Incoming::Dead { partition, offset, ref key, ref letter } => {
                    self.processed.insert(partition, offset + 1);
                    self.metrics.dead_letters.with_label_values(&[letter.reason.kind()]).inc();
                    let limit = self.config.input.dead_letter_max_bytes;
                    let source = At { generation, stream: partition, offset };
                    match self.publisher.send_dead_letter(letter, key.as_deref(), source, limit) {
                        Ok(()) => {}
                        // Refused for what it is even when cut to its bound: counted,
                        // logged and skipped; a record never stops the engine.
                        Err(e) if e.refused_message() => {
                            tracing::error!(partition, offset, error = %e, "a dead letter was refused; it is dropped and counted");
                            self.metrics.dead_letters_dropped.inc();
                            // Refused before it was queued: nothing will acknowledge the
                            // hold its sending took, which would keep the partition's
                            // commits back for good.
                            self.acks.ack(source);
                        }
                        Err(e) => self.status.fail(e),
                    }
                    self.summary.dead_letters += 1;
                }
            }
            mark = Instant::now();
        }
        if let Some(a) = &self.archiver {
            // Each archived event's offset is held until its file is durable.
            self.acks.begin_all(
                self.to_archive
                    .iter()
                    .filter_map(|(_, f)| Some(At { generation, stream: f.partition?, offset: f.offset? })),
            );
            if a.sender().send(ToArchive::Events(generation, std::mem::take(&mut self.to_archive))).is_err() {
                self.status.fail(LiveError::Bug("the archive writer has stopped".into()));
            }
        }
        self.counters.flush();
        self.acks.processed_batch(generation, &spans);
        self.release_cross(false);
        // The alerts file has each batch's alerts when the batch is done, not when 8 KiB
        // have gathered or the engine stops (a probe: two red alerts were minutes late,
        // and a SIGKILL lost them from it for good).
        if let Err(e) = self.sink.flush_file() {
            self.sink.error.get_or_insert(e);
        }
        if let Some(e) = self.sink.error.take() {
            self.status.fail(e);
        }
        // The batch goes back whole: its events are dropped on the consumer thread,
        // which allocated them, and not here, on the live path's busiest thread.
        let _ = self.spare.try_send(items);
    }

    fn on_event(&mut self, partition: i32, offset: i64, timestamp_ms: i64, event: &AccessEvent) {
        let at = At { generation: self.generation, stream: partition, offset };
        self.sink.origin = Some(Origin { at, event_ms: timestamp_ms });
        // Events the snapshot covers are already in the behavioural state.
        let stateful = self.covered.get(&partition).is_none_or(|until| offset >= *until);
        self.engine.process_with(partition, event, stateful, &mut self.sink);
        self.processed.insert(partition, offset + 1);
        self.counters.count(&event.system);
        self.summary.events += 1;
        // The live clock judges every event as it arrives, so the sink holds this
        // event's explanation now.
        let explained = self.sink.explained.take().flatten();
        if self.archiver.is_some() {
            let from = Provenance {
                partition: Some(partition),
                offset: Some(offset),
                received_at: Some(crate::time::Timestamp::now()),
                explained,
            };
            self.to_archive.push((event.clone(), from));
        }
    }

    /// Processes the repartition records that are due (all of them with `all`).
    fn release_cross(&mut self, all: bool) {
        while let Some(h) = self.reorder.next_due(all) {
            self.on_cross(h.at, h.timestamp_ms, &h.record);
            self.acks.ack(h.at);
        }
        self.metrics.repartition_waiting.set(self.reorder.len() as i64);
        if let Some(e) = self.sink.error.take() {
            self.status.fail(e);
        }
    }

    /// A record of the repartition topic: the cross-user stage (spikes, the peer
    /// comparison) for the person or unit it is keyed by.
    fn on_cross(&mut self, at: At, timestamp_ms: i64, record: &[u8]) {
        let (stream, offset) = (at.stream, at.offset);
        self.sink.origin = Some(Origin { at, event_ms: timestamp_ms });
        let stateful = self.covered.get(&stream).is_none_or(|until| offset >= *until);
        if let Err(e) = self.engine.process_cross(stream, record, stateful, &mut self.sink) {
            // Our own topic: a record we cannot read was written by another version.
            tracing::warn!(stream, offset, error = %e, "a repartition record was skipped");
        }
        // Records are taken in event-time order, not offset order: what the stream has
        // processed reaches the highest offset seen (the snapshot takes the lowest one
        // still waiting off it).
        let next = self.processed.entry(stream).or_insert(offset + 1);
        *next = (*next).max(offset + 1);
    }

    /// A watch-list change; a high-profile entry or operation subject that is new is
    /// checked against the archive's past accesses.
    fn on_list_change(&mut self, change: ListChange) {
        self.sink.origin = None;
        let staff = matches!(&change, ListChange::Upsert { row: crate::watchlist::Row::Staff(_), .. });
        if let Some(entry) = self.engine.apply(change, &mut self.sink) {
            self.look_back(entry);
        }
        if staff {
            self.engine.lists().warn_of_shared_units(&mut self.shared_units_said);
        }
        self.update_gauges();
    }

    /// Partitions given to this instance: their behavioural state comes back from the
    /// state topic, and their open alerts from the alert topic, so repeats fold into
    /// the same alerts.
    fn on_assigned(&mut self, partitions: &[i32]) {
        self.reorder.assigned(partitions);
        self.restore_state(partitions);
        if !self.publisher.same_partitions {
            return;
        }
        use super::repartition::{alerts_partition, cross_rule, is_cross};
        let longest = RuleId::ALL.iter().map(|r| self.config.rules.settings(*r).suppression).max().unwrap_or_default();
        let since = Timestamp::now() - longest.max(self.config.rules.behaviour.peer_half_life) - Span::hours(1);
        let mut on_topic: Vec<i32> = partitions.iter().map(|s| alerts_partition(*s)).collect();
        on_topic.sort_unstable();
        on_topic.dedup();
        let repartitioned = self.config.kafka.subjects_topic.is_some();
        match super::restore::read_alerts(&self.config.kafka, &on_topic, since, Duration::from_secs(60)) {
            Ok(mut by_partition) => {
                for &stream in partitions {
                    let Some(alerts) = by_partition.get(&alerts_partition(stream)) else { continue };
                    // A partition of the alert topic carries both stages' alerts: each
                    // stream takes back its own.
                    let mine: Vec<_> = alerts
                        .iter()
                        .filter(|a| !repartitioned || cross_rule(a.rule) == is_cross(stream))
                        .cloned()
                        .collect();
                    let n = match is_cross(stream) {
                        true => self.engine.restore_cross(stream, mine),
                        false => self.engine.restore(stream, mine),
                    };
                    self.summary.restored_alerts += n as u64;
                    if n > 0 {
                        tracing::info!(stream, alerts = n, "open alerts restored");
                    }
                }
                by_partition.clear();
            }
            Err(e) => tracing::warn!(partitions = ?partitions, error = %e, "open alerts not restored"),
        }
    }

    /// The newest snapshot of each stream on the state topic, where it covers more
    /// than what this instance holds of it (a snapshot file of its own, from before a
    /// restart).
    fn restore_state(&mut self, streams: &[i32]) {
        let Some(topic) = &self.config.kafka.state_topic else { return };
        let read = snapshot::read_streams(&self.config.kafka, topic, streams, Duration::from_secs(60));
        let restored = match read {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(partitions = ?streams, error = %e, "behavioural state not read from the state topic; the detectors of these partitions start cold");
                return;
            }
        };
        for (stream, candidates) in restored {
            // The best that can be read; a snapshot that cannot is passed over for the
            // next (the detectors start cold only when none can).
            for r in candidates {
                if self.covered.get(&stream).is_some_and(|held| *held > r.covers) {
                    break;
                }
                match self.engine.restore_stream(stream, &r.state) {
                    Ok(()) => {
                        tracing::info!(
                            stream,
                            covers = r.covers,
                            bytes = r.state.len(),
                            "behavioural state restored from the state topic"
                        );
                        self.covered.insert(stream, r.covers);
                        self.processed.insert(stream, r.covers);
                        self.ceiling.insert(stream, r.covers);
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(stream, covers = r.covers, error = %e, "a snapshot on the state topic is not usable; the next one is tried, else the detectors start cold")
                    }
                }
            }
        }
        self.acks.cap_at(&self.ceiling);
    }

    fn on_revoked(&mut self, partitions: &[i32]) {
        self.sink.forget_updates(partitions);
        for p in partitions {
            // Its waiting records are read again by the next owner, and its state
            // goes with it.
            self.reorder.park(*p);
            self.engine.drop_stream(*p);
            self.processed.remove(p);
            self.covered.remove(p);
            self.ceiling.remove(p);
        }
    }

    fn maybe_snapshot(&mut self) {
        let due = Duration::from_millis(self.config.state.snapshot_interval.0 as u64);
        if snapshots(&self.config) && self.last_snapshot.elapsed() >= due {
            self.snapshot();
            self.last_snapshot = Instant::now();
        }
    }

    /// Writes the snapshot once every alert of the events it covers is on Kafka.
    fn snapshot(&mut self) {
        if !snapshots(&self.config) {
            return;
        }
        // The snapshot covers events whose updates may still wait: out with them first.
        self.sink.publish_updates(true);
        if let Err(e) = self.publisher.flush(Duration::from_secs(30)) {
            tracing::warn!(error = %e, "snapshot skipped: the producer did not flush");
            return;
        }
        // A record still waiting is not in the state: the snapshot covers what came
        // before it.
        let mut covered = self.processed.clone();
        for (stream, low) in self.reorder.lowest_waiting() {
            covered.entry(stream).and_modify(|c| *c = (*c).min(low)).or_insert(low);
        }
        if let Some(topic) = &self.config.kafka.state_topic {
            let written = snapshot::publish(&self.publisher, topic, &self.engine, &covered)
                .and_then(|bytes| self.publisher.flush(Duration::from_secs(30)).map(|()| bytes));
            match written {
                Ok(bytes) => tracing::debug!(bytes, "state snapshot written to the state topic"),
                Err(e) => return tracing::warn!(error = %e, "state snapshot not written"),
            }
        }
        if let Some(dir) = &self.config.state.dir {
            match snapshot::write_file(dir, &self.engine, &covered) {
                Ok(bytes) => tracing::debug!(bytes, "state snapshot written"),
                Err(e) => return tracing::warn!(error = %e, "state snapshot not written"),
            }
        }
        self.acks.cap_at(&covered);
        self.ceiling = covered;
    }

    /// An entry added live: the archive's accesses in its look-back raise the alerts a
    /// replay with the entry present would have raised. The archive is flushed first so
    /// that every event processed so far is in it.
    fn look_back(&mut self, (table, key): (crate::watchlist::TableName, compact_str::CompactString)) {
        let (Some(archiver), Some(dir)) = (&self.archiver, &self.config.archive.dir) else { return };
        let started = Instant::now();
        let result = archiver.flush().and_then(|()| {
            let hunt = crate::hunt::Hunt::open(dir, None)?;
            let open: std::collections::HashSet<_> = self.engine.open_alert_ids().into_iter().collect();
            let alerts = crate::retro::scan(&hunt, &self.engine, table, &key, &open)?;
            Ok((alerts, hunt.unread()))
        });
        match result {
            Ok((alerts, unread)) => {
                tracing::info!(%table, %key, alerts = alerts.len(), ms = started.elapsed().as_millis() as u64, "archive searched for accesses before the entry was added");
                for (file, why) in &unread {
                    tracing::warn!(%table, %key, file = %file.display(), error = %why, "an archive file could not be read: the search for accesses before a new entry left it out");
                }
                if !unread.is_empty() {
                    self.status.warn(
                        "retrospective-unread",
                        // No key: an operation's names its subject, and /healthz asks
                        // for no sign-in. The log has it.
                        format!(
                            "the archive search for accesses before a new {table} entry left out {} unreadable file(s), {}: repair or remove them, then run `accesswatch retrospective` for the entry (its key is in the log)",
                            unread.len(),
                            unread[0].0.display()
                        ),
                    );
                }
                self.metrics.retrospective_alerts.inc_by(alerts.len() as u64);
                self.sink.origin = None;
                for a in alerts {
                    self.sink.stream(-1);
                    self.sink.raised(&a);
                    self.sink.closed(a);
                }
            }
            Err(e) => {
                tracing::error!(%table, %key, error = %e, "retrospective check against the archive failed");
                self.status.warn(
                    "retrospective-failed",
                    format!("the archive search for accesses before a new {table} entry failed: run `accesswatch retrospective` for the entry (its key and the error are in the log) once the archive is readable"),
                );
            }
        }
    }

    /// Finishes: the archive made durable, the producer flushed, a last snapshot;
    /// then the consumer is told it may commit.
    fn drain(mut self, done: Option<Sender<()>>) -> LiveSummary {
        self.release_cross(true);
        self.sink.publish_updates(true);
        if let Some(e) = self.sink.error.take() {
            self.status.fail(e);
        }
        self.latency.flush();
        self.sink.archive = None;
        if let Some(a) = self.archiver.take() {
            if let Err(e) = a.stop() {
                self.status.fail(e);
            }
        }
        match self.publisher.flush(Duration::from_secs(30)) {
            Err(e) => self.status.fail(e),
            Ok(()) => self.snapshot(),
        }
        if let Err(e) = self.sink.flush_file() {
            self.status.fail(e);
        }
        tracing::info!(events = self.summary.events, dead_letters = self.summary.dead_letters, "engine drained");
        self.summary.stats = self.engine.stats().clone();
        if let Some(done) = done {
            let _ = done.send(());
        }
        self.summary
    }
}

/// Whether the behavioural state is snapshotted (to a directory, the state topic, or
/// both): then nothing is committed that no snapshot covers.
fn snapshots(config: &Config) -> bool {
    config.state.dir.is_some() || config.kafka.state_topic.is_some()
}
