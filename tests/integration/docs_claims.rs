//! What docs/api.md claims, checked against a real server: the lists said to take a
//! `{projectId}` filter narrow to that project, and refuse one the caller has no role on; the
//! subscription limit a WebSocket client meets is its session's.

use std::collections::HashMap;

use serde_json::{Value, json};
use tidings_tests::{Caller, TestApp};

/// The `id`s of a list reply's items.
fn ids(items: &Value) -> Vec<String> {
    let mut ids: Vec<String> = items
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {items}"))
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// The project of every volume, as the administrator sees them.
async fn volume_projects(app: &TestApp) -> HashMap<String, String> {
    let volumes = app.query("volumes.getAll", None).await;
    volumes
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let project = v["projectId"].as_str().unwrap_or_default().to_owned();
            (v["id"].as_str().unwrap().to_owned(), project)
        })
        .collect()
}

/// The projects of the volumes `backups` were made of.
fn backup_projects(backups: &Value, volumes: &HashMap<String, String>) -> Vec<String> {
    let mut projects: Vec<String> = backups
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {backups}"))
        .iter()
        .map(|b| volumes[b["volumeId"].as_str().unwrap()].clone())
        .collect();
    projects.sort();
    projects.dedup();
    projects
}

/// `path` with `{projectId: project}` as `caller`.
async fn in_project(caller: &Caller, path: &str, project: &str) -> tidings_tests::Reply {
    caller
        .query(path, Some(json!({ "projectId": project })))
        .await
}

#[tokio::test]
async fn projects_get_all_takes_the_project_filter() {
    let app = TestApp::spawn().await;
    let (demo, ops) = (app.project_id("demo"), app.project_id("ops"));
    let alice = app.user("alice").await;

    let own = in_project(&alice, "projects.getAll", &demo).await;
    assert_eq!(ids(own.data()), std::slice::from_ref(&demo));
    let foreign = in_project(&alice, "projects.getAll", &ops).await;
    assert_eq!(foreign.error_code(), "FORBIDDEN", "{}", foreign.body);
    assert_eq!(foreign.status, 403);

    let admin = in_project(&app.admin(), "projects.getAll", &ops).await;
    assert_eq!(ids(admin.data()), std::slice::from_ref(&ops));
    let unfiltered = app.query("projects.getAll", None).await;
    assert!(ids(unfiltered.data()).len() > 1, "{}", unfiltered.body);
}

#[tokio::test]
async fn volume_backups_take_the_project_filter_by_their_volumes_project() {
    let app = TestApp::spawn().await;
    let (demo, ops) = (app.project_id("demo"), app.project_id("ops"));
    let alice = app.user("alice").await;
    let volumes = volume_projects(&app).await;

    let everything = app.query("volumes.backups.getAll", None).await;
    let all = backup_projects(everything.data(), &volumes);
    assert!(
        all.contains(&demo) && all.contains(&ops),
        "the seed has backups in demo and ops: {all:?}"
    );
    for project in [&demo, &ops] {
        let narrowed = in_project(&app.admin(), "volumes.backups.getAll", project).await;
        assert_eq!(
            backup_projects(narrowed.data(), &volumes),
            std::slice::from_ref(project)
        );
    }

    let own = in_project(&alice, "volumes.backups.getAll", &demo).await;
    assert_eq!(
        backup_projects(own.data(), &volumes),
        std::slice::from_ref(&demo)
    );
    let foreign = in_project(&alice, "volumes.backups.getAll", &ops).await;
    assert_eq!(foreign.error_code(), "FORBIDDEN", "{}", foreign.body);
}

#[tokio::test]
async fn lists_of_no_project_take_no_filter_and_a_project_changes_nothing() {
    let app = TestApp::spawn().await;
    let ops = app.project_id("ops");
    let alice = app.user("alice").await;
    for path in [
        "compute.flavors.getAll",
        "compute.availabilityZones.getAll",
        "volumes.types.getAll",
        "compute.keypairs.getAll",
    ] {
        let plain = alice.query(path, None).await;
        let named = in_project(&alice, path, &ops).await;
        assert_eq!(named.data(), plain.data(), "{path}");
    }
}

/// The `n`th subscription on one tRPC WebSocket: its first answer (`started`, or an error).
async fn trpc_ws_subscriptions(caller: &Caller, n: u64) -> Vec<Value> {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let mut socket = caller.websocket("/trpc").await;
    for id in 1..=n {
        let subscribe = json!({ "id": id, "method": "subscription",
            "params": { "path": "updates.subscribe", "input": null } });
        socket
            .send(Message::text(subscribe.to_string()))
            .await
            .expect("send");
    }
    let mut first: HashMap<u64, Value> = HashMap::new();
    while first.len() < n as usize {
        let message = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
            .await
            .expect("an answer for every subscription")
            .expect("open")
            .expect("frame");
        let Message::Text(text) = message else {
            continue;
        };
        let frame: Value = serde_json::from_str(&text).expect("JSON");
        if let Some(id) = frame["id"].as_u64() {
            first.entry(id).or_insert(frame);
        }
    }
    (1..=n).map(|id| first.remove(&id).unwrap()).collect()
}

#[tokio::test]
async fn the_subscription_limit_a_websocket_client_meets_is_the_sessions() {
    // docs/api.md: a session holds at most --max-streams-per-session (32) update streams over
    // every transport, so the 33rd on one socket is refused whatever the socket's own cap.
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let answers = trpc_ws_subscriptions(&bob, 33).await;
    let refused: Vec<&Value> = answers
        .iter()
        .filter(|a| a.get("error").is_some())
        .collect();
    assert_eq!(refused.len(), 1, "{answers:?}");
    assert_eq!(refused[0]["error"]["data"]["code"], "TOO_MANY_REQUESTS");

    // JSON-RPC over WebSocket, for another user: the same 32.
    use jsonrpsee::core::client::SubscriptionClientT;
    let alice = app.user("alice").await;
    let client = alice.jsonrpc_ws().await;
    let mut open = Vec::new();
    let mut refusal = None;
    for _ in 0..33 {
        let subscribed: Result<jsonrpsee::core::client::Subscription<Value>, _> = client
            .subscribe(
                "updates.subscribe",
                jsonrpsee::rpc_params![],
                "updates.unsubscribe",
            )
            .await;
        match subscribed {
            Ok(subscription) => open.push(subscription),
            Err(error) => refusal = Some(error.to_string()),
        }
    }
    assert_eq!(open.len(), 32);
    let refusal = refusal.expect("the 33rd refused");
    assert!(
        refusal.contains("TOO_MANY_REQUESTS") || refusal.contains("streams"),
        "{refusal}"
    );
}
