//! State snapshots: the behavioural state survives a restart.
//!
//! Every `state.snapshot_interval` (and at shutdown) the engine flushes the producer,
//! so that every alert of every event processed so far is acknowledged, then writes
//! `snapshot.json` in `state.dir` (a temporary file of a unique name, synced, renamed
//! over the old one, and the directory synced): the
//! next offset to process per partition, and the engine's behaviour, risk and
//! watermark state. After a restart the consumer resumes at the committed offsets,
//! which may be behind the snapshot; events before the snapshot's offsets are already
//! in the state, so they go through the watch-list rules only (their alerts come out
//! again with the same ids) and the detectors pick up exactly where they stopped.

use super::error::LiveError;
use crate::engine::Engine;
use std::collections::BTreeMap;
use std::path::Path;

const FILE: &str = "snapshot.json";

#[derive(serde::Serialize)]
struct Out<'a> {
    version: u32,
    offsets: &'a BTreeMap<i32, i64>,
    state: &'a serde_json::value::RawValue,
}

#[derive(serde::Deserialize)]
struct In {
    version: u32,
    offsets: BTreeMap<i32, i64>,
    state: Box<serde_json::value::RawValue>,
}

/// Writes the snapshot of `engine`, covering the events before `offsets`.
pub fn write(dir: &Path, engine: &Engine, offsets: &BTreeMap<i32, i64>) -> Result<usize, LiveError> {
    let bug = |e: serde_json::Error| LiveError::Bug(format!("the engine's state does not serialise: {e}"));
    let state = engine.state_json().map_err(bug)?;
    let state = serde_json::value::RawValue::from_string(String::from_utf8_lossy(&state).into_owned()).map_err(bug)?;
    let bytes = serde_json::to_vec(&Out { version: 1, offsets, state: &state }).map_err(bug)?;
    crate::sink::durable::write_file(&dir.join(FILE), &bytes)
        .map_err(|e| LiveError::disk(format!("writing the state snapshot in {}", dir.display()), e))?;
    Ok(bytes.len())
}

/// Loads the snapshot in `dir` into `engine`; returns the offsets it covers (empty
/// when there is none). A snapshot that cannot be read is reported and ignored: the
/// detectors then start cold, and nothing else is lost.
pub fn load(dir: &Path, engine: &mut Engine) -> BTreeMap<i32, i64> {
    let path = dir.join(FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return BTreeMap::new(),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "state snapshot not read; detectors start cold");
            return BTreeMap::new();
        }
    };
    let parsed: Result<In, _> = serde_json::from_slice(&bytes);
    match parsed {
        Ok(s) if s.version == 1 => match engine.restore_state(&s.state) {
            Ok(()) => {
                tracing::info!(path = %path.display(), partitions = s.offsets.len(), "behavioural state restored from the snapshot");
                s.offsets
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "state snapshot not usable; detectors start cold");
                BTreeMap::new()
            }
        },
        Ok(s) => {
            tracing::warn!(version = s.version, "state snapshot of an unknown version; detectors start cold");
            BTreeMap::new()
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "state snapshot not usable; detectors start cold");
            BTreeMap::new()
        }
    }
}
