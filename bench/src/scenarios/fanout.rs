//! Fan-out: N idle subscribers on `updates.subscribe`, then notices at a steady rate; what
//! arrives, how late, what it costs the server (CPU while notices flow, RSS per idle
//! subscriber).

use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Transport, subscribe_any};
use crate::client::{Conn, Triggers, scope};
use crate::servers::Server;
use crate::stats::Latencies;

/// How a fan-out run is shaped.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// How subscribers connect.
    pub transport: Transport,
    /// Subscribers.
    pub subscribers: usize,
    /// Notices per second.
    pub rate: u32,
    /// Notices in all.
    pub notices: usize,
}

/// What a fan-out run measured.
#[derive(Debug, Clone)]
pub struct Fanout {
    /// Subscribers that were connected when the notices started.
    pub connected: usize,
    /// Notices triggered.
    pub notices: usize,
    /// Deliveries seen (subscriber × notice).
    pub delivered: u64,
    /// Trigger-to-client latency of every delivery.
    pub latencies: Latencies,
    /// Server CPU while notices flowed, in % of one core.
    pub cpu_percent: f64,
    /// Server RSS growth over the idle subscribers, per subscriber, in bytes.
    pub rss_per_subscriber: f64,
}

impl Fanout {
    /// Delivered share of subscribers × notices, in %.
    pub fn delivered_percent(&self) -> f64 {
        let expected = (self.connected * self.notices) as f64;
        if expected == 0.0 {
            0.0
        } else {
            100.0 * self.delivered as f64 / expected
        }
    }
}

/// Runs one fan-out against `server`; `run` prefixes this run's notice scopes.
pub async fn run(server: &Server, shape: Shape, run: &str) -> anyhow::Result<Fanout> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = server.rss();
    let (subscribers, _failed) = subscribe_any(server, shape.transport, shape.subscribers).await;
    let connected = subscribers.len();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle = server.rss();

    let triggers = Triggers::new(shape.notices);
    let period = Duration::from_secs_f64(1.0 / f64::from(shape.rate.max(1)));
    let sending = period.mul_f64(shape.notices as f64);
    let deadline = Instant::now() + sending + Duration::from_secs(3);
    let mut listeners = JoinSet::new();
    for subscriber in subscribers {
        let (triggers, run) = (triggers.clone(), run.to_owned());
        listeners.spawn(async move {
            let mut seen = Vec::with_capacity(shape.notices);
            subscriber
                .listen(&run, &triggers, deadline, |_, latency| seen.push(latency))
                .await;
            seen
        });
    }

    let mut conn = Conn::open(server.addr).await?;
    let cpu_before = server.cpu();
    let started = Instant::now();
    let mut ticker = tokio::time::interval(period);
    for seq in 0..shape.notices {
        ticker.tick().await;
        triggers.mark(seq);
        server.notify(&mut conn, &scope(run, seq)).await?;
    }
    let mut samples = Vec::with_capacity(connected * shape.notices);
    while let Some(seen) = listeners.join_next().await {
        samples.extend(seen?);
    }
    let cpu = server.cpu().saturating_sub(cpu_before);
    let wall = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(Fanout {
        connected,
        notices: shape.notices,
        delivered: samples.len() as u64,
        latencies: Latencies::new(samples),
        cpu_percent: 100.0 * cpu.as_secs_f64() / wall.as_secs_f64(),
        rss_per_subscriber: rss_idle.saturating_sub(rss_before) as f64 / connected.max(1) as f64,
    })
}
