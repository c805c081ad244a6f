//! The engine: one pipeline that every source feeds, file replay and live Kafka alike.
//!
//! For each event, in event-time order: advance the clock (release held retrospective
//! alerts, close finished ones), enrich the event against the watch lists, run the
//! rules, drop findings an allow list exempts, and offer the rest to the alert book,
//! which raises new alerts or folds repeats into open ones.
//!
//! Event time is kept per stream by [`clock`]: an event too far behind is late, one too
//! far ahead (a source's wrong clock) is skewed; neither moves the detectors' clock.
//!
//! The watch lists are shared; the alert book is per *stream*. A replay is one stream;
//! the live engine has one per Kafka partition, so a partition's state can be dropped
//! when it is revoked and restored (from the alert topic) when it is assigned.
//!
//! Every access is explained or not before the rules see it ([`crate::explain`]): the
//! stateless kinds in enrich, `earlier` from the engine's [`Continuations`]. A
//! watch-list row that arrives late re-judges the alerts it may explain ([`resolve`]).

pub mod clock;
pub mod cross;
mod resolve;
pub mod state;

use crate::alert::book::{DetectClock, Offer};
use crate::alert::RuleId;
use crate::alert::{Alert, AlertBook, AlertSink, AlertSubject, Allowed};
use crate::behaviour::{BehaviourStats, CrossUser};
use crate::config::Config;
use crate::detect::{self, Finding, Findings};
use crate::enrich::{enrich, Enriched};
use crate::event::AccessEvent;
use crate::explain::{self, Kind};
use crate::risk::RiskBoard;
use crate::time::Timestamp;
use crate::watchlist::{Row, TableName, WatchLists};
use ahash::AHashMap;
use clock::{Bounds, Offered, Receiver, StreamClock, Verdict};
use compact_str::CompactString;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// Counters of what the engine has done.
#[derive(Debug, Default, Clone)]
pub struct EngineStats {
    pub events: u64,
    /// Findings per rule (index: `RuleId as usize`), before suppression.
    pub findings: [u64; RuleId::ALL.len()],
    /// Findings an allow list exempted, per rule.
    pub allowed: [u64; RuleId::ALL.len()],
    /// Findings folded into an open alert, per rule.
    pub folded: [u64; RuleId::ALL.len()],
    /// Alerts raised by retrospective scans when a watch-list entry arrived.
    pub retrospective_scans: u64,
    /// Events older than the newest seen by more than the allowed lateness: judged by
    /// the stateless rules, skipped by the behavioural detectors.
    pub late_events: u64,
    /// Late events by source system.
    pub late_by_system: BTreeMap<CompactString, u64>,
    /// Events dated too far ahead of the receiving clock (a source's clock fault): judged
    /// by the stateless rules at the stream's time, skipped by the detectors; by system.
    pub skewed_by_system: BTreeMap<CompactString, u64>,
    /// Second copies of an event already judged (the same system, event id, user and
    /// time: overlapping exports, a source's retry): counted, not judged; by system.
    pub copies_by_system: BTreeMap<CompactString, u64>,
    /// Person, vehicle and address accesses by explanation (index: `Kind as usize`) ...
    pub explained: [u64; Kind::ALL.len()],
    /// ... and those with none.
    pub unexplained: u64,
    /// Alerts resolved by a late explanation, those on live operations left out.
    pub resolved: u64,
    /// Alerts on accesses that touched a live operation, resolved by a late explanation.
    pub resolved_on_operations: u64,
    /// Repartition records taken once already (their access processed again after
    /// its partition moved), not counted again.
    pub repartition_duplicates: u64,
    /// Accesses by accounts on no staff row, while the staff list has rows, by account
    /// (the first [`MAX_COUNTED_ACCOUNTS`] named, the rest under `other`): an account
    /// the rules know nothing of (no unit, no case team, no suspension) is most often a
    /// source that logs accounts in another form than the staff list (a domain before
    /// them, a dash), which onboarding must see.
    pub off_staff_by_account: BTreeMap<CompactString, u64>,
}

