//! The way to an endpoint, timed step by step, for `doctor`: the name lookup, the TCP connect
//! and, for `https://`, the TLS handshake (verified against the same roots the client trusts).
//! Through a proxy (chosen as the client chooses it), the steps are the proxy's lookup and
//! connect, the `CONNECT` tunnel, then TLS inside it.
//!
//! reqwest does all of this in one call and reports only the whole, so the probe opens a socket
//! of its own and drives rustls on it directly. Nothing is sent but a TLS handshake (and a
//! `CONNECT`): no request, so no signature and no credential.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

use super::client::ClientOptions;

/// How long each step may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest proxy answer to a `CONNECT` read.
const MAX_PROXY_HEAD: usize = 8 << 10;

/// One endpoint's way, as far as it went.
#[derive(Debug)]
pub(crate) struct Probe {
    /// The proxy's `host:port` (never its user info), when the way goes through one.
    pub(crate) proxy: Option<String>,
    /// The steps that worked, with their times: `DNS`, `connect`, `CONNECT`, `TLS`.
    pub(crate) steps: Vec<(&'static str, Duration)>,
    /// The step that failed, if one did.
    pub(crate) failure: Option<Failure>,
}

#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) step: &'static str,
    pub(crate) kind: FailureKind,
    pub(crate) detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// The name does not resolve.
    Name,
    /// Nothing listens there (or a firewall says so).
    Refused,
    /// No answer in time (a firewall that drops, a wrong route).
    TimedOut,
    /// The server's certificate is not trusted (or not for this name).
    Untrusted,
    /// The proxy refused the tunnel.
    Proxy,
    Other,
}

/// Probes endpoints with one TLS configuration, built on the first `https://` one.
pub(crate) struct Prober {
    options: ClientOptions,
    tls: std::cell::OnceCell<Result<Arc<ClientConfig>, String>>,
}

impl Prober {
    pub(crate) fn new(options: &ClientOptions) -> Prober {
        Prober {
            options: options.clone(),
            tls: std::cell::OnceCell::new(),
        }
    }

    /// The way to the base URL `endpoint`, timed.
    pub(crate) fn probe(&self, endpoint: &str) -> Probe {
        let mut probe = Probe {
            proxy: None,
            steps: Vec::new(),
            failure: None,
        };
        if let Err(failure) = self.walk(endpoint, &mut probe) {
            probe.failure = Some(failure);
        }
        probe
    }

    fn walk(&self, endpoint: &str, probe: &mut Probe) -> Result<(), Failure> {
        let other = |step, detail: String| Failure {
            step,
            kind: FailureKind::Other,
            detail,
        };
        let url = reqwest::Url::parse(endpoint).map_err(|e| other("URL", e.to_string()))?;
        let host = url
            .host_str()
            .ok_or_else(|| other("URL", "it has no host".to_string()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = url
            .port_or_known_default()
            .ok_or_else(|| other("URL", "it has no port".to_string()))?;
        let proxy = self
            .options
            .proxies
            .for_url(&url)
            .map(|proxy| proxy_address(&proxy))
            .transpose()
            .map_err(|why| other("proxy", why))?;
        let mut socket = match &proxy {
            None => connect(&host, port, probe)?,
            Some(proxy) => {
                probe.proxy = Some(format!("{}:{}", proxy.host, proxy.port));
                let mut socket = connect(&proxy.host, proxy.port, probe)?;
                tunnel(
                    &mut socket,
                    &host,
                    port,
                    proxy.authorization.as_deref(),
                    probe,
                )?;
                socket
            }
        };
        if url.scheme() == "https" {
            self.handshake(&mut socket, &host, probe)?;
        }
        Ok(())
    }

    fn handshake(
        &self,
        socket: &mut TcpStream,
        host: &str,
        probe: &mut Probe,
    ) -> Result<(), Failure> {
        let fail = |kind, detail: String| Failure {
            step: "TLS",
            kind,
            detail,
        };
        let config = self
            .tls
            .get_or_init(|| tls_config(&self.options))
            .clone()
            .map_err(|why| fail(FailureKind::Other, why))?;
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| fail(FailureKind::Other, format!("{host}: {e}")))?;
        let mut connection = ClientConnection::new(config, name)
            .map_err(|e| fail(FailureKind::Other, e.to_string()))?;
        let started = Instant::now();
        let _ = socket.set_read_timeout(Some(STEP_TIMEOUT));
        let _ = socket.set_write_timeout(Some(STEP_TIMEOUT));
        while connection.is_handshaking() {
            if let Err(e) = connection.complete_io(socket) {
                let rustls_error = e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>());
                let kind = match rustls_error {
                    Some(rustls::Error::InvalidCertificate(_)) => FailureKind::Untrusted,
                    _ if is_timeout(&e) => FailureKind::TimedOut,
                    _ => FailureKind::Other,
                };
                return Err(fail(kind, e.to_string()));
            }
        }
        probe.steps.push(("TLS", started.elapsed()));
        connection.send_close_notify();
        let _ = connection.complete_io(socket);
        Ok(())
    }
}

