//! At-least-once bookkeeping: which offsets may be committed.
//!
//! An event's offset may be committed once it has been processed and every message it
//! caused (alerts, updates, its dead letter) has been acknowledged by the broker. Per
//! partition we keep the offsets with messages still in flight; the committable
//! position is the lowest of them, or the offset after the last processed event.
//!
//! With state snapshots, an offset is also committed only once a snapshot covers it:
//! after a crash the consumer resumes at the committed offsets, and an event after the
//! last snapshot but before the commit would be in neither the restored state nor the
//! events read again, so the detectors would never see it.

use ahash::AHashMap;
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Default, Debug)]
struct PartitionAcks {
    /// Offset -> messages (plus one while processing) not yet acknowledged.
    in_flight: BTreeMap<i64, u32>,
    /// The offset after the last processed event.
    next: Option<i64>,
}

impl PartitionAcks {
    /// One more message (or processing) holds `offset`.
    fn hold(&mut self, offset: i64) {
        *self.in_flight.entry(offset).or_insert(0) += 1;
    }

    /// One hold on `offset` is released; at zero the offset no longer holds the commit
    /// back. This is the at-least-once invariant: an offset is committable only when
    /// every hold on it and before it is released.
    fn release(&mut self, offset: i64) {
        if let Some(n) = self.in_flight.get_mut(&offset) {
            *n -= 1;
            if *n == 0 {
                self.in_flight.remove(&offset);
            }
        }
    }
}

/// The offsets one batch holds of one stream (a partition of the event topic or of the
/// repartition topic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetRange {
    pub stream: i32,
    pub lowest: i64,
    pub highest: i64,
}

impl OffsetRange {
    /// Each stream's lowest and highest offset among `positions` (stream, offset), by
    /// stream. A batch comes in runs of one partition: one range a run, then the runs
    /// of a stream that comes back after another are merged.
    pub fn of(positions: impl Iterator<Item = (i32, i64)>) -> Vec<OffsetRange> {
        let mut ranges: Vec<OffsetRange> = Vec::new();
        for (stream, offset) in positions {
            match ranges.last_mut() {
                Some(r) if r.stream == stream => r.take_in(offset, offset),
                _ => ranges.push(OffsetRange { stream, lowest: offset, highest: offset }),
            }
        }
        ranges.sort_unstable_by_key(|r| r.stream);
        ranges.dedup_by(|later, kept| {
            let same = later.stream == kept.stream;
            if same {
                kept.take_in(later.lowest, later.highest);
            }
            same
        });
        ranges
    }

    fn take_in(&mut self, lowest: i64, highest: i64) {
        self.lowest = self.lowest.min(lowest);
        self.highest = self.highest.max(highest);
    }
}

/// The acknowledgement state of every assigned partition.
#[derive(Default, Debug)]
pub struct Acks {
    parts: Mutex<AHashMap<i32, PartitionAcks>>,
    /// With snapshots: per partition, the offset the last snapshot covers; nothing
    /// beyond it (and nothing of a partition it does not cover) is committed.
    ceiling: Mutex<Option<BTreeMap<i32, i64>>>,
}

