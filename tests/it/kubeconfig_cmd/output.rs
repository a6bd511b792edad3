//! `kubeconfig` to stdout or `--output`: an exec kubeconfig that repeats every deciding flag,
//! holds no credential, and leaves the cache warm for kubectl's first call.

use super::*;

#[test]
fn kubeconfig_for_a_cluster_prints_an_exec_kubeconfig_without_key_material() {
    let (fake, _) = cloud_with_meshes();
    let endpoint = fake.endpoint();
    let base = as_ram_user(&fake).env_remove("ACK_CACHE_DIR");
    let plugin = base.clone().args([
        "kubeconfig",
        "--cluster-id",
        CLUSTER,
        "--cache-dir",
        "rel-cache",
        "--cs-endpoint",
        endpoint.as_str(),
    ]);
    let run = plugin.run_success();

    let record = only_request(&fake, &run);
    assert_eq!(record.action.as_deref(), Some(ACTION_USER_CONFIG), "{run}");
    assert_eq!(
        record.query_param("PrivateIpAddress"),
        Some("false"),
        "{run}"
    );
    let issued = issued(&record);
    assert_eq!(run.stderr, "", "stderr is silent without -v\n{run}");

    let config = yaml(&run.stdout, &run);
    let args = exec_args(&config);
    // --cache-dir is made absolute (kubectl runs the plugin from anywhere).
    let cache_dir = PathBuf::from(args.last().expect("args"));
    assert!(cache_dir.is_absolute(), "{run}");
    assert_eq!(
        fs::canonicalize(&cache_dir).ok(),
        fs::canonicalize(plugin.home().join("rel-cache")).ok(),
        "--cache-dir {}\n{run}",
        cache_dir.display()
    );
    let expected = strings(&[
        "get-credential",
        "--cluster-id",
        CLUSTER,
        "--cs-endpoint",
        &endpoint,
        "--cache-dir",
        &cache_dir.to_string_lossy(),
    ]);
    assert_generated(
        &config,
        CLUSTER,
        DEFAULT_CLUSTER_PUBLIC_SERVER,
        &fake.cluster_ca_pem(),
        &expected,
        &run,
    );
    assert_no_credential(&run.stdout, &fake, &run);

    // The first get-credential with the generated args (the command is this binary, checked
    // above) is a cache hit.
    let get = base.clone().args(&args).run_ok();
    assert_eq!(
        fake.count(),
        1,
        "the first get-credential after `kubeconfig` must make no API call\n{get}"
    );
    assert_eq!(
        get.credential()
            .client_certificate_data
            .as_deref()
            .map(str::trim),
        issued.certificate_pem.as_deref().map(str::trim),
        "{get}"
    );
}

#[test]
fn kubeconfig_for_a_mesh_prints_the_mesh_server_and_warms_the_cache() {
    let (fake, _) = cloud_with_meshes();
    let asm = fake.asm_endpoint();
    let base = Plugin::new(&fake).access_key(KEY_ID, KEY_SECRET);
    let run = base
        .clone()
        .args([
            "kubeconfig",
            "--mesh-id",
            MESH,
            "--asm-endpoint",
            asm.as_str(),
        ])
        .run_success();
    let record = only_request(&fake, &run);
    assert_eq!(record.service, Service::ASM, "{run}");
    assert_eq!(form(&record, "PrivateIpAddress", &run), "false");
    assert_eq!(run.stderr, "", "{run}");

    let config = yaml(&run.stdout, &run);
    let expected = strings(&["get-credential", "--mesh-id", MESH, "--asm-endpoint", &asm]);
    assert_generated(
        &config,
        MESH,
        DEFAULT_MESH_PUBLIC_SERVER,
        &fake.cluster_ca_pem(),
        &expected,
        &run,
    );
    assert_no_credential(&run.stdout, &fake, &run);

    let get = base.clone().args(exec_args(&config)).run_ok();
    assert_eq!(fake.count(), 1, "{get}");
}

