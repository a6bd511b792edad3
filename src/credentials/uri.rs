//! Credentials served over HTTP by a local or corporate credential service
//! (`ALIBABA_CLOUD_CREDENTIALS_URI`, or an aliyun CLI `CredentialsURI` profile).

use super::{Credentials, Provider, ecs};
use crate::aliyun::Client;
use crate::error::Error;

pub const URI_VAR: &str = "ALIBABA_CLOUD_CREDENTIALS_URI";

pub struct UriProvider {
    pub uri: String,
    pub origin: String,
    pub region: Option<String>,
}

impl Provider for UriProvider {
    fn identity(&self) -> String {
        format!("credentials-uri:{}", self.uri)
    }

    fn describe(&self) -> String {
        format!("the credentials URI {} ({})", self.uri, self.origin)
    }

    fn credentials(&self, client: &Client) -> Result<Credentials, Error> {
        let fail = |why: String| {
            Error::NoCredentials(format!(
                "cannot get credentials from {}: {why}",
                self.describe()
            ))
        };
        let (status, body) = client.get(&self.uri).map_err(fail)?;
        if !(200..300).contains(&status) {
            return Err(fail(format!("it answered HTTP {status}")));
        }
        let body = String::from_utf8(body).map_err(|_| fail("the answer is not text".into()))?;
        ecs::parse_session_credentials(&body).map_err(fail)
    }

    fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }
}
