//! Tracker issue 8, "Merge like kubectl", and issue 11's `kubeconfig --api-version`, end to end:
//! the real binary merges into real-world kubeconfigs (`tests/data/kubeconfigs/`) and random
//! ones, and every kubectl on this machine reads the result (`kubectl config view -o json`),
//! which must show the old entries unchanged plus the new ones. One test per bug of the issue:
//! YAML 1.1 words (`namespace: "no"`, `--context on`, extension values), a `KUBECONFIG` list
//! whose first file does not exist, parallel merges, `sudo -E` (owner and mode), a dangling
//! symlink, and kubectl's `<file>.lock`.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::apiserver::{ApiServer, POD_NAME};
use crate::support::kubectl::{self, KubectlOutput, for_every_kubectl, kubectls};
use crate::support::plugin::BIN;
use crate::support::secrets::{self, Stdout};
use crate::support::{FakeCloud, KEY_ID, KEY_SECRET, Plugin, Run, as_ram_user};

const CLUSTER: &str = "c7d2f9a1b3e5c7d9f1a3b5c7d9e1f3a5b";
/// The cluster's server: loopback, on a port where nothing listens. Google Cloud SDK's kubectl
/// (a dispatcher that picks a kubectl for the server's version) asks the current context's
/// server for its version on every command, even `config view`.
const SERVER: &str = "https://127.0.0.1:1";
const V1: &str = "client.authentication.k8s.io/v1";
const V1BETA1: &str = "client.authentication.k8s.io/v1beta1";

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

// ---------------------------------------------------------------------------------------------
// YAML 1.1: what kubectl reads keeps its meaning
// ---------------------------------------------------------------------------------------------

/// `namespace: "no"` was written back as `namespace: no`, a boolean to kubectl, which then
/// refused the whole file (`cannot unmarshal bool into ... namespace of type string`).
#[test]
fn a_namespace_no_survives_a_merge_under_every_kubectl() {
    let fake = cloud();
    let p = plugin(&fake);
    let config = p.write_home_file(
        ".kube/config",
        "apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster:\n    server: \
         https://127.0.0.2:1\nusers:\n- name: prod\n  user:\n    token: t\ncontexts:\n- name: \
         prod\n  context:\n    cluster: prod\n    user: prod\n    namespace: \"no\"\n\
         current-context: prod\n",
    );
    let list = config.to_string_lossy().into_owned();
    let name = CLUSTER;
    let home = p.home().join("kubectl-home");
    fs::create_dir_all(&home).unwrap();
    let before: Vec<Value> = kubectls()
        .iter()
        .map(|k| config_view(&k.path, &home, &list).unwrap())
        .collect();
    let run = succeed(merge(&p, &list, &[]));
    for_every_kubectl(|round, k| {
        let after = config_view(&k.path, &home, &list)?;
        check_merged(&before[round], &after, name, SERVER, &ARGS, V1)?;
        let namespace = &by_name(&after, "contexts")["prod"]["context"]["namespace"];
        if namespace != "no" {
            return Err(format!("namespace is {namespace}\n{run}"));
        }
        Ok(())
    });
}

/// What a user set with kubectl on the plugin's own context and cluster (a namespace, a proxy,
/// the name to verify the server as) survives `kubeconfig --merge` run again, here to switch to
/// `--api-version v1beta1`; the entries' other fields are the new ones.
#[test]
fn merging_again_keeps_what_the_user_set_with_kubectl() {
    let fake = cloud();
    let p = plugin(&fake);
    let config = p.home().join(".kube/config");
    let list = config.to_string_lossy().into_owned();
    let home = p.home().join("kubectl-home");
    fs::create_dir_all(&home).unwrap();
    let bin = one_kubectl();
    succeed(merge(&p, &list, &[]));
    for args in [
        &[
            "config",
            "set-context",
            "--current",
            "--namespace",
            "team-a",
        ][..],
        &[
            "config",
            "set",
            &format!("clusters.{CLUSTER}.proxy-url"),
            "http://127.0.0.1:3128",
        ],
        &[
            "config",
            "set",
            &format!("clusters.{CLUSTER}.tls-server-name"),
            "kubernetes",
        ],
    ] {
        let out = kubectl_with_list(bin, &home, &list, args);
        assert!(out.success(), "{out}");
    }
    let before = config_view(bin, &home, &list).unwrap();

    let run = succeed(merge(&p, &list, &["--api-version", "v1beta1"]));
    let after = config_view(bin, &home, &list).unwrap();
    check_merged(&before, &after, CLUSTER, SERVER, &ARGS, V1BETA1).unwrap_or_else(|e| {
        panic!(
            "{e}
{run}"
        )
    });
    let context = &by_name(&after, "contexts")[CLUSTER]["context"];
    assert_eq!(context["namespace"], "team-a", "{run}");
    let cluster = &by_name(&after, "clusters")[CLUSTER]["cluster"];
    assert_eq!(cluster["proxy-url"], "http://127.0.0.1:3128", "{run}");
    assert_eq!(cluster["tls-server-name"], "kubernetes", "{run}");
}

