//! JSON-RPC 2.0 over HTTP POST and WebSocket on one path, served by jsonrpsee from the same
//! [`Registry`] as tRPC.
//!
//! - Queries and mutations are methods named by their path (`volumes.create`); params are the
//!   input: a by-name object is the input, a one-element array holds it, absent or empty
//!   params mean no input.
//! - A subscription `updates.subscribe` is unsubscribed with `updates.unsubscribe` and
//!   notifies with `updates.notice` (the last path segment replaced); each notification's
//!   `result` is `{"id": <tracking id>, "data": <notice>}`.
//! - Errors: JSON-RPC's own codes for protocol faults (-32700, -32600, -32601, -32602 for input
//!   that does not deserialize, -32603); application errors carry the error table's number
//!   and `data: {code, httpStatus, path}` like tRPC.
//! - `rpc.discover` returns an OpenRPC document generated from the registry.

mod error;
mod methods;
mod names;
mod notify;
pub mod openrpc;
pub(crate) mod params;
pub mod schema;

use futures::future::BoxFuture;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use http::StatusCode;
use jsonrpsee::server::middleware::rpc::RpcServiceBuilder;
use jsonrpsee::server::{
    BatchRequestConfig, Methods, Server, ServerConfig, ServerHandle, StopHandle,
    TowerServiceBuilder, stop_channel,
};
use serde_json::value::RawValue;
use tokio_util::sync::CancellationToken;
use tower::Service;
use tower::layer::util::{Identity, Stack};

pub use names::MethodNames;

use crate::error::RpcError;
use crate::procedure::{Ctx, ProcedureKind, Registry, RequestMeta, Transport};
use methods::Shared;
use notify::{RunNotificationsLayer, Unanswered};

/// JSON-RPC transport options.
#[derive(Debug, Clone)]
pub struct JsonRpcConfig {
    /// The path serving both HTTP POST and the WebSocket upgrade (`/rpc`).
    pub path: String,
    /// Largest accepted request (an HTTP body or a WebSocket message); larger ones get
    /// HTTP 413 / error -32007.
    pub max_request_body_bytes: u32,
    /// Largest response; a larger result is replaced by error -32008.
    pub max_response_body_bytes: u32,
    /// Most HTTP requests in flight plus open WebSockets; beyond it, HTTP 429.
    pub max_connections: u32,
    /// Most subscriptions one WebSocket may hold; beyond it, error -32006.
    pub max_subscriptions_per_connection: u32,
    /// Most calls in one batch; a larger batch gets error -32010.
    pub max_batch_size: u32,
    /// `info.title` of the OpenRPC document.
    pub title: String,
    /// `info.version` of the OpenRPC document.
    pub version: String,
    /// Cancelled when the server shuts down: WebSockets close and subscriptions end.
    pub shutdown: CancellationToken,
    /// Where subscriptions are counted (`tidings_subscribers{transport="jsonrpc"}`).
    pub metrics: crate::metrics::Metrics,
    /// How long a WebSocket whose upgrade the registry's
    /// [`authenticate`](crate::Registry::set_authenticate) hook did not accept may stay open
    /// (its calls are answered meanwhile, public ones included); then jsonrpsee closes it.
    /// `None`: no deadline.
    pub auth_timeout: Option<Duration>,
}

impl Default for JsonRpcConfig {
    fn default() -> Self {
        Self {
            path: "/rpc".into(),
            max_request_body_bytes: 1 << 20,
            max_response_body_bytes: 10 << 20,
            max_connections: 1024,
            max_subscriptions_per_connection: 64,
            max_batch_size: 64,
            title: "JSON-RPC API".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            shutdown: CancellationToken::new(),
            metrics: crate::metrics::Metrics::default(),
            auth_timeout: Some(Duration::from_secs(5)),
        }
    }
}

/// Whether the registry's `authenticate` hook accepts a connection with this metadata.
type AuthenticateFn = dyn Fn(&Arc<RequestMeta>) -> BoxFuture<'static, bool> + Send + Sync;

/// What jsonrpsee's tower service is built from, per request.
type ServiceBuilder = TowerServiceBuilder<Stack<RunNotificationsLayer, Identity>, Identity>;

struct Endpoint {
    builder: ServiceBuilder,
    methods: Methods,
    stop: StopHandle,
    /// Kept so that the stop handle only fires on shutdown.
    _server: ServerHandle,
    /// Largest request body.
    max_body: usize,
    /// Asks the registry's `authenticate` hook about a WebSocket's upgrade.
    authenticate: Box<AuthenticateFn>,
    /// How long a WebSocket the hook did not accept may stay open.
    auth_timeout: Option<Duration>,
    /// Cancelled at shutdown, for the stop handles of such WebSockets.
    shutdown: CancellationToken,
}

