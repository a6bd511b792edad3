//! kubectl's kubeconfig lock: before it changes any kubeconfig, kubectl (client-go's
//! `clientcmd.ModifyConfig`) creates `<file>.lock` with `O_CREAT|O_EXCL` for every file of its
//! list, in sorted order, and removes them when done. It does not wait: a lock that exists makes
//! it fail ("open ....lock: file exists"). We take the same locks in the same order, so neither
//! side loses the other's changes, but wait for them (briefly: kubectl holds them for
//! milliseconds), so that many of our merges started at once all land.

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::log::verbose;

/// How long to wait for a lock someone else holds before giving up.
pub(crate) const WAIT: Duration = Duration::from_secs(5);
/// How often to look again while waiting.
const POLL: Duration = Duration::from_millis(10);

/// The lock files taken; dropping this removes them (on every way out: success, error, or a
/// panic that unwinds).
#[derive(Debug)]
pub(crate) struct Locks {
    held: Vec<PathBuf>,
}

/// kubectl's lock file for `file`: its path with `.lock` appended.
fn lock_name(file: &Path) -> PathBuf {
    let mut name = OsString::from(file.as_os_str());
    name.push(".lock");
    PathBuf::from(name)
}

impl Locks {
    /// Takes the lock of every file in `files`, in kubectl's order (byte order of the paths as
    /// given, so both sides take them in the same order and cannot deadlock), creating a file's
    /// directory first as kubectl does. Waits up to `wait` in all for locks held by others.
    ///
    /// # Errors
    /// When a lock is still held after `wait`, or cannot be created: the file whose lock it is,
    /// and why. The locks already taken are removed.
    pub(crate) fn acquire(files: &[PathBuf], wait: Duration) -> Result<Locks, (PathBuf, String)> {
        let mut files: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
        files.sort_by(|a, b| {
            a.as_os_str()
                .as_encoded_bytes()
                .cmp(b.as_os_str().as_encoded_bytes())
        });
        files.dedup();
        let deadline = Instant::now() + wait;
        let mut locks = Locks { held: Vec::new() };
        for file in files {
            let lock = lock_name(file);
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty())
                && !dir.exists()
            {
                fs::create_dir_all(dir).map_err(|e| {
                    (
                        file.to_path_buf(),
                        format!("cannot create its directory {}: {e}", dir.display()),
                    )
                })?;
            }
            let mut waiting = false;
            loop {
                match OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .custom_flags(libc::O_CLOEXEC)
                    .open(&lock)
                {
                    Ok(_) => break,
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        if Instant::now() >= deadline {
                            return Err((
                                file.to_path_buf(),
                                format!(
                                    "its lock file {lock} is still there after {secs} s: kubectl \
                                     or another ack-credential-plugin is changing it. If neither \
                                     is running, the lock was left behind: remove {lock} and try \
                                     again",
                                    lock = lock.display(),
                                    secs = wait.as_secs()
                                ),
                            ));
                        }
                        if !waiting {
                            verbose!("waiting for {} to go away", lock.display());
                            waiting = true;
                        }
                        std::thread::sleep(POLL);
                    }
                    Err(e) => {
                        return Err((
                            file.to_path_buf(),
                            format!("cannot create its lock file {}: {e}", lock.display()),
                        ));
                    }
                }
            }
            locks.held.push(lock);
        }
        Ok(locks)
    }
}

impl Drop for Locks {
    fn drop(&mut self) {
        for lock in &self.held {
            let _ = fs::remove_file(lock);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_are_kubectls_files_taken_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("sub/b");
        let locks = Locks::acquire(&[b.clone(), a.clone(), a.clone()], WAIT).unwrap();
        assert!(dir.path().join("a.lock").exists());
        assert!(dir.path().join("sub/b.lock").exists());
        assert_eq!(locks.held, [lock_name(&a), lock_name(&b)]);
        // Held: a second taker waits, then gives up with a message naming the lock.
        let started = Instant::now();
        let (file, error) =
            Locks::acquire(std::slice::from_ref(&a), Duration::from_millis(50)).unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert_eq!(file, a);
        assert_eq!(
            error,
            format!(
                "its lock file {} is still there after 0 s: kubectl or another \
                 ack-credential-plugin is changing it. If neither is running, the lock was left \
                 behind: remove {} and try again",
                lock_name(&a).display(),
                lock_name(&a).display()
            )
        );
        drop(locks);
        assert!(!dir.path().join("a.lock").exists());
        assert!(!dir.path().join("sub/b.lock").exists());
        // A failure part way releases what was taken.
        fs::write(lock_name(&b), "").unwrap();
        assert!(Locks::acquire(&[a.clone(), b.clone()], Duration::ZERO).is_err());
        assert!(!lock_name(&a).exists());
        assert!(
            lock_name(&b).exists(),
            "someone else's lock is never removed"
        );
    }
}
