//! The Container Service (cs) API: `DescribeClusterUserKubeconfig` and
//! `DescribeSubaccountK8sClusterUserConfig` (ROA, `GET /k8s/{ClusterId}[/users/{Uid}]/user_config`),
//! `DescribeClustersV1` (`GET /api/v1/clusters`, paged), the clusters it knows (id, name,
//! region, type, state, version) and who may fetch their kubeconfig or list them. It takes every
//! request no other service claims.
//!
//! (Over 400 lines: the clusters' state, the three actions that read it and the paging of the
//! list are one service; split, each part would reach into the others.)

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::json;

use super::certs::{client_user, render_kubeconfig, validity};
use super::fault::{Fault, NOT_JSON_BODY};
use super::http::{CONTENT_TYPE_JSON, HttpRequest, Reply};
use super::kubeconfig_api::{BROKEN_YAML, Target, private_ip_param};
use super::log::{Issued, Outcome};
use super::roa::{authenticate, gateway_error};
use super::state::Shared;
use super::{Exchange, FakeCloud, Principal, Route, Service};

/// The cs API version the fake serves.
pub const CS_API_VERSION: &str = "2015-12-15";
/// `x-acs-action` for `GET /k8s/{ClusterId}/user_config`.
pub const ACTION_USER_CONFIG: &str = "DescribeClusterUserKubeconfig";
/// `x-acs-action` for `GET /k8s/{ClusterId}/users/{Uid}/user_config`.
pub const ACTION_SUBACCOUNT_USER_CONFIG: &str = "DescribeSubaccountK8sClusterUserConfig";
/// `x-acs-action` for `GET /api/v1/clusters`.
pub const ACTION_DESCRIBE_CLUSTERS: &str = "DescribeClustersV1";
/// The page size `DescribeClustersV1` answers when asked for none (as the API documents it).
pub const DEFAULT_CLUSTER_PAGE_SIZE: usize = 10;
/// The most clusters one page holds, whatever `page_size` asks, unless
/// [`FakeCloud::set_cluster_page_cap`] says otherwise.
pub const CLUSTER_PAGE_CAP: usize = 100;
/// What a cluster registered without [`FakeCloud::set_cluster_info`] is listed with: its name is
/// `cluster-` and the first 8 characters of its id.
pub const DEFAULT_CLUSTER_REGION: &str = "cn-hangzhou";
pub const DEFAULT_CLUSTER_TYPE: &str = "ManagedKubernetes";
pub const DEFAULT_CLUSTER_STATE: &str = "running";
pub const DEFAULT_CLUSTER_VERSION: &str = "1.33.1-aliyun.1";
/// Lifetime of a certificate when the request leaves `TemporaryDurationMinutes` out (the real
/// API then returns a certificate valid for years).
pub const LONG_LIVED_CERT: Duration = Duration::from_secs(3 * 365 * 24 * 3600);

/// The `server` of a cluster registered with [`FakeCloud::add_cluster_with_defaults`]: a closed
/// loopback port, since kubectl (the Cloud SDK dispatcher on PATH asks the current context's server
/// for its version) must never reach anything off the machine.
pub const DEFAULT_CLUSTER_PUBLIC_SERVER: &str = "https://127.0.0.10:1";
/// The private `server` of such a cluster (with `PrivateIpAddress=true`).
pub const DEFAULT_CLUSTER_PRIVATE_SERVER: &str = "https://127.0.1.10:1";

impl Service {
    /// The Container Service API (ROA): every request no other service claims.
    pub const CS: Service = Service("cs");
}

pub(super) const ROUTE: Route = Route {
    service: Service::CS,
    claims: |_| true,
    identify: |request| {
        (
            request.header("x-acs-action").map(str::to_string),
            request.access_key_id().map(str::to_string),
        )
    },
    answer: |shared, exchange, fault| match answer(shared, exchange, fault) {
        Ok(reply) | Err(reply) => reply,
    },
};

struct Cluster {
    target: Target,
    token: Option<String>,
    name: String,
    region: String,
    kind: String,
    state: String,
    version: String,
}

/// The clusters the cs API knows, in the order they were registered (the order they are
/// listed in), and how the listing pages.
#[derive(Default)]
pub(super) struct Clusters {
    by_id: HashMap<String, Cluster>,
    order: Vec<String>,
    /// None: [`CLUSTER_PAGE_CAP`].
    page_cap: Option<usize>,
    /// uids refused `DescribeClustersV1` (no `cs:GetClusters`).
    list_denied: HashSet<String>,
}

