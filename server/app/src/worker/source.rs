//! One polled upstream source: what to fetch, the last good value, its health, and the single
//! poll in flight that the loop, readers and routers share.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use serde::Serialize;
use tokio::sync::OnceCell;
use tokio::time::Instant;

use super::digest::{self, ScopeDigests};
use super::replica::{self, Replicated};
use super::{Poller, TickOutcome};
use crate::updates::{UpdateService, UpdateType};

/// Why a fetch failed; any error type converts into it with `?` or `.into()`.
pub type FetchError = Box<dyn std::error::Error + Send + Sync>;

/// Fetches the whole current answer of a source from upstream.
pub type FetchFn<T> = Arc<dyn Fn() -> BoxFuture<'static, Result<Vec<T>, FetchError>> + Send + Sync>;

/// Fetches a source's answer as the bytes upstream sent, before any parsing.
pub type FetchRawFn = Arc<dyn Fn() -> BoxFuture<'static, Result<Bytes, FetchError>> + Send + Sync>;

/// Parses a raw answer into items.
pub type ParseFn<T> = fn(&[u8]) -> Result<Vec<T>, FetchError>;

/// A source whose answer arrives as bytes: they are hashed first, and parsed only when they
/// differ from the last good answer's, so an unchanged poll costs a transfer and a hash.
pub struct RawFetch<T> {
    /// Fetches the bytes.
    pub fetch: FetchRawFn,
    /// Parses them.
    pub parse: ParseFn<T>,
}

/// What to poll, how often, and how its items map to update notices.
pub struct SourceSpec<T> {
    /// A short stable name, used in logs and health reports (`"volumes"`).
    pub name: &'static str,
    /// The update type announced when the answer changes.
    pub update_type: UpdateType,
    /// Time between polls while the source is up.
    pub interval: Duration,
    /// Fetches the answer.
    pub fetch: FetchFn<T>,
    /// When set, how polls fetch instead of `fetch`: raw bytes, parsed only when they changed.
    pub raw: Option<RawFetch<T>>,
    /// The project an item belongs to (its notice scope); `None` for global items.
    pub scope_of: fn(&T) -> Option<&str>,
}

impl<T> SourceSpec<T> {
    /// The poll interval unless told otherwise.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);

    /// A spec polled every [`Self::DEFAULT_INTERVAL`], from any async fetch function.
    pub fn new<F, Fut, E>(
        name: &'static str,
        update_type: UpdateType,
        scope_of: fn(&T) -> Option<&str>,
        fetch: F,
    ) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<T>, E>> + Send + 'static,
        E: Into<FetchError>,
    {
        let fetch: FetchFn<T> = Arc::new(move || fetch().map(|r| r.map_err(Into::into)).boxed());
        let interval = Self::DEFAULT_INTERVAL;
        Self {
            name,
            update_type,
            interval,
            fetch,
            raw: None,
            scope_of,
        }
    }

    /// A spec whose answer is fetched as bytes and parsed by `parse` only when the bytes differ
    /// from the last good answer's (xxh3): polling a large, mostly unchanged list then costs
    /// little more than its transfer.
    pub fn raw<F, Fut, E>(
        name: &'static str,
        update_type: UpdateType,
        scope_of: fn(&T) -> Option<&str>,
        fetch: F,
        parse: ParseFn<T>,
    ) -> Self
    where
        T: 'static,
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Bytes, E>> + Send + 'static,
        E: Into<FetchError>,
    {
        let fetch: FetchRawFn = Arc::new(move || fetch().map(|r| r.map_err(Into::into)).boxed());
        let raw = RawFetch {
            fetch: Arc::clone(&fetch),
            parse,
        };
        let parsed: FetchFn<T> = Arc::new(move || {
            let bytes = fetch();
            async move { parse(&bytes.await?) }.boxed()
        });
        Self {
            raw: Some(raw),
            ..Self::new(name, update_type, scope_of, move || parsed())
        }
    }

