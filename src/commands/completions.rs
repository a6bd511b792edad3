//! `completions SHELL`: a completion script for bash, zsh, fish or PowerShell on stdout.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::Error;

pub(crate) fn run(shell: clap_complete::Shell) -> Result<(), Error> {
    let mut script = Vec::new();
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "ack-credential-plugin",
        &mut script,
    );
    super::print(&String::from_utf8_lossy(&script))
}
