//! What an operator's everyday commands read besides the lists: quota sets, availability
//! zones, hypervisors, users and roles, in the samples' shapes, and who may read them; subnets
//! and ports one by one.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tidings_sim::seed;

use crate::helpers::{TestSim, assert_same_shape, fixture};

async fn get_at(t: &TestSim, token: &str, path: &str, version: &str) -> Value {
    let response = t
        .http
        .get(t.url(path))
        .header("x-auth-token", token)
        .header("openstack-api-version", version)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "GET {path} at {version}");
    response.json().await.unwrap()
}

fn project(name: &str) -> String {
    seed::project_id(42, name)
}

#[tokio::test]
async fn nova_quota_sets_zones_and_hypervisors() {
    let t = TestSim::start().await;
    let alice = t.token(&seed::ALICE, "demo").await;
    let demo = project("demo");
    let quota = t
        .get(&alice, &format!("/compute/v2.1/os-quota-sets/{demo}"))
        .await;
    assert_same_shape(
        &quota,
        &fixture("nova/os-quota-sets/quotas-show-get-resp.json"),
        "quota set",
    );
    assert_eq!(quota["quota_set"]["id"], demo.as_str());
    let detail = get_at(
        &t,
        &alice,
        &format!("/compute/v2.1/os-quota-sets/{demo}/detail"),
        "compute 2.57",
    )
    .await;
    assert_same_shape(
        &detail,
        &fixture("nova/os-quota-sets/v2.57/quotas-show-detail-get-resp.json"),
        "quota detail at 2.57",
    );
    let servers = t.get(&alice, "/compute/v2.1/servers").await;
    assert_eq!(
        detail["quota_set"]["instances"]["in_use"],
        servers["servers"].as_array().unwrap().len()
    );
    let old = t
        .get(
            &alice,
            &format!("/compute/v2.1/os-quota-sets/{demo}/detail"),
        )
        .await;
    assert_same_shape(
        &old,
        &fixture("nova/os-quota-sets/quotas-show-detail-get-resp.json"),
        "quota detail",
    );
    let other = t
        .send(
            Method::GET,
            &alice,
            &format!("/compute/v2.1/os-quota-sets/{}", project("ops")),
            None,
        )
        .await;
    assert_eq!(other.status(), StatusCode::FORBIDDEN);

    let zones = t.get(&alice, "/compute/v2.1/os-availability-zone").await;
    assert_same_shape(
        &zones,
        &fixture("nova/os-availability-zone/availability-zone-list-resp.json"),
        "zones",
    );

    let refused = t
        .send(Method::GET, &alice, "/compute/v2.1/os-hypervisors", None)
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let admin = t.admin().await;
    let list = get_at(&t, &admin, "/compute/v2.1/os-hypervisors", "compute 2.88").await;
    let sample = fixture("nova/os-hypervisors/v2.88/hypervisors-list-resp.json");
    assert_same_shape(&list["hypervisors"], &sample["hypervisors"], "hypervisors");
    let detail = get_at(
        &t,
        &admin,
        "/compute/v2.1/os-hypervisors/detail",
        "compute 2.88",
    )
    .await;
    let sample = fixture("nova/os-hypervisors/v2.88/hypervisors-detail-resp.json");
    assert_same_shape(
        &detail["hypervisors"],
        &sample["hypervisors"],
        "hypervisors/detail",
    );
    let id = detail["hypervisors"][0]["id"].as_str().unwrap();
    let one = get_at(
        &t,
        &admin,
        &format!("/compute/v2.1/os-hypervisors/{id}"),
        "compute 2.88",
    )
    .await;
    assert_same_shape(
        &one,
        &fixture("nova/os-hypervisors/v2.88/hypervisors-show-resp.json"),
        "hypervisor",
    );
    let base = t.get(&admin, "/compute/v2.1/os-hypervisors/detail").await;
    assert_eq!(base["hypervisors"][0]["id"], 1, "integer ids before 2.53");
    assert!(base["hypervisors"][0]["running_vms"].is_u64());
}

#[tokio::test]
async fn neutron_quotas_and_cinder_zones() {
    let t = TestSim::start().await;
    let alice = t.token(&seed::ALICE, "demo").await;
    let demo = project("demo");
    let quota = t.get(&alice, &format!("/network/v2.0/quotas/{demo}")).await;
    assert_same_shape(
        &quota,
        &fixture("neutron/quotas/quotas-list-for-project-response.json"),
        "neutron quota",
    );
    let details = t
        .get(&alice, &format!("/network/v2.0/quotas/{demo}/details"))
        .await;
    let sample = fixture("neutron/quota_details/quota-details-show-for-project-response.json");
    assert_same_shape(
        &details["quota"]["network"],
        &sample["quota"]["network"],
        "quota detail",
    );
    let networks = t.get(&alice, "/network/v2.0/networks").await;
    let own = networks["networks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["project_id"] == demo.as_str())
        .count();
    assert_eq!(details["quota"]["network"]["used"], own);
    let ops = t
        .send(
            Method::GET,
            &alice,
            &format!("/network/v2.0/quotas/{}", project("ops")),
            None,
        )
        .await;
    assert_eq!(ops.status(), StatusCode::FORBIDDEN);
    let router = t.get(&alice, "/network/v2.0/extensions/router").await;
    assert_same_shape(
        &router,
        &fixture("neutron/extensions/extension-show-response.json"),
        "extension",
    );
    let listed = t.get(&alice, "/network/v2.0/extensions").await;
    assert!(
        listed["extensions"]
            .as_array()
            .unwrap()
            .contains(&router["extension"])
    );
    let missing = t
        .send(Method::GET, &alice, "/network/v2.0/extensions/agent", None)
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND, "no agents here");
    let zones = t.get(&alice, "/network/v2.0/availability_zones").await;
    assert!(!zones["availability_zones"].as_array().unwrap().is_empty());
    let zones = t.get(&alice, "/volume/v3/os-availability-zone").await;
    assert_same_shape(
        &zones,
        &fixture("cinder/availability-zone-list-response.json"),
        "cinder zones",
    );
}

