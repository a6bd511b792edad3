//! The command line as clap sees it: raw user input, no I/O. `config` turns it into settings.
//! `get-credential`, which kubectl runs on every call, is read by [`fast`] when it has the
//! usual form.
//!
//! The doc comments on the argument types are clap's `--help` text, printed as written, so
//! they hold no Markdown (backticks, angle-bracketed URLs) even where rustdoc would want it.
//!
//! (Over 400 lines with its tests: the clap types are the help text, one declaration per flag.)
#![allow(
    clippy::doc_markdown,
    reason = "doc comments here are --help text, where Markdown would show"
)]

pub(crate) mod fast;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgGroup, Args, FromArgMatches, Parser, Subcommand, ValueEnum};

/// Parse the command line (`args` with the program name first). `get-credential` is read by
/// hand when it has the usual form ([`fast::parse_get_credential`]), else with its own
/// subcommand alone: building clap's whole command tree cost a quarter of a cache hit.
/// Usage errors, `--help` and `--version` end the process here, as clap does.
pub(crate) fn parse(args: Vec<OsString>) -> Cli {
    if args.get(1).is_some_and(|a| a == GET_CREDENTIAL) {
        let args = fast::parse_get_credential(&args[2..]).unwrap_or_else(|| {
            let matches = get_credential_command()
                .get_matches_from(std::iter::once(&args[0]).chain(&args[2..]));
            GetCredentialArgs::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
        });
        return Cli {
            command: Command::GetCredential(args),
        };
    }
    Cli::parse_from(args)
}

#[derive(Debug, Parser)]
#[command(
    name = "ack-credential-plugin",
    version,
    about = "kubectl exec credential plugin for Alibaba Cloud ACK clusters, ACK One fleets and ASM meshes",
    long_about = "kubectl exec credential plugin for Alibaba Cloud Container Service for \
                  Kubernetes (ACK), ACK One fleets and Service Mesh (ASM).\n\nkubectl runs \
                  `get-credential` from a kubeconfig `exec` entry; it prints an ExecCredential \
                  with a short-lived client certificate, cached on disk and renewed before it \
                  expires. `kubeconfig` writes such a kubeconfig for you, for a cluster by id or \
                  by name, a mesh, a fleet, or every running cluster at once; `clusters` and \
                  `meshes` list what you can reach."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The name of the subcommand kubectl runs.
pub(crate) const GET_CREDENTIAL: &str = "get-credential";

/// `get-credential` as a command of its own, without the rest of the tree: the same arguments,
/// help and usage line as `ack-credential-plugin get-credential`.
pub(crate) fn get_credential_command() -> clap::Command {
    // `augment_args` sets the flattened struct's doc as `about`, so the about comes after it.
    GetCredentialArgs::augment_args(
        clap::Command::new(GET_CREDENTIAL).bin_name("ack-credential-plugin get-credential"),
    )
    .about(GET_CREDENTIAL_ABOUT)
    .after_help(ENVIRONMENT_HELP)
}

const GET_CREDENTIAL_ABOUT: &str =
    "Print an ExecCredential for a cluster, fleet or mesh (what kubectl runs)";

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    #[command(about = GET_CREDENTIAL_ABOUT, after_help = ENVIRONMENT_HELP)]
    GetCredential(GetCredentialArgs),

    /// Write a kubeconfig whose user runs this plugin, for a cluster (by id or name), a fleet,
    /// a mesh, or every running cluster.
    #[command(after_help = ENVIRONMENT_HELP)]
    Kubeconfig(KubeconfigArgs),

    /// List the ACK clusters this identity can see (every page): id, name, region, type, state,
    /// version.
    #[command(after_help = ENVIRONMENT_HELP)]
    Clusters(ClustersArgs),

    /// List the ASM service meshes this identity can see: id, name, region, state, version,
    /// edition.
    #[command(after_help = ENVIRONMENT_HELP)]
    Meshes(MeshesArgs),

    /// Check what a credential depends on: the credentials and whose they are, the clock, the
    /// endpoints, the cache, the kubeconfig, and whether the cluster accepts the certificate.
    #[command(after_help = DOCTOR_HELP)]
    Doctor(DoctorArgs),

    /// List or clear cached credentials.
    #[command(subcommand)]
    Cache(CacheCommand),

    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

