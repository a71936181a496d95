//! The Redis link: two connections, the key names, the Lua scripts that keep ids and entries
//! consistent, and one log line per change of reachability.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::{StreamId, StreamRangeReply, StreamReadReply};
use redis::{Client, RedisError, RedisResult, Script};

use crate::updates::Outgoing;
use crate::worker::Json;

/// How long the reader's XREAD waits for new entries before it checks the epoch.
pub(super) const BLOCK: Duration = Duration::from_secs(1);

/// Entries fetched per XREAD.
const READ_BATCH: usize = 256;

/// Makes sure the log has an epoch; when it has none (a new or emptied Redis), starts one and
/// sets the sequence past everything this instance or the stream has seen, so ids never go
/// back below ones clients hold. KEYS: epoch, seq, log. ARGV: token, floor.
const ENSURE: &str = r"
local function ensure(epoch, seq, log, token, floor)
  if redis.call('EXISTS', epoch) == 1 then return end
  redis.call('SET', epoch, token)
  local current = tonumber(redis.call('GET', seq) or '0')
  local top = redis.call('XREVRANGE', log, '+', '-', 'COUNT', 1)[1]
  if top then
    local ms = tonumber(string.match(top[1], '^(%d+)'))
    if ms > current then current = ms end
  end
  if tonumber(floor) > current then current = tonumber(floor) end
  redis.call('SET', seq, string.format('%d', current))
end
ensure(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2])
";

/// Redis's clock in milliseconds (`now_ms`), and the age trim of the log (`expire`): entries
/// carry the time they were added (`at`), and those older than the replay window go, oldest
/// first, up to 1,024 per call (a long-idle log is trimmed over a few appends). An entry
/// without `at` (written by an older version) stops the trim; MAXLEN still bounds the log.
const CLOCK: &str = r"
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function expire(log, cutoff)
  for _ = 1, 8 do
    local head = redis.call('XRANGE', log, '-', '+', 'COUNT', 129)
    local keep, young = nil, false
    for i, entry in ipairs(head) do
      local at = nil
      local fields = entry[2]
      for j = 1, #fields, 2 do
        if fields[j] == 'at' then at = tonumber(fields[j + 1]) end
      end
      if i == 129 then keep = entry[1]; break end
      if at == nil or at >= cutoff then keep, young = entry[1], true; break end
    end
    if keep == nil or keep == head[1][1] then return end
    redis.call('XTRIM', log, 'MINID', keep)
    if young then return end
  end
end
";

/// Numbers a notice (INCR) and appends it as stream entry `<id>-0` stamped with Redis's time,
/// atomically, so the stream holds consecutive ids; then trims entries older than the window.
/// ARGV: token, floor, maxlen, max age in ms, type[, scope]. Returns the id.
const NOTICE: &str = r"
local id = redis.call('INCR', KEYS[2])
local entry = string.format('%d-0', id)
local now = now_ms()
local at = string.format('%d', now)
if ARGV[6] then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], entry, 't', ARGV[5], 's', ARGV[6], 'at', at)
else
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], entry, 't', ARGV[5], 'at', at)
end
expire(KEYS[3], now - tonumber(ARGV[4]))
return id
";

/// Stores a source's snapshot and appends a mark `<seq>-<n>` (between notices, consuming no
/// notice id) that tells the other instances to load it. KEYS: epoch, seq, log, snapshot.
/// ARGV: token, floor, maxlen, max age in ms, source, hash, json, origin.
const SNAPSHOT: &str = r"
redis.call('HSET', KEYS[4], 'h', ARGV[6], 'j', ARGV[7])
local seq = redis.call('GET', KEYS[2]) or '0'
local now = now_ms()
local mark = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], seq .. '-*',
  'src', ARGV[5], 'h', ARGV[6], 'o', ARGV[8], 'at', string.format('%d', now))
expire(KEYS[3], now - tonumber(ARGV[4]))
return mark
";

