//! The book of open alerts: suppression windows and retrospective release.
//!
//! A rule raises at most one alert per (rule, user, subject) per suppression window;
//! later matching events join the open alert's evidence. A retrospective alert (an
//! access made before its watch-list entry was added) is held until the clock reaches
//! the moment the entry was added, then raised. An alert is closed, final, when its
//! window has passed; alerts close in the order they were raised, so a file of closed
//! alerts reads in time order.
//!
//! Sinks see three moments: `raised` (show it to the ACU now), `updated` (more
//! evidence, or resolved) and `closed` (final). A live sink publishes on the first two;
//! a file sink writes on the third.
//!
//! An alert a late explanation could answer keeps its triggering accesses, the one
//! that raised it and each that made it stronger (see [`AlertBook::keep_trigger`]),
//! indexed by user and reference, until it is resolved or closed.

use super::{Alert, Resolved};
use crate::alert::RuleId;
use crate::event::explained::Recorded;
use crate::event::AccessEvent;
use crate::time::{Span, Timestamp};
use ahash::AHashMap;
use compact_str::CompactString;
use smallvec::SmallVec;
use std::collections::{BTreeSet, VecDeque};

/// Receives alerts as the book raises, extends and closes them.
pub trait AlertSink {
    /// The stream (partition) the next alerts belong to.
    fn stream(&mut self, _stream: i32) {}
    /// A new alert: the moment an officer should see it.
    fn raised(&mut self, _alert: &Alert) {}
    /// A raised alert gained evidence.
    fn updated(&mut self, _alert: &Alert) {}
    /// The alert's window has passed: its evidence is final.
    fn closed(&mut self, _alert: Alert) {}
    /// An access has been judged, with its explanation (`None`: unexplained); the
    /// archive keeps both.
    fn judged(&mut self, _event: &AccessEvent, _explained: Option<&Recorded>) {}
    /// A record for the cross-user detectors, to be published on the repartition
    /// topic under `key` (the live engine's user stage; see `engine/cross.rs`).
    fn repartition(&mut self, _key: &str, _record: &[u8]) {}
}

/// A sink that keeps closed alerts in order; for replay, tests and benchmarks.
#[derive(Default, Debug)]
pub struct CollectClosed(pub Vec<Alert>);

impl AlertSink for CollectClosed {
    fn closed(&mut self, alert: Alert) {
        self.0.push(alert);
    }
}

/// Where `detected_at` comes from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DetectClock {
    /// The event-time clock: a replay raises alerts at the time the events say, so two
    /// replays of the same input write the same bytes.
    EventTime,
    /// The wall clock: the live engine.
    WallClock,
}

/// (rule, user, subject) as a 128-bit hash: two independent 64-bit hashes, so keys
/// that would need a heap string each (`person:SMITH|JOHN PAUL|1980-01-02`) cost
/// nothing to look up, and a collision is not a practical concern.
type SuppressionKey = u128;

fn suppression_key(rule: RuleId, user_id: &str, subject_key: &str) -> SuppressionKey {
    const A: ahash::RandomState = ahash::RandomState::with_seeds(0x243F_6A88, 0x85A3_08D3, 0x1319_8A2E, 0x0370_7344);
    const B: ahash::RandomState = ahash::RandomState::with_seeds(0xA409_3822, 0x299F_31D0, 0x082E_FA98, 0xEC4E_6C89);
    let parts = (rule as u8, user_id, subject_key);
    ((A.hash_one(parts) as u128) << 64) | B.hash_one(parts) as u128
}

struct OpenAlert {
    alert: Alert,
    key: SuppressionKey,
    window_end: Timestamp,
    release_at: Timestamp,
    released: bool,
    /// The accesses that raised the alert and made it stronger (the current trigger
    /// last), while a late explanation could still resolve it: it must answer each.
    triggers: Vec<Box<AccessEvent>>,
    /// An access that raised or strengthened it was not kept: no late row resolves it.
    unanswerable: bool,
    /// The score the user's risk holds for it: a stronger access adds only the
    /// difference. Not the alert's score, which an allowed access may have raised
    /// without adding to the risk (a review: 65, then 90 allowed, then 95 added 5).
    risk_counted: Option<u8>,
}

