//! Which proxy a request goes through, decided as Go's `http.ProxyFromEnvironment` decides it
//! (`golang.org/x/net/http/httpproxy`), since that is what kubectl, the aliyun CLI and
//! ack-ram-tool do with the same variables:
//!
//! - `HTTPS_PROXY` (else `https_proxy`) for `https://` URLs, `HTTP_PROXY` (else `http_proxy`)
//!   for `http://` ones; no fallback from one to the other. A value without a scheme is taken
//!   as `http://`.
//! - Never for `localhost` or a loopback address: signed requests and tokens to a local
//!   endpoint (a credentials URI on 127.0.0.1, a test endpoint) must not cross a proxy in clear.
//! - `NO_PROXY` (else `no_proxy`): comma-separated; `*` turns proxies off; an IP address or CIDR
//!   block; a domain name, which matches itself and its subdomains (`.example.com` matches the
//!   subdomains only); any entry may carry a `:port`.
//! - Under CGI (`REQUEST_METHOD` set) `HTTP_PROXY` is ignored, since a request's `Proxy:` header
//!   lands in it ("httpoxy").
//!
//! reqwest's own reading of these variables differs (it proxies loopback), so the client turns
//! it off and asks [`Proxies::for_url`] instead.

use std::net::IpAddr;

use crate::env::Env;

/// The proxy settings of the environment.
#[derive(Debug, Clone, Default)]
pub(crate) struct Proxies {
    http: Option<String>,
    https: Option<String>,
    no_proxy: Vec<NoProxy>,
    everything_direct: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum NoProxy {
    /// An address or CIDR block, and a port when one was given.
    Ip(IpAddr, u8, Option<u16>),
    /// A domain: `exact` for a leading `.` form's absence (matches itself too).
    Domain {
        name: String,
        itself_too: bool,
        port: Option<u16>,
    },
}

impl Proxies {
    pub(crate) fn from_env(env: &Env) -> Self {
        let either = |upper: &str, lower: &str| env.get(upper).or_else(|| env.get(lower));
        let cgi = env.get("REQUEST_METHOD").is_some();
        let no_proxy = either("NO_PROXY", "no_proxy").unwrap_or("");
        Proxies {
            http: either("HTTP_PROXY", "http_proxy")
                .filter(|_| !cgi)
                .map(with_scheme),
            https: either("HTTPS_PROXY", "https_proxy").map(with_scheme),
            everything_direct: no_proxy.split(',').any(|e| e.trim() == "*"),
            no_proxy: no_proxy.split(',').filter_map(NoProxy::parse).collect(),
        }
    }

    /// The proxy for `url`, or `None` to go direct.
    pub(crate) fn for_url(&self, url: &reqwest::Url) -> Option<String> {
        let proxy = match url.scheme() {
            "https" => self.https.as_ref(),
            "http" => self.http.as_ref(),
            _ => None,
        }?;
        let host = url.host_str()?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if self.everything_direct || super::endpoint::is_loopback(host) {
            return None;
        }
        let port = url.port_or_known_default();
        if self.no_proxy.iter().any(|entry| entry.matches(host, port)) {
            return None;
        }
        Some(proxy.clone())
    }

    /// Whether any request could go through a proxy (for `-v`).
    pub(crate) fn any(&self) -> bool {
        self.http.is_some() || self.https.is_some()
    }
}

fn with_scheme(value: &str) -> String {
    if value.contains("://") {
        value.to_string()
    } else {
        format!("http://{value}")
    }
}

impl NoProxy {
    fn parse(entry: &str) -> Option<NoProxy> {
        let entry = entry.trim().to_ascii_lowercase();
        if entry.is_empty() || entry == "*" {
            return None;
        }
        if let Some((ip, bits)) = entry.split_once('/') {
            let ip: IpAddr = ip.parse().ok()?;
            return Some(NoProxy::Ip(ip, bits.parse().ok()?, None));
        }
        if let Ok(ip) = entry
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            return Some(NoProxy::Ip(ip, full_bits(ip), None));
        }
        let (host, port) = match entry.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(':') => (host, Some(port.parse().ok()?)),
            _ => (entry.as_str(), None),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Some(NoProxy::Ip(ip, full_bits(ip), port));
        }
        let itself_too = !host.starts_with('.');
        let name = host.trim_start_matches("*.").trim_start_matches('.');
        Some(NoProxy::Domain {
            name: name.to_string(),
            itself_too,
            port,
        })
    }

    fn matches(&self, host: &str, port: Option<u16>) -> bool {
        let host = host.to_ascii_lowercase();
        match self {
            NoProxy::Ip(net, bits, want_port) => {
                if want_port.is_some() && *want_port != port {
                    return false;
                }
                host.parse::<IpAddr>()
                    .is_ok_and(|ip| in_block(ip, *net, *bits))
            }
            NoProxy::Domain {
                name,
                itself_too,
                port: want_port,
            } => {
                if want_port.is_some() && *want_port != port {
                    return false;
                }
                (*itself_too && host == *name) || host.ends_with(&format!(".{name}"))
            }
        }
    }
}

