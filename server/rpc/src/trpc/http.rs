//! The tRPC HTTP handler: whole-request checks, per-call resolution, method rules, batching,
//! status codes, and hand-off to SSE or JSONL.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::value::RawValue;

use super::cache;
use super::envelope::{error_envelope, push_envelope};
use super::request::{self, Query};
use super::sse;
use super::{Trpc, VARY, allowed_methods};
use crate::body::Chunks;
use crate::error::{ErrorCode, RpcError};
use crate::metrics::CacheEvent;
use crate::procedure::{
    Ctx, Payload, Procedure, ProcedureKind, RawInput, RequestMeta, Transport, no_procedure,
};

/// `vary` on responses that may be compressed.
const VARY_ENCODED: HeaderValue = HeaderValue::from_static("trpc-accept, accept, accept-encoding");

/// One call of a request, resolved against the registry.
struct Call<'a, S> {
    path: String,
    procedure: Option<&'a Procedure<S>>,
}

pub(super) async fn handle<S: Clone + Send + Sync + 'static>(
    trpc: Arc<Trpc<S>>,
    req: Request,
) -> Response {
    if req.method() == Method::HEAD {
        return Response::builder()
            .status(StatusCode::NO_CONTENT)
            .body(Body::empty())
            .unwrap_or_default();
    }
    let parsed = match Parsed::read(&trpc, req).await {
        Ok(parsed) => parsed,
        Err(e) => return whole_request_error(&e),
    };
    match parsed.lone_subscription() {
        Some(procedure) => stream_subscription(&trpc, parsed, procedure),
        None => answer_calls(&trpc, parsed).await,
    }
}

/// A request read and checked as a whole: its calls resolved against the registry, its input
/// text read, its context built. Every error here is a whole-request error.
struct Parsed<'a, S> {
    method: Method,
    query: Query,
    calls: Vec<Call<'a, S>>,
    /// The client asked for `httpBatchStreamLink`'s JSON lines.
    jsonl: bool,
    /// The `input=` parameter (GET) or the body (POST), not yet split per call.
    input_text: Option<Bytes>,
    ctx: Ctx<S>,
}

impl<'a, S: Clone + Send + Sync + 'static> Parsed<'a, S> {
    async fn read(trpc: &'a Trpc<S>, req: Request) -> Result<Self, RpcError> {
        let (parts, body) = req.into_parts();
        let mut query = Query::parse(parts.uri.query());
        let prefix = trpc.config.prefix.trim_end_matches('/');
        let rest = parts.uri.path().strip_prefix(prefix).unwrap_or("");
        let paths = request::paths(rest, query.batch)?;
        if parts.method != Method::GET {
            request::check_content_type(&parts.headers)?;
        }
        let connection_params = request::connection_params(query.connection_params.as_deref())?;
        let jsonl = request::wants_jsonl(&parts.headers);
        if jsonl && !query.batch {
            return Err(RpcError::bad_request(
                "Streaming requests must be batched (you can do a batch of 1)",
            ));
        }
        if paths.len() > trpc.config.max_batch_size {
            return Err(RpcError::bad_request("Batch call exceeds maximum size"));
        }
        let calls: Vec<Call<'a, S>> = paths
            .into_iter()
            .map(|path| Call {
                procedure: trpc.registry.get(&path),
                path,
            })
            .collect();
        check_mixed_kinds(&calls)?;
        let input_text = match parts.method {
            Method::GET => query.input.take().map(Bytes::from),
            Method::POST => read_body(body, trpc.config.max_body_bytes).await?,
            _ => None,
        };
        let meta = Arc::new(RequestMeta {
            connection_params,
            connection_params_in_url: true,
            ..RequestMeta::arrived(Transport::TrpcHttp, parts.headers, &parts.extensions)
        });
        Ok(Parsed {
            method: parts.method,
            query,
            calls,
            jsonl,
            input_text,
            ctx: Ctx {
                state: trpc.state.clone(),
                meta,
            },
        })
    }

    /// The procedure when the request is one unbatched call of a subscription: served as SSE.
    fn lone_subscription(&self) -> Option<&'a Procedure<S>> {
        match self.calls.as_slice() {
            [
                Call {
                    procedure: Some(p), ..
                },
            ] if p.kind() == ProcedureKind::Subscription && !self.query.batch => Some(*p),
            _ => None,
        }
    }
}

