//! The aliyun CLI's config.json: every profile of every fixture file, and the mode inference.

#[allow(
    clippy::wildcard_imports,
    reason = "the suite's shared helpers and imports"
)]
use super::*;

/// The official outcome of each profile of the config.json fixtures.
pub(super) fn cli_expectation(file: &str, profile: &str) -> Option<Value> {
    let key = |id: &str| json!({"identity": {"type": "access-key", "id": id}});
    let sts_key = |id: &str| json!({"identity": {"type": "access-key", "id": id}, "describe_contains": ["STS token"]});
    let role = |arn: &str, source: Value| json!({"identity": {"type": "role", "role": {"arn": arn}, "source": source["identity"]}});
    let error = json!({"error": true});
    Some(match (file, profile) {
        ("credentials-go.config.json", "(current = AK)" | "AK")
        | ("credentials-java.config.json", "AK")
        | ("credentials-go.mock_cli_config.json", "current" | "jacksontian") => key("akid"),
        ("credentials-go.config.json" | "credentials-java.config.json", "StsToken") => {
            sts_key("accessKeyId")
        }
        ("credentials-go.config.json", "RamRoleArn") => json!({
            "identity": {"type": "role",
                "role": {"arn": "arn", "external_id": "id", "policy": short_hash("policy")},
                "source": {"type": "access-key", "id": "akid"}},
            "describe_contains": ["assumed at https://sts-vpc.cn-hangzhou.aliyuncs.com for 3600 s"]
        }),
        ("credentials-go.config.json", "RamRoleArn:session") => {
            json!({"identity": {"role": {"session": "credentials-go-<microseconds>"}}})
        }
        ("credentials-go.config.json", "get_credentials_error")
        | ("credentials-java.config.json", "RamRoleArn") => role("arn", key("akid")),
        ("credentials-go.config.json", "EcsRamRole") => {
            json!({"identity": {"type": "ecs-ram-role", "role": "rolename"}})
        }
        ("credentials-go.config.json", "OIDC") => json!({
            "identity": {"type": "oidc", "role": {"arn": "role_arn", "policy": short_hash("policy")},
                "provider": "provider_arn"},
            "describe_contains": ["path/to/oidc/file",
                "assumed at https://sts-vpc.cn-hangzhou.aliyuncs.com for 3600 s"]
        }),
        ("credentials-go.config.json", "ChainableRamRoleArn") => {
            role("arn", role("arn", key("akid")))
        }
        (
            "credentials-go.config.json",
            "ChainableRamRoleArn1"
            | "ChainableRamRoleArn2"
            | "Unsupported"
            | "inexist (by name):--profile"
            | "inexist (by name)",
        )
        | (
            "credentials-java.config.json",
            "Invalid_RamRoleArn" | "ChainableRamRoleArn2" | "Unsupported" | "OAuthInvalid",
        )
        | (
            "credentials-go.invalid_cli_config.json" | "credentials-go.mock_empty_cli_config.json",
            "",
        )
        | ("aliyun-cli.config.json", "current") => error,
        ("credentials-go.invalid_cli_config.json", "quotes-content") => {
            json!({"error_contains": "invalid config"})
        }
        ("credentials-go.config.json", "CloudSSO") => json!({
            "error_contains": "sign in again with `aliyun configure --profile CloudSSO --mode CloudSSO`"
        }),
        ("credentials-java.config.json", "CloudSSO") => json!({
            "identity": {"type": "cloudsso", "portal": "https://signin.aliyuncs.com",
                "account": "account-123", "access_config": "ac-config-456"}
        }),
        ("credentials-java.config.json", "OAuthCN") => {
            json!({"identity": {"type": "oauth", "site": "https://oauth.aliyun.com"}})
        }
        ("credentials-java.config.json", "OAuthINTL") => {
            json!({"identity": {"type": "oauth", "site": "https://oauth.alibabacloud.com"}})
        }
        ("credentials-java.config.json", "External") => json!({
            "identity": {"type": "external", "program": "/bin/echo"},
            "credentials": {"access_key_id": "externalAk"}
        }),
        ("credentials-java.full_cli_config.json", "AK") | ("aliyun-cli.config.json", "default") => {
            key("access_key_id")
        }
        ("credentials-java.full_cli_config.json", "RamRoleArn") => json!({
            "identity": {"type": "role", "role": {"arn": "ram_role_arn", "session": "ram_session_name"},
                "source": {"type": "access-key", "id": "access_key_id"}},
            "describe_contains": ["assumed at https://sts.cn-hangzhou.aliyuncs.com for 3600 s"]
        }),
        ("credentials-java.full_cli_config.json", "EcsRamRole") => {
            json!({"identity": {"type": "ecs-ram-role", "role": "ram_role_name"}})
        }
        ("credentials-java.full_cli_config.json", "OIDC") => json!({
            "identity": {"type": "oidc", "role": {"arn": "ram_role_arn", "session": "ram_session_name"},
                "provider": "oidc_provider_arn"},
            "describe_contains": ["assumed at https://sts.cn-hangzhou.aliyuncs.com for 3600 s"]
        }),
        ("credentials-java.full_cli_config.json", "ChainableRamRoleArn") => json!({
            "identity": {"type": "role", "role": {"arn": "ram_role_arn", "session": "ram_session_name"},
                "source": {"type": "access-key", "id": "access_key_id"}}
        }),
        ("ack-ram-tool.chain.json", "default") => json!({
            "identity": {"type": "role",
                "role": {"arn": "acs:ram::<Account ID>:role/<Role Name>", "session": "session"},
                "source": {"type": "access-key", "id": "<Access Key ID>"}}
        }),
        _ => return None,
    })
}

