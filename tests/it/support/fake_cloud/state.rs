//! The state every service of the fake shares, behind one mutex: accounts, each service's own
//! registry, the queued faults, the behaviour knobs and the request log.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};

use super::Service;
use super::accounts::Accounts;
use super::adcp::Fleets;
use super::certs::Authority;
use super::cloud_sso::Portal;
use super::credentials_uri::Uris;
use super::cs::Clusters;
use super::fault::Fault;
use super::imds::Imds;
use super::log::{RequestRecord, StsGrant};
use super::oauth::Site;
use super::servicemesh::Meshes;
use super::sts::Roles;

#[derive(Default)]
pub(super) struct State {
    pub accounts: Accounts,
    pub clusters: Clusters,
    pub roles: Roles,
    pub meshes: Meshes,
    pub fleets: Fleets,
    pub imds: Imds,
    pub uris: Uris,
    pub cloud_sso: Portal,
    pub oauth: Site,
    /// Every set of credentials handed out (STS, metadata service, credentials URIs).
    pub grants: Vec<StsGrant>,
    /// The private key (PEM) of every client certificate handed out, and every bearer token.
    pub cluster_credentials: Vec<String>,
    pub queued: VecDeque<(Option<Service>, Fault)>,
    pub persistent: Option<Fault>,
    pub latency: Duration,
    pub clock_offset: TimeDelta,
    pub cert_lifetime: Option<Duration>,
    pub api_expiration_offset: TimeDelta,
    /// Signature nonces seen (cs as sent, RPC prefixed with `rpc:`).
    pub nonces: HashSet<String>,
    pub log: Vec<RequestRecord>,
    /// Connections accepted whose request is not read (and logged, or refused) yet, by their
    /// accept number, with the client's address: what [`super::FakeCloud::settle`] waits for.
    pub reading: BTreeMap<u64, SocketAddr>,
    /// Accept numbers of connections read, by client address (for `settle`'s own).
    pub accepted_from: HashMap<SocketAddr, u64>,
}

pub(super) struct Shared {
    pub state: Mutex<State>,
    /// Notified whenever the log changes and when the fake stops.
    pub wake: Condvar,
    pub stopping: AtomicBool,
    pub client_ca: Authority,
    pub cluster_ca: Authority,
    pub serials: AtomicU64,
    pub started: Instant,
    /// The next connection's accept number.
    pub accepts: AtomicU64,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.lock().clock_offset
    }

    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Sleeps for `duration` (forever when None) or until the fake is dropped.
    /// Returns false when the fake is stopping.
    pub fn pause(&self, duration: Option<Duration>) -> bool {
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
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return true;
                    }
                    state = self
                        .wake
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0;
                }
            }
        }
    }

    /// Changes a logged request (and wakes whoever waits on the log).
    pub fn update(&self, seq: usize, f: impl FnOnce(&mut RequestRecord)) {
        let mut state = self.lock();
        if let Some(record) = state.log.get_mut(seq) {
            f(record);
        }
        self.wake.notify_all();
    }

    /// Remembers a cluster credential handed out (a private key PEM, a bearer token), for the
    /// leak checks.
    pub fn hand_out(&self, credential: &str) {
        self.lock().cluster_credentials.push(credential.to_string());
    }
}
