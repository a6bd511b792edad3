//! The conformance suite: every case of the official tools' fixtures
//! (`tests/data/peer-fixtures/`, copied from the aliyun CLI, credentials-go/java/python and
//! ack-ram-tool with what their tests assert) against what the plugin does.
//!
//! Each case gives a [`Check`]: `Ok` when the plugin's outcome is the official one, `Err` with
//! the difference otherwise. A difference must be listed in `tests/data/differences.json` (a
//! deliberate one, rendered word for word in README's "Differences from the aliyun CLI"), and a
//! listed case must really differ: nothing diverges silently, and the list never goes stale.
//! Fixtures whose expectation is prose (`expected.json`) get a machine-readable expectation
//! here, one per case; a case without one fails the suite too.
//!
//! Everything here is local: files, variables, the parsers, the chain's choice of source, and
//! (for an External command and an expired CloudSSO sign-in) the credentials step, which makes
//! no request in those cases. The requests themselves (STS, the CloudSSO portal, the OAuth site)
//! are pinned by the integration tests against the fake cloud.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::aliyun::Client;
use crate::aliyun::client::ClientOptions;
use crate::aliyun::sts::{ProfileSts, StsEndpoint};
use crate::config::Settings;
use crate::credentials::chain::{self, Context, Step};
use crate::credentials::{Provider, cli_profile, external, ini, oauth, session};
use crate::digest::short_hash;
use crate::env::Env;

/// One case's verdict: `Err` says how the plugin differs from the official outcome.
struct Check {
    case: String,
    result: Result<(), String>,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/peer-fixtures")
}