    /// The same spec, polled every `interval`.
    pub fn with_interval(self, interval: Duration) -> Self {
        Self { interval, ..self }
    }
}

/// A source has no value to serve: it has never answered, and the poll just made failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("upstream source {name} is unavailable: {message}")]
pub struct SourceError {
    /// The source's name.
    pub name: &'static str,
    /// What went wrong, for logs.
    pub message: Arc<str>,
    /// What kind of failure it was.
    pub cause: Cause,
}

/// Why a source's poll failed, as readiness and the error a reader gets tell it apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Cause {
    /// The upstream did not answer: a time-out, a refused or dropped connection, a 503.
    Unreachable,
    /// The upstream refuses this server's credentials: Keystone refuses its password, or a
    /// service refuses the tokens Keystone issued. The upstream's configuration, not an outage.
    Unauthorized,
    /// The upstream answered, with an error or with something unusable.
    Failing,
}

impl Cause {
    /// The cause of a fetch error: the OpenStack client's error kind, wherever it is in the
    /// error's chain; anything else is a failing answer.
    pub fn of(error: &(dyn std::error::Error + 'static)) -> Self {
        use tidings_openstack::ErrorKind;
        let mut current = Some(error);
        while let Some(error) = current {
            if let Some(upstream) = error.downcast_ref::<tidings_openstack::Error>() {
                return match upstream.kind() {
                    ErrorKind::Timeout | ErrorKind::Unavailable => Cause::Unreachable,
                    ErrorKind::Auth | ErrorKind::Refused => Cause::Unauthorized,
                    _ => Cause::Failing,
                };
            }
            current = error.source();
        }
        Cause::Failing
    }
}

/// How a source is doing, for readiness checks and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceHealth {
    /// It has answered at least once and its latest poll succeeded.
    pub up: bool,
    /// Polls failed in a row since the last success.
    pub consecutive_failures: u32,
    /// When the latest successful poll finished.
    pub last_success: Option<Instant>,
    /// The latest failure's message; kept after recovery, for diagnosis.
    pub last_error: Option<String>,
    /// The latest failure's cause; kept after recovery, like `last_error`.
    pub last_cause: Option<Cause>,
}

/// A source's value serialized as JSON, with the xxh3 hash of those bytes.
#[derive(Debug, Clone)]
pub struct Json {
    /// The JSON text.
    pub bytes: Bytes,
    /// xxh3 of `bytes`.
    pub hash: u64,
}

/// A reader's handle on a source. Cheap to clone.
pub struct SourceHandle<T> {
    source: Arc<Source<T>>,
}

impl<T> Clone for SourceHandle<T> {
    fn clone(&self) -> Self {
        Self {
            source: Arc::clone(&self.source),
        }
    }
}

/// The result of one poll: its outcome, and the value to serve or why there is none.
type Polled<T> = (TickOutcome, Result<Arc<Vec<T>>, SourceError>);

/// A poll in flight, awaited by everyone who asked for it.
type SharedPoll<T> = Shared<BoxFuture<'static, Polled<T>>>;

/// A source and its state.
struct Source<T> {
    /// What to poll.
    spec: SourceSpec<T>,
    /// Where changes are announced.
    updates: UpdateService,
    /// The last good value and the health counters.
    state: Mutex<State<T>>,
    /// The poll in progress, if any (single flight).
    in_flight: Mutex<Option<SharedPoll<T>>>,
    /// When shared with other instances: who polls, and where snapshots go.
    replicated: Option<Replicated<T>>,
}

