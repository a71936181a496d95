//! Notifications run. JSON-RPC 2.0 says a request without an id is still a request the server
//! processes, only without a reply; jsonrpsee acknowledges notifications without calling the
//! method. This middleware calls queries and mutations sent as notifications (alone or inside
//! a batch) and drops their results, so a fire-and-forget mutation takes effect; a request of
//! only notifications is marked [`Unanswered`], for HTTP to answer 204 with no body.
//!
//! It also words jsonrpsee's limits like every other error: a batch over the limit (-32010,
//! checked here on both transports) and a subscription past the socket's allowance (-32006)
//! carry `data: {code, httpStatus, path}` rather than jsonrpsee's plain string.

use std::collections::HashSet;
use std::sync::Arc;

use jsonrpsee::server::middleware::rpc::{
    Batch, BatchEntry, MethodResponse, Notification, Request, RpcServiceT,
};
use jsonrpsee::types::error::{
    TOO_BIG_BATCH_REQUEST_CODE, TOO_BIG_BATCH_REQUEST_MSG, TOO_MANY_SUBSCRIPTIONS_CODE,
    TOO_MANY_SUBSCRIPTIONS_MSG,
};
use jsonrpsee::types::{Id, TwoPointZero};

use super::error::limit_error;
use crate::error::ErrorCode;

/// In the extensions of a response to a notification or a batch of only notifications:
/// nothing is to be answered.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unanswered;

/// Wraps jsonrpsee's RPC service; `callable` lists the methods a notification may run
/// (queries and mutations: a subscription without an id could never be referred to again).
#[derive(Debug, Clone)]
pub(crate) struct RunNotifications<Svc> {
    pub inner: Svc,
    pub callable: Arc<HashSet<&'static str>>,
    /// Most calls in one batch (jsonrpsee's own check is off: it words the error otherwise).
    pub max_batch: usize,
}

/// The layer that wraps each connection's RPC service in [`RunNotifications`].
#[derive(Debug, Clone)]
pub(crate) struct RunNotificationsLayer {
    pub callable: Arc<HashSet<&'static str>>,
    /// Most calls in one batch.
    pub max_batch: usize,
}

impl<Svc> tower::Layer<Svc> for RunNotificationsLayer {
    type Service = RunNotifications<Svc>;

    fn layer(&self, inner: Svc) -> Self::Service {
        RunNotifications {
            inner,
            callable: self.callable.clone(),
            max_batch: self.max_batch,
        }
    }
}

/// Marks a response that answers nothing as [`Unanswered`].
fn mark_unanswered(mut response: MethodResponse) -> MethodResponse {
    if response.is_notification() {
        response.extensions_mut().insert(Unanswered);
    }
    response
}

impl<Svc> RunNotifications<Svc>
where
    Svc: RpcServiceT<MethodResponse = MethodResponse> + Clone + Send + Sync + 'static,
{
    /// Runs `n` as a call whose response nobody reads.
    async fn run(&self, n: &Notification<'_>) {
        if !self.callable.contains(n.method_name()) {
            return;
        }
        let request = Request {
            jsonrpc: TwoPointZero,
            id: Id::Null,
            method: n.method.clone(),
            params: n.params.clone(),
            extensions: n.extensions.clone(),
        };
        let response = self.inner.call(request).await;
        if response.is_error() {
            tracing::debug!(method = %n.method, "notification failed; no reply is sent");
        }
    }
}

impl<Svc> RpcServiceT for RunNotifications<Svc>
where
    Svc: RpcServiceT<
            MethodResponse = MethodResponse,
            NotificationResponse = MethodResponse,
            BatchResponse = MethodResponse,
        > + Clone
        + Send
        + Sync
        + 'static,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = MethodResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(
        &self,
        request: Request<'a>,
    ) -> impl Future<Output = Self::MethodResponse> + Send + 'a {
        let (id, method) = (request.id.clone(), request.method.clone());
        let response = self.inner.call(request);
        async move {
            let response = response.await;
            if response.as_error_code() != Some(TOO_MANY_SUBSCRIPTIONS_CODE) {
                return response;
            }
            let error = limit_error(
                TOO_MANY_SUBSCRIPTIONS_CODE,
                TOO_MANY_SUBSCRIPTIONS_MSG,
                ErrorCode::TooManyRequests,
                Some(&*method),
            );
            MethodResponse::error(id, error)
        }
    }

    fn notification<'a>(
        &self,
        n: Notification<'a>,
    ) -> impl Future<Output = Self::NotificationResponse> + Send + 'a {
        let this = self.clone();
        async move {
            this.run(&n).await;
            mark_unanswered(this.inner.notification(n).await)
        }
    }

    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = Self::BatchResponse> + Send + 'a {
        let this = self.clone();
        async move {
            if batch.len() > this.max_batch {
                let error = limit_error(
                    TOO_BIG_BATCH_REQUEST_CODE,
                    TOO_BIG_BATCH_REQUEST_MSG,
                    ErrorCode::PayloadTooLarge,
                    None,
                );
                return MethodResponse::error(Id::Null, error);
            }
            for entry in batch.iter() {
                if let Ok(BatchEntry::Notification(n)) = entry {
                    this.run(n).await;
                }
            }
            mark_unanswered(this.inner.batch(batch).await)
        }
    }
}
