//! The shared log over a Redis Stream: publishing this instance's notices, and reading every
//! instance's into the local fan-out.
//!
//! Continuity: notice ids are consecutive in the stream (INCR and XADD in one script), so the
//! reader knows it missed something when the next notice is not the one after the last it
//! delivered (entries trimmed while it was away), and it knows Redis lost the log when the
//! epoch key changed or vanished (a restart without persistence, a flush). Either way it
//! restarts the local mirror from Redis's current window and every subscriber here gets one
//! resync: clients refetch instead of silently missing changes.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::snapshots::Snapshots;
use super::store::{Entry, Store};
use crate::updates::{Outbox, Outgoing, RemoteFeed, Retained, UpdateType};
use crate::worker::Replica;

/// First wait after a failed Redis call; doubled per failure in a row.
const MIN_BACKOFF: Duration = Duration::from_millis(50);
/// Longest wait between attempts while Redis is unreachable.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How long a stopping instance keeps trying to publish its last notices.
const FLUSH: Duration = Duration::from_secs(1);
/// Distinct (type, scope) notices kept while Redis is unreachable; more are dropped (logged).
const MAX_PENDING: usize = 10_000;

/// Publishes what this instance emits, in order, until `stop`, then flushes briefly. While
/// Redis is unreachable, notices wait, merged by (type, scope): one notice per key says all a
/// client needs once it is delivered.
pub(super) async fn publish(
    store: Arc<Store>,
    feed: RemoteFeed,
    mut outbox: Outbox,
    stop: CancellationToken,
) {
    let mut pending = Pending::default();
    let mut backoff = MIN_BACKOFF;
    loop {
        if pending.queue.is_empty() {
            tokio::select! {
                next = outbox.recv() => match next {
                    Some(notice) => pending.push(notice),
                    None => return,
                },
                () = stop.cancelled() => break,
            }
        }
        pending.drain(&mut outbox);
        if publish_next(&store, &feed, &mut pending).await {
            backoff = MIN_BACKOFF;
            continue;
        }
        let pause = tokio::time::sleep(backoff);
        if stop.run_until_cancelled(pause).await.is_none() {
            break;
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
    // Stopping: notices of the last requests still get out, within a bound.
    pending.drain(&mut outbox);
    let flush = async {
        while !pending.queue.is_empty() {
            if !publish_next(&store, &feed, &mut pending).await {
                tokio::time::sleep(MIN_BACKOFF).await;
            }
        }
    };
    if tokio::time::timeout(FLUSH, flush).await.is_err() {
        tracing::warn!(
            lost = pending.queue.len(),
            "stopped with notices redis did not take"
        );
    }
}

/// Publishes the first waiting notice; whether that worked (it waits again if not).
async fn publish_next(store: &Store, feed: &RemoteFeed, pending: &mut Pending) -> bool {
    let Some(notice) = pending.queue.pop_front() else {
        return true;
    };
    match store.publish_notice(&notice, feed.last_event_id()).await {
        Ok(_) => {
            store.health.ok();
            true
        }
        Err(error) => {
            store.health.failed(&error);
            pending.retry(notice);
            false
        }
    }
}

/// Notices waiting for Redis, in order, each (type, scope) once.
#[derive(Default)]
struct Pending {
    /// Oldest first.
    queue: VecDeque<Outgoing>,
}

impl Pending {
    /// Queues `notice` unless the same (type, scope) already waits.
    fn push(&mut self, notice: Outgoing) {
        if self.queue.contains(&notice) {
            return;
        }
        if self.queue.len() >= MAX_PENDING {
            tracing::warn!("too many notices waiting for redis; dropping the oldest");
            self.queue.pop_front();
        }
        self.queue.push_back(notice);
    }

    /// Queues everything the outbox holds now.
    fn drain(&mut self, outbox: &mut Outbox) {
        while let Ok(notice) = outbox.try_recv() {
            self.push(notice);
        }
    }

    /// Puts back a notice whose publish failed, first in line.
    fn retry(&mut self, notice: Outgoing) {
        if !self.queue.contains(&notice) {
            self.queue.push_front(notice);
        }
    }
}

/// Reads the shared log into the local fan-out until `stop`.
pub(super) struct Reader {
    /// The Redis link.
    pub(super) store: Arc<Store>,
    /// The local fan-out and its mirror of the log.
    pub(super) feed: RemoteFeed,
    /// Installs the snapshots that marks announce.
    pub(super) snapshots: Arc<Snapshots>,
    /// The sources by name.
    pub(super) replicas: HashMap<&'static str, Arc<dyn Replica>>,
    /// Stream entries to keep in the window (the replay capacity plus snapshot marks).
    pub(super) window: usize,
}

/// Where the reader stands.
#[derive(Debug, Default)]
struct Position {
    /// The epoch of the log the mirror follows; `None` before the first restart.
    epoch: Option<String>,
    /// The stream id to read after.
    cursor: String,
    /// Continuity was lost: restart the mirror before reading on.
    restart: bool,
    /// A call failed or timed out: check the epoch before reading on.
    verify: bool,
}

impl Reader {
    /// The loop: restart, verify or read; back off while Redis fails.
    pub(super) async fn run(self, stop: CancellationToken) {
        let mut at = Position {
            restart: true,
            ..Position::default()
        };
        let mut backoff = MIN_BACKOFF;
        loop {
            let step = async {
                if at.restart {
                    self.restart(&mut at).await
                } else if at.verify {
                    self.verify(&mut at).await
                } else {
                    self.read(&mut at).await
                }
            };
            let Some(result) = stop.run_until_cancelled(step).await else {
                return;
            };
            match result {
                Ok(()) => {
                    self.store.health.ok();
                    backoff = MIN_BACKOFF;
                }
                Err(error) => {
                    self.store.health.failed(&error);
                    at.verify = true;
                    let pause = tokio::time::sleep(backoff);
                    if stop.run_until_cancelled(pause).await.is_none() {
                        return;
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Mirrors Redis's current window and resyncs every local subscriber.
    async fn restart(&self, at: &mut Position) -> redis::RedisResult<()> {
        let window = self
            .store
            .window(self.feed.last_event_id(), self.window)
            .await?;
        let notices = window.entries.iter().filter_map(|(_, entry)| match entry {
            Entry::Notice { id, ty, scope, at } => Some(Retained {
                id: *id,
                ty: update_type(ty)?,
                scope: scope.clone(),
                age: Duration::from_millis(at.map_or(0, |at| window.now.saturating_sub(at))),
            }),
            _ => None,
        });
        let notices: Vec<_> = notices.collect();
        let first = at.epoch.is_none();
        at.cursor = match window.entries.last() {
            Some((stream_id, _)) => stream_id.clone(),
            None => format!("{}-0", window.seq),
        };
        self.feed.restart(window.seq, notices);
        if first {
            tracing::info!(event_id = window.seq, "following the shared log");
        } else {
            tracing::warn!(
                event_id = window.seq,
                "continuity with the shared log lost; subscribers resynced"
            );
        }
        at.epoch = Some(window.epoch);
        at.restart = false;
        at.verify = false;
        self.snapshots.catch_up(&self.replicas).await
    }

    /// After a failure or an idle read: is the log still the one the mirror follows?
    async fn verify(&self, at: &mut Position) -> redis::RedisResult<()> {
        let epoch = self.store.epoch().await?;
        at.restart = epoch != at.epoch;
        at.verify = false;
        Ok(())
    }

    /// The next entries, delivered in order; snapshot marks installed before the notices
    /// behind them.
    async fn read(&self, at: &mut Position) -> redis::RedisResult<()> {
        let entries = self.store.read_after(&at.cursor).await?;
        if entries.is_empty() {
            at.verify = true;
        }
        for (stream_id, entry) in entries {
            match entry {
                Entry::Notice { id, ty, scope, .. } => {
                    let delivered = update_type(&ty)
                        .is_some_and(|ty| self.feed.deliver(id, ty, scope.as_deref()));
                    if !delivered {
                        at.restart = true;
                        return Ok(());
                    }
                }
                Entry::Snapshot {
                    source,
                    hash,
                    origin,
                } => {
                    self.snapshots
                        .apply_mark(&self.replicas, &source, hash, &origin)
                        .await?;
                }
                Entry::Unknown => {}
            }
            at.cursor = stream_id;
        }
        Ok(())
    }
}

/// The update type of a wire name; `None` for one this version does not know.
fn update_type(name: &str) -> Option<UpdateType> {
    UpdateType::ALL.into_iter().find(|ty| ty.as_str() == name)
}
