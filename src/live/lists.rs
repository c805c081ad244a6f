//! Watch lists from compacted topics: `watchlist.custody`, `watchlist.high_profile`, ...
//!
//! Every instance reads every partition of every watch-list topic from the start
//! (no consumer group), so each holds the whole lists. Key = the row's key; value = the
//! row as JSON; an empty value deletes the row. Once the ends seen at start-up are
//! reached, `Loaded` is sent, and the engine starts taking events; later rows follow
//! as they come and apply to the next event.

use super::error::LiveError;
use super::shutdown::Shutdown;
use super::status::Status;
use crate::config::KafkaConfig;
use crate::engine::ListChange;
use crate::metrics::Metrics;
use crate::time::Timestamp;
use crate::watchlist::read::{read_row, JsonCells};
use crate::watchlist::{TableName, WatchlistError, WatchlistErrors};
use compact_str::CompactString;
use crossbeam_channel::Sender;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// What the follower sends the engine.
pub enum ListMsg {
    Change(ListChange),
    /// Everything that was on the topics at start-up has been sent.
    Loaded,
}

/// Decodes one watch-list message into a change, or says why it cannot. A row without
/// its own `recorded_at` was recorded when the message was written (`timestamp`).
pub fn decode(
    table: TableName,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    timestamp: Option<Timestamp>,
) -> Result<ListChange, WatchlistErrors> {
    let fault = |message: String| WatchlistErrors(vec![WatchlistError { file: None, line: 0, column: None, message }]);
    let key = key.map(|k| String::from_utf8_lossy(k).into_owned());
    match value {
        None | Some([]) => match key {
            Some(k) if !k.is_empty() => Ok(ListChange::Delete { table, key: k.into() }),
            _ => Err(fault("an empty message (a delete) needs the row's key".into())),
        },
        Some(v) => {
            let json: serde_json::Value =
                serde_json::from_slice(v).map_err(|e| fault(format!("bad JSON at column {}", e.column())))?;
            let obj = json.as_object().ok_or_else(|| fault("expected a JSON object".into()))?;
            let mut row = read_row(table, &JsonCells(obj)).map_err(WatchlistErrors)?;
            if let Some(t) = timestamp {
                row.recorded_by_default(t);
            }
            let key = key.filter(|k| !k.is_empty()).map(CompactString::from).unwrap_or_else(|| row.key());
            Ok(ListChange::Upsert { key, row })
        }
    }
}

/// Drops from `pending` the partitions the consumer's position has reached the end of.
fn read_to_end(consumer: &BaseConsumer, pending: &mut HashMap<(String, i32), i64>) {
    let Ok(positions) = consumer.position() else { return };
    for e in positions.elements() {
        let key = (e.topic().to_string(), e.partition());
        if let (Some(high), Offset::Offset(at)) = (pending.get(&key), e.offset()) {
            if at >= *high {
                pending.remove(&key);
            }
        }
    }
}

/// Whether an upsert's key is not its row's own, for a table whose key is one column
/// of its rows (`custody_ref`, `entry_id`, `user_id`, `reference`; compared without
/// case or surrounding spaces, as references are). The message key stays the row's
/// key in the table, as a compacted topic means (a later message or a delete with the
/// same key replaces it); the spec asks for the row's key, and the producer should be
/// told. Associates and operations are keyed "user_id + subject", a form the spec
/// leaves to the producer.
pub fn key_mismatch(change: &ListChange) -> bool {
    let ListChange::Upsert { key, row } = change else { return false };
    let keyed_by_column =
        matches!(row.table(), TableName::Custody | TableName::HighProfile | TableName::Staff | TableName::Incidents);
    keyed_by_column && !key.trim().eq_ignore_ascii_case(row.key().trim())
}

