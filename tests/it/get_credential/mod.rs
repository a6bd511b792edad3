//! `get-credential` end to end: the real binary against the fake cloud. `fetch.rs`: what a
//! fetch sends and prints; `flags.rs`: the flags that decide which certificate is asked for;
//! `api_errors.rs` and `usage.rs`: failures; `retries.rs`; `refresh.rs`: expiry and refresh;
//! `background_refresh.rs`: refresh without waiting; `cache.rs`: the cache on disk.
//!
//! Each test starts its own `FakeCloud` and temp dirs, so they run in parallel. The fake checks
//! every request's signature itself, so a passing test also means the requests were signed right.

mod api_errors;
mod background_refresh;
mod cache;
mod fetch;
mod flags;
mod refresh;
mod retries;
mod usage;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::thread;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::support::cache_files::json_files_under;
use crate::support::checks::{assert_close, only_request};
use crate::support::exec_credential::{V1, V1BETA1};
use crate::support::fake_cloud::{
    ACTION_SUBACCOUNT_USER_CONFIG, ACTION_USER_CONFIG, FakeCloud, Fault, Outcome, RequestRecord,
};
use crate::support::golden::assert_stderr;
use crate::support::{CLUSTER, KEY_ID, KEY_SECRET, Plugin, Run, cloud, get_credential};

fn issued_not_after(record: &RequestRecord) -> (DateTime<Utc>, DateTime<Utc>) {
    let issued = record
        .issued
        .as_ref()
        .expect("the request was issued a kubeconfig");
    let api_expiration = DateTime::parse_from_rfc3339(&issued.expiration)
        .unwrap()
        .with_timezone(&Utc);
    (issued.not_after, api_expiration)
}

/// Asserts an API error was reported with its Code and RequestId after exactly one request.
fn assert_api_error_reported(fake: &FakeCloud, run: &Run, code: &str) {
    let record = only_request(fake, run);
    assert_eq!(record.outcome, Outcome::Rejected(code.to_string()), "{run}");
    assert!(
        run.stderr.contains(code),
        "stderr must name the Code {code}\n{run}"
    );
    assert!(
        run.stderr.contains(&record.request_id),
        "stderr must carry the RequestId {}\n{run}",
        record.request_id
    );
    assert_eq!(run.code(), Some(1), "API errors exit 1\n{run}");
}

/// Asserts the two logged attempts were signed afresh.
fn assert_fresh_attempts(fake: &FakeCloud, run: &Run) {
    let log = fake.requests();
    assert_eq!(
        log.len(),
        2,
        "expected one failed attempt and one retry\n{run}"
    );
    assert_ne!(
        log[0].nonce(),
        log[1].nonce(),
        "a retry needs a new nonce\n{run}"
    );
    assert_ne!(
        log[0].header("authorization"),
        log[1].header("authorization"),
        "a retry needs a new signature\n{run}"
    );
    assert_eq!(log[1].outcome, Outcome::Issued, "{run}");
}
