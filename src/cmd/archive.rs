//! `accesswatch archive prune | index | compact`: looking after the archive.

use super::args::{load_config, parse_span};
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

/// Look after the archive: delete old dates, write key indexes, merge small files.
#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Delete every file of the dates older than the retention, logging each.
    Prune {
        #[arg(long)]
        archive: PathBuf,
        /// Age beyond which dates are deleted, e.g. 400d (default: [archive] retention).
        #[arg(long)]
        older_than: Option<String>,
        /// Configuration holding [archive] retention.
        #[arg(long)]
        config: Option<PathBuf>,
        /// List what would be deleted, delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write the key index of every events file that lacks one or whose index is of an
    /// earlier version (lacking a look-up column, or the record ids as the rules compare
    /// them), so look-ups skip the files without the value.
    Index {
        #[arg(long)]
        archive: PathBuf,
    },
    /// Rewrite each past date and system written as several files (a live engine writes
    /// one per flush) as one sorted file, dropping duplicate events.
    Compact {
        #[arg(long)]
        archive: PathBuf,
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

pub fn run(action: Action) -> Result<ExitCode> {
    let (Action::Prune { archive, .. } | Action::Index { archive } | Action::Compact { archive, .. }) = &action;
    crate::archive::written_archive(archive)?;
    match action {
        Action::Prune { archive, older_than, config, dry_run } => {
            let config = load_config(config.as_deref())?;
            let age = match older_than {
                Some(t) => parse_span("--older-than", &t)?,
                None => config.archive.retention.ok_or_else(|| {
                    anyhow::anyhow!("no retention: give --older-than, or set [archive] retention in --config")
                })?,
            };
            // An age under a day (`0d`, `1s`, a slip for `400d`) would delete the
            // archive up to today.
            if age < crate::time::Span::days(1) {
                anyhow::bail!(
                    "--older-than {}: at least 1d (a shorter age deletes every date before today)",
                    age.human()
                );
            }
            let cutoff = (crate::time::Timestamp::now() - age).date();
            // What lies where the retention does not look keeps its personal data.
            let strays = crate::archive::strays(&archive, None, None, crate::archive::Depth::Systems)?;
            for (path, why) in &strays {
                let path = crate::hunt::output::escape_controls(&path.display().to_string());
                eprintln!("warning: {path}: {why}; the retention does not delete it");
            }
            let exit = if strays.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(3) };
            if dry_run {
                let old: Vec<_> = crate::archive::event_dates(&archive)?.into_iter().filter(|d| *d < cutoff).collect();
                for date in &old {
                    println!("would delete date {date}");
                }
                println!("would delete {} dates before {cutoff}", old.len());
                return Ok(exit);
            }
            let report = crate::archive::prune(&archive, cutoff)?;
            for (file, bytes) in report.files.iter().zip(&report.sizes) {
                println!("deleted {} ({bytes} bytes)", file.display());
            }
            println!(
                "deleted {} files ({:.1} MB) of dates before {cutoff} from {}",
                report.files.len(),
                report.bytes as f64 / 1e6,
                archive.display()
            );
            return Ok(exit);
        }
        Action::Index { archive } => {
            let n = crate::archive::index(&archive)?;
            println!("wrote {n} key indexes in {}", archive.display());
        }
        Action::Compact { archive, config } => {
            let config = load_config(config.as_deref())?;
            let today = crate::time::Timestamp::now().date();
            let report = crate::archive::compact(&archive, &config.archive, today)?;
            println!("compacted into {} files ({} events and alerts)", report.files.len(), report.rows);
        }
    }
    Ok(ExitCode::SUCCESS)
}
