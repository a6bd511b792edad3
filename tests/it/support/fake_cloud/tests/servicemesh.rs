//! ASM over HTTP: mesh kubeconfigs with a UTC+8 `ExpireTime`, its checks and faults.

use super::*;

#[test]
fn fake_asm_issues_a_mesh_kubeconfig_whose_expire_time_is_utc_plus_8() {
    let fake = FakeCloud::start();
    fake.add_mesh_with_defaults("m1");
    let me = fake.add_access_key("AK1", "secret1");
    let (status, _, body) = send(
        &fake,
        &asm_request(
            ("AK1", "secret1", None),
            &[("ServiceMeshId", "m1"), ("PrivateIpAddress", "false")],
        ),
    );
    assert_eq!(status, 200, "{body}\n{fake:?}");
    let body = json_body(&body);
    assert!(body["RequestId"].as_str().is_some_and(|r| !r.is_empty()));
    let config: Value = serde_yaml_ng::from_str(body["Kubeconfig"].as_str().unwrap()).unwrap();
    assert_eq!(
        config["clusters"][0]["cluster"]["server"],
        DEFAULT_MESH_PUBLIC_SERVER
    );
    let record = fake.last_request().unwrap();
    assert_eq!(record.service, Service::ASM);
    assert_eq!(
        record.action.as_deref(),
        Some(ACTION_DESCRIBE_SERVICE_MESH_KUBECONFIG)
    );
    assert_eq!(record.access_key_id.as_deref(), Some("AK1"));
    assert_eq!(record.outcome, Outcome::Issued);
    let issued = record.issued.unwrap();
    assert!(issued.mesh && !issued.private_ip);
    assert_eq!(
        (issued.cluster_id.as_str(), issued.uid.as_str()),
        ("m1", me.uid.as_str())
    );
    assert_eq!(
        issued.not_after - issued.not_before,
        TimeDelta::from_std(MESH_CERT_LIFETIME).unwrap() + TimeDelta::minutes(1)
    );
    // ExpireTime: zone-less, the NotAfter in UTC+8.
    let expire_time = body["ExpireTime"].as_str().unwrap();
    assert_eq!(expire_time, issued.expiration);
    let read_as_utc = NaiveDateTime::parse_from_str(expire_time, MESH_EXPIRE_TIME_FORMAT)
        .unwrap()
        .and_utc();
    assert_eq!(read_as_utc - issued.not_after, TimeDelta::hours(8));
    let cert_pem = BASE64
        .decode(
            config["users"][0]["user"]["client-certificate-data"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        issued.certificate_pem.as_deref(),
        Some(String::from_utf8(cert_pem).unwrap().as_str())
    );
    let key_pem = BASE64
        .decode(
            config["users"][0]["user"]["client-key-data"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        issued.key_pem.as_deref(),
        Some(String::from_utf8(key_pem).unwrap().as_str())
    );

    // Private address, a lifetime override, true UTC, and an STS key with its token.
    fake.set_cert_lifetime(Duration::from_secs(3600));
    fake.set_mesh_expire_time_utc_offset(TimeDelta::zero());
    fake.add_sts_key("STS.K", "secret2", "tok+en/=");
    let (status, _, body) = send(
        &fake,
        &asm_request(
            ("STS.K", "secret2", Some("tok+en/=")),
            &[("ServiceMeshId", "m1"), ("PrivateIpAddress", "true")],
        ),
    );
    assert_eq!(status, 200, "{body}\n{fake:?}");
    let issued = fake.last_request().unwrap().issued.unwrap();
    assert_eq!(issued.server, DEFAULT_MESH_PRIVATE_SERVER);
    assert_eq!(issued.not_after - issued.not_before, TimeDelta::minutes(61));
    assert_eq!(
        json_body(&body)["ExpireTime"],
        issued.not_after.format(MESH_EXPIRE_TIME_FORMAT).to_string()
    );
    assert_eq!(fake.successes(), 2);
    assert!(fake.requests_to(Service::STS).is_empty());
}

#[test]
fn fake_asm_rejects_bad_signatures_unknown_meshes_and_forbidden_callers() {
    let fake = FakeCloud::start();
    fake.add_mesh_with_defaults("m1");
    let me = fake.add_access_key("AK1", "secret1");
    fake.add_access_key("AK2", "secret2");
    fake.add_sts_key("STS.K", "secret3", "token-abc");
    let code = |raw: &str| -> (u16, String, Value) {
        let (status, _, body) = send(&fake, raw);
        let body = json_body(&body);
        (
            status,
            body["Code"].as_str().unwrap_or("").to_string(),
            body,
        )
    };
    let m1 = [("ServiceMeshId", "m1")];

    let (status, c, body) = code(&asm_request(("AK1", "wrong", None), &m1));
    assert_eq!((status, c.as_str()), (400, "SignatureDoesNotMatch"));
    assert_eq!(body["HostId"], ASM_HOST_ID);
    assert!(body["RequestId"].as_str().is_some());
    let message = body["Message"].as_str().unwrap();
    assert!(
        message.contains("server string to sign is:POST&%2F&AccessKeyId%3DAK1%26Action%3DDescribeServiceMeshKubeconfig"),
        "{message}"
    );
    let (status, c, _) = code(&asm_request(("NOPE", "x", None), &m1));
    assert_eq!((status, c.as_str()), (404, "InvalidAccessKeyId.NotFound"));
    let (status, c, _) = code(&asm_request(("STS.K", "secret3", None), &m1));
    assert_eq!((status, c.as_str()), (400, "MissingSecurityToken"));
    let (status, c, _) = code(&asm_request(("STS.K", "secret3", Some("token-xyz")), &m1));
    assert_eq!((status, c.as_str()), (400, "InvalidSecurityToken.Mismatch"));
    let (status, c, body) = code(&asm_request(("STS.K", "secret3", Some("token-abc")), &m1));
    assert_eq!((status, c.as_str()), (200, ""), "{body}");

    let (status, c, body) = code(&asm_request(
        ("AK1", "secret1", None),
        &[("ServiceMeshId", "nope")],
    ));
    assert_eq!((status, c.as_str()), (404, "ServiceMesh.NotFound"));
    assert!(body["Message"].as_str().unwrap().contains("nope"));
    let (status, c, _) = code(&asm_request(("AK1", "secret1", None), &[]));
    assert_eq!((status, c.as_str()), (400, "MissingParameter"));
    let (status, c, _) = code(&asm_request(
        ("AK1", "secret1", None),
        &[("ServiceMeshId", "m1"), ("PrivateIpAddress", "yes")],
    ));
    assert_eq!((status, c.as_str()), (400, "InvalidParameter"));
    // The servicemesh action with STS's version.
    let (status, c, _) = code(&rpc_request(
        STS_API_VERSION,
        ACTION_DESCRIBE_SERVICE_MESH_KUBECONFIG,
        Some(("AK1", "secret1", None)),
        &m1,
    ));
    assert_eq!((status, c.as_str()), (400, "InvalidVersion"));

    fake.allow_mesh("m1", &me);
    let (status, c, _) = code(&asm_request(("AK2", "secret2", None), &m1));
    assert_eq!((status, c.as_str()), (403, "Forbidden.RAM"));
    let (status, c, _) = code(&asm_request(("AK1", "secret1", None), &m1));
    assert_eq!((status, c.as_str()), (200, ""));
    assert_eq!(
        fake.count_action(ACTION_DESCRIBE_SERVICE_MESH_KUBECONFIG),
        11
    );
    assert_eq!(fake.successes(), 2);
}

#[test]
fn fake_asm_takes_faults_aimed_at_it() {
    let fake = FakeCloud::start();
    fake.add_mesh_with_defaults("m1");
    fake.add_access_key("AK1", "secret1");
    fake.fail_next_on(Service::ASM, 1, Fault::ServiceUnavailable);
    fake.fail_next_on(Service::ASM, 1, Fault::BodyWithoutConfig);
    let m1 = [("ServiceMeshId", "m1")];
    let (status, _, body) = send(&fake, &asm_request(("AK1", "secret1", None), &m1));
    assert_eq!(status, 503, "{body}");
    let (status, _, body) = send(&fake, &asm_request(("AK1", "secret1", None), &m1));
    assert_eq!(status, 200, "{body}");
    assert!(json_body(&body).get("Kubeconfig").is_none(), "{body}");
    let (status, _, _) = send(&fake, &asm_request(("AK1", "secret1", None), &m1));
    assert_eq!(status, 200);
    let outcomes: Vec<Outcome> = fake
        .requests_to(Service::ASM)
        .into_iter()
        .map(|r| r.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Fault("ServiceUnavailable".into()),
            Outcome::Fault("BodyWithoutConfig".into()),
            Outcome::Issued
        ]
    );
}
