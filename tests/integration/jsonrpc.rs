//! JSON-RPC 2.0 at `/rpc` over the real app: a mutation called over JSON-RPC reaches a
//! JSON-RPC WebSocket subscriber as a notice.

use std::time::Duration;

use jsonrpsee::core::client::{ClientT, Error, Subscription, SubscriptionClientT};
use jsonrpsee::rpc_params;
use serde_json::{Value, json};
use tidings_tests::TestApp;

#[tokio::test]
async fn a_json_rpc_mutation_notifies_a_json_rpc_subscriber() {
    let app = TestApp::spawn().await;
    let demo = app.project_id("demo");
    let ws = app.admin().jsonrpc_ws().await;
    let mut notices: Subscription<Value> = ws
        .subscribe(
            "updates.subscribe",
            rpc_params![json!({ "types": ["volumes"] })],
            "updates.unsubscribe",
        )
        .await
        .expect("subscribe");
    let http = app.admin().jsonrpc_http();
    let volume: Value = http
        .request(
            "volumes.create",
            rpc_params![json!({ "projectId": demo, "name": "data", "sizeGb": 1 })],
        )
        .await
        .expect("volumes.create");
    assert_eq!(volume["name"], "data");
    let notice = tokio::time::timeout(Duration::from_secs(5), notices.next())
        .await
        .expect("a notice in time")
        .expect("stream open")
        .expect("a notice");
    assert_eq!(notice["data"], json!({ "type": "volumes", "scope": demo }));
    assert!(notice["id"].is_string(), "{notice}");
    notices.unsubscribe().await.expect("unsubscribe");
}

#[tokio::test]
async fn queries_errors_and_discovery() {
    let app = TestApp::spawn().await;
    let http = app.admin().jsonrpc_http();
    let projects: Vec<Value> = http
        .request("projects.getAll", rpc_params![])
        .await
        .expect("projects.getAll");
    assert!(projects.iter().any(|p| p["name"] == "demo"));
    let error = http
        .request::<Value, _>(
            "volumes.create",
            rpc_params![json!({ "projectId": "x", "name": "d", "sizeGb": "big" })],
        )
        .await
        .unwrap_err();
    let Error::Call(error) = error else {
        panic!("{error:?}")
    };
    assert_eq!(error.code(), -32602);
    assert!(error.message().contains("sizeGb"), "{}", error.message());
    let doc: Value = http
        .request("rpc.discover", rpc_params![])
        .await
        .expect("rpc.discover");
    let create = doc["methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "volumes.create")
        .expect("volumes.create described");
    let input = &create["params"][0]["schema"]["$ref"];
    let name = input.as_str().unwrap().rsplit('/').next().unwrap();
    let schema = &doc["components"]["schemas"][name];
    assert!(schema["properties"]["sizeGb"].is_object(), "{schema}");
    assert!(schema["properties"]["projectId"].is_object(), "{schema}");
    app.stop().await;
}