impl FakeCloud {
    /// Registers a cluster whose kubeconfig carries a client certificate.
    pub fn add_cluster(&self, id: &str, public_server: &str, private_server: &str, ca_pem: &str) {
        self.insert_cluster(id, public_server, private_server, ca_pem, None);
    }

    /// Registers a cluster with documentation-range server URLs and the fake's cluster CA.
    pub fn add_cluster_with_defaults(&self, id: &str) {
        let ca = self.cluster_ca_pem();
        self.add_cluster(
            id,
            DEFAULT_CLUSTER_PUBLIC_SERVER,
            DEFAULT_CLUSTER_PRIVATE_SERVER,
            &ca,
        );
    }

    /// Registers a cluster whose kubeconfig user carries `token` instead of a certificate.
    pub fn add_token_cluster(&self, id: &str, token: &str) {
        let ca = self.cluster_ca_pem();
        self.insert_cluster(
            id,
            DEFAULT_CLUSTER_PUBLIC_SERVER,
            DEFAULT_CLUSTER_PRIVATE_SERVER,
            &ca,
            Some(token),
        );
    }

    fn insert_cluster(
        &self,
        id: &str,
        public_server: &str,
        private_server: &str,
        ca_pem: &str,
        token: Option<&str>,
    ) {
        let mut state = self.shared.lock();
        if let Some(token) = token {
            state.cluster_credentials.push(token.to_string());
        }
        let clusters = &mut state.clusters;
        if !clusters.by_id.contains_key(id) {
            clusters.order.push(id.to_string());
        }
        clusters.by_id.insert(
            id.to_string(),
            Cluster {
                target: Target::new(public_server, private_server, ca_pem),
                token: token.map(str::to_string),
                name: format!("cluster-{}", id.chars().take(8).collect::<String>()),
                region: DEFAULT_CLUSTER_REGION.to_string(),
                kind: DEFAULT_CLUSTER_TYPE.to_string(),
                state: DEFAULT_CLUSTER_STATE.to_string(),
                version: DEFAULT_CLUSTER_VERSION.to_string(),
            },
        );
    }

    /// Sets what `DescribeClustersV1` lists for a registered cluster: its name, region and
    /// state (`running`, `deleting`...). Panics if the cluster is unknown.
    pub fn set_cluster_info(&self, id: &str, name: &str, region: &str, state: &str) {
        let mut guard = self.shared.lock();
        let cluster = guard
            .clusters
            .by_id
            .get_mut(id)
            .unwrap_or_else(|| panic!("set_cluster_info: unknown cluster {id}"));
        cluster.name = name.to_string();
        cluster.region = region.to_string();
        cluster.state = state.to_string();
    }

    /// Registers a cluster with the defaults of [`FakeCloud::add_cluster_with_defaults`] and
    /// lists it with this name, region and state.
    pub fn add_listed_cluster(&self, id: &str, name: &str, region: &str, state: &str) {
        self.add_cluster_with_defaults(id);
        self.set_cluster_info(id, name, region, state);
    }

    /// The most clusters one page of `DescribeClustersV1` holds, whatever `page_size` asks
    /// (default [`CLUSTER_PAGE_CAP`]): a client must page by `page_info.total_count`.
    pub fn set_cluster_page_cap(&self, cap: usize) {
        self.shared.lock().clusters.page_cap = Some(cap);
    }

    /// Refuses `DescribeClustersV1` to `principal` (403 `Forbidden.RAM`), as for a RAM
    /// identity without `cs:GetClusters`.
    pub fn deny_cluster_listing(&self, principal: &Principal) {
        self.shared
            .lock()
            .clusters
            .list_denied
            .insert(principal.uid.clone());
    }

    /// Restricts who may fetch the cluster's kubeconfig: from now on only the principals named
    /// by calls of this function; others get the gateway's 403 `Forbidden.RAM`, as a RAM
    /// identity without `cs:DescribeClusterUserKubeconfig` does. Panics if the cluster is unknown.
    pub fn allow_cluster(&self, id: &str, principal: &Principal) {
        self.shared
            .lock()
            .clusters
            .by_id
            .get_mut(id)
            .unwrap_or_else(|| panic!("allow_cluster: unknown cluster {id}"))
            .target
            .allow(&principal.uid);
    }
}

/// A cs business error: `{"code", "message", "requestId", "status"}`.
fn cs_error(status: u16, request_id: &str, code: &str, message: &str) -> Reply {
    Reply::json(
        status,
        json!({
            "code": code,
            "message": message,
            "requestId": request_id,
            "status": status,
        }),
        Outcome::Rejected(code.to_string()),
    )
}

