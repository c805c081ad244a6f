//! The dashboard in headless Chromium (Debian's `chromium`, driven by `playwright-core`
//! from npm; `tests/setup.sh` installs both): the demo runs with its dashboard, and
//! `tests/browser/dashboard.mjs` signs in, sees a live alert arrive without reloading,
//! opens and acknowledges it, opens the user's timeline, checks an analyst cannot open
//! the audit trail and, uncleared, finds no trace of the demo's covert operation on the
//! board, the charts, a subject search or the briefing, and sees officers only as
//! pseudonyms; it saves screenshots to `target/browser-artifacts/`.

use crate::support::{bin, root};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn a_supervisor_triages_a_live_alert_in_chromium_and_an_uncleared_analyst_finds_no_trace_of_the_operation() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let driver = root().join("tests/browser/node_modules/playwright-core");
    assert!(
        std::path::Path::new(&chromium).exists() && driver.exists(),
        "the browser test needs {chromium} and {}: run `bash tests/setup.sh`",
        driver.display()
    );
    let mut demo = bin()
        .args(["demo", "--listen", "127.0.0.1:0", "--rate", "400", "--staff", "200", "--seconds", "150"])
        .args(["--dashboard-password", "browser-test-pw"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = demo.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("dashboard at ") {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or_default().to_string());
            }
        }
    });
    let url = rx.recv_timeout(Duration::from_secs(60)).expect("the demo did not start its dashboard");
    let out = root().join("target/browser-artifacts");
    std::fs::create_dir_all(&out).unwrap();
    let started = Instant::now();
    let result = Command::new("node")
        .arg(root().join("tests/browser/dashboard.mjs"))
        .args([&url, "browser-test-pw", &out.display().to_string()])
        .env("CHROMIUM", &chromium)
        .output()
        .unwrap();
    let _ = demo.kill();
    let _ = demo.wait();
    let log = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success(),
        "browser test failed after {:?}:\n{log}\n{}",
        started.elapsed(),
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(log.contains("step: done"), "{log}");
    for shot in ["board.png", "briefing.png", "analyst.png"] {
        assert!(std::fs::metadata(out.join(shot)).unwrap().len() > 10_000, "{shot} is missing or empty");
    }
}
