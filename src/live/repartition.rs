//! The repartition stage: the cross-user detectors over every instance's users.
//!
//! ```text
//!  access-events ──► user stage ──► access-alerts
//!  (by user)            │  (per-user state, watch-list rules, explanations)
//!                       └─► access-subjects ──► cross-user stage ──► access-alerts
//!                           (by person, by unit)  (spikes, the peer comparison)
//! ```
//!
//! Both topics are consumed by the same consumer group, so every instance runs both
//! stages on the partitions it is given, as Kafka Streams does. A partition of the
//! repartition topic is a stream of its own in the engine, numbered from [`FIRST`];
//! its alerts go to the same partition number of the alert topic, from where the next
//! owner restores them (and the detectors' quiet periods) after a handover. The
//! records carry the access and what the user stage knew of it (`engine/cross.rs`).

use crate::alert::RuleId;
use crate::config::KafkaConfig;

/// Engine streams of the repartition topic's partitions start here; the event topic's
/// partitions are streams `0..`.
pub const FIRST: i32 = 1 << 20;

/// Whether a stream is a partition of the repartition topic.
pub fn is_cross(stream: i32) -> bool {
    stream >= FIRST
}

/// The engine stream of a message from `topic`'s `partition`.
pub fn stream(k: &KafkaConfig, topic: &str, partition: i32) -> i32 {
    if k.subjects_topic.as_deref() == Some(topic) {
        FIRST + partition
    } else {
        partition
    }
}

/// The topic and partition of an engine stream.
pub fn topic_partition(k: &KafkaConfig, stream: i32) -> (&str, i32) {
    match (&k.subjects_topic, is_cross(stream)) {
        (Some(t), true) => (t.as_str(), stream - FIRST),
        _ => (k.events_topic.as_str(), stream),
    }
}

/// The partition of the alert topic a stream's alerts go to.
pub fn alerts_partition(stream: i32) -> i32 {
    if is_cross(stream) {
        stream - FIRST
    } else {
        stream
    }
}

/// The rules the cross-user stage raises.
pub fn cross_rule(rule: RuleId) -> bool {
    matches!(rule, RuleId::BehaviourSubjectSpike | RuleId::PurposeMissing)
}

/// The topics the consumer group reads.
pub fn topics(k: &KafkaConfig) -> Vec<String> {
    std::iter::once(k.events_topic.clone()).chain(k.subjects_topic.clone()).collect()
}
