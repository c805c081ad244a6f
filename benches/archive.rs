//! Archive write throughput on one core: events of the generated force (about
//! 340,000) through `EventWriter` (identity keys, sort by subject, Arrow columns,
//! zstd Parquet with statistics and bloom filters, fsync) into a fresh archive.
//!
//! ```text
//! cargo bench --bench archive
//! ```
//!
//! The target is 300,000 events/s. The writer is single-threaded; the bench runs on
//! the calling thread and, where `taskset` is used, on one core.

use accesswatch::archive::columns::Provenance;
use accesswatch::archive::EventWriter;
use accesswatch::event::json;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

#[path = "fixture.rs"]
mod fixture;

/// The allocator the `accesswatch` binary runs with (src/main.rs), so that the figure is
/// the archive writer's as the binary runs it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn archive_write(c: &mut Criterion) {
    let lines = fixture::event_lines(usize::MAX);
    let events: Vec<_> = lines.iter().map(|l| json::decode(l.as_bytes()).unwrap()).collect();
    let mut group = c.benchmark_group("archive");
    group.sample_size(10);
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function(format!("write {} events", events.len()), |b| {
        b.iter_batched(
            || (tempfile::tempdir().unwrap(), events.clone()),
            |(dir, events)| {
                let mut w = EventWriter::new(dir.path(), &accesswatch::config::Config::defaults().archive);
                for e in events {
                    w.append(e, Provenance::default());
                }
                let report = w.flush().unwrap();
                assert_eq!(report.rows, lines.len());
                dir
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, archive_write);
criterion_main!(benches);
