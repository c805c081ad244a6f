//! `accesswatch risk`: users ranked by their decaying risk, from an alert stream.

use super::args::{load_config, parse_time};
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

/// Rank users by risk (their alerts' scores, halving every risk.half_life) from an
/// alert stream, with the alerts behind each score.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Alerts (JSON Lines, as replay and the live engine's alerts_file write them).
    #[arg(long)]
    alerts: PathBuf,
    /// For risk.half_life (default: the built-in defaults).
    #[arg(long)]
    config: Option<PathBuf>,
    /// How many users to show.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Score as at this time (RFC 3339; default: the newest alert).
    #[arg(long)]
    at: Option<String>,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let config = load_config(a.config.as_deref())?;
    let at = a.at.as_deref().map(|t| parse_time("--at", t)).transpose()?;
    let alerts = crate::sink::alert_file::read(&a.alerts)?;
    let ranked = crate::risk::rank(&alerts, at, config.risk.half_life);
    println!(
        "{} users with alerts; risk halves every {}; top {}:\n",
        ranked.len(),
        config.risk.half_life.human(),
        a.top.min(ranked.len())
    );
    for u in ranked.iter().take(a.top) {
        print!("{u}");
    }
    Ok(ExitCode::SUCCESS)
}
