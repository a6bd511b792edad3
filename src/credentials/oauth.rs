//! An aliyun CLI `OAuth` profile: STS credentials exchanged for the OAuth access token the user
//! got with `aliyun configure --mode OAuth`.
//!
//! As credentials-go does: when the access token is missing or expires within 20 minutes (and
//! there is a refresh token), `POST {site}/v1/token` (form `grant_type=refresh_token`,
//! `refresh_token`, `client_id`, `Timestamp`) gives new tokens; then `POST {site}/v1/exchange`
//! with `Authorization: Bearer <access token>` gives `{"accessKeyId", "accessKeySecret",
//! "securityToken", "expiration", "requestId"}`.
//!
//! The site rotates the refresh token on every refresh, so the new tokens are written back into
//! the CLI's config.json at once ([`super::config_write`]: the file's lock, a temporary file,
//! a rename, everything else kept), or the CLI would be left with a dead refresh token. The
//! whole refresh happens under that lock and starts by reading the file again: a process that
//! waited for the lock uses the tokens the other one wrote instead of refreshing twice.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::cli_profile::file::Profile;
use super::config_write::{self, ConfigLock, TokenUpdate};
use super::context::Context;
use super::{Identity, Provider};
use crate::aliyun::error::ErrorBody;
use crate::aliyun::{self, Client, Credentials, endpoint};
use crate::error::Error;
use crate::log::{verbose, warn};
use crate::secret::Secret;

/// `ACK_OAUTH_ENDPOINT`: the site to use instead of the one `oauth_site_type` names (a base
/// URL, held to the rules of every endpoint override). Read only for OAuth profiles.
pub(crate) const ENDPOINT_VAR: &str = "ACK_OAUTH_ENDPOINT";
/// Refresh the access token when it expires within this many seconds.
const REFRESH_AHEAD: i64 = 20 * 60;
/// The longest wait for another process refreshing the same profile's tokens.
const MAX_LOCK_WAIT: Duration = Duration::from_secs(10);

/// An OAuth site: where to sign in, and the aliyun CLI's client id there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Site {
    pub(crate) url: &'static str,
    pub(crate) client_id: &'static str,
}

/// The sites by `oauth_site_type` (in any case, as credentials-go reads it).
pub(crate) fn site(site_type: &str) -> Option<Site> {
    match site_type.trim().to_ascii_uppercase().as_str() {
        "CN" => Some(Site {
            url: "https://oauth.aliyun.com",
            client_id: "4038181954557748008",
        }),
        "INTL" => Some(Site {
            url: "https://oauth.alibabacloud.com",
            client_id: "4103531455503354461",
        }),
        _ => None,
    }
}

pub(crate) struct OAuthProvider {
    /// The config.json the tokens live in (and are written back to).
    config: PathBuf,
    profile: String,
    /// The site's base URL (`ACK_OAUTH_ENDPOINT` or the site type's).
    site_url: String,
    client_id: &'static str,
    origin: String,
    region: Option<String>,
}

/// A profile's OAuth tokens, as they are in the file now.
struct Tokens {
    access: Secret,
    refresh: Secret,
    /// Unix seconds; 0 when unknown.
    access_expire: i64,
}

impl Tokens {
    fn read(profile: &Value) -> Tokens {
        let text = |name: &str| {
            profile
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim()
        };
        Tokens {
            access: Secret::new(text("oauth_access_token")),
            refresh: Secret::new(text("oauth_refresh_token")),
            access_expire: profile
                .get("oauth_access_token_expire")
                .and_then(Value::as_i64)
                .unwrap_or(0),
        }
    }

    /// credentials-go's rule: with a refresh token, refresh when the access token is missing,
    /// of unknown expiry or expires within 20 minutes. Without one, the access token is tried.
    fn need_refresh(&self, now: i64) -> bool {
        !self.refresh.expose().is_empty()
            && (self.access.expose().is_empty()
                || self.access_expire == 0
                || self.access_expire - now <= REFRESH_AHEAD)
    }
}

