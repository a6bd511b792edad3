//! The kubeconfig entries the `kubeconfig` command writes (a cluster, a context and a user that
//! runs this plugin, all of one name), and putting them into a kubeconfig document.
//!
//! (Over 400 lines with its tests, which pin the exact YAML a merge writes: they belong beside
//! the writer.)

use std::path::Path;

use super::issued::Cluster;
use super::yaml::{self, Node};
use crate::exec_credential::ApiVersion;

/// The `exec` user a generated kubeconfig gets: this binary, by absolute path (GUI tools such
/// as Lens do not see the shell's PATH), with `get-credential` and the flags that decide the
/// credential.
pub(crate) struct ExecUser<'a> {
    pub(crate) command: &'a Path,
    pub(crate) args: &'a [String],
    /// The ExecCredential version kubectl is to ask for (and so `get-credential` answers with).
    pub(crate) api_version: ApiVersion,
}

impl ExecUser<'_> {
    fn to_node(&self) -> Node {
        let exec = Node::mapping([
            ("apiVersion", Node::string(self.api_version.as_str())),
            (
                "command",
                Node::string(self.command.to_string_lossy().into_owned()),
            ),
            (
                "args",
                Node::Sequence(self.args.iter().map(Node::string).collect(), None),
            ),
            ("interactiveMode", Node::string("Never")),
            ("provideClusterInfo", Node::plain("false")),
            (
                "installHint",
                Node::string(format!(
                    "This kubeconfig runs ack-credential-plugin at {} for credentials. Install it \
                     there (./install.sh in its repository), or run `ack-credential-plugin \
                     kubeconfig` again to point at where it is now.",
                    self.command.display()
                )),
            ),
        ]);
        Node::mapping([("exec", exec)])
    }
}

/// The three lists of a kubeconfig that hold named entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Clusters,
    Users,
    Contexts,
}

impl Section {
    pub(crate) const ALL: [Section; 3] = [Section::Clusters, Section::Contexts, Section::Users];

    /// The list's key (`clusters`).
    pub(crate) fn key(self) -> &'static str {
        match self {
            Section::Clusters => "clusters",
            Section::Users => "users",
            Section::Contexts => "contexts",
        }
    }

    /// One entry's name in messages (`cluster`).
    pub(crate) fn singular(self) -> &'static str {
        match self {
            Section::Clusters => "cluster",
            Section::Users => "user",
            Section::Contexts => "context",
        }
    }

    /// The keys of an entry's body (`cluster:`, `context:`) that the plugin decides when it
    /// writes an entry again; `None`: all of them (the user entry is the plugin's `exec` alone,
    /// and a `token` or client certificate left beside it would be a second way to log in).
    ///
    /// Every other key is the user's and stays where it was: a context's `namespace` (set with
    /// `kubectl config set-context --current --namespace`), a cluster's `proxy-url`,
    /// `disable-compression`, `extensions`. Running `kubeconfig --merge` again (after a CA
    /// rotation, or for `--api-version`) must not undo them, as kubectl's own `config
    /// set-cluster`/`set-context` would not. A CA file or `insecure-skip-tls-verify` goes: the
    /// API's CA data replaces the first, and kubectl refuses the second beside it.
    /// `tls-server-name` names the server's certificate for one address: it stays while the
    /// server does and goes when the server changes (`kubectl config set-cluster --server`
    /// drops it even for the same server; keeping it then is deliberate).
    fn owned_keys(self) -> Option<&'static [&'static str]> {
        match self {
            Section::Clusters => Some(&[
                "server",
                "certificate-authority-data",
                "certificate-authority",
                "insecure-skip-tls-verify",
            ]),
            Section::Contexts => Some(&["cluster", "user"]),
            Section::Users => None,
        }
    }
}

/// A context to write: its cluster, user and context entries, all called `name`.
pub(crate) struct NewContext {
    pub(crate) name: String,
    clusters: Node,
    users: Node,
    contexts: Node,
}

impl NewContext {
    /// The entries for a context `name` on `cluster` whose user runs the plugin. No certificate
    /// or key is ever written.
    pub(crate) fn new(name: &str, cluster: &Cluster, exec: &ExecUser) -> NewContext {
        let named =
            |key: &str, body: Node| Node::mapping([("name", Node::string(name)), (key, body)]);
        let mut cluster_body = Node::mapping([("server", Node::string(cluster.server.as_str()))]);
        if let Some(ca) = &cluster.certificate_authority_data {
            cluster_body.set("certificate-authority-data", Node::string(ca.as_str()));
        }
        let context_body = Node::mapping([
            ("cluster", Node::string(name)),
            ("user", Node::string(name)),
        ]);
        NewContext {
            name: name.to_string(),
            clusters: named("cluster", cluster_body),
            users: named("user", exec.to_node()),
            contexts: named("context", context_body),
        }
    }

