//! The one stream: notices after mutations, resume without loss, and slow subscribers.

use std::time::{Duration, Instant};

use serde_json::json;
use tidings_tests::TestApp;
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn mutation_notice_reaches_an_sse_client_within_one_second() {
    let app = TestApp::spawn().await;
    let demo = app.project_id("demo");
    let mut stream = app.subscribe(None, None).await;
    let started = Instant::now();
    let reply = app
        .mutate(
            "volumes.create",
            json!({ "projectId": demo, "name": "fresh", "sizeGb": 1 }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let notice = stream
        .next_message(Duration::from_secs(1))
        .await
        .expect("a notice");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(notice.json(), json!({ "type": "volumes", "scope": demo }));
    assert!(
        notice
            .id
            .as_deref()
            .is_some_and(|id| id.parse::<u64>().is_ok()),
        "tracked: {notice:?}"
    );
    let created = reply.data()["id"].as_str().unwrap().to_owned();
    let listed = app
        .query("volumes.getAll", Some(json!({ "projectId": demo })))
        .await;
    assert!(
        listed
            .data()
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["id"] == created),
        "the next query sees it"
    );
}

#[tokio::test]
async fn bare_subscription_and_types_filter() {
    let app = TestApp::spawn_with(&["--coalesce-window", "0ms"]).await;
    let mut only_images = app
        .subscribe(Some(json!({ "types": ["images"] })), None)
        .await;
    let mut all = app.subscribe(None, None).await;
    app.admin_notify("volumes").await;
    app.admin_notify("images").await;
    assert_eq!(
        all.next_message(Duration::from_secs(2))
            .await
            .unwrap()
            .json()["type"],
        "volumes"
    );
    assert_eq!(
        all.next_message(Duration::from_secs(2))
            .await
            .unwrap()
            .json()["type"],
        "images"
    );
    assert_eq!(
        only_images
            .next_message(Duration::from_secs(2))
            .await
            .unwrap()
            .json()["type"],
        "images"
    );
}

#[tokio::test]
async fn resume_after_a_dropped_connection_misses_nothing() {
    let app = TestApp::spawn_with(&["--coalesce-window", "0ms"]).await;
    let mut first = app.subscribe(None, None).await;
    app.admin_notify("projects").await;
    let seen = first.next_message(Duration::from_secs(2)).await.unwrap();
    let last = seen.id.clone().unwrap();
    drop(first);
    for ty in ["volumes", "images", "networks"] {
        app.admin_notify(ty).await;
    }
    // Resume from the header (EventSource reconnect) and from the input (client-driven).
    for (input, header) in [
        (None, Some(last.as_str())),
        (Some(json!({ "lastEventId": last })), None),
    ] {
        let mut resumed = app.subscribe(input, header).await;
        let mut types = Vec::new();
        let mut ids = Vec::new();
        for _ in 0..3 {
            let event = resumed.next_message(Duration::from_secs(2)).await.unwrap();
            types.push(event.json()["type"].as_str().unwrap().to_owned());
            ids.push(event.id.unwrap().parse::<u64>().unwrap());
        }
        assert_eq!(types, ["volumes", "images", "networks"]);
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]) && ids[0] > last.parse().unwrap(),
            "{ids:?}"
        );
    }
}

#[tokio::test]
async fn resume_from_beyond_the_log_gets_a_resync() {
    let app = TestApp::spawn().await;
    let mut stream = app.subscribe(None, Some("999999")).await;
    let event = stream.next_message(Duration::from_secs(2)).await.unwrap();
    assert_eq!(event.json()["type"], "resync");
}

#[tokio::test]
async fn a_subscriber_that_stops_reading_gets_resync_while_others_keep_up() {
    let app = TestApp::spawn_with(&["--coalesce-window", "0ms"]).await;
    // A client that sends its request and then never reads.
    let mut stalled = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let request = format!(
        "GET /trpc/updates.subscribe HTTP/1.1\r\nhost: test\r\naccept: text/event-stream\r\n\
         authorization: Bearer {}\r\n\r\n",
        app.token
    );
    stalled.write_all(request.as_bytes()).await.unwrap();
    let mut reader = app.subscribe(None, None).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The reading client counts what it gets; the producer never runs more than a batch ahead of
    // it, so only the stalled client can fall behind. Large scopes fill the stalled socket's
    // buffers quickly.
    let total: usize = 12_000;
    let (seen_tx, mut seen_rx) = tokio::sync::watch::channel(0usize);
    let consumer = tokio::spawn(async move {
        for received in 1..=total {
            let event = reader
                .next_message(Duration::from_secs(10))
                .await
                .expect("keeps receiving");
            assert_ne!(
                event.json()["type"],
                "resync",
                "the reading client never lags"
            );
            seen_tx.send_replace(received);
        }
    });
    let padding = "p".repeat(2_000);
    for i in 0..total {
        app.state.updates.notify(
            tidings::updates::UpdateType::Volumes,
            Some(&format!("{padding}{i}")),
        );
        if i % 100 == 99 {
            seen_rx
                .wait_for(|seen| *seen > i - 50)
                .await
                .expect("consumer alive");
        }
    }
    consumer.await.unwrap();
    // Now read the stalled socket: its queue overflowed while it was not reading, so somewhere
    // in it is a resync notice ("refetch everything") instead of the notices it could not take.
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        use tokio::io::AsyncReadExt;
        let mut chunk = vec![0u8; 1 << 16];
        loop {
            let n = stalled.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            if String::from_utf8_lossy(&buf).contains("\"type\":\"resync\"") {
                break;
            }
        }
    })
    .await;
    assert!(String::from_utf8_lossy(&buf).contains("\"type\":\"resync\",\"reason\":\"lagged\""));
    assert!(app.state.updates.stats().resyncs >= 1);
}
