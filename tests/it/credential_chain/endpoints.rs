//! Endpoints (nothing leaves the machine: a dead local proxy takes every outgoing request): the
//! cs endpoint from the region, the STS endpoint from the STS region and VPC settings, and
//! `--sts-endpoint`.

use super::*;

#[test]
fn profile_region_picks_the_cs_endpoint_unless_a_region_is_set() {
    let (fake, _) = cloud();
    fake.add_access_key("LTAIregion00001", "region-secret-01");
    let base = offline(plugin(&fake).env_remove("ACK_CS_ENDPOINT").arg("-v"));
    write_cli_config(
        &base,
        "sz",
        vec![cli_profile(
            "sz",
            "AK",
            json!({
                "access_key_id": "LTAIregion00001",
                "access_key_secret": "region-secret-01",
                "region_id": "cn-shenzhen",
            }),
        )],
    );

    let cases = [
        (
            "the profile's region_id picks the cs endpoint",
            base.clone(),
            "cn-shenzhen",
        ),
        (
            "ALIBABA_CLOUD_REGION_ID beats the profile's region_id",
            base.clone().env("ALIBABA_CLOUD_REGION_ID", "cn-beijing"),
            "cn-beijing",
        ),
        (
            "ALICLOUD_REGION is a fallback for ALIBABA_CLOUD_REGION_ID",
            base.clone().env("ALICLOUD_REGION", "cn-chengdu"),
            "cn-chengdu",
        ),
        (
            "--region beats the profile's region_id",
            base.clone().args(["--region", "cn-qingdao"]),
            "cn-qingdao",
        ),
    ];

    let runs = run_all(cases.iter().map(|(_, plugin, _)| plugin.clone()).collect());

    for ((what, _, region), run) in cases.iter().zip(&runs) {
        assert!(!run.status.success(), "{what}\n{run}");
        assert_first_request(
            run,
            &format!(
                "GET https://cs.{region}.aliyuncs.com/k8s/{CLUSTER}/user_config?PrivateIpAddress=false&TemporaryDurationMinutes=180 (as AccessKey LTAIregion00001)"
            ),
        );
    }
    assert_eq!(fake.count(), 0, "{}", fake.dump());
}

#[test]
fn sts_endpoint_follows_sts_region_vpc_and_profile_sts_region() {
    let (fake, _) = cloud();
    fake.add_access_key("LTAIstsEndpoint", "sts-endpoint-secret");
    let arn = role_arn("endpoint-role");
    let role = fake.add_role(&arn);
    let with_sts_region = |sts_region: &str| {
        cli_profile(
            "dev",
            "RamRoleArn",
            json!({
                "access_key_id": "LTAIstsEndpoint",
                "access_key_secret": "sts-endpoint-secret",
                "ram_role_arn": arn,
                "sts_region": sts_region,
            }),
        )
    };
    let base = offline(plugin(&fake).env_remove("ACK_STS_ENDPOINT").arg("-v"));

    let sts_request = |host: &str| {
        format!("POST https://{host}/ Action=AssumeRole (as AccessKey LTAIstsEndpoint)")
    };

    write_cli_config(&base, "dev", vec![with_sts_region("")]);
    let cases = [
        ("the default STS endpoint", base.clone(), "sts.aliyuncs.com"),
        (
            "ALIBABA_CLOUD_STS_REGION",
            base.clone().env("ALIBABA_CLOUD_STS_REGION", "cn-hangzhou"),
            "sts.cn-hangzhou.aliyuncs.com",
        ),
        (
            "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED",
            base.clone()
                .env("ALIBABA_CLOUD_STS_REGION", "cn-hangzhou")
                .env("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED", "true"),
            "sts-vpc.cn-hangzhou.aliyuncs.com",
        ),
    ];
    let runs = run_all(cases.iter().map(|(_, plugin, _)| plugin.clone()).collect());
    for ((what, _, host), run) in cases.iter().zip(&runs) {
        assert!(!run.status.success(), "{what}\n{run}");
        assert_first_request(run, &sts_request(host));
    }

    write_cli_config(&base, "dev", vec![with_sts_region("cn-shanghai")]);
    let run = base.clone().run_err();
    assert_first_request(&run, &sts_request("sts.cn-shanghai.aliyuncs.com"));
    assert_eq!(fake.count(), 0, "{run}");

    // --sts-endpoint reaches the fake (loopback http is allowed).
    let run = plugin(&fake)
        .env_remove("ACK_STS_ENDPOINT")
        .args(["--sts-endpoint", fake.sts_endpoint().as_str()])
        .env(
            "ALIBABA_CLOUD_CONFIG_FILE",
            base.home()
                .join(".aliyun/config.json")
                .display()
                .to_string(),
        )
        .run_ok();
    assert_cn(&run, &role, "the role, through --sts-endpoint");
}

#[test]
fn sts_endpoint_flag_must_be_https_unless_loopback() {
    let (fake, _) = cloud();
    fake.add_access_key("LTAIstsFlag0001", "sts-flag-secret");
    let arn = role_arn("flag-endpoint-role");
    fake.add_role(&arn);

    let run = plugin(&fake)
        .access_key("LTAIstsFlag0001", "sts-flag-secret")
        .args(["--role-arn", arn.as_str()])
        .args(["--sts-endpoint", "http://sts.aliyuncs.com"])
        .run_exit(2);

    assert_eq!(fake.count(), 0, "{run}");
    assert_stderr(
        &run,
        r#"
ack-credential-plugin: error: endpoint "http://sts.aliyuncs.com" cannot be used: plain http:// is only allowed for loopback addresses; use https://"#,
    );
}
