//! Serving a router over HTTP/1.1 with hyper, one task per connection. Each accepted socket
//! passes [`Admission`] (the process and per-address caps) first; hyper then serves it with a
//! deadline for every request's headers, WebSocket upgrades included. At shutdown the listener
//! stops accepting, each connection finishes its request in flight and closes, and [`serve`]
//! returns once all have (upgraded WebSockets are the transports' to close).
//!
//! hyper's own `http1` builder is used rather than hyper-util's `auto` one: `auto` first reads
//! the connection's opening bytes to tell HTTP/1 from HTTP/2, with no deadline, so a client that
//! connects and sends nothing would be held forever before the header deadline even starts.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::listener::{
    self, AcceptBackoff, Admission, ConnectionCounts, ConnectionLimits, Counted,
};

/// How connections are admitted and served.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// How long a client may take to send a request's headers, counted from when the server
    /// starts waiting for them: the connection's opening, or the end of the previous exchange
    /// on a kept-alive connection (so idle keep-alive connections close after it too). Past
    /// it the connection is closed. `None`: no deadline.
    pub header_read_timeout: Option<Duration>,
    /// The process and per-address caps on open connections.
    pub limits: ConnectionLimits,
    /// The path a refused connection is still answered `ok` on (`/healthz`).
    pub health_path: Option<String>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Some(Duration::from_secs(10)),
            limits: ConnectionLimits::derived(None, None),
            health_path: Some("/healthz".into()),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then waits for the open
/// connections to finish (see [`Server::run`]).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: ServeConfig,
    shutdown: CancellationToken,
) -> io::Result<()> {
    Server::new(&config).run(listener, router, shutdown).await
}

/// A configured server, whose connection counts can be watched before it runs.
#[derive(Debug)]
pub struct Server {
    admission: Admission,
    header_read_timeout: Option<Duration>,
}

impl Server {
    /// A server admitting and serving connections as `config` says.
    pub fn new(config: &ServeConfig) -> Self {
        Self {
            admission: Admission::new(config.limits, config.health_path.as_deref()),
            header_read_timeout: config.header_read_timeout,
        }
    }

    /// The live connection counts (for tests and metrics).
    pub fn counts(&self) -> ConnectionCounts {
        self.admission.counts()
    }

    /// Serves `router` on `listener` until `shutdown` is cancelled, then waits for the open
    /// connections to finish. Each request carries [`ConnectInfo<SocketAddr>`] of its client,
    /// as with axum's `into_make_service_with_connect_info`.
    pub async fn run(
        self,
        listener: TcpListener,
        router: Router,
        shutdown: CancellationToken,
    ) -> io::Result<()> {
        let limits = self.admission.limits();
        tracing::info!(
            max_connections = limits.max_connections,
            max_connections_per_ip = limits.max_per_ip,
            header_read_timeout_ms = self.header_read_timeout.map(|t| t.as_millis() as u64),
            "connection limits"
        );
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout);
        let connections = TaskTracker::new();
        let mut backoff = AcceptBackoff::default();
        loop {
            let (io, addr) = tokio::select! {
                () = shutdown.cancelled() => break,
                accepted = listener::accept(&listener, &mut backoff) => accepted,
            };
            let Some(io) = self.admission.admit(io, addr) else {
                continue;
            };
            let conn = connection(builder.clone(), io, addr, router.clone(), shutdown.clone());
            connections.spawn(conn);
        }
        drop(listener);
        connections.close();
        connections.wait().await;
        Ok(())
    }
}

/// Serves one connection; at shutdown, lets its request in flight finish and closes it.
async fn connection(
    builder: http1::Builder,
    io: Counted<TcpStream>,
    addr: SocketAddr,
    router: Router,
    shutdown: CancellationToken,
) {
    let service = router.map_request(move |mut request: axum::extract::Request| {
        request.extensions_mut().insert(ConnectInfo(addr));
        request
    });
    let service = TowerToHyperService::new(service.map_request(
        |request: http::Request<hyper::body::Incoming>| request.map(axum::body::Body::new),
    ));
    let conn = builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(error) = result {
        tracing::trace!(error = %error, "connection ended with an error");
    }
}
