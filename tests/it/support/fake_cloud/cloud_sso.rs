//! The CloudSSO portal (`POST /cloud-credentials`): what an aliyun CLI `CloudSSO` profile's
//! bearer token buys. A user signed in to the portal holds an access token; the portal answers
//! `{"AccountId", "AccessConfigurationId"}` with a fresh STS key of the access configuration's
//! role in that account, if the token is known, unexpired and granted that pair.

use std::collections::HashMap;

use chrono::TimeDelta;
use serde_json::{Value, json};

use super::accounts::{grant_session_key, random_alnum};
use super::fault::replace_success;
use super::http::Reply;
use super::log::Outcome;
use super::state::Shared;
use super::{Exchange, FakeCloud, Principal, Route, Service};

/// [`super::RequestRecord::action`] of `POST /cloud-credentials`.
pub const ACTION_CLOUD_SSO_CREDENTIALS: &str = "CloudSsoCredentials";

impl Service {
    /// The CloudSSO portal: `POST /cloud-credentials`.
    pub const CLOUD_SSO: Service = Service("cloudsso");
}

pub(super) const ROUTE: Route = Route {
    service: Service::CLOUD_SSO,
    claims: |request| request.path == "/cloud-credentials",
    identify: |_| (Some(ACTION_CLOUD_SSO_CREDENTIALS.to_string()), None),
    answer: |shared, exchange, fault| replace_success(answer(shared, exchange), fault),
};

/// A signed-in portal user: the account and access configuration the token is good for.
#[derive(Clone, Debug)]
pub struct CloudSsoUser {
    /// The bearer token the CLI stores as `access_token`. A secret.
    pub access_token: String,
    pub account_id: String,
    pub access_config: String,
    /// The access configuration's role in the account: the CN of the certificates.
    pub principal: Principal,
}

/// One call of the portal, as it arrived.
#[derive(Clone, Debug)]
pub struct CloudSsoCall {
    /// `Authorization` as sent (it carries the token: never print it).
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    /// The JSON body, parsed (`Null` when it is not JSON).
    pub body: Value,
}

#[derive(Default)]
pub(super) struct Portal {
    users: HashMap<String, CloudSsoUser>,
    calls: Vec<CloudSsoCall>,
}

impl FakeCloud {
    /// Signs a user in to the portal for `account_id`'s access configuration `access_config`
    /// (a role of its own); returns the user with its access token.
    pub fn add_cloud_sso_user(&self, account_id: &str, access_config: &str) -> CloudSsoUser {
        let user = CloudSsoUser {
            access_token: format!("sso.{}", random_alnum(40)),
            account_id: account_id.to_string(),
            access_config: access_config.to_string(),
            principal: self.new_principal(false),
        };
        self.shared
            .lock()
            .cloud_sso
            .users
            .insert(user.access_token.clone(), user.clone());
        user
    }

    /// Signs the user out: the portal refuses the token from now on (as once it has expired).
    pub fn revoke_cloud_sso_token(&self, access_token: &str) {
        self.shared.lock().cloud_sso.users.remove(access_token);
    }

    /// The sign-in URL the CLI stores as `cloud_sso_sign_in_url` (only its scheme and host are
    /// used: the portal's API is at `/cloud-credentials`).
    pub fn cloud_sso_sign_in_url(&self) -> String {
        format!("{}/d-fake0123/login", self.endpoint())
    }

    /// Every call of the portal, in order.
    pub fn cloud_sso_calls(&self) -> Vec<CloudSsoCall> {
        self.shared.lock().cloud_sso.calls.clone()
    }
}

fn error(status: u16, request_id: &str, code: &str, message: &str) -> Reply {
    Reply::json(
        status,
        json!({"RequestId": request_id, "Code": code, "Message": message}),
        Outcome::Rejected(code.to_string()),
    )
}

fn answer(shared: &Shared, exchange: &Exchange<'_>) -> Reply {
    let (seq, request, request_id) = (exchange.seq, exchange.request, exchange.request_id);
    let body: Value = serde_json::from_str(&request.body).unwrap_or(Value::Null);
    shared.lock().cloud_sso.calls.push(CloudSsoCall {
        authorization: request.header("authorization").map(str::to_string),
        content_type: request.header("content-type").map(str::to_string),
        body: body.clone(),
    });
    if request.method != "POST" {
        return error(405, request_id, "MethodNotAllowed", "use POST");
    }
    let token = request
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "));
    let Some(user) = token.and_then(|t| shared.lock().cloud_sso.users.get(t).cloned()) else {
        return error(
            401,
            request_id,
            "InvalidAccessToken",
            "The access token is invalid or has expired.",
        );
    };
    let asked = (
        body.get("AccountId").and_then(Value::as_str),
        body.get("AccessConfigurationId").and_then(Value::as_str),
    );
    if asked
        != (
            Some(user.account_id.as_str()),
            Some(user.access_config.as_str()),
        )
    {
        return error(
            403,
            request_id,
            "NoPermission.AccessConfiguration",
            "The user is not granted this access configuration in this account.",
        );
    }
    let (key, expiration) = grant_session_key(
        shared,
        seq,
        ACTION_CLOUD_SSO_CREDENTIALS,
        &user.access_config,
        &user.principal,
        TimeDelta::hours(1),
    );
    Reply::json(
        200,
        json!({
            "RequestId": request_id,
            "CloudCredential": {
                "AccessKeyId": key.id,
                "AccessKeySecret": key.secret,
                "SecurityToken": key.security_token,
                "Expiration": expiration,
            }
        }),
        Outcome::Granted,
    )
}
