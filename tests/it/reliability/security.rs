//! The cache directory and the TLS peer: a world-writable or foreign cache directory, a planted
//! entry or symlink are never trusted; TLS verification cannot be turned off; no secret, token
//! or key in verbose output.

use std::os::unix::fs::PermissionsExt;

use serde_json::Value;

use super::*;

/// Whether the run printed this certificate (stdout is JSON, so the PEM's newlines are escaped).
fn serves(run: &Run, cert_pem: &str) -> bool {
    ExecCredential::parse(&run.stdout)
        .ok()
        .and_then(|c| c.client_certificate_data)
        .is_some_and(|pem| pem.trim() == cert_pem.trim())
}

/// What an attacker would plant at the victim's `entry_path`: another identity's cache entry
/// (fetched with a second access key into a cache of its own), relabelled with the victim's
/// key, so that it is valid-looking in every way. Returns its bytes and its certificate.
fn foreign_entry_for(fake: &FakeCloud, entry_path: &Path) -> (Vec<u8>, String) {
    let (id, secret) = (
        "LTAI5tReliabilityKey0002",
        "otherSecretOtherSecretOtherSec01",
    );
    let other = fake.add_access_key(id, secret);
    let attacker =
        Plugin::new(fake)
            .access_key(id, secret)
            .args(["get-credential", "--cluster-id", CLUSTER]);
    attacker.run_ok();
    let victim: Value = serde_json::from_slice(&fs::read(entry_path).unwrap()).unwrap();
    let mut planted: Value =
        serde_json::from_slice(&fs::read(only_entry(attacker.cache_path())).unwrap()).unwrap();
    planted["key"] = victim["key"].clone();
    let cert = planted["credential"]["clientCertificateData"]
        .as_str()
        .expect("the foreign entry holds a certificate")
        .to_string();
    assert_eq!(CertInfo::parse(&cert).unwrap().common_name, other.uid);
    (serde_json::to_vec(&planted).unwrap(), cert)
}

#[test]
fn world_writable_cache_dir_is_not_trusted_and_is_made_private() {
    let (fake, _) = cloud();
    let plugin = get_credential(&fake);
    plugin.run_ok();
    let dir = plugin.cache_path().to_path_buf();
    assert_eq!(mode(&dir), 0o700);
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();

    // -v, so a failure shows which path the plugin took.
    let run = plugin.clone().arg("-v").run_ok();

    assert_eq!(
        fake.count(),
        2,
        "an entry in a world-writable directory must not be trusted: it must be fetched again\n{run}"
    );
    assert_eq!(mode(&dir), 0o700, "the directory is made private\n{run}");
    for entry in entry_files(&dir) {
        assert_eq!(mode(&entry), 0o600, "{}", entry.display());
    }
    // And now it is trusted again.
    plugin.run_ok();
    assert_eq!(fake.count(), 2);
}

/// The attack the check above exists for: while the directory is world-writable, someone
/// replaces the entry with one of their own. It must never be served.
#[test]
fn entry_planted_in_a_world_writable_cache_dir_is_never_served() {
    let (fake, victim) = cloud();
    let plugin = get_credential(&fake);
    plugin.run_ok();
    let dir = plugin.cache_path().to_path_buf();
    let entry_path = only_entry(&dir);
    let (planted, planted_cert) = foreign_entry_for(&fake, &entry_path);
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    let staged = dir.join("planted.partial");
    fs::write(&staged, &planted).unwrap();
    fs::rename(&staged, &entry_path).unwrap();
    let requests_before = fake.count();

    let run = plugin.clone().arg("-v").run_ok();

    assert!(
        !serves(&run, &planted_cert),
        "the entry planted in the world-writable directory was served (CN of another \
         identity) instead of a fresh certificate\n{run}"
    );
    assert_eq!(
        run.credential().certificate().common_name,
        victim.uid,
        "{run}"
    );
    assert_eq!(fake.count(), requests_before + 1, "a fresh fetch\n{run}");
    assert_eq!(mode(&dir), 0o700, "{run}");
}

