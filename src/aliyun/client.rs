//! The HTTP side of an API call: one blocking client with the plugin's timeouts, each attempt
//! signed afresh ([`super::request`]), retried by [`super::retry`], and its answer turned into
//! a body or an [`ApiError`] with a hint ([`super::hints`]).
//!
//! Only a cache miss gets here: building the client loads the TLS roots, which costs more than
//! a whole cache hit.

use std::io::Read;
use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::blocking::Response;

use super::access_key::Credentials;
use super::error::{self, ErrorBody};
use super::hints;
use super::request::{RoaRequest, RpcRequest, Signed, Stamp};
use super::retry::{self, Attempt, header};
use crate::error::{ApiError, Error};
use crate::log::verbose;

/// How long one attempt may take to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one attempt may take in all, when the overall budget leaves that much.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest answer we read: a kubeconfig is a few KiB.
const MAX_BODY: u64 = 4 << 20;

/// `ack-credential-plugin/<version> (<os>; <arch>)`.
pub(crate) fn user_agent() -> String {
    format!(
        "ack-credential-plugin/{} ({}; {})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// A blocking HTTP client with the plugin's timeouts and retry policy.
pub(crate) struct Client {
    http: reqwest::blocking::Client,
    /// When everything fetched with this client must be done: one fetch (an STS call and the
    /// cs call, say) shares one budget, so that a process waiting on the lock knows how long
    /// the holder can take.
    deadline: Instant,
}

/// A successful answer.
pub(crate) struct Answer {
    pub(crate) body: Vec<u8>,
    pub(crate) request_id: Option<String>,
}

impl Client {
    /// A client whose calls, all attempts and waits included, end within `budget` from now.
    pub(crate) fn new(budget: Duration) -> Result<Self, Error> {
        let http = reqwest::blocking::Client::builder()
            .user_agent(user_agent())
            .connect_timeout(CONNECT_TIMEOUT)
            // Signed requests are never worth following elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Setup(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Client {
            http,
            deadline: Instant::now() + budget,
        })
    }

    /// Call a ROA API (cs) with a fresh `Date`, nonce and signature on every attempt.
    pub(crate) fn roa(
        &self,
        endpoint: &str,
        credentials: &Credentials,
        request: &RoaRequest,
    ) -> Result<Answer, Error> {
        self.call(
            request.action,
            &request.target,
            endpoint,
            Some(credentials),
            || {
                let date = crate::time::http_date(Utc::now());
                let nonce = nonce();
                request.sign(
                    credentials,
                    &Stamp {
                        time: &date,
                        nonce: &nonce,
                    },
                )
            },
        )
    }

    /// Call an RPC API (servicemesh, STS) with `POST` and every parameter in the form body;
    /// signed with `credentials`, or unsigned without (as `AssumeRoleWithOIDC` must be).
    pub(crate) fn rpc(
        &self,
        endpoint: &str,
        credentials: Option<&Credentials>,
        request: &RpcRequest,
    ) -> Result<Answer, Error> {
        self.call(
            request.action,
            &request.target,
            endpoint,
            credentials,
            || {
                let timestamp = Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
                let nonce = nonce();
                request.sign(
                    credentials,
                    &Stamp {
                        time: &timestamp,
                        nonce: &nonce,
                    },
                )
            },
        )
    }

    /// Send `sign()`'s request, a fresh one per attempt, until it is answered for good.
    fn call(
        &self,
        action: &'static str,
        target: &str,
        endpoint: &str,
        credentials: Option<&Credentials>,
        sign: impl Fn() -> Signed,
    ) -> Result<Answer, Error> {
        retry::with_retries(
            self.deadline,
            action,
            endpoint,
            ATTEMPT_TIMEOUT,
            |timeout| {
                let signed = sign();
                let url = format!("{endpoint}{}", signed.path_and_query);
                let mut builder = match signed.method {
                    "GET" => self.http.get(&url),
                    _ => self.http.post(&url),
                }
                .timeout(timeout);
                for (name, value) in &signed.headers {
                    builder = builder.header(*name, value);
                }
                if let Some(body) = signed.body {
                    builder = builder.body(body);
                }
                // The RPC body holds the signature and token, so only the action is logged.
                verbose!(
                    "{} {url}{}{}",
                    signed.method,
                    if signed.method == "POST" {
                        format!(" Action={action}")
                    } else {
                        String::new()
                    },
                    credentials.map_or(String::new(), |c| format!(
                        " (as AccessKey {})",
                        c.access_key_id
                    ))
                );
                let sent = Instant::now();
                let call = Call {
                    action,
                    target,
                    string_to_sign: &signed.string_to_sign,
                    credentials,
                };
                call.classify(builder.send(), sent)
            },
        )
    }

    /// A plain `GET` of a JSON document that is not an Alibaba Cloud API (a credentials URI),
    /// one attempt within the budget. Returns the status and body.
    pub(crate) fn get(&self, url: &str) -> Result<(u16, Vec<u8>), String> {
        let mut response = self
            .http
            .get(url)
            .timeout(self.remaining().min(ATTEMPT_TIMEOUT))
            .header("Accept", "application/json")
            .send()
            .map_err(|e| describe_transport_error(&e))?;
        let mut body = Vec::new();
        (&mut response)
            .take(MAX_BODY)
            .read_to_end(&mut body)
            .map_err(|e| format!("the answer broke off: {e}"))?;
        Ok((response.status().as_u16(), body))
    }

    /// What is left of the budget.
    pub(crate) fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

/// One attempt, for turning its outcome into done, retry or fail.
struct Call<'a> {
    action: &'static str,
    target: &'a str,
    /// What we signed, to compare with the server's on `SignatureDoesNotMatch`.
    string_to_sign: &'a str,
    credentials: Option<&'a Credentials>,
}

impl Call<'_> {
    fn classify(&self, result: reqwest::Result<Response>, sent: Instant) -> Attempt<Answer> {
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
        let mut body = Vec::new();
        if let Err(e) = (&mut response).take(MAX_BODY).read_to_end(&mut body) {
            let detail = format!("the answer broke off: {e}");
            verbose!("HTTP {status}, {detail}");
            return Attempt::Retry(unreachable(detail), None);
        }
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

/// A fresh signature nonce: 16 random bytes in hex.
fn nonce() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    crate::digest::hex(&bytes)
}

/// How rustls words a server certificate it does not trust ("invalid peer certificate:
/// UnknownIssuer", "...: Expired", "...: NotValidForName"). reqwest wraps the rustls error in
/// an `io::Error` whose `source()` skips it, so the text is what can be matched.
const UNTRUSTED_CERTIFICATE: &str = "invalid peer certificate";

/// A transport error, without the URL (an RPC URL carries the signature and token).
fn describe_transport_error(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "the connection failed"
    };
    let mut detail = kind.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    detail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_differ() {
        assert_ne!(nonce(), nonce());
        assert_eq!(nonce().len(), 32);
    }

    #[test]
    fn user_agent_names_version_os_and_arch() {
        let agent = user_agent();
        assert!(agent.starts_with("ack-credential-plugin/0."), "{agent}");
        assert!(agent.ends_with(&format!(
            "({}; {})",
            std::env::consts::OS,
            std::env::consts::ARCH
        )));
    }
}
