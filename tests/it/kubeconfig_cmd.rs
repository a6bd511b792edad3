//! Issue 4 end to end: `get-credential --mesh-id` against the fake ASM, the `kubeconfig` command
//! (stdout, `--output`, `--merge`) and real kubectl using what it wrote unedited, `cache list`,
//! `cache clear`, `completions` and `--version`.
//!
//! Every test starts its own `FakeCloud`, HOME and cache, so they run in parallel. The fake
//! verifies every signature itself (ROA for cs, RPC for ASM), so a passing test also means the
//! requests were signed right.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use serde_yaml_ng::Value as Yaml;

use crate::support::apiserver::{ApiServer, POD_NAME};
use crate::support::fake_cloud::{
    ACTION_DESCRIBE_SERVICE_MESH_KUBECONFIG, ACTION_SUBACCOUNT_USER_CONFIG, ACTION_USER_CONFIG,
    FakeCloud, Issued, MESH_EXPIRE_TIME_FORMAT, Outcome, Principal, RequestRecord, Service,
};
use crate::support::kubectl::{self, KubectlOutput};
use crate::support::plugin::{BIN, Plugin, Run};

const CLUSTER: &str = "c4f2e0d8b6a4c2e0f8d6b4a2c0e8f6d4b";
const CLUSTER_2: &str = "cb2c4d6e8f0a1b3c5d7e9f1a3b5c7d9e1";
const MESH: &str = "m1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d";
const MESH_2: &str = "m9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c";
const CLUSTER_PUBLIC: &str = "https://198.51.100.7:6443";
const CLUSTER_PRIVATE: &str = "https://10.0.0.7:6443";
const MESH_PUBLIC: &str = "https://198.51.100.8:6443";
const MESH_PRIVATE: &str = "https://10.0.0.8:6443";
const KEY_ID: &str = "LTAI5tKubeconfigKey0001";
const KEY_SECRET: &str = "kubeconfigSecretKubeconfigSecret01";
const MAIN_KEY_ID: &str = "LTAI5tMainAccountKey0001";
const MAIN_KEY_SECRET: &str = "mainAccountSecretMainAccountSecret1";
const V1: &str = "client.authentication.k8s.io/v1";
const V1BETA1: &str = "client.authentication.k8s.io/v1beta1";

/// A fake cloud with two clusters and two meshes (distinct public and private servers, the
/// fake's cluster CA) and one RAM user's access key.
fn cloud() -> (FakeCloud, Principal) {
    let fake = FakeCloud::start();
    let ca = fake.cluster_ca_pem();
    for id in [CLUSTER, CLUSTER_2] {
        fake.add_cluster(id, CLUSTER_PUBLIC, CLUSTER_PRIVATE, &ca);
    }
    for id in [MESH, MESH_2] {
        fake.add_mesh(id, MESH_PUBLIC, MESH_PRIVATE, &ca);
    }
    let me = fake.add_access_key(KEY_ID, KEY_SECRET);
    (fake, me)
}

/// The plugin with the RAM user's key and both endpoints in the environment.
fn plugin(fake: &FakeCloud) -> Plugin<'_> {
    Plugin::new(fake)
        .access_key(KEY_ID, KEY_SECRET)
        .env("ACK_ASM_ENDPOINT", fake.asm_endpoint())
}

/// `get-credential --mesh-id MESH`.
fn get_mesh_credential(fake: &FakeCloud) -> Plugin<'_> {
    plugin(fake).args(["get-credential", "--mesh-id", MESH])
}

/// Runs and asserts exit 0 (any stdout).
fn succeed<'a>(plugin: &Plugin<'a>) -> Run<'a> {
    let run = plugin.run();
    assert!(
        run.status.success() && !run.killed,
        "expected success\n{run}"
    );
    run
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn yaml(text: &str, run: &Run) -> Yaml {
    serde_yaml_ng::from_str(text).unwrap_or_else(|e| panic!("not YAML ({e}):\n{text}\n{run}"))
}

fn only_request(fake: &FakeCloud, run: &Run) -> RequestRecord {
    let log = fake.requests();
    assert_eq!(log.len(), 1, "expected exactly one request\n{run}");
    log.into_iter().next().unwrap()
}

fn issued(record: &RequestRecord) -> Issued {
    record
        .issued
        .clone()
        .unwrap_or_else(|| panic!("request #{} was issued no kubeconfig", record.seq))
}

/// The request's parameter (form body), or a panic naming it.
fn form<'r>(record: &'r RequestRecord, name: &str, run: &Run) -> &'r str {
    record
        .form_param(name)
        .unwrap_or_else(|| panic!("no form parameter {name}\n{run}"))
}

fn assert_close(actual: DateTime<Utc>, expected: DateTime<Utc>, slack: TimeDelta, what: &str) {
    assert!(
        (actual - expected).abs() <= slack,
        "{what}: {actual} is not within {slack} of {expected}"
    );
}

/// Neither the certificate nor the key the fake issued, in PEM or base64 or any line of their
/// PEM bodies, nor any PEM block or secret appears in `text`.
fn assert_no_key_material(text: &str, issued: &[Issued], secrets: &[String], run: &Run) {
    assert!(
        !text.contains("-----BEGIN") && !text.contains("PRIVATE KEY"),
        "PEM in the output\n{run}"
    );
    for issued in issued {
        for pem in [&issued.certificate_pem, &issued.key_pem]
            .into_iter()
            .flatten()
        {
            assert!(!text.contains(&BASE64.encode(pem)), "base64 PEM\n{run}");
            for line in pem
                .lines()
                .filter(|l| l.len() >= 16 && !l.starts_with("-----"))
            {
                assert!(
                    !text.contains(line),
                    "a line of an issued certificate or key ({line}) in the output\n{run}"
                );
            }
        }
    }
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a secret in the output\n{run}"
        );
    }
}

/// The canonical path of the binary under test (what `command` must name).
fn plugin_binary() -> PathBuf {
    fs::canonicalize(BIN).expect("canonical path of the plugin binary")
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The one entry called `name` in the kubeconfig's `section` (panics when there is not one).
fn entry<'y>(config: &'y Yaml, section: &str, name: &str) -> &'y Yaml {
    let list = config[section]
        .as_sequence()
        .unwrap_or_else(|| panic!("`{section}` is not a list: {config:?}"));
    let found: Vec<&Yaml> = list.iter().filter(|e| e["name"] == name).collect();
    assert_eq!(found.len(), 1, "`{section}` entries named {name}: {list:?}");
    found[0]
}

/// Checks a generated kubeconfig: the three entries named `name`, the cluster's server and CA,
/// the exec user (absolute command path of this binary, `args` exactly, v1, Never, no cluster
/// info, an install hint, no env), and no credential anywhere.
fn assert_generated(
    config: &Yaml,
    name: &str,
    server: &str,
    ca_pem: &str,
    args: &[String],
    run: &Run,
) {
    for section in ["clusters", "contexts", "users"] {
        assert_eq!(
            config[section].as_sequence().map(Vec::len),
            Some(1),
            "`{section}` should hold exactly one entry\n{run}"
        );
    }
    let cluster = &entry(config, "clusters", name)["cluster"];
    assert_eq!(cluster["server"], server, "server\n{run}");
    let ca = cluster["certificate-authority-data"]
        .as_str()
        .unwrap_or_else(|| panic!("no certificate-authority-data\n{run}"));
    let ca = BASE64
        .decode(ca)
        .unwrap_or_else(|e| panic!("certificate-authority-data is not base64 ({e})\n{run}"));
    assert_eq!(String::from_utf8_lossy(&ca), ca_pem, "CA\n{run}");

    let context = &entry(config, "contexts", name)["context"];
    assert_eq!(context["cluster"], name, "context cluster\n{run}");
    assert_eq!(context["user"], name, "context user\n{run}");
    assert_eq!(config["current-context"], name, "current-context\n{run}");

    let user = &entry(config, "users", name)["user"];
    let keys: Vec<&str> = user
        .as_mapping()
        .unwrap_or_else(|| panic!("user is not a mapping\n{run}"))
        .keys()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(keys, ["exec"], "the user has nothing but `exec`\n{run}");
    let exec = &user["exec"];
    assert_eq!(exec["apiVersion"], V1, "exec apiVersion\n{run}");
    let command = exec["command"]
        .as_str()
        .unwrap_or_else(|| panic!("no exec command\n{run}"));
    assert!(
        Path::new(command).is_absolute(),
        "command {command} is not absolute\n{run}"
    );
    assert_eq!(
        fs::canonicalize(command).ok(),
        Some(plugin_binary()),
        "command {command} is not the plugin binary\n{run}"
    );
    let got: Vec<String> = exec["args"]
        .as_sequence()
        .unwrap_or_else(|| panic!("exec args is not a list\n{run}"))
        .iter()
        .map(|a| a.as_str().expect("string arg").to_string())
        .collect();
    assert_eq!(got, args, "exec args\n{run}");
    assert_eq!(exec["interactiveMode"], "Never", "interactiveMode\n{run}");
    assert_eq!(
        exec["provideClusterInfo"], false,
        "provideClusterInfo\n{run}"
    );
    assert!(
        exec["installHint"]
            .as_str()
            .is_some_and(|h| !h.trim().is_empty()),
        "installHint\n{run}"
    );
    assert!(
        exec.get("env").is_none_or(Yaml::is_null),
        "the exec entry must carry no env\n{run}"
    );
}

