//! The ECS metadata service (`/latest/...`): IMDSv2 tokens (`PUT /latest/api/token`), the
//! attached RAM role's name and its STS keys.

use std::collections::HashSet;

use serde_json::json;

use super::accounts::{SESSION_KEY_LIFETIME, grant_session_key, random_alnum};
use super::fault::replace_success;
use super::http::{CONTENT_TYPE_TEXT, HttpRequest, Reply};
use super::log::Outcome;
use super::state::Shared;
use super::{FakeCloud, Principal, Route, Service};

/// [`super::RequestRecord::action`] of `PUT /latest/api/token` (the IMDSv2 token).
pub const ACTION_IMDS_TOKEN: &str = "ImdsToken";
/// [`super::RequestRecord::action`] of `GET /latest/meta-data/ram/security-credentials/` (role
/// discovery).
pub const ACTION_IMDS_ROLE_NAME: &str = "ImdsRoleName";
/// [`super::RequestRecord::action`] of `GET /latest/meta-data/ram/security-credentials/<role>`.
pub const ACTION_IMDS_CREDENTIALS: &str = "ImdsCredentials";
/// [`super::RequestRecord::action`] of any other metadata path.
pub const ACTION_IMDS_OTHER: &str = "ImdsOther";
/// The IMDSv2 token header of requests to the metadata service.
pub const IMDS_TOKEN_HEADER: &str = "X-aliyun-ecs-metadata-token";
/// The header of `PUT /latest/api/token` giving the token's lifetime (1..=21600 seconds).
pub const IMDS_TOKEN_TTL_HEADER: &str = "X-aliyun-ecs-metadata-token-ttl-seconds";

pub(super) const IMDS_CREDENTIALS_PREFIX: &str = "/latest/meta-data/ram/security-credentials/";

impl Service {
    /// The ECS metadata service: `/latest/...`.
    pub const ECS_METADATA: Service = Service("ecs-metadata");
}

pub(super) const ROUTE: Route = Route {
    service: Service::ECS_METADATA,
    claims: |request| request.path.starts_with("/latest/"),
    identify: |request| (Some(imds_action(request).to_string()), None),
    answer: |shared, exchange, fault| {
        replace_success(answer(shared, exchange.seq, exchange.request), fault)
    },
};

/// The instance's role and the metadata service's token rules.
#[derive(Default)]
pub(super) struct Imds {
    role: Option<(String, Principal)>,
    v2_required: bool,
    token_status: Option<u16>,
    /// The IMDSv2 tokens handed out.
    pub tokens: HashSet<String>,
}

impl FakeCloud {
    /// The metadata service base URL (the same listener): `http://127.0.0.1:PORT`.
    pub fn metadata_endpoint(&self) -> String {
        self.endpoint()
    }

    /// Attaches a RAM role named `name` (fresh uid) to the fake instance: the metadata service
    /// names it at `/latest/meta-data/ram/security-credentials/` and hands out its STS keys.
    pub fn set_ecs_role(&self, name: &str) -> Principal {
        let principal = self.new_principal(false);
        self.shared.lock().imds.role = Some((name.to_string(), principal.clone()));
        principal
    }

    /// When on, metadata GETs without a valid `X-aliyun-ecs-metadata-token` get 401.
    /// (A token that is present but unknown gets 401 in either mode.)
    pub fn require_imds_v2(&self, on: bool) {
        self.shared.lock().imds.v2_required = on;
    }

    /// Answers `PUT /latest/api/token` with this status (e.g. 404 or 403) and no token, as a
    /// metadata service without IMDSv2 would.
    pub fn disable_imds_token(&self, status: u16) {
        self.shared.lock().imds.token_status = Some(status);
    }
}

pub(super) fn imds_action(request: &HttpRequest) -> &'static str {
    if request.path == "/latest/api/token" {
        ACTION_IMDS_TOKEN
    } else if request.path == IMDS_CREDENTIALS_PREFIX {
        ACTION_IMDS_ROLE_NAME
    } else if request.path.starts_with(IMDS_CREDENTIALS_PREFIX) {
        ACTION_IMDS_CREDENTIALS
    } else {
        ACTION_IMDS_OTHER
    }
}

fn answer(shared: &Shared, seq: usize, request: &HttpRequest) -> Reply {
    let not_found = || Reply::text(404, "404 - Not Found", Outcome::Rejected("NotFound".into()));
    let action = imds_action(request);
    if action == ACTION_IMDS_TOKEN {
        if request.method != "PUT" {
            return Reply::text(
                405,
                "405 - Method Not Allowed",
                Outcome::Rejected("MethodNotAllowed".into()),
            );
        }
        if let Some(status) = shared.lock().imds.token_status {
            return Reply::text(
                status,
                &format!("{status} - IMDSv2 is not available"),
                Outcome::Rejected(format!("TokenDisabled({status})")),
            );
        }
        let ttl = request.header(IMDS_TOKEN_TTL_HEADER);
        match ttl.map(str::parse::<u64>) {
            Some(Ok(ttl)) if (1..=21600).contains(&ttl) => {}
            _ => {
                return Reply::text(
                    400,
                    &format!("400 - {IMDS_TOKEN_TTL_HEADER} must be 1..21600, got {ttl:?}"),
                    Outcome::Rejected("BadTokenTtl".into()),
                );
            }
        }
        let token = format!("imds-{}", random_alnum(40));
        shared.lock().imds.tokens.insert(token.clone());
        return Reply::text(200, &token, Outcome::Granted);
    }
    if request.method != "GET" {
        return Reply::text(
            405,
            "405 - Method Not Allowed",
            Outcome::Rejected("MethodNotAllowed".into()),
        );
    }
    {
        let state = shared.lock();
        match request.header(IMDS_TOKEN_HEADER) {
            Some(token) if !state.imds.tokens.contains(token) => {
                return Reply::text(
                    401,
                    "401 - Unauthorized (unknown token)",
                    Outcome::Rejected("Unauthorized".into()),
                );
            }
            None if state.imds.v2_required => {
                return Reply::text(
                    401,
                    "401 - Unauthorized (IMDSv2 token required)",
                    Outcome::Rejected("Unauthorized".into()),
                );
            }
            _ => {}
        }
    }
    let role = shared.lock().imds.role.clone();
    match action {
        ACTION_IMDS_ROLE_NAME => match role {
            Some((name, _)) => Reply::text(200, &name, Outcome::Granted),
            None => not_found(),
        },
        ACTION_IMDS_CREDENTIALS => {
            let asked = &request.path[IMDS_CREDENTIALS_PREFIX.len()..];
            let Some((name, principal)) = role.filter(|(name, _)| name == asked) else {
                return not_found();
            };
            let (key, expiration) = grant_session_key(
                shared,
                seq,
                ACTION_IMDS_CREDENTIALS,
                &name,
                &principal,
                SESSION_KEY_LIFETIME,
            );
            let mut reply = Reply::json(
                200,
                json!({
                    "AccessKeyId": key.id,
                    "AccessKeySecret": key.secret,
                    "Expiration": expiration,
                    "SecurityToken": key.security_token,
                    "LastUpdated": shared.now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    "Code": "Success",
                }),
                Outcome::Granted,
            );
            reply.content_type = CONTENT_TYPE_TEXT;
            reply
        }
        _ => not_found(),
    }
}