/// At most this many systems are counted by name in the stats; the rest as `other`.
const MAX_COUNTED_SYSTEMS: usize = 64;

/// At most this many accounts on no staff row are counted by name; the rest as `other`.
const MAX_COUNTED_ACCOUNTS: usize = 64;

fn count_system(map: &mut BTreeMap<CompactString, u64>, system: &str) {
    count_named(map, system, MAX_COUNTED_SYSTEMS);
}

fn count_named(map: &mut BTreeMap<CompactString, u64>, name: &str, most: usize) {
    if let Some(n) = map.get_mut(name) {
        *n += 1;
        return;
    }
    let key = if map.len() < most { name } else { "other" };
    *map.entry(key.into()).or_default() += 1;
}

impl EngineStats {
    /// Alerts resolved by a late explanation, on live operations or not.
    pub fn resolved_all(&self) -> u64 {
        self.resolved + self.resolved_on_operations
    }

    /// Events judged as skewed, over all systems.
    pub fn skewed_events(&self) -> u64 {
        self.skewed_by_system.values().sum()
    }

    /// Second copies of events, over all systems.
    pub fn copies(&self) -> u64 {
        self.copies_by_system.values().sum()
    }

    /// Accesses by accounts on no staff row.
    pub fn off_staff(&self) -> u64 {
        self.off_staff_by_account.values().sum()
    }

    /// The share of person, vehicle and address accesses that were explained.
    pub fn explained_share(&self) -> f64 {
        let explained: u64 = self.explained.iter().sum();
        explained as f64 / (explained + self.unexplained).max(1) as f64
    }

    /// "91.4% of 250,112 person, vehicle and address accesses explained (reference
    /// 60.1%, custody 2.0%, ...)".
    pub fn explained_summary(&self) -> String {
        let explained: u64 = self.explained.iter().sum();
        let total = (explained + self.unexplained).max(1);
        let parts: Vec<String> = Kind::ALL
            .iter()
            .filter(|k| self.explained[**k as usize] > 0)
            .map(|k| format!("{} {:.1}%", k.as_str(), self.explained[*k as usize] as f64 * 100.0 / total as f64))
            .collect();
        format!(
            "{:.1}% of {} person, vehicle and address accesses explained ({})",
            self.explained_share() * 100.0,
            explained + self.unexplained,
            parts.join(", ")
        )
    }
}

/// A change to a watch list, from a compacted topic.
#[derive(Debug, Clone)]
pub enum ListChange {
    Upsert { key: CompactString, row: Row },
    Delete { table: TableName, key: CompactString },
}

/// Recent events that named a person, kept so that a high-profile entry added live can
/// find the accesses made before it was added. Bounded by count.
struct History {
    events: VecDeque<(i32, Box<AccessEvent>)>,
    max_events: usize,
}

impl History {
    /// Keeps a copy of `event`, forgetting the oldest when full; then the oldest's box
    /// takes the newest, so a full history allocates nothing.
    fn remember(&mut self, stream: i32, event: &AccessEvent) {
        let oldest = if self.events.len() >= self.max_events { self.events.pop_front() } else { None };
        let boxed = match oldest {
            Some((_, mut boxed)) => {
                *boxed = event.clone();
                boxed
            }
            None => Box::new(event.clone()),
        };
        self.events.push_back((stream, boxed));
    }
}

/// The detection pipeline.
pub struct Engine {
    config: Arc<Config>,
    lists: WatchLists,
    clock: DetectClock,
    streams: AHashMap<i32, AlertBook>,
    history: Option<History>,
    /// What the detectors have learned, per stream: it moves with its stream.
    learned: AHashMap<i32, state::Learned>,
    /// The cross-user detectors when they run in line (a replay, `--no-repartition`):
    /// over every stream's users at once.
    inline_cross: CrossUser,
    /// Whether the cross-user detectors run elsewhere (the live engine's repartition
    /// stage) rather than in line with each event.
    repartition: bool,
    risk: RiskBoard,
    /// Event time per stream (the watermark is its newest minus the allowed lateness);
    /// per stream because partitions are consumed side by side.
    clocks: AHashMap<i32, StreamClock>,
    stats: EngineStats,
}

