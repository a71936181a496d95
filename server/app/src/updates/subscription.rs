//! One subscriber's stream: replayed events first, then live ones, with a resync whenever the
//! subscriber cannot be brought up to date notice by notice.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, ready};

use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tidings_rpc::{Event, Notice};
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use super::Inner;
use super::kinds::{TypeSet, UpdateType};
use super::log::Logged;
use super::wire::ResyncReason;
use crate::auth::visibility::Visibility;

/// The input of `updates.subscribe`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SubscribeRequest {
    /// The id of the last notice the client saw (sent back by tRPC on reconnect); events after
    /// it are replayed, or a resync is sent when they no longer can be.
    #[serde(default)]
    #[specta(optional)]
    pub last_event_id: Option<String>,
    /// Only notices of these types (resync notices always pass); absent means every type.
    #[serde(default)]
    #[specta(optional)]
    pub types: Option<Vec<UpdateType>>,
}

/// A live subscription: a stream of [`Event::Notice`]s that never ends on its own.
///
/// Dropping it unsubscribes (and decrements [`super::UpdateService::subscriber_count`]).
pub struct Subscription {
    /// The service, for the latest id and the counters.
    inner: Arc<Inner>,
    /// Notices to deliver before live ones: an initial resync and/or the replay.
    backlog: VecDeque<Arc<Notice>>,
    /// Live events, from the broadcast channel.
    live: BroadcastStream<Logged>,
    /// The highest event id already covered: live events at or below it are skipped.
    floor: u64,
    /// Which update types the subscriber wants.
    types: TypeSet,
    /// Which scopes the subscriber may see.
    visibility: Visibility,
}

impl Subscription {
    /// Assembles a subscription; the caller has already counted it.
    pub(super) fn new(
        inner: Arc<Inner>,
        backlog: VecDeque<Arc<Notice>>,
        live: BroadcastStream<Logged>,
        floor: u64,
        types: TypeSet,
        visibility: Visibility,
    ) -> Self {
        Self {
            inner,
            backlog,
            live,
            floor,
            types,
            visibility,
        }
    }

    /// The subscriber fell behind: skip everything up to the present and tell it to resync.
    fn lagged(&mut self) -> Arc<Notice> {
        // The latest id, even below the floor: a restarted shared log counts from there.
        self.floor = self.inner.last_id.load(Ordering::Acquire);
        self.inner.resync(ResyncReason::Lagged, self.floor)
    }
}

impl Stream for Subscription {
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let this = self.get_mut();
        if let Some(notice) = this.backlog.pop_front() {
            return Poll::Ready(Some(Event::Notice(notice)));
        }
        loop {
            match ready!(this.live.poll_next_unpin(cx)) {
                None => return Poll::Ready(None),
                Some(Ok(event)) => {
                    let Some(ty) = event.ty else {
                        // The log restarted: resync, and follow the new ids from here.
                        this.floor = event.id;
                        return Poll::Ready(Some(Event::Notice(event.notice)));
                    };
                    if event.id <= this.floor {
                        continue;
                    }
                    this.floor = event.id;
                    if this.types.contains(ty) && this.visibility.sees(event.scope.as_deref()) {
                        return Poll::Ready(Some(Event::Notice(event.notice)));
                    }
                }
                Some(Err(BroadcastStreamRecvError::Lagged(skipped))) => {
                    this.inner.dropped.fetch_add(skipped, Ordering::Relaxed);
                    return Poll::Ready(Some(Event::Notice(this.lagged())));
                }
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.inner.subscribers.fetch_sub(1, Ordering::Relaxed);
    }
}
