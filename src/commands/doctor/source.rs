//! `credentials` (which source the chain finds, and why it passed over the ones before it) and
//! `identity` (whose the credentials are: STS `GetCallerIdentity`).

use super::{Check, Status};
use crate::aliyun::Credentials;
use crate::aliyun::sts::{self, ProfileSts};
use crate::config::Settings;
use crate::credentials::Provider;
use crate::credentials::chain::Explained;
use crate::error::Error;

pub(super) fn credentials(found: &Result<Explained, Error>) -> Check {
    match found {
        Ok(found) => {
            let mut detail = found.provider.describe();
            for skipped in &found.skipped {
                detail.push_str("\nskipped ");
                detail.push_str(skipped);
            }
            Check::new("credentials", Status::Ok, detail)
        }
        Err(error) => Check::from_error("credentials", Status::Fail, error),
    }
}

/// Ask the source for credentials and STS whose they are. The credentials come back for the
/// later checks (the in-memory fetch), when they work.
pub(super) fn identity(
    provider: Option<&dyn Provider>,
    settings: &Settings,
) -> (Check, Option<Credentials>) {
    let Some(provider) = provider else {
        return (
            Check::new(
                "identity",
                Status::Skip,
                "no credentials to ask with (see credentials)",
            ),
            None,
        );
    };
    let client = super::client(settings);
    let credentials = match provider.credentials(&client) {
        Ok(credentials) => credentials,
        Err(error) => {
            let error = error.with_source(provider.describe());
            return (Check::from_error("identity", Status::Fail, &error), None);
        }
    };
    let endpoint = match settings.access.sts.resolve(ProfileSts::default()) {
        Ok(endpoint) => endpoint,
        Err(error) => return (Check::from_error("identity", Status::Fail, &error), None),
    };
    match sts::get_caller_identity(&client, &endpoint, &credentials) {
        Ok(caller) => {
            let detail = format!(
                "{} {} in account {} (AccessKey {})",
                caller.identity_type, caller.arn, caller.account_id, credentials.access_key_id
            );
            (
                Check::new("identity", Status::Ok, detail),
                Some(credentials),
            )
        }
        Err(error) => (Check::from_error("identity", Status::Fail, &error), None),
    }
}
