//! Failure handling: re-authentication, retries, time-outs, unreachable and lying upstreams.

use std::time::{Duration, Instant};

use axum::http::Method;
use tidings_openstack::{Client, ErrorKind, Service, error::Error};

use crate::support::{
    AUTH_PATH, FakeCloud, Reply, cinder, fixture, flaky_server, nova, token_body,
};

const SERVERS: &str = "nova/servers/servers-details-resp.json";

/// The published servers list as the only page (the sample links a next page, `limit=1`).
fn servers_single_page() -> Reply {
    let mut body: serde_json::Value = serde_json::from_str(&fixture(SERVERS)).unwrap();
    body.as_object_mut().unwrap().remove("servers_links");
    Reply::ok(body.to_string())
}

#[tokio::test]
async fn a_refused_token_is_replaced_once() {
    let cloud = FakeCloud::start().await;
    let path = nova("/servers/detail");
    let expired = r#"{"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}"#;
    cloud.on(Method::GET, &path, Reply::status(401, expired));
    cloud.on(Method::GET, &path, servers_single_page());
    let instances = cloud.client().list_instances().await.unwrap();
    assert_eq!(instances.len(), 1);
    assert_eq!(cloud.auth_requests().len(), 2);
    let tokens: Vec<_> = cloud.requests().into_iter().map(|r| r.token).collect();
    assert_eq!(
        tokens,
        [Some("token-1".to_owned()), Some("token-2".to_owned())]
    );
}

#[tokio::test]
async fn a_fresh_token_refused_too_is_a_refusal_not_an_outage() {
    let cloud = FakeCloud::start().await;
    cloud.on(
        Method::GET,
        &nova("/servers/detail"),
        Reply::status(401, "{}"),
    );
    let error = cloud.client().list_instances().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Refused);
    assert_eq!(error.service(), Some(Service::Compute));
    assert!(error.to_string().contains("refuses freshly issued tokens"));
    assert_eq!(cloud.auth_requests().len(), 2);
    assert_eq!(cloud.requests().len(), 2);
}

/// A client whose refusals back off for `backoff`.
fn client_backing_off(cloud: &FakeCloud, backoff: Duration) -> Client {
    let mut config = cloud.config();
    config.refusal_backoff = backoff;
    Client::new(config).unwrap()
}

#[tokio::test]
async fn while_a_service_refuses_its_tokens_polls_make_no_password_logins() {
    let cloud = FakeCloud::start().await;
    cloud.on(
        Method::GET,
        &nova("/servers/detail"),
        Reply::status(401, "{}"),
    );
    let client = client_backing_off(&cloud, Duration::from_secs(60));
    for _ in 0..20 {
        let error = client.list_instances().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Refused);
    }
    assert_eq!(
        cloud.auth_requests().len(),
        2,
        "the first token and one renewal, then none while the refusal backs off"
    );
    assert_eq!(
        cloud.requests().len(),
        21,
        "each poll still asks (and sees a fix)"
    );
}

#[tokio::test]
async fn a_refusal_renews_again_after_its_backoff_and_ends_when_a_call_is_accepted() {
    let cloud = FakeCloud::start().await;
    let path = nova("/servers/detail");
    for _ in 0..4 {
        cloud.on(Method::GET, &path, Reply::status(401, "{}"));
    }
    cloud.on(Method::GET, &path, servers_single_page());
    let client = client_backing_off(&cloud, Duration::from_millis(200));
    client.list_instances().await.unwrap_err();
    assert_eq!(cloud.auth_requests().len(), 2);
    // Within the back-off: refused without a login.
    client.list_instances().await.unwrap_err();
    assert_eq!(cloud.auth_requests().len(), 2);
    tokio::time::sleep(Duration::from_millis(250)).await;
    // After it: one renewal, and the service accepts the new token.
    let instances = client.list_instances().await.unwrap();
    assert_eq!(instances.len(), 1);
    assert_eq!(cloud.auth_requests().len(), 3);
    // Recovered: a later refusal renews at once instead of waiting out a back-off. (The
    // accepted answer stays queued before them: the fake repeats its last answer.)
    cloud.on(Method::GET, &path, Reply::status(401, "{}"));
    cloud.on(Method::GET, &path, servers_single_page());
    client.list_instances().await.unwrap();
    assert_eq!(cloud.auth_requests().len(), 3);
    client.list_instances().await.unwrap();
    assert_eq!(cloud.auth_requests().len(), 4);
}

