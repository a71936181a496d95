//! The procedure registry: each procedure is registered once with its dotted path, kind, typed
//! input and output, handler, and (for queries) the update types that invalidate it. Every
//! transport serves the same registry.

use std::any::TypeId;
use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use specta::Type;
use specta::datatype::DataType;

use crate::error::{ErrorCode, RpcError};
use crate::event::Event;
use crate::limits::{self, Limits};
use crate::metrics::Metrics;

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

/// What a handler may know about the request beyond its input.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    /// The request (or WebSocket upgrade) headers.
    pub headers: HeaderMap,
    /// tRPC `connectionParams`: string values the client attached to the connection.
    pub connection_params: Option<BTreeMap<String, String>>,
    /// Where the call came from.
    pub transport: Transport,
    /// Headers the handlers ask to add to the HTTP response (see [`ResponseHeaders`]).
    pub response: ResponseHeaders,
}

impl RequestMeta {
    /// Metadata for an in-process call with no headers.
    pub fn local() -> Self {
        Self {
            headers: HeaderMap::new(),
            connection_params: None,
            transport: Transport::Local,
            response: ResponseHeaders::default(),
        }
    }
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

/// A procedure's raw input as it arrived: JSON text (absent when the client sent none), and for
/// subscriptions the last event id the transport found outside the input.
#[derive(Debug, Default, Clone)]
pub struct RawInput {
    /// The input as JSON text; `None` means `undefined`.
    pub json: Option<Bytes>,
    /// A `Last-Event-ID` to merge into the input as `lastEventId` (subscriptions only).
    pub last_event_id: Option<String>,
}

impl RawInput {
    /// Input from JSON text.
    pub fn json(json: impl Into<Bytes>) -> Self {
        Self {
            json: Some(json.into()),
            last_event_id: None,
        }
    }

    /// Deserializes into `I`. A procedure whose input type is `()` ignores its input entirely
    /// (tRPC parses input lazily, only for procedures that declare one).
    pub fn decode<I: DeserializeOwned + 'static>(&self) -> Result<I, RpcError> {
        if TypeId::of::<I>() == TypeId::of::<()>() {
            return serde_json::from_str("null").map_err(RpcError::internal);
        }
        match &self.last_event_id {
            Some(id) => decode_value(self.merged_value(id)?),
            None => decode_text(self.json.as_deref().unwrap_or(b"null")),
        }
    }

    /// tRPC's merge: object input gains `lastEventId`; `undefined`/`null` becomes
    /// `{lastEventId}`; other inputs are left alone.
    fn merged_value(&self, id: &str) -> Result<serde_json::Value, RpcError> {
        let mut value = match &self.json {
            Some(text) => serde_json::from_slice(text).map_err(syntax_error)?,
            None => serde_json::Value::Null,
        };
        match &mut value {
            serde_json::Value::Object(map) => {
                map.insert("lastEventId".into(), id.into());
            }
            serde_json::Value::Null => value = serde_json::json!({ "lastEventId": id }),
            _ => {}
        }
        Ok(value)
    }
}

fn syntax_error(e: serde_json::Error) -> RpcError {
    RpcError::bad_request(format!("Invalid JSON input: {e}"))
}

fn invalid_input<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> RpcError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    if path == "." {
        RpcError::bad_request(format!("Invalid input: {inner}"))
    } else {
        RpcError::bad_request(format!("Invalid input at \"{path}\": {inner}"))
    }
}

fn decode_text<I: DeserializeOwned>(text: &[u8]) -> Result<I, RpcError> {
    // Syntax errors first, so that malformed JSON is reported as such, not as a type mismatch.
    let value: serde_json::Value = serde_json::from_slice(text).map_err(syntax_error)?;
    decode_value(value)
}

fn decode_value<I: DeserializeOwned>(value: serde_json::Value) -> Result<I, RpcError> {
    serde_path_to_error::deserialize(value).map_err(invalid_input)
}

/// A procedure's output: serialized to JSON once.
///
/// Implemented for every `Serialize + Type` value, and for [`Encoded`], which carries bytes that
/// were serialized earlier (for example by a response cache) so they are never re-serialized.
pub trait Output: Send + 'static {
    /// The type exported to TypeScript.
    type Exported: Type;
    /// The JSON text of this output.
    fn encode(self) -> Result<Payload, RpcError>;
}

