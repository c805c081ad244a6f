//! The dashboard as a service of its own (`accesswatch dashboard --config FILE`): one
//! replica beside any number of engines, fed by the alert topic.
//!
//! It reads every partition of `kafka.alerts_topic` (latest message per `alert_id`:
//! an update replaces the row, triage is kept) and stores each alert together with the
//! position it was read at, in one SQLite transaction. The database, not the consumer
//! group, says where to resume, so an alert is never counted as read before it is
//! stored, and a database that is lost is rebuilt from the topic (its retention is a
//! year). A write that fails is retried, never skipped; the intake pauses meanwhile
//! and says so (`accesswatch_paused{cause="dashboard"}`). Offsets are also committed to
//! the group `<group_id>-dashboard`, for lag monitoring only.

use super::state::Dashboard;
use crate::alert::Alert;
use crate::config::Config;
use crate::live::{LiveError, Shutdown, Status};
use crate::metrics::Metrics;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often new partitions of the alert topic are looked for.
const REFRESH: Duration = Duration::from_secs(30);

/// Reads the alert topic into the dashboard until shutdown.
pub fn run(
    config: &Config,
    dashboard: Arc<Dashboard>,
    metrics: Arc<Metrics>,
    status: Arc<Status>,
    shutdown: Shutdown,
) -> Result<(), LiveError> {
    let k = &config.kafka;
    let topic = k.alerts_topic.as_str();
    let mut cfg = crate::live::kafka::client_config(k)?;
    cfg.set("group.id", format!("{}-dashboard", k.group_id))
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "50");
    let consumer: BaseConsumer = cfg.create().map_err(|e| LiveError::kafka("creating the dashboard consumer", e))?;
    let mut assigned: HashMap<i32, i64> = HashMap::new();
    let mut last_refresh: Option<Instant> = None;
    let mut last_commit = Instant::now();
    while !shutdown.is_triggered() && !status.failed() {
        if last_refresh.is_none_or(|t| t.elapsed() >= REFRESH) {
            last_refresh = Some(Instant::now());
            assign(&consumer, &dashboard, topic, &mut assigned, &status)?;
        }
        let Some(result) = consumer.poll(Duration::from_millis(200)) else { continue };
        let m = match result {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "dashboard consumer error");
                continue;
            }
        };
        let (partition, offset) = (m.partition(), m.offset());
        let alert: Option<Alert> = m.payload().and_then(|p| serde_json::from_slice(p).ok());
        // The write is retried until it is done: an alert is never skipped.
        let mut waited = false;
        loop {
            let stored = match &alert {
                Some(a) => dashboard.observe_from(a, Some((topic, partition, offset))),
                None => dashboard.store.intake_skip(topic, partition, offset).map_err(LiveError::from),
            };
            match stored {
                Ok(()) => break,
                Err(e) if !shutdown.is_triggered() => {
                    if !waited {
                        tracing::error!(error = %e, partition, offset, "dashboard: the alert could not be stored; retrying");
                        metrics.paused.with_label_values(&["dashboard"]).set(1);
                        waited = true;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
                Err(e) => return Err(e),
            }
        }
        if waited {
            tracing::info!("dashboard: storing alerts again");
            metrics.paused.with_label_values(&["dashboard"]).set(0);
        }
        if alert.is_none() {
            tracing::warn!(partition, offset, "dashboard: a message on the alert topic is not an alert; skipped");
        }
        assigned.insert(partition, offset + 1);
        if last_commit.elapsed() >= Duration::from_secs(1) {
            last_commit = Instant::now();
            let mut tpl = TopicPartitionList::new();
            for (&p, &next) in &assigned {
                let _ = tpl.add_partition_offset(topic, p, Offset::Offset(next));
            }
            let _ = consumer.commit(&tpl, CommitMode::Async);
        }
    }
    Ok(())
}

/// Assigns every partition of the topic not yet assigned, from where the database says
/// (the beginning, for a new database).
fn assign(
    consumer: &BaseConsumer,
    dashboard: &Dashboard,
    topic: &str,
    assigned: &mut HashMap<i32, i64>,
    status: &Status,
) -> Result<(), LiveError> {
    let md = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .map_err(|e| LiveError::kafka(format!("reading metadata of {topic}"), e))?;
    let Some(t) = md.topics().iter().find(|t| t.name() == topic && t.error().is_none()) else {
        return Err(LiveError::Config(format!("topic {topic} does not exist")));
    };
    let partitions: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
    if partitions.iter().all(|p| assigned.contains_key(p)) {
        return Ok(());
    }
    let resume = dashboard.store.intake_offsets(topic)?;
    let mut tpl = TopicPartitionList::new();
    for p in &partitions {
        let next = assigned.get(p).copied().or_else(|| resume.get(p).copied());
        let at = next.map_or(Offset::Beginning, Offset::Offset);
        tpl.add_partition_offset(topic, *p, at).map_err(|e| LiveError::kafka("assigning", e))?;
        assigned.entry(*p).or_insert(next.unwrap_or(0));
    }
    consumer.assign(&tpl).map_err(|e| LiveError::kafka(format!("assigning {topic}"), e))?;
    status.set_assigned(partitions.len() as i64);
    let rebuilding = resume.is_empty();
    tracing::info!(partitions = partitions.len(), rebuilding, "dashboard: reading the alert topic");
    Ok(())
}