/// `--context on`: every entry named `on`, which kubectl must read as the string.
#[test]
fn a_context_named_on_is_a_string_to_every_kubectl() {
    let fake = cloud();
    let p = plugin(&fake);
    let config = p.write_home_file(
        ".kube/config",
        "apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster:\n    server: \
         https://127.0.0.2:1\nusers:\n- name: prod\n  user:\n    token: t\ncontexts:\n- name: \
         prod\n  context:\n    cluster: prod\n    user: prod\ncurrent-context: prod\n",
    );
    let list = config.to_string_lossy().into_owned();
    let home = p.home().join("kubectl-home");
    fs::create_dir_all(&home).unwrap();
    let before: Vec<Value> = kubectls()
        .iter()
        .map(|k| config_view(&k.path, &home, &list).unwrap())
        .collect();
    let run = succeed(merge(
        &p,
        &list,
        &["--context", "on", "--set-current-context"],
    ));
    for_every_kubectl(|round, k| {
        let mut before = before[round].clone();
        before["current-context"] = Value::String(String::new());
        let after = config_view(&k.path, &home, &list)?;
        check_merged(&before, &after, "on", SERVER, &ARGS, V1)
            .map_err(|e| format!("{e}\n{run}"))?;
        let out = kubectl_with_list(&k.path, &home, &list, &["config", "current-context"]);
        if !out.success() || out.stdout.trim() != "on" {
            return Err(format!("{out}"));
        }
        Ok(())
    });
}

/// Extension values keep their type: an unquoted `yes` stays kubectl's `true`, a quoted `"yes"`
/// stays a string, `1_000` a number and `"1_000"` a string, and so on through the YAML 1.1 forms.
#[test]
fn extension_values_keep_their_type_under_every_kubectl() {
    let fake = cloud();
    let p = plugin(&fake);
    let dir = p.home().join(".kube");
    copy_case("extensions", &dir);
    let list = dir.join("config").to_string_lossy().into_owned();
    merge_and_check_with_every_kubectl(&p, &list, &[], CLUSTER);
}

// ---------------------------------------------------------------------------------------------
// Which file: kubectl's rules
// ---------------------------------------------------------------------------------------------

/// `KUBECONFIG=~/.kube/extra:~/.kube/config` with `extra` missing and `config` current on
/// `prod`: the new entries go into `config` (the first file that exists), `extra` is not
/// created, and kubectl's current context stays `prod`.
#[test]
fn a_missing_first_file_is_not_created_and_the_current_context_stays() {
    let fake = cloud();
    let p = plugin(&fake);
    let config = p.write_home_file(
        ".kube/config",
        "apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster:\n    server: \
         https://127.0.0.2:1\nusers:\n- name: prod\n  user:\n    token: t\ncontexts:\n- name: \
         prod\n  context:\n    cluster: prod\n    user: prod\ncurrent-context: prod\n",
    );
    let extra = p.home().join(".kube/extra");
    let list = list_of(&[&extra, &config]);
    let run = merge_and_check_with_every_kubectl(&p, &list, &[], CLUSTER);
    assert!(!extra.exists(), "{run}");
    let text = fs::read_to_string(&config).unwrap();
    assert!(text.contains(&format!("- name: {CLUSTER}\n")), "{text}");
    assert!(text.contains("current-context: prod\n"), "{text}");
}

/// With `--set-current-context` the current context goes into the file new entries go to,
/// which kubectl reads first among those that exist.
#[test]
fn set_current_context_goes_into_the_first_file_that_exists() {
    let fake = cloud();
    let p = plugin(&fake);
    let dir = p.home().join("k");
    copy_case("multi-file", &dir);
    let (a, b, c) = (dir.join("a"), dir.join("b"), dir.join("c"));
    let list = list_of(&[&a, &b, &c]);
    let c_before = fs::read_to_string(&c).unwrap();
    let run = succeed(merge(&p, &list, &["--set-current-context"]));
    assert_eq!(
        run.stderr,
        format!("merged context {CLUSTER} into {}\n", b.display()),
        "{run}"
    );
    assert!(!a.exists(), "{run}");
    assert_eq!(fs::read_to_string(&c).unwrap(), c_before, "{run}");
    let home = p.home().join("kubectl-home");
    fs::create_dir_all(&home).unwrap();
    for_every_kubectl(|_, k| {
        let out = kubectl_with_list(&k.path, &home, &list, &["config", "current-context"]);
        if out.success() && out.stdout.trim() == CLUSTER {
            Ok(())
        } else {
            Err(format!("{out}"))
        }
    });
}

