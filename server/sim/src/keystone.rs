//! The real Keystone a simulator may stand behind (`tidings sim --keystone URL`): it validates
//! the tokens callers present (`GET /v3/auth/tokens` with `X-Subject-Token`, as
//! keystonemiddleware does in front of every real service) with a token of the simulator's
//! own service user, and lists that Keystone's projects once at start. Validations, good and
//! bad, are cached for a bounded time (never past a token's expiry) in a bounded map.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;
use tracing::{info, warn};

use crate::config::KeystoneConfig;
use crate::model::identity::{Project, Role, User};
use crate::time::Stamp;

/// Longest token looked up; anything longer is refused without asking (Keystone's fernet
/// tokens are about 200 bytes, JWS ones under 1 KB).
const MAX_TOKEN_LEN: usize = 8192;
/// How long [`Keystone::connect_projects`] keeps trying a Keystone that does not answer yet.
const START_PATIENCE: Duration = Duration::from_secs(30);

/// Why Keystone could not tell.
#[derive(Debug)]
pub(crate) enum KeystoneError {
    /// No answer: refused connection, time-out, or a 5xx.
    Unreachable(String),
    /// Keystone refused the simulator's own credentials or their use.
    Refused(String),
    /// An answer of an unexpected shape.
    Decode(String),
}

impl std::fmt::Display for KeystoneError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unreachable(detail) => write!(f, "Keystone unreachable: {detail}"),
            Self::Refused(detail) => write!(f, "Keystone refused the simulator: {detail}"),
            Self::Decode(detail) => write!(f, "unexpected answer from Keystone: {detail}"),
        }
    }
}

impl std::error::Error for KeystoneError {}

/// What a valid token says of its holder.
#[derive(Clone, Debug)]
pub(crate) struct Validated {
    /// The token's user (no password: it lives in Keystone).
    pub user: User,
    /// The project it is scoped to, if any.
    pub project: Option<Project>,
    /// Its roles, implied ones included (Keystone expands them in the token).
    pub roles: Vec<Role>,
    /// When it expires.
    expires: Stamp,
}

impl Validated {
    /// Whether the token carries the `admin` role (the services' `context_is_admin`).
    pub(crate) fn is_admin(&self) -> bool {
        self.roles.iter().any(|r| r.name == "admin")
    }
}

/// The client: the HTTP pool, the service token and the validation cache.
pub(crate) struct Keystone {
    http: reqwest::Client,
    config: KeystoneConfig,
    /// The service user's token; the lock is held while authenticating so that concurrent
    /// validations share one round trip.
    service: tokio::sync::Mutex<Option<ServiceToken>>,
    cache: Mutex<Cache>,
}

struct ServiceToken {
    value: String,
    renew_at: Instant,
}

impl Keystone {
    /// A client for `config`; nothing is asked of Keystone yet.
    pub(crate) fn new(config: KeystoneConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .unwrap_or_default();
        let cache = Cache::new(config.cache_size);
        Self {
            http,
            config,
            service: tokio::sync::Mutex::new(None),
            cache: Mutex::new(cache),
        }
    }

    /// Keystone's projects, asked for with the service token; `None` when the service user
    /// may not list them (projects are then taken up as their tokens arrive). Waits up to
    /// [`START_PATIENCE`] for a Keystone that does not answer yet.
    pub(crate) async fn connect_projects(&self) -> Result<Option<Vec<Project>>, KeystoneError> {
        let deadline = Instant::now() + START_PATIENCE;
        loop {
            match self.projects().await {
                Err(KeystoneError::Unreachable(detail)) if Instant::now() < deadline => {
                    info!(detail = %detail, "waiting for Keystone");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                other => return other,
            }
        }
    }

    async fn projects(&self) -> Result<Option<Vec<Project>>, KeystoneError> {
        #[derive(Deserialize)]
        struct Projects {
            projects: Vec<RawProject>,
        }
        #[derive(Deserialize)]
        struct RawProject {
            id: String,
            name: String,
            #[serde(default)]
            description: Option<String>,
        }
        let service = self.service_token().await?;
        let response = self
            .http
            .get(format!("{}/projects", self.config.url))
            .header("x-auth-token", service)
            .send()
            .await
            .map_err(unreachable)?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::FORBIDDEN => {
                warn!(
                    user = self.config.username.as_str(),
                    "the simulator's user may not list Keystone's projects: they are taken up \
                     as their tokens arrive, with nothing in them"
                );
                return Ok(None);
            }
            status => return Err(failure(status, "listing projects")),
        }
        let body: Projects = response.json().await.map_err(decode)?;
        Ok(Some(
            body.projects
                .into_iter()
                .map(|p| Project {
                    id: p.id,
                    name: p.name,
                    description: p.description.unwrap_or_default(),
                })
                .collect(),
        ))
    }

