//! Subscription events: the values a subscription yields, encoded once and shared by every
//! subscriber and every transport.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use serde::Serialize;

use crate::error::RpcError;

/// One value yielded by a subscription, already encoded as JSON.
///
/// A notice is built once by its producer and handed to every subscriber as an `Arc<Notice>`;
/// each transport renders its frame at most once per notice (see [`Notice::frame`]), so fan-out
/// never formats per subscriber.
#[derive(Debug)]
pub struct Notice {
    /// The tracking id, when the value is tracked (tRPC `tracked(id, data)`); clients resume from it.
    id: Option<Arc<str>>,
    /// The value as JSON text.
    json: Bytes,
    /// Per-transport frames, rendered lazily and cached (index = [`Frame`] as usize).
    frames: [OnceLock<Bytes>; Frame::COUNT],
}

/// The transports' frame kinds a notice may be rendered into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A tRPC SSE event (`data: …\nid: …\n\n\n`).
    TrpcSse = 0,
    /// A tRPC WebSocket result body shared by all subscription ids (the part after the id).
    TrpcWs = 1,
    /// A JSON-RPC 2.0 subscription message body.
    JsonRpc = 2,
    /// Spare slot for a transport-specific cache.
    Other = 3,
}

impl Frame {
    const COUNT: usize = 4;
}

impl Notice {
    /// A notice from pre-encoded JSON bytes. The caller guarantees `json` is valid JSON.
    pub fn from_json(id: Option<Arc<str>>, json: Bytes) -> Self {
        Self {
            id,
            json,
            frames: Default::default(),
        }
    }

    /// Encodes `value` once into a notice.
    pub fn new<T: Serialize>(id: Option<Arc<str>>, value: &T) -> Result<Self, serde_json::Error> {
        Ok(Self::from_json(id, Bytes::from(serde_json::to_vec(value)?)))
    }

    /// The tracking id, if any.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The value as JSON text.
    pub fn json(&self) -> &Bytes {
        &self.json
    }

    /// The frame for `kind`, rendered by `render` the first time and shared afterwards.
    pub fn frame(&self, kind: Frame, render: impl FnOnce(&Self) -> Bytes) -> Bytes {
        self.frames[kind as usize]
            .get_or_init(|| render(self))
            .clone()
    }
}

/// What a subscription stream yields.
#[derive(Debug, Clone)]
pub enum Event {
    /// A value for the client.
    Notice(Arc<Notice>),
    /// The subscription failed; the transport reports the error and ends the stream.
    Error(RpcError),
}

impl From<Arc<Notice>> for Event {
    fn from(notice: Arc<Notice>) -> Self {
        Event::Notice(notice)
    }
}
