//! `accesswatch backtest`: what a rule change would have done on history.
//!
//! Replays the same events under a baseline configuration and a candidate, then
//! compares the alerts by `alert_id` (the same rule firing on the same evidence has
//! the same id under both): per rule, the alerts added, removed and re-graded, with
//! examples, so the information security team can judge a change before it ships.

use crate::alert::Alert;
use crate::alert::RuleId;
use crate::config::Config;
use crate::replay::{replay, ReplayError, ReplayOptions};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The alerts of one side.
pub struct Side {
    pub name: String,
    pub alerts: Vec<Alert>,
}

/// Per rule: how the candidate differs from the baseline.
#[derive(Debug, Default)]
pub struct RuleDiff<'a> {
    pub baseline: usize,
    pub candidate: usize,
    pub added: Vec<&'a Alert>,
    pub removed: Vec<&'a Alert>,
    /// Same alert, different severity: (baseline, candidate).
    pub regraded: Vec<(&'a Alert, &'a Alert)>,
}

/// The comparison of two sides.
pub struct Backtest<'a> {
    pub events: u64,
    pub baseline: &'a Side,
    pub candidate: &'a Side,
    pub rules: BTreeMap<RuleId, RuleDiff<'a>>,
}

/// Why a backtest could not run.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error(transparent)]
    Watchlists(#[from] crate::watchlist::WatchlistErrors),
    #[error("replay under the {side} configuration: {source}")]
    Replay { side: String, source: ReplayError },
    #[error("backtest work directory: {0}")]
    Io(#[from] std::io::Error),
}

/// A configuration to replay under, and the name the report gives it.
pub struct Candidate {
    pub name: String,
    pub config: Arc<Config>,
}

/// Replays `inputs` under the baseline and the candidate (each with the watch lists of
/// `watchlists`, in a temporary directory removed afterwards); returns the number of
/// events and both sides' alerts, for [`compare`].
pub fn run(
    baseline: Candidate,
    candidate: Candidate,
    watchlists: &Path,
    inputs: &[PathBuf],
) -> Result<(u64, Side, Side), BacktestError> {
    let work = std::env::temp_dir().join(format!("accesswatch-backtest-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let result = (|| {
        let (old, events) = run_side(baseline, watchlists, inputs, &work, "baseline")?;
        let (new, _) = run_side(candidate, watchlists, inputs, &work, "candidate")?;
        Ok((events, old, new))
    })();
    let _ = std::fs::remove_dir_all(&work);
    result
}

/// Replays `inputs` under one configuration and reads back its alerts.
fn run_side(
    side: Candidate,
    watchlists: &Path,
    inputs: &[PathBuf],
    work: &Path,
    label: &str,
) -> Result<(Side, u64), BacktestError> {
    let (lists, _) = crate::watchlist::load_dir(watchlists)?;
    let alerts_path = work.join(format!("{label}.alerts.jsonl"));
    let opts = ReplayOptions {
        inputs: inputs.to_vec(),
        source: None,
        alerts: alerts_path.clone(),
        dead_letters: Some(work.join(format!("{label}.dead.jsonl"))),
        progress: false,
        ..ReplayOptions::default()
    };
    let failed = |source| BacktestError::Replay { side: label.to_string(), source };
    let summary = replay(side.config, lists, &opts).map_err(failed)?;
    let alerts = crate::sink::alert_file::read(&alerts_path)?;
    Ok((Side { name: side.name, alerts }, summary.events))
}

/// Compares the candidate's alerts with the baseline's.
pub fn compare<'a>(events: u64, baseline: &'a Side, candidate: &'a Side) -> Backtest<'a> {
    let index = |s: &'a Side| s.alerts.iter().map(|a| (a.alert_id.as_str(), a)).collect::<HashMap<&str, &Alert>>();
    let (old, new) = (index(baseline), index(candidate));
    let mut rules: BTreeMap<RuleId, RuleDiff> = BTreeMap::new();
    for a in &baseline.alerts {
        let d = rules.entry(a.rule).or_default();
        d.baseline += 1;
        match new.get(a.alert_id.as_str()) {
            None => d.removed.push(a),
            Some(b) if b.severity != a.severity => d.regraded.push((a, b)),
            Some(_) => {}
        }
    }
    for a in &candidate.alerts {
        let d = rules.entry(a.rule).or_default();
        d.candidate += 1;
        if !old.contains_key(a.alert_id.as_str()) {
            d.added.push(a);
        }
    }
    Backtest { events, baseline, candidate, rules }
}

impl Backtest<'_> {
    pub fn unchanged(&self) -> bool {
        self.rules.values().all(|d| d.added.is_empty() && d.removed.is_empty() && d.regraded.is_empty())
    }
}

impl fmt::Display for Backtest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "backtest over {} events: baseline {}, candidate {}\n",
            self.events, self.baseline.name, self.candidate.name
        )?;
        writeln!(f, "| rule | baseline | candidate | added | removed | severity changed |")?;
        writeln!(f, "|---|---:|---:|---:|---:|---:|")?;
        for (rule, d) in &self.rules {
            writeln!(
                f,
                "| {rule} | {} | {} | {} | {} | {} |",
                d.baseline,
                d.candidate,
                d.added.len(),
                d.removed.len(),
                d.regraded.len()
            )?;
        }
        if self.unchanged() {
            return writeln!(f, "\nno alert differs.");
        }
        for (rule, d) in &self.rules {
            if d.added.is_empty() && d.removed.is_empty() && d.regraded.is_empty() {
                continue;
            }
            writeln!(f, "\n{rule}:")?;
            for a in d.added.iter().take(3) {
                writeln!(f, "  + {} {} {}", a.severity.as_str(), a.alert_id, a.reason)?;
            }
            for a in d.removed.iter().take(3) {
                writeln!(f, "  - {} {} {}", a.severity.as_str(), a.alert_id, a.reason)?;
            }
            for (a, b) in d.regraded.iter().take(3) {
                writeln!(f, "  ~ {} -> {} {} {}", a.severity.as_str(), b.severity.as_str(), a.alert_id, a.reason)?;
            }
            let more = d.added.len().saturating_sub(3)
                + d.removed.len().saturating_sub(3)
                + d.regraded.len().saturating_sub(3);
            if more > 0 {
                writeln!(f, "  ... and {more} more")?;
            }
        }
        Ok(())
    }
}
