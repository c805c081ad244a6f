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
//!
//! A rebalance can take a partition away and give it back while the engine still holds
//! batches read under the old assignment, and the partition is then read again from its
//! last commit. Every hold therefore names the assignment it was made under (its
//! [`Generation`]): what was read under an assignment since revoked holds nothing back
//! and moves nothing forward in the new one, and its late acknowledgements release
//! nothing of it. Otherwise a stale batch's end could move a partition's next offset past
//! offsets read again but not yet processed, and a crash then would skip them.

use ahash::AHashMap;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Counts assignments: a partition assigned in generation `g` takes holds made under
/// generation `g` or later. It only grows.
pub type Generation = u64;

/// An offset of a stream as the engine read it, and the generation it was read under
/// (the [`Acks::generation`] when its batch was handed to the engine).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct At {
    pub generation: Generation,
    pub stream: i32,
    pub offset: i64,
}

#[derive(Default, Debug)]
struct PartitionAcks {
    /// The generation this partition was assigned in: holds read before it belong to an
    /// earlier assignment of it.
    since: Generation,
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

#[derive(Default, Debug)]
struct Partitions {
    by_stream: AHashMap<i32, PartitionAcks>,
    generation: Generation,
}

impl Partitions {
    /// The stream's state if `generation` reads its current assignment.
    fn current(&mut self, stream: i32, generation: Generation) -> Option<&mut PartitionAcks> {
        self.by_stream.get_mut(&stream).filter(|p| p.since <= generation)
    }
}

/// The acknowledgement state of every assigned partition.
#[derive(Default, Debug)]
pub struct Acks {
    parts: Mutex<Partitions>,
    /// With snapshots: per partition, the offset the last snapshot covers; nothing
    /// beyond it (and nothing of a partition it does not cover) is committed.
    ceiling: Mutex<Option<BTreeMap<i32, i64>>>,
}

impl Acks {
    fn with<R>(&self, f: impl FnOnce(&mut Partitions) -> R) -> R {
        // A panic elsewhere while holding the lock leaves counts that are still
        // meaningful; keep going with them.
        let mut guard = self.parts.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    /// An assignment: a new generation, in which the partitions not already held start
    /// afresh. Returns the generation.
    pub fn assign(&self, partitions: &[i32]) -> Generation {
        self.with(|p| {
            p.generation += 1;
            let since = p.generation;
            for stream in partitions {
                p.by_stream.entry(*stream).or_insert_with(|| PartitionAcks { since, ..Default::default() });
            }
            since
        })
    }

    /// The generation of the latest assignment: what is read now is read under it.
    pub fn generation(&self) -> Generation {
        self.with(|p| p.generation)
    }

    /// Forgets a revoked partition; acknowledgements still arriving for it are ignored.
    pub fn revoke(&self, partition: i32) {
        self.with(|p| {
            p.by_stream.remove(&partition);
        });
    }

    /// A message caused by the event at `at` is in flight.
    pub fn expect(&self, at: At) {
        self.with(|p| {
            if let Some(part) = p.current(at.stream, at.generation) {
                part.hold(at.offset);
            }
        });
    }

    /// The broker acknowledged one message caused by the event at `at`.
    pub fn ack(&self, at: At) {
        self.with(|p| {
            if let Some(part) = p.current(at.stream, at.generation) {
                part.release(at.offset);
            }
        });
    }

    /// A batch's processing begins: its offsets are held until
    /// [`Acks::processed_batch`]. Holding each stream's lowest offset holds every offset
    /// of the batch (nothing at or after a held offset is committed), so this costs one
    /// hold a stream, not one an event.
    pub fn begin_batch(&self, generation: Generation, spans: &[OffsetRange]) {
        self.with(|p| {
            for s in spans {
                if let Some(part) = p.current(s.stream, generation) {
                    part.hold(s.lowest);
                }
            }
        });
    }

    /// A batch begun with [`Acks::begin_batch`] has been processed: its holds are
    /// released, and each stream's next offset is the one after the batch's highest.
    pub fn processed_batch(&self, generation: Generation, spans: &[OffsetRange]) {
        self.with(|p| {
            for s in spans {
                if let Some(part) = p.current(s.stream, generation) {
                    part.release(s.lowest);
                    part.next = Some(part.next.map_or(s.highest + 1, |n| n.max(s.highest + 1)));
                }
            }
        });
    }

    /// Holds every offset given (one lock for all): the archived events of a batch,
    /// each released when its own file is durable.
    pub fn begin_all(&self, offsets: impl Iterator<Item = At>) {
        self.with(|p| {
            for at in offsets {
                if let Some(part) = p.current(at.stream, at.generation) {
                    part.hold(at.offset);
                }
            }
        });
    }

    /// Acknowledges one message for each offset (one lock for all).
    pub fn ack_all(&self, offsets: impl Iterator<Item = At>) {
        self.with(|p| {
            for at in offsets {
                if let Some(part) = p.current(at.stream, at.generation) {
                    part.release(at.offset);
                }
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
                .by_stream
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
        self.with(|p| p.by_stream.values().flat_map(|part| part.in_flight.values()).map(|n| *n as u64).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(generation: Generation, stream: i32, offset: i64) -> At {
        At { generation, stream, offset }
    }

    /// One event's processing, as a batch of one.
    fn process(a: &Acks, generation: Generation, stream: i32, offset: i64) {
        let span = [OffsetRange { stream, lowest: offset, highest: offset }];
        a.begin_batch(generation, &span);
        a.processed_batch(generation, &span);
    }

    #[test]
    fn with_snapshots_nothing_is_committed_beyond_the_last_one() {
        let a = Acks::default();
        let g = a.assign(&[0, 1]);
        for o in 0..10 {
            process(&a, g, 0, o);
            process(&a, g, 1, o);
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
        let g = a.assign(&[0]);
        assert!(a.committable().is_empty(), "nothing processed yet");
        let spans = OffsetRange::of((10..13).map(|o| (0, o)));
        a.begin_batch(g, &spans);
        a.expect(at(g, 0, 11)); // event 11 raised an alert
        a.processed_batch(g, &spans);
        assert_eq!(a.committable(), vec![(0, 11)], "event 11's alert is not acknowledged");
        a.ack(at(g, 0, 11));
        assert_eq!(a.committable(), vec![(0, 13)]);
    }

    #[test]
    fn batch_holds_cover_every_offset_of_the_batch() {
        let a = Acks::default();
        let g = a.assign(&[0, 1]);
        process(&a, g, 0, 0);
        // Out of order, and two streams: a rebalance can put a partition's offsets
        // anywhere in a batch.
        let spans = OffsetRange::of([(0, 2), (1, 7), (0, 1), (1, 5), (0, 3)].into_iter());
        assert_eq!(
            spans,
            vec![OffsetRange { stream: 0, lowest: 1, highest: 3 }, OffsetRange { stream: 1, lowest: 5, highest: 7 }]
        );
        a.begin_batch(g, &spans);
        assert_eq!(a.committable(), vec![(0, 1)], "nothing of a batch in processing is committed");
        a.expect(at(g, 0, 2)); // event 2 raised an alert
        a.expect(at(g, 1, 5));
        a.processed_batch(g, &spans);
        assert_eq!(a.committable(), vec![(0, 2), (1, 5)]);
        a.ack(at(g, 0, 2));
        a.ack(at(g, 1, 5));
        assert_eq!(a.committable(), vec![(0, 4), (1, 8)]);
        assert_eq!(a.in_flight(), 0, "every hold released");
    }

    #[test]
    fn revoked_partitions_ignore_late_acknowledgements() {
        let a = Acks::default();
        let g = a.assign(&[1]);
        let span = [OffsetRange { stream: 1, lowest: 5, highest: 5 }];
        a.begin_batch(g, &span);
        a.revoke(1);
        a.ack(at(g, 1, 5));
        a.processed_batch(g, &span);
        assert!(a.committable().is_empty());
        assert_eq!(a.in_flight(), 0);
    }

    #[test]
    fn what_was_read_before_a_reassignment_moves_nothing_of_the_new_one() {
        let a = Acks::default();
        let old = a.assign(&[0, 1]);
        // A batch read under the first assignment: offsets 100-150 of partition 0, one
        // alert of event 120 in flight, and partition 1 up to 9.
        let stale = OffsetRange::of((100..=150).map(|o| (0, o)).chain((0..10).map(|o| (1, o))));
        a.begin_batch(old, &stale);
        a.expect(at(old, 0, 120));
        // The group rebalances: partition 0 goes and comes back (read again from its
        // last commit, 100); partition 1 stays.
        a.revoke(0);
        let new = a.assign(&[0, 1]);
        assert!(new > old);
        assert_eq!(a.generation(), new);
        // The copy of event 120 read again raises its alert again.
        let fresh = OffsetRange::of((100..=130).map(|o| (0, o)));
        a.begin_batch(new, &fresh);
        a.expect(at(new, 0, 120));
        // The old batch ends, and the old alert is acknowledged: neither may move
        // partition 0 on, while partition 1, assigned throughout, goes on.
        a.processed_batch(old, &stale);
        a.ack(at(old, 0, 120));
        assert_eq!(a.committable(), vec![(1, 10)], "partition 0 has processed nothing of its new assignment");
        a.processed_batch(new, &fresh);
        assert_eq!(a.committable(), vec![(0, 120), (1, 10)], "the new alert of event 120 is still in flight");
        a.ack(at(new, 0, 120));
        assert_eq!(a.committable(), vec![(0, 131), (1, 10)]);
        assert_eq!(a.in_flight(), 0);
    }
}
