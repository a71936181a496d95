//! What the service routers share: the token extractors (the simulator's own tokens, or a real
//! Keystone's), the error envelopes of each service, the request's base URL, visibility and
//! list paging.

pub(crate) mod compute;
pub(crate) mod control;
pub(crate) mod identity;
pub(crate) mod image;
pub(crate) mod network;
pub(crate) mod versions;
pub(crate) mod volume;

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::keystone::Keystone;
use crate::model::Record;
use crate::sim::Sim;
use crate::time::Stamp;

/// Query-string parameters.
pub(crate) type Params = HashMap<String, String>;

/// An error in the envelope of the service that raises it.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    body: Value,
}

impl ApiError {
    /// Keystone's `{"error": {"code", "message", "title"}}` (also what keystonemiddleware sends
    /// for a missing or bad token in front of every service).
    pub(crate) fn keystone(status: StatusCode, message: impl Into<String>) -> Self {
        let title = status.canonical_reason().unwrap_or("Error");
        let body = json!({ "error": { "code": status.as_u16(), "message": message.into(), "title": title } });
        Self { status, body }
    }

    /// The 401 every service answers without a valid token.
    pub(crate) fn unauthorized() -> Self {
        Self::keystone(
            StatusCode::UNAUTHORIZED,
            "The request you have made requires authentication.",
        )
    }

    /// Nova's and Cinder's `{"<fault>": {"code", "message"}}`.
    pub(crate) fn nova(status: StatusCode, message: impl Into<String>) -> Self {
        let fault = match status {
            StatusCode::BAD_REQUEST => "badRequest",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "itemNotFound",
            StatusCode::CONFLICT => "conflictingRequest",
            StatusCode::NOT_ACCEPTABLE => "notAcceptable",
            _ => "computeFault",
        };
        Self {
            status,
            body: json!({ fault: { "code": status.as_u16(), "message": message.into() } }),
        }
    }

    /// Neutron's `{"NeutronError": {"type", "message", "detail"}}`.
    pub(crate) fn neutron(status: StatusCode, kind: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({ "NeutronError": { "type": kind, "message": message.into(), "detail": "" } }),
        }
    }

    /// Glance's plain-text error page.
    pub(crate) fn glance(status: StatusCode, message: impl Into<String>) -> Self {
        let reason = status.canonical_reason().unwrap_or("Error");
        Self {
            status,
            body: Value::String(format!(
                "{} {reason}\n\n{}\n\n   ",
                status.as_u16(),
                message.into()
            )),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self.body {
            Value::String(text) => (
                self.status,
                [(header::CONTENT_TYPE, "text/plain; charset=UTF-8")],
                text,
            )
                .into_response(),
            body => (self.status, axum::Json(body)).into_response(),
        }
    }
}

/// The holder of a valid token, scoped or not.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    /// Token owner.
    pub user_id: String,
    /// Scoped project, if any.
    pub project_id: Option<String>,
    /// Whether the token carries the admin role.
    pub admin: bool,
}

impl FromRequestParts<Sim> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, sim: &Sim) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(ApiError::unauthorized)?;
        match sim.keystone() {
            Some(keystone) => Self::foreign(sim, keystone, token).await,
            None => Self::own(sim, token),
        }
    }
}

impl Caller {
    /// The holder of a token the simulator's own Keystone issued.
    fn own(sim: &Sim, token: &str) -> Result<Self, ApiError> {
        let world = sim.world();
        let session = world
            .identity
            .session(token, Stamp::now())
            .ok_or_else(ApiError::unauthorized)?;
        Ok(Self {
            user_id: session.user_id.clone(),
            project_id: session.project_id.clone(),
            admin: world
                .identity
                .is_admin(&session.user_id, session.project_id.as_deref()),
        })
    }

