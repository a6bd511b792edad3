//! `kubeconfig`: one-time set-up. Fetch the kubeconfig once (which warms the cache, so the first
//! kubectl call after it is a hit), keep its cluster (server, CA), and write a user that runs
//! `get-credential` with the same identity-deciding flags, to stdout, a file, or merged into the
//! user's kubeconfig.

use super::request::{self, CredentialRequest};
use crate::cli::TargetArgs;
use crate::config::{Destination, KubeconfigConfig, Settings, Target};
use crate::env::Env;
use crate::error::Error;
use crate::kubeconfig::{self, ExecUser, NewContext};
use crate::log::verbose;

pub(crate) fn run(config: &KubeconfigConfig, env: &Env) -> Result<(), Error> {
    let settings = &config.settings;
    let request = CredentialRequest::resolve(settings, env)?;
    let fetched = {
        let miss = request.lock(settings);
        let fetched = miss.fetch(settings, settings.api_timeout)?;
        miss.store(&fetched.entry);
        fetched
    };
    let action = request::api_name(&settings.target);
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
        api_version: config.api_version,
    };
    let new = NewContext::new(&name, cluster, &exec);
    match &config.destination {
        Destination::Stdout => super::print(&new.standalone())?,
        Destination::File(path) => {
            kubeconfig::replace(path, &new.standalone()).map_err(Error::Setup)?;
            eprintln!("wrote context {name} to {}", path.display());
        }
        Destination::Merge(files) => {
            let merged =
                kubeconfig::merge(files, &new, config.set_current_context).map_err(Error::Setup)?;
            eprintln!(
                "merged context {name} into {}",
                merged.context_file.display()
            );
            if merged.written.is_empty() {
                verbose!("the kubeconfig already holds context {name}: nothing written");
            }
            for (path, changes) in &merged.written {
                if path != &merged.context_file {
                    eprintln!("updated {} in {}", changes.join(", "), path.display());
                }
            }
        }
    }
    Ok(())
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
    if given.no_background_refresh {
        args.push("--no-background-refresh".to_string());
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
        let crate::cli::Command::Kubeconfig(given) = crate::cli::Cli::parse_from(full).command
        else {
            unreachable!()
        };
        let settings = Settings::resolve(&given.target, &Env::from_pairs([("HOME", "/h")]))?;
        exec_args(&settings, &given.target)
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

    /// Whatever deciding flags `kubeconfig` is given, the exec args it writes are read by
    /// `get-credential`'s fast parser (no clap on kubectl's calls), the same as clap reads them,
    /// and give back the flags given: every flag that decides the credential goes through.
    #[test]
    fn exec_args_round_trip_through_the_fast_parser() {
        use proptest::prelude::*;
        let optional = |flag: &'static str, values: Vec<&'static str>| {
            prop::option::of(prop::sample::select(values)).prop_map(move |v| v.map(|v| (flag, v)))
        };
        let flags = (
            prop::bool::ANY,
            optional("--uid", vec!["42", "7"]),
            optional("--expiration", vec!["90m", "2d"]),
            optional("--profile", vec!["dev", "a b"]),
            optional("--role-arn", vec!["acs:ram::1:role/r"]),
            optional("--region", vec!["cn-beijing"]),
            optional("--cs-endpoint", vec!["http://127.0.0.1:1"]),
            optional("--asm-endpoint", vec!["http://127.0.0.1:3"]),
            optional("--sts-endpoint", vec!["https://sts.example"]),
            optional("--cache-dir", vec!["/c", "/tmp/a b"]),
            prop::bool::ANY,
        );
        proptest::proptest!(|((mesh, uid, expiration, profile, role, region, cs, asm, sts, dir, private) in flags)| {
            let mut argv = vec!["ack-credential-plugin", "kubeconfig"];
            argv.extend(if mesh { ["--mesh-id", "m1"] } else { ["--cluster-id", "c1"] });
            let cluster_only = [uid, expiration];
            let common = [profile, role, region, cs, asm, sts, dir];
            for (flag, value) in cluster_only.into_iter().filter(|_| !mesh).chain(common).flatten() {
                argv.extend([flag, value]);
            }
            if private {
                argv.push("--private-ip");
            }
            let crate::cli::Command::Kubeconfig(given) = crate::cli::Cli::parse_from(&argv).command
            else {
                unreachable!()
            };
            let settings = Settings::resolve(&given.target, &Env::from_pairs([("HOME", "/h")])).unwrap();
            let written = exec_args(&settings, &given.target).unwrap();
            prop_assert_eq!(written[0].as_str(), "get-credential");
            let os: Vec<std::ffi::OsString> = written[1..].iter().map(Into::into).collect();
            let read = crate::cli::fast::parse_get_credential(&os);
            prop_assert!(read.is_some(), "the fast parser refuses {:?}", written);
            let read = read.unwrap();
            let by_clap = crate::cli::Cli::parse_from(
                ["ack-credential-plugin"].into_iter().chain(written.iter().map(String::as_str)),
            );
            let crate::cli::Command::GetCredential(by_clap) = by_clap.command else { unreachable!() };
            prop_assert_eq!(&read, &by_clap);
            prop_assert_eq!(&read.target, &given.target);
        });
    }
}
