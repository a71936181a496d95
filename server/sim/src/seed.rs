//! The seeded identity every simulator starts with, public so that tests and demos can log in,
//! and the deterministic initial inventory built from the seed number.

mod inventory;

pub(crate) use inventory::populate;

use xxhash_rust::xxh3::xxh3_128;

/// Keystone id of the one domain.
pub const DOMAIN_ID: &str = "default";
/// Name of the one domain.
pub const DOMAIN_NAME: &str = "Default";
/// The region of every catalog endpoint.
pub const REGION: &str = "RegionOne";

/// A seeded project.
#[derive(Clone, Copy, Debug)]
pub struct SeedProject {
    /// Project name (unique in the domain).
    pub name: &'static str,
    /// Project description.
    pub description: &'static str,
}

/// A seeded user, its password and its role grants as (project name, role name).
#[derive(Clone, Copy, Debug)]
pub struct SeedUser {
    /// Login name.
    pub name: &'static str,
    /// Password.
    pub password: &'static str,
    /// Roles granted, as (project name, role name).
    pub grants: &'static [(&'static str, &'static str)],
}

/// The seeded projects.
pub const PROJECTS: [SeedProject; 3] = [
    SeedProject {
        name: "admin",
        description: "Cloud administration",
    },
    SeedProject {
        name: "demo",
        description: "Demo workloads",
    },
    SeedProject {
        name: "ops",
        description: "Operations tooling",
    },
];

/// The seeded roles.
pub const ROLES: [&str; 3] = ["admin", "member", "reader"];

/// The cloud administrator: role `admin` on every project.
pub const ADMIN: SeedUser = SeedUser {
    name: "admin",
    password: "admin",
    grants: &[("admin", "admin"), ("demo", "admin"), ("ops", "admin")],
};
/// A member of `demo`.
pub const ALICE: SeedUser = SeedUser {
    name: "alice",
    password: "alice",
    grants: &[("demo", "member")],
};
/// A member of `ops`.
pub const BOB: SeedUser = SeedUser {
    name: "bob",
    password: "bob",
    grants: &[("ops", "member")],
};

/// A reader of `demo`: sees its resources, may change none.
pub const CAROL: SeedUser = SeedUser {
    name: "carol",
    password: "carol",
    grants: &[("demo", "reader")],
};

/// The seeded users.
pub const USERS: [SeedUser; 4] = [ADMIN, ALICE, BOB, CAROL];

/// Keystone id of a seeded project under a given seed (32 hex digits, like keystone's).
pub fn project_id(seed: u64, project: &str) -> String {
    keystone_id(seed, "project", project)
}

/// Keystone id of a seeded user under a given seed.
pub fn user_id(seed: u64, user: &str) -> String {
    keystone_id(seed, "user", user)
}

/// Keystone id of a seeded role under a given seed.
pub fn role_id(seed: u64, role: &str) -> String {
    keystone_id(seed, "role", role)
}

fn keystone_id(seed: u64, kind: &str, name: &str) -> String {
    format!(
        "{:032x}",
        xxh3_128(format!("{seed}/{kind}/{name}").as_bytes())
    )
}
