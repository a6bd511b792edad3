//! Credentials served over HTTP by a local or corporate credential service
//! (`ALIBABA_CLOUD_CREDENTIALS_URI`, or an aliyun CLI `CredentialsURI` profile).

use super::{Identity, Provider, ecs, identity};
use crate::aliyun::{Client, Credentials, endpoint};
use crate::error::Error;

pub(crate) const URI_VAR: &str = "ALIBABA_CLOUD_CREDENTIALS_URI";

pub(crate) struct UriProvider {
    pub(crate) uri: String,
    pub(crate) origin: String,
    pub(crate) region: Option<String>,
}

impl UriProvider {
    /// The URI without its query or user info, which may hold a token.
    fn shown(&self) -> String {
        reqwest::Url::parse(&self.uri).map_or_else(
            |_| "?".to_string(),
            |url| {
                let authority = endpoint::authority(&url).unwrap_or_default();
                format!("{}://{authority}{}", url.scheme(), url.path())
            },
        )
    }
}

impl Provider for UriProvider {
    /// The URI without its query or user info (which may hold a token), plus a hash of all of
    /// it. The identity is the source: an account switched behind the URI is only seen once
    /// the cached certificate is refreshed (`--force-refresh`, `cache clear`).
    fn identity(&self) -> Identity {
        Identity::credentials_uri(&self.shown(), &self.uri)
    }

    fn describe(&self) -> String {
        format!(
            "the credentials URI of {} ({})",
            identity::render(self.identity().value()),
            self.origin
        )
    }

    fn credentials(&self, client: &Client) -> Result<Credentials, Error> {
        let fail = |why: String| {
            Error::NoCredentials(format!(
                "cannot get credentials from {}: {why}",
                self.describe()
            ))
        };
        let (status, body) = client.get(&self.uri, super::MAX_ANSWER).map_err(fail)?;
        if !(200..300).contains(&status) {
            return Err(fail(format!("it answered HTTP {status}")));
        }
        let body = String::from_utf8(body).map_err(|_| fail("the answer is not text".into()))?;
        ecs::parse_session_credentials(&body).map_err(fail)
    }

    fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// Scheme, host and port only: the path or query may carry a token.
    fn endpoints(&self) -> Vec<(&'static str, String)> {
        reqwest::Url::parse(&self.uri)
            .ok()
            .and_then(|url| endpoint::origin(&url))
            .map(|origin| vec![("credentials URI", origin)])
            .unwrap_or_default()
    }
}
