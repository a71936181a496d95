//! Tidings, the backend-for-frontend.
//!
//! - [`auth`]: sessions (login against Keystone, [`auth::Sessions`]), one user's session
//!   ([`auth::Session`]), what each may see ([`auth::visibility`]), the Origin check.
//! - [`config`]: the `tidings` command line and its environment twins.
//! - [`cluster`]: several instances over one Redis (`--bus redis://…`): the shared event log,
//!   poll leases and snapshots.
//! - [`server`]: building the state and serving it ([`server::Tidings`]).
//! - [`state`]: [`state::AppState`], what every handler receives.
//! - [`updates`]: the UpdateService, the ordered, replayable bus of notices.
//! - [`views`]: filtered lists, serialized once per version and visibility.
//! - [`worker`]: the BackgroundWorker, polling upstream sources and detecting changes.
//! - [`sources`]: the concrete OpenStack lists the worker polls.
//! - [`routers`]: the procedures, one file per domain.
//! - [`error`]: upstream failures mapped onto the error table.
//! - [`telemetry`]: structured logging.
//! - [`metrics`]: the Prometheus series at `/metrics` (engine, update bus, upstream).

#![warn(missing_docs, unreachable_pub)]

pub mod auth;
pub mod cluster;
pub mod config;
pub mod error;
pub mod metrics;
pub mod routers;
pub mod server;
pub mod sources;
pub mod state;
pub mod telemetry;
pub mod updates;
pub mod views;
pub mod worker;
