//! Step 4 of the chain: the `~/.alibabacloud/credentials` INI file, every type.

use super::*;

#[test]
fn ini_access_key_is_used() {
    let (fake, _) = cloud();
    let me = fake.add_access_key("LTAIiniKey00001", "ini-secret-01");
    let plugin = plugin(&fake);
    write_ini(
        &plugin,
        "[default]\ntype = access_key\naccess_key_id = LTAIiniKey00001\naccess_key_secret = ini-secret-01\n",
    );

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &me, "the INI key");
    assert_source(
        &run,
        "AccessKey LTAIiniKey00001 from section [default] of [home]/.alibabacloud/credentials",
    );
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn ini_ecs_ram_role_uses_the_named_role() {
    let (fake, _) = cloud();
    let role = fake.set_ecs_role("ini-node-role");
    let plugin = ecs_plugin(&fake);
    write_ini(
        &plugin,
        "[default]\ntype = ecs_ram_role\nrole_name = ini-node-role\n",
    );

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &role, "the ECS role");
    assert_action_count(&fake, ACTION_IMDS_ROLE_NAME, 0, &run);
    assert_action_count(&fake, ACTION_IMDS_CREDENTIALS, 1, &run);
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn ini_ram_role_arn_assumes_the_role() {
    let (fake, _) = cloud();
    let user = fake.add_access_key("LTAIiniRole0001", "ini-role-secret-01");
    let arn = role_arn("ini-role");
    let role = fake.add_role(&arn);
    fake.allow_assume(&arn, &user);
    let plugin = plugin(&fake);
    let policy = r#"{"Version":"1","Statement":[]}"#;
    write_ini(
        &plugin,
        &format!(
            "[default]\ntype = ram_role_arn\naccess_key_id = LTAIiniRole0001\naccess_key_secret = ini-role-secret-01\nrole_arn = {arn}\nrole_session_name = ini-session\npolicy = {policy}\n"
        ),
    );

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &role, "the INI role");
    let record = only(&fake, ACTION_ASSUME_ROLE, &run);
    assert_sts_form_post(&record, &run);
    assert_eq!(record.form_param("RoleSessionName"), Some("ini-session"));
    assert_eq!(record.form_param("Policy"), Some(policy), "{run}");
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn ini_oidc_role_arn_assumes_the_role_with_the_token_file() {
    let (fake, _) = cloud();
    let arn = role_arn("ini-oidc-role");
    let role = fake.add_role(&arn);
    fake.add_oidc_provider(OIDC_PROVIDER, "jwt-from-ini");
    let plugin = plugin(&fake);
    let token_file = plugin.write_home_file("tokens/ini-oidc", "jwt-from-ini");
    write_ini(
        &plugin,
        &format!(
            "[default]\ntype = oidc_role_arn\nrole_arn = {arn}\noidc_provider_arn = {OIDC_PROVIDER}\noidc_token_file_path = {}\nrole_session_name = ini-oidc\n",
            token_file.display()
        ),
    );

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &role, "the INI OIDC role");
    let record = only(&fake, ACTION_ASSUME_ROLE_WITH_OIDC, &run);
    assert_eq!(record.form_param("OIDCToken"), Some("jwt-from-ini"));
    assert_eq!(record.form_param("RoleSessionName"), Some("ini-oidc"));
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn ini_file_and_section_come_from_the_environment() {
    let (fake, _) = cloud();
    fake.add_access_key("LTAIiniDefault1", "ini-default-secret");
    let team = fake.add_access_key("LTAIiniTeam0001", "ini-team-secret");
    let plugin = plugin(&fake);
    let path = plugin.write_home_file(
        "elsewhere/alibaba.ini",
        "[default]\ntype = access_key\naccess_key_id = LTAIiniDefault1\naccess_key_secret = ini-default-secret\n\n\
         [team]\ntype = access_key\naccess_key_id = LTAIiniTeam0001\naccess_key_secret = ini-team-secret\n",
    );

    let run = plugin
        .env("ALIBABA_CLOUD_CREDENTIALS_FILE", path.display().to_string())
        .env("ALIBABA_CLOUD_PROFILE", "team")
        .run_ok();

    assert_cn(&run, &team, "the [team] section's key");
}

#[test]
fn ini_credentials_ini_is_the_fallback_file_name() {
    let (fake, _) = cloud();
    let me = fake.add_access_key("LTAIiniDotIni01", "ini-dot-ini-secret");
    let plugin = plugin(&fake);
    plugin.write_home_file(
        ".alibabacloud/credentials.ini",
        "[default]\ntype = access_key\naccess_key_id = LTAIiniDotIni01\naccess_key_secret = ini-dot-ini-secret\n",
    );

    let run = plugin.run_ok();

    assert_cn(&run, &me, "the credentials.ini key");
}

#[test]
fn ini_file_with_comments_and_other_sections_is_read() {
    let (fake, _) = cloud();
    let me = fake.add_access_key("LTAIiniComment1", "ini-comment-secret");
    let plugin = plugin(&fake);
    write_ini(
        &plugin,
        "; written by hand\n# another comment\n\n[other]\ntype = access_key\naccess_key_id = LTAIother\naccess_key_secret = other\n\n\
         [default]\nenable = true\ntype = access_key\n  access_key_id = LTAIiniComment1  \naccess_key_secret=ini-comment-secret\n",
    );

    let run = plugin.run_ok();

    assert_cn(&run, &me, "the [default] key");
}

#[test]
fn cli_profile_beats_the_ini_file() {
    let (fake, _) = cloud();
    let cli = fake.add_access_key("LTAIcliWins0001", "cli-wins-secret");
    fake.add_access_key("LTAIiniLoses001", "ini-loses-secret");
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "default",
        vec![cli_profile(
            "default",
            "AK",
            json!({"access_key_id": "LTAIcliWins0001", "access_key_secret": "cli-wins-secret"}),
        )],
    );
    write_ini(
        &plugin,
        "[default]\ntype = access_key\naccess_key_id = LTAIiniLoses001\naccess_key_secret = ini-loses-secret\n",
    );

    let run = plugin.run_ok();

    assert_cn(&run, &cli, "the CLI profile's key");
}
