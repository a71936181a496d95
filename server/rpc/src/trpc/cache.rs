//! HTTP caching of query responses: a strong ETag over the response content, `304 Not
//! Modified` on revalidation, and compressed variants (zstd, br, gzip) made once per content and
//! encoding and shared by every client that asks for them.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header};
use tokio::sync::OnceCell;
use xxhash_rust::xxh3::Xxh3;

/// A content coding the server can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// Zstandard (level 3).
    Zstd,
    /// Brotli (quality 5).
    Br,
    /// gzip (level 6).
    Gzip,
}

impl Encoding {
    /// The `content-encoding` token.
    pub fn token(self) -> &'static str {
        match self {
            Encoding::Zstd => "zstd",
            Encoding::Br => "br",
            Encoding::Gzip => "gzip",
        }
    }

    fn compress(self, input: &[u8]) -> std::io::Result<Vec<u8>> {
        match self {
            Encoding::Zstd => zstd::bulk::compress(input, 3),
            Encoding::Br => {
                let mut out = Vec::with_capacity(input.len() / 8);
                {
                    let mut writer = brotli::CompressorWriter::new(&mut out, 64 * 1024, 5, 22);
                    writer.write_all(input)?;
                }
                Ok(out)
            }
            Encoding::Gzip => {
                let mut writer = flate2::write::GzEncoder::new(
                    Vec::with_capacity(input.len() / 6),
                    flate2::Compression::new(6),
                );
                writer.write_all(input)?;
                writer.finish()
            }
        }
    }
}

/// The best coding the client accepts (q > 0), preferring zstd, then br, then gzip at equal
/// weight; `None` for identity.
pub fn negotiate(headers: &HeaderMap) -> Option<Encoding> {
    let mut best: Option<(f32, u8, Encoding)> = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(text) = value.to_str() else { continue };
        for item in text.split(',') {
            let mut parts = item.split(';');
            let token = parts.next().unwrap_or("").trim();
            let q = parts
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let (rank, encoding) = match token.to_ascii_lowercase().as_str() {
                "zstd" => (3, Encoding::Zstd),
                "br" => (2, Encoding::Br),
                "gzip" | "x-gzip" => (1, Encoding::Gzip),
                _ => continue,
            };
            if q <= 0.0 {
                continue;
            }
            if best.is_none_or(|(bq, br, _)| (q, rank) > (bq, br)) {
                best = Some((q, rank, encoding));
            }
        }
    }
    best.map(|(_, _, encoding)| encoding)
}

/// The strong ETag for a content hash.
pub fn etag(hash: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{hash:016x}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// Whether `If-None-Match` names the ETag (or `*`); weak comparison, as for GET.
pub fn not_modified(headers: &HeaderMap, tag: &HeaderValue) -> bool {
    let tag = tag.as_bytes();
    headers.get_all(header::IF_NONE_MATCH).iter().any(|value| {
        value.as_bytes().split(|b| *b == b',').any(|candidate| {
            let candidate = candidate.trim_ascii();
            let candidate = candidate.strip_prefix(b"W/").unwrap_or(candidate);
            candidate == b"*" || candidate == tag
        })
    })
}

/// Hashes a response made of chunks (xxh3), mixing in whatever else identifies it.
pub fn hash_chunks<'a>(salt: u64, chunks: impl IntoIterator<Item = &'a [u8]>) -> u64 {
    let mut hasher = Xxh3::with_seed(salt);
    for chunk in chunks {
        hasher.update(chunk);
    }
    hasher.digest()
}

type Key = (u64, Encoding);

struct Entry {
    cell: Arc<OnceCell<Bytes>>,
    size: usize,
    used: u64,
    /// When it was last asked for.
    last: Instant,
}

/// How long a variant nobody asks for is kept. Contents are keyed by hash, so once a list
/// changes its old variants are never asked for again: without this they would sit until the
/// size budget pushed them out.
const IDLE: Duration = Duration::from_secs(60);

