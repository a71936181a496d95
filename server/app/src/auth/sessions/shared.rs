//! Sessions kept in a shared store (see [`crate::auth::store`]): saving a new session's
//! sealed record, loading a session another instance opened, confirming this instance's
//! copies, and sweeping them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tidings_openstack::Client;
use tidings_rpc::{RequestMeta, RpcError};
use tokio_util::sync::CancellationToken;

use super::{
    Credentials, MAX_SESSIONS_PER_USER, Sessions, no_session, presented_token, store_unavailable,
    visibility_of,
};
use crate::auth::Session;
use crate::auth::record::{self, Record, session_id};
use crate::auth::store::{CACHE_IDLE, MAX_CACHED, NewSession, SharedSessions, recheck_interval};

impl Sessions {
    /// Stores a new session's sealed record, and ends what the store ended to keep its user
    /// within the per-user cap. A store that cannot be reached fails the login.
    pub(super) async fn save(
        &self,
        store: &dyn SharedSessions,
        session: &Session,
        credentials: Credentials<'_>,
    ) -> Result<(), RpcError> {
        let now = unix_ms();
        let record = Record {
            user_id: session.user_id.clone(),
            user_name: session.user_name.clone(),
            projects: session.projects.clone(),
            admin: session.admin,
            created_ms: now,
            expires_ms: now.saturating_add(millis(self.config.lifetime)),
            username: credentials.username.to_owned(),
            password: credentials.password.to_owned(),
            project: credentials.project.map(str::to_owned),
        };
        let saved = store
            .save(NewSession {
                id: &session.id,
                sealed: record::seal(&record, &session.token, &session.id),
                ttl: session.ttl(self.config.idle_timeout),
                user_id: &session.user_id,
                lifetime: self.config.lifetime,
                max_per_user: MAX_SESSIONS_PER_USER,
            })
            .await;
        match saved {
            Ok(ended) => {
                for id in ended {
                    self.end_here(&id);
                }
                Ok(())
            }
            Err(error) => {
                tracing::warn!(error = %error, "cannot store a new session; login refused");
                let client = session.client.clone();
                tokio::spawn(async move { client.revoke_tokens().await });
                Err(store_unavailable())
            }
        }
    }

    /// [`Sessions::admit`] with a shared store: this instance's copy, confirmed when due, or
    /// the session loaded from the store.
    pub(super) async fn admit_shared(
        &self,
        store: &dyn SharedSessions,
        meta: &RequestMeta,
    ) -> Result<Arc<Session>, RpcError> {
        let token = presented_token(meta).ok_or_else(no_session)?;
        let id = session_id(&token);
        match self.local(&id) {
            Some(session) => self.recheck(store, session).await,
            None => self.load(store, &token, id).await,
        }
    }

    /// This instance's copy, once the store has confirmed (at most a recheck interval ago)
    /// that the session goes on; the same call refreshes the record's TTL. While the store
    /// is unreachable, a copy goes on by its own clock.
    async fn recheck(
        &self,
        store: &dyn SharedSessions,
        session: Arc<Session>,
    ) -> Result<Arc<Session>, RpcError> {
        let idle = self.config.idle_timeout;
        let now = Instant::now();
        if now >= session.expires {
            let _ = self.end(&session.id).await;
            return Err(no_session());
        }
        if !session.needs_recheck(recheck_interval(idle)) {
            session.touch();
            return Ok(session);
        }
        let ids = [(session.id.to_string(), session.ttl(idle))];
        match store.touch(&ids).await {
            Ok(alive) if alive.first() == Some(&true) => session.confirm(),
            Ok(_) => {
                self.end_here(&session.id);
                return Err(no_session());
            }
            Err(error) if session.is_over(now, idle) => {
                tracing::debug!(error = %error, "session store unreachable; copy idle");
                self.end_here(&session.id);
                return Err(no_session());
            }
            Err(error) => tracing::debug!(error = %error, "session store unreachable; copy used"),
        }
        session.touch();
        Ok(session)
    }

