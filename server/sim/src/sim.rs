//! The `Sim` handle: cheap to clone, shared by the HTTP handlers, the clock and tests.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::Serialize;

use crate::activity;
use crate::config::SimConfig;
use crate::faults::{self, Fault, FaultKind, Service};
use crate::keystone::Keystone;
use crate::model::identity::Identity;
use crate::model::{World, compute, image, volume};
use crate::seed;
use crate::stats::Stats;
use crate::time::Stamp;

/// A handle to one simulated cloud.
#[derive(Clone)]
pub struct Sim {
    shared: Arc<Shared>,
}

struct Shared {
    config: SimConfig,
    world: Mutex<World>,
    faults: Mutex<Vec<Fault>>,
    stats: Mutex<Stats>,
    /// The real Keystone it stands behind, if any.
    keystone: Option<Keystone>,
}

/// What one clock step did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TickOutcome {
    /// Resources whose state advanced (build progress, status changes, removals).
    pub transitions: usize,
    /// Background actions taken by "other users".
    pub actions: usize,
}

/// How many resources exist now, over all projects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ResourceCounts {
    /// Nova servers.
    pub servers: usize,
    /// Cinder volumes.
    pub volumes: usize,
    /// Glance images.
    pub images: usize,
    /// Neutron networks.
    pub networks: usize,
}

impl Sim {
    /// A new simulated cloud seeded from `config`. Behind a real Keystone
    /// (`config.keystone`), it starts with no project: each arrives with its first token,
    /// empty. [`Sim::connect`] takes Keystone's projects first and seeds them.
    pub fn new(config: SimConfig) -> Self {
        match &config.keystone {
            Some(keystone) => {
                let keystone = Keystone::new(keystone.clone());
                Self::build(config, Identity::default(), Some(keystone))
            }
            None => {
                let identity = Identity::seeded(config.seed);
                Self::build(config, identity, None)
            }
        }
    }

    /// A new simulated cloud seeded from `config`; behind a real Keystone, over that
    /// Keystone's projects (asked for with the simulator's service user, waiting a while for
    /// a Keystone that does not answer yet), each seeded like the simulator's own.
    pub async fn connect(config: SimConfig) -> std::io::Result<Self> {
        let Some(settings) = &config.keystone else {
            return Ok(Self::new(config));
        };
        let keystone = Keystone::new(settings.clone());
        let projects = keystone
            .connect_projects()
            .await
            .map_err(std::io::Error::other)?;
        let identity = projects.map(Identity::foreign).unwrap_or_default();
        tracing::info!(
            keystone = settings.url.as_str(),
            projects = identity.projects.len(),
            "behind a real Keystone"
        );
        Ok(Self::build(config, identity, Some(keystone)))
    }

    fn build(config: SimConfig, identity: Identity, keystone: Option<Keystone>) -> Self {
        let mut world = World::new(config.seed, identity);
        seed::populate(&mut world, &config);
        let shared = Shared {
            config,
            world: Mutex::new(world),
            faults: Mutex::new(Vec::new()),
            stats: Mutex::new(Stats::default()),
            keystone,
        };
        Self {
            shared: Arc::new(shared),
        }
    }

    /// The configuration it was created with.
    pub fn config(&self) -> &SimConfig {
        &self.shared.config
    }

    /// Advances the clock one step now: builds, transitions, token expiry and background actions.
    pub fn tick_now(&self) -> TickOutcome {
        let mut world = self.world();
        let transitions =
            compute::advance(&mut world) + volume::advance(&mut world) + image::advance(&mut world);
        world.identity.expire(Stamp::now());
        let config = self.config();
        world.activity_budget += config.activity_per_sec * config.tick.as_secs_f64();
        let mut actions = 0;
        while world.activity_budget >= 1.0 {
            world.activity_budget -= 1.0;
            activity::act(&mut world, config.inventory_cap);
            actions += 1;
        }
        TickOutcome {
            transitions,
            actions,
        }
    }

    /// Takes one background action now, whatever the configured rate; returns what it did.
    pub fn act_now(&self) -> String {
        activity::act(&mut self.world(), self.config().inventory_cap)
    }

    /// Adds a fault rule; rules are tried in the order they were added.
    pub fn inject(&self, fault: Fault) {
        lock(&self.shared.faults).push(fault);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// The fault rules in force.
    pub fn faults(&self) -> Vec<Fault> {
        lock(&self.shared.faults).clone()
    }

    /// Request counts since start or the last reset.
    pub fn stats(&self) -> Stats {
        lock(&self.shared.stats).clone()
    }

    /// Zeroes the request counts.
    pub fn reset_stats(&self) {
        *lock(&self.shared.stats) = Stats::default();
    }

    /// How many resources exist now.
    pub fn counts(&self) -> ResourceCounts {
        let world = self.world();
        ResourceCounts {
            servers: world.servers.len(),
            volumes: world.volumes.len(),
            images: world.images.len(),
            networks: world.networks.len(),
        }
    }

    /// The Keystone id of a project by name.
    pub fn project_id(&self, name: &str) -> Option<String> {
        self.world()
            .identity
            .project_named(name)
            .map(|p| p.id.clone())
    }

    /// The Keystone id of a user by name.
    pub fn user_id(&self, name: &str) -> Option<String> {
        self.world().identity.user_named(name).map(|u| u.id.clone())
    }

    /// Every token Keystone has issued and not revoked (tests look for them where they must
    /// not be, such as logs).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.world().identity.tokens.keys().cloned().collect()
    }

    /// Changes a user's password; whether the user exists.
    pub fn set_password(&self, user: &str, password: &str) -> bool {
        let mut world = self.world();
        let found = world.identity.users.iter_mut().find(|u| u.name == user);
        found.map(|u| u.password = password.to_owned()).is_some()
    }

    /// The real Keystone it stands behind, if any.
    pub(crate) fn keystone(&self) -> Option<&Keystone> {
        self.shared.keystone.as_ref()
    }

    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        lock(&self.shared.world)
    }

    pub(crate) fn record(&self, service: Service, method: &str, path: &str) {
        lock(&self.shared.stats).record(service.name(), method, path);
    }

    pub(crate) fn record_password(&self, user: &str, accepted: bool) {
        lock(&self.shared.stats).record_password(user, accepted);
    }

    pub(crate) fn record_control(&self, method: &str, path: &str) {
        lock(&self.shared.stats).record_control(method, path);
    }

    pub(crate) fn take_fault(&self, service: Service) -> Option<FaultKind> {
        faults::take(&mut lock(&self.shared.faults), service)
    }
}

/// Locks a mutex, carrying on after a panic elsewhere (the data stay usable for a simulator).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
