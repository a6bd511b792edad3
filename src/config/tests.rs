//! Resolving flags and variables into settings: what is accepted, what is refused and why.

use super::commands::kubeconfig_files;
use super::*;

#[test]
fn metadata_endpoint_must_be_a_base_url() {
    let with = |value: &str| {
        let env = Env::from_pairs([("HOME", "/h"), ("ACK_ECS_METADATA_ENDPOINT", value)]);
        Settings::resolve(&args(&[]), &env).map(|s| s.access.ecs_endpoint)
    };
    assert_eq!(with("http://127.0.0.1:9/").unwrap(), "http://127.0.0.1:9");
    assert_eq!(
        with("http://100.100.100.200").unwrap(),
        "http://100.100.100.200"
    );
    for bad in ["100.100.100.200", "ftp://x", "http://x/?q=1", "http://u@x"] {
        assert_eq!(with(bad).unwrap_err().exit_code(), 2, "{bad}");
    }
    let default = Settings::resolve(&args(&[]), &Env::from_pairs([("HOME", "/h")])).unwrap();
    assert_eq!(default.access.ecs_endpoint, "http://100.100.100.200");
}

/// A generic `REGION` that is no region id (another tool's) is passed over; the plugin's
/// own region variables and `--region` are errors that name where the value came from.
#[test]
fn region_values_are_checked_where_they_count() {
    let env = Env::from_pairs([("HOME", "/h"), ("REGION", "EU"), ("REGION_ID", "us-east-1")]);
    let resolved = Settings::resolve(&args(&[]), &env).unwrap();
    assert_eq!(
        resolved.access.fallback_region.as_deref(),
        Some("us-east-1")
    );
    let env = Env::from_pairs([("HOME", "/h"), ("REGION", "EU")]);
    assert_eq!(
        Settings::resolve(&args(&[]), &env)
            .unwrap()
            .access
            .fallback_region,
        None
    );
    let env = Env::from_pairs([("HOME", "/h"), ("ALIBABA_CLOUD_REGION_ID", "EU")]);
    let error = Settings::resolve(&args(&[]), &env).unwrap_err().to_string();
    assert_eq!(
        error,
        "ALIBABA_CLOUD_REGION_ID: region \"EU\" is not a valid region id (e.g. cn-hangzhou)"
    );
    let env = Env::from_pairs([("HOME", "/h")]);
    let error = Settings::resolve(&args(&["--region", "EU"]), &env)
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "--region: region \"EU\" is not a valid region id (e.g. cn-hangzhou)"
    );
}

#[test]
fn role_arn_flag_is_checked() {
    let env = Env::from_pairs([("HOME", "/h")]);
    let error = Settings::resolve(&args(&["--role-arn", "admin"]), &env).unwrap_err();
    assert_eq!(error.exit_code(), 2);
    assert!(Settings::resolve(&args(&["--role-arn", "acs:ram::123:role/admin"]), &env).is_ok());
}

/// The target flags of `get-credential FLAGS...`, as clap parses them.
fn get_credential(flags: &[&str]) -> TargetArgs {
    use clap::Parser;
    let argv = ["ack-credential-plugin", "get-credential"]
        .iter()
        .chain(flags);
    match crate::cli::Cli::parse_from(argv).command {
        crate::cli::Command::GetCredential(given) => given.target,
        _ => unreachable!(),
    }
}

/// The target flags of `get-credential --cluster-id c1 EXTRA...`.
fn args(extra: &[&str]) -> TargetArgs {
    get_credential(&[&["--cluster-id", "c1"], extra].concat())
}

fn settings(extra: &[&str], env: &Env) -> Settings {
    Settings::resolve(&args(extra), env).unwrap()
}

#[test]
fn endpoint_and_cache_dir_precedence() {
    let env = Env::from_pairs([("HOME", "/home/u")]);
    let config = settings(&[], &env);
    assert_eq!(
        config.api_endpoint(None).unwrap(),
        "https://cs.aliyuncs.com"
    );
    assert_eq!(
        config.api_endpoint(Some("cn-shenzhen")).unwrap(),
        "https://cs.cn-shenzhen.aliyuncs.com"
    );
    assert_eq!(
        config.cache_dir,
        PathBuf::from("/home/u/.kube/cache/ack-credential-plugin")
    );

    let env = Env::from_pairs([
        ("HOME", "/home/u"),
        ("ALIBABA_CLOUD_REGION_ID", "cn-beijing"),
        ("KUBECACHEDIR", "/k"),
    ]);
    let config = settings(&[], &env);
    assert_eq!(
        config.api_endpoint(Some("cn-shenzhen")).unwrap(),
        "https://cs.cn-beijing.aliyuncs.com"
    );
    assert_eq!(config.cache_dir, PathBuf::from("/k/ack-credential-plugin"));

    let env = Env::from_pairs([
        ("ALIBABA_CLOUD_REGION_ID", "cn-beijing"),
        ("ACK_CS_ENDPOINT", "http://127.0.0.1:9"),
        ("ACK_CACHE_DIR", "/c"),
        ("KUBECACHEDIR", "/k"),
    ]);
    let config = settings(&["--region", "cn-shanghai"], &env);
    assert_eq!(
        config.api_endpoint(Some("cn-shenzhen")).unwrap(),
        "http://127.0.0.1:9"
    );
    assert_eq!(config.cache_dir, PathBuf::from("/c"));

    let config = settings(
        &["--cs-endpoint", "https://x.example", "--cache-dir", "/d"],
        &env,
    );
    assert_eq!(config.api_endpoint(None).unwrap(), "https://x.example");
    assert_eq!(config.cache_dir, PathBuf::from("/d"));

    let config = settings(
        &["--region", "cn-shanghai"],
        &Env::from_pairs([("HOME", "/h")]),
    );
    assert_eq!(
        config.api_endpoint(None).unwrap(),
        "https://cs.cn-shanghai.aliyuncs.com"
    );
}

