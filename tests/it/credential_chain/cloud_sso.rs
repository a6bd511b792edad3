//! aliyun CLI profiles of mode CloudSSO, as `aliyun configure --mode CloudSSO` writes them: the
//! portal's `/cloud-credentials` with the profile's bearer token gives the access
//! configuration's STS key; an expired or refused sign-in says how to sign in again; the CLI's
//! config.json is never written.

use super::*;
use crate::support::CLUSTER_2;
use crate::support::fake_cloud::{ACTION_CLOUD_SSO_CREDENTIALS, CloudSsoUser};

const SSO_ACCOUNT: &str = "1987654321098765";
const SSO_ACCESS_CONFIG: &str = "ac-0123456789abcdef";

/// A CloudSSO profile `sso` as the CLI writes it after a sign-in (and after it used the
/// profile once: the STS keys it cached beside the token, which the plugin does not read).
fn sso_profile(fake: &FakeCloud, user: &CloudSsoUser, expires_in: chrono::TimeDelta) -> Value {
    let expire = (chrono::Utc::now() + expires_in).timestamp();
    json!({
        "name": "sso",
        "mode": "CloudSSO",
        "region_id": "cn-hangzhou",
        "output_format": "json",
        "language": "en",
        "cloud_sso_sign_in_url": fake.cloud_sso_sign_in_url(),
        "access_token": user.access_token,
        "cloud_sso_access_token_expire": expire,
        "cloud_sso_access_config": user.access_config,
        "cloud_sso_account_id": user.account_id,
        "access_key_id": "STS.CachedByTheCli0001",
        "access_key_secret": "cached-by-the-cli-secret",
        "sts_token": "cached-by-the-cli-token",
        "sts_expiration": expire,
    })
}

/// The plugin with HOME's config.json holding `profiles` (current: `sso`).
fn sso_plugin<'a>(
    fake: &'a FakeCloud,
    user: &CloudSsoUser,
    profiles: Vec<Value>,
) -> (Plugin<'a>, PathBuf) {
    let plugin = plugin(fake)
        .secret(&user.access_token)
        .secret("cached-by-the-cli-secret")
        .secret("cached-by-the-cli-token");
    let config = write_cli_config(&plugin, "sso", profiles);
    (plugin, config)
}

#[test]
fn a_cloud_sso_profile_gets_the_access_configurations_role_from_the_portal() {
    let (fake, _) = cloud();
    let user = fake.add_cloud_sso_user(SSO_ACCOUNT, SSO_ACCESS_CONFIG);
    let profile = sso_profile(&fake, &user, chrono::TimeDelta::hours(8));
    let (plugin, config) = sso_plugin(&fake, &user, vec![profile]);
    let written = fs::read(&config).unwrap();

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &user.principal, "the access configuration's role");
    let calls = fake.cloud_sso_calls();
    assert_eq!(calls.len(), 1, "{run}");
    assert_eq!(
        calls[0].authorization.as_deref(),
        Some(format!("Bearer {}", user.access_token).as_str())
    );
    assert_eq!(calls[0].content_type.as_deref(), Some("application/json"));
    assert_eq!(
        calls[0].body,
        json!({"AccountId": SSO_ACCOUNT, "AccessConfigurationId": SSO_ACCESS_CONFIG})
    );
    let request = only(&fake, ACTION_CLOUD_SSO_CREDENTIALS, &run);
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/cloud-credentials")
    );
    // The cluster call is signed with the portal's STS key, not the CLI's cached one.
    let grant = fake.grants().remove(0);
    let cs = only(&fake, ACTION_USER_CONFIG, &run);
    assert_eq!(cs.access_key_id.as_deref(), Some(grant.key.id.as_str()));
    assert_source(
        &run,
        &format!(
            "CloudSSO access configuration {SSO_ACCESS_CONFIG} of account {SSO_ACCOUNT} at http://[fake] (aliyun CLI profile `sso` (CloudSSO) in [home]/.aliyun/config.json)"
        ),
    );
    assert_eq!(
        fs::read(&config).unwrap(),
        written,
        "config.json is never written for CloudSSO"
    );
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn a_second_cluster_reuses_the_portals_sts_key() {
    let (fake, _) = cloud();
    fake.add_cluster_with_defaults(CLUSTER_2);
    let user = fake.add_cloud_sso_user(SSO_ACCOUNT, SSO_ACCESS_CONFIG);
    let profile = sso_profile(&fake, &user, chrono::TimeDelta::hours(8));
    let (plugin, _) = sso_plugin(&fake, &user, vec![profile]);

    plugin.clone().run_ok();
    let run = plugin.clone().with_flag("--cluster-id", CLUSTER_2).run_ok();

    assert_cn(&run, &user.principal, "the access configuration's role");
    assert_action_count(&fake, ACTION_CLOUD_SSO_CREDENTIALS, 1, &run);
    assert_action_count(&fake, ACTION_USER_CONFIG, 2, &run);
}

