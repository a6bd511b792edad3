//! The variables the official tools read, each against what the plugin does with it.

#[allow(
    clippy::wildcard_imports,
    reason = "the suite's shared helpers and imports"
)]
use super::*;

pub(super) const AK_CONFIG: &str = r#"{"current": "first", "profiles": [
    {"name": "first", "mode": "AK", "access_key_id": "FIRST", "access_key_secret": "s", "region_id": "cn-profile"},
    {"name": "second", "mode": "AK", "access_key_id": "SECOND", "access_key_secret": "s"},
    {"name": "ext", "mode": "External", "process_command": "/bin/echo {}"}]}"#;
pub(super) const AK_INI: &str =
    "[default]\ntype = access_key\naccess_key_id = INI\naccess_key_secret = s\n";

pub(super) fn id_is(observed: &Value, id: &str) -> Result<(), String> {
    matches(
        &json!({"identity": {"type": "access-key", "id": id}}),
        observed,
    )
}

/// How the plugin honours one variable of env-vars.json.
#[allow(clippy::too_many_lines, reason = "one arm per variable, each short")]
pub(super) fn env_var(var: &str) -> Result<(), String> {
    use crate::credentials::env::SPELLINGS;
    if let Some(family) = SPELLINGS.iter().find(|f| f.contains(&var)) {
        let world = World::new()
            .var(family[0], "FAMILY")
            .var(family[1], "s")
            .var(family[2], "t");
        let observed = world.discover(None);
        id_is(&observed, "FAMILY")?;
        return matches(
            &json!({"describe_contains": ["STS token FAMILY"]}),
            &observed,
        );
    }
    let settings = |world: &World| world.settings().map_err(|e| e.to_string());
    let sts = |world: &World| -> Result<String, String> {
        settings(world)?
            .access
            .sts
            .resolve(ProfileSts::default())
            .map_err(|e| e.to_string())
    };
    let cs = |world: &World| -> Result<String, String> {
        settings(world)?
            .api_endpoint(None)
            .map_err(|e| e.to_string())
    };
    let equal = |have: String, want: &str| {
        if have == want {
            Ok(())
        } else {
            Err(format!("{have}, expected {want}"))
        }
    };
    match var {
        "ALIBABA_CLOUD_ROLE_ARN"
        | "ALIBABA_CLOUD_OIDC_PROVIDER_ARN"
        | "ALIBABA_CLOUD_OIDC_TOKEN_FILE"
        | "ALIBABA_CLOUD_ROLE_SESSION_NAME" => {
            for prefix in ["ALIBABA_CLOUD_", "ALIBABACLOUD_"] {
                let world = World::new()
                    .var(&format!("{prefix}ROLE_ARN"), "acs:ram::1:role/r")
                    .var(&format!("{prefix}OIDC_PROVIDER_ARN"), "provider")
                    .var(&format!("{prefix}OIDC_TOKEN_FILE"), "/token")
                    .var("ALIBABA_CLOUD_ROLE_SESSION_NAME", "mine");
                matches(
                    &json!({"identity": {"type": "oidc", "provider": "provider",
                        "role": {"arn": "acs:ram::1:role/r", "session": "mine"}}}),
                    &world.discover(None),
                )?;
            }
            Ok(())
        }
        "ALIBABA_CLOUD_PROFILE" | "ALIBABACLOUD_PROFILE" | "ALICLOUD_PROFILE" => {
            let world = World::new().var(var, "second");
            world.file(".aliyun/config.json", AK_CONFIG);
            id_is(&world.discover(None), "SECOND")
        }
        "ALIBABA_CLOUD_CONFIG_FILE" => {
            let world = World::new();
            let path = world.file("elsewhere/cli.json", AK_CONFIG);
            let world = world.var(var, &path.display().to_string());
            id_is(&world.discover(None), "FIRST")
        }
        "ALIBABA_CLOUD_CLI_PROFILE_DISABLED"
        | "ALIBABA_CLOUD_IGNORE_PROFILE"
        | "ALIBABACLOUD_IGNORE_PROFILE" => {
            let value = if var.contains("IGNORE") {
                "TRUE"
            } else {
                "true"
            };
            let world = World::new().var(var, value);
            world.file(".aliyun/config.json", AK_CONFIG);
            world.file(".alibabacloud/credentials", AK_INI);
            id_is(&world.discover(None), "INI")?;
            id_is(&world.discover(Some("second")), "SECOND")
        }
        "ALIBABA_CLOUD_CREDENTIALS_FILE" => {
            let world = World::new();
            let path = world.file("elsewhere/credentials", AK_INI);
            let world = world.var(var, &path.display().to_string());
            id_is(&world.discover(None), "INI")
        }
        "ALIBABA_CLOUD_ECS_METADATA" => {
            let world = World::new().var(var, "my-role");
            matches(
                &json!({"identity": {"type": "ecs-ram-role", "role": "my-role"}}),
                &world.discover(None),
            )
        }
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED" => {
            let world = World::new().var(var, "true");
            matches(
                &json!({"error_contains": "disabled by ALIBABA_CLOUD_ECS_METADATA_DISABLED=true"}),
                &world.discover(None),
            )
        }
        "ALIBABA_CLOUD_IMDSV1_DISABLED" | "ALIBABA_CLOUD_ECS_IMDSV2_ENABLE" => {
            let off = settings(&World::new())?.access.imds_v1_disabled;
            let on = settings(&World::new().var(var, "true"))?
                .access
                .imds_v1_disabled;
            if !off && on {
                Ok(())
            } else {
                Err(format!("IMDSv1 disabled: {off} without, {on} with"))
            }
        }
        "ALIBABA_CLOUD_CREDENTIALS_URI" => {
            let world = World::new()
                .var(var, "http://127.0.0.1:1/creds")
                .var("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true");
            matches(
                &json!({"identity": {"type": "credentials-uri", "uri": "http://127.0.0.1:1/creds"}}),
                &world.discover(None),
            )
        }
        "ALIBABA_CLOUD_STS_REGION" => equal(
            sts(&World::new().var(var, "cn-beijing"))?,
            "https://sts.cn-beijing.aliyuncs.com",
        ),
        "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED" => equal(
            sts(&World::new()
                .var(var, "true")
                .var("ALIBABA_CLOUD_STS_REGION", "cn-beijing"))?,
            "https://sts-vpc.cn-beijing.aliyuncs.com",
        ),
        "ALIBABA_CLOUD_STS_ENDPOINT" => {
            equal(
                sts(&World::new().var(var, "sts.cn-shanghai.aliyuncs.com"))?,
                "https://sts.cn-shanghai.aliyuncs.com",
            )?;
            equal(
                sts(&World::new().var(var, "http://127.0.0.1:9"))?,
                "http://127.0.0.1:9",
            )?;
            match settings(&World::new().var(var, "http://sts.aliyuncs.com")) {
                Err(_) => Ok(()),
                Ok(_) => Err("plain http to a remote host was accepted".into()),
            }
        }
        "ALIBABA_CLOUD_REGION_ID"
        | "ALIBABACLOUD_REGION_ID"
        | "ALICLOUD_REGION_ID"
        | "REGION_ID"
        | "REGION" => equal(
            cs(&World::new().var(var, "cn-chengdu"))?,
            "https://cs.cn-chengdu.aliyuncs.com",
        ),
        "ALIBABA_CLOUD_ENDPOINT_TYPE" => equal(
            cs(&World::new()
                .var(var, "vpc")
                .var("ALIBABA_CLOUD_REGION_ID", "cn-chengdu"))?,
            "https://cs-vpc.cn-chengdu.aliyuncs.com",
        ),
        "ALIBABA_CLOUD_DISABLE_EXTERNAL_PROCESS" => {
            for value in ["1", "true"] {
                let world = World::new().var(var, value);
                world.file(".aliyun/config.json", AK_CONFIG);
                matches(
                    &json!({"error_contains": "forbids"}),
                    &world.discover(Some("ext")),
                )?;
            }
            Ok(())
        }
        // As Go reads them (src/aliyun/proxy.rs): each scheme its own, NO_PROXY exempts.
        "HTTPS_PROXY" | "HTTP_PROXY" | "NO_PROXY" => {
            let proxy = |world: &World, url: &str| -> Result<Option<String>, String> {
                let url = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
                Ok(settings(world)?.access.client.proxies.for_url(&url))
            };
            let world = World::new()
                .var("HTTPS_PROXY", "http://secure.proxy:3128")
                .var("HTTP_PROXY", "http://plain.proxy:3128");
            let https = proxy(&world, "https://cs.aliyuncs.com/")?;
            let http = proxy(&world, "http://metadata.example/")?;
            let world = world.var("NO_PROXY", "aliyuncs.com");
            let exempt = proxy(&world, "https://cs.cn-hangzhou.aliyuncs.com/")?;
            let got = (https.as_deref(), http.as_deref(), exempt);
            if got
                == (
                    Some("http://secure.proxy:3128"),
                    Some("http://plain.proxy:3128"),
                    None,
                )
            {
                Ok(())
            } else {
                Err(format!("{got:?}"))
            }
        }
        _ => Err("no check of this variable".into()),
    }
}

pub(super) fn env_vars() -> Vec<Check> {
    let fixture = load("env-vars.json");
    let mut seen = BTreeSet::new();
    let mut checks = Vec::new();
    for row in fixture["rows"].as_array().unwrap() {
        for var in row["vars"].as_array().unwrap() {
            let var = var.as_str().unwrap();
            if seen.insert(var.to_string()) {
                checks.push(check(format!("env-vars.json#{var}"), env_var(var)));
            }
        }
    }
    // Named in the rows' `read_by` rather than `vars`.
    for var in ["ALIBABACLOUD_PROFILE", "ALICLOUD_PROFILE"] {
        checks.push(check(format!("env-vars.json#{var}"), env_var(var)));
    }
    checks
}
