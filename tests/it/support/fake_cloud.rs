//! An in-process fake of the Alibaba Cloud APIs the plugin talks to, on 127.0.0.1: the Container
//! Service (cs) API, Service Mesh (ASM, `DescribeServiceMeshKubeconfig`), STS, the ECS metadata
//! service and a credentials URI, all on one listener (routed by method, path and RPC parameters:
//! `/` is ASM when its `Action` or `Version` is servicemesh's and STS otherwise, `/latest/...` the
//! metadata service, `/credentials-uri/<name>` a credentials URI, everything else cs).
//!
//! It exists so the real binary can be run against something that behaves like the cloud: it
//! checks every cs request's ROA V2 HMAC-SHA1 signature and every signed STS and ASM request's
//! RPC V2 HMAC-SHA1 signature with its own verifiers (written from the public reference, not
//! shared with `src/`), answers with Alibaba's error shapes, and issues real client certificates
//! from its own client CA (for clusters and meshes alike), so a TLS API server can trust what it
//! hands out. ASM writes its `ExpireTime` without a zone, in UTC+8 by default, as the real API
//! may: read as UTC it is 8 hours after the certificate's NotAfter. STS, the metadata service and
//! credentials URIs hand out STS keys that the fake registers, so the cs API then accepts
//! requests signed with them and issues certificates whose CN is the role's uid.
//! Faults (5xx, throttling, dropped connections, hangs, garbage bodies) can be queued for the next
//! requests (of any service, or of one) or made permanent, and every request is logged for
//! assertions and failure messages.
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
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
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
const STS_HOST_ID: &str = "sts.aliyuncs.com";

/// The STS API version the fake serves.
pub const STS_API_VERSION: &str = "2015-04-01";
/// STS `Action`s the fake serves (also what [`RequestRecord::action`] holds for them).
pub const ACTION_ASSUME_ROLE: &str = "AssumeRole";
pub const ACTION_ASSUME_ROLE_WITH_OIDC: &str = "AssumeRoleWithOIDC";
pub const ACTION_GET_CALLER_IDENTITY: &str = "GetCallerIdentity";
/// [`RequestRecord::action`] of `PUT /latest/api/token` (the IMDSv2 token).
pub const ACTION_IMDS_TOKEN: &str = "ImdsToken";
/// [`RequestRecord::action`] of `GET /latest/meta-data/ram/security-credentials/` (role discovery).
pub const ACTION_IMDS_ROLE_NAME: &str = "ImdsRoleName";
/// [`RequestRecord::action`] of `GET /latest/meta-data/ram/security-credentials/<role>`.
pub const ACTION_IMDS_CREDENTIALS: &str = "ImdsCredentials";
/// [`RequestRecord::action`] of any other metadata path.
pub const ACTION_IMDS_OTHER: &str = "ImdsOther";
/// [`RequestRecord::action`] of `GET /credentials-uri/<name>`.
pub const ACTION_CREDENTIALS_URI: &str = "CredentialsUri";
/// The IMDSv2 token header of requests to the metadata service.
pub const IMDS_TOKEN_HEADER: &str = "X-aliyun-ecs-metadata-token";
/// The header of `PUT /latest/api/token` giving the token's lifetime (1..=21600 seconds).
pub const IMDS_TOKEN_TTL_HEADER: &str = "X-aliyun-ecs-metadata-token-ttl-seconds";
/// `DurationSeconds` bounds of AssumeRole / AssumeRoleWithOIDC.
pub const MIN_DURATION_SECONDS: u64 = 900;
pub const MAX_DURATION_SECONDS: u64 = 43200;
/// `DurationSeconds` when a request leaves it out.
pub const DEFAULT_DURATION_SECONDS: u64 = 3600;
/// Lifetime of the STS keys the metadata service and credentials URIs hand out.
pub const SESSION_KEY_LIFETIME: TimeDelta = TimeDelta::hours(6);

/// The servicemesh (ASM) API version the fake serves.
pub const SERVICEMESH_API_VERSION: &str = "2020-01-11";
/// The ASM `Action` the fake serves (also what [`RequestRecord::action`] holds for it).
pub const ACTION_DESCRIBE_SERVICE_MESH_KUBECONFIG: &str = "DescribeServiceMeshKubeconfig";
/// Lifetime of a mesh's certificates (ASM takes no lifetime parameter), unless
/// [`FakeCloud::set_cert_lifetime`] says otherwise.
pub const MESH_CERT_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// The zone ASM's zone-less `ExpireTime` is written in unless
/// [`FakeCloud::set_mesh_expire_time_utc_offset`] says otherwise: UTC+8, so read as UTC it is
/// 8 hours later than the certificate's NotAfter.
pub const MESH_EXPIRE_TIME_UTC_OFFSET: TimeDelta = TimeDelta::hours(8);
/// The format of ASM's `ExpireTime`: `2024-05-28 16:00:00`.
pub const MESH_EXPIRE_TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
/// The `server` of a mesh registered with [`FakeCloud::add_mesh_with_defaults`].
pub const DEFAULT_MESH_PUBLIC_SERVER: &str = "https://203.0.113.20:6443";
/// The private `server` of such a mesh (with `PrivateIpAddress=true`).
pub const DEFAULT_MESH_PRIVATE_SERVER: &str = "https://192.168.0.20:6443";
const ASM_HOST_ID: &str = "servicemesh.aliyuncs.com";

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
    /// After the request passed every check: HTTP 200 JSON without `config` (ASM: `Kubeconfig`).
    BodyWithoutConfig,
    /// After the request passed every check: HTTP 200 whose `config` (ASM: `Kubeconfig`) is not
    /// YAML.
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

/// Which of the fake's services a request was routed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    /// The Container Service API (ROA), every path not claimed by another service.
    Cs,
    /// STS (RPC): any request for `/` that is not for ASM.
    Sts,
    /// Service Mesh (ASM, RPC): a request for `/` whose `Action` is
    /// [`ACTION_DESCRIBE_SERVICE_MESH_KUBECONFIG`] or whose `Version` is
    /// [`SERVICEMESH_API_VERSION`].
    Asm,
    /// The ECS metadata service: `/latest/...`.
    EcsMetadata,
    /// A credentials URI: `/credentials-uri/<name>`.
    CredentialsUri,
}

/// Credentials handed out by STS, the metadata service or a credentials URI.
#[derive(Clone, Debug)]
pub struct StsGrant {
    /// Position of the request in the log.
    pub seq: usize,
    /// `AssumeRole`, `AssumeRoleWithOIDC`, [`ACTION_IMDS_CREDENTIALS`] or [`ACTION_CREDENTIALS_URI`].
    pub action: String,
    /// The role assumed (the ECS role name for the metadata service, the URI name for a URI).
    pub role: String,
    pub role_session_name: Option<String>,
    pub duration_seconds: Option<u64>,
    pub external_id: Option<String>,
    pub policy: Option<String>,
    pub oidc_provider_arn: Option<String>,
    /// The key the AssumeRole request was signed with.
    pub caller_key_id: Option<String>,
    /// Who signed it.
    pub caller_uid: Option<String>,
    /// The STS key issued (registered in the fake's key table).
    pub key: AccessKey,
    /// The `Expiration` string answered.
    pub expiration: String,
}

/// What happened to a logged request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Still being handled (delayed, hanging, or waiting out the latency).
    Pending,
    /// A kubeconfig was issued (see [`RequestRecord::issued`]).
    Issued,
    /// STS, the metadata service or a credentials URI answered with success (credentials, an
    /// IMDSv2 token or a role name).
    Granted,
    /// An injected fault decided the answer.
    Fault(String),
    /// Rejected with this error code (gateway or cs business error).
    Rejected(String),
}

