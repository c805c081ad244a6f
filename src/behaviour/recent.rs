//! The latest accesses a unit counted, so that a second copy of one (the same event
//! id from the same system: the spec's idempotency key) counts once.
//!
//! The peer comparison asks this once for every counted access, and each unit keeps
//! the latest [`CAPACITY`], so the question must stay in cache: a ring of the
//! accesses' 64-bit hashes and an open-addressed index into it (linear probing, at
//! most half full), 64 KB a unit at most, where a hash set beside a queue took about
//! 136 KB and three cache misses an access (7% of a replay, by removing it).
//!
//! An access's slot comes from its id mixed with a key drawn when the process starts,
//! so ids made to share their low bits (an input built to make every probe walk the
//! whole index) fall apart as they would in a randomly seeded hash set. A snapshot
//! keeps the ids only; the index is built again where it is read.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::sync::OnceLock;

/// How many of a unit's latest accesses are remembered.
pub const CAPACITY: usize = 4_096;

/// An index slot: 0 is empty, else the low [`HASH_BITS`] of the id's hash (its home
/// slot and a filter) above its ring position plus one.
const POSITION_BITS: u32 = 13;
const HASH_BITS: u32 = 32 - POSITION_BITS;
const POSITION_MASK: u32 = (1 << POSITION_BITS) - 1;
const _: () = assert!(CAPACITY < POSITION_MASK as usize);

/// The latest ids taken, oldest forgotten first.
#[derive(Debug, Default, Clone)]
pub struct RecentIds {
    /// The ids in ring order: the oldest at `next` once the ring is full.
    ring: Vec<u64>,
    /// Where the next id goes once the ring is full.
    next: usize,
    /// A power of two, at least twice the ring's length (empty before the first id).
    slots: Vec<u32>,
}

impl RecentIds {
    /// Takes `id` (a 64-bit hash): true the first time, false while it is remembered.
    pub fn first(&mut self, id: u64) -> bool {
        let mixed = Self::mixed(id);
        if self.find(id, mixed).is_ok() {
            return false;
        }
        if self.ring.len() == CAPACITY {
            let position = self.next;
            self.forget(self.ring[position], position);
            self.ring[position] = id;
            self.next = (position + 1) % CAPACITY;
            self.file(id, mixed, position);
        } else {
            if 2 * (self.ring.len() + 1) > self.slots.len() {
                self.grow();
            }
            self.ring.push(id);
            self.file(id, mixed, self.ring.len() - 1);
        }
        true
    }

    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Bytes held on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.ring.capacity() * 8 + self.slots.capacity() * 4
    }

    /// The ids, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        let (newer, older) = self.ring.split_at(self.next);
        older.iter().chain(newer).copied()
    }

    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// The id mixed with this process's key: its home slot and filter are the low bits.
    fn mixed(id: u64) -> u64 {
        static KEY: OnceLock<ahash::RandomState> = OnceLock::new();
        KEY.get_or_init(ahash::RandomState::new).hash_one(id)
    }

    fn tag(mixed: u64) -> u32 {
        mixed as u32 & ((1 << HASH_BITS) - 1)
    }

    /// The slot holding `id` (whose [`Self::mixed`] is `mixed`), or the empty slot
    /// ending its probe.
    fn find(&self, id: u64, mixed: u64) -> Result<usize, usize> {
        if self.slots.is_empty() {
            return Err(0);
        }
        let (mask, tag) = (self.mask(), Self::tag(mixed));
        let mut i = mixed as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                return Err(i);
            }
            if slot >> POSITION_BITS == tag && self.ring[(slot & POSITION_MASK) as usize - 1] == id {
                return Ok(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// Indexes ring position `position`, which holds `id` (not indexed yet).
    fn file(&mut self, id: u64, mixed: u64, position: usize) {
        let Err(i) = self.find(id, mixed) else { unreachable!("an id is filed once") };
        self.slots[i] = Self::tag(mixed) << POSITION_BITS | (position as u32 + 1);
    }

    /// Removes ring position `position` (holding `id`) from the index, moving back the
    /// slots after it that would no longer be found past the gap.
    fn forget(&mut self, id: u64, position: usize) {
        let mask = self.mask();
        let mut hole = Self::mixed(id) as usize & mask;
        while self.slots[hole] & POSITION_MASK != position as u32 + 1 {
            hole = (hole + 1) & mask;
        }
        let mut i = (hole + 1) & mask;
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                break;
            }
            let home = (slot >> POSITION_BITS) as usize & mask;
            // The slot may move to the hole unless its home lies after the hole.
            if i.wrapping_sub(home) & mask >= i.wrapping_sub(hole) & mask {
                self.slots[hole] = slot;
                hole = i;
            }
            i = (i + 1) & mask;
        }
        self.slots[hole] = 0;
    }

    /// Doubles the index (16 slots to begin with) and files the ring again.
    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(16);
        debug_assert!(size <= 1 << HASH_BITS);
        self.slots = vec![0; size];
        for position in 0..self.ring.len() {
            let id = self.ring[position];
            self.file(id, Self::mixed(id), position);
        }
    }
}

