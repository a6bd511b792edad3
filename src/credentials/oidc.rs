//! A RAM role assumed with an OIDC token (STS `AssumeRoleWithOIDC`): RRSA in ACK pods, CI
//! systems with OIDC federation.
//!
//! The token file is read afresh on every fetch: kubelet rotates a projected service account
//! token in place, so an old copy would be refused.

use std::path::PathBuf;

use super::{Identity, Provider};
use crate::aliyun::Client;
use crate::aliyun::Credentials;
use crate::aliyun::sts::{self, RoleRequest};
use crate::env::Env;
use crate::error::Error;
use crate::secret::Secret;

pub(crate) const ROLE_ARN: &str = "ALIBABA_CLOUD_ROLE_ARN";
pub(crate) const PROVIDER_ARN: &str = "ALIBABA_CLOUD_OIDC_PROVIDER_ARN";
pub(crate) const TOKEN_FILE: &str = "ALIBABA_CLOUD_OIDC_TOKEN_FILE";
pub(crate) const SESSION_NAME: &str = "ALIBABA_CLOUD_ROLE_SESSION_NAME";

pub(crate) struct OidcProvider {
    pub(crate) role: RoleRequest,
    pub(crate) provider_arn: String,
    pub(crate) token_file: PathBuf,
    pub(crate) sts_endpoint: String,
    /// Where it was configured, e.g. "the environment (RRSA)".
    pub(crate) origin: String,
    pub(crate) region: Option<String>,
}

/// Step 2 of the chain: RRSA from the environment. `None` unless all three variables are set.
/// Each may also be spelt `ALIBABACLOUD_...`, as the aliyun CLI reads them (a fallback here).
pub(crate) fn from_env(env: &Env, sts_endpoint: &str) -> Result<Option<OidcProvider>, Error> {
    let vars = [ROLE_ARN, PROVIDER_ARN, TOKEN_FILE].map(|name| {
        env.get(name).or_else(|| {
            name.strip_prefix("ALIBABA_CLOUD_")
                .and_then(|rest| env.get(&format!("ALIBABACLOUD_{rest}")))
        })
    });
    match vars {
        // ALIBABA_CLOUD_ROLE_ARN alone is also read by other tools: only an incomplete set
        // that includes the OIDC variables is a mistake.
        [None | Some(_), None, None] => Ok(None),
        [Some(role_arn), Some(provider_arn), Some(token_file)] => {
            let role = RoleRequest::new(role_arn).with(env.get(SESSION_NAME), None);
            Ok(Some(OidcProvider {
                role,
                provider_arn: provider_arn.to_string(),
                token_file: PathBuf::from(token_file),
                sts_endpoint: sts_endpoint.to_string(),
                origin: "the environment (RRSA)".to_string(),
                region: None,
            }))
        }
        _ => Err(Error::NoCredentials(format!(
            "RRSA needs {ROLE_ARN}, {PROVIDER_ARN} and {TOKEN_FILE} together; only some are set"
        ))),
    }
}

impl Provider for OidcProvider {
    fn identity(&self) -> Identity {
        Identity::oidc(&self.role, &self.provider_arn)
    }

    fn describe(&self) -> String {
        format!(
            "RAM role {} through OIDC provider {} with the token in {} ({}), assumed at {} for {} s",
            self.role.role_arn,
            self.provider_arn,
            self.token_file.display(),
            self.origin,
            self.sts_endpoint,
            self.role.duration_seconds
        )
    }

    fn credentials(&self, client: &Client) -> Result<Credentials, Error> {
        let token = std::fs::read_to_string(&self.token_file).map_err(|e| {
            Error::NoCredentials(format!(
                "cannot read the OIDC token file {}: {e}",
                self.token_file.display()
            ))
        })?;
        let token = Secret::new(token.trim());
        sts::assume_role_with_oidc(
            client,
            &self.sts_endpoint,
            &self.provider_arn,
            &token,
            &self.role,
        )
    }

    fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    fn endpoints(&self) -> Vec<(&'static str, String)> {
        vec![("sts", self.sts_endpoint.clone())]
    }
}
