//! The whole message of every main error path, as users see it on stderr: one test per path,
//! the expected text inline, so a reviewer reads here what the plugin says when it fails. The
//! parts that change from run to run (`RequestIds`, ports, temporary paths, times) are masked by
//! `support::golden` (its docs list the masks); everything else must match to the byte.
//!
//! `credentials.rs`: finding the caller's identity; `api.rs`: the API says no; `network.rs`:
//! the API cannot be reached or keeps failing; `local.rs`: bad flags, variables and directories.

mod api;
mod credentials;
mod local;
mod network;

use serde_json::json;

use crate::support::checks::only_request;
use crate::support::fake_cloud::{FakeCloud, Fault, Outcome};
use crate::support::golden::assert_stderr;
use crate::support::{CLUSTER, KEY_ID, Plugin, Run, cloud, get_credential};

/// The fake got one request and refused it with `code`: an error a retry cannot fix is not
/// retried.
#[track_caller]
fn assert_refused_once(fake: &FakeCloud, run: &Run, code: &str) {
    let record = only_request(fake, run);
    assert_eq!(record.outcome, Outcome::Rejected(code.into()), "{run}");
}
