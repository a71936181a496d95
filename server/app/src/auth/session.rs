//! One logged-in user: who they are, their roles per project, their own OpenStack client, the
//! update streams they hold open and the calls they have running.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tidings_openstack::Client;
use tidings_rpc::{ErrorCode, Event, EventStream, RpcError};
use tokio_util::sync::CancellationToken;

use super::Visibility;

/// How long a call waits for one of its session's call slots before it is refused with
/// `TOO_MANY_REQUESTS`.
const CALL_WAIT: Duration = Duration::from_secs(10);

/// Roles that may change resources of a project (any role may see them).
const WRITER_ROLES: [&str; 3] = ["admin", "member", "_member_"];

/// A user's roles on one project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct ProjectAccess {
    /// The project's id.
    pub id: String,
    /// The project's name.
    pub name: String,
    /// The user's role names there (`admin`, `member`, `reader`, …).
    pub roles: Vec<String>,
}

/// The logged-in user, as `auth.me` tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// Keystone user id.
    pub user_id: String,
    /// Login name.
    pub user_name: String,
    /// The projects this session covers, with the user's roles on each.
    pub projects: Vec<ProjectAccess>,
    /// Whether the user administers the cloud (sees every project).
    pub admin: bool,
    /// Seconds until the session ends at the latest (sooner when left unused).
    pub expires_in_seconds: u32,
}