#[test]
fn a_mesh_goes_to_servicemesh_and_has_no_lifetime() {
    let env = Env::from_pairs([("HOME", "/h"), ("ALIBABA_CLOUD_REGION_ID", "cn-beijing")]);
    let mesh =
        Settings::resolve(&get_credential(&["--mesh-id", "m1", "--private-ip"]), &env).unwrap();
    assert_eq!(mesh.target, Target::Mesh { id: "m1".into() });
    assert_eq!(mesh.minutes, 0);
    assert_eq!(
        mesh.api_endpoint(None).unwrap(),
        "https://servicemesh.aliyuncs.com"
    );
    let env = Env::from_pairs([("HOME", "/h"), ("ACK_ASM_ENDPOINT", "http://127.0.0.1:2")]);
    let mesh = Settings::resolve(&get_credential(&["--mesh-id", "m1"]), &env).unwrap();
    assert_eq!(mesh.api_endpoint(None).unwrap(), "http://127.0.0.1:2");
    let bad = Settings::resolve(&get_credential(&["--mesh-id", "m/1"]), &env);
    assert_eq!(bad.unwrap_err().exit_code(), 2);
}

#[test]
fn a_fleet_goes_to_adcp_in_its_region_and_has_no_lifetime() {
    let fleet = |argv: &[&str], env: &Env| Settings::resolve(&get_credential(argv), env).unwrap();
    let home = Env::from_pairs([("HOME", "/h")]);
    let plain = fleet(&["--fleet-id", "f1"], &home);
    assert_eq!(plain.target, Target::Fleet { id: "f1".into() });
    assert_eq!(plain.minutes, 0);
    // The region: the flag, else the environment, else the credential source's profile.
    assert_eq!(
        plain.api_endpoint(Some("cn-shenzhen")).unwrap(),
        "https://adcp.cn-shenzhen.aliyuncs.com"
    );
    assert_eq!(plain.api_endpoint(None).unwrap_err().exit_code(), 2);
    let env = Env::from_pairs([("HOME", "/h"), ("ALIBABA_CLOUD_REGION_ID", "cn-beijing")]);
    assert_eq!(
        fleet(&["--fleet-id", "f1"], &env)
            .api_endpoint(Some("cn-shenzhen"))
            .unwrap(),
        "https://adcp.cn-beijing.aliyuncs.com"
    );
    let flagged = fleet(&["--fleet-id", "f1", "--region", "ap-southeast-1"], &env);
    assert_eq!(
        flagged.api_endpoint(None).unwrap(),
        "https://adcp.ap-southeast-1.aliyuncs.com"
    );
    // An explicit endpoint wins, from the flag or the variable.
    let env = Env::from_pairs([("HOME", "/h"), ("ACK_ADCP_ENDPOINT", "http://127.0.0.1:5")]);
    assert_eq!(
        fleet(&["--fleet-id", "f1"], &env)
            .api_endpoint(None)
            .unwrap(),
        "http://127.0.0.1:5"
    );
    let bad = Env::from_pairs([("HOME", "/h"), ("ACK_ADCP_ENDPOINT", "http://10.0.0.1")]);
    let error = Settings::resolve(&get_credential(&["--fleet-id", "f1"]), &bad);
    assert_eq!(error.unwrap_err().exit_code(), 2);
    let error = Settings::resolve(&get_credential(&["--fleet-id", "f.1"]), &home);
    assert_eq!(error.unwrap_err().exit_code(), 2);
}

#[test]
fn kubeconfig_by_name_or_all_is_checked_before_any_listing() {
    use clap::Parser;
    let resolve = |argv: &[&str], env: &Env| {
        let mut full = vec!["p", "kubeconfig"];
        full.extend_from_slice(argv);
        match crate::cli::Cli::parse_from(full).command {
            crate::cli::Command::Kubeconfig(args) => KubeconfigConfig::resolve(&args, env),
            _ => unreachable!(),
        }
    };
    let env = Env::from_pairs([("HOME", "/h")]);
    let named = resolve(&["--cluster-name", "prod", "--region", "cn-beijing"], &env).unwrap();
    assert!(matches!(&named.wanted, Wanted::Named { name, .. } if name == "prod"));
    assert_eq!(named.region_filter.as_deref(), Some("cn-beijing"));
    let all = resolve(&["--all", "--merge"], &env).unwrap();
    assert!(matches!(all.wanted, Wanted::All { .. }));
    assert_eq!(all.region_filter, None);
    for bad in [
        &["--cluster-name", "prod", "--expiration", "1y"][..],
        &["--all", "--merge", "--expiration", "10m"],
        &["--all", "--merge", "--region", "CN"],
        &["--all", "--merge", "--role-arn", "admin"],
        &["--cluster-name", "bad\nname"],
    ] {
        assert_eq!(resolve(bad, &env).unwrap_err().exit_code(), 2, "{bad:?}");
    }
}

#[test]
fn merge_reads_the_files_kubectl_reads() {
    let env = Env::from_pairs([("HOME", "/h"), ("KUBECONFIG", "/a/one::/b/two:/a/one")]);
    assert_eq!(
        kubeconfig_files(&env).unwrap(),
        [PathBuf::from("/a/one"), PathBuf::from("/b/two")]
    );
    for env in [
        Env::from_pairs([("HOME", "/h")]),
        Env::from_pairs([("HOME", "/h"), ("KUBECONFIG", ":")]),
    ] {
        assert_eq!(
            kubeconfig_files(&env).unwrap(),
            [PathBuf::from("/h/.kube/config")]
        );
    }
}
