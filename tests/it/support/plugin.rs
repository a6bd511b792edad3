//! A builder that runs the real `ack-credential-plugin` binary against a [`FakeCloud`], in the
//! style of casey/just's `Test` and ripgrep's `TestCommand`.
//!
//! Every `Plugin` gets its own temporary HOME and cache directory and a cleared environment (no
//! proxy variables, nothing of the real user), with `ACK_CS_ENDPOINT` pointing at the fake. A
//! `Plugin` can be run many times: runs share its HOME and cache, like a user calling kubectl
//! repeatedly. When an assertion fails, the message carries the command line, the environment
//! (secrets replaced by `***`), the exit status, stdout, stderr and the fake's request log.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;
use tempfile::TempDir;
use x509_cert::der::{DecodePem, Encode};

use super::fake_cloud::FakeCloud;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_ack-credential-plugin");

/// A run that takes longer than this is killed (a hanging plugin must not hang the tests).
pub const DEFAULT_KILL_AFTER: Duration = Duration::from_secs(40);

/// One configured invocation of the binary; `run*` may be called repeatedly.
#[derive(Clone)]
pub struct Plugin<'a> {
    fake: &'a FakeCloud,
    home: Arc<TempDir>,
    cache_dir: PathBuf,
    args: Vec<String>,
    env: BTreeMap<String, String>,
    secrets: Vec<String>,
    kill_after: Duration,
    stdin_open: bool,
}

impl<'a> Plugin<'a> {
    /// A cleared environment with HOME and ACK_CACHE_DIR in a fresh temp dir and
    /// ACK_CS_ENDPOINT set to the fake. The ECS metadata service is disabled, so a run without
    /// credentials fails fast instead of probing 100.100.100.200.
    pub fn new(fake: &'a FakeCloud) -> Plugin<'a> {
        let home = Arc::new(
            tempfile::Builder::new()
                .prefix("ack-plugin-home-")
                .tempdir()
                .expect("temp HOME"),
        );
        let cache_dir = home.path().join("cache");
        let mut env = BTreeMap::new();
        env.insert("HOME".to_string(), home.path().display().to_string());
        env.insert("ACK_CS_ENDPOINT".to_string(), fake.endpoint());
        env.insert("ACK_CACHE_DIR".to_string(), cache_dir.display().to_string());
        env.insert(
            "ALIBABA_CLOUD_ECS_METADATA_DISABLED".to_string(),
            "true".to_string(),
        );
        Plugin {
            fake,
            home,
            cache_dir,
            args: Vec::new(),
            env,
            secrets: Vec::new(),
            kill_after: DEFAULT_KILL_AFTER,
            stdin_open: false,
        }
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Appends one argument.
    pub fn arg(self, arg: impl Into<String>) -> Self {
        self.args([arg.into()])
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.insert(key.to_string(), value.into());
        self
    }

    /// Removes an environment variable this builder set (e.g. ACK_CACHE_DIR).
    pub fn env_remove(mut self, key: &str) -> Self {
        self.env.remove(key);
        self
    }

    /// ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET.
    pub fn access_key(mut self, id: &str, secret: &str) -> Self {
        self.secrets.push(secret.to_string());
        self.env("ALIBABA_CLOUD_ACCESS_KEY_ID", id)
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", secret)
    }

    /// ALIBABA_CLOUD_SECURITY_TOKEN.
    pub fn security_token(mut self, token: &str) -> Self {
        self.secrets.push(token.to_string());
        self.env("ALIBABA_CLOUD_SECURITY_TOKEN", token)
    }

    /// Registers a string (a secret written into a config file, say) that failure reports
    /// show as `***` wherever it appears in an environment value.
    pub fn secret(mut self, secret: &str) -> Self {
        self.secrets.push(secret.to_string());
        self
    }

    /// Writes `contents` to `relative` under this plugin's HOME (creating directories) and
    /// returns the full path.
    pub fn write_home_file(&self, relative: &str, contents: &str) -> PathBuf {
        let path = self.home.path().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("create {}: {e}", parent.display()));
        }
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// Uses (and shares) this cache directory, through ACK_CACHE_DIR.
    pub fn cache_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cache_dir = dir.as_ref().to_path_buf();
        let shown = self.cache_dir.display().to_string();
        self.env("ACK_CACHE_DIR", shown)
    }

    /// Kills the run after this long (default [`DEFAULT_KILL_AFTER`]).
    pub fn kill_after(mut self, limit: Duration) -> Self {
        self.kill_after = limit;
        self
    }

    /// Gives the child a stdin pipe that stays open (and silent) until it exits, as a terminal
    /// would; a plugin that reads stdin then hangs until killed. By default stdin is /dev/null.
    pub fn stdin_open(mut self) -> Self {
        self.stdin_open = true;
        self
    }

    /// The temporary HOME of this plugin.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// The cache directory the runs use (through ACK_CACHE_DIR, unless removed).
    pub fn cache_path(&self) -> &Path {
        &self.cache_dir
    }

