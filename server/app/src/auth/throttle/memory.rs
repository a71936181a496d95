//! The throttle's counters in this process: one map of scopes under one lock, bounded in size.
//!
//! Records are created only for attempts that were let through, and those are bounded by the
//! global budget, so an attacker cycling user names or addresses grows the map by at most that
//! much per window; past `max_records` the quiet records go first, then the least recently
//! seen, and a record with attempts in flight is never forgotten.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use super::{Attempt, Budget, Ledger, Outcome, Refusal, Scope, ThrottleConfig};

/// What is known of one scope.
#[derive(Debug, Clone, Copy)]
struct Record {
    /// Start of the window `failures` are counted in.
    window_start: Instant,
    /// Failures in the window.
    failures: u32,
    /// Attempts reserved and not yet settled.
    in_flight: u32,
    /// Lockouts so far; each lasts twice the last.
    lockouts: u32,
    /// Refused until then.
    locked_until: Option<Instant>,
    /// The end of the last failure or lockout; `lockouts` are forgotten `max_lockout` after it.
    calm_from: Instant,
    /// The last reserve or settle, for forgetting the least recently seen.
    last_seen: Instant,
}

impl Record {
    fn new(now: Instant) -> Self {
        Self {
            window_start: now,
            failures: 0,
            in_flight: 0,
            lockouts: 0,
            locked_until: None,
            calm_from: now,
            last_seen: now,
        }
    }

    /// Starts a new window, and forgets old lockouts, when their time has come.
    fn roll(&mut self, now: Instant, times: &Times) {
        if now.saturating_duration_since(self.window_start) >= times.window {
            self.window_start = now;
            self.failures = 0;
        }
        if self.locked_until.is_some_and(|until| until <= now) {
            self.locked_until = None;
        }
        if now.saturating_duration_since(self.calm_from) >= times.max_lockout {
            self.lockouts = 0;
        }
    }

    /// Why an attempt under `budget` cannot start now, if it cannot.
    fn refusal(&self, budget: &Budget, now: Instant, times: &Times) -> Option<Duration> {
        if let Some(until) = self.locked_until.filter(|until| *until > now) {
            return Some(until - now);
        }
        let spent = self.failures.saturating_add(self.in_flight) >= budget.limit;
        spent.then(|| (self.window_start + times.window).saturating_duration_since(now))
    }

    fn fail(&mut self, budget: &Budget, now: Instant, times: &Times) {
        self.failures = self.failures.saturating_add(1);
        self.calm_from = now;
        if budget.escalates && self.failures >= budget.limit {
            let doubling = 2u32.saturating_pow(self.lockouts.min(30));
            let lockout = times.window.saturating_mul(doubling).min(times.max_lockout);
            self.lockouts = self.lockouts.saturating_add(1);
            self.locked_until = Some(now + lockout);
            self.calm_from = now + lockout;
            self.window_start = now;
            self.failures = 0;
        }
    }

    /// Nothing worth keeping: no attempt in flight, no lockout, no failure or lockout count
    /// still in force.
    fn is_quiet(&self, now: Instant, times: &Times) -> bool {
        let mut rolled = *self;
        rolled.roll(now, times);
        rolled.in_flight == 0
            && rolled.locked_until.is_none()
            && rolled.failures == 0
            && rolled.lockouts == 0
    }
}

/// The durations of the config.
#[derive(Debug, Clone, Copy)]
struct Times {
    window: Duration,
    max_lockout: Duration,
}

/// The counters in this process.
#[derive(Debug)]
pub struct MemoryLedger {
    times: Times,
    max_records: usize,
    records: Mutex<HashMap<Scope, Record>>,
}

impl MemoryLedger {
    /// Counters under `config`'s window, lockouts and size bound.
    pub fn new(config: &ThrottleConfig) -> Self {
        Self {
            times: Times {
                window: config.window.max(Duration::from_millis(1)),
                max_lockout: config.max_lockout.max(config.window),
            },
            max_records: config.max_records.max(16),
            records: Mutex::new(HashMap::new()),
        }
    }

    /// How many scopes are remembered.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no scope is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// [`Ledger::reserve`] at `now`.
    pub fn reserve_at(&self, attempt: &Attempt, now: Instant) -> Result<(), Refusal> {
        let mut records = self.lock();
        for budget in &attempt.budgets {
            let Some(record) = records.get_mut(&budget.scope) else {
                continue;
            };
            record.roll(now, &self.times);
            if let Some(retry_after) = record.refusal(budget, now, &self.times) {
                return Err(Refusal {
                    scope: budget.scope.clone(),
                    retry_after,
                });
            }
        }
        let missing = attempt
            .budgets
            .iter()
            .filter(|b| !records.contains_key(&b.scope))
            .count();
        if records.len() + missing > self.max_records {
            self.make_room(&mut records, missing, now);
        }
        for budget in &attempt.budgets {
            let record = records
                .entry(budget.scope.clone())
                .or_insert_with(|| Record::new(now));
            record.in_flight = record.in_flight.saturating_add(1);
            record.last_seen = now;
        }
        Ok(())
    }

    /// [`Ledger::settle`] at `now`.
    pub fn settle_at(&self, attempt: &Attempt, outcome: Outcome, now: Instant) {
        let mut records = self.lock();
        for budget in &attempt.budgets {
            let Some(record) = records.get_mut(&budget.scope) else {
                continue;
            };
            record.in_flight = record.in_flight.saturating_sub(1);
            record.last_seen = now;
            record.roll(now, &self.times);
            match outcome {
                Outcome::Failure => record.fail(budget, now, &self.times),
                Outcome::Success if budget.cleared_by_success => {
                    *record = Record {
                        in_flight: record.in_flight,
                        ..Record::new(now)
                    };
                }
                Outcome::Success | Outcome::Neutral => {}
            }
            if record.is_quiet(now, &self.times) {
                records.remove(&budget.scope);
            }
        }
    }

    /// Forgets records until `needed` more fit: the quiet ones, then the least recently seen
    /// down to seven eighths of the bound (so that this scan is rare), never one in flight.
    fn make_room(&self, records: &mut HashMap<Scope, Record>, needed: usize, now: Instant) {
        records.retain(|_, r| !r.is_quiet(now, &self.times));
        let target = (self.max_records / 8 * 7).min(self.max_records - needed);
        if records.len() <= target {
            return;
        }
        let mut idle: Vec<(Instant, Scope)> = records
            .iter()
            .filter(|(_, r)| r.in_flight == 0)
            .map(|(scope, r)| (r.last_seen, scope.clone()))
            .collect();
        let excess = (records.len() - target).min(idle.len());
        if excess == 0 {
            return;
        }
        idle.select_nth_unstable_by_key(excess - 1, |(seen, _)| *seen);
        for (_, scope) in idle.into_iter().take(excess) {
            records.remove(&scope);
        }
        tracing::warn!(
            forgotten = excess,
            "throttle records full; forgot the oldest"
        );
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Scope, Record>> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Ledger for MemoryLedger {
    fn reserve<'a>(&'a self, attempt: &'a Attempt) -> BoxFuture<'a, Result<(), Refusal>> {
        let reserved = self.reserve_at(attempt, Instant::now());
        Box::pin(std::future::ready(reserved))
    }

    fn settle(&self, attempt: &Attempt, outcome: Outcome) {
        self.settle_at(attempt, outcome, Instant::now());
    }
}
