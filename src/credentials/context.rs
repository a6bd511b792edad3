//! What every credential source is given and may need: its surroundings ([`Context`]), the
//! answer a step of the chain gives ([`Step`]), and the rules that hold for all sources. The
//! sources depend on this, and the chain on the sources, never the other way round.

use std::path::PathBuf;

use super::Provider;
use super::session::SessionStore;
use crate::aliyun::sts::StsEndpoint;
use crate::env::Env;
use crate::error::Error;

/// The aliyun CLI's switch (`1` or `true`) against running `process_command`s and fetching
/// credentials URIs.
const DISABLE_EXTERNAL_VAR: &str = "ALIBABA_CLOUD_DISABLE_EXTERNAL_PROCESS";

pub(crate) const NO_CREDENTIALS_HINT: &str = "hint: export ALIBABA_CLOUD_ACCESS_KEY_ID and \
    ALIBABA_CLOUD_ACCESS_KEY_SECRET, run `aliyun configure`, or use --profile; the identity \
    needs cs:DescribeClusterUserKubeconfig on the cluster";

/// Where Linux shows the firmware's DMI strings.
pub(crate) const DMI_DIR: &str = "/sys/class/dmi/id";

/// What the sources need to know about their surroundings.
pub(crate) struct Context<'a> {
    pub(crate) env: &'a Env,
    pub(crate) home: Option<PathBuf>,
    pub(crate) sts: &'a StsEndpoint,
    /// The ECS metadata service's base URL.
    pub(crate) ecs_endpoint: String,
    pub(crate) imds_v1_disabled: bool,
    /// Where the firmware's DMI strings are ([`DMI_DIR`]; a test points it elsewhere).
    pub(crate) dmi_dir: PathBuf,
    /// Where STS sessions are kept between runs; `None` keeps none.
    pub(crate) session: Option<SessionStore>,
}

/// One step of the chain: a source to use, or why this step has none.
pub(crate) enum Step {
    Use(Box<dyn Provider>),
    Skip(String),
}

/// `ALIBABA_CLOUD_DISABLE_EXTERNAL_PROCESS=1|true` forbids running a `process_command` and
/// fetching a credentials URI, as in the aliyun CLI: an error naming the source that asked.
pub(crate) fn check_external_allowed(ctx: &Context, origin: &str) -> Result<(), Error> {
    match ctx.env.get(DISABLE_EXTERNAL_VAR) {
        Some(value) if value == "1" || value.eq_ignore_ascii_case("true") => {
            Err(Error::NoCredentials(format!(
                "{origin} would run a command or fetch a credentials URI, which \
                 {DISABLE_EXTERNAL_VAR}={value} forbids"
            )))
        }
        _ => Ok(()),
    }
}
