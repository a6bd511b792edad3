//! An in-process fake of the Alibaba Cloud APIs the plugin talks to, on 127.0.0.1: the Container
//! Service (cs) API (user kubeconfigs and `DescribeClustersV1`), Service Mesh (ASM,
//! `DescribeServiceMeshKubeconfig` and `DescribeServiceMeshes`), ACK One (adcp,
//! `DescribeHubClusterKubeconfig`), STS, the ECS metadata service, credentials URIs, the
//! CloudSSO portal and the OAuth site of aliyun CLI profiles, all on one listener.
//!
//! It exists so the real binary can be run against something that behaves like the cloud: it
//! checks every signed request's signature with its own verifiers (written from the public
//! reference, not shared with `src/`): ACS3-HMAC-SHA256 (V3) for every product, or the V2
//! schemes (ROA HMAC-SHA1 for cs, RPC HMAC-SHA1 for STS, ASM and adcp). It answers with
//! Alibaba's error shapes, and issues real client certificates from its own client CA (for
//! clusters, meshes and fleets alike), so a TLS API server can trust what it hands out. ASM writes its `ExpireTime` without a zone, in UTC+8 by default, as the real API
//! may: read as UTC it is 8 hours after the certificate's NotAfter. STS, the metadata service and
//! credentials URIs hand out STS keys that the fake registers, so the cs API then accepts
//! requests signed with them and issues certificates whose CN is the role's uid.
//! Faults (5xx, throttling, dropped connections, hangs, garbage bodies) can be queued for the next
//! requests (of any service, or of one) or made permanent, and every request is logged for
//! assertions and failure messages. The fake knows every secret it registered or handed out
//! ([`FakeCloud::secrets`], [`FakeCloud::issued_private_keys`]), so the tests can check that
//! none of them leaks.
//!
//! # Layout
//!
//! - `mod.rs` (this file): [`FakeCloud`], its life cycle, faults and behaviour knobs, and
//!   [`ROUTES`], the table that sends each request to a service.
//! - `http.rs`: the deliberately minimal HTTP server (one thread per connection, one request per
//!   connection, every answer `Connection: close`) and request parsing.
//! - `state.rs`: the state the services share; `log.rs`: what each request looked like and got,
//!   and the queries on the log (including [`FakeCloud::wait_for`]); `fault.rs`: injected
//!   faults; `accounts.rs`: access keys, principals, the checks every verifier makes of a key
//!   (known, its security token, not expired), the STS keys the fake hands out and the secrets it
//!   knows; `certs.rs`: the CAs, client certificates and the kubeconfigs the APIs answer;
//!   `kubeconfig_api.rs`: what cs, ASM and adcp share (the target a kubeconfig points at and who
//!   may fetch it, `PrivateIpAddress`, and ASM's and adcp's answer with its body faults).
//! - `roa.rs` and `rpc.rs`: the two V2 signature verifiers, with the gateway checks and error
//!   bodies around them.
//! - One file per service: `cs.rs`, `sts.rs` (and `sts_assume_role.rs`), `servicemesh.rs`,
//!   `adcp.rs`, `imds.rs`, `credentials_uri.rs`, `cloud_sso.rs` (the portal's
//!   `/cloud-credentials`), `oauth.rs` (`/v1/token`, which rotates refresh tokens, and
//!   `/v1/exchange`), each with its registration methods (`impl FakeCloud`), its state and its
//!   [`Route`].
//! - `tests/`: self-tests of the fake (signature vectors, hand-built requests); no binary runs.
//!
//! # Adding a service
//!
//! Write `newservice.rs` with a `pub(super) const ROUTE: Route` (which requests it claims, what
//! the log calls them, the answer), a `Service` constant and its `impl FakeCloud` registration
//! methods (with its state in a struct of its own, one field of [`state::State`]); then declare
//! the module below and add its `ROUTE` to [`ROUTES`]. A V3 signature verifier would sit beside
//! `roa.rs` and `rpc.rs` and be called from the services that accept it.
//!
//! The directory is self-contained (std and external crates only; no `super::`/`crate::` out of
//! it), so an example binary can reuse it with
//! `#[path = "../tests/it/support/fake_cloud/mod.rs"] mod fake_cloud;`.

#![allow(dead_code)]

mod accounts;
mod adcp;
mod certs;
mod cloud_sso;
mod credentials_uri;
mod cs;
mod fault;
mod http;
mod imds;
mod kubeconfig_api;
mod log;
mod oauth;
mod roa;
mod rpc;
mod servicemesh;
mod state;
mod sts;
mod sts_assume_role;
#[cfg(test)]
mod tests;
mod v3;

use std::fmt;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};

