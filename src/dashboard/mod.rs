//! The anti-corruption dashboard: the live alert board, triage, drill-downs, the daily
//! briefing and the audit trail, served by `accesswatch run` and the demo beside
//! `/metrics` when `[dashboard] enabled = true`.
//!
//! The people on it investigate their own colleagues, and some of what it shows is
//! secret even from them, so trust is built in:
//!
//! - [`scope`]: need-to-know, one rule for every path (live operations, no one
//!   reviewing themselves, the ACU's own staff).
//! - [`pseudonym`]: analysts see members of staff as stable pseudonyms until a
//!   supervisor reveals an identity, with a reason.
//! - [`store`]: alerts seen, triage and its history (four eyes on closing serious
//!   alerts), reveals, and the tamper-evident audit trail (SQLite).
//! - [`auth`], [`signin`]: accounts, sessions, CSRF, roles; throttled sign-in on a
//!   fixed pool of password checkers.
//! - [`api`]: the REST API and the live stream (Server-Sent Events), every read
//!   audited, every response with strict security headers.
//! - [`briefing`]: the morning briefing, as data and as a printable page.
//! - [`intake`]: the dashboard as its own service, fed by the alert topic (any
//!   number of engines, one board).
//! - [`state`]: the shared state.
//!
//! The page (`page.html`, `app.js`, `app.css`) is plain HTML, JavaScript and CSS
//! without outside assets, so it works on a closed network and under a content
//! security policy without inline script.

pub mod api;
pub mod auth;
pub mod briefing;
pub mod intake;
pub mod pseudonym;
pub mod scope;
pub mod signin;
pub mod state;
pub mod store;

pub use crate::config::DashboardConfig;
pub use state::Dashboard;

use crate::live::LiveError;
use std::sync::Arc;

/// Starts the dashboard as a service of its own: its routes beside `/metrics` and the
/// health endpoints, and the intake of the alert topic ([`intake`]).
pub fn serve(config: Arc<crate::config::Config>) -> Result<crate::service::Service, LiveError> {
    if config.dashboard.users.is_empty() {
        return Err(LiveError::Config("the dashboard has no users: add [dashboard.users.NAME] accounts".into()));
    }
    // Opened with the service's metrics (by the routes), then fed by the intake thread.
    let opened: Arc<std::sync::OnceLock<Arc<Dashboard>>> = Arc::default();
    let (routes, fed) = (config.clone(), opened.clone());
    crate::service::Service::start_running(
        config,
        move |health| {
            let dashboard = Dashboard::open(&routes, health.metrics.clone())?;
            start_anchor(&dashboard)?;
            let _ = opened.set(dashboard.clone());
            Ok(crate::http::health_router(health).merge(api::router(dashboard)))
        },
        move |config, metrics, status| {
            status.set_lists_loaded();
            let dashboard = fed.get().cloned().ok_or_else(|| LiveError::Bug("the dashboard was not opened".into()))?;
            // `accesswatch_ready` says what /readyz says, as the engine's does (a probe:
            // it stayed 0, and the shipped alert on it would fire for ever).
            let (gauge, watched) = (metrics.clone(), status.clone());
            std::thread::Builder::new()
                .name("dashboard-ready".into())
                .spawn(move || {
                    while !watched.shutdown().wait_timeout(std::time::Duration::from_secs(1)) {
                        gauge.ready.set(watched.ready() as i64);
                    }
                    gauge.ready.set(0);
                })
                .map_err(|e| LiveError::Bug(format!("cannot start the readiness thread: {e}")))?;
            intake::run(&config, dashboard, metrics, status.clone(), status.shutdown().clone())?;
            Ok(crate::live::LiveSummary::default())
        },
    )
}

/// The daily anchor of the audit chain, and one at start.
fn start_anchor(dashboard: &Arc<Dashboard>) -> Result<(), LiveError> {
    let anchor = dashboard.clone();
    std::thread::Builder::new()
        .name("audit-anchor".into())
        .spawn(move || loop {
            anchor.anchor_audit();
            std::thread::sleep(std::time::Duration::from_secs(24 * 3600));
        })
        .map(|_| ())
        .map_err(|e| LiveError::Bug(format!("cannot start the audit anchor thread: {e}")))
}

/// The HTTP routes of `accesswatch run` with the dashboard added when it is enabled;
/// the engine's raised alerts are handed to it.
pub fn with_dashboard(config: &crate::config::Config, health: crate::http::Health) -> Result<axum::Router, LiveError> {
    if !config.dashboard.enabled {
        return Ok(crate::http::router(health));
    }
    let router = crate::http::health_router(health.clone());
    if config.dashboard.users.is_empty() {
        return Err(LiveError::Config(
            "[dashboard] is enabled but has no users: add [dashboard.users.NAME] accounts".into(),
        ));
    }
    let dashboard = Dashboard::open(config, health.metrics.clone())?;
    // Fed as the dashboard service is, by the intake of the alert topic: each alert is
    // stored with the position it was read at, so the board holds every alert the
    // engine published, whenever the process stops (a probe: handed over in memory,
    // up to 103 of 201 alerts never reached the board at a SIGTERM, and a restart
    // did not bring them back).
    // Its own status: the intake's partitions are not the engine's (readiness counts
    // the engine's), and a fault of the board's intake must not stop detection: it is
    // logged and the intake starts again from the positions the board stored.
    let (intake, fed, metrics) = (Arc::new(config.clone()), dashboard.clone(), health.metrics.clone());
    let shutdown = health.status.shutdown().clone();
    std::thread::Builder::new()
        .name("dashboard".into())
        .spawn(move || {
            while !shutdown.is_triggered() {
                let own = Arc::new(crate::live::Status::default());
                if let Err(e) = intake::run(&intake, fed.clone(), metrics.clone(), own, shutdown.clone()) {
                    tracing::error!(error = %e, "the dashboard's intake of the alert topic failed; starting it again in 5 s");
                    std::thread::sleep(std::time::Duration::from_secs(5));
                }
            }
        })
        .map_err(|e| LiveError::Bug(format!("cannot start the dashboard thread: {e}")))?;
    start_anchor(&dashboard)?;
    Ok(router.merge(api::router(dashboard)))
}

#[cfg(test)]
mod tests;
