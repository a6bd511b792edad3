//! Container Service for Kubernetes (cs, API version 2015-12-15): the user kubeconfig calls.

use super::IssuedKubeconfig;
use super::access_key::Credentials;
use super::client::Client;
use super::endpoint;
use super::request::RoaRequest;
use crate::error::Error;

const VERSION: &str = "2015-12-15";

/// The cs endpoint of a region, else the central one.
pub(crate) fn endpoint(region: Option<&str>) -> Result<String, Error> {
    match region {
        Some(region) => {
            endpoint::validate_region(region).map_err(Error::Usage)?;
            Ok(format!("https://cs.{region}.aliyuncs.com"))
        }
        None => Ok("https://cs.aliyuncs.com".to_string()),
    }
}

/// What to ask for: a user kubeconfig of a cluster, the caller's own or (with `uid`, main
/// account only) a RAM user's.
pub(crate) struct UserKubeconfigRequest<'a> {
    pub(crate) cluster_id: &'a str,
    pub(crate) uid: Option<&'a str>,
    pub(crate) private_ip: bool,
    /// `TemporaryDurationMinutes`, 15..=4320. Left out, the API would hand back a certificate
    /// valid for years, so the plugin always sends it.
    pub(crate) minutes: u32,
}

impl UserKubeconfigRequest<'_> {
    pub(crate) fn action(&self) -> &'static str {
        action(self.uid.is_some())
    }
}

/// The API that issues a cluster's user kubeconfig: the caller's own, or a RAM user's.
pub(crate) fn action(for_another_user: bool) -> &'static str {
    if for_another_user {
        "DescribeSubaccountK8sClusterUserConfig"
    } else {
        "DescribeClusterUserKubeconfig"
    }
}

/// `DescribeClusterUserKubeconfig` (`GET /k8s/{ClusterId}/user_config`) or, with a uid,
/// `DescribeSubaccountK8sClusterUserConfig` (`GET /k8s/{ClusterId}/users/{Uid}/user_config`).
pub(crate) fn describe_user_kubeconfig(
    client: &Client,
    endpoint: &str,
    credentials: &Credentials,
    request: &UserKubeconfigRequest,
) -> Result<IssuedKubeconfig, Error> {
    let action = request.action();
    let (path, target) = match request.uid {
        None => (
            format!("/k8s/{}/user_config", request.cluster_id),
            format!("cluster {}", request.cluster_id),
        ),
        Some(uid) => (
            format!("/k8s/{}/users/{uid}/user_config", request.cluster_id),
            format!("cluster {} and uid {uid}", request.cluster_id),
        ),
    };
    let roa = RoaRequest {
        action,
        version: VERSION,
        target,
        path,
        query: vec![
            ("PrivateIpAddress", request.private_ip.to_string()),
            ("TemporaryDurationMinutes", request.minutes.to_string()),
        ],
    };
    let answer = client
        .roa(endpoint, credentials, &roa)
        .map_err(|error| match error {
            Error::Api(mut api) => {
                if let Some(hint) = cs_hint(request, api.status, &api.code) {
                    api.hint = Some(hint);
                }
                Error::Api(api)
            }
            other => other,
        })?;
    parse_answer(action, &answer.body, answer.request_id.as_deref())
}

/// `{"config": "<kubeconfig YAML>", "expiration": "<RFC 3339>"}`.
pub(crate) fn parse_answer(
    action: &'static str,
    body: &[u8],
    request_id: Option<&str>,
) -> Result<IssuedKubeconfig, Error> {
    IssuedKubeconfig::from_answer(
        action,
        body,
        request_id,
        "config",
        "expiration",
        crate::time::parse_rfc3339,
    )
}

/// Hints for the cs answers a user is most likely to meet.
fn cs_hint(request: &UserKubeconfigRequest, status: u16, code: &str) -> Option<String> {
    if code == "ErrorClusterNotFound" || (status == 404 && code.contains("Cluster")) {
        return Some(format!(
            "check the cluster id `{}`: the cluster must exist in the account of these \
             credentials (`aliyun cs GET /clusters` lists them)",
            request.cluster_id
        ));
    }
    match request.uid {
        Some(uid) if status == 403 || code.starts_with("Forbidden") => Some(format!(
            "only the main (root) account may fetch another user's kubeconfig with --uid; \
             drop --uid {uid} to get your own, or use the main account's AccessKey"
        )),
        Some(uid) if status == 404 => Some(format!(
            "check the uid {uid}: it must be a RAM user of this account"
        )),
        _ => None,
    }
}
