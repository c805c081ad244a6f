//! `accesswatch evidence`: one alert's evidence bundle, hashed.

use super::args::load_config;
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

/// Write an evidence bundle for one alert: the alert, its events, the watch-list
/// rows and the configuration, with SHA-256 of each file and of the bundle.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long)]
    archive: PathBuf,
    #[arg(long)]
    alert: String,
    /// Bundle directory (created; must be empty).
    #[arg(long)]
    out: PathBuf,
    #[arg(long)]
    watchlists: Option<PathBuf>,
    /// The configuration in force when the alert was raised.
    #[arg(long)]
    config: Option<PathBuf>,
}

pub fn run(a: Args) -> Result<ExitCode> {
    super::args::outside_inputs("--out", &a.out, &a.archive, a.watchlists.as_deref())?;
    let config = load_config(a.config.as_deref())?;
    let hunt = crate::hunt::Hunt::open_written(&a.archive, None)?;
    let b = crate::evidence::bundle(&hunt, &a.alert, a.watchlists.as_deref(), &config, &a.out)?;
    for (name, sha) in &b.files {
        println!("{sha}  {name}");
    }
    if !b.missing_events.is_empty() {
        eprintln!("warning: evidence events not in the archive: {}", b.missing_events.join(", "));
    }
    println!("bundle {} ({} events): SHA-256 {}", b.dir.display(), b.events, b.sha256);
    Ok(ExitCode::SUCCESS)
}
