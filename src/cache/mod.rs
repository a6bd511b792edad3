//! The on-disk credential cache: one JSON file per key in a private directory.
//!
//! - A load never creates anything and treats every problem (missing, unreadable, corrupt,
//!   another layout, another key, a directory that cannot be trusted) as a miss.
//! - A store writes a temporary file, fsyncs it and renames it over the entry, so readers see
//!   the old entry or the new one, never half of one.
//! - Every check and file operation goes through the opened directory ([`CacheDir`]), which
//!   must be ours and closed to others; only the plugin's own names are touched there.
//!   Files are opened with `O_NOFOLLOW`, so a symlink planted in the directory is not followed.

mod dir;
mod entry;
mod key;
mod lock;

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) use dir::{CacheDir, Kind};
pub(crate) use entry::Entry;
pub(crate) use key::{CacheKey, KeyFields, KeyInput};
use lock::Lock;

use crate::error::Error;
use crate::log::verbose;

/// The largest entry file we read; a real one is a few KiB.
const MAX_ENTRY: u64 = 1 << 20;

pub(crate) struct Cache {
    dir: PathBuf,
}

impl Cache {
    pub(crate) fn new(dir: PathBuf) -> Self {
        Cache { dir }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn entry_path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(entry_name(key))
    }

    /// The entry stored under `key`, if there is a sound one.
    pub(crate) fn load(&self, key: &CacheKey) -> Option<Entry> {
        let dir = match CacheDir::open(&self.dir) {
            Ok(Some(dir)) => dir,
            Ok(None) => {
                verbose!("no cache directory at {}", self.dir.display());
                return None;
            }
            Err(why) => {
                verbose!("not reading the cache {}: {why}", self.dir.display());
                return None;
            }
        };
        load_from(&dir, key)
    }

    /// Every entry file in the directory (by the plugin's names only), with its entry when it
    /// can be read. Nothing when there is no directory.
    pub(crate) fn entries(&self) -> Result<Vec<(String, Option<Entry>)>, Error> {
        let Some(dir) = CacheDir::open(&self.dir).map_err(|detail| self.error(detail))? else {
            return Ok(Vec::new());
        };
        let listing = dir
            .listing()
            .map_err(|e| self.error(format!("cannot list it: {e}")))?;
        Ok(listing
            .own
            .into_iter()
            .filter(|(_, kind)| *kind == Kind::Entry)
            .map(|(name, _)| {
                let entry = dir
                    .read(&name, MAX_ENTRY)
                    .and_then(|bytes| parse_entry(&bytes))
                    .ok();
                (name, entry)
            })
            .collect())
    }

    /// Remove the entries `select` picks (by the entry, `None` when it cannot be read), and
    /// with them their failure notes. Only the plugin's own files are looked at; anything else
    /// in the directory stays. The number removed.
    pub(crate) fn clear(&self, select: impl Fn(Option<&Entry>) -> bool) -> Result<usize, Error> {
        let Some(dir) = CacheDir::open_to_clear(&self.dir).map_err(|detail| self.error(detail))?
        else {
            return Ok(0);
        };
        let listing = dir
            .listing()
            .map_err(|e| self.error(format!("cannot list it: {e}")))?;
        let mut removed = 0;
        for (name, kind) in &listing.own {
            if *kind != Kind::Entry {
                continue;
            }
            let entry = dir
                .read(name, MAX_ENTRY)
                .and_then(|bytes| parse_entry(&bytes))
                .ok();
            if !select(entry.as_ref()) {
                continue;
            }
            if dir
                .remove(name)
                .map_err(|e| self.error(format!("cannot delete `{name}`: {e}")))?
            {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Take the per-key lock, creating the directory if need be, and hand back the guard
    /// through which alone the entry can be re-read and replaced. After `timeout` the guard
    /// comes without the lock ([`Guard::is_locked`]): the caller goes ahead rather than hang
    /// kubectl behind a stuck process. An error means the directory cannot be used at all.
    pub(crate) fn lock<'a>(
        &'a self,
        key: &'a CacheKey,
        timeout: Duration,
    ) -> Result<Guard<'a>, Error> {
        let dir = CacheDir::open_for_writing(&self.dir).map_err(|detail| self.error(detail))?;
        let name = lock_name(key);
        let lock = lock::acquire(&dir, &name, timeout)
            .map_err(|e| self.error(format!("cannot take the lock `{name}`: {e}")))?;
        Ok(Guard { dir, key, lock })
    }

    fn error(&self, detail: String) -> Error {
        Error::Cache {
            path: self.dir.clone(),
            detail,
        }
    }
}

fn entry_name(key: &CacheKey) -> String {
    format!("{}.json", key.stem)
}

fn lock_name(key: &CacheKey) -> String {
    format!("{}.lock", key.stem)
}

fn load_from(dir: &CacheDir, key: &CacheKey) -> Option<Entry> {
    let name = entry_name(key);
    let entry = match dir
        .read(&name, MAX_ENTRY)
        .and_then(|bytes| parse_entry(&bytes))
    {
        Ok(entry) => entry,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            verbose!(
                "no cached credential at {}",
                dir.path().join(&name).display()
            );
            return None;
        }
        Err(e) => {
            verbose!(
                "ignoring cache entry {}: {e}",
                dir.path().join(&name).display()
            );
            return None;
        }
    };
    if entry.format != entry::FORMAT || entry.key != key.canonical {
        verbose!(
            "ignoring cache entry {}: it is for another key",
            dir.path().join(&name).display()
        );
        return None;
    }
    Some(entry)
}

