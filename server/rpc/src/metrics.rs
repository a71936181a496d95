//! Metrics: a small facade that the registry and the transports report to, rendered as
//! Prometheus text at `/metrics`. Domain-free: it knows transports, procedures and response
//! caches; the application registers its own series (bus, upstream) on the same registry.
//!
//! Transports call [`Metrics::subscriber`] when a subscription stream opens and keep the guard
//! for as long as it is open; [`crate::Registry`] observes every call; the tRPC HTTP transport
//! reports its response cache.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use http::header;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry as PromRegistry;

pub use prometheus_client;

use crate::error::ErrorCode;
use crate::procedure::meta::{ProcedureKind, Transport};

/// One label.
type Label = [(&'static str, &'static str); 1];
/// Two labels.
type Labels = [(&'static str, &'static str); 2];

/// Latency buckets from 50 µs to ~13 s (×4 each).
#[derive(Clone, Copy)]
struct Buckets;

impl MetricConstructor<Histogram> for Buckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
            0.000_05, 4.0, 10,
        ))
    }
}

/// What happened to a cacheable response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheEvent {
    /// Revalidated: `304 Not Modified`, no body sent.
    NotModified,
    /// A compressed variant was already made and was reused.
    CompressedHit,
    /// A compressed variant had to be made.
    CompressedMiss,
    /// Sent whole and uncompressed.
    Identity,
}

impl CacheEvent {
    fn as_str(self) -> &'static str {
        match self {
            CacheEvent::NotModified => "not_modified",
            CacheEvent::CompressedHit => "compressed_hit",
            CacheEvent::CompressedMiss => "compressed_miss",
            CacheEvent::Identity => "identity",
        }
    }
}

/// The metrics of one server. Cheap to clone; every clone records into the same series.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Mutex<PromRegistry>,
    subscribers: Family<Label, Gauge>,
    subscriptions: Family<Label, Counter>,
    calls: Family<Labels, Histogram, Buckets>,
    call_errors: Family<Labels, Counter>,
    cache: Family<Label, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new("")
    }
}

impl Metrics {
    /// Empty series, every name prefixed with `prefix_` (none when empty).
    pub fn new(prefix: &str) -> Self {
        let mut registry = if prefix.is_empty() {
            PromRegistry::default()
        } else {
            PromRegistry::with_prefix(prefix)
        };
        let inner = Inner {
            subscribers: Family::default(),
            subscriptions: Family::default(),
            calls: Family::new_with_constructor(Buckets),
            call_errors: Family::default(),
            cache: Family::default(),
            registry: Mutex::new(PromRegistry::default()),
        };
        registry.register(
            "subscribers",
            "Open subscription streams, by transport",
            inner.subscribers.clone(),
        );
        registry.register(
            "subscriptions",
            "Subscription streams opened, by transport",
            inner.subscriptions.clone(),
        );
        registry.register(
            "call_duration_seconds",
            "Time to answer a query or mutation, by procedure",
            inner.calls.clone(),
        );
        registry.register(
            "call_errors",
            "Calls that ended in an error, by procedure and error code",
            inner.call_errors.clone(),
        );
        registry.register(
            "response_cache",
            "Cacheable query responses by outcome: 304, compressed variant reused or made, identity",
            inner.cache.clone(),
        );
        *inner
            .registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = registry;
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Adds the application's own series (or collectors) to what `/metrics` shows.
    pub fn register_with(&self, add: impl FnOnce(&mut PromRegistry)) {
        add(&mut self.registry());
    }

    fn registry(&self) -> MutexGuard<'_, PromRegistry> {
        self.inner
            .registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A subscription stream opened on `transport`; it counts as open until the guard drops.
    pub fn subscriber(&self, transport: Transport) -> SubscriberGuard {
        let label = [("transport", transport_label(transport))];
        self.inner.subscriptions.get_or_create(&label).inc();
        let gauge = self.inner.subscribers.get_or_create(&label).clone();
        gauge.inc();
        SubscriberGuard { gauge }
    }

    /// A query or mutation was answered after `elapsed`, with `error` when it failed.
    pub fn observe_call(
        &self,
        procedure: &'static str,
        kind: ProcedureKind,
        elapsed: Duration,
        error: Option<ErrorCode>,
    ) {
        let labels = [("procedure", procedure), ("kind", kind.as_str())];
        self.inner
            .calls
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        if let Some(code) = error {
            let labels = [("procedure", procedure), ("code", code.key())];
            self.inner.call_errors.get_or_create(&labels).inc();
        }
    }

    /// Records what happened to a cacheable response.
    pub fn cache(&self, event: CacheEvent) {
        self.inner
            .cache
            .get_or_create(&[("outcome", event.as_str())])
            .inc();
    }

    /// Every series in the Prometheus/OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(error) = encode(&mut out, &self.registry()) {
            tracing::error!(error = %error, "metrics could not be encoded");
        }
        out
    }

    /// `GET /metrics`.
    pub fn router(&self) -> Router {
        let metrics = self.clone();
        Router::new().route(
            "/metrics",
            get(move || {
                let text = metrics.render();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        text,
                    )
                        .into_response()
                }
            }),
        )
    }
}

/// The `transport` label: tRPC subscriptions over HTTP are SSE streams.
fn transport_label(transport: Transport) -> &'static str {
    match transport {
        Transport::TrpcHttp => "sse",
        Transport::TrpcWs => "trpc_ws",
        Transport::JsonRpc => "jsonrpc",
        Transport::Local => "local",
    }
}

/// An open subscription stream, counted until dropped.
#[derive(Debug)]
pub struct SubscriberGuard {
    gauge: Gauge,
}

impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_renders() {
        let metrics = Metrics::new("t");
        let guard = metrics.subscriber(Transport::TrpcHttp);
        let _second = metrics.subscriber(Transport::TrpcWs);
        drop(guard);
        metrics.observe_call(
            "a.get",
            ProcedureKind::Query,
            Duration::from_millis(2),
            None,
        );
        metrics.observe_call(
            "a.set",
            ProcedureKind::Mutation,
            Duration::from_millis(1),
            Some(ErrorCode::NotFound),
        );
        metrics.cache(CacheEvent::NotModified);
        let text = metrics.render();
        for series in [
            r#"t_subscribers{transport="sse"} 0"#,
            r#"t_subscribers{transport="trpc_ws"} 1"#,
            r#"t_subscriptions_total{transport="sse"} 1"#,
            r#"t_call_duration_seconds_count{procedure="a.get",kind="query"} 1"#,
            r#"t_call_errors_total{procedure="a.set",code="NOT_FOUND"} 1"#,
            r#"t_response_cache_total{outcome="not_modified"} 1"#,
        ] {
            assert!(text.contains(series), "{series} in\n{text}");
        }
    }
}
