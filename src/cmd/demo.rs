//! `accesswatch demo`: the live engine against an in-process Kafka fed with a
//! synthetic force.

use anyhow::Result;
use std::process::ExitCode;

/// The live engine against an in-process Kafka fed with a synthetic force: no outside
/// service needed.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Events per second fed to Kafka (0: as fast as possible).
    #[arg(long, default_value_t = 5000)]
    rate: u32,
    #[arg(long, default_value_t = 400)]
    staff: u32,
    #[arg(long, default_value_t = 7)]
    days: u32,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where to serve metrics and health.
    #[arg(long, default_value = "127.0.0.1:9464")]
    listen: String,
    /// Stop after this many seconds (otherwise the dashboard stays up after the week has
    /// been played, until Ctrl-C).
    #[arg(long)]
    seconds: Option<u64>,
    /// Password of the dashboard's demo accounts (default: a random one, printed).
    #[arg(long)]
    dashboard_password: Option<String>,
}

pub fn run(a: Args) -> Result<ExitCode> {
    crate::demo::run(crate::demo::DemoOptions {
        rate: a.rate,
        staff: a.staff,
        days: a.days,
        seed: a.seed,
        listen: a.listen,
        max_seconds: a.seconds,
        dashboard_password: a.dashboard_password,
    })?;
    Ok(ExitCode::SUCCESS)
}