/// One subscription over SSE; `Last-Event-Id` (header) wins over `lastEventId=` (query).
fn stream_subscription<S: Clone + Send + Sync + 'static>(
    trpc: &Arc<Trpc<S>>,
    parsed: Parsed<'_, S>,
    procedure: &Procedure<S>,
) -> Response {
    let header_id = parsed
        .ctx
        .meta
        .headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let input = RawInput {
        json: parsed.input_text,
        last_event_id: header_id.or(parsed.query.last_event_id),
    };
    let method_check = check_method(trpc, &parsed.method, procedure);
    let path = procedure.path().to_owned();
    sse::respond(trpc.clone(), parsed.ctx, path, input, method_check)
}

/// Queries or mutations, one or a batch: each call's input checked, then all run at once and
/// answered as one JSON reply or as JSON lines in completion order.
async fn answer_calls<S: Clone + Send + Sync + 'static>(
    trpc: &Arc<Trpc<S>>,
    parsed: Parsed<'_, S>,
) -> Response {
    let Parsed {
        method,
        query,
        calls,
        jsonl,
        input_text,
        ctx,
    } = parsed;
    let inputs = if query.batch {
        BatchInputs::parse(input_text)
    } else {
        BatchInputs::Single(input_text)
    };
    let mut allow = None;
    let mut prepared = Vec::with_capacity(calls.len());
    for (index, call) in calls.iter().enumerate() {
        let checked = resolve(trpc, &method, call, query.batch)
            .and_then(|p| Ok((p, inputs.input_for(index, p)?)));
        if let Err(e) = &checked
            && e.code == ErrorCode::MethodNotSupported
            && let Some(p) = call.procedure
        {
            allow.get_or_insert(allowed_methods(trpc, p.kind()));
        }
        prepared.push(checked.map(|(_, input)| input));
    }
    if jsonl {
        return jsonl_response(trpc.clone(), ctx, calls, prepared);
    }
    let futures = calls.iter().zip(prepared).map(|(call, prepared)| {
        let ctx = ctx.clone();
        async move {
            match prepared {
                Ok(input) => trpc.registry.call_payload(ctx, &call.path, input).await,
                Err(e) => Err(e),
            }
        }
    });
    let results = futures::future::join_all(futures).await;
    let reply = JsonReply {
        calls: &calls,
        results,
        batch: query.batch,
        allow,
    };
    let cacheable = method == Method::GET;
    let mut response = reply
        .into_response(trpc, &ctx.meta.headers, cacheable)
        .await;
    for (name, value) in ctx.meta.response.take() {
        if let Some(name) = name {
            response.headers_mut().append(name, value);
        }
    }
    response
}

/// Procedures of different kinds may not share a batch (unknown paths do not count).
fn check_mixed_kinds<S>(calls: &[Call<'_, S>]) -> Result<(), RpcError> {
    let mut kinds: Vec<&str> = calls
        .iter()
        .filter_map(|c| c.procedure.map(|p| p.kind().as_str()))
        .collect();
    kinds.dedup();
    let first = kinds.first().copied();
    if kinds.iter().any(|k| Some(*k) != first) {
        let mut unique: Vec<&str> = Vec::new();
        for k in kinds {
            if !unique.contains(&k) {
                unique.push(k);
            }
        }
        return Err(RpcError::bad_request(format!(
            "Cannot mix procedure types in call: {}",
            unique.join(", ")
        )));
    }
    Ok(())
}

fn resolve<'a, S: Clone + Send + Sync + 'static>(
    trpc: &Trpc<S>,
    method: &Method,
    call: &Call<'a, S>,
    batch: bool,
) -> Result<&'a Procedure<S>, RpcError> {
    let procedure = call.procedure.ok_or_else(|| no_procedure(&call.path))?;
    if procedure.kind() == ProcedureKind::Subscription && batch {
        return Err(RpcError::bad_request("Cannot batch subscription calls"));
    }
    check_method(trpc, method, procedure)?;
    Ok(procedure)
}

