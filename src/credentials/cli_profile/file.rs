//! The aliyun CLI's config file as the CLI reads it: where it is, its profiles with every field
//! the CLI writes, and the mode an empty `mode` stands for.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::credentials::context::Context;
use crate::error::Error;

/// The variable that names the config file instead of `~/.aliyun/config.json`.
pub(crate) const FILE_VAR: &str = "ALIBABA_CLOUD_CONFIG_FILE";
/// The variable the SDKs read for the profile (and the INI section).
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
    pub(crate) expired_seconds: i64,
    pub(crate) external_id: String,
    pub(crate) policy: String,
    pub(crate) sts_region: String,
    pub(crate) sts_endpoint: String,
    pub(crate) enable_vpc: bool,
    pub(crate) endpoint_type: String,
    pub(crate) region_id: String,
    pub(crate) oidc_provider_arn: String,
    pub(crate) oidc_token_file: String,
    pub(crate) credentials_uri: String,
    pub(crate) process_command: String,
    pub(crate) private_key: String,
    pub(crate) key_pair_name: String,
    pub(crate) bearer_token: String,
    pub(crate) cloud_sso_sign_in_url: String,
    pub(crate) cloud_sso_account_id: String,
    pub(crate) cloud_sso_access_config: String,
    pub(crate) access_token: String,
    pub(crate) cloud_sso_access_token_expire: i64,
    pub(crate) oauth_site_type: String,
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

/// The file's contents.
pub(crate) fn parse(text: &[u8], path: &Path) -> Result<ConfigFile, Error> {
    parse_as(text, path)
}

/// The file's contents as `T` (a [`ConfigFile`], or the whole document for a write-back).
pub(crate) fn parse_as<T: DeserializeOwned>(text: &[u8], path: &Path) -> Result<T, Error> {
    serde_json::from_slice(text).map_err(|e| {
        Error::NoCredentials(format!(
            "the aliyun CLI config {} is not valid: {}",
            path.display(),
            mistake(&e)
        ))
    })
}

/// What is wrong with the file, and where. Only the position of a mistake is reported: a
/// message about a value could quote a secret (credentials-go quotes the whole file).
pub(crate) fn mistake(error: &serde_json::Error) -> String {
    format!(
        "{} at line {}, column {}",
        if error.is_data() {
            "a value of the wrong type"
        } else {
            "malformed JSON"
        },
        error.line(),
        error.column()
    )
}

/// The profile's mode, or the one its fields imply when `mode` is empty, in the aliyun CLI's
/// order (`AutoModeRecognition`): an AccessKey pair (StsToken with an `sts_token`, else
/// RamRoleArn with a `ram_role_arn`, else AK), RsaKeyPair, EcsRamRole, External, OIDC,
/// CloudSSO, BearerToken. ChainableRamRoleArn, CredentialsURI and OAuth are never inferred.
pub(crate) fn mode(profile: &Profile) -> Option<&str> {
    if !profile.mode.is_empty() {
        return Some(&profile.mode);
    }
    let has = |v: &str| !v.is_empty();
    Some(
        if has(&profile.access_key_id) && has(&profile.access_key_secret) {
            if has(&profile.sts_token) {
                "StsToken"
            } else if has(&profile.ram_role_arn) {
                "RamRoleArn"
            } else {
                "AK"
            }
        } else if has(&profile.private_key) && has(&profile.key_pair_name) {
            "RsaKeyPair"
        } else if has(&profile.ram_role_name) {
            "EcsRamRole"
        } else if has(&profile.process_command) {
            "External"
        } else if has(&profile.oidc_provider_arn)
            && has(&profile.oidc_token_file)
            && has(&profile.ram_role_arn)
        {
            "OIDC"
        } else if has(&profile.cloud_sso_sign_in_url) {
            "CloudSSO"
        } else if has(&profile.bearer_token) {
            "BearerToken"
        } else {
            return None;
        },
    )
}

pub(crate) fn non_empty(value: &str) -> Option<&str> {
    Some(value.trim()).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(json: &str) -> Profile {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn infers_the_mode_from_the_fields_as_the_cli_does() {
        let cases = [
            (
                r#"{"access_key_id":"a","access_key_secret":"s"}"#,
                Some("AK"),
            ),
            (
                r#"{"access_key_id":"a","access_key_secret":"s","sts_token":"t"}"#,
                Some("StsToken"),
            ),
            (
                r#"{"access_key_id":"a","access_key_secret":"s","sts_token":"t","ram_role_arn":"r"}"#,
                Some("StsToken"),
            ),
            (
                r#"{"access_key_id":"a","access_key_secret":"s","ram_role_arn":"r"}"#,
                Some("RamRoleArn"),
            ),
            (r#"{"access_key_id":"a","ram_role_arn":"r"}"#, None),
            (r#"{"source_profile":"p","ram_role_arn":"r"}"#, None),
            (r#"{"credentials_uri":"u"}"#, None),
            (
                r#"{"oidc_provider_arn":"p","oidc_token_file":"f","ram_role_arn":"r"}"#,
                Some("OIDC"),
            ),
            (r#"{"ram_role_name":"r"}"#, Some("EcsRamRole")),
            (r#"{"process_command":"c"}"#, Some("External")),
            (r#"{"cloud_sso_sign_in_url":"u"}"#, Some("CloudSSO")),
            (r#"{"mode":"AK","ram_role_name":"r"}"#, Some("AK")),
        ];
        for (json, expected) in cases {
            assert_eq!(mode(&profile(json)), expected, "{json}");
        }
        assert!(mode(&profile("{}")).is_none());
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
