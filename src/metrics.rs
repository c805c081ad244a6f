//! Metrics: every Prometheus metric the engine exports, with stable names and
//! low-cardinality labels (never a user or a subject), and latency kept in HDR
//! histograms exported as summary quantiles.

use hdrhistogram::Histogram;
use prometheus::core::{Collector, Desc};
use prometheus::proto::{MetricFamily, MetricType, Quantile, Summary};
use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The quantiles exported for each latency.
pub const QUANTILES: [f64; 4] = [0.5, 0.9, 0.99, 0.999];

/// A latency distribution in microseconds, exported as a Prometheus summary in seconds.
pub struct Latency {
    name: String,
    help: String,
    desc: Desc,
    hist: Mutex<Histogram<u64>>,
}

impl Latency {
    fn new(name: &str, help: &str) -> Arc<Latency> {
        Arc::new(Latency {
            name: name.to_string(),
            help: help.to_string(),
            desc: Desc::new(name.to_string(), help.to_string(), Vec::new(), Default::default())
                .expect("valid metric description"),
            // 1 us to 1 hour, three significant figures.
            hist: Mutex::new(Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")),
        })
    }

    /// Records one observation in microseconds (clamped to the histogram's range).
    pub fn record_us(&self, us: u64) {
        if let Ok(mut h) = self.hist.lock() {
            h.saturating_record(us.max(1));
        }
    }

    /// The value at quantile `q`, in microseconds.
    pub fn quantile_us(&self, q: f64) -> u64 {
        self.hist.lock().map(|h| h.value_at_quantile(q)).unwrap_or(0)
    }

    pub fn count(&self) -> u64 {
        self.hist.lock().map(|h| h.len()).unwrap_or(0)
    }
}

impl Collector for Latency {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.desc]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let Ok(h) = self.hist.lock() else { return Vec::new() };
        let mut summary = Summary::default();
        summary.set_sample_count(h.len());
        summary.set_sample_sum(h.mean() * h.len() as f64 / 1e6);
        summary.set_quantile(
            QUANTILES
                .iter()
                .map(|&q| {
                    let mut quantile = Quantile::default();
                    quantile.set_quantile(q);
                    quantile.set_value(h.value_at_quantile(q) as f64 / 1e6);
                    quantile
                })
                .collect(),
        );
        let mut metric = prometheus::proto::Metric::default();
        metric.set_summary(summary);
        let mut family = MetricFamily::default();
        family.set_name(self.name.clone());
        family.set_help(self.help.clone());
        family.set_field_type(MetricType::SUMMARY);
        family.mut_metric().push(metric);
        vec![family]
    }
}

/// Every metric, registered once.
pub struct Metrics {
    pub registry: Registry,
    pub events: IntCounterVec,
    known_systems: Mutex<HashSet<String>>,
    pub dead_letters: IntCounterVec,
    pub alerts: IntCounterVec,
    pub alert_messages: IntCounter,
    /// The same three for the alerts on accesses that touched a live operation, which
    /// the others leave out: withheld from readers not cleared for operations.
    pub operation_alerts: IntCounterVec,
    pub operation_alert_messages: IntCounter,
    pub operation_open_alerts: IntGauge,
    pub consumer_lag: IntGaugeVec,
    pub assigned_partitions: IntGauge,
    pub partitions_stalled: IntGauge,
    pub repartition_waiting: IntGauge,
    pub group_rejoins: IntCounter,
    pub events_misrouted: IntCounter,
    pub watchlist_rows: IntGaugeVec,
    pub watchlist_changes: IntCounterVec,
    pub open_alerts: IntGauge,
    pub ready: IntGauge,
    pub late_events: IntCounter,
    pub off_staff_accesses: IntCounter,
    pub accesses: IntCounterVec,
    pub alerts_resolved: IntCounter,
    pub operation_alerts_resolved: IntCounter,
    pub clock_skew_events: IntCounterVec,
    pub event_copies: IntCounterVec,
    pub dead_letters_dropped: IntCounter,
    pub paused: IntGaugeVec,
    pub config_reloads: IntCounterVec,
    pub archived_events: IntCounter,
    pub archive_files: IntCounter,
    pub archive_buffered: IntGauge,
    pub archive_write_failures: IntCounter,
    pub retrospective_alerts: IntCounter,
    pub login_refusals: IntCounterVec,
    pub audit_rows: IntGauge,
    pub audit_anchor: IntGaugeVec,
    pub audit_broken: IntGauge,
    pub processing: Arc<Latency>,
    pub event_to_alert: Arc<Latency>,
}

