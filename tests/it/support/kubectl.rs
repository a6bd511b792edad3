//! Finding and running real kubectl binaries, isolated from the user's environment, and writing
//! the kubeconfigs they read.
//!
//! Self-contained (only external crates, no `crate::`/`super::`), so an example binary can reuse
//! it with `#[path = ".../kubectl.rs"] mod kubectl;`.

// Not every helper is used by every test binary or example that includes this file.
#![allow(dead_code)]

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

/// What kubectl gets as `--request-timeout`: no single API request may hang a test.
pub const REQUEST_TIMEOUT: &str = "15s";

/// How long [`run`] lets one kubectl process live before killing it.
pub const PROCESS_TIMEOUT: Duration = Duration::from_secs(60);

/// The message for a machine without kubectl.
pub const NO_KUBECTL: &str = "no `kubectl` on PATH: the kubectl end-to-end tests need a real \
     kubectl; `.ci/run` installs one (via .ci/install-kubectl.sh), or run that script yourself";

fn is_executable_file(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The first `kubectl` on `PATH`, as found there (not resolved through symlinks).
pub fn kubectl_on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("kubectl"))
        .find(|p| is_executable_file(p))
}

/// Every kubectl to test against: the one on `PATH` first, then every `kubectl.1.*` beside its
/// real binary (after following symlinks; e.g. `/usr/bin/kubectl` →
/// `/usr/lib/google-cloud-sdk/bin/kubectl`, beside which sit `kubectl.1.27` … `kubectl.1.33`),
/// ordered by version. Each file appears once. Empty when there is no kubectl on `PATH`.
pub fn kubectl_binaries() -> Vec<PathBuf> {
    let Some(on_path) = kubectl_on_path() else {
        return Vec::new();
    };
    let real = std::fs::canonicalize(&on_path).unwrap_or_else(|_| on_path.clone());
    let mut seen = vec![real.clone()];
    let mut out = vec![on_path];
    let mut versioned: Vec<(Vec<u64>, PathBuf)> = Vec::new();
    if let Some(dir) = real.parent()
        && let Ok(entries) = std::fs::read_dir(dir)
    {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Some(version) = name.strip_prefix("kubectl.1.") else {
                continue;
            };
            let path = entry.path();
            if !is_executable_file(&path) {
                continue;
            }
            let key = std::iter::once(1)
                .chain(version.split('.').map(|n| n.parse().unwrap_or(u64::MAX)))
                .collect();
            versioned.push((key, path));
        }
    }
    versioned.sort();
    for (_, path) in versioned {
        let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if !seen.contains(&canonical) {
            seen.push(canonical);
            out.push(path);
        }
    }
    out
}

/// `kubectl version --client -o json`'s `clientVersion.gitVersion` (e.g. `v1.33.1`), for messages.
pub fn client_version(kubectl: &Path) -> Option<String> {
    let out = Command::new(kubectl)
        .args(["version", "--client", "-o", "json"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v["clientVersion"]["gitVersion"].as_str().map(str::to_owned)
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn kubeconfig_with_user(server: &str, ca_pem: &str, user: serde_json::Value) -> String {
    let doc = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": "fake-apiserver",
            "cluster": {
                "server": server,
                "certificate-authority-data": b64(ca_pem),
            },
        }],
        "users": [{"name": "fake-user", "user": user}],
        "contexts": [{
            "name": "fake",
            "context": {"cluster": "fake-apiserver", "user": "fake-user", "namespace": "default"},
        }],
        "current-context": "fake",
        "preferences": {},
    });
    serde_json::to_string_pretty(&doc).expect("serialize kubeconfig")
}

/// The bearer token [`static_kubeconfig`] gives a user without a client certificate.
pub const NOT_A_CLIENT_CERT_TOKEN: &str = "not-a-client-certificate";

/// A kubeconfig (JSON, which kubectl reads as YAML) for `server` trusting `ca_pem`, whose user
/// has the static client certificate and key `client` = (cert PEM, key PEM). With `None` the user
/// has no client certificate but the bearer token [`NOT_A_CLIENT_CERT_TOKEN`] (a user with no
/// credentials at all makes kubectl prompt for a username and password instead of sending the
/// request).
pub fn static_kubeconfig(server: &str, ca_pem: &str, client: Option<(&str, &str)>) -> String {
    let user = match client {
        Some((cert, key)) => serde_json::json!({
            "client-certificate-data": b64(cert),
            "client-key-data": b64(key),
        }),
        None => serde_json::json!({"token": NOT_A_CLIENT_CERT_TOKEN}),
    };
    kubeconfig_with_user(server, ca_pem, user)
}

