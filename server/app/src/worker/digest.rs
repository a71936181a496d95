//! Content digests of an upstream answer, one per scope, so a change is noticed only where it
//! happened.
//!
//! Each item is serialized with serde_json straight into an xxh3 hasher (no intermediate
//! buffer). A scope's digest hashes its items' digests in sorted order: the answer is
//! normalized, so the order upstream happens to list items in is not a change.

use std::collections::HashMap;
use std::io;

use serde::Serialize;
use xxhash_rust::xxh3::Xxh3;

/// One digest per scope; the key `None` is the group of unscoped (global) items.
pub(super) type ScopeDigests = HashMap<Option<String>, u64>;

/// The digests of `items`, grouped by `scope_of`.
pub(super) fn scope_digests<T: Serialize>(
    items: &[T],
    scope_of: fn(&T) -> Option<&str>,
) -> Result<ScopeDigests, serde_json::Error> {
    let mut groups: HashMap<Option<&str>, Vec<u64>> = HashMap::new();
    for item in items {
        groups
            .entry(scope_of(item))
            .or_default()
            .push(item_digest(item)?);
    }
    let digests = groups.into_iter().map(|(scope, mut items)| {
        items.sort_unstable();
        let mut hasher = Xxh3::new();
        for digest in items {
            hasher.update(&digest.to_le_bytes());
        }
        (scope.map(str::to_owned), hasher.digest())
    });
    Ok(digests.collect())
}

/// The scopes whose digest differs between `old` and `new`, including scopes that
/// disappeared.
pub(super) fn changed_scopes(old: &ScopeDigests, new: &ScopeDigests) -> Vec<Option<String>> {
    let changed = new
        .iter()
        .filter(|(scope, digest)| old.get(*scope) != Some(digest));
    let gone = old.keys().filter(|scope| !new.contains_key(*scope));
    changed
        .map(|(scope, _)| scope)
        .chain(gone)
        .cloned()
        .collect()
}

/// The xxh3 digest of one item's JSON.
fn item_digest<T: Serialize>(item: &T) -> Result<u64, serde_json::Error> {
    let mut hasher = Xxh3::new();
    serde_json::to_writer(HashWriter(&mut hasher), item)?;
    Ok(hasher.digest())
}

/// Feeds written bytes into a hasher.
struct HashWriter<'a>(&'a mut Xxh3);

impl io::Write for HashWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
