//! Fan-out: N idle subscribers on `updates.subscribe`, then notices at a steady rate; what
//! arrives, how late, what it costs the server (CPU while notices flow, RSS per idle
//! subscriber).

use std::time::Duration;

use anyhow::Context;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Transport, subscribe_any};
use crate::client::{Triggers, scope};
use crate::machine;
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
    /// Resync notices seen (a subscriber that fell behind lost notices and was told so).
    pub resyncs: u64,
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
    Ok(spread(&[server], &[], shape, run).await?.all)
}

/// A fan-out over several instances sharing one bus.
#[derive(Debug, Clone)]
pub struct Spread {
    /// Every subscriber together; CPU is the sum of the instances' and the helpers'.
    pub all: Fanout,
    /// Per instance, in the order given: subscribers connected and their latencies.
    pub per_server: Vec<(usize, Latencies)>,
}

/// Runs one fan-out with `shape.subscribers` spread evenly over `servers`, every notice
/// triggered on the first of them. CPU counts the servers and `helpers` (processes such as
/// the Redis the servers share); RSS counts the servers.
pub async fn spread(
    servers: &[&Server],
    helpers: &[u32],
    shape: Shape,
    run: &str,
) -> anyhow::Result<Spread> {
    let trigger_on = *servers.first().context("no server")?;
    let rss = || servers.iter().map(|s| s.rss()).sum::<u64>();
    let cpu = || {
        servers.iter().map(|s| s.cpu()).sum::<Duration>()
            + helpers
                .iter()
                .map(|&p| machine::cpu_time(p))
                .sum::<Duration>()
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = rss();
    let mut groups = Vec::with_capacity(servers.len());
    for (i, server) in servers.iter().enumerate() {
        // The first instances take the remainder, so the counts add up to the total.
        let count =
            shape.subscribers / servers.len() + usize::from(i < shape.subscribers % servers.len());
        let (subscribers, _failed) = subscribe_any(server, shape.transport, count).await;
        groups.push(subscribers);
    }
    let connected: usize = groups.iter().map(Vec::len).sum();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle = rss();

    let triggers = Triggers::new(shape.notices);
    let period = Duration::from_secs_f64(1.0 / f64::from(shape.rate.max(1)));
    let sending = period.mul_f64(shape.notices as f64);
    let deadline = Instant::now() + sending + Duration::from_secs(3);
    let mut listeners = JoinSet::new();
    let mut per_server_connected = Vec::with_capacity(groups.len());
    for (group, subscribers) in groups.into_iter().enumerate() {
        per_server_connected.push(subscribers.len());
        for subscriber in subscribers {
            let (triggers, run) = (triggers.clone(), run.to_owned());
            listeners.spawn(async move {
                let mut seen = Vec::with_capacity(shape.notices);
                let resyncs = subscriber
                    .listen(&run, &triggers, deadline, |_, latency| seen.push(latency))
                    .await;
                (group, seen, resyncs)
            });
        }
    }

    let mut conn = trigger_on.conn().await?;
    let cpu_before = cpu();
    let started = Instant::now();
    let mut ticker = tokio::time::interval(period);
    for seq in 0..shape.notices {
        ticker.tick().await;
        triggers.mark(seq);
        trigger_on.notify(&mut conn, &scope(run, seq)).await?;
    }
    let mut samples = Vec::with_capacity(connected * shape.notices);
    let mut by_group = vec![Vec::new(); per_server_connected.len()];
    let mut resyncs = 0;
    while let Some(joined) = listeners.join_next().await {
        let (group, seen, resynced) = joined?;
        resyncs += resynced;
        if servers.len() > 1 {
            by_group[group].extend_from_slice(&seen);
        }
        samples.extend(seen);
    }
    let cpu = cpu().saturating_sub(cpu_before);
    let wall = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all = Fanout {
        connected,
        notices: shape.notices,
        delivered: samples.len() as u64,
        resyncs,
        latencies: Latencies::new(samples),
        cpu_percent: 100.0 * cpu.as_secs_f64() / wall.as_secs_f64(),
        rss_per_subscriber: rss_idle.saturating_sub(rss_before) as f64 / connected.max(1) as f64,
    };
    let per_server = per_server_connected
        .into_iter()
        .zip(by_group)
        .map(|(n, samples)| (n, Latencies::new(samples)))
        .collect();
    Ok(Spread { all, per_server })
}
