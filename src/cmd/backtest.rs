//! `accesswatch backtest`: a configuration change judged on history before it ships.

use super::args::load_config;
use crate::backtest::{compare, Candidate};
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Replay history under a candidate configuration and a baseline, and print per
/// rule the alerts added, removed and re-graded, with examples.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The configuration being considered.
    #[arg(long)]
    config: PathBuf,
    /// The configuration in force (default: the built-in defaults).
    #[arg(long)]
    baseline: Option<PathBuf>,
    #[arg(long)]
    watchlists: PathBuf,
    /// Event files, as for replay.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let candidate = Candidate { name: a.config.display().to_string(), config: Arc::new(load_config(Some(&a.config))?) };
    let baseline = Candidate {
        name: a.baseline.as_ref().map_or("built-in defaults".into(), |p| p.display().to_string()),
        config: Arc::new(load_config(a.baseline.as_deref())?),
    };
    let (events, old, new) = crate::backtest::run(baseline, candidate, &a.watchlists, &a.files)?;
    print!("{}", compare(events, &old, &new));
    Ok(ExitCode::SUCCESS)
}
