//! How a simulator behaves: its pace, its background activity, its seeded inventory, and the
//! real Keystone it may stand behind.

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
    /// A real Keystone to stand behind: its tokens, projects and roles instead of the
    /// simulator's own identity service (which is then not served). `None`: the seeded one.
    pub keystone: Option<KeystoneConfig>,
}

/// How the simulator reaches a real Keystone and validates the tokens it issued.
///
/// The password is never logged: `Debug` prints it as `***`.
#[derive(Clone)]
pub struct KeystoneConfig {
    /// Keystone v3 root, e.g. `http://keystone:5000/v3`.
    pub url: String,
    /// The simulator's own service user. It validates every caller's token
    /// (`identity:validate_token`: the `service` or `admin` role) and lists the projects
    /// once at start (`identity:list_projects`: `admin`; without it, projects are taken up as
    /// their tokens arrive, with nothing in them).
    pub username: String,
    /// That user's password.
    pub password: String,
    /// The project its token is scoped to.
    pub project: String,
    /// Domain (by name) of the user and of the project.
    pub domain: String,
    /// How long a validation (valid or not) is trusted before Keystone is asked again; never
    /// past the token's own expiry. A revoked token is refused at most this long after.
    pub cache_ttl: Duration,
    /// Most validations kept; the ones that end soonest make room first.
    pub cache_size: usize,
    /// Time-out of each call to Keystone.
    pub timeout: Duration,
}

impl KeystoneConfig {
    /// A configuration with the usual defaults: `Default` domain, a 60 s cache of at most
    /// 10,000 tokens, 10 s time-out.
    pub fn new(
        url: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<String>,
        project: impl Into<String>,
    ) -> Self {
        Self {
            url: url.into().trim_end_matches('/').to_owned(),
            username: username.into(),
            password: password.into(),
            project: project.into(),
            domain: "Default".to_owned(),
            cache_ttl: Duration::from_secs(60),
            cache_size: 10_000,
            timeout: Duration::from_secs(10),
        }
    }
}

impl std::fmt::Debug for KeystoneConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeystoneConfig")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &"***")
            .field("project", &self.project)
            .field("domain", &self.domain)
            .field("cache_ttl", &self.cache_ttl)
            .field("cache_size", &self.cache_size)
            .field("timeout", &self.timeout)
            .finish()
    }
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
            keystone: None,
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