#[test]
fn cache_dir_of_another_user_is_not_used_and_never_served_from() {
    let (fake, _) = cloud();
    // The name of this key's entry (from a cache of our own), and a valid-looking entry of
    // another identity relabelled with this key, to plant in the foreign directory.
    let donor = get_credential(&fake);
    donor.run_ok();
    let donor_entry = only_entry(donor.cache_path());
    let (planted, planted_cert) = foreign_entry_for(&fake, &donor_entry);
    let requests_before = fake.count();

    // A directory handed to nobody (65534), holding the planted entry: only root can make one
    // (not root, nothing could be planted and the check below could not fail).
    assert!(
        rustix::process::geteuid().is_root(),
        "this test needs root (to own a directory as another user), as CI runs"
    );
    let home = tempfile::Builder::new()
        .prefix("ack-reliability-foreign-")
        .tempdir()
        .unwrap();
    let dir = home.path().join("cache");
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    let planted_path = dir.join(donor_entry.file_name().unwrap());
    fs::write(&planted_path, &planted).unwrap();
    fs::set_permissions(&planted_path, fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::chown(&planted_path, Some(65534), Some(65534)).unwrap();
    std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
    let plugin = get_credential(&fake).cache_dir(&dir);

    let run = plugin.run();

    // The directory is refused as a cache, the credential is fetched and served all the same.
    assert!(run.status.success(), "a credential is still served\n{run}");
    assert_stderr(
        &run,
        "ack-credential-plugin: warning: cache directory `[tmp]/cache` cannot be used: it belongs \
         to another user (uid 65534), who could plant credentials in it\n\
         hint: fix its permissions, or choose another with --cache-dir or ACK_CACHE_DIR\n\
         going on without the cache",
    );
    assert!(!serves(&run, &planted_cert), "planted entry served\n{run}");
    assert_eq!(
        fake.count(),
        requests_before + 1,
        "a fresh certificate is fetched instead\n{run}"
    );
    assert_eq!(
        fs::read(&planted_path).unwrap(),
        planted,
        "the planted entry must be left alone"
    );
}

#[test]
fn planted_symlink_at_the_entry_path_is_not_followed() {
    let (fake, victim) = cloud();
    let plugin = get_credential(&fake);
    plugin.run_ok();
    let entry_path = only_entry(plugin.cache_path());
    let (planted, planted_cert) = foreign_entry_for(&fake, &entry_path);
    let elsewhere = tempfile::Builder::new()
        .prefix("ack-reliability-planted-")
        .tempdir()
        .unwrap();
    let target = elsewhere.path().join("planted.json");
    let planted_bytes = planted;
    fs::write(&target, &planted_bytes).unwrap();
    fs::remove_file(&entry_path).unwrap();
    std::os::unix::fs::symlink(&target, &entry_path).unwrap();
    let requests_before = fake.count();

    let run = plugin.run_ok();

    let served = run.credential().certificate();
    assert_ne!(
        run.credential().client_certificate_data.as_deref(),
        Some(planted_cert.as_str()),
        "the symlink's target was served\n{run}"
    );
    assert_eq!(served.common_name, victim.uid, "{run}");
    assert_eq!(
        fake.count(),
        requests_before + 1,
        "a fresh certificate must be fetched\n{run}"
    );
    assert_eq!(
        fs::read(&target).unwrap(),
        planted_bytes,
        "the symlink's target must be unchanged\n{run}"
    );
    assert!(
        !fs::symlink_metadata(&entry_path)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the entry is a regular file again\n{run}"
    );
}

#[test]
fn verbose_full_miss_shows_no_secret_token_or_private_key() {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults(CLUSTER);
    let (id, secret, token) = (
        "STS.NUreliabilityKey0001",
        "stsSecretReliabilitySecret000001",
        "CAISreliabilityTokenCAISreliabilityToken0001",
    );
    fake.add_sts_key(id, secret, token);

    let run = Plugin::new(&fake)
        .access_key(id, secret)
        .security_token(token)
        .args(["get-credential", "--cluster-id", CLUSTER, "-v"])
        .run_ok();

    assert_eq!(fake.count(), 1, "a full miss\n{run}");
    assert!(!run.stderr.trim().is_empty(), "-v logs to stderr\n{run}");
    assert!(!run.stderr.contains(secret), "the secret leaked\n{run}");
    assert!(!run.stderr.contains(token), "the token leaked\n{run}");
    assert!(!run.stderr.contains("PRIVATE KEY"), "{run}");
    let key = run.credential().client_key_data.unwrap();
    for line in key
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 16)
    {
        assert!(
            !run.stderr.contains(line),
            "the private key leaked to stderr\n{run}"
        );
    }
}
