//! tRPC over WebSocket, as `wsLink` / `createWSClient` speak it: JSON text frames (alone or in
//! arrays), `PING`/`PONG`, queries and mutations answered concurrently, subscriptions with
//! `started`/data/`stopped`, `subscription.stop`, `?connectionParams=1`, and
//! `{"id":null,"method":"reconnect"}` to every socket at shutdown.
//!
//! Each connection reads in one task, runs every call and subscription in its own task, and
//! writes through a bounded [`Outbox`]: a client that stops reading is disconnected once its
//! queue is full, and never slows other sockets. Closing a socket drops its subscription streams.

pub(crate) mod frame;
pub(crate) mod message;
mod outbox;
mod subscription;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use http::{Method, header};
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};

use self::frame::{Head, RECONNECT};
use self::message::{Body, Id, Request as WsRequest};
use self::outbox::Outbox;
use self::subscription::{Subscription, Subscriptions};
use super::Trpc;
use super::request::Query;
use crate::error::{ErrorCode, RpcError};
use crate::procedure::{Ctx, Procedure, ProcedureKind, RawInput, RequestMeta, Transport};

/// WebSocket options.
#[derive(Debug, Clone)]
pub struct WsConfig {
    /// Largest accepted message in bytes. A larger one (up to twice this) is answered with
    /// `PAYLOAD_TOO_LARGE` and the socket is closed (1009); anything bigger is cut off unread.
    pub max_message_bytes: usize,
    /// Most messages in one JSON array; each request of a longer array gets `BAD_REQUEST`.
    pub max_batch_len: usize,
    /// Most subscriptions one connection may hold; a further one gets `TOO_MANY_REQUESTS`.
    pub max_subscriptions: usize,
    /// Most queries and mutations one connection runs at once; beyond that the socket is not
    /// read until one finishes.
    pub max_concurrent_calls: usize,
    /// Most frames waiting to be written to one socket; a client that lets more pile up (it
    /// stopped reading) is disconnected.
    pub max_queued_frames: usize,
    /// Most bytes waiting to be written to one socket (a single larger frame still goes out).
    pub max_queued_bytes: usize,
    /// How long a closing socket may take to finish in-flight calls and flush its last frames.
    pub close_timeout: Duration,
    /// Bytes each socket reads from the network at a time. The buffer is held for the
    /// socket's whole life, so it is most of what an idle socket costs (tungstenite's default,
    /// 128 KiB, made every idle socket cost about that); a larger message grows it to the
    /// message's size while it is read.
    pub read_buffer_bytes: usize,
    /// Bytes of outgoing frames gathered before they are written to the network (the writer
    /// flushes after each burst anyway). A frame larger than this is still written whole.
    pub write_buffer_bytes: usize,
    /// How long a socket may stay open without being accepted by the registry's
    /// [`authenticate`](crate::Registry::set_authenticate) hook, its `connectionParams` frame
    /// included (with `?connectionParams=1`, also when there is no hook). Past it the socket
    /// gets an `id: null` error frame, as when tRPC's `createContext` throws, and is closed
    /// (1008). `None`: no deadline.
    pub auth_timeout: Option<Duration>,
}

impl Default for WsConfig {
    fn default() -> Self {
        Self {
            max_message_bytes: 1 << 20,
            max_batch_len: 64,
            max_subscriptions: 100,
            max_concurrent_calls: 32,
            max_queued_frames: 1024,
            max_queued_bytes: 16 << 20,
            close_timeout: Duration::from_secs(2),
            read_buffer_bytes: 8 << 10,
            write_buffer_bytes: 8 << 10,
            auth_timeout: Some(Duration::from_secs(5)),
        }
    }
}

