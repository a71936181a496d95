//! `just soak`: a bounded soak of a real server. Starts `tidings sim` and `tidings serve` on
//! 127.0.0.1, runs the churn ([`churn`]) for a warm-up, lets it settle and samples the
//! server's resident memory and open file descriptors (the baseline); runs the churn again for
//! the soak's duration, sampling periodically; stops it, lets it settle, samples again (the
//! end) and checks that nothing grew without bound:
//!
//! - file descriptors: no client connection left once every client is gone, and the total
//!   back to the baseline within `--fd-slack` (idle upstream keep-alive connections come and
//!   go with polling);
//! - resident memory: the end within `--rss-factor` of the baseline. The baseline is taken
//!   after a warm-up of the same churn, so the allocator's arenas, the replay log, the response
//!   caches and the connection buffers have reached their working size: what a bounded server
//!   adds after that is allocator fragmentation, a fraction of it, while a leak per connection
//!   or per notice grows with the thousands of each a soak makes.
//!
//! Also: the server must stay alive, be ready again and deliver a notice once the faults are
//! cleared, and the churn must have done its work (subscriptions, notices, mutations, faults).
//!
//! Last, a connection flood ([`flood`]): thousands of idle connections of no one at once, then
//! all dropped. `/healthz` must answer during it, and 30 s after the mass disconnect the RSS
//! must be within [`FLOOD_RSS_FACTOR`] of what it was just before, with the client connections
//! gone and the descriptors back within `--fd-slack`.
//! Exits non-zero, saying why, otherwise. Every process it starts is stopped by pid.

pub mod churn;
pub mod flood;
pub mod procfs;

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::cli::SoakArgs;
use crate::client::{Conn, Subscriber};
use crate::machine::Machine;
use crate::servers::{METRICS_TOKEN, SUBSCRIBE, Server, Sim, TidingsOptions, Upstream};
use churn::{Counters, Crew, Ctx};
use procfs::Usage;

/// Idle connections the flood opens at once (a third each: half-sent request headers, tRPC
/// WebSockets, JSON-RPC WebSockets, none with a session). The soak holds a descriptor for each,
/// as the server does: 6,000 stay well within an open-files limit of 20,000 on both sides.
const FLOOD_CONNECTIONS: usize = 6000;

/// Largest RSS 30 s after the flood's mass disconnect, as a multiple of the RSS before it.
const FLOOD_RSS_FACTOR: f64 = 1.25;

/// One sample of the server.
#[derive(Debug, Clone)]
struct Sample {
    /// Since the start of the soak proper (negative: warm-up).
    at: Duration,
    phase: &'static str,
    usage: Usage,
}

/// Runs the soak; an error when a bound was exceeded (after printing everything measured).
pub async fn run(args: SoakArgs) -> anyhow::Result<()> {
    let warmup = args.warmup.unwrap_or_else(|| {
        (args.duration / 10).clamp(Duration::from_secs(10), Duration::from_secs(60))
    });
    let every = args.sample_every.unwrap_or_else(|| {
        (args.duration / 20).clamp(Duration::from_secs(3), Duration::from_secs(30))
    });
    std::fs::create_dir_all(&args.workdir)?;
    eprintln!(
        "==> soak: {} s of churn after a {} s warm-up, sampled every {} s",
        args.duration.as_secs(),
        warmup.as_secs(),
        every.as_secs()
    );
    let sim = Sim::start(
        &args.tidings,
        args.sim_activity,
        &args.workdir.join("sim.log"),
    )
    .await?;
    let options = TidingsOptions {
        binary: args.tidings.clone(),
        extra_instances: 0,
    };
    let upstream = Upstream {
        keystone: Some(sim.keystone()),
        poll_interval: Some("2s".into()),
        upstream_timeout: Some("5s".into()),
        ..Upstream::default()
    };
    let server =
        match Server::tidings_over(&options, &upstream, &args.workdir.join("tidings.log")).await {
            Ok(server) => server,
            Err(error) => {
                sim.stop().await;
                return Err(error);
            }
        };
    let outcome = soak(&args, &server, &sim, warmup, every).await;
    server.stop().await;
    sim.stop().await;
    match outcome {
        Ok(report) => {
            println!("{}", report.text);
            if report.failures.is_empty() {
                eprintln!("==> soak passed");
                Ok(())
            } else {
                eprintln!("==> soak failed: {}", report.failures.join("; "));
                std::process::exit(1);
            }
        }
        Err(error) => Err(error),
    }
}

