//! State snapshots: the behavioural state survives a restart and moves with its
//! partition.
//!
//! Every `state.snapshot_interval` (and at shutdown) the engine flushes the producer,
//! so that every alert of every event processed so far is acknowledged, then writes the
//! state of each stream it owns, with the offset it covers (the next to process):
//!
//! - to `kafka.state_topic`, when set: each stream to a partition of its own
//!   ([`state_partition`]), in chunks of at most [`CHUNK`] bytes. The instance a
//!   partition is assigned to (after a restart, a crash of its owner, or a rebalance)
//!   reads the stream's newest complete snapshot back ([`read_streams`]); the one that
//!   covers the most wins, so a late write from an instance that has just lost the
//!   partition cannot put older state in front of newer.
//! - to `state.dir/snapshot.json`, when set: everything the instance holds, its own
//!   state (the risk board) included (a temporary file of a unique name, synced,
//!   renamed over the old one, and the directory synced). Read at start-up.
//!
//! Offsets are committed only up to what a snapshot covers (see `acks`). After a
//! restart or a handover the consumer resumes at the committed offset, which may be
//! behind the snapshot; events before the snapshot's offset are already in the state,
//! so they go through the watch-list rules only (their alerts come out again with the
//! same ids) and the detectors pick up exactly where they stopped.

use super::error::LiveError;
use super::publish::Publisher;
use super::repartition::{is_cross, FIRST};
use crate::config::KafkaConfig;
use crate::engine::Engine;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

const FILE: &str = "snapshot.json";
/// 3: the behavioural windows pack their ids and people's state is keyed by a hash
/// (2026-12-04). 4: a person is counted by surname, initial and date of birth before
/// the subject key (2026-12-07): hashes of the old keys would count people twice.
/// A snapshot of another version starts the detectors cold.
const VERSION: u32 = 4;

/// Largest chunk of a stream's state in one message: well under the broker's default
/// message size (1 MB), whatever the state's size.
pub const CHUNK: usize = 256 * 1024;

fn bug(e: serde_json::Error) -> LiveError {
    LiveError::Bug(format!("the engine's state does not serialise: {e}"))
}

fn raw(bytes: Vec<u8>) -> Result<Box<RawValue>, LiveError> {
    RawValue::from_string(String::from_utf8(bytes).map_err(|e| LiveError::Bug(e.to_string()))?).map_err(bug)
}

#[derive(serde::Serialize)]
struct FileOut<'a> {
    version: u32,
    offsets: &'a BTreeMap<i32, i64>,
    shared: &'a RawValue,
    streams: BTreeMap<i32, Box<RawValue>>,
}

#[derive(serde::Deserialize)]
struct FileIn {
    version: u32,
    offsets: BTreeMap<i32, i64>,
    shared: Box<RawValue>,
    streams: BTreeMap<i32, Box<RawValue>>,
}

/// Writes the snapshot file of `engine`: the streams of `covered`, with the offsets
/// they cover, and the instance's own state.
pub fn write_file(dir: &Path, engine: &Engine, covered: &BTreeMap<i32, i64>) -> Result<usize, LiveError> {
    let shared = raw(engine.shared_state_json().map_err(bug)?)?;
    let mut streams = BTreeMap::new();
    for &stream in covered.keys() {
        streams.insert(stream, raw(engine.stream_state_json(stream).map_err(bug)?)?);
    }
    let bytes =
        serde_json::to_vec(&FileOut { version: VERSION, offsets: covered, shared: &shared, streams }).map_err(bug)?;
    crate::sink::durable::write_file(&dir.join(FILE), &bytes)
        .map_err(|e| LiveError::disk(format!("writing the state snapshot in {}", dir.display()), e))?;
    Ok(bytes.len())
}

