//! Step 3 of the chain: a profile of the aliyun CLI's `~/.aliyun/config.json`
//! (`ALIBABA_CLOUD_CONFIG_FILE`), chosen by `--profile`, else `ALIBABACLOUD_PROFILE`,
//! `ALIBABA_CLOUD_PROFILE` or `ALICLOUD_PROFILE` (the CLI's order), else the file's `current`.
//! `ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true` (the SDKs) or `ALIBABA_CLOUD_IGNORE_PROFILE=TRUE`
//! (the CLI) skips the step; `--profile` still reads the file.
//!
//! ```json
//! {"current": "default", "profiles": [{"name": "default", "mode": "AK",
//!   "access_key_id": "LTAI...", "access_key_secret": "...", "region_id": "cn-hangzhou"}]}
//! ```
//!
//! The CLI writes every field of every profile, most of them empty; an empty `mode` (older CLI
//! versions, hand-written files) is inferred from the fields filled in, exactly as the CLI does
//! ([`mode`]).

pub(crate) mod file;

use std::path::{Path, PathBuf};

use super::Provider;
use super::cloud_sso::CloudSsoProvider;
use super::context::{self, Context, Step};
use super::ecs::EcsProvider;
use super::external::ExternalProvider;
use super::oauth::OAuthProvider;
use super::oidc::OidcProvider;
use super::role::RoleProvider;
use super::session;
use super::static_key::StaticProvider;
use super::uri::UriProvider;
use crate::aliyun::sts::{self, ProfileSts, RoleRequest};
use crate::error::Error;

/// The variables the aliyun CLI reads for the profile, in its order.
pub(crate) const PROFILE_VARS: [&str; 3] =
    ["ALIBABACLOUD_PROFILE", PROFILE_VAR, "ALICLOUD_PROFILE"];
/// The SDKs' switch for this step (`true`, in any case).
pub(crate) const DISABLED_VAR: &str = "ALIBABA_CLOUD_CLI_PROFILE_DISABLED";
/// The aliyun CLI's switches for ignoring its config file (`TRUE`).
pub(crate) const IGNORE_VARS: [&str; 2] = [
    "ALIBABA_CLOUD_IGNORE_PROFILE",
    "ALIBABACLOUD_IGNORE_PROFILE",
];

use file::{ConfigFile, FILE_VAR, PROFILE_VAR, Profile, load, mode, non_empty, path};

/// The variable, if any, that turns this step off.
fn disabled_by(ctx: &Context) -> Option<String> {
    if let Some(value) = ctx.env.get(DISABLED_VAR)
        && value.eq_ignore_ascii_case("true")
    {
        return Some(format!("{DISABLED_VAR}={value}"));
    }
    IGNORE_VARS.iter().find_map(|var| {
        ctx.env
            .get(var)
            .filter(|v| v.eq_ignore_ascii_case("true"))
            .map(|v| format!("{var}={v}"))
    })
}

/// The chain's step: the selected profile's provider, or why there is none.
pub(crate) fn step(ctx: &Context) -> Result<Step, Error> {
    if let Some(var) = disabled_by(ctx) {
        return Ok(Step::Skip(format!("aliyun CLI config: skipped ({var})")));
    }
    let Some(path) = path(ctx) else {
        return Ok(Step::Skip(
            "aliyun CLI config: no home directory".to_string(),
        ));
    };
    let Some(file) = load(&path)? else {
        return Ok(Step::Skip(format!(
            "aliyun CLI config {}: does not exist",
            path.display()
        )));
    };
    let name = PROFILE_VARS
        .iter()
        .find_map(|var| ctx.env.get(var))
        .unwrap_or(&file.current);
    if file.profiles.iter().any(|p| p.name == name) {
        provider(ctx, &file, &path, name).map(Step::Use)
    } else {
        Ok(Step::Skip(format!(
            "aliyun CLI config {}: no profile {name:?}",
            path.display()
        )))
    }
}

/// `--profile NAME`: this profile or an error, whatever else is configured.
pub(crate) fn forced(ctx: &Context, name: &str) -> Result<Box<dyn Provider>, Error> {
    let path = path(ctx).ok_or_else(|| {
        Error::NoCredentials("--profile: cannot find the home directory".to_string())
    })?;
    let file = load(&path)?.ok_or_else(|| {
        Error::NoCredentials(format!(
            "--profile {name}: the aliyun CLI config {} does not exist (run `aliyun configure \
             --profile {name}`, or set {FILE_VAR})",
            path.display()
        ))
    })?;
    provider(ctx, &file, &path, name)
}

/// The provider for profile `name`, following `source_profile` links.
pub(crate) fn provider(
    ctx: &Context,
    file: &ConfigFile,
    path: &Path,
    name: &str,
) -> Result<Box<dyn Provider>, Error> {
    build(ctx, file, path, name, &mut Vec::new())
}

