//! A cluster's Kubernetes API server as a client meets it, for `doctor`: present the plugin's
//! credential and ask whom the server takes it for, with a `SelfSubjectReview`
//! (`authentication.k8s.io/v1`, GA in 1.28; `v1beta1` on 1.27). Any authenticated user may
//! create one, so the answer says only whether the credential is accepted, and as whom.
//!
//! The server's certificate is verified against the cluster's CA from the kubeconfig (or the
//! system's roots when it names none), for its `tls-server-name` when it has one, as kubectl
//! verifies it; the proxy is the cluster's `proxy-url`, else chosen as for every other
//! request. Nothing about the credential is ever shown: messages carry the server's words (a
//! Kubernetes `Status` message) and the transport's.

use std::sync::Arc;
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde_json::Value;

use crate::aliyun::client::{ClientOptions, read_capped, user_agent};
use crate::aliyun::{UNTRUSTED_CERTIFICATE, causes};

/// The most a `Status` or review answer may be.
const MAX_ANSWER: usize = 1 << 20;

/// Where the API server is, and what its certificate must chain to.
pub(crate) struct Server<'a> {
    pub(crate) url: &'a str,
    /// The cluster's CA (PEM); `None`: the system's roots.
    pub(crate) authority: Option<&'a [u8]>,
    /// `insecure-skip-tls-verify: true` in the kubeconfig.
    pub(crate) insecure: bool,
    /// `tls-server-name`: the name the server's certificate must be valid for, in place of the
    /// URL's host ([`ForName`]).
    pub(crate) tls_server_name: Option<&'a str>,
    /// `proxy-url`, an `http://` or `https://` proxy: every request to this server goes through
    /// it, in place of the environment's proxies (loopback too, as client-go does).
    pub(crate) proxy_url: Option<&'a str>,
}

/// The credential presented. Never shown.
pub(crate) enum Presented<'a> {
    Certificate { certificate: &'a str, key: &'a str },
    Token(&'a str),
}

/// What the server said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Review {
    /// It takes the credential for this user, in these groups.
    User {
        username: String,
        groups: Vec<String>,
        /// The API version that answered (`v1` or `v1beta1`).
        version: &'static str,
    },
    /// It serves no `SelfSubjectReview` (Kubernetes before 1.27, or the API turned off), but
    /// got past authentication (a refused credential gets 401 first).
    NotServed,
    /// It refused: 401 (not authenticated), 403 (authenticated, not allowed) or another
    /// status, with the message of its `Status`.
    Refused { status: u16, message: String },
}

/// Why the server could not be asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unreachable {
    /// Nothing listens there.
    Refused(String),
    TimedOut(String),
    /// Its certificate does not verify against the cluster's CA.
    UntrustedServer(String),
    /// It ended the handshake over the client certificate (a CA it does not know).
    CertificateRejected(String),
    Other(String),
}

impl Unreachable {
    pub(crate) fn detail(&self) -> &str {
        match self {
            Unreachable::Refused(detail)
            | Unreachable::TimedOut(detail)
            | Unreachable::UntrustedServer(detail)
            | Unreachable::CertificateRejected(detail)
            | Unreachable::Other(detail) => detail,
        }
    }
}