/// The printed result and the bounds it broke.
struct Outcome {
    text: String,
    failures: Vec<String>,
}

async fn soak(
    args: &SoakArgs,
    server: &Server,
    sim: &Sim,
    warmup: Duration,
    every: Duration,
) -> anyhow::Result<Outcome> {
    let pid = server.pid();
    let (server_port, sim_port) = (server.addr.port(), sim.addr.port());
    let look = move || procfs::usage(pid, server_port, sim_port);
    let project = first_project(server).await?;
    let ctx = Arc::new(Ctx {
        server: server.addr,
        sim: sim.addr,
        auth: server.auth.clone(),
        project,
        counters: Counters::default(),
        last_event_id: AtomicU64::new(0),
        created: std::sync::Mutex::new(Vec::new()),
    });
    let crew = Crew {
        sse: args.sse,
        ws: args.ws,
        stalled: args.stalled,
        mutators: args.mutators,
        readers: args.readers,
        notify_rate: args.notify_rate,
    };
    let mut samples = Vec::new();
    let started = look().context("the server is gone")?;
    samples.push(Sample {
        at: Duration::ZERO,
        phase: "started",
        usage: started,
    });
    print_sample(samples.last());

    eprintln!("==> warm-up: {} s of churn", warmup.as_secs());
    churn_for(&ctx, crew, warmup, None, &look, &mut samples).await?;
    let baseline = settle(&ctx, &look, "baseline", &mut samples).await?;
    let t0 = Instant::now();

    eprintln!("==> soak: {} s of churn", args.duration.as_secs());
    churn_for(
        &ctx,
        crew,
        args.duration,
        Some((t0, every)),
        &look,
        &mut samples,
    )
    .await?;
    let end = settle(&ctx, &look, "end", &mut samples).await?;
    let recovered = recovered(server).await;
    let metrics = server_counters(server).await;
    eprintln!("==> flood: {FLOOD_CONNECTIONS} idle connections without a session");
    let flood = flood::run(server.addr, FLOOD_CONNECTIONS, &look).await?;
    for (phase, usage) in [
        ("flood-0", flood.before),
        ("flood-max", flood.peak),
        ("flood+30s", flood.after),
    ] {
        let at = samples.last().map_or(Duration::ZERO, |s| s.at);
        samples.push(Sample { at, phase, usage });
        print_sample(samples.last());
    }

    let mut failures = Vec::new();
    let mut verdicts = Vec::new();
    let peak = samples.iter().map(|s| s.usage.rss_kib).max().unwrap_or(0);
    let rss_limit = (baseline.rss_kib as f64 * args.rss_factor) as u64;
    let rss_ok = end.rss_kib <= rss_limit;
    verdicts.push(format!(
        "RSS: {:.1} MiB at the baseline, {:.1} MiB at the end ({:+.1} %; peak {:.1} MiB while \
         churning); bound: end ≤ {} × baseline = {:.1} MiB: {}",
        mib(baseline.rss_kib),
        mib(end.rss_kib),
        100.0 * (end.rss_kib as f64 / baseline.rss_kib.max(1) as f64 - 1.0),
        mib(peak),
        args.rss_factor,
        mib(rss_limit),
        pass(rss_ok)
    ));
    if !rss_ok {
        failures.push(format!(
            "RSS {:.1} MiB > {:.1} MiB",
            mib(end.rss_kib),
            mib(rss_limit)
        ));
    }
    let slope = rss_slope(&samples);
    verdicts.push(format!(
        "RSS trend while churning (least squares over the soak's samples): {slope:+.2} MiB/min"
    ));
    let fd_limit = baseline.fds + args.fd_slack;
    let fds_ok = end.fds <= fd_limit && end.clients <= baseline.clients;
    verdicts.push(format!(
        "file descriptors: {} at the baseline ({} client, {} upstream, {} other), {} at the end \
         ({} client, {} upstream, {} other); bound: client connections back to {} and total ≤ \
         baseline + {} = {}: {}",
        baseline.fds,
        baseline.clients,
        baseline.upstream,
        baseline.other,
        end.fds,
        end.clients,
        end.upstream,
        end.other,
        baseline.clients,
        args.fd_slack,
        fd_limit,
        pass(fds_ok)
    ));
    if !fds_ok {
        failures.push(format!(
            "{} file descriptors ({} client connections) at the end, against {} ({}) at the \
             baseline",
            end.fds, end.clients, baseline.fds, baseline.clients
        ));
    }
    let threads_ok = end.threads <= baseline.threads + 4;
    verdicts.push(format!(
        "threads: {} at the baseline, {} at the end: {}",
        baseline.threads,
        end.threads,
        pass(threads_ok)
    ));
    if !threads_ok {
        failures.push(format!(
            "{} threads against {}",
            end.threads, baseline.threads
        ));
    }
    match &recovered {
        Ok(took) => verdicts.push(format!(
            "after the churn and the faults: ready again (/readyz 200) {:.1} s after the churn settled \
             (faults cleared; bound {} s: the worker's longest back-off is 60 s), and a new \
             subscriber gets the next notice: pass",
            took.as_secs_f64(),
            RECOVERY.as_secs()
        )),
        Err(error) => {
            verdicts.push(format!("after the churn: not recovered: {error:#}: FAIL"));
            failures.push(format!("not recovered: {error:#}"));
        }
    }
    judge_flood(&flood, args.fd_slack, &mut verdicts, &mut failures);
    let counts = ctx.counters.pairs();
    let count = |name: &str| {
        counts
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, v)| *v)
    };
    for needed in [
        "subscriptions opened",
        "notices read",
        "subscribers that stopped reading",
        "mutations ok",
        "queries ok",
        "upstream faults injected",
    ] {
        if count(needed) == 0 {
            failures.push(format!("the churn did no work: no {needed}"));
        }
    }

    let m = Machine::read();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "\nsoak: {} s of churn after a {} s warm-up; {} cores, {}",
        args.duration.as_secs(),
        warmup.as_secs(),
        m.cores,
        m.model
    );
    let _ = writeln!(
        text,
        "crew: {} SSE, {} WebSocket (tRPC and JSON-RPC), {} stalled subscribers, {} mutators, \
         {} query loops, admin.notify at {}/s, one fault cycle over the simulator\n",
        crew.sse, crew.ws, crew.stalled, crew.mutators, crew.readers, crew.notify_rate
    );
    text.push_str(&table(&samples));
    text.push('\n');
    for (name, value) in &counts {
        let _ = writeln!(text, "- {name}: {value}");
    }
    if !metrics.is_empty() {
        let _ = writeln!(text, "- the server's own counters (/metrics): {metrics}");
    }
    text.push('\n');
    for verdict in &verdicts {
        let _ = writeln!(text, "- {verdict}");
    }
    Ok(Outcome { text, failures })
}