/// The most event ids an alert lists; later accesses are counted in its `more_events`,
/// so that an alert always fits its topic (a night of scripted look-ups folding into
/// one behavioural alert would otherwise grow it past Kafka's message limit).
pub const MAX_EVIDENCE: usize = 1_000;

/// What became of one piece of evidence offered to the book.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Offer {
    /// A new alert was raised.
    Raised,
    /// A new retrospective alert is held until its release time.
    Held,
    /// The evidence joined an open alert.
    Folded,
    /// The evidence joined an open alert and made it stronger: it is the trigger now.
    Escalated,
}

/// Open alerts, their suppression windows and their release order.
pub struct AlertBook {
    clock: DetectClock,
    by_key: AHashMap<SuppressionKey, u64>,
    /// Boxed so that the map moves pointers, not alerts.
    open: AHashMap<u64, Box<OpenAlert>>,
    /// Held retrospective alerts by (release time, sequence).
    held: BTreeSet<(Timestamp, u64)>,
    /// Raised alerts (sequence, window end), in raise order, waiting for their window
    /// to pass.
    raised: VecDeque<(u64, Timestamp)>,
    next_seq: u64,
    now: Timestamp,
    /// Evidence of alerts restored from the alert topic, by (key, event id hash): an
    /// event that is already in the evidence of an alert with its key is a
    /// redelivery after a restart and changes nothing.
    restored_evidence: ahash::AHashSet<(SuppressionKey, u64)>,
    /// Alerts keeping their trigger, by the trigger's user and by its reference (upper
    /// case): where a late row may explain them.
    by_user: AHashMap<CompactString, SmallVec<[u64; 2]>>,
    by_reference: AHashMap<CompactString, SmallVec<[u64; 2]>>,
}

fn event_hash(event_id: &str) -> u64 {
    const H: ahash::RandomState = ahash::RandomState::with_seeds(0x9E37_79B9, 0x7F4A_7C15, 0xBF58_476D, 0x94D0_49BB);
    H.hash_one(event_id)
}

impl AlertBook {
    pub fn new(clock: DetectClock) -> AlertBook {
        AlertBook {
            clock,
            by_key: AHashMap::new(),
            open: AHashMap::new(),
            held: BTreeSet::new(),
            raised: VecDeque::new(),
            next_seq: 0,
            now: Timestamp(i64::MIN),
            restored_evidence: ahash::AHashSet::new(),
            by_user: AHashMap::new(),
            by_reference: AHashMap::new(),
        }
    }

    /// Alerts raised or held and not yet closed.
    pub fn open_alerts(&self) -> usize {
        self.open.len()
    }

    /// Open alerts on accesses that touched a live operation.
    pub fn open_on_operations(&self) -> usize {
        self.open.values().filter(|o| o.alert.counts_as_operations()).count()
    }

