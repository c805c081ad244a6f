//! What the detectors have learned, per stream, as the live engine snapshots it.
//!
//! A stream's learned state (the per-user detectors' windows and baselines, the
//! `earlier` explanations, and for a repartition stream the cross-user detectors') and
//! its clock move together: the live engine snapshots them stream by stream, and the
//! instance a partition moves to puts its stream back ([`crate::live::snapshot`]), so
//! a handover changes no alert. What is not per stream (the risk board, and the
//! cross-user detectors when they run in line, which only one instance can do) is the
//! instance's own, in [`Engine::shared_state_json`].

use super::clock::StreamClock;
use super::Engine;
use crate::alert::book::DetectClock;
use crate::behaviour::{Behaviour, CrossUser};
use crate::event::AccessEvent;
use crate::explain::Continuations;
use crate::risk::RiskBoard;
use crate::time::Span;
use crate::time::Timestamp;
use ahash::AHashSet;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// What the detectors have learned from one stream.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Learned {
    /// The per-user detectors (a partition of the event topic).
    pub behaviour: Behaviour,
    /// Each user's recent explained accesses (the `earlier` explanation).
    pub continuations: Continuations,
    /// The cross-user detectors (a partition of the repartition topic).
    pub cross: CrossUser,
    /// The repartition records the cross-user detectors have taken.
    #[serde(default)]
    pub delivered: Delivered,
    /// The stream's latest events, so that a second copy of one is not judged again.
    /// In the snapshot, so that a copy a source sends again after the instance
    /// restarted, or after the partition moved, is still one (snapshots written before
    /// it have none: a fresh memory).
    #[serde(default)]
    pub copies: Copies,
}

/// A stream's latest events by [`AccessEvent::copy_hash_with`] under a key of the
/// stream's own, drawn when its state is first made and kept with the hashes in the
/// snapshot: a log source cannot choose a record to collide with another's (it does
/// not know the key), and the instance that reads the snapshot back hashes as the one
/// that wrote it. (A build whose hasher differs, after an upgrade, judges the copies of
/// the events before it again, as a restart did before the copies were kept.)
#[derive(Debug, Serialize, Deserialize)]
pub struct Copies {
    key: CopyKey,
    recent: crate::behaviour::recent::RecentIds,
}

impl Default for Copies {
    fn default() -> Self {
        use rand_core::RngCore;
        let seeds = std::array::from_fn(|_| rand_core::OsRng.next_u64());
        Copies { key: CopyKey::from(seeds), recent: Default::default() }
    }
}

impl Copies {
    /// Takes `event`: true the first time, false while a copy of it is remembered.
    pub fn first(&mut self, event: &AccessEvent) -> bool {
        self.recent.first(event.copy_hash_with(&self.key.hasher))
    }
}

/// The four seeds of the hasher, as the snapshot keeps them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "[u64; 4]", into = "[u64; 4]")]
struct CopyKey {
    seeds: [u64; 4],
    hasher: ahash::RandomState,
}

impl From<[u64; 4]> for CopyKey {
    fn from(seeds: [u64; 4]) -> Self {
        CopyKey { seeds, hasher: ahash::RandomState::with_seeds(seeds[0], seeds[1], seeds[2], seeds[3]) }
    }
}

impl From<CopyKey> for [u64; 4] {
    fn from(key: CopyKey) -> Self {
        key.seeds
    }
}

impl Learned {
    /// Keeps every sweep clock from standing beyond `limit` (a snapshot taken after an
    /// event from the future).
    fn clamp_clock(&mut self, limit: Timestamp) {
        self.behaviour.clamp_clock(limit);
        self.continuations.clamp_clock(limit);
        self.cross.clamp_clock(limit);
    }
}

/// Most records [`Delivered`] remembers, whatever the horizon.
const DELIVERED_MAX: usize = 4_000_000;

/// The repartition records a cross-user stream has taken, by detector and event id,
/// back to `kafka.repartition_horizon` of event time behind the newest: a record
/// delivered twice (its access processed again by the instance its partition moved
/// to) counts once, as it does in a replay, however late the second copy comes.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Delivered {
    newest: Timestamp,
    /// (event time, identity), in the order taken.
    order: VecDeque<(Timestamp, u64)>,
    #[serde(skip)]
    seen: AHashSet<u64>,
}

