//! Integration tests: a real Tidings server on port 0 over the real simulator.

mod jsonrpc;
mod limits;
mod metrics;
mod mutations;
mod protocol;
mod redis;
mod stream;
mod worker;
