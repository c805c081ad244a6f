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

/// Bounds on the connections [`serve`] holds.
#[derive(Clone)]
pub struct Limits {
    /// A request's head must have arrived this long after the connection opened (or
    /// after the answer before it): a client that sends part of it, or nothing, and
    /// waits no longer holds a socket.
    pub header_timeout: std::time::Duration,
    /// A request's body must have arrived this long after its head: a body sent a
    /// byte every few seconds no longer holds a socket (and a task) for ever.
    pub body_timeout: std::time::Duration,
    /// An answer's write that makes no progress for this long closes the connection: a
    /// client that stops reading (pipelining requests whose answers it never reads, a
    /// live stream left unread) gives its socket up.
    pub write_timeout: std::time::Duration,
    /// Connections open at once from one address; more are closed as they come.
    pub per_address: usize,
    /// Connections open at once from anyone: the process's files are shared with the
    /// engine (Kafka, the archive), which must never run out of them.
    pub total: usize,
    /// Addresses the per-address bound does not apply to: reverse proxies, whose one
    /// address carries every user's connections.
    pub unbounded: Arc<dyn Fn(std::net::IpAddr) -> bool + Send + Sync>,
}

impl Default for Limits {
    /// A head and a body within 10 s each, a write's progress within 30 s, 128 connections an
    /// address, and half the process's open files in all (at least 256).
    fn default() -> Limits {
        let total = (open_files_limit().unwrap_or(2_048) / 2).max(256);
        Limits {
            header_timeout: std::time::Duration::from_secs(10),
            body_timeout: std::time::Duration::from_secs(10),
            write_timeout: std::time::Duration::from_secs(30),
            per_address: 128,
            total,
            unbounded: Arc::new(|_| false),
        }
    }
}

/// Most bytes a request's body may hold: the largest any handler takes is a filter, a
/// triage note or a list of ids.
pub const MAX_BODY: usize = 1 << 20;

/// Reads a request's body whole, within `timeout` and [`MAX_BODY`], before any handler
/// sees it: a body declared larger is refused before a byte of it is read, and one
/// that does not arrive in time is answered 408 (and its connection closed).
async fn whole_body(
    timeout: std::time::Duration,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let headers = request.headers();
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return (StatusCode::PAYLOAD_TOO_LARGE, "the request body is too large\n").into_response();
    }
    if declared.unwrap_or(0) == 0 && !headers.contains_key(header::TRANSFER_ENCODING) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, MAX_BODY)).await {
        Ok(Ok(bytes)) => next.run(axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes))).await,
        Ok(Err(_)) => (StatusCode::PAYLOAD_TOO_LARGE, "the request body is too large\n").into_response(),
        Err(_) => {
            let mut r = (StatusCode::REQUEST_TIMEOUT, "the request body did not arrive in time\n").into_response();
            r.headers_mut().insert(header::CONNECTION, axum::http::HeaderValue::from_static("close"));
            r
        }
    }
}

/// The process's soft limit of open files (Linux: `/proc/self/limits`).
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..].split_whitespace().next()?.parse().ok()
}

/// Serves `router` on a bound listener until `shutdown` is triggered, within the
/// default [`Limits`].
pub async fn serve(
    listener: std::net::TcpListener,
    router: Router,
    shutdown: crate::live::Shutdown,
) -> std::io::Result<()> {
    serve_within(listener, router, shutdown, Limits::default()).await
}

