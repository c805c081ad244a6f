//! `accesswatch replay`: access-log files (or the archive) through the rules.

use super::args::{load_config, load_watchlists, parse_time, same_file, within};
use crate::replay::{replay, ReplayOptions};
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Replay access-log files through the rules and write the alerts.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory of watch-list files (custody.csv, high_profile.csv, ...).
    #[arg(long)]
    watchlists: PathBuf,
    /// Where to write the alerts (JSON Lines).
    #[arg(long)]
    alerts: PathBuf,
    /// Configuration file, read over the built-in defaults.
    #[arg(long)]
    config: Option<PathBuf>,
    /// A source mapping from the configuration, for inputs not in the canonical format.
    #[arg(long)]
    source: Option<String>,
    /// Where to write unreadable records (default: beside the alerts).
    #[arg(long)]
    dead_letters: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    /// Only events at or after this time (RFC 3339).
    #[arg(long)]
    from: Option<String>,
    /// Only events before this time (RFC 3339).
    #[arg(long)]
    to: Option<String>,
    /// Also write every event and final alert to this archive directory.
    #[arg(long)]
    archive: Option<PathBuf>,
    /// 1: read, decode and judge on one thread; 2: read and decode the files on a
    /// thread of their own. By default 2 when the process may use more than one CPU.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
    threads: Option<u8>,
    /// The files are not in time order (an export sorted by user or by system): take
    /// all their events first and replay them by time (sorted in runs on disk, in the
    /// system's temporary directory, beyond 262,144 events).
    #[arg(long)]
    sort: bool,
    /// Event files: .jsonl or .csv (optionally .gz), merged in event-time order; or
    /// one archive directory, read day by day.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let config = Arc::new(load_config(a.config.as_deref())?);
    let lists = load_watchlists(&a.watchlists)?;
    let from = a.from.as_deref().map(|t| parse_time("--from", t)).transpose()?;
    let to = a.to.as_deref().map(|t| parse_time("--to", t)).transpose()?;
    let range = crate::hunt::TimeRange::between(from, to).map_err(|e| anyhow::anyhow!("--from and --to: {e}"))?;
    // What the replay writes must not be what it reads: `--alerts` naming an input
    // replaced the log it was judging, or a file of the watch lists; so did one that
    // was a hard link to it (a probe: the log overwritten with alerts, exit 0).
    let dead_letters = a.dead_letters.clone().unwrap_or_else(|| crate::replay::default_dead_letter_path(&a.alerts));
    let written = [a.alerts.clone(), dead_letters, crate::replay::summary_path(&a.alerts)];
    let tables = crate::watchlist::TableName::ALL
        .iter()
        .flat_map(|t| ["csv", "jsonl"].map(|ext| a.watchlists.join(format!("{}.{ext}", t.as_str()))));
    let tables: Vec<PathBuf> = tables.collect();
    let read = a.files.iter().chain(&tables).chain(a.config.as_ref());
    for (out, input) in read.flat_map(|input| written.iter().map(move |out| (out, input))) {
        if within(out, input) || same_file(out, input) {
            anyhow::bail!(
                "{} would be written over {}, which this replay reads: write the alerts elsewhere",
                out.display(),
                input.display()
            );
        }
    }
    // Nor a file the next load of the watch lists would refuse (`custody.json`).
    for out in &written {
        let misnamed = out.parent().is_some_and(|dir| within(dir, &a.watchlists) && within(&a.watchlists, dir))
            && out.file_name().is_some_and(|n| crate::watchlist::is_table_name(&n.to_string_lossy()));
        if misnamed {
            anyhow::bail!(
                "{} would be written among the watch lists {} under a table's name, and the next load would refuse it: write it elsewhere",
                out.display(),
                a.watchlists.display()
            );
        }
    }
    // An archive replayed into itself (or into one inside it) would hold every event twice.
    if let Some(out) = &a.archive {
        if let Some(input) = a.files.iter().find(|f| f.is_dir() && (within(out, f) || within(f, out))) {
            anyhow::bail!(
                "--archive {} and the input {} are the same archive (or one lies in the other): replaying an archive into itself would write every event again; give another --archive",
                out.display(),
                input.display()
            );
        }
    }
    let opts = ReplayOptions {
        inputs: a.files,
        source: a.source,
        alerts: a.alerts,
        dead_letters: a.dead_letters,
        progress: !a.quiet,
        from: range.from,
        to: range.to,
        archive: a.archive,
        read_ahead: a.threads.map(|n| n == 2),
        sort: a.sort,
    };
    let summary = replay(config, lists, &opts).context("replay failed")?;
    eprint!("{summary}");
    Ok(ExitCode::SUCCESS)
}
