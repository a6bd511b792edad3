//! The cs API over HTTP: certificates for correctly signed requests, every gateway check, faults.

use x509_cert::der::DecodePem;

use super::*;

#[test]
fn fake_issues_a_real_certificate_for_a_correctly_signed_request() {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults("c1");
    let me = fake.add_access_key("AK1", "secret1");
    let (status, _, body) = send(&fake, &signer("AK1", "secret1", "n-1").request("c1"));
    assert_eq!(status, 200, "{body}\n{fake:?}");
    let body: Value = serde_json::from_str(&body).unwrap();
    let config: Value = serde_yaml_ng::from_str(body["config"].as_str().unwrap()).unwrap();
    assert_eq!(config["kind"], "Config");
    assert_eq!(
        config["clusters"][0]["cluster"]["server"],
        DEFAULT_CLUSTER_PUBLIC_SERVER
    );
    let cert_pem = BASE64
        .decode(
            config["users"][0]["user"]["client-certificate-data"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let cert_pem = String::from_utf8(cert_pem).unwrap();
    let issued = fake.last_request().unwrap().issued.unwrap();
    assert_eq!(issued.certificate_pem.as_deref(), Some(cert_pem.as_str()));
    assert_eq!(issued.uid, me.uid);
    assert_eq!(
        body["expiration"],
        issued.not_after.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    );
    assert_eq!(issued.not_after - issued.not_before, TimeDelta::minutes(61));
    // A real X.509 certificate whose subject names the caller and whose issuer is the CA.
    let cert = x509_cert::Certificate::from_pem(cert_pem.as_bytes()).unwrap();
    let subject = cert.tbs_certificate.subject.to_string();
    assert!(subject.contains(&format!("CN={}", me.uid)), "{subject}");
    let issued_by = cert.tbs_certificate.issuer.to_string();
    assert!(issued_by.contains("CN=fake-ack-client-ca"), "{issued_by}");
    assert_eq!(fake.successes(), 1);
}

#[test]
fn fake_rejects_a_wrong_secret_and_shows_its_string_to_sign() {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults("c1");
    fake.add_access_key("AK1", "secret1");
    let (status, _, body) = send(&fake, &signer("AK1", "wrong", "n-1").request("c1"));
    assert_eq!(status, 400, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["Code"], "SignatureDoesNotMatch");
    let message = body["Message"].as_str().unwrap();
    let (_, sts) = message.split_once("server string to sign is:").unwrap();
    assert!(sts.starts_with("GET\napplication/json\n\n\n"), "{sts}");
    assert!(
        sts.ends_with("/k8s/c1/user_config?PrivateIpAddress=false&TemporaryDurationMinutes=60"),
        "{sts}"
    );
    assert!(body["RequestId"].as_str().is_some());
}

#[test]
fn fake_rejects_unknown_keys_reused_nonces_stale_dates_and_bad_tokens() {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults("c1");
    fake.add_access_key("AK1", "secret1");
    fake.add_sts_key("STS1", "secret2", "token-abc");

    let (status, _, body) = send(&fake, &signer("NOPE", "x", "n-0").request("c1"));
    assert_eq!(status, 404);
    assert!(body.contains("InvalidAccessKeyId.NotFound"), "{body}");

    let (status, _, _) = send(&fake, &signer("AK1", "secret1", "n-1").request("c1"));
    assert_eq!(status, 200);
    let (status, _, body) = send(&fake, &signer("AK1", "secret1", "n-1").request("c1"));
    assert_eq!(status, 400);
    assert!(body.contains("SignatureNonceUsed"), "{body}");

    let mut stale = signer("AK1", "secret1", "n-2");
    stale.date = Utc::now() - TimeDelta::minutes(16);
    let (status, headers, body) = send(&fake, &stale.request("c1"));
    assert_eq!(status, 400);
    assert!(body.contains("InvalidTimeStamp.Expired"), "{body}");
    assert!(find_header(&headers, "date").is_some());

    let (status, _, body) = send(&fake, &signer("STS1", "secret2", "n-3").request("c1"));
    assert_eq!(status, 400);
    assert!(body.contains("MissingSecurityToken"), "{body}");
    let mut wrong = signer("STS1", "secret2", "n-4");
    wrong.token = Some("token-xyz");
    let (status, _, body) = send(&fake, &wrong.request("c1"));
    assert_eq!(status, 400);
    assert!(body.contains("InvalidSecurityToken.Mismatch"), "{body}");
    let mut right = signer("STS1", "secret2", "n-5");
    right.token = Some("token-abc");
    let (status, _, body) = send(&fake, &right.request("c1"));
    assert_eq!(status, 200, "{body}");

    let (status, _, body) = send(&fake, &signer("AK1", "secret1", "n-6").request("nope"));
    assert_eq!(status, 404);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["code"], "ErrorClusterNotFound");
    assert_eq!(body["status"], 404);
    assert!(body["requestId"].as_str().is_some());
    assert_eq!(fake.count(), 8);
    assert_eq!(fake.successes(), 2);
}

/// An STS key is refused once it expires: by the cs API (ROA) as by STS and ASM (RPC, V3).
#[test]
fn fake_refuses_an_expired_sts_key() {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults("c1");
    let me = fake.add_access_key("AK1", "secret1");
    fake.add_role(ROLE_1);
    fake.allow_assume(ROLE_1, &me);
    let (status, _, body) = send(
        &fake,
        &sts_request(
            "AssumeRole",
            Some(("AK1", "secret1", None)),
            &[
                ("RoleArn", ROLE_1),
                ("RoleSessionName", "s1"),
                ("DurationSeconds", "900"),
            ],
        ),
    );
    assert_eq!(status, 200, "{body}");
    let (id, secret, token) = credentials_of(&json_body(&body));
    let mut fresh = signer(&id, &secret, "n-1");
    fresh.token = Some(&token);
    let (status, _, body) = send(&fake, &fresh.request("c1"));
    assert_eq!(status, 200, "{body}");

    // The server's clock past the key's Expiration; the request dated by that clock.
    fake.set_clock_offset(TimeDelta::seconds(901));
    let mut expired = signer(&id, &secret, "n-2");
    expired.token = Some(&token);
    expired.date = fake.now();
    let (status, _, body) = send(&fake, &expired.request("c1"));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("InvalidSecurityToken.Expired"), "{body}");
}

