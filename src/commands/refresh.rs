//! Background refresh: a call that finds its certificate inside the refresh window, but valid
//! for a while yet, prints it at once and leaves the fetch to a detached refresher, so kubectl
//! (and k9s, Lens) never wait on the API after the first fetch. The next call finds the new
//! certificate.
//!
//! The refresher is this binary again, with the same arguments and environment plus the hidden
//! `--refresh-in-background`. One per key, and under the key's lock the whole time: the call
//! takes the lock without waiting (if another process holds it, a fetch is already under way and
//! nothing is started) and hands it down as the child's stdin — the lock belongs to the open
//! file, which the child then holds — so no second refresher can start between the call's exit
//! and the child's start. The child:
//! - starts a session of its own (`setsid`), so a hang-up or Ctrl-C for kubectl's terminal does
//!   not reach it;
//! - keeps the lock on a close-on-exec descriptor of its own and puts `/dev/null` on stdin;
//!   stdout and stderr are `/dev/null` from the start, so kubectl's pipes close when the call
//!   exits. It inherits no other descriptor of the plugin's (every file the plugin opens is
//!   close-on-exec); descriptors kubectl itself leaves inheritable would pass, but Go opens
//!   everything close-on-exec and hands a plugin only its three standard streams. (`unsafe` is
//!   forbidden here, and closing a descriptor by number needs it.)
//! - fetches within the fetch budget (`ACK_API_TIMEOUT`) and stores the entry; on failure it
//!   marks the cached entry (`cache list` shows it) and leaves a failure note for a few
//!   seconds, after which the next call starts another refresher.
//! - when it dies, SIGKILL included, the lock goes with it and the cache stays as it was (every
//!   write is atomic).

use std::fs::File;
use std::process::{Command, Stdio};

use super::request::CredentialRequest;
use crate::cache::Cache;
use crate::config::GetCredentialConfig;
use crate::env::Env;
use crate::error::Error;
use crate::log::verbose;

/// The hidden flag that makes a `get-credential` process the refresher.
const REFRESHER_FLAG: &str = "--refresh-in-background";

/// Start the detached refresher for `request`'s key, unless a refresh of it failed a moment ago
/// (along `route`) or a fetch of it is already under way. Never fails the call: the certificate
/// has been printed, and the next call tries again.
pub(crate) fn start(request: &CredentialRequest, route: &str) {
    if let Some(note) = request.note(route) {
        verbose!(
            "a refresh failed {} s ago; the next is started after {}",
            crate::time::now() - note.at,
            crate::time::rfc3339(note.until)
        );
        return;
    }
    let Some(guard) = request.try_lock() else {
        verbose!("a refresh is already under way");
        return;
    };
    let Some(lock) = guard.hand_over() else {
        return;
    };
    // A second descriptor of the same open file holds the lock too: if the refresher cannot be
    // started, the lock is taken back through it and let go as a miss lets go of it (its file
    // removed first).
    let kept = lock.try_clone();
    let spawned = std::env::current_exe().and_then(|exe| {
        Command::new(exe)
            .args(std::env::args_os().skip(1))
            .arg(REFRESHER_FLAG)
            .stdin(Stdio::from(lock))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
    });
    // Not waited for: when this process exits the refresher is handed to init.
    match spawned {
        Ok(child) => verbose!("refreshing in the background (process {})", child.id()),
        Err(e) => {
            verbose!("could not start the background refresh: {e}");
            if let Ok(kept) = kept {
                drop(request.adopt(kept));
            }
        }
    }
}

/// The refresher itself (`--refresh-in-background`): see the module's doc. Whatever happens is
/// recorded in the cache; there is nobody to tell.
pub(crate) fn run(config: &GetCredentialConfig, env: &Env) -> Result<(), Error> {
    let lock = detach().map_err(|e| Error::Setup(format!("cannot detach: {e}")))?;
    let settings = &config.settings;
    // A background refresh may use kept STS sessions: it is no `--force-refresh`.
    let request = match CredentialRequest::resolve(settings, env, false) {
        Ok(request) => request,
        Err(error) => {
            // The caller resolved the same arguments a moment ago; if a file changed meanwhile,
            // still leave no lock file behind.
            Cache::new(settings.cache_dir.clone()).remove_orphan_lock(&lock);
            return Err(error);
        }
    };
    let Some(miss) = request.adopt(lock) else {
        verbose!("not started with the key's lock: nothing to do");
        return Ok(());
    };
    // The way this fetch goes, taken before it (an OAuth fetch rewrites config.json, which the
    // route covers): a failure is noted along the route callers compute before theirs.
    let route = request.route(settings, env);
    let now = crate::time::now();
    let cached = miss.reload();
    if cached.as_ref().is_some_and(|entry| entry.is_fresh(now)) {
        verbose!("already refreshed");
        return Ok(());
    }
    match miss.fetch(settings, settings.access.api_timeout) {
        Ok(fetched) => miss.store(&fetched.entry),
        Err(error) => {
            let kept = cached.filter(|entry| entry.is_usable(crate::time::now()));
            miss.record_failure(&error, route, kept.as_ref(), true);
        }
    }
    Ok(())
}

/// Leave kubectl's session, and swap stdin (the key's lock, handed down) for `/dev/null`,
/// keeping the lock on a close-on-exec descriptor: the returned file.
fn detach() -> std::io::Result<File> {
    // Fails only for a process group leader, which a spawned child is not.
    let _ = rustix::process::setsid();
    let lock = rustix::io::fcntl_dupfd_cloexec(std::io::stdin(), 3)?;
    rustix::stdio::dup2_stdin(File::open("/dev/null")?)?;
    Ok(File::from(lock))
}
