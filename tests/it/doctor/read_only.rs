//! `doctor` changes nothing (no cache directory made, no entry stored, no kubeconfig written)
//! and prints no secret, token or key, in either form: besides the assertions here, every run
//! goes through the leak check of `Plugin::run`, which knows every secret the fake registered
//! or handed out (AccessKey and STS secrets, STS tokens, the private keys of every certificate
//! and every cluster token) and looks for them on stdout and stderr.

use std::time::SystemTime;

use super::*;
use crate::support::cache_files::{entry_files, files_in};

const ROLE: &str = "acs:ram::1234567890123456:role/ack-admin";

fn modified(path: &std::path::Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

#[test]
fn doctor_changes_nothing() {
    let (fake, _me, _api) = cloud_and_cluster();
    let plugin = as_ram_user(&fake);

    // No cache directory: doctor does not make one, even when it fetches a certificate.
    for args in [&[][..], &["--cluster-id", CLUSTER][..]] {
        let run = doctor(&plugin, args);
        assert!(!plugin.cache_path().exists(), "{run}");
    }

    set_up_kubeconfig(&plugin);
    let config = plugin.home().join(".kube/config");
    let (text, when) = (std::fs::read(&config).unwrap(), modified(&config));
    let files = files_in(plugin.cache_path());
    let entry = entry_files(plugin.cache_path()).remove(0);
    let cached = std::fs::read(&entry).unwrap();
    // Due for refresh: doctor reports it, and leaves it for the next call to refresh.
    crate::support::cache_files::edit_entry(&entry, |entry| {
        entry["refresh_at"] = (chrono::Utc::now().timestamp() - 1).into();
    });
    let due = std::fs::read(&entry).unwrap();
    assert_ne!(cached, due);
    let run = doctor(&plugin, &["--cluster-id", CLUSTER, "-o", "json"]);
    assert_exit(&run, 0);
    assert!(
        check(&checks(&run), "cache")
            .detail
            .contains(", due for refresh since "),
        "{run}"
    );
    assert_eq!(
        std::fs::read(&entry).unwrap(),
        due,
        "the entry changed\n{run}"
    );
    assert_eq!(files_in(plugin.cache_path()), files, "{run}");
    assert_eq!(std::fs::read(&config).unwrap(), text);
    assert_eq!(modified(&config), when);
}

/// Every credential there is to handle: an STS session from a role, a fetched certificate held
/// in memory, a cached one, and a cluster that hands out a token; in text and in JSON.
#[test]
fn no_secret_token_or_key_appears_in_either_output() {
    let (fake, _me, _api) = cloud_and_cluster();
    fake.add_role(ROLE);
    fake.add_token_cluster("ctoken", "clusterTokenClusterToken0001");
    let plugin = as_ram_user(&fake);
    let key = ["--cluster-id", CLUSTER];
    let role = ["--cluster-id", CLUSTER, "--role-arn", ROLE];

    let mut runs = Vec::new();
    for format in ["text", "json"] {
        // Fetched in memory, then cached, for the key and for the role.
        for args in [&key[..], &role[..]] {
            runs.push(doctor(&plugin, &[args, &["-o", format]].concat()));
        }
        set_up_kubeconfig(&plugin);
        for args in [&key[..], &role[..]] {
            runs.push(doctor(&plugin, &[args, &["-o", format]].concat()));
        }
        runs.push(doctor(&plugin, &["--cluster-id", "ctoken", "-o", format]));
    }
    assert!(fake.count_action("AssumeRole") >= 2, "{}", fake.dump());
    for run in &runs {
        for secret in [KEY_SECRET, "clusterTokenClusterToken0001"] {
            assert!(!run.stdout.contains(secret), "{run}");
        }
        assert!(!run.stdout.contains("PRIVATE KEY"), "{run}");
        assert!(!run.stdout.contains("-----BEGIN"), "{run}");
    }
    // The role's identity is the role's.
    let run = doctor(&plugin, &[&role[..], &["-o", "json"]].concat());
    let found = checks(&run);
    assert!(
        check(&found, "credentials")
            .detail
            .starts_with(&format!("RAM role {ROLE} (--role-arn), assumed at ")),
        "{run}"
    );
    assert!(
        check(&found, "identity")
            .detail
            .starts_with("AssumedRoleUser "),
        "{run}"
    );
}
