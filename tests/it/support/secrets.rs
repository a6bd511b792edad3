//! The leak check every run of the binary goes through ([`super::Plugin::run`], background runs
//! too).
//!
//! The fake knows every secret: the AccessKey secrets it registered, the STS secrets and
//! security tokens it issued, the OIDC tokens it accepts ([`FakeCloud::secrets`]), and the
//! private keys and bearer tokens it handed out for clusters ([`FakeCloud::cluster_credentials`]);
//! a test adds the secrets it hands the binary itself (`Plugin::access_key`, `Plugin::secret`).
//! None of them may appear on stderr. On stdout, only a successful `get-credential` may carry a
//! cluster credential, and only as the ExecCredential's `clientKeyData` (with the certificate
//! the fake issued with that very key) or `token`; nothing else ever: not the `kubeconfig`
//! command's output, not `cache list`, not an error.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;

use super::exec_credential::ExecCredential;
use super::fake_cloud::FakeCloud;

/// Secrets shorter than this are not looked for (they would match by chance).
const MIN_LEN: usize = 6;
/// Lines of a PEM body shorter than this are not looked for (the last line of a key can be a
/// few characters).
const MIN_PEM_LINE: usize = 16;

/// What a run's stdout is allowed to carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stdout {
    /// No credential at all (failures, `kubeconfig`, `cache list`, ...).
    Nothing,
    /// Exactly one ExecCredential with a credential the fake handed out.
    TheCredential,
    /// The beginning of an ExecCredential (a child killed while printing it).
    PartOfTheCredential,
}

/// A secret found where it must not be.
#[derive(Debug)]
pub struct Leak {
    stream: &'static str,
    what: String,
    needle: String,
}

impl Leak {
    /// `text` (a report of the run) with the leaked string marked, so the report shows where it
    /// leaked without repeating it.
    pub fn mask(&self, text: &str) -> String {
        text.replace(&self.needle, "<<LEAKED SECRET>>")
    }
}

impl fmt::Display for Leak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} leaks {} (shown as <<LEAKED SECRET>> below)",
            self.stream, self.what
        )
    }
}

/// Checks one run's output; `registered` are the secrets the test handed the binary.
pub fn check(
    fake: &FakeCloud,
    registered: &[String],
    stdout: &str,
    stderr: &str,
    allowed: Stdout,
) -> Result<(), Leak> {
    let mut never: Vec<String> = fake.secrets();
    never.extend(registered.iter().cloned());
    never.retain(|s| s.len() >= MIN_LEN);
    let credentials = fake.cluster_credentials();

    for (stream, text) in [("stderr", stderr), ("stdout", stdout)] {
        if let Some(secret) = never.iter().find(|s| text.contains(s.as_str())) {
            return Err(Leak {
                stream,
                what: format!("a secret ({}…)", &secret[..4]),
                needle: secret.clone(),
            });
        }
    }
    find_credential(stderr, &credentials, "stderr")?;
    match allowed {
        Stdout::Nothing => find_credential(stdout, &credentials, "stdout"),
        Stdout::PartOfTheCredential => Ok(()),
        Stdout::TheCredential => {
            let rest = without_issued_credential(fake, stdout).map_err(|what| Leak {
                stream: "stdout",
                what,
                needle: "\u{0}".to_string(),
            })?;
            find_credential(
                &rest,
                &credentials,
                "stdout (beside the ExecCredential's own)",
            )
        }
    }
}

/// Fails on the first cluster credential (a private key in any form, a bearer token) in `text`.
fn find_credential(text: &str, credentials: &[String], stream: &'static str) -> Result<(), Leak> {
    if let Some(at) = text.find("PRIVATE KEY") {
        return Err(Leak {
            stream,
            what: "a PEM private key".to_string(),
            needle: text[at..at + "PRIVATE KEY".len()].to_string(),
        });
    }
    for credential in credentials {
        let found = if credential.starts_with("-----BEGIN") {
            std::iter::once(BASE64.encode(credential))
                .chain(
                    credential
                        .lines()
                        .filter(|l| l.len() >= MIN_PEM_LINE && !l.starts_with("-----"))
                        .map(str::to_string),
                )
                .find(|form| text.contains(form.as_str()))
                .map(|form| {
                    (
                        "a private key the fake issued (a line of it, or its base64)",
                        form,
                    )
                })
        } else {
            (credential.len() >= MIN_LEN && text.contains(credential.as_str()))
                .then(|| ("a bearer token the fake issued", credential.clone()))
        };
        if let Some((what, needle)) = found {
            return Err(Leak {
                stream,
                what: what.to_string(),
                needle,
            });
        }
    }
    Ok(())
}