impl OAuthProvider {
    /// The profile's OAuth settings, checked without network; the tokens are read on a miss.
    pub(crate) fn new(
        ctx: &Context,
        profile: &Profile,
        name: &str,
        path: &Path,
        origin: String,
        region: Option<String>,
    ) -> Result<OAuthProvider, Error> {
        let site = site(&profile.oauth_site_type).ok_or_else(|| {
            Error::NoCredentials(format!(
                "{origin} has oauth_site_type {:?}; it must be CN or INTL (run `aliyun \
                 configure --profile {name} --mode OAuth`)",
                profile.oauth_site_type
            ))
        })?;
        let site_url = match ctx.env.get(ENDPOINT_VAR) {
            Some(url) => endpoint::validate(url)
                .map_err(|why| Error::Usage(format!("{ENDPOINT_VAR}: {why}")))?,
            None => site.url.to_string(),
        };
        Ok(OAuthProvider {
            config: path.to_path_buf(),
            profile: name.to_string(),
            site_url,
            client_id: site.client_id,
            origin,
            region,
        })
    }

    fn sign_in_again(&self) -> String {
        format!(
            "sign in again with `aliyun configure --profile {} --mode OAuth`",
            self.profile
        )
    }

    fn fail(&self, why: &str) -> Error {
        Error::NoCredentials(format!(
            "cannot get credentials from the OAuth site {} for {}: {why}",
            self.site_url, self.origin
        ))
    }

    /// The profile's tokens as the file has them now.
    fn tokens(&self) -> Result<Tokens, Error> {
        let document = config_write::read(&self.config)?;
        let profile = config_write::profile(&document, &self.profile).ok_or_else(|| {
            self.fail(&format!(
                "the profile is no longer in {}",
                self.config.display()
            ))
        })?;
        Ok(Tokens::read(profile))
    }

    /// Refresh under the file's lock: read again, and refresh only if no one else has.
    fn refresh(&self, client: &Client) -> Result<Tokens, Error> {
        let wait = (client.remaining() / 2).min(MAX_LOCK_WAIT);
        let lock = ConfigLock::acquire(&self.config, wait).map_err(|e| self.fail(&e))?;
        let tokens = self.tokens()?;
        if !tokens.need_refresh(crate::time::now()) {
            verbose!("another process refreshed the OAuth tokens meanwhile");
            return Ok(tokens);
        }
        let url = format!("{}/v1/token", self.site_url);
        verbose!("POST {url} (refreshing the OAuth access token)");
        let timestamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let form = aliyun::form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens.refresh.expose()),
            ("client_id", self.client_id),
            ("Timestamp", timestamp.as_str()),
        ]);
        let (status, body) = client
            .post(
                &url,
                &[
                    ("Content-Type", "application/x-www-form-urlencoded"),
                    ("Accept", "application/json"),
                ],
                form.into_bytes(),
            )
            .map_err(|why| self.fail(&format!("refreshing the access token: {why}")))?;
        if status != 200 {
            return Err(self.fail(&format!(
                "refreshing the access token: {}; {}",
                describe_error(status, &body),
                self.sign_in_again()
            )));
        }
        let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let text = |name: &str| {
            answer
                .get(name)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
        };
        let (Some(access), Some(refresh)) = (text("access_token"), text("refresh_token")) else {
            return Err(self.fail(
                "refreshing the access token: the answer has no access_token and refresh_token",
            ));
        };
        let expires_in = answer
            .get("expires_in")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let fresh = Tokens {
            access: Secret::new(access),
            refresh: Secret::new(refresh),
            access_expire: crate::time::now() + expires_in,
        };
        let update = TokenUpdate {
            access_token: fresh.access.expose(),
            refresh_token: fresh.refresh.expose(),
            access_token_expire: fresh.access_expire,
        };
        match lock.write_tokens(&self.profile, &update) {
            Ok(()) => verbose!(
                "wrote the rotated OAuth tokens back to {}",
                self.config.display()
            ),
            // The new tokens still work here; the CLI will ask its user to sign in again.
            Err(why) => warn(&format!(
                "could not write the rotated OAuth tokens back to {}: {why}; the aliyun CLI \
                 will ask you to sign in again",
                self.config.display()
            )),
        }
        Ok(fresh)
    }
}