/// At most this many distinct `system` label values; the rest count as `other`.
const MAX_SYSTEMS: usize = 32;

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let registry = Registry::new();
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry.register(Box::new(c.clone())).expect("metric registered once");
            c
        };
        let gauge_vec = |name: &str, help: &str, labels: &[&str]| {
            let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry.register(Box::new(g.clone())).expect("metric registered once");
            g
        };
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("valid metric");
            registry.register(Box::new(g.clone())).expect("metric registered once");
            g
        };
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("valid metric");
            registry.register(Box::new(c.clone())).expect("metric registered once");
            c
        };
        let processing = Latency::new(
            "accesswatch_processing_seconds",
            "Time the engine thread spends on one event (enrich, rules, alert book, handing it to the archive)",
        );
        let event_to_alert = Latency::new(
            "accesswatch_event_to_alert_seconds",
            "From the event's Kafka timestamp to the broker acknowledging its alert",
        );
        registry.register(Box::new(ArcCollector(processing.clone()))).expect("metric registered once");
        let paused = gauge_vec(
            "accesswatch_paused",
            "1 while the engine waits: for Kafka to take messages (cause kafka), for the archive to be writable (archive), or the consumer has paused fetching because the engine is behind (engine)",
            &["cause"],
        );
        // Exported from the start (at 0), so an alert rule on it has a series to watch.
        for cause in ["kafka", "archive", "engine"] {
            paused.with_label_values(&[cause]).set(0);
        }
        registry.register(Box::new(ArcCollector(event_to_alert.clone()))).expect("metric registered once");
        Arc::new(Metrics {
            events: counter_vec("accesswatch_events_total", "Access events accepted, by source system", &["system"]),
            known_systems: Mutex::new(HashSet::new()),
            events_misrouted: counter(
                "accesswatch_events_misrouted_total",
                "Events that came on another partition than their user's earlier ones (the topic not keyed by the upper-cased user_id): no per-user detector sees such a user's events together",
            ),
            dead_letters: counter_vec(
                "accesswatch_dead_letters_total",
                "Records that could not be read (parse failures), by cause",
                &["reason"],
            ),
            alerts: counter_vec(
                "accesswatch_alerts_total",
                "Alerts raised, by rule and severity, those on live operations left out",
                &["rule", "severity"],
            ),
            alert_messages: counter(
                "accesswatch_alert_messages_total",
                "Alert messages published (raised and updated), those on live operations left out",
            ),
            operation_alerts: counter_vec(
                "accesswatch_operation_alerts_total",
                "Alerts raised on accesses that touched a live operation, by rule and severity",
                &["rule", "severity"],
            ),
            operation_alert_messages: counter(
                "accesswatch_operation_alert_messages_total",
                "Alert messages published about accesses that touched a live operation",
            ),
            operation_open_alerts: gauge(
                "accesswatch_operation_open_alerts",
                "Alerts on accesses that touched a live operation inside their suppression window",
            ),
            consumer_lag: gauge_vec(
                "accesswatch_consumer_lag",
                "Messages behind the end of each assigned access-events partition",
                &["partition"],
            ),
            repartition_waiting: gauge(
                "accesswatch_repartition_waiting",
                "Repartition records waiting to be processed in event-time order (kafka.repartition_delay)",
            ),
            partitions_stalled: gauge(
                "accesswatch_partitions_stalled",
                "Partitions with messages waiting and no committed progress for kafka.stall_after: owned by no live member",
            ),
            group_rejoins: counter(
                "accesswatch_group_rejoins_total",
                "Times this instance left and rejoined the consumer group to have stalled partitions reassigned",
            ),
            assigned_partitions: gauge(
                "accesswatch_assigned_partitions",
                "Partitions assigned to this instance: the event topic's and the repartition topic's",
            ),
            watchlist_rows: gauge_vec("accesswatch_watchlist_rows", "Rows in each watch list", &["table"]),
            watchlist_changes: counter_vec(
                "accesswatch_watchlist_changes_total",
                "Watch-list rows applied from topics, by table and kind (upsert, delete, invalid; key_mismatch: a message keyed otherwise than its row)",
                &["table", "kind"],
            ),
            open_alerts: gauge(
                "accesswatch_open_alerts",
                "Alerts inside their suppression window, those on live operations left out",
            ),
            ready: gauge("accesswatch_ready", "1 once the watch lists are loaded and partitions assigned"),
            late_events: counter("accesswatch_late_events_total", "Events later than the allowed lateness"),
            off_staff_accesses: counter(
                "accesswatch_off_staff_accesses_total",
                "Accesses by accounts on no staff row, while the staff list has rows: most often a source logging accounts in another form than the staff list",
            ),
            accesses: counter_vec(
                "accesswatch_accesses_total",
                "Person, vehicle and address accesses by what explains them (reference, custody, case_team, operation, earlier, encounter, routine; none when unexplained)",
                &["explained"],
            ),
            alerts_resolved: counter(
                "accesswatch_alerts_resolved_total",
                "Alerts resolved by an explanation that arrived late (an incident recorded after the check it justifies), those on live operations left out",
            ),
            operation_alerts_resolved: counter(
                "accesswatch_operation_alerts_resolved_total",
                "Alerts on accesses that touched a live operation, resolved by an explanation that arrived late",
            ),
            clock_skew_events: counter_vec(
                "accesswatch_clock_skew_events_total",
                "Events dated further ahead of the clock than state.max_clock_skew (a source's clock fault): judged by the watch-list rules only, by system",
                &["system"],
            ),
            event_copies: counter_vec(
                "accesswatch_event_copies_total",
                "Second copies of an event already judged (the same system, event id, user, time and what was done to whom), counted and not judged again, by system",
                &["system"],
            ),
            dead_letters_dropped: counter(
                "accesswatch_dead_letters_dropped_total",
                "Records the dead-letter topic refused even when cut to its bound: counted, logged and skipped",
            ),
            paused,
            config_reloads: counter_vec(
                "accesswatch_config_reloads_total",
                "Configuration reloads (file change or SIGHUP), applied or rejected",
                &["result"],
            ),
            archived_events: counter("accesswatch_archived_events_total", "Events written durably to the archive"),
            archive_files: counter("accesswatch_archive_files_total", "Parquet files written to the archive"),
            archive_buffered: gauge(
                "accesswatch_archive_buffered_events",
                "Events waiting to be written to the archive (their offsets wait with them)",
            ),
            archive_write_failures: counter(
                "accesswatch_archive_write_failures_total",
                "Archive writes that failed (a full or read-only disk) and were retried",
            ),
            retrospective_alerts: counter(
                "accesswatch_retrospective_alerts_total",
                "Alerts raised by archive scans when a high-profile entry or operation subject was added",
            ),
            login_refusals: counter_vec(
                "accesswatch_dashboard_login_refusals_total",
                "Dashboard sign-ins refused, by reason (wrong_password, throttled, busy)",
                &["reason"],
            ),
            audit_rows: gauge("accesswatch_audit_rows", "Rows of the dashboard's audit chain at its last anchor"),
            audit_anchor: gauge_vec(
                "accesswatch_audit_anchor",
                "The audit chain's head hash at the last daily anchor (value: its rows); keep it elsewhere",
                &["head"],
            ),
            audit_broken: gauge("accesswatch_audit_broken", "1 if the audit chain failed its last check"),
            processing,
            event_to_alert,
            registry,
        })
    }

    /// Counts a clock-skewed event under its system (bounded label set).
    pub fn clock_skew(&self, system: &str, n: u64) {
        self.clock_skew_events.with_label_values(&[self.system_label(system).as_str()]).inc_by(n);
    }

    pub fn event_copies(&self, system: &str, n: u64) {
        self.event_copies.with_label_values(&[self.system_label(system).as_str()]).inc_by(n);
    }

    /// Counts an accepted event under its system (bounded label set).
    pub fn event(&self, system: &str) {
        self.events.with_label_values(&[self.system_label(system).as_str()]).inc();
    }

    /// The label an event's system is counted under: itself, or `other` once
    /// [`MAX_SYSTEMS`] are known.
    fn system_label(&self, system: &str) -> String {
        let mut known = self.known_systems.lock().unwrap_or_else(|e| e.into_inner());
        if known.contains(system) {
            system.to_string()
        } else if known.len() < MAX_SYSTEMS {
            known.insert(system.to_string());
            system.to_string()
        } else {
            "other".to_string()
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus::TextEncoder::new().encode_utf8(&self.registry.gather(), &mut out).unwrap_or_default();
        out
    }
}

