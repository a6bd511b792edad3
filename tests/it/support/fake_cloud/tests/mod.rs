//! Self-tests of the fake (they do not run the binary): its verifiers against the official
//! signature vectors, and each service over HTTP with requests built and signed by hand,
//! independently of the verifiers.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha1::Sha1;

use super::accounts::random_alnum;
use super::http::find_header;
use super::imds::IMDS_CREDENTIALS_PREFIX;
use super::servicemesh::ASM_HOST_ID;
use super::sts::STS_HOST_ID;
use super::*;

mod cs;
mod imds;
mod servicemesh;
mod sts;
mod vectors;

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

struct TestSigner<'a> {
    key_id: &'a str,
    secret: &'a str,
    token: Option<&'a str>,
    date: DateTime<Utc>,
    nonce: String,
}

impl TestSigner<'_> {
    /// A request for `GET /k8s/{cluster}/user_config` built and signed by hand.
    fn request(&self, cluster: &str) -> String {
        let date = self.date.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let token_line = self
            .token
            .map(|t| format!("x-acs-security-token:{t}\n"))
            .unwrap_or_default();
        let sts = format!(
            "GET\napplication/json\n\n\n{date}\nx-acs-action:DescribeClusterUserKubeconfig\n{token_line}x-acs-signature-method:HMAC-SHA1\nx-acs-signature-nonce:{}\nx-acs-signature-version:1.0\nx-acs-version:2015-12-15\n/k8s/{cluster}/user_config?PrivateIpAddress=false&TemporaryDurationMinutes=60",
            self.nonce
        );
        let mut mac = Hmac::<Sha1>::new_from_slice(self.secret.as_bytes()).unwrap();
        mac.update(sts.as_bytes());
        let sig = BASE64.encode(mac.finalize().into_bytes());
        let token_header = self
            .token
            .map(|t| format!("x-acs-security-token: {t}\r\n"))
            .unwrap_or_default();
        format!(
            "GET /k8s/{cluster}/user_config?TemporaryDurationMinutes=60&PrivateIpAddress=false HTTP/1.1\r\nHost: cs.aliyuncs.com\r\nAccept: application/json\r\nDate: {date}\r\nX-Acs-Version: 2015-12-15\r\nx-acs-action: DescribeClusterUserKubeconfig\r\nx-acs-signature-method: HMAC-SHA1\r\nx-acs-signature-version: 1.0\r\nx-acs-signature-nonce: {}\r\n{token_header}Authorization: acs {}:{sig}\r\n\r\n",
            self.nonce, self.key_id
        )
    }
}

fn send(fake: &FakeCloud, raw: &str) -> (u16, Vec<(String, String)>, String) {
    let mut stream = TcpStream::connect(fake.addr()).unwrap();
    stream.write_all(raw.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

fn signer<'a>(key_id: &'a str, secret: &'a str, nonce: &str) -> TestSigner<'a> {
    TestSigner {
        key_id,
        secret,
        token: None,
        date: Utc::now(),
        nonce: nonce.to_string(),
    }
}

/// A signed STS request built by hand: form body, all parameters in it.
fn sts_request(
    action: &str,
    key: Option<(&str, &str, Option<&str>)>,
    business: &[(&str, &str)],
) -> String {
    rpc_request(STS_API_VERSION, action, key, business)
}

/// A signed (when `key` is given) RPC request of any product, built by hand.
fn rpc_request(
    version: &str,
    action: &str,
    key: Option<(&str, &str, Option<&str>)>,
    business: &[(&str, &str)],
) -> String {
    let mut params = pairs(&[
        ("Action", action),
        ("Version", version),
        ("Format", "JSON"),
        (
            "Timestamp",
            &Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ),
        ("SignatureNonce", &random_alnum(16)),
    ]);
    params.extend(pairs(business));
    if let Some((id, secret, token)) = key {
        params.extend(pairs(&[
            ("AccessKeyId", id),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
        ]));
        if let Some(token) = token {
            params.push(("SecurityToken".into(), token.into()));
        }
        let signature = rpc_signature(secret, &rpc_string_to_sign("POST", &params));
        params.push(("Signature".into(), signature));
    }
    let body = params
        .iter()
        .map(|(k, v)| format!("{}={}", rpc_percent_encode(k), rpc_percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "POST / HTTP/1.1\r\nHost: sts.aliyuncs.com\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn json_body(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn credentials_of(body: &Value) -> (String, String, String) {
    let c = &body["Credentials"];
    (
        c["AccessKeyId"].as_str().unwrap().to_string(),
        c["AccessKeySecret"].as_str().unwrap().to_string(),
        c["SecurityToken"].as_str().unwrap().to_string(),
    )
}

const ROLE_1: &str = "acs:ram::1234567890123456:role/first-role";
const ROLE_2: &str = "acs:ram::1234567890123456:role/second-role";

/// A signed `DescribeServiceMeshKubeconfig` request built by hand.
fn asm_request(key: (&str, &str, Option<&str>), business: &[(&str, &str)]) -> String {
    rpc_request(
        SERVICEMESH_API_VERSION,
        ACTION_DESCRIBE_SERVICE_MESH_KUBECONFIG,
        Some(key),
        business,
    )
}

fn http(method: &str, path: &str, headers: &[(&str, &str)]) -> String {
    let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: 100.100.100.200\r\n");
    for (k, v) in headers {
        let _ = write!(raw, "{k}: {v}\r\n");
    }
    raw.push_str("Content-Length: 0\r\n\r\n");
    raw
}
