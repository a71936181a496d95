//! The measurements: each runs against one server and returns raw figures; the runner lines
//! them up across servers and against the targets.

pub mod fanout;
pub mod herd;
pub mod queries;
pub mod worker;

use futures::StreamExt;

use std::time::Duration;

use tokio::time::Instant;

use crate::client::{Conn, Subscriber, Triggers, WsProtocol, WsSubscriber};
use crate::servers::{Kind, SUBSCRIBE, Server};

/// Connections opened at once (the listen backlog of every server is larger).
const CONNECT_CONCURRENCY: usize = 128;

/// Opens `count` SSE subscriptions to `server` (with its session); the ones that failed are
/// counted, not fatal.
pub async fn subscribe_many(server: &Server, count: usize) -> (Vec<Subscriber>, usize) {
    open_all(count, || {
        Subscriber::open(server.addr, SUBSCRIBE, server.auth.clone())
    })
    .await
}

/// Runs `open` `count` times, [`CONNECT_CONCURRENCY`] at once: what opened, and how many
/// failed (the first failure is printed).
async fn open_all<T, F, Fut>(count: usize, open: F) -> (Vec<T>, usize)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let opened: Vec<_> = futures::stream::iter(0..count)
        .map(|_| open())
        .buffer_unordered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    let failed = opened.iter().filter(|r| r.is_err()).count();
    if let Some(Err(error)) = opened.iter().find(|r| r.is_err()) {
        eprintln!("  {failed} subscriptions failed, first: {error:#}");
    }
    (opened.into_iter().filter_map(Result::ok).collect(), failed)
}

/// How fan-out subscribers connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `updates.subscribe` over SSE (`httpSubscriptionLink`).
    Sse,
    /// `updates.subscribe` over tRPC's WebSocket protocol (`wsLink`).
    TrpcWs,
    /// `updates.subscribe` over JSON-RPC 2.0 on a WebSocket.
    JsonRpcWs,
}

impl Transport {
    /// The name in the table.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Sse => "SSE",
            Transport::TrpcWs => "tRPC WebSocket",
            Transport::JsonRpcWs => "JSON-RPC WebSocket",
        }
    }

    /// Whether `server` serves it (the ceiling answers every WebSocket with its plain one).
    pub fn served_by(self, server: &Server) -> bool {
        !(self == Transport::JsonRpcWs && server.kind == Kind::Node)
    }
}

/// A subscriber on any transport.
pub enum AnySubscriber {
    /// Over SSE.
    Sse(Subscriber),
    /// Over a WebSocket.
    Ws(Box<WsSubscriber>),
}

impl AnySubscriber {
    /// Subscribes to `server` over `transport`.
    pub async fn open(server: &Server, transport: Transport) -> anyhow::Result<Self> {
        let protocol = match (transport, server.kind) {
            (Transport::Sse, _) => {
                let auth = server.auth.clone();
                return Ok(Self::Sse(
                    Subscriber::open(server.addr, SUBSCRIBE, auth).await?,
                ));
            }
            (_, Kind::Bare) => WsProtocol::Plain,
            (Transport::TrpcWs, _) => WsProtocol::Trpc,
            (Transport::JsonRpcWs, _) => WsProtocol::JsonRpc,
        };
        Ok(Self::Ws(Box::new(
            WsSubscriber::open(server.addr, protocol, server.auth.as_deref()).await?,
        )))
    }

    /// Reads until `deadline`, reporting the run's notices as they arrive; returns how many
    /// resync notices came.
    pub async fn listen(
        self,
        run: &str,
        triggers: &Triggers,
        deadline: Instant,
        on_notice: impl FnMut(usize, Duration),
    ) -> u64 {
        match self {
            Self::Sse(s) => s.listen(run, triggers, deadline, on_notice).await,
            Self::Ws(s) => s.listen(run, triggers, deadline, on_notice).await,
        }
    }
}

/// Opens `count` subscriptions over `transport`; failures are counted, not fatal.
pub async fn subscribe_any(
    server: &Server,
    transport: Transport,
    count: usize,
) -> (Vec<AnySubscriber>, usize) {
    open_all(count, || AnySubscriber::open(server, transport)).await
}

/// Opens `count` keep-alive connections to `server` (with its session).
pub async fn connect_many(server: &Server, count: usize) -> anyhow::Result<Vec<Conn>> {
    futures::stream::iter(0..count)
        .map(|_| server.conn())
        .buffer_unordered(CONNECT_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}
