//! ACK One fleets (`--fleet-id`) against the fake adcp (`DescribeHubClusterKubeconfig`, RPC):
//! what goes on the wire in both signature schemes, the hub certificate and its expiry (from
//! the certificate alone: the API states none), the cache and `cache list`/`cache clear`
//! telling fleets from clusters and meshes, `kubeconfig --fleet-id`, and clean failures.
//!
//! (Over 400 lines: fourteen tests of one kind of target, end to end, sharing the set-up at
//! the top.)

use chrono::{TimeDelta, Utc};

use crate::support::checks::{
    RpcCall, assert_close, assert_v2_rpc_form, assert_v3_rpc_post, form, issued, only_request,
};
use crate::support::fake_cloud::{
    ACTION_DESCRIBE_HUB_CLUSTER_KUBECONFIG, ADCP_API_VERSION, DEFAULT_FLEET_PRIVATE_SERVER,
    DEFAULT_FLEET_PUBLIC_SERVER, FLEET_CERT_LIFETIME, FakeCloud, Fault, Outcome, Service,
};
use crate::support::golden::assert_stderr;
use crate::support::{FLEET, KEY_ID, Plugin, as_ram_user, cloud_with_fleet};

/// The call `get-credential --fleet-id` makes.
const DESCRIBE_HUB: RpcCall = RpcCall {
    service: Service::ADCP,
    action: ACTION_DESCRIBE_HUB_CLUSTER_KUBECONFIG,
    version: ADCP_API_VERSION,
};

/// `get-credential --fleet-id FLEET`.
fn get_fleet_credential(fake: &FakeCloud) -> Plugin<'_> {
    as_ram_user(fake).args(["get-credential", "--fleet-id", FLEET])
}

#[test]
fn fleet_first_fetch_is_a_v3_signed_post_and_prints_the_hub_certificate() {
    let (fake, me) = cloud_with_fleet();
    let run = get_fleet_credential(&fake).run_ok();

    let record = only_request(&fake, &run);
    assert_v3_rpc_post(
        &record,
        &DESCRIBE_HUB,
        KEY_ID,
        &["ClusterId", "PrivateIpAddress"],
        &run,
    );
    assert_eq!(form(&record, "ClusterId", &run), FLEET);
    assert_eq!(form(&record, "PrivateIpAddress", &run), "false");
    assert_eq!(record.outcome, Outcome::Issued, "{run}");

    let issued = issued(&record);
    assert!(issued.fleet && !issued.mesh && !issued.private_ip, "{run}");
    assert_eq!(issued.server, DEFAULT_FLEET_PUBLIC_SERVER, "{run}");
    let cred = run.credential();
    assert_eq!(
        cred.client_certificate_data.as_deref().map(str::trim),
        issued.certificate_pem.as_deref().map(str::trim),
        "{run}"
    );
    let cert = cred.certificate();
    assert_eq!(cert.common_name, me.uid, "{run}");
    assert_eq!(cert.issuer_common_name, "fake-ack-client-ca", "{run}");
    assert_eq!(run.stderr, "", "stderr must be silent on success\n{run}");
}

#[test]
fn fleet_fetch_with_v2_is_a_signed_form_post() {
    let (fake, me) = cloud_with_fleet();
    let run = get_fleet_credential(&fake)
        .env("ACK_SIGNATURE_VERSION", "v2")
        .run_ok();

    let record = only_request(&fake, &run);
    assert_v2_rpc_form(&record, &DESCRIBE_HUB, KEY_ID, &run);
    assert_eq!(record.signature_version(), Some("v2"), "{run}");
    assert_eq!(form(&record, "ClusterId", &run), FLEET);
    // The fake's own RPC V2 verifier accepted the signature.
    assert_eq!(record.outcome, Outcome::Issued, "{run}");
    assert_eq!(run.credential().certificate().common_name, me.uid, "{run}");
}