/// stdout with the ExecCredential's own credential taken out, after checking that it is one the
/// fake issued: the certificate and key of one issued kubeconfig, or a cluster's bearer token.
fn without_issued_credential(fake: &FakeCloud, stdout: &str) -> Result<String, String> {
    let credential = ExecCredential::parse(stdout)
        .map_err(|e| format!("something that is not an ExecCredential ({e})"))?;
    if let Some(key) = &credential.client_key_data {
        let cert = credential.client_certificate_data.as_deref().unwrap_or("");
        let issued = fake
            .requests()
            .into_iter()
            .filter_map(|r| r.issued)
            .any(|i| {
                i.certificate_pem.as_deref().map(str::trim) == Some(cert.trim())
                    && i.key_pem.as_deref().map(str::trim) == Some(key.trim())
            });
        if !issued {
            return Err(
                "a certificate and key that are not a pair the fake issued together".to_string(),
            );
        }
    }
    if let Some(token) = &credential.token
        && !fake.cluster_credentials().contains(token)
    {
        return Err("a token the fake never issued".to_string());
    }
    let mut json = credential.json;
    for field in ["clientKeyData", "token"] {
        if let Some(status) = json.get_mut("status").and_then(Value::as_object_mut) {
            status.remove(field);
        }
    }
    Ok(json.to_string())
}

/// Checks text that may hold no secret and no cluster credential at all: a file the binary
/// wrote (a kubeconfig, say).
pub fn check_text(fake: &FakeCloud, registered: &[String], text: &str) -> Result<(), Leak> {
    check(fake, registered, "", text, Stdout::Nothing).map_err(|mut leak| {
        leak.stream = "the file";
        leak
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::test_ca::TestCa;
    use crate::support::{KEY_SECRET, cloud, get_credential};

    /// The check itself: it must catch what it exists for, or every test would pass blindly.
    #[test]
    fn leak_check_catches_secrets_and_keys_out_of_place_and_lets_the_credential_through() {
        let (fake, _) = cloud();
        let run = get_credential(&fake).run_ok();
        let key = run.credential().client_key_data.unwrap();
        let key_line = key.lines().nth(1).unwrap().to_string();

        // The ExecCredential of a successful get-credential is where the key belongs.
        check(&fake, &[], &run.stdout, "", Stdout::TheCredential).unwrap();
        // Nowhere else: not as another command's stdout, not in an error, not in a file, in
        // any form.
        assert!(check(&fake, &[], &run.stdout, "", Stdout::Nothing).is_err());
        assert!(
            check(
                &fake,
                &[],
                "",
                &format!("error: {key_line}"),
                Stdout::Nothing
            )
            .is_err()
        );
        assert!(check_text(&fake, &[], &BASE64.encode(&key)).is_err());
        assert!(check_text(&fake, &[], "-----BEGIN PRIVATE KEY-----").is_err());
        let extra = format!("{}\n# {key_line}\n", run.stdout.trim_end());
        assert!(check(&fake, &[], &extra, "", Stdout::TheCredential).is_err());
        // The AccessKey secret the fake registered, and a secret the test registered.
        assert!(check(&fake, &[], "", &format!("x{KEY_SECRET}x"), Stdout::Nothing).is_err());
        let registered = ["written-into-a-file".to_string()];
        assert!(
            check(
                &fake,
                &registered,
                "written-into-a-file",
                "",
                Stdout::Nothing
            )
            .is_err()
        );
        assert!(check(&fake, &[], "written-into-a-file", "", Stdout::Nothing).is_ok());
        // An ExecCredential whose pair the fake did not issue together.
        let (cert, other_key) = TestCa::new("elsewhere").client_cert("someone");
        let forged = serde_json::json!({
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "kind": "ExecCredential",
            "status": {"clientCertificateData": cert, "clientKeyData": other_key},
        })
        .to_string();
        assert!(check(&fake, &[], &forged, "", Stdout::TheCredential).is_err());
    }
}
