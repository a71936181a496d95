//! Keystone v3 password tokens: the request body, the token with its catalog, its lifetime, and
//! how catalog URLs become the base URLs the service modules append their paths to.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::json;

use crate::config::ClientConfig;
use crate::error::{Error, Service};
use crate::model::{CatalogEndpoint, CatalogEntry, Session};

/// Which token a call runs with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Scope {
    /// The configured home project (by name), used for listings and admin actions.
    Home,
    /// A given project (by id), so that created resources belong to it.
    Project(String),
}

/// Renew a token this long before it expires at most.
const MAX_RENEW_MARGIN: Duration = Duration::from_secs(300);
/// Lifetime assumed when Keystone's dates cannot be read.
const FALLBACK_LIFETIME: Duration = Duration::from_secs(60);

/// An issued token with what it was issued for. `Debug` leaves out its value.
pub(crate) struct Token {
    /// The secret sent as `X-Auth-Token`; never logged.
    pub(crate) value: String,
    /// The token body Keystone returned.
    pub(crate) body: RawToken,
    /// When to authenticate again (local clock).
    pub(crate) renew_at: Instant,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("body", &self.body)
            .field("renew_at", &self.renew_at)
            .finish_non_exhaustive()
    }
}

/// The `token` object of `POST /v3/auth/tokens` (scoped or unscoped).
#[derive(Debug, Deserialize)]
pub(crate) struct RawToken {
    pub(crate) expires_at: String,
    #[serde(default)]
    pub(crate) issued_at: Option<String>,
    pub(crate) user: RawNamed,
    #[serde(default)]
    pub(crate) project: Option<RawNamed>,
    #[serde(default)]
    pub(crate) roles: Vec<RawNamed>,
    #[serde(default)]
    pub(crate) catalog: Option<Vec<RawCatalogEntry>>,
}

/// The `{"token": ..}` envelope.
#[derive(Debug, Deserialize)]
pub(crate) struct RawTokenEnvelope {
    pub(crate) token: RawToken,
}

/// An object with an id and a name (user, project, role).
#[derive(Debug, Deserialize)]
pub(crate) struct RawNamed {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) name: Option<String>,
}

/// A service of the catalog.
#[derive(Debug, Deserialize)]
pub(crate) struct RawCatalogEntry {
    #[serde(rename = "type")]
    pub(crate) service_type: String,
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) endpoints: Vec<RawEndpoint>,
}

/// An endpoint of a catalog service.
#[derive(Debug, Deserialize)]
pub(crate) struct RawEndpoint {
    pub(crate) interface: String,
    #[serde(default)]
    pub(crate) region_id: Option<String>,
    #[serde(default)]
    pub(crate) region: Option<String>,
    pub(crate) url: String,
}

impl From<RawCatalogEntry> for CatalogEntry {
    fn from(raw: RawCatalogEntry) -> Self {
        Self {
            service_type: raw.service_type,
            name: raw.name,
            endpoints: raw
                .endpoints
                .into_iter()
                .map(|e| CatalogEndpoint {
                    interface: e.interface,
                    region: e.region_id.or(e.region),
                    url: e.url,
                })
                .collect(),
        }
    }
}

/// The password-auth request body for a scope.
pub(crate) fn auth_body(config: &ClientConfig, scope: &Scope) -> serde_json::Value {
    let project = match scope {
        // No home project: an unscoped token (it carries no catalog; Keystone calls still work).
        Scope::Home if config.project_name.is_empty() => None,
        Scope::Home => Some(json!({
            "name": config.project_name,
            "domain": { "name": config.project_domain_name },
        })),
        Scope::Project(id) => Some(json!({ "id": id })),
    };
    let mut body = json!({
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": config.username,
                        "domain": { "name": config.user_domain_name },
                        "password": config.password,
                    }
                }
            }
        }
    });
    if let Some(project) = project {
        body["auth"]["scope"] = json!({ "project": project });
    }
    body
}

impl Token {
    /// Wraps a freshly issued token, planning its renewal from Keystone's own dates.
    pub(crate) fn new(value: String, body: RawToken) -> Self {
        let renew_at = Instant::now() + renew_after(&body);
        Self {
            value,
            body,
            renew_at,
        }
    }

    /// Whether the token may still be used.
    pub(crate) fn is_fresh(&self) -> bool {
        Instant::now() < self.renew_at
    }

    /// The project the token is scoped to.
    pub(crate) fn project_id(&self) -> Option<&str> {
        self.body.project.as_ref().map(|p| p.id.as_str())
    }

    /// Who the token belongs to.
    pub(crate) fn session(&self) -> Session {
        let body = &self.body;
        Session {
            user_id: body.user.id.clone(),
            user_name: body.user.name.clone().unwrap_or_default(),
            project_id: body.project.as_ref().map(|p| p.id.clone()),
            project_name: body.project.as_ref().and_then(|p| p.name.clone()),
            roles: body.roles.iter().filter_map(|r| r.name.clone()).collect(),
            expires_at: body.expires_at.clone(),
        }
    }

