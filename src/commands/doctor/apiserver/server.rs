//! Where the API server is and how it is reached, as kubectl would reach it: the kubeconfig
//! context's cluster (its server, CA, `insecure-skip-tls-verify`, `tls-server-name`,
//! `proxy-url`), or the server the API's own kubeconfig names.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::NAME;
use crate::apiserver::Server;
use crate::commands::doctor::{Check, Status};
use crate::commands::request::Fetched;
use crate::config::Target;
use crate::kubeconfig::contexts::{Authority, ClusterEntry};

/// What to do when the server's certificate is not for the name it was verified for.
pub(super) fn wrong_name_hint(server: &Found, cluster: &ClusterEntry, target: &Target) -> String {
    match &server.tls_server_name {
        Some(name) => format!(
            "the server's certificate is not for `{name}`, the tls-server-name of cluster `{0}` \
             in the kubeconfig: correct it (`kubectl config set clusters.{0}.tls-server-name \
             NAME`) or remove it (`kubectl config unset clusters.{0}.tls-server-name`)",
            cluster.name
        ),
        None => format!(
            "the server's certificate does not name the host of {} (the message lists the names \
             it holds): if you reach the server by another name (a tunnel, a load balancer), set \
             one it holds (`kubectl config set clusters.{}.tls-server-name NAME`); if the \
             cluster's address changed, run {}",
            server.url,
            cluster.name,
            crate::commands::doctor::merge_command(target)
        ),
    }
}

/// What the kubeconfig changes about how the server is reached, as notes for the detail; a
/// skip when it is through a proxy doctor does not speak (SOCKS), a failure when its proxy is
/// one kubectl refuses too.
pub(super) fn how_reached(reached: &Found) -> Result<Vec<String>, Check> {
    let mut found = Vec::new();
    if reached.insecure {
        found.push("the kubeconfig turns off verification of the server's certificate".into());
    } else if let Some(name) = &reached.tls_server_name {
        found.push(format!(
            "verifying its certificate for `{name}`, the kubeconfig's tls-server-name"
        ));
    }
    if let Some(proxy) = &reached.proxy_url {
        // client-go takes these three schemes (in any case) and refuses the kubeconfig for
        // any other.
        let url = reqwest::Url::parse(proxy).ok();
        match url.as_ref().map(reqwest::Url::scheme) {
            Some("http" | "https") => {}
            Some("socks5") => {
                return Err(Check::new(
                    NAME,
                    Status::Skip,
                    format!(
                        "the kubeconfig reaches {} through a SOCKS proxy (its proxy-url), which \
                         doctor does not speak; kubectl does",
                        reached.url
                    ),
                )
                .hint("ask the server with kubectl itself: `kubectl auth whoami`"));
            }
            _ => {
                return Err(Check::new(
                    NAME,
                    Status::Fail,
                    format!(
                        "the kubeconfig's proxy-url for {} is not an http, https or socks5 URL: \
                         kubectl refuses it too",
                        reached.url
                    ),
                ));
            }
        }
        found.push(format!(
            "through the kubeconfig's proxy-url ({})",
            proxy_address(proxy)
        ));
    }
    Ok(found)
}

/// `http://host:port` of a proxy URL: never its user or password.
fn proxy_address(proxy: &str) -> String {
    match reqwest::Url::parse(proxy) {
        Ok(url) => format!(
            "{}://{}{}",
            url.scheme(),
            url.host_str().unwrap_or(""),
            url.port().map(|p| format!(":{p}")).unwrap_or_default()
        ),
        Err(_) => "not a URL".to_string(),
    }
}

/// The API server to ask, and what its certificate must chain to.
pub(super) struct Found {
    pub(super) url: String,
    pub(super) authority: Option<Vec<u8>>,
    pub(super) insecure: bool,
    pub(super) tls_server_name: Option<String>,
    pub(super) proxy_url: Option<String>,
}

impl Found {
    /// The server as the client asks it, borrowed from what was found.
    pub(super) fn as_server(&self) -> Server<'_> {
        Server {
            url: &self.url,
            authority: self.authority.as_deref(),
            insecure: self.insecure,
            tls_server_name: self.tls_server_name.as_deref(),
            proxy_url: self.proxy_url.as_deref(),
        }
    }
}

/// The server of the kubeconfig context's cluster, as kubectl would use it.
pub(super) fn from_context(cluster: &ClusterEntry) -> Result<Found, Check> {
    let authority = match &cluster.authority {
        Some(Authority::Data(pem)) => Some(pem.clone()),
        Some(Authority::File(path)) => Some(std::fs::read(path).map_err(|e| {
            Check::new(
                NAME,
                Status::Fail,
                format!(
                    "cannot read the cluster's CA file {} (certificate-authority of cluster \
                     `{}`): {e}",
                    path.display(),
                    cluster.name
                ),
            )
        })?),
        None => None,
    };
    Ok(Found {
        url: cluster.server.clone(),
        authority,
        insecure: cluster.insecure_skip_tls_verify,
        tls_server_name: cluster.tls_server_name.clone(),
        proxy_url: cluster.proxy_url.clone(),
    })
}

/// The server of the kubeconfig the API returned.
pub(super) fn from_api(fetched: &Fetched) -> Result<Found, Check> {
    let cluster = fetched
        .kubeconfig
        .current_cluster()
        .ok_or_else(|| Check::new(NAME, Status::Fail, "the API's kubeconfig names no cluster"))?;
    Ok(Found {
        url: cluster.server.clone(),
        authority: cluster
            .certificate_authority_data
            .as_deref()
            .and_then(|data| BASE64.decode(data.trim()).ok()),
        insecure: false,
        tls_server_name: None,
        proxy_url: None,
    })
}
