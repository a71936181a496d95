//! Fault injection (Rust handle and HTTP control API), stats counting and background activity.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tidings_sim::{Fault, FaultKind, Service, Sim, SimConfig};

use crate::helpers::TestSim;

#[tokio::test]
async fn status_fault_hits_count_requests_of_its_service_only() {
    let t = TestSim::start().await;
    let token = t.admin().await;
    t.running
        .sim
        .inject(Fault::new(Service::Compute, FaultKind::Status { status: 503 }).times(2));
    for _ in 0..2 {
        let response = t
            .send(Method::GET, &token, "/compute/v2.1/servers", None)
            .await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        t.get(&token, "/volume/v3/volumes").await;
    }
    t.get(&token, "/compute/v2.1/servers").await;
    assert!(t.running.sim.faults().is_empty());
}

#[tokio::test]
async fn latency_drop_and_garbage_faults() {
    let t = TestSim::start().await;
    let token = t.admin().await;
    t.running
        .sim
        .inject(Fault::new(Service::Image, FaultKind::Latency { ms: 300 }).times(1));
    let started = Instant::now();
    t.get(&token, "/image/v2/images").await;
    assert!(started.elapsed() >= Duration::from_millis(300));

    t.running
        .sim
        .inject(Fault::new(Service::Network, FaultKind::Drop));
    let dropped = t
        .http
        .get(t.url("/network/v2.0/networks"))
        .header("x-auth-token", &token)
        .send()
        .await;
    assert!(dropped.is_err(), "connection closed without an answer");
    t.running.sim.clear_faults();
    t.get(&token, "/network/v2.0/networks").await;

    t.running
        .sim
        .inject(Fault::new(Service::All, FaultKind::Garbage).times(1));
    let response = t
        .send(Method::GET, &token, "/volume/v3/volumes", None)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.json::<Value>().await.is_err(),
        "the body is not JSON"
    );
}

#[tokio::test]
async fn control_api_drives_faults_ticks_and_stats() {
    let t = TestSim::start().await;
    let token = t.admin().await;
    let control = |path: &str| t.url(&format!("/_sim/{path}"));
    let fault = json!({ "service": "identity", "kind": "status", "status": 500, "count": 1 });
    assert_eq!(
        t.http
            .post(control("faults"))
            .json(&fault)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        t.auth("admin", "admin", Some("admin")).await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        t.auth("admin", "admin", Some("admin")).await.status(),
        StatusCode::CREATED
    );
    let forever = json!({ "service": "all", "kind": "status", "status": 502 });
    t.http
        .post(control("faults"))
        .json(&forever)
        .send()
        .await
        .unwrap();
    assert_eq!(
        t.send(Method::GET, &token, "/network/v2.0/ports", None)
            .await
            .status(),
        StatusCode::BAD_GATEWAY
    );
    assert_eq!(
        t.http
            .delete(control("faults"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    t.get(&token, "/network/v2.0/ports").await;

    let body = json!({ "server": { "name": "ticked", "flavorRef": "2" } });
    let created: Value = t
        .post(&token, "/compute/v2.1/servers", body)
        .await
        .json()
        .await
        .unwrap();
    let id = created["server"]["id"].as_str().unwrap();
    let outcome: Value = t
        .http
        .post(control("tick"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(outcome["transitions"].as_u64().unwrap() >= 1);
    assert_eq!(
        t.get(&token, &format!("/compute/v2.1/servers/{id}")).await["server"]["progress"],
        25
    );

    assert_eq!(
        t.http
            .delete(control("stats"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    let project = t.running.sim.project_id("admin").unwrap();
    for _ in 0..3 {
        t.get(&token, "/compute/v2.1/servers/detail?all_tenants=1")
            .await;
    }
    t.get(&token, &format!("/volume/v3/{project}/volumes/detail"))
        .await;
    let stats: Value = t
        .http
        .get(control("stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["by_path"]["GET /compute/v2.1/servers/detail"], 3);
    assert_eq!(stats["by_path"]["GET /volume/v3/volumes/detail"], 1);
    assert_eq!(stats["by_service"]["compute"], 3);
    assert_eq!(stats["total"], 4);
    assert_eq!(t.running.sim.stats().service("volume"), 1);
}

#[tokio::test]
async fn background_activity_changes_the_cloud_and_stays_bounded() {
    let config = SimConfig {
        activity_per_sec: 4.0,
        tick: Duration::from_millis(500),
        ..SimConfig::quiet()
    };
    let sim = Sim::new(config.clone());
    let before = snapshot(&sim);
    let mut actions = 0;
    for _ in 0..200 {
        actions += sim.tick_now().actions;
    }
    assert_eq!(actions, 400, "two actions per half-second tick");
    assert_ne!(snapshot(&sim), before);
    let counts = sim.counts();
    let cap = 3 * (config.inventory_cap + 3);
    assert!(
        counts.servers <= cap && counts.volumes <= cap + 3,
        "bounded: {counts:?}"
    );
    let same = Sim::new(config);
    for _ in 0..200 {
        same.tick_now();
    }
    assert_eq!(
        same.counts(),
        counts,
        "the same seed gives the same history"
    );
}

fn snapshot(sim: &Sim) -> tidings_sim::ResourceCounts {
    sim.counts()
}

#[tokio::test]
async fn the_clock_runs_by_itself() {
    let config = SimConfig {
        activity_per_sec: 200.0,
        tick: Duration::from_millis(10),
        ..SimConfig::quiet()
    };
    let t = TestSim::with(config).await;
    let before = t.running.sim.counts();
    let deadline = Instant::now() + Duration::from_secs(3);
    while t.running.sim.counts() == before && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_ne!(t.running.sim.counts(), before);
    t.running.shutdown().await.unwrap();
}
