//! Container Service for Kubernetes (cs, API version 2015-12-15): the user kubeconfig calls, and
//! the list of clusters (`DescribeClustersV1`, every page).

use serde::Serialize;

use super::IssuedKubeconfig;
use super::access_key::Credentials;
use super::answer::{Reading, text};
use super::client::Client;
use super::endpoint;
use super::hints;
use super::request::RoaRequest;
use crate::error::Error;

const VERSION: &str = "2015-12-15";

/// The cs endpoint of a region (its VPC endpoint with `vpc`), else the central one.
pub(crate) fn endpoint(region: Option<&str>, vpc: bool) -> Result<String, Error> {
    match region {
        Some(region) => endpoint::regional("cs", region, vpc).map_err(Error::Usage),
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
        .map_err(|e| hints::with_hint(e, |api| cs_hint(request, api.status, &api.code)))?;
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
        Some(("expiration", crate::time::parse_rfc3339)),
    )
}

/// The API that lists the clusters an identity can see.
pub(crate) use super::actions::LIST_CLUSTERS as LIST_ACTION;

/// The clusters asked for in one page. The API pages whatever it is asked, and may answer
/// fewer than asked: the listing ends by `page_info.total_count`, not by a short page.
const PAGE_SIZE: usize = 100;
/// The most pages read: a listing that does not end by then is a broken answer, not an account
/// with 100,000 clusters.
const MAX_PAGES: usize = 1000;

/// The states in which a cluster's API server serves: running, and changing while it runs
/// (updating, upgrading, scaling, nodes being removed or drained). Every other state
/// (`initial`, `failed`, `inactive`, `unavailable`, `waiting` and `disconnected` for a
/// registered cluster, `deleting`, `deleted`, `delete_failed`, `stopped`, or one not known
/// here) is not running.
const SERVING_STATES: [&str; 6] = [
    "running",
    "updating",
    "upgrading",
    "scaling",
    "removing",
    "draining",
];

/// A cluster as `DescribeClustersV1` lists it. Text fields the answer leaves out are empty.
/// Serialised as `clusters -o json` prints it: the fields in README's order, this order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ClusterSummary {
    /// `cluster_id`.
    pub(crate) id: String,
    pub(crate) name: String,
    /// `region_id`.
    pub(crate) region: String,
    /// `cluster_type`: `ManagedKubernetes`, `Kubernetes`, `ExternalKubernetes`, `Ask`...
    #[serde(rename = "type")]
    pub(crate) cluster_type: String,
    pub(crate) state: String,
    /// `current_version`.
    pub(crate) version: String,
}

impl ClusterSummary {
    /// Whether the cluster's API server serves ([`SERVING_STATES`]).
    pub(crate) fn is_running(&self) -> bool {
        SERVING_STATES.contains(&self.state.as_str())
    }
}

/// `DescribeClustersV1` (`GET /api/v1/clusters`), every page: the clusters the caller can see,
/// in every region, or in `region` only.
pub(crate) fn describe_clusters(
    client: &Client,
    endpoint: &str,
    credentials: &Credentials,
    region: Option<&str>,
) -> Result<Vec<ClusterSummary>, Error> {
    let mut clusters: Vec<ClusterSummary> = Vec::new();
    for page_number in 1..=MAX_PAGES {
        let mut query = vec![
            ("page_size", PAGE_SIZE.to_string()),
            ("page_number", page_number.to_string()),
        ];
        if let Some(region) = region {
            query.push(("region_id", region.to_string()));
        }
        let roa = RoaRequest {
            action: LIST_ACTION,
            version: VERSION,
            target: match region {
                Some(region) => format!("the clusters in {region}"),
                None => "the clusters".to_string(),
            },
            path: "/api/v1/clusters".to_string(),
            query,
        };
        let answer = client.roa(endpoint, credentials, &roa)?;
        let page = parse_clusters_page(&answer.body, answer.request_id.as_deref())?;
        let got = page.clusters.len();
        // A cluster created while the pages are read can shift one into the next page twice.
        for cluster in page.clusters {
            if !clusters.iter().any(|c| c.id == cluster.id) {
                clusters.push(cluster);
            }
        }
        let done = match page.total_count {
            Some(total) => got == 0 || clusters.len() >= total,
            None => got < PAGE_SIZE,
        };
        if done {
            return Ok(clusters);
        }
    }
    Err(Error::BadResponse {
        action: LIST_ACTION,
        request_id: None,
        detail: format!("the list of clusters did not end after {MAX_PAGES} pages"),
    })
}