/// Compressed bodies by (content hash, encoding), bounded by total size, least recently used
/// evicted first, and dropped after [`IDLE`] unused. Concurrent requests for the same variant
/// share one compression.
pub struct CompressionCache {
    budget: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Key, Entry>,
    total: usize,
    clock: u64,
}

impl std::fmt::Debug for CompressionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompressionCache")
            .field("budget", &self.budget)
            .finish()
    }
}

impl CompressionCache {
    /// A cache holding at most `budget` bytes of compressed bodies.
    pub fn new(budget: usize) -> Self {
        Self {
            budget,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The compressed body for `hash`, compressing `body()` (on a blocking thread) only when no
    /// one has yet. `None` when compression failed (the caller sends identity).
    pub async fn get(
        &self,
        hash: u64,
        encoding: Encoding,
        body: impl FnOnce() -> Bytes,
    ) -> Option<Bytes> {
        self.get_tracked(hash, encoding, body)
            .await
            .map(|(bytes, _)| bytes)
    }

    /// [`CompressionCache::get`], also telling whether this call made the variant (`true`) or
    /// found it made.
    pub async fn get_tracked(
        &self,
        hash: u64,
        encoding: Encoding,
        body: impl FnOnce() -> Bytes,
    ) -> Option<(Bytes, bool)> {
        let cell = self.cell((hash, encoding));
        let made = AtomicBool::new(false);
        let made_here = &made;
        let compressed = cell
            .get_or_try_init(|| async move {
                made_here.store(true, Ordering::Relaxed);
                let body = body();
                tokio::task::spawn_blocking(move || encoding.compress(&body))
                    .await
                    .map_err(|e| std::io::Error::other(e.to_string()))?
                    .map(Bytes::from)
            })
            .await;
        match compressed {
            Ok(bytes) => {
                self.account((hash, encoding), bytes.len());
                Some((bytes.clone(), made.load(Ordering::Relaxed)))
            }
            Err(error) => {
                tracing::error!(error = %error, encoding = encoding.token(), "compression failed");
                None
            }
        }
    }

    fn cell(&self, key: Key) -> Arc<OnceCell<Bytes>> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.clock += 1;
        let used = inner.clock;
        let now = Instant::now();
        let entry = inner.entries.entry(key).or_insert_with(|| Entry {
            cell: Arc::new(OnceCell::new()),
            size: 0,
            used,
            last: now,
        });
        entry.used = used;
        entry.last = now;
        entry.cell.clone()
    }

    /// Records an entry's size once known and evicts least recently used entries over budget.
    fn account(&self, key: Key, size: usize) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(entry) = inner.entries.get_mut(&key) else {
            return;
        };
        if entry.size != 0 {
            return;
        }
        entry.size = size;
        inner.total += size;
        self.drop_idle(&mut inner, key);
        while inner.total > self.budget && inner.entries.len() > 1 {
            let Some((&oldest, _)) = inner
                .entries
                .iter()
                .filter(|(k, e)| **k != key && e.size > 0)
                .min_by_key(|(_, e)| e.used)
            else {
                break;
            };
            if let Some(evicted) = inner.entries.remove(&oldest) {
                inner.total -= evicted.size;
            }
        }
    }
}

impl CompressionCache {
    /// Drops every made variant unused for [`IDLE`] (but `keep`, just made).
    fn drop_idle(&self, inner: &mut Inner, keep: Key) {
        let mut freed = 0;
        inner.entries.retain(|k, e| {
            let idle = *k != keep && e.size > 0 && e.last.elapsed() >= IDLE;
            if idle {
                freed += e.size;
            }
            !idle
        });
        inner.total -= freed;
    }

