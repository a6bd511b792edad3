//! The `client.authentication.k8s.io` ExecCredential: reading `KUBERNETES_EXEC_INFO` and
//! writing the one JSON document stdout carries.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

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

/// A [`Status`] as the JSON object it is printed as, kept as that text: the cache stores it
/// so, and a cache hit prints it as it is, without decoding the certificate and key (every
/// `\n` in the PEM is an escape) and encoding them again. Reading it checks its shape, so
/// nothing else can reach stdout. Its `Debug` shows nothing of it.
#[derive(Clone)]
pub(crate) struct StatusJson(Box<RawValue>);

impl StatusJson {
    pub(crate) fn new(status: &Status) -> StatusJson {
        StatusJson(serde_json::value::to_raw_value(status).expect("a Status serialises"))
    }

    /// The credential decoded, for a look at it (`doctor`): never on the hit path, which
    /// prints the text as it is.
    pub(crate) fn decode(&self) -> Option<Status> {
        serde_json::from_str(self.0.get()).ok()
    }

    /// The object's members, without the braces.
    fn members(&self) -> &str {
        let object = self.0.get().trim();
        object
            .strip_prefix('{')
            .and_then(|o| o.strip_suffix('}'))
            .unwrap_or("")
            .trim()
    }
}

impl PartialEq for StatusJson {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Eq for StatusJson {}

impl std::fmt::Debug for StatusJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StatusJson(***)")
    }
}

impl Serialize for StatusJson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for StatusJson {
    /// Any JSON value is read whole, then held to a `Status`'s shape without copying its
    /// strings: an object with string members, a certificate and a key, or a token.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        struct Shape<'a> {
            #[serde(borrow)]
            client_certificate_data: Option<&'a RawValue>,
            #[serde(borrow)]
            client_key_data: Option<&'a RawValue>,
            #[serde(borrow)]
            token: Option<&'a RawValue>,
        }
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        let shape: Shape = serde_json::from_str(raw.get())
            .map_err(|_| serde::de::Error::custom("the credential is not a Status"))?;
        let string = |field: Option<&RawValue>| field.is_some_and(|v| v.get().starts_with('"'));
        let pair = string(shape.client_certificate_data)
            && string(shape.client_key_data)
            && shape.token.is_none();
        let token = string(shape.token)
            && shape.client_certificate_data.is_none()
            && shape.client_key_data.is_none();
        if !pair && !token {
            return Err(serde::de::Error::custom(
                "the credential is neither a certificate and key nor a token",
            ));
        }
        Ok(StatusJson(raw))
    }
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

/// The ExecCredential document, one line of JSON plus a newline:
/// `{"apiVersion":…,"kind":"ExecCredential","status":{…,"expirationTimestamp":…}}`.
pub(crate) fn render(api_version: &str, credential: &StatusJson, expiration: i64) -> String {
    let members = credential.members();
    let version = serde_json::to_string(api_version).expect("a string serialises");
    let mut text = String::with_capacity(members.len() + 128);
    text.push_str("{\"apiVersion\":");
    text.push_str(&version);
    text.push_str(",\"kind\":\"ExecCredential\",\"status\":{");
    text.push_str(members);
    if !members.is_empty() {
        text.push(',');
    }
    text.push_str("\"expirationTimestamp\":\"");
    text.push_str(&crate::time::rfc3339(expiration));
    text.push_str("\"}}\n");
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
            render(V1, &StatusJson::new(&status), 1_767_323_045),
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
            render(V1BETA1, &StatusJson::new(&token), 0),
            "{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\
             \"status\":{\"token\":\"abc\",\"expirationTimestamp\":\"1970-01-01T00:00:00Z\"}}\n"
        );
    }

    /// A stored credential is read back only in a `Status`'s shape, whatever JSON the file
    /// holds, and printed as it was stored.
    #[test]
    fn a_stored_credential_keeps_its_text_and_its_shape() {
        let read = |json: &str| serde_json::from_str::<StatusJson>(json);
        let pair = r#"{"clientCertificateData":"C\n","clientKeyData":"K\n"}"#;
        assert_eq!(read(pair).unwrap().0.get(), pair);
        assert!(read(r#"{"token":"t"}"#).is_ok());
        for bad in [
            "5",
            r#""text""#,
            "[]",
            "{}",
            r#"{"token":5}"#,
            r#"{"clientCertificateData":"C"}"#,
            r#"{"clientCertificateData":"C","clientKeyData":"K","token":"t"}"#,
            r#"{"token":"t","extra":"x"}"#,
            r#"{"token":"t"}x"#,
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
        let status = read(pair).unwrap();
        assert_eq!(format!("{status:?}"), "StatusJson(***)");
        assert_eq!(
            render(V1, &status, 0),
            "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\
             \"status\":{\"clientCertificateData\":\"C\\n\",\"clientKeyData\":\"K\\n\",\
             \"expirationTimestamp\":\"1970-01-01T00:00:00Z\"}}\n"
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
