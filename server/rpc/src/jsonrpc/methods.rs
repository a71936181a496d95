//! The registry as a `jsonrpsee::RpcModule`: one method per query and mutation, a
//! subscribe/unsubscribe pair per subscription, and `rpc.discover`.

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use futures::StreamExt;
use jsonrpsee::core::SubscriptionError;
use jsonrpsee::server::{
    PendingSubscriptionSink, RpcModule, SubscriptionCloseResponse, SubscriptionMessage,
    SubscriptionSink,
};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use jsonrpsee::{Extensions, core::RegisterMethodError};
use serde_json::value::RawValue;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::error::{invalid_params, to_error_object};
use super::names::MethodNames;
use super::params;
use crate::error::RpcError;
use crate::event::{Event, Frame, Notice};
use crate::procedure::{Ctx, ProcedureKind, Registry, RequestMeta, Transport};

/// What every method needs: the procedures, the state handed to them, and the shutdown signal
/// that ends open subscriptions.
pub(crate) struct Shared<S> {
    pub registry: Arc<Registry<S>>,
    pub state: S,
    pub shutdown: CancellationToken,
    pub metrics: crate::metrics::Metrics,
}

impl<S: Clone> Shared<S> {
    /// The handler context; the transport put the request's metadata in the extensions.
    fn ctx(&self, extensions: &Extensions) -> Ctx<S> {
        let meta = extensions
            .get::<Arc<RequestMeta>>()
            .cloned()
            .unwrap_or_else(|| {
                Arc::new(RequestMeta {
                    transport: Transport::JsonRpc,
                    ..RequestMeta::local()
                })
            });
        Ctx {
            state: self.state.clone(),
            meta,
        }
    }
}

/// Registers every procedure of `shared.registry`, and `rpc.discover` answering `discover`.
/// Panics when two names collide (a subscription's derived names against a procedure): paths
/// are fixed at build time.
pub(crate) fn module<S: Clone + Send + Sync + 'static>(
    shared: Shared<S>,
    discover: Arc<RawValue>,
) -> RpcModule<Shared<S>> {
    let procedures: Vec<(&'static str, ProcedureKind)> = shared
        .registry
        .procedures()
        .map(|p| (p.path(), p.kind()))
        .collect();
    let mut module = RpcModule::new(shared);
    for (path, kind) in procedures {
        let registered = match kind {
            ProcedureKind::Query | ProcedureKind::Mutation => module
                .register_async_method(path, move |params, shared, extensions| {
                    call(shared, path, params, extensions)
                })
                .map(drop),
            ProcedureKind::Subscription => register_subscription(&mut module, path),
        };
        if let Err(error) = registered {
            panic!("JSON-RPC method for {path}: {error}");
        }
    }
    module
        .register_method("rpc.discover", move |_, _, _| {
            Ok::<_, ErrorObjectOwned>(discover.clone())
        })
        .expect("rpc.discover is registered once");
    module
}

fn register_subscription<S: Clone + Send + Sync + 'static>(
    module: &mut RpcModule<Shared<S>>,
    path: &'static str,
) -> Result<(), RegisterMethodError> {
    let names = MethodNames::for_subscription(path);
    // jsonrpsee keeps method names as `&'static str`; a registry builds its module once.
    let unsubscribe: &'static str = Box::leak(names.unsubscribe.into_boxed_str());
    let notification: &'static str = Box::leak(names.notification.into_boxed_str());
    module
        .register_subscription(
            path,
            notification,
            unsubscribe,
            move |params, pending, shared, extensions| {
                subscribe(shared, path, params, pending, extensions)
            },
        )
        .map(drop)
}

/// Runs a query or mutation; its JSON output is passed through as it is.
async fn call<S: Clone + Send + Sync + 'static>(
    shared: Arc<Shared<S>>,
    path: &'static str,
    params: Params<'static>,
    extensions: Extensions,
) -> Result<Box<RawValue>, ErrorObjectOwned> {
    let input = params::to_input(params.as_str()).map_err(|e| invalid_params(e.0, path))?;
    let ctx = shared.ctx(&extensions);
    let output = shared
        .registry
        .call(ctx, path, input)
        .instrument(tracing::debug_span!("jsonrpc", procedure = %path))
        .await
        .map_err(|e| to_error_object(&e, path))?;
    raw_json(output).map_err(|e| to_error_object(&e, path))
}