/// Every deciding flag given is repeated, in the contract's order, whatever order it was given
/// in; the ones not given (or given as variables) are not.
#[test]
fn kubeconfig_args_repeat_every_deciding_flag_given_in_order() {
    let (fake, _) = cloud_with_meshes();
    let endpoint = fake.endpoint();
    let role = "acs:ram::1234567890123456:role/kubeconfig-role";
    fake.add_role(role);
    let base = Plugin::new(&fake)
        .env_remove("ACK_CACHE_DIR")
        .env_remove("ACK_CS_ENDPOINT")
        .secret(KEY_SECRET);
    let plugin = base.clone().args([
        "kubeconfig",
        "--private-ip",
        "--sts-endpoint",
        &endpoint,
        "--cache-dir",
        "c",
        "--region",
        "cn-hangzhou",
        "--asm-endpoint",
        &endpoint,
        "--role-arn",
        role,
        "--context",
        "mine",
        "--expiration",
        "90m",
        "--cs-endpoint",
        &endpoint,
        "--profile",
        "dev",
        "--cluster-id",
        CLUSTER,
    ]);
    plugin.write_home_file(
        ".aliyun/config.json",
        &serde_json::json!({
            "current": "default",
            "profiles": [{
                "name": "dev",
                "mode": "AK",
                "access_key_id": KEY_ID,
                "access_key_secret": KEY_SECRET,
                "region_id": "cn-beijing",
            }],
        })
        .to_string(),
    );
    let run = plugin.run_success();
    assert_eq!(fake.count_action("AssumeRole"), 1, "{run}");
    assert_eq!(fake.count_action(ACTION_USER_CONFIG), 1, "{run}");
    let record = fake
        .requests_for(ACTION_USER_CONFIG)
        .pop()
        .expect("cs call");
    assert_eq!(
        record.query_param("PrivateIpAddress"),
        Some("true"),
        "{run}"
    );
    assert_eq!(
        record.query_param("TemporaryDurationMinutes"),
        Some("90"),
        "{run}"
    );

    let config = yaml(&run.stdout, &run);
    let cache_dir = std::path::absolute(plugin.home().join("c")).unwrap();
    let expected = strings(&[
        "get-credential",
        "--cluster-id",
        CLUSTER,
        "--expiration",
        "90m",
        "--profile",
        "dev",
        "--role-arn",
        role,
        "--region",
        "cn-hangzhou",
        "--cs-endpoint",
        &endpoint,
        "--asm-endpoint",
        &endpoint,
        "--sts-endpoint",
        &endpoint,
        "--cache-dir",
        &cache_dir.to_string_lossy(),
        "--private-ip",
    ]);
    let got = exec_args(&config);
    // The cache dir may be spelled through another path to the same directory.
    let mut comparable = got.clone();
    if let Some(at) = comparable.iter().position(|a| a == "--cache-dir")
        && fs::canonicalize(&comparable[at + 1]).ok() == fs::canonicalize(&cache_dir).ok()
    {
        comparable[at + 1] = cache_dir.to_string_lossy().into_owned();
    }
    assert_eq!(comparable, expected, "exec args\n{run}");
    assert_generated(
        &config,
        "mine",
        DEFAULT_CLUSTER_PRIVATE_SERVER,
        &fake.cluster_ca_pem(),
        &got,
        &run,
    );

    // kubectl's call: no request of any kind (no STS either).
    let before = fake.count();
    let get = base.args(&got).run_ok();
    assert_eq!(fake.count(), before, "{get}");
}

#[test]
fn kubeconfig_for_another_users_uid_repeats_uid_and_warms_its_entry() {
    let (fake, me) = cloud_with_meshes();
    fake.add_main_account_key(MAIN_KEY_ID, MAIN_KEY_SECRET);
    let base = Plugin::new(&fake).access_key(MAIN_KEY_ID, MAIN_KEY_SECRET);
    let run = base
        .clone()
        .args([
            "kubeconfig",
            "--cluster-id",
            CLUSTER,
            "--uid",
            me.uid.as_str(),
        ])
        .run_success();
    let record = only_request(&fake, &run);
    assert_eq!(
        record.action.as_deref(),
        Some(ACTION_SUBACCOUNT_USER_CONFIG),
        "{run}"
    );
    let config = yaml(&run.stdout, &run);
    let args = strings(&["get-credential", "--cluster-id", CLUSTER, "--uid", &me.uid]);
    assert_generated(
        &config,
        CLUSTER,
        DEFAULT_CLUSTER_PUBLIC_SERVER,
        &fake.cluster_ca_pem(),
        &args,
        &run,
    );
    let get = base.args(&args).run_ok();
    assert_eq!(fake.count(), 1, "{get}");
}

