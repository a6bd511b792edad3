//! The kubeconfig the API returns: which cluster and user it holds, and that user's credential.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;

use super::yaml_error;
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
    /// holds a private key.
    pub(crate) fn parse(yaml: &str) -> Result<Kubeconfig, String> {
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
