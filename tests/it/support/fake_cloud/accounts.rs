//! Who can call the fake: access keys (static and STS), the principals they authenticate as, the
//! checks every signature verifier makes of a request's key, the STS keys the fake hands out, and
//! every secret the fake knows, for the tests' leak checks.

use std::collections::{HashMap, HashSet};
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, TimeDelta, Utc};

use super::FakeCloud;
use super::log::StsGrant;
use super::state::Shared;

/// Lifetime of the STS keys the metadata service and credentials URIs hand out.
pub const SESSION_KEY_LIFETIME: TimeDelta = TimeDelta::hours(6);

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

/// The key table.
#[derive(Default)]
pub(super) struct Accounts {
    pub keys: HashMap<String, AccessKey>,
    /// uids of RAM users (a main account may ask for their kubeconfig with `--uid`).
    pub sub_users: HashSet<String>,
    /// STS keys' expiry.
    pub key_expiry: HashMap<String, DateTime<Utc>>,
    next_uid: u64,
}

impl Accounts {
    fn insert(&mut self, key: AccessKey) {
        if !key.principal.main_account {
            self.sub_users.insert(key.principal.uid.clone());
        }
        self.keys.insert(key.id.clone(), key);
    }
}

impl FakeCloud {
    /// Registers an access key of a new RAM user (fresh uid) and returns that user.
    pub fn add_access_key(&self, id: &str, secret: &str) -> Principal {
        self.add_new_principal_key(id, secret, None, false)
    }

    /// Registers an access key of the main (root) account (fresh uid).
    pub fn add_main_account_key(&self, id: &str, secret: &str) -> Principal {
        self.add_new_principal_key(id, secret, None, true)
    }

    /// Registers an STS key (fresh uid, not a main account) whose requests must carry
    /// `x-acs-security-token: token`.
    pub fn add_sts_key(&self, id: &str, secret: &str, token: &str) -> Principal {
        self.add_new_principal_key(id, secret, Some(token), false)
    }

    fn add_new_principal_key(
        &self,
        id: &str,
        secret: &str,
        token: Option<&str>,
        main_account: bool,
    ) -> Principal {
        let principal = self.new_principal(main_account);
        self.add_key(AccessKey {
            id: id.to_string(),
            secret: secret.to_string(),
            principal: principal.clone(),
            security_token: token.map(str::to_string),
        });
        principal
    }

    /// Registers (or replaces) a fully specified key; e.g. a second key of an existing principal.
    pub fn add_key(&self, key: AccessKey) {
        self.shared.lock().accounts.insert(key);
    }

    /// Registers a RAM user of the account that a main account may ask about with `--uid`.
    pub fn add_sub_user(&self, uid: &str) {
        self.shared
            .lock()
            .accounts
            .sub_users
            .insert(uid.to_string());
    }

    /// A principal with a fresh uid (not registered anywhere yet).
    pub(super) fn new_principal(&self, main_account: bool) -> Principal {
        let mut state = self.shared.lock();
        state.accounts.next_uid += 1;
        let n = state.accounts.next_uid;
        let uid = if main_account {
            1_000_000_000_000_000u64 + n
        } else {
            20_000_000_000_000_000u64 + n
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
            .accounts
            .keys
            .get(key_id)
            .map(|k| k.principal.clone())
    }

    /// Every secret and security token of every key the fake knows (static keys and the STS keys
    /// it handed out), every accepted OIDC token and every IMDSv2 token it handed out: strings
    /// that must never appear in output.
    pub fn secrets(&self) -> Vec<String> {
        let state = self.shared.lock();
        let mut out: Vec<String> = state
            .accounts
            .keys
            .values()
            .flat_map(|k| std::iter::once(k.secret.clone()).chain(k.security_token.clone()))
            .chain(state.roles.oidc_providers.values().cloned())
            .chain(state.imds.tokens.iter().cloned())
            .filter(|s| !s.is_empty())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Every credential the cs and ASM APIs handed out for a cluster or mesh: the private key
    /// (PEM) of each client certificate and each bearer token. These may appear in one place
    /// only: the ExecCredential that `get-credential` prints.
    pub fn cluster_credentials(&self) -> Vec<String> {
        self.shared.lock().cluster_credentials.clone()
    }
}

/// Why a verifier refuses a request's key: HTTP status, `Code` and `Message`, which each
/// verifier answers in its own product's error shape.
pub(super) type Refusal = (u16, &'static str, &'static str);

impl Accounts {
    /// The key `key_id` names, with its expiry (STS keys only); refused with 404
    /// `InvalidAccessKeyId.NotFound` when the fake does not know it.
    pub fn known_key(&self, key_id: &str) -> Result<(AccessKey, Option<DateTime<Utc>>), Refusal> {
        let key = self.keys.get(key_id).cloned().ok_or((
            404,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        ))?;
        Ok((key, self.key_expiry.get(key_id).copied()))
    }
}

/// The security token a request carries (`sent`) against its key's: an STS key needs its own
/// (400 `MissingSecurityToken`, `InvalidSecurityToken.Mismatch`), any other key none (400
/// `InvalidSecurityToken.Malformed`).
pub(super) fn check_security_token(key: &AccessKey, sent: Option<&str>) -> Result<(), Refusal> {
    match (&key.security_token, sent) {
        (Some(_), None) => Err((
            400,
            "MissingSecurityToken",
            "SecurityToken is mandatory for this action.",
        )),
        (Some(expected), Some(got)) if expected != got => Err((
            400,
            "InvalidSecurityToken.Mismatch",
            "Specified SecurityToken mismatch with the AccessKey.",
        )),
        (None, Some(_)) => Err((
            400,
            "InvalidSecurityToken.Malformed",
            "Specified SecurityToken is malformed (this AccessKey is not an STS key).",
        )),
        _ => Ok(()),
    }
}

/// A key with an expiry (an STS key) is refused from that instant on, by the server's clock
/// `now` (400 `InvalidSecurityToken.Expired`).
pub(super) fn check_not_expired(
    expires: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    if expires.is_some_and(|at| at <= now) {
        return Err((
            400,
            "InvalidSecurityToken.Expired",
            "Specified SecurityToken is expired.",
        ));
    }
    Ok(())
}

/// Registers a fresh STS key of `principal` expiring after `lifetime`; returns it and its
/// `Expiration` string.
pub(super) fn issue_sts_key(
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
        state.accounts.insert(key.clone());
        state.accounts.key_expiry.insert(key.id.clone(), expires);
    }
    (key, expires.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// Hands out a fresh STS key of `principal` expiring after `lifetime` ([`issue_sts_key`]) for
/// a request that names no AssumeRole parameters (the metadata service, a credentials URI, the
/// CloudSSO portal, the OAuth exchange), and records the grant: request `seq`, its `action`,
/// and `role` (the ECS role, the URI's name, the access configuration, the OAuth client).
/// Returns the key and its `Expiration` string.
pub(super) fn grant_session_key(
    shared: &Shared,
    seq: usize,
    action: &str,
    role: &str,
    principal: &Principal,
    lifetime: TimeDelta,
) -> (AccessKey, String) {
    let (key, expiration) = issue_sts_key(shared, principal, lifetime);
    shared.lock().grants.push(StsGrant {
        seq,
        action: action.to_string(),
        role: role.to_string(),
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
    (key, expiration)
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    getrandom::fill(&mut out).expect("fake cloud: getrandom");
    out
}

pub(super) fn random_alnum(n: usize) -> String {
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
