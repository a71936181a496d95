//! Which peers may speak for the client: the client's address and the `X-Forwarded-*` headers
//! are believed only from a configured trusted proxy (`--trusted-proxies`); from anyone else
//! they are the client's own words and are ignored.
//!
//! Behind trusted proxies the client is the right-most `X-Forwarded-For` address that is not
//! itself a trusted proxy (each proxy appends the peer it saw, so addresses further left were
//! written by the client and prove nothing).

use std::net::IpAddr;

use ipnet::IpNet;
use tidings_rpc::RequestMeta;

/// The proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
}

impl TrustedProxies {
    /// These proxies (addresses or networks).
    pub fn new(nets: Vec<IpNet>) -> Self {
        Self { nets }
    }

    /// Proxies given as addresses (`10.0.0.5`, `::1`) or networks (`10.0.0.0/8`).
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self, String> {
        let nets = items
            .iter()
            .map(|item| parse_net(item.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(Self { nets })
    }

    /// Whether `ip` is a trusted proxy.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.nets.iter().any(|net| net.contains(&ip))
    }

    /// Whether the request came straight from a trusted proxy.
    pub fn from_proxy(&self, meta: &RequestMeta) -> bool {
        meta.peer.is_some_and(|peer| self.trusts(peer.ip()))
    }

    /// The client's address: the TCP peer, or behind trusted proxies the right-most
    /// `X-Forwarded-For` address that is not a trusted proxy. `None` for in-process calls.
    pub fn client_ip(&self, meta: &RequestMeta) -> Option<IpAddr> {
        let peer = canonical(meta.peer?.ip());
        if !self.trusts(peer) {
            return Some(peer);
        }
        let forwarded = meta
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        let mut client = peer;
        for hop in forwarded.into_iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>().map(canonical) else {
                // Garbage in the chain: the last address known good is the client.
                break;
            };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        Some(client)
    }

    /// The first value of the `X-Forwarded-<name>` header (`proto`, `host`) when a trusted proxy
    /// sent it; `None` from anyone else.
    pub fn forwarded<'a>(&self, meta: &'a RequestMeta, name: &str) -> Option<&'a str> {
        if !self.from_proxy(meta) {
            return None;
        }
        let value = meta
            .headers
            .get(format!("x-forwarded-{name}"))?
            .to_str()
            .ok()?;
        Some(value.split(',').next().unwrap_or(value).trim())
    }
}

/// One `--trusted-proxies` entry: an address (`10.0.0.5`, `::1`) or a network (`10.0.0.0/8`).
pub fn parse_net(item: &str) -> Result<IpNet, String> {
    let item = item.trim();
    item.parse::<IpNet>()
        .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("not an IP address or network: {item:?}"))
}

/// IPv4 addresses mapped into IPv6 (`::ffff:10.0.0.1`) as the IPv4 address they are.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use http::HeaderValue;

    use super::*;

    fn meta(peer: &str, forwarded_for: &[&str]) -> RequestMeta {
        let mut meta = RequestMeta::local();
        meta.peer = Some(SocketAddr::new(peer.parse().unwrap(), 4000));
        for value in forwarded_for {
            meta.headers
                .append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        meta
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_it_claims() {
        let none = TrustedProxies::default();
        let claimed = meta("192.0.2.7", &["203.0.113.9"]);
        assert_eq!(none.client_ip(&claimed), Some("192.0.2.7".parse().unwrap()));
        assert_eq!(none.forwarded(&claimed, "for"), None);
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8", "::1"]).unwrap();
        // The client wrote 1.1.1.1 itself; the edge proxy appended what it saw.
        let chain = meta("10.0.0.2", &["1.1.1.1, 203.0.113.9", "10.0.0.3"]);
        assert_eq!(
            proxies.client_ip(&chain),
            Some("203.0.113.9".parse().unwrap())
        );
        let v6 = meta("::1", &["198.51.100.4"]);
        assert_eq!(
            proxies.client_ip(&v6),
            Some("198.51.100.4".parse().unwrap())
        );
        let mapped = meta("::ffff:10.0.0.2", &["198.51.100.5"]);
        assert_eq!(
            proxies.client_ip(&mapped),
            Some("198.51.100.5".parse().unwrap())
        );
        // A proxy that forwards nothing is its own client; garbage stops the walk.
        assert_eq!(
            proxies.client_ip(&meta("10.0.0.2", &[])),
            Some("10.0.0.2".parse().unwrap())
        );
        let garbage = meta("10.0.0.2", &["198.51.100.6, not-an-ip"]);
        assert_eq!(
            proxies.client_ip(&garbage),
            Some("10.0.0.2".parse().unwrap())
        );
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_proxies() {
        let proxies = TrustedProxies::parse(&["127.0.0.1"]).unwrap();
        let mut from_proxy = meta("127.0.0.1", &[]);
        from_proxy
            .headers
            .insert("x-forwarded-proto", HeaderValue::from_static("https, http"));
        assert_eq!(proxies.forwarded(&from_proxy, "proto"), Some("https"));
        from_proxy.peer = Some("192.0.2.1:1".parse().unwrap());
        assert_eq!(proxies.forwarded(&from_proxy, "proto"), None);
        assert!(TrustedProxies::parse(&["nonsense"]).is_err());
    }
}
