//! Test support for the engine's integration tests (`server/rpc/tests/*.rs`): the fixture
//! procedures and wire types they share, a server on `127.0.0.1:0`, and clients for requests
//! through a router, over HTTP and over a WebSocket.
//!
//! A dev-only crate rather than a `mod support;` compiled into every test binary: each binary
//! uses only part of it, and a library's public items are never dead code, so nothing here needs
//! an `allow(dead_code)`.
//!
//! - [`fixtures`]: handlers and wire types registered under each test's own paths.
//! - [`events`]: notices, and streams counted while they are alive.
//! - [`oneshot`]: requests through a router without a socket.
//! - [`client`]: requests over a real socket with `reqwest`.
//! - [`ws`]: a tRPC WebSocket client, frame by frame.

pub mod client;
pub mod events;
pub mod fixtures;
pub mod oneshot;
pub mod ws;

use std::net::SocketAddr;
use std::time::Duration;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;
use tokio::net::TcpListener;

pub use events::{counted_in, notice};
pub use oneshot::Reply;
pub use ws::{WAIT, WsClient};

/// A listener on `127.0.0.1:0` and the address it got.
pub async fn listen() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    (listener, addr)
}

/// Serves `router` on `127.0.0.1:0` in the background, for as long as the test runs.
pub async fn serve(router: axum::Router) -> SocketAddr {
    let (listener, addr) = listen().await;
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// Waits until `read` gives `wanted`, checking every 10 ms for 2 s; panics with `what` and the
/// last value read after that.
pub async fn wait_for(what: &str, wanted: usize, read: impl Fn() -> usize) {
    for _ in 0..200 {
        if read() == wanted {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what}: {}, expected {wanted}", read());
}

/// `text` percent-encoded for a query string or a path: everything but ASCII letters and digits.
pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

/// `text` parsed as JSON, panicking with the text when it is not.
pub fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}