/// What a successful request was given.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The cluster id, or the mesh id when [`Issued::mesh`].
    pub cluster_id: String,
    /// Issued by ASM's `DescribeServiceMeshKubeconfig` for the mesh `cluster_id`.
    pub mesh: bool,
    /// The uid the kubeconfig is for (CN of the certificate).
    pub uid: String,
    /// The cluster `server` written into the kubeconfig (public or private URL).
    pub server: String,
    pub private_ip: bool,
    /// `TemporaryDurationMinutes` as asked (None when left out).
    pub temporary_duration_minutes: Option<u32>,
    /// The client certificate PEM (None for a token user).
    pub certificate_pem: Option<String>,
    /// The client certificate's private key PEM (None for a token user).
    pub key_pem: Option<String>,
    /// The token (for a token cluster).
    pub token: Option<String>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// The body's `expiration` string (ASM: its `ExpireTime`, zone-less).
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
    /// The service the request was routed to.
    pub service: Service,
    /// Form-body parameters (`application/x-www-form-urlencoded`), decoded, in the order sent.
    pub form: Vec<(String, String)>,
    /// For STS and ASM: the query (form-decoded) and form-body parameters merged, as an RPC
    /// service reads them.
    pub params: Vec<(String, String)>,
    /// Headers in the order sent, names as sent.
    pub headers: Vec<(String, String)>,
    /// `x-acs-action` for cs, the `Action` parameter for STS and ASM, one of the `ACTION_IMDS_*`
    /// constants for the metadata service, [`ACTION_CREDENTIALS_URI`] for a credentials URI.
    pub action: Option<String>,
    /// The AccessKeyId from `Authorization` (cs) or the `AccessKeyId` parameter (STS, ASM).
    pub access_key_id: Option<String>,
    pub outcome: Outcome,
    /// Monotonic time the answer was ready to send (None when dropped or still pending): with
    /// `received`, how long the fake itself took, which benchmarks subtract.
    pub answered: Option<Instant>,
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

    /// The `x-acs-signature-nonce` (cs) or the `SignatureNonce` parameter (STS, ASM).
    pub fn nonce(&self) -> Option<&str> {
        self.header("x-acs-signature-nonce")
            .or_else(|| self.param("SignatureNonce"))
    }

    /// An STS or ASM parameter (form body or query, decoded).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A form-body parameter (decoded).
    pub fn form_param(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parameters and headers whose values the log never shows.
fn is_sensitive(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "x-acs-security-token"
        || lower == "securitytoken"
        || lower == "oidctoken"
        || lower == IMDS_TOKEN_HEADER.to_ascii_lowercase()
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
            let shown = if is_sensitive(name) {
                format!("*** ({} chars)", value.len())
            } else {
                value.clone()
            };
            writeln!(f, "    {name}: {shown}")?;
        }
        let rpc = matches!(self.service, Service::Sts | Service::Asm);
        if !self.form.is_empty() || (rpc && !self.params.is_empty()) {
            let from = if self.form.is_empty() {
                "query"
            } else if self.params.len() == self.form.len() {
                "form body"
            } else {
                "query and form body"
            };
            writeln!(f, "    params ({from}):")?;
            for (name, value) in &self.params {
                let shown = if is_sensitive(name) {
                    format!("*** ({} chars)", value.len())
                } else {
                    value.clone()
                };
                writeln!(f, "      {name}={shown}")?;
            }
        }
        if let Some(issued) = &self.issued {
            writeln!(
                f,
                "    issued{}: uid={} server={} serial={} not_after={} expiration={}",
                if issued.mesh { " (mesh)" } else { "" },
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

    /// The principal an access key (static or STS) authenticates as.
    pub fn key_principal(&self, key_id: &str) -> Option<Principal> {
        self.shared
            .lock()
            .keys
            .get(key_id)
            .map(|k| k.principal.clone())
    }

    /// Every secret and security token of every key the fake knows (static keys and the STS keys
    /// it handed out), and every accepted OIDC token: strings that must never appear in output.
    pub fn secrets(&self) -> Vec<String> {
        let state = self.shared.lock();
        let mut out: Vec<String> = state
            .keys
            .values()
            .flat_map(|k| std::iter::once(k.secret.clone()).chain(k.security_token.clone()))
            .chain(state.oidc_providers.values().cloned())
            .filter(|s| !s.is_empty())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    // --- STS ----------------------------------------------------------------------------------

    /// The STS base URL (the same listener): `http://127.0.0.1:PORT`.
    pub fn sts_endpoint(&self) -> String {
        self.endpoint()
    }

    /// Registers a RAM role (`acs:ram::<account>:role/<name>`) with a fresh uid of its own:
    /// the CN of the certificates fetched with STS keys of this role. Any known key may assume
    /// it until [`FakeCloud::allow_assume`] names who may.
    pub fn add_role(&self, arn: &str) -> Principal {
        let principal = self.new_principal(false);
        self.shared.lock().roles.insert(
            arn.to_string(),
            Role {
                principal: principal.clone(),
                allowed: None,
            },
        );
        principal
    }

    /// Restricts who may assume the role: from now on only the principals named by calls of
    /// this function (others get 403 `NoPermission`). Panics if the role is unknown.
    pub fn allow_assume(&self, arn: &str, principal: &Principal) {
        let mut state = self.shared.lock();
        let role = state
            .roles
            .get_mut(arn)
            .unwrap_or_else(|| panic!("allow_assume: unknown role {arn}"));
        role.allowed
            .get_or_insert_with(Vec::new)
            .push(principal.uid.clone());
    }

    /// Registers (or replaces) an OIDC provider and the one token it accepts in
    /// AssumeRoleWithOIDC.
    pub fn add_oidc_provider(&self, provider_arn: &str, accepted_token: &str) {
        self.shared
            .lock()
            .oidc_providers
            .insert(provider_arn.to_string(), accepted_token.to_string());
    }

    /// Every set of credentials handed out (STS, metadata service, credentials URIs), in order.
    pub fn grants(&self) -> Vec<StsGrant> {
        self.shared.lock().grants.clone()
    }

    /// Number of logged requests whose action is `action` (e.g. `"AssumeRole"`,
    /// [`ACTION_USER_CONFIG`], [`ACTION_IMDS_TOKEN`]).
    pub fn count_action(&self, action: &str) -> usize {
        self.shared
            .lock()
            .log
            .iter()
            .filter(|r| r.action.as_deref() == Some(action))
            .count()
    }

    /// The logged requests routed to `service`.
    pub fn requests_to(&self, service: Service) -> Vec<RequestRecord> {
        self.shared
            .lock()
            .log
            .iter()
            .filter(|r| r.service == service)
            .cloned()
            .collect()
    }

    /// The logged requests whose action is `action`.
    pub fn requests_for(&self, action: &str) -> Vec<RequestRecord> {
        self.shared
            .lock()
            .log
            .iter()
            .filter(|r| r.action.as_deref() == Some(action))
            .cloned()
            .collect()
    }

    // --- ECS metadata service -----------------------------------------------------------------

    /// The metadata service base URL (the same listener): `http://127.0.0.1:PORT`.
    pub fn metadata_endpoint(&self) -> String {
        self.endpoint()
    }

    /// Attaches a RAM role named `name` (fresh uid) to the fake instance: the metadata service
    /// names it at `/latest/meta-data/ram/security-credentials/` and hands out its STS keys.
    pub fn set_ecs_role(&self, name: &str) -> Principal {
        let principal = self.new_principal(false);
        self.shared.lock().ecs_role = Some((name.to_string(), principal.clone()));
        principal
    }

    /// When on, metadata GETs without a valid `X-aliyun-ecs-metadata-token` get 401.
    /// (A token that is present but unknown gets 401 in either mode.)
    pub fn require_imds_v2(&self, on: bool) {
        self.shared.lock().imds_v2_required = on;
    }

    /// Answers `PUT /latest/api/token` with this status (e.g. 404 or 403) and no token, as a
    /// metadata service without IMDSv2 would.
    pub fn disable_imds_token(&self, status: u16) {
        self.shared.lock().imds_token_status = Some(status);
    }

    // --- credentials URIs ---------------------------------------------------------------------

    /// Serves `GET /credentials-uri/<name>` with a fresh STS key of a principal of its own;
    /// returns the URL and that principal.
    pub fn add_credentials_uri(&self, name: &str) -> (String, Principal) {
        let principal = self.new_principal(false);
        self.shared
            .lock()
            .uris
            .insert(name.to_string(), UriSource::Serves(principal.clone()));
        (self.credentials_uri(name), principal)
    }

    /// Serves `GET /credentials-uri/<name>` with HTTP 200 and `{"Code": code, "Message": ...}`
    /// (no credentials); returns the URL.
    pub fn add_failing_credentials_uri(&self, name: &str, code: &str) -> String {
        self.shared
            .lock()
            .uris
            .insert(name.to_string(), UriSource::Fails(code.to_string()));
        self.credentials_uri(name)
    }

    /// `http://127.0.0.1:PORT/credentials-uri/<name>`
    pub fn credentials_uri(&self, name: &str) -> String {
        format!("{}/credentials-uri/{name}", self.endpoint())
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

    // --- service meshes (ASM) -----------------------------------------------------------------

    /// The ASM base URL (the same listener): `http://127.0.0.1:PORT`.
    pub fn asm_endpoint(&self) -> String {
        self.endpoint()
    }

    /// Registers a service mesh: `DescribeServiceMeshKubeconfig` for it answers a kubeconfig
    /// with this server (`private_server` with `PrivateIpAddress=true`) and CA, and a client
    /// certificate for the caller's uid valid for [`MESH_CERT_LIFETIME`]. Any known key may ask
    /// until [`FakeCloud::allow_mesh`] names who may.
    pub fn add_mesh(&self, id: &str, public_server: &str, private_server: &str, ca_pem: &str) {
        self.shared.lock().meshes.insert(
            id.to_string(),
            Mesh {
                public_server: public_server.to_string(),
                private_server: private_server.to_string(),
                ca_pem: ca_pem.to_string(),
                allowed: None,
            },
        );
    }

    /// Registers a mesh with documentation-range server URLs ([`DEFAULT_MESH_PUBLIC_SERVER`],
    /// [`DEFAULT_MESH_PRIVATE_SERVER`]) and the fake's cluster CA.
    pub fn add_mesh_with_defaults(&self, id: &str) {
        let ca = self.cluster_ca_pem();
        self.add_mesh(
            id,
            DEFAULT_MESH_PUBLIC_SERVER,
            DEFAULT_MESH_PRIVATE_SERVER,
            &ca,
        );
    }

    /// Restricts who may fetch the mesh's kubeconfig: from now on only the principals named by
    /// calls of this function (others get 403 `Forbidden.RAM`). Panics if the mesh is unknown.
    pub fn allow_mesh(&self, id: &str, principal: &Principal) {
        let mut state = self.shared.lock();
        let mesh = state
            .meshes
            .get_mut(id)
            .unwrap_or_else(|| panic!("allow_mesh: unknown mesh {id}"));
        mesh.allowed
            .get_or_insert_with(Vec::new)
            .push(principal.uid.clone());
    }

    /// The zone ASM's `ExpireTime` is written in (default [`MESH_EXPIRE_TIME_UTC_OFFSET`],
    /// UTC+8): `TimeDelta::zero()` writes true UTC.
    pub fn set_mesh_expire_time_utc_offset(&self, offset: TimeDelta) {
        self.shared.lock().mesh_expire_time_utc_offset = Some(offset);
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
            state.queued.push_back((None, fault.clone()));
        }
    }

    /// Applies `fault` to each of the next `n` requests routed to `service` (other services'
    /// requests pass untouched). Faults that replace a kubeconfig body only make sense for cs
    /// and ASM; for the other services `BodyNotJson` replaces a successful body and the rest are
    /// ignored.
    pub fn fail_next_on(&self, service: Service, n: usize, fault: Fault) {
        let mut state = self.shared.lock();
        for _ in 0..n {
            state.queued.push_back((Some(service), fault.clone()));
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
    /// `TemporaryDurationMinutes` says; for meshes, instead of [`MESH_CERT_LIFETIME`].
    pub fn set_cert_lifetime(&self, lifetime: Duration) {
        self.shared.lock().cert_lifetime = Some(lifetime);
    }

    /// Moves the body's `expiration` (ASM: `ExpireTime`, before its zone is applied) away from
    /// the certificate's NotAfter (negative: earlier), as when the API's idea of the expiry and
    /// the certificate disagree.
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

    /// Number of requests answered with a kubeconfig (cs or ASM).
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
            "fake cloud at {}: {} request(s), {} issued, {} granted\n",
            self.endpoint(),
            log.len(),
            log.iter().filter(|r| r.outcome == Outcome::Issued).count(),
            log.iter().filter(|r| r.outcome == Outcome::Granted).count()
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

struct Mesh {
    public_server: String,
    private_server: String,
    ca_pem: String,
    /// uids allowed to fetch the kubeconfig (None: any known key).
    allowed: Option<Vec<String>>,
}

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
    queued: VecDeque<(Option<Service>, Fault)>,
    persistent: Option<Fault>,
    latency: Duration,
    clock_offset: TimeDelta,
    cert_lifetime: Option<Duration>,
    api_expiration_offset: TimeDelta,
    nonces: HashSet<String>,
    next_uid: u64,
    log: Vec<RequestRecord>,
    /// STS keys' expiry.
    key_expiry: HashMap<String, DateTime<Utc>>,
    roles: HashMap<String, Role>,
    /// OIDC provider ARN → the token it accepts.
    oidc_providers: HashMap<String, String>,
    grants: Vec<StsGrant>,
    ecs_role: Option<(String, Principal)>,
    imds_v2_required: bool,
    imds_token_status: Option<u16>,
    imds_tokens: HashSet<String>,
    uris: HashMap<String, UriSource>,
    meshes: HashMap<String, Mesh>,
    /// None: [`MESH_EXPIRE_TIME_UTC_OFFSET`].
    mesh_expire_time_utc_offset: Option<TimeDelta>,
}

struct Role {
    principal: Principal,
    /// uids allowed to assume the role (None: any known key).
    allowed: Option<Vec<String>>,
}

enum UriSource {
    Serves(Principal),
    Fails(String),
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
    /// The raw query string (without `?`).
    raw_query: String,
    body: String,
    /// Form-body parameters, when the body is `application/x-www-form-urlencoded`.
    form: Vec<(String, String)>,
    /// The query (form-decoded) and the form body merged: what an RPC service reads.
    params: Vec<(String, String)>,
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

    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn is_form(&self) -> bool {
        self.header("content-type").is_some_and(|ct| {
            ct.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
    }
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    outcome: Outcome,
    issued: Option<Box<Issued>>,
    content_type: &'static str,
}

const CONTENT_TYPE_JSON: &str = "application/json;charset=utf-8";
const CONTENT_TYPE_TEXT: &str = "text/plain;charset=utf-8";

impl Reply {
    fn json(status: u16, body: Value, outcome: Outcome) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: body.to_string(),
            outcome,
            issued: None,
            content_type: CONTENT_TYPE_JSON,
        }
    }

    fn text(status: u16, body: &str, outcome: Outcome) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: body.to_string(),
            outcome,
            issued: None,
            content_type: CONTENT_TYPE_TEXT,
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
    let service = classify(&request);
    let (seq, fault) = {
        let mut state = shared.lock();
        let position = state
            .queued
            .iter()
            .position(|(only, _)| only.is_none_or(|s| s == service));
        let fault = position
            .and_then(|i| state.queued.remove(i))
            .map(|(_, fault)| fault)
            .or_else(|| state.persistent.clone());
        let seq = state.log.len();
        let (action, access_key_id) = match service {
            Service::Cs => (
                request.header("x-acs-action").map(str::to_string),
                request
                    .header("authorization")
                    .and_then(|a| a.strip_prefix("acs "))
                    .and_then(|a| a.split_once(':'))
                    .map(|(id, _)| id.to_string()),
            ),
            Service::Sts | Service::Asm => (
                request.param("Action").map(str::to_string),
                request.param("AccessKeyId").map(str::to_string),
            ),
            Service::EcsMetadata => (Some(imds_action(&request).to_string()), None),
            Service::CredentialsUri => (Some(ACTION_CREDENTIALS_URI.to_string()), None),
        };
        state.log.push(RequestRecord {
            seq,
            received_at: Utc::now(),
            received: Instant::now(),
            method: request.method.clone(),
            target: request.target.clone(),
            path: request.path.clone(),
            query: request.query.clone(),
            service,
            form: request.form.clone(),
            params: request.params.clone(),
            headers: request.headers.clone(),
            action,
            access_key_id,
            outcome: Outcome::Pending,
            answered: None,
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
            respond(shared, service, seq, &request, &request_id, None)
        }
        Some(fault) if fault.replaces_success() => {
            respond(shared, service, seq, &request, &request_id, Some(fault))
        }
        Some(fault) => gateway_fault(shared, &fault, &request_id),
        None => respond(shared, service, seq, &request, &request_id, None),
    };

    if reply.outcome == Outcome::Issued {
        let latency = shared.lock().latency;
        if !latency.is_zero() && !shared.pause(Some(latency)) {
            return;
        }
    }

    let now = shared.now();
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nDate: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\nx-acs-request-id: {}\r\n",
        reply.status,
        reason(reply.status),
        http_date(now),
        reply.content_type,
        reply.body.len(),
        request_id,
    );
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    // Log before answering, so the log is complete once the client has its answer.
    shared.update(seq, |r| {
        r.answered = Some(Instant::now());
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
            content_type: CONTENT_TYPE_JSON,
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
        mesh: false,
        uid: uid.clone(),
        server: server.clone(),
        private_ip,
        temporary_duration_minutes: minutes,
        certificate_pem: None,
        key_pem: None,
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
        issued.key_pem = Some(key_pem.clone());
        issued.serial = serial;
        json!({
            "client-certificate-data": BASE64.encode(&cert_pem),
            "client-key-data": BASE64.encode(&key_pem),
        })
    };

    let yaml = render_kubeconfig(&server, &ca_pem, &uid, &context, user)
        .map_err(|e| cs_error(500, request_id, "InternalError", &e))?;

    let reply = match fault {
        None => Reply {
            status: 200,
            headers: Vec::new(),
            body: json!({ "config": yaml, "expiration": expiration }).to_string(),
            outcome: Outcome::Issued,
            issued: Some(Box::new(issued)),
            content_type: CONTENT_TYPE_JSON,
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
                content_type: CONTENT_TYPE_JSON,
            }
        }
    };
    Ok(reply)
}

/// The kubeconfig YAML the APIs answer: one cluster (`server`, base64 CA), one context, one user
/// (`user`: base64 certificate and key, or a token) named after the uid.
fn render_kubeconfig(
    server: &str,
    ca_pem: &str,
    uid: &str,
    context: &str,
    user: Value,
) -> Result<String, String> {
    let kubeconfig = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": "kubernetes",
            "cluster": {
                "server": server,
                "certificate-authority-data": BASE64.encode(ca_pem),
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
    serde_yaml_ng::to_string(&kubeconfig).map_err(|e| format!("yaml: {e}"))
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

// ---------------------------------------------------------------------------------------------
// The RPC V2 verifier (own implementation, from the public reference)
// ---------------------------------------------------------------------------------------------

/// Alibaba's percent-encoding: `A-Z a-z 0-9 - _ . ~` stay, every other UTF-8 byte is `%XY`
/// (upper-case hex); so a space is `%20`, `*` is `%2A`, `/` is `%2F`.
pub fn rpc_percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for byte in s.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The RPC V2 string to sign: `METHOD&%2F&` + enc(canonical query), the canonical query being
/// every parameter except `Signature`, sorted by name, as `enc(name)=enc(value)` joined by `&`.
pub fn rpc_string_to_sign(method: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "Signature")
        .map(|(k, v)| (rpc_percent_encode(k), rpc_percent_encode(v)))
        .collect();
    sorted.sort();
    let canonical = sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{method}&{}&{}",
        rpc_percent_encode("/"),
        rpc_percent_encode(&canonical)
    )
}

/// `base64(HMAC-SHA1(key = secret + "&", string_to_sign))`.
pub fn rpc_signature(secret: &str, string_to_sign: &str) -> String {
    let key = format!("{secret}&");
    let mut mac = Hmac::<Sha1>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    mac.update(string_to_sign.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

// ---------------------------------------------------------------------------------------------
// Routing between the services on the one listener
// ---------------------------------------------------------------------------------------------

fn classify(request: &HttpRequest) -> Service {
    if request.path == "/" {
        if request.param("Action") == Some(ACTION_DESCRIBE_SERVICE_MESH_KUBECONFIG)
            || request.param("Version") == Some(SERVICEMESH_API_VERSION)
        {
            Service::Asm
        } else {
            Service::Sts
        }
    } else if request.path.starts_with("/latest/") {
        Service::EcsMetadata
    } else if request.path.starts_with("/credentials-uri/") {
        Service::CredentialsUri
    } else {
        Service::Cs
    }
}

const IMDS_CREDENTIALS_PREFIX: &str = "/latest/meta-data/ram/security-credentials/";

fn imds_action(request: &HttpRequest) -> &'static str {
    if request.path == "/latest/api/token" {
        ACTION_IMDS_TOKEN
    } else if request.path == IMDS_CREDENTIALS_PREFIX {
        ACTION_IMDS_ROLE_NAME
    } else if request.path.starts_with(IMDS_CREDENTIALS_PREFIX) {
        ACTION_IMDS_CREDENTIALS
    } else {
        ACTION_IMDS_OTHER
    }
}

/// Answers a request of any service; `fault` replaces a successful body.
fn respond(
    shared: &Shared,
    service: Service,
    seq: usize,
    request: &HttpRequest,
    request_id: &str,
    fault: Option<Fault>,
) -> Reply {
    let reply = match service {
        Service::Cs => return answer(shared, request, request_id, fault),
        Service::Asm => return answer_servicemesh(shared, request, request_id, fault),
        Service::Sts => answer_sts(shared, seq, request, request_id),
        Service::EcsMetadata => answer_imds(shared, seq, request),
        Service::CredentialsUri => answer_credentials_uri(shared, seq, request, request_id),
    };
    match fault {
        Some(Fault::BodyNotJson) if reply.status == 200 => Reply {
            status: 200,
            headers: Vec::new(),
            body: "<html><body><h1>502 Bad Gateway</h1>tengine</body></html>".to_string(),
            outcome: Outcome::Fault(Fault::BodyNotJson.name()),
            issued: None,
            content_type: "text/html",
        },
        _ => reply,
    }
}

// ---------------------------------------------------------------------------------------------
// STS
// ---------------------------------------------------------------------------------------------

/// An RPC product on the listener: what its error bodies name and the API version it serves.
#[derive(Clone, Copy)]
struct RpcProduct {
    /// For messages: `STS`, `ASM`.
    name: &'static str,
    host_id: &'static str,
    /// The `product` of the `Recommend` link.
    recommend: &'static str,
    version: &'static str,
}

const STS_PRODUCT: RpcProduct = RpcProduct {
    name: "STS",
    host_id: STS_HOST_ID,
    recommend: "Sts",
    version: STS_API_VERSION,
};

const ASM_PRODUCT: RpcProduct = RpcProduct {
    name: "ASM",
    host_id: ASM_HOST_ID,
    recommend: "servicemesh",
    version: SERVICEMESH_API_VERSION,
};

fn rpc_product_error(
    product: RpcProduct,
    status: u16,
    request_id: &str,
    code: &str,
    message: &str,
) -> Reply {
    Reply::json(
        status,
        json!({
            "RequestId": request_id,
            "HostId": product.host_id,
            "Code": code,
            "Message": message,
            "Recommend": format!(
                "https://api.aliyun.com/troubleshoot?q={code}&product={}",
                product.recommend
            ),
        }),
        Outcome::Rejected(code.to_string()),
    )
}

fn sts_error(status: u16, request_id: &str, code: &str, message: &str) -> Reply {
    rpc_product_error(STS_PRODUCT, status, request_id, code, message)
}

fn answer_sts(shared: &Shared, seq: usize, request: &HttpRequest, request_id: &str) -> Reply {
    match sts_inner(shared, seq, request, request_id) {
        Ok(reply) | Err(reply) => reply,
    }
}

/// The checks every RPC request gets before its signature: method, form body, no parameter
/// twice, `Action`, `Version` (the product's), `Format=JSON`. Returns the action.
fn rpc_envelope<'r>(
    request: &'r HttpRequest,
    request_id: &str,
    product: RpcProduct,
) -> Result<&'r str, Reply> {
    let fail = |status: u16, code: &str, message: String| {
        rpc_product_error(product, status, request_id, code, &message)
    };
    if request.method != "POST" && request.method != "GET" {
        return Err(fail(
            404,
            "InvalidAction.NotFound",
            format!(
                "Specified api is not found, please check your url and method: {} /",
                request.method
            ),
        ));
    }
    if !request.body.is_empty() && !request.is_form() {
        return Err(fail(
            400,
            "InvalidParameter.ContentType",
            format!(
                "The request body must be application/x-www-form-urlencoded (Content-Type: {:?}).",
                request.header("content-type")
            ),
        ));
    }
    let mut seen = HashSet::new();
    for (name, _) in &request.params {
        if !seen.insert(name.as_str()) {
            return Err(fail(
                400,
                "InvalidParameter.Duplicate",
                format!(
                    "The parameter {name} is sent more than once (query and form body are merged)."
                ),
            ));
        }
    }
    let Some(action) = request.param("Action").filter(|a| !a.is_empty()) else {
        return Err(fail(
            400,
            "MissingParameter",
            "The input parameter \"Action\" that is mandatory for processing this request is not supplied.".to_string(),
        ));
    };
    match request.param("Version") {
        Some(version) if version == product.version => {}
        None | Some("") => {
            return Err(fail(
                400,
                "MissingParameter",
                "The input parameter \"Version\" that is mandatory for processing this request is not supplied.".to_string(),
            ));
        }
        Some(other) => {
            return Err(fail(
                400,
                "InvalidVersion",
                format!(
                    "Specified parameter Version {other} is not valid ({} is {}).",
                    product.name, product.version
                ),
            ));
        }
    }
    if request.param("Format") != Some("JSON") {
        return Err(fail(
            400,
            "InvalidParameter.Format",
            format!(
                "This fake answers JSON only, and {} defaults to XML: send Format=JSON (got {:?}).",
                product.name,
                request.param("Format")
            ),
        ));
    }
    Ok(action)
}

fn sts_inner(
    shared: &Shared,
    seq: usize,
    request: &HttpRequest,
    request_id: &str,
) -> Result<Reply, Reply> {
    let fail =
        |status: u16, code: &str, message: String| sts_error(status, request_id, code, &message);
    let action = rpc_envelope(request, request_id, STS_PRODUCT)?;
    match action {
        ACTION_ASSUME_ROLE => {
            let caller = rpc_authenticate(shared, request, request_id, STS_PRODUCT)?;
            assume_role(shared, seq, request, request_id, &caller)
        }
        ACTION_ASSUME_ROLE_WITH_OIDC => {
            check_timestamp_and_nonce(shared, request, request_id, STS_PRODUCT, false)?;
            assume_role_with_oidc(shared, seq, request, request_id)
        }
        ACTION_GET_CALLER_IDENTITY => {
            let caller = rpc_authenticate(shared, request, request_id, STS_PRODUCT)?;
            Ok(Reply::json(
                200,
                json!({
                    "RequestId": request_id,
                    "AccountId": "1234567890123456",
                    "UserId": caller.principal.uid,
                    "PrincipalId": caller.principal.uid,
                    "IdentityType": if caller.security_token.is_some() { "AssumedRoleUser" } else { "RAMUser" },
                    "Arn": format!("acs:ram::1234567890123456:user/{}", caller.principal.uid),
                }),
                Outcome::Granted,
            ))
        }
        other => Err(fail(
            404,
            "InvalidAction.NotFound",
            format!("Specified api is not found, please check your url and method: Action={other}"),
        )),
    }
}

/// `Timestamp` (when present, or always when `required`) well formed and within 15 minutes;
/// `SignatureNonce` (when present) not used before.
fn check_timestamp_and_nonce(
    shared: &Shared,
    request: &HttpRequest,
    request_id: &str,
    product: RpcProduct,
    required: bool,
) -> Result<(), Reply> {
    let fail = |status: u16, code: &str, message: String| {
        rpc_product_error(product, status, request_id, code, &message)
    };
    match request.param("Timestamp") {
        None if !required => {}
        None => {
            return Err(fail(
                400,
                "MissingParameter",
                "The input parameter \"Timestamp\" that is mandatory for processing this request is not supplied.".to_string(),
            ));
        }
        Some(raw) => {
            let Ok(at) = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%SZ") else {
                return Err(fail(
                    400,
                    "InvalidTimeStamp.Format",
                    format!(
                        "Specified time stamp or date value {raw:?} is not well formatted (yyyy-MM-ddTHH:mm:ssZ)."
                    ),
                ));
            };
            if (at.and_utc() - shared.now()).abs() > MAX_CLOCK_SKEW {
                return Err(fail(
                    400,
                    "InvalidTimeStamp.Expired",
                    "Specified time stamp or date value is expired.".to_string(),
                ));
            }
        }
    }
    if let Some(nonce) = request.param("SignatureNonce") {
        let fresh = shared.lock().nonces.insert(format!("rpc:{nonce}"));
        if !fresh {
            return Err(fail(
                400,
                "SignatureNonceUsed",
                "Specified signature nonce was used already.".to_string(),
            ));
        }
    }
    Ok(())
}

/// The RPC gateway's checks of a signed request; returns the key it was signed with.
fn rpc_authenticate(
    shared: &Shared,
    request: &HttpRequest,
    request_id: &str,
    product: RpcProduct,
) -> Result<AccessKey, Reply> {
    let fail = |status: u16, code: &str, message: String| {
        rpc_product_error(product, status, request_id, code, &message)
    };
    for name in [
        "AccessKeyId",
        "Signature",
        "SignatureMethod",
        "SignatureVersion",
    ] {
        if request.param(name).is_none_or(str::is_empty) {
            return Err(fail(
                400,
                "IncompleteSignature",
                format!(
                    "The request signature does not conform to Aliyun standards. Missing parameter {name}."
                ),
            ));
        }
    }
    for name in ["SignatureNonce", "Timestamp"] {
        if request.param(name).is_none_or(str::is_empty) {
            return Err(fail(
                400,
                "MissingParameter",
                format!(
                    "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
                ),
            ));
        }
    }
    let method = request.param("SignatureMethod").unwrap_or("");
    if method != "HMAC-SHA1" {
        return Err(fail(
            400,
            "InvalidSignatureMethod",
            format!("Specified signature method {method} is not valid for this fake (HMAC-SHA1)."),
        ));
    }
    let version = request.param("SignatureVersion").unwrap_or("");
    if version != "1.0" {
        return Err(fail(
            400,
            "InvalidSignatureVersion",
            format!("Specified signature version {version} is not valid."),
        ));
    }
    let key_id = request.param("AccessKeyId").unwrap_or("");
    let (key, expiry) = {
        let state = shared.lock();
        (
            state.keys.get(key_id).cloned(),
            state.key_expiry.get(key_id).copied(),
        )
    };
    let Some(key) = key else {
        return Err(fail(
            404,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.".to_string(),
        ));
    };
    match (&key.security_token, request.param("SecurityToken")) {
        (Some(_), None) => {
            return Err(fail(
                400,
                "MissingSecurityToken",
                "SecurityToken is mandatory for this action.".to_string(),
            ));
        }
        (Some(expected), Some(got)) if expected != got => {
            return Err(fail(
                400,
                "InvalidSecurityToken.Mismatch",
                "Specified SecurityToken mismatch with the AccessKey.".to_string(),
            ));
        }
        (None, Some(_)) => {
            return Err(fail(
                400,
                "InvalidSecurityToken.Malformed",
                "Specified SecurityToken is malformed (this AccessKey is not an STS key)."
                    .to_string(),
            ));
        }
        _ => {}
    }
    let string_to_sign = rpc_string_to_sign(&request.method, &request.params);
    let expected = rpc_signature(&key.secret, &string_to_sign);
    if request.param("Signature") != Some(expected.as_str()) {
        return Err(fail(
            400,
            "SignatureDoesNotMatch",
            format!(
                "Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"
            ),
        ));
    }
    check_timestamp_and_nonce(shared, request, request_id, product, true)?;
    if expiry.is_some_and(|at| at <= shared.now()) {
        return Err(fail(
            400,
            "InvalidSecurityToken.Expired",
            "Specified SecurityToken is expired.".to_string(),
        ));
    }
    Ok(key)
}

/// `acs:ram::<account>:role/<name>` → (account, name).
fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("acs:ram::")?;
    let (account, name) = rest.split_once(":role/")?;
    let valid = !account.is_empty()
        && account.bytes().all(|b| b.is_ascii_digit())
        && !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'));
    valid.then_some((account, name))
}

/// The business parameters common to AssumeRole and AssumeRoleWithOIDC.
struct RoleRequest {
    role_arn: String,
    account: String,
    role_name: String,
    session_name: Option<String>,
    duration_seconds: u64,
    policy: Option<String>,
}

fn role_request(
    request: &HttpRequest,
    request_id: &str,
    session_required: bool,
) -> Result<RoleRequest, Reply> {
    let fail =
        |status: u16, code: &str, message: String| sts_error(status, request_id, code, &message);
    let Some(role_arn) = request.param("RoleArn").filter(|a| !a.is_empty()) else {
        return Err(fail(
            400,
            "MissingRoleArn",
            "RoleArn is mandatory for this action.".to_string(),
        ));
    };
    let Some((account, role_name)) = parse_role_arn(role_arn) else {
        return Err(fail(
            400,
            "InvalidParameter.RoleArn",
            format!(
                "The parameter RoleArn {role_arn:?} is not a valid role ARN (acs:ram::<account>:role/<name>)."
            ),
        ));
    };
    let session_name = request.param("RoleSessionName").filter(|s| !s.is_empty());
    match session_name {
        None if session_required => {
            return Err(fail(
                400,
                "MissingRoleSessionName",
                "RoleSessionName is mandatory for this action.".to_string(),
            ));
        }
        Some(name)
            if !(2..=64).contains(&name.len())
                || !name.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@')
                }) =>
        {
            return Err(fail(
                400,
                "InvalidParameter.RoleSessionName",
                format!(
                    "The parameter RoleSessionName {name:?} is invalid: 2 to 64 of A-Z a-z 0-9 . @ - _."
                ),
            ));
        }
        _ => {}
    }
    let duration_seconds = match request.param("DurationSeconds") {
        None => DEFAULT_DURATION_SECONDS,
        Some(raw) => match raw.parse::<u64>() {
            Ok(d) if (MIN_DURATION_SECONDS..=MAX_DURATION_SECONDS).contains(&d) => d,
            _ => {
                return Err(fail(
                    400,
                    "InvalidParameter.DurationSeconds",
                    format!(
                        "The parameter DurationSeconds {raw:?} is invalid: {MIN_DURATION_SECONDS} to {MAX_DURATION_SECONDS} seconds."
                    ),
                ));
            }
        },
    };
    let policy = request.param("Policy").filter(|p| !p.is_empty());
    if let Some(policy) = policy
        && serde_json::from_str::<Value>(policy).is_err()
    {
        return Err(fail(
            400,
            "InvalidParameter.PolicyGrammar",
            "The parameter Policy is not a valid policy document (JSON).".to_string(),
        ));
    }
    Ok(RoleRequest {
        role_arn: role_arn.to_string(),
        account: account.to_string(),
        role_name: role_name.to_string(),
        session_name: session_name.map(str::to_string),
        duration_seconds,
        policy: policy.map(str::to_string),
    })
}