#[test]
fn fleet_second_call_is_served_from_cache() {
    let (fake, _) = cloud_with_fleet();
    let plugin = get_fleet_credential(&fake);
    let first = plugin.run_ok();
    let second = plugin.run_ok();
    assert_eq!(fake.count(), 1, "the second call must not fetch\n{second}");
    assert_eq!(second.stdout, first.stdout, "{second}");
    assert_eq!(second.stderr, "", "{second}");
}

/// adcp states no expiry: the printed one is the certificate's refresh point (a fifth of its
/// lifetime or 10 minutes before NotAfter, whichever is earlier), for a short certificate and
/// for the long-lived one adcp hands out.
#[test]
fn fleet_expiry_comes_from_the_certificate() {
    let (fake, _) = cloud_with_fleet();
    for (lifetime, window) in [
        (TimeDelta::hours(1), TimeDelta::minutes(12)),
        (TimeDelta::minutes(30), TimeDelta::minutes(10)),
        (
            TimeDelta::from_std(FLEET_CERT_LIFETIME).unwrap(),
            TimeDelta::from_std(FLEET_CERT_LIFETIME).unwrap() / 5,
        ),
    ] {
        fake.set_cert_lifetime(lifetime.to_std().unwrap());
        let run = get_fleet_credential(&fake).run_ok();
        let issued = issued(&fake.last_request().unwrap());
        assert_eq!(issued.expiration, "", "the fake states no expiry");
        let cred = run.credential();
        assert_eq!(cred.certificate().not_after, issued.not_after, "{run}");
        assert_close(
            cred.expiration(),
            issued.not_after - window,
            TimeDelta::seconds(90),
            &format!("expirationTimestamp of a {lifetime} fleet certificate"),
            &run,
        );
    }
    assert_eq!(fake.successes(), 3, "{}", fake.dump());
}

#[test]
fn fleet_private_ip_asks_for_the_private_address_in_an_entry_of_its_own() {
    let (fake, _) = cloud_with_fleet();
    let p = get_fleet_credential(&fake);
    let run = p.clone().arg("--private-ip").run_ok();
    let record = only_request(&fake, &run);
    assert_eq!(form(&record, "PrivateIpAddress", &run), "true");
    assert_eq!(
        issued(&record).server,
        DEFAULT_FLEET_PRIVATE_SERVER,
        "{run}"
    );
    let run = p.run_ok();
    assert_eq!(fake.count(), 2, "{run}");
}

#[test]
fn fleet_without_a_region_or_endpoint_says_one_is_needed() {
    let (fake, _) = cloud_with_fleet();
    let run = get_fleet_credential(&fake)
        .env_remove("ACK_ADCP_ENDPOINT")
        .run_exit(2);
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: an ACK One fleet lives in a region, and none is known: give the fleet's region with --region (or ALIBABA_CLOUD_REGION_ID, or region_id in the aliyun CLI profile), or the API's address with --adcp-endpoint",
    );
    assert_eq!(fake.count(), 0, "{}", fake.dump());
}

/// An explicit endpoint wins over the region, as for cs.
#[test]
fn fleet_endpoint_flag_wins_over_the_region() {
    let (fake, _) = cloud_with_fleet();
    let run = get_fleet_credential(&fake)
        .env_remove("ACK_ADCP_ENDPOINT")
        .args([
            "--region",
            "cn-hangzhou",
            "--adcp-endpoint",
            &fake.endpoint(),
        ])
        .run_ok();
    assert_eq!(only_request(&fake, &run).service, Service::ADCP);
}

