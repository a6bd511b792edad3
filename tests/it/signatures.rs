//! Which signature scheme goes out: V3 (ACS3-HMAC-SHA256, the official SDKs' default) unless
//! `ACK_SIGNATURE_VERSION=v2`. `Plugin::run` checks every request of every test against the
//! scheme its environment asks for; these tests pin a whole role-then-cluster fetch in each.

use crate::support::fake_cloud::{ACTION_ASSUME_ROLE, ACTION_USER_CONFIG};
use crate::support::golden::assert_stderr;
use crate::support::{cloud, get_credential};

const ROLE: &str = "acs:ram::1234567890123456:role/signed";

fn signatures_of_a_role_fetch(version: Option<&str>) -> Vec<(String, Option<&'static str>)> {
    let (fake, me) = cloud();
    fake.add_role(ROLE);
    fake.allow_assume(ROLE, &me);
    let mut plugin = get_credential(&fake)
        .args(["--role-arn", ROLE])
        .env("ACK_STS_ENDPOINT", fake.sts_endpoint());
    if let Some(version) = version {
        plugin = plugin.env("ACK_SIGNATURE_VERSION", version);
    }
    plugin.run_ok();
    fake.requests()
        .iter()
        .map(|r| (r.action.clone().unwrap_or_default(), r.signature_version()))
        .collect()
}

#[test]
fn every_call_is_signed_with_v3_by_default() {
    assert_eq!(
        signatures_of_a_role_fetch(None),
        [
            (ACTION_ASSUME_ROLE.to_string(), Some("v3")),
            (ACTION_USER_CONFIG.to_string(), Some("v3")),
        ]
    );
    assert_eq!(
        signatures_of_a_role_fetch(Some("V3")),
        signatures_of_a_role_fetch(None)
    );
}

#[test]
fn signature_version_v2_signs_every_call_with_hmac_sha1() {
    assert_eq!(
        signatures_of_a_role_fetch(Some("v2")),
        [
            (ACTION_ASSUME_ROLE.to_string(), Some("v2")),
            (ACTION_USER_CONFIG.to_string(), Some("v2")),
        ]
    );
}

#[test]
fn an_unknown_signature_version_is_a_usage_error() {
    let (fake, _) = cloud();
    let run = get_credential(&fake)
        .env("ACK_SIGNATURE_VERSION", "v1")
        .run_exit(2);
    assert_stderr(
        &run,
        r#"
ack-credential-plugin: error: ACK_SIGNATURE_VERSION="v1" is not a signature version: use v3 (ACS3-HMAC-SHA256) or v2 (HMAC-SHA1)"#,
    );
    assert_eq!(fake.count(), 0);
}
