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

/// Most look-ups over the archive at once, across every account: each is a thread
/// and a query's memory (tens of MB), and the process is the detection engine's own.
const ARCHIVE_READS_AT_ONCE: usize = 4;

/// How long a look-up waits for its turn before the viewer is told to try again.
const ARCHIVE_READ_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs blocking work (SQL over the archive) on a thread of its own, at most
/// [`ARCHIVE_READS_AT_ONCE`] at a time: a flood of look-ups from a signed-in account
/// (a hundred at once took the process from 350 MB to 2 GB) waits its turn, and past
/// [`ARCHIVE_READ_WAIT`] is refused.
pub(super) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Response> {
    static TURNS: std::sync::OnceLock<std::sync::Arc<tokio::sync::Semaphore>> = std::sync::OnceLock::new();
    let turns = TURNS.get_or_init(|| std::sync::Arc::new(tokio::sync::Semaphore::new(ARCHIVE_READS_AT_ONCE)));
    let busy = || refuse(StatusCode::SERVICE_UNAVAILABLE, "the archive is busy with other look-ups; try again shortly");
    let turn = match tokio::time::timeout(ARCHIVE_READ_WAIT, turns.clone().acquire_owned()).await {
        Ok(Ok(turn)) => turn,
        _ => return Err(busy()),
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
        drop(turn);
    });
    rx.await.map_err(|_| refuse(StatusCode::INTERNAL_SERVER_ERROR, "the query failed"))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A flood of look-ups runs a few at a time, and every one is answered.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn look_ups_over_the_archive_take_turns() {
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut asks = Vec::new();
        for i in 0..12 {
            let (now, most) = (now.clone(), most.clone());
            asks.push(tokio::spawn(super::blocking(move || {
                let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(running, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(50));
                now.fetch_sub(1, Ordering::SeqCst);
                i
            })));
        }
        let mut answers = Vec::new();
        for ask in asks {
            answers.push(ask.await.unwrap().unwrap_or(usize::MAX));
        }
        assert_eq!(answers, (0..12).collect::<Vec<_>>());
        let most = most.load(Ordering::SeqCst);
        assert!((1..=super::ARCHIVE_READS_AT_ONCE).contains(&most), "{most} at once");
    }
}