fn build(
    ctx: &Context,
    file: &ConfigFile,
    path: &Path,
    name: &str,
    visiting: &mut Vec<String>,
) -> Result<Box<dyn Provider>, Error> {
    if visiting.iter().any(|v| v == name) {
        visiting.push(name.to_string());
        return Err(Error::NoCredentials(format!(
            "the aliyun CLI config {} has a source_profile cycle: {}",
            path.display(),
            visiting.join(" -> ")
        )));
    }
    let profile = find(file, path, name, visiting.last())?;
    visiting.push(name.to_string());

    let mode = mode(profile).ok_or_else(|| {
        Error::NoCredentials(format!(
            "profile `{name}` in {} has no mode, and its fields do not tell one (the aliyun CLI \
             infers AK, StsToken, RamRoleArn, EcsRamRole, External, OIDC and CloudSSO): set \
             `mode`, or run `aliyun configure --profile {name}`",
            path.display()
        ))
    })?;
    let this = Building {
        ctx,
        path,
        name,
        profile,
        origin: format!("aliyun CLI profile `{name}` ({mode}) in {}", path.display()),
        region: non_empty(&profile.region_id).map(str::to_string),
    };
    let provider: Box<dyn Provider> = match mode {
        "AK" | "StsToken" | "RamRoleArn" => this.key_pair(mode)?,
        "ChainableRamRoleArn" => {
            this.need("source_profile", &profile.source_profile)?;
            this.need("ram_role_arn", &profile.ram_role_arn)?;
            let source = build(ctx, file, path, &profile.source_profile, visiting)?;
            this.role(source)?
        }
        "EcsRamRole" => Box::new(this.ecs()),
        // Deprecated in the CLI, still read: the instance's role, then the profile's role.
        "RamRoleArnWithRoleName" => {
            this.need("ram_role_arn", &profile.ram_role_arn)?;
            this.role(Box::new(this.ecs()))?
        }
        "OIDC" => this.oidc()?,
        "CredentialsURI" => {
            context::check_external_allowed(ctx, &this.origin)?;
            this.need("credentials_uri", &profile.credentials_uri)?;
            Box::new(UriProvider {
                uri: profile.credentials_uri.trim().to_string(),
                origin: this.origin,
                region: this.region,
            })
        }
        "External" => {
            context::check_external_allowed(ctx, &this.origin)?;
            this.need("process_command", &profile.process_command)?;
            let command = ExternalProvider::new(
                &profile.process_command,
                this.origin.clone(),
                this.region.clone(),
            )?;
            this.kept(Box::new(command))
        }
        "CloudSSO" => this.kept(Box::new(CloudSsoProvider::new(
            profile,
            name,
            path,
            this.origin.clone(),
            this.region.clone(),
        )?)),
        "OAuth" => this.kept(Box::new(OAuthProvider::new(
            ctx,
            profile,
            name,
            path,
            this.origin.clone(),
            this.region.clone(),
        )?)),
        other => {
            return Err(Error::NoCredentials(format!(
                "profile `{name}` in {} has mode {other}, which ack-credential-plugin does not \
                 support; use AK, StsToken, RamRoleArn, ChainableRamRoleArn, EcsRamRole, OIDC, \
                 CredentialsURI, External, CloudSSO or OAuth",
                path.display()
            )));
        }
    };
    visiting.pop();
    Ok(provider)
}

/// One profile being turned into its provider.
struct Building<'a> {
    ctx: &'a Context<'a>,
    path: &'a Path,
    name: &'a str,
    profile: &'a Profile,
    origin: String,
    region: Option<String>,
}

