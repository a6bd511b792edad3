//! Kubeconfigs: the one the API returns (which cluster and user it holds, and that user's
//! credential), and the ones the `kubeconfig` command writes (a user that runs this plugin).

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use serde_yaml_ng::{Mapping, Value};

use crate::exec_credential::Status;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Kubeconfig {
    pub clusters: Vec<NamedCluster>,
    pub contexts: Vec<NamedContext>,
    pub users: Vec<NamedUser>,
    #[serde(rename = "current-context")]
    pub current_context: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NamedCluster {
    pub name: String,
    pub cluster: Cluster,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Cluster {
    pub server: String,
    #[serde(rename = "certificate-authority-data")]
    pub certificate_authority_data: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NamedContext {
    pub name: String,
    pub context: Context,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Context {
    pub cluster: String,
    pub user: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NamedUser {
    pub name: String,
    pub user: User,
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct User {
    #[serde(rename = "client-certificate-data")]
    pub client_certificate_data: Option<String>,
    #[serde(rename = "client-key-data")]
    pub client_key_data: Option<String>,
    pub token: Option<String>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("User { *** }")
    }
}

impl Kubeconfig {
    /// Parse kubeconfig YAML. Errors name the position only, never the content: the document
    /// holds a private key.
    pub fn parse(yaml: &str) -> Result<Kubeconfig, String> {
        serde_yaml_ng::from_str(yaml).map_err(|e| format!("the kubeconfig {}", yaml_error(&e)))
    }

    /// The cluster of the current context; else the only cluster there is.
    pub fn current_cluster(&self) -> Option<&Cluster> {
        let by_context = self
            .current_context
            .as_ref()
            .and_then(|name| self.contexts.iter().find(|c| &c.name == name))
            .and_then(|context| {
                self.clusters
                    .iter()
                    .find(|c| c.name == context.context.cluster)
            });
        match (by_context, self.clusters.as_slice()) {
            (Some(named), _) => Some(&named.cluster),
            (None, [only]) => Some(&only.cluster),
            _ => None,
        }
    }

    /// The user of the current context; else the only user there is.
    pub fn current_user(&self) -> Option<&User> {
        let by_context = self
            .current_context
            .as_ref()
            .and_then(|name| self.contexts.iter().find(|c| &c.name == name))
            .and_then(|context| self.users.iter().find(|u| u.name == context.context.user));
        match (by_context, self.users.as_slice()) {
            (Some(named), _) => Some(&named.user),
            (None, [only]) => Some(&only.user),
            _ => None,
        }
    }

    /// The credential of the current user: PEM certificate and key, or a token.
    pub fn credential(&self) -> Result<Status, String> {
        let user = self
            .current_user()
            .ok_or("the kubeconfig names no user to take credentials from")?;
        match (
            &user.client_certificate_data,
            &user.client_key_data,
            &user.token,
        ) {
            (Some(cert), Some(key), _) => {
                let cert = decode_pem(cert, "client-certificate-data", "CERTIFICATE")?;
                let key = decode_pem(key, "client-key-data", "PRIVATE KEY")?;
                Ok(Status {
                    client_certificate_data: Some(cert),
                    client_key_data: Some(key),
                    token: None,
                })
            }
            (None, None, Some(token)) if !token.trim().is_empty() => Ok(Status {
                client_certificate_data: None,
                client_key_data: None,
                token: Some(token.trim().to_string()),
            }),
            (Some(_), None, _) | (None, Some(_), _) => {
                Err("the kubeconfig's user has a certificate or a key but not both".to_string())
            }
            _ => Err(
                "the kubeconfig's user has neither a client certificate nor a token".to_string(),
            ),
        }
    }
}

/// The `exec` user a generated kubeconfig gets: this binary, by absolute path (GUI tools such
/// as Lens do not see the shell's PATH), with `get-credential` and the flags that decide the
/// credential.
pub struct ExecUser<'a> {
    pub command: &'a Path,
    pub args: &'a [String],
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
pub fn merge(
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

/// Where a YAML document went wrong, without quoting it (a kubeconfig can hold a key).
fn yaml_error(error: &serde_yaml_ng::Error) -> String {
    match error.location() {
        Some(at) => format!(
            "is not valid YAML (line {}, column {})",
            at.line(),
            at.column()
        ),
        None => "is not a valid kubeconfig document".to_string(),
    }
}

/// Base64-decode a `*-data` field and check it is PEM of the expected kind.
fn decode_pem(data: &str, field: &str, label_suffix: &str) -> Result<String, String> {
    let compact: String = data.split_whitespace().collect();
    let bytes = BASE64
        .decode(compact)
        .map_err(|_| format!("the kubeconfig's {field} is not base64"))?;
    let text =
        String::from_utf8(bytes).map_err(|_| format!("the kubeconfig's {field} is not PEM"))?;
    let begins_right = text
        .lines()
        .find(|line| line.starts_with("-----BEGIN "))
        .is_some_and(|line| line.trim_end().ends_with(&format!("{label_suffix}-----")));
    if !begins_right {
        return Err(format!(
            "the kubeconfig's {field} is not a PEM {label_suffix}"
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(text: &str) -> String {
        BASE64.encode(text)
    }

    const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    const KEY: &str = "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n";

    fn ack_kubeconfig(cert: &str, key: &str) -> String {
        format!(
            "apiVersion: v1\nclusters:\n- cluster:\n    server: https://1.2.3.4:6443\n    \
             certificate-authority-data: {ca}\n  name: kubernetes\ncontexts:\n- context:\n    \
             cluster: kubernetes\n    user: \"2761\"\n  name: 2761-c1\ncurrent-context: 2761-c1\n\
             kind: Config\npreferences: {{}}\nusers:\n- name: \"2761\"\n  user:\n    \
             client-certificate-data: {cert}\n    client-key-data: {key}\n",
            ca = b64("ca"),
        )
    }

    #[test]
    fn takes_the_current_users_certificate_and_key() {
        let config = Kubeconfig::parse(&ack_kubeconfig(&b64(CERT), &b64(KEY))).unwrap();
        assert_eq!(config.clusters[0].cluster.server, "https://1.2.3.4:6443");
        let status = config.credential().unwrap();
        assert_eq!(status.client_certificate_data.as_deref(), Some(CERT));
        assert_eq!(status.client_key_data.as_deref(), Some(KEY));
        assert_eq!(status.token, None);
    }

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

    #[test]
    fn takes_a_token_user() {
        let yaml = "users:\n- name: u\n  user:\n    token: abc.def\n";
        let status = Kubeconfig::parse(yaml).unwrap().credential().unwrap();
        assert_eq!(status.token.as_deref(), Some("abc.def"));
    }

    #[test]
    fn picks_the_user_of_the_current_context() {
        let yaml = "current-context: b\ncontexts:\n- name: a\n  context: {user: ua}\n- name: b\n  \
                    context: {user: ub}\nusers:\n- name: ua\n  user: {token: A}\n- name: ub\n  \
                    user: {token: B}\n";
        let status = Kubeconfig::parse(yaml).unwrap().credential().unwrap();
        assert_eq!(status.token.as_deref(), Some("B"));
    }

    #[test]
    fn bad_documents_are_clean_errors_without_content() {
        let secret_key = b64(
            "-----BEGIN RSA PRIVATE KEY-----\nSECRETKEYMATERIAL\n-----END RSA PRIVATE KEY-----\n",
        );
        let cases = [
            ("users: [", "YAML"),
            ("- just\n- a list\n", "kubeconfig"),
            ("users: []\n", "no user"),
            ("users:\n- name: u\n  user: {}\n", "neither"),
            (
                &*format!("users:\n- name: u\n  user:\n    client-key-data: {secret_key}\n"),
                "not both",
            ),
            (
                &*ack_kubeconfig("\"%%% not base64\"", &secret_key),
                "base64",
            ),
            (
                &*ack_kubeconfig(&b64("hello"), &secret_key),
                "not a PEM CERTIFICATE",
            ),
            (
                &*ack_kubeconfig(&b64(CERT), &b64(CERT)),
                "not a PEM PRIVATE KEY",
            ),
        ];
        for (yaml, expected) in cases {
            let error = Kubeconfig::parse(yaml)
                .and_then(|c| c.credential())
                .unwrap_err();
            assert!(error.contains(expected), "{yaml:?}: {error}");
            assert!(!error.contains("SECRETKEYMATERIAL"), "{error}");
        }
    }
}
