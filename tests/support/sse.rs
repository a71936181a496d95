//! A minimal Server-Sent Events reader over a real HTTP response, for tests.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;

/// One parsed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// `event:` (empty for the default `message`).
    pub event: String,
    /// `data:` lines joined with `\n`.
    pub data: String,
    /// `id:` when present (possibly empty).
    pub id: Option<String>,
}

impl SseEvent {
    /// The data as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data)
            .unwrap_or_else(|e| panic!("event data is not JSON ({e}): {:?}", self.data))
    }
}

/// Reads events from a streaming response body.
pub struct SseReader {
    body: BoxStream<'static, reqwest::Result<Bytes>>,
    buffer: String,
}

impl SseReader {
    /// Wraps a response (which must be `text/event-stream`).
    pub fn new(response: reqwest::Response) -> Self {
        assert_eq!(
            response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("text/event-stream"),
            "not an SSE response"
        );
        Self {
            body: response.bytes_stream().boxed(),
            buffer: String::new(),
        }
    }

    /// The next event, or `None` when the stream ended; panics after `timeout`.
    pub async fn next_within(&mut self, timeout: Duration) -> Option<SseEvent> {
        tokio::time::timeout(timeout, self.next())
            .await
            .expect("timed out waiting for an SSE event")
    }

    /// The next event, or `None` when the stream ended.
    pub async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(event) = self.take_event() {
                if event.event.is_empty() && event.data.is_empty() && event.id.is_none() {
                    continue;
                }
                return Some(event);
            }
            let chunk = self.body.next().await?.ok()?;
            self.buffer
                .push_str(std::str::from_utf8(&chunk).expect("utf-8"));
        }
    }

    /// The next event that is not a `ping`, `connected` or `restore-id`.
    pub async fn next_message(&mut self, timeout: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let event = self.next_within(left).await?;
            if !matches!(event.event.as_str(), "ping" | "connected" | "restore-id") {
                return Some(event);
            }
        }
    }

    fn take_event(&mut self) -> Option<SseEvent> {
        let end = self.buffer.find("\n\n")?;
        let block: String = self.buffer.drain(..end + 2).collect();
        let mut event = SseEvent {
            event: String::new(),
            data: String::new(),
            id: None,
        };
        let mut data_lines = Vec::new();
        for line in block.lines() {
            let (field, value) = line
                .split_once(':')
                .map(|(f, v)| (f, v.strip_prefix(' ').unwrap_or(v)))
                .unwrap_or((line, ""));
            match field {
                "event" => event.event = value.to_owned(),
                "data" => data_lines.push(value.to_owned()),
                "id" => event.id = Some(value.to_owned()),
                _ => {}
            }
        }
        event.data = data_lines.join("\n");
        Some(event)
    }
}
