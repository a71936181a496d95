//! Assembling and running the BFF: the state, the background worker, the HTTP routes, and a
//! graceful shutdown. `main` and the tests call the same [`Tidings::build`] and
//! [`Tidings::serve`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::get;
use serde_json::json;
use tidings_openstack::{Client, ClientConfig};
use tidings_rpc::listener::ConnectionLimits;
use tidings_rpc::serve::ServeConfig;
use tidings_rpc::{Limits, Metrics, Registry, Trpc, TrpcConfig, WsConfig};
use tidings_sim::{RunningSim, SimConfig};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::services::ServeDir;

use crate::auth::origin::OriginPolicy;
use crate::auth::{self, SessionConfig, Sessions};
use crate::cluster::{Cluster, ClusterConfig};
use crate::config::{Bus, ServeArgs, SimOptions};
use crate::metrics;
use crate::routers;
use crate::sources::Sources;
use crate::state::AppState;
use crate::updates::{UpdateConfig, UpdateService};
use crate::worker::{Worker, WorkerConfig};

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
    /// Which browser origins may call the API.
    origins: Arc<OriginPolicy>,
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
        let sessions = Arc::new(Sessions::new(
            SessionConfig {
                idle_timeout: args.session_idle,
                lifetime: args.session_lifetime,
                max_streams: args.max_streams_per_session.max(1),
                secure_cookies: args.secure_cookies,
            },
            client_config.clone(),
        ));
        let openstack = Client::new(client_config)?;
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
        registry.set_authenticate(|ctx| ctx.state.sessions.require(&ctx.meta).map(drop));
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
            console_dir: args.console_dir.clone(),
            limits: ServeLimits::from_args(args),
            origins: Arc::new(OriginPolicy {
                allowed: args.allowed_origins.clone(),
            }),
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
        let router = Router::new()
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
            .merge(self.metrics.router())
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(readyz).with_state(self.state.clone()))
            .fallback_service(console(&self.console_dir))
            .layer(middleware::from_fn_with_state(
                self.origins.clone(),
                auth::origin::check,
            ));
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
        let (router, trpc) = self.routes(shutdown.clone());
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
            background.spawn(cluster.run(replicas, cluster_stop.clone()));
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

/// The web console: the files of `dir` at `/`, and `index.html` for client-side routes (paths
/// whose last segment has no extension). Until the console is built, `/` says how to build it.
/// Checked on each request, so building it does not need a restart.
fn console(dir: &Path) -> Router {
    let dir = Arc::new(dir.to_path_buf());
    Router::new()
        .fallback_service(ServeDir::new(dir.as_path()))
        .layer(middleware::from_fn_with_state(dir, console_gate))
}

async fn console_gate(State(dir): State<Arc<PathBuf>>, request: Request, next: Next) -> Response {
    let index = dir.join("index.html");
    let path = request.uri().path().to_owned();
    if !tokio::fs::try_exists(&index).await.unwrap_or(false) {
        return console_missing(&path, &dir);
    }
    let page_route = matches!(*request.method(), Method::GET | Method::HEAD)
        && !path.rsplit('/').next().unwrap_or_default().contains('.');
    let response = next.run(request).await;
    if response.status() != StatusCode::NOT_FOUND || !page_route {
        return response;
    }
    match tokio::fs::read_to_string(&index).await {
        Ok(html) => ([(header::CACHE_CONTROL, "no-cache")], Html(html)).into_response(),
        Err(error) => {
            tracing::error!(error = ?error, "reading the console's index.html failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn console_missing(path: &str, dir: &Path) -> Response {
    if path != "/" {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    }
    let text = format!(
        "Tidings is running, but the web console is not built: {} has no index.html.\n\n\
         Build it with `npm run build -w web-client` (from the repository root), or point\n\
         --console-dir / TIDINGS_CONSOLE_DIR at a built console. `./dev demo` builds it first.\n\n\
         The API is at /trpc (e.g. /trpc/projects.getAll); health at /healthz and /readyz.\n",
        dir.display()
    );
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A console directory of its own under the system temp dir.
    fn console_dir(name: &str, built: bool) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("tidings-console-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        if built {
            std::fs::write(dir.join("index.html"), "<!doctype html><p>console</p>").unwrap();
            std::fs::write(dir.join("assets/app.js"), "console.log(1)").unwrap();
        }
        dir
    }

    /// Status line and body of `GET path` against `router`, over a real connection.
    async fn get(router: Router, path: &str) -> (String, String) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).await.unwrap();
        server.abort();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        (
            head.lines().next().unwrap_or_default().to_owned(),
            body.to_owned(),
        )
    }

    #[tokio::test]
    async fn serves_the_built_console_with_client_side_routes() {
        let dir = console_dir("built", true);
        let (status, body) = get(console(&dir), "/").await;
        assert!(status.contains("200"), "{status}");
        assert!(body.contains("console"));
        let (status, body) = get(console(&dir), "/assets/app.js").await;
        assert!(status.contains("200"), "{status}");
        assert!(body.contains("console.log"));
        let (status, body) = get(console(&dir), "/projects/demo").await;
        assert!(status.contains("200"), "{status}");
        assert!(body.contains("console"));
        let (status, _) = get(console(&dir), "/assets/missing.js").await;
        assert!(status.contains("404"), "{status}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn says_how_to_build_the_console_when_it_is_missing() {
        let dir = console_dir("missing", false);
        let (status, body) = get(console(&dir), "/").await;
        assert!(status.contains("200"), "{status}");
        assert!(body.contains("npm run build -w web-client"), "{body}");
        let (status, _) = get(console(&dir), "/elsewhere").await;
        assert!(status.contains("404"), "{status}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
