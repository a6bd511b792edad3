//! The default credential chain: the first source that is configured wins.
//!
//! The order is the official SDKs': the environment, RRSA (OIDC from the environment), the
//! aliyun CLI profile, the shared INI file, the ECS instance's RAM role, a credentials URI.
//! The choice is made without network (a cache hit must not wait for a metadata probe), so the
//! ECS step is taken in its SDK place, before the credentials URI, when it is known to apply:
//! `ALIBABA_CLOUD_ECS_METADATA` names the role, or the firmware says this is an ECS instance.
//! Elsewhere (a container that hides the firmware, say) it is the last resort, after the URI;
//! when it fails its error lists everything tried before it.

use std::path::Path;

use super::context::{Context, NO_CREDENTIALS_HINT, Step, check_external_allowed};
use super::ecs::EcsProvider;
use super::role::RoleProvider;
use super::session;
use super::uri::{URI_VAR, UriProvider};
use super::{Provider, cli_profile, env, ini, oidc};
use crate::aliyun::sts::{ProfileSts, RoleRequest};
use crate::error::Error;

pub(crate) const ECS_ROLE_VAR: &str = "ALIBABA_CLOUD_ECS_METADATA";
pub(crate) const ECS_DISABLED_VAR: &str = "ALIBABA_CLOUD_ECS_METADATA_DISABLED";
/// Find the credential source: the profile `--profile` names, else the default chain; with
/// `--role-arn`, that role assumed on top.
pub(crate) fn discover(
    ctx: &Context,
    profile: Option<&str>,
    role_arn: Option<&str>,
) -> Result<Box<dyn Provider>, Error> {
    discover_explained(ctx, profile, role_arn).map(|found| found.provider)
}

/// The source [`discover`] finds, and why each source before it in the chain was passed over
/// (for `doctor`).
pub(crate) struct Explained {
    pub(crate) provider: Box<dyn Provider>,
    /// One line per source passed over, in the chain's order: "the environment: ... are not
    /// set". Empty when the first source was used, or `--profile` chose it.
    pub(crate) skipped: Vec<String>,
}

/// [`discover`], saying why each earlier source was skipped.
pub(crate) fn discover_explained(
    ctx: &Context,
    profile: Option<&str>,
    role_arn: Option<&str>,
) -> Result<Explained, Error> {
    let mut skipped = Vec::new();
    let base = match profile {
        Some(name) => cli_profile::forced(ctx, name)?,
        None => default_chain(ctx, &mut skipped)?,
    };
    let provider: Box<dyn Provider> = match role_arn {
        Some(arn) => session::kept(
            ctx.session.as_ref(),
            Box::new(RoleProvider {
                source: base,
                role: RoleRequest::new(arn),
                sts_endpoint: ctx.sts.resolve(ProfileSts::default())?,
                origin: "--role-arn".to_string(),
            }),
        ),
        None => base,
    };
    Ok(Explained { provider, skipped })
}

/// The default chain's source; `tried` gets a line for each source passed over on the way.
fn default_chain(ctx: &Context, tried: &mut Vec<String>) -> Result<Box<dyn Provider>, Error> {
    if let Some(provider) = env::from_env(ctx.env)? {
        return Ok(Box::new(provider));
    }
    tried.push(format!(
        "the environment: {} and {} (or another spelling of them) are not set",
        env::ACCESS_KEY_ID,
        env::ACCESS_KEY_SECRET
    ));

    if let Some(provider) = oidc::from_env(ctx.env, &ctx.sts.resolve(ProfileSts::default())?)? {
        return Ok(session::kept(ctx.session.as_ref(), Box::new(provider)));
    }
    tried.push(format!(
        "RRSA: {}, {} and {} are not set",
        oidc::ROLE_ARN,
        oidc::PROVIDER_ARN,
        oidc::TOKEN_FILE
    ));

    match cli_profile::step(ctx)? {
        Step::Use(provider) => return Ok(provider),
        Step::Skip(why) => tried.push(why),
    }

    match ini::path(ctx) {
        Some(path) => match ini::provider(ctx, &path)? {
            Step::Use(provider) => return Ok(provider),
            Step::Skip(why) => tried.push(format!("credentials file: {why}")),
        },
        None => tried.push(format!(
            "credentials file: ~/.alibabacloud/credentials does not exist ({} is not set)",
            ini::FILE_VAR
        )),
    }

    let ecs_enabled = !ctx
        .env
        .get(ECS_DISABLED_VAR)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let ecs = |role: Option<&str>, tried_before| EcsProvider {
        endpoint: ctx.ecs_endpoint.clone(),
        role: role.map(str::to_string),
        imds_v1_disabled: ctx.imds_v1_disabled,
        origin: "the ECS metadata service".to_string(),
        tried_before,
        region: None,
    };
    if ecs_enabled && let Some(role) = ctx.env.get(ECS_ROLE_VAR) {
        return Ok(Box::new(ecs(Some(role), None)));
    }
    // On an ECS instance (its firmware says so, no request needed) the instance role keeps the
    // SDKs' place, before the credentials URI.
    if ecs_enabled && on_alibaba_ecs(&ctx.dmi_dir) {
        return Ok(Box::new(ecs(None, Some(tried.clone()))));
    }

    if let Some(uri) = ctx.env.get(URI_VAR) {
        let origin = format!("the environment ({URI_VAR})");
        check_external_allowed(ctx, &origin)?;
        return Ok(Box::new(UriProvider {
            uri: uri.to_string(),
            origin,
            region: None,
        }));
    }
    tried.push(format!("credentials URI: {URI_VAR} is not set"));

    if ecs_enabled {
        return Ok(Box::new(ecs(None, Some(tried.clone()))));
    }
    tried.push(format!(
        "the ECS instance RAM role: disabled by {ECS_DISABLED_VAR}=true"
    ));
    Err(Error::NoCredentials(format!(
        "no Alibaba Cloud credentials found. Tried, in order:\n  - {}\n{NO_CREDENTIALS_HINT}",
        tried.join("\n  - ")
    )))
}