// Not every includer (the tests, examples/fake_cloud.rs) uses every name.
#[allow(unused_imports)]
pub use self::{
    accounts::{AccessKey, Principal, SESSION_KEY_LIFETIME},
    adcp::{
        ACTION_DESCRIBE_HUB_CLUSTER_KUBECONFIG, ADCP_API_VERSION, DEFAULT_FLEET_PRIVATE_SERVER,
        DEFAULT_FLEET_PUBLIC_SERVER, FLEET_CERT_LIFETIME, FLEET_NOT_FOUND,
    },
    certs::CERT_ORGANIZATION,
    cloud_sso::{ACTION_CLOUD_SSO_CREDENTIALS, CloudSsoCall, CloudSsoUser},
    credentials_uri::ACTION_CREDENTIALS_URI,
    cs::{
        ACTION_DESCRIBE_CLUSTERS, ACTION_SUBACCOUNT_USER_CONFIG, ACTION_USER_CONFIG,
        CLUSTER_PAGE_CAP, CS_API_VERSION, DEFAULT_CLUSTER_PAGE_SIZE,
        DEFAULT_CLUSTER_PRIVATE_SERVER, DEFAULT_CLUSTER_PUBLIC_SERVER, DEFAULT_CLUSTER_REGION,
        DEFAULT_CLUSTER_STATE, DEFAULT_CLUSTER_TYPE, DEFAULT_CLUSTER_VERSION, LONG_LIVED_CERT,
    },
    fault::Fault,
    http::http_date,
    imds::{
        ACTION_IMDS_CREDENTIALS, ACTION_IMDS_OTHER, ACTION_IMDS_ROLE_NAME, ACTION_IMDS_TOKEN,
        IMDS_TOKEN_HEADER, IMDS_TOKEN_TTL_HEADER,
    },
    log::{Issued, Outcome, RequestRecord, StsGrant},
    oauth::{ACTION_OAUTH_EXCHANGE, ACTION_OAUTH_TOKEN, OAuthTokens, OAuthUser},
    roa::{roa_signature, roa_string_to_sign},
    rpc::{rpc_percent_encode, rpc_signature, rpc_string_to_sign},
    servicemesh::{
        ACTION_DESCRIBE_SERVICE_MESH_KUBECONFIG, ACTION_DESCRIBE_SERVICE_MESHES,
        DEFAULT_MESH_PRIVATE_SERVER, DEFAULT_MESH_PUBLIC_SERVER, MESH_CERT_LIFETIME,
        MESH_EXPIRE_TIME_FORMAT, MESH_EXPIRE_TIME_UTC_OFFSET, SERVICEMESH_API_VERSION,
    },
    sts::{
        ACTION_ASSUME_ROLE, ACTION_ASSUME_ROLE_WITH_OIDC, ACTION_GET_CALLER_IDENTITY,
        DEFAULT_DURATION_SECONDS, MAX_DURATION_SECONDS, MIN_DURATION_SECONDS, STS_API_VERSION,
    },
    v3::{V3_ALGORITHM, v3_canonical_request, v3_signature, v3_string_to_sign},
};

use http::HttpRequest;
use state::{Shared, State};

/// How far a request's `Date` (or RPC `Timestamp`) may be from the server's clock.
pub const MAX_CLOCK_SKEW: TimeDelta = TimeDelta::minutes(15);

/// Which of the fake's services a request was routed to (`Service::CS`, `Service::STS`, ...:
/// each service file defines its own).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Service(&'static str);

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// One service on the listener.
struct Route {
    service: Service,
    /// Whether this service answers the request (routes are asked in [`ROUTES`] order).
    claims: fn(&HttpRequest) -> bool,
    /// What the log records as the request's action and AccessKeyId.
    identify: fn(&HttpRequest) -> (Option<String>, Option<String>),
    /// The answer. `fault` is a fault that replaces a successful body (see
    /// [`Fault::replaces_success`]); the service applies it as it sees fit.
    answer: fn(&Shared, &Exchange<'_>, Option<&Fault>) -> http::Reply,
}

/// A request being answered: its place in the log and the RequestId it is given.
struct Exchange<'a> {
    seq: usize,
    request: &'a HttpRequest,
    request_id: &'a str,
}

/// The services on the listener, asked in order: the first that claims a request answers it,
/// and cs, last, takes whatever no other service claimed.
const ROUTES: &[Route] = &[
    servicemesh::ROUTE,     // `/` with servicemesh's Action or Version
    adcp::ROUTE,            // `/` with adcp's Action or Version
    sts::ROUTE,             // any other `/`
    imds::ROUTE,            // `/latest/...`
    credentials_uri::ROUTE, // `/credentials-uri/<name>`
    cloud_sso::ROUTE,       // `/cloud-credentials`
    oauth::ROUTE,           // `/v1/token`, `/v1/exchange`
    cs::ROUTE,              // everything else
];

fn route(request: &HttpRequest) -> &'static Route {
    ROUTES
        .iter()
        .find(|route| (route.claims)(request))
        .unwrap_or(&ROUTES[ROUTES.len() - 1])
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
            accepts: AtomicU64::new(0),
            client_ca: certs::Authority::new("fake-ack-client-ca"),
            cluster_ca: certs::Authority::new("kubernetes"),
            serials: AtomicU64::new(1),
            started: Instant::now(),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name(format!("fake-cloud-{}", addr.port()))
                .spawn(move || http::accept_loop(&shared, listener))
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
    /// `TemporaryDurationMinutes` says; for meshes, instead of [`MESH_CERT_LIFETIME`]; for
    /// fleets, instead of [`FLEET_CERT_LIFETIME`].
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

    /// PEM of the CA that signs every client certificate the fake issues.
    pub fn client_ca_pem(&self) -> String {
        self.shared.client_ca.pem.clone()
    }

    /// PEM of the default cluster CA (what `add_cluster_with_defaults` puts in kubeconfigs).
    pub fn cluster_ca_pem(&self) -> String {
        self.shared.cluster_ca.pem.clone()
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
