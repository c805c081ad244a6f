//! Live-engine benchmarks on a local broker.
//!
//! ```text
//! cargo bench --bench kafka -- catchup [--broker mock|tansu] [--staff 3600] [--instances 1] [--no-repartition]
//! cargo bench --bench kafka -- latency [--broker mock|tansu] [--rate 5000] [--seconds 30] [--relay]
//! ```
//!
//! - catchup: a generated force (about 1M events with the default 3,600 staff) is
//!   preloaded on `access-events`; then a bare consumer reads it all (no parsing), and
//!   the live engine (`--instances` of it in one group, in this process) consumes and
//!   evaluates it all, the repartition stage included (its records too are consumed
//!   and processed before the clock stops) unless `--no-repartition`. Both rates are
//!   printed, and their ratio.
//! - latency: events are produced at a steady rate, one in ten a look-up that raises a
//!   red alert of its own (a high-profile person, by an account seen once); a consumer
//!   of `access-alerts` measures produced -> alert received for each of those in an
//!   HDR histogram.

use accesswatch::config::Config;
use accesswatch::service::Service;
use hdrhistogram::Histogram;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::ClientConfig;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// librdkafka's mock broker keeps at most 5 MB (100,000 messages) per partition and
/// drops older ones, so a 1M-event (about 250 MB) catch-up needs 64 partitions. The
/// engine takes any count.
const CATCHUP_PARTITIONS: i32 = 64;
/// A steady stream needs few. The mock broker finds a fetch offset by walking the
/// partition's message sets one by one (`rd_kafka_mock_msgset_find`); with many
/// partitions fetched every few milliseconds that walk takes a whole core and becomes
/// the latency being measured. `--partitions` overrides either.
const LATENCY_PARTITIONS: i32 = 2;