/// Whether the firmware says this is an Alibaba Cloud ECS instance: DMI's product name is
/// "Alibaba Cloud ECS" (and the vendor "Alibaba Cloud") there. A local file read, no request.
pub(crate) fn on_alibaba_ecs(dmi_dir: &Path) -> bool {
    let read = |name: &str| std::fs::read_to_string(dmi_dir.join(name)).unwrap_or_default();
    read("product_name").contains("Alibaba Cloud ECS")
        || read("sys_vendor").trim() == "Alibaba Cloud"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aliyun::sts::StsEndpoint;
    use crate::credentials::ecs;
    use crate::env::Env;

    fn chosen(env: &[(&str, &str)], dmi: &[(&str, &str)]) -> Result<String, String> {
        chosen_identity(env, dmi)
            .map(|identity| crate::credentials::identity::render(identity.value()))
    }

    fn chosen_identity(
        env: &[(&str, &str)],
        dmi: &[(&str, &str)],
    ) -> Result<crate::credentials::Identity, String> {
        let home = tempfile::tempdir().unwrap();
        let dmi_dir = tempfile::tempdir().unwrap();
        for (name, value) in dmi {
            std::fs::write(dmi_dir.path().join(name), value).unwrap();
        }
        let env = Env::from_pairs(env.iter().copied());
        let sts = StsEndpoint::default();
        let ctx = Context {
            env: &env,
            home: Some(home.path().to_path_buf()),
            sts: &sts,
            ecs_endpoint: ecs::DEFAULT_ENDPOINT.into(),
            imds_v1_disabled: false,
            dmi_dir: dmi_dir.path().to_path_buf(),
            session: None,
        };
        discover(&ctx, None, None)
            .map(|p| p.identity())
            .map_err(|e| e.to_string())
    }

    const ECS_DMI: [(&str, &str); 2] = [
        ("sys_vendor", "Alibaba Cloud\n"),
        ("product_name", "Alibaba Cloud ECS\n"),
    ];

    #[test]
    fn on_ecs_the_instance_role_comes_before_the_credentials_uri() {
        let uri = [(URI_VAR, "http://127.0.0.1:1/creds")];
        assert_eq!(
            chosen(&uri, &ECS_DMI).unwrap(),
            format!("ecs-ram-role:(attached) on {}", ecs::host_name())
        );
        assert!(chosen(&uri, &[]).unwrap().starts_with("credentials-uri:"));
        assert!(
            chosen(&uri, &[("sys_vendor", "QEMU\n")])
                .unwrap()
                .starts_with("credentials-uri:")
        );
        let disabled = [
            (URI_VAR, "http://127.0.0.1:1/creds"),
            (ECS_DISABLED_VAR, "true"),
        ];
        assert!(
            chosen(&disabled, &ECS_DMI)
                .unwrap()
                .starts_with("credentials-uri:")
        );
    }

    #[test]
    fn configured_sources_still_come_first_on_ecs() {
        let keys = [
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI1"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "s"),
        ];
        assert_eq!(chosen(&keys, &ECS_DMI).unwrap(), "access-key:LTAI1");
    }

    #[test]
    fn nothing_configured_off_ecs_with_the_probe_disabled_lists_what_was_tried() {
        let error = chosen(&[(ECS_DISABLED_VAR, "true")], &[]).unwrap_err();
        for step in [
            "environment",
            "RRSA",
            "aliyun CLI config",
            "credentials file",
            "credentials URI",
            "ECS",
        ] {
            assert!(error.contains(step), "{step}: {error}");
        }
    }
}
