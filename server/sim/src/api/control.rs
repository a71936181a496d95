//! The control API under `/_sim`: fault injection, clock stepping, request counts and resource
//! counts, for tests that drive the simulator over HTTP.

use axum::extract::{OriginalUri, Request, State};
use axum::http::StatusCode;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::faults::Fault;
use crate::sim::{ResourceCounts, Sim, TickOutcome};
use crate::stats::Stats;

/// The control routes, relative to `/_sim`, each request counted in [`Stats::control`].
pub(crate) fn mount(sim: Sim) -> Router {
    Router::new()
        .route(
            "/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/tick", post(tick))
        .route("/act", post(act))
        .route("/stats", get(stats).delete(reset_stats))
        .route("/counts", get(counts))
        .layer(from_fn_with_state(sim.clone(), count))
        .with_state(sim)
}

/// Counts a control request under its full path (`/_sim/...`).
async fn count(State(sim): State<Sim>, request: Request, next: Next) -> Response {
    let path = match request.extensions().get::<OriginalUri>() {
        Some(OriginalUri(uri)) => uri.path().to_owned(),
        None => request.uri().path().to_owned(),
    };
    sim.record_control(request.method().as_str(), &path);
    next.run(request).await
}

/// `GET /_sim/faults`: the rules in force.
async fn list_faults(State(sim): State<Sim>) -> Json<Vec<Fault>> {
    Json(sim.faults())
}

/// `POST /_sim/faults` with e.g. `{"service":"compute","kind":"status","status":503,"count":2}`.
async fn add_fault(State(sim): State<Sim>, Json(fault): Json<Fault>) -> StatusCode {
    sim.inject(fault);
    StatusCode::CREATED
}

/// `DELETE /_sim/faults`: removes every rule.
async fn clear_faults(State(sim): State<Sim>) -> StatusCode {
    sim.clear_faults();
    StatusCode::NO_CONTENT
}

/// `POST /_sim/tick`: advances the clock one step now.
async fn tick(State(sim): State<Sim>) -> Json<TickOutcome> {
    Json(sim.tick_now())
}

/// `POST /_sim/act`: one background action now; answers what it did.
async fn act(State(sim): State<Sim>) -> Json<String> {
    Json(sim.act_now())
}

/// `GET /_sim/stats`: request counts per service and per `METHOD /path`.
async fn stats(State(sim): State<Sim>) -> Json<Stats> {
    Json(sim.stats())
}

/// `DELETE /_sim/stats`: zeroes the counts.
async fn reset_stats(State(sim): State<Sim>) -> StatusCode {
    sim.reset_stats();
    StatusCode::NO_CONTENT
}

/// `GET /_sim/counts`: how many servers, volumes, images and networks exist.
async fn counts(State(sim): State<Sim>) -> Json<ResourceCounts> {
    Json(sim.counts())
}