/// The flood's bounds: `/healthz` answered during it; 30 s after the mass disconnect, RSS
/// within [`FLOOD_RSS_FACTOR`] of before, no client connection left and the descriptors back.
fn judge_flood(
    flood: &flood::Flood,
    fd_slack: u64,
    verdicts: &mut Vec<String>,
    failures: &mut Vec<String>,
) {
    let (before, peak, after) = (flood.before, flood.peak, flood.after);
    let rss_limit = (before.rss_kib as f64 * FLOOD_RSS_FACTOR) as u64;
    let rss_ok = after.rss_kib <= rss_limit;
    let fds_ok = after.clients <= before.clients && after.fds <= before.fds + fd_slack;
    verdicts.push(format!(
        "connection flood: {} idle connections without a session opened in {:.1} s ({} held, \
         {} refused or failed); /healthz during it: {}",
        flood.attempted,
        flood.opening.as_secs_f64(),
        flood.held,
        flood.refused,
        pass(flood.healthz_ok)
    ));
    verdicts.push(format!(
        "flood RSS: {:.1} MiB before, {:.1} MiB at the peak, {:.1} MiB {} s after the mass \
         disconnect; bound: ≤ {} × before = {:.1} MiB: {}",
        mib(before.rss_kib),
        mib(peak.rss_kib),
        mib(after.rss_kib),
        flood::AFTER.as_secs(),
        FLOOD_RSS_FACTOR,
        mib(rss_limit),
        pass(rss_ok)
    ));
    verdicts.push(format!(
        "flood file descriptors: {} before ({} client), {} at the peak ({} client), {} after \
         ({} client); bound: client connections back to {} and total ≤ before + {}: {}",
        before.fds,
        before.clients,
        peak.fds,
        peak.clients,
        after.fds,
        after.clients,
        before.clients,
        fd_slack,
        pass(fds_ok)
    ));
    if !flood.healthz_ok {
        failures.push("/healthz did not answer during the connection flood".into());
    }
    if !rss_ok {
        failures.push(format!(
            "RSS {:.1} MiB after the flood > {:.1} MiB",
            mib(after.rss_kib),
            mib(rss_limit)
        ));
    }
    if !fds_ok {
        failures.push(format!(
            "{} file descriptors ({} client connections) after the flood, against {} ({}) before",
            after.fds, after.clients, before.fds, before.clients
        ));
    }
}

