//! What a call is and where it came from: the procedure kinds, the transports, the request's
//! metadata (headers, connection parameters, response headers, values shared by the calls of
//! one request) and the handler context.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;

/// What a procedure does, which decides how transports may call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProcedureKind {
    /// Reads; HTTP GET.
    Query,
    /// Writes; HTTP POST.
    Mutation,
    /// A stream of events; SSE or WebSocket.
    Subscription,
}

impl ProcedureKind {
    /// The lowercase name tRPC uses (`query`, `mutation`, `subscription`).
    pub fn as_str(self) -> &'static str {
        match self {
            ProcedureKind::Query => "query",
            ProcedureKind::Mutation => "mutation",
            ProcedureKind::Subscription => "subscription",
        }
    }
}

/// The transport a call arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// tRPC over HTTP (single, batch, or SSE).
    TrpcHttp,
    /// tRPC over WebSocket.
    TrpcWs,
    /// JSON-RPC 2.0 (HTTP or WebSocket).
    JsonRpc,
    /// Called in-process (tests, benchmarks).
    Local,
}

/// Request headers whose values are credentials: `Debug` of [`RequestMeta`] shows only that
/// they are there.
const SECRET_HEADERS: [HeaderName; 3] = [
    http::header::AUTHORIZATION,
    http::header::COOKIE,
    http::header::PROXY_AUTHORIZATION,
];

/// What a handler may know about the request beyond its input.
///
/// `Debug` leaves out what may be a credential: the values of `Authorization` and `Cookie`
/// headers and of connection parameters.
#[derive(Clone)]
pub struct RequestMeta {
    /// The request (or WebSocket upgrade) headers.
    pub headers: HeaderMap,
    /// tRPC `connectionParams`: string values the client attached to the connection.
    pub connection_params: Option<BTreeMap<String, String>>,
    /// Whether `connection_params` came in the request's URL (tRPC HTTP and SSE
    /// `?connectionParams=`), which proxies, servers and browser histories record, rather than
    /// in a message (the tRPC WebSocket's first frame). Nothing secret should be taken from
    /// parameters that came in a URL.
    pub connection_params_in_url: bool,
    /// Values that the guard and the handlers of one request (of one connection, for
    /// WebSockets) share, such as who the guard found the caller to be.
    pub locals: Locals,
    /// Where the call came from.
    pub transport: Transport,
    /// Headers the handlers ask to add to the HTTP response (see [`ResponseHeaders`]).
    pub response: ResponseHeaders,
    /// The TCP peer the request came over (a proxy's address when behind one), when the server
    /// recorded it in the request's extensions ([`peer_of`]).
    pub peer: Option<SocketAddr>,
}

impl RequestMeta {
    /// Metadata for an in-process call with no headers.
    pub fn local() -> Self {
        Self {
            headers: HeaderMap::new(),
            connection_params: None,
            connection_params_in_url: false,
            locals: Locals::default(),
            transport: Transport::Local,
            response: ResponseHeaders::default(),
            peer: None,
        }
    }

    /// Metadata of a request that arrived on `transport` with `headers`, over the peer the
    /// request's `extensions` name.
    pub fn arrived(
        transport: Transport,
        headers: HeaderMap,
        extensions: &http::Extensions,
    ) -> Self {
        Self {
            headers,
            transport,
            peer: peer_of(extensions),
            ..Self::local()
        }
    }
}

impl std::fmt::Debug for RequestMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<(&str, &dyn std::fmt::Debug)> = self
            .headers
            .iter()
            .map(|(name, value)| {
                let shown: &dyn std::fmt::Debug = if SECRET_HEADERS.contains(name) {
                    &"***"
                } else {
                    value
                };
                (name.as_str(), shown)
            })
            .collect();
        let params = self
            .connection_params
            .as_ref()
            .map(|params| params.keys().collect::<Vec<_>>());
        f.debug_struct("RequestMeta")
            .field("headers", &headers)
            .field("connection_params", &params)
            .field("connection_params_in_url", &self.connection_params_in_url)
            .field("transport", &self.transport)
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

/// Values shared by the guard and the handlers of one request, by type (like
/// `http::Extensions`, shared between clones).
#[derive(Debug, Clone, Default)]
pub struct Locals(Arc<std::sync::Mutex<http::Extensions>>);

impl Locals {
    /// Stores `value`, replacing the one of its type.
    pub fn insert<T: Clone + Send + Sync + 'static>(&self, value: T) {
        self.lock().insert(value);
    }

    /// The stored value of type `T`, if any.
    pub fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.lock().get::<T>().cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, http::Extensions> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The TCP peer in a request's extensions (axum's `ConnectInfo<SocketAddr>`, which
/// [`crate::serve`] puts on every request), if the server recorded one.
pub fn peer_of(extensions: &http::Extensions) -> Option<SocketAddr> {
    extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|info| info.0)
}

/// Headers that handlers add to the HTTP response of their request, such as `Set-Cookie`.
///
/// Applied by the tRPC HTTP transport to single and batched replies (every call of a batch
/// shares them). Transports with no response of their own to carry them (WebSocket, JSONL
/// streams whose head is sent before the calls finish, JSON-RPC) drop them, so a handler must
/// never depend on them alone.
#[derive(Debug, Clone, Default)]
pub struct ResponseHeaders(Arc<std::sync::Mutex<HeaderMap>>);

impl ResponseHeaders {
    /// Adds a header (several values of one name are all sent).
    pub fn append(&self, name: HeaderName, value: HeaderValue) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .append(name, value);
    }

    /// Takes every header added so far.
    pub fn take(&self) -> HeaderMap {
        std::mem::take(
            &mut *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

/// The context a handler receives: the application's state and the request's metadata.
#[derive(Debug, Clone)]
pub struct Ctx<S> {
    /// The application state (cheap to clone).
    pub state: S,
    /// The request's metadata.
    pub meta: Arc<RequestMeta>,
}
