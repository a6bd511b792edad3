//! Parse, run, print the error once, map it to an exit code.

use std::process::ExitCode;

use ack_credential_plugin::cli::{Cli, Command};
use ack_credential_plugin::commands::get_credential;
use ack_credential_plugin::config::{Env, GetCredentialConfig};
use ack_credential_plugin::error::Error;
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = Env::from_process();
    let result = match &cli.command {
        Command::GetCredential(args) => {
            ack_credential_plugin::log::set_verbose(args.verbose);
            GetCredentialConfig::resolve(args, &env)
                .and_then(|config| get_credential::run(&config, &env))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report(&error),
    }
}

fn report(error: &Error) -> ExitCode {
    eprintln!("ack-credential-plugin: error: {error}");
    ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(1))
}
