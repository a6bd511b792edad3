//! Real kubectl with what `kubeconfig` wrote, unedited: every kubectl through the plugin for a
//! cluster and a mesh (no API call: `kubeconfig` warmed the cache), and a merged file with which
//! kubectl reaches both the new context and the one that was there.

use super::*;
use crate::support::apiserver::ApiServer;
use crate::support::cloud_behind_apiserver;
use crate::support::kubectl::{check_pods, for_every_kubectl, kubectl_with_credentials, kubectls};
use crate::support::test_ca::TestCa;

/// For a cluster: `kubeconfig` (with --cs-endpoint and --cache-dir as flags, so they land in the
/// exec args) printed to stdout, written verbatim to a file, then every kubectl with it; the
/// kubectl calls make no API call.
#[test]
fn kubectl_uses_the_generated_cluster_kubeconfig_unedited() {
    let (cloud, caller, api) = cloud_behind_apiserver();
    cloud.add_cluster(CLUSTER, &api.url(), &api.url(), api.ca_pem());
    let sandbox = tempfile::tempdir().unwrap();
    let endpoint = cloud.endpoint();

    for_every_kubectl(|round, kubectl| {
        let bin = &kubectl.path;
        let dir = sandbox.path().join(format!("round-{round}"));
        let home = dir.join("home");
        fs::create_dir_all(&home).unwrap();
        let cache = dir.join("plugin-cache");
        let run = Plugin::new(&cloud)
            .env_remove("ACK_CS_ENDPOINT")
            .env_remove("ACK_CACHE_DIR")
            .access_key(KEY_ID, KEY_SECRET)
            .args([
                "kubeconfig",
                "--cluster-id",
                CLUSTER,
                "--cs-endpoint",
                &endpoint,
                "--cache-dir",
                &cache.to_string_lossy(),
            ])
            .run();
        if !run.status.success() {
            return Err(format!("`kubeconfig` failed:\n{run}"));
        }
        let kubeconfig = dir.join("kubeconfig");
        fs::write(&kubeconfig, &run.stdout).unwrap();
        let calls = cloud.count();
        api.clear_requests();
        check_pods(|args| kubectl_with_credentials(bin, &home, &kubeconfig, &[], args))?;
        if cloud.count() != calls {
            return Err(format!(
                "kubectl after `kubeconfig` made {} API call(s):\n{}",
                cloud.count() - calls,
                cloud.dump()
            ));
        }
        api.check_cn(&caller.uid)?;
        api.check_every_status(200)
    });
    assert_eq!(cloud.successes(), kubectls().len(), "{}", cloud.dump());
}

/// For a mesh: `kubeconfig --output` (with --asm-endpoint as a flag), the cache in kubectl's
/// HOME (`$KUBECACHEDIR`, the HOME default), then every kubectl with the file.
#[test]
fn kubectl_uses_the_generated_mesh_kubeconfig_unedited() {
    let (cloud, caller, api) = cloud_behind_apiserver();
    cloud.add_mesh(MESH, &api.url(), &api.url(), api.ca_pem());
    let sandbox = tempfile::tempdir().unwrap();
    let asm = cloud.asm_endpoint();

    for_every_kubectl(|round, kubectl| {
        let bin = &kubectl.path;
        let dir = sandbox.path().join(format!("round-{round}"));
        let home = dir.join("home");
        fs::create_dir_all(&home).unwrap();
        let kubeconfig = dir.join("mesh.kubeconfig");
        let run = Plugin::new(&cloud)
            .env_remove("ACK_CS_ENDPOINT")
            .env_remove("ACK_CACHE_DIR")
            .env("HOME", home.to_string_lossy())
            .access_key(KEY_ID, KEY_SECRET)
            .args([
                "kubeconfig",
                "--mesh-id",
                MESH,
                "--asm-endpoint",
                &asm,
                "--output",
                &kubeconfig.to_string_lossy(),
            ])
            .run();
        if !run.status.success() {
            return Err(format!("`kubeconfig` failed:\n{run}"));
        }
        let calls = cloud.count();
        api.clear_requests();
        check_pods(|args| kubectl_with_credentials(bin, &home, &kubeconfig, &[], args))?;
        if cloud.count() != calls {
            return Err(format!(
                "kubectl after `kubeconfig` made {} API call(s):\n{}",
                cloud.count() - calls,
                cloud.dump()
            ));
        }
        api.check_cn(&caller.uid)?;
        api.check_every_status(200)
    });
    assert_eq!(cloud.successes(), kubectls().len(), "{}", cloud.dump());
}

/// A kubeconfig holding only the context `other` (cluster, user and context of that name, a
/// static client certificate, server `server` trusting `server_ca`), current, with preferences
/// and a namespace that must survive.
fn other_kubeconfig(server: &str, server_ca: &str, cert: &str, key: &str) -> String {
    format!(
        "apiVersion: v1\n\
         kind: Config\n\
         preferences:\n  colors: true\n\
         clusters:\n\
         - name: other\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\n\
         users:\n\
         - name: other\n  user:\n    client-certificate-data: {cert}\n    client-key-data: {key}\n\
         contexts:\n\
         - name: other\n  context:\n    cluster: other\n    user: other\n    namespace: team-a\n\
         current-context: other\n",
        ca = BASE64.encode(server_ca),
        cert = BASE64.encode(cert),
        key = BASE64.encode(key),
    )
}

