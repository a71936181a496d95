//! The worker: Tidings' own `Worker` with S sources, each fetching the ~10 MB instance list
//! over HTTP (reqwest, from the bare server's memory: the simulator cannot generate 100 MB/s of
//! JSON on this machine) and parsing it into the OpenStack model, polled on Tidings' schedule.
//! Runs in its own process (`tidings-bench worker`) so its CPU time is the worker's alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tidings::updates::{UpdateConfig, UpdateService, UpdateType};
use tidings::worker::{FetchError, SourceHandle, SourceSpec, Worker, WorkerConfig};
use tidings_openstack::model::Instance;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::machine;

/// What `tidings-bench worker` prints (one JSON line).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerRun {
    /// Sources polled.
    pub sources: usize,
    /// Items in each answer.
    pub items: usize,
    /// Polls made during the measured window (all sources).
    pub polls: usize,
    /// CPU time of the process over the measured window.
    pub cpu_seconds: f64,
    /// Length of the measured window.
    pub wall_seconds: f64,
}

impl WorkerRun {
    /// CPU in % of one core.
    pub fn cpu_percent(&self) -> f64 {
        100.0 * self.cpu_seconds / self.wall_seconds
    }
}

/// The answer the worker fetches: a tRPC envelope around the list.
#[derive(Deserialize)]
struct Envelope {
    result: Data,
}

#[derive(Deserialize)]
struct Data {
    data: Vec<Instance>,
}

/// Fetches the list at `url`, as bytes.
async fn fetch(http: reqwest::Client, url: String) -> Result<bytes::Bytes, FetchError> {
    Ok(http
        .get(url)
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?)
}

/// Parses the list (only when its bytes changed: see [`SourceSpec::raw`]).
fn parse(body: &[u8]) -> Result<Vec<Instance>, FetchError> {
    Ok(serde_json::from_slice::<Envelope>(body)?.result.data)
}

/// Polls `sources` copies of the instance list at `url` every `interval`, measuring this
/// process's CPU over `window` once every source has a value.
pub async fn measure(
    url: &str,
    sources: usize,
    interval: Duration,
    window: Duration,
) -> anyhow::Result<WorkerRun> {
    let http = reqwest::Client::new();
    let mut worker = Worker::new(
        UpdateService::new(UpdateConfig::default()),
        WorkerConfig::default(),
    );
    let polls = Arc::new(AtomicUsize::new(0));
    let handles: Vec<SourceHandle<Instance>> = (0..sources)
        .map(|i| {
            let name: &'static str = Box::leak(format!("instances-{i}").into_boxed_str());
            let (http, polls, url) = (http.clone(), polls.clone(), url.to_owned());
            let poll = move || {
                polls.fetch_add(1, Ordering::Relaxed);
                fetch(http.clone(), url.clone())
            };
            let spec = SourceSpec::raw(name, UpdateType::Compute, scope_of, poll, parse);
            worker.add(spec.with_interval(interval))
        })
        .collect();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(worker.run(shutdown.clone()));
    let mut items = 0;
    for handle in &handles {
        items = handle.get().await.map_err(anyhow::Error::msg)?.len();
    }
    // One more interval, so the loops are in their steady rhythm.
    tokio::time::sleep(interval).await;
    let me = std::process::id();
    let cpu_before = machine::cpu_time(me);
    let polls_before = polls.load(Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(window).await;
    let cpu = machine::cpu_time(me).saturating_sub(cpu_before);
    let polls = polls.load(Ordering::Relaxed) - polls_before;
    let wall = started.elapsed();
    shutdown.cancel();
    let _ = running.await;
    Ok(WorkerRun {
        sources,
        items,
        polls,
        cpu_seconds: cpu.as_secs_f64(),
        wall_seconds: wall.as_secs_f64(),
    })
}

fn scope_of(instance: &Instance) -> Option<&str> {
    Some(&instance.project_id)
}
