//! Hostile or broken answers from the API are bounded and never cached: a kubeconfig nested
//! deep enough to make the YAML parser spin, a certificate that does not belong to its key, one
//! not valid yet or no longer, and one whose NotBefore is backdated to stretch its lifetime
//! (PRODUCT.md, "Hostile answers are bounded").

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, TimeDelta, Utc};

use crate::support::fake_cloud::{FakeCloud, Fault};
use crate::support::plugin::{Plugin, Run};

const CLUSTER: &str = "c9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d";
const KEY_ID: &str = "LTAI5tIssuedAnswerKey01";
const KEY_SECRET: &str = "issuedAnswerSecretIssuedAnswer01";

fn cloud() -> FakeCloud {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults(CLUSTER);
    fake.add_access_key(KEY_ID, KEY_SECRET);
    fake
}

fn get_credential(fake: &FakeCloud) -> Plugin<'_> {
    Plugin::new(fake).access_key(KEY_ID, KEY_SECRET).args([
        "get-credential",
        "--cluster-id",
        CLUSTER,
    ])
}

/// A cs answer (HTTP 200) holding `kubeconfig`.
fn answer(kubeconfig: &str, expiration: DateTime<Utc>) -> Fault {
    Fault::Respond {
        status: 200,
        headers: Vec::new(),
        body: serde_json::json!({
            "config": kubeconfig,
            "expiration": expiration.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        })
        .to_string(),
    }
}

/// An ACK-style kubeconfig whose user holds this certificate and key.
fn kubeconfig(certificate: &str, key: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://192.0.2.1:6443\n  \
         name: kubernetes\ncontexts:\n- context:\n    cluster: kubernetes\n    user: \"2761\"\n  \
         name: 2761-c\ncurrent-context: 2761-c\nusers:\n- name: \"2761\"\n  user:\n    \
         client-certificate-data: {}\n    client-key-data: {}\n",
        BASE64.encode(certificate),
        BASE64.encode(key)
    )
}

/// A self-signed certificate valid over these times, with its own fresh P-256 key (PKCS#8).
fn certificate(not_before: DateTime<Utc>, not_after: DateTime<Utc>) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "2761");
    let at = |t: DateTime<Utc>| {
        rcgen::date_time_ymd(1970, 1, 1)
            + Duration::from_secs(u64::try_from(t.timestamp()).unwrap())
    };
    params.not_before = at(not_before);
    params.not_after = at(not_after);
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// What the plugin says of an answer it cannot use: `detail`, and the RequestId the fake gave
/// its last answer.
fn unusable(fake: &FakeCloud, detail: &str) -> String {
    let request_id = fake.last_request().unwrap().request_id;
    format!(
        "ack-credential-plugin: error: DescribeClusterUserKubeconfig returned an answer that \
         cannot be used: {detail} (RequestId: {request_id})\n\
         hint: try again; if it persists, report it with the RequestId\n"
    )
}

fn assert_nothing_cached(dir: &Path, run: &Run) {
    let entries: Vec<_> = std::fs::read_dir(dir)
        .map(|listing| {
            listing
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|n| Path::new(n).extension().is_some_and(|e| e == "json"))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        entries,
        Vec::<String>::new(),
        "nothing may be cached\n{run}"
    );
}

/// One failing call against `fault`; then a second, which must ask the API again.
fn refused(fault: Fault, detail: &str) {
    let fake = cloud();
    fake.fail_next(2, fault);
    let plugin = get_credential(&fake);
    let run = plugin.run_exit(1);
    assert_eq!(run.stderr, unusable(&fake, detail), "{run}");
    assert!(!run.stderr.contains("PRIVATE KEY"), "{run}");
    assert_nothing_cached(plugin.cache_path(), &run);
    let again = plugin.run_exit(1);
    assert_eq!(
        fake.count(),
        2,
        "nothing was cached, so the API is asked again\n{again}"
    );
}

#[test]
fn a_deeply_nested_kubeconfig_fails_at_once() {
    let now = Utc::now();
    // 200 KB of `[`: the YAML parser took a minute of CPU on this, holding the cache lock.
    let nested = format!("apiVersion: v1\nusers: {}", "[".repeat(200_000));
    let fake = cloud();
    fake.fail_next(1, answer(&nested, now + TimeDelta::hours(3)));
    let plugin = get_credential(&fake);
    let run = plugin.run_exit(1);
    assert_eq!(
        run.stderr,
        unusable(
            &fake,
            "the kubeconfig opens more than 64 flow collections (`[`, `{`)"
        ),
        "{run}"
    );
    // A generous bound that only parsing the document would exceed (it took 63 s).
    assert!(run.elapsed < Duration::from_secs(10), "{run}");
    assert_nothing_cached(plugin.cache_path(), &run);

    // Near the API's body cap: 4 MiB of block nesting.
    let deep = format!(
        "apiVersion: v1\nusers:\n{}x\n",
        "- ".repeat((2 << 20) - 4096)
    );
    fake.fail_next(1, answer(&deep, now + TimeDelta::hours(3)));
    let run = plugin.run_exit(1);
    assert!(
        run.stderr.starts_with(
            "ack-credential-plugin: error: DescribeClusterUserKubeconfig returned an answer that \
             cannot be used: "
        ),
        "{run}"
    );
    assert!(run.elapsed < Duration::from_secs(10), "{run}");
    assert_nothing_cached(plugin.cache_path(), &run);
}