    /// The holder of a token of the real Keystone the simulator stands behind, as that
    /// Keystone validates it; its user, project and roles are taken up by the model. A
    /// Keystone that cannot tell is answered as keystonemiddleware answers it: 503.
    async fn foreign(sim: &Sim, keystone: &Keystone, token: &str) -> Result<Self, ApiError> {
        let validated = keystone.validate(token).await.map_err(|error| {
            tracing::warn!(error = %error, "cannot validate a token");
            ApiError::keystone(
                StatusCode::SERVICE_UNAVAILABLE,
                "The server is currently unavailable. Please try again at a later time.",
            )
        })?;
        let validated = validated.ok_or_else(ApiError::unauthorized)?;
        sim.world().identity.adopt(
            &validated.user,
            validated.project.as_ref(),
            &validated.roles,
        );
        Ok(Self {
            user_id: validated.user.id.clone(),
            project_id: validated.project.as_ref().map(|p| p.id.clone()),
            admin: validated.is_admin(),
        })
    }
}

/// The holder of a valid project-scoped token, which every service but Keystone requires.
#[derive(Clone, Debug)]
pub(crate) struct Scoped {
    /// Token owner.
    pub user_id: String,
    /// Scoped project.
    pub project_id: String,
    /// Whether the token carries the admin role.
    pub admin: bool,
}

impl Scoped {
    /// Whether the caller may see a record: its own project's, or any for an admin listing
    /// all tenants.
    pub(crate) fn sees(&self, record: &Record, all_tenants: bool) -> bool {
        record.project_id == self.project_id || (self.admin && all_tenants)
    }

    /// Whether the caller may act on a record: its own project's, or any for an admin.
    pub(crate) fn owns(&self, record: &Record) -> bool {
        record.project_id == self.project_id || self.admin
    }
}

impl FromRequestParts<Sim> for Scoped {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, sim: &Sim) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, sim).await?;
        let project_id = caller.project_id.ok_or_else(ApiError::unauthorized)?;
        Ok(Self {
            user_id: caller.user_id,
            project_id,
            admin: caller.admin,
        })
    }
}

/// `http://host:port` as the client addressed this simulator.
#[derive(Clone, Debug)]
pub(crate) struct Base(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Base {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
            .unwrap_or("localhost");
        Ok(Self(format!("http://{host}")))
    }
}

/// Whether a query flag such as `all_tenants` is set (`1`, `true`, or present without value).
pub(crate) fn flag(params: &Params, name: &str) -> bool {
    params
        .get(name)
        .is_some_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "0" | "false" | "no"))
}

/// A page of `items` (already in list order) after `marker`, at most `limit` long; also tells
/// whether more follow. An unknown marker is an error, as in Nova and Glance.
pub(crate) fn page<'a>(
    items: Vec<&'a Record>,
    marker: Option<&str>,
    limit: usize,
) -> Result<(Vec<&'a Record>, bool), String> {
    let start = match marker {
        Some(marker) => {
            items
                .iter()
                .position(|r| r.id == marker)
                .ok_or_else(|| format!("marker [{marker}] not found"))?
                + 1
        }
        None => 0,
    };
    let rest = &items[start.min(items.len())..];
    let more = rest.len() > limit;
    Ok((rest.iter().take(limit).copied().collect(), more))
}

/// Parses a `limit` parameter, capped at `max`.
pub(crate) fn limit(params: &Params, default: usize, max: usize) -> Result<usize, String> {
    match params.get("limit") {
        Some(text) => text
            .parse::<usize>()
            .map(|n| n.min(max))
            .map_err(|_| format!("Invalid limit: {text}")),
        None => Ok(default),
    }
}

/// Drops the optional project segment of Nova (`/compute/v2.1/{project_id}/…`) and Cinder
/// (`/volume/v3/{project_id}/…`) paths before routing, so one route table serves both forms.
pub(crate) async fn strip_project_segment(mut request: Request) -> Request {
    let path = request.uri().path();
    let stripped = ["/compute/v2.1/", "/volume/v3/"].iter().find_map(|prefix| {
        let rest = path.strip_prefix(prefix)?;
        let (segment, tail) = rest.split_once('/')?;
        is_project_id(segment).then(|| format!("{prefix}{tail}"))
    });
    if let Some(path) = stripped {
        let query = request
            .uri()
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        if let Ok(uri) = format!("{path}{query}").parse::<Uri>() {
            *request.uri_mut() = uri;
        }
    }
    request
}

