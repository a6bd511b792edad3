//! `get-credential --mesh-id` against the fake ASM (`DescribeServiceMeshKubeconfig`, RPC): a
//! signed form POST, the mesh certificate, its expiry despite a zone-less UTC+8 `ExpireTime`,
//! the cache, and clean failures.

use chrono::{NaiveDateTime, TimeDelta, Utc};

use crate::support::checks::{
    RpcCall, assert_close, assert_v2_rpc_form, assert_v3_rpc_post, form, issued, only_request,
};
use crate::support::exec_credential::V1BETA1;
use crate::support::fake_cloud::{
    ACTION_DESCRIBE_SERVICE_MESH_KUBECONFIG, DEFAULT_MESH_PRIVATE_SERVER, FakeCloud,
    MESH_EXPIRE_TIME_FORMAT, Outcome, SERVICEMESH_API_VERSION, Service,
};
use crate::support::golden::assert_stderr;
use crate::support::{CLUSTER, KEY_ID, MESH, Plugin, Run, as_ram_user, cloud_with_meshes};

/// The call `get-credential --mesh-id` makes.
const DESCRIBE_MESH_KUBECONFIG: RpcCall = RpcCall {
    service: Service::ASM,
    action: ACTION_DESCRIBE_SERVICE_MESH_KUBECONFIG,
    version: SERVICEMESH_API_VERSION,
};

/// `get-credential --mesh-id MESH`.
fn get_mesh_credential(fake: &FakeCloud) -> Plugin<'_> {
    as_ram_user(fake).args(["get-credential", "--mesh-id", MESH])
}

#[test]
fn mesh_first_fetch_is_a_v3_signed_post_and_prints_the_mesh_certificate() {
    let (fake, me) = cloud_with_meshes();
    let run = get_mesh_credential(&fake).run_ok();

    let record = only_request(&fake, &run);
    assert_v3_rpc_post(
        &record,
        &DESCRIBE_MESH_KUBECONFIG,
        KEY_ID,
        &["ServiceMeshId", "PrivateIpAddress"],
        &run,
    );
    assert!(
        record
            .header("x-acs-signature-nonce")
            .is_some_and(|n| !n.is_empty()),
        "{run}"
    );
    assert_eq!(form(&record, "ServiceMeshId", &run), MESH);
    assert_eq!(record.security_token(), None, "{run}");
    // The fake's own V3 verifier accepted it.
    assert_eq!(record.outcome, Outcome::Issued, "{run}");
    assert_eq!(run.credential().certificate().common_name, me.uid, "{run}");
    assert_eq!(run.stderr, "", "stderr must be silent on success\n{run}");
}

#[test]
fn mesh_first_fetch_with_v2_is_a_signed_form_post_and_prints_the_mesh_certificate() {
    let (fake, me) = cloud_with_meshes();
    let run = get_mesh_credential(&fake)
        .env("ACK_SIGNATURE_VERSION", "v2")
        .run_ok();

    let record = only_request(&fake, &run);
    assert_v2_rpc_form(&record, &DESCRIBE_MESH_KUBECONFIG, KEY_ID, &run);
    assert_eq!(record.method, "POST", "{run}");
    assert_eq!(record.path, "/", "{run}");
    assert!(
        record
            .header("content-type")
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded")),
        "{run}"
    );
    assert_eq!(form(&record, "SignatureVersion", &run), "1.0");
    assert!(!form(&record, "SignatureNonce", &run).is_empty(), "{run}");
    let timestamp = form(&record, "Timestamp", &run);
    let at = NaiveDateTime::parse_from_str(timestamp, "%Y-%m-%dT%H:%M:%SZ")
        .unwrap_or_else(|e| panic!("Timestamp {timestamp}: {e}\n{run}"))
        .and_utc();
    assert_close(at, Utc::now(), TimeDelta::minutes(1), "Timestamp", &run);
    assert_eq!(form(&record, "ServiceMeshId", &run), MESH);
    assert_eq!(form(&record, "PrivateIpAddress", &run), "false");
    assert_eq!(record.form_param("SecurityToken"), None, "{run}");
    // The fake's own RPC verifier accepted the signature.
    assert_eq!(record.outcome, Outcome::Issued, "{run}");

    let issued = issued(&record);
    assert!(issued.mesh && !issued.private_ip, "{run}");
    let cred = run.credential();
    assert_eq!(cred.api_version, V1BETA1, "{run}");
    assert_eq!(
        cred.client_certificate_data.as_deref().map(str::trim),
        issued.certificate_pem.as_deref().map(str::trim),
        "{run}"
    );
    let cert = cred.certificate();
    assert_eq!(cert.common_name, me.uid, "{run}");
    assert_eq!(cert.issuer_common_name, "fake-ack-client-ca", "{run}");
    let key = rcgen::KeyPair::from_pem(cred.client_key_data.as_deref().unwrap())
        .expect("clientKeyData is a private key");
    assert_eq!(key.public_key_der(), cert.public_key_der, "{run}");
    assert_eq!(run.stderr, "", "stderr must be silent on success\n{run}");
}

