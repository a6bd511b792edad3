//! An in-process fake of the Alibaba Cloud Container Service (cs) API, on 127.0.0.1.
//!
//! It exists so the real binary can be run against something that behaves like the cloud: it
//! checks every request's ROA V2 HMAC-SHA1 signature with its own verifier (written from the
//! public reference, not shared with `src/`), answers with Alibaba's error shapes, and issues real
//! client certificates from its own client CA, so a TLS API server can trust what it hands out.
//! Faults (5xx, throttling, dropped connections, hangs, garbage bodies) can be queued for the next
//! requests or made permanent, and every request is logged for assertions and failure messages.
//!
//! The file is self-contained (std and external crates only, no `super::`/`crate::`), so an
//! example binary can reuse it with `#[path = "../tests/it/support/fake_cloud.rs"] mod fake_cloud;`.
//!
//! The HTTP server is deliberately minimal: one thread per connection, one request per
//! connection, every answer `Connection: close`.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha1::Sha1;

/// The cs API version the fake serves.
pub const CS_API_VERSION: &str = "2015-12-15";
/// `x-acs-action` for `GET /k8s/{ClusterId}/user_config`.
pub const ACTION_USER_CONFIG: &str = "DescribeClusterUserKubeconfig";
/// `x-acs-action` for `GET /k8s/{ClusterId}/users/{Uid}/user_config`.
pub const ACTION_SUBACCOUNT_USER_CONFIG: &str = "DescribeSubaccountK8sClusterUserConfig";
/// How far a request's `Date` may be from the server's clock.
pub const MAX_CLOCK_SKEW: TimeDelta = TimeDelta::minutes(15);
/// Lifetime of a certificate when the request leaves `TemporaryDurationMinutes` out (the real
/// API then returns a certificate valid for years).
pub const LONG_LIVED_CERT: Duration = Duration::from_secs(3 * 365 * 24 * 3600);
/// Organization (O) written into every issued client certificate.
pub const CERT_ORGANIZATION: &str = "system:users";

const HOST_ID: &str = "cs.aliyuncs.com";

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/// The identity an access key authenticates as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Alibaba Cloud uid: the CN of the certificates issued to this principal.
    pub uid: String,
    /// A main (root) account may call `DescribeSubaccountK8sClusterUserConfig`; RAM users may not.
    pub main_account: bool,
}

/// A fully specified access key, for [`FakeCloud::add_key`].
#[derive(Clone)]
pub struct AccessKey {
    pub id: String,
    pub secret: String,
    pub principal: Principal,
    /// For STS keys: the `x-acs-security-token` every request must carry.
    pub security_token: Option<String>,
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKey")
            .field("id", &self.id)
            .field("secret", &"***")
            .field("principal", &self.principal)
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "***"),
            )
            .finish()
    }
}

/// A fault applied to a request instead of (or on top of) the normal answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 503 with an RPC-style `ServiceUnavailable` body.
    ServiceUnavailable,
    /// HTTP 500 with an RPC-style `InternalError` body.
    InternalError,
    /// HTTP 400 `Throttling.User` with `x-ratelimit-user-api: Limit:10,Remain:0,TimeLeft:<ms>,...`.
    Throttling { time_left_ms: u64 },
    /// HTTP 429 `Throttling` with the same `x-ratelimit-user-api` header.
    TooManyRequests { time_left_ms: u64 },
    /// Read the request, then close the connection without answering.
    DropConnection,
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Never answer; the connection is closed when the fake is dropped.
    Hang,
    /// Answer with exactly this status, extra headers and body (no checks at all).
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// After the request passed every check: HTTP 200 with a body that is not JSON.
    BodyNotJson,
    /// After the request passed every check: HTTP 200 JSON without `config`.
    BodyWithoutConfig,
    /// After the request passed every check: HTTP 200 whose `config` is not YAML.
    ConfigNotYaml,
    /// After the request passed every check: HTTP 200 whose kubeconfig carries PEM-looking
    /// `client-certificate-data` that is not a certificate.
    CertificateNotACertificate,
}

impl Fault {
    /// Faults applied only once the request has been authenticated and routed.
    fn replaces_success(&self) -> bool {
        matches!(
            self,
            Fault::BodyNotJson
                | Fault::BodyWithoutConfig
                | Fault::ConfigNotYaml
                | Fault::CertificateNotACertificate
        )
    }

    fn name(&self) -> String {
        match self {
            Fault::Respond { status, .. } => format!("Respond({status})"),
            Fault::Delay(d) => format!("Delay({d:?})"),
            Fault::Throttling { time_left_ms } => format!("Throttling({time_left_ms}ms)"),
            Fault::TooManyRequests { time_left_ms } => format!("TooManyRequests({time_left_ms}ms)"),
            other => format!("{other:?}"),
        }
    }
}

/// What happened to a logged request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Still being handled (delayed, hanging, or waiting out the latency).
    Pending,
    /// A kubeconfig was issued (see [`RequestRecord::issued`]).
    Issued,
    /// An injected fault decided the answer.
    Fault(String),
    /// Rejected with this error code (gateway or cs business error).
    Rejected(String),
}

/// What a successful request was given.
#[derive(Clone, Debug)]
pub struct Issued {
    pub cluster_id: String,
    /// The uid the kubeconfig is for (CN of the certificate).
    pub uid: String,
    /// The cluster `server` written into the kubeconfig (public or private URL).
    pub server: String,
    pub private_ip: bool,
    /// `TemporaryDurationMinutes` as asked (None when left out).
    pub temporary_duration_minutes: Option<u32>,
    /// The client certificate PEM (None for a token user).
    pub certificate_pem: Option<String>,
    /// The token (for a token cluster).
    pub token: Option<String>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// The body's `expiration` string.
    pub expiration: String,
    /// The certificate serial number (0 for a token user).
    pub serial: u64,
}

/// One request as the fake saw it.
#[derive(Clone)]
pub struct RequestRecord {
    /// 0-based position in the log.
    pub seq: usize,
    /// Wall-clock (real, not offset) time the request head was read.
    pub received_at: DateTime<Utc>,
    /// Monotonic time the request head was read, for measuring gaps between retries.
    pub received: Instant,
    pub method: String,
    /// The request target exactly as sent.
    pub target: String,
    /// The percent-decoded path.
    pub path: String,
    /// Percent-decoded query parameters in the order sent.
    pub query: Vec<(String, String)>,
    /// Headers in the order sent, names as sent.
    pub headers: Vec<(String, String)>,
    /// `x-acs-action`.
    pub action: Option<String>,
    /// The AccessKeyId from `Authorization`.
    pub access_key_id: Option<String>,
    pub outcome: Outcome,
    /// HTTP status answered (None when dropped or still pending).
    pub status: Option<u16>,
    /// RequestId put into the answer.
    pub request_id: String,
    pub issued: Option<Issued>,
}

impl RequestRecord {
    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// First query parameter with this name (decoded value).
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `x-acs-signature-nonce`.
    pub fn nonce(&self) -> Option<&str> {
        self.header("x-acs-signature-nonce")
    }
}