#[test]
fn an_expired_cloud_sso_sign_in_says_to_sign_in_again_and_asks_nothing() {
    let (fake, _) = cloud();
    let user = fake.add_cloud_sso_user(SSO_ACCOUNT, SSO_ACCESS_CONFIG);
    let profile = sso_profile(&fake, &user, -chrono::TimeDelta::minutes(1));
    let (plugin, _) = sso_plugin(&fake, &user, vec![profile]);

    let run = plugin.run_exit(1);

    assert_stderr(
        &run,
        "ack-credential-plugin: error: the CloudSSO access token of aliyun CLI profile `sso` expired at [time]: sign in again with `aliyun configure --profile sso --mode CloudSSO`",
    );
    assert_eq!(
        fake.count(),
        0,
        "nothing is asked with an expired token\n{run}"
    );
}

#[test]
fn an_empty_cloud_sso_token_says_to_sign_in() {
    let (fake, _) = cloud();
    let user = fake.add_cloud_sso_user(SSO_ACCOUNT, SSO_ACCESS_CONFIG);
    let mut profile = sso_profile(&fake, &user, chrono::TimeDelta::hours(8));
    profile["access_token"] = "".into();
    let (plugin, _) = sso_plugin(&fake, &user, vec![profile]);

    let run = plugin.run_exit(1);

    assert_stderr(
        &run,
        "ack-credential-plugin: error: the CloudSSO access token of aliyun CLI profile `sso` is empty: sign in again with `aliyun configure --profile sso --mode CloudSSO`",
    );
    assert_eq!(fake.count(), 0, "{run}");
}

#[test]
fn a_token_the_portal_refuses_says_to_sign_in_again() {
    let (fake, _) = cloud();
    let user = fake.add_cloud_sso_user(SSO_ACCOUNT, SSO_ACCESS_CONFIG);
    let profile = sso_profile(&fake, &user, chrono::TimeDelta::hours(8));
    let (plugin, _) = sso_plugin(&fake, &user, vec![profile]);
    fake.revoke_cloud_sso_token(&user.access_token);

    let run = plugin.run_exit(1);

    assert_stderr(
        &run,
        "ack-credential-plugin: error: cannot get credentials from the CloudSSO portal http://[fake] for aliyun CLI profile `sso` (CloudSSO) in [home]/.aliyun/config.json: it answered HTTP 401, Code: InvalidAccessToken, Message: The access token is invalid or has expired., RequestId: [request-id #0]; sign in again with `aliyun configure --profile sso --mode CloudSSO`",
    );
    assert_action_count(&fake, ACTION_USER_CONFIG, 0, &run);
}

#[test]
fn a_cloud_sso_profile_as_a_chains_source_is_assumed_on() {
    let (fake, _) = cloud();
    let user = fake.add_cloud_sso_user(SSO_ACCOUNT, SSO_ACCESS_CONFIG);
    let arn = role_arn("after-sso");
    let role = fake.add_role(&arn);
    fake.allow_assume(&arn, &user.principal);
    let sso = sso_profile(&fake, &user, chrono::TimeDelta::hours(8));
    let chained = cli_profile(
        "admin",
        "ChainableRamRoleArn",
        json!({"source_profile": "sso", "ram_role_arn": arn}),
    );
    let (plugin, _) = sso_plugin(&fake, &user, vec![sso, chained]);

    let run = plugin.args(["--profile", "admin"]).run_ok();

    assert_cn(&run, &role, "the role assumed with the portal's key");
    let assumed = only(&fake, ACTION_ASSUME_ROLE, &run);
    assert_eq!(
        assumed.access_key_id.as_deref(),
        Some(fake.grants()[0].key.id.as_str()),
        "{run}"
    );
}
