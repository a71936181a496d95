//! The hooks of a shared bus (`--bus redis://…`, see [`crate::cluster`]): events are numbered
//! by the broker, so that every instance gives the same notice the same id, and come back to
//! each instance in the broker's order.
//!
//! Coalescing stays per instance: `notify` coalesces as in-process, and what it emits goes to
//! the [`Outbox`] instead of being numbered here. The broker's reader hands every numbered event
//! to [`RemoteFeed::deliver`], which keeps the local mirror of the shared log and fans out
//! exactly like the in-process bus: encoded once, bounded queues, resync on lag. Replay reads
//! the mirror, so a subscription's replay and its live tail still meet under one lock, without
//! a round trip to the broker. [`RemoteFeed::restart`] replaces the mirror when continuity with
//! the broker's log was lost, and resyncs every subscriber.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::log::Logged;
use super::wire::{self, ResyncReason};
use super::{Inner, SubscribeRequest, Subscription, UpdateConfig, UpdateService, UpdateType, lock};
use crate::auth::visibility::Visibility;

/// How long a resuming subscriber waits for this instance's mirror to reach an id the client
/// saw on another instance, before the id is taken for a gap.
const CATCH_UP: Duration = Duration::from_secs(1);

/// A coalesced notice on its way to the broker, which numbers it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Outgoing {
    /// What changed.
    pub ty: UpdateType,
    /// The project it changed in; `None` for global changes.
    pub scope: Option<Box<str>>,
}

/// An event of the broker's retained window, as a restarted mirror takes it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retained {
    /// The global event id.
    pub id: u64,
    /// What changed.
    pub ty: UpdateType,
    /// The project it changed in; `None` for global changes.
    pub scope: Option<String>,
    /// How long ago the broker logged it, by the broker's clock.
    pub age: Duration,
}

/// The notices this instance emits, in order, for the broker's publisher.
pub type Outbox = mpsc::UnboundedReceiver<Outgoing>;

/// The broker's side of a shared bus: delivers numbered events into the local fan-out.
#[derive(Clone)]
pub struct RemoteFeed {
    /// The bus it delivers into.
    inner: Arc<Inner>,
}

impl UpdateService {
    /// A bus whose events are numbered by a broker: what `notify` emits goes to the returned
    /// [`Outbox`], and only what the broker's reader passes to the [`RemoteFeed`] reaches
    /// subscribers.
    pub fn shared(config: UpdateConfig) -> (Self, RemoteFeed, Outbox) {
        let (sender, outbox) = mpsc::unbounded_channel();
        let service = Self::with_outbox(config, Some(sender));
        let feed = RemoteFeed {
            inner: Arc::clone(&service.inner),
        };
        (service, feed, outbox)
    }

    /// Like [`UpdateService::subscribe`], but on a shared bus a `lastEventId` ahead of this
    /// instance (seen on another instance an instant ago) is first given a moment to arrive,
    /// so that resuming on another instance replays instead of resyncing.
    pub async fn subscribe_caught_up(
        &self,
        request: SubscribeRequest,
        visibility: Visibility,
    ) -> Subscription {
        let seen = request
            .last_event_id
            .as_deref()
            .and_then(|id| id.trim().parse::<u64>().ok());
        if let (Some(seen), Some(_)) = (seen, &self.inner.outbox) {
            let deadline = tokio::time::Instant::now() + CATCH_UP;
            while self.last_event_id() < seen && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        self.subscribe_as(request, visibility)
    }
}

impl RemoteFeed {
    /// The id of the latest delivered event.
    pub fn last_event_id(&self) -> u64 {
        self.inner.last_id.load(Ordering::Acquire)
    }

    /// Delivers event `id` if it directly follows the latest one, and says whether it did; when
    /// it does not, nothing is delivered: the caller lost continuity and must
    /// [`RemoteFeed::restart`].
    pub fn deliver(&self, id: u64, ty: UpdateType, scope: Option<&str>) -> bool {
        let bus = lock(&self.inner.bus);
        if id != self.inner.last_id.load(Ordering::Relaxed) + 1 {
            return false;
        }
        self.inner.deliver(bus, id, ty, scope);
        true
    }

    /// Restarts the mirror at `position` (the broker's latest id), holding `window` (the
    /// broker's retained events, oldest first), and sends every subscriber one resync tracked
    /// with `position`. A window that is not consecutive up to `position` is dropped: resuming
    /// into it then resyncs, which is always safe. Events keep their age, so the mirror's
    /// replay window is the broker's, even on an instance that just joined.
    pub fn restart(&self, position: u64, window: Vec<Retained>) {
        let consecutive = window.last().is_none_or(|last| last.id == position)
            && window.windows(2).all(|pair| pair[1].id == pair[0].id + 1);
        let now = Instant::now();
        let mut bus = lock(&self.inner.bus);
        bus.log.clear();
        if consecutive {
            for event in window {
                let notice = wire::change(event.id, event.ty, event.scope.as_deref());
                let logged = Logged {
                    id: event.id,
                    ty: Some(event.ty),
                    notice,
                    scope: event.scope.as_deref().map(Arc::from),
                };
                bus.log
                    .push(logged, now.checked_sub(event.age).unwrap_or(now));
            }
            bus.log.expire(now);
        }
        let receivers = bus.sender.receiver_count();
        let marker = Logged {
            id: position,
            ty: None,
            notice: wire::resync(position, ResyncReason::Gap),
            scope: None,
        };
        // No receiver is not an error: nobody is listening right now.
        let _ = bus.sender.send(marker);
        self.inner.last_id.store(position, Ordering::Release);
        drop(bus);
        let resynced = u64::try_from(receivers).unwrap_or(u64::MAX);
        self.inner.resyncs.fetch_add(resynced, Ordering::Relaxed);
        tracing::debug!(event_id = position, resynced, "log restarted");
    }
}

#[cfg(test)]
mod tests {
    use futures::{FutureExt, StreamExt};
    use serde_json::{Value, json};
    use tidings_rpc::Event;

