//! Real kubectl against the fake TLS API server, for every kubectl on this machine: the one on
//! PATH and every `kubectl.1.*` beside its real binary.
//!
//! The first tests run the real plugin from a kubeconfig against the fake cloud (which issues
//! the certificates) and the TLS API server (which demands them). The rest test the harness
//! itself, without the plugin: static client certificates, a missing or foreign client
//! certificate, the server's identity check, and the exec-plugin kubeconfig with a stand-in
//! plugin (a shell script that prints a static ExecCredential).

use std::path::{Path, PathBuf};

use crate::support::apiserver::{ApiServer, POD_NAME, RecordedRequest, SERVER_GIT_VERSION};
use crate::support::fake_cloud::FakeCloud;
use crate::support::kubectl::{
    self, KubectlOutput, NOT_A_CLIENT_CERT_TOKEN, exec_kubeconfig, kubectl_binaries,
    static_kubeconfig,
};

/// The CN of the client certificate the tests present.
const CLIENT_CN: &str = "12345";

/// A CA made with rcgen that issues client certificates.
struct TestCa {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

impl TestCa {
    fn new(cn: &str) -> TestCa {
        use rcgen::{
            BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).expect("self-sign CA");
        TestCa { cert, key }
    }

    fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A client certificate with subject CN `cn` (and O `system:users`): (cert PEM, key PEM).
    fn client_cert(&self, cn: &str) -> (String, String) {
        use rcgen::{
            CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair,
            KeyUsagePurpose,
        };
        let key = KeyPair::generate().expect("client key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("client params");
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::OrganizationName, "system:users");
        params.distinguished_name.push(DnType::CommonName, cn);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("sign client cert");
        (cert.pem(), key.serialize_pem())
    }
}

/// Every kubectl; fails the test (never skips it) when there is none.
fn binaries() -> Vec<PathBuf> {
    let bins = kubectl_binaries();
    assert!(!bins.is_empty(), "{}", kubectl::NO_KUBECTL);
    bins
}

/// A temp dir that is kubectl's HOME, holding its kubeconfigs and cache.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write file");
        path
    }

    /// Runs `bin` with a HOME (and so a discovery cache) of its own inside the sandbox.
    fn kubectl(&self, bin: &Path, kubeconfig: &Path, args: &[&str]) -> KubectlOutput {
        let name = bin
            .file_name()
            .expect("kubectl file name")
            .to_string_lossy();
        let home = self.dir.path().join(format!("home-{name}"));
        std::fs::create_dir_all(&home).expect("kubectl home");
        kubectl::run(bin, &home, kubeconfig, args)
    }
}

