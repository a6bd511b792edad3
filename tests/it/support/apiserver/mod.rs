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
//! Files: this one holds the server and its connections; `tls.rs` the certificates, `http.rs`
//! request parsing, `resources.rs` what is served. Self-contained (only external crates, no
//! `crate::`/`super::` out of this directory), so an example binary can reuse it with
//! `#[path = ".../apiserver/mod.rs"] mod apiserver;`.

// Not every helper is used by every test binary or example that includes this file.
#![allow(dead_code)]

mod http;
mod resources;
mod tls;

use std::io::{BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use rustls::{ServerConfig, ServerConnection, StreamOwned};

use http::{read_request, reason_phrase};
use resources::respond;
use tls::{client_identity, tls_config};

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
    /// Serial numbers (DER bytes) of revoked certificates.
    revoked: Mutex<Vec<Vec<u8>>>,
    review_versions: Mutex<Vec<&'static str>>,
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
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ApiServer {
    /// Starts the server; client certificates must chain to a CA in `client_ca_pem` (one or more
    /// PEM certificates).
    pub fn start(client_ca_pem: &str) -> ApiServer {
        ApiServer::start_named(client_ca_pem, &["127.0.0.1", "localhost"])
    }

    /// As [`ApiServer::start`], but its certificate names `names` alone: reached at
    /// `127.0.0.1`, it verifies only for a client told one of them (`tls-server-name`).
    pub fn start_named(client_ca_pem: &str, names: &[&str]) -> ApiServer {
        let (ca_pem, config) = tls_config(client_ca_pem, names);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let state = Arc::new(State {
            stop: AtomicBool::new(false),
            required_cn: Mutex::new(None),
            revoked: Mutex::new(Vec::new()),
            review_versions: Mutex::new(vec!["v1", "v1beta1"]),
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

    /// Refuses (401) every request made with this client certificate (PEM), by its serial
    /// number, as a revoked certificate is refused.
    pub fn revoke(&self, certificate_pem: &str) {
        lock(&self.state.revoked).push(tls::serial_of(certificate_pem));
    }

    /// The `authentication.k8s.io` versions whose `SelfSubjectReview` is served: `["v1",
    /// "v1beta1"]` by default, `["v1beta1"]` as Kubernetes 1.27, `[]` as older ones.
    pub fn serve_self_subject_review(&self, versions: &[&'static str]) {
        *lock(&self.state.review_versions) = versions.to_vec();
    }

    /// Every HTTP request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.requests).clone()
    }

    /// Ok when the server saw at least one request and each came with a verified client
    /// certificate whose subject CN is `cn` (the caller's uid); else every request, for the
    /// failure message.
    pub fn check_cn(&self, cn: &str) -> Result<(), String> {
        let requests = self.requests();
        if requests.is_empty()
            || !requests
                .iter()
                .all(|r| r.client_cert_verified && r.client_cn.as_deref() == Some(cn))
        {
            return Err(format!(
                "the API server did not see the caller's certificate (CN {cn}) on every request: \
                 {requests:?}"
            ));
        }
        Ok(())
    }

    /// Ok when the server saw at least one request and answered each with `status`; else every
    /// request, for the failure message.
    pub fn check_every_status(&self, status: u16) -> Result<(), String> {
        let requests = self.requests();
        if requests.is_empty() || !requests.iter().all(|r| r.status == status) {
            return Err(format!(
                "the API server did not answer {status} to every request: {requests:?}"
            ));
        }
        Ok(())
    }

    /// Forgets the requests recorded so far.
    pub fn clear_requests(&self) {
        lock(&self.state.requests).clear();
    }

    /// Number of connections accepted so far (whether or not a request came on them).
    pub fn connections_accepted(&self) -> usize {
        lock(&self.state.connections).len()
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
    let client = peer_der.as_deref().map(client_identity);
    let client_cert_verified = client.is_some();
    let client_cn = client.as_ref().and_then(|c| c.cn.clone());

    let mut reader = BufReader::new(tls);
    while let Some(req) = read_request(&mut reader) {
        let (status, body) = respond(&state, &req, client.as_ref());
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
