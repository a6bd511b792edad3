//! Real kubectl runs the real plugin with aliyun CLI profiles of mode CloudSSO and OAuth, as
//! `aliyun configure` writes them: the certificate comes through the CloudSSO portal or the
//! OAuth site of the fake cloud, and the API server sees the signed-in user's identity.

use chrono::TimeDelta;
use serde_json::json;

use super::*;

/// The aliyun CLI's client id at the CN OAuth site.
const CN_CLIENT_ID: &str = "4038181954557748008";

/// kubectl (every one on this machine, each with a cache of its own) gets the pods with the
/// plugin reading `config` (a config.json) and the extra variables `env`; the API server
/// demands `uid`'s certificate.
fn kubectl_works_with(cloud: &FakeCloud, api: &ApiServer, config: &Path, env: &[(&str, &str)]) {
    let sandbox = Sandbox::new();
    let endpoint = cloud.endpoint();
    for_every_kubectl(|round, kubectl| {
        let cache = sandbox.path().join(format!("plugin-cache-{round}"));
        let mut variables = vec![
            (
                "ALIBABA_CLOUD_CONFIG_FILE",
                config.to_str().expect("UTF-8 path"),
            ),
            ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true"),
            ("ACK_CS_ENDPOINT", endpoint.as_str()),
            ("ACK_CACHE_DIR", cache.to_str().expect("UTF-8 path")),
        ];
        variables.extend_from_slice(env);
        let kubeconfig = sandbox.write(
            &format!("kubeconfig-{round}"),
            &exec_kubeconfig(
                &api.url(),
                api.ca_pem(),
                Path::new(BIN),
                &["get-credential", "--cluster-id", "c-e2e"],
                &variables,
                "v1",
            ),
        );
        let out = sandbox.kubectl(
            &kubectl.path,
            &kubeconfig,
            &["get", "--raw", "/api/v1/namespaces/default/pods"],
        );
        pods_listed(&out)
    });
}

#[test]
fn kubectl_works_with_a_cloud_sso_profile_as_the_cli_writes_it() {
    let cloud = FakeCloud::start();
    let user = cloud.add_cloud_sso_user("1987654321098765", "ac-0123456789abcdef");
    let api = ApiServer::start(&cloud.client_ca_pem());
    api.require_cn(Some(&user.principal.uid));
    cloud.add_cluster("c-e2e", &api.url(), &api.url(), api.ca_pem());
    let sandbox = Sandbox::new();
    let expire = (chrono::Utc::now() + TimeDelta::hours(8)).timestamp();
    let config = sandbox.write(
        "config.json",
        &json!({
            "current": "sso",
            "profiles": [{
                "name": "sso",
                "mode": "CloudSSO",
                "region_id": "cn-hangzhou",
                "output_format": "json",
                "language": "en",
                "cloud_sso_sign_in_url": cloud.cloud_sso_sign_in_url(),
                "access_token": user.access_token,
                "cloud_sso_access_token_expire": expire,
                "cloud_sso_access_config": user.access_config,
                "cloud_sso_account_id": user.account_id,
            }],
            "meta_path": ""
        })
        .to_string(),
    );

    kubectl_works_with(&cloud, &api, &config, &[]);

    assert!(!cloud.cloud_sso_calls().is_empty(), "{}", cloud.dump());
    assert!(
        api.requests()
            .iter()
            .all(|r| r.client_cn.as_deref() == Some(user.principal.uid.as_str())),
        "{:?}",
        api.requests()
    );
}

#[test]
fn kubectl_works_with_an_oauth_profile_as_the_cli_writes_it() {
    let cloud = FakeCloud::start();
    let (user, tokens) = cloud.add_oauth_user(CN_CLIENT_ID, TimeDelta::minutes(10));
    let api = ApiServer::start(&cloud.client_ca_pem());
    api.require_cn(Some(&user.principal.uid));
    cloud.add_cluster("c-e2e", &api.url(), &api.url(), api.ca_pem());
    let sandbox = Sandbox::new();
    let config = sandbox.write(
        "config.json",
        &json!({
            "current": "oauth",
            "profiles": [{
                "name": "oauth",
                "mode": "OAuth",
                "region_id": "cn-hangzhou",
                "output_format": "json",
                "language": "en",
                "oauth_site_type": "CN",
                "oauth_access_token": tokens.access_token,
                "oauth_refresh_token": tokens.refresh_token,
                "oauth_access_token_expire": tokens.access_token_expire,
            }],
            "meta_path": ""
        })
        .to_string(),
    );
    let site = cloud.endpoint();

    kubectl_works_with(&cloud, &api, &config, &[("ACK_OAUTH_ENDPOINT", &site)]);

    // The first run refreshed the expiring token and wrote it back; the CLI can go on with it.
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    let refresh = written["profiles"][0]["oauth_refresh_token"]
        .as_str()
        .unwrap();
    assert_ne!(refresh, tokens.refresh_token);
    assert!(
        cloud.oauth_refresh_token_is_live(refresh),
        "{}",
        cloud.dump()
    );
}