const ENVIRONMENT_HELP: &str = "\
Credentials, first found wins (--profile forces the aliyun CLI profile):
  1. ALIBABA_CLOUD_ACCESS_KEY_ID + ALIBABA_CLOUD_ACCESS_KEY_SECRET (+ ALIBABA_CLOUD_SECURITY_TOKEN),
     or the aliyun CLI's ALIBABACLOUD_, ALICLOUD_ and bare ACCESS_KEY_ID spellings
  2. RRSA: ALIBABA_CLOUD_ROLE_ARN + ALIBABA_CLOUD_OIDC_PROVIDER_ARN + ALIBABA_CLOUD_OIDC_TOKEN_FILE
  3. the aliyun CLI profile (ALIBABA_CLOUD_CONFIG_FILE, ALIBABA_CLOUD_PROFILE, else `current`),
     CloudSSO and OAuth included; ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true skips it
  4. ~/.alibabacloud/credentials (ALIBABA_CLOUD_CREDENTIALS_FILE, section ALIBABA_CLOUD_PROFILE)
  5. the ECS instance RAM role (ALIBABA_CLOUD_ECS_METADATA, ALIBABA_CLOUD_ECS_METADATA_DISABLED)
  6. ALIBABA_CLOUD_CREDENTIALS_URI

