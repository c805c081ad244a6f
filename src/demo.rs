//! `accesswatch demo`: the live engine against an in-process Kafka, no outside service.
//!
//! Starts librdkafka's mock cluster, generates a synthetic force, and feeds it to the
//! cluster at a realistic rate: staff, associates and operations up front; incidents,
//! arrests and high-profile entries when their time comes in the stream (so the
//! celebrity's entry arrives live and finds the look-ups made before it); a few
//! malformed messages for the dead-letter topic. The live engine runs against it
//! through the real Kafka client path, and the demo prints red and amber alerts as they
//! are raised, a status line every few seconds, and the detection recall at the end.

use crate::alert::{Alert, Severity};
use crate::config::Config;
use crate::generate::{self, Label};
use crate::live::LiveError;
use crate::service::Service;
use crate::watchlist::TableName;
use compact_str::CompactString;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::mocking::MockCluster;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::ClientConfig;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How the demo runs.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Events per second fed to Kafka; 0 for as fast as possible.
    pub rate: u32,
    pub staff: u32,
    pub days: u32,
    pub seed: u64,
    pub listen: String,
    /// Stop after this long, whether or not the events have all been played.
    pub max_seconds: Option<u64>,
    /// The dashboard accounts' password; a random one (printed) when `None`.
    pub dashboard_password: Option<String>,
}

/// Partitions of the event and alert topics in the demo cluster.
const PARTITIONS: i32 = 4;

/// The summary of the demo so far, from the alerts seen on the topic and the engine's
/// counters: alerts by severity, recall against the labels, the share explained.
fn summarise(latest: &BTreeMap<CompactString, Alert>, labels: &[Label], metrics: &crate::metrics::Metrics) {
    let sum = |family: &prometheus::IntCounterVec| -> u64 {
        use prometheus::core::Collector;
        family.collect().iter().flat_map(|m| m.get_metric()).map(|m| m.get_counter().get_value() as u64).sum()
    };
    let (events, dead_letters) = (sum(&metrics.events), sum(&metrics.dead_letters));
    // An alert a late explanation resolved (an incident that reached the engine after
    // the access citing it) needs no one's attention: the counts are of the others.
    let resolved = latest.values().filter(|a| a.resolved.is_some()).count();
    let alerts: Vec<Alert> = latest.values().filter(|a| a.resolved.is_none()).cloned().collect();
    let eval = crate::evaluate::evaluate(labels, &alerts, events);
    let by = |s: Severity| alerts.iter().filter(|a| a.severity == s).count();
    println!(
        "\n{events} events processed, {dead_letters} dead letters, {} alerts (red {}, amber {}, green {}; {resolved} more resolved by an incident that arrived late); event->alert latency p50 {:.1} ms, p99 {:.1} ms",
        alerts.len(),
        by(Severity::Red),
        by(Severity::Amber),
        by(Severity::Green),
        metrics.event_to_alert.quantile_us(0.5) as f64 / 1000.0,
        metrics.event_to_alert.quantile_us(0.99) as f64 / 1000.0,
    );
    let (caught, total) = eval.recall();
    println!(
        "detection: {caught} of {total} labelled misuse instances caught; {:.2} red/amber false alerts per 10,000 events",
        eval.false_per_10k(eval.total_false())
    );
    let mut stats = crate::engine::EngineStats::default();
    for k in crate::explain::Kind::ALL {
        stats.explained[k as usize] = metrics.accesses.with_label_values(&[k.as_str()]).get();
    }
    stats.unexplained = metrics.accesses.with_label_values(&["none"]).get();
    println!("explained: {}", stats.explained_summary());
}