// ---------------------------------------------------------------------------------------------
// For the lead: the kubeconfig that makes kubectl run an exec credential plugin.
// ---------------------------------------------------------------------------------------------

/// A kubeconfig for `server` (trusting `ca_pem`) whose user gets credentials from the exec plugin
/// `command args…` with the extra environment `env`: `users[].user.exec` = {apiVersion:
/// `client.authentication.k8s.io/<api_version>` (`v1` or `v1beta1`; a full
/// `client.authentication.k8s.io/...` is taken as is), command, args, env (name/value list),
/// interactiveMode: Never, provideClusterInfo: false}.
pub fn exec_kubeconfig(
    server: &str,
    ca_pem: &str,
    command: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    api_version: &str,
) -> String {
    let api_version = if api_version.contains('/') {
        api_version.to_owned()
    } else {
        format!("client.authentication.k8s.io/{api_version}")
    };
    let env: Vec<serde_json::Value> = env
        .iter()
        .map(|(name, value)| serde_json::json!({"name": name, "value": value}))
        .collect();
    let user = serde_json::json!({
        "exec": {
            "apiVersion": api_version,
            "command": command.to_str().expect("exec command path is UTF-8"),
            "args": args,
            "env": env,
            "interactiveMode": "Never",
            "provideClusterInfo": false,
        },
    });
    kubeconfig_with_user(server, ca_pem, user)
}

/// A kubectl invocation's result.
#[derive(Debug)]
pub struct KubectlOutput {
    /// The command line, for messages.
    pub command: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// Whether [`run`] killed it for running past its deadline.
    pub timed_out: bool,
}

impl KubectlOutput {
    pub fn success(&self) -> bool {
        self.status.success() && !self.timed_out
    }
}

impl std::fmt::Display for KubectlOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` → {}{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command,
            self.status,
            if self.timed_out {
                " (killed: timed out)"
            } else {
                ""
            },
            self.stdout,
            self.stderr
        )
    }
}

/// A `kubectl` command isolated from the user's environment: the environment is cleared but for
/// `PATH`; `HOME` is `home`, `KUBECONFIG` is `kubeconfig`, `KUBECACHEDIR` is `home/.kube/cache`
/// (so no proxy variables and nothing of the real user's config); `--kubeconfig` and
/// `--request-timeout` are given explicitly, ahead of whatever arguments the caller adds.
/// Standard input is null. Add `.env(...)` for variables the exec plugin should inherit.
pub fn kubectl_command(kubectl: &Path, home: &Path, kubeconfig: &Path) -> Command {
    let mut cmd = Command::new(kubectl);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("KUBECONFIG", kubeconfig)
        .env("KUBECACHEDIR", home.join(".kube").join("cache"))
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .arg(format!("--request-timeout={REQUEST_TIMEOUT}"))
        .stdin(Stdio::null());
    cmd
}

/// Runs `cmd`, killing it after `timeout`, and collects its output.
pub fn run_command(mut cmd: Command, timeout: Duration) -> KubectlOutput {
    let command = format!(
        "{} {}",
        cmd.get_program().to_string_lossy(),
        cmd.get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    );
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{command}`: {e}"));
    let mut stdout = child.stdout.take().expect("stdout pipe");
    let mut stderr = child.stderr.take().expect("stderr pipe");
    let out_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for kubectl") {
            break status;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("wait for killed kubectl");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // A grandchild (an exec plugin) could keep the pipes open after a kill; don't wait for it then.
    let collect = |t: std::thread::JoinHandle<Vec<u8>>| {
        if timed_out && !t.is_finished() {
            return String::from("<output not collected: process timed out>");
        }
        String::from_utf8_lossy(&t.join().unwrap_or_default()).into_owned()
    };
    KubectlOutput {
        command,
        status,
        stdout: collect(out_thread),
        stderr: collect(err_thread),
        timed_out,
    }
}

/// `kubectl --kubeconfig=… --request-timeout=… ARGS…` isolated as in [`kubectl_command`], killed
/// after [`PROCESS_TIMEOUT`].
pub fn run(kubectl: &Path, home: &Path, kubeconfig: &Path, args: &[&str]) -> KubectlOutput {
    let mut cmd = kubectl_command(kubectl, home, kubeconfig);
    cmd.args(args);
    run_command(cmd, PROCESS_TIMEOUT)
}
