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

/// What a handover adds to a partition's first commit after a rebalance: its new
/// owner reads the partition's state and open alerts back before taking an event
/// (4-5 s in the scale tests on Tansu, up to a minute when the alert topic answers
/// slowly). Without it a healthy owner still restoring was called stalled, and the
/// rejoin that followed moved the partitions again: a rebalance a minute, each
/// starting the repartition records' wait afresh, so that a spike could wait for
/// minutes (a one-in-ten failure of `tests/it/scale.rs`).
pub const HANDOVER: Duration = Duration::from_secs(30);

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
    /// How many of the stalled partitions this instance holds.
    pub held: usize,
}

impl Verdict {
    /// The line `/healthz` shows while partitions are stalled: the count alone moved
    /// a metric, and an instance left with no partition after a broker outage looked
    /// healthy (a probe).
    pub fn warning(&self) -> Option<String> {
        if self.stalled.is_empty() {
            return None;
        }
        let names: Vec<String> = self.stalled.iter().take(8).map(|(t, p)| format!("{t}/{p}")).collect();
        let more = self.stalled.len().saturating_sub(names.len());
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        Some(format!(
            "{} partition(s) have messages waiting and no committed progress for kafka.stall_after: {}{more} \
             ({} of them held by this instance; the group is rejoined to have the rest reassigned)",
            self.stalled.len(),
            names.join(", "),
            self.held,
        ))
    }
}

impl Watchdog {
    pub fn new(topics: Vec<(String, Duration)>) -> Watchdog {
        Watchdog { topics, seen: HashMap::new(), last_check: Instant::now(), last_rejoin: None }
    }

    /// Starts every partition's period again after a rebalance, from when its new
    /// owner can have restored it ([`HANDOVER`]).
    pub fn restart(&mut self) {
        self.restart_at(Instant::now());
    }

    fn restart_at(&mut self, now: Instant) {
        for v in self.seen.values_mut() {
            v.1 = now + HANDOVER;
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
        let mut progress = Vec::new();
        for e in all.elements() {
            let (topic, p) = (e.topic().to_string(), e.partition());
            let Ok((low, high)) = consumer.fetch_watermarks(&topic, p, timeout) else { continue };
            let at = match committed.find_partition(&topic, p).map(|c| c.offset()) {
                Some(Offset::Offset(o)) => o,
                _ => low,
            };
            progress.push(Progress { topic, partition: p, committed: at, end: high });
        }
        let mine = |(t, p): &(String, i32)| owned.as_ref().is_some_and(|o| o.find_partition(t, *p).is_some());
        Some(self.judge(Instant::now(), progress, mine))
    }

    /// The verdict on what the group has committed, read at `now`.
    fn judge(&mut self, now: Instant, progress: Vec<Progress>, mine: impl Fn(&(String, i32)) -> bool) -> Verdict {
        let mut stalled = Vec::new();
        for Progress { topic, partition, committed, end } in progress {
            let entry = self.seen.entry((topic.clone(), partition)).or_insert((committed, now));
            if entry.0 != committed {
                *entry = (committed, now);
            }
            let limit = self.topics.iter().find(|(t, _)| *t == topic).map_or(Duration::MAX, |(_, d)| *d);
            if end > committed && now.saturating_duration_since(entry.1) >= limit {
                stalled.push((topic, partition));
            }
        }
        let shortest = self.topics.iter().map(|(_, d)| *d).min().unwrap_or(Duration::MAX);
        let quiet = self.last_rejoin.is_none_or(|t| now.saturating_duration_since(t) >= shortest);
        let held = stalled.iter().filter(|s| mine(s)).count();
        let rejoin = quiet && held < stalled.len();
        if rejoin {
            self.last_rejoin = Some(now);
            // Give the new generation its own full period before judging it.
            self.restart_at(now);
        }
        Verdict { stalled, rejoin, held }
    }
}

/// One partition's committed offset and end, as a check reads them.
struct Progress {
    topic: String,
    partition: i32,
    committed: i64,
    end: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(committed: i64, end: i64) -> Vec<Progress> {
        vec![Progress { topic: "access-subjects".into(), partition: 0, committed, end }]
    }

    /// A partition moved in a rebalance is read back by its new owner before it
    /// commits anything: it is not called stalled (and the group not made to rejoin,
    /// which would move it again) until a full period after the handover.
    #[test]
    fn a_partition_is_given_its_handover_before_it_is_called_stalled() {
        let limit = Duration::from_secs(50);
        let mut w = Watchdog::new(vec![("access-subjects".into(), limit)]);
        let t0 = Instant::now();
        let theirs = |_: &(String, i32)| false;
        assert!(!w.judge(t0, at(10, 20), theirs).rejoin);
        let stuck = w.judge(t0 + limit, at(10, 20), theirs);
        assert_eq!(stuck.stalled, [("access-subjects".to_string(), 0)]);
        assert!(stuck.rejoin, "no progress for the whole period: the group rejoins");
        let warning = stuck.warning().expect("a stalled partition is a warning on /healthz");
        assert!(warning.contains("access-subjects/0") && warning.contains("0 of them held"), "{warning}");
        // The rebalance that follows: the new owner restores, then its records wait.
        let moved = t0 + limit + Duration::from_secs(1);
        w.restart_at(moved);
        let restoring = w.judge(moved + limit + HANDOVER - Duration::from_secs(1), at(10, 20), theirs);
        assert!(restoring.stalled.is_empty() && !restoring.rejoin, "still within the handover");
        let late = w.judge(moved + limit + HANDOVER, at(10, 20), theirs);
        assert!(late.stalled.len() == 1 && late.rejoin);
        // Progress, or nothing waiting, is never a stall.
        let t = moved + limit * 4;
        assert!(w.judge(t, at(15, 20), theirs).warning().is_none());
        assert!(w.judge(t + limit * 2, at(20, 20), theirs).stalled.is_empty());
    }
}
