//! Queries: C keep-alive clients asking the same query back to back for a few seconds.

use std::time::Duration;

use anyhow::bail;
use http::StatusCode;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::connect_many;
use crate::servers::Server;
use crate::stats::Latencies;

/// One query case: which path, with which request headers.
#[derive(Debug, Clone)]
pub struct Case {
    /// `/trpc/<path>`.
    pub path: String,
    /// `accept-encoding`, when any.
    pub accept_encoding: Option<&'static str>,
    /// Revalidate with the ETag of a first answer (expects 304).
    pub revalidate: bool,
}

/// What a query run measured.
#[derive(Debug, Clone)]
pub struct Queries {
    /// Answers received.
    pub requests: u64,
    /// Body bytes received (as sent).
    pub bytes: u64,
    /// How long the clients ran.
    pub elapsed: Duration,
    /// Latency of every request.
    pub latencies: Latencies,
    /// The `content-encoding` of the answers (of the last one).
    pub encoding: Option<String>,
}

impl Queries {
    /// Answers per second.
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// Body megabytes (10^6) per second.
    pub fn mb_per_second(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.elapsed.as_secs_f64()
    }
}

/// Runs `case` with `clients` connections for `duration`.
pub async fn run(
    server: &Server,
    case: &Case,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<Queries> {
    let mut headers: Vec<(String, String)> = Vec::new();
    if let Some(encoding) = case.accept_encoding {
        headers.push(("accept-encoding".into(), encoding.into()));
    }
    let expected = if case.revalidate {
        let first = server.conn().await?.get(&case.path, &[]).await?;
        let Some(etag) = first.etag else {
            bail!("{}: no ETag to revalidate", case.path);
        };
        headers.push(("if-none-match".into(), etag));
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    let conns = connect_many(server, clients).await?;
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = JoinSet::new();
    for mut conn in conns {
        let (path, headers) = (case.path.clone(), headers.clone());
        tasks.spawn(async move {
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let (mut samples, mut bytes, mut encoding) = (Vec::new(), 0u64, None);
            while Instant::now() < deadline {
                let sent = Instant::now();
                let reply = conn.get(&path, &headers).await?;
                if reply.status != expected {
                    bail!("{path}: {} instead of {expected}", reply.status);
                }
                samples.push(sent.elapsed());
                bytes += reply.body_bytes as u64;
                encoding = reply.encoding;
            }
            Ok((samples, bytes, encoding))
        });
    }
    let (mut samples, mut bytes, mut encoding) = (Vec::new(), 0, None);
    while let Some(done) = tasks.join_next().await {
        let (s, b, e) = done??;
        samples.extend(s);
        bytes += b;
        encoding = encoding.or(e);
    }
    let elapsed = started.elapsed();
    Ok(Queries {
        requests: samples.len() as u64,
        bytes,
        elapsed,
        latencies: Latencies::new(samples),
        encoding,
    })
}
