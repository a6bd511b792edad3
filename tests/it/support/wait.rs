//! Waiting for a condition instead of sleeping for a guessed time.
//!
//! Conditions on the fake's log wait on the log itself ([`super::FakeCloud::wait_for`]); this
//! polls conditions nothing notifies about (a file appearing or changing).

use std::thread;
use std::time::{Duration, Instant};

/// Checks `done` every millisecond until it holds; panics with `what` after `limit` (a bound
/// only a hang reaches).
pub fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < limit,
            "gave up after {limit:?} waiting until {what}"
        );
        thread::sleep(Duration::from_millis(1));
    }
}
