//! `accesswatch retrospective`: entries added after the fact, checked against the
//! archive's past accesses.

use super::args::{load_config, load_watchlists};
use crate::alert::AlertSink;
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Raise the alerts that high-profile entries and operation subjects in the watch
/// lists would have raised over the archived accesses their look-back covers, less
/// those already raised; the new alerts are written to --alerts and archived.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long)]
    archive: PathBuf,
    #[arg(long)]
    watchlists: PathBuf,
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where to write the new alerts (JSON Lines).
    #[arg(long)]
    alerts: PathBuf,
    /// Only these entries (high_profile entry_id, or operations row key); default: all.
    #[arg(long)]
    entry: Vec<String>,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let config = Arc::new(load_config(a.config.as_deref())?);
    let lists = load_watchlists(&a.watchlists)?;
    let entries = crate::retro::entries(&lists, &a.entry).map_err(|unknown| {
        anyhow::anyhow!("no high_profile entry or operations row with key {unknown:?} in {}", a.watchlists.display())
    })?;
    let engine = crate::engine::Engine::new(config.clone(), lists, crate::alert::book::DetectClock::EventTime);
    let hunt = crate::hunt::Hunt::open_written(&a.archive, None)?;
    let mut file = crate::sink::AlertFile::create(&a.alerts).with_context(|| a.alerts.display().to_string())?;
    let mut writer = crate::archive::AlertWriter::new(&a.archive, &config.archive);
    let none = std::collections::HashSet::new();
    for (table, key) in &entries {
        let found = crate::retro::scan(&hunt, &engine, *table, key, &none)?;
        if !found.is_empty() {
            eprintln!("{table} {key}: {} retrospective alerts", found.len());
        }
        for alert in found {
            writer.append(alert.clone());
            file.closed(alert);
        }
    }
    file.finish()?;
    let written = writer.flush()?;
    eprintln!(
        "{} entries checked; {} new alerts -> {} (and archived)",
        entries.len(),
        written.rows,
        a.alerts.display()
    );
    Ok(super::hunt::answered(&hunt))
}