    /// What `token` says of its holder, `None` when Keystone does not accept it; from the cache
    /// while a previous answer is fresh.
    pub(crate) async fn validate(
        &self,
        token: &str,
    ) -> Result<Option<Arc<Validated>>, KeystoneError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Ok(None);
        }
        if let Some(known) = self.cache().get(token, Instant::now()) {
            return Ok(known);
        }
        let outcome = self.ask(token).await?.map(Arc::new);
        let now = Instant::now();
        let mut until = now + self.config.cache_ttl;
        if let Some(validated) = &outcome {
            until = until.min(now + validated.expires.after_now());
        }
        self.cache().put(token, outcome.clone(), until, now);
        Ok(outcome)
    }

    /// Asks Keystone about `token`; once more with a new service token when Keystone no longer
    /// takes the one held (expired, revoked).
    async fn ask(&self, token: &str) -> Result<Option<Validated>, KeystoneError> {
        let mut renewed = false;
        loop {
            let service = self.service_token().await?;
            let response = self
                .http
                .get(format!("{}/auth/tokens?nocatalog", self.config.url))
                .header("x-auth-token", &service)
                .header("x-subject-token", token)
                .send()
                .await
                .map_err(unreachable)?;
            match response.status() {
                StatusCode::OK => {
                    let body: TokenEnvelope = response.json().await.map_err(decode)?;
                    return Ok(body.token.validated());
                }
                StatusCode::NOT_FOUND => return Ok(None),
                StatusCode::UNAUTHORIZED if !renewed => {
                    self.forget_service_token(&service).await;
                    renewed = true;
                }
                status => return Err(failure(status, "validating a token")),
            }
        }
    }

    /// The service user's token, authenticating when there is none or it is due for renewal.
    async fn service_token(&self) -> Result<String, KeystoneError> {
        let mut held = self.service.lock().await;
        if let Some(token) = held.as_ref()
            && token.renew_at > Instant::now()
        {
            return Ok(token.value.clone());
        }
        let token = self.authenticate().await?;
        let value = token.value.clone();
        *held = Some(token);
        Ok(value)
    }

    async fn forget_service_token(&self, value: &str) {
        let mut held = self.service.lock().await;
        if held.as_ref().is_some_and(|t| t.value == value) {
            *held = None;
        }
    }

    /// `POST /v3/auth/tokens` as the service user, scoped to its project.
    async fn authenticate(&self) -> Result<ServiceToken, KeystoneError> {
        let config = &self.config;
        let domain = json!({ "name": config.domain });
        let body = json!({ "auth": {
            "identity": { "methods": ["password"], "password": { "user": {
                "name": config.username, "domain": domain, "password": config.password,
            } } },
            "scope": { "project": { "name": config.project, "domain": domain } },
        } });
        let response = self
            .http
            .post(format!("{}/auth/tokens?nocatalog", config.url))
            .json(&body)
            .send()
            .await
            .map_err(unreachable)?;
        if response.status() != StatusCode::CREATED {
            return Err(failure(response.status(), "authenticating the simulator"));
        }
        let value = response
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| KeystoneError::Decode("no X-Subject-Token on a new token".into()))?;
        let body: TokenEnvelope = response.json().await.map_err(decode)?;
        let lifetime = Stamp::parse(&body.token.expires_at)
            .map(Stamp::after_now)
            .unwrap_or_default();
        Ok(ServiceToken {
            value,
            // Well before it expires, so that no validation is made with a dying token.
            renew_at: Instant::now() + lifetime * 3 / 4,
        })
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn unreachable(error: reqwest::Error) -> KeystoneError {
    KeystoneError::Unreachable(error.without_url().to_string())
}

fn decode(error: reqwest::Error) -> KeystoneError {
    KeystoneError::Decode(error.without_url().to_string())
}

fn failure(status: StatusCode, doing: &str) -> KeystoneError {
    let detail = format!("{doing}: HTTP {}", status.as_u16());
    if status.is_server_error() {
        KeystoneError::Unreachable(detail)
    } else {
        KeystoneError::Refused(detail)
    }
}

#[derive(Deserialize)]
struct TokenEnvelope {
    token: TokenBody,
}

#[derive(Deserialize)]
struct TokenBody {
    user: Named,
    #[serde(default)]
    project: Option<Named>,
    #[serde(default)]
    roles: Vec<Named>,
    expires_at: String,
}

#[derive(Deserialize)]
struct Named {
    id: String,
    #[serde(default)]
    name: String,
}