#[test]
fn kubeconfig_private_ip_writes_the_private_server() {
    let (fake, _) = cloud_with_meshes();
    // A cluster.
    let run = as_ram_user(&fake)
        .args(["kubeconfig", "--cluster-id", CLUSTER, "--private-ip"])
        .run_success();
    let record = only_request(&fake, &run);
    assert_eq!(
        record.query_param("PrivateIpAddress"),
        Some("true"),
        "{run}"
    );
    let config = yaml(&run.stdout, &run);
    let args = strings(&["get-credential", "--cluster-id", CLUSTER, "--private-ip"]);
    assert_generated(
        &config,
        CLUSTER,
        DEFAULT_CLUSTER_PRIVATE_SERVER,
        &fake.cluster_ca_pem(),
        &args,
        &run,
    );
    // A mesh.
    let run = as_ram_user(&fake)
        .args(["kubeconfig", "--mesh-id", MESH, "--private-ip"])
        .run_success();
    let record = fake.last_request().unwrap();
    assert_eq!(fake.count(), 2, "{run}");
    assert_eq!(form(&record, "PrivateIpAddress", &run), "true");
    let config = yaml(&run.stdout, &run);
    let args = strings(&["get-credential", "--mesh-id", MESH, "--private-ip"]);
    assert_generated(
        &config,
        MESH,
        DEFAULT_MESH_PRIVATE_SERVER,
        &fake.cluster_ca_pem(),
        &args,
        &run,
    );
}

#[test]
fn kubeconfig_output_writes_a_private_file_named_by_context() {
    let (fake, _) = cloud_with_meshes();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ack.kubeconfig");
    fs::write(&file, "old: contents\n").unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    let run = as_ram_user(&fake)
        .args([
            "kubeconfig",
            "--cluster-id",
            CLUSTER,
            "--context",
            "prod-hangzhou",
            "--output",
            &file.to_string_lossy(),
        ])
        .run_success();
    assert_eq!(run.stdout, "", "the YAML goes to the file only\n{run}");
    assert_stderr(
        &run,
        r"
wrote context prod-hangzhou to [tmp]/ack.kubeconfig",
    );
    assert_eq!(mode(&file), 0o600, "{run}");
    let text = fs::read_to_string(&file).unwrap();
    let config = yaml(&text, &run);
    assert_generated(
        &config,
        "prod-hangzhou",
        DEFAULT_CLUSTER_PUBLIC_SERVER,
        &fake.cluster_ca_pem(),
        &strings(&["get-credential", "--cluster-id", CLUSTER]),
        &run,
    );
    assert!(config.get("old").is_none(), "the file is replaced\n{run}");
    assert_no_credential(&text, &fake, &run);
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["ack.kubeconfig"], "no temporary file left\n{run}");
}

#[test]
fn kubeconfig_usage_errors_and_failures_write_nothing() {
    let (fake, _) = cloud_with_meshes();
    let p = as_ram_user(&fake);
    let file = p.home().join("out.kubeconfig");
    let file_arg = file.to_string_lossy().into_owned();
    p.clone()
        .args([
            "kubeconfig",
            "--cluster-id",
            CLUSTER,
            "--output",
            &file_arg,
            "--merge",
        ])
        .run_exit(2);
    p.clone().args(["kubeconfig"]).run_exit(2);
    p.clone()
        .args(["kubeconfig", "--cluster-id", CLUSTER, "--mesh-id", MESH])
        .run_exit(2);
    assert_eq!(fake.count(), 0, "{}", fake.dump());

    // An API failure: exit 1, nothing on stdout, no file, the existing kubeconfig untouched.
    let existing = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n";
    let kubeconfig = p.write_home_file(".kube/config", existing);
    let run = p
        .clone()
        .args([
            "kubeconfig",
            "--cluster-id",
            "c-no-such-cluster",
            "--output",
            &file_arg,
        ])
        .run_exit(1);
    assert!(!file.exists(), "{run}");
    let run = p
        .clone()
        .args(["kubeconfig", "--mesh-id", "m-no-such-mesh", "--merge"])
        .run_exit(1);
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: DescribeServiceMeshKubeconfig for mesh m-no-such-mesh failed: ServiceMesh.NotFound: The specified service mesh m-no-such-mesh does not exist. (HTTP 404, RequestId: [request-id #1])
hint: check the mesh id `m-no-such-mesh`: the mesh must exist in the account of these credentials",
    );
    assert_eq!(fs::read_to_string(&kubeconfig).unwrap(), existing, "{run}");
}