#[test]
fn fake_applies_queued_faults_in_order_and_stops_with_a_hung_connection() {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults("c1");
    fake.add_access_key("AK1", "secret1");
    fake.fail_next(1, Fault::ServiceUnavailable);
    fake.fail_next(1, Fault::Throttling { time_left_ms: 300 });
    let (status, _, body) = send(&fake, &signer("AK1", "secret1", "a").request("c1"));
    assert_eq!(status, 503);
    assert!(body.contains("ServiceUnavailable"));
    let (status, headers, _) = send(&fake, &signer("AK1", "secret1", "b").request("c1"));
    assert_eq!(status, 400);
    let limit = find_header(&headers, "x-ratelimit-user-api").unwrap();
    assert!(
        limit.starts_with("Limit:10,Remain:0,TimeLeft:300,Reset:"),
        "{limit}"
    );
    let (status, _, _) = send(&fake, &signer("AK1", "secret1", "c").request("c1"));
    assert_eq!(status, 200);

    fake.fail_next(1, Fault::Hang);
    let raw = signer("AK1", "secret1", "d").request("c1");
    let addr = fake.addr();
    let client = thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(raw.as_bytes()).unwrap();
        let mut out = String::new();
        let _ = stream.read_to_string(&mut out);
        out
    });
    fake.wait_for("the hung request arrived", Duration::from_secs(10), |log| {
        log.len() == 4
    });
    let started = Instant::now();
    drop(fake);
    assert_eq!(client.join().unwrap(), "");
    // Dropping wakes the hung connection at once; one left asleep would hold the drop until
    // the 10-s socket timeout, which the bound stays well below.
    assert!(started.elapsed() < Duration::from_secs(8));
}

#[test]
fn fake_refuses_a_cluster_to_identities_ram_does_not_allow() {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults("c1");
    let me = fake.add_access_key("AK1", "secret1");
    fake.add_access_key("AK2", "secret2");
    fake.allow_cluster("c1", &me);
    let (status, _, body) = send(&fake, &signer("AK2", "secret2", "n-1").request("c1"));
    assert_eq!(status, 403, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["Code"], "Forbidden.RAM");
    assert!(body["RequestId"].as_str().is_some());
    let (status, _, _) = send(&fake, &signer("AK1", "secret1", "n-2").request("c1"));
    assert_eq!(status, 200);
}

#[test]
fn fake_remembers_every_private_key_and_token_it_hands_out() {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults("c1");
    fake.add_token_cluster("c2", "bearer-token-of-c2");
    fake.add_access_key("AK1", "secret1");
    let (status, _, _) = send(&fake, &signer("AK1", "secret1", "n-1").request("c1"));
    assert_eq!(status, 200);
    let key_pem = fake
        .last_request()
        .unwrap()
        .issued
        .unwrap()
        .key_pem
        .unwrap();
    fake.fail_next(1, Fault::CertificateNotACertificate);
    let (status, _, body) = send(&fake, &signer("AK1", "secret1", "n-2").request("c1"));
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    let config: Value = serde_yaml_ng::from_str(body["config"].as_str().unwrap()).unwrap();
    let garbage_key = BASE64
        .decode(
            config["users"][0]["user"]["client-key-data"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let handed_out = fake.cluster_credentials();
    assert_eq!(
        handed_out,
        [
            "bearer-token-of-c2".to_string(),
            key_pem,
            String::from_utf8(garbage_key).unwrap()
        ]
    );
    assert_eq!(fake.secrets(), ["secret1"]);
}