#[tokio::test]
async fn the_backoff_doubles_while_fresh_tokens_go_on_being_refused() {
    let cloud = FakeCloud::start().await;
    cloud.on(
        Method::GET,
        &nova("/servers/detail"),
        Reply::status(401, "{}"),
    );
    let client = client_backing_off(&cloud, Duration::from_millis(300));
    client.list_instances().await.unwrap_err();
    assert_eq!(
        cloud.auth_requests().len(),
        2,
        "the first token and one renewal"
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    // The 300 ms are over: one renewal, refused again, and the next wait is 600 ms.
    client.list_instances().await.unwrap_err();
    assert_eq!(cloud.auth_requests().len(), 3);
    tokio::time::sleep(Duration::from_millis(350)).await;
    client.list_instances().await.unwrap_err();
    assert_eq!(
        cloud.auth_requests().len(),
        3,
        "within the doubled wait: no login"
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    client.list_instances().await.unwrap_err();
    assert_eq!(cloud.auth_requests().len(), 4, "after it: one renewal");
}

#[tokio::test]
async fn a_refused_password_is_not_tried_again_until_its_backoff_ends() {
    let cloud = FakeCloud::start().await;
    let refused = r#"{"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}"#;
    cloud.on(Method::POST, AUTH_PATH, Reply::status(401, refused));
    let client = client_backing_off(&cloud, Duration::from_millis(200));
    for _ in 0..10 {
        let error = client.list_flavors().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Auth);
        assert!(error.to_string().contains("requires authentication"));
    }
    assert_eq!(cloud.auth_requests().len(), 1, "one login per back-off");
    tokio::time::sleep(Duration::from_millis(250)).await;
    client.list_flavors().await.unwrap_err();
    assert_eq!(cloud.auth_requests().len(), 2);
}

#[tokio::test]
async fn tokens_are_cached_between_calls() {
    let cloud = FakeCloud::start().await;
    cloud.get(&nova("/servers/detail"), SERVERS);
    let client = cloud.client();
    client.list_instances().await.unwrap();
    client.clone().list_instances().await.unwrap();
    assert_eq!(cloud.auth_requests().len(), 1);
}

#[tokio::test]
async fn reads_are_retried_after_a_503() {
    let cloud = FakeCloud::start().await;
    let path = nova("/servers/detail");
    cloud.on(
        Method::GET,
        &path,
        Reply::status(503, "Service Unavailable"),
    );
    cloud.on(Method::GET, &path, servers_single_page());
    let instances = cloud.client().list_instances().await.unwrap();
    assert_eq!(instances[0].name, "new-server-test");
    assert_eq!(cloud.requests().len(), 2);
}

#[tokio::test]
async fn reads_give_up_after_the_configured_retries() {
    let cloud = FakeCloud::start().await;
    cloud.on(
        Method::GET,
        &nova("/servers/detail"),
        Reply::status(502, "Bad Gateway"),
    );
    let error = cloud.client().list_instances().await.unwrap_err();
    assert_eq!(error.status(), Some(502));
    assert_eq!(error.kind(), ErrorKind::Upstream);
    assert_eq!(cloud.requests().len(), 3, "one attempt and two retries");
}

#[tokio::test]
async fn mutations_are_not_retried_after_a_503() {
    let cloud = FakeCloud::start().await;
    cloud.on(
        Method::POST,
        &nova("/servers/5ae5b4a1-1f0a-4c55-9e5b-2b0d6b7c8d91/action"),
        Reply::status(503, "busy"),
    );
    let error = cloud
        .client()
        .start_instance("5ae5b4a1-1f0a-4c55-9e5b-2b0d6b7c8d91")
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(503));
    assert_eq!(error.kind(), ErrorKind::Unavailable);
    assert_eq!(cloud.requests().len(), 1);
}

#[tokio::test]
async fn error_bodies_give_their_message() {
    let cloud = FakeCloud::start().await;
    let body = r#"{"itemNotFound": {"code": 404, "message": "Volume 9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a could not be found."}}"#;
    cloud.on(
        Method::GET,
        &cinder("/volumes/9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"),
        Reply::status(404, body),
    );
    let error = cloud
        .client()
        .get_volume("9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a")
        .await
        .unwrap_err();
    assert!(error.is_not_found());
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert_eq!(error.service(), Some(Service::Volume));
    match error {
        Error::Status { message, .. } => assert_eq!(
            message,
            "Volume 9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a could not be found."
        ),
        other => panic!("expected a status error, got {other:?}"),
    }
}

