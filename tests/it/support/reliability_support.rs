//! Support for `tests/it/reliability.rs`: the binary as a background child that a test can
//! SIGKILL at any moment (a stuck or crashed lock holder, a fetch killed half-way), a small
//! seeded PRNG for reproducible random timing, and the check that a certificate and a private
//! key belong together.
//!
//! `Plugin` (support/plugin.rs) runs the binary to completion; these tests need the child
//! itself, so this spawns it with the same cleared environment `Plugin::new` gives it.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::fake_cloud::FakeCloud;
use super::plugin::{BIN, CertInfo, Report, redacted_env};

/// The environment `Plugin::new` gives the binary (cleared, then HOME, ACK_CACHE_DIR,
/// ACK_CS_ENDPOINT pointing at the fake, the ECS metadata service off), plus an access key.
pub fn base_env(
    fake: &FakeCloud,
    home: &Path,
    cache_dir: &Path,
    key_id: &str,
    key_secret: &str,
) -> BTreeMap<String, String> {
    [
        ("HOME", home.display().to_string()),
        ("ACK_CS_ENDPOINT", fake.endpoint()),
        ("ACK_CACHE_DIR", cache_dir.display().to_string()),
        ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true".to_string()),
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", key_id.to_string()),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", key_secret.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The binary running in the background. Dropping it SIGKILLs and reaps the child, so a
/// failing test leaves no process behind.
pub struct Background {
    child: Option<Child>,
    stdout: Option<JoinHandle<Vec<u8>>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    started: Instant,
    command_line: String,
    env: Vec<(String, String)>,
}

/// How a background run ended.
pub struct Finished {
    pub command_line: String,
    pub env: Vec<(String, String)>,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// The test killed it (SIGKILL) while it was still running.
    pub killed: bool,
}

impl Background {
    /// Starts `BIN args` with a cleared environment plus `env`, stdin from /dev/null.
    pub fn spawn(env: &BTreeMap<String, String>, args: &[&str], cwd: &Path) -> Background {
        let mut child = Command::new(BIN)
            .args(args)
            .env_clear()
            .envs(env)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
        let started = Instant::now();
        let drain = |mut pipe: Box<dyn Read + Send>| {
            thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = pipe.read_to_end(&mut buf);
                buf
            })
        };
        let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
        let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
        Background {
            child: Some(child),
            stdout: Some(stdout),
            stderr: Some(stderr),
            started,
            command_line: std::iter::once(BIN)
                .chain(args.iter().copied())
                .collect::<Vec<_>>()
                .join(" "),
            env: redacted_env(env, &[]),
        }
    }

    /// Whether the child has not exited yet.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => child.try_wait().expect("try_wait").is_none(),
            None => false,
        }
    }

    /// SIGKILL (what `std::process::Child::kill` sends) if it is still running, then reap it.
    pub fn kill(mut self) -> Finished {
        let running = self.is_running();
        if running {
            let _ = self.child.as_mut().expect("child").kill();
        }
        self.finish(running)
    }

    /// Waits for it to exit on its own; SIGKILLs it after `limit`.
    pub fn wait(mut self, limit: Duration) -> Finished {
        while self.is_running() {
            if self.started.elapsed() > limit {
                let _ = self.child.as_mut().expect("child").kill();
                return self.finish(true);
            }
            thread::sleep(Duration::from_millis(5));
        }
        self.finish(false)
    }

    fn finish(&mut self, killed: bool) -> Finished {
        let status = self
            .child
            .take()
            .expect("child")
            .wait()
            .expect("wait for the child");
        let elapsed = self.started.elapsed();
        let text = |handle: Option<JoinHandle<Vec<u8>>>| {
            String::from_utf8_lossy(&handle.and_then(|h| h.join().ok()).unwrap_or_default())
                .to_string()
        };
        Finished {
            command_line: self.command_line.clone(),
            env: self.env.clone(),
            status,
            stdout: text(self.stdout.take()),
            stderr: text(self.stderr.take()),
            elapsed,
            killed,
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl fmt::Display for Finished {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let report = Report {
            heading: "command (background)",
            command_line: &self.command_line,
            env: &self.env,
            status: &self.status,
            killed: self.killed.then_some("killed by the test"),
            elapsed: self.elapsed,
            stdout: &self.stdout,
            stderr: &self.stderr,
        };
        write!(f, "{report}")
    }
}

impl fmt::Debug for Finished {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Polls `done` every 10 ms until it holds; panics with `what` after `limit`.
pub fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < limit,
            "gave up after {limit:?} waiting until {what}"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

/// xorshift64*: enough randomness for timing, and reproducible from its seed.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `RELIABILITY_SEED` when set (to replay a failure), else from the clock.
    pub fn from_env_or_clock() -> (Rng, u64) {
        let seed = std::env::var("RELIABILITY_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        (Rng::new(seed), seed)
    }

    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-ish in `0..=max`.
    pub fn up_to(&mut self, max: u64) -> u64 {
        self.next_u64() % (max + 1)
    }
}

/// Ok when the private key `key_pem` is the one whose public key the certificate carries:
/// the SubjectPublicKeyInfo derived from the key equals the certificate's.
pub fn key_matches_certificate(cert_pem: &str, key_pem: &str) -> Result<(), String> {
    let cert = CertInfo::parse(cert_pem)?;
    let key =
        rcgen::KeyPair::from_pem(key_pem).map_err(|e| format!("not a PEM private key: {e}"))?;
    if key.public_key_der() == cert.public_key_der {
        Ok(())
    } else {
        Err("the private key does not belong to the certificate".to_string())
    }
}

/// The regular files and symlinks directly in `dir`, sorted (empty when it does not exist).
pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|listing| listing.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// The cache entries (`*.json`, not hidden) directly in `dir`.
pub fn entry_files(dir: &Path) -> Vec<PathBuf> {
    files_in(dir)
        .into_iter()
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect()
}
