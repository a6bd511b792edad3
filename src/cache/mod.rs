//! The on-disk credential cache: one JSON file per key in a private directory.
//!
//! - A load never creates anything and treats every problem (missing, unreadable, corrupt,
//!   another layout, another key, a directory that cannot be trusted) as a miss.
//! - A store writes a temporary file and renames it over the entry, so readers see the old
//!   entry or the new one, never half of one (not fsynced: see [`CacheDir::write`]).
//! - Every check and file operation goes through the opened directory ([`CacheDir`]), which
//!   must be ours and closed to others; only the plugin's own names are touched there.
//!   Files are opened with `O_NOFOLLOW`, so a symlink planted in the directory is not followed.
//! - Beside each entry, only for a while: its `<stem>.lock` during a fetch (removed by the holder,
//!   see `lock`), and its `<stem>.failed` note for seconds after a failed one (see `note`). So
//!   the directory holds one file per key, and one `.swept` stamp (see [`Guard::store`]).

mod dir;
mod entry;
mod key;
mod lock;
mod note;

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

pub(crate) use dir::{CacheDir, Kind};
pub(crate) use entry::{Entry, RefreshFailure};
pub(crate) use key::{CacheKey, KeyFields, KeyInput};
use lock::{Acquired, Lock};
pub(crate) use note::Note;

use crate::error::Error;
use crate::log::verbose;

