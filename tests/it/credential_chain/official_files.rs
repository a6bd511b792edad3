//! Files and variables as the aliyun CLI, the SDKs and ack-ram-tool write and read them, end
//! to end (every case of their fixtures is also checked, without the binary, by
//! `src/conformance.rs`): the SDK README's INI example with comments after every value,
//! ack-ram-tool's INI types, `process_command` with quotes and escapes, the CLI's mode
//! inference, `expired_seconds` below 900, and the variables the official tools read.

use std::os::unix::fs::PermissionsExt;

use super::*;

/// The credentials file exactly as the credentials SDK README documents it, comments and all.
#[test]
fn the_sdk_readmes_ini_example_with_comments_after_values_is_read() {
    let (fake, _) = cloud();
    let me = fake.add_access_key("LTAIreadmeIni0001", "readme-ini-secret");
    let plugin = plugin(&fake);
    write_ini(
        &plugin,
        "[default]                          # Default credential\n\
         type = access_key                  # Authentication method is access_key\n\
         access_key_id = LTAIreadmeIni0001  # Key\n\
         access_key_secret = readme-ini-secret   ; Secret\n\
         \n\
         [project1]\n\
         type = ecs_ram_role                # Authentication method is ecs_ram_role\n\
         role_name = EcsRamRoleTest         # Role name, optional.\n",
    );

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &me, "the [default] key");
    assert_source(
        &run,
        "AccessKey LTAIreadmeIni0001 from section [default] of [home]/.alibabacloud/credentials",
    );
}

#[test]
fn ack_ram_tools_sts_ini_type_is_an_sts_key() {
    let (fake, _) = cloud();
    let me = fake.add_sts_key("STS.iniStsType001", "ini-sts-secret", "ini-sts-token+/=");
    let plugin = plugin(&fake);
    write_ini(
        &plugin,
        "[default]\ntype = sts\naccess_key_id = STS.iniStsType001\naccess_key_secret = ini-sts-secret\nsts_token = ini-sts-token+/=\n",
    );

    let run = plugin.run_ok();

    assert_cn(&run, &me, "the STS key");
    assert_eq!(
        fake.last_request().unwrap().header("x-acs-security-token"),
        Some("ini-sts-token+/="),
        "{run}"
    );
}

#[test]
fn ack_ram_tools_credentials_uri_and_external_ini_types_are_read() {
    let (fake, _) = cloud();
    let (uri, from_uri) = fake.add_credentials_uri("ini-uri");
    let with_uri = plugin(&fake);
    write_ini(
        &with_uri,
        &format!("[default]\ntype = credentials_uri\ncredentials_uri = {uri}\n"),
    );
    let run = with_uri.run_ok();
    assert_cn(&run, &from_uri, "the URI's principal");

    let (fake, _) = cloud();
    let me = fake.add_sts_key(
        "STS.iniExternal001",
        "ini-external-secret",
        "ini-external-token",
    );
    let with_command = plugin(&fake).env("PATH", "/usr/bin:/bin");
    let counter = with_command.home().join("runs.log");
    let script = external_script(
        &with_command,
        "bin/creds",
        &json!({"mode": "StsToken", "access_key_id": "STS.iniExternal001",
            "access_key_secret": "ini-external-secret", "sts_token": "ini-external-token"}),
        &counter,
    );
    write_ini(
        &with_command,
        &format!(
            "[default]\ntype = external\nprocess_command = {}\n",
            script.display()
        ),
    );
    let run = with_command.run_ok();
    assert_cn(&run, &me, "the command's key");
    assert_eq!(lines(&counter), 1);
}

/// A script in a directory with a space, and a JSON argument in single quotes: split as the
/// aliyun CLI splits it, and run without a shell.
#[test]
fn a_process_command_with_quotes_and_spaces_is_split_as_the_cli_splits_it() {
    let (fake, _) = cloud();
    let me = fake.add_sts_key(
        "STS.quotedCommand1",
        "quoted-command-secret",
        "quoted-command-token",
    );
    let plugin = plugin(&fake).env("PATH", "/usr/bin:/bin");
    let script = plugin.write_home_file(
        "my tools/print creds",
        "#!/bin/sh\n# prints its second argument, and the first as a check\n[ \"$1\" = 'a b\"c' ] || exit 3\nprintf '%s\\n' \"$2\"\n",
    );
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let creds = json!({"mode": "StsToken", "access_key_id": "STS.quotedCommand1",
        "access_key_secret": "quoted-command-secret", "sts_token": "quoted-command-token"});
    let command = format!("'{}' \"a b\\\"c\" '{}'", script.display(), creds);
    write_cli_config(
        &plugin,
        "ext",
        vec![cli_profile(
            "ext",
            "External",
            json!({"process_command": command}),
        )],
    );

    let run = plugin.run_ok();

    assert_cn(&run, &me, "the command's key");
}

