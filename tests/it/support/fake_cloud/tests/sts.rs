//! STS over HTTP: AssumeRole (chained), AssumeRoleWithOIDC, its checks and faults.

use super::*;

#[test]
fn fake_sts_assume_role_issues_a_key_the_cs_api_accepts_and_chains() {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults("c1");
    let me = fake.add_access_key("AK1", "secret1");
    let first = fake.add_role(ROLE_1);
    let second = fake.add_role(ROLE_2);
    fake.allow_assume(ROLE_1, &me);
    fake.allow_assume(ROLE_2, &first);

    let business = [
        ("RoleArn", ROLE_1),
        ("RoleSessionName", "s1"),
        ("DurationSeconds", "1800"),
        ("ExternalId", "ext"),
        ("Policy", r#"{"Version":"1","Statement":[]}"#),
    ];
    let (status, _, body) = send(
        &fake,
        &sts_request("AssumeRole", Some(("AK1", "secret1", None)), &business),
    );
    assert_eq!(status, 200, "{body}\n{fake:?}");
    let body = json_body(&body);
    let (id, secret, token) = credentials_of(&body);
    assert!(id.starts_with("STS."), "{id}");
    assert!(token.contains('+') && token.contains('/'), "{token}");
    let expiration = body["Credentials"]["Expiration"].as_str().unwrap();
    let expires = NaiveDateTime::parse_from_str(expiration, "%Y-%m-%dT%H:%M:%SZ")
        .unwrap()
        .and_utc();
    assert!((expires - Utc::now() - TimeDelta::seconds(1800)).abs() < TimeDelta::seconds(5));
    let grant = fake.grants().pop().unwrap();
    assert_eq!(grant.role_session_name.as_deref(), Some("s1"));
    assert_eq!(grant.duration_seconds, Some(1800));
    assert_eq!(grant.external_id.as_deref(), Some("ext"));
    assert_eq!(grant.caller_uid.as_deref(), Some(me.uid.as_str()));
    assert_eq!(fake.key_principal(&id), Some(first.clone()));

    // The cs API accepts the STS key (with its token) and issues a certificate for the role.
    let mut cs = signer(&id, &secret, "n-cs-1");
    cs.token = Some(&token);
    let (status, _, body) = send(&fake, &cs.request("c1"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(fake.last_request().unwrap().issued.unwrap().uid, first.uid);

    // Chained: the second AssumeRole is signed with the first's STS key.
    let (status, _, body) = send(
        &fake,
        &sts_request(
            "AssumeRole",
            Some((&id, &secret, Some(&token))),
            &[("RoleArn", ROLE_2), ("RoleSessionName", "s2")],
        ),
    );
    assert_eq!(status, 200, "{body}\n{fake:?}");
    let (id2, _, _) = credentials_of(&json_body(&body));
    assert_eq!(fake.key_principal(&id2), Some(second));
    assert_eq!(fake.grants().pop().unwrap().duration_seconds, Some(3600));
    // ... but the first key may not skip a hop, nor the user assume the second role.
    let (status, _, body) = send(
        &fake,
        &sts_request(
            "AssumeRole",
            Some(("AK1", "secret1", None)),
            &[("RoleArn", ROLE_2), ("RoleSessionName", "s3")],
        ),
    );
    assert_eq!(status, 403, "{body}");
    assert_eq!(json_body(&body)["Code"], "NoPermission");
    assert_eq!(fake.count_action("AssumeRole"), 3);
    let record = fake.requests_to(Service::STS).pop().unwrap();
    assert_eq!(record.access_key_id.as_deref(), Some("AK1"));
    assert_eq!(record.form_param("RoleSessionName"), Some("s3"));
    assert!(record.query.is_empty());
}

#[test]
fn fake_sts_rejects_bad_signatures_tokens_durations_and_roles() {
    let fake = FakeCloud::start();
    fake.add_access_key("AK1", "secret1");
    fake.add_sts_key("STS.K", "secret2", "tok+en/=");
    fake.add_role(ROLE_1);
    let code = |raw: &str| -> (u16, String, Value) {
        let (status, _, body) = send(&fake, raw);
        let body = json_body(&body);
        (
            status,
            body["Code"].as_str().unwrap_or("").to_string(),
            body,
        )
    };
    let role = [("RoleArn", ROLE_1), ("RoleSessionName", "s1")];

    let (status, c, body) = code(&sts_request(
        "AssumeRole",
        Some(("AK1", "wrong", None)),
        &role,
    ));
    assert_eq!((status, c.as_str()), (400, "SignatureDoesNotMatch"));
    let message = body["Message"].as_str().unwrap();
    assert!(
        message
            .contains("server string to sign is:POST&%2F&AccessKeyId%3DAK1%26Action%3DAssumeRole"),
        "{message}"
    );
    assert!(body["RequestId"].as_str().is_some() && body["Recommend"].as_str().is_some());
    assert_eq!(body["HostId"], STS_HOST_ID);

    let (status, c, _) = code(&sts_request("AssumeRole", Some(("NOPE", "x", None)), &role));
    assert_eq!((status, c.as_str()), (404, "InvalidAccessKeyId.NotFound"));
    let (status, c, _) = code(&sts_request(
        "AssumeRole",
        Some(("STS.K", "secret2", None)),
        &role,
    ));
    assert_eq!((status, c.as_str()), (400, "MissingSecurityToken"));
    let (status, c, _) = code(&sts_request(
        "AssumeRole",
        Some(("STS.K", "secret2", Some("tok en/="))),
        &role,
    ));
    assert_eq!((status, c.as_str()), (400, "InvalidSecurityToken.Mismatch"));
    let (status, c, body) = code(&sts_request(
        "AssumeRole",
        Some(("STS.K", "secret2", Some("tok+en/="))),
        &role,
    ));
    assert_eq!((status, c.as_str()), (200, ""), "{body}");

    let (status, c, _) = code(&sts_request(
        "AssumeRole",
        Some(("AK1", "secret1", None)),
        &[
            ("RoleArn", ROLE_1),
            ("RoleSessionName", "s1"),
            ("DurationSeconds", "899"),
        ],
    ));
    assert_eq!(
        (status, c.as_str()),
        (400, "InvalidParameter.DurationSeconds")
    );
    let (status, c, _) = code(&sts_request(
        "AssumeRole",
        Some(("AK1", "secret1", None)),
        &[("RoleArn", ROLE_2), ("RoleSessionName", "s1")],
    ));
    assert_eq!((status, c.as_str()), (404, "EntityNotExist.Role"));
    let (status, c, _) = code(&sts_request(
        "AssumeRole",
        Some(("AK1", "secret1", None)),
        &[("RoleArn", "not-an-arn"), ("RoleSessionName", "s1")],
    ));
    assert_eq!((status, c.as_str()), (400, "InvalidParameter.RoleArn"));

    // A reused nonce.
    let raw = sts_request("AssumeRole", Some(("AK1", "secret1", None)), &role);
    assert_eq!(code(&raw).0, 200);
    assert_eq!(code(&raw).1, "SignatureNonceUsed");

    // A `+` in a form value is a space, as in any form body.
    let raw = sts_request(
        "AssumeRole",
        Some(("AK1", "secret1", None)),
        &[
            ("RoleArn", ROLE_1),
            ("RoleSessionName", "s1"),
            ("ExternalId", "a b"),
        ],
    );
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let body = body.replace("ExternalId=a%20b", "ExternalId=a+b");
    let head = head.replace(
        &format!("Content-Length: {}", body.len() + 2),
        &format!("Content-Length: {}", body.len()),
    );
    let (status, c, body) = code(&format!("{head}\r\n\r\n{body}"));
    assert_eq!((status, c.as_str()), (200, ""), "{body}");
    assert_eq!(
        fake.grants().pop().unwrap().external_id.as_deref(),
        Some("a b")
    );
}

#[test]
fn fake_sts_assume_role_with_oidc_checks_provider_and_token() {
    let fake = FakeCloud::start();
    let role = fake.add_role(ROLE_1);
    let provider = "acs:ram::1234567890123456:oidc-provider/ack-rrsa-c1";
    fake.add_oidc_provider(provider, "jwt-1");
    let business = |token: &'static str| {
        [
            ("RoleArn", ROLE_1),
            ("OIDCProviderArn", provider),
            ("OIDCToken", token),
            ("RoleSessionName", "rrsa"),
        ]
    };
    let (status, _, body) = send(
        &fake,
        &sts_request("AssumeRoleWithOIDC", None, &business("jwt-1")),
    );
    assert_eq!(status, 200, "{body}");
    let (id, _, _) = credentials_of(&json_body(&body));
    assert_eq!(fake.key_principal(&id), Some(role));
    let (status, _, body) = send(
        &fake,
        &sts_request("AssumeRoleWithOIDC", None, &business("jwt-2")),
    );
    assert_eq!(status, 400);
    assert_eq!(
        json_body(&body)["Code"],
        "AuthenticationFail.OIDCToken.Invalid"
    );
    fake.add_oidc_provider(provider, "jwt-2");
    let (status, _, _) = send(
        &fake,
        &sts_request("AssumeRoleWithOIDC", None, &business("jwt-2")),
    );
    assert_eq!(status, 200);
    assert_eq!(fake.count_action(ACTION_ASSUME_ROLE_WITH_OIDC), 3);
    assert!(fake.secrets().contains(&"jwt-2".to_string()));
}

#[test]
fn fake_sts_takes_faults_aimed_at_it() {
    let fake = FakeCloud::start();
    fake.add_access_key("AK1", "secret1");
    fake.add_role(ROLE_1);
    fake.fail_next_on(Service::STS, 1, Fault::ServiceUnavailable);
    let role = [("RoleArn", ROLE_1), ("RoleSessionName", "s1")];
    let (status, _, body) = send(
        &fake,
        &sts_request("AssumeRole", Some(("AK1", "secret1", None)), &role),
    );
    assert_eq!(status, 503, "{body}");
    let (status, _, _) = send(
        &fake,
        &sts_request("AssumeRole", Some(("AK1", "secret1", None)), &role),
    );
    assert_eq!(status, 200);
    assert_eq!(
        fake.requests()[0].outcome,
        Outcome::Fault("ServiceUnavailable".into())
    );
}
