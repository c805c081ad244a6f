//! `accesswatch generate` writes a synthetic force; `accesswatch evaluate` scores
//! alerts against its labels.

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;

/// Write a synthetic force: events, watch lists, labelled misuse, config.
#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 14)]
    days: u32,
    #[arg(long, default_value_t = 1200)]
    staff: u32,
    #[arg(long, default_value_t = 40000)]
    citizens: u32,
    /// First day, YYYY-MM-DD.
    #[arg(long, default_value = "2026-11-01")]
    start: String,
    /// Scenarios to inject (comma-separated); all by default.
    #[arg(long, value_delimiter = ',')]
    scenarios: Vec<String>,
    /// Write the events into this archive directory instead of events.jsonl.
    #[arg(long)]
    archive: Option<PathBuf>,
}

pub fn generate(a: GenerateArgs) -> Result<ExitCode> {
    use crate::generate::Scenario;
    let start = crate::time::Date::parse(&a.start).map_err(|e| anyhow::anyhow!("--start: {e}"))?;
    let scenarios = if a.scenarios.is_empty() {
        Scenario::ALL.to_vec()
    } else {
        let known = || Scenario::ALL.iter().map(|s| s.name()).collect::<Vec<_>>().join(", ");
        a.scenarios
            .iter()
            .map(|s| Scenario::parse(s).ok_or_else(|| anyhow::anyhow!("unknown scenario {s:?}; known: {}", known())))
            .collect::<Result<_>>()?
    };
    let opts = crate::generate::Options {
        seed: a.seed,
        days: a.days,
        staff: a.staff,
        citizens: a.citizens,
        start,
        scenarios,
        archive: a.archive,
    };
    let summary =
        crate::generate::generate(&opts, &a.out).with_context(|| format!("generating into {}", a.out.display()))?;
    eprintln!("{summary}");
    Ok(ExitCode::SUCCESS)
}

/// Score alerts against a generated force's labels: recall per scenario, false
/// alerts per rule.
#[derive(clap::Args, Debug)]
pub struct EvaluateArgs {
    #[arg(long)]
    labels: PathBuf,
    #[arg(long)]
    alerts: PathBuf,
    /// The events replayed (to count them); default: events.jsonl (or .gz) beside the labels.
    #[arg(long)]
    events: Option<PathBuf>,
}

pub fn evaluate(a: EvaluateArgs) -> Result<ExitCode> {
    let events = a.events.unwrap_or_else(|| crate::evaluate::events_beside(&a.labels));
    let eval = crate::evaluate::evaluate_files(&a.labels, &a.alerts, &events)?;
    println!("{eval}");
    Ok(ExitCode::SUCCESS)
}
