//! Tidings' domain-agnostic RPC engine.
//!
//! - [`error`]: the one error table (tRPC shape, HTTP status, JSON-RPC code).
//! - [`event`]: subscription values, encoded once and shared across subscribers.
//! - [`procedure`]: the registry of typed procedures every transport serves.
//! - [`limits`]: input depth and call deadlines, enforced by the registry for every transport.
//! - [`trpc`]: tRPC v11 over HTTP (single, batch, JSONL stream), SSE and WebSocket.
//! - [`jsonrpc`]: JSON-RPC 2.0 over HTTP and WebSocket (jsonrpsee), with an OpenRPC document.
//! - [`body`]: zero-copy response bodies made of shared chunks.
//! - [`listener`]: admitting connections within a process cap and a per-address cap (503 / 429
//!   beyond), and an accept loop that backs off when out of file descriptors.
//! - [`serve`]: serving a router over hyper with a deadline for request headers.
//! - [`metrics`]: the metrics facade transports report to, served as Prometheus text.
//! - [`typescript`]: the TypeScript bindings (wire types, `AppRouter`, `UPDATE_QUERY_MAP`).
//! - `fuzzing` (hidden): the transports' request decoders, for the fuzz targets and property tests.

#![warn(missing_docs, unreachable_pub)]

pub mod error;
pub mod event;

pub use error::{ErrorCode, RpcError};
pub use event::{Event, Frame, Notice};
pub mod limits;
pub mod procedure;

pub use limits::Limits;

pub use procedure::{
    Admission, Ctx, Encoded, EventStream, Locals, Payload, ProcedureKind, RawInput, Registry,
    RequestMeta, Transport,
};
pub mod body;
#[doc(hidden)]
pub mod fuzzing;
pub mod jsonrpc;
pub mod listener;
pub mod metrics;
pub mod serve;
pub mod trpc;
pub mod typescript;

pub use jsonrpc::{JsonRpcConfig, jsonrpc_router};
pub use metrics::Metrics;
pub use trpc::{SseConfig, Trpc, TrpcConfig, WsConfig};
