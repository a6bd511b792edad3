//! The per-key lock that makes fifty cold processes one API call.
//!
//! It is an OS file lock (`flock` on Unix) on a sibling `<key>.lock` file, never on the entry
//! itself (locking the data file broke Windows for other plugins), so a holder that dies for
//! any reason, SIGKILL included, releases it. It is only taken on a miss.

use std::fs::{File, TryLockError};
use std::io;
use std::time::{Duration, Instant};

use super::CacheDir;
use crate::log::verbose;

/// Held while fetching; released on drop.
#[derive(Debug)]
pub(crate) struct Lock {
    _file: File,
}

/// Take the lock file `name` in `dir`, waiting at most `timeout` for another holder.
///
/// `Ok(None)` when the wait ran out: the caller goes ahead without the lock rather than hang
/// kubectl behind a stuck process.
pub(crate) fn acquire(dir: &CacheDir, name: &str, timeout: Duration) -> io::Result<Option<Lock>> {
    let file = dir.open_lock(name)?;
    let started = Instant::now();
    let mut pause = Duration::from_millis(10);
    loop {
        match file.try_lock() {
            Ok(()) => {
                if started.elapsed() > Duration::from_millis(1) {
                    verbose!("took the lock after {} ms", started.elapsed().as_millis());
                }
                return Ok(Some(Lock { _file: file }));
            }
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(e),
        }
        if started.elapsed() >= timeout {
            return Ok(None);
        }
        if pause == Duration::from_millis(10) {
            verbose!("another process is fetching this credential; waiting for it");
        }
        std::thread::sleep(pause.min(timeout.saturating_sub(started.elapsed())));
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_taker_waits_then_gives_up_and_gets_it_after_release() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = CacheDir::open_for_writing(tmp.path()).unwrap();
        let path = "c1-0123456789abcdef0123456789abcdef.lock";
        let first = acquire(&dir, path, Duration::from_secs(1))
            .unwrap()
            .unwrap();
        let started = Instant::now();
        assert!(
            acquire(&dir, path, Duration::from_millis(200))
                .unwrap()
                .is_none()
        );
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(first);
        assert!(
            acquire(&dir, path, Duration::from_millis(200))
                .unwrap()
                .is_some()
        );
    }
}
