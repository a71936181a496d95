//! One socket's outbound queue, bounded in frames and bytes. Producers (handlers, subscriptions)
//! never wait on the socket: a client that stops reading lets its queue fill up, and is then
//! disconnected instead of slowing anyone or growing memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::SinkExt;
use futures::stream::SplitSink;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The sending side of a socket's queue; cheap to clone.
#[derive(Debug, Clone)]
pub(super) struct Outbox {
    inner: Arc<Inner>,
    tx: mpsc::UnboundedSender<Message>,
}

#[derive(Debug)]
struct Inner {
    max_frames: usize,
    max_bytes: usize,
    frames: AtomicUsize,
    bytes: AtomicUsize,
    /// Cancelled once a frame did not fit: the connection must be dropped.
    overflowed: CancellationToken,
}

impl Outbox {
    /// A queue of at most `max_frames` frames and `max_bytes` bytes (a single larger frame is
    /// still accepted into an empty queue), and the task writing it to `sink`.
    pub(super) fn start(
        sink: SplitSink<WebSocket, Message>,
        max_frames: usize,
        max_bytes: usize,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let inner = Arc::new(Inner {
            max_frames: max_frames.max(1),
            max_bytes,
            frames: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            overflowed: CancellationToken::new(),
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let writer = tokio::spawn(write(sink, rx, inner.clone()));
        (Self { inner, tx }, writer)
    }

    /// Queues a text frame. Returns `false` (and marks the queue overflowed) when it does not
    /// fit.
    pub(super) fn push(&self, text: impl Into<String>) -> bool {
        let text = text.into();
        let inner = &self.inner;
        if inner.overflowed.is_cancelled() {
            return false;
        }
        let len = text.len();
        let frames = inner.frames.fetch_add(1, Ordering::AcqRel) + 1;
        let bytes = inner.bytes.fetch_add(len, Ordering::AcqRel) + len;
        if frames > inner.max_frames || (bytes > inner.max_bytes && frames > 1) {
            inner.frames.fetch_sub(1, Ordering::AcqRel);
            inner.bytes.fetch_sub(len, Ordering::AcqRel);
            inner.overflowed.cancel();
            return false;
        }
        self.tx.send(Message::Text(text.into())).is_ok()
    }

    /// Queues a close frame (outside the limits); the writer stops after sending it.
    pub(super) fn close(&self, code: u16, reason: &'static str) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = self.tx.send(Message::Close(Some(frame)));
    }

    /// Resolves once a frame did not fit.
    pub(super) async fn overflowed(&self) {
        self.inner.overflowed.cancelled().await;
    }
}

/// Writes queued frames, flushing once per burst, until a close frame, a write error, or the
/// last sender going away.
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::UnboundedReceiver<Message>,
    inner: Arc<Inner>,
) {
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(message) = next.take() {
            let closing = matches!(message, Message::Close(_));
            let len = match &message {
                Message::Text(text) => Some(text.len()),
                _ => None,
            };
            if sink.feed(message).await.is_err() {
                return;
            }
            if let Some(len) = len {
                inner.frames.fetch_sub(1, Ordering::AcqRel);
                inner.bytes.fetch_sub(len, Ordering::AcqRel);
            }
            if closing {
                let _ = sink.flush().await;
                return;
            }
            next = rx.try_recv().ok();
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
    // Every sender is gone: finish the close handshake (or start it).
    let _ = sink.close().await;
}
