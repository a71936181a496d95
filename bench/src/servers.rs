//! The three servers under test, started as their own processes (so CPU and RSS are theirs
//! alone) and driven alike: the same paths, the same trigger, the same subscription.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::client::Conn;
use crate::machine;

/// The admin token the benchmark starts Tidings with.
pub const ADMIN_TOKEN: &str = "bench";
/// The metrics token the benchmark starts Tidings with (`/metrics` needs it).
pub const METRICS_TOKEN: &str = "bench-metrics";
/// The subscription every server serves.
pub const SUBSCRIBE: &str = "/trpc/updates.subscribe";
/// The trigger.
pub const NOTIFY: &str = "/trpc/admin.notify";
/// The small query.
pub const SMALL: &str = "projects.getAll";
/// The ~10 MB query.
pub const BIG: &str = "compute.instances.getAll";

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Tidings, release build.
    Tidings,
    /// The bare axum ceiling.
    Bare,
    /// Stock tRPC v11 on Node.
    Node,
}

impl Kind {
    /// The column name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Tidings => "Tidings",
            Kind::Bare => "bare",
            Kind::Node => "tRPC Node",
        }
    }
}

/// A running server.
pub struct Server {
    /// Which one.
    pub kind: Kind,
    /// Where it listens.
    pub addr: SocketAddr,
    /// The `authorization` header value of the session the benchmark logged in with (Tidings
    /// with sessions), sent with every request.
    pub auth: Option<Arc<str>>,
    child: Child,
}

/// How to start Tidings.
#[derive(Debug, Clone)]
pub struct TidingsOptions {
    /// The release binary.
    pub binary: PathBuf,
    /// Extra simulated instances (the ~10 MB list).
    pub extra_instances: usize,
}

/// Flags of `tidings serve` that cap what one client may open, and the value the benchmark
/// and the soak raise them to (every subscriber of a run shares one session and one address).
/// Passed only when the binary has them (`tidings serve --help` names them).
const CLIENT_LIMIT_FLAGS: [(&str, &str); 3] = [
    ("--max-streams-per-session", "1000000"),
    ("--max-calls-per-session", "1000000"),
    ("--max-connections-per-ip", "1000000"),
];

/// Where a `tidings serve` gets its data and shares its notices.
#[derive(Debug, Clone, Default)]
pub struct Upstream {
    /// Keystone URL of a separate simulator (`TIDINGS_UPSTREAM`); `None`: the embedded one.
    pub keystone: Option<String>,
    /// `TIDINGS_BUS` (e.g. `redis://127.0.0.1:PORT`); `None`: in-process.
    pub bus: Option<String>,
    /// `TIDINGS_POLL_INTERVAL` (default `1h`: polled at start and after mutations).
    pub poll_interval: Option<String>,
    /// `TIDINGS_UPSTREAM_TIMEOUT`, when set.
    pub upstream_timeout: Option<String>,
    /// `TIDINGS_COALESCE_WINDOW`, when set.
    pub coalesce_window: Option<String>,
}

impl Server {
    /// Starts the release `tidings serve` over its embedded simulator (no background activity,
    /// one poll of each source at start and after mutations: the worker has its own scenario),
    /// waits until it is ready, and logs in.
    pub async fn tidings(options: &TidingsOptions, log: &Path) -> anyhow::Result<Self> {
        Self::tidings_over(options, &Upstream::default(), log).await
    }