impl Serialize for RecentIds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// Read from the ids oldest first, as written. The queue of earlier versions reads
/// back too, but its ids hashed the event id alone: after the upgrade, a copy of an
/// access taken before it is counted once more (the snapshot's version stays, so the
/// detectors do not start cold for so small a thing).
impl<'de> Deserialize<'de> for RecentIds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let ids = Vec::<u64>::deserialize(d)?;
        let mut recent = RecentIds::default();
        for id in ids {
            recent.first(id);
        }
        Ok(recent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{HashSet, VecDeque};

    /// The plain model: a queue of the latest ids and a set of them.
    #[derive(Default)]
    struct Model {
        order: VecDeque<u64>,
        set: HashSet<u64>,
    }

    impl Model {
        fn first(&mut self, id: u64) -> bool {
            if !self.set.insert(id) {
                return false;
            }
            self.order.push_back(id);
            if self.order.len() > CAPACITY {
                let old = self.order.pop_front().unwrap();
                self.set.remove(&old);
            }
            true
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Ids drawn from a small range (so that repeats, evictions and neighbours in
        /// the index all happen), some of them sharing their low bits: the same
        /// answers as the model, and the same ids kept.
        #[test]
        fn answers_as_a_queue_and_a_set_would(
            ids in prop::collection::vec((0u64..6_000, any::<bool>()), 1..20_000)
        ) {
            let (mut recent, mut model) = (RecentIds::default(), Model::default());
            for (n, high) in ids {
                let id = if high { n << 40 | 7 } else { n };
                prop_assert_eq!(recent.first(id), model.first(id), "id {}", id);
            }
            prop_assert!(recent.iter().eq(model.order.iter().copied()));
            prop_assert!(recent.slots.len() >= 2 * recent.len());
        }
    }

    #[test]
    fn a_snapshot_reads_back_the_same_ids_in_the_same_order() {
        let mut recent = RecentIds::default();
        for id in 0..CAPACITY as u64 + 100 {
            recent.first(id.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        }
        let json = serde_json::to_string(&recent).unwrap();
        let back: RecentIds = serde_json::from_str(&json).unwrap();
        assert!(back.iter().eq(recent.iter()));
        assert_eq!(back.len(), CAPACITY);
        // The oldest were forgotten; the newest are remembered.
        let mut back = back;
        assert!(back.first(0));
        assert!(!back.first((CAPACITY as u64 + 99).wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        // The queue of earlier versions reads back the same.
        let queue: VecDeque<u64> = recent.iter().collect();
        let from_queue: RecentIds = serde_json::from_str(&serde_json::to_string(&queue).unwrap()).unwrap();
        assert!(from_queue.iter().eq(recent.iter()));
    }
}
