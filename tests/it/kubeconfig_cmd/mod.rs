//! The `kubeconfig` command end to end: what it prints or writes (`output.rs`), merging into
//! existing kubeconfigs (`merge.rs`), and real kubectl using what it wrote, unedited
//! (`kubectl.rs`; `reach.rs` for a fleet, a cluster found by name and every cluster of
//! `--all`). The checks of a generated kubeconfig they share are here.
//!
//! Every test starts its own `FakeCloud`, HOME and cache, so they run in parallel. The fake
//! verifies every signature itself (ROA for cs, RPC for ASM), so a passing test also means the
//! requests were signed right.

mod kubectl;
mod merge;
mod output;
mod reach;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_yaml_ng::Value as Yaml;

use crate::support::checks::{assert_no_certificate, form, issued, mode, only_request};
use crate::support::exec_credential::V1;
use crate::support::fake_cloud::{
    ACTION_SUBACCOUNT_USER_CONFIG, ACTION_USER_CONFIG, DEFAULT_CLUSTER_PRIVATE_SERVER,
    DEFAULT_CLUSTER_PUBLIC_SERVER, DEFAULT_MESH_PRIVATE_SERVER, DEFAULT_MESH_PUBLIC_SERVER,
    FakeCloud, Issued, Service,
};
use crate::support::golden::assert_stderr;
use crate::support::plugin::BIN;
use crate::support::{
    CLUSTER, KEY_ID, KEY_SECRET, MESH, Plugin, Run, as_ram_user, cloud_with_meshes, secrets,
};

const MAIN_KEY_ID: &str = "LTAI5tMainAccountKey0001";
const MAIN_KEY_SECRET: &str = "mainAccountSecretMainAccountSecret1";

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(std::string::ToString::to_string).collect()
}

fn yaml(text: &str, run: &Run) -> Yaml {
    serde_yaml_ng::from_str(text).unwrap_or_else(|e| panic!("not YAML ({e}):\n{text}\n{run}"))
}

/// The canonical path of the binary under test (what `command` must name).
fn plugin_binary() -> PathBuf {
    fs::canonicalize(BIN).expect("canonical path of the plugin binary")
}

/// The one entry called `name` in the kubeconfig's `section` (panics when there is not one).
fn entry<'y>(config: &'y Yaml, section: &str, name: &str) -> &'y Yaml {
    let list = config[section]
        .as_sequence()
        .unwrap_or_else(|| panic!("`{section}` is not a list: {config:?}"));
    let found: Vec<&Yaml> = list.iter().filter(|e| e["name"] == name).collect();
    assert_eq!(found.len(), 1, "`{section}` entries named {name}: {list:?}");
    found[0]
}

/// The `other` entries (cluster, user, context), parsed.
fn other_entries(config: &Yaml) -> [Yaml; 3] {
    ["clusters", "users", "contexts"].map(|section| entry(config, section, "other").clone())
}

/// Checks a generated kubeconfig: the three entries named `name`, the cluster's server and CA,
/// the exec user (absolute command path of this binary, `args` exactly, v1, Never, no cluster
/// info, an install hint, no env), and no credential anywhere.
fn assert_generated(
    config: &Yaml,
    name: &str,
    server: &str,
    ca_pem: &str,
    args: &[String],
    run: &Run,
) {
    for section in ["clusters", "contexts", "users"] {
        assert_eq!(
            config[section].as_sequence().map(Vec::len),
            Some(1),
            "`{section}` should hold exactly one entry\n{run}"
        );
    }
    let cluster = &entry(config, "clusters", name)["cluster"];
    assert_eq!(cluster["server"], server, "server\n{run}");
    let ca = cluster["certificate-authority-data"]
        .as_str()
        .unwrap_or_else(|| panic!("no certificate-authority-data\n{run}"));
    let ca = BASE64
        .decode(ca)
        .unwrap_or_else(|e| panic!("certificate-authority-data is not base64 ({e})\n{run}"));
    assert_eq!(String::from_utf8_lossy(&ca), ca_pem, "CA\n{run}");

    let context = &entry(config, "contexts", name)["context"];
    assert_eq!(context["cluster"], name, "context cluster\n{run}");
    assert_eq!(context["user"], name, "context user\n{run}");
    assert_eq!(config["current-context"], name, "current-context\n{run}");

    let user = &entry(config, "users", name)["user"];
    let keys: Vec<&str> = user
        .as_mapping()
        .unwrap_or_else(|| panic!("user is not a mapping\n{run}"))
        .keys()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(keys, ["exec"], "the user has nothing but `exec`\n{run}");
    let exec = &user["exec"];
    assert_eq!(exec["apiVersion"], V1, "exec apiVersion\n{run}");
    let command = exec["command"]
        .as_str()
        .unwrap_or_else(|| panic!("no exec command\n{run}"));
    assert!(
        Path::new(command).is_absolute(),
        "command {command} is not absolute\n{run}"
    );
    assert_eq!(
        fs::canonicalize(command).ok(),
        Some(plugin_binary()),
        "command {command} is not the plugin binary\n{run}"
    );
    let got: Vec<String> = exec["args"]
        .as_sequence()
        .unwrap_or_else(|| panic!("exec args is not a list\n{run}"))
        .iter()
        .map(|a| a.as_str().expect("string arg").to_string())
        .collect();
    assert_eq!(got, args, "exec args\n{run}");
    assert_eq!(exec["interactiveMode"], "Never", "interactiveMode\n{run}");
    assert_eq!(
        exec["provideClusterInfo"], false,
        "provideClusterInfo\n{run}"
    );
    assert!(
        exec["installHint"]
            .as_str()
            .is_some_and(|h| !h.trim().is_empty()),
        "installHint\n{run}"
    );
    assert!(
        exec.get("env").is_none_or(Yaml::is_null),
        "the exec entry must carry no env\n{run}"
    );
}

/// The exec args of the only user.
fn exec_args(config: &Yaml) -> Vec<String> {
    config["users"][0]["user"]["exec"]["args"]
        .as_sequence()
        .expect("exec args")
        .iter()
        .map(|a| a.as_str().expect("string arg").to_string())
        .collect()
}

/// A generated kubeconfig (as printed or written) holds no credential: no key, token or secret
/// the fake knows (the leak check's rules, applied to the file), and no certificate it issued.
#[track_caller]
fn assert_no_credential(text: &str, fake: &FakeCloud, run: &Run) {
    if let Err(leak) = secrets::check_text(fake, &[], text) {
        panic!("{leak}\n{}", leak.mask(&format!("{text}\n{run}")));
    }
    let issued: Vec<Issued> = fake
        .requests()
        .iter()
        .filter_map(|r| r.issued.clone())
        .collect();
    assert_no_certificate(text, &issued, run);
}
