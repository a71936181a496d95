//! Coalescing: a burst of the same (type, scope) becomes one leading notice, emitted at once,
//! and at most one trailing notice per window, so the final state is always announced.
//!
//! A window opens on the first notify of a key. While it is open, further notifies only mark a
//! trailing notice as owed. When it closes, an owed notice is emitted and the window re-opens
//! (a sustained burst yields one notice per window); otherwise it is removed. Keys never wait
//! on each other.

use std::collections::hash_map::Entry;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::kinds::UpdateType;
use super::{Inner, lock};

/// A coalescing key: (type, scope).
pub(super) type Key = (UpdateType, Option<Box<str>>);

/// Emits now, or folds the call into the open window of its key.
pub(super) fn notify(inner: &Arc<Inner>, ty: UpdateType, scope: Option<&str>) {
    let window = inner.config.coalesce_window;
    let runtime = tokio::runtime::Handle::try_current();
    let (false, Ok(runtime)) = (window.is_zero(), runtime) else {
        inner.emit(ty, scope);
        return;
    };
    let mut windows = lock(&inner.windows);
    match windows.entry((ty, scope.map(Box::from))) {
        Entry::Occupied(mut open) => {
            if std::mem::replace(open.get_mut(), true) {
                inner.coalesced.fetch_add(1, Ordering::Relaxed);
            }
        }
        Entry::Vacant(vacant) => {
            let key = vacant.key().clone();
            vacant.insert(false);
            // Emitted under the windows lock, so it always precedes its trailing notice.
            inner.emit(ty, scope);
            runtime.spawn(close_windows(Arc::downgrade(inner), key, window));
        }
    }
}

/// Closes `key`'s window every `window`, emitting the owed trailing notice, until a window
/// passes with none owed.
async fn close_windows(inner: Weak<Inner>, key: Key, window: Duration) {
    loop {
        tokio::time::sleep(window).await;
        let Some(inner) = inner.upgrade() else { return };
        let mut windows = lock(&inner.windows);
        let Some(owed) = windows.get_mut(&key) else {
            return;
        };
        if !std::mem::take(owed) {
            windows.remove(&key);
            return;
        }
        inner.emit(key.0, key.1.as_deref());
    }
}
