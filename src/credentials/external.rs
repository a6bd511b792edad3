//! An aliyun CLI `External` profile: a command that prints credentials as JSON on stdout,
//! `{"mode": "AK"|"StsToken", "access_key_id", "access_key_secret", "sts_token"}`.
//!
//! Like the aliyun CLI, the command line is split on whitespace and run directly, without a
//! shell. It gets no stdin (kubectl gives the plugin none either) and a deadline.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Provider;
use crate::aliyun::Client;
use crate::aliyun::Credentials;
use crate::error::Error;
use crate::secret::Secret;

const TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) struct ExternalProvider {
    pub(crate) command: String,
    pub(crate) origin: String,
    pub(crate) region: Option<String>,
}

impl Provider for ExternalProvider {
    /// The program and a hash of the whole command line (its arguments may hold a secret).
    /// The identity is the source: an account switched inside the command is only seen once
    /// the cached certificate is refreshed (`--force-refresh`, `cache clear`).
    fn identity(&self) -> String {
        let program = self.command.split_whitespace().next().unwrap_or("");
        format!(
            "external:{program} #{}",
            crate::digest::short_hash(&self.command)
        )
    }

    fn describe(&self) -> String {
        format!(
            "the process_command of {} ({})",
            self.identity(),
            self.origin
        )
    }

    fn credentials(&self, client: &Client) -> Result<Credentials, Error> {
        self.run(client.remaining()).map_err(|why| {
            Error::NoCredentials(format!(
                "cannot get credentials from {}: {why}",
                self.describe()
            ))
        })
    }

    fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }
}

impl ExternalProvider {
    fn run(&self, budget: Duration) -> Result<Credentials, String> {
        let mut words = self.command.split_whitespace();
        let program = words.next().ok_or("the command is empty")?;
        // Its own process group, so that a deadline ends whatever it started, too.
        let mut child = Command::new(program)
            .args(words)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot run it: {e}"))?;
        let group = rustix::process::Pid::from_child(&child);
        let kill_group = || {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        };
        let out = read_in_background(child.stdout.take().expect("stdout is piped"), 1 << 20);
        let err = read_in_background(child.stderr.take().expect("stderr is piped"), 1 << 16);
        let timeout = budget.min(TIMEOUT);
        let deadline = Instant::now() + timeout;
        let late = || format!("it did not finish within {} s", timeout.as_secs());
        let status = loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                break status;
            }
            if Instant::now() >= deadline {
                kill_group();
                let _ = child.wait();
                return Err(late());
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        // Its output is complete once it has exited and the pipe has gone quiet: something it
        // left running in the background may hold the pipe open for ever, and is left alone.
        let out = drain(&out, deadline);
        let err = drain(&err, deadline);
        if !status.success() {
            let err = String::from_utf8_lossy(&err);
            let last = err
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            return Err(format!("it failed ({status}): {last}"));
        }
        parse_output(&out)
    }
}

/// Read a pipe on a thread of its own, passing on what arrives (at most `limit` bytes).
fn read_in_background(
    mut pipe: impl Read + Send + 'static,
    limit: usize,
) -> mpsc::Receiver<Vec<u8>> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buffer = vec![0u8; 8192];
        let mut total = 0;
        while let Ok(n) = pipe.read(&mut buffer) {
            if n == 0 || total >= limit || send.send(buffer[..n].to_vec()).is_err() {
                break;
            }
            total += n;
        }
    });
    receive
}

/// What a pipe has delivered once it has been quiet for a moment, closed, or the deadline came.
fn drain(pipe: &mpsc::Receiver<Vec<u8>>, deadline: Instant) -> Vec<u8> {
    let mut bytes = Vec::new();
    while Instant::now() < deadline {
        match pipe.recv_timeout(Duration::from_millis(100)) {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(_) => break,
        }
    }
    bytes
}

pub(crate) fn parse_output(out: &[u8]) -> Result<Credentials, String> {
    let value: Value =
        serde_json::from_slice(out).map_err(|_| "its output is not JSON".to_string())?;
    let field = |name: &str| {
        value
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let id = field("access_key_id").ok_or("its output has no access_key_id")?;
    let secret = field("access_key_secret").ok_or("its output has no access_key_secret")?;
    let token = match field("mode") {
        Some("AK") => None,
        Some("StsToken") => Some(field("sts_token").ok_or("its StsToken output has no sts_token")?),
        Some(mode) => {
            return Err(format!(
                "its output has mode {mode:?}; expected AK or StsToken"
            ));
        }
        None => field("sts_token"),
    };
    Ok(Credentials {
        access_key_id: id.to_string(),
        access_key_secret: Secret::new(secret),
        security_token: token.map(Secret::new),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ak_and_sts_token_output() {
        let ak = br#"{"mode":"AK","access_key_id":"LTAI1","access_key_secret":"s"}"#;
        assert!(parse_output(ak).unwrap().security_token.is_none());
        let sts = br#"{"mode":"StsToken","access_key_id":"STS.1","access_key_secret":"s","sts_token":"t"}"#;
        assert_eq!(
            parse_output(sts).unwrap().security_token.unwrap().expose(),
            "t"
        );
        let bad = br#"{"mode":"StsToken","access_key_id":"STS.1","access_key_secret":"TOPSECRET"}"#;
        let error = parse_output(bad).unwrap_err();
        assert!(error.contains("sts_token") && !error.contains("TOPSECRET"));
        assert!(parse_output(b"hello").is_err());
    }
}
