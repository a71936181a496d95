//! Refusing cross-site requests: a browser on another site must not use a visitor's session
//! cookie (CSRF), nor open a WebSocket with it (cross-site WebSocket hijacking), nor reach a
//! server on a private address through a name it re-points there (DNS rebinding).
//!
//! Browsers name the page that makes a request in `Origin` (on every POST, every WebSocket
//! upgrade, and cross-origin GETs). A request to the API whose `Origin` is not one of the
//! console's own origins nor one of the allowed ones is refused with `FORBIDDEN` in its
//! protocol's envelope. Origins are compared as scheme, host and port, the scheme's default
//! port implied. The console's own origins are `--public-origin` when given; otherwise the
//! origins of the listening address (`http://127.0.0.1:8080` and `http://localhost:8080`), and
//! what a trusted proxy says the browser asked for (`X-Forwarded-Proto` + `X-Forwarded-Host`).
//! `Host` alone is never believed: a rebinding page sends a `Host` and an `Origin` that agree.
//! Requests without `Origin` (curl, server-side clients, same-origin GETs) pass: they cannot
//! carry a victim's cookie without the browser saying where they come from.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderMap;
use http::header::ORIGIN;
use tidings_rpc::procedure::meta::peer_of;
use tidings_rpc::{ErrorCode, RpcError};

use crate::auth::TrustedProxies;

/// A web origin: scheme, host and port (the scheme's default port when it names none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    https: bool,
    /// Lower-case; an IPv6 address keeps its brackets.
    host: String,
    port: u16,
}

