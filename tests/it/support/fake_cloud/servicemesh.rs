//! Service Mesh (ASM, RPC, `POST /`): `DescribeServiceMeshKubeconfig`, `DescribeServiceMeshes`
//! (the list, unpaged), the meshes it knows and who may fetch their kubeconfig or list them. Its
//! `ExpireTime` has no zone and is written in UTC+8 unless told otherwise, as the real API may.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::TimeDelta;
use serde_json::{Value, json};

use super::certs::validity;
use super::fault::Fault;
use super::http::Reply;
use super::kubeconfig_api::{Target, kubeconfig_reply, private_ip_param};
use super::log::{Issued, Outcome};
use super::rpc::{RpcProduct, rpc_authenticate, rpc_envelope, rpc_product_error};
use super::state::Shared;
use super::{Exchange, FakeCloud, Principal, Route, Service};

/// The servicemesh (ASM) API version the fake serves.
pub const SERVICEMESH_API_VERSION: &str = "2020-01-11";
/// The ASM `Action` the fake serves (also what [`super::RequestRecord::action`] holds for it).
pub const ACTION_DESCRIBE_SERVICE_MESH_KUBECONFIG: &str = "DescribeServiceMeshKubeconfig";
/// The ASM `Action` that lists the meshes.
pub const ACTION_DESCRIBE_SERVICE_MESHES: &str = "DescribeServiceMeshes";
/// Lifetime of a mesh's certificates (ASM takes no lifetime parameter), unless
/// [`FakeCloud::set_cert_lifetime`] says otherwise.
pub const MESH_CERT_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// The zone ASM's zone-less `ExpireTime` is written in unless
/// [`FakeCloud::set_mesh_expire_time_utc_offset`] says otherwise: UTC+8, so read as UTC it is
/// 8 hours later than the certificate's NotAfter.
pub const MESH_EXPIRE_TIME_UTC_OFFSET: TimeDelta = TimeDelta::hours(8);
/// The format of ASM's `ExpireTime`: `2024-05-28 16:00:00`.
pub const MESH_EXPIRE_TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
/// The `server` of a mesh registered with [`FakeCloud::add_mesh_with_defaults`].
pub const DEFAULT_MESH_PUBLIC_SERVER: &str = "https://127.0.0.20:1";
/// The private `server` of such a mesh (with `PrivateIpAddress=true`).
pub const DEFAULT_MESH_PRIVATE_SERVER: &str = "https://127.0.1.20:1";

pub(super) const ASM_HOST_ID: &str = "servicemesh.aliyuncs.com";

const ASM_PRODUCT: RpcProduct = RpcProduct {
    name: "ASM",
    host_id: ASM_HOST_ID,
    recommend: "servicemesh",
    version: SERVICEMESH_API_VERSION,
};

impl Service {
    /// Service Mesh (ASM, RPC): a request for `/` whose `Action` is
    /// [`ACTION_DESCRIBE_SERVICE_MESH_KUBECONFIG`] or whose `Version` is
    /// [`SERVICEMESH_API_VERSION`].
    pub const ASM: Service = Service("asm");
}

pub(super) const ROUTE: Route = Route {
    service: Service::ASM,
    claims: |request| {
        request.path == "/"
            && (request.param("Action") == Some(ACTION_DESCRIBE_SERVICE_MESH_KUBECONFIG)
                || request.param("Version") == Some(SERVICEMESH_API_VERSION))
    },
    identify: |request| {
        (
            request.param("Action").map(str::to_string),
            request.param("AccessKeyId").map(str::to_string),
        )
    },
    answer: |shared, exchange, fault| match answer(shared, exchange, fault) {
        Ok(reply) | Err(reply) => reply,
    },
};

struct Mesh {
    target: Target,
    name: String,
    region: String,
    state: String,
    version: String,
    edition: String,
}

/// The meshes ASM knows (in the order they were registered, which is the order they are
/// listed in), and the zone of its `ExpireTime`.
#[derive(Default)]
pub(super) struct Meshes {
    by_id: HashMap<String, Mesh>,
    order: Vec<String>,
    /// uids refused `DescribeServiceMeshes`.
    list_denied: HashSet<String>,
    /// None: [`MESH_EXPIRE_TIME_UTC_OFFSET`].
    expire_time_utc_offset: Option<TimeDelta>,
}