/// Starts a subscription and forwards its events until it ends, the client unsubscribes, the
/// connection closes or the server shuts down.
async fn subscribe<S: Clone + Send + Sync + 'static>(
    shared: Arc<Shared<S>>,
    path: &'static str,
    params: Params<'static>,
    pending: PendingSubscriptionSink,
    extensions: Extensions,
) -> SubscriptionCloseResponse {
    let input = match params::to_input(params.as_str()) {
        Ok(input) => input,
        Err(e) => {
            pending.reject(invalid_params(e.0, path)).await;
            return SubscriptionCloseResponse::None;
        }
    };
    let ctx = shared.ctx(&extensions);
    let mut stream = match shared.registry.subscribe(ctx, path, input).await {
        Ok(stream) => stream,
        Err(e) => {
            pending.reject(to_error_object(&e, path)).await;
            return SubscriptionCloseResponse::None;
        }
    };
    let Ok(sink) = pending.accept().await else {
        return SubscriptionCloseResponse::None;
    };
    let _counted = shared.metrics.subscriber(Transport::JsonRpc);
    loop {
        let event = tokio::select! {
            event = stream.next() => event,
            () = sink.closed() => return SubscriptionCloseResponse::None,
            () = shared.shutdown.cancelled() => return SubscriptionCloseResponse::None,
        };
        match event {
            Some(Event::Notice(notice)) => {
                if send(&sink, &notice).await.is_err() {
                    return SubscriptionCloseResponse::None;
                }
            }
            Some(Event::Error(error)) => return closing_error(&error, path),
            None => return SubscriptionCloseResponse::None,
        }
    }
}

/// Sends one notice. Its `{id, data}` is rendered once per notice and shared by every
/// subscriber; each subscriber only wraps the shared text in its own envelope (its
/// subscription id), which jsonrpsee needs as one message.
async fn send(sink: &SubscriptionSink, notice: &Notice) -> Result<(), ()> {
    let frame = notice.frame(Frame::JsonRpc, render);
    let result: &RawValue = serde_json::from_slice(&frame).map_err(drop)?;
    let message = SubscriptionMessage::new(sink.method_name(), sink.subscription_id(), &result)
        .map_err(drop)?;
    sink.send(message).await.map_err(drop)
}

/// `{"id":"<tracking id>","data":<notice>}`; `id` is absent for untracked values.
fn render(notice: &Notice) -> Bytes {
    let mut out = BytesMut::with_capacity(notice.json().len() + 32);
    out.put_slice(b"{");
    if let Some(id) = notice.id() {
        out.put_slice(b"\"id\":");
        out.put_slice(serde_json::to_string(id).unwrap_or_default().as_bytes());
        out.put_slice(b",");
    }
    out.put_slice(b"\"data\":");
    out.put_slice(notice.json());
    out.put_slice(b"}");
    out.freeze()
}

/// A failing subscription ends with an error notification carrying the mapped error object.
fn closing_error(error: &RpcError, path: &str) -> SubscriptionCloseResponse {
    match serde_json::value::to_raw_value(&to_error_object(error, path)) {
        Ok(json) => SubscriptionCloseResponse::NotifErr(SubscriptionError::from_json(json)),
        Err(_) => SubscriptionCloseResponse::None,
    }
}

fn raw_json(bytes: Bytes) -> Result<Box<RawValue>, RpcError> {
    let text = String::from_utf8(Vec::from(bytes)).map_err(RpcError::internal)?;
    RawValue::from_string(text).map_err(RpcError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notice_frame_has_id_and_data() {
        let n = Notice::from_json(
            Some("7".into()),
            Bytes::from_static(br#"{"type":"images"}"#),
        );
        assert_eq!(
            &n.frame(Frame::JsonRpc, render)[..],
            br#"{"id":"7","data":{"type":"images"}}"#
        );
        let n = Notice::from_json(None, Bytes::from_static(b"1"));
        assert_eq!(&n.frame(Frame::JsonRpc, render)[..], br#"{"data":1}"#);
    }
}
