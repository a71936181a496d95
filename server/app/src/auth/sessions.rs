//! Every open session of this process: logging in against Keystone (through the throttle of
//! [`super::throttle`]), finding the session a request presents, ending sessions and sweeping
//! stale ones, and the session cookie. Sessions are kept by id (the token's hash); with a shared
//! store (see [`super::store`]) the map holds this instance's copies and [`shared`] keeps them
//! in step with the store.

mod shared;

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use http::HeaderValue;
use http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use rand::RngCore;
use tidings_openstack::{Client, ClientConfig};
use tidings_rpc::{ErrorCode, ProcedureKind, RequestMeta, RpcError};
use tokio_util::sync::CancellationToken;

use super::record::session_id;
use super::store::SessionStore;
use super::throttle::{Ledger, Outcome, Throttle, ThrottleConfig};
use super::tickets::Tickets;
use super::{ProjectAccess, ProjectSet, Session, TrustedProxies, Visibility};

/// The cookie that carries the session token.
pub const COOKIE_NAME: &str = "tidings_session";

/// Most sessions one user holds at once; a further login ends their oldest.
const MAX_SESSIONS_PER_USER: usize = 64;

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
    /// The proxies whose `X-Forwarded-*` headers and client addresses are believed.
    pub proxies: TrustedProxies,
    /// The limits of failed logins and admin tokens.
    pub throttle: ThrottleConfig,
    /// How long a stream ticket (`auth.streamTicket`) may wait for its one use.
    pub ticket_ttl: Duration,
    /// Most queries and mutations one session runs at once, over every transport together;
    /// further ones wait for one of them to end.
    pub max_calls: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(30 * 60),
            lifetime: Duration::from_secs(12 * 3600),
            max_streams: 32,
            secure_cookies: false,
            proxies: TrustedProxies::default(),
            throttle: ThrottleConfig::default(),
            ticket_ttl: Duration::from_secs(30),
            max_calls: 8,
        }
    }
}

/// Every open session of this process.
pub struct Sessions {
    config: SessionConfig,
    /// How to reach Keystone: everything but the user's credentials.
    keystone: ClientConfig,
    /// Sessions by id: all of them (memory store), or the copies this instance holds (shared).
    open: RwLock<HashMap<Arc<str>, Arc<Session>>>,
    /// Failed logins (and admin tokens) lately, and attempts in flight.
    throttle: Throttle,
    /// Where sessions live.
    store: SessionStore,
    /// Unused stream tickets.
    tickets: Tickets,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("config", &self.config)
            .field("open", &self.count())
            .field("store", &self.store)
            .finish()
    }
}

impl Sessions {
    /// Sessions authenticated against the Keystone of `keystone` (its user, password and
    /// project are replaced by each user's own).
    pub fn new(config: SessionConfig, keystone: ClientConfig) -> Self {
        Self::with_store(config, keystone, SessionStore::Memory)
    }

    /// [`Sessions::new`], kept in `store`.
    pub fn with_store(config: SessionConfig, keystone: ClientConfig, store: SessionStore) -> Self {
        Self {
            throttle: Throttle::new(config.throttle.clone()),
            config,
            keystone,
            open: RwLock::new(HashMap::new()),
            store,
            tickets: Tickets::default(),
        }
    }

    /// The same, counting failed logins and admin tokens in `ledger` (shared by a cluster).
    pub fn throttled_by(mut self, ledger: Arc<dyn Ledger>) -> Self {
        self.throttle = Throttle::with_ledger(self.config.throttle.clone(), ledger);
        self
    }

    /// The throttle of failed logins and admin tokens.
    pub fn throttle(&self) -> &Throttle {
        &self.throttle
    }

    /// How sessions are kept.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// How many sessions are open (with a shared store: how many this instance holds).
    pub fn count(&self) -> usize {
        self.open.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Authenticates `username` with `password` against Keystone and opens a session covering
    /// every project the user has a role on, or only `project` (a name or an id) when given.
    /// The attempt is reserved with the throttle first, as coming from `client`; refused, it
    /// never reaches Keystone.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        project: Option<&str>,
        client: Option<IpAddr>,
    ) -> Result<Arc<Session>, RpcError> {
        let attempt = self.throttle.login(username, client).await?;
        let opened = self.open_session(username, password, project).await;
        attempt.settle(match &opened {
            Ok(_) => Outcome::Success,
            Err(error) if error.code == ErrorCode::Unauthorized => Outcome::Failure,
            // No role on the project asked for: the password was right.
            Err(error) if error.code == ErrorCode::Forbidden => Outcome::Success,
            Err(_) => Outcome::Neutral,
        });
        if let Ok(session) = &opened {
            self.bound_sessions_of(session);
        }
        opened
    }