impl Building<'_> {
    /// An error unless the profile has `field`.
    fn need(&self, field: &str, value: &str) -> Result<(), Error> {
        if value.trim().is_empty() {
            return Err(Error::NoCredentials(format!(
                "{} has no `{field}`, which it needs",
                self.origin
            )));
        }
        Ok(())
    }

    /// `provider`, its STS sessions kept between runs.
    fn kept(&self, provider: Box<dyn Provider>) -> Box<dyn Provider> {
        session::kept(self.ctx.session.as_ref(), provider)
    }

    /// AK, StsToken, or RamRoleArn: the profile's AccessKey pair, with the role on top for
    /// RamRoleArn. An AK profile's stray `sts_token` is not used (the CLI's AK mode ignores it);
    /// a RamRoleArn profile signs AssumeRole with its token when it has one, as the CLI does.
    fn key_pair(&self, mode: &str) -> Result<Box<dyn Provider>, Error> {
        let profile = self.profile;
        self.need("access_key_id", &profile.access_key_id)?;
        self.need("access_key_secret", &profile.access_key_secret)?;
        if mode == "StsToken" {
            self.need("sts_token", &profile.sts_token)?;
        }
        let key = StaticProvider::new(
            &profile.access_key_id,
            &profile.access_key_secret,
            (mode != "AK").then_some(profile.sts_token.as_str()),
            self.origin.clone(),
        )
        .with_region(self.region.clone());
        if mode == "RamRoleArn" {
            self.need("ram_role_arn", &profile.ram_role_arn)?;
            self.role(Box::new(key))
        } else {
            Ok(Box::new(key))
        }
    }

    /// The profile's role, assumed with `source`.
    fn role(&self, source: Box<dyn Provider>) -> Result<Box<dyn Provider>, Error> {
        Ok(self.kept(Box::new(RoleProvider {
            source,
            role: role_request(self.profile, self.name, self.path)?,
            sts_endpoint: self.ctx.sts.resolve(profile_sts(self.profile))?,
            origin: self.origin.clone(),
        })))
    }

    fn ecs(&self) -> EcsProvider {
        EcsProvider {
            endpoint: self.ctx.ecs_endpoint.clone(),
            role: non_empty(&self.profile.ram_role_name).map(str::to_string),
            imds_v1_disabled: self.ctx.imds_v1_disabled,
            origin: self.origin.clone(),
            tried_before: None,
            region: self.region.clone(),
        }
    }

    fn oidc(&self) -> Result<Box<dyn Provider>, Error> {
        let profile = self.profile;
        self.need("ram_role_arn", &profile.ram_role_arn)?;
        self.need("oidc_provider_arn", &profile.oidc_provider_arn)?;
        self.need("oidc_token_file", &profile.oidc_token_file)?;
        Ok(self.kept(Box::new(OidcProvider {
            role: role_request(profile, self.name, self.path)?,
            provider_arn: profile.oidc_provider_arn.trim().to_string(),
            token_file: PathBuf::from(&profile.oidc_token_file),
            sts_endpoint: self.ctx.sts.resolve(profile_sts(profile))?,
            origin: self.origin.clone(),
            region: self.region.clone(),
        })))
    }
}

/// Profile `name`, or an error that lists the profiles there are (`linked_from`: the profile
/// whose `source_profile` names it).
fn find<'f>(
    file: &'f ConfigFile,
    path: &Path,
    name: &str,
    linked_from: Option<&String>,
) -> Result<&'f Profile, Error> {
    file.profiles
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = file.profiles.iter().map(|p| p.name.as_str()).collect();
            let lead = match linked_from {
                Some(from) => format!("profile `{from}` names source_profile `{name}`, which"),
                None => format!("profile `{name}`"),
            };
            Error::NoCredentials(format!(
                "{lead} is not in the aliyun CLI config {}; it has: {}",
                path.display(),
                if names.is_empty() {
                    "no profiles".to_string()
                } else {
                    names.join(", ")
                }
            ))
        })
}

/// What the profile says about STS: `sts_endpoint`, `sts_region`, and VPC by `enable_vpc`
/// (the SDKs) or `endpoint_type` `vpc` (the CLI).
fn profile_sts(profile: &Profile) -> ProfileSts<'_> {
    ProfileSts {
        endpoint: non_empty(&profile.sts_endpoint),
        region: non_empty(&profile.sts_region),
        vpc: profile.enable_vpc || profile.endpoint_type.trim().eq_ignore_ascii_case("vpc"),
    }
}

/// The role, session name, policy, external id and duration of a profile. `expired_seconds`
/// 0 (or absent) means an hour; below 900, the least STS grants, is refused here, as
/// credentials-go does, rather than by STS.
pub(crate) fn role_request(
    profile: &Profile,
    name: &str,
    path: &Path,
) -> Result<RoleRequest, Error> {
    let mut role = RoleRequest::new(profile.ram_role_arn.trim()).with(
        non_empty(&profile.ram_session_name),
        non_empty(&profile.policy),
    );
    role.duration_seconds = match profile.expired_seconds {
        0 => sts::DEFAULT_DURATION_SECONDS,
        seconds => u64::try_from(seconds)
            .ok()
            .filter(|s| *s >= sts::MIN_DURATION_SECONDS)
            .ok_or_else(|| {
                Error::NoCredentials(format!(
                    "profile `{name}` in {} has expired_seconds {seconds}, below {}, the \
                     shortest session STS grants: set it to 900 or more (or 0 for an hour)",
                    path.display(),
                    sts::MIN_DURATION_SECONDS
                ))
            })?,
    };
    role.external_id = non_empty(&profile.external_id).map(str::to_string);
    Ok(role)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(json: &str) -> Profile {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn expired_seconds_zero_means_an_hour_and_below_900_is_refused() {
        let p = |s: i64| {
            role_request(
                &profile(&format!(r#"{{"ram_role_arn":"r","expired_seconds":{s}}}"#)),
                "p",
                Path::new("/c.json"),
            )
        };
        assert_eq!(p(0).unwrap().duration_seconds, 3600);
        assert_eq!(p(900).unwrap().duration_seconds, 900);
        assert_eq!(p(7200).unwrap().duration_seconds, 7200);
        assert_eq!(
            p(100).err().unwrap().to_string(),
            "profile `p` in /c.json has expired_seconds 100, below 900, the shortest session \
             STS grants: set it to 900 or more (or 0 for an hour)"
        );
        assert!(p(-1).is_err());
    }
}
