//! Flags plus environment, resolved and validated into the settings a command runs with.
//! Every environment variable the plugin reads is read through [`Env`].

mod access;
mod commands;
pub(crate) mod values;

use std::path::PathBuf;
use std::time::Duration;

use crate::aliyun::{adcp, cs, servicemesh};
use crate::cli::{GetCredentialArgs, TargetArgs};
use crate::env::Env;
use crate::error::Error;
use crate::exec_credential::ApiVersion;
use values::{parse_expiration, seconds, validate_id, validate_uid};

pub(crate) use access::{Access, AccessFlags};
use commands::api_version;
pub(crate) use commands::{
    ClustersConfig, Destination, DoctorConfig, KubeconfigConfig, MeshesConfig, Wanted,
    is_usable_name,
};

/// What a credential is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// An ACK cluster: the caller's own kubeconfig, or with `uid` a RAM user's.
    Cluster { id: String, uid: Option<String> },
    /// An ASM service mesh.
    Mesh { id: String },
    /// An ACK One fleet: the kubeconfig of its hub cluster.
    Fleet { id: String },
}

/// How each kind of target is spelled out, for people ([`Target::noun`], [`Target::flag`]) and
/// for the APIs ([`Target::action`]). When a kind is added, the compiler points at every other
/// match on a target (its API call, its endpoint); not at what reads a kind back without one:
/// the flags in `cli`, [`Target::FLAGS`], and `cache::Kind` (an entry's kind, told from the
/// action its key holds, and `cache clear`'s flags).
impl Target {
    /// Every flag that names a target, in the order of [`Target::flag`]'s arms.
    pub(crate) const FLAGS: [&str; 3] = ["--cluster-id", "--mesh-id", "--fleet-id"];

    /// What it is called in messages: `cluster`, `mesh`, `fleet`.
    pub(crate) fn noun(&self) -> &'static str {
        match self {
            Target::Cluster { .. } => "cluster",
            Target::Mesh { .. } => "mesh",
            Target::Fleet { .. } => "fleet",
        }
    }

    /// The flag that names it: `--cluster-id`, `--mesh-id`, `--fleet-id`.
    pub(crate) fn flag(&self) -> &'static str {
        match self {
            Target::Cluster { .. } => "--cluster-id",
            Target::Mesh { .. } => "--mesh-id",
            Target::Fleet { .. } => "--fleet-id",
        }
    }

    /// The API action that issues its credentials (a cache key holds it, so an entry's kind
    /// can be told from it).
    pub(crate) fn action(&self) -> &'static str {
        match self {
            Target::Cluster { uid, .. } => cs::action(uid.is_some()),
            Target::Mesh { .. } => servicemesh::ACTION,
            Target::Fleet { .. } => adcp::ACTION,
        }
    }

    pub(crate) fn id(&self) -> &str {
        match self {
            Target::Cluster { id, .. } | Target::Mesh { id } | Target::Fleet { id } => id,
        }
    }

    pub(crate) fn uid(&self) -> Option<&str> {
        match self {
            Target::Cluster { uid, .. } => uid.as_deref(),
            Target::Mesh { .. } | Target::Fleet { .. } => None,
        }
    }
}

/// What decides a credential and how to fetch it, validated: shared by `get-credential`,
/// `kubeconfig` and `doctor`. The target and the cache are its own; who calls the APIs and
/// where is [`Access`], as for the commands that have no target (`clusters`, `meshes`).
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) target: Target,
    pub(crate) private_ip: bool,
    /// `TemporaryDurationMinutes` (clusters; 0 for a mesh or a fleet, which have no such
    /// parameter).
    pub(crate) minutes: u32,
    pub(crate) cache_dir: PathBuf,
    /// Who calls the APIs and where: credentials, endpoints, region, proxies, the budget.
    pub(crate) access: Access,
    /// The most we wait for another process that is fetching the same credential.
    pub(crate) lock_timeout: Duration,
}

/// Everything `get-credential` needs.
#[derive(Debug)]
pub(crate) struct GetCredentialConfig {
    pub(crate) settings: Settings,
    pub(crate) api_version: Option<ApiVersion>,
    /// `KUBERNETES_EXEC_INFO`, as kubectl set it.
    pub(crate) exec_info: Option<String>,
    pub(crate) force_refresh: bool,
    /// Inside the refresh window, serve the cached certificate and refresh it in the background
    /// (unless `--no-background-refresh` or `ACK_BACKGROUND_REFRESH=0`).
    pub(crate) background_refresh: bool,
    /// This process is the detached refresher (`--refresh-in-background`).
    pub(crate) refresh_in_background: bool,
}

/// A waiter gives the lock holder its whole fetch budget and this much more (the holder's
/// start-up, the cache write) before fetching itself: a holder that is merely slow is waited
/// for, one that is stuck costs a bounded wait.
const LOCK_MARGIN: Duration = Duration::from_secs(10);
/// `--expiration` when not given.
const DEFAULT_EXPIRATION: &str = "3h";