/// A thread's own latency histogram, merged into the shared one now and then, so the
/// hot loop takes no lock per event.
pub struct LocalLatency {
    local: Histogram<u64>,
    shared: Arc<Latency>,
}

impl LocalLatency {
    pub fn new(shared: Arc<Latency>) -> LocalLatency {
        LocalLatency { local: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds"), shared }
    }

    pub fn record(&mut self, us: u64) {
        self.local.saturating_record(us.max(1));
    }

    /// Adds what was recorded to the shared histogram.
    pub fn flush(&mut self) {
        if self.local.is_empty() {
            return;
        }
        if let Ok(mut h) = self.shared.hist.lock() {
            let _ = h.add(&self.local);
        }
        self.local.reset();
    }
}

/// Per-system event counters, looked up once per system instead of per event.
pub struct SystemCounters {
    metrics: Arc<Metrics>,
    /// Per named system, its counter and the events not yet added to it: the engine
    /// thread adds a batch's counts at once, not one atomic addition an event.
    cache: ahash::AHashMap<compact_str::CompactString, (IntCounter, u64)>,
}

impl SystemCounters {
    pub fn new(metrics: Arc<Metrics>) -> SystemCounters {
        SystemCounters { metrics, cache: ahash::AHashMap::new() }
    }

    /// Counts an event of `system`; the metric has it at the next [`Self::flush`] at
    /// the latest.
    pub fn count(&mut self, system: &str) {
        if let Some((_, pending)) = self.cache.get_mut(system) {
            *pending += 1;
            return;
        }
        let label = self.metrics.system_label(system);
        let counter = self.metrics.events.with_label_values(&[label.as_str()]);
        // Systems past the label bound all count as `other`, at once: cache only named
        // ones, so the cache stays as small as the label set.
        if label == system {
            self.cache.insert(system.into(), (counter, 1));
        } else {
            counter.inc();
        }
    }

