//! What one attempt came to: a transport error (retried, unless the server's certificate is
//! not trusted), an answer read within its size cap, or an error answer turned into an
//! [`ApiError`] with a hint and a verdict on whether another attempt can help. A successful
//! answer's JSON is then read through [`Reading`], which never quotes it.

use std::io::Read;
use std::time::Instant;

use reqwest::blocking::Response;
use serde_json::Value;

use super::access_key::Credentials;
use super::error::{self, ErrorBody};
use super::hints;
use super::retry::{self, Attempt, header};
use crate::error::{ApiError, Error};
use crate::log::verbose;

/// One attempt, for turning its outcome into done, retry or fail.
pub(super) struct Call<'a> {
    pub(super) action: &'static str,
    pub(super) target: &'a str,
    /// What we signed, to compare with the server's on `SignatureDoesNotMatch`.
    pub(super) string_to_sign: &'a str,
    pub(super) credentials: Option<&'a Credentials>,
}

impl Call<'_> {
    pub(super) fn classify(
        &self,
        result: reqwest::Result<Response>,
        sent: Instant,
    ) -> Attempt<Answer> {
        let unreachable = |detail: String| Error::Unreachable {
            action: self.action,
            endpoint: String::new(),
            attempts: 1,
            detail,
        };
        let mut response = match result {
            Ok(response) => response,
            Err(e) => {
                let detail = describe_transport_error(&e);
                verbose!(
                    "no answer after {} ms: {detail}",
                    sent.elapsed().as_millis()
                );
                // An untrusted certificate stays untrusted: trying again cannot help.
                if detail.contains(UNTRUSTED_CERTIFICATE) {
                    return Attempt::Fail(Error::UntrustedServer {
                        action: self.action,
                        detail,
                    });
                }
                return Attempt::Retry(unreachable(detail), None);
            }
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = match read_capped(&mut response, MAX_BODY) {
            Ok(body) => body,
            Err(detail) if detail.starts_with(TOO_LONG) => {
                return Attempt::Fail(Error::BadResponse {
                    action: self.action,
                    request_id: header(&headers, "x-acs-request-id"),
                    detail,
                });
            }
            Err(detail) => {
                verbose!("HTTP {status}, {detail}");
                return Attempt::Retry(unreachable(detail), None);
            }
        };
        let header_request_id = header(&headers, "x-acs-request-id");
        if (200..300).contains(&status) {
            verbose!(
                "HTTP {status} in {} ms (RequestId: {})",
                sent.elapsed().as_millis(),
                header_request_id.as_deref().unwrap_or("-")
            );
            let request_id = header_request_id.or_else(|| ErrorBody::parse(&body).request_id);
            return Attempt::Done(Answer { body, request_id });
        }

        let parsed = ErrorBody::parse(&body);
        let code = parsed
            .code
            .clone()
            .unwrap_or_else(|| format!("HTTP{status}"));
        let request_id = parsed.request_id.clone().or(header_request_id);
        verbose!(
            "HTTP {status} {code} in {} ms (RequestId: {})",
            sent.elapsed().as_millis(),
            request_id.as_deref().unwrap_or("-")
        );
        let mut hint = hints::hint(self.action, status, &code);
        if code == "SignatureDoesNotMatch"
            && let Some(credentials) = self.credentials
        {
            hint = Some(hints::signature_hint(
                parsed.server_string_to_sign.as_deref(),
                self.string_to_sign,
                credentials,
            ));
        }
        if code == "InvalidTimeStamp.Expired" {
            hint = Some(hints::clock_skew_hint(header(&headers, "date").as_deref()));
        }
        let api_error = ApiError {
            action: self.action,
            target: self.target.to_string(),
            status,
            code: code.clone(),
            message: parsed
                .message
                .unwrap_or_else(|| "(no message in the answer)".to_string()),
            request_id,
            hint,
            attempts: 1,
        };
        if error::is_retryable(status, &code) {
            let wait = if error::is_throttling(status, &code) {
                retry::throttle_wait(&headers)
            } else {
                retry::retry_after(&headers)
            };
            Attempt::Retry(api_error.into(), wait)
        } else {
            Attempt::Fail(api_error.into())
        }
    }
}

/// A successful answer being read, named in every complaint about it by its action and
/// RequestId. A complaint never quotes the body: it may hold a secret or a private key.
#[derive(Clone, Copy)]
pub(crate) struct Reading<'a> {
    pub(crate) action: &'static str,
    pub(crate) request_id: Option<&'a str>,
}

impl Reading<'_> {
    /// The answer cannot be used, for the reason `detail` gives.
    pub(crate) fn bad(self, detail: impl Into<String>) -> Error {
        Error::BadResponse {
            action: self.action,
            request_id: self.request_id.map(str::to_string),
            detail: detail.into(),
        }
    }

    /// The body as JSON, read into a `Value` first: serde's typed errors can quote the
    /// offending value.
    pub(crate) fn json(self, body: &[u8]) -> Result<Value, Error> {
        serde_json::from_slice(body).map_err(|_| self.bad("the body is not JSON"))
    }

    /// The list under `key` in a listing's body: absent or null is an empty list; anything
    /// else that is not a list is an error that says so.
    pub(crate) fn list<'v>(self, body: &'v Value, key: &str) -> Result<&'v [Value], Error> {
        match body.get(key) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(list)) => Ok(list),
            Some(_) => Err(self.bad(format!("its `{key}` is not a list"))),
        }
    }
}

/// The text field `name` of a JSON object; empty when it is missing or not text.
pub(crate) fn text(object: &Value, name: &str) -> String {
    object
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The longest API answer read: a kubeconfig is a few KiB. Longer ones are refused while
/// reading, never read whole.
pub(crate) const MAX_BODY: usize = 1 << 20;

/// A successful answer.
pub(crate) struct Answer {
    pub(crate) body: Vec<u8>,
    pub(crate) request_id: Option<String>,
}

/// How an answer over the size cap is described.
const TOO_LONG: &str = "the answer is longer than";

/// Read a body of at most `cap` bytes: the cap holds while reading, so an answer that never
/// ends costs `cap` bytes of memory, not all of it.
pub(crate) fn read_capped(reader: &mut impl Read, cap: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    reader
        .take(u64::try_from(cap).unwrap_or(u64::MAX) + 1)
        .read_to_end(&mut body)
        .map_err(|e| format!("the answer broke off: {e}"))?;
    if body.len() > cap {
        return Err(format!("{TOO_LONG} {} KiB", cap / 1024));
    }
    Ok(body)
}

/// How rustls words a server certificate it does not trust ("invalid peer certificate:
/// UnknownIssuer", "...: Expired", "...: NotValidForName"). reqwest wraps the rustls error in
/// an `io::Error` whose `source()` skips it, so the text is what can be matched.
pub(crate) const UNTRUSTED_CERTIFICATE: &str = "invalid peer certificate";

/// A transport error, without the URL (an RPC URL carries the signature and token).
pub(super) fn describe_transport_error(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "the connection failed"
    };
    match causes(error) {
        causes if causes.is_empty() => kind.to_string(),
        causes => format!("{kind}: {causes}"),
    }
}

/// What went wrong under `error`, cause after cause (`a: b: c`), without the error's own
/// message (reqwest's names the URL).
pub(crate) fn causes(error: &reqwest::Error) -> String {
    let mut detail = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if !detail.is_empty() {
            detail.push_str(": ");
        }
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    detail
}
