//! Flags plus environment, resolved and validated into the settings a command runs with.
//! Every environment variable the plugin reads is read through [`Env`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{ApiVersionArg, GetCredentialArgs, KubeconfigArgs, TargetArgs};
use crate::error::Error;

/// A snapshot of the environment. Empty values count as unset, as in the official SDKs.
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    pub fn from_process() -> Self {
        Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// `HOME`, else the account's home directory.
    pub fn home(&self) -> Option<PathBuf> {
        self.get("HOME").map(PathBuf::from).or_else(dirs::home_dir)
    }
}

/// What a credential is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An ACK cluster: the caller's own kubeconfig, or with `uid` a RAM user's.
    Cluster { id: String, uid: Option<String> },
    /// An ASM service mesh.
    Mesh { id: String },
}

impl Target {
    pub fn id(&self) -> &str {
        match self {
            Target::Cluster { id, .. } | Target::Mesh { id } => id,
        }
    }

    pub fn uid(&self) -> Option<&str> {
        match self {
            Target::Cluster { uid, .. } => uid.as_deref(),
            Target::Mesh { .. } => None,
        }
    }
}

/// What decides a credential and how to fetch it, validated: shared by `get-credential` and
/// `kubeconfig`.
#[derive(Debug)]
pub struct Settings {
    pub target: Target,
    pub private_ip: bool,
    /// `TemporaryDurationMinutes` (clusters; 0 for a mesh, which has no such parameter).
    pub minutes: u32,
    pub cache_dir: PathBuf,
    /// `--cs-endpoint` or `ACK_CS_ENDPOINT`, validated, without a trailing slash.
    pub cs_endpoint: Option<String>,
    /// `--asm-endpoint` or `ACK_ASM_ENDPOINT`, validated.
    pub asm_endpoint: Option<String>,
    /// `--region`, else `ALIBABA_CLOUD_REGION_ID`, else `ALICLOUD_REGION`.
    pub region: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
    /// `--role-arn`, validated.
    pub role_arn: Option<String>,
    pub sts: StsEndpoint,
    /// The ECS metadata service's base URL.
    pub ecs_endpoint: String,
    pub imds_v1_disabled: bool,
    /// The most one fetch may take, every API call and retry included.
    pub api_timeout: Duration,
    /// The most we wait for another process that is fetching the same credential.
    pub lock_timeout: Duration,
}

/// Everything `get-credential` needs.
#[derive(Debug)]
pub struct GetCredentialConfig {
    pub settings: Settings,
    pub api_version: Option<ApiVersionArg>,
    /// `KUBERNETES_EXEC_INFO`, as kubectl set it.
    pub exec_info: Option<String>,
    pub force_refresh: bool,
}

/// Everything `kubeconfig` needs.
#[derive(Debug)]
pub struct KubeconfigConfig {
    pub settings: Settings,
    /// The flags as given, to pass on to `get-credential` in the kubeconfig.
    pub given: TargetArgs,
    /// Name of the context, cluster and user entries.
    pub context: Option<String>,
    pub destination: Destination,
    pub set_current_context: bool,
}

/// Where `kubeconfig` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Stdout,
    /// A file of its own, replacing whatever was there.
    File(PathBuf),
    /// Merged into an existing (or new) kubeconfig.
    Merge(PathBuf),
}

const DEFAULT_API_TIMEOUT: Duration = Duration::from_secs(30);
/// A waiter gives the lock holder its whole fetch budget and this much more (the holder's
/// start-up, the cache write) before fetching itself: a holder that is merely slow is waited
/// for, one that is stuck costs a bounded wait.
const LOCK_MARGIN: Duration = Duration::from_secs(10);
const DEFAULT_EXPIRATION: &str = "3h";

impl GetCredentialConfig {
    pub fn resolve(args: &GetCredentialArgs, env: &Env) -> Result<Self, Error> {
        Ok(GetCredentialConfig {
            settings: Settings::resolve(&args.target, env)?,
            api_version: args.api_version,
            exec_info: env.get("KUBERNETES_EXEC_INFO").map(str::to_string),
            force_refresh: args.force_refresh,
        })
    }
}

