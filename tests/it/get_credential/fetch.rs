//! What a first fetch sends and prints, and what a second call does not send.

use super::*;

#[test]
fn first_fetch_prints_an_exec_credential_with_the_api_certificate() {
    let (fake, me) = cloud();
    let plugin = get_credential(&fake);

    let run = plugin.run_ok();
    let started = Utc::now();

    let cred = run.credential();
    assert_eq!(cred.api_version, V1BETA1, "{run}");
    assert_eq!(cred.kind, "ExecCredential", "{run}");
    let record = only_request(&fake, &run);
    assert_eq!(record.method, "GET");
    assert_eq!(record.path, format!("/k8s/{CLUSTER}/user_config"), "{run}");
    assert_eq!(
        record.query_param("PrivateIpAddress"),
        Some("false"),
        "{run}"
    );
    assert_eq!(
        record.query_param("TemporaryDurationMinutes"),
        Some("180"),
        "{run}"
    );
    assert_eq!(record.action.as_deref(), Some(ACTION_USER_CONFIG), "{run}");
    assert_eq!(record.outcome, Outcome::Issued, "{run}");

    // The certificate and key are the ones the API issued, as PEM.
    let issued = record.issued.clone().unwrap();
    let cert_pem = cred.client_certificate_data.clone().unwrap();
    assert_eq!(
        Some(cert_pem.trim()),
        issued.certificate_pem.as_deref().map(str::trim),
        "{run}"
    );
    let key_pem = cred.client_key_data.clone().unwrap();
    assert!(
        key_pem.contains("-----BEGIN") && key_pem.contains("PRIVATE KEY-----"),
        "{run}"
    );
    let cert = cred.certificate();
    assert_eq!(cert.common_name, me.uid, "{run}");
    assert_eq!(cert.issuer_common_name, "fake-ack-client-ca", "{run}");
    let key = rcgen::KeyPair::from_pem(&key_pem).expect("clientKeyData is a private key");
    assert_eq!(
        key.public_key_der(),
        cert.public_key_der,
        "key does not match the certificate\n{run}"
    );
    assert!(cred.token.is_none(), "{run}");

    // expirationTimestamp: RFC 3339 UTC with `Z`, the refresh point NotAfter - 180m/5.
    let raw = cred.expiration_timestamp.clone().unwrap();
    assert!(
        raw.ends_with('Z'),
        "expirationTimestamp {raw} is not UTC `Z`\n{run}"
    );
    let expiration = cred.expiration();
    let (not_after, api_expiration) = issued_not_after(&record);
    assert_eq!(cert.not_after, not_after, "{run}");
    assert!(expiration <= cert.not_after, "expiry after NotAfter\n{run}");
    assert!(
        expiration <= api_expiration,
        "expiry after the API's expiration\n{run}"
    );
    assert!(expiration > started, "expiry in the past\n{run}");
    assert_close(
        expiration,
        cert.not_after - TimeDelta::minutes(36),
        TimeDelta::seconds(90),
        "expirationTimestamp of a 3h certificate",
        &run,
    );

    assert_eq!(run.stderr, "", "stderr must be silent on success\n{run}");
}

#[test]
fn second_call_is_served_from_cache() {
    let (fake, _) = cloud();
    let plugin = get_credential(&fake);

    let first = plugin.run_ok();
    assert_eq!(fake.count(), 1, "{first}");
    let second = plugin.run_ok();

    assert_eq!(
        fake.count(),
        1,
        "the cached credential must be served without a request\n{second}"
    );
    assert_eq!(second.stdout, first.stdout, "{second}");
    assert_eq!(second.stderr, "", "{second}");
}

#[test]
fn exec_info_api_version_is_echoed() {
    let (fake, _) = cloud();
    let exec_info = r#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false}}"#;

    let run = get_credential(&fake)
        .env("KUBERNETES_EXEC_INFO", exec_info)
        .run_ok();

    assert_eq!(run.credential().api_version, V1, "{run}");
}

#[test]
fn api_version_flag_selects_v1() {
    let (fake, _) = cloud();

    let run = get_credential(&fake).args(["--api-version", "v1"]).run_ok();

    assert_eq!(run.credential().api_version, V1, "{run}");
}

