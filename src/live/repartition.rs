//! The repartition stage: the cross-user detectors over every instance's users.
//!
//! ```text
//!  access-events ──► user stage ──► access-alerts
//!  (by user)            │  (per-user state, watch-list rules, explanations)
//!                       └─► access-subjects ──► cross-user stage ──► access-alerts
//!                           (by person, by unit)  (spikes, the peer comparison)
//! ```
//!
//! Both topics are consumed by the same consumer group, so every instance runs both
//! stages on the partitions it is given, as Kafka Streams does. A partition of the
//! repartition topic is a stream of its own in the engine, numbered from [`FIRST`];
//! its alerts go to the same partition number of the alert topic, from where the next
//! owner restores them (and the detectors' quiet periods) after a handover. The
//! records carry the access and what the user stage knew of it (`engine/cross.rs`).

use crate::alert::RuleId;
use crate::config::KafkaConfig;
use compact_str::CompactString;

/// Engine streams of the repartition topic's partitions start here; the event topic's
/// partitions are streams `0..`.
pub const FIRST: i32 = 1 << 20;

/// Whether a stream is a partition of the repartition topic.
pub fn is_cross(stream: i32) -> bool {
    stream >= FIRST
}

/// The engine stream of a message from `topic`'s `partition`.
pub fn stream(k: &KafkaConfig, topic: &str, partition: i32) -> i32 {
    if k.subjects_topic.as_deref() == Some(topic) {
        FIRST + partition
    } else {
        partition
    }
}

/// The topic and partition of an engine stream.
pub fn topic_partition(k: &KafkaConfig, stream: i32) -> (&str, i32) {
    match (&k.subjects_topic, is_cross(stream)) {
        (Some(t), true) => (t.as_str(), stream - FIRST),
        _ => (k.events_topic.as_str(), stream),
    }
}

/// The partition of the alert topic a stream's alerts go to.
pub fn alerts_partition(stream: i32) -> i32 {
    if is_cross(stream) {
        stream - FIRST
    } else {
        stream
    }
}

/// The rules the cross-user stage raises.
pub fn cross_rule(rule: RuleId) -> bool {
    matches!(rule, RuleId::BehaviourSubjectSpike | RuleId::PurposeMissing | RuleId::BehaviourTargeting)
}

/// The topics the consumer group reads.
pub fn topics(k: &KafkaConfig) -> Vec<String> {
    std::iter::once(k.events_topic.clone()).chain(k.subjects_topic.clone()).collect()
}

/// Repartition records held back to be processed in event-time order.
///
/// Records for one person or unit come from every instance's user stage, each at its
/// own pace, and after an instance dies its events are processed again by the one that
/// takes over, late. The cross-user detectors count in order (the access that makes a
/// spike is the alert's trigger), so each record waits `delay` (or until `cap` records
/// wait) and they are released earliest event first: the same order a replay sees.
/// Accesses of the same instant (common where a system logs whole seconds) go by user
/// id, and one user's in the order they arrived, which is the order of that user's log
/// (one user's records come from one partition of the event topic): the trigger of an
/// alert does not depend on which instance was quicker, and each record's running
/// counts of its user (the handoff) reach the peer comparison in the order they were
/// counted.
pub struct Reorder {
    delay: std::time::Duration,
    cap: usize,
    next_seq: u64,
    heap: std::collections::BinaryHeap<std::cmp::Reverse<(crate::time::Timestamp, CompactString, u64)>>,
    held: std::collections::HashMap<u64, Held>,
    /// The places in the wait of the records of streams revoked in a rebalance, by
    /// (stream, offset): a stream that comes back is read again from its last commit,
    /// and each record read again takes the place its first copy had.
    parked: std::collections::HashMap<(i32, i64), Place>,
    /// The sequence numbers of the parked places whose copies are awaited (until
    /// `awaited_until`): a record due after such a place in the wait waits for the copy,
    /// as it would have waited for the record had there been no rebalance (a stream is
    /// read again over many batches).
    awaited: std::collections::HashSet<u64>,
    awaited_until: Option<std::time::Instant>,
    /// Whether `parked` holds streams revoked and not yet assigned again.
    parked_pending: bool,
}

/// How long past its delay a record's copy is awaited after its stream came back: the
/// new assignment's state and open alerts are read back first (up to a minute), then the
/// stream is read again from its last commit. A copy that never comes (its record gone
/// from the topic) holds nothing back for longer.
const AWAIT_COPIES: std::time::Duration = std::time::Duration::from_secs(60);

/// Where a record stands in the wait: its sequence number (the order of arrival) and
/// when it arrived.
#[derive(Clone, Copy, Debug)]
struct Place {
    seq: u64,
    arrived: std::time::Instant,
}

