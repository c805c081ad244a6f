//! The running service's sections: `[kafka]`, `[http]`, `[live]` and `[logging]`.
//! Read once at start-up; a hot reload that changes them says a restart is needed.

use super::reader::Section;
use crate::time::Span;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where the live engine reads and writes (`[kafka]`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KafkaConfig {
    pub bootstrap_servers: String,
    pub group_id: String,
    pub events_topic: String,
    pub alerts_topic: String,
    pub dead_letter_topic: String,
    /// Watch-list topics are this prefix and the table name: `watchlist.custody`.
    pub watchlist_topic_prefix: String,
    /// A source mapping for event messages not in the canonical JSON.
    pub source: Option<String>,
    /// How often processed offsets are stored for commit.
    pub commit_interval: Span,
    /// The internal topic that carries accesses from the user stage to the cross-user
    /// detectors, keyed by subject or unit; `None`: the cross-user detectors run in
    /// each instance on its own partitions' users only.
    pub subjects_topic: Option<String>,
    /// The internal topic the behavioural state is snapshotted to, stream by stream, so
    /// that it moves with a partition to another instance; `None`: snapshots only in
    /// `state.dir`, which a partition that moves leaves behind.
    pub state_topic: Option<String>,
    /// Repartition records wait this long (or until `repartition_buffer` wait) to be
    /// processed in event-time order.
    pub repartition_delay: Span,
    pub repartition_buffer: usize,
    /// How far back in event time the cross-user stage recognises a repartition
    /// record it has already taken (sent again after a partition moved).
    pub repartition_horizon: Span,
    /// A partition with messages waiting and no progress for this long is stalled
    /// (owned by no live member): counted, and the instance rejoins the group.
    pub stall_after: Span,
    /// librdkafka properties passed through as they are (TLS, SASL, tuning). A value
    /// `env:NAME` is read from the environment variable NAME, so secrets can stay out
    /// of the file.
    pub properties: BTreeMap<String, String>,
}

impl KafkaConfig {
    pub(super) fn read(&mut self, s: &Section) {
        s.string("bootstrap_servers", &mut self.bootstrap_servers);
        s.string("group_id", &mut self.group_id);
        s.string("events_topic", &mut self.events_topic);
        s.string("alerts_topic", &mut self.alerts_topic);
        s.string("dead_letter_topic", &mut self.dead_letter_topic);
        s.string("watchlist_topic_prefix", &mut self.watchlist_topic_prefix);
        s.opt_string("source", &mut self.source);
        s.span("commit_interval", &mut self.commit_interval);
        s.opt_string("subjects_topic", &mut self.subjects_topic);
        s.opt_string("state_topic", &mut self.state_topic);
        s.span("repartition_delay", &mut self.repartition_delay);
        s.usize("repartition_buffer", 1..=10_000_000, &mut self.repartition_buffer);
        s.span("repartition_horizon", &mut self.repartition_horizon);
        s.span("stall_after", &mut self.stall_after);
        self.check_topics(s);
        if let Some(p) = s.table("properties") {
            for key in p.keys() {
                let mut v = String::new();
                p.string(&key, &mut v);
                self.properties.insert(key.clone(), v);
            }
        }
    }

    /// Kafka refuses a topic name that is empty, longer than 249 characters or holds
    /// other than ASCII letters, digits, `.`, `_` and `-`; the service would start and
    /// then fail on its first produce or subscribe. Two roles on one topic would read
    /// the engine's own alerts back as events, or mix dead letters into the alerts.
    fn check_topics(&self, s: &Section) {
        let mut roles: Vec<(&str, &str)> = vec![
            ("events_topic", &self.events_topic),
            ("alerts_topic", &self.alerts_topic),
            ("dead_letter_topic", &self.dead_letter_topic),
        ];
        roles.extend(self.subjects_topic.as_deref().map(|t| ("subjects_topic", t)));
        roles.extend(self.state_topic.as_deref().map(|t| ("state_topic", t)));
        for (key, topic) in &roles {
            if let Some(fault) = topic_name_fault(topic, false) {
                s.error(key, fault);
            }
        }
        if let Some(fault) = topic_name_fault(&self.watchlist_topic_prefix, true) {
            s.error("watchlist_topic_prefix", fault);
        }
        for (i, (key, topic)) in roles.iter().enumerate() {
            if let Some((other, _)) = roles[..i].iter().find(|(_, t)| t == topic) {
                s.error(key, format!("{topic:?} is also `{other}`: each role needs its own topic"));
            }
        }
    }
}

/// What Kafka would refuse in a topic name (or, for a prefix, in what it starts).
fn topic_name_fault(name: &str, prefix: bool) -> Option<String> {
    if name.is_empty() && !prefix {
        return Some("a topic name cannot be empty".into());
    }
    if name.len() > 249 {
        return Some(format!("a topic name is at most 249 characters ({} here)", name.len()));
    }
    if name == "." || name == ".." {
        return Some(format!("{name:?} is not a topic name Kafka accepts"));
    }
    let bad = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))?;
    Some(format!("{name:?}: a topic name holds only ASCII letters, digits, '.', '_' and '-', not {bad:?}"))
}

