//! The ECS metadata service and credentials URIs over HTTP.

use super::*;

#[test]
fn fake_metadata_service_hands_out_role_credentials_with_and_without_tokens() {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults("c1");
    let role = fake.set_ecs_role("EcsRole");
    let creds_path = "/latest/meta-data/ram/security-credentials/EcsRole";

    // v1: no token needed by default.
    let (status, _, body) = send(&fake, &http("GET", IMDS_CREDENTIALS_PREFIX, &[]));
    assert_eq!((status, body.as_str()), (200, "EcsRole"));
    let (status, _, body) = send(&fake, &http("GET", creds_path, &[]));
    assert_eq!(status, 200, "{body}");
    let body = json_body(&body);
    assert_eq!(body["Code"], "Success");
    let id = body["AccessKeyId"].as_str().unwrap();
    assert_eq!(fake.key_principal(id), Some(role.clone()));
    let mut cs = signer(id, body["AccessKeySecret"].as_str().unwrap(), "n-ecs");
    cs.token = body["SecurityToken"].as_str();
    let (status, _, body) = send(&fake, &cs.request("c1"));
    assert_eq!(status, 200, "{body}");

    // v2 required.
    fake.require_imds_v2(true);
    let (status, _, _) = send(&fake, &http("GET", creds_path, &[]));
    assert_eq!(status, 401);
    let (status, _, _) = send(&fake, &http("PUT", "/latest/api/token", &[]));
    assert_eq!(status, 400);
    let (status, _, token) = send(
        &fake,
        &http(
            "PUT",
            "/latest/api/token",
            &[(IMDS_TOKEN_TTL_HEADER, "21600")],
        ),
    );
    assert_eq!(status, 200);
    let (status, _, _) = send(
        &fake,
        &http("GET", creds_path, &[(IMDS_TOKEN_HEADER, &token)]),
    );
    assert_eq!(status, 200);
    let (status, _, _) = send(
        &fake,
        &http("GET", creds_path, &[(IMDS_TOKEN_HEADER, "forged")]),
    );
    assert_eq!(status, 401);
    let (status, _, _) = send(
        &fake,
        &http(
            "GET",
            "/latest/meta-data/ram/security-credentials/Other",
            &[(IMDS_TOKEN_HEADER, &token)],
        ),
    );
    assert_eq!(status, 404);

    fake.disable_imds_token(403);
    let (status, _, _) = send(
        &fake,
        &http(
            "PUT",
            "/latest/api/token",
            &[(IMDS_TOKEN_TTL_HEADER, "21600")],
        ),
    );
    assert_eq!(status, 403);
    assert_eq!(fake.count_action(ACTION_IMDS_TOKEN), 3);
    assert_eq!(fake.count_action(ACTION_IMDS_ROLE_NAME), 1);
    assert_eq!(fake.count_action(ACTION_IMDS_CREDENTIALS), 5);
    assert_eq!(fake.grants().len(), 2);
}

#[test]
fn fake_credentials_uri_serves_or_fails() {
    let fake = FakeCloud::start();
    let (url, principal) = fake.add_credentials_uri("good");
    assert!(url.ends_with("/credentials-uri/good"), "{url}");
    let bad = fake.add_failing_credentials_uri("bad", "InternalError");
    let (status, _, body) = send(&fake, &http("GET", "/credentials-uri/good", &[]));
    assert_eq!(status, 200);
    let body = json_body(&body);
    assert_eq!(body["Code"], "Success");
    assert_eq!(
        fake.key_principal(body["AccessKeyId"].as_str().unwrap()),
        Some(principal)
    );
    assert!(body["Expiration"].as_str().unwrap().ends_with('Z'));
    let path = &bad[fake.endpoint().len()..];
    let (status, _, body) = send(&fake, &http("GET", path, &[]));
    assert_eq!(status, 200);
    assert_eq!(json_body(&body)["Code"], "InternalError");
    assert_eq!(fake.count_action(ACTION_CREDENTIALS_URI), 2);
}
