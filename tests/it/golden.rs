//! Golden tests: each directory under `tests/golden/<case>/` holds input events
//! (`input/`), watch lists (`watchlists/`), an optional `config.toml`, and the
//! expected alerts (`expected_alerts.jsonl`), dead letters
//! (`expected_dead_letters.jsonl`) and summary, with the accesses counted by what
//! explains them (`expected_summary.json`). The replay must reproduce them byte for
//! byte.
//!
//! Regenerate after a deliberate change, then review the diff:
//!
//! ```text
//! UPDATE_GOLDEN=1 cargo test --test it golden
//! git diff tests/golden
//! ```

use crate::support::{bin, read_jsonl, root, run_ok};
use std::collections::BTreeSet;
use std::path::Path;

fn cases() -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir(root().join("tests/golden"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("input").is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Replays one case into `out` and returns (alerts, dead letters, summary) as text.
fn replay_case(case: &Path, out: &Path) -> (String, String, String) {
    let mut inputs: Vec<String> = std::fs::read_dir(case.join("input"))
        .unwrap()
        .map(|e| format!("input/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    inputs.sort();
    let alerts = out.join("alerts.jsonl");
    let dead = out.join("dead.jsonl");
    let mut cmd = bin();
    cmd.current_dir(case)
        .args(["replay", "--quiet", "--watchlists", "watchlists", "--alerts"])
        .arg(&alerts)
        .arg("--dead-letters")
        .arg(&dead);
    if case.join("config.toml").exists() {
        cmd.args(["--config", "config.toml"]);
    }
    cmd.args(&inputs);
    run_ok(&mut cmd);
    let summary = std::fs::read_to_string(out.join("alerts.summary.json")).unwrap();
    (std::fs::read_to_string(alerts).unwrap(), std::fs::read_to_string(dead).unwrap(), summary)
}

fn compare(case: &Path, file: &str, actual: &str, update: bool) -> Option<String> {
    let path = case.join(file);
    if update {
        std::fs::write(&path, actual).unwrap();
        return None;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected == actual {
        return None;
    }
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let at = e.iter().zip(&a).position(|(x, y)| x != y).unwrap_or(e.len().min(a.len()));
    Some(format!(
        "{}: differs at line {} ({} lines expected, {} got)\n  expected: {}\n  actual:   {}\n(UPDATE_GOLDEN=1 regenerates)",
        path.display(),
        at + 1,
        e.len(),
        a.len(),
        e.get(at).unwrap_or(&"<none>"),
        a.get(at).unwrap_or(&"<none>"),
    ))
}

#[test]
fn golden_cases_reproduce_and_cover_every_watchlist_rule() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    let mut rules_seen = BTreeSet::new();
    for case in cases() {
        let out = tempfile::tempdir().unwrap();
        let (alerts, dead, summary) = replay_case(&case, out.path());
        failures.extend(compare(&case, "expected_alerts.jsonl", &alerts, update));
        failures.extend(compare(&case, "expected_dead_letters.jsonl", &dead, update));
        failures.extend(compare(&case, "expected_summary.json", &summary, update));
        for a in read_jsonl(&out.path().join("alerts.jsonl")) {
            rules_seen.insert(a["rule"].as_str().unwrap().to_string());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    for rule in [
        "high_profile.uninvolved",
        "custody.uninvolved",
        "self.lookup",
        "associate.lookup",
        "neighbour.lookup",
        "colleague.lookup",
        "purpose.missing",
        "opsec.outsider",
        "account.status",
        "scope.unentitled",
        "victim.contact",
        "behaviour.targeting",
    ] {
        assert!(rules_seen.contains(rule), "no golden case raises {rule}");
    }
}