impl fmt::Debug for RequestRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self
            .status
            .map_or_else(|| "-".to_string(), |s| s.to_string());
        writeln!(
            f,
            "#{} {} {} {} action={} ak={} -> {} {:?} RequestId={}",
            self.seq,
            self.received_at.format("%H:%M:%S%.3f"),
            self.method,
            self.target,
            self.action.as_deref().unwrap_or("-"),
            self.access_key_id.as_deref().unwrap_or("-"),
            status,
            self.outcome,
            self.request_id,
        )?;
        for (name, value) in &self.headers {
            let lower = name.to_ascii_lowercase();
            let shown = if lower == "x-acs-security-token" {
                format!("*** ({} chars)", value.len())
            } else {
                value.clone()
            };
            writeln!(f, "    {name}: {shown}")?;
        }
        if let Some(issued) = &self.issued {
            writeln!(
                f,
                "    issued: uid={} server={} serial={} not_after={} expiration={}",
                issued.uid,
                issued.server,
                issued.serial,
                issued.not_after.to_rfc3339(),
                issued.expiration
            )?;
        }
        Ok(())
    }
}

/// The fake cloud. Stops (and closes hanging connections) on drop.
pub struct FakeCloud {
    shared: Arc<Shared>,
    addr: SocketAddr,
    acceptor: Option<JoinHandle<()>>,
}

impl FakeCloud {
    /// Binds 127.0.0.1:0 and starts serving.
    pub fn start() -> FakeCloud {
        let listener = TcpListener::bind("127.0.0.1:0").expect("fake cloud: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("fake cloud: local_addr");
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            stopping: AtomicBool::new(false),
            client_ca: Authority::new("fake-ack-client-ca"),
            cluster_ca: Authority::new("kubernetes"),
            serials: AtomicU64::new(1),
            started: Instant::now(),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name(format!("fake-cloud-{}", addr.port()))
                .spawn(move || accept_loop(&shared, listener))
                .expect("fake cloud: spawn acceptor")
        };
        FakeCloud {
            shared,
            addr,
            acceptor: Some(acceptor),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    // --- accounts -----------------------------------------------------------------------------

    /// Registers an access key of a new RAM user (fresh uid) and returns that user.
    pub fn add_access_key(&self, id: &str, secret: &str) -> Principal {
        let principal = self.new_principal(false);
        self.add_key(AccessKey {
            id: id.to_string(),
            secret: secret.to_string(),
            principal: principal.clone(),
            security_token: None,
        });
        principal
    }

    /// Registers an access key of the main (root) account (fresh uid).
    pub fn add_main_account_key(&self, id: &str, secret: &str) -> Principal {
        let principal = self.new_principal(true);
        self.add_key(AccessKey {
            id: id.to_string(),
            secret: secret.to_string(),
            principal: principal.clone(),
            security_token: None,
        });
        principal
    }

    /// Registers an STS key (fresh uid, not a main account) whose requests must carry
    /// `x-acs-security-token: token`.
    pub fn add_sts_key(&self, id: &str, secret: &str, token: &str) -> Principal {
        let principal = self.new_principal(false);
        self.add_key(AccessKey {
            id: id.to_string(),
            secret: secret.to_string(),
            principal: principal.clone(),
            security_token: Some(token.to_string()),
        });
        principal
    }

    /// Registers (or replaces) a fully specified key; e.g. a second key of an existing principal.
    pub fn add_key(&self, key: AccessKey) {
        let mut state = self.shared.lock();
        if !key.principal.main_account {
            state.sub_users.insert(key.principal.uid.clone());
        }
        state.keys.insert(key.id.clone(), key);
    }

    /// Registers a RAM user of the account that a main account may ask about with `--uid`.
    pub fn add_sub_user(&self, uid: &str) {
        self.shared.lock().sub_users.insert(uid.to_string());
    }

    fn new_principal(&self, main_account: bool) -> Principal {
        let mut state = self.shared.lock();
        state.next_uid += 1;
        let uid = if main_account {
            1_000_000_000_000_000u64 + state.next_uid
        } else {
            20_000_000_000_000_000u64 + state.next_uid
        };
        Principal {
            uid: uid.to_string(),
            main_account,
        }
    }

    // --- clusters -----------------------------------------------------------------------------

    /// Registers a cluster whose kubeconfig carries a client certificate.
    pub fn add_cluster(&self, id: &str, public_server: &str, private_server: &str, ca_pem: &str) {
        self.shared.lock().clusters.insert(
            id.to_string(),
            Cluster {
                public_server: public_server.to_string(),
                private_server: private_server.to_string(),
                ca_pem: ca_pem.to_string(),
                token: None,
            },
        );
    }

    /// Registers a cluster with documentation-range server URLs and the fake's cluster CA.
    pub fn add_cluster_with_defaults(&self, id: &str) {
        let ca = self.cluster_ca_pem();
        self.add_cluster(id, DEFAULT_PUBLIC_SERVER, DEFAULT_PRIVATE_SERVER, &ca);
    }

    /// Registers a cluster whose kubeconfig user carries `token` instead of a certificate.
    pub fn add_token_cluster(&self, id: &str, token: &str) {
        let ca = self.cluster_ca_pem();
        self.shared.lock().clusters.insert(
            id.to_string(),
            Cluster {
                public_server: DEFAULT_PUBLIC_SERVER.to_string(),
                private_server: DEFAULT_PRIVATE_SERVER.to_string(),
                ca_pem: ca,
                token: Some(token.to_string()),
            },
        );
    }

    /// PEM of the CA that signs every client certificate the fake issues.
    pub fn client_ca_pem(&self) -> String {
        self.shared.client_ca.pem.clone()
    }

    /// PEM of the default cluster CA (what `add_cluster_with_defaults` puts in kubeconfigs).
    pub fn cluster_ca_pem(&self) -> String {
        self.shared.cluster_ca.pem.clone()
    }

    // --- behaviour ----------------------------------------------------------------------------

    /// Applies `fault` to each of the next `n` requests (queued faults come before a persistent one).
    pub fn fail_next(&self, n: usize, fault: Fault) {
        let mut state = self.shared.lock();
        for _ in 0..n {
            state.queued.push_back(fault.clone());
        }
    }

    /// Applies `fault` to every request from now on (until [`FakeCloud::clear_faults`]).
    pub fn fail_always(&self, fault: Fault) {
        self.shared.lock().persistent = Some(fault);
    }

    /// Forgets queued and persistent faults.
    pub fn clear_faults(&self) {
        let mut state = self.shared.lock();
        state.queued.clear();
        state.persistent = None;
    }

    /// Adds this delay before every successful answer (to widen race windows).
    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().latency = latency;
    }

    /// Moves the server's clock: positive means the server is ahead of the real time.
    pub fn set_clock_offset(&self, offset: TimeDelta) {
        self.shared.lock().clock_offset = offset;
    }

    /// Overrides the lifetime of issued certificates (NotAfter = now + lifetime), whatever
    /// `TemporaryDurationMinutes` says.
    pub fn set_cert_lifetime(&self, lifetime: Duration) {
        self.shared.lock().cert_lifetime = Some(lifetime);
    }

    /// Moves the body's `expiration` away from the certificate's NotAfter (negative: earlier),
    /// as when the API's idea of the expiry and the certificate disagree.
    pub fn set_api_expiration_offset(&self, offset: TimeDelta) {
        self.shared.lock().api_expiration_offset = offset;
    }

    /// The server's clock (real time plus the offset).
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.now()
    }