    /// Runs the binary and returns what happened, asserting nothing.
    pub fn run(&self) -> Run<'a> {
        let mut command = Command::new(BIN);
        command
            .args(&self.args)
            .env_clear()
            .envs(&self.env)
            .current_dir(self.home.path())
            .stdin(if self.stdin_open {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
        // Held (never written) until the child has exited.
        let _stdin = child.stdin.take();
        let mut stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let out_reader = thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stdout.read_to_end(&mut buf);
            buf
        });
        let err_reader = thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stderr.read_to_end(&mut buf);
            buf
        });
        let mut killed = false;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for plugin") {
                break status;
            }
            if started.elapsed() > self.kill_after {
                let _ = child.kill();
                killed = true;
                break child.wait().expect("wait for killed plugin");
            }
            thread::sleep(Duration::from_millis(5));
        };
        let elapsed = started.elapsed();
        let stdout = String::from_utf8_lossy(&out_reader.join().unwrap_or_default()).to_string();
        let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).to_string();
        Run {
            fake: self.fake,
            command_line: self.command_line(),
            env: self.redacted_env(),
            status,
            stdout,
            stderr,
            elapsed,
            killed,
        }
    }

    /// Runs, and asserts exit 0 with exactly one well-formed ExecCredential on stdout.
    pub fn run_ok(&self) -> Run<'a> {
        let run = self.run();
        assert!(run.status.success(), "expected success\n{run}");
        if let Err(problem) = ExecCredential::parse(&run.stdout) {
            panic!("stdout is not a well-formed ExecCredential: {problem}\n{run}");
        }
        run
    }

    /// Runs, and asserts a non-zero exit with empty stdout.
    pub fn run_err(&self) -> Run<'a> {
        let run = self.run();
        assert!(
            !run.status.success() && !run.killed,
            "expected a failure exit\n{run}"
        );
        assert_eq!(run.stdout, "", "stdout must be empty on failure\n{run}");
        run
    }

    /// Runs, and asserts this exit code with empty stdout.
    pub fn run_exit(&self, code: i32) -> Run<'a> {
        let run = self.run_err();
        assert_eq!(run.status.code(), Some(code), "exit code\n{run}");
        run
    }

    fn command_line(&self) -> String {
        std::iter::once(BIN.to_string())
            .chain(self.args.iter().map(|a| shell_quote(a)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn redacted_env(&self) -> Vec<(String, String)> {
        redacted_env(self.env.iter(), &self.secrets)
    }
}

/// The environment for a report: values of secret-looking names, or holding a known secret,
/// shown as `***`.
pub fn redacted_env<'a>(
    env: impl IntoIterator<Item = (&'a String, &'a String)>,
    secrets: &[String],
) -> Vec<(String, String)> {
    env.into_iter()
        .map(|(k, v)| {
            let sensitive = ["SECRET", "TOKEN", "PASSWORD"]
                .iter()
                .any(|word| k.to_ascii_uppercase().contains(word));
            if sensitive || secrets.iter().any(|s| !s.is_empty() && v.contains(s)) {
                (k.clone(), "***".to_string())
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect()
}

/// What a failing test prints about one run of the binary.
pub struct Report<'a> {
    pub heading: &'a str,
    pub command_line: &'a str,
    pub env: &'a [(String, String)],
    pub status: &'a ExitStatus,
    /// Why it was killed, if it was.
    pub killed: Option<&'a str>,
    pub elapsed: Duration,
    pub stdout: &'a str,
    pub stderr: &'a str,
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "---- {}\n{}", self.heading, self.command_line)?;
        writeln!(f, "---- environment (cleared, then)")?;
        for (k, v) in self.env {
            writeln!(f, "{k}={v}")?;
        }
        let killed = self
            .killed
            .map(|why| format!(" ({why})"))
            .unwrap_or_default();
        writeln!(
            f,
            "---- status: {}{killed} after {:.2?}",
            self.status, self.elapsed
        )?;
        writeln!(
            f,
            "---- stdout ({} bytes)\n{}",
            self.stdout.len(),
            self.stdout
        )?;
        writeln!(
            f,
            "---- stderr ({} bytes)\n{}",
            self.stderr.len(),
            self.stderr
        )
    }
}

fn shell_quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@".contains(c))
    {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// What one run did. `Display` prints everything a reader of a failed test needs.
pub struct Run<'a> {
    fake: &'a FakeCloud,
    pub command_line: String,
    pub env: Vec<(String, String)>,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// The run outlived its kill deadline and was killed.
    pub killed: bool,
}

impl Run<'_> {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// The ExecCredential on stdout (panics with the full report if there is none).
    pub fn credential(&self) -> ExecCredential {
        ExecCredential::parse(&self.stdout)
            .unwrap_or_else(|problem| panic!("no ExecCredential on stdout: {problem}\n{self}"))
    }
}

impl fmt::Display for Run<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let report = Report {
            heading: "command",
            command_line: &self.command_line,
            env: &self.env,
            status: &self.status,
            killed: self.killed.then_some("killed: took too long"),
            elapsed: self.elapsed,
            stdout: &self.stdout,
            stderr: &self.stderr,
        };
        write!(f, "{report}")?;
        writeln!(f, "---- {}", self.fake.dump())
    }
}

