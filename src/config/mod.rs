//! Flags plus environment, resolved and validated into the settings a command runs with.
//! Every environment variable the plugin reads is read through [`Env`].

pub(crate) mod values;

use std::path::PathBuf;
use std::time::Duration;

use crate::aliyun::client::ClientOptions;
use crate::aliyun::endpoint;
use crate::aliyun::sts::{self, StsEndpoint};
use crate::aliyun::{adcp, cs, servicemesh};
use crate::cli::{
    ApiVersionArg, ClustersArgs, DoctorArgs, GetCredentialArgs, KubeconfigArgs, MeshesArgs,
    OutputFormat, TargetArgs,
};
use crate::env::Env;
use crate::error::Error;
use crate::exec_credential::ApiVersion;
use crate::log::verbose;
use values::{parse_expiration, seconds, validate_id, validate_uid};

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

impl Target {
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

/// What decides a credential and how to fetch it, validated: shared by `get-credential` and
/// `kubeconfig`.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) target: Target,
    pub(crate) private_ip: bool,
    /// `TemporaryDurationMinutes` (clusters; 0 for a mesh or a fleet, which have no such
    /// parameter).
    pub(crate) minutes: u32,
    pub(crate) cache_dir: PathBuf,
    /// `--cs-endpoint` or `ACK_CS_ENDPOINT`, validated, without a trailing slash.
    pub(crate) cs_endpoint: Option<String>,
    /// `--asm-endpoint` or `ACK_ASM_ENDPOINT`, validated.
    pub(crate) asm_endpoint: Option<String>,
    /// `--adcp-endpoint` or `ACK_ADCP_ENDPOINT`, validated.
    pub(crate) adcp_endpoint: Option<String>,
    /// `--region`, else the first of [`REGION_VARS`] that is set.
    pub(crate) region: Option<String>,
    /// The first of [`FALLBACK_REGION_VARS`]: used when neither the above nor the credential
    /// source's profile names a region.
    pub(crate) fallback_region: Option<String>,
    /// `ALIBABA_CLOUD_ENDPOINT_TYPE` (or another spelling) is `vpc`: the VPC endpoints.
    pub(crate) vpc_endpoints: bool,
    /// `--profile`.
    pub(crate) profile: Option<String>,
    /// `--role-arn`, validated.
    pub(crate) role_arn: Option<String>,
    pub(crate) sts: StsEndpoint,
    /// Proxies, TLS roots and the signature scheme, as the environment says.
    pub(crate) client: ClientOptions,
    /// The ECS metadata service's base URL.
    pub(crate) ecs_endpoint: String,
    pub(crate) imds_v1_disabled: bool,
    /// The most one fetch may take, every API call and retry included.
    pub(crate) api_timeout: Duration,
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

/// Who calls the APIs and where, without a target: what the list commands need, and what
/// `kubeconfig --cluster-name` and `--all` list with before they have a cluster. Resolved and
/// validated as [`Settings`] resolves the same flags and variables.
#[derive(Debug)]
pub(crate) struct Access {
    /// `--cs-endpoint` or `ACK_CS_ENDPOINT`, validated.
    pub(crate) cs_endpoint: Option<String>,
    /// `--asm-endpoint` or `ACK_ASM_ENDPOINT`, validated.
    pub(crate) asm_endpoint: Option<String>,
    /// `--adcp-endpoint` or `ACK_ADCP_ENDPOINT`, validated.
    pub(crate) adcp_endpoint: Option<String>,
    /// `--region`, else the first of [`REGION_VARS`] that is set.
    pub(crate) region: Option<String>,
    /// The first of [`FALLBACK_REGION_VARS`]: when nothing else names a region.
    pub(crate) fallback_region: Option<String>,
    /// `ALIBABA_CLOUD_ENDPOINT_TYPE` (or another spelling) is `vpc`.
    pub(crate) vpc_endpoints: bool,
    pub(crate) profile: Option<String>,
    pub(crate) role_arn: Option<String>,
    pub(crate) sts: StsEndpoint,
    pub(crate) client: ClientOptions,
    pub(crate) ecs_endpoint: String,
    pub(crate) imds_v1_disabled: bool,
    /// The most one command's API calls may take, every retry included.
    pub(crate) api_timeout: Duration,
}

/// The flags [`Access`] is resolved from, as given (`None`: not given).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AccessFlags<'a> {
    pub(crate) profile: Option<&'a str>,
    pub(crate) role_arn: Option<&'a str>,
    pub(crate) region: Option<&'a str>,
    pub(crate) cs_endpoint: Option<&'a str>,
    pub(crate) asm_endpoint: Option<&'a str>,
    pub(crate) adcp_endpoint: Option<&'a str>,
    pub(crate) sts_endpoint: Option<&'a str>,
}

