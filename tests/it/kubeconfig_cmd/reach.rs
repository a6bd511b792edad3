//! Real kubectl 1.27–1.33 with what `kubeconfig` wrote for an ACK One fleet, for a cluster
//! found by its name, and for every cluster of `--all`: each context reaches the TLS API server
//! with the certificate the fake issued to the caller, and no kubectl call reaches the API
//! (`kubeconfig` warmed the cache).

use super::*;
use crate::support::apiserver::ApiServer;
use crate::support::kubectl::{check_pods, for_every_kubectl, kubectl_with_credentials, kubectls};
use crate::support::{FLEET, cloud_behind_apiserver};

/// Runs `kubeconfig ARGS --output FILE` (with the fake's endpoints as flags, so they land in
/// the exec args, and a cache of its own) and returns the file.
fn generate(cloud: &FakeCloud, dir: &Path, args: &[&str]) -> Result<PathBuf, String> {
    let kubeconfig = dir.join("kubeconfig");
    let cache = dir.join("plugin-cache");
    let endpoint = cloud.endpoint();
    let run = Plugin::new(cloud)
        .env_remove("ACK_CS_ENDPOINT")
        .env_remove("ACK_ADCP_ENDPOINT")
        .env_remove("ACK_CACHE_DIR")
        .access_key(KEY_ID, KEY_SECRET)
        .arg("kubeconfig")
        .args(args.iter().copied())
        .args([
            "--cs-endpoint",
            &endpoint,
            "--adcp-endpoint",
            &endpoint,
            "--cache-dir",
            &cache.to_string_lossy(),
            "--output",
            &kubeconfig.to_string_lossy(),
        ])
        .run();
    if run.status.success() {
        Ok(kubeconfig)
    } else {
        Err(format!("`kubeconfig` failed:\n{run}"))
    }
}

/// Every kubectl, with `--context=NAME` for each of `contexts`, reads the pods through the
/// plugin without an API call.
fn check_contexts(
    cloud: &FakeCloud,
    api: &ApiServer,
    uid: &str,
    kubeconfig: &Path,
    home: &Path,
    contexts: &[&str],
    bin: &Path,
) -> Result<(), String> {
    let calls = cloud.count();
    for context in contexts {
        api.clear_requests();
        let flag = format!("--context={context}");
        check_pods(|args| {
            let mut all = vec![flag.as_str()];
            all.extend_from_slice(args);
            kubectl_with_credentials(bin, home, kubeconfig, &[], &all)
        })
        .map_err(|e| format!("context {context}: {e}"))?;
        api.check_cn(uid)?;
        api.check_every_status(200)?;
    }
    if cloud.count() == calls {
        Ok(())
    } else {
        Err(format!(
            "kubectl after `kubeconfig` made {} API call(s):\n{}",
            cloud.count() - calls,
            cloud.dump()
        ))
    }
}

#[test]
fn kubectl_reaches_the_hub_of_a_fleet() {
    let (cloud, caller, api) = cloud_behind_apiserver();
    cloud.add_fleet(FLEET, &api.url(), &api.url(), api.ca_pem());
    let sandbox = tempfile::tempdir().unwrap();
    for_every_kubectl(|round, kubectl| {
        let dir = sandbox.path().join(format!("round-{round}"));
        let home = dir.join("home");
        fs::create_dir_all(&home).unwrap();
        let kubeconfig = generate(&cloud, &dir, &["--fleet-id", FLEET])?;
        check_contexts(
            &cloud,
            &api,
            &caller.uid,
            &kubeconfig,
            &home,
            &[FLEET],
            &kubectl.path,
        )
    });
    assert_eq!(cloud.successes(), kubectls().len(), "{}", cloud.dump());
    assert!(cloud.requests().iter().all(|r| r.service == Service::ADCP));
}

#[test]
fn kubectl_reaches_a_cluster_found_by_its_name() {
    let (cloud, caller, api) = cloud_behind_apiserver();
    cloud.add_cluster(CLUSTER, &api.url(), &api.url(), api.ca_pem());
    cloud.set_cluster_info(CLUSTER, "payments", "cn-shenzhen", "running");
    cloud.add_cluster_with_defaults("cother00000000000000000000000001");
    let sandbox = tempfile::tempdir().unwrap();
    for_every_kubectl(|round, kubectl| {
        let dir = sandbox.path().join(format!("round-{round}"));
        let home = dir.join("home");
        fs::create_dir_all(&home).unwrap();
        let kubeconfig = generate(&cloud, &dir, &["--cluster-name", "payments"])?;
        check_contexts(
            &cloud,
            &api,
            &caller.uid,
            &kubeconfig,
            &home,
            &["payments"],
            &kubectl.path,
        )
    });
    assert_eq!(cloud.successes(), kubectls().len(), "{}", cloud.dump());
}

/// One `kubeconfig --all` for three running clusters (two of one name), one deleting and one
/// refused; then every kubectl reaches each of the three contexts.
#[test]
fn kubectl_reaches_every_cluster_of_all() {
    let (cloud, caller, api) = cloud_behind_apiserver();
    let someone_else = cloud.add_access_key("LTAI5tSomeoneElse0001", "someoneElseSecret01");
    for (id, name, region, state) in [
        (
            "ca0000000000000000000000000000001",
            "shop",
            "cn-hangzhou",
            "running",
        ),
        (
            "ca0000000000000000000000000000002",
            "shop",
            "cn-beijing",
            "scaling",
        ),
        (
            "ca0000000000000000000000000000003",
            "data",
            "cn-beijing",
            "running",
        ),
        (
            "ca0000000000000000000000000000004",
            "legacy",
            "cn-beijing",
            "deleting",
        ),
        (
            "ca0000000000000000000000000000005",
            "secret",
            "cn-beijing",
            "running",
        ),
    ] {
        cloud.add_cluster(id, &api.url(), &api.url(), api.ca_pem());
        cloud.set_cluster_info(id, name, region, state);
    }
    cloud.allow_cluster("ca0000000000000000000000000000005", &someone_else);
    let sandbox = tempfile::tempdir().unwrap();
    let kubeconfig = generate(&cloud, sandbox.path(), &["--all"]).unwrap();
    let contexts = ["data", "shop-cn-beijing", "shop-cn-hangzhou"];
    let text = fs::read_to_string(&kubeconfig).unwrap();
    let config: Yaml = serde_yaml_ng::from_str(&text).unwrap();
    let names: Vec<&str> = config["contexts"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, contexts, "{text}");
    assert_eq!(cloud.successes(), 3, "{}", cloud.dump());
    for_every_kubectl(|round, kubectl| {
        let home = sandbox.path().join(format!("home-{round}"));
        fs::create_dir_all(&home).unwrap();
        check_contexts(
            &cloud,
            &api,
            &caller.uid,
            &kubeconfig,
            &home,
            &contexts,
            &kubectl.path,
        )
    });
    assert_eq!(cloud.successes(), 3, "{}", cloud.dump());
}