/// Runs `check` for every kubectl and fails with every failure, not just the first.
fn for_every_kubectl(mut check: impl FnMut(&Path) -> Result<(), String>) {
    let mut failures = Vec::new();
    let mut passed = Vec::new();
    for bin in binaries() {
        let version = kubectl::client_version(&bin).unwrap_or_else(|| "unknown".to_owned());
        let label = format!("{} ({version})", bin.display());
        match check(&bin) {
            Ok(()) => passed.push(label),
            Err(e) => failures.push(format!("{label}:\n{e}")),
        }
    }
    eprintln!("passed with: {}", passed.join(", "));
    assert!(
        failures.is_empty(),
        "{} kubectl(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn expect_success(out: &KubectlOutput) -> Result<(), String> {
    if out.success() {
        Ok(())
    } else {
        Err(format!("expected success:\n{out}"))
    }
}

/// Success with nothing on stderr (no discovery errors, no warnings).
fn expect_quiet_success(out: &KubectlOutput) -> Result<(), String> {
    expect_success(out)?;
    if out.stderr.trim().is_empty() {
        Ok(())
    } else {
        Err(format!("expected an empty stderr:\n{out}"))
    }
}

fn expect_failure_mentioning(out: &KubectlOutput, words: &[&str]) -> Result<(), String> {
    if out.success() {
        return Err(format!("expected a failure:\n{out}"));
    }
    if out.timed_out {
        return Err(format!("timed out instead of failing:\n{out}"));
    }
    if !words.iter().any(|w| out.stderr.contains(w)) {
        return Err(format!(
            "expected stderr to mention one of {words:?}:\n{out}"
        ));
    }
    Ok(())
}

/// `get --raw` of the pods, then `get pods` (discovery + table), with whatever credentials the
/// kubeconfig gives.
fn check_pods(sandbox: &Sandbox, bin: &Path, kubeconfig: &Path) -> Result<(), String> {
    let out = sandbox.kubectl(
        bin,
        kubeconfig,
        &["get", "--raw", "/api/v1/namespaces/default/pods"],
    );
    expect_quiet_success(&out)?;
    let list: serde_json::Value = serde_json::from_str(&out.stdout)
        .map_err(|e| format!("`get --raw` printed no JSON ({e}):\n{out}"))?;
    if list["kind"] != "PodList" || list["items"][0]["metadata"]["name"] != POD_NAME {
        return Err(format!("unexpected `get --raw` output:\n{out}"));
    }

    let out = sandbox.kubectl(bin, kubeconfig, &["get", "pods", "-n", "default"]);
    expect_quiet_success(&out)?;
    let row = out.stdout.lines().find(|l| l.starts_with(POD_NAME));
    if !row.is_some_and(|r| r.contains("Running")) || !out.stdout.starts_with("NAME") {
        return Err(format!(
            "`get pods` printed no table with {POD_NAME}:\n{out}"
        ));
    }
    Ok(())
}

/// The plugin binary under test.
const PLUGIN: &str = env!("CARGO_BIN_EXE_ack-credential-plugin");

/// Real kubectl runs the real plugin from a kubeconfig: the plugin fetches a certificate from the
/// fake cloud, and the API server, which only answers requests carrying a certificate from the
/// fake cloud's CA with the caller's uid as CN, serves the pods. The second kubectl call of each
/// pair is a cache hit: no request reaches the fake cloud.
#[test]
fn kubectl_reaches_the_cluster_through_the_plugin() {
    let cloud = FakeCloud::start();
    let caller = cloud.add_access_key("LTAIe2ecaller", "e2e-secret");
    let api = ApiServer::start(&cloud.client_ca_pem());
    api.require_cn(Some(&caller.uid));
    cloud.add_cluster("c-e2e", &api.url(), &api.url(), api.ca_pem());
    let sandbox = Sandbox::new();
    let endpoint = cloud.endpoint();

    for api_version in ["v1", "v1beta1"] {
        let mut round = 0;
        for_every_kubectl(|bin| {
            round += 1;
            let cache = sandbox
                .path()
                .join(format!("plugin-cache-{api_version}-{round}"));
            let cache = cache.to_str().expect("UTF-8 path");
            let kubeconfig = sandbox.write(
                &format!("kubeconfig-plugin-{api_version}-{round}"),
                &exec_kubeconfig(
                    &api.url(),
                    api.ca_pem(),
                    Path::new(PLUGIN),
                    &["get-credential", "--cluster-id", "c-e2e"],
                    &[
                        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIe2ecaller"),
                        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "e2e-secret"),
                        ("ACK_CS_ENDPOINT", &endpoint),
                        ("ACK_CACHE_DIR", cache),
                    ],
                    api_version,
                ),
            );
            let calls_before = cloud.count();
            api.clear_requests();
            let out = sandbox.kubectl(
                bin,
                &kubeconfig,
                &["get", "--raw", "/api/v1/namespaces/default/pods"],
            );
            expect_quiet_success(&out)?;
            if !out.stdout.contains(POD_NAME) {
                return Err(format!("no pod in the answer:\n{out}"));
            }
            if cloud.count() != calls_before + 1 {
                return Err(format!(
                    "expected exactly one API call for a cold cache, saw {}:\n{}",
                    cloud.count() - calls_before,
                    cloud.dump()
                ));
            }
            // A second kubectl process: served from the plugin's cache.
            let out = sandbox.kubectl(bin, &kubeconfig, &["get", "pods", "-n", "default"]);
            expect_quiet_success(&out)?;
            if cloud.count() != calls_before + 1 {
                return Err(format!(
                    "the second kubectl call was not a cache hit:\n{}",
                    cloud.dump()
                ));
            }
            let requests = api.requests();
            if requests.is_empty()
                || !requests
                    .iter()
                    .all(|r| r.client_cert_verified && r.client_cn.as_deref() == Some(&caller.uid))
            {
                return Err(format!(
                    "the API server did not see the caller's certificate on every request: {requests:?}"
                ));
            }
            Ok(())
        });
    }
}

