//! Real kubectl for the end-to-end tests: every kubectl the machine has
//! ([`for_every_kubectl`], which fails rather than skips when one is missing), run isolated from
//! the user's environment, the kubeconfigs they read, and the checks the tests share.
//!
//! (Over 400 lines: finding every kubectl, running one isolated, and the kubeconfigs and checks
//! of its runs are one harness; split, each part would reach into the others.)

// Not every helper is used by every test.
#![allow(dead_code)]

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use base64::Engine as _;

use super::child::Watched;

/// What kubectl gets as `--request-timeout`: no single API request may hang a test.
pub const REQUEST_TIMEOUT: &str = "15s";

/// How long [`run`] lets one kubectl process live before killing it.
pub const PROCESS_TIMEOUT: Duration = Duration::from_secs(60);

/// The kubectl minor versions the plugin's output must work with (PRODUCT.md: 1.27–1.33).
pub const REQUIRED_MINORS: std::ops::RangeInclusive<u64> = 27..=33;

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

/// One kubectl binary to test against.
#[derive(Clone, Debug)]
pub struct Kubectl {
    pub path: PathBuf,
    /// `v1.33.1`, say.
    pub version: String,
}

impl std::fmt::Display for Kubectl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.path.display(), self.version)
    }
}

/// Every kubectl to test against: the one on `PATH` first, then every `kubectl.1.NN` beside its
/// real binary (after following symlinks; e.g. `/usr/bin/kubectl` →
/// `/usr/lib/google-cloud-sdk/bin/kubectl`, beside which sit `kubectl.1.27` … `kubectl.1.33`),
/// ordered by version, each file once. Found once per test process. Panics (never skips) when
/// there is no kubectl on `PATH`, or when together they do not cover [`REQUIRED_MINORS`].
pub fn kubectls() -> &'static [Kubectl] {
    static FOUND: std::sync::OnceLock<Result<Vec<Kubectl>, String>> = std::sync::OnceLock::new();
    match FOUND.get_or_init(find_kubectls) {
        Ok(found) => found,
        Err(why) => panic!("{why}"),
    }
}

