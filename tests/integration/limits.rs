//! The `// Limits` flags wired through the server, and graceful shutdown end to end: in-flight
//! requests finish, update streams end so clients reconnect, and the server is gone within its
//! grace period even when a client holds a response open.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tidings_sim::{Fault, FaultKind, Service};
use tidings_tests::TestApp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn a_call_past_call_timeout_answers_timeout() {
    let app = TestApp::spawn_with(&["--call-timeout", "300ms"]).await;
    let demo = app.project_id("demo");
    app.sim
        .inject(Fault::new(Service::Volume, FaultKind::Latency { ms: 3000 }));
    let started = Instant::now();
    let reply = app
        .mutate(
            "volumes.create",
            json!({ "projectId": demo, "name": "slow", "sizeGb": 1 }),
        )
        .await;
    assert_eq!(reply.status, 408, "{}", reply.body);
    assert_eq!(reply.error_code(), "TIMEOUT");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn connections_over_max_connections_per_ip_get_429() {
    let app = TestApp::spawn_with(&["--max-connections-per-ip", "4"]).await;
    let mut open = Vec::new();
    let (mut served, mut refused) = (0, 0);
    for _ in 0..8 {
        let mut stream = TcpStream::connect(app.addr).await.expect("connect");
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: test\r\n\r\n")
            .await
            .expect("write");
        let mut head = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut head))
            .await
            .expect("an answer in time")
            .expect("read");
        let status = String::from_utf8_lossy(&head[..n]).into_owned();
        if status.starts_with("HTTP/1.1 200") {
            served += 1;
        } else {
            assert!(status.starts_with("HTTP/1.1 429"), "{status}");
            refused += 1;
        }
        open.push(stream);
    }
    // Connections of the test's own HTTP clients may still count for a moment.
    assert!((1..=4).contains(&served), "{served} served");
    assert_eq!(served + refused, 8);
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests_and_ends_streams() {
    let app = TestApp::spawn_with(&["--shutdown-grace", "10s"]).await;
    let demo = app.project_id("demo");
    let mut stream = app.subscribe(None, None).await;
    app.sim
        .inject(Fault::new(Service::Volume, FaultKind::Latency { ms: 1500 }));
    let http = app.http.clone();
    let url = format!("{}/trpc/volumes.create", app.base);
    let in_flight = tokio::spawn(async move {
        let response = http
            .post(url)
            .json(&json!({ "projectId": demo, "name": "late", "sizeGb": 1 }))
            .send()
            .await
            .expect("an answer, not a dropped connection");
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.expect("JSON"))
    });
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started = Instant::now();
    app.stop().await;
    let took = started.elapsed();
    // It waited for the request (about a second of upstream latency left), not the grace.
    assert!(took >= Duration::from_millis(500), "stopped after {took:?}");
    assert!(took < Duration::from_secs(8), "stopped after {took:?}");
    let (status, body) = in_flight.await.expect("request task");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["data"]["name"], "late");

    // The stream ended without `return`, which tells the client to reconnect and resume.
    let mut events = Vec::new();
    while let Some(event) = stream.next_within(Duration::from_secs(5)).await {
        events.push(event.event);
    }
    assert!(!events.iter().any(|e| e == "return"), "{events:?}");
}

#[tokio::test]
async fn shutdown_gives_up_after_the_grace_period() {
    let dir = console_with_big_file();
    let dir_arg = dir.display().to_string();
    let app = TestApp::spawn_with(&["--shutdown-grace", "500ms", "--console-dir", &dir_arg]).await;

    // A client that starts a large download and stops reading keeps its response in flight.
    let mut slow = TcpStream::connect(app.addr).await.expect("connect");
    slow.write_all(b"GET /big.bin HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .expect("write");
    let mut head = [0u8; 1024];
    let n = slow.read(&mut head).await.expect("read");
    assert!(
        String::from_utf8_lossy(&head[..n]).starts_with("HTTP/1.1 200"),
        "download did not start"
    );

    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), app.stop())
        .await
        .expect("the server stops");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(450), "stopped after {took:?}");
    assert!(took < Duration::from_secs(4), "stopped after {took:?}");
    drop(slow);
    std::fs::remove_dir_all(dir).expect("remove console dir");
}

/// A console directory with an `index.html` and a 64 MiB `big.bin`, larger than what socket
/// buffers absorb.
fn console_with_big_file() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tidings-grace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("console dir");
    std::fs::write(dir.join("index.html"), "<!doctype html>").expect("index");
    std::fs::write(dir.join("big.bin"), vec![0u8; 64 << 20]).expect("big file");
    dir
}
