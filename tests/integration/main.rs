//! Integration tests: a real Tidings server on port 0 over the real simulator.

mod attacks;
mod auth;
mod docs_claims;
mod faults;
mod jsonrpc;
mod limits;
mod metrics;
mod mutations;
mod protocol;
mod redis;
mod redis_sessions;
mod replay;
mod stream;
mod worker;
