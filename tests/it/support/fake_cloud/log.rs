//! What the fake records of each request, for assertions and failure messages: the request as
//! it arrived, where it was routed, and what it got (a kubeconfig, credentials, a fault or an
//! error).

use std::fmt;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::accounts::AccessKey;
use super::http::{find_header, find_pair};
use super::imds::IMDS_TOKEN_HEADER;
use super::{FakeCloud, Service};

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
    /// A list API answered (cs `DescribeClustersV1`, ASM `DescribeServiceMeshes`).
    Listed,
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
    /// Issued by ACK One's `DescribeHubClusterKubeconfig` for the fleet `cluster_id`.
    pub fleet: bool,
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
        find_pair(&self.query, name)
    }

    /// The `x-acs-signature-nonce` (cs) or the `SignatureNonce` parameter (STS, ASM).
    pub fn nonce(&self) -> Option<&str> {
        self.header("x-acs-signature-nonce")
            .or_else(|| self.param("SignatureNonce"))
    }

    /// An STS or ASM parameter (form body or query, decoded); for a V3 request, `Action` and
    /// `Version` come from its `x-acs-action` and `x-acs-version` headers.
    pub fn param(&self, name: &str) -> Option<&str> {
        find_pair(&self.params, name).or_else(|| match name {
            "Action" => self.header("x-acs-action"),
            "Version" => self.header("x-acs-version"),
            _ => None,
        })
    }

    /// The STS token the request carried: the `x-acs-security-token` header (ROA, and RPC
    /// signed with V3) or the `SecurityToken` parameter (RPC V2).
    pub fn security_token(&self) -> Option<&str> {
        self.header("x-acs-security-token")
            .or_else(|| self.param("SecurityToken"))
    }

    /// The signature scheme the request was signed with: `v3` (ACS3-HMAC-SHA256), `v2` (ROA or
    /// RPC HMAC-SHA1), or `None` for an unsigned one.
    pub fn signature_version(&self) -> Option<&'static str> {
        let authorization = self.header("authorization").unwrap_or("");
        if authorization.starts_with(super::v3::V3_ALGORITHM) {
            Some("v3")
        } else if authorization.starts_with("acs ") || self.param("Signature").is_some() {
            Some("v2")
        } else {
            None
        }
    }

    /// A form-body parameter (decoded).
    pub fn form_param(&self, name: &str) -> Option<&str> {
        find_pair(&self.form, name)
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
        // RPC requests (STS, ASM) carry their parameters in the query or a form body.
        let rpc = self.params.iter().any(|(name, _)| name == "Action");
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

impl FakeCloud {
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

    /// Waits until `done` holds for the log (checked at every change of it, not by polling) and
    /// returns the log; panics with the log after `limit`. For synchronising with the binary:
    /// "its request has arrived", "the answer has been sent".
    /// Waits until every connection made to the fake so far has been read and logged (or
    /// refused as unreadable): after a client is killed, its request may still be in the
    /// listener's queue or half read, and a count of the log taken now would miss it. Opens a
    /// connection of its own and waits until the fake has accepted it and read every one
    /// accepted before it (accepting is in order).
    pub fn settle(&self) {
        let sentinel = std::net::TcpStream::connect(self.addr()).expect("connect to the fake");
        let me = sentinel.local_addr().expect("the sentinel's address");
        drop(sentinel);
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut state = self.shared.lock();
        loop {
            if let Some(&number) = state.accepted_from.get(&me)
                && state.reading.range(..number).next().is_none()
            {
                return;
            }
            let now = Instant::now();
            assert!(now < deadline, "the fake did not settle within 20 s");
            state = self
                .shared
                .wake
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }

    pub fn wait_for(
        &self,
        what: &str,
        limit: Duration,
        mut done: impl FnMut(&[RequestRecord]) -> bool,
    ) -> Vec<RequestRecord> {
        let deadline = Instant::now() + limit;
        let mut state = self.shared.lock();
        loop {
            if done(&state.log) {
                return state.log.clone();
            }
            let now = Instant::now();
            if now >= deadline {
                drop(state);
                panic!(
                    "gave up after {limit:?} waiting until {what}\n{}",
                    self.dump()
                );
            }
            state = self
                .shared
                .wake
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
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
            let _ = write!(out, "{record:?}");
        }
        out
    }
}