/// The largest entry (or note) file we read; a real one is a few KiB.
const MAX_ENTRY: u64 = 1 << 20;
/// Stale temporary files are looked for at most this often (a writer killed mid-write is rare,
/// and a listing costs as much as the directory is large).
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

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

    /// The directory to read from, if there is one that can be trusted.
    fn open_to_read(&self) -> Option<CacheDir> {
        match CacheDir::open(&self.dir) {
            Ok(Some(dir)) => Some(dir),
            Ok(None) => {
                verbose!("no cache directory at {}", self.dir.display());
                None
            }
            Err(why) => {
                verbose!("not reading the cache {}: {why}", self.dir.display());
                None
            }
        }
    }

    /// The entry stored under `key`, if there is a sound one.
    pub(crate) fn load(&self, key: &CacheKey) -> Option<Entry> {
        let dir = self.open_to_read()?;
        View { dir: &dir, key }.load_logged()
    }

    /// The note of a fetch for `key` that failed a moment ago, if one stands.
    pub(crate) fn note(&self, key: &CacheKey) -> Option<Note> {
        let dir = self.open_to_read()?;
        View { dir: &dir, key }.note()
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
                let entry = read_entry(&dir, &name).ok();
                (name, entry)
            })
            .collect())
    }

    /// Remove the entries `select` picks by their canonical key (`None` for an entry that
    /// cannot be read), and the failure notes it picks the same way. Only the plugin's own
    /// files are looked at; anything else in the directory stays. A selection that takes even
    /// unreadable entries clears everything: then the STS sessions and stale temporary files go
    /// too, and the lock files nobody holds. How many entries and sessions were removed.
    pub(crate) fn clear(&self, select: impl Fn(Option<&str>) -> bool) -> Result<Cleared, Error> {
        let Some(dir) = CacheDir::open_to_clear(&self.dir).map_err(|detail| self.error(detail))?
        else {
            return Ok(Cleared::default());
        };
        let listing = dir
            .listing()
            .map_err(|e| self.error(format!("cannot list it: {e}")))?;
        let everything = select(None);
        let mut removed = Cleared::default();
        for (name, kind) in &listing.own {
            let remove = match kind {
                Kind::Entry => select(read_entry(&dir, name).ok().map(|e| e.key).as_deref()),
                Kind::Note => select(read_note(&dir, name).ok().map(|n| n.key).as_deref()),
                Kind::Temp => everything && is_stale(&dir, name),
                // Cached STS credentials of a credential source: cached credentials too.
                Kind::Session => everything,
                Kind::Lock if everything => {
                    // Only a lock nobody holds, taken first: see `lock`.
                    if let Ok(Some(lock)) = lock::try_acquire(&dir, name) {
                        let _ = dir.remove(lock.name());
                    }
                    false
                }
                _ => false,
            };
            if !remove {
                continue;
            }
            let gone = dir
                .remove(name)
                .map_err(|e| self.error(format!("cannot delete `{name}`: {e}")))?;
            match kind {
                Kind::Entry if gone => removed.entries += 1,
                Kind::Session if gone => removed.sessions += 1,
                _ => {}
            }
        }
        Ok(removed)
    }

    /// The contents of one of the plugin's other files here, by name (the STS session cache's
    /// `session_<hash>.json`), if the directory can be trusted and the file read: every problem
    /// is `None`, as for entries. Part of the narrow API the session cache uses.
    pub(crate) fn read_file(&self, name: &str) -> Option<Vec<u8>> {
        self.open_to_read()?.read(name, MAX_ENTRY).ok()
    }

    /// Replace one of the plugin's other files atomically (0600), creating the directory if
    /// need be.
    pub(crate) fn write_file(&self, name: &str, bytes: &[u8]) -> Result<(), Error> {
        let dir = CacheDir::open_for_writing(&self.dir).map_err(|detail| self.error(detail))?;
        dir.write(name, bytes)
            .map_err(|e| self.error(format!("cannot write `{name}`: {e}")))
    }

    /// Remove one of the plugin's other files; one that is not there is no error.
    pub(crate) fn remove_file(&self, name: &str) -> Result<(), Error> {
        let Some(dir) = CacheDir::open(&self.dir).map_err(|detail| self.error(detail))? else {
            return Ok(());
        };
        dir.remove(name)
            .map(|_| ())
            .map_err(|e| self.error(format!("cannot delete `{name}`: {e}")))
    }

    /// The names of the kept STS sessions (`session_<hash>.json`).
    pub(crate) fn session_names(&self) -> Result<Vec<String>, Error> {
        let Some(dir) = CacheDir::open(&self.dir).map_err(|detail| self.error(detail))? else {
            return Ok(Vec::new());
        };
        let listing = dir
            .listing()
            .map_err(|e| self.error(format!("cannot list it: {e}")))?;
        let mut names: Vec<String> = listing
            .own
            .into_iter()
            .filter(|(_, kind)| *kind == Kind::Session)
            .map(|(name, _)| name)
            .collect();
        names.sort();
        Ok(names)
    }

    /// Take the lock file `name` (`session_<hash>.lock`), as [`Cache::lock`] takes a key's:
    /// `poll` is called between tries and what it finds ends the wait; after `timeout` the wait
    /// ends with nothing. The lock is let go, and its file removed, when dropped.
    pub(crate) fn lock_file<T>(
        &self,
        name: &str,
        timeout: Duration,
        poll: impl FnMut() -> Option<T>,
    ) -> Result<NamedLocking<T>, Error> {
        let dir = CacheDir::open_for_writing(&self.dir).map_err(|detail| self.error(detail))?;
        let acquired = lock::acquire(&dir, name, timeout, poll)
            .map_err(|e| self.error(format!("cannot take the lock `{name}`: {e}")))?;
        Ok(match acquired {
            Acquired::Polled(found) => NamedLocking::Polled(found),
            Acquired::Locked(lock) => NamedLocking::Locked(NamedLock {
                dir,
                lock: Some(lock),
            }),
            Acquired::TimedOut => NamedLocking::TimedOut,
        })
    }

    /// Take the per-key lock, creating the directory if need be, and hand back the guard
    /// through which alone the entry can be re-read and replaced. While another process holds
    /// the lock, `poll` is called between tries with a view of the entry and its note; what it
    /// finds ends the wait ([`Locking::Polled`]). After `timeout` the guard comes without the
    /// lock ([`Guard::is_locked`]): the caller goes ahead rather than hang kubectl behind a
    /// stuck process. An error means the directory cannot be used at all.
    pub(crate) fn lock<'a, T>(
        &'a self,
        key: &'a CacheKey,
        timeout: Duration,
        mut poll: impl FnMut(&View) -> Option<T>,
    ) -> Result<Locking<'a, T>, Error> {
        let dir = CacheDir::open_for_writing(&self.dir).map_err(|detail| self.error(detail))?;
        let name = lock_name(key);
        let acquired = lock::acquire(&dir, &name, timeout, || poll(&View { dir: &dir, key }))
            .map_err(|e| self.error(format!("cannot take the lock `{name}`: {e}")))?;
        let lock = match acquired {
            Acquired::Polled(found) => return Ok(Locking::Polled(found)),
            Acquired::Locked(lock) => Some(lock),
            Acquired::TimedOut => None,
        };
        Ok(Locking::Guard(Guard { dir, key, lock }))
    }

    /// Take the per-key lock if nobody holds it, without waiting: `None` when someone does (or
    /// the directory cannot be used).
    pub(crate) fn try_lock<'a>(&'a self, key: &'a CacheKey) -> Option<Guard<'a>> {
        let dir = CacheDir::open_for_writing(&self.dir).ok()?;
        let lock = lock::try_acquire(&dir, &lock_name(key)).ok()??;
        Some(Guard {
            dir,
            key,
            lock: Some(lock),
        })
    }

    /// Take over the per-key lock another process took with [`Cache::try_lock`] and handed
    /// down as `file` ([`Guard::hand_over`]).
    pub(crate) fn adopt<'a>(&'a self, key: &'a CacheKey, file: File) -> Option<Guard<'a>> {
        let dir = CacheDir::open_for_writing(&self.dir).ok()?;
        let lock = Lock::adopt(&dir, &lock_name(key), file).ok()??;
        Some(Guard {
            dir,
            key,
            lock: Some(lock),
        })
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

fn note_name(key: &CacheKey) -> String {
    format!("{}.failed", key.stem)
}

/// What [`Cache::clear`] removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cleared {
    pub(crate) entries: usize,
    pub(crate) sessions: usize,
}

