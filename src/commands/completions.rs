//! `completions SHELL`: a completion script for bash, zsh, fish or PowerShell on stdout.

use clap::CommandFactory;

use crate::cli::Cli;

pub fn run(shell: clap_complete::Shell) {
    let mut command = Cli::command();
    clap_complete::generate(
        shell,
        &mut command,
        "ack-credential-plugin",
        &mut std::io::stdout(),
    );
}