fn assume_role(
    shared: &Shared,
    seq: usize,
    request: &HttpRequest,
    request_id: &str,
    caller: &AccessKey,
) -> Result<Reply, Reply> {
    let asked = role_request(request, request_id, true)?;
    let role_principal = {
        let state = shared.lock();
        let Some(role) = state.roles.get(&asked.role_arn) else {
            return Err(sts_error(
                404,
                request_id,
                "EntityNotExist.Role",
                &format!("The role {} does not exist.", asked.role_arn),
            ));
        };
        if role
            .allowed
            .as_ref()
            .is_some_and(|allowed| !allowed.contains(&caller.principal.uid))
        {
            return Err(sts_error(
                403,
                request_id,
                "NoPermission",
                &format!(
                    "You are not authorized to do this action. You should be authorized by RAM. ({} may not assume {})",
                    caller.principal.uid, asked.role_arn
                ),
            ));
        }
        role.principal.clone()
    };
    let external_id = request
        .param("ExternalId")
        .filter(|e| !e.is_empty())
        .map(str::to_string);
    Ok(grant_role(
        shared,
        seq,
        request_id,
        ACTION_ASSUME_ROLE,
        &asked,
        &role_principal,
        external_id,
        None,
        Some(caller),
    ))
}

fn assume_role_with_oidc(
    shared: &Shared,
    seq: usize,
    request: &HttpRequest,
    request_id: &str,
) -> Result<Reply, Reply> {
    let fail =
        |status: u16, code: &str, message: String| sts_error(status, request_id, code, &message);
    let asked = role_request(request, request_id, false)?;
    let Some(provider) = request.param("OIDCProviderArn").filter(|p| !p.is_empty()) else {
        return Err(fail(
            400,
            "MissingOIDCProviderArn",
            "OIDCProviderArn is mandatory for this action.".to_string(),
        ));
    };
    let Some(token) = request.param("OIDCToken").filter(|t| !t.is_empty()) else {
        return Err(fail(
            400,
            "MissingOIDCToken",
            "OIDCToken is mandatory for this action.".to_string(),
        ));
    };
    let role_principal = {
        let state = shared.lock();
        let Some(accepted) = state.oidc_providers.get(provider) else {
            return Err(fail(
                404,
                "EntityNotExist.OIDCProvider",
                format!("The OIDC provider {provider} does not exist."),
            ));
        };
        if accepted != token {
            return Err(fail(
                400,
                "AuthenticationFail.OIDCToken.Invalid",
                "The OIDC token is invalid (not the one the provider issued, or expired)."
                    .to_string(),
            ));
        }
        let Some(role) = state.roles.get(&asked.role_arn) else {
            return Err(fail(
                404,
                "EntityNotExist.Role",
                format!("The role {} does not exist.", asked.role_arn),
            ));
        };
        role.principal.clone()
    };
    Ok(grant_role(
        shared,
        seq,
        request_id,
        ACTION_ASSUME_ROLE_WITH_OIDC,
        &asked,
        &role_principal,
        None,
        Some(provider.to_string()),
        None,
    ))
}

