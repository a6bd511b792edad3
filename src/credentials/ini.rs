//! Step 4 of the chain: the official SDKs' shared credentials file, INI format:
//! `ALIBABA_CLOUD_CREDENTIALS_FILE`, else `~/.alibabacloud/credentials` (one SDK defaults to
//! `credentials.ini` in the same folder, also read). The section is `ALIBABA_CLOUD_PROFILE`, else
//! `default`; its `type` picks the source.
//!
//! ```ini
//! [default]
//! type = access_key
//! access_key_id = LTAI...
//! access_key_secret = ...
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::Provider;
use super::chain::{Context, Step};
use super::ecs::EcsProvider;
use super::oidc::OidcProvider;
use super::role::RoleProvider;
use super::static_key::StaticProvider;
use crate::aliyun::sts::RoleRequest;
use crate::error::Error;

pub(crate) const FILE_VAR: &str = "ALIBABA_CLOUD_CREDENTIALS_FILE";

/// Sections by name, keys by name.
type Sections = HashMap<String, HashMap<String, String>>;

/// The file to read: the variable's, or the first default that exists.
pub(crate) fn path(ctx: &Context) -> Option<PathBuf> {
    if let Some(path) = ctx.env.get(FILE_VAR) {
        return Some(PathBuf::from(path));
    }
    let dir = ctx.home.as_ref()?.join(".alibabacloud");
    ["credentials", "credentials.ini"]
        .map(|name| dir.join(name))
        .into_iter()
        .find(|p| p.exists())
}

/// The provider of the selected section, or why there is none.
pub(crate) fn provider(ctx: &Context, path: &Path) -> Result<Step, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Step::Skip(format!("{} does not exist", path.display())));
        }
        Err(e) => {
            return Err(Error::NoCredentials(format!(
                "cannot read the credentials file {}: {e}",
                path.display()
            )));
        }
    };
    let name = ctx
        .env
        .get(super::cli_profile::PROFILE_VAR)
        .unwrap_or("default");
    let sections = parse(&text);
    let Some(section) = sections.get(name) else {
        return Ok(Step::Skip(format!(
            "{} has no section [{name}]",
            path.display()
        )));
    };
    if section.get("enable").is_some_and(|v| v == "false") {
        return Ok(Step::Skip(format!(
            "section [{name}] of {} is disabled",
            path.display()
        )));
    }
    let origin = format!("section [{name}] of {}", path.display());
    let get = |key: &str| {
        section
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let need = |key: &str| {
        get(key).ok_or_else(|| {
            Error::NoCredentials(format!("{origin} has no `{key}`, which its type needs"))
        })
    };
    let provider: Box<dyn Provider> = match get("type").unwrap_or("") {
        "access_key" => Box::new(StaticProvider::new(
            need("access_key_id")?,
            need("access_key_secret")?,
            None,
            origin,
        )),
        "ecs_ram_role" => Box::new(EcsProvider {
            endpoint: ctx.ecs_endpoint.clone(),
            role: get("role_name").map(str::to_string),
            imds_v1_disabled: ctx.imds_v1_disabled,
            origin,
            tried_before: None,
            region: None,
        }),
        "ram_role_arn" => {
            let source = StaticProvider::new(
                need("access_key_id")?,
                need("access_key_secret")?,
                None,
                origin.clone(),
            );
            Box::new(RoleProvider {
                source: Box::new(source),
                role: RoleRequest::new(need("role_arn")?)
                    .with(get("role_session_name"), get("policy")),
                sts_endpoint: ctx.sts.resolve(None)?,
                origin,
            })
        }
        "oidc_role_arn" => Box::new(OidcProvider {
            role: RoleRequest::new(need("role_arn")?).with(get("role_session_name"), get("policy")),
            provider_arn: need("oidc_provider_arn")?.to_string(),
            token_file: PathBuf::from(need("oidc_token_file_path")?),
            sts_endpoint: ctx.sts.resolve(None)?,
            origin,
            region: None,
        }),
        other => {
            return Err(Error::NoCredentials(format!(
                "{origin} has type {other:?}; expected access_key, ecs_ram_role, ram_role_arn or oidc_role_arn"
            )));
        }
    };
    Ok(Step::Use(provider))
}

/// A forgiving INI reader: `[section]`, `key = value`, `#` and `;` comments, optional quotes.
pub(crate) fn parse(text: &str) -> Sections {
    let mut sections = Sections::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.trim().to_string();
            sections.entry(name.clone()).or_default();
            current = Some(name);
        } else if let (Some(section), Some((key, value))) = (&current, line.split_once('=')) {
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            sections
                .entry(section.clone())
                .or_default()
                .insert(key.trim().to_string(), value.to_string());
        }
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections_comments_and_quotes() {
        let text = "# top\n[default]\ntype = access_key\naccess_key_id=LTAI1\n; note\n\
                    access_key_secret = \"s e\"\n\n[other]\ntype=ecs_ram_role\nrole_name = r\n";
        let sections = parse(text);
        assert_eq!(sections["default"]["type"], "access_key");
        assert_eq!(sections["default"]["access_key_id"], "LTAI1");
        assert_eq!(sections["default"]["access_key_secret"], "s e");
        assert_eq!(sections["other"]["role_name"], "r");
        assert_eq!(sections.len(), 2);
    }
}
