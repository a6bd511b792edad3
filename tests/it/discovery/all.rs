//! `kubeconfig --all`: every running cluster listed, one context each (named after the cluster,
//! made unique), fetched one after another (warming the cache), written in one go; clusters
//! not running are skipped and clusters that fail are left out, both named in one summary line.

use std::fs;

use crate::support::fake_cloud::{ACTION_USER_CONFIG, DEFAULT_CLUSTER_PUBLIC_SERVER};
use crate::support::golden::assert_stderr;
use crate::support::{Plugin, as_ram_user};

use super::*;

fn all<'a>(fake: &'a FakeCloud, args: &[&str]) -> Plugin<'a> {
    as_ram_user(fake)
        .args(["kubeconfig", "--all"])
        .args(args.iter().copied())
}

/// (context, its cluster id from the exec args, its region from the exec args) of every
/// context in `text`, in order, checking that each context's cluster and user entries are
/// there and that the user runs `get-credential` for that cluster.
fn contexts(text: &str, run: &Run) -> Vec<(String, String, String)> {
    let config: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(text).unwrap_or_else(|e| panic!("not YAML ({e}):\n{text}\n{run}"));
    let list = config["contexts"].as_sequence().expect("contexts");
    let mut out = Vec::new();
    for context in list {
        let name = context["name"].as_str().unwrap().to_string();
        assert_eq!(context["context"]["cluster"], name.as_str(), "{run}");
        assert_eq!(context["context"]["user"], name.as_str(), "{run}");
        let entry = |section: &str| {
            config[section]
                .as_sequence()
                .unwrap()
                .iter()
                .find(|e| e["name"] == name.as_str())
                .unwrap_or_else(|| panic!("no {section} entry {name}\n{text}\n{run}"))
                .clone()
        };
        assert_eq!(
            entry("clusters")["cluster"]["server"],
            DEFAULT_CLUSTER_PUBLIC_SERVER,
            "{run}"
        );
        let args: Vec<String> = entry("users")["user"]["exec"]["args"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        assert_eq!(args.len(), 5, "{args:?}\n{run}");
        assert_eq!(
            (args[0].as_str(), args[1].as_str(), args[3].as_str()),
            ("get-credential", "--cluster-id", "--region"),
            "{run}"
        );
        out.push((name, args[2].clone(), args[4].clone()));
    }
    out
}

fn triple(name: &str, id: &str, region: &str) -> (String, String, String) {
    (name.to_string(), id.to_string(), region.to_string())
}

/// The running ones (running, upgrading) are written, the two `web`s told apart by region;
/// `old` (deleting) and `new` (initial) are skipped; `secret` (403) fails and is named with
/// the API's code; the rest is still written, to a file of its own with no current context.
#[test]
fn all_writes_every_running_cluster_and_names_what_it_left_out() {
    let (fake, _) = clusters_cloud();
    fake.set_cluster_page_cap(5);
    let p = all(&fake, &["--output", "all.kubeconfig"]);
    let run = p.run_success();
    assert_eq!(run.stdout, "", "{run}");
    assert_stderr(
        &run,
        "added 4 contexts (cluster-c7d5e3f1, prod, web-cn-beijing, web-cn-shanghai), wrote to \
         all.kubeconfig; skipped 2 not running: old (co1d0000000000000000000000000004, \
         deleting), new (cn0w0000000000000000000000000006, initial); failed 1: secret \
         (cs0c0000000000000000000000000005, Forbidden.RAM)",
    );
    let path = p.home().join("all.kubeconfig");
    let text = fs::read_to_string(&path).unwrap();
    assert_eq!(
        contexts(&text, &run),
        [
            triple(&cluster_name(), CLUSTER, "cn-hangzhou"),
            triple("prod", PROD, "cn-hangzhou"),
            triple("web-cn-beijing", WEB_BEIJING, "cn-beijing"),
            triple("web-cn-shanghai", WEB_SHANGHAI, "cn-shanghai"),
        ]
    );
    assert!(!text.contains("current-context"), "{text}\n{run}");
    assert_eq!(crate::support::checks::mode(&path), 0o600);
    assert_eq!(listing_pages(&fake, &run, "v3").len(), 2, "{run}");
    // One fetch per running cluster, one after another in the order of their names, each
    // cached.
    let fetched: Vec<String> = fake
        .requests_for(ACTION_USER_CONFIG)
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        fetched,
        [CLUSTER, PROD, SECRET, WEB_BEIJING, WEB_SHANGHAI]
            .map(|id| format!("/k8s/{id}/user_config")),
        "{run}"
    );
    let calls = fake.count();
    for id in [CLUSTER, PROD, WEB_BEIJING, WEB_SHANGHAI] {
        as_ram_user(&fake)
            .cache_dir(p.cache_path())
            .args(["get-credential", "--cluster-id", id])
            .run_ok();
    }
    assert_eq!(
        fake.count(),
        calls,
        "every context's first call is a hit\n{}",
        fake.dump()
    );
}