/// Another identity gets its own certificate, which the API server (expecting the first caller's
/// uid) refuses: a cached certificate is never handed to the wrong identity.
#[test]
fn kubectl_with_another_identity_gets_that_identitys_certificate() {
    let cloud = FakeCloud::start();
    let first = cloud.add_access_key("LTAIfirst", "first-secret");
    let second = cloud.add_access_key("LTAIsecond", "second-secret");
    let api = ApiServer::start(&cloud.client_ca_pem());
    api.require_cn(Some(&first.uid));
    cloud.add_cluster("c-e2e", &api.url(), &api.url(), api.ca_pem());
    let sandbox = Sandbox::new();
    let endpoint = cloud.endpoint();
    let cache = sandbox.path().join("shared-cache");
    let cache = cache.to_str().expect("UTF-8 path");
    let bin = kubectl::kubectl_on_path().expect(kubectl::NO_KUBECTL);
    let kubeconfig_for = |name: &str, id: &str, secret: &str| {
        sandbox.write(
            name,
            &exec_kubeconfig(
                &api.url(),
                api.ca_pem(),
                Path::new(PLUGIN),
                &["get-credential", "--cluster-id", "c-e2e"],
                &[
                    ("ALIBABA_CLOUD_ACCESS_KEY_ID", id),
                    ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", secret),
                    ("ACK_CS_ENDPOINT", &endpoint),
                    ("ACK_CACHE_DIR", cache),
                ],
                "v1",
            ),
        )
    };
    let first_config = kubeconfig_for("first", "LTAIfirst", "first-secret");
    let second_config = kubeconfig_for("second", "LTAIsecond", "second-secret");
    let args = ["get", "--raw", "/api/v1/namespaces/default/pods"];

    let out = sandbox.kubectl(&bin, &first_config, &args);
    expect_quiet_success(&out).unwrap();
    let out = sandbox.kubectl(&bin, &second_config, &args);
    expect_failure_mentioning(&out, &["Forbidden", "forbidden"]).unwrap();
    assert_eq!(
        cloud.count(),
        2,
        "each identity fetched its own:\n{}",
        cloud.dump()
    );
    let cns: Vec<_> = api
        .requests()
        .into_iter()
        .filter_map(|r| r.client_cn)
        .collect();
    assert!(
        cns.contains(&first.uid) && cns.contains(&second.uid),
        "{cns:?}"
    );
    // And the first identity is still served its own, from the cache.
    let out = sandbox.kubectl(&bin, &first_config, &args);
    expect_quiet_success(&out).unwrap();
    assert_eq!(cloud.count(), 2);
}

#[test]
fn kubectl_is_on_path() {
    let bins = binaries();
    eprintln!("kubectl binaries: {bins:?}");
}

#[test]
fn static_client_cert_reads_pods_version_and_discovery() {
    let ca = TestCa::new("test-client-ca");
    let (cert, key) = ca.client_cert(CLIENT_CN);
    let server = ApiServer::start(&ca.pem());
    let sandbox = Sandbox::new();
    let kubeconfig = sandbox.write(
        "static.kubeconfig",
        &static_kubeconfig(&server.url(), server.ca_pem(), Some((&cert, &key))),
    );

    for_every_kubectl(|bin| {
        server.clear_requests();
        check_pods(&sandbox, bin, &kubeconfig)?;

        let out = sandbox.kubectl(bin, &kubeconfig, &["version", "-o", "json"]);
        expect_success(&out)?;
        let v: serde_json::Value = serde_json::from_str(&out.stdout)
            .map_err(|e| format!("`version -o json` printed no JSON ({e}):\n{out}"))?;
        if v["serverVersion"]["gitVersion"] != SERVER_GIT_VERSION {
            return Err(format!("no serverVersion {SERVER_GIT_VERSION}:\n{out}"));
        }

        let out = sandbox.kubectl(bin, &kubeconfig, &["get", "--raw", "/no/such/path"]);
        expect_failure_mentioning(&out, &["(NotFound)"])?;

        let requests = server.requests();
        let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
        for wanted in ["/api/v1/namespaces/default/pods", "/api", "/version"] {
            if !paths.contains(&wanted) {
                return Err(format!("the server never saw {wanted}; it saw {paths:?}"));
            }
        }
        if let Some(r) = requests
            .iter()
            .find(|r| !r.client_cert_verified || r.client_cn.as_deref() != Some(CLIENT_CN))
        {
            return Err(format!("a request without the client certificate: {r:?}"));
        }
        Ok(())
    });
    assert!(
        server.handshake_failures().is_empty(),
        "{:?}",
        server.handshake_failures()
    );
}

