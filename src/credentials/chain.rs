//! The default credential chain: the first source that is configured wins.
//!
//! Sources are asked in the order of the official SDKs (see PRODUCT.md). Asking is local: a
//! source says whether it is configured from variables and files, never by calling out.

use super::Provider;
use super::env::{ACCESS_KEY_ID, ACCESS_KEY_SECRET, EnvProvider};
use crate::config::Env;
use crate::error::Error;

/// Find the credential source to use.
pub fn discover(env: &Env) -> Result<Box<dyn Provider>, Error> {
    if let Some(provider) = EnvProvider::from_env(env)? {
        return Ok(Box::new(provider));
    }
    Err(Error::NoCredentials(format!(
        "no Alibaba Cloud credentials found. Tried: the environment ({ACCESS_KEY_ID} and \
         {ACCESS_KEY_SECRET}, with ALIBABA_CLOUD_SECURITY_TOKEN for STS keys).\n\
         hint: export {ACCESS_KEY_ID} and {ACCESS_KEY_SECRET} for a RAM user allowed to call \
         cs:DescribeClusterUserKubeconfig"
    )))
}
