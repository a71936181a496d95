//! Test support: a real Tidings server on port 0 over the real simulator, with typed helpers to
//! query, mutate and subscribe over HTTP.

pub mod logins;
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

pub use redis::{RedisServer, quiet_sim, redis_instance, redis_instance_with};
pub use sse::{SseEvent, SseReader};

/// The admin token every test server accepts.
pub const ADMIN_TOKEN: &str = "test-token";

/// A `--metrics-token` for tests that scrape `/metrics` (servers started without it serve no
/// `/metrics` on their main listener).
pub const METRICS_TOKEN: &str = "test-metrics-token";

/// A running server and its simulator.
pub struct TestApp {
    /// Where it listens.
    pub addr: SocketAddr,
    /// `http://ADDR`.
    pub base: String,
    /// Where the `--metrics-listen` listener listens, when the server has one.
    pub metrics_addr: Option<SocketAddr>,
    /// An HTTP client logged in as the cloud administrator (`admin`): every request carries
    /// `Authorization: Bearer <token>` unless it sets its own.
    pub http: reqwest::Client,
    /// The administrator's session token (for WebSocket and JSON-RPC clients).
    pub token: String,
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
        let metrics_addr = tidings.metrics_addr();
        let state = tidings.state.clone();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(tidings.serve(listener, shutdown.clone()));
        let base = format!("http://{addr}");
        wait_ready(&base).await;
        let admin = Caller::login(&base, "admin", "admin").await;
        Self {
            addr,
            base,
            metrics_addr,
            http: admin.http,
            token: admin.token,
            state,
            sim,
            shutdown,
            task: Some(task),
        }
    }

    /// Logs in as a seeded user (`admin`, `alice` of project `demo`, `bob` of `ops`, `carol`
    /// a reader of `demo`; each user's password is their name).
    pub async fn user(&self, name: &str) -> Caller {
        Caller::login(&self.base, name, name).await
    }

    /// Polls `/readyz` until it answers `status`, for up to 10 s (retries and back-off take a
    /// while on a loaded machine); whether it did.
    pub async fn readiness_becomes(&self, status: u16) -> bool {
        for _ in 0..100 {
            if let Ok(r) = self.http.get(format!("{}/readyz", self.base)).send().await
                && r.status().as_u16() == status
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// The administrator, as a [`Caller`].
    pub fn admin(&self) -> Caller {
        Caller {
            base: self.base.clone(),
            http: self.http.clone(),
            token: self.token.clone(),
        }
    }

    /// `GET /trpc/<path>?input=…` as the administrator.
    pub async fn query(&self, path: &str, input: Option<Value>) -> Reply {
        query(&self.http, &self.base, path, input).await
    }

    /// `POST /trpc/<path>` with a JSON body, as the administrator.
    pub async fn mutate(&self, path: &str, input: Value) -> Reply {
        mutate(&self.http, &self.base, path, input).await
    }

    /// `admin.notify` with the admin token.
    pub async fn admin_notify(&self, ty: &str) -> Reply {
        self.admin_notify_in(ty, None).await
    }

    /// `admin.notify` with the admin token, scoped to project `scope` (global when `None`).
    pub async fn admin_notify_in(&self, ty: &str, scope: Option<&str>) -> Reply {
        let mut input = serde_json::json!({ "type": ty });
        if let Some(scope) = scope {
            input["scope"] = scope.into();
        }
        let req = self
            .http
            .post(format!("{}/trpc/admin.notify", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .json(&input);
        reply(req.send().await.expect("notify")).await
    }

    /// Opens `updates.subscribe` over SSE as the administrator, optionally resuming with
    /// `Last-Event-ID`, and waits for the `connected` event.
    pub async fn subscribe(&self, input: Option<Value>, last_event_id: Option<&str>) -> SseReader {
        subscribe(&self.http, &self.base, input, last_event_id).await
    }

    /// `ws://ADDR<path>`.
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// A WebSocket to `path` (`/trpc`, `/trpc?connectionParams=1`, `/rpc`) that presents no
    /// session.
    pub async fn anonymous_websocket(&self, path: &str) -> WebSocket {
        let (socket, _) = tokio_tungstenite::connect_async(self.ws_url(path))
            .await
            .expect("upgrade");
        socket
    }

    /// A raw TCP connection to the server (for attacks below HTTP).
    pub async fn raw(&self) -> tokio::net::TcpStream {
        tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect")
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

/// A client WebSocket as the tests use it.
pub type WebSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What the server sent on `stream` until it closed the connection, if it did within `within`
/// (`None`: still open then). A reset counts as closed.
pub async fn closed_within(stream: &mut tokio::net::TcpStream, within: Duration) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let read_all = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(within, read_all).await.ok()?;
    Some(String::from_utf8_lossy(&got).into_owned())
}

/// A logged-in user of a server: an HTTP client that sends their session token.
#[derive(Clone)]
pub struct Caller {
    /// `http://ADDR`.
    pub base: String,
    /// Sends `Authorization: Bearer <token>` with every request that sets none itself.
    pub http: reqwest::Client,
    /// The session token.
    pub token: String,
}

impl Caller {
    /// Logs in with `auth.login` and keeps the token.
    pub async fn login(base: &str, username: &str, password: &str) -> Self {
        let answer = mutate(
            &reqwest::Client::new(),
            base,
            "auth.login",
            serde_json::json!({ "username": username, "password": password }),
        )
        .await;
        assert_eq!(answer.status, 200, "login as {username}: {}", answer.body);
        let token = answer.data()["token"]
            .as_str()
            .expect("a session token")
            .to_owned();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse().expect("header"),
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .expect("client");
        Self {
            base: base.to_owned(),
            http,
            token,
        }
    }

    /// `GET /trpc/<path>?input=…`.
    pub async fn query(&self, path: &str, input: Option<Value>) -> Reply {
        query(&self.http, &self.base, path, input).await
    }

    /// `POST /trpc/<path>` with a JSON body.
    pub async fn mutate(&self, path: &str, input: Value) -> Reply {
        mutate(&self.http, &self.base, path, input).await
    }

    /// Opens `updates.subscribe` over SSE and waits for the `connected` event.
    pub async fn subscribe(&self, input: Option<Value>, last_event_id: Option<&str>) -> SseReader {
        subscribe(&self.http, &self.base, input, last_event_id).await
    }

    /// `Authorization: Bearer <token>`, for clients built elsewhere.
    pub fn auth_headers(&self) -> reqwest::header::HeaderMap {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {}", self.token).parse().expect("header"),
        );
        headers
    }

    /// A WebSocket to `path` (`/trpc` or `/rpc`) whose upgrade carries the session token.
    pub async fn websocket(
        &self,
        path: &str,
    ) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>
    {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!("{}{path}", self.base.replacen("http://", "ws://", 1));
        let mut request = url.into_client_request().expect("request");
        request.headers_mut().extend(self.auth_headers());
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("upgrade");
        socket
    }

    /// A jsonrpsee WebSocket client of `/rpc` logged in as this user.
    pub async fn jsonrpc_ws(&self) -> jsonrpsee::ws_client::WsClient {
        jsonrpsee::ws_client::WsClientBuilder::default()
            .set_headers(self.auth_headers())
            .build(format!("{}/rpc", self.base.replacen("http://", "ws://", 1)))
            .await
            .expect("websocket")
    }

    /// A jsonrpsee HTTP client of `/rpc` logged in as this user.
    pub fn jsonrpc_http(&self) -> jsonrpsee::http_client::HttpClient {
        jsonrpsee::http_client::HttpClientBuilder::default()
            .set_headers(self.auth_headers())
            .build(format!("{}/rpc", self.base))
            .expect("http client")
    }
}

/// An HTTP client without a session whose connections come from `local` (another loopback
/// address such as `127.0.0.2` is another client to the server).
pub fn client_from(local: std::net::IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(local)
        .build()
        .expect("client")
}

/// Opens `updates.subscribe` over SSE at `base` presenting nothing but `connection_params` (in
/// the URL, as `httpSubscriptionLink` sends them) and waits for the `connected` event. What
/// follows is the refusal (`serialized-error`) or the notices.
pub async fn subscribe_with_params(base: &str, connection_params: &Value) -> SseReader {
    let response = reqwest::Client::new()
        .get(format!("{base}/trpc/updates.subscribe"))
        .query(&[("connectionParams", connection_params.to_string())])
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("subscribe");
    let mut reader = SseReader::new(response);
    let first = reader.next_within(Duration::from_secs(5)).await;
    assert_eq!(first.map(|e| e.event).as_deref(), Some("connected"));
    reader
}

async fn wait_ready(base: &str) {
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("server never became ready");
}

async fn query(http: &reqwest::Client, base: &str, path: &str, input: Option<Value>) -> Reply {
    let mut req = http.get(format!("{base}/trpc/{path}"));
    if let Some(input) = input {
        req = req.query(&[("input", input.to_string())]);
    }
    reply(req.send().await.expect("query")).await
}

async fn mutate(http: &reqwest::Client, base: &str, path: &str, input: Value) -> Reply {
    let req = http.post(format!("{base}/trpc/{path}")).json(&input);
    reply(req.send().await.expect("mutate")).await
}

async fn subscribe(
    http: &reqwest::Client,
    base: &str,
    input: Option<Value>,
    last_event_id: Option<&str>,
) -> SseReader {
    let mut req = http
        .get(format!("{base}/trpc/updates.subscribe"))
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
    assert_eq!(first.event, "connected", "{:?}", first.data);
    reader
}

async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    Reply { status, body }
}
