//! Hot reload: on SIGHUP or a change of the configuration file, the rules, thresholds
//! and allow lists are swapped in for the next event. A file with faults is rejected
//! with every fault logged, and the running configuration stays.

use super::status::Status;
use crate::config::Config;
use crate::metrics::Metrics;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Watches the configuration file the engine was started with.
pub struct ConfigWatch {
    path: Option<PathBuf>,
    modified: Option<SystemTime>,
    last_check: Instant,
}

impl ConfigWatch {
    pub fn new(config: &Config) -> ConfigWatch {
        let path = config.source_path.clone();
        let modified = path.as_deref().and_then(|p| std::fs::metadata(p).ok()?.modified().ok());
        ConfigWatch { path, modified, last_check: Instant::now() }
    }

    /// A new configuration to run, if one is due (asked for, or the file changed; the
    /// file is looked at once a second) and valid.
    pub fn poll(&mut self, current: &Config, status: &Status, metrics: &Metrics) -> Option<Arc<Config>> {
        let asked = status.take_reload();
        if !asked && self.last_check.elapsed() < Duration::from_secs(1) {
            return None;
        }
        self.last_check = Instant::now();
        let path = self.path.as_deref()?;
        let modified = std::fs::metadata(path).ok().and_then(|m| m.modified().ok());
        if !asked && modified == self.modified {
            return None;
        }
        self.modified = modified;
        match Config::load(path) {
            Ok(new) => {
                let fixed = current.restart_needed(&new);
                if !fixed.is_empty() {
                    tracing::warn!(sections = ?fixed, "configuration reloaded; these sections take effect only after a restart");
                }
                tracing::info!(path = %path.display(), "configuration reloaded: rules, thresholds and allow lists now in force");
                metrics.config_reloads.with_label_values(&["applied"]).inc();
                Some(Arc::new(new))
            }
            Err(errors) => {
                tracing::error!(path = %path.display(), %errors, "configuration rejected; the running configuration stays");
                metrics.config_reloads.with_label_values(&["rejected"]).inc();
                None
            }
        }
    }
}
