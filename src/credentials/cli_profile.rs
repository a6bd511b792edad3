//! Step 3 of the chain: a profile of the aliyun CLI's `~/.aliyun/config.json`
//! (`ALIBABA_CLOUD_CONFIG_FILE`), chosen by `--profile`, else `ALIBABA_CLOUD_PROFILE`, else the
//! file's `current`.
//!
//! ```json
//! {"current": "default", "profiles": [{"name": "default", "mode": "AK",
//!   "access_key_id": "LTAI...", "access_key_secret": "...", "region_id": "cn-hangzhou"}]}
//! ```
//!
//! The CLI writes every field of every profile, most of them empty; an empty `mode` (older CLI
//! versions, hand-written files) is inferred from which fields are filled in.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Provider;
use super::chain::{Context, Step};
use super::ecs::EcsProvider;
use super::external::ExternalProvider;
use super::oidc::OidcProvider;
use super::role::RoleProvider;
use super::static_key::StaticProvider;
use super::uri::UriProvider;
use crate::aliyun::sts::{self, RoleRequest};
use crate::error::Error;

pub(crate) const FILE_VAR: &str = "ALIBABA_CLOUD_CONFIG_FILE";
pub(crate) const PROFILE_VAR: &str = "ALIBABA_CLOUD_PROFILE";

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct ConfigFile {
    pub(crate) current: String,
    pub(crate) profiles: Vec<Profile>,
}

/// One profile. Secrets stay plain strings here only until they are wrapped by a provider;
/// this type has no `Debug` so that it cannot be printed.
#[derive(Default, Deserialize)]
#[serde(default)]
#[allow(
    clippy::struct_field_names,
    reason = "the fields are the aliyun CLI's own names"
)]
pub(crate) struct Profile {
    pub(crate) name: String,
    pub(crate) mode: String,
    pub(crate) access_key_id: String,
    pub(crate) access_key_secret: String,
    pub(crate) sts_token: String,
    pub(crate) ram_role_name: String,
    pub(crate) ram_role_arn: String,
    pub(crate) ram_session_name: String,
    pub(crate) source_profile: String,
    pub(crate) expired_seconds: u64,
    pub(crate) external_id: String,
    pub(crate) policy: String,
    pub(crate) sts_region: String,
    pub(crate) region_id: String,
    pub(crate) oidc_provider_arn: String,
    pub(crate) oidc_token_file: String,
    pub(crate) credentials_uri: String,
    pub(crate) process_command: String,
}

/// The file to read: `ALIBABA_CLOUD_CONFIG_FILE`, else `~/.aliyun/config.json`.
pub(crate) fn path(ctx: &Context) -> Option<PathBuf> {
    match ctx.env.get(FILE_VAR) {
        Some(path) => Some(PathBuf::from(path)),
        None => Some(ctx.home.as_ref()?.join(".aliyun").join("config.json")),
    }
}

/// Read the file; `Ok(None)` when it does not exist.
pub(crate) fn load(path: &Path) -> Result<Option<ConfigFile>, Error> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::NoCredentials(format!(
                "cannot read the aliyun CLI config {}: {e}",
                path.display()
            )));
        }
    };
    parse(&text, path).map(Some)
}

/// The file's contents. Only the position of a mistake is reported: a message about a value
/// could quote a secret.
pub(crate) fn parse(text: &[u8], path: &Path) -> Result<ConfigFile, Error> {
    serde_json::from_slice(text).map_err(|e| {
        Error::NoCredentials(format!(
            "the aliyun CLI config {} is not valid: {} at line {}, column {}",
            path.display(),
            if e.is_data() {
                "a value of the wrong type"
            } else {
                "malformed JSON"
            },
            e.line(),
            e.column()
        ))
    })
}