/// How a wait for a named lock ended.
pub(crate) enum NamedLocking<T> {
    Locked(NamedLock),
    Polled(T),
    TimedOut,
}

/// A lock on one of the plugin's other files, held until dropped; its file is removed first
/// (see `lock`), so lock files do not accumulate.
pub(crate) struct NamedLock {
    dir: CacheDir,
    lock: Option<Lock>,
}

impl Drop for NamedLock {
    fn drop(&mut self) {
        if let Some(lock) = self.lock.take() {
            let _ = self.dir.remove(lock.name());
        }
    }
}

/// How a wait for the lock ended: with the guard, or with what `poll` found.
pub(crate) enum Locking<'a, T> {
    Guard(Guard<'a>),
    Polled(T),
}

/// A look at one key's entry and failure note, without the lock.
pub(crate) struct View<'a> {
    dir: &'a CacheDir,
    key: &'a CacheKey,
}

impl View<'_> {
    /// The entry, if there is a sound one for this key (quietly: this is called while polling).
    pub(crate) fn load(&self) -> Option<Entry> {
        let entry = read_entry(self.dir, &entry_name(self.key)).ok()?;
        (entry.format == entry::FORMAT && entry.key == self.key.canonical).then_some(entry)
    }

    fn load_logged(&self) -> Option<Entry> {
        let path = || self.dir.path().join(entry_name(self.key));
        let entry = match read_entry(self.dir, &entry_name(self.key)) {
            Ok(entry) => entry,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                verbose!("no cached credential at {}", path().display());
                return None;
            }
            Err(e) => {
                verbose!("ignoring cache entry {}: {e}", path().display());
                return None;
            }
        };
        if entry.format != entry::FORMAT || entry.key != self.key.canonical {
            verbose!(
                "ignoring cache entry {}: it is for another key",
                path().display()
            );
            return None;
        }
        Some(entry)
    }

    /// The failure note for this key, if one stands now.
    pub(crate) fn note(&self) -> Option<Note> {
        let note = read_note(self.dir, &note_name(self.key)).ok()?;
        (note.key == self.key.canonical && note.stands(crate::time::now())).then_some(note)
    }
}