    /// Bytes held by made variants.
    pub fn held_bytes(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, value.parse().unwrap());
        h
    }

    #[test]
    fn negotiation_prefers_q_then_zstd_br_gzip() {
        assert_eq!(
            negotiate(&headers(header::ACCEPT_ENCODING, "gzip, deflate, br, zstd")),
            Some(Encoding::Zstd)
        );
        assert_eq!(
            negotiate(&headers(header::ACCEPT_ENCODING, "gzip, br")),
            Some(Encoding::Br)
        );
        assert_eq!(
            negotiate(&headers(header::ACCEPT_ENCODING, "br;q=0.5, gzip")),
            Some(Encoding::Gzip)
        );
        assert_eq!(
            negotiate(&headers(header::ACCEPT_ENCODING, "gzip;q=0, identity")),
            None
        );
        assert_eq!(negotiate(&HeaderMap::new()), None);
    }

    #[test]
    fn if_none_match_forms() {
        let tag = etag(0xabc);
        assert!(not_modified(
            &headers(header::IF_NONE_MATCH, "\"0000000000000abc\""),
            &tag
        ));
        assert!(not_modified(
            &headers(header::IF_NONE_MATCH, "\"x\", W/\"0000000000000abc\""),
            &tag
        ));
        assert!(not_modified(&headers(header::IF_NONE_MATCH, "*"), &tag));
        assert!(!not_modified(
            &headers(header::IF_NONE_MATCH, "\"0000000000000abd\""),
            &tag
        ));
    }

    #[tokio::test]
    async fn compresses_once_and_round_trips() {
        let cache = CompressionCache::new(1 << 20);
        let body = Bytes::from("[".to_owned() + &"{\"a\":1},".repeat(1000) + "{}]");
        for encoding in [Encoding::Zstd, Encoding::Br, Encoding::Gzip] {
            let a = cache.get(1, encoding, || body.clone()).await.unwrap();
            let b = cache
                .get(1, encoding, || {
                    Bytes::from_static(b"ignored: already compressed")
                })
                .await
                .unwrap();
            assert_eq!(a, b, "{encoding:?} served from the cache");
            assert!(a.len() < body.len() / 5);
        }
        let gz = cache.get(1, Encoding::Gzip, || body.clone()).await.unwrap();
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut out).unwrap();
        assert_eq!(out, body);
        assert_eq!(
            zstd::decode_all(&cache.get(1, Encoding::Zstd, || body.clone()).await.unwrap()[..])
                .unwrap(),
            body
        );
    }

    #[tokio::test]
    async fn evicts_least_recently_used_over_budget() {
        let cache = CompressionCache::new(64);
        let body = |n: u8| Bytes::from(vec![n; 10_000]);
        cache.get(1, Encoding::Gzip, || body(1)).await.unwrap();
        cache.get(2, Encoding::Gzip, || body(2)).await.unwrap();
        cache.get(3, Encoding::Gzip, || body(3)).await.unwrap();
        let inner = cache.inner.lock().unwrap();
        assert!(
            inner.total <= 64 || inner.entries.len() == 1,
            "total {}",
            inner.total
        );
        assert!(inner.entries.contains_key(&(3, Encoding::Gzip)));
    }

    #[tokio::test(start_paused = true)]
    async fn variants_nobody_asks_for_are_dropped_after_a_while() {
        let cache = CompressionCache::new(64 << 20);
        let body = |n: u8| Bytes::from(vec![n; 10_000]);
        cache.get(1, Encoding::Gzip, || body(1)).await.unwrap();
        cache.get(2, Encoding::Br, || body(2)).await.unwrap();
        let both = cache.held_bytes();
        tokio::time::advance(IDLE / 2).await;
        // Still asked for: kept.
        cache.get(2, Encoding::Br, || body(2)).await.unwrap();
        tokio::time::advance(IDLE / 2 + Duration::from_secs(1)).await;
        // A new variant sweeps: 1 sat unused past IDLE, 2 did not.
        cache.get(3, Encoding::Gzip, || body(3)).await.unwrap();
        let inner = cache.inner.lock().unwrap();
        assert!(!inner.entries.contains_key(&(1, Encoding::Gzip)));
        assert!(inner.entries.contains_key(&(2, Encoding::Br)));
        assert!(inner.entries.contains_key(&(3, Encoding::Gzip)));
        assert!(inner.total < both + 1_000, "{} {both}", inner.total);
    }
}
