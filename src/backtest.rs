//! `accesswatch backtest`: what a rule change would have done on history.
//!
//! Replays the same events under a baseline configuration and a candidate, then
//! compares the alerts by `alert_id` (the same rule firing on the same evidence has
//! the same id under both): per rule, the alerts added, removed and re-graded, with
//! examples, so the information security team can judge a change before it ships.

use crate::alert::Alert;
use crate::config::Config;
use crate::detect::RuleId;
use crate::replay::{replay, ReplayOptions};
use crate::watchlist::WatchLists;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::BufRead;
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

/// Replays `inputs` under `config` and returns the alerts (written under `work`).
pub fn run_side(
    name: &str,
    config: Arc<Config>,
    lists: WatchLists,
    inputs: &[PathBuf],
    work: &Path,
) -> Result<(Side, u64), String> {
    let alerts_path = work.join(format!("{name}.alerts.jsonl"));
    let opts = ReplayOptions {
        inputs: inputs.to_vec(),
        source: None,
        alerts: alerts_path.clone(),
        dead_letters: Some(work.join(format!("{name}.dead.jsonl"))),
        progress: false,
        ..ReplayOptions::default()
    };
    let summary = replay(config, lists, &opts).map_err(|e| format!("replay under the {name} configuration: {e}"))?;
    let file = std::fs::File::open(&alerts_path).map_err(|e| e.to_string())?;
    let mut alerts = Vec::new();
    for line in std::io::BufReader::new(file).lines() {
        let line = line.map_err(|e| e.to_string())?;
        alerts.push(serde_json::from_str(&line).map_err(|e| format!("{}: {e}", alerts_path.display()))?);
    }
    Ok((Side { name: name.to_string(), alerts }, summary.events))
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
