//! External commands: `process_command` split with the CLI's rules, and their output.

#[allow(
    clippy::wildcard_imports,
    reason = "the suite's shared helpers and imports"
)]
use super::*;

/// Our messages for the official split errors.
pub(super) fn split_error(official: &str) -> Option<&'static str> {
    Some(match official {
        "process_command is empty" => "it is empty",
        "unclosed quote" => "it has an unclosed quote",
        "trailing backslash" => "it ends in a backslash",
        _ => return None,
    })
}

pub(super) fn process_command_split() -> Vec<Check> {
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

pub(super) fn external_output() -> Vec<Check> {
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
pub(super) fn run_external(command: &str) -> Option<String> {
    let provider = external::ExternalProvider::new(command, "the test".into(), None).ok()?;
    provider
        .credentials(&client())
        .ok()
        .map(|c| c.access_key_id)
}
