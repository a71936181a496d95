//! Command line and environment: every flag has a `TIDINGS_*` environment twin (a flag wins
//! over its variable).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// The `tidings` command.
#[derive(Debug, Parser)]
#[command(
    name = "tidings",
    version,
    about = "A real-time backend-for-frontend for an OpenStack cloud console"
)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
#[allow(
    clippy::large_enum_variant,
    reason = "parsed once at startup and moved out at once; boxing would only add noise"
)]
pub enum Command {
    /// Serve the BFF (tRPC over HTTP and SSE, the console), over the embedded simulator unless
    /// `--upstream` names a Keystone.
    Serve(ServeArgs),
    /// Run the OpenStack simulator alone.
    Sim(SimArgs),
    /// Write the TypeScript bindings package (wire types, `AppRouter`, `UPDATE_QUERY_MAP`).
    ExportBindings(ExportBindingsArgs),
}

/// Options of `tidings export-bindings`.
#[derive(Debug, Clone, Args)]
pub struct ExportBindingsArgs {
    /// Directory of the package.
    #[arg(long, default_value = "bindings")]
    pub out: PathBuf,
    /// Write nothing; exit non-zero, naming the differences, when the files in `--out` are not
    /// what the registry produces.
    #[arg(long)]
    pub check: bool,
}