/// Whether `req` asks to open a WebSocket.
pub(super) fn is_upgrade(req: &Request) -> bool {
    req.method() == Method::GET
        && req
            .headers()
            .get(header::UPGRADE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Accepts the upgrade and serves the connection.
pub(super) async fn upgrade<S: Clone + Send + Sync + 'static>(
    trpc: Arc<Trpc<S>>,
    req: Request,
) -> Response {
    let (mut parts, _body) = req.into_parts();
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let expects_params = Query::parse(parts.uri.query()).connection_params.as_deref() == Some("1");
    let config = &trpc.config.ws;
    let cap = config.max_message_bytes.saturating_mul(2).max(4096);
    let meta = RequestMeta::arrived(Transport::TrpcWs, parts.headers, &parts.extensions);
    upgrade
        .max_message_size(cap)
        .max_frame_size(cap)
        .read_buffer_size(config.read_buffer_bytes)
        .write_buffer_size(config.write_buffer_bytes)
        // Unbounded, as by default: the outbox already bounds what waits for one socket, and
        // tungstenite holds at most one burst of it (the writer flushes after each); a cap here
        // would fail every response larger than the cap instead of saving memory.
        .max_write_buffer_size(usize::MAX)
        .on_upgrade(move |socket| {
            let sockets = trpc.sockets.clone();
            sockets.track_future(serve(trpc, meta, expects_params, socket))
        })
}

/// Why a connection ends.
enum End {
    /// The client closed it (or the socket failed).
    Closed,
    /// The client stopped reading and its queue filled up.
    Overflow,
    /// The server is shutting down: `reconnect`, then close.
    Shutdown,
    /// A protocol violation was answered; close with this code.
    Refused(u16, &'static str),
}

/// How a socket stands with the registry's `authenticate` hook.
enum Admission {
    /// Accepted: it may stay open.
    Accepted,
    /// Not (yet): the hook's last answer, or `None` while `connectionParams` are awaited.
    Pending(Option<RpcError>),
}

/// One open socket's state, owned by its reading task.
struct Connection<S> {
    trpc: Arc<Trpc<S>>,
    /// The upgrade request's metadata (headers, peer), until the context is built.
    upgrade: RequestMeta,
    /// Built once per connection: at connect, or from the `connectionParams` frame.
    ctx: Option<Ctx<S>>,
    /// Whether the registry's `authenticate` hook accepted `ctx`.
    admission: Admission,
    outbox: Outbox,
    subscriptions: Subscriptions,
    /// Running queries and mutations.
    calls: JoinSet<()>,
    /// Running subscriptions.
    streams: JoinSet<()>,
    permits: Arc<Semaphore>,
}

async fn serve<S: Clone + Send + Sync + 'static>(
    trpc: Arc<Trpc<S>>,
    upgrade: RequestMeta,
    expects_params: bool,
    socket: WebSocket,
) {
    let (sink, mut stream) = socket.split();
    let config = &trpc.config.ws;
    let (outbox, writer) = Outbox::start(sink, config.max_queued_frames, config.max_queued_bytes);
    let mut conn = Connection {
        permits: Arc::new(Semaphore::new(config.max_concurrent_calls.max(1))),
        trpc: trpc.clone(),
        upgrade,
        ctx: None,
        admission: Admission::Pending(None),
        outbox,
        subscriptions: Subscriptions::default(),
        calls: JoinSet::new(),
        streams: JoinSet::new(),
    };
    if !expects_params {
        conn.set_context(None).await;
    }
    let shutdown = trpc.config.shutdown.clone();
    let auth_deadline = tokio::time::sleep(config.auth_timeout.unwrap_or(Duration::MAX));
    let mut auth_deadline = std::pin::pin!(auth_deadline);
    let end = loop {
        let pending = matches!(conn.admission, Admission::Pending(_));
        tokio::select! {
            biased;
            () = conn.outbox.overflowed() => break End::Overflow,
            () = shutdown.cancelled() => break End::Shutdown,
            () = &mut auth_deadline, if pending => break conn.unauthenticated(),
            Some(_) = conn.calls.join_next(), if !conn.calls.is_empty() => {}
            Some(_) = conn.streams.join_next(), if !conn.streams.is_empty() => {}
            message = stream.next() => {
                let Some(Ok(message)) = message else { break End::Closed };
                if let Some(end) = conn.on_message(message).await {
                    break end;
                }
            }
        }
    };
    conn.finish(end, writer).await;
}

impl<S: Clone + Send + Sync + 'static> Connection<S> {
    /// Builds the connection's context and asks the registry's `authenticate` hook about it.
    async fn set_context(
        &mut self,
        connection_params: Option<std::collections::BTreeMap<String, String>>,
    ) {
        let ctx = self.context(connection_params);
        self.admission = match self.trpc.registry.authenticate(&ctx).await {
            Ok(()) => Admission::Accepted,
            Err(error) => Admission::Pending(Some(error)),
        };
        self.ctx = Some(ctx);
    }

    /// The deadline passed without the hook accepting the socket: say why (an `id: null`
    /// error, as tRPC answers a throwing `createContext`) and close.
    fn unauthenticated(&self) -> End {
        let error = match &self.admission {
            Admission::Pending(Some(error)) => error.clone(),
            _ => RpcError::new(
                ErrorCode::Unauthorized,
                "No connectionParams received in time",
            ),
        };
        tracing::debug!(
            code = error.code.key(),
            "closing an unauthenticated WebSocket"
        );
        self.outbox.push(Head::null(false).error(&error, None));
        End::Refused(1008, "no valid session")
    }

    fn context(
        &mut self,
        connection_params: Option<std::collections::BTreeMap<String, String>>,
    ) -> Ctx<S> {
        Ctx {
            state: self.trpc.state.clone(),
            meta: Arc::new(RequestMeta {
                headers: std::mem::take(&mut self.upgrade.headers),
                connection_params,
                ..self.upgrade.clone()
            }),
        }
    }

    async fn on_message(&mut self, message: Message) -> Option<End> {
        match message {
            Message::Text(text) => self.on_text(text.as_str()).await,
            Message::Binary(_) if self.ctx.is_none() => self.refuse_params(RpcError::new(
                ErrorCode::ParseError,
                "Malformed TRPCConnectionParamsMessage",
            )),
            Message::Binary(_) => {
                self.parse_error("jsonEncoder received binary data. JSON uses text frames. Use a binary encoder for binary data.");
                None
            }
            Message::Close(_) => Some(End::Closed),
            Message::Ping(_) | Message::Pong(_) => None,
        }
    }

    async fn on_text(&mut self, text: &str) -> Option<End> {
        let limit = self.trpc.config.ws.max_message_bytes;
        if text.len() > limit {
            let error = RpcError::new(
                ErrorCode::PayloadTooLarge,
                format!("Message exceeds the limit of {limit} bytes"),
            );
            self.outbox.push(Head::null(false).error(&error, None));
            return Some(End::Refused(1009, "message too big"));
        }
        match text {
            "PONG" => return None,
            "PING" => {
                self.outbox.push("PONG");
                return None;
            }
            _ => {}
        }
        if self.ctx.is_none() {
            return self.on_connection_params(text).await;
        }
        let raws = match message::parse_array(text) {
            Ok(raws) => raws,
            Err(e) => {
                self.parse_error(&e);
                return None;
            }
        };
        if raws.len() > self.trpc.config.ws.max_batch_len.max(1) {
            self.batch_too_long(&raws);
            return None;
        }
        let requests: Result<Vec<WsRequest>, String> =
            raws.into_iter().map(message::parse_message).collect();
        match requests {
            Ok(requests) => {
                for request in requests {
                    self.dispatch(request).await;
                }
            }
            Err(e) => self.parse_error(&e),
        }
        None
    }

    /// The first frame of a `?connectionParams=1` connection; a bad one closes the socket.
    async fn on_connection_params(&mut self, text: &str) -> Option<End> {
        match message::parse_connection_params(text) {
            Ok(params) => {
                self.set_context(params).await;
                None
            }
            Err(error) => self.refuse_params(error),
        }
    }

    fn refuse_params(&self, error: RpcError) -> Option<End> {
        self.outbox.push(Head::null(false).error(&error, None));
        Some(End::Refused(1008, "invalid connection params"))
    }

    fn parse_error(&self, message: &str) {
        let error = RpcError::new(ErrorCode::ParseError, message);
        self.outbox.push(Head::null(false).error(&error, None));
    }

    /// Every request of an over-long array gets the error (one `id:null` error if none has an
    /// id), and none is run.
    fn batch_too_long(&self, raws: &[&serde_json::value::RawValue]) {
        let error = RpcError::bad_request("Batch call exceeds maximum size");
        let heads: Vec<Head> = raws
            .iter()
            .filter_map(|raw| message::request_id(raw))
            .map(|(id, jsonrpc)| Head::new(&id, jsonrpc))
            .collect();
        if heads.is_empty() {
            self.outbox.push(Head::null(false).error(&error, None));
        }
        for head in heads {
            self.outbox.push(head.error(&error, None));
        }
    }

    async fn dispatch(&mut self, request: WsRequest) {
        let Some(id) = request.id else {
            let error = RpcError::new(ErrorCode::ParseError, "`id` is required");
            self.outbox
                .push(Head::null(request.jsonrpc).error(&error, None));
            return;
        };
        let head = Head::new(&id, request.jsonrpc);
        match request.body {
            Body::Stop => self.subscriptions.stop(&id),
            Body::Call {
                kind: ProcedureKind::Subscription,
                path,
                input,
            } => self.subscribe(id, head, path, input),
            Body::Call { kind, path, input } => self.call(head, kind, path, input).await,
        }
    }

    /// Starts a query or mutation in its own task, once a permit is free.
    async fn call(&mut self, head: Head, kind: ProcedureKind, path: String, input: RawInput) {
        if let Err(error) = self.resolve(kind, &path) {
            self.outbox.push(head.error(&error, Some(&path)));
            return;
        }
        let Ok(permit) = self.permits.clone().acquire_owned().await else {
            return;
        };
        let (trpc, outbox) = (self.trpc.clone(), self.outbox.clone());
        let ctx = self.ctx.clone().expect("context is built before calls");
        self.calls.spawn(async move {
            let frame = match trpc.registry.call(ctx, &path, input).await {
                Ok(json) => head.data(&json),
                Err(error) => head.error(&error, Some(&path)),
            };
            outbox.push(frame);
            drop(permit);
        });
    }

    /// Takes the id and starts the subscription in its own task.
    fn subscribe(&mut self, id: Id, head: Head, path: String, input: RawInput) {
        let refused = if self.subscriptions.contains(&id) {
            Some(RpcError::bad_request(format!("Duplicate id {id}")))
        } else if self.subscriptions.len() >= self.trpc.config.ws.max_subscriptions {
            Some(RpcError::new(
                ErrorCode::TooManyRequests,
                format!(
                    "Too many subscriptions on this connection (at most {})",
                    self.trpc.config.ws.max_subscriptions
                ),
            ))
        } else {
            self.resolve(ProcedureKind::Subscription, &path).err()
        };
        if let Some(error) = refused {
            self.outbox.push(head.error(&error, Some(&path)));
            return;
        }
        let stop = self.subscriptions.insert(id.clone());
        let subscription = Subscription {
            registry: self.trpc.registry.clone(),
            ctx: self.ctx.clone().expect("context is built before calls"),
            path,
            input,
            id,
            head,
            outbox: self.outbox.clone(),
            ids: self.subscriptions.clone(),
            stop,
        };
        let counted = self.trpc.config.metrics.subscriber(Transport::TrpcWs);
        self.streams.spawn(async move {
            let _counted = counted;
            subscription.run().await;
        });
    }

    /// The procedure at `path`, if it is of `kind` (a mismatch is NOT_FOUND, as in tRPC).
    fn resolve(&self, kind: ProcedureKind, path: &str) -> Result<&Procedure<S>, RpcError> {
        self.trpc
            .registry
            .get(path)
            .filter(|p| p.kind() == kind)
            .ok_or_else(|| {
                RpcError::not_found(format!(
                    "No \"{}\"-procedure on path \"{path}\"",
                    kind.as_str()
                ))
            })
    }

    /// Ends every subscription (their streams are dropped with the socket) and says goodbye as
    /// `end` requires.
    async fn finish(mut self, end: End, mut writer: JoinHandle<()>) {
        self.streams.shutdown().await;
        let timeout = self.trpc.config.ws.close_timeout;
        match end {
            End::Overflow => {
                tracing::warn!("WebSocket client is not reading; closing it");
                self.calls.shutdown().await;
                writer.abort();
                return;
            }
            End::Closed => self.calls.shutdown().await,
            End::Shutdown => {
                self.outbox.push(RECONNECT);
                let calls = &mut self.calls;
                let _ = tokio::time::timeout(timeout, async {
                    while calls.join_next().await.is_some() {}
                })
                .await;
                self.calls.shutdown().await;
                self.outbox.close(1001, "server shutting down");
            }
            End::Refused(code, reason) => {
                self.calls.shutdown().await;
                self.outbox.close(code, reason);
            }
        }
        drop(self);
        if tokio::time::timeout(timeout, &mut writer).await.is_err() {
            writer.abort();
        }
    }
}
