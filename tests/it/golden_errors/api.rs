//! Goldens: the API says no.

use super::*;

#[test]
fn wrong_access_key_secret_is_a_signature_mismatch_naming_the_key_id() {
    let (fake, _) = cloud();
    let run = Plugin::new(&fake)
        .access_key(KEY_ID, "notTheSecretNotTheSecretNotThe01")
        .args(["get-credential", "--cluster-id", CLUSTER])
        .run_exit(1);
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: DescribeClusterUserKubeconfig for cluster c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a failed: SignatureDoesNotMatch: Specified signature is not matched with our calculation. (HTTP 400, RequestId: [request-id #0])
hint: the AccessKey secret does not belong to AccessKey ID LTAI5tFakeAccessKey0001: check ALIBABA_CLOUD_ACCESS_KEY_SECRET (or your profile)",
    );
    assert_refused_once(&fake, &run, "SignatureDoesNotMatch");
}

#[test]
fn unknown_access_key_id_says_to_check_the_id() {
    let (fake, _) = cloud();
    let run = Plugin::new(&fake)
        .access_key("LTAI5tNoSuchKey00000001", "whateverSecretWhatever01")
        .args(["get-credential", "--cluster-id", CLUSTER])
        .run_exit(1);
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: DescribeClusterUserKubeconfig for cluster c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a failed: InvalidAccessKeyId.NotFound: Specified access key is not found. (HTTP 404, RequestId: [request-id #0])
hint: this AccessKey ID does not exist: check ALIBABA_CLOUD_ACCESS_KEY_ID",
    );
    assert_refused_once(&fake, &run, "InvalidAccessKeyId.NotFound");
}

#[test]
fn cluster_not_found_names_the_cluster() {
    let (fake, _) = cloud();
    let run = crate::support::as_ram_user(&fake)
        .args([
            "get-credential",
            "--cluster-id",
            "cnosuchcluster0000000000000000000",
        ])
        .run_exit(1);
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: DescribeClusterUserKubeconfig for cluster cnosuchcluster0000000000000000000 failed: ErrorClusterNotFound: cluster cnosuchcluster0000000000000000000 not found (HTTP 404, RequestId: [request-id #0])
hint: check the cluster id `cnosuchcluster0000000000000000000`: the cluster must exist in the account of these credentials (`ack-credential-plugin clusters` lists them)",
    );
    assert_refused_once(&fake, &run, "ErrorClusterNotFound");
}

#[test]
fn no_ram_permission_names_the_action_to_grant() {
    let (fake, _) = cloud();
    let someone_else = fake.add_access_key("LTAI5tSomeoneElse0001", "someoneElseSecret01");
    fake.allow_cluster(CLUSTER, &someone_else);
    let run = get_credential(&fake).run_exit(1);
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: DescribeClusterUserKubeconfig for cluster c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a failed: Forbidden.RAM: User not authorized to operate on the specified resource, or this API doesn't support RAM. (HTTP 403, RequestId: [request-id #0])
hint: this identity is not allowed to call DescribeClusterUserKubeconfig: grant `cs:DescribeClusterUserKubeconfig` in RAM, or use another identity",
    );
    assert_refused_once(&fake, &run, "Forbidden.RAM");
}

#[test]
fn uid_by_a_ram_user_says_only_the_main_account_may() {
    let (fake, _) = cloud();
    fake.add_sub_user("27123456789012345");
    let run = get_credential(&fake)
        .args(["--uid", "27123456789012345"])
        .run_exit(1);
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: DescribeSubaccountK8sClusterUserConfig for cluster c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a and uid 27123456789012345 failed: ForbiddenQueryClusterUserConfig: user 20000000000000001 is not the main account and may not query the kubeconfig of user 27123456789012345 in cluster c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a (HTTP 403, RequestId: [request-id #0])
hint: only the main (root) account may fetch another user's kubeconfig with --uid; drop --uid 27123456789012345 to get your own, or use the main account's AccessKey",
    );
    assert_refused_once(&fake, &run, "ForbiddenQueryClusterUserConfig");
}

#[test]
fn clock_skew_gives_the_offset_and_both_clocks() {
    let (fake, _) = cloud();
    fake.set_clock_offset(chrono::TimeDelta::hours(1));
    let run = get_credential(&fake).run_exit(1);
    assert_refused_once(&fake, &run, "InvalidTimeStamp.Expired");
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: DescribeClusterUserKubeconfig for cluster c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a failed: InvalidTimeStamp.Expired: Specified time stamp or date value is expired. (HTTP 400, RequestId: [request-id #0])
hint: this machine's clock is off by -3600 s: it reads [time] but the server's reads [time]. The API accepts requests within 15 minutes of its time; synchronise the clock (NTP, chrony) and try again",
    );
}

#[test]
fn answer_that_is_not_json_is_unusable_with_its_request_id() {
    let (fake, _) = cloud();
    fake.fail_always(Fault::BodyNotJson);
    let run = get_credential(&fake).run_exit(1);
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: DescribeClusterUserKubeconfig returned an answer that cannot be used: the body is not JSON (RequestId: [request-id #0])
hint: try again; if it persists, report it with the RequestId",
    );
}

#[test]
fn answer_without_a_kubeconfig_is_unusable_with_its_request_id() {
    let (fake, _) = cloud();
    fake.fail_always(Fault::BodyWithoutConfig);
    let run = get_credential(&fake).run_exit(1);
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: DescribeClusterUserKubeconfig returned an answer that cannot be used: the body has no `config` (the kubeconfig) (RequestId: [request-id #0])
hint: try again; if it persists, report it with the RequestId",
    );
}
