//! The connection flood: thousands of connections of no one opened at once and left idle, as
//! an attacker would hold them: request headers begun and never finished, tRPC WebSockets and
//! JSON-RPC WebSockets that present no session, in turn. The server's resident memory and file
//! descriptors are sampled before, at the peak (while the flood is open) and 30 s after every
//! flood connection was dropped at once; `/healthz` must answer while the flood is open.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::procfs::Usage;

/// How long after the mass disconnect the server is sampled again.
pub const AFTER: Duration = Duration::from_secs(30);

/// Connections being opened at once.
const OPENING_AT_ONCE: usize = 256;

/// One flood connection, held open until dropped.
#[expect(dead_code, reason = "held only to keep the connection open")]
enum Held {
    /// A TCP connection with half a request sent.
    Headers(TcpStream),
    /// An upgraded WebSocket that sent nothing.
    Socket(Box<tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>>),
}

/// What the flood measured.
#[derive(Debug, Clone)]
pub struct Flood {
    /// Connections attempted.
    pub attempted: usize,
    /// Connections the server took (headers begun, or upgraded).
    pub held: usize,
    /// Connections refused or failed (a cap's answer, a reset).
    pub refused: usize,
    /// Just before the flood.
    pub before: Usage,
    /// The largest RSS and fds seen while the flood was open (taken separately).
    pub peak: Usage,
    /// [`AFTER`] after the mass disconnect.
    pub after: Usage,
    /// `/healthz` answered 200 while the flood was open.
    pub healthz_ok: bool,
    /// How long opening the flood took.
    pub opening: Duration,
}

/// Floods `server` with `count` idle connections, then drops them all; `look` samples it.
pub async fn run(
    server: SocketAddr,
    count: usize,
    look: &impl Fn() -> Option<Usage>,
) -> anyhow::Result<Flood> {
    let before = look().ok_or_else(|| anyhow::anyhow!("the server is gone"))?;
    let started = Instant::now();
    let opening = Arc::new(Semaphore::new(OPENING_AT_ONCE));
    let mut tasks = JoinSet::new();
    for seq in 0..count {
        let permit = opening.clone().acquire_owned().await?;
        tasks.spawn(async move {
            let held = open(server, seq).await;
            drop(permit);
            held
        });
    }
    let mut held = Vec::with_capacity(count);
    let mut peak = before;
    let mut refused = 0;
    let mut sampled = Instant::now();
    while let Some(joined) = tasks.join_next().await {
        match joined.ok().flatten() {
            Some(connection) => held.push(connection),
            None => refused += 1,
        }
        if sampled.elapsed() >= Duration::from_millis(200) {
            sampled = Instant::now();
            peak = higher(peak, look());
        }
    }
    let opening = started.elapsed();
    peak = higher(peak, look());
    let healthz_ok = healthz(server).await;
    peak = higher(peak, look());
    let held_count = held.len();
    drop(held);
    tokio::time::sleep(AFTER).await;
    let after = look().ok_or_else(|| anyhow::anyhow!("the server exited after the flood"))?;
    Ok(Flood {
        attempted: count,
        held: held_count,
        refused,
        before,
        peak,
        after,
        healthz_ok,
        opening,
    })
}

/// The highest RSS and the most fds and client connections of both.
fn higher(peak: Usage, now: Option<Usage>) -> Usage {
    let Some(now) = now else { return peak };
    Usage {
        rss_kib: peak.rss_kib.max(now.rss_kib),
        fds: peak.fds.max(now.fds),
        clients: peak.clients.max(now.clients),
        threads: peak.threads.max(now.threads),
        ..peak
    }
}

/// Opens flood connection `seq`: half-sent headers, a tRPC or a JSON-RPC WebSocket in turn.
async fn open(server: SocketAddr, seq: usize) -> Option<Held> {
    let attempt = async {
        match seq % 3 {
            0 => {
                let mut stream = TcpStream::connect(server).await.ok()?;
                stream
                    .write_all(b"GET /trpc/projects.getAll HTTP/1.1\r\nhost: flood\r\n")
                    .await
                    .ok()?;
                Some(Held::Headers(stream))
            }
            kind => {
                let path = if kind == 1 { "/trpc" } else { "/rpc" };
                let url = format!("ws://{server}{path}");
                let (socket, _) = tokio_tungstenite::connect_async(url).await.ok()?;
                Some(Held::Socket(Box::new(socket)))
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), attempt)
        .await
        .ok()
        .flatten()
}

/// Whether `GET /healthz` on a new connection answers 200 within 5 s.
async fn healthz(server: SocketAddr) -> bool {
    let probe = async {
        let mut stream = TcpStream::connect(server).await.ok()?;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: probe\r\nconnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.ok()?;
        Some(answer.starts_with(b"HTTP/1.1 200"))
    };
    tokio::time::timeout(Duration::from_secs(5), probe)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}
