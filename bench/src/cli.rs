//! The `tidings-bench` command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use tidings::config::parse_duration;

/// The benchmark command.
#[derive(Debug, Parser)]
#[command(
    name = "tidings-bench",
    about = "Measures Tidings against a bare ceiling and a stock tRPC server"
)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every scenario against the three servers, print the table, write BENCHMARKS.md.
    Run(RunArgs),
    /// Soak a real server with churn and faults; fail if its memory or file descriptors grow
    /// without bound.
    Soak(SoakArgs),
    /// Serve the bare ceiling (started by `run`).
    Bare(BareArgs),
    /// Measure Tidings' worker polling a simulated cloud (started by `run`).
    Worker(WorkerArgs),
}

/// Options of `run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The Tidings release binary.
    #[arg(long, default_value = "target/release/tidings")]
    pub tidings: PathBuf,
    /// The stock tRPC server script.
    #[arg(long, default_value = "bench/node/server.mjs")]
    pub node_script: PathBuf,
    /// Where the table goes.
    #[arg(long, default_value = "BENCHMARKS.md")]
    pub out: PathBuf,
    /// Scratch directory (payloads, server logs).
    #[arg(long, default_value = "target/bench")]
    pub workdir: PathBuf,
    /// The command line to print in the report.
    #[arg(long, default_value = "just bench")]
    pub command: String,
    /// Scenarios to run (fanout, queries, herd, worker, cluster); all by default. `cluster`
    /// alone rewrites only the scale-out section of the report.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Subscriber counts of the fan-out runs.
    #[arg(long, value_delimiter = ',', default_value = "2000,10000")]
    pub subscribers: Vec<usize>,
    /// Notices per second in the fan-out runs.
    #[arg(long, default_value_t = 10)]
    pub rate: u32,
    /// Notices in each fan-out run.
    #[arg(long, default_value_t = 100)]
    pub notices: usize,
    /// Concurrent clients of the query runs.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Length of each query run.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub query_time: Duration,
    /// Clients in the herd.
    #[arg(long, default_value_t = 2000)]
    pub herd: usize,
    /// Time limit of each herd.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub herd_limit: Duration,
    /// Simulated extra instances: sizes the big list (~1.35 KB each as Tidings serves them).
    #[arg(long, default_value_t = 7400)]
    pub extra_instances: usize,
    /// Sources in the worker run.
    #[arg(long, default_value_t = 20)]
    pub worker_sources: usize,
    /// Measured window of the worker run.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub worker_time: Duration,
    /// Skip the stock tRPC server (no Node.js).
    #[arg(long)]
    pub no_node: bool,
}

impl RunArgs {
    /// Whether `scenario` is selected.
    pub fn wants(&self, scenario: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s == scenario)
    }
}

/// Options of `soak`.
#[derive(Debug, Clone, Args)]
pub struct SoakArgs {
    /// The Tidings release binary (serves and simulates).
    #[arg(long, default_value = "target/release/tidings")]
    pub tidings: PathBuf,
    /// Scratch directory (server logs).
    #[arg(long, default_value = "target/soak")]
    pub workdir: PathBuf,
    /// Churn after the warm-up (e.g. `600s`, `10m`).
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub duration: Duration,
    /// Churn before the baseline; default a tenth of `--duration`, 10 to 60 s.
    #[arg(long, value_parser = parse_duration)]
    pub warmup: Option<Duration>,
    /// Time between samples; default a twentieth of `--duration`, 3 to 30 s.
    #[arg(long, value_parser = parse_duration)]
    pub sample_every: Option<Duration>,
    /// Largest allowed end RSS, as a multiple of the baseline.
    #[arg(long, default_value_t = 1.5)]
    pub rss_factor: f64,
    /// File descriptors the end may hold beyond the baseline (idle upstream connections).
    #[arg(long, default_value_t = 16)]
    pub fd_slack: u64,
    /// SSE subscribers coming and going.
    #[arg(long, default_value_t = 24)]
    pub sse: usize,
    /// WebSocket subscribers coming and going (tRPC and JSON-RPC in turn).
    #[arg(long, default_value_t = 12)]
    pub ws: usize,
    /// Subscribers that stop reading and hold on (SSE and tRPC WebSocket in turn).
    #[arg(long, default_value_t = 4)]
    pub stalled: usize,
    /// Create-then-delete loops.
    #[arg(long, default_value_t = 2)]
    pub mutators: usize,
    /// Query loops.
    #[arg(long, default_value_t = 2)]
    pub readers: usize,
    /// `admin.notify` calls per second.
    #[arg(long, default_value_t = 50)]
    pub notify_rate: u32,
    /// Background actions per second of the simulated cloud's other users.
    #[arg(long, default_value_t = 0.5)]
    pub sim_activity: f64,
}

/// Options of `bare`.
#[derive(Debug, Clone, Args)]
pub struct BareArgs {
    /// Address to listen on (printed as `listening ADDR`).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Directory of the payloads (`<path>.json`, `.zst`, `.br`, `.gz`, `.etag`).
    #[arg(long)]
    pub data: PathBuf,
}

/// Options of `worker`.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// URL of the instance list (a tRPC answer, as the bare server serves it).
    #[arg(long)]
    pub url: String,
    /// Sources, each fetching the whole list.
    #[arg(long, default_value_t = 20)]
    pub sources: usize,
    /// Poll interval of each source.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Measured window.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub window: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_defaults_are_the_issue_s_scenarios() {
        let cli = Cli::try_parse_from(["tidings-bench", "run"]).unwrap();
        let Command::Run(args) = cli.command else {
            panic!("run")
        };
        assert_eq!(args.subscribers, [2000, 10000]);
        assert_eq!((args.rate, args.notices, args.clients), (10, 100, 64));
        assert_eq!(args.herd, 2000);
        assert_eq!(args.worker_sources, 20);
        assert!(args.wants("herd"));
    }

    #[test]
    fn subcommands_parse() {
        let cli = Cli::try_parse_from([
            "tidings-bench",
            "run",
            "--only",
            "fanout,queries",
            "--subscribers",
            "100",
            "--query-time",
            "500ms",
        ])
        .unwrap();
        let Command::Run(args) = cli.command else {
            panic!("run")
        };
        assert!(args.wants("fanout") && !args.wants("herd"));
        assert_eq!(args.query_time, Duration::from_millis(500));
        assert!(Cli::try_parse_from(["tidings-bench", "bare", "--data", "d"]).is_ok());
        let Command::Soak(soak) =
            Cli::try_parse_from(["tidings-bench", "soak", "--duration", "60s"])
                .unwrap()
                .command
        else {
            panic!("soak")
        };
        assert_eq!(soak.duration, Duration::from_secs(60));
        assert_eq!(soak.warmup, None);
        assert!(Cli::try_parse_from(["tidings-bench", "worker"]).is_err());
        assert!(
            Cli::try_parse_from(["tidings-bench", "worker", "--url", "http://x/trpc/a"]).is_ok()
        );
    }
}
