//! Which file: kubectl's rules.

use super::*;

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
