//! The churn: a fixed set of actors, each looping until told to stop. Subscribers come and go
//! over SSE, the tRPC WebSocket and JSON-RPC; some stop reading; mutations create and delete
//! resources; queries and a steady trigger keep notices flowing; faults of the upstream come
//! and go. Every connection goes to 127.0.0.1 and every actor holds at most one at a time.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_util::sync::CancellationToken;

use crate::client::{Conn, Subscriber};
use crate::servers::{ADMIN_TOKEN, NOTIFY, SUBSCRIBE};

/// How many of each actor.
#[derive(Debug, Clone, Copy)]
pub struct Crew {
    /// SSE subscribers that connect, read a while and leave.
    pub sse: usize,
    /// WebSocket subscribers (tRPC and JSON-RPC in turn) that do the same.
    pub ws: usize,
    /// Subscribers that stop reading (small receive buffer) and hold on.
    pub stalled: usize,
    /// Create-then-delete loops.
    pub mutators: usize,
    /// Query loops.
    pub readers: usize,
    /// `admin.notify` calls per second.
    pub notify_rate: u32,
}

/// What the churn did, counted as it happens.
#[derive(Debug, Default)]
pub struct Counters {
    /// Subscriptions opened (every transport).
    pub subscribed: AtomicU64,
    /// Subscriptions refused or failed to open.
    pub subscribe_failed: AtomicU64,
    /// Notices read by the subscribers.
    pub notices: AtomicU64,
    /// Subscriptions held open without reading.
    pub stalled: AtomicU64,
    /// Mutations answered with success.
    pub mutations: AtomicU64,
    /// Mutations answered with an error (expected while the upstream is faulty).
    pub mutations_failed: AtomicU64,
    /// Queries answered with success (or 304).
    pub queries: AtomicU64,
    /// Queries answered with an error.
    pub queries_failed: AtomicU64,
    /// `admin.notify` calls.
    pub notifies: AtomicU64,
    /// Faults injected into the simulator.
    pub faults: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// `name value` pairs, in order.
    pub fn pairs(&self) -> Vec<(&'static str, u64)> {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        vec![
            ("subscriptions opened", get(&self.subscribed)),
            (
                "subscriptions refused or failed",
                get(&self.subscribe_failed),
            ),
            ("notices read", get(&self.notices)),
            ("subscribers that stopped reading", get(&self.stalled)),
            ("mutations ok", get(&self.mutations)),
            ("mutations failed", get(&self.mutations_failed)),
            ("queries ok", get(&self.queries)),
            ("queries failed", get(&self.queries_failed)),
            ("admin.notify calls", get(&self.notifies)),
            ("upstream faults injected", get(&self.faults)),
        ]
    }
}

/// What every actor shares.
pub struct Ctx {
    /// The server.
    pub server: SocketAddr,
    /// The simulator (its `/_sim/faults`).
    pub sim: SocketAddr,
    /// The session's `authorization` value, when the server has sessions.
    pub auth: Option<Arc<str>>,
    /// The project mutations act in.
    pub project: String,
    /// The counters.
    pub counters: Counters,
    /// The latest event id `admin.notify` reported (resuming subscribers start near it).
    pub last_event_id: AtomicU64,
    /// Resources created and not deleted yet: (delete procedure, id).
    pub created: Mutex<Vec<(&'static str, String)>>,
}

/// The faults the cycle injects, by what they stand for.
pub const FAULTS: [(&str, &str); 5] = [
    (
        "upstream down",
        r#"{"service":"all","kind":"status","status":503}"#,
    ),
    (
        "compute slow",
        r#"{"service":"compute","kind":"latency","ms":2500}"#,
    ),
    ("volume garbage", r#"{"service":"volume","kind":"garbage"}"#),
    (
        "network drops connections",
        r#"{"service":"network","kind":"drop"}"#,
    ),
    (
        "keystone failing",
        r#"{"service":"identity","kind":"status","status":500}"#,
    ),
];

/// Runs the crew until `stop`; returns once every actor has finished.
pub async fn run(ctx: Arc<Ctx>, crew: Crew, stop: CancellationToken) {
    let mut actors = JoinSet::new();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next_rng = || {
        seed = seed.wrapping_add(0x2545_f491_4f6c_dd1d);
        Rng(seed)
    };
    for _ in 0..crew.sse {
        actors.spawn(sse_subscriber(ctx.clone(), stop.clone(), next_rng()));
    }
    for i in 0..crew.ws {
        actors.spawn(ws_subscriber(
            ctx.clone(),
            stop.clone(),
            next_rng(),
            i % 2 == 0,
        ));
    }
    for i in 0..crew.stalled {
        actors.spawn(stalled_subscriber(
            ctx.clone(),
            stop.clone(),
            next_rng(),
            i % 2,
        ));
    }
    for _ in 0..crew.mutators {
        actors.spawn(mutator(ctx.clone(), stop.clone(), next_rng()));
    }
    for _ in 0..crew.readers {
        actors.spawn(reader(ctx.clone(), stop.clone(), next_rng()));
    }
    actors.spawn(notifier(ctx.clone(), stop.clone(), crew.notify_rate));
    actors.spawn(fault_cycle(ctx.clone(), stop.clone(), next_rng()));
    while actors.join_next().await.is_some() {}
}

/// A small xorshift generator: the churn's choices need variety, not quality.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn millis(&mut self, from: u64, to: u64) -> Duration {
        Duration::from_millis(from + self.below(to - from))
    }
}

