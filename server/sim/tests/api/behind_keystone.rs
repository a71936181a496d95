//! A simulator behind another Keystone (`SimConfig::keystone`): here a second simulator's
//! Keystone stands in for the real one (the real-service tier, `just test-openstack`, puts a
//! real Keystone there). Its projects are held and seeded, its tokens accepted (validated once
//! per cache lifetime), its roles obeyed; the simulator's own Keystone is not served.

use std::time::Duration;

use reqwest::StatusCode;
use tidings_sim::seed::{ALICE, BOB};
use tidings_sim::{KeystoneConfig, SimConfig};

use crate::helpers::TestSim;

/// A quiet simulator behind `keystone`'s Keystone, validations cached for `cache_ttl`.
async fn behind(keystone: &TestSim, cache_ttl: Duration) -> TestSim {
    let mut link = KeystoneConfig::new(keystone.running.auth_url(), "admin", "admin", "admin");
    link.cache_ttl = cache_ttl;
    let config = SimConfig {
        keystone: Some(link),
        seed: 7,
        ..SimConfig::quiet()
    };
    TestSim::with(config).await
}

fn validations(keystone: &TestSim) -> u64 {
    keystone
        .running
        .sim
        .stats()
        .path("GET /identity/v3/auth/tokens")
}

#[tokio::test]
async fn the_projects_are_keystones_and_its_tokens_are_accepted() {
    let keystone = TestSim::start().await;
    let data = behind(&keystone, Duration::from_secs(60)).await;
    let demo = keystone.running.sim.project_id("demo").unwrap();

    // Keystone's own ids, not the ones this simulator's seed would give.
    let alice = keystone.token(&ALICE, "demo").await;
    let servers = data.get(&alice, "/compute/v2.1/servers/detail").await;
    let servers = servers["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 3, "{servers:?}");
    assert!(servers.iter().all(|s| s["tenant_id"] == demo.as_str()));
    let volumes = data
        .get(&alice, &format!("/volume/v3/{demo}/volumes"))
        .await;
    assert_eq!(volumes["volumes"].as_array().unwrap().len(), 2);
    let networks = data.get(&alice, "/network/v2.0/networks").await;
    assert!(
        networks["networks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["name"] == "demo-net")
    );

    // One validation per token while the cache holds it.
    let before = validations(&keystone);
    for _ in 0..5 {
        data.get(&alice, "/compute/v2.1/servers").await;
    }
    assert_eq!(validations(&keystone), before);

    // Another project's member sees their own project only; the admin sees all with
    // all_tenants, as Keystone's `admin` role says.
    let bob = keystone.token(&BOB, "ops").await;
    let theirs = data.get(&bob, "/compute/v2.1/servers").await;
    assert!(
        theirs["servers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["name"].as_str().unwrap().starts_with("ops-"))
    );
    let admin = keystone.admin().await;
    let all = data
        .get(&admin, "/compute/v2.1/servers/detail?all_tenants=1")
        .await;
    assert_eq!(all["servers"].as_array().unwrap().len(), 9);

    // The simulator's own Keystone is not served, and its own seeded users mean nothing.
    let own = data.auth(ALICE.name, ALICE.password, Some("demo")).await;
    assert_eq!(own.status(), StatusCode::NOT_FOUND);
    let wrong = data
        .send(
            reqwest::Method::GET,
            "gAAAAAnot-a-token",
            "/compute/v2.1/servers",
            None,
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_revoked_token_is_refused_once_its_validation_runs_out() {
    let keystone = TestSim::start().await;
    let cached = behind(&keystone, Duration::from_secs(60)).await;
    let uncached = behind(&keystone, Duration::ZERO).await;
    let alice = keystone.token(&ALICE, "demo").await;
    cached.get(&alice, "/compute/v2.1/servers").await;
    uncached.get(&alice, "/compute/v2.1/servers").await;

    let admin = keystone.admin().await;
    let revoked = keystone
        .http
        .delete(format!("{}/auth/tokens", keystone.running.auth_url()))
        .header("x-auth-token", &admin)
        .header("x-subject-token", &alice)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);

    // Without a cache Keystone is asked every time; with one, the revocation is seen when
    // the cached validation runs out (at most the TTL), as with keystonemiddleware.
    let refused = uncached
        .send(reqwest::Method::GET, &alice, "/compute/v2.1/servers", None)
        .await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    cached.get(&alice, "/compute/v2.1/servers").await;
}

#[tokio::test]
async fn a_keystone_that_cannot_be_reached_gets_503_for_new_tokens() {
    let keystone = TestSim::start().await;
    let data = behind(&keystone, Duration::from_secs(60)).await;
    let known = keystone.token(&ALICE, "demo").await;
    let unknown = keystone.token(&BOB, "ops").await;
    data.get(&known, "/compute/v2.1/servers").await;

    let TestSim { running, .. } = keystone;
    running.shutdown().await.unwrap();

    data.get(&known, "/compute/v2.1/servers").await;
    let answer = data
        .send(
            reqwest::Method::GET,
            &unknown,
            "/compute/v2.1/servers",
            None,
        )
        .await;
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["error"]["code"], 503);
}

#[tokio::test]
async fn a_simulator_that_may_not_list_projects_takes_them_up_from_tokens() {
    let keystone = TestSim::start().await;
    // Alice may validate tokens with the stand-in Keystone, but not list its projects.
    let link = KeystoneConfig::new(
        keystone.running.auth_url(),
        ALICE.name,
        ALICE.password,
        "demo",
    );
    let config = SimConfig {
        keystone: Some(link),
        ..SimConfig::quiet()
    };
    let data = TestSim::with(config).await;
    assert_eq!(data.running.sim.counts().servers, 0, "nothing is seeded");

    let bob = keystone.token(&BOB, "ops").await;
    let servers = data.get(&bob, "/compute/v2.1/servers").await;
    assert_eq!(servers["servers"].as_array().unwrap().len(), 0);
    let ops = keystone.running.sim.project_id("ops").unwrap();
    let created = data
        .post(
            &bob,
            "/compute/v2.1/servers",
            serde_json::json!({ "server": { "name": "first", "flavorRef": "1" } }),
        )
        .await;
    assert_eq!(created.status(), StatusCode::ACCEPTED);
    let listed = data.get(&bob, "/compute/v2.1/servers/detail").await;
    assert_eq!(listed["servers"][0]["tenant_id"], ops.as_str());
    assert_eq!(
        listed["servers"][0]["user_id"],
        keystone.running.sim.user_id("bob").unwrap().as_str()
    );
}
