//! `kubeconfig`: one-time set-up. Fetch the kubeconfig once (which warms the cache, so the first
//! kubectl call after it is a hit), keep its cluster (server, CA), and write a user that runs
//! `get-credential` with the same identity-deciding flags, to stdout, a file, or merged into the
//! user's kubeconfig.
//!
//! The target is known by id (a cluster, mesh or fleet), or found by listing the clusters: one
//! by its name (`--cluster-name`), or every running one (`--all`). A cluster found by listing
//! is then set up as if its id (and region) had been given.
//!
//! `--all` fetches the clusters' kubeconfigs one after another, not side by side: it is a
//! one-time set-up where a few seconds do not matter, the cs API throttles an account that
//! calls it in bursts, and one at a time keeps each fetch's budget, retries and cache lock
//! exactly those of a single `kubeconfig` (and of kubectl's own calls, which may run meanwhile).
//!
//! (Over 400 lines with its tests, which pin the exec args it writes and their round trip through
//! `get-credential`'s parser: they belong beside the code.)

use std::collections::HashMap;

use super::listing::{self, plural, shown};
use super::request::CredentialRequest;
use crate::aliyun::cs::ClusterSummary;
use crate::cli::TargetArgs;
use crate::config::{Destination, KubeconfigConfig, Settings, Target, Wanted, is_usable_name};
use crate::env::Env;
use crate::error::Error;
use crate::kubeconfig::{self, Current, ExecUser, NewContext};
use crate::log::verbose;

pub(crate) fn run(config: &KubeconfigConfig, env: &Env) -> Result<(), Error> {
    match &config.wanted {
        Wanted::One(settings) => {
            let name = config
                .context
                .clone()
                .unwrap_or_else(|| settings.target.id().to_string());
            let new = fetch_context(config, settings, &config.given, &name, env)?;
            write_one(config, &new)
        }
        Wanted::Named { name, access } => {
            let region = config.region_filter.as_deref();
            let clusters = listing::clusters(access, env, region)?;
            let cluster = by_name(&clusters, name, region)?;
            verbose!("cluster {name} is {} in {}", cluster.id, cluster.region);
            let given = given_for(&config.given, cluster);
            let settings = Settings::resolve(&given, env)?;
            let context = config.context.clone().unwrap_or_else(|| name.clone());
            let new = fetch_context(config, &settings, &given, &context, env)?;
            write_one(config, &new)
        }
        Wanted::All { access } => {
            let clusters = listing::clusters(access, env, config.region_filter.as_deref())?;
            write_all(config, &clusters, env)
        }
    }
}

/// Fetch the target's kubeconfig (caching its credential) and make the context `name` for it,
/// whose user runs this binary with the flags of `given`.
fn fetch_context(
    config: &KubeconfigConfig,
    settings: &Settings,
    given: &TargetArgs,
    name: &str,
    env: &Env,
) -> Result<NewContext, Error> {
    let request = CredentialRequest::resolve(settings, env, false)?;
    let fetched = {
        let miss = request.lock(settings);
        let fetched = miss.fetch(settings, settings.access.api_timeout)?;
        miss.store(&fetched.entry);
        fetched
    };
    let action = settings.target.action();
    let cluster = fetched
        .kubeconfig
        .current_cluster()
        .filter(|c| !c.server.is_empty())
        .ok_or_else(|| Error::BadResponse {
            action,
            request_id: None,
            detail: "the kubeconfig names no cluster server".to_string(),
        })?;
    let command = std::env::current_exe().map_err(|e| {
        Error::Setup(format!(
            "cannot find the path of this program to write into the kubeconfig: {e}"
        ))
    })?;
    let args = exec_args(settings, given)?;
    let exec = ExecUser {
        command: &command,
        args: &args,
        api_version: config.api_version,
    };
    Ok(NewContext::new(name, cluster, &exec))
}

/// Write one context where the command says: stdout, a file of its own, or merged.
fn write_one(config: &KubeconfigConfig, new: &NewContext) -> Result<(), Error> {
    let name = &new.name;
    match &config.destination {
        Destination::Stdout => super::print(&new.standalone())?,
        Destination::File(path) => {
            kubeconfig::replace(path, &new.standalone()).map_err(Error::Setup)?;
            eprintln!("wrote context {name} to {}", path.display());
        }
        Destination::Merge(files) => {
            let current = if config.set_current_context {
                Current::Set(name)
            } else {
                Current::IfUnset(name)
            };
            let merged = kubeconfig::merge(files, std::slice::from_ref(new), current)
                .map_err(Error::Setup)?;
            let context_file = &merged.context_files[0];
            eprintln!("merged context {name} into {}", context_file.display());
            if merged.written.is_empty() {
                verbose!("the kubeconfig already holds context {name}: nothing written");
            }
            for (path, changes) in &merged.written {
                if path != context_file {
                    eprintln!("updated {} in {}", changes.join(", "), path.display());
                }
            }
        }
    }
    Ok(())
}