impl FakeCloud {
    /// The ASM base URL (the same listener): `http://127.0.0.1:PORT`.
    pub fn asm_endpoint(&self) -> String {
        self.endpoint()
    }

    /// Registers a service mesh: `DescribeServiceMeshKubeconfig` for it answers a kubeconfig
    /// with this server (`private_server` with `PrivateIpAddress=true`) and CA, and a client
    /// certificate for the caller's uid valid for [`MESH_CERT_LIFETIME`]. Any known key may ask
    /// until [`FakeCloud::allow_mesh`] names who may.
    pub fn add_mesh(&self, id: &str, public_server: &str, private_server: &str, ca_pem: &str) {
        let mut state = self.shared.lock();
        let meshes = &mut state.meshes;
        if !meshes.by_id.contains_key(id) {
            meshes.order.push(id.to_string());
        }
        meshes.by_id.insert(
            id.to_string(),
            Mesh {
                target: Target::new(public_server, private_server, ca_pem),
                name: format!("mesh-{}", id.chars().take(8).collect::<String>()),
                region: "cn-hangzhou".to_string(),
                state: "running".to_string(),
                version: "1.22.6.45".to_string(),
                edition: "enterprise".to_string(),
            },
        );
    }

    /// Sets what `DescribeServiceMeshes` lists for a registered mesh. Panics if it is unknown.
    pub fn set_mesh_info(&self, id: &str, name: &str, region: &str, state: &str) {
        let mut guard = self.shared.lock();
        let mesh = guard
            .meshes
            .by_id
            .get_mut(id)
            .unwrap_or_else(|| panic!("set_mesh_info: unknown mesh {id}"));
        mesh.name = name.to_string();
        mesh.region = region.to_string();
        mesh.state = state.to_string();
    }

    /// Refuses `DescribeServiceMeshes` to `principal` (403 `Forbidden.RAM`).
    pub fn deny_mesh_listing(&self, principal: &Principal) {
        self.shared
            .lock()
            .meshes
            .list_denied
            .insert(principal.uid.clone());
    }

    /// Registers a mesh with documentation-range server URLs ([`DEFAULT_MESH_PUBLIC_SERVER`],
    /// [`DEFAULT_MESH_PRIVATE_SERVER`]) and the fake's cluster CA.
    pub fn add_mesh_with_defaults(&self, id: &str) {
        let ca = self.cluster_ca_pem();
        self.add_mesh(
            id,
            DEFAULT_MESH_PUBLIC_SERVER,
            DEFAULT_MESH_PRIVATE_SERVER,
            &ca,
        );
    }

    /// Restricts who may fetch the mesh's kubeconfig: from now on only the principals named by
    /// calls of this function (others get 403 `Forbidden.RAM`). Panics if the mesh is unknown.
    pub fn allow_mesh(&self, id: &str, principal: &Principal) {
        self.shared
            .lock()
            .meshes
            .by_id
            .get_mut(id)
            .unwrap_or_else(|| panic!("allow_mesh: unknown mesh {id}"))
            .target
            .allow(&principal.uid);
    }

    /// The zone ASM's `ExpireTime` is written in (default [`MESH_EXPIRE_TIME_UTC_OFFSET`],
    /// UTC+8): `TimeDelta::zero()` writes true UTC.
    pub fn set_mesh_expire_time_utc_offset(&self, offset: TimeDelta) {
        self.shared.lock().meshes.expire_time_utc_offset = Some(offset);
    }
}