    /// The ids of the alerts raised or held and not yet closed.
    pub fn open_ids(&self) -> impl Iterator<Item = CompactString> + '_ {
        self.open.values().map(|o| o.alert.alert_id.clone())
    }

    /// The latest event time the book has been advanced to.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The latest time held alerts may be released at: the event-time clock, and in
    /// live use also the wall clock (an entry added in the past has been added, even if
    /// this partition's events are older).
    fn release_horizon(&self, event_now: Timestamp) -> Timestamp {
        match self.clock {
            DetectClock::EventTime => event_now,
            DetectClock::WallClock => event_now.max(Timestamp::now()),
        }
    }

    fn detected_at(&self, at: Timestamp) -> Timestamp {
        match self.clock {
            DetectClock::EventTime => at,
            DetectClock::WallClock => Timestamp::now(),
        }
    }

    /// Moves the event-time clock forward: releases held alerts that are due and
    /// closes raised alerts whose window has passed.
    pub fn advance(&mut self, now: Timestamp, sink: &mut dyn AlertSink) {
        if now <= self.now && self.held.is_empty() {
            return;
        }
        self.now = self.now.max(now);
        if !self.held.is_empty() {
            // Read only with alerts held: on a wall clock it is a clock reading.
            let horizon = self.release_horizon(self.now);
            while let Some(&(release_at, seq)) = self.held.first() {
                if release_at > horizon {
                    break;
                }
                self.held.pop_first();
                self.release(seq, release_at, sink);
            }
        }
        while let Some(&(seq, window_end)) = self.raised.front() {
            if window_end > now {
                break;
            }
            self.raised.pop_front();
            self.close(seq, sink);
        }
    }

    fn release(&mut self, seq: u64, at: Timestamp, sink: &mut dyn AlertSink) {
        let detected_at = self.detected_at(at);
        if let Some(o) = self.open.get_mut(&seq) {
            o.released = true;
            o.alert.detected_at = detected_at;
            sink.raised(&o.alert);
            self.raised.push_back((seq, o.window_end));
        }
    }

    fn close(&mut self, seq: u64, sink: &mut dyn AlertSink) {
        if let Some(mut o) = self.open.remove(&seq) {
            if self.by_key.get(&o.key) == Some(&seq) {
                self.by_key.remove(&o.key);
            }
            for e in std::mem::take(&mut o.triggers) {
                self.unindex(seq, &e);
            }
            sink.closed(o.alert);
        }
    }

    fn unindex(&mut self, seq: u64, e: &AccessEvent) {
        let drop_from = |map: &mut AHashMap<CompactString, SmallVec<[u64; 2]>>, key: &str| {
            if let Some(v) = map.get_mut(key) {
                v.retain(|s| *s != seq);
                if v.is_empty() {
                    map.remove(key);
                }
            }
        };
        drop_from(&mut self.by_user, &e.user_id);
        for r in reference_keys(e) {
            drop_from(&mut self.by_reference, &r);
        }
    }

    /// Keeps the triggering access of the alert just raised for (rule, user, subject),
    /// so that a late explanation can resolve it.
    pub fn keep_trigger(&mut self, rule: RuleId, subject_key: &str, event: &AccessEvent, answerable: bool) {
        let key = suppression_key(rule, &event.user_id, subject_key);
        let Some(&seq) = self.by_key.get(&key) else { return };
        let Some(o) = self.open.get_mut(&seq) else { return };
        // A stronger access no late row answers leaves the alert unanswerable.
        o.unanswerable |= !answerable;
        if o.unanswerable
            || o.alert.resolved.is_some()
            || o.alert.event_ids.first() != Some(&event.event_id)
            || o.triggers.iter().any(|t| t.event_id == event.event_id)
        {
            return;
        }
        o.triggers.push(Box::new(event.clone()));
        self.by_user.entry(event.user_id.clone()).or_default().push(seq);
        // Under each reading of the reference (`Ref: INC-1` under `INC1` too), so that
        // the incident recorded late finds it (a review: live left open what a replay
        // with the row explained).
        for r in reference_keys(event) {
            let filed = self.by_reference.entry(r).or_default();
            if filed.last() != Some(&seq) {
                filed.push(seq);
            }
        }
    }

    /// The open alerts keeping a trigger by one of `users` or giving `reference`.
    pub fn resolvable(&self, users: &[CompactString], reference: Option<&str>) -> Vec<u64> {
        let mut out: Vec<u64> = users.iter().filter_map(|u| self.by_user.get(u)).flatten().copied().collect();
        if let Some(r) = reference.and_then(|r| self.by_reference.get(crate::watchlist::reference_key(r).as_str())) {
            out.extend(r.iter().copied());
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// An open alert and its kept triggers, the current one first.
    pub fn triggers(&self, seq: u64) -> Option<(&Alert, impl Iterator<Item = &AccessEvent>)> {
        let o = self.open.get(&seq).filter(|o| !o.triggers.is_empty() && !o.unanswerable)?;
        Some((&o.alert, o.triggers.iter().rev().map(|e| &**e)))
    }

    /// Marks an open alert resolved and tells the sink. Later findings with its key
    /// raise a new alert: the resolved one answered only its own accesses.
    pub fn resolve(&mut self, seq: u64, resolved: Resolved, sink: &mut dyn AlertSink) {
        let Some(o) = self.open.get_mut(&seq) else { return };
        o.alert.resolved = Some(resolved);
        let triggers = std::mem::take(&mut o.triggers);
        let key = o.key;
        if o.released {
            sink.updated(&o.alert);
        }
        if self.by_key.get(&key) == Some(&seq) {
            self.by_key.remove(&key);
        }
        for e in triggers {
            self.unindex(seq, &e);
        }
    }

    /// Offers one piece of evidence of `severity`. If an alert for (rule, user,
    /// subject) is open and the event falls inside its window, the event joins its
    /// evidence, and an alert that was less severe, or as severe with a lower score
    /// (a weaker match), takes the new finding's severity, score, match and sentence (a
    /// search by initial, then the full record); otherwise
    /// `make` builds a new alert, raised now or, when `release_at` is later than the
    /// clock, held until then.
    #[allow(clippy::too_many_arguments)]
    pub fn offer(
        &mut self,
        rule: RuleId,
        user_id: &str,
        subject_key: &str,
        ts: Timestamp,
        event_id: &str,
        (severity, score, allowed): (super::Severity, u8, bool),
        window: Span,
        release_at: Option<Timestamp>,
        make: impl FnOnce(Option<u8>) -> Alert,
        sink: &mut dyn AlertSink,
    ) -> Offer {
        let key = suppression_key(rule, user_id, subject_key);
        if !self.restored_evidence.is_empty() && self.restored_evidence.contains(&(key, event_hash(event_id))) {
            return Offer::Folded;
        }
        if let Some(&seq) = self.by_key.get(&key) {
            if let Some(o) = self.open.get_mut(&seq) {
                if ts < o.window_end {
                    // An id already listed is listed once; the access it names may still
                    // be another one, stronger or uncovered (a system logging one
                    // transaction id for a search and the view after it: a review).
                    let already = o.alert.event_ids.iter().any(|e| e == event_id);
                    let listed = !already && o.alert.event_ids.len() < MAX_EVIDENCE;
                    if listed {
                        o.alert.event_ids.push(event_id.into());
                    } else if !already {
                        o.alert.more_events += 1;
                    }
                    // More severe, or as severe and surer (a search by name, then
                    // the view by record id: a probe found the alert left saying
                    // "matched by name only").
                    let stronger = (severity, score) > (o.alert.severity, o.alert.score);
                    // An access no allow entry covers joins an alert allowed so far:
                    // it is allowed no more, and the access adds to the user's risk
                    // (a review: a look-up through the allowed system first let the
                    // look-ups elsewhere fold in unseen and riskless).
                    let uncovered = !stronger && !allowed && o.alert.allowed.is_some();
                    if stronger {
                        // A late row must answer the earlier trigger too (a review:
                        // one that explained only the stronger access resolved the
                        // whole alert); one not kept leaves it unanswerable.
                        o.unanswerable |= o.triggers.is_empty();
                        let stronger_alert = make(o.risk_counted);
                        if stronger_alert.allowed.is_none() {
                            // More severe can be a lower score: the risk keeps the higher.
                            o.risk_counted = o.risk_counted.max(Some(stronger_alert.score));
                        }
                        escalate(&mut o.alert, stronger_alert, listed);
                    } else if uncovered {
                        let joined = make(None);
                        o.alert.allowed = None;
                        o.alert.user_risk = joined.user_risk;
                        o.risk_counted = o.risk_counted.max(Some(joined.score));
                        // A late row answering the allowed trigger does not answer it.
                        o.unanswerable = true;
                    }
                    // Past the cap the alert is as large as it gets: a hundred more
                    // accesses make one update, not a hundred.
                    let counted_past_cap = !already && !listed && o.alert.more_events % 100 == 0;
                    if o.released && (listed || stronger || uncovered || counted_past_cap) {
                        sink.updated(&o.alert);
                    }
                    if stronger {
                        return Offer::Escalated;
                    }
                    return Offer::Folded;
                }
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut alert = make(None);
        let now = self.now.max(ts);
        let horizon = self.release_horizon(now);
        let release_at = release_at.filter(|r| *r > horizon);
        let open = Box::new(OpenAlert {
            risk_counted: alert.allowed.is_none().then_some(alert.score),
            key,
            window_end: ts + window,
            release_at: release_at.unwrap_or(now),
            released: false,
            triggers: Vec::new(),
            unanswerable: false,
            alert: {
                alert.detected_at = self.detected_at(release_at.unwrap_or(now));
                alert
            },
        });
        self.by_key.insert(key, seq);
        let release = open.release_at;
        self.open.insert(seq, open);
        match release_at {
            Some(at) => {
                self.held.insert((at, seq));
                Offer::Held
            }
            None => {
                self.release(seq, release, sink);
                Offer::Raised
            }
        }
    }

    /// Puts back an alert raised before a restart (read from the alert topic), so that
    /// repeats fold into it instead of raising a new one. Of several alerts with one
    /// key, the latest window wins. Returns false when the alert was not kept (its
    /// window has passed, or a later alert holds its key).
    pub fn restore(&mut self, alert: Alert, window: Span) -> bool {
        let key = suppression_key(alert.rule, &alert.user_id, &alert.suppression_subject());
        for e in &alert.event_ids {
            self.restored_evidence.insert((key, event_hash(e)));
        }
        // An alert raised on an event from a wrong clock carries the time it claimed;
        // its window ran from when it was judged, which is no later than detected_at.
        let window_end = alert.event_ts.min(alert.detected_at) + window;
        if window_end <= self.now {
            return false;
        }
        if let Some(seq) = self.by_key.get(&key) {
            let newer = self.open.get(seq).is_some_and(|o| o.alert.event_ts >= alert.event_ts);
            if newer {
                return false;
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let release_at = alert.detected_at;
        self.open.insert(
            seq,
            Box::new(OpenAlert {
                risk_counted: alert.allowed.is_none().then_some(alert.score),
                alert,
                key,
                window_end,
                release_at,
                released: true,
                triggers: Vec::new(),
                unanswerable: true,
            }),
        );
        self.by_key.insert(key, seq);
        self.raised.push_back((seq, window_end));
        true
    }

    /// Ends the run: releases every held alert in order, then closes everything.
    pub fn finish(&mut self, sink: &mut dyn AlertSink) {
        while let Some((release_at, seq)) = self.held.pop_first() {
            self.release(seq, release_at, sink);
        }
        while let Some((seq, _)) = self.raised.pop_front() {
            self.close(seq, sink);
        }
    }
}

/// An access's reference as the incidents table keys it ([`crate::watchlist::reference_key`]).
/// An open alert made stronger by `stronger`, built for the access just added to its
/// evidence (the last listed, or the first past the cap): that access becomes its
/// trigger, first in the evidence, and the alert says what it did (the time, system,
/// action and subject as the sentence does; an evaluator found a red sentence about a
/// search without a reference on an alert whose trigger gave one). The alert keeps its
/// id and when it was first raised.
fn escalate(alert: &mut Alert, stronger: Alert, listed: bool) {
    let ids = &mut alert.event_ids;
    if let Some(trigger) = stronger.event_ids.first() {
        if listed {
            ids.pop();
        } else if let Some(at) = ids.iter().position(|i| i == trigger) {
            // Listed already (another access under the same id): moved to the front.
            ids.remove(at);
        }
        ids.insert(0, trigger.clone());
        if ids.len() > MAX_EVIDENCE {
            ids.pop();
        }
    }
    alert.severity = stronger.severity;
    alert.score = stronger.score;
    alert.reason = stronger.reason;
    alert.watchlist = stronger.watchlist;
    alert.confidence = stronger.confidence;
    alert.event_ts = stronger.event_ts;
    alert.system = stronger.system;
    alert.action = stronger.action;
    alert.subject = stronger.subject;
    // Allowed only while every access is: an access an allow list covers does not
    // excuse the ones before it (a review: a weak look-up, then a covered one, made
    // the whole alert allowed and riskless).
    if stronger.allowed.is_none() {
        alert.user_risk = stronger.user_risk;
        alert.allowed = None;
    }
    alert.on_operation |= stronger.on_operation;
    for u in stronger.other_users {
        if !alert.other_users.contains(&u) {
            alert.other_users.push(u);
        }
    }
}

fn reference_keys(e: &AccessEvent) -> smallvec::SmallVec<[CompactString; 1]> {
    let Some(reference) = e.reference.as_deref() else { return Default::default() };
    let mut keys: smallvec::SmallVec<[CompactString; 1]> = smallvec::SmallVec::new();
    for key in crate::watchlist::reference_readings(reference).iter().map(|r| crate::watchlist::reference_key(r)) {
        if !key.is_empty() && !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

#[cfg(test)]
pub(crate) mod tests;
