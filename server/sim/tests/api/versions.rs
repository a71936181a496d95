//! Version discovery and microversions: the version documents at each service's roots, the
//! negotiated version echoed, refused outside the range, and the shapes of later versions.

use reqwest::StatusCode;
use serde_json::Value;
use tidings_sim::seed;

use crate::helpers::{TestSim, assert_same_shape, fixture};

async fn document(t: &TestSim, path: &str, status: StatusCode) -> Value {
    let response = t.http.get(t.url(path)).send().await.unwrap();
    assert_eq!(response.status(), status, "GET {path}");
    response.json().await.unwrap()
}

fn self_link(entry: &Value) -> &str {
    entry["links"]
        .as_array()
        .and_then(|links| links.iter().find(|l| l["rel"] == "self"))
        .and_then(|l| l["href"].as_str())
        .unwrap_or_default()
}

#[tokio::test]
async fn every_service_publishes_its_version_documents_without_a_token() {
    let t = TestSim::start().await;
    let base = t.running.base_url();
    let identity = document(&t, "/identity", StatusCode::MULTIPLE_CHOICES).await;
    let values = identity["versions"]["values"].as_array().unwrap();
    assert_eq!(values.len(), 1, "only v3");
    assert_eq!(self_link(&values[0]), format!("{base}/identity/v3/"));
    for path in ["/identity/v3", "/identity/v3/"] {
        let v3 = document(&t, path, StatusCode::OK).await;
        assert_same_shape(
            &v3,
            &fixture("keystone/admin/identity-version-response.json"),
            path,
        );
        assert_eq!(self_link(&v3["version"]), format!("{base}/identity/v3/"));
    }
    let compute = document(&t, "/compute/", StatusCode::OK).await;
    assert_same_shape(
        &compute,
        &fixture("nova/versions/versions-get-resp.json"),
        "nova root",
    );
    let v21 = document(&t, "/compute/v2.1", StatusCode::OK).await;
    assert_eq!(v21["version"]["version"], "2.104");
    assert_eq!(v21["version"]["min_version"], "2.1");
    assert_eq!(self_link(&v21["version"]), format!("{base}/compute/v2.1/"));
    let volume = document(&t, "/volume", StatusCode::MULTIPLE_CHOICES).await;
    assert_eq!(volume["versions"][0]["version"], "3.71");
    let v3 = document(&t, "/volume/v3/", StatusCode::OK).await;
    assert_eq!(self_link(&v3["versions"][0]), format!("{base}/volume/v3/"));
    let image = document(&t, "/image", StatusCode::MULTIPLE_CHOICES).await;
    assert_eq!(
        self_link(&image["versions"][0]),
        format!("{base}/image/v2/")
    );
    let listed = document(&t, "/image/versions", StatusCode::OK).await;
    assert_eq!(image, listed);
    let network = document(&t, "/network", StatusCode::OK).await;
    assert_eq!(
        self_link(&network["versions"][0]),
        format!("{base}/network/v2.0")
    );
    let resources = document(&t, "/network/v2.0/", StatusCode::OK).await;
    assert!(resources["resources"].as_array().unwrap().len() >= 3);
}

async fn get_at(t: &TestSim, token: &str, path: &str, header: (&str, &str)) -> reqwest::Response {
    t.http
        .get(t.url(path))
        .header("x-auth-token", token)
        .header(header.0, header.1)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn microversions_are_negotiated_within_the_declared_range() {
    let t = TestSim::start().await;
    let token = t.admin().await;
    let path = "/compute/v2.1/flavors/detail";
    let at = |v: &'static str| ("openstack-api-version", v);
    for (asked, echoed) in [
        ("compute 2.61", "compute 2.61"),
        ("compute latest", "compute 2.104"),
    ] {
        let response = get_at(&t, &token, path, at(asked)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["openstack-api-version"], echoed);
        assert_eq!(
            response.headers()["x-openstack-nova-api-version"],
            &echoed[8..]
        );
    }
    let legacy = get_at(&t, &token, path, ("x-openstack-nova-api-version", "2.55")).await;
    assert_eq!(legacy.headers()["openstack-api-version"], "compute 2.55");
    for refused in ["compute 2.105", "compute 3.0", "compute 2.0", "compute two"] {
        let response = get_at(&t, &token, path, at(refused)).await;
        assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE, "{refused}");
    }
    let volumes = get_at(
        &t,
        &token,
        "/volume/v3/types",
        ("openstack-api-version", "volume 3.72"),
    )
    .await;
    assert_eq!(volumes.status(), StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn later_microversions_have_the_later_samples_shapes() {
    let t = TestSim::start().await;
    let token = t.token(&seed::ALICE, "demo").await;
    let at = |v: &'static str| ("openstack-api-version", v);
    let list: Value = get_at(
        &t,
        &token,
        "/compute/v2.1/servers/detail",
        at("compute 2.100"),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = list["servers"][0]["id"].as_str().unwrap().to_owned();
    assert_same_shape(
        &list["servers"][0],
        &fixture("nova/servers/v2.100/servers-details-resp.json")["servers"][0],
        "servers/detail at 2.100",
    );
    let one: Value = get_at(
        &t,
        &token,
        &format!("/compute/v2.1/servers/{id}"),
        at("compute 2.100"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_same_shape(
        &one,
        &fixture("nova/servers/v2.100/server-get-resp.json"),
        "server at 2.100",
    );
    let flavors: Value = get_at(
        &t,
        &token,
        "/compute/v2.1/flavors/detail",
        at("compute 2.102"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_same_shape(
        &flavors["flavors"][0],
        &fixture("nova/flavors/v2.102/flavors-detail-resp.json")["flavors"][0],
        "flavor at 2.102",
    );
    let limits: Value = get_at(&t, &token, "/compute/v2.1/limits", at("compute 2.57"))
        .await
        .json()
        .await
        .unwrap();
    assert_same_shape(
        &limits,
        &fixture("nova/limits/v2.57/limit-get-resp.json"),
        "limits at 2.57",
    );
    let groups: Value = get_at(
        &t,
        &token,
        "/compute/v2.1/os-server-groups",
        at("compute 2.64"),
    )
    .await
    .json()
    .await
    .unwrap();
    if let Some(group) = groups["server_groups"].get(0) {
        assert_same_shape(
            group,
            &fixture("nova/os-server-groups/v2.64/server-groups-list-resp.json")["server_groups"]
                [0],
            "server group at 2.64",
        );
    }
    let volumes: Value = get_at(
        &t,
        &token,
        "/volume/v3/volumes/detail",
        ("openstack-api-version", "volume 3.65"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_same_shape(
        &volumes["volumes"][0],
        &fixture("cinder/volumes/v3.65/volumes-list-detailed-response.json")["volumes"][0],
        "volume at 3.65",
    );
}