/// One record waiting.
pub struct Held {
    /// Its place on the repartition topic, held until it is processed.
    pub at: super::acks::At,
    pub timestamp_ms: i64,
    pub record: Vec<u8>,
    arrived: std::time::Instant,
}

impl Reorder {
    pub fn new(delay: std::time::Duration, cap: usize) -> Reorder {
        Reorder {
            delay,
            cap: cap.max(1),
            next_seq: 0,
            heap: Default::default(),
            held: Default::default(),
            parked: Default::default(),
            awaited: Default::default(),
            awaited_until: None,
            parked_pending: false,
        }
    }

    /// Holds a record of the access `at` (its time and user).
    pub fn hold(&mut self, access: Access, at: super::acks::At, timestamp_ms: i64, record: Vec<u8>) {
        let place = match self.parked.remove(&(at.stream, at.offset)) {
            // Read again after a rebalance gave its stream back: its first copy's place.
            Some(place) if !self.held.contains_key(&place.seq) => {
                self.awaited.remove(&place.seq);
                place
            }
            _ => {
                self.next_seq += 1;
                Place { seq: self.next_seq - 1, arrived: std::time::Instant::now() }
            }
        };
        let Access { ts, user_id } = access;
        self.heap.push(std::cmp::Reverse((ts, user_id, place.seq)));
        self.held.insert(place.seq, Held { at, timestamp_ms, record, arrived: place.arrived });
    }

    /// The next record due: the earliest access, once it has waited its delay (or the
    /// buffer is full, or `all`).
    pub fn next_due(&mut self, all: bool) -> Option<Held> {
        loop {
            let seq = self.heap.peek()?.0 .2;
            let Some(h) = self.held.get(&seq) else {
                // A record of a stream given back, not read again yet: what comes after
                // it waits for its copy (unless the buffer is full, or everything is
                // due). Otherwise it went with its stream.
                if !all && self.held.len() < self.cap && self.awaits(seq) {
                    return None;
                }
                self.heap.pop();
                continue;
            };
            if !all && self.held.len() < self.cap && h.arrived.elapsed() < self.delay {
                return None;
            }
            self.heap.pop();
            return self.held.remove(&seq);
        }
    }

    /// Forgets the records of a revoked stream, keeping their places in the wait until
    /// the next assignment: in a rebalance most streams come back to the instance that
    /// had them, and each record read again (from the last commit, which is no later than
    /// any of them) takes its first copy's place instead of starting the wait again.
    /// Only the copy read again is processed: it alone is held under the new assignment
    /// (see [`super::acks`]), so what it raises is tracked to delivery, and the stream's
    /// progress moves only with what the new assignment has read.
    pub fn park(&mut self, stream: i32) {
        let mut gone: Vec<u64> = self.held.iter().filter(|(_, h)| h.at.stream == stream).map(|(s, _)| *s).collect();
        // Earliest place first: a record held twice (delivered again within one
        // assignment) keeps its first place, and only that place awaits its copy. Each
        // copy read again takes one place, so a second place awaited would wait for a
        // copy that never comes, holding back everything after it in the wait.
        gone.sort_unstable();
        for seq in gone {
            if let Some(h) = self.held.remove(&seq) {
                if let std::collections::hash_map::Entry::Vacant(v) = self.parked.entry((stream, h.at.offset)) {
                    v.insert(Place { seq, arrived: h.arrived });
                    self.awaited.insert(seq);
                }
            }
        }
        self.awaited_until = Some(std::time::Instant::now() + self.delay + AWAIT_COPIES);
        self.parked_pending = true;
    }

    /// An assignment: the places of the streams in it are kept for their records read
    /// again; the others are forgotten (their next owner reads them again).
    pub fn assigned(&mut self, streams: &[i32]) {
        if !std::mem::take(&mut self.parked_pending) {
            return;
        }
        let awaited = &mut self.awaited;
        self.parked.retain(|(stream, _), place| {
            let kept = streams.contains(stream);
            if !kept {
                awaited.remove(&place.seq);
            }
            kept
        });
        if self.parked.len() > self.cap {
            // Places never taken pile up only if copies never come: forgotten, so that
            // rebalance after rebalance cannot grow this without bound. A record read
            // again then waits its full delay.
            self.parked.clear();
            self.awaited.clear();
        }
        self.awaited_until = Some(std::time::Instant::now() + self.delay + AWAIT_COPIES);
    }

    /// Whether the record with this place is still awaited.
    fn awaits(&mut self, seq: u64) -> bool {
        if self.awaited_until.is_none_or(|until| std::time::Instant::now() >= until) {
            self.awaited.clear();
            return false;
        }
        self.awaited.contains(&seq)
    }