/// Loads the snapshot file in `dir` into `engine`; returns the offsets it covers
/// (empty when there is none). A snapshot that cannot be read is reported and ignored:
/// the detectors then start cold, and nothing else is lost.
pub fn load_file(dir: &Path, engine: &mut Engine) -> BTreeMap<i32, i64> {
    let path = dir.join(FILE);
    let cold = |why: &dyn std::fmt::Display| {
        tracing::warn!(path = %path.display(), "state snapshot not usable ({why}); detectors start cold");
        BTreeMap::new()
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return BTreeMap::new(),
        Err(e) => return cold(&e),
    };
    let s: FileIn = match serde_json::from_slice(&bytes) {
        Ok(s) => s,
        Err(e) => return cold(&e),
    };
    if s.version != VERSION {
        return cold(&format_args!("version {}, this engine reads {VERSION}", s.version));
    }
    if let Err(e) = engine.restore_shared(s.shared.get().as_bytes()) {
        return cold(&e);
    }
    let mut offsets = BTreeMap::new();
    for (stream, state) in &s.streams {
        match (s.offsets.get(stream), engine.restore_stream(*stream, state.get().as_bytes())) {
            (Some(o), Ok(())) => {
                offsets.insert(*stream, *o);
            }
            (_, Err(e)) => {
                tracing::warn!(stream, error = %e, "a stream's snapshot is not usable; its detectors start cold")
            }
            (None, Ok(())) => {}
        }
    }
    tracing::info!(path = %path.display(), partitions = offsets.len(), "behavioural state restored from the snapshot");
    offsets
}

/// The partition of the state topic a stream's snapshots go to: one writer each (the
/// stream's owner), so its newest snapshot is at the partition's end.
pub fn state_partition(stream: i32) -> i32 {
    match is_cross(stream) {
        false => 2 * stream,
        true => 2 * (stream - FIRST) + 1,
    }
}

/// The state topic's partitions needed for these counts of event and repartition
/// topic partitions.
pub fn state_partitions_needed(events: usize, subjects: usize) -> usize {
    2 * events.max(subjects)
}

/// What precedes a chunk's bytes in its message, on a line of its own.
#[derive(serde::Serialize, serde::Deserialize)]
struct ChunkHeader {
    stream: i32,
    /// The next offset of the stream to process: the snapshot holds every event before.
    covers: i64,
    /// Unique per snapshot of a stream.
    snapshot: String,
    chunk: usize,
    chunks: usize,
}

/// Queues the state of every stream of `covered` on the state topic; it is written
/// once the producer has been flushed.
pub fn publish(
    publisher: &Publisher,
    topic: &str,
    engine: &Engine,
    covered: &BTreeMap<i32, i64>,
) -> Result<usize, LiveError> {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut total = 0;
    for (&stream, &covers) in covered {
        let state = engine.stream_state_json(stream).map_err(bug)?;
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let snapshot = format!("{}-{}-{seq}", std::process::id(), crate::time::Timestamp::now().0);
        let chunks = state.len().div_ceil(CHUNK).max(1);
        for (chunk, bytes) in state.chunks(CHUNK).chain(state.is_empty().then_some(&[][..])).enumerate() {
            let header = ChunkHeader { stream, covers, snapshot: snapshot.clone(), chunk, chunks };
            let mut message = serde_json::to_vec(&header).map_err(bug)?;
            message.push(b'\n');
            message.extend_from_slice(bytes);
            // One key per chunk index: a compacted topic keeps the newest of each.
            let key = format!("{stream}:{chunk}");
            publisher.send_state(topic, state_partition(stream), key.as_bytes(), &message)?;
            total += message.len();
        }
    }
    Ok(total)
}

/// One stream's state as read back: the offset it covers and the engine's JSON.
pub struct Restored {
    pub covers: i64,
    pub state: Vec<u8>,
}

/// The complete snapshots of each of `streams` found at the end of the state topic,
/// best first (the one that covers the most, then the newest), for the streams that
/// have one. A snapshot that claims to cover more than its stream's partition holds
/// (only a forged or foreign one can: it would make every later event count as
/// already in the state, and the detectors skip it) is refused with a warning.
pub fn read_streams(
    k: &KafkaConfig,
    topic: &str,
    streams: &[i32],
    timeout: Duration,
) -> Result<HashMap<i32, Vec<Restored>>, LiveError> {
    let mut out = HashMap::new();
    if streams.is_empty() {
        return Ok(out);
    }
    let mut cfg = super::kafka::client_config(k)?;
    cfg.set("group.id", format!("{}-state", k.group_id)).set("enable.auto.commit", "false");
    let consumer: BaseConsumer = cfg.create().map_err(|e| LiveError::kafka("creating the state reader", e))?;
    for &stream in streams {
        let (source, p) = super::repartition::topic_partition(k, stream);
        let end = match consumer.fetch_watermarks(source, p, timeout) {
            Ok((_, end)) => end,
            Err(e) => {
                // One partition's end not read (a leader moving) costs its check, not
                // every stream's state.
                tracing::warn!(stream, error = %e, "the end of {source} [{p}] not read: its snapshot's offsets are taken unchecked");
                i64::MAX
            }
        };
        let found = read_stream(&consumer, topic, stream, end, timeout)?;
        if !found.is_empty() {
            out.insert(stream, found);
        }
    }
    Ok(out)
}

