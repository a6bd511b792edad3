//! A fake Kubernetes API server for end-to-end tests with real kubectl.
//!
//! HTTPS (rustls, ring provider, ALPN `http/1.1` only) on `127.0.0.1:0`, one std thread per
//! connection. It makes its own server CA and a server certificate for `127.0.0.1` and
//! `localhost`, and asks for a client certificate verified against the CA it is given. A request
//! without a verified client certificate gets HTTP 401 with a Kubernetes `Status` (kubectl: "You
//! must be logged in to the server (Unauthorized)"); a certificate from another CA fails the TLS
//! handshake; with [`ApiServer::require_cn`] a verified certificate with another subject CN gets
//! 403 Forbidden.
//!
//! Served with a verified client certificate: `GET /version`, the discovery documents `/api`,
//! `/apis`, `/api/v1`, and the pods of namespace `default` (one pod, [`POD_NAME`]), as a `PodList`
//! or, when kubectl asks for it, as a `meta.k8s.io/v1` `Table`. Anything else: 404 `Status`.
//!
//! Every HTTP request is recorded ([`ApiServer::requests`]), every failed TLS handshake too
//! ([`ApiServer::handshake_failures`]). Dropping the server stops it: the listener and every open
//! connection are shut down and their threads joined.
//!
//! Self-contained (only external crates, no `crate::`/`super::`), so an example binary can reuse
//! it with `#[path = ".../apiserver.rs"] mod apiserver;`.

// Not every helper is used by every test binary or example that includes this file.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection, StreamOwned};

/// Name of the one pod in namespace `default`.
pub const POD_NAME: &str = "hello-from-fake-apiserver";

/// The `gitVersion` that `GET /version` reports.
pub const SERVER_GIT_VERSION: &str = "v1.31.0";

/// How long a connection may sit idle (or a write may block) before its thread gives up.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest request head accepted (request line plus headers).
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// One HTTP request the server received (after a completed TLS handshake).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, without the query string: `/api/v1/namespaces/default/pods`.
    pub path: String,
    /// The query string without `?`, if there was one.
    pub query: Option<String>,
    /// Whether the client presented a certificate that verified against the client CA.
    pub client_cert_verified: bool,
    /// Subject CN of that verified client certificate.
    pub client_cn: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// The `Accept` header.
    pub accept: Option<String>,
    /// The token of an `Authorization: Bearer` header (the server never accepts it: only client
    /// certificates authenticate).
    pub bearer_token: Option<String>,
    /// HTTP status the server answered with.
    pub status: u16,
}

struct State {
    stop: AtomicBool,
    required_cn: Mutex<Option<String>>,
    requests: Mutex<Vec<RecordedRequest>>,
    handshake_failures: Mutex<Vec<String>>,
    /// Clones of every accepted socket (to shut them down on drop) and their threads.
    connections: Mutex<Vec<(TcpStream, JoinHandle<()>)>>,
}

/// The running fake API server. Stops when dropped.
pub struct ApiServer {
    addr: SocketAddr,
    ca_pem: String,
    state: Arc<State>,
    accept_thread: Option<JoinHandle<()>>,
}

/// Locks a mutex, ignoring poisoning (a panicking test thread must not break `Drop`).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ApiServer {
    /// Starts the server; client certificates must chain to a CA in `client_ca_pem` (one or more
    /// PEM certificates).
    pub fn start(client_ca_pem: &str) -> ApiServer {
        let (ca_pem, config) = tls_config(client_ca_pem);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let state = Arc::new(State {
            stop: AtomicBool::new(false),
            required_cn: Mutex::new(None),
            requests: Mutex::new(Vec::new()),
            handshake_failures: Mutex::new(Vec::new()),
            connections: Mutex::new(Vec::new()),
        });
        let accept_state = Arc::clone(&state);
        let accept_thread = std::thread::Builder::new()
            .name(format!("fake-apiserver-accept-{}", addr.port()))
            .spawn(move || accept_loop(listener, config, accept_state))
            .expect("spawn accept thread");
        ApiServer {
            addr,
            ca_pem,
            state,
            accept_thread: Some(accept_thread),
        }
    }

    /// `https://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.addr.port())
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// PEM of the CA that signed the server certificate (for `certificate-authority-data`).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Only a verified client certificate whose subject CN is `cn` is let in (others get 403
    /// Forbidden); `None` lets in any verified client certificate (the default).
    pub fn require_cn(&self, cn: Option<&str>) {
        *lock(&self.state.required_cn) = cn.map(str::to_owned);
    }

    /// Every HTTP request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.requests).clone()
    }

    /// Forgets the requests recorded so far.
    pub fn clear_requests(&self) {
        lock(&self.state.requests).clear();
    }

    /// The errors of TLS handshakes that failed (e.g. a client certificate from an unknown CA).
    pub fn handshake_failures(&self) -> Vec<String> {
        lock(&self.state.handshake_failures).clone()
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept(); it sees `stop` and returns.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(2));
        if let Some(t) = self.accept_thread.take() {
            let _ = t.join();
        }
        let connections = std::mem::take(&mut *lock(&self.state.connections));
        for (sock, _) in &connections {
            let _ = sock.shutdown(Shutdown::Both);
        }
        for (_, t) in connections {
            let _ = t.join();
        }
    }
}

