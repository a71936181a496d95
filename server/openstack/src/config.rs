//! How to reach and authenticate against an OpenStack cloud.

use std::sync::Arc;
use std::time::Duration;

use crate::error::Service;

/// Told about every HTTP attempt to a service: the status it answered (`None` when there was
/// no answer: time-out, refused connection) and how long it took. For metrics.
pub type Observer = Arc<dyn Fn(Service, Option<u16>, Duration) + Send + Sync>;

/// Credentials, home project and transport policy for a [`crate::Client`].
///
/// The password is never logged: `Debug` prints it as `***`.
#[derive(Clone)]
pub struct ClientConfig {
    /// Keystone v3 root, e.g. `http://cloud:5000/v3` (tokens are at `{auth_url}/auth/tokens`).
    pub auth_url: String,
    /// User name for password authentication.
    pub username: String,
    /// Password for password authentication.
    pub password: String,
    /// The home project: listings run in its scope (with `all_tenants=1` where needed), so this
    /// user should be an admin of it to see every project.
    pub project_name: String,
    /// Domain of the user (usually `Default`).
    pub user_domain_name: String,
    /// Domain of the home project (usually `Default`).
    pub project_domain_name: String,
    /// Time-out for one HTTP attempt (connect + answer).
    pub timeout: Duration,
    /// How many times a GET is retried after a connect error, a dropped connection or a
    /// 502/503/504; mutations are only retried when the connection was never made.
    pub retries: u32,
    /// Delay before the first retry; it doubles for each further retry.
    pub retry_backoff: Duration,
    /// After a service refuses a freshly issued token (or Keystone refuses the password), how
    /// long calls in that scope go without a new password login; it doubles while the refusals
    /// go on, up to five minutes, and ends at the first accepted call.
    pub refusal_backoff: Duration,
    /// Which catalog interface to use (`public`, `internal` or `admin`).
    pub interface: String,
    /// Restrict catalog endpoints to this region; `None` takes the first match.
    pub region: Option<String>,
    /// Told about every upstream attempt (metrics); `None` by default.
    pub observer: Option<Observer>,
}

impl ClientConfig {
    /// A configuration with the usual defaults: `Default` domains, 10 s time-out, 2 retries from
    /// 100 ms, 10 s without logins after a refusal, public interface, any region.
    pub fn new(
        auth_url: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<String>,
        project_name: impl Into<String>,
    ) -> Self {
        Self {
            auth_url: auth_url.into(),
            username: username.into(),
            password: password.into(),
            project_name: project_name.into(),
            user_domain_name: "Default".to_owned(),
            project_domain_name: "Default".to_owned(),
            timeout: Duration::from_secs(10),
            retries: 2,
            retry_backoff: Duration::from_millis(100),
            refusal_backoff: Duration::from_secs(10),
            interface: "public".to_owned(),
            region: None,
            observer: None,
        }
    }
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("auth_url", &self.auth_url)
            .field("username", &self.username)
            .field("password", &"***")
            .field("project_name", &self.project_name)
            .field("user_domain_name", &self.user_domain_name)
            .field("project_domain_name", &self.project_domain_name)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("retry_backoff", &self.retry_backoff)
            .field("refusal_backoff", &self.refusal_backoff)
            .field("interface", &self.interface)
            .field("region", &self.region)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}
