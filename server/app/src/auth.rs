//! Sessions: who is calling, which projects they may see, and what they may do there.
//!
//! `auth.login` checks a user's password against Keystone and opens a server-side session: a
//! random opaque token that browsers keep in an HttpOnly cookie and other clients send as
//! `Authorization: Bearer <token>` (or as the `token` connection parameter of a tRPC
//! WebSocket). The user's Keystone credentials and tokens stay on the server, in the session's
//! own OpenStack client, which renews its tokens before they expire. Every domain procedure
//! and `updates.subscribe` require a session (the registry's guard); what a session may see is
//! its [`Visibility`].

pub mod origin;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use futures::StreamExt;
use http::HeaderValue;
use http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use tidings_openstack::{Client, ClientConfig};
use tidings_rpc::{ErrorCode, Event, EventStream, RequestMeta, RpcError};
use tokio_util::sync::CancellationToken;

/// The cookie that carries the session token.
pub const COOKIE_NAME: &str = "tidings_session";

/// Failed logins of one user name allowed per [`FAILURE_WINDOW`]; further attempts are refused
/// without asking Keystone until the window ends.
const MAX_FAILURES: u32 = 5;
/// The window failed logins are counted in.
const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Most user names whose failures are remembered (past it the oldest record is forgotten).
const MAX_FAILURE_RECORDS: usize = 10_000;
/// Most sessions one user holds at once; a further login ends their oldest.
const MAX_SESSIONS_PER_USER: usize = 64;

/// Roles that may change resources of a project (any role may see them).
const WRITER_ROLES: [&str; 3] = ["admin", "member", "_member_"];

/// How sessions are kept.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// A session unused for this long ends (open streams keep it in use).
    pub idle_timeout: Duration,
    /// A session ends this long after login, in use or not.
    pub lifetime: Duration,
    /// Most update streams one session may hold open at once (SSE and WebSocket
    /// subscriptions together); one more is refused with `TOO_MANY_REQUESTS`.
    pub max_streams: usize,
    /// Mark the cookie `Secure` even when no proxy says the request came over TLS.
    pub secure_cookies: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(30 * 60),
            lifetime: Duration::from_secs(12 * 3600),
            max_streams: 32,
            secure_cookies: false,
        }
    }
}

/// Which projects' data a session may see.
#[derive(Debug, Clone)]
pub enum Visibility {
    /// Everything: a cloud administrator.
    All,
    /// These projects (by id), plus what belongs to no project.
    Projects(Arc<ProjectSet>),
}

impl Visibility {
    /// Whether something scoped to `project` (`None`: global) may be seen.
    pub fn sees(&self, project: Option<&str>) -> bool {
        match (self, project) {
            (Visibility::All, _) | (_, None) => true,
            (Visibility::Projects(mine), Some(project)) => mine.ids.contains(project),
        }
    }

    /// Equal for sessions that see the same things (0 for everything), so that they can share
    /// filtered answers.
    pub fn key(&self) -> u64 {
        match self {
            Visibility::All => 0,
            Visibility::Projects(set) => set.key,
        }
    }
}

/// A set of project ids with a fingerprint of its members.
#[derive(Debug)]
pub struct ProjectSet {
    ids: HashSet<String>,
    key: u64,
}

