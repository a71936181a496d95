//! Attacks on credentials: a session token taken from a logged URL, a stream ticket replayed
//! or kept past its time, logs read for passwords and tokens, and one session multiplying the
//! upstream load with a batch or a WebSocket array of calls.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use jsonrpsee::core::client::{ClientT, SubscriptionClientT};
use jsonrpsee::rpc_params;
use rand::RngCore;
use serde_json::{Value, json};
use tidings_sim::faults::{Fault, FaultKind, Service};
use tidings_tests::{Caller, SseEvent, TestApp, subscribe_with_params};
use tokio_tungstenite::tungstenite::Message;

/// Calls one session sends at once in the load attacks.
const CALLS: usize = 64;
/// The default of `--max-calls-per-session`.
const MAX_CALLS_PER_SESSION: u64 = 8;

/// What a subscription answers first after `connected` (its refusal, or a notice).
async fn first_answer(stream: &mut tidings_tests::SseReader) -> SseEvent {
    stream
        .next_message(Duration::from_secs(5))
        .await
        .expect("an answer on the stream")
}

fn assert_refused(answer: &SseEvent) {
    assert_eq!(answer.event, "serialized-error", "{answer:?}");
    assert_eq!(answer.json()["data"]["code"], "UNAUTHORIZED", "{answer:?}");
}

/// Opens an SSE subscription with a ticket and checks that it is live: a notice reaches it.
async fn assert_stream_works(app: &TestApp, ticket: &str) {
    let mut stream = subscribe_with_params(&app.base, &json!({ "ticket": ticket })).await;
    assert_eq!(app.admin_notify("volumes").await.status, 200);
    let answer = first_answer(&mut stream).await;
    assert_ne!(answer.event, "serialized-error", "{answer:?}");
    assert_eq!(answer.json()["type"], "volumes", "{answer:?}");
}

async fn stream_ticket(caller: &Caller) -> String {
    let answer = caller.mutate("auth.streamTicket", json!(null)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.data()["ticket"]
        .as_str()
        .expect("a ticket")
        .to_owned()
}

#[tokio::test]
async fn session_token_in_a_url_is_refused() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;

    // The SSE subscription's connectionParams travel in the URL.
    let mut stream = subscribe_with_params(&app.base, &json!({ "token": alice.token })).await;
    assert_refused(&first_answer(&mut stream).await);

    // So do those of any tRPC HTTP request.
    let url_only = reqwest::Client::new()
        .get(format!("{}/trpc/auth.me", app.base))
        .query(&[(
            "connectionParams",
            json!({ "token": alice.token }).to_string(),
        )])
        .send()
        .await
        .expect("query");
    assert_eq!(url_only.status(), 401);

    // The tRPC WebSocket's connectionParams come in its first message, not the URL: fine.
    assert_websocket_params_log_in(&app.base, &alice.token).await;
}

/// A tRPC WebSocket at `base` that sends `token` in its `connectionParams` frame is alice's.
async fn assert_websocket_params_log_in(base: &str, token: &str) {
    let url = format!("{}/trpc?connectionParams=1", base.replacen("http", "ws", 1));
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("upgrade");
    let params = json!({ "method": "connectionParams", "data": { "token": token } });
    let me = json!({ "id": 1, "method": "query", "params": { "path": "auth.me" } });
    for frame in [params, me] {
        socket
            .send(Message::text(frame.to_string()))
            .await
            .expect("send");
    }
    let reply = next_json(&mut socket).await;
    assert_eq!(reply["result"]["data"]["userName"], "alice", "{reply}");
}

#[tokio::test]
async fn stream_ticket_works_once_and_expires() {
    let ttl = Duration::from_millis(400);
    let app = TestApp::spawn_with(&["--stream-ticket-ttl", "400ms"]).await;
    let alice = app.user("alice").await;

    // A ticket opens one stream, once.
    let ticket = stream_ticket(&alice).await;
    assert_stream_works(&app, &ticket).await;
    let mut replay = subscribe_with_params(&app.base, &json!({ "ticket": ticket })).await;
    assert_refused(&first_answer(&mut replay).await);

    // It opens nothing but a subscription (and is not used up trying).
    let ticket = stream_ticket(&alice).await;
    let query = reqwest::Client::new()
        .get(format!("{}/trpc/auth.me", app.base))
        .query(&[("connectionParams", json!({ "ticket": ticket }).to_string())])
        .send()
        .await
        .expect("query");
    assert_eq!(query.status(), 401);
    assert_stream_works(&app, &ticket).await;

    // It expires.
    let ticket = stream_ticket(&alice).await;
    tokio::time::sleep(ttl + Duration::from_millis(200)).await;
    let mut late = subscribe_with_params(&app.base, &json!({ "ticket": ticket })).await;
    assert_refused(&first_answer(&mut late).await);

    // It ends with its session, and none is issued without one.
    let ticket = stream_ticket(&alice).await;
    assert_eq!(alice.mutate("auth.logout", json!(null)).await.status, 200);
    let mut orphan = subscribe_with_params(&app.base, &json!({ "ticket": ticket })).await;
    assert_refused(&first_answer(&mut orphan).await);
    assert_eq!(
        alice
            .mutate("auth.streamTicket", json!(null))
            .await
            .error_code(),
        "UNAUTHORIZED"
    );
}

