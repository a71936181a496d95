//! Test support: a real Tidings server on port 0 over the real simulator, with typed helpers to
//! query, mutate and subscribe over HTTP.

pub mod redis;
pub mod sse;

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use serde_json::Value;
use tidings::config::{Cli, Command, ServeArgs};
use tidings::server::Tidings;
use tidings::state::AppState;
use tidings_sim::Sim;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use redis::RedisServer;
pub use sse::{SseEvent, SseReader};

/// The admin token every test server accepts.
pub const ADMIN_TOKEN: &str = "test-token";

/// A running server and its simulator.
pub struct TestApp {
    /// Where it listens.
    pub addr: SocketAddr,
    /// `http://ADDR`.
    pub base: String,
    /// An HTTP client.
    pub http: reqwest::Client,
    /// The server's state (update bus, sources).
    pub state: AppState,
    /// The simulator behind it (faults, ticks, stats).
    pub sim: Sim,
    shutdown: CancellationToken,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

/// A JSON reply.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Parsed body.
    pub body: Value,
}

impl Reply {
    /// `result.data`, panicking with the body when it is an error.
    pub fn data(&self) -> &Value {
        self.body
            .get("result")
            .and_then(|r| r.get("data"))
            .unwrap_or_else(|| panic!("not a result: {}", self.body))
    }

    /// `error.data.code`.
    pub fn error_code(&self) -> &str {
        self.body["error"]["data"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("not an error: {}", self.body))
    }
}

impl TestApp {
    /// A server over a quiet simulator (no background activity; ticks on demand) that polls
    /// every 100 ms.
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// Same, with extra `tidings serve` flags.
    pub async fn spawn_with(extra: &[&str]) -> Self {
        Self::spawn_args(Self::args(extra)).await
    }

    /// A server over a simulator it shares with others (`--upstream` = its Keystone), e.g.
    /// several instances on one Redis bus; polls every 100 ms.
    pub async fn spawn_on(sim: &tidings_sim::RunningSim, extra: &[&str]) -> Self {
        let auth_url = sim.auth_url();
        let mut argv = vec!["--upstream", auth_url.as_str()];
        argv.extend_from_slice(extra);
        Self::spawn_parts(Self::args(&argv), sim.sim.clone()).await
    }

    /// `tidings serve` arguments for tests, with `extra` flags.
    fn args(extra: &[&str]) -> ServeArgs {
        let mut argv = vec![
            "tidings",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-token",
            ADMIN_TOKEN,
            "--sim-activity",
            "0",
            "--sim-tick",
            "1h",
            "--poll-interval",
            "100ms",
        ];
        argv.extend_from_slice(extra);
        let Command::Serve(args) = Cli::parse_from(argv).command else {
            unreachable!("serve")
        };
        args
    }

    /// A server from explicit arguments, over its embedded simulator.
    pub async fn spawn_args(args: ServeArgs) -> Self {
        let tidings = Tidings::build(&args).await.expect("build");
        let sim = tidings
            .sim
            .as_ref()
            .expect("embedded simulator")
            .sim
            .clone();
        Self::serve(tidings, sim).await
    }

    /// A server from explicit arguments whose upstream is `sim`.
    async fn spawn_parts(args: ServeArgs, sim: Sim) -> Self {
        let tidings = Tidings::build(&args).await.expect("build");
        Self::serve(tidings, sim).await
    }

    async fn serve(tidings: Tidings, sim: Sim) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = tidings.state.clone();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(tidings.serve(listener, shutdown.clone()));
        let app = Self {
            addr,
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            state,
            sim,
            shutdown,
            task: Some(task),
        };
        app.wait_ready().await;
        app
    }

    async fn wait_ready(&self) {
        for _ in 0..200 {
            if let Ok(r) = self.http.get(format!("{}/readyz", self.base)).send().await
                && r.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("server never became ready");
    }

    /// `GET /trpc/<path>?input=…`.
    pub async fn query(&self, path: &str, input: Option<Value>) -> Reply {
        let mut req = self.http.get(format!("{}/trpc/{path}", self.base));
        if let Some(input) = input {
            req = req.query(&[("input", input.to_string())]);
        }
        reply(req.send().await.expect("query")).await
    }

    /// `POST /trpc/<path>` with a JSON body.
    pub async fn mutate(&self, path: &str, input: Value) -> Reply {
        let req = self
            .http
            .post(format!("{}/trpc/{path}", self.base))
            .json(&input);
        reply(req.send().await.expect("mutate")).await
    }

    /// `admin.notify` with the admin token.
    pub async fn admin_notify(&self, ty: &str) -> Reply {
        let req = self
            .http
            .post(format!("{}/trpc/admin.notify", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .json(&serde_json::json!({ "type": ty }));
        reply(req.send().await.expect("notify")).await
    }

    /// Opens `updates.subscribe` over SSE, optionally resuming with `Last-Event-ID`, and waits
    /// for the `connected` event.
    pub async fn subscribe(&self, input: Option<Value>, last_event_id: Option<&str>) -> SseReader {
        let mut req = self
            .http
            .get(format!("{}/trpc/updates.subscribe", self.base))
            .header("accept", "text/event-stream");
        if let Some(input) = input {
            req = req.query(&[("input", input.to_string())]);
        }
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let mut reader = SseReader::new(req.send().await.expect("subscribe"));
        let first = reader
            .next_within(Duration::from_secs(5))
            .await
            .expect("connected");
        assert_eq!(first.event, "connected");
        reader
    }

    /// The id of a seeded project.
    pub fn project_id(&self, name: &str) -> String {
        self.sim
            .project_id(name)
            .unwrap_or_else(|| panic!("no project {name}"))
    }

    /// Ends the server as a crash would: its tasks are dropped, nothing is handed over
    /// (Redis leases run out instead of being given back).
    pub fn kill(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await.expect("join").expect("serve");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    Reply { status, body }
}