#[test]
fn a_process_command_with_an_unclosed_quote_is_an_error_before_anything_runs() {
    let (fake, _) = cloud();
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "ext",
        vec![cli_profile(
            "ext",
            "External",
            json!({"process_command": "'/opt/my tools/creds --json"}),
        )],
    );

    let run = plugin.run_exit(1);

    assert_stderr(
        &run,
        "ack-credential-plugin: error: the process_command of aliyun CLI profile `ext` (External) in [home]/.aliyun/config.json: it has an unclosed quote",
    );
}

/// An empty `mode` with an AccessKey pair, an STS token and a role: StsToken, as the CLI infers it.
#[test]
fn an_empty_mode_with_a_token_and_a_role_is_an_sts_token_profile() {
    let (fake, _) = cloud();
    let me = fake.add_sts_key(
        "STS.inferredMode01",
        "inferred-mode-secret",
        "inferred-mode-token",
    );
    let arn = role_arn("not-assumed");
    fake.add_role(&arn);
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "legacy",
        vec![cli_profile(
            "legacy",
            "",
            json!({
                "access_key_id": "STS.inferredMode01",
                "access_key_secret": "inferred-mode-secret",
                "sts_token": "inferred-mode-token",
                "ram_role_arn": arn,
            }),
        )],
    );

    let run = plugin.run_ok();

    assert_cn(&run, &me, "the STS key itself");
    assert_action_count(&fake, ACTION_ASSUME_ROLE, 0, &run);
}

#[test]
fn expired_seconds_below_900_is_refused_before_any_request() {
    let (fake, _) = cloud();
    fake.add_access_key("LTAIshortRole01", "short-role-secret");
    let arn = role_arn("short-role");
    fake.add_role(&arn);
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "short",
        vec![cli_profile(
            "short",
            "RamRoleArn",
            json!({
                "access_key_id": "LTAIshortRole01",
                "access_key_secret": "short-role-secret",
                "ram_role_arn": arn,
                "expired_seconds": 600,
            }),
        )],
    );

    let run = plugin.run_exit(1);

    assert_stderr(
        &run,
        "ack-credential-plugin: error: profile `short` in [home]/.aliyun/config.json has expired_seconds 600, below 900, the shortest session STS grants: set it to 900 or more (or 0 for an hour)",
    );
    assert_eq!(fake.count(), 0, "{run}");
}

#[test]
fn the_clis_other_key_spellings_are_read_in_its_order() {
    for [id, secret, _] in [
        [
            "ALIBABACLOUD_ACCESS_KEY_ID",
            "ALIBABACLOUD_ACCESS_KEY_SECRET",
            "",
        ],
        ["ALICLOUD_ACCESS_KEY_ID", "ALICLOUD_ACCESS_KEY_SECRET", ""],
        ["ACCESS_KEY_ID", "ACCESS_KEY_SECRET", ""],
    ] {
        let (fake, _) = cloud();
        let me = fake.add_access_key("LTAIspelling00001", "spelling-secret-01");
        let run = plugin(&fake)
            .env(id, "LTAIspelling00001")
            .env(secret, "spelling-secret-01")
            .secret("spelling-secret-01")
            .run_ok();
        assert_cn(&run, &me, id);
    }
}

