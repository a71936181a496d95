//! The `Client`: token cache, and one request path with time-outs, retries and re-authentication
//! that every service module goes through.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

use crate::auth::{self, RawTokenEnvelope, Scope, Token};
use crate::config::ClientConfig;
use crate::error::{Error, Service, error_message};
use crate::model::Session;
use crate::path::{self, Path};

/// Most HTTP requests one client (and every handle on it) has in flight at once; further ones
/// wait. A user's session has a client of its own, so this bounds what one user can ask of the
/// upstream at a time, whatever reaches the server.
const MAX_REQUESTS_IN_FLIGHT: usize = 32;
/// Most idle connections kept per upstream host.
const MAX_IDLE_PER_HOST: usize = 8;
/// How long an idle upstream connection is kept.
const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// The longest wait between password logins while a refusal goes on.
const MAX_REFUSAL_BACKOFF: std::time::Duration = std::time::Duration::from_secs(300);

/// An OpenStack client; cheap to clone (an `Arc` inside), safe to share between tasks.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    /// What [`Scope::Home`] means for this handle: the configured home, or a project chosen
    /// with [`Client::in_project`] (handles share tokens and connections).
    home: Scope,
}

struct Inner {
    /// Connection pool.
    http: reqwest::Client,
    /// Slots of the requests in flight ([`MAX_REQUESTS_IN_FLIGHT`]).
    in_flight: tokio::sync::Semaphore,
    /// Credentials and transport policy.
    config: ClientConfig,
    /// Tokens by scope; the lock is held while authenticating so concurrent callers share one
    /// Keystone round trip.
    tokens: Mutex<HashMap<Scope, Arc<Token>>>,
    /// Refusals going on, by scope and service ([`Service::Identity`]: Keystone refused the
    /// password): until each one's back-off ends, no password login is made for it.
    refusals: std::sync::Mutex<HashMap<(Scope, Service), Refusal>>,
}

/// A refusal going on: when a password login may be tried again, and the wait after that one.
#[derive(Debug, Clone)]
struct Refusal {
    until: std::time::Instant,
    backoff: std::time::Duration,
    /// What the refusing side said last.
    message: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// One request to a service, relative to its catalog endpoint.
pub(crate) struct Call {
    service: Service,
    scope: Scope,
    method: Method,
    /// Segments and query, encoded only by [`path::url`].
    path: Path,
    body: Option<serde_json::Value>,
    content_type: &'static str,
    /// Whether `path` is relative to the service root rather than the versioned endpoint.
    at_root: bool,
}

impl Call {
    /// A request of `method` to the path of `segments` (literal names and ids alike, each one
    /// segment, appended to the service's base URL) in the home scope.
    pub(crate) fn new<S: AsRef<str>>(
        service: Service,
        method: Method,
        segments: impl IntoIterator<Item = S>,
    ) -> Self {
        Self::to(service, method, Path::new(segments))
    }

    /// A request of `method` to `path` in the home scope.
    pub(crate) fn to(service: Service, method: Method, path: Path) -> Self {
        Self {
            service,
            scope: Scope::Home,
            method,
            path,
            body: None,
            content_type: "application/json",
            at_root: false,
        }
    }

    /// A GET request to the path of `segments`.
    pub(crate) fn get<S: AsRef<str>>(
        service: Service,
        segments: impl IntoIterator<Item = S>,
    ) -> Self {
        Self::new(service, Method::GET, segments)
    }

    /// Adds a query parameter.
    pub(crate) fn query(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.path.query.push((key.to_owned(), value.into()));
        self
    }

    /// Sends a JSON body.
    pub(crate) fn json(mut self, body: serde_json::Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Overrides the body's content type (Glance's JSON-patch media type).
    pub(crate) fn content_type(mut self, content_type: &'static str) -> Self {
        self.content_type = content_type;
        self
    }

    /// Runs the request with a token scoped to `project_id`.
    pub(crate) fn in_project(mut self, project_id: &str) -> Self {
        self.scope = Scope::Project(project_id.to_owned());
        self
    }

    /// Resolves the path against the service root (where the version document lives).
    pub(crate) fn at_service_root(mut self) -> Self {
        self.at_root = true;
        self
    }

