//! The flags that decide which certificate is right (identity, `--uid`, `--private-ip`,
//! `--expiration`), each its own request and cache entry, and the expiry printed for it.

use super::*;

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
    fake.add_cluster(CLUSTER, "https://127.0.3.7:1", "https://127.0.4.7:1", &ca);
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
        "https://127.0.4.7:1",
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
        "https://127.0.3.7:1",
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
