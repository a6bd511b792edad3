//! aliyun CLI profiles of mode External: the `process_command` runs once per fetch, never on a
//! cache hit, and neither its failure nor what it leaves running holds the plugin.

use std::os::unix::fs::PermissionsExt;

use super::*;

#[test]
fn cli_external_profile_runs_the_process_command_once() {
    let (fake, _) = cloud();
    let me = fake.add_sts_key(
        "STS.externalKey01",
        "external-secret-01",
        "external-token+01/=",
    );
    let (plugin, counter) = external_profile(
        &fake,
        "bin/credential-process",
        "external-runs.log",
        &json!({
            "mode": "StsToken",
            "access_key_id": "STS.externalKey01",
            "access_key_secret": "external-secret-01",
            "sts_token": "external-token+01/=",
        }),
    );

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &me, "the External command's key");
    assert_eq!(lines(&counter), 1, "the command runs once\n{run}");
    assert_eq!(
        fake.last_request().unwrap().header("x-acs-security-token"),
        Some("external-token+01/="),
        "{run}"
    );
    assert_source(
        &run,
        "the process_command of external:[home]/bin/credential-process #[hash] (aliyun CLI profile `ext` (External) in [home]/.aliyun/config.json)",
    );
    // A cache hit neither calls out nor runs the command.
    assert_cache_hit(&plugin, &fake, &run);
    assert_eq!(
        lines(&counter),
        1,
        "a cache hit must not run the External command"
    );
}

#[test]
fn cache_hit_with_an_external_profile_does_not_run_the_command() {
    let (fake, _) = cloud();
    let me = fake.add_access_key("LTAIexternalAk1", "external-ak-secret");
    let (plugin, counter) = external_profile(
        &fake,
        "credential-process.sh",
        "runs.log",
        &json!({
            "mode": "AK",
            "access_key_id": "LTAIexternalAk1",
            "access_key_secret": "external-ak-secret",
        }),
    );

    let first = plugin.run_ok();
    assert_cn(&first, &me, "the External command's key");
    for _ in 0..3 {
        assert_cache_hit(&plugin, &fake, &first);
    }
    assert_eq!(
        lines(&counter),
        1,
        "the External command ran on a cache hit\n{first}"
    );
}

/// A `process_command` that leaves something running in the background with the output pipe
/// open (a credential helper starting its agent, say) must not keep the plugin waiting; and a
/// command that never ends is stopped at the deadline, with whatever it started.
#[test]
fn external_command_background_children_do_not_hold_the_plugin() {
    let (fake, _) = cloud();
    let me = fake.add_access_key("LTAIexternalBg01", "external-bg-secret");
    let plugin = plugin(&fake).env("PATH", "/usr/bin:/bin");
    let json = json!({
        "mode": "AK",
        "access_key_id": "LTAIexternalBg01",
        "access_key_secret": "external-bg-secret",
    });
    let script = plugin.write_home_file(
        "bin/with-agent",
        &format!("#!/bin/sh\nsleep 30 &\nprintf '%s\\n' '{json}'\n"),
    );
    let hangs = plugin.write_home_file("bin/hangs", "#!/bin/sh\nsleep 30 &\nsleep 30\n");
    for path in [&script, &hangs] {
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    write_cli_config(
        &plugin,
        "bg",
        vec![
            cli_profile(
                "bg",
                "External",
                json!({"process_command": script.display().to_string()}),
            ),
            cli_profile(
                "hang",
                "External",
                json!({"process_command": hangs.display().to_string()}),
            ),
        ],
    );

    // The agent sleeps 30 s, as long as the default API budget: a plugin that waited for it
    // would take that long, and the bound below is far from both that and a normal run, so
    // load cannot make it flake.
    let run = plugin.clone().run_ok();
    assert_cn(&run, &me, "the External command's key");
    assert!(
        run.elapsed < Duration::from_secs(20),
        "waited for the background child: {:?}\n{run}",
        run.elapsed
    );

    // With a 4-s budget the command that never ends is stopped after 3 s; only waiting for it
    // (30 s) would exceed the bound.
    let run = plugin
        .clone()
        .env("ACK_API_TIMEOUT", "4")
        .args(["--profile", "hang"])
        .run_exit(1);
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: cannot get credentials from the process_command of external:[home]/bin/hangs #[hash] (aliyun CLI profile `hang` (External) in [home]/.aliyun/config.json): it did not finish within 3 s",
    );
    assert!(
        run.elapsed >= Duration::from_secs(3) && run.elapsed < Duration::from_secs(25),
        "{:?}\n{run}",
        run.elapsed
    );
}

#[test]
fn external_command_failure_is_a_clear_error_naming_the_profile() {
    let (fake, _) = cloud();
    let plugin = plugin(&fake).env("PATH", "/usr/bin:/bin");
    let script = plugin.write_home_file(
        "broken-process",
        "#!/bin/sh\necho 'this is not JSON'\necho 'sso session expired' >&2\nexit 3\n",
    );
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    write_cli_config(
        &plugin,
        "ext-broken",
        vec![cli_profile(
            "ext-broken",
            "External",
            json!({"process_command": script.display().to_string()}),
        )],
    );

    let run = plugin.run_err();

    assert_eq!(run.code(), Some(1), "{run}");
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: cannot get credentials from the process_command of external:[home]/broken-process #[hash] (aliyun CLI profile `ext-broken` (External) in [home]/.aliyun/config.json): it failed (exit status: 3): sso session expired",
    );
    assert_eq!(fake.count(), 0, "{run}");
}
