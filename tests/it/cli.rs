//! The command line's checks and errors.

use crate::support::{bin, root, run_ok};

#[test]
fn example_config_checks_ok() {
    let out = run_ok(bin().current_dir(root()).args(["check-config", "--config", "config/example.toml"]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("config/example.toml: OK"));
}

#[test]
fn bad_config_reports_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[rules.custody.uninvolved]\nseverity = \"orange\"\n\n[rules.custody.uninvolved.allow]\n")
        .unwrap();
    let out = bin().arg("check-config").arg("--config").arg(&path).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:2: rules.custody.uninvolved.severity: expected red, amber or green"), "{err}");
    assert!(err.contains("rules.custody.uninvolved.allow"), "{err}");
}

#[test]
fn bad_watch_list_reports_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("high_profile.csv"),
        "entry_id,subject_name,added_at,category\nHP1,\"STAR, Ann\",2026-11-01T00:00:00Z,celebrity\nHP2,\"X, Y\",soon,rockstar\n",
    )
    .unwrap();
    let out = bin().arg("check-config").arg("--watchlists").arg(dir.path()).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("high_profile.csv:3: column `added_at`"), "{err}");
    assert!(err.contains("high_profile.csv:3: column `category`: unknown value \"rockstar\""), "{err}");
}

#[test]
fn replay_errors_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let lists = dir.path().join("lists");
    std::fs::create_dir(&lists).unwrap();
    let out = bin()
        .current_dir(dir.path())
        .args(["replay", "--watchlists", "lists", "--alerts", "a.jsonl", "--source", "nosuch", "x.jsonl"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("no source mapping named \"nosuch\""));
    let out = bin()
        .current_dir(dir.path())
        .args(["replay", "--watchlists", "lists", "--alerts", "a.jsonl", "missing.jsonl"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.jsonl"));
    let out = bin()
        .current_dir(dir.path())
        .args(["replay", "--watchlists", "lists", "--alerts", "a.jsonl", "events.txt"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot tell the format"));
}
