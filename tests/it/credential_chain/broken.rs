//! Broken configuration and no source at all: clear errors that name what is wrong (and what
//! was tried), before any request. (A malformed config.json, a missing `--profile` and no source
//! at all are pinned in `golden_errors/credentials.rs`.)

use super::*;

#[test]
fn source_profile_cycle_is_an_error_naming_the_cycle() {
    let (fake, _) = cloud();
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "loop-alpha",
        vec![
            cli_profile(
                "loop-alpha",
                "ChainableRamRoleArn",
                json!({"source_profile": "loop-beta", "ram_role_arn": role_arn("a")}),
            ),
            cli_profile(
                "loop-beta",
                "ChainableRamRoleArn",
                json!({"source_profile": "loop-alpha", "ram_role_arn": role_arn("b")}),
            ),
        ],
    );

    let run = plugin.run_exit(1);

    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: the aliyun CLI config [home]/.aliyun/config.json has a source_profile cycle: loop-alpha -> loop-beta -> loop-alpha",
    );
    assert_eq!(fake.count(), 0, "{run}");
}

/// Off ECS (nothing listens at the metadata address) the probe fails at once.
#[test]
fn no_source_with_an_unreachable_metadata_service_fails_fast_and_lists_what_was_tried() {
    let (fake, _) = cloud();
    let plugin = plugin(&fake)
        .env_remove("ALIBABA_CLOUD_ECS_METADATA_DISABLED")
        .env(
            "ACK_ECS_METADATA_ENDPOINT",
            format!("http://127.0.0.1:{}", closed_port()),
        );

    let run = plugin.run_exit(1);

    assert_lists_what_was_tried(
        &run,
        "the ECS metadata service at http://127.0.0.1:[port]: cannot connect (not on an ECS instance?)",
    );
    // A refused connection fails at once; the bound is far above that, and below the 30-s API
    // budget, so only a probe that spends the budget (or hangs) exceeds it, however loaded the
    // machine.
    assert!(
        run.elapsed < Duration::from_secs(20),
        "off ECS the metadata probe must fail fast\n{run}"
    );
    assert_eq!(fake.count(), 0, "{run}");
}

#[test]
fn no_attached_ecs_role_lists_what_was_tried() {
    let (fake, _) = cloud();
    // A metadata service without a role: discovery answers 404.
    let run = ecs_plugin(&fake).run_exit(1);

    assert_lists_what_was_tried(
        &run,
        "the ECS metadata service at http://[fake]: GET /latest/meta-data/ram/security-credentials/ answered HTTP 404",
    );
    assert_action_count(&fake, ACTION_USER_CONFIG, 0, &run);
}
