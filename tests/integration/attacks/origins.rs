//! Attacks on the edge of the server: pages of other origins calling the API with a visitor's
//! browser (DNS rebinding, forged forwarding headers, a neighbouring port or scheme), scraping
//! `/metrics` from the public listener, and framing the console (clickjacking).

use std::path::PathBuf;

use serde_json::{Value, json};
use tidings_tests::{METRICS_TOKEN, TestApp};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// `auth.login` as `admin` with these extra headers, without any session: status and body.
async fn login_with(app: &TestApp, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/trpc/auth.login", app.base))
        .json(&json!({ "username": "admin", "password": "admin" }));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("login");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}

/// Whether a WebSocket upgrade of `/trpc` with these extra headers is accepted.
async fn websocket_opens(app: &TestApp, headers: &[(&'static str, &str)]) -> bool {
    let mut request = format!("ws://{}/trpc", app.addr)
        .into_client_request()
        .expect("request");
    for (name, value) in headers {
        request
            .headers_mut()
            .insert(*name, value.parse().expect("header"));
    }
    tokio_tungstenite::connect_async(request).await.is_ok()
}

/// Asserts a refusal in tRPC's envelope.
fn assert_forbidden((status, body): &(u16, Value), what: &str) {
    assert_eq!(*status, 403, "{what}: {body}");
    assert_eq!(body["error"]["data"]["code"], "FORBIDDEN", "{what}: {body}");
}

/// A page of `attacker.example` whose name the attacker re-points at 127.0.0.1: the browser
/// sends `Host: attacker.example:PORT` and `Origin: http://attacker.example:PORT`, which agree
/// with each other, and would log in with the default credentials and read the cloud.
#[tokio::test]
async fn dns_rebinding_host_and_origin_pair_is_refused() {
    let app = TestApp::spawn().await;
    let port = app.addr.port();
    let host = format!("attacker.example:{port}");
    let origin = format!("http://attacker.example:{port}");
    let pair = [("host", host.as_str()), ("origin", origin.as_str())];
    assert_forbidden(&login_with(&app, &pair).await, "login");
    assert!(!websocket_opens(&app, &pair).await, "a WebSocket opened");
    let rpc = reqwest::Client::new()
        .post(format!("{}/rpc", app.base))
        .header("host", &host)
        .header("origin", &origin)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "auth.me"}))
        .send()
        .await
        .unwrap();
    assert_eq!(rpc.status(), 403);
    let body: Value = rpc.json().await.unwrap();
    assert_eq!(body["jsonrpc"], "2.0", "{body}");
    assert_eq!(body["error"]["data"]["code"], "FORBIDDEN", "{body}");
    // The console's own origin still logs in.
    let own = format!("http://127.0.0.1:{port}");
    assert_eq!(login_with(&app, &[("origin", &own)]).await.0, 200);
    let localhost = format!("http://localhost:{port}");
    assert_eq!(login_with(&app, &[("origin", &localhost)]).await.0, 200);
}

/// A client that is not a proxy claims to be one: `X-Forwarded-Host`/`-Proto` naming the
/// attacker's site, to make the attacker's origin pass for the server's own.
#[tokio::test]
async fn forwarded_host_from_an_untrusted_peer_is_ignored() {
    let forged = [
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-proto", "https"),
        ("origin", "https://evil.example"),
    ];
    let app = TestApp::spawn().await;
    assert_forbidden(&login_with(&app, &forged).await, "login");
    assert!(!websocket_opens(&app, &forged).await, "a WebSocket opened");
    // Trusting some other proxy does not make this client one.
    let elsewhere = TestApp::spawn_with(&["--trusted-proxies", "10.0.0.0/8"]).await;
    assert_forbidden(&login_with(&elsewhere, &forged).await, "login");
    // From a trusted proxy the same headers name the console's origin.
    let behind = TestApp::spawn_with(&["--trusted-proxies", "127.0.0.1"]).await;
    assert_eq!(login_with(&behind, &forged).await.0, 200);
}