/// A procedure's serialized output, with a hash of its content when the producer already knows
/// one (so HTTP revalidation never has to hash large payloads per request).
#[derive(Debug, Clone)]
pub struct Payload {
    /// The output as JSON text.
    pub json: Bytes,
    /// A 64-bit hash (xxh3) identifying the content, if known.
    pub hash: Option<u64>,
}

impl<T: Serialize + Type + Send + 'static> Output for T {
    type Exported = T;
    fn encode(self) -> Result<Payload, RpcError> {
        let json = serde_json::to_vec(&self).map_err(RpcError::internal)?;
        Ok(Payload {
            json: Bytes::from(json),
            hash: None,
        })
    }
}

/// JSON bytes already serialized from a `T`: returned as they are, typed as `T` for bindings.
#[derive(Debug, Clone)]
pub struct Encoded<T> {
    bytes: Bytes,
    hash: Option<u64>,
    _type: std::marker::PhantomData<fn() -> T>,
}

impl<T: Serialize> Encoded<T> {
    /// Serializes `value` once.
    pub fn new(value: &T) -> Result<Self, RpcError> {
        let bytes = serde_json::to_vec(value).map_err(RpcError::internal)?;
        Ok(Self::from_bytes(Bytes::from(bytes)))
    }
}

impl<T> Encoded<T> {
    /// Wraps bytes known to be the JSON of a `T`.
    pub fn from_bytes(bytes: Bytes) -> Self {
        Self {
            bytes,
            hash: None,
            _type: std::marker::PhantomData,
        }
    }

    /// Wraps bytes known to be the JSON of a `T`, with the xxh3 hash of those bytes (or any
    /// 64-bit value that changes whenever they do).
    pub fn with_hash(bytes: Bytes, hash: u64) -> Self {
        Self {
            hash: Some(hash),
            ..Self::from_bytes(bytes)
        }
    }

    /// The JSON bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }
}

impl<T: Type + 'static> Output for Encoded<T> {
    type Exported = T;
    fn encode(self) -> Result<Payload, RpcError> {
        Ok(Payload {
            json: self.bytes,
            hash: self.hash,
        })
    }
}

/// The events a subscription yields, as a boxed stream. The stream ending means the
/// subscription completed.
pub type EventStream = BoxStream<'static, Event>;

type CallFn<S> =
    dyn Fn(Ctx<S>, RawInput) -> BoxFuture<'static, Result<Payload, RpcError>> + Send + Sync;
type SubscribeFn<S> =
    dyn Fn(Ctx<S>, RawInput) -> BoxFuture<'static, Result<EventStream, RpcError>> + Send + Sync;
type TypeFn = fn(&mut specta::Types) -> DataType;
type GuardFn<S> = dyn Fn(&Ctx<S>, &Procedure<S>) -> Result<(), RpcError> + Send + Sync;
type AuthenticateFn<S> = dyn Fn(&Ctx<S>) -> Result<(), RpcError> + Send + Sync;

enum Handler<S> {
    Call(Arc<CallFn<S>>),
    Subscribe(Arc<SubscribeFn<S>>),
}

/// One registered procedure.
pub struct Procedure<S> {
    path: &'static str,
    kind: ProcedureKind,
    handler: Handler<S>,
    takes_input: bool,
    input_type: TypeFn,
    output_type: TypeFn,
    invalidated_by: Vec<String>,
    /// Whether the registry's guard is skipped for this procedure.
    public: bool,
}

impl<S> std::fmt::Debug for Procedure<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Procedure")
            .field("path", &self.path)
            .field("kind", &self.kind)
            .finish()
    }
}

impl<S> Procedure<S> {
    /// The dotted path (`volumes.getAll`), which is also the JSON-RPC method name.
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// Query, mutation or subscription.
    pub fn kind(&self) -> ProcedureKind {
        self.kind
    }

    /// Whether the procedure declares an input (its input type is not `()`).
    pub fn takes_input(&self) -> bool {
        self.takes_input
    }

    /// The input's type, registering named types in `types`.
    pub fn input_type(&self, types: &mut specta::Types) -> DataType {
        (self.input_type)(types)
    }

    /// The output's type (for a subscription, the type of each event), registering named types.
    pub fn output_type(&self, types: &mut specta::Types) -> DataType {
        (self.output_type)(types)
    }

    /// Exempts this procedure from the registry's guard (see [`Registry::set_guard`]): a login,
    /// say, that must be callable before there is anything to check.
    pub fn public(&mut self) -> &mut Self {
        self.public = true;
        self
    }