Environment:
  ACK_CS_ENDPOINT, ACK_ASM_ENDPOINT, ACK_ADCP_ENDPOINT, ACK_STS_ENDPOINT
                         same as the --*-endpoint flags
  ALIBABA_CLOUD_STS_ENDPOINT STS host (https) or base URL, after --sts-endpoint and ACK_STS_ENDPOINT
  ALIBABA_CLOUD_STS_REGION   STS in that region (ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED=true: VPC)
  ACK_OAUTH_ENDPOINT         the OAuth site for OAuth profiles (instead of oauth_site_type's)
  ALIBABA_CLOUD_DISABLE_EXTERNAL_PROCESS=1   never run a process_command or fetch a credentials URI
  ACK_ECS_METADATA_ENDPOINT  the ECS metadata service (default http://100.100.100.200)
  ALIBABA_CLOUD_REGION_ID    same as --region (also ALIBABACLOUD_REGION_ID, ALICLOUD_REGION_ID,
                             ALICLOUD_REGION; REGION_ID and REGION when nothing else names one)
  ACK_CACHE_DIR          same as --cache-dir
  KUBECACHEDIR           cache in $KUBECACHEDIR/ack-credential-plugin (default ~/.kube/cache)
  ACK_API_TIMEOUT        seconds a fetch may take, every API call and retry included (default 30)
  ACK_LOCK_TIMEOUT       seconds to wait for another process fetching the same credential
                         (default: ACK_API_TIMEOUT + 10)
  ACK_BACKGROUND_REFRESH 0 to wait for a refresh, as --no-background-refresh (default 1)
  KUBERNETES_EXEC_INFO   set by kubectl; its apiVersion is the one printed";

const DOCTOR_HELP: &str = "\
Checks, each ok, warn, fail or skip, with a detail and a hint; exit 1 when one fails:
  credentials  the source found, and why each earlier one was skipped
  identity     STS GetCallerIdentity: account, ARN, type
  clock        this machine's clock against the API's (warn over 60 s, fail over 600 s)
  endpoints    each endpoint used: DNS, connect and TLS times
  cache        the cache directory; with a target, its entry, expiry and refresh point
  kubeconfig   with a target: a context whose user runs this plugin for it, and that it runs
  apiserver    with a target: whether the cluster accepts the certificate, and as whom
Without --cluster-id, --mesh-id or --fleet-id the last two are skipped. Nothing is changed: no file is
written, and a certificate fetched to test the API server is kept in memory only.";

/// What to get a credential for, and how: shared by `get-credential`, `kubeconfig` and
/// `doctor` (where the target is optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
#[group(skip)]
#[command(group = ArgGroup::new("target").required(true).args(["cluster_id", "mesh_id", "fleet_id"]))]
pub(crate) struct TargetArgs {
    /// The ACK cluster id.
    #[arg(long, value_name = "ID")]
    pub(crate) cluster_id: Option<String>,

    /// Fetch the kubeconfig of this RAM user (its numeric uid) instead of the caller's.
    /// Only a main account may do this.
    #[arg(long, value_name = "UID", requires = "cluster_id")]
    pub(crate) uid: Option<String>,

    /// The ASM service mesh id.
    #[arg(long, value_name = "ID", conflicts_with_all = ["uid", "expiration"])]
    pub(crate) mesh_id: Option<String>,

    /// The ACK One fleet id: the kubeconfig of its hub cluster. A fleet lives in a region: give
    /// it with --region (or ALIBABA_CLOUD_REGION_ID, or the profile's region_id).
    #[arg(long, value_name = "ID", conflicts_with_all = ["uid", "expiration"])]
    pub(crate) fleet_id: Option<String>,

    /// Use the private (VPC) API server address.
    #[arg(long)]
    pub(crate) private_ip: bool,

    /// Lifetime of the certificate to ask for: 15m to 72h, as `90m`, `3h` or `2d` [default: 3h].
    /// Clusters only: ASM and ACK One have no lifetime parameter.
    #[arg(long, value_name = "DURATION")]
    pub(crate) expiration: Option<String>,

    /// Use this aliyun CLI profile (from ~/.aliyun/config.json), whatever else is configured.
    #[arg(long, value_name = "NAME")]
    pub(crate) profile: Option<String>,

    /// Assume this RAM role (acs:ram::<account>:role/<name>) with the credentials found.
    #[arg(long, value_name = "ARN")]
    pub(crate) role_arn: Option<String>,

    /// Region of the cluster or fleet, which picks the ACK or ACK One API endpoint (e.g.
    /// cn-hangzhou).
    #[arg(long, value_name = "REGION")]
    pub(crate) region: Option<String>,

    /// Where to cache certificates [default: ~/.kube/cache/ack-credential-plugin].
    #[arg(long, value_name = "DIR")]
    pub(crate) cache_dir: Option<PathBuf>,

    /// Base URL of the ACK API [default: https://cs.{region}.aliyuncs.com or https://cs.aliyuncs.com].
    #[arg(long, value_name = "URL")]
    pub(crate) cs_endpoint: Option<String>,

    /// Base URL of the ASM API [default: https://servicemesh.aliyuncs.com].
    #[arg(long, value_name = "URL")]
    pub(crate) asm_endpoint: Option<String>,

    /// Base URL of the ACK One API [default: https://adcp.{region}.aliyuncs.com].
    #[arg(long, value_name = "URL")]
    pub(crate) adcp_endpoint: Option<String>,

    /// Base URL of STS [default: https://sts.aliyuncs.com].
    #[arg(long, value_name = "URL")]
    pub(crate) sts_endpoint: Option<String>,

    /// Log what happens on stderr (never secrets).
    #[arg(short, long)]
    pub(crate) verbose: bool,

    /// When the cached certificate is due for refresh but still valid for a while, wait for a
    /// new one instead of printing the cached one at once and refreshing it in the background.
    #[arg(long)]
    pub(crate) no_background_refresh: bool,
}

#[derive(Debug, Default, PartialEq, Eq, Args)]
pub(crate) struct GetCredentialArgs {
    #[command(flatten)]
    pub(crate) target: TargetArgs,

    /// The ExecCredential apiVersion when KUBERNETES_EXEC_INFO does not give one.
    #[arg(long, value_enum, value_name = "VERSION")]
    pub(crate) api_version: Option<ApiVersionArg>,

    /// Fetch a new certificate even if a valid one is cached.
    #[arg(long)]
    pub(crate) force_refresh: bool,

    /// Internal: the detached refresher a call inside the refresh window starts, with the
    /// key's lock handed down as stdin.
    #[arg(long, hide = true)]
    pub(crate) refresh_in_background: bool,
}

#[derive(Debug, Args)]
#[command(group = ArgGroup::new("destination").args(["output", "merge"]))]
pub(crate) struct KubeconfigArgs {
    #[command(flatten)]
    pub(crate) target: TargetArgs,

    /// The ACK cluster called NAME, found among the clusters this identity can list (in
    /// --region only, when given). Exactly one cluster may have the name; when several do,
    /// the error lists their ids and regions.
    #[arg(long, value_name = "NAME", group = "target", conflicts_with = "uid")]
    pub(crate) cluster_name: Option<String>,

    /// Every running cluster this identity can list (in --region only, when given), one
    /// context each, named after the cluster (made unique), in one write; needs --merge or
    /// --output. Running: running, updating, upgrading, scaling, removing or draining nodes.
    /// A cluster whose kubeconfig cannot be fetched (no permission, say) is listed with the
    /// API's code and left out; the others are still written. The current context is left
    /// alone.
    #[arg(
        long,
        group = "target",
        requires = "destination",
        conflicts_with_all = ["context", "set_current_context", "uid"]
    )]
    pub(crate) all: bool,

    /// Name of the context, cluster and user entries [default: the cluster or fleet or mesh
    /// id; with --cluster-name, the cluster's name].
    #[arg(long, value_name = "NAME")]
    pub(crate) context: Option<String>,

    /// Write the kubeconfig to this file (replacing it) instead of stdout.
    #[arg(long, value_name = "FILE", conflicts_with = "merge")]
    pub(crate) output: Option<PathBuf>,

    /// Merge into your kubeconfig as kubectl would: the files of $KUBECONFIG (an entry that
    /// exists is updated in the file that defines it, a new one goes into the first file that
    /// exists, or the last when none does), else ~/.kube/config. Everything else in them is
    /// kept (comments excepted, as with kubectl config), and so are their mode, owner and
    /// symlinks.
    #[arg(long)]
    pub(crate) merge: bool,

    /// With --merge: the kubeconfig file to merge into, instead of $KUBECONFIG's.
    #[arg(long, value_name = "FILE", requires = "merge")]
    pub(crate) kubeconfig: Option<PathBuf>,

    /// Make the new context the current one. Without it, --merge leaves the current context
    /// alone, unless no file sets one: then the new context becomes current, so the next
    /// kubectl command works.
    #[arg(long)]
    pub(crate) set_current_context: bool,

    /// The ExecCredential version the kubeconfig's exec entry asks for: v1 (kubectl 1.22 and
    /// later) or v1beta1 (older clients, and those that speak only v1beta1, such as pykube-ng)
    /// [default: v1].
    #[arg(long, value_enum, value_name = "VERSION")]
    pub(crate) api_version: Option<ApiVersionArg>,
}

