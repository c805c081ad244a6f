//! The anti-corruption dashboard: the live alert board, triage, drill-downs, the daily
//! briefing and the audit trail, served by `accesswatch run` and the demo beside
//! `/metrics` when `[dashboard] enabled = true`.
//!
//! - [`store`]: alerts seen, triage and its history, the audit trail (SQLite).
//! - [`auth`]: accounts, sessions, CSRF, roles.
//! - [`api`]: the REST API and the live stream (Server-Sent Events).
//! - [`briefing`]: the morning briefing, as data and as a printable page.
//!
//! The page itself (`page.html`) is one file of HTML and JavaScript without outside
//! assets, so it works on a closed network.

pub mod api;
pub mod auth;
pub mod briefing;
pub mod store;

use crate::alert::Alert;
use crate::live::LiveError;
use std::path::PathBuf;
use std::sync::Arc;

pub use crate::config::DashboardConfig;

/// The dashboard's shared state.
pub struct Dashboard {
    pub config: DashboardConfig,
    pub store: store::Store,
    pub sessions: auth::Sessions,
    /// New and updated alerts, for the live stream.
    pub feed: tokio::sync::broadcast::Sender<Arc<Alert>>,
    /// The evidence archive, for timelines, subject histories and evidence.
    pub archive: Option<PathBuf>,
    pub risk_half_life: crate::time::Span,
    /// The watch lists of `watchlists_dir`, loaded at start, to judge each access in a
    /// timeline or subject history as the rules do (justified by an incident, or why
    /// not).
    pub lists: Option<crate::watchlist::WatchLists>,
    pub justification: crate::config::JustificationConfig,
}

impl Dashboard {
    pub fn open(config: &crate::config::Config) -> Result<Arc<Dashboard>, LiveError> {
        let d = &config.dashboard;
        let store = store::Store::open(&d.db)?;
        let (feed, _) = tokio::sync::broadcast::channel(1_024);
        let mut dc = d.clone();
        if dc.watchlists_dir.is_none() {
            dc.watchlists_dir = config.live.watchlists_dir.clone();
        }
        let lists = dc.watchlists_dir.as_deref().and_then(|dir| match crate::watchlist::load_dir(dir) {
            Ok((lists, _)) => Some(lists),
            Err(errors) => {
                tracing::warn!(dir = %dir.display(), faults = errors.0.len(), "dashboard: watch lists not loaded; accesses are shown without a justification verdict");
                None
            }
        });
        Ok(Arc::new(Dashboard {
            lists,
            justification: config.justification.clone(),
            config: dc,
            store,
            sessions: auth::Sessions::default(),
            feed,
            archive: config.archive.dir.clone(),
            risk_half_life: config.risk.half_life,
        }))
    }

    /// Takes a raised or updated alert from the engine: stored, then pushed live.
    pub fn observe(&self, alert: &Alert) {
        if let Err(e) = self.store.upsert_alert(alert) {
            tracing::warn!(error = %e, "dashboard: alert not stored");
        }
        let _ = self.feed.send(Arc::new(alert.clone()));
    }
}

/// The HTTP routes of `accesswatch run` with the dashboard added when it is enabled;
/// the engine's raised alerts are handed to it.
pub fn with_dashboard(config: &crate::config::Config, health: crate::http::Health) -> Result<axum::Router, LiveError> {
    let router = crate::http::router(health.clone());
    if !config.dashboard.enabled {
        return Ok(router);
    }
    if config.dashboard.users.is_empty() {
        return Err(LiveError::Config(
            "[dashboard] is enabled but has no users: add [dashboard.users.NAME] accounts".into(),
        ));
    }
    let dashboard = Dashboard::open(config)?;
    // The engine hands alerts over and goes on; a thread of the dashboard's own writes
    // them to SQLite and pushes them to the open boards. The triage store must hold every
    // alert, so a dashboard 65,536 alerts behind slows the engine rather than drop one.
    let (tx, rx) = crossbeam_channel::bounded::<Alert>(65_536);
    let intake = dashboard.clone();
    std::thread::Builder::new()
        .name("dashboard".into())
        .spawn(move || {
            for alert in rx {
                intake.observe(&alert);
            }
        })
        .map_err(|e| LiveError::Bug(format!("cannot start the dashboard thread: {e}")))?;
    health.status.set_alert_tap(Arc::new(move |a: &Alert| {
        if let Err(crossbeam_channel::TrySendError::Full(alert)) = tx.try_send(a.clone()) {
            tracing::warn!("the dashboard is 65,536 alerts behind: the engine waits for it");
            let _ = tx.send(alert);
        }
    }));
    Ok(router.merge(api::router(dashboard)))
}

#[cfg(test)]
mod tests;
