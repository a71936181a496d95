//! The BackgroundWorker: polls upstream sources, notices real changes by content hash, keeps
//! the last good value of each, and tells the UpdateService which scopes changed.
//!
//! Generic over what it polls: the app registers each source with a fetch function (the
//! OpenStack client, the simulator, a fake in tests). One step, [`Worker::tick_all`] or a
//! handle's [`SourceHandle::refresh`], does the work; [`Worker::run`] only adds timing,
//! back-off and shutdown around it.

mod digest;
mod replica;
mod source;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use futures::future::{BoxFuture, join_all};
use rand::Rng;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::updates::UpdateService;

pub use replica::{Replica, Replication};
pub use source::{
    Cause, FetchError, FetchFn, FetchRawFn, Json, ParseFn, RawFetch, SourceError, SourceHandle,
    SourceHealth, SourceSpec,
};

/// Timing of the poll loops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkerConfig {
    /// Each delay is randomized by up to ± this fraction (0.1 = ±10 %), so sources and
    /// instances do not poll upstream in lockstep. Clamped to 0..=1.
    pub jitter: f64,
    /// The longest delay between polls of a failing source; failures double the interval up
    /// to this.
    pub max_backoff: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            jitter: 0.1,
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// What one poll of a source found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickOutcome {
    /// The answer is the same as before; nothing was announced.
    Unchanged,
    /// The answer changed in `scopes` scopes; one notice was sent per scope.
    Changed {
        /// How many scopes changed (the unscoped group counts as one).
        scopes: usize,
    },
    /// The first answer: stored, nothing announced.
    First,
    /// The fetch failed; the last good value is kept.
    Failed {
        /// Failures in a row, this one included.
        consecutive: u32,
    },
}

/// A source as the worker drives it, whatever its item type.
trait Poller: Send + Sync {
    /// The source's name.
    fn name(&self) -> &'static str;
    /// Time between polls while it is up.
    fn interval(&self) -> Duration;
    /// One poll, shared with any poll in progress.
    fn tick(&self) -> BoxFuture<'static, TickOutcome>;
}

/// The background worker: a set of sources and the bus their changes go to.
pub struct Worker {
    /// Where sources announce changes.
    updates: UpdateService,
    /// Loop timing.
    config: WorkerConfig,
    /// The registered sources, in registration order.
    sources: Vec<Arc<dyn Poller>>,
    /// Sharing with other instances (`--bus redis://…`); `None` polls everything here.
    replication: Option<Arc<dyn Replication>>,
    /// The registered sources, as replication applies snapshots to them.
    replicas: Vec<Arc<dyn Replica>>,
}

impl Worker {
    /// A worker with no sources yet.
    pub fn new(updates: UpdateService, config: WorkerConfig) -> Self {
        Self {
            updates,
            config,
            sources: Vec::new(),
            replication: None,
            replicas: Vec::new(),
        }
    }

    /// Shares the sources added from now on with other instances: each is polled only while
    /// `replication` says this instance leads it, and serves snapshots otherwise.
    pub fn replicate(&mut self, replication: Arc<dyn Replication>) {
        self.replication = Some(replication);
    }

    /// Every registered source, for applying snapshots published by other instances.
    pub fn replicas(&self) -> Vec<Arc<dyn Replica>> {
        self.replicas.clone()
    }

    /// Registers a source; the handle reads its value and health and triggers polls. Values
    /// deserialize, so that other instances can load them as snapshots.
    pub fn add<T: Serialize + DeserializeOwned + Send + Sync + 'static>(
        &mut self,
        spec: SourceSpec<T>,
    ) -> SourceHandle<T> {
        let replicated = self.replication.clone().map(replica::Replicated::new);
        let handle = SourceHandle::new(spec, self.updates.clone(), replicated);
        self.sources.push(Arc::new(handle.clone()));
        self.replicas.push(Arc::new(handle.clone()));
        handle
    }

    /// Polls every source once, concurrently; outcomes in registration order.
    pub async fn tick_all(&self) -> Vec<(&'static str, TickOutcome)> {
        let ticks = self.sources.iter().map(|source| source.tick());
        let outcomes = join_all(ticks).await;
        self.sources
            .iter()
            .map(|source| source.name())
            .zip(outcomes)
            .collect()
    }

    /// Polls every source in its own loop (first poll at once, then every jittered interval,
    /// backing off while it fails) until `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut loops = JoinSet::new();
        for source in self.sources {
            loops.spawn(poll_loop(source, self.config, shutdown.clone()));
        }
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                Some(ended) = loops.join_next() => {
                    if let Err(error) = ended {
                        tracing::error!(error = ?error, "poll loop ended abnormally");
                    }
                }
            }
        }
        while loops.join_next().await.is_some() {}
    }
}

/// One source's loop: poll, wait, repeat, until cancelled.
async fn poll_loop(source: Arc<dyn Poller>, config: WorkerConfig, shutdown: CancellationToken) {
    loop {
        let Some(outcome) = shutdown.run_until_cancelled(source.tick()).await else {
            return;
        };
        let failures = match outcome {
            TickOutcome::Failed { consecutive } => consecutive,
            _ => 0,
        };
        let delay = backoff(source.interval(), failures, config.max_backoff);
        let delay = jittered(delay, config.jitter, &mut rand::rng());
        if shutdown
            .run_until_cancelled(tokio::time::sleep(delay))
            .await
            .is_none()
        {
            return;
        }
    }
}

/// The delay before the next poll: `interval`, doubled per consecutive failure, at most
/// `max_backoff` (but never below `interval`).
fn backoff(interval: Duration, failures: u32, max_backoff: Duration) -> Duration {
    let factor = 2u32.saturating_pow(failures.min(31));
    interval
        .saturating_mul(factor)
        .min(max_backoff.max(interval))
}

/// `delay` scaled by a random factor in `1 ± fraction`.
fn jittered(delay: Duration, fraction: f64, rng: &mut impl Rng) -> Duration {
    let fraction = if fraction.is_finite() {
        fraction.clamp(0.0, 1.0)
    } else {
        0.0
    };
    if fraction == 0.0 {
        return delay;
    }
    delay.mul_f64(rng.random_range(1.0 - fraction..=1.0 + fraction))
}
