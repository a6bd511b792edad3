//! A RAM role assumed with STS `AssumeRole`, signed by another source's credentials: aliyun CLI
//! `RamRoleArn` and `ChainableRamRoleArn` profiles, INI `ram_role_arn` sections, `--role-arn`.

use super::{Identity, Provider};
use crate::aliyun::Client;
use crate::aliyun::Credentials;
use crate::aliyun::error::refuses_credentials;
use crate::aliyun::sts::{self, RoleRequest};
use crate::error::Error;
use crate::log::verbose;

pub(crate) struct RoleProvider {
    pub(crate) source: Box<dyn Provider>,
    pub(crate) role: RoleRequest,
    pub(crate) sts_endpoint: String,
    /// Where the role was configured, e.g. "aliyun CLI profile `dev`", or `--role-arn`.
    pub(crate) origin: String,
}

impl Provider for RoleProvider {
    /// The role plus who assumed it: the same role reached from two identities may be granted
    /// differently (a policy, an external id), so they do not share a cache entry.
    fn identity(&self) -> Identity {
        Identity::role(&self.role, &self.source.identity())
    }

    fn describe(&self) -> String {
        format!(
            "RAM role {} ({}), assumed at {} for {} s with {}",
            self.role.role_arn,
            self.origin,
            self.sts_endpoint,
            self.role.duration_seconds,
            self.source.describe()
        )
    }

    /// `AssumeRole` with the source's credentials. When STS refuses them and they were kept
    /// from an earlier run, the source gets new ones and the call is made once more.
    fn credentials(&self, client: &Client) -> Result<Credentials, Error> {
        let source = self.source.credentials(client)?;
        match sts::assume_role(client, &self.sts_endpoint, &source, &self.role) {
            Err(error) if refuses_credentials(&error) && self.source.forget_session() => {
                verbose!("STS refused the kept session credentials; getting new ones");
                let source = self.source.credentials(client)?;
                sts::assume_role(client, &self.sts_endpoint, &source, &self.role)
            }
            result => result,
        }
    }

    fn region(&self) -> Option<&str> {
        self.source.region()
    }

    fn endpoints(&self) -> Vec<(&'static str, String)> {
        let mut endpoints = self.source.endpoints();
        endpoints.push(("sts", self.sts_endpoint.clone()));
        endpoints
    }
}

/// Check that a role ARN looks like one (`acs:ram::<account>:role/<name>`) before any request.
pub(crate) fn validate_role_arn(arn: &str) -> Result<(), String> {
    let rest = arn
        .strip_prefix("acs:ram::")
        .ok_or("it does not start with acs:ram::")?;
    let (account, role) = rest.split_once(":role/").ok_or("it has no :role/")?;
    if account.is_empty() || !account.bytes().all(|b| b.is_ascii_digit()) || role.is_empty() {
        return Err("expected acs:ram::<account id>:role/<role name>".to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_are_checked() {
        assert!(validate_role_arn("acs:ram::1234567890123456:role/ack-admin").is_ok());
        for bad in [
            "",
            "ack-admin",
            "acs:ram::x:role/r",
            "acs:ram::1:role/",
            "acs:ram::1:user/u",
        ] {
            assert!(validate_role_arn(bad).is_err(), "{bad}");
        }
    }
}