impl ProjectSet {
    /// The set of `ids`.
    pub fn new(ids: impl IntoIterator<Item = String>) -> Self {
        let ids: HashSet<String> = ids.into_iter().collect();
        let mut sorted: Vec<&str> = ids.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        // Never 0, which stands for "everything".
        let key = xxhash_rust::xxh3::xxh3_64(sorted.join(",").as_bytes()) | 1;
        Self { ids, key }
    }
}

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
    token: Arc<str>,
    user_id: String,
    user_name: String,
    /// The covered projects by id.
    projects: BTreeMap<String, ProjectAccess>,
    admin: bool,
    visibility: Visibility,
    /// The user's own OpenStack client (their credentials and tokens, never sent out).
    client: Client,
    created: Instant,
    expires: Instant,
    /// Milliseconds after `created` of the last use.
    last_used: AtomicU64,
    /// Open update streams.
    streams: AtomicUsize,
    /// Cancelled when the session ends: its streams end with `UNAUTHORIZED`.
    ended: CancellationToken,
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

    fn touch(&self) {
        let elapsed = u64::try_from(self.created.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_used.store(elapsed, Ordering::Relaxed);
    }

    fn idle_for(&self, now: Instant) -> Duration {
        let last = self.created + Duration::from_millis(self.last_used.load(Ordering::Relaxed));
        now.saturating_duration_since(last)
    }

    /// Whether the session has ended by `now`: past its lifetime, or unused for `idle_timeout`
    /// with no stream open (an open stream keeps it in use).
    fn is_over(&self, now: Instant, idle_timeout: Duration) -> bool {
        now >= self.expires
            || (self.idle_for(now) >= idle_timeout && self.streams.load(Ordering::Acquire) == 0)
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

/// Every open session of this process.
pub struct Sessions {
    config: SessionConfig,
    /// How to reach Keystone: everything but the user's credentials.
    keystone: ClientConfig,
    open: RwLock<HashMap<Arc<str>, Arc<Session>>>,
    /// Recent failed logins by user name: how many, since when.
    failures: std::sync::Mutex<HashMap<String, (u32, Instant)>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("config", &self.config)
            .field("open", &self.count())
            .finish()
    }
}

impl Sessions {
    /// Sessions authenticated against the Keystone of `keystone` (its user, password and
    /// project are replaced by each user's own).
    pub fn new(config: SessionConfig, keystone: ClientConfig) -> Self {
        Self {
            config,
            keystone,
            open: RwLock::new(HashMap::new()),
            failures: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// How sessions are kept.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// How many sessions are open.
    pub fn count(&self) -> usize {
        self.open.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Authenticates `username` with `password` against Keystone and opens a session covering
    /// every project the user has a role on, or only `project` (a name or an id) when given.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        project: Option<&str>,
    ) -> Result<Arc<Session>, RpcError> {
        self.check_failures(username)?;
        let opened = self.open_session(username, password, project).await;
        match &opened {
            Err(error) if error.code == ErrorCode::Unauthorized => self.count_failure(username),
            Ok(session) => {
                self.forget_failures(username);
                self.bound_sessions_of(session);
            }
            Err(_) => {}
        }
        opened
    }

    /// Refuses a user name that failed too often lately (`TOO_MANY_REQUESTS`).
    fn check_failures(&self, username: &str) -> Result<(), RpcError> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match failures.get(username) {
            Some((count, since)) if *count >= MAX_FAILURES && since.elapsed() < FAILURE_WINDOW => {
                Err(RpcError::new(
                    ErrorCode::TooManyRequests,
                    "too many failed logins; try again in a minute",
                ))
            }
            _ => Ok(()),
        }
    }

    fn count_failure(&self, username: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= MAX_FAILURE_RECORDS && !failures.contains_key(username) {
            failures.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
            if failures.len() >= MAX_FAILURE_RECORDS
                && let Some(oldest) = failures
                    .iter()
                    .min_by_key(|(_, (_, since))| *since)
                    .map(|(name, _)| name.clone())
            {
                failures.remove(&oldest);
            }
        }
        let now = Instant::now();
        let entry = failures.entry(username.to_owned()).or_insert((0, now));
        if entry.1.elapsed() >= FAILURE_WINDOW {
            *entry = (0, now);
        }
        entry.0 += 1;
        if entry.0 == MAX_FAILURES {
            tracing::warn!(
                user = username,
                "too many failed logins; refusing for a while"
            );
        }
    }

    fn forget_failures(&self, username: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(username);
    }

    /// Ends the oldest sessions of `session`'s user beyond [`MAX_SESSIONS_PER_USER`].
    fn bound_sessions_of(&self, session: &Session) {
        let mut theirs: Vec<(Instant, Arc<str>)> = self
            .open
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|s| s.user_id == session.user_id)
            .map(|s| (s.created, Arc::clone(&s.token)))
            .collect();
        if theirs.len() <= MAX_SESSIONS_PER_USER {
            return;
        }
        theirs.sort();
        let excess = theirs.len() - MAX_SESSIONS_PER_USER;
        for (_, token) in theirs.into_iter().take(excess) {
            self.end(&token);
        }
    }

    async fn open_session(
        &self,
        username: &str,
        password: &str,
        project: Option<&str>,
    ) -> Result<Arc<Session>, RpcError> {
        let mut config = self.keystone.clone();
        config.username = username.to_owned();
        config.password = password.to_owned();
        // No home project: the first token is unscoped, then one per project tells the roles.
        config.project_name = String::new();
        let client = Client::new(config).map_err(crate::error::upstream)?;
        let who = client.session().await.map_err(login_error)?;
        let mut projects = client.list_auth_projects().await.map_err(login_error)?;
        if let Some(wanted) = project {
            projects.retain(|p| p.id == wanted || p.name == wanted);
            if projects.is_empty() {
                return Err(RpcError::new(
                    ErrorCode::Forbidden,
                    format!("you have no role on project {wanted}"),
                ));
            }
        }
        let scoped =
            futures::future::join_all(projects.iter().map(|p| client.session_in(&p.id))).await;
        let mut access = BTreeMap::new();
        for (project, scoped) in projects.into_iter().zip(scoped) {
            let roles = match scoped {
                Ok(session) => session.roles,
                // Listed but not usable (disabled meanwhile): leave it out.
                Err(error) if error.status() == Some(401) => continue,
                Err(error) => return Err(crate::error::upstream(error)),
            };
            access.insert(
                project.id.clone(),
                ProjectAccess {
                    id: project.id,
                    name: project.name,
                    roles,
                },
            );
        }
        let admin = access
            .values()
            .any(|p| p.roles.iter().any(|role| role == "admin"));
        let visibility = if admin {
            Visibility::All
        } else {
            Visibility::Projects(Arc::new(ProjectSet::new(access.keys().cloned())))
        };
        let now = Instant::now();
        let session = Arc::new(Session {
            token: new_token(),
            user_id: who.user_id,
            user_name: if who.user_name.is_empty() {
                username.to_owned()
            } else {
                who.user_name
            },
            projects: access,
            admin,
            visibility,
            client,
            created: now,
            expires: now + self.config.lifetime,
            last_used: AtomicU64::new(0),
            streams: AtomicUsize::new(0),
            ended: CancellationToken::new(),
        });
        self.open
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(Arc::clone(&session.token), Arc::clone(&session));
        tracing::info!(
            user = session.user_name.as_str(),
            projects = session.projects.len(),
            admin,
            "session opened"
        );
        Ok(session)
    }

    /// The session a request presents, if it is open; marks it used.
    pub fn find(&self, meta: &RequestMeta) -> Option<Arc<Session>> {
        let token = presented_token(meta)?;
        let session = self
            .open
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(token.as_str())
            .cloned()?;
        if session.is_over(Instant::now(), self.config.idle_timeout) {
            self.end(&session.token);
            return None;
        }
        session.touch();
        Some(session)
    }

    /// The session a request presents, or `UNAUTHORIZED`.
    pub fn require(&self, meta: &RequestMeta) -> Result<Arc<Session>, RpcError> {
        self.find(meta).ok_or_else(|| {
            RpcError::new(
                ErrorCode::Unauthorized,
                "log in first (auth.login): no valid session",
            )
        })
    }

    /// Ends the session with `token` (if open): its streams end and its Keystone tokens are
    /// revoked in the background.
    pub fn end(&self, token: &str) -> bool {
        let removed = self
            .open
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(token);
        let Some(session) = removed else {
            return false;
        };
        session.ended.cancel();
        tracing::info!(user = session.user_name.as_str(), "session ended");
        let client = session.client.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { client.revoke_tokens().await });
        }
        true
    }

    /// Ends the session a request presents, if any.
    pub fn end_presented(&self, meta: &RequestMeta) -> bool {
        presented_token(meta).is_some_and(|token| self.end(&token))
    }

    /// Ends every session that expired or sat unused past the idle time-out.
    pub fn sweep(&self) -> usize {
        let now = Instant::now();
        let stale: Vec<Arc<str>> = self
            .open
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|s| s.is_over(now, self.config.idle_timeout))
            .map(|s| Arc::clone(&s.token))
            .collect();
        stale.iter().filter(|token| self.end(token)).count()
    }

    /// Sweeps every `period` until `stop` is cancelled.
    pub async fn run_sweeper(self: Arc<Self>, period: Duration, stop: CancellationToken) {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = ticks.tick() => {
                    let ended = self.sweep();
                    if ended > 0 {
                        tracing::debug!(ended, "idle or expired sessions ended");
                    }
                }
            }
        }
    }

    /// The `Set-Cookie` value that stores `session` in the browser. `Secure` when configured,
    /// or when a proxy says the request came over TLS.
    pub fn cookie(&self, session: &Session, meta: &RequestMeta) -> HeaderValue {
        let max_age = self.config.lifetime.as_secs();
        let secure = if self.is_secure(meta) { "; Secure" } else { "" };
        let text = format!(
            "{COOKIE_NAME}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
            session.token
        );
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The `Set-Cookie` value that removes the session cookie.
    pub fn clearing_cookie(&self, meta: &RequestMeta) -> HeaderValue {
        let secure = if self.is_secure(meta) { "; Secure" } else { "" };
        let text = format!("{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}");
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    fn is_secure(&self, meta: &RequestMeta) -> bool {
        self.config.secure_cookies
            || meta
                .headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
    }

    /// Adds the session cookie to the HTTP response of the request (when it has one).
    pub fn set_cookie(&self, session: &Session, meta: &RequestMeta) {
        meta.response.append(SET_COOKIE, self.cookie(session, meta));
    }

    /// Adds the cookie removal to the HTTP response of the request (when it has one).
    pub fn clear_cookie(&self, meta: &RequestMeta) {
        meta.response.append(SET_COOKIE, self.clearing_cookie(meta));
    }
}

fn new_token() -> Arc<str> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Arc::from(hex)
}