/// The routes serving `registry` over JSON-RPC at `config.path`. Call it inside a Tokio
/// runtime: a task waits for `config.shutdown` to stop open WebSockets.
pub fn jsonrpc_router<S: Clone + Send + Sync + 'static>(
    registry: Arc<Registry<S>>,
    state: S,
    config: JsonRpcConfig,
) -> Router {
    let discover = openrpc::document(&registry, &config.title, &config.version);
    let discover: Arc<RawValue> = serde_json::value::to_raw_value(&discover)
        .expect("an OpenRPC document is JSON")
        .into();
    let callable: Arc<HashSet<&'static str>> = Arc::new(
        registry
            .procedures()
            .filter(|p| p.kind() != ProcedureKind::Subscription)
            .map(|p| p.path())
            .collect(),
    );
    let authenticate: Box<AuthenticateFn> = {
        let (registry, state) = (registry.clone(), state.clone());
        Box::new(move |meta: &Arc<RequestMeta>| {
            let ctx = Ctx {
                state: state.clone(),
                meta: meta.clone(),
            };
            let registry = registry.clone();
            Box::pin(async move { registry.authenticate(&ctx).await.is_ok() })
        })
    };
    let shared = Shared {
        registry,
        state,
        shutdown: config.shutdown.clone(),
        metrics: config.metrics.clone(),
    };
    let methods: Methods = methods::module(shared, discover).into();
    let (stop, server) = stop_channel();
    let on_shutdown = server.clone();
    let shutdown = config.shutdown.clone();
    tokio::spawn(async move {
        shutdown.cancelled().await;
        let _ = on_shutdown.stop();
    });
    let endpoint = Arc::new(Endpoint {
        builder: service_builder(&config, callable),
        methods,
        stop,
        _server: server,
        max_body: usize::try_from(config.max_request_body_bytes).unwrap_or(usize::MAX),
        authenticate,
        auth_timeout: config.auth_timeout,
        shutdown: config.shutdown.clone(),
    });
    Router::new().route(&config.path, any(serve).with_state(endpoint))
}

fn service_builder(config: &JsonRpcConfig, callable: Arc<HashSet<&'static str>>) -> ServiceBuilder {
    let server_config = ServerConfig::builder()
        .max_request_body_size(config.max_request_body_bytes)
        .max_response_body_size(config.max_response_body_bytes)
        .max_connections(config.max_connections)
        .max_subscriptions_per_connection(config.max_subscriptions_per_connection)
        // Checked by `RunNotifications`, which words the error like every other one.
        .set_batch_request_config(BatchRequestConfig::Unlimited)
        .build();
    let layer = RunNotificationsLayer {
        callable,
        max_batch: usize::try_from(config.max_batch_size).unwrap_or(usize::MAX),
    };
    Server::builder()
        .set_config(server_config)
        .set_rpc_middleware(RpcServiceBuilder::new().layer(layer))
        .to_service_builder()
}

