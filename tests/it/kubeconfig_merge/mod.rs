//! Tracker issue 8, "Merge like kubectl", and issue 11's `kubeconfig --api-version`, end to end:
//! the real binary merges into real-world kubeconfigs (`tests/data/kubeconfigs/`) and random
//! ones, and every kubectl on this machine reads the result (`kubectl config view -o json`),
//! which must show the old entries unchanged plus the new ones. One test per bug of the issue:
//!
//! - `yaml11.rs`: YAML 1.1 words (`namespace: "no"`, `--context on`, extension values);
//! - `files.rs`: which file of a `KUBECONFIG` list (a first file that does not exist), and the
//!   corpus of real-world kubeconfigs;
//! - `lock.rs`: parallel merges and kubectl's `<file>.lock`;
//! - `the_file.rs`: `sudo -E` (owner and mode), a dangling symlink, an entry written again;
//! - `property.rs`: any kubeconfig kubectl accepts;
//! - `api_version.rs`: `kubeconfig --api-version`.
//!
//! This file holds what they share: the fake cloud, running kubectl on a `KUBECONFIG` list,
//! and [`check_merged`], what a merge must leave as kubectl sees it.

mod api_version;
mod files;
mod lock;
mod property;
mod the_file;
mod yaml11;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::exec_credential::{V1, V1BETA1};
use crate::support::kubectl::{self, KubectlOutput, for_every_kubectl, kubectls};
use crate::support::plugin::BIN;
use crate::support::secrets::{self, Stdout};
use crate::support::{FakeCloud, KEY_ID, KEY_SECRET, Plugin, Run, as_ram_user};

const CLUSTER: &str = "c7d2f9a1b3e5c7d9f1a3b5c7d9e1f3a5b";
/// The cluster's server: loopback, on a port where nothing listens. Google Cloud SDK's kubectl
/// (a dispatcher that picks a kubectl for the server's version) asks the current context's
/// server for its version on every command, even `config view`.
const SERVER: &str = "https://127.0.0.1:1";
/// A fake cloud with the cluster `CLUSTER` (server `SERVER`) and the caller's key.
fn cloud() -> FakeCloud {
    let fake = FakeCloud::start();
    fake.add_cluster(CLUSTER, SERVER, SERVER, &fake.cluster_ca_pem());
    fake.add_access_key(KEY_ID, KEY_SECRET);
    fake
}

fn plugin(fake: &FakeCloud) -> Plugin<'_> {
    as_ram_user(fake)
}

/// `kubeconfig --cluster-id CLUSTER --merge` with `KUBECONFIG=list` and `extra` arguments.
fn merge<'a>(p: &Plugin<'a>, list: &str, extra: &[&str]) -> Run<'a> {
    p.clone()
        .env("KUBECONFIG", list)
        .args(["kubeconfig", "--cluster-id", CLUSTER, "--merge"])
        .args(extra.iter().copied())
        .run()
}

fn succeed(run: Run<'_>) -> Run<'_> {
    assert!(run.status.success(), "expected success\n{run}");
    run
}

/// The newest kubectl, for the tests that need only one (a real one, not a dispatcher: fast).
fn one_kubectl() -> &'static Path {
    &kubectls().last().expect("kubectls() is never empty").path
}

/// `kubectl ARGS` with `KUBECONFIG=list` (kubectl's own file rules, no `--kubeconfig`), HOME
/// `home`, nothing else of this environment. Google Cloud SDK's kubectl (the dispatcher) asks
/// the current context's server for its version on every command, running the context's exec
/// plugin: so nothing leaves loopback, PATH is an empty directory (no `aws`, no
/// `gke-gcloud-auth-plugin` from a corpus kubeconfig runs) and the plugin, which is run by
/// absolute path, finds no credentials, no metadata service and only closed loopback ports.
fn kubectl_with_list(bin: &Path, home: &Path, list: &str, args: &[&str]) -> KubectlOutput {
    let no_tools = home.join("empty-path");
    fs::create_dir_all(&no_tools).unwrap();
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .env("PATH", &no_tools)
        .env("HOME", home)
        .env("KUBECONFIG", list)
        .env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
        .env("ACK_CS_ENDPOINT", "http://127.0.0.1:1")
        .env("ACK_ASM_ENDPOINT", "http://127.0.0.1:1")
        .env("ACK_STS_ENDPOINT", "http://127.0.0.1:1")
        .env("HTTPS_PROXY", "http://127.0.0.1:1")
        .env("HTTP_PROXY", "http://127.0.0.1:1")
        .args(args)
        .stdin(Stdio::null());
    kubectl::run_command(cmd, kubectl::PROCESS_TIMEOUT)
}

/// `kubectl config view -o json --raw`: the merged configuration as kubectl sees it.
fn config_view(bin: &Path, home: &Path, list: &str) -> Result<Value, String> {
    let out = kubectl_with_list(bin, home, list, &["config", "view", "-o", "json", "--raw"]);
    if !out.success() {
        return Err(format!("kubectl cannot read the kubeconfig:\n{out}"));
    }
    serde_json::from_str(&out.stdout).map_err(|e| format!("not JSON ({e}):\n{out}"))
}