/// A routed cs call.
enum Call {
    /// A user kubeconfig: the caller's own, or (with `uid`) a RAM user's.
    UserConfig {
        cluster_id: String,
        uid: Option<String>,
    },
    /// `DescribeClustersV1`.
    ListClusters,
}

/// The user kubeconfig asked for.
struct UserConfigCall {
    cluster_id: String,
    uid: Option<String>,
}

/// `DescribeClustersV1`: one page (`page_number` from 1, `page_size` up to the page cap) of the
/// clusters, in `region_id` only when given, with `page_info`. Refused with 403
/// `Forbidden.RAM` to a principal denied the listing.
fn list_clusters(
    shared: &Shared,
    request: &HttpRequest,
    request_id: &str,
    caller: &Principal,
) -> Result<Reply, Reply> {
    let number = |name: &str, default: usize| match request.query_param(name) {
        None => Ok(default),
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(cs_error(
                400,
                request_id,
                "InvalidParameter",
                &format!("{name} must be a positive integer, got {raw:?}"),
            )),
        },
    };
    let page_number = number("page_number", 1)?;
    let asked = number("page_size", DEFAULT_CLUSTER_PAGE_SIZE)?;
    let region = request.query_param("region_id").filter(|r| !r.is_empty());
    let state = shared.lock();
    let clusters = &state.clusters;
    if clusters.list_denied.contains(&caller.uid) {
        return Err(gateway_error(
            403,
            request_id,
            "Forbidden.RAM",
            "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
        ));
    }
    let page_size = asked.min(clusters.page_cap.unwrap_or(CLUSTER_PAGE_CAP));
    let listed: Vec<(&String, &Cluster)> = clusters
        .order
        .iter()
        .map(|id| (id, &clusters.by_id[id]))
        .filter(|(_, c)| region.is_none_or(|r| c.region == r))
        .collect();
    let page: Vec<serde_json::Value> = listed
        .iter()
        .skip((page_number - 1).saturating_mul(page_size))
        .take(page_size)
        .map(|(id, c)| {
            json!({
                "cluster_id": id,
                "name": c.name,
                "region_id": c.region,
                "cluster_type": c.kind,
                "state": c.state,
                "current_version": c.version,
                "cluster_spec": "ack.pro.small",
                "size": 3,
                "created": "2025-04-07T09:57:26+08:00",
                "tags": [],
            })
        })
        .collect();
    let body = json!({
        "clusters": page,
        "page_info": {
            "page_number": page_number,
            "page_size": page_size,
            "total_count": listed.len(),
        },
    });
    Ok(Reply::json(200, body, Outcome::Listed))
}

fn route_call(request: &HttpRequest, request_id: &str) -> Result<Call, Reply> {
    let segments: Vec<&str> = request.path.split('/').collect();
    let (call, expected_action) = match segments.as_slice() {
        ["", "k8s", cluster, "user_config"] => (
            Call::UserConfig {
                cluster_id: cluster.to_string(),
                uid: None,
            },
            ACTION_USER_CONFIG,
        ),
        ["", "k8s", cluster, "users", uid, "user_config"] => (
            Call::UserConfig {
                cluster_id: cluster.to_string(),
                uid: Some(uid.to_string()),
            },
            ACTION_SUBACCOUNT_USER_CONFIG,
        ),
        ["", "api", "v1", "clusters"] => (Call::ListClusters, ACTION_DESCRIBE_CLUSTERS),
        _ => {
            return Err(gateway_error(
                404,
                request_id,
                "InvalidAction.NotFound",
                &format!(
                    "Specified api is not found, please check your url and method: {} {}",
                    request.method, request.path
                ),
            ));
        }
    };
    if request.method != "GET" {
        return Err(gateway_error(
            404,
            request_id,
            "InvalidAction.NotFound",
            &format!(
                "Specified api is not found, please check your url and method: {} {}",
                request.method, request.path
            ),
        ));
    }
    let action = request.header("x-acs-action").unwrap_or("");
    if action != expected_action {
        return Err(gateway_error(
            400,
            request_id,
            "InvalidAction.Mismatch",
            &format!(
                "x-acs-action {action} does not name the API of GET {} ({expected_action}).",
                request.path
            ),
        ));
    }
    Ok(call)
}