#[test]
fn exec_info_api_version_wins_over_the_flag() {
    let (fake, _) = cloud();
    let exec_info = r#"{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","spec":{"interactive":false}}"#;

    let run = get_credential(&fake)
        .args(["--api-version", "v1"])
        .env("KUBERNETES_EXEC_INFO", exec_info)
        .run_ok();

    assert_eq!(run.credential().api_version, V1BETA1, "{run}");
}

#[test]
fn requests_carry_the_plugin_user_agent() {
    let (fake, _) = cloud();

    let run = get_credential(&fake).run_ok();

    let record = only_request(&fake, &run);
    let agent = record.header("user-agent").unwrap_or("");
    assert!(
        agent.starts_with("ack-credential-plugin/"),
        "User-Agent {agent:?}\n{run}"
    );
}

#[test]
fn sts_key_sends_its_security_token() {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults(CLUSTER);
    // STS tokens are long; the plugin must not cap them.
    let token = format!("CAIS{}", "Zm9vYmFyYmF6".repeat(170));
    let me = fake.add_sts_key(
        "STS.NUfakeStsKey0001",
        "stsSecretStsSecretStsSecret0001",
        &token,
    );

    let run = Plugin::new(&fake)
        .access_key("STS.NUfakeStsKey0001", "stsSecretStsSecretStsSecret0001")
        .security_token(&token)
        .args(["get-credential", "--cluster-id", CLUSTER])
        .run_ok();

    let record = only_request(&fake, &run);
    assert_eq!(
        record.header("x-acs-security-token"),
        Some(token.as_str()),
        "{run}"
    );
    assert_eq!(run.credential().certificate().common_name, me.uid, "{run}");
}

#[test]
fn token_user_is_printed_as_token() {
    let fake = FakeCloud::start();
    fake.add_token_cluster(CLUSTER, "fake-bearer-token-0123456789");
    fake.add_access_key(KEY_ID, KEY_SECRET);

    let run = get_credential(&fake).run_ok();

    let cred = run.credential();
    assert_eq!(
        cred.token.as_deref(),
        Some("fake-bearer-token-0123456789"),
        "{run}"
    );
    assert!(
        cred.client_certificate_data.is_none() && cred.client_key_data.is_none(),
        "{run}"
    );
    let (_, api_expiration) = issued_not_after(&only_request(&fake, &run));
    if cred.expiration_timestamp.is_some() {
        assert!(cred.expiration() <= api_expiration, "{run}");
        assert!(cred.expiration() > Utc::now(), "{run}");
    }
}

#[test]
fn verbose_flag_logs_to_stderr_but_never_secrets() {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults(CLUSTER);
    let token = "CAISverboseTestSecurityToken0123456789";
    let secret = "stsSecretStsSecretStsSecret0001";
    fake.add_sts_key("STS.NUfakeStsKey0001", secret, token);
    let plugin = Plugin::new(&fake)
        .access_key("STS.NUfakeStsKey0001", secret)
        .security_token(token)
        .args(["get-credential", "--cluster-id", CLUSTER, "-v"]);

    let fetched = plugin.run_ok();
    let cached = plugin.run_ok();

    for run in [&fetched, &cached] {
        assert!(
            !run.stderr.trim().is_empty(),
            "-v must log something\n{run}"
        );
        assert!(
            !run.stderr.contains(secret),
            "the secret leaked to stderr\n{run}"
        );
        assert!(
            !run.stderr.contains(token),
            "the security token leaked to stderr\n{run}"
        );
        let key = run.credential().client_key_data.unwrap();
        let key_body = key.lines().nth(1).unwrap_or("");
        assert!(
            !run.stderr.contains(key_body),
            "the private key leaked to stderr\n{run}"
        );
    }
    assert_eq!(fake.count(), 1, "{cached}");
}

#[test]
fn never_reads_stdin() {
    let (fake, _) = cloud();

    let run = get_credential(&fake)
        .stdin_open()
        .kill_after(Duration::from_secs(15))
        .run_ok();

    assert_eq!(fake.count(), 1, "{run}");
}
