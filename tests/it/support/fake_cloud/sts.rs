//! STS (RPC, `POST /`): `AssumeRole` (signed), `AssumeRoleWithOIDC` (unsigned: the OIDC token
//! is the proof) and `GetCallerIdentity`; the RAM roles, who may assume them, and the OIDC
//! providers with the one token each accepts.

use std::collections::HashMap;

use serde_json::json;

use super::fault::replace_success;
use super::http::Reply;
use super::log::{Outcome, StsGrant};
use super::rpc::{
    RpcProduct, check_timestamp_and_nonce, rpc_authenticate, rpc_envelope, rpc_product_error,
};
use super::state::Shared;
use super::sts_assume_role::{assume_role, assume_role_with_oidc};
use super::{Exchange, FakeCloud, Principal, Route, Service};

/// The STS API version the fake serves.
pub const STS_API_VERSION: &str = "2015-04-01";
/// STS `Action`s the fake serves (also what [`super::RequestRecord::action`] holds for them).
pub const ACTION_ASSUME_ROLE: &str = "AssumeRole";
pub const ACTION_ASSUME_ROLE_WITH_OIDC: &str = "AssumeRoleWithOIDC";
pub const ACTION_GET_CALLER_IDENTITY: &str = "GetCallerIdentity";
/// `DurationSeconds` bounds of AssumeRole / AssumeRoleWithOIDC.
pub const MIN_DURATION_SECONDS: u64 = 900;
pub const MAX_DURATION_SECONDS: u64 = 43200;
/// `DurationSeconds` when a request leaves it out.
pub const DEFAULT_DURATION_SECONDS: u64 = 3600;

pub(super) const STS_HOST_ID: &str = "sts.aliyuncs.com";

const STS_PRODUCT: RpcProduct = RpcProduct {
    name: "STS",
    host_id: STS_HOST_ID,
    recommend: "Sts",
    version: STS_API_VERSION,
};

impl Service {
    /// STS (RPC): any request for `/` that is not for another RPC product.
    pub const STS: Service = Service("sts");
}

pub(super) const ROUTE: Route = Route {
    service: Service::STS,
    claims: |request| request.path == "/",
    identify: |request| {
        (
            request.param("Action").map(str::to_string),
            request.param("AccessKeyId").map(str::to_string),
        )
    },
    answer: |shared, exchange, fault| {
        let reply = match answer(shared, exchange) {
            Ok(reply) | Err(reply) => reply,
        };
        replace_success(reply, fault)
    },
};

pub(super) struct Role {
    pub principal: Principal,
    /// uids allowed to assume the role (None: any known key).
    pub allowed: Option<Vec<String>>,
}

/// The RAM roles and OIDC providers STS knows.
#[derive(Default)]
pub(super) struct Roles {
    pub roles: HashMap<String, Role>,
    /// OIDC provider ARN → the token it accepts.
    pub oidc_providers: HashMap<String, String>,
}

impl FakeCloud {
    /// The STS base URL (the same listener): `http://127.0.0.1:PORT`.
    pub fn sts_endpoint(&self) -> String {
        self.endpoint()
    }

    /// Registers a RAM role (`acs:ram::<account>:role/<name>`) with a fresh uid of its own:
    /// the CN of the certificates fetched with STS keys of this role. Any known key may assume
    /// it until [`FakeCloud::allow_assume`] names who may.
    pub fn add_role(&self, arn: &str) -> Principal {
        let principal = self.new_principal(false);
        self.shared.lock().roles.roles.insert(
            arn.to_string(),
            Role {
                principal: principal.clone(),
                allowed: None,
            },
        );
        principal
    }

    /// Restricts who may assume the role: from now on only the principals named by calls of
    /// this function (others get 403 `NoPermission`). Panics if the role is unknown.
    pub fn allow_assume(&self, arn: &str, principal: &Principal) {
        let mut state = self.shared.lock();
        let role = state
            .roles
            .roles
            .get_mut(arn)
            .unwrap_or_else(|| panic!("allow_assume: unknown role {arn}"));
        role.allowed
            .get_or_insert_with(Vec::new)
            .push(principal.uid.clone());
    }

    /// Registers (or replaces) an OIDC provider and the one token it accepts in
    /// AssumeRoleWithOIDC.
    pub fn add_oidc_provider(&self, provider_arn: &str, accepted_token: &str) {
        self.shared
            .lock()
            .roles
            .oidc_providers
            .insert(provider_arn.to_string(), accepted_token.to_string());
    }

    /// Every set of credentials handed out (STS, metadata service, credentials URIs), in order.
    pub fn grants(&self) -> Vec<StsGrant> {
        self.shared.lock().grants.clone()
    }
}

pub(super) fn sts_error(status: u16, request_id: &str, code: &str, message: &str) -> Reply {
    rpc_product_error(STS_PRODUCT, status, request_id, code, message)
}

fn answer(shared: &Shared, exchange: &Exchange<'_>) -> Result<Reply, Reply> {
    let (seq, request, request_id) = (exchange.seq, exchange.request, exchange.request_id);
    let fail =
        |status: u16, code: &str, message: String| sts_error(status, request_id, code, &message);
    let action = rpc_envelope(request, request_id, STS_PRODUCT)?;
    match action {
        ACTION_ASSUME_ROLE => {
            let caller = rpc_authenticate(shared, request, request_id, STS_PRODUCT)?;
            assume_role(shared, seq, request, request_id, &caller)
        }
        ACTION_ASSUME_ROLE_WITH_OIDC => {
            check_timestamp_and_nonce(shared, request, request_id, STS_PRODUCT, false)?;
            assume_role_with_oidc(shared, seq, request, request_id)
        }
        ACTION_GET_CALLER_IDENTITY => {
            let caller = rpc_authenticate(shared, request, request_id, STS_PRODUCT)?;
            Ok(Reply::json(
                200,
                json!({
                    "RequestId": request_id,
                    "AccountId": "1234567890123456",
                    "UserId": caller.principal.uid,
                    "PrincipalId": caller.principal.uid,
                    "IdentityType": if caller.security_token.is_some() { "AssumedRoleUser" } else { "RAMUser" },
                    "Arn": format!("acs:ram::1234567890123456:user/{}", caller.principal.uid),
                }),
                Outcome::Granted,
            ))
        }
        other => Err(fail(
            404,
            "InvalidAction.NotFound",
            format!("Specified api is not found, please check your url and method: Action={other}"),
        )),
    }
}
