//! Flag values that cannot be right: usage errors (exit 2) that say what is expected, before
//! any request.

use super::*;

#[test]
fn out_of_range_expiration_is_a_usage_error_before_any_request() {
    let (fake, _) = cloud();
    let range = "give a lifetime between 15m and 72h, such as 90m, 3h or 2d";

    for (flag, problem) in [
        ("14m", "is out of range"),
        ("4321m", "is out of range"),
        ("73h", "is out of range"),
        ("4d", "is out of range"),
        ("0m", "is out of range"),
        ("abc", "is not a number with a unit"),
        ("", "has no unit"),
    ] {
        let run = get_credential(&fake)
            .args(["--expiration", flag])
            .run_exit(2);
        assert_eq!(
            run.stderr,
            format!("ack-credential-plugin: error: --expiration {flag:?} {problem}: {range}\n"),
            "{run}"
        );
    }

    assert_eq!(fake.count(), 0, "{fake:?}");
}

#[test]
fn invalid_cluster_id_is_a_usage_error_before_any_request() {
    let (fake, _) = cloud();

    for id in ["../x", "", "c1/../c2", "c 1", "c1?x=1", "c1%2Fx", "c1\nx"] {
        let run = crate::support::as_ram_user(&fake)
            .args(["get-credential", "--cluster-id", id])
            .run_exit(2);
        assert_eq!(
            run.stderr,
            format!(
                "ack-credential-plugin: error: --cluster-id {id:?} is not a valid id: expected up \
                 to 64 letters, digits and `-` (e.g. c82e6987e2961451182edacd74faf0693)\n"
            ),
            "{run}"
        );
    }

    assert_eq!(fake.count(), 0, "{fake:?}");
}

#[test]
fn invalid_uid_is_a_usage_error_before_any_request() {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults(CLUSTER);
    fake.add_main_account_key(KEY_ID, KEY_SECRET);

    for uid in ["12ab", "", "../123", "123/456", "１２３", "12 3"] {
        let run = get_credential(&fake).args(["--uid", uid]).run_exit(2);
        assert_eq!(
            run.stderr,
            format!(
                "ack-credential-plugin: error: --uid {uid:?} is not a valid uid: expected the RAM \
                 user's numeric id (e.g. 272345678901234567)\n"
            ),
            "{run}"
        );
    }

    assert_eq!(fake.count(), 0, "{fake:?}");
}

#[test]
fn plain_http_endpoint_must_be_loopback() {
    let (fake, _) = cloud();
    let refused = |endpoint: &str| {
        format!(
            "ack-credential-plugin: error: endpoint {endpoint:?} cannot be used: plain http:// is \
             only allowed for loopback addresses; use https://\n"
        )
    };

    let by_env = get_credential(&fake)
        .env("ACK_CS_ENDPOINT", "http://example.com")
        .run_exit(2);
    assert_eq!(by_env.stderr, refused("http://example.com"), "{by_env}");
    let by_flag = get_credential(&fake)
        .env_remove("ACK_CS_ENDPOINT")
        .args(["--cs-endpoint", "http://example.com:80"])
        .run_exit(2);
    assert_eq!(
        by_flag.stderr,
        refused("http://example.com:80"),
        "{by_flag}"
    );

    assert_eq!(fake.count(), 0, "{fake:?}");
}
