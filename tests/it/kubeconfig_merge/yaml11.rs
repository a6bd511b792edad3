//! YAML 1.1: what kubectl reads keeps its meaning.

use super::*;

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