    // --- the log ------------------------------------------------------------------------------

    /// Every request that reached the server, in arrival order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.lock().log.clone()
    }

    /// Number of requests that reached the server.
    pub fn count(&self) -> usize {
        self.shared.lock().log.len()
    }

    /// Number of requests answered with a kubeconfig.
    pub fn successes(&self) -> usize {
        self.shared
            .lock()
            .log
            .iter()
            .filter(|r| r.outcome == Outcome::Issued)
            .count()
    }

    /// The most recent request.
    pub fn last_request(&self) -> Option<RequestRecord> {
        self.shared.lock().log.last().cloned()
    }

    /// The request log as text, for failure messages (security tokens redacted).
    pub fn dump(&self) -> String {
        let log = self.requests();
        let mut out = format!(
            "fake cloud at {}: {} request(s), {} issued\n",
            self.endpoint(),
            log.len(),
            log.iter().filter(|r| r.outcome == Outcome::Issued).count()
        );
        for record in &log {
            out.push_str(&format!("{record:?}"));
        }
        out
    }
}

impl fmt::Debug for FakeCloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.dump())
    }
}

impl Drop for FakeCloud {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        {
            let _state = self.shared.lock();
            self.shared.wake.notify_all();
        }
        // Wake the blocking accept() so the acceptor sees `stopping`.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The ROA V2 verifier (own implementation, from the public reference)
// ---------------------------------------------------------------------------------------------

/// The ROA V2 string to sign:
/// `METHOD\nAccept\nContent-MD5\nContent-Type\nDate\n` + `name:trimmed value\n` for every
/// `x-acs-*` header (lower-cased names, sorted) + path + (`?` + sorted `k=v` / bare `k` with raw,
/// decoded values, when there is a query).
pub fn roa_string_to_sign(
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
) -> String {
    let mut out = String::new();
    out.push_str(method);
    out.push('\n');
    for name in ["accept", "content-md5", "content-type", "date"] {
        out.push_str(find_header(headers, name).unwrap_or(""));
        out.push('\n');
    }
    let mut acs: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
        .filter(|(k, _)| k.starts_with("x-acs-"))
        .collect();
    acs.sort();
    for (name, value) in &acs {
        out.push_str(name);
        out.push(':');
        out.push_str(value);
        out.push('\n');
    }
    out.push_str(path);
    if !query.is_empty() {
        let mut sorted: Vec<&(String, String)> = query.iter().collect();
        sorted.sort();
        let joined: Vec<String> = sorted
            .iter()
            .map(|(k, v)| {
                if v.is_empty() {
                    k.clone()
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        out.push('?');
        out.push_str(&joined.join("&"));
    }
    out
}

/// `base64(HMAC-SHA1(key = secret, string_to_sign))`.
pub fn roa_signature(secret: &str, string_to_sign: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(string_to_sign.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

// ---------------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------------

const DEFAULT_PUBLIC_SERVER: &str = "https://203.0.113.10:6443";
const DEFAULT_PRIVATE_SERVER: &str = "https://192.168.0.10:6443";

struct Cluster {
    public_server: String,
    private_server: String,
    ca_pem: String,
    token: Option<String>,
}

#[derive(Default)]
struct State {
    keys: HashMap<String, AccessKey>,
    sub_users: HashSet<String>,
    clusters: HashMap<String, Cluster>,
    queued: VecDeque<Fault>,
    persistent: Option<Fault>,
    latency: Duration,
    clock_offset: TimeDelta,
    cert_lifetime: Option<Duration>,
    api_expiration_offset: TimeDelta,
    nonces: HashSet<String>,
    next_uid: u64,
    log: Vec<RequestRecord>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    stopping: AtomicBool,
    client_ca: Authority,
    cluster_ca: Authority,
    serials: AtomicU64,
    started: Instant,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.lock().clock_offset
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Sleeps for `duration` (forever when None) or until the fake is dropped.
    /// Returns false when the fake is stopping.
    fn pause(&self, duration: Option<Duration>) -> bool {
        let deadline = duration.map(|d| Instant::now() + d);
        let mut state = self.lock();
        loop {
            if self.stopping() {
                return false;
            }
            match deadline {
                None => {
                    state = self
                        .wake
                        .wait(state)
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                }
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return true;
                    }
                    state = self
                        .wake
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .0;
                }
            }
        }
    }

    fn update(&self, seq: usize, f: impl FnOnce(&mut RequestRecord)) {
        let mut state = self.lock();
        if let Some(record) = state.log.get_mut(seq) {
            f(record);
        }
    }
}

/// A CA (self-signed) held by the fake.
struct Authority {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
    pem: String,
}

impl Authority {
    fn new(common_name: &str) -> Authority {
        let key = rcgen::KeyPair::generate().expect("fake cloud: CA key");
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, common_name);
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "fake-alibaba-cloud");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let now = Utc::now();
        set_validity(
            &mut params,
            now - TimeDelta::days(1),
            now + TimeDelta::days(3650),
        );
        let cert = params.self_signed(&key).expect("fake cloud: self-sign CA");
        let pem = cert.pem();
        Authority { cert, key, pem }
    }
}

/// Sets NotBefore/NotAfter (whole seconds) without naming rcgen's `time` types.
fn set_validity(
    params: &mut rcgen::CertificateParams,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
) {
    let since_epoch =
        |at: DateTime<Utc>| Duration::from_secs(u64::try_from(at.timestamp()).unwrap_or(0));
    params.not_before = rcgen::date_time_ymd(1970, 1, 1) + since_epoch(not_before);
    params.not_after = rcgen::date_time_ymd(1970, 1, 1) + since_epoch(not_after);
}

struct HttpRequest {
    method: String,
    target: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
}

impl HttpRequest {
    fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    outcome: Outcome,
    issued: Option<Box<Issued>>,
}

impl Reply {
    fn json(status: u16, body: Value, outcome: Outcome) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: body.to_string(),
            outcome,
            issued: None,
        }
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn accept_loop(shared: &Arc<Shared>, listener: TcpListener) {
    for stream in listener.incoming() {
        if shared.stopping() {
            break;
        }
        let Ok(stream) = stream else { continue };
        let shared = Arc::clone(shared);
        let _ = thread::Builder::new()
            .name("fake-cloud-conn".to_string())
            .spawn(move || serve_connection(&shared, stream));
    }
}

fn serve_connection(shared: &Shared, mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let Ok(Some(request)) = read_request(&mut stream) else {
        return;
    };
    if shared.stopping() {
        return;
    }
    let request_id = new_request_id(shared);
    let (seq, fault) = {
        let mut state = shared.lock();
        let fault = state
            .queued
            .pop_front()
            .or_else(|| state.persistent.clone());
        let seq = state.log.len();
        let access_key_id = request
            .header("authorization")
            .and_then(|a| a.strip_prefix("acs "))
            .and_then(|a| a.split_once(':'))
            .map(|(id, _)| id.to_string());
        state.log.push(RequestRecord {
            seq,
            received_at: Utc::now(),
            received: Instant::now(),
            method: request.method.clone(),
            target: request.target.clone(),
            path: request.path.clone(),
            query: request.query.clone(),
            headers: request.headers.clone(),
            action: request.header("x-acs-action").map(str::to_string),
            access_key_id,
            outcome: Outcome::Pending,
            status: None,
            request_id: request_id.clone(),
            issued: None,
        });
        (seq, fault)
    };

    let reply = match fault {
        Some(Fault::DropConnection) => {
            shared.update(seq, |r| r.outcome = Outcome::Fault("DropConnection".into()));
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        Some(Fault::Hang) => {
            shared.update(seq, |r| r.outcome = Outcome::Fault("Hang".into()));
            shared.pause(None);
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        Some(Fault::Delay(delay)) => {
            if !shared.pause(Some(delay)) {
                return;
            }
            answer(shared, &request, &request_id, None)
        }
        Some(fault) if fault.replaces_success() => {
            answer(shared, &request, &request_id, Some(fault))
        }
        Some(fault) => gateway_fault(shared, &fault, &request_id),
        None => answer(shared, &request, &request_id, None),
    };

    if reply.outcome == Outcome::Issued {
        let latency = shared.lock().latency;
        if !latency.is_zero() && !shared.pause(Some(latency)) {
            return;
        }
    }

    let now = shared.now();
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nDate: {}\r\nContent-Type: application/json;charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nx-acs-request-id: {}\r\n",
        reply.status,
        reason(reply.status),
        http_date(now),
        reply.body.len(),
        request_id,
    );
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    // Log before answering, so the log is complete once the client has its answer.
    shared.update(seq, |r| {
        r.status = Some(reply.status);
        r.outcome = reply.outcome.clone();
        r.issued = reply.issued.as_deref().cloned();
    });
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(reply.body.as_bytes());
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Write);
}

fn gateway_fault(shared: &Shared, fault: &Fault, request_id: &str) -> Reply {
    let outcome = Outcome::Fault(fault.name());
    match fault {
        Fault::ServiceUnavailable => Reply::json(
            503,
            rpc_error_body(
                request_id,
                "ServiceUnavailable",
                "The request has failed due to a temporary failure of the server.",
            ),
            outcome,
        ),
        Fault::InternalError => Reply::json(
            500,
            rpc_error_body(
                request_id,
                "InternalError",
                "The request processing has failed due to some unknown error, exception or failure.",
            ),
            outcome,
        ),
        Fault::Throttling { time_left_ms } => {
            let mut reply = Reply::json(
                400,
                rpc_error_body(
                    request_id,
                    "Throttling.User",
                    "Request was denied due to user flow control.",
                ),
                outcome,
            );
            reply.headers.push(rate_limit_header(shared, *time_left_ms));
            reply
        }
        Fault::TooManyRequests { time_left_ms } => {
            let mut reply = Reply::json(
                429,
                rpc_error_body(
                    request_id,
                    "Throttling",
                    "Request was denied due to request throttling.",
                ),
                outcome,
            );
            reply.headers.push(rate_limit_header(shared, *time_left_ms));
            reply
        }
        Fault::Respond {
            status,
            headers,
            body,
        } => Reply {
            status: *status,
            headers: headers.clone(),
            body: body.clone(),
            outcome,
            issued: None,
        },
        // The remaining faults are handled by the caller; answer something sane regardless.
        _ => Reply::json(
            500,
            rpc_error_body(request_id, "InternalError", "fault"),
            outcome,
        ),
    }
}

fn rate_limit_header(shared: &Shared, time_left_ms: u64) -> (String, String) {
    let reset = shared.now() + TimeDelta::milliseconds(time_left_ms as i64);
    (
        "x-ratelimit-user-api".to_string(),
        format!(
            "Limit:10,Remain:0,TimeLeft:{time_left_ms},Reset:{}",
            reset.timestamp_millis()
        ),
    )
}

fn rpc_error_body(request_id: &str, code: &str, message: &str) -> Value {
    json!({
        "RequestId": request_id,
        "HostId": HOST_ID,
        "Code": code,
        "Message": message,
        "Recommend": format!("https://api.aliyun.com/troubleshoot?q={code}&product=CS"),
    })
}

fn rpc_error(status: u16, request_id: &str, code: &str, message: &str) -> Reply {
    Reply::json(
        status,
        rpc_error_body(request_id, code, message),
        Outcome::Rejected(code.to_string()),
    )
}

fn cs_error(status: u16, request_id: &str, code: &str, message: &str) -> Reply {
    Reply::json(
        status,
        json!({
            "code": code,
            "message": message,
            "requestId": request_id,
            "status": status,
        }),
        Outcome::Rejected(code.to_string()),
    )
}

/// Who a request authenticated as.
struct Caller {
    principal: Principal,
}

/// Gateway checks, in the order the fake applies them.
fn authenticate(shared: &Shared, request: &HttpRequest, request_id: &str) -> Result<Caller, Reply> {
    for name in [
        "authorization",
        "date",
        "x-acs-signature-nonce",
        "x-acs-signature-method",
        "x-acs-signature-version",
    ] {
        if request.header(name).is_none_or(|v| v.trim().is_empty()) {
            return Err(rpc_error(
                400,
                request_id,
                "IncompleteSignature",
                &format!(
                    "The request signature does not conform to Aliyun standards. Missing header {name}."
                ),
            ));
        }
    }
    for name in ["x-acs-version", "x-acs-action"] {
        if request.header(name).is_none_or(|v| v.trim().is_empty()) {
            return Err(rpc_error(
                400,
                request_id,
                "MissingParameter",
                &format!(
                    "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
                ),
            ));
        }
    }
    let method = request.header("x-acs-signature-method").unwrap_or("");
    if method != "HMAC-SHA1" {
        return Err(rpc_error(
            400,
            request_id,
            "InvalidSignatureMethod",
            &format!("Specified signature method {method} is not valid for this fake (HMAC-SHA1)."),
        ));
    }
    let version = request.header("x-acs-signature-version").unwrap_or("");
    if version != "1.0" {
        return Err(rpc_error(
            400,
            request_id,
            "InvalidSignatureVersion",
            &format!("Specified signature version {version} is not valid."),
        ));
    }
    let api_version = request.header("x-acs-version").unwrap_or("");
    if api_version != CS_API_VERSION {
        return Err(rpc_error(
            400,
            request_id,
            "InvalidVersion",
            &format!("Specified parameter Version {api_version} is not valid."),
        ));
    }

    let authorization = request.header("authorization").unwrap_or("");
    let Some((key_id, signature)) = authorization
        .strip_prefix("acs ")
        .and_then(|rest| rest.split_once(':'))
    else {
        return Err(rpc_error(
            400,
            request_id,
            "IncompleteSignature",
            "The request signature does not conform to Aliyun standards. Authorization is not 'acs AccessKeyId:Signature'.",
        ));
    };

    let (key, fresh_nonce) = {
        let mut state = shared.lock();
        let key = state.keys.get(key_id).cloned();
        let nonce = request
            .header("x-acs-signature-nonce")
            .unwrap_or("")
            .to_string();
        let fresh = state.nonces.insert(nonce);
        (key, fresh)
    };
    let Some(key) = key else {
        return Err(rpc_error(
            404,
            request_id,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        ));
    };

    let token = request.header("x-acs-security-token");
    match (&key.security_token, token) {
        (Some(_), None) => {
            return Err(rpc_error(
                400,
                request_id,
                "MissingSecurityToken",
                "SecurityToken is mandatory for this action.",
            ));
        }
        (Some(expected), Some(got)) if expected != got => {
            return Err(rpc_error(
                400,
                request_id,
                "InvalidSecurityToken.Mismatch",
                "Specified SecurityToken mismatch with the AccessKey.",
            ));
        }
        (None, Some(_)) => {
            return Err(rpc_error(
                400,
                request_id,
                "InvalidSecurityToken.Malformed",
                "Specified SecurityToken is malformed (this AccessKey is not an STS key).",
            ));
        }
        _ => {}
    }

    let string_to_sign = roa_string_to_sign(
        &request.method,
        &request.path,
        &request.query,
        &request.headers,
    );
    let expected = roa_signature(&key.secret, &string_to_sign);
    if expected != signature {
        return Err(rpc_error(
            400,
            request_id,
            "SignatureDoesNotMatch",
            &format!(
                "Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"
            ),
        ));
    }

    let date = request.header("date").unwrap_or("");
    let Ok(date) = DateTime::parse_from_rfc2822(date) else {
        return Err(rpc_error(
            400,
            request_id,
            "InvalidTimeStamp.Format",
            &format!("Specified time stamp or date value {date:?} is not well formatted."),
        ));
    };
    let skew = date.with_timezone(&Utc) - shared.now();
    if skew.abs() > MAX_CLOCK_SKEW {
        return Err(rpc_error(
            400,
            request_id,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        ));
    }
    if !fresh_nonce {
        return Err(rpc_error(
            400,
            request_id,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        ));
    }
    Ok(Caller {
        principal: key.principal,
    })
}

/// A routed cs call.
struct Call {
    cluster_id: String,
    uid: Option<String>,
}

fn route(request: &HttpRequest, request_id: &str) -> Result<Call, Reply> {
    let segments: Vec<&str> = request.path.split('/').collect();
    let (call, expected_action) = match segments.as_slice() {
        ["", "k8s", cluster, "user_config"] => (
            Call {
                cluster_id: cluster.to_string(),
                uid: None,
            },
            ACTION_USER_CONFIG,
        ),
        ["", "k8s", cluster, "users", uid, "user_config"] => (
            Call {
                cluster_id: cluster.to_string(),
                uid: Some(uid.to_string()),
            },
            ACTION_SUBACCOUNT_USER_CONFIG,
        ),
        _ => {
            return Err(rpc_error(
                404,
                request_id,
                "InvalidAction.NotFound",
                &format!(
                    "Specified api is not found, please check your url and method: {} {}",
                    request.method, request.path
                ),
            ));
        }
    };
    if request.method != "GET" {
        return Err(rpc_error(
            404,
            request_id,
            "InvalidAction.NotFound",
            &format!(
                "Specified api is not found, please check your url and method: {} {}",
                request.method, request.path
            ),
        ));
    }
    let action = request.header("x-acs-action").unwrap_or("");
    if action != expected_action {
        return Err(rpc_error(
            400,
            request_id,
            "InvalidAction.Mismatch",
            &format!(
                "x-acs-action {action} does not name the API of GET {} ({expected_action}).",
                request.path
            ),
        ));
    }
    Ok(call)
}

/// Authenticates, routes and answers a request; `fault` replaces a successful body.
fn answer(shared: &Shared, request: &HttpRequest, request_id: &str, fault: Option<Fault>) -> Reply {
    match answer_inner(shared, request, request_id, fault) {
        Ok(reply) | Err(reply) => reply,
    }
}

fn answer_inner(
    shared: &Shared,
    request: &HttpRequest,
    request_id: &str,
    fault: Option<Fault>,
) -> Result<Reply, Reply> {
    let caller = authenticate(shared, request, request_id)?;
    let call = route(request, request_id)?;

    let private_ip = match request.query_param("PrivateIpAddress") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(cs_error(
                400,
                request_id,
                "InvalidParameter",
                &format!("PrivateIpAddress must be true or false, got {other:?}"),
            ));
        }
    };
    let minutes = match request.query_param("TemporaryDurationMinutes") {
        None => None,
        Some(raw) => match raw.parse::<u32>() {
            Ok(m) if (15..=4320).contains(&m) => Some(m),
            _ => {
                return Err(cs_error(
                    400,
                    request_id,
                    "InvalidParameter",
                    &format!(
                        "TemporaryDurationMinutes must be an integer between 15 and 4320, got {raw:?}"
                    ),
                ));
            }
        },
    };

