//! One use case per file.

use std::io::Write;

use crate::error::Error;

pub mod cache;
pub mod completions;
pub mod credential;
pub mod get_credential;
pub mod kubeconfig;

/// Write a command's output to stdout in one piece. A reader that went away (`| head`) is not
/// an error: the output was not wanted any more.
pub fn print(text: &str) -> Result<(), Error> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => result.map_err(Error::Output),
    }
}
