//! A builder that runs the real `ack-credential-plugin` binary against a [`FakeCloud`], in the
//! style of casey/just's `Test` and ripgrep's `TestCommand`.
//!
//! Every `Plugin` gets its own temporary HOME and cache directory and a cleared environment (no
//! proxy variables, nothing of the real user), with the cs, ASM and STS endpoints pointing at
//! the fake. A
//! `Plugin` can be run many times: runs share its HOME and cache, like a user calling kubectl
//! repeatedly. Every run, foreground or background, is checked for leaked secrets
//! ([`super::secrets`]). When an assertion fails, the message carries the command line, the
//! environment (secrets replaced by `***`), the exit status, stdout, stderr and the fake's
//! request log ([`report`]).

#![allow(dead_code)]

pub mod report;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub use report::{Report, Run, redacted_env, shell_quote};

use super::background::Background;
use super::child::Watched;
use super::exec_credential::ExecCredential;
use super::fake_cloud::FakeCloud;
use super::secrets;

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
    /// Why this test lets a secret through to the output (None: every run is checked).
    secrets_allowed: Option<&'static str>,
    kill_after: Duration,
    stdin_open: bool,
}

impl<'a> Plugin<'a> {
    /// A cleared environment with HOME and `ACK_CACHE_DIR` in a fresh temp dir, and
    /// `ACK_CS_ENDPOINT`, `ACK_ASM_ENDPOINT`, `ACK_ADCP_ENDPOINT` and `ACK_STS_ENDPOINT` set to
    /// the fake. The ECS metadata
    /// service is disabled, so a run without credentials fails fast instead of probing
    /// 100.100.100.200.
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
        for api in [
            "ACK_CS_ENDPOINT",
            "ACK_ASM_ENDPOINT",
            "ACK_ADCP_ENDPOINT",
            "ACK_STS_ENDPOINT",
        ] {
            env.insert(api.to_string(), fake.endpoint());
        }
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
            secrets_allowed: None,
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

    /// Replaces the value after `flag` (e.g. another `--cluster-id`, same HOME and cache).
    pub fn with_flag(mut self, flag: &str, value: &str) -> Self {
        let at = self
            .args
            .iter()
            .position(|a| a == flag)
            .unwrap_or_else(|| panic!("no {flag} in {:?}", self.args));
        self.args[at + 1] = value.to_string();
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.insert(key.to_string(), value.into());
        self
    }

    /// Removes an environment variable this builder set (e.g. `ACK_CACHE_DIR`).
    pub fn env_remove(mut self, key: &str) -> Self {
        self.env.remove(key);
        self
    }

    /// `ALIBABA_CLOUD_ACCESS_KEY_ID` / `ALIBABA_CLOUD_ACCESS_KEY_SECRET` (the secret is registered).
    pub fn access_key(mut self, id: &str, secret: &str) -> Self {
        self.secrets.push(secret.to_string());
        self.env("ALIBABA_CLOUD_ACCESS_KEY_ID", id)
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", secret)
    }

    /// `ALIBABA_CLOUD_SECURITY_TOKEN` (registered as a secret).
    pub fn security_token(mut self, token: &str) -> Self {
        self.secrets.push(token.to_string());
        self.env("ALIBABA_CLOUD_SECURITY_TOKEN", token)
    }

    /// Registers a secret the test hands the binary some other way (written into a config file,
    /// say): like the fake's own secrets, it must appear in no output, and failure reports show
    /// an environment value holding it as `***`.
    pub fn secret(mut self, secret: &str) -> Self {
        self.secrets.push(secret.to_string());
        self
    }

    /// Turns the leak check off for this test's runs. Only for a test that deliberately feeds a
    /// secret through to the output; `why` says why, and failure reports show it.
    pub fn allow_secrets_in_output(mut self, why: &'static str) -> Self {
        self.secrets_allowed = Some(why);
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

    /// Uses (and shares) this cache directory, through `ACK_CACHE_DIR`.
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

    /// The cache directory the runs use (through `ACK_CACHE_DIR`, unless removed).
    pub fn cache_path(&self) -> &Path {
        &self.cache_dir
    }

    /// The fake this plugin talks to.
    pub fn fake(&self) -> &'a FakeCloud {
        self.fake
    }

