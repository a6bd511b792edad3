//! One use case per file, and the dispatch: parse the command line, run the command asked for,
//! print its error once and map it to an exit code.

use std::io::Write;
use std::process::ExitCode;

use crate::cli::{CacheCommand, Command};
use crate::config::{
    self, ClustersConfig, DoctorConfig, GetCredentialConfig, KubeconfigConfig, MeshesConfig,
};
use crate::env::Env;
use crate::error::Error;
use crate::log::set_verbose;

mod cache;
mod clusters;
mod completions;
mod doctor;
mod get_credential;
mod kubeconfig;
mod listing;
mod meshes;
mod refresh;
mod request;

/// All of `main`: the exit code is 0, 2 for a usage error, 1 for anything else.
pub(crate) fn main() -> ExitCode {
    let cli = crate::cli::parse(std::env::args_os().collect());
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
        Command::Clusters(args) => {
            set_verbose(args.caller.verbose);
            ClustersConfig::resolve(args, &env).and_then(|config| clusters::run(&config, &env))
        }
        Command::Meshes(args) => {
            set_verbose(args.caller.verbose);
            MeshesConfig::resolve(args, &env).and_then(|config| meshes::run(&config, &env))
        }
        Command::Doctor(args) => {
            set_verbose(args.target.verbose);
            DoctorConfig::resolve(args, &env).and_then(|config| doctor::run(&config, &env))
        }
        Command::Cache(CacheCommand::List(args)) => {
            config::cache_dir(args.cache_dir.as_ref(), &env).and_then(cache::list)
        }
        Command::Cache(CacheCommand::Clear(args)) => {
            config::cache_dir(args.cache.cache_dir.as_ref(), &env).and_then(|dir| {
                let only = match (&args.cluster_id, &args.mesh_id, &args.fleet_id) {
                    (Some(id), _, _) => Some((cache::Kind::Cluster, id.as_str())),
                    (_, Some(id), _) => Some((cache::Kind::Mesh, id.as_str())),
                    (_, _, Some(id)) => Some((cache::Kind::Fleet, id.as_str())),
                    _ => None,
                };
                cache::clear(dir, only)
            })
        }
        Command::Completions { shell } => completions::run(*shell),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ack-credential-plugin: error: {error}");
            ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(1))
        }
    }
}

/// Write a JSON document to stdout, indented as `kubectl -o json` indents, with a newline.
fn print_json(value: &impl serde::Serialize) -> Result<(), Error> {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    print(&text)
}

/// Write a command's output to stdout in one piece. A reader that went away (`| head`) is not
/// an error: the output was not wanted any more.
fn print(text: &str) -> Result<(), Error> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => result.map_err(Error::Output),
    }
}
