//! Memory of the behavioural state per active user.
//!
//! ```text
//! cargo bench --bench state                       # 100,000 active users
//! cargo bench --bench state -- 250000             # another count
//! cargo bench --bench state -- explained          # every access explained
//! ```
//!
//! Every user makes 20 unjustified accesses within the last hour (searches, some with
//! no result, of people seen by a few other users too), so each user's volume and
//! fishing windows, hour histogram and peer rates are all populated, and each person
//! has subject-spike state. With `explained`, every access is instead a search with a
//! result under an encounter code (a stop): explained, so the detectors' windows stay
//! empty and the engine remembers each one for the view that may follow it (the
//! `earlier` explanation). Prints the behavioural state's own estimate of its heap use
//! and the growth of the process's resident memory (everything the engine keeps).

use accesswatch::alert::book::{CollectClosed, DetectClock};
use accesswatch::config::Config;
use accesswatch::engine::Engine;
use accesswatch::event::json;
use accesswatch::watchlist::WatchLists;
use std::sync::Arc;

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

fn main() {
    let users: u64 = std::env::args().filter_map(|a| a.parse().ok()).next().unwrap_or(100_000);
    let explained = std::env::args().any(|a| a == "explained");
    let per_user = 20u64;
    let people = users * per_user / 4; // each person looked up by about four users
                                       // Events are made up front so that only the engine's growth is measured.
    let start = 1_794_787_200_000i64 + 10 * 3_600_000; // 2026-11-16 10:00 UTC
    let span_ms = 3_600_000i64;
    let total = users * per_user;
    let events: Vec<_> = (0..total)
        .map(|i| {
            let user = i % users;
            let person = (i * 7_919) % people;
            let ts = accesswatch::time::Timestamp(start + (i as i64 * span_ms) / total as i64);
            let (result_count, reason) = if explained { (1, r#","reason_code":"STOP""#) } else { ((i % 3).min(1), "") };
            let line = format!(
                r#"{{"event_id":"e{i}","ts":"{ts}","system":"PNC","user_id":"U{user:07}","action":"search","subject_type":"person","subject_name":"PERSON{person}, Alan","subject_dob":"1980-01-01","result_count":{result_count}{reason}}}"#
            );
            json::decode(line.as_bytes()).unwrap()
        })
        .collect();
    let config = Config::from_toml("bench", "[rules.purpose.missing]\nenabled = false\n").unwrap();
    let before = rss_bytes();
    let mut engine = Engine::new(Arc::new(config), WatchLists::default(), DetectClock::EventTime);
    let mut sink = CollectClosed::default();
    let started = std::time::Instant::now();
    for e in &events {
        engine.process(e, &mut sink);
    }
    let secs = started.elapsed().as_secs_f64();
    let grown = rss_bytes().saturating_sub(before);
    let stats = engine.behaviour_stats();
    let heap = engine.behaviour_heap_bytes();
    println!(
        "{} active users ({per_user} {} accesses each in one hour), {} people: state estimate {:.0} MB ({:.0} bytes per user incl. their share of subjects); process grew {:.0} MB ({:.0} bytes per user); {} events in {secs:.2}s",
        stats.users,
        if explained { "explained" } else { "unexplained" },
        stats.subjects,
        heap as f64 / 1e6,
        heap as f64 / stats.users.max(1) as f64,
        grown as f64 / 1e6,
        grown as f64 / stats.users.max(1) as f64,
        events.len()
    );
    // The open alerts are part of the growth too; say how many.
    println!("open alerts at the end: {}", engine.open_alerts());

    // Two days on, one access by someone else: the sweep it runs forgets from every
    // user's windows what no later access can count.
    let later = accesswatch::time::Timestamp(start + 2 * 24 * span_ms);
    let line = format!(
        r#"{{"event_id":"later","ts":"{later}","system":"PNC","user_id":"U-later","action":"view","subject_type":"vehicle","subject_vrm":"AB12CDE"}}"#
    );
    engine.process(&json::decode(line.as_bytes()).unwrap(), &mut sink);
    engine.finish(&mut sink); // the input ends: a jump in time is accepted, not held
    let quiet = engine.behaviour_heap_bytes();
    println!(
        "two days later, the same users quiet: state estimate {:.0} MB ({:.0} bytes per user incl. their share of subjects)",
        quiet as f64 / 1e6,
        quiet as f64 / stats.users.max(1) as f64
    );
}
