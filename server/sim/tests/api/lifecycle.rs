//! Resources change state over clock ticks: builds, power actions, attachments, images.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tidings_sim::seed::{ALICE, BOB};

use crate::helpers::TestSim;

async fn server(t: &TestSim, token: &str, id: &str) -> Value {
    t.get(token, &format!("/compute/v2.1/servers/{id}")).await["server"].clone()
}

#[tokio::test]
async fn server_builds_with_progress_then_goes_active_and_obeys_actions() {
    let t = TestSim::start().await;
    let token = t.token(&ALICE, "demo").await;
    let body = json!({ "server": { "name": "fresh", "flavorRef": "1", "imageRef": "" } });
    let response = t.post(&token, "/compute/v2.1/servers", body).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let id = response.json::<Value>().await.unwrap()["server"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut seen = Vec::new();
    for _ in 0..10 {
        let s = server(&t, &token, &id).await;
        seen.push((
            s["status"].as_str().unwrap().to_owned(),
            s["progress"].as_u64().unwrap(),
        ));
        if s["status"] == "ACTIVE" {
            assert_eq!(s["OS-EXT-STS:power_state"], 1);
            assert_eq!(s["OS-EXT-STS:vm_state"], "active");
            assert!(s["OS-EXT-STS:task_state"].is_null());
            break;
        }
        t.tick(1);
    }
    assert_eq!(seen[0], ("BUILD".to_owned(), 0));
    assert!(
        seen.len() > 3 && seen.windows(2).all(|w| w[0].1 < w[1].1),
        "progress rises: {seen:?}"
    );
    assert_eq!(seen.last().unwrap().0, "ACTIVE");

    let action = format!("/compute/v2.1/servers/{id}/action");
    let started = t.post(&token, &action, json!({ "os-start": null })).await;
    assert_eq!(started.status(), StatusCode::CONFLICT);
    assert_eq!(
        started.json::<Value>().await.unwrap()["conflictingRequest"]["code"],
        409
    );
    assert_eq!(
        t.post(&token, &action, json!({ "os-stop": null }))
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(
        server(&t, &token, &id).await["OS-EXT-STS:task_state"],
        "powering-off"
    );
    t.tick(1);
    let s = server(&t, &token, &id).await;
    assert_eq!(
        (s["status"].as_str(), s["OS-EXT-STS:power_state"].as_u64()),
        (Some("SHUTOFF"), Some(4))
    );
    let hard = json!({ "reboot": { "type": "HARD" } });
    assert_eq!(
        t.post(&token, &action, hard).await.status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(server(&t, &token, &id).await["status"], "HARD_REBOOT");
    t.tick(1);
    assert_eq!(server(&t, &token, &id).await["status"], "ACTIVE");

    assert_eq!(
        t.delete(&token, &format!("/compute/v2.1/servers/{id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    t.tick(1);
    let gone = t
        .send(
            Method::GET,
            &token,
            &format!("/compute/v2.1/servers/{id}"),
            None,
        )
        .await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        gone.json::<Value>().await.unwrap()["itemNotFound"]["code"],
        404
    );
}

#[tokio::test]
async fn visibility_all_tenants_project_paths_and_microversions() {
    let t = TestSim::start().await;
    let admin = t.admin().await;
    let alice = t.token(&ALICE, "demo").await;
    let demo = t.running.sim.project_id("demo").unwrap();
    let count = |v: &Value| v["servers"].as_array().unwrap().len();
    assert_eq!(
        count(&t.get(&alice, "/compute/v2.1/servers/detail").await),
        3
    );
    assert_eq!(
        count(
            &t.get(&alice, "/compute/v2.1/servers/detail?all_tenants=1")
                .await
        ),
        3
    );
    assert_eq!(
        count(&t.get(&admin, "/compute/v2.1/servers/detail").await),
        3
    );
    assert_eq!(
        count(
            &t.get(&admin, "/compute/v2.1/servers/detail?all_tenants=1")
                .await
        ),
        9
    );
    assert_eq!(
        count(
            &t.get(&alice, &format!("/compute/v2.1/{demo}/servers/detail"))
                .await
        ),
        3
    );
    let paged = t
        .get(&admin, "/compute/v2.1/servers?all_tenants=1&limit=4")
        .await;
    assert_eq!(count(&paged), 4);
    assert!(
        paged["servers_links"][0]["href"]
            .as_str()
            .unwrap()
            .contains("marker=")
    );

    let volumes = t
        .get(&alice, &format!("/volume/v3/{demo}/volumes/detail"))
        .await;
    assert_eq!(volumes["volumes"].as_array().unwrap().len(), 2);
    let all = t
        .get(&admin, "/volume/v3/volumes/detail?all_tenants=1")
        .await;
    assert_eq!(all["volumes"].as_array().unwrap().len(), 6);

    let networks = t.get(&alice, "/network/v2.0/networks").await;
    let names: Vec<&str> = networks["networks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["public", "demo-net"]);

    let response = t
        .http
        .get(t.url("/compute/v2.1/servers"))
        .header("x-auth-token", &alice)
        .header("openstack-api-version", "compute 2.47")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["openstack-api-version"], "compute 2.47");
    assert_eq!(response.headers()["x-openstack-nova-api-version"], "2.47");
    assert!(
        response.headers()["vary"]
            .to_str()
            .unwrap()
            .contains("OpenStack-API-Version")
    );
    let response = t
        .http
        .get(t.url("/compute/v2.1/servers"))
        .header("x-auth-token", &alice)
        .header("x-openstack-nova-api-version", "3.0")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn volume_create_attach_detach_delete_transitions() {
    let t = TestSim::start().await;
    let token = t.token(&BOB, "ops").await;
    let ops = t.running.sim.project_id("ops").unwrap();
    let base = format!("/volume/v3/{ops}");
    let response = t
        .post(
            &token,
            &format!("{base}/volumes"),
            json!({ "volume": { "size": 5, "name": "logs" } }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let id = response.json::<Value>().await.unwrap()["volume"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let status = |v: Value| v["volume"]["status"].as_str().unwrap().to_owned();
    let path = format!("{base}/volumes/{id}");
    assert_eq!(status(t.get(&token, &path).await), "creating");
    t.tick(2);
    assert_eq!(status(t.get(&token, &path).await), "available");

    let servers = t
        .get(&token, "/compute/v2.1/servers/detail?status=ACTIVE")
        .await;
    let server_id = servers["servers"][0]["id"].as_str().unwrap().to_owned();
    let attachments = format!("/compute/v2.1/servers/{server_id}/os-volume_attachments");
    let response = t
        .post(
            &token,
            &attachments,
            json!({ "volumeAttachment": { "volumeId": id } }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let attachment: Value = response.json().await.unwrap();
    assert_eq!(
        attachment["volumeAttachment"]["serverId"],
        server_id.as_str()
    );
    assert_eq!(status(t.get(&token, &path).await), "attaching");
    t.tick(1);
    let volume = t.get(&token, &path).await;
    assert_eq!(volume["volume"]["status"], "in-use");
    assert_eq!(
        volume["volume"]["attachments"][0]["server_id"],
        server_id.as_str()
    );
    let again = t
        .post(
            &token,
            &attachments,
            json!({ "volumeAttachment": { "volumeId": id } }),
        )
        .await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    let listed = t.get(&token, &attachments).await;
    assert!(
        listed["volumeAttachments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["volumeId"] == id.as_str())
    );
    let server = t
        .get(&token, &format!("/compute/v2.1/servers/{server_id}"))
        .await;
    assert!(
        server["server"]["os-extended-volumes:volumes_attached"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["id"] == id.as_str())
    );

    let in_use_delete = t.delete(&token, &path).await;
    assert_eq!(in_use_delete.status(), StatusCode::BAD_REQUEST);
    let detach = t.delete(&token, &format!("{attachments}/{id}")).await;
    assert_eq!(detach.status(), StatusCode::ACCEPTED);
    assert_eq!(status(t.get(&token, &path).await), "detaching");
    t.tick(1);
    assert_eq!(status(t.get(&token, &path).await), "available");
    assert_eq!(t.delete(&token, &path).await.status(), StatusCode::ACCEPTED);
    assert_eq!(status(t.get(&token, &path).await), "deleting");
    t.tick(1);
    assert_eq!(
        t.send(Method::GET, &token, &path, None).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn glance_pages_patches_and_uploads() {
    let t = TestSim::start().await;
    let token = t.token(&ALICE, "demo").await;
    let visible = t.get(&token, "/image/v2/images?limit=1000").await["images"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(visible, 4, "three public images and demo's own");
    let mut ids = Vec::new();
    for n in 0..3 {
        let response = t
            .post(
                &token,
                "/image/v2/images",
                json!({ "name": format!("img-{n}"), "disk_format": "raw" }),
            )
            .await;
        ids.push(
            response.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut seen = Vec::new();
    let mut next = Some("/v2/images?limit=2".to_owned());
    while let Some(path) = next {
        let page = t.get(&token, &format!("/image{path}")).await;
        let images = page["images"].as_array().unwrap();
        assert!(images.len() <= 2);
        seen.extend(images.iter().map(|i| i["id"].as_str().unwrap().to_owned()));
        next = page["next"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), 7);
    assert_eq!(
        &seen[..3],
        &[ids[2].clone(), ids[1].clone(), ids[0].clone()],
        "newest first"
    );

    let response = t
        .http
        .patch(t.url(&format!("/image/v2/images/{}", ids[0])))
        .header("x-auth-token", &token)
        .header("content-type", "application/openstack-images-v2.1-json-patch")
        .body(r#"[{"op":"replace","path":"/name","value":"Fedora 17"},{"op":"replace","path":"/tags","value":["fedora","beefy"]}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let patched: Value = response.json().await.unwrap();
    assert_eq!(patched["name"], "Fedora 17");
    assert_eq!(patched["tags"], json!(["fedora", "beefy"]));
    let plain = t
        .http
        .patch(t.url(&format!("/image/v2/images/{}", ids[0])))
        .header("x-auth-token", &token)
        .json(&json!([]))
        .send();
    assert_eq!(
        plain.await.unwrap().status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );

    let file = t
        .http
        .put(t.url(&format!("/image/v2/images/{}/file", ids[1])))
        .header("x-auth-token", &token)
        .body(vec![7u8; 1000]);
    assert_eq!(file.send().await.unwrap().status(), StatusCode::NO_CONTENT);
    let image = t.get(&token, &format!("/image/v2/images/{}", ids[1])).await;
    assert_eq!(
        (image["status"].as_str(), image["size"].as_u64()),
        (Some("saving"), Some(1000))
    );
    t.tick(1);
    assert_eq!(
        t.get(&token, &format!("/image/v2/images/{}", ids[1])).await["status"],
        "active"
    );

    t.tick(2);
    let untouched = t.get(&token, &format!("/image/v2/images/{}", ids[2])).await;
    assert_eq!(
        untouched["status"], "saving",
        "queued images receive data by themselves"
    );
    assert!(untouched["checksum"].is_string());
    assert_eq!(
        t.delete(&token, &format!("/image/v2/images/{}", ids[2]))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn networks_are_created_and_deleted() {
    let t = TestSim::start().await;
    let token = t.token(&ALICE, "demo").await;
    let response = t
        .post(
            &token,
            "/network/v2.0/networks",
            json!({ "network": { "name": "lab" } }),
        )
        .await;
    let id = response.json::<Value>().await.unwrap()["network"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let found = t.get(&token, "/network/v2.0/networks?name=lab").await;
    assert_eq!(found["networks"][0]["id"], id.as_str());
    assert_eq!(
        t.delete(&token, &format!("/network/v2.0/networks/{id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let missing = t
        .send(
            Method::GET,
            &token,
            &format!("/network/v2.0/networks/{id}"),
            None,
        )
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["NeutronError"]["type"],
        "NetworkNotFound"
    );
    let own = t.get(&token, "/network/v2.0/networks?name=demo-net").await;
    let busy = own["networks"][0]["id"].as_str().unwrap().to_owned();
    let refused = t
        .delete(&token, &format!("/network/v2.0/networks/{busy}"))
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
}