#[tokio::test]
async fn garbage_is_a_decode_error() {
    let cloud = FakeCloud::start().await;
    cloud.on(
        Method::GET,
        &nova("/flavors/detail"),
        Reply::ok("<html>proxy error</html>"),
    );
    let error = cloud.client().list_flavors().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert_eq!(error.service(), Some(Service::Compute));
}

#[tokio::test]
async fn a_wrong_shape_is_a_decode_error_that_says_where() {
    let cloud = FakeCloud::start().await;
    let body = r#"{"flavors": [{"id": "1", "name": "m1.tiny", "vcpus": "many", "ram": 512}]}"#;
    cloud.on(Method::GET, &nova("/flavors/detail"), Reply::ok(body));
    let error = cloud.client().list_flavors().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert!(error.to_string().contains("flavors[0].vcpus"), "{error}");
}

#[tokio::test]
async fn a_hung_upstream_times_out_without_retries() {
    let cloud = FakeCloud::start().await;
    cloud.on(Method::GET, &nova("/servers/detail"), Reply::hang());
    let mut config = cloud.config();
    config.timeout = Duration::from_millis(300);
    let client = Client::new(config).unwrap();
    let started = Instant::now();
    let error = client.list_instances().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(cloud.requests().len(), 1);
}

#[tokio::test]
async fn an_unreachable_keystone_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let mut config = tidings_openstack::ClientConfig::new(
        format!("http://{address}/identity/v3"),
        "admin",
        "s3cret",
        "admin",
    );
    config.retry_backoff = Duration::from_millis(5);
    let error = Client::new(config)
        .unwrap()
        .list_projects()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unavailable, "{error:?}");
    assert_eq!(error.service(), Some(Service::Identity));
}

#[tokio::test]
async fn a_bad_auth_url_is_a_config_error() {
    let config = tidings_openstack::ClientConfig::new("keystone:5000", "a", "b", "c");
    let error = Client::new(config).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
}

#[tokio::test]
async fn the_password_never_shows_in_debug_output() {
    let cloud = FakeCloud::start().await;
    let client = cloud.client();
    let printed = format!("{client:?} {:?}", cloud.config());
    assert!(!printed.contains("s3cret"));
}

/// A cloud whose Nova endpoint is a server that drops its first connection.
async fn cloud_with_flaky_nova(
    body: &'static str,
) -> (FakeCloud, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let cloud = FakeCloud::start().await;
    let (nova_address, connections) = flaky_server(body).await;
    let token = token_body(&cloud.base, None).replace(
        &format!("{}/compute", cloud.base),
        &format!("{nova_address}/compute"),
    );
    cloud.on(Method::POST, AUTH_PATH, Reply::status(201, token));
    (cloud, connections)
}

#[tokio::test]
async fn reads_are_retried_after_a_dropped_connection() {
    let (cloud, connections) = cloud_with_flaky_nova(r#"{"flavors": []}"#).await;
    let flavors = cloud.client().list_flavors().await.unwrap();
    assert!(flavors.is_empty());
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn mutations_are_not_retried_after_a_dropped_connection() {
    let (cloud, connections) = cloud_with_flaky_nova("").await;
    let error = cloud
        .client()
        .stop_instance("5ae5b4a1-1f0a-4c55-9e5b-2b0d6b7c8d91")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unavailable, "{error:?}");
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn ids_that_could_leave_their_path_segment_are_refused_before_sending() {
    let cloud = FakeCloud::start().await;
    let client = cloud.client();
    let server = "5ae5b4a1-1f0a-4c55-9e5b-2b0d6b7c8d91";
    for id in [
        "../../../identity/v3/users",
        "%2e%2e",
        "..",
        "",
        &format!("{server}?all_tenants=1"),
        &format!("{server}/action"),
        &format!("{server}#x"),
        &format!("..\\{server}"),
    ] {
        let errors = [
            client.get_instance(id).await.unwrap_err(),
            client.delete_instance(id).await.unwrap_err(),
            client.get_volume(id).await.unwrap_err(),
            client.delete_image(id).await.unwrap_err(),
            client.delete_network(id).await.unwrap_err(),
            client.detach_volume(server, id).await.unwrap_err(),
            client.volume_quota(id).await.unwrap_err(),
            client.get_project(id).await.unwrap_err(),
        ];
        for error in errors {
            assert!(matches!(error, Error::Invalid(_)), "{id:?}: {error:?}");
            assert_eq!(error.kind(), ErrorKind::BadRequest);
        }
    }
    assert!(cloud.requests().is_empty(), "{:?}", cloud.requests());
}