/// Merging into ~/.kube/config keeps the other context as it was and the current context,
/// changes the current context only when asked, is idempotent to the byte, and leaves a file
/// with which kubectl reaches both servers: the new one through the plugin (no API call), the
/// other one with its static certificate.
#[test]
fn merge_keeps_the_other_context_and_kubectl_uses_both() {
    let (cloud, caller, api) = cloud_behind_apiserver();
    cloud.add_cluster(CLUSTER, &api.url(), &api.url(), api.ca_pem());
    let static_ca = TestCa::new("static-client-ca");
    let (static_cert, static_key) = static_ca.client_cert("static-user");
    let other_api = ApiServer::start(&static_ca.pem());
    other_api.require_cn(Some("static-user"));

    let p = Plugin::new(&cloud).access_key(KEY_ID, KEY_SECRET);
    let before_text = other_kubeconfig(
        &other_api.url(),
        other_api.ca_pem(),
        &static_cert,
        &static_key,
    );
    let path = p.write_home_file(".kube/config", &before_text);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let merge = p
        .clone()
        .args(["kubeconfig", "--cluster-id", CLUSTER, "--merge"]);

    let run = merge.run_success();
    assert_eq!(run.stdout, "", "{run}");
    assert_stderr(
        &run,
        r"
merged context c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a into [home]/.kube/config",
    );
    assert_eq!(cloud.count(), 1, "{run}");
    assert_eq!(mode(&path), 0o644, "the file keeps its mode\n{run}");
    let once = fs::read_to_string(&path).unwrap();
    let before = yaml(&before_text, &run);
    let after = yaml(&once, &run);
    assert_eq!(
        other_entries(&after),
        other_entries(&before),
        "{once}\n{run}"
    );
    assert_eq!(after["preferences"], before["preferences"], "{once}");
    assert_eq!(after["current-context"], "other", "{once}\n{run}");
    for section in ["clusters", "users", "contexts"] {
        assert_eq!(
            after[section].as_sequence().map(Vec::len),
            Some(2),
            "{once}"
        );
    }
    assert_eq!(
        entry(&after, "clusters", CLUSTER)["cluster"]["server"],
        api.url().as_str()
    );
    let context = &entry(&after, "contexts", CLUSTER)["context"];
    assert_eq!(context["cluster"], CLUSTER, "{once}");
    assert_eq!(context["user"], CLUSTER, "{once}");
    let exec = &entry(&after, "users", CLUSTER)["user"]["exec"];
    let args: Vec<&str> = exec["args"]
        .as_sequence()
        .expect("exec args")
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(args, ["get-credential", "--cluster-id", CLUSTER], "{once}");
    assert_eq!(exec["interactiveMode"], "Never", "{once}");
    let without_other_key = once
        .replace(&BASE64.encode(&static_key), "")
        .replace(&BASE64.encode(&static_cert), "");
    assert_no_credential(&without_other_key, &cloud, &run);

    // Merging again: byte-identical (and another fetch is fine, but the file must not change).
    let run = merge.run_success();
    assert_eq!(fs::read_to_string(&path).unwrap(), once, "{run}");
    assert_eq!(mode(&path), 0o644, "{run}");

    // --set-current-context switches, and nothing else changes.
    let run = merge.clone().arg("--set-current-context").run_success();
    let switched = fs::read_to_string(&path).unwrap();
    let switched_yaml = yaml(&switched, &run);
    assert_eq!(
        switched_yaml["current-context"], CLUSTER,
        "{switched}\n{run}"
    );
    assert_eq!(
        other_entries(&switched_yaml),
        other_entries(&before),
        "{run}"
    );
    for section in ["clusters", "users", "contexts"] {
        assert_eq!(switched_yaml[section], after[section], "{section}\n{run}");
    }
    let run = merge.clone().arg("--set-current-context").run_success();
    assert_eq!(fs::read_to_string(&path).unwrap(), switched, "{run}");

    // kubectl with the merged file: the new context through the plugin, from the cache.
    let bin = kubectls()[0].path.clone();
    let cache = p.cache_path().to_string_lossy().into_owned();
    let endpoint = cloud.endpoint();
    let env = [
        ("ACK_CS_ENDPOINT", endpoint.as_str()),
        ("ACK_CACHE_DIR", cache.as_str()),
    ];
    let calls = cloud.count();
    let new_context = format!("--context={CLUSTER}");
    check_pods(|args| {
        let mut all = vec![new_context.as_str()];
        all.extend_from_slice(args);
        kubectl_with_credentials(&bin, p.home(), &path, &env, &all)
    })
    .unwrap();
    assert_eq!(cloud.count(), calls, "{}", cloud.dump());
    api.check_cn(&caller.uid).unwrap();
    api.check_every_status(200).unwrap();
    // ... and the other context still with its own server and static certificate.
    check_pods(|args| {
        let mut all = vec!["--context=other"];
        all.extend_from_slice(args);
        kubectl_with_credentials(&bin, p.home(), &path, &env, &all)
    })
    .unwrap();
    other_api.check_cn("static-user").unwrap();
    other_api.check_every_status(200).unwrap();
    assert_eq!(cloud.count(), calls, "{}", cloud.dump());
}
