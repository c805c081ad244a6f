//! Shared set-up for the benches: a generated force, made once per bench binary.

use std::path::PathBuf;

/// A generated force of about 340,000 events (the `generate` defaults), cached under
/// `target/bench-data/force`.
pub fn force() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/force");
    if !dir.join("labels.jsonl").exists() {
        let opts = accesswatch::generate::Options::default();
        accesswatch::generate::generate(&opts, &dir).expect("generate the bench force");
    }
    dir
}

/// The first `n` lines of the force's events.
pub fn event_lines(n: usize) -> Vec<String> {
    let text = std::fs::read_to_string(force().join("events.jsonl")).expect("read events");
    text.lines().take(n).map(str::to_string).collect()
}