#[test]
fn a_certificate_that_does_not_belong_to_its_key_is_an_error_and_not_cached() {
    let now = Utc::now();
    let (certificate, _) = certificate(now - TimeDelta::minutes(1), now + TimeDelta::hours(3));
    let (_, other_key) = certificate_pair_key();
    refused(
        answer(
            &kubeconfig(&certificate, &other_key),
            now + TimeDelta::hours(3),
        ),
        "the client certificate was not issued for the private key that came with it \
         (their public keys differ)",
    );
}

/// A key that belongs to no certificate in the answer.
fn certificate_pair_key() -> (String, String) {
    let now = Utc::now();
    certificate(now, now + TimeDelta::hours(1))
}

#[test]
fn a_certificate_not_valid_yet_is_an_error_and_not_cached() {
    let now = Utc::now();
    let not_before = now + TimeDelta::hours(1);
    let (certificate, key) = certificate(not_before, now + TimeDelta::hours(4));
    let fake = cloud();
    fake.fail_next(
        2,
        answer(&kubeconfig(&certificate, &key), now + TimeDelta::hours(4)),
    );
    let plugin = get_credential(&fake);
    let run = plugin.run_exit(1);
    let prefix = unusable(
        &fake,
        &format!(
            "the certificate the API returned is valid only from {}, and this machine's clock \
         reads ",
            not_before.format("%Y-%m-%dT%H:%M:%SZ")
        ),
    );
    let prefix = prefix.split(" (RequestId").next().unwrap();
    assert!(run.stderr.starts_with(prefix), "{run}");
    assert!(
        run.stderr
            .contains(": if the clock is wrong, correct it (RequestId: "),
        "{run}"
    );
    assert_nothing_cached(plugin.cache_path(), &run);
    plugin.run_exit(1);
    assert_eq!(fake.count(), 2);
}

#[test]
fn an_expired_certificate_is_an_error_and_not_cached() {
    let now = Utc::now();
    let not_after = now - TimeDelta::minutes(5);
    let (certificate, key) = certificate(now - TimeDelta::hours(3), not_after);
    let fake = cloud();
    fake.fail_next(2, answer(&kubeconfig(&certificate, &key), not_after));
    let plugin = get_credential(&fake);
    let run = plugin.run_exit(1);
    let prefix = format!(
        "ack-credential-plugin: error: DescribeClusterUserKubeconfig returned an answer that \
         cannot be used: the credential the API returned expired at {}, and this machine's \
         clock reads ",
        not_after.format("%Y-%m-%dT%H:%M:%SZ")
    );
    assert!(run.stderr.starts_with(&prefix), "{run}");
    assert_nothing_cached(plugin.cache_path(), &run);
    plugin.run_exit(1);
    assert_eq!(fake.count(), 2);
}

/// A NotBefore a month back made the refresh window (a fifth of NotAfter − NotBefore) six
/// days wide: every call was inside it, and every call a miss.
#[test]
fn a_backdated_not_before_does_not_make_every_call_a_miss() {
    let now = Utc::now();
    let (certificate, key) = certificate(now - TimeDelta::days(30), now + TimeDelta::hours(3));
    let fake = cloud();
    fake.fail_next(
        1,
        answer(&kubeconfig(&certificate, &key), now + TimeDelta::hours(3)),
    );
    let plugin = get_credential(&fake)
        .allow_secrets_in_output("the key printed is the test's own, in the crafted answer");
    let first = plugin.run_ok();
    assert_eq!(
        first.credential().client_certificate_data.as_deref(),
        Some(certificate.as_str())
    );
    // Printed expiry: the refresh point, a fifth of the three hours left before NotAfter.
    let expiry = first.credential().expiration();
    let expected = now + TimeDelta::hours(3) - TimeDelta::minutes(36);
    assert!(
        (expiry - expected).num_seconds().abs() < 60,
        "expiry {expiry}, expected about {expected}\n{first}"
    );
    let second = plugin.run_ok();
    assert_eq!(second.stdout, first.stdout, "{second}");
    assert_eq!(fake.count(), 1, "the second call is a hit\n{second}");
}
