//! The file itself (owner, mode, symlinks), and an entry written again (what the user added to
//! it stays).

use super::*;

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
