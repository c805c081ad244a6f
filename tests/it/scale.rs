//! Scale-out: several engine processes in one consumer group, one killed.

use crate::kafka::*;
use crate::live_tansu::Tansu;
use crate::support::bin;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::ClientConfig;
use std::process::{Child, Stdio};
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// An `accesswatch run` process, killed when dropped.
struct Engine(Child);

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn engine(dir: &std::path::Path, bootstrap: &str, group: &str, n: usize) -> Engine {
    let text = config_text(bootstrap, group)
        .replace("listen = \"127.0.0.1:0\"", &format!("listen = \"127.0.0.1:{}\"", free_port()))
        .replace(
            "\"batch.num.messages\" = \"1\"",
            "\"batch.num.messages\" = \"1\"\n\"session.timeout.ms\" = \"6000\"\n\"heartbeat.interval.ms\" = \"500\"",
        );
    let path = dir.join(format!("engine{n}.toml"));
    std::fs::write(&path, text).unwrap();
    let log = std::fs::File::create(dir.join(format!("engine{n}.log"))).unwrap();
    Engine(bin().args(["run", "--config"]).arg(&path).stdout(Stdio::null()).stderr(log).spawn().unwrap())
}

/// Per partition of access-events: (committed offset of `group`, end).
fn progress(bootstrap: &str, group: &str) -> Vec<(i64, i64)> {
    let c: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", bootstrap).set("group.id", group).create().unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition("access-events", p);
    }
    let committed = c.committed_offsets(tpl, Duration::from_secs(5)).unwrap();
    (0..PARTITIONS)
        .map(|p| {
            let at = match committed.find_partition("access-events", p).map(|e| e.offset()) {
                Some(Offset::Offset(o)) => o,
                _ => 0,
            };
            let (_, high) = c.fetch_watermarks("access-events", p, Duration::from_secs(5)).unwrap();
            (at, high)
        })
        .collect()
}

fn survivors_take_over(bootstrap: &str, dir: &std::path::Path) {
    publish_watchlists(&config(bootstrap, "scale"));
    let mut engines: Vec<Engine> = (0..3).map(|n| engine(dir, bootstrap, "scale", n)).collect();
    std::thread::sleep(Duration::from_secs(15));
    let lines = event_lines();
    let (first, second) = lines.split_at(lines.len() / 2);
    produce_events(bootstrap, first);
    std::thread::sleep(Duration::from_secs(5));
    let victim = engines.remove(0);
    let mut victim = victim;
    let _ = victim.0.kill();
    produce_events(bootstrap, second);
    let done = wait_for(Duration::from_secs(90), || progress(bootstrap, "scale").iter().all(|(c, h)| c == h));
    eprintln!("progress: {:?}", progress(bootstrap, "scale"));
    for n in 0..3 {
        eprintln!("--- engine {n}");
        let log = std::fs::read_to_string(dir.join(format!("engine{n}.log"))).unwrap_or_default();
        for l in log.lines().filter(|l| l.contains("partitions") || l.contains("rebalance") || l.contains("WARN")) {
            eprintln!("{l}");
        }
    }
    assert!(done, "partitions left behind");
}