/// Ask `server` whom it takes `presented` for: `v1`, then `v1beta1` when `v1` is not served.
pub(crate) fn review(
    options: &ClientOptions,
    server: &Server,
    presented: &Presented,
    timeout: Duration,
) -> Result<Review, Unreachable> {
    let http = client(options, server, presented, timeout).map_err(Unreachable::Other)?;
    for version in ["v1", "v1beta1"] {
        let url = format!(
            "{}/apis/authentication.k8s.io/{version}/selfsubjectreviews",
            server.url.trim_end_matches('/')
        );
        let body = serde_json::json!({
            "apiVersion": format!("authentication.k8s.io/{version}"),
            "kind": "SelfSubjectReview",
        });
        let mut request = http
            .post(&url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .body(body.to_string());
        if let Presented::Token(token) = presented {
            request = request.bearer_auth(token);
        }
        let mut response = request.send().map_err(|e| unreachable(&e))?;
        let status = response.status().as_u16();
        let answer: Value = read_capped(&mut response, MAX_ANSWER)
            .ok()
            .and_then(|body| serde_json::from_slice(&body).ok())
            .unwrap_or(Value::Null);
        match status {
            200 | 201 => {
                let user = &answer["status"]["userInfo"];
                return Ok(Review::User {
                    username: user["username"].as_str().unwrap_or("").to_string(),
                    groups: user["groups"]
                        .as_array()
                        .map(|groups| {
                            groups
                                .iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default(),
                    version,
                });
            }
            404 => {}
            _ => {
                let message = answer["message"]
                    .as_str()
                    .map_or_else(|| format!("HTTP {status}"), str::to_string);
                return Ok(Review::Refused { status, message });
            }
        }
    }
    Ok(Review::NotServed)
}

fn client(
    options: &ClientOptions,
    server: &Server,
    presented: &Presented,
    timeout: Duration,
) -> Result<reqwest::blocking::Client, String> {
    let mut builder = reqwest::blocking::Client::builder()
        .user_agent(user_agent())
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    builder = if let Some(url) = server.proxy_url {
        // The URL is not quoted: it may hold a user and password.
        builder.proxy(
            reqwest::Proxy::all(url)
                .map_err(|_| "the kubeconfig's proxy-url is not a proxy URL".to_string())?,
        )
    } else {
        let proxies = options.proxies.clone();
        builder.proxy(reqwest::Proxy::custom(move |url| proxies.for_url(url)))
    };
    builder
        .use_preconfigured_tls(tls(options, server, presented)?)
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {e}"))
}

const UNUSABLE_CERTIFICATE: &str = "the cached certificate and key cannot be used for TLS";

/// The TLS set-up reqwest would make (the roots, the client certificate), as rustls's own
/// configuration handed to it whole: reqwest has no setting for a `tls-server-name`, and one
/// set-up for every case parses the CA and the credential one way. The server's certificate is
/// verified against `server`'s roots, for its `tls-server-name` ([`ForName`]) when it has one,
/// or not at all when the kubeconfig says `insecure-skip-tls-verify` ([`AcceptAny`]).
fn tls(
    options: &ClientOptions,
    server: &Server,
    presented: &Presented,
) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = if server.insecure {
        Arc::new(AcceptAny {
            algorithms: provider.signature_verification_algorithms,
        })
    } else {
        let roots = match server.authority {
            Some(pem) => authority(pem)?,
            None => options.roots.store()?,
        };
        let inner =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                .build()
                .map_err(|e| format!("the cluster's CA cannot verify anything ({e})"))?;
        match server.tls_server_name {
            Some(name) => {
                let name = ServerName::try_from(name.to_string()).map_err(|_| {
                    format!("tls-server-name `{name}` is neither a host name nor an address")
                })?;
                Arc::new(ForName { inner, name })
            }
            None => inner,
        }
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match presented {
        Presented::Certificate { certificate, key } => {
            let chain = CertificateDer::pem_slice_iter(certificate.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                // Its message could not quote the key, but say no more than needed.
                .map_err(|_| UNUSABLE_CERTIFICATE.to_string())?;
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes())
                .map_err(|_| UNUSABLE_CERTIFICATE.to_string())?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|_| UNUSABLE_CERTIFICATE.to_string())?
        }
        Presented::Token(_) => builder.with_no_client_auth(),
    };
    // What reqwest offers when it builds the configuration itself (HTTP/1.1 only here).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The cluster's CA from the kubeconfig, every certificate of it: one that cannot be used is
/// an error, not skipped, since a CA the user wrote down should be the one verified against.
fn authority(pem: &[u8]) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for root in CertificateDer::pem_slice_iter(pem) {
        let root =
            root.map_err(|e| format!("the cluster's CA in the kubeconfig is not PEM ({e})"))?;
        roots
            .add(root)
            .map_err(|e| format!("the cluster's CA in the kubeconfig cannot be used ({e})"))?;
    }
    Ok(roots)
}

/// Verifies the server's certificate as rustls does, but for `name` whatever host the URL
/// names: what client-go does with a cluster's `tls-server-name` (for a server reached by an
/// address or a tunnel whose certificate names something else). client-go also sends that
/// name as SNI; here the URL's host is sent (none for an address), as reqwest takes SNI from
/// the URL: a server that picks its certificate by SNI may answer with another one.
#[derive(Debug)]
struct ForName {
    inner: Arc<WebPkiServerVerifier>,
    name: ServerName<'static>,
}

impl ServerCertVerifier for ForName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _url_host: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, &self.name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Takes any server certificate, for a kubeconfig that says `insecure-skip-tls-verify`, as
/// kubectl does; the handshake's signatures are still checked with the provider's algorithms,
/// so the server at least holds the key of the certificate it sent.
#[derive(Debug)]
struct AcceptAny {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A transport error, by what it means here.
fn unreachable(error: &reqwest::Error) -> Unreachable {
    let detail = causes(error);
    let refused = std::iter::successors(std::error::Error::source(error), |cause| cause.source())
        .any(|cause| {
            cause
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
        });
    if error.is_timeout() {
        Unreachable::TimedOut(format!("no answer in time ({detail})"))
    } else if refused || detail.contains("Connection refused") {
        Unreachable::Refused(detail)
    } else if detail.contains(UNTRUSTED_CERTIFICATE) {
        Unreachable::UntrustedServer(detail)
    } else if detail.contains("received fatal alert") {
        Unreachable::CertificateRejected(detail)
    } else {
        Unreachable::Other(detail)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    use rustls::{ServerConfig, ServerConnection, StreamOwned};

    use super::*;

    /// A one-request TLS server on loopback with a self-signed certificate for `localhost`,
    /// answering a `SelfSubjectReview` for `alice`. Its URL and its certificate (PEM).
    fn self_signed_server() -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(
                    vec![cert.der().clone()],
                    PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
                )
                .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "https://127.0.0.1:{}",
            listener.local_addr().unwrap().port()
        );
        std::thread::spawn(move || {
            let config = Arc::new(config);
            for socket in listener.incoming().flatten() {
                let connection = ServerConnection::new(Arc::clone(&config)).unwrap();
                let mut stream = BufReader::new(StreamOwned::new(connection, socket));
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if stream.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap();
                    }
                    if line == "\r\n" {
                        let mut body = vec![0; length];
                        let _ = stream.read_exact(&mut body);
                        let answer =
                            r#"{"status":{"userInfo":{"username":"alice","groups":["dev"]}}}"#;
                        let _ = write!(
                            stream.get_mut(),
                            "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n\
                             Content-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                            answer.len()
                        );
                        stream.get_mut().conn.send_close_notify();
                        let _ = stream.get_mut().flush();
                        break;
                    }
                }
            }
        });
        (url, cert.pem())
    }

    fn ask(url: &str, authority: Option<&[u8]>, insecure: bool) -> Result<Review, Unreachable> {
        review(
            &ClientOptions::default(),
            &Server {
                url,
                authority,
                insecure,
                tls_server_name: None,
                proxy_url: None,
            },
            &Presented::Token("t"),
            Duration::from_secs(5),
        )
    }

    #[test]
    fn insecure_skip_tls_verify_takes_a_certificate_nothing_vouches_for() {
        let (url, _) = self_signed_server();
        let other = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&rcgen::KeyPair::generate().unwrap())
            .unwrap()
            .pem();
        assert!(matches!(
            ask(&url, Some(other.as_bytes()), false),
            Err(Unreachable::UntrustedServer(_))
        ));
        assert_eq!(
            ask(&url, None, true),
            Ok(Review::User {
                username: "alice".to_string(),
                groups: vec!["dev".to_string()],
                version: "v1",
            })
        );
    }

    #[test]
    fn a_kubeconfig_ca_that_is_not_pem_is_said_so() {
        let answer = ask(
            "https://127.0.0.1:1",
            Some(b"-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n"),
            false,
        );
        assert!(
            matches!(&answer, Err(Unreachable::Other(detail))
                if detail.starts_with("the cluster's CA in the kubeconfig is not PEM (")),
            "{answer:?}"
        );
    }
}