impl<'a> From<&'a TargetArgs> for AccessFlags<'a> {
    fn from(args: &'a TargetArgs) -> Self {
        AccessFlags {
            profile: args.profile.as_deref(),
            role_arn: args.role_arn.as_deref(),
            region: args.region.as_deref(),
            cs_endpoint: args.cs_endpoint.as_deref(),
            asm_endpoint: args.asm_endpoint.as_deref(),
            adcp_endpoint: args.adcp_endpoint.as_deref(),
            sts_endpoint: args.sts_endpoint.as_deref(),
        }
    }
}

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

const DEFAULT_API_TIMEOUT: Duration = Duration::from_secs(30);
/// A waiter gives the lock holder its whole fetch budget and this much more (the holder's
/// start-up, the cache write) before fetching itself: a holder that is merely slow is waited
/// for, one that is stuck costs a bounded wait.
const LOCK_MARGIN: Duration = Duration::from_secs(10);
const DEFAULT_EXPIRATION: &str = "3h";

/// The variables that name a region, in the aliyun CLI's order, with Terraform's
/// `ALICLOUD_REGION` after them: each beats a credential profile's `region_id`.
pub(crate) const REGION_VARS: [&str; 4] = [
    "ALIBABA_CLOUD_REGION_ID",
    "ALIBABACLOUD_REGION_ID",
    "ALICLOUD_REGION_ID",
    "ALICLOUD_REGION",
];
/// The aliyun CLI's generic names for a region: too generic to beat a profile's `region_id`
/// (as in the CLI, where every variable only fills in a profile's empty region).
pub(crate) const FALLBACK_REGION_VARS: [&str; 2] = ["REGION_ID", "REGION"];
/// The aliyun CLI's variables for the endpoint type (`vpc`), in its order.
pub(crate) const ENDPOINT_TYPE_VARS: [&str; 4] = [
    "ALIBABA_CLOUD_ENDPOINT_TYPE",
    "ALIBABACLOUD_ENDPOINT_TYPE",
    "ALICLOUD_ENDPOINT_TYPE",
    "ENDPOINT_TYPE",
];
/// The SDKs' and the aliyun CLI's name for the STS endpoint (a host, or here also a URL).
pub(crate) const STS_ENDPOINT_VAR: &str = "ALIBABA_CLOUD_STS_ENDPOINT";

