//! The user's kubeconfig files read as kubectl merges them (client-go's `clientcmd`), to find
//! the contexts whose user runs an exec credential plugin: what `doctor` checks. Read only.
//!
//! - Of the files of the list, the first to define a context, user or cluster name wins; the
//!   current context is the first one a file sets.
//! - An exec `command` that is a relative path with a `/` is relative to the directory of the
//!   file that defines the user; one without a `/` is looked up on `PATH` when it runs.
//! - A cluster's `certificate-authority` file is relative to its file's directory in the same
//!   way.
//!
//! Nothing read here is ever printed but names, paths, servers and exec arguments; an exec
//! entry's `env` (which may hold a secret) is not read at all.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::write::current_context;
use super::yaml::{self, Node};

/// A context whose user runs an exec plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExecContext {
    pub(crate) name: String,
    /// The file that defines the context.
    pub(crate) file: PathBuf,
    /// Whether it is the current context.
    pub(crate) current: bool,
    pub(crate) user: String,
    /// The exec `command` as written.
    pub(crate) command: String,
    /// Where kubectl finds it.
    pub(crate) program: Program,
    pub(crate) args: Vec<String>,
    /// The context's cluster, when a file defines it.
    pub(crate) cluster: Option<ClusterEntry>,
}

/// An exec command as kubectl resolves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Program {
    /// A path, made absolute against the user's file when it was relative.
    Path(PathBuf),
    /// A bare name, looked up on `PATH`.
    Name(String),
}

/// A context's cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClusterEntry {
    pub(crate) name: String,
    pub(crate) server: String,
    /// The CA the server's certificate is verified against; `None`: the system's roots.
    pub(crate) authority: Option<Authority>,
    pub(crate) insecure_skip_tls_verify: bool,
    /// `tls-server-name`: the name the server's certificate is verified for, in place of the
    /// server URL's host.
    pub(crate) tls_server_name: Option<String>,
    /// `proxy-url`: the proxy to this cluster, in place of the environment's.
    pub(crate) proxy_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Authority {
    /// `certificate-authority-data`, decoded (PEM).
    Data(Vec<u8>),
    /// `certificate-authority`, resolved against its file's directory.
    File(PathBuf),
}

/// What the files hold.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub(crate) contexts: Vec<ExecContext>,
    /// The files of the list that do not exist.
    pub(crate) missing: Vec<PathBuf>,
    /// Files or entries that could not be read, with why.
    pub(crate) problems: Vec<String>,
}

/// The contexts of `files` (kubectl's list, in its order) whose user runs an exec plugin.
pub(crate) fn exec_contexts(files: &[PathBuf]) -> Found {
    let mut found = Found::default();
    let mut documents = Vec::new();
    for path in files {
        match std::fs::read_to_string(path) {
            Ok(text) => match yaml::load(&text) {
                Ok(Some(document)) => documents.push((path.as_path(), document)),
                Ok(None) => {}
                Err(why) => found.problems.push(format!("{}: {why}", path.display())),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => found.missing.push(path.clone()),
            Err(e) => found
                .problems
                .push(format!("{}: cannot read it: {e}", path.display())),
        }
    }
    let current = documents
        .iter()
        .find_map(|(_, document)| current_context(document));
    let contexts = first_definitions(&documents, "contexts");
    let users = first_definitions(&documents, "users");
    let clusters = first_definitions(&documents, "clusters");
    for (name, file, context) in &contexts {
        let field = |key: &str| {
            context
                .get("context")
                .and_then(|c| c.get(key))
                .and_then(Node::text)
                .unwrap_or("")
                .to_string()
        };
        let user_name = field("user");
        let Some((_, user_file, user)) = users.iter().find(|(n, _, _)| *n == user_name) else {
            continue;
        };
        let Some(exec) = user.get("user").and_then(|u| u.get("exec")) else {
            continue;
        };
        let Some(command) = exec.get("command").and_then(Node::text) else {
            found.problems.push(format!(
                "{}: user `{user_name}` has an exec entry without a command",
                user_file.display()
            ));
            continue;
        };
        let args = match exec.get("args") {
            Some(Node::Sequence(items, _)) => items
                .iter()
                .map(|item| item.text().unwrap_or("").to_string())
                .collect(),
            _ => Vec::new(),
        };
        let cluster_name = field("cluster");
        let cluster = clusters
            .iter()
            .find(|(n, _, _)| *n == cluster_name)
            .map(|(n, cluster_file, entry)| cluster_entry(n, cluster_file, entry));
        found.contexts.push(ExecContext {
            name: (*name).to_string(),
            file: file.to_path_buf(),
            current: current == Some(*name),
            user: user_name,
            command: command.to_string(),
            program: program(command, user_file),
            args,
            cluster,
        });
    }
    found
}

/// Each named entry of `section`, from the first file that defines its name.
fn first_definitions<'a>(
    documents: &'a [(&'a Path, Node)],
    section: &str,
) -> Vec<(&'a str, &'a Path, &'a Node)> {
    let mut seen = HashSet::new();
    let mut entries = Vec::new();
    for (file, document) in documents {
        let Some(Node::Sequence(items, _)) = document.get(section) else {
            continue;
        };
        for item in items {
            if let Some(name) = item.get("name").and_then(Node::text)
                && seen.insert(name)
            {
                entries.push((name, *file, item));
            }
        }
    }
    entries
}