/// Requests for Cinder quotas that reached the simulator (`projects.getQuotas` makes one each).
fn quota_requests(app: &TestApp) -> u64 {
    app.sim
        .stats()
        .by_path
        .iter()
        .filter(|(path, _)| path.contains("os-quota-sets"))
        .map(|(_, n)| n)
        .sum()
}

/// Slows Cinder down, lets `send` fire [`CALLS`] quota calls of one session at once, and
/// returns how many reached the upstream while the first of them were still held there.
async fn upstream_calls_at_once(app: &TestApp, send: impl Future<Output = ()>) -> u64 {
    app.sim.reset_stats();
    app.sim
        .inject(Fault::new(Service::Volume, FaultKind::Latency { ms: 1500 }));
    let watch = async {
        for _ in 0..500 {
            if quota_requests(app) > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // The first arrivals are held 1.5 s; calls beyond the limit would arrive meanwhile.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let at_once = quota_requests(app);
        app.sim.clear_faults();
        at_once
    };
    let (at_once, ()) = tokio::join!(watch, send);
    at_once
}

#[tokio::test]
async fn a_batch_of_64_calls_cannot_multiply_upstream_load() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let input = json!({ "projectId": app.project_id("demo") });
    let paths = vec!["projects.getQuotas"; CALLS].join(",");
    let inputs: serde_json::Map<String, Value> =
        (0..CALLS).map(|i| (i.to_string(), input.clone())).collect();
    let send = async {
        let answer = alice
            .http
            .get(format!("{}/trpc/{paths}", app.base))
            .query(&[
                ("batch", "1".to_owned()),
                ("input", Value::from(inputs).to_string()),
            ])
            .send()
            .await
            .expect("batch");
        assert_eq!(answer.status(), 200);
        let results: Vec<Value> = answer.json().await.expect("json");
        assert_eq!(results.len(), CALLS);
        for result in results {
            assert!(result["result"]["data"]["volume"].is_object(), "{result}");
        }
    };
    let at_once = upstream_calls_at_once(&app, send).await;
    assert!(
        at_once <= MAX_CALLS_PER_SESSION,
        "{at_once} quota calls reached the upstream at once"
    );
}

#[tokio::test]
async fn a_websocket_array_of_64_calls_cannot_multiply_upstream_load() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let input = json!({ "projectId": app.project_id("demo") });
    let calls: Vec<Value> = (0..CALLS)
        .map(|id| {
            json!({ "id": id, "method": "query",
                    "params": { "path": "projects.getQuotas", "input": input } })
        })
        .collect();
    let mut socket = alice.websocket("/trpc").await;
    let send = async {
        socket
            .send(Message::text(Value::from(calls).to_string()))
            .await
            .expect("send");
        for _ in 0..CALLS {
            let reply = next_json(&mut socket).await;
            assert!(reply["result"]["data"]["volume"].is_object(), "{reply}");
        }
    };
    let at_once = upstream_calls_at_once(&app, send).await;
    assert!(
        at_once <= MAX_CALLS_PER_SESSION,
        "{at_once} quota calls reached the upstream at once"
    );
}

async fn next_json(
    socket: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a reply in time")
            .expect("open")
            .expect("frame");
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).expect("json");
        }
    }
}

/// `text` without ANSI colour sequences (`ESC [ … m`).
fn without_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|&c| c == 'm');
        } else {
            out.push(c);
        }
    }
    out
}

fn random_hex(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut raw);
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `tidings` binary, built now so that it is this tree's.
fn tidings_binary() -> std::path::PathBuf {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let built = Command::new(cargo)
        .args(["build", "--quiet", "-p", "tidings", "--bin", "tidings"])
        .args(["--manifest-path", manifest])
        .status()
        .expect("cargo build");
    assert!(built.success(), "building tidings failed");
    // The test binary is target/<profile>/deps/integration-…; the server is beside deps/.
    let exe = std::env::current_exe().expect("test binary");
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target");
    profile_dir.join("tidings")
}

/// A `tidings serve` process logging to a file; killed (by its own handle) when dropped.
struct ServerProcess {
    child: Child,
    base: String,
    log: std::path::PathBuf,
}

impl ServerProcess {
    fn start(upstream: &str, service_password: &str, admin_token: &str) -> Self {
        let log = std::env::temp_dir().join(format!("tidings-trace-{}.log", random_hex(8)));
        let mut child = Command::new(tidings_binary())
            .args(["serve", "--listen", "127.0.0.1:0", "--upstream", upstream])
            .args(["--poll-interval", "100ms", "--console-dir", "/nonexistent"])
            .env("RUST_LOG", "trace")
            .env("TIDINGS_OS_PASSWORD", service_password)
            .env("TIDINGS_ADMIN_TOKEN", admin_token)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start tidings");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("first line");
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self { child, base, log }
    }

