//! Goldens: finding the caller's identity.

use super::*;

#[test]
fn no_credentials_at_all_lists_every_source_tried() {
    let (fake, _) = cloud();
    let run = Plugin::new(&fake)
        .args(["get-credential", "--cluster-id", CLUSTER])
        .run_exit(1);
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: no Alibaba Cloud credentials found. Tried, in order:
  - the environment: ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (or another spelling of them) are not set
  - RRSA: ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN and ALIBABA_CLOUD_OIDC_TOKEN_FILE are not set
  - aliyun CLI config [home]/.aliyun/config.json: does not exist
  - credentials file: ~/.alibabacloud/credentials does not exist (ALIBABA_CLOUD_CREDENTIALS_FILE is not set)
  - credentials URI: ALIBABA_CLOUD_CREDENTIALS_URI is not set
  - the ECS instance RAM role: disabled by ALIBABA_CLOUD_ECS_METADATA_DISABLED=true
hint: export ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, run `aliyun configure`, or use --profile; the identity needs cs:DescribeClusterUserKubeconfig on the cluster",
    );
    assert_eq!(fake.count(), 0, "{run}");
}

#[test]
fn broken_aliyun_cli_config_names_the_file_and_the_place() {
    let (fake, _) = cloud();
    let plugin = Plugin::new(&fake).args(["get-credential", "--cluster-id", CLUSTER]);
    plugin.write_home_file(
        ".aliyun/config.json",
        "{\"current\": \"default\", \"profiles\": [ {\"name\": \"default\", ",
    );
    let run = plugin.run_exit(1);
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: the aliyun CLI config [home]/.aliyun/config.json is not valid: malformed JSON at line 1, column 57",
    );
    assert_eq!(fake.count(), 0, "{run}");
}

#[test]
fn missing_profile_names_the_profiles_there_are() {
    let (fake, _) = cloud();
    let plugin = Plugin::new(&fake).args(["get-credential", "--cluster-id", CLUSTER]);
    plugin.write_home_file(
        ".aliyun/config.json",
        &json!({
            "current": "dev",
            "profiles": [
                {"name": "dev", "mode": "AK", "access_key_id": KEY_ID, "access_key_secret": "x-secret-dev"},
                {"name": "prod", "mode": "AK", "access_key_id": KEY_ID, "access_key_secret": "x-secret-prod"},
            ],
        })
        .to_string(),
    );
    let run = plugin
        .secret("x-secret-dev")
        .secret("x-secret-prod")
        .args(["--profile", "staging"])
        .run_exit(1);
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: profile `staging` is not in the aliyun CLI config [home]/.aliyun/config.json; it has: dev, prod",
    );
    assert_eq!(fake.count(), 0, "{run}");
}

#[test]
fn refused_assume_role_names_the_role_its_source_and_what_to_grant() {
    let (fake, me) = cloud();
    let arn = "acs:ram::1234567890123456:role/locked-role";
    fake.add_role(arn);
    let someone_else = fake.add_access_key("LTAI5tSomeoneElse0001", "someoneElseSecret01");
    fake.allow_assume(arn, &someone_else);
    let _ = me;
    let run = get_credential(&fake).args(["--role-arn", arn]).run_exit(1);
    assert_refused_once(&fake, &run, "NoPermission");
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: cannot get credentials from RAM role acs:ram::1234567890123456:role/locked-role (--role-arn), assumed at http://[fake] for 3600 s with AccessKey LTAI5tFakeAccessKey0001 from the environment (ALIBABA_CLOUD_ACCESS_KEY_ID): AssumeRole for role acs:ram::1234567890123456:role/locked-role failed: NoPermission: You are not authorized to do this action. You should be authorized by RAM. (20000000000000001 may not assume acs:ram::1234567890123456:role/locked-role) (HTTP 403, RequestId: [request-id #0])
hint: this identity may not assume the role: it needs `sts:AssumeRole` in RAM, and the role's trust policy must name it as a principal",
    );
}
