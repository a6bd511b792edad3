//! Shared by the fuzz targets: the planted secret, a real certificate, and the path the plugin
//! takes with a kubeconfig from the API (its credential, then the certificate's validity).
#![allow(dead_code)]

use ack_credential_plugin::fuzzing;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

/// Planted in secret fields (by the seeds, and by the targets that build structured inputs).
/// No error message of these parsers quotes the input, so it must never show up in one.
pub const SECRET: &str = "PLANTEDSECRET";

/// A real certificate (self-signed, 2024-01-01T00:00:00Z to 03:00:00Z).
pub const CERT: &str = include_str!("../../../src/testdata/three-hours.pem");

pub fn key_pem() -> String {
    format!("-----BEGIN EC PRIVATE KEY-----\n{SECRET}\n-----END EC PRIVATE KEY-----\n")
}

/// Panics (a finding) if an error message quotes the planted secret.
pub fn assert_clean(message: &str) {
    assert!(
        !message.contains(SECRET),
        "an error message quotes the secret: {message}"
    );
}

/// An ACK-style kubeconfig (as JSON, which is YAML) with these PEM texts as the user's
/// certificate and key.
pub fn kubeconfig(cert_pem: &str, key_pem: &str) -> String {
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kubernetes", "cluster": {
            "server": "https://192.0.2.1:6443",
            "certificate-authority-data": BASE64.encode(CERT),
        }}],
        "contexts": [{"name": "2761-c1", "context": {"cluster": "kubernetes", "user": "2761"}}],
        "current-context": "2761-c1",
        "users": [{"name": "2761", "user": {
            "client-certificate-data": BASE64.encode(cert_pem),
            "client-key-data": BASE64.encode(key_pem),
        }}],
    })
    .to_string()
}

/// What the plugin does with the API's kubeconfig: parse it, take the current user's
/// credential, read the certificate's validity. Returns the credential's certificate, if any.
pub fn through_kubeconfig(yaml: &str) -> Option<String> {
    let credential = match fuzzing::kubeconfig_credential(yaml) {
        Ok(credential) => credential,
        Err(e) => {
            assert_clean(&e);
            return None;
        }
    };
    assert!(
        credential.token.is_some()
            != (credential.certificate.is_some() && credential.key.is_some()),
        "a credential is a token or a certificate and key"
    );
    let pem = credential.certificate?;
    assert!(pem.contains("-----BEGIN "));
    if let Err(e) = fuzzing::certificate_validity(&pem) {
        assert_clean(&e);
    }
    Some(pem)
}
