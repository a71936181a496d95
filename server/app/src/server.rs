//! Assembling and running the BFF: the state, the background worker, the HTTP routes, and a
//! graceful shutdown. `main` and the tests call the same [`Tidings::build`] and
//! [`Tidings::serve`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use serde_json::json;
use tidings_openstack::{Client, ClientConfig};
use tidings_rpc::{Registry, Trpc, TrpcConfig, WsConfig};
use tidings_sim::{RunningSim, SimConfig};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::{ServeArgs, SimOptions};
use crate::routers;
use crate::sources::Sources;
use crate::state::AppState;
use crate::updates::{UpdateConfig, UpdateService};
use crate::worker::{Worker, WorkerConfig};

/// How long in-flight requests may take to finish after shutdown begins.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The embedded simulator could not start.
    #[error("embedded simulator: {0}")]
    Simulator(std::io::Error),
    /// The OpenStack client could not be configured.
    #[error("upstream client: {0}")]
    Upstream(#[from] tidings_openstack::Error),
}

/// A built, not yet serving, Tidings.
pub struct Tidings {
    /// The state handlers receive.
    pub state: AppState,
    /// The procedures.
    pub registry: Arc<Registry<AppState>>,
    worker: Worker,
    /// The embedded simulator, when no upstream was given.
    pub sim: Option<RunningSim>,
    max_body_bytes: usize,
}

impl Tidings {
    /// Builds the state from `args`: starts the embedded simulator unless `--upstream` names a
    /// Keystone, configures the OpenStack client, the update bus and the polled sources.
    pub async fn build(args: &ServeArgs) -> Result<Self, StartError> {
        let (auth_url, sim) = match &args.upstream {
            Some(url) => (url.clone(), None),
            None => {
                let running = tidings_sim::spawn(sim_config(&args.sim))
                    .await
                    .map_err(StartError::Simulator)?;
                tracing::info!(url = %running.base_url(), "embedded simulator started");
                (running.auth_url(), Some(running))
            }
        };
        let mut client_config = ClientConfig::new(
            auth_url,
            &args.os_username,
            &args.os_password,
            &args.os_project,
        );
        client_config.user_domain_name = args.os_domain.clone();
        client_config.project_domain_name = args.os_domain.clone();
        client_config.timeout = args.upstream_timeout;
        let openstack = Client::new(client_config)?;
        let updates = UpdateService::new(UpdateConfig {
            coalesce_window: args.coalesce_window,
            ..UpdateConfig::default()
        });
        let mut worker = Worker::new(updates.clone(), WorkerConfig::default());
        let sources = Arc::new(Sources::register(
            &mut worker,
            &openstack,
            args.poll_interval,
        ));
        let state = AppState {
            updates,
            openstack,
            sources,
            admin_token: args
                .admin_token
                .as_deref()
                .filter(|t| !t.is_empty())
                .map(Arc::from),
        };
        Ok(Self {
            state,
            registry: Arc::new(routers::registry()),
            worker,
            sim,
            max_body_bytes: args.max_body_bytes,
        })
    }

    /// The HTTP routes, with SSE streams ending when `shutdown` is cancelled.
    pub fn router(&self, shutdown: CancellationToken) -> Router {
        self.routes(shutdown).0
    }

    /// The routes, and the tRPC transport whose WebSockets `serve` waits for at shutdown (they
    /// are sent `reconnect` and closed).
    fn routes(&self, shutdown: CancellationToken) -> (Router, Arc<Trpc<AppState>>) {
        let config = TrpcConfig {
            max_body_bytes: self.max_body_bytes,
            ws: WsConfig {
                max_message_bytes: self.max_body_bytes,
                ..WsConfig::default()
            },
            shutdown: shutdown.clone(),
            ..TrpcConfig::default()
        };
        let trpc = Trpc::new(self.registry.clone(), self.state.clone(), config);
        let router = Router::new()
            .merge(trpc.router())
            .merge(tidings_rpc::jsonrpc_router(
                self.registry.clone(),
                self.state.clone(),
                tidings_rpc::JsonRpcConfig {
                    max_request_body_bytes: u32::try_from(self.max_body_bytes).unwrap_or(u32::MAX),
                    title: "Tidings".into(),
                    shutdown,
                    ..Default::default()
                },
            ))
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(readyz).with_state(self.state.clone()));
        (router, trpc)
    }

    /// Serves on `listener` with the background worker until `shutdown` is cancelled, then
    /// stops accepting, ends open streams and WebSockets (clients reconnect elsewhere or later)
    /// and waits up to a grace period for in-flight requests.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> std::io::Result<()> {
        let addr: SocketAddr = listener.local_addr()?;
        let (router, trpc) = self.routes(shutdown.clone());
        let worker = tokio::spawn(self.worker.run(shutdown.clone()));
        tracing::info!(%addr, "tidings listening");
        let signal = shutdown.clone();
        let server = async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async move { signal.cancelled().await })
                .await;
            // Upgraded WebSockets outlive their HTTP connections: wait until each was sent
            // `reconnect` and closed.
            trpc.sockets_closed().await;
            served
        };
        let served = tokio::select! {
            result = server => result,
            () = async { shutdown.cancelled().await; tokio::time::sleep(SHUTDOWN_GRACE).await } => {
                tracing::warn!("grace period over; closing remaining connections");
                Ok(())
            }
        };
        let _ = worker.await;
        if let Some(sim) = self.sim {
            sim.shutdown().await?;
        }
        served
    }
}

fn sim_config(options: &SimOptions) -> SimConfig {
    SimConfig {
        tick: options.tick,
        activity_per_sec: options.activity_per_sec,
        seed: options.seed,
        extra_instances: options.extra_instances,
        ..SimConfig::default()
    }
}

/// Ready once every polled source has answered at least once and is up now.
async fn readyz(axum::extract::State(state): axum::extract::State<AppState>) -> impl IntoResponse {
    let down: Vec<&str> = state
        .sources
        .health()
        .into_iter()
        .filter(|(_, up)| !up)
        .map(|(name, _)| name)
        .collect();
    if down.is_empty() {
        (StatusCode::OK, Json(json!({ "ready": true })))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "ready": false, "down": down })),
        )
    }
}
