//! Step 4 of the chain: the official SDKs' shared credentials file, INI format:
//! `ALIBABA_CLOUD_CREDENTIALS_FILE`, else `~/.alibabacloud/credentials` (the Java and Python
//! SDKs default to `credentials.ini` in the same folder, also read). The section is
//! `ALIBABA_CLOUD_PROFILE`, else `default`; its `type` picks the source.
//!
//! ```ini
//! [default]                    # comments may follow section headers and values
//! type = access_key            # the SDK README's own example
//! access_key_id = LTAI...
//! access_key_secret = ...
//! ```
//!
//! Types: the SDKs' `access_key`, `ecs_ram_role`, `ram_role_arn` and `oidc_role_arn`, and
//! ack-ram-tool's `sts`, `credentials_uri` and `external`, so a file written for either works.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::Provider;
use super::context::{self, Context, Step};
use super::ecs::EcsProvider;
use super::external::ExternalProvider;
use super::oidc::OidcProvider;
use super::role::RoleProvider;
use super::session;
use super::static_key::StaticProvider;
use super::uri::UriProvider;
use crate::aliyun::sts::{ProfileSts, RoleRequest};
use crate::error::Error;

pub(crate) const FILE_VAR: &str = "ALIBABA_CLOUD_CREDENTIALS_FILE";

/// The keys of one section; a key written without `=` has no value.
pub(crate) type Section = BTreeMap<String, Option<String>>;
/// Sections by name. Keys before the first section header go to `?`, as ini4j (and so the
/// Java SDK) does.
pub(crate) type Sections = BTreeMap<String, Section>;

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
        .get(super::cli_profile::file::PROFILE_VAR)
        .unwrap_or("default");
    let sections = parse(&text).map_err(|e| {
        Error::NoCredentials(format!(
            "the credentials file {} is not valid: {e}",
            path.display()
        ))
    })?;
    let Some(section) = sections.get(name) else {
        return Ok(Step::Skip(format!(
            "{} has no section [{name}]",
            path.display()
        )));
    };
    let get = |key: &str| -> Option<&str> {
        section
            .get(key)
            .and_then(Option::as_deref)
            .filter(|v| !v.is_empty())
    };
    if get("enable").is_some_and(|v| v.eq_ignore_ascii_case("false")) {
        return Ok(Step::Skip(format!(
            "section [{name}] of {} is disabled (enable = false)",
            path.display()
        )));
    }
    let origin = format!("section [{name}] of {}", path.display());
    section_provider(ctx, &get, origin).map(Step::Use)
}

/// The source a section describes; `get` reads a key's non-empty value.
fn section_provider<'s>(
    ctx: &Context,
    get: &dyn Fn(&str) -> Option<&'s str>,
    origin: String,
) -> Result<Box<dyn Provider>, Error> {
    let need = |key: &str| {
        get(key).ok_or_else(|| {
            Error::NoCredentials(format!("{origin} has no `{key}`, which its type needs"))
        })
    };
    let kept = |provider: Box<dyn Provider>| session::kept(ctx.session.as_ref(), provider);
    Ok(match get("type").unwrap_or("") {
        "access_key" => Box::new(StaticProvider::new(
            need("access_key_id")?,
            need("access_key_secret")?,
            None,
            origin,
        )),
        // ack-ram-tool's spelling is `sts_token`, credentials-go's older one `security_token`.
        "sts" => Box::new(StaticProvider::new(
            need("access_key_id")?,
            need("access_key_secret")?,
            Some(get("sts_token").or(get("security_token")).ok_or_else(|| {
                Error::NoCredentials(format!("{origin} has no `sts_token`, which its type needs"))
            })?),
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
            kept(Box::new(RoleProvider {
                source: Box::new(source),
                role: RoleRequest::new(need("role_arn")?)
                    .with(get("role_session_name"), get("policy")),
                sts_endpoint: ctx.sts.resolve(ProfileSts::default())?,
                origin,
            }))
        }
        "oidc_role_arn" => kept(Box::new(OidcProvider {
            role: RoleRequest::new(need("role_arn")?).with(get("role_session_name"), get("policy")),
            provider_arn: need("oidc_provider_arn")?.to_string(),
            token_file: PathBuf::from(need("oidc_token_file_path")?),
            sts_endpoint: ctx.sts.resolve(ProfileSts::default())?,
            origin,
            region: None,
        })),
        "credentials_uri" => {
            context::check_external_allowed(ctx, &origin)?;
            Box::new(UriProvider {
                uri: need("credentials_uri")?.to_string(),
                origin,
                region: None,
            })
        }
        "external" => {
            context::check_external_allowed(ctx, &origin)?;
            let command = need("process_command")?;
            kept(Box::new(ExternalProvider::new(command, origin, None)?))
        }
        other => {
            return Err(Error::NoCredentials(format!(
                "{origin} has type {other:?}; expected access_key, sts, ecs_ram_role, \
                 ram_role_arn, oidc_role_arn, credentials_uri or external"
            )));
        }
    })
}

/// Why a file cannot be read as INI, by line number (never quoting the line: it may hold a
/// secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IniError {
    pub(crate) line: usize,
    pub(crate) what: &'static str,
}

impl fmt::Display for IniError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.what)
    }
}