#[tokio::test]
async fn keystone_users_and_roles_for_admins() {
    let t = TestSim::start().await;
    let admin = t.admin().await;
    let users = t.get(&admin, "/identity/v3/users").await;
    let sample = fixture("keystone/admin/users-list-response.json");
    assert_same_shape(&users["users"], &sample["users"], "users");
    assert_eq!(users["users"].as_array().unwrap().len(), seed::USERS.len());
    let alice_id = seed::user_id(42, "alice");
    let alice = t.token(&seed::ALICE, "demo").await;
    let me = t
        .get(&alice, &format!("/identity/v3/users/{alice_id}"))
        .await;
    let mut sample = fixture("keystone/admin/user-show-response.json");
    sample["user"]
        .as_object_mut()
        .unwrap()
        .remove("default_project_id");
    assert_same_shape(&me, &sample, "user (no default project set)");
    let roles = t.get(&admin, "/identity/v3/roles").await;
    let names: Vec<&str> = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names, seed::ROLES);
    for path in ["/identity/v3/users", "/identity/v3/roles"] {
        let refused = t.send(Method::GET, &alice, path, None).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let bob = seed::user_id(42, "bob");
    let other = t
        .send(
            Method::GET,
            &alice,
            &format!("/identity/v3/users/{bob}"),
            None,
        )
        .await;
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn subnets_and_ports_one_by_one() {
    let t = TestSim::start().await;
    let alice = t.token(&seed::ALICE, "demo").await;
    let created = t
        .post(
            &alice,
            "/network/v2.0/networks",
            json!({ "network": { "name": "n1" } }),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let network: Value = created.json().await.unwrap();
    let network_id = network["network"]["id"].as_str().unwrap();
    let body = json!({ "subnet": { "network_id": network_id, "cidr": "10.9.8.0/28",
        "ip_version": 4, "name": "s1" } });
    let created = t.post(&alice, "/network/v2.0/subnets", body).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let subnet: Value = created.json().await.unwrap();
    assert_same_shape(
        &subnet["subnet"],
        &fixture("neutron/subnets/subnets-list-response.json")["subnets"][0],
        "subnet",
    );
    assert_eq!(subnet["subnet"]["gateway_ip"], "10.9.8.1");
    assert_eq!(
        subnet["subnet"]["allocation_pools"],
        json!([{ "start": "10.9.8.2", "end": "10.9.8.14" }])
    );
    let subnet_id = subnet["subnet"]["id"].as_str().unwrap();
    let shown = t
        .get(&alice, &format!("/network/v2.0/networks/{network_id}"))
        .await;
    assert_eq!(shown["network"]["subnets"], json!([subnet_id]));
    let mut addresses = Vec::new();
    let mut ports = Vec::new();
    for name in ["p1", "p2"] {
        let body = json!({ "port": { "network_id": network_id, "name": name } });
        let created = t.post(&alice, "/network/v2.0/ports", body).await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let port: Value = created.json().await.unwrap();
        assert_eq!(port["port"]["fixed_ips"][0]["subnet_id"], subnet_id);
        addresses.push(port["port"]["fixed_ips"][0]["ip_address"].clone());
        let id = port["port"]["id"].as_str().unwrap().to_owned();
        let shown = t.get(&alice, &format!("/network/v2.0/ports/{id}")).await;
        assert_eq!(shown["port"]["name"], name);
        ports.push(id);
    }
    assert_eq!(addresses, [json!("10.9.8.2"), json!("10.9.8.3")]);
    let renamed = t
        .send(
            Method::PUT,
            &alice,
            &format!("/network/v2.0/subnets/{subnet_id}"),
            Some(json!({ "subnet": { "name": "s2" } })),
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::OK);
    let subnet_path = format!("/network/v2.0/subnets/{subnet_id}");
    let in_use = t.delete(&alice, &subnet_path).await;
    assert_eq!(in_use.status(), StatusCode::CONFLICT, "ports are on it");
    for id in &ports {
        let gone = t.delete(&alice, &format!("/network/v2.0/ports/{id}")).await;
        assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    }
    let left = t
        .get(
            &alice,
            &format!("/network/v2.0/ports?network_id={network_id}"),
        )
        .await;
    assert_eq!(left["ports"], json!([]));
    let gone = t.delete(&alice, &subnet_path).await;
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    let bob = t.token(&seed::BOB, "ops").await;
    let hidden = t
        .send(
            Method::GET,
            &bob,
            &format!("/network/v2.0/networks/{network_id}"),
            None,
        )
        .await;
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
}
