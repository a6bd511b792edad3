//! `get-credential` end to end: the real binary against the fake cloud.
//!
//! Each test starts its own `FakeCloud` and temp dirs, so they run in parallel. The fake checks
//! every request's signature itself, so a passing test also means the requests were signed right.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::support::fake_cloud::{
    ACTION_SUBACCOUNT_USER_CONFIG, ACTION_USER_CONFIG, FakeCloud, Fault, Outcome, Principal,
    RequestRecord,
};
use crate::support::plugin::{Plugin, Run};

const CLUSTER: &str = "c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a";
const KEY_ID: &str = "LTAI5tFakeAccessKey0001";
const KEY_SECRET: &str = "fakeSecretFakeSecretFakeSecret01";
const V1BETA1: &str = "client.authentication.k8s.io/v1beta1";
const V1: &str = "client.authentication.k8s.io/v1";

/// A fake cloud with one cluster and one RAM user's access key.
fn cloud() -> (FakeCloud, Principal) {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults(CLUSTER);
    let me = fake.add_access_key(KEY_ID, KEY_SECRET);
    (fake, me)
}

/// `get-credential --cluster-id CLUSTER` with the default access key.
fn get_credential(fake: &FakeCloud) -> Plugin<'_> {
    Plugin::new(fake).access_key(KEY_ID, KEY_SECRET).args([
        "get-credential",
        "--cluster-id",
        CLUSTER,
    ])
}

fn only_request(fake: &FakeCloud, run: &Run) -> RequestRecord {
    let log = fake.requests();
    assert_eq!(log.len(), 1, "expected exactly one request\n{run}");
    log.into_iter().next().unwrap()
}

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