#[allow(clippy::too_many_arguments)]
fn grant_role(
    shared: &Shared,
    seq: usize,
    request_id: &str,
    action: &str,
    asked: &RoleRequest,
    role_principal: &Principal,
    external_id: Option<String>,
    oidc_provider_arn: Option<String>,
    caller: Option<&AccessKey>,
) -> Reply {
    let lifetime = TimeDelta::seconds(i64::try_from(asked.duration_seconds).unwrap_or(3600));
    let (key, expiration) = issue_sts_key(shared, role_principal, lifetime);
    let session = asked
        .session_name
        .clone()
        .unwrap_or_else(|| format!("oidc-{}", random_alnum(8)));
    shared.lock().grants.push(StsGrant {
        seq,
        action: action.to_string(),
        role: asked.role_arn.clone(),
        role_session_name: asked.session_name.clone(),
        duration_seconds: Some(asked.duration_seconds),
        external_id,
        policy: asked.policy.clone(),
        oidc_provider_arn,
        caller_key_id: caller.map(|k| k.id.clone()),
        caller_uid: caller.map(|k| k.principal.uid.clone()),
        key: key.clone(),
        expiration: expiration.clone(),
    });
    let mut body = json!({
        "RequestId": request_id,
        "Credentials": {
            "AccessKeyId": key.id,
            "AccessKeySecret": key.secret,
            "SecurityToken": key.security_token,
            "Expiration": expiration,
        },
        "AssumedRoleUser": {
            "Arn": format!("acs:ram::{}:assumed-role/{}/{session}", asked.account, asked.role_name),
            "AssumedRoleId": format!("{}:{session}", role_principal.uid),
        },
    });
    if action == ACTION_ASSUME_ROLE_WITH_OIDC {
        body["OIDCTokenInfo"] = json!({ "Issuer": "https://oidc.fake", "Subject": "system:serviceaccount:default:fake" });
    }
    Reply::json(200, body, Outcome::Granted)
}

