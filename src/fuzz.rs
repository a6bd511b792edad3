//! Property tests over every parser of outside input: kubeconfigs and certificates from the API,
//! API answers (cs, servicemesh and adcp kubeconfigs, the lists of clusters and meshes) and
//! error bodies, STS, metadata, URI and external-command answers, cache files,
//! `KUBERNETES_EXEC_INFO`, the aliyun CLI config, the INI file, rate-limit headers and flags, and
//! the user's kubeconfig that `kubeconfig --merge` edits.
//!
//! Each input is either arbitrary bytes or a well-formed sample with random edits (bytes
//! replaced, inserted, deleted, the end cut off), which reaches much deeper than noise. The
//! property is the same everywhere: no panic, and an error is a clean value whose message never
//! quotes the secret planted in the sample. `cargo test` runs 256 cases per parser;
//! `PROPTEST_CASES=200000 cargo test --release --lib fuzz` is the long run recorded in
//! docs/RELIABILITY.md.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use proptest::prelude::*;
use proptest::sample::Index;

/// Planted in every sample's secret fields; must never show up in an error message.
const SECRET: &str = "PLANTEDSECRET";

const CERT: &str = include_str!("testdata/three-hours.pem");

fn key_pem() -> String {
    format!("-----BEGIN EC PRIVATE KEY-----\n{SECRET}\n-----END EC PRIVATE KEY-----\n")
}

fn kubeconfig_sample() -> String {
    format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    server: https://192.0.2.1:6443\n    \
         certificate-authority-data: {ca}\n  name: kubernetes\ncontexts:\n- context:\n    \
         cluster: kubernetes\n    user: \"2761\"\n  name: 2761-c1\ncurrent-context: 2761-c1\n\
         kind: Config\nusers:\n- name: \"2761\"\n  user:\n    client-certificate-data: {cert}\n    \
         client-key-data: {key}\n",
        ca = BASE64.encode(CERT),
        cert = BASE64.encode(CERT),
        key = BASE64.encode(key_pem()),
    )
}

/// A sample with up to eight random edits, sometimes cut short.
fn mutated(sample: String) -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec((any::<Index>(), any::<u8>(), 0u8..3), 0..8),
        any::<Index>(),
        any::<bool>(),
    )
        .prop_map(move |(edits, cut, truncate)| {
            let mut bytes = sample.clone().into_bytes();
            for (at, byte, op) in edits {
                if bytes.is_empty() {
                    bytes.push(byte);
                    continue;
                }
                let i = at.index(bytes.len());
                match op {
                    0 => bytes[i] = byte,
                    1 => bytes.insert(i, byte),
                    _ => {
                        bytes.remove(i);
                    }
                }
            }
            if truncate {
                bytes.truncate(cut.index(bytes.len() + 1));
            }
            bytes
        })
}

/// Arbitrary bytes or an edited sample.
fn input(sample: String) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        mutated(sample).boxed(),
    ]
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn clean(message: &str) -> Result<(), TestCaseError> {
    prop_assert!(!message.contains(SECRET), "a secret leaked: {message}");
    Ok(())
}

/// What the plugin does with an API's kubeconfig: its credential, then the certificate checked
/// against its key.
fn through_kubeconfig(yaml: &str) -> Result<(), TestCaseError> {
    match crate::kubeconfig::Kubeconfig::parse(yaml).and_then(|k| k.credential()) {
        Ok(status) => {
            if let Some(cert) = status.client_certificate_data {
                prop_assert!(cert.contains("-----BEGIN "));
                if let Err(e) = crate::cert::validity(&cert) {
                    clean(&e)?;
                }
                let key = status.client_key_data.unwrap_or_default();
                if let Err(e) = crate::cert::check_pair(&cert, &key) {
                    clean(&e)?;
                }
            }
            Ok(())
        }
        Err(e) => clean(&e),
    }
}

const RSA_CERT: &str = include_str!("testdata/keys/rsa.crt");
const RSA_KEY: &str = include_str!("testdata/keys/rsa-pkcs1.key");

