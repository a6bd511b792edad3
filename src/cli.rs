//! The command line as clap sees it: raw user input, no I/O. `config` turns it into settings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "ack-credential-plugin",
    version,
    about = "kubectl exec credential plugin for Alibaba Cloud ACK clusters",
    long_about = "kubectl exec credential plugin for Alibaba Cloud Container Service for \
                  Kubernetes (ACK).\n\nkubectl runs `get-credential` from a kubeconfig `exec` \
                  entry; it prints an ExecCredential with a short-lived client certificate, \
                  cached on disk and renewed before it expires."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print an ExecCredential for a cluster (what kubectl runs).
    #[command(after_help = GET_CREDENTIAL_AFTER_HELP)]
    GetCredential(GetCredentialArgs),
}

const GET_CREDENTIAL_AFTER_HELP: &str = "\
Credentials, first found wins (--profile forces the aliyun CLI profile):
  1. ALIBABA_CLOUD_ACCESS_KEY_ID + ALIBABA_CLOUD_ACCESS_KEY_SECRET (+ ALIBABA_CLOUD_SECURITY_TOKEN)
  2. RRSA: ALIBABA_CLOUD_ROLE_ARN + ALIBABA_CLOUD_OIDC_PROVIDER_ARN + ALIBABA_CLOUD_OIDC_TOKEN_FILE
  3. the aliyun CLI profile (ALIBABA_CLOUD_CONFIG_FILE, ALIBABA_CLOUD_PROFILE, else `current`)
  4. ~/.alibabacloud/credentials (ALIBABA_CLOUD_CREDENTIALS_FILE, section ALIBABA_CLOUD_PROFILE)
  5. the ECS instance RAM role (ALIBABA_CLOUD_ECS_METADATA, ALIBABA_CLOUD_ECS_METADATA_DISABLED)
  6. ALIBABA_CLOUD_CREDENTIALS_URI

Environment:
  ACK_CS_ENDPOINT        same as --cs-endpoint
  ACK_STS_ENDPOINT       same as --sts-endpoint (else ALIBABA_CLOUD_STS_REGION picks one)
  ACK_ECS_METADATA_ENDPOINT  the ECS metadata service (default http://100.100.100.200)
  ALIBABA_CLOUD_REGION_ID  same as --region
  ACK_CACHE_DIR          same as --cache-dir
  KUBECACHEDIR           cache in $KUBECACHEDIR/ack-credential-plugin (default ~/.kube/cache)
  ACK_API_TIMEOUT        seconds one API call may take, retries included (default 30)
  ACK_LOCK_TIMEOUT       seconds to wait for another process fetching the same credential (default 45)
  KUBERNETES_EXEC_INFO   set by kubectl; its apiVersion is the one printed";

#[derive(Debug, Args)]
pub struct GetCredentialArgs {
    /// The ACK cluster id.
    #[arg(long, value_name = "ID")]
    pub cluster_id: String,

    /// Fetch the kubeconfig of this RAM user (its numeric uid) instead of the caller's.
    /// Only a main account may do this.
    #[arg(long, value_name = "UID")]
    pub uid: Option<String>,

    /// Use the cluster's private (VPC) API server address.
    #[arg(long)]
    pub private_ip: bool,

    /// Lifetime of the certificate to ask for: 15m to 72h, as `90m`, `3h` or `2d`.
    #[arg(long, value_name = "DURATION", default_value = "3h")]
    pub expiration: String,

    /// The ExecCredential apiVersion when KUBERNETES_EXEC_INFO does not give one.
    #[arg(long, value_enum, value_name = "VERSION")]
    pub api_version: Option<ApiVersionArg>,

    /// Fetch a new certificate even if a valid one is cached.
    #[arg(long)]
    pub force_refresh: bool,

    /// Where to cache certificates [default: ~/.kube/cache/ack-credential-plugin].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Base URL of the ACK API [default: https://cs.{region}.aliyuncs.com or https://cs.aliyuncs.com].
    #[arg(long, value_name = "URL")]
    pub cs_endpoint: Option<String>,

    /// Region of the cluster, which picks the ACK API endpoint (e.g. cn-hangzhou).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Use this aliyun CLI profile (from ~/.aliyun/config.json), whatever else is configured.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Assume this RAM role (acs:ram::<account>:role/<name>) with the credentials found.
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,

    /// Base URL of STS [default: https://sts.aliyuncs.com].
    #[arg(long, value_name = "URL")]
    pub sts_endpoint: Option<String>,

    /// Log what happens on stderr (never secrets).
    #[arg(short, long)]
    pub verbose: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApiVersionArg {
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
}