/// Sleeps `d`; `false` when told to stop first.
async fn pause(stop: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        () = stop.cancelled() => false,
        () = tokio::time::sleep(d) => true,
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Subscribes over SSE (plain, filtered by type, or resuming from a recent or an ancient id),
/// reads for 0.2–3 s, leaves.
async fn sse_subscriber(ctx: Arc<Ctx>, stop: CancellationToken, mut rng: Rng) {
    while !stop.is_cancelled() {
        let last = ctx.last_event_id.load(Ordering::Relaxed);
        let input = match rng.below(4) {
            0 => None,
            1 => Some(r#"{"types":["volumes","networks","images"]}"#.to_owned()),
            2 => Some(format!(
                r#"{{"lastEventId":"{}"}}"#,
                last.saturating_sub(rng.below(50))
            )),
            _ => Some(r#"{"lastEventId":"1"}"#.to_owned()),
        };
        let path = match input {
            Some(json) => format!("{SUBSCRIBE}?input={}", percent_encode(&json)),
            None => SUBSCRIBE.to_owned(),
        };
        let opened = tokio::time::timeout(
            Duration::from_secs(10),
            Subscriber::open(ctx.server, &path, ctx.auth.clone()),
        )
        .await;
        match opened {
            Ok(Ok(mut subscriber)) => {
                Counters::add(&ctx.counters.subscribed);
                let until = Instant::now() + rng.millis(200, 3000);
                loop {
                    tokio::select! {
                        () = stop.cancelled() => break,
                        got = subscriber.next_notice(until) => {
                            if !got { break; }
                            Counters::add(&ctx.counters.notices);
                        }
                    }
                }
            }
            _ => {
                Counters::add(&ctx.counters.subscribe_failed);
                pause(&stop, Duration::from_millis(500)).await;
            }
        }
    }
}

/// Subscribes over the tRPC WebSocket (`trpc`) or JSON-RPC, makes a call on the same socket,
/// reads for 0.2–3 s, then unsubscribes and closes, closes, or just drops the connection.
async fn ws_subscriber(ctx: Arc<Ctx>, stop: CancellationToken, mut rng: Rng, trpc: bool) {
    let (path, subscribe, call, unsubscribe) = if trpc {
        (
            "/trpc",
            r#"{"id":1,"method":"subscription","params":{"path":"updates.subscribe","input":{}}}"#,
            r#"{"id":2,"method":"query","params":{"path":"projects.getAll"}}"#,
            Some(r#"{"id":1,"method":"subscription.stop"}"#),
        )
    } else {
        (
            "/rpc",
            r#"{"jsonrpc":"2.0","id":1,"method":"updates.subscribe","params":{}}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"projects.getAll","params":{}}"#,
            None,
        )
    };
    while !stop.is_cancelled() {
        let Ok(mut request) = format!("ws://{}{path}", ctx.server).into_client_request() else {
            return;
        };
        if let Some(auth) = &ctx.auth
            && let Ok(value) = auth.parse()
        {
            request
                .headers_mut()
                .insert(http::header::AUTHORIZATION, value);
        }
        let connected = tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::connect_async(request),
        )
        .await;
        let Ok(Ok((mut socket, _))) = connected else {
            Counters::add(&ctx.counters.subscribe_failed);
            pause(&stop, Duration::from_millis(500)).await;
            continue;
        };
        if socket.send(Message::text(subscribe)).await.is_err()
            || socket.send(Message::text(call)).await.is_err()
        {
            Counters::add(&ctx.counters.subscribe_failed);
            continue;
        }
        Counters::add(&ctx.counters.subscribed);
        let until = Instant::now() + rng.millis(200, 3000);
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                next = tokio::time::timeout_at(until, socket.next()) => match next {
                    Ok(Some(Ok(Message::Text(text)))) => {
                        if text.contains("\"type\":\"") {
                            Counters::add(&ctx.counters.notices);
                        }
                    }
                    Ok(Some(Ok(_))) => {}
                    _ => break,
                },
            }
        }
        match rng.below(3) {
            0 => {
                if let Some(unsubscribe) = unsubscribe {
                    let _ = socket.send(Message::text(unsubscribe)).await;
                }
                let _ = socket.close(None).await;
            }
            1 => {
                let _ = socket.close(None).await;
            }
            _ => drop(socket),
        }
    }
}

/// Opens a subscription (SSE when `kind` is 0, the tRPC WebSocket otherwise) on a socket with
/// a 4 KiB receive buffer and stops reading for 20–60 s while notices keep coming, then drops
/// it: the server's bounded queue for it fills and it must let go.
async fn stalled_subscriber(ctx: Arc<Ctx>, stop: CancellationToken, mut rng: Rng, kind: usize) {
    while !stop.is_cancelled() {
        let stream = async {
            let socket = TcpSocket::new_v4()?;
            socket.set_recv_buffer_size(4096)?;
            socket.connect(ctx.server).await
        };
        let Ok(Ok(mut stream)) = tokio::time::timeout(Duration::from_secs(10), stream).await else {
            Counters::add(&ctx.counters.subscribe_failed);
            pause(&stop, Duration::from_millis(500)).await;
            continue;
        };
        let held: Option<Box<dyn Send>> = if kind == 0 {
            open_sse_raw(&ctx, &mut stream)
                .await
                .then(|| Box::new(stream) as Box<dyn Send>)
        } else {
            open_ws_raw(&ctx, stream)
                .await
                .map(|socket| Box::new(socket) as Box<dyn Send>)
        };
        let Some(held) = held else {
            Counters::add(&ctx.counters.subscribe_failed);
            pause(&stop, Duration::from_millis(500)).await;
            continue;
        };
        Counters::add(&ctx.counters.stalled);
        pause(&stop, rng.millis(20_000, 60_000)).await;
        drop(held);
    }
}

/// Sends the SSE request by hand and reads only the first bytes of the answer.
async fn open_sse_raw(ctx: &Ctx, stream: &mut TcpStream) -> bool {
    let auth = ctx
        .auth
        .as_ref()
        .map(|a| format!("authorization: {a}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "GET {SUBSCRIBE} HTTP/1.1\r\nhost: {}\r\naccept: text/event-stream\r\n{auth}\r\n",
        ctx.server
    );
    if stream.write_all(request.as_bytes()).await.is_err() {
        return false;
    }
    let mut first = [0u8; 512];
    match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut first)).await {
        Ok(Ok(n)) => first[..n].starts_with(b"HTTP/1.1 200"),
        _ => false,
    }
}