    fn entry(&self, section: Section) -> &Node {
        match section {
            Section::Clusters => &self.clusters,
            Section::Users => &self.users,
            Section::Contexts => &self.contexts,
        }
    }

    /// A kubeconfig of its own, with this context current.
    pub(crate) fn standalone(&self) -> String {
        let mut document = document_of(std::slice::from_ref(self));
        set_current_context(&mut document, &self.name);
        yaml::emit(&document)
    }

    /// Puts this context's `section` entry into `document`: in place of an entry of the same
    /// name, else at the end of the list (made if missing).
    ///
    /// # Errors
    /// When the document is not a kubeconfig (not a mapping, or the section not a list).
    pub(crate) fn put_into(&self, document: &mut Node, section: Section) -> Result<(), String> {
        let key = section.key();
        if list(document, section)?.is_none() {
            document.set(key, Node::Sequence(Vec::new(), None));
        }
        let Some(Node::Sequence(list, _)) = document.get_mut(key) else {
            unreachable!("`{key}` was checked to be a list, or made one");
        };
        let entry = self.entry(section);
        match list.iter().position(|e| name_of(e) == Some(&self.name)) {
            Some(at) => list[at] = rewritten(&list[at], entry, section),
            None => list.push(entry.clone()),
        }
        Ok(())
    }
}

/// `new` in place of `old` (both entries called the same): the body keys the plugin decides
/// from `new`, every other key of `old`'s body where it was ([`Section::owned_keys`]).
fn rewritten(old: &Node, new: &Node, section: Section) -> Node {
    // An entry's body is under its singular name (`cluster:`).
    let key = section.singular();
    let (Some(owned), Some(old_body @ Node::Mapping(..)), Some(new_body @ Node::Mapping(fresh, _))) =
        (section.owned_keys(), old.get(key), new.get(key))
    else {
        return new.clone();
    };
    let mut body = old_body.clone();
    for owned in owned.iter().filter(|owned| new_body.get(owned).is_none()) {
        body.remove(owned);
    }
    let server = |body: &Node| body.get("server").and_then(Node::text).map(str::to_string);
    if section == Section::Clusters && server(old_body) != server(new_body) {
        body.remove("tls-server-name");
    }
    for (name, value) in fresh {
        if let Some(name) = name.text() {
            body.set(name, value.clone());
        }
    }
    let mut entry = new.clone();
    entry.set(key, body);
    entry
}

/// A kubeconfig of its own holding `contexts` (each with its cluster and user), with no current
/// context: `kubeconfig --all`'s file, from which the user picks one.
pub(crate) fn standalone(contexts: &[NewContext]) -> String {
    yaml::emit(&document_of(contexts))
}

/// A new document holding `contexts`, each with its cluster and user.
fn document_of(contexts: &[NewContext]) -> Node {
    let mut document = empty_document();
    for context in contexts {
        for section in Section::ALL {
            // Cannot fail on a document we just made.
            let _ = context.put_into(&mut document, section);
        }
    }
    document
}

/// A new kubeconfig document, before any entry: `apiVersion` and `kind`.
pub(crate) fn empty_document() -> Node {
    Node::mapping([
        ("apiVersion", Node::string("v1")),
        ("kind", Node::string("Config")),
    ])
}

/// Whether `document` has a `section` entry called `name`.
///
/// # Errors
/// When the document is not a kubeconfig (not a mapping, or the section not a list).
pub(crate) fn defines(document: &Node, section: Section, name: &str) -> Result<bool, String> {
    Ok(list(document, section)?.is_some_and(|list| list.iter().any(|e| name_of(e) == Some(name))))
}

/// The document's `section` list; `None` when it has none (missing or null: a list to be).
///
/// # Errors
/// When the document is not a kubeconfig (not a mapping, or the section not a list).
fn list(document: &Node, section: Section) -> Result<Option<&[Node]>, String> {
    let Node::Mapping(..) = document else {
        return Err("it is not a kubeconfig (not a mapping)".to_string());
    };
    match document.get(section.key()) {
        None => Ok(None),
        Some(list) if list.is_null() => Ok(None),
        Some(Node::Sequence(list, _)) => Ok(Some(list)),
        Some(_) => Err(format!("its `{}` is not a list", section.key())),
    }
}

