//! `accesswatch evidence --alert ID`: a bundle a misconduct hearing can rely on.
//!
//! The bundle is a directory:
//!
//! | file | holds |
//! |---|---|
//! | `alert.json` | the alert as raised, from the archive |
//! | `events.jsonl` | every event of its evidence, as archived (with Kafka partition and offset when live) |
//! | `watchlist-rows.jsonl` | the watch-list row the alert names and the user's staff row, as they stand in the lists given |
//! | `config.toml` | the configuration in force: the file given, or the built-in defaults |
//! | `rule.txt` | the effective settings of the alert's rule |
//! | `manifest.json` | what the bundle is: alert, archive, tool version, creation time, each file's SHA-256 |
//! | `SHA256SUMS` | `sha256sum -c` format, one line per file above |
//!
//! The bundle's own hash is the SHA-256 of `SHA256SUMS`, printed and written to
//! `BUNDLE.sha256`, so one value read into the record pins every file.

use crate::alert::Alert;
use crate::archive::columns::StoredEvent;
use crate::config::Config;
use crate::hunt::{quote, Hunt, HuntError};
use crate::watchlist::read::{read_row, JsonCells};
use crate::watchlist::TableName;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// What was written.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub dir: PathBuf,
    pub files: Vec<(String, String)>,
    pub events: usize,
    pub missing_events: Vec<String>,
    pub sha256: String,
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The rows of `table` in `dir` (CSV or JSON Lines) whose key is `key`, as JSON objects.
pub fn watchlist_rows(dir: &Path, table: TableName, key: &str) -> Result<Vec<serde_json::Value>, HuntError> {
    let mut out = Vec::new();
    let mut consider = |map: serde_json::Map<String, serde_json::Value>| {
        if read_row(table, &JsonCells(&map)).is_ok_and(|row| row.key() == key) {
            let mut map = map;
            map.insert("table".into(), table.as_str().into());
            out.push(serde_json::Value::Object(map));
        }
    };
    let csv = dir.join(format!("{}.csv", table.as_str()));
    let jsonl = dir.join(format!("{}.jsonl", table.as_str()));
    if csv.is_file() {
        let mut reader =
            csv::Reader::from_path(&csv).map_err(|e| HuntError::Usage(format!("{}: {e}", csv.display())))?;
        let headers = reader.headers().map_err(|e| HuntError::Usage(e.to_string()))?.clone();
        for record in reader.records() {
            let record = record.map_err(|e| HuntError::Usage(format!("{}: {e}", csv.display())))?;
            let map = headers
                .iter()
                .zip(record.iter())
                .filter(|(_, v)| !v.is_empty())
                .map(|(h, v)| (h.to_string(), serde_json::Value::String(v.to_string())))
                .collect();
            consider(map);
        }
    } else if jsonl.is_file() {
        for line in std::fs::read_to_string(&jsonl)?.lines().filter(|l| !l.trim().is_empty()) {
            if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(line) {
                consider(map);
            }
        }
    }
    Ok(out)
}

/// The archived accesses an alert's evidence ids name, from `found` (every archived
/// access under those ids), and the ids that still name more than one. An event id is
/// unique only within its system, and some sources reuse ids: the triggering access is
/// the one of the alert's system, user and time; another id's accesses are narrowed to
/// the alert's user when any is theirs (most evidence is the user's own). What stays
/// ambiguous is kept, and said.
pub fn evidence_of(alert: &Alert, found: Vec<StoredEvent>) -> (Vec<StoredEvent>, Vec<String>) {
    let mut keep = vec![false; found.len()];
    let mut ambiguous = Vec::new();
    let mut by_id: std::collections::BTreeMap<&str, Vec<usize>> = std::collections::BTreeMap::new();
    for (i, e) in found.iter().enumerate() {
        by_id.entry(&e.event.event_id).or_default().push(i);
    }
    for (id, candidates) in by_id {
        // The trigger's own record, unless the alert lists its id twice (a system that
        // logged a look-up and its print under one transaction id): then each record
        // under it is the user's evidence.
        let listed = alert.event_ids.iter().filter(|e| e.as_str() == id).count();
        let triggering = listed == 1 && alert.event_ids.first().is_some_and(|t| t == id);
        let fits = |i: &usize| {
            let e = &found[*i].event;
            // An alert stored before user ids were folded keeps the case it was logged in.
            let own = e.user_id.eq_ignore_ascii_case(&alert.user_id);
            own && (!triggering || (e.system == alert.system && e.ts == alert.event_ts))
        };
        let narrowed: Vec<usize> = candidates.iter().copied().filter(fits).collect();
        let narrowed = if narrowed.is_empty() { candidates } else { narrowed };
        if narrowed.len() > 1 {
            ambiguous.push(id.to_string());
        }
        for i in narrowed {
            keep[i] = true;
        }
    }
    let events = found.into_iter().zip(keep).filter_map(|(e, k)| k.then_some(e)).collect();
    (events, ambiguous)
}

