//! `accesswatch generate`: a synthetic force for demos, benchmarks and measuring
//! detection quality, since forces cannot share real access logs.
//!
//! - [`force`]: units with rostered shifts, staff, citizens, vehicles, postcodes.
//! - [`world`]: incidents, arrests, custody, and each unit's legitimate day of work.
//! - [`scenarios`]: labelled misuse, and the legitimate twins that must stay silent.
//!
//! The output directory holds `events.jsonl` (in time order), `watchlists/*.csv` (all
//! six tables), `labels.jsonl` (every injected misuse instance) and `config.toml` (the
//! force's entitlements, read over the defaults). The same seed gives the same bytes.

pub mod force;
pub mod names;
mod render;
pub mod rng;
pub mod scenarios;
mod steps;
mod tables;
pub mod world;

pub use scenarios::{Label, Scenario};

use crate::time::{Date, Timestamp, DAY};
use rng::Rng;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use world::{World, NO_LABEL};

/// What to generate.
#[derive(Clone, Debug)]
pub struct Options {
    pub seed: u64,
    pub days: u32,
    pub staff: u32,
    pub citizens: u32,
    /// The first day (UTC).
    pub start: Date,
    /// Scenarios to inject; all by default.
    pub scenarios: Vec<Scenario>,
    /// Write the events into this archive instead of `events.jsonl` (benchmarks of a
    /// year of a large force, without 30 GB of JSON on the way).
    pub archive: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seed: 1,
            days: 14,
            staff: 1_200,
            citizens: 40_000,
            start: Date::parse("2026-11-01").expect("valid date"),
            scenarios: Scenario::ALL.to_vec(),
            archive: None,
        }
    }
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Summary {
    pub events: u64,
    pub labels: usize,
    pub staff: usize,
    pub event_bytes: u64,
    pub elapsed: Duration,
    pub dir: PathBuf,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        write!(
            f,
            "wrote {} events ({:.1} MB), {} staff, {} labelled misuse instances to {} in {:.2}s ({:.0} events/s)",
            self.events,
            self.event_bytes as f64 / 1e6,
            self.staff,
            self.labels,
            self.dir.display(),
            secs,
            self.events as f64 / secs.max(1e-9)
        )
    }
}

/// Generates a force into `dir`.
pub fn generate(opts: &Options, dir: &Path) -> io::Result<Summary> {
    if opts.days < 7 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "--days must be at least 7 (the scenarios span a week)",
        ));
    }
    if opts.staff < 100 || opts.citizens < 1_000 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "--staff must be at least 100 and --citizens at least 1000",
        ));
    }
    let started = Instant::now();
    std::fs::create_dir_all(dir.join("watchlists"))?;
    let root = Rng::new(opts.seed);
    let force = force::Force::build(&mut root.fork(1), opts.staff, opts.citizens);
    let start = Timestamp(opts.start.0 as i64 * DAY);
    let mut world = World::new(force, start);
    let mut plan = scenarios::Plan::new(&mut world, &mut root.fork(2), opts.days, &opts.scenarios);

    let mut out = match &opts.archive {
        None => Some(BufWriter::with_capacity(1 << 20, File::create(dir.join("events.jsonl"))?)),
        Some(_) => None,
    };
    let mut archive = match &opts.archive {
        Some(root) => Some(crate::archive::BackgroundWriter::start(root, &crate::config::Config::defaults().archive)?),
        None => None,
    };
    let mut line = String::with_capacity(512);
    let mut next_id: u64 = 1;
    let mut bytes: u64 = 0;
    for day in 0..opts.days {
        world.simulate_day(&mut root.fork(1_000 + day as u64), day);
        plan.run_day(&mut world, &mut root.fork(100_000 + day as u64), day, opts.days);
        // Write what falls before tomorrow; later events (night shifts, planned
        // steps) wait, so the file stays in time order.
        let cutoff = if day + 1 == opts.days { i64::MAX } else { world.day_start(day + 1) };
        world.pending.sort_unstable_by_key(|e| (e.ts, e.seq));
        let split = world.pending.partition_point(|e| e.ts < cutoff);
        let later = world.pending.split_off(split);
        let today = std::mem::replace(&mut world.pending, later);
        for e in &today {
            let event = world.render(e, next_id);
            if e.label != NO_LABEL {
                plan.labels[e.label as usize].event_ids.push(event.event_id.clone());
            }
            match (&mut out, &mut archive) {
                (Some(out), _) => {
                    line.clear();
                    event.write_json(&mut line);
                    line.push('\n');
                    out.write_all(line.as_bytes())?;
                    bytes += line.len() as u64;
                }
                (None, Some(archive)) => archive.push(event, Default::default()),
                (None, None) => {}
            }
            next_id += 1;
        }
    }
    if let Some(out) = &mut out {
        out.flush()?;
    }
    if let Some(archive) = archive {
        bytes = archive.finish()?.bytes;
    }
    let end = world.day_start(opts.days);
    tables::write(&world, &dir.join("watchlists"), end)?;
    let mut labels = BufWriter::new(File::create(dir.join("labels.jsonl"))?);
    for l in &plan.labels {
        serde_json::to_writer(&mut labels, l)?;
        labels.write_all(b"\n")?;
    }
    labels.flush()?;
    std::fs::write(dir.join("config.toml"), FORCE_CONFIG)?;
    Ok(Summary {
        events: next_id - 1,
        labels: plan.labels.len(),
        staff: world.force.staff.len(),
        event_bytes: bytes,
        elapsed: started.elapsed(),
        dir: dir.to_path_buf(),
    })
}

/// The generated force's own settings, read over the defaults.
const FORCE_CONFIG: &str = r#"# Configuration of the synthetic force written by `accesswatch generate`.
# Read over the built-in defaults: replay with --config <dir>/config.toml.

# The outside organisations with PNC access, and what they may do.
[rules.scope.unentitled.orgs.DVLA]
systems = ["PNC"]
actions = ["search", "view"]

[rules.scope.unentitled.orgs.HMRC]
systems = ["PNC", "PND"]
actions = ["search", "view"]
"#;