impl KubeconfigConfig {
    pub fn resolve(args: &KubeconfigArgs, env: &Env) -> Result<Self, Error> {
        let destination = match (&args.output, args.merge) {
            (Some(path), _) => Destination::File(path.clone()),
            (None, true) => Destination::Merge(match &args.kubeconfig {
                Some(path) => path.clone(),
                None => default_kubeconfig(env)?,
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
        })
    }
}

/// The kubeconfig `--merge` writes to: the first file of `$KUBECONFIG`, else `~/.kube/config`.
fn default_kubeconfig(env: &Env) -> Result<PathBuf, Error> {
    if let Some(list) = env.get("KUBECONFIG")
        && let Some(first) = std::env::split_paths(list).find(|p| !p.as_os_str().is_empty())
    {
        return Ok(first);
    }
    let home = env
        .home()
        .ok_or_else(|| Error::Usage("cannot find the home directory: set HOME".to_string()))?;
    Ok(home.join(".kube").join("config"))
}

impl Settings {
    pub fn resolve(args: &TargetArgs, env: &Env) -> Result<Self, Error> {
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
            validate_region(region)?;
        }
        let endpoint = |flag: &Option<String>, var: &str| {
            flag.as_deref()
                .or_else(|| env.get(var))
                .map(validate_endpoint)
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
            validate_region(region)?;
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
            ecs_endpoint: crate::credentials::chain::ecs_endpoint(env)?,
            imds_v1_disabled: env.get(crate::credentials::chain::IMDS_V1_DISABLED_VAR)
                == Some("true"),
            api_timeout,
            lock_timeout: seconds(env, "ACK_LOCK_TIMEOUT")?.unwrap_or(api_timeout + LOCK_MARGIN),
        })
    }

    /// The base URL of the API that issues this target's credentials: for a cluster the cs
    /// API (the explicit endpoint, else the region's — from the flag, the environment or,
    /// failing both, the credential source's profile — else the central one); for a mesh the
    /// servicemesh API.
    pub fn api_endpoint(&self, source_region: Option<&str>) -> Result<String, Error> {
        match self.target {
            Target::Mesh { .. } => Ok(self
                .asm_endpoint
                .clone()
                .unwrap_or_else(|| "https://servicemesh.aliyuncs.com".to_string())),
            Target::Cluster { .. } => {
                if let Some(endpoint) = &self.cs_endpoint {
                    return Ok(endpoint.clone());
                }
                match self.region.as_deref().or(source_region) {
                    Some(region) => {
                        validate_region(region)?;
                        Ok(format!("https://cs.{region}.aliyuncs.com"))
                    }
                    None => Ok("https://cs.aliyuncs.com".to_string()),
                }
            }
        }
    }
}

/// Where STS is: an explicit URL, else a region's (`ALIBABA_CLOUD_STS_REGION`, else a profile's
/// `sts_region`), VPC or public, else the central endpoint.
#[derive(Debug, Clone, Default)]
pub struct StsEndpoint {
    pub explicit: Option<String>,
    pub region: Option<String>,
    pub vpc: bool,
}

impl StsEndpoint {
    pub fn resolve(&self, profile_region: Option<&str>) -> Result<String, Error> {
        if let Some(url) = &self.explicit {
            return Ok(url.clone());
        }
        match self.region.as_deref().or(profile_region) {
            Some(region) => {
                validate_region(region)?;
                let host = if self.vpc { "sts-vpc" } else { "sts" };
                Ok(format!("https://{host}.{region}.aliyuncs.com"))
            }
            None => Ok("https://sts.aliyuncs.com".to_string()),
        }
    }
}

/// `--cache-dir`, else `ACK_CACHE_DIR`, else `${KUBECACHEDIR:-~/.kube/cache}/ack-credential-plugin`.
pub fn cache_dir(flag: Option<&PathBuf>, env: &Env) -> Result<PathBuf, Error> {
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

fn seconds(env: &Env, name: &str) -> Result<Option<Duration>, Error> {
    env.get(name)
        .map(|text| match text.trim().parse::<f64>() {
            Ok(secs) if secs > 0.0 && secs <= 3600.0 => Ok(Duration::from_secs_f64(secs)),
            _ => Err(Error::Usage(format!(
                "{name}={text:?} is not a number of seconds between 0 and 3600"
            ))),
        })
        .transpose()
}

/// A cluster or mesh id: a short run of `[A-Za-z0-9-]`. It becomes part of a URL path and of a
/// cache file name, so nothing else may pass.
pub fn validate_id(flag: &str, id: &str) -> Result<(), Error> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(Error::Usage(format!(
            "{flag} {id:?} is not a valid id: expected up to 64 letters, digits and `-` \
             (e.g. c82e6987e2961451182edacd74faf0693)"
        )));
    }
    Ok(())
}

/// A RAM user's uid: digits.
pub fn validate_uid(uid: &str) -> Result<(), Error> {
    if uid.is_empty() || uid.len() > 32 || !uid.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Usage(format!(
            "--uid {uid:?} is not a valid uid: expected the RAM user's numeric id \
             (e.g. 272345678901234567)"
        )));
    }
    Ok(())
}

fn validate_region(region: &str) -> Result<(), Error> {
    if region.is_empty()
        || region.len() > 32
        || !region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(Error::Usage(format!(
            "region {region:?} is not a valid region id (e.g. cn-hangzhou)"
        )));
    }
    Ok(())
}

