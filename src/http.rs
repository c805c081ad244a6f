//! The HTTP server: Prometheus `/metrics`, `/healthz` and `/readyz`.

use crate::live::Status;
use crate::metrics::Metrics;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

/// What the handlers read.
#[derive(Clone)]
pub struct Health {
    pub metrics: Arc<Metrics>,
    pub status: Arc<Status>,
}

/// The operational routes.
pub fn router(health: Health) -> Router {
    Router::new().route("/metrics", get(metrics)).with_state(health.clone()).merge(health_router(health))
}

/// `/healthz` and `/readyz` alone: where the dashboard shares the listener it serves
/// `/metrics` itself, to those allowed to read it (`dashboard::api`).
pub fn health_router(health: Health) -> Router {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).with_state(health)
}

async fn metrics(State(h): State<Health>) -> impl IntoResponse {
    metrics_text(&h.metrics)
}

/// The Prometheus text of `metrics`, as `/metrics` answers it.
pub fn metrics_text(metrics: &Metrics) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], metrics.render())
}

/// Alive unless something has failed for good.
/// Warnings about the input (a source's clock, a backlog) follow on their own lines.
async fn healthz(State(h): State<Health>) -> impl IntoResponse {
    let warnings: String = h.status.warnings().iter().map(|w| format!("warning: {w}\n")).collect();
    match h.status.fatal() {
        None => (StatusCode::OK, format!("ok\n{warnings}")),
        Some(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("failed: {why}\n{warnings}")),
    }
}

/// Ready once the watch lists are loaded and partitions are assigned.
async fn readyz(State(h): State<Health>) -> impl IntoResponse {
    if h.status.ready() {
        (StatusCode::OK, "ready\n".to_string())
    } else {
        let why = if !h.status.lists_loaded() {
            "loading watch lists"
        } else if h.status.assigned() <= 0 {
            "no partitions assigned"
        } else {
            "failed"
        };
        (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {why}\n"))
    }
}

/// Serves `router` on a bound listener until `shutdown` is triggered.
pub async fn serve(
    listener: std::net::TcpListener,
    router: Router,
    shutdown: crate::live::Shutdown,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    tracing::info!(addr = %listener.local_addr()?, "HTTP server listening");
    // The peer's address reaches handlers (the dashboard's sign-in throttle keys on it).
    let app = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let signal = shutdown.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move { signal.triggered().await });
    // Requests under way get `DRAIN` to finish; a client that never finishes sending
    // its request (or never reads the answer) does not hold the process up after that.
    tokio::select! {
        served = std::future::IntoFuture::into_future(server) => served,
        () = async { shutdown.triggered().await; tokio::time::sleep(DRAIN).await } => {
            tracing::warn!(seconds = DRAIN.as_secs(), "HTTP connections still open after the shutdown's drain: closed");
            Ok(())
        }
    }
}

/// How long open HTTP connections may take to finish after shutdown.
pub const DRAIN: std::time::Duration = std::time::Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    /// A client that sends half a request and waits (one socket is enough) does not
    /// keep the server, and so the process, from stopping.
    #[tokio::test]
    async fn a_half_sent_request_does_not_hold_up_shutdown() {
        use tokio::io::AsyncWriteExt;
        let shutdown = crate::live::Shutdown::new();
        let status = Status::new(shutdown.clone());
        let app = router(Health { metrics: Metrics::new(), status });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(serve(listener, app, shutdown.clone()));
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        client.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        shutdown.trigger();
        let stopped = tokio::time::timeout(DRAIN + std::time::Duration::from_secs(5), server).await;
        assert!(stopped.is_ok(), "the server still waits for the half-sent request");
        drop(client);
    }

    #[tokio::test]
    async fn health_and_readiness() {
        let status = Status::new(crate::live::Shutdown::new());
        let app = router(Health { metrics: Metrics::new(), status: status.clone() });
        let get = |path: &'static str| Request::builder().uri(path).body(Body::empty()).unwrap();
        assert_eq!(app.clone().oneshot(get("/healthz")).await.unwrap().status(), StatusCode::OK);
        assert_eq!(app.clone().oneshot(get("/readyz")).await.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
        let metrics = app.clone().oneshot(get("/metrics")).await.unwrap();
        assert_eq!(metrics.status(), StatusCode::OK);
        status.fail(crate::live::LiveError::Bug("test".into()));
        assert_eq!(app.oneshot(get("/healthz")).await.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}

/// The status code of `GET path` on `addr` (plain HTTP/1.1, five-second timeouts).
pub fn get_status(addr: &str, path: &str) -> std::io::Result<u16> {
    use std::io::{Error, ErrorKind, Read, Write};
    use std::net::ToSocketAddrs;
    let timeout = std::time::Duration::from_secs(5);
    let target = addr.to_socket_addrs()?.next().ok_or_else(|| Error::new(ErrorKind::NotFound, "no address"))?;
    let mut stream = std::net::TcpStream::connect_timeout(&target, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    std::str::from_utf8(&head[9..12]).ok().and_then(|code| code.parse().ok()).ok_or_else(|| {
        Error::new(ErrorKind::InvalidData, format!("not an HTTP answer: {:?}", String::from_utf8_lossy(&head)))
    })
}