impl Engine {
    /// An engine over these watch lists. `clock` says where `detected_at` comes from:
    /// event time for replays (deterministic output), the wall clock when live.
    pub fn new(config: Arc<Config>, lists: WatchLists, clock: DetectClock) -> Engine {
        Engine {
            config,
            lists,
            clock,
            streams: AHashMap::new(),
            history: None,
            learned: AHashMap::new(),
            inline_cross: CrossUser::default(),
            repartition: false,
            risk: RiskBoard::default(),
            clocks: AHashMap::new(),
            stats: EngineStats::default(),
        }
    }

    /// Keeps up to `max_events` recent person accesses for retrospective scans when a
    /// high-profile entry is added live.
    pub fn with_history(mut self, max_events: usize) -> Engine {
        self.history = (max_events > 0).then(|| History { events: VecDeque::new(), max_events });
        self
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Hands the cross-user detectors' input on through the sink
    /// ([`AlertSink::repartition`]) instead of running them in line: the live engine's
    /// user stage, when a repartition topic carries it to the instance that owns each
    /// person and unit ([`Engine::process_cross`]).
    pub fn with_repartition(mut self, on: bool) -> Engine {
        self.repartition = on;
        self
    }

    pub fn lists(&self) -> &WatchLists {
        &self.lists
    }

    /// The watch lists, for bulk loading; a change applies to the next event.
    pub fn lists_mut(&mut self) -> &mut WatchLists {
        &mut self.lists
    }

    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// The behavioural state's counts, over every stream.
    pub fn behaviour_stats(&self) -> BehaviourStats {
        let mut stats = BehaviourStats::default();
        for l in self.learned.values() {
            stats.add(&l.behaviour.stats());
            stats.add_cross(&l.cross);
        }
        stats.add_cross(&self.inline_cross);
        stats
    }

    /// Approximate heap bytes of the behavioural state (the README's memory figure).
    pub fn behaviour_heap_bytes(&self) -> usize {
        let streams: usize = self.learned.values().map(|l| l.behaviour.heap_bytes() + l.cross.heap_bytes()).sum();
        streams + self.inline_cross.heap_bytes()
    }

    /// Whether `at` is in the user's usual hours, or they are at work now, as the
    /// first stream's behavioural state that knows the user has learned
    /// ([`Behaviour::usual_hour`]; for tests and benches: a replay has one stream).
    pub fn usual_hour(&self, user_id: &str, at: Timestamp, rules: &crate::config::RulesConfig) -> Option<bool> {
        self.learned.values().find_map(|l| l.behaviour.usual_hour(user_id, at, rules))
    }

    pub fn risk(&self) -> &RiskBoard {
        &self.risk
    }

    /// Swaps in a new configuration (hot reload): rules, thresholds and allow lists
    /// change for the next event; open alerts and behavioural state are kept.
    pub fn set_config(&mut self, config: Arc<Config>) {
        self.config = config;
    }

    /// Alerts raised or held and still open, over all streams.
    pub fn open_alerts(&self) -> usize {
        self.streams.values().map(|b| b.open_alerts()).sum()
    }

    /// Open alerts, and how many of them are on accesses that touched a live operation.
    pub fn open_alerts_split(&self) -> (usize, usize) {
        self.streams.values().fold((0, 0), |(all, ops), b| (all + b.open_alerts(), ops + b.open_on_operations()))
    }

    fn book(&mut self, stream: i32) -> &mut AlertBook {
        let clock = self.clock;
        self.streams.entry(stream).or_insert_with(|| AlertBook::new(clock))
    }

    /// Runs one event through the pipeline (the single stream of a replay).
    pub fn process(&mut self, event: &AccessEvent, sink: &mut dyn AlertSink) {
        self.process_on(0, event, sink);
    }

    /// Runs one event of `stream` (a partition) through the pipeline.
    pub fn process_on(&mut self, stream: i32, event: &AccessEvent, sink: &mut dyn AlertSink) {
        self.process_with(stream, event, true, sink);
    }

    /// As [`Engine::process_on`]; `stateful` false runs the watch-list rules only, for
    /// an event the behavioural state already holds (processed again after a restart
    /// from a snapshot taken after it).
    pub fn process_with(&mut self, stream: i32, event: &AccessEvent, stateful: bool, sink: &mut dyn AlertSink) {
        let bounds = self.bounds();
        let receiver = match self.clock {
            DetectClock::WallClock => Receiver::Wall(Timestamp::now()),
            DetectClock::EventTime => Receiver::Input,
        };
        // A second copy of one of the stream's latest events (overlapping exports
        // replayed together, a source that sent a record twice) is counted, not judged:
        // it would count twice in every window and stand twice in evidence. An event
        // the snapshot covers is judged again on purpose (its alerts may not be out);
        // the snapshot remembers it, so that its copy after the snapshot's offset is one.
        let first = self.learned.entry(stream).or_default().copies.first(event);
        if stateful && !first {
            count_system(&mut self.stats.copies_by_system, &event.system);
            return;
        }
        let clock = self.clocks.entry(stream).or_default();
        if !stateful {
            let verdict = clock.covered(event.ts);
            return self.judge(stream, event, verdict, sink);
        }
        match clock.offer(event, receiver, bounds) {
            Offered::Judged(verdict) => self.judge(stream, event, verdict, sink),
            Offered::Held => {}
            Offered::Released(events) => {
                for (e, verdict) in events {
                    self.judge(stream, &e, verdict, sink);
                }
            }
        }
    }

    fn bounds(&self) -> Bounds {
        let s = &self.config.state;
        Bounds { allowed_lateness: s.allowed_lateness, max_skew: s.max_clock_skew, jump_events: s.clock_jump_events }
    }

    /// Runs one event of `stream` through the pipeline as its clock judged it.
    fn judge(&mut self, stream: i32, event: &AccessEvent, verdict: Verdict, sink: &mut dyn AlertSink) {
        self.stats.events += 1;
        // A skewed event is judged at the stream's time, not the one it claims.
        let at = match verdict {
            Verdict::Skewed { at } => {
                count_system(&mut self.stats.skewed_by_system, &event.system);
                at
            }
            Verdict::Late => {
                self.stats.late_events += 1;
                count_system(&mut self.stats.late_by_system, &event.system);
                event.ts
            }
            Verdict::OnTime | Verdict::Covered => event.ts,
        };
        sink.stream(stream);
        let clock = self.clock;
        let book = self.streams.entry(stream).or_insert_with(|| AlertBook::new(clock));
        book.advance(at, sink);
        let learned = self.learned.entry(stream).or_default();
        let mut ctx = enrich(event, &self.lists, &self.config.explanation);
        if ctx.user.is_none() && !self.lists.staff.is_empty() {
            count_named(&mut self.stats.off_staff_by_account, &event.user_id, MAX_COUNTED_ACCOUNTS);
        }
        let keys = explain::subject_keys(event, &ctx.person, ctx.vrm.as_deref(), ctx.address());
        let window = self.config.explanation.continuation;
        let lateness = self.config.state.allowed_lateness;
        if !ctx.explanation.is_documented() {
            if let Some(earlier) = learned.continuations.find(&event.user_id, &keys, event.ts, window) {
                let holds = explain::continues(&earlier, event.ts, &ctx.matches, &self.lists);
                if holds && (earlier.is_documented() || !ctx.explanation.is_explained()) {
                    ctx.explanation = earlier;
                }
            }
        }
        let repeat_within = self.config.rules.victim_repeat_within;
        let victim_keys: smallvec::SmallVec<[u64; 2]> = ctx.victims.iter().map(|l| l.key).collect();
        if !victim_keys.is_empty() {
            ctx.victim_before =
                learned.continuations.victim_before(&event.user_id, &victim_keys, event.ts, repeat_within);
            if ctx.user.is_none_or(|u| u.shift.is_none()) {
                ctx.usual_hour = learned.behaviour.usual_hour(&event.user_id, event.ts, &self.config.rules);
            }
        }
        let mut findings = Findings::new();
        detect::detect(&ctx, &self.lists, &self.config.rules, &mut findings);
        // Every access the rule judges, let be or not, is one a later one is a repeat of.
        let judged = self.config.rules.enabled(RuleId::VictimContact) && detect::victim::judged(&ctx);
        if verdict.stateful() && judged {
            for key in victim_keys {
                let purpose = ctx.explanation.is_explained();
                learned.continuations.remember_victim(&event.user_id, key, event, purpose, repeat_within, lateness);
            }
        }
        if verdict.stateful() && self.config.rules.any_behaviour() {
            let handoff = learned.behaviour.observe(&ctx, &self.config.rules, &mut findings);
            match self.repartition {
                // The cross-user detectors run where their key is owned.
                true => cross::hand_on(&ctx, &handoff, sink),
                false => cross::observe(&mut self.inline_cross, &ctx, &handoff, &self.config.rules, &mut findings),
            }
        }
        for finding in findings {
            offer(&self.config, book, &mut self.stats, &mut self.risk, &finding, &ctx, at, sink);
        }
        learned.continuations.remember(&event.user_id, keys, event, &ctx.explanation, window, lateness);
        if self.config.rules.purpose_subject_types.contains(&event.subject_type) {
            match ctx.explanation.kind() {
                Some(k) => self.stats.explained[k as usize] += 1,
                None => self.stats.unexplained += 1,
            }
        }
        sink.judged(event, ctx.explanation.recorded().as_ref());
        if let Some(h) = &mut self.history {
            if !ctx.person.is_empty() {
                h.remember(stream, event);
            }
        }
    }

    /// Applies a watch-list change. A high-profile entry that is new or changed sends
    /// the remembered accesses of its person through the rule, so that the look-ups
    /// made before it was added are found (retrospective alerts). Returns the
    /// high-profile entry or operation subject that is new or changed, for a scan of
    /// the archive ([`crate::retro`]).
    pub fn apply(&mut self, change: ListChange, sink: &mut dyn AlertSink) -> Option<(TableName, CompactString)> {
        match change {
            ListChange::Delete { table, key } => {
                self.lists.delete(table, &key);
                None
            }
            ListChange::Upsert { key, row } => {
                let table = row.table();
                let old = self.lists.upsert_as(key.clone(), row.clone());
                if old.as_ref() == Some(&row) {
                    return None;
                }
                self.resolve_with(&key, &row, sink);
                if !matches!(table, TableName::HighProfile | TableName::Operations) {
                    return None;
                }
                if let Row::HighProfile(e) = &row {
                    self.retrospective_scan(&e.entry_id.clone(), sink);
                }
                Some((table, key))
            }
        }
    }

    fn retrospective_scan(&mut self, entry_id: &str, sink: &mut dyn AlertSink) {
        let Some(history) = self.history.take() else { return };
        let mut past: Vec<&(i32, Box<AccessEvent>)> = history.events.iter().collect();
        past.sort_by_key(|(_, e)| e.ts);
        for (stream, event) in past {
            let ctx = enrich(event, &self.lists, &self.config.explanation);
            let mut findings = Findings::new();
            detect::high_profile::check(&ctx, &self.lists, &self.config.rules, &mut findings);
            // As a replay judges the access now: the new entry raises nothing if it is
            // only a guess beside a better match.
            detect::one_guess_per_access(&mut findings, 0);
            for f in findings.iter().filter(|f| f.watchlist.as_ref().is_some_and(|w| w.key == entry_id)) {
                self.stats.retrospective_scans += 1;
                let Some(book) = self.streams.get_mut(stream) else { continue };
                sink.stream(*stream);
                offer(&self.config, book, &mut self.stats, &mut self.risk, f, &ctx, event.ts, sink);
            }
        }
        self.history = Some(history);
    }

    /// The alerts the watch-list entry `key` of `table` (a high-profile entry or an
    /// operation subject, already in the lists) raises over `past`: accesses made before
    /// it arrived, read back from the archive. They are judged by the entry's rule
    /// exactly as a replay with the entry present from the start judges them (same
    /// findings, suppression and release), in a book of their own so that the alerts
    /// already raised in the live books are not disturbed; the caller drops the ids
    /// already raised. `user_risk` is left out: it depends on every other alert.
    pub fn retrospective(&self, table: TableName, key: &str, past: &[AccessEvent]) -> Vec<Alert> {
        // A high-profile alert names its entry by `entry_id`, which a row sent on the
        // topic under another message key (the table's key) does not change.
        let named = match table {
            TableName::HighProfile => self.lists.high_profile.by_key(key).map(|(_, e)| e.entry_id.clone()),
            _ => None,
        };
        let key = named.as_deref().unwrap_or(key);
        let mut book = AlertBook::new(self.clock);
        let mut closed = crate::alert::book::CollectClosed::default();
        let (mut stats, mut risk) = (EngineStats::default(), RiskBoard::default());
        for event in past {
            book.advance(event.ts, &mut closed);
            let ctx = enrich(event, &self.lists, &self.config.explanation);
            let mut findings = Findings::new();
            match table {
                TableName::HighProfile => {
                    detect::high_profile::check(&ctx, &self.lists, &self.config.rules, &mut findings);
                    detect::one_guess_per_access(&mut findings, 0);
                }
                TableName::Operations => detect::opsec::check(&ctx, &self.lists, &self.config.rules, &mut findings),
                _ => return Vec::new(),
            }
            for f in findings.iter().filter(|f| f.watchlist.as_ref().is_some_and(|w| w.list == table && w.key == key)) {
                offer(&self.config, &mut book, &mut stats, &mut risk, f, &ctx, event.ts, &mut closed);
            }
        }
        book.finish(&mut closed);
        closed.0.into_iter().map(|a| Alert { user_risk: None, ..a }).collect()
    }

    /// The ids of the alerts open in the live books.
    pub fn open_alert_ids(&self) -> Vec<CompactString> {
        self.streams.values().flat_map(|b| b.open_ids()).collect()
    }

    /// Puts back alerts raised before a restart for `stream`; returns how many. With
    /// the cross-user detectors in line, their quiet periods too: a spike about the
    /// same person, triggered by another user, is another alert to the book, and a
    /// cold restart raised it again.
    pub fn restore(&mut self, stream: i32, alerts: impl IntoIterator<Item = Alert>) -> usize {
        let config = self.config.clone();
        let mut n = 0;
        for a in alerts {
            if !self.repartition {
                self.inline_cross.seed(&a, &config.rules);
            }
            let suppression = config.rules.settings(a.rule).suppression;
            n += usize::from(self.book(stream).restore(a, suppression));
        }
        n
    }

    /// Forgets a stream (a revoked partition): its alerts are already published.
    pub fn drop_stream(&mut self, stream: i32) {
        self.streams.remove(&stream);
        self.clocks.remove(&stream);
        self.learned.remove(&stream);
        if let Some(h) = &mut self.history {
            h.events.retain(|(s, _)| *s != stream);
        }
    }

    /// Moves a stream's clock without an event.
    pub fn advance_to(&mut self, stream: i32, now: Timestamp, sink: &mut dyn AlertSink) {
        sink.stream(stream);
        self.book(stream).advance(now, sink);
    }

    /// Ends the input: judges the events a stream clock still holds, raises every held
    /// alert and closes every open one, stream by stream in stream order.
    pub fn finish(&mut self, sink: &mut dyn AlertSink) {
        let bounds = self.bounds();
        let mut held: Vec<i32> = self.clocks.keys().copied().collect();
        held.sort_unstable();
        for stream in held {
            let events = self.clocks.get_mut(&stream).map(|c| c.finish(bounds)).unwrap_or_default();
            for (e, verdict) in events {
                self.judge(stream, &e, verdict, sink);
            }
        }
        let mut ids: Vec<i32> = self.streams.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            if let Some(book) = self.streams.get_mut(&id) {
                sink.stream(id);
                book.finish(sink);
            }
        }
    }
}