/// [`serve`] within `limits`. Each connection is HTTP/1.1 with its handlers told the
/// peer's address (the dashboard's sign-in throttle keys on it).
pub async fn serve_within(
    listener: std::net::TcpListener,
    router: Router,
    shutdown: crate::live::Shutdown,
    limits: Limits,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    tracing::info!(addr = %listener.local_addr()?, "HTTP server listening");
    let open: PerKey<std::net::IpAddr> = PerKey::default();
    let (closing, closed) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of files, most likely: wait for some to close.
                    tracing::warn!(error = %e, "HTTP accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = shutdown.triggered() => break,
        };
        while connections.try_join_next().is_some() {}
        let addr = peer.ip();
        let bound = (!(limits.unbounded)(addr)).then_some(limits.per_address);
        let slot = (connections.len() < limits.total).then(|| open.take(addr, bound)).flatten();
        let Some(slot) = slot else {
            tracing::debug!(%peer, "HTTP connection refused: too many open");
            continue;
        };
        let router = router.clone();
        let mut closed = closed.clone();
        let (header_timeout, write_timeout) = (limits.header_timeout, limits.write_timeout);
        let body_timeout = limits.body_timeout;
        connections.spawn(async move {
            let _slot = slot;
            let router = router
                .layer(axum::middleware::from_fn(move |r, next| whole_body(body_timeout, r, next)))
                .layer(axum::Extension(axum::extract::ConnectInfo(peer)));
            let service = hyper_util::service::TowerToHyperService::new(router);
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(hyper_util::rt::TokioIo::new(WriteDeadline::new(stream, write_timeout)), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = closed.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
    // Requests under way get `DRAIN` to finish; a client that never finishes sending
    // its request (or never reads the answer) does not hold the process up after that.
    let _ = closing.send(true);
    let drained = tokio::time::timeout(DRAIN, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(seconds = DRAIN.as_secs(), "HTTP connections still open after the shutdown's drain: closed");
    }
    Ok(())
}

/// A stream whose write (or flush) fails once it has waited `limit` without progress.
struct WriteDeadline<S> {
    inner: S,
    limit: std::time::Duration,
    /// Running while a write waits; cleared by any progress.
    waiting: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl<S> WriteDeadline<S> {
    fn new(inner: S, limit: std::time::Duration) -> Self {
        WriteDeadline { inner, limit, waiting: None }
    }

    /// What a write that came back `polled` gives: its result, or pending while the
    /// deadline is not reached, or the deadline's error.
    fn judged<T>(
        &mut self,
        cx: &mut std::task::Context<'_>,
        polled: std::task::Poll<std::io::Result<T>>,
    ) -> std::task::Poll<std::io::Result<T>> {
        use std::future::Future;
        use std::task::Poll;
        if polled.is_ready() {
            self.waiting = None;
            return polled;
        }
        let limit = self.limit;
        let waiting = self.waiting.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match waiting.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("the client read nothing for {} s", limit.as_secs()),
            ))),
        }
    }
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for WriteDeadline<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for WriteDeadline<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_write(cx, buf);
        self.judged(cx, polled)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.judged(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_flush(cx);
        self.judged(cx, polled)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_shutdown(cx);
        self.judged(cx, polled)
    }
}

/// Places held per key (connections per address, live streams per account), each
/// given back when its [`Held`] is dropped.
pub struct PerKey<K: std::hash::Hash + Eq + Clone>(Arc<std::sync::Mutex<std::collections::HashMap<K, usize>>>);

impl<K: std::hash::Hash + Eq + Clone> Default for PerKey<K> {
    fn default() -> Self {
        PerKey(Arc::default())
    }
}

/// One place held under a key.
pub struct Held<K: std::hash::Hash + Eq + Clone> {
    open: Arc<std::sync::Mutex<std::collections::HashMap<K, usize>>>,
    key: K,
}

impl<K: std::hash::Hash + Eq + Clone> PerKey<K> {
    /// A place under `key`, unless it holds `bound` already (`None`: no bound).
    pub fn take(&self, key: K, bound: Option<usize>) -> Option<Held<K>> {
        let mut counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = counts.entry(key.clone()).or_default();
        if bound.is_some_and(|b| *n >= b) {
            if *n == 0 {
                counts.remove(&key);
            }
            return None;
        }
        *n += 1;
        Some(Held { open: self.0.clone(), key })
    }
}

