//! Poll leases: one instance at a time polls each upstream source.
//!
//! A lease is a Redis key per source whose value is the holder's instance id, set with
//! `SET NX PX ttl` and renewed (PEXPIRE) by its holder every third of the TTL, in one script
//! call for every source. An instance counts a lease as its own only until `ttl` after the
//! renewal was *sent*: that is never later than Redis lets the key expire, so a holder that
//! cannot reach Redis stops polling before anyone else can take over, and two instances never
//! poll the same source at once. A crashed holder is replaced within the TTL (plus one renewal
//! period); a stopped one gives its leases back, and is replaced within one renewal period.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::lock;
use super::store::Store;

/// The leases this instance holds.
#[derive(Debug)]
pub(super) struct Leases {
    /// How long a lease lasts without renewal.
    ttl: Duration,
    /// What is held, until when.
    held: Mutex<Held>,
}

/// Held leases and until when they are certainly ours.
#[derive(Debug, Default)]
struct Held {
    /// The sources whose lease this instance holds.
    sources: HashSet<&'static str>,
    /// The latest renewal's send time plus the TTL: Redis keeps the keys at least that long.
    until: Option<Instant>,
}

impl Leases {
    /// No lease held yet.
    pub(super) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            held: Mutex::new(Held::default()),
        }
    }

    /// Whether this instance holds `source`'s lease now.
    pub(super) fn leads(&self, source: &str) -> bool {
        let held = lock(&self.held);
        held.until.is_some_and(|until| Instant::now() < until) && held.sources.contains(source)
    }

    /// Records a renewal sent at `sent`; returns the leases newly taken.
    fn renewed(
        &self,
        sent: Instant,
        sources: &[&'static str],
        flags: &[bool],
    ) -> Vec<&'static str> {
        let now: HashSet<&'static str> = sources
            .iter()
            .zip(flags)
            .filter(|(_, held)| **held)
            .map(|(source, _)| *source)
            .collect();
        let mut held = lock(&self.held);
        let was_valid = held.until.is_some_and(|until| Instant::now() < until);
        let before = if was_valid {
            std::mem::take(&mut held.sources)
        } else {
            HashSet::new()
        };
        let mut taken: Vec<_> = now.difference(&before).copied().collect();
        let mut lost: Vec<_> = before.difference(&now).copied().collect();
        held.sources = now;
        held.until = Some(sent + self.ttl);
        drop(held);
        taken.sort_unstable();
        lost.sort_unstable();
        if !taken.is_empty() {
            tracing::info!(sources = ?taken, "poll leases taken");
        }
        if !lost.is_empty() {
            tracing::info!(sources = ?lost, "poll leases lost");
        }
        taken
    }

    /// Forgets every lease (they are being given back).
    fn clear(&self) {
        *lock(&self.held) = Held::default();
    }
}

/// Takes and renews the leases of `sources` every third of the TTL until `stop`, then gives
/// them back. `taken` hears of each lease newly taken (its holder republishes its snapshot).
pub(super) async fn run(
    store: Arc<Store>,
    leases: Arc<Leases>,
    sources: Vec<&'static str>,
    taken: impl Fn(&'static str),
    stop: CancellationToken,
) {
    let every = (leases.ttl / 3).max(Duration::from_millis(10));
    loop {
        let sent = Instant::now();
        let renewal = tokio::time::timeout(every, store.renew_leases(&sources, leases.ttl));
        match renewal.await {
            Ok(Ok(flags)) => {
                store.health.ok();
                for source in leases.renewed(sent, &sources, &flags) {
                    taken(source);
                }
            }
            Ok(Err(error)) => store.health.failed(&error),
            // Slow, not necessarily down: the held set simply runs out at its deadline.
            Err(_elapsed) => tracing::debug!("lease renewal timed out"),
        }
        let rest = every.saturating_sub(sent.elapsed());
        if stop
            .run_until_cancelled(tokio::time::sleep(rest))
            .await
            .is_none()
        {
            break;
        }
    }
    leases.clear();
    let release = store.release_leases(&sources);
    match tokio::time::timeout(Duration::from_secs(1), release).await {
        Ok(Ok(())) => tracing::debug!("poll leases released"),
        Ok(Err(error)) => tracing::debug!(error = %error, "poll leases not released; they expire"),
        Err(_) => tracing::debug!("poll leases not released in time; they expire"),
    }
}