/// The one cluster called `name`; else an error that says what was found and what to do.
fn by_name<'a>(
    clusters: &'a [ClusterSummary],
    name: &str,
    region: Option<&str>,
) -> Result<&'a ClusterSummary, Error> {
    let matches: Vec<&ClusterSummary> = clusters.iter().filter(|c| c.name == name).collect();
    let place = region.map_or(String::new(), |r| format!(" in {r}"));
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(Error::Selection(format!(
            "no cluster is named {name:?} among the {} cluster{} this identity can list{place}\n\
             hint: `ack-credential-plugin clusters` lists them; names are matched exactly",
            clusters.len(),
            plural(clusters.len()),
        ))),
        several => Err(Error::Selection(format!(
            "{} clusters are named {name:?}{place}: {}\n\
             hint: choose one with --cluster-id ID{}",
            several.len(),
            several
                .iter()
                .map(|c| format!("{} ({})", shown(&c.id), shown(&c.region)))
                .collect::<Vec<_>>()
                .join(", "),
            if region.is_none() {
                ", or narrow the search with --region REGION"
            } else {
                ""
            },
        ))),
    }
}

/// The flags of `given` for a cluster found by listing: its id, and its region (which picks
/// its regional endpoint, on this call and on kubectl's) unless the listing left it out.
fn given_for(given: &TargetArgs, cluster: &ClusterSummary) -> TargetArgs {
    let region = Some(cluster.region.clone())
        .filter(|r| crate::aliyun::endpoint::validate_region(r).is_ok())
        .or_else(|| given.region.clone());
    TargetArgs {
        cluster_id: Some(cluster.id.clone()),
        region,
        ..given.clone()
    }
}