    let (server, ca_pem, token, lifetime_override, expiration_offset, known_uid) = {
        let state = shared.lock();
        let Some(cluster) = state.clusters.get(&call.cluster_id) else {
            return Err(cs_error(
                404,
                request_id,
                "ErrorClusterNotFound",
                &format!("cluster {} not found", call.cluster_id),
            ));
        };
        let server = if private_ip {
            cluster.private_server.clone()
        } else {
            cluster.public_server.clone()
        };
        let known_uid = call
            .uid
            .as_ref()
            .is_some_and(|uid| state.sub_users.contains(uid));
        (
            server,
            cluster.ca_pem.clone(),
            cluster.token.clone(),
            state.cert_lifetime,
            state.api_expiration_offset,
            known_uid,
        )
    };

    let uid = match &call.uid {
        None => caller.principal.uid.clone(),
        Some(uid) => {
            if !caller.principal.main_account {
                return Err(cs_error(
                    403,
                    request_id,
                    "ForbiddenQueryClusterUserConfig",
                    &format!(
                        "user {} is not the main account and may not query the kubeconfig of user {uid} in cluster {}",
                        caller.principal.uid, call.cluster_id
                    ),
                ));
            }
            if !known_uid {
                return Err(cs_error(
                    404,
                    request_id,
                    "ErrorRamUserNotFound",
                    &format!("RAM user {uid} not found"),
                ));
            }
            uid.clone()
        }
    };

