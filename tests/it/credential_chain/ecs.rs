//! Step 5 of the chain: the ECS instance's RAM role from the metadata service (IMDSv2 first).

use super::*;

#[test]
fn ecs_role_with_imds_v2_required_uses_a_token_throughout() {
    let (fake, _) = cloud();
    let role = fake.set_ecs_role("attached-role");
    fake.require_imds_v2(true);
    let plugin = ecs_plugin(&fake);

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &role, "the attached ECS role");
    let token = only(&fake, ACTION_IMDS_TOKEN, &run);
    assert_eq!(token.method, "PUT", "{run}");
    assert_eq!(token.header(IMDS_TOKEN_TTL_HEADER), Some("21600"), "{run}");
    let discovery = only(&fake, ACTION_IMDS_ROLE_NAME, &run);
    let credentials = only(&fake, ACTION_IMDS_CREDENTIALS, &run);
    for record in [&discovery, &credentials] {
        assert!(
            record.header(IMDS_TOKEN_HEADER).is_some(),
            "metadata GETs must carry the token\n{run}"
        );
        assert_eq!(record.status, Some(200), "{run}");
    }
    assert_eq!(
        credentials.path,
        "/latest/meta-data/ram/security-credentials/attached-role"
    );
    assert_source(
        &run,
        "the ECS instance's RAM role (the ECS metadata service)",
    );
    assert_verbose_line(
        &run,
        "ack-credential-plugin: reading ECS RAM role ",
        "attached-role from http://[fake]",
    );
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn ecs_falls_back_to_v1_when_the_token_put_fails() {
    for status in [404, 403] {
        let (fake, _) = cloud();
        let role = fake.set_ecs_role("v1-role");
        fake.disable_imds_token(status);
        let plugin = ecs_plugin(&fake);

        let run = plugin.run_ok();

        assert_cn(&run, &role, "the ECS role (IMDSv1)");
        assert_action_count(&fake, ACTION_IMDS_TOKEN, 1, &run);
        let credentials = only(&fake, ACTION_IMDS_CREDENTIALS, &run);
        assert_eq!(
            credentials.header(IMDS_TOKEN_HEADER),
            None,
            "token PUT answered {status}: no token to send\n{run}"
        );
    }
}

#[test]
fn ecs_v1_fallback_is_refused_when_imdsv1_is_disabled() {
    let (fake, _) = cloud();
    fake.set_ecs_role("v1-role");
    fake.disable_imds_token(404);
    let plugin = ecs_plugin(&fake)
        .env("ALIBABA_CLOUD_IMDSV1_DISABLED", "true")
        .env("ALIBABA_CLOUD_ECS_METADATA", "v1-role")
        .env("ACK_API_TIMEOUT", "5");

    let run = plugin.run_err();

    assert_action_count(&fake, ACTION_IMDS_TOKEN, 1, &run);
    assert_action_count(&fake, ACTION_IMDS_CREDENTIALS, 0, &run);
    assert_action_count(&fake, ACTION_IMDS_ROLE_NAME, 0, &run);
    assert_action_count(&fake, ACTION_USER_CONFIG, 0, &run);
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: cannot get credentials from ECS instance RAM role v1-role (the ECS metadata service): no IMDSv2 token (the token request answered HTTP 404), and ALIBABA_CLOUD_IMDSV1_DISABLED forbids reading without one",
    );
}

#[test]
fn ecs_metadata_variable_names_the_role_without_discovery() {
    let (fake, _) = cloud();
    let role = fake.set_ecs_role("named-role");
    let plugin = ecs_plugin(&fake).env("ALIBABA_CLOUD_ECS_METADATA", "named-role");

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &role, "the named ECS role");
    assert_action_count(&fake, ACTION_IMDS_ROLE_NAME, 0, &run);
    assert_action_count(&fake, ACTION_IMDS_CREDENTIALS, 1, &run);
    assert_source(
        &run,
        "ECS instance RAM role named-role (the ECS metadata service)",
    );
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn named_ecs_role_beats_the_credentials_uri() {
    let (fake, _) = cloud();
    let role = fake.set_ecs_role("named-role");
    let (uri, _) = fake.add_credentials_uri("loses");
    let plugin = ecs_plugin(&fake)
        .env("ALIBABA_CLOUD_ECS_METADATA", "named-role")
        .env("ALIBABA_CLOUD_CREDENTIALS_URI", uri);

    let run = plugin.run_ok();

    assert_cn(&run, &role, "the named ECS role");
    assert_action_count(&fake, ACTION_CREDENTIALS_URI, 0, &run);
}

#[test]
fn credentials_uri_beats_ecs_role_discovery() {
    let (fake, _) = cloud();
    fake.set_ecs_role("discoverable-role");
    let (uri, principal) = fake.add_credentials_uri("wins");
    let plugin = ecs_plugin(&fake).env("ALIBABA_CLOUD_CREDENTIALS_URI", uri);

    let run = plugin.run_ok();

    assert_cn(&run, &principal, "the credentials URI's principal");
    assert!(
        fake.requests_to(Service::ECS_METADATA).is_empty(),
        "a configured credentials URI is chosen without probing the metadata service\n{run}"
    );
}

#[test]
fn hanging_metadata_service_fails_fast() {
    let (fake, _) = cloud();
    fake.set_ecs_role("never-answers");
    fake.fail_next_on(Service::ECS_METADATA, 20, Fault::Hang);
    let plugin = ecs_plugin(&fake);

    let run = plugin.run_exit(1);

    // It is given up on after a second per request; the bound is far above that and below the
    // 30-s API budget, so only waiting out the budget (or a hang) exceeds it, however loaded the
    // machine.
    assert!(
        run.elapsed < Duration::from_secs(20),
        "a metadata service that does not answer must be given up on in about a second\n{run}"
    );
    assert_lists_what_was_tried(
        &run,
        "the ECS metadata service at http://[fake]: no answer within a second (not on an ECS instance?)",
    );
    assert_action_count(&fake, ACTION_USER_CONFIG, 0, &run);
}
