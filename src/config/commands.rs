//! What each command other than `get-credential` runs with: `kubeconfig` (one target, one
//! found by name, or all), `clusters`, `meshes` and `doctor`, resolved from their flags.

use std::path::PathBuf;

use super::{Access, AccessFlags, Settings, Target, target};
use crate::cli::{
    ApiVersionArg, ClustersArgs, DoctorArgs, KubeconfigArgs, MeshesArgs, OutputFormat, TargetArgs,
};
use crate::env::Env;
use crate::error::Error;
use crate::exec_credential::ApiVersion;

/// Everything `clusters` needs.
#[derive(Debug)]
pub(crate) struct ClustersConfig {
    pub(crate) access: Access,
    /// `--region`: only the clusters there (the flag, not the environment's region, which only
    /// picks the endpoint).
    pub(crate) region: Option<String>,
    pub(crate) output: OutputFormat,
}

/// Everything `meshes` needs.
#[derive(Debug)]
pub(crate) struct MeshesConfig {
    pub(crate) access: Access,
    pub(crate) output: OutputFormat,
}

/// Which kubeconfig entries `kubeconfig` writes.
#[derive(Debug)]
pub(crate) enum Wanted {
    /// `--cluster-id`, `--mesh-id` or `--fleet-id`: one target known by id.
    One(Box<Settings>),
    /// `--cluster-name`: the one cluster of this name among those listed.
    Named { name: String, access: Access },
    /// `--all`: every running cluster listed.
    All { access: Access },
}

/// Everything `kubeconfig` needs.
#[derive(Debug)]
pub(crate) struct KubeconfigConfig {
    pub(crate) wanted: Wanted,
    /// The flags as given, to pass on to `get-credential` in the kubeconfig (and, for a cluster
    /// found by listing, to resolve its settings with).
    pub(crate) given: TargetArgs,
    /// `--region` as given: the clusters listed are those in it.
    pub(crate) region_filter: Option<String>,
    /// Name of the context, cluster and user entries.
    pub(crate) context: Option<String>,
    pub(crate) destination: Destination,
    pub(crate) set_current_context: bool,
    /// The ExecCredential version the kubeconfig's exec entry asks for (default v1).
    pub(crate) api_version: ApiVersion,
}

/// Where `kubeconfig` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Destination {
    Stdout,
    /// A file of its own, replacing whatever was there.
    File(PathBuf),
    /// Merged into the kubeconfig files kubectl reads, in its order: `--kubeconfig FILE`, else
    /// the `KUBECONFIG` list, else `~/.kube/config`.
    Merge(Vec<PathBuf>),
}

impl KubeconfigConfig {
    pub(crate) fn resolve(args: &KubeconfigArgs, env: &Env) -> Result<Self, Error> {
        let destination = match (&args.output, args.merge) {
            (Some(path), _) => Destination::File(path.clone()),
            (None, true) => Destination::Merge(match &args.kubeconfig {
                Some(path) => vec![path.clone()],
                None => kubeconfig_files(env)?,
            }),
            (None, false) => Destination::Stdout,
        };
        if let Some(name) = &args.context
            && !is_usable_name(name)
        {
            return Err(Error::Usage(format!(
                "--context {name:?} is not a usable name"
            )));
        }
        let wanted = match (&args.cluster_name, args.all) {
            (Some(name), _) => {
                if !is_usable_name(name) {
                    return Err(Error::Usage(format!(
                        "--cluster-name {name:?} is not a cluster name"
                    )));
                }
                Wanted::Named {
                    name: name.clone(),
                    access: Access::resolve_for_clusters(&args.target, env)?,
                }
            }
            (None, true) => {
                if destination == Destination::Stdout {
                    return Err(Error::Usage(
                        "--all writes one context per cluster: give --merge or --output FILE"
                            .to_string(),
                    ));
                }
                Wanted::All {
                    access: Access::resolve_for_clusters(&args.target, env)?,
                }
            }
            (None, false) => Wanted::One(Box::new(Settings::resolve(&args.target, env)?)),
        };
        Ok(KubeconfigConfig {
            wanted,
            given: args.target.clone(),
            region_filter: args.target.region.clone(),
            context: args.context.clone(),
            destination,
            set_current_context: args.set_current_context,
            api_version: args.api_version.map_or(ApiVersion::V1, api_version),
        })
    }
}

