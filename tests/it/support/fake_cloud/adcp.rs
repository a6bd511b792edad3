//! ACK One (adcp, RPC, `POST /`): `DescribeHubClusterKubeconfig` for a fleet's hub cluster, the
//! fleets it knows and who may fetch their kubeconfig. The answer is `{"RequestId",
//! "Kubeconfig"}`: no expiry, so the certificate's NotAfter is the only one. The client
//! certificates come from the same client CA as clusters' and meshes', so one TLS API server
//! trusts them all.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;

use super::certs::validity;
use super::fault::Fault;
use super::http::Reply;
use super::kubeconfig_api::{Target, kubeconfig_reply, private_ip_param};
use super::log::Issued;
use super::rpc::{RpcProduct, rpc_authenticate, rpc_envelope, rpc_product_error};
use super::state::Shared;
use super::{Exchange, FakeCloud, Principal, Route, Service};

/// The adcp API version the fake serves.
pub const ADCP_API_VERSION: &str = "2022-01-01";
/// The adcp `Action` the fake serves.
pub const ACTION_DESCRIBE_HUB_CLUSTER_KUBECONFIG: &str = "DescribeHubClusterKubeconfig";
/// Lifetime of a fleet's certificates (adcp takes no lifetime parameter; like cs without one,
/// it hands out a long-lived certificate), unless [`FakeCloud::set_cert_lifetime`] says
/// otherwise.
pub const FLEET_CERT_LIFETIME: Duration = Duration::from_secs(3 * 365 * 24 * 3600);
/// The `server` of a fleet registered with [`FakeCloud::add_fleet_with_defaults`]: a closed
/// loopback port.
pub const DEFAULT_FLEET_PUBLIC_SERVER: &str = "https://127.0.0.30:1";
/// The private `server` of such a fleet (with `PrivateIpAddress=true`).
pub const DEFAULT_FLEET_PRIVATE_SERVER: &str = "https://127.0.1.30:1";
/// What adcp answers for a fleet it does not know.
pub const FLEET_NOT_FOUND: &str = "ClusterNotFound";

const ADCP_PRODUCT: RpcProduct = RpcProduct {
    name: "ACK One",
    host_id: "adcp.cn-hangzhou.aliyuncs.com",
    recommend: "adcp",
    version: ADCP_API_VERSION,
};

impl Service {
    /// ACK One (adcp, RPC): a request for `/` whose `Action` is
    /// [`ACTION_DESCRIBE_HUB_CLUSTER_KUBECONFIG`] or whose `Version` is [`ADCP_API_VERSION`].
    pub const ADCP: Service = Service("adcp");
}

pub(super) const ROUTE: Route = Route {
    service: Service::ADCP,
    claims: |request| {
        request.path == "/"
            && (request.param("Action") == Some(ACTION_DESCRIBE_HUB_CLUSTER_KUBECONFIG)
                || request.param("Version") == Some(ADCP_API_VERSION))
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

/// The fleets adcp knows: where each hub cluster is and who may fetch its kubeconfig.
#[derive(Default)]
pub(super) struct Fleets(HashMap<String, Target>);

impl FakeCloud {
    /// The adcp base URL (the same listener): `http://127.0.0.1:PORT`.
    pub fn adcp_endpoint(&self) -> String {
        self.endpoint()
    }

    /// Registers an ACK One fleet: `DescribeHubClusterKubeconfig` for it answers a kubeconfig
    /// with this server (`private_server` with `PrivateIpAddress=true`) and CA, and a client
    /// certificate for the caller's uid valid for [`FLEET_CERT_LIFETIME`]. Any known key may ask
    /// until [`FakeCloud::allow_fleet`] names who may.
    pub fn add_fleet(&self, id: &str, public_server: &str, private_server: &str, ca_pem: &str) {
        self.shared.lock().fleets.0.insert(
            id.to_string(),
            Target::new(public_server, private_server, ca_pem),
        );
    }

    /// Registers a fleet at [`DEFAULT_FLEET_PUBLIC_SERVER`] and [`DEFAULT_FLEET_PRIVATE_SERVER`]
    /// with the fake's cluster CA.
    pub fn add_fleet_with_defaults(&self, id: &str) {
        let ca = self.cluster_ca_pem();
        self.add_fleet(
            id,
            DEFAULT_FLEET_PUBLIC_SERVER,
            DEFAULT_FLEET_PRIVATE_SERVER,
            &ca,
        );
    }

    /// Restricts who may fetch the fleet's kubeconfig: from now on only the principals named by
    /// calls of this function (others get 403 `Forbidden.RAM`). Panics if the fleet is unknown.
    pub fn allow_fleet(&self, id: &str, principal: &Principal) {
        self.shared
            .lock()
            .fleets
            .0
            .get_mut(id)
            .unwrap_or_else(|| panic!("allow_fleet: unknown fleet {id}"))
            .allow(&principal.uid);
    }
}

/// Authenticates (the RPC verifiers, V3 or V2) and answers `DescribeHubClusterKubeconfig`;
/// `fault` replaces a successful body.
fn answer(shared: &Shared, exchange: &Exchange<'_>, fault: Option<&Fault>) -> Result<Reply, Reply> {
    let (request, request_id) = (exchange.request, exchange.request_id);
    let fail = |status: u16, code: &str, message: String| {
        rpc_product_error(ADCP_PRODUCT, status, request_id, code, &message)
    };
    let action = rpc_envelope(request, request_id, ADCP_PRODUCT)?;
    if action != ACTION_DESCRIBE_HUB_CLUSTER_KUBECONFIG {
        return Err(fail(
            404,
            "InvalidAction.NotFound",
            format!(
                "Specified api is not found, please check your url and method: Action={action}"
            ),
        ));
    }
    let caller = rpc_authenticate(shared, request, request_id, ADCP_PRODUCT)?;
    let Some(fleet_id) = request.param("ClusterId").filter(|m| !m.is_empty()) else {
        return Err(fail(
            400,
            "MissingParameter",
            "The input parameter \"ClusterId\" that is mandatory for processing this request is not supplied.".to_string(),
        ));
    };
    let private_ip = private_ip_param(request.param("PrivateIpAddress"))
        .map_err(|message| fail(400, "InvalidParameter", message))?;
    let (server, ca_pem, lifetime) = {
        let state = shared.lock();
        let Some(fleet) = state.fleets.0.get(fleet_id) else {
            return Err(fail(
                404,
                FLEET_NOT_FOUND,
                format!("The specified cluster {fleet_id} is not found."),
            ));
        };
        if !fleet.permits(&caller.principal.uid) {
            return Err(fail(
                403,
                "Forbidden.RAM",
                format!(
                    "User not authorized to operate on the specified resource: {} may not describe the kubeconfig of hub cluster {fleet_id}.",
                    caller.principal.uid
                ),
            ));
        }
        (
            fleet.server(private_ip).to_string(),
            fleet.ca_pem.clone(),
            state.cert_lifetime.unwrap_or(FLEET_CERT_LIFETIME),
        )
    };

    let (not_before, not_after) = validity(shared.now(), lifetime);
    let issued = Issued {
        cluster_id: fleet_id.to_string(),
        mesh: false,
        fleet: true,
        uid: caller.principal.uid.clone(),
        server,
        private_ip,
        temporary_duration_minutes: None,
        certificate_pem: None,
        key_pem: None,
        token: None,
        not_before,
        not_after,
        expiration: String::new(),
        serial: 0,
    };
    let body = json!({ "RequestId": request_id });
    kubeconfig_reply(shared, issued, &ca_pem, fault, &body)
        .map_err(|e| fail(500, "InternalError", e))
}
