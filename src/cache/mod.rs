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
//!
//! (Over 400 lines: `Cache` is the one door to the directory, and its load, lock, store, list,
//! clear and sweep share the naming rules at the end; what stands alone is in the submodules,
//! the tests in `tests.rs`.)

mod dir;
mod entry;
mod guard;
mod key;
mod lock;
mod note;

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) use dir::{CacheDir, Kind};
pub(crate) use entry::{Entry, RefreshFailure};
use guard::is_stale;
pub(crate) use guard::{Guard, Locking, View};
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
    pub(crate) fn note(&self, key: &CacheKey, route: &str) -> Option<Note> {
        let dir = self.open_to_read()?;
        View { dir: &dir, key }.note(route)
    }

    /// The directory's state, for `doctor`: looked at, never created, tightened or swept.
    pub(crate) fn health(&self) -> Health {
        let (dir, mode) = match CacheDir::inspect(&self.dir) {
            Ok(Some(found)) => found,
            Ok(None) => return Health::Missing,
            Err(why) => return Health::Refused(why),
        };
        let listing = match dir.listing() {
            Ok(listing) => listing,
            Err(e) => return Health::Refused(format!("cannot list it: {e}")),
        };
        let count = |kind: Kind| listing.own.iter().filter(|(_, k)| *k == kind).count();
        let counts = Counts {
            entries: count(Kind::Entry),
            sessions: count(Kind::Session),
            locks: count(Kind::Lock),
            notes: count(Kind::Note),
            foreign: listing.foreign.is_some(),
        };
        let open_to_others = mode & 0o077;
        if open_to_others == 0 {
            return Health::Private(counts);
        }
        let how = if mode & 0o022 == 0 {
            "read"
        } else {
            "write to"
        };
        match listing.foreign {
            Some(name) => Health::Refused(format!(
                "others can {how} it (mode {:o}) and it holds files the plugin did not create \
                 (such as `{name}`), so the plugin leaves it as it is",
                mode & 0o777
            )),
            None => Health::Loose {
                mode: mode & 0o777,
                writable: mode & 0o022 != 0,
                counts,
            },
        }
    }

    /// Every entry file in the directory (by the plugin's names only), with its entry when it
    /// can be read. Nothing when there is no directory.
    pub(crate) fn entries(&self) -> Result<Vec<(String, Option<Entry>)>, Error> {
        let Some((dir, names)) = self.own_files(Kind::Entry)? else {
            return Ok(Vec::new());
        };
        Ok(names
            .into_iter()
            .map(|name| {
                let entry = read_entry(&dir, &name).ok();
                (name, entry)
            })
            .collect())
    }

    /// The plugin's files of `kind` here, by name alone, and the directory opened to read
    /// them; `None` when there is no directory.
    fn own_files(&self, kind: Kind) -> Result<Option<(CacheDir, Vec<String>)>, Error> {
        let Some(dir) = CacheDir::open(&self.dir).map_err(|detail| self.error(detail))? else {
            return Ok(None);
        };
        let names = self
            .listing(&dir)?
            .own
            .into_iter()
            .filter(|(_, own)| *own == kind)
            .map(|(name, _)| name)
            .collect();
        Ok(Some((dir, names)))
    }

    fn listing(&self, dir: &CacheDir) -> Result<dir::Listing, Error> {
        dir.listing()
            .map_err(|e| self.error(format!("cannot list it: {e}")))
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
        let listing = self.listing(&dir)?;
        let everything = select(None);
        let mut removed = Cleared::default();
        for (name, kind) in &listing.own {
            let remove = match kind {
                // An entry that cannot be read goes with everything only when it is empty (a
                // write cut short): anything else of that name is left as it is.
                Kind::Entry => match read_entry(&dir, name) {
                    Ok(entry) => select(Some(&entry.key)),
                    Err(_) => everything && dir.read(name, 1).is_ok_and(|b| b.is_empty()),
                },
                Kind::Note => match read_note(&dir, name) {
                    Ok(note) => select(Some(&note.key)),
                    Err(_) => everything && dir.read(name, 1).is_ok_and(|b| b.is_empty()),
                },
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
        let mut names = self
            .own_files(Kind::Session)?
            .map(|(_, names)| names)
            .unwrap_or_default();
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
        mut poll: impl FnMut() -> Option<T>,
    ) -> Result<NamedLocking<T>, Error> {
        let (dir, acquired) = self.acquire(name, timeout, |_| poll())?;
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
        let (dir, acquired) =
            self.acquire(&lock_name(key), timeout, |dir| poll(&View { dir, key }))?;
        let lock = match acquired {
            Acquired::Polled(found) => return Ok(Locking::Polled(found)),
            Acquired::Locked(lock) => Some(lock),
            Acquired::TimedOut => None,
        };
        Ok(Locking::Guard(Guard { dir, key, lock }))
    }

    /// Open the directory to change it (created if need be) and take the lock file `name`
    /// ([`lock::acquire`], `poll` given the directory); the directory comes back with how the
    /// wait ended.
    fn acquire<T>(
        &self,
        name: &str,
        timeout: Duration,
        mut poll: impl FnMut(&CacheDir) -> Option<T>,
    ) -> Result<(CacheDir, Acquired<T>), Error> {
        let dir = CacheDir::open_for_writing(&self.dir).map_err(|detail| self.error(detail))?;
        let acquired = lock::acquire(&dir, name, timeout, || poll(&dir))
            .map_err(|e| self.error(format!("cannot take the lock `{name}`: {e}")))?;
        Ok((dir, acquired))
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

    /// Remove the lock file `file` holds, by the name it has now, if that is one of the
    /// plugin's lock names in this directory and still leads to it: what a [`Guard`] does when
    /// it lets go, for a refresher handed a lock whose request no longer resolves. The name is
    /// read from the descriptor (`/proc/self/fd`); the check and the removal go through the
    /// opened directory, as every other file operation here.
    pub(crate) fn remove_orphan_lock(&self, file: &File) {
        use std::os::fd::AsRawFd;
        let Ok(Some(dir)) = CacheDir::open(&self.dir) else {
            return;
        };
        let Ok(path) = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())) else {
            return;
        };
        let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
            return;
        };
        if dir::kind(name) == Some(Kind::Lock) && dir.names(name, file).unwrap_or(false) {
            let _ = dir.remove(name);
        }
    }

    fn error(&self, detail: String) -> Error {
        Error::Cache {
            path: self.dir.clone(),
            detail,
        }
    }
}

/// The cache directory as `doctor` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Health {
    /// There is none yet: the first fetch makes it.
    Missing,
    /// Ours and closed to others: used as it is.
    Private(Counts),
    /// Ours, but others can read it (`writable`: or write to it). It holds only the plugin's
    /// files, so the next fetch makes it private (and, if others could write, drops what is
    /// in it); until then, if others can write, nothing in it is read.
    Loose {
        mode: u32,
        writable: bool,
        counts: Counts,
    },
    /// It cannot be used: the reason. Every call then fetches, without caching.
    Refused(String),
}

/// What the directory holds, by the plugin's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) entries: usize,
    pub(crate) sessions: usize,
    pub(crate) locks: usize,
    pub(crate) notes: usize,
    /// Whether it holds a file the plugin did not make.
    pub(crate) foreign: bool,
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

fn read_entry(dir: &CacheDir, name: &str) -> io::Result<Entry> {
    dir.read(name, MAX_ENTRY)
        .and_then(|bytes| parse_entry(&bytes))
}

fn read_note(dir: &CacheDir, name: &str) -> io::Result<Note> {
    let bytes = dir.read(name, MAX_ENTRY)?;
    serde_json::from_slice(&bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "it is not a failure note"))
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
mod tests;