/// Merged into kubectl's files: one pass, the context that was current stays current, and
/// a second run changes nothing.
#[test]
fn all_merges_every_context_and_keeps_the_current_one() {
    let (fake, _) = clusters_cloud();
    let p = all(&fake, &["--merge", "--region", "cn-beijing"]);
    let existing = "apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster:\n    \
                    server: https://127.0.0.40:1\ncontexts:\n- name: other\n  context:\n    \
                    cluster: other\n    user: other\nusers:\n- name: other\n  user:\n    \
                    token: t\ncurrent-context: other\n";
    let path = p.write_home_file(".kube/config", existing);
    let run = p.run_success();
    assert_stderr(
        &run,
        "added 1 context (web), merged into [home]/.kube/config; skipped 1 not running: new \
         (cn0w0000000000000000000000000006, initial); failed 1: secret \
         (cs0c0000000000000000000000000005, Forbidden.RAM)",
    );
    let text = fs::read_to_string(&path).unwrap();
    let config: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    assert_eq!(config["current-context"], "other", "{text}");
    let names: Vec<&str> = config["contexts"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["other", "web"], "{text}\n{run}");
    assert!(!p.home().join(".kube/config.lock").exists());
    let again = p.run_success();
    assert_eq!(fs::read_to_string(&path).unwrap(), text, "{again}");
}

#[test]
fn all_with_v2_signatures() {
    let (fake, _) = clusters_cloud();
    let p = all(&fake, &["--output", "all.kubeconfig"]).env("ACK_SIGNATURE_VERSION", "v2");
    let run = p.run_success();
    assert_eq!(listing_pages(&fake, &run, "v2").len(), 1, "{run}");
    let fetches = fake.requests_for(ACTION_USER_CONFIG);
    assert_eq!(fetches.len(), 5, "{run}");
    assert!(
        fetches.iter().all(|r| r.signature_version() == Some("v2")),
        "{run}"
    );
}

/// Nothing running (or nothing that could be fetched): an error, and no file.
#[test]
fn all_with_nothing_to_write_is_an_error_and_writes_nothing() {
    let (fake, me) = cloud();
    fake.set_cluster_info(CLUSTER, "gone", "cn-hangzhou", "deleting");
    fake.add_listed_cluster(SECRET, "secret", "cn-beijing", "running");
    let someone_else = fake.add_access_key("LTAI5tSomeoneElse0001", "someoneElseSecret01");
    fake.allow_cluster(SECRET, &someone_else);
    let _ = me;
    let p = all(&fake, &["--output", "all.kubeconfig"]);
    let run = p.run_exit(1);
    assert_stderr(
        &run,
        "ack-credential-plugin: error: no context written: 2 clusters listed; skipped 1 not \
         running: gone (c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a, deleting); failed 1: secret \
         (cs0c0000000000000000000000000005, Forbidden.RAM)\n\
         hint: `ack-credential-plugin clusters` lists the clusters and their states; run with \
         -v to see why each failed",
    );
    assert!(!p.home().join("all.kubeconfig").exists());
}

#[test]
fn all_needs_a_file_to_write() {
    let (fake, _) = cloud();
    let run = all(&fake, &[]).run_exit(2);
    assert_stderr(
        &run,
        r"
error: the following required arguments were not provided:
  <--output <FILE>|--merge>

Usage: ack-credential-plugin kubeconfig <--cluster-id <ID>|--mesh-id <ID>|--fleet-id <ID>|--cluster-name <NAME>|--all> <--output <FILE>|--merge>

For more information, try '--help'.",
    );
    assert_eq!(fake.count(), 0);
}
