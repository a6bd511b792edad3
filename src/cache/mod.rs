//! The on-disk credential cache: one JSON file per key in a private directory.
//!
//! - A load never creates anything and treats every problem (missing, unreadable, corrupt,
//!   another layout, another key) as a miss.
//! - A store writes a temporary file, fsyncs it and renames it over the entry, so readers see
//!   the old entry or the new one, never half of one.
//! - The directory is 0700 and files 0600; files are opened with `O_NOFOLLOW`, so a symlink
//!   planted in the directory is not followed.

mod entry;
mod key;
mod lock;

use std::fs::{self, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) use entry::Entry;
pub(crate) use key::{CacheKey, KeyFields, KeyInput};
use lock::Lock;

use crate::error::Error;
use crate::fsutil;
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
        self.dir.join(format!("{}.json", key.stem))
    }

    /// The entry stored under `key`, if there is a sound one.
    pub(crate) fn load(&self, key: &CacheKey) -> Option<Entry> {
        let path = self.entry_path(key);
        if let Err(why) = self.check_dir() {
            verbose!("not reading the cache: {why}");
            return None;
        }
        let entry = match read_entry(&path) {
            Ok(entry) => entry,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                verbose!("no cached credential at {}", path.display());
                return None;
            }
            Err(e) => {
                verbose!("ignoring cache entry {}: {e}", path.display());
                return None;
            }
        };
        if entry.format != entry::FORMAT || entry.key != key.canonical {
            verbose!(
                "ignoring cache entry {}: it is for another key",
                path.display()
            );
            return None;
        }
        Some(entry)
    }

    /// Every entry file in the directory, with its entry when it can be read.
    pub(crate) fn entries(&self) -> io::Result<Vec<(PathBuf, Option<Entry>)>> {
        let listing = match fs::read_dir(&self.dir) {
            Ok(listing) => listing,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut entries = Vec::new();
        for item in listing {
            let path = item?.path();
            let is_entry = path.extension().is_some_and(|e| e == "json")
                && !path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if is_entry {
                let entry = read_entry(&path).ok();
                entries.push((path, entry));
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(entries)
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
        self.ensure_dir()?;
        let path = self.dir.join(format!("{}.lock", key.stem));
        let lock = lock::acquire(&path, timeout).map_err(|e| Error::Cache {
            path,
            detail: format!("cannot take the lock: {e}"),
        })?;
        Ok(Guard {
            cache: self,
            key,
            lock,
        })
    }

    /// Replace the entry under `key` atomically.
    fn store(&self, key: &CacheKey, entry: &Entry) -> io::Result<()> {
        self.ensure_dir().map_err(io::Error::other)?;
        // A writer killed between creating its temporary file and renaming it leaves the file
        // behind, a credential in it. A minute on, no live writer still owns one.
        let stale = std::time::SystemTime::now() - Duration::from_secs(60);
        self.remove_files(|name, m| {
            name.starts_with('.') && name.ends_with(".tmp") && m.modified().is_ok_and(|t| t < stale)
        });
        fsutil::write_atomic(&self.entry_path(key), &serde_json::to_vec(entry)?)
    }

    /// Whether entries here can be trusted: the directory must be ours and closed to others,
    /// or someone else could plant a certificate for us to hand to kubectl. Checked on every
    /// load (one `stat`); [`Cache::ensure_dir`] repairs the permissions on the next store.
    fn check_dir(&self) -> Result<(), String> {
        let metadata = match fs::metadata(&self.dir) {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e.to_string()),
        };
        if metadata.uid() != rustix::process::geteuid().as_raw() {
            return Err(format!(
                "{} belongs to another user (uid {})",
                self.dir.display(),
                metadata.uid()
            ));
        }
        if metadata.permissions().mode() & 0o022 != 0 {
            return Err(format!(
                "others can write to {}; it is made private on the next fetch",
                self.dir.display()
            ));
        }
        Ok(())
    }

    /// Create the directory (0700), refuse one of another user, tighten one that others can
    /// read or write.
    fn ensure_dir(&self) -> Result<(), Error> {
        let fail = |detail: String| Error::Cache {
            path: self.dir.clone(),
            detail,
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|e| fail(format!("cannot create it: {e}")))?;
        let metadata = fs::metadata(&self.dir).map_err(|e| fail(e.to_string()))?;
        if !metadata.is_dir() {
            return Err(fail("it is not a directory".to_string()));
        }
        if metadata.uid() != rustix::process::geteuid().as_raw() {
            return Err(fail(format!(
                "it belongs to another user (uid {}), who could plant credentials in it",
                metadata.uid()
            )));
        }
        let mode = metadata.permissions().mode();
        if mode & 0o077 != 0 {
            verbose!("tightening {} to 0700", self.dir.display());
            fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700)).map_err(|e| {
                fail(format!(
                    "others can read it and it cannot be made private: {e}"
                ))
            })?;
        }
        if mode & 0o022 != 0 {
            // Others could write here: whatever is in it may have been planted. Now that it is
            // private again, start from nothing rather than trust it.
            self.remove_files(|name, _| name.ends_with(".json") || name.ends_with(".tmp"));
        }
        Ok(())
    }

    /// Delete the files `select` picks by name and metadata. Errors are ignored: a file left
    /// behind is a miss at worst.
    fn remove_files(&self, select: impl Fn(&str, &fs::Metadata) -> bool) {
        let Ok(listing) = fs::read_dir(&self.dir) else {
            return;
        };
        for item in listing.flatten() {
            let path = item.path();
            let name = item.file_name();
            let name = name.to_string_lossy();
            if item.metadata().is_ok_and(|m| select(&name, &m)) {
                verbose!("removing {}", path.display());
                let _ = fs::remove_file(&path);
            }
        }
    }
}