impl Origin {
    /// Parses `http[s]://host[:port]` (a trailing `/` is tolerated; paths, user names, other
    /// schemes and `null` are not origins of a console).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let trimmed = text.strip_suffix('/').unwrap_or(text);
        let (scheme, authority) = trimmed
            .split_once("://")
            .ok_or_else(|| format!("not an origin (scheme://host[:port]): {text:?}"))?;
        Self::from_parts(scheme, authority)
            .ok_or_else(|| format!("not an http or https origin (scheme://host[:port]): {text:?}"))
    }

    /// The origin of `scheme` (`http`, `https`) and `authority` (`host[:port]`), as a proxy
    /// forwards them.
    pub fn from_parts(scheme: &str, authority: &str) -> Option<Self> {
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => return None,
        };
        let (host, port) = split_authority(authority)?;
        let port = match port {
            Some(port) => port.parse().ok()?,
            None if https => 443,
            None => 80,
        };
        let valid = |b: u8| b.is_ascii_alphanumeric() || b"-._[]:".contains(&b);
        if host.is_empty() || !host.bytes().all(valid) {
            return None;
        }
        Some(Self {
            https,
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// `http://` origin of `ip:port`.
    fn http(ip: IpAddr, port: u16) -> Self {
        let host = match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        };
        Self {
            https: false,
            host,
            port,
        }
    }

    /// `http://localhost:port`.
    fn localhost(port: u16) -> Self {
        Self {
            https: false,
            host: "localhost".into(),
            port,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

/// `host` and the optional port of `host[:port]` / `[v6][:port]`; `None` when malformed (a
/// user name, a path, an empty or non-numeric port).
fn split_authority(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.contains(['@', '/', '?', '#']) {
        return None;
    }
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        match rest {
            "" => (host, None),
            _ => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let numeric = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    match port {
        Some(p) if !numeric(p) => None,
        _ => Some((host, port)),
    }
}

/// The origins of a server listening on `addr`, as a browser on this machine names them: the
/// address itself, and `localhost` for a loopback or every-address listener. A listener on
/// every address (`0.0.0.0`, `::`) cannot know the machine's other names and addresses:
/// those are given with `--public-origin`.
pub fn listening_origins(addr: SocketAddr) -> Vec<Origin> {
    let port = addr.port();
    let ip = addr.ip();
    let mut origins = Vec::new();
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => {
            origins.push(Origin::http(Ipv4Addr::LOCALHOST.into(), port));
        }
        IpAddr::V6(v6) if v6.is_unspecified() => {
            origins.push(Origin::http(Ipv4Addr::LOCALHOST.into(), port));
            origins.push(Origin::http(Ipv6Addr::LOCALHOST.into(), port));
        }
        _ => origins.push(Origin::http(ip, port)),
    }
    if ip.is_loopback() || ip.is_unspecified() {
        origins.push(Origin::localhost(port));
    }
    origins
}

/// Which origins may call the API.
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    /// `--public-origin`: the console's own origins. When empty, the listening address's
    /// origins and a trusted proxy's forwarded origin are the console's own.
    pub public: Vec<Origin>,
    /// `--allowed-origins`: other sites whose pages may call the API.
    pub allowed: Vec<Origin>,
    /// The proxies whose `X-Forwarded-Proto` and `X-Forwarded-Host` are believed.
    pub proxies: TrustedProxies,
    /// The origins of the listening address (see [`listening_origins`]).
    pub listening: Vec<Origin>,
}

impl OriginPolicy {
    /// This policy for a server listening on `addr`.
    pub fn listening_on(&self, addr: SocketAddr) -> Self {
        Self {
            listening: listening_origins(addr),
            ..self.clone()
        }
    }

    /// Whether a request with these headers, from the TCP peer `peer`, may proceed.
    pub fn allows(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> bool {
        let Some(origin) = headers.get(ORIGIN) else {
            return true;
        };
        // `null` (sandboxed frames, file: pages) and anything unparsable match nothing.
        let Some(origin) = origin.to_str().ok().and_then(|o| Origin::parse(o).ok()) else {
            return false;
        };
        if self.allowed.contains(&origin) || self.public.contains(&origin) {
            return true;
        }
        if !self.public.is_empty() {
            return false;
        }
        self.listening.contains(&origin) || self.forwarded(headers, peer) == Some(origin)
    }

    /// The origin a trusted proxy says the browser asked for: `X-Forwarded-Proto` and
    /// `X-Forwarded-Host` (their first values), both from a peer in `--trusted-proxies`.
    fn forwarded(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<Origin> {
        if !self.proxies.trusts(peer?.ip()) {
            return None;
        }
        let first = |name: &str| {
            let value = headers.get(name)?.to_str().ok()?;
            Some(value.split(',').next().unwrap_or(value).trim())
        };
        Origin::from_parts(first("x-forwarded-proto")?, first("x-forwarded-host")?)
    }
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
    let peer = peer_of(request.extensions());
    if (!trpc && !jsonrpc) || policy.allows(request.headers(), peer) {
        return next.run(request).await;
    }
    let origin = request
        .headers()
        .get(ORIGIN)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::warn!(origin, path, peer = ?peer, "cross-site request refused");
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

    fn origin(text: &str) -> Origin {
        Origin::parse(text).unwrap()
    }

    const PEER: Option<SocketAddr> = Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 4000));

    fn listening(addr: &str) -> OriginPolicy {
        OriginPolicy::default().listening_on(addr.parse().unwrap())
    }

    #[test]
    fn origins_compare_scheme_host_and_port_with_default_ports_implied() {
        assert_eq!(
            origin("https://Console.Example"),
            origin("https://console.example:443/")
        );
        assert_eq!(
            origin("http://console.example"),
            origin("http://console.example:80")
        );
        assert_ne!(
            origin("http://console.example"),
            origin("https://console.example")
        );
        assert_ne!(
            origin("http://a.example:8080"),
            origin("http://a.example:8081")
        );
        assert_eq!(origin("http://[::1]:8080").to_string(), "http://[::1]:8080");
        for bad in [
            "null",
            "console.example",
            "ftp://console.example",
            "http://user@console.example",
            "http://console.example/path",
            "http://console.example:",
            "http://console.example:99999",
            "http://console.example:80x",
            "http://",
            "http://[::1",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_listening_address_is_the_default_own_origin() {
        let policy = listening("127.0.0.1:8080");
        for own in ["http://127.0.0.1:8080", "http://localhost:8080"] {
            assert!(policy.allows(&headers(&[("origin", own)]), PEER), "{own}");
        }
        assert!(policy.allows(&headers(&[]), PEER));
        for other in [
            "http://evil.example",
            "http://127.0.0.1:9999",
            "https://127.0.0.1:8080",
            "null",
            "http://127.0.0.1:8080.evil.example",
        ] {
            // Host agreeing with the origin proves nothing (DNS rebinding).
            let host = other.split("://").nth(1).unwrap_or(other);
            let request = headers(&[("host", host), ("origin", other)]);
            assert!(!policy.allows(&request, PEER), "{other}");
        }
        let everywhere = listening("0.0.0.0:8080");
        assert!(everywhere.allows(&headers(&[("origin", "http://localhost:8080")]), PEER));
        assert!(everywhere.allows(&headers(&[("origin", "http://127.0.0.1:8080")]), PEER));
        let v6 = listening("[::]:8080");
        assert!(v6.allows(&headers(&[("origin", "http://[::1]:8080")]), PEER));
        let lan = listening("10.0.0.5:8080");
        assert!(lan.allows(&headers(&[("origin", "http://10.0.0.5:8080")]), PEER));
        assert!(!lan.allows(&headers(&[("origin", "http://localhost:8080")]), PEER));
    }

    #[test]
    fn forwarded_origins_count_only_from_trusted_proxies() {
        let forwarded = headers(&[
            ("host", "127.0.0.1:8080"),
            ("x-forwarded-host", "console.example:8443"),
            ("x-forwarded-proto", "https"),
            ("origin", "https://console.example:8443"),
        ]);
        let untrusting = listening("127.0.0.1:8080");
        assert!(!untrusting.allows(&forwarded, PEER));
        let behind = OriginPolicy {
            proxies: TrustedProxies::parse(&["127.0.0.1"]).unwrap(),
            ..untrusting.clone()
        };
        assert!(behind.allows(&forwarded, PEER));
        let elsewhere = Some("192.0.2.9:4000".parse().unwrap());
        assert!(!behind.allows(&forwarded, elsewhere));
        // The port the browser used is part of the origin; a Host without it does not match.
        let dropped_port = headers(&[
            ("x-forwarded-host", "console.example"),
            ("x-forwarded-proto", "https"),
            ("origin", "https://console.example:8443"),
        ]);
        assert!(!behind.allows(&dropped_port, PEER));
    }

    #[test]
    fn public_origins_replace_the_derived_ones_and_allowed_ones_add() {
        let policy = OriginPolicy {
            public: vec![origin("https://console.example")],
            allowed: vec![origin("http://localhost:5173")],
            proxies: TrustedProxies::parse(&["127.0.0.1"]).unwrap(),
            ..OriginPolicy::default()
        }
        .listening_on("127.0.0.1:8080".parse().unwrap());
        for ok in ["https://console.example:443", "http://localhost:5173"] {
            assert!(policy.allows(&headers(&[("origin", ok)]), PEER), "{ok}");
        }
        let proxied_rebinding = headers(&[
            ("x-forwarded-host", "attacker.example"),
            ("x-forwarded-proto", "http"),
            ("origin", "http://attacker.example"),
        ]);
        assert!(!policy.allows(&proxied_rebinding, PEER));
        for refused in ["http://console.example", "http://127.0.0.1:8080"] {
            assert!(
                !policy.allows(&headers(&[("origin", refused)]), PEER),
                "{refused}"
            );
        }
    }
}
