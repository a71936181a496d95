//! Where sessions live: in this process alone (the default), or in a store every instance of
//! a cluster shares (`--bus redis://…`), so a client can land on any instance.
//!
//! # Design
//!
//! - **In memory** ([`SessionStore::Memory`]): the map of `Sessions` is the truth,
//!   as before; nothing below applies.
//! - **Shared** ([`SessionStore::Shared`]): the truth is a record per session in the shared
//!   store (Redis: `cluster::sessions`), found by the session's id, a hash of its token, and
//!   sealed with a key derived from the token (`auth::record`). The token exists only in
//!   the client and, while a request presents it, in memory: whoever reads Redis sees ids
//!   and ciphertext, cannot open a record (the key needs the token), and cannot present an
//!   id as a token (its hash is another id).
//! - **Any instance**: an instance that is presented a token it has not seen hashes it, loads
//!   the record, opens it with the token and builds the session: user, projects and roles,
//!   expiry, and the user's own OpenStack client from the sealed credentials. Keystone tokens
//!   are per instance: each instance's client authenticates as the user once, when first
//!   needed, and renews as usual; logging out revokes the ones of every instance that holds
//!   the session (each revokes its own when it hears of the end).
//! - **Expiry**: the record's Redis TTL is the idle time-out, capped by what is left of the
//!   lifetime; every use refreshes it, at most once per [`recheck_interval`] per instance
//!   (so in a cluster a session may end up to that much before its idle time-out, never
//!   after), and open streams refresh it from the sweeper. The record's own absolute
//!   expiry is checked when it is opened and by the local copy.
//! - **Local copies**: an instance keeps the sessions it loaded (bounded by
//!   [`MAX_CACHED`], forgotten when unused here for [`CACHE_IDLE`], never while a stream of
//!   theirs is open). A copy is trusted for at most [`recheck_interval`] before the next use
//!   confirms the record still exists (the same call refreshes its TTL).
//! - **Ends**: ending a session (logout, a login replacing it, the per-user cap, expiry)
//!   deletes its record and publishes its id; every instance ends its copy on the message,
//!   which ends that copy's streams with `UNAUTHORIZED`. A message missed while Redis was
//!   away is made up for by the recheck: after a reconnect every copy is rechecked on its
//!   next use, and streams' sessions on the sweeper's next tick.
//! - **Redis away**: copies confirmed earlier keep working, unknown tokens are answered
//!   `SERVICE_UNAVAILABLE` (not `UNAUTHORIZED`: the client should retry, not log in), and a
//!   login fails with `SERVICE_UNAVAILABLE` rather than open a session only one instance
//!   knows.
//! - **Per-user cap**: the store keeps each user's session ids ordered by login time; a login
//!   past the cap of 64 ends the oldest, cluster-wide.
//! - **Stream cap**: per session and per instance (each instance counts the streams it holds);
//!   a client spreading streams over `n` instances may hold `n` times `--max-streams-per-session`.

use std::time::Duration;

use futures::future::BoxFuture;

/// A failed call to the shared store (Redis unreachable, a script error).
pub type StoreError = Box<dyn std::error::Error + Send + Sync>;

/// Most sessions loaded from the shared store that one instance keeps.
pub const MAX_CACHED: usize = 10_000;
/// A loaded session unused here this long is forgotten (it goes on elsewhere).
pub const CACHE_IDLE: Duration = Duration::from_secs(60);
/// The longest a local copy is trusted without asking the store.
const MAX_RECHECK: Duration = Duration::from_secs(2);

/// How long a local copy is trusted before its next use asks the store again (and refreshes
/// its TTL): 2 s, or an eighth of the idle time-out when that is shorter.
pub fn recheck_interval(idle_timeout: Duration) -> Duration {
    (idle_timeout / 8).clamp(Duration::from_millis(1), MAX_RECHECK)
}

/// Where sessions live.
#[derive(Clone, Default)]
pub enum SessionStore {
    /// In this process only.
    #[default]
    Memory,
    /// In a store the instances of a cluster share.
    Shared(std::sync::Arc<dyn SharedSessions>),
}

impl std::fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Memory => "Memory",
            Self::Shared(_) => "Shared",
        })
    }
}

/// A new session to store.
#[derive(Debug)]
pub struct NewSession<'a> {
    /// Its id (the token's hash).
    pub id: &'a str,
    /// Its sealed record.
    pub sealed: Vec<u8>,
    /// The record's time to live (the idle time-out).
    pub ttl: Duration,
    /// Its user's id, for the per-user cap.
    pub user_id: &'a str,
    /// How long the user's index of sessions must last (the session lifetime).
    pub lifetime: Duration,
    /// Most sessions the user may hold; the oldest beyond it are ended.
    pub max_per_user: usize,
}

/// The shared store's side of sessions: sealed records by id, and the news of their end.
/// Every method is one round trip.
pub trait SharedSessions: Send + Sync {
    /// Stores a new session, and ends (deletes and announces) its user's oldest sessions
    /// beyond the cap; returns their ids.
    fn save<'a>(&'a self, new: NewSession<'a>) -> BoxFuture<'a, Result<Vec<String>, StoreError>>;

    /// The sealed record of `id`, if it exists; refreshes its TTL to `ttl`.
    fn load<'a>(
        &'a self,
        id: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>>;

    /// Refreshes the TTL of each `(id, ttl)`; whether each record still exists.
    fn touch<'a>(
        &'a self,
        ids: &'a [(String, Duration)],
    ) -> BoxFuture<'a, Result<Vec<bool>, StoreError>>;

    /// Deletes the record of `id` and tells every instance that the session ended.
    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
}
