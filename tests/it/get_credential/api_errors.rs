//! Failures the API reports that have no golden of their own (`golden_errors/` pins the main
//! ones): exit 1, empty stdout, the whole message, and no retry where none can help.

use super::*;

#[test]
fn unknown_uid_is_reported_without_retry() {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults(CLUSTER);
    fake.add_main_account_key(KEY_ID, KEY_SECRET);

    let run = get_credential(&fake)
        .args(["--uid", "27999999999999999"])
        .run_err();

    assert_api_error_reported(&fake, &run, "ErrorRamUserNotFound");
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: DescribeSubaccountK8sClusterUserConfig for cluster c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a and uid 27999999999999999 failed: ErrorRamUserNotFound: RAM user 27999999999999999 not found (HTTP 404, RequestId: [request-id #0])
hint: check the uid 27999999999999999: it must be a RAM user of this account",
    );
}

#[test]
fn wrong_security_token_is_reported_without_retry() {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults(CLUSTER);
    fake.add_sts_key(
        "STS.NUfakeStsKey0001",
        "stsSecretStsSecretStsSecret0001",
        "CAISrightToken",
    );
    let sts = Plugin::new(&fake)
        .access_key("STS.NUfakeStsKey0001", "stsSecretStsSecretStsSecret0001")
        .args(["get-credential", "--cluster-id", CLUSTER]);

    let run = sts.clone().security_token("CAISwrongToken").run_err();

    assert_api_error_reported(&fake, &run, "InvalidSecurityToken.Mismatch");
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: DescribeClusterUserKubeconfig for cluster c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a failed: InvalidSecurityToken.Mismatch: Specified SecurityToken mismatch with the AccessKey. (HTTP 400, RequestId: [request-id #0])
hint: the STS security token is wrong or has expired: get fresh temporary credentials",
    );
}

#[test]
fn missing_security_token_is_reported_without_retry() {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults(CLUSTER);
    fake.add_sts_key(
        "STS.NUfakeStsKey0001",
        "stsSecretStsSecretStsSecret0001",
        "CAISrightToken",
    );

    let run = Plugin::new(&fake)
        .access_key("STS.NUfakeStsKey0001", "stsSecretStsSecretStsSecret0001")
        .args(["get-credential", "--cluster-id", CLUSTER])
        .run_err();

    assert_api_error_reported(&fake, &run, "MissingSecurityToken");
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: DescribeClusterUserKubeconfig for cluster c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a failed: MissingSecurityToken: SecurityToken is mandatory for this action. (HTTP 400, RequestId: [request-id #0])
hint: an STS AccessKey needs its token: set ALIBABA_CLOUD_SECURITY_TOKEN",
    );
}