    /// Whether the registry's guard is skipped for this procedure.
    pub fn is_public(&self) -> bool {
        self.public
    }

    /// The update types that invalidate this query.
    pub fn invalidated_by(&self) -> &[String] {
        &self.invalidated_by
    }

    /// Declares which update types invalidate this query (builder style).
    pub fn invalidated_by_types<T: Into<String>>(
        &mut self,
        types: impl IntoIterator<Item = T>,
    ) -> &mut Self {
        self.invalidated_by
            .extend(types.into_iter().map(Into::into));
        self
    }
}

/// The set of procedures an application serves.
pub struct Registry<S> {
    procedures: BTreeMap<&'static str, Procedure<S>>,
    /// Where every call's latency and outcome is recorded, whatever its transport.
    metrics: Option<Metrics>,
    /// Checked before every non-public procedure runs, whatever its transport.
    guard: Option<Arc<GuardFn<S>>>,
    /// Input depth and deadline of every call, whatever its transport.
    limits: Limits,
    /// Whether a long-lived connection presents what the application requires to stay open.
    authenticate: Option<Arc<AuthenticateFn<S>>>,
}

impl<S> std::fmt::Debug for Registry<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.procedures.keys()).finish()
    }
}

impl<S> Default for Registry<S> {
    fn default() -> Self {
        Self {
            procedures: BTreeMap::new(),
            metrics: None,
            guard: None,
            limits: Limits::default(),
            authenticate: None,
        }
    }
}

