//! The certificates an `https://` endpoint is verified against: one source, read only when an
//! https request is about to be made (a plain-http loopback endpoint loads none).
//!
//! The source is the system's, found as Go's `crypto/x509` finds it (so the plugin trusts what
//! kubectl and the aliyun CLI trust, a TLS-inspecting proxy's CA included): `SSL_CERT_FILE`
//! when set, else the first of the distributions' bundle files that exists, and the
//! directories `SSL_CERT_DIR` names, when it is set, beside it. Unlike Go, the system's
//! certificate directories (`/etc/ssl/certs`, ...) are read only when there is no bundle file:
//! on every distribution the bundle already holds what those directories hold, and reading 150
//! files cost half of a miss. There are no compiled-in roots: a machine without a bundle gets
//! an error that says so.

use std::path::{Path, PathBuf};

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::env::Env;

/// Where the distributions keep their bundle (Go's list for Linux, plus macOS's).
const BUNDLE_FILES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// Where they keep one certificate per file, when there is no bundle.
const CERT_DIRS: &[&str] = &["/etc/ssl/certs", "/etc/pki/tls/certs"];

/// What the environment says about the roots; which source that means is decided when they
/// are loaded, so that settling it costs the hit path nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Roots {
    /// `SSL_CERT_FILE`.
    file: Option<PathBuf>,
    /// `SSL_CERT_DIR`, colon-separated.
    dirs: Option<Vec<PathBuf>>,
}

/// Where the roots come from: a bundle file, and directories of PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sources {
    /// `SSL_CERT_FILE`, else the system's bundle.
    file: Option<PathBuf>,
    /// `SSL_CERT_DIR`, else the system's directories when there is no bundle.
    dirs: Vec<PathBuf>,
}

impl Roots {
    pub(crate) fn from_env(env: &Env) -> Roots {
        Roots {
            file: env.get("SSL_CERT_FILE").map(PathBuf::from),
            dirs: env
                .get("SSL_CERT_DIR")
                .map(|dirs| std::env::split_paths(dirs).collect()),
        }
    }

    fn sources(&self) -> Sources {
        let file = self.file.clone().or_else(|| {
            BUNDLE_FILES
                .iter()
                .map(Path::new)
                .find(|p| p.is_file())
                .map(Path::to_path_buf)
        });
        let dirs = match (&self.dirs, &file) {
            (Some(dirs), _) => dirs.clone(),
            (None, None) => CERT_DIRS.iter().map(PathBuf::from).collect(),
            (None, Some(_)) => Vec::new(),
        };
        Sources { file, dirs }
    }

    /// The certificates, parsed.
    pub(crate) fn load(&self) -> Result<Vec<reqwest::Certificate>, String> {
        self.read(read_bundle)
    }

    /// The certificates as a rustls store, for a TLS set-up of our own (`doctor`'s endpoint
    /// timings and its API-server client). A certificate the store cannot take is skipped, as
    /// the client's own loading does: one odd certificate of a system bundle stops nothing.
    pub(crate) fn store(&self) -> Result<RootCertStore, String> {
        let mut store = RootCertStore::empty();
        let _ = store.add_parsable_certificates(self.read(read_der)?);
        Ok(store)
    }

    /// The certificates of the bundle and the directories, each file read by `read_file`.
    fn read<T>(&self, read_file: fn(&Path) -> Result<Vec<T>, String>) -> Result<Vec<T>, String> {
        let sources = self.sources();
        let mut certificates = match &sources.file {
            Some(file) => read_file(file)?,
            None => Vec::new(),
        };
        for dir in &sources.dirs {
            let Ok(listing) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in listing.flatten() {
                // A file that is not PEM (a hash link to a directory, say) is skipped.
                certificates.extend(read_file(&entry.path()).unwrap_or_default());
            }
        }
        if certificates.is_empty() {
            let place = sources
                .file
                .iter()
                .chain(&sources.dirs)
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(format!(
                "no trusted root certificates found in {place}: install the system's CA \
                 certificates (ca-certificates) or point SSL_CERT_FILE at a PEM bundle"
            ));
        }
        Ok(certificates)
    }
}

fn read_bundle(file: &Path) -> Result<Vec<reqwest::Certificate>, String> {
    let pem = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| format!("{} is not a PEM bundle: {e}", file.display()))
}

fn read_der(file: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{} is not a PEM bundle: {e}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssl_cert_file_or_the_system_bundle_and_ssl_cert_dir_beside_it() {
        let sources = |pairs: &[(&str, &str)]| {
            Roots::from_env(&Env::from_pairs(pairs.iter().copied())).sources()
        };
        assert_eq!(
            sources(&[("SSL_CERT_FILE", "/x.pem"), ("SSL_CERT_DIR", "/d")]),
            Sources {
                file: Some("/x.pem".into()),
                dirs: vec!["/d".into()]
            }
        );
        assert_eq!(
            sources(&[("SSL_CERT_FILE", "/x.pem")]),
            Sources {
                file: Some("/x.pem".into()),
                dirs: Vec::new()
            }
        );
        let system = sources(&[]);
        match &system.file {
            Some(file) => {
                assert!(BUNDLE_FILES.contains(&file.to_str().unwrap()));
                assert!(system.dirs.is_empty(), "the bundle alone");
            }
            None => assert_eq!(system.dirs.len(), CERT_DIRS.len()),
        }
        let with_dir = sources(&[("SSL_CERT_DIR", "/d:/e")]);
        assert_eq!(with_dir.file, system.file, "the bundle stays");
        assert_eq!(
            with_dir.dirs,
            vec![PathBuf::from("/d"), PathBuf::from("/e")]
        );
    }

    #[test]
    fn an_empty_source_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("empty.pem");
        std::fs::write(&file, "").unwrap();
        let roots = Roots {
            file: Some(file.clone()),
            dirs: Some(vec![dir.path().join("none")]),
        };
        let error = roots.load().unwrap_err();
        assert_eq!(
            error,
            format!(
                "no trusted root certificates found in {}, {}: install the system's CA \
                 certificates (ca-certificates) or point SSL_CERT_FILE at a PEM bundle",
                file.display(),
                dir.path().join("none").display()
            )
        );
    }
}
