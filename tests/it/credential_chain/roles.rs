//! `--role-arn` on top of any source, STS failures and retries, and roles in the cache: a
//! hit makes no request of any kind, and each role and source identity has its own entry.

use super::*;

#[test]
fn role_arn_flag_assumes_the_role_on_top_of_environment_keys() {
    let (fake, _) = cloud();
    let user = fake.add_access_key("LTAIflagSource1", "flag-source-secret");
    let arn = role_arn("flag-role");
    let role = fake.add_role(&arn);
    fake.allow_assume(&arn, &user);
    let base = plugin(&fake).access_key("LTAIflagSource1", "flag-source-secret");
    let with_role = base.clone().args(["--role-arn", arn.as_str()]);

    let run = with_role.clone().arg("-v").run_ok();

    assert_cn(&run, &role, "the --role-arn role");
    let record = only(&fake, ACTION_ASSUME_ROLE, &run);
    assert_sts_form_post(&record, &run);
    assert_eq!(record.access_key_id.as_deref(), Some("LTAIflagSource1"));
    assert_eq!(record.form_param("RoleArn"), Some(arn.as_str()));
    assert_eq!(
        record.form_param("RoleSessionName"),
        Some(DEFAULT_SESSION_NAME),
        "{run}"
    );
    assert_eq!(record.form_param("DurationSeconds"), Some("3600"), "{run}");
    assert_source(
        &run,
        &format!(
            "RAM role {arn} (--role-arn), assumed at http://[fake] for 3600 s with AccessKey LTAIflagSource1 from the environment (ALIBABA_CLOUD_ACCESS_KEY_ID)"
        ),
    );
    assert_cache_hit(&with_role, &fake, &run);

    // Without the flag, the same keys are another identity: another cache entry, the user's CN.
    let plain = base.run_ok();
    assert_cn(&plain, &user, "the environment key");
    assert_action_count(&fake, ACTION_USER_CONFIG, 2, &plain);
    assert_action_count(&fake, ACTION_ASSUME_ROLE, 1, &plain);
}

#[test]
fn role_arn_flag_on_top_of_a_role_profile_chains_the_roles() {
    let (fake, _) = cloud();
    let user = fake.add_access_key("LTAIflagChain01", "flag-chain-secret");
    let [profile_role, flag_role] = role_chain(&fake, &user, "profile-role", "flag-on-top");
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "dev",
        vec![cli_profile(
            "dev",
            "RamRoleArn",
            json!({
                "access_key_id": "LTAIflagChain01",
                "access_key_secret": "flag-chain-secret",
                "ram_role_arn": profile_role.arn,
            }),
        )],
    );

    let run = plugin.args(["--role-arn", flag_role.arn.as_str()]).run_ok();

    assert_cn(&run, &flag_role.principal, "the --role-arn role");
    let assumed = fake.requests_for(ACTION_ASSUME_ROLE);
    assert_eq!(assumed.len(), 2, "{run}");
    assert_eq!(
        assumed[1].access_key_id.as_deref(),
        Some(fake.grants()[0].key.id.as_str()),
        "--role-arn is assumed with the profile role's STS key\n{run}"
    );
}

#[test]
fn malformed_role_arn_is_a_usage_error_before_any_request() {
    let (fake, _) = cloud();
    fake.add_access_key("LTAIflagBad0001", "flag-bad-secret");
    let plugin = plugin(&fake)
        .access_key("LTAIflagBad0001", "flag-bad-secret")
        .args(["--role-arn", "arn:aws:iam::123456789012:role/nope"]);

    let run = plugin.run_exit(2);

    assert_eq!(fake.count(), 0, "{run}");
    assert_stderr(
        &run,
        r#"
ack-credential-plugin: error: --role-arn "arn:aws:iam::123456789012:role/nope" is not a role ARN: it does not start with acs:ram::"#,
    );
}

#[test]
fn unknown_role_is_reported_with_the_sts_code_without_retry() {
    let (fake, _) = cloud();
    fake.add_access_key("LTAInoSuchRole1", "no-such-role-secret");
    let arn = role_arn("does-not-exist");

    let run = plugin(&fake)
        .access_key("LTAInoSuchRole1", "no-such-role-secret")
        .args(["--role-arn", arn.as_str()])
        .run_err();

    let record = only(&fake, ACTION_ASSUME_ROLE, &run);
    assert_eq!(record.seq, 0, "{run}");
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: cannot get credentials from RAM role acs:ram::1234567890123456:role/does-not-exist (--role-arn), assumed at http://[fake] for 3600 s with AccessKey LTAInoSuchRole1 from the environment (ALIBABA_CLOUD_ACCESS_KEY_ID): AssumeRole for role acs:ram::1234567890123456:role/does-not-exist failed: EntityNotExist.Role: The role acs:ram::1234567890123456:role/does-not-exist does not exist. (HTTP 404, RequestId: [request-id #0])",
    );
    assert_action_count(&fake, ACTION_USER_CONFIG, 0, &run);
}