    fn is_idempotent(&self) -> bool {
        self.method == Method::GET || self.method == Method::HEAD
    }
}

/// How a failed attempt may be repeated.
enum Retry {
    /// The request never reached the server: safe for any method.
    Always,
    /// The server may have acted: only safe for reads.
    IfIdempotent,
    /// Do not repeat.
    Never,
}

impl Client {
    /// Builds a client. No request is made until the first call.
    pub fn new(config: ClientConfig) -> Result<Client, Error> {
        if !config.auth_url.starts_with("http://") && !config.auth_url.starts_with("https://") {
            return Err(Error::Config(format!(
                "auth_url must be an http(s) URL, got {:?}",
                config.auth_url
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .pool_max_idle_per_host(MAX_IDLE_PER_HOST)
            .pool_idle_timeout(IDLE_TIMEOUT)
            .user_agent(concat!("tidings-openstack/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                in_flight: tokio::sync::Semaphore::new(MAX_REQUESTS_IN_FLIGHT),
                config,
                tokens: Mutex::new(HashMap::new()),
                refusals: std::sync::Mutex::new(HashMap::new()),
            }),
            home: Scope::Home,
        })
    }

    /// A handle on the same client (same credentials, tokens and connections) whose calls run
    /// in `project_id`'s scope: a user acting in one of their projects.
    pub fn in_project(&self, project_id: &str) -> Client {
        Client {
            inner: Arc::clone(&self.inner),
            home: Scope::Project(project_id.to_owned()),
        }
    }

    /// Who the client is in `project_id`: its roles there (authenticating in that scope if
    /// needed). Fails with [`Error::Status`] 401 when the user has no role on the project.
    pub async fn session_in(&self, project_id: &str) -> Result<Session, Error> {
        Ok(self
            .token(&Scope::Project(project_id.to_owned()))
            .await?
            .session())
    }

    /// Revokes every token this client holds (`DELETE /v3/auth/tokens`), best effort: a token
    /// Keystone no longer knows is gone already. Later calls authenticate again.
    pub async fn revoke_tokens(&self) {
        let tokens: Vec<Arc<Token>> = {
            let mut held = self.inner.tokens.lock().await;
            held.drain().map(|(_, token)| token).collect()
        };
        let url = match path::url(&self.inner.config.auth_url, &Path::new(["auth", "tokens"])) {
            Ok(url) => url,
            Err(error) => {
                tracing::debug!(error = %error, "cannot revoke tokens");
                return;
            }
        };
        for token in tokens {
            let request = self
                .inner
                .http
                .delete(url.clone())
                .header("X-Auth-Token", &token.value)
                .header("X-Subject-Token", &token.value);
            if let (Err(error), _) = self.attempt(Service::Identity, request).await {
                tracing::debug!(error = %error, "revoking a token failed");
            }
        }
    }

    /// Who the client is authenticated as (authenticating if needed).
    pub async fn session(&self) -> Result<Session, Error> {
        Ok(self.token(&self.home).await?.session())
    }

    /// Runs a call and decodes its JSON answer.
    pub(crate) async fn fetch<T: DeserializeOwned>(&self, call: Call) -> Result<T, Error> {
        let service = call.service;
        let body = self.execute(call).await?;
        decode(service, &body)
    }

    /// Runs a call whose answer body does not matter (actions, deletes).
    pub(crate) async fn send(&self, call: Call) -> Result<(), Error> {
        self.execute(call).await.map(drop)
    }

    /// The base URL of a service in the home scope.
    pub(crate) async fn endpoint(&self, service: Service) -> Result<String, Error> {
        self.token(&self.home)
            .await?
            .endpoint(service, &self.inner.config)
    }

    /// Runs a call: picks the token for its scope, retries per policy, and authenticates again
    /// once if the service refuses the token. A fresh token refused too is [`Error::Refused`],
    /// and until the refusal's back-off ends further refusals are answered without a login.
    async fn execute(&self, call: Call) -> Result<Bytes, Error> {
        let scope = self.resolve(&call.scope);
        let mut token = self.token(&scope).await?;
        let mut renewed = false;
        loop {
            let mut base = token.endpoint(call.service, &self.inner.config)?;
            if call.at_root {
                base = auth::service_root(&base).to_owned();
            }
            let url = path::url(&base, &call.path)?;
            match self.send_with_retries(&call, &url, &token.value).await {
                Err(Error::Status {
                    status: 401,
                    message,
                    ..
                }) => {
                    if renewed || self.refusing(&scope, call.service).is_some() {
                        return Err(self.refused(&scope, call.service, message, renewed));
                    }
                    tracing::warn!(
                        service = call.service.as_str(),
                        "token refused, authenticating again"
                    );
                    self.forget(&token).await;
                    token = self.token(&scope).await?;
                    renewed = true;
                }
                Ok(body) => {
                    self.accepted(&scope, call.service);
                    return Ok(body);
                }
                Err(other) => return Err(other),
            }
        }
    }

    /// The scope a call's scope stands for in this handle.
    fn resolve(&self, scope: &Scope) -> Scope {
        match scope {
            Scope::Home => self.home.clone(),
            other => other.clone(),
        }
    }

    /// The refusal by `service` in `scope` whose back-off has not ended yet.
    fn refusing(&self, scope: &Scope, service: Service) -> Option<Refusal> {
        let refusals = lock(&self.inner.refusals);
        refusals
            .get(&(scope.clone(), service))
            .filter(|refusal| std::time::Instant::now() < refusal.until)
            .cloned()
    }

    /// Records a refusal. `fresh` says a login was just made for it, so its back-off starts (or
    /// doubles); the first of a run is logged, the rest are not.
    fn refused(&self, scope: &Scope, service: Service, message: String, fresh: bool) -> Error {
        let mut refusals = lock(&self.inner.refusals);
        let key = (scope.clone(), service);
        let previous = refusals.get(&key).map(|r| r.backoff);
        if fresh || previous.is_none() {
            let backoff = previous.map_or(self.inner.config.refusal_backoff, |b| {
                (b * 2).min(MAX_REFUSAL_BACKOFF)
            });
            if previous.is_none() {
                tracing::error!(
                    service = service.as_str(),
                    user = self.inner.config.username.as_str(),
                    message = %message,
                    next_login_in = ?backoff,
                    "upstream refuses this client's credentials: an upstream configuration problem"
                );
            }
            let until = std::time::Instant::now() + backoff;
            let message = message.clone();
            refusals.insert(
                key,
                Refusal {
                    until,
                    backoff,
                    message,
                },
            );
        }
        match service {
            Service::Identity => Error::Auth(message),
            service => Error::Refused { service, message },
        }
    }

    /// Ends a refusal by `service` in `scope`, if one was going on.
    fn accepted(&self, scope: &Scope, service: Service) {
        let mut refusals = lock(&self.inner.refusals);
        if refusals.is_empty() {
            return;
        }
        if refusals.remove(&(scope.clone(), service)).is_some() {
            tracing::info!(
                service = service.as_str(),
                user = self.inner.config.username.as_str(),
                "upstream accepts this client's credentials again"
            );
        }
    }

    async fn send_with_retries(
        &self,
        call: &Call,
        url: &reqwest::Url,
        token: &str,
    ) -> Result<Bytes, Error> {
        let config = &self.inner.config;
        let mut delay = config.retry_backoff;
        let mut attempt = 0;
        loop {
            let mut request = self
                .inner
                .http
                .request(call.method.clone(), url.clone())
                .header("X-Auth-Token", token)
                .header("Accept", "application/json");
            if let Some(body) = &call.body {
                request = request
                    .header("Content-Type", call.content_type)
                    .body(body.to_string());
            }
            let (result, retry) = self.attempt(call.service, request).await;
            let retryable = match retry {
                Retry::Always => true,
                Retry::IfIdempotent => call.is_idempotent(),
                Retry::Never => false,
            };
            match result {
                Ok((_, body)) => return Ok(body),
                Err(error) if retryable && attempt < config.retries => {
                    attempt += 1;
                    tracing::warn!(
                        service = call.service.as_str(),
                        method = %call.method,
                        status = error.status(),
                        attempt,
                        error = %error,
                        "upstream call failed, retrying"
                    );
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// One HTTP attempt: the status and body of a 2xx answer, or the error with its retry policy.
    async fn attempt(
        &self,
        service: Service,
        request: reqwest::RequestBuilder,
    ) -> (Result<(reqwest::header::HeaderMap, Bytes), Error>, Retry) {
        let timeout = self.inner.config.timeout;
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                (Error::Timeout { service, timeout }, Retry::Never)
            } else if e.is_connect() {
                let detail = format!("cannot connect: {}", root_cause(&e));
                (Error::Unavailable { service, detail }, Retry::Always)
            } else {
                let detail = format!("connection failed: {}", root_cause(&e));
                (Error::Unavailable { service, detail }, Retry::IfIdempotent)
            }
        };
        // Never closed, so acquiring only waits.
        let _slot = self.inner.in_flight.acquire().await.ok();
        let started = std::time::Instant::now();
        let observe = |status: Option<u16>| {
            if let Some(observer) = &self.inner.config.observer {
                observer(service, status, started.elapsed());
            }
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                observe(None);
                let (error, retry) = transport(e);
                return (Err(error), retry);
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) => {
                observe(None);
                let (error, retry) = transport(e);
                return (Err(error), retry);
            }
        };
        observe(Some(status.as_u16()));
        if status.is_success() {
            return (Ok((headers, body)), Retry::Never);
        }
        let message = error_message(&body);
        if status == StatusCode::UNAUTHORIZED {
            // Refusals are logged by `execute`, once per run of them.
            tracing::debug!(service = service.as_str(), message = %message, "token refused");
        } else {
            tracing::warn!(
                service = service.as_str(),
                status = status.as_u16(),
                message = %message,
                "upstream answered with an error"
            );
        }
        let retry = match status {
            StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT => Retry::IfIdempotent,
            _ => Retry::Never,
        };
        let error = Error::Status {
            service,
            status: status.as_u16(),
            message,
        };
        (Err(error), retry)
    }

    /// The token for a scope, authenticating when there is none or it is due for renewal.
    pub(crate) async fn token(&self, scope: &Scope) -> Result<Arc<Token>, Error> {
        let scope = match scope {
            Scope::Home => &self.home,
            other => other,
        };
        let mut tokens = self.inner.tokens.lock().await;
        let scope = match scope {
            Scope::Project(id)
                if tokens
                    .get(&Scope::Home)
                    .is_some_and(|home| home.project_id() == Some(id.as_str())) =>
            {
                &Scope::Home
            }
            other => other,
        };
        if let Some(token) = tokens.get(scope).filter(|t| t.is_fresh()) {
            return Ok(token.clone());
        }
        if let Some(refusal) = self.refusing(scope, Service::Identity) {
            return Err(Error::Auth(refusal.message));
        }
        let token = match self.authenticate(scope).await {
            Ok(token) => Arc::new(token),
            Err(Error::Auth(message)) => {
                return Err(self.refused(scope, Service::Identity, message, true));
            }
            Err(other) => return Err(other),
        };
        self.accepted(scope, Service::Identity);
        tokens.insert(scope.clone(), token.clone());
        Ok(token)
    }

    /// Drops a refused token, unless another caller already replaced it.
    async fn forget(&self, refused: &Token) {
        let mut tokens = self.inner.tokens.lock().await;
        tokens.retain(|_, token| token.value != refused.value);
    }

    /// `POST {auth_url}/auth/tokens` with the password method.
    async fn authenticate(&self, scope: &Scope) -> Result<Token, Error> {
        let config = &self.inner.config;
        let url = path::url(&config.auth_url, &Path::new(["auth", "tokens"]))?;
        let body = auth::auth_body(config, scope).to_string();
        let mut delay = config.retry_backoff;
        let mut attempt = 0;
        let (headers, body) = loop {
            let request = self
                .inner
                .http
                .post(url.clone())
                .header("Content-Type", "application/json")
                .header("Accept", "application/json")
                .body(body.clone());
            // Issuing a token has no side effect to repeat, so it is retried like a read.
            match self.attempt(Service::Identity, request).await {
                (Ok(answer), _) => break answer,
                (Err(error), Retry::Always | Retry::IfIdempotent) if attempt < config.retries => {
                    attempt += 1;
                    tracing::warn!(service = "keystone", attempt, error = %error, "authentication failed, retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                (
                    Err(Error::Status {
                        status: 401,
                        message,
                        ..
                    }),
                    _,
                ) => {
                    return Err(Error::Auth(message));
                }
                (Err(error), _) => return Err(error),
            }
        };
        let value = headers
            .get("X-Subject-Token")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Error::Decode {
                service: Service::Identity,
                detail: "the token answer has no X-Subject-Token header".to_owned(),
            })?
            .to_owned();
        let envelope: RawTokenEnvelope = decode(Service::Identity, &body)?;
        tracing::debug!(
            user = config.username.as_str(),
            project = envelope.token.project.as_ref().map(|p| p.id.as_str()),
            expires_at = envelope.token.expires_at.as_str(),
            "authenticated"
        );
        Ok(Token::new(value, envelope.token))
    }
}

/// Locks `mutex`, ignoring poisoning: every critical section leaves its data consistent.
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Parses a JSON body, saying where it did not have the expected shape.
pub(crate) fn decode<T: DeserializeOwned>(service: Service, body: &[u8]) -> Result<T, Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| Error::Decode {
        service,
        detail: format!("at {}: {}", e.path(), e.inner()),
    })
}

/// The innermost cause of a transport error (reqwest's own message is generic).
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}