fn read_entry(dir: &CacheDir, name: &str) -> io::Result<Entry> {
    dir.read(name, MAX_ENTRY)
        .and_then(|bytes| parse_entry(&bytes))
}

fn read_note(dir: &CacheDir, name: &str) -> io::Result<Note> {
    let bytes = dir.read(name, MAX_ENTRY)?;
    serde_json::from_slice(&bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "it is not a failure note"))
}

/// The right to re-read and replace one entry, held from [`Cache::lock`] until dropped: the
/// only way to write the cache, so that no store can happen outside a miss's lock. Dropping it
/// removes the lock file, then lets go of the lock (see `lock`).
pub(crate) struct Guard<'a> {
    dir: CacheDir,
    key: &'a CacheKey,
    lock: Option<Lock>,
}

impl Guard<'_> {
    /// Whether the lock is held (else the wait for another holder ran out).
    pub(crate) fn is_locked(&self) -> bool {
        self.lock.is_some()
    }

    fn view(&self) -> View<'_> {
        View {
            dir: &self.dir,
            key: self.key,
        }
    }

    /// The entry as it is now: another process may have stored it while we waited.
    pub(crate) fn load(&self) -> Option<Entry> {
        self.view().load_logged()
    }

    /// The failure note, if one stands: another process may have failed while we waited.
    pub(crate) fn note(&self) -> Option<Note> {
        self.view().note()
    }

    /// Replace the entry atomically; a failure note it may have had is dropped.
    pub(crate) fn store(&self, entry: &Entry) -> io::Result<()> {
        self.sweep_now_and_then();
        self.dir
            .write(&entry_name(self.key), &serde_json::to_vec(entry)?)?;
        let _ = self.dir.remove(&note_name(self.key));
        Ok(())
    }

    /// Note a failed fetch for a few seconds ([`Note`]).
    pub(crate) fn store_note(&self, note: &Note) -> io::Result<()> {
        self.dir
            .write(&note_name(self.key), &serde_json::to_vec(note)?)
    }

    /// Give up the lock without removing its file or letting go of it: the returned file holds
    /// it, for another process to adopt ([`Cache::adopt`]). `None` without the lock.
    pub(crate) fn hand_over(mut self) -> Option<File> {
        self.lock.take().map(Lock::into_file)
    }

    /// Remove temporary files that a writer killed between creating and renaming them left
    /// behind, each with a credential in it — at most once every [`SWEEP_EVERY`], as the
    /// stamp file's time says, so that a miss does not list the directory. Names are looked at
    /// first: only the plugin's own temporary files are ever `stat`ed.
    fn sweep_now_and_then(&self) {
        let due = match self.dir.modified(dir::STAMP) {
            Ok(Some(at)) => at.elapsed().is_ok_and(|age| age >= SWEEP_EVERY),
            Ok(None) => true,
            Err(_) => false,
        };
        if !due {
            return;
        }
        let _ = self.dir.write(dir::STAMP, b"");
        sweep(&self.dir);
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if let Some(lock) = self.lock.take() {
            let _ = self.dir.remove(lock.name());
        }
    }
}

/// Remove the plugin's temporary files older than a minute: no live writer is that slow.
fn sweep(dir: &CacheDir) {
    let Ok(listing) = dir.listing() else {
        return;
    };
    for (name, kind) in &listing.own {
        if *kind == Kind::Temp && is_stale(dir, name) {
            verbose!("removing {}", dir.path().join(name).display());
            let _ = dir.remove(name);
        }
    }
}