#[test]
fn sts_5xx_and_throttling_are_retried_with_fresh_nonces() {
    let (fake, _) = cloud();
    fake.add_access_key("LTAIretryRole01", "retry-role-secret");
    let arn = role_arn("retried-role");
    let role = fake.add_role(&arn);
    fake.fail_next_on(Service::STS, 1, Fault::ServiceUnavailable);
    fake.fail_next_on(Service::STS, 1, Fault::Throttling { time_left_ms: 200 });
    let plugin = plugin(&fake)
        .access_key("LTAIretryRole01", "retry-role-secret")
        .args(["--role-arn", arn.as_str()]);

    let run = plugin.run_ok();

    assert_cn(&run, &role, "the role");
    let assumed = fake.requests_for(ACTION_ASSUME_ROLE);
    assert_eq!(assumed.len(), 3, "{run}");
    let mut nonces: Vec<_> = assumed.iter().filter_map(|r| r.nonce()).collect();
    nonces.sort_unstable();
    nonces.dedup();
    assert_eq!(nonces.len(), 3, "every attempt needs a fresh nonce\n{run}");
    assert_action_count(&fake, ACTION_USER_CONFIG, 1, &run);
}

#[test]
fn assume_role_refused_names_the_profile_and_the_sts_error() {
    let (fake, _) = cloud();
    fake.add_access_key("LTAIrefused0001", "refused-secret-01");
    let someone_else = fake.add_access_key("LTAIallowed0001", "allowed-secret-01");
    let arn = role_arn("locked-role");
    fake.add_role(&arn);
    fake.allow_assume(&arn, &someone_else);
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "locked",
        vec![cli_profile(
            "locked",
            "RamRoleArn",
            json!({
                "access_key_id": "LTAIrefused0001",
                "access_key_secret": "refused-secret-01",
                "ram_role_arn": arn,
            }),
        )],
    );

    let run = plugin.arg("-v").run_err();

    assert_eq!(run.code(), Some(1), "{run}");
    let record = only(&fake, ACTION_ASSUME_ROLE, &run);
    assert_eq!(
        record.outcome,
        Outcome::Rejected("NoPermission".into()),
        "{run}"
    );
    assert_eq!(record.seq, 0, "{run}");
    assert_error(
        &run,
        r"
ack-credential-plugin: error: cannot get credentials from RAM role acs:ram::1234567890123456:role/locked-role (aliyun CLI profile `locked` (RamRoleArn) in [home]/.aliyun/config.json), assumed at http://[fake] for 3600 s with AccessKey LTAIrefused0001 from aliyun CLI profile `locked` (RamRoleArn) in [home]/.aliyun/config.json: AssumeRole for role acs:ram::1234567890123456:role/locked-role failed: NoPermission: You are not authorized to do this action. You should be authorized by RAM. (20000000000000002 may not assume acs:ram::1234567890123456:role/locked-role) (HTTP 403, RequestId: [request-id #0])
hint: this identity may not assume the role: it needs `sts:AssumeRole` in RAM, and the role's trust policy must name it as a principal",
    );
    assert_action_count(&fake, ACTION_USER_CONFIG, 0, &run);
}

#[test]
fn wrong_secret_in_a_role_profile_reports_the_signature_mismatch_without_the_secret() {
    let (fake, _) = cloud();
    fake.add_access_key("LTAIwrongSecret", "the-right-secret-01");
    let arn = role_arn("some-role");
    fake.add_role(&arn);
    let plugin = plugin(&fake).secret("a-wrong-secret-0001");
    write_cli_config(
        &plugin,
        "typo",
        vec![cli_profile(
            "typo",
            "RamRoleArn",
            json!({
                "access_key_id": "LTAIwrongSecret",
                "access_key_secret": "a-wrong-secret-0001",
                "ram_role_arn": arn,
            }),
        )],
    );

    let run = plugin.arg("-v").run_err();

    let record = only(&fake, ACTION_ASSUME_ROLE, &run);
    assert_eq!(
        record.outcome,
        Outcome::Rejected("SignatureDoesNotMatch".into()),
        "{run}"
    );
    assert_eq!(record.seq, 0, "{run}");
    assert_error(
        &run,
        r"
ack-credential-plugin: error: cannot get credentials from RAM role acs:ram::1234567890123456:role/some-role (aliyun CLI profile `typo` (RamRoleArn) in [home]/.aliyun/config.json), assumed at http://[fake] for 3600 s with AccessKey LTAIwrongSecret from aliyun CLI profile `typo` (RamRoleArn) in [home]/.aliyun/config.json: AssumeRole for role acs:ram::1234567890123456:role/some-role failed: SignatureDoesNotMatch: Specified signature is not matched with our calculation. (HTTP 400, RequestId: [request-id #0])
hint: the AccessKey secret does not belong to AccessKey ID LTAIwrongSecret: check ALIBABA_CLOUD_ACCESS_KEY_SECRET (or your profile)",
    );
}