/// Follows the watch-list topics until shutdown.
pub fn run(
    k: KafkaConfig,
    tx: Sender<ListMsg>,
    metrics: Arc<Metrics>,
    status: Arc<Status>,
    shutdown: Shutdown,
) -> Result<(), LiveError> {
    let mut cfg = super::kafka::client_config(&k)?;
    cfg.set("group.id", format!("{}-watchlists", k.group_id))
        .set("enable.auto.commit", "false")
        // Watch-list topics are quiet: a new row should reach the engine in
        // milliseconds, before the events that depend on it.
        .set("fetch.wait.max.ms", "10");
    let consumer: BaseConsumer = cfg.create().map_err(|e| LiveError::kafka("creating the watch-list consumer", e))?;

    // Every partition of every watch-list topic that exists, and where it ends now.
    let mut tpl = TopicPartitionList::new();
    let mut pending: HashMap<(String, i32), i64> = HashMap::new();
    let mut tables: HashMap<String, TableName> = HashMap::new();
    for table in TableName::ALL {
        let topic = super::kafka::watchlist_topic(&k, table);
        let md = consumer
            .fetch_metadata(Some(&topic), Duration::from_secs(10))
            .map_err(|e| LiveError::kafka(format!("reading metadata of {topic}"), e))?;
        let Some(t) = md.topics().iter().find(|t| t.name() == topic && t.error().is_none()) else {
            tracing::info!(%topic, "no watch-list topic; the table comes from files only");
            continue;
        };
        tables.insert(topic.clone(), table);
        for p in t.partitions() {
            let (low, high) = consumer
                .fetch_watermarks(&topic, p.id(), Duration::from_secs(10))
                .map_err(|e| LiveError::kafka(format!("reading the end of {topic}/{}", p.id()), e))?;
            if high > low {
                pending.insert((topic.clone(), p.id()), high);
            }
            let _ = tpl.add_partition_offset(&topic, p.id(), Offset::Beginning);
        }
    }
    if tpl.count() > 0 {
        consumer.assign(&tpl).map_err(|e| LiveError::kafka("assigning watch-list partitions", e))?;
    }
    let mut loaded = false;
    let mut last_position_check = std::time::Instant::now();
    let check_loaded = |pending: &HashMap<(String, i32), i64>, loaded: &mut bool| {
        if !*loaded && pending.is_empty() {
            *loaded = true;
            let _ = tx.send(ListMsg::Loaded);
        }
    };
    check_loaded(&pending, &mut loaded);
    while !shutdown.is_triggered() && !status.failed() {
        if tpl.count() == 0 {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        // A partition whose last offsets are no messages (a transaction's commit marker,
        // written by an exactly-once producer such as Kafka Connect) is read to its end
        // once the consumer's position has passed them: checked every second, busy or
        // not, until every partition is.
        if !pending.is_empty() && last_position_check.elapsed() >= Duration::from_secs(1) {
            read_to_end(&consumer, &mut pending);
            check_loaded(&pending, &mut loaded);
            last_position_check = std::time::Instant::now();
        }
        let Some(result) = consumer.poll(Duration::from_millis(200)) else { continue };
        let m = match result {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "watch-list consumer error");
                continue;
            }
        };
        let Some(&table) = tables.get(m.topic()) else { continue };
        let written = m.timestamp().to_millis().map(Timestamp);
        match decode(table, m.key(), m.payload(), written) {
            Ok(change) => {
                if key_mismatch(&change) {
                    metrics.watchlist_changes.with_label_values(&[table.as_str(), "key_mismatch"]).inc();
                    tracing::warn!(topic = m.topic(), partition = m.partition(), offset = m.offset(), "a watch-list message's key is not its row's key (spec: key = the row's key): the row is kept under the message's key, as the compacted topic keeps it; alerts name the row's own key");
                }
                let kind = if matches!(change, ListChange::Delete { .. }) { "delete" } else { "upsert" };
                metrics.watchlist_changes.with_label_values(&[table.as_str(), kind]).inc();
                if tx.send(ListMsg::Change(change)).is_err() {
                    break;
                }
            }
            Err(why) => {
                metrics.watchlist_changes.with_label_values(&[table.as_str(), "invalid"]).inc();
                // Column names only: the values may be a person's details. A fault of
                // the message as a whole (bad JSON, not an object, a delete without a
                // key) names no value and is said.
                let whole: Vec<&str> =
                    why.0.iter().filter(|e| e.column.is_none()).map(|e| e.message.as_str()).collect();
                tracing::warn!(topic = m.topic(), partition = m.partition(), offset = m.offset(), columns = ?why.columns(), problems = ?whole, "watch-list row rejected");
                tracing::debug!(detail = %why, "watch-list row rejected");
            }
        }
        let key = (m.topic().to_string(), m.partition());
        if pending.get(&key).is_some_and(|high| m.offset() + 1 >= *high) {
            pending.remove(&key);
        }
        check_loaded(&pending, &mut loaded);
    }
    Ok(())
}

