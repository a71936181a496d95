//! `tidings-bench`: the benchmark behind `just bench`.
//!
//! - [`cli`]: the command line (`run`, `soak`, `bare`, `worker`).
//! - [`machine`]: what the machine is, and a process's CPU time and RSS from `/proc`.
//! - [`client`]: a lean HTTP/1.1 load client (hyper connections) and an SSE subscriber.
//! - [`bare`]: the bare ceiling: the same bytes from memory, a plain broadcast, no protocol.
//! - [`servers`]: starting the three servers under test and talking to them alike.
//! - [`scenarios`]: fan-out, queries, herd and worker measurements.
//! - [`stats`]: latency percentiles.
//! - [`report`]: the one table, targets and the BENCHMARKS.md file.
//! - [`soak`]: `just soak`, a bounded soak of a real server (RSS and file descriptors).
//! - [`runner`]: the whole run, in order.
//! - [`scale_out`]: the fan-out over two instances sharing one Redis, against one instance.

#![warn(missing_docs, unreachable_pub)]

pub mod bare;
pub mod cli;
pub mod client;
pub mod machine;
pub mod report;
pub mod runner;
pub mod scale_out;
pub mod scenarios;
pub mod servers;
pub mod soak;
pub mod stats;
