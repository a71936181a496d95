//! Refusing cross-site requests: a browser on another site must not use a visitor's session
//! cookie (CSRF), nor open a WebSocket with it (cross-site WebSocket hijacking).
//!
//! Browsers name the page that makes a request in `Origin` (on every POST, every WebSocket
//! upgrade, and cross-origin GETs). A request to the API whose `Origin` is neither this
//! server's own origin (as the `Host` it was sent to, or the `X-Forwarded-Host` of a proxy)
//! nor one of the configured allowed origins is refused with `FORBIDDEN` in its protocol's
//! envelope. Requests without `Origin` (curl, server-side clients, same-origin GETs) pass:
//! they cannot carry a victim's cookie without the browser saying where they come from.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderMap;
use http::header::{HOST, ORIGIN};
use tidings_rpc::{ErrorCode, RpcError};

/// Which origins may call the API besides the server's own.
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    /// Exact origins (`https://console.example.com`), compared case-insensitively.
    pub allowed: Vec<String>,
}

impl OriginPolicy {
    /// Whether a request with these headers may proceed.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else {
            return true;
        };
        let origin = origin.trim().trim_end_matches('/');
        if self
            .allowed
            .iter()
            .any(|allowed| allowed.trim_end_matches('/').eq_ignore_ascii_case(origin))
        {
            return true;
        }
        // `null` (sandboxed frames, file: pages) and anything unparsable never match a host.
        let Some((_, authority)) = origin.split_once("://") else {
            return false;
        };
        let own = |name| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|host| host.split(',').next().unwrap_or(host).trim())
        };
        [own("x-forwarded-host"), own(HOST.as_str())]
            .into_iter()
            .flatten()
            .any(|host| same_authority(host, authority, origin.starts_with("https:")))
    }
}

/// `host[:port]` of the request against the origin's authority, the scheme's default port
/// being implied where absent.
fn same_authority(host: &str, authority: &str, https: bool) -> bool {
    let default = if https { ":443" } else { ":80" };
    let with_port = |a: &str| {
        let has_port = a.rsplit_once(':').is_some_and(|(_, port)| {
            !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && !a.ends_with(']')
        });
        if has_port {
            a.to_ascii_lowercase()
        } else {
            format!("{}{default}", a.to_ascii_lowercase())
        }
    };
    with_port(host) == with_port(authority)
}

/// The middleware: refuses cross-site calls to `/trpc` and `/rpc` with `FORBIDDEN`.
pub async fn check(
    State(policy): State<Arc<OriginPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let api = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    let (trpc, jsonrpc) = (api("/trpc"), api("/rpc"));
    if (!trpc && !jsonrpc) || policy.allows(request.headers()) {
        return next.run(request).await;
    }
    let origin = request
        .headers()
        .get(ORIGIN)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::warn!(origin, path, "cross-site request refused");
    let error = RpcError::new(
        ErrorCode::Forbidden,
        format!("cross-site request refused: origin {origin} is not allowed"),
    );
    if trpc {
        tidings_rpc::trpc::error_response(&error)
    } else {
        tidings_rpc::jsonrpc::error_response(&error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn same_origin_and_absent_origin_pass() {
        let policy = OriginPolicy::default();
        assert!(policy.allows(&headers(&[("host", "127.0.0.1:8080")])));
        assert!(policy.allows(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080")
        ])));
        assert!(policy.allows(&headers(&[
            ("host", "console.example"),
            ("origin", "https://console.example")
        ])));
        assert!(policy.allows(&headers(&[
            ("host", "10.0.0.5:8080"),
            ("x-forwarded-host", "console.example"),
            ("origin", "https://console.example:443")
        ])));
    }

    #[test]
    fn other_origins_are_refused_unless_allowed() {
        let policy = OriginPolicy::default();
        for origin in [
            "http://evil.example",
            "http://127.0.0.1:9999",
            "null",
            "http://127.0.0.1:8080.evil.example",
        ] {
            assert!(
                !policy.allows(&headers(&[("host", "127.0.0.1:8080"), ("origin", origin)])),
                "{origin}"
            );
        }
        let policy = OriginPolicy {
            allowed: vec!["http://localhost:5173".into()],
        };
        assert!(policy.allows(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://localhost:5173")
        ])));
    }
}