/// Applies the allow lists to a finding and offers it to the alert book.
#[allow(clippy::too_many_arguments)]
fn offer(
    config: &Config,
    book: &mut AlertBook,
    stats: &mut EngineStats,
    risk: &mut RiskBoard,
    finding: &Finding,
    ctx: &Enriched,
    at: Timestamp,
    sink: &mut dyn AlertSink,
) {
    let event = ctx.event;
    let rule = finding.rule as usize;
    stats.findings[rule] += 1;
    let settings = config.rules.settings(finding.rule);
    let allowed = detect::allow::exemption(&settings.allow, ctx);
    if allowed.is_some() {
        stats.allowed[rule] += 1;
    }
    // An alert a late explanation may answer stays open at least the grace period.
    let grace = config.explanation.late_grace;
    let resolvable = detect::resolvable(finding.rule) && finding.release_at.is_none() && grace.0 > 0;
    let window = if resolvable { settings.suppression.max(grace) } else { settings.suppression };
    let result = book.offer(
        finding.rule,
        &event.user_id,
        &finding.subject_key,
        at,
        &event.event_id,
        (finding.severity, finding.score, allowed.is_some()),
        window,
        finding.release_at,
        |taking_over: Option<u8>| {
            let mut alert = new_alert(finding, ctx);
            // Taking over an open alert (more severe, or surer), the user's risk grows
            // by the difference: the alert was counted once already (a review: a search
            // by name then the view by id counted 65 + 90).
            let score = finding.score.saturating_sub(taking_over.unwrap_or(0));
            match allowed {
                // Recorded, not hidden: the alert says which allow list entry covered
                // it, and it adds nothing to the user's risk.
                Some(a) => alert.allowed = Some(Allowed { reason: a.reason.clone(), expires: a.expires }),
                None => alert.user_risk = Some(risk.add(&event.user_id, score, at, config.risk.half_life)),
            }
            alert
        },
        sink,
    );
    match result {
        Offer::Folded => stats.folded[rule] += 1,
        // A stronger access folded in is the alert's trigger: a late explanation of it
        // may resolve the alert, as of a new one's.
        Offer::Escalated => {
            stats.folded[rule] += 1;
            book.keep_trigger(finding.rule, &finding.subject_key, event, resolvable);
        }
        Offer::Raised if resolvable => book.keep_trigger(finding.rule, &finding.subject_key, event, true),
        _ => {}
    }
}

