//! The BackgroundWorker against the real simulator: change detection by hash, and the last good
//! value served through injected faults.

use std::time::Duration;

use serde_json::json;
use tidings_sim::{Fault, FaultKind, Service};
use tidings_tests::TestApp;

#[tokio::test]
async fn quiet_upstream_means_no_notices_and_a_change_means_one() {
    let app = TestApp::spawn().await;
    let mut stream = app.subscribe(None, None).await;
    // Ten poll intervals of an unchanged cloud: nothing to say.
    let quiet = tokio::time::timeout(
        Duration::from_secs(1),
        stream.next_message(Duration::from_secs(2)),
    )
    .await;
    assert!(quiet.is_err(), "no notice without a change: {quiet:?}");
    // Another user acts upstream; the worker notices by itself.
    let action = app.sim.act_now();
    let notice = stream
        .next_message(Duration::from_secs(3))
        .await
        .unwrap_or_else(|| panic!("after {action}"));
    let ty = notice.json()["type"].as_str().unwrap().to_owned();
    assert!(
        ["compute", "volumes", "images", "networks", "progress"].contains(&ty.as_str()),
        "{action}: {ty}"
    );
}

#[tokio::test]
async fn build_progress_moves_through_compute_and_progress_notices() {
    let app = TestApp::spawn().await;
    let demo = app.project_id("demo");
    let flavor = app.query("compute.flavors.getAll", None).await.data()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let image = app.query("images.getAll", None).await.data()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut stream = app
        .subscribe(Some(json!({ "types": ["progress"] })), None)
        .await;
    let created = app
        .mutate(
            "compute.instances.create",
            json!({ "projectId": demo, "name": "web-1", "flavorId": flavor, "imageId": image }),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let id = created.data()["id"].as_str().unwrap().to_owned();
    let notice = stream
        .next_message(Duration::from_secs(3))
        .await
        .expect("a progress notice");
    assert_eq!(notice.json()["scope"], demo);
    let active = app
        .query("progress.getActive", Some(json!({ "projectId": demo })))
        .await;
    assert!(
        active
            .data()
            .as_array()
            .unwrap()
            .iter()
            .any(|op| op["resourceId"] == id && op["kind"] == "instance.build")
    );
    for _ in 0..40 {
        app.sim.tick_now();
    }
    let mut status = String::new();
    for _ in 0..50 {
        let instance = app
            .query("compute.instances.getById", Some(json!({ "id": id })))
            .await;
        status = instance.data()["status"].as_str().unwrap().to_owned();
        if status == "ACTIVE" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "ACTIVE");
}

#[tokio::test]
async fn a_failing_upstream_keeps_serving_the_last_good_value_and_recovers_quietly() {
    let app = TestApp::spawn().await;
    let before = app.query("compute.instances.getAll", None).await;
    let mut stream = app.subscribe(None, None).await;
    for kind in [
        FaultKind::Status { status: 503 },
        FaultKind::Garbage,
        FaultKind::Drop,
    ] {
        app.sim.inject(Fault::new(Service::Compute, kind.clone()));
        assert!(
            app.readiness_becomes(503).await,
            "{kind:?}: readiness reports the source down"
        );
        let during = app.query("compute.instances.getAll", None).await;
        assert_eq!(during.status, 200, "{kind:?}: {}", during.body);
        assert_eq!(
            during.data(),
            before.data(),
            "{kind:?}: the last good value"
        );
        app.sim.clear_faults();
        assert!(
            app.readiness_becomes(200).await,
            "{kind:?}: recovery detected"
        );
    }
    let storm = tokio::time::timeout(
        Duration::from_millis(500),
        stream.next_message(Duration::from_secs(1)),
    )
    .await;
    assert!(
        storm.is_err(),
        "faults and recovery with unchanged data cause no notice: {storm:?}"
    );
}

#[tokio::test]
async fn live_reads_report_upstream_failures_in_the_envelope() {
    let app = TestApp::spawn().await;
    let demo = app.project_id("demo");
    app.sim
        .inject(Fault::new(Service::Compute, FaultKind::Garbage));
    let reply = app
        .query("projects.getQuotas", Some(json!({ "projectId": demo })))
        .await;
    assert_eq!(reply.status, 502);
    assert_eq!(reply.error_code(), "BAD_GATEWAY");
    app.sim.clear_faults();
    app.sim.inject(Fault::new(
        Service::Compute,
        FaultKind::Status { status: 503 },
    ));
    let reply = app
        .query("projects.getQuotas", Some(json!({ "projectId": demo })))
        .await;
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(reply.error_code(), "SERVICE_UNAVAILABLE");
    assert!(
        !reply.body.to_string().contains("127.0.0.1"),
        "no internals leak: {}",
        reply.body
    );
}
