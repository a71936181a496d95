//! The subscriptions of one connection: the ids in use, and the task that runs each one
//! (`started`, data, `stopped`; `error` then `stopped` when iteration fails; `error` alone when
//! setup fails).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::frame::Head;
use super::message::Id;
use super::outbox::Outbox;
use crate::event::Event;
use crate::procedure::{Ctx, RawInput, Registry};

/// The active subscription ids of a connection, each with the token that stops it. An id is
/// taken before setup starts and released right before `stopped` is sent, as tRPC does.
#[derive(Debug, Clone, Default)]
pub(super) struct Subscriptions(Arc<Mutex<HashMap<Id, CancellationToken>>>);

impl Subscriptions {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<Id, CancellationToken>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `id` is in use.
    pub(super) fn contains(&self, id: &Id) -> bool {
        self.map().contains_key(id)
    }

    /// How many ids are in use.
    pub(super) fn len(&self) -> usize {
        self.map().len()
    }

    /// Takes `id`; the returned token stops the subscription.
    pub(super) fn insert(&self, id: Id) -> CancellationToken {
        let token = CancellationToken::new();
        self.map().insert(id, token.clone());
        token
    }

    /// Releases `id`.
    pub(super) fn remove(&self, id: &Id) {
        self.map().remove(id);
    }

    /// `subscription.stop`: stops `id` if it is active; unknown ids are ignored.
    pub(super) fn stop(&self, id: &Id) {
        if let Some(token) = self.map().get(id) {
            token.cancel();
        }
    }
}

/// Everything one subscription task needs.
pub(super) struct Subscription<S> {
    /// Where the procedure comes from.
    pub registry: Arc<Registry<S>>,
    /// The connection's context.
    pub ctx: Ctx<S>,
    /// The procedure path.
    pub path: String,
    /// Its input.
    pub input: RawInput,
    /// The request id, released when the subscription ends.
    pub id: Id,
    /// The start of every frame for this id.
    pub head: Head,
    /// The socket's queue.
    pub outbox: Outbox,
    /// The connection's ids.
    pub ids: Subscriptions,
    /// Cancelled by `subscription.stop`.
    pub stop: CancellationToken,
}

impl<S: Clone + Send + Sync + 'static> Subscription<S> {
    /// Sets the subscription up and forwards its events until it completes, fails or is
    /// stopped. Aborting the task (the socket closed) drops the stream without a `stopped`.
    pub(super) async fn run(self) {
        let Self {
            registry,
            ctx,
            path,
            input,
            id,
            head,
            outbox,
            ids,
            stop,
        } = self;
        let setup = tokio::select! {
            setup = registry.subscribe(ctx, &path, input) => setup,
            () = stop.cancelled() => {
                ids.remove(&id);
                outbox.push(head.stopped());
                return;
            }
        };
        let mut stream = match setup {
            Ok(stream) => stream,
            Err(error) => {
                ids.remove(&id);
                outbox.push(head.error(&error, Some(&path)));
                return;
            }
        };
        outbox.push(head.started());
        loop {
            let event = tokio::select! {
                event = stream.next() => event,
                () = stop.cancelled() => break,
            };
            match event {
                Some(Event::Notice(notice)) => {
                    if !outbox.push(head.notice(&notice)) {
                        break;
                    }
                }
                Some(Event::Error(error)) => {
                    outbox.push(head.error(&error, Some(&path)));
                    break;
                }
                None => break,
            }
        }
        drop(stream);
        ids.remove(&id);
        outbox.push(head.stopped());
    }
}