fn answer(shared: &Shared, exchange: &Exchange<'_>, fault: Option<&Fault>) -> Result<Reply, Reply> {
    let (request, request_id) = (exchange.request, exchange.request_id);
    let caller = authenticate(shared, request, request_id)?;
    let (cluster_id, uid) = match route_call(request, request_id)? {
        Call::UserConfig { cluster_id, uid } => (cluster_id, uid),
        Call::ListClusters => {
            let reply = list_clusters(shared, request, request_id, &caller.principal)?;
            return Ok(super::fault::replace_success(reply, fault));
        }
    };
    let call = UserConfigCall { cluster_id, uid };

    let private_ip = private_ip_param(request.query_param("PrivateIpAddress"))
        .map_err(|message| cs_error(400, request_id, "InvalidParameter", &message))?;
    let minutes = match request.query_param("TemporaryDurationMinutes") {
        None => None,
        Some(raw) => match raw.parse::<u32>() {
            Ok(m) if (15..=4320).contains(&m) => Some(m),
            _ => {
                return Err(cs_error(
                    400,
                    request_id,
                    "InvalidParameter",
                    &format!(
                        "TemporaryDurationMinutes must be an integer between 15 and 4320, got {raw:?}"
                    ),
                ));
            }
        },
    };

    let (server, ca_pem, token, lifetime_override, expiration_offset, known_uid) = {
        let state = shared.lock();
        let Some(cluster) = state.clusters.by_id.get(&call.cluster_id) else {
            return Err(cs_error(
                404,
                request_id,
                "ErrorClusterNotFound",
                &format!("cluster {} not found", call.cluster_id),
            ));
        };
        if !cluster.target.permits(&caller.principal.uid) {
            return Err(gateway_error(
                403,
                request_id,
                "Forbidden.RAM",
                "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
            ));
        }
        let known_uid = call
            .uid
            .as_ref()
            .is_some_and(|uid| state.accounts.sub_users.contains(uid));
        (
            cluster.target.server(private_ip).to_string(),
            cluster.target.ca_pem.clone(),
            cluster.token.clone(),
            state.cert_lifetime,
            state.api_expiration_offset,
            known_uid,
        )
    };

    let uid = match &call.uid {
        None => caller.principal.uid.clone(),
        Some(uid) => {
            if !caller.principal.main_account {
                return Err(cs_error(
                    403,
                    request_id,
                    "ForbiddenQueryClusterUserConfig",
                    &format!(
                        "user {} is not the main account and may not query the kubeconfig of user {uid} in cluster {}",
                        caller.principal.uid, call.cluster_id
                    ),
                ));
            }
            if !known_uid {
                return Err(cs_error(
                    404,
                    request_id,
                    "ErrorRamUserNotFound",
                    &format!("RAM user {uid} not found"),
                ));
            }
            uid.clone()
        }
    };

    let lifetime = lifetime_override.unwrap_or_else(|| {
        minutes.map_or(LONG_LIVED_CERT, |m| Duration::from_secs(u64::from(m) * 60))
    });
    let (not_before, not_after) = validity(shared.now(), lifetime);
    let expiration = (not_after + expiration_offset)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let context = format!("{uid}-{}", call.cluster_id);

    let mut issued = Issued {
        cluster_id: call.cluster_id.clone(),
        mesh: false,
        fleet: false,
        uid: uid.clone(),
        server: server.clone(),
        private_ip,
        temporary_duration_minutes: minutes,
        certificate_pem: None,
        key_pem: None,
        token: token.clone(),
        not_before,
        not_after,
        expiration: expiration.clone(),
        serial: 0,
    };
    let internal = |e: String| cs_error(500, request_id, "InternalError", &e);
    let user = match &token {
        Some(token) => json!({ "token": token }),
        None => client_user(shared, &uid, not_before, not_after, fault, &mut issued)
            .map_err(internal)?,
    };
    let yaml = render_kubeconfig(&server, &ca_pem, &uid, &context, user).map_err(internal)?;

    let Some(fault) = fault else {
        return Ok(Reply {
            status: 200,
            headers: Vec::new(),
            body: json!({ "config": yaml, "expiration": expiration }).to_string(),
            outcome: Outcome::Issued,
            issued: Some(Box::new(issued)),
            content_type: CONTENT_TYPE_JSON,
        });
    };
    let body = match fault {
        Fault::BodyNotJson => NOT_JSON_BODY.to_string(),
        Fault::BodyWithoutConfig => {
            json!({ "expiration": expiration, "requestId": request_id }).to_string()
        }
        Fault::ConfigNotYaml => json!({
            "config": BROKEN_YAML,
            "expiration": expiration,
        })
        .to_string(),
        _ => json!({ "config": yaml, "expiration": expiration }).to_string(),
    };
    Ok(Reply {
        status: 200,
        headers: Vec::new(),
        body,
        outcome: Outcome::Fault(fault.name()),
        issued: None,
        content_type: CONTENT_TYPE_JSON,
    })
}