    /// Adds the events counted since the last flush to the metric.
    pub fn flush(&mut self) {
        for (counter, pending) in self.cache.values_mut() {
            if *pending > 0 {
                counter.inc_by(std::mem::take(pending));
            }
        }
    }
}

/// Registers a shared collector.
struct ArcCollector(Arc<Latency>);

impl Collector for ArcCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.0.desc()
    }
    fn collect(&self) -> Vec<MetricFamily> {
        self.0.collect()
    }
}

/// What ties a series to live operations: label values, and the retrospective alerts
/// (raised when a high-profile entry or an operation's subject is added, not told apart).
const OPERATION_SERIES: [&str; 5] = [
    "rule=\"opsec.outsider\"",
    "table=\"operations\"",
    "explained=\"operation\"",
    "accesswatch_retrospective_alerts_total",
    "accesswatch_operation_",
];

/// `render`'s text without the series about live operations (their opsec alerts, the
/// accesses an operation explains, the operations list's rows and changes, the
/// retrospective alerts), for a reader not cleared for operations; a comment says what
/// was withheld. The operations' own alerts are counted in series of their own
/// (`accesswatch_operation_*`), left out of the totals that stay; another rule's alert
/// on such an access is counted as on any subject ([`crate::alert::Alert::counts_as_operations`]):
/// a look-up followed by a scrape must not tell whether its subject is an operation's,
/// by a count that moved or by one that did not.
pub fn without_operations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if !OPERATION_SERIES.iter().any(|l| line.contains(l)) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str("# series about live operations withheld: a scrape bearing [dashboard] metrics_token gets them\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_quantiles() {
        let m = Metrics::new();
        m.event("PNC");
        m.alerts.with_label_values(&["custody.uninvolved", "red"]).inc();
        for us in [100, 200, 300, 40_000] {
            m.processing.record_us(us);
        }
        let text = m.render();
        assert!(text.contains("accesswatch_events_total{system=\"PNC\"} 1"), "{text}");
        assert!(text.contains("accesswatch_alerts_total{rule=\"custody.uninvolved\",severity=\"red\"} 1"), "{text}");
        assert!(text.contains("# TYPE accesswatch_processing_seconds summary"), "{text}");
        assert!(text.contains("accesswatch_processing_seconds{quantile=\"0.99\"} 0.04"), "{text}");
        assert!(text.contains("accesswatch_processing_seconds_count 4"), "{text}");
    }

    #[test]
    fn system_counters_count_every_event_by_the_flush() {
        let m = Metrics::new();
        let mut c = SystemCounters::new(m.clone());
        // Runs, a system coming back, and systems past the label bound.
        let systems: Vec<String> = ["PNC", "PNC", "NICHE", "PNC"]
            .into_iter()
            .map(String::from)
            .chain((0..40).map(|i| format!("SYS{i}")))
            .chain((0..3).map(|_| "SYS39".to_string()))
            .collect();
        for s in &systems {
            c.count(s);
        }
        c.flush();
        let text = m.render();
        assert!(text.contains("accesswatch_events_total{system=\"PNC\"} 3"), "{text}");
        assert!(text.contains("accesswatch_events_total{system=\"NICHE\"} 1"), "{text}");
        let total: f64 = text
            .lines()
            .filter(|l| l.starts_with("accesswatch_events_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        assert_eq!(total, systems.len() as f64, "{text}");
        assert!(text.contains("system=\"other\"} 13"), "{text}");
    }

    #[test]
    fn system_labels_are_bounded() {
        let m = Metrics::new();
        for i in 0..100 {
            m.event(&format!("SYS{i}"));
        }
        let text = m.render();
        assert!(text.contains("system=\"other\"} 68"), "{text}");
    }
}