/// The chain's step: the selected profile's provider, or why there is none.
pub(crate) fn step(ctx: &Context) -> Result<Step, Error> {
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
    let name = ctx.env.get(PROFILE_VAR).unwrap_or(&file.current);
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
fn provider(
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

    let mode = mode(profile).map_err(|why| {
        Error::NoCredentials(format!("profile `{name}` in {}: {why}", path.display()))
    })?;
    let origin = format!("aliyun CLI profile `{name}` ({mode}) in {}", path.display());
    let region = non_empty(&profile.region_id).map(str::to_string);
    let need = |field: &str, value: &str| -> Result<(), Error> {
        if value.is_empty() {
            return Err(Error::NoCredentials(format!(
                "{origin} has no `{field}`, which it needs"
            )));
        }
        Ok(())
    };
    let provider: Box<dyn Provider> = match mode {
        "AK" | "StsToken" | "RamRoleArn" => {
            need("access_key_id", &profile.access_key_id)?;
            need("access_key_secret", &profile.access_key_secret)?;
            if mode == "StsToken" {
                need("sts_token", &profile.sts_token)?;
            }
            let key = StaticProvider::new(
                &profile.access_key_id,
                &profile.access_key_secret,
                (mode == "StsToken").then_some(profile.sts_token.as_str()),
                origin.clone(),
            )
            .with_region(region);
            if mode == "RamRoleArn" {
                need("ram_role_arn", &profile.ram_role_arn)?;
                Box::new(role(ctx, profile, Box::new(key), origin)?)
            } else {
                Box::new(key)
            }
        }
        "ChainableRamRoleArn" => {
            need("source_profile", &profile.source_profile)?;
            need("ram_role_arn", &profile.ram_role_arn)?;
            let source = build(ctx, file, path, &profile.source_profile, visiting)?;
            Box::new(role(ctx, profile, source, origin)?)
        }
        "EcsRamRole" => Box::new(EcsProvider {
            endpoint: ctx.ecs_endpoint.clone(),
            role: non_empty(&profile.ram_role_name).map(str::to_string),
            imds_v1_disabled: ctx.imds_v1_disabled,
            origin,
            tried_before: None,
            region,
        }),
        "OIDC" => {
            need("ram_role_arn", &profile.ram_role_arn)?;
            need("oidc_provider_arn", &profile.oidc_provider_arn)?;
            need("oidc_token_file", &profile.oidc_token_file)?;
            Box::new(OidcProvider {
                role: role_request(profile),
                provider_arn: profile.oidc_provider_arn.clone(),
                token_file: PathBuf::from(&profile.oidc_token_file),
                sts_endpoint: ctx.sts.resolve(non_empty(&profile.sts_region))?,
                origin,
                region,
            })
        }
        "CredentialsURI" => {
            need("credentials_uri", &profile.credentials_uri)?;
            Box::new(UriProvider {
                uri: profile.credentials_uri.clone(),
                origin,
                region,
            })
        }
        "External" => {
            need("process_command", &profile.process_command)?;
            Box::new(ExternalProvider {
                command: profile.process_command.clone(),
                origin,
                region,
            })
        }
        other => {
            return Err(Error::NoCredentials(format!(
                "profile `{name}` in {} has mode {other}, which ack-credential-plugin does not \
                 support; use AK, StsToken, RamRoleArn, ChainableRamRoleArn, EcsRamRole, OIDC, \
                 CredentialsURI or External",
                path.display()
            )));
        }
    };
    visiting.pop();
    Ok(provider)
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

/// A RamRoleArn or ChainableRamRoleArn profile's role, assumed with `source`.
fn role(
    ctx: &Context,
    profile: &Profile,
    source: Box<dyn Provider>,
    origin: String,
) -> Result<RoleProvider, Error> {
    Ok(RoleProvider {
        source,
        role: role_request(profile),
        sts_endpoint: ctx.sts.resolve(non_empty(&profile.sts_region))?,
        origin,
    })
}

fn role_request(profile: &Profile) -> RoleRequest {
    let mut role = RoleRequest::new(&profile.ram_role_arn).with(
        non_empty(&profile.ram_session_name),
        non_empty(&profile.policy),
    );
    // As in the CLI: 0 means the default; STS refuses less than 900.
    role.duration_seconds = match profile.expired_seconds {
        0 => sts::DEFAULT_DURATION_SECONDS,
        seconds => seconds.max(sts::MIN_DURATION_SECONDS),
    };
    role.external_id = non_empty(&profile.external_id).map(str::to_string);
    role
}

/// The profile's mode, or the one its fields imply when `mode` is empty.
fn mode(profile: &Profile) -> Result<&str, String> {
    if !profile.mode.is_empty() {
        return Ok(&profile.mode);
    }
    let has = |v: &str| !v.is_empty();
    Ok(
        if has(&profile.ram_role_arn) && has(&profile.source_profile) {
            "ChainableRamRoleArn"
        } else if has(&profile.ram_role_arn) && has(&profile.oidc_provider_arn) {
            "OIDC"
        } else if has(&profile.ram_role_arn) && has(&profile.access_key_id) {
            "RamRoleArn"
        } else if has(&profile.access_key_id) && has(&profile.sts_token) {
            "StsToken"
        } else if has(&profile.access_key_id) {
            "AK"
        } else if has(&profile.ram_role_name) {
            "EcsRamRole"
        } else if has(&profile.credentials_uri) {
            "CredentialsURI"
        } else if has(&profile.process_command) {
            "External"
        } else {
            return Err("it has no mode, and no fields to tell one from".to_string());
        },
    )
}

fn non_empty(value: &str) -> Option<&str> {
    Some(value.trim()).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(json: &str) -> Profile {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn infers_the_mode_from_the_fields() {
        let cases = [
            (r#"{"access_key_id":"a","access_key_secret":"s"}"#, "AK"),
            (
                r#"{"access_key_id":"a","access_key_secret":"s","sts_token":"t"}"#,
                "StsToken",
            ),
            (r#"{"access_key_id":"a","ram_role_arn":"r"}"#, "RamRoleArn"),
            (
                r#"{"source_profile":"p","ram_role_arn":"r"}"#,
                "ChainableRamRoleArn",
            ),
            (r#"{"oidc_provider_arn":"p","ram_role_arn":"r"}"#, "OIDC"),
            (r#"{"ram_role_name":"r"}"#, "EcsRamRole"),
            (r#"{"credentials_uri":"u"}"#, "CredentialsURI"),
            (r#"{"process_command":"c"}"#, "External"),
            (r#"{"mode":"AK","ram_role_name":"r"}"#, "AK"),
        ];
        for (json, expected) in cases {
            assert_eq!(mode(&profile(json)).unwrap(), expected, "{json}");
        }
        assert!(mode(&profile("{}")).is_err());
    }

    #[test]
    fn expired_seconds_zero_means_an_hour_and_at_least_900() {
        let p = |s: u64| {
            role_request(&profile(&format!(
                r#"{{"ram_role_arn":"r","expired_seconds":{s}}}"#
            )))
        };
        assert_eq!(p(0).duration_seconds, 3600);
        assert_eq!(p(100).duration_seconds, 900);
        assert_eq!(p(7200).duration_seconds, 7200);
    }

    #[test]
    fn invalid_files_are_reported_by_position_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"profiles":[{"name":"a","access_key_secret":12345678}]}"#,
        )
        .unwrap();
        let error = load(&path).err().unwrap().to_string();
        assert!(
            error.contains("line 1") && !error.contains("12345678"),
            "{error}"
        );
        std::fs::write(&path, "{").unwrap();
        assert!(load(&path).is_err());
        assert!(load(&dir.path().join("missing.json")).unwrap().is_none());
    }
}