/// Read INI text as the official SDKs do (the Java SDK's `ProfileUtils` is the most precise
/// of them, and the Go and Python ones agree on what users write):
/// - blank lines and lines starting with `#` or `;` are comments;
/// - `[name]` starts a section, and may be followed by a `#` or `;` comment; a header without
///   its `]` is an error; `[ ]` (no name) is ignored with its keys; a section named twice is
///   one section, the later value of a key wins;
/// - `key = value`, both trimmed; a `#` or `;` after whitespace starts a comment (`a#b` is a
///   value); a value in double quotes is taken without them, `#` and `;` included; `key` alone
///   has no value; ` = value` without a key is an error;
/// - a line starting with a tab and holding no `=` continues the value before it, joined with
///   a newline (Java); a tab-indented `key = value` is a key, as Go reads it.
pub(crate) fn parse(text: &str) -> Result<Sections, IniError> {
    let mut sections = Sections::new();
    // `None` before the first header; the name of the section being read, `""` for an ignored one.
    let mut current: Option<String> = None;
    let mut last_key: Option<String> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || raw.starts_with('#') || raw.starts_with(';') {
            continue;
        }
        if trimmed.starts_with('[') {
            let header = cut_comment(trimmed, |_| true).trim_end();
            let Some(name) = header.strip_prefix('[').and_then(|h| h.strip_suffix(']')) else {
                return Err(IniError {
                    line,
                    what: "a section header must end with `]`",
                });
            };
            let name = name.trim().to_string();
            if !name.is_empty() {
                sections.entry(name.clone()).or_default();
            }
            current = Some(name);
            last_key = None;
            continue;
        }
        let section = current.get_or_insert_with(|| "?".to_string());
        if section.is_empty() {
            continue;
        }
        let values = sections.entry(section.clone()).or_default();
        if raw.starts_with('\t')
            && !trimmed.contains('=')
            && let Some(key) = &last_key
        {
            let value = values.entry(key.clone()).or_default();
            let joined = format!("{}\n{trimmed}", value.as_deref().unwrap_or(""));
            *value = Some(joined);
            continue;
        }
        let (key, value) = match trimmed.split_once('=') {
            Some((key, value)) => (key.trim(), Some(read_value(value.trim()))),
            None => (cut_comment(trimmed, char::is_whitespace).trim(), None),
        };
        if key.is_empty() {
            return Err(IniError {
                line,
                what: "a key has no name",
            });
        }
        values.insert(key.to_string(), value);
        last_key = Some(key.to_string());
    }
    Ok(sections)
}

/// A value after `=`, trimmed: quoted, or up to a comment.
fn read_value(value: &str) -> String {
    if let Some(rest) = value.strip_prefix('"')
        && let Some((inside, after)) = rest.split_once('"')
    {
        let after = after.trim_start();
        if after.is_empty() || after.starts_with('#') || after.starts_with(';') {
            return inside.to_string();
        }
    }
    // At the start (`key = #comment`) the comment has the whitespace before `=` before it.
    if value.starts_with('#') || value.starts_with(';') {
        return String::new();
    }
    cut_comment(value, char::is_whitespace)
        .trim_end()
        .to_string()
}

/// `text` up to the first `#` or `;` whose preceding character passes `before`.
fn cut_comment(text: &str, before: impl Fn(char) -> bool) -> &str {
    let mut previous = None;
    for (at, c) in text.char_indices() {
        if matches!(c, '#' | ';') && previous.is_none_or(&before) {
            return &text[..at];
        }
        previous = Some(c);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value<'s>(sections: &'s Sections, section: &str, key: &str) -> Option<&'s str> {
        sections.get(section)?.get(key)?.as_deref()
    }

    #[test]
    fn parses_sections_comments_and_quotes() {
        let text = "# top\n[default]   # the default\ntype = access_key   ; ak\naccess_key_id=LTAI1\n; note\n\
                    access_key_secret = \"s e # not a comment\"  # a comment\n\n[other]\ntype=ecs_ram_role\n\
                    role_name = r#1\n";
        let sections = parse(text).unwrap();
        assert_eq!(value(&sections, "default", "type"), Some("access_key"));
        assert_eq!(value(&sections, "default", "access_key_id"), Some("LTAI1"));
        assert_eq!(
            value(&sections, "default", "access_key_secret"),
            Some("s e # not a comment")
        );
        assert_eq!(value(&sections, "other", "role_name"), Some("r#1"));
        assert_eq!(sections.len(), 2);
    }

    #[test]
    fn errors_name_the_line_and_never_the_text() {
        let error = parse("[ok]\na = 1\n[TOPSECRET\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "line 3: a section header must end with `]`"
        );
        let error = parse("[ok]\n = TOPSECRET\n").unwrap_err();
        assert_eq!(error.to_string(), "line 2: a key has no name");
    }

    #[test]
    fn tab_lines_continue_a_value_unless_they_are_keys() {
        let sections =
            parse("[a]\n\ttype = access_key\n\taccess_key_id = x\nlong = 1\n\t2\n").unwrap();
        assert_eq!(value(&sections, "a", "type"), Some("access_key"));
        assert_eq!(value(&sections, "a", "access_key_id"), Some("x"));
        assert_eq!(value(&sections, "a", "long"), Some("1\n2"));
    }
}