/// The token a request presents: `Authorization: Bearer`, then the session cookie, then the
/// `token` connection parameter (tRPC WebSocket and SSE `connectionParams`).
fn presented_token(meta: &RequestMeta) -> Option<String> {
    let bearer = meta
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if let Some(token) = bearer.filter(|t| !t.is_empty()) {
        return Some(token.to_owned());
    }
    let cookie = meta
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim().to_owned());
    if let Some(token) = cookie.filter(|t| !t.is_empty()) {
        return Some(token);
    }
    meta.connection_params
        .as_ref()
        .and_then(|params| params.get("token"))
        .filter(|t| !t.is_empty())
        .cloned()
}

/// A failed login as the client sees it: bad credentials are `UNAUTHORIZED` without saying
/// which part was wrong; an unreachable Keystone is the usual upstream error.
fn login_error(error: tidings_openstack::Error) -> RpcError {
    match error {
        tidings_openstack::Error::Auth(_)
        | tidings_openstack::Error::Status { status: 401, .. } => {
            RpcError::new(ErrorCode::Unauthorized, "invalid username or password")
        }
        other => crate::error::upstream(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(headers: &[(&'static str, &str)]) -> RequestMeta {
        let mut meta = RequestMeta::local();
        for (name, value) in headers {
            meta.headers
                .append(*name, HeaderValue::from_str(value).unwrap());
        }
        meta
    }

    #[test]
    fn tokens_are_found_in_bearer_cookie_and_connection_params() {
        assert_eq!(
            presented_token(&meta(&[("authorization", "Bearer abc")])).as_deref(),
            Some("abc")
        );
        assert_eq!(
            presented_token(&meta(&[("cookie", "a=1; tidings_session=xyz; b=2")])).as_deref(),
            Some("xyz")
        );
        let mut with_params = meta(&[]);
        with_params.connection_params = Some([("token".to_owned(), "p".to_owned())].into());
        assert_eq!(presented_token(&with_params).as_deref(), Some("p"));
        assert_eq!(presented_token(&meta(&[("cookie", "other=1")])), None);
        assert_eq!(
            presented_token(&meta(&[("authorization", "Basic x")])),
            None
        );
    }

    #[test]
    fn visibility_of_global_and_scoped_things() {
        let mine = Visibility::Projects(Arc::new(ProjectSet::new(["p1".to_owned()])));
        assert!(mine.sees(None));
        assert!(mine.sees(Some("p1")));
        assert!(!mine.sees(Some("p2")));
        assert!(Visibility::All.sees(Some("p2")));
        let same = ProjectSet::new(["b".to_owned(), "a".to_owned()]);
        let other = ProjectSet::new(["a".to_owned()]);
        assert_eq!(
            same.key,
            ProjectSet::new(["a".to_owned(), "b".to_owned()]).key
        );
        assert_ne!(same.key, other.key);
        assert_ne!(Visibility::All.key(), mine.key());
    }

    #[test]
    fn session_tokens_are_long_and_distinct() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