/// The right to re-read and replace one entry, held from [`Cache::lock`] until dropped: the
/// only way to write the cache, so that no store can happen outside a miss's lock.
pub(crate) struct Guard<'a> {
    cache: &'a Cache,
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
        self.cache.load(self.key)
    }

    /// Replace the entry atomically.
    pub(crate) fn store(&self, entry: &Entry) -> io::Result<()> {
        self.cache.store(self.key, entry)
    }
}

fn read_entry(path: &Path) -> io::Result<Entry> {
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    let size = file.metadata()?.len();
    if size > MAX_ENTRY {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "it is too large",
        ));
    }
    // One read of the known size (plus one to see the end), not a series of growing ones.
    let mut text = Vec::with_capacity(usize::try_from(size).unwrap_or(0) + 1);
    (&mut file).take(MAX_ENTRY).read_to_end(&mut text)?;
    parse_entry(&text)
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

    #[test]
    fn stores_and_loads_privately() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("a/b"));
        let key = key();
        assert!(cache.load(&key).is_none());
        cache.store(&key, &entry(&key)).unwrap();
        assert_eq!(cache.load(&key), Some(entry(&key)));
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("a/b")), 0o700);
        assert_eq!(mode(&cache.entry_path(&key)), 0o600);
        let names: Vec<_> = fs::read_dir(dir.path().join("a/b")).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary files left behind");
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
        cache.store(&key, &other).unwrap();
        assert!(cache.load(&key).is_none());
        let mut future = entry(&key);
        future.format = 99;
        cache.store(&key, &future).unwrap();
        assert!(cache.load(&key).is_none());
    }

    #[test]
    fn planted_symlinks_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        let key = key();
        let elsewhere = dir.path().join("elsewhere.json");
        fs::write(&elsewhere, serde_json::to_vec(&entry(&key)).unwrap()).unwrap();
        cache.ensure_dir().unwrap();
        std::os::unix::fs::symlink(&elsewhere, cache.entry_path(&key)).unwrap();
        assert!(cache.load(&key).is_none());
        let lock = dir.path().join("cache").join(format!("{}.lock", key.stem));
        std::os::unix::fs::symlink(&elsewhere, &lock).unwrap();
        assert!(cache.lock(&key, Duration::from_millis(10)).is_err());
    }

    #[test]
    fn loose_directory_permissions_are_distrusted_then_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        cache.store(&key(), &entry(&key())).unwrap();
        fs::set_permissions(cache.dir(), fs::Permissions::from_mode(0o777)).unwrap();
        assert!(
            cache.load(&key()).is_none(),
            "a world-writable directory is not trusted"
        );
        // Taking the lock makes it private again and drops what might have been planted.
        let _lock = cache.lock(&key(), Duration::from_millis(10)).unwrap();
        assert_eq!(
            fs::metadata(cache.dir()).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert!(
            cache.load(&key()).is_none(),
            "nothing from the open time survives"
        );
        cache.store(&key(), &entry(&key())).unwrap();
        assert!(cache.load(&key()).is_some());
    }

    #[test]
    fn stale_temporary_files_are_swept_but_entries_kept() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        let other = CacheKey::new(&KeyInput {
            id: "c2",
            ..key_input()
        });
        cache.store(&other, &entry(&other)).unwrap();
        let old_tmp = cache.dir().join(".c1-x.1.2.tmp");
        let new_tmp = cache.dir().join(".c1-x.3.4.tmp");
        fs::write(&old_tmp, "half").unwrap();
        fs::write(&new_tmp, "half").unwrap();
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
        age(&cache.entry_path(&other));
        cache.store(&key(), &entry(&key())).unwrap();
        assert!(!old_tmp.exists(), "a stale temporary file is swept");
        assert!(new_tmp.exists(), "a fresh one may belong to a live writer");
        assert!(cache.load(&other).is_some(), "old entries stay");
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
        let cache = Cache::new(foreign);
        assert!(cache.check_dir().unwrap_err().contains("another user"));
        let error = cache.lock(&key(), Duration::from_millis(10)).err().unwrap();
        assert!(error.to_string().contains("another user"), "{error}");
    }
}
