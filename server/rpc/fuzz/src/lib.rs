//! Shared by the fuzz targets: a small domain-free registry served by the real transports (tRPC
//! HTTP and JSON-RPC routers, built once), one Tokio runtime to drive them, and the checks every
//! answer must pass. A failed check panics, which libFuzzer reports as a crash.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use specta::Type;
use tidings_rpc::{
    Ctx, Event, EventStream, JsonRpcConfig, Notice, Registry, RpcError, SseConfig, Trpc,
    TrpcConfig, jsonrpc_router,
};
use tokio::runtime::Runtime;
use tower::ServiceExt;

/// Largest body either router accepts (small, so the limit paths are reachable).
pub const MAX_BODY_BYTES: usize = 64 << 10;

/// Most calls in one tRPC batch.
pub const MAX_BATCH: usize = 16;

/// The procedures every target serves: echoes (so round trips can be checked), a typed input,
/// an input-less query, an error, and a finite subscription.
pub const ECHO_QUERY: &str = "echo.query";
/// A mutation returning its input.
pub const ECHO_MUTATE: &str = "echo.mutate";
/// A subscription yielding its input untracked, tracked (id `1`), untracked again, then ending.
pub const ECHO_SUBSCRIBE: &str = "echo.subscribe";

#[derive(Deserialize, Serialize, Type)]
#[serde(rename_all = "camelCase")]
struct ById {
    id: String,
    #[serde(default)]
    #[specta(optional)]
    count: Option<u32>,
}

fn registry() -> Arc<Registry<()>> {
    let mut r = Registry::new();
    r.query(
        ECHO_QUERY,
        |_: Ctx<()>, input: Value| async move { Ok(input) },
    );
    r.mutation(
        ECHO_MUTATE,
        |_: Ctx<()>, input: Value| async move { Ok(input) },
    );
    r.query(
        "typed.byId",
        |_: Ctx<()>, input: ById| async move { Ok(input) },
    );
    r.query("plain.getAll", |_: Ctx<()>, _: ()| async {
        Ok(vec!["a", "b"])
    });
    r.query("fail.notFound", |_: Ctx<()>, _: ()| async {
        Err::<(), _>(RpcError::not_found("nothing here"))
    });
    r.subscription::<Value, Value, _, _>(ECHO_SUBSCRIBE, |_: Ctx<()>, input: Value| async move {
        let tracked = Notice::new(Some("1".into()), &input).map_err(RpcError::internal)?;
        let untracked = Notice::new(None, &input).map_err(RpcError::internal)?;
        let (tracked, untracked) = (Arc::new(tracked), Arc::new(untracked));
        let events = [untracked.clone(), tracked, untracked].map(Event::Notice);
        Ok(futures::stream::iter(events).boxed() as EventStream)
    });
    Arc::new(r)
}

/// The runtime every target drives its futures on.
pub fn block_on<F: Future>(future: F) -> F::Output {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a Tokio runtime")
        })
        .block_on(future)
}

/// The tRPC router at `/trpc`, as the app configures it apart from the limits.
pub fn trpc() -> Router {
    static ROUTER: OnceLock<Router> = OnceLock::new();
    ROUTER
        .get_or_init(|| {
            let config = TrpcConfig {
                max_body_bytes: MAX_BODY_BYTES,
                max_batch_size: MAX_BATCH,
                sse: SseConfig {
                    ping_interval: None,
                    reconnect_after_inactivity: None,
                    max_duration: None,
                },
                ..TrpcConfig::default()
            };
            Trpc::new(registry(), (), config).router()
        })
        .clone()
}

/// The JSON-RPC router at `/rpc`.
pub fn jsonrpc() -> Router {
    static ROUTER: OnceLock<Router> = OnceLock::new();
    ROUTER
        .get_or_init(|| {
            let config = JsonRpcConfig {
                max_request_body_bytes: MAX_BODY_BYTES as u32,
                max_batch_size: MAX_BATCH as u32,
                ..JsonRpcConfig::default()
            };
            // The router spawns its shutdown watcher, so it is built inside the runtime.
            block_on(async { jsonrpc_router(registry(), (), config) })
        })
        .clone()
}

/// An answer, with its whole body read.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body (a stream read to its end).
    pub body: Bytes,
}

/// Sends `request` through `router` and reads the whole answer.
pub fn send(router: Router, request: Request<Body>) -> Reply {
    block_on(async move {
        let response = router
            .oneshot(request)
            .await
            .expect("routers are infallible");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("bodies never fail").to_bytes();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    })
}

/// Parses `bytes` as JSON or panics naming `what`.
pub fn json(bytes: &[u8], what: &str) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| {
        panic!(
            "{what} is not JSON ({e}): {}",
            String::from_utf8_lossy(bytes)
        )
    })
}

/// Checks a tRPC error shape `{message, code, data: {code, httpStatus, path?}}` and returns its
/// HTTP status. `path` is the `data.path` it must carry (`None`: it must carry none).
pub fn check_error_shape(shape: &Value, path: Option<&str>) -> u16 {
    let object = shape
        .as_object()
        .unwrap_or_else(|| panic!("error is not an object: {shape}"));
    assert!(object["message"].is_string(), "error.message: {shape}");
    let code = object["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("error.code: {shape}"));
    assert!(
        (-32700..=-32000).contains(&code),
        "error.code out of range: {shape}"
    );
    let data = &object["data"];
    let key = data["code"]
        .as_str()
        .unwrap_or_else(|| panic!("data.code: {shape}"));
    assert!(
        !key.is_empty() && key.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
        "data.code is not a tRPC key: {shape}"
    );
    let status = data["httpStatus"]
        .as_u64()
        .unwrap_or_else(|| panic!("httpStatus: {shape}"));
    assert!((400..600).contains(&status), "httpStatus: {shape}");
    assert_eq!(
        data.get("path").and_then(Value::as_str),
        path,
        "data.path: {shape}"
    );
    status as u16
}

/// Checks one call's tRPC envelope (`{"result":{"data":…}}` or `{"error":…}` for `path`):
/// `Ok(data)` or `Err(http status)`.
pub fn check_envelope<'a>(envelope: &'a Value, path: &str) -> Result<&'a Value, u16> {
    let object = envelope
        .as_object()
        .unwrap_or_else(|| panic!("envelope is not an object: {envelope}"));
    assert_eq!(object.len(), 1, "envelope has one key: {envelope}");
    match (object.get("result"), object.get("error")) {
        (Some(result), None) => Ok(result
            .get("data")
            .unwrap_or_else(|| panic!("result without data: {envelope}"))),
        (None, Some(error)) => Err(check_error_shape(error, Some(path))),
        _ => panic!("neither result nor error: {envelope}"),
    }
}

/// Whether two JSON values are the same, numbers exactly: with serde_json's `float_roundtrip`
/// a float survives parsing and printing bit for bit (without it, the last bit could change,
/// and a client's float request id came back as another number).
pub fn same_json(a: &Value, b: &Value) -> bool {
    a == b
}