/// Hands one request (a POST, or a WebSocket upgrade) to jsonrpsee, with the request's
/// metadata in its extensions for the handlers' context.
async fn serve(State(endpoint): State<Arc<Endpoint>>, mut request: Request) -> Response {
    let meta = Arc::new(RequestMeta::arrived(
        Transport::JsonRpc,
        request.headers().clone(),
        request.extensions(),
    ));
    let stop = if is_upgrade(&request) && !(endpoint.authenticate)(&meta).await {
        endpoint.unauthenticated_stop()
    } else {
        endpoint.stop.clone()
    };
    request.extensions_mut().insert(meta);
    let request = match screen_ids(&endpoint, request).await {
        Ok(request) => request,
        Err(refused) => return refused,
    };
    let mut service = endpoint
        .builder
        .clone()
        .build(endpoint.methods.clone(), stop);
    match service.call(request).await {
        // JSON-RPC answers nothing to notifications; over HTTP that is 204 with no body.
        Ok(response) if response.extensions().get::<Unanswered>().is_some() => {
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(response) => response.map(axum::body::Body::new),
        Err(error) => {
            tracing::error!(error = %error, "JSON-RPC service failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

impl Endpoint {
    /// The stop handle of a WebSocket its upgrade did not authenticate: it fires at shutdown or
    /// once `auth_timeout` has passed, and jsonrpsee then closes the socket (close frame 1000,
    /// the only one it sends). The task waiting for that ends with the connection.
    fn unauthenticated_stop(&self) -> StopHandle {
        let Some(timeout) = self.auth_timeout else {
            return self.stop.clone();
        };
        let (stop, handle) = stop_channel();
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = handle.clone().stopped() => {}
                () = shutdown.cancelled() => { let _ = handle.stop(); }
                () = tokio::time::sleep(timeout) => {
                    tracing::debug!("closing an unauthenticated JSON-RPC WebSocket");
                    let _ = handle.stop();
                }
            }
        });
        stop
    }
}

/// Whether `request` asks to open a WebSocket.
fn is_upgrade(request: &Request) -> bool {
    request
        .headers()
        .get(http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// A JSON-RPC error answer (`id: null`) to a whole request refused before it was read (an
/// Origin policy, a rate limit), with the table's HTTP status.
pub fn error_response(error: &RpcError) -> Response {
    let object = error::to_error_object(error, "");
    let body = serde_json::json!({ "jsonrpc": "2.0", "error": object, "id": null });
    (
        StatusCode::from_u16(error.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
        [(http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Refuses an HTTP request over the size limit (413, -32007), and one whose `id` JSON-RPC
/// allows but jsonrpsee cannot carry (a negative or
/// fractional number, a number past u64, or anything that is neither string, number nor null).
/// jsonrpsee would take such a call for a notification: run it, answer nothing. It is answered
/// instead with an invalid-request error and not run. Other bodies pass through unchanged
/// (WebSocket messages are not screened: jsonrpsee refuses an oversized one itself).
async fn screen_ids(endpoint: &Endpoint, request: Request) -> Result<Request, Response> {
    use http::header::CONTENT_LENGTH;
    if request.method() != http::Method::POST {
        return Ok(request);
    }
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > endpoint.max_body) {
        return Err(too_large());
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, endpoint.max_body)
        .await
        .map_err(|_| too_large())?;
    if let Some(id) = unusable_id(&bytes) {
        return Err(error_response(&RpcError::bad_request(format!(
            "Invalid request id {id}: use a string, a non-negative integer or null"
        ))));
    }
    Ok(Request::from_parts(parts, axum::body::Body::from(bytes)))
}

/// HTTP 413 with jsonrpsee's -32007 "Request is too big" for a body over the limit, whether
/// its length was declared or it was sent in chunks, with the table's `data` (`path` null).
fn too_large() -> Response {
    use jsonrpsee::types::error::{OVERSIZED_REQUEST_CODE, OVERSIZED_REQUEST_MSG};
    let object = error::limit_error(
        OVERSIZED_REQUEST_CODE,
        OVERSIZED_REQUEST_MSG,
        crate::error::ErrorCode::PayloadTooLarge,
        None,
    );
    let body = serde_json::json!({ "jsonrpc": "2.0", "error": object, "id": null });
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        [(http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The first `id` of a request or batch that is not a string, an unsigned integer or null.
fn unusable_id(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Probe<'a> {
        #[serde(borrow, default)]
        id: Option<&'a RawValue>,
    }
    let usable = |raw: &RawValue| {
        let text = raw.get();
        text.starts_with('"') || text.parse::<u64>().is_ok()
    };
    // jsonrpsee reads a body with any ASCII whitespace around it (form feed included).
    let body = body.trim_ascii();
    let ids: Vec<Option<&RawValue>> = match body.first()? {
        b'{' => vec![serde_json::from_slice::<Probe<'_>>(body).ok()?.id],
        b'[' => serde_json::from_slice::<Vec<Probe<'_>>>(body)
            .ok()?
            .into_iter()
            .map(|p| p.id)
            .collect(),
        _ => return None,
    };
    ids.into_iter()
        .flatten()
        .find(|raw| !usable(raw))
        .map(|raw| raw.get().chars().take(40).collect())
}

#[cfg(test)]
mod id_tests {
    use super::unusable_id;

    #[test]
    fn ids_jsonrpsee_cannot_carry_are_found() {
        for ok in [
            r#"{"jsonrpc":"2.0","id":1,"method":"m"}"#,
            r#"{"jsonrpc":"2.0","id":"a","method":"m"}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"m"}"#,
            r#"{"jsonrpc":"2.0","method":"m"}"#,
            r#"[{"id":1,"method":"m"},{"method":"n"}]"#,
            "not json",
            "\u{c}{\"id\":2,\"method\":\"m\"}",
        ] {
            assert_eq!(unusable_id(ok.as_bytes()), None, "{ok}");
        }
        for bad in [
            r#"{"jsonrpc":"2.0","id":-1,"method":"m"}"#,
            r#"{"jsonrpc":"2.0","id":1.5,"method":"m"}"#,
            r#"{"jsonrpc":"2.0","id":true,"method":"m"}"#,
            r#"{"jsonrpc":"2.0","id":[1],"method":"m"}"#,
            r#"{"jsonrpc":"2.0","id":18446744073709551616,"method":"m"}"#,
            r#"[{"id":1,"method":"m"},{"id":-2,"method":"n"}]"#,
            "\u{c}\n{\"id\":-1,\"method\":\"m\"}",
        ] {
            assert!(unusable_id(bad.as_bytes()).is_some(), "{bad}");
        }
    }
}