/// Registers a fresh STS key of `principal` expiring after `lifetime`; returns it and its
/// `Expiration` string.
fn issue_sts_key(
    shared: &Shared,
    principal: &Principal,
    lifetime: TimeDelta,
) -> (AccessKey, String) {
    let key = AccessKey {
        id: format!("STS.NT{}", random_alnum(22)),
        secret: random_alnum(40),
        principal: principal.clone(),
        security_token: Some(random_security_token()),
    };
    let now = shared.now();
    let now = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
    let expires = now + lifetime;
    {
        let mut state = shared.lock();
        if !key.principal.main_account {
            state.sub_users.insert(key.principal.uid.clone());
        }
        state.keys.insert(key.id.clone(), key.clone());
        state.key_expiry.insert(key.id.clone(), expires);
    }
    (key, expires.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    getrandom::fill(&mut out).expect("fake cloud: getrandom");
    out
}

fn random_alnum(n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    random_bytes(n)
        .into_iter()
        .map(|b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()]))
        .collect()
}

/// A long token in STS's shape: base64, so it carries `+`, `/` and `=` that must be
/// percent-encoded in a form body.
fn random_security_token() -> String {
    let mut bytes = random_bytes(600);
    // Make sure `+` and `/` both occur: 0xfb 0xef 0xbe encodes as "++++" / "77++"; pin a few.
    bytes[..6].copy_from_slice(&[0xfb, 0xef, 0xbe, 0xff, 0xff, 0xff]);
    format!("CAIS{}", BASE64.encode(&bytes[..599]))
}

// ---------------------------------------------------------------------------------------------
// Service Mesh (ASM)
// ---------------------------------------------------------------------------------------------

/// Authenticates (the RPC verifier, as for AssumeRole) and answers `DescribeServiceMeshKubeconfig`;
/// `fault` replaces a successful body.
fn answer_servicemesh(
    shared: &Shared,
    request: &HttpRequest,
    request_id: &str,
    fault: Option<Fault>,
) -> Reply {
    match servicemesh_inner(shared, request, request_id, fault) {
        Ok(reply) | Err(reply) => reply,
    }
}

fn servicemesh_inner(
    shared: &Shared,
    request: &HttpRequest,
    request_id: &str,
    fault: Option<Fault>,
) -> Result<Reply, Reply> {
    let fail = |status: u16, code: &str, message: String| {
        rpc_product_error(ASM_PRODUCT, status, request_id, code, &message)
    };
    let action = rpc_envelope(request, request_id, ASM_PRODUCT)?;
    if action != ACTION_DESCRIBE_SERVICE_MESH_KUBECONFIG {
        return Err(fail(
            404,
            "InvalidAction.NotFound",
            format!(
                "Specified api is not found, please check your url and method: Action={action}"
            ),
        ));
    }
    let caller = rpc_authenticate(shared, request, request_id, ASM_PRODUCT)?;
    let Some(mesh_id) = request.param("ServiceMeshId").filter(|m| !m.is_empty()) else {
        return Err(fail(
            400,
            "MissingParameter",
            "The input parameter \"ServiceMeshId\" that is mandatory for processing this request is not supplied.".to_string(),
        ));
    };
    let private_ip = match request.param("PrivateIpAddress") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(fail(
                400,
                "InvalidParameter",
                format!("PrivateIpAddress must be true or false, got {other:?}"),
            ));
        }
    };
    let (server, ca_pem, lifetime, expiration_offset, zone) = {
        let state = shared.lock();
        let Some(mesh) = state.meshes.get(mesh_id) else {
            return Err(fail(
                404,
                "ServiceMesh.NotFound",
                format!("The specified service mesh {mesh_id} does not exist."),
            ));
        };
        if mesh
            .allowed
            .as_ref()
            .is_some_and(|allowed| !allowed.contains(&caller.principal.uid))
        {
            return Err(fail(
                403,
                "Forbidden.RAM",
                format!(
                    "User not authorized to operate on the specified resource: {} may not describe the kubeconfig of service mesh {mesh_id}.",
                    caller.principal.uid
                ),
            ));
        }
        let server = if private_ip {
            mesh.private_server.clone()
        } else {
            mesh.public_server.clone()
        };
        (
            server,
            mesh.ca_pem.clone(),
            state.cert_lifetime.unwrap_or(MESH_CERT_LIFETIME),
            state.api_expiration_offset,
            state
                .mesh_expire_time_utc_offset
                .unwrap_or(MESH_EXPIRE_TIME_UTC_OFFSET),
        )
    };

    let uid = caller.principal.uid.clone();
    let now = shared.now();
    let now_secs = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
    let not_before = now_secs - TimeDelta::minutes(1);
    let not_after = now_secs + TimeDelta::from_std(lifetime).unwrap_or(TimeDelta::days(1));
    // Zone-less, in the mesh's zone: UTC+8 unless told otherwise.
    let expire_time = (not_after + expiration_offset + zone)
        .format(MESH_EXPIRE_TIME_FORMAT)
        .to_string();
    let internal = |e: String| fail(500, "InternalError", e);

    let mut issued = Issued {
        cluster_id: mesh_id.to_string(),
        mesh: true,
        uid: uid.clone(),
        server: server.clone(),
        private_ip,
        temporary_duration_minutes: None,
        certificate_pem: None,
        key_pem: None,
        token: None,
        not_before,
        not_after,
        expiration: expire_time.clone(),
        serial: 0,
    };
    let user = if fault == Some(Fault::CertificateNotACertificate) {
        let fake_pem = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGUsIGp1c3QgdGV4dA==\n-----END CERTIFICATE-----\n";
        let key = rcgen::KeyPair::generate().map_err(|e| internal(format!("key: {e}")))?;
        json!({
            "client-certificate-data": BASE64.encode(fake_pem),
            "client-key-data": BASE64.encode(key.serialize_pem()),
        })
    } else {
        let serial = shared.serials.fetch_add(1, Ordering::SeqCst);
        let (cert_pem, key_pem) =
            issue_certificate(&shared.client_ca, &uid, not_before, not_after, serial)
                .map_err(internal)?;
        issued.certificate_pem = Some(cert_pem.clone());
        issued.key_pem = Some(key_pem.clone());
        issued.serial = serial;
        json!({
            "client-certificate-data": BASE64.encode(&cert_pem),
            "client-key-data": BASE64.encode(&key_pem),
        })
    };
    let context = format!("{uid}-{mesh_id}");
    let yaml = render_kubeconfig(&server, &ca_pem, &uid, &context, user).map_err(internal)?;

    let body = |kubeconfig: Option<&str>| {
        let mut body = json!({ "RequestId": request_id, "ExpireTime": expire_time });
        if let Some(kubeconfig) = kubeconfig {
            body["Kubeconfig"] = Value::String(kubeconfig.to_string());
        }
        body.to_string()
    };
    let reply = match fault {
        None => Reply {
            status: 200,
            headers: Vec::new(),
            body: body(Some(&yaml)),
            outcome: Outcome::Issued,
            issued: Some(Box::new(issued)),
            content_type: CONTENT_TYPE_JSON,
        },
        Some(fault) => {
            let (text, content_type) = match &fault {
                Fault::BodyNotJson => (
                    "<html><body><h1>502 Bad Gateway</h1>tengine</body></html>".to_string(),
                    "text/html",
                ),
                Fault::BodyWithoutConfig => (body(None), CONTENT_TYPE_JSON),
                Fault::ConfigNotYaml => (
                    body(Some(
                        "apiVersion: v1\nclusters: [\n  {server: \"https://x\n\t- : :\n",
                    )),
                    CONTENT_TYPE_JSON,
                ),
                _ => (body(Some(&yaml)), CONTENT_TYPE_JSON),
            };
            Reply {
                status: 200,
                headers: Vec::new(),
                body: text,
                outcome: Outcome::Fault(fault.name()),
                issued: None,
                content_type,
            }
        }
    };
    Ok(reply)
}

// ---------------------------------------------------------------------------------------------
// The ECS metadata service
// ---------------------------------------------------------------------------------------------

