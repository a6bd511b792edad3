//! The `endpoints` check behind a proxy: a remote endpoint is reached through the proxy's
//! `CONNECT` tunnel and its TLS handshake timed inside it, with the proxy's password sent to the
//! proxy alone and never shown.

use super::*;
use crate::support::proxy::{tls_server, tunnelling_proxy_to};

#[test]
fn a_remote_endpoint_is_probed_through_the_proxys_tunnel() {
    const CS: &str = "cs.cn-hangzhou.aliyuncs.com";
    let (fake, _me, _api) = cloud_and_cluster();
    let (server, ca_pem) = tls_server(&[CS]);
    let (proxy, seen) = tunnelling_proxy_to(Some(server));
    let plugin = as_ram_user(&fake);
    let roots = plugin.write_home_file("roots.pem", &ca_pem);
    let plugin = plugin
        .env("ACK_CS_ENDPOINT", format!("https://{CS}"))
        .env(
            "HTTPS_PROXY",
            proxy.replace("http://", "http://me:proxy-password@"),
        )
        .env("SSL_CERT_FILE", roots.to_string_lossy());

    let run = doctor(&plugin, &["-o", "json"]);
    let endpoints = check(&checks(&run), "endpoints").clone();
    assert_eq!(endpoints.status, "ok", "{run}");
    let line = endpoints
        .detail
        .lines()
        .find(|line| line.starts_with("cs "))
        .unwrap_or_else(|| panic!("no cs line\n{run}"));
    let proxy_address = proxy.trim_start_matches("http://");
    let prefix = format!("cs https://{CS} through proxy {proxy_address}: DNS ");
    assert!(
        line.starts_with(&prefix)
            && line.contains(" ms, connect ")
            && line.contains(" ms, CONNECT ")
            && line.contains(" ms, TLS ")
            && line.ends_with(" ms"),
        "{line}\n{run}"
    );
    assert!(!run.stdout.contains("proxy-password"), "{run}");
    // The probe's tunnel, and the clock check's request (reqwest's) through the same proxy.
    let heads = seen.connections();
    assert!(!heads.is_empty(), "{run}");
    for head in &heads {
        let mut lines = head.lines();
        assert_eq!(
            lines.next(),
            Some(format!("CONNECT {CS}:443 HTTP/1.1").as_str()),
            "{heads:?}"
        );
        let authorization = lines.find_map(|line| {
            let (name, value) = line.split_once(": ")?;
            name.eq_ignore_ascii_case("proxy-authorization")
                .then_some(value)
        });
        // me:proxy-password
        assert_eq!(
            authorization,
            Some("Basic bWU6cHJveHktcGFzc3dvcmQ="),
            "{heads:?}"
        );
    }
}
