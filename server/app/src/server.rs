//! Assembling and running the BFF: the state, the background worker, the HTTP routes, and a
//! graceful shutdown. `main` and the tests call the same [`Tidings::build`] and
//! [`Tidings::serve`]. The console's files are in [`console`], who may read `/metrics` in
//! [`scrape`].

mod console;
mod scrape;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use serde_json::json;
use tidings_openstack::{Client, ClientConfig};
use tidings_rpc::listener::ConnectionLimits;
use tidings_rpc::serve::ServeConfig;
use tidings_rpc::{Limits, Metrics, Registry, Trpc, TrpcConfig, WsConfig};
use tidings_sim::{RunningSim, SimConfig};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::origin::OriginPolicy;
use crate::auth::{self, SessionConfig, SessionStore, Sessions, ThrottleConfig, TrustedProxies};
use crate::cluster::{Cluster, ClusterConfig};
use crate::config::{Bus, ServeArgs, SimOptions};
use crate::metrics;
use crate::routers;
use crate::sources::Sources;
use crate::state::AppState;
use crate::updates::{UpdateConfig, UpdateService};
use crate::worker::{SourceHealth, Worker, WorkerConfig};

/// Most JSON-RPC connections at once; the open-files limit of the process binds first.
const JSONRPC_MAX_CONNECTIONS: u32 = 1 << 20;