#[test]
fn mesh_fetch_with_sts_credentials_signs_the_security_token() {
    let (fake, _) = cloud_with_meshes();
    let token = "CAIS+sts/token==withSymbols";
    let principal = fake.add_sts_key("STS.NTmeshKey", "stsMeshSecret", token);
    let run = Plugin::new(&fake)
        .access_key("STS.NTmeshKey", "stsMeshSecret")
        .security_token(token)
        .env("ACK_ASM_ENDPOINT", fake.asm_endpoint())
        .args(["get-credential", "--mesh-id", MESH])
        .run_ok();

    let record = only_request(&fake, &run);
    assert_eq!(record.security_token(), Some(token), "{run}");
    assert_eq!(record.outcome, Outcome::Issued, "{run}");
    assert_eq!(run.credential().certificate().common_name, principal.uid);
}

#[test]
fn mesh_second_call_is_served_from_cache() {
    let (fake, _) = cloud_with_meshes();
    let plugin = get_mesh_credential(&fake);
    let first = plugin.run_ok();
    let second = plugin.run_ok();
    assert_eq!(fake.count(), 1, "the second call must not fetch\n{second}");
    assert_eq!(second.stdout, first.stdout, "{second}");
    assert_eq!(second.stderr, "", "{second}");
}

/// The fake writes `ExpireTime` in UTC+8 without a zone: read as UTC it is 8 hours after the
/// certificate's NotAfter. The printed expiry is still the refresh point of the certificate.
#[test]
fn mesh_expiry_is_never_after_not_after_despite_a_utc_plus_8_expire_time() {
    let (fake, _) = cloud_with_meshes();
    for (lifetime, window) in [
        (TimeDelta::hours(24), TimeDelta::minutes(24 * 60 / 5)),
        (TimeDelta::hours(1), TimeDelta::minutes(12)),
    ] {
        fake.set_cert_lifetime(lifetime.to_std().unwrap());
        let before = fake.count();
        let run = get_mesh_credential(&fake).run_ok();
        let started = Utc::now();
        assert_eq!(fake.count(), before + 1, "{run}");
        let issued = issued(&fake.last_request().unwrap());
        let expire_time =
            NaiveDateTime::parse_from_str(&issued.expiration, MESH_EXPIRE_TIME_FORMAT)
                .unwrap()
                .and_utc();
        assert_eq!(
            expire_time - issued.not_after,
            TimeDelta::hours(8),
            "the fake's ExpireTime is NotAfter in UTC+8"
        );

        let cred = run.credential();
        let expiry = cred.expiration();
        let cert = cred.certificate();
        assert_eq!(cert.not_after, issued.not_after, "{run}");
        assert!(
            expiry <= cert.not_after,
            "expiry {expiry} after the certificate's NotAfter {}\n{run}",
            cert.not_after
        );
        assert!(expiry > started, "expiry in the past\n{run}");
        assert_close(
            expiry,
            cert.not_after - window,
            TimeDelta::seconds(90),
            &format!("expirationTimestamp of a {lifetime} mesh certificate"),
            &run,
        );
        assert!(
            cred.expiration_timestamp
                .as_deref()
                .is_some_and(|t| t.ends_with('Z')),
            "{run}"
        );
    }
}