pub(super) fn check_method<S: Clone + Send + Sync + 'static>(
    trpc: &Trpc<S>,
    method: &Method,
    procedure: &Procedure<S>,
) -> Result<(), RpcError> {
    let ok = match procedure.kind() {
        ProcedureKind::Mutation => method == Method::POST,
        _ => method == Method::GET || (trpc.config.allow_method_override && method == Method::POST),
    };
    if ok {
        return Ok(());
    }
    Err(RpcError::new(
        ErrorCode::MethodNotSupported,
        format!(
            "Unsupported {method}-request to {} procedure at path \"{}\"",
            procedure.kind().as_str(),
            procedure.path()
        ),
    ))
}

async fn read_body(body: Body, limit: usize) -> Result<Option<Bytes>, RpcError> {
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if too_large {
            RpcError::new(
                ErrorCode::PayloadTooLarge,
                format!("Request body exceeds the limit of {limit} bytes"),
            )
        } else {
            RpcError::bad_request(format!("Could not read the request body: {e}"))
        }
    })?;
    Ok((!bytes.is_empty()).then_some(bytes))
}

/// The inputs of a request: one for a single call, or the index-keyed object of a batch.
enum BatchInputs {
    Single(Option<Bytes>),
    Keyed(HashMap<String, Box<RawValue>>),
    Invalid(RpcError),
}

impl BatchInputs {
    fn parse(text: Option<Bytes>) -> Self {
        let Some(text) = text else {
            return BatchInputs::Keyed(HashMap::new());
        };
        match serde_json::from_slice::<Box<RawValue>>(&text) {
            Err(e) => {
                BatchInputs::Invalid(RpcError::bad_request(format!("Invalid JSON input: {e}")))
            }
            Ok(raw) => match serde_json::from_str::<HashMap<String, Box<RawValue>>>(raw.get()) {
                Ok(map) => BatchInputs::Keyed(map),
                Err(_) => BatchInputs::Invalid(RpcError::bad_request(
                    "\"input\" needs to be an object when doing a batch call",
                )),
            },
        }
    }

    /// Inputs are parsed lazily: a procedure without input never sees a bad batch input.
    fn input_for<S>(&self, index: usize, procedure: &Procedure<S>) -> Result<RawInput, RpcError> {
        if !procedure.takes_input() {
            return Ok(RawInput::default());
        }
        match self {
            BatchInputs::Single(text) => Ok(RawInput {
                json: text.clone(),
                last_event_id: None,
            }),
            BatchInputs::Keyed(map) => Ok(RawInput {
                json: map
                    .get(&index.to_string())
                    .map(|raw| Bytes::copy_from_slice(raw.get().as_bytes())),
                last_event_id: None,
            }),
            BatchInputs::Invalid(e) => Err(e.clone()),
        }
    }
}

fn status_of(result: &Result<Payload, RpcError>) -> u16 {
    match result {
        Ok(_) => 200,
        Err(e) => e.code.http_status(),
    }
}

/// One distinct status ⇒ that status; several ⇒ 207.
fn batch_status(results: &[Result<Payload, RpcError>]) -> StatusCode {
    let mut statuses = results.iter().map(status_of);
    let first = statuses.next().unwrap_or(200);
    let code = if statuses.all(|s| s == first) {
        first
    } else {
        207
    };
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The answer to a (batch of) queries or mutations as one JSON document.
struct JsonReply<'a, 'r, S> {
    calls: &'a [Call<'r, S>],
    results: Vec<Result<Payload, RpcError>>,
    batch: bool,
    allow: Option<HeaderValue>,
}

impl<S> JsonReply<'_, '_, S> {
    fn body(&self) -> Chunks {
        let mut body = Chunks::new();
        if self.batch {
            body.push(Bytes::from_static(b"["));
        }
        for (index, (call, result)) in self.calls.iter().zip(&self.results).enumerate() {
            if index > 0 {
                body.push(Bytes::from_static(b","));
            }
            push_envelope(&mut body, &call.path, result.as_ref().map(|p| &p.json));
        }
        if self.batch {
            body.push(Bytes::from_static(b"]"));
        }
        body
    }