#[test]
fn no_client_cert_is_unauthorized() {
    let ca = TestCa::new("test-client-ca");
    let server = ApiServer::start(&ca.pem());
    let sandbox = Sandbox::new();
    let kubeconfig = sandbox.write(
        "anonymous.kubeconfig",
        &static_kubeconfig(&server.url(), server.ca_pem(), None),
    );

    for_every_kubectl(|bin| {
        server.clear_requests();
        let out = sandbox.kubectl(
            bin,
            &kubeconfig,
            &["get", "--raw", "/api/v1/namespaces/default/pods"],
        );
        expect_failure_mentioning(
            &out,
            &["You must be logged in to the server (Unauthorized)"],
        )?;
        let out = sandbox.kubectl(bin, &kubeconfig, &["get", "pods"]);
        expect_failure_mentioning(&out, &["You must be logged in to the server"])?;
        let requests = server.requests();
        let unexpected = |r: &RecordedRequest| {
            r.client_cert_verified
                || r.status != 401
                || r.bearer_token.as_deref() != Some(NOT_A_CLIENT_CERT_TOKEN)
        };
        if requests.is_empty() || requests.iter().any(unexpected) {
            return Err(format!(
                "expected only 401s to the bearer token: {requests:?}"
            ));
        }
        Ok(())
    });
}

#[test]
fn client_cert_from_another_ca_is_rejected() {
    let trusted = TestCa::new("test-client-ca");
    let other = TestCa::new("some-other-ca");
    let (cert, key) = other.client_cert(CLIENT_CN);
    let server = ApiServer::start(&trusted.pem());
    let sandbox = Sandbox::new();
    let kubeconfig = sandbox.write(
        "foreign.kubeconfig",
        &static_kubeconfig(&server.url(), server.ca_pem(), Some((&cert, &key))),
    );

    for_every_kubectl(|bin| {
        let out = sandbox.kubectl(
            bin,
            &kubeconfig,
            &["get", "--raw", "/api/v1/namespaces/default/pods"],
        );
        expect_failure_mentioning(&out, &["unknown certificate authority", "bad certificate"])?;
        Ok(())
    });
    let served: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.status == 200)
        .collect();
    assert!(
        served.is_empty(),
        "served a foreign certificate: {served:?}"
    );
    assert!(
        !server.handshake_failures().is_empty(),
        "the server recorded no failed handshake"
    );
}

#[test]
fn server_checks_the_client_identity() {
    let ca = TestCa::new("test-client-ca");
    let (cert, key) = ca.client_cert(CLIENT_CN);
    let server = ApiServer::start(&ca.pem());
    let sandbox = Sandbox::new();
    let kubeconfig = sandbox.write(
        "static.kubeconfig",
        &static_kubeconfig(&server.url(), server.ca_pem(), Some((&cert, &key))),
    );
    let raw = ["get", "--raw", "/api/v1/namespaces/default/pods"];

    for_every_kubectl(|bin| {
        server.require_cn(Some(CLIENT_CN));
        expect_success(&sandbox.kubectl(bin, &kubeconfig, &raw))?;
        server.require_cn(Some("67890"));
        let out = sandbox.kubectl(bin, &kubeconfig, &raw);
        expect_failure_mentioning(&out, &["Forbidden", "forbidden"])?;
        Ok(())
    });
    server.require_cn(None);
    let statuses: Vec<u16> = server.requests().iter().map(|r| r.status).collect();
    assert!(
        statuses.contains(&200) && statuses.contains(&403),
        "{statuses:?}"
    );
}