proptest! {
    #[test]
    fn kubeconfig_from_the_api(bytes in input(kubeconfig_sample())) {
        through_kubeconfig(&text(&bytes))?;
    }

    /// The user's kubeconfig, as `kubeconfig --merge` reads it: an error never quotes it, and
    /// what loads writes out to a document that loads and writes out the same again.
    #[test]
    fn kubeconfig_to_merge_into(bytes in input(kubeconfig_sample())) {
        use crate::kubeconfig::yaml;
        match yaml::load(&text(&bytes)) {
            Ok(Some(node)) => {
                let written = yaml::emit(&node);
                let again = yaml::load(&written);
                prop_assert!(again.is_ok(), "{written}");
                let again = again.unwrap().unwrap();
                prop_assert_eq!(yaml::emit(&again), written);
            }
            Ok(None) => {}
            Err(e) => clean(&e)?,
        }
    }

    /// A real key, edited: whatever the error, it quotes no line of the key.
    #[test]
    fn certificate_and_key(bytes in input(RSA_KEY.to_string())) {
        if let Err(e) = crate::cert::check_pair(RSA_CERT, &text(&bytes)) {
            for line in RSA_KEY.lines().filter(|l| !l.starts_with("-----") && l.len() >= 12) {
                prop_assert!(!e.contains(&line[..12]), "key material in: {e}");
            }
        }
    }

    #[test]
    fn certificate(bytes in input(CERT.to_string())) {
        if let Err(e) = crate::cert::validity(&text(&bytes)) {
            clean(&e)?;
        }
    }

    #[test]
    fn cs_answer(bytes in input(serde_json::json!({
        "config": kubeconfig_sample(), "expiration": "2026-01-02T03:04:05Z"
    }).to_string())) {
        match crate::aliyun::cs::parse_answer("DescribeClusterUserKubeconfig", &bytes, None) {
            Ok(issued) => through_kubeconfig(&issued.config)?,
            Err(e) => clean(&e.to_string())?,
        }
    }

    #[test]
    fn mesh_answer(bytes in input(serde_json::json!({
        "RequestId": "R", "Kubeconfig": kubeconfig_sample(), "ExpireTime": "2026-01-02 03:04:05"
    }).to_string())) {
        match crate::aliyun::servicemesh::parse_answer(&bytes, None) {
            Ok(issued) => through_kubeconfig(&issued.config)?,
            Err(e) => clean(&e.to_string())?,
        }
    }

    #[test]
    fn fleet_answer(bytes in input(serde_json::json!({
        "RequestId": "R", "Kubeconfig": kubeconfig_sample()
    }).to_string())) {
        match crate::aliyun::adcp::parse_answer(&bytes, None) {
            Ok(issued) => {
                prop_assert_eq!(issued.expiration, None);
                through_kubeconfig(&issued.config)?;
            }
            Err(e) => clean(&e.to_string())?,
        }
    }

    /// A page of `DescribeClustersV1`: every cluster it yields has an id, and an error quotes
    /// nothing of the body.
    #[test]
    fn clusters_page(bytes in input(serde_json::json!({
        "clusters": [
            {"cluster_id": "c1", "name": SECRET, "region_id": "cn-hangzhou",
             "cluster_type": "ManagedKubernetes", "state": "running", "current_version": "1.33.1"},
            {"cluster_id": "c2", "name": "b", "state": "deleting", "tags": [{"key": SECRET}]},
        ],
        "page_info": {"page_number": 1, "page_size": 100, "total_count": 2},
    }).to_string())) {
        match crate::aliyun::cs::parse_clusters_page(&bytes, None) {
            Ok(page) => prop_assert!(page.clusters.iter().all(|c| !c.id.is_empty())),
            Err(e) => clean(&e.to_string())?,
        }
    }

    #[test]
    fn meshes_list(bytes in input(serde_json::json!({
        "RequestId": "R",
        "ServiceMeshes": [{
            "ServiceMeshInfo": {"ServiceMeshId": "m1", "Name": SECRET, "RegionId": "cn-beijing",
                                "State": "running", "Version": "1.22.6.45"},
            "ClusterSpec": "enterprise", "Clusters": ["c1"],
        }],
    }).to_string())) {
        match crate::aliyun::servicemesh::parse_meshes(&bytes, None) {
            Ok(meshes) => prop_assert!(meshes.iter().all(|m| !m.id.is_empty())),
            Err(e) => clean(&e.to_string())?,
        }
    }

    #[test]
    fn error_body(bytes in input(format!(
        r#"{{"RequestId":"R","Code":"SignatureDoesNotMatch","Message":"no. server string to sign is:GET\n\nx-acs-security-token:{SECRET}"}}"#
    ))) {
        let body = crate::aliyun::error::ErrorBody::parse(&bytes);
        if let Some(message) = body.message {
            // The message as shown: the server's string to sign (which holds the token) is cut off.
            if message.contains("server string to sign is:") {
                prop_assert!(body.server_string_to_sign.is_none());
            }
        }
    }

    #[test]
    fn sts_answer(bytes in input(format!(
        r#"{{"RequestId":"R","Credentials":{{"AccessKeyId":"STS.a","AccessKeySecret":"{SECRET}","SecurityToken":"{SECRET}","Expiration":"2026-01-01T00:00:00Z"}}}}"#
    ))) {
        if let Err(e) = crate::aliyun::sts::parse_credentials("AssumeRole", &bytes, None) {
            clean(&e.to_string())?;
        }
    }

    #[test]
    fn metadata_and_uri_answer(bytes in input(format!(
        r#"{{"Code":"Success","AccessKeyId":"STS.a","AccessKeySecret":"{SECRET}","SecurityToken":"{SECRET}","Expiration":"2026-01-01T00:00:00Z"}}"#
    ))) {
        if let Err(e) = crate::credentials::ecs::parse_session_credentials(&text(&bytes)) {
            clean(&e)?;
        }
    }

    #[test]
    fn external_command_output(bytes in input(format!(
        r#"{{"mode":"StsToken","access_key_id":"STS.a","access_key_secret":"{SECRET}","sts_token":"{SECRET}"}}"#
    ))) {
        if let Err(e) = crate::credentials::external::parse_output(&bytes) {
            clean(&e)?;
        }
    }

    #[test]
    fn cache_file(bytes in input(serde_json::json!({
        "format": 1, "key": "[\"ack-credential-plugin/cache-key/v1\"]", "fetched_at": 1,
        "not_after": 3, "refresh_at": 2,
        "credential": {"clientCertificateData": CERT, "clientKeyData": key_pem()}
    }).to_string())) {
        match crate::cache::parse_entry(&bytes) {
            Ok(entry) => {
                // Whatever parsed is usable without a panic.
                let _ = entry.expiration_to_print(0);
                let _ = crate::cache::KeyFields::parse(&entry.key);
            }
            Err(e) => clean(&e.to_string())?,
        }
    }

    #[test]
    fn exec_info(bytes in input(
        r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}"#.to_string()
    )) {
        let _ = crate::exec_credential::api_version(Some(&text(&bytes)), None);
    }

    #[test]
    fn aliyun_cli_config(bytes in input(format!(
        r#"{{"current":"default","profiles":[{{"name":"default","mode":"AK","access_key_id":"LTAI1","access_key_secret":"{SECRET}","expired_seconds":0,"region_id":"cn-hangzhou"}}]}}"#
    ))) {
        if let Err(e) = crate::credentials::cli_profile::file::parse(&bytes, std::path::Path::new("config.json")) {
            clean(&e.to_string())?;
        }
    }

    #[test]
    fn ini_file(bytes in input(format!(
        "[default]   # a comment\ntype = access_key ; another\naccess_key_id = LTAI1\naccess_key_secret = \"{SECRET}\"\nlong =\n\tline\n"
    ))) {
        if let Err(e) = crate::credentials::ini::parse(&text(&bytes)) {
            clean(&e.to_string())?;
        }
    }

    #[test]
    fn process_command(bytes in input(format!(
        "'/opt/my tools/get creds' --json \"a \\\"b\\\" c\" arg\\ with\\ space \\\n {SECRET}"
    ))) {
        match crate::credentials::external::split_command(&text(&bytes)) {
            Ok(words) => prop_assert!(!words[0].is_empty()),
            Err(e) => clean(&e)?,
        }
    }

    #[test]
    fn session_file(bytes in input(format!(
        r#"{{"format":1,"identity":{{"type":"access-key","id":"LTAI1"}},"access_key_id":"STS.a","access_key_secret":"{SECRET}","security_token":"{SECRET}","expiration":1}}"#
    ))) {
        if let Some(stored) = crate::credentials::session::parse(&bytes) {
            let _ = crate::credentials::identity::render(&stored.identity);
        }
    }

    #[test]
    fn small_formats(bytes in input("Limit:10,Remain:0,TimeLeft:2000,Reset:1".to_string())) {
        let text = text(&bytes);
        let _ = crate::aliyun::retry::parse_time_left(&text);
        let _ = crate::config::values::parse_expiration(&text);
        let _ = crate::cache::KeyFields::parse(&text);
        let _ = crate::time::parse_rfc3339(&text);
        let _ = crate::time::parse_http_date(&text);
    }
}
