//! The UpdateService: one ordered log of "this changed" events, fanned out to every subscriber.
//!
//! Producers (the background worker, routers after a mutation) call [`UpdateService::notify`];
//! each emitted event gets the next id, is encoded once into an `Arc<Notice>`, kept in a bounded
//! log for replay and broadcast to every [`Subscription`]. A subscriber that falls behind, or
//! resumes from a point the log no longer holds, gets one resync notice instead of a gap.

mod coalesce;
mod kinds;
mod log;
mod remote;
mod subscription;
mod wire;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tidings_rpc::Notice;
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_stream::wrappers::BroadcastStream;

pub use kinds::{NoticeType, UpdateType};
pub use remote::{Outbox, Outgoing, RemoteFeed, Retained};
pub use subscription::{SubscribeRequest, Subscription};
pub use wire::{ResyncReason, UpdateNotice};

use crate::auth::visibility::Visibility;

use kinds::TypeSet;
use log::{EventLog, Logged, Resume};

/// Sizes and timing of the update bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateConfig {
    /// How many recent events are kept for replay to reconnecting clients.
    pub log_capacity: usize,
    /// How long an event is kept for replay; older ones are evicted (lazily, on the next
    /// emit or resume), and resuming from before them gets a resync.
    pub log_max_age: Duration,
    /// How many notices a subscriber may fall behind before it is sent a resync (minimum 1).
    pub subscriber_queue: usize,
    /// Bursts of the same (type, scope) inside this window collapse into a leading and a
    /// trailing notice. `Duration::ZERO` emits every notify.
    pub coalesce_window: Duration,
}

impl Default for UpdateConfig {
    fn default() -> Self {
        Self {
            log_capacity: 1024,
            log_max_age: Duration::from_secs(5 * 60),
            subscriber_queue: 256,
            coalesce_window: Duration::from_millis(50),
        }
    }
}

/// A snapshot of the bus counters, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UpdateStats {
    /// The id of the latest emitted event (0 before the first).
    pub last_event_id: u64,
    /// Live subscriptions.
    pub subscribers: usize,
    /// Notices emitted (each one encoded once, whatever the number of subscribers).
    pub emitted: u64,
    /// `notify` calls absorbed into another notice by coalescing.
    pub coalesced: u64,
    /// Resync notices sent to subscribers (lagged or gap).
    pub resyncs: u64,
    /// Notices dropped from the queues of subscribers that fell behind (each gap is then
    /// covered by one resync).
    pub dropped: u64,
}

/// The update bus. Cheap to clone; every clone is the same bus.
#[derive(Clone)]
pub struct UpdateService {
    inner: Arc<Inner>,
}

/// The state shared by the service handles, its coalescing timers and its subscriptions.
struct Inner {
    /// The configuration it was built with.
    config: UpdateConfig,
    /// The log and the broadcast sender, under one lock so that a subscriber's replay snapshot
    /// and its live receiver meet without gap or overlap.
    bus: Mutex<Bus>,
    /// The latest event id, readable without the lock.
    last_id: AtomicU64,
    /// Open coalescing windows: (type, scope) → whether a trailing notice is owed.
    windows: Mutex<HashMap<coalesce::Key, bool>>,
    /// The latest resync notice per reason, reused while the latest id has not moved.
    resync_cache: Mutex<[CachedResync; 2]>,
    /// Live subscriptions.
    subscribers: AtomicUsize,
    /// Notices emitted.
    emitted: AtomicU64,
    /// Notify calls absorbed by coalescing.
    coalesced: AtomicU64,
    /// Resync notices sent.
    resyncs: AtomicU64,
    /// Notices dropped from lagging subscribers' queues.
    dropped: AtomicU64,
    /// On a shared bus, where emitted notices go to be numbered and logged (see [`remote`]);
    /// `None` for the in-process bus, which numbers and delivers them itself.
    outbox: Option<tokio::sync::mpsc::UnboundedSender<Outgoing>>,
}

/// A resync notice and the event id it is tracked with.
type CachedResync = Option<(u64, Arc<Notice>)>;

/// The ordered part of the bus.
struct Bus {
    log: EventLog,
    sender: broadcast::Sender<Logged>,
}

impl UpdateService {
    /// A new, empty in-process bus.
    pub fn new(config: UpdateConfig) -> Self {
        Self::with_outbox(config, None)
    }

