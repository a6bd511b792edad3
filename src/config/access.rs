//! Who calls the APIs and where: the flags and variables every command that calls an API
//! resolves (credential source, endpoints, regions, STS, proxies and roots, the fetch budget),
//! validated once, before anything is fetched.

use std::time::Duration;

use super::DEFAULT_EXPIRATION;
use super::values::{parse_expiration, seconds};
use crate::aliyun::client::ClientOptions;
use crate::aliyun::endpoint;
use crate::aliyun::sts::{self, StsEndpoint};
use crate::aliyun::{adcp, cs, servicemesh};
use crate::cli::TargetArgs;
use crate::env::Env;
use crate::error::Error;
use crate::log::verbose;

/// `ACK_API_TIMEOUT` when unset.
const DEFAULT_API_TIMEOUT: Duration = Duration::from_secs(30);

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

/// Who calls the APIs and where, without a target: what the list commands need, and what
/// `kubeconfig --cluster-name` and `--all` list with before they have a cluster. Resolved and
/// validated as [`super::Settings`] resolves the same flags and variables.
#[derive(Debug)]
pub(crate) struct Access {
    /// `--cs-endpoint` or `ACK_CS_ENDPOINT`, validated, without a trailing slash.
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

/// A variable that is `true` in any case.
fn is_true(env: &Env, name: &str) -> bool {
    env.get(name)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
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
    pub(super) fn resolve_for_clusters(args: &TargetArgs, env: &Env) -> Result<Self, Error> {
        parse_expiration(args.expiration.as_deref().unwrap_or(DEFAULT_EXPIRATION))?;
        Self::resolve(AccessFlags::from(args), env)
    }

    /// The region an endpoint is picked by: the flag or the environment, else the credential
    /// source's own (`source_region`, a profile's `region_id`), else a generic variable.
    pub(crate) fn region<'a>(&'a self, source_region: Option<&'a str>) -> Option<&'a str> {
        self.region
            .as_deref()
            .or(source_region)
            .or(self.fallback_region.as_deref())
    }

    /// The cs base URL: the explicit endpoint, else the [region](Self::region)'s, else the
    /// central one.
    pub(crate) fn cs_endpoint(&self, source_region: Option<&str>) -> Result<String, Error> {
        match &self.cs_endpoint {
            Some(endpoint) => Ok(endpoint.clone()),
            None => cs::endpoint(self.region(source_region), self.vpc_endpoints),
        }
    }

    /// The servicemesh base URL.
    pub(crate) fn asm_endpoint(&self) -> String {
        self.asm_endpoint
            .clone()
            .unwrap_or_else(|| servicemesh::DEFAULT_ENDPOINT.to_string())
    }

    /// The adcp base URL: the explicit endpoint, else the [region](Self::region)'s (there is
    /// no central one).
    pub(crate) fn adcp_endpoint(&self, source_region: Option<&str>) -> Result<String, Error> {
        match &self.adcp_endpoint {
            Some(endpoint) => Ok(endpoint.clone()),
            None => adcp::endpoint(self.region(source_region)),
        }
    }
}