    let now = shared.now();
    let lifetime = lifetime_override.unwrap_or_else(|| {
        minutes.map_or(LONG_LIVED_CERT, |m| Duration::from_secs(u64::from(m) * 60))
    });
    let now_secs = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
    let not_before = now_secs - TimeDelta::minutes(1);
    let not_after = now_secs + TimeDelta::from_std(lifetime).unwrap_or(TimeDelta::days(1));
    let expiration = (not_after + expiration_offset)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let context = format!("{uid}-{}", call.cluster_id);

    let mut issued = Issued {
        cluster_id: call.cluster_id.clone(),
        uid: uid.clone(),
        server: server.clone(),
        private_ip,
        temporary_duration_minutes: minutes,
        certificate_pem: None,
        token: token.clone(),
        not_before,
        not_after,
        expiration: expiration.clone(),
        serial: 0,
    };

    let user = if let Some(token) = &token {
        json!({ "token": token })
    } else if fault == Some(Fault::CertificateNotACertificate) {
        let fake_pem = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGUsIGp1c3QgdGV4dA==\n-----END CERTIFICATE-----\n";
        let key = rcgen::KeyPair::generate()
            .map_err(|e| cs_error(500, request_id, "InternalError", &format!("key: {e}")))?;
        json!({
            "client-certificate-data": BASE64.encode(fake_pem),
            "client-key-data": BASE64.encode(key.serialize_pem()),
        })
    } else {
        let serial = shared.serials.fetch_add(1, Ordering::SeqCst);
        let (cert_pem, key_pem) =
            issue_certificate(&shared.client_ca, &uid, not_before, not_after, serial)
                .map_err(|e| cs_error(500, request_id, "InternalError", &e))?;
        issued.certificate_pem = Some(cert_pem.clone());
        issued.serial = serial;
        json!({
            "client-certificate-data": BASE64.encode(&cert_pem),
            "client-key-data": BASE64.encode(&key_pem),
        })
    };

