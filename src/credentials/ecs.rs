//! The RAM role attached to an ECS instance, from the instance metadata service.
//!
//! IMDSv2 first: `PUT /latest/api/token` gives a session token sent with every read. When that
//! fails the v1 reads are tried without it, unless `ALIBABA_CLOUD_IMDSV1_DISABLED=true`.
//! Timeouts are about a second: off ECS the address does not answer, and this must fail fast.
//! Proxies are bypassed: the metadata service is only reachable from the instance itself.

use std::time::Duration;

use serde_json::Value;

use super::{Identity, Provider};
use crate::aliyun::Client;
use crate::aliyun::Credentials;
use crate::aliyun::client::read_capped;
use crate::env::Env;
use crate::error::Error;
use crate::log::verbose;
use crate::secret::Secret;

pub(crate) const IMDS_V1_DISABLED_VAR: &str = "ALIBABA_CLOUD_IMDSV1_DISABLED";
pub(crate) const DEFAULT_ENDPOINT: &str = "http://100.100.100.200";
const TIMEOUT: Duration = Duration::from_secs(1);
const TOKEN_TTL_SECONDS: &str = "21600";
/// An IMDSv2 token is a few dozen bytes.
const MAX_TOKEN: usize = 4 << 10;
const CREDENTIALS_PATH: &str = "/latest/meta-data/ram/security-credentials/";

pub(crate) struct EcsProvider {
    pub(crate) endpoint: String,
    /// The role, when configured; otherwise asked of the metadata service.
    pub(crate) role: Option<String>,
    pub(crate) imds_v1_disabled: bool,
    /// Where it was configured ("aliyun CLI profile `x`", "the environment", ...).
    pub(crate) origin: String,
    /// For the chain's last-resort probe: what was tried before, listed if this fails too.
    pub(crate) tried_before: Option<Vec<String>>,
    pub(crate) region: Option<String>,
}

impl Provider for EcsProvider {
    /// An instance has at most one RAM role attached, so the role name, or just "the attached
    /// role" when it is discovered, identifies the caller without asking the metadata service;
    /// the host name keeps instances apart that share a home directory (and so a cache).
    fn identity(&self) -> Identity {
        Identity::ecs_role(self.role.as_deref(), &host_name())
    }

    fn describe(&self) -> String {
        match &self.role {
            Some(role) => format!("ECS instance RAM role {role} ({})", self.origin),
            None => format!("the ECS instance's RAM role ({})", self.origin),
        }
    }

    fn credentials(&self, _client: &Client) -> Result<Credentials, Error> {
        self.fetch().map_err(|why| match &self.tried_before {
            Some(tried) => Error::NoCredentials(format!(
                "no Alibaba Cloud credentials found. Tried, in order:\n  - {}\n  - the ECS \
                 metadata service at {}: {why}\n{}",
                tried.join("\n  - "),
                self.endpoint,
                super::context::NO_CREDENTIALS_HINT
            )),
            None => Error::NoCredentials(format!(
                "cannot get credentials from {}: {why}",
                self.describe()
            )),
        })
    }

    fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    fn endpoints(&self) -> Vec<(&'static str, String)> {
        vec![("ECS metadata", self.endpoint.clone())]
    }
}

impl EcsProvider {
    fn fetch(&self) -> Result<Credentials, String> {
        let http = reqwest::blocking::Client::builder()
            .no_proxy()
            .connect_timeout(TIMEOUT)
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        let token = match self.token(&http) {
            Ok(token) => Some(token),
            Err(why) if self.imds_v1_disabled => {
                return Err(format!(
                    "no IMDSv2 token ({why}), and ALIBABA_CLOUD_IMDSV1_DISABLED forbids reading without one"
                ));
            }
            Err(why) => {
                verbose!("no IMDSv2 token ({why}); reading metadata without one");
                None
            }
        };
        let get = |path: &str| -> Result<String, String> {
            let mut request = http.get(format!("{}{path}", self.endpoint));
            if let Some(token) = &token {
                request = request.header("X-aliyun-ecs-metadata-token", token.expose());
            }
            let mut response = request.send().map_err(|e| describe(&e))?;
            let status = response.status();
            let body = read_capped(&mut response, super::MAX_ANSWER)?;
            let body = String::from_utf8(body)
                .map_err(|_| format!("GET {path}: the answer is not text"))?;
            if !status.is_success() {
                return Err(format!("GET {path} answered HTTP {}", status.as_u16()));
            }
            Ok(body)
        };
        let role = if let Some(role) = &self.role {
            role.clone()
        } else {
            get(CREDENTIALS_PATH)?
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .ok_or("no RAM role is attached to this instance")?
                .to_string()
        };
        verbose!("reading ECS RAM role {role} from {}", self.endpoint);
        let body = get(&format!("{CREDENTIALS_PATH}{role}"))?;
        parse_session_credentials(&body).map_err(|why| format!("role {role}: {why}"))
    }

