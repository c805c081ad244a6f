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
    let cluster = MockCluster::new(1).unwrap();
    for (t, p) in topics() {
        cluster.create_topic(&t, p, 1).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    survivors_take_over(&cluster.bootstrap_servers(), dir.path());
}

#[test]
fn tansu_survivors_take_over() {
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