/// One page of `DescribeClustersV1`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ClustersPage {
    pub(crate) clusters: Vec<ClusterSummary>,
    /// `page_info.total_count`: how many clusters the listing holds in all.
    pub(crate) total_count: Option<usize>,
}

/// `{"clusters": [{"cluster_id", "name", "region_id", "cluster_type", "state",
/// "current_version", ...}], "page_info": {"page_number", "page_size", "total_count"}}`.
pub(crate) fn parse_clusters_page(
    body: &[u8],
    request_id: Option<&str>,
) -> Result<ClustersPage, Error> {
    let reading = Reading {
        action: LIST_ACTION,
        request_id,
    };
    let body = reading.json(body)?;
    let list = reading.list(&body, "clusters")?;
    let mut clusters = Vec::with_capacity(list.len());
    for item in list {
        let id = text(item, "cluster_id");
        if id.is_empty() {
            return Err(reading.bad("a cluster in the list has no `cluster_id`"));
        }
        clusters.push(ClusterSummary {
            id,
            name: text(item, "name"),
            region: text(item, "region_id"),
            cluster_type: text(item, "cluster_type"),
            state: text(item, "state"),
            version: text(item, "current_version"),
        });
    }
    let total_count = body
        .get("page_info")
        .and_then(|info| info.get("total_count"))
        .and_then(serde_json::Value::as_u64)
        .and_then(|n| usize::try_from(n).ok());
    Ok(ClustersPage {
        clusters,
        total_count,
    })
}

/// Hints for the cs answers a user is most likely to meet.
fn cs_hint(request: &UserKubeconfigRequest, status: u16, code: &str) -> Option<String> {
    if code == "ErrorClusterNotFound" || (status == 404 && code.contains("Cluster")) {
        return Some(format!(
            "check the cluster id `{}`: the cluster must exist in the account of these \
             credentials (`ack-credential-plugin clusters` lists them)",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_of_clusters_reads_the_documented_fields() {
        let body = br#"{"clusters":[
            {"cluster_id":"c1","name":"prod","region_id":"cn-hangzhou","cluster_type":"ManagedKubernetes",
             "state":"running","current_version":"1.33.1-aliyun.1","size":5,"tags":[]},
            {"cluster_id":"c2","state":"deleting"}],
            "page_info":{"page_number":1,"page_size":100,"total_count":7}}"#;
        let page = parse_clusters_page(body, Some("R1")).unwrap();
        assert_eq!(page.total_count, Some(7));
        assert_eq!(
            page.clusters[0],
            ClusterSummary {
                id: "c1".into(),
                name: "prod".into(),
                region: "cn-hangzhou".into(),
                cluster_type: "ManagedKubernetes".into(),
                state: "running".into(),
                version: "1.33.1-aliyun.1".into(),
            }
        );
        assert_eq!(page.clusters[1].name, "");
        assert!(page.clusters[0].is_running() && !page.clusters[1].is_running());
        let empty = parse_clusters_page(br#"{"clusters":null}"#, None).unwrap();
        assert_eq!(
            empty,
            ClustersPage {
                clusters: vec![],
                total_count: None
            }
        );
        for bad in [
            &b"<html>"[..],
            br#"{"clusters":{}}"#,
            br#"{"clusters":[{"name":"x"}]}"#,
        ] {
            assert!(parse_clusters_page(bad, None).is_err());
        }
    }

    #[test]
    fn running_means_the_api_server_serves() {
        let with_state = |state: &str| ClusterSummary {
            id: "c".into(),
            name: String::new(),
            region: String::new(),
            cluster_type: String::new(),
            state: state.into(),
            version: String::new(),
        };
        for state in [
            "running",
            "updating",
            "upgrading",
            "scaling",
            "removing",
            "draining",
        ] {
            assert!(with_state(state).is_running(), "{state}");
        }
        for state in [
            "initial",
            "failed",
            "inactive",
            "unavailable",
            "waiting",
            "disconnected",
            "deleting",
            "deleted",
            "delete_failed",
            "stopped",
            "",
            "Running",
        ] {
            assert!(!with_state(state).is_running(), "{state}");
        }
    }
}