    fn token(&self, http: &reqwest::blocking::Client) -> Result<Secret, String> {
        let mut response = http
            .put(format!("{}/latest/api/token", self.endpoint))
            .header("X-aliyun-ecs-metadata-token-ttl-seconds", TOKEN_TTL_SECONDS)
            .send()
            .map_err(|e| describe(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!(
                "the token request answered HTTP {}",
                status.as_u16()
            ));
        }
        let token = read_capped(&mut response, MAX_TOKEN)?;
        let token = String::from_utf8(token).map_err(|_| "the token is not text".to_string())?;
        Ok(Secret::new(token.trim()))
    }
}

/// This machine's host name (`uname`), for the ECS role's identity: a system call, no file.
pub(crate) fn host_name() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "no answer within a second (not on an ECS instance?)".to_string()
    } else if error.is_connect() {
        "cannot connect (not on an ECS instance?)".to_string()
    } else {
        "the connection failed".to_string()
    }
}

/// `{"Code": "Success", "AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration"}`, the
/// shape both the metadata service and a credentials URI answer with. Never quotes the body.
pub(crate) fn parse_session_credentials(body: &str) -> Result<Credentials, String> {
    let value: Value = serde_json::from_str(body).map_err(|_| "the answer is not JSON")?;
    match value.get("Code").and_then(Value::as_str) {
        Some("Success") => {}
        Some(code) => return Err(format!("the answer's Code is {code:?}, not \"Success\"")),
        None => return Err("the answer has no Code".to_string()),
    }
    Credentials::from_session_json(&value, "the answer")
}

/// The ECS metadata service's base URL: `ACK_ECS_METADATA_ENDPOINT` or the fixed address. It
/// is plain `http://` by nature (a link-local service on the instance), so unlike the API
/// endpoints any host may be named; it must still be a base URL.
pub(crate) fn endpoint(env: &Env) -> Result<String, Error> {
    let Some(text) = env.get("ACK_ECS_METADATA_ENDPOINT") else {
        return Ok(DEFAULT_ENDPOINT.to_string());
    };
    match reqwest::Url::parse(text) {
        Ok(url)
            if matches!(url.scheme(), "http" | "https")
                && url.host_str().is_some()
                && url.query().is_none()
                && url.username().is_empty() =>
        {
            Ok(url.as_str().trim_end_matches('/').to_string())
        }
        _ => Err(Error::Usage(format!(
            "ACK_ECS_METADATA_ENDPOINT={text:?} is not a base URL such as http://100.100.100.200"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_credentials_need_success_and_every_field() {
        let ok = r#"{"Code":"Success","AccessKeyId":"STS.a","AccessKeySecret":"s","SecurityToken":"t","Expiration":"2026-01-01T00:00:00Z"}"#;
        assert_eq!(
            parse_session_credentials(ok).unwrap().access_key_id,
            "STS.a"
        );
        let failed = r#"{"Code":"Failed","AccessKeySecret":"TOPSECRET"}"#;
        assert!(
            parse_session_credentials(failed)
                .unwrap_err()
                .contains("Failed")
        );
        let partial = r#"{"Code":"Success","AccessKeyId":"STS.a","AccessKeySecret":"TOPSECRET"}"#;
        let error = parse_session_credentials(partial).unwrap_err();
        assert!(error.contains("SecurityToken") && !error.contains("TOPSECRET"));
        assert!(parse_session_credentials("nope").is_err());
    }
}
