//! Request counts per service and per path, so tests can count the calls that reach upstream.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Requests received since start (or the last reset). The control API is counted apart, in
/// `control`, so that `total` stays the count of service requests.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// All service requests.
    pub total: u64,
    /// Requests per service name (`compute`, `volume`, …).
    pub by_service: BTreeMap<String, u64>,
    /// Requests per `METHOD /path` (no query string; the optional project segment of Nova and
    /// Cinder paths removed), e.g. `GET /compute/v2.1/servers/detail`.
    pub by_path: BTreeMap<String, u64>,
    /// Requests to the control API per `METHOD /path` (`GET /_sim/faults`, …): what reached it
    /// other than the tests that drive it, e.g. a client tricked into a path outside a service.
    #[serde(default)]
    pub control: BTreeMap<String, u64>,
    /// Password checks Keystone made (`POST /v3/auth/tokens` with the password method), per
    /// user name (or id) as given: how many guesses reached it.
    #[serde(default)]
    pub passwords: BTreeMap<String, PasswordChecks>,
}

/// The password checks of one user name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordChecks {
    /// Right passwords.
    pub accepted: u64,
    /// Wrong passwords (or an unknown user).
    pub refused: u64,
}

impl Stats {
    /// Requests to one service.
    pub fn service(&self, name: &str) -> u64 {
        self.by_service.get(name).copied().unwrap_or(0)
    }

    /// Requests to one `METHOD /path`.
    pub fn path(&self, method_and_path: &str) -> u64 {
        self.by_path.get(method_and_path).copied().unwrap_or(0)
    }

    /// The password checks of `user` (a name or an id, as given).
    pub fn password_checks(&self, user: &str) -> PasswordChecks {
        self.passwords.get(user).copied().unwrap_or_default()
    }

    pub(crate) fn record_password(&mut self, user: &str, accepted: bool) {
        let checks = self.passwords.entry(user.to_owned()).or_default();
        if accepted {
            checks.accepted += 1;
        } else {
            checks.refused += 1;
        }
    }

    /// Requests to one `METHOD /_sim/...` path of the control API.
    pub fn control(&self, method_and_path: &str) -> u64 {
        self.control.get(method_and_path).copied().unwrap_or(0)
    }

    pub(crate) fn record_control(&mut self, method: &str, path: &str) {
        *self.control.entry(format!("{method} {path}")).or_default() += 1;
    }

    pub(crate) fn record(&mut self, service: &str, method: &str, path: &str) {
        self.total += 1;
        *self.by_service.entry(service.to_owned()).or_default() += 1;
        *self.by_path.entry(format!("{method} {path}")).or_default() += 1;
    }
}
