//! The throttle of password and token guessing: an attempt is *reserved* before Keystone (or the
//! admin-token comparison) sees it and *settled* afterwards, so attempts in flight count against
//! the budget and no amount of concurrency gets more guesses through than the budget allows.
//!
//! Logins are counted in three scopes at once, and an attempt passes only if all three have room:
//! - (user name, client address): a few failures per window, then refusals whose delay doubles
//!   with each further lockout. A success clears this scope alone, so a flood from one address
//!   neither locks out the real user elsewhere nor is reset by the real user's success.
//! - client address, any user name: password spraying from one address.
//! - everything: a ceiling on the guesses Keystone checks, whoever sends them.
//!
//! There is deliberately no budget per user name across addresses: it is exactly the lever that
//! let anyone lock any user out. IPv6 clients are counted per /64, the least a host is given.
//! `admin.notify` tokens are counted per client address the same way.
//!
//! The counters live behind [`Ledger`], so that several instances can share them (with
//! `--bus redis://…` the cluster's ledger runs reserve and settle as scripts in Redis);
//! [`MemoryLedger`] keeps them in this process.

mod memory;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tidings_rpc::{ErrorCode, RpcError};

pub use memory::MemoryLedger;

/// The limits of the throttle.
#[derive(Debug, Clone)]
pub struct ThrottleConfig {
    /// The window failures are counted in; the first lockout lasts this long.
    pub window: Duration,
    /// Failed (or in-flight) logins of one user name from one address per window.
    pub per_user_ip: u32,
    /// Failed (or in-flight) logins from one address per window, whatever the user name.
    pub per_ip: u32,
    /// Failed (or in-flight) logins per window over all clients.
    pub global: u32,
    /// The longest lockout: each lockout of a scope doubles the last, up to this. A scope quiet
    /// for this long starts again from one window.
    pub max_lockout: Duration,
    /// Failed (or in-flight) `admin.notify` tokens from one address per window.
    pub admin_per_ip: u32,
    /// Most scopes remembered at once (the oldest quiet ones are forgotten first).
    pub max_records: usize,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(60),
            per_user_ip: 5,
            per_ip: 30,
            global: 1000,
            max_lockout: Duration::from_secs(3600),
            admin_per_ip: 5,
            max_records: 100_000,
        }
    }
}

/// A client as the throttle counts it: its address, IPv6 reduced to its /64; `None` for calls
/// made in-process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(Option<IpAddr>);

impl ClientKey {
    /// The key of a client at `ip`.
    pub fn of(ip: Option<IpAddr>) -> Self {
        Self(ip.map(|ip| match ip {
            IpAddr::V6(v6) => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(prefix.into())
            }
            v4 => v4,
        }))
    }
}

/// What an attempt is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Logins of one user name from one client.
    UserAt(Arc<str>, ClientKey),
    /// Logins from one client, any user name.
    Client(ClientKey),
    /// Every login.
    Everyone,
    /// `admin.notify` tokens from one client.
    AdminToken(ClientKey),
}

/// One scope of an attempt and its rules.
#[derive(Debug, Clone)]
pub struct Budget {
    /// What is counted.
    pub scope: Scope,
    /// Failures plus attempts in flight allowed per window.
    pub limit: u32,
    /// Whether running out locks the scope for a delay that doubles with each lockout (else it
    /// waits for the window to end).
    pub escalates: bool,
    /// Whether a success clears the scope's failures and lockouts.
    pub cleared_by_success: bool,
}

/// An attempt: every budget it is counted against.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// Tells this attempt from others in flight (random).
    pub id: u64,
    /// Its budgets; all must have room.
    pub budgets: Vec<Budget>,
}

/// How a reserved attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Right credentials.
    Success,
    /// Wrong credentials (or an attempt abandoned after it may have been checked).
    Failure,
    /// Nothing was learnt (the upstream failed): the attempt is not counted.
    Neutral,
}

/// Why an attempt was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The scope that had no room.
    pub scope: Scope,
    /// When to try again.
    pub retry_after: Duration,
}

