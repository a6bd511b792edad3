//! The per-key lock that makes two hundred cold processes one API call.
//!
//! It is an OS file lock (`flock`) on a sibling `<key>.lock` file, never on the entry itself
//! (locking the data file broke Windows for other plugins), so a holder that dies for any
//! reason, SIGKILL included, releases it. It is only taken on a miss, and nobody queues on it:
//! a waiter tries it without blocking and, between tries, re-reads the entry (and the failure
//! note) through `poll`, so when the holder is done every waiter sees its result on its next
//! look, at once, instead of passing through the lock one at a time.
//!
//! Lock files do not accumulate: the holder removes its lock file before it lets go. Removing
//! the file of a lock someone may be waiting on is only safe with a check, because `flock` locks
//! the file (the inode), not the name: a waiter that opened the file before it was removed gets
//! its lock once the holder is gone, but holds it on a file no longer in the directory, while a
//! newcomer creates a new file under the name and locks that — two holders at once. So after
//! taking the lock, a taker checks that the name still leads to the very file it locked
//! ([`CacheDir::names`]); if not, it lets go and starts again with what the name leads to now.
//! Only a holder that passed that check removes the file, and only as the last thing it does
//! under the lock; at any moment, then, at most one process holds a lock on the file the name
//! leads to, and that is the lock that counts.

use std::fs::{File, TryLockError};
use std::io;
use std::time::{Duration, Instant};

use super::CacheDir;
use crate::log::verbose;

/// Between tries, the pause starts here and doubles up to [`MAX_PAUSE`]: short enough that a
/// storm of waiters is served within milliseconds of the fetch, long enough that two hundred of
/// them re-reading a small file cost little.
const FIRST_PAUSE: Duration = Duration::from_millis(1);
const MAX_PAUSE: Duration = Duration::from_millis(20);
/// Tries in a row at a lock whose file is swapped under us before we call it busy.
const MAX_RETAKES: u32 = 100;

/// Held while fetching; released when dropped, after its file is removed (by the guard).
#[derive(Debug)]
pub(crate) struct Lock {
    /// The lock belongs to the open file.
    file: File,
    name: String,
}

impl Lock {
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The open lock file, to hand the lock to another process: the lock belongs to the open
    /// file, and stays held as long as any descriptor of it is open.
    pub(crate) fn into_file(self) -> File {
        self.file
    }