    /// Stops the server and returns everything it logged.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::fs::read_to_string(&self.log).expect("log")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Logs in over every transport, opens streams, calls and fails a login; returns the session
/// tokens and tickets it saw, and the user still logged in.
async fn use_every_transport(
    base: &str,
    password: &str,
    admin_token: &str,
) -> (Vec<String>, Caller) {
    let wait_ready = async {
        for _ in 0..200 {
            match reqwest::get(format!("{base}/readyz")).await {
                Ok(r) if r.status() == 200 => return,
                _ => tokio::time::sleep(Duration::from_millis(25)).await,
            }
        }
        panic!("never ready");
    };
    wait_ready.await;
    let mut seen = Vec::new();
    let alice = Caller::login(base, "alice", password).await;
    seen.push(alice.token.clone());
    let wrong = reqwest::Client::new()
        .post(format!("{base}/trpc/auth.login"))
        .json(&json!({ "username": "alice", "password": format!("{password}-wrong") }))
        .send()
        .await
        .expect("login");
    assert_eq!(wrong.status(), 401);

    // tRPC HTTP: a batch, a mutation, SSE with a ticket and with the header.
    let batch = alice
        .http
        .get(format!(
            "{base}/trpc/auth.me,projects.getAll?batch=1&input=%7B%7D"
        ))
        .send()
        .await
        .expect("batch");
    assert_eq!(batch.status(), 200);
    let ticket = stream_ticket(&alice).await;
    seen.push(ticket.clone());
    let mut by_ticket = subscribe_with_params(base, &json!({ "ticket": ticket })).await;
    let mut by_header = alice.subscribe(None, None).await;
    let notify = reqwest::Client::new()
        .post(format!("{base}/trpc/admin.notify"))
        .bearer_auth(admin_token)
        .json(&json!({ "type": "volumes" }))
        .send()
        .await
        .expect("notify");
    assert_eq!(notify.status(), 200);
    for stream in [&mut by_ticket, &mut by_header] {
        assert_eq!(first_answer(stream).await.json()["type"], "volumes");
    }

    // tRPC WebSocket with the token in its first frame.
    assert_websocket_params_log_in(base, &alice.token).await;

    // JSON-RPC over HTTP and WebSocket: logins with the password, calls with the token.
    let login = json!({ "username": "alice", "password": password });
    let http = jsonrpsee::http_client::HttpClientBuilder::default()
        .build(format!("{base}/rpc"))
        .expect("client");
    let answer: Value = http
        .request("auth.login", rpc_params![login.clone()])
        .await
        .expect("json-rpc login");
    seen.push(answer["token"].as_str().expect("token").to_owned());
    let ws = jsonrpsee::ws_client::WsClientBuilder::default()
        .build(format!("{}/rpc", base.replacen("http", "ws", 1)))
        .await
        .expect("websocket");
    let answer: Value = ws
        .request("auth.login", rpc_params![login])
        .await
        .expect("json-rpc ws login");
    seen.push(answer["token"].as_str().expect("token").to_owned());
    let ws = alice.jsonrpc_ws().await;
    let _: Value = ws.request("auth.me", rpc_params![]).await.expect("me");
    let _updates = ws
        .subscribe::<Value, _>("updates.subscribe", rpc_params![], "updates.unsubscribe")
        .await
        .expect("subscribe");
    let _: Value = alice
        .jsonrpc_http()
        .request("auth.me", rpc_params![])
        .await
        .expect("me");
    (seen, alice)
}

#[tokio::test]
async fn no_log_level_prints_passwords_or_tokens() {
    let sim = tidings_sim::spawn(tidings_sim::SimConfig {
        tick: Duration::from_secs(3600),
        activity_per_sec: 0.0,
        ..tidings_sim::SimConfig::default()
    })
    .await
    .expect("simulator");
    let (password, service_password, admin_token) =
        (random_hex(16), random_hex(16), random_hex(16));
    assert!(sim.sim.set_password("alice", &password));
    assert!(sim.sim.set_password("admin", &service_password));
    let server = ServerProcess::start(&sim.auth_url(), &service_password, &admin_token);

    let mut secrets = vec![password.clone(), service_password, admin_token.clone()];
    let (seen, alice) = use_every_transport(&server.base, &password, &admin_token).await;
    secrets.extend(seen);
    // Keystone tokens are revoked at logout: collect them while they are in use.
    secrets.extend(sim.sim.issued_tokens());
    assert_eq!(alice.mutate("auth.logout", json!(null)).await.status, 200);
    secrets.extend(sim.sim.issued_tokens());
    let log = without_colours(&server.stop());

    assert!(log.contains(" TRACE "), "the server did not log at TRACE");
    for secret in &secrets {
        let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
        for form in [secret, &hex] {
            let line = log.lines().find(|line| line.contains(form.as_str()));
            assert!(line.is_none(), "a credential was logged: {line:?}");
        }
    }
}
