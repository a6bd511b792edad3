//! Credentials from the environment: `ALIBABA_CLOUD_ACCESS_KEY_ID`,
//! `ALIBABA_CLOUD_ACCESS_KEY_SECRET` and, for STS keys, `ALIBABA_CLOUD_SECURITY_TOKEN`.

use super::{Credentials, Provider};
use crate::config::Env;
use crate::error::Error;
use crate::secret::Secret;

pub const ACCESS_KEY_ID: &str = "ALIBABA_CLOUD_ACCESS_KEY_ID";
pub const ACCESS_KEY_SECRET: &str = "ALIBABA_CLOUD_ACCESS_KEY_SECRET";
pub const SECURITY_TOKEN: &str = "ALIBABA_CLOUD_SECURITY_TOKEN";

pub struct EnvProvider {
    credentials: Credentials,
}

impl EnvProvider {
    /// `None` when the variables are not set; an error when only half of a pair is.
    pub fn from_env(env: &Env) -> Result<Option<Self>, Error> {
        match (env.get(ACCESS_KEY_ID), env.get(ACCESS_KEY_SECRET)) {
            (None, None) => Ok(None),
            (Some(id), Some(secret)) => Ok(Some(EnvProvider {
                credentials: Credentials {
                    access_key_id: id.trim().to_string(),
                    access_key_secret: Secret::new(secret.trim()),
                    security_token: env.get(SECURITY_TOKEN).map(|t| Secret::new(t.trim())),
                },
            })),
            (Some(_), None) => Err(Error::NoCredentials(format!(
                "{ACCESS_KEY_ID} is set but {ACCESS_KEY_SECRET} is not: set both"
            ))),
            (None, Some(_)) => Err(Error::NoCredentials(format!(
                "{ACCESS_KEY_SECRET} is set but {ACCESS_KEY_ID} is not: set both"
            ))),
        }
    }
}

impl Provider for EnvProvider {
    fn identity(&self) -> String {
        format!("access-key:{}", self.credentials.access_key_id)
    }

    fn describe(&self) -> String {
        let kind = if self.credentials.security_token.is_some() {
            "STS token"
        } else {
            "AccessKey"
        };
        format!(
            "{kind} {} from the environment ({ACCESS_KEY_ID})",
            self.credentials.access_key_id
        )
    }

    fn credentials(&self) -> Result<Credentials, Error> {
        Ok(self.credentials.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_key_pair_and_token() {
        let env = Env::from_pairs([
            (ACCESS_KEY_ID, "LTAIexample"),
            (ACCESS_KEY_SECRET, "s3cret"),
            (SECURITY_TOKEN, "tok"),
        ]);
        let provider = EnvProvider::from_env(&env).unwrap().unwrap();
        assert_eq!(provider.identity(), "access-key:LTAIexample");
        let credentials = provider.credentials().unwrap();
        assert_eq!(credentials.access_key_secret.expose(), "s3cret");
        assert_eq!(credentials.security_token.unwrap().expose(), "tok");
        assert!(!provider.describe().contains("s3cret"));
    }

    #[test]
    fn absent_is_none_and_half_a_pair_is_an_error() {
        assert!(
            EnvProvider::from_env(&Env::from_pairs([]))
                .unwrap()
                .is_none()
        );
        let half = Env::from_pairs([(ACCESS_KEY_ID, "LTAIexample")]);
        let error = EnvProvider::from_env(&half).err().unwrap().to_string();
        assert!(error.contains(ACCESS_KEY_SECRET), "{error}");
    }
}
