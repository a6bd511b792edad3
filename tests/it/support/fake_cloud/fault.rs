//! Faults the tests inject: what the gateway answers instead of the service (5xx, throttling,
//! a dropped or hung connection, a canned answer), and bodies that replace a success.

use std::time::Duration;

use chrono::TimeDelta;

use super::http::{CONTENT_TYPE_JSON, Reply};
use super::log::Outcome;
use super::roa::gateway_error_body;
use super::state::Shared;

/// What a gateway in trouble answers in place of a JSON body.
pub(super) const NOT_JSON_BODY: &str = "<html><body><h1>502 Bad Gateway</h1>tengine</body></html>";

/// A fault applied to a request instead of (or on top of) the normal answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 503 with an RPC-style `ServiceUnavailable` body.
    ServiceUnavailable,
    /// HTTP 500 with an RPC-style `InternalError` body.
    InternalError,
    /// HTTP 400 `Throttling.User` with `x-ratelimit-user-api: Limit:10,Remain:0,TimeLeft:<ms>,...`.
    Throttling { time_left_ms: u64 },
    /// HTTP 429 `Throttling` with the same `x-ratelimit-user-api` header.
    TooManyRequests { time_left_ms: u64 },
    /// Read the request, then close the connection without answering.
    DropConnection,
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Never answer; the connection is closed when the fake is dropped.
    Hang,
    /// Answer with exactly this status, extra headers and body (no checks at all).
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// After the request passed every check: HTTP 200 with a body that is not JSON.
    BodyNotJson,
    /// After the request passed every check: HTTP 200 JSON without `config` (ASM: `Kubeconfig`).
    BodyWithoutConfig,
    /// After the request passed every check: HTTP 200 whose `config` (ASM: `Kubeconfig`) is not
    /// YAML.
    ConfigNotYaml,
    /// After the request passed every check: HTTP 200 whose kubeconfig carries PEM-looking
    /// `client-certificate-data` that is not a certificate.
    CertificateNotACertificate,
}

impl Fault {
    /// Faults applied only once the request has been authenticated and routed.
    pub(super) fn replaces_success(&self) -> bool {
        matches!(
            self,
            Fault::BodyNotJson
                | Fault::BodyWithoutConfig
                | Fault::ConfigNotYaml
                | Fault::CertificateNotACertificate
        )
    }

    pub(super) fn name(&self) -> String {
        match self {
            Fault::Respond { status, .. } => format!("Respond({status})"),
            Fault::Delay(d) => format!("Delay({d:?})"),
            Fault::Throttling { time_left_ms } => format!("Throttling({time_left_ms}ms)"),
            Fault::TooManyRequests { time_left_ms } => format!("TooManyRequests({time_left_ms}ms)"),
            other => format!("{other:?}"),
        }
    }
}

pub(super) fn gateway_fault(shared: &Shared, fault: &Fault, request_id: &str) -> Reply {
    let outcome = Outcome::Fault(fault.name());
    match fault {
        Fault::ServiceUnavailable => Reply::json(
            503,
            gateway_error_body(
                request_id,
                "ServiceUnavailable",
                "The request has failed due to a temporary failure of the server.",
            ),
            outcome,
        ),
        Fault::InternalError => Reply::json(
            500,
            gateway_error_body(
                request_id,
                "InternalError",
                "The request processing has failed due to some unknown error, exception or failure.",
            ),
            outcome,
        ),
        Fault::Throttling { time_left_ms } => {
            let mut reply = Reply::json(
                400,
                gateway_error_body(
                    request_id,
                    "Throttling.User",
                    "Request was denied due to user flow control.",
                ),
                outcome,
            );
            reply.headers.push(rate_limit_header(shared, *time_left_ms));
            reply
        }
        Fault::TooManyRequests { time_left_ms } => {
            let mut reply = Reply::json(
                429,
                gateway_error_body(
                    request_id,
                    "Throttling",
                    "Request was denied due to request throttling.",
                ),
                outcome,
            );
            reply.headers.push(rate_limit_header(shared, *time_left_ms));
            reply
        }
        Fault::Respond {
            status,
            headers,
            body,
        } => Reply {
            status: *status,
            headers: headers.clone(),
            body: body.clone(),
            outcome,
            issued: None,
            content_type: CONTENT_TYPE_JSON,
        },
        // The remaining faults are handled by the caller; answer something sane regardless.
        _ => Reply::json(
            500,
            gateway_error_body(request_id, "InternalError", "fault"),
            outcome,
        ),
    }
}

fn rate_limit_header(shared: &Shared, time_left_ms: u64) -> (String, String) {
    let reset = shared.now() + TimeDelta::milliseconds(time_left_ms as i64);
    (
        "x-ratelimit-user-api".to_string(),
        format!(
            "Limit:10,Remain:0,TimeLeft:{time_left_ms},Reset:{}",
            reset.timestamp_millis()
        ),
    )
}

/// For services that leave body faults to the gateway: `BodyNotJson` replaces a successful
/// answer; the other body faults do not apply.
pub(super) fn replace_success(reply: Reply, fault: Option<&Fault>) -> Reply {
    match fault {
        Some(Fault::BodyNotJson) if reply.status == 200 => Reply {
            status: 200,
            headers: Vec::new(),
            body: NOT_JSON_BODY.to_string(),
            outcome: Outcome::Fault(Fault::BodyNotJson.name()),
            issued: None,
            content_type: "text/html",
        },
        _ => reply,
    }
}
