//! The scale-out run: the SSE fan-out with its subscribers split over two `tidings serve`
//! sharing one `redis-server`, against one instance holding every subscriber (on the same
//! Redis bus, and on the in-process bus), all over one separate `tidings sim`. Each
//! configuration starts on fresh processes and a fresh Redis; every process is stopped by pid.

use std::path::Path;

use crate::cli::RunArgs;
use crate::machine::Machine;
use crate::report::{Row, ScaleOut, Verdict};
use crate::runner::{Triple, cells, ms, ratios, row, thousands, verdict};
use crate::scenarios::Transport;
use crate::scenarios::fanout::{self, Shape, Spread};
use crate::servers::{Redis, Server, Sim, TidingsOptions, Upstream};

/// The three configurations, in column order.
const CONFIGS: [(&str, usize, bool); 3] = [
    ("2 instances, Redis bus", 2, true),
    ("1 instance, Redis bus", 1, true),
    ("1 instance, in-process bus", 1, false),
];

/// Runs the scale-out fan-out at every subscriber count of `args` and returns its section.
pub async fn run(args: &RunArgs, date: &str) -> ScaleOut {
    let load_before = load_average();
    let mut rows = Vec::new();
    match measure_all(args, &mut rows).await {
        Ok(()) => {}
        Err(error) => {
            eprintln!("  scale-out failed: {error:#}");
            rows.push(Row {
                verdict: Verdict::Miss,
                note: Some(format!("did not run: {error:#}")),
                ..row(
                    "fan-out over Redis",
                    "—",
                    ["—".into(), "—".into(), "—".into()],
                    Default::default(),
                )
            });
        }
    }
    let m = Machine::read();
    let header = format!(
        "- machine: {} cores, {}, {:.1} GiB memory\n- date: {date}\n- command: `{}`\n- each \
         configuration: `tidings serve` (release) with `TIDINGS_UPSTREAM` = a separate `tidings \
         sim --sim-activity 0`, `TIDINGS_COALESCE_WINDOW=0ms`, `TIDINGS_POLL_INTERVAL=1h`; the \
         Redis ones with `TIDINGS_BUS=redis://127.0.0.1:PORT` on `redis-server --save '' \
         --appendonly no` ({}); {} notices at {}/s on `admin.notify` of the first instance\n- \
         the load generator, the instances, Redis and the simulator share the machine's cores: \
         compare the columns of one run (the ratios), not figures across runs; load average \
         (1 min) {load_before} before the run, {} after it\n",
        m.cores,
        m.model,
        m.memory_gib,
        args.command,
        redis_version().await,
        args.notices,
        args.rate,
        load_average()
    );
    ScaleOut { header, rows }
}

async fn measure_all(args: &RunArgs, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let options = TidingsOptions {
        binary: args.tidings.clone(),
        extra_instances: 0,
    };
    let workdir = &args.workdir;
    eprintln!("==> scale-out: starting the simulator");
    let sim = Sim::start(&args.tidings, 0.0, &workdir.join("scale-out-sim.log")).await?;
    let mut result = Ok(());
    for &n in &args.subscribers {
        let shape = Shape {
            transport: Transport::Sse,
            subscribers: n,
            rate: args.rate,
            notices: args.notices,
        };
        let mut results: Triple<Spread> = [None, None, None];
        for (i, (name, instances, redis)) in CONFIGS.into_iter().enumerate() {
            eprintln!("==> scale-out, {n} subscribers: {name}");
            match configuration(&options, &sim, workdir, instances, redis, shape, i).await {
                Ok(spread) => results[i] = Some(spread),
                Err(error) => {
                    eprintln!("  {name} failed: {error:#}");
                    result = Err(error);
                }
            }
        }
        rows.extend(scale_out_rows(n, args.rate, &results));
    }
    sim.stop().await;
    if rows.is_empty() { result } else { Ok(()) }
}

/// One configuration on fresh processes: `instances` Tidings (on a fresh Redis when `redis`),
/// the fan-out, then every process it started stopped.
async fn configuration(
    options: &TidingsOptions,
    sim: &Sim,
    workdir: &Path,
    instances: usize,
    redis: bool,
    shape: Shape,
    index: usize,
) -> anyhow::Result<Spread> {
    let bus = if redis {
        Some(Redis::start(&workdir.join("redis"), &workdir.join("scale-out-redis.log")).await?)
    } else {
        None
    };
    let upstream = Upstream {
        keystone: Some(sim.keystone()),
        bus: bus.as_ref().map(Redis::url),
        coalesce_window: Some("0ms".into()),
        ..Upstream::default()
    };
    let mut servers = Vec::new();
    let mut started = Ok(());
    for i in 0..instances {
        let log = workdir.join(format!("scale-out-tidings-{i}.log"));
        match Server::tidings_over(options, &upstream, &log).await {
            Ok(server) => servers.push(server),
            Err(error) => {
                started = Err(error);
                break;
            }
        }
    }
    let measured = match started {
        Ok(()) => {
            let refs: Vec<&Server> = servers.iter().collect();
            let helpers: Vec<u32> = bus.iter().map(Redis::pid).collect();
            fanout::spread(&refs, &helpers, shape, ["x", "y", "z"][index]).await
        }
        Err(error) => Err(error),
    };
    for server in servers {
        server.stop().await;
    }
    if let Some(redis) = bus {
        redis.stop().await;
    }
    measured
}

