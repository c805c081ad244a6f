//! State snapshots: the behavioural state survives a restart.
//!
//! Every `state.snapshot_interval` (and at shutdown) the engine flushes the producer,
//! so that every alert of every event processed so far is acknowledged, then writes
//! `snapshot.json` in `state.dir` (a temporary file renamed over the old one): the
//! next offset to process per partition, and the engine's behaviour, risk and
//! watermark state. After a restart the consumer resumes at the committed offsets,
//! which may be behind the snapshot; events before the snapshot's offsets are already
//! in the state, so they go through the watch-list rules only (their alerts come out
//! again with the same ids) and the detectors pick up exactly where they stopped.

use crate::engine::Engine;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
pub fn write(dir: &Path, engine: &Engine, offsets: &BTreeMap<i32, i64>) -> Result<usize, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let state = engine.state_json().map_err(|e| e.to_string())?;
    let state = serde_json::value::RawValue::from_string(String::from_utf8(state).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let bytes = serde_json::to_vec(&Out { version: 1, offsets, state: &state }).map_err(|e| e.to_string())?;
    let tmp: PathBuf = dir.join(format!("{FILE}.tmp"));
    std::fs::write(&tmp, &bytes).map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, dir.join(FILE)).map_err(|e| format!("renaming the snapshot in {}: {e}", dir.display()))?;
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
