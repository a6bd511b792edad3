//! What `doctor` says when something is wrong: each case fails (or warns about) its own check,
//! says why in the detail and what to do in the hint, and exits 1 on a failure.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;

use chrono::TimeDelta;

use super::*;
use crate::support::checks::mode;
use crate::support::golden::assert_stderr;
use crate::support::plugin::BIN;

#[test]
fn no_credentials_fails_the_credentials_check_with_every_source_tried() {
    let (fake, me) = crate::support::cloud();
    let run = doctor(&Plugin::new(&fake), &[]);
    assert_exit(&run, 1);
    assert_report(
        &run,
        &me,
        r"
fail credentials  no Alibaba Cloud credentials found. Tried, in order:
                    - the environment: ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (or another spelling of them) are not set
                    - RRSA: ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN and ALIBABA_CLOUD_OIDC_TOKEN_FILE are not set
                    - aliyun CLI config [home]/.aliyun/config.json: does not exist
                    - credentials file: ~/.alibabacloud/credentials does not exist (ALIBABA_CLOUD_CREDENTIALS_FILE is not set)
                    - credentials URI: ALIBABA_CLOUD_CREDENTIALS_URI is not set
                    - the ECS instance RAM role: disabled by ALIBABA_CLOUD_ECS_METADATA_DISABLED=true
                  hint: export ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, run `aliyun configure`, or use --profile; the identity needs cs:DescribeClusterUserKubeconfig on the cluster
skip identity     no credentials to ask with (see credentials)
ok   clock        this machine's clock agrees with the API's, to the second (Date of http://[fake])
ok   endpoints    cs, servicemesh, sts http://[fake]: DNS [ms], connect [ms], no TLS (http)
ok   cache        [home]/cache does not exist yet: the first fetch makes it (mode 700)
skip kubeconfig   needs --cluster-id ID, --mesh-id ID or --fleet-id ID
skip apiserver    needs --cluster-id ID, --mesh-id ID or --fleet-id ID
",
    );
    assert_stderr(
        &run,
        "ack-credential-plugin: error: failed: credentials (the report says why, and what to do)",
    );
    assert_eq!(fake.count_action("GetCallerIdentity"), 0, "{run}");
}

#[test]
fn a_wrong_secret_fails_the_identity_check_naming_the_key() {
    let (fake, me) = crate::support::cloud();
    let plugin = Plugin::new(&fake).access_key(KEY_ID, "notTheSecretOfThisKeyAtAll0001");
    let run = doctor(&plugin, &[]);
    assert_exit(&run, 1);
    assert_report(
        &run,
        &me,
        r"
ok   credentials  AccessKey LTAI5tFakeAccessKey0001 from the environment (ALIBABA_CLOUD_ACCESS_KEY_ID)
fail identity     GetCallerIdentity for these credentials failed: SignatureDoesNotMatch: Specified signature is not matched with our calculation. (HTTP 400, RequestId: [request-id #0])
                  hint: the AccessKey secret does not belong to AccessKey ID LTAI5tFakeAccessKey0001: check ALIBABA_CLOUD_ACCESS_KEY_SECRET (or your profile)
ok   clock        this machine's clock agrees with the API's, to the second (Date of http://[fake])
ok   endpoints    cs, servicemesh, sts http://[fake]: DNS [ms], connect [ms], no TLS (http)
ok   cache        [home]/cache does not exist yet: the first fetch makes it (mode 700)
skip kubeconfig   needs --cluster-id ID, --mesh-id ID or --fleet-id ID
skip apiserver    needs --cluster-id ID, --mesh-id ID or --fleet-id ID
",
    );
}

/// The fake's clock 742 s ahead: still within the 15 minutes the API allows a signature, so
/// every call works, but the clock check fails and says by how much.
#[test]
fn clock_skew_is_reported_in_seconds_with_its_sign() {
    let (fake, _me) = crate::support::cloud();
    let plugin = as_ram_user(&fake);

    fake.set_clock_offset(TimeDelta::seconds(742));
    let run = doctor(&plugin, &["-o", "json"]);
    assert_exit(&run, 1);
    let found = checks(&run);
    let clock = check(&found, "clock");
    assert_eq!(clock.status, "fail", "{run}");
    let seconds = skew_in(&clock.detail, " s behind the API (Date of ");
    // The server's Date counts whole seconds.
    assert!((741..=743).contains(&seconds), "{run}");
    assert_eq!(
        clock.hint.as_deref(),
        Some(
            "the API refuses requests signed more than 15 minutes off, and certificates can \
             look not yet valid or already expired: set the clock right and keep it \
             synchronised (NTP: `timedatectl set-ntp true`, or chrony)"
        )
    );
    assert_eq!(check(&found, "identity").status, "ok", "{run}");

    fake.set_clock_offset(TimeDelta::seconds(-90));
    let run = doctor(&plugin, &["-o", "json"]);
    assert_exit(&run, 0);
    let found = checks(&run);
    let clock = check(&found, "clock");
    assert_eq!(clock.status, "warn", "{run}");
    let seconds = skew_in(&clock.detail, " s ahead of the API (Date of ");
    assert!((89..=91).contains(&seconds), "{run}");
}

/// The seconds in `this machine is N s <rest>...`.
#[track_caller]
fn skew_in(detail: &str, rest: &str) -> i64 {
    let number = detail
        .strip_prefix("this machine is ")
        .and_then(|d| d.split_once(rest))
        .map_or_else(|| panic!("not a skew: {detail}"), |(n, _)| n);
    number
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {detail}"))
}

/// cs on a closed port: the endpoints check fails on connect, the clock is read from another
/// API, and the API server check, with no certificate cached for that endpoint and none to be
/// fetched, is skipped pointing at endpoints.
#[test]
fn an_endpoint_that_refuses_connections_fails_the_endpoints_check() {
    let (fake, me, _api) = cloud_and_cluster();
    let plugin = as_ram_user(&fake);
    set_up_kubeconfig(&plugin);
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let run = doctor(
        &plugin,
        &["--cluster-id", CLUSTER, "--cs-endpoint", &closed],
    );
    assert_exit(&run, 1);
    assert_report(
        &run,
        &me,
        r"
ok   credentials  AccessKey LTAI5tFakeAccessKey0001 from the environment (ALIBABA_CLOUD_ACCESS_KEY_ID)
ok   identity     RAMUser acs:ram::1234567890123456:user/[uid] in account 1234567890123456 (AccessKey LTAI5tFakeAccessKey0001)
ok   clock        this machine's clock agrees with the API's, to the second (Date of http://[fake])
fail endpoints    cs http://127.0.0.1:[port]: DNS [ms], connect failed: 127.0.0.1:[port] refused the connection
                  sts http://[fake]: DNS [ms], connect [ms], no TLS (http)
                  hint: nothing accepts connections there: check --cs-endpoint, ACK_CS_ENDPOINT or --region, and that no firewall blocks the port
ok   cache        [home]/cache: private to you; 1 cached certificate
                  no certificate cached for cluster c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a: the next call fetches one
ok   kubeconfig   context `c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a` (the current one) in [home]/.kube/config runs [bin] get-credential --cluster-id c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a
                  [bin] --version: ack-credential-plugin [version]
skip apiserver    no certificate is cached, and http://127.0.0.1:[port] cannot be reached to fetch one (see endpoints)
",
    );
}

/// A cache directory others can write to, holding a file the plugin did not make: the plugin
/// will not use it, so every call fetches. doctor says so, and leaves the directory as it is.
#[test]
fn a_cache_directory_with_bad_permissions_fails_the_cache_check() {
    let (fake, me) = crate::support::cloud();
    let plugin = as_ram_user(&fake);
    let dir = plugin.cache_path().to_path_buf();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();

    let run = doctor(&plugin, &[]);
    assert_exit(&run, 1);
    assert_report(
        &run,
        &me,
        r"
ok   credentials  AccessKey LTAI5tFakeAccessKey0001 from the environment (ALIBABA_CLOUD_ACCESS_KEY_ID)
ok   identity     RAMUser acs:ram::1234567890123456:user/[uid] in account 1234567890123456 (AccessKey LTAI5tFakeAccessKey0001)
ok   clock        this machine's clock agrees with the API's, to the second (Date of http://[fake])
ok   endpoints    cs, servicemesh, sts http://[fake]: DNS [ms], connect [ms], no TLS (http)
fail cache        [home]/cache cannot be used: others can write to it (mode 777) and it holds files the plugin did not create (such as `notes.txt`), so the plugin leaves it as it is
                  until it can, every kubectl call fetches a new certificate, and none is kept
                  hint: make it yours and private, holding only the plugin's files (chmod 700 [home]/cache), or cache elsewhere with --cache-dir or ACK_CACHE_DIR
skip kubeconfig   needs --cluster-id ID, --mesh-id ID or --fleet-id ID
skip apiserver    needs --cluster-id ID, --mesh-id ID or --fleet-id ID
",
    );
    assert_eq!(mode(&dir), 0o777, "doctor changed the mode\n{run}");
    assert!(dir.join("notes.txt").exists());

    // Only the plugin's own files, readable by others: a warning (the next fetch tightens it).
    std::fs::remove_file(dir.join("notes.txt")).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = doctor(&plugin, &["-o", "json"]);
    assert_exit(&run, 0);
    let found = checks(&run);
    let cache = check(&found, "cache");
    assert_eq!(cache.status, "warn", "{run}");
    assert_eq!(
        cache.hint.as_deref(),
        Some(format!("chmod 700 {}", dir.display()).as_str())
    );
    assert_eq!(mode(&dir), 0o755, "doctor changed the mode\n{run}");
}

/// The kubeconfig runs the plugin by a path where it is no longer: kubectl would say only "no
/// such file or directory" (no installHint for a command given by path); doctor says what to
/// do. The API server check still runs, with the context's server and the cached certificate.
#[test]
fn a_kubeconfig_that_runs_a_missing_binary_fails_the_kubeconfig_check() {
    let (fake, me, _api) = cloud_and_cluster();
    let plugin = as_ram_user(&fake);
    set_up_kubeconfig(&plugin);
    let config = plugin.home().join(".kube/config");
    let moved = plugin.home().join("old-bin/ack-credential-plugin");
    rewrite_command(&config, &moved.display().to_string());

    let run = doctor(&plugin, &["--cluster-id", CLUSTER]);
    assert_exit(&run, 1);
    assert_report(
        &run,
        &me,
        r#"
ok   credentials  AccessKey LTAI5tFakeAccessKey0001 from the environment (ALIBABA_CLOUD_ACCESS_KEY_ID)
ok   identity     RAMUser acs:ram::1234567890123456:user/[uid] in account 1234567890123456 (AccessKey LTAI5tFakeAccessKey0001)
ok   clock        this machine's clock agrees with the API's, to the second (Date of http://[fake])
ok   endpoints    cs, sts http://[fake]: DNS [ms], connect [ms], no TLS (http)
ok   cache        [home]/cache: private to you; 1 cached certificate
                  cluster c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a (as access-key:LTAI5tFakeAccessKey0001): cached, valid until [time], refresh due at [time]
fail kubeconfig   context `c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a` (the current one) in [home]/.kube/config runs [home]/old-bin/ack-credential-plugin get-credential --cluster-id c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a
                  [home]/old-bin/ack-credential-plugin: does not exist
                  hint: kubectl then says only "no such file or directory" (a command given by path shows no installHint): run `ack-credential-plugin kubeconfig --cluster-id c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a --merge` with the plugin where it is now, to write its path, or put the plugin back at [home]/old-bin/ack-credential-plugin
ok   apiserver    https://127.0.0.1:[port] takes the cached certificate (CN [uid], serial [serial]) for user "[uid]" in groups system:users, system:authenticated (SelfSubjectReview v1)
"#,
    );

    // By name, with no plugin on PATH.
    rewrite_command(&config, "ack-credential-plugin");
    let run = doctor(&plugin, &["--cluster-id", CLUSTER, "-o", "json"]);
    assert_exit(&run, 1);
    let found = checks(&run);
    let kubeconfig = check(&found, "kubeconfig");
    assert_eq!(kubeconfig.status, "fail", "{run}");
    assert!(
        kubeconfig
            .detail
            .ends_with("\n`ack-credential-plugin` is not on PATH"),
        "{run}"
    );

    // Back where it is: fine again.
    rewrite_command(&config, BIN);
    let run = doctor(&plugin, &["--cluster-id", CLUSTER]);
    assert_exit(&run, 0);
}

/// Points the exec command of every user in `config` at `command`.
fn rewrite_command(config: &std::path::Path, command: &str) {
    let text = std::fs::read_to_string(config).unwrap();
    let rewritten: Vec<String> = text
        .lines()
        .map(|line| match line.split_once("command: ") {
            Some((indent, _)) => format!("{indent}command: {command}"),
            None => line.to_string(),
        })
        .collect();
    std::fs::write(config, rewritten.join("\n") + "\n").unwrap();
}