/// Upgrades to the tRPC WebSocket, subscribes, and waits for the confirmation only.
async fn open_ws_raw(
    ctx: &Ctx,
    stream: TcpStream,
) -> Option<tokio_tungstenite::WebSocketStream<TcpStream>> {
    let mut request = format!("ws://{}/trpc", ctx.server)
        .into_client_request()
        .ok()?;
    if let Some(auth) = &ctx.auth {
        request
            .headers_mut()
            .insert(http::header::AUTHORIZATION, auth.parse().ok()?);
    }
    let opened = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::client_async(request, stream),
    )
    .await;
    let (mut socket, _) = opened.ok()?.ok()?;
    let subscribe =
        r#"{"id":1,"method":"subscription","params":{"path":"updates.subscribe","input":{}}}"#;
    socket.send(Message::text(subscribe)).await.ok()?;
    match tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
        Ok(Some(Ok(Message::Text(_)))) => Some(socket),
        _ => None,
    }
}

/// A tRPC mutation; the result's data, or `None` when it failed.
async fn mutate(
    conn: &mut Option<Conn>,
    ctx: &Ctx,
    path: &str,
    input: serde_json::Value,
) -> Option<serde_json::Value> {
    if conn.is_none() {
        *conn = Conn::open_as(ctx.server, ctx.auth.clone()).await.ok();
    }
    let c = conn.as_mut()?;
    let outcome = tokio::time::timeout(
        Duration::from_secs(30),
        c.post_json(&format!("/trpc/{path}"), &[], &input),
    )
    .await;
    match outcome {
        Ok(Ok(reply)) => {
            Counters::add(&ctx.counters.mutations);
            let body: serde_json::Value =
                serde_json::from_slice(&reply.body.unwrap_or_default()).unwrap_or_default();
            Some(body["result"]["data"].clone())
        }
        Ok(Err(_)) => {
            Counters::add(&ctx.counters.mutations_failed);
            // An error answer leaves the connection usable; a broken one is replaced.
            None
        }
        Err(_) => {
            Counters::add(&ctx.counters.mutations_failed);
            *conn = None;
            None
        }
    }
}