/// A watch-list row as a Kafka message, with the time it becomes known.
pub struct RowMessage {
    pub topic: String,
    pub key: CompactString,
    pub value: String,
    /// When the row becomes known (its `recorded_at`, else the arrest, opening, entry
    /// added or operation start), if the table says. Sent as the message's timestamp,
    /// which the engine takes as the row's record time: rows published from files are
    /// known from when they took effect, as when the engine loads the files itself.
    pub at: Option<Timestamp>,
}

/// Every row of the watch lists in `dir` (`<table>.csv` or `<table>.jsonl`) as a
/// message for its topic, ordered by the time it becomes known (rows without a time
/// first).
pub fn messages_from_dir(dir: &Path, prefix: &str) -> Result<Vec<RowMessage>, LiveError> {
    let bad = |path: &Path, e: &dyn std::fmt::Display| {
        LiveError::Watchlists(WatchlistErrors(vec![WatchlistError::file(path, 0, e.to_string())]))
    };
    type Object = serde_json::Map<String, serde_json::Value>;
    let mut out = Vec::new();
    for table in TableName::ALL {
        let csv_path = dir.join(format!("{}.csv", table.as_str()));
        let jsonl_path = dir.join(format!("{}.jsonl", table.as_str()));
        let objects: Vec<Object> = if csv_path.exists() {
            let text = crate::watchlist::load::file_text(&csv_path).map_err(|e| bad(&csv_path, &e))?;
            let mut reader = csv::Reader::from_reader(text.as_bytes());
            let header: Vec<String> =
                reader.headers().map_err(|e| bad(&csv_path, &e))?.iter().map(String::from).collect();
            let mut rows = Vec::new();
            for record in reader.records() {
                let record = record.map_err(|e| bad(&csv_path, &e))?;
                rows.push(
                    header
                        .iter()
                        .zip(record.iter())
                        .filter(|(_, v)| !v.is_empty())
                        .map(|(h, v)| (h.clone(), serde_json::Value::String(v.to_string())))
                        .collect(),
                );
            }
            rows
        } else if jsonl_path.exists() {
            let text = crate::watchlist::load::file_text(&jsonl_path).map_err(|e| bad(&jsonl_path, &e))?;
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str::<Object>(l).map_err(|e| bad(&jsonl_path, &e)))
                .collect::<Result<_, _>>()?
        } else {
            continue;
        };
        for obj in objects {
            let row = read_row(table, &JsonCells(&obj)).map_err(|e| LiveError::Watchlists(WatchlistErrors(e)))?;
            let time_column = match table {
                TableName::Custody => Some("arrested_at"),
                TableName::Incidents => Some("opened_at"),
                TableName::HighProfile => Some("added_at"),
                TableName::Operations => Some("starts_at"),
                _ => None,
            };
            let time_of = |c: &str| obj.get(c).and_then(|v| v.as_str()).and_then(|t| Timestamp::parse_rfc3339(t).ok());
            let at = row.recorded_at().or_else(|| time_column.and_then(time_of));
            out.push(RowMessage {
                topic: format!("{prefix}{}", table.as_str()),
                key: row.key(),
                value: serde_json::Value::Object(obj).to_string(),
                at,
            });
        }
    }
    out.sort_by_key(|m| m.at);
    Ok(out)
}

