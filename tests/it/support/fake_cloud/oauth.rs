//! The OAuth site of an aliyun CLI `OAuth` profile: `POST /v1/token` refreshes the access token
//! with the refresh token (and rotates the refresh token: the old one is dead from then on), and
//! `POST /v1/exchange` turns a live access token into a fresh STS key of the signed-in user.

use std::collections::HashMap;

use chrono::TimeDelta;
use serde_json::json;

use super::accounts::{grant_session_key, random_alnum};
use super::fault::replace_success;
use super::http::{Reply, find_pair};
use super::log::Outcome;
use super::state::Shared;
use super::{Exchange, FakeCloud, Principal, Route, Service};

/// [`super::RequestRecord::action`] of `POST /v1/token`.
pub const ACTION_OAUTH_TOKEN: &str = "OAuthToken";
/// [`super::RequestRecord::action`] of `POST /v1/exchange`.
pub const ACTION_OAUTH_EXCHANGE: &str = "OAuthExchange";

impl Service {
    /// The OAuth site: `POST /v1/token` and `POST /v1/exchange`.
    pub const OAUTH: Service = Service("oauth");
}

pub(super) const ROUTE: Route = Route {
    service: Service::OAUTH,
    claims: |request| matches!(request.path.as_str(), "/v1/token" | "/v1/exchange"),
    identify: |request| {
        let action = if request.path == "/v1/token" {
            ACTION_OAUTH_TOKEN
        } else {
            ACTION_OAUTH_EXCHANGE
        };
        (Some(action.to_string()), None)
    },
    answer: |shared, exchange, fault| replace_success(answer(shared, exchange), fault),
};

/// A user signed in through OAuth: the client the CLI registered as, and the user's identity.
#[derive(Clone, Debug)]
pub struct OAuthUser {
    pub client_id: String,
    /// The user: the CN of the certificates.
    pub principal: Principal,
}

/// A pair of tokens as `POST /v1/token` hands them out (secrets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthTokens {
    pub access_token: String,
    pub refresh_token: String,
    /// Unix seconds when the access token stops working.
    pub access_token_expire: i64,
}

#[derive(Default)]
pub(super) struct Site {
    /// Live refresh tokens, by token: whose they are.
    refresh: HashMap<String, OAuthUser>,
    /// Live access tokens: whose, and until when (Unix seconds).
    access: HashMap<String, (OAuthUser, i64)>,
    /// Seconds a refreshed access token lives.
    lifetime: i64,
    /// The `Timestamp` and `client_id` of every refresh, for assertions.
    refreshes: Vec<(Option<String>, Option<String>)>,
}

impl FakeCloud {
    /// Signs a user in with client `client_id`: returns the tokens, the access token living
    /// `access_lifetime` from now (negative: already expired).
    pub fn add_oauth_user(
        &self,
        client_id: &str,
        access_lifetime: TimeDelta,
    ) -> (OAuthUser, OAuthTokens) {
        let user = OAuthUser {
            client_id: client_id.to_string(),
            principal: self.new_principal(false),
        };
        let tokens = issue_tokens(&self.shared, &user, access_lifetime.num_seconds());
        (user, tokens)
    }

    /// How long the access tokens handed out by `/v1/token` live (default an hour).
    pub fn set_oauth_access_token_lifetime(&self, lifetime: TimeDelta) {
        self.shared.lock().oauth.lifetime = lifetime.num_seconds();
    }

    /// Whether `refresh_token` would still be honoured (it is dead once used).
    pub fn oauth_refresh_token_is_live(&self, refresh_token: &str) -> bool {
        self.shared.lock().oauth.refresh.contains_key(refresh_token)
    }

    /// `(client_id, Timestamp)` of every refresh, in order.
    pub fn oauth_refreshes(&self) -> Vec<(Option<String>, Option<String>)> {
        self.shared.lock().oauth.refreshes.clone()
    }
}

fn issue_tokens(shared: &Shared, user: &OAuthUser, lifetime: i64) -> OAuthTokens {
    let tokens = OAuthTokens {
        access_token: format!("oat.{}", random_alnum(40)),
        refresh_token: format!("ort.{}", random_alnum(40)),
        access_token_expire: shared.now().timestamp() + lifetime,
    };
    let mut state = shared.lock();
    state
        .oauth
        .refresh
        .insert(tokens.refresh_token.clone(), user.clone());
    state.oauth.access.insert(
        tokens.access_token.clone(),
        (user.clone(), tokens.access_token_expire),
    );
    tokens
}

fn oauth_error(status: u16, error: &str, description: &str) -> Reply {
    Reply::json(
        status,
        json!({"error": error, "error_description": description}),
        Outcome::Rejected(error.to_string()),
    )
}

fn answer(shared: &Shared, exchange: &Exchange<'_>) -> Reply {
    let request = exchange.request;
    if request.method != "POST" {
        return oauth_error(405, "invalid_request", "use POST");
    }
    if request.path == "/v1/token" {
        refresh(shared, exchange)
    } else {
        exchange_token(shared, exchange)
    }
}

fn refresh(shared: &Shared, exchange: &Exchange<'_>) -> Reply {
    let request = exchange.request;
    let form = |name: &str| find_pair(&request.form, name).map(str::to_string);
    shared
        .lock()
        .oauth
        .refreshes
        .push((form("client_id"), form("Timestamp")));
    if !request.is_form() || form("grant_type").as_deref() != Some("refresh_token") {
        return oauth_error(
            400,
            "unsupported_grant_type",
            "grant_type must be refresh_token",
        );
    }
    if form("Timestamp").is_none() {
        return oauth_error(400, "invalid_request", "Timestamp is missing");
    }
    let Some(old) = form("refresh_token") else {
        return oauth_error(400, "invalid_request", "refresh_token is missing");
    };
    // A refresh token works once: rotation.
    let Some(user) = shared.lock().oauth.refresh.remove(&old) else {
        return oauth_error(
            400,
            "invalid_grant",
            "The refresh token is invalid or was already used.",
        );
    };
    if form("client_id").as_deref() != Some(user.client_id.as_str()) {
        return oauth_error(
            400,
            "invalid_client",
            "The client_id does not match the refresh token.",
        );
    }
    let lifetime = match shared.lock().oauth.lifetime {
        0 => 3600,
        seconds => seconds,
    };
    let tokens = issue_tokens(shared, &user, lifetime);
    Reply::json(
        200,
        json!({
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "expires_in": lifetime,
            "token_type": "Bearer",
        }),
        Outcome::Granted,
    )
}

fn exchange_token(shared: &Shared, exchange: &Exchange<'_>) -> Reply {
    let (seq, request, request_id) = (exchange.seq, exchange.request, exchange.request_id);
    let token = request
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .unwrap_or("");
    let now = shared.now().timestamp();
    let user = match shared.lock().oauth.access.get(token) {
        Some((user, expires)) if *expires > now => user.clone(),
        _ => {
            return oauth_error(
                401,
                "invalid_token",
                "The access token is invalid or has expired.",
            );
        }
    };
    let (key, expiration) = grant_session_key(
        shared,
        seq,
        ACTION_OAUTH_EXCHANGE,
        &user.client_id,
        &user.principal,
        TimeDelta::hours(1),
    );
    Reply::json(
        200,
        json!({
            "accessKeyId": key.id,
            "accessKeySecret": key.secret,
            "securityToken": key.security_token,
            "expiration": expiration,
            "requestId": request_id,
        }),
        Outcome::Granted,
    )
}