impl Delivered {
    /// Whether this is the first copy of the record for `detector` about the access
    /// `event_id` of `system` (then it is remembered).
    pub fn first(&mut self, detector: u8, system: &str, event_id: &str, ts: Timestamp, horizon: Span) -> bool {
        if self.seen.len() != self.order.len() {
            // Restored from a snapshot, which keeps only the order.
            self.seen = self.order.iter().map(|(_, id)| *id).collect();
        }
        let id = crate::hash::stable_parts(0x11_12_13_14, detector, &[system.as_bytes(), event_id.as_bytes()]);
        if !self.seen.insert(id) {
            return false;
        }
        self.order.push_back((ts, id));
        self.newest = self.newest.max(ts);
        let oldest = self.newest - horizon;
        while let Some(&(t, old)) = self.order.front() {
            if t >= oldest && self.order.len() <= DELIVERED_MAX {
                break;
            }
            self.order.pop_front();
            self.seen.remove(&old);
        }
        true
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[derive(Serialize)]
struct StreamOut<'a> {
    learned: Option<&'a Learned>,
    newest: Option<Timestamp>,
}

#[derive(Deserialize)]
struct StreamIn {
    learned: Option<Learned>,
    newest: Option<Timestamp>,
}

#[derive(Serialize)]
struct SharedOut<'a> {
    risk: &'a RiskBoard,
    inline_cross: &'a CrossUser,
}

#[derive(Deserialize)]
struct SharedIn {
    risk: RiskBoard,
    inline_cross: CrossUser,
}

impl Engine {
    /// Every stream the engine holds state for.
    pub fn streams_with_state(&self) -> Vec<i32> {
        let mut streams: Vec<i32> = self.learned.keys().chain(self.clocks.keys()).copied().collect();
        streams.sort_unstable();
        streams.dedup();
        streams
    }

    /// One stream's state as JSON: what its detectors learned and its clock.
    pub fn stream_state_json(&self, stream: i32) -> serde_json::Result<Vec<u8>> {
        serde_json::to_vec(&StreamOut {
            learned: self.learned.get(&stream),
            newest: self.clocks.get(&stream).and_then(StreamClock::newest),
        })
    }

    /// Puts back a stream's state of [`Engine::stream_state_json`] in place of what the
    /// stream had.
    pub fn restore_stream(&mut self, stream: i32, json: &[u8]) -> serde_json::Result<()> {
        let state: StreamIn = serde_json::from_slice(json)?;
        let mut learned = state.learned.unwrap_or_default();
        let mut clock = state.newest.map(StreamClock::at);
        // A snapshot can carry a clock from the future (written before the skew bound,
        // or by a machine whose clock was wrong): nothing may stand beyond the bound.
        if self.clock == DetectClock::WallClock {
            let limit = Timestamp::now() + self.config.state.max_clock_skew;
            if let Some(c) = &mut clock {
                c.clamp(limit);
            }
            learned.clamp_clock(limit);
        }
        self.learned.insert(stream, learned);
        match clock {
            Some(c) => self.clocks.insert(stream, c),
            None => self.clocks.remove(&stream),
        };
        Ok(())
    }

    /// The instance's own state: the risk board and the in-line cross-user detectors.
    pub fn shared_state_json(&self) -> serde_json::Result<Vec<u8>> {
        serde_json::to_vec(&SharedOut { risk: &self.risk, inline_cross: &self.inline_cross })
    }

    /// Puts back the state of [`Engine::shared_state_json`].
    pub fn restore_shared(&mut self, json: &[u8]) -> serde_json::Result<()> {
        let state: SharedIn = serde_json::from_slice(json)?;
        self.risk = state.risk;
        self.inline_cross = state.inline_cross;
        if self.clock == DetectClock::WallClock {
            self.inline_cross.clamp_clock(Timestamp::now() + self.config.state.max_clock_skew);
        }
        Ok(())
    }
}
