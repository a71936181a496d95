//! The login throttle's counters in Redis, so that every instance counts the same guesses: an
//! attacker spreading attempts over the instances behind a load balancer gets no more through
//! than against one.
//!
//! Each scope is a hash `{tidings}:throttle:<sha256 of the scope>` (window start, failures,
//! lockouts, locked-until, calm-from; Redis holds no user name or address in clear) and a sorted
//! set `…:inflight` of the attempts reserved and not yet settled, each scored by when it stops
//! counting, so the attempts of an instance that died mid-login free their slots by themselves.
//! Reserve and settle are Lua scripts over every scope of an attempt, run with Redis's own clock:
//! checking and counting is one atomic step for the whole cluster, with the same rules as
//! [`MemoryLedger`]. Keys expire once nothing in them is still in force.
//!
//! The instance's own [`MemoryLedger`] is consulted first and kept too, so that while Redis is
//! unreachable the throttle still holds, per instance (logged once per outage).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisResult, Script};
use sha2::{Digest, Sha256};

use crate::auth::record::hex;
use crate::auth::throttle::{
    Attempt, Ledger, MemoryLedger, Outcome, Refusal, Scope, ThrottleConfig,
};

/// How long an unsettled attempt keeps its slot (past any call deadline).
const IN_FLIGHT_TTL: Duration = Duration::from_secs(120);

/// KEYS: per scope its hash and its in-flight set. ARGV: scopes, window ms, in-flight ttl ms,
/// attempt id, then each scope's limit. Returns {0, 0} when reserved, else {scope number,
/// retry-after ms}.
const RESERVE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n, window, ttl, id = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
for i = 1, n do
  local h, z, limit = KEYS[2 * i - 1], KEYS[2 * i], tonumber(ARGV[4 + i])
  redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
  local r = redis.call('HMGET', h, 'ws', 'f', 'lu')
  local ws, f, lu = tonumber(r[1]) or now, tonumber(r[2]) or 0, tonumber(r[3]) or 0
  if now - ws >= window then ws = now; f = 0 end
  if lu > now then return {i, lu - now} end
  if f + redis.call('ZCARD', z) >= limit then return {i, math.max(ws + window - now, 1)} end
end
for i = 1, n do
  redis.call('ZADD', KEYS[2 * i], now + ttl, id)
  redis.call('PEXPIRE', KEYS[2 * i], ttl)
end
return {0, 0}
";

/// KEYS as for [`RESERVE`]. ARGV: scopes, window ms, longest lockout ms, attempt id, outcome
/// (`f`ailure, `s`uccess, `n`eutral), then per scope: limit, escalates (0/1), cleared by
/// success (0/1).
const SETTLE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n, window, maxl, id, outcome = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5]
for i = 1, n do
  local h, z = KEYS[2 * i - 1], KEYS[2 * i]
  local limit, esc, cleared = tonumber(ARGV[3 + 3 * i]), ARGV[4 + 3 * i], ARGV[5 + 3 * i]
  redis.call('ZREM', z, id)
  local r = redis.call('HMGET', h, 'ws', 'f', 'lk', 'lu', 'cf')
  local ws, f, lk = tonumber(r[1]) or now, tonumber(r[2]) or 0, tonumber(r[3]) or 0
  local lu, cf = tonumber(r[4]) or 0, tonumber(r[5]) or now
  if now - ws >= window then ws = now; f = 0 end
  if lu <= now then lu = 0 end
  if now - cf >= maxl then lk = 0 end
  if outcome == 'f' then
    f = f + 1; cf = now
    if esc == '1' and f >= limit then
      local lockout = math.min(window * math.pow(2, math.min(lk, 30)), maxl)
      lk = lk + 1; lu = now + lockout; cf = now + lockout; ws = now; f = 0
    end
  elseif outcome == 's' and cleared == '1' then
    ws = now; f = 0; lk = 0; lu = 0; cf = now
  end
  if f == 0 and lk == 0 and lu == 0 then
    redis.call('DEL', h)
  else
    redis.call('HSET', h, 'ws', ws, 'f', f, 'lk', lk, 'lu', lu, 'cf', cf)
    redis.call('PEXPIRE', h, math.max(ws + window, cf + maxl) - now)
  end
end
return 1
";

/// The throttle's counters in Redis, with this instance's own in front.
pub(crate) struct RedisLedger {
    commands: ConnectionManager,
    reserve: Script,
    settle: Arc<Script>,
    window: Duration,
    max_lockout: Duration,
    local: MemoryLedger,
    /// Whether the last Redis call failed (the outage is logged once).
    down: Arc<AtomicBool>,
}

