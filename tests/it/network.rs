//! How requests reach the network: proxies chosen as Go chooses them (never for loopback), the
//! one set of TLS roots an https endpoint is verified against (none for plain http), and size
//! caps that hold while an answer is read.
//!
//! The servers here are small ones of the test's own, on 127.0.0.1: a proxy that records what
//! reaches it and refuses everything, a TLS terminator in front of the fake cloud, and servers
//! whose answers never end or are too long.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::Command;
use std::sync::Arc;

use crate::support::plugin::{BIN, Plugin};
use crate::support::proxy::{read_head, recording_proxy, serve, server_tls};
use crate::support::{CLUSTER, KEY_ID, KEY_SECRET, cloud, get_credential};

#[test]
fn requests_to_a_loopback_endpoint_never_go_through_a_proxy() {
    let (fake, _) = cloud();
    let (proxy, seen) = recording_proxy();
    let run = get_credential(&fake)
        .env("HTTP_PROXY", &proxy)
        .env("http_proxy", &proxy)
        .env("HTTPS_PROXY", &proxy)
        .env("ALL_PROXY", &proxy)
        .run_ok();
    assert_eq!(seen.connections(), Vec::<String>::new(), "{run}");
    assert_eq!(fake.count(), 1, "{run}");
}

#[test]
fn a_credentials_uri_on_loopback_bypasses_the_proxy_with_its_token() {
    let (fake, _) = cloud();
    let (uri, _role) = fake.add_credentials_uri("ci");
    let (proxy, seen) = recording_proxy();
    let run = Plugin::new(&fake)
        .args(["get-credential", "--cluster-id", CLUSTER])
        .env("ALIBABA_CLOUD_CREDENTIALS_URI", uri)
        .env("HTTP_PROXY", &proxy)
        .run_ok();
    assert_eq!(seen.connections(), Vec::<String>::new(), "{run}");
    assert_eq!(fake.count(), 2, "the URI, then cs\n{run}");
}

#[test]
fn a_remote_endpoint_goes_through_https_proxy_unless_no_proxy_names_it() {
    let (fake, _) = cloud();
    let (proxy, seen) = recording_proxy();
    let remote = get_credential(&fake)
        .env("ACK_CS_ENDPOINT", "https://cs.cn-hangzhou.aliyuncs.com")
        .env("HTTPS_PROXY", &proxy)
        .env("ACK_API_TIMEOUT", "3");
    let run = remote.run_err();
    let connections = seen.connections();
    assert!(!connections.is_empty(), "the proxy was not used\n{run}");
    for head in &connections {
        // Only the tunnel's address crosses the proxy: the signed request stays inside TLS.
        assert_eq!(
            head.lines().next(),
            Some("CONNECT cs.cn-hangzhou.aliyuncs.com:443 HTTP/1.1"),
            "{head}\n{run}"
        );
        assert!(
            !head.contains(KEY_SECRET) && !head.contains(KEY_ID),
            "{head}"
        );
    }

    let before = seen.connections().len();
    let run = remote.clone().env("NO_PROXY", ".aliyuncs.com").run_err();
    assert_eq!(
        seen.connections().len(),
        before,
        "NO_PROXY was ignored\n{run}"
    );
}

/// A TLS server with its own CA in front of the fake cloud: each request is read whole,
/// passed on over plain TCP, and the fake's answer (it closes after one) passed back.
fn tls_front(fake_addr: String) -> (String, String) {
    let (config, ca_pem) = server_tls(&["127.0.0.1"]);
    let addr = serve(move |stream| {
        let Ok(connection) = rustls::ServerConnection::new(Arc::clone(&config)) else {
            return;
        };
        let mut tls = rustls::StreamOwned::new(connection, stream);
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        // Requests to the fake are GETs without a body or small form POSTs: read the head,
        // then as many body bytes as Content-Length says.
        loop {
            let Ok(n) = tls.read(&mut buffer) else { return };
            if n == 0 {
                return;
            }
            request.extend_from_slice(&buffer[..n]);
            let text = String::from_utf8_lossy(&request);
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if request.len() >= end + 4 + length {
                    break;
                }
            }
        }
        let mut upstream = TcpStream::connect(&fake_addr).unwrap();
        upstream.write_all(&request).unwrap();
        let mut answer = Vec::new();
        let _ = upstream.read_to_end(&mut answer);
        let _ = tls.write_all(&answer);
        tls.conn.send_close_notify();
        let _ = tls.flush();
        let _ = tls.sock.shutdown(Shutdown::Write);
    });
    (format!("https://{addr}"), ca_pem)
}