    /// Take over a lock another process took and handed down as `file`: it must be the file
    /// `name` leads to in `dir`, and locked by that open file (taking it again is then a no-op;
    /// if anyone else held it, this fails).
    pub(crate) fn adopt(dir: &CacheDir, name: &str, file: File) -> io::Result<Option<Lock>> {
        if !dir.names(name, &file)? {
            return Ok(None);
        }
        match file.try_lock() {
            Ok(()) => Ok(Some(Lock {
                file,
                name: name.to_string(),
            })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(e),
        }
    }
}

/// How a wait for the lock ended.
pub(crate) enum Acquired<T> {
    Locked(Lock),
    /// `poll` found what we were waiting for.
    Polled(T),
    /// The wait ran out: the caller goes ahead without the lock rather than hang kubectl
    /// behind a stuck process.
    TimedOut,
}

/// Take the lock file `name` in `dir`, waiting at most `timeout` for another holder and
/// calling `poll` before each try.
pub(crate) fn acquire<T>(
    dir: &CacheDir,
    name: &str,
    timeout: Duration,
    mut poll: impl FnMut() -> Option<T>,
) -> io::Result<Acquired<T>> {
    let started = Instant::now();
    let mut pause = FIRST_PAUSE;
    loop {
        if let Some(found) = poll() {
            return Ok(Acquired::Polled(found));
        }
        if let Some(lock) = try_acquire(dir, name)? {
            if started.elapsed() > Duration::from_millis(1) {
                verbose!("took the lock after {} ms", started.elapsed().as_millis());
            }
            return Ok(Acquired::Locked(lock));
        }
        let remaining = timeout.saturating_sub(started.elapsed());
        if remaining.is_zero() {
            return Ok(Acquired::TimedOut);
        }
        if pause == FIRST_PAUSE {
            verbose!("another process is fetching this credential; waiting for it");
        }
        std::thread::sleep(pause.min(remaining));
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// One try without waiting: `None` when another process holds the lock.
pub(crate) fn try_acquire(dir: &CacheDir, name: &str) -> io::Result<Option<Lock>> {
    for _ in 0..MAX_RETAKES {
        let file = dir.open_lock(name)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(None),
            Err(TryLockError::Error(e)) => return Err(e),
        }
        if dir.names(name, &file)? {
            return Ok(Some(Lock {
                file,
                name: name.to_string(),
            }));
        }
        // The holder before us removed the file after we opened it: ours is no longer the
        // lock. Let go (dropping it) and try the file the name leads to now.
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const NAME: &str = "c1-0123456789abcdef0123456789abcdef.lock";

    fn release(dir: &CacheDir, lock: Lock) {
        dir.remove(lock.name()).unwrap();
        drop(lock);
    }

    #[test]
    fn second_taker_polls_then_gives_up_and_gets_it_after_release() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = CacheDir::open_for_writing(tmp.path()).unwrap();
        let never = || None::<()>;
        let Acquired::Locked(first) = acquire(&dir, NAME, Duration::from_secs(1), never).unwrap()
        else {
            panic!("a free lock is taken")
        };
        let mut polls = 0;
        let started = Instant::now();
        let waited = acquire(&dir, NAME, Duration::from_millis(200), || {
            polls += 1;
            None::<()>
        })
        .unwrap();
        assert!(matches!(waited, Acquired::TimedOut));
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert!(polls > 10, "it polls while it waits: {polls}");
        let found = acquire(&dir, NAME, Duration::from_secs(1), || Some(7)).unwrap();
        assert!(
            matches!(found, Acquired::Polled(7)),
            "a poll that finds ends the wait"
        );
        release(&dir, first);
        let taken = acquire(&dir, NAME, Duration::from_millis(200), never).unwrap();
        assert!(matches!(taken, Acquired::Locked(_)));
    }

    #[test]
    fn removing_the_file_on_release_never_lets_two_hold_it() {
        let tmp = tempfile::tempdir().unwrap();
        let inside = AtomicUsize::new(0);
        let entered = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    // Each thread opens the directory and the lock file itself: to `flock`, as
                    // separate as processes.
                    let dir = CacheDir::open_for_writing(tmp.path()).unwrap();
                    for _ in 0..200 {
                        let Acquired::Locked(lock) =
                            acquire(&dir, NAME, Duration::from_secs(30), || None::<()>).unwrap()
                        else {
                            panic!("the wait ran out");
                        };
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders");
                        entered.fetch_add(1, Ordering::SeqCst);
                        std::thread::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                        release(&dir, lock);
                    }
                });
            }
        });
        assert_eq!(entered.load(Ordering::SeqCst), 8 * 200);
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            0,
            "no lock file is left behind"
        );
    }

    #[test]
    fn a_handed_down_lock_is_adopted_only_if_it_is_the_one_named() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = CacheDir::open_for_writing(tmp.path()).unwrap();
        let lock = try_acquire(&dir, NAME).unwrap().unwrap();
        let handed = lock.into_file().try_clone().unwrap();
        let adopted = Lock::adopt(&dir, NAME, handed).unwrap().expect("adopted");
        assert!(try_acquire(&dir, NAME).unwrap().is_none(), "still held");
        release(&dir, adopted);
        // A file that is not the lock named, or a lock someone else holds, is not adopted.
        let stray = tempfile::tempfile().unwrap();
        assert!(Lock::adopt(&dir, NAME, stray).unwrap().is_none());
        let other = try_acquire(&dir, NAME).unwrap().unwrap();
        let reopened = dir.open_lock(NAME).unwrap();
        assert!(Lock::adopt(&dir, NAME, reopened).unwrap().is_none());
        release(&dir, other);
    }
}
