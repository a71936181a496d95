//! Filtered views of the polled lists, serialized once per (list version, visibility, project
//! filter) and shared by every request that asks for the same one.
//!
//! An administrator's unfiltered list is the source's own JSON. Everyone else sees a subset
//! (their projects, plus what is public); without this cache, every member of a project would
//! filter and serialize the same list again on each refetch after a notice.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use bytes::Bytes;
use tidings_rpc::RpcError;

/// Most views kept; past it the cache starts over (each view is remade on its next request).
const MAX_VIEWS: usize = 4096;

/// Which view of which list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    /// The source's name.
    source: &'static str,
    /// [`crate::auth::visibility::Visibility::key`] of the sessions that share it.
    visibility: u64,
    /// The `projectId` filter of the request, if any.
    project: Option<String>,
}

/// A serialized view and the list value it was made from.
struct View {
    /// The list it was made from. Weak: an old list is not kept alive, and while this exists
    /// its allocation cannot be reused by a newer list (no ABA on the pointer).
    of: Weak<dyn Any + Send + Sync>,
    bytes: Bytes,
    hash: u64,
}

/// The cache of views. Cheap to share behind an `Arc`.
#[derive(Default)]
pub struct Views {
    views: Mutex<HashMap<Key, View>>,
}

impl std::fmt::Debug for Views {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Views").field("len", &self.len()).finish()
    }
}

impl Views {
    /// How many views are cached.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The view of `list` (the value of source `source`) for `visibility` and `project`:
    /// cached if it was made from this very list value, else made by `make` (outside the lock;
    /// two simultaneous first requests may both make it) and cached. Returns the JSON and its
    /// xxh3 hash.
    pub fn get_or_make<T: Send + Sync + 'static>(
        &self,
        source: &'static str,
        visibility: u64,
        project: Option<&str>,
        list: &Arc<Vec<T>>,
        make: impl FnOnce(&[T]) -> Result<Vec<u8>, RpcError>,
    ) -> Result<(Bytes, u64), RpcError> {
        let key = Key {
            source,
            visibility,
            project: project.map(str::to_owned),
        };
        let current = Arc::as_ptr(list).cast::<()>();
        if let Some(view) = self.lock().get(&key)
            && view.of.as_ptr().cast::<()>() == current
            && view.of.strong_count() > 0
        {
            return Ok((view.bytes.clone(), view.hash));
        }
        let bytes = Bytes::from(make(list)?);
        let hash = xxhash_rust::xxh3::xxh3_64(&bytes);
        let erased: Arc<dyn Any + Send + Sync> = list.clone();
        let view = View {
            of: Arc::downgrade(&erased),
            bytes: bytes.clone(),
            hash,
        };
        let mut views = self.lock();
        if views.len() >= MAX_VIEWS && !views.contains_key(&key) {
            views.clear();
        }
        views.insert(key, view);
        Ok((bytes, hash))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, View>> {
        self.views.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evens(list: &[u32]) -> Result<Vec<u8>, RpcError> {
        let shown: Vec<u32> = list.iter().copied().filter(|n| n % 2 == 0).collect();
        serde_json::to_vec(&shown).map_err(RpcError::internal)
    }

    #[test]
    fn a_view_is_made_once_per_list_value_and_key() {
        let views = Views::default();
        let list = Arc::new(vec![1u32, 2, 3, 4]);
        let mut made = 0;
        for _ in 0..3 {
            let (bytes, _) = views
                .get_or_make("n", 7, None, &list, |l| {
                    made += 1;
                    evens(l)
                })
                .unwrap();
            assert_eq!(&bytes[..], b"[2,4]");
        }
        assert_eq!(made, 1);
        // Another visibility or filter is another view.
        views
            .get_or_make("n", 8, None, &list, |l| {
                made += 1;
                evens(l)
            })
            .unwrap();
        views
            .get_or_make("n", 7, Some("p"), &list, |l| {
                made += 1;
                evens(l)
            })
            .unwrap();
        assert_eq!(made, 3);
        // A new value of the list is made again, even with equal contents.
        let newer = Arc::new(vec![1u32, 2, 3, 4, 6]);
        let (bytes, _) = views
            .get_or_make("n", 7, None, &newer, |l| {
                made += 1;
                evens(l)
            })
            .unwrap();
        assert_eq!(&bytes[..], b"[2,4,6]");
        assert_eq!(made, 4);
        assert_eq!(views.len(), 3);
    }

    #[test]
    fn an_old_list_is_not_kept_alive() {
        let views = Views::default();
        let list = Arc::new(vec![2u32]);
        views.get_or_make("n", 1, None, &list, evens).unwrap();
        let weak = Arc::downgrade(&list);
        drop(list);
        assert!(weak.upgrade().is_none());
    }
}