/// The exec args of the only user.
fn exec_args(config: &Yaml) -> Vec<String> {
    config["users"][0]["user"]["exec"]["args"]
        .as_sequence()
        .expect("exec args")
        .iter()
        .map(|a| a.as_str().expect("string arg").to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// get-credential --mesh-id
// ---------------------------------------------------------------------------------------------

#[test]
fn mesh_first_fetch_is_a_signed_form_post_and_prints_the_mesh_certificate() {
    let (fake, me) = cloud();
    let run = get_mesh_credential(&fake).run_ok();

    let record = only_request(&fake, &run);
    assert_eq!(record.service, Service::ASM, "{run}");
    assert_eq!(record.method, "POST", "{run}");
    assert_eq!(record.path, "/", "{run}");
    assert!(
        record.query.is_empty(),
        "every parameter belongs in the form body\n{run}"
    );
    assert!(
        record
            .header("content-type")
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded")),
        "{run}"
    );
    assert_eq!(
        form(&record, "Action", &run),
        ACTION_DESCRIBE_SERVICE_MESH_KUBECONFIG
    );
    assert_eq!(form(&record, "Version", &run), "2020-01-11");
    assert_eq!(form(&record, "Format", &run), "JSON");
    assert_eq!(form(&record, "AccessKeyId", &run), KEY_ID);
    assert_eq!(form(&record, "SignatureMethod", &run), "HMAC-SHA1");
    assert_eq!(form(&record, "SignatureVersion", &run), "1.0");
    assert!(!form(&record, "SignatureNonce", &run).is_empty(), "{run}");
    assert!(!form(&record, "Signature", &run).is_empty(), "{run}");
    let timestamp = form(&record, "Timestamp", &run);
    let at = NaiveDateTime::parse_from_str(timestamp, "%Y-%m-%dT%H:%M:%SZ")
        .unwrap_or_else(|e| panic!("Timestamp {timestamp}: {e}\n{run}"))
        .and_utc();
    assert_close(at, Utc::now(), TimeDelta::minutes(1), "Timestamp");
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
    let (fake, _) = cloud();
    let token = "CAIS+sts/token==withSymbols";
    let principal = fake.add_sts_key("STS.NTmeshKey", "stsMeshSecret", token);
    let run = Plugin::new(&fake)
        .access_key("STS.NTmeshKey", "stsMeshSecret")
        .security_token(token)
        .env("ACK_ASM_ENDPOINT", fake.asm_endpoint())
        .args(["get-credential", "--mesh-id", MESH])
        .run_ok();

    let record = only_request(&fake, &run);
    assert_eq!(form(&record, "SecurityToken", &run), token);
    assert_eq!(record.outcome, Outcome::Issued, "{run}");
    assert_eq!(run.credential().certificate().common_name, principal.uid);
}

#[test]
fn mesh_second_call_is_served_from_cache() {
    let (fake, _) = cloud();
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
    let (fake, _) = cloud();
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
    let (fake, _) = cloud();
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
    let (fake, _) = cloud();
    let p = get_mesh_credential(&fake);
    let run = p.clone().arg("--private-ip").run_ok();
    let record = only_request(&fake, &run);
    assert_eq!(form(&record, "PrivateIpAddress", &run), "true");
    let issued = issued(&record);
    assert!(issued.private_ip, "{run}");
    assert_eq!(issued.server, MESH_PRIVATE, "{run}");
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
    let (fake, _) = cloud();
    let conflicting: [&[&str]; 4] = [
        &["--cluster-id", CLUSTER],
        &["--uid", "12345"],
        &["--expiration", "3h"],
        &["--cluster-id", CLUSTER, "--uid", "12345"],
    ];
    for command in ["get-credential", "kubeconfig"] {
        for extra in conflicting {
            let run = plugin(&fake)
                .args([command, "--mesh-id", MESH])
                .args(extra.iter().copied())
                .run_exit(2);
            assert!(!run.stderr.trim().is_empty(), "{run}");
        }
        let too_long = "m".repeat(65);
        for bad in ["m_1", "m/1", "m.1", too_long.as_str(), ""] {
            plugin(&fake).args([command, "--mesh-id", bad]).run_exit(2);
        }
    }
    assert_eq!(fake.count(), 0, "{}", fake.dump());
}

#[test]
fn mesh_id_of_64_characters_is_accepted() {
    let (fake, _) = cloud();
    let id = format!("m{}", "0a1b2c3d".repeat(8))[..64].to_string();
    fake.add_mesh_with_defaults(&id);
    let run = plugin(&fake)
        .args(["get-credential", "--mesh-id", id.as_str()])
        .run_ok();
    assert_eq!(form(&only_request(&fake, &run), "ServiceMeshId", &run), id);
}

/// A failed ASM call: exit 1, empty stdout, stderr naming the Code and the RequestId; and one
/// request (these are never retried).
fn assert_clean_asm_failure(fake: &FakeCloud, run: &Run, code: &str) {
    assert_eq!(run.code(), Some(1), "{run}");
    assert_eq!(run.stdout, "", "{run}");
    let record = only_request(fake, run);
    assert_eq!(record.outcome, Outcome::Rejected(code.into()), "{run}");
    assert!(run.stderr.contains(code), "stderr must name {code}\n{run}");
    assert!(
        run.stderr.contains(&record.request_id),
        "stderr must carry the RequestId {}\n{run}",
        record.request_id
    );
    assert!(!run.stderr.contains(KEY_SECRET), "{run}");
}

#[test]
fn mesh_unknown_is_a_clean_error_with_code_and_request_id() {
    let (fake, _) = cloud();
    let run = plugin(&fake)
        .args(["get-credential", "--mesh-id", "m-no-such-mesh"])
        .run_err();
    assert_clean_asm_failure(&fake, &run, "ServiceMesh.NotFound");
    assert!(run.stderr.contains("m-no-such-mesh"), "{run}");
}

#[test]
fn mesh_with_a_wrong_secret_is_a_clean_error_with_code_and_request_id() {
    let (fake, _) = cloud();
    let run = Plugin::new(&fake)
        .access_key(KEY_ID, "notTheRightSecretAtAll")
        .env("ACK_ASM_ENDPOINT", fake.asm_endpoint())
        .args(["get-credential", "--mesh-id", MESH])
        .run_err();
    assert_clean_asm_failure(&fake, &run, "SignatureDoesNotMatch");
}

#[test]
fn mesh_not_permitted_is_a_clean_error_with_code_and_request_id() {
    let (fake, _) = cloud();
    let someone_else = fake.add_access_key("LTAI5tSomeoneElse0001", "someoneElseSecret");
    fake.allow_mesh(MESH, &someone_else);
    let run = get_mesh_credential(&fake).run_err();
    assert_clean_asm_failure(&fake, &run, "Forbidden.RAM");
}

#[test]
fn mesh_force_refresh_fetches_even_when_cached() {
    let (fake, _) = cloud();
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

// ---------------------------------------------------------------------------------------------
// kubeconfig: stdout and --output
// ---------------------------------------------------------------------------------------------

#[test]
fn kubeconfig_for_a_cluster_prints_an_exec_kubeconfig_without_key_material() {
    let (fake, _) = cloud();
    let endpoint = fake.endpoint();
    let base = plugin(&fake).env_remove("ACK_CACHE_DIR");
    let plugin = base.clone().args([
        "kubeconfig",
        "--cluster-id",
        CLUSTER,
        "--cache-dir",
        "rel-cache",
        "--cs-endpoint",
        endpoint.as_str(),
    ]);
    let run = succeed(&plugin);

    let record = only_request(&fake, &run);
    assert_eq!(record.action.as_deref(), Some(ACTION_USER_CONFIG), "{run}");
    assert_eq!(
        record.query_param("PrivateIpAddress"),
        Some("false"),
        "{run}"
    );
    let issued = issued(&record);
    assert_eq!(run.stderr, "", "stderr is silent without -v\n{run}");

    let config = yaml(&run.stdout, &run);
    let args = exec_args(&config);
    // --cache-dir is made absolute (kubectl runs the plugin from anywhere).
    let cache_dir = PathBuf::from(args.last().expect("args"));
    assert!(cache_dir.is_absolute(), "{run}");
    assert_eq!(
        fs::canonicalize(&cache_dir).ok(),
        fs::canonicalize(plugin.home().join("rel-cache")).ok(),
        "--cache-dir {}\n{run}",
        cache_dir.display()
    );
    let expected = strings(&[
        "get-credential",
        "--cluster-id",
        CLUSTER,
        "--cs-endpoint",
        &endpoint,
        "--cache-dir",
        &cache_dir.to_string_lossy(),
    ]);
    assert_generated(
        &config,
        CLUSTER,
        CLUSTER_PUBLIC,
        &fake.cluster_ca_pem(),
        &expected,
        &run,
    );
    assert_no_key_material(
        &run.stdout,
        std::slice::from_ref(&issued),
        &fake.secrets(),
        &run,
    );

    // The first get-credential with the generated args (the command is this binary, checked
    // above) is a cache hit.
    let get = base.clone().args(&args).run_ok();
    assert_eq!(
        fake.count(),
        1,
        "the first get-credential after `kubeconfig` must make no API call\n{get}"
    );
    assert_eq!(
        get.credential()
            .client_certificate_data
            .as_deref()
            .map(str::trim),
        issued.certificate_pem.as_deref().map(str::trim),
        "{get}"
    );
}

#[test]
fn kubeconfig_for_a_mesh_prints_the_mesh_server_and_warms_the_cache() {
    let (fake, _) = cloud();
    let asm = fake.asm_endpoint();
    let base = Plugin::new(&fake).access_key(KEY_ID, KEY_SECRET);
    let run = succeed(&base.clone().args([
        "kubeconfig",
        "--mesh-id",
        MESH,
        "--asm-endpoint",
        asm.as_str(),
    ]));
    let record = only_request(&fake, &run);
    assert_eq!(record.service, Service::ASM, "{run}");
    assert_eq!(form(&record, "PrivateIpAddress", &run), "false");
    assert_eq!(run.stderr, "", "{run}");
    let issued = issued(&record);

    let config = yaml(&run.stdout, &run);
    let expected = strings(&["get-credential", "--mesh-id", MESH, "--asm-endpoint", &asm]);
    assert_generated(
        &config,
        MESH,
        MESH_PUBLIC,
        &fake.cluster_ca_pem(),
        &expected,
        &run,
    );
    assert_no_key_material(&run.stdout, &[issued], &fake.secrets(), &run);

    let get = base.clone().args(exec_args(&config)).run_ok();
    assert_eq!(fake.count(), 1, "{get}");
}

/// Every deciding flag given is repeated, in the contract's order, whatever order it was given
/// in; the ones not given (or given as variables) are not.
#[test]
fn kubeconfig_args_repeat_every_deciding_flag_given_in_order() {
    let (fake, _) = cloud();
    let endpoint = fake.endpoint();
    let role = "acs:ram::1234567890123456:role/kubeconfig-role";
    fake.add_role(role);
    let base = Plugin::new(&fake)
        .env_remove("ACK_CACHE_DIR")
        .env_remove("ACK_CS_ENDPOINT")
        .secret(KEY_SECRET);
    let plugin = base.clone().args([
        "kubeconfig",
        "--private-ip",
        "--sts-endpoint",
        &endpoint,
        "--cache-dir",
        "c",
        "--region",
        "cn-hangzhou",
        "--asm-endpoint",
        &endpoint,
        "--role-arn",
        role,
        "--context",
        "mine",
        "--expiration",
        "90m",
        "--cs-endpoint",
        &endpoint,
        "--profile",
        "dev",
        "--cluster-id",
        CLUSTER,
    ]);
    plugin.write_home_file(
        ".aliyun/config.json",
        &serde_json::json!({
            "current": "default",
            "profiles": [{
                "name": "dev",
                "mode": "AK",
                "access_key_id": KEY_ID,
                "access_key_secret": KEY_SECRET,
                "region_id": "cn-beijing",
            }],
        })
        .to_string(),
    );
    let run = succeed(&plugin);
    assert_eq!(fake.count_action("AssumeRole"), 1, "{run}");
    assert_eq!(fake.count_action(ACTION_USER_CONFIG), 1, "{run}");
    let record = fake
        .requests_for(ACTION_USER_CONFIG)
        .pop()
        .expect("cs call");
    assert_eq!(
        record.query_param("PrivateIpAddress"),
        Some("true"),
        "{run}"
    );
    assert_eq!(
        record.query_param("TemporaryDurationMinutes"),
        Some("90"),
        "{run}"
    );

    let config = yaml(&run.stdout, &run);
    let cache_dir = std::path::absolute(plugin.home().join("c")).unwrap();
    let expected = strings(&[
        "get-credential",
        "--cluster-id",
        CLUSTER,
        "--expiration",
        "90m",
        "--profile",
        "dev",
        "--role-arn",
        role,
        "--region",
        "cn-hangzhou",
        "--cs-endpoint",
        &endpoint,
        "--asm-endpoint",
        &endpoint,
        "--sts-endpoint",
        &endpoint,
        "--cache-dir",
        &cache_dir.to_string_lossy(),
        "--private-ip",
    ]);
    let got = exec_args(&config);
    // The cache dir may be spelled through another path to the same directory.
    let mut comparable = got.clone();
    if let Some(at) = comparable.iter().position(|a| a == "--cache-dir")
        && fs::canonicalize(&comparable[at + 1]).ok() == fs::canonicalize(&cache_dir).ok()
    {
        comparable[at + 1] = cache_dir.to_string_lossy().into_owned();
    }
    assert_eq!(comparable, expected, "exec args\n{run}");
    assert_generated(
        &config,
        "mine",
        CLUSTER_PRIVATE,
        &fake.cluster_ca_pem(),
        &got,
        &run,
    );

    // kubectl's call: no request of any kind (no STS either).
    let before = fake.count();
    let get = base.args(&got).run_ok();
    assert_eq!(fake.count(), before, "{get}");
}

#[test]
fn kubeconfig_for_another_users_uid_repeats_uid_and_warms_its_entry() {
    let (fake, me) = cloud();
    fake.add_main_account_key(MAIN_KEY_ID, MAIN_KEY_SECRET);
    let base = Plugin::new(&fake).access_key(MAIN_KEY_ID, MAIN_KEY_SECRET);
    let run = succeed(&base.clone().args([
        "kubeconfig",
        "--cluster-id",
        CLUSTER,
        "--uid",
        me.uid.as_str(),
    ]));
    let record = only_request(&fake, &run);
    assert_eq!(
        record.action.as_deref(),
        Some(ACTION_SUBACCOUNT_USER_CONFIG),
        "{run}"
    );
    let config = yaml(&run.stdout, &run);
    let args = strings(&["get-credential", "--cluster-id", CLUSTER, "--uid", &me.uid]);
    assert_generated(
        &config,
        CLUSTER,
        CLUSTER_PUBLIC,
        &fake.cluster_ca_pem(),
        &args,
        &run,
    );
    let get = base.args(&args).run_ok();
    assert_eq!(fake.count(), 1, "{get}");
}

#[test]
fn kubeconfig_private_ip_writes_the_private_server() {
    let (fake, _) = cloud();
    // A cluster.
    let run = succeed(&plugin(&fake).args(["kubeconfig", "--cluster-id", CLUSTER, "--private-ip"]));
    let record = only_request(&fake, &run);
    assert_eq!(
        record.query_param("PrivateIpAddress"),
        Some("true"),
        "{run}"
    );
    let config = yaml(&run.stdout, &run);
    let args = strings(&["get-credential", "--cluster-id", CLUSTER, "--private-ip"]);
    assert_generated(
        &config,
        CLUSTER,
        CLUSTER_PRIVATE,
        &fake.cluster_ca_pem(),
        &args,
        &run,
    );
    // A mesh.
    let run = succeed(&plugin(&fake).args(["kubeconfig", "--mesh-id", MESH, "--private-ip"]));
    let record = fake.last_request().unwrap();
    assert_eq!(fake.count(), 2, "{run}");
    assert_eq!(form(&record, "PrivateIpAddress", &run), "true");
    let config = yaml(&run.stdout, &run);
    let args = strings(&["get-credential", "--mesh-id", MESH, "--private-ip"]);
    assert_generated(
        &config,
        MESH,
        MESH_PRIVATE,
        &fake.cluster_ca_pem(),
        &args,
        &run,
    );
}

#[test]
fn kubeconfig_output_writes_a_private_file_named_by_context() {
    let (fake, _) = cloud();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ack.kubeconfig");
    fs::write(&file, "old: contents\n").unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    let run = succeed(&plugin(&fake).args([
        "kubeconfig",
        "--cluster-id",
        CLUSTER,
        "--context",
        "prod-hangzhou",
        "--output",
        &file.to_string_lossy(),
    ]));
    assert_eq!(run.stdout, "", "the YAML goes to the file only\n{run}");
    assert!(
        run.stderr.contains(&*file.to_string_lossy()),
        "stderr should say where it wrote\n{run}"
    );
    assert_eq!(mode(&file), 0o600, "{run}");
    let text = fs::read_to_string(&file).unwrap();
    let config = yaml(&text, &run);
    assert_generated(
        &config,
        "prod-hangzhou",
        CLUSTER_PUBLIC,
        &fake.cluster_ca_pem(),
        &strings(&["get-credential", "--cluster-id", CLUSTER]),
        &run,
    );
    assert!(config.get("old").is_none(), "the file is replaced\n{run}");
    assert_no_key_material(
        &text,
        &[issued(&fake.last_request().unwrap())],
        &fake.secrets(),
        &run,
    );
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["ack.kubeconfig"], "no temporary file left\n{run}");
}

#[test]
fn kubeconfig_usage_errors_and_failures_write_nothing() {
    let (fake, _) = cloud();
    let p = plugin(&fake);
    let file = p.home().join("out.kubeconfig");
    let file_arg = file.to_string_lossy().into_owned();
    p.clone()
        .args([
            "kubeconfig",
            "--cluster-id",
            CLUSTER,
            "--output",
            &file_arg,
            "--merge",
        ])
        .run_exit(2);
    p.clone().args(["kubeconfig"]).run_exit(2);
    p.clone()
        .args(["kubeconfig", "--cluster-id", CLUSTER, "--mesh-id", MESH])
        .run_exit(2);
    assert_eq!(fake.count(), 0, "{}", fake.dump());

    // An API failure: exit 1, nothing on stdout, no file, the existing kubeconfig untouched.
    let existing = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n";
    let kubeconfig = p.write_home_file(".kube/config", existing);
    let run = p
        .clone()
        .args([
            "kubeconfig",
            "--cluster-id",
            "c-no-such-cluster",
            "--output",
            &file_arg,
        ])
        .run_exit(1);
    assert!(!file.exists(), "{run}");
    let run = p
        .clone()
        .args(["kubeconfig", "--mesh-id", "m-no-such-mesh", "--merge"])
        .run_exit(1);
    assert!(run.stderr.contains("ServiceMesh.NotFound"), "{run}");
    assert_eq!(fs::read_to_string(&kubeconfig).unwrap(), existing, "{run}");
}

// ---------------------------------------------------------------------------------------------
// kubectl end to end, with the generated kubeconfig unedited
// ---------------------------------------------------------------------------------------------

/// Every kubectl; fails the test (never skips it) when there is none.
fn kubectl_binaries() -> Vec<PathBuf> {
    let bins = kubectl::kubectl_binaries();
    assert!(!bins.is_empty(), "{}", kubectl::NO_KUBECTL);
    bins
}

/// Runs `check` for every kubectl and fails with every failure, not just the first.
fn for_every_kubectl(mut check: impl FnMut(usize, &Path) -> Result<(), String>) {
    let mut failures = Vec::new();
    for (round, bin) in kubectl_binaries().into_iter().enumerate() {
        if let Err(e) = check(round, &bin) {
            let version = kubectl::client_version(&bin).unwrap_or_else(|| "unknown".into());
            failures.push(format!("{} ({version}):\n{e}", bin.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} kubectl(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// `kubectl ARGS` isolated as `support::kubectl` does, plus the variables the plugin needs (the
/// generated kubeconfig carries no `env`): the access key, no ECS probe, and `extra`.
fn kubectl_with_credentials(
    bin: &Path,
    home: &Path,
    kubeconfig: &Path,
    extra: &[(&str, &str)],
    args: &[&str],
) -> KubectlOutput {
    let mut cmd = kubectl::kubectl_command(bin, home, kubeconfig);
    cmd.env("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", KEY_SECRET)
        .env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true");
    for (name, value) in extra {
        cmd.env(name, value);
    }
    cmd.args(args);
    kubectl::run_command(cmd, kubectl::PROCESS_TIMEOUT)
}

fn quiet_success(out: &KubectlOutput) -> Result<(), String> {
    if out.success() && out.stderr.trim().is_empty() {
        Ok(())
    } else {
        Err(format!("expected a quiet success:\n{out}"))
    }
}

/// `get --raw` of the pods, then `get pods`, each a quiet success showing the pod.
fn check_pods(run: impl Fn(&[&str]) -> KubectlOutput) -> Result<(), String> {
    let out = run(&["get", "--raw", "/api/v1/namespaces/default/pods"]);
    quiet_success(&out)?;
    let list: serde_json::Value = serde_json::from_str(&out.stdout)
        .map_err(|e| format!("`get --raw` printed no JSON ({e}):\n{out}"))?;
    if list["kind"] != "PodList" || list["items"][0]["metadata"]["name"] != POD_NAME {
        return Err(format!("unexpected `get --raw` output:\n{out}"));
    }
    let out = run(&["get", "pods", "-n", "default"]);
    quiet_success(&out)?;
    if !out
        .stdout
        .lines()
        .any(|l| l.starts_with(POD_NAME) && l.contains("Running"))
    {
        return Err(format!("`get pods` printed no row for {POD_NAME}:\n{out}"));
    }
    Ok(())
}

/// The API server saw the caller's certificate on every request.
fn check_cn(api: &ApiServer, uid: &str) -> Result<(), String> {
    let requests = api.requests();
    if requests.is_empty()
        || !requests.iter().all(|r| {
            r.client_cert_verified && r.client_cn.as_deref() == Some(uid) && r.status == 200
        })
    {
        return Err(format!(
            "the API server did not see the caller's certificate on every request: {requests:?}"
        ));
    }
    Ok(())
}

/// For a cluster: `kubeconfig` (with --cs-endpoint and --cache-dir as flags, so they land in the
/// exec args) printed to stdout, written verbatim to a file, then every kubectl with it; the
/// kubectl calls make no API call.
#[test]
fn kubectl_uses_the_generated_cluster_kubeconfig_unedited() {
    let cloud = FakeCloud::start();
    let caller = cloud.add_access_key(KEY_ID, KEY_SECRET);
    let api = ApiServer::start(&cloud.client_ca_pem());
    api.require_cn(Some(&caller.uid));
    cloud.add_cluster(CLUSTER, &api.url(), &api.url(), api.ca_pem());
    let sandbox = tempfile::tempdir().unwrap();
    let endpoint = cloud.endpoint();

    for_every_kubectl(|round, bin| {
        let dir = sandbox.path().join(format!("round-{round}"));
        let home = dir.join("home");
        fs::create_dir_all(&home).unwrap();
        let cache = dir.join("plugin-cache");
        let run = Plugin::new(&cloud)
            .env_remove("ACK_CS_ENDPOINT")
            .env_remove("ACK_CACHE_DIR")
            .access_key(KEY_ID, KEY_SECRET)
            .args([
                "kubeconfig",
                "--cluster-id",
                CLUSTER,
                "--cs-endpoint",
                &endpoint,
                "--cache-dir",
                &cache.to_string_lossy(),
            ])
            .run();
        if !run.status.success() {
            return Err(format!("`kubeconfig` failed:\n{run}"));
        }
        let kubeconfig = dir.join("kubeconfig");
        fs::write(&kubeconfig, &run.stdout).unwrap();
        let calls = cloud.count();
        api.clear_requests();
        check_pods(|args| kubectl_with_credentials(bin, &home, &kubeconfig, &[], args))?;
        if cloud.count() != calls {
            return Err(format!(
                "kubectl after `kubeconfig` made {} API call(s):\n{}",
                cloud.count() - calls,
                cloud.dump()
            ));
        }
        check_cn(&api, &caller.uid)
    });
    assert_eq!(
        cloud.successes(),
        kubectl_binaries().len(),
        "{}",
        cloud.dump()
    );
}

/// For a mesh: `kubeconfig --output` (with --asm-endpoint as a flag), the cache in kubectl's
/// HOME (`$KUBECACHEDIR`, the HOME default), then every kubectl with the file.
#[test]
fn kubectl_uses_the_generated_mesh_kubeconfig_unedited() {
    let cloud = FakeCloud::start();
    let caller = cloud.add_access_key(KEY_ID, KEY_SECRET);
    let api = ApiServer::start(&cloud.client_ca_pem());
    api.require_cn(Some(&caller.uid));
    cloud.add_mesh(MESH, &api.url(), &api.url(), api.ca_pem());
    let sandbox = tempfile::tempdir().unwrap();
    let asm = cloud.asm_endpoint();

    for_every_kubectl(|round, bin| {
        let dir = sandbox.path().join(format!("round-{round}"));
        let home = dir.join("home");
        fs::create_dir_all(&home).unwrap();
        let kubeconfig = dir.join("mesh.kubeconfig");
        let run = Plugin::new(&cloud)
            .env_remove("ACK_CS_ENDPOINT")
            .env_remove("ACK_CACHE_DIR")
            .env("HOME", home.to_string_lossy())
            .access_key(KEY_ID, KEY_SECRET)
            .args([
                "kubeconfig",
                "--mesh-id",
                MESH,
                "--asm-endpoint",
                &asm,
                "--output",
                &kubeconfig.to_string_lossy(),
            ])
            .run();
        if !run.status.success() {
            return Err(format!("`kubeconfig` failed:\n{run}"));
        }
        let calls = cloud.count();
        api.clear_requests();
        check_pods(|args| kubectl_with_credentials(bin, &home, &kubeconfig, &[], args))?;
        if cloud.count() != calls {
            return Err(format!(
                "kubectl after `kubeconfig` made {} API call(s):\n{}",
                cloud.count() - calls,
                cloud.dump()
            ));
        }
        check_cn(&api, &caller.uid)
    });
    assert_eq!(
        cloud.successes(),
        kubectl_binaries().len(),
        "{}",
        cloud.dump()
    );
}

// ---------------------------------------------------------------------------------------------
// kubeconfig --merge
// ---------------------------------------------------------------------------------------------

/// A CA of the test's own that issues a static client certificate for the "other" context.
fn static_client_cert(cn: &str) -> (String, String, String) {
    use rcgen::{
        BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "static-client-ca");
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    (ca.pem(), cert.pem(), key.serialize_pem())
}

/// A kubeconfig holding only the context `other` (cluster, user and context of that name, a
/// static client certificate, server `server` trusting `server_ca`), current, with preferences
/// and a namespace that must survive.
fn other_kubeconfig(server: &str, server_ca: &str, cert: &str, key: &str) -> String {
    format!(
        "apiVersion: v1\n\
         kind: Config\n\
         preferences:\n  colors: true\n\
         clusters:\n\
         - name: other\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\n\
         users:\n\
         - name: other\n  user:\n    client-certificate-data: {cert}\n    client-key-data: {key}\n\
         contexts:\n\
         - name: other\n  context:\n    cluster: other\n    user: other\n    namespace: team-a\n\
         current-context: other\n",
        ca = BASE64.encode(server_ca),
        cert = BASE64.encode(cert),
        key = BASE64.encode(key),
    )
}

/// The `other` entries (cluster, user, context), parsed.
fn other_entries(config: &Yaml) -> [Yaml; 3] {
    ["clusters", "users", "contexts"].map(|section| entry(config, section, "other").clone())
}

/// Merging into ~/.kube/config keeps the other context as it was and the current context,
/// changes the current context only when asked, is idempotent to the byte, and leaves a file
/// with which kubectl reaches both servers: the new one through the plugin (no API call), the
/// other one with its static certificate.
#[test]
fn merge_keeps_the_other_context_and_kubectl_uses_both() {
    let cloud = FakeCloud::start();
    let caller = cloud.add_access_key(KEY_ID, KEY_SECRET);
    let api = ApiServer::start(&cloud.client_ca_pem());
    api.require_cn(Some(&caller.uid));
    cloud.add_cluster(CLUSTER, &api.url(), &api.url(), api.ca_pem());
    let (static_ca, static_cert, static_key) = static_client_cert("static-user");
    let other_api = ApiServer::start(&static_ca);
    other_api.require_cn(Some("static-user"));

    let p = Plugin::new(&cloud).access_key(KEY_ID, KEY_SECRET);
    let before_text = other_kubeconfig(
        &other_api.url(),
        other_api.ca_pem(),
        &static_cert,
        &static_key,
    );
    let path = p.write_home_file(".kube/config", &before_text);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let merge = p
        .clone()
        .args(["kubeconfig", "--cluster-id", CLUSTER, "--merge"]);

    let run = succeed(&merge);
    assert_eq!(run.stdout, "", "{run}");
    assert!(
        run.stderr
            .contains(&format!("merged context {CLUSTER} into {}", path.display())),
        "{run}"
    );
    assert_eq!(cloud.count(), 1, "{run}");
    assert_eq!(mode(&path), 0o600, "{run}");
    let once = fs::read_to_string(&path).unwrap();
    let before = yaml(&before_text, &run);
    let after = yaml(&once, &run);
    assert_eq!(
        other_entries(&after),
        other_entries(&before),
        "{once}\n{run}"
    );
    assert_eq!(after["preferences"], before["preferences"], "{once}");
    assert_eq!(after["current-context"], "other", "{once}\n{run}");
    for section in ["clusters", "users", "contexts"] {
        assert_eq!(
            after[section].as_sequence().map(Vec::len),
            Some(2),
            "{once}"
        );
    }
    assert_eq!(
        entry(&after, "clusters", CLUSTER)["cluster"]["server"],
        api.url().as_str()
    );
    let context = &entry(&after, "contexts", CLUSTER)["context"];
    assert_eq!(context["cluster"], CLUSTER, "{once}");
    assert_eq!(context["user"], CLUSTER, "{once}");
    let exec = &entry(&after, "users", CLUSTER)["user"]["exec"];
    let args: Vec<&str> = exec["args"]
        .as_sequence()
        .expect("exec args")
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(args, ["get-credential", "--cluster-id", CLUSTER], "{once}");
    assert_eq!(exec["interactiveMode"], "Never", "{once}");
    let issued: Vec<Issued> = cloud
        .requests()
        .iter()
        .filter_map(|r| r.issued.clone())
        .collect();
    let without_other_key = once
        .replace(&BASE64.encode(&static_key), "")
        .replace(&BASE64.encode(&static_cert), "");
    assert_no_key_material(&without_other_key, &issued, &cloud.secrets(), &run);

    // Merging again: byte-identical (and another fetch is fine, but the file must not change).
    let run = succeed(&merge);
    assert_eq!(fs::read_to_string(&path).unwrap(), once, "{run}");
    assert_eq!(mode(&path), 0o600, "{run}");

    // --set-current-context switches, and nothing else changes.
    let run = succeed(&merge.clone().arg("--set-current-context"));
    let switched = fs::read_to_string(&path).unwrap();
    let switched_yaml = yaml(&switched, &run);
    assert_eq!(
        switched_yaml["current-context"], CLUSTER,
        "{switched}\n{run}"
    );
    assert_eq!(
        other_entries(&switched_yaml),
        other_entries(&before),
        "{run}"
    );
    for section in ["clusters", "users", "contexts"] {
        assert_eq!(switched_yaml[section], after[section], "{section}\n{run}");
    }
    let run = succeed(&merge.clone().arg("--set-current-context"));
    assert_eq!(fs::read_to_string(&path).unwrap(), switched, "{run}");

    // kubectl with the merged file: the new context through the plugin, from the cache.
    let bin = kubectl::kubectl_on_path().expect(kubectl::NO_KUBECTL);
    let cache = p.cache_path().to_string_lossy().into_owned();
    let endpoint = cloud.endpoint();
    let env = [
        ("ACK_CS_ENDPOINT", endpoint.as_str()),
        ("ACK_CACHE_DIR", cache.as_str()),
    ];
    let calls = cloud.count();
    let new_context = format!("--context={CLUSTER}");
    check_pods(|args| {
        let mut all = vec![new_context.as_str()];
        all.extend_from_slice(args);
        kubectl_with_credentials(&bin, p.home(), &path, &env, &all)
    })
    .unwrap();
    assert_eq!(cloud.count(), calls, "{}", cloud.dump());
    check_cn(&api, &caller.uid).unwrap();
    // ... and the other context still with its own server and static certificate.
    check_pods(|args| {
        let mut all = vec!["--context=other"];
        all.extend_from_slice(args);
        kubectl_with_credentials(&bin, p.home(), &path, &env, &all)
    })
    .unwrap();
    check_cn(&other_api, "static-user").unwrap();
    assert_eq!(cloud.count(), calls, "{}", cloud.dump());
}

/// A kubeconfig with one token user `name` (server `server`).
fn token_kubeconfig(name: &str, server: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    server: {server}\n\
         users:\n- name: {name}\n  user:\n    token: token-of-{name}\n\
         contexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\n\
         current-context: {name}\n"
    )
}

/// An entry of the same name is replaced where it stands (no duplicate, order kept); a file
/// without a current context gets the new one.
#[test]
fn merge_replaces_same_name_entries_in_place_and_sets_a_missing_current_context() {
    let (fake, _) = cloud();
    let p = plugin(&fake);
    let stale = token_kubeconfig(CLUSTER, "https://192.0.2.9:6443")
        .replace(&format!("current-context: {CLUSTER}\n"), "");
    let other = token_kubeconfig("other", "https://192.0.2.4:6443");
    let other_yaml: Yaml = serde_yaml_ng::from_str(&other).unwrap();
    let mut doc: Yaml = serde_yaml_ng::from_str(&stale).unwrap();
    for section in ["clusters", "users", "contexts"] {
        let extra = other_yaml[section][0].clone();
        doc[section].as_sequence_mut().unwrap().push(extra);
    }
    let before = serde_yaml_ng::to_string(&doc).unwrap();
    let path = p.write_home_file(".kube/config", &before);

    let run = succeed(
        &p.clone()
            .args(["kubeconfig", "--cluster-id", CLUSTER, "--merge"]),
    );
    let after = yaml(&fs::read_to_string(&path).unwrap(), &run);
    for section in ["clusters", "users", "contexts"] {
        let list = after[section].as_sequence().unwrap();
        let names: Vec<&str> = list.iter().filter_map(|e| e["name"].as_str()).collect();
        assert_eq!(names, [CLUSTER, "other"], "{section}\n{run}");
        assert_eq!(list[1], other_yaml[section][0], "{section}\n{run}");
    }
    assert_eq!(
        entry(&after, "clusters", CLUSTER)["cluster"]["server"],
        CLUSTER_PUBLIC,
        "{run}"
    );
    let user = &entry(&after, "users", CLUSTER)["user"];
    assert!(
        user.get("token").is_none() && user.get("exec").is_some(),
        "{run}"
    );
    assert_eq!(after["current-context"], CLUSTER, "{run}");
}

#[test]
fn merge_goes_into_the_first_file_of_kubeconfig() {
    let (fake, _) = cloud();
    let p = plugin(&fake);
    let first_text = token_kubeconfig("first", "https://192.0.2.1:6443");
    let second_text = token_kubeconfig("second", "https://192.0.2.2:6443");
    let first = p.write_home_file("x/first", &first_text);
    let second = p.write_home_file("x/second", &second_text);
    let list = format!("{}:{}", first.display(), second.display());
    let run = succeed(&p.clone().env("KUBECONFIG", list).args([
        "kubeconfig",
        "--mesh-id",
        MESH,
        "--merge",
    ]));
    assert!(
        run.stderr
            .contains(&format!("merged context {MESH} into {}", first.display())),
        "{run}"
    );
    let merged = yaml(&fs::read_to_string(&first).unwrap(), &run);
    let original = yaml(&first_text, &run);
    for section in ["clusters", "users", "contexts"] {
        assert_eq!(
            entry(&merged, section, "first"),
            entry(&original, section, "first"),
            "{run}"
        );
        entry(&merged, section, MESH);
    }
    assert_eq!(merged["current-context"], "first", "{run}");
    assert_eq!(
        entry(&merged, "clusters", MESH)["cluster"]["server"],
        MESH_PUBLIC
    );
    assert_eq!(mode(&first), 0o600, "{run}");
    assert_eq!(fs::read_to_string(&second).unwrap(), second_text, "{run}");
    assert!(!p.home().join(".kube/config").exists(), "{run}");
}

#[test]
fn merge_goes_into_the_kubeconfig_flag_file_creating_it() {
    let (fake, _) = cloud();
    let p = plugin(&fake);
    let elsewhere_text = token_kubeconfig("elsewhere", "https://192.0.2.3:6443");
    let elsewhere = p.write_home_file("elsewhere.kubeconfig", &elsewhere_text);
    let target = p.home().join("configs").join("ack.yaml");
    fs::create_dir_all(target.parent().unwrap()).unwrap();
    let run = succeed(
        &p.clone()
            .env("KUBECONFIG", elsewhere.to_string_lossy())
            .args([
                "kubeconfig",
                "--cluster-id",
                CLUSTER,
                "--merge",
                "--kubeconfig",
            ])
            .arg(target.to_string_lossy()),
    );
    assert!(
        run.stderr.contains(&format!(
            "merged context {CLUSTER} into {}",
            target.display()
        )),
        "{run}"
    );
    let config = yaml(&fs::read_to_string(&target).unwrap(), &run);
    // A new file: the context is its current one.
    assert_generated(
        &config,
        CLUSTER,
        CLUSTER_PUBLIC,
        &fake.cluster_ca_pem(),
        &strings(&["get-credential", "--cluster-id", CLUSTER]),
        &run,
    );
    assert_eq!(mode(&target), 0o600, "{run}");
    assert_eq!(
        fs::read_to_string(&elsewhere).unwrap(),
        elsewhere_text,
        "{run}"
    );
    assert!(!p.home().join(".kube/config").exists(), "{run}");
}

#[test]
fn merge_writes_through_a_symlinked_kubeconfig() {
    let (fake, _) = cloud();
    let p = plugin(&fake);
    let original = token_kubeconfig("other", "https://192.0.2.4:6443");
    let target = p.write_home_file("dotfiles/kube/config", &original);
    fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).unwrap();
    let link = p.home().join(".kube").join("config");
    fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink("../dotfiles/kube/config", &link).unwrap();

    let run = succeed(
        &p.clone()
            .args(["kubeconfig", "--cluster-id", CLUSTER, "--merge"]),
    );
    let meta = fs::symlink_metadata(&link).unwrap();
    assert!(
        meta.file_type().is_symlink(),
        "the link was replaced\n{run}"
    );
    assert_eq!(
        fs::read_link(&link).unwrap(),
        PathBuf::from("../dotfiles/kube/config"),
        "{run}"
    );
    let merged = yaml(&fs::read_to_string(&target).unwrap(), &run);
    entry(&merged, "contexts", CLUSTER);
    assert_eq!(
        other_entries(&merged),
        other_entries(&yaml(&original, &run)),
        "{run}"
    );
    assert_eq!(mode(&target), 0o600, "{run}");
    let leftovers: Vec<String> = fs::read_dir(link.parent().unwrap())
        .unwrap()
        .chain(fs::read_dir(target.parent().unwrap()).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "config")
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary files left: {leftovers:?}\n{run}"
    );
}

// ---------------------------------------------------------------------------------------------
// cache list and cache clear
// ---------------------------------------------------------------------------------------------

/// One row of `cache list`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Row {
    kind: String,
    id: String,
    uid: String,
    identity: String,
    state: String,
}

/// `cache list`'s stdout: the header's columns, the entry rows (with their EXPIRES) and the
/// unreadable lines.
fn parse_listing(stdout: &str) -> (Vec<String>, Vec<(Row, String)>, Vec<String>) {
    let mut lines = stdout.lines();
    let header = lines
        .next()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let mut rows = Vec::new();
    let mut unreadable = Vec::new();
    for line in lines {
        if line.starts_with('?') {
            unreadable.push(line.to_string());
            continue;
        }
        let mut words: Vec<&str> = line.split_whitespace().collect();
        let mut kind = words.remove(0).to_string();
        if words.first() == Some(&"(private)") {
            kind.push_str(" (private)");
            words.remove(0);
        }
        assert!(words.len() >= 5, "a short line in the listing: {line:?}");
        rows.push((
            Row {
                kind,
                id: words[0].to_string(),
                uid: words[1].to_string(),
                identity: words[2].to_string(),
                state: words[4..].join(" "),
            },
            words[3].to_string(),
        ));
    }
    (header, rows, unreadable)
}

fn row(kind: &str, id: &str, uid: &str, key_id: &str) -> Row {
    Row {
        kind: kind.to_string(),
        id: id.to_string(),
        uid: uid.to_string(),
        identity: format!("access-key:{key_id}"),
        state: "valid".to_string(),
    }
}

/// Fills one cache with a cluster, the same cluster for another user's uid (main account key),
/// another cluster with --private-ip, and a mesh. Returns the plugin (RAM user key) and the
/// main account's plugin, sharing the cache.
fn filled_cache<'a>(fake: &'a FakeCloud, me: &Principal) -> (Plugin<'a>, Plugin<'a>) {
    fake.add_main_account_key(MAIN_KEY_ID, MAIN_KEY_SECRET);
    let user = plugin(fake);
    let main = Plugin::new(fake)
        .access_key(MAIN_KEY_ID, MAIN_KEY_SECRET)
        .cache_dir(user.cache_path());
    user.clone()
        .args(["get-credential", "--cluster-id", CLUSTER])
        .run_ok();
    main.clone()
        .args(["get-credential", "--cluster-id", CLUSTER, "--uid", &me.uid])
        .run_ok();
    user.clone()
        .args(["get-credential", "--cluster-id", CLUSTER_2, "--private-ip"])
        .run_ok();
    user.clone()
        .args(["get-credential", "--mesh-id", MESH])
        .run_ok();
    assert_eq!(fake.count(), 4, "{}", fake.dump());
    (user, main)
}

#[test]
fn cache_list_shows_one_valid_line_per_credential_and_no_key_material() {
    let (fake, me) = cloud();
    let (user, _) = filled_cache(&fake, &me);
    let run = succeed(&user.clone().args(["cache", "list"]));

    let (header, rows, unreadable) = parse_listing(&run.stdout);
    assert_eq!(
        header,
        ["KIND", "ID", "UID", "IDENTITY", "EXPIRES", "STATE"],
        "{run}"
    );
    assert!(unreadable.is_empty(), "{run}");
    let got: BTreeSet<Row> = rows.iter().map(|(r, _)| r.clone()).collect();
    let expected: BTreeSet<Row> = [
        row("cluster", CLUSTER, "-", KEY_ID),
        row("cluster", CLUSTER, &me.uid, MAIN_KEY_ID),
        row("cluster (private)", CLUSTER_2, "-", KEY_ID),
        row("mesh", MESH, "-", KEY_ID),
    ]
    .into();
    assert_eq!(rows.len(), 4, "one line per entry\n{run}");
    assert_eq!(got, expected, "{run}");

    let issued: Vec<Issued> = fake.requests().iter().map(issued).collect();
    let latest = |mesh: bool| {
        issued
            .iter()
            .filter(|i| i.mesh == mesh)
            .map(|i| i.not_after)
            .max()
            .unwrap()
    };
    for (r, expires) in &rows {
        let at = DateTime::parse_from_rfc3339(expires)
            .unwrap_or_else(|e| panic!("EXPIRES {expires} of {r:?} is not RFC 3339: {e}\n{run}"))
            .with_timezone(&Utc);
        assert!(
            at > Utc::now() && at <= latest(r.kind == "mesh"),
            "EXPIRES {expires} of {r:?}: in the past or after the certificate's NotAfter\n{run}"
        );
    }
    assert_no_key_material(&run.stdout, &issued, &fake.secrets(), &run);
    assert_no_key_material(&run.stderr, &issued, &fake.secrets(), &run);
}

/// A certificate fetched inside its refresh window is `refresh due`; one past its NotAfter is
/// `expired`.
#[test]
fn cache_list_shows_refresh_due_and_expired_states() {
    let (fake, _) = cloud();
    let p = plugin(&fake);
    fake.set_cert_lifetime(std::time::Duration::from_secs(5 * 60));
    p.clone()
        .args(["get-credential", "--cluster-id", CLUSTER])
        .run_ok();
    fake.set_cert_lifetime(std::time::Duration::from_secs(3));
    p.clone()
        .args(["get-credential", "--mesh-id", MESH])
        .run_ok();
    let not_after = issued(&fake.last_request().unwrap()).not_after;
    while Utc::now() <= not_after + TimeDelta::milliseconds(500) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let run = succeed(&p.clone().args(["cache", "list"]));
    let (_, rows, unreadable) = parse_listing(&run.stdout);
    assert!(unreadable.is_empty(), "{run}");
    let states: BTreeSet<(String, String)> =
        rows.into_iter().map(|(r, _)| (r.kind, r.state)).collect();
    assert_eq!(
        states,
        [
            ("cluster".to_string(), "refresh due".to_string()),
            ("mesh".to_string(), "expired".to_string()),
        ]
        .into(),
        "{run}"
    );
}

#[test]
fn cache_list_shows_a_corrupt_file_as_unreadable() {
    let (fake, me) = cloud();
    let (user, _) = filled_cache(&fake, &me);
    let dir = user.cache_path().to_path_buf();
    let mut entries: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    entries.sort();
    assert_eq!(entries.len(), 4, "{entries:?}");
    fs::write(&entries[0], "{\"truncated\": ").unwrap();
    fs::write(dir.join("zz-garbage.json"), "not json at all").unwrap();

    let run = succeed(&user.clone().args(["cache", "list"]));
    let (_, rows, unreadable) = parse_listing(&run.stdout);
    assert_eq!(rows.len(), 3, "{run}");
    assert!(rows.iter().all(|(r, _)| r.state == "valid"), "{run}");
    assert_eq!(unreadable.len(), 2, "{run}");
    for name in [
        entries[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned(),
        "zz-garbage.json".to_string(),
    ] {
        assert!(
            unreadable
                .iter()
                .any(|l| l.split_whitespace().nth(1) == Some(name.as_str())
                    && l.contains("unreadable")),
            "no `? {name} ... unreadable` line\n{run}"
        );
    }
}

#[test]
fn cache_list_of_an_empty_cache_prints_nothing() {
    let (fake, _) = cloud();
    let p = plugin(&fake);
    // No cache directory at all.
    let run = succeed(&p.clone().args(["cache", "list"]));
    assert_eq!(run.stdout, "", "{run}");
    assert!(!run.stderr.trim().is_empty(), "a note on stderr\n{run}");
    // An existing, empty one (but for a lock file).
    fs::create_dir_all(p.cache_path()).unwrap();
    fs::write(p.cache_path().join("x.lock"), "").unwrap();
    let run = succeed(&p.clone().args(["cache", "list"]));
    assert_eq!(run.stdout, "", "{run}");
    assert!(!run.stderr.trim().is_empty(), "{run}");
    assert_eq!(fake.count(), 0);
}

/// `cache list` and `cache clear` find the cache where get-credential put it: $KUBECACHEDIR,
/// and `--cache-dir` overrides.
#[test]
fn cache_commands_follow_the_cache_dir_rules() {
    let (fake, _) = cloud();
    let p = plugin(&fake).env_remove("ACK_CACHE_DIR");
    let kubecache = p.home().join("kubecache");
    let p = p.env("KUBECACHEDIR", kubecache.to_string_lossy());
    p.clone()
        .args(["get-credential", "--mesh-id", MESH])
        .run_ok();
    assert!(kubecache.join("ack-credential-plugin").is_dir());

    let run = succeed(&p.clone().args(["cache", "list"]));
    let (_, rows, _) = parse_listing(&run.stdout);
    assert_eq!(rows.len(), 1, "{run}");
    let other = p.home().join("other-cache");
    let run = succeed(
        &p.clone()
            .args(["cache", "list", "--cache-dir"])
            .arg(other.to_string_lossy()),
    );
    assert_eq!(run.stdout, "", "{run}");
    let run = succeed(
        &p.clone()
            .args(["cache", "clear", "--cache-dir"])
            .arg(other.to_string_lossy()),
    );
    assert!(run.stderr.contains("removed 0 cached credential"), "{run}");
    let run = succeed(&p.clone().args(["cache", "list"]));
    assert_eq!(parse_listing(&run.stdout).1.len(), 1, "{run}");
}

/// Runs get-credential for each (args…) and returns how many API calls each made.
fn calls_for(fake: &FakeCloud, p: &Plugin, targets: &[&[&str]]) -> Vec<usize> {
    targets
        .iter()
        .map(|target| {
            let before = fake.count();
            p.clone()
                .arg("get-credential")
                .args(target.iter().copied())
                .run_ok();
            fake.count() - before
        })
        .collect()
}

#[test]
fn cache_clear_for_a_cluster_removes_only_that_clusters_entries() {
    let (fake, _) = cloud();
    let p = plugin(&fake);
    let targets: [&[&str]; 5] = [
        &["--cluster-id", CLUSTER],
        &["--cluster-id", CLUSTER, "--private-ip"],
        &["--cluster-id", CLUSTER, "--expiration", "90m"],
        &["--cluster-id", CLUSTER_2],
        &["--mesh-id", MESH],
    ];
    assert_eq!(calls_for(&fake, &p, &targets), [1, 1, 1, 1, 1]);

    let run = succeed(&p.clone().args(["cache", "clear", "--cluster-id", CLUSTER]));
    assert_eq!(run.stdout, "", "{run}");
    assert!(
        run.stderr.contains("removed 3 cached credential")
            && run.stderr.contains(&*p.cache_path().to_string_lossy()),
        "{run}"
    );
    assert_eq!(calls_for(&fake, &p, &targets), [1, 1, 1, 0, 0]);
}

#[test]
fn cache_clear_for_a_mesh_removes_only_that_meshs_entries() {
    let (fake, _) = cloud();
    // A cluster that happens to share the mesh's id stays.
    fake.add_cluster(
        MESH,
        CLUSTER_PUBLIC,
        CLUSTER_PRIVATE,
        &fake.cluster_ca_pem(),
    );
    let p = plugin(&fake);
    let targets: [&[&str]; 4] = [
        &["--mesh-id", MESH],
        &["--mesh-id", MESH, "--private-ip"],
        &["--mesh-id", MESH_2],
        &["--cluster-id", MESH],
    ];
    assert_eq!(calls_for(&fake, &p, &targets), [1, 1, 1, 1]);
    let run = succeed(&p.clone().args(["cache", "clear", "--mesh-id", MESH]));
    assert!(run.stderr.contains("removed 2 cached credential"), "{run}");
    assert_eq!(calls_for(&fake, &p, &targets), [1, 1, 0, 0]);
}

#[test]
fn cache_clear_without_a_filter_removes_everything() {
    let (fake, me) = cloud();
    let (user, main) = filled_cache(&fake, &me);
    let run = succeed(&user.clone().args(["cache", "clear"]));
    assert_eq!(run.stdout, "", "{run}");
    assert!(
        run.stderr.contains("removed 4 cached credential")
            && run.stderr.contains(&*user.cache_path().to_string_lossy()),
        "{run}"
    );
    let run = succeed(&user.clone().args(["cache", "list"]));
    assert_eq!(run.stdout, "", "{run}");
    let before = fake.count();
    main.clone()
        .args(["get-credential", "--cluster-id", CLUSTER, "--uid", &me.uid])
        .run_ok();
    assert_eq!(
        calls_for(
            &fake,
            &user,
            &[&["--cluster-id", CLUSTER], &["--mesh-id", MESH]]
        ),
        [1, 1]
    );
    assert_eq!(fake.count(), before + 3);
}

// ---------------------------------------------------------------------------------------------
// completions and --version
// ---------------------------------------------------------------------------------------------

#[test]
fn completions_print_a_script_for_every_shell() {
    let fake = FakeCloud::start();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let p = Plugin::new(&fake).args(["completions", shell]);
        let run = succeed(&p);
        assert!(!run.stdout.trim().is_empty(), "{run}");
        // fish declares long options as `-l NAME`; the other shells spell `--NAME`.
        let flag = if shell == "fish" {
            "-l cluster-id"
        } else {
            "--cluster-id"
        };
        assert!(
            run.stdout.contains("get-credential") && run.stdout.contains(flag),
            "{shell}: no `get-credential` or `{flag}`\n{run}"
        );
        assert_eq!(run.stderr, "", "{run}");
        if shell == "bash" {
            let script = p.write_home_file("completion.bash", &run.stdout);
            let out = Command::new("bash")
                .arg("-n")
                .arg(&script)
                .output()
                .expect("run bash -n");
            assert!(
                out.status.success(),
                "bash -n rejects the script: {}\n{run}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    assert_eq!(fake.count(), 0);
}

#[test]
fn completions_for_an_unknown_shell_is_a_usage_error() {
    let fake = FakeCloud::start();
    let run = Plugin::new(&fake).args(["completions", "tcsh"]).run_exit(2);
    assert!(!run.stderr.trim().is_empty(), "{run}");
}

#[test]
fn version_prints_the_name_and_version() {
    let fake = FakeCloud::start();
    let run = succeed(&Plugin::new(&fake).arg("--version"));
    assert_eq!(
        run.stdout.trim(),
        format!("ack-credential-plugin {}", env!("CARGO_PKG_VERSION")),
        "{run}"
    );
}
