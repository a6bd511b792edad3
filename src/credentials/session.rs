//! STS credentials kept between runs, so that a miss on a second cluster with the same role
//! costs one API call (the cluster's), not two (AssumeRole, then the cluster's).
//!
//! Every source that yields temporary credentials with an expiry (RAM roles, chained roles,
//! OIDC/RRSA, CloudSSO, OAuth, an External command's STS token, `--role-arn`) is wrapped in a
//! [`Kept`]: on a miss it first looks for `session_<hash>.json` in the cache directory, keyed
//! by the source's full [`Identity`] (the hash names the file; the identity itself is stored and
//! compared in full). Credentials are reused until 5 minutes before they expire, and dropped as
//! soon as a call made with them is refused ([`Provider::forget_session`]). A cache hit never
//! gets here: it needs no credentials at all.
//!
//! The files are written through the cache module's narrow API ([`Cache::write_file`] and its
//! siblings: the opened cache directory's checks, 0600, atomic replace, only the plugin's own
//! names) and listed and removed by `cache list` and `cache clear`. A `session_<hash>.lock`,
//! taken only while a session is fetched, makes concurrent misses for different clusters (k9s
//! opening several at once) share one call: the waiters read the kept session as soon as it
//! is written.

use std::cell::Cell;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Identity, Provider};
use crate::aliyun::{Client, Credentials};
use crate::cache::{Cache, NamedLocking};
use crate::error::Error;
use crate::log::verbose;
use crate::secret::Secret;

/// Kept credentials are used until this long before they expire.
pub(crate) const REUSE_MARGIN: i64 = 5 * 60;
/// The file layout; a file of another layout is ignored.
const FORMAT: u32 = 1;
/// Every session file's name starts with this (the cache module knows the names it may touch:
/// `session_<hash>.json` and its `session_<hash>.lock`).
/// An underscore, which no cluster, mesh or fleet id may hold, so that no entry of a target
/// called `session` can be taken for a session file.
pub(crate) const PREFIX: &str = "session_";
/// The longest wait for another process fetching the same session, at most half what is
/// left of the fetch budget.
const MAX_LOCK_WAIT: Duration = Duration::from_secs(10);

/// Where sessions are kept, and whether they may be read (not with `--force-refresh`, which
/// asks for everything afresh; what it gets is kept all the same).
#[derive(Clone)]
pub(crate) struct SessionStore {
    dir: PathBuf,
    read: bool,
}

impl SessionStore {
    /// No I/O: the directory is only touched on a miss.
    pub(crate) fn new(dir: PathBuf, read: bool) -> Self {
        SessionStore { dir, read }
    }

    fn cache(&self) -> Cache {
        Cache::new(self.dir.clone())
    }
}

/// One kept session, as stored. Secret: the file is 0600 in the private cache directory.
#[derive(Serialize, Deserialize)]
pub(crate) struct Stored {
    pub(crate) format: u32,
    /// The source's identity, compared in full on every read.
    pub(crate) identity: Value,
    pub(crate) access_key_id: String,
    access_key_secret: String,
    security_token: String,
    /// Unix seconds.
    pub(crate) expiration: i64,
}

impl Stored {
    /// Whether the session is good for a while yet at `now`: more than [`REUSE_MARGIN`]
    /// before it expires, so that a call made with it does not outlive it.
    pub(crate) fn is_reusable(&self, now: i64) -> bool {
        self.expiration - REUSE_MARGIN > now
    }
}

/// The file name for `identity`'s session.
pub(crate) fn file_name(identity: &Identity) -> String {
    format!(
        "{PREFIX}{}.json",
        crate::digest::name_hash(&identity.canonical())
    )
}

/// Read a session file, whatever its identity (`cache list`). `None` if it is not one.
pub(crate) fn parse(bytes: &[u8]) -> Option<Stored> {
    serde_json::from_slice::<Stored>(bytes)
        .ok()
        .filter(|s| s.format == FORMAT)
}

/// Wrap `provider` so that its sessions are kept, when there is a store.
pub(crate) fn kept(store: Option<&SessionStore>, provider: Box<dyn Provider>) -> Box<dyn Provider> {
    match store {
        Some(store) => Box::new(Kept {
            inner: provider,
            store: store.clone(),
            from_file: Cell::new(false),
            file_refused: Cell::new(false),
        }),
        None => provider,
    }
}

