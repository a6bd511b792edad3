//! Reliability: what `get-credential` does when the cloud misbehaves (`faults.rs`: throttling,
//! outages, dropped connections, an API that never answers; `outages.rs`: failure notes, so that
//! an outage is not queued through; `hostile_answers.rs`: kubeconfigs and certificates that are
//! not what they should be), when many invocations start at once or a lock holder gets stuck or
//! dies (`storms.rs`), when it is `SIGKILLed` in the middle of a refresh (`crash.rs`), when the
//! cache directory or the TLS peer are not what they should be (`security.rs`; `cache_dir.rs`:
//! the user's files beside the cache, a swapped symlink), and what the dependency tree must not
//! hold (`supply_chain.rs`).
//!
//! Every test has its own `FakeCloud`, HOME and cache directory and talks to 127.0.0.1 only.
//! Tests print what they measured (run with `--nocapture` to see it); docs/RELIABILITY.md records
//! the figures of a run. Every run is checked for leaked secrets by `Plugin::run` itself.

mod cache_dir;
mod crash;
mod faults;
mod hostile_answers;
mod outages;
mod security;
mod storms;
mod supply_chain;

use std::fs;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::cache_files::{edit_entry, entry_files, files_in, only_entry};
use crate::support::checks::mode;
use crate::support::exec_credential::{CertInfo, ExecCredential, key_matches_certificate};
use crate::support::fake_cloud::{FakeCloud, Fault, Outcome};
use crate::support::golden::assert_stderr;
use crate::support::{
    CLUSTER, CLUSTER_2, KEY_ID, KEY_SECRET, Plugin, Run, as_ram_user, cloud, get_credential,
};

/// The CN of the CA that signs every client certificate the fake issues.
const FAKE_CLIENT_CA_CN: &str = "fake-ack-client-ca";

/// `n` runs of `plugin` started together (as close to at once as threads allow), and the time
/// until the last ended.
fn at_once<'a>(plugin: &Plugin<'a>, n: usize) -> (Vec<Run<'a>>, Duration) {
    let barrier = std::sync::Barrier::new(n);
    let started = Instant::now();
    let runs = thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    plugin.run()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    (runs, started.elapsed())
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
