//! The procedure registry: each procedure is registered once with its dotted path, kind, typed
//! input and output, handler, and (for queries) the update types that invalidate it. Every
//! transport serves the same registry.
//!
//! - [`meta`]: procedure kinds, transports, request metadata and the handler context.
//! - [`input`]: decoding a call's raw input.
//! - [`output`]: a call's output, serialized once.

mod input;
pub mod meta;
mod output;
#[cfg(test)]
mod tests;

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
use serde::de::DeserializeOwned;
use specta::Type;
use specta::datatype::DataType;

pub use input::RawInput;
pub use meta::{Ctx, Locals, ProcedureKind, RequestMeta, ResponseHeaders, Transport};
pub use output::{Encoded, Output, Payload};

use crate::error::{ErrorCode, RpcError};
use crate::event::Event;
use crate::limits::{self, Limits};
use crate::metrics::Metrics;

/// The events a subscription yields, as a boxed stream. The stream ending means the
/// subscription completed.
pub type EventStream = BoxStream<'static, Event>;

type CallFn<S> =
    dyn Fn(Ctx<S>, RawInput) -> BoxFuture<'static, Result<Payload, RpcError>> + Send + Sync;
type SubscribeFn<S> =
    dyn Fn(Ctx<S>, RawInput) -> BoxFuture<'static, Result<EventStream, RpcError>> + Send + Sync;
type TypeFn = fn(&mut specta::Types) -> DataType;
type GuardFn<S> =
    dyn Fn(&Ctx<S>, &Procedure<S>) -> BoxFuture<'static, Result<(), RpcError>> + Send + Sync;
type GateFn<S> =
    dyn Fn(&Ctx<S>, &Procedure<S>) -> BoxFuture<'static, Result<Admission, RpcError>> + Send + Sync;

/// What a gate (see [`Registry::set_gate`]) hands back for a call it lets through: held while
/// the call runs and dropped when it ends, such as a permit of a semaphore.
pub type Admission = Box<dyn Send>;
type AuthenticateFn<S> = dyn Fn(&Ctx<S>) -> BoxFuture<'static, Result<(), RpcError>> + Send + Sync;

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
    /// Awaited before every non-public query and mutation runs, after the guard.
    gate: Option<Arc<GateFn<S>>>,
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
            gate: None,
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
        self.guard = Some(Arc::new(move |ctx, procedure| {
            futures::future::ready(guard(ctx, procedure)).boxed()
        }));
    }

    /// [`Registry::set_guard`] for a guard that has to wait for something (a session kept in
    /// a shared store, say): its future runs before the procedure, on every transport.
    pub fn set_async_guard(
        &mut self,
        guard: impl Fn(&Ctx<S>, &Procedure<S>) -> BoxFuture<'static, Result<(), RpcError>>
        + Send
        + Sync
        + 'static,
    ) {
        self.guard = Some(Arc::new(guard));
    }

    async fn check_guard(&self, ctx: &Ctx<S>, procedure: &Procedure<S>) -> Result<(), RpcError> {
        match &self.guard {
            Some(guard) if !procedure.public => guard(ctx, procedure).await,
            _ => Ok(()),
        }
    }

    /// Awaits `gate` before every query and mutation not marked [`Procedure::public`] runs (after
    /// the guard passed), on every transport; what it hands back is held until the call ends,
    /// and its error is the call's answer. A per-caller limit on concurrent calls is such a
    /// gate: a batch, a JSONL stream or a WebSocket array of calls then runs no more of them at
    /// once than one caller may. The wait counts against the call's deadline.
    pub fn set_gate(
        &mut self,
        gate: impl Fn(&Ctx<S>, &Procedure<S>) -> BoxFuture<'static, Result<Admission, RpcError>>
        + Send
        + Sync
        + 'static,
    ) {
        self.gate = Some(Arc::new(gate));
    }

    /// Awaits the gate (when there is one and `procedure` is not public), then `fut`, holding
    /// what the gate handed back until `fut` is done.
    async fn gated<T>(
        &self,
        ctx: &Ctx<S>,
        procedure: &Procedure<S>,
        fut: impl Future<Output = Result<T, RpcError>>,
    ) -> Result<T, RpcError> {
        let admission = match &self.gate {
            Some(gate) if !procedure.public => Some(gate(ctx, procedure).await?),
            _ => None,
        };
        let result = fut.await;
        drop(admission);
        result
    }

    /// Runs `authenticate` on the context of every WebSocket (tRPC once its `connectionParams`
    /// arrived, JSON-RPC at the upgrade): a socket it has not accepted within the transport's
    /// deadline is closed, so idle sockets of no one cannot pile up. Until then its calls are
    /// answered as usual (the guard refuses what needs a session). Without it, every socket is
    /// accepted as soon as its context is built.
    pub fn set_authenticate(
        &mut self,
        authenticate: impl Fn(&Ctx<S>) -> BoxFuture<'static, Result<(), RpcError>>
        + Send
        + Sync
        + 'static,
    ) {
        self.authenticate = Some(Arc::new(authenticate));
    }

    /// Whether the hook of [`Registry::set_authenticate`] accepts a connection of `ctx`.
    pub async fn authenticate(&self, ctx: &Ctx<S>) -> Result<(), RpcError> {
        match &self.authenticate {
            Some(hook) => hook(ctx).await,
            None => Ok(()),
        }
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
        let checked = match self.check_guard(&ctx, procedure).await {
            Ok(()) => self.check_input(procedure, &input),
            Err(refused) => Err(refused),
        };
        let result = match checked {
            Ok(()) => {
                let gate_ctx = ctx.clone();
                let run = guard(path, handler(ctx, input));
                self.bounded(path, self.gated(&gate_ctx, procedure, run))
                    .await
            }
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
        self.check_guard(&ctx, procedure).await?;
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