/// A source whose temporary credentials are kept between runs.
pub(crate) struct Kept {
    inner: Box<dyn Provider>,
    store: SessionStore,
    /// The last credentials handed out came from the file.
    from_file: Cell<bool>,
    /// They were refused: do not read the file again in this run.
    file_refused: Cell<bool>,
}

impl Kept {
    /// The kept session for `identity`, if there is one that is good for a while yet.
    fn read(&self, cache: &Cache, name: &str, identity: &Identity) -> Option<Credentials> {
        if !self.store.read || self.file_refused.get() {
            return None;
        }
        let stored = parse(&cache.read_file(name)?)?;
        if &stored.identity != identity.value() || !stored.is_reusable(crate::time::now()) {
            return None;
        }
        Some(Credentials {
            access_key_id: stored.access_key_id,
            access_key_secret: Secret::new(stored.access_key_secret),
            security_token: Some(Secret::new(stored.security_token)),
            expiration: Some(stored.expiration),
        })
    }

    /// [`Kept::read`], saying under `-v` that the session is used.
    fn load(&self, cache: &Cache, name: &str, identity: &Identity) -> Option<Credentials> {
        let credentials = self.read(cache, name, identity)?;
        verbose!(
            "using the STS session kept in {name}, valid until {}",
            crate::time::rfc3339(credentials.expiration.unwrap_or(0))
        );
        Some(credentials)
    }

    /// Keep `credentials` if they are temporary and say when they expire; a failure only
    /// costs a later miss a call.
    fn save(cache: &Cache, name: &str, identity: &Identity, credentials: &Credentials) {
        let (Some(token), Some(expiration)) = (&credentials.security_token, credentials.expiration)
        else {
            return;
        };
        let stored = Stored {
            format: FORMAT,
            identity: identity.value().clone(),
            access_key_id: credentials.access_key_id.clone(),
            access_key_secret: credentials.access_key_secret.expose().to_string(),
            security_token: token.expose().to_string(),
            expiration,
        };
        if !stored.is_reusable(crate::time::now()) {
            return;
        }
        let written = serde_json::to_vec(&stored)
            .map_err(|e| e.to_string())
            .and_then(|bytes| cache.write_file(name, &bytes).map_err(|e| e.to_string()));
        match written {
            Ok(()) => verbose!("kept the STS session in {name}"),
            Err(e) => verbose!("could not keep the STS session in {name}: {e}"),
        }
    }
}