/// Each corpus case: where the new context must land, and what `KUBECONFIG` lists.
struct Case {
    name: &'static str,
    /// The files of the list, in order (some may not exist).
    list: &'static [&'static str],
    /// The files that must change (the new entries, or a current context, go there); every
    /// other file stays byte for byte.
    targets: &'static [&'static str],
}

const CORPUS: &[Case] = &[
    Case {
        name: "eks-exec",
        list: &["config"],
        targets: &["config"],
    },
    Case {
        name: "gke-gcloud-auth-plugin",
        list: &["config"],
        targets: &["config"],
    },
    Case {
        name: "aks-kubelogin",
        list: &["config"],
        targets: &["config"],
    },
    Case {
        name: "legacy-auth-provider",
        list: &["config"],
        targets: &["config"],
    },
    Case {
        name: "token-users",
        list: &["config"],
        targets: &["config"],
    },
    Case {
        name: "long-base64",
        list: &["config"],
        targets: &["config"],
    },
    Case {
        name: "extensions",
        list: &["config"],
        targets: &["config"],
    },
    Case {
        name: "preferences",
        list: &["config"],
        targets: &["config"],
    },
    Case {
        name: "yaml11-namespaces",
        list: &["config"],
        targets: &["config"],
    },
    Case {
        name: "unicode-names",
        list: &["config"],
        targets: &["config"],
    },
    Case {
        name: "no-current-context",
        list: &["config"],
        targets: &["config"],
    },
    Case {
        name: "empty-lists",
        list: &["config"],
        targets: &["config"],
    },
    Case {
        name: "multi-file",
        list: &["a", "b", "c"],
        targets: &["b"],
    },
    // `b` defines the cluster and user `ack-new`: they are updated there; the context is new,
    // so it goes into `a`, the first file.
    Case {
        name: "multi-file-defined",
        list: &["a", "b"],
        targets: &["a", "b"],
    },
    Case {
        name: "anchors-json-crlf",
        list: &["anchored", "config"],
        targets: &["anchored"],
    },
];

/// Every corpus case, merged with context `ack-new`, then read by every kubectl: the old
/// entries exactly as before, plus the new ones; only the target file changed; and a second
/// merge changes nothing.
#[test]
fn the_corpus_merges_as_every_kubectl_reads_it() {
    let fake = cloud();
    for case in CORPUS {
        let p = plugin(&fake);
        let dir = p.home().join(case.name);
        copy_case(case.name, &dir);
        let paths: Vec<PathBuf> = case.list.iter().map(|f| dir.join(f)).collect();
        let list = list_of(&paths.iter().map(PathBuf::as_path).collect::<Vec<_>>());
        let before: BTreeMap<PathBuf, Option<Vec<u8>>> = paths
            .iter()
            .map(|f| (f.clone(), fs::read(f).ok()))
            .collect();
        merge_and_check_with_every_kubectl(&p, &list, &["--context", "ack-new"], "ack-new");
        for (file, old) in &before {
            let now = fs::read(file).ok();
            if case.targets.iter().any(|t| file.ends_with(t)) {
                assert_ne!(&now, old, "{}: {} unchanged", case.name, file.display());
            } else {
                assert_eq!(&now, old, "{}: {} changed", case.name, file.display());
            }
        }
        let once: Vec<_> = paths.iter().map(|f| fs::read(f).ok()).collect();
        let run = succeed(merge(&p, &list, &["--context", "ack-new"]));
        let twice: Vec<_> = paths.iter().map(|f| fs::read(f).ok()).collect();
        assert!(
            once == twice,
            "{}: a second merge changed a file\n{run}",
            case.name
        );
        let leftovers: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".lock") || n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{}: {leftovers:?}", case.name);
    }
}

// ---------------------------------------------------------------------------------------------
// Concurrency: kubectl's lock
// ---------------------------------------------------------------------------------------------

