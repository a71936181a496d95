//! The simulated cloud: every resource as a JSON object cloned from its sample, plus the identity
//! store. Handlers, the clock and background activity all work on one `World` under one lock.

pub(crate) mod compute;
pub(crate) mod identity;
pub(crate) mod image;
pub(crate) mod network;
pub(crate) mod volume;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::templates::{Object, Templates};
use crate::time::Stamp;
use identity::Identity;

/// One resource: its sample-shaped body and the bookkeeping the clock needs.
#[derive(Clone, Debug)]
pub(crate) struct Record {
    /// The resource id (also in `body`).
    pub id: String,
    /// The owning project (keystone id), used for visibility.
    pub project_id: String,
    /// The object as served, minus the links that depend on the request's host.
    pub body: Object,
    /// Clock ticks spent in the current transitional state.
    pub ticks: u32,
}

impl Record {
    /// Wraps a body, reading the id from it.
    pub(crate) fn new(project_id: &str, body: Object) -> Self {
        let id = body
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Self {
            id,
            project_id: project_id.to_owned(),
            body,
            ticks: 0,
        }
    }

    /// A string field, or "" when absent or not a string.
    pub(crate) fn str(&self, key: &str) -> &str {
        self.body
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// Sets one field.
    pub(crate) fn set(&mut self, key: &str, value: impl Into<Value>) {
        self.body.insert(key.to_owned(), value.into());
    }

    /// Sets a status-like field and restarts the tick count of the transition.
    pub(crate) fn enter(&mut self, key: &str, status: &str) {
        self.set(key, status);
        self.ticks = 0;
    }
}

/// Everything the simulator holds.
pub(crate) struct World {
    /// The parsed samples every object is cloned from.
    pub templates: Templates,
    /// Source of every id and choice, seeded from the configuration.
    pub rng: StdRng,
    /// Domain, projects, users, roles, assignments and issued tokens.
    pub identity: Identity,
    /// Nova servers, oldest first.
    pub servers: Vec<Record>,
    /// Nova keypairs; `project_id` holds the owning user's id (keypairs belong to users).
    pub keypairs: Vec<Record>,
    /// Nova server groups.
    pub server_groups: Vec<Record>,
    /// Cinder volumes.
    pub volumes: Vec<Record>,
    /// Cinder snapshots.
    pub snapshots: Vec<Record>,
    /// Cinder backups.
    pub backups: Vec<Record>,
    /// Glance images.
    pub images: Vec<Record>,
    /// Neutron networks.
    pub networks: Vec<Record>,
    /// Neutron subnets.
    pub subnets: Vec<Record>,
    /// Neutron ports.
    pub ports: Vec<Record>,
    /// Neutron routers.
    pub routers: Vec<Record>,
    /// Neutron floating IPs.
    pub floating_ips: Vec<Record>,
    /// Neutron security groups.
    pub security_groups: Vec<Record>,
    /// Neutron security group rules.
    pub security_group_rules: Vec<Record>,
    /// Number of the next Nova instance (`instance-0000000a`).
    pub next_instance: u64,
    /// Background actions owed but not yet taken (the rate is fractional per tick).
    pub activity_budget: f64,
}

impl World {
    /// An empty cloud with the given identity store.
    pub(crate) fn new(seed: u64, identity: Identity) -> Self {
        Self {
            templates: Templates::load(),
            rng: StdRng::seed_from_u64(seed),
            identity,
            servers: Vec::new(),
            keypairs: Vec::new(),
            server_groups: Vec::new(),
            volumes: Vec::new(),
            snapshots: Vec::new(),
            backups: Vec::new(),
            images: Vec::new(),
            networks: Vec::new(),
            subnets: Vec::new(),
            ports: Vec::new(),
            routers: Vec::new(),
            floating_ips: Vec::new(),
            security_groups: Vec::new(),
            security_group_rules: Vec::new(),
            next_instance: 1,
            activity_budget: 0.0,
        }
    }

    /// A fresh dashed UUID from the seeded generator.
    pub(crate) fn uuid(&mut self) -> String {
        uuid::Builder::from_random_bytes(self.rng.random())
            .into_uuid()
            .to_string()
    }

    /// `len` lowercase hex digits from the seeded generator.
    pub(crate) fn hex(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from_digit(self.rng.random_range(0..16), 16).unwrap_or('0'))
            .collect()
    }

    /// A MAC address in OpenStack's `fa:16:3e` range.
    pub(crate) fn mac(&mut self) -> String {
        let [a, b, c]: [u8; 3] = self.rng.random();
        format!("fa:16:3e:{a:02x}:{b:02x}:{c:02x}")
    }

    /// The current time.
    pub(crate) fn now(&self) -> Stamp {
        Stamp::now()
    }
}

/// Index of the record with this id.
pub(crate) fn position(records: &[Record], id: &str) -> Option<usize> {
    records.iter().position(|r| r.id == id)
}

/// The record with this id.
pub(crate) fn find<'a>(records: &'a [Record], id: &str) -> Option<&'a Record> {
    records.iter().find(|r| r.id == id)
}

/// The record with this id, mutably.
pub(crate) fn find_mut<'a>(records: &'a mut [Record], id: &str) -> Option<&'a mut Record> {
    records.iter_mut().find(|r| r.id == id)
}

/// A UUID that depends on `name` alone, for the things this simulator has exactly one of
/// (the hypervisor, the volume service) and ids derived from another id.
pub(crate) fn stable_uuid(name: &str) -> String {
    let hex = format!("{:032x}", xxhash_rust::xxh3::xxh3_128(name.as_bytes()));
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}