/// A stand-in exec plugin: records its arguments, one variable from the kubeconfig's `env` and
/// `KUBERNETES_EXEC_INFO` into files beside it, then prints a static ExecCredential.
fn write_fake_plugin(sandbox: &Sandbox, name: &str, credential: &serde_json::Value) -> PathBuf {
    let dir = sandbox.path().join(name);
    std::fs::create_dir_all(&dir).expect("plugin dir");
    let credential_path = dir.join("credential.json");
    std::fs::write(&credential_path, credential.to_string()).expect("write credential");
    let script = format!(
        "#!/bin/sh\n\
         printf '%s\\n' \"$*\" > '{dir}/args'\n\
         printf '%s\\n' \"$FAKE_PLUGIN_MARKER\" > '{dir}/marker'\n\
         printf '%s\\n' \"$KUBERNETES_EXEC_INFO\" > '{dir}/exec-info.json'\n\
         exec cat '{credential}'\n",
        dir = dir.display(),
        credential = credential_path.display(),
    );
    let path = dir.join("fake-plugin.sh");
    std::fs::write(&path, script).expect("write plugin");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

#[test]
fn exec_kubeconfig_runs_a_plugin_with_v1_and_v1beta1() {
    let ca = TestCa::new("test-client-ca");
    let (cert, key) = ca.client_cert(CLIENT_CN);
    let server = ApiServer::start(&ca.pem());
    server.require_cn(Some(CLIENT_CN));
    let sandbox = Sandbox::new();
    let args = ["get-credential", "--cluster-id", "c0123456789abcdef"];

    for api_version in ["v1", "v1beta1"] {
        let full = format!("client.authentication.k8s.io/{api_version}");
        let credential = serde_json::json!({
            "apiVersion": full,
            "kind": "ExecCredential",
            "status": {
                "clientCertificateData": cert,
                "clientKeyData": key,
                "expirationTimestamp": "2999-01-01T00:00:00Z",
            },
        });
        let plugin = write_fake_plugin(&sandbox, &format!("plugin-{api_version}"), &credential);
        let dir = plugin.parent().expect("plugin dir").to_owned();
        let kubeconfig = sandbox.write(
            &format!("exec-{api_version}.kubeconfig"),
            &exec_kubeconfig(
                &server.url(),
                server.ca_pem(),
                &plugin,
                &args,
                &[("FAKE_PLUGIN_MARKER", "from-kubeconfig-env")],
                api_version,
            ),
        );

        for_every_kubectl(|bin| {
            let _ = std::fs::remove_file(dir.join("exec-info.json"));
            check_pods(&sandbox, bin, &kubeconfig)?;
            let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
            let info: serde_json::Value = serde_json::from_str(read("exec-info.json").trim())
                .map_err(|e| format!("the plugin got no KUBERNETES_EXEC_INFO JSON: {e}"))?;
            if info["apiVersion"] != full.as_str() || info["kind"] != "ExecCredential" {
                return Err(format!("unexpected KUBERNETES_EXEC_INFO: {info}"));
            }
            if info["spec"]["interactive"] != false {
                return Err(format!("interactiveMode Never but interactive: {info}"));
            }
            if read("args").trim() != args.join(" ") {
                return Err(format!("plugin args: {:?}", read("args")));
            }
            if read("marker").trim() != "from-kubeconfig-env" {
                return Err(format!("plugin env: {:?}", read("marker")));
            }
            Ok(())
        });
    }
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.client_cn.as_deref() == Some(CLIENT_CN) && r.status == 200),
        "{:?}",
        server.requests()
    );
}

#[test]
fn dropping_the_server_with_an_idle_connection_does_not_hang() {
    let ca = TestCa::new("test-client-ca");
    let server = ApiServer::start(&ca.pem());
    // A client that connects and never says anything: its thread sits in the TLS handshake.
    let idle = std::net::TcpStream::connect(server.addr()).expect("connect");
    std::thread::sleep(std::time::Duration::from_millis(100));
    let started = std::time::Instant::now();
    drop(server);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "drop took {:?}",
        started.elapsed()
    );
    drop(idle);
}