/// 10 merges of 10 clusters at once into one file, three times over: all 10 contexts land every
/// time, and no lock file is left.
#[test]
fn ten_parallel_merges_keep_all_ten_contexts() {
    let fake = cloud();
    let ids: Vec<String> = (0..10).map(|i| format!("c{i:032x}")).collect();
    for id in &ids {
        fake.add_cluster(id, SERVER, SERVER, &fake.cluster_ca_pem());
    }
    for round in 0..3 {
        let p = plugin(&fake);
        let config = p.write_home_file(
            ".kube/config",
            "apiVersion: v1\nkind: Config\ncurrent-context: mine\n",
        );
        let runs: Vec<(bool, String)> = std::thread::scope(|s| {
            let handles: Vec<_> = ids
                .iter()
                .map(|id| {
                    let p = p
                        .clone()
                        .args(["kubeconfig", "--cluster-id", id, "--merge"]);
                    s.spawn(move || {
                        let run = p.run();
                        (run.status.success(), run.to_string())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (ok, report) in &runs {
            assert!(ok, "round {round}: a merge failed\n{report}");
        }
        let text = fs::read_to_string(&config).unwrap();
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        for section in ["clusters", "users", "contexts"] {
            let mut names: Vec<&str> = doc[section]
                .as_sequence()
                .unwrap_or_else(|| panic!("round {round}: no {section}\n{text}"))
                .iter()
                .filter_map(|e| e["name"].as_str())
                .collect();
            names.sort_unstable();
            assert_eq!(names, ids, "round {round}: {section}\n{text}");
        }
        assert_eq!(doc["current-context"], "mine", "round {round}\n{text}");
        let entries: Vec<String> = fs::read_dir(config.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(entries, ["config"], "round {round}: files left");
    }
}

/// The binary with [`plugin`]'s environment, started by hand: the lock test reads its stderr
/// line by line while it runs (`Plugin::spawn` hands the output over at the end).
fn spawn_merge(p: &Plugin, fake: &FakeCloud, list: &str) -> std::process::Child {
    let mut command = Command::new(BIN);
    command.env_clear().env("HOME", p.home());
    for api in ["ACK_CS_ENDPOINT", "ACK_ASM_ENDPOINT", "ACK_STS_ENDPOINT"] {
        command.env(api, fake.endpoint());
    }
    command
        .env("ACK_CACHE_DIR", p.cache_path())
        .env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", KEY_SECRET)
        .env("KUBECONFIG", list)
        .args(["kubeconfig", "--cluster-id", CLUSTER, "--merge", "-v"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the plugin")
}

/// A lock file left by kubectl (`<file>.lock`) makes the merge wait (it says so under `-v`),
/// and the merge goes through once the lock is gone.
#[test]
fn a_kubectl_lock_makes_the_merge_wait_then_it_goes_through() {
    let fake = cloud();
    let p = plugin(&fake);
    let config = p.write_home_file(".kube/config", "current-context: mine\n");
    let lock = p.home().join(".kube/config.lock");
    fs::write(&lock, "").unwrap();
    let mut child = spawn_merge(&p, &fake, &config.to_string_lossy());
    let stderr = child.stderr.take().unwrap();
    let (lines, seen) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let _ = lines.send(line.unwrap_or_default());
        }
    });
    let waiting = format!(
        "ack-credential-plugin: waiting for {} to go away",
        lock.display()
    );
    let mut stderr_text = String::new();
    // Generous: only a hang would take this long.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let line = seen
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("never said it was waiting:\n{stderr_text}"));
        stderr_text.push_str(&line);
        stderr_text.push('\n');
        if line == waiting {
            break;
        }
    }
    assert_eq!(
        fs::read_to_string(&config).unwrap(),
        "current-context: mine\n",
        "written while the lock was held"
    );
    fs::remove_file(&lock).unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running:\n{stderr_text}");
        std::thread::sleep(Duration::from_millis(10));
    };
    reader.join().unwrap();
    stderr_text.extend(seen.try_iter().map(|l| l + "\n"));
    assert!(status.success(), "{status}\n{stderr_text}");
    if let Err(leak) = secrets::check(
        &fake,
        &[KEY_SECRET.to_string()],
        "",
        &stderr_text,
        Stdout::Nothing,
    ) {
        panic!("{leak}\n{}", leak.mask(&stderr_text));
    }
    let text = fs::read_to_string(&config).unwrap();
    assert!(text.contains(&format!("- name: {CLUSTER}\n")), "{text}");
    assert!(!lock.exists());
}

/// A lock that stays: the merge gives up after its wait, names the lock and says what to do,
/// writes nothing, and leaves the lock (it is not ours).
#[test]
fn a_lock_that_stays_fails_the_merge_with_a_clear_message() {
    let fake = cloud();
    let p = plugin(&fake);
    let config = p.write_home_file(".kube/config", "current-context: mine\n");
    let lock = p.home().join(".kube/config.lock");
    fs::write(&lock, "").unwrap();
    let run = merge(&p, &config.to_string_lossy(), &[]);
    assert_eq!(run.code(), Some(1), "{run}");
    assert_eq!(
        run.stderr,
        format!(
            "ack-credential-plugin: error: cannot write the kubeconfig {config}: its lock file \
             {lock} is still there after 5 s: kubectl or another ack-credential-plugin is \
             changing it. If neither is running, the lock was left behind: remove {lock} and \
             try again\n",
            config = config.display(),
            lock = lock.display()
        ),
        "{run}"
    );
    assert!(run.elapsed >= Duration::from_secs(5), "{run}");
    assert_eq!(
        fs::read_to_string(&config).unwrap(),
        "current-context: mine\n"
    );
    assert!(lock.exists(), "someone else's lock was removed");
}

/// While a merge holds the lock kubectl cannot write (it fails rather than waits), and after
/// it kubectl's own write goes through: the two never interleave. Here kubectl writes
/// concurrently with ten merges; every write either lands or fails cleanly with kubectl's lock
/// error, every merge succeeds, and no merge ever loses a context kubectl wrote.
///
/// The other direction is kubectl's to keep, and it does not: `kubectl config set-context`
/// reads the kubeconfig before client-go's `ModifyConfig` takes the lock, and under the lock
/// deletes every context that is in the file but not in what it read first. A context our
/// merge adds in that gap is removed by kubectl (two kubectls lose each other's the same way).
/// So this asserts what the plugin guarantees; `ten_parallel_merges_keep_all_ten_contexts`
/// covers merges among themselves.
#[test]
fn merges_never_lose_what_kubectl_writes_beside_them() {
    let fake = cloud();
    let ids: Vec<String> = (0..10).map(|i| format!("c{i:032x}")).collect();
    for id in &ids {
        fake.add_cluster(id, SERVER, SERVER, &fake.cluster_ca_pem());
    }
    let p = plugin(&fake);
    let config = p.write_home_file(".kube/config", "current-context: mine\n");
    let list = config.to_string_lossy().into_owned();
    let home = p.home().join("kubectl-home");
    fs::create_dir_all(&home).unwrap();
    let bin = one_kubectl();
    let (kubectl_landed, runs) = std::thread::scope(|s| {
        let merges: Vec<_> = ids
            .iter()
            .map(|id| {
                let p = p
                    .clone()
                    .args(["kubeconfig", "--cluster-id", id, "--merge"]);
                s.spawn(move || {
                    let run = p.run();
                    (run.status.success(), run.to_string())
                })
            })
            .collect();
        let mut landed = Vec::new();
        for i in 0..10 {
            let name = format!("kubectl-{i}");
            let out = kubectl_with_list(
                bin,
                &home,
                &list,
                &["config", "set-context", &name, "--cluster=x", "--user=x"],
            );
            if out.success() {
                landed.push(name);
            } else {
                assert!(out.stderr.contains(".lock"), "{out}");
            }
        }
        let runs: Vec<_> = merges.into_iter().map(|h| h.join().unwrap()).collect();
        (landed, runs)
    });
    for (ok, report) in &runs {
        assert!(ok, "a merge failed\n{report}");
    }
    let view = config_view(bin, &home, &list).unwrap();
    let contexts = by_name(&view, "contexts");
    for name in &kubectl_landed {
        assert!(contexts.contains_key(name), "{name} lost: {view}");
    }
}

// ---------------------------------------------------------------------------------------------
// The file itself: owner, mode, symlinks
// ---------------------------------------------------------------------------------------------

/// Run as root (`sudo -E`), a merge into a user's kubeconfig keeps its owner and mode.
#[test]
fn owner_and_mode_survive_a_merge_run_as_root() {
    assert!(
        rustix::process::geteuid().is_root(),
        "this test needs root (to own a file as another user), as CI runs"
    );
    let fake = cloud();
    let p = plugin(&fake);
    let config = p.write_home_file(".kube/config", "current-context: mine\n");
    std::os::unix::fs::chown(&config, Some(65534), Some(65534)).unwrap();
    fs::set_permissions(&config, fs::Permissions::from_mode(0o644)).unwrap();
    let run = succeed(merge(&p, &config.to_string_lossy(), &[]));
    let meta = fs::metadata(&config).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (65534, 65534), "{run}");
    assert_eq!(meta.mode() & 0o7777, 0o644, "{run}");
    assert!(
        fs::read_to_string(&config)
            .unwrap()
            .contains(&format!("- name: {CLUSTER}\n")),
        "{run}"
    );
}

/// A dangling `~/.kube/config` symlink (dotfiles not yet in place) stays a symlink: its target
/// is created, 0600, and kubectl reads the context through the link.
#[test]
fn a_dangling_symlink_gets_its_target_and_stays_a_link() {
    let fake = cloud();
    let p = plugin(&fake);
    let kube = p.home().join(".kube");
    fs::create_dir_all(&kube).unwrap();
    let link = kube.join("config");
    std::os::unix::fs::symlink("../dotfiles/kube/config", &link).unwrap();
    let target = p.home().join("dotfiles/kube/config");
    let run = succeed(merge(&p, &link.to_string_lossy(), &[]));
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link was replaced\n{run}"
    );
    assert_eq!(
        fs::read_link(&link).unwrap(),
        PathBuf::from("../dotfiles/kube/config")
    );
    assert_eq!(
        fs::metadata(&target).unwrap().mode() & 0o777,
        0o600,
        "{run}"
    );
    let home = p.home().join("kubectl-home");
    fs::create_dir_all(&home).unwrap();
    for_every_kubectl(|_, k| {
        let out = kubectl_with_list(
            &k.path,
            &home,
            &link.to_string_lossy(),
            &["config", "current-context"],
        );
        if out.success() && out.stdout.trim() == CLUSTER {
            Ok(())
        } else {
            Err(format!("{out}"))
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Property: any kubeconfig kubectl accepts
// ---------------------------------------------------------------------------------------------

mod random {
    //! Random kubeconfigs, written as text so that plain and quoted scalars both occur, with
    //! names and values drawn from YAML 1.1 words, numbers as strings, unicode and syntax.

    use std::fmt::Write as _;

    use proptest::prelude::*;

    const WORDS: &[&str] = &[
        "prod",
        "no",
        "on",
        "yes",
        "y",
        "N",
        "Off",
        "true",
        "1_000",
        "0x1f",
        "1e3",
        "~",
        "null",
        "2001-12-14",
        "1:20",
        ".inf",
        "12345",
        "10.0.0.1",
        "名前",
        "with space",
        "a: b",
        "#hash",
        "-dash",
        "é",
        "🚀",
        "x'y",
        "q\"z",
        "tab\there",
        "",
    ];

    /// A string in one of YAML's styles.
    fn styled(text: &str, style: u8) -> String {
        let plain_ok = !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_alphanumeric() || "._-".contains(c))
            && !text.starts_with(['-', '.']);
        match style {
            0 if plain_ok => text.to_string(),
            1 if !text.contains(['\t']) => format!("'{}'", text.replace('\'', "''")),
            _ => serde_json::to_string(text).unwrap(),
        }
    }

    fn word() -> impl Strategy<Value = String> {
        (prop::sample::select(WORDS), 0u8..3).prop_map(|(w, style)| styled(w, style))
    }

    /// The JSON key kubectl makes of a mapping key written `key` (in [`styled`]'s forms): a
    /// plain `yes`, `on` and `true` are all the boolean true to its YAML 1.1 reader, and so all
    /// `"true"` in `kubectl config view -o json`. Two keys of one mapping that come out the same
    /// are one key to kubectl, and which value it shows depends on Go's map order (random), so
    /// a generated mapping never holds two keys this maps to one JSON key.
    fn json_key(key: &str) -> String {
        if key.starts_with(['\'', '"']) {
            return key[1..key.len() - 1].to_string();
        }
        match key {
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
                "true"
            }
            "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False"
            | "FALSE" => "false",
            "~" | "null" | "Null" | "NULL" | "" => "null",
            "1_000" | "1e3" => "1000",
            "0x1f" => "31",
            other => other,
        }
        .to_string()
    }

    /// An extension value: scalars of every type and style, nested a little.
    fn value() -> impl Strategy<Value = String> {
        let scalar = prop_oneof![
            word(),
            prop::sample::select(vec![
                "42", "-7", "3.14", "true", "false", "~", "yes", "on", "0o17"
            ])
            .prop_map(String::from),
        ];
        scalar.prop_recursive(2, 12, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(", "))),
                prop::collection::vec((word(), inner), 0..4).prop_map(|v| {
                    let mut seen = std::collections::HashSet::new();
                    let entries: Vec<String> = v
                        .into_iter()
                        .filter(|(k, _)| seen.insert(json_key(k)))
                        .map(|(k, v)| format!("{k}: {v}"))
                        .collect();
                    format!("{{{}}}", entries.join(", "))
                }),
            ]
        })
    }

    fn extensions() -> impl Strategy<Value = Option<String>> {
        prop::option::of(value().prop_map(|v| format!("[{{name: ext, extension: {v}}}]")))
    }

    /// A kubeconfig: up to three clusters, users and contexts, some with extensions and
    /// namespaces, maybe preferences and a current context.
    pub fn kubeconfig() -> impl Strategy<Value = String> {
        let names = prop::collection::btree_set(prop::sample::select(WORDS), 0..4);
        (
            names.clone(),
            names.clone(),
            names,
            prop::collection::vec((extensions(), prop::option::of(word()), 0u8..3), 3),
            prop::option::of((any::<bool>(), extensions())),
            prop::option::of((any::<prop::sample::Index>(), 0u8..3)),
        )
            .prop_map(
                |(clusters, users, contexts, extras, preferences, current)| {
                    let mut text = String::from("apiVersion: v1\nkind: Config\n");
                    text.push_str("clusters:\n");
                    for (i, name) in clusters.iter().enumerate() {
                        let _ = write!(
                            text,
                            "- name: {}\n  cluster:\n    server: https://127.0.0.{}:1\n",
                            styled(name, (i % 3) as u8),
                            i + 2
                        );
                        if let Some(ext) = &extras[i % 3].0 {
                            let _ = writeln!(text, "    extensions: {ext}");
                        }
                    }
                    text.push_str("users:\n");
                    for (i, name) in users.iter().enumerate() {
                        let _ = write!(
                            text,
                            "- name: {}\n  user:\n    token: {}\n",
                            styled(name, extras[i % 3].2),
                            styled(name, 2)
                        );
                    }
                    text.push_str("contexts:\n");
                    for (i, name) in contexts.iter().enumerate() {
                        let (ext, namespace, style) = &extras[i % 3];
                        let _ = write!(
                            text,
                            "- name: {}\n  context:\n    cluster: {}\n    user: {}\n",
                            styled(name, *style),
                            styled(clusters.iter().next().copied().unwrap_or("none"), 2),
                            styled(users.iter().next().copied().unwrap_or("none"), 2),
                        );
                        if let Some(namespace) = namespace {
                            let _ = writeln!(text, "    namespace: {namespace}");
                        }
                        if let Some(ext) = ext {
                            let _ = writeln!(text, "    extensions: {ext}");
                        }
                    }
                    if let Some((colors, ext)) = preferences {
                        let _ = writeln!(text, "preferences:\n  colors: {colors}");
                        if let Some(ext) = ext {
                            let _ = writeln!(text, "  extensions: {ext}");
                        }
                    }
                    if let Some((at, style)) = current
                        && !contexts.is_empty()
                    {
                        let name = contexts.iter().nth(at.index(contexts.len())).unwrap();
                        let _ = writeln!(text, "current-context: {}", styled(name, style));
                    }
                    text
                },
            )
    }
}

