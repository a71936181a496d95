//! Sessions in Redis: sealed records by id, each user's sessions in login order, and the news
//! of ends over pub/sub (see [`crate::auth::store`] for the design).
//!
//! - `{tidings}:session:<id>`: the sealed record (bytes), with the session's idle TTL.
//! - `{tidings}:user-sessions:<sha256(user id)>`: a sorted set of the user's session ids by
//!   login time (Redis's clock), for the per-user cap; it lasts a session lifetime past the
//!   last login, and ids whose record is gone are dropped at the next login.
//! - `{tidings}:sessions:ended`: the channel an ended session's id is published on.
//!
//! Nothing here ever sees a token: ids are hashes and records are ciphertext.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSub};
use redis::{Client, RedisResult, Script};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::auth::Sessions;
use crate::auth::store::{NewSession, SharedSessions, StoreError};

/// First wait after a failed subscription; doubled per failure in a row.
const MIN_BACKOFF: Duration = Duration::from_millis(50);
/// Longest wait between subscription attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How long connecting for the subscription may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Stores a record, and keeps its user within the cap: the user's index drops ids older than
/// a lifetime or whose record is gone, takes the new one, and the oldest beyond the cap are
/// deleted and announced. KEYS: record, user index. ARGV: sealed, ttl ms, lifetime ms, cap,
/// id, record key prefix, channel. Returns the ended ids.
const SAVE: &str = r"
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[3]))
for _, old in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if redis.call('EXISTS', ARGV[6] .. old) == 0 then redis.call('ZREM', KEYS[2], old) end
end
redis.call('ZADD', KEYS[2], now, ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
local ended = {}
if excess > 0 then
  ended = redis.call('ZRANGE', KEYS[2], 0, excess - 1)
  for _, old in ipairs(ended) do
    redis.call('ZREM', KEYS[2], old)
    redis.call('DEL', ARGV[6] .. old)
    redis.call('PUBLISH', ARGV[7], old)
  end
end
return ended
";

/// The Redis side of sessions.
pub(crate) struct RedisSessions {
    /// Records and indexes, on a multiplexed connection of their own.
    commands: ConnectionManager,
    /// For the pub/sub connection (a connection in subscriber mode runs no other command).
    client: Client,
    /// [`SAVE`].
    save: Script,
}

impl RedisSessions {
    /// Connections to `url`, made lazily.
    pub(crate) fn open(url: &str) -> RedisResult<Self> {
        let client = Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500))
            .set_response_timeout(Some(Duration::from_secs(3)));
        let commands = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        Ok(Self {
            commands,
            client,
            save: Script::new(SAVE),
        })
    }

    /// Ends this instance's copies of the sessions other instances end, until `stop`;
    /// resubscribes after a lost connection, and then has every copy rechecked (news may
    /// have been missed meanwhile).
    pub(crate) async fn listen(self: Arc<Self>, sessions: Arc<Sessions>, stop: CancellationToken) {
        let mut backoff = MIN_BACKOFF;
        loop {
            let Some(subscribed) = stop.run_until_cancelled(self.subscribe()).await else {
                return;
            };
            match subscribed {
                Ok(pubsub) => {
                    backoff = MIN_BACKOFF;
                    sessions.distrust_copies();
                    let mut news = pubsub.into_on_message();
                    while let Some(Some(message)) = stop.run_until_cancelled(news.next()).await {
                        if let Ok(id) = message.get_payload::<String>() {
                            sessions.ended_elsewhere(&id);
                        }
                    }
                    if stop.is_cancelled() {
                        return;
                    }
                    tracing::debug!("session news connection lost; subscribing again");
                }
                Err(error) => {
                    tracing::debug!(error = %error, "cannot subscribe to session news");
                    let pause = tokio::time::sleep(backoff);
                    if stop.run_until_cancelled(pause).await.is_none() {
                        return;
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    async fn subscribe(&self) -> Result<PubSub, StoreError> {
        let mut pubsub = tokio::time::timeout(CONNECT_TIMEOUT, self.client.get_async_pubsub())
            .await
            .map_err(|_| "timed out connecting")??;
        pubsub.subscribe(CHANNEL).await?;
        Ok(pubsub)
    }
}

/// The channel ended session ids are published on.
const CHANNEL: &str = "{tidings}:sessions:ended";
/// The prefix of record keys.
const RECORD_PREFIX: &str = "{tidings}:session:";

fn record_key(id: &str) -> String {
    format!("{RECORD_PREFIX}{id}")
}

fn user_key(user_id: &str) -> String {
    let digest = Sha256::digest(user_id.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{{tidings}}:user-sessions:{hex}")
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

impl SharedSessions for RedisSessions {
    fn save<'a>(&'a self, new: NewSession<'a>) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        Box::pin(async move {
            let mut invocation = self.save.prepare_invoke();
            invocation
                .key(record_key(new.id))
                .key(user_key(new.user_id))
                .arg(new.sealed)
                .arg(millis(new.ttl))
                .arg(millis(new.lifetime))
                .arg(new.max_per_user)
                .arg(new.id)
                .arg(RECORD_PREFIX)
                .arg(CHANNEL);
            let ended: Vec<String> = invocation.invoke_async(&mut self.commands.clone()).await?;
            Ok(ended)
        })
    }

    fn load<'a>(
        &'a self,
        id: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(async move {
            let key = record_key(id);
            let (sealed,): (Option<Vec<u8>>,) = redis::pipe()
                .get(&key)
                .pexpire(&key, i64::try_from(millis(ttl)).unwrap_or(i64::MAX))
                .ignore()
                .query_async(&mut self.commands.clone())
                .await?;
            Ok(sealed)
        })
    }

    fn touch<'a>(
        &'a self,
        ids: &'a [(String, Duration)],
    ) -> BoxFuture<'a, Result<Vec<bool>, StoreError>> {
        Box::pin(async move {
            let mut pipe = redis::pipe();
            for (id, ttl) in ids {
                pipe.pexpire(
                    record_key(id),
                    i64::try_from(millis(*ttl)).unwrap_or(i64::MAX),
                );
            }
            let alive: Vec<bool> = pipe.query_async(&mut self.commands.clone()).await?;
            Ok(alive)
        })
    }

    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let _: () = redis::pipe()
                .del(record_key(id))
                .ignore()
                .publish(CHANNEL, id)
                .ignore()
                .query_async(&mut self.commands.clone())
                .await?;
            Ok(())
        })
    }
}
