//! Small checks the test files share.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

use super::fake_cloud::{FakeCloud, Issued, RequestRecord, Service};
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

/// An RPC call (ASM, adcp): the service it is routed to, its `Action` and its `Version`.
pub struct RpcCall<'a> {
    pub service: Service,
    pub action: &'a str,
    pub version: &'a str,
}

/// `record` is `call` signed with V3 as the plugin sends it: `POST /` with nothing in the
/// query, the action and version in `x-acs-action` and `x-acs-version`, an `x-acs-date` within
/// a minute of now, `Authorization` naming `key_id`, and a form body of exactly the call's own
/// parameters `form_names`, in that order.
#[track_caller]
pub fn assert_v3_rpc_post(
    record: &RequestRecord,
    call: &RpcCall,
    key_id: &str,
    form_names: &[&str],
    run: &Run,
) {
    assert_eq!(record.service, call.service, "{run}");
    assert_eq!(
        (record.method.as_str(), record.path.as_str()),
        ("POST", "/")
    );
    assert!(record.query.is_empty(), "{run}");
    assert_eq!(record.signature_version(), Some("v3"), "{run}");
    let header = |name: &str| record.header(name).unwrap_or_default();
    assert_eq!(header("x-acs-action"), call.action);
    assert_eq!(header("x-acs-version"), call.version);
    let at = NaiveDateTime::parse_from_str(header("x-acs-date"), "%Y-%m-%dT%H:%M:%SZ")
        .unwrap_or_else(|e| panic!("x-acs-date: {e}\n{run}"))
        .and_utc();
    assert_close(at, Utc::now(), TimeDelta::minutes(1), "x-acs-date", run);
    assert!(
        header("authorization").starts_with(&format!("ACS3-HMAC-SHA256 Credential={key_id},")),
        "{run}"
    );
    // The body holds the call's own parameters only: the rest is in signed headers.
    let names: Vec<&str> = record.form.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, form_names, "{run}");
}

/// `record` is `call` signed with V2 as the plugin sends it: nothing in the query, and in the
/// form body the `Action`, `Version`, `Format=JSON`, `AccessKeyId` `key_id`,
/// `SignatureMethod=HMAC-SHA1` and a `Signature`.
#[track_caller]
pub fn assert_v2_rpc_form(record: &RequestRecord, call: &RpcCall, key_id: &str, run: &Run) {
    assert_eq!(record.service, call.service, "{run}");
    assert!(
        record.query.is_empty(),
        "every parameter belongs in the form body\n{run}"
    );
    assert_eq!(form(record, "Action", run), call.action);
    assert_eq!(form(record, "Version", run), call.version);
    assert_eq!(form(record, "Format", run), "JSON");
    assert_eq!(form(record, "AccessKeyId", run), key_id);
    assert_eq!(form(record, "SignatureMethod", run), "HMAC-SHA1");
    assert!(!form(record, "Signature", run).is_empty(), "{run}");
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
