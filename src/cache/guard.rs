//! A miss's hold on one key: a [`View`] of the entry and its failure note without the lock, and
//! the [`Guard`] taken with it, through which alone the entry is re-read and replaced.

use std::fs::File;
use std::io;
use std::time::{Duration, SystemTime};

use super::dir::{self, CacheDir, Kind};
use super::lock::Lock;
use super::{
    CacheKey, Entry, Note, SWEEP_EVERY, entry, entry_name, note_name, read_entry, read_note,
};
use crate::log::verbose;

/// How a wait for the lock ended: with the guard, or with what `poll` found.
pub(crate) enum Locking<'a, T> {
    Guard(Guard<'a>),
    Polled(T),
}

/// Why there is no sound entry for a key.
enum Unsound {
    Missing,
    Unreadable(io::Error),
    /// Another layout, or another key's (a hash that met ours, or a file put there).
    OtherKey,
}

/// A look at one key's entry and failure note, without the lock.
pub(crate) struct View<'a> {
    pub(super) dir: &'a CacheDir,
    pub(super) key: &'a CacheKey,
}

impl View<'_> {
    /// The entry, if there is a sound one for this key (quietly: this is called while polling).
    pub(crate) fn load(&self) -> Option<Entry> {
        self.read().ok()
    }

    /// As [`View::load`], saying (with `--verbose`) why there is none.
    pub(super) fn load_logged(&self) -> Option<Entry> {
        let path = || self.dir.path().join(entry_name(self.key));
        match self.read() {
            Ok(entry) => return Some(entry),
            Err(Unsound::Missing) => verbose!("no cached credential at {}", path().display()),
            Err(Unsound::Unreadable(e)) => {
                verbose!("ignoring cache entry {}: {e}", path().display());
            }
            Err(Unsound::OtherKey) => verbose!(
                "ignoring cache entry {}: it is for another key",
                path().display()
            ),
        }
        None
    }

    fn read(&self) -> Result<Entry, Unsound> {
        let entry = read_entry(self.dir, &entry_name(self.key)).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => Unsound::Missing,
            _ => Unsound::Unreadable(e),
        })?;
        if entry.format != entry::FORMAT || entry.key != self.key.canonical {
            return Err(Unsound::OtherKey);
        }
        Ok(entry)
    }

    /// The failure note for this key along `route` (see [`Note`]), if one stands now.
    pub(crate) fn note(&self, route: &str) -> Option<Note> {
        let note = read_note(self.dir, &note_name(self.key)).ok()?;
        (note.key == self.key.canonical && note.route == route && note.stands(crate::time::now()))
            .then_some(note)
    }
}

/// The right to re-read and replace one entry, held from [`Cache::lock`] until dropped: the
/// only way to write the cache, so that no store can happen outside a miss's lock. Dropping it
/// removes the lock file, then lets go of the lock (see `lock`).
pub(crate) struct Guard<'a> {
    pub(super) dir: CacheDir,
    pub(super) key: &'a CacheKey,
    pub(super) lock: Option<Lock>,
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
    pub(crate) fn note(&self, route: &str) -> Option<Note> {
        self.view().note(route)
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
pub(super) fn sweep(dir: &CacheDir) {
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

pub(super) fn is_stale(dir: &CacheDir, name: &str) -> bool {
    let stale = SystemTime::now() - Duration::from_secs(60);
    dir.modified(name).ok().flatten().is_some_and(|t| t < stale)
}