/// Every `*.json` file under `dir` (recursively).
fn cache_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(cache_files(&path));
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn assert_close(
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

// ---------------------------------------------------------------------------------------------
// Success paths
// ---------------------------------------------------------------------------------------------

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
fn two_identities_on_one_cluster_get_their_own_certificates() {
    let (fake, alice) = cloud();
    let bob = fake.add_access_key(
        "LTAI5tFakeAccessKey0002",
        "bobSecretBobSecretBobSecret00002",
    );
    let cache = tempfile::tempdir().unwrap();
    let as_alice = get_credential(&fake).cache_dir(cache.path());
    let as_bob = Plugin::new(&fake)
        .access_key(
            "LTAI5tFakeAccessKey0002",
            "bobSecretBobSecretBobSecret00002",
        )
        .args(["get-credential", "--cluster-id", CLUSTER])
        .cache_dir(cache.path());

    let alice_first = as_alice.run_ok();
    let bob_first = as_bob.run_ok();

    assert_eq!(
        alice_first.credential().certificate().common_name,
        alice.uid,
        "{alice_first}"
    );
    assert_eq!(
        bob_first.credential().certificate().common_name,
        bob.uid,
        "{bob_first}"
    );
    assert_eq!(
        fake.count(),
        2,
        "each identity needs its own request\n{bob_first}"
    );

    let alice_again = as_alice.run_ok();
    let bob_again = as_bob.run_ok();
    assert_eq!(alice_again.stdout, alice_first.stdout, "{alice_again}");
    assert_eq!(bob_again.stdout, bob_first.stdout, "{bob_again}");
    assert_eq!(
        fake.count(),
        2,
        "both identities are cached separately\n{bob_again}"
    );
}

#[test]
fn uid_flag_fetches_a_sub_user_config_as_main_account() {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults(CLUSTER);
    let root = fake.add_main_account_key(KEY_ID, KEY_SECRET);
    let sub_uid = "27123456789012345";
    fake.add_sub_user(sub_uid);

    let run = get_credential(&fake).args(["--uid", sub_uid]).run_ok();

    let record = only_request(&fake, &run);
    assert_eq!(
        record.path,
        format!("/k8s/{CLUSTER}/users/{sub_uid}/user_config"),
        "{run}"
    );
    assert_eq!(
        record.action.as_deref(),
        Some(ACTION_SUBACCOUNT_USER_CONFIG),
        "{run}"
    );
    assert_eq!(
        record.query_param("TemporaryDurationMinutes"),
        Some("180"),
        "{run}"
    );
    assert_eq!(run.credential().certificate().common_name, sub_uid, "{run}");

    // The caller's own credential is another cache entry.
    let own = get_credential(&fake).run_ok();
    assert_eq!(fake.count(), 2, "{own}");
    assert_eq!(
        own.credential().certificate().common_name,
        root.uid,
        "{own}"
    );
}

#[test]
fn private_ip_flag_asks_for_the_private_endpoint() {
    let fake = FakeCloud::start();
    let ca = fake.cluster_ca_pem();
    fake.add_cluster(
        CLUSTER,
        "https://198.51.100.7:6443",
        "https://10.0.0.7:6443",
        &ca,
    );
    fake.add_access_key(KEY_ID, KEY_SECRET);
    let cache = tempfile::tempdir().unwrap();

    let private = get_credential(&fake)
        .cache_dir(cache.path())
        .arg("--private-ip")
        .run_ok();

    let record = only_request(&fake, &private);
    assert_eq!(
        record.query_param("PrivateIpAddress"),
        Some("true"),
        "{private}"
    );
    assert_eq!(
        record.issued.unwrap().server,
        "https://10.0.0.7:6443",
        "{private}"
    );

    // Public and private are separate cache entries.
    let public = get_credential(&fake).cache_dir(cache.path()).run_ok();
    assert_eq!(fake.count(), 2, "{public}");
    let record = fake.last_request().unwrap();
    assert_eq!(
        record.query_param("PrivateIpAddress"),
        Some("false"),
        "{public}"
    );
    assert_eq!(
        record.issued.unwrap().server,
        "https://198.51.100.7:6443",
        "{public}"
    );
}

#[test]
fn expiration_flag_sets_temporary_duration_minutes() {
    let (fake, _) = cloud();
    let cache = tempfile::tempdir().unwrap();
    // (flag, minutes sent, expected refresh margin before NotAfter)
    let cases = [
        ("90m", "90", TimeDelta::minutes(18)),
        ("2d", "2880", TimeDelta::minutes(576)),
        ("15m", "15", TimeDelta::minutes(10)),
        ("72h", "4320", TimeDelta::minutes(864)),
    ];

    for (n, (flag, minutes, margin)) in cases.into_iter().enumerate() {
        let run = get_credential(&fake)
            .cache_dir(cache.path())
            .args(["--expiration", flag])
            .run_ok();

        assert_eq!(
            fake.count(),
            n + 1,
            "a new lifetime is a new cache entry\n{run}"
        );
        let record = fake.last_request().unwrap();
        assert_eq!(
            record.query_param("TemporaryDurationMinutes"),
            Some(minutes),
            "{run}"
        );
        let cert = run.credential().certificate();
        let (not_after, api_expiration) = issued_not_after(&record);
        assert_eq!(cert.not_after, not_after, "{run}");
        let expiration = run.credential().expiration();
        assert!(expiration <= api_expiration, "{run}");
        assert!(expiration > Utc::now(), "{run}");
        assert_close(
            expiration,
            not_after - margin,
            TimeDelta::seconds(90),
            flag,
            &run,
        );
    }
}

#[test]
fn out_of_range_expiration_is_a_usage_error_before_any_request() {
    let (fake, _) = cloud();

    for flag in ["14m", "4321m", "73h", "4d", "0m", "abc", ""] {
        let run = get_credential(&fake)
            .args(["--expiration", flag])
            .run_exit(2);
        assert!(!run.stderr.trim().is_empty(), "{run}");
    }

    assert_eq!(fake.count(), 0, "{fake:?}");
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
fn earlier_api_expiration_bounds_the_expiry() {
    let (fake, _) = cloud();
    // The API says the credential lapses an hour before the certificate's NotAfter.
    fake.set_api_expiration_offset(TimeDelta::minutes(-60));

    let run = get_credential(&fake).run_ok();

    let (not_after, api_expiration) = issued_not_after(&only_request(&fake, &run));
    assert_eq!(api_expiration, not_after - TimeDelta::minutes(60));
    let expiration = run.credential().expiration();
    assert!(
        expiration <= api_expiration,
        "expirationTimestamp {expiration} is after the API's expiration {api_expiration}\n{run}"
    );
    assert!(expiration > Utc::now(), "{run}");
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

#[test]
fn cache_holds_no_secret() {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults(CLUSTER);
    let token = "CAIScacheTestSecurityToken0123456789";
    let secret = "stsSecretStsSecretStsSecret0001";
    fake.add_sts_key("STS.NUfakeStsKey0001", secret, token);
    let plugin = Plugin::new(&fake)
        .access_key("STS.NUfakeStsKey0001", secret)
        .security_token(token)
        .args(["get-credential", "--cluster-id", CLUSTER]);

    let run = plugin.run_ok();

    let mut stack = vec![plugin.cache_path().to_path_buf()];
    let mut seen = 0;
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            seen += 1;
            let bytes = fs::read(&path).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            let name = path.display().to_string();
            for (what, value) in [("secret", secret), ("security token", token)] {
                assert!(!text.contains(value), "{name} holds the {what}\n{run}");
                assert!(!name.contains(value), "{name} names the {what}\n{run}");
            }
        }
    }
    assert!(seen >= 1, "nothing cached\n{run}");
}

// ---------------------------------------------------------------------------------------------
// Failures: non-zero exit, empty stdout, a useful stderr, and no retry where none is due
// ---------------------------------------------------------------------------------------------

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

#[test]
fn wrong_secret_is_reported_without_retry() {
    let (fake, _) = cloud();

    let run = Plugin::new(&fake)
        .access_key(KEY_ID, "notTheSecretNotTheSecretNotThe01")
        .args(["get-credential", "--cluster-id", CLUSTER])
        .run_err();

    assert_api_error_reported(&fake, &run, "SignatureDoesNotMatch");
    assert!(
        !run.stderr.contains("notTheSecret"),
        "the secret leaked to stderr\n{run}"
    );
}

#[test]
fn unknown_access_key_is_reported_without_retry() {
    let (fake, _) = cloud();

    let run = Plugin::new(&fake)
        .access_key("LTAI5tNoSuchKey00000001", KEY_SECRET)
        .args(["get-credential", "--cluster-id", CLUSTER])
        .run_err();

    assert_api_error_reported(&fake, &run, "InvalidAccessKeyId.NotFound");
}

#[test]
fn unknown_cluster_is_reported_without_retry() {
    let (fake, _) = cloud();

    let run = Plugin::new(&fake)
        .access_key(KEY_ID, KEY_SECRET)
        .args([
            "get-credential",
            "--cluster-id",
            "cnosuchcluster0000000000000000000",
        ])
        .run_err();

    assert_api_error_reported(&fake, &run, "ErrorClusterNotFound");
    assert!(
        run.stderr.contains("cnosuchcluster0000000000000000000"),
        "{run}"
    );
}

#[test]
fn uid_flag_by_a_ram_user_is_forbidden_without_retry() {
    let (fake, _) = cloud();
    fake.add_sub_user("27123456789012345");

    let run = get_credential(&fake)
        .args(["--uid", "27123456789012345"])
        .run_err();

    assert_api_error_reported(&fake, &run, "ForbiddenQueryClusterUserConfig");
}

#[test]
fn unknown_uid_is_reported_without_retry() {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults(CLUSTER);
    fake.add_main_account_key(KEY_ID, KEY_SECRET);

    let run = get_credential(&fake)
        .args(["--uid", "27999999999999999"])
        .run_err();

    assert_api_error_reported(&fake, &run, "ErrorRamUserNotFound");
}

#[test]
fn wrong_security_token_is_reported_without_retry() {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults(CLUSTER);
    fake.add_sts_key(
        "STS.NUfakeStsKey0001",
        "stsSecretStsSecretStsSecret0001",
        "CAISrightToken",
    );
    let sts = Plugin::new(&fake)
        .access_key("STS.NUfakeStsKey0001", "stsSecretStsSecretStsSecret0001")
        .args(["get-credential", "--cluster-id", CLUSTER]);

    let run = sts.clone().security_token("CAISwrongToken").run_err();

    assert_api_error_reported(&fake, &run, "InvalidSecurityToken.Mismatch");
}

#[test]
fn missing_security_token_is_reported_without_retry() {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults(CLUSTER);
    fake.add_sts_key(
        "STS.NUfakeStsKey0001",
        "stsSecretStsSecretStsSecret0001",
        "CAISrightToken",
    );

    let run = Plugin::new(&fake)
        .access_key("STS.NUfakeStsKey0001", "stsSecretStsSecretStsSecret0001")
        .args(["get-credential", "--cluster-id", CLUSTER])
        .run_err();

    assert_api_error_reported(&fake, &run, "MissingSecurityToken");
}

#[test]
fn missing_credentials_are_reported_before_any_request() {
    let (fake, _) = cloud();

    let run = Plugin::new(&fake)
        .args(["get-credential", "--cluster-id", CLUSTER])
        .run_err();

    assert!(run.stderr.contains("ALIBABA_CLOUD_ACCESS_KEY_ID"), "{run}");
    assert_eq!(fake.count(), 0, "{run}");
}

#[test]
fn invalid_cluster_id_is_a_usage_error_before_any_request() {
    let (fake, _) = cloud();

    for id in ["../x", "", "c1/../c2", "c 1", "c1?x=1", "c1%2Fx", "c1\nx"] {
        let run = Plugin::new(&fake)
            .access_key(KEY_ID, KEY_SECRET)
            .args(["get-credential", "--cluster-id", id])
            .run_exit(2);
        assert!(!run.stderr.trim().is_empty(), "{run}");
    }

    assert_eq!(fake.count(), 0, "{fake:?}");
}

#[test]
fn invalid_uid_is_a_usage_error_before_any_request() {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults(CLUSTER);
    fake.add_main_account_key(KEY_ID, KEY_SECRET);

    for uid in ["12ab", "", "../123", "123/456", "１２３", "12 3"] {
        let run = get_credential(&fake).args(["--uid", uid]).run_exit(2);
        assert!(!run.stderr.trim().is_empty(), "{run}");
    }

    assert_eq!(fake.count(), 0, "{fake:?}");
}

#[test]
fn clock_skew_is_reported_as_such() {
    let (fake, _) = cloud();
    fake.set_clock_offset(TimeDelta::hours(1));

    let run = get_credential(&fake).run_err();

    assert!(
        run.stderr.to_lowercase().contains("clock"),
        "stderr must mention the clock\n{run}"
    );
    assert!(run.stderr.contains("InvalidTimeStamp.Expired"), "{run}");
    assert!(fake.count() >= 1, "{run}");
    assert_eq!(fake.successes(), 0, "{run}");
}

#[test]
fn plain_http_endpoint_must_be_loopback() {
    let (fake, _) = cloud();

    let by_env = get_credential(&fake)
        .env("ACK_CS_ENDPOINT", "http://example.com")
        .run_exit(2);
    assert!(by_env.stderr.contains("http://example.com"), "{by_env}");
    get_credential(&fake)
        .env_remove("ACK_CS_ENDPOINT")
        .args(["--cs-endpoint", "http://example.com:80"])
        .run_exit(2);

    assert_eq!(fake.count(), 0, "{fake:?}");
}

// ---------------------------------------------------------------------------------------------
// Retries
// ---------------------------------------------------------------------------------------------

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

#[test]
fn one_service_unavailable_is_retried() {
    let (fake, _) = cloud();
    fake.fail_next(1, Fault::ServiceUnavailable);

    let run = get_credential(&fake).run_ok();

    assert_fresh_attempts(&fake, &run);
    assert_eq!(fake.successes(), 1, "{run}");
    assert_eq!(
        run.stderr, "",
        "a successful retry is silent without -v\n{run}"
    );
}

#[test]
fn user_throttling_is_waited_out() {
    let (fake, _) = cloud();
    fake.fail_next(1, Fault::Throttling { time_left_ms: 300 });

    let run = get_credential(&fake).run_ok();

    assert_fresh_attempts(&fake, &run);
    let log = fake.requests();
    let waited = log[1].received - log[0].received;
    assert!(
        waited >= Duration::from_millis(250),
        "retried after {waited:?}, TimeLeft was 300ms\n{run}"
    );
}

#[test]
fn too_many_requests_is_waited_out() {
    let (fake, _) = cloud();
    fake.fail_next(1, Fault::TooManyRequests { time_left_ms: 300 });

    let run = get_credential(&fake).run_ok();

    assert_fresh_attempts(&fake, &run);
    let log = fake.requests();
    let waited = log[1].received - log[0].received;
    assert!(
        waited >= Duration::from_millis(250),
        "retried after {waited:?}, TimeLeft was 300ms\n{run}"
    );
}

#[test]
fn dropped_connection_is_retried() {
    let (fake, _) = cloud();
    fake.fail_next(1, Fault::DropConnection);

    let run = get_credential(&fake).run_ok();

    assert_fresh_attempts(&fake, &run);
}

#[test]
fn hung_api_times_out_with_a_clear_message() {
    let (fake, _) = cloud();
    fake.fail_always(Fault::Hang);

    let run = get_credential(&fake).env("ACK_API_TIMEOUT", "3").run_err();

    assert!(
        run.elapsed < Duration::from_secs(10),
        "took {:?}\n{run}",
        run.elapsed
    );
    let stderr = run.stderr.to_lowercase();
    assert!(
        stderr.contains("timed out") || stderr.contains("timeout") || stderr.contains("time out"),
        "stderr must say the API timed out\n{run}"
    );
    assert!(fake.count() >= 1, "{run}");
}

#[test]
fn malformed_success_bodies_fail_cleanly_and_cache_nothing() {
    for fault in [
        Fault::BodyNotJson,
        Fault::BodyWithoutConfig,
        Fault::ConfigNotYaml,
        Fault::CertificateNotACertificate,
    ] {
        let (fake, _) = cloud();
        let plugin = get_credential(&fake);
        fake.fail_always(fault.clone());

        let run = plugin.run_err();

        assert!(
            !run.stderr.trim().is_empty(),
            "{fault:?}: stderr must explain\n{run}"
        );
        assert!(!run.stderr.contains("panicked"), "{fault:?}: panic\n{run}");
        assert_eq!(
            cache_files(plugin.cache_path()),
            Vec::<PathBuf>::new(),
            "{fault:?}: cached\n{run}"
        );

        fake.clear_faults();
        let before = fake.count();
        let good = plugin.run_ok();
        assert_eq!(
            fake.count(),
            before + 1,
            "{fault:?}: nothing may have been cached\n{good}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Expiry and refresh
// ---------------------------------------------------------------------------------------------

#[test]
fn nearly_expired_certificate_is_fetched_again() {
    let (fake, _) = cloud();
    // An 8-minute certificate is inside the 10-minute refresh window as soon as it is issued.
    fake.set_cert_lifetime(Duration::from_secs(8 * 60));
    let plugin = get_credential(&fake);

    let first = plugin.run_ok();
    let cert = first.credential().certificate();
    let expiration = first.credential().expiration();
    assert!(
        expiration > Utc::now(),
        "expiry must still be in the future\n{first}"
    );
    assert!(expiration <= cert.not_after, "{first}");

    let second = plugin.run_ok();
    assert_eq!(
        fake.count(),
        2,
        "a certificate inside the refresh window is fetched again\n{second}"
    );
    assert_ne!(
        second.credential().certificate().serial,
        cert.serial,
        "{second}"
    );
}

#[test]
fn failed_refresh_serves_the_cached_certificate_with_a_warning() {
    let (fake, _) = cloud();
    // A 9-minute certificate is due for refresh at once, but valid for 9 more minutes.
    fake.set_cert_lifetime(Duration::from_secs(9 * 60));
    let plugin = get_credential(&fake).env("ACK_API_TIMEOUT", "2");
    let first = plugin.run_ok();
    fake.fail_always(Fault::ServiceUnavailable);

    let second = plugin.run();

    assert!(
        second.status.success(),
        "a still-valid cached certificate must be served\n{second}"
    );
    let cached = first.credential();
    let served = second.credential();
    assert_eq!(
        served.client_certificate_data, cached.client_certificate_data,
        "{second}"
    );
    assert_eq!(served.client_key_data, cached.client_key_data, "{second}");
    assert!(
        served.expiration() <= cached.certificate().not_after,
        "{second}"
    );
    assert!(
        served.expiration() > Utc::now(),
        "the expiry must be in the future\n{second}"
    );
    assert!(
        !second.stderr.trim().is_empty(),
        "the failed refresh must be warned about\n{second}"
    );
    assert!(
        fake.count() >= 2,
        "the refresh must have been tried\n{second}"
    );
}

#[test]
fn force_refresh_fetches_even_when_cached() {
    let (fake, _) = cloud();
    let plugin = get_credential(&fake);
    let first = plugin.run_ok();

    let forced = plugin.clone().arg("--force-refresh").run_ok();

    assert_eq!(fake.count(), 2, "{forced}");
    assert_ne!(
        forced.credential().certificate().serial,
        first.credential().certificate().serial,
        "{forced}"
    );
    let after = plugin.run_ok();
    assert_eq!(
        fake.count(),
        2,
        "the refreshed credential is cached\n{after}"
    );
    assert_eq!(after.stdout, forced.stdout, "{after}");
}

// ---------------------------------------------------------------------------------------------
// The cache on disk
// ---------------------------------------------------------------------------------------------

#[test]
fn corrupt_cache_file_is_refetched_and_rewritten() {
    let (fake, _) = cloud();
    let plugin = get_credential(&fake);
    plugin.run_ok();
    let files = cache_files(plugin.cache_path());
    assert!(
        !files.is_empty(),
        "no *.json cache file in {}",
        plugin.cache_path().display()
    );
    let good = fs::read_to_string(&files[0]).unwrap();

    for (n, garbage) in [
        "garbage \u{0}\u{1} not json".to_string(),
        good[..good.len() / 2].to_string(),
        String::new(),
        r#"{"unexpected":"shape"}"#.to_string(),
    ]
    .into_iter()
    .enumerate()
    {
        for file in cache_files(plugin.cache_path()) {
            fs::write(&file, &garbage).unwrap();
        }

        let run = plugin.run_ok();

        assert_eq!(fake.count(), n + 2, "a corrupt entry is a miss\n{run}");
        let rewritten = cache_files(plugin.cache_path());
        assert!(!rewritten.is_empty(), "{run}");
        for file in rewritten {
            let text = fs::read_to_string(&file).unwrap();
            assert!(
                serde_json::from_str::<serde_json::Value>(&text).is_ok() && text != garbage,
                "{} was not rewritten: {text:?}\n{run}",
                file.display()
            );
        }
        let hit = plugin.run_ok();
        assert_eq!(fake.count(), n + 2, "the rewritten entry is a hit\n{hit}");
    }
}

#[test]
fn cache_dir_is_private_and_files_0600() {
    let (fake, _) = cloud();
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("not-yet").join("cache");
    let plugin = get_credential(&fake).cache_dir(&dir);

    plugin.run_ok();

    let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "cache dir mode {mode:o}");
    let mut checked = 0;
    let mut stack = vec![dir.clone()];
    while let Some(current) = stack.pop() {
        for entry in fs::read_dir(&current).unwrap().flatten() {
            let meta = entry.metadata().unwrap();
            let mode = meta.permissions().mode() & 0o777;
            if meta.is_dir() {
                assert_eq!(mode, 0o700, "{} mode {mode:o}", entry.path().display());
                stack.push(entry.path());
            } else {
                assert_eq!(mode, 0o600, "{} mode {mode:o}", entry.path().display());
                checked += 1;
            }
        }
    }
    assert!(checked >= 1, "no cache file written in {}", dir.display());
}

#[test]
fn cache_lives_under_kubecachedir_or_home() {
    let (fake, _) = cloud();
    let kube_cache = tempfile::tempdir().unwrap();

    let with_kubecachedir = get_credential(&fake)
        .env_remove("ACK_CACHE_DIR")
        .env("KUBECACHEDIR", kube_cache.path().display().to_string());
    let run = with_kubecachedir.run_ok();
    let files = cache_files(&kube_cache.path().join("ack-credential-plugin"));
    assert!(
        !files.is_empty(),
        "no cache file in $KUBECACHEDIR/ack-credential-plugin\n{run}"
    );

    let default = get_credential(&fake).env_remove("ACK_CACHE_DIR");
    let run = default.run_ok();
    let files = cache_files(&default.home().join(".kube/cache/ack-credential-plugin"));
    assert!(
        !files.is_empty(),
        "no cache file in ~/.kube/cache/ack-credential-plugin\n{run}"
    );
}

#[test]
fn concurrent_cold_invocations_make_one_request() {
    let (fake, _) = cloud();
    fake.set_latency(Duration::from_millis(300));
    let plugin = get_credential(&fake);

    let runs: Vec<Run> = thread::scope(|scope| {
        let handles: Vec<_> = (0..20).map(|_| scope.spawn(|| plugin.run())).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    for run in &runs {
        assert!(run.status.success(), "{run}");
        assert_eq!(
            run.stdout, runs[0].stdout,
            "every invocation prints the same credential\n{run}"
        );
    }
    assert_eq!(
        fake.count(),
        1,
        "20 cold invocations must make one API call\n{:?}",
        fake
    );
}