/// A variable that is `true` in any case.
fn is_true(env: &Env, name: &str) -> bool {
    env.get(name)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

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

impl Access {
    /// Resolve and validate the flags and the variables behind them.
    pub(crate) fn resolve(flags: AccessFlags, env: &Env) -> Result<Self, Error> {
        let region = flags.region.map(|r| ("--region", r)).or_else(|| {
            REGION_VARS
                .iter()
                .find_map(|var| env.get(var).map(|r| (*var, r)))
        });
        if let Some((source, region)) = region {
            endpoint::validate_region(region)
                .map_err(|why| Error::Usage(format!("{source}: {why}")))?;
        }
        let region = region.map(|(_, region)| region);
        // `REGION` and `REGION_ID` are common names other tools set for their own ends (AWS's
        // tooling, say): one that is not a region id is passed over, not an error on every
        // kubectl call.
        let fallback_region = FALLBACK_REGION_VARS.iter().find_map(|var| {
            let value = env.get(var)?;
            if endpoint::validate_region(value).is_ok() {
                Some(value)
            } else {
                verbose!("ignoring {var}={value:?}: not a region id");
                None
            }
        });
        let vpc_endpoints = ENDPOINT_TYPE_VARS
            .iter()
            .find_map(|var| env.get(var))
            .is_some_and(|t| t.eq_ignore_ascii_case("vpc"));
        let endpoint = |flag: Option<&str>, var: &str| {
            flag.or_else(|| env.get(var))
                .map(|url| endpoint::validate(url).map_err(Error::Usage))
                .transpose()
        };
        if let Some(arn) = flags.role_arn {
            crate::credentials::role::validate_role_arn(arn).map_err(|why| {
                Error::Usage(format!("--role-arn {arn:?} is not a role ARN: {why}"))
            })?;
        }
        let api_timeout = seconds(env, "ACK_API_TIMEOUT")?.unwrap_or(DEFAULT_API_TIMEOUT);
        let sts_region = env.get("ALIBABA_CLOUD_STS_REGION");
        if let Some(region) = sts_region {
            endpoint::validate_region(region).map_err(Error::Usage)?;
        }
        Ok(Access {
            cs_endpoint: endpoint(flags.cs_endpoint, "ACK_CS_ENDPOINT")?,
            asm_endpoint: endpoint(flags.asm_endpoint, "ACK_ASM_ENDPOINT")?,
            adcp_endpoint: endpoint(flags.adcp_endpoint, "ACK_ADCP_ENDPOINT")?,
            region: region.map(str::to_string),
            fallback_region: fallback_region.map(str::to_string),
            vpc_endpoints,
            profile: flags.profile.map(str::to_string),
            role_arn: flags.role_arn.map(str::to_string),
            sts: StsEndpoint {
                explicit: match endpoint(flags.sts_endpoint, "ACK_STS_ENDPOINT")? {
                    Some(url) => Some(url),
                    None => env
                        .get(STS_ENDPOINT_VAR)
                        .map(|text| {
                            sts::host_or_url(text)
                                .map_err(|why| Error::Usage(format!("{STS_ENDPOINT_VAR}: {why}")))
                        })
                        .transpose()?,
                },
                region: sts_region.map(str::to_string),
                vpc: is_true(env, "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED") || vpc_endpoints,
            },
            client: ClientOptions::from_env(env)?,
            ecs_endpoint: crate::credentials::ecs::endpoint(env)?,
            // The Java SDK's older switch for IMDSv2 means the same: no reads without a token.
            imds_v1_disabled: is_true(env, crate::credentials::ecs::IMDS_V1_DISABLED_VAR)
                || is_true(env, "ALIBABA_CLOUD_ECS_IMDSV2_ENABLE"),
            api_timeout,
        })
    }

    /// For `kubeconfig --cluster-name` and `--all`: what the cluster flags say, checked as
    /// far as they can be before a cluster is known (the lifetime too).
    fn resolve_for_clusters(args: &TargetArgs, env: &Env) -> Result<Self, Error> {
        parse_expiration(args.expiration.as_deref().unwrap_or(DEFAULT_EXPIRATION))?;
        Self::resolve(AccessFlags::from(args), env)
    }

    /// The cs base URL: the explicit endpoint, else the region's (from the flag, the
    /// environment or, failing both, the credential source's profile), else the central one.
    pub(crate) fn cs_endpoint(&self, source_region: Option<&str>) -> Result<String, Error> {
        cs_endpoint(
            self.cs_endpoint.as_deref(),
            self.region
                .as_deref()
                .or(source_region)
                .or(self.fallback_region.as_deref()),
            self.vpc_endpoints,
        )
    }

    /// The servicemesh base URL.
    pub(crate) fn asm_endpoint(&self) -> String {
        self.asm_endpoint
            .clone()
            .unwrap_or_else(|| servicemesh::DEFAULT_ENDPOINT.to_string())
    }
}

fn cs_endpoint(explicit: Option<&str>, region: Option<&str>, vpc: bool) -> Result<String, Error> {
    match explicit {
        Some(endpoint) => Ok(endpoint.to_string()),
        None => cs::endpoint(region, vpc),
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

fn api_version(arg: ApiVersionArg) -> ApiVersion {
    match arg {
        ApiVersionArg::V1 => ApiVersion::V1,
        ApiVersionArg::V1beta1 => ApiVersion::V1beta1,
    }
}

/// The kubeconfig files kubectl reads, in its order: the `KUBECONFIG` list (empty entries and
/// repeats dropped, as client-go does), else `~/.kube/config`.
fn kubeconfig_files(env: &Env) -> Result<Vec<PathBuf>, Error> {
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
            cs_endpoint: access.cs_endpoint,
            asm_endpoint: access.asm_endpoint,
            adcp_endpoint: access.adcp_endpoint,
            region: access.region,
            fallback_region: access.fallback_region,
            vpc_endpoints: access.vpc_endpoints,
            profile: access.profile,
            role_arn: access.role_arn,
            sts: access.sts,
            client: access.client,
            ecs_endpoint: access.ecs_endpoint,
            imds_v1_disabled: access.imds_v1_disabled,
            api_timeout: access.api_timeout,
            lock_timeout: seconds(env, "ACK_LOCK_TIMEOUT")?
                .unwrap_or(access.api_timeout + LOCK_MARGIN),
        })
    }

    /// The base URL of the API that issues this target's credentials: for a cluster the cs
    /// API (the explicit endpoint, else the region's — from the flag, the environment or,
    /// failing both, the credential source's profile — else the central one); for a mesh the
    /// servicemesh API; for a fleet the adcp API of its region (there is no central one).
    pub(crate) fn api_endpoint(&self, source_region: Option<&str>) -> Result<String, Error> {
        let region = self
            .region
            .as_deref()
            .or(source_region)
            .or(self.fallback_region.as_deref());
        match self.target {
            Target::Mesh { .. } => Ok(self
                .asm_endpoint
                .clone()
                .unwrap_or_else(|| servicemesh::DEFAULT_ENDPOINT.to_string())),
            Target::Cluster { .. } => {
                cs_endpoint(self.cs_endpoint.as_deref(), region, self.vpc_endpoints)
            }
            Target::Fleet { .. } => match &self.adcp_endpoint {
                Some(endpoint) => Ok(endpoint.clone()),
                None => adcp::endpoint(region),
            },
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
mod tests {
    use super::*;

    #[test]
    fn metadata_endpoint_must_be_a_base_url() {
        let with = |value: &str| {
            let env = Env::from_pairs([("HOME", "/h"), ("ACK_ECS_METADATA_ENDPOINT", value)]);
            Settings::resolve(&args(&[]), &env).map(|s| s.ecs_endpoint)
        };
        assert_eq!(with("http://127.0.0.1:9/").unwrap(), "http://127.0.0.1:9");
        assert_eq!(
            with("http://100.100.100.200").unwrap(),
            "http://100.100.100.200"
        );
        for bad in ["100.100.100.200", "ftp://x", "http://x/?q=1", "http://u@x"] {
            assert_eq!(with(bad).unwrap_err().exit_code(), 2, "{bad}");
        }
        let default = Settings::resolve(&args(&[]), &Env::from_pairs([("HOME", "/h")])).unwrap();
        assert_eq!(default.ecs_endpoint, "http://100.100.100.200");
    }

    /// A generic `REGION` that is no region id (another tool's) is passed over; the plugin's
    /// own region variables and `--region` are errors that name where the value came from.
    #[test]
    fn region_values_are_checked_where_they_count() {
        let env = Env::from_pairs([("HOME", "/h"), ("REGION", "EU"), ("REGION_ID", "us-east-1")]);
        let resolved = Settings::resolve(&args(&[]), &env).unwrap();
        assert_eq!(resolved.fallback_region.as_deref(), Some("us-east-1"));
        let env = Env::from_pairs([("HOME", "/h"), ("REGION", "EU")]);
        assert_eq!(
            Settings::resolve(&args(&[]), &env).unwrap().fallback_region,
            None
        );
        let env = Env::from_pairs([("HOME", "/h"), ("ALIBABA_CLOUD_REGION_ID", "EU")]);
        let error = Settings::resolve(&args(&[]), &env).unwrap_err().to_string();
        assert_eq!(
            error,
            "ALIBABA_CLOUD_REGION_ID: region \"EU\" is not a valid region id (e.g. cn-hangzhou)"
        );
        let env = Env::from_pairs([("HOME", "/h")]);
        let error = Settings::resolve(&args(&["--region", "EU"]), &env)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "--region: region \"EU\" is not a valid region id (e.g. cn-hangzhou)"
        );
    }

    #[test]
    fn role_arn_flag_is_checked() {
        let env = Env::from_pairs([("HOME", "/h")]);
        let error = Settings::resolve(&args(&["--role-arn", "admin"]), &env).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(Settings::resolve(&args(&["--role-arn", "acs:ram::123:role/admin"]), &env).is_ok());
    }

    fn args(extra: &[&str]) -> TargetArgs {
        use clap::Parser;
        let mut argv = vec![
            "ack-credential-plugin",
            "get-credential",
            "--cluster-id",
            "c1",
        ];
        argv.extend_from_slice(extra);
        match crate::cli::Cli::parse_from(argv).command {
            crate::cli::Command::GetCredential(given) => given.target,
            _ => unreachable!(),
        }
    }

    fn settings(extra: &[&str], env: &Env) -> Settings {
        Settings::resolve(&args(extra), env).unwrap()
    }

    #[test]
    fn endpoint_and_cache_dir_precedence() {
        let env = Env::from_pairs([("HOME", "/home/u")]);
        let config = settings(&[], &env);
        assert_eq!(
            config.api_endpoint(None).unwrap(),
            "https://cs.aliyuncs.com"
        );
        assert_eq!(
            config.api_endpoint(Some("cn-shenzhen")).unwrap(),
            "https://cs.cn-shenzhen.aliyuncs.com"
        );
        assert_eq!(
            config.cache_dir,
            PathBuf::from("/home/u/.kube/cache/ack-credential-plugin")
        );

        let env = Env::from_pairs([
            ("HOME", "/home/u"),
            ("ALIBABA_CLOUD_REGION_ID", "cn-beijing"),
            ("KUBECACHEDIR", "/k"),
        ]);
        let config = settings(&[], &env);
        assert_eq!(
            config.api_endpoint(Some("cn-shenzhen")).unwrap(),
            "https://cs.cn-beijing.aliyuncs.com"
        );
        assert_eq!(config.cache_dir, PathBuf::from("/k/ack-credential-plugin"));

        let env = Env::from_pairs([
            ("ALIBABA_CLOUD_REGION_ID", "cn-beijing"),
            ("ACK_CS_ENDPOINT", "http://127.0.0.1:9"),
            ("ACK_CACHE_DIR", "/c"),
            ("KUBECACHEDIR", "/k"),
        ]);
        let config = settings(&["--region", "cn-shanghai"], &env);
        assert_eq!(
            config.api_endpoint(Some("cn-shenzhen")).unwrap(),
            "http://127.0.0.1:9"
        );
        assert_eq!(config.cache_dir, PathBuf::from("/c"));

        let config = settings(
            &["--cs-endpoint", "https://x.example", "--cache-dir", "/d"],
            &env,
        );
        assert_eq!(config.api_endpoint(None).unwrap(), "https://x.example");
        assert_eq!(config.cache_dir, PathBuf::from("/d"));

        let config = settings(
            &["--region", "cn-shanghai"],
            &Env::from_pairs([("HOME", "/h")]),
        );
        assert_eq!(
            config.api_endpoint(None).unwrap(),
            "https://cs.cn-shanghai.aliyuncs.com"
        );
    }

    #[test]
    fn a_mesh_goes_to_servicemesh_and_has_no_lifetime() {
        use clap::Parser;
        let env = Env::from_pairs([("HOME", "/h"), ("ALIBABA_CLOUD_REGION_ID", "cn-beijing")]);
        let parse = |argv: &[&str]| match crate::cli::Cli::parse_from(argv).command {
            crate::cli::Command::GetCredential(args) => args.target,
            _ => unreachable!(),
        };
        let mesh = Settings::resolve(
            &parse(&["p", "get-credential", "--mesh-id", "m1", "--private-ip"]),
            &env,
        )
        .unwrap();
        assert_eq!(mesh.target, Target::Mesh { id: "m1".into() });
        assert_eq!(mesh.minutes, 0);
        assert_eq!(
            mesh.api_endpoint(None).unwrap(),
            "https://servicemesh.aliyuncs.com"
        );
        let env = Env::from_pairs([("HOME", "/h"), ("ACK_ASM_ENDPOINT", "http://127.0.0.1:2")]);
        let mesh =
            Settings::resolve(&parse(&["p", "get-credential", "--mesh-id", "m1"]), &env).unwrap();
        assert_eq!(mesh.api_endpoint(None).unwrap(), "http://127.0.0.1:2");
        let bad = Settings::resolve(&parse(&["p", "get-credential", "--mesh-id", "m/1"]), &env);
        assert_eq!(bad.unwrap_err().exit_code(), 2);
    }

    #[test]
    fn a_fleet_goes_to_adcp_in_its_region_and_has_no_lifetime() {
        use clap::Parser;
        let parse = |argv: &[&str]| match crate::cli::Cli::parse_from(argv).command {
            crate::cli::Command::GetCredential(args) => args.target,
            _ => unreachable!(),
        };
        let fleet = |argv: &[&str], env: &Env| Settings::resolve(&parse(argv), env).unwrap();
        let home = Env::from_pairs([("HOME", "/h")]);
        let plain = fleet(&["p", "get-credential", "--fleet-id", "f1"], &home);
        assert_eq!(plain.target, Target::Fleet { id: "f1".into() });
        assert_eq!(plain.minutes, 0);
        // The region: the flag, else the environment, else the credential source's profile.
        assert_eq!(
            plain.api_endpoint(Some("cn-shenzhen")).unwrap(),
            "https://adcp.cn-shenzhen.aliyuncs.com"
        );
        assert_eq!(plain.api_endpoint(None).unwrap_err().exit_code(), 2);
        let env = Env::from_pairs([("HOME", "/h"), ("ALIBABA_CLOUD_REGION_ID", "cn-beijing")]);
        assert_eq!(
            fleet(&["p", "get-credential", "--fleet-id", "f1"], &env)
                .api_endpoint(Some("cn-shenzhen"))
                .unwrap(),
            "https://adcp.cn-beijing.aliyuncs.com"
        );
        let flagged = fleet(
            &[
                "p",
                "get-credential",
                "--fleet-id",
                "f1",
                "--region",
                "ap-southeast-1",
            ],
            &env,
        );
        assert_eq!(
            flagged.api_endpoint(None).unwrap(),
            "https://adcp.ap-southeast-1.aliyuncs.com"
        );
        // An explicit endpoint wins, from the flag or the variable.
        let env = Env::from_pairs([("HOME", "/h"), ("ACK_ADCP_ENDPOINT", "http://127.0.0.1:5")]);
        assert_eq!(
            fleet(&["p", "get-credential", "--fleet-id", "f1"], &env)
                .api_endpoint(None)
                .unwrap(),
            "http://127.0.0.1:5"
        );
        let bad = Env::from_pairs([("HOME", "/h"), ("ACK_ADCP_ENDPOINT", "http://10.0.0.1")]);
        let error = Settings::resolve(&parse(&["p", "get-credential", "--fleet-id", "f1"]), &bad);
        assert_eq!(error.unwrap_err().exit_code(), 2);
        let error = Settings::resolve(&parse(&["p", "get-credential", "--fleet-id", "f.1"]), &home);
        assert_eq!(error.unwrap_err().exit_code(), 2);
    }

    #[test]
    fn kubeconfig_by_name_or_all_is_checked_before_any_listing() {
        use clap::Parser;
        let resolve = |argv: &[&str], env: &Env| {
            let mut full = vec!["p", "kubeconfig"];
            full.extend_from_slice(argv);
            match crate::cli::Cli::parse_from(full).command {
                crate::cli::Command::Kubeconfig(args) => KubeconfigConfig::resolve(&args, env),
                _ => unreachable!(),
            }
        };
        let env = Env::from_pairs([("HOME", "/h")]);
        let named = resolve(&["--cluster-name", "prod", "--region", "cn-beijing"], &env).unwrap();
        assert!(matches!(&named.wanted, Wanted::Named { name, .. } if name == "prod"));
        assert_eq!(named.region_filter.as_deref(), Some("cn-beijing"));
        let all = resolve(&["--all", "--merge"], &env).unwrap();
        assert!(matches!(all.wanted, Wanted::All { .. }));
        assert_eq!(all.region_filter, None);
        for bad in [
            &["--cluster-name", "prod", "--expiration", "1y"][..],
            &["--all", "--merge", "--expiration", "10m"],
            &["--all", "--merge", "--region", "CN"],
            &["--all", "--merge", "--role-arn", "admin"],
            &["--cluster-name", "bad\nname"],
        ] {
            assert_eq!(resolve(bad, &env).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn merge_reads_the_files_kubectl_reads() {
        let env = Env::from_pairs([("HOME", "/h"), ("KUBECONFIG", "/a/one::/b/two:/a/one")]);
        assert_eq!(
            kubeconfig_files(&env).unwrap(),
            [PathBuf::from("/a/one"), PathBuf::from("/b/two")]
        );
        for env in [
            Env::from_pairs([("HOME", "/h")]),
            Env::from_pairs([("HOME", "/h"), ("KUBECONFIG", ":")]),
        ] {
            assert_eq!(
                kubeconfig_files(&env).unwrap(),
                [PathBuf::from("/h/.kube/config")]
            );
        }
    }
}
