//! kubeconfig --api-version.

use super::*;
use crate::support::cloud_behind_apiserver;
use crate::support::kubectl::{kubectl_with_credentials, pods_listed};

/// `kubeconfig --api-version v1beta1` writes a v1beta1 exec entry, and every kubectl reaches the
/// cluster with it: kubectl asks for v1beta1 and the plugin answers in it.
#[test]
fn a_v1beta1_kubeconfig_works_with_every_kubectl() {
    let (fake, caller, api) = cloud_behind_apiserver();
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
        let out = kubectl_with_credentials(
            bin,
            &home,
            &kubeconfig,
            &[],
            &["get", "--raw", "/api/v1/namespaces/default/pods"],
        );
        pods_listed(&out)?;
        api.check_cn(&caller.uid)
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
