//! The live engine as a user runs it: `/metrics` checked by Prometheus's own tool, and
//! a crash (SIGKILL) mid-stream followed by a restart that loses nothing.

use crate::kafka::*;
use crate::support::{bin, root};
use accesswatch::service::Service;
use rdkafka::mocking::MockCluster;
use std::io::{Read, Write};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A plain HTTP/1.0 GET; returns (status, body).
pub fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Some((status, body))
}

/// `promtool`, from Debian's `prometheus` package (tests/setup.sh installs it).
fn promtool() -> std::path::PathBuf {
    which("promtool").expect("promtool not found: install Debian's prometheus package (tests/setup.sh does)")
}

pub fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| std::path::Path::new(d).join(name))
        .chain(
            [".cargo/bin", ".local/bin"]
                .map(|d| std::path::PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(d).join(name)),
        )
        .find(|p| p.is_file())
}

#[test]
fn metrics_endpoint_passes_promtool_and_says_what_it_should() {
    let cluster = MockCluster::new(1).unwrap();
    for (t, p) in topics() {
        cluster.create_topic(&t, p, 1).unwrap();
    }
    let bootstrap = cluster.bootstrap_servers();
    let config = config(&bootstrap, "metrics");
    publish_watchlists(&config);
    let service = Service::start(Arc::new(config.clone()), accesswatch::http::router).unwrap();
    let addr = service.http_addr.to_string();
    assert!(wait_for(Duration::from_secs(30), || http_get(&addr, "/readyz").is_some_and(|(s, _)| s == 200)));
    produce_events(&bootstrap, &event_lines());
    produce(&bootstrap, &[("access-events", None, b"k", b"not json")]);
    assert!(wait_for(Duration::from_secs(30), || http_get(&addr, "/metrics")
        .is_some_and(|(_, b)| b.contains("accesswatch_dead_letters_total{reason=\"bad_json\"} 1"))));
    // Consumer lag comes with librdkafka's statistics (every 5 s): wait for them, with
    // room for a busy machine.
    assert!(wait_for(Duration::from_secs(30), || http_get(&addr, "/metrics")
        .is_some_and(|(_, b)| b.contains("accesswatch_consumer_lag{partition="))));
    let (status, body) = http_get(&addr, "/metrics").unwrap();
    assert_eq!(status, 200);
    assert_eq!(http_get(&addr, "/healthz").unwrap().0, 200);
    service.stop();
    service.join().unwrap();

    for needle in [
        "accesswatch_events_total{system=\"PNC\"}",
        "accesswatch_alerts_total{rule=\"high_profile.uninvolved\",severity=\"red\"}",
        "accesswatch_consumer_lag{partition=",
        "accesswatch_watchlist_rows{table=\"staff\"}",
        "accesswatch_processing_seconds{quantile=\"0.99\"}",
        "accesswatch_event_to_alert_seconds{quantile=\"0.99\"}",
        "accesswatch_ready 1",
    ] {
        assert!(body.contains(needle), "/metrics lacks {needle}:\n{body}");
    }
    crate::deploy::assert_dashboard_uses_exported_metrics(&body);
    let mut check = std::process::Command::new(promtool())
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A free loopback port (released for the child to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn spawn_engine(config_path: &std::path::Path, log: &std::path::Path) -> Child {
    bin()
        .args(["run", "--config"])
        .arg(config_path)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

#[test]
fn a_crash_mid_stream_loses_no_alert_and_duplicates_keep_their_ids() {
    let _turn = crate::support::one_at_a_time();
    let cluster = MockCluster::new(1).unwrap();
    for (t, p) in topics() {
        cluster.create_topic(&t, p, 1).unwrap();
    }
    let bootstrap = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    // A small generated force: enough events that the crash lands mid-stream.
    crate::support::run_ok(
        bin()
            .args(["generate", "--staff", "150", "--citizens", "3000", "--days", "7", "--out"])
            .arg(dir.path().join("force")),
    );
    let force = dir.path().join("force");
    let port = free_port();
    // The behavioural state is snapshotted every half second. Subject spikes and the
    // peer comparison are off here: they count across partitions, so a live engine
    // consuming four partitions side by side sees events in a different order than
    // the replay this test compares with.
    let config_text = format!(
        "{}\n[kafka]\nbootstrap_servers = \"{bootstrap}\"\ngroup_id = \"crash\"\ncommit_interval = \"100ms\"\n[kafka.properties]\n\"session.timeout.ms\" = \"6000\"\n\"heartbeat.interval.ms\" = \"500\"\n[http]\nlisten = \"127.0.0.1:{port}\"\n[state]\ndir = \"{}\"\nsnapshot_interval = \"500ms\"\n[rules.behaviour.subject_spike]\nenabled = false\n[rules.purpose.missing]\npeer_comparison = false\n",
        std::fs::read_to_string(force.join("config.toml")).unwrap(),
        dir.path().join("state").display()
    );
    let config_path = dir.path().join("engine.toml");
    std::fs::write(&config_path, &config_text).unwrap();
    let config = accesswatch::config::Config::load(&config_path).unwrap();
    accesswatch::live::lists::publish_dir(&config.kafka, &force.join("watchlists")).unwrap();

    let lines: Vec<String> =
        std::fs::read_to_string(force.join("events.jsonl")).unwrap().lines().map(String::from).collect();
    // What a replay of the same events raises: the alerts the topic must end with.
    let expected = {
        let (lists, _) = accesswatch::watchlist::load_dir(&force.join("watchlists")).unwrap();
        let mut e = accesswatch::engine::Engine::new(
            Arc::new(config.clone()),
            lists,
            accesswatch::alert::book::DetectClock::EventTime,
        );
        let mut sink = accesswatch::alert::CollectClosed::default();
        for l in &lines {
            e.process(&accesswatch::event::json::decode(l.as_bytes()).unwrap(), &mut sink);
        }
        e.finish(&mut sink);
        sink.0
    };
    let expected_ids: std::collections::BTreeMap<String, Vec<String>> = expected
        .iter()
        .map(|a| (a.alert_id.to_string(), a.event_ids.iter().map(|e| e.to_string()).collect()))
        .collect();
    let addr = format!("127.0.0.1:{port}");
    let log1 = dir.path().join("engine1.log");
    let mut engine = spawn_engine(&config_path, &log1);
    assert!(
        wait_for(Duration::from_secs(30), || http_get(&addr, "/readyz").is_some_and(|(s, _)| s == 200)),
        "engine not ready:\n{}",
        std::fs::read_to_string(&log1).unwrap_or_default()
    );
    // The stream keeps flowing in chunks while the engine is killed and restarted, as
    // it would in a force: the engine is fast enough to finish a preloaded topic
    // before the kill lands.
    let feeder = {
        let (bootstrap, lines) = (bootstrap.clone(), lines.clone());
        std::thread::spawn(move || {
            for chunk in lines.chunks(lines.len().div_ceil(40)) {
                produce_events(&bootstrap, chunk);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };

    // Kill it once it has published a third of the alerts but is far from done (the
    // distinct alerts: an open alert's updates go out once a second, not per access).
    let alerts_so_far = || read_topic(&bootstrap, "access-alerts").len();
    assert!(wait_for(Duration::from_secs(30), || latest_alerts(&bootstrap).len() * 3 > expected_ids.len()));
    engine.kill().unwrap(); // SIGKILL
    engine.wait().unwrap();
    let at_crash = alerts_so_far();

    let log2 = dir.path().join("engine2.log");
    let mut engine = spawn_engine(&config_path, &log2);
    feeder.join().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut got = std::collections::BTreeMap::new();
    while Instant::now() < deadline {
        got = latest_alerts(&bootstrap)
            .into_iter()
            .map(|(id, a)| {
                (
                    id,
                    a["event_ids"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|e| e.as_str().unwrap().to_string())
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        if got == expected_ids {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let _ = std::process::Command::new("kill").arg("-TERM").arg(engine.id().to_string()).status();
    let status = engine.wait().unwrap();
    let log = std::fs::read_to_string(&log2).unwrap_or_default();
    assert!(at_crash < read_topic(&bootstrap, "access-alerts").len(), "the crash was not mid-stream");
    let topic = latest_alerts(&bootstrap);
    let missing: Vec<_> = expected_ids
        .keys()
        .filter(|k| !got.contains_key(*k))
        .take(5)
        .map(|k| {
            let a = expected.iter().find(|a| a.alert_id == k.as_str()).unwrap();
            format!("{k} {} {} {:?} {}", a.rule, a.user_id, a.event_ids, a.reason)
        })
        .collect();
    let extra: Vec<_> = got
        .keys()
        .filter(|k| !expected_ids.contains_key(*k))
        .take(5)
        .map(|k| format!("{k} {}", topic.get(k).map(|a| a.to_string()).unwrap_or_default()))
        .collect();
    let differ: Vec<_> =
        expected_ids.iter().filter(|(k, v)| got.get(*k).is_some_and(|g| g != *v)).map(|(k, _)| k).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty() && differ.is_empty(),
        "after the crash: {} expected, {} on the topic; missing {missing:?}, extra ids {extra:?}, different evidence {differ:?}\nrestart log:\n{log}",
        expected_ids.len(),
        got.len()
    );
    assert!(status.success(), "SIGTERM should stop the engine cleanly:\n{log}");
    assert!(log.contains("open alerts restored stream="), "the restart restored no open alert:\n{log}");
    assert!(log.contains("behavioural state restored from the snapshot"), "no snapshot was used:\n{log}");

    // A source that sends its last events again after another restart: their copies are
    // in the snapshot the engine wrote as it stopped, so they are counted, not judged.
    let log3 = dir.path().join("engine3.log");
    let mut engine = spawn_engine(&config_path, &log3);
    assert!(wait_for(Duration::from_secs(30), || http_get(&addr, "/readyz").is_some_and(|(s, _)| s == 200)));
    let sent_again = &lines[lines.len() - 100..];
    produce_events(&bootstrap, sent_again);
    let copies = || {
        let (_, text) = http_get(&addr, "/metrics").unwrap_or_default();
        let total = |name: &str| -> f64 {
            text.lines().filter(|l| l.starts_with(name)).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum()
        };
        (total("accesswatch_event_copies_total"), total("accesswatch_events_total"))
    };
    let counted = wait_for(Duration::from_secs(30), || copies().0 >= sent_again.len() as f64);
    let _ = std::process::Command::new("kill").arg("-TERM").arg(engine.id().to_string()).status();
    engine.wait().unwrap();
    let log = std::fs::read_to_string(&log3).unwrap_or_default();
    // (Judged again, they would raise alerts of the same ids: the count is what tells.)
    assert!(counted, "events sent again after a restart were not counted as copies: {:?}\n{log}", copies());
    let _ = root();
}

/// The dashboard of `accesswatch run` is fed from the alert topic, as the dashboard
/// service is: alerts the engine published while the board was not there (stopped
/// before the board had them, or before the dashboard was switched on) are on the
/// board once the engine runs with it, with no new event (a probe: handed over in
/// memory, up to half the alerts of a stop never reached the board, and a restart did
/// not bring them back).
#[test]
fn the_dashboard_in_run_holds_every_alert_on_the_topic() {
    use accesswatch::dashboard::{scope::Scope, store};
    let cluster = MockCluster::new(1).unwrap();
    for (t, p) in topics() {
        cluster.create_topic(&t, p, 1).unwrap();
    }
    let bootstrap = cluster.bootstrap_servers();
    let config = config(&bootstrap, "board");
    publish_watchlists(&config);
    let expected = replay_expectation(&config, &event_lines());
    assert!(!expected.is_empty());
    let service = Service::start(Arc::new(config.clone()), accesswatch::http::router).unwrap();
    produce_events(&bootstrap, &event_lines());
    assert!(wait_for(Duration::from_secs(60), || latest_alerts(&bootstrap).len() >= expected.len()));
    service.stop();
    service.join().unwrap();
    let on_topic = latest_alerts(&bootstrap);

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("board.sqlite");
    let hash = accesswatch::dashboard::auth::hash_password("a long test password");
    let text = format!(
        "{}\n[dashboard]\nenabled = true\ndb = \"{}\"\n[dashboard.users.sup]\npassword = \"{hash}\"\nrole = \"supervisor\"\noperations = true\n",
        config_text(&bootstrap, "board"),
        db.display()
    );
    let with_board = Arc::new(accesswatch::config::Config::from_toml("test", &text).unwrap());
    let routes = with_board.clone();
    let service = Service::start_with(with_board, move |h| accesswatch::dashboard::with_dashboard(&routes, h)).unwrap();
    let everyone = Scope { operations: true, ..Scope::default() };
    let on_board = || {
        let rows = store::Store::open(&db).and_then(|s| Ok(s.alerts(&store::Filter::default(), &everyone)?));
        rows.map(|r| r.into_iter().map(|row| row.alert.alert_id.to_string()).collect::<Vec<_>>()).unwrap_or_default()
    };
    let held = wait_for(Duration::from_secs(60), || on_board().len() >= on_topic.len());
    service.stop();
    service.join().unwrap();
    assert!(held, "{} alerts on the board of {} on the topic", on_board().len(), on_topic.len());
    let mut board = on_board();
    board.sort();
    assert_eq!(board, on_topic.keys().cloned().collect::<Vec<_>>());
}