    /// The command, ready to spawn: the binary with the cleared environment, in HOME.
    fn command(&self) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(&self.args)
            .env_clear()
            .envs(&self.env)
            .current_dir(self.home.path());
        command
    }

    /// Runs the binary, checks that no secret leaked (panicking with the report if one did),
    /// and returns what happened, asserting nothing else.
    pub fn run(&self) -> Run<'a> {
        let mut command = self.command();
        command
            .stdin(if self.stdin_open {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let first_request = self.fake.count();
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
        let mut child = Watched::new(child);
        let (status, killed) = match child.wait_timeout(self.kill_after) {
            Some(status) => (status, false),
            None => (child.kill(), true),
        };
        let elapsed = started.elapsed();
        let stdout = String::from_utf8_lossy(&out_reader.join().unwrap_or_default()).to_string();
        let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).to_string();
        let run = Run {
            fake: self.fake,
            command_line: self.command_line(),
            env: self.redacted_env(),
            home: self.home.path().to_path_buf(),
            status,
            stdout,
            stderr,
            elapsed,
            killed,
        };
        self.check_secrets(&run.stdout, &run.stderr, run.status.success(), false, &run);
        self.check_signatures(first_request, &run);
        run
    }

    /// Every signed request of the run was signed with the scheme its environment asks for:
    /// V3 (ACS3-HMAC-SHA256) by default, V2 with `ACK_SIGNATURE_VERSION=v2`; the fake verified
    /// it with its own implementation of that scheme.
    fn check_signatures(&self, first_request: usize, run: &Run) {
        let expected = match self.env.get("ACK_SIGNATURE_VERSION").map(String::as_str) {
            Some("v2") => "v2",
            _ => "v3",
        };
        for record in self.fake.requests().iter().skip(first_request) {
            if let Some(version) = record.signature_version() {
                assert_eq!(
                    version, expected,
                    "request #{} ({:?}) was signed with {version}, not {expected}\n{run}",
                    record.seq, record.action
                );
            }
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

    /// Runs, and asserts exit 0 (any stdout: `kubeconfig`, `cache list`, ...).
    pub fn run_success(&self) -> Run<'a> {
        let run = self.run();
        assert!(
            run.status.success() && !run.killed,
            "expected success\n{run}"
        );
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

    /// Starts the binary in the background (stdout and stderr collected), to be killed or
    /// waited for; its output is checked for leaked secrets like a foreground run's.
    pub fn spawn(&self) -> Background<'a> {
        Background::spawn(self.clone(), self.command())
    }

    /// Starts the binary in the background with a stdout that accepts nothing, so that it
    /// blocks in its first write there (see [`Background::spawn_with_stdout_blocked`]).
    pub fn spawn_with_stdout_blocked(&self) -> Background<'a> {
        Background::spawn_with_stdout_blocked(self.clone(), self.command())
    }

    /// Panics with `report` if a secret leaked into `stdout` or `stderr` of a run that
    /// succeeded (or not), or was killed by the test.
    pub(super) fn check_secrets(
        &self,
        stdout: &str,
        stderr: &str,
        success: bool,
        killed_by_test: bool,
        report: &dyn std::fmt::Display,
    ) {
        if self.secrets_allowed.is_some() {
            return;
        }
        let get_credential = self.args.first().is_some_and(|a| a == "get-credential");
        let allowed = match (get_credential, success, killed_by_test) {
            (true, true, _) => secrets::Stdout::TheCredential,
            (true, false, true) => secrets::Stdout::PartOfTheCredential,
            _ => secrets::Stdout::Nothing,
        };
        if let Err(leak) = secrets::check(self.fake, &self.secrets, stdout, stderr, allowed) {
            panic!("{leak}\n{}", leak.mask(&report.to_string()));
        }
    }

    pub(super) fn command_line(&self) -> String {
        std::iter::once(BIN.to_string())
            .chain(self.args.iter().map(|a| shell_quote(a)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub(super) fn redacted_env(&self) -> Vec<(String, String)> {
        let mut secrets = self.secrets.clone();
        secrets.extend(self.fake.secrets());
        let mut env = redacted_env(self.env.iter(), &secrets);
        if let Some(why) = self.secrets_allowed {
            env.push((
                "(leak check)".to_string(),
                format!("off for this test: {why}"),
            ));
        }
        env
    }
}