/// Publishes every row of a watch-list directory to its topic; returns how many.
pub fn publish_dir(k: &KafkaConfig, dir: &Path) -> Result<usize, LiveError> {
    use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
    let producer: ThreadedProducer<DefaultProducerContext> =
        super::kafka::client_config(k)?.create().map_err(|e| LiveError::kafka("creating a producer", e))?;
    let messages = messages_from_dir(dir, &k.watchlist_topic_prefix)?;
    for m in &messages {
        let mut record = BaseRecord::<[u8], [u8]>::to(&m.topic).key(m.key.as_bytes()).payload(m.value.as_bytes());
        if let Some(at) = m.at {
            record = record.timestamp(at.0);
        }
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((
                    rdkafka::error::KafkaError::MessageProduction(rdkafka::types::RDKafkaErrorCode::QueueFull),
                    r,
                )) => {
                    record = r;
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err((e, _)) => return Err(LiveError::kafka(format!("publishing to {}", m.topic), e)),
            }
        }
    }
    producer.flush(Duration::from_secs(30)).map_err(|e| LiveError::kafka("flushing the producer", e))?;
    Ok(messages.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn high_profile(entry_id: &str) -> Vec<u8> {
        serde_json::json!({
            "entry_id": entry_id, "added_at": "2026-11-07T12:00:00Z", "subject_name": "KNIGHT, Andrew",
            "subject_dob": "2008-12-27", "category": "celebrity",
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn a_message_keyed_otherwise_than_its_row_is_a_mismatch_only_where_the_key_is_a_column() {
        let table = TableName::HighProfile;
        let upsert = |key: &[u8], entry: &str| decode(table, Some(key), Some(&high_profile(entry)), None).unwrap();
        assert!(key_mismatch(&upsert(b"WRONG-KEY", "HP-0100")));
        assert!(!key_mismatch(&upsert(b"HP-0100", "HP-0100")));
        assert!(!key_mismatch(&decode(table, Some(b"WRONG-KEY"), None, None).unwrap()), "a delete has no row");
        let incident = br#"{"reference": "inc-1", "opened_at": "2026-11-01T00:00:00Z"}"#;
        let incident = decode(TableName::Incidents, Some(b"inc-1"), Some(incident), None).unwrap();
        assert!(!key_mismatch(&incident), "a reference is compared as references are");
        // "user_id + subject": the spec leaves the form of the key to the producer.
        let associate = serde_json::json!({"user_id": "U1", "subject_name": "SMITH, Jo", "relationship": "friend"});
        let associate =
            decode(TableName::Associates, Some(b"U1/jo-smith"), Some(associate.to_string().as_bytes()), None).unwrap();
        assert!(!key_mismatch(&associate));
    }

    /// A directory the engine loads is the one it publishes: a staff list saved as
    /// UTF-16, an incidents file with a UTF-8 byte-order mark, ids in lower case.
    #[test]
    fn files_are_published_as_they_are_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let staff = "user_id,surname,forenames,status\nu1,Peel,Robert,suspended\n";
        let le: Vec<u8> = [0xFF, 0xFE].into_iter().chain(staff.encode_utf16().flat_map(u16::to_le_bytes)).collect();
        std::fs::write(dir.path().join("staff.csv"), le).unwrap();
        let incidents = "\u{feff}reference,opened_at,officers\nINC-1,2026-11-01T00:00:00Z,u1\n";
        std::fs::write(dir.path().join("incidents.csv"), incidents).unwrap();
        let messages = messages_from_dir(dir.path(), "wl.").unwrap();
        let staff = messages.iter().find(|m| m.topic == "wl.staff").expect("the staff row");
        assert_eq!(staff.key, "U1");
        assert!(staff.value.contains("\"status\":\"suspended\""), "{}", staff.value);
        let incident = messages.iter().find(|m| m.topic == "wl.incidents").expect("the incident");
        assert_eq!(incident.key, "INC-1");
    }
}
