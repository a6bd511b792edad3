//! aliyun CLI profiles that assume roles: RamRoleArn (its parameters and defaults) and
//! ChainableRamRoleArn (roles in a row, from any source profile).

use super::*;

#[test]
fn cli_ram_role_arn_profile_assumes_the_role_with_its_parameters() {
    let (fake, _) = cloud();
    let user = fake.add_access_key("LTAIroleSource01", "role-source-secret-01");
    let arn = role_arn("ack-developer");
    let role = fake.add_role(&arn);
    fake.allow_assume(&arn, &user);
    let policy =
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"cs:Get*","Resource":"*"}]}"#;
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "dev",
        vec![cli_profile(
            "dev",
            "RamRoleArn",
            json!({
                "access_key_id": "LTAIroleSource01",
                "access_key_secret": "role-source-secret-01",
                "ram_role_arn": arn,
                "ram_session_name": "alice.dev",
                "expired_seconds": 1800,
                "external_id": "ext-id-42",
                "policy": policy,
            }),
        )],
    );

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &role, "the assumed role");
    let record = only(&fake, ACTION_ASSUME_ROLE, &run);
    assert_sts_form_post(&record, &run);
    assert_eq!(record.outcome, Outcome::Granted, "{run}");
    assert_eq!(record.access_key_id.as_deref(), Some("LTAIroleSource01"));
    assert_eq!(record.signature_version(), Some("v3"), "{run}");
    assert_eq!(record.security_token(), None, "{run}");
    let grant = fake.grants().remove(0);
    assert_eq!(grant.role, arn);
    assert_eq!(
        grant.role_session_name.as_deref(),
        Some("alice.dev"),
        "{run}"
    );
    assert_eq!(grant.duration_seconds, Some(1800), "{run}");
    assert_eq!(grant.external_id.as_deref(), Some("ext-id-42"), "{run}");
    assert_eq!(grant.policy.as_deref(), Some(policy), "{run}");
    // The certificate was fetched with the role's STS key, token included.
    let cs = only(&fake, ACTION_USER_CONFIG, &run);
    assert_eq!(cs.access_key_id.as_deref(), Some(grant.key.id.as_str()));
    assert_source(
        &run,
        &format!(
            "RAM role {arn} (aliyun CLI profile `dev` (RamRoleArn) in [home]/.aliyun/config.json), assumed at http://[fake] for 1800 s with AccessKey LTAIroleSource01 from aliyun CLI profile `dev` (RamRoleArn) in [home]/.aliyun/config.json"
        ),
    );
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn cli_ram_role_arn_profile_defaults_to_an_hour_and_the_plugin_session_name() {
    let (fake, _) = cloud();
    fake.add_access_key("LTAIroleSource02", "role-source-secret-02");
    let arn = role_arn("ack-viewer");
    let role = fake.add_role(&arn);
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "viewer",
        vec![cli_profile(
            "viewer",
            "RamRoleArn",
            json!({
                "access_key_id": "LTAIroleSource02",
                "access_key_secret": "role-source-secret-02",
                "ram_role_arn": arn,
                "expired_seconds": 0,
            }),
        )],
    );

    let run = plugin.run_ok();

    assert_cn(&run, &role, "the assumed role");
    let record = only(&fake, ACTION_ASSUME_ROLE, &run);
    assert_eq!(
        record.form_param("DurationSeconds"),
        Some("3600"),
        "expired_seconds 0 means 3600\n{run}"
    );
    assert_eq!(
        record.form_param("RoleSessionName"),
        Some(DEFAULT_SESSION_NAME),
        "{run}"
    );
    assert_eq!(record.param("ExternalId"), None, "{run}");
    assert_eq!(record.param("Policy"), None, "{run}");
}

#[test]
fn cli_chainable_ram_role_arn_profile_assumes_two_roles_in_a_row() {
    let (fake, _) = cloud();
    let user = fake.add_access_key("LTAIchainBase01", "chain-base-secret-01");
    let [first, second] = role_chain(&fake, &user, "hop-one", "hop-two");
    let (first_arn, second_arn) = (&first.arn, &second.arn);
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "base",
        vec![
            cli_profile(
                "base",
                "AK",
                json!({"access_key_id": "LTAIchainBase01", "access_key_secret": "chain-base-secret-01"}),
            ),
            cli_profile(
                "hop1",
                "ChainableRamRoleArn",
                json!({"source_profile": "base", "ram_role_arn": first_arn, "ram_session_name": "hop1"}),
            ),
            cli_profile(
                "hop2",
                "ChainableRamRoleArn",
                json!({"source_profile": "hop1", "ram_role_arn": second_arn, "ram_session_name": "hop2"}),
            ),
        ],
    );
    let plugin = plugin.args(["--profile", "hop2"]);

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &second.principal, "the second role of the chain");
    let assumed = fake.requests_for(ACTION_ASSUME_ROLE);
    assert_eq!(assumed.len(), 2, "{run}");
    assert_eq!(assumed[0].form_param("RoleArn"), Some(first_arn.as_str()));
    assert_eq!(assumed[0].access_key_id.as_deref(), Some("LTAIchainBase01"));
    assert_eq!(assumed[1].form_param("RoleArn"), Some(second_arn.as_str()));
    let grants = fake.grants();
    assert_eq!(
        assumed[1].access_key_id.as_deref(),
        Some(grants[0].key.id.as_str()),
        "the second AssumeRole must be signed with the first role's STS key\n{run}"
    );
    assert_eq!(
        assumed[1].security_token(),
        grants[0].key.security_token.as_deref(),
        "{run}"
    );
    assert!(
        assumed.iter().all(|r| r.outcome == Outcome::Granted),
        "{run}"
    );
    assert_source(
        &run,
        &format!(
            "RAM role {second_arn} (aliyun CLI profile `hop2` (ChainableRamRoleArn) in [home]/.aliyun/config.json), assumed at http://[fake] for 3600 s with RAM role {first_arn} (aliyun CLI profile `hop1` (ChainableRamRoleArn) in [home]/.aliyun/config.json), assumed at http://[fake] for 3600 s with AccessKey LTAIchainBase01 from aliyun CLI profile `base` (AK) in [home]/.aliyun/config.json"
        ),
    );
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn cli_chainable_profile_with_an_sts_token_source_signs_with_the_token() {
    let (fake, _) = cloud();
    let source = fake.add_sts_key("STS.chainSource1", "chain-sts-secret", "chain-sts-token+/=");
    let arn = role_arn("after-sts");
    let role = fake.add_role(&arn);
    fake.allow_assume(&arn, &source);
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "chained",
        vec![
            cli_profile(
                "sts",
                "StsToken",
                json!({
                    "access_key_id": "STS.chainSource1",
                    "access_key_secret": "chain-sts-secret",
                    "sts_token": "chain-sts-token+/=",
                }),
            ),
            cli_profile(
                "chained",
                "ChainableRamRoleArn",
                json!({"source_profile": "sts", "ram_role_arn": arn}),
            ),
        ],
    );

    let run = plugin.run_ok();

    assert_cn(&run, &role, "the role");
    let record = only(&fake, ACTION_ASSUME_ROLE, &run);
    assert_eq!(record.security_token(), Some("chain-sts-token+/="), "{run}");
}
