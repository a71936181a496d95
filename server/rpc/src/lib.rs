//! Tidings' domain-agnostic RPC engine.
//!
//! - [`error`]: the one error table (tRPC shape, HTTP status, JSON-RPC code).
//! - [`event`]: subscription values, encoded once and shared across subscribers.

pub mod error;
pub mod event;

pub use error::{ErrorCode, RpcError};
pub use event::{Event, Frame, Notice};