    /// Loads the session with `id` from the store and opens its record with `token`.
    async fn load(
        &self,
        store: &dyn SharedSessions,
        token: &str,
        id: String,
    ) -> Result<Arc<Session>, RpcError> {
        let sealed = store
            .load(&id, self.config.idle_timeout)
            .await
            .map_err(|error| {
                tracing::warn!(error = %error, "cannot load a session from the store");
                store_unavailable()
            })?
            .ok_or_else(no_session)?;
        let Some(record) = record::open(&sealed, token, &id) else {
            tracing::warn!("a stored session does not open with the token that names it");
            return Err(no_session());
        };
        if unix_ms() >= record.expires_ms {
            let _ = self.end(&id).await;
            return Err(no_session());
        }
        let session = self.restore(token, id, record)?;
        self.make_room();
        let session = self.keep(Arc::new(session));
        session.touch();
        tracing::debug!(
            user = session.user_name.as_str(),
            "session loaded from the store"
        );
        Ok(session)
    }

    /// A session as its record tells it, with a new OpenStack client of the user's (it
    /// authenticates when first used).
    fn restore(&self, token: &str, id: String, record: Record) -> Result<Session, RpcError> {
        let mut config = self.keystone.clone();
        config.username = record.username;
        config.password = record.password;
        config.project_name = String::new();
        let client = Client::new(config).map_err(crate::error::upstream)?;
        let now = Instant::now();
        let now_ms = unix_ms();
        let age = Duration::from_millis(now_ms.saturating_sub(record.created_ms));
        let left = Duration::from_millis(record.expires_ms.saturating_sub(now_ms));
        let session = Session {
            token: Arc::from(token),
            id: Arc::from(id),
            user_id: record.user_id,
            user_name: record.user_name,
            visibility: visibility_of(record.admin, &record.projects),
            projects: record.projects,
            admin: record.admin,
            client,
            created: now.checked_sub(age).unwrap_or(now),
            expires: now + left,
            last_used: AtomicU64::new(0),
            checked: AtomicU64::new(0),
            streams: AtomicUsize::new(0),
            calls: Arc::new(tokio::sync::Semaphore::new(self.config.max_calls.max(1))),
            ended: CancellationToken::new(),
        };
        session.confirm();
        Ok(session)
    }

    /// Forgets the least recently used copy without streams when [`MAX_CACHED`] are held.
    fn make_room(&self) {
        if self.count() < MAX_CACHED {
            return;
        }
        let now = Instant::now();
        let oldest = self
            .open
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|s| s.open_streams() == 0)
            .max_by_key(|s| s.idle_for(now))
            .map(|s| Arc::clone(&s.id));
        if let Some(id) = oldest {
            self.forget(&id);
        }
    }

    /// Every copy is checked with the store on its next use (after a reconnect, when news of
    /// ends may have been missed).
    pub fn distrust_copies(&self) {
        for session in self.open.read().unwrap_or_else(|e| e.into_inner()).values() {
            session.distrust();
        }
    }

    /// Ends expired sessions, forgets copies unused here for [`CACHE_IDLE`], and keeps the
    /// records of sessions with open streams alive (ending those whose record is gone).
    pub(super) async fn sweep_shared(&self, store: &dyn SharedSessions) -> usize {
        let now = Instant::now();
        let idle = self.config.idle_timeout;
        let copies: Vec<Arc<Session>> = self
            .open
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        let mut ended = 0;
        let mut streaming = Vec::new();
        for session in copies {
            if now >= session.expires {
                let _ = self.end(&session.id).await;
                ended += 1;
            } else if session.open_streams() == 0 {
                if session.idle_for(now) >= CACHE_IDLE {
                    self.forget(&session.id);
                }
            } else if session.needs_recheck(recheck_interval(idle)) {
                streaming.push(session);
            }
        }
        if streaming.is_empty() {
            return ended;
        }
        let ids: Vec<(String, Duration)> = streaming
            .iter()
            .map(|s| (s.id.to_string(), s.ttl(idle)))
            .collect();
        match store.touch(&ids).await {
            Ok(alive) => {
                for (session, alive) in streaming.iter().zip(alive) {
                    if alive {
                        session.confirm();
                    } else if self.end_here(&session.id) {
                        ended += 1;
                    }
                }
            }
            Err(error) => tracing::debug!(error = %error, "cannot refresh streaming sessions"),
        }
        ended
    }
}

/// Now, in ms since the Unix epoch.
fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, millis)
}

/// `duration` in whole ms.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