    /// The lowest offset still waiting, per stream: a snapshot covers only what came
    /// before it.
    pub fn lowest_waiting(&self) -> std::collections::HashMap<i32, i64> {
        let mut low = std::collections::HashMap::new();
        for h in self.held.values() {
            let e = low.entry(h.at.stream).or_insert(h.at.offset);
            *e = (*e).min(h.at.offset);
        }
        low
    }

    pub fn len(&self) -> usize {
        self.held.len()
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

/// Where a repartition record's access stands in the order the cross-user stage takes
/// them: its event time, then its user (then, in [`Reorder`], its arrival).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Access {
    pub ts: crate::time::Timestamp,
    pub user_id: CompactString,
}

/// The access of a repartition record, read without decoding the rest.
pub fn record_access(record: &[u8]) -> Option<Access> {
    #[derive(serde::Deserialize)]
    struct Just<'a> {
        #[serde(borrow)]
        event: &'a serde_json::value::RawValue,
    }
    #[derive(serde::Deserialize)]
    struct Id<'a> {
        #[serde(borrow)]
        user_id: std::borrow::Cow<'a, str>,
        ts: &'a str,
    }
    let just: Just = serde_json::from_slice(record).ok()?;
    let id: Id = serde_json::from_str(just.event.get()).ok()?;
    let ts = crate::time::Timestamp::parse_rfc3339(id.ts).ok()?;
    Some(Access { ts, user_id: id.user_id.as_ref().into() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;
    use std::time::Duration;

    fn at(ms: i64, user_id: &str) -> Access {
        Access { ts: Timestamp(ms), user_id: user_id.into() }
    }

    fn held(stream: i32, offset: i64) -> crate::live::acks::At {
        crate::live::acks::At { generation: 1, stream, offset }
    }

    #[test]
    fn records_come_out_earliest_first_once_they_have_waited() {
        let mut r = Reorder::new(Duration::from_millis(50), 100);
        r.hold(at(30, "c"), held(1, 0), 0, b"c".to_vec());
        r.hold(at(10, "a"), held(1, 1), 0, b"a".to_vec());
        r.hold(at(20, "b"), held(2, 0), 0, b"b".to_vec());
        assert!(r.next_due(false).is_none(), "not yet waited");
        std::thread::sleep(Duration::from_millis(60));
        let order: Vec<Vec<u8>> = std::iter::from_fn(|| r.next_due(false)).map(|h| h.record).collect();
        assert_eq!(order, [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    }

    /// Records of the same instant come out by user, whichever instance's arrived
    /// first, and one user's in the order they arrived (the order of the user's log).
    #[test]
    fn accesses_of_the_same_instant_go_by_user_then_arrival() {
        let all = [("U2", "a"), ("U10", "b"), ("U1", "c"), ("U2", "d")];
        for arrival in [[0, 1, 2, 3], [2, 0, 3, 1], [1, 2, 0, 3]] {
            let mut r = Reorder::new(Duration::ZERO, 100);
            for i in arrival {
                let (user, record) = all[i];
                r.hold(at(10, user), held(i as i32, 0), 0, record.as_bytes().to_vec());
            }
            let order: Vec<Vec<u8>> = std::iter::from_fn(|| r.next_due(false)).map(|h| h.record).collect();
            assert_eq!(order, [b"c".to_vec(), b"b".to_vec(), b"a".to_vec(), b"d".to_vec()], "arrived {arrival:?}");
        }
    }

    #[test]
    fn a_full_buffer_releases_at_once_and_a_revoked_stream_is_forgotten() {
        let mut r = Reorder::new(Duration::from_secs(3600), 2);
        r.hold(at(10, "a"), held(1, 7), 0, b"a".to_vec());
        r.hold(at(20, "b"), held(2, 8), 0, b"b".to_vec());
        assert_eq!(r.lowest_waiting().get(&1), Some(&7));
        assert_eq!(r.next_due(false).unwrap().record, b"a");
        r.park(2);
        assert!(r.next_due(true).is_none() && r.is_empty(), "a revoked stream's records are not processed here");
        assert!(r.lowest_waiting().is_empty(), "nor do they hold a snapshot back");
        r.assigned(&[1]);
        // Stream 2 went elsewhere: its place is forgotten, and a record of it read
        // later (it came back in a later rebalance) waits afresh.
        r.hold(at(20, "b"), held(2, 8), 0, b"b".to_vec());
        assert!(r.next_due(false).is_none());
    }

    /// A stream revoked and given back is read again from its last commit: only the
    /// copies read again are processed (held under the new assignment, so what they
    /// raise is tracked), each in the place its first copy had in the wait.
    #[test]
    fn a_stream_that_comes_back_in_a_rebalance_keeps_its_place_in_the_wait() {
        let mut r = Reorder::new(Duration::from_millis(200), 100);
        r.hold(at(20, "b"), held(3, 5), 0, b"b".to_vec());
        r.hold(at(10, "a"), held(3, 4), 0, b"a".to_vec());
        r.hold(at(30, "c"), held(4, 9), 0, b"c".to_vec());
        std::thread::sleep(Duration::from_millis(250));
        r.park(3);
        r.park(4);
        r.assigned(&[3]);
        assert!(r.is_empty(), "the first copies are not processed");
        let again = crate::live::acks::At { generation: 2, stream: 3, offset: 4 };
        r.hold(at(10, "a"), again, 0, b"a".to_vec());
        r.hold(at(20, "b"), crate::live::acks::At { offset: 5, ..again }, 0, b"b".to_vec());
        // Stream 4 went elsewhere and came back later: read again, it waits afresh.
        r.hold(at(30, "c"), held(4, 9), 0, b"c".to_vec());
        // Waited already: out at once, earliest first, held under the new assignment.
        let out: Vec<(Vec<u8>, u64)> =
            std::iter::from_fn(|| r.next_due(false)).map(|h| (h.record, h.at.generation)).collect();
        assert_eq!(out, [(b"a".to_vec(), 2), (b"b".to_vec(), 2)]);
        assert_eq!(r.len(), 1, "stream 4's record waits its delay");
    }

    /// A stream comes back and is read again over several batches: a copy read early
    /// waits for the copies of the records before it in the wait, as the records would
    /// have waited for each other without the rebalance.
    #[test]
    fn a_copy_read_again_waits_for_the_copies_of_earlier_accesses() {
        let mut r = Reorder::new(Duration::from_millis(100), 100);
        r.hold(at(20, "b"), held(3, 4), 0, b"b".to_vec());
        std::thread::sleep(Duration::from_millis(40));
        r.hold(at(10, "a"), held(3, 5), 0, b"a".to_vec());
        std::thread::sleep(Duration::from_millis(70));
        // b has waited its delay, a not yet: b waits behind a.
        assert!(r.next_due(false).is_none());
        r.park(3);
        r.assigned(&[3]);
        // Read again from the commit, in offset order, b in one batch...
        r.hold(at(20, "b"), held(3, 4), 0, b"b".to_vec());
        assert!(r.next_due(false).is_none(), "b's copy waits for a's");
        // ... a in the next.
        r.hold(at(10, "a"), held(3, 5), 0, b"a".to_vec());
        std::thread::sleep(Duration::from_millis(50));
        let order: Vec<Vec<u8>> = std::iter::from_fn(|| r.next_due(false)).map(|h| h.record).collect();
        assert_eq!(order, [b"a".to_vec(), b"b".to_vec()]);
        // A stream that went elsewhere holds nothing back.
        r.hold(at(30, "c"), held(4, 1), 0, b"c".to_vec());
        r.hold(at(40, "d"), held(5, 1), 0, b"d".to_vec());
        r.park(4);
        r.assigned(&[5]);
        std::thread::sleep(Duration::from_millis(110));
        assert_eq!(r.next_due(false).map(|h| h.record), Some(b"d".to_vec()));
    }

    /// A record delivered twice within one assignment (a fetch repeated after a seek,
    /// a batch read before a rebalance that moved nothing) is held twice. When its
    /// stream is revoked and given back, one copy is read again: the wait must not
    /// stand still for a second copy that never comes.
    #[test]
    fn a_record_held_twice_awaits_one_copy_after_a_rebalance() {
        let mut r = Reorder::new(Duration::from_millis(50), 100);
        r.hold(at(10, "a"), held(3, 4), 0, b"a".to_vec());
        r.hold(at(10, "a"), held(3, 4), 0, b"a".to_vec());
        r.hold(at(20, "b"), held(5, 1), 0, b"b".to_vec());
        std::thread::sleep(Duration::from_millis(60));
        r.park(3);
        r.assigned(&[3, 5]);
        r.hold(at(10, "a"), held(3, 4), 0, b"a".to_vec());
        let order: Vec<Vec<u8>> = std::iter::from_fn(|| r.next_due(false)).map(|h| h.record).collect();
        assert_eq!(order, [b"a".to_vec(), b"b".to_vec()], "b is not held back behind a second copy of a");
        assert!(r.is_empty());
    }

    #[test]
    fn the_order_of_a_record_is_its_access() {
        let rec = br#"{"to":"subject","key":"k","handoff":{"explained":false,"counted":true,"user_total":1.0,"user_unexplained":1.0},"event":{"event_id":"e1","user_id":"U\u00e91","ts":"2026-11-22T10:00:00.000Z"}}"#;
        let ts = Timestamp::parse_rfc3339("2026-11-22T10:00:00Z").unwrap();
        assert_eq!(record_access(rec), Some(Access { ts, user_id: "U\u{e9}1".into() }));
    }
}