/// Options of `tidings serve`. `Debug` shows where the server listens and what it talks to,
/// never the Keystone password or the admin token.
#[derive(Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TIDINGS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Keystone v3 URL of a real cloud (e.g. https://keystone.example:5000/v3); default: the
    /// embedded simulator.
    #[arg(long, env = "TIDINGS_UPSTREAM")]
    pub upstream: Option<String>,
    /// Keystone user name.
    #[arg(long, env = "TIDINGS_OS_USERNAME", default_value = "admin")]
    pub os_username: String,
    /// Keystone password.
    #[arg(
        long,
        env = "TIDINGS_OS_PASSWORD",
        default_value = "admin",
        hide_env_values = true
    )]
    pub os_password: String,
    /// Project to scope the service token to.
    #[arg(long, env = "TIDINGS_OS_PROJECT", default_value = "admin")]
    pub os_project: String,
    /// Keystone domain of the user and the project.
    #[arg(long, env = "TIDINGS_OS_DOMAIN", default_value = "Default")]
    pub os_domain: String,
    /// Bearer token that authorizes `admin.*` operations; unset disables them.
    #[arg(long, env = "TIDINGS_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// How often each upstream source is polled.
    #[arg(long, env = "TIDINGS_POLL_INTERVAL", default_value = "2s", value_parser = parse_duration)]
    pub poll_interval: Duration,
    /// Window in which bursts of the same notice collapse (0ms disables).
    #[arg(long, env = "TIDINGS_COALESCE_WINDOW", default_value = "50ms", value_parser = parse_duration)]
    pub coalesce_window: Duration,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "TIDINGS_MAX_BODY_BYTES", default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
    /// Time-out of each upstream call.
    #[arg(long, env = "TIDINGS_UPSTREAM_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub upstream_timeout: Duration,
    /// Log format: `pretty` or `json`.
    #[arg(long, env = "TIDINGS_LOG_FORMAT", default_value = "pretty")]
    pub log_format: LogFormat,
    /// Directory of the built web console, served at `/` (`npm run build -w web-client/console`
    /// writes it); a relative path is taken from the current directory. Default: the
    /// `web-client/console/dist` of the repository the binary was built from, wherever the
    /// server is started, or `web-client/console/dist` in the current directory when that
    /// repository is gone.
    #[arg(long, env = "TIDINGS_CONSOLE_DIR")]
    pub console_dir: Option<PathBuf>,
    /// The update bus: `memory` (in-process, one instance) or `redis://host:6379[/db]`, shared
    /// by every instance behind one load balancer (one event log, one poller per source).
    #[arg(long, env = "TIDINGS_BUS", default_value = "memory", value_parser = parse_bus)]
    pub bus: Bus,
    /// With a Redis bus: how long a source's poll lease lasts unless renewed (every third of
    /// it); a crashed poller is replaced within about this time.
    #[arg(long, env = "TIDINGS_LEASE_TTL", default_value = "10s", value_parser = parse_duration)]
    pub lease_ttl: Duration,
    // Replay
    /// How many recent notices are kept for clients that resume with a `lastEventId` (0 keeps
    /// none); resuming from before them gets a resync.
    #[arg(long, env = "TIDINGS_REPLAY_EVENTS", default_value_t = 1024)]
    pub replay_events: usize,
    /// How long notices are kept for clients that resume; resuming from before that gets a
    /// resync.
    #[arg(long, env = "TIDINGS_REPLAY_WINDOW", default_value = "5m", value_parser = parse_duration)]
    pub replay_window: Duration,
    // Sessions
    /// A session unused for this long ends (an open update stream keeps it in use).
    #[arg(long, env = "TIDINGS_SESSION_IDLE", default_value = "30m", value_parser = parse_duration)]
    pub session_idle: Duration,
    /// A session ends this long after login at the latest.
    #[arg(long, env = "TIDINGS_SESSION_LIFETIME", default_value = "12h", value_parser = parse_duration)]
    pub session_lifetime: Duration,
    /// Most update streams (SSE and WebSocket subscriptions) one session may hold open.
    #[arg(long, env = "TIDINGS_MAX_STREAMS_PER_SESSION", default_value_t = 32)]
    pub max_streams_per_session: usize,
    /// Most queries and mutations one session runs at once, over every transport together
    /// (a batch, a JSONL stream or a WebSocket array of calls included); further calls wait
    /// for a slot, and are refused with TOO_MANY_REQUESTS after 10 s.
    #[arg(long, env = "TIDINGS_MAX_CALLS_PER_SESSION", default_value_t = 8)]
    pub max_calls_per_session: usize,
    /// How long a stream ticket from `auth.streamTicket` stays usable (it opens one SSE
    /// subscription, once).
    #[arg(long, env = "TIDINGS_STREAM_TICKET_TTL", default_value = "30s", value_parser = parse_duration)]
    pub stream_ticket_ttl: Duration,
    /// Mark the session cookie `Secure` even when no proxy sends `X-Forwarded-Proto: https`.
    #[arg(long, env = "TIDINGS_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// The console's own origins, as browsers name them (comma-separated, scheme://host[:port],
    /// e.g. `https://console.example.com`). Default: the listening address's origins
    /// (`http://127.0.0.1:8080`, `http://localhost:8080`) and what a trusted proxy forwards
    /// (`X-Forwarded-Proto` + `X-Forwarded-Host`); `Host` alone is never believed.
    #[arg(
        long,
        env = "TIDINGS_PUBLIC_ORIGIN",
        value_delimiter = ',',
        value_parser = crate::auth::origin::Origin::parse
    )]
    pub public_origin: Vec<crate::auth::origin::Origin>,
    /// Origins, besides the server's own, whose pages may call the API (comma-separated, e.g.
    /// `http://localhost:5173`); browsers' requests from any other origin are refused.
    #[arg(
        long,
        env = "TIDINGS_ALLOWED_ORIGINS",
        value_delimiter = ',',
        value_parser = crate::auth::origin::Origin::parse
    )]
    pub allowed_origins: Vec<crate::auth::origin::Origin>,
    /// Proxies in front of the server (addresses or networks, comma-separated, e.g.
    /// `127.0.0.1,10.0.0.0/8`): only from these are `X-Forwarded-For` (the client's address),
    /// `X-Forwarded-Proto` and `X-Forwarded-Host` believed. Default: none.
    #[arg(
        long,
        env = "TIDINGS_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_parser = crate::auth::proxy::parse_net
    )]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    // Metrics
    /// Serve `/metrics` on this address of its own (e.g. `127.0.0.1:9464`), and not on the
    /// main listener.
    #[arg(long, env = "TIDINGS_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Bearer token `/metrics` requires (`Authorization: Bearer <token>`). Without
    /// `--metrics-listen`, the main listener serves `/metrics` only when this is set.
    #[arg(long, env = "TIDINGS_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    // Login throttle
    /// The window failed logins are counted in; a first lockout lasts this long, and each
    /// further one twice the last.
    #[arg(long, env = "TIDINGS_LOGIN_WINDOW", default_value = "1m", value_parser = parse_duration)]
    pub login_window: Duration,
    /// Failed logins of one user name from one client address per window (attempts still
    /// waiting for Keystone count too); past it that pair is locked out.
    #[arg(long, env = "TIDINGS_LOGIN_FAILURES_PER_USER_IP", default_value_t = 5)]
    pub login_failures_per_user_ip: u32,
    /// Failed logins from one client address per window, whatever the user names (IPv6
    /// addresses count per /64).
    #[arg(long, env = "TIDINGS_LOGIN_FAILURES_PER_IP", default_value_t = 30)]
    pub login_failures_per_ip: u32,
    /// Failed logins per window over all clients: the most guesses Keystone is asked to check.
    #[arg(long, env = "TIDINGS_LOGIN_FAILURES_GLOBAL", default_value_t = 1000)]
    pub login_failures_global: u32,
    /// The longest lockout (they double up to it); quiet for this long, a client starts again.
    #[arg(long, env = "TIDINGS_LOGIN_MAX_LOCKOUT", default_value = "1h", value_parser = parse_duration)]
    pub login_max_lockout: Duration,
    /// Invalid `admin.notify` tokens from one client address per window.
    #[arg(long, env = "TIDINGS_ADMIN_TOKEN_FAILURES_PER_IP", default_value_t = 5)]
    pub admin_token_failures_per_ip: u32,
    /// Most throttle records (user name and address pairs, addresses) kept in memory.
    #[arg(long, env = "TIDINGS_THROTTLE_RECORDS", default_value_t = 100_000)]
    pub throttle_records: usize,
    // Limits
    /// Deepest nesting of arrays and objects accepted in a procedure's input; deeper input is
    /// refused as a bad request before it is parsed.
    #[arg(long, env = "TIDINGS_MAX_INPUT_DEPTH", default_value_t = 32)]
    pub max_input_depth: usize,
    /// How long a query or mutation, or a subscription's setup, may run before that call fails
    /// with TIMEOUT (0 disables the deadline).
    #[arg(long, env = "TIDINGS_CALL_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub call_timeout: Duration,
    /// Most open client connections in all (WebSockets and streams included); past it, new
    /// connections are answered 503 and closed at once, while `GET /healthz` still answers
    /// `ok`. Default: the open-files limit (`ulimit -n`) less a tenth of it (at least 256) for
    /// upstream sockets, Redis and files, and 256 for answering refused connections (20,000
    /// files: 17,744). 0 disables the cap.
    #[arg(long, env = "TIDINGS_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Most open connections from one client address; further ones are answered 429 and
    /// closed (0 disables the limit). Default: a quarter of `--max-connections`. Behind a proxy
    /// every client shares the proxy's address, so this must exceed what one instance serves
    /// there.
    #[arg(long, env = "TIDINGS_MAX_CONNECTIONS_PER_IP")]
    pub max_connections_per_ip: Option<usize>,
    /// How long a client may take to send a request's headers (a WebSocket upgrade's too),
    /// counted from the connection's opening or the end of its previous exchange, so it also
    /// closes idle keep-alive connections; past it the connection is closed (0 disables).
    #[arg(long, env = "TIDINGS_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: Duration,
    /// How long a WebSocket (tRPC or JSON-RPC) may stay open without presenting a valid
    /// session (at the upgrade, or in tRPC's `connectionParams`); then it is closed, tRPC's
    /// after an UNAUTHORIZED `id: null` error frame (0 disables).
    #[arg(long, env = "TIDINGS_WS_AUTH_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub ws_auth_timeout: Duration,
    /// Bytes each tRPC WebSocket reads from the network at a time; held for the socket's life,
    /// it is most of what an idle socket costs (larger messages still arrive whole).
    #[arg(long, env = "TIDINGS_WS_READ_BUFFER_BYTES", default_value_t = 8 << 10)]
    pub ws_read_buffer_bytes: usize,
    /// Bytes of outgoing tRPC WebSocket frames gathered before they are written.
    #[arg(long, env = "TIDINGS_WS_WRITE_BUFFER_BYTES", default_value_t = 8 << 10)]
    pub ws_write_buffer_bytes: usize,
    /// After a shutdown signal, how long in-flight requests may take to finish before the
    /// remaining connections are closed.
    #[arg(long, env = "TIDINGS_SHUTDOWN_GRACE", default_value = "10s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
    /// The embedded simulator's options (ignored with `--upstream`).
    #[command(flatten)]
    pub sim: SimOptions,
}