/// An endpoint override: an `https://` base URL, or `http://` for a loopback host only, since
/// the requests carry signatures and tokens. Returned without a trailing slash.
pub fn validate_endpoint(text: &str) -> Result<String, Error> {
    let bad = |why: &str| Error::Usage(format!("endpoint {text:?} cannot be used: {why}"));
    let url = reqwest::Url::parse(text).map_err(|e| bad(&format!("not a URL ({e})")))?;
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(bad(
            "expected a base URL such as https://cs.cn-hangzhou.aliyuncs.com",
        ));
    }
    let host = url.host_str().ok_or_else(|| bad("no host"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => {
            return Err(bad(
                "plain http:// is only allowed for loopback addresses; use https://",
            ));
        }
        _ => return Err(bad("the scheme must be https://")),
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `--expiration`: `90m`, `3h` or `2d`, in minutes, within the API's 15..=4320.
pub fn parse_expiration(text: &str) -> Result<u32, Error> {
    let bad = |why: &str| {
        Error::Usage(format!(
            "--expiration {text:?} {why}: give a lifetime between 15m and 72h, such as 90m, 3h or 2d"
        ))
    };
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| bad("has no unit"))?;
    let (number, unit) = text.split_at(split);
    let number: u32 = number
        .parse()
        .map_err(|_| bad("is not a number with a unit"))?;
    let per_unit = match unit {
        "m" | "min" => 1,
        "h" => 60,
        "d" => 24 * 60,
        _ => return Err(bad("has an unknown unit")),
    };
    let minutes = number
        .checked_mul(per_unit)
        .ok_or_else(|| bad("is too long"))?;
    if !(15..=4320).contains(&minutes) {
        return Err(bad("is out of range"));
    }
    Ok(minutes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiration_accepts_minutes_hours_days_in_range() {
        assert_eq!(parse_expiration("90m").unwrap(), 90);
        assert_eq!(parse_expiration("3h").unwrap(), 180);
        assert_eq!(parse_expiration("2d").unwrap(), 2880);
        assert_eq!(parse_expiration("15m").unwrap(), 15);
        assert_eq!(parse_expiration("72h").unwrap(), 4320);
        for bad in [
            "14m",
            "73h",
            "4d",
            "3",
            "h",
            "",
            "3x",
            "-3h",
            "99999999999d",
            "1h30m",
        ] {
            let error = parse_expiration(bad).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn ids_and_uids_are_checked() {
        assert!(validate_id("--cluster-id", "c82e6987e2961451182edacd74faf0693").is_ok());
        assert!(validate_id("--cluster-id", "abc-123").is_ok());
        for bad in ["", "../x", "a/b", "a b", "c1?x=1", "é", &"a".repeat(65)] {
            assert!(validate_id("--cluster-id", bad).is_err(), "{bad}");
        }
        assert!(validate_uid("272345678901234567").is_ok());
        for bad in ["", "12a", "-1", "1 2"] {
            assert!(validate_uid(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sts_endpoint_precedence() {
        let central = StsEndpoint::default();
        assert_eq!(central.resolve(None).unwrap(), "https://sts.aliyuncs.com");
        assert_eq!(
            central.resolve(Some("cn-hangzhou")).unwrap(),
            "https://sts.cn-hangzhou.aliyuncs.com"
        );
        let regional = StsEndpoint {
            region: Some("cn-beijing".into()),
            vpc: true,
            ..StsEndpoint::default()
        };
        assert_eq!(
            regional.resolve(Some("cn-hangzhou")).unwrap(),
            "https://sts-vpc.cn-beijing.aliyuncs.com"
        );
        let explicit = StsEndpoint {
            explicit: Some("http://127.0.0.1:1".into()),
            ..regional
        };
        assert_eq!(explicit.resolve(Some("x")).unwrap(), "http://127.0.0.1:1");
        assert!(central.resolve(Some("cn hangzhou/")).is_err());
    }

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

    #[test]
    fn http_endpoints_only_for_loopback() {
        assert_eq!(
            validate_endpoint("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(validate_endpoint("http://[::1]:1").is_ok());
        assert!(validate_endpoint("http://localhost:1").is_ok());
        assert_eq!(
            validate_endpoint("https://cs.cn-hangzhou.aliyuncs.com").unwrap(),
            "https://cs.cn-hangzhou.aliyuncs.com"
        );
        for bad in [
            "http://cs.aliyuncs.com",
            "http://10.0.0.1",
            "ftp://127.0.0.1",
            "cs.aliyuncs.com",
            "https://cs.aliyuncs.com/?x=1",
            "https://user@cs.aliyuncs.com",
        ] {
            assert!(validate_endpoint(bad).is_err(), "{bad}");
        }
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
            crate::cli::Command::GetCredential(args) => args.target,
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
    fn merge_goes_to_the_first_kubeconfig_file() {
        let env = Env::from_pairs([("HOME", "/h"), ("KUBECONFIG", "/a/one:/b/two")]);
        assert_eq!(default_kubeconfig(&env).unwrap(), PathBuf::from("/a/one"));
        let env = Env::from_pairs([("HOME", "/h")]);
        assert_eq!(
            default_kubeconfig(&env).unwrap(),
            PathBuf::from("/h/.kube/config")
        );
    }
}