/// `--all`: one context per running cluster, fetched one after another, written in one go;
/// a cluster that fails is left out and named in the summary.
fn write_all(
    config: &KubeconfigConfig,
    clusters: &[ClusterSummary],
    env: &Env,
) -> Result<(), Error> {
    let (mut running, stopped): (Vec<&ClusterSummary>, Vec<&ClusterSummary>) =
        clusters.iter().partition(|c| c.is_running());
    running.sort_by(|a, b| (&a.name, &a.region, &a.id).cmp(&(&b.name, &b.region, &b.id)));
    let names = context_names(&running);
    let mut contexts = Vec::new();
    let mut failed = Vec::new();
    for (cluster, name) in running.iter().zip(&names) {
        let given = given_for(&config.given, cluster);
        let result = Settings::resolve(&given, env)
            .and_then(|settings| fetch_context(config, &settings, &given, name, env));
        match result {
            Ok(context) => contexts.push(context),
            Err(error) => {
                verbose!("cluster {} ({}): {error}", cluster.name, cluster.id);
                failed.push((*cluster, code(&error)));
            }
        }
    }

    let mut summary = Vec::new();
    let added: Vec<String> = contexts.iter().map(|c| shown(&c.name)).collect();
    if !stopped.is_empty() {
        summary.push(format!(
            "skipped {} not running: {}",
            stopped.len(),
            stopped
                .iter()
                .map(|c| format!("{} ({}, {})", shown(&c.name), shown(&c.id), shown(&c.state)))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !failed.is_empty() {
        summary.push(format!(
            "failed {}: {}",
            failed.len(),
            failed
                .iter()
                .map(|(c, code)| format!("{} ({}, {code})", shown(&c.name), shown(&c.id)))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if contexts.is_empty() {
        let found = format!(
            "{} cluster{} listed",
            clusters.len(),
            plural(clusters.len())
        );
        let why = std::iter::once(found).chain(summary).collect::<Vec<_>>();
        return Err(Error::Selection(format!(
            "no context written: {}\nhint: `ack-credential-plugin clusters` lists the clusters \
             and their states; run with -v to see why each failed",
            why.join("; ")
        )));
    }

    let written_to = match &config.destination {
        Destination::File(path) => {
            kubeconfig::replace(path, &kubeconfig::standalone(&contexts)).map_err(Error::Setup)?;
            format!("wrote to {}", path.display())
        }
        Destination::Merge(files) => {
            let merged =
                kubeconfig::merge(files, &contexts, Current::Keep).map_err(Error::Setup)?;
            let mut places: Vec<String> = Vec::new();
            for file in &merged.context_files {
                let shown = file.display().to_string();
                if !places.contains(&shown) {
                    places.push(shown);
                }
            }
            format!("merged into {}", places.join(", "))
        }
        Destination::Stdout => unreachable!("--all needs --merge or --output (checked in config)"),
    };
    let head = format!(
        "added {} context{} ({}), {written_to}",
        added.len(),
        plural(added.len()),
        added.join(", ")
    );
    eprintln!(
        "{}",
        std::iter::once(head)
            .chain(summary)
            .collect::<Vec<_>>()
            .join("; ")
    );
    Ok(())
}

/// Context names for `clusters` (sorted), in order: each cluster's name (its id when the name
/// is not usable); where names repeat, the region is added when that tells them apart, else
/// the id.
fn context_names(clusters: &[&ClusterSummary]) -> Vec<String> {
    let base = |c: &ClusterSummary| {
        if is_usable_name(&c.name) {
            c.name.clone()
        } else {
            c.id.clone()
        }
    };
    let mut count: HashMap<String, usize> = HashMap::new();
    let mut with_region: HashMap<(String, &str), usize> = HashMap::new();
    for c in clusters {
        *count.entry(base(c)).or_default() += 1;
        *with_region.entry((base(c), c.region.as_str())).or_default() += 1;
    }
    let mut taken: Vec<String> = Vec::with_capacity(clusters.len());
    for c in clusters {
        let name = base(c);
        let mut unique = if count[&name] == 1 {
            name
        } else if !c.region.is_empty() && with_region[&(name.clone(), c.region.as_str())] == 1 {
            format!("{name}-{}", c.region)
        } else {
            format!("{name}-{}", c.id)
        };
        // A cluster may be called what another one's made-up name is.
        if taken.contains(&unique) {
            unique = format!("{unique}-{}", c.id);
        }
        taken.push(unique);
    }
    taken
}

/// The API's code for a failure (`Forbidden.RAM`), or a few words for one without a code.
fn code(error: &Error) -> String {
    match error {
        Error::Api(api) => api.code.clone(),
        Error::Source { error, .. } => code(error),
        Error::Unreachable { .. } => "no answer".to_string(),
        Error::UntrustedServer { .. } => "untrusted server".to_string(),
        Error::BadResponse { .. } => "unusable answer".to_string(),
        Error::Usage(_) => "invalid".to_string(),
        _ => "failed".to_string(),
    }
}

/// `get-credential` and every flag given that decides the credential or where it comes from, so
/// that kubectl's calls land on the entry this command just cached.
fn exec_args(settings: &Settings, given: &TargetArgs) -> Result<Vec<String>, Error> {
    let mut args = vec!["get-credential".to_string()];
    let mut flag = |name: &str, value: Option<&str>| {
        if let Some(value) = value {
            args.push(name.to_string());
            args.push(value.to_string());
        }
    };
    let target = &settings.target;
    flag(target.flag(), Some(target.id()));
    flag("--uid", target.uid());
    if let Target::Cluster { .. } = target {
        // Only a cluster's credential has a lifetime to ask for.
        flag("--expiration", given.expiration.as_deref());
    }
    flag("--profile", given.profile.as_deref());
    flag("--role-arn", given.role_arn.as_deref());
    flag("--region", given.region.as_deref());
    flag("--cs-endpoint", given.cs_endpoint.as_deref());
    flag("--asm-endpoint", given.asm_endpoint.as_deref());
    flag("--adcp-endpoint", given.adcp_endpoint.as_deref());
    flag("--sts-endpoint", given.sts_endpoint.as_deref());
    if given.cache_dir.is_some() {
        // kubectl may run the plugin from any directory.
        let dir = std::path::absolute(&settings.cache_dir)
            .map_err(|e| Error::Usage(format!("--cache-dir: {e}")))?;
        flag("--cache-dir", Some(&dir.to_string_lossy()));
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

    fn cluster(id: &str, name: &str, region: &str, state: &str) -> ClusterSummary {
        ClusterSummary {
            id: id.into(),
            name: name.into(),
            region: region.into(),
            cluster_type: "ManagedKubernetes".into(),
            state: state.into(),
            version: "1.33.1-aliyun.1".into(),
        }
    }

    #[test]
    fn a_name_resolves_to_its_one_cluster_or_says_what_it_found() {
        let clusters = [
            cluster("c1", "prod", "cn-hangzhou", "running"),
            cluster("c2", "dev", "cn-beijing", "running"),
            cluster("c3", "dev", "cn-shanghai", "deleting"),
        ];
        assert_eq!(by_name(&clusters, "prod", None).unwrap().id, "c1");
        assert_eq!(
            by_name(&clusters, "Prod", None).unwrap_err().to_string(),
            "no cluster is named \"Prod\" among the 3 clusters this identity can list\n\
             hint: `ack-credential-plugin clusters` lists them; names are matched exactly"
        );
        assert_eq!(
            by_name(&clusters[..1], "x", Some("cn-hangzhou"))
                .unwrap_err()
                .to_string(),
            "no cluster is named \"x\" among the 1 cluster this identity can list in \
             cn-hangzhou\nhint: `ack-credential-plugin clusters` lists them; names are matched \
             exactly"
        );
        assert_eq!(
            by_name(&clusters, "dev", None).unwrap_err().to_string(),
            "2 clusters are named \"dev\": c2 (cn-beijing), c3 (cn-shanghai)\n\
             hint: choose one with --cluster-id ID, or narrow the search with --region REGION"
        );
        assert_eq!(by_name(&clusters, "dev", None).unwrap_err().exit_code(), 1);
    }

    #[test]
    fn a_cluster_found_by_listing_is_set_up_with_its_id_and_region() {
        let given = TargetArgs {
            profile: Some("dev".into()),
            region: Some("cn-beijing".into()),
            ..TargetArgs::default()
        };
        let found = given_for(&given, &cluster("c9", "prod", "cn-hangzhou", "running"));
        assert_eq!(found.cluster_id.as_deref(), Some("c9"));
        assert_eq!(found.region.as_deref(), Some("cn-hangzhou"));
        assert_eq!(found.profile.as_deref(), Some("dev"));
        let unknown_region = given_for(&given, &cluster("c9", "prod", "", "running"));
        assert_eq!(unknown_region.region.as_deref(), Some("cn-beijing"));
    }

    #[test]
    fn context_names_are_the_cluster_names_made_unique() {
        let clusters = [
            cluster("c1", "prod", "cn-hangzhou", "running"),
            cluster("c2", "web", "cn-beijing", "running"),
            cluster("c3", "web", "cn-hangzhou", "running"),
            cluster("c4", "db", "cn-beijing", "running"),
            cluster("c5", "db", "cn-beijing", "running"),
            cluster("c6", "", "cn-beijing", "running"),
            cluster("c7", "web-cn-beijing", "cn-beijing", "running"),
            cluster("c8", "bad\nname", "cn-beijing", "running"),
        ];
        let refs: Vec<&ClusterSummary> = clusters.iter().collect();
        assert_eq!(
            context_names(&refs),
            [
                "prod",
                "web-cn-beijing",
                "web-cn-hangzhou",
                "db-c4",
                "db-c5",
                "c6",
                "web-cn-beijing-c7",
                "c8",
            ]
        );
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
        let fleet = exec_args_of(&[
            "--fleet-id",
            "f1",
            "--region",
            "cn-hangzhou",
            "--adcp-endpoint",
            "http://127.0.0.1:4",
            "--private-ip",
        ])
        .unwrap();
        assert_eq!(
            fleet.join(" "),
            "get-credential --fleet-id f1 --region cn-hangzhou --adcp-endpoint \
             http://127.0.0.1:4 --private-ip"
        );
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
            prop::sample::select(vec!["--cluster-id", "--mesh-id", "--fleet-id"]),
            optional("--uid", vec!["42", "7"]),
            optional("--expiration", vec!["90m", "2d"]),
            optional("--profile", vec!["dev", "a b"]),
            optional("--role-arn", vec!["acs:ram::1:role/r"]),
            optional("--region", vec!["cn-beijing"]),
            optional("--cs-endpoint", vec!["http://127.0.0.1:1"]),
            optional("--asm-endpoint", vec!["http://127.0.0.1:3"]),
            optional("--adcp-endpoint", vec!["https://adcp.example"]),
            optional("--sts-endpoint", vec!["https://sts.example"]),
            optional("--cache-dir", vec!["/c", "/tmp/a b"]),
            prop::bool::ANY,
        );
        let switches = (prop::bool::ANY,);
        proptest::proptest!(|((target, uid, expiration, profile, role, region, cs, asm, adcp, sts, dir, private) in flags, (no_background,) in switches)| {
            let mut argv = vec!["ack-credential-plugin", "kubeconfig", target, "x1"];
            let cluster = target == "--cluster-id";
            let cluster_only = [uid, expiration];
            let common = [profile, role, region, cs, asm, adcp, sts, dir];
            for (flag, value) in cluster_only.into_iter().filter(|_| cluster).chain(common).flatten() {
                argv.extend([flag, value]);
            }
            if private {
                argv.push("--private-ip");
            }
            if no_background {
                argv.push("--no-background-refresh");
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