/// The epoch, the latest id, the newest `count` entries and Redis's time in ms, in one
/// consistent read. ARGV: token, floor, count.
const WINDOW: &str = r"
return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2]) or '0',
  redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', ARGV[3]), now_ms()}
";

/// Takes or renews every lease it can: renewed when held by ARGV[1], taken (SET NX PX) when
/// free. KEYS: the lease keys. ARGV: instance, ttl in ms. Returns 1 or 0 per key.
const LEASES: &str = r"
local held = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
    held[i] = 1
  elseif redis.call('SET', key, ARGV[1], 'NX', 'PX', ARGV[2]) then
    held[i] = 1
  else
    held[i] = 0
  end
end
return held
";

/// Gives back the leases ARGV[1] holds among KEYS.
const RELEASE: &str = r"
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
return 0
";

/// One entry of the shared log, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Entry {
    /// Notice `id` (stream entry `<id>-0`).
    Notice {
        /// The global event id.
        id: u64,
        /// The wire name of the update type.
        ty: String,
        /// The project, if scoped.
        scope: Option<String>,
        /// When it was logged, in ms since the Unix epoch by Redis's clock (absent from
        /// entries of older versions).
        at: Option<u64>,
    },
    /// A snapshot of `source` with `hash` was stored by instance `origin`.
    Snapshot {
        /// The source's name.
        source: String,
        /// xxh3 of the snapshot's JSON.
        hash: u64,
        /// The instance that stored it.
        origin: String,
    },
    /// Something this version does not know.
    Unknown,
}

/// The shared log's state at one instant, from [`Store::window`].
#[derive(Debug)]
pub(super) struct Window {
    /// The log's epoch token: it changes when Redis lost the log.
    pub(super) epoch: String,
    /// The latest notice id.
    pub(super) seq: u64,
    /// The newest entries, oldest first, with their stream ids.
    pub(super) entries: Vec<(String, Entry)>,
    /// Redis's time at the read, in ms since the Unix epoch (entry ages are measured from it).
    pub(super) now: u64,
}

/// Redis reachability, logged once per change.
#[derive(Debug)]
pub(super) struct Health {
    /// Whether the latest call succeeded.
    up: AtomicBool,
}

impl Health {
    /// A call succeeded.
    pub(super) fn ok(&self) {
        if !self.up.swap(true, Ordering::AcqRel) {
            tracing::info!("redis recovered");
        }
    }

    /// A call failed.
    pub(super) fn failed(&self, error: &RedisError) {
        if self.up.swap(false, Ordering::AcqRel) {
            tracing::warn!(error = %error, "redis down; serving last good values, retrying");
        }
    }
}

/// The Lua scripts, loaded on first use (and again after a Redis restart, by EVALSHA's
/// fallback).
struct Scripts {
    /// [`ENSURE`] + [`CLOCK`] + [`NOTICE`].
    notice: Script,
    /// [`ENSURE`] + [`CLOCK`] + [`SNAPSHOT`].
    snapshot: Script,
    /// [`ENSURE`] + [`CLOCK`] + [`WINDOW`].
    window: Script,
    /// [`LEASES`].
    leases: Script,
    /// [`RELEASE`].
    release: Script,
}

/// The Redis side of the cluster.
pub(super) struct Store {
    /// Publishing, leases and snapshots share one multiplexed connection.
    commands: ConnectionManager,
    /// The reader's blocking XREAD gets its own, so it never holds up a command.
    reader: ConnectionManager,
    /// The Lua scripts.
    scripts: Scripts,
    /// Key prefix; a hash tag, so every key lives in one slot (scripts touch several).
    prefix: &'static str,
    /// Approximate stream length (XADD MAXLEN ~): the replay window plus snapshot marks.
    maxlen: usize,
    /// Entries older than this, in ms, are trimmed from the stream when it is appended to.
    max_age_ms: u64,
    /// This instance's id: its lease value and its snapshot marks' origin.
    pub(super) instance: Arc<str>,
    /// Reachability, for logging.
    pub(super) health: Health,
}