/// Writes the evidence bundle of `alert_id` into `out` (created; must be empty).
pub fn bundle(
    hunt: &Hunt,
    alert_id: &str,
    watchlists: Option<&Path>,
    config: &Config,
    out: &Path,
) -> Result<Bundle, HuntError> {
    let rows = hunt.sql(&format!("SELECT alert_json FROM alerts WHERE alert_id = {}", quote(alert_id)))?;
    let alert: Alert = match rows.iter().find(|b| b.num_rows() > 0) {
        Some(b) => crate::archive::columns::alerts_from_batch(b)?.remove(0),
        None => {
            return Err(HuntError::Usage(format!("no alert {alert_id:?} in the archive {}", hunt.archive().display())))
        }
    };
    if out.exists() && std::fs::read_dir(out)?.next().is_some() {
        return Err(HuntError::Usage(format!("{} exists and is not empty", out.display())));
    }
    std::fs::create_dir_all(out)?;

    // Evidence folded into an alert can come from other systems than the first event's.
    let ids: Vec<&str> = alert.event_ids.iter().map(|e| &**e).collect();
    let (events, ambiguous) = evidence_of(&alert, hunt.events_by_id(&ids)?);
    let missing: Vec<String> = alert
        .event_ids
        .iter()
        .filter(|id| !events.iter().any(|e| e.event.event_id == **id))
        .map(|id| id.to_string())
        .collect();

    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut text = String::new();
    alert.write_json(&mut text);
    text.push('\n');
    files.push(("alert.json".into(), text.into_bytes()));

    let mut lines = String::new();
    for e in &events {
        let mut line = String::new();
        e.event.write_json(&mut line);
        // The archive's provenance beside the event's own fields.
        let mut v: serde_json::Value = serde_json::from_str(&line).map_err(|e| HuntError::Usage(e.to_string()))?;
        if let (Some(p), Some(o)) = (e.from.partition, e.from.offset) {
            v["kafka_partition"] = p.into();
            v["kafka_offset"] = o.into();
        }
        lines.push_str(&v.to_string());
        lines.push('\n');
    }
    files.push(("events.jsonl".into(), lines.into_bytes()));

    let mut rows = String::new();
    if let Some(dir) = watchlists {
        let mut wanted: Vec<(TableName, String)> = vec![(TableName::Staff, alert.user_id.to_string())];
        if let Some(w) = &alert.watchlist {
            wanted.insert(0, (w.list, w.key.to_string()));
        }
        for (table, key) in wanted {
            for row in watchlist_rows(dir, table, &key)? {
                rows.push_str(&row.to_string());
                rows.push('\n');
            }
        }
    }
    files.push(("watchlist-rows.jsonl".into(), rows.into_bytes()));

    // The configuration goes to whoever receives the bundle: its secrets and the
    // dashboard's password hashes are redacted, and the manifest says which.
    let (config_text, redacted) = match &config.source_path {
        Some(p) => crate::config::redact::redacted(&std::fs::read_to_string(p)?),
        None => (format!("# the built-in defaults\n{}", crate::config::DEFAULT_TOML), Vec::new()),
    };
    files.push(("config.toml".into(), config_text.into_bytes()));
    let rule = format!(
        "rule {}\n{:#?}\n\nevery rule's effective settings and parameters:\n{:#?}\n",
        alert.rule,
        config.rules.settings(alert.rule),
        config.rules
    );
    files.push(("rule.txt".into(), rule.into_bytes()));

    let hashes: Vec<(String, String)> = files.iter().map(|(n, b)| (n.clone(), sha256_hex(b))).collect();
    let manifest = serde_json::json!({
        "alert_id": alert.alert_id,
        "archive": hunt.archive().display().to_string(),
        "created_at": crate::time::Timestamp::now().to_string(),
        "tool": format!("accesswatch {}", env!("CARGO_PKG_VERSION")),
        "events_found": events.len(),
        "events_missing": missing,
        "events_ambiguous": ambiguous,
        "events_note": "an event id is unique only within its system: the triggering event is the archived access of the alert's system, user and time; another id is narrowed to the alert's user's accesses when it names any; events_ambiguous lists the ids still naming more than one access, all of which are in events.jsonl",
        "config_redacted": redacted,
        "config_note": "config.toml is the configuration in force with every secret and password hash replaced by \"<redacted>\"; config_redacted lists the keys",
        "files": hashes.iter().map(|(n, h)| serde_json::json!({"file": n, "sha256": h})).collect::<Vec<_>>(),
    });
    let manifest = serde_json::to_vec_pretty(&manifest).map_err(|e| HuntError::Usage(e.to_string()))?;
    files.push(("manifest.json".into(), manifest));

    let mut sums = String::new();
    for (name, bytes) in &files {
        std::fs::write(out.join(name), bytes)?;
        sums.push_str(&format!("{}  {name}\n", sha256_hex(bytes)));
    }
    std::fs::write(out.join("SHA256SUMS"), &sums)?;
    let sha256 = sha256_hex(sums.as_bytes());
    std::fs::write(out.join("BUNDLE.sha256"), format!("{sha256}  SHA256SUMS\n"))?;
    Ok(Bundle {
        dir: out.to_path_buf(),
        files: files.iter().map(|(n, b)| (n.clone(), sha256_hex(b))).collect(),
        events: events.len(),
        missing_events: missing,
        sha256,
    })
}