/// How often idle and expired sessions are looked for.
const SESSION_SWEEP: Duration = Duration::from_secs(30);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The embedded simulator could not start.
    #[error("embedded simulator: {0}")]
    Simulator(std::io::Error),
    /// `--metrics-listen` could not be bound.
    #[error("metrics listener: {0}")]
    MetricsListen(std::io::Error),
    /// The OpenStack client could not be configured.
    #[error("upstream client: {0}")]
    Upstream(#[from] tidings_openstack::Error),
    /// The `--bus` URL is not one Redis accepts.
    #[error("update bus: {0}")]
    Bus(#[from] redis::RedisError),
}

/// A built, not yet serving, Tidings.
pub struct Tidings {
    /// The state handlers receive.
    pub state: AppState,
    /// The procedures.
    pub registry: Arc<Registry<AppState>>,
    /// What `/metrics` shows.
    pub metrics: Metrics,
    worker: Worker,
    /// Membership of a cluster sharing one Redis (`--bus redis://…`).
    cluster: Option<Cluster>,
    /// The embedded simulator, when no upstream was given.
    pub sim: Option<RunningSim>,
    max_body_bytes: usize,
    console_dir: PathBuf,
    /// The limits the server applies itself (the registry holds the per-call ones).
    limits: ServeLimits,
    /// Which browser origins may call the API (completed with the listening address).
    origins: OriginPolicy,
    /// Where `/metrics` is served and what it asks for.
    metrics_access: scrape::MetricsAccess,
    /// The `--metrics-listen` listener, bound at build.
    metrics_listener: Option<TcpListener>,
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
        let metrics = metrics::new();
        client_config.observer = Some(metrics::upstream_observer(&metrics));
        let openstack = Client::new(client_config.clone())?;
        let update_config = UpdateConfig {
            log_capacity: args.replay_events,
            log_max_age: args.replay_window,
            coalesce_window: args.coalesce_window,
            ..UpdateConfig::default()
        };
        let (updates, cluster) = match &args.bus {
            Bus::Memory => (UpdateService::new(update_config), None),
            Bus::Redis(url) => {
                if sim.is_some() {
                    tracing::warn!(
                        "a shared bus over the embedded simulator: every instance has a cloud of \
                         its own; give them all the same --upstream"
                    );
                }
                let config = ClusterConfig {
                    url: url.clone(),
                    lease_ttl: args.lease_ttl,
                    log_capacity: update_config.log_capacity,
                    log_max_age: update_config.log_max_age,
                };
                let (updates, cluster) = Cluster::join(&config, update_config)?;
                (updates, Some(cluster))
            }
        };
        let session_store = cluster
            .as_ref()
            .map_or(SessionStore::Memory, Cluster::session_store);
        let mut sessions = Sessions::with_store(
            SessionConfig {
                idle_timeout: args.session_idle,
                lifetime: args.session_lifetime,
                max_streams: args.max_streams_per_session.max(1),
                secure_cookies: args.secure_cookies,
                proxies: TrustedProxies::new(args.trusted_proxies.clone()),
                throttle: throttle_config(args),
                ticket_ttl: args.stream_ticket_ttl,
                max_calls: args.max_calls_per_session.max(1),
            },
            client_config,
            session_store,
        );
        if let Some(cluster) = &cluster {
            // The throttle counts every instance's guesses together.
            sessions = sessions.throttled_by(cluster.throttle_ledger(&throttle_config(args))?);
        }
        let sessions = Arc::new(sessions);
        metrics::register_bus(&metrics, &updates);
        let mut worker = Worker::new(updates.clone(), WorkerConfig::default());
        if let Some(cluster) = &cluster {
            worker.replicate(cluster.replication());
        }
        let sources = Arc::new(Sources::register(
            &mut worker,
            &openstack,
            args.poll_interval,
        ));
        let mut registry = routers::registry();
        registry.set_metrics(metrics.clone());
        // A WebSocket stays open only with a session (checked at the upgrade and after tRPC's
        // connectionParams); the guard answers its calls meanwhile.
        registry.set_limits(Limits {
            max_input_depth: args.max_input_depth,
            call_timeout: Some(args.call_timeout).filter(|t| !t.is_zero()),
        });
        let state = AppState {
            updates,
            openstack,
            sources,
            sessions,
            views: Arc::default(),
            admin_token: args
                .admin_token
                .as_deref()
                .filter(|t| !t.is_empty())
                .map(Arc::from),
        };
        Ok(Self {
            state,
            registry: Arc::new(registry),
            metrics,
            worker,
            cluster,
            sim,
            max_body_bytes: args.max_body_bytes,
            console_dir: args
                .console_dir
                .clone()
                .unwrap_or_else(console::default_dir),
            limits: ServeLimits::from_args(args),
            origins: OriginPolicy {
                public: args.public_origin.clone(),
                allowed: args.allowed_origins.clone(),
                proxies: TrustedProxies::new(args.trusted_proxies.clone()),
                listening: Vec::new(),
            },
            metrics_access: scrape::MetricsAccess {
                token: args
                    .metrics_token
                    .as_deref()
                    .filter(|t| !t.is_empty())
                    .map(Arc::from),
                listen: args.metrics_listen,
            },
            metrics_listener: match args.metrics_listen {
                Some(addr) => Some(
                    TcpListener::bind(addr)
                        .await
                        .map_err(StartError::MetricsListen)?,
                ),
                None => None,
            },
        })
    }

    /// Where the `--metrics-listen` listener listens.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    /// The HTTP routes of a server listening on `addr` (the browser origins it accepts by
    /// default), with SSE streams ending when `shutdown` is cancelled.
    pub fn router(&self, addr: SocketAddr, shutdown: CancellationToken) -> Router {
        self.routes(addr, shutdown).0
    }

    /// The routes, and the tRPC transport whose WebSockets `serve` waits for at shutdown (they
    /// are sent `reconnect` and closed).
    fn routes(
        &self,
        addr: SocketAddr,
        shutdown: CancellationToken,
    ) -> (Router, Arc<Trpc<AppState>>) {
        let config = TrpcConfig {
            max_body_bytes: self.max_body_bytes,
            ws: WsConfig {
                max_message_bytes: self.max_body_bytes,
                read_buffer_bytes: self.limits.ws_read_buffer_bytes,
                write_buffer_bytes: self.limits.ws_write_buffer_bytes,
                auth_timeout: self.limits.ws_auth_timeout,
                ..WsConfig::default()
            },
            shutdown: shutdown.clone(),
            metrics: self.metrics.clone(),
            ..TrpcConfig::default()
        };
        let trpc = Trpc::new(self.registry.clone(), self.state.clone(), config);
        let mut router = Router::new()
            .merge(trpc.router())
            .merge(tidings_rpc::jsonrpc_router(
                self.registry.clone(),
                self.state.clone(),
                tidings_rpc::JsonRpcConfig {
                    max_request_body_bytes: u32::try_from(self.max_body_bytes).unwrap_or(u32::MAX),
                    // As many as the process may hold, like SSE and the tRPC WebSocket: every
                    // browser keeps one stream open (jsonrpsee's default, 1,024, refused the
                    // rest with 429 in the fan-out benchmark).
                    max_connections: JSONRPC_MAX_CONNECTIONS,
                    title: "Tidings".into(),
                    shutdown,
                    metrics: self.metrics.clone(),
                    auth_timeout: self.limits.ws_auth_timeout,
                    ..Default::default()
                },
            ))
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(readyz).with_state(self.state.clone()))
            .fallback_service(console::console(&self.console_dir));
        router = router.merge(self.metrics_access.main_router(&self.metrics));
        let origins = Arc::new(self.origins.listening_on(addr));
        if self.origins.public.is_empty() && addr.ip().is_unspecified() {
            tracing::warn!(
                %addr,
                "listening on every address: browsers reaching this server by another name \
                 or address than localhost are refused until --public-origin names it"
            );
        }
        let router = router.layer(middleware::from_fn_with_state(origins, auth::origin::check));
        (router, trpc)
    }

    /// Serves on `listener` with the background worker until `shutdown` is cancelled, then
    /// stops accepting, ends open streams and WebSockets (clients reconnect elsewhere or later)
    /// and waits up to `--shutdown-grace` for in-flight requests. The process holds at most
    /// `--max-connections` connections (503 beyond), each client address
    /// `--max-connections-per-ip` (429 beyond); request headers must arrive within
    /// `--header-read-timeout`.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> std::io::Result<()> {
        let addr: SocketAddr = listener.local_addr()?;
        let grace = self.limits.shutdown_grace;
        let serve_config = self.limits.serve_config();
        let (router, trpc) = self.routes(addr, shutdown.clone());
        // Background tasks belong to this future: dropping it (a crash, in tests) ends them.
        let mut background = tokio::task::JoinSet::new();
        let replicas = self.worker.replicas();
        background.spawn(self.worker.run(shutdown.clone()));
        background.spawn(
            self.state
                .sessions
                .clone()
                .run_sweeper(SESSION_SWEEP, shutdown.clone()),
        );
        // The cluster outlives the HTTP server, so the last requests' notices get out.
        let cluster_stop = CancellationToken::new();
        if let Some(cluster) = self.cluster {
            let sessions = self.state.sessions.clone();
            background.spawn(cluster.run(replicas, sessions, cluster_stop.clone()));
        }
        let metrics_addr = self
            .metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok());
        self.metrics_access.announce(metrics_addr);
        if let Some(listener) = self.metrics_listener {
            let router = self.metrics_access.router(&self.metrics);
            background.spawn(scrape::serve(listener, router, shutdown.clone()));
        }
        tracing::info!(%addr, "tidings listening");
        let signal = shutdown.clone();
        let server = async move {
            let served = tidings_rpc::serve::serve(listener, router, serve_config, signal).await;
            // Upgraded WebSockets outlive their HTTP connections: wait until each was sent
            // `reconnect` and closed.
            trpc.sockets_closed().await;
            served
        };
        let served = tokio::select! {
            result = server => result,
            () = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!("grace period over; closing remaining connections");
                Ok(())
            }
        };
        cluster_stop.cancel();
        while background.join_next().await.is_some() {}
        if let Some(sim) = self.sim {
            sim.shutdown().await?;
        }
        served
    }
}

