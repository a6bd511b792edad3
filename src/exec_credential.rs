//! The `client.authentication.k8s.io` ExecCredential: reading `KUBERNETES_EXEC_INFO` and
//! writing the one JSON document stdout carries.

use serde::{Deserialize, Serialize};

use crate::error::Error;

pub(crate) const V1: &str = "client.authentication.k8s.io/v1";
pub(crate) const V1BETA1: &str = "client.authentication.k8s.io/v1beta1";

/// The `client.authentication.k8s.io` versions the plugin speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ApiVersion {
    V1,
    V1beta1,
}

impl ApiVersion {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V1 => V1,
            ApiVersion::V1beta1 => V1BETA1,
        }
    }
}

/// What the plugin hands to the client: a certificate and key, or a bearer token. Its `Debug`
/// shows which fields are set, never their contents.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Status {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_certificate_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_key_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) token: Option<String>,
}

impl std::fmt::Debug for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |field: &Option<String>| field.as_ref().map(|_| "***");
        f.debug_struct("Status")
            .field(
                "client_certificate_data",
                &shown(&self.client_certificate_data),
            )
            .field("client_key_data", &shown(&self.client_key_data))
            .field("token", &shown(&self.token))
            .finish()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExecCredential<'a> {
    api_version: &'a str,
    kind: &'static str,
    status: StatusOut<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusOut<'a> {
    #[serde(flatten)]
    credential: &'a Status,
    expiration_timestamp: String,
}

/// The apiVersion to answer with: the one in `KUBERNETES_EXEC_INFO` (the client rejects any
/// other), else `--api-version`, else v1beta1 (kubectl 1.19 and older may not set the variable).
pub(crate) fn api_version(
    exec_info: Option<&str>,
    flag: Option<ApiVersion>,
) -> Result<String, Error> {
    if let Some(info) = exec_info {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct ExecInfo {
            api_version: Option<String>,
        }
        let info: ExecInfo = serde_json::from_str(info).map_err(|e| {
            Error::ExecInfo(format!("not the JSON ExecCredential kubectl sets: {e}"))
        })?;
        return match info.api_version {
            Some(version) if version.starts_with("client.authentication.k8s.io/") => Ok(version),
            Some(version) => Err(Error::ExecInfo(format!(
                "apiVersion {version:?} is not a client.authentication.k8s.io version"
            ))),
            None => Err(Error::ExecInfo("it has no apiVersion".to_string())),
        };
    }
    Ok(flag.unwrap_or(ApiVersion::V1beta1).as_str().to_string())
}

/// The ExecCredential document, one line of JSON plus a newline.
pub(crate) fn render(api_version: &str, credential: &Status, expiration: i64) -> String {
    let document = ExecCredential {
        api_version,
        kind: "ExecCredential",
        status: StatusOut {
            credential,
            expiration_timestamp: crate::time::rfc3339(expiration),
        },
    };
    let mut text = serde_json::to_string(&document).expect("an ExecCredential serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_exact_document() {
        let status = Status {
            client_certificate_data: Some(
                "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n".into(),
            ),
            client_key_data: Some(
                "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n".into(),
            ),
            token: None,
        };
        assert_eq!(
            render(V1, &status, 1_767_323_045),
            "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\
             \"status\":{\"clientCertificateData\":\"-----BEGIN CERTIFICATE-----\\nMII\\n-----END CERTIFICATE-----\\n\",\
             \"clientKeyData\":\"-----BEGIN EC PRIVATE KEY-----\\nMHc\\n-----END EC PRIVATE KEY-----\\n\",\
             \"expirationTimestamp\":\"2026-01-02T03:04:05Z\"}}\n"
        );
        let token = Status {
            client_certificate_data: None,
            client_key_data: None,
            token: Some("abc".into()),
        };
        assert_eq!(
            render(V1BETA1, &token, 0),
            "{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\
             \"status\":{\"token\":\"abc\",\"expirationTimestamp\":\"1970-01-01T00:00:00Z\"}}\n"
        );
    }

    #[test]
    fn debug_never_shows_key_material() {
        let status = Status {
            client_certificate_data: Some("CERTPEM".into()),
            client_key_data: Some("KEYPEM".into()),
            token: None,
        };
        let shown = format!("{status:?}");
        assert!(!shown.contains("PEM") && shown.contains("***"), "{shown}");
    }

    #[test]
    fn api_version_comes_from_exec_info_then_flag_then_default() {
        let info = r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}"#;
        assert_eq!(
            api_version(Some(info), Some(ApiVersion::V1beta1)).unwrap(),
            V1
        );
        assert_eq!(api_version(None, Some(ApiVersion::V1)).unwrap(), V1);
        assert_eq!(api_version(None, None).unwrap(), V1BETA1);
        assert!(api_version(Some("{not json"), None).is_err());
        assert!(api_version(Some(r#"{"apiVersion":"v1"}"#), None).is_err());
        assert!(api_version(Some(r#"{"kind":"ExecCredential"}"#), None).is_err());
    }
}