fn partitions(default: i32) -> i32 {
    arg("--partitions").and_then(|s| s.parse().ok()).unwrap_or(default)
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

enum Broker {
    // Held so the in-process cluster lives as long as the benchmark.
    #[allow(dead_code)]
    Mock(MockCluster<'static, DefaultProducerContext>),
    Tansu(Child),
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Broker::Tansu(c) = self {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn topics(partitions: i32) -> Vec<(String, i32)> {
    let mut t = vec![
        ("access-events".to_string(), partitions),
        ("access-alerts".to_string(), partitions),
        ("access-subjects".to_string(), partitions),
        ("access-state".to_string(), 2 * partitions),
        ("access-events.dlq".to_string(), 1),
    ];
    for table in accesswatch::watchlist::TableName::ALL {
        t.push((format!("watchlist.{}", table.as_str()), 1));
    }
    t
}

fn start_broker(partitions: i32) -> (Broker, String) {
    match arg("--broker").as_deref().unwrap_or("mock") {
        "tansu" => {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let url = format!("tcp://127.0.0.1:{port}");
            let child = std::process::Command::new("tansu")
                .args([
                    "broker",
                    "--storage-engine",
                    "memory://tansu/",
                    "--listener-url",
                    &url,
                    "--advertised-listener-url",
                    &url,
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("tansu on PATH (cargo install tansu --locked --features dynostore)");
            let bootstrap = format!("127.0.0.1:{port}");
            let probe: BaseConsumer = ClientConfig::new().set("bootstrap.servers", &bootstrap).create().unwrap();
            let deadline = Instant::now() + Duration::from_secs(30);
            while probe.fetch_metadata(None, Duration::from_secs(1)).is_err() {
                assert!(Instant::now() < deadline, "tansu did not start");
            }
            let admin: AdminClient<DefaultClientContext> =
                ClientConfig::new().set("bootstrap.servers", &bootstrap).create().unwrap();
            let new: Vec<(String, i32)> = topics(partitions);
            let new: Vec<NewTopic> =
                new.iter().map(|(t, p)| NewTopic::new(t, *p, TopicReplication::Fixed(1))).collect();
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            for r in rt.block_on(admin.create_topics(&new, &AdminOptions::new())).unwrap() {
                r.unwrap();
            }
            (Broker::Tansu(child), bootstrap)
        }
        _ => {
            let cluster = MockCluster::new(1).unwrap();
            for (t, p) in topics(partitions) {
                cluster.create_topic(&t, p, 1).unwrap();
            }
            let bootstrap = cluster.bootstrap_servers();
            (Broker::Mock(cluster), bootstrap)
        }
    }
}

fn producer(bootstrap: &str, linger_ms: &str) -> ThreadedProducer<DefaultProducerContext> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", linger_ms)
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .unwrap()
}

fn send(p: &ThreadedProducer<DefaultProducerContext>, topic: &str, key: &[u8], value: &[u8]) {
    let mut record = BaseRecord::<[u8], [u8]>::to(topic).key(key).payload(value);
    while let Err((_, r)) = p.send(record) {
        record = r;
        std::thread::sleep(Duration::from_micros(200));
    }
}

fn force(staff: u32) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("target/bench-data/replay-{staff}"));
    if !dir.join("labels.jsonl").exists() {
        let opts = accesswatch::generate::Options { staff, citizens: 120_000, days: 14, seed: 1, ..Default::default() };
        accesswatch::generate::generate(&opts, &dir).unwrap();
    }
    dir
}

fn engine_config(bootstrap: &str, force: &std::path::Path, group: &str) -> Config {
    let subjects = if std::env::args().any(|a| a == "--no-repartition") { "" } else { "access-subjects" };
    // State snapshots to the state topic only with --state-topic: on the in-process mock
    // broker they slow catch-up many times over (see the README's performance table).
    let state = if std::env::args().any(|a| a == "--state-topic") { "access-state" } else { "" };
    // Commits wait for a snapshot that covers them, and the catch-up ends at the last
    // commit: snapshot every second, not every 30 s, so that the figure is the engine's.
    let snapshot_every = arg("--snapshot-interval").unwrap_or_else(|| "1s".into());
    // librdkafka properties to try (`--property fetch.wait.max.ms=1`, repeatable).
    let args: Vec<String> = std::env::args().collect();
    let properties: String = args
        .windows(2)
        .filter(|w| w[0] == "--property")
        .filter_map(|w| w[1].split_once('='))
        .map(|(k, v)| format!("\"{k}\" = \"{v}\"\n"))
        .collect();
    let text = format!(
        "{}\n[kafka]\nbootstrap_servers = \"{bootstrap}\"\ngroup_id = \"{group}\"\nsubjects_topic = \"{subjects}\"\nrepartition_delay = \"1s\"\nstate_topic = \"{state}\"\n[kafka.properties]\n{properties}[state]\nsnapshot_interval = \"{snapshot_every}\"\n[http]\nlisten = \"127.0.0.1:0\"\n[live]\nwatchlists_dir = \"{}\"\nhistory_events = 100000\n",
        std::fs::read_to_string(force.join("config.toml")).unwrap(),
        force.join("watchlists").display()
    );
    Config::from_toml("bench", &text).unwrap()
}

fn catchup() {
    let parts = partitions(CATCHUP_PARTITIONS);
    let (_broker, bootstrap) = start_broker(parts);
    let staff: u32 = arg("--staff").and_then(|s| s.parse().ok()).unwrap_or(3600);
    let dir = force(staff);
    let text = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let n = lines.len();
    let p = producer(&bootstrap, "20");
    let started = Instant::now();
    for l in &lines {
        // The user id is the key: pull it out without parsing the whole event.
        let key = l.split("\"user_id\":\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("");
        send(&p, "access-events", key.as_bytes(), l.as_bytes());
    }
    p.flush(Duration::from_secs(300)).unwrap();
    let probe: BaseConsumer = ClientConfig::new().set("bootstrap.servers", &bootstrap).create().unwrap();
    let stored: i64 = (0..parts)
        .map(|part| {
            let (low, high) = probe.fetch_watermarks("access-events", part, Duration::from_secs(10)).unwrap();
            high - low
        })
        .sum();
    assert_eq!(stored as usize, n, "the broker holds {stored} of the {n} events produced");
    println!("preloaded {n} events in {:.1}s", started.elapsed().as_secs_f64());

    // A bare consumer: reads every message, parses nothing.
    let bare: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", "bench-bare")
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    bare.subscribe(&["access-events"]).unwrap();
    let mut read = 0usize;
    let mut bytes = 0usize;
    let mut first: Option<Instant> = None;
    let mut last = Instant::now();
    while read < n {
        match bare.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                first.get_or_insert_with(Instant::now);
                bytes += m.payload().map_or(0, |p| p.len());
                read += 1;
                last = Instant::now();
            }
            Some(Err(e)) => eprintln!("bare consumer: {e}"),
            None => {
                assert!(last.elapsed() < Duration::from_secs(10), "bare consumer stalled at {read} of {n} messages");
            }
        }
    }
    let bare_secs = first.unwrap().elapsed().as_secs_f64();
    drop(bare);
    let bare_rate = n as f64 / bare_secs;
    println!(
        "bare consumer: {n} messages ({:.0} MB) in {bare_secs:.2}s = {bare_rate:.0} messages/s",
        bytes as f64 / 1e6
    );

    // The engine: consume, parse, evaluate every rule, publish alerts, commit; with the
    // repartition stage, its records are consumed and processed too.
    let instances: usize = arg("--instances").and_then(|s| s.parse().ok()).unwrap_or(1);
    let config = Arc::new(engine_config(&bootstrap, &dir, "bench-engine"));
    let repartition = config.kafka.subjects_topic.is_some();
    let services: Vec<Service> =
        (0..instances).map(|_| Service::start(config.clone(), accesswatch::http::router).unwrap()).collect();
    while !services.iter().all(|s| s.status.ready()) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    let sum = |prefix: &str| {
        services
            .iter()
            .flat_map(|s| {
                s.metrics
                    .render()
                    .lines()
                    .filter(|l| l.starts_with(prefix))
                    .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
                    .collect::<Vec<_>>()
            })
            .sum::<f64>() as usize
    };
    while sum("accesswatch_events_total{") < n {
        std::thread::sleep(Duration::from_millis(20));
    }
    let judged_secs = started.elapsed().as_secs_f64();
    // The repartition stage is done when its topic is consumed and nothing waits.
    let subjects_end = |probe: &BaseConsumer| -> i64 {
        (0..parts).map(|p| probe.fetch_watermarks("access-subjects", p, Duration::from_secs(10)).unwrap().1).sum()
    };
    let committed = |probe: &BaseConsumer| -> i64 {
        let mut tpl = TopicPartitionList::new();
        for p in 0..parts {
            tpl.add_partition("access-subjects", p);
        }
        let c = probe.committed_offsets(tpl, Duration::from_secs(10)).unwrap();
        c.elements().iter().filter_map(|e| e.offset().to_raw()).filter(|o| *o > 0).sum()
    };
    if repartition {
        let group: BaseConsumer =
            ClientConfig::new().set("bootstrap.servers", &bootstrap).set("group.id", "bench-engine").create().unwrap();
        while committed(&group) < subjects_end(&group) || sum("accesswatch_repartition_waiting ") > 0 {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let secs = started.elapsed().as_secs_f64();
    if repartition {
        println!("every event judged after {judged_secs:.2}s; the repartition stage done after {secs:.2}s");
    }
    let rate = n as f64 / secs;
    let alert_messages: u64 = services.iter().map(|s| s.metrics.alert_messages.get()).sum();
    let p99 = services[0].metrics.processing.quantile_us(0.99);
    for s in &services {
        s.stop();
    }
    let events: u64 = services.into_iter().map(|s| s.join().unwrap().events).sum();
    println!(
        "engine ({instances} instance(s), repartition stage {}): {events} events consumed and evaluated in {secs:.2}s = {rate:.0} events/s ({:.0}% of the bare consumer); processing p99 {p99} us; {alert_messages} alert messages published",
        if repartition { "on" } else { "off" },
        100.0 * rate / bare_rate
    );
}

fn latency() {
    let parts = partitions(LATENCY_PARTITIONS);
    let (_broker, bootstrap) = start_broker(parts);
    let rate: u64 = arg("--rate").and_then(|s| s.parse().ok()).unwrap_or(5000);
    let seconds: u64 = arg("--seconds").and_then(|s| s.parse().ok()).unwrap_or(30);
    let dir = force(arg("--staff").and_then(|s| s.parse().ok()).unwrap_or(400));
    let config = engine_config(&bootstrap, &dir, "bench-latency");
    // `--relay`: instead of the engine, a bare consumer that hands each alert-raising
    // event straight to a producer of `access-alerts`, with the engine's client
    // settings (and any `--property`): the floor the broker and the two Kafka hops set.
    let relay = std::env::args().any(|a| a == "--relay");
    let stop_relay = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (service, relay_thread) = if relay {
        (None, Some(start_relay(&bootstrap, &config, stop_relay.clone())))
    } else {
        let service = Service::start(Arc::new(config), accesswatch::http::router).unwrap();
        while !service.status.ready() {
            std::thread::sleep(Duration::from_millis(20));
        }
        (Some(service), None)
    };

    // The alert watcher starts at the end of the alert topic.
    let watcher: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", "bench-watcher")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "1")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..parts {
        tpl.add_partition_offset("access-alerts", p, Offset::End).unwrap();
    }
    watcher.assign(&tpl).unwrap();
    std::thread::sleep(Duration::from_secs(1));

    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let total = rate * seconds;
    let feeder = {
        let (sent, bootstrap) = (sent.clone(), bootstrap.clone());
        std::thread::spawn(move || {
            let p = producer(&bootstrap, &arg("--feeder-linger").unwrap_or_else(|| "2".into()));
            let started = Instant::now();
            for i in 0..total {
                // Nine in ten: a vehicle look-up by one of 300 officers (behavioural
                // state, few alerts). One in ten: the force's high-profile arrest
                // (HP-0002) looked up by an account seen once, outside the case team:
                // a red alert of its own, never folded into an earlier one, so every
                // such event is a latency sample, all through the run.
                let id = format!("lat-{i}");
                let ts = accesswatch::time::Timestamp::now();
                let (user, line) = if i % 10 == 9 {
                    let user = format!("LAT{i:07}");
                    let line = format!(
                        r#"{{"event_id":"{id}","ts":"{ts}","system":"PNC","user_id":"{user}","action":"view","subject_type":"person","subject_id":"82/1020401S"}}"#
                    );
                    (user, line)
                } else {
                    let user = format!("U{:05}", 10_000 + i % 300);
                    let line = format!(
                        r#"{{"event_id":"{id}","ts":"{ts}","system":"PNC","user_id":"{user}","action":"search","subject_type":"vehicle","subject_vrm":"LT{i:08}"}}"#
                    );
                    (user, line)
                };
                let due = started + Duration::from_secs_f64(i as f64 / rate as f64);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                if i % 10 == 9 {
                    sent.lock().unwrap().insert(id, Instant::now());
                }
                send(&p, "access-events", user.as_bytes(), line.as_bytes());
            }
            p.flush(Duration::from_secs(30)).unwrap();
        })
    };
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    let deadline = Instant::now() + Duration::from_secs(seconds + 30);
    let expected = total / 10;
    // Every message on the alert topic, updates of open alerts included, and its bytes.
    let (mut messages, mut bytes) = (0u64, 0u64);
    while hist.len() < expected && Instant::now() < deadline {
        if let Some(Ok(m)) = watcher.poll(Duration::from_millis(100)) {
            let now = Instant::now();
            messages += 1;
            bytes += m.payload_len() as u64;
            let Some(Ok(v)) = m.payload().map(serde_json::from_slice::<serde_json::Value>) else { continue };
            let Some(first) = v["event_ids"][0].as_str() else { continue };
            if let Some(at) = sent.lock().unwrap().remove(first) {
                hist.saturating_record(now.duration_since(at).as_micros() as u64);
            }
        }
    }
    feeder.join().unwrap();
    if let Some(service) = service {
        let engine_ms = |q: f64| service.metrics.event_to_alert.quantile_us(q) as f64 / 1000.0;
        println!(
            "engine's own event -> alert acknowledged: p50 {:.2} ms, p99 {:.2} ms",
            engine_ms(0.5),
            engine_ms(0.99)
        );
        service.stop();
        service.join().unwrap();
    }
    if let Some(t) = relay_thread {
        stop_relay.store(true, std::sync::atomic::Ordering::Relaxed);
        t.join().unwrap();
        println!("(bare relay instead of the engine)");
    }
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "latency at {rate} events/s for {seconds}s: {} of {expected} high-profile alerts received; produced -> alert received p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        hist.len(),
        ms(0.5),
        ms(0.99),
        ms(0.999),
        hist.max() as f64 / 1000.0
    );
    println!("alert topic while watched: {messages} messages, {:.1} MB", bytes as f64 / 1e6);
}

/// The bare relay of `latency --relay`: consumes `access-events` and, for each
/// high-profile look-up, produces `{"event_ids":[id]}` to `access-alerts`, with the
/// engine's consumer and producer defaults and its `kafka.properties`.
fn start_relay(
    bootstrap: &str,
    config: &Config,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let mut consumer_cfg = ClientConfig::new();
    consumer_cfg
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "bench-relay")
        .set("auto.offset.reset", "latest")
        .set("fetch.wait.max.ms", "5")
        .set("fetch.queue.backoff.ms", "10");
    let mut producer_cfg = ClientConfig::new();
    producer_cfg.set("bootstrap.servers", bootstrap).set("linger.ms", "2").set("enable.idempotence", "true");
    for (k, v) in &config.kafka.properties {
        consumer_cfg.set(k, v);
        producer_cfg.set(k, v);
    }
    let consumer: BaseConsumer = consumer_cfg.create().unwrap();
    consumer.subscribe(&["access-events"]).unwrap();
    let producer: ThreadedProducer<DefaultProducerContext> = producer_cfg.create().unwrap();
    // Joined and assigned before the feeder starts.
    let deadline = Instant::now() + Duration::from_secs(10);
    while consumer.assignment().map(|a| a.count()).unwrap_or(0) == 0 && Instant::now() < deadline {
        let _ = consumer.poll(Duration::from_millis(50));
    }
    std::thread::spawn(move || {
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(50)) {
                let Some(Ok(v)) = m.payload().map(serde_json::from_slice::<serde_json::Value>) else { continue };
                if v["subject_type"] == "person" {
                    let out = format!(r#"{{"event_ids":[{}]}}"#, v["event_id"]);
                    send(&producer, "access-alerts", m.key().unwrap_or_default(), out.as_bytes());
                }
            }
        }
        producer.flush(Duration::from_secs(10)).unwrap();
    })
}

fn main() {
    // The engine's log, on standard error, when ACCESSWATCH_LOG asks for it.
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("ACCESSWATCH_LOG") {
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    }
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "catchup") {
        catchup();
    } else if args.iter().any(|a| a == "latency") {
        latency();
    } else if args.iter().any(|a| a == "--bench") {
        // `cargo bench` with no benchmark named: run both on the mock cluster.
        catchup();
        latency();
    } else {
        eprintln!("usage: cargo bench --bench kafka -- catchup|latency [--broker mock|tansu]");
    }
}
