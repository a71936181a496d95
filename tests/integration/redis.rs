//! Two instances on one Redis bus and one simulator: notices cross instances with the same ids,
//! a client resumes on the other instance, one instance polls upstream, and a Redis restart
//! costs a resync, not a crash.

use std::time::{Duration, Instant};

use serde_json::json;
use tidings_sim::RunningSim;
use tidings_tests::{RedisServer, SseReader, quiet_sim, redis_instance as instance};

/// The next notice's (id, JSON), within `timeout`.
async fn next(stream: &mut SseReader, timeout: Duration) -> (String, serde_json::Value) {
    let event = stream.next_message(timeout).await.expect("a notice");
    (event.id.clone().expect("tracked"), event.json())
}

/// Upstream polls of the instance list so far.
fn instance_polls(sim: &RunningSim) -> u64 {
    sim.sim.stats().path("GET /compute/v2.1/servers/detail")
}

#[tokio::test]
async fn a_mutation_on_one_instance_reaches_subscribers_of_the_other_with_fresh_data() {
    let redis = RedisServer::start().await;
    let sim = quiet_sim().await;
    let a = instance(&sim, &redis).await;
    let b = instance(&sim, &redis).await;
    let demo = a.project_id("demo");
    let mut on_a = a.subscribe(None, None).await;
    let mut on_b = b.subscribe(None, None).await;

    let created = a
        .mutate(
            "volumes.create",
            json!({ "projectId": demo, "name": "shared", "sizeGb": 1 }),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let (id_b, notice) = next(&mut on_b, Duration::from_secs(2)).await;
    assert_eq!(notice, json!({ "type": "volumes", "scope": demo }));
    // B installed A's snapshot before delivering the notice: its refetch sees the volume.
    let listed = b
        .query("volumes.getAll", Some(json!({ "projectId": demo })))
        .await;
    let id = created.data()["id"].clone();
    assert!(
        listed
            .data()
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["id"] == id),
        "B serves the new volume: {}",
        listed.body
    );
    let (id_a, _) = next(&mut on_a, Duration::from_secs(2)).await;
    assert_eq!(id_a, id_b, "one global id per notice");

    // And the other way round (after the volume's progress notices, if any).
    b.admin_notify("images").await;
    let deadline = Instant::now() + Duration::from_secs(2);
    let (from_b, _) = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (id, notice) = next(&mut on_a, left).await;
        if notice == json!({ "type": "images" }) {
            break (id, notice);
        }
    };
    assert!(from_b.parse::<u64>().unwrap() > id_a.parse::<u64>().unwrap());
}

#[tokio::test]
async fn a_client_resumes_on_the_other_instance_without_loss_or_duplicates() {
    let redis = RedisServer::start().await;
    let sim = quiet_sim().await;
    let a = instance(&sim, &redis).await;
    let b = instance(&sim, &redis).await;
    let mut first = a.subscribe(None, None).await;
    a.admin_notify("projects").await;
    let (last, _) = next(&mut first, Duration::from_secs(2)).await;
    drop(first);
    for ty in ["volumes", "images", "networks"] {
        a.admin_notify(ty).await;
    }
    // The browser reconnects through the load balancer and lands on B.
    let mut resumed = b.subscribe(None, Some(&last)).await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (id, notice) = next(&mut resumed, Duration::from_secs(2)).await;
        seen.push((id.parse::<u64>().unwrap(), notice["type"].clone()));
    }
    let last: u64 = last.parse().unwrap();
    assert_eq!(
        seen,
        [
            (last + 1, json!("volumes")),
            (last + 2, json!("images")),
            (last + 3, json!("networks")),
        ]
    );
    // Then live, with nothing replayed twice.
    a.admin_notify("compute").await;
    let (id, notice) = next(&mut resumed, Duration::from_secs(2)).await;
    assert_eq!(
        (id.parse::<u64>().unwrap(), notice["type"].clone()),
        (last + 4, json!("compute"))
    );
}

