//! An aliyun CLI `CloudSSO` profile: STS credentials from the CloudSSO portal the user signed
//! in to with `aliyun configure --mode CloudSSO`.
//!
//! The CLI stores the portal's sign-in URL (`cloud_sso_sign_in_url`), the account
//! (`cloud_sso_account_id`), the access configuration (`cloud_sso_access_config`) and a bearer
//! token (`access_token`, expiring at `cloud_sso_access_token_expire`, Unix seconds). As the
//! SDKs do, the plugin posts `{"AccountId", "AccessConfigurationId"}` to
//! `{scheme://host of the sign-in URL}/cloud-credentials` with `Authorization: Bearer <token>`
//! and gets `{"RequestId", "CloudCredential": {"AccessKeyId", "AccessKeySecret",
//! "SecurityToken", "Expiration"}}`. The token cannot be refreshed: once it has expired the
//! user signs in again. The plugin never writes the CLI's config.json for CloudSSO (the STS keys
//! the CLI caches there are not read either: the plugin keeps its own, see [`super::session`]).

use std::fmt::Write;
use std::path::Path;

use serde_json::{Value, json};

use super::cli_profile::file::Profile;
use super::{Identity, Provider};
use crate::aliyun::error::ErrorBody;
use crate::aliyun::{Client, Credentials, endpoint};
use crate::error::Error;
use crate::log::verbose;
use crate::secret::Secret;

pub(crate) struct CloudSsoProvider {
    /// `scheme://host[:port]` of the sign-in URL, or why it has none (reported on a miss,
    /// after the token, as the SDKs check them).
    portal: Result<String, String>,
    /// The sign-in URL as written.
    sign_in_url: String,
    account_id: String,
    access_config: String,
    access_token: Secret,
    /// Unix seconds; 0 when the profile has none.
    token_expire: i64,
    config: String,
    profile: String,
    origin: String,
    region: Option<String>,
}

impl CloudSsoProvider {
    /// The profile's CloudSSO settings, checked without network. The token is only checked
    /// on a miss ([`Provider::credentials`]): a cached certificate is served whatever it says.
    pub(crate) fn new(
        profile: &Profile,
        name: &str,
        path: &Path,
        origin: String,
        region: Option<String>,
    ) -> Result<CloudSsoProvider, Error> {
        let missing = [
            ("cloud_sso_sign_in_url", &profile.cloud_sso_sign_in_url),
            ("cloud_sso_account_id", &profile.cloud_sso_account_id),
            ("cloud_sso_access_config", &profile.cloud_sso_access_config),
        ]
        .into_iter()
        .find(|(_, value)| value.trim().is_empty());
        if let Some((field, _)) = missing {
            return Err(Error::NoCredentials(format!(
                "{origin} has no `{field}`: configure it with `aliyun configure --profile {name} \
                 --mode CloudSSO`"
            )));
        }
        let sign_in_url = profile.cloud_sso_sign_in_url.trim().to_string();
        Ok(CloudSsoProvider {
            portal: portal(&sign_in_url),
            sign_in_url,
            account_id: profile.cloud_sso_account_id.trim().to_string(),
            access_config: profile.cloud_sso_access_config.trim().to_string(),
            access_token: Secret::new(profile.access_token.trim()),
            token_expire: profile.cloud_sso_access_token_expire,
            config: path.display().to_string(),
            profile: name.to_string(),
            origin,
            region,
        })
    }

    fn sign_in_again(&self) -> String {
        format!(
            "sign in again with `aliyun configure --profile {} --mode CloudSSO`",
            self.profile
        )
    }
}

/// The portal's base URL: the scheme and host (and port) of the sign-in URL, held to the rules
/// of every endpoint (https, or http for a loopback host).
fn portal(sign_in_url: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(sign_in_url).map_err(|e| format!("is not a URL ({e})"))?;
    let base = endpoint::origin(&url).ok_or("has no host")?;
    endpoint::validate(&base)
}

impl Provider for CloudSsoProvider {
    fn identity(&self) -> Identity {
        Identity::cloud_sso(
            &self.config,
            &self.profile,
            self.portal.as_deref().unwrap_or(&self.sign_in_url),
            &self.account_id,
            &self.access_config,
        )
    }

    fn describe(&self) -> String {
        format!(
            "CloudSSO access configuration {} of account {} at {} ({})",
            self.access_config,
            self.account_id,
            self.portal.as_deref().unwrap_or(&self.sign_in_url),
            self.origin
        )
    }

    fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    fn credentials(&self, client: &Client) -> Result<Credentials, Error> {
        let now = crate::time::now();
        if self.access_token.expose().is_empty() {
            return Err(Error::NoCredentials(format!(
                "the CloudSSO access token of aliyun CLI profile `{}` is empty: {}",
                self.profile,
                self.sign_in_again()
            )));
        }
        if self.token_expire <= now {
            let when = if self.token_expire == 0 {
                String::new()
            } else {
                format!(" at {}", crate::time::rfc3339(self.token_expire))
            };
            return Err(Error::NoCredentials(format!(
                "the CloudSSO access token of aliyun CLI profile `{}` expired{when}: {}",
                self.profile,
                self.sign_in_again()
            )));
        }
        let portal = self.portal.as_ref().map_err(|why| {
            Error::NoCredentials(format!("{}: cloud_sso_sign_in_url {why}", self.origin))
        })?;
        let url = format!("{portal}/cloud-credentials");
        verbose!(
            "POST {url} (CloudSSO account {}, access configuration {})",
            self.account_id,
            self.access_config
        );
        let body = json!({
            "AccountId": self.account_id,
            "AccessConfigurationId": self.access_config,
        });
        let bearer = format!("Bearer {}", self.access_token.expose());
        let fail = |why: String| {
            Error::NoCredentials(format!(
                "cannot get credentials from the CloudSSO portal {portal} for {}: {why}",
                self.origin
            ))
        };
        let (status, answer) = client
            .post(
                &url,
                &[
                    ("Authorization", bearer.as_str()),
                    ("Content-Type", "application/json"),
                    ("Accept", "application/json"),
                ],
                body.to_string().into_bytes(),
            )
            .map_err(fail)?;
        if status != 200 {
            let mut why = format!("it answered HTTP {status}");
            ErrorBody::parse(&answer).append_to(&mut why);
            if matches!(status, 401 | 403) {
                let _ = write!(why, "; {}", self.sign_in_again());
            }
            return Err(fail(why));
        }
        let answer: Value =
            serde_json::from_slice(&answer).map_err(|_| fail("the answer is not JSON".into()))?;
        Credentials::from_session_json(&answer["CloudCredential"], "the answer's CloudCredential")
            .map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_portal_is_the_scheme_and_host_of_the_sign_in_url() {
        assert_eq!(
            portal("https://signin-cn-shanghai.alibabacloudsso.com/d-abc/login").unwrap(),
            "https://signin-cn-shanghai.alibabacloudsso.com"
        );
        assert_eq!(
            portal("http://127.0.0.1:8080/d-abc/login?x=1").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(portal("http://signin.example.com/login").is_err());
        assert!(portal("url").is_err());
    }
}
