//! Rule evaluation throughput: already-parsed events through the engine (enrich, the
//! explanations, every rule and behavioural detector the generated force's
//! configuration enables, allow lists, the alert book) against its watch lists.
//! Parsing and loading are outside the timing.

use accesswatch::alert::book::DetectClock;
use accesswatch::alert::CollectClosed;
use accesswatch::config::Config;
use accesswatch::engine::Engine;
use accesswatch::event::{json, AccessEvent};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::sync::Arc;

#[path = "fixture.rs"]
mod fixture;

const N: usize = 100_000;

fn rules(c: &mut Criterion) {
    let dir = fixture::force();
    let config = Arc::new(Config::load(&dir.join("config.toml")).unwrap());
    let events: Vec<AccessEvent> =
        fixture::event_lines(N).iter().map(|l| json::decode(l.as_bytes()).unwrap()).collect();
    let mut g = c.benchmark_group("rules");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(20);
    g.bench_function("all_watchlist_rules", |b| {
        b.iter_batched(
            || {
                let (lists, _) = accesswatch::watchlist::load_dir(&dir.join("watchlists")).unwrap();
                Engine::new(config.clone(), lists, DetectClock::EventTime)
            },
            |mut engine| {
                let mut sink = CollectClosed::default();
                for e in &events {
                    engine.process(e, &mut sink);
                }
                engine.finish(&mut sink);
                sink.0.len()
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, rules);
criterion_main!(benches);
