//! tRPC rules over a real socket, with the real procedures.

use serde_json::json;
use tidings_tests::TestApp;

#[tokio::test]
async fn batch_of_real_queries_with_mixed_results_is_207() {
    let app = TestApp::spawn().await;
    let demo = app.project_id("demo");
    let input = json!({ "1": { "id": demo }, "2": { "id": "nope" } }).to_string();
    let res = app
        .http
        .get(format!(
            "{}/trpc/projects.getAll,projects.getById,projects.getById?batch=1",
            app.base
        ))
        .query(&[("input", input)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 207);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body[0]["result"]["data"].as_array().unwrap().len() >= 3);
    assert_eq!(body[1]["result"]["data"]["name"], "demo");
    assert_eq!(body[2]["error"]["data"]["code"], "NOT_FOUND");
    assert_eq!(body[2]["error"]["data"]["path"], "projects.getById");
}

#[tokio::test]
async fn at_least_twenty_queries_and_a_map_that_names_only_them() {
    let registry = tidings::routers::registry();
    let queries: Vec<_> = registry
        .procedures()
        .filter(|p| p.kind() == tidings_rpc::ProcedureKind::Query)
        .map(|p| p.path())
        .collect();
    assert!(queries.len() >= 20, "{queries:?}");
    let map = registry.update_query_map();
    for ty in tidings::updates::UpdateType::ALL {
        let paths = map
            .get(ty.as_str())
            .unwrap_or_else(|| panic!("no query listens to {}", ty.as_str()));
        for path in paths {
            assert!(queries.contains(path), "{path} is not a query");
        }
    }
}

#[tokio::test]
async fn every_query_answers_over_http() {
    let app = TestApp::spawn().await;
    let demo = app.project_id("demo");
    let instance = app.query("compute.instances.getAll", None).await.data()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let registry = tidings::routers::registry();
    for procedure in registry
        .procedures()
        .filter(|p| p.kind() == tidings_rpc::ProcedureKind::Query)
    {
        let path = procedure.path();
        let input = match path {
            "projects.getById" => Some(json!({ "id": demo })),
            "projects.getQuotas" => Some(json!({ "projectId": demo })),
            "compute.instances.getById" | "compute.instances.getAttachments" => {
                Some(json!({ "id": instance }))
            }
            p if p.ends_with(".getById") => None,
            _ => Some(json!({})),
        };
        let Some(input) = input else { continue };
        let reply = app.query(path, Some(input)).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    }
}

#[tokio::test]
async fn bad_input_names_the_field_and_method_rules_hold() {
    let app = TestApp::spawn().await;
    let reply = app
        .mutate(
            "volumes.create",
            json!({ "projectId": "x", "name": "v", "sizeGb": "big" }),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_code(), "BAD_REQUEST");
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sizeGb"),
        "{}",
        reply.body
    );
    let res = app
        .http
        .get(format!("{}/trpc/volumes.create", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST");
    let reply = app.query("no.such.procedure", None).await;
    assert_eq!(reply.status, 404);
}

#[tokio::test]
async fn oversized_body_is_413_in_the_envelope() {
    let app = TestApp::spawn_with(&["--max-body-bytes", "4096"]).await;
    let name = "x".repeat(10_000);
    let reply = app
        .mutate(
            "volumes.create",
            json!({ "projectId": "p", "name": name, "sizeGb": 1 }),
        )
        .await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.error_code(), "PAYLOAD_TOO_LARGE");
}

#[tokio::test]
async fn admin_notify_requires_the_token() {
    let app = TestApp::spawn().await;
    let reply = app
        .mutate("admin.notify", json!({ "type": "images" }))
        .await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.error_code(), "UNAUTHORIZED");
    let wrong = app
        .http
        .post(format!("{}/trpc/admin.notify", app.base))
        .bearer_auth("wrong")
        .json(&json!({ "type": "images" }))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(app.admin_notify("images").await.status, 200);
}