#[tokio::test]
async fn one_instance_polls_upstream_and_the_other_takes_over_when_it_dies() {
    let redis = RedisServer::start().await;
    let sim = quiet_sim().await;
    let a = instance(&sim, &redis).await;
    // A holds every lease before B starts; B becomes ready from A's snapshots.
    let b = instance(&sim, &redis).await;
    let poll_interval = Duration::from_millis(100);
    let window = Duration::from_secs(1);

    let before = instance_polls(&sim);
    tokio::time::sleep(window).await;
    let polls = instance_polls(&sim) - before;
    // One poller every ~100 ms (±10 % jitter) makes about 10; two would make about 20.
    assert!(
        (5..=14).contains(&polls),
        "one poller's worth of polls, got {polls}"
    );
    // B serves data it never fetched itself.
    let instances = b.query("compute.instances.getAll", None).await;
    assert_eq!(instances.status, 200, "{}", instances.body);

    a.kill();
    let killed = Instant::now();
    // A's last polls may still land just after the kill.
    tokio::time::sleep(poll_interval * 3).await;
    let stalled = instance_polls(&sim);
    let resumed = loop {
        if instance_polls(&sim) > stalled + 1 {
            break killed.elapsed();
        }
        assert!(
            killed.elapsed() < Duration::from_secs(3),
            "B never took over the polling"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // The lease runs out at most a TTL after the kill; B tries every third of it.
    assert!(
        resumed < Duration::from_millis(1000 + 333 + 300),
        "took over after {resumed:?}"
    );
    let before = instance_polls(&sim);
    tokio::time::sleep(window).await;
    let polls = instance_polls(&sim) - before;
    assert!((5..=14).contains(&polls), "B alone polls, got {polls}");

    // The new leader notices upstream changes and announces them as before.
    let mut stream = b.subscribe(None, None).await;
    let action = sim.sim.act_now();
    let notice = stream
        .next_message(Duration::from_secs(3))
        .await
        .unwrap_or_else(|| panic!("no notice after {action}"));
    assert_ne!(notice.json()["type"], "resync");
}

#[tokio::test]
async fn a_redis_restart_keeps_queries_answering_and_resyncs_subscribers() {
    let mut redis = RedisServer::start().await;
    let sim = quiet_sim().await;
    let a = instance(&sim, &redis).await;
    let b = instance(&sim, &redis).await;
    let mut on_b = b.subscribe(None, None).await;
    a.admin_notify("images").await;
    let (before, _) = next(&mut on_b, Duration::from_secs(2)).await;

    redis.stop();
    for app in [&a, &b] {
        let projects = app.query("projects.getAll", None).await;
        assert_eq!(projects.status, 200, "last good values: {}", projects.body);
        assert!(!projects.data().as_array().unwrap().is_empty());
    }
    // A notice produced while Redis is away waits for it.
    a.admin_notify("volumes").await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    redis.restart().await;
    // Redis came back empty: the log's continuity is lost, so B's subscriber is resynced.
    let deadline = Instant::now() + Duration::from_secs(10);
    let resync = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (id, notice) = next(&mut on_b, left).await;
        if notice["type"] == "resync" {
            break (id, notice);
        }
    };
    assert_eq!(resync.1, json!({ "type": "resync", "reason": "gap" }));
    // Ids never go back below ones clients hold.
    let resync_id: u64 = resync.0.parse().unwrap();
    assert!(
        resync_id >= before.parse().unwrap(),
        "{resync_id} < {before}"
    );

    // Delivery resumes, across instances.
    a.admin_notify("networks").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (id, notice) = next(&mut on_b, left).await;
        if notice == json!({ "type": "networks" }) {
            assert!(id.parse::<u64>().unwrap() > resync_id);
            break;
        }
    }
    for app in [&a, &b] {
        let ready = app
            .http
            .get(format!("{}/readyz", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status(), 200);
    }
}
