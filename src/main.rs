//! Parse, run, print the error once, map it to an exit code.

use std::ffi::OsString;
use std::process::ExitCode;

use ack_credential_plugin::cli::{
    self, CacheCommand, Cli, Command, GET_CREDENTIAL, GetCredentialArgs,
};
use ack_credential_plugin::commands::{cache, completions, get_credential, kubeconfig};
use ack_credential_plugin::config::{self, Env, GetCredentialConfig, KubeconfigConfig};
use ack_credential_plugin::error::Error;
use ack_credential_plugin::log::set_verbose;
use clap::{FromArgMatches, Parser};

fn main() -> ExitCode {
    let cli = parse();
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
            config::cache_dir(args.cache_dir.as_ref(), &env).and_then(cache::list)
        }
        Command::Cache(CacheCommand::Clear(args)) => {
            config::cache_dir(args.cache.cache_dir.as_ref(), &env).and_then(|dir| {
                cache::clear(dir, args.cluster_id.as_deref(), args.mesh_id.as_deref())
            })
        }
        Command::Completions { shell } => completions::run(*shell),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report(&error),
    }
}

/// Parse the command line. `get-credential`, which kubectl runs on every call, is read by hand
/// when it has the usual form ([`cli::parse_get_credential`]), else with its own subcommand
/// alone: building clap's whole command tree cost a quarter of a cache hit.
fn parse() -> Cli {
    let args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == GET_CREDENTIAL) {
        let args = match cli::parse_get_credential(&args[2..]) {
            Some(args) => args,
            None => {
                let matches = cli::get_credential_command()
                    .get_matches_from(std::iter::once(&args[0]).chain(&args[2..]));
                GetCredentialArgs::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
            }
        };
        return Cli {
            command: Command::GetCredential(args),
        };
    }
    Cli::parse()
}

fn report(error: &Error) -> ExitCode {
    eprintln!("ack-credential-plugin: error: {error}");
    ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(1))
}