/// The `// Limits` flags the server applies itself.
#[derive(Debug, Clone, Copy)]
struct ServeLimits {
    /// Most open connections in all and per client address.
    connections: ConnectionLimits,
    /// How long a request's headers may take to arrive.
    header_read_timeout: Option<Duration>,
    /// How long a WebSocket may stay open without a session.
    ws_auth_timeout: Option<Duration>,
    /// How long in-flight requests may take to finish after shutdown begins.
    shutdown_grace: Duration,
    /// Read buffer of each tRPC WebSocket.
    ws_read_buffer_bytes: usize,
    /// Write buffer of each tRPC WebSocket.
    ws_write_buffer_bytes: usize,
}

impl ServeLimits {
    fn from_args(args: &ServeArgs) -> Self {
        let nonzero = |t: Duration| Some(t).filter(|t| !t.is_zero());
        Self {
            connections: ConnectionLimits::derived(
                args.max_connections,
                args.max_connections_per_ip,
            ),
            header_read_timeout: nonzero(args.header_read_timeout),
            ws_auth_timeout: nonzero(args.ws_auth_timeout),
            shutdown_grace: args.shutdown_grace,
            ws_read_buffer_bytes: args.ws_read_buffer_bytes,
            ws_write_buffer_bytes: args.ws_write_buffer_bytes,
        }
    }
}

/// The login and admin-token throttle's limits from the flags.
fn throttle_config(args: &ServeArgs) -> ThrottleConfig {
    ThrottleConfig {
        window: args.login_window,
        per_user_ip: args.login_failures_per_user_ip,
        per_ip: args.login_failures_per_ip,
        global: args.login_failures_global,
        max_lockout: args.login_max_lockout,
        admin_per_ip: args.admin_token_failures_per_ip,
        max_records: args.throttle_records,
    }
}

impl ServeLimits {
    fn serve_config(&self) -> ServeConfig {
        ServeConfig {
            header_read_timeout: self.header_read_timeout,
            limits: self.connections,
            health_path: Some("/healthz".into()),
        }
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

/// Ready once every polled source has answered at least once and is up now. When not, `down`
/// names the sources that are not, and `causes` says why for each: `unreachable` (no answer),
/// `unauthorized` (the upstream refuses this server's credentials: its configuration),
/// `failing` (error answers), or `pending` (no poll has finished yet).
async fn readyz(axum::extract::State(state): axum::extract::State<AppState>) -> impl IntoResponse {
    let down: Vec<(&str, SourceHealth)> = state
        .sources
        .health()
        .into_iter()
        .filter(|(_, health)| !health.up)
        .collect();
    if down.is_empty() {
        return (StatusCode::OK, Json(json!({ "ready": true })));
    }
    let causes: serde_json::Map<String, serde_json::Value> = down
        .iter()
        .map(|(name, health)| {
            let cause = match health.last_cause {
                Some(cause) => json!(cause),
                None => json!("pending"),
            };
            ((*name).to_owned(), cause)
        })
        .collect();
    let names: Vec<&str> = down.iter().map(|(name, _)| *name).collect();
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "ready": false, "down": names, "causes": causes })),
    )
}