    let kubeconfig = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": "kubernetes",
            "cluster": {
                "server": server,
                "certificate-authority-data": BASE64.encode(&ca_pem),
            },
        }],
        "contexts": [{
            "name": context,
            "context": { "cluster": "kubernetes", "user": uid },
        }],
        "current-context": context,
        "preferences": {},
        "users": [{ "name": uid, "user": user }],
    });
    let yaml = serde_yaml_ng::to_string(&kubeconfig)
        .map_err(|e| cs_error(500, request_id, "InternalError", &format!("yaml: {e}")))?;

    let reply = match fault {
        None => Reply {
            status: 200,
            headers: Vec::new(),
            body: json!({ "config": yaml, "expiration": expiration }).to_string(),
            outcome: Outcome::Issued,
            issued: Some(Box::new(issued)),
        },
        Some(fault) => {
            let body = match &fault {
                Fault::BodyNotJson => {
                    "<html><body><h1>502 Bad Gateway</h1>tengine</body></html>".to_string()
                }
                Fault::BodyWithoutConfig => {
                    json!({ "expiration": expiration, "requestId": request_id }).to_string()
                }
                Fault::ConfigNotYaml => json!({
                    "config": "apiVersion: v1\nclusters: [\n  {server: \"https://x\n\t- : :\n",
                    "expiration": expiration,
                })
                .to_string(),
                _ => json!({ "config": yaml, "expiration": expiration }).to_string(),
            };
            Reply {
                status: 200,
                headers: Vec::new(),
                body,
                outcome: Outcome::Fault(fault.name()),
                issued: None,
            }
        }
    };
    Ok(reply)
}

/// Issues a client certificate (fresh P-256 key) signed by `ca`; returns (cert PEM, key PEM).
fn issue_certificate(
    ca: &Authority,
    uid: &str,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    serial: u64,
) -> Result<(String, String), String> {
    let key = rcgen::KeyPair::generate().map_err(|e| format!("generate key: {e}"))?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, CERT_ORGANIZATION);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, uid);
    set_validity(&mut params, not_before, not_after);
    // Unique across fakes too: the serial mixes in the wall clock.
    let unique = (SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
        & 0x00ff_ffff_ffff_0000)
        | (serial & 0xffff);
    params.serial_number = Some(rcgen::SerialNumber::from(unique.max(1)));
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    let cert = params
        .signed_by(&key, &ca.cert, &ca.key)
        .map_err(|e| format!("sign certificate: {e}"))?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn new_request_id(shared: &Shared) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let elapsed = shared.started.elapsed().as_micros() as u64;
    format!(
        "{:08X}-{:04X}-{:04X}-{:04X}-{:012X}",
        (nanos >> 16) as u32,
        (nanos & 0xffff) as u16,
        (elapsed & 0xffff) as u16,
        std::process::id() as u16,
        n & 0xffff_ffff_ffff,
    )
}