/// A name kubectl can show and select: not blank, no control characters.
pub(crate) fn is_usable_name(name: &str) -> bool {
    !name.trim().is_empty() && !name.contains(char::is_control)
}

impl ClustersConfig {
    pub(crate) fn resolve(args: &ClustersArgs, env: &Env) -> Result<Self, Error> {
        let flags = AccessFlags {
            profile: args.caller.profile.as_deref(),
            role_arn: args.caller.role_arn.as_deref(),
            region: args.region.as_deref(),
            cs_endpoint: args.cs_endpoint.as_deref(),
            sts_endpoint: args.caller.sts_endpoint.as_deref(),
            ..AccessFlags::default()
        };
        Ok(ClustersConfig {
            access: Access::resolve(flags, env)?,
            region: args.region.clone(),
            output: args.output,
        })
    }
}

impl MeshesConfig {
    pub(crate) fn resolve(args: &MeshesArgs, env: &Env) -> Result<Self, Error> {
        let flags = AccessFlags {
            profile: args.caller.profile.as_deref(),
            role_arn: args.caller.role_arn.as_deref(),
            asm_endpoint: args.asm_endpoint.as_deref(),
            sts_endpoint: args.caller.sts_endpoint.as_deref(),
            ..AccessFlags::default()
        };
        Ok(MeshesConfig {
            access: Access::resolve(flags, env)?,
            output: args.output,
        })
    }
}

/// Everything `doctor` needs.
#[derive(Debug)]
pub(crate) struct DoctorConfig {
    /// The target, if the flags name one: the target-specific checks need it.
    pub(crate) target: Option<Target>,
    /// The settings of the target; without one, those of a cluster whose id is not known
    /// (its `target` is not to be used): the credentials, endpoints and cache they name are
    /// what the checks without a target look at.
    pub(crate) settings: Settings,
    /// The kubeconfig files kubectl reads, in its order.
    pub(crate) kubeconfig_files: Vec<PathBuf>,
    pub(crate) output: OutputFormat,
}

impl DoctorConfig {
    pub(crate) fn resolve(args: &DoctorArgs, env: &Env) -> Result<Self, Error> {
        let target = target(&args.target)?;
        let unknown = Target::Cluster {
            id: String::new(),
            uid: None,
        };
        let settings = Settings::resolve_for(target.clone().unwrap_or(unknown), &args.target, env)?;
        Ok(DoctorConfig {
            target,
            settings,
            kubeconfig_files: kubeconfig_files(env).unwrap_or_default(),
            output: args.output,
        })
    }
}

pub(super) fn api_version(arg: ApiVersionArg) -> ApiVersion {
    match arg {
        ApiVersionArg::V1 => ApiVersion::V1,
        ApiVersionArg::V1beta1 => ApiVersion::V1beta1,
    }
}

/// The kubeconfig files kubectl reads, in its order: the `KUBECONFIG` list (empty entries and
/// repeats dropped, as client-go does), else `~/.kube/config`.
pub(super) fn kubeconfig_files(env: &Env) -> Result<Vec<PathBuf>, Error> {
    let mut files: Vec<PathBuf> = Vec::new();
    for path in std::env::split_paths(env.get("KUBECONFIG").unwrap_or_default()) {
        if !path.as_os_str().is_empty() && !files.contains(&path) {
            files.push(path);
        }
    }
    if files.is_empty() {
        let home = env
            .home()
            .ok_or_else(|| Error::Usage("cannot find the home directory: set HOME".to_string()))?;
        files.push(home.join(".kube").join("config"));
    }
    Ok(files)
}