/// What the plugin does with profile `case` of a config.json fixture. `(current = X)` and
/// `current` read the file's current profile; `X (by name)` names it by `ALIBABA_CLOUD_PROFILE`,
/// and `...:--profile` by the flag. With `run` the source is also asked for credentials: only
/// where that is local (an External command; an expired CloudSSO token fails before any
/// request).
pub(super) fn cli_profile(file: &str, case: &str, run: bool) -> Value {
    let world = World::new();
    world.fixture(&format!("cli-config/{file}"), ".aliyun/config.json");
    let name = case.split(':').next().unwrap_or(case);
    let (by_var, forced) = if let Some(named) = name.strip_suffix(" (by name)") {
        if case.ends_with(":--profile") {
            (None, Some(named.to_string()))
        } else {
            (Some(named.to_string()), None)
        }
    } else if name.starts_with("(current") || name == "current" || name.is_empty() {
        (None, None)
    } else {
        (None, Some(name.to_string()))
    };
    let world = match by_var {
        Some(named) => world.var("ALIBABA_CLOUD_PROFILE", &named),
        None => world,
    };
    world.with(|ctx| {
        let result = match &forced {
            Some(name) => cli_profile::forced(ctx, name).map(Step::Use),
            None => cli_profile::step(ctx),
        };
        match result {
            Ok(Step::Use(provider)) if run => match provider.credentials(&client()) {
                Ok(c) => {
                    let mut observed = observe_provider(provider.as_ref());
                    observed["credentials"] = json!({"access_key_id": c.access_key_id});
                    observed
                }
                Err(e) => json!({"error": e.to_string()}),
            },
            other => observe_step(other),
        }
    })
}

/// Fixtures the README describes but expected.json does not.
pub(super) const README_ONLY: &[&str] = &["aliyun-cli.config.json"];

pub(super) fn cli_configs() -> Vec<Check> {
    let expected = load("cli-config/expected.json");
    let mut checks = Vec::new();
    let mut files: Vec<(String, Value)> = expected["files"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(file, about)| (file.clone(), about.clone()))
        .collect();
    files.extend(README_ONLY.iter().map(|f| ((*f).to_string(), json!({}))));
    for (file, about) in &files {
        let file = file.as_str();
        let cases: Vec<String> = match about.get("profiles") {
            Some(profiles) => profiles.as_object().unwrap().keys().cloned().collect(),
            None => match file {
                "credentials-go.mock_cli_config.json" => {
                    vec!["current".into(), "jacksontian".into()]
                }
                "credentials-java.full_cli_config.json" => [
                    "AK",
                    "RamRoleArn",
                    "EcsRamRole",
                    "OIDC",
                    "ChainableRamRoleArn",
                ]
                .map(String::from)
                .to_vec(),
                "aliyun-cli.config.json" => vec!["current".into(), "default".into()],
                "ack-ram-tool.chain.json" => vec!["default".into()],
                "credentials-go.invalid_cli_config.json" => {
                    vec![String::new(), "quotes-content".into()]
                }
                _ => vec![String::new()],
            },
        };
        let mut cases = cases;
        if file == "credentials-go.config.json" {
            cases.push("RamRoleArn:session".into());
            cases.push("inexist (by name):--profile".into());
        }
        for case in cases {
            let key = if case.is_empty() {
                format!("cli-config/expected.json#{file}")
            } else {
                format!("cli-config/expected.json#{file}:{case}")
            };
            let result = match cli_expectation(file, &case) {
                Some(pattern) => {
                    let observed_case = if case == "quotes-content" {
                        ""
                    } else {
                        case.as_str()
                    };
                    let run = pattern.get("credentials").is_some()
                        || (pattern.get("error_contains").is_some() && case != "quotes-content");
                    matches(&pattern, &cli_profile(file, observed_case, run))
                }
                None => Err("no official outcome recorded for this case".to_string()),
            };
            checks.push(check(key, result));
        }
    }
    checks
}

pub(super) fn mode_inference() -> Vec<Check> {
    let fixture = load("cli-config/mode-inference.json");
    let mut checks = Vec::new();
    for (index, case) in fixture["cases"].as_array().unwrap().iter().enumerate() {
        let profile: cli_profile::file::Profile =
            serde_json::from_value(case["fields"].clone()).unwrap();
        let expected = case["expected_mode"].as_str().unwrap();
        let expected = (!expected.starts_with('(')).then_some(expected);
        let ours = cli_profile::file::mode(&profile);
        let result = if ours == expected {
            Ok(())
        } else {
            Err(format!("inferred {ours:?}, the CLI {expected:?}"))
        };
        checks.push(check(
            format!("cli-config/mode-inference.json#{index}"),
            result,
        ));
    }
    // Reading config.json, the CLI takes mode names as written: `ak` is no mode.
    let world = World::new();
    world.file(
        ".aliyun/config.json",
        r#"{"current": "p", "profiles": [{"name": "p", "mode": "ak", "access_key_id": "a", "access_key_secret": "s"}]}"#,
    );
    let result = matches(&json!({"error": true}), &world.discover(None));
    checks.push(check(
        "cli-config/mode-inference.json#case_insensitive_mode_names",
        result,
    ));
    checks
}