/// Where kubectl finds `command`, written in `file`.
fn program(command: &str, file: &Path) -> Program {
    let path = Path::new(command);
    if path.is_absolute() {
        Program::Path(path.to_path_buf())
    } else if command.contains('/') {
        Program::Path(relative_to(file, path))
    } else {
        Program::Name(command.to_string())
    }
}

fn relative_to(file: &Path, path: &Path) -> PathBuf {
    file.parent().unwrap_or(Path::new(".")).join(path)
}

fn cluster_entry(name: &str, file: &Path, entry: &Node) -> ClusterEntry {
    let cluster = entry.get("cluster");
    let text = |key: &str| cluster.and_then(|c| c.get(key)).and_then(Node::value_text);
    let authority = match (
        text("certificate-authority-data"),
        text("certificate-authority"),
    ) {
        // kubectl takes the data when both are set. Data that is not base64 is handed on as it
        // is, and fails where the certificate is parsed, with a message.
        (Some(data), _) => Some(Authority::Data(
            BASE64
                .decode(data.trim())
                .unwrap_or_else(|_| data.as_bytes().to_vec()),
        )),
        (None, Some(path)) => Some(Authority::File(relative_to(file, Path::new(path)))),
        (None, None) => None,
    };
    ClusterEntry {
        name: name.to_string(),
        server: text("server").unwrap_or("").to_string(),
        authority,
        insecure_skip_tls_verify: cluster
            .and_then(|c| c.get("insecure-skip-tls-verify"))
            .and_then(Node::as_bool)
            .unwrap_or(false),
        tls_server_name: text("tls-server-name").map(str::to_string),
        proxy_url: text("proxy-url").map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = r"
apiVersion: v1
kind: Config
current-context: ack
contexts:
- name: ack
  context: {cluster: c1, user: ack-user}
- name: other
  context: {cluster: c1, user: token-user}
users:
- name: ack-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: bin/ack-credential-plugin
      args: [get-credential, --cluster-id, c1]
      env: [{name: ALIBABA_CLOUD_ACCESS_KEY_SECRET, value: do-not-read}]
- name: token-user
  user: {token: abc}
clusters:
- name: c1
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: ca.pem
";

    const B: &str = r"
current-context: later
contexts:
- name: ack
  context: {cluster: c2, user: ignored}
- name: mesh
  context: {cluster: c2, user: mesh-user}
users:
- name: mesh-user
  user:
    exec:
      command: ack-credential-plugin
      args: [get-credential, --mesh-id, m1]
clusters:
- name: c2
  cluster:
    server: https://127.0.0.2:6443
    certificate-authority-data: LS0tLS1CRUdJTg==
    insecure-skip-tls-verify: true
    tls-server-name: kubernetes
    proxy-url: socks5://127.0.0.1:1080
";

    #[test]
    fn finds_exec_contexts_as_kubectl_merges_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::write(&a, A).unwrap();
        std::fs::write(&b, B).unwrap();
        let missing = dir.path().join("none");
        let found = exec_contexts(&[a.clone(), missing.clone(), b.clone()]);
        assert_eq!(found.missing, [missing]);
        assert!(found.problems.is_empty(), "{:?}", found.problems);
        assert_eq!(found.contexts.len(), 2, "{:?}", found.contexts);

        let ack = &found.contexts[0];
        assert_eq!((ack.name.as_str(), ack.current), ("ack", true));
        assert_eq!(ack.file, a);
        assert_eq!(
            ack.program,
            Program::Path(dir.path().join("bin/ack-credential-plugin"))
        );
        assert_eq!(ack.args, ["get-credential", "--cluster-id", "c1"]);
        let cluster = ack.cluster.as_ref().unwrap();
        assert_eq!(cluster.server, "https://127.0.0.1:6443");
        assert_eq!(
            cluster.authority,
            Some(Authority::File(dir.path().join("ca.pem")))
        );

        let mesh = &found.contexts[1];
        assert_eq!((mesh.name.as_str(), mesh.current), ("mesh", false));
        assert_eq!(
            mesh.program,
            Program::Name("ack-credential-plugin".to_string())
        );
        let cluster = mesh.cluster.as_ref().unwrap();
        assert_eq!(
            cluster.authority,
            Some(Authority::Data(b"-----BEGIN".to_vec()))
        );
        assert!(cluster.insecure_skip_tls_verify);
        assert_eq!(cluster.tls_server_name.as_deref(), Some("kubernetes"));
        assert_eq!(
            cluster.proxy_url.as_deref(),
            Some("socks5://127.0.0.1:1080")
        );
        assert_eq!(ack.cluster.as_ref().unwrap().tls_server_name, None);
    }

    #[test]
    fn a_broken_file_is_a_problem_not_a_stop() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "contexts: [").unwrap();
        let good = dir.path().join("good");
        std::fs::write(&good, A).unwrap();
        let found = exec_contexts(&[bad.clone(), good]);
        assert_eq!(found.problems.len(), 1);
        assert!(
            found.problems[0].starts_with(&bad.display().to_string()),
            "{:?}",
            found.problems
        );
        assert_eq!(found.contexts.len(), 1);
    }
}