/// Who is asking, for the list commands: the same identity flags as `get-credential`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub(crate) struct CallerArgs {
    /// Use this aliyun CLI profile (from ~/.aliyun/config.json), whatever else is configured.
    #[arg(long, value_name = "NAME")]
    pub(crate) profile: Option<String>,

    /// Assume this RAM role (acs:ram::<account>:role/<name>) with the credentials found.
    #[arg(long, value_name = "ARN")]
    pub(crate) role_arn: Option<String>,

    /// Base URL of STS [default: https://sts.aliyuncs.com].
    #[arg(long, value_name = "URL")]
    pub(crate) sts_endpoint: Option<String>,

    /// Log what happens on stderr (never secrets).
    #[arg(short, long)]
    pub(crate) verbose: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ClustersArgs {
    #[command(flatten)]
    pub(crate) caller: CallerArgs,

    /// Only the clusters in this region (it also picks the ACK API endpoint) [default: every
    /// region].
    #[arg(long, value_name = "REGION")]
    pub(crate) region: Option<String>,

    /// Base URL of the ACK API [default: https://cs.{region}.aliyuncs.com or https://cs.aliyuncs.com].
    #[arg(long, value_name = "URL")]
    pub(crate) cs_endpoint: Option<String>,

    /// Output format: a table, or JSON ({"clusters": [{"id", "name", "region", "type",
    /// "state", "version"}]}).
    #[arg(short, long, value_enum, value_name = "FORMAT", default_value = "text")]
    pub(crate) output: OutputFormat,
}

#[derive(Debug, Args)]
pub(crate) struct MeshesArgs {
    #[command(flatten)]
    pub(crate) caller: CallerArgs,

    /// Base URL of the ASM API [default: https://servicemesh.aliyuncs.com].
    #[arg(long, value_name = "URL")]
    pub(crate) asm_endpoint: Option<String>,

    /// Output format: a table, or JSON ({"meshes": [{"id", "name", "region", "state",
    /// "version", "edition"}]}).
    #[arg(short, long, value_enum, value_name = "FORMAT", default_value = "text")]
    pub(crate) output: OutputFormat,
}

#[derive(Debug, Args)]
#[command(mut_group("target", |group| group.required(false)))]
pub(crate) struct DoctorArgs {
    #[command(flatten)]
    pub(crate) target: TargetArgs,

    /// Output format: one line per check, or JSON ({"checks": [{"name", "status", "detail",
    /// "hint"}]}).
    #[arg(short, long, value_enum, value_name = "FORMAT", default_value = "text")]
    pub(crate) output: OutputFormat,
}

