//! The kubeconfig the API returns: which cluster and user it holds, and that user's credential.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;

use crate::exec_credential::Status;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Kubeconfig {
    pub(crate) clusters: Vec<NamedCluster>,
    pub(crate) contexts: Vec<NamedContext>,
    pub(crate) users: Vec<NamedUser>,
    #[serde(rename = "current-context")]
    pub(crate) current_context: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NamedCluster {
    pub(crate) name: String,
    pub(crate) cluster: Cluster,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Cluster {
    pub(crate) server: String,
    #[serde(rename = "certificate-authority-data")]
    pub(crate) certificate_authority_data: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NamedContext {
    pub(crate) name: String,
    pub(crate) context: Context,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Context {
    pub(crate) cluster: String,
    pub(crate) user: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NamedUser {
    pub(crate) name: String,
    pub(crate) user: User,
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct User {
    #[serde(rename = "client-certificate-data")]
    pub(crate) client_certificate_data: Option<String>,
    #[serde(rename = "client-key-data")]
    pub(crate) client_key_data: Option<String>,
    pub(crate) token: Option<String>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("User { *** }")
    }
}

impl Kubeconfig {
    /// Parse kubeconfig YAML. Errors name the position only, never the content: the document
    /// holds a private key. Its size and nesting are bounded first ([`check_shape`]).
    pub(crate) fn parse(yaml: &str) -> Result<Kubeconfig, String> {
        check_shape(yaml)?;
        serde_yaml_ng::from_str(yaml).map_err(|e| format!("the kubeconfig {}", yaml_error(&e)))
    }

    /// The cluster of the current context; else the only cluster there is.
    pub(crate) fn current_cluster(&self) -> Option<&Cluster> {
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
    pub(crate) fn current_user(&self) -> Option<&User> {
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
    pub(crate) fn credential(&self) -> Result<Status, String> {
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

/// The largest kubeconfig taken from the API; a real one is under 16 KiB.
const MAX_SIZE: usize = 256 << 10;
/// The most flow collections (`[`, `{`) a kubeconfig from the API may open, in all.
const MAX_FLOW_COLLECTIONS: usize = 64;
/// The deepest block nesting (indentation levels and `- `, `? `, `: ` on a line) allowed.
const MAX_BLOCK_DEPTH: usize = 32;

/// Refuse, in one linear pass and before the YAML parser sees it, a document the parser would
/// spend far too long on. The parser (libyaml, under `serde_yaml_ng`) is quadratic in the depth
/// of flow nesting: `users: [[[[…` 200 KB deep took a minute of CPU. Its block nesting is
/// linear but every level costs events and memory (a 4 MiB line of `- - - …` took three
/// seconds), and `serde_yaml_ng` only stops at 128 levels after the whole document is parsed.
///
/// The bounds are crude on purpose, so that nothing can hide from them: every `[` and `{`
/// counts, quoted or not (a kubeconfig has a handful: `preferences: {}`, an IPv6 server); the
/// block depth is over-estimated from indentation and the indicators on each line. The API's
/// kubeconfig (a cluster, a context, a user) is far inside both.
fn check_shape(yaml: &str) -> Result<(), String> {
    if yaml.len() > MAX_SIZE {
        return Err(format!(
            "the kubeconfig is {} KiB, more than the {} KiB accepted",
            yaml.len() >> 10,
            MAX_SIZE >> 10
        ));
    }
    let flow = yaml.bytes().filter(|b| matches!(b, b'[' | b'{')).count();
    if flow > MAX_FLOW_COLLECTIONS {
        return Err(format!(
            "the kubeconfig opens more than {MAX_FLOW_COLLECTIONS} flow collections (`[`, `{{`)"
        ));
    }
    if block_depth(yaml) > MAX_BLOCK_DEPTH {
        return Err(format!(
            "the kubeconfig is nested more than {MAX_BLOCK_DEPTH} levels deep"
        ));
    }
    Ok(())
}

/// An upper estimate of the block nesting: a stack of columns, as the parser keeps its
/// indentation levels. A line pops the levels deeper than its indentation and pushes its own;
/// each `- `, `? ` or `: ` on it pushes another (quoted text and all: counting too many is safe).
fn block_depth(yaml: &str) -> usize {
    let mut levels: Vec<usize> = Vec::new();
    let mut deepest = 0;
    for line in yaml.split('\n') {
        let indent = line.bytes().take_while(|b| *b == b' ').count();
        let rest = line[indent..].trim_end();
        if rest.is_empty() || rest.starts_with('#') {
            continue;
        }
        while levels.last().is_some_and(|&top| top > indent) {
            levels.pop();
        }
        if levels.last().is_none_or(|&top| indent > top) {
            levels.push(indent);
        }
        for (offset, pair) in rest.as_bytes().windows(2).enumerate() {
            if matches!(pair[0], b'-' | b'?' | b':') && matches!(pair[1], b' ' | b'\t') {
                let column = indent + offset + 1;
                if levels.last().is_none_or(|&top| column > top) {
                    levels.push(column);
                }
            }
        }
        deepest = deepest.max(levels.len());
    }
    deepest
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn b64(text: &str) -> String {
        BASE64.encode(text)
    }

    pub(crate) const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    pub(crate) const KEY: &str =
        "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n";

    pub(crate) fn ack_kubeconfig(cert: &str, key: &str) -> String {
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
    fn the_apis_kubeconfig_is_well_inside_the_bounds() {
        let yaml = ack_kubeconfig(&b64(CERT), &b64(KEY));
        assert!(block_depth(&yaml) <= 8, "{}", block_depth(&yaml));
        assert!(check_shape(&yaml).is_ok());
    }

    /// Each of these took the YAML parser from seconds to minutes; each is refused at once.
    #[test]
    fn deep_or_huge_documents_are_refused_before_parsing() {
        let flow_deep = format!("users: {}", "[".repeat(200_000));
        let flow_maps = format!("users: {}", "{a: ".repeat(50_000));
        let block_line = format!("users:\n{}x\n", "- ".repeat(100_000));
        let mut block_indent = String::from("users:\n");
        for depth in 0..100 {
            block_indent.push_str(&" ".repeat(depth));
            block_indent.push_str("- a:\n");
        }
        let huge = format!("users: []\n#{}\n", "x".repeat(MAX_SIZE));
        let started = std::time::Instant::now();
        for (yaml, expected) in [
            (
                flow_deep.as_str(),
                "the kubeconfig opens more than 64 flow collections",
            ),
            (
                &flow_maps[..100_000],
                "the kubeconfig opens more than 64 flow collections",
            ),
            (
                &block_line[..100_000],
                "the kubeconfig is nested more than 32 levels deep",
            ),
            (
                block_indent.as_str(),
                "the kubeconfig is nested more than 32 levels deep",
            ),
            (
                huge.as_str(),
                "the kubeconfig is 256 KiB, more than the 256 KiB accepted",
            ),
        ] {
            let error = Kubeconfig::parse(yaml).unwrap_err();
            assert!(error.starts_with(expected), "{error}");
        }
        // A generous bound only a parse of the deep documents would exceed.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
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
