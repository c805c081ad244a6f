//! `accesswatch run`: the live engine on Kafka until SIGINT or SIGTERM.

use super::args::{init_tracing, load_config};
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Run the live engine on Kafka (consumer group, alerts, dead letters, live watch
/// lists, metrics) until SIGINT or SIGTERM.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Configuration file, read over the built-in defaults.
    #[arg(long)]
    config: PathBuf,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let config = Arc::new(load_config(Some(&args.config))?);
    init_tracing(config.logging.json, &config.logging.level);
    let routes = config.clone();
    let service = crate::service::Service::start_with(config, move |h| crate::dashboard::with_dashboard(&routes, h))?;
    let summary = service.join()?;
    eprintln!(
        "stopped after {} events ({} dead letters, {} open alerts restored)",
        summary.events, summary.dead_letters, summary.restored_alerts
    );
    Ok(ExitCode::SUCCESS)
}
