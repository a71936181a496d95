//! Snapshots: how followers serve fresh data without polling upstream.
//!
//! Whoever fetched a changed answer from upstream (the leader's poll, or any instance's
//! refresh after a mutation) stores its JSON and hash in `{tidings}:snap:<source>` and appends a
//! mark to the log, in one script call, before it sends the notices. Every other instance
//! reads the mark in log order, loads the snapshot and installs it (bytes served as they are,
//! so the ETag is the same on every instance) before it delivers the notices that follow: a
//! client that refetches on a notice gets the new data from whichever instance it asks.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use futures::future::BoxFuture;

use super::lease::Leases;
use super::lock;
use super::store::Store;
use crate::updates::RemoteFeed;
use crate::worker::{Json, Replica, Replication};

/// The cluster's side of [`Replication`], and the application of other instances' snapshots.
pub(super) struct Snapshots {
    store: Arc<Store>,
    leases: Arc<Leases>,
    /// The latest event id, as the floor of a log started anew.
    feed: RemoteFeed,
    /// Sources whose leader should (re)publish its value at its next poll.
    wanted: Arc<Mutex<HashSet<&'static str>>>,
}

impl Snapshots {
    /// Replication through `store`, led by `leases`.
    pub(super) fn new(store: Arc<Store>, leases: Arc<Leases>, feed: RemoteFeed) -> Self {
        Self {
            store,
            leases,
            feed,
            wanted: Arc::new(Mutex::new(HashSet::new())),
        }
    }

    /// Asks `source`'s leader to publish its value at its next poll.
    pub(super) fn want(&self, source: &'static str) {
        lock(&self.wanted).insert(source);
    }

    /// Installs the snapshot a mark announced, unless it is ours or already served.
    pub(super) async fn apply_mark(
        &self,
        replicas: &HashMap<&'static str, Arc<dyn Replica>>,
        source: &str,
        hash: u64,
        origin: &str,
    ) -> redis::RedisResult<()> {
        let Some(replica) = replicas.get(source) else {
            return Ok(());
        };
        if origin == &*self.store.instance || replica.served_hash() == Some(hash) {
            return Ok(());
        }
        self.load_into(replica.as_ref()).await
    }

    /// After the log restarted (or at start): installs every stored snapshot this instance
    /// does not serve yet (marks may have been missed), and asks leaders to publish the ones
    /// Redis does not have (it may have lost them).
    pub(super) async fn catch_up(
        &self,
        replicas: &HashMap<&'static str, Arc<dyn Replica>>,
    ) -> redis::RedisResult<()> {
        for (name, replica) in replicas {
            match self.store.snapshot_hash(name).await? {
                None => self.want(name),
                Some(hash) if replica.served_hash() == Some(hash) => {}
                Some(_) => self.load_into(replica.as_ref()).await?,
            }
        }
        Ok(())
    }

    /// Loads `replica`'s stored snapshot and installs it.
    async fn load_into(&self, replica: &dyn Replica) -> redis::RedisResult<()> {
        let Some(json) = self.store.load_snapshot(replica.name()).await? else {
            return Ok(());
        };
        if let Err(error) = replica.apply(json).await {
            tracing::warn!(source = replica.name(), error = %error, "unreadable snapshot");
        }
        Ok(())
    }
}

impl Replication for Snapshots {
    fn leads(&self, source: &'static str) -> bool {
        self.leases.leads(source)
    }

    fn wants_snapshot(&self, source: &'static str) -> bool {
        lock(&self.wanted).contains(source)
    }

    fn publish(&self, source: &'static str, json: Json) -> BoxFuture<'static, ()> {
        let store = Arc::clone(&self.store);
        let wanted = Arc::clone(&self.wanted);
        let floor = self.feed.last_event_id();
        async move {
            match store.publish_snapshot(source, &json, floor).await {
                Ok(()) => {
                    store.health.ok();
                    lock(&wanted).remove(source);
                }
                Err(error) => {
                    store.health.failed(&error);
                    lock(&wanted).insert(source);
                }
            }
        }
        .boxed()
    }

    fn load(&self, source: &'static str) -> BoxFuture<'static, Option<Json>> {
        let store = Arc::clone(&self.store);
        async move {
            match store.load_snapshot(source).await {
                Ok(json) => {
                    store.health.ok();
                    json
                }
                Err(error) => {
                    store.health.failed(&error);
                    None
                }
            }
        }
        .boxed()
    }
}
