//! What every signed request is signed with: an AccessKey pair, with the STS token when it is
//! temporary. The signer consumes it; every credential source produces it.

use crate::secret::Secret;

/// An AccessKey pair, with the STS token when it is temporary.
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    /// Not a secret: it names the key, and appears in the cache key and in `-v` output.
    pub(crate) access_key_id: String,
    pub(crate) access_key_secret: Secret,
    pub(crate) security_token: Option<Secret>,
    /// When temporary credentials stop working (Unix seconds), when the source said.
    pub(crate) expiration: Option<i64>,
}

impl Credentials {
    /// The `AccessKeyId`, `AccessKeySecret`, `SecurityToken` and `Expiration` (RFC 3339) of a
    /// JSON object, the shape STS, the ECS metadata service, credentials URIs and the CloudSSO
    /// portal all answer with. The error names `what` was read (`the answer`, `the answer's
    /// Credentials`) and the missing field, never a value.
    pub(crate) fn from_session_json(
        object: &serde_json::Value,
        what: &str,
    ) -> Result<Credentials, String> {
        let field = |name: &str| {
            object
                .get(name)
                .and_then(serde_json::Value::as_str)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("{what} has no {name}"))
        };
        Ok(Credentials {
            access_key_id: field("AccessKeyId")?.to_string(),
            access_key_secret: Secret::new(field("AccessKeySecret")?),
            security_token: Some(Secret::new(field("SecurityToken")?)),
            expiration: object
                .get("Expiration")
                .and_then(serde_json::Value::as_str)
                .and_then(crate::time::parse_rfc3339),
        })
    }
}