impl fmt::Debug for Run<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A parsed `client.authentication.k8s.io` ExecCredential.
#[derive(Clone, Debug)]
pub struct ExecCredential {
    pub api_version: String,
    pub kind: String,
    pub client_certificate_data: Option<String>,
    pub client_key_data: Option<String>,
    pub token: Option<String>,
    /// The raw `expirationTimestamp` string.
    pub expiration_timestamp: Option<String>,
    pub json: Value,
}

impl ExecCredential {
    /// Parses stdout: exactly one JSON document, kind ExecCredential, a
    /// client.authentication.k8s.io apiVersion, a status with a token or a certificate and key,
    /// and (when present) an RFC 3339 `expirationTimestamp`.
    pub fn parse(stdout: &str) -> Result<ExecCredential, String> {
        let json: Value =
            serde_json::from_str(stdout).map_err(|e| format!("not one JSON document: {e}"))?;
        let text = |v: &Value| v.as_str().map(str::to_string);
        let api_version = text(&json["apiVersion"]).ok_or("no apiVersion")?;
        if !api_version.starts_with("client.authentication.k8s.io/") {
            return Err(format!("unexpected apiVersion {api_version}"));
        }
        let kind = text(&json["kind"]).ok_or("no kind")?;
        if kind != "ExecCredential" {
            return Err(format!("kind is {kind}"));
        }
        let status = &json["status"];
        if !status.is_object() {
            return Err("no status object".into());
        }
        let credential = ExecCredential {
            api_version,
            kind,
            client_certificate_data: text(&status["clientCertificateData"]),
            client_key_data: text(&status["clientKeyData"]),
            token: text(&status["token"]),
            expiration_timestamp: text(&status["expirationTimestamp"]),
            json: json.clone(),
        };
        match (
            &credential.client_certificate_data,
            &credential.client_key_data,
            &credential.token,
        ) {
            (Some(_), Some(_), None) | (None, None, Some(_)) => {}
            _ => {
                return Err(
                    "status needs a token, or clientCertificateData and clientKeyData".into(),
                );
            }
        }
        if let Some(ts) = &credential.expiration_timestamp {
            DateTime::parse_from_rfc3339(ts)
                .map_err(|e| format!("expirationTimestamp {ts:?} is not RFC 3339: {e}"))?;
        }
        Ok(credential)
    }

    /// `expirationTimestamp` as a time (panics if missing).
    pub fn expiration(&self) -> DateTime<Utc> {
        let ts = self
            .expiration_timestamp
            .as_deref()
            .expect("ExecCredential has no expirationTimestamp");
        DateTime::parse_from_rfc3339(ts)
            .expect("RFC 3339 expirationTimestamp")
            .with_timezone(&Utc)
    }

    /// The client certificate, parsed (panics if missing or unparsable).
    pub fn certificate(&self) -> CertInfo {
        let pem = self
            .client_certificate_data
            .as_deref()
            .expect("ExecCredential has no clientCertificateData");
        CertInfo::parse(pem).unwrap_or_else(|e| panic!("clientCertificateData: {e}\n{pem}"))
    }
}

/// The parts of an X.509 certificate the tests look at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    pub common_name: String,
    pub organizations: Vec<String>,
    pub issuer_common_name: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub serial: Vec<u8>,
    /// DER SubjectPublicKeyInfo, to match against the private key.
    pub public_key_der: Vec<u8>,
}

impl CertInfo {
    pub fn parse(pem: &str) -> Result<CertInfo, String> {
        let cert = x509_cert::Certificate::from_pem(pem.as_bytes())
            .map_err(|e| format!("not a PEM X.509 certificate: {e}"))?;
        let tbs = &cert.tbs_certificate;
        let attributes = |name: &x509_cert::name::Name, oid: &str| -> Vec<String> {
            name.0
                .iter()
                .flat_map(|rdn| rdn.0.iter())
                .filter(|atv| atv.oid.to_string() == oid)
                .map(|atv| String::from_utf8_lossy(atv.value.value()).to_string())
                .collect()
        };
        let time = |t: &x509_cert::time::Time| {
            let d = t.to_unix_duration();
            DateTime::from_timestamp(d.as_secs() as i64, 0).expect("certificate time in range")
        };
        Ok(CertInfo {
            common_name: attributes(&tbs.subject, "2.5.4.3")
                .into_iter()
                .next()
                .unwrap_or_default(),
            organizations: attributes(&tbs.subject, "2.5.4.10"),
            issuer_common_name: attributes(&tbs.issuer, "2.5.4.3")
                .into_iter()
                .next()
                .unwrap_or_default(),
            not_before: time(&tbs.validity.not_before),
            not_after: time(&tbs.validity.not_after),
            serial: tbs.serial_number.as_bytes().to_vec(),
            public_key_der: tbs
                .subject_public_key_info
                .to_der()
                .map_err(|e| format!("re-encode SPKI: {e}"))?,
        })
    }
}
