//! Mutations change the simulated cloud and announce it.

use std::time::Duration;

use serde_json::json;
use tidings_tests::TestApp;

#[tokio::test]
async fn volume_lifecycle_with_attach_and_detach() {
    let app = TestApp::spawn().await;
    let demo = app.project_id("demo");
    let mut stream = app
        .subscribe(Some(json!({ "types": ["volumes", "compute"] })), None)
        .await;
    let volume = app
        .mutate(
            "volumes.create",
            json!({ "projectId": demo, "name": "data", "sizeGb": 2 }),
        )
        .await;
    let volume = volume.data()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        stream
            .next_message(Duration::from_secs(1))
            .await
            .unwrap()
            .json()["type"],
        "volumes"
    );
    app.sim.tick_now();
    app.sim.tick_now();
    let instance = active_instance(&app, &demo).await;
    let attach = app
        .mutate(
            "volumes.attach",
            json!({ "volumeId": volume, "instanceId": instance }),
        )
        .await;
    assert_eq!(attach.status, 200, "{}", attach.body);
    for _ in 0..4 {
        app.sim.tick_now();
    }
    let status = wait_for_status(&app, &volume, "in-use").await;
    assert_eq!(status, "in-use");
    let detach = app
        .mutate(
            "volumes.detach",
            json!({ "volumeId": volume, "instanceId": instance }),
        )
        .await;
    assert_eq!(detach.status, 200, "{}", detach.body);
    for _ in 0..4 {
        app.sim.tick_now();
    }
    assert_eq!(
        wait_for_status(&app, &volume, "available").await,
        "available"
    );
    let delete = app.mutate("volumes.delete", json!({ "id": volume })).await;
    assert_eq!(delete.status, 200, "{}", delete.body);
}

async fn wait_for_status(app: &TestApp, volume: &str, wanted: &str) -> String {
    let mut status = String::new();
    for _ in 0..40 {
        let reply = app
            .query("volumes.getById", Some(json!({ "id": volume })))
            .await;
        status = reply.data()["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if status == wanted {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    status
}

#[tokio::test]
async fn conflicting_and_missing_targets_are_clear_errors() {
    let app = TestApp::spawn().await;
    let reply = app
        .mutate(
            "compute.instances.start",
            json!({ "id": "0d5c7f0e-3c1a-4e59-9d0b-5e8f6a7b8c9d" }),
        )
        .await;
    assert_eq!(reply.status, 404, "{}", reply.body);
    assert_eq!(reply.error_code(), "NOT_FOUND");
    let demo = app.project_id("demo");
    let active = active_instance(&app, &demo).await;
    let reply = app
        .mutate("compute.instances.start", json!({ "id": active }))
        .await;
    assert_eq!(
        reply.status, 409,
        "starting a running instance: {}",
        reply.body
    );
    assert_eq!(reply.error_code(), "CONFLICT");
}

#[tokio::test]
async fn network_create_and_delete_announce_networks() {
    let app = TestApp::spawn().await;
    let ops = app.project_id("ops");
    let mut stream = app
        .subscribe(Some(json!({ "types": ["networks"] })), None)
        .await;
    let created = app
        .mutate(
            "networks.create",
            json!({ "projectId": ops, "name": "backend" }),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(
        stream
            .next_message(Duration::from_secs(1))
            .await
            .unwrap()
            .json(),
        json!({ "type": "networks", "scope": ops })
    );
    let id = created.data()["id"].clone();
    let deleted = app.mutate("networks.delete", json!({ "id": id })).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(
        stream
            .next_message(Duration::from_secs(1))
            .await
            .unwrap()
            .json()["type"],
        "networks"
    );
    let got = app
        .query("networks.getById", Some(json!({ "id": id })))
        .await;
    assert_eq!(got.status, 404);
}

/// The id of an ACTIVE instance in `project`.
async fn active_instance(app: &TestApp, project: &str) -> String {
    let listed = app
        .query(
            "compute.instances.getAll",
            Some(json!({ "projectId": project })),
        )
        .await;
    let active = listed
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["status"] == "ACTIVE");
    active.expect("an active instance")["id"]
        .as_str()
        .unwrap()
        .to_owned()
}