/// The 1-minute load average (other work on the machine shows here).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

async fn redis_version() -> String {
    match tokio::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .await
    {
        Ok(out) => String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .find_map(|w| w.strip_prefix("v="))
            .map_or_else(|| "version unknown".into(), |v| format!("Redis {v}")),
        Err(_) => "redis-server not found".into(),
    }
}

fn scale_out_rows(n: usize, rate: u32, results: &Triple<Spread>) -> Vec<Row> {
    let scenario = format!("fan-out SSE, {} subs in all @{rate}/s", thousands(n as f64));
    let all = |s: &Spread| s.all.clone();
    let fanouts: Triple<fanout::Fanout> = [0, 1, 2].map(|i| results[i].as_ref().map(all));

    let mut delivered = row(
        &scenario,
        "delivered",
        cells(&fanouts, |f| {
            let mut connected = if f.connected < n {
                format!(", only {} connected", thousands(f.connected as f64))
            } else {
                String::new()
            };
            if f.resyncs > 0 {
                connected.push_str(&format!(", {} resyncs", thousands(f.resyncs as f64)));
            }
            format!(
                "{:.2} % ({}/{}{connected})",
                f.delivered_percent(),
                thousands(f.delivered as f64),
                thousands((f.connected * f.notices) as f64)
            )
        }),
        ratios(&fanouts, fanout::Fanout::delivered_percent),
    );
    delivered.target = "100 % on both instances".into();
    delivered.verdict = verdict(
        fanouts[0]
            .as_ref()
            .map(|f| f.delivered_percent() >= 100.0 && f.connected == n),
    );
    if delivered.verdict == Verdict::Miss
        && let Some(f) = &fanouts[0]
    {
        delivered.note = Some(format!(
            "a delivery counts when it arrives within 3 s of the last trigger; {} \
             subscribers were told to resync (their queue overflowed while the load generator, \
             reading 10,000 streams on the same cores, fell behind); the rest arrived later \
             than the window, if at all (max latency {})",
            thousands(f.resyncs as f64),
            ms(f.latencies.max())
        ));
    }

    let latency = row(
        &scenario,
        "latency p50 / p99 / max (every subscriber)",
        cells(&fanouts, |f| {
            format!(
                "{} / {} / {}",
                ms(f.latencies.percentile(50.0)),
                ms(f.latencies.percentile(99.0)),
                ms(f.latencies.max())
            )
        }),
        ratios(&fanouts, |f| f.latencies.percentile(99.0).as_secs_f64()),
    );

    let mut by_instance = row(
        &scenario,
        "p50 / p99 by instance (triggered · other)",
        [
            results[0].as_ref().map_or_else(
                || "—".into(),
                |s| {
                    s.per_server
                        .iter()
                        .map(|(connected, l)| {
                            format!(
                                "{} / {} ({} subs)",
                                ms(l.percentile(50.0)),
                                ms(l.percentile(99.0)),
                                thousands(*connected as f64)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(" · ")
                },
            ),
            "—".into(),
            "—".into(),
        ],
        Default::default(),
    );
    if let Some(s) = &results[0]
        && let [(_, local), (_, remote)] = &s.per_server[..]
    {
        let gap = remote.percentile(50.0).as_secs_f64() - local.percentile(50.0).as_secs_f64();
        by_instance.note = Some(format!(
            "a notice reaches both instances the same way (the triggered instance appends it to \
             the Redis stream and every instance, itself included, reads it back in the \
             stream's order), so the halves differ by scheduling: the other instance's p50 is \
             {:+.2} ms from the triggered one's",
            gap * 1000.0
        ));
    }

    let cpu = row(
        &scenario,
        "CPU while notices flow (instances + Redis)",
        cells(&fanouts, |f| format!("{:.1} % of a core", f.cpu_percent)),
        ratios(&fanouts, |f| f.cpu_percent),
    );
    let rss = row(
        &scenario,
        "RSS per idle subscriber (instances summed)",
        cells(&fanouts, |f| {
            format!("{:.1} KB", f.rss_per_subscriber / 1000.0)
        }),
        ratios(&fanouts, |f| f.rss_per_subscriber),
    );
    vec![delivered, latency, by_instance, cpu, rss]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::fanout::Fanout;
    use crate::stats::Latencies;
    use std::time::Duration;

    #[test]
    fn rows_line_up_the_three_configurations() {
        let spread = |ms_each: u64| Spread {
            all: Fanout {
                connected: 4,
                notices: 2,
                delivered: 8,
                resyncs: 0,
                latencies: Latencies::new(vec![Duration::from_millis(ms_each); 8]),
                cpu_percent: 10.0,
                rss_per_subscriber: 2000.0,
            },
            per_server: vec![
                (2, Latencies::new(vec![Duration::from_millis(ms_each); 4])),
                (
                    2,
                    Latencies::new(vec![Duration::from_millis(ms_each + 1); 4]),
                ),
            ],
        };
        let rows = scale_out_rows(4, 10, &[Some(spread(20)), Some(spread(10)), None]);
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0].verdict, Verdict::Pass);
        assert_eq!(rows[1].ratios[0], "2.00×");
        assert_eq!(rows[1].values[2], "—");
        assert!(rows[2].values[0].contains(" · "));
        assert!(rows[2].note.as_deref().unwrap().contains("+1.00 ms"));
    }
}
