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

/// Options of `tidings serve`.
#[derive(Debug, Clone, Args)]
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
    /// Directory of the built web console, served at `/` (`npm run build -w web-client`
    /// writes it).
    #[arg(long, env = "TIDINGS_CONSOLE_DIR", default_value = "web-client/dist")]
    pub console_dir: PathBuf,
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
    /// Mark the session cookie `Secure` even when no proxy sends `X-Forwarded-Proto: https`.
    #[arg(long, env = "TIDINGS_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Origins, besides the server's own, whose pages may call the API (comma-separated, e.g.
    /// `https://console.example.com`); browsers' requests from any other origin are refused.
    #[arg(long, env = "TIDINGS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
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
        assert_eq!(args.console_dir, PathBuf::from("web-client/dist"));
        assert_eq!(args.bus, Bus::Memory);
        assert_eq!(args.lease_ttl, Duration::from_secs(10));
        assert_eq!(args.replay_events, 1024);
        assert_eq!(args.replay_window, Duration::from_secs(300));
    }

    #[test]
    fn limit_flags_and_their_defaults() {
        let serve = |argv: &[&str]| {
            let argv = ["tidings", "serve"].iter().chain(argv).copied();
            match Cli::try_parse_from(argv).unwrap().command {
                Command::Serve(args) => args,
                _ => panic!("serve"),
            }
        };
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
    fn bus_urls() {
        assert_eq!(parse_bus("memory").unwrap(), Bus::Memory);
        assert_eq!(
            parse_bus("redis://127.0.0.1:6379/2").unwrap(),
            Bus::Redis("redis://127.0.0.1:6379/2".into())
        );
        assert!(parse_bus("kafka://x").is_err());
    }
}