/// Creates a volume, a network or an image, then deletes it; what could not be deleted (the
/// upstream was failing, the volume was still being created) is retried first next time, so
/// the simulated cloud does not grow with the soak.
async fn mutator(ctx: Arc<Ctx>, stop: CancellationToken, mut rng: Rng) {
    let mut conn = None;
    let mut n = 0u64;
    while !stop.is_cancelled() {
        let pending = ctx.created.lock().unwrap_or_else(|e| e.into_inner()).pop();
        if let Some((procedure, id)) = pending {
            let deleted = mutate(&mut conn, &ctx, procedure, serde_json::json!({ "id": id })).await;
            if deleted.is_none() {
                ctx.created
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(0, (procedure, id));
            }
            if !pause(&stop, rng.millis(100, 400)).await {
                break;
            }
            if ctx.created.lock().unwrap_or_else(|e| e.into_inner()).len() > 40 {
                continue;
            }
        }
        n += 1;
        let name = format!("soak-{n}");
        let (create, delete, input) = match rng.below(3) {
            0 => (
                "volumes.create",
                "volumes.delete",
                serde_json::json!({ "projectId": ctx.project, "name": name, "sizeGb": 1 }),
            ),
            1 => (
                "networks.create",
                "networks.delete",
                serde_json::json!({ "projectId": ctx.project, "name": name }),
            ),
            _ => (
                "images.create",
                "images.delete",
                serde_json::json!({ "projectId": ctx.project, "name": name,
                                    "diskFormat": "qcow2", "containerFormat": "bare" }),
            ),
        };
        if let Some(created) = mutate(&mut conn, &ctx, create, input).await
            && let Some(id) = created["id"].as_str()
        {
            ctx.created
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((delete, id.to_owned()));
        }
        if !pause(&stop, rng.millis(300, 1200)).await {
            break;
        }
    }
}

/// Queries in a loop: lists (some compressed, some revalidated with their ETag), a batch, and
/// JSON-RPC over HTTP.
async fn reader(ctx: Arc<Ctx>, stop: CancellationToken, mut rng: Rng) {
    const PATHS: [&str; 7] = [
        "projects.getAll",
        "compute.instances.getAll",
        "volumes.getAll",
        "images.getAll",
        "networks.getAll",
        "progress.getActive",
        "projects.getAll,volumes.getAll?batch=1&input=%7B%7D",
    ];
    let mut conn: Option<Conn> = None;
    let mut etags: Vec<Option<String>> = vec![None; PATHS.len()];
    while !stop.is_cancelled() {
        if conn.is_none() {
            conn = Conn::open_as(ctx.server, ctx.auth.clone()).await.ok();
        }
        let Some(c) = conn.as_mut() else {
            Counters::add(&ctx.counters.queries_failed);
            pause(&stop, Duration::from_millis(500)).await;
            continue;
        };
        let i = rng.below(PATHS.len() as u64 + 1) as usize;
        let outcome = if i == PATHS.len() {
            let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "volumes.getAll"});
            tokio::time::timeout(Duration::from_secs(30), c.post_json("/rpc", &[], &body))
                .await
                .map(|r| r.map(|reply| reply.status))
        } else {
            let encoding = ["gzip", "br", "zstd", "identity"][rng.below(4) as usize];
            let mut headers = vec![("accept-encoding", encoding)];
            let etag = etags[i].clone();
            if let Some(etag) = &etag
                && rng.below(2) == 0
            {
                headers.push(("if-none-match", etag));
            }
            let path = format!("/trpc/{}", PATHS[i]);
            tokio::time::timeout(Duration::from_secs(30), c.get(&path, &headers))
                .await
                .map(|r| {
                    r.map(|reply| {
                        if reply.etag.is_some() {
                            etags[i] = reply.etag;
                        }
                        reply.status
                    })
                })
        };
        match outcome {
            Ok(Ok(status)) if status.is_success() || status.as_u16() == 304 => {
                Counters::add(&ctx.counters.queries);
            }
            Ok(Ok(_)) => Counters::add(&ctx.counters.queries_failed),
            _ => {
                Counters::add(&ctx.counters.queries_failed);
                conn = None;
            }
        }
        if !pause(&stop, rng.millis(20, 150)).await {
            break;
        }
    }
}

