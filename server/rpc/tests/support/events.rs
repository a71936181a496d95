//! Subscription events for the fixture procedures: notices, and streams counted while they are
//! alive, so tests can see when the engine drops one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::{Stream, StreamExt};
use serde::Serialize;
use tidings_rpc::{Event, EventStream, Notice};

/// A notice of `value`, tracked when it has an `id`.
pub fn notice<T: Serialize>(id: Option<String>, value: &T) -> Event {
    Event::Notice(Arc::new(
        Notice::new(id.map(Into::into), value).expect("encode"),
    ))
}

/// `stream`, counted in `live` from now until the engine drops it.
pub fn counted_in(
    live: &Arc<AtomicUsize>,
    stream: impl Stream<Item = Event> + Send + 'static,
) -> EventStream {
    let alive = Alive::new(live.clone());
    stream
        .map(move |event| {
            let _ = &alive;
            event
        })
        .boxed()
}

/// One in a count of live streams: adds itself when made, takes itself off when dropped.
struct Alive(Arc<AtomicUsize>);

impl Alive {
    fn new(count: Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
