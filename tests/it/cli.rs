//! The command line's checks and errors.

use crate::support::{bin, root, run_ok};

#[test]
fn example_config_checks_ok() {
    let out = run_ok(bin().current_dir(root()).args(["check-config", "--config", "config/example.toml"]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("config/example.toml: OK"));
}

/// Output piped into a reader that has gone (`check-config | head -0`) ends the
/// command as any Unix tool ends, not with a panic (a probe: exit 101 and a backtrace).
#[test]
fn a_closed_output_pipe_ends_a_command_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = bin()
        .current_dir(root())
        .args(["check-config", "--config", "config/example.toml"])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{:?} {stderr}", out.status);
}

/// A dashboard enabled with no accounts, which the services refuse at start, is a
/// fault of check-config too (a probe: "OK", then nothing would start).
#[test]
fn a_dashboard_without_accounts_is_a_fault() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "[dashboard]\nenabled = true\n").unwrap();
    let out = bin().arg("check-config").arg("--config").arg(&path).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("c.toml: dashboard.users: the dashboard is enabled and has no accounts"), "{err}");
}

/// check-config with the watch lists refuses what the dashboard service would log at
/// start: an account's staff id the staff list does not hold (its own alerts would be
/// shown to it), whether or not the engine's `enabled` is set.
#[test]
fn a_dashboard_account_not_in_the_staff_list_is_a_fault() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    let hash = accesswatch::dashboard::auth::hash_password("a long test password");
    let account = format!("[dashboard.users.ana]\npassword = \"{hash}\"\nstaff_id = \"U1OOO0\"\n");
    std::fs::write(&path, account).unwrap();
    let lists = root().join("examples/force/watchlists");
    let out = bin().arg("check-config").arg("--config").arg(&path).arg("--watchlists").arg(&lists).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("dashboard.users.ana.staff_id: \"U1OOO0\" is not in the staff list"), "{err}");
}

/// An allow entry already past its expiry is kept (a replay of the months it covered
/// needs it) and noted: a live engine no longer applies it.
#[test]
fn an_expired_allow_entry_is_noted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    let entry = |reason: &str, expires: &str| {
        format!(
            "[[rules.custody.uninvolved.allow]]\nusers = [\"u1\"]\nreason = \"{reason}\"\nexpires = \"{expires}\"\n"
        )
    };
    let text = entry("PACE reviews 2020", "2020-03-31") + &entry("PACE reviews 2999", "2999-03-31");
    std::fs::write(&path, text).unwrap();
    let out = bin().arg("check-config").arg("--config").arg(&path).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("rules.custody.uninvolved.allow \"PACE reviews 2020\" expired at 2020-04-01"), "{err}");
    assert!(!err.contains("2999"), "{err}");
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

#[test]
fn report_writes_the_briefing_from_the_dashboard_database_and_hash_password_makes_a_usable_hash() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.sqlite");
    let store = accesswatch::dashboard::store::Store::open(&db).unwrap();
    let text =
        std::fs::read_to_string(crate::support::root().join("tests/golden/custody/expected_alerts.jsonl")).unwrap();
    let alerts: Vec<accesswatch::alert::Alert> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for a in &alerts {
        store.upsert_alert(a).unwrap();
    }
    let reds = alerts.iter().filter(|a| a.severity == accesswatch::alert::Severity::Red).count();
    assert!(reds > 0);
    drop(store);

    let mut child = crate::support::bin()
        .arg("hash-password")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"s3cret pass\n").unwrap();
    let hash = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap().trim().to_string();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!("[dashboard]\nenabled = true\ndb = \"{}\"\n[dashboard.users.sam]\npassword = \"{hash}\"\nrole = \"supervisor\"\n", db.display()),
    )
    .unwrap();
    run_ok(crate::support::bin().args(["check-config", "--config"]).arg(&config));

    let out = dir.path().join("brief.html");
    let printed = run_ok(
        crate::support::bin().args(["report", "--since", "24h", "--config"]).arg(&config).arg("--out").arg(&out),
    );
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains(&format!("Red alerts ({reds})")), "{html}");
    assert!(html.contains(
        &alerts.iter().find(|a| a.severity == accesswatch::alert::Severity::Red).unwrap().reason.replace('&', "&amp;")
    ));
    assert!(String::from_utf8_lossy(&printed.stdout).contains(&format!("{reds} red")));

    // A bad role or a password that is not a hash is reported with the key.
    std::fs::write(&config, "[dashboard.users.sam]\npassword = \"plain\"\nrole = \"boss\"\n").unwrap();
    let out = crate::support::bin().args(["check-config", "--config"]).arg(&config).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("dashboard.users.sam.password") && err.contains("dashboard.users.sam.role"), "{err}");
}

#[test]
fn audit_verify_names_the_row_someone_changed_in_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dashboard.sqlite");
    let config = dir.path().join("engine.toml");
    std::fs::write(&config, format!("[dashboard]\ndb = \"{}\"\n", db.display())).unwrap();
    {
        let store = accesswatch::dashboard::store::Store::open(&db).unwrap();
        for i in 0..6 {
            store.audit("ana", "analyst", "view alert", &format!("A{i}")).unwrap();
        }
    }
    let out = run_ok(bin().args(["audit", "verify", "--config"]).arg(&config));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("audit trail intact: 6 rows chained, head "), "{text}");
    // Someone with the file drops the triggers and rewrites a row.
    {
        let store = accesswatch::dashboard::store::Store::open(&db).unwrap();
        store.execute_raw("DROP TRIGGER audit_no_update").unwrap();
        store.execute_raw("UPDATE audit SET who = 'someone else' WHERE id = 4").unwrap();
    }
    let out = bin().args(["audit", "verify", "--config"]).arg(&config).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("BROKEN at row 4"), "{err}");
}
