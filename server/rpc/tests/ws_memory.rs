//! What an idle tRPC WebSocket costs in resident memory (Linux): small socket buffers keep it
//! to a few KiB, while 10 MB messages still go both ways.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tidings_rpc::{Registry, Trpc, TrpcConfig, WsConfig};
use tidings_rpc_test_support::fixtures::echo;
use tidings_rpc_test_support::{WsClient, serve};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// This process's resident memory in bytes (nextest runs each test in a process of its own).
fn resident_bytes() -> isize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: isize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    pages * 4096
}

async fn start(ws: WsConfig) -> String {
    let mut registry = Registry::new();
    registry.query("echo.get", echo::<String, _>);
    let config = TrpcConfig {
        max_body_bytes: 16 << 20,
        ws: WsConfig {
            max_message_bytes: 16 << 20,
            ..ws
        },
        ..TrpcConfig::default()
    };
    let trpc = Trpc::new(Arc::new(registry), (), config);
    let addr = serve(trpc.router()).await;
    format!("ws://{addr}/trpc")
}

/// A client whose own buffers are small, so the count is mostly the server's.
async fn connect(url: &str) -> WsClient {
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let mut socket = WsClient::connect_with(url, config).await;
    socket.send("PING").await;
    assert_eq!(socket.recv().await, "PONG");
    socket
}

/// Resident bytes per socket while `count` sockets sit idle.
async fn idle_cost(url: &str, count: usize) -> isize {
    // Warm up what every connection shares (runtime, first-use statics).
    drop(connect(url).await);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let before = resident_bytes();
    let mut sockets = Vec::with_capacity(count);
    for _ in 0..count {
        sockets.push(connect(url).await);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let after = resident_bytes();
    drop(sockets);
    (after - before) / count as isize
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_cost_little_and_large_messages_still_work() {
    let url = start(WsConfig::default()).await;
    let cost = idle_cost(&url, 200).await;
    println!("idle tRPC WebSocket: {cost} bytes each (client and server)");
    assert!(cost < 64 << 10, "{cost} bytes per idle socket");

    // tungstenite's default buffers, for comparison: this test would fail with them.
    let defaults = start(WsConfig {
        read_buffer_bytes: 128 << 10,
        write_buffer_bytes: 128 << 10,
        ..WsConfig::default()
    })
    .await;
    let default_cost = idle_cost(&defaults, 200).await;
    println!("with 128 KiB buffers: {default_cost} bytes each");
    assert!(default_cost > cost + (64 << 10));

    // A 10 MB message in, a 10 MB answer out, over small buffers.
    let mut socket = connect(&url).await;
    let big = "x".repeat(10_000_000);
    let frame = serde_json::json!({
        "id": 1,
        "method": "query",
        "params": { "path": "echo.get", "input": big },
    });
    socket.send_json(frame).await;
    let reply = socket.recv_within(Duration::from_secs(20)).await;
    let reply: Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(reply["id"], 1);
    assert_eq!(
        reply["result"]["data"].as_str().map(str::len),
        Some(10_000_000)
    );
}
