//! What every route of the API shares: the state extractor, the roles that work the
//! board, the audit line written before an answer, and errors.

use crate::dashboard::auth::{refuse, Role, Viewer};
use crate::dashboard::state::Dashboard;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use std::sync::Arc;

pub(super) type D = State<Arc<Dashboard>>;

/// Roles that work the board (admin always may).
pub(super) const VIEWERS: &[Role] = &[Role::Analyst, Role::Supervisor];

pub(super) fn server_error(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "dashboard request failed");
    refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal error (logged)")
}

/// Writes a line of the audit trail; a request whose audit line cannot be written is
/// not answered.
#[allow(clippy::result_large_err)]
pub(super) fn audit(d: &Dashboard, v: &Viewer, action: &str, target: &str) -> Result<(), Response> {
    audit_marked(d, v, action, target, false)
}

/// As [`audit`], for a line whose target names a live operation's subject when
/// `restricted` (shown to auditors cleared for operations only).
#[allow(clippy::result_large_err)]
pub(super) fn audit_marked(
    d: &Dashboard,
    v: &Viewer,
    action: &str,
    target: &str,
    restricted: bool,
) -> Result<(), Response> {
    d.store.audit_marked(&v.user, v.role.as_str(), action, target, restricted).map_err(server_error)
}

/// Runs blocking work (SQL over the archive) on a thread of its own.
pub(super) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Response> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.await.map_err(|_| refuse(StatusCode::INTERNAL_SERVER_ERROR, "the query failed"))
}