impl RedisLedger {
    /// Counters at `url` under `config`'s rules.
    pub(crate) fn open(url: &str, config: &ThrottleConfig) -> RedisResult<Self> {
        let client = Client::open(url)?;
        let options = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500))
            .set_response_timeout(Some(Duration::from_secs(2)));
        Ok(Self {
            commands: ConnectionManager::new_lazy_with_config(client, options)?,
            reserve: Script::new(RESERVE),
            settle: Arc::new(Script::new(SETTLE)),
            window: config.window.max(Duration::from_millis(1)),
            max_lockout: config.max_lockout.max(config.window),
            local: MemoryLedger::new(config),
            down: Arc::default(),
        })
    }

    /// Notes whether Redis answered, logging the changes.
    fn answered<T>(down: &AtomicBool, result: &RedisResult<T>) {
        match result {
            Ok(_) if down.swap(false, Ordering::Relaxed) => {
                tracing::info!("throttle counters reachable in redis again");
            }
            Err(error) if !down.swap(true, Ordering::Relaxed) => {
                tracing::warn!(error = %error, "throttle counters unreachable in redis; counting on this instance alone");
            }
            _ => {}
        }
    }

    async fn reserve_shared(&self, attempt: &Attempt) -> RedisResult<Option<Refusal>> {
        let mut invocation = self.reserve.prepare_invoke();
        for key in keys_of(attempt) {
            invocation.key(key);
        }
        invocation
            .arg(attempt.budgets.len())
            .arg(millis(self.window))
            .arg(millis(IN_FLIGHT_TTL))
            .arg(attempt.id);
        for budget in &attempt.budgets {
            invocation.arg(budget.limit);
        }
        let (scope, retry_ms): (usize, u64) =
            invocation.invoke_async(&mut self.commands.clone()).await?;
        Ok(scope.checked_sub(1).map(|index| Refusal {
            scope: attempt.budgets[index].scope.clone(),
            retry_after: Duration::from_millis(retry_ms),
        }))
    }
}

impl Ledger for RedisLedger {
    fn reserve<'a>(&'a self, attempt: &'a Attempt) -> BoxFuture<'a, Result<(), Refusal>> {
        Box::pin(async move {
            self.local.reserve_at(attempt, std::time::Instant::now())?;
            let shared = self.reserve_shared(attempt).await;
            Self::answered(&self.down, &shared);
            match shared {
                Ok(Some(refusal)) => {
                    self.local.settle(attempt, Outcome::Neutral);
                    Err(refusal)
                }
                Ok(None) | Err(_) => Ok(()),
            }
        })
    }

    fn settle(&self, attempt: &Attempt, outcome: Outcome) {
        self.local.settle(attempt, outcome);
        let mut args = vec![
            attempt.budgets.len().to_string(),
            millis(self.window).to_string(),
            millis(self.max_lockout).to_string(),
            attempt.id.to_string(),
            match outcome {
                Outcome::Failure => "f",
                Outcome::Success => "s",
                Outcome::Neutral => "n",
            }
            .to_owned(),
        ];
        for budget in &attempt.budgets {
            args.push(budget.limit.to_string());
            args.push(u8::from(budget.escalates).to_string());
            args.push(u8::from(budget.cleared_by_success).to_string());
        }
        let keys = keys_of(attempt);
        let (script, mut commands) = (Arc::clone(&self.settle), self.commands.clone());
        let down = Arc::clone(&self.down);
        // Settling never makes the caller wait; a reserve racing ahead of it sees the attempt
        // still in flight, which only refuses sooner.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let mut invocation = script.prepare_invoke();
                for key in &keys {
                    invocation.key(key);
                }
                for arg in &args {
                    invocation.arg(arg);
                }
                let settled: RedisResult<i64> = invocation.invoke_async(&mut commands).await;
                Self::answered(&down, &settled);
            });
        }
    }
}

/// The hash and in-flight set of each scope of `attempt`, in order.
fn keys_of(attempt: &Attempt) -> Vec<String> {
    attempt
        .budgets
        .iter()
        .flat_map(|budget| {
            let key = scope_key(&budget.scope);
            let inflight = format!("{key}:inflight");
            [key, inflight]
        })
        .collect()
}

/// `{tidings}:throttle:<sha256>` of a scope: no user name or address in clear.
fn scope_key(scope: &Scope) -> String {
    let name = match scope {
        Scope::UserAt(user, client) => format!("user\0{user}\0{client:?}"),
        Scope::Client(client) => format!("client\0{client:?}"),
        Scope::Everyone => "everyone".to_owned(),
        Scope::AdminToken(client) => format!("admin\0{client:?}"),
    };
    format!(
        "{{tidings}}:throttle:{}",
        hex(&Sha256::digest(name.as_bytes()))
    )
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