/// When `ExpireTime` is true UTC and earlier than the NotAfter, it wins.
#[test]
fn mesh_expire_time_earlier_than_not_after_bounds_the_expiry() {
    let (fake, _) = cloud_with_meshes();
    fake.set_mesh_expire_time_utc_offset(TimeDelta::zero());
    fake.set_api_expiration_offset(TimeDelta::hours(-6));
    let run = get_mesh_credential(&fake).run_ok();
    let issued = issued(&fake.last_request().unwrap());
    let expire_time = NaiveDateTime::parse_from_str(&issued.expiration, MESH_EXPIRE_TIME_FORMAT)
        .unwrap()
        .and_utc();
    let expiry = run.credential().expiration();
    assert!(
        expiry <= expire_time,
        "expiry {expiry} after the API's ExpireTime {expire_time} (UTC)\n{run}"
    );
    assert!(expiry > Utc::now(), "{run}");
}

#[test]
fn mesh_private_ip_sends_private_ip_address_true() {
    let (fake, _) = cloud_with_meshes();
    let p = get_mesh_credential(&fake);
    let run = p.clone().arg("--private-ip").run_ok();
    let record = only_request(&fake, &run);
    assert_eq!(form(&record, "PrivateIpAddress", &run), "true");
    let issued = issued(&record);
    assert!(issued.private_ip, "{run}");
    assert_eq!(issued.server, DEFAULT_MESH_PRIVATE_SERVER, "{run}");
    // The public address is another cache entry.
    let run = p.run_ok();
    assert_eq!(fake.count(), 2, "{run}");
    assert_eq!(
        form(&fake.last_request().unwrap(), "PrivateIpAddress", &run),
        "false"
    );
}

#[test]
fn mesh_id_with_cluster_id_uid_or_expiration_is_a_usage_error_without_a_request() {
    let (fake, _) = cloud_with_meshes();
    let conflicting: [(&[&str], &str); 4] = [
        (&["--cluster-id", CLUSTER], " '--cluster-id <ID>'"),
        (&["--uid", "12345"], " '--uid <UID>'"),
        (&["--expiration", "3h"], " '--expiration <DURATION>'"),
        (
            &["--cluster-id", CLUSTER, "--uid", "12345"],
            ":\n  --cluster-id <ID>\n  --uid <UID>",
        ),
    ];
    for (command, targets) in [
        (
            "get-credential",
            "<--cluster-id <ID>|--mesh-id <ID>|--fleet-id <ID>>",
        ),
        (
            "kubeconfig",
            "<--cluster-id <ID>|--mesh-id <ID>|--fleet-id <ID>|--cluster-name <NAME>|--all>",
        ),
    ] {
        for (extra, with) in conflicting {
            let run = as_ram_user(&fake)
                .args([command, "--mesh-id", MESH])
                .args(extra.iter().copied())
                .run_exit(2);
            assert_eq!(
                run.stderr,
                format!(
                    "error: the argument '--mesh-id <ID>' cannot be used with{with}\n\n\
                     Usage: ack-credential-plugin {command} {targets}\n\n\
                     For more information, try '--help'.\n"
                ),
                "{run}"
            );
        }
        let too_long = "m".repeat(65);
        for bad in ["m_1", "m/1", "m.1", too_long.as_str(), ""] {
            let run = as_ram_user(&fake)
                .args([command, "--mesh-id", bad])
                .run_exit(2);
            assert_eq!(
                run.stderr,
                format!(
                    "ack-credential-plugin: error: --mesh-id {bad:?} is not a valid id: expected \
                     up to 64 letters, digits and `-` (e.g. c82e6987e2961451182edacd74faf0693)\n"
                ),
                "{run}"
            );
        }
    }
    assert_eq!(fake.count(), 0, "{}", fake.dump());
}

