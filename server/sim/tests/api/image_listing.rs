//! Glance's listing rules, as the real Glance applies them (glance/db/sqlalchemy/api.py,
//! `_image_get_all`): community images are left out of the default listing except the
//! caller's own, `visibility=all` lists them all, and hidden images (`os_hidden`) are listed
//! only with `os_hidden=true`, which lists only them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tidings_sim::seed::{ALICE, BOB};

use crate::helpers::TestSim;

const PATCH_TYPE: &str = "application/openstack-images-v2.1-json-patch";

async fn create(sim: &TestSim, token: &str, name: &str, visibility: &str) -> String {
    let body = json!({ "name": name, "disk_format": "raw", "container_format": "bare",
        "visibility": visibility });
    let created = sim.post(token, "/image/v2/images", body).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn names(sim: &TestSim, token: &str, query: &str) -> Vec<String> {
    let listed = sim
        .get(token, &format!("/image/v2/images?limit=1000{query}"))
        .await;
    listed["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn community_and_hidden_images_are_listed_as_glance_lists_them() {
    let sim = TestSim::start().await;
    let alice = sim.token(&ALICE, "demo").await;
    let bob = sim.token(&BOB, "ops").await;
    let admin = sim.admin().await;
    create(&sim, &admin, "community-of-admin", "community").await;
    create(&sim, &alice, "community-of-demo", "community").await;
    let hidden = create(&sim, &alice, "hidden-of-demo", "private").await;
    let patched = sim
        .http
        .patch(sim.url(&format!("/image/v2/images/{hidden}")))
        .header("x-auth-token", &alice)
        .header("content-type", PATCH_TYPE)
        .body(r#"[{"op": "replace", "path": "/os_hidden", "value": true}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);

    // By default: one's own community images only, no hidden one.
    let listed = names(&sim, &bob, "").await;
    assert!(
        !listed.iter().any(|n| n.starts_with("community-")),
        "{listed:?}"
    );
    let listed = names(&sim, &alice, "").await;
    assert!(listed.contains(&"community-of-demo".to_owned()));
    assert!(!listed.contains(&"community-of-admin".to_owned()));
    assert!(!listed.contains(&"hidden-of-demo".to_owned()));

    // visibility=all: every community image; one visibility: only those.
    let listed = names(&sim, &bob, "&visibility=all").await;
    assert!(listed.contains(&"community-of-demo".to_owned()));
    assert!(listed.contains(&"community-of-admin".to_owned()));
    assert!(listed.contains(&"cirros-0.6.2-x86_64-disk".to_owned()));
    let listed = names(&sim, &bob, "&visibility=community").await;
    assert_eq!(listed.len(), 2, "{listed:?}");

    // os_hidden=true: the hidden ones alone, to those who may see them.
    let listed = names(&sim, &alice, "&visibility=all&os_hidden=true").await;
    assert_eq!(listed, ["hidden-of-demo"]);
    assert!(names(&sim, &bob, "&os_hidden=true").await.is_empty());
    let shown = sim.get(&alice, &format!("/image/v2/images/{hidden}")).await;
    assert_eq!(
        shown["os_hidden"], true,
        "a hidden image is still shown by id"
    );

    for (query, message) in [
        (
            "?os_hidden=maybe",
            "Invalid value 'maybe' for 'os_hidden' filter.",
        ),
        ("?visibility=everyone", "Invalid visibility value: everyone"),
    ] {
        let refused = sim
            .send(
                Method::GET,
                &alice,
                &format!("/image/v2/images{query}"),
                None,
            )
            .await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert!(refused.text().await.unwrap().contains(message));
    }
}
