//! Restoring the open alerts of newly assigned partitions from the alert topic.
//!
//! Alerts of events from partition p are published to partition p of the alert topic
//! (when both topics have the same number of partitions). So the open alerts of the
//! partitions this instance is given (at start-up, after a crash, or from another
//! instance in a rebalance) are the latest versions of the alerts on those partitions
//! within the longest suppression window. All of them are read with one consumer.

use super::error::LiveError;
use crate::alert::Alert;
use crate::config::KafkaConfig;
use crate::time::Timestamp;
use compact_str::CompactString;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// The latest version of every alert published since `since` on each of `partitions`
/// of the alert topic.
pub fn read_alerts(
    k: &KafkaConfig,
    partitions: &[i32],
    since: Timestamp,
    timeout: Duration,
) -> Result<HashMap<i32, Vec<Alert>>, LiveError> {
    let mut out: HashMap<i32, Vec<Alert>> = HashMap::new();
    if partitions.is_empty() {
        return Ok(out);
    }
    let mut cfg = super::kafka::client_config(k)?;
    cfg.set("group.id", format!("{}-restore", k.group_id)).set("enable.auto.commit", "false");
    let consumer: BaseConsumer = cfg.create().map_err(|e| LiveError::kafka("creating the restore consumer", e))?;
    let topic = &k.alerts_topic;

    // Where every partition ends now (timestamp -1: the latest offset), and where its
    // window starts: one request each for all partitions.
    let lookup = |at: Offset| -> Result<HashMap<i32, i64>, LiveError> {
        let mut tpl = TopicPartitionList::new();
        for &p in partitions {
            let _ = tpl.add_partition_offset(topic, p, at);
        }
        let answer = consumer
            .offsets_for_times(tpl, timeout)
            .map_err(|e| LiveError::kafka(format!("listing offsets of {topic}"), e))?;
        Ok(answer.elements().iter().filter_map(|e| Some((e.partition(), e.offset().to_raw()?))).collect())
    };
    let mut ends: HashMap<i32, i64> = lookup(Offset::End)?.into_iter().filter(|(_, high)| *high > 0).collect();
    if ends.is_empty() {
        return Ok(out);
    }
    let found = lookup(Offset::Offset(since.0))?;
    let mut starts = TopicPartitionList::new();
    for (&p, &high) in &ends {
        let mut start = found.get(&p).copied().unwrap_or(-1);
        // -1 says no message is that recent. A broker without a time index (the
        // in-process mock cluster) says so whatever the times are: when the last
        // message is in the window, its start is found by reading.
        if start < 0 && time_at(&consumer, topic, p, high - 1, timeout)?.is_some_and(|t| t >= since.0) {
            start = first_at_or_after(&consumer, topic, p, high, since.0, timeout)?;
        }
        let _ = starts.add_partition_offset(topic, p, Offset::Offset(start));
    }
    let mut assign = TopicPartitionList::new();
    for e in starts.elements() {
        let high = ends[&e.partition()];
        // -1: no message at or after the time, so nothing in the window.
        match e.offset().to_raw().filter(|o| *o >= 0 && *o < high) {
            Some(start) => {
                let _ = assign.add_partition_offset(topic, e.partition(), Offset::Offset(start));
            }
            // Nothing in the window.
            None => {
                ends.remove(&e.partition());
            }
        }
    }
    if ends.is_empty() {
        return Ok(out);
    }
    consumer.assign(&assign).map_err(|e| LiveError::kafka(format!("assigning {topic}"), e))?;
    let mut latest: HashMap<i32, BTreeMap<CompactString, Alert>> = HashMap::new();
    let deadline = Instant::now() + timeout;
    while !ends.is_empty() {
        if Instant::now() > deadline {
            let what = format!("reading {topic}: partitions {:?} not read to the end", ends.keys());
            return Err(LiveError::kafka(
                what,
                rdkafka::error::KafkaError::Global(rdkafka::types::RDKafkaErrorCode::OperationTimedOut),
            ));
        }
        match consumer.poll(Duration::from_millis(200)) {
            None => continue,
            Some(Err(e)) => return Err(LiveError::kafka(format!("reading {topic}"), e)),
            Some(Ok(m)) => {
                let p = m.partition();
                if let Some(Ok(alert)) = m.payload().map(serde_json::from_slice::<Alert>) {
                    latest.entry(p).or_default().insert(alert.alert_id.clone(), alert);
                }
                if ends.get(&p).is_some_and(|high| m.offset() + 1 >= *high) {
                    ends.remove(&p);
                }
            }
        }
    }
    for (p, alerts) in latest {
        out.insert(p, alerts.into_values().collect());
    }
    Ok(out)
}

/// The timestamp (ms) of the message at `offset`, or None when there is none (it
/// was deleted or compacted away).
fn time_at(
    consumer: &BaseConsumer,
    topic: &str,
    partition: i32,
    offset: i64,
    timeout: Duration,
) -> Result<Option<i64>, LiveError> {
    let mut tpl = TopicPartitionList::new();
    let _ = tpl.add_partition_offset(topic, partition, Offset::Offset(offset));
    consumer.assign(&tpl).map_err(|e| LiveError::kafka(format!("assigning {topic}"), e))?;
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            None => continue,
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => return Ok(None),
            Some(Err(e)) => return Err(LiveError::kafka(format!("reading {topic}"), e)),
            Some(Ok(m)) if m.partition() == partition && m.offset() >= offset => return Ok(m.timestamp().to_millis()),
            Some(Ok(_)) => continue,
        }
    }
    Err(LiveError::kafka(
        format!("reading {topic} [{partition}] at offset {offset}"),
        rdkafka::error::KafkaError::Global(rdkafka::types::RDKafkaErrorCode::OperationTimedOut),
    ))
}

/// The first offset below `high` whose message is dated at or after `since` (ms), by
/// bisection over the partition's offsets (timestamps of one producer rise with the
/// offsets): about twenty reads for a million messages.
fn first_at_or_after(
    consumer: &BaseConsumer,
    topic: &str,
    partition: i32,
    high: i64,
    since: i64,
    timeout: Duration,
) -> Result<i64, LiveError> {
    let (mut low, _) = consumer
        .fetch_watermarks(topic, partition, timeout)
        .map_err(|e| LiveError::kafka(format!("reading the watermarks of {topic} [{partition}]"), e))?;
    let mut high = high - 1; // the last message is in the window
    while low < high {
        let mid = low + (high - low) / 2;
        // A message gone (compacted) counts as old: the search moves on past it.
        match time_at(consumer, topic, partition, mid, timeout)? {
            Some(t) if t >= since => high = mid,
            _ => low = mid + 1,
        }
    }
    Ok(low)
}