fn answer_imds(shared: &Shared, seq: usize, request: &HttpRequest) -> Reply {
    let not_found = || Reply::text(404, "404 - Not Found", Outcome::Rejected("NotFound".into()));
    let action = imds_action(request);
    if action == ACTION_IMDS_TOKEN {
        if request.method != "PUT" {
            return Reply::text(
                405,
                "405 - Method Not Allowed",
                Outcome::Rejected("MethodNotAllowed".into()),
            );
        }
        if let Some(status) = shared.lock().imds_token_status {
            return Reply::text(
                status,
                &format!("{status} - IMDSv2 is not available"),
                Outcome::Rejected(format!("TokenDisabled({status})")),
            );
        }
        let ttl = request.header(IMDS_TOKEN_TTL_HEADER);
        match ttl.map(|t| t.parse::<u64>()) {
            Some(Ok(ttl)) if (1..=21600).contains(&ttl) => {}
            _ => {
                return Reply::text(
                    400,
                    &format!("400 - {IMDS_TOKEN_TTL_HEADER} must be 1..21600, got {ttl:?}"),
                    Outcome::Rejected("BadTokenTtl".into()),
                );
            }
        }
        let token = format!("imds-{}", random_alnum(40));
        shared.lock().imds_tokens.insert(token.clone());
        return Reply::text(200, &token, Outcome::Granted);
    }
    if request.method != "GET" {
        return Reply::text(
            405,
            "405 - Method Not Allowed",
            Outcome::Rejected("MethodNotAllowed".into()),
        );
    }
    {
        let state = shared.lock();
        match request.header(IMDS_TOKEN_HEADER) {
            Some(token) if !state.imds_tokens.contains(token) => {
                return Reply::text(
                    401,
                    "401 - Unauthorized (unknown token)",
                    Outcome::Rejected("Unauthorized".into()),
                );
            }
            None if state.imds_v2_required => {
                return Reply::text(
                    401,
                    "401 - Unauthorized (IMDSv2 token required)",
                    Outcome::Rejected("Unauthorized".into()),
                );
            }
            _ => {}
        }
    }
    let role = shared.lock().ecs_role.clone();
    match action {
        ACTION_IMDS_ROLE_NAME => match role {
            Some((name, _)) => Reply::text(200, &name, Outcome::Granted),
            None => not_found(),
        },
        ACTION_IMDS_CREDENTIALS => {
            let asked = &request.path[IMDS_CREDENTIALS_PREFIX.len()..];
            let Some((name, principal)) = role.filter(|(name, _)| name == asked) else {
                return not_found();
            };
            let (key, expiration) = issue_sts_key(shared, &principal, SESSION_KEY_LIFETIME);
            shared.lock().grants.push(StsGrant {
                seq,
                action: ACTION_IMDS_CREDENTIALS.to_string(),
                role: name,
                role_session_name: None,
                duration_seconds: None,
                external_id: None,
                policy: None,
                oidc_provider_arn: None,
                caller_key_id: None,
                caller_uid: None,
                key: key.clone(),
                expiration: expiration.clone(),
            });
            let mut reply = Reply::json(
                200,
                json!({
                    "AccessKeyId": key.id,
                    "AccessKeySecret": key.secret,
                    "Expiration": expiration,
                    "SecurityToken": key.security_token,
                    "LastUpdated": shared.now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    "Code": "Success",
                }),
                Outcome::Granted,
            );
            reply.content_type = CONTENT_TYPE_TEXT;
            reply
        }
        _ => not_found(),
    }
}

// ---------------------------------------------------------------------------------------------
// Credentials URIs
// ---------------------------------------------------------------------------------------------

