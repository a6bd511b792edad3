//! Parse, run, print the error once, map it to an exit code.

use std::process::ExitCode;

use ack_credential_plugin::cli::{CacheCommand, Cli, Command};
use ack_credential_plugin::commands::{cache, completions, get_credential, kubeconfig};
use ack_credential_plugin::config::{Env, GetCredentialConfig, KubeconfigConfig};
use ack_credential_plugin::error::Error;
use ack_credential_plugin::log::set_verbose;
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = Env::from_process();
    let result = match &cli.command {
        Command::GetCredential(args) => {
            set_verbose(args.target.verbose);
            GetCredentialConfig::resolve(args, &env)
                .and_then(|config| get_credential::run(&config, &env))
        }
        Command::Kubeconfig(args) => {
            set_verbose(args.target.verbose);
            KubeconfigConfig::resolve(args, &env).and_then(|config| kubeconfig::run(&config, &env))
        }
        Command::Cache(CacheCommand::List(args)) => {
            cache::dir(args.cache_dir.as_ref(), &env).and_then(cache::list)
        }
        Command::Cache(CacheCommand::Clear(args)) => {
            cache::dir(args.cache.cache_dir.as_ref(), &env).and_then(|dir| {
                cache::clear(dir, args.cluster_id.as_deref(), args.mesh_id.as_deref())
            })
        }
        Command::Completions { shell } => {
            completions::run(*shell);
            Ok(())
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