impl<S: Clone + Send + Sync + 'static> Registry<S> {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records every call's latency and outcome in `metrics` from now on.
    pub fn set_metrics(&mut self, metrics: Metrics) {
        self.metrics = Some(metrics);
    }

    /// Runs `guard` before every procedure not marked [`Procedure::public`], on every transport;
    /// its error is the call's answer (typically `UNAUTHORIZED`). Input is decoded only after
    /// the guard passes, so callers it refuses learn nothing about a procedure's input.
    pub fn set_guard(
        &mut self,
        guard: impl Fn(&Ctx<S>, &Procedure<S>) -> Result<(), RpcError> + Send + Sync + 'static,
    ) {
        self.guard = Some(Arc::new(guard));
    }

    fn check_guard(&self, ctx: &Ctx<S>, procedure: &Procedure<S>) -> Result<(), RpcError> {
        match &self.guard {
            Some(guard) if !procedure.public => guard(ctx, procedure),
            _ => Ok(()),
        }
    }

    /// Runs `authenticate` on the context of every WebSocket (tRPC once its `connectionParams`
    /// arrived, JSON-RPC at the upgrade): a socket it has not accepted within the transport's
    /// deadline is closed, so idle sockets of no one cannot pile up. Until then its calls are
    /// answered as usual (the guard refuses what needs a session). Without it, every socket is
    /// accepted as soon as its context is built.
    pub fn set_authenticate(
        &mut self,
        authenticate: impl Fn(&Ctx<S>) -> Result<(), RpcError> + Send + Sync + 'static,
    ) {
        self.authenticate = Some(Arc::new(authenticate));
    }

    /// Whether the hook of [`Registry::set_authenticate`] accepts a connection of `ctx`.
    pub fn authenticate(&self, ctx: &Ctx<S>) -> Result<(), RpcError> {
        self.authenticate.as_ref().map_or(Ok(()), |hook| hook(ctx))
    }

    /// Holds every call to `limits` from now on (the defaults apply until then).
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// The limits calls are held to.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Registers a query. Panics if the path is taken: paths are fixed at build time.
    pub fn query<I, O, F, Fut>(&mut self, path: &'static str, handler: F) -> &mut Procedure<S>
    where
        I: DeserializeOwned + Type + Send + 'static,
        O: Output,
        F: Fn(Ctx<S>, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, RpcError>> + Send + 'static,
    {
        self.insert::<I, O::Exported>(path, ProcedureKind::Query, Handler::Call(call_fn(handler)))
    }

    /// Registers a mutation.
    pub fn mutation<I, O, F, Fut>(&mut self, path: &'static str, handler: F) -> &mut Procedure<S>
    where
        I: DeserializeOwned + Type + Send + 'static,
        O: Output,
        F: Fn(Ctx<S>, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, RpcError>> + Send + 'static,
    {
        self.insert::<I, O::Exported>(
            path,
            ProcedureKind::Mutation,
            Handler::Call(call_fn(handler)),
        )
    }

    /// Registers a subscription whose events are of type `E` (for bindings).
    pub fn subscription<I, E, F, Fut>(
        &mut self,
        path: &'static str,
        handler: F,
    ) -> &mut Procedure<S>
    where
        I: DeserializeOwned + Type + Send + 'static,
        E: Type,
        F: Fn(Ctx<S>, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<EventStream, RpcError>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let subscribe: Arc<SubscribeFn<S>> = Arc::new(move |ctx, raw: RawInput| {
            let handler = handler.clone();
            async move { handler(ctx, raw.decode::<I>()?).await }.boxed()
        });
        self.insert::<I, E>(
            path,
            ProcedureKind::Subscription,
            Handler::Subscribe(subscribe),
        )
    }

    fn insert<I: Type + 'static, O: Type>(
        &mut self,
        path: &'static str,
        kind: ProcedureKind,
        handler: Handler<S>,
    ) -> &mut Procedure<S> {
        assert!(
            !path.is_empty() && !path.contains(','),
            "invalid procedure path {path:?}"
        );
        assert!(
            !self.procedures.contains_key(path),
            "procedure {path} registered twice"
        );
        let procedure = Procedure {
            path,
            kind,
            handler,
            takes_input: TypeId::of::<I>() != TypeId::of::<()>(),
            input_type: I::definition,
            output_type: O::definition,
            invalidated_by: Vec::new(),
            public: false,
        };
        self.procedures.entry(path).or_insert(procedure)
    }

    /// The procedure at `path`.
    pub fn get(&self, path: &str) -> Option<&Procedure<S>> {
        self.procedures.get(path)
    }

    /// Every procedure, ordered by path.
    pub fn procedures(&self) -> impl Iterator<Item = &Procedure<S>> {
        self.procedures.values()
    }

    /// UPDATE_QUERY_MAP: for each update type, the query paths it invalidates (sorted), derived
    /// from the registry so it can never name a query that does not exist.
    pub fn update_query_map(&self) -> BTreeMap<String, Vec<&'static str>> {
        let mut map: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
        for procedure in self.procedures.values() {
            for ty in &procedure.invalidated_by {
                map.entry(ty.clone()).or_default().push(procedure.path);
            }
        }
        map
    }

    /// Runs a query or mutation. A panic in the handler becomes `INTERNAL_SERVER_ERROR` for this
    /// call only; its cause is logged. Input nested too deeply is refused before it is parsed,
    /// and a call running past [`Limits::call_timeout`] fails with `TIMEOUT`.
    pub async fn call(&self, ctx: Ctx<S>, path: &str, input: RawInput) -> Result<Bytes, RpcError> {
        self.call_payload(ctx, path, input)
            .await
            .map(|payload| payload.json)
    }

    /// [`Registry::call`], keeping the content hash the procedure may have supplied.
    pub async fn call_payload(
        &self,
        ctx: Ctx<S>,
        path: &str,
        input: RawInput,
    ) -> Result<Payload, RpcError> {
        let procedure = self.get(path).ok_or_else(|| no_procedure(path))?;
        let Handler::Call(handler) = &procedure.handler else {
            return Err(RpcError::bad_request(format!(
                "\"{path}\" is a subscription"
            )));
        };
        let started = Instant::now();
        let checked = self
            .check_guard(&ctx, procedure)
            .and_then(|()| self.check_input(procedure, &input));
        let result = match checked {
            Ok(()) => self.bounded(path, guard(path, handler(ctx, input))).await,
            Err(refused) => Err(refused),
        };
        if let Some(metrics) = &self.metrics {
            let error = result.as_ref().err().map(|e| e.code);
            metrics.observe_call(procedure.path, procedure.kind, started.elapsed(), error);
        }
        result
    }

    /// Starts a subscription, with the same panic guard, input depth check and deadline as
    /// [`Registry::call`] for its setup. Panics while the stream runs end the stream with an
    /// `INTERNAL_SERVER_ERROR` event.
    pub async fn subscribe(
        &self,
        ctx: Ctx<S>,
        path: &str,
        input: RawInput,
    ) -> Result<EventStream, RpcError> {
        let procedure = self.get(path).ok_or_else(|| no_procedure(path))?;
        let Handler::Subscribe(handler) = &procedure.handler else {
            return Err(RpcError::bad_request(format!(
                "\"{path}\" is not a subscription"
            )));
        };
        self.check_guard(&ctx, procedure)?;
        self.check_input(procedure, &input)?;
        let stream = self.bounded(path, guard(path, handler(ctx, input))).await?;
        Ok(guard_stream(procedure.path, stream))
    }

    /// Refuses input nested deeper than the limit; procedures without input never look at it.
    fn check_input(&self, procedure: &Procedure<S>, input: &RawInput) -> Result<(), RpcError> {
        match &input.json {
            Some(json) if procedure.takes_input => {
                limits::check_depth(json, self.limits.max_input_depth)
            }
            _ => Ok(()),
        }
    }

    /// `fut`, failing with `TIMEOUT` once the call deadline passes.
    async fn bounded<T>(
        &self,
        path: &str,
        fut: impl Future<Output = Result<T, RpcError>>,
    ) -> Result<T, RpcError> {
        match self.limits.call_timeout {
            Some(limit) => tokio::time::timeout(limit, fut)
                .await
                .unwrap_or_else(|_| Err(limits::timed_out(path, limit))),
            None => fut.await,
        }
    }
}

fn call_fn<S, I, O, F, Fut>(handler: F) -> Arc<CallFn<S>>
where
    S: Send + 'static,
    I: DeserializeOwned + Send + 'static,
    O: Output,
    F: Fn(Ctx<S>, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, RpcError>> + Send + 'static,
{
    let handler = Arc::new(handler);
    Arc::new(move |ctx, raw: RawInput| {
        let handler = handler.clone();
        async move { handler(ctx, raw.decode::<I>()?).await?.encode() }.boxed()
    })
}

/// The NOT_FOUND error for an unknown path, worded as tRPC words it.
pub fn no_procedure(path: &str) -> RpcError {
    RpcError::new(
        ErrorCode::NotFound,
        format!("No procedure found on path \"{path}\""),
    )
}

async fn guard<T>(path: &str, fut: BoxFuture<'static, Result<T, RpcError>>) -> Result<T, RpcError> {
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => Err(panicked(path, panic)),
    }
}

fn guard_stream(path: &'static str, stream: EventStream) -> EventStream {
    AssertUnwindSafe(stream)
        .catch_unwind()
        .map(move |item| item.unwrap_or_else(|panic| Event::Error(panicked(path, panic))))
        .boxed()
}

fn panicked(path: &str, panic: Box<dyn std::any::Any + Send>) -> RpcError {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".into());
    tracing::error!(procedure = path, panic = %message, "procedure panicked");
    RpcError::new(ErrorCode::InternalServerError, "Internal server error")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Type)]
    struct ById {
        id: String,
    }

    fn ctx() -> Ctx<()> {
        Ctx {
            state: (),
            meta: Arc::new(RequestMeta::local()),
        }
    }

    fn registry() -> Registry<()> {
        let mut r = Registry::new();
        r.query("things.getById", |_: Ctx<()>, input: ById| async move {
            Ok(input.id)
        })
        .invalidated_by_types(["things"]);
        r.query("things.getAll", |_: Ctx<()>, _: ()| async {
            Ok(vec![1u32, 2])
        })
        .invalidated_by_types(["things", "other"]);
        r.mutation("things.crash", |_: Ctx<()>, _: ()| async {
            if true {
                panic!("boom");
            }
            Ok(())
        });
        r
    }

    #[tokio::test]
    async fn decodes_input_and_encodes_output() {
        let out = registry()
            .call(ctx(), "things.getById", RawInput::json(r#"{"id":"a"}"#))
            .await;
        assert_eq!(out.unwrap(), Bytes::from_static(b"\"a\""));
    }

    #[tokio::test]
    async fn names_the_offending_field() {
        let err = registry()
            .call(ctx(), "things.getById", RawInput::json(r#"{"id":1}"#))
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::BadRequest);
        assert!(err.message.contains("\"id\""), "{}", err.message);
        let err = registry()
            .call(ctx(), "things.getById", RawInput::default())
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::BadRequest);
    }

    #[tokio::test]
    async fn input_less_procedures_ignore_bad_json() {
        let out = registry()
            .call(ctx(), "things.getAll", RawInput::json("{bad"))
            .await;
        assert_eq!(out.unwrap(), Bytes::from_static(b"[1,2]"));
    }

    #[tokio::test]
    async fn malformed_json_is_bad_request() {
        let err = registry()
            .call(ctx(), "things.getById", RawInput::json("{bad"))
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::BadRequest);
        assert!(
            err.message.starts_with("Invalid JSON input"),
            "{}",
            err.message
        );
    }

    #[tokio::test]
    async fn panics_become_internal_errors() {
        let err = registry()
            .call(ctx(), "things.crash", RawInput::default())
            .await
            .unwrap_err();
        assert_eq!(
            err,
            RpcError::new(ErrorCode::InternalServerError, "Internal server error")
        );
    }

    #[tokio::test]
    async fn input_nested_too_deeply_is_refused_before_parsing() {
        let mut r = registry();
        r.set_limits(Limits {
            max_input_depth: 3,
            ..Limits::default()
        });
        let deep = RawInput::json(r#"{"id":[[["x"]]]}"#);
        let err = r.call(ctx(), "things.getById", deep).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::BadRequest);
        assert!(err.message.contains("deeper than 3"), "{}", err.message);
        // A megabyte of brackets: refused by the scan, no recursion anywhere.
        let brackets = RawInput::json("[".repeat(1 << 20));
        let err = r.call(ctx(), "things.getById", brackets).await.unwrap_err();
        assert!(err.message.contains("deeper than 3"), "{}", err.message);
        // Procedures without input never look at it.
        let out = r
            .call(ctx(), "things.getAll", RawInput::json("[[[[[["))
            .await;
        assert_eq!(out.unwrap(), Bytes::from_static(b"[1,2]"));
    }

    #[tokio::test]
    async fn calls_past_the_deadline_time_out_alone() {
        let mut r = registry();
        r.query("things.slow", |_: Ctx<()>, _: ()| async {
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            Ok(())
        });
        r.set_limits(Limits {
            call_timeout: Some(std::time::Duration::from_millis(50)),
            ..Limits::default()
        });
        let err = r
            .call(ctx(), "things.slow", RawInput::default())
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::Timeout);
        assert_eq!(err.message, "\"things.slow\" did not finish within 50ms");
        let out = r.call(ctx(), "things.getAll", RawInput::default()).await;
        assert_eq!(out.unwrap(), Bytes::from_static(b"[1,2]"));
    }

    #[test]
    fn last_event_id_merges_into_input() {
        let raw = RawInput {
            json: Some(Bytes::from_static(b"{\"a\":1}")),
            last_event_id: Some("7".into()),
        };
        let v: serde_json::Value = raw.decode().unwrap();
        assert_eq!(v, serde_json::json!({"a":1,"lastEventId":"7"}));
        let raw = RawInput {
            json: None,
            last_event_id: Some("7".into()),
        };
        let v: serde_json::Value = raw.decode().unwrap();
        assert_eq!(v, serde_json::json!({"lastEventId":"7"}));
    }

    #[tokio::test]
    async fn the_guard_runs_before_input_decoding_except_for_public_procedures() {
        let mut r = registry();
        r.query("things.open", |_: Ctx<()>, input: ById| async move {
            Ok(input.id)
        })
        .public();
        r.set_guard(|ctx, procedure| {
            if ctx.meta.headers.contains_key("x-pass") {
                Ok(())
            } else {
                Err(RpcError::new(
                    ErrorCode::Unauthorized,
                    format!("{} needs a pass", procedure.path()),
                ))
            }
        });
        // Refused before its (malformed) input is looked at, so the error says nothing of it.
        let err = r
            .call(ctx(), "things.getById", RawInput::json("{bad"))
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::Unauthorized);
        assert_eq!(err.message, "things.getById needs a pass");
        let open = r
            .call(ctx(), "things.open", RawInput::json(r#"{"id":"x"}"#))
            .await;
        assert_eq!(open.unwrap(), Bytes::from_static(b"\"x\""));
        let mut meta = RequestMeta::local();
        meta.headers.insert("x-pass", HeaderValue::from_static("1"));
        let passed = Ctx {
            state: (),
            meta: Arc::new(meta),
        };
        let out = r
            .call(passed, "things.getById", RawInput::json(r#"{"id":"a"}"#))
            .await;
        assert_eq!(out.unwrap(), Bytes::from_static(b"\"a\""));
    }

    #[test]
    fn update_query_map_is_derived() {
        let map = registry().update_query_map();
        assert_eq!(map["things"], vec!["things.getAll", "things.getById"]);
        assert_eq!(map["other"], vec!["things.getAll"]);
    }
}
