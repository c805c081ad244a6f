//! Feeding a generated force onto Kafka: what `accesswatch feed` (the Compose stack's
//! generator job) and the demo use.
//!
//! Watch-list rows known before the first event go first (staff, associates,
//! operations, anything dated earlier); incidents, arrests and high-profile entries
//! follow when their time comes in the stream, so the celebrity's entry arrives live
//! and finds the look-ups made before it. Events are keyed by `user_id` and paced to
//! the requested rate.

use super::error::LiveError;
use super::lists::RowMessage;
use super::shutdown::Shutdown;
use crate::event::json;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What to feed and how fast.
pub struct Feed<'a> {
    /// The generated force: `events.jsonl` and `watchlists/`.
    pub force: &'a Path,
    pub events_topic: &'a str,
    pub watchlist_prefix: &'a str,
    /// Events per second; 0 for as fast as the broker takes them.
    pub rate: u32,
    /// Every this many events, one malformed message (for the dead-letter topic).
    pub malformed_every: Option<u64>,
}

/// Feeds the force once; returns the events sent. Counts into `fed` as it goes and
/// stops early when `shutdown` is triggered.
pub fn feed(client: ClientConfig, f: &Feed, fed: &AtomicU64, shutdown: &Shutdown) -> Result<u64, LiveError> {
    let mut client = client;
    let producer: ThreadedProducer<DefaultProducerContext> =
        client.set("linger.ms", "5").create().map_err(|e| LiveError::kafka("creating the producer", e))?;
    let send = |topic: &str, key: &[u8], value: &[u8], at: Option<crate::time::Timestamp>| {
        let mut record = BaseRecord::<[u8], [u8]>::to(topic).key(key).payload(value);
        if let Some(at) = at {
            record = record.timestamp(at.0);
        }
        while let Err((_, r)) = producer.send(record) {
            record = r;
            std::thread::sleep(Duration::from_millis(2));
        }
    };
    // A row is recorded when it took effect in the generated world (the message's
    // timestamp), not when this process happens to send it.
    let send_row = |r: &RowMessage| send(&r.topic, r.key.as_bytes(), r.value.as_bytes(), r.at);

    let rows = super::lists::messages_from_dir(&f.force.join("watchlists"), f.watchlist_prefix)?;
    let events_path = f.force.join("events.jsonl");
    let events_text = std::fs::read_to_string(&events_path)
        .map_err(|e| LiveError::disk(format!("reading {}", events_path.display()), e))?;
    let mut rows = rows.into_iter().peekable();
    let first = events_text.lines().next().and_then(|l| json::decode(l.as_bytes()).ok()).map(|e| e.ts);
    while let Some(r) = rows.next_if(|r| r.at.is_none() || r.at <= first) {
        send_row(&r);
    }
    let started = Instant::now();
    let mut sent = 0u64;
    for line in events_text.lines() {
        if shutdown.is_triggered() {
            break;
        }
        let Ok(event) = json::decode(line.as_bytes()) else { continue };
        while let Some(r) = rows.next_if(|r| r.at.is_some_and(|at| at <= event.ts)) {
            send_row(&r);
        }
        send(f.events_topic, event.user_id.as_bytes(), line.as_bytes(), None);
        sent += 1;
        if f.malformed_every.is_some_and(|every| sent % every == every / 2) {
            send(f.events_topic, b"U00000", b"{\"event_id\": \"broken\", \"ts\": ", None);
        }
        fed.fetch_add(1, Ordering::Relaxed);
        if f.rate > 0 {
            let due = Duration::from_secs_f64(sent as f64 / f.rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
    }
    for r in rows {
        send_row(&r);
    }
    producer.flush(Duration::from_secs(30)).map_err(|e| LiveError::kafka("flushing the producer", e))?;
    Ok(sent)
}
