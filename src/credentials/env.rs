//! Step 1 of the chain: an AccessKey pair in the environment.
//!
//! `ALIBABA_CLOUD_ACCESS_KEY_ID`, `ALIBABA_CLOUD_ACCESS_KEY_SECRET` and, for STS keys,
//! `ALIBABA_CLOUD_SECURITY_TOKEN`, as the SDKs read them. The aliyun CLI also reads the
//! `ALIBABACLOUD_`, `ALICLOUD_` and bare (`ACCESS_KEY_ID`) spellings, in that order, and
//! Terraform `ALICLOUD_ACCESS_KEY`/`ALICLOUD_SECRET_KEY`: each is a fallback when the ones before
//! it are unset. A pair and its token are read from one spelling.

use super::static_key::StaticProvider;
use crate::env::Env;
use crate::error::Error;

pub(crate) const ACCESS_KEY_ID: &str = "ALIBABA_CLOUD_ACCESS_KEY_ID";
pub(crate) const ACCESS_KEY_SECRET: &str = "ALIBABA_CLOUD_ACCESS_KEY_SECRET";
pub(crate) const SECURITY_TOKEN: &str = "ALIBABA_CLOUD_SECURITY_TOKEN";

/// The variable names of one spelling: id, secret, token; in the order they are tried.
pub(crate) const SPELLINGS: [[&str; 3]; 5] = [
    [ACCESS_KEY_ID, ACCESS_KEY_SECRET, SECURITY_TOKEN],
    [
        "ALIBABACLOUD_ACCESS_KEY_ID",
        "ALIBABACLOUD_ACCESS_KEY_SECRET",
        "ALIBABACLOUD_SECURITY_TOKEN",
    ],
    [
        "ALICLOUD_ACCESS_KEY_ID",
        "ALICLOUD_ACCESS_KEY_SECRET",
        "ALICLOUD_SECURITY_TOKEN",
    ],
    [
        "ALICLOUD_ACCESS_KEY",
        "ALICLOUD_SECRET_KEY",
        "ALICLOUD_SECURITY_TOKEN",
    ],
    ["ACCESS_KEY_ID", "ACCESS_KEY_SECRET", "SECURITY_TOKEN"],
];

/// The bare spelling: names so generic that half of a pair is taken for another tool's, not
/// reported as a mistake.
const GENERIC: &str = "ACCESS_KEY_ID";

/// `None` when no pair is set; an error when only half of a named one is.
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
            _ if id_var == GENERIC => {}
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
    use crate::credentials::{Identity, Provider};

    #[test]
    fn reads_a_key_pair_and_token() {
        let env = Env::from_pairs([
            (ACCESS_KEY_ID, "LTAIexample"),
            (ACCESS_KEY_SECRET, "s3cret"),
            (SECURITY_TOKEN, "tok"),
        ]);
        let provider = from_env(&env).unwrap().unwrap();
        assert_eq!(provider.identity(), Identity::access_key("LTAIexample"));
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
            Identity::access_key("LTAIold")
        );
        let both = Env::from_pairs([
            ("ALICLOUD_ACCESS_KEY", "LTAIold"),
            ("ALICLOUD_SECRET_KEY", "s"),
            (ACCESS_KEY_ID, "LTAInew"),
            (ACCESS_KEY_SECRET, "s"),
        ]);
        assert_eq!(
            from_env(&both).unwrap().unwrap().identity(),
            Identity::access_key("LTAInew")
        );
    }

    #[test]
    fn every_spelling_is_read_in_the_cli_order_with_its_own_token() {
        let id = |pairs: &[(&str, &str)]| {
            from_env(&Env::from_pairs(pairs.iter().copied()))
                .unwrap()
                .map(|p| (p.identity(), p.describe()))
        };
        for [id_var, secret_var, token_var] in SPELLINGS {
            let (identity, describe) =
                id(&[(id_var, "LTAIx"), (secret_var, "s"), (token_var, "t")])
                    .unwrap_or_else(|| panic!("{id_var}"));
            assert_eq!(identity, Identity::access_key("LTAIx"), "{id_var}");
            assert!(describe.starts_with("STS token LTAIx"), "{describe}");
        }
        // An earlier spelling wins over a later one.
        for pair in SPELLINGS.windows(2) {
            let [first, second] = [pair[0], pair[1]];
            let (identity, _) = id(&[
                (second[0], "LTAIlater"),
                (second[1], "s"),
                (first[0], "LTAIearlier"),
                (first[1], "s"),
            ])
            .unwrap();
            assert_eq!(identity, Identity::access_key("LTAIearlier"), "{first:?}");
        }
        // Another spelling's token does not join a pair.
        let (_, describe) = id(&[
            (ACCESS_KEY_ID, "LTAIx"),
            (ACCESS_KEY_SECRET, "s"),
            ("ALIBABACLOUD_SECURITY_TOKEN", "t"),
        ])
        .unwrap();
        assert!(describe.starts_with("AccessKey LTAIx"), "{describe}");
        // Half of the bare pair belongs to some other tool.
        assert!(id(&[("ACCESS_KEY_ID", "x")]).is_none());
        let half = Env::from_pairs([("ALIBABACLOUD_ACCESS_KEY_SECRET", "s")]);
        assert_eq!(
            from_env(&half).err().unwrap().to_string(),
            "ALIBABACLOUD_ACCESS_KEY_SECRET is set but ALIBABACLOUD_ACCESS_KEY_ID is not: set both"
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