#[test]
fn unknown_fleet_names_the_fleet_and_its_region() {
    let (fake, _) = cloud_with_fleet();
    let run = as_ram_user(&fake)
        .args([
            "get-credential",
            "--fleet-id",
            "cnosuchfleet00000000000000000000",
        ])
        .run_exit(1);
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: DescribeHubClusterKubeconfig for fleet cnosuchfleet00000000000000000000 failed: ClusterNotFound: The specified cluster cnosuchfleet00000000000000000000 is not found. (HTTP 404, RequestId: [request-id #0])
hint: check the fleet id `cnosuchfleet00000000000000000000` and its region: the fleet must exist in the account of these credentials, in the region of http://[fake]",
    );
    assert_eq!(
        only_request(&fake, &run).outcome,
        Outcome::Rejected("ClusterNotFound".into())
    );
}

#[test]
fn no_permission_for_the_fleet_names_the_adcp_action() {
    let (fake, me) = cloud_with_fleet();
    let someone_else = fake.add_access_key("LTAI5tSomeoneElse0001", "someoneElseSecret01");
    fake.allow_fleet(FLEET, &someone_else);
    let run = get_fleet_credential(&fake).run_exit(1);
    assert_stderr(
        &run,
        &format!(
            "ack-credential-plugin: error: DescribeHubClusterKubeconfig for fleet {FLEET} failed: \
             Forbidden.RAM: User not authorized to operate on the specified resource: {uid} may \
             not describe the kubeconfig of hub cluster {FLEET}. (HTTP 403, RequestId: \
             [request-id #0])\n\
             hint: this identity is not allowed to call DescribeHubClusterKubeconfig: grant \
             `adcp:DescribeHubClusterKubeconfig` in RAM, or use another identity",
            uid = me.uid
        ),
    );
}

#[test]
fn a_fleet_answer_without_a_kubeconfig_is_not_cached() {
    let (fake, _) = cloud_with_fleet();
    fake.fail_next_on(Service::ADCP, 1, Fault::BodyWithoutConfig);
    let p = get_fleet_credential(&fake);
    let run = p.run_exit(1);
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: DescribeHubClusterKubeconfig returned an answer that cannot be used: the body has no `Kubeconfig` (the kubeconfig) (RequestId: [request-id #0])
hint: try again; if it persists, report it with the RequestId",
    );
    p.run_ok();
    assert_eq!(fake.count(), 2, "{}", fake.dump());
}

#[test]
fn fleet_id_with_uid_expiration_or_another_target_is_a_usage_error_without_a_request() {
    let (fake, _) = cloud_with_fleet();
    for extra in [
        &["--uid", "12345"][..],
        &["--expiration", "3h"],
        &["--cluster-id", "c1"],
        &["--mesh-id", "m1"],
    ] {
        for command in ["get-credential", "kubeconfig"] {
            let run = as_ram_user(&fake)
                .args([command, "--fleet-id", FLEET])
                .args(extra.iter().copied())
                .run_exit(2);
            assert!(
                run.stderr
                    .starts_with("error: the argument '--fleet-id <ID>' cannot be used with")
                    || run.stderr.contains("cannot be used with '--fleet-id <ID>'"),
                "{run}"
            );
        }
    }
    let run = as_ram_user(&fake)
        .args(["get-credential", "--fleet-id", "f/1"])
        .run_exit(2);
    assert_stderr(
        &run,
        r#"
ack-credential-plugin: error: --fleet-id "f/1" is not a valid id: expected up to 64 letters, digits and `-` (e.g. c82e6987e2961451182edacd74faf0693)"#,
    );
    assert_eq!(fake.count(), 0, "{}", fake.dump());
}

/// `kubeconfig --fleet-id` writes the hub's server and CA and a user that runs `get-credential
/// --fleet-id` with the endpoint given; kubectl's first call is then a cache hit.
#[test]
fn fleet_kubeconfig_runs_get_credential_for_the_fleet_from_the_cache() {
    let (fake, _) = cloud_with_fleet();
    let p = as_ram_user(&fake).env_remove("ACK_ADCP_ENDPOINT");
    let endpoint = fake.adcp_endpoint();
    let run = p
        .clone()
        .args([
            "kubeconfig",
            "--fleet-id",
            FLEET,
            "--adcp-endpoint",
            &endpoint,
        ])
        .run_success();
    let config: serde_yaml_ng::Value = serde_yaml_ng::from_str(&run.stdout).unwrap();
    assert_eq!(config["current-context"], FLEET, "{run}");
    assert_eq!(
        config["clusters"][0]["cluster"]["server"], DEFAULT_FLEET_PUBLIC_SERVER,
        "{run}"
    );
    let args: Vec<String> = config["users"][0]["user"]["exec"]["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        args,
        [
            "get-credential",
            "--fleet-id",
            FLEET,
            "--adcp-endpoint",
            &endpoint
        ],
        "{run}"
    );
    assert_eq!(fake.count(), 1, "{run}");
    let hit = p.clone().args(&args).run_ok();
    assert_eq!(fake.count(), 1, "kubectl's first call must be a hit\n{hit}");
}

/// A cluster, a mesh and a fleet of the same id are three entries, listed by kind, and
/// `cache clear --fleet-id` drops the fleet's alone.
#[test]
fn cache_tells_fleets_from_clusters_and_meshes() {
    let (fake, _) = cloud_with_fleet();
    let id = "c0same0id00000000000000000000000";
    fake.add_cluster_with_defaults(id);
    fake.add_mesh_with_defaults(id);
    fake.add_fleet_with_defaults(id);
    let p = as_ram_user(&fake);
    for target in ["--cluster-id", "--mesh-id", "--fleet-id"] {
        p.clone().args(["get-credential", target, id]).run_ok();
    }
    p.clone()
        .args(["get-credential", "--fleet-id", FLEET])
        .run_ok();
    let kinds = |p: &Plugin| {
        let run = p.clone().args(["cache", "list"]).run_success();
        let mut rows: Vec<(String, String)> = run
            .stdout
            .lines()
            .skip(1)
            .map(|l| {
                let words: Vec<&str> = l.split_whitespace().collect();
                (words[0].to_string(), words[1].to_string())
            })
            .collect();
        rows.sort();
        rows
    };
    let pair = |kind: &str, id: &str| (kind.to_string(), id.to_string());
    assert_eq!(
        kinds(&p),
        [
            pair("cluster", id),
            pair("fleet", id),
            pair("fleet", FLEET),
            pair("mesh", id)
        ]
    );
    let run = p
        .clone()
        .args(["cache", "clear", "--fleet-id", id])
        .run_success();
    assert_stderr(&run, "removed 1 cached credential from [home]/cache");
    assert_eq!(
        kinds(&p),
        [pair("cluster", id), pair("fleet", FLEET), pair("mesh", id)]
    );
    let run = p
        .clone()
        .args(["cache", "clear", "--fleet-id", FLEET, "--mesh-id", id])
        .run_exit(2);
    assert!(run.stderr.contains("cannot be used with"), "{run}");
}

/// A fleet's certificate inside its refresh window is served at once and refreshed by a
/// detached refresher (the same `get-credential --fleet-id` arguments), as a cluster's is.
#[test]
fn a_fleet_inside_its_refresh_window_is_refreshed_in_the_background() {
    let (fake, _) = cloud_with_fleet();
    fake.set_cert_lifetime(std::time::Duration::from_secs(9 * 60));
    let plugin = get_fleet_credential(&fake);
    let first = plugin.run_ok();
    fake.set_cert_lifetime(std::time::Duration::from_secs(3 * 3600));

    let second = plugin.run_ok();
    assert_eq!(
        second.credential().client_certificate_data,
        first.credential().client_certificate_data,
        "the cached certificate, at once\n{second}"
    );
    // Long enough for anything that is not a hang.
    crate::support::wait::wait_until(
        "the background refresh",
        std::time::Duration::from_secs(30),
        || {
            fake.successes() == 2
                && plugin.clone().run_ok().credential().certificate().not_after
                    > first.credential().certificate().not_after
        },
    );
    let third = plugin.run_ok();
    assert_eq!(fake.successes(), 2, "{}", fake.dump());
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.service == Service::ADCP && r.outcome == Outcome::Issued),
        "{}",
        fake.dump()
    );
    let lifetime = third.credential().certificate().not_after - Utc::now();
    assert!(
        lifetime > TimeDelta::hours(2),
        "the new 3-hour certificate\n{third}"
    );
}