fn new_alert(f: &Finding, ctx: &Enriched) -> Alert {
    let e = ctx.event;
    let alert = Alert {
        alert_id: Alert::make_id(f.rule, &e.user_id, &f.subject_key, &e.system, &e.event_id),
        rule: f.rule,
        category: f.rule.category(),
        severity: f.severity,
        score: f.score,
        event_ts: e.ts,
        detected_at: e.ts,
        user_id: e.user_id.clone(),
        subject: AlertSubject::of(e),
        event_ids: std::iter::once(e.event_id.clone()).chain(f.evidence.iter().cloned()).collect(),
        watchlist: f.watchlist.clone(),
        confidence: f.watchlist.as_ref().map_or(crate::watchlist::Confidence::High, |w| w.strength.confidence()),
        reason: f.explanation.sentence(ctx),
        retrospective: f.release_at.is_some(),
        system: e.system.clone(),
        action: e.action,
        unit: ctx.user.and_then(|u| u.unit.clone()),
        proposed_watchlist: (f.rule == RuleId::BehaviourSubjectSpike).then_some(TableName::HighProfile),
        allowed: None,
        resolved: None,
        on_operation: ctx.on_operation || f.explanation.follows_an_operation(),
        more_events: 0,
        about_user: f.subject_key == crate::alert::BEHAVIOUR_SUBJECT,
        other_users: f.explanation.other_users().to_vec(),
        user_risk: None,
    };
    debug_assert_eq!(alert.suppression_subject(), f.subject_key, "restorable suppression key for {}", f.rule);
    alert
}

#[cfg(test)]
mod tests;
