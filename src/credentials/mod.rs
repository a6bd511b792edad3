//! Where the caller's Alibaba Cloud identity comes from.
//!
//! Two questions, kept apart because only one may touch the network:
//! - who is the caller ([`Provider::identity`]): answered from variables and files alone, so a
//!   cache hit finds its entry without any request and without running any command;
//! - what to sign with ([`Provider::credentials`]): only asked on a cache miss, and free to call
//!   STS, the ECS metadata service, a credentials URI or an external command.
//!
//! [`chain::discover`] picks the source, in the official SDKs' order.

pub(crate) mod chain;
pub(crate) mod cli_profile;
pub(crate) mod cloud_sso;
pub(crate) mod config_write;
pub(crate) mod context;
pub(crate) mod ecs;
pub(crate) mod env;
pub(crate) mod external;
pub(crate) mod identity;
pub(crate) mod ini;
pub(crate) mod oauth;
pub(crate) mod oidc;
pub(crate) mod role;
pub(crate) mod session;
pub(crate) mod static_key;
pub(crate) mod uri;

pub(crate) use identity::Identity;

use crate::aliyun::{Client, Credentials};
use crate::error::Error;

/// The longest answer a credential service (metadata service, credentials URI) may give: an
/// STS token is a few KiB at most. A longer one is refused while reading.
const MAX_ANSWER: usize = 64 << 10;

/// One source of credentials.
pub(crate) trait Provider {
    /// Who the caller is, for the cache keys: stable for the same identity, different for a
    /// different one, computed without network and never containing a secret.
    fn identity(&self) -> Identity;

    /// Where the credentials come from, for `-v` and messages.
    fn describe(&self) -> String;

    /// The credentials to sign with.
    fn credentials(&self, client: &Client) -> Result<Credentials, Error>;

    /// The region this source is configured for (an aliyun CLI profile's `region_id`).
    fn region(&self) -> Option<&str> {
        None
    }

    /// A call made with this source's credentials was refused (an expired or unknown key):
    /// drop the session credentials it kept ([`session`]), so that asking again gets new ones.
    /// True when something was dropped, that is when asking again can help.
    fn forget_session(&self) -> bool {
        false
    }

    /// The services this source calls for its credentials, as (what, base URL), for `doctor`
    /// to time: STS for a role, the metadata service for an ECS role. None for a static key.
    fn endpoints(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}