fn is_project_id(segment: &str) -> bool {
    (segment.len() == 32 && segment.bytes().all(|b| b.is_ascii_hexdigit()))
        || uuid::Uuid::try_parse(segment).is_ok()
}

/// A service's microversion range and the headers it is negotiated with.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Microversions {
    /// Service name in `OpenStack-API-Version: <service> <version>`.
    pub service: &'static str,
    /// The service-specific header older clients send, if any.
    pub legacy_header: Option<&'static str>,
    /// Major version.
    pub major: u32,
    /// Lowest minor version (also the default).
    pub min: u32,
    /// Highest minor version (what `latest` means).
    pub max: u32,
}

/// The microversion a request was negotiated at, put in its extensions by [`negotiate`] and
/// read by the handlers whose answers change shape along the range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Microversion {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
}

impl Microversion {
    /// Whether the request asked for this minor version or a later one.
    pub(crate) fn at_least(self, minor: u32) -> bool {
        self.minor >= minor
    }
}

impl std::fmt::Display for Microversion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Microversion {
    type Rejection = std::convert::Infallible;

    /// The negotiated version; outside a negotiating router, version 0.0 (every base shape).
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Self>()
            .copied()
            .unwrap_or(Self { major: 0, minor: 0 }))
    }
}

impl Microversions {
    /// `"{major}.{min}"`, as version documents write it.
    pub(crate) fn min_version(&self) -> String {
        format!("{}.{}", self.major, self.min)
    }

    /// `"{major}.{max}"`, as version documents write it.
    pub(crate) fn max_version(&self) -> String {
        format!("{}.{}", self.major, self.max)
    }

    /// The version asked for, resolved against the range, or the reason it cannot be served.
    /// The generic header wins over the legacy one; names and `latest` are matched without
    /// regard to case.
    fn resolve(&self, headers: &axum::http::HeaderMap) -> Result<Microversion, String> {
        let generic = headers
            .get_all("openstack-api-version")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| {
                v.split(',').find_map(|part| {
                    let (service, version) = part.trim().split_once(' ')?;
                    service
                        .eq_ignore_ascii_case(self.service)
                        .then(|| version.trim().to_owned())
                })
            });
        let legacy = self
            .legacy_header
            .and_then(|h| headers.get(h))
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_owned());
        let lowest = Microversion {
            major: self.major,
            minor: self.min,
        };
        let Some(requested) = generic.or(legacy) else {
            return Ok(lowest);
        };
        if requested.eq_ignore_ascii_case("latest") {
            return Ok(Microversion {
                minor: self.max,
                ..lowest
            });
        }
        let unsupported = || {
            format!(
                "Version {requested} is not supported by the API. Minimum is {} and maximum is {}.",
                self.min_version(),
                self.max_version(),
            )
        };
        let (major, minor) = requested.split_once('.').ok_or_else(unsupported)?;
        match (major.parse::<u32>(), minor.parse::<u32>()) {
            (Ok(major), Ok(minor))
                if major == self.major && (self.min..=self.max).contains(&minor) =>
            {
                Ok(Microversion { major, minor })
            }
            _ => Err(unsupported()),
        }
    }
}

/// Negotiates the microversion, hands it to the handler (see [`Microversion`]) and echoes it
/// (plus `Vary`) on the answer.
pub(crate) async fn negotiate(
    versions: Microversions,
    mut request: Request,
    next: axum::middleware::Next,
) -> Response {
    let version = match versions.resolve(request.headers()) {
        Ok(version) => version,
        Err(message) => return ApiError::nova(StatusCode::NOT_ACCEPTABLE, message).into_response(),
    };
    request.extensions_mut().insert(version);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let mut vary = String::from("OpenStack-API-Version");
    if let Ok(value) = format!("{} {version}", versions.service).parse() {
        headers.insert("openstack-api-version", value);
    }
    if let Some(legacy) = versions.legacy_header {
        if let Ok(value) = version.to_string().parse() {
            headers.insert(legacy, value);
        }
        vary.push_str(", ");
        vary.push_str(legacy);
    }
    if let Ok(value) = vary.parse() {
        headers.insert(header::VARY, value);
    }
    response
}
