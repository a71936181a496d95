//! tRPC v11 over HTTP and WebSocket: queries, mutations, batches, JSONL streaming batches, SSE
//! subscriptions and `wsLink` connections, byte-compatible with `@trpc/client`'s links (see the
//! wire description in the design docs). The transport only decodes requests and encodes
//! envelopes; procedures come from the [`Registry`](crate::Registry).

pub mod cache;
mod envelope;
mod http;
pub(crate) mod request;
mod sse;
pub(crate) mod ws;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::routing::any;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use ::http::HeaderValue;

use crate::metrics::Metrics;
use crate::procedure::{ProcedureKind, Registry};

pub use envelope::result_envelope;
/// A tRPC error answer to a whole request (one error object, no path), for checks that refuse
/// a request before any procedure is resolved (an Origin policy, a rate limit).
pub use http::whole_request_error as error_response;
pub use ws::WsConfig;

/// Server-Sent Events options.
#[derive(Debug, Clone)]
pub struct SseConfig {
    /// Send a `ping` event after this long without any other event; `None` disables pings.
    pub ping_interval: Option<Duration>,
    /// Told to clients in the `connected` event: reconnect when nothing (not even a ping) arrived
    /// for this long. Must be longer than `ping_interval`.
    pub reconnect_after_inactivity: Option<Duration>,
    /// End each stream after this long (clients reconnect and resume); `None` = never.
    pub max_duration: Option<Duration>,
}

impl Default for SseConfig {
    fn default() -> Self {
        Self {
            ping_interval: Some(Duration::from_secs(10)),
            reconnect_after_inactivity: Some(Duration::from_secs(30)),
            max_duration: None,
        }
    }
}

/// tRPC transport options.
#[derive(Debug, Clone)]
pub struct TrpcConfig {
    /// The mount point (`/trpc`).
    pub prefix: String,
    /// Largest accepted request body; larger ones get `PAYLOAD_TOO_LARGE` (413).
    pub max_body_bytes: usize,
    /// Most calls in one batch.
    pub max_batch_size: usize,
    /// Accept queries and subscriptions over POST (tRPC's `allowMethodOverride`).
    pub allow_method_override: bool,
    /// Bodies smaller than this are sent uncompressed.
    pub min_compress_bytes: usize,
    /// Memory for compressed variants of query responses (least recently used evicted).
    pub compression_cache_bytes: usize,
    /// SSE options.
    pub sse: SseConfig,
    /// WebSocket options.
    pub ws: WsConfig,
    /// Where open subscriptions and the response cache are counted.
    pub metrics: Metrics,
    /// Cancelled when the server shuts down: open SSE streams end without `return` and open
    /// WebSockets get `reconnect` then close, so clients reconnect (to this server once it is
    /// back, or to another) and resume.
    pub shutdown: CancellationToken,
}

impl Default for TrpcConfig {
    fn default() -> Self {
        Self {
            prefix: "/trpc".into(),
            max_body_bytes: 1 << 20,
            max_batch_size: 64,
            allow_method_override: false,
            min_compress_bytes: 1024,
            compression_cache_bytes: 64 << 20,
            sse: SseConfig::default(),
            ws: WsConfig::default(),
            metrics: Metrics::default(),
            shutdown: CancellationToken::new(),
        }
    }
}

/// The tRPC transport over one registry and one application state.
#[derive(Debug)]
pub struct Trpc<S> {
    registry: Arc<Registry<S>>,
    state: S,
    config: TrpcConfig,
    /// Compressed query responses, shared by every client.
    compression: cache::CompressionCache,
    /// The open WebSocket connections, so shutdown can wait for their farewells.
    sockets: TaskTracker,
}

impl<S: Clone + Send + Sync + 'static> Trpc<S> {
    /// A transport serving `registry` with `state`.
    pub fn new(registry: Arc<Registry<S>>, state: S, config: TrpcConfig) -> Arc<Self> {
        assert!(
            match (
                config.sse.ping_interval,
                config.sse.reconnect_after_inactivity
            ) {
                (Some(ping), Some(inactive)) => ping < inactive,
                (None, Some(_)) => false,
                _ => true,
            },
            "SSE pings must be more frequent than the client's inactivity reconnect"
        );
        Arc::new(Self {
            registry,
            state,
            compression: cache::CompressionCache::new(config.compression_cache_bytes),
            config,
            sockets: TaskTracker::new(),
        })
    }

    /// Resolves once every WebSocket connection has ended; after `shutdown` is cancelled that
    /// is when each was sent `reconnect` and closed (or its close timed out).
    pub async fn sockets_closed(&self) {
        self.sockets.close();
        self.sockets.wait().await;
    }

    /// The axum routes: `<prefix>` and `<prefix>/<path>` for every method; a WebSocket upgrade
    /// of `<prefix>` itself opens a `wsLink` connection.
    pub fn router(self: &Arc<Self>) -> Router {
        let prefix = self.config.prefix.trim_end_matches('/');
        let this = self.clone();
        let handler = move |req| http::handle(this.clone(), req);
        let this = self.clone();
        let root = move |req: Request| {
            let this = this.clone();
            async move {
                if ws::is_upgrade(&req) {
                    ws::upgrade(this, req).await
                } else {
                    http::handle(this, req).await
                }
            }
        };
        Router::new()
            .route(prefix, any(root.clone()))
            .route(&format!("{prefix}/"), any(root))
            .route(&format!("{prefix}/{{*path}}"), any(handler))
    }
}

/// `vary` on every tRPC response (HTTP replies and SSE streams alike).
const VARY: HeaderValue = HeaderValue::from_static("trpc-accept, accept");

/// The methods a procedure of `kind` answers over HTTP, for `Allow` on 405 replies.
fn allowed_methods<S>(trpc: &Trpc<S>, kind: ProcedureKind) -> HeaderValue {
    HeaderValue::from_static(match kind {
        ProcedureKind::Mutation => "POST",
        _ if trpc.config.allow_method_override => "GET, POST",
        _ => "GET",
    })
}
