//! A WebSocket subscriber: tRPC's WebSocket protocol (`wsLink`), JSON-RPC 2.0 (jsonrpsee), or
//! the bare ceiling's plain broadcast; each benchmark notice is timestamped as it arrives.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{RESYNC, Triggers, find, notice_seq};

/// Which protocol the socket speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsProtocol {
    /// tRPC over WebSocket at `/trpc`.
    Trpc,
    /// JSON-RPC 2.0 over WebSocket at `/rpc`.
    JsonRpc,
    /// The bare ceiling's `/ws`: notices as text frames, nothing else.
    Plain,
}

impl WsProtocol {
    fn path(self) -> &'static str {
        match self {
            WsProtocol::Trpc => "/trpc",
            WsProtocol::JsonRpc => "/rpc",
            WsProtocol::Plain => "/ws",
        }
    }

    fn subscribe_message(self) -> Option<&'static str> {
        match self {
            WsProtocol::Trpc => Some(
                r#"{"id":1,"method":"subscription","params":{"path":"updates.subscribe","input":{}}}"#,
            ),
            WsProtocol::JsonRpc => {
                Some(r#"{"jsonrpc":"2.0","id":1,"method":"updates.subscribe","params":{}}"#)
            }
            WsProtocol::Plain => None,
        }
    }
}

/// An open WebSocket subscription (the server confirmed it).
pub struct WsSubscriber {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl WsSubscriber {
    /// Connects (sending `auth` as `authorization` on the upgrade), subscribes, and waits for
    /// the confirmation (or the ceiling's greeting).
    pub async fn open(
        addr: SocketAddr,
        protocol: WsProtocol,
        auth: Option<&str>,
    ) -> anyhow::Result<Self> {
        let url = format!("ws://{addr}{}", protocol.path());
        let mut request = url.as_str().into_client_request()?;
        if let Some(auth) = auth {
            request
                .headers_mut()
                .insert(http::header::AUTHORIZATION, auth.parse()?);
        }
        let (mut socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .with_context(|| format!("connect {url}"))?;
        if let Some(message) = protocol.subscribe_message() {
            socket.send(Message::text(message)).await?;
        }
        let first = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .context("no answer to the subscription")?;
        match first {
            Some(Ok(Message::Text(text))) if !text.contains("\"error\"") => Ok(Self { socket }),
            other => bail!("subscribe over {protocol:?}: {other:?}"),
        }
    }

    /// Reads until `deadline`, calling `on_notice(seq, latency)` for each of the run's notices;
    /// returns how many resync notices came.
    pub async fn listen(
        mut self,
        run: &str,
        triggers: &Triggers,
        deadline: Instant,
        mut on_notice: impl FnMut(usize, Duration),
    ) -> u64 {
        let mut resyncs = 0;
        while let Ok(Some(Ok(message))) =
            tokio::time::timeout_at(deadline, self.socket.next()).await
        {
            let now = Instant::now();
            let Message::Text(text) = message else {
                continue;
            };
            if let Some(seq) = notice_seq(text.as_bytes(), run)
                && let Some(sent) = triggers.sent(seq)
            {
                on_notice(seq, now.saturating_duration_since(sent));
            } else if find(text.as_bytes(), RESYNC).is_some() {
                resyncs += 1;
            }
        }
        resyncs
    }
}
