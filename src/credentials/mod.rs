//! Where the caller's Alibaba Cloud identity comes from.
//!
//! Two questions, kept apart because only one may touch the network:
//! - who is the caller ([`Provider::identity`]): answered from variables and files alone, so a
//!   cache hit finds its entry without any request and without running any command;
//! - what to sign with ([`Provider::credentials`]): only asked on a cache miss, and free to call
//!   STS, the ECS metadata service, a credentials URI or an external command.
//!
//! [`chain::discover`] picks the source, in the official SDKs' order.

pub mod chain;
pub mod cli_profile;
pub mod ecs;
pub mod env;
pub mod external;
pub mod ini;
pub mod oidc;
pub mod role;
pub mod static_key;
pub mod uri;

use crate::aliyun::Client;
use crate::error::Error;
use crate::secret::Secret;

/// An AccessKey pair, with the STS token when it is temporary.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Not a secret: it names the key, and appears in the cache key and in `-v` output.
    pub access_key_id: String,
    pub access_key_secret: Secret,
    pub security_token: Option<Secret>,
}

impl Credentials {
    /// The `AccessKeyId`, `AccessKeySecret` and `SecurityToken` of a JSON object, the shape
    /// STS, the ECS metadata service and credentials URIs all answer with. The error names the
    /// missing field, never a value.
    pub fn from_session_json(object: &serde_json::Value) -> Result<Credentials, String> {
        let field = |name: &str| {
            object
                .get(name)
                .and_then(serde_json::Value::as_str)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("the answer has no {name}"))
        };
        Ok(Credentials {
            access_key_id: field("AccessKeyId")?.to_string(),
            access_key_secret: Secret::new(field("AccessKeySecret")?),
            security_token: Some(Secret::new(field("SecurityToken")?)),
        })
    }
}

/// One source of credentials.
pub trait Provider {
    /// Who the caller is, for the cache key: stable for the same identity, different for a
    /// different one, computed without network and never containing a secret.
    fn identity(&self) -> String;

    /// Where the credentials come from, for `-v` and messages.
    fn describe(&self) -> String;

    /// The credentials to sign with.
    fn credentials(&self, client: &Client) -> Result<Credentials, Error>;

    /// The region this source is configured for (an aliyun CLI profile's `region_id`).
    fn region(&self) -> Option<&str> {
        None
    }
}