#[test]
fn mesh_id_of_64_characters_is_accepted() {
    let (fake, _) = cloud_with_meshes();
    let id = format!("m{}", "0a1b2c3d".repeat(8))[..64].to_string();
    fake.add_mesh_with_defaults(&id);
    let run = as_ram_user(&fake)
        .args(["get-credential", "--mesh-id", id.as_str()])
        .run_ok();
    assert_eq!(form(&only_request(&fake, &run), "ServiceMeshId", &run), id);
}

/// A failed ASM call: exit 1, empty stdout, and one request (these are never retried); each test
/// pins the whole message.
fn assert_clean_asm_failure(fake: &FakeCloud, run: &Run, code: &str) {
    assert_eq!(run.code(), Some(1), "{run}");
    assert_eq!(run.stdout, "", "{run}");
    let record = only_request(fake, run);
    assert_eq!(record.outcome, Outcome::Rejected(code.into()), "{run}");
}

#[test]
fn mesh_unknown_is_a_clean_error_with_code_and_request_id() {
    let (fake, _) = cloud_with_meshes();
    let run = as_ram_user(&fake)
        .args(["get-credential", "--mesh-id", "m-no-such-mesh"])
        .run_err();
    assert_clean_asm_failure(&fake, &run, "ServiceMesh.NotFound");
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: DescribeServiceMeshKubeconfig for mesh m-no-such-mesh failed: ServiceMesh.NotFound: The specified service mesh m-no-such-mesh does not exist. (HTTP 404, RequestId: [request-id #0])
hint: check the mesh id `m-no-such-mesh`: the mesh must exist in the account of these credentials",
    );
}

#[test]
fn mesh_with_a_wrong_secret_is_a_clean_error_with_code_and_request_id() {
    let (fake, _) = cloud_with_meshes();
    let run = Plugin::new(&fake)
        .access_key(KEY_ID, "notTheRightSecretAtAll")
        .env("ACK_ASM_ENDPOINT", fake.asm_endpoint())
        .args(["get-credential", "--mesh-id", MESH])
        .run_err();
    assert_clean_asm_failure(&fake, &run, "SignatureDoesNotMatch");
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: DescribeServiceMeshKubeconfig for mesh m1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d failed: SignatureDoesNotMatch: Specified signature is not matched with our calculation. (HTTP 400, RequestId: [request-id #0])
hint: the AccessKey secret does not belong to AccessKey ID LTAI5tFakeAccessKey0001: check ALIBABA_CLOUD_ACCESS_KEY_SECRET (or your profile)",
    );
}

#[test]
fn mesh_not_permitted_is_a_clean_error_with_code_and_request_id() {
    let (fake, _) = cloud_with_meshes();
    let someone_else = fake.add_access_key("LTAI5tSomeoneElse0001", "someoneElseSecret");
    fake.allow_mesh(MESH, &someone_else);
    let run = get_mesh_credential(&fake).run_err();
    assert_clean_asm_failure(&fake, &run, "Forbidden.RAM");
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: DescribeServiceMeshKubeconfig for mesh m1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d failed: Forbidden.RAM: User not authorized to operate on the specified resource: 20000000000000001 may not describe the kubeconfig of service mesh m1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d. (HTTP 403, RequestId: [request-id #0])
hint: this identity is not allowed to call DescribeServiceMeshKubeconfig: grant `servicemesh:DescribeServiceMeshKubeconfig` in RAM, or use another identity",
    );
}

#[test]
fn mesh_force_refresh_fetches_even_when_cached() {
    let (fake, _) = cloud_with_meshes();
    let plugin = get_mesh_credential(&fake);
    let first = plugin.run_ok();
    let second = plugin.clone().arg("--force-refresh").run_ok();
    assert_eq!(fake.count(), 2, "{second}");
    let log = fake.requests();
    assert_ne!(issued(&log[0]).serial, issued(&log[1]).serial);
    assert_ne!(
        first.credential().certificate().serial,
        second.credential().certificate().serial,
        "{second}"
    );
    // And the refreshed certificate is what the cache serves next.
    let third = plugin.run_ok();
    assert_eq!(fake.count(), 2, "{third}");
    assert_eq!(third.stdout, second.stdout, "{third}");
}