    /// Identifies the body: per-call content hashes (supplied by the procedure, or computed
    /// here for outputs that came without one), and the batch shape.
    fn content_hash(&self) -> u64 {
        let digests: Vec<[u8; 8]> = self
            .results
            .iter()
            .map(|r| match r {
                Ok(Payload {
                    hash: Some(hash), ..
                }) => hash.to_le_bytes(),
                Ok(Payload { json, .. }) => cache::hash_chunks(0, [&json[..]]).to_le_bytes(),
                Err(e) => cache::hash_chunks(1, [&e.shape_json(None)[..]]).to_le_bytes(),
            })
            .collect();
        cache::hash_chunks(u64::from(self.batch), digests.iter().map(|d| &d[..]))
    }

    /// Successful GETs carry a strong ETag (304 when the client has it) and are compressed
    /// when the client accepts it, each variant made once per content.
    async fn into_response<T>(
        self,
        trpc: &Trpc<T>,
        headers: &HeaderMap,
        cacheable: bool,
    ) -> Response {
        let status = batch_status(&self.results);
        let body = self.body();
        let mut builder = Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(allow) = &self.allow {
            builder = builder.header(header::ALLOW, allow);
        }
        if !cacheable || status != StatusCode::OK {
            return builder
                .header(header::VARY, VARY)
                .body(Body::new(body))
                .unwrap_or_default();
        }
        let hash = self.content_hash();
        let tag = cache::etag(hash);
        builder = builder
            .header(header::VARY, VARY_ENCODED)
            .header(header::ETAG, tag.clone())
            .header(header::CACHE_CONTROL, "private, no-cache");
        if cache::not_modified(headers, &tag) {
            trpc.config.metrics.cache(CacheEvent::NotModified);
            return builder
                .status(StatusCode::NOT_MODIFIED)
                .body(Body::empty())
                .unwrap_or_default();
        }
        if body.len() >= trpc.config.min_compress_bytes as u64
            && let Some(encoding) = cache::negotiate(headers)
            && let Some((compressed, made)) = trpc
                .compression
                .get_tracked(hash, encoding, || body.to_bytes())
                .await
        {
            trpc.config.metrics.cache(if made {
                CacheEvent::CompressedMiss
            } else {
                CacheEvent::CompressedHit
            });
            return builder
                .header(header::CONTENT_ENCODING, encoding.token())
                .body(Body::from(compressed))
                .unwrap_or_default();
        }
        trpc.config.metrics.cache(CacheEvent::Identity);
        builder.body(Body::new(body)).unwrap_or_default()
    }
}

/// A whole-request error: one error object (even for batches), no `data.path`.
pub fn whole_request_error(error: &RpcError) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(error.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::VARY, VARY)
        .body(Body::from(error_envelope(error, None)))
        .unwrap_or_default()
}

/// `httpBatchStreamLink`: a head line declaring one promise per call, then one line per call as
/// it completes (`[index,0,[[envelope]]]`), in completion order.
fn jsonl_response<S: Clone + Send + Sync + 'static>(
    trpc: Arc<Trpc<S>>,
    ctx: Ctx<S>,
    calls: Vec<Call<'_, S>>,
    prepared: Vec<Result<RawInput, RpcError>>,
) -> Response {
    let head: Vec<String> = (0..calls.len())
        .map(|i| format!("\"{i}\":[[0],[null,0,{i}]]"))
        .collect();
    let head = Bytes::from(format!("{{{}}}\n", head.join(",")));
    let pending: FuturesUnordered<_> = calls
        .into_iter()
        .zip(prepared)
        .enumerate()
        .map(|(index, (call, prepared))| {
            let (trpc, ctx, path) = (trpc.clone(), ctx.clone(), call.path);
            async move {
                let result = match prepared {
                    Ok(input) => trpc.registry.call(ctx, &path, input).await,
                    Err(e) => Err(e),
                };
                let mut line = Chunks::new();
                line.push(Bytes::from(format!("[{index},0,[[")));
                push_envelope(&mut line, &path, result.as_ref());
                line.push(Bytes::from_static(b"]]]\n"));
                line
            }
        })
        .collect();
    let lines = pending.flat_map(|line| futures::stream::iter(line.into_chunks()));
    let stream = futures::stream::once(async move { head })
        .chain(lines)
        .map(Ok::<_, std::convert::Infallible>);
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::VARY, VARY)
        .body(Body::from_stream(stream))
        .unwrap_or_default()
}
