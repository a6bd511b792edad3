//! The kubeconfigs the `kubeconfig` command writes: a cluster, a context and a user that runs
//! this plugin, merged into what is there.

use std::path::Path;

use serde_yaml_ng::{Mapping, Value};

use super::issued::Cluster;
use super::yaml_error;

/// The `exec` user a generated kubeconfig gets: this binary, by absolute path (GUI tools such
/// as Lens do not see the shell's PATH), with `get-credential` and the flags that decide the
/// credential.
pub(crate) struct ExecUser<'a> {
    pub(crate) command: &'a Path,
    pub(crate) args: &'a [String],
}

impl ExecUser<'_> {
    fn to_value(&self) -> Value {
        let mut exec = Mapping::new();
        exec.insert("apiVersion".into(), crate::exec_credential::V1.into());
        exec.insert(
            "command".into(),
            self.command.to_string_lossy().as_ref().into(),
        );
        exec.insert(
            "args".into(),
            Value::Sequence(self.args.iter().map(|a| a.as_str().into()).collect()),
        );
        exec.insert("interactiveMode".into(), "Never".into());
        exec.insert("provideClusterInfo".into(), false.into());
        exec.insert(
            "installHint".into(),
            format!(
                "This kubeconfig runs ack-credential-plugin at {} for credentials. Install it \
                 there (./install.sh in its repository), or run `ack-credential-plugin kubeconfig` \
                 again to point at where it is now.",
                self.command.display()
            )
            .into(),
        );
        let mut user = Mapping::new();
        user.insert("exec".into(), Value::Mapping(exec));
        Value::Mapping(user)
    }
}