/// The right to re-read and replace one entry, held from [`Cache::lock`] until dropped: the
/// only way to write the cache, so that no store can happen outside a miss's lock.
pub(crate) struct Guard<'a> {
    dir: CacheDir,
    key: &'a CacheKey,
    /// Held, not read: dropping the guard releases it.
    lock: Option<Lock>,
}

impl Guard<'_> {
    /// Whether the lock is held (else the wait for another holder ran out).
    pub(crate) fn is_locked(&self) -> bool {
        self.lock.is_some()
    }

    /// The entry as it is now: another process may have stored it while we waited.
    pub(crate) fn load(&self) -> Option<Entry> {
        load_from(&self.dir, self.key)
    }

    /// Replace the entry atomically.
    pub(crate) fn store(&self, entry: &Entry) -> io::Result<()> {
        sweep(&self.dir);
        self.dir
            .write(&entry_name(self.key), &serde_json::to_vec(entry)?)
    }
}

/// Remove temporary files that a writer killed between creating and renaming them left behind,
/// each with a credential in it. A minute on, no live writer still owns one. Names are looked
/// at first: only the plugin's temporary files are ever `stat`ed.
fn sweep(dir: &CacheDir) {
    let Ok(listing) = dir.listing() else {
        return;
    };
    let stale = std::time::SystemTime::now() - Duration::from_secs(60);
    for (name, kind) in &listing.own {
        if *kind == Kind::Temp && dir.modified(name).ok().flatten().is_some_and(|t| t < stale) {
            verbose!("removing {}", dir.path().join(name).display());
            let _ = dir.remove(name);
        }
    }
}

