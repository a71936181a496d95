//! Keystone: password auth, the catalog, token validation and expiry, projects and assignments.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tidings_sim::SimConfig;
use tidings_sim::seed::{self, ADMIN, ALICE};

use crate::helpers::{TestSim, assert_same_shape, fixture};

#[tokio::test]
async fn project_scoped_auth_returns_token_header_and_catalog() {
    let t = TestSim::start().await;
    let response = t.auth("admin", "admin", Some("admin")).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(response.headers().contains_key("x-subject-token"));
    let body: Value = response.json().await.unwrap();
    let token = &body["token"];
    let project_id = seed::project_id(t.running.sim.config().seed, "admin");
    assert_eq!(token["project"]["id"], project_id.as_str());
    assert_eq!(token["project"]["name"], "admin");
    assert!(
        token["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "admin")
    );
    assert!(token["expires_at"].as_str().unwrap() > token["issued_at"].as_str().unwrap());
    let base = t.running.base_url();
    let urls: Vec<(String, String)> = token["catalog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let endpoint = &s["endpoints"][0];
            assert_eq!(endpoint["interface"], "public");
            assert_eq!(endpoint["region"], "RegionOne");
            (
                s["type"].as_str().unwrap().to_owned(),
                endpoint["url"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (kind, url) in [
        ("identity", format!("{base}/identity/v3")),
        ("compute", format!("{base}/compute/v2.1")),
        ("volumev3", format!("{base}/volume/v3/{project_id}")),
        ("image", format!("{base}/image")),
        ("network", format!("{base}/network")),
    ] {
        assert!(
            urls.contains(&(kind.to_owned(), url.clone())),
            "{kind} {url} in {urls:?}"
        );
    }
    let sample = fixture("keystone/admin/auth-password-project-scoped-response.json");
    assert_same_shape(&body, &sample, "token");
}

#[tokio::test]
async fn sample_requests_by_id_and_unscoped_are_accepted() {
    let t = TestSim::start().await;
    let seed_value = t.running.sim.config().seed;
    let mut request = fixture("keystone/auth/requests/project-id-password.json");
    request["auth"]["identity"]["password"]["user"] =
        json!({ "id": seed::user_id(seed_value, "alice"), "password": "alice" });
    request["auth"]["scope"]["project"]["id"] = json!(seed::project_id(seed_value, "demo"));
    let url = format!("{}/auth/tokens", t.running.auth_url());
    let response = t.http.post(&url).json(&request).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);

    let mut unscoped = fixture("keystone/admin/auth-password-unscoped-request-with-domain.json");
    unscoped["auth"]["identity"]["password"]["user"]["password"] = json!("admin");
    let response = t.http.post(&url).json(&unscoped).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert!(body["token"].get("catalog").is_none());
    assert_same_shape(
        &body,
        &fixture("keystone/auth/responses/unscoped-password.json"),
        "unscoped",
    );
}

#[tokio::test]
async fn wrong_password_or_foreign_project_is_401_with_keystone_body() {
    let t = TestSim::start().await;
    for (user, password, project) in [
        ("admin", "nope", Some("admin")),
        ("alice", "alice", Some("ops")),
    ] {
        let response = t.auth(user, password, project).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], 401);
        assert_eq!(body["error"]["title"], "Unauthorized");
        assert!(body["error"]["message"].is_string());
    }
}

#[tokio::test]
async fn services_require_a_valid_unexpired_token() {
    let config = SimConfig {
        token_ttl: Duration::from_millis(300),
        ..SimConfig::quiet()
    };
    let t = TestSim::with(config).await;
    for path in [
        "/compute/v2.1/servers",
        "/volume/v3/volumes",
        "/image/v2/images",
        "/network/v2.0/networks",
    ] {
        let response = t.http.get(t.url(path)).send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{path} without token"
        );
        let response = t.send(Method::GET, "bogus", path, None).await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{path} with a bogus token"
        );
    }
    let token = t.token(&ALICE, "demo").await;
    t.get(&token, "/compute/v2.1/servers").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let response = t
        .send(Method::GET, &token, "/compute/v2.1/servers", None)
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn tokens_validate_and_revoke() {
    let t = TestSim::start().await;
    let admin = t.admin().await;
    let alice = t.token(&ALICE, "demo").await;
    let url = format!("{}/auth/tokens", t.running.auth_url());
    let check = |subject: String| {
        t.http
            .get(&url)
            .header("x-auth-token", &admin)
            .header("x-subject-token", subject)
            .send()
    };
    let response = check(alice.clone()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token"]["user"]["name"], "alice");
    let revoke = t
        .http
        .delete(&url)
        .header("x-auth-token", &admin)
        .header("x-subject-token", &alice);
    assert_eq!(
        revoke.send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(check(alice).await.unwrap().status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn projects_and_assignments_follow_roles() {
    let t = TestSim::start().await;
    let admin = t.admin().await;
    let alice = t.token(&ALICE, "demo").await;
    let all = t.get(&admin, "/identity/v3/projects").await;
    let names: Vec<&str> = all["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "demo", "ops"]);
    assert_same_shape(
        &all,
        &fixture("keystone/admin/user-projects-list-response.json"),
        "projects",
    );
    let response = t
        .send(Method::GET, &alice, "/identity/v3/projects", None)
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let mine = t.get(&alice, "/identity/v3/auth/projects").await;
    assert_eq!(mine["projects"].as_array().unwrap().len(), 1);
    assert_eq!(mine["projects"][0]["name"], "demo");
    assert_same_shape(
        &mine,
        &fixture("keystone/admin/get-available-project-scopes-response.json"),
        "auth/projects",
    );

    let admin_id = t.running.sim.user_id(ADMIN.name).unwrap();
    let admins = t
        .get(&admin, &format!("/identity/v3/users/{admin_id}/projects"))
        .await;
    assert_eq!(admins["projects"].as_array().unwrap().len(), 3);

    let grants = t.get(&alice, "/identity/v3/role_assignments").await;
    assert_eq!(grants["role_assignments"].as_array().unwrap().len(), 1);
    let every = t.get(&admin, "/identity/v3/role_assignments").await;
    assert_eq!(every["role_assignments"].as_array().unwrap().len(), 6);
    assert_eq!(
        every["role_assignments"][0]["scope"]["project"]["id"]
            .as_str()
            .map(str::len),
        Some(32)
    );
}
