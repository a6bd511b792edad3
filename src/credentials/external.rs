//! An aliyun CLI `External` profile (or an ack-ram-tool INI `external` section): a command that
//! prints credentials as JSON on stdout, `{"mode": "AK"|"StsToken", "access_key_id",
//! "access_key_secret", "sts_token", "expiration"}`.
//!
//! As in the aliyun CLI and credentials-go, the command line is split with POSIX shell quoting
//! rules ([`split_command`]) and run directly, without a shell. It gets no stdin (kubectl gives
//! the plugin none either), a deadline, and at most 1 MiB of output is read.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Identity, Provider, identity};
use crate::aliyun::Client;
use crate::aliyun::Credentials;
use crate::error::Error;
use crate::secret::Secret;

const TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) struct ExternalProvider {
    pub(crate) command: String,
    /// The command line split into the program and its arguments.
    argv: Vec<String>,
    pub(crate) origin: String,
    pub(crate) region: Option<String>,
}

impl ExternalProvider {
    /// The command of `origin`, split now: a command line that cannot be split is a mistake
    /// in the configuration, reported before anything runs.
    pub(crate) fn new(
        command: &str,
        origin: String,
        region: Option<String>,
    ) -> Result<ExternalProvider, Error> {
        let argv = split_command(command).map_err(|why| {
            Error::NoCredentials(format!("the process_command of {origin}: {why}"))
        })?;
        Ok(ExternalProvider {
            command: command.to_string(),
            argv,
            origin,
            region,
        })
    }
}

impl Provider for ExternalProvider {
    /// The program and a hash of the whole command line (its arguments may hold a secret).
    /// The identity is the source: an account switched inside the command is only seen once
    /// the cached certificate is refreshed (`--force-refresh`, `cache clear`).
    fn identity(&self) -> Identity {
        Identity::external(&self.argv[0], &self.command)
    }

    fn describe(&self) -> String {
        format!(
            "the process_command of {} ({})",
            identity::render(self.identity().value()),
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
        // Its own process group, so that a deadline ends whatever it started, too.
        let mut child = Command::new(&self.argv[0])
            .args(&self.argv[1..])
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

/// What the command printed, read as credentials-go reads it: `access_key_id` and
/// `access_key_secret` are needed, `sts_token` too with mode `StsToken`, and a token given with
/// any mode is used. `expiration` (`2006-01-02T15:04:05Z`) says how long STS keys may be kept
/// ([`super::session`]); one that cannot be read is ignored, and they are not kept.
/// Errors never quote the output.
pub(crate) fn parse_output(out: &[u8]) -> Result<Credentials, String> {
    let value: Value = serde_json::from_slice(out)
        .map_err(|_| "its output is not a JSON object of credentials".to_string())?;
    if !value.is_object() {
        return Err("its output is not a JSON object of credentials".to_string());
    }
    let field = |name: &str| {
        value
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let (Some(id), Some(secret)) = (field("access_key_id"), field("access_key_secret")) else {
        return Err("its output has an empty or no access_key_id or access_key_secret".to_string());
    };
    let token = field("sts_token");
    if field("mode") == Some("StsToken") && token.is_none() {
        return Err("its output has mode StsToken but an empty or no sts_token".to_string());
    }
    Ok(Credentials {
        access_key_id: id.to_string(),
        access_key_secret: Secret::new(secret),
        security_token: token.map(Secret::new),
        expiration: field("expiration").and_then(crate::time::parse_rfc3339),
    })
}

/// Split a `process_command` into the program and its arguments as the aliyun CLI and
/// credentials-go do (POSIX shell rules, without expansion): whitespace separates words
/// outside quotes; `'...'` keeps everything literally; `"..."` keeps everything but `\"`,
/// `\\`, `\$`, `` \` `` and backslash-newline (a line continuation), which lose the backslash;
/// outside quotes a backslash keeps the next character (backslash-newline continues the
/// line); quoted parts next to each other make one word, and `""` is an empty word.
pub(crate) fn split_command(command: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    // A word has begun, even if it is still empty (`""`).
    let mut in_word = false;
    let mut chars = command.trim().chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("it has an unclosed quote".to_string()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('\n') => {}
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("it has an unclosed quote".to_string()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("it has an unclosed quote".to_string()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(c) => {
                    in_word = true;
                    word.push(c);
                }
                None => return Err("it ends in a backslash".to_string()),
            },
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    if words.first().is_none_or(String::is_empty) {
        return Err("it is empty".to_string());
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ak_and_sts_token_output() {
        let ak = br#"{"mode":"AK","access_key_id":"LTAI1","access_key_secret":"s"}"#;
        assert!(parse_output(ak).unwrap().security_token.is_none());
        let sts = br#"{"mode":"StsToken","access_key_id":"STS.1","access_key_secret":"s","sts_token":"t","expiration":"2026-01-02T03:04:05Z"}"#;
        let credentials = parse_output(sts).unwrap();
        assert_eq!(credentials.security_token.unwrap().expose(), "t");
        assert_eq!(credentials.expiration, Some(1_767_323_045));
        let bad = br#"{"mode":"StsToken","access_key_id":"STS.1","access_key_secret":"TOPSECRET"}"#;
        assert_eq!(
            parse_output(bad).unwrap_err(),
            "its output has mode StsToken but an empty or no sts_token"
        );
        assert_eq!(
            parse_output(b"hello TOPSECRET").unwrap_err(),
            "its output is not a JSON object of credentials"
        );
        assert!(parse_output(b"[1]").is_err());
    }
}