fn tls_config(options: &ClientOptions) -> Result<Arc<ClientConfig>, String> {
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(options.roots.store()?)
            .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Resolve `host` and connect to the first of its addresses that answers, timing both.
fn connect(host: &str, port: u16, probe: &mut Probe) -> Result<TcpStream, Failure> {
    let started = Instant::now();
    let addresses: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| Failure {
            step: "DNS",
            kind: FailureKind::Name,
            detail: format!("cannot resolve {host}: {e}"),
        })?
        .collect();
    probe.steps.push(("DNS", started.elapsed()));
    let started = Instant::now();
    let mut last = None;
    for address in &addresses {
        match TcpStream::connect_timeout(address, STEP_TIMEOUT) {
            Ok(socket) => {
                probe.steps.push(("connect", started.elapsed()));
                return Ok(socket);
            }
            Err(e) => last = Some((address, e)),
        }
    }
    let Some((address, error)) = last else {
        return Err(Failure {
            step: "DNS",
            kind: FailureKind::Name,
            detail: format!("{host} has no address"),
        });
    };
    let kind = match error.kind() {
        std::io::ErrorKind::ConnectionRefused => FailureKind::Refused,
        _ if is_timeout(&error) => FailureKind::TimedOut,
        _ => FailureKind::Other,
    };
    let detail = match kind {
        FailureKind::Refused => format!("{address} refused the connection"),
        FailureKind::TimedOut => format!(
            "no answer from {address} within {} s",
            STEP_TIMEOUT.as_secs()
        ),
        _ => format!("{address}: {error}"),
    };
    Err(Failure {
        step: "connect",
        kind,
        detail,
    })
}

fn is_timeout(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    )
}

/// An `http://` proxy's address and, from its user info, the `Proxy-Authorization` value.
struct ProxyAddress {
    host: String,
    port: u16,
    authorization: Option<String>,
}

fn proxy_address(proxy: &str) -> Result<ProxyAddress, String> {
    let url = reqwest::Url::parse(proxy).map_err(|e| format!("the proxy is not a URL ({e})"))?;
    if url.scheme() != "http" {
        return Err(format!(
            "only http:// proxies are timed, not {}://",
            url.scheme()
        ));
    }
    let host = url
        .host_str()
        .ok_or("the proxy URL has no host")?
        .to_string();
    let authorization = (!url.username().is_empty()).then(|| {
        let pair = format!("{}:{}", url.username(), url.password().unwrap_or(""));
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    });
    Ok(ProxyAddress {
        host: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        port: url.port_or_known_default().unwrap_or(80),
        authorization,
    })
}

/// Ask the proxy for a tunnel to `host:port`, timed.
fn tunnel(
    socket: &mut TcpStream,
    host: &str,
    port: u16,
    authorization: Option<&str>,
    probe: &mut Probe,
) -> Result<(), Failure> {
    let fail = |kind, detail: String| Failure {
        step: "CONNECT",
        kind,
        detail,
    };
    let started = Instant::now();
    let _ = socket.set_read_timeout(Some(STEP_TIMEOUT));
    let _ = socket.set_write_timeout(Some(STEP_TIMEOUT));
    let target = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut head = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(value) = authorization {
        head.push_str("Proxy-Authorization: ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let io = |e: std::io::Error| {
        let kind = if is_timeout(&e) {
            FailureKind::TimedOut
        } else {
            FailureKind::Other
        };
        fail(kind, e.to_string())
    };
    socket.write_all(head.as_bytes()).map_err(io)?;
    // Byte by byte up to the blank line: nothing of what follows (the tunnel) may be read here.
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    while !answer.ends_with(b"\r\n\r\n") {
        if answer.len() >= MAX_PROXY_HEAD {
            return Err(fail(
                FailureKind::Proxy,
                "the proxy's answer has no end".to_string(),
            ));
        }
        match socket.read(&mut byte).map_err(io)? {
            0 => {
                return Err(fail(
                    FailureKind::Proxy,
                    "the proxy closed the connection".to_string(),
                ));
            }
            _ => answer.push(byte[0]),
        }
    }
    let status_line = String::from_utf8_lossy(&answer);
    let status_line = status_line.lines().next().unwrap_or("").trim();
    let status = status_line.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        return Err(fail(
            FailureKind::Proxy,
            format!("the proxy answered {status_line:?}"),
        ));
    }
    probe.steps.push(("CONNECT", started.elapsed()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn options() -> ClientOptions {
        ClientOptions::from_env(&crate::env::Env::from_pairs([])).unwrap()
    }

    #[test]
    fn an_http_endpoint_is_looked_up_and_connected_to_without_tls() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let probe = Prober::new(&options()).probe(&endpoint);
        assert!(probe.failure.is_none(), "{probe:?}");
        let steps: Vec<_> = probe.steps.iter().map(|(step, _)| *step).collect();
        assert_eq!(steps, ["DNS", "connect"]);
    }

    #[test]
    fn a_closed_port_is_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let probe = Prober::new(&options()).probe(&format!("http://{address}"));
        let failure = probe.failure.unwrap();
        assert_eq!(failure.kind, FailureKind::Refused);
        assert_eq!(failure.detail, format!("{address} refused the connection"));
    }

    #[test]
    fn a_proxy_is_given_without_its_user_info() {
        let proxy = proxy_address("http://user:pass@proxy.example:3128").unwrap();
        assert_eq!((proxy.host.as_str(), proxy.port), ("proxy.example", 3128));
        assert_eq!(proxy.authorization.as_deref(), Some("Basic dXNlcjpwYXNz"));
        assert!(proxy_address("https://proxy.example").is_err());
    }
}
