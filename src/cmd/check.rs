//! `accesswatch check-config` and `accesswatch health`: is it set up right, and is
//! it running.

use super::args::load_config;
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

/// Check a configuration file (and optionally a watch-list directory) and report
/// every fault with its file, line and key.
#[derive(clap::Args, Debug)]
pub struct CheckConfigArgs {
    /// Configuration file; without it the built-in defaults are checked.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Also load and check this watch-list directory.
    #[arg(long)]
    watchlists: Option<PathBuf>,
}

pub fn check_config(a: CheckConfigArgs) -> Result<ExitCode> {
    let cfg = match load_config(a.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}", super::said(&e));
            return Ok(ExitCode::FAILURE);
        }
    };
    let enabled = crate::alert::RuleId::ALL.iter().filter(|r| cfg.rules.enabled(**r)).count();
    let name = a.config.as_deref().map_or("built-in defaults".to_string(), |p| p.display().to_string());
    // What `run` and `dashboard` refuse at start is a fault here too (a probe: OK here,
    // then the service would not start).
    if cfg.dashboard.enabled && cfg.dashboard.users.is_empty() {
        eprintln!(
            "{name}: dashboard.users: the dashboard is enabled and has no accounts, so the engine and the dashboard service refuse to start: add [dashboard.users.NAME] accounts (or set dashboard.enabled = false)"
        );
        return Ok(ExitCode::FAILURE);
    }
    println!("{name}: OK ({enabled} rules enabled, {} source mappings)", cfg.sources.len());
    // An expired allow entry is kept (a replay of the months it covered still needs
    // it), but a live engine no longer applies it: say so, as a note, not a fault.
    let now = crate::time::Timestamp::now();
    for rule in crate::alert::RuleId::ALL {
        for entry in cfg.rules.settings(rule).allow.iter().filter(|e| e.expires <= now) {
            eprintln!(
                "{name}: note: rules.{}.allow {:?} expired at {}: it allows only accesses before then",
                rule.as_str(),
                entry.reason,
                entry.expires
            );
        }
    }
    if let Some(dir) = a.watchlists {
        match crate::watchlist::load_dir(&dir) {
            Ok((lists, report)) => {
                println!("{}: OK ({report})", dir.display());
                for (unit, forces) in lists.units_of_several_forces() {
                    eprintln!("{}: note: {}", dir.display(), crate::watchlist::shared_unit_note(&unit, &forces));
                }
                // What the dashboard refuses at start against these lists.
                // The dashboard service reads [dashboard] whether or not `enabled` is set.
                let accounts = !cfg.dashboard.users.is_empty();
                let fault = accounts.then(|| crate::dashboard::state::staff_faults(&cfg.dashboard, &lists));
                if let Some(fault) = fault.flatten() {
                    eprintln!("{name}: {fault}");
                    return Ok(ExitCode::FAILURE);
                }
            }
            Err(errors) => {
                for e in &errors.0 {
                    eprintln!("{e}");
                }
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Exit 0 if the engine at ADDR answers /healthz with 200 (a container health
/// check that needs no curl).
#[derive(clap::Args, Debug)]
pub struct HealthArgs {
    /// host:port of the engine's HTTP listener.
    #[arg(long, default_value = "127.0.0.1:9464")]
    addr: String,
    /// Ask /readyz instead.
    #[arg(long)]
    ready: bool,
}

pub fn health(a: HealthArgs) -> Result<ExitCode> {
    let path = if a.ready { "/readyz" } else { "/healthz" };
    match crate::http::get_status(&a.addr, path) {
        Ok(200) => Ok(ExitCode::SUCCESS),
        Ok(code) => {
            eprintln!("{}{path} answered {code}", a.addr);
            Ok(ExitCode::FAILURE)
        }
        Err(e) => {
            eprintln!("{}{path}: {e}", a.addr);
            Ok(ExitCode::FAILURE)
        }
    }
}