/// An entry file's contents. `serde_json`'s messages give a position, never the content, for
/// syntax errors; a wrong shape would quote a value, so then say only that.
pub(crate) fn parse_entry(text: &[u8]) -> io::Result<Entry> {
    serde_json::from_slice(text).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            if e.is_data() {
                "it does not have the expected fields".to_string()
            } else {
                format!("it is not valid JSON ({e})")
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec_credential::Status;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    fn key_input() -> KeyInput<'static> {
        KeyInput {
            api: "DescribeClusterUserKubeconfig",
            id: "c1",
            uid: None,
            private_ip: false,
            minutes: 180,
            endpoint: "https://cs.aliyuncs.com",
            identity: "access-key:LTAI1",
        }
    }

    fn key() -> CacheKey {
        CacheKey::new(&key_input())
    }

    fn entry(key: &CacheKey) -> Entry {
        Entry {
            format: entry::FORMAT,
            key: key.canonical.clone(),
            fetched_at: 1,
            not_after: 3,
            refresh_at: 2,
            credential: Status {
                client_certificate_data: None,
                client_key_data: None,
                token: Some("t".into()),
            },
        }
    }

    fn store(cache: &Cache, key: &CacheKey, entry: &Entry) {
        let guard = cache.lock(key, Duration::from_secs(1)).unwrap();
        assert!(guard.is_locked());
        guard.store(entry).unwrap();
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn stores_and_loads_privately() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("a/b"));
        let key = key();
        assert!(cache.load(&key).is_none());
        store(&cache, &key, &entry(&key));
        assert_eq!(cache.load(&key), Some(entry(&key)));
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("a/b")), 0o700);
        assert_eq!(mode(&cache.entry_path(&key)), 0o600);
        let temporary = |n: &String| Path::new(n).extension().is_some_and(|e| e == "tmp");
        assert!(
            !names(&dir.path().join("a/b")).iter().any(temporary),
            "no temporary files left behind"
        );
    }

    #[test]
    fn corrupt_or_foreign_entries_are_misses() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let key = key();
        for junk in ["", "{", "null", "{\"format\":1}", "[1,2]"] {
            fs::write(cache.entry_path(&key), junk).unwrap();
            assert!(cache.load(&key).is_none(), "{junk:?}");
        }
        let mut other = entry(&key);
        other.key = "another".into();
        store(&cache, &key, &other);
        assert!(cache.load(&key).is_none());
        let mut future = entry(&key);
        future.format = 99;
        store(&cache, &key, &future);
        assert!(cache.load(&key).is_none());
    }

    #[test]
    fn planted_symlinks_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        let key = key();
        let elsewhere = dir.path().join("elsewhere.json");
        fs::write(&elsewhere, serde_json::to_vec(&entry(&key)).unwrap()).unwrap();
        fs::create_dir(cache.dir()).unwrap();
        fs::set_permissions(cache.dir(), fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::symlink(&elsewhere, cache.entry_path(&key)).unwrap();
        assert!(cache.load(&key).is_none());
        let lock = dir.path().join("cache").join(lock_name(&key));
        std::os::unix::fs::symlink(&elsewhere, &lock).unwrap();
        assert!(cache.lock(&key, Duration::from_millis(10)).is_err());
    }

    #[test]
    fn loose_directory_permissions_are_distrusted_then_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        store(&cache, &key(), &entry(&key()));
        fs::set_permissions(cache.dir(), fs::Permissions::from_mode(0o777)).unwrap();
        assert!(
            cache.load(&key()).is_none(),
            "a world-writable directory is not trusted"
        );
        // Taking the lock makes it private again and drops what might have been planted.
        let key = key();
        let guard = cache.lock(&key, Duration::from_millis(10)).unwrap();
        assert_eq!(
            fs::metadata(cache.dir()).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert!(
            cache.load(&key).is_none(),
            "nothing from the open time survives"
        );
        guard.store(&entry(&key)).unwrap();
        assert!(cache.load(&key).is_some());
    }

    #[test]
    fn stale_temporary_files_are_swept_but_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        let other = CacheKey::new(&KeyInput {
            id: "c2",
            ..key_input()
        });
        store(&cache, &other, &entry(&other));
        let old_tmp = cache
            .dir()
            .join(format!(".{}.123.456.tmp", entry_name(&key())));
        let new_tmp = cache
            .dir()
            .join(format!(".{}.123.789.tmp", entry_name(&key())));
        let foreign_tmp = cache.dir().join(".package.json.1.2.tmp");
        for path in [&old_tmp, &new_tmp, &foreign_tmp] {
            fs::write(path, "half").unwrap();
        }
        let old = std::time::SystemTime::now() - Duration::from_secs(600);
        let age = |path: &Path| {
            fs::File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(old)
                .unwrap();
        };
        age(&old_tmp);
        age(&foreign_tmp);
        age(&cache.entry_path(&other));
        store(&cache, &key(), &entry(&key()));
        assert!(!old_tmp.exists(), "a stale temporary file is swept");
        assert!(new_tmp.exists(), "a fresh one may belong to a live writer");
        assert!(foreign_tmp.exists(), "a file the plugin did not make stays");
        assert!(cache.load(&other).is_some(), "old entries stay");
    }

    #[test]
    fn clear_removes_only_the_plugins_entries() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        store(&cache, &key(), &entry(&key()));
        for foreign in ["package.json", "notes.json", "c1-foo.json"] {
            fs::write(cache.dir().join(foreign), "{}").unwrap();
        }
        assert_eq!(cache.entries().unwrap().len(), 1);
        assert_eq!(cache.clear(|_| true).unwrap(), 1);
        assert!(cache.load(&key()).is_none());
        for foreign in ["package.json", "notes.json", "c1-foo.json"] {
            assert!(cache.dir().join(foreign).exists(), "{foreign}");
        }
    }

    #[test]
    fn a_directory_of_another_user_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        // As root, hand a directory to `nobody`; as anyone else, `/` already belongs to root.
        let foreign = if rustix::process::geteuid().is_root() {
            let path = dir.path().join("foreign");
            fs::create_dir(&path).unwrap();
            std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
            path
        } else {
            PathBuf::from("/")
        };
        let cache = Cache::new(foreign.clone());
        assert!(
            CacheDir::open(&foreign)
                .unwrap_err()
                .contains("another user")
        );
        let error = cache.lock(&key(), Duration::from_millis(10)).err().unwrap();
        assert!(error.to_string().contains("another user"), "{error}");
    }
}