impl Acks {
    fn with<R>(&self, f: impl FnOnce(&mut AHashMap<i32, PartitionAcks>) -> R) -> R {
        // A panic elsewhere while holding the lock leaves counts that are still
        // meaningful; keep going with them.
        let mut guard = self.parts.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    pub fn assign(&self, partition: i32) {
        self.with(|p| {
            p.entry(partition).or_default();
        });
    }

    /// Forgets a revoked partition; acknowledgements still arriving for it are ignored.
    pub fn revoke(&self, partition: i32) {
        self.with(|p| {
            p.remove(&partition);
        });
    }

    /// An event's processing begins: its offset is held until [`Acks::processed`].
    pub fn begin(&self, partition: i32, offset: i64) {
        self.expect(partition, offset);
    }

    /// A message caused by the event at `offset` is in flight.
    pub fn expect(&self, partition: i32, offset: i64) {
        self.with(|p| {
            if let Some(part) = p.get_mut(&partition) {
                part.hold(offset);
            }
        });
    }

    /// The broker acknowledged one message caused by the event at `offset`.
    pub fn ack(&self, partition: i32, offset: i64) {
        self.with(|p| {
            if let Some(part) = p.get_mut(&partition) {
                part.release(offset);
            }
        });
    }

    /// A batch's processing begins: its offsets are held until
    /// [`Acks::processed_batch`]. Holding each stream's lowest offset holds every offset
    /// of the batch (nothing at or after a held offset is committed), so this costs one
    /// hold a stream, not one an event.
    pub fn begin_batch(&self, spans: &[OffsetRange]) {
        self.with(|p| {
            for s in spans {
                if let Some(part) = p.get_mut(&s.stream) {
                    part.hold(s.lowest);
                }
            }
        });
    }

    /// A batch begun with [`Acks::begin_batch`] has been processed: its holds are
    /// released, and each stream's next offset is the one after the batch's highest.
    pub fn processed_batch(&self, spans: &[OffsetRange]) {
        self.with(|p| {
            for s in spans {
                if let Some(part) = p.get_mut(&s.stream) {
                    part.release(s.lowest);
                    part.next = Some(part.next.map_or(s.highest + 1, |n| n.max(s.highest + 1)));
                }
            }
        });
    }

    /// Holds every offset given (one lock for all): the archived events of a batch,
    /// each released when its own file is durable.
    pub fn begin_all(&self, offsets: impl Iterator<Item = (i32, i64)>) {
        self.with(|p| {
            for (partition, offset) in offsets {
                if let Some(part) = p.get_mut(&partition) {
                    part.hold(offset);
                }
            }
        });
    }

    /// Acknowledges one message for each offset (one lock for all).
    pub fn ack_all(&self, offsets: impl Iterator<Item = (i32, i64)>) {
        self.with(|p| {
            for (partition, offset) in offsets {
                if let Some(part) = p.get_mut(&partition) {
                    part.release(offset);
                }
            }
        });
    }

    /// The event at `offset` has been processed (its own hold is released).
    pub fn processed(&self, partition: i32, offset: i64) {
        self.ack(partition, offset);
        self.with(|p| {
            if let Some(part) = p.get_mut(&partition) {
                part.next = Some(part.next.map_or(offset + 1, |n| n.max(offset + 1)));
            }
        });
    }

    /// From now on commit nothing a snapshot does not cover: `covered` is what the
    /// latest snapshot covers (the next offset per partition).
    pub fn cap_at(&self, covered: &BTreeMap<i32, i64>) {
        *self.ceiling.lock().unwrap_or_else(|e| e.into_inner()) = Some(covered.clone());
    }

    /// (partition, offset to commit) for every partition with something to commit.
    pub fn committable(&self) -> Vec<(i32, i64)> {
        let ceiling = self.ceiling.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let out = self.uncapped();
        match ceiling {
            None => out,
            Some(c) => out.into_iter().filter_map(|(p, o)| c.get(&p).map(|cap| (p, o.min(*cap)))).collect(),
        }
    }

    fn uncapped(&self) -> Vec<(i32, i64)> {
        self.with(|p| {
            let mut out: Vec<(i32, i64)> = p
                .iter()
                .filter_map(|(&partition, part)| {
                    let next = part.next?;
                    let held = part.in_flight.keys().next().copied();
                    Some((partition, held.map_or(next, |h| h.min(next))))
                })
                .collect();
            out.sort_unstable();
            out
        })
    }

    /// Messages in flight over all partitions.
    pub fn in_flight(&self) -> u64 {
        self.with(|p| p.values().flat_map(|part| part.in_flight.values()).map(|n| *n as u64).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_snapshots_nothing_is_committed_beyond_the_last_one() {
        let a = Acks::default();
        a.assign(0);
        a.assign(1);
        for o in 0..10 {
            a.begin(0, o);
            a.processed(0, o);
            a.begin(1, o);
            a.processed(1, o);
        }
        assert_eq!(a.committable(), vec![(0, 10), (1, 10)]);
        // A snapshot covering partition 0 up to 4, and nothing of partition 1.
        a.cap_at(&BTreeMap::from([(0, 4)]));
        assert_eq!(a.committable(), vec![(0, 4)]);
        a.cap_at(&BTreeMap::from([(0, 12), (1, 7)]));
        assert_eq!(a.committable(), vec![(0, 10), (1, 7)]);
    }

    #[test]
    fn commit_waits_for_the_slowest_acknowledgement() {
        let a = Acks::default();
        a.assign(0);
        assert!(a.committable().is_empty(), "nothing processed yet");
        for offset in 10..13 {
            a.begin(0, offset);
        }
        a.expect(0, 11); // event 11 raised an alert
        for offset in 10..13 {
            a.processed(0, offset);
        }
        assert_eq!(a.committable(), vec![(0, 11)], "event 11's alert is not acknowledged");
        a.ack(0, 11);
        assert_eq!(a.committable(), vec![(0, 13)]);
    }

    #[test]
    fn batch_holds_behave_like_single_ones() {
        let a = Acks::default();
        a.assign(0);
        a.assign(1);
        a.begin(0, 0);
        a.processed(0, 0);
        // Out of order, and two streams: a rebalance can put a partition's offsets
        // anywhere in a batch.
        let spans = OffsetRange::of([(0, 2), (1, 7), (0, 1), (1, 5), (0, 3)].into_iter());
        assert_eq!(
            spans,
            vec![OffsetRange { stream: 0, lowest: 1, highest: 3 }, OffsetRange { stream: 1, lowest: 5, highest: 7 }]
        );
        a.begin_batch(&spans);
        assert_eq!(a.committable(), vec![(0, 1)], "nothing of a batch in processing is committed");
        a.expect(0, 2); // event 2 raised an alert
        a.expect(1, 5);
        a.processed_batch(&spans);
        assert_eq!(a.committable(), vec![(0, 2), (1, 5)]);
        a.ack(0, 2);
        a.ack(1, 5);
        assert_eq!(a.committable(), vec![(0, 4), (1, 8)]);
        assert_eq!(a.in_flight(), 0, "every hold released");
    }

    #[test]
    fn revoked_partitions_ignore_late_acknowledgements() {
        let a = Acks::default();
        a.assign(1);
        a.begin(1, 5);
        a.revoke(1);
        a.ack(1, 5);
        a.processed(1, 5);
        assert!(a.committable().is_empty());
        assert_eq!(a.in_flight(), 0);
    }
}