    /// Ends the oldest sessions of `session`'s user beyond [`MAX_SESSIONS_PER_USER`] (a shared
    /// store did so when the session was saved).
    fn bound_sessions_of(&self, session: &Session) {
        if matches!(self.store, SessionStore::Shared(_)) {
            return;
        }
        let mut theirs: Vec<(Instant, Arc<str>)> = self
            .open
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|s| s.user_id == session.user_id)
            .map(|s| (s.created, Arc::clone(&s.id)))
            .collect();
        if theirs.len() <= MAX_SESSIONS_PER_USER {
            return;
        }
        theirs.sort();
        let excess = theirs.len() - MAX_SESSIONS_PER_USER;
        for (_, id) in theirs.into_iter().take(excess) {
            self.end_here(&id);
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
        let visibility = visibility_of(admin, &access);
        let now = Instant::now();
        let token = new_token();
        let session = Arc::new(Session {
            id: Arc::from(session_id(&token)),
            token,
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
            checked: AtomicU64::new(1),
            streams: AtomicUsize::new(0),
            calls: Arc::new(tokio::sync::Semaphore::new(self.config.max_calls.max(1))),
            ended: CancellationToken::new(),
        });
        if let SessionStore::Shared(store) = &self.store {
            let credentials = Credentials {
                username,
                password,
                project,
            };
            self.save(store.as_ref(), &session, credentials).await?;
        }
        self.keep(Arc::clone(&session));
        tracing::info!(
            user = session.user_name.as_str(),
            projects = session.projects.len(),
            admin,
            "session opened"
        );
        Ok(session)
    }

    /// The session a request presents, if it is open here; marks it used. With a shared
    /// store, this is the copy [`Sessions::admit`] loaded or confirmed for the request (its
    /// idle time is the store's to tell).
    pub fn find(&self, meta: &RequestMeta) -> Option<Arc<Session>> {
        let token = presented_token(meta)?;
        let session = self.local(&session_id(&token))?;
        let now = Instant::now();
        let over = match self.store {
            SessionStore::Memory => session.is_over(now, self.config.idle_timeout),
            SessionStore::Shared(_) => now >= session.expires,
        };
        if over {
            self.end_here(&session.id);
            return None;
        }
        session.touch();
        Some(session)
    }

    /// The registry's guard: the session a call of `kind` presents, wherever it was opened. In
    /// memory this is [`Sessions::require`]; with a shared store it loads the session or
    /// confirms this instance's copy first. Connection parameters that came in a URL never
    /// carry a session token (`UNAUTHORIZED` says to use a ticket); there a subscription may
    /// present a stream ticket, which is used up and then stands for its session for the rest
    /// of the request.
    pub async fn admit(
        &self,
        meta: &RequestMeta,
        kind: ProcedureKind,
    ) -> Result<Arc<Session>, RpcError> {
        if presented_token(meta).is_none() {
            self.redeem_ticket(meta, kind)?;
        }
        match &self.store {
            SessionStore::Memory => self.require(meta),
            SessionStore::Shared(store) => self.admit_shared(store.as_ref(), meta).await,
        }
    }

    /// Takes the stream ticket in the URL's connection parameters of a subscription, so that
    /// it stands for its session for the rest of the request; refuses a session token there.
    fn redeem_ticket(&self, meta: &RequestMeta, kind: ProcedureKind) -> Result<(), RpcError> {
        let url_params = meta
            .connection_params
            .as_ref()
            .filter(|_| meta.connection_params_in_url);
        let Some(params) = url_params else {
            return Err(no_session());
        };
        if params.contains_key("token") {
            return Err(RpcError::new(
                ErrorCode::Unauthorized,
                "a session token is not accepted in a URL: send it as a header or cookie, or \
                 open the stream with a ticket from auth.streamTicket",
            ));
        }
        let ticket = params
            .get("ticket")
            .filter(|_| kind == ProcedureKind::Subscription);
        let token = ticket
            .and_then(|ticket| self.tickets.redeem(ticket))
            .ok_or_else(|| {
                RpcError::new(
                    ErrorCode::Unauthorized,
                    "the stream ticket is unknown, used or expired (tickets open one \
                     subscription, once)",
                )
            })?;
        meta.locals.insert(Redeemed(token));
        Ok(())
    }

    /// A new stream ticket for `session`, valid for [`SessionConfig::ticket_ttl`].
    pub fn issue_ticket(&self, session: &Session) -> Result<String, RpcError> {
        self.tickets.issue(&session.token, self.config.ticket_ttl)
    }