fn answer_credentials_uri(
    shared: &Shared,
    seq: usize,
    request: &HttpRequest,
    request_id: &str,
) -> Reply {
    let name = request.path.trim_start_matches("/credentials-uri/");
    let source = match shared.lock().uris.get(name) {
        None => None,
        Some(UriSource::Serves(principal)) => Some(Ok(principal.clone())),
        Some(UriSource::Fails(code)) => Some(Err(code.clone())),
    };
    match (request.method.as_str(), source) {
        ("GET", Some(Ok(principal))) => {
            let (key, expiration) = issue_sts_key(shared, &principal, SESSION_KEY_LIFETIME);
            shared.lock().grants.push(StsGrant {
                seq,
                action: ACTION_CREDENTIALS_URI.to_string(),
                role: name.to_string(),
                role_session_name: None,
                duration_seconds: None,
                external_id: None,
                policy: None,
                oidc_provider_arn: None,
                caller_key_id: None,
                caller_uid: None,
                key: key.clone(),
                expiration: expiration.clone(),
            });
            Reply::json(
                200,
                json!({
                    "Code": "Success",
                    "AccessKeyId": key.id,
                    "AccessKeySecret": key.secret,
                    "SecurityToken": key.security_token,
                    "Expiration": expiration,
                }),
                Outcome::Granted,
            )
        }
        ("GET", Some(Err(code))) => Reply::json(
            200,
            json!({
                "Code": code,
                "Message": format!("the credentials server cannot hand out credentials ({code})"),
                "RequestId": request_id,
            }),
            Outcome::Rejected(code),
        ),
        _ => Reply::json(
            404,
            json!({ "Code": "NotFound", "Message": format!("no credentials URI {} {}", request.method, request.path) }),
            Outcome::Rejected("NotFound".into()),
        ),
    }
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
        401 => "Unauthorized",
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
    // Read a body if one was announced (the cs calls are GETs without one; STS posts a form).
    let content_length: usize = find_header(&headers, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < content_length && body.len() <= 1024 * 1024 {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(content_length);
    let body = String::from_utf8_lossy(&body).to_string();

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
    let is_form = find_header(&headers, "content-type").is_some_and(|ct| {
        ct.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    let form = if is_form {
        parse_form(&body)
    } else {
        Vec::new()
    };
    let mut params = parse_form(raw_query.unwrap_or(""));
    params.extend(form.iter().cloned());
    Ok(Some(HttpRequest {
        method,
        path: percent_decode(raw_path),
        target: target.clone(),
        query,
        headers,
        raw_query: raw_query.unwrap_or("").to_string(),
        body,
        form,
        params,
    }))
}

/// Decodes `application/x-www-form-urlencoded` pairs (`+` is a space, then `%XY` escapes).
fn parse_form(raw: &str) -> Vec<(String, String)> {
    let decode = |s: &str| percent_decode(&s.replace('+', " "));
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(pair), String::new()),
        })
        .collect()
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

    // --- RPC V2 verifier: official vectors ----------------------------------------------------

    /// Vector `rpc-doc-describededicatedhosts` (Alibaba Cloud docs, RPC mechanism, fixed values).
    #[test]
    fn rpc_verifier_matches_vector_doc_describededicatedhosts() {
        let params = pairs(&[
            ("AccessKeyId", "testid"),
            ("Action", "DescribeDedicatedHosts"),
            ("Format", "JSON"),
            ("RegionId", "cn-beijing"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "edb2b34af0af9a6d14deaf7c1a5315eb"),
            ("SignatureVersion", "1.0"),
            ("Timestamp", "2023-03-13T08:34:30Z"),
            ("Version", "2014-05-26"),
        ]);
        let sts = rpc_string_to_sign("GET", &params);
        assert_eq!(
            sts,
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeDedicatedHosts%26Format%3DJSON%26RegionId%3Dcn-beijing%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3Dedb2b34af0af9a6d14deaf7c1a5315eb%26SignatureVersion%3D1.0%26Timestamp%3D2023-03-13T08%253A34%253A30Z%26Version%3D2014-05-26"
        );
        assert_eq!(
            rpc_signature("testsecret", &sts),
            "9NaGiOspFP5UPcwX8Iwt2YJXXuk="
        );
        // Order of the parameters as sent does not matter, and Signature is left out.
        let mut shuffled = params.clone();
        shuffled.reverse();
        shuffled.push(("Signature".into(), "9NaGiOspFP5UPcwX8Iwt2YJXXuk=".into()));
        assert_eq!(rpc_string_to_sign("GET", &shuffled), sts);
    }

    /// Vector `rpc-openapi-util-multi-lang` (darabonba-openapi-util, every language's test).
    #[test]
    fn rpc_verifier_matches_vector_openapi_util_query_and_body() {
        let params = pairs(&[("query", "test"), ("body", "test")]);
        let sts = rpc_string_to_sign("GET", &params);
        assert_eq!(sts, "GET&%2F&body%3Dtest%26query%3Dtest");
        assert_eq!(
            rpc_signature("secret", &sts),
            "XlUyV4sXjOuX5FnjUz9IF9tm5rU="
        );
    }

    /// Vectors `rpc-go-sdk-v1-ak` and `rpc-go-sdk-v1-sts-token` (alibaba-cloud-sdk-go): empty
    /// values, a space (`%20`) in a value, SecurityToken signed like any other parameter.
    #[test]
    fn rpc_verifier_matches_vectors_go_sdk_v1() {
        let mut params = pairs(&[
            ("AccessKeyId", "accessKeyId"),
            ("Action", ""),
            ("Format", "JSON"),
            ("RegionId", "regionId"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "MOCK_UUID"),
            ("SignatureType", ""),
            ("SignatureVersion", "1.0"),
            ("Timestamp", "mock date"),
            ("Version", ""),
        ]);
        assert_eq!(
            rpc_signature("accessKeySecret", &rpc_string_to_sign("GET", &params)),
            "7loPmFjvDnzOVnQeQNj85S6nFGY="
        );
        params.push(("SecurityToken".into(), "accessKeyStsToken".into()));
        assert_eq!(
            rpc_signature("accessKeySecret", &rpc_string_to_sign("GET", &params)),
            "5Nxdcler+ihqWqv0Hr2On4PsBf4="
        );
    }

    /// Vector `rpc-go-sdk-v1-string-to-sign-url-value`: values are encoded, then the whole
    /// canonical query again (`%` becomes `%25`).
    #[test]
    fn rpc_verifier_matches_vector_go_sdk_v1_url_value() {
        let params = pairs(&[("key", "value"), ("q", "http://domain/?q=value&q2=value2")]);
        assert_eq!(
            rpc_string_to_sign("GET", &params),
            "GET&%2F&key%3Dvalue%26q%3Dhttp%253A%252F%252Fdomain%252F%253Fq%253Dvalue%2526q2%253Dvalue2"
        );
        assert_eq!(rpc_percent_encode("a b*~/+=é"), "a%20b%2A~%2F%2B%3D%C3%A9");
    }

    // --- STS, metadata service and credentials URIs over HTTP ---------------------------------

    /// A signed STS request built by hand: form body, all parameters in it.
    fn sts_request(
        action: &str,
        key: Option<(&str, &str, Option<&str>)>,
        business: &[(&str, &str)],
    ) -> String {
        rpc_request(STS_API_VERSION, action, key, business)
    }

    /// A signed (when `key` is given) RPC request of any product, built by hand.
    fn rpc_request(
        version: &str,
        action: &str,
        key: Option<(&str, &str, Option<&str>)>,
        business: &[(&str, &str)],
    ) -> String {
        let mut params = pairs(&[
            ("Action", action),
            ("Version", version),
            ("Format", "JSON"),
            (
                "Timestamp",
                &Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            ),
            ("SignatureNonce", &random_alnum(16)),
        ]);
        params.extend(pairs(business));
        if let Some((id, secret, token)) = key {
            params.extend(pairs(&[
                ("AccessKeyId", id),
                ("SignatureMethod", "HMAC-SHA1"),
                ("SignatureVersion", "1.0"),
            ]));
            if let Some(token) = token {
                params.push(("SecurityToken".into(), token.into()));
            }
            let signature = rpc_signature(secret, &rpc_string_to_sign("POST", &params));
            params.push(("Signature".into(), signature));
        }
        let body = params
            .iter()
            .map(|(k, v)| format!("{}={}", rpc_percent_encode(k), rpc_percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        format!(
            "POST / HTTP/1.1\r\nHost: sts.aliyuncs.com\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    fn json_body(body: &str) -> Value {
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
    }

    fn credentials_of(body: &Value) -> (String, String, String) {
        let c = &body["Credentials"];
        (
            c["AccessKeyId"].as_str().unwrap().to_string(),
            c["AccessKeySecret"].as_str().unwrap().to_string(),
            c["SecurityToken"].as_str().unwrap().to_string(),
        )
    }

    const ROLE_1: &str = "acs:ram::1234567890123456:role/first-role";
    const ROLE_2: &str = "acs:ram::1234567890123456:role/second-role";

    #[test]
    fn fake_sts_assume_role_issues_a_key_the_cs_api_accepts_and_chains() {
        let fake = FakeCloud::start();
        fake.add_cluster_with_defaults("c1");
        let me = fake.add_access_key("AK1", "secret1");
        let first = fake.add_role(ROLE_1);
        let second = fake.add_role(ROLE_2);
        fake.allow_assume(ROLE_1, &me);
        fake.allow_assume(ROLE_2, &first);

        let business = [
            ("RoleArn", ROLE_1),
            ("RoleSessionName", "s1"),
            ("DurationSeconds", "1800"),
            ("ExternalId", "ext"),
            ("Policy", r#"{"Version":"1","Statement":[]}"#),
        ];
        let (status, _, body) = send(
            &fake,
            &sts_request("AssumeRole", Some(("AK1", "secret1", None)), &business),
        );
        assert_eq!(status, 200, "{body}\n{fake:?}");
        let body = json_body(&body);
        let (id, secret, token) = credentials_of(&body);
        assert!(id.starts_with("STS."), "{id}");
        assert!(token.contains('+') && token.contains('/'), "{token}");
        let expiration = body["Credentials"]["Expiration"].as_str().unwrap();
        let expires = NaiveDateTime::parse_from_str(expiration, "%Y-%m-%dT%H:%M:%SZ")
            .unwrap()
            .and_utc();
        assert!((expires - Utc::now() - TimeDelta::seconds(1800)).abs() < TimeDelta::seconds(5));
        let grant = fake.grants().pop().unwrap();
        assert_eq!(grant.role_session_name.as_deref(), Some("s1"));
        assert_eq!(grant.duration_seconds, Some(1800));
        assert_eq!(grant.external_id.as_deref(), Some("ext"));
        assert_eq!(grant.caller_uid.as_deref(), Some(me.uid.as_str()));
        assert_eq!(fake.key_principal(&id), Some(first.clone()));

        // The cs API accepts the STS key (with its token) and issues a certificate for the role.
        let mut cs = signer(&id, &secret, "n-cs-1");
        cs.token = Some(&token);
        let (status, _, body) = send(&fake, &cs.request("c1"));
        assert_eq!(status, 200, "{body}");
        assert_eq!(fake.last_request().unwrap().issued.unwrap().uid, first.uid);

        // Chained: the second AssumeRole is signed with the first's STS key.
        let (status, _, body) = send(
            &fake,
            &sts_request(
                "AssumeRole",
                Some((&id, &secret, Some(&token))),
                &[("RoleArn", ROLE_2), ("RoleSessionName", "s2")],
            ),
        );
        assert_eq!(status, 200, "{body}\n{fake:?}");
        let (id2, _, _) = credentials_of(&json_body(&body));
        assert_eq!(fake.key_principal(&id2), Some(second));
        assert_eq!(fake.grants().pop().unwrap().duration_seconds, Some(3600));
        // ... but the first key may not skip a hop, nor the user assume the second role.
        let (status, _, body) = send(
            &fake,
            &sts_request(
                "AssumeRole",
                Some(("AK1", "secret1", None)),
                &[("RoleArn", ROLE_2), ("RoleSessionName", "s3")],
            ),
        );
        assert_eq!(status, 403, "{body}");
        assert_eq!(json_body(&body)["Code"], "NoPermission");
        assert_eq!(fake.count_action("AssumeRole"), 3);
        let record = fake.requests_to(Service::Sts).pop().unwrap();
        assert_eq!(record.access_key_id.as_deref(), Some("AK1"));
        assert_eq!(record.form_param("RoleSessionName"), Some("s3"));
        assert!(record.query.is_empty());
    }

    #[test]
    fn fake_sts_rejects_bad_signatures_tokens_durations_and_roles() {
        let fake = FakeCloud::start();
        fake.add_access_key("AK1", "secret1");
        fake.add_sts_key("STS.K", "secret2", "tok+en/=");
        fake.add_role(ROLE_1);
        let code = |raw: &str| -> (u16, String, Value) {
            let (status, _, body) = send(&fake, raw);
            let body = json_body(&body);
            (
                status,
                body["Code"].as_str().unwrap_or("").to_string(),
                body,
            )
        };
        let role = [("RoleArn", ROLE_1), ("RoleSessionName", "s1")];

        let (status, c, body) = code(&sts_request(
            "AssumeRole",
            Some(("AK1", "wrong", None)),
            &role,
        ));
        assert_eq!((status, c.as_str()), (400, "SignatureDoesNotMatch"));
        let message = body["Message"].as_str().unwrap();
        assert!(
            message.contains(
                "server string to sign is:POST&%2F&AccessKeyId%3DAK1%26Action%3DAssumeRole"
            ),
            "{message}"
        );
        assert!(body["RequestId"].as_str().is_some() && body["Recommend"].as_str().is_some());
        assert_eq!(body["HostId"], STS_HOST_ID);

        let (status, c, _) = code(&sts_request("AssumeRole", Some(("NOPE", "x", None)), &role));
        assert_eq!((status, c.as_str()), (404, "InvalidAccessKeyId.NotFound"));
        let (status, c, _) = code(&sts_request(
            "AssumeRole",
            Some(("STS.K", "secret2", None)),
            &role,
        ));
        assert_eq!((status, c.as_str()), (400, "MissingSecurityToken"));
        let (status, c, _) = code(&sts_request(
            "AssumeRole",
            Some(("STS.K", "secret2", Some("tok en/="))),
            &role,
        ));
        assert_eq!((status, c.as_str()), (400, "InvalidSecurityToken.Mismatch"));
        let (status, c, body) = code(&sts_request(
            "AssumeRole",
            Some(("STS.K", "secret2", Some("tok+en/="))),
            &role,
        ));
        assert_eq!((status, c.as_str()), (200, ""), "{body}");

        let (status, c, _) = code(&sts_request(
            "AssumeRole",
            Some(("AK1", "secret1", None)),
            &[
                ("RoleArn", ROLE_1),
                ("RoleSessionName", "s1"),
                ("DurationSeconds", "899"),
            ],
        ));
        assert_eq!(
            (status, c.as_str()),
            (400, "InvalidParameter.DurationSeconds")
        );
        let (status, c, _) = code(&sts_request(
            "AssumeRole",
            Some(("AK1", "secret1", None)),
            &[("RoleArn", ROLE_2), ("RoleSessionName", "s1")],
        ));
        assert_eq!((status, c.as_str()), (404, "EntityNotExist.Role"));
        let (status, c, _) = code(&sts_request(
            "AssumeRole",
            Some(("AK1", "secret1", None)),
            &[("RoleArn", "not-an-arn"), ("RoleSessionName", "s1")],
        ));
        assert_eq!((status, c.as_str()), (400, "InvalidParameter.RoleArn"));

        // A reused nonce.
        let raw = sts_request("AssumeRole", Some(("AK1", "secret1", None)), &role);
        assert_eq!(code(&raw).0, 200);
        assert_eq!(code(&raw).1, "SignatureNonceUsed");

        // A `+` in a form value is a space, as in any form body.
        let raw = sts_request(
            "AssumeRole",
            Some(("AK1", "secret1", None)),
            &[
                ("RoleArn", ROLE_1),
                ("RoleSessionName", "s1"),
                ("ExternalId", "a b"),
            ],
        );
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let body = body.replace("ExternalId=a%20b", "ExternalId=a+b");
        let head = head.replace(
            &format!("Content-Length: {}", body.len() + 2),
            &format!("Content-Length: {}", body.len()),
        );
        let (status, c, body) = code(&format!("{head}\r\n\r\n{body}"));
        assert_eq!((status, c.as_str()), (200, ""), "{body}");
        assert_eq!(
            fake.grants().pop().unwrap().external_id.as_deref(),
            Some("a b")
        );
    }

    #[test]
    fn fake_sts_assume_role_with_oidc_checks_provider_and_token() {
        let fake = FakeCloud::start();
        let role = fake.add_role(ROLE_1);
        let provider = "acs:ram::1234567890123456:oidc-provider/ack-rrsa-c1";
        fake.add_oidc_provider(provider, "jwt-1");
        let business = |token: &'static str| {
            [
                ("RoleArn", ROLE_1),
                ("OIDCProviderArn", provider),
                ("OIDCToken", token),
                ("RoleSessionName", "rrsa"),
            ]
        };
        let (status, _, body) = send(
            &fake,
            &sts_request("AssumeRoleWithOIDC", None, &business("jwt-1")),
        );
        assert_eq!(status, 200, "{body}");
        let (id, _, _) = credentials_of(&json_body(&body));
        assert_eq!(fake.key_principal(&id), Some(role));
        let (status, _, body) = send(
            &fake,
            &sts_request("AssumeRoleWithOIDC", None, &business("jwt-2")),
        );
        assert_eq!(status, 400);
        assert_eq!(
            json_body(&body)["Code"],
            "AuthenticationFail.OIDCToken.Invalid"
        );
        fake.add_oidc_provider(provider, "jwt-2");
        let (status, _, _) = send(
            &fake,
            &sts_request("AssumeRoleWithOIDC", None, &business("jwt-2")),
        );
        assert_eq!(status, 200);
        assert_eq!(fake.count_action(ACTION_ASSUME_ROLE_WITH_OIDC), 3);
        assert!(fake.secrets().contains(&"jwt-2".to_string()));
    }

    #[test]
    fn fake_sts_takes_faults_aimed_at_it() {
        let fake = FakeCloud::start();
        fake.add_access_key("AK1", "secret1");
        fake.add_role(ROLE_1);
        fake.fail_next_on(Service::Sts, 1, Fault::ServiceUnavailable);
        let role = [("RoleArn", ROLE_1), ("RoleSessionName", "s1")];
        let (status, _, body) = send(
            &fake,
            &sts_request("AssumeRole", Some(("AK1", "secret1", None)), &role),
        );
        assert_eq!(status, 503, "{body}");
        let (status, _, _) = send(
            &fake,
            &sts_request("AssumeRole", Some(("AK1", "secret1", None)), &role),
        );
        assert_eq!(status, 200);
        assert_eq!(
            fake.requests()[0].outcome,
            Outcome::Fault("ServiceUnavailable".into())
        );
    }

    /// A signed `DescribeServiceMeshKubeconfig` request built by hand.
    fn asm_request(key: (&str, &str, Option<&str>), business: &[(&str, &str)]) -> String {
        rpc_request(
            SERVICEMESH_API_VERSION,
            ACTION_DESCRIBE_SERVICE_MESH_KUBECONFIG,
            Some(key),
            business,
        )
    }

    #[test]
    fn fake_asm_issues_a_mesh_kubeconfig_whose_expire_time_is_utc_plus_8() {
        let fake = FakeCloud::start();
        fake.add_mesh_with_defaults("m1");
        let me = fake.add_access_key("AK1", "secret1");
        let (status, _, body) = send(
            &fake,
            &asm_request(
                ("AK1", "secret1", None),
                &[("ServiceMeshId", "m1"), ("PrivateIpAddress", "false")],
            ),
        );
        assert_eq!(status, 200, "{body}\n{fake:?}");
        let body = json_body(&body);
        assert!(body["RequestId"].as_str().is_some_and(|r| !r.is_empty()));
        let config: Value = serde_yaml_ng::from_str(body["Kubeconfig"].as_str().unwrap()).unwrap();
        assert_eq!(
            config["clusters"][0]["cluster"]["server"],
            DEFAULT_MESH_PUBLIC_SERVER
        );
        let record = fake.last_request().unwrap();
        assert_eq!(record.service, Service::Asm);
        assert_eq!(
            record.action.as_deref(),
            Some(ACTION_DESCRIBE_SERVICE_MESH_KUBECONFIG)
        );
        assert_eq!(record.access_key_id.as_deref(), Some("AK1"));
        assert_eq!(record.outcome, Outcome::Issued);
        let issued = record.issued.unwrap();
        assert!(issued.mesh && !issued.private_ip);
        assert_eq!(
            (issued.cluster_id.as_str(), issued.uid.as_str()),
            ("m1", me.uid.as_str())
        );
        assert_eq!(
            issued.not_after - issued.not_before,
            TimeDelta::from_std(MESH_CERT_LIFETIME).unwrap() + TimeDelta::minutes(1)
        );
        // ExpireTime: zone-less, the NotAfter in UTC+8.
        let expire_time = body["ExpireTime"].as_str().unwrap();
        assert_eq!(expire_time, issued.expiration);
        let read_as_utc = NaiveDateTime::parse_from_str(expire_time, MESH_EXPIRE_TIME_FORMAT)
            .unwrap()
            .and_utc();
        assert_eq!(read_as_utc - issued.not_after, TimeDelta::hours(8));
        let cert_pem = BASE64
            .decode(
                config["users"][0]["user"]["client-certificate-data"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(
            issued.certificate_pem.as_deref(),
            Some(String::from_utf8(cert_pem).unwrap().as_str())
        );
        let key_pem = BASE64
            .decode(
                config["users"][0]["user"]["client-key-data"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(
            issued.key_pem.as_deref(),
            Some(String::from_utf8(key_pem).unwrap().as_str())
        );

        // Private address, a lifetime override, true UTC, and an STS key with its token.
        fake.set_cert_lifetime(Duration::from_secs(3600));
        fake.set_mesh_expire_time_utc_offset(TimeDelta::zero());
        fake.add_sts_key("STS.K", "secret2", "tok+en/=");
        let (status, _, body) = send(
            &fake,
            &asm_request(
                ("STS.K", "secret2", Some("tok+en/=")),
                &[("ServiceMeshId", "m1"), ("PrivateIpAddress", "true")],
            ),
        );
        assert_eq!(status, 200, "{body}\n{fake:?}");
        let issued = fake.last_request().unwrap().issued.unwrap();
        assert_eq!(issued.server, DEFAULT_MESH_PRIVATE_SERVER);
        assert_eq!(issued.not_after - issued.not_before, TimeDelta::minutes(61));
        assert_eq!(
            json_body(&body)["ExpireTime"],
            issued.not_after.format(MESH_EXPIRE_TIME_FORMAT).to_string()
        );
        assert_eq!(fake.successes(), 2);
        assert!(fake.requests_to(Service::Sts).is_empty());
    }

    #[test]
    fn fake_asm_rejects_bad_signatures_unknown_meshes_and_forbidden_callers() {
        let fake = FakeCloud::start();
        fake.add_mesh_with_defaults("m1");
        let me = fake.add_access_key("AK1", "secret1");
        fake.add_access_key("AK2", "secret2");
        fake.add_sts_key("STS.K", "secret3", "token-abc");
        let code = |raw: &str| -> (u16, String, Value) {
            let (status, _, body) = send(&fake, raw);
            let body = json_body(&body);
            (
                status,
                body["Code"].as_str().unwrap_or("").to_string(),
                body,
            )
        };
        let m1 = [("ServiceMeshId", "m1")];

        let (status, c, body) = code(&asm_request(("AK1", "wrong", None), &m1));
        assert_eq!((status, c.as_str()), (400, "SignatureDoesNotMatch"));
        assert_eq!(body["HostId"], ASM_HOST_ID);
        assert!(body["RequestId"].as_str().is_some());
        let message = body["Message"].as_str().unwrap();
        assert!(
            message.contains("server string to sign is:POST&%2F&AccessKeyId%3DAK1%26Action%3DDescribeServiceMeshKubeconfig"),
            "{message}"
        );
        let (status, c, _) = code(&asm_request(("NOPE", "x", None), &m1));
        assert_eq!((status, c.as_str()), (404, "InvalidAccessKeyId.NotFound"));
        let (status, c, _) = code(&asm_request(("STS.K", "secret3", None), &m1));
        assert_eq!((status, c.as_str()), (400, "MissingSecurityToken"));
        let (status, c, _) = code(&asm_request(("STS.K", "secret3", Some("token-xyz")), &m1));
        assert_eq!((status, c.as_str()), (400, "InvalidSecurityToken.Mismatch"));
        let (status, c, body) = code(&asm_request(("STS.K", "secret3", Some("token-abc")), &m1));
        assert_eq!((status, c.as_str()), (200, ""), "{body}");

        let (status, c, body) = code(&asm_request(
            ("AK1", "secret1", None),
            &[("ServiceMeshId", "nope")],
        ));
        assert_eq!((status, c.as_str()), (404, "ServiceMesh.NotFound"));
        assert!(body["Message"].as_str().unwrap().contains("nope"));
        let (status, c, _) = code(&asm_request(("AK1", "secret1", None), &[]));
        assert_eq!((status, c.as_str()), (400, "MissingParameter"));
        let (status, c, _) = code(&asm_request(
            ("AK1", "secret1", None),
            &[("ServiceMeshId", "m1"), ("PrivateIpAddress", "yes")],
        ));
        assert_eq!((status, c.as_str()), (400, "InvalidParameter"));
        // The servicemesh action with STS's version.
        let (status, c, _) = code(&rpc_request(
            STS_API_VERSION,
            ACTION_DESCRIBE_SERVICE_MESH_KUBECONFIG,
            Some(("AK1", "secret1", None)),
            &m1,
        ));
        assert_eq!((status, c.as_str()), (400, "InvalidVersion"));

        fake.allow_mesh("m1", &me);
        let (status, c, _) = code(&asm_request(("AK2", "secret2", None), &m1));
        assert_eq!((status, c.as_str()), (403, "Forbidden.RAM"));
        let (status, c, _) = code(&asm_request(("AK1", "secret1", None), &m1));
        assert_eq!((status, c.as_str()), (200, ""));
        assert_eq!(
            fake.count_action(ACTION_DESCRIBE_SERVICE_MESH_KUBECONFIG),
            11
        );
        assert_eq!(fake.successes(), 2);
    }

    #[test]
    fn fake_asm_takes_faults_aimed_at_it() {
        let fake = FakeCloud::start();
        fake.add_mesh_with_defaults("m1");
        fake.add_access_key("AK1", "secret1");
        fake.fail_next_on(Service::Asm, 1, Fault::ServiceUnavailable);
        fake.fail_next_on(Service::Asm, 1, Fault::BodyWithoutConfig);
        let m1 = [("ServiceMeshId", "m1")];
        let (status, _, body) = send(&fake, &asm_request(("AK1", "secret1", None), &m1));
        assert_eq!(status, 503, "{body}");
        let (status, _, body) = send(&fake, &asm_request(("AK1", "secret1", None), &m1));
        assert_eq!(status, 200, "{body}");
        assert!(json_body(&body).get("Kubeconfig").is_none(), "{body}");
        let (status, _, _) = send(&fake, &asm_request(("AK1", "secret1", None), &m1));
        assert_eq!(status, 200);
        let outcomes: Vec<Outcome> = fake
            .requests_to(Service::Asm)
            .into_iter()
            .map(|r| r.outcome)
            .collect();
        assert_eq!(
            outcomes,
            [
                Outcome::Fault("ServiceUnavailable".into()),
                Outcome::Fault("BodyWithoutConfig".into()),
                Outcome::Issued
            ]
        );
    }

    fn http(method: &str, path: &str, headers: &[(&str, &str)]) -> String {
        let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: 100.100.100.200\r\n");
        for (k, v) in headers {
            raw.push_str(&format!("{k}: {v}\r\n"));
        }
        raw.push_str("Content-Length: 0\r\n\r\n");
        raw
    }

    #[test]
    fn fake_metadata_service_hands_out_role_credentials_with_and_without_tokens() {
        let fake = FakeCloud::start();
        fake.add_cluster_with_defaults("c1");
        let role = fake.set_ecs_role("EcsRole");
        let creds_path = "/latest/meta-data/ram/security-credentials/EcsRole";

        // v1: no token needed by default.
        let (status, _, body) = send(&fake, &http("GET", IMDS_CREDENTIALS_PREFIX, &[]));
        assert_eq!((status, body.as_str()), (200, "EcsRole"));
        let (status, _, body) = send(&fake, &http("GET", creds_path, &[]));
        assert_eq!(status, 200, "{body}");
        let body = json_body(&body);
        assert_eq!(body["Code"], "Success");
        let id = body["AccessKeyId"].as_str().unwrap();
        assert_eq!(fake.key_principal(id), Some(role.clone()));
        let mut cs = signer(id, body["AccessKeySecret"].as_str().unwrap(), "n-ecs");
        cs.token = body["SecurityToken"].as_str();
        let (status, _, body) = send(&fake, &cs.request("c1"));
        assert_eq!(status, 200, "{body}");

        // v2 required.
        fake.require_imds_v2(true);
        let (status, _, _) = send(&fake, &http("GET", creds_path, &[]));
        assert_eq!(status, 401);
        let (status, _, _) = send(&fake, &http("PUT", "/latest/api/token", &[]));
        assert_eq!(status, 400);
        let (status, _, token) = send(
            &fake,
            &http(
                "PUT",
                "/latest/api/token",
                &[(IMDS_TOKEN_TTL_HEADER, "21600")],
            ),
        );
        assert_eq!(status, 200);
        let (status, _, _) = send(
            &fake,
            &http("GET", creds_path, &[(IMDS_TOKEN_HEADER, &token)]),
        );
        assert_eq!(status, 200);
        let (status, _, _) = send(
            &fake,
            &http("GET", creds_path, &[(IMDS_TOKEN_HEADER, "forged")]),
        );
        assert_eq!(status, 401);
        let (status, _, _) = send(
            &fake,
            &http(
                "GET",
                "/latest/meta-data/ram/security-credentials/Other",
                &[(IMDS_TOKEN_HEADER, &token)],
            ),
        );
        assert_eq!(status, 404);

        fake.disable_imds_token(403);
        let (status, _, _) = send(
            &fake,
            &http(
                "PUT",
                "/latest/api/token",
                &[(IMDS_TOKEN_TTL_HEADER, "21600")],
            ),
        );
        assert_eq!(status, 403);
        assert_eq!(fake.count_action(ACTION_IMDS_TOKEN), 3);
        assert_eq!(fake.count_action(ACTION_IMDS_ROLE_NAME), 1);
        assert_eq!(fake.count_action(ACTION_IMDS_CREDENTIALS), 5);
        assert_eq!(fake.grants().len(), 2);
    }

    #[test]
    fn fake_credentials_uri_serves_or_fails() {
        let fake = FakeCloud::start();
        let (url, principal) = fake.add_credentials_uri("good");
        assert!(url.ends_with("/credentials-uri/good"), "{url}");
        let bad = fake.add_failing_credentials_uri("bad", "InternalError");
        let (status, _, body) = send(&fake, &http("GET", "/credentials-uri/good", &[]));
        assert_eq!(status, 200);
        let body = json_body(&body);
        assert_eq!(body["Code"], "Success");
        assert_eq!(
            fake.key_principal(body["AccessKeyId"].as_str().unwrap()),
            Some(principal)
        );
        assert!(body["Expiration"].as_str().unwrap().ends_with('Z'));
        let path = &bad[fake.endpoint().len()..];
        let (status, _, body) = send(&fake, &http("GET", path, &[]));
        assert_eq!(status, 200);
        assert_eq!(json_body(&body)["Code"], "InternalError");
        assert_eq!(fake.count_action(ACTION_CREDENTIALS_URI), 2);
    }
}