impl TokenBody {
    /// The holder of a token Keystone called valid; `None` when it has in fact expired.
    fn validated(self) -> Option<Validated> {
        let expires = Stamp::parse(&self.expires_at)?;
        (expires > Stamp::now()).then(|| Validated {
            user: User {
                id: self.user.id,
                name: self.user.name,
                password: String::new(),
            },
            project: self.project.map(|p| Project {
                id: p.id,
                name: p.name,
                description: String::new(),
            }),
            roles: self
                .roles
                .into_iter()
                .map(|r| Role {
                    id: r.id,
                    name: r.name,
                })
                .collect(),
            expires,
        })
    }
}

/// Validations by token: each holds until its `until`; at capacity the expired ones go, then
/// the one that ends soonest.
struct Cache {
    entries: HashMap<String, Entry>,
    capacity: usize,
}

struct Entry {
    outcome: Option<Arc<Validated>>,
    until: Instant,
}

impl Cache {
    fn new(capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            capacity,
        }
    }

    /// The cached outcome for `token` (`Some(None)`: known to be invalid), if still fresh.
    fn get(&mut self, token: &str, now: Instant) -> Option<Option<Arc<Validated>>> {
        let entry = self.entries.get(token)?;
        if entry.until > now {
            return Some(entry.outcome.clone());
        }
        self.entries.remove(token);
        None
    }

    fn put(&mut self, token: &str, outcome: Option<Arc<Validated>>, until: Instant, now: Instant) {
        if self.capacity == 0 || until <= now {
            return;
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(token) {
            self.entries.retain(|_, e| e.until > now);
            if self.entries.len() >= self.capacity {
                let soonest = self
                    .entries
                    .iter()
                    .min_by_key(|(_, e)| e.until)
                    .map(|(k, _)| k.clone());
                if let Some(soonest) = soonest {
                    self.entries.remove(&soonest);
                }
            }
        }
        self.entries
            .insert(token.to_owned(), Entry { outcome, until });
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(name: &str) -> Option<Arc<Validated>> {
        Some(Arc::new(Validated {
            user: User {
                id: name.into(),
                name: name.into(),
                password: String::new(),
            },
            project: None,
            roles: Vec::new(),
            expires: Stamp::now().plus(Duration::from_secs(60)),
        }))
    }

    #[test]
    fn the_cache_forgets_what_is_stale_and_keeps_to_its_size() {
        let now = Instant::now();
        let later = |s| now + Duration::from_secs(s);
        let mut cache = Cache::new(2);
        cache.put("a", holder("a"), later(10), now);
        cache.put("bad", None, later(20), now);
        assert_eq!(cache.get("a", now).unwrap().unwrap().user.id, "a");
        assert!(
            cache.get("bad", now).unwrap().is_none(),
            "a refusal is cached too"
        );
        assert!(cache.get("a", later(10)).is_none(), "stale at its end");
        // Full: the entry that ends soonest makes room.
        cache.put("a", holder("a"), later(10), now);
        cache.put("c", holder("c"), later(30), now);
        assert_eq!(cache.len(), 2);
        assert!(cache.get("a", now).is_none());
        assert!(cache.get("bad", now).is_some() && cache.get("c", now).is_some());
        // Nothing already over is kept, and a cache of size 0 keeps nothing.
        cache.put("d", holder("d"), now, now);
        assert!(cache.get("d", now).is_none());
        let mut none = Cache::new(0);
        none.put("a", holder("a"), later(10), now);
        assert!(none.get("a", now).is_none());
    }

    #[test]
    fn a_token_body_tells_user_project_and_roles() {
        let body: TokenEnvelope = serde_json::from_value(json!({ "token": {
            "user": { "id": "u1", "name": "alice", "domain": { "id": "default" } },
            "project": { "id": "p1", "name": "demo", "domain": { "id": "default" } },
            "roles": [{ "id": "r1", "name": "member" }, { "id": "r2", "name": "reader" }],
            "expires_at": "2999-01-01T00:00:00.000000Z",
            "methods": ["password"],
        } }))
        .unwrap();
        let validated = body.token.validated().unwrap();
        assert_eq!(validated.user.name, "alice");
        assert_eq!(validated.project.as_ref().unwrap().id, "p1");
        assert_eq!(validated.roles.len(), 2);
        assert!(!validated.is_admin());
        let expired: TokenEnvelope = serde_json::from_value(json!({ "token": {
            "user": { "id": "u1" }, "expires_at": "2001-01-01T00:00:00Z",
        } }))
        .unwrap();
        assert!(expired.token.validated().is_none());
    }
}
