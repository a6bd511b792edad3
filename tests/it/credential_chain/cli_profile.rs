//! Step 3 of the chain: the aliyun CLI's `~/.aliyun/config.json`: keys (AK, StsToken), the
//! modes that name another source (EcsRamRole, OIDC, CredentialsURI) and a missing `mode`.
//! Role modes are in `cli_roles.rs`, External in `external.rs`.

use super::*;

#[test]
fn cli_ak_profile_is_used() {
    let (fake, _) = cloud();
    let me = fake.add_access_key("LTAIcliAk000001", "cli-ak-secret-01");
    let plugin = plugin(&fake).secret("cli-ak-secret-01");
    write_cli_config(
        &plugin,
        "work",
        vec![cli_profile(
            "work",
            "AK",
            json!({
                "access_key_id": "LTAIcliAk000001",
                "access_key_secret": "cli-ak-secret-01",
                "region_id": "cn-hangzhou",
            }),
        )],
    );

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &me, "the AK profile's key");
    assert_source(
        &run,
        "AccessKey LTAIcliAk000001 from aliyun CLI profile `work` (AK) in [home]/.aliyun/config.json",
    );
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn cli_sts_token_profile_sends_its_token() {
    let (fake, _) = cloud();
    let me = fake.add_sts_key(
        "STS.cliToken0001",
        "cli-sts-secret-01",
        "cli-sts-token+01/=",
    );
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "temp",
        vec![cli_profile(
            "temp",
            "StsToken",
            json!({
                "access_key_id": "STS.cliToken0001",
                "access_key_secret": "cli-sts-secret-01",
                "sts_token": "cli-sts-token+01/=",
            }),
        )],
    );

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &me, "the StsToken profile's key");
    assert_eq!(
        fake.last_request().unwrap().header("x-acs-security-token"),
        Some("cli-sts-token+01/="),
        "{run}"
    );
    assert_source(
        &run,
        "STS token STS.cliToken0001 from aliyun CLI profile `temp` (StsToken) in [home]/.aliyun/config.json",
    );
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn cli_ecs_ram_role_profile_uses_the_named_role() {
    let (fake, _) = cloud();
    let role = fake.set_ecs_role("node-role");
    let plugin = ecs_plugin(&fake);
    write_cli_config(
        &plugin,
        "ecs",
        vec![cli_profile(
            "ecs",
            "EcsRamRole",
            json!({"ram_role_name": "node-role"}),
        )],
    );

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &role, "the ECS role");
    assert_action_count(&fake, ACTION_IMDS_ROLE_NAME, 0, &run);
    let credentials = only(&fake, ACTION_IMDS_CREDENTIALS, &run);
    assert_eq!(
        credentials.path,
        "/latest/meta-data/ram/security-credentials/node-role"
    );
    assert_source(
        &run,
        "ECS instance RAM role node-role (aliyun CLI profile `ecs` (EcsRamRole) in [home]/.aliyun/config.json)",
    );
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn cli_oidc_profile_assumes_the_role_with_the_token_file() {
    let (fake, _) = cloud();
    let arn = role_arn("oidc-cli-role");
    let role = fake.add_role(&arn);
    fake.add_oidc_provider(OIDC_PROVIDER, "jwt-from-cli-profile");
    let plugin = plugin(&fake);
    let token_file = plugin.write_home_file("tokens/oidc", "jwt-from-cli-profile");
    write_cli_config(
        &plugin,
        "oidc",
        vec![cli_profile(
            "oidc",
            "OIDC",
            json!({
                "ram_role_arn": arn,
                "oidc_provider_arn": OIDC_PROVIDER,
                "oidc_token_file": token_file.display().to_string(),
                "ram_session_name": "cli-oidc",
            }),
        )],
    );

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &role, "the OIDC role");
    let record = only(&fake, ACTION_ASSUME_ROLE_WITH_OIDC, &run);
    assert_sts_form_post(&record, &run);
    assert_eq!(record.form_param("RoleSessionName"), Some("cli-oidc"));
    assert_eq!(record.param("Signature"), None, "{run}");
    assert_source(
        &run,
        &format!(
            "RAM role {arn} through OIDC provider {OIDC_PROVIDER} with the token in [home]/tokens/oidc (aliyun CLI profile `oidc` (OIDC) in [home]/.aliyun/config.json), assumed at http://[fake] for 3600 s"
        ),
    );
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn cli_credentials_uri_profile_gets_keys_from_the_uri() {
    let (fake, _) = cloud();
    let (uri, principal) = fake.add_credentials_uri("cli-profile");
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "uri",
        vec![cli_profile(
            "uri",
            "CredentialsURI",
            json!({"credentials_uri": uri}),
        )],
    );

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &principal, "the credentials URI's principal");
    let record = only(&fake, ACTION_CREDENTIALS_URI, &run);
    assert_eq!(record.method, "GET", "{run}");
    assert_source(
        &run,
        "the credentials URI of credentials-uri:http://[fake]/credentials-uri/cli-profile #[hash] (aliyun CLI profile `uri` (CredentialsURI) in [home]/.aliyun/config.json)",
    );
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn cli_profile_without_mode_is_inferred_as_ak_from_its_fields() {
    let (fake, _) = cloud();
    let me = fake.add_access_key("LTAInoMode00001", "no-mode-secret-01");
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "legacy",
        vec![cli_profile(
            "legacy",
            "",
            json!({"access_key_id": "LTAInoMode00001", "access_key_secret": "no-mode-secret-01"}),
        )],
    );

    let run = plugin.run_ok();

    assert_cn(&run, &me, "the profile's key");
}

#[test]
fn cli_profile_without_mode_but_with_a_role_is_inferred_as_ram_role_arn() {
    let (fake, _) = cloud();
    fake.add_access_key("LTAInoMode00002", "no-mode-secret-02");
    let arn = role_arn("inferred-role");
    let role = fake.add_role(&arn);
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "legacy",
        vec![cli_profile(
            "legacy",
            "",
            json!({
                "access_key_id": "LTAInoMode00002",
                "access_key_secret": "no-mode-secret-02",
                "ram_role_arn": arn,
            }),
        )],
    );

    let run = plugin.run_ok();

    assert_cn(&run, &role, "the inferred role");
    assert_action_count(&fake, ACTION_ASSUME_ROLE, 1, &run);
}