#[test]
fn the_cli_profile_step_can_be_turned_off_as_the_sdks_and_the_cli_do() {
    for (var, value) in [
        ("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "true"),
        ("ALIBABA_CLOUD_IGNORE_PROFILE", "TRUE"),
        ("ALIBABACLOUD_IGNORE_PROFILE", "TRUE"),
    ] {
        let (fake, _) = cloud();
        let (plugin, principals) = three_profiles(&fake);
        let from_ini = fake.add_access_key("LTAIiniFallback01", "ini-fallback-secret");
        write_ini(
            &plugin,
            "[default]\ntype = access_key\naccess_key_id = LTAIiniFallback01\naccess_key_secret = ini-fallback-secret\n",
        );
        let run = plugin.clone().env(var, value).run_ok();
        assert_cn(&run, &from_ini, &format!("the INI key, with {var}"));
        // --profile still reads config.json.
        let run = plugin
            .clone()
            .env(var, value)
            .args(["--profile", "alpha"])
            .run_ok();
        assert_cn(&run, &principals[0], "the forced profile");
    }
}

#[test]
fn alibabacloud_profile_names_the_profile_before_alibaba_cloud_profile() {
    let (fake, _) = cloud();
    let (plugin, principals) = three_profiles(&fake);
    let run = plugin
        .clone()
        .env("ALIBABACLOUD_PROFILE", "alpha")
        .env("ALIBABA_CLOUD_PROFILE", "beta")
        .run_ok();
    assert_cn(&run, &principals[0], "ALIBABACLOUD_PROFILE's");
    let run = plugin.clone().env("ALICLOUD_PROFILE", "beta").run_ok();
    assert_cn(&run, &principals[1], "ALICLOUD_PROFILE's");
}

#[test]
fn disable_external_process_refuses_commands_and_credentials_uris() {
    let (fake, _) = cloud();
    let disabled = plugin(&fake).env("ALIBABA_CLOUD_DISABLE_EXTERNAL_PROCESS", "1");
    let counter = disabled.home().join("runs.log");
    let script = external_script(&disabled, "bin/creds", &json!({}), &counter);
    write_cli_config(
        &disabled,
        "ext",
        vec![cli_profile(
            "ext",
            "External",
            json!({"process_command": script.display().to_string()}),
        )],
    );

    let run = disabled.run_exit(1);

    assert_stderr(
        &run,
        "ack-credential-plugin: error: aliyun CLI profile `ext` (External) in [home]/.aliyun/config.json would run a command or fetch a credentials URI, which ALIBABA_CLOUD_DISABLE_EXTERNAL_PROCESS=1 forbids",
    );
    assert_eq!(lines(&counter), 0, "the command never ran");

    let (fake, _) = cloud();
    let (uri, _) = fake.add_credentials_uri("refused");
    let run = plugin(&fake)
        .env("ALIBABA_CLOUD_DISABLE_EXTERNAL_PROCESS", "true")
        .env("ALIBABA_CLOUD_CREDENTIALS_URI", uri)
        .run_exit(1);
    assert_stderr(
        &run,
        "ack-credential-plugin: error: the environment (ALIBABA_CLOUD_CREDENTIALS_URI) would run a command or fetch a credentials URI, which ALIBABA_CLOUD_DISABLE_EXTERNAL_PROCESS=true forbids",
    );
    assert_eq!(fake.count(), 0, "{run}");
}

/// `ALIBABA_CLOUD_STS_ENDPOINT` as a base URL (here the fake, on loopback) is where roles are
/// assumed when neither `--sts-endpoint` nor `ACK_STS_ENDPOINT` says otherwise.
#[test]
fn alibaba_cloud_sts_endpoint_is_where_roles_are_assumed() {
    let (fake, _) = cloud();
    let user = fake.add_access_key("LTAIstsEndpoint01", "sts-endpoint-secret");
    let arn = role_arn("via-sts-endpoint");
    let role = fake.add_role(&arn);
    fake.allow_assume(&arn, &user);

    let run = plugin(&fake)
        .env_remove("ACK_STS_ENDPOINT")
        .env("ALIBABA_CLOUD_STS_ENDPOINT", fake.sts_endpoint())
        .access_key("LTAIstsEndpoint01", "sts-endpoint-secret")
        .args(["--role-arn", arn.as_str()])
        .run_ok();

    assert_cn(&run, &role, "the role");
    assert_action_count(&fake, ACTION_ASSUME_ROLE, 1, &run);

    let run = plugin(&fake)
        .env_remove("ACK_STS_ENDPOINT")
        .env(
            "ALIBABA_CLOUD_STS_ENDPOINT",
            "http://sts.cn-hangzhou.aliyuncs.com",
        )
        .access_key("LTAIstsEndpoint01", "sts-endpoint-secret")
        .args(["--role-arn", arn.as_str()])
        .run_exit(2);
    assert_stderr(
        &run,
        r#"ack-credential-plugin: error: ALIBABA_CLOUD_STS_ENDPOINT: endpoint "http://sts.cn-hangzhou.aliyuncs.com" cannot be used: plain http:// is only allowed for loopback addresses; use https://"#,
    );
}
