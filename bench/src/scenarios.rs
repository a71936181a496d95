//! The measurements: each runs against one server and returns raw figures; the runner lines
//! them up across servers and against the targets.

pub mod fanout;
pub mod herd;
pub mod queries;
pub mod worker;

use std::net::SocketAddr;

use futures::StreamExt;

use crate::client::{Conn, Subscriber};
use crate::servers::SUBSCRIBE;

/// Connections opened at once (the listen backlog of every server is larger).
const CONNECT_CONCURRENCY: usize = 128;

/// Opens `count` SSE subscriptions; the ones that failed are counted, not fatal.
pub async fn subscribe_many(addr: SocketAddr, count: usize) -> (Vec<Subscriber>, usize) {
    let opened: Vec<_> = futures::stream::iter(0..count)
        .map(|_| Subscriber::open(addr, SUBSCRIBE))
        .buffer_unordered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    let failed = opened.iter().filter(|r| r.is_err()).count();
    if let Some(Err(error)) = opened.iter().find(|r| r.is_err()) {
        eprintln!("  {failed} subscriptions failed, first: {error:#}");
    }
    (opened.into_iter().filter_map(Result::ok).collect(), failed)
}

/// Opens `count` keep-alive connections.
pub async fn connect_many(addr: SocketAddr, count: usize) -> anyhow::Result<Vec<Conn>> {
    futures::stream::iter(0..count)
        .map(|_| Conn::open(addr))
        .buffer_unordered(CONNECT_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}
