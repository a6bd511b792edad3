//! Steps 1 and 2 of the chain: keys from the environment (`ALIBABA_CLOUD_*`, then `ALICLOUD_*`),
//! and RRSA: `ALIBABA_CLOUD_ROLE_ARN` + `ALIBABA_CLOUD_OIDC_PROVIDER_ARN` + the token file.

use super::*;

#[test]
fn environment_keys_are_used_and_verbose_names_the_environment() {
    let (fake, _) = cloud();
    let me = fake.add_access_key("LTAIenvKey0001", "env-secret-0001");
    let plugin = plugin(&fake).access_key("LTAIenvKey0001", "env-secret-0001");

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &me, "the environment key");
    assert_source(
        &run,
        "AccessKey LTAIenvKey0001 from the environment (ALIBABA_CLOUD_ACCESS_KEY_ID)",
    );
    assert_eq!(fake.count_action(ACTION_ASSUME_ROLE), 0, "{run}");
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn alicloud_variables_are_fallbacks_for_the_alibaba_cloud_ones() {
    let (fake, _) = cloud();
    let sts = fake.add_sts_key(
        "STS.alicloudKey01",
        "alicloud-secret-01",
        "alicloud-token+01/=",
    );
    let preferred = fake.add_access_key("LTAIpreferred01", "preferred-secret-01");

    let run = plugin(&fake)
        .env("ALICLOUD_ACCESS_KEY", "STS.alicloudKey01")
        .env("ALICLOUD_SECRET_KEY", "alicloud-secret-01")
        .env("ALICLOUD_SECURITY_TOKEN", "alicloud-token+01/=")
        .arg("-v")
        .run_ok();
    assert_cn(&run, &sts, "the ALICLOUD_* STS key");
    let record = fake.last_request().unwrap();
    assert_eq!(
        record.header("x-acs-security-token"),
        Some("alicloud-token+01/="),
        "ALICLOUD_SECURITY_TOKEN must be sent\n{run}"
    );

    // Both sets: ALIBABA_CLOUD_* win.
    let run = plugin(&fake)
        .env("ALICLOUD_ACCESS_KEY", "STS.alicloudKey01")
        .env("ALICLOUD_SECRET_KEY", "alicloud-secret-01")
        .env("ALICLOUD_SECURITY_TOKEN", "alicloud-token+01/=")
        .access_key("LTAIpreferred01", "preferred-secret-01")
        .run_ok();
    assert_cn(&run, &preferred, "the ALIBABA_CLOUD_* key");
}

#[test]
fn rrsa_environment_assumes_the_role_with_the_oidc_token_unsigned() {
    let (fake, _) = cloud();
    let (plugin, role, arn, _) = rrsa(&fake, "eyJhbGciOiJSUzI1NiJ9.rrsa-token-one.sig");
    let plugin = plugin.env("ALIBABA_CLOUD_ROLE_SESSION_NAME", "my-pod-session");

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &role, "the RRSA role");
    let record = only(&fake, ACTION_ASSUME_ROLE_WITH_OIDC, &run);
    assert_sts_form_post(&record, &run);
    assert_eq!(record.form_param("RoleArn"), Some(arn.as_str()), "{run}");
    assert_eq!(
        record.form_param("OIDCProviderArn"),
        Some(OIDC_PROVIDER),
        "{run}"
    );
    assert_eq!(
        record.form_param("OIDCToken"),
        Some("eyJhbGciOiJSUzI1NiJ9.rrsa-token-one.sig"),
        "{run}"
    );
    assert_eq!(
        record.form_param("RoleSessionName"),
        Some("my-pod-session"),
        "{run}"
    );
    for unsigned in ["AccessKeyId", "Signature", "SecurityToken"] {
        assert_eq!(
            record.param(unsigned),
            None,
            "AssumeRoleWithOIDC is unsigned: no {unsigned}\n{run}"
        );
    }
    assert_eq!(record.outcome, Outcome::Granted, "{run}");
    assert_source(
        &run,
        &format!(
            "RAM role {arn} through OIDC provider {OIDC_PROVIDER} with the token in [home]/var/run/secrets/tokens/oidc-token (the environment (RRSA)), assumed at http://[fake] for 3600 s"
        ),
    );
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn rrsa_defaults_to_the_plugin_session_name_and_an_hour() {
    let (fake, _) = cloud();
    let (plugin, role, _, _) = rrsa(&fake, "jwt-defaults");

    let run = plugin.run_ok();

    assert_cn(&run, &role, "the RRSA role");
    let record = only(&fake, ACTION_ASSUME_ROLE_WITH_OIDC, &run);
    assert_eq!(
        record.form_param("RoleSessionName"),
        Some(DEFAULT_SESSION_NAME),
        "{run}"
    );
    assert_eq!(record.form_param("DurationSeconds"), Some("3600"), "{run}");
}

