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
use crate::credentials::chain;
use crate::credentials::context::{Context, Step};
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

// The cases, by what they read.
mod chain_and_modes;
mod cli_configs;
mod external_commands;
mod ini_files;
mod variables;

use chain_and_modes::*;
use cli_configs::*;
use external_commands::*;
use ini_files::*;
use variables::*;

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
