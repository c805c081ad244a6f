//! Restoring a partition's open alerts from the alert topic.
//!
//! Alerts of events from partition p are published to partition p of the alert topic
//! (when both topics have the same number of partitions). So the open alerts of a
//! partition this instance is given (at start-up, after a crash, or from another
//! instance in a rebalance) are the latest versions of the alerts on that partition
//! within the longest suppression window.

use crate::alert::Alert;
use crate::config::KafkaConfig;
use crate::time::Timestamp;
use compact_str::CompactString;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The latest version of every alert on `partition` of the alert topic published since
/// `since`.
pub fn read_alerts(k: &KafkaConfig, partition: i32, since: Timestamp, timeout: Duration) -> Result<Vec<Alert>, String> {
    let mut cfg = super::kafka::client_config(k)?;
    cfg.set("group.id", format!("{}-restore", k.group_id)).set("enable.auto.commit", "false");
    let consumer: BaseConsumer = cfg.create().map_err(|e| format!("cannot create the restore consumer: {e}"))?;
    let topic = &k.alerts_topic;
    let (low, high) = consumer
        .fetch_watermarks(topic, partition, timeout)
        .map_err(|e| format!("cannot read the end of {topic}/{partition}: {e}"))?;
    if high <= low {
        return Ok(Vec::new());
    }
    let mut at = TopicPartitionList::new();
    let _ = at.add_partition_offset(topic, partition, Offset::Offset(since.0));
    let start = consumer
        .offsets_for_times(at, timeout)
        .ok()
        .and_then(|tpl| tpl.elements().first().map(|e| e.offset()))
        .and_then(|o| o.to_raw())
        .filter(|o| *o >= 0)
        .unwrap_or(low);
    if start >= high {
        return Ok(Vec::new());
    }
    let mut tpl = TopicPartitionList::new();
    let _ = tpl.add_partition_offset(topic, partition, Offset::Offset(start));
    consumer.assign(&tpl).map_err(|e| format!("cannot assign {topic}/{partition}: {e}"))?;
    let mut latest: BTreeMap<CompactString, Alert> = BTreeMap::new();
    let deadline = Instant::now() + timeout;
    let mut position = start;
    while position < high {
        if Instant::now() > deadline {
            return Err(format!("timed out reading {topic}/{partition} at offset {position} of {high}"));
        }
        match consumer.poll(Duration::from_millis(200)) {
            None => continue,
            Some(Err(e)) => return Err(format!("reading {topic}/{partition}: {e}")),
            Some(Ok(m)) => {
                position = m.offset() + 1;
                if let Some(Ok(alert)) = m.payload().map(serde_json::from_slice::<Alert>) {
                    latest.insert(alert.alert_id.clone(), alert);
                }
            }
        }
    }
    Ok(latest.into_values().collect())
}
