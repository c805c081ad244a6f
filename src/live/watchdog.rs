//! Stalled partitions: messages waiting on a partition that no live member consumes.
//!
//! A group coordinator should hand a dead member's partitions to the survivors once its
//! session times out. Tansu 0.6 does not always (tests/it/scale.rs: three engines, one
//! killed; on librdkafka's mock cluster the survivors take over, on Tansu one
//! partition stays with the dead member). Every instance therefore watches the whole
//! topic: a partition whose committed offset has not moved for `kafka.stall_after`
//! while messages wait on it is stalled. The count is `accesswatch_partitions_stalled`
//! (the shipped Prometheus rules alert on it), and an instance that sees a stalled
//! partition it does not own leaves and rejoins the group, which makes the coordinator
//! form a new generation from the members alive.

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How often the group's progress is read.
const EVERY: Duration = Duration::from_secs(5);

/// The progress seen per (topic, partition), and when it last moved.
pub struct Watchdog {
    /// Each topic watched, and how long its partitions may go without progress.
    topics: Vec<(String, Duration)>,
    seen: HashMap<(String, i32), (i64, Instant)>,
    last_check: Instant,
    last_rejoin: Option<Instant>,
}

/// What a check found.
pub struct Verdict {
    /// Partitions stalled (messages waiting, no progress for `stall_after`).
    pub stalled: Vec<(String, i32)>,
    /// Whether this instance should rejoin the group (a stalled partition is not its).
    pub rejoin: bool,
}

impl Watchdog {
    pub fn new(topics: Vec<(String, Duration)>) -> Watchdog {
        Watchdog { topics, seen: HashMap::new(), last_check: Instant::now(), last_rejoin: None }
    }

    /// Starts every partition's period again (after a rebalance).
    pub fn restart(&mut self) {
        let now = Instant::now();
        for v in self.seen.values_mut() {
            v.1 = now;
        }
    }

    /// Reads the group's committed offsets and the ends of every partition, when due.
    pub fn check<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>) -> Option<Verdict> {
        if self.last_check.elapsed() < EVERY {
            return None;
        }
        self.last_check = Instant::now();
        let timeout = Duration::from_secs(2);
        let mut all = TopicPartitionList::new();
        for (topic, _) in &self.topics {
            let md = consumer.fetch_metadata(Some(topic), timeout).ok()?;
            for p in md.topics().iter().filter(|t| t.name() == topic).flat_map(|t| t.partitions()) {
                all.add_partition(topic, p.id());
            }
        }
        let committed = consumer.committed_offsets(all.clone(), timeout).ok()?;
        let owned = consumer.assignment().ok();
        let now = Instant::now();
        let mut stalled = Vec::new();
        for e in all.elements() {
            let (topic, p) = (e.topic().to_string(), e.partition());
            let Ok((low, high)) = consumer.fetch_watermarks(&topic, p, timeout) else { continue };
            let at = match committed.find_partition(&topic, p).map(|c| c.offset()) {
                Some(Offset::Offset(o)) => o,
                _ => low,
            };
            let entry = self.seen.entry((topic.clone(), p)).or_insert((at, now));
            if entry.0 != at {
                *entry = (at, now);
            }
            let limit = self.topics.iter().find(|(t, _)| *t == topic).map_or(Duration::MAX, |(_, d)| *d);
            if high > at && now.duration_since(entry.1) >= limit {
                stalled.push((topic, p));
            }
        }
        let mine = |(t, p): &(String, i32)| owned.as_ref().is_some_and(|o| o.find_partition(t, *p).is_some());
        let shortest = self.topics.iter().map(|(_, d)| *d).min().unwrap_or(Duration::MAX);
        let quiet = self.last_rejoin.is_none_or(|t| t.elapsed() >= shortest);
        let rejoin = quiet && stalled.iter().any(|s| !mine(s));
        if rejoin {
            self.last_rejoin = Some(now);
            // Give the new generation its own full period before judging it.
            for v in self.seen.values_mut() {
                v.1 = now;
            }
        }
        Some(Verdict { stalled, rejoin })
    }
}
