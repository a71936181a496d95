//! The three servers under test, started as their own processes (so CPU and RSS are theirs
//! alone) and driven alike: the same paths, the same trigger, the same subscription.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::client::Conn;
use crate::machine;

/// The admin token the benchmark starts Tidings with.
pub const ADMIN_TOKEN: &str = "bench";
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

impl Server {
    /// Starts the release `tidings serve` over its embedded simulator (no background activity,
    /// one poll of each source at start and after mutations: the worker has its own scenario),
    /// and waits until it is ready.
    pub async fn tidings(options: &TidingsOptions, log: &Path) -> anyhow::Result<Self> {
        let addr = free_addr()?;
        let mut command = Command::new(&options.binary);
        command.args(["serve", "--listen", &addr.to_string()]);
        command.args(["--admin-token", ADMIN_TOKEN, "--sim-activity", "0"]);
        command.args(["--poll-interval", "1h", "--log-format", "json"]);
        command.args([
            "--sim-extra-instances",
            &options.extra_instances.to_string(),
        ]);
        command.env("RUST_LOG", "warn,tidings::server=info");
        let child = spawn_logged(command, log)?;
        let server = Self {
            kind: Kind::Tidings,
            addr,
            child,
        };
        server.wait_ready("/readyz").await?;
        Ok(server)
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
        let server = Self { kind, addr, child };
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

    /// Stops the process.
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