/// Another service on the same host (another port) or the same host and port over the other
/// scheme is another origin: its pages must not use the console's API.
#[tokio::test]
async fn same_host_other_port_or_scheme_is_refused() {
    let app = TestApp::spawn().await;
    let port = app.addr.port();
    let other_port = if port == 65535 { 1 } else { port + 1 };
    for origin in [
        format!("http://127.0.0.1:{other_port}"),
        format!("https://127.0.0.1:{port}"),
        format!("https://localhost:{port}"),
        "http://127.0.0.1".to_owned(),
        "http://localhost".to_owned(),
    ] {
        assert_forbidden(&login_with(&app, &[("origin", &origin)]).await, &origin);
    }
    // A named public origin is matched the same way, its default port implied.
    let public = TestApp::spawn_with(&["--public-origin", "https://console.example"]).await;
    for origin in [
        "http://console.example",
        "https://console.example:8443",
        "https://console.example.evil.example",
    ] {
        assert_forbidden(&login_with(&public, &[("origin", origin)]).await, origin);
    }
    let own = login_with(&public, &[("origin", "https://console.example:443")]).await;
    assert_eq!(own.0, 200, "{}", own.1);
}

/// Anyone who reaches the console's listener reads `/metrics`: procedure names, call and
/// error rates, open streams, upstream failures.
#[tokio::test]
async fn metrics_are_not_served_on_the_public_listener_without_token() {
    let app = TestApp::spawn().await;
    let anonymous = reqwest::Client::new();
    let scrape = anonymous
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    let status = scrape.status().as_u16();
    let text = scrape.text().await.unwrap();
    assert!(!text.contains("tidings_"), "metrics served: {status}");
    assert_eq!(status, 404, "{text}");
    // A session's bearer token is not a metrics token.
    let as_admin = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(as_admin.status(), 404);

    // With a token, the public listener asks for it.
    let tokened = TestApp::spawn_with(&["--metrics-token", METRICS_TOKEN]).await;
    let url = format!("{}/metrics", tokened.base);
    let without = anonymous.get(&url).send().await.unwrap();
    assert_eq!(without.status(), 401);
    let session = tokened.http.get(&url).send().await.unwrap();
    assert_eq!(session.status(), 401, "a session token scraped /metrics");
    let with = anonymous.get(&url).bearer_auth(METRICS_TOKEN).send().await;
    assert!(with.unwrap().text().await.unwrap().contains("tidings_"));

    // With a listener of its own, the public one serves none, whatever the token.
    let separate = TestApp::spawn_with(&[
        "--metrics-listen",
        "127.0.0.1:0",
        "--metrics-token",
        METRICS_TOKEN,
    ])
    .await;
    let public = anonymous
        .get(format!("{}/metrics", separate.base))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 404);
    let own = format!(
        "http://{}/metrics",
        separate.metrics_addr.expect("metrics listener")
    );
    assert_eq!(anonymous.get(&own).send().await.unwrap().status(), 401);
    let scraped = anonymous.get(&own).bearer_auth(METRICS_TOKEN).send().await;
    assert!(scraped.unwrap().text().await.unwrap().contains("tidings_"));
}

/// A built console in a directory of its own.
fn console_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tidings-attack-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><p>console</p>").unwrap();
    std::fs::write(dir.join("assets/app.js"), "console.log(1)").unwrap();
    dir
}

/// A page of another site loads the console in an invisible frame and tricks the visitor
/// into clicking its buttons (clickjacking).
#[tokio::test]
async fn console_cannot_be_framed() {
    let dir = console_dir("framed");
    let app = TestApp::spawn_with(&["--console-dir", dir.to_str().unwrap()]).await;
    for path in ["/", "/assets/app.js", "/projects/demo"] {
        let response = reqwest::get(format!("{}{path}", app.base)).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        let csp = header("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp:?}");
        assert!(csp.contains("default-src 'self'"), "{path}: {csp:?}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}
