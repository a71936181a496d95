//! Sources shared by several instances: one instance (the leader of a source) polls upstream
//! and publishes each changed answer as a snapshot; the others serve the snapshots they load.
//!
//! The worker only knows the seam, [`Replication`]; `crate::cluster` implements it over Redis
//! (leases, snapshots) and applies the snapshots it hears about through [`Replica`].

use std::sync::Arc;

use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::TickOutcome;
use super::digest;
use super::source::{Json, SourceHandle};

/// How sources are shared with other instances.
pub trait Replication: Send + Sync {
    /// Whether this instance polls `source` on its schedule now (it holds the source's lease).
    /// Followers do not poll; they serve the snapshots the leader publishes.
    fn leads(&self, source: &'static str) -> bool;

    /// Whether `source`'s current value should be published even though it did not change:
    /// the lease was just taken, an earlier publish failed, or the shared store lost its data.
    fn wants_snapshot(&self, source: &'static str) -> bool;

    /// Publishes `json` as `source`'s snapshot. Resolves once it is stored (or failed, which is
    /// logged and retried with a later poll), so that notices sent afterwards reach other
    /// instances after the data they announce.
    fn publish(&self, source: &'static str, json: Json) -> BoxFuture<'static, ()>;

    /// The stored snapshot of `source`, if any (`None` too when the store is unreachable).
    fn load(&self, source: &'static str) -> BoxFuture<'static, Option<Json>>;
}

/// A source as replication drives it, whatever its item type.
pub trait Replica: Send + Sync {
    /// The source's name.
    fn name(&self) -> &'static str;

    /// The hash of the value it serves, when it has one and it was serialized.
    fn served_hash(&self) -> Option<u64>;

    /// Installs a snapshot published by another instance (announcing nothing: the publisher
    /// sends the notices). Resolves to whether the value changed.
    fn apply(&self, json: Json) -> BoxFuture<'static, Result<bool, String>>;
}

/// A source's link to replication: the shared seam, and how to read its snapshots back.
pub(super) struct Replicated<T> {
    /// Who polls, and where snapshots go.
    pub(super) replication: Arc<dyn Replication>,
    /// Parses a snapshot into items and digests them, as a poll would.
    decode: Decode<T>,
}

/// Parses a snapshot of `T`s and digests it per scope.
type Decode<T> =
    fn(&Bytes, fn(&T) -> Option<&str>) -> Result<(Vec<T>, digest::ScopeDigests), String>;

impl<T: Serialize + DeserializeOwned> Replicated<T> {
    /// Sharing through `replication`.
    pub(super) fn new(replication: Arc<dyn Replication>) -> Self {
        Self {
            replication,
            decode: decode::<T>,
        }
    }
}

impl<T: Serialize + Send + Sync + 'static> Replica for SourceHandle<T> {
    fn name(&self) -> &'static str {
        SourceHandle::name(self)
    }

    fn served_hash(&self) -> Option<u64> {
        self.serialized().map(|json| json.hash)
    }

    fn apply(&self, json: Json) -> BoxFuture<'static, Result<bool, String>> {
        let handle = self.clone();
        async move {
            if handle.served_hash() == Some(json.hash) {
                return Ok(false);
            }
            let Some(decode) = handle.replicated().map(|r| r.decode) else {
                return Err("the source is not replicated".to_owned());
            };
            let bytes = json.bytes.clone();
            let scope_of = handle.scope_of();
            let (items, digests) = tokio::task::spawn_blocking(move || decode(&bytes, scope_of))
                .await
                .map_err(|e| e.to_string())??;
            handle.install(items, digests, json);
            Ok(true)
        }
        .boxed()
    }
}

/// Parses a snapshot and digests it per scope, as a poll would.
fn decode<T: Serialize + DeserializeOwned>(
    bytes: &Bytes,
    scope_of: fn(&T) -> Option<&str>,
) -> Result<(Vec<T>, digest::ScopeDigests), String> {
    let items: Vec<T> = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let digests = digest::scope_digests(&items, scope_of).map_err(|e| e.to_string())?;
    Ok((items, digests))
}

/// After an upstream answer was stored: publish it when it changed (or is the first), or when
/// replication asks for it, before its notices are sent.
pub(super) async fn share<T: Serialize + Send + Sync + 'static>(
    handle: &SourceHandle<T>,
    replicated: &Replicated<T>,
    outcome: TickOutcome,
) {
    let name = handle.name();
    let fresh = matches!(outcome, TickOutcome::First | TickOutcome::Changed { .. });
    if !fresh && !replicated.replication.wants_snapshot(name) {
        return;
    }
    match handle.get_json().await {
        Ok(json) => replicated.replication.publish(name, json).await,
        Err(error) => tracing::warn!(source = name, error = %error, "snapshot not serialized"),
    }
}

/// A follower's turn of the poll loop: nothing upstream, except for a source with no value
/// yet (a cold start) that finds no stored snapshot either (the cluster starts all at once, or
/// Redis is unreachable): that one is fetched from upstream once, so the instance can serve.
pub(super) async fn follow<T: Serialize + Send + Sync + 'static>(
    handle: SourceHandle<T>,
) -> TickOutcome {
    let Some(replicated) = handle.replicated() else {
        return TickOutcome::Unchanged;
    };
    if handle.current().is_some() || warm(&handle, replicated).await {
        return TickOutcome::Unchanged;
    }
    handle.refresh().await
}

/// Loads and installs the stored snapshot of `handle`'s source; whether it did.
pub(super) async fn warm<T: Serialize + Send + Sync + 'static>(
    handle: &SourceHandle<T>,
    replicated: &Replicated<T>,
) -> bool {
    let Some(json) = replicated.replication.load(handle.name()).await else {
        return false;
    };
    match Replica::apply(handle, json).await {
        Ok(_) => true,
        Err(error) => {
            tracing::warn!(source = handle.name(), error = %error, "unreadable snapshot");
            false
        }
    }
}
