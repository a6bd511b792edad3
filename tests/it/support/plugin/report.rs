//! What a failing test prints about a run of the binary: the command line, the environment it
//! ran with (secrets shown as `***`), how it ended, stdout, stderr and the fake's request log.

use std::fmt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use crate::support::exec_credential::ExecCredential;
use crate::support::fake_cloud::FakeCloud;

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

/// `arg` as a shell would need it.
pub fn shell_quote(arg: &str) -> String {
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
    pub(in crate::support) fake: &'a FakeCloud,
    pub command_line: String,
    pub env: Vec<(String, String)>,
    /// The HOME it ran with.
    pub home: PathBuf,
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

    /// The fake the run talked to.
    pub fn fake(&self) -> &FakeCloud {
        self.fake
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
