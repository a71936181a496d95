//! The large inventory for benchmarks, and the router used in-process without a listener.

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use reqwest::Method;
use serde_json::Value;
use tidings_sim::{Fault, FaultKind, Service, Sim, SimConfig, app};
use tower::ServiceExt;

use crate::helpers::TestSim;

#[tokio::test]
async fn extra_instances_make_a_large_detailed_list() {
    let config = SimConfig {
        extra_instances: 600,
        ..SimConfig::quiet()
    };
    let t = TestSim::with(config).await;
    let token = t.admin().await;
    let response = t
        .send(
            Method::GET,
            &token,
            "/compute/v2.1/servers/detail?all_tenants=1",
            None,
        )
        .await;
    let bytes = response.bytes().await.unwrap();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["servers"].as_array().unwrap().len(), 609);
    assert!(
        bytes.len() > 609 * 1500,
        "about 2 KB per server, got {} bytes",
        bytes.len()
    );
}

#[tokio::test]
async fn the_router_answers_in_process() {
    let sim = Sim::new(SimConfig::quiet());
    let request = Request::get("/compute/v2.1/servers")
        .body(Body::empty())
        .unwrap();
    let response = app(sim.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value =
        serde_json::from_slice(&to_bytes(response.into_body(), 1 << 16).await.unwrap()).unwrap();
    assert_eq!(body["error"]["code"], 401);
    assert_eq!(sim.stats().path("GET /compute/v2.1/servers"), 1);

    sim.inject(Fault::new(Service::Compute, FaultKind::Drop).times(1));
    let request = Request::get("/compute/v2.1/servers")
        .body(Body::empty())
        .unwrap();
    let response = app(sim.clone()).oneshot(request).await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::BAD_GATEWAY,
        "without a connection, a drop becomes a 502"
    );
}