/// Makes the server CA and certificate, and the rustls config. Returns (server CA PEM, config).
fn tls_config(client_ca_pem: &str) -> (String, Arc<ServerConfig>) {
    use rcgen::{
        BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };

    let ca_key = KeyPair::generate().expect("generate server CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name = DistinguishedName::new();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "fake-apiserver-ca");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).expect("self-sign server CA");

    let key = KeyPair::generate().expect("generate server key");
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("server cert params");
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "fake-apiserver");
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params
        .signed_by(&key, &ca_cert, &ca_key)
        .expect("sign server cert");

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for der in CertificateDer::pem_slice_iter(client_ca_pem.as_bytes()) {
        roots
            .add(der.expect("client CA PEM"))
            .expect("add client CA to the root store");
    }
    assert!(
        !roots.is_empty(),
        "ApiServer::start: no certificate in client_ca_pem"
    );
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .expect("client certificate verifier");
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![cert.der().clone(), ca_cert.der().clone()],
            PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("server certificate");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    (ca_cert.pem(), Arc::new(config))
}

fn accept_loop(listener: TcpListener, config: Arc<ServerConfig>, state: Arc<State>) {
    for stream in listener.incoming() {
        if state.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
        let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
        let _ = stream.set_nodelay(true);
        let Ok(clone) = stream.try_clone() else {
            continue;
        };
        let config = Arc::clone(&config);
        let conn_state = Arc::clone(&state);
        let handle = std::thread::Builder::new()
            .name("fake-apiserver-conn".to_owned())
            .spawn(move || serve_connection(stream, config, conn_state));
        match handle {
            Ok(handle) => lock(&state.connections).push((clone, handle)),
            Err(_) => {
                let _ = clone.shutdown(Shutdown::Both);
            }
        }
    }
}

fn serve_connection(sock: TcpStream, config: Arc<ServerConfig>, state: Arc<State>) {
    let Ok(conn) = ServerConnection::new(config) else {
        return;
    };
    let mut tls = StreamOwned::new(conn, sock);
    while tls.conn.is_handshaking() {
        if let Err(e) = tls.conn.complete_io(&mut tls.sock) {
            if !state.stop.load(Ordering::SeqCst) {
                lock(&state.handshake_failures).push(e.to_string());
            }
            // Send the alert rustls queued (e.g. unknown CA), if any.
            let _ = tls.conn.complete_io(&mut tls.sock);
            return;
        }
    }
    let peer_der = tls
        .conn
        .peer_certificates()
        .and_then(|certs| certs.first())
        .map(|c| c.as_ref().to_vec());
    let client_cert_verified = peer_der.is_some();
    let client_cn = peer_der.as_deref().and_then(subject_cn);

    let mut reader = BufReader::new(tls);
    while let Some(req) = read_request(&mut reader) {
        let (status, body) = respond(&state, &req, client_cert_verified, client_cn.as_deref());
        lock(&state.requests).push(RecordedRequest {
            method: req.method.clone(),
            path: req.path.clone(),
            query: req.query.clone(),
            client_cert_verified,
            client_cn: client_cn.clone(),
            user_agent: req.header("user-agent").map(str::to_owned),
            accept: req.header("accept").map(str::to_owned),
            bearer_token: req
                .header("authorization")
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(|t| t.trim().to_owned()),
            status,
        });
        let close = req
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let head = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Cache-Control: no-cache, private\r\n{}\r\n",
            reason_phrase(status),
            body.len(),
            if close { "Connection: close\r\n" } else { "" },
        );
        let stream = reader.get_mut();
        let written = stream
            .write_all(head.as_bytes())
            .and_then(|()| stream.write_all(body.as_bytes()))
            .and_then(|()| stream.flush());
        if written.is_err() || close {
            break;
        }
    }
    let tls = reader.get_mut();
    tls.conn.send_close_notify();
    let _ = tls.conn.complete_io(&mut tls.sock);
}

struct HttpRequest {
    method: String,
    path: String,
    query: Option<String>,
    headers: Vec<(String, String)>,
}

impl HttpRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one HTTP/1.1 request (head, and a `Content-Length` body which is discarded).
/// `None` at end of stream or on any error.
fn read_request<R: Read>(reader: &mut BufReader<R>) -> Option<HttpRequest> {
    let mut total = 0usize;
    let mut read_line = |reader: &mut BufReader<R>| -> Option<String> {
        let mut line = String::new();
        let n = reader.read_line(&mut line).ok()?;
        total += n;
        if n == 0 || total > MAX_HEAD_BYTES {
            return None;
        }
        Some(line.trim_end_matches(['\r', '\n']).to_owned())
    };
    let mut request_line = read_line(reader)?;
    while request_line.is_empty() {
        request_line = read_line(reader)?;
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader)?;
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (target, None),
    };
    let req = HttpRequest {
        method,
        path,
        query,
        headers,
    };
    if let Some(len) = req.header("content-length") {
        let len: u64 = len.parse().ok()?;
        std::io::copy(&mut reader.by_ref().take(len), &mut std::io::sink()).ok()?;
    }
    if req
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        return None; // Nothing kubectl sends here; not supported.
    }
    Some(req)
}

