//! The HTTP side of an API call: signing each attempt afresh, timeouts, retries with backoff
//! and jitter, and turning error answers into [`ApiError`]s.
//!
//! Only a cache miss gets here: building the client loads the TLS roots, which costs more than
//! a whole cache hit.

use std::io::Read;
use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::blocking::Response;
use reqwest::header::HeaderMap;

use super::error::{self, ApiError, ErrorBody};
use super::sign;
use crate::credentials::Credentials;
use crate::error::Error;
use crate::verbose;

/// How long one attempt may take to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one attempt may take in all, when the overall budget leaves that much.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts per call, the first included.
const MAX_ATTEMPTS: u32 = 5;
/// First backoff; it doubles per attempt up to [`MAX_BACKOFF`], and full jitter takes up to
/// half of it off.
const BASE_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(4);
/// The longest answer we read: a kubeconfig is a few KiB.
const MAX_BODY: u64 = 4 << 20;

/// `ack-credential-plugin/<version> (<os>; <arch>)`.
pub fn user_agent() -> String {
    format!(
        "ack-credential-plugin/{} ({}; {})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// A blocking HTTP client with the plugin's timeouts and retry policy.
pub struct Client {
    http: reqwest::blocking::Client,
    /// When everything fetched with this client must be done: one fetch (an STS call and the
    /// cs call, say) shares one budget, so that a process waiting on the lock knows how long
    /// the holder can take.
    deadline: Instant,
}

/// A ROA-style call (cs): the action, the API version, a path and a query.
pub struct RoaRequest<'a> {
    pub action: &'static str,
    pub version: &'static str,
    /// What the call is about, for messages: `cluster c0123`.
    pub target: String,
    pub path: String,
    pub query: Vec<(&'a str, String)>,
}

/// An RPC-style call (STS): the action, the API version and its own parameters; the common
/// ones (`Format`, `Timestamp`, nonce, signature) are added per attempt.
pub struct RpcRequest<'a> {
    pub action: &'static str,
    pub version: &'static str,
    /// What the call is about, for messages: `role acs:ram::1:role/x`.
    pub target: String,
    pub params: Vec<(&'a str, String)>,
}

/// A successful answer.
pub struct Answer {
    pub body: Vec<u8>,
    pub request_id: Option<String>,
}

/// What one attempt came to.
enum Attempt {
    Done(Answer),
    /// Worth another attempt after the given wait (`None`: the usual backoff).
    Retry(Error, Option<Duration>),
    Fail(Error),
}

impl Client {
    /// A client whose calls, all attempts and waits included, end within `budget` from now.
    pub fn new(budget: Duration) -> Result<Self, Error> {
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
    pub fn roa(
        &self,
        endpoint: &str,
        credentials: &Credentials,
        request: &RoaRequest,
    ) -> Result<Answer, Error> {
        let query: Vec<(&str, &str)> = request
            .query
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect();
        let url = format!(
            "{endpoint}{}?{}",
            sign::percent_encode_path(&request.path),
            query
                .iter()
                .map(|(k, v)| format!("{}={}", sign::percent_encode(k), sign::percent_encode(v)))
                .collect::<Vec<_>>()
                .join("&")
        );
        self.with_retries(request.action, endpoint, |timeout| {
            let date = crate::time::http_date(Utc::now());
            let nonce = nonce();
            let mut headers: Vec<(&str, &str)> = vec![
                ("Accept", "application/json"),
                ("Date", &date),
                ("x-acs-action", request.action),
                ("x-acs-version", request.version),
                ("x-acs-signature-method", "HMAC-SHA1"),
                ("x-acs-signature-version", "1.0"),
                ("x-acs-signature-nonce", &nonce),
            ];
            if let Some(token) = &credentials.security_token {
                headers.push(("x-acs-security-token", token.expose()));
            }
            let string_to_sign = sign::roa_string_to_sign("GET", &request.path, &query, &headers);
            let authorization = sign::roa_authorization(
                &credentials.access_key_id,
                credentials.access_key_secret.expose(),
                &string_to_sign,
            );
            let mut builder = self.http.get(&url).timeout(timeout);
            for (name, value) in &headers {
                builder = builder.header(*name, *value);
            }
            builder = builder.header("Authorization", authorization);
            verbose!("GET {url} (as AccessKey {})", credentials.access_key_id);
            let sent = Instant::now();
            let result = builder.send();
            let call = Call {
                action: request.action,
                target: &request.target,
                string_to_sign: &string_to_sign,
                credentials: Some(credentials),
            };
            call.classify(result, sent)
        })
    }

    /// Call an RPC API (STS) with `POST` and every parameter in the form body, where neither
    /// the signature nor the token shows up in a URL or a proxy's log. With `credentials` the
    /// request is signed (RPC V2 HMAC-SHA1, a fresh nonce and timestamp each attempt); without,
    /// it goes unsigned, as `AssumeRoleWithOIDC` must.
    pub fn rpc(
        &self,
        endpoint: &str,
        credentials: Option<&Credentials>,
        request: &RpcRequest,
    ) -> Result<Answer, Error> {
        let url = format!("{endpoint}/");
        self.with_retries(request.action, endpoint, |timeout| {
            let timestamp = Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
            let nonce = nonce();
            let mut params: Vec<(&str, &str)> = vec![
                ("Action", request.action),
                ("Version", request.version),
                ("Format", "JSON"),
                ("Timestamp", &timestamp),
                ("SignatureNonce", &nonce),
            ];
            params.extend(request.params.iter().map(|(k, v)| (*k, v.as_str())));
            let mut string_to_sign = String::new();
            let signature;
            if let Some(credentials) = credentials {
                params.push(("AccessKeyId", &credentials.access_key_id));
                params.push(("SignatureMethod", "HMAC-SHA1"));
                params.push(("SignatureVersion", "1.0"));
                if let Some(token) = &credentials.security_token {
                    params.push(("SecurityToken", token.expose()));
                }
                string_to_sign = sign::rpc_string_to_sign("POST", &params);
                signature =
                    sign::rpc_signature(credentials.access_key_secret.expose(), &string_to_sign);
                params.push(("Signature", &signature));
            }
            let body = params
                .iter()
                .map(|(k, v)| format!("{}={}", sign::percent_encode(k), sign::percent_encode(v)))
                .collect::<Vec<_>>()
                .join("&");
            verbose!(
                "POST {url} Action={}{}",
                request.action,
                credentials.map_or(String::new(), |c| format!(
                    " (as AccessKey {})",
                    c.access_key_id
                ))
            );
            let sent = Instant::now();
            let result = self
                .http
                .post(&url)
                .timeout(timeout)
                .header("Accept", "application/json")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
                .send();
            let call = Call {
                action: request.action,
                target: &request.target,
                string_to_sign: &string_to_sign,
                credentials,
            };
            call.classify(result, sent)
        })
    }

    /// A plain `GET` of a JSON document that is not an Alibaba Cloud API (a credentials URI),
    /// one attempt within the budget. Returns the status and body.
    pub fn get(&self, url: &str) -> Result<(u16, Vec<u8>), String> {
        let mut response = self
            .http
            .get(url)
            .timeout(self.remaining().min(ATTEMPT_TIMEOUT))
            .header("Accept", "application/json")
            .send()
            .map_err(describe_transport_error)?;
        let mut body = Vec::new();
        (&mut response)
            .take(MAX_BODY)
            .read_to_end(&mut body)
            .map_err(|e| format!("the answer broke off: {e}"))?;
        Ok((response.status().as_u16(), body))
    }

    /// What is left of the budget.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Run attempts until one is done or fails for good, the attempts run out or the budget does.
    fn with_retries(
        &self,
        action: &'static str,
        endpoint: &str,
        mut attempt: impl FnMut(Duration) -> Attempt,
    ) -> Result<Answer, Error> {
        let deadline = self.deadline;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            let (error, wait) = match attempt(remaining.min(ATTEMPT_TIMEOUT)) {
                Attempt::Done(answer) => return Ok(answer),
                Attempt::Fail(error) => return Err(error),
                Attempt::Retry(error, wait) => (error, wait),
            };
            // A server's hint is a floor, never less than the backoff (a `TimeLeft:0` must not
            // turn into a tight loop), and gets the backoff's jitter on top.
            let wait = wait.map_or_else(|| backoff(attempts), |hint| hint + backoff(attempts));
            let remaining = deadline.saturating_duration_since(Instant::now());
            // Give up when out of attempts, or when the wait would leave no time to try again.
            if attempts >= MAX_ATTEMPTS || wait + Duration::from_millis(100) >= remaining {
                return Err(match error {
                    Error::Unreachable { detail, .. } => Error::Unreachable {
                        action,
                        endpoint: endpoint.to_string(),
                        attempts,
                        detail,
                    },
                    Error::Api(mut api) => {
                        api.attempts = attempts;
                        Error::Api(api)
                    }
                    other => other,
                });
            }
            verbose!(
                "attempt {attempts} failed; retrying in {} ms",
                wait.as_millis()
            );
            std::thread::sleep(wait);
        }
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
    fn classify(&self, result: reqwest::Result<Response>, sent: Instant) -> Attempt {
        let unreachable = |detail: String| Error::Unreachable {
            action: self.action,
            endpoint: String::new(),
            attempts: 1,
            detail,
        };
        let mut response = match result {
            Ok(response) => response,
            Err(e) => {
                let detail = describe_transport_error(e);
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
        let mut hint = error::hint(self.action, status, &code);
        if code == "SignatureDoesNotMatch"
            && let Some(credentials) = self.credentials
        {
            hint = Some(signature_hint(
                parsed.server_string_to_sign.as_deref(),
                self.string_to_sign,
                credentials,
            ));
        }
        if code == "InvalidTimeStamp.Expired" {
            hint = Some(clock_skew_hint(header(&headers, "date").as_deref()));
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
                throttle_wait(&headers)
            } else {
                retry_after(&headers)
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
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Exponential backoff with jitter: `base * 2^(attempt-1)`, capped, less up to half at random.
fn backoff(attempt: u32) -> Duration {
    let full = BASE_BACKOFF
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(MAX_BACKOFF);
    let mut byte = [0u8; 1];
    let _ = getrandom::fill(&mut byte);
    full.mul_f64(0.5 + f64::from(byte[0]) / 510.0)
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// How long throttling asks us to wait: the `TimeLeft` (milliseconds) of the
/// `x-ratelimit-user-api` or `x-ratelimit-user` header, e.g.
/// `Limit:10,Remain:0,TimeLeft:2000,Reset:1700000000000`; else `Retry-After`.
fn throttle_wait(headers: &HeaderMap) -> Option<Duration> {
    ["x-ratelimit-user-api", "x-ratelimit-user"]
        .iter()
        .filter_map(|name| header(headers, name))
        .find_map(|value| parse_time_left(&value))
        .or_else(|| retry_after(headers))
}

/// The `TimeLeft` field of a rate-limit header, in milliseconds.
pub fn parse_time_left(value: &str) -> Option<Duration> {
    value.split(',').find_map(|part| {
        let (name, number) = part.split_once(':')?;
        (name.trim() == "TimeLeft")
            .then(|| number.trim().parse::<u64>().ok())
            .flatten()
            .map(Duration::from_millis)
    })
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    header(headers, "retry-after")?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// How rustls words a server certificate it does not trust ("invalid peer certificate:
/// UnknownIssuer", "...: Expired", "...: NotValidForName"). reqwest wraps the rustls error in
/// an `io::Error` whose `source()` skips it, so the text is what can be matched.
const UNTRUSTED_CERTIFICATE: &str = "invalid peer certificate";

/// A transport error, without the URL (an RPC URL carries the signature and token).
fn describe_transport_error(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "the connection failed"
    };
    let mut detail = kind.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    detail
}

/// `SignatureDoesNotMatch` has two causes: a wrong secret (the server signed the same string
/// we did) or a canonicalisation bug (it signed a different one). Comparing tells them apart.
fn signature_hint(server: Option<&str>, ours: &str, credentials: &Credentials) -> String {
    let redact = |text: &str| redact_token(text, credentials.security_token.as_ref());
    match server {
        Some(server) if server != ours => {
            verbose!("server string to sign: {:?}", redact(server));
            verbose!("our string to sign:    {:?}", redact(ours));
            "the server signed a different request than the plugin did: this is a bug in the \
             plugin (or a proxy changed the request); please report it with the output of -v"
                .to_string()
        }
        _ => format!(
            "the AccessKey secret does not belong to AccessKey ID {}: check \
             ALIBABA_CLOUD_ACCESS_KEY_SECRET (or your profile)",
            credentials.access_key_id
        ),
    }
}

/// A string to sign with the STS token taken out. The token is in it raw (a ROA header) or
/// percent-encoded twice (an RPC parameter, encoded again inside the canonical query).
fn redact_token(text: &str, token: Option<&crate::secret::Secret>) -> String {
    let Some(token) = token else {
        return text.to_string();
    };
    let once = sign::percent_encode(token.expose());
    let twice = sign::percent_encode(&once);
    text.replace(&twice, "***")
        .replace(&once, "***")
        .replace(token.expose(), "***")
}

/// The request time was refused: name both clocks so the user can see the skew.
fn clock_skew_hint(server_date: Option<&str>) -> String {
    let local = crate::time::now();
    match server_date.and_then(crate::time::parse_http_date) {
        Some(server) => format!(
            "this machine's clock is off by {} s: it reads {} but the server's reads {}. The API \
             accepts requests within 15 minutes of its time; synchronise the clock (NTP, chrony) \
             and try again",
            local - server,
            crate::time::rfc3339(local),
            crate::time::rfc3339(server),
        ),
        None => format!(
            "the server refused this machine's clock ({}): the API accepts requests within 15 \
             minutes of its time; synchronise the clock (NTP, chrony) and try again",
            crate::time::rfc3339(local)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_time_left_from_rate_limit_headers() {
        assert_eq!(
            parse_time_left("Limit:10,Remain:0,TimeLeft:2000,Reset:1700000000000"),
            Some(Duration::from_millis(2000))
        );
        assert_eq!(
            parse_time_left("Limit:10, TimeLeft: 15"),
            Some(Duration::from_millis(15))
        );
        assert_eq!(parse_time_left("Limit:10,Remain:0"), None);
        assert_eq!(parse_time_left("TimeLeft:soon"), None);
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        for attempt in 1..10 {
            let wait = backoff(attempt);
            let full = BASE_BACKOFF
                .saturating_mul(1 << (attempt - 1))
                .min(MAX_BACKOFF);
            assert!(
                wait >= full / 2 && wait <= full,
                "attempt {attempt}: {wait:?}"
            );
        }
    }

    #[test]
    fn strings_to_sign_are_shown_without_the_token_in_any_encoding() {
        let token = crate::secret::Secret::new("CAIS+abc/def==");
        let rpc = sign::rpc_string_to_sign("POST", &[("SecurityToken", token.expose())]);
        let roa = sign::roa_string_to_sign(
            "GET",
            "/k8s/c1/user_config",
            &[],
            &[("x-acs-security-token", token.expose())],
        );
        for text in [rpc, roa] {
            let shown = redact_token(&text, Some(&token));
            assert!(!shown.contains("CAIS") && shown.contains("***"), "{shown}");
        }
    }

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
