//! An OpenStack-compatible simulator (Keystone, Nova, Cinder, Glance, Neutron subset) whose
//! resources change over time: the embedded default upstream of the demo and the upstream of
//! every test. Answers follow the upstream projects' published API samples, quirks included.
//!
//! Module map:
//! - [`config`]: `SimConfig`, the pace, background activity and seeded inventory, and
//!   `KeystoneConfig` for standing behind a real Keystone.
//! - `keystone`: the client of that Keystone: token validation (cached), its projects.
//! - [`seed`]: the seeded domain, projects and users (public so tests can log in).
//! - `sim`: the cheap-clone [`Sim`] handle: tick, faults, stats, counts.
//! - `model`: the simulated cloud, one module per service, and its state transitions.
//! - `templates`: the published samples every object is cloned from.
//! - `api`: one router per service (`identity`, `compute`, `volume`, `image`, `network`), the
//!   version documents of each (`versions`) and the `/_sim` control API.
//! - [`faults`]: fault rules and the middleware that applies them and counts requests.
//! - `clock` and `activity`: the tick loop and the "other users" acting in the background.
//! - `serve`: the accept loop (it can drop a connection on purpose).
//!
//! URL layout, under one listener: Keystone at `/identity/v3` (not served behind a real one), Nova at `/compute/v2.1`, Cinder at
//! `/volume/v3/{project_id}`, Glance at `/image` (`/v2/...`), Neutron at `/network`
//! (`/v2.0/...`), control at `/_sim`.

#![warn(missing_docs, unreachable_pub)]

mod activity;
mod api;
mod clock;
pub mod config;
pub mod faults;
mod keystone;
mod model;
pub mod seed;
mod serve;
mod sim;
mod stats;
mod templates;
mod time;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::middleware::{from_fn_with_state, map_request};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower::ServiceBuilder;
use tracing::info;

pub use config::{KeystoneConfig, SimConfig};
pub use faults::{Fault, FaultKind, Service};
pub use sim::{ResourceCounts, Sim, TickOutcome};
pub use stats::{PasswordChecks, Stats};

/// The simulator's routes: every service plus the control API, with fault injection and request
/// counting in front of the services. Behind a real Keystone, identity is that Keystone's
/// alone: the simulator's own is not served.
pub fn app(sim: Sim) -> Router {
    let identity = match sim.keystone() {
        Some(_) => Router::new(),
        None => api::identity::mount(),
    };
    let services = Router::new()
        .merge(identity)
        .merge(api::compute::mount())
        .merge(api::volume::mount())
        .merge(api::image::mount())
        .merge(api::network::mount())
        .merge(api::versions::mount())
        .with_state(sim.clone());
    let guarded = ServiceBuilder::new()
        .layer(map_request(api::strip_project_segment))
        .layer(from_fn_with_state(sim.clone(), faults::guard))
        .service(services);
    Router::new()
        .nest("/_sim", api::control::mount(sim))
        .fallback_service(guarded)
}

/// Runs a new simulator built from `config` ([`Sim::connect`]) on `listener` until `shutdown`
/// completes.
pub async fn run(
    listener: TcpListener,
    config: SimConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve(listener, Sim::connect(config).await?, shutdown).await
}

/// Runs an existing simulator on `listener` (with its clock) until `shutdown` completes; the
/// caller keeps the handle for faults and stats.
pub async fn serve(
    listener: TcpListener,
    sim: Sim,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    info!(%addr, seed = sim.config().seed, "OpenStack simulator listening");
    let cancel = CancellationToken::new();
    let clock = tokio::spawn(clock::run(sim.clone(), cancel.clone()));
    tokio::select! {
        () = serve::accept_loop(listener, app(sim), cancel.clone()) => {}
        () = shutdown => {}
    }
    cancel.cancel();
    clock.await.map_err(std::io::Error::other)?;
    info!(%addr, "OpenStack simulator stopped");
    Ok(())
}

/// Starts a simulator ([`Sim::connect`]) on `127.0.0.1:0` in the background.
pub async fn spawn(config: SimConfig) -> std::io::Result<RunningSim> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let sim = Sim::connect(config).await?;
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let task = tokio::spawn(serve(listener, sim.clone(), async move {
        stop.cancelled().await
    }));
    Ok(RunningSim {
        sim,
        addr,
        cancel,
        task: Some(task),
    })
}

/// A simulator running in the background; dropping it stops the server and the clock.
pub struct RunningSim {
    /// The handle to its state: faults, ticks, stats, counts.
    pub sim: Sim,
    /// Where it listens.
    pub addr: SocketAddr,
    cancel: CancellationToken,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningSim {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Keystone's endpoint, `{base}/identity/v3`.
    pub fn auth_url(&self) -> String {
        format!("{}/identity/v3", self.base_url())
    }

    /// Stops the server and the clock and waits for them.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        self.cancel.cancel();
        match self.task.take() {
            Some(task) => task.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}