/// The HTTP server (`[http]`): metrics, health, and the dashboard.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HttpConfig {
    pub listen: String,
}

impl HttpConfig {
    pub(super) fn read(&mut self, s: &Section) {
        s.string("listen", &mut self.listen);
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            s.error("listen", format!("expected an address like 127.0.0.1:9464, got {:?}", self.listen));
        }
    }
}

/// The live engine's own settings (`[live]`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveConfig {
    /// Watch-list files loaded at start-up, before the topics.
    pub watchlists_dir: Option<PathBuf>,
    /// Also write final alerts to this JSON Lines file.
    pub alerts_file: Option<PathBuf>,
    /// Recent person accesses kept for retrospective scans when a high-profile entry
    /// is added live (about 0.5 KB each).
    pub history_events: usize,
    /// Events handed from the consumer to the engine at once, at most.
    pub batch_size: usize,
    /// Batches that may wait between consumer and engine before the consumer waits.
    pub queue_batches: usize,
    /// How often an open alert's updates are published, at most (zero: every one).
    pub alert_updates: Span,
}

impl LiveConfig {
    pub(super) fn read(&mut self, s: &Section) {
        s.opt_path("watchlists_dir", &mut self.watchlists_dir);
        s.opt_path("alerts_file", &mut self.alerts_file);
        s.usize("history_events", 0..=100_000_000, &mut self.history_events);
        s.usize("batch_size", 1..=1_000_000, &mut self.batch_size);
        s.usize("queue_batches", 1..=100_000, &mut self.queue_batches);
        s.span("alert_updates", &mut self.alert_updates);
        // Commits wait for the updates they hold: longer than a minute would look like
        // a stalled partition to the watchdog.
        if s.has("alert_updates") && !(0..=60_000).contains(&self.alert_updates.0) {
            s.error("alert_updates", "must be from 0s to 60s");
        }
    }
}

/// Logs (`[logging]`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoggingConfig {
    /// `text` or `json`.
    pub json: bool,
    /// A tracing filter such as `info` or `accesswatch=debug`.
    pub level: String,
}

impl LoggingConfig {
    pub(super) fn read(&mut self, s: &Section) {
        let mut format = if self.json { "json" } else { "text" }.to_string();
        s.string("format", &mut format);
        match format.as_str() {
            "json" => self.json = true,
            "text" => self.json = false,
            other => s.error("format", format!("expected \"text\" or \"json\", got {other:?}")),
        }
        let mut level = self.level.clone();
        s.string("level", &mut level);
        match log_filter_fault(&level) {
            None => self.level = level,
            Some(fault) => s.error("level", fault),
        }
    }
}

/// What is wrong with a logging filter, if anything: each of its comma-separated
/// directives is a level (`trace`, `debug`, `info`, `warn`, `error`, `off`) or
/// `target=level`. A probe's `level = "warning"` is a valid filter for a target named
/// `warning`: the services then logged nothing at all, the audit anchor included.
fn log_filter_fault(filter: &str) -> Option<String> {
    const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];
    for directive in filter.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let level = directive.rsplit_once('=').map_or(directive, |(_, l)| l).trim();
        // A target alone (`accesswatch`, `accesswatch::live[{user}]`) is every level of it.
        let target_alone = !directive.contains('=') && (directive.contains(['[', ':']) || directive == "accesswatch");
        let numbered = matches!(level, "0" | "1" | "2" | "3" | "4" | "5");
        if !target_alone && !numbered && !LEVELS.iter().any(|l| l.eq_ignore_ascii_case(level)) {
            return Some(format!(
                "{directive:?}: expected a level ({}) or target=level, as in \"info\" or \"info,accesswatch=debug\"",
                LEVELS.join(", ")
            ));
        }
    }
    tracing_subscriber::EnvFilter::try_new(filter).err().map(|e| format!("{filter:?}: {e}"))
}
