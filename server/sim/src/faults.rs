//! Fault injection and request counting: the middleware every simulated service goes through.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::serve::DropHook;
use crate::sim::Sim;

/// A simulated service, as named by the fault and stats APIs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// Keystone, under `/identity`.
    Identity,
    /// Nova, under `/compute`.
    Compute,
    /// Cinder, under `/volume`.
    Volume,
    /// Glance, under `/image`.
    Image,
    /// Neutron, under `/network`.
    Network,
    /// Every service (faults only).
    All,
}

impl Service {
    /// The service a request path belongs to; `None` for the control API and unknown paths.
    pub fn of_path(path: &str) -> Option<Self> {
        let first = path.trim_start_matches('/').split('/').next()?;
        Some(match first {
            "identity" => Self::Identity,
            "compute" => Self::Compute,
            "volume" => Self::Volume,
            "image" => Self::Image,
            "network" => Self::Network,
            _ => return None,
        })
    }

    /// The lowercase name used in the APIs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Compute => "compute",
            Self::Volume => "volume",
            Self::Image => "image",
            Self::Network => "network",
            Self::All => "all",
        }
    }

    fn covers(self, other: Self) -> bool {
        self == Self::All || self == other
    }
}

/// What an injected fault does to a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum FaultKind {
    /// Answer with this HTTP status and a Keystone-style error body.
    Status {
        /// The status code, e.g. 503.
        status: u16,
    },
    /// Wait this long, then answer normally.
    Latency {
        /// Delay in milliseconds.
        ms: u64,
    },
    /// Close the connection without answering.
    Drop,
    /// Answer 200 with a body that is not valid JSON.
    Garbage,
}

/// A fault rule: which service, what happens, and for how many requests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// The service whose requests are hit (`all` for every one).
    pub service: Service,
    /// What happens to them.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// How many requests it hits before clearing itself; `None` until cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

impl Fault {
    /// A fault that hits every request of `service` until cleared.
    pub fn new(service: Service, kind: FaultKind) -> Self {
        Self {
            service,
            kind,
            count: None,
        }
    }

    /// The same fault, clearing itself after `n` requests.
    pub fn times(self, n: u32) -> Self {
        Self {
            count: Some(n),
            ..self
        }
    }
}

/// Takes the fault that applies to the next request of `service`, consuming one use of it.
pub(crate) fn take(faults: &mut Vec<Fault>, service: Service) -> Option<FaultKind> {
    let index = faults.iter().position(|f| f.service.covers(service))?;
    let kind = faults[index].kind.clone();
    if let Some(count) = faults[index].count.as_mut() {
        *count = count.saturating_sub(1);
        if *count == 0 {
            faults.remove(index);
        }
    }
    Some(kind)
}

/// Counts the request, then applies the first matching fault, if any.
pub(crate) async fn guard(State(sim): State<Sim>, request: Request, next: Next) -> Response {
    let Some(service) = Service::of_path(request.uri().path()) else {
        return next.run(request).await;
    };
    sim.record(service, request.method().as_str(), request.uri().path());
    match sim.take_fault(service) {
        None => next.run(request).await,
        Some(FaultKind::Latency { ms }) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            next.run(request).await
        }
        Some(FaultKind::Status { status }) => status_answer(status),
        Some(FaultKind::Garbage) => garbage_answer(),
        Some(FaultKind::Drop) => match request.extensions().get::<DropHook>() {
            Some(hook) => {
                hook.fire();
                std::future::pending().await
            }
            None => status_answer(StatusCode::BAD_GATEWAY.as_u16()),
        },
    }
}

fn status_answer(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let title = status.canonical_reason().unwrap_or("Error");
    let body = serde_json::json!({
        "error": { "code": status.as_u16(), "title": title, "message": "Injected fault." }
    });
    (status, axum::Json(body)).into_response()
}

fn garbage_answer() -> Response {
    let mut response = Response::new(Body::from("{\"servers\": [{\"id\": \"7f1e<html>"));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
