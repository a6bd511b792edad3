//! Real kubectl runs the real plugin from a kubeconfig: the certificate comes from the fake
//! cloud, is cached, and is never handed to another identity.

use super::*;

/// Real kubectl runs the real plugin from a kubeconfig: the plugin fetches a certificate from the
/// fake cloud, and the API server, which only answers requests carrying a certificate from the
/// fake cloud's CA with the caller's uid as CN, serves the pods. The second kubectl call of each
/// pair is a cache hit: no request reaches the fake cloud.
#[test]
fn kubectl_reaches_the_cluster_through_the_plugin() {
    let cloud = FakeCloud::start();
    let caller = cloud.add_access_key("LTAIe2ecaller", "e2e-secret");
    let api = ApiServer::start(&cloud.client_ca_pem());
    api.require_cn(Some(&caller.uid));
    cloud.add_cluster("c-e2e", &api.url(), &api.url(), api.ca_pem());
    let sandbox = Sandbox::new();
    let endpoint = cloud.endpoint();

    for api_version in ["v1", "v1beta1"] {
        for_every_kubectl(|round, kubectl| {
            let bin = &kubectl.path;
            let cache = sandbox
                .path()
                .join(format!("plugin-cache-{api_version}-{round}"));
            let cache = cache.to_str().expect("UTF-8 path");
            let kubeconfig = sandbox.write(
                &format!("kubeconfig-plugin-{api_version}-{round}"),
                &exec_kubeconfig(
                    &api.url(),
                    api.ca_pem(),
                    Path::new(BIN),
                    &["get-credential", "--cluster-id", "c-e2e"],
                    &[
                        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIe2ecaller"),
                        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "e2e-secret"),
                        ("ACK_CS_ENDPOINT", &endpoint),
                        ("ACK_CACHE_DIR", cache),
                    ],
                    api_version,
                ),
            );
            let calls_before = cloud.count();
            api.clear_requests();
            let out = sandbox.kubectl(
                bin,
                &kubeconfig,
                &["get", "--raw", "/api/v1/namespaces/default/pods"],
            );
            pods_listed(&out)?;
            if cloud.count() != calls_before + 1 {
                return Err(format!(
                    "expected exactly one API call for a cold cache, saw {}:\n{}",
                    cloud.count() - calls_before,
                    cloud.dump()
                ));
            }
            // A second kubectl process: served from the plugin's cache.
            let out = sandbox.kubectl(bin, &kubeconfig, &["get", "pods", "-n", "default"]);
            quiet_success(&out)?;
            if cloud.count() != calls_before + 1 {
                return Err(format!(
                    "the second kubectl call was not a cache hit:\n{}",
                    cloud.dump()
                ));
            }
            api.check_cn(&caller.uid)
        });
    }
}

/// Another identity gets its own certificate, which the API server (expecting the first caller's
/// uid) refuses: a cached certificate is never handed to the wrong identity.
#[test]
fn kubectl_with_another_identity_gets_that_identitys_certificate() {
    let cloud = FakeCloud::start();
    let first = cloud.add_access_key("LTAIfirst", "first-secret");
    let second = cloud.add_access_key("LTAIsecond", "second-secret");
    let api = ApiServer::start(&cloud.client_ca_pem());
    api.require_cn(Some(&first.uid));
    cloud.add_cluster("c-e2e", &api.url(), &api.url(), api.ca_pem());
    let sandbox = Sandbox::new();
    let endpoint = cloud.endpoint();
    let cache = sandbox.path().join("shared-cache");
    let cache = cache.to_str().expect("UTF-8 path");
    let bin = kubectls()[0].path.clone();
    let kubeconfig_for = |name: &str, id: &str, secret: &str| {
        sandbox.write(
            name,
            &exec_kubeconfig(
                &api.url(),
                api.ca_pem(),
                Path::new(BIN),
                &["get-credential", "--cluster-id", "c-e2e"],
                &[
                    ("ALIBABA_CLOUD_ACCESS_KEY_ID", id),
                    ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", secret),
                    ("ACK_CS_ENDPOINT", &endpoint),
                    ("ACK_CACHE_DIR", cache),
                ],
                "v1",
            ),
        )
    };
    let first_config = kubeconfig_for("first", "LTAIfirst", "first-secret");
    let second_config = kubeconfig_for("second", "LTAIsecond", "second-secret");
    let args = ["get", "--raw", "/api/v1/namespaces/default/pods"];

    let out = sandbox.kubectl(&bin, &first_config, &args);
    quiet_success(&out).unwrap();
    let out = sandbox.kubectl(&bin, &second_config, &args);
    expect_failure_line(
        &out,
        &format!(
            r#"Error from server (Forbidden): /api/v1/namespaces/default/pods is forbidden: User "{}" cannot get path "/api/v1/namespaces/default/pods""#,
            second.uid
        ),
    )
    .unwrap();
    assert_eq!(
        cloud.count(),
        2,
        "each identity fetched its own:\n{}",
        cloud.dump()
    );
    let cns: Vec<_> = api
        .requests()
        .into_iter()
        .filter_map(|r| r.client_cn)
        .collect();
    assert!(
        cns.contains(&first.uid) && cns.contains(&second.uid),
        "{cns:?}"
    );
    // And the first identity is still served its own, from the cache.
    let out = sandbox.kubectl(&bin, &first_config, &args);
    quiet_success(&out).unwrap();
    assert_eq!(cloud.count(), 2);
}
