//! `kubeconfig --merge`: into `$KUBECONFIG`'s first file, `--kubeconfig`, through a symlink,
//! replacing same-name entries in place and keeping everything else.

use super::*;

/// A kubeconfig with one token user `name` (server `server`).
fn token_kubeconfig(name: &str, server: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    server: {server}\n\
         users:\n- name: {name}\n  user:\n    token: token-of-{name}\n\
         contexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\n\
         current-context: {name}\n"
    )
}

/// An entry of the same name is replaced where it stands (no duplicate, order kept); a file
/// without a current context gets the new one.
#[test]
fn merge_replaces_same_name_entries_in_place_and_sets_a_missing_current_context() {
    let (fake, _) = cloud_with_meshes();
    let p = as_ram_user(&fake);
    let stale = token_kubeconfig(CLUSTER, "https://127.0.2.9:1")
        .replace(&format!("current-context: {CLUSTER}\n"), "");
    let other = token_kubeconfig("other", "https://127.0.2.4:1");
    let other_yaml: Yaml = serde_yaml_ng::from_str(&other).unwrap();
    let mut doc: Yaml = serde_yaml_ng::from_str(&stale).unwrap();
    for section in ["clusters", "users", "contexts"] {
        let extra = other_yaml[section][0].clone();
        doc[section].as_sequence_mut().unwrap().push(extra);
    }
    let before = serde_yaml_ng::to_string(&doc).unwrap();
    let path = p.write_home_file(".kube/config", &before);

    let run = p
        .clone()
        .args(["kubeconfig", "--cluster-id", CLUSTER, "--merge"])
        .run_success();
    let after = yaml(&fs::read_to_string(&path).unwrap(), &run);
    for section in ["clusters", "users", "contexts"] {
        let list = after[section].as_sequence().unwrap();
        let names: Vec<&str> = list.iter().filter_map(|e| e["name"].as_str()).collect();
        assert_eq!(names, [CLUSTER, "other"], "{section}\n{run}");
        assert_eq!(list[1], other_yaml[section][0], "{section}\n{run}");
    }
    assert_eq!(
        entry(&after, "clusters", CLUSTER)["cluster"]["server"],
        DEFAULT_CLUSTER_PUBLIC_SERVER,
        "{run}"
    );
    let user = &entry(&after, "users", CLUSTER)["user"];
    assert!(
        user.get("token").is_none() && user.get("exec").is_some(),
        "{run}"
    );
    assert_eq!(after["current-context"], CLUSTER, "{run}");
}

#[test]
fn merge_goes_into_the_first_file_of_kubeconfig() {
    let (fake, _) = cloud_with_meshes();
    let p = as_ram_user(&fake);
    let first_text = token_kubeconfig("first", "https://127.0.2.1:1");
    let second_text = token_kubeconfig("second", "https://127.0.2.2:1");
    let first = p.write_home_file("x/first", &first_text);
    let first_mode = mode(&first);
    let second = p.write_home_file("x/second", &second_text);
    let list = format!("{}:{}", first.display(), second.display());
    let run = p
        .clone()
        .env("KUBECONFIG", list)
        .args(["kubeconfig", "--mesh-id", MESH, "--merge"])
        .run_success();
    assert_stderr(
        &run,
        r"
merged context m1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d into [home]/x/first",
    );
    let merged = yaml(&fs::read_to_string(&first).unwrap(), &run);
    let original = yaml(&first_text, &run);
    for section in ["clusters", "users", "contexts"] {
        assert_eq!(
            entry(&merged, section, "first"),
            entry(&original, section, "first"),
            "{run}"
        );
        entry(&merged, section, MESH);
    }
    assert_eq!(merged["current-context"], "first", "{run}");
    assert_eq!(
        entry(&merged, "clusters", MESH)["cluster"]["server"],
        DEFAULT_MESH_PUBLIC_SERVER
    );
    assert_eq!(mode(&first), first_mode, "the file keeps its mode\n{run}");
    assert_eq!(fs::read_to_string(&second).unwrap(), second_text, "{run}");
    assert!(!p.home().join(".kube/config").exists(), "{run}");
}

#[test]
fn merge_goes_into_the_kubeconfig_flag_file_creating_it() {
    let (fake, _) = cloud_with_meshes();
    let p = as_ram_user(&fake);
    let elsewhere_text = token_kubeconfig("elsewhere", "https://127.0.2.3:1");
    let elsewhere = p.write_home_file("elsewhere.kubeconfig", &elsewhere_text);
    let target = p.home().join("configs").join("ack.yaml");
    fs::create_dir_all(target.parent().unwrap()).unwrap();
    let run = p
        .clone()
        .env("KUBECONFIG", elsewhere.to_string_lossy())
        .args([
            "kubeconfig",
            "--cluster-id",
            CLUSTER,
            "--merge",
            "--kubeconfig",
        ])
        .arg(target.to_string_lossy())
        .run_success();
    assert_stderr(
        &run,
        r"
merged context c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a into [home]/configs/ack.yaml",
    );
    let config = yaml(&fs::read_to_string(&target).unwrap(), &run);
    // A new file: the context is its current one.
    assert_generated(
        &config,
        CLUSTER,
        DEFAULT_CLUSTER_PUBLIC_SERVER,
        &fake.cluster_ca_pem(),
        &strings(&["get-credential", "--cluster-id", CLUSTER]),
        &run,
    );
    assert_eq!(mode(&target), 0o600, "{run}");
    assert_eq!(
        fs::read_to_string(&elsewhere).unwrap(),
        elsewhere_text,
        "{run}"
    );
    assert!(!p.home().join(".kube/config").exists(), "{run}");
}

#[test]
fn merge_writes_through_a_symlinked_kubeconfig() {
    let (fake, _) = cloud_with_meshes();
    let p = as_ram_user(&fake);
    let original = token_kubeconfig("other", "https://127.0.2.4:1");
    let target = p.write_home_file("dotfiles/kube/config", &original);
    fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).unwrap();
    let link = p.home().join(".kube").join("config");
    fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink("../dotfiles/kube/config", &link).unwrap();

    let run = p
        .clone()
        .args(["kubeconfig", "--cluster-id", CLUSTER, "--merge"])
        .run_success();
    let meta = fs::symlink_metadata(&link).unwrap();
    assert!(
        meta.file_type().is_symlink(),
        "the link was replaced\n{run}"
    );
    assert_eq!(
        fs::read_link(&link).unwrap(),
        PathBuf::from("../dotfiles/kube/config"),
        "{run}"
    );
    let merged = yaml(&fs::read_to_string(&target).unwrap(), &run);
    entry(&merged, "contexts", CLUSTER);
    assert_eq!(
        other_entries(&merged),
        other_entries(&yaml(&original, &run)),
        "{run}"
    );
    assert_eq!(mode(&target), 0o644, "the target keeps its mode\n{run}");
    let leftovers: Vec<String> = fs::read_dir(link.parent().unwrap())
        .unwrap()
        .chain(fs::read_dir(target.parent().unwrap()).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "config")
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary files left: {leftovers:?}\n{run}"
    );
}