    use super::*;

    fn shared() -> (UpdateService, RemoteFeed, Outbox) {
        UpdateService::shared(UpdateConfig {
            log_capacity: 8,
            log_max_age: Duration::from_secs(60),
            subscriber_queue: 8,
            coalesce_window: Duration::ZERO,
        })
    }

    fn retained(id: u64, ty: UpdateType, age: Duration) -> Retained {
        Retained {
            id,
            ty,
            scope: None,
            age,
        }
    }

    fn drain(subscription: &mut Subscription) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        while let Some(Some(Event::Notice(notice))) = subscription.next().now_or_never() {
            let value = serde_json::from_slice(notice.json()).unwrap();
            out.push((notice.id().unwrap().to_owned(), value));
        }
        out
    }

    #[tokio::test]
    async fn notify_goes_to_the_outbox_and_only_delivered_events_reach_subscribers() {
        let (updates, feed, mut outbox) = shared();
        let mut live = updates.subscribe(SubscribeRequest::default());
        updates.notify(UpdateType::Volumes, Some("p1"));
        let out = outbox.try_recv().unwrap();
        assert_eq!(
            (out.ty, out.scope.as_deref()),
            (UpdateType::Volumes, Some("p1"))
        );
        assert!(drain(&mut live).is_empty(), "not numbered yet");
        assert!(feed.deliver(1, UpdateType::Volumes, Some("p1")));
        assert!(!feed.deliver(3, UpdateType::Images, None), "2 is missing");
        let got = drain(&mut live);
        assert_eq!(
            got,
            [("1".into(), json!({"type": "volumes", "scope": "p1"}))]
        );
        assert_eq!(updates.last_event_id(), 1);
    }

    #[tokio::test]
    async fn a_restart_resyncs_live_subscribers_and_follows_the_new_ids() {
        let (updates, feed, _outbox) = shared();
        for id in 1..=5 {
            assert!(feed.deliver(id, UpdateType::Compute, None));
        }
        let mut live = updates.subscribe(SubscribeRequest::default());
        // Redis lost the log; the new one starts lower than this mirror.
        let window = vec![
            retained(2, UpdateType::Images, Duration::ZERO),
            retained(3, UpdateType::Networks, Duration::ZERO),
        ];
        feed.restart(3, window);
        assert!(feed.deliver(4, UpdateType::Volumes, None));
        let got = drain(&mut live);
        assert_eq!(
            got,
            [
                ("3".into(), json!({"type": "resync", "reason": "gap"})),
                ("4".into(), json!({"type": "volumes"})),
            ]
        );
        // The mirror replays the new window.
        let resumed = SubscribeRequest {
            last_event_id: Some("2".into()),
            types: None,
        };
        let got = drain(&mut updates.subscribe(resumed));
        let ids: Vec<_> = got.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["3", "4"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_restarted_mirror_keeps_the_ages_of_the_brokers_window() {
        let (updates, feed, _outbox) = shared();
        // A cold instance joins a log whose oldest entries are past the minute it keeps.
        let window = vec![
            retained(4, UpdateType::Images, Duration::from_secs(90)),
            retained(5, UpdateType::Networks, Duration::from_secs(50)),
            retained(6, UpdateType::Volumes, Duration::from_secs(20)),
        ];
        feed.restart(6, window);
        let resume = |id: &str| SubscribeRequest {
            last_event_id: Some(id.into()),
            types: None,
        };
        let got = drain(&mut updates.subscribe(resume("3")));
        assert_eq!(
            got,
            [("6".into(), json!({"type": "resync", "reason": "gap"}))]
        );
        let got = drain(&mut updates.subscribe(resume("4")));
        let ids: Vec<_> = got.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["5", "6"]);
        // Twenty seconds on, event 5 is past the minute too.
        tokio::time::sleep(Duration::from_secs(20)).await;
        let got = drain(&mut updates.subscribe(resume("4")));
        assert_eq!(
            got,
            [("6".into(), json!({"type": "resync", "reason": "gap"}))]
        );
        let got = drain(&mut updates.subscribe(resume("5")));
        assert_eq!(got, [("6".into(), json!({"type": "volumes"}))]);
    }

    #[tokio::test]
    async fn a_resume_from_another_instance_waits_for_the_mirror_to_catch_up() {
        let (updates, feed, _outbox) = shared();
        assert!(feed.deliver(1, UpdateType::Compute, None));
        let request = SubscribeRequest {
            last_event_id: Some("2".into()),
            types: None,
        };
        let catching_up = tokio::spawn({
            let updates = updates.clone();
            async move { updates.subscribe_caught_up(request, Visibility::All).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(feed.deliver(2, UpdateType::Images, None));
        let mut resumed = catching_up.await.unwrap();
        assert!(feed.deliver(3, UpdateType::Volumes, None));
        let got = drain(&mut resumed);
        assert_eq!(got, [("3".into(), json!({"type": "volumes"}))]);
    }
}
