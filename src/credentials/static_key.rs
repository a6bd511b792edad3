//! A fixed AccessKey pair, possibly with an STS token: from the environment, an aliyun CLI
//! `AK` or `StsToken` profile, or an INI `access_key` section.

use super::{Identity, Provider};
use crate::aliyun::Client;
use crate::aliyun::Credentials;
use crate::error::Error;
use crate::secret::Secret;

pub(crate) struct StaticProvider {
    credentials: Credentials,
    /// Where it was found, e.g. "the environment (`ALIBABA_CLOUD_ACCESS_KEY_ID`)".
    origin: String,
    region: Option<String>,
}

impl StaticProvider {
    pub(crate) fn new(
        access_key_id: &str,
        access_key_secret: &str,
        security_token: Option<&str>,
        origin: String,
    ) -> Self {
        StaticProvider {
            credentials: Credentials {
                access_key_id: access_key_id.trim().to_string(),
                access_key_secret: Secret::new(access_key_secret.trim()),
                security_token: security_token
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(Secret::new),
                expiration: None,
            },
            origin,
            region: None,
        }
    }

    pub(crate) fn with_region(mut self, region: Option<String>) -> Self {
        self.region = region;
        self
    }
}

impl Provider for StaticProvider {
    fn identity(&self) -> Identity {
        Identity::access_key(&self.credentials.access_key_id)
    }

    fn describe(&self) -> String {
        let kind = if self.credentials.security_token.is_some() {
            "STS token"
        } else {
            "AccessKey"
        };
        format!(
            "{kind} {} from {}",
            self.credentials.access_key_id, self.origin
        )
    }

    fn credentials(&self, _client: &Client) -> Result<Credentials, Error> {
        Ok(self.credentials.clone())
    }

    fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }
}
