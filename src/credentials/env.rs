//! Step 1 of the chain: an AccessKey pair in the environment.
//!
//! `ALIBABA_CLOUD_ACCESS_KEY_ID`, `ALIBABA_CLOUD_ACCESS_KEY_SECRET` and, for STS keys,
//! `ALIBABA_CLOUD_SECURITY_TOKEN`; older tools (Terraform) use `ALICLOUD_ACCESS_KEY`,
//! `ALICLOUD_SECRET_KEY` and `ALICLOUD_SECURITY_TOKEN`, accepted when the first are unset.

use super::static_key::StaticProvider;
use crate::env::Env;
use crate::error::Error;

pub(crate) const ACCESS_KEY_ID: &str = "ALIBABA_CLOUD_ACCESS_KEY_ID";
pub(crate) const ACCESS_KEY_SECRET: &str = "ALIBABA_CLOUD_ACCESS_KEY_SECRET";
pub(crate) const SECURITY_TOKEN: &str = "ALIBABA_CLOUD_SECURITY_TOKEN";

/// The variable names of one spelling: id, secret, token.
const SPELLINGS: [[&str; 3]; 2] = [
    [ACCESS_KEY_ID, ACCESS_KEY_SECRET, SECURITY_TOKEN],
    [
        "ALICLOUD_ACCESS_KEY",
        "ALICLOUD_SECRET_KEY",
        "ALICLOUD_SECURITY_TOKEN",
    ],
];

/// `None` when no pair is set; an error when only half of one is.
pub(crate) fn from_env(env: &Env) -> Result<Option<StaticProvider>, Error> {
    for [id_var, secret_var, token_var] in SPELLINGS {
        match (env.get(id_var), env.get(secret_var)) {
            (None, None) => {}
            (Some(id), Some(secret)) => {
                return Ok(Some(StaticProvider::new(
                    id,
                    secret,
                    env.get(token_var),
                    format!("the environment ({id_var})"),
                )));
            }
            (Some(_), None) => {
                return Err(Error::NoCredentials(format!(
                    "{id_var} is set but {secret_var} is not: set both"
                )));
            }
            (None, Some(_)) => {
                return Err(Error::NoCredentials(format!(
                    "{secret_var} is set but {id_var} is not: set both"
                )));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Provider;

    #[test]
    fn reads_a_key_pair_and_token() {
        let env = Env::from_pairs([
            (ACCESS_KEY_ID, "LTAIexample"),
            (ACCESS_KEY_SECRET, "s3cret"),
            (SECURITY_TOKEN, "tok"),
        ]);
        let provider = from_env(&env).unwrap().unwrap();
        assert_eq!(provider.identity(), "access-key:LTAIexample");
        assert!(!provider.describe().contains("s3cret"));
        assert!(provider.describe().contains("STS token"));
    }

    #[test]
    fn alicloud_spelling_is_a_fallback() {
        let env = Env::from_pairs([
            ("ALICLOUD_ACCESS_KEY", "LTAIold"),
            ("ALICLOUD_SECRET_KEY", "s"),
        ]);
        assert_eq!(
            from_env(&env).unwrap().unwrap().identity(),
            "access-key:LTAIold"
        );
        let both = Env::from_pairs([
            ("ALICLOUD_ACCESS_KEY", "LTAIold"),
            ("ALICLOUD_SECRET_KEY", "s"),
            (ACCESS_KEY_ID, "LTAInew"),
            (ACCESS_KEY_SECRET, "s"),
        ]);
        assert_eq!(
            from_env(&both).unwrap().unwrap().identity(),
            "access-key:LTAInew"
        );
    }

    #[test]
    fn absent_is_none_and_half_a_pair_is_an_error() {
        assert!(from_env(&Env::from_pairs([])).unwrap().is_none());
        let half = Env::from_pairs([(ACCESS_KEY_ID, "LTAIexample")]);
        let error = from_env(&half).err().unwrap().to_string();
        assert!(error.contains(ACCESS_KEY_SECRET), "{error}");
    }
}