fn load(relative: &str) -> Value {
    let path = fixtures().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn check(case: impl Into<String>, result: Result<(), String>) -> Check {
    Check {
        case: case.into(),
        result,
    }
}

/// Whether `observed` has everything `expected` says: objects by their keys (recursively),
/// anything else by value. In an expectation, `"error": true` asks for any error,
/// `"error_contains"` for an error with that text, `"skip": true` for a skipped step, and
/// `"describe_contains"` for texts in the source's description.
fn matches(expected: &Value, observed: &Value) -> Result<(), String> {
    match (expected, observed) {
        (Value::Object(want), Value::Object(have)) => {
            for (key, want_value) in want {
                match key.as_str() {
                    "error" | "skip" if want_value == &Value::Bool(true) => {
                        if !have.contains_key(key) {
                            return Err(format!("expected {key}, got {observed}"));
                        }
                    }
                    "error_contains" => {
                        let text = have.get("error").and_then(Value::as_str).unwrap_or("");
                        let part = want_value.as_str().unwrap_or("");
                        if !text.contains(part) {
                            return Err(format!("expected an error with {part:?}, got {observed}"));
                        }
                    }
                    "describe_contains" => {
                        let text = have.get("describe").and_then(Value::as_str).unwrap_or("");
                        for part in want_value.as_array().into_iter().flatten() {
                            let part = part.as_str().unwrap_or("");
                            if !text.contains(part) {
                                return Err(format!("expected {part:?} in {text:?}"));
                            }
                        }
                    }
                    _ => {
                        let have_value = have
                            .get(key)
                            .ok_or_else(|| format!("expected {key}, got {observed}"))?;
                        matches(want_value, have_value).map_err(|e| format!("{key}: {e}"))?;
                    }
                }
            }
            Ok(())
        }
        _ if expected == observed => Ok(()),
        _ => Err(format!("expected {expected}, got {observed}")),
    }
}

/// A source, an error or a skipped step, as JSON: the source's identity and description.
fn observe_step(step: Result<Step, crate::error::Error>) -> Value {
    match step {
        Ok(Step::Use(provider)) => observe_provider(provider.as_ref()),
        Ok(Step::Skip(why)) => json!({"skip": why}),
        Err(error) => json!({"error": error.to_string()}),
    }
}

fn observe_provider(provider: &dyn Provider) -> Value {
    json!({"identity": provider.identity().value(), "describe": provider.describe()})
}

fn observe(result: Result<Box<dyn Provider>, crate::error::Error>) -> Value {
    observe_step(result.map(Step::Use))
}

/// A made-up machine: a home directory, variables, and the chain's context over them.
struct World {
    home: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

impl World {
    fn new() -> World {
        World {
            home: tempfile::tempdir().unwrap(),
            vars: Vec::new(),
        }
    }

    fn var(mut self, name: &str, value: &str) -> World {
        self.vars.push((name.to_string(), value.to_string()));
        self
    }

    /// Write `text` at `relative` under HOME and return its path.
    fn file(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.home.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Copy a fixture to `relative` under HOME.
    fn fixture(&self, fixture: &str, relative: &str) -> PathBuf {
        let text = std::fs::read_to_string(fixtures().join(fixture)).unwrap();
        self.file(relative, &text)
    }

    fn env(&self) -> Env {
        Env::from_pairs(self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    fn with<T>(&self, f: impl FnOnce(&Context) -> T) -> T {
        let env = self.env();
        let sts = StsEndpoint::default();
        let dmi = tempfile::tempdir().unwrap();
        let ctx = Context {
            env: &env,
            home: Some(self.home.path().to_path_buf()),
            sts: &sts,
            ecs_endpoint: crate::credentials::ecs::DEFAULT_ENDPOINT.into(),
            imds_v1_disabled: false,
            dmi_dir: dmi.path().to_path_buf(),
            session: None,
        };
        f(&ctx)
    }

    fn discover(&self, profile: Option<&str>) -> Value {
        self.with(|ctx| observe(chain::discover(ctx, profile, None)))
    }

    fn settings(&self) -> Result<Settings, crate::error::Error> {
        use clap::Parser;
        let cli = crate::cli::Cli::parse_from(["p", "get-credential", "--cluster-id", "c1"]);
        let crate::cli::Command::GetCredential(args) = cli.command else {
            unreachable!()
        };
        let mut pairs = self.vars.clone();
        pairs.push(("HOME".into(), self.home.path().display().to_string()));
        Settings::resolve(
            &args.target,
            &Env::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        )
    }
}

fn client() -> Client {
    Client::new(Duration::from_secs(10), &ClientOptions::default())
}

// ---------------------------------------------------------------------------------------------
// INI
// ---------------------------------------------------------------------------------------------

fn sections_json(sections: &ini::Sections) -> Value {
    serde_json::to_value(sections).unwrap()
}

/// Our messages for the parse cases the official tools refuse.
const INI_ERRORS: &[(&str, &str)] = &[
    (
        "java-profileutils-unterminated-section",
        "line 1: a section header must end with `]`",
    ),
    ("java-profileutils-empty-key", "line 2: a key has no name"),
];

fn ini_parse_cases() -> Vec<Check> {
    let cases = load("ini/parse-cases.json");
    let mut checks = Vec::new();
    for case in cases["cases"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        let parsed = ini::parse(case["ini"].as_str().unwrap());
        let result = if let Some(expected) = case.get("expected") {
            match &parsed {
                Ok(sections) if &sections_json(sections) == expected => Ok(()),
                Ok(sections) => Err(format!(
                    "parsed {}, expected {expected}",
                    sections_json(sections)
                )),
                Err(e) => Err(format!("error {e}, expected {expected}")),
            }
        } else {
            let ours = INI_ERRORS.iter().find(|(i, _)| *i == id).map(|(_, m)| *m);
            match (&parsed, ours) {
                (Err(e), Some(message)) if e.to_string() == message => Ok(()),
                (Err(e), _) => Err(format!("error {e:?}; record our message for {id}")),
                (Ok(sections), _) => Err(format!(
                    "parsed {}, expected an error like {}",
                    sections_json(sections),
                    case["expected_error"]
                )),
            }
        };
        checks.push(check(format!("ini/parse-cases.json#{id}"), result));
    }
    checks
}

/// The official outcome of each section of the INI fixtures, as patterns for [`matches`].
fn ini_expectation(file: &str, section: &str) -> Option<Value> {
    let key = |id: &str| json!({"identity": {"type": "access-key", "id": id}});
    let error = json!({"error": true});
    let skip = json!({"skip": true});
    Some(match (file, section) {
        ("credentials-go.credentials" | "credentials-python.tests.ini", "default") => key("foo"),
        (
            "credentials-go.credentials",
            "notype" | "noak" | "emptyak" | "noram" | "emptyram" | "rsa" | "norsa" | "emptyrsa"
            | "error_rsa" | "error_type" | "noecs" | "custom",
        )
        | ("credentials-python.tests.ini", "client4" | "client5") => error,
        ("credentials-go.credentials", "ecs") | ("credentials-python.tests.ini", "client1") => {
            json!({"identity": {"type": "ecs-ram-role", "role": "EcsRamRoleTest"}})
        }
        ("credentials-go.credentials", "emptyecs") => {
            json!({"identity": {"type": "ecs-ram-role", "role": null}})
        }
        ("credentials-go.credentials", "ram") | ("credentials-python.tests.ini", "client2") => {
            json!({
                "identity": {"type": "role",
                    "role": {"arn": "role_arn", "session": "session_name"},
                    "source": {"type": "access-key", "id": "foo"}},
                "describe_contains": ["for 3600 s"]
            })
        }
        ("credentials-python.tests.ini", "client3" | "client6" | "client7") => skip,
        ("ack-ram-tool.sts.ini", "default") => json!({
            "identity": {"type": "access-key", "id": "foo_from_ini"},
            "describe_contains": ["STS token foo_from_ini"]
        }),
        ("ack-ram-tool.uri.ini", "default") => json!({
            "identity": {"type": "credentials-uri", "uri": "http://127.0.0.1/",
                "hash": short_hash("http://127.0.0.1")}
        }),
        ("ack-ram-tool.ext.ini", "default") => json!({
            "identity": {"type": "external", "program": "curl",
                "hash": short_hash("curl http://127.0.0.1")}
        }),
        _ => return None,
    })
}

/// The section an `expected.json` key names: `client1 (enable=false, ...)` is `client1`.
fn section_names(key: &str) -> Vec<&str> {
    let head = key.split(" (").next().unwrap_or(key);
    head.split(" / ").collect()
}

fn ini_section(file: &str, section: &str) -> Value {
    let world = World::new().var("ALIBABA_CLOUD_PROFILE", section);
    let path = world.fixture(&format!("ini/{file}"), ".alibabacloud/credentials");
    world.with(|ctx| observe_step(ini::provider(ctx, &path)))
}

fn ini_files() -> Vec<Check> {
    let expected = load("ini/expected.json");
    let mut checks = Vec::new();
    for (file, about) in expected["files"].as_object().unwrap() {
        if let Some(parsed) = about.get("parsed") {
            checks.extend(ini_parsed(file, parsed));
            continue;
        }
        let sections: Vec<String> = match about.get("sections") {
            Some(sections) => sections.as_object().unwrap().keys().cloned().collect(),
            None => vec!["default".to_string()],
        };
        for key in sections {
            for section in section_names(&key) {
                let case = if about.get("sections").is_some() {
                    format!("ini/expected.json#{file}:{key}")
                } else {
                    format!("ini/expected.json#{file}")
                };
                let case = if section_names(&key).len() > 1 {
                    format!("{case}:{section}")
                } else {
                    case
                };
                let result = match ini_expectation(file, section) {
                    Some(pattern) => matches(&pattern, &ini_section(file, section)),
                    None => Err("no official outcome recorded for this case".to_string()),
                };
                checks.push(check(case, result));
            }
        }
    }
    checks.extend(ini_types(&expected["types"]));
    checks.push(check(
        "ini/expected.json#default_paths",
        ini_default_paths(),
    ));
    checks
}

/// The Java fixture's asserted parse: each section's keys (a subset of what is read).
fn ini_parsed(file: &str, parsed: &Value) -> Vec<Check> {
    let text = std::fs::read_to_string(fixtures().join("ini").join(file)).unwrap();
    let sections = sections_json(&ini::parse(&text).unwrap());
    let mut checks = Vec::new();
    for (name, want) in parsed.as_object().unwrap() {
        let case = format!("ini/expected.json#{file}:{name}");
        let result = if name.starts_with('[') {
            // `[ ] ;invalid`: the nameless section is ignored with its keys.
            if sections.get("").is_none() && sections.get("?").is_none() {
                Ok(())
            } else {
                Err(format!("the nameless section was read: {sections}"))
            }
        } else {
            let mut want = want.clone();
            want.as_object_mut().unwrap().remove("note");
            matches(&want, &sections[name.as_str()])
        };
        checks.push(check(case, result));
    }
    checks
}

/// Each tool's INI `type`s: ours are the SDKs' and ack-ram-tool's; the rest are listed.
fn ini_types(types: &Value) -> Vec<Check> {
    let mut checks = Vec::new();
    for (tool, list) in types.as_object().unwrap() {
        if tool == "project" {
            continue;
        }
        for entry in list.as_array().unwrap() {
            let kind = entry.as_str().unwrap().split(' ').next().unwrap();
            let world = World::new();
            let path = world.file(
                ".alibabacloud/credentials",
                &format!("[default]\ntype = {kind}\n"),
            );
            let observed = world.with(|ctx| observe_step(ini::provider(ctx, &path)));
            let text = observed["error"].as_str().unwrap_or("");
            let result = if text.contains("has type") {
                Err(format!("type {kind} is not supported: {text}"))
            } else {
                Ok(())
            };
            checks.push(check(
                format!("ini/expected.json#types:{tool}:{kind}"),
                result,
            ));
        }
    }
    checks
}

/// `ALIBABA_CLOUD_CREDENTIALS_FILE`, else `~/.alibabacloud/credentials`, else `credentials.ini`.
fn ini_default_paths() -> Result<(), String> {
    let ak = "[default]\ntype = access_key\naccess_key_id = {}\naccess_key_secret = s\n";
    let file = |id: &str| ak.replace("{}", id);
    let world = World::new();
    world.file(".alibabacloud/credentials.ini", &file("INI"));
    matches(&json!({"identity": {"id": "INI"}}), &world.discover(None))?;
    world.file(".alibabacloud/credentials", &file("PLAIN"));
    matches(&json!({"identity": {"id": "PLAIN"}}), &world.discover(None))?;
    let elsewhere = world.file("elsewhere.ini", &file("VAR"));
    let world = world.var(
        "ALIBABA_CLOUD_CREDENTIALS_FILE",
        &elsewhere.display().to_string(),
    );
    matches(&json!({"identity": {"id": "VAR"}}), &world.discover(None))
}

// ---------------------------------------------------------------------------------------------
// The aliyun CLI's config.json
// ---------------------------------------------------------------------------------------------

/// The official outcome of each profile of the config.json fixtures.
fn cli_expectation(file: &str, profile: &str) -> Option<Value> {
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
fn cli_profile(file: &str, case: &str, run: bool) -> Value {
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
const README_ONLY: &[&str] = &["aliyun-cli.config.json"];

fn cli_configs() -> Vec<Check> {
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

fn mode_inference() -> Vec<Check> {
    let fixture = load("cli-config/mode-inference.json");
    let mut checks = Vec::new();
    for (index, case) in fixture["cases"].as_array().unwrap().iter().enumerate() {
        let profile: cli_profile::Profile = serde_json::from_value(case["fields"].clone()).unwrap();
        let expected = case["expected_mode"].as_str().unwrap();
        let expected = (!expected.starts_with('(')).then_some(expected);
        let ours = cli_profile::mode(&profile);
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

// ---------------------------------------------------------------------------------------------
// External commands
// ---------------------------------------------------------------------------------------------

/// Our messages for the official split errors.
fn split_error(official: &str) -> Option<&'static str> {
    Some(match official {
        "process_command is empty" => "it is empty",
        "unclosed quote" => "it has an unclosed quote",
        "trailing backslash" => "it ends in a backslash",
        _ => return None,
    })
}

fn process_command_split() -> Vec<Check> {
    let fixture = load("process-command-split.json");
    let mut checks = Vec::new();
    for case in fixture["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let ours = external::split_command(case["input"].as_str().unwrap());
        let result = match (
            case.get("want"),
            case.get("want_error").and_then(Value::as_str),
        ) {
            (Some(want), _) => match &ours {
                Ok(argv) if &json!(argv) == want => Ok(()),
                other => Err(format!("{other:?}, the CLI {want}")),
            },
            (None, Some(official)) => match (&ours, split_error(official)) {
                (Err(ours), Some(mine)) if ours == mine => Ok(()),
                other => Err(format!("{other:?}, the CLI: {official}")),
            },
            (None, None) => Err("the case has neither want nor want_error".into()),
        };
        checks.push(check(format!("process-command-split.json#{name}"), result));
    }
    checks
}

fn external_output() -> Vec<Check> {
    let fixture = load("external-output.json");
    let mut checks = Vec::new();
    let in_an_hour = crate::time::now() + 3600;
    for (index, case) in fixture["cases"].as_array().unwrap().iter().enumerate() {
        let case_key = format!("external-output.json#{index}");
        let result = if let Some(stdout) = case.get("stdout").and_then(Value::as_str) {
            let stdout = stdout.replace(
                "<now+1h, 2006-01-02T15:04:05Z layout>",
                &crate::time::rfc3339(in_an_hour),
            );
            let ours = external::parse_output(stdout.as_bytes());
            match (case.get("expected"), case.get("expected_error")) {
                (Some(Value::Object(want)), _) => match &ours {
                    Ok(c) => {
                        let mut have = json!({"access_key_id": c.access_key_id,
                            "access_key_secret": c.access_key_secret.expose()});
                        if let Some(token) = &c.security_token {
                            have["security_token"] = token.expose().into();
                        }
                        if have == Value::Object(want.clone()) {
                            Ok(())
                        } else {
                            Err(format!("read {have}"))
                        }
                    }
                    Err(e) => Err(e.clone()),
                },
                (Some(Value::String(prose)), _) if prose.contains("180 s before") => match &ours {
                    // Read with its expiry; kept until REUSE_MARGIN before it, not 180 s.
                    Ok(c) if c.expiration == Some(in_an_hour) => {
                        if session::REUSE_MARGIN == 180 {
                            Ok(())
                        } else {
                            Err(format!(
                                "kept until {} s before the expiry",
                                session::REUSE_MARGIN
                            ))
                        }
                    }
                    other => Err(format!("{:?}", other.as_ref().map(|c| c.expiration))),
                },
                (Some(Value::String(prose)), _) if prose.contains("expiration ignored") => {
                    match &ours {
                        Ok(c) if c.expiration.is_none() && c.security_token.is_none() => Ok(()),
                        other => Err(format!("{:?}", other.as_ref().map(|c| c.expiration))),
                    }
                }
                (_, Some(_)) => ours.map(|_| ()).err().map_or_else(
                    || Err("accepted, the SDK refuses it".to_string()),
                    |_| Ok(()),
                ),
                _ => Err("no expectation".into()),
            }
        } else if case.get("exit_code").is_some() {
            run_external("sh -c 'echo failing >&2; exit 1'").map_or(Ok(()), |id| {
                Err(format!("a failing command gave credentials {id}"))
            })
        } else if case.get("process_command").is_some() {
            let origin = "the test".to_string();
            match external::ExternalProvider::new("", origin, None) {
                Err(e) if e.to_string() == "the process_command of the test: it is empty" => Ok(()),
                Err(e) => Err(e.to_string()),
                Ok(_) => Err("an empty command was accepted".into()),
            }
        } else {
            Err("no expectation".into())
        };
        checks.push(check(case_key, result));
    }
    let java = &fixture["java_example"];
    let result = match run_external(java["process_command"].as_str().unwrap()) {
        Some(id) if id == java["expected"]["access_key_id"] => Ok(()),
        other => Err(format!("{other:?}")),
    };
    checks.push(check("external-output.json#java_example", result));
    checks
}

/// Run a `process_command` (a local command) and return the AccessKey ID it gave.
fn run_external(command: &str) -> Option<String> {
    let provider = external::ExternalProvider::new(command, "the test".into(), None).ok()?;
    provider
        .credentials(&client())
        .ok()
        .map(|c| c.access_key_id)
}

// ---------------------------------------------------------------------------------------------
// Variables
// ---------------------------------------------------------------------------------------------

const AK_CONFIG: &str = r#"{"current": "first", "profiles": [
    {"name": "first", "mode": "AK", "access_key_id": "FIRST", "access_key_secret": "s", "region_id": "cn-profile"},
    {"name": "second", "mode": "AK", "access_key_id": "SECOND", "access_key_secret": "s"},
    {"name": "ext", "mode": "External", "process_command": "/bin/echo {}"}]}"#;
const AK_INI: &str = "[default]\ntype = access_key\naccess_key_id = INI\naccess_key_secret = s\n";

fn id_is(observed: &Value, id: &str) -> Result<(), String> {
    matches(
        &json!({"identity": {"type": "access-key", "id": id}}),
        observed,
    )
}

/// How the plugin honours one variable of env-vars.json.
#[allow(clippy::too_many_lines, reason = "one arm per variable, each short")]
fn env_var(var: &str) -> Result<(), String> {
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
            let off = settings(&World::new())?.imds_v1_disabled;
            let on = settings(&World::new().var(var, "true"))?.imds_v1_disabled;
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
                Ok(settings(world)?.client.proxies.for_url(&url))
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

fn env_vars() -> Vec<Check> {
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

// ---------------------------------------------------------------------------------------------
// The chain, CloudSSO and OAuth
// ---------------------------------------------------------------------------------------------

fn chain_order() -> Vec<Check> {
    let fixture = load("chain-order.json");
    let order = fixture["sdk_chains"]["credentials-go providers/default.go"]["order"]
        .as_array()
        .map_or(0, Vec::len);
    // Everything configured at once; take each winner away in turn.
    let all = [
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ENV"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "s"),
        ("ALIBABA_CLOUD_ROLE_ARN", "acs:ram::1:role/r"),
        ("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "p"),
        ("ALIBABA_CLOUD_OIDC_TOKEN_FILE", "/t"),
        ("ALIBABA_CLOUD_ECS_METADATA", "ecs-role"),
        ("ALIBABA_CLOUD_CREDENTIALS_URI", "http://127.0.0.1:1/c"),
    ];
    let run = |skip: &[&str], files: bool| {
        let mut world = World::new();
        for (k, v) in all {
            if !skip.contains(&k) {
                world = world.var(k, v);
            }
        }
        if files {
            world.file(".aliyun/config.json", AK_CONFIG);
            world.file(".alibabacloud/credentials", AK_INI);
        }
        world.discover(None)["identity"].clone()
    };
    let env_keys = [
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    ];
    let rrsa = [
        "ALIBABA_CLOUD_ROLE_ARN",
        "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
        "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
    ];
    let no_env: Vec<&str> = env_keys.to_vec();
    let no_rrsa: Vec<&str> = env_keys.iter().chain(&rrsa).copied().collect();
    let no_ecs: Vec<&str> = no_rrsa
        .iter()
        .copied()
        .chain(["ALIBABA_CLOUD_ECS_METADATA"])
        .collect();
    let winners = [
        run(&[], true)["type"].clone(),
        run(&no_env, true)["type"].clone(),
        run(&no_rrsa, true)["id"].clone(),
        run(&no_rrsa, false)["type"].clone(),
        run(&no_ecs, false)["type"].clone(),
    ];
    let ini_when_no_cli = {
        let world = World::new();
        world.file(".alibabacloud/credentials", AK_INI);
        world.discover(None)["identity"]["id"].clone()
    };
    let got = json!([
        winners[0],
        winners[1],
        winners[2],
        ini_when_no_cli,
        winners[3],
        winners[4]
    ]);
    let want = json!([
        "access-key",
        "oidc",
        "FIRST",
        "INI",
        "ecs-ram-role",
        "credentials-uri"
    ]);
    let order_result = if order == 6 && got == want {
        Ok(())
    } else {
        Err(format!("order {got}, the SDKs' {want} ({order} steps)"))
    };

    // The SDKs go on past a broken source; the plugin stops there.
    let world = World::new();
    world.file(
        ".aliyun/config.json",
        r#"{"current": "broken", "profiles": [{"name": "broken", "mode": "AK", "access_key_id": "x"}]}"#,
    );
    world.file(".alibabacloud/credentials", AK_INI);
    let fallthrough = id_is(&world.discover(None), "INI");

    // Off ECS (no firmware, no role named) the instance role comes after the credentials URI.
    let world = World::new().var("ALIBABA_CLOUD_CREDENTIALS_URI", "http://127.0.0.1:1/c");
    let placement = matches(
        &json!({"identity": {"type": "ecs-ram-role"}}),
        &world.discover(None),
    );
    vec![
        check("chain-order.json#order", order_result),
        check("chain-order.json#fallthrough", fallthrough),
        check("chain-order.json#ecs-placement", placement),
    ]
}

fn cloud_sso_oauth() -> Vec<Check> {
    let fixture = load("cloudsso-oauth.json");
    let mut checks = Vec::new();
    for (site_type, want) in fixture["OAuth"]["site_map"].as_object().unwrap() {
        let result = match oauth::site(site_type) {
            Some(site)
                if want == &json!({"sign_in_url": site.url, "client_id": site.client_id}) =>
            {
                Ok(())
            }
            other => Err(format!("{other:?}, the SDKs {want}")),
        };
        checks.push(check(
            format!("cloudsso-oauth.json#OAuth.site_map.{site_type}"),
            result,
        ));
    }
    // CloudSSO: an expired or empty token is an error that says to sign in again.
    let profile = |extra: Value| {
        let mut p = json!({"name": "sso", "mode": "CloudSSO",
            "cloud_sso_sign_in_url": "https://signin-cn-shanghai.alibabacloudsso.com/d-1/login",
            "cloud_sso_account_id": "123", "cloud_sso_access_config": "ac-1"});
        p.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"current": "sso", "profiles": [p]}).to_string()
    };
    let sso = |extra: Value| {
        let world = World::new();
        world.file(".aliyun/config.json", &profile(extra));
        world.with(|ctx| match chain::discover(ctx, None, None) {
            Ok(provider) => match provider.credentials(&client()) {
                Ok(_) => json!({"credentials": true}),
                Err(e) => json!({"error": e.to_string()}),
            },
            Err(e) => json!({"error": e.to_string()}),
        })
    };
    let again = "sign in again with `aliyun configure --profile sso --mode CloudSSO`";
    let expired = sso(json!({"access_token": "t", "cloud_sso_access_token_expire": 10}));
    let empty =
        sso(json!({"access_token": "", "cloud_sso_access_token_expire": 9_999_999_999_i64}));
    let result = matches(&json!({"error_contains": again}), &expired)
        .and_then(|()| matches(&json!({"error_contains": again}), &empty));
    checks.push(check("cloudsso-oauth.json#CloudSSO.errors", result));
    // OAuth: a bad site type is a clear error.
    let world = World::new();
    world.fixture(
        "cli-config/credentials-java.config.json",
        ".aliyun/config.json",
    );
    let result = matches(
        &json!({"error_contains": "has oauth_site_type \"INVALID\"; it must be CN or INTL"}),
        &world.discover(Some("OAuthInvalid")),
    );
    checks.push(check("cloudsso-oauth.json#OAuth.errors", result));
    // Every mode of the CLI today: supported, or a listed difference.
    let modes = &fixture["other_modes_in_aliyun_cli_today"]["modes"];
    for mode in modes.as_array().unwrap() {
        let mode = mode.as_str().unwrap().split(' ').next().unwrap();
        let world = World::new();
        world.file(
            ".aliyun/config.json",
            &json!({"current": "p", "profiles": [{"name": "p", "mode": mode}]}).to_string(),
        );
        let observed = world.discover(None);
        let text = observed["error"].as_str().unwrap_or("");
        let result = if text.contains("does not support") {
            Err(format!("mode {mode} is not supported"))
        } else {
            Ok(())
        };
        checks.push(check(format!("cloudsso-oauth.json#modes:{mode}"), result));
    }
    checks
}

// ---------------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------------

/// Every file of `cli-config/` and `ini/` is either a case file or described in its
/// directory's expected.json, so none is left out.
fn every_fixture_file_is_used() -> Vec<Check> {
    let mut checks = Vec::new();
    for dir in ["cli-config", "ini"] {
        let described = load(&format!("{dir}/expected.json"));
        let files = described["files"].as_object().unwrap();
        for entry in std::fs::read_dir(fixtures().join(dir)).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let used = files.contains_key(&name)
                || README_ONLY.contains(&name.as_str())
                || ["expected.json", "mode-inference.json", "parse-cases.json"]
                    .contains(&name.as_str());
            let result = if used {
                Ok(())
            } else {
                Err("no case reads this file".to_string())
            };
            checks.push(check(format!("{dir}/{name}"), result));
        }
    }
    checks
}

fn all_checks() -> Vec<Check> {
    [
        every_fixture_file_is_used(),
        ini_parse_cases(),
        ini_files(),
        cli_configs(),
        mode_inference(),
        process_command_split(),
        external_output(),
        env_vars(),
        chain_order(),
        cloud_sso_oauth(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The deliberate differences, by case.
fn differences() -> (Value, BTreeMap<String, String>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/differences.json");
    let list: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut by_case = BTreeMap::new();
    for entry in list["differences"].as_array().unwrap() {
        for case in entry["cases"].as_array().unwrap() {
            let previous = by_case.insert(
                case.as_str().unwrap().to_string(),
                entry["id"].as_str().unwrap().to_string(),
            );
            assert!(previous.is_none(), "{case} is listed twice");
        }
    }
    (list, by_case)
}

#[test]
fn every_fixture_case_matches_the_official_outcome_or_is_a_listed_difference() {
    let (_, listed) = differences();
    let checks = all_checks();
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for Check { case, result } in &checks {
        assert!(seen.insert(case.clone()), "case {case} is checked twice");
        match (result, listed.get(case)) {
            (Ok(()), None) | (Err(_), Some(_)) => {}
            (Err(why), None) => problems.push(format!("{case}: differs, and is not listed: {why}")),
            (Ok(()), Some(id)) => {
                problems.push(format!("{case}: listed under {id:?}, but it matches now"));
            }
        }
    }
    for case in listed.keys() {
        if !seen.contains(case) {
            problems.push(format!("{case}: listed, but no such case is checked"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} cases:\n{}",
        problems.len(),
        checks.len(),
        problems.join("\n")
    );
    // The suite covers the fixtures, not a handful of them.
    assert!(checks.len() > 150, "only {} cases", checks.len());
}

#[test]
fn readme_lists_every_difference_word_for_word() {
    let (list, _) = differences();
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme
        .split("### Differences from the aliyun CLI")
        .nth(1)
        .expect("README has a section `### Differences from the aliyun CLI`");
    let section = section.split("\n#").next().unwrap_or(section);
    let bullets: Vec<&str> = section
        .lines()
        .filter_map(|line| line.strip_prefix("- "))
        .collect();
    let texts: Vec<&str> = list["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        bullets, texts,
        "README's differences and tests/data/differences.json must list the same, in order"
    );
}