#[test]
fn an_https_endpoint_is_verified_against_ssl_cert_file_alone() {
    let (fake, _) = cloud();
    let (endpoint, ca_pem) = tls_front(fake.addr().to_string());
    let plugin = get_credential(&fake).env("ACK_CS_ENDPOINT", &endpoint);
    let ca_file = plugin.write_home_file("ca.pem", &ca_pem);

    // The system's roots do not know the test CA: refused, not retried.
    let run = plugin.clone().env("ACK_API_TIMEOUT", "5").run_err();
    assert!(
        run.stderr
            .contains("the server's TLS certificate is not trusted"),
        "{run}"
    );
    assert_eq!(fake.count(), 0, "{run}");

    // SSL_CERT_FILE names the one bundle to trust.
    let run = plugin
        .env("SSL_CERT_FILE", ca_file.display().to_string())
        .run_ok();
    assert_eq!(fake.count(), 1, "{run}");
}

#[test]
fn a_plain_http_miss_reads_no_root_certificates() {
    let (fake, _) = cloud();
    let missing = "/nonexistent/ack-credential-plugin-test/ca.pem";
    // Over http (a loopback endpoint) the bundle is never opened, so its absence changes nothing.
    get_credential(&fake).env("SSL_CERT_FILE", missing).run_ok();
    assert_eq!(fake.count(), 1);

    // Over https it is the one source: its absence is named, and nothing is sent.
    let (endpoint, _) = tls_front(fake.addr().to_string());
    let run = get_credential(&fake)
        .env("ACK_CS_ENDPOINT", endpoint)
        .env("SSL_CERT_FILE", missing)
        .arg("--force-refresh")
        .run_err();
    assert_eq!(
        run.stderr,
        format!(
            "ack-credential-plugin: error: cannot read {missing}: No such file or directory (os error 2)\n"
        ),
        "{run}"
    );
    assert_eq!(fake.count(), 1, "{run}");
}

/// A server that answers every request with headers, then `body` forever (or once).
fn answering(status: &'static str, body: Vec<u8>, forever: bool) -> String {
    let body = Arc::new(body);
    let addr = serve(move |mut stream| {
        read_head(&mut stream);
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
        );
        if stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        loop {
            if stream.write_all(&body).is_err() || !forever {
                return;
            }
        }
    });
    format!("http://{addr}")
}

#[test]
fn an_endless_metadata_answer_is_cut_at_the_cap_while_reading() {
    let (fake, _) = cloud();
    let endless = answering("200 OK", b"{\"Code\":\"Success\",".repeat(4096), true);
    let home = tempfile::tempdir().unwrap();
    // The heap is limited to 64 MiB: reading the whole answer would fail to allocate and abort.
    let output = Command::new("prlimit")
        .arg("--data=67108864")
        .arg("--")
        .arg(BIN)
        .args(["get-credential", "--cluster-id", CLUSTER])
        .env_clear()
        .env("HOME", home.path())
        .env("ACK_CACHE_DIR", home.path().join("cache"))
        .env("ACK_CS_ENDPOINT", fake.endpoint())
        .env("ALIBABA_CLOUD_ECS_METADATA", "node-role")
        .env("ACK_ECS_METADATA_ENDPOINT", &endless)
        .output()
        .expect("prlimit (util-linux) runs the plugin");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(output.stdout.is_empty(), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "ack-credential-plugin: error: cannot get credentials from ECS instance RAM role \
             node-role (the ECS metadata service): the answer is longer than 64 KiB\n"
        )
    );
}

#[test]
fn an_api_answer_over_the_cap_is_refused_once_not_retried() {
    let (fake, _) = cloud();
    let huge = format!("{{\"config\":\"{}\"}}", "a".repeat(2 << 20)).into_bytes();
    let endpoint = answering("200 OK", huge, false);
    let run = get_credential(&fake)
        .env("ACK_CS_ENDPOINT", endpoint)
        .run_err();
    assert_eq!(
        run.stderr,
        "ack-credential-plugin: error: DescribeClusterUserKubeconfig returned an answer that \
         cannot be used: the answer is longer than 1024 KiB\n\
         hint: try again; if it persists, report it with the RequestId\n",
        "{run}"
    );
}