/// Where the counters live: reserve checks and counts an attempt in every scope as one step.
pub trait Ledger: Send + Sync {
    /// Refuses `attempt` if any of its budgets is spent or locked; otherwise counts it in flight
    /// in every one, atomically.
    fn reserve<'a>(&'a self, attempt: &'a Attempt) -> BoxFuture<'a, Result<(), Refusal>>;
    /// Ends a reserved attempt (called exactly once per successful reserve).
    fn settle(&self, attempt: &Attempt, outcome: Outcome);
}

/// The throttle of logins and admin tokens.
#[derive(Clone)]
pub struct Throttle {
    config: ThrottleConfig,
    ledger: Arc<dyn Ledger>,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Throttle {
    /// A throttle whose counters live in this process.
    pub fn new(config: ThrottleConfig) -> Self {
        let ledger = Arc::new(MemoryLedger::new(&config));
        Self::with_ledger(config, ledger)
    }

    /// A throttle over `ledger`.
    pub fn with_ledger(config: ThrottleConfig, ledger: Arc<dyn Ledger>) -> Self {
        Self { config, ledger }
    }

    /// Its limits.
    pub fn config(&self) -> &ThrottleConfig {
        &self.config
    }

    /// Reserves a login of `user` from `client`, or refuses it with `TOO_MANY_REQUESTS`.
    pub async fn login(&self, user: &str, client: Option<IpAddr>) -> Result<Reservation, RpcError> {
        let client = ClientKey::of(client);
        let c = &self.config;
        let attempt = Attempt {
            id: rand::random(),
            budgets: vec![
                budget(
                    Scope::UserAt(Arc::from(user), client),
                    c.per_user_ip,
                    true,
                    true,
                ),
                budget(Scope::Client(client), c.per_ip, true, false),
                budget(Scope::Everyone, c.global, false, false),
            ],
        };
        self.reserve(attempt).await
    }

    /// Reserves an `admin.notify` token check from `client`, or refuses it.
    pub async fn admin_token(&self, client: Option<IpAddr>) -> Result<Reservation, RpcError> {
        let scope = Scope::AdminToken(ClientKey::of(client));
        let attempt = Attempt {
            id: rand::random(),
            budgets: vec![budget(scope, self.config.admin_per_ip, true, true)],
        };
        self.reserve(attempt).await
    }

    async fn reserve(&self, attempt: Attempt) -> Result<Reservation, RpcError> {
        match self.ledger.reserve(&attempt).await {
            Ok(()) => Ok(Reservation {
                ledger: Arc::clone(&self.ledger),
                attempt,
                settled: false,
            }),
            Err(refusal) => {
                tracing::warn!(
                    scope = ?refusal.scope,
                    retry_after_s = refusal.retry_after.as_secs(),
                    "attempt refused by the throttle"
                );
                Err(refused(&refusal))
            }
        }
    }
}

fn budget(scope: Scope, limit: u32, escalates: bool, cleared_by_success: bool) -> Budget {
    Budget {
        scope,
        limit: limit.max(1),
        escalates,
        cleared_by_success,
    }
}

/// The refusal as the client sees it: which limit, and when to try again.
fn refused(refusal: &Refusal) -> RpcError {
    let what = match refusal.scope {
        Scope::UserAt(..) => "too many failed logins for this user name from your address",
        Scope::Client(_) => "too many failed logins from your address",
        Scope::Everyone => "too many failed logins on this server",
        Scope::AdminToken(_) => "too many invalid admin tokens from your address",
    };
    let wait = refusal.retry_after;
    let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    RpcError::new(
        ErrorCode::TooManyRequests,
        format!("{what}; try again in {seconds} s"),
    )
}

/// A reserved attempt. Settle it with [`Reservation::settle`]; dropped unsettled (the call was
/// cancelled, perhaps after the guess was checked) it counts as a failure.
pub struct Reservation {
    ledger: Arc<dyn Ledger>,
    attempt: Attempt,
    settled: bool,
}

impl std::fmt::Debug for Reservation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reservation")
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

impl Reservation {
    /// Ends the attempt with `outcome`.
    pub fn settle(mut self, outcome: Outcome) {
        self.settle_once(outcome);
    }

    fn settle_once(&mut self, outcome: Outcome) {
        if !std::mem::replace(&mut self.settled, true) {
            self.ledger.settle(&self.attempt, outcome);
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.settle_once(Outcome::Failure);
    }
}

#[cfg(test)]
mod tests;
