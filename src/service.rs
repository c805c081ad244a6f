//! Running the live engine as a service: the HTTP server, signal handling, and the
//! engine threads, with one shutdown path. Used by `accesswatch run` and the demo.

use crate::config::Config;
use crate::live::{self, LiveError, LiveSummary, Shutdown, Status};
use crate::metrics::Metrics;
use std::sync::Arc;

/// A running live engine.
pub struct Service {
    pub metrics: Arc<Metrics>,
    pub status: Arc<Status>,
    /// Where the HTTP server listens (the port is chosen when `listen` ends in `:0`).
    pub http_addr: std::net::SocketAddr,
    runtime: tokio::runtime::Runtime,
    engine: std::thread::JoinHandle<Result<LiveSummary, LiveError>>,
    http: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Service {
    /// Starts the HTTP server, the signal handlers and the engine.
    pub fn start(
        config: Arc<Config>,
        router: impl FnOnce(crate::http::Health) -> axum::Router,
    ) -> Result<Service, LiveError> {
        Service::start_with(config, |h| Ok(router(h)))
    }

    /// As [`Service::start`], with routes that may fail to set up (the dashboard).
    pub fn start_with(
        config: Arc<Config>,
        router: impl FnOnce(crate::http::Health) -> Result<axum::Router, LiveError>,
    ) -> Result<Service, LiveError> {
        Service::start_running(config, router, live::run)
    }

    /// Starts the HTTP server and the signal handlers, and `work` (the live engine, or
    /// the dashboard's intake) on a thread of its own until shutdown.
    pub fn start_running(
        config: Arc<Config>,
        router: impl FnOnce(crate::http::Health) -> Result<axum::Router, LiveError>,
        work: impl FnOnce(Arc<Config>, Arc<Metrics>, Arc<Status>) -> Result<LiveSummary, LiveError> + Send + 'static,
    ) -> Result<Service, LiveError> {
        let shutdown = Shutdown::new();
        let status = Status::new(shutdown.clone());
        let metrics = Metrics::new();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("http")
            .enable_all()
            .build()
            .map_err(|e| LiveError::Bug(format!("cannot start the async runtime: {e}")))?;
        let app = router(crate::http::Health { metrics: metrics.clone(), status: status.clone() })?;
        let listen = &config.http.listen;
        let listener =
            std::net::TcpListener::bind(listen).map_err(|e| LiveError::disk(format!("listening on {listen}"), e))?;
        let http_addr = listener.local_addr().map_err(|e| LiveError::disk(format!("listening on {listen}"), e))?;
        let http = runtime.spawn({
            let shutdown = shutdown.clone();
            // A reverse proxy the dashboard trusts carries every user's connections.
            let proxies = config.dashboard.trusted_proxies.clone();
            let limits = crate::http::Limits {
                unbounded: Arc::new(move |ip| proxies.iter().any(|net| net.contains(ip))),
                ..crate::http::Limits::default()
            };
            async move { crate::http::serve_within(listener, app, shutdown, limits).await }
        });
        runtime.spawn(wait_for_signal(shutdown, Some(status.clone())));
        let engine = {
            let (metrics, status) = (metrics.clone(), status.clone());
            std::thread::Builder::new()
                .name("live".into())
                .spawn(move || {
                    let result = work(config, metrics, status.clone());
                    status.shutdown().trigger();
                    result
                })
                .map_err(|e| LiveError::Bug(format!("cannot start the engine thread: {e}")))?
        };
        Ok(Service { metrics, status, http_addr, runtime, engine, http })
    }

    /// Asks everything to stop (as SIGTERM does).
    pub fn stop(&self) {
        self.status.shutdown().trigger();
    }

    /// Waits for the engine to drain and the server to close.
    pub fn join(self) -> Result<LiveSummary, LiveError> {
        let result = self.engine.join().map_err(|_| LiveError::Bug("the engine panicked".into())).and_then(|r| r);
        self.status.shutdown().trigger();
        match self.runtime.block_on(self.http) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(LiveError::disk("serving HTTP", e)),
            Err(e) => return Err(LiveError::Bug(format!("the HTTP server task failed: {e}"))),
        }
        result
    }
}

/// Triggers `shutdown` on SIGINT or SIGTERM, for commands that run no service.
pub fn on_signal(shutdown: Shutdown) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
        rt.block_on(wait_for_signal(shutdown, None));
    });
}

/// Waits for SIGINT or SIGTERM and triggers `shutdown`; meanwhile SIGHUP asks the
/// engine (when there is one) to reload its configuration.
async fn wait_for_signal(shutdown: Shutdown, status: Option<Arc<Status>>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut term) = signal(SignalKind::terminate()) else { return };
        let Ok(mut hangup) = signal(SignalKind::hangup()) else { return };
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                _ = term.recv() => break,
                _ = hangup.recv() => {
                    tracing::info!("SIGHUP: reloading the configuration");
                    if let Some(s) = &status {
                        s.request_reload();
                    }
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutting down: draining in-flight events");
    shutdown.trigger();
}