fn name_of(entry: &Node) -> Option<&str> {
    entry.get("name").and_then(Node::text)
}

/// The document's `current-context`, when it sets one (kubectl ignores an empty one).
pub(crate) fn current_context(document: &Node) -> Option<&str> {
    document.get("current-context").and_then(Node::value_text)
}

/// Sets the document's `current-context` (in place, or at the end).
pub(crate) fn set_current_context(document: &mut Node, name: &str) {
    document.set("current-context", Node::string(name));
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::kubeconfig::Kubeconfig;
    use crate::kubeconfig::issued::tests::{CERT, KEY, ack_kubeconfig, b64};
    use crate::kubeconfig::yaml::load;

    /// The context `name` for the cluster of the API's kubeconfig, its user running `command`
    /// with `get-credential --cluster-id c1`.
    pub(crate) fn new_context(name: &str, command: &str, api_version: ApiVersion) -> NewContext {
        let config = Kubeconfig::parse(&ack_kubeconfig(&b64(CERT), &b64(KEY))).unwrap();
        let args = ["get-credential", "--cluster-id", "c1"].map(String::from);
        let exec = ExecUser {
            command: Path::new(command),
            args: &args,
            api_version,
        };
        NewContext::new(name, config.current_cluster().unwrap(), &exec)
    }

    fn merge(existing: &str, new: &NewContext, set_current: bool) -> Result<String, String> {
        let mut document = load(existing)?.unwrap_or_else(empty_document);
        for section in Section::ALL {
            new.put_into(&mut document, section)?;
        }
        if set_current || current_context(&document).is_none() {
            set_current_context(&mut document, &new.name);
        }
        Ok(yaml::emit(&document))
    }

    #[test]
    fn a_new_kubeconfig_runs_the_plugin_and_holds_no_key() {
        let text = new_context("c1", "/opt/bin/ack-credential-plugin", ApiVersion::V1).standalone();
        assert!(
            !text.contains(&b64(KEY)) && !text.contains(&b64(CERT)),
            "{text}"
        );
        assert_eq!(
            text,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: c1\n  cluster:\n    \
                 server: https://1.2.3.4:6443\n    certificate-authority-data: {ca}\n\
                 contexts:\n- name: c1\n  context:\n    cluster: c1\n    user: c1\n\
                 users:\n- name: c1\n  user:\n    exec:\n      \
                 apiVersion: client.authentication.k8s.io/v1\n      \
                 command: /opt/bin/ack-credential-plugin\n      args:\n      - get-credential\n      \
                 - --cluster-id\n      - c1\n      interactiveMode: Never\n      \
                 provideClusterInfo: false\n      installHint: This kubeconfig runs \
                 ack-credential-plugin at /opt/bin/ack-credential-plugin for credentials. Install \
                 it there (./install.sh in its repository), or run `ack-credential-plugin \
                 kubeconfig` again to point at where it is now.\n\
                 current-context: c1\n",
                ca = b64("ca")
            )
        );
        let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(
            value["users"][0]["user"]["exec"]["provideClusterInfo"],
            false
        );
    }

    #[test]
    fn the_exec_api_version_is_the_one_asked_for() {
        let text = new_context("c1", "/p", ApiVersion::V1beta1).standalone();
        let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(
            value["users"][0]["user"]["exec"]["apiVersion"],
            "client.authentication.k8s.io/v1beta1"
        );
    }

    /// A name a YAML 1.1 reader would take for a boolean or a number is quoted wherever it goes.
    #[test]
    fn names_kubectl_would_retype_are_quoted() {
        let text = new_context("on", "/p", ApiVersion::V1).standalone();
        assert_eq!(text.matches("\"on\"").count(), 6, "{text}");
        assert!(!text.contains(": on\n"), "{text}");
    }

    #[test]
    fn merging_keeps_other_entries_and_twice_changes_nothing() {
        let existing = "apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster:\n    \
                        server: https://other:6443\n    extensions:\n    - name: x\n      \
                        extension: {flag: yes, n: 1_000, s: \"no\"}\ncontexts:\n- name: other\n  \
                        context:\n    cluster: other\n    user: other\n    namespace: \"no\"\n\
                        current-context: other\nusers:\n- name: other\n  user:\n    token: \
                        keep-me\npreferences: {colors: true}\n";
        let new = new_context("c1", "/bin/p", ApiVersion::V1);
        let once = merge(existing, &new, false).unwrap();
        let twice = merge(&once, &new, false).unwrap();
        assert_eq!(once, twice);
        assert!(
            once.contains("extension:\n        flag: yes\n        n: 1_000\n        s: \"no\"\n"),
            "{once}"
        );
        assert!(once.contains("    namespace: \"no\"\n"), "{once}");
        let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(&once).unwrap();
        assert_eq!(value["current-context"], "other");
        assert_eq!(value["users"][0]["user"]["token"], "keep-me");
        assert_eq!(value["preferences"]["colors"], true);
        assert_eq!(value["clusters"].as_sequence().unwrap().len(), 2);
        let current = merge(&once, &new, true).unwrap();
        let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(&current).unwrap();
        assert_eq!(value["current-context"], "c1");
        assert_eq!(value["contexts"].as_sequence().unwrap().len(), 2);
        assert_eq!(
            merge("- a list", &new, false).unwrap_err(),
            "it is not a kubeconfig (not a mapping)"
        );
        assert_eq!(
            merge("clusters: {}", &new, false).unwrap_err(),
            "its `clusters` is not a list"
        );
        // Null lists (`users:`) are lists to be.
        let from_nulls = merge("users:\ncontexts: ~\n", &new, false).unwrap();
        assert!(
            from_nulls.starts_with("users:\n- name: c1\n"),
            "{from_nulls}"
        );
    }

    /// Written again, an entry keeps what the user added to it (a namespace, a proxy, the name
    /// to verify, extensions) where it was; what the plugin decides is replaced, and the keys it
    /// decides but no longer writes (a CA file, the insecure flag) go. The user entry is the
    /// plugin's alone: an old token does not stay beside the exec.
    #[test]
    fn an_entry_written_again_keeps_the_users_own_keys() {
        let existing = "apiVersion: v1\nkind: Config\nclusters:\n- name: c1\n  cluster:\n    \
                        proxy-url: http://proxy:3128\n    server: https://1.2.3.4:6443\n    \
                        certificate-authority: /old/ca.pem\n    insecure-skip-tls-verify: true\n    \
                        tls-server-name: kubernetes\n    extensions:\n    - name: x\n      \
                        extension: {flag: yes}\ncontexts:\n- name: c1\n  context:\n    \
                        namespace: \"no\"\n    cluster: old\n    user: old\nusers:\n- name: c1\n  \
                        user:\n    token: stale\n";
        let new = new_context("c1", "/bin/p", ApiVersion::V1);
        let merged = merge(existing, &new, false).unwrap();
        let users_from = merged.find("users:\n").unwrap();
        assert_eq!(
            &merged[..users_from],
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: c1\n  cluster:\n    \
                 proxy-url: http://proxy:3128\n    server: https://1.2.3.4:6443\n    \
                 tls-server-name: kubernetes\n    extensions:\n    - name: x\n      \
                 extension:\n        flag: yes\n    certificate-authority-data: {ca}\n\
                 contexts:\n- name: c1\n  context:\n    namespace: \"no\"\n    cluster: c1\n    \
                 user: c1\n",
                ca = b64("ca")
            )
        );
        let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(&merged).unwrap();
        let user = &value["users"][0]["user"];
        assert!(
            user.get("token").is_none() && user.get("exec").is_some(),
            "{merged}"
        );
        assert_eq!(merge(&merged, &new, false).unwrap(), merged);
    }

    /// A `server` written twice (kubectl reads the last) leaves one, the new one; the cluster's
    /// `tls-server-name` stays while the server is the same and goes when it changes.
    #[test]
    fn a_repeated_key_is_written_once_and_a_new_server_drops_the_tls_server_name() {
        let new = new_context("c1", "/bin/p", ApiVersion::V1);
        let cluster = |merged: &str| {
            let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(merged).unwrap();
            serde_yaml_ng::to_string(&value["clusters"][0]["cluster"]).unwrap()
        };
        let ca = b64("ca");
        for (old_server, kept) in [
            ("https://1.2.3.4:6443", "tls-server-name: kubernetes\n"),
            ("https://9.9.9.9:6443", ""),
        ] {
            let existing = format!(
                "clusters:\n- name: c1\n  cluster:\n    server: https://stale:1\n    \
                 tls-server-name: kubernetes\n    server: {old_server}\n"
            );
            let merged = merge(&existing, &new, false).unwrap();
            assert_eq!(
                cluster(&merged),
                format!("server: https://1.2.3.4:6443\n{kept}certificate-authority-data: {ca}\n"),
                "{old_server}"
            );
        }
    }
}