impl GetCredentialConfig {
    pub(crate) fn resolve(args: &GetCredentialArgs, env: &Env) -> Result<Self, Error> {
        Ok(GetCredentialConfig {
            settings: Settings::resolve(&args.target, env)?,
            api_version: args.api_version.map(api_version),
            exec_info: env.get("KUBERNETES_EXEC_INFO").map(str::to_string),
            force_refresh: args.force_refresh,
            background_refresh: !args.target.no_background_refresh
                && switch(env, "ACK_BACKGROUND_REFRESH")?.unwrap_or(true),
            refresh_in_background: args.refresh_in_background,
        })
    }
}

/// The target the flags name, validated: `None` when they name none.
fn target(args: &TargetArgs) -> Result<Option<Target>, Error> {
    Ok(Some(
        match (&args.cluster_id, &args.mesh_id, &args.fleet_id) {
            (Some(id), None, None) => {
                validate_id("--cluster-id", id)?;
                if let Some(uid) = &args.uid {
                    validate_uid(uid)?;
                }
                Target::Cluster {
                    id: id.clone(),
                    uid: args.uid.clone(),
                }
            }
            (None, Some(id), None) => {
                validate_id("--mesh-id", id)?;
                Target::Mesh { id: id.clone() }
            }
            (None, None, Some(id)) => {
                validate_id("--fleet-id", id)?;
                Target::Fleet { id: id.clone() }
            }
            (None, None, None) => return Ok(None),
            _ => return Err(one_target()),
        },
    ))
}

fn one_target() -> Error {
    Error::Usage("give exactly one of --cluster-id, --mesh-id and --fleet-id".to_string())
}

impl Settings {
    pub(crate) fn resolve(args: &TargetArgs, env: &Env) -> Result<Self, Error> {
        let target = target(args)?.ok_or_else(one_target)?;
        Self::resolve_for(target, args, env)
    }

    fn resolve_for(target: Target, args: &TargetArgs, env: &Env) -> Result<Self, Error> {
        let minutes = match target {
            Target::Cluster { .. } => {
                parse_expiration(args.expiration.as_deref().unwrap_or(DEFAULT_EXPIRATION))?
            }
            Target::Mesh { .. } | Target::Fleet { .. } => 0,
        };
        let access = Access::resolve(AccessFlags::from(args), env)?;
        Ok(Settings {
            target,
            private_ip: args.private_ip,
            minutes,
            cache_dir: cache_dir(args.cache_dir.as_ref(), env)?,
            lock_timeout: seconds(env, "ACK_LOCK_TIMEOUT")?
                .unwrap_or(access.api_timeout + LOCK_MARGIN),
            access,
        })
    }

    /// The base URL of the API that issues this target's credentials: for a cluster the cs
    /// API, for a mesh the servicemesh API, for a fleet the adcp API of its region (see
    /// [`Access::cs_endpoint`] and the others for how each is picked).
    pub(crate) fn api_endpoint(&self, source_region: Option<&str>) -> Result<String, Error> {
        match self.target {
            Target::Cluster { .. } => self.access.cs_endpoint(source_region),
            Target::Mesh { .. } => Ok(self.access.asm_endpoint()),
            Target::Fleet { .. } => self.access.adcp_endpoint(source_region),
        }
    }
}

/// A variable that turns something on or off: `1`, `true`, `yes`, `on` or `0`, `false`, `no`,
/// `off` (any case); `None` when unset.
fn switch(env: &Env, name: &str) -> Result<Option<bool>, Error> {
    let Some(value) = env.get(name) else {
        return Ok(None);
    };
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(Some(true)),
        "0" | "false" | "no" | "off" => Ok(Some(false)),
        _ => Err(Error::Usage(format!(
            "{name}={value:?} is neither on (1) nor off (0)"
        ))),
    }
}

/// `--cache-dir`, else `ACK_CACHE_DIR`, else `${KUBECACHEDIR:-~/.kube/cache}/ack-credential-plugin`.
pub(crate) fn cache_dir(flag: Option<&PathBuf>, env: &Env) -> Result<PathBuf, Error> {
    if let Some(dir) = flag {
        return Ok(dir.clone());
    }
    if let Some(dir) = env.get("ACK_CACHE_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let base = match env.get("KUBECACHEDIR") {
        Some(dir) => PathBuf::from(dir),
        None => env
            .home()
            .ok_or_else(|| {
                Error::Usage(
                    "cannot find the home directory for the cache: set HOME, or use --cache-dir"
                        .to_string(),
                )
            })?
            .join(".kube")
            .join("cache"),
    };
    Ok(base.join("ack-credential-plugin"))
}

#[cfg(test)]
mod tests;
