//! A WebSocket client for the tRPC socket, frame by frame: what it sends is text, what it reads
//! is the next text frame, and pings and pongs are passed over.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a client waits for a frame, or for the socket to close.
pub const WAIT: Duration = Duration::from_secs(5);

/// One open WebSocket.
pub struct WsClient {
    /// The socket itself, for frames other than text and for closing it.
    pub socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl WsClient {
    /// Connects to `url` (`ws://ADDR/trpc`).
    pub async fn connect(url: &str) -> Self {
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect");
        Self { socket }
    }

    /// Connects to `url` with the client's own socket settings (buffer sizes).
    pub async fn connect_with(url: &str, config: WebSocketConfig) -> Self {
        let (socket, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), false)
            .await
            .expect("connect");
        Self { socket }
    }

    /// Sends one text frame.
    pub async fn send(&mut self, text: impl Into<String>) {
        let text: String = text.into();
        self.socket
            .send(Message::Text(text.into()))
            .await
            .expect("send");
    }

    /// Sends `value` as one text frame.
    pub async fn send_json(&mut self, value: Value) {
        self.send(value.to_string()).await;
    }

    /// The next text frame, within [`WAIT`].
    pub async fn recv(&mut self) -> String {
        self.recv_within(WAIT).await
    }

    /// The next text frame, waiting at most `wait` for each frame; panics on any frame that is
    /// neither text nor a ping or pong.
    pub async fn recv_within(&mut self, wait: Duration) -> String {
        loop {
            let message = tokio::time::timeout(wait, self.socket.next())
                .await
                .expect("no frame in time")
                .expect("socket ended")
                .expect("socket error");
            match message {
                Message::Text(text) => return text.as_str().to_owned(),
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    /// The next text frame, parsed as JSON.
    pub async fn recv_json(&mut self) -> Value {
        crate::parse_json(&self.recv().await)
    }

    /// Asserts that nothing arrives for a while.
    pub async fn silence(&mut self) {
        if let Ok(frame) =
            tokio::time::timeout(Duration::from_millis(200), self.socket.next()).await
        {
            panic!("expected silence, got {frame:?}");
        }
    }

    /// Waits for the server's close frame and returns its code (1005 for none given, 1006 for
    /// a socket that ended without one).
    pub async fn closed(&mut self) -> u16 {
        loop {
            match tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("not closed in time")
            {
                Some(Ok(Message::Close(frame))) => return frame.map_or(1005, |f| f.code.into()),
                Some(Ok(Message::Text(text))) => panic!("frame before close: {text}"),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return 1006,
            }
        }
    }
}