impl std::fmt::Debug for ServeArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeArgs")
            .field("listen", &self.listen)
            .field("upstream", &self.upstream)
            .field("os_username", &self.os_username)
            .field("os_password", &"***")
            .field("os_project", &self.os_project)
            .field("admin_token", &self.admin_token.as_ref().map(|_| "***"))
            .field("bus", &self.bus)
            .finish_non_exhaustive()
    }
}

/// Options of `tidings sim`.
#[derive(Debug, Clone, Args)]
pub struct SimArgs {
    /// Address to listen on.
    #[arg(long, env = "TIDINGS_SIM_LISTEN", default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// Log format: `pretty` or `json`.
    #[arg(long, env = "TIDINGS_LOG_FORMAT", default_value = "pretty")]
    pub log_format: LogFormat,
    /// The simulator's options.
    #[command(flatten)]
    pub sim: SimOptions,
    /// The real Keystone to stand behind, if any.
    #[command(flatten)]
    pub keystone: SimKeystoneOptions,
}

/// A real Keystone for `tidings sim` to stand behind: its tokens, projects and roles instead of
/// the simulator's own identity service. `Debug` hides the password.
#[derive(Clone, Args)]
pub struct SimKeystoneOptions {
    /// Keystone v3 URL of a real Keystone (e.g. http://127.0.0.1:5000/v3) whose tokens the
    /// simulated Nova, Cinder, Glance and Neutron accept and whose projects they hold; the
    /// simulator's own Keystone is then not served. Default: the simulator's own.
    #[arg(long, env = "TIDINGS_SIM_KEYSTONE")]
    pub keystone: Option<String>,
    /// The simulator's service user in that Keystone: it validates tokens (role `service` or
    /// `admin`) and lists the projects at start (`admin`).
    #[arg(long, env = "TIDINGS_SIM_KEYSTONE_USERNAME", default_value = "admin")]
    pub keystone_username: String,
    /// That user's password.
    #[arg(
        long,
        env = "TIDINGS_SIM_KEYSTONE_PASSWORD",
        default_value = "admin",
        hide_env_values = true
    )]
    pub keystone_password: String,
    /// The project that user's token is scoped to.
    #[arg(long, env = "TIDINGS_SIM_KEYSTONE_PROJECT", default_value = "admin")]
    pub keystone_project: String,
    /// Keystone domain (name) of that user and project.
    #[arg(long, env = "TIDINGS_SIM_KEYSTONE_DOMAIN", default_value = "Default")]
    pub keystone_domain: String,
    /// How long a token's validation is trusted before Keystone is asked again (never past
    /// the token's expiry): a revoked token is refused at most this long after.
    #[arg(long, env = "TIDINGS_SIM_KEYSTONE_CACHE_TTL", default_value = "60s", value_parser = parse_duration)]
    pub keystone_cache_ttl: Duration,
}