/// `admin.notify` at a steady rate with a 1 KB scope (so a subscriber that stopped reading
/// fills its queue in tens of seconds), remembering the latest event id.
async fn notifier(ctx: Arc<Ctx>, stop: CancellationToken, rate: u32) {
    let period = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let filler = "s".repeat(1000);
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let mut conn: Option<Conn> = None;
    let mut n = 0u64;
    while !stop.is_cancelled() {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = ticker.tick() => {}
        }
        if conn.is_none() {
            conn = Conn::open(ctx.server).await.ok();
        }
        let Some(c) = conn.as_mut() else { continue };
        n += 1;
        let kind = ["images", "volumes", "networks", "compute"][(n % 4) as usize];
        let body = serde_json::json!({ "type": kind, "scope": format!("soak{n}{filler}") });
        match tokio::time::timeout(
            Duration::from_secs(10),
            c.post_json(NOTIFY, &[("authorization", &auth)], &body),
        )
        .await
        {
            Ok(Ok(reply)) => {
                Counters::add(&ctx.counters.notifies);
                let json: serde_json::Value =
                    serde_json::from_slice(&reply.body.unwrap_or_default()).unwrap_or_default();
                if let Some(id) = json["result"]["data"]["lastEventId"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                {
                    ctx.last_event_id.store(id, Ordering::Relaxed);
                }
            }
            _ => conn = None,
        }
    }
}

/// Healthy for 5–12 s, then one of [`FAULTS`] for 4–10 s, cleared, and again.
async fn fault_cycle(ctx: Arc<Ctx>, stop: CancellationToken, mut rng: Rng) {
    let mut i = rng.below(FAULTS.len() as u64) as usize;
    loop {
        if !pause(&stop, rng.millis(5_000, 12_000)).await {
            break;
        }
        let (_, fault) = FAULTS[i % FAULTS.len()];
        i += 1;
        if set_fault(ctx.sim, Some(fault)).await.is_ok() {
            Counters::add(&ctx.counters.faults);
        }
        let held = pause(&stop, rng.millis(4_000, 10_000)).await;
        let _ = set_fault(ctx.sim, None).await;
        if !held {
            break;
        }
    }
}

/// Injects `fault` into the simulator (`POST /_sim/faults`), or clears every fault (`None`).
pub async fn set_fault(sim: SocketAddr, fault: Option<&str>) -> anyhow::Result<()> {
    let mut conn = Conn::open(sim).await?;
    let reply = match fault {
        Some(json) => {
            let body: serde_json::Value = serde_json::from_str(json)?;
            conn.post_json("/_sim/faults", &[], &body).await?
        }
        None => {
            conn.call(
                http::Method::DELETE,
                "/_sim/faults",
                &[],
                bytes::Bytes::new(),
                false,
            )
            .await?
        }
    };
    anyhow::ensure!(reply.status.is_success(), "/_sim/faults: {}", reply.status);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_inputs_and_faults_parse() {
        assert_eq!(percent_encode(r#"{"a":1}"#), "%7B%22a%22%3A1%7D");
        for (_, fault) in FAULTS {
            let json: serde_json::Value = serde_json::from_str(fault).unwrap();
            assert!(json["service"].is_string() && json["kind"].is_string());
        }
        let mut rng = Rng(7);
        assert!((0..100).all(|_| rng.millis(10, 20) < Duration::from_millis(20)));
    }
}