/// Runs the churn for `length`, sampling every `sampling.1` (times from `sampling.0`) when
/// given; fails at once if the server exits.
async fn churn_for(
    ctx: &Arc<Ctx>,
    crew: Crew,
    length: Duration,
    sampling: Option<(Instant, Duration)>,
    look: &impl Fn() -> Option<Usage>,
    samples: &mut Vec<Sample>,
) -> anyhow::Result<()> {
    let stop = CancellationToken::new();
    let churn = tokio::spawn(churn::run(ctx.clone(), crew, stop.clone()));
    let deadline = Instant::now() + length;
    let tick = sampling.map_or(Duration::from_secs(1), |(_, every)| every);
    let mut next = Instant::now() + tick;
    let mut gone = false;
    while Instant::now() < deadline {
        tokio::time::sleep_until(next.min(deadline)).await;
        let Some(usage) = look() else {
            gone = true;
            break;
        };
        if let Some((t0, _)) = sampling
            && Instant::now() >= next
        {
            samples.push(Sample {
                at: t0.elapsed(),
                phase: "churn",
                usage,
            });
            print_sample(samples.last());
        }
        next += tick;
    }
    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(60), churn).await;
    let _ = churn::set_fault(ctx.sim, None).await;
    if gone {
        bail!("the server exited during the churn (see its log)");
    }
    Ok(())
}

/// Once the churn has stopped: the faults cleared, leftovers deleted, and the server given up
/// to 60 s to close what its clients left; then one sample.
async fn settle(
    ctx: &Arc<Ctx>,
    look: &impl Fn() -> Option<Usage>,
    phase: &'static str,
    samples: &mut Vec<Sample>,
) -> anyhow::Result<Usage> {
    let started = Instant::now();
    delete_leftovers(ctx).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let usage = look().context("the server exited")?;
        if usage.clients == 0 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Let the last notices, polls and frees finish.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let usage = look().context("the server exited")?;
    eprintln!("  settled in {:.1} s", started.elapsed().as_secs_f64());
    let at = samples.last().map_or(Duration::ZERO, |s| s.at);
    samples.push(Sample { at, phase, usage });
    print_sample(samples.last());
    Ok(usage)
}

