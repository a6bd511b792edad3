//! The binary as a background child that a test can SIGKILL at any moment (a stuck or crashed
//! lock holder, a fetch killed half-way), started from a [`Plugin`] so that it runs with exactly
//! the environment a foreground run would have, and whose output is checked for leaked secrets
//! like a foreground run's.

use std::fmt;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::child::{Watched, killed_by_sigkill};
use super::plugin::{BIN, Plugin, Report};

/// The binary running in the background. Dropping it SIGKILLs and reaps the child, so a
/// failing test leaves no process behind.
pub struct Background<'a> {
    plugin: Plugin<'a>,
    child: Watched,
    stdout: Option<JoinHandle<Vec<u8>>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    /// With [`Plugin::spawn_with_stdout_blocked`]: the reading end, never read.
    _blocked_stdout: Option<UnixStream>,
    started: Instant,
}

/// How a background run ended.
pub struct Finished {
    pub command_line: String,
    pub env: Vec<(String, String)>,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// The test's SIGKILL ended it (it had not exited on its own).
    pub killed: bool,
}

impl<'a> Background<'a> {
    /// Starts `command` (the plugin's, see [`Plugin::spawn`]) with stdin from /dev/null.
    pub(super) fn spawn(plugin: Plugin<'a>, command: Command) -> Background<'a> {
        Background::start(plugin, command, None)
    }

    /// Starts `command` with a stdout that accepts nothing: the child blocks in its first write
    /// to stdout. `get-credential` writes its ExecCredential after storing the cache entry, so
    /// a child blocked there has finished everything but printing.
    pub(super) fn spawn_with_stdout_blocked(
        plugin: Plugin<'a>,
        command: Command,
    ) -> Background<'a> {
        let (ours, theirs) = UnixStream::pair().expect("socket pair");
        fill(&theirs).expect("fill the child's stdout");
        Background::start(plugin, command, Some((ours, theirs)))
    }

    fn start(
        plugin: Plugin<'a>,
        mut command: Command,
        blocked: Option<(UnixStream, UnixStream)>,
    ) -> Background<'a> {
        command.stdin(Stdio::null()).stderr(Stdio::piped());
        let blocked_stdout = if let Some((ours, theirs)) = blocked {
            command.stdout(Stdio::from(std::os::fd::OwnedFd::from(theirs)));
            Some(ours)
        } else {
            command.stdout(Stdio::piped());
            None
        };
        let mut child = command
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
        let stdout = child
            .stdout
            .take()
            .map(|pipe| drain(Box::new(pipe) as Box<dyn Read + Send>));
        let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
        Background {
            plugin,
            child: Watched::new(child),
            stdout,
            stderr: Some(stderr),
            _blocked_stdout: blocked_stdout,
            started,
        }
    }

    /// Whether the child has not exited yet.
    pub fn is_running(&mut self) -> bool {
        self.child.try_status().is_none()
    }

    /// SIGKILL (what `std::process::Child::kill` sends) if it is still running, then reap it.
    pub fn kill(mut self) -> Finished {
        let status = self.child.kill();
        self.finish(status)
    }

    fn finish(&mut self, status: ExitStatus) -> Finished {
        let elapsed = self.started.elapsed();
        let text = |handle: Option<JoinHandle<Vec<u8>>>| {
            String::from_utf8_lossy(&handle.and_then(|h| h.join().ok()).unwrap_or_default())
                .to_string()
        };
        let finished = Finished {
            command_line: self.plugin.command_line(),
            env: self.plugin.redacted_env(),
            status,
            stdout: text(self.stdout.take()),
            stderr: text(self.stderr.take()),
            elapsed,
            killed: killed_by_sigkill(status),
        };
        // A child killed while printing its ExecCredential may leave part of it on stdout.
        self.plugin.check_secrets(
            &finished.stdout,
            &finished.stderr,
            finished.status.success(),
            finished.killed,
            &finished,
        );
        finished
    }
}

/// Writes into `socket` until its buffers are full, leaving it blocking again.
fn fill(socket: &UnixStream) -> io::Result<()> {
    socket.set_nonblocking(true)?;
    let chunk = [b'#'; 4096];
    let mut writer = socket;
    loop {
        match writer.write(&chunk) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    // Single bytes may still fit where a chunk did not.
    loop {
        match writer.write(b"#") {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    socket.set_nonblocking(false)
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