#[test]
fn sts_answer_that_is_not_json_fails_cleanly() {
    let (fake, _) = cloud();
    fake.add_access_key("LTAIgarbageSts1", "garbage-sts-secret");
    let arn = role_arn("garbage-role");
    fake.add_role(&arn);
    fake.fail_next_on(Service::STS, 10, Fault::BodyNotJson);

    let run = plugin(&fake)
        .access_key("LTAIgarbageSts1", "garbage-sts-secret")
        .args(["--role-arn", arn.as_str()])
        .run_err();

    assert_eq!(run.code(), Some(1), "{run}");
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: cannot get credentials from RAM role acs:ram::1234567890123456:role/garbage-role (--role-arn), assumed at http://[fake] for 3600 s with AccessKey LTAIgarbageSts1 from the environment (ALIBABA_CLOUD_ACCESS_KEY_ID): AssumeRole returned an answer that cannot be used: the body is not JSON (RequestId: [request-id #0])
hint: try again; if it persists, report it with the RequestId",
    );
    assert_action_count(&fake, ACTION_USER_CONFIG, 0, &run);
}

#[test]
fn cache_hit_with_a_role_profile_makes_no_request_and_force_refresh_assumes_again() {
    let (fake, _) = cloud();
    fake.add_access_key("LTAIcacheRole01", "cache-role-secret");
    let arn = role_arn("cached-role");
    let role = fake.add_role(&arn);
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "dev",
        vec![cli_profile(
            "dev",
            "RamRoleArn",
            json!({
                "access_key_id": "LTAIcacheRole01",
                "access_key_secret": "cache-role-secret",
                "ram_role_arn": arn,
            }),
        )],
    );

    let first = plugin.run_ok();
    assert_cn(&first, &role, "the role");
    assert_eq!(fake.count(), 2, "one AssumeRole, one cs call\n{first}");
    for _ in 0..3 {
        assert_cache_hit(&plugin, &fake, &first);
    }
    assert_action_count(&fake, ACTION_ASSUME_ROLE, 1, &first);

    let refreshed = plugin.clone().arg("--force-refresh").run_ok();
    assert_cn(&refreshed, &role, "the role");
    assert_action_count(&fake, ACTION_ASSUME_ROLE, 2, &refreshed);
    assert_action_count(&fake, ACTION_USER_CONFIG, 2, &refreshed);
}

#[test]
fn concurrent_cold_invocations_with_a_role_assume_it_once() {
    let (fake, _) = cloud();
    fake.add_access_key("LTAIconcurrent1", "concurrent-secret");
    let arn = role_arn("busy-role");
    let role = fake.add_role(&arn);
    fake.set_latency(Duration::from_millis(300));
    let plugin = plugin(&fake)
        .access_key("LTAIconcurrent1", "concurrent-secret")
        .args(["--role-arn", arn.as_str()]);

    let runs: Vec<Run> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..10).map(|_| scope.spawn(|| plugin.run())).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    for run in &runs {
        assert!(run.status.success(), "{run}");
        assert_cn(run, &role, "the role");
    }
    assert_eq!(
        fake.count_action(ACTION_ASSUME_ROLE),
        1,
        "10 cold invocations must assume the role once\n{fake:?}"
    );
    assert_eq!(fake.count_action(ACTION_USER_CONFIG), 1, "{fake:?}");
}

#[test]
fn each_role_and_each_source_identity_gets_its_own_cache_entry() {
    let (fake, _) = cloud();
    let alice = fake.add_access_key("LTAIcacheAlice1", "cache-alice-secret");
    fake.add_access_key("LTAIcacheBob001", "cache-bob-secret");
    let reader_arn = role_arn("reader");
    let writer_arn = role_arn("writer");
    let reader = fake.add_role(&reader_arn);
    let writer = fake.add_role(&writer_arn);
    let base = plugin(&fake);
    let as_alice = base
        .clone()
        .access_key("LTAIcacheAlice1", "cache-alice-secret");

    let run = as_alice
        .clone()
        .args(["--role-arn", reader_arn.as_str()])
        .run_ok();
    assert_cn(&run, &reader, "the reader role");
    let run = as_alice
        .clone()
        .args(["--role-arn", writer_arn.as_str()])
        .run_ok();
    assert_cn(
        &run,
        &writer,
        "the writer role: a cached reader certificate must not be served",
    );
    let run = as_alice.clone().run_ok();
    assert_cn(&run, &alice, "alice herself");
    assert_action_count(&fake, ACTION_USER_CONFIG, 3, &run);

    // Another source identity assuming the same role: its own entry too.
    let run = base
        .clone()
        .access_key("LTAIcacheBob001", "cache-bob-secret")
        .args(["--role-arn", reader_arn.as_str()])
        .run_ok();
    assert_cn(&run, &reader, "the reader role");
    assert_action_count(&fake, ACTION_ASSUME_ROLE, 3, &run);
    assert_action_count(&fake, ACTION_USER_CONFIG, 4, &run);
    assert_eq!(
        fake.requests_for(ACTION_ASSUME_ROLE)[2]
            .access_key_id
            .as_deref(),
        Some("LTAIcacheBob001"),
        "{run}"
    );
}