    /// Starts the release `tidings serve` over `upstream` (see [`Upstream`]), with an admin
    /// token and the per-client limits raised; waits until it is ready, and logs
    /// in as admin.
    pub async fn tidings_over(
        options: &TidingsOptions,
        upstream: &Upstream,
        log: &Path,
    ) -> anyhow::Result<Self> {
        let addr = free_addr()?;
        let mut command = Command::new(&options.binary);
        command.args(["serve", "--listen", &addr.to_string()]);
        command.args(["--log-format", "json"]);
        command.env("TIDINGS_ADMIN_TOKEN", ADMIN_TOKEN);
        command.env("TIDINGS_METRICS_TOKEN", METRICS_TOKEN);
        command.env(
            "TIDINGS_POLL_INTERVAL",
            upstream.poll_interval.as_deref().unwrap_or("1h"),
        );
        match &upstream.keystone {
            Some(keystone) => {
                command.env("TIDINGS_UPSTREAM", keystone);
            }
            None => {
                command.args(["--sim-activity", "0"]);
                command.args([
                    "--sim-extra-instances",
                    &options.extra_instances.to_string(),
                ]);
            }
        }
        let optional = [
            ("TIDINGS_BUS", &upstream.bus),
            ("TIDINGS_UPSTREAM_TIMEOUT", &upstream.upstream_timeout),
            ("TIDINGS_COALESCE_WINDOW", &upstream.coalesce_window),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                command.env(name, value);
            }
        }
        for (flag, value) in client_limit_flags(&options.binary).await {
            command.args([flag, value]);
        }
        command.env("RUST_LOG", "warn,tidings::server=info");
        let child = spawn_logged(command, log)?;
        let mut server = Self {
            kind: Kind::Tidings,
            addr,
            auth: None,
            child,
        };
        server.wait_ready("/readyz").await?;
        server.auth = login(addr)
            .await?
            .map(|token| Arc::from(format!("Bearer {token}")));
        Ok(server)
    }

    /// A keep-alive connection that sends this server's session with every request.
    pub async fn conn(&self) -> anyhow::Result<Conn> {
        Conn::open_as(self.addr, self.auth.clone()).await
    }

    /// Starts this binary's `bare` ceiling over the payloads in `data`.
    pub async fn bare(data: &Path, log: &Path) -> anyhow::Result<Self> {
        let mut command = Command::new(std::env::current_exe()?);
        command.args(["bare", "--listen", "127.0.0.1:0", "--data"]);
        command.arg(data);
        Self::announced(Kind::Bare, command, log).await
    }

    /// Starts the stock tRPC server (`bench/node/server.mjs`) over the payloads in `data`.
    pub async fn node(script: &Path, data: &Path, log: &Path) -> anyhow::Result<Self> {
        let mut command = Command::new("node");
        command
            .arg(script)
            .args(["--port", "0", "--data"])
            .arg(data);
        Self::announced(Kind::Node, command, log).await
    }

    /// Starts a server that prints `listening HOST:PORT` first.
    async fn announced(kind: Kind, mut command: Command, log: &Path) -> anyhow::Result<Self> {
        command.stdout(Stdio::piped());
        command.stderr(std::fs::File::create(log)?);
        command.kill_on_drop(true);
        let mut child = command.spawn().with_context(|| format!("start {kind:?}"))?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .context("no `listening` line")??
            .context("exited before listening")?;
        let addr = line
            .strip_prefix("listening ")
            .context("expected `listening ADDR`")?
            .parse()?;
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let server = Self {
            kind,
            addr,
            auth: None,
            child,
        };
        server.wait_ready(&format!("/trpc/{SMALL}")).await?;
        Ok(server)
    }

    async fn wait_ready(&self, path: &str) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
        loop {
            if let Ok(mut conn) = Conn::open(self.addr).await
                && let Ok(reply) = conn.get(path, &[]).await
                && reply.status.is_success()
            {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("{} not ready on {}", self.kind.name(), self.addr);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// CPU time used so far.
    pub fn cpu(&self) -> Duration {
        machine::cpu_time(self.pid())
    }

    /// Resident memory now.
    pub fn rss(&self) -> u64 {
        machine::rss_bytes(self.pid())
    }

    /// Triggers one notice `{type, scope}` on `conn` (a connection to this server).
    pub async fn notify(&self, conn: &mut Conn, scope: &str) -> anyhow::Result<()> {
        let auth = format!("Bearer {ADMIN_TOKEN}");
        let body = serde_json::json!({ "type": "images", "scope": scope });
        conn.post_json(NOTIFY, &[("authorization", &auth)], &body)
            .await?;
        Ok(())
    }

    /// Stops the process (SIGKILL by pid) and reaps it.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Logs in as the simulator's admin with `auth.login`: the session token, or `None` when the
/// server has no such procedure (a build without sessions answers NOT_FOUND).
pub async fn login(addr: SocketAddr) -> anyhow::Result<Option<String>> {
    let mut conn = Conn::open(addr).await?;
    let body = serde_json::json!({ "username": "admin", "password": "admin" });
    let reply = conn
        .call(
            http::Method::POST,
            "/trpc/auth.login",
            &[("content-type", "application/json")],
            bytes::Bytes::from(body.to_string()),
            true,
        )
        .await?;
    let text = reply.body.unwrap_or_default();
    let json: serde_json::Value = serde_json::from_slice(&text).unwrap_or_default();
    if reply.status == http::StatusCode::NOT_FOUND || json["error"]["data"]["code"] == "NOT_FOUND" {
        return Ok(None);
    }
    if !reply.status.is_success() {
        bail!(
            "auth.login as admin: {} {}",
            reply.status,
            String::from_utf8_lossy(&text)
        );
    }
    let token = json["result"]["data"]["token"]
        .as_str()
        .context("auth.login answered without result.data.token")?;
    Ok(Some(token.to_owned()))
}

/// The per-client limit flags this `tidings` binary has, with the raised values.
async fn client_limit_flags(binary: &Path) -> Vec<(&'static str, &'static str)> {
    let help = Command::new(binary)
        .args(["serve", "--help"])
        .output()
        .await
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default();
    CLIENT_LIMIT_FLAGS
        .into_iter()
        .filter(|(flag, _)| {
            help.split(|c: char| c.is_whitespace() || c == ',' || c == '=')
                .any(|word| word == *flag)
        })
        .collect()
}

/// A `tidings sim` of its own (upstream of one or more `tidings serve`), stopped by pid.
pub struct Sim {
    /// Where it listens.
    pub addr: SocketAddr,
    child: Child,
}

impl Sim {
    /// Starts `tidings sim` on a free port with `activity` background actions per second and
    /// waits until Keystone answers.
    pub async fn start(binary: &Path, activity: f64, log: &Path) -> anyhow::Result<Self> {
        let addr = free_addr()?;
        let mut command = Command::new(binary);
        command.args(["sim", "--listen", &addr.to_string(), "--log-format", "json"]);
        command.args(["--sim-activity", &activity.to_string()]);
        command.env("RUST_LOG", "warn");
        let child = spawn_logged(command, log)?;
        let sim = Self { addr, child };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(mut conn) = Conn::open(addr).await
                && let Ok(reply) = conn.get("/_sim/counts", &[]).await
                && reply.status.is_success()
            {
                return Ok(sim);
            }
            if tokio::time::Instant::now() > deadline {
                bail!("the simulator on {addr} never answered");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The Keystone URL to give `tidings serve` as its upstream.
    pub fn keystone(&self) -> String {
        format!("http://{}/identity/v3", self.addr)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// Stops the process (SIGKILL by pid) and reaps it.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// A `redis-server` without persistence on a free loopback port, in its own scratch
/// directory, stopped by pid.
pub struct Redis {
    /// Its port.
    pub port: u16,
    child: Child,
}

impl Redis {
    /// Starts one (`redis-server --port P --bind 127.0.0.1 --save '' --appendonly no`) and
    /// waits until it answers PING.
    pub async fn start(dir: &Path, log: &Path) -> anyhow::Result<Self> {
        let port = free_addr()?.port();
        std::fs::create_dir_all(dir)?;
        let mut command = Command::new("redis-server");
        command.args(["--port", &port.to_string(), "--bind", "127.0.0.1"]);
        command.args(["--save", "", "--appendonly", "no"]);
        command.arg("--dir").arg(dir);
        let child = spawn_logged(command, log)
            .context("start redis-server (`just redis-server` installs it)")?;
        let redis = Self { port, child };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !redis.ping().await {
            if tokio::time::Instant::now() > deadline {
                bail!("redis-server on port {port} never answered PING");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(redis)
    }

    async fn ping(&self) -> bool {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await else {
            return false;
        };
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").await.is_ok()
            && stream.read_exact(&mut reply).await.is_ok()
            && &reply == b"+PONG\r\n"
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// Stops the process (SIGKILL by pid) and reaps it.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// A free loopback port (bound, then released for the server to take).
pub fn free_addr() -> std::io::Result<SocketAddr> {
    std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()
}

fn spawn_logged(mut command: Command, log: &Path) -> anyhow::Result<Child> {
    let file = std::fs::File::create(log)?;
    command.stdout(file.try_clone()?).stderr(file);
    command.kill_on_drop(true);
    Ok(command.spawn()?)
}