/// A section's entries by name.
fn by_name(view: &Value, section: &str) -> BTreeMap<String, Value> {
    view[section]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|e| (e["name"].as_str().unwrap_or("").to_string(), e.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The fields of `entry[body]` but `plugins` (the ones the plugin decides): what a rewritten
/// entry keeps of the user's. Empty when there was no such entry.
fn users_fields(entry: &Value, body: &str, plugins: &[&str]) -> serde_json::Map<String, Value> {
    let mut fields = entry
        .get(body)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for key in plugins {
        fields.remove(*key);
    }
    fields
}

/// What a merge of context `name` must leave, as kubectl sees it: every old entry exactly as it
/// was (but those called `name`, which are rewritten), the new cluster (server `server`), context
/// and user (running the plugin with `args`, `api_version`), the current context as it was (or
/// `name` when there was none), and everything else (preferences, extensions) unchanged. A
/// rewritten cluster or context keeps the user's own fields (extensions, a namespace); a
/// rewritten user is the plugin's `exec` alone.
fn check_merged(
    before: &Value,
    after: &Value,
    name: &str,
    server: &str,
    args: &[&str],
    api_version: &str,
) -> Result<(), String> {
    let show = || {
        format!(
            "before:\n{}\nafter:\n{}",
            serde_json::to_string_pretty(before).unwrap(),
            serde_json::to_string_pretty(after).unwrap()
        )
    };
    for section in ["clusters", "users", "contexts"] {
        let mut old = by_name(before, section);
        let mut new = by_name(after, section);
        let was = old.remove(name).unwrap_or(Value::Null);
        let added = new
            .remove(name)
            .ok_or_else(|| format!("no {section} entry {name:?}\n{}", show()))?;
        if old != new {
            return Err(format!("the other {section} entries changed\n{}", show()));
        }
        let ok = match section {
            "clusters" => {
                let mut plugins = vec![
                    "server",
                    "certificate-authority-data",
                    "certificate-authority",
                    "insecure-skip-tls-verify",
                ];
                if was["cluster"]["server"] != server {
                    plugins.push("tls-server-name");
                }
                added["cluster"]["server"] == server
                    && users_fields(&added, "cluster", &plugins)
                        == users_fields(&was, "cluster", &plugins)
            }
            "contexts" => {
                let plugins = ["cluster", "user"];
                added["context"]["cluster"] == name
                    && added["context"]["user"] == name
                    && users_fields(&added, "context", &plugins)
                        == users_fields(&was, "context", &plugins)
            }
            _ => {
                let exec = &added["user"]["exec"];
                let command = exec["command"].as_str().map(fs::canonicalize);
                exec["apiVersion"] == api_version
                    && exec["args"] == serde_json::json!(args)
                    && exec["interactiveMode"] == "Never"
                    && matches!(command, Some(Ok(c)) if c == fs::canonicalize(BIN).unwrap())
            }
        };
        if !ok {
            return Err(format!(
                "the new {section} entry is wrong: {added}\n{}",
                show()
            ));
        }
    }
    let current = before["current-context"]
        .as_str()
        .filter(|c| !c.is_empty())
        .unwrap_or(name);
    if after["current-context"] != current {
        return Err(format!(
            "the current context should be {current:?}\n{}",
            show()
        ));
    }
    let rest = |view: &Value| {
        let mut view = view.clone();
        for key in ["clusters", "users", "contexts", "current-context"] {
            view.as_object_mut().map(|o| o.remove(key));
        }
        view
    };
    if rest(before) != rest(after) {
        return Err(format!("preferences or extensions changed\n{}", show()));
    }
    Ok(())
}

/// The exec args of a merge of `CLUSTER` with no other deciding flag.
const ARGS: [&str; 3] = ["get-credential", "--cluster-id", CLUSTER];

fn list_of(paths: &[&Path]) -> String {
    std::env::join_paths(paths)
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// Copies corpus case `case` (`tests/data/kubeconfigs/<case>/`) into `dir`.
fn copy_case(case: &str, dir: &Path) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/kubeconfigs")
        .join(case);
    fs::create_dir_all(dir).unwrap();
    for entry in fs::read_dir(&source).unwrap_or_else(|e| panic!("{}: {e}", source.display())) {
        let entry = entry.unwrap();
        fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
}

/// Merges into the kubeconfig files `list` (as `KUBECONFIG`) with `extra` flags, then checks with
/// every kubectl that it shows the old entries unchanged plus the new context `name`.
fn merge_and_check_with_every_kubectl<'a>(
    p: &Plugin<'a>,
    list: &str,
    extra: &[&str],
    name: &str,
) -> Run<'a> {
    let home = p.home().join("kubectl-home");
    fs::create_dir_all(&home).unwrap();
    let before: Vec<Value> = kubectls()
        .iter()
        .map(|k| config_view(&k.path, &home, list).unwrap_or_else(|e| panic!("{k}: {e}")))
        .collect();
    let run = merge(p, list, extra);
    assert!(run.status.success(), "expected success\n{run}");
    for_every_kubectl(|round, k| {
        config_view(&k.path, &home, list)
            .and_then(|after| check_merged(&before[round], &after, name, SERVER, &ARGS, V1))
            .map_err(|e| format!("{e}\n{run}"))
    });
    // What was written holds no secret or credential the fake knows (the leak check's rules).
    for file in std::env::split_paths(list) {
        if let Ok(text) = fs::read_to_string(&file)
            && let Err(leak) = secrets::check_text(p.fake(), &[], &text)
        {
            panic!("{}: {leak}\n{}", file.display(), leak.mask(&text));
        }
    }
    run
}
