//! What `/readyz`, `/healthz` and the live threads need to know about each other.

use super::error::LiveError;
use super::shutdown::Shutdown;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The live engine's state as the threads and the health endpoints see it.
#[derive(Default)]
pub struct Status {
    lists_loaded: AtomicBool,
    /// Set by SIGHUP: reload the rule configuration.
    reload: AtomicBool,
    assigned: AtomicI64,
    fatal: Mutex<Option<LiveError>>,
    shutdown: Shutdown,
    /// Faults of the input worth an operator's look (a source's clock, a backlog), by
    /// key: the message and when it was last seen.
    warnings: Mutex<BTreeMap<String, (String, Instant)>>,
}

/// A warning stays on `/healthz` this long after it was last seen.
const WARNING_SHOWN: Duration = Duration::from_secs(3_600);

impl std::fmt::Debug for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Status").field("ready", &self.ready()).field("fatal", &self.fatal()).finish()
    }
}

impl Status {
    pub fn new(shutdown: Shutdown) -> Arc<Status> {
        Arc::new(Status { shutdown, ..Default::default() })
    }

    /// Ready: watch lists loaded, partitions assigned, nothing has failed.
    pub fn ready(&self) -> bool {
        self.lists_loaded() && self.assigned() > 0 && !self.failed()
    }

    pub fn lists_loaded(&self) -> bool {
        self.lists_loaded.load(Ordering::SeqCst)
    }

    pub fn set_lists_loaded(&self) {
        self.lists_loaded.store(true, Ordering::SeqCst);
    }

    pub fn assigned(&self) -> i64 {
        self.assigned.load(Ordering::SeqCst)
    }

    /// Sets the partitions assigned (a reader that assigns itself, as the dashboard's).
    pub fn set_assigned(&self, n: i64) {
        self.assigned.store(n, Ordering::SeqCst);
    }

    pub(super) fn add_assigned(&self, delta: i64) {
        self.assigned.fetch_add(delta, Ordering::SeqCst);
    }

    /// Records a failure that stops the engine (the first is kept), and starts the
    /// shutdown.
    pub fn fail(&self, error: LiveError) {
        tracing::error!(fault = %error.fault(), error = %error, "stopping");
        if let Ok(mut f) = self.fatal.lock() {
            f.get_or_insert(error);
        }
        self.shutdown.trigger();
    }

    pub fn failed(&self) -> bool {
        self.fatal.lock().map(|f| f.is_some()).unwrap_or(true)
    }

    /// What stopped the engine, as a line for `/healthz`.
    pub fn fatal(&self) -> Option<String> {
        self.fatal.lock().ok().and_then(|f| f.as_ref().map(|e| e.to_string()))
    }

    /// The failure that stopped the engine, taken out (once) to be returned.
    pub fn take_fatal(&self) -> Option<LiveError> {
        self.fatal.lock().ok().and_then(|mut f| f.take())
    }

    pub fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// Raises (or refreshes) a warning under `key`: logged when it is new or changed,
    /// shown by `/healthz` for an hour after it was last seen.
    pub fn warn(&self, key: &str, message: String) {
        let mut w = self.warnings.lock().unwrap_or_else(|e| e.into_inner());
        let new = w.get(key).is_none_or(|(m, at)| m != &message && at.elapsed() > Duration::from_secs(600));
        if new {
            tracing::warn!(%message, "input warning");
        }
        w.insert(key.to_string(), (message, Instant::now()));
    }

    /// Takes a warning down once what it named is over (a stalled partition that moves).
    pub fn clear_warning(&self, key: &str) {
        self.warnings.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }

    /// The warnings seen in the last hour, for `/healthz`.
    pub fn warnings(&self) -> Vec<String> {
        let w = self.warnings.lock().unwrap_or_else(|e| e.into_inner());
        w.values().filter(|(_, at)| at.elapsed() < WARNING_SHOWN).map(|(m, _)| m.clone()).collect()
    }

    /// Asks the engine to reload its configuration file (SIGHUP).
    pub fn request_reload(&self) {
        self.reload.store(true, Ordering::SeqCst);
    }

    pub(super) fn take_reload(&self) -> bool {
        self.reload.swap(false, Ordering::SeqCst)
    }
}
