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
pub mod rng;
pub mod scenarios;
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
                (None, Some(archive)) => archive.push(event),
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
    write_watchlists(&world, &dir.join("watchlists"), end)?;
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

fn ts(t: i64) -> String {
    Timestamp(t).to_string()
}

fn users(world: &World, ids: &[u32]) -> String {
    ids.iter().map(|&s| world.force.staff[s as usize].user_id.as_str()).collect::<Vec<_>>().join(";")
}

fn write_watchlists(world: &World, dir: &Path, end: i64) -> io::Result<()> {
    let csv_err = |e: csv::Error| io::Error::other(e.to_string());
    let open = |name: &str| csv::Writer::from_path(dir.join(name)).map_err(csv_err);
    let person = |p: u32| {
        let p = &world.force.people[p as usize];
        (
            p.pnc_id.clone().unwrap_or_default().to_string(),
            format!("{}, {}", p.surname.to_uppercase(), p.forenames),
            p.dob.to_string(),
            world.force.postcodes[p.postcode as usize].to_string(),
        )
    };
    // A time after the end of the period is not yet known.
    let known = |t: Option<i64>| t.filter(|t| *t < end).map(ts).unwrap_or_default();

    let mut w = open("staff.csv")?;
    w.write_record([
        "user_id",
        "surname",
        "forenames",
        "dob",
        "home_postcode",
        "unit",
        "role",
        "force",
        "org",
        "status",
        "status_since",
        "shift",
    ])
    .map_err(csv_err)?;
    for (i, s) in world.force.staff.iter().enumerate() {
        let p = world.force.person_of_staff(i as u32);
        let unit = world.force.unit_of(i as u32);
        w.write_record([
            s.user_id.as_str(),
            &p.surname,
            &p.forenames,
            &p.dob.to_string(),
            &world.force.postcodes[p.postcode as usize],
            unit.name,
            unit.role,
            if unit.org == "police" { "NS" } else { unit.org },
            unit.org,
            s.status.as_str(),
            &s.status_since.map(|t| t.to_string()).unwrap_or_default(),
            &unit.shift.to_string(),
        ])
        .map_err(csv_err)?;
    }
    w.flush()?;

    let mut w = open("custody.csv")?;
    w.write_record([
        "custody_ref",
        "subject_id",
        "subject_name",
        "subject_dob",
        "suite",
        "arrested_at",
        "released_at",
        "officers",
    ])
    .map_err(csv_err)?;
    for c in world.custody.iter().filter(|c| c.arrested < end) {
        let (id, name, dob, _) = person(c.person);
        w.write_record([
            c.custody_ref.as_str(),
            &id,
            &name,
            &dob,
            force::SUITES[c.suite as usize],
            &ts(c.arrested),
            &known(Some(c.released)),
            &users(world, &c.officers),
        ])
        .map_err(csv_err)?;
    }
    w.flush()?;

    let mut w = open("high_profile.csv")?;
    w.write_record([
        "entry_id",
        "subject_id",
        "subject_name",
        "subject_dob",
        "category",
        "added_at",
        "expires_at",
        "case_team",
        "note",
    ])
    .map_err(csv_err)?;
    for h in &world.high_profile {
        let (id, name, dob, _) = person(h.person);
        w.write_record([
            h.entry_id,
            &id,
            &name,
            &dob,
            h.category,
            &ts(h.added_at),
            "",
            &users(world, &h.case_team),
            h.note,
        ])
        .map_err(csv_err)?;
    }
    w.flush()?;

    let mut w = open("associates.csv")?;
    w.write_record([
        "user_id",
        "subject_id",
        "subject_name",
        "subject_dob",
        "subject_postcode",
        "relationship",
        "declared_at",
    ])
    .map_err(csv_err)?;
    for a in &world.associates {
        let (id, name, dob, pc) = person(a.person);
        let user = world.force.staff[a.user as usize].user_id.as_str();
        w.write_record([user, &id, &name, &dob, &pc, a.relationship.as_str(), &ts(a.declared_at)]).map_err(csv_err)?;
    }
    w.flush()?;

    let mut w = open("operations.csv")?;
    w.write_record([
        "operation",
        "subject_id",
        "subject_name",
        "subject_dob",
        "subject_vrm",
        "subject_postcode",
        "team",
        "starts_at",
        "ends_at",
    ])
    .map_err(csv_err)?;
    for op in &world.operations {
        let team = users(world, &op.team);
        for t in &op.targets {
            let (id, name, dob, vrm, pc) = match t {
                world::OpTarget::Person(p) => {
                    let (id, name, dob, _) = person(*p);
                    (id, name, dob, String::new(), String::new())
                }
                world::OpTarget::Vehicle(v) => (
                    String::new(),
                    String::new(),
                    String::new(),
                    world.force.vehicles[*v as usize].vrm.to_string(),
                    String::new(),
                ),
                world::OpTarget::Address(pc) => (
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    world.force.postcodes[*pc as usize].to_string(),
                ),
            };
            w.write_record([op.name, &id, &name, &dob, &vrm, &pc, &team, &ts(op.starts), &known(op.ends)])
                .map_err(csv_err)?;
        }
    }
    w.flush()?;

    let mut w = open("incidents.csv")?;
    w.write_record(["reference", "kind", "opened_at", "closed_at", "unit", "officers"]).map_err(csv_err)?;
    for inc in world.incidents.iter().filter(|i| i.opened < end) {
        w.write_record([
            inc.reference.as_str(),
            inc.kind,
            &ts(inc.opened),
            &known(inc.closed),
            inc.unit.unwrap_or(""),
            &users(world, &inc.officers),
        ])
        .map_err(csv_err)?;
    }
    w.flush()?;
    Ok(())
}
