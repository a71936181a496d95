//! Several instances, one Redis (`--bus redis://…`): one ordered event log, one poller per
//! upstream source.
//!
//! - [`bus`]: the log is a Redis Stream, `{tidings}:log`, trimmed to the replay window: to
//!   its count with `XADD MAXLEN ~`, and to its age with `XTRIM MINID` on each append, by the
//!   time Redis stamps on every entry (a mirror loading the window drops what is too old, so
//!   a cold instance keeps to it as well). Each notice is numbered by `INCR {tidings}:seq` and
//!   appended as entry `<id>-0` in the same Lua script, so ids are global, consecutive and the
//!   same on every instance (still decimal strings on the wire). Instances coalesce locally, publish, and
//!   read the stream back (XREAD BLOCK) into their local fan-out and its mirror of the window,
//!   which serves replay. `{tidings}:epoch` names the log's incarnation: when it changes or a
//!   notice id is skipped, continuity is lost and local subscribers are resynced.
//! - [`lease`]: `{tidings}:lease:<source>`, taken with `SET NX PX`, renewed by its holder; only
//!   the holder polls the source on its schedule.
//! - [`snapshots`]: every changed answer fetched from upstream is stored in
//!   `{tidings}:snap:<source>` (JSON and hash) with a mark in the log ahead of its notices;
//!   the others install it before delivering those notices. A cold instance loads every stored
//!   snapshot when it joins the log, and a source without one is fetched from upstream once.
//! - [`store`]: connections, keys, scripts; reachability logged once per change.
//! - [`sessions`]: sessions shared by every instance (sealed records by token hash, the
//!   per-user index, news of ends over pub/sub), so a client can land on any instance; the
//!   design is in [`crate::auth::store`].
//!
//! Redis is reached through redis-rs (`redis` with `tokio-comp` and `connection-manager`): the
//! maintained, widely used client, whose `ConnectionManager` reconnects by itself and whose
//! `Script` runs Lua with EVALSHA and reloads it after a Redis restart. While Redis is away,
//! queries keep answering from the last good values, notices wait (merged by type and scope),
//! and every loop retries with back-off; nothing is fatal.

mod bus;
mod lease;
mod sessions;
mod snapshots;
mod store;
mod throttle;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::auth::throttle::{Ledger, ThrottleConfig};
use crate::auth::{SessionStore, Sessions};
use crate::updates::{Outbox, RemoteFeed, UpdateConfig, UpdateService};
use crate::worker::{Replica, Replication};

use lease::Leases;
use sessions::RedisSessions;
use snapshots::Snapshots;
use store::Store;

/// How to join the cluster.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// `redis://[user:password@]host[:port][/db]`.
    pub url: String,
    /// How long a poll lease lasts without renewal.
    pub lease_ttl: Duration,
    /// Notices kept for replay (the stream keeps about twice as many entries, for the marks).
    pub log_capacity: usize,
    /// How long notices are kept for replay (older stream entries are trimmed).
    pub log_max_age: Duration,
}

/// This instance's membership: the Redis link, its leases and its snapshots. Built with the
/// state, run by the server.
pub struct Cluster {
    /// Where Redis is (for the links opened on demand).
    url: String,
    /// The Redis link.
    store: Arc<Store>,
    /// Where numbered notices are delivered to local subscribers.
    feed: RemoteFeed,
    /// What this instance emits, to be numbered by Redis.
    outbox: Outbox,
    /// The poll leases held here.
    leases: Arc<Leases>,
    /// Publishing and installing snapshots; the worker's [`Replication`].
    snapshots: Arc<Snapshots>,
    /// Stream entries kept (MAXLEN ~) and read back on a restart of the mirror.
    window: usize,
    /// The sessions every instance shares.
    sessions: Arc<RedisSessions>,
}

impl Cluster {
    /// The update bus over Redis and the membership that feeds it. Connects lazily: only a
    /// malformed URL is an error.
    pub fn join(
        config: &ClusterConfig,
        updates: UpdateConfig,
    ) -> Result<(UpdateService, Self), redis::RedisError> {
        let (service, feed, outbox) = UpdateService::shared(updates);
        let instance: Arc<str> = format!("{:016x}", rand::random::<u64>()).into();
        let window = config.log_capacity.max(1) * 2;
        let store = Arc::new(Store::open(
            &config.url,
            window,
            config.log_max_age,
            Arc::clone(&instance),
        )?);
        let sessions = Arc::new(RedisSessions::open(&config.url)?);
        let leases = Arc::new(Leases::new(config.lease_ttl));
        let snapshots = Arc::new(Snapshots::new(
            Arc::clone(&store),
            Arc::clone(&leases),
            feed.clone(),
        ));
        tracing::info!(%instance, "joining the cluster over redis");
        let cluster = Self {
            url: config.url.clone(),
            store,
            feed,
            outbox,
            leases,
            snapshots,
            window,
            sessions,
        };
        Ok((service, cluster))
    }

    /// The worker's side: who polls, where snapshots go.
    pub fn replication(&self) -> Arc<dyn Replication> {
        Arc::clone(&self.snapshots) as Arc<dyn Replication>
    }

    /// The login throttle's counters in Redis, shared by every instance, under `config`.
    pub fn throttle_ledger(
        &self,
        config: &ThrottleConfig,
    ) -> Result<Arc<dyn Ledger>, redis::RedisError> {
        Ok(Arc::new(throttle::RedisLedger::open(&self.url, config)?))
    }

    /// Where sessions live: in Redis, shared by every instance.
    pub fn session_store(&self) -> SessionStore {
        SessionStore::Shared(Arc::clone(&self.sessions) as _)
    }

    /// Publishes, reads the log and keeps the leases of `replicas` until `stop`, and ends the
    /// copies in `sessions` of sessions ended elsewhere; then flushes the last notices and
    /// gives the leases back.
    pub async fn run(
        self,
        replicas: Vec<Arc<dyn Replica>>,
        sessions: Arc<Sessions>,
        stop: CancellationToken,
    ) {
        let names: Vec<&'static str> = replicas.iter().map(|r| r.name()).collect();
        let replicas: HashMap<_, _> = replicas.into_iter().map(|r| (r.name(), r)).collect();
        let reader = bus::Reader {
            store: Arc::clone(&self.store),
            feed: self.feed.clone(),
            snapshots: Arc::clone(&self.snapshots),
            replicas,
            window: self.window,
        };
        let snapshots = Arc::clone(&self.snapshots);
        let taken = move |source| snapshots.want(source);
        tokio::join!(
            bus::publish(
                Arc::clone(&self.store),
                self.feed.clone(),
                self.outbox,
                stop.clone()
            ),
            reader.run(stop.clone()),
            Arc::clone(&self.sessions).listen(sessions, stop.clone()),
            lease::run(self.store, self.leases, names, taken, stop),
        );
    }
}

/// Locks `mutex`, ignoring poisoning: every critical section leaves its data consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