#[test]
fn mock_cluster_survivors_take_over() {
    let _turn = crate::support::one_at_a_time();
    let cluster = MockCluster::new(1).unwrap();
    for (t, p) in topics() {
        cluster.create_topic(&t, p, 1).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    survivors_take_over(&cluster.bootstrap_servers(), dir.path());
}

#[test]
fn tansu_survivors_take_over() {
    let _turn = crate::support::one_at_a_time();
    let broker = Tansu::start();
    broker.create_topics();
    let dir = tempfile::tempdir().unwrap();
    survivors_take_over(&broker.bootstrap, dir.path());
    for n in 0..3 {
        eprintln!("--- engine {n}");
        let log = std::fs::read_to_string(dir.path().join(format!("engine{n}.log"))).unwrap_or_default();
        for l in log.lines().filter(|l| l.contains("partitions")) {
            eprintln!("{l}");
        }
    }
}

#[test]
fn the_demo_serves_its_dashboard_after_the_week_has_been_played() {
    use std::io::BufRead;
    let mut demo = Engine(
        bin()
            .args(["demo", "--listen", "127.0.0.1:0", "--rate", "0", "--staff", "120", "--seconds", "240"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = demo.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut addr = None;
    let deadline = std::time::Instant::now() + Duration::from_secs(200);
    while std::time::Instant::now() < deadline {
        let Ok(line) = rx.recv_timeout(Duration::from_secs(5)) else { continue };
        if let Some(rest) = line.strip_prefix("dashboard at http://") {
            addr = rest.split('/').next().map(String::from);
        }
        if line.starts_with("the week has been played") {
            break;
        }
    }
    let addr = addr.expect("the demo printed its dashboard's address");
    // The traffic is over; a new user opening the link still finds the dashboard.
    std::thread::sleep(Duration::from_secs(2));
    let page = crate::live_process::http_get(&addr, "/").expect("the dashboard answers after the traffic");
    assert_eq!(page.0, 200);
    assert!(page.1.contains("accesswatch"), "{}", &page.1[..page.1.len().min(300)]);
    assert_eq!(crate::live_process::http_get(&addr, "/healthz").unwrap().0, 200);
}

/// A generated force for the scale-out tests: its directory, its events in time order.
fn force(dir: &std::path::Path) -> Vec<String> {
    crate::support::run_ok(
        bin().args(["generate", "--staff", "150", "--citizens", "3000", "--days", "7", "--out"]).arg(dir.join("force")),
    );
    std::fs::read_to_string(dir.join("force/events.jsonl")).unwrap().lines().map(String::from).collect()
}

/// The force's configuration for an engine or the dashboard service of the group.
fn force_config(dir: &std::path::Path, bootstrap: &str, extra: &str) -> std::path::PathBuf {
    let n = std::fs::read_dir(dir).unwrap().count();
    let text = format!(
        "{}\n[kafka]\nbootstrap_servers = \"{bootstrap}\"\ngroup_id = \"scale\"\ncommit_interval = \"200ms\"\nstall_after = \"20s\"\nrepartition_delay = \"45s\"\nrepartition_horizon = \"3650d\"\n[kafka.properties]\n\"batch.num.messages\" = \"1\"\n\"session.timeout.ms\" = \"6000\"\n\"heartbeat.interval.ms\" = \"500\"\n[http]\nlisten = \"127.0.0.1:{}\"\n[state]\nsnapshot_interval = \"2s\"\nallowed_lateness = \"3650d\"\nmax_clock_skew = \"3650d\"\n{extra}",
        std::fs::read_to_string(dir.join("force/config.toml")).unwrap(),
        free_port()
    );
    let path = dir.join(format!("config-{n}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// What a single-process replay of the force raises, as comparable JSON by alert id.
fn replay_of(dir: &std::path::Path, config: &std::path::Path) -> std::collections::BTreeMap<String, serde_json::Value> {
    let out = dir.join("replay.jsonl");
    crate::support::run_ok(
        bin()
            .args(["replay", "--quiet", "--config"])
            .arg(config)
            .arg("--watchlists")
            .arg(dir.join("force/watchlists"))
            .arg("--alerts")
            .arg(&out)
            .arg(dir.join("force/events.jsonl")),
    );
    crate::support::read_jsonl(&out)
        .into_iter()
        .map(|a| (a["alert_id"].as_str().unwrap().to_string(), normal(a)))
        .collect()
}

/// An alert as the comparison sees it: without what depends on which instance raised
/// it or when (detected_at, the record time of topic rows, the running risk).
fn normal(a: serde_json::Value) -> serde_json::Value {
    let mut a = comparable(a);
    a.as_object_mut().unwrap().remove("user_risk");
    a
}

/// Feeds the force in event-time order, a slice at a time, as a live feed arrives.
fn feed(bootstrap: &str, lines: &[String], slices: usize, pause: Duration, mut between: impl FnMut(usize)) {
    for (i, chunk) in lines.chunks(lines.len().div_ceil(slices)).enumerate() {
        produce_events(bootstrap, chunk);
        std::thread::sleep(pause);
        between(i);
    }
}

/// What changes halfway through the stream.
#[derive(Copy, Clone)]
enum Midway {
    /// One of three engines is killed (SIGKILL).
    Kill,
    /// A third engine joins the two running.
    Join,
}

/// Engines in one group and one dashboard service on Tansu, a generated force fed in
/// event-time order, `midway` halfway: the alerts on the topic (latest per id) equal a
/// single-process replay's, the spike included, and the board holds every one.
fn group_raises_what_one_replay_does(midway: Midway, compare: Compare) {
    let _turn = crate::support::one_at_a_time();
    let broker = Tansu::start();
    broker.create_topics();
    let dir = tempfile::tempdir().unwrap();
    let lines = force(dir.path());
    let engine_config = force_config(dir.path(), &broker.bootstrap, "");
    accesswatch::live::lists::publish_dir(
        &accesswatch::config::Config::load(&engine_config).unwrap().kafka,
        &dir.path().join("force/watchlists"),
    )
    .unwrap();
    let hash = accesswatch::dashboard::auth::hash_password("correct horse");
    let db = dir.path().join("board.sqlite");
    let board_config = force_config(
        dir.path(),
        &broker.bootstrap,
        &format!(
            "[dashboard]\nenabled = true\ndb = \"{}\"\n[dashboard.users.acu]\npassword = \"{hash}\"\nrole = \"supervisor\"\noperations = true\n",
            db.display()
        ),
    );
    let spawn = |config: &std::path::Path, name: &str, cmd: &str| {
        let log = std::fs::File::create(dir.path().join(format!("{name}.log"))).unwrap();
        Engine(bin().args([cmd, "--config"]).arg(config).stdout(Stdio::null()).stderr(log).spawn().unwrap())
    };
    let board = spawn(&board_config, "board", "dashboard");
    let first = match midway {
        Midway::Kill => 3,
        Midway::Join => 2,
    };
    // Each engine its own configuration file: the same group, its own HTTP port.
    let own_config = || force_config(dir.path(), &broker.bootstrap, "");
    let mut engines: Vec<Engine> = (0..first).map(|n| spawn(&own_config(), &format!("engine{n}"), "run")).collect();
    std::thread::sleep(Duration::from_secs(12));
    for (n, e) in engines.iter_mut().enumerate() {
        let log = || std::fs::read_to_string(dir.path().join(format!("engine{n}.log"))).unwrap_or_default();
        assert!(e.0.try_wait().unwrap().is_none(), "engine{n} is not running:\n{}", log());
    }
    feed(&broker.bootstrap, &lines, 400, Duration::from_millis(60), |i| {
        if i == 200 {
            match midway {
                Midway::Kill => {
                    let _ = engines[0].0.kill(); // SIGKILL, halfway
                }
                Midway::Join => engines.push(spawn(&own_config(), "engine-late", "run")),
            }
        }
    });
    let compared = |a: &serde_json::Value| match compare {
        Compare::Everything => true,
        Compare::StatelessRules => STATELESS.contains(&a["rule"].as_str().unwrap_or_default()),
    };
    let expected = replay_of(dir.path(), &engine_config);
    assert!(expected.values().any(|a| a["rule"] == "behaviour.subject_spike"), "the force has its spike");
    let expected: std::collections::BTreeMap<_, _> = expected.into_iter().filter(|(_, a)| compared(a)).collect();
    let all_on_topic = || -> std::collections::BTreeMap<String, serde_json::Value> {
        latest_alerts(&broker.bootstrap).into_iter().map(|(k, v)| (k, normal(v))).collect()
    };
    let topic = || -> std::collections::BTreeMap<String, serde_json::Value> {
        all_on_topic().into_iter().filter(|(_, a)| compared(a)).collect()
    };
    let settled = wait_for(Duration::from_secs(150), || topic() == expected);
    let got = all_on_topic();
    // Everything on the topic reaches the board.
    let store = || accesswatch::dashboard::store::Store::open(&db).unwrap();
    let on_topic: std::collections::BTreeSet<String> = got.keys().cloned().collect();
    let held = wait_for(Duration::from_secs(30), || {
        store().alert_ids().unwrap().into_iter().collect::<std::collections::BTreeSet<_>>() == on_topic
    });
    drop(engines);
    drop(board);
    if !settled {
        // What the processes said, before the directory goes.
        for name in ["engine0", "engine1", "engine2", "engine-late", "board"] {
            let log = std::fs::read_to_string(dir.path().join(format!("{name}.log"))).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(25).collect();
            eprintln!("--- {name}.log (last lines, newest first)\n{}", tail.join("\n"));
        }
        // The force, the logs and every message of the alert topic as written (partition,
        // offset, payload) stay for a look at what differed.
        let raw: Vec<String> = read_topic(&broker.bootstrap, "access-alerts")
            .into_iter()
            .map(|(p, o, _, payload)| format!("{p}\t{o}\t{}", String::from_utf8_lossy(&payload)))
            .collect();
        std::fs::write(dir.path().join("topic.tsv"), raw.join("\n")).unwrap();
        eprintln!("the run's directory is kept: {}", dir.keep().display());
        assert_same_alerts(&expected, &topic());
    }
    assert!(held, "the board does not hold every alert of the topic");
}

/// What a group is compared with a single process on.
#[derive(Copy, Clone)]
enum Compare {
    /// The rules that need only the event and the watch lists: a moved partition
    /// changes nothing for them.
    StatelessRules,
    /// Every alert: the behavioural state of a partition's users (and the cross-user
    /// state of a repartition partition) moves with the partition, through the state
    /// topic.
    Everything,
}

/// The rules whose alerts depend on no state but the watch lists.
const STATELESS: &[&str] = &[
    "high_profile.uninvolved",
    "custody.uninvolved",
    "self.lookup",
    "associate.lookup",
    "neighbour.lookup",
    "colleague.lookup",
    "opsec.outsider",
    "account.status",
    "scope.unentitled",
];

#[test]
fn three_engines_one_killed_halfway_and_a_dashboard_service_raise_what_one_replay_does_by_the_watch_list_rules() {
    group_raises_what_one_replay_does(Midway::Kill, Compare::StatelessRules);
}

#[test]
fn an_engine_that_joins_halfway_changes_nothing_the_watch_list_rules_raise() {
    group_raises_what_one_replay_does(Midway::Join, Compare::StatelessRules);
}

#[test]
fn three_engines_one_killed_halfway_raise_every_alert_one_replay_does() {
    group_raises_what_one_replay_does(Midway::Kill, Compare::Everything);
}

#[test]
fn an_engine_that_joins_halfway_changes_no_alert_at_all() {
    group_raises_what_one_replay_does(Midway::Join, Compare::Everything);
}

#[test]
fn the_dashboard_service_stores_every_alert_once_and_rebuilds_a_lost_database_from_the_topic() {
    let _turn = crate::support::one_at_a_time();
    let cluster = MockCluster::new(1).unwrap();
    for (t, p) in topics() {
        cluster.create_topic(&t, p, 1).unwrap();
    }
    let bootstrap = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("board.sqlite");
    let hash = accesswatch::dashboard::auth::hash_password("correct horse");
    let text = format!(
        "{}\n[dashboard]\nenabled = true\ndb = \"{}\"\n[dashboard.users.acu]\npassword = \"{hash}\"\nrole = \"supervisor\"\n",
        config_text(&bootstrap, "board"),
        db.display()
    );
    let config = std::sync::Arc::new(accesswatch::config::Config::from_toml("board", &text).unwrap());
    // Alerts from "several engines": a replay's, on every partition, some twice (updates).
    let alerts: std::collections::BTreeMap<String, serde_json::Value> = {
        let mut lists = accesswatch::watchlist::WatchLists::default();
        for c in CASES {
            let (l, _) = accesswatch::watchlist::load_dir(&case_dir(c).join("watchlists")).unwrap();
            merge(&mut lists, l);
        }
        let mut engine =
            accesswatch::engine::Engine::new(config.clone(), lists, accesswatch::alert::book::DetectClock::EventTime);
        let mut sink = accesswatch::alert::CollectClosed::default();
        let mut events: Vec<_> =
            event_lines().iter().map(|l| accesswatch::event::json::decode(l.as_bytes()).unwrap()).collect();
        events.sort_by_key(|e| e.ts);
        for e in &events {
            engine.process(e, &mut sink);
        }
        engine.finish(&mut sink);
        sink.0.iter().map(|a| (a.alert_id.to_string(), serde_json::from_str(&a.to_json()).unwrap())).collect()
    };
    assert!(alerts.len() > 20);
    let messages: Vec<(String, String)> = alerts
        .values()
        .map(|a| (a["user_id"].as_str().unwrap().to_string(), a.to_string()))
        .chain(alerts.values().take(5).map(|a| (a["user_id"].as_str().unwrap().to_string(), a.to_string())))
        .collect();
    let produce_all = |m: &[(String, String)]| {
        let batch: Vec<(&str, Option<i32>, &[u8], &[u8])> =
            m.iter().map(|(k, v)| ("access-alerts", None, k.as_bytes(), v.as_bytes())).collect();
        produce(&bootstrap, &batch);
    };
    produce_all(&messages[..messages.len() / 2]);
    let held = || {
        accesswatch::dashboard::store::Store::open(&db)
            .map(|s| s.alert_ids().unwrap().into_iter().collect::<std::collections::BTreeSet<_>>())
            .unwrap_or_default()
    };
    let all: std::collections::BTreeSet<String> = alerts.keys().cloned().collect();

    let service = accesswatch::dashboard::serve(config.clone()).unwrap();
    assert!(wait_for(Duration::from_secs(30), || service.status.ready()), "the dashboard service is not ready");
    // Its gauge says so too (a probe: it stayed 0, and the shipped alert on it fired).
    assert!(wait_for(Duration::from_secs(10), || service.metrics.ready.get() == 1), "accesswatch_ready stays 0");
    produce_all(&messages[messages.len() / 2..]);
    assert!(wait_for(Duration::from_secs(30), || held() == all), "not every alert was stored");
    service.stop();
    service.join().unwrap();

    // A restart resumes where the database says: nothing read twice, nothing lost.
    let late = &alerts.values().next().unwrap();
    let mut updated = (*late).clone();
    updated["event_ids"].as_array_mut().unwrap().push("e-late".into());
    produce_all(&[(updated["user_id"].as_str().unwrap().to_string(), updated.to_string())]);
    let service = accesswatch::dashboard::serve(config.clone()).unwrap();
    let store = accesswatch::dashboard::store::Store::open(&db).unwrap();
    let id = updated["alert_id"].as_str().unwrap();
    assert!(wait_for(Duration::from_secs(30), || store.alert(id).unwrap().is_some_and(|r| r
        .alert
        .event_ids
        .iter()
        .any(|e| e == "e-late"))));
    service.stop();
    service.join().unwrap();

    // The database is lost: the service rebuilds it from the topic.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let service = accesswatch::dashboard::serve(config).unwrap();
    assert!(wait_for(Duration::from_secs(30), || held() == all), "the lost database was not rebuilt");
    service.stop();
    service.join().unwrap();
}
