//! The bare ceiling: a minimal axum app that answers the benchmark's paths with the same bytes
//! Tidings sends, straight from memory, and fans notices out over a plain tokio broadcast of
//! pre-rendered SSE frames. No registry, no envelopes, no ids, no replay log: whatever Tidings
//! adds on top of this is its protocol and bookkeeping cost.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use futures::StreamExt;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

/// One payload in every encoding the client may ask for.
#[derive(Debug, Clone, Default)]
pub struct Variants {
    /// The identity body.
    pub identity: Bytes,
    /// The ETag Tidings gave it.
    pub etag: Option<HeaderValue>,
    /// Compressed bodies by `content-encoding` token.
    pub encoded: Vec<(&'static str, Bytes)>,
}

/// One notice, rendered once for each way out: an SSE frame and the bare JSON (WebSocket).
#[derive(Clone)]
struct Frames {
    sse: Bytes,
    json: Utf8Bytes,
}

/// The ceiling's state.
#[derive(Clone)]
struct Bare {
    payloads: Arc<HashMap<String, Variants>>,
    notices: broadcast::Sender<Frames>,
    last_id: Arc<AtomicU64>,
}

/// The encodings stored next to each payload, as file suffixes.
pub const ENCODINGS: [(&str, &str); 3] = [("zstd", "zst"), ("br", "br"), ("gzip", "gz")];

/// Loads `<dir>/<path>.json` (+ `.zst`, `.br`, `.gz`, `.etag`) for every payload file.
pub fn load(dir: &Path) -> std::io::Result<HashMap<String, Variants>> {
    let mut payloads = HashMap::new();
    for entry in std::fs::read_dir(dir)? {
        let file = entry?.path();
        let Some(path) = file
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".json"))
        else {
            continue;
        };
        let sibling = |suffix: &str| dir.join(format!("{path}.json.{suffix}"));
        let mut variants = Variants {
            identity: std::fs::read(&file)?.into(),
            etag: std::fs::read_to_string(sibling("etag"))
                .ok()
                .and_then(|t| HeaderValue::from_str(t.trim()).ok()),
            encoded: Vec::new(),
        };
        for (token, suffix) in ENCODINGS {
            if let Ok(bytes) = std::fs::read(sibling(suffix)) {
                variants.encoded.push((token, bytes.into()));
            }
        }
        payloads.insert(path.to_owned(), variants);
    }
    Ok(payloads)
}

/// The ceiling's routes over `payloads`.
pub fn app(payloads: HashMap<String, Variants>) -> Router {
    let (notices, _) = broadcast::channel(256);
    let state = Bare {
        payloads: Arc::new(payloads),
        notices,
        last_id: Arc::new(AtomicU64::new(0)),
    };
    Router::new()
        .route("/trpc/updates.subscribe", get(subscribe))
        .route("/ws", get(websocket))
        .route("/trpc/admin.notify", post(notify))
        .route("/trpc/{path}", get(payload))
        .with_state(state)
}

async fn subscribe(State(bare): State<Bare>) -> Response {
    let live = BroadcastStream::new(bare.notices.subscribe())
        .filter_map(|r| async { r.ok().map(|frames| frames.sse) });
    let first = futures::stream::once(async { Bytes::from_static(b": connected\n\n") });
    let frames = first.chain(live).map(Ok::<_, std::convert::Infallible>);
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(frames))
        .unwrap_or_default()
}

/// A plain WebSocket: a greeting, then every notice's JSON as a text frame.
async fn websocket(State(bare): State<Bare>, upgrade: WebSocketUpgrade) -> Response {
    let mut notices = bare.notices.subscribe();
    upgrade.on_upgrade(|mut socket: WebSocket| async move {
        if socket
            .send(Message::text("{\"hello\":true}"))
            .await
            .is_err()
        {
            return;
        }
        loop {
            match notices.recv().await {
                Ok(frames) => {
                    if socket.send(Message::Text(frames.json)).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    })
}

async fn notify(State(bare): State<Bare>, body: Bytes) -> Response {
    let id = bare.last_id.fetch_add(1, Ordering::Relaxed) + 1;
    let mut frame = Vec::with_capacity(body.len() + 16);
    frame.extend_from_slice(b"data: ");
    frame.extend_from_slice(&body);
    frame.extend_from_slice(b"\n\n");
    let json = Utf8Bytes::try_from(body).unwrap_or_default();
    let _ = bare.notices.send(Frames {
        sse: frame.into(),
        json,
    });
    let reply = format!("{{\"result\":{{\"data\":{{\"lastEventId\":\"{id}\"}}}}}}");
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(reply))
        .unwrap_or_default()
}

async fn payload(
    State(bare): State<Bare>,
    UrlPath(path): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let Some(variants) = bare.payloads.get(&path) else {
        return Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Body::empty())
            .unwrap_or_default();
    };
    let mut builder = Response::builder().header(header::CONTENT_TYPE, "application/json");
    if let Some(etag) = &variants.etag {
        if headers.get(header::IF_NONE_MATCH) == Some(etag) {
            return builder
                .status(StatusCode::NOT_MODIFIED)
                .header(header::ETAG, etag)
                .body(Body::empty())
                .unwrap_or_default();
        }
        builder = builder.header(header::ETAG, etag);
    }
    let accepted = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let encoded = variants
        .encoded
        .iter()
        .find(|(token, _)| accepted.split(',').any(|a| a.trim() == *token));
    match encoded {
        Some((token, bytes)) => builder
            .header(header::CONTENT_ENCODING, *token)
            .body(Body::from(bytes.clone())),
        None => builder.body(Body::from(variants.identity.clone())),
    }
    .unwrap_or_default()
}
