//! Credentials URIs (`GET /credentials-uri/<name>`): each serves a fresh STS key of a principal
//! of its own, or fails with a code of the test's choosing.

use std::collections::HashMap;

use serde_json::json;

use super::accounts::{SESSION_KEY_LIFETIME, grant_session_key};
use super::fault::replace_success;
use super::http::Reply;
use super::log::Outcome;
use super::state::Shared;
use super::{Exchange, FakeCloud, Principal, Route, Service};

/// [`super::RequestRecord::action`] of `GET /credentials-uri/<name>`.
pub const ACTION_CREDENTIALS_URI: &str = "CredentialsUri";

impl Service {
    /// A credentials URI: `/credentials-uri/<name>`.
    pub const CREDENTIALS_URI: Service = Service("credentials-uri");
}

pub(super) const ROUTE: Route = Route {
    service: Service::CREDENTIALS_URI,
    claims: |request| request.path.starts_with("/credentials-uri/"),
    identify: |_| (Some(ACTION_CREDENTIALS_URI.to_string()), None),
    answer: |shared, exchange, fault| replace_success(answer(shared, exchange), fault),
};

enum UriSource {
    Serves(Principal),
    Fails(String),
}

/// The credentials URIs, by name.
#[derive(Default)]
pub(super) struct Uris(HashMap<String, UriSource>);

impl FakeCloud {
    /// Serves `GET /credentials-uri/<name>` with a fresh STS key of a principal of its own;
    /// returns the URL and that principal.
    pub fn add_credentials_uri(&self, name: &str) -> (String, Principal) {
        let principal = self.new_principal(false);
        self.shared
            .lock()
            .uris
            .0
            .insert(name.to_string(), UriSource::Serves(principal.clone()));
        (self.credentials_uri(name), principal)
    }

    /// Serves `GET /credentials-uri/<name>` with HTTP 200 and `{"Code": code, "Message": ...}`
    /// (no credentials); returns the URL.
    pub fn add_failing_credentials_uri(&self, name: &str, code: &str) -> String {
        self.shared
            .lock()
            .uris
            .0
            .insert(name.to_string(), UriSource::Fails(code.to_string()));
        self.credentials_uri(name)
    }

    /// `http://127.0.0.1:PORT/credentials-uri/<name>`
    pub fn credentials_uri(&self, name: &str) -> String {
        format!("{}/credentials-uri/{name}", self.endpoint())
    }
}

fn answer(shared: &Shared, exchange: &Exchange<'_>) -> Reply {
    let (seq, request, request_id) = (exchange.seq, exchange.request, exchange.request_id);
    let name = request.path.trim_start_matches("/credentials-uri/");
    let source = match shared.lock().uris.0.get(name) {
        None => None,
        Some(UriSource::Serves(principal)) => Some(Ok(principal.clone())),
        Some(UriSource::Fails(code)) => Some(Err(code.clone())),
    };
    match (request.method.as_str(), source) {
        ("GET", Some(Ok(principal))) => {
            let (key, expiration) = grant_session_key(
                shared,
                seq,
                ACTION_CREDENTIALS_URI,
                name,
                &principal,
                SESSION_KEY_LIFETIME,
            );
            Reply::json(
                200,
                json!({
                    "Code": "Success",
                    "AccessKeyId": key.id,
                    "AccessKeySecret": key.secret,
                    "SecurityToken": key.security_token,
                    "Expiration": expiration,
                }),
                Outcome::Granted,
            )
        }
        ("GET", Some(Err(code))) => Reply::json(
            200,
            json!({
                "Code": code,
                "Message": format!("the credentials server cannot hand out credentials ({code})"),
                "RequestId": request_id,
            }),
            Outcome::Rejected(code),
        ),
        _ => Reply::json(
            404,
            json!({ "Code": "NotFound", "Message": format!("no credentials URI {} {}", request.method, request.path) }),
            Outcome::Rejected("NotFound".into()),
        ),
    }
}
