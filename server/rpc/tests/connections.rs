//! The per-address connection cap over real sockets: connections over the cap get a complete
//! `429` with a JSON body and are closed, the others are untouched, and counts go back down
//! when connections close, whoever closes them (client, server, WebSocket).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tidings_rpc::listener::{ConnectionCounts, ConnectionLimits};
use tidings_rpc::serve::{ServeConfig, Server};
use tidings_rpc::{Ctx, Registry, Trpc, TrpcConfig};
use tidings_rpc_test_support::{WsClient, listen, wait_for};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

async fn start(max_per_ip: usize) -> (SocketAddr, ConnectionCounts) {
    let mut registry = Registry::new();
    registry.query("hello.get", |_: Ctx<()>, _: ()| async { Ok("hi") });
    let trpc = Trpc::new(Arc::new(registry), (), TrpcConfig::default());
    let router = Router::new()
        .route("/hello", get(|| async { "hi" }))
        .merge(trpc.router());
    let (listener, addr) = listen().await;
    let server = Server::new(&ServeConfig {
        limits: ConnectionLimits {
            max_connections: 0,
            max_per_ip,
        },
        ..ServeConfig::default()
    });
    let counts = server.counts();
    let shutdown = tokio_util::sync::CancellationToken::new();
    tokio::spawn(server.run(listener, router, shutdown));
    (addr, counts)
}

/// Sends one keep-alive GET and reads its whole answer: the status line and the body.
async fn get_hello(stream: &mut TcpStream) -> (String, String) {
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .expect("write");
    read_response(stream).await
}

async fn read_response(stream: &mut TcpStream) -> (String, String) {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("an answer in time")
            .expect("read");
        raw.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&raw).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_owned)
                })
                .and_then(|v| v.trim().parse::<usize>().ok());
            if length.is_some_and(|len| body.len() >= len) {
                return (head.lines().next().unwrap_or_default().into(), body.into());
            }
        }
        assert!(n > 0, "connection closed mid-answer: {text}");
    }
}

/// Waits until `ip` has `n` open connections.
async fn open_becomes(counts: &ConnectionCounts, n: usize) {
    wait_for("open connections", n, || counts.open_from(LOCALHOST)).await;
}

#[tokio::test]
async fn over_the_cap_a_connection_gets_429_and_is_closed() {
    let (addr, counts) = start(2).await;
    let mut first = TcpStream::connect(addr).await.unwrap();
    let mut second = TcpStream::connect(addr).await.unwrap();
    assert_eq!(get_hello(&mut first).await.0, "HTTP/1.1 200 OK");
    assert_eq!(get_hello(&mut second).await.0, "HTTP/1.1 200 OK");
    assert_eq!(counts.open_from(LOCALHOST), 2);

    // The third sends its request and gets a whole answer, then the end of the stream.
    let mut third = TcpStream::connect(addr).await.unwrap();
    let (status, body) = get_hello(&mut third).await;
    assert_eq!(status, "HTTP/1.1 429 Too Many Requests");
    let body: serde_json::Value = serde_json::from_str(&body).expect("JSON body");
    assert_eq!(body["error"]["data"]["code"], "TOO_MANY_REQUESTS");
    assert_eq!(
        body["error"]["message"],
        "Too many open connections from this address (at most 2)"
    );
    let mut rest = Vec::new();
    let end = tokio::time::timeout(Duration::from_secs(5), third.read_to_end(&mut rest)).await;
    assert!(end.expect("closed in time").is_ok() && rest.is_empty());

    // The first two were not disturbed.
    assert_eq!(get_hello(&mut first).await.0, "HTTP/1.1 200 OK");
    assert_eq!(counts.open_from(LOCALHOST), 2);

    // Once one closes, a new connection is served.
    drop(first);
    open_becomes(&counts, 1).await;
    let mut fourth = TcpStream::connect(addr).await.unwrap();
    assert_eq!(get_hello(&mut fourth).await.0, "HTTP/1.1 200 OK");
}

#[tokio::test]
async fn counts_go_back_down_whoever_closes() {
    let (addr, counts) = start(3).await;
    for round in 0..20 {
        let mut streams = Vec::new();
        for _ in 0..5 {
            streams.push(TcpStream::connect(addr).await.unwrap());
        }
        let mut served = 0;
        for stream in &mut streams {
            if get_hello(stream).await.0 == "HTTP/1.1 200 OK" {
                served += 1;
            }
        }
        assert_eq!(served, 3, "round {round}");
        drop(streams);
        open_becomes(&counts, 0).await;
    }

    // The server closes this one (`connection: close`).
    let mut closing = TcpStream::connect(addr).await.unwrap();
    closing
        .write_all(b"GET /hello HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut all = Vec::new();
    closing.read_to_end(&mut all).await.unwrap();
    open_becomes(&counts, 0).await;

    // A WebSocket is counted while it is open, however long that is.
    let mut ws = WsClient::connect(&format!("ws://{addr}/trpc")).await;
    ws.send("PING").await;
    assert_eq!(ws.recv().await, "PONG");
    open_becomes(&counts, 1).await;
    ws.socket.close(None).await.unwrap();
    drop(ws);
    open_becomes(&counts, 0).await;
    assert_eq!(counts.total(), 0);
    assert_eq!(counts.addresses(), 0);
}

#[tokio::test]
async fn zero_means_no_cap() {
    let (addr, counts) = start(0).await;
    let mut streams = Vec::new();
    for _ in 0..50 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        assert_eq!(get_hello(&mut stream).await.0, "HTTP/1.1 200 OK");
        streams.push(stream);
    }
    assert_eq!(counts.open_from(LOCALHOST), 50);
    drop(streams);
    open_becomes(&counts, 0).await;
}