/// For any kubeconfig kubectl accepts, a merge leaves what kubectl shows exactly as it was plus
/// the new context (named from YAML 1.1 words too). 24 cases by default (kubectl costs about
/// 50 ms a run); `PROPTEST_CASES=500 cargo test --test it any_kubeconfig` runs longer.
#[test]
fn any_kubeconfig_kubectl_accepts_merges_as_kubectl_reads_it() {
    use proptest::test_runner::{Config, TestCaseError, TestRunner};
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(24);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let fake = cloud();
    let bin = one_kubectl();
    let names = proptest::sample::select(vec!["ack-new", "on", "no", "1_000", "名前 x", "prod"]);
    let accepted = std::cell::Cell::new(0usize);
    runner
        .run(&(random::kubeconfig(), names), |(text, name)| {
            let p = plugin(&fake);
            let config = p.write_home_file(".kube/config", &text);
            let list = config.to_string_lossy().into_owned();
            let home = p.home().join("kubectl-home");
            fs::create_dir_all(&home).unwrap();
            let Ok(before) = config_view(bin, &home, &list) else {
                return Err(TestCaseError::reject("kubectl refuses it"));
            };
            accepted.set(accepted.get() + 1);
            let run = merge(&p, &list, &["--context", name]);
            if !run.status.success() {
                return Err(TestCaseError::fail(format!("{text}\n{run}")));
            }
            let after = config_view(bin, &home, &list)
                .map_err(|e| TestCaseError::fail(format!("{text}\n{e}\n{run}")))?;
            let args = ["get-credential", "--cluster-id", CLUSTER];
            check_merged(&before, &after, name, SERVER, &args, V1).map_err(|e| {
                TestCaseError::fail(format!(
                    "{text}\n---- written:\n{}\n{e}",
                    fs::read_to_string(&config).unwrap()
                ))
            })
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let accepted = accepted.get();
    assert!(
        accepted >= cases as usize / 2,
        "only {accepted} inputs were accepted by kubectl"
    );
}

// ---------------------------------------------------------------------------------------------
// kubeconfig --api-version
// ---------------------------------------------------------------------------------------------

/// `kubeconfig --api-version v1beta1` writes a v1beta1 exec entry, and every kubectl reaches the
/// cluster with it: kubectl asks for v1beta1 and the plugin answers in it.
#[test]
fn a_v1beta1_kubeconfig_works_with_every_kubectl() {
    let fake = FakeCloud::start();
    let caller = fake.add_access_key(KEY_ID, KEY_SECRET);
    let api = ApiServer::start(&fake.client_ca_pem());
    api.require_cn(Some(&caller.uid));
    fake.add_cluster(CLUSTER, &api.url(), &api.url(), api.ca_pem());
    let sandbox = tempfile::tempdir().unwrap();
    let endpoint = fake.endpoint();
    for_every_kubectl(|round, k| {
        let bin = k.path.as_path();
        let dir = sandbox.path().join(format!("round-{round}"));
        let home = dir.join("home");
        fs::create_dir_all(&home).unwrap();
        let kubeconfig = dir.join("kubeconfig");
        let cache = dir.join("cache");
        let run = plugin(&fake)
            .env_remove("ACK_CS_ENDPOINT")
            .env_remove("ACK_CACHE_DIR")
            .args([
                "kubeconfig",
                "--cluster-id",
                CLUSTER,
                "--api-version",
                "v1beta1",
            ])
            .args([
                "--cs-endpoint",
                &endpoint,
                "--cache-dir",
                &cache.to_string_lossy(),
            ])
            .args(["--output", &kubeconfig.to_string_lossy()])
            .run();
        if !run.status.success() {
            return Err(format!("`kubeconfig` failed:\n{run}"));
        }
        let text = fs::read_to_string(&kubeconfig).unwrap();
        if !text.contains(&format!("apiVersion: {V1BETA1}\n")) {
            return Err(format!("no v1beta1 exec entry:\n{text}"));
        }
        api.clear_requests();
        let mut cmd = kubectl::kubectl_command(bin, &home, &kubeconfig);
        cmd.env("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID)
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", KEY_SECRET)
            .env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
            .args(["get", "--raw", "/api/v1/namespaces/default/pods"]);
        let out = kubectl::run_command(cmd, kubectl::PROCESS_TIMEOUT);
        if !out.success() || !out.stderr.trim().is_empty() || !out.stdout.contains(POD_NAME) {
            return Err(format!("{out}"));
        }
        let requests = api.requests();
        if requests.is_empty()
            || !requests
                .iter()
                .all(|r| r.client_cert_verified && r.client_cn.as_deref() == Some(&caller.uid))
        {
            return Err(format!(
                "requests without the caller's certificate: {requests:?}"
            ));
        }
        Ok(())
    });
}

/// The default stays v1 in the kubeconfig, and `get-credential` keeps its own rule: v1beta1
/// without `KUBERNETES_EXEC_INFO` and `--api-version`, else what they say.
#[test]
fn api_version_defaults_stay_as_they_were() {
    let fake = cloud();
    let run = succeed(
        plugin(&fake)
            .args(["kubeconfig", "--cluster-id", CLUSTER])
            .run(),
    );
    assert!(run.stdout.contains(&format!("apiVersion: {V1}\n")), "{run}");
    let get = |extra: &[&str], info: Option<&str>| {
        let mut p = plugin(&fake)
            .args(["get-credential", "--cluster-id", CLUSTER])
            .args(extra.iter().copied());
        if let Some(info) = info {
            p = p.env("KUBERNETES_EXEC_INFO", info);
        }
        p.run_ok().credential().api_version
    };
    assert_eq!(get(&[], None), V1BETA1);
    assert_eq!(get(&["--api-version", "v1"], None), V1);
    assert_eq!(get(&["--api-version", "v1beta1"], None), V1BETA1);
    let info = format!(
        r#"{{"apiVersion":"{V1}","kind":"ExecCredential","spec":{{"interactive":false}}}}"#
    );
    assert_eq!(get(&["--api-version", "v1beta1"], Some(&info)), V1);
}

/// `--api-version` is in `kubeconfig --help` and in the completions.
#[test]
fn api_version_is_in_the_help_and_the_completions() {
    let fake = cloud();
    let help = plugin(&fake).args(["kubeconfig", "--help"]).run();
    assert!(help.status.success(), "{help}");
    assert!(
        help.stdout.contains("--api-version <VERSION>")
            && help.stdout.contains("[possible values: v1, v1beta1]"),
        "{help}"
    );
    let bash = plugin(&fake).args(["completions", "bash"]).run();
    assert!(bash.status.success(), "{bash}");
    let kubeconfig_options = bash
        .stdout
        .split("__plugin__subcmd__kubeconfig)")
        .nth(1)
        .and_then(|section| {
            section
                .lines()
                .find(|l| l.trim_start().starts_with("opts="))
        })
        .unwrap_or_else(|| panic!("no kubeconfig options\n{bash}"));
    assert!(
        kubeconfig_options.contains("--api-version"),
        "{kubeconfig_options}"
    );
}