/// Runs the demo: the force is played, then the dashboard stays up until Ctrl-C (or
/// `max_seconds`).
pub fn run(opts: DemoOptions) -> Result<(), LiveError> {
    let cluster = MockCluster::new(1).map_err(|e| LiveError::kafka("starting the in-process Kafka", e))?;
    let bootstrap = cluster.bootstrap_servers();
    let prefix = "watchlist.";
    for (topic, partitions) in [
        ("access-events", PARTITIONS),
        ("access-alerts", PARTITIONS),
        ("access-subjects", PARTITIONS),
        ("access-state", 2 * PARTITIONS),
        ("access-events.dlq", 1),
    ] {
        cluster.create_topic(topic, partitions, 1).map_err(|e| LiveError::kafka(format!("creating {topic}"), e))?;
    }
    for table in TableName::ALL {
        let topic = format!("{prefix}{}", table.as_str());
        cluster.create_topic(&topic, 1, 1).map_err(|e| LiveError::kafka(format!("creating {topic}"), e))?;
    }
    println!("in-process Kafka (librdkafka mock cluster) at {bootstrap}");

    // A directory of its own, readable by this user alone (it holds the force's
    // people, the archive and the dashboard's database), under a name no one can
    // guess and take first.
    let dir = std::env::temp_dir().join(format!("accesswatch-demo-{}", random_hex(8)));
    private_dir(&dir).map_err(|e| LiveError::disk("creating the demo's directory", e))?;
    let gen = generate::Options {
        seed: opts.seed,
        days: opts.days,
        staff: opts.staff,
        citizens: (opts.staff * 20).max(2_000),
        ..Default::default()
    };
    let summary = generate::generate(&gen, &dir).map_err(|e| LiveError::disk("generating the force", e))?;
    println!("{summary}");

    let force_config = std::fs::read_to_string(dir.join("config.toml"))
        .map_err(|e| LiveError::disk("reading the force's configuration", e))?;
    // The dashboard, with an archive behind its timelines and subject histories, and
    // three accounts, each with a password of its own unless one is given for all.
    let passwords: Vec<String> =
        (0..3).map(|_| opts.dashboard_password.clone().unwrap_or_else(|| random_hex(6))).collect();
    // The scrape token that gets /metrics' series about live operations too.
    let metrics_token = random_hex(16);
    let account = |name: &str, role: &str, ops: bool, password: &str| {
        let hash = crate::dashboard::auth::hash_password(password);
        format!("[dashboard.users.{name}]\npassword = \"{hash}\"\nrole = \"{role}\"\noperations = {ops}\n")
    };
    let config_text = format!(
        "{force_config}\n[kafka]\nbootstrap_servers = \"{bootstrap}\"\ngroup_id = \"accesswatch-demo\"\n\
         # One instance: its repartition records come in order, a short wait is enough.\n\
         repartition_delay = \"2s\"\n\n[http]\nlisten = \"{}\"\n\n\
         [archive]\ndir = \"{}\"\nflush_interval = \"2s\"\n\n[dashboard]\nenabled = true\ndb = \"{}\"\nsecure_cookies = true\nwatchlists_dir = \"{}\"\nmetrics_token = \"{metrics_token}\"\n{}{}{}",
        opts.listen,
        dir.join("archive").display(),
        dir.join("dashboard.sqlite").display(),
        dir.join("watchlists").display(),
        account("acu", "supervisor", true, &passwords[0]),
        account("analyst", "analyst", false, &passwords[1]),
        account("auditor", "auditor", false, &passwords[2]),
    );
    let config = Arc::new(
        Config::from_toml("demo", &config_text).map_err(|e| LiveError::Bug(format!("the demo configuration: {e}")))?,
    );
    let dash_config = config.clone();
    let service = Service::start_with(config, move |h| crate::dashboard::with_dashboard(&dash_config, h))?;
    let addr = service.http_addr;
    println!(
        "dashboard at http://{addr}/ : users acu (supervisor, password {}), analyst (password {}), auditor (password {})",
        passwords[0], passwords[1], passwords[2]
    );
    println!(
        "metrics at http://{addr}/metrics (the series about live operations with \"Authorization: Bearer {metrics_token}\"), health at /healthz and /readyz; Ctrl-C to stop\n"
    );

    // Feed once the engine is ready, as a real source would find it.
    let ready_by = Instant::now() + Duration::from_secs(60);
    while !service.status.ready() && Instant::now() < ready_by && !service.status.shutdown().is_triggered() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let labels: Vec<Label> = std::fs::read_to_string(dir.join("labels.jsonl"))
        .map_err(|e| LiveError::disk("reading the labels", e))?
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();

    let fed = Arc::new(AtomicU64::new(0));
    let feeding_done = Arc::new(AtomicBool::new(false));
    let feeder = {
        let (bootstrap, fed, done, shutdown) =
            (bootstrap.clone(), fed.clone(), feeding_done.clone(), service.status.shutdown().clone());
        let (dir, rate) = (dir.clone(), opts.rate);
        std::thread::spawn(move || -> Result<(), LiveError> {
            let mut client = ClientConfig::new();
            client.set("bootstrap.servers", &bootstrap);
            let f = crate::live::feed::Feed {
                force: &dir,
                events_topic: "access-events",
                watchlist_prefix: prefix,
                rate,
                // Now and then a message the engine cannot read: it goes to the DLQ.
                malformed_every: Some(20_000),
            };
            let result = crate::live::feed::feed(client, &f, &fed, &shutdown);
            done.store(true, Ordering::SeqCst);
            result.map(|_| ())
        })
    };

    // Watch the alert topic as the ACU would.
    let watcher: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", "accesswatch-demo-board")
        .set("enable.auto.commit", "false")
        .create()
        .map_err(|e| LiveError::kafka("creating the alert watcher", e))?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        let _ = tpl.add_partition_offset("access-alerts", p, Offset::Beginning);
    }
    watcher.assign(&tpl).map_err(|e| LiveError::kafka("assigning the alert topic", e))?;
    let mut latest: BTreeMap<CompactString, Alert> = BTreeMap::new();
    let mut last_status = Instant::now();
    let started = Instant::now();
    let mut idle_since: Option<Instant> = None;
    let mut summarised = false;
    let metrics = service.metrics.clone();
    loop {
        if service.status.shutdown().is_triggered() {
            break;
        }
        if opts.max_seconds.is_some_and(|s| started.elapsed() > Duration::from_secs(s)) {
            break;
        }
        match watcher.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                idle_since = None;
                if let Some(Ok(alert)) = m.payload().map(serde_json::from_slice::<Alert>) {
                    let new = !latest.contains_key(&alert.alert_id);
                    if new && alert.severity >= Severity::Amber {
                        println!(
                            "{} {:<5} {:<24} {}",
                            alert.detected_at.human(),
                            alert.severity.as_str().to_uppercase(),
                            alert.rule.as_str(),
                            alert.reason
                        );
                    }
                    latest.insert(alert.alert_id.clone(), alert);
                }
            }
            Some(Err(e)) => tracing::warn!(error = %e, "reading alerts"),
            None => {
                // Played when everything has been fed and nothing has come for a while:
                // the summary, then the dashboard stays up until Ctrl-C or --seconds.
                if feeding_done.load(Ordering::SeqCst) && !summarised {
                    let idle = idle_since.get_or_insert_with(Instant::now);
                    // Longer than the repartition stage holds its records (2 s).
                    if idle.elapsed() > Duration::from_secs(5) {
                        summarise(&latest, &labels, &metrics);
                        summarised = true;
                        let until = match opts.max_seconds {
                            Some(s) => format!("for the rest of its {s} seconds"),
                            None => "until Ctrl-C".to_string(),
                        };
                        println!(
                            "\nthe week has been played; the dashboard stays up at http://{addr}/ {until} (nothing more is fed)"
                        );
                    }
                }
            }
        }
        if summarised {
            continue;
        }
        if last_status.elapsed() > Duration::from_secs(5) {
            last_status = Instant::now();
            let count = |s| latest.values().filter(|a| a.severity == s && a.resolved.is_none()).count();
            println!(
                "-- {} events fed | alerts: red {} amber {} green {} | event->alert p99 {:.1} ms",
                fed.load(Ordering::Relaxed),
                count(Severity::Red),
                count(Severity::Amber),
                count(Severity::Green),
                metrics.event_to_alert.quantile_us(0.99) as f64 / 1000.0
            );
        }
    }
    if !summarised {
        summarise(&latest, &labels, &metrics);
    }
    service.stop();
    let _ = feeder.join();
    service.join()?;
    let _ = std::fs::remove_dir_all(&dir);
    // Clients first, then the cluster they talk to.
    drop(watcher);
    drop(cluster);
    Ok(())
}

/// `bytes` random bytes from the operating system, in hex.
fn random_hex(bytes: usize) -> String {
    use rand_core::RngCore;
    let mut b = vec![0u8; bytes];
    rand_core::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// Creates `dir`, which must not exist yet, readable and writable by this user alone.
fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demos_directory_is_its_users_alone_and_never_one_made_before() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(format!("accesswatch-demo-{}", random_hex(8)));
        private_dir(&dir).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "readable by others: {mode:o}");
        }
        // A name taken first (a directory, or a link another user planted) is refused.
        assert!(private_dir(&dir).is_err());
        #[cfg(unix)]
        {
            let planted = tmp.path().join("planted");
            std::os::unix::fs::symlink(tmp.path(), &planted).unwrap();
            assert!(private_dir(&planted).is_err());
        }
        assert_ne!(random_hex(8), random_hex(8));
    }
}