/// What a source remembers between polls.
struct State<T> {
    /// The last good answer.
    value: Option<Arc<Vec<T>>>,
    /// `value` as JSON with its hash, serialized at most once per value (on first request).
    json: Arc<OnceCell<Json>>,
    /// The per-scope digests of `value`.
    digests: ScopeDigests,
    /// xxh3 of the raw answer `value` was parsed from, for sources fetched raw.
    raw_hash: Option<u64>,
    /// Polls failed in a row.
    failures: u32,
    /// When the latest successful poll finished.
    last_success: Option<Instant>,
    /// The latest failure's message.
    last_error: Option<String>,
    /// The latest failure's cause.
    last_cause: Option<Cause>,
}

impl<T: Serialize + Send + Sync + 'static> SourceHandle<T> {
    /// A source with no value yet, announcing its changes on `updates`, shared with other
    /// instances when `replicated` is set.
    pub(super) fn new(
        spec: SourceSpec<T>,
        updates: UpdateService,
        replicated: Option<Replicated<T>>,
    ) -> Self {
        let state = State {
            value: None,
            json: Arc::new(OnceCell::new()),
            digests: ScopeDigests::new(),
            raw_hash: None,
            failures: 0,
            last_success: None,
            last_error: None,
            last_cause: None,
        };
        let source = Source {
            spec,
            updates,
            state: Mutex::new(state),
            in_flight: Mutex::new(None),
            replicated,
        };
        Self {
            source: Arc::new(source),
        }
    }

    /// The source's name.
    pub fn name(&self) -> &'static str {
        self.source.spec.name
    }

    /// The last good value, without polling.
    pub fn current(&self) -> Option<Arc<Vec<T>>> {
        lock(&self.source.state).value.clone()
    }

    /// The last good value; when there is none yet, polls (sharing any poll in progress) and
    /// returns its answer or its error.
    pub async fn get(&self) -> Result<Arc<Vec<T>>, SourceError> {
        if let Some(value) = self.current() {
            return Ok(value);
        }
        if let Some(replicated) = &self.source.replicated
            && replica::warm(self, replicated).await
            && let Some(value) = self.current()
        {
            return Ok(value);
        }
        let (_, polled) = self.poll().await;
        polled.or_else(|error| self.current().ok_or(error))
    }

    /// The last good value as JSON and its xxh3 hash, serialized once per value and shared by
    /// every request (like [`SourceHandle::get`] when there is no value yet).
    pub async fn get_json(&self) -> Result<Json, SourceError> {
        let value = self.get().await?;
        let cell = {
            let state = lock(&self.source.state);
            match &state.value {
                Some(current) if Arc::ptr_eq(current, &value) => Arc::clone(&state.json),
                // Replaced meanwhile: serialize the value this call is answering with.
                _ => Arc::new(OnceCell::new()),
            }
        };
        let name = self.source.spec.name;
        let encoded = cell
            .get_or_try_init(|| async move {
                let encode = move || {
                    let bytes = serde_json::to_vec(&*value)?;
                    let hash = xxhash_rust::xxh3::xxh3_64(&bytes);
                    Ok::<_, serde_json::Error>(Json {
                        bytes: bytes.into(),
                        hash,
                    })
                };
                match tokio::task::spawn_blocking(encode).await {
                    Ok(result) => result.map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                }
            })
            .await
            .map_err(|message| SourceError {
                name,
                message: message.into(),
                cause: Cause::Failing,
            })?;
        Ok(encoded.clone())
    }

    /// Polls now (sharing any poll in progress); routers call it right after a mutation so
    /// the next query sees the change.
    pub async fn refresh(&self) -> TickOutcome {
        self.poll().await.0
    }

    /// The current value's JSON, if it was serialized (or installed from a snapshot).
    pub(super) fn serialized(&self) -> Option<Json> {
        lock(&self.source.state).json.get().cloned()
    }

    /// Sharing with other instances, when configured.
    pub(super) fn replicated(&self) -> Option<&Replicated<T>> {
        self.source.replicated.as_ref()
    }

    /// The scope function of the spec.
    pub(super) fn scope_of(&self) -> fn(&T) -> Option<&str> {
        self.source.spec.scope_of
    }

    /// Installs a value another instance fetched (a snapshot), with its digests and its JSON,
    /// so it is served without being serialized again. Announces nothing: its publisher does.
    pub(super) fn install(&self, items: Vec<T>, digests: ScopeDigests, json: Json) {
        let mut state = lock(&self.source.state);
        state.value = Some(Arc::new(items));
        state.json = Arc::new(OnceCell::new_with(Some(json)));
        state.digests = digests;
        state.raw_hash = None;
        state.failures = 0;
        state.last_success = Some(Instant::now());
    }

    /// How the source is doing.
    pub fn health(&self) -> SourceHealth {
        let state = lock(&self.source.state);
        SourceHealth {
            up: state.last_success.is_some() && state.failures == 0,
            consecutive_failures: state.failures,
            last_success: state.last_success,
            last_error: state.last_error.clone(),
            last_cause: state.last_cause,
        }
    }

    /// The poll in progress, or a new one. The poll runs as its own task, so a caller that
    /// gives up waiting never leaves it half done.
    fn poll(&self) -> SharedPoll<T> {
        let mut in_flight = lock(&self.source.in_flight);
        if let Some(poll) = in_flight.as_ref() {
            return poll.clone();
        }
        let source = Arc::clone(&self.source);
        let task = tokio::spawn(Arc::clone(&source).poll_once());
        let poll = async move {
            match task.await {
                Ok(polled) => polled,
                Err(aborted) => source.failed(&aborted, Cause::Failing),
            }
        };
        let poll = poll.boxed().shared();
        *in_flight = Some(poll.clone());
        poll
    }
}