    /// A bus whose notices are numbered elsewhere when `outbox` is set.
    fn with_outbox(
        config: UpdateConfig,
        outbox: Option<tokio::sync::mpsc::UnboundedSender<Outgoing>>,
    ) -> Self {
        let (sender, _) = broadcast::channel(config.subscriber_queue.max(1));
        let bus = Bus {
            log: EventLog::new(config.log_capacity, config.log_max_age),
            sender,
        };
        let inner = Inner {
            config,
            bus: Mutex::new(bus),
            last_id: AtomicU64::new(0),
            windows: Mutex::new(HashMap::new()),
            resync_cache: Mutex::new([None, None]),
            subscribers: AtomicUsize::new(0),
            emitted: AtomicU64::new(0),
            coalesced: AtomicU64::new(0),
            resyncs: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            outbox,
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Announces that resources of type `ty` changed, within project `scope` (`None`: global).
    ///
    /// Synchronous and cheap. Bursts of the same (type, scope) are coalesced (see
    /// [`UpdateConfig::coalesce_window`]); coalescing needs a tokio runtime, and without one
    /// every call is emitted.
    pub fn notify(&self, ty: UpdateType, scope: Option<&str>) {
        coalesce::notify(&self.inner, ty, scope);
    }

    /// Opens a subscription that sees every notice: the replay requested by
    /// `request.last_event_id` (or a resync when it cannot be replayed), then every live
    /// notice, filtered by `request.types`.
    pub fn subscribe(&self, request: SubscribeRequest) -> Subscription {
        self.subscribe_as(request, Visibility::All)
    }

    /// [`UpdateService::subscribe`] for a subscriber that may only see notices scoped to its
    /// projects (and global ones): the others are neither replayed nor delivered.
    pub fn subscribe_as(&self, request: SubscribeRequest, visibility: Visibility) -> Subscription {
        let types = TypeSet::new(request.types.as_deref());
        let mut backlog = VecDeque::new();
        let mut bus = lock(&self.inner.bus);
        let current = self.inner.last_id.load(Ordering::Acquire);
        let receiver = bus.sender.subscribe();
        let resume = bus
            .log
            .resume(request.last_event_id.as_deref(), current, Instant::now());
        if let Resume::After(seen) = resume {
            let replay = bus
                .log
                .after(seen)
                .filter(|event| event.ty.is_some_and(|ty| types.contains(ty)))
                .filter(|event| visibility.sees(event.scope.as_deref()));
            backlog.extend(replay.map(|event| Arc::clone(&event.notice)));
        }
        drop(bus);
        if resume == Resume::Resync {
            backlog.push_back(self.inner.resync(ResyncReason::Gap, current));
        }
        self.inner.subscribers.fetch_add(1, Ordering::Relaxed);
        let live = BroadcastStream::new(receiver);
        Subscription::new(
            Arc::clone(&self.inner),
            backlog,
            live,
            current,
            types,
            visibility,
        )
    }

    /// The id of the latest emitted event (0 before the first).
    pub fn last_event_id(&self) -> u64 {
        self.inner.last_id.load(Ordering::Acquire)
    }

    /// How many subscriptions are alive.
    pub fn subscriber_count(&self) -> usize {
        self.inner.subscribers.load(Ordering::Relaxed)
    }

    /// The counters, for metrics.
    pub fn stats(&self) -> UpdateStats {
        UpdateStats {
            last_event_id: self.last_event_id(),
            subscribers: self.subscriber_count(),
            emitted: self.inner.emitted.load(Ordering::Relaxed),
            coalesced: self.inner.coalesced.load(Ordering::Relaxed),
            resyncs: self.inner.resyncs.load(Ordering::Relaxed),
            dropped: self.inner.dropped.load(Ordering::Relaxed),
        }
    }
}

impl Inner {
    /// Emits one event now: in-process, the next id, then [`Inner::deliver`]; on a shared bus,
    /// off to the outbox, to come back numbered through [`RemoteFeed::deliver`].
    fn emit(&self, ty: UpdateType, scope: Option<&str>) {
        if let Some(outbox) = &self.outbox {
            // Closed only when the bus task is gone (shutdown): nothing to deliver to then.
            let _ = outbox.send(Outgoing {
                ty,
                scope: scope.map(Box::from),
            });
            return;
        }
        let bus = lock(&self.bus);
        let event_id = self.last_id.load(Ordering::Relaxed) + 1;
        self.deliver(bus, event_id, ty, scope);
    }

    /// Delivers event `event_id` (the one after the latest): encoded once, logged, broadcast.
    /// The one place notices are traced.
    fn deliver(
        &self,
        mut bus: MutexGuard<'_, Bus>,
        event_id: u64,
        ty: UpdateType,
        scope: Option<&str>,
    ) {
        let event = Logged {
            id: event_id,
            ty: Some(ty),
            notice: wire::change(event_id, ty, scope),
            scope: scope.map(Arc::from),
        };
        bus.log.push(event.clone(), Instant::now());
        // No receiver is not an error: nobody is listening right now.
        let _ = bus.sender.send(event);
        self.last_id.store(event_id, Ordering::Release);
        drop(bus);
        self.emitted.fetch_add(1, Ordering::Relaxed);
        tracing::info!(event_id, r#type = ty.as_str(), scope, "notice");
    }

    /// A resync notice tracked with `id`, shared by every subscriber resynced at that id.
    fn resync(&self, reason: ResyncReason, id: u64) -> Arc<Notice> {
        self.resyncs.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(event_id = id, reason = reason.as_str(), "resync");
        let mut cache = lock(&self.resync_cache);
        let slot = &mut cache[reason as usize];
        match slot {
            Some((cached, notice)) if *cached == id => Arc::clone(notice),
            _ => Arc::clone(&slot.insert((id, wire::resync(id, reason))).1),
        }
    }
}

/// Locks `mutex`, ignoring poisoning: every critical section leaves its data consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