impl Provider for Kept {
    fn identity(&self) -> Identity {
        self.inner.identity()
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn region(&self) -> Option<&str> {
        self.inner.region()
    }

    fn credentials(&self, client: &Client) -> Result<Credentials, Error> {
        let identity = self.inner.identity();
        let name = file_name(&identity);
        let cache = self.store.cache();
        self.from_file.set(false);
        if let Some(credentials) = self.load(&cache, &name, &identity) {
            self.from_file.set(true);
            return Ok(credentials);
        }
        // Another process may be fetching this very session (another cluster's miss): wait for
        // it, looking for what it keeps meanwhile. A cache directory that cannot be used is no
        // reason to fail.
        let lock_name = format!("{}.lock", name.trim_end_matches(".json"));
        let wait = (client.remaining() / 2).min(MAX_LOCK_WAIT);
        let _lock = match cache.lock_file(&lock_name, wait, || self.read(&cache, &name, &identity))
        {
            Ok(NamedLocking::Polled(credentials)) => {
                verbose!("another process kept the STS session in {name} meanwhile");
                self.from_file.set(true);
                return Ok(credentials);
            }
            Ok(NamedLocking::Locked(lock)) => Some(lock),
            Ok(NamedLocking::TimedOut) => None,
            Err(e) => {
                verbose!("not keeping STS sessions: {e}");
                None
            }
        };
        // It may have been kept just before the lock was ours.
        if let Some(credentials) = self.load(&cache, &name, &identity) {
            self.from_file.set(true);
            return Ok(credentials);
        }
        let credentials = self.inner.credentials(client)?;
        Self::save(&cache, &name, &identity, &credentials);
        Ok(credentials)
    }

    fn forget_session(&self) -> bool {
        if !self.from_file.replace(false) {
            return self.inner.forget_session();
        }
        self.file_refused.set(true);
        let name = file_name(&self.inner.identity());
        if let Err(e) = self.store.cache().remove_file(&name) {
            verbose!("could not remove {name}: {e}");
        }
        verbose!("dropped the refused STS session in {name}");
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    use crate::aliyun::client::ClientOptions;

    /// A source that counts its fetches and hands out STS keys expiring at `expires_in`.
    struct Counting {
        fetches: Rc<RefCell<u32>>,
        expires_in: i64,
        identity: Identity,
    }

    impl Provider for Counting {
        fn identity(&self) -> Identity {
            self.identity.clone()
        }
        fn describe(&self) -> String {
            "counting".into()
        }
        fn credentials(&self, _client: &Client) -> Result<Credentials, Error> {
            *self.fetches.borrow_mut() += 1;
            let n = *self.fetches.borrow();
            Ok(Credentials {
                access_key_id: format!("STS.{n}"),
                access_key_secret: Secret::new("s"),
                security_token: Some(Secret::new("t")),
                expiration: Some(crate::time::now() + self.expires_in),
            })
        }
    }

    fn counting(
        dir: &std::path::Path,
        expires_in: i64,
        read: bool,
    ) -> (Box<dyn Provider>, Rc<RefCell<u32>>) {
        let fetches = Rc::new(RefCell::new(0));
        let source = Counting {
            fetches: fetches.clone(),
            expires_in,
            identity: Identity::access_key("LTAIsession"),
        };
        let store = SessionStore::new(dir.to_path_buf(), read);
        (kept(Some(&store), Box::new(source)), fetches)
    }

    #[test]
    fn a_session_is_reused_across_runs_until_shortly_before_it_expires() {
        let dir = tempfile::tempdir().unwrap();
        let client = Client::new(Duration::from_secs(5), &ClientOptions::default());
        let (first, fetches) = counting(dir.path(), 3600, true);
        assert_eq!(first.credentials(&client).unwrap().access_key_id, "STS.1");
        // A later run: same identity, same file.
        let (second, again) = counting(dir.path(), 3600, true);
        assert_eq!(second.credentials(&client).unwrap().access_key_id, "STS.1");
        assert_eq!((*fetches.borrow(), *again.borrow()), (1, 0));
        let name = file_name(&Identity::access_key("LTAIsession"));
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.path().join(&name))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);

        // Within five minutes of its expiry it is not used (nor kept in the first place).
        let other = tempfile::tempdir().unwrap();
        let (short, fetches) = counting(other.path(), REUSE_MARGIN - 1, true);
        short.credentials(&client).unwrap();
        short.credentials(&client).unwrap();
        assert_eq!(*fetches.borrow(), 2);
        assert!(!other.path().join(&name).exists());
    }

    #[test]
    fn a_refused_session_is_dropped_and_force_refresh_does_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let client = Client::new(Duration::from_secs(5), &ClientOptions::default());
        let (first, _) = counting(dir.path(), 3600, true);
        first.credentials(&client).unwrap();
        let (second, fetches) = counting(dir.path(), 3600, true);
        second.credentials(&client).unwrap();
        assert!(second.forget_session(), "it served a kept session");
        assert_eq!(second.credentials(&client).unwrap().access_key_id, "STS.1");
        assert_eq!(*fetches.borrow(), 1, "fetched anew after the refusal");
        assert!(
            !second.forget_session(),
            "fresh credentials: nothing to drop"
        );

        let (forced, fetches) = counting(dir.path(), 3600, false);
        forced.credentials(&client).unwrap();
        assert_eq!(*fetches.borrow(), 1, "--force-refresh fetches");
    }

    #[test]
    fn a_file_for_another_identity_is_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let client = Client::new(Duration::from_secs(5), &ClientOptions::default());
        let (first, _) = counting(dir.path(), 3600, true);
        first.credentials(&client).unwrap();
        // Move the file to the name another identity would use.
        let name = file_name(&Identity::access_key("LTAIsession"));
        let other = Identity::access_key("LTAIother");
        std::fs::rename(dir.path().join(&name), dir.path().join(file_name(&other))).unwrap();
        let fetches = Rc::new(RefCell::new(0));
        let source = Counting {
            fetches: fetches.clone(),
            expires_in: 3600,
            identity: other,
        };
        let store = SessionStore::new(dir.path().to_path_buf(), true);
        kept(Some(&store), Box::new(source))
            .credentials(&client)
            .unwrap();
        assert_eq!(*fetches.borrow(), 1);
    }
}