/// Subject CN of a DER certificate.
fn subject_cn(der: &[u8]) -> Option<String> {
    use x509_cert::der::Decode;
    use x509_cert::der::asn1::ObjectIdentifier;
    const CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
    let cert = x509_cert::Certificate::from_der(der).ok()?;
    cert.tbs_certificate
        .subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == CN)
        .map(|atv| String::from_utf8_lossy(atv.value.value()).into_owned())
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Unknown",
    }
}

fn status_body(code: u16, reason: &str, message: &str) -> String {
    serde_json::json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    })
    .to_string()
}

/// The answer to one request: (HTTP status, JSON body).
fn respond(
    state: &State,
    req: &HttpRequest,
    verified: bool,
    client_cn: Option<&str>,
) -> (u16, String) {
    if !verified {
        return (401, status_body(401, "Unauthorized", "Unauthorized"));
    }
    if let Some(required) = lock(&state.required_cn).as_deref()
        && client_cn != Some(required)
    {
        let user = client_cn.unwrap_or("");
        let message = format!(
            "{} is forbidden: User \"{user}\" cannot {} path \"{}\"",
            req.path,
            req.method.to_ascii_lowercase(),
            req.path
        );
        return (403, status_body(403, "Forbidden", &message));
    }
    if req.method != "GET" {
        let message = format!("the server does not allow this method on {}", req.path);
        return (405, status_body(405, "MethodNotAllowed", &message));
    }
    let path = req.path.trim_end_matches('/');
    let wants_table = req.header("accept").is_some_and(|a| a.contains("as=Table"));
    let body = match path {
        "/version" => version_json(),
        "/api" => serde_json::json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [],
        }),
        "/apis" => serde_json::json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []}),
        "/api/v1" => api_v1_resources(),
        "/api/v1/namespaces/default/pods" if wants_table => pod_table(),
        "/api/v1/namespaces/default/pods" => serde_json::json!({
            "kind": "PodList",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": "1"},
            "items": [pod()],
        }),
        p if p == format!("/api/v1/namespaces/default/pods/{POD_NAME}") => pod(),
        _ => {
            let message = "the server could not find the requested resource";
            return (404, status_body(404, "NotFound", message));
        }
    };
    (200, body.to_string())
}

fn version_json() -> serde_json::Value {
    serde_json::json!({
        "major": "1",
        "minor": "31",
        "gitVersion": SERVER_GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2024-08-13T00:00:00Z",
        "goVersion": "go1.22.5",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

fn api_v1_resources() -> serde_json::Value {
    serde_json::json!({
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            {
                "name": "namespaces",
                "singularName": "namespace",
                "namespaced": false,
                "kind": "Namespace",
                "verbs": ["get", "list"],
                "shortNames": ["ns"],
            },
            {
                "name": "pods",
                "singularName": "pod",
                "namespaced": true,
                "kind": "Pod",
                "verbs": ["get", "list"],
                "shortNames": ["po"],
                "categories": ["all"],
            },
        ],
    })
}

fn pod_metadata() -> serde_json::Value {
    serde_json::json!({
        "name": POD_NAME,
        "namespace": "default",
        "uid": "6f1c7a52-2d0e-4a55-9a57-000000000001",
        "resourceVersion": "1",
        "creationTimestamp": "2024-01-01T00:00:00Z",
        "labels": {"app": "hello"},
    })
}

fn pod() -> serde_json::Value {
    serde_json::json!({
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": pod_metadata(),
        "spec": {"containers": [{"name": "hello", "image": "registry.invalid/hello:1"}]},
        "status": {
            "phase": "Running",
            "containerStatuses": [{
                "name": "hello",
                "ready": true,
                "restartCount": 0,
                "image": "registry.invalid/hello:1",
                "imageID": "",
                "state": {"running": {"startedAt": "2024-01-01T00:00:01Z"}},
            }],
        },
    })
}

fn pod_table() -> serde_json::Value {
    let column = |name: &str, format: &str, description: &str| {
        serde_json::json!({
            "name": name,
            "type": "string",
            "format": format,
            "description": description,
            "priority": 0,
        })
    };
    serde_json::json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": "1"},
        "columnDefinitions": [
            column("Name", "name", "Name must be unique within a namespace."),
            column("Ready", "", "The aggregate readiness state of this pod."),
            column("Status", "", "The aggregate status of the containers in this pod."),
            column("Restarts", "", "The number of times the containers have been restarted."),
            column("Age", "", "Time since the pod was created."),
        ],
        "rows": [{
            "cells": [POD_NAME, "1/1", "Running", "0", "1y"],
            "object": {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": pod_metadata(),
            },
        }],
    })
}
