//! How a simulator behaves: its pace, its background activity and its seeded inventory.

use std::time::Duration;

/// Settings of one simulator. The listen address is not here: callers bind the listener.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// How often the clock advances builds and status transitions by one step.
    pub tick: Duration,
    /// Background actions by "other users" per second (create, delete, start, stop, attach…);
    /// `0.0` turns them off.
    pub activity_per_sec: f64,
    /// Seed of every identifier and choice, so two simulators with the same seed start equal.
    pub seed: u64,
    /// Lifetime of issued tokens (Keystone's default is one hour).
    pub token_ttl: Duration,
    /// Extra instances with long names and metadata, spread over the projects, for benchmarks
    /// that need a large list answer: about 2.3 KB each in the detailed list, so 4500 of them
    /// (with `max_page` raised to match) make a ~10 MB `servers/detail?all_tenants=1` answer.
    pub extra_instances: usize,
    /// Most items Nova returns in one list page (Nova's `max_limit`); longer lists carry a
    /// `servers_links` "next" link.
    pub max_page: usize,
    /// Upper bound on each project's servers, volumes, images and networks that background
    /// activity keeps to; it deletes rather than creates once a kind reaches it.
    pub inventory_cap: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            tick: Duration::from_millis(500),
            activity_per_sec: 0.2,
            seed: 42,
            token_ttl: Duration::from_secs(3600),
            extra_instances: 0,
            max_page: 1000,
            inventory_cap: 8,
        }
    }
}

impl SimConfig {
    /// A configuration for tests: no background activity, a clock too slow to interfere
    /// (tests advance it with `Sim::tick_now`).
    pub fn quiet() -> Self {
        Self {
            tick: Duration::from_secs(3600),
            activity_per_sec: 0.0,
            ..Self::default()
        }
    }
}