/// Deletes what the mutators created and could not delete (retrying for up to 30 s: volumes
/// still being created refuse deletion for a moment).
async fn delete_leftovers(ctx: &Arc<Ctx>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pending: Vec<_> =
            std::mem::take(&mut *ctx.created.lock().unwrap_or_else(|e| e.into_inner()));
        if pending.is_empty() || Instant::now() > deadline {
            return;
        }
        let Ok(mut conn) = Conn::open_as(ctx.server, ctx.auth.clone()).await else {
            return;
        };
        let mut left = Vec::new();
        for (procedure, id) in pending {
            let body = serde_json::json!({ "id": id });
            if conn
                .post_json(&format!("/trpc/{procedure}"), &[], &body)
                .await
                .is_err()
            {
                left.push((procedure, id));
            }
        }
        *ctx.created.lock().unwrap_or_else(|e| e.into_inner()) = left;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The project the mutations act in: the first the session sees.
async fn first_project(server: &Server) -> anyhow::Result<String> {
    let reply = server
        .conn()
        .await?
        .call(
            http::Method::GET,
            "/trpc/projects.getAll",
            &[],
            bytes::Bytes::new(),
            true,
        )
        .await?;
    let json: serde_json::Value = serde_json::from_slice(&reply.body.unwrap_or_default())?;
    let projects = json["result"]["data"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    projects
        .iter()
        .find(|p| p["name"] == "demo")
        .or(projects.first())
        .and_then(|p| p["id"].as_str())
        .map(str::to_owned)
        .context("projects.getAll returned no project")
}

/// How long a source may take to be polled again after the faults end: the worker's longest
/// back-off (60 s) plus a poll interval and some slack.
const RECOVERY: Duration = Duration::from_secs(90);

/// Ready again (within [`RECOVERY`]; the time it took), and a new subscriber gets the next
/// notice.
async fn recovered(server: &Server) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut last = String::new();
    loop {
        if let Ok(mut conn) = server.conn().await
            && let Ok(reply) = conn
                .call(http::Method::GET, "/readyz", &[], bytes::Bytes::new(), true)
                .await
        {
            if reply.status.is_success() {
                break;
            }
            last = String::from_utf8_lossy(&reply.body.unwrap_or_default()).into_owned();
        }
        if started.elapsed() > RECOVERY {
            bail!(
                "/readyz not 200 within {} s of the churn's end (last answer: {last})",
                RECOVERY.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let took = started.elapsed();
    let mut subscriber = Subscriber::open(server.addr, SUBSCRIBE, server.auth.clone()).await?;
    let mut conn = server.conn().await?;
    server.notify(&mut conn, "soak-check").await?;
    if !subscriber
        .next_notice(Instant::now() + Duration::from_secs(10))
        .await
    {
        bail!("a new subscriber got no notice within 10 s");
    }
    Ok(took)
}

/// The server's counters of the paths the churn exercises, summed over their labels.
async fn server_counters(server: &Server) -> String {
    const NAMES: [&str; 5] = [
        "tidings_resyncs_total",
        "tidings_subscriber_queue_drops_total",
        "tidings_upstream_errors_total",
        "tidings_call_errors_total",
        "tidings_notices_emitted_total",
    ];
    let Ok(mut conn) = server.conn().await else {
        return String::new();
    };
    let auth = format!("Bearer {METRICS_TOKEN}");
    let Ok(reply) = conn
        .call(
            http::Method::GET,
            "/metrics",
            &[("authorization", auth.as_str())],
            bytes::Bytes::new(),
            true,
        )
        .await
    else {
        return String::new();
    };
    let text = String::from_utf8_lossy(&reply.body.unwrap_or_default()).into_owned();
    NAMES
        .iter()
        .map(|name| {
            let sum: f64 = text
                .lines()
                .filter(|l| {
                    l.strip_prefix(name)
                        .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
                })
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum();
            format!("{name} {sum}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn rss_slope(samples: &[Sample]) -> f64 {
    let points: Vec<(f64, f64)> = samples
        .iter()
        .filter(|s| s.phase == "churn")
        .map(|s| (s.at.as_secs_f64() / 60.0, mib(s.usage.rss_kib)))
        .collect();
    let n = points.len() as f64;
    if points.len() < 3 {
        return 0.0;
    }
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let (num, den) = points.iter().fold((0.0, 0.0), |(num, den), (x, y)| {
        (num + (x - mx) * (y - my), den + (x - mx) * (x - mx))
    });
    if den == 0.0 { 0.0 } else { num / den }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn pass(ok: bool) -> &'static str {
    if ok { "pass" } else { "FAIL" }
}

fn print_sample(sample: Option<&Sample>) {
    if let Some(s) = sample {
        eprintln!(
            "  {:>6.0} s {:<9} RSS {:>7.1} MiB  fds {:>4} (clients {:>3}, upstream {:>2}, other \
             {:>2})  threads {}",
            s.at.as_secs_f64(),
            s.phase,
            mib(s.usage.rss_kib),
            s.usage.fds,
            s.usage.clients,
            s.usage.upstream,
            s.usage.other,
            s.usage.threads
        );
    }
}

fn table(samples: &[Sample]) -> String {
    let mut out = String::from(
        "| t | phase | RSS | fds | client conns | upstream conns | other fds | threads |\n\
         | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for s in samples {
        let _ = writeln!(
            out,
            "| {:.0} s | {} | {:.1} MiB | {} | {} | {} | {} | {} |",
            s.at.as_secs_f64(),
            s.phase,
            mib(s.usage.rss_kib),
            s.usage.fds,
            s.usage.clients,
            s.usage.upstream,
            s.usage.other,
            s.usage.threads
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_of_a_steady_climb() {
        let samples: Vec<Sample> = (0..5)
            .map(|i| Sample {
                at: Duration::from_secs(60 * i),
                phase: "churn",
                usage: Usage {
                    rss_kib: 1024 * (100 + 2 * i),
                    ..Usage::default()
                },
            })
            .collect();
        assert!((rss_slope(&samples) - 2.0).abs() < 1e-9);
        assert!(table(&samples).contains("| 240 s | churn | 108.0 MiB |"));
    }
}
