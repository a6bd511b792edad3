//! INI files as the SDKs and ack-ram-tool read them: parse cases, every fixture file, the types and default paths.

#[allow(
    clippy::wildcard_imports,
    reason = "the suite's shared helpers and imports"
)]
use super::*;

pub(super) fn sections_json(sections: &ini::Sections) -> Value {
    serde_json::to_value(sections).unwrap()
}

/// Our messages for the parse cases the official tools refuse.
pub(super) const INI_ERRORS: &[(&str, &str)] = &[
    (
        "java-profileutils-unterminated-section",
        "line 1: a section header must end with `]`",
    ),
    ("java-profileutils-empty-key", "line 2: a key has no name"),
];

pub(super) fn ini_parse_cases() -> Vec<Check> {
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
pub(super) fn ini_expectation(file: &str, section: &str) -> Option<Value> {
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
pub(super) fn section_names(key: &str) -> Vec<&str> {
    let head = key.split(" (").next().unwrap_or(key);
    head.split(" / ").collect()
}

pub(super) fn ini_section(file: &str, section: &str) -> Value {
    let world = World::new().var("ALIBABA_CLOUD_PROFILE", section);
    let path = world.fixture(&format!("ini/{file}"), ".alibabacloud/credentials");
    world.with(|ctx| observe_step(ini::provider(ctx, &path)))
}

pub(super) fn ini_files() -> Vec<Check> {
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
pub(super) fn ini_parsed(file: &str, parsed: &Value) -> Vec<Check> {
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
pub(super) fn ini_types(types: &Value) -> Vec<Check> {
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
pub(super) fn ini_default_paths() -> Result<(), String> {
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