impl<T: Serialize + Send + Sync + 'static> Poller for SourceHandle<T> {
    fn name(&self) -> &'static str {
        self.source.spec.name
    }

    fn interval(&self) -> Duration {
        self.source.spec.interval
    }

    fn tick(&self) -> BoxFuture<'static, TickOutcome> {
        if let Some(replicated) = &self.source.replicated
            && !replicated.replication.leads(self.source.spec.name)
        {
            return replica::follow(self.clone()).boxed();
        }
        self.poll().map(|(outcome, _)| outcome).boxed()
    }
}

impl<T: Serialize + Send + Sync + 'static> Source<T> {
    /// One poll: fetch, then record the answer or the failure.
    async fn poll_once(self: Arc<Self>) -> Polled<T> {
        let _done = ClearInFlight(&self.in_flight);
        let fetch = AssertUnwindSafe(self.fetch()).catch_unwind();
        let (polled, changed) = match fetch.await {
            Ok(Ok(Fetched::Same)) => self.unchanged_raw(),
            Ok(Ok(Fetched::Items(items, raw_hash))) => {
                match digest::scope_digests(&items, self.spec.scope_of) {
                    Ok(digests) => self.succeeded(items, digests, raw_hash),
                    Err(error) => return self.failed(&error, Cause::Failing),
                }
            }
            Ok(Err(error)) => return self.failed(&error, Cause::of(&*error)),
            Err(_panic) => return self.failed(&"the fetch panicked", Cause::Failing),
        };
        if let Some(replicated) = &self.replicated {
            let handle = SourceHandle {
                source: Arc::clone(&self),
            };
            replica::share(&handle, replicated, polled.0).await;
        }
        self.announce(&changed);
        polled
    }

    /// Fetches the answer: parsed items (with the hash of the raw bytes, when fetched raw), or
    /// [`Fetched::Same`] when the raw bytes are those of the last good answer.
    async fn fetch(&self) -> Result<Fetched<T>, FetchError> {
        let Some(raw) = &self.spec.raw else {
            return Ok(Fetched::Items((self.spec.fetch)().await?, None));
        };
        let bytes = (raw.fetch)().await?;
        let hash = xxhash_rust::xxh3::xxh3_64(&bytes);
        let same = {
            let state = lock(&self.state);
            state.value.is_some() && state.raw_hash == Some(hash)
        };
        if same {
            return Ok(Fetched::Same);
        }
        Ok(Fetched::Items((raw.parse)(&bytes)?, Some(hash)))
    }

    /// The raw answer did not change: a success that keeps the value as it is.
    fn unchanged_raw(&self) -> (Polled<T>, Vec<Option<String>>) {
        let mut state = lock(&self.state);
        let failures = std::mem::take(&mut state.failures);
        state.last_success = Some(Instant::now());
        let value = state.value.clone();
        drop(state);
        if failures > 0 {
            tracing::info!(
                source = self.spec.name,
                failures,
                "upstream source recovered"
            );
        }
        match value {
            Some(value) => ((TickOutcome::Unchanged, Ok(value)), Vec::new()),
            None => (
                self.failed(&"the source lost its value", Cause::Failing),
                Vec::new(),
            ),
        }
    }

    /// Stores a changed answer; returns the scopes to announce. The first answer is stored
    /// silently: nobody can hold stale data yet.
    fn succeeded(
        &self,
        items: Vec<T>,
        digests: ScopeDigests,
        raw_hash: Option<u64>,
    ) -> (Polled<T>, Vec<Option<String>>) {
        let source = self.spec.name;
        let mut state = lock(&self.state);
        state.raw_hash = raw_hash;
        let failures = std::mem::take(&mut state.failures);
        state.last_success = Some(Instant::now());
        let changed = match &state.value {
            Some(_) => digest::changed_scopes(&state.digests, &digests),
            None => Vec::new(),
        };
        let (outcome, value) = match &state.value {
            Some(value) if changed.is_empty() => (TickOutcome::Unchanged, Arc::clone(value)),
            previous => {
                let outcome = match previous {
                    None => TickOutcome::First,
                    Some(_) => TickOutcome::Changed {
                        scopes: changed.len(),
                    },
                };
                let value = Arc::new(items);
                state.value = Some(Arc::clone(&value));
                state.json = Arc::new(OnceCell::new());
                state.digests = digests;
                (outcome, value)
            }
        };
        drop(state);
        if failures > 0 {
            tracing::info!(source, failures, "upstream source recovered");
        }
        if !changed.is_empty() {
            tracing::debug!(source, scopes = changed.len(), "upstream source changed");
        }
        ((outcome, Ok(value)), changed)
    }

    /// Announces each changed scope.
    fn announce(&self, changed: &[Option<String>]) {
        for scope in changed {
            self.updates.notify(self.spec.update_type, scope.as_deref());
        }
    }

    /// Counts a failure, keeps the last good value, and logs only the transition to down.
    fn failed(&self, error: &dyn fmt::Display, cause: Cause) -> Polled<T> {
        let source = self.spec.name;
        let message = error.to_string();
        let mut state = lock(&self.state);
        state.failures = state.failures.saturating_add(1);
        let consecutive = state.failures;
        state.last_error = Some(message.clone());
        state.last_cause = Some(cause);
        drop(state);
        if consecutive == 1 {
            tracing::warn!(source, ?cause, error = %message, "upstream source down");
        }
        let error = SourceError {
            name: source,
            message: message.into(),
            cause,
        };
        (TickOutcome::Failed { consecutive }, Err(error))
    }
}

/// What a fetch brought.
enum Fetched<T> {
    /// The raw answer is byte for byte the last good one: nothing to parse.
    Same,
    /// Parsed items, with the hash of their raw answer when the source is fetched raw.
    Items(Vec<T>, Option<u64>),
}

/// Empties the in-flight slot when a poll ends, even by panic, so the next caller starts anew.
struct ClearInFlight<'a, P>(&'a Mutex<Option<P>>);

impl<P> Drop for ClearInFlight<'_, P> {
    fn drop(&mut self) {
        *lock(self.0) = None;
    }
}

/// Locks `mutex`, ignoring poisoning: every critical section leaves its data consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