impl std::fmt::Debug for SimKeystoneOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimKeystoneOptions")
            .field("keystone", &self.keystone)
            .field("keystone_username", &self.keystone_username)
            .field("keystone_password", &"***")
            .field("keystone_project", &self.keystone_project)
            .field("keystone_domain", &self.keystone_domain)
            .field("keystone_cache_ttl", &self.keystone_cache_ttl)
            .finish()
    }
}

impl SimKeystoneOptions {
    /// The simulator's settings for it, `None` without `--keystone`.
    pub fn config(&self) -> Option<tidings_sim::KeystoneConfig> {
        let url = self.keystone.as_ref()?;
        let mut config = tidings_sim::KeystoneConfig::new(
            url,
            &self.keystone_username,
            &self.keystone_password,
            &self.keystone_project,
        );
        config.domain.clone_from(&self.keystone_domain);
        config.cache_ttl = self.keystone_cache_ttl;
        Some(config)
    }
}

/// How the simulated cloud behaves.
#[derive(Debug, Clone, Args)]
pub struct SimOptions {
    /// Actions per second taken by simulated "other users" (0 = none).
    #[arg(
        long = "sim-activity",
        env = "TIDINGS_SIM_ACTIVITY",
        default_value_t = 0.2
    )]
    pub activity_per_sec: f64,
    /// How often simulated resources advance (builds, status changes).
    #[arg(long = "sim-tick", env = "TIDINGS_SIM_TICK", default_value = "500ms", value_parser = parse_duration)]
    pub tick: Duration,
    /// Seed of the simulated inventory.
    #[arg(long = "sim-seed", env = "TIDINGS_SIM_SEED", default_value_t = 42)]
    pub seed: u64,
    /// Extra instances seeded to make large list answers (benchmarks).
    #[arg(
        long = "sim-extra-instances",
        env = "TIDINGS_SIM_EXTRA_INSTANCES",
        default_value_t = 0
    )]
    pub extra_instances: usize,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Where the update bus lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bus {
    /// In this process: one instance.
    Memory,
    /// In Redis at this URL, shared by every instance.
    Redis(String),
}

