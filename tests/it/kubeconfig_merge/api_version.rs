//! kubeconfig --api-version.

use super::*;

/// `kubeconfig --api-version v1beta1` writes a v1beta1 exec entry, and every kubectl reaches the
/// cluster with it: kubectl asks for v1beta1 and the plugin answers in it.
#[test]
fn a_v1beta1_kubeconfig_works_with_every_kubectl() {
    let fake = FakeCloud::start();
    let caller = fake.add_access_key(KEY_ID, KEY_SECRET);
    let api = ApiServer::start(&fake.client_ca_pem());
    api.require_cn(Some(&caller.uid));
    fake.add_cluster(CLUSTER, &api.url(), &api.url(), api.ca_pem());
    let sandbox = tempfile::tempdir().unwrap();
    let endpoint = fake.endpoint();
    for_every_kubectl(|round, k| {
        let bin = k.path.as_path();
        let dir = sandbox.path().join(format!("round-{round}"));
        let home = dir.join("home");
        fs::create_dir_all(&home).unwrap();
        let kubeconfig = dir.join("kubeconfig");
        let cache = dir.join("cache");
        let run = plugin(&fake)
            .env_remove("ACK_CS_ENDPOINT")
            .env_remove("ACK_CACHE_DIR")
            .args([
                "kubeconfig",
                "--cluster-id",
                CLUSTER,
                "--api-version",
                "v1beta1",
            ])
            .args([
                "--cs-endpoint",
                &endpoint,
                "--cache-dir",
                &cache.to_string_lossy(),
            ])
            .args(["--output", &kubeconfig.to_string_lossy()])
            .run();
        if !run.status.success() {
            return Err(format!("`kubeconfig` failed:\n{run}"));
        }
        let text = fs::read_to_string(&kubeconfig).unwrap();
        if !text.contains(&format!("apiVersion: {V1BETA1}\n")) {
            return Err(format!("no v1beta1 exec entry:\n{text}"));
        }
        api.clear_requests();
        let mut cmd = kubectl::kubectl_command(bin, &home, &kubeconfig);
        cmd.env("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID)
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", KEY_SECRET)
            .env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
            .args(["get", "--raw", "/api/v1/namespaces/default/pods"]);
        let out = kubectl::run_command(cmd, kubectl::PROCESS_TIMEOUT);
        if !out.success() || !out.stderr.trim().is_empty() || !out.stdout.contains(POD_NAME) {
            return Err(format!("{out}"));
        }
        let requests = api.requests();
        if requests.is_empty()
            || !requests
                .iter()
                .all(|r| r.client_cert_verified && r.client_cn.as_deref() == Some(&caller.uid))
        {
            return Err(format!(
                "requests without the caller's certificate: {requests:?}"
            ));
        }
        Ok(())
    });
}

/// The default stays v1 in the kubeconfig, and `get-credential` keeps its own rule: v1beta1
/// without `KUBERNETES_EXEC_INFO` and `--api-version`, else what they say.
#[test]
fn api_version_defaults_stay_as_they_were() {
    let fake = cloud();
    let run = succeed(
        plugin(&fake)
            .args(["kubeconfig", "--cluster-id", CLUSTER])
            .run(),
    );
    assert!(run.stdout.contains(&format!("apiVersion: {V1}\n")), "{run}");
    let get = |extra: &[&str], info: Option<&str>| {
        let mut p = plugin(&fake)
            .args(["get-credential", "--cluster-id", CLUSTER])
            .args(extra.iter().copied());
        if let Some(info) = info {
            p = p.env("KUBERNETES_EXEC_INFO", info);
        }
        p.run_ok().credential().api_version
    };
    assert_eq!(get(&[], None), V1BETA1);
    assert_eq!(get(&["--api-version", "v1"], None), V1);
    assert_eq!(get(&["--api-version", "v1beta1"], None), V1BETA1);
    let info = format!(
        r#"{{"apiVersion":"{V1}","kind":"ExecCredential","spec":{{"interactive":false}}}}"#
    );
    assert_eq!(get(&["--api-version", "v1beta1"], Some(&info)), V1);
}

/// `--api-version` is in `kubeconfig --help` and in the completions.
#[test]
fn api_version_is_in_the_help_and_the_completions() {
    let fake = cloud();
    let help = plugin(&fake).args(["kubeconfig", "--help"]).run();
    assert!(help.status.success(), "{help}");
    assert!(
        help.stdout.contains("--api-version <VERSION>")
            && help.stdout.contains("[possible values: v1, v1beta1]"),
        "{help}"
    );
    let bash = plugin(&fake).args(["completions", "bash"]).run();
    assert!(bash.status.success(), "{bash}");
    let kubeconfig_options = bash
        .stdout
        .split("__plugin__subcmd__kubeconfig)")
        .nth(1)
        .and_then(|section| {
            section
                .lines()
                .find(|l| l.trim_start().starts_with("opts="))
        })
        .unwrap_or_else(|| panic!("no kubeconfig options\n{bash}"));
    assert!(
        kubeconfig_options.contains("--api-version"),
        "{kubeconfig_options}"
    );
}