impl Store {
    /// Connections to `url`, made lazily (an unreachable Redis is retried, never fatal). The
    /// stream keeps about `maxlen` entries, none older than `max_age`.
    pub(super) fn open(
        url: &str,
        maxlen: usize,
        max_age: Duration,
        instance: Arc<str>,
    ) -> RedisResult<Self> {
        let client = Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let commands = ConnectionManager::new_lazy_with_config(
            client.clone(),
            config
                .clone()
                .set_response_timeout(Some(Duration::from_secs(3))),
        )?;
        let reader = ConnectionManager::new_lazy_with_config(
            client,
            config.set_response_timeout(Some(BLOCK + Duration::from_secs(2))),
        )?;
        let with_ensure = |body: &str| Script::new(&format!("{ENSURE}{CLOCK}{body}"));
        Ok(Self {
            commands,
            reader,
            scripts: Scripts {
                notice: with_ensure(NOTICE),
                snapshot: with_ensure(SNAPSHOT),
                window: with_ensure(WINDOW),
                leases: Script::new(LEASES),
                release: Script::new(RELEASE),
            },
            prefix: "{tidings}",
            maxlen,
            max_age_ms: u64::try_from(max_age.as_millis()).unwrap_or(u64::MAX),
            instance,
            health: Health {
                up: AtomicBool::new(true),
            },
        })
    }

    fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.prefix)
    }

    fn lease_key(&self, source: &str) -> String {
        format!("{}:lease:{source}", self.prefix)
    }

    fn snapshot_key(&self, source: &str) -> String {
        format!("{}:snap:{source}", self.prefix)
    }

    /// A fresh epoch token, used only if the log has none.
    fn token(&self) -> String {
        format!("{}-{:016x}", self.instance, rand::random::<u64>())
    }

    /// Numbers and appends a notice; `floor` is the latest id this instance has seen.
    pub(super) async fn publish_notice(&self, notice: &Outgoing, floor: u64) -> RedisResult<u64> {
        let mut invocation = self.scripts.notice.prepare_invoke();
        invocation
            .key(self.key("epoch"))
            .key(self.key("seq"))
            .key(self.key("log"))
            .arg(self.token())
            .arg(floor)
            .arg(self.maxlen)
            .arg(self.max_age_ms)
            .arg(notice.ty.as_str());
        if let Some(scope) = &notice.scope {
            invocation.arg(&**scope);
        }
        invocation.invoke_async(&mut self.commands.clone()).await
    }

    /// Stores `source`'s snapshot and appends its mark.
    pub(super) async fn publish_snapshot(
        &self,
        source: &str,
        json: &Json,
        floor: u64,
    ) -> RedisResult<()> {
        let _: String = self
            .scripts
            .snapshot
            .key(self.key("epoch"))
            .key(self.key("seq"))
            .key(self.key("log"))
            .key(self.snapshot_key(source))
            .arg(self.token())
            .arg(floor)
            .arg(self.maxlen)
            .arg(self.max_age_ms)
            .arg(source)
            .arg(json.hash)
            .arg(json.bytes.as_ref())
            .arg(&*self.instance)
            .invoke_async(&mut self.commands.clone())
            .await?;
        Ok(())
    }

    /// The stored snapshot of `source`, if any.
    pub(super) async fn load_snapshot(&self, source: &str) -> RedisResult<Option<Json>> {
        let (hash, bytes): (Option<u64>, Option<Vec<u8>>) = redis::cmd("HMGET")
            .arg(self.snapshot_key(source))
            .arg("h")
            .arg("j")
            .query_async(&mut self.commands.clone())
            .await?;
        Ok(hash.zip(bytes).map(|(hash, bytes)| Json {
            bytes: Bytes::from(bytes),
            hash,
        }))
    }

    /// The hash of `source`'s stored snapshot, if any.
    pub(super) async fn snapshot_hash(&self, source: &str) -> RedisResult<Option<u64>> {
        redis::cmd("HGET")
            .arg(self.snapshot_key(source))
            .arg("h")
            .query_async(&mut self.commands.clone())
            .await
    }

    /// The log's epoch (creating one with `floor` if there is none), latest id and newest
    /// `count` entries.
    pub(super) async fn window(&self, floor: u64, count: usize) -> RedisResult<Window> {
        let (epoch, seq, range, now): (String, u64, StreamRangeReply, u64) = self
            .scripts
            .window
            .key(self.key("epoch"))
            .key(self.key("seq"))
            .key(self.key("log"))
            .arg(self.token())
            .arg(floor)
            .arg(count)
            .invoke_async(&mut self.commands.clone())
            .await?;
        let mut entries: Vec<_> = range.ids.iter().map(parse).collect();
        entries.reverse();
        Ok(Window {
            epoch,
            seq,
            entries,
            now,
        })
    }

    /// The log's epoch token, `None` when Redis has no log (it was restarted empty).
    pub(super) async fn epoch(&self) -> RedisResult<Option<String>> {
        redis::cmd("GET")
            .arg(self.key("epoch"))
            .query_async(&mut self.reader.clone())
            .await
    }

    /// Entries after stream id `cursor`, waiting up to [`BLOCK`] for some; empty on time-out.
    pub(super) async fn read_after(&self, cursor: &str) -> RedisResult<Vec<(String, Entry)>> {
        let reply: Option<StreamReadReply> = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(READ_BATCH)
            .arg("BLOCK")
            .arg(u64::try_from(BLOCK.as_millis()).unwrap_or(u64::MAX))
            .arg("STREAMS")
            .arg(self.key("log"))
            .arg(cursor)
            .query_async(&mut self.reader.clone())
            .await?;
        let ids = reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids);
        Ok(ids.map(|id| parse(&id)).collect())
    }

    /// Takes or renews the leases of `sources` for `ttl`; which ones this instance holds.
    pub(super) async fn renew_leases(
        &self,
        sources: &[&'static str],
        ttl: Duration,
    ) -> RedisResult<Vec<bool>> {
        let mut invocation = self.scripts.leases.prepare_invoke();
        for source in sources {
            invocation.key(self.lease_key(source));
        }
        invocation
            .arg(&*self.instance)
            .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1));
        let held: Vec<u8> = invocation.invoke_async(&mut self.commands.clone()).await?;
        Ok(held.into_iter().map(|flag| flag == 1).collect())
    }

    /// Gives back this instance's leases among `sources`, so another can take over at once.
    pub(super) async fn release_leases(&self, sources: &[&'static str]) -> RedisResult<()> {
        let mut invocation = self.scripts.release.prepare_invoke();
        for source in sources {
            invocation.key(self.lease_key(source));
        }
        invocation.arg(&*self.instance);
        let _: i64 = invocation.invoke_async(&mut self.commands.clone()).await?;
        Ok(())
    }
}

/// A stream entry as the log knows it: `<id>-0` notices, `<seq>-<n>` snapshot marks.
fn parse(entry: &StreamId) -> (String, Entry) {
    let (ms, sub) = entry.id.split_once('-').unwrap_or((&entry.id, "0"));
    let parsed = match (ms.parse::<u64>(), sub) {
        (Ok(id), "0") => match entry.get::<String>("t") {
            Some(ty) => Entry::Notice {
                id,
                ty,
                scope: entry.get("s"),
                at: entry.get("at"),
            },
            None => Entry::Unknown,
        },
        (Ok(_), _) => match (entry.get("src"), entry.get("h"), entry.get("o")) {
            (Some(source), Some(hash), Some(origin)) => Entry::Snapshot {
                source,
                hash,
                origin,
            },
            _ => Entry::Unknown,
        },
        _ => Entry::Unknown,
    };
    (entry.id.clone(), parsed)
}