/// Authenticates (the RPC verifier, as for AssumeRole) and answers `DescribeServiceMeshKubeconfig`;
/// `fault` replaces a successful body.
fn answer(shared: &Shared, exchange: &Exchange<'_>, fault: Option<&Fault>) -> Result<Reply, Reply> {
    let (request, request_id) = (exchange.request, exchange.request_id);
    let fail = |status: u16, code: &str, message: String| {
        rpc_product_error(ASM_PRODUCT, status, request_id, code, &message)
    };
    let action = rpc_envelope(request, request_id, ASM_PRODUCT)?;
    if action != ACTION_DESCRIBE_SERVICE_MESH_KUBECONFIG && action != ACTION_DESCRIBE_SERVICE_MESHES
    {
        return Err(fail(
            404,
            "InvalidAction.NotFound",
            format!(
                "Specified api is not found, please check your url and method: Action={action}"
            ),
        ));
    }
    let caller = rpc_authenticate(shared, request, request_id, ASM_PRODUCT)?;
    if action == ACTION_DESCRIBE_SERVICE_MESHES {
        let state = shared.lock();
        let meshes = &state.meshes;
        if meshes.list_denied.contains(&caller.principal.uid) {
            return Err(fail(
                403,
                "Forbidden.RAM",
                format!(
                    "User not authorized to operate on the specified resource: {} may not list the service meshes.",
                    caller.principal.uid
                ),
            ));
        }
        let list: Vec<Value> = meshes
            .order
            .iter()
            .map(|id| {
                let mesh = &meshes.by_id[id];
                json!({
                    "ServiceMeshInfo": {
                        "ServiceMeshId": id,
                        "Name": mesh.name,
                        "RegionId": mesh.region,
                        "State": mesh.state,
                        "Version": mesh.version,
                        "Profile": "Default",
                        "CreationTime": "2025-04-07T01:57:26.000Z",
                    },
                    "ClusterSpec": mesh.edition,
                    "Clusters": [],
                    "Endpoints": {},
                })
            })
            .collect();
        let reply = Reply::json(
            200,
            json!({ "RequestId": request_id, "ServiceMeshes": list }),
            Outcome::Listed,
        );
        return Ok(super::fault::replace_success(reply, fault));
    }
    let Some(mesh_id) = request.param("ServiceMeshId").filter(|m| !m.is_empty()) else {
        return Err(fail(
            400,
            "MissingParameter",
            "The input parameter \"ServiceMeshId\" that is mandatory for processing this request is not supplied.".to_string(),
        ));
    };
    let private_ip = private_ip_param(request.param("PrivateIpAddress"))
        .map_err(|message| fail(400, "InvalidParameter", message))?;
    let (server, ca_pem, lifetime, expiration_offset, zone) = {
        let state = shared.lock();
        let Some(mesh) = state.meshes.by_id.get(mesh_id) else {
            return Err(fail(
                404,
                "ServiceMesh.NotFound",
                format!("The specified service mesh {mesh_id} does not exist."),
            ));
        };
        if !mesh.target.permits(&caller.principal.uid) {
            return Err(fail(
                403,
                "Forbidden.RAM",
                format!(
                    "User not authorized to operate on the specified resource: {} may not describe the kubeconfig of service mesh {mesh_id}.",
                    caller.principal.uid
                ),
            ));
        }
        (
            mesh.target.server(private_ip).to_string(),
            mesh.target.ca_pem.clone(),
            state.cert_lifetime.unwrap_or(MESH_CERT_LIFETIME),
            state.api_expiration_offset,
            state
                .meshes
                .expire_time_utc_offset
                .unwrap_or(MESH_EXPIRE_TIME_UTC_OFFSET),
        )
    };

    let (not_before, not_after) = validity(shared.now(), lifetime);
    // Zone-less, in the mesh's zone: UTC+8 unless told otherwise.
    let expire_time = (not_after + expiration_offset + zone)
        .format(MESH_EXPIRE_TIME_FORMAT)
        .to_string();
    let body = json!({ "RequestId": request_id, "ExpireTime": expire_time });
    let issued = Issued {
        cluster_id: mesh_id.to_string(),
        mesh: true,
        fleet: false,
        uid: caller.principal.uid.clone(),
        server,
        private_ip,
        temporary_duration_minutes: None,
        certificate_pem: None,
        key_pem: None,
        token: None,
        not_before,
        not_after,
        expiration: expire_time,
        serial: 0,
    };
    kubeconfig_reply(shared, issued, &ca_pem, fault, &body)
        .map_err(|e| fail(500, "InternalError", e))
}