fn full_bits(ip: IpAddr) -> u8 {
    if ip.is_ipv4() { 32 } else { 128 }
}

fn in_block(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(bits.min(32)))
                .unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(bits.min(128)))
                .unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy(vars: &[(&str, &str)], url: &str) -> Option<String> {
        Proxies::from_env(&Env::from_pairs(vars.iter().copied()))
            .for_url(&reqwest::Url::parse(url).unwrap())
    }

    const BOTH: [(&str, &str); 2] = [
        ("HTTP_PROXY", "http://p:1"),
        ("HTTPS_PROXY", "proxy.corp:3128"),
    ];

    #[test]
    fn each_scheme_has_its_own_proxy() {
        assert_eq!(
            proxy(&BOTH, "http://cs.aliyuncs.com/"),
            Some("http://p:1".into())
        );
        assert_eq!(
            proxy(&BOTH, "https://cs.aliyuncs.com/"),
            Some("http://proxy.corp:3128".into())
        );
        assert_eq!(proxy(&BOTH[..1], "https://cs.aliyuncs.com/"), None);
        let lower = [("https_proxy", "http://low:1")];
        assert_eq!(proxy(&lower, "https://x.y/"), Some("http://low:1".into()));
    }

    #[test]
    fn loopback_is_never_proxied() {
        for url in [
            "http://127.0.0.1:8080/creds",
            "http://127.9.9.9/",
            "http://localhost:1/",
            "http://LOCALHOST/",
            "http://[::1]:9/",
            "https://127.0.0.1/",
        ] {
            assert_eq!(proxy(&BOTH, url), None, "{url}");
        }
    }

    #[test]
    fn no_proxy_as_go_reads_it() {
        let with = |no_proxy: &str, url: &str| {
            let mut vars = BOTH.to_vec();
            vars.push(("NO_PROXY", no_proxy));
            proxy(&vars, url).is_none()
        };
        assert!(with("*", "https://cs.aliyuncs.com/"));
        assert!(with("aliyuncs.com", "https://cs.aliyuncs.com/"));
        assert!(with("aliyuncs.com", "https://aliyuncs.com/"));
        assert!(with(".aliyuncs.com", "https://cs.aliyuncs.com/"));
        assert!(!with(".aliyuncs.com", "https://aliyuncs.com/"));
        assert!(!with("aliyuncs.com", "https://notaliyuncs.com/"));
        assert!(with("10.0.0.0/8, other", "http://10.1.2.3/"));
        assert!(!with("10.0.0.0/8", "http://11.1.2.3/"));
        assert!(with("192.168.0.1", "http://192.168.0.1:80/"));
        assert!(with("example.com:443", "https://example.com/"));
        assert!(!with("example.com:8443", "https://example.com/"));
        assert!(with("[2001:db8::1]", "https://[2001:db8::1]/"));
        assert!(!with("", "https://cs.aliyuncs.com/"));
    }

    #[test]
    fn cgi_ignores_http_proxy() {
        let mut vars = BOTH.to_vec();
        vars.push(("REQUEST_METHOD", "GET"));
        assert_eq!(proxy(&vars, "http://cs.aliyuncs.com/"), None);
        assert!(proxy(&vars, "https://cs.aliyuncs.com/").is_some());
    }
}
