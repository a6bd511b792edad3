//! Hostile or broken answers from the API are bounded and never cached: a kubeconfig nested
//! deep enough to make the YAML parser spin, a certificate that does not belong to its key, one
//! not valid yet or no longer, and one whose NotBefore is backdated to stretch its lifetime
//! (PRODUCT.md, "Hostile answers are bounded").

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, TimeDelta, Utc};

use super::*;

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

/// What the plugin says of an answer (the fake's request number `n`) it cannot use, masked.
fn unusable(n: usize, detail: &str) -> String {
    format!(
        "ack-credential-plugin: error: DescribeClusterUserKubeconfig returned an answer that \
         cannot be used: {detail} (RequestId: [request-id #{n}])\n\
         hint: try again; if it persists, report it with the RequestId"
    )
}

fn assert_nothing_cached(dir: &Path, run: &Run) {
    assert_eq!(
        entry_files(dir),
        Vec::<PathBuf>::new(),
        "nothing may be cached\n{run}"
    );
}

/// One failing call against `fault`; then a second, which must ask the API again.
fn refused(fault: Fault, detail: &str) {
    let (fake, _) = cloud();
    fake.fail_next(2, fault);
    let plugin = get_credential(&fake);
    let run = plugin.run_exit(1);
    assert_stderr(&run, &unusable(0, detail));
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
    let (fake, _) = cloud();
    fake.fail_next(1, answer(&nested, now + TimeDelta::hours(3)));
    let plugin = get_credential(&fake);
    let run = plugin.run_exit(1);
    assert_stderr(
        &run,
        &unusable(
            0,
            "the kubeconfig opens more than 64 flow collections (`[`, `{`)",
        ),
    );
    // A generous bound that only parsing the document would exceed (it took 63 s).
    assert!(run.elapsed < Duration::from_secs(10), "{run}");
    assert_nothing_cached(plugin.cache_path(), &run);

    // Block nesting, one line of `- - - …`; a document over the kubeconfig cap (256 KiB); one
    // over the API's answer cap (1 MiB). Each refused without parsing.
    let cases = [
        (
            format!("apiVersion: v1\nusers:\n{}x\n", "- ".repeat(100_000)),
            "the kubeconfig is nested more than 32 levels deep",
        ),
        (
            format!("apiVersion: v1\nusers:\n{}x\n", "- ".repeat(450_000)),
            "the kubeconfig is 878 KiB, more than the 256 KiB accepted",
        ),
        (
            format!("apiVersion: v1\nusers:\n{}x\n", "- ".repeat(2 << 20)),
            "the answer is longer than 1024 KiB",
        ),
    ];
    for (n, (yaml, detail)) in cases.iter().enumerate() {
        fake.fail_next(1, answer(yaml, now + TimeDelta::hours(3)));
        let run = plugin.run_exit(1);
        assert_stderr(&run, &unusable(n + 1, detail));
        assert!(run.elapsed < Duration::from_secs(10), "{run}");
        assert_nothing_cached(plugin.cache_path(), &run);
    }
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
    let (fake, _) = cloud();
    fake.fail_next(
        2,
        answer(&kubeconfig(&certificate, &key), now + TimeDelta::hours(4)),
    );
    let plugin = get_credential(&fake);
    let run = plugin.run_exit(1);
    assert_stderr(
        &run,
        &unusable(
            0,
            "the certificate the API returned is valid only from [time], and this machine's \
             clock reads [time]: if the clock is wrong, correct it",
        ),
    );
    assert!(
        run.stderr.contains(
            &not_before
                .format("valid only from %Y-%m-%dT%H:%M:%SZ")
                .to_string()
        ),
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
    let (fake, _) = cloud();
    fake.fail_next(2, answer(&kubeconfig(&certificate, &key), not_after));
    let plugin = get_credential(&fake);
    let run = plugin.run_exit(1);
    assert_stderr(
        &run,
        &unusable(
            0,
            "the credential the API returned expired at [time], and this machine's clock reads \
             [time]: if the clock is wrong, correct it",
        ),
    );
    assert!(
        run.stderr.contains(
            &not_after
                .format("expired at %Y-%m-%dT%H:%M:%SZ")
                .to_string()
        ),
        "{run}"
    );
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
    let (fake, _) = cloud();
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
