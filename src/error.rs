//! The plugin's one error type. Each variant says what failed, with the id, path or API details
//! a user needs, and owns its exit code. Messages never carry a secret.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug)]
pub(crate) enum Error {
    /// A flag, identifier, endpoint or variable that cannot be right. Checked before any request.
    Usage(String),
    /// No credential source yielded credentials; the text lists what was tried.
    NoCredentials(String),
    /// The API answered with an error.
    Api(Box<ApiError>),
    /// A configured credential source failed (STS refused a role, say).
    Source { source: String, error: Box<Error> },
    /// The API could not be reached, or did not answer in time.
    Unreachable {
        action: &'static str,
        endpoint: String,
        attempts: u32,
        detail: String,
    },
    /// The server's TLS certificate is not trusted. Verification cannot be turned off.
    UntrustedServer {
        action: &'static str,
        detail: String,
    },
    /// What was listed does not give what was asked: no cluster of that name, several, or
    /// nothing to write. The text says what was found and what to do.
    Selection(String),
    /// The API said yes but its answer cannot be used.
    BadResponse {
        action: &'static str,
        request_id: Option<String>,
        detail: String,
    },
    /// `KUBERNETES_EXEC_INFO`, set by the client, cannot be read.
    ExecInfo(String),
    /// The cache directory cannot be used.
    Cache { path: PathBuf, detail: String },
    /// An error another process met a moment ago fetching the same credential, as it was
    /// shown then (a failure note, see `cache::Note`), with its exit code.
    Noted { message: String, exit_code: i32 },
    /// Something the plugin needs locally failed (the HTTP client, its own path, a file).
    Setup(String),
    /// stdout could not be written.
    Output(std::io::Error),
    /// `doctor` ran, and these checks (named, comma-separated) failed; the report says why.
    ChecksFailed(String),
}

impl Error {
    /// 2 for usage errors (as clap uses), 1 for everything else.
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::Source { error, .. } => error.exit_code(),
            Error::Noted { exit_code, .. } => *exit_code,
            _ => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(message)
            | Error::Setup(message)
            | Error::NoCredentials(message)
            | Error::Selection(message)
            | Error::Noted { message, .. } => f.write_str(message),
            Error::Api(error) => error.fmt(f),
            Error::Source { source, error } => {
                write!(f, "cannot get credentials from {source}: {error}")
            }
            Error::Unreachable {
                action,
                endpoint,
                attempts,
                detail,
            } => write!(
                f,
                "{action} failed: could not get an answer from {endpoint} \
                 ({attempts} attempt{}): {detail}\n\
                 hint: check the network, the endpoint and any HTTPS_PROXY setting; \
                 run with -v to see each attempt",
                if *attempts == 1 { "" } else { "s" }
            ),
            Error::UntrustedServer { action, detail } => write!(
                f,
                "{action} failed: the server's TLS certificate is not trusted: {detail}\n\
                 hint: check the endpoint; behind a TLS-inspecting proxy, add its CA to the \
                 system's trust store (or point SSL_CERT_FILE at a bundle that has it)"
            ),
            Error::BadResponse {
                action,
                request_id,
                detail,
            } => {
                write!(
                    f,
                    "{action} returned an answer that cannot be used: {detail}"
                )?;
                if let Some(id) = request_id {
                    write!(f, " (RequestId: {id})")?;
                }
                f.write_str("\nhint: try again; if it persists, report it with the RequestId")
            }
            Error::ExecInfo(message) => write!(f, "KUBERNETES_EXEC_INFO: {message}"),
            Error::Cache { path, detail } => write!(
                f,
                "cache directory `{}` cannot be used: {detail}\n\
                 hint: fix its permissions, or choose another with --cache-dir or ACK_CACHE_DIR",
                path.display()
            ),
            Error::Output(error) => write!(f, "cannot write to stdout: {error}"),
            Error::ChecksFailed(names) => {
                write!(f, "failed: {names} (the report says why, and what to do)")
            }
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// Say which credential source an error came from, unless it already does.
    pub(crate) fn with_source(self, source: String) -> Error {
        match self {
            Error::NoCredentials(_) | Error::Usage(_) | Error::Source { .. } => self,
            error => Error::Source {
                source,
                error: Box::new(error),
            },
        }
    }
}

impl From<ApiError> for Error {
    fn from(error: ApiError) -> Self {
        Error::Api(Box::new(error))
    }
}

/// An error answer from an API, with everything the user needs to act on it or report it.
#[derive(Debug)]
pub(crate) struct ApiError {
    /// The API name, e.g. `DescribeClusterUserKubeconfig`.
    pub(crate) action: &'static str,
    /// What the call was about, e.g. `cluster c0123`.
    pub(crate) target: String,
    pub(crate) status: u16,
    pub(crate) code: String,
    pub(crate) message: String,
    pub(crate) request_id: Option<String>,
    /// What to do about it.
    pub(crate) hint: Option<String>,
    /// How many attempts ended this way (retryable errors are retried).
    pub(crate) attempts: u32,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} for {} failed: {}: {} (HTTP {}",
            self.action, self.target, self.code, self.message, self.status
        )?;
        if let Some(id) = &self.request_id {
            write!(f, ", RequestId: {id}")?;
        }
        f.write_str(")")?;
        if self.attempts > 1 {
            write!(f, ", {} attempts", self.attempts)?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}