/// An error answer from the site, without its body's secrets: the status and the OAuth
/// (`error`, `error_description`) or Alibaba Cloud (`Code`, `Message`, `RequestId`) fields.
fn describe_error(status: u16, body: &[u8]) -> String {
    let mut text = format!("it answered HTTP {status}");
    let answer: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    for name in ["error", "error_description"] {
        if let Some(value) = answer.get(name).and_then(Value::as_str) {
            let _ = write!(text, ", {name}: {value}");
        }
    }
    ErrorBody::parse(body).append_to(&mut text);
    text
}

impl Provider for OAuthProvider {
    fn identity(&self) -> Identity {
        Identity::oauth(
            &self.config.display().to_string(),
            &self.profile,
            &self.site_url,
        )
    }

    fn describe(&self) -> String {
        format!("OAuth sign-in at {} ({})", self.site_url, self.origin)
    }

    fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    fn credentials(&self, client: &Client) -> Result<Credentials, Error> {
        let mut tokens = self.tokens()?;
        if tokens.access.expose().is_empty() && tokens.refresh.expose().is_empty() {
            return Err(self.fail(&format!(
                "the profile has no OAuth tokens; {}",
                self.sign_in_again()
            )));
        }
        if tokens.need_refresh(crate::time::now()) {
            tokens = self.refresh(client)?;
        }
        let url = format!("{}/v1/exchange", self.site_url);
        verbose!("POST {url} (exchanging the OAuth access token for STS credentials)");
        let bearer = format!("Bearer {}", tokens.access.expose());
        let (status, body) = client
            .post(
                &url,
                &[
                    ("Authorization", bearer.as_str()),
                    ("Content-Type", "application/json"),
                    ("Accept", "application/json"),
                ],
                Vec::new(),
            )
            .map_err(|why| self.fail(&why))?;
        if status != 200 {
            let mut why = describe_error(status, &body);
            if matches!(status, 400 | 401 | 403) {
                let _ = write!(why, "; {}", self.sign_in_again());
            }
            return Err(self.fail(&why));
        }
        let answer: Value =
            serde_json::from_slice(&body).map_err(|_| self.fail("the answer is not JSON"))?;
        let field = |name: &str| {
            answer
                .get(name)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| self.fail(&format!("the answer has no {name}")))
        };
        Ok(Credentials {
            access_key_id: field("accessKeyId")?.to_string(),
            access_key_secret: Secret::new(field("accessKeySecret")?),
            security_token: Some(Secret::new(field("securityToken")?)),
            expiration: answer
                .get("expiration")
                .and_then(Value::as_str)
                .and_then(crate::time::parse_rfc3339),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_by_type() {
        assert_eq!(site("CN").unwrap().url, "https://oauth.aliyun.com");
        assert_eq!(site("cn").unwrap().client_id, "4038181954557748008");
        assert_eq!(site("INTL").unwrap().url, "https://oauth.alibabacloud.com");
        assert_eq!(site("INTL").unwrap().client_id, "4103531455503354461");
        assert!(site("INVALID").is_none());
        assert!(site("").is_none());
    }

    #[test]
    fn refresh_when_missing_unknown_or_within_twenty_minutes() {
        let tokens = |access: &str, refresh: &str, expire: i64| Tokens {
            access: Secret::new(access),
            refresh: Secret::new(refresh),
            access_expire: expire,
        };
        let now = 1_000_000;
        assert!(!tokens("a", "r", now + 1201).need_refresh(now));
        assert!(tokens("a", "r", now + 1200).need_refresh(now));
        assert!(tokens("a", "r", 0).need_refresh(now));
        assert!(tokens("", "r", now + 9999).need_refresh(now));
        assert!(
            !tokens("a", "", now - 1).need_refresh(now),
            "no refresh token: try it"
        );
    }
}