    /// The base URL for a service: the catalog URL normalized so that the service module can
    /// append its documented paths (`/servers`, `/volumes`, `/v2/images`, `/v2.0/networks`).
    pub(crate) fn endpoint(
        &self,
        service: Service,
        config: &ClientConfig,
    ) -> Result<String, Error> {
        let types: &[&str] = match service {
            Service::Identity => return Ok(trim_slash(&config.auth_url).to_owned()),
            Service::Compute => &["compute"],
            Service::Volume => &["volumev3", "block-storage"],
            Service::Image => &["image"],
            Service::Network => &["network"],
        };
        let url = self.catalog_url(types, config).ok_or_else(|| {
            Error::Config(format!(
                "the service catalog has no {} endpoint ({}) for the {} interface",
                service,
                types.join(" or "),
                config.interface
            ))
        })?;
        let url = trim_slash(url);
        Ok(match service {
            Service::Volume if last_segment(url).is_some_and(is_version) => {
                let project = self.project_id().ok_or_else(|| {
                    Error::Config("a volume endpoint needs a project-scoped token".to_owned())
                })?;
                crate::path::url(url, &crate::path::Path::new([project]))?.to_string()
            }
            Service::Image | Service::Network => strip_version(url).to_owned(),
            _ => url.to_owned(),
        })
    }

    fn catalog_url(&self, types: &[&str], config: &ClientConfig) -> Option<&str> {
        let catalog = self.body.catalog.as_deref()?;
        types.iter().find_map(|wanted| {
            let entry = catalog.iter().find(|e| e.service_type == *wanted)?;
            entry
                .endpoints
                .iter()
                .filter(|e| e.interface == config.interface)
                .find(|e| match &config.region {
                    Some(region) => {
                        e.region_id.as_deref() == Some(region)
                            || e.region.as_deref() == Some(region)
                    }
                    None => true,
                })
                .map(|e| e.url.as_str())
        })
    }
}

fn trim_slash(url: &str) -> &str {
    url.trim_end_matches('/')
}

fn last_segment(url: &str) -> Option<&str> {
    url.rsplit_once('/').map(|(_, last)| last)
}

/// `v2`, `v2.0`, `v2.1`, `v3`: a version segment of an endpoint URL.
pub(crate) fn is_version(segment: &str) -> bool {
    segment.strip_prefix('v').is_some_and(|rest| {
        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit() || c == '.')
    })
}

fn strip_version(url: &str) -> &str {
    match url.rsplit_once('/') {
        Some((root, last)) if is_version(last) => root,
        _ => url,
    }
}

/// The root of a service (where its version document lives): the endpoint without its version
/// segment and anything after it (such as a project id).
pub(crate) fn service_root(endpoint: &str) -> &str {
    let endpoint = trim_slash(endpoint);
    let path_start = endpoint
        .find("://")
        .and_then(|scheme| endpoint[scheme + 3..].find('/').map(|p| scheme + 3 + p))
        .unwrap_or(endpoint.len());
    let mut offset = path_start;
    for segment in endpoint[path_start..].split('/').skip(1) {
        if is_version(segment) {
            return &endpoint[..offset];
        }
        offset += 1 + segment.len();
    }
    endpoint
}

/// How long a token may be used: Keystone's lifetime (`expires_at - issued_at`, both on
/// Keystone's clock so local clock skew does not matter) minus a margin.
fn renew_after(token: &RawToken) -> Duration {
    let expires = parse_timestamp(&token.expires_at);
    let issued = token.issued_at.as_deref().and_then(parse_timestamp);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let lifetime = match (expires, issued) {
        (Some(expires), Some(issued)) => expires - issued,
        (Some(expires), None) => expires - now,
        _ => return FALLBACK_LIFETIME,
    };
    let lifetime = Duration::from_secs(u64::try_from(lifetime).unwrap_or(0));
    let margin = (lifetime / 10).min(MAX_RENEW_MARGIN);
    lifetime - margin
}

/// Seconds since the epoch of an ISO-8601 UTC timestamp as Keystone writes it
/// (`2015-11-07T02:58:43.578887Z`, with or without fraction or `Z`).
pub(crate) fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.trim_end_matches('Z');
    let text = text.strip_suffix("+00:00").unwrap_or(text);
    let (date, time) = text.split_once('T')?;
    let mut date = date.splitn(3, '-').map(str::parse::<i64>);
    let (year, month, day) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
    let time = time.split_once('.').map_or(time, |(whole, _)| whole);
    let mut time = time.splitn(3, ':').map(str::parse::<i64>);
    let (hour, minute, second) = (time.next()?.ok()?, time.next()?.ok()?, time.next()?.ok()?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_like_keystone_writes_them() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_timestamp("2015-11-07T02:58:43.578887Z"),
            Some(1_446_865_123)
        );
        assert_eq!(
            parse_timestamp("2016-11-06T15:32:17.000000"),
            Some(1_478_446_337)
        );
        assert_eq!(parse_timestamp("yesterday"), None);
    }

    #[test]
    fn version_segments_are_found() {
        assert!(is_version("v2.1") && is_version("v3") && is_version("v2.0"));
        assert!(!is_version("volume") && !is_version("v") && !is_version("vx"));
        assert_eq!(
            service_root("http://h/compute/v2.1/abc"),
            "http://h/compute"
        );
        assert_eq!(service_root("http://h:8776/v3/abc/"), "http://h:8776");
        assert_eq!(service_root("http://h:9292"), "http://h:9292");
        assert_eq!(strip_version("http://h:9696/v2.0"), "http://h:9696");
    }
}