/// A snapshot's chunks as they are found.
#[derive(Default)]
struct Found {
    covers: i64,
    chunks: usize,
    parts: BTreeMap<usize, Vec<u8>>,
    last_offset: i64,
}

/// The complete snapshots of `stream` within [0, `end`] that the newest messages of its
/// state partition hold, best first.
fn read_stream(
    consumer: &BaseConsumer,
    topic: &str,
    stream: i32,
    end: i64,
    timeout: Duration,
) -> Result<Vec<Restored>, LiveError> {
    let partition = state_partition(stream);
    let (low, high) = consumer
        .fetch_watermarks(topic, partition, timeout)
        .map_err(|e| LiveError::kafka(format!("reading the watermarks of {topic} [{partition}]"), e))?;
    // The newest snapshots are at the end: read back from there, further each time
    // no complete one is found.
    let mut window = 64;
    loop {
        let start = (high - window).max(low);
        if start >= high {
            return Ok(Vec::new());
        }
        let mut found: HashMap<String, Found> = HashMap::new();
        let mut tpl = TopicPartitionList::new();
        let _ = tpl.add_partition_offset(topic, partition, Offset::Offset(start));
        consumer.assign(&tpl).map_err(|e| LiveError::kafka(format!("assigning {topic}"), e))?;
        let deadline = Instant::now() + timeout;
        let mut next = start;
        while next < high {
            if Instant::now() > deadline {
                return Err(LiveError::kafka(
                    format!("reading {topic} [{partition}]: not read to the end"),
                    rdkafka::error::KafkaError::Global(rdkafka::types::RDKafkaErrorCode::OperationTimedOut),
                ));
            }
            let m = match consumer.poll(Duration::from_millis(200)) {
                None => continue,
                Some(Err(e)) => return Err(LiveError::kafka(format!("reading {topic}"), e)),
                Some(Ok(m)) if m.partition() != partition || m.offset() < next => continue,
                Some(Ok(m)) => m,
            };
            next = m.offset() + 1;
            let Some(payload) = m.payload() else { continue };
            let Some(split) = payload.iter().position(|b| *b == b'\n') else { continue };
            let Ok(h) = serde_json::from_slice::<ChunkHeader>(&payload[..split]) else { continue };
            if h.stream != stream || h.chunk >= h.chunks {
                continue;
            }
            let f = found.entry(h.snapshot).or_default();
            f.covers = h.covers;
            f.chunks = h.chunks;
            f.last_offset = m.offset();
            f.parts.insert(h.chunk, payload[split + 1..].to_vec());
        }
        let mut complete: Vec<Found> = found.into_values().filter(|f| f.parts.len() == f.chunks).collect();
        complete.retain(|f| {
            let possible = (0..=end).contains(&f.covers);
            if !possible {
                tracing::warn!(
                    stream,
                    covers = f.covers,
                    end,
                    "a snapshot on the state topic claims offsets its partition does not hold: refused (only the engine should write to the state topic)"
                );
            }
            possible
        });
        complete.sort_by_key(|f| std::cmp::Reverse((f.covers, f.last_offset)));
        if !complete.is_empty() {
            return Ok(complete
                .into_iter()
                .map(|f| Restored { covers: f.covers, state: f.parts.into_values().flatten().collect() })
                .collect());
        }
        if start == low {
            return Ok(Vec::new());
        }
        window *= 8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stream_has_a_state_partition_of_its_own() {
        let mut seen = std::collections::HashSet::new();
        for p in 0..16 {
            assert!(seen.insert(state_partition(p)));
            assert!(seen.insert(state_partition(FIRST + p)));
        }
        assert!(seen.iter().all(|q| (*q as usize) < state_partitions_needed(16, 16)));
    }
}