/// The three named entries a generated kubeconfig consists of, all called `name`.
fn entries(name: &str, cluster: &Cluster, exec: &ExecUser) -> [(&'static str, Value); 3] {
    let named = |key: &str, body: Value| {
        let mut entry = Mapping::new();
        entry.insert("name".into(), name.into());
        entry.insert(key.into(), body);
        Value::Mapping(entry)
    };
    let mut cluster_body = Mapping::new();
    cluster_body.insert("server".into(), cluster.server.as_str().into());
    if let Some(ca) = &cluster.certificate_authority_data {
        cluster_body.insert("certificate-authority-data".into(), ca.as_str().into());
    }
    let mut context_body = Mapping::new();
    context_body.insert("cluster".into(), name.into());
    context_body.insert("user".into(), name.into());
    [
        ("clusters", named("cluster", Value::Mapping(cluster_body))),
        ("contexts", named("context", Value::Mapping(context_body))),
        ("users", named("user", exec.to_value())),
    ]
}

/// Merge a context `name` (its cluster, user and context entries) into the kubeconfig `existing`
/// (empty for a new file): entries of the same name are replaced where they stand, everything
/// else is kept, so merging twice gives the same document. The current context becomes `name`
/// when `set_current` or when there is none. No certificate or key is ever written: the user
/// runs the plugin.
pub(crate) fn merge(
    existing: &str,
    name: &str,
    cluster: &Cluster,
    exec: &ExecUser,
    set_current: bool,
) -> Result<String, String> {
    let mut document: Value = if existing.trim().is_empty() {
        Value::Mapping(Mapping::new())
    } else {
        serde_yaml_ng::from_str(existing).map_err(|e| format!("it {}", yaml_error(&e)))?
    };
    if document.is_null() {
        document = Value::Mapping(Mapping::new());
    }
    let map = document
        .as_mapping_mut()
        .ok_or("it is not a kubeconfig (not a mapping)")?;
    if !map.contains_key("apiVersion") {
        map.insert("apiVersion".into(), "v1".into());
    }
    if !map.contains_key("kind") {
        map.insert("kind".into(), "Config".into());
    }
    for (section, entry) in entries(name, cluster, exec) {
        let list = map
            .entry(section.into())
            .or_insert_with(|| Value::Sequence(Vec::new()));
        if list.is_null() {
            *list = Value::Sequence(Vec::new());
        }
        let list = list
            .as_sequence_mut()
            .ok_or_else(|| format!("its `{section}` is not a list"))?;
        match list
            .iter()
            .position(|e| e.get("name").and_then(Value::as_str) == Some(name))
        {
            Some(at) => list[at] = entry,
            None => list.push(entry),
        }
    }
    let has_current = map
        .get("current-context")
        .and_then(Value::as_str)
        .is_some_and(|c| !c.is_empty());
    if set_current || !has_current {
        map.insert("current-context".into(), name.into());
    }
    serde_yaml_ng::to_string(&document).map_err(|e| format!("cannot write it: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubeconfig::Kubeconfig;
    use crate::kubeconfig::issued::tests::{CERT, KEY, ack_kubeconfig, b64};

    fn exec_user_args() -> Vec<String> {
        ["get-credential", "--cluster-id", "c1"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn a_new_kubeconfig_runs_the_plugin_and_holds_no_key() {
        let config = Kubeconfig::parse(&ack_kubeconfig(&b64(CERT), &b64(KEY))).unwrap();
        let args = exec_user_args();
        let exec = ExecUser {
            command: Path::new("/opt/bin/ack-credential-plugin"),
            args: &args,
        };
        let text = merge("", "c1", config.current_cluster().unwrap(), &exec, false).unwrap();
        assert!(
            !text.contains(&b64(KEY)) && !text.contains(&b64(CERT)),
            "{text}"
        );
        let value: Value = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(value["current-context"], "c1");
        assert_eq!(
            value["clusters"][0]["cluster"]["server"],
            "https://1.2.3.4:6443"
        );
        assert_eq!(
            value["clusters"][0]["cluster"]["certificate-authority-data"],
            b64("ca").as_str()
        );
        assert_eq!(value["contexts"][0]["context"]["user"], "c1");
        let exec = &value["users"][0]["user"]["exec"];
        assert_eq!(exec["command"], "/opt/bin/ack-credential-plugin");
        assert_eq!(exec["args"][2], "c1");
        assert_eq!(exec["interactiveMode"], "Never");
        assert_eq!(exec["provideClusterInfo"], false);
        assert_eq!(exec["apiVersion"], "client.authentication.k8s.io/v1");
        assert!(exec["installHint"].as_str().unwrap().contains("/opt/bin"));
    }

    #[test]
    fn merging_keeps_other_entries_and_twice_changes_nothing() {
        let existing = "apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster:\n    \
                        server: https://other:6443\ncontexts:\n- name: other\n  context:\n    \
                        cluster: other\n    user: other\ncurrent-context: other\nusers:\n- name: \
                        other\n  user:\n    token: keep-me\npreferences: {colors: true}\n";
        let config = Kubeconfig::parse(&ack_kubeconfig(&b64(CERT), &b64(KEY))).unwrap();
        let args = exec_user_args();
        let exec = ExecUser {
            command: Path::new("/bin/p"),
            args: &args,
        };
        let cluster = config.current_cluster().unwrap();
        let once = merge(existing, "c1", cluster, &exec, false).unwrap();
        let twice = merge(&once, "c1", cluster, &exec, false).unwrap();
        assert_eq!(once, twice);
        let value: Value = serde_yaml_ng::from_str(&once).unwrap();
        assert_eq!(value["current-context"], "other");
        assert_eq!(value["users"][0]["user"]["token"], "keep-me");
        assert_eq!(value["preferences"]["colors"], true);
        assert_eq!(value["clusters"].as_sequence().unwrap().len(), 2);
        let current = merge(&once, "c1", cluster, &exec, true).unwrap();
        let value: Value = serde_yaml_ng::from_str(&current).unwrap();
        assert_eq!(value["current-context"], "c1");
        assert_eq!(value["contexts"].as_sequence().unwrap().len(), 2);
        assert!(merge("- a list", "c1", cluster, &exec, false).is_err());
        assert!(merge("clusters: {}", "c1", cluster, &exec, false).is_err());
    }
}
