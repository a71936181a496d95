//! Who may read `/metrics`: procedure names, call and error rates, open streams and upstream
//! failures are no business of the console's visitors. `/metrics` is served on a listener of
//! its own (`--metrics-listen`), or on the main listener only to holders of
//! `--metrics-token`; by default nowhere.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tidings_rpc::Metrics;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Where `/metrics` is served and what it asks for.
#[derive(Debug, Clone, Default)]
pub(crate) struct MetricsAccess {
    /// `--metrics-token`: the bearer token a scrape must send; `None` asks for none.
    pub token: Option<Arc<str>>,
    /// `--metrics-listen`: the address of the metrics listener; `None` for none.
    pub listen: Option<SocketAddr>,
}

impl MetricsAccess {
    /// `/metrics` for the main listener: with a token and no listener of its own; otherwise a
    /// 404 that says where they are (the path is the server's, never the console's page).
    pub(crate) fn main_router(&self, metrics: &Metrics) -> Router {
        match (&self.listen, &self.token) {
            (None, Some(_)) => self.router(metrics),
            _ => Router::new().route(
                "/metrics",
                axum::routing::any(|| async {
                    (
                        http::StatusCode::NOT_FOUND,
                        "metrics are not served here: see --metrics-listen and --metrics-token\n",
                    )
                }),
            ),
        }
    }

    /// `/metrics`, behind the token when one is set.
    pub(crate) fn router(&self, metrics: &Metrics) -> Router {
        let router = metrics.router();
        match &self.token {
            Some(token) => router.layer(middleware::from_fn_with_state(token.clone(), bearer)),
            None => router,
        }
    }

    /// Logs where `/metrics` can be read.
    pub(crate) fn announce(&self, metrics_addr: Option<SocketAddr>) {
        match (metrics_addr, &self.token) {
            (Some(addr), token) => {
                tracing::info!(%addr, token = token.is_some(), "metrics listening");
            }
            (None, Some(_)) => tracing::info!("/metrics served to holders of the metrics token"),
            (None, None) => tracing::info!(
                "/metrics is not served: give --metrics-listen or --metrics-token to scrape it"
            ),
        }
    }
}

/// Serves `/metrics` on `listener` until `shutdown` is cancelled.
pub(crate) async fn serve(listener: TcpListener, router: Router, shutdown: CancellationToken) {
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await;
    if let Err(error) = served {
        tracing::error!(error = ?error, "the metrics listener failed");
    }
}

/// Lets through requests with `Authorization: Bearer <token>` (compared in constant time);
/// answers others 401.
async fn bearer(State(token): State<Arc<str>>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if given.is_some_and(|given| constant_time_eq(given.as_bytes(), token.as_bytes())) {
        return next.run(request).await;
    }
    let mut response = (
        StatusCode::UNAUTHORIZED,
        "/metrics needs Authorization: Bearer <metrics token>\n",
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// Equality whose time does not depend on where the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