#[test]
fn rrsa_token_file_is_read_afresh_on_every_refresh() {
    let (fake, _) = cloud();
    let (plugin, role, _, token_file) = rrsa(&fake, "jwt-generation-1");
    let first = plugin.run_ok();
    assert_cn(&first, &role, "the RRSA role");

    // The kubelet rotates the projected token; the provider does not accept it (yet).
    fs::write(&token_file, "jwt-generation-2").unwrap();
    let refresh = plugin.clone().arg("--force-refresh").run();
    let oidc = fake.requests_for(ACTION_ASSUME_ROLE_WITH_OIDC);
    assert_eq!(oidc.len(), 2, "{refresh}");
    assert_eq!(
        oidc[1].form_param("OIDCToken"),
        Some("jwt-generation-2"),
        "the token file must be read again\n{refresh}"
    );
    assert_eq!(
        oidc[1].outcome,
        Outcome::Rejected("AuthenticationFail.OIDCToken.Invalid".into()),
        "{refresh}"
    );
    assert_stderr(
        &refresh,
        r"
ack-credential-plugin: error: cannot get credentials from RAM role acs:ram::1234567890123456:role/rrsa-pod-role through OIDC provider acs:ram::1234567890123456:oidc-provider/ack-rrsa-c3a1b2c3d4e5f6 with the token in [home]/var/run/secrets/tokens/oidc-token (the environment (RRSA)), assumed at http://[fake] for 3600 s: AssumeRoleWithOIDC for role acs:ram::1234567890123456:role/rrsa-pod-role failed: AuthenticationFail.OIDCToken.Invalid: The OIDC token is invalid (not the one the provider issued, or expired). (HTTP 400, RequestId: [request-id #2])",
    );
    assert_action_count(&fake, ACTION_USER_CONFIG, 1, &refresh);

    // Now the provider accepts the new token: the next forced refresh gets a new certificate.
    fake.add_oidc_provider(OIDC_PROVIDER, "jwt-generation-2");
    let run = plugin.clone().arg("--force-refresh").run_ok();
    assert_cn(&run, &role, "the RRSA role");
    let oidc = fake.requests_for(ACTION_ASSUME_ROLE_WITH_OIDC);
    assert_eq!(oidc.len(), 3, "{run}");
    assert_eq!(oidc[2].form_param("OIDCToken"), Some("jwt-generation-2"));
    assert_eq!(oidc[2].outcome, Outcome::Granted, "{run}");
    assert_action_count(&fake, ACTION_USER_CONFIG, 2, &run);
}

#[test]
fn rrsa_beats_the_cli_profile() {
    let (fake, _) = cloud();
    fake.add_access_key("LTAIprofileKey01", "profile-secret-01");
    let (plugin, role, _, _) = rrsa(&fake, "jwt-rrsa-wins");
    write_cli_config(
        &plugin,
        "default",
        vec![cli_profile(
            "default",
            "AK",
            json!({"access_key_id": "LTAIprofileKey01", "access_key_secret": "profile-secret-01"}),
        )],
    );

    let run = plugin.run_ok();

    assert_cn(&run, &role, "the RRSA role");
    assert_action_count(&fake, ACTION_ASSUME_ROLE_WITH_OIDC, 1, &run);
}
