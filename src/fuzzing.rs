//! The narrow surface the fuzz targets in `fuzz/` drive: each parser of outside input, called as
//! the plugin calls it, with plain types in and out. Nothing else is public, and nothing but the
//! fuzz targets should call these.
//!
//! Every error is a `String` as the plugin would show it, so a target can check that no error
//! quotes the secret it planted.

use crate::aliyun::{adcp, cs, servicemesh};
use crate::cache::{self, KeyFields};
use crate::kubeconfig::Kubeconfig;

/// What an API error body was read as.
#[derive(Debug)]
pub struct ErrorBodyParts {
    pub code: Option<String>,
    pub message: Option<String>,
    pub request_id: Option<String>,
    /// For `SignatureDoesNotMatch`, the string the server signed (may hold the STS token).
    pub server_string_to_sign: Option<String>,
}

/// An API error body, read as the client reads it.
#[must_use]
pub fn error_body(body: &[u8]) -> ErrorBodyParts {
    let body = crate::aliyun::error::ErrorBody::parse(body);
    ErrorBodyParts {
        code: body.code,
        message: body.message,
        request_id: body.request_id,
        server_string_to_sign: body.server_string_to_sign,
    }
}

/// The apiVersion to answer with for this `KUBERNETES_EXEC_INFO`.
///
/// # Errors
/// When the variable is not an ExecCredential of a `client.authentication.k8s.io` version.
pub fn exec_info_api_version(exec_info: &str) -> Result<String, String> {
    crate::exec_credential::api_version(Some(exec_info), None).map_err(|e| e.to_string())
}

/// The credential taken out of an issued kubeconfig: a certificate and key, or a token.
pub struct IssuedCredential {
    pub certificate: Option<String>,
    pub key: Option<String>,
    pub token: Option<String>,
}

/// Parse a kubeconfig from the API and take the current user's credential out of it.
///
/// # Errors
/// When the document is not YAML, names no usable user, or its data is not PEM.
pub fn kubeconfig_credential(yaml: &str) -> Result<IssuedCredential, String> {
    let status = Kubeconfig::parse(yaml)?.credential()?;
    Ok(IssuedCredential {
        certificate: status.client_certificate_data,
        key: status.client_key_data,
        token: status.token,
    })
}

/// NotBefore and NotAfter (Unix seconds) of the first certificate in `pem`.
///
/// # Errors
/// When it is not a PEM certificate that parses.
pub fn certificate_validity(pem: &str) -> Result<(i64, i64), String> {
    crate::cert::validity(pem).map(|v| (v.not_before, v.not_after))
}

/// Read a cache entry file and do with it what a call does: expiry maths, the key's fields.
///
/// # Errors
/// When the file is not an entry.
pub fn cache_entry(bytes: &[u8]) -> Result<(), String> {
    let entry = cache::parse_entry(bytes).map_err(|e| e.to_string())?;
    let _ = entry.expiration_to_print(0);
    let _ = entry.is_fresh(0);
    let _ = entry.is_usable(0);
    let _ = KeyFields::parse(&entry.key);
    Ok(())
}

/// The kubeconfig YAML of a cs `DescribeClusterUserKubeconfig` answer.
///
/// # Errors
/// When the body is not JSON or holds no kubeconfig.
pub fn cs_answer(body: &[u8]) -> Result<String, String> {
    cs::parse_answer("DescribeClusterUserKubeconfig", body, None)
        .map(|issued| issued.config)
        .map_err(|e| e.to_string())
}

/// The kubeconfig YAML of a servicemesh `DescribeServiceMeshKubeconfig` answer.
///
/// # Errors
/// When the body is not JSON or holds no kubeconfig.
pub fn servicemesh_answer(body: &[u8]) -> Result<String, String> {
    servicemesh::parse_answer(body, None)
        .map(|issued| issued.config)
        .map_err(|e| e.to_string())
}

/// The kubeconfig YAML of an adcp `DescribeHubClusterKubeconfig` answer.
///
/// # Errors
/// When the body is not JSON or holds no kubeconfig.
pub fn adcp_answer(body: &[u8]) -> Result<String, String> {
    adcp::parse_answer(body, None)
        .map(|issued| issued.config)
        .map_err(|e| e.to_string())
}

/// Read an aliyun CLI `config.json`.
///
/// # Errors
/// When it is not the CLI's JSON.
pub fn cli_config(bytes: &[u8]) -> Result<(), String> {
    crate::credentials::cli_profile::file::parse(bytes, std::path::Path::new("config.json"))
        .map(|_| ())
        .map_err(|e| e.to_string())
}