/// Parses `memory` or a `redis://` / `redis+unix://` URL.
pub fn parse_bus(text: &str) -> Result<Bus, String> {
    let text = text.trim();
    if text == "memory" {
        Ok(Bus::Memory)
    } else if text.starts_with("redis://") || text.starts_with("redis+unix://") {
        Ok(Bus::Redis(text.to_owned()))
    } else {
        Err(format!(
            "unknown bus {text:?} (use memory or redis://host:6379)"
        ))
    }
}

/// Parses `500ms`, `2s`, `1m`, `1h`, or a bare number of milliseconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?}"))?;
    let seconds = match unit.trim() {
        "" | "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!(
                "unknown duration unit {other:?} in {text:?} (use ms, s, m or h)"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("invalid duration {text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tidings serve` with `argv`, parsed.
    fn try_serve(argv: &[&str]) -> Result<ServeArgs, clap::Error> {
        let argv = ["tidings", "serve"].iter().chain(argv).copied();
        Cli::try_parse_from(argv).map(|cli| match cli.command {
            Command::Serve(args) => args,
            _ => panic!("serve"),
        })
    }

    /// `tidings serve` with `argv`, which must parse.
    fn serve(argv: &[&str]) -> ServeArgs {
        try_serve(argv).unwrap()
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("250").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert!(parse_duration("2d").is_err());
        assert!(parse_duration("x").is_err());
    }

    #[test]
    fn flags_parse_with_defaults() {
        let cli = Cli::try_parse_from(["tidings", "serve", "--listen", "127.0.0.1:0"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("serve")
        };
        assert_eq!(args.poll_interval, Duration::from_secs(2));
        assert_eq!(args.os_username, "admin");
        assert_eq!(args.console_dir, None);
        assert_eq!(args.bus, Bus::Memory);
        assert_eq!(args.lease_ttl, Duration::from_secs(10));
        assert_eq!(args.replay_events, 1024);
        assert_eq!(args.replay_window, Duration::from_secs(300));
    }

    #[test]
    fn limit_flags_and_their_defaults() {
        let args = serve(&[]);
        assert_eq!(args.max_input_depth, 32);
        assert_eq!(args.call_timeout, Duration::from_secs(30));
        assert_eq!(args.max_connections, None);
        assert_eq!(args.max_connections_per_ip, None);
        assert_eq!(args.header_read_timeout, Duration::from_secs(10));
        assert_eq!(args.ws_auth_timeout, Duration::from_secs(5));
        assert_eq!(args.ws_read_buffer_bytes, 8192);
        assert_eq!(args.ws_write_buffer_bytes, 8192);
        assert_eq!(args.shutdown_grace, Duration::from_secs(10));
        assert_eq!(args.max_calls_per_session, 8);
        assert_eq!(args.stream_ticket_ttl, Duration::from_secs(30));
        let args = serve(&[
            "--max-input-depth=8",
            "--call-timeout=500ms",
            "--max-connections-per-ip=0",
            "--max-connections=100",
            "--header-read-timeout=500ms",
            "--ws-auth-timeout=0",
            "--shutdown-grace=2s",
        ]);
        assert_eq!(args.max_input_depth, 8);
        assert_eq!(args.call_timeout, Duration::from_millis(500));
        assert_eq!(args.max_connections_per_ip, Some(0));
        assert_eq!(args.max_connections, Some(100));
        assert_eq!(args.header_read_timeout, Duration::from_millis(500));
        assert_eq!(args.ws_auth_timeout, Duration::ZERO);
        assert_eq!(args.shutdown_grace, Duration::from_secs(2));
    }

    #[test]
    fn edge_flags_parse_origins_and_metrics_access() {
        let args = serve(&[]);
        assert!(args.public_origin.is_empty() && args.allowed_origins.is_empty());
        assert_eq!(args.metrics_listen, None);
        assert_eq!(args.metrics_token, None);
        let args = serve(&[
            "--public-origin=https://console.example,https://console.example:8443",
            "--allowed-origins=http://localhost:5173",
            "--metrics-listen=127.0.0.1:9464",
            "--metrics-token=t",
        ]);
        assert_eq!(args.public_origin.len(), 2);
        assert_eq!(args.allowed_origins[0].to_string(), "http://localhost:5173");
        assert_eq!(args.metrics_listen, Some("127.0.0.1:9464".parse().unwrap()));
        assert_eq!(args.metrics_token.as_deref(), Some("t"));
        assert!(try_serve(&["--public-origin=console.example"]).is_err());
        assert!(try_serve(&["--allowed-origins=http://x.example/path"]).is_err());
    }

    #[test]
    fn throttle_flags_and_their_defaults() {
        let args = serve(&[]);
        assert_eq!(args.login_window, Duration::from_secs(60));
        assert_eq!(args.login_failures_per_user_ip, 5);
        assert_eq!(args.login_failures_per_ip, 30);
        assert_eq!(args.login_failures_global, 1000);
        assert_eq!(args.login_max_lockout, Duration::from_secs(3600));
        assert_eq!(args.admin_token_failures_per_ip, 5);
        assert_eq!(args.throttle_records, 100_000);
        let args = serve(&["--login-window=2s", "--login-failures-per-user-ip=3"]);
        assert_eq!(args.login_window, Duration::from_secs(2));
        assert_eq!(args.login_failures_per_user_ip, 3);
    }

    #[test]
    fn debug_hides_the_password_and_the_admin_token() {
        let argv = [
            "tidings",
            "serve",
            "--os-password",
            "pw-1",
            "--admin-token",
            "tok-2",
        ];
        let shown = format!("{:?}", Cli::try_parse_from(argv).unwrap());
        assert!(
            !shown.contains("pw-1") && !shown.contains("tok-2"),
            "{shown}"
        );
    }

    #[test]
    fn bus_urls() {
        assert_eq!(parse_bus("memory").unwrap(), Bus::Memory);
        assert_eq!(
            parse_bus("redis://127.0.0.1:6379/2").unwrap(),
            Bus::Redis("redis://127.0.0.1:6379/2".into())
        );
        assert!(parse_bus("kafka://x").is_err());
    }
}