fn find_kubectls() -> Result<Vec<Kubectl>, String> {
    let Some(on_path) = kubectl_on_path() else {
        return Err(format!(
            "no `kubectl` on PATH: the end-to-end tests need real kubectl 1.{} to 1.{}, as \
             `kubectl` on PATH and `kubectl.1.NN` beside its real binary",
            REQUIRED_MINORS.start(),
            REQUIRED_MINORS.end()
        ));
    };
    let real = std::fs::canonicalize(&on_path).unwrap_or_else(|_| on_path.clone());
    let version = client_version(&on_path).unwrap_or_else(|| "unknown version".into());
    let mut minors: Vec<u64> = version_minor(&version).into_iter().collect();
    let mut seen = vec![real.clone()];
    let mut out = vec![Kubectl {
        path: on_path,
        version,
    }];
    let mut versioned: Vec<(Vec<u64>, PathBuf, String)> = Vec::new();
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
            versioned.push((key, path, format!("v1.{version}")));
        }
    }
    versioned.sort();
    for (key, path, version) in versioned {
        let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if !seen.contains(&canonical) {
            seen.push(canonical);
            minors.extend(key.get(1).copied());
            out.push(Kubectl { path, version });
        }
    }
    let missing: Vec<String> = REQUIRED_MINORS
        .filter(|minor| !minors.contains(minor))
        .map(|minor| format!("1.{minor}"))
        .collect();
    if !missing.is_empty() {
        let dir = real.parent().unwrap_or(&real).display().to_string();
        return Err(format!(
            "no kubectl {} for the end-to-end tests: they look for `kubectl` on PATH and \
             `kubectl.1.NN` beside its real binary (in {dir}); found {}",
            missing.join(", "),
            out.iter()
                .map(std::string::ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(out)
}

/// `v1.33.1` → 33.
fn version_minor(version: &str) -> Option<u64> {
    version
        .trim_start_matches('v')
        .split('.')
        .nth(1)?
        .parse()
        .ok()
}

/// Runs `check` for every kubectl (with its position in [`kubectls`]) and fails with every
/// failure, not just the first.
pub fn for_every_kubectl(mut check: impl FnMut(usize, &Kubectl) -> Result<(), String>) {
    let failures: Vec<String> = kubectls()
        .iter()
        .enumerate()
        .filter_map(|(round, kubectl)| {
            check(round, kubectl)
                .err()
                .map(|e| format!("{kubectl}:\n{e}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} kubectl(s) failed:\n\n{}",
        failures.len(),
        kubectls().len(),
        failures.join("\n\n")
    );
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
    let mut watched = Watched::new(child);
    let (status, timed_out) = match watched.wait_timeout(timeout) {
        Some(status) => (status, false),
        None => (watched.kill(), true),
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

/// `kubectl ARGS` isolated as in [`kubectl_command`] (killed after [`PROCESS_TIMEOUT`]), plus
/// the variables the plugin needs when the kubeconfig carries no `env` (as `kubeconfig` writes
/// it): the access key [`super::KEY_ID`]/[`super::KEY_SECRET`], no ECS metadata probe, and
/// `extra`.
pub fn kubectl_with_credentials(
    bin: &Path,
    home: &Path,
    kubeconfig: &Path,
    extra: &[(&str, &str)],
    args: &[&str],
) -> KubectlOutput {
    let mut cmd = kubectl_command(bin, home, kubeconfig);
    cmd.env("ALIBABA_CLOUD_ACCESS_KEY_ID", super::KEY_ID)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", super::KEY_SECRET)
        .env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true");
    for (name, value) in extra {
        cmd.env(name, value);
    }
    cmd.args(args);
    run_command(cmd, PROCESS_TIMEOUT)
}

/// `kubectl --kubeconfig=… --request-timeout=… ARGS…` isolated as in [`kubectl_command`], killed
/// after [`PROCESS_TIMEOUT`].
pub fn run(kubectl: &Path, home: &Path, kubeconfig: &Path, args: &[&str]) -> KubectlOutput {
    let mut cmd = kubectl_command(kubectl, home, kubeconfig);
    cmd.args(args);
    run_command(cmd, PROCESS_TIMEOUT)
}

/// A success with nothing on stderr (no discovery errors, no warnings).
pub fn quiet_success(out: &KubectlOutput) -> Result<(), String> {
    if out.success() && out.stderr.trim().is_empty() {
        Ok(())
    } else {
        Err(format!("expected a quiet success:\n{out}"))
    }
}

/// A [`quiet_success`] whose stdout names the fake API server's pod
/// ([`super::apiserver::POD_NAME`]).
pub fn pods_listed(out: &KubectlOutput) -> Result<(), String> {
    quiet_success(out)?;
    if out.stdout.contains(super::apiserver::POD_NAME) {
        Ok(())
    } else {
        Err(format!("no pod in the answer:\n{out}"))
    }
}

/// `get --raw` of the pods, then `get pods` (discovery and a table), each a quiet success
/// showing the one pod of the fake API server; `kubectl` runs kubectl with these arguments.
pub fn check_pods(kubectl: impl Fn(&[&str]) -> KubectlOutput) -> Result<(), String> {
    let pod = super::apiserver::POD_NAME;
    let out = kubectl(&["get", "--raw", "/api/v1/namespaces/default/pods"]);
    quiet_success(&out)?;
    let list: serde_json::Value = serde_json::from_str(&out.stdout)
        .map_err(|e| format!("`get --raw` printed no JSON ({e}):\n{out}"))?;
    if list["kind"] != "PodList" || list["items"][0]["metadata"]["name"] != pod {
        return Err(format!("unexpected `get --raw` output:\n{out}"));
    }
    let out = kubectl(&["get", "pods", "-n", "default"]);
    quiet_success(&out)?;
    let row = out.stdout.lines().find(|l| l.starts_with(pod));
    if !row.is_some_and(|r| r.contains("Running")) || !out.stdout.starts_with("NAME") {
        return Err(format!("`get pods` printed no table with {pod}:\n{out}"));
    }
    Ok(())
}
