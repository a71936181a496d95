//! The herd: C clients, each with its stream and a keep-alive connection, all refetch the big
//! query the moment one notice reaches them, as browsers showing that list would.

use std::future::Future;
use std::time::Duration;

use anyhow::bail;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{connect_many, subscribe_many};
use crate::servers::Server;

/// What browsers send.
pub const BROWSER_ACCEPT_ENCODING: &str = "gzip, deflate, br, zstd";

/// What a herd measured.
#[derive(Debug, Clone)]
pub struct Herd {
    /// Clients subscribed and connected.
    pub clients: usize,
    /// Clients that had the whole answer before the time limit.
    pub served: usize,
    /// From the trigger until the last served client had its answer.
    pub last: Duration,
    /// Body bytes sent to all of them.
    pub bytes: u64,
    /// The answers' `content-encoding`.
    pub encoding: Option<String>,
}

/// Runs a herd of `clients` on `server`, reacting to the first notice after `trigger` (the
/// streams are quiet before it); clients not served within `limit` are counted as not served.
pub async fn run<F>(
    server: &Server,
    clients: usize,
    path: &str,
    limit: Duration,
    trigger: F,
) -> anyhow::Result<Herd>
where
    F: Future<Output = anyhow::Result<()>>,
{
    let (subscribers, failed) = subscribe_many(server, clients).await;
    if failed > 0 {
        bail!("{failed} of {clients} herd subscriptions failed");
    }
    let conns = connect_many(server, clients).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = Instant::now();
    let deadline = started + limit;
    let mut tasks = JoinSet::new();
    for (mut subscriber, mut conn) in subscribers.into_iter().zip(conns) {
        let path = path.to_owned();
        tasks.spawn(async move {
            if !subscriber.next_notice(deadline).await {
                return None;
            }
            let headers = [("accept-encoding", BROWSER_ACCEPT_ENCODING)];
            let fetch = conn.get(&path, &headers);
            let reply = tokio::time::timeout_at(deadline, fetch).await.ok()?.ok()?;
            reply
                .status
                .is_success()
                .then(|| (Instant::now(), reply.body_bytes as u64, reply.encoding))
        });
    }
    trigger.await?;
    let (mut served, mut bytes, mut last, mut encoding) = (0, 0, started, None);
    while let Some(done) = tasks.join_next().await {
        if let Some((at, size, enc)) = done? {
            served += 1;
            bytes += size;
            last = last.max(at);
            encoding = encoding.or(enc);
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(Herd {
        clients,
        served,
        last: last - started,
        bytes,
        encoding,
    })
}
