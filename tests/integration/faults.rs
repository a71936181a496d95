//! Faults, proven: a slow upstream is served from the last good values without waiting for it,
//! and a restarted server tells resuming clients to refetch instead of replaying ids it never
//! issued. (Down and garbage upstreams: worker.rs; a client that stops reading: stream.rs.)

use std::time::{Duration, Instant};

use serde_json::json;
use tidings_sim::{Fault, FaultKind, Service};
use tidings_tests::TestApp;

#[tokio::test]
async fn a_slow_upstream_is_served_from_cache_and_its_recovery_is_detected() {
    let app = TestApp::spawn_with(&["--upstream-timeout", "300ms"]).await;
    let before = app.query("volumes.getAll", None).await;
    let mut stream = app.subscribe(None, None).await;
    app.sim.inject(Fault::new(
        Service::Volume,
        FaultKind::Latency { ms: 3_000 },
    ));
    // Polls now time out; readiness says so.
    assert!(
        app.readiness_becomes(503).await,
        "time-outs mark the source down"
    );
    // Queries answer from the last good value, without waiting for the slow upstream.
    let started = Instant::now();
    let during = app.query("volumes.getAll", None).await;
    assert_eq!(during.data(), before.data());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "not held up by the upstream's 3 s"
    );
    app.sim.clear_faults();
    assert!(app.readiness_becomes(200).await, "recovery detected");
    // Unchanged data: no notice for the outage or the recovery.
    let storm = tokio::time::timeout(Duration::from_millis(500), stream.next()).await;
    match storm {
        Err(_) => {}
        Ok(Some(event)) => assert_eq!(event.event, "ping", "no notice: {event:?}"),
        Ok(None) => panic!("the stream stays open"),
    }
}

#[tokio::test]
async fn after_a_server_restart_resuming_clients_are_told_to_resync() {
    let first = TestApp::spawn_with(&["--coalesce-window", "0ms"]).await;
    let mut stream = first.subscribe(None, None).await;
    for ty in ["volumes", "compute", "images"] {
        first.admin_notify(ty).await;
    }
    let mut last = None;
    for _ in 0..3 {
        let event = stream
            .next_message(Duration::from_secs(5))
            .await
            .expect("a notice");
        last = event.id;
    }
    let last = last.expect("tracked");
    first.stop().await;
    // The stream ends without `return`: tRPC clients reconnect.
    let tail = tokio::time::timeout(Duration::from_secs(5), async {
        let mut events = Vec::new();
        while let Some(event) = stream.next().await {
            events.push(event.event);
        }
        events
    })
    .await
    .expect("the stream ends");
    assert!(!tail.iter().any(|e| e == "return"), "{tail:?}");

    // A new process knows none of the old ids: the client is told to refetch everything, once,
    // and then follows the new process's ids.
    let second = TestApp::spawn_with(&["--coalesce-window", "0ms"]).await;
    let mut resumed = second.subscribe(None, Some(&last)).await;
    let resync = resumed
        .next_message(Duration::from_secs(5))
        .await
        .expect("resync");
    assert_eq!(resync.json(), json!({ "type": "resync", "reason": "gap" }));
    second.admin_notify("networks").await;
    let next = resumed
        .next_message(Duration::from_secs(5))
        .await
        .expect("live notices follow");
    assert_eq!(next.json()["type"], "networks");
}

/// `/readyz`'s body.
async fn readiness(app: &TestApp) -> serde_json::Value {
    let reply = app.http.get(format!("{}/readyz", app.base)).send().await;
    reply.expect("readyz").json().await.expect("json")
}

#[tokio::test]
async fn a_service_refusing_tokens_is_told_from_an_outage_and_costs_no_login_per_poll() {
    let app = TestApp::spawn().await;
    app.sim.inject(Fault::new(
        Service::Compute,
        FaultKind::Status { status: 401 },
    ));
    assert!(
        app.readiness_becomes(503).await,
        "refusals mark sources down"
    );
    let ready = readiness(&app).await;
    assert_eq!(ready["causes"]["instances"], "unauthorized", "{ready}");
    assert!(ready["causes"].get("volumes").is_none(), "{ready}");
    // Polls every 100 ms go on, but the refused token was renewed once and the refusal now
    // backs off: no password login per poll.
    let logins = || app.sim.stats().password_checks("admin").accepted;
    let before = logins();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        logins() - before <= 1,
        "{} logins in 3 s of refused polls",
        logins() - before
    );
    // A user's call to the refusing service says what it is.
    let instance = app.query("compute.instances.getAll", None).await.data()[0]["id"].clone();
    let reply = app
        .mutate("compute.instances.stop", json!({ "id": instance }))
        .await;
    assert_eq!(reply.error_code(), "BAD_GATEWAY");
    assert!(
        reply
            .body
            .to_string()
            .contains("refuses this server's tokens"),
        "{}",
        reply.body
    );
    // An outage reads differently, and recovery is seen.
    app.sim.clear_faults();
    assert!(app.readiness_becomes(200).await, "accepted again");
    app.sim
        .inject(Fault::new(Service::Compute, FaultKind::Drop));
    assert!(app.readiness_becomes(503).await);
    let ready = readiness(&app).await;
    assert_eq!(ready["causes"]["instances"], "unreachable", "{ready}");
}
