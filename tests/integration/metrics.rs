//! `/metrics` after real traffic: subscribers by transport, notices, call latency by procedure,
//! response cache outcomes and upstream calls by service, in the Prometheus text format.

use std::time::Duration;

use tidings_tests::{METRICS_TOKEN, TestApp};

async fn scrape(app: &TestApp) -> String {
    let response = app
        .http
        .get(format!("{}/metrics", app.base))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .expect("scrape");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.contains("text"), "{content_type}");
    response.text().await.unwrap()
}

/// The value of the series whose line starts with `series` (name and labels).
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no series {series} in\n{text}"))
}

#[tokio::test]
async fn metrics_describe_the_traffic() {
    let app = TestApp::spawn_with(&["--metrics-token", METRICS_TOKEN]).await;
    let mut stream = app.subscribe(None, None).await;
    let etag = {
        let first = app
            .http
            .get(format!("{}/trpc/projects.getAll", app.base))
            .send()
            .await
            .unwrap();
        first.headers()["etag"].to_str().unwrap().to_owned()
    };
    let revalidated = app
        .http
        .get(format!("{}/trpc/projects.getAll", app.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 304);
    for _ in 0..2 {
        let gz = app
            .http
            .get(format!("{}/trpc/compute.instances.getAll", app.base))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(gz.status(), 200);
    }
    assert_eq!(app.admin_notify("images").await.status, 200);
    stream
        .next_message(Duration::from_secs(2))
        .await
        .expect("the notice");

    let text = scrape(&app).await;
    assert_eq!(value(&text, r#"tidings_subscribers{transport="sse"}"#), 1.0);
    assert!(value(&text, r#"tidings_subscriptions_total{transport="sse"}"#) >= 1.0);
    assert!(value(&text, "tidings_notices_emitted_total") >= 1.0);
    assert_eq!(value(&text, "tidings_subscriber_queue_drops_total"), 0.0);
    assert!(value(&text, "tidings_resyncs_total") >= 0.0);
    assert!(value(&text, "tidings_bus_subscribers") >= 1.0);
    assert_eq!(
        value(
            &text,
            r#"tidings_call_duration_seconds_count{procedure="projects.getAll",kind="query"}"#
        ),
        2.0
    );
    assert_eq!(
        value(
            &text,
            r#"tidings_call_duration_seconds_count{procedure="admin.notify",kind="mutation"}"#
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            r#"tidings_response_cache_total{outcome="not_modified"}"#
        ),
        1.0
    );
    let hits = value(
        &text,
        r#"tidings_response_cache_total{outcome="compressed_hit"}"#,
    );
    let misses = value(
        &text,
        r#"tidings_response_cache_total{outcome="compressed_miss"}"#,
    );
    assert_eq!(
        (hits, misses),
        (1.0, 1.0),
        "the second gzip is the cached one"
    );
    assert!(
        value(
            &text,
            r#"tidings_upstream_duration_seconds_count{service="nova"}"#
        ) >= 1.0
    );
    assert!(
        value(
            &text,
            r#"tidings_upstream_duration_seconds_count{service="keystone"}"#
        ) >= 1.0
    );

    drop(stream);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let text = scrape(&app).await;
    assert_eq!(value(&text, r#"tidings_subscribers{transport="sse"}"#), 0.0);
    app.stop().await;
}

#[tokio::test]
async fn upstream_failures_are_counted_by_service() {
    let app = TestApp::spawn_with(&["--metrics-token", METRICS_TOKEN]).await;
    // Nova refuses to start an instance that is running (409).
    let demo = app.project_id("demo");
    let listed = app
        .query(
            "compute.instances.getAll",
            Some(serde_json::json!({ "projectId": demo })),
        )
        .await;
    let active = listed
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["status"] == "ACTIVE");
    let refused = app
        .mutate(
            "compute.instances.start",
            serde_json::json!({ "id": active.expect("an active instance")["id"] }),
        )
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    let text = scrape(&app).await;
    assert!(
        value(
            &text,
            r#"tidings_upstream_errors_total{service="nova",kind="4xx"}"#
        ) >= 1.0,
        "{text}"
    );
    app.stop().await;
}

/// Subscribes over a WebSocket at `path` with `request`, checks the gauge of `transport` counts
/// it, closes the socket and checks the gauge falls back.
async fn counted_while_open(app: &TestApp, path: &str, request: &str, transport: &str) {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let series = format!(r#"tidings_subscribers{{transport="{transport}"}}"#);
    let mut socket = app.admin().websocket(path).await;
    socket.send(Message::text(request)).await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(2), socket.next())
        .await
        .expect("an answer")
        .expect("a frame")
        .unwrap();
    assert!(!answer.to_text().unwrap().contains("error"), "{answer:?}");
    assert_eq!(value(&scrape(app).await, &series), 1.0, "{transport}");
    drop(socket);
    let mut after = 1.0;
    for _ in 0..50 {
        after = value(&scrape(app).await, &series);
        if after == 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        after, 0.0,
        "{transport}: the gauge falls back when the socket closes"
    );
}

#[tokio::test]
async fn websocket_subscribers_are_counted_by_transport() {
    let app = TestApp::spawn_with(&["--metrics-token", METRICS_TOKEN]).await;
    let trpc = r#"{"id":1,"method":"subscription","params":{"path":"updates.subscribe"}}"#;
    counted_while_open(&app, "/trpc", trpc, "trpc_ws").await;
    let jsonrpc = r#"{"jsonrpc":"2.0","id":1,"method":"updates.subscribe","params":{}}"#;
    counted_while_open(&app, "/rpc", jsonrpc, "jsonrpc").await;
}