    /// This instance's session (or copy) with `id`.
    fn local(&self, id: &str) -> Option<Arc<Session>> {
        self.open
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// Keeps `session` here (a copy already kept for its id wins: it may hold streams).
    fn keep(&self, session: Arc<Session>) -> Arc<Session> {
        let mut open = self.open.write().unwrap_or_else(|e| e.into_inner());
        Arc::clone(
            open.entry(Arc::clone(&session.id))
                .or_insert_with(|| session),
        )
    }

    /// The session a request presents, or `UNAUTHORIZED`.
    pub fn require(&self, meta: &RequestMeta) -> Result<Arc<Session>, RpcError> {
        self.find(meta).ok_or_else(no_session)
    }

    /// Ends this instance's session (or copy) with `id`, if any: its streams end and its
    /// Keystone tokens are revoked in the background.
    fn end_here(&self, id: &str) -> bool {
        let Some(session) = self.forget(id) else {
            return false;
        };
        session.ended.cancel();
        self.tickets.forget(&session.token);
        tracing::info!(user = session.user_name.as_str(), "session ended");
        true
    }

    /// Drops this instance's session (or copy) with `id` and revokes its Keystone tokens in
    /// the background; its streams go on until they end or [`Session::ended`] is cancelled.
    fn forget(&self, id: &str) -> Option<Arc<Session>> {
        let session = self
            .open
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id)?;
        let client = session.client.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { client.revoke_tokens().await });
        }
        Some(session)
    }

    /// Ends the session with `id` everywhere: here, and in the shared store (whose other
    /// instances end their copies when they hear of it).
    async fn end(&self, id: &str) -> Result<(), RpcError> {
        self.end_here(id);
        match &self.store {
            SessionStore::Memory => Ok(()),
            SessionStore::Shared(store) => store.remove(id).await.map_err(|error| {
                tracing::warn!(error = %error, "cannot end a session in the shared store");
                store_unavailable()
            }),
        }
    }

    /// Ends the session a request presents, if any. Fails (`SERVICE_UNAVAILABLE`) only when a
    /// shared store cannot be told, so the session may go on elsewhere until its idle time-out.
    pub async fn end_presented(&self, meta: &RequestMeta) -> Result<(), RpcError> {
        match presented_token(meta) {
            Some(token) => self.end(&session_id(&token)).await,
            None => Ok(()),
        }
    }

    /// Another instance ended the session with `id`: ends this instance's copy.
    pub fn ended_elsewhere(&self, id: &str) {
        if self.end_here(id) {
            tracing::debug!("session ended by another instance");
        }
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
            .map(|s| Arc::clone(&s.id))
            .collect();
        stale.iter().filter(|id| self.end_here(id)).count()
    }

    /// Sweeps every `period` until `stop` is cancelled (with a shared store, at least every
    /// recheck interval, which keeps the records of sessions with open streams alive).
    pub async fn run_sweeper(self: Arc<Self>, period: Duration, stop: CancellationToken) {
        let period = match &self.store {
            SessionStore::Memory => period,
            SessionStore::Shared(_) => {
                period.min(super::store::recheck_interval(self.config.idle_timeout))
            }
        };
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = ticks.tick() => {
                    let ended = match &self.store {
                        SessionStore::Memory => self.sweep(),
                        SessionStore::Shared(store) => self.sweep_shared(store.as_ref()).await,
                    };
                    if ended > 0 {
                        tracing::debug!(ended, "idle or expired sessions ended");
                    }
                }
            }
        }
    }

    /// The `Set-Cookie` value that stores `session` in the browser. `Secure` when configured,
    /// or when a trusted proxy says the request came over TLS.
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
            || self
                .config
                .proxies
                .forwarded(meta, "proto")
                .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
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

/// The token of the session a stream ticket stood for, kept for the rest of its request.
#[derive(Clone)]
struct Redeemed(Arc<str>);

/// 64 hex digits from 32 random bytes: a session token or a stream ticket.
pub(super) fn new_token() -> Arc<str> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Arc::from(hex)
}

/// The token a request presents: `Authorization: Bearer`, then the session cookie, then the
/// `token` connection parameter unless the parameters came in a URL (the tRPC WebSocket's
/// first frame carries it; a URL is logged and kept in histories).
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
    let params = meta
        .connection_params
        .as_ref()
        .filter(|_| !meta.connection_params_in_url)
        .and_then(|params| params.get("token"))
        .filter(|t| !t.is_empty())
        .cloned();
    // A stream ticket the guard redeemed for this request stands for its session.
    params.or_else(|| meta.locals.get::<Redeemed>().map(|r| r.0.to_string()))
}

/// What a session with these roles may see.
fn visibility_of(admin: bool, access: &BTreeMap<String, ProjectAccess>) -> Visibility {
    if admin {
        Visibility::All
    } else {
        Visibility::Projects(Arc::new(ProjectSet::new(access.keys().cloned())))
    }
}

/// Refused for want of a session.
fn no_session() -> RpcError {
    RpcError::new(
        ErrorCode::Unauthorized,
        "log in first (auth.login): no valid session",
    )
}

/// The shared session store cannot be reached.
fn store_unavailable() -> RpcError {
    RpcError::new(
        ErrorCode::ServiceUnavailable,
        "sessions are unavailable: the session store cannot be reached; try again",
    )
}

/// What a login was made with, for the sealed record.
struct Credentials<'a> {
    username: &'a str,
    password: &'a str,
    project: Option<&'a str>,
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
        with_params.connection_params_in_url = true;
        assert_eq!(presented_token(&with_params), None, "never from a URL");
        assert_eq!(presented_token(&meta(&[("cookie", "other=1")])), None);
        assert_eq!(
            presented_token(&meta(&[("authorization", "Basic x")])),
            None
        );
    }

    #[test]
    fn session_tokens_are_long_and_distinct() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