impl<K: std::hash::Hash + Eq + Clone> Drop for Held<K> {
    fn drop(&mut self) {
        let mut counts = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = counts.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.key);
            }
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

    /// The operational routes served on a loopback port within `limits`: the address,
    /// the shutdown that stops them, and the server's task.
    fn serving(
        limits: Limits,
    ) -> (std::net::SocketAddr, crate::live::Shutdown, tokio::task::JoinHandle<std::io::Result<()>>) {
        let shutdown = crate::live::Shutdown::new();
        let status = Status::new(shutdown.clone());
        let app = router(Health { metrics: Metrics::new(), status });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        (addr, shutdown.clone(), tokio::spawn(serve_within(listener, app, shutdown, limits)))
    }

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

    /// A client that opens a connection and sends part of a request, or nothing, is
    /// cut off once the header timeout passes; one address cannot take more than its
    /// share of connections, and the others are still served.
    #[tokio::test]
    async fn slow_and_piled_up_connections_are_cut_off() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let limits = Limits { header_timeout: std::time::Duration::from_secs(1), per_address: 3, ..Limits::default() };
        let (addr, shutdown, server) = serving(limits);
        let connect = || tokio::net::TcpStream::connect(addr);
        // Read to the end: how long the server kept the connection open.
        async fn open_for(mut c: tokio::net::TcpStream) -> std::time::Duration {
            let started = std::time::Instant::now();
            let mut sink = Vec::new();
            let read = tokio::time::timeout(std::time::Duration::from_secs(10), c.read_to_end(&mut sink)).await;
            assert!(read.is_ok(), "still open after 10 s");
            started.elapsed()
        }
        let mut half = connect().await.unwrap();
        half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        let silent = connect().await.unwrap();
        let third = connect().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        // The address's fourth connection is closed as it comes.
        assert!(open_for(connect().await.unwrap()).await < std::time::Duration::from_millis(500));
        assert!(open_for(half).await < std::time::Duration::from_secs(3));
        assert!(open_for(silent).await < std::time::Duration::from_secs(3));
        drop(third);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        // Their places are free again: a whole request is answered.
        let mut c = connect().await.unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
        let mut answer = String::new();
        c.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        shutdown.trigger();
        assert!(tokio::time::timeout(DRAIN + std::time::Duration::from_secs(5), server).await.is_ok());
    }

    /// A body sent a byte every few seconds is cut off at the body timeout; one
    /// declared larger than any handler takes is refused before it is read.
    #[tokio::test]
    async fn a_slow_or_oversized_body_is_refused() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let limits = Limits { body_timeout: std::time::Duration::from_secs(1), ..Limits::default() };
        let (addr, shutdown, server) = serving(limits);
        let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{").await.unwrap();
        let started = std::time::Instant::now();
        let mut answer = String::new();
        let read = tokio::time::timeout(std::time::Duration::from_secs(10), slow.read_to_string(&mut answer)).await;
        assert!(read.is_ok() && started.elapsed() < std::time::Duration::from_secs(5), "still open");
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        let mut big = tokio::net::TcpStream::connect(addr).await.unwrap();
        big.write_all(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n").await.unwrap();
        let mut answer = String::new();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), big.read_to_string(&mut answer)).await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        shutdown.trigger();
        assert!(tokio::time::timeout(DRAIN + std::time::Duration::from_secs(5), server).await.is_ok());
    }

    /// A client that pipelines requests and never reads the answers loses its
    /// connection once a write has waited the write timeout; its place is free again.
    #[tokio::test]
    async fn a_client_that_never_reads_its_answers_is_cut_off() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let limits = Limits {
            header_timeout: std::time::Duration::from_secs(1),
            write_timeout: std::time::Duration::from_secs(1),
            per_address: 1,
            ..Limits::default()
        };
        let (addr, shutdown, server) = serving(limits);
        let stuck = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (unread, mut writes) = stuck.into_split();
        let pipeline = tokio::spawn(async move {
            let request = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".repeat(64);
            while writes.write_all(&request).await.is_ok() {}
        });
        let started = std::time::Instant::now();
        let answered = loop {
            assert!(started.elapsed() < std::time::Duration::from_secs(20), "the unread connection is still held");
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
            let _ = c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
            let mut answer = String::new();
            let _ = tokio::time::timeout(std::time::Duration::from_secs(3), c.read_to_string(&mut answer)).await;
            if answer.starts_with("HTTP/1.1 200") {
                break answer;
            }
        };
        assert!(answered.contains("ok"), "{answered}");
        drop(unread);
        pipeline.abort();
        shutdown.trigger();
        assert!(tokio::time::timeout(DRAIN + std::time::Duration::from_secs(5), server).await.is_ok());
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