/// One logged-in user.
pub struct Session {
    pub(super) token: Arc<str>,
    /// The token's hash: the session's key here and in a shared store.
    pub(super) id: Arc<str>,
    pub(super) user_id: String,
    pub(super) user_name: String,
    /// The covered projects by id.
    pub(super) projects: BTreeMap<String, ProjectAccess>,
    pub(super) admin: bool,
    pub(super) visibility: Visibility,
    /// The user's own OpenStack client (their credentials and tokens, never sent out).
    pub(super) client: Client,
    pub(super) created: Instant,
    pub(super) expires: Instant,
    /// Milliseconds after `created` of the last use.
    pub(super) last_used: AtomicU64,
    /// With a shared store: 1 + milliseconds after `created` when the record was last seen
    /// there (0: to be checked on the next use).
    pub(super) checked: AtomicU64,
    /// Open update streams.
    pub(super) streams: AtomicUsize,
    /// Slots of the calls (queries and mutations) the session may run at once: whatever the
    /// transport and however many calls one request carries, this many reach the upstream at
    /// a time.
    pub(super) calls: Arc<tokio::sync::Semaphore>,
    /// Cancelled when the session ends: its streams end with `UNAUTHORIZED`.
    pub(super) ended: CancellationToken,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user_name)
            .field("projects", &self.projects.keys())
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The session's token (64 hex digits, from 32 random bytes).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// What the session may see.
    pub fn visibility(&self) -> &Visibility {
        &self.visibility
    }

    /// Whether the user administers the cloud.
    pub fn is_admin(&self) -> bool {
        self.admin
    }

    /// The login name.
    pub fn user_name(&self) -> &str {
        &self.user_name
    }

    /// `auth.me`'s answer.
    pub fn me(&self) -> Me {
        let left = self.expires.saturating_duration_since(Instant::now());
        Me {
            user_id: self.user_id.clone(),
            user_name: self.user_name.clone(),
            projects: self.projects.values().cloned().collect(),
            admin: self.admin,
            expires_in_seconds: u32::try_from(left.as_secs()).unwrap_or(u32::MAX),
        }
    }

    /// The ids of the projects this session covers (every project it has a role on).
    pub fn project_ids(&self) -> impl Iterator<Item = &str> {
        self.projects.keys().map(String::as_str)
    }

    /// Checks that `project` is one the session may read: `FORBIDDEN` otherwise.
    pub fn may_read(&self, project: &str) -> Result<(), RpcError> {
        if self.visibility.sees(Some(project)) {
            Ok(())
        } else {
            Err(RpcError::new(
                ErrorCode::Forbidden,
                format!("you have no role on project {project}"),
            ))
        }
    }

    /// Checks that the user may change resources of `project` (an admin, or a role that
    /// writes there), and returns their OpenStack client acting in that project.
    pub fn acting_in(&self, project: &str) -> Result<Client, RpcError> {
        self.may_read(project)?;
        let writes = self.admin
            || self.projects.get(project).is_some_and(|access| {
                access
                    .roles
                    .iter()
                    .any(|role| WRITER_ROLES.contains(&role.as_str()))
            });
        if !writes {
            return Err(RpcError::new(
                ErrorCode::Forbidden,
                format!("your role on project {project} does not allow changes"),
            ));
        }
        Ok(self.client.in_project(project))
    }

    /// The user's client in the first project the session covers (for per-user lists such as
    /// key pairs), if any.
    pub fn home_client(&self) -> Option<Client> {
        self.projects
            .keys()
            .next()
            .map(|id| self.client.in_project(id))
    }

    pub(super) fn touch(&self) {
        self.last_used.store(self.age_ms(), Ordering::Relaxed);
    }

    fn age_ms(&self) -> u64 {
        u64::try_from(self.created.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub(super) fn idle_for(&self, now: Instant) -> Duration {
        let last = self.created + Duration::from_millis(self.last_used.load(Ordering::Relaxed));
        now.saturating_duration_since(last)
    }

    /// Whether the session has ended by `now`: past its lifetime, or unused for `idle_timeout`
    /// with no stream open (an open stream keeps it in use).
    pub(super) fn is_over(&self, now: Instant, idle_timeout: Duration) -> bool {
        now >= self.expires || (self.idle_for(now) >= idle_timeout && self.open_streams() == 0)
    }

    /// How many update streams it holds open here.
    pub(super) fn open_streams(&self) -> usize {
        self.streams.load(Ordering::Acquire)
    }

    /// The shared store has just shown the record to exist.
    pub(super) fn confirm(&self) {
        self.checked
            .store(self.age_ms().saturating_add(1), Ordering::Relaxed);
    }

    /// Check the record in the shared store on the next use.
    pub(super) fn distrust(&self) {
        self.checked.store(0, Ordering::Relaxed);
    }

    /// Whether the record was last seen in the shared store more than `interval` ago.
    pub(super) fn needs_recheck(&self, interval: Duration) -> bool {
        match self.checked.load(Ordering::Relaxed) {
            0 => true,
            seen => {
                let at = self.created + Duration::from_millis(seen - 1);
                at.elapsed() >= interval
            }
        }
    }

    /// The record's time to live in a shared store: the idle time-out, or what is left of the
    /// lifetime when that is shorter (at least 1 ms: Redis refuses 0).
    pub(super) fn ttl(&self, idle_timeout: Duration) -> Duration {
        let left = self.expires.saturating_duration_since(Instant::now());
        idle_timeout.min(left).max(Duration::from_millis(1))
    }

    /// Wraps an update stream so that it counts against the session's stream limit while open
    /// and ends with `UNAUTHORIZED` when the session does.
    pub fn own_stream(
        self: &Arc<Self>,
        stream: EventStream,
        max_streams: usize,
    ) -> Result<EventStream, RpcError> {
        let open = self.streams.fetch_add(1, Ordering::AcqRel);
        let slot = StreamSlot(Arc::clone(self));
        if open >= max_streams {
            return Err(RpcError::new(
                ErrorCode::TooManyRequests,
                format!("this session already has {open} open update streams"),
            ));
        }
        let ended = self.ended.clone().cancelled_owned();
        let closing = futures::stream::once(async move {
            drop(slot);
            Event::Error(session_ended())
        });
        Ok(stream.take_until(ended).chain(closing).boxed())
    }
}

impl Session {
    /// One of the session's call slots, held while a call runs: waits up to [`CALL_WAIT`] for
    /// one to free, then refuses with `TOO_MANY_REQUESTS`.
    pub async fn call_permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, RpcError> {
        let calls = Arc::clone(&self.calls);
        match tokio::time::timeout(CALL_WAIT, calls.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_closed)) => Err(session_ended()),
            Err(_elapsed) => {
                tracing::warn!(
                    user = self.user_name.as_str(),
                    "calls refused: the session's call slots stayed busy"
                );
                Err(RpcError::new(
                    ErrorCode::TooManyRequests,
                    "too many calls of this session at once; try again shortly",
                ))
            }
        }
    }
}

/// Holds one of a session's stream slots; gives it back when dropped.
struct StreamSlot(Arc<Session>);

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0.streams.fetch_sub(1, Ordering::AcqRel);
        self.0.touch();
    }
}

fn session_ended() -> RpcError {
    RpcError::new(ErrorCode::Unauthorized, "the session ended; log in again")
}
