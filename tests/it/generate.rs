//! The synthetic force: reproducible, every scenario present, every scenario of an
//! scenario caught, few false alerts.

use crate::support::{bin, read_jsonl, run_ok};
use accesswatch::evaluate::evaluate_files;
use accesswatch::generate::Scenario;
use std::path::Path;

fn generate(dir: &Path, seed: &str) {
    run_ok(
        bin()
            .args(["generate", "--seed", seed, "--days", "10", "--staff", "400", "--citizens", "8000", "--out"])
            .arg(dir),
    );
}

#[test]
fn same_seed_same_bytes_and_another_seed_differs() {
    let (a, b, c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    generate(a.path(), "7");
    generate(b.path(), "7");
    generate(c.path(), "8");
    for file in
        ["events.jsonl", "labels.jsonl", "watchlists/custody.csv", "watchlists/staff.csv", "watchlists/incidents.csv"]
    {
        let x = std::fs::read(a.path().join(file)).unwrap();
        assert!(!x.is_empty(), "{file} is empty");
        assert_eq!(x, std::fs::read(b.path().join(file)).unwrap(), "{file} differs between runs with one seed");
    }
    assert_ne!(
        std::fs::read(a.path().join("events.jsonl")).unwrap(),
        std::fs::read(c.path().join("events.jsonl")).unwrap()
    );
}

#[test]
fn events_are_in_time_order_and_canonical() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), "3");
    let text = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
    let mut last = accesswatch::time::Timestamp(i64::MIN);
    let mut n = 0;
    for line in text.lines() {
        let e = accesswatch::event::json::decode(line.as_bytes()).unwrap_or_else(|err| panic!("{err}: {line}"));
        assert!(e.ts >= last, "out of order at {}", e.event_id);
        last = e.ts;
        n += 1;
    }
    assert!(n > 50_000, "{n} events");
    // The watch lists load without a fault, and so does the force's configuration.
    run_ok(
        bin()
            .arg("check-config")
            .arg("--config")
            .arg(dir.path().join("config.toml"))
            .arg("--watchlists")
            .arg(dir.path().join("watchlists")),
    );
}

#[test]
fn every_scenario_is_present_and_every_covered_one_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    generate(d, "11");
    let labels = read_jsonl(&d.join("labels.jsonl"));
    for s in Scenario::ALL {
        let with_events = labels
            .iter()
            .filter(|l| l["scenario"] == s.name() && !l["event_ids"].as_array().unwrap().is_empty())
            .count();
        assert!(with_events > 0, "scenario {} has no instance with events", s.name());
    }
    run_ok(
        bin()
            .args(["replay", "--quiet", "--config"])
            .arg(d.join("config.toml"))
            .arg("--watchlists")
            .arg(d.join("watchlists"))
            .arg("--alerts")
            .arg(d.join("alerts.jsonl"))
            .arg(d.join("events.jsonl")),
    );
    let eval = evaluate_files(&d.join("labels.jsonl"), &d.join("alerts.jsonl"), &d.join("events.jsonl")).unwrap();
    for s in &eval.scenarios {
        assert_eq!(s.caught, s.instances, "{} missed {:?}\n{eval}", s.scenario, s.missed);
    }
    let false_rate = eval.false_per_10k(eval.total_false());
    assert!(false_rate < 5.0, "{false_rate:.2} red/amber false alerts per 10k events\n{eval}");
    // The CLI prints the same table.
    let out = run_ok(
        bin().arg("evaluate").arg("--labels").arg(d.join("labels.jsonl")).arg("--alerts").arg(d.join("alerts.jsonl")),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("overall: recall 1.00"));
    // The same alerts given twice (a file appended to again) are the same alerts; an
    // empty events file is refused, not taken for no events at all.
    let twice = d.join("twice.jsonl");
    let text = std::fs::read_to_string(d.join("alerts.jsonl")).unwrap();
    std::fs::write(&twice, format!("{text}{text}")).unwrap();
    let again = evaluate_files(&d.join("labels.jsonl"), &twice, &d.join("events.jsonl")).unwrap();
    assert_eq!((again.total_false(), &again.alerts), (eval.total_false(), &eval.alerts));
    let empty = evaluate_files(&d.join("labels.jsonl"), &twice, std::path::Path::new("/dev/null"));
    assert!(empty.is_err_and(|e| e.to_string().contains("no events")));
}