/// How the list commands and `doctor` print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CacheCommand {
    /// One line per cached credential: cluster, fleet or mesh, uid, identity, expiry, state.
    List(CacheArgs),
    /// Delete cached credentials: all of them, or one cluster's, fleet's or mesh's.
    Clear(CacheClearArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CacheArgs {
    /// The cache directory [default: ~/.kube/cache/ack-credential-plugin].
    #[arg(long, value_name = "DIR")]
    pub(crate) cache_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct CacheClearArgs {
    #[command(flatten)]
    pub(crate) cache: CacheArgs,

    /// Only this cluster's credentials.
    #[arg(long, value_name = "ID", conflicts_with_all = ["mesh_id", "fleet_id"])]
    pub(crate) cluster_id: Option<String>,

    /// Only this mesh's credentials.
    #[arg(long, value_name = "ID", conflicts_with = "fleet_id")]
    pub(crate) mesh_id: Option<String>,

    /// Only this fleet's credentials.
    #[arg(long, value_name = "ID")]
    pub(crate) fleet_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ApiVersionArg {
    V1,
    V1beta1,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    /// The fast path in `main` parses `get-credential` with [`get_credential_command`]; it must
    /// accept exactly what the full tree's subcommand accepts and print the same help.
    #[test]
    fn the_lone_get_credential_command_matches_the_tree() {
        let mut tree = Cli::command();
        tree.build();
        let mut from_tree = tree.find_subcommand_mut(GET_CREDENTIAL).unwrap().clone();
        let mut alone = get_credential_command();
        alone.build();
        let ids = |c: &clap::Command| {
            c.get_arguments()
                .map(|a| a.get_id().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&from_tree), ids(&alone));
        assert_eq!(
            from_tree.render_long_help().to_string(),
            alone.render_long_help().to_string()
        );
    }

    #[test]
    fn target_is_one_cluster_fleet_or_mesh() {
        let parse = |args: &[&str]| {
            let mut argv = vec!["ack-credential-plugin", "get-credential"];
            argv.extend_from_slice(args);
            Cli::try_parse_from(argv)
        };
        assert!(parse(&["--cluster-id", "c1"]).is_ok());
        assert!(parse(&["--mesh-id", "m1", "--private-ip"]).is_ok());
        assert!(parse(&[]).is_err());
        assert!(parse(&["--cluster-id", "c1", "--mesh-id", "m1"]).is_err());
        assert!(parse(&["--mesh-id", "m1", "--uid", "1"]).is_err());
        assert!(parse(&["--mesh-id", "m1", "--expiration", "3h"]).is_err());
        assert!(parse(&["--uid", "1"]).is_err());
        assert!(parse(&["--fleet-id", "f1", "--private-ip"]).is_ok());
        assert!(parse(&["--fleet-id", "f1", "--cluster-id", "c1"]).is_err());
        assert!(parse(&["--fleet-id", "f1", "--mesh-id", "m1"]).is_err());
        assert!(parse(&["--fleet-id", "f1", "--uid", "1"]).is_err());
        assert!(parse(&["--fleet-id", "f1", "--expiration", "3h"]).is_err());
        assert!(
            parse(&["--cluster-name", "prod"]).is_err(),
            "kubeconfig only"
        );
        assert!(parse(&["--all"]).is_err(), "kubeconfig only");
    }

    #[test]
    fn kubeconfig_takes_one_target_and_all_needs_a_file() {
        let parse = |args: &[&str]| {
            let mut argv = vec!["ack-credential-plugin", "kubeconfig"];
            argv.extend_from_slice(args);
            Cli::try_parse_from(argv)
        };
        assert!(parse(&["--cluster-name", "prod"]).is_ok());
        assert!(parse(&["--cluster-name", "prod", "--cluster-id", "c1"]).is_err());
        assert!(parse(&["--cluster-name", "prod", "--uid", "1"]).is_err());
        assert!(parse(&["--all", "--merge"]).is_ok());
        assert!(parse(&["--all", "--output", "f"]).is_ok());
        assert!(
            parse(&["--all"]).is_err(),
            "--all writes no single document to stdout"
        );
        assert!(parse(&["--all", "--merge", "--cluster-name", "prod"]).is_err());
        assert!(parse(&["--all", "--merge", "--context", "x"]).is_err());
        assert!(parse(&["--all", "--merge", "--set-current-context"]).is_err());
        assert!(
            parse(&[
                "--all",
                "--merge",
                "--region",
                "cn-beijing",
                "--expiration",
                "1h"
            ])
            .is_ok()
        );
        assert!(parse(&["--merge"]).is_err(), "a target is needed");
    }
}