fn is_stale(dir: &CacheDir, name: &str) -> bool {
    let stale = SystemTime::now() - Duration::from_secs(60);
    dir.modified(name).ok().flatten().is_some_and(|t| t < stale)
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
    use crate::exec_credential::{Status, StatusJson};
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    fn key_input() -> KeyInput<'static> {
        static IDENTITY: std::sync::LazyLock<serde_json::Value> =
            std::sync::LazyLock::new(|| serde_json::json!({"type": "access-key", "id": "LTAI1"}));
        KeyInput {
            api: "DescribeClusterUserKubeconfig",
            id: "c1",
            uid: None,
            private_ip: false,
            minutes: 180,
            endpoint: "https://cs.aliyuncs.com",
            identity: &IDENTITY,
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
            credential: StatusJson::new(&Status {
                client_certificate_data: None,
                client_key_data: None,
                token: Some("t".into()),
            }),
            refresh_failed: None,
        }
    }

    fn lock<'a>(cache: &'a Cache, key: &'a CacheKey) -> Result<Guard<'a>, Error> {
        match cache.lock(key, Duration::from_millis(100), |_| None::<()>)? {
            Locking::Guard(guard) => Ok(guard),
            Locking::Polled(()) => unreachable!("nothing is polled for"),
        }
    }

    fn store(cache: &Cache, key: &CacheKey, entry: &Entry) {
        let guard = lock(cache, key).unwrap();
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
        let lock_path = dir.path().join("cache").join(lock_name(&key));
        std::os::unix::fs::symlink(&elsewhere, &lock_path).unwrap();
        assert!(lock(&cache, &key).is_err());
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
        let guard = lock(&cache, &key).unwrap();
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
        // Within the hour since the last sweep, nothing is looked at.
        store(&cache, &key(), &entry(&key()));
        assert!(old_tmp.exists(), "swept at most once an hour");
        fs::File::options()
            .write(true)
            .open(cache.dir().join(dir::STAMP))
            .unwrap()
            .set_modified(std::time::SystemTime::now() - SWEEP_EVERY)
            .unwrap();
        store(&cache, &key(), &entry(&key()));
        assert!(!old_tmp.exists(), "a stale temporary file is swept");
        assert!(new_tmp.exists(), "a fresh one may belong to a live writer");
        assert!(foreign_tmp.exists(), "a file the plugin did not make stays");
        assert!(cache.load(&other).is_some(), "old entries stay");
    }

    #[test]
    fn misses_and_notes_leave_no_files_behind() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        let keys: Vec<CacheKey> = ["c1", "c2"]
            .iter()
            .map(|id| CacheKey::new(&KeyInput { id, ..key_input() }))
            .collect();
        let mut counts = Vec::new();
        for round in 0..20 {
            for key in &keys {
                let guard = lock(&cache, key).unwrap();
                if round % 2 == 0 {
                    guard
                        .store_note(&Note::new(
                            key.canonical.clone(),
                            "r".into(),
                            0,
                            "down".into(),
                            1,
                        ))
                        .unwrap();
                } else {
                    guard.store(&entry(key)).unwrap();
                }
            }
            counts.push(names(cache.dir()).len());
        }
        // Each kind of round leaves as many files as the same kind before it.
        assert!(
            counts[3..]
                .iter()
                .zip(&counts[1..])
                .all(|(now, before)| now == before),
            "{counts:?}"
        );
        // Two entries and the sweep stamp: no lock file, no note.
        let names = names(cache.dir());
        let kinds: Vec<_> = names.iter().map(|n| dir::kind(n)).collect();
        assert_eq!(
            kinds,
            [Some(Kind::Stamp), Some(Kind::Entry), Some(Kind::Entry)],
            "{names:?}"
        );
    }

    #[test]
    fn a_note_is_read_only_for_its_own_key_and_while_it_stands() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        let key = key();
        let now = crate::time::now();
        let guard = lock(&cache, &key).unwrap();
        guard
            .store_note(&Note::new(
                key.canonical.clone(),
                "r".into(),
                now,
                "down".into(),
                1,
            ))
            .unwrap();
        assert_eq!(cache.note(&key).unwrap().message, "down");
        guard
            .store_note(&Note::new(
                "another".into(),
                "r".into(),
                now,
                "down".into(),
                1,
            ))
            .unwrap();
        assert!(cache.note(&key).is_none(), "another key's note");
        guard
            .store_note(&Note::new(
                key.canonical.clone(),
                "r".into(),
                now - 60,
                "down".into(),
                1,
            ))
            .unwrap();
        assert!(cache.note(&key).is_none(), "a lapsed note");
        guard
            .store_note(&Note::new(
                key.canonical.clone(),
                "r".into(),
                now,
                "down".into(),
                1,
            ))
            .unwrap();
        guard.store(&entry(&key)).unwrap();
        assert!(cache.note(&key).is_none(), "a stored entry drops the note");
    }

    #[test]
    fn clear_removes_only_the_plugins_entries() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        store(&cache, &key(), &entry(&key()));
        let foreign = ["package.json", "notes.json", "c1-foo.json"];
        for name in foreign {
            fs::write(cache.dir().join(name), "{}").unwrap();
        }
        let session = "session_0123456789abcdef0123456789abcdef.json";
        CacheDir::open_for_writing(cache.dir())
            .unwrap()
            .write(session, b"{}")
            .unwrap();
        assert_eq!(cache.entries().unwrap().len(), 1);
        assert_eq!(
            cache.clear(|_| true).unwrap(),
            Cleared {
                entries: 1,
                sessions: 1
            }
        );
        assert!(
            !cache.dir().join(session).exists(),
            "clearing all drops STS sessions"
        );
        assert_eq!(
            names(cache.dir()).len(),
            foreign.len() + 1,
            "the sweep stamp stays"
        );
        assert!(cache.load(&key()).is_none());
        for foreign in ["package.json", "notes.json", "c1-foo.json"] {
            assert!(cache.dir().join(foreign).exists(), "{foreign}");
        }
    }

    #[test]
    fn session_files_live_beside_entries_through_the_narrow_api() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        let name = "session_0123456789abcdef0123456789abcdef.json";
        assert!(cache.read_file(name).is_none());
        cache.write_file(name, b"{}").unwrap();
        assert_eq!(cache.read_file(name).unwrap(), b"{}");
        let mode = fs::metadata(cache.dir().join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        store(&cache, &key(), &entry(&key()));
        assert_eq!(cache.entries().unwrap().len(), 1, "a session is no entry");
        assert_eq!(cache.session_names().unwrap(), [name]);
        // Only the plugin's own names.
        for bad in ["../x.json", "package.json", "session_xyz.json"] {
            assert!(cache.write_file(bad, b"{}").is_err(), "{bad}");
            assert!(cache.read_file(bad).is_none(), "{bad}");
        }
        let lock = "session_0123456789abcdef0123456789abcdef.lock";
        let held = cache
            .lock_file(lock, Duration::from_millis(10), || None::<()>)
            .unwrap();
        assert!(matches!(held, NamedLocking::Locked(_)));
        assert!(matches!(
            cache
                .lock_file(lock, Duration::from_millis(10), || None::<()>)
                .unwrap(),
            NamedLocking::TimedOut
        ));
        assert!(matches!(
            cache
                .lock_file(lock, Duration::from_millis(10), || Some(7))
                .unwrap(),
            NamedLocking::Polled(7)
        ));
        drop(held);
        assert!(
            !cache.dir().join(lock).exists(),
            "the holder removes its lock file"
        );
        cache.remove_file(name).unwrap();
        cache.remove_file(name).unwrap();
        assert!(cache.read_file(name).is_none());
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
        let owner = if rustix::process::geteuid().is_root() {
            65534
        } else {
            0
        };
        assert_eq!(
            CacheDir::open(&foreign).unwrap_err(),
            format!("it belongs to another user (uid {owner})")
        );
        let error = lock(&cache, &key()).err().unwrap();
        assert!(error.to_string().contains("another user"), "{error}");
    }
}
