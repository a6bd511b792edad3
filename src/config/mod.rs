//! Flags plus environment, resolved and validated into the settings a command runs with.
//! Every environment variable the plugin reads is read through [`Env`].

pub(crate) mod values;

use std::path::PathBuf;
use std::time::Duration;

use crate::aliyun::client::ClientOptions;
use crate::aliyun::endpoint;
use crate::aliyun::sts::StsEndpoint;
use crate::aliyun::{cs, servicemesh};
use crate::cli::{ApiVersionArg, GetCredentialArgs, KubeconfigArgs, TargetArgs};
use crate::env::Env;
use crate::error::Error;
use crate::exec_credential::ApiVersion;
use values::{parse_expiration, seconds, validate_id, validate_uid};

/// What a credential is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// An ACK cluster: the caller's own kubeconfig, or with `uid` a RAM user's.
    Cluster { id: String, uid: Option<String> },
    /// An ASM service mesh.
    Mesh { id: String },
}

impl Target {
    pub(crate) fn id(&self) -> &str {
        match self {
            Target::Cluster { id, .. } | Target::Mesh { id } => id,
        }
    }

    pub(crate) fn uid(&self) -> Option<&str> {
        match self {
            Target::Cluster { uid, .. } => uid.as_deref(),
            Target::Mesh { .. } => None,
        }
    }
}

/// What decides a credential and how to fetch it, validated: shared by `get-credential` and
/// `kubeconfig`.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) target: Target,
    pub(crate) private_ip: bool,
    /// `TemporaryDurationMinutes` (clusters; 0 for a mesh, which has no such parameter).
    pub(crate) minutes: u32,
    pub(crate) cache_dir: PathBuf,
    /// `--cs-endpoint` or `ACK_CS_ENDPOINT`, validated, without a trailing slash.
    pub(crate) cs_endpoint: Option<String>,
    /// `--asm-endpoint` or `ACK_ASM_ENDPOINT`, validated.
    pub(crate) asm_endpoint: Option<String>,
    /// `--region`, else `ALIBABA_CLOUD_REGION_ID`, else `ALICLOUD_REGION`.
    pub(crate) region: Option<String>,
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

/// Everything `kubeconfig` needs.
#[derive(Debug)]
pub(crate) struct KubeconfigConfig {
    pub(crate) settings: Settings,
    /// The flags as given, to pass on to `get-credential` in the kubeconfig.
    pub(crate) given: TargetArgs,
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
            && (name.trim().is_empty() || name.contains(char::is_control))
        {
            return Err(Error::Usage(format!(
                "--context {name:?} is not a usable name"
            )));
        }
        Ok(KubeconfigConfig {
            settings: Settings::resolve(&args.target, env)?,
            given: args.target.clone(),
            context: args.context.clone(),
            destination,
            set_current_context: args.set_current_context,
            api_version: args.api_version.map_or(ApiVersion::V1, api_version),
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

impl Settings {
    pub(crate) fn resolve(args: &TargetArgs, env: &Env) -> Result<Self, Error> {
        let target = match (&args.cluster_id, &args.mesh_id) {
            (Some(id), None) => {
                validate_id("--cluster-id", id)?;
                if let Some(uid) = &args.uid {
                    validate_uid(uid)?;
                }
                Target::Cluster {
                    id: id.clone(),
                    uid: args.uid.clone(),
                }
            }
            (None, Some(id)) => {
                validate_id("--mesh-id", id)?;
                Target::Mesh { id: id.clone() }
            }
            _ => {
                return Err(Error::Usage(
                    "give exactly one of --cluster-id and --mesh-id".to_string(),
                ));
            }
        };
        let minutes = match target {
            Target::Cluster { .. } => {
                parse_expiration(args.expiration.as_deref().unwrap_or(DEFAULT_EXPIRATION))?
            }
            Target::Mesh { .. } => 0,
        };
        let region = args
            .region
            .as_deref()
            .or_else(|| env.get("ALIBABA_CLOUD_REGION_ID"))
            .or_else(|| env.get("ALICLOUD_REGION"));
        if let Some(region) = region {
            endpoint::validate_region(region).map_err(Error::Usage)?;
        }
        let endpoint = |flag: &Option<String>, var: &str| {
            flag.as_deref()
                .or_else(|| env.get(var))
                .map(|url| endpoint::validate(url).map_err(Error::Usage))
                .transpose()
        };
        if let Some(arn) = &args.role_arn {
            crate::credentials::role::validate_role_arn(arn).map_err(|why| {
                Error::Usage(format!("--role-arn {arn:?} is not a role ARN: {why}"))
            })?;
        }
        let api_timeout = seconds(env, "ACK_API_TIMEOUT")?.unwrap_or(DEFAULT_API_TIMEOUT);
        let sts_region = env.get("ALIBABA_CLOUD_STS_REGION");
        if let Some(region) = sts_region {
            endpoint::validate_region(region).map_err(Error::Usage)?;
        }
        Ok(Settings {
            target,
            private_ip: args.private_ip,
            minutes,
            cache_dir: cache_dir(args.cache_dir.as_ref(), env)?,
            cs_endpoint: endpoint(&args.cs_endpoint, "ACK_CS_ENDPOINT")?,
            asm_endpoint: endpoint(&args.asm_endpoint, "ACK_ASM_ENDPOINT")?,
            region: region.map(str::to_string),
            profile: args.profile.clone(),
            role_arn: args.role_arn.clone(),
            sts: StsEndpoint {
                explicit: endpoint(&args.sts_endpoint, "ACK_STS_ENDPOINT")?,
                region: sts_region.map(str::to_string),
                vpc: env.get("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED") == Some("true"),
            },
            client: ClientOptions::from_env(env)?,
            ecs_endpoint: crate::credentials::ecs::endpoint(env)?,
            imds_v1_disabled: env.get(crate::credentials::ecs::IMDS_V1_DISABLED_VAR)
                == Some("true"),
            api_timeout,
            lock_timeout: seconds(env, "ACK_LOCK_TIMEOUT")?.unwrap_or(api_timeout + LOCK_MARGIN),
        })
    }

    /// The base URL of the API that issues this target's credentials: for a cluster the cs
    /// API (the explicit endpoint, else the region's — from the flag, the environment or,
    /// failing both, the credential source's profile — else the central one); for a mesh the
    /// servicemesh API.
    pub(crate) fn api_endpoint(&self, source_region: Option<&str>) -> Result<String, Error> {
        match self.target {
            Target::Mesh { .. } => Ok(self
                .asm_endpoint
                .clone()
                .unwrap_or_else(|| servicemesh::DEFAULT_ENDPOINT.to_string())),
            Target::Cluster { .. } => match &self.cs_endpoint {
                Some(endpoint) => Ok(endpoint.clone()),
                None => cs::endpoint(self.region.as_deref().or(source_region)),
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
