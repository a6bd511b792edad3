//! `kubeconfig`: one-time set-up. Fetch the kubeconfig once (which warms the cache, so the first
//! kubectl call after it is a hit), keep its cluster (server, CA), and write a user that runs
//! `get-credential` with the same identity-deciding flags, to stdout, a file, or merged into the
//! user's kubeconfig.

use std::path::PathBuf;

use super::credential;
use crate::cli::TargetArgs;
use crate::config::{Destination, Env, KubeconfigConfig, Settings, Target};
use crate::error::Error;
use crate::kubeconfig::{ExecUser, merge};
use crate::{fsutil, verbose};

pub fn run(config: &KubeconfigConfig, env: &Env) -> Result<(), Error> {
    let settings = &config.settings;
    let prepared = credential::prepare(settings, env)?;
    let fetched = {
        let _lock = prepared.lock(settings);
        let fetched = prepared.fetch(settings, settings.api_timeout)?;
        prepared.store(&fetched.entry);
        fetched
    };
    let action = credential::api_name(&settings.target);
    let cluster = fetched
        .kubeconfig
        .current_cluster()
        .filter(|c| !c.server.is_empty())
        .ok_or_else(|| Error::BadResponse {
            action,
            request_id: None,
            detail: "the kubeconfig names no cluster server".to_string(),
        })?;
    let name = config
        .context
        .clone()
        .unwrap_or_else(|| settings.target.id().to_string());
    let command = std::env::current_exe().map_err(|e| {
        Error::Setup(format!(
            "cannot find the path of this program to write into the kubeconfig: {e}"
        ))
    })?;
    let args = exec_args(settings, &config.given)?;
    let exec = ExecUser {
        command: &command,
        args: &args,
    };
    let fail = |path: &PathBuf, why: String| {
        Error::Setup(format!(
            "cannot write the kubeconfig {}: {why}",
            path.display()
        ))
    };
    match &config.destination {
        Destination::Stdout => {
            let text = merge("", &name, cluster, &exec, true)
                .map_err(|why| fail(&PathBuf::from("-"), why))?;
            super::print(&text)?;
        }
        Destination::File(path) => {
            let text = merge("", &name, cluster, &exec, true).map_err(|why| fail(path, why))?;
            write(path, &text).map_err(|why| fail(path, why))?;
            eprintln!("wrote context {name} to {}", path.display());
        }
        Destination::Merge(path) => {
            // Write through a symlink to the file it names (dotfile managers link ~/.kube/config),
            // rather than replacing the link.
            let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
            let existing = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                Err(e) => return Err(fail(&path, e.to_string())),
            };
            let text = merge(&existing, &name, cluster, &exec, config.set_current_context)
                .map_err(|why| fail(&path, why))?;
            if text == existing {
                verbose!("{} already holds context {name}", path.display());
            } else {
                write(&path, &text).map_err(|why| fail(&path, why))?;
            }
            eprintln!("merged context {name} into {}", path.display());
        }
    }
    Ok(())
}

fn write(path: &std::path::Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    fsutil::write_atomic(path, text.as_bytes()).map_err(|e| e.to_string())
}

/// `get-credential` and every flag given that decides the credential or where it comes from, so
/// that kubectl's calls land on the entry this command just cached.
fn exec_args(settings: &Settings, given: &TargetArgs) -> Result<Vec<String>, Error> {
    let mut args = vec!["get-credential".to_string()];
    let mut flag = |name: &str, value: Option<&str>| {
        if let Some(value) = value {
            args.push(format!("--{name}"));
            args.push(value.to_string());
        }
    };
    match &settings.target {
        Target::Cluster { id, uid } => {
            flag("cluster-id", Some(id));
            flag("uid", uid.as_deref());
            flag("expiration", given.expiration.as_deref());
        }
        Target::Mesh { id } => flag("mesh-id", Some(id)),
    }
    flag("profile", given.profile.as_deref());
    flag("role-arn", given.role_arn.as_deref());
    flag("region", given.region.as_deref());
    flag("cs-endpoint", given.cs_endpoint.as_deref());
    flag("asm-endpoint", given.asm_endpoint.as_deref());
    flag("sts-endpoint", given.sts_endpoint.as_deref());
    if given.cache_dir.is_some() {
        // kubectl may run the plugin from any directory.
        let dir = std::path::absolute(&settings.cache_dir)
            .map_err(|e| Error::Usage(format!("--cache-dir: {e}")))?;
        flag("cache-dir", Some(&dir.to_string_lossy()));
    }
    if settings.private_ip {
        args.push("--private-ip".to_string());
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// The exec args `kubeconfig` would write for this command line.
    fn exec_args_of(argv: &[&str]) -> Result<Vec<String>, Error> {
        let mut full = vec!["ack-credential-plugin", "kubeconfig"];
        full.extend_from_slice(argv);
        let crate::cli::Command::Kubeconfig(args) = crate::cli::Cli::parse_from(full).command
        else {
            unreachable!()
        };
        let settings = Settings::resolve(&args.target, &Env::from_pairs([("HOME", "/h")]))?;
        exec_args(&settings, &args.target)
    }

    #[test]
    fn exec_args_repeat_every_deciding_flag_given() {
        let args = exec_args_of(&[
            "--cluster-id",
            "c1",
            "--uid",
            "42",
            "--private-ip",
            "--expiration",
            "90m",
            "--profile",
            "dev",
            "--role-arn",
            "acs:ram::1:role/r",
            "--region",
            "cn-beijing",
            "--cs-endpoint",
            "http://127.0.0.1:1",
            "--sts-endpoint",
            "http://127.0.0.1:2",
            "--cache-dir",
            "/c",
            "--context",
            "mine",
        ])
        .unwrap();
        assert_eq!(
            args.join(" "),
            "get-credential --cluster-id c1 --uid 42 --expiration 90m --profile dev \
             --role-arn acs:ram::1:role/r --region cn-beijing --cs-endpoint http://127.0.0.1:1 \
             --sts-endpoint http://127.0.0.1:2 --cache-dir /c --private-ip"
        );
        let mesh = exec_args_of(&["--mesh-id", "m1"]).unwrap();
        assert_eq!(mesh.join(" "), "get-credential --mesh-id m1");
    }
}
