//! The end-to-end harness itself, without the plugin: every kubectl is there, the TLS API
//! server demands and checks client certificates, and kubectl runs an exec plugin as the
//! plugin's kubeconfig will ask it to.

use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::support::wait::wait_until;

/// A TLS API server trusting `client_ca`, a fresh sandbox, and in it the kubeconfig `name` for
/// that server whose user has a static client certificate (CN [`CLIENT_CN`]) issued by
/// `cert_ca` (with `None`, no certificate but the bearer token [`NOT_A_CLIENT_CERT_TOKEN`]).
fn static_server(
    name: &str,
    client_ca: &TestCa,
    cert_ca: Option<&TestCa>,
) -> (ApiServer, Sandbox, PathBuf) {
    let client = cert_ca.map(|ca| ca.client_cert(CLIENT_CN));
    let server = ApiServer::start(&client_ca.pem());
    let sandbox = Sandbox::new();
    let kubeconfig = sandbox.write(
        name,
        &static_kubeconfig(
            &server.url(),
            server.ca_pem(),
            client
                .as_ref()
                .map(|(cert, key)| (cert.as_str(), key.as_str())),
        ),
    );
    (server, sandbox, kubeconfig)
}

#[test]
fn every_required_kubectl_is_found() {
    let found: Vec<String> = kubectls()
        .iter()
        .map(std::string::ToString::to_string)
        .collect();
    eprintln!("kubectl binaries: {}", found.join(", "));
}

#[test]
fn static_client_cert_reads_pods_version_and_discovery() {
    let ca = TestCa::new("test-client-ca");
    let (server, sandbox, kubeconfig) = static_server("static.kubeconfig", &ca, Some(&ca));

    for_every_kubectl(|_, kubectl| {
        let bin = &kubectl.path;
        server.clear_requests();
        check_pods(|args| sandbox.kubectl(bin, &kubeconfig, args))?;

        let out = sandbox.kubectl(bin, &kubeconfig, &["version", "-o", "json"]);
        expect_success(&out)?;
        let v: serde_json::Value = serde_json::from_str(&out.stdout)
            .map_err(|e| format!("`version -o json` printed no JSON ({e}):\n{out}"))?;
        if v["serverVersion"]["gitVersion"] != SERVER_GIT_VERSION {
            return Err(format!("no serverVersion {SERVER_GIT_VERSION}:\n{out}"));
        }

        let out = sandbox.kubectl(bin, &kubeconfig, &["get", "--raw", "/no/such/path"]);
        expect_failure_line(
            &out,
            "Error from server (NotFound): the server could not find the requested resource",
        )?;

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
    let (server, sandbox, kubeconfig) = static_server("anonymous.kubeconfig", &ca, None);

    for_every_kubectl(|_, kubectl| {
        let bin = &kubectl.path;
        server.clear_requests();
        let out = sandbox.kubectl(
            bin,
            &kubeconfig,
            &["get", "--raw", "/api/v1/namespaces/default/pods"],
        );
        expect_failure_line(
            &out,
            "error: You must be logged in to the server (Unauthorized)",
        )?;
        let out = sandbox.kubectl(bin, &kubeconfig, &["get", "pods"]);
        expect_failure_line(
            &out,
            "error: You must be logged in to the server (the server has asked for the client to \
             provide credentials)",
        )?;
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
    let (server, sandbox, kubeconfig) = static_server("foreign.kubeconfig", &trusted, Some(&other));

    for_every_kubectl(|_, kubectl| {
        let bin = &kubectl.path;
        let out = sandbox.kubectl(
            bin,
            &kubeconfig,
            &["get", "--raw", "/api/v1/namespaces/default/pods"],
        );
        // Go's TLS stack sometimes names where it read the alert (`readLoopPeekFailLocked: `)
        // between the two parts; the alert itself is always the same.
        let refused = out.stderr.lines().any(|line| {
            line.starts_with("Unable to connect to the server: ")
                && line.ends_with("remote error: tls: unknown certificate authority")
        });
        if out.success() || out.timed_out || !refused {
            return Err(format!(
                "expected the server to refuse the certificate's unknown CA:\n{out}"
            ));
        }
        Ok(())
    });
    let answered: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.status == 200)
        .collect();
    assert!(
        answered.is_empty(),
        "served a foreign certificate: {answered:?}"
    );
    assert!(
        !server.handshake_failures().is_empty(),
        "the server recorded no failed handshake"
    );
}

#[test]
fn server_checks_the_client_identity() {
    let ca = TestCa::new("test-client-ca");
    let (server, sandbox, kubeconfig) = static_server("static.kubeconfig", &ca, Some(&ca));
    let raw = ["get", "--raw", "/api/v1/namespaces/default/pods"];

    for_every_kubectl(|_, kubectl| {
        let bin = &kubectl.path;
        server.require_cn(Some(CLIENT_CN));
        expect_success(&sandbox.kubectl(bin, &kubeconfig, &raw))?;
        server.require_cn(Some("67890"));
        let out = sandbox.kubectl(bin, &kubeconfig, &raw);
        expect_failure_line(
            &out,
            r#"Error from server (Forbidden): /api/v1/namespaces/default/pods is forbidden: User "12345" cannot get path "/api/v1/namespaces/default/pods""#,
        )?;
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

        for_every_kubectl(|_, kubectl| {
            let bin = &kubectl.path;
            let _ = std::fs::remove_file(dir.join("exec-info.json"));
            check_pods(|args| sandbox.kubectl(bin, &kubeconfig, args))?;
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
    wait_until(
        "the server accepted the idle connection",
        std::time::Duration::from_secs(20),
        || server.connections_accepted() == 1,
    );
    let started = std::time::Instant::now();
    drop(server);
    // A drop that waited for the idle client would wait for the connection's 30-s I/O timeout;
    // the bound is far below that and far above a drop that shuts the connection down.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "drop took {:?}",
        started.elapsed()
    );
    drop(idle);
}