/// RFC 1123 date, as in HTTP `Date` headers.
pub fn http_date(at: DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn read_request(stream: &mut TcpStream) -> io::Result<Option<HttpRequest>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > 256 * 1024 {
            return Ok(None);
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    // Drain a body if one was announced (the cs calls are GETs without one).
    let content_length: usize = find_header(&headers, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut have = buf.len() - (head_end + 4);
    while have < content_length {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        have += n;
    }

    let (raw_path, raw_query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target.as_str(), None),
    };
    let query = raw_query
        .map(|q| {
            q.split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| match pair.split_once('=') {
                    Some((k, v)) => (percent_decode(k), percent_decode(v)),
                    None => (percent_decode(pair), String::new()),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Some(HttpRequest {
        method,
        path: percent_decode(raw_path),
        target: target.clone(),
        query,
        headers,
    }))
}

/// Decodes `%XY` escapes (a `+` stays a `+`: Alibaba encodes spaces as `%20`).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(v) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

// ---------------------------------------------------------------------------------------------
// Self-tests of the fake (they do not run the binary)
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Vector `roa-python-core-v1` (aliyun-openapi-python-sdk, test_roa_signature_composer.py).
    #[test]
    fn verifier_matches_vector_roa_python_core_v1() {
        let headers = pairs(&[
            ("Date", "2018-12-04T03:55:31Z"),
            ("Accept", "application/octet-stream"),
            ("x-acs-signature-method", "HMAC-SHA1"),
            ("x-acs-signature-version", "1.0"),
        ]);
        let sts = roa_string_to_sign("GET", "/", &[], &headers);
        assert_eq!(
            sts,
            "GET\napplication/octet-stream\n\n\n2018-12-04T03:55:31Z\nx-acs-signature-method:HMAC-SHA1\nx-acs-signature-version:1.0\n/"
        );
        assert_eq!(
            format!(
                "acs access_key_id:{}",
                roa_signature("access_key_secret", &sts)
            ),
            "acs access_key_id:HKCpm41tJg6b3EYdtGMbNuwALZU="
        );
    }

    /// Vector `roa-go-sdk-v1-empty-body` (alibaba-cloud-sdk-go, roa_signature_composer_test.go).
    #[test]
    fn verifier_matches_vector_roa_go_sdk_v1_empty_body() {
        let headers = pairs(&[
            ("x-sdk-client", "golang/1.0.0"),
            ("x-sdk-invoke-type", "common"),
            ("Accept-Encoding", "identity"),
            ("x-acs-version", ""),
            ("x-acs-credentials-provider", "static_ak"),
            ("Date", "mock date"),
            ("x-acs-signature-method", "HMAC-SHA1"),
            ("x-acs-signature-version", "1.0"),
            ("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="),
            ("Content-Type", "application/octet-stream"),
            ("Accept", "application/json"),
        ]);
        let sts = roa_string_to_sign("GET", "/users/:user", &[], &headers);
        assert_eq!(
            sts,
            "GET\napplication/json\n1B2M2Y8AsgTpgAmY7PhCfg==\napplication/octet-stream\nmock date\nx-acs-credentials-provider:static_ak\nx-acs-signature-method:HMAC-SHA1\nx-acs-signature-version:1.0\nx-acs-version:\n/users/:user"
        );
        assert_eq!(
            format!("acs accessKeyId:{}", roa_signature("accessKeySecret", &sts)),
            "acs accessKeyId:PPPSwv0LPoLvg6rGxp7dd4uPESo="
        );
    }

    /// Vector `roa-java-sdk-v1-string-to-sign` (aliyun-openapi-java-sdk, composeStringToSignTest):
    /// sorted query, empty value as a bare key, non-x-acs headers left out.
    #[test]
    fn verifier_matches_vector_roa_java_sdk_v1_string_to_sign() {
        let query = pairs(&[
            ("queryKey1", "queryValue1"),
            ("queryKey2", "queryValue2"),
            ("queryKey3", ""),
            ("queryKey4", "queryValue4"),
        ]);
        let headers = pairs(&[
            ("headerKey1", "headerValue1"),
            ("headerKey2", "headerValue2"),
            ("Accept", "XML"),
            ("Content-MD5", "Content-MD5-Value"),
            ("Content-Type", "Content-Type-Value"),
            ("Date", "19910706"),
            ("x-acs-signature-version", "signature-version-value"),
        ]);
        assert_eq!(
            roa_string_to_sign("GET", "http://www.aliyun.com/pathValue1", &query, &headers),
            "GET\nXML\nContent-MD5-Value\nContent-Type-Value\n19910706\nx-acs-signature-version:signature-version-value\nhttp://www.aliyun.com/pathValue1?queryKey1=queryValue1&queryKey2=queryValue2&queryKey3&queryKey4=queryValue4"
        );
    }

    /// Vector `roa-java-sdk-v1-string-to-sign-raw-values`: query values are signed raw.
    #[test]
    fn verifier_matches_vector_roa_java_sdk_v1_raw_values() {
        let query = pairs(&[
            ("queryKey1", "queryValue1"),
            ("queryKey2", "http://www.test.com?queryKey21=queryValue21"),
            ("queryKey3", ""),
            ("queryKey5", "http://test.domain?key=value"),
        ]);
        let headers = pairs(&[
            ("headerKey1", "headerValue1"),
            ("headerKey2", "headerValue2"),
            ("x-acs-signature-version", "signature-version-value"),
        ]);
        assert_eq!(
            roa_string_to_sign("GET", "http://www.aliyun.com/pathValue1", &query, &headers),
            "GET\n\n\n\n\nx-acs-signature-version:signature-version-value\nhttp://www.aliyun.com/pathValue1?queryKey1=queryValue1&queryKey2=http://www.test.com?queryKey21=queryValue21&queryKey3&queryKey5=http://test.domain?key=value"
        );
    }

    /// Vectors `roa-python-core-v1-string-to-sign` and `roa-openapi-util-py-string-to-sign`:
    /// only `x-acs-*` headers are signed, header names match case-insensitively.
    #[test]
    fn verifier_matches_vectors_python_and_openapi_util_string_to_sign() {
        let headers = pairs(&[
            ("Accept", "application/json"),
            ("Content-MD5", "hash"),
            ("Content-Type", "text/plain"),
            ("Date", "date str"),
            ("x-acs-test", "acs str"),
            ("xx-x-acs-test", "no sign"),
        ]);
        assert_eq!(
            roa_string_to_sign("GET", "/", &pairs(&[("key", "value")]), &headers),
            "GET\napplication/json\nhash\ntext/plain\ndate str\nx-acs-test:acs str\n/?key=value"
        );
        let headers = pairs(&[
            ("x-acs-meta", "user"),
            ("accept", "application/json"),
            ("content-md5", "md5"),
            ("content-type", "application/json"),
            ("date", "date"),
        ]);
        let query = pairs(&[("ccp", "ok"), ("test", "tests"), ("test1", "")]);
        assert_eq!(
            roa_string_to_sign("GET", "Pathname", &query, &headers),
            "GET\napplication/json\nmd5\napplication/json\ndate\nx-acs-meta:user\nPathname?ccp=ok&test=tests&test1"
        );
    }

    /// Vector `roa-openapi-util-empty-request` (darabonba-openapi-util test_get_roa_signature).
    #[test]
    fn verifier_matches_vector_roa_openapi_util_empty_request() {
        let sts = roa_string_to_sign("GET", "", &[], &[]);
        assert_eq!(sts, "GET\n\n\n\n\n");
        assert_eq!(
            roa_signature("secret", &sts),
            "XGXDWA78AEvx/wmfxKoVCq/afWw="
        );
    }

    // --- HTTP-level self-tests with a tiny signer written independently of the verifier -----

    struct TestSigner<'a> {
        key_id: &'a str,
        secret: &'a str,
        token: Option<&'a str>,
        date: DateTime<Utc>,
        nonce: String,
    }

    impl TestSigner<'_> {
        /// A request for `GET /k8s/{cluster}/user_config` built and signed by hand.
        fn request(&self, cluster: &str) -> String {
            let date = self.date.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
            let token_line = self
                .token
                .map(|t| format!("x-acs-security-token:{t}\n"))
                .unwrap_or_default();
            let sts = format!(
                "GET\napplication/json\n\n\n{date}\nx-acs-action:DescribeClusterUserKubeconfig\n{token_line}x-acs-signature-method:HMAC-SHA1\nx-acs-signature-nonce:{}\nx-acs-signature-version:1.0\nx-acs-version:2015-12-15\n/k8s/{cluster}/user_config?PrivateIpAddress=false&TemporaryDurationMinutes=60",
                self.nonce
            );
            let mut mac = Hmac::<Sha1>::new_from_slice(self.secret.as_bytes()).unwrap();
            mac.update(sts.as_bytes());
            let sig = BASE64.encode(mac.finalize().into_bytes());
            let token_header = self
                .token
                .map(|t| format!("x-acs-security-token: {t}\r\n"))
                .unwrap_or_default();
            format!(
                "GET /k8s/{cluster}/user_config?TemporaryDurationMinutes=60&PrivateIpAddress=false HTTP/1.1\r\nHost: cs.aliyuncs.com\r\nAccept: application/json\r\nDate: {date}\r\nX-Acs-Version: 2015-12-15\r\nx-acs-action: DescribeClusterUserKubeconfig\r\nx-acs-signature-method: HMAC-SHA1\r\nx-acs-signature-version: 1.0\r\nx-acs-signature-nonce: {}\r\n{token_header}Authorization: acs {}:{sig}\r\n\r\n",
                self.nonce, self.key_id
            )
        }
    }

    fn send(fake: &FakeCloud, raw: &str) -> (u16, Vec<(String, String)>, String) {
        let mut stream = TcpStream::connect(fake.addr()).unwrap();
        stream.write_all(raw.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        (status, headers, body.to_string())
    }

    fn signer<'a>(key_id: &'a str, secret: &'a str, nonce: &str) -> TestSigner<'a> {
        TestSigner {
            key_id,
            secret,
            token: None,
            date: Utc::now(),
            nonce: nonce.to_string(),
        }
    }

    #[test]
    fn fake_issues_a_real_certificate_for_a_correctly_signed_request() {
        let fake = FakeCloud::start();
        fake.add_cluster_with_defaults("c1");
        let me = fake.add_access_key("AK1", "secret1");
        let (status, _, body) = send(&fake, &signer("AK1", "secret1", "n-1").request("c1"));
        assert_eq!(status, 200, "{body}\n{fake:?}");
        let body: Value = serde_json::from_str(&body).unwrap();
        let config: Value = serde_yaml_ng::from_str(body["config"].as_str().unwrap()).unwrap();
        assert_eq!(config["kind"], "Config");
        assert_eq!(
            config["clusters"][0]["cluster"]["server"],
            DEFAULT_PUBLIC_SERVER
        );
        let cert_pem = BASE64
            .decode(
                config["users"][0]["user"]["client-certificate-data"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap();
        let cert_pem = String::from_utf8(cert_pem).unwrap();
        let issued = fake.last_request().unwrap().issued.unwrap();
        assert_eq!(issued.certificate_pem.as_deref(), Some(cert_pem.as_str()));
        assert_eq!(issued.uid, me.uid);
        assert_eq!(
            body["expiration"],
            issued.not_after.format("%Y-%m-%dT%H:%M:%SZ").to_string()
        );
        assert_eq!(issued.not_after - issued.not_before, TimeDelta::minutes(61));
        // A real X.509 certificate whose subject names the caller and whose issuer is the CA.
        use x509_cert::der::DecodePem;
        let cert = x509_cert::Certificate::from_pem(cert_pem.as_bytes()).unwrap();
        let subject = cert.tbs_certificate.subject.to_string();
        assert!(subject.contains(&format!("CN={}", me.uid)), "{subject}");
        let issuer = cert.tbs_certificate.issuer.to_string();
        assert!(issuer.contains("CN=fake-ack-client-ca"), "{issuer}");
        assert_eq!(fake.successes(), 1);
    }

    #[test]
    fn fake_rejects_a_wrong_secret_and_shows_its_string_to_sign() {
        let fake = FakeCloud::start();
        fake.add_cluster_with_defaults("c1");
        fake.add_access_key("AK1", "secret1");
        let (status, _, body) = send(&fake, &signer("AK1", "wrong", "n-1").request("c1"));
        assert_eq!(status, 400, "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["Code"], "SignatureDoesNotMatch");
        let message = body["Message"].as_str().unwrap();
        let (_, sts) = message.split_once("server string to sign is:").unwrap();
        assert!(sts.starts_with("GET\napplication/json\n\n\n"), "{sts}");
        assert!(
            sts.ends_with("/k8s/c1/user_config?PrivateIpAddress=false&TemporaryDurationMinutes=60"),
            "{sts}"
        );
        assert!(body["RequestId"].as_str().is_some());
    }

    #[test]
    fn fake_rejects_unknown_keys_reused_nonces_stale_dates_and_bad_tokens() {
        let fake = FakeCloud::start();
        fake.add_cluster_with_defaults("c1");
        fake.add_access_key("AK1", "secret1");
        fake.add_sts_key("STS1", "secret2", "token-abc");

        let (status, _, body) = send(&fake, &signer("NOPE", "x", "n-0").request("c1"));
        assert_eq!(status, 404);
        assert!(body.contains("InvalidAccessKeyId.NotFound"), "{body}");

        let (status, _, _) = send(&fake, &signer("AK1", "secret1", "n-1").request("c1"));
        assert_eq!(status, 200);
        let (status, _, body) = send(&fake, &signer("AK1", "secret1", "n-1").request("c1"));
        assert_eq!(status, 400);
        assert!(body.contains("SignatureNonceUsed"), "{body}");

        let mut stale = signer("AK1", "secret1", "n-2");
        stale.date = Utc::now() - TimeDelta::minutes(16);
        let (status, headers, body) = send(&fake, &stale.request("c1"));
        assert_eq!(status, 400);
        assert!(body.contains("InvalidTimeStamp.Expired"), "{body}");
        assert!(find_header(&headers, "date").is_some());

        let (status, _, body) = send(&fake, &signer("STS1", "secret2", "n-3").request("c1"));
        assert_eq!(status, 400);
        assert!(body.contains("MissingSecurityToken"), "{body}");
        let mut wrong = signer("STS1", "secret2", "n-4");
        wrong.token = Some("token-xyz");
        let (status, _, body) = send(&fake, &wrong.request("c1"));
        assert_eq!(status, 400);
        assert!(body.contains("InvalidSecurityToken.Mismatch"), "{body}");
        let mut right = signer("STS1", "secret2", "n-5");
        right.token = Some("token-abc");
        let (status, _, body) = send(&fake, &right.request("c1"));
        assert_eq!(status, 200, "{body}");

        let (status, _, body) = send(&fake, &signer("AK1", "secret1", "n-6").request("nope"));
        assert_eq!(status, 404);
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["code"], "ErrorClusterNotFound");
        assert_eq!(body["status"], 404);
        assert!(body["requestId"].as_str().is_some());
        assert_eq!(fake.count(), 8);
        assert_eq!(fake.successes(), 2);
    }

    #[test]
    fn fake_applies_queued_faults_in_order_and_stops_with_a_hung_connection() {
        let fake = FakeCloud::start();
        fake.add_cluster_with_defaults("c1");
        fake.add_access_key("AK1", "secret1");
        fake.fail_next(1, Fault::ServiceUnavailable);
        fake.fail_next(1, Fault::Throttling { time_left_ms: 300 });
        let (status, _, body) = send(&fake, &signer("AK1", "secret1", "a").request("c1"));
        assert_eq!(status, 503);
        assert!(body.contains("ServiceUnavailable"));
        let (status, headers, _) = send(&fake, &signer("AK1", "secret1", "b").request("c1"));
        assert_eq!(status, 400);
        let limit = find_header(&headers, "x-ratelimit-user-api").unwrap();
        assert!(
            limit.starts_with("Limit:10,Remain:0,TimeLeft:300,Reset:"),
            "{limit}"
        );
        let (status, _, _) = send(&fake, &signer("AK1", "secret1", "c").request("c1"));
        assert_eq!(status, 200);

        fake.fail_next(1, Fault::Hang);
        let raw = signer("AK1", "secret1", "d").request("c1");
        let addr = fake.addr();
        let client = thread::spawn(move || {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream.write_all(raw.as_bytes()).unwrap();
            let mut out = String::new();
            let _ = stream.read_to_string(&mut out);
            out
        });
        while fake.count() < 4 {
            thread::sleep(Duration::from_millis(10));
        }
        let started = Instant::now();
        drop(fake);
        assert_eq!(client.join().unwrap(), "");
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}
