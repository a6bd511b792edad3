//! Small checks the test files share.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, TimeDelta, Utc};

use super::fake_cloud::{FakeCloud, Issued, RequestRecord};
use super::plugin::Run;

/// The one request the fake received (panics with the report if there were more or none).
#[track_caller]
pub fn only_request(fake: &FakeCloud, run: &Run) -> RequestRecord {
    let log = fake.requests();
    assert_eq!(log.len(), 1, "expected exactly one request\n{run}");
    log.into_iter().next().unwrap()
}

/// What the request was issued (panics if it was issued no kubeconfig).
#[track_caller]
pub fn issued(record: &RequestRecord) -> Issued {
    record
        .issued
        .clone()
        .unwrap_or_else(|| panic!("request #{} was issued no kubeconfig", record.seq))
}

/// `actual` is within `slack` of `expected`.
#[track_caller]
pub fn assert_close(
    actual: DateTime<Utc>,
    expected: DateTime<Utc>,
    slack: TimeDelta,
    what: &str,
    run: &Run,
) {
    assert!(
        (actual - expected).abs() <= slack,
        "{what}: {actual} is not within {slack} of {expected}\n{run}"
    );
}

/// The permission bits of a file or directory.
#[track_caller]
pub fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The request's form-body parameter `name` (panics with the report if there is none).
#[track_caller]
pub fn form<'r>(record: &'r RequestRecord, name: &str, run: &Run) -> &'r str {
    record
        .form_param(name)
        .unwrap_or_else(|| panic!("no form parameter {name}\n{run}"))
}

/// No certificate the fake issued appears in `text` (a `cache list`, a kubeconfig that runs the
/// plugin instead), in PEM, base64 or any line of its PEM body, nor any PEM block at all. (Keys
/// and secrets are the leak check's: `support::secrets`.)
#[track_caller]
pub fn assert_no_certificate(text: &str, issued: &[Issued], run: &Run) {
    assert!(!text.contains("-----BEGIN"), "PEM in the output\n{run}");
    for pem in issued.iter().filter_map(|i| i.certificate_pem.as_deref()) {
        assert!(
            !text.contains(&BASE64.encode(pem)),
            "a base64 certificate\n{run}"
        );
        for line in pem
            .lines()
            .filter(|l| l.len() >= 16 && !l.starts_with("-----"))
        {
            assert!(
                !text.contains(line),
                "a line of an issued certificate ({line}) in the output\n{run}"
            );
        }
    }
}
